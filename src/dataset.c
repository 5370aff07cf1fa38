/** \file dataset.c
 *  Input reading, categorical encoding, split, sharding and standardisation
 *  (see dataset.h for the pipeline and its P-independence argument).
 *
 *  CSV reading is two passes over this rank's byte range:
 *   pass 1 checks the shape of every line (field count, quoting, empty
 *          fields), classifies each field (number / text / non-finite) and
 *          collects each column's distinct text values (capped);
 *   (agreement: column types, errors, vocabularies, line numbers)
 *   pass 2 parses values into the feature matrix.
 */
#include "riskgrid/dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "riskgrid/csv.h"
#include "riskgrid/hash.h"
#include "riskgrid/log.h"
#include "riskgrid/rng.h"

#define MAX_CATEGORIES 1000
#define MAX_COLUMNS 100000
#define HEADER_MAX ((size_t)16 << 20)

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* Contribution of one data row to the order-independent fingerprint. */
static uint64_t row_print(uint64_t content_hash, int64_t gid)
{
    return rng_mix64(content_hash ^ rng_mix64((uint64_t)gid));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) memcpy(d, s, n);
    return d;
}

int dataset_first_shard(int rank, int n_ranks, int n_shards)
{
    return (int)(((int64_t)rank * n_shards) / n_ranks);
}

static int shard_owner(int shard, int n_ranks, int n_shards)
{
    /* largest r with first_shard(r) <= shard */
    int r = (int)(((int64_t)shard * n_ranks) / n_shards);
    while (r + 1 < n_ranks && dataset_first_shard(r + 1, n_ranks, n_shards) <= shard) r++;
    while (r > 0 && dataset_first_shard(r, n_ranks, n_shards) > shard) r--;
    return r;
}

/* ------------------------------------------------------------------ */
/* rows gathered from the inputs, before the shuffle to shard owners   */

typedef struct rows {
    int64_t n, cap;
    int f;            /* features per row */
    double *x;        /* n * f */
    int32_t *y;
    int64_t *gid;
    uint8_t *is_test;
} rows;

static void rows_free(rows *r)
{
    if (r == NULL) return;
    free(r->x); free(r->y); free(r->gid); free(r->is_test);
    memset(r, 0, sizeof *r);
}

static int rows_reserve(rows *r, int64_t cap, rg_error *err)
{
    double *x = NULL; int32_t *y = NULL; int64_t *g = NULL; uint8_t *t = NULL;
    if (cap <= r->cap) return 0;
    if (cap < 16) cap = 16;
    x = realloc(r->x, (size_t)cap * (size_t)(r->f > 0 ? r->f : 1) * sizeof *x);
    if (x != NULL) r->x = x;
    y = realloc(r->y, (size_t)cap * sizeof *y);
    if (y != NULL) r->y = y;
    g = realloc(r->gid, (size_t)cap * sizeof *g);
    if (g != NULL) r->gid = g;
    t = realloc(r->is_test, (size_t)cap * sizeof *t);
    if (t != NULL) r->is_test = t;
    if (x == NULL || y == NULL || g == NULL || t == NULL)
        return error_set(err, ERR_NOMEM, "out of memory holding %lld rows", (long long)cap);
    r->cap = cap;
    return 0;
}

/* ------------------------------------------------------------------ */
/* per-column distinct text values (capped at MAX_CATEGORIES + 1)      */

typedef struct strset {
    char **v;
    int n, cap;   /* n <= MAX_CATEGORIES + 1 ; kept unsorted until the end */
    size_t *hash_slots; int nslots; /* open addressing: index+1, 0 empty */
} strset;

static void strset_free(strset *s)
{
    if (s == NULL) return;
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    free(s->hash_slots);
    memset(s, 0, sizeof *s);
}

/* Insert (copy) str unless present or the set already holds more than
 * MAX_CATEGORIES values.  0 ok, ERR_NOMEM. */
static int strset_add(strset *s, const char *str)
{
    uint64_t h;
    size_t slot;
    if (s->n > MAX_CATEGORIES) return 0;
    if (s->hash_slots == NULL) {
        s->nslots = 4096; /* > 2 * (MAX_CATEGORIES + 1) */
        s->hash_slots = calloc((size_t)s->nslots, sizeof *s->hash_slots);
        s->cap = 64;
        s->v = malloc((size_t)s->cap * sizeof *s->v);
        if (s->hash_slots == NULL || s->v == NULL) return ERR_NOMEM;
    }
    h = hash_fnv1a(str, strlen(str));
    slot = (size_t)(h % (uint64_t)s->nslots);
    while (s->hash_slots[slot] != 0) {
        if (strcmp(s->v[s->hash_slots[slot] - 1], str) == 0) return 0;
        slot = (slot + 1) % (size_t)s->nslots;
    }
    if (s->n == s->cap) {
        char **nv = realloc(s->v, (size_t)s->cap * 2 * sizeof *nv);
        if (nv == NULL) return ERR_NOMEM;
        s->v = nv;
        s->cap *= 2;
    }
    s->v[s->n] = xstrdup(str);
    if (s->v[s->n] == NULL) return ERR_NOMEM;
    s->n++;
    s->hash_slots[slot] = (size_t)s->n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* CSV source                                                          */

enum { COL_DROP = 0, COL_NUMERIC = 1, COL_CATEGORICAL = 2, COL_LABEL = 3 };

typedef struct bad_at {
    int64_t line;   /* 0: none */
    int col;        /* 1-based field number */
    int status;     /* CSV_* */
    char text[48];
} bad_at;

typedef struct csv_src {
    const char *path;
    char *buf;            /* this rank's lines, from a line start to a line end */
    size_t len;
    int64_t n_lines;      /* lines owned (incl. blank ones) */
    int64_t first_line;   /* 1-based file line number of the first owned line */
    int64_t n_rows;       /* non-blank lines */
    int64_t first_gid;    /* global index of the first local row (within this file) */
    /* per column (pass 1) */
    int64_t *n_num, *n_text;
    bad_at *bad;          /* first non-number per column */
    strset *text;         /* distinct text values per column */
} csv_src;

typedef struct header {
    int n;
    char **names;
} header;

static void header_free(header *h)
{
    if (h == NULL) return;
    for (int i = 0; i < h->n; i++) free(h->names[i]);
    free(h->names);
    memset(h, 0, sizeof *h);
}

static void csv_src_free(csv_src *s, int ncols)
{
    if (s == NULL) return;
    free(s->buf);
    free(s->n_num);
    free(s->n_text);
    free(s->bad);
    if (s->text != NULL)
        for (int c = 0; c < ncols; c++) strset_free(&s->text[c]);
    free(s->text);
    memset(s, 0, sizeof *s);
}

/* pread exactly n bytes at off (short only at EOF). */
static int read_at(int fd, char *dst, size_t n, off_t off, size_t *got, const char *path, rg_error *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(fd, dst + done, n - done, off + (off_t)done);
        if (k < 0) {
            if (errno == EINTR) continue;
            return error_set(err, ERR_IO, "%s: read failed: %s", path, strerror(errno));
        }
        if (k == 0) break;
        done += (size_t)k;
    }
    *got = done;
    return 0;
}

/* Rank 0: read and split the header line.  Sets *data_start (byte after
 * the header's line end).  Other ranks receive the header by broadcast. */
static int read_header(MPI_Comm comm, int rank, int fd, const char *path, char delim,
                       header *hd, off_t *data_start, off_t *file_size, rg_error *err)
{
    int rc = 0;
    char *line = NULL, *store = NULL;
    char **fields = NULL;
    int64_t meta[3] = {0, 0, 0}; /* header length, data start, file size */
    struct stat st;

    if (rank == 0) {
        size_t cap = 65536, got = 0, bom;
        const char *ln = NULL;
        size_t ln_len = 0, pos;
        if (fstat(fd, &st) != 0) { rc = error_set(err, ERR_IO, "%s: %s", path, strerror(errno)); goto bcast; }
        if (S_ISDIR(st.st_mode)) { rc = error_set(err, ERR_IO, "%s: is a directory, expected a CSV file", path); goto bcast; }
        meta[2] = (int64_t)st.st_size;
        for (;;) {
            char *nl = realloc(line, cap + 1);
            if (nl == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory reading the header of %s", path); goto bcast; }
            line = nl;
            if ((rc = read_at(fd, line, cap, 0, &got, path, err)) != 0) goto bcast;
            if (memchr(line, '\n', got) != NULL || got < cap) break;
            if (cap >= HEADER_MAX) { rc = error_set(err, ERR_INPUT, "%s:1: header line longer than %zu bytes", path, HEADER_MAX); goto bcast; }
            cap *= 2;
        }
        if (got == 0) { rc = error_set(err, ERR_INPUT, "%s: the file is empty (expected a header line and data rows)", path); goto bcast; }
        bom = csv_skip_bom(line, got);
        pos = bom;
        csv_next_line(line, got, &pos, &ln, &ln_len);
        if (ln == NULL) ln_len = 0; /* only a BOM: reported as an empty header below */
        if (ln_len > 0 && memchr(ln, '\0', ln_len) != NULL) {
            const char *nul = memchr(ln, '\0', ln_len);
            int col = 1;
            for (const char *q = ln; q < nul; q++) col += *q == delim;
            rc = error_set(err, ERR_INPUT, "%s:1:%d: NUL byte in the header; expected text (a binary file?)", path, col);
            goto bcast;
        }
        meta[0] = (int64_t)ln_len;
        meta[1] = (int64_t)pos;
        if (ln_len > 0) memmove(line, ln, ln_len);
        line[ln_len] = '\0';
    }
bcast:
    if (log_agree(comm, err) != 0) { rc = err->code; goto done; }
    if ((rc = log_mpi_check(MPI_Bcast(meta, 3, MPI_INT64_T, 0, comm), "MPI_Bcast(header)", err)) != 0) goto done;
    if (rank != 0) {
        line = malloc((size_t)meta[0] + 1);
        if (line == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    }
    if (log_agree(comm, err) != 0) { rc = err->code; goto done; }
    if ((rc = log_mpi_check(MPI_Bcast(line, (int)meta[0], MPI_CHAR, 0, comm), "MPI_Bcast(header)", err)) != 0) goto done;
    line[meta[0]] = '\0';
    *data_start = (off_t)meta[1];
    *file_size = (off_t)meta[2];
    {
        /* every rank splits the same header text: no agreement needed */
        size_t hl = (size_t)meta[0];
        int nf = 0, ec = 0, st2;
        int maxf = 1;
        for (size_t i = 0; i < hl; i++) if (line[i] == delim) maxf++;
        if (maxf > MAX_COLUMNS) { rc = error_set(err, ERR_INPUT, "%s:1: more than %d columns", path, MAX_COLUMNS); goto done; }
        store = malloc(hl + (size_t)maxf + 1);
        fields = malloc((size_t)maxf * sizeof *fields);
        if (store == NULL || fields == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
        st2 = csv_split(line, hl, delim, store, hl + (size_t)maxf + 1, fields, maxf, &nf, &ec);
        if (st2 != CSV_OK) { rc = error_set(err, ERR_INPUT, "%s:1:%d: header: %s", path, ec, csv_strerror(st2)); goto done; }
        if (hl == 0) { rc = error_set(err, ERR_INPUT, "%s:1: the header line is empty", path); goto done; }
        hd->names = calloc((size_t)nf, sizeof *hd->names);
        if (hd->names == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
        hd->n = nf;
        for (int i = 0; i < nf; i++) {
            /* trim blanks around names */
            char *s = fields[i], *e;
            while (*s == ' ' || *s == '\t') s++;
            e = s + strlen(s);
            while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
            if (*s == '\0') { rc = error_set(err, ERR_INPUT, "%s:1:%d: empty column name in the header", path, i + 1); goto done; }
            hd->names[i] = xstrdup(s);
            if (hd->names[i] == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
            for (int j = 0; j < i; j++)
                if (strcmp(hd->names[j], hd->names[i]) == 0) {
                    rc = error_set(err, ERR_INPUT, "%s:1:%d: duplicate column name '%s' (also column %d)", path, i + 1, hd->names[i], j + 1);
                    goto done;
                }
        }
    }
done:
    free(line);
    free(store);
    free(fields);
    return rc;
}

/* Read this rank's byte range: the lines whose first byte lies in
 * [lo, hi) of the data region. */
static int read_range(int fd, const char *path, off_t data_start, off_t size, int rank, int nranks,
                      csv_src *s, rg_error *err)
{
    int rc = 0;
    off_t span = size - data_start;
    off_t lo = data_start + (off_t)(((int64_t)span * rank) / nranks);
    off_t hi = data_start + (off_t)(((int64_t)span * (rank + 1)) / nranks);
    off_t start = lo, end;
    size_t got = 0, cap;
    char *buf = NULL;

    if (lo >= hi) goto done; /* empty range */
    if (lo > data_start) {
        /* a line starts at p iff p == data_start or byte p-1 is '\n':
         * find the first such p >= lo */
        char c;
        size_t g1 = 0;
        if ((rc = read_at(fd, &c, 1, lo - 1, &g1, path, err)) != 0) goto done;
        if (g1 == 1 && c != '\n') {
            char chunk[65536];
            off_t p = lo;
            for (;;) {
                size_t g = 0;
                char *nl;
                if (p >= hi) { start = hi; break; }
                if ((rc = read_at(fd, chunk, sizeof chunk, p, &g, path, err)) != 0) goto done;
                if (g == 0) { start = size; break; }
                nl = memchr(chunk, '\n', g);
                if (nl != NULL) { start = p + (nl - chunk) + 1; break; }
                p += (off_t)g;
            }
        }
    }
    if (start >= hi) goto done; /* no line starts in this range */
    /* read [start, hi) then extend to the end of the last line */
    cap = (size_t)(hi - start) + 65536;
    buf = malloc(cap + 1);
    if (buf == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory reading %s", path); goto done; }
    if ((rc = read_at(fd, buf, (size_t)(hi - start), start, &got, path, err)) != 0) goto done;
    end = start + (off_t)got;
    while (got > 0 && buf[got - 1] != '\n' && end < size) {
        size_t g = 0;
        char *nl;
        if (cap - got < 65536) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory reading %s", path); goto done; }
            buf = nb;
            cap *= 2;
        }
        if ((rc = read_at(fd, buf + got, 65536, end, &g, path, err)) != 0) goto done;
        if (g == 0) break;
        nl = memchr(buf + got, '\n', g);
        if (nl != NULL) g = (size_t)(nl - (buf + got)) + 1;
        got += g;
        end += (off_t)g;
    }
    s->buf = buf;
    s->len = got;
    buf = NULL;
done:
    free(buf);
    return rc;
}

/* Pass 1 over the local lines: shape checks, classification, distinct text
 * values.  Line numbers are relative (first_line not known yet): errors
 * store the relative line and are rendered after the line-number exscan. */
static int csv_pass1(csv_src *s, const header *hd, char delim, int64_t *bad_rel_line, int *bad_col,
                     int *bad_kind, int *bad_nf, rg_error *err)
{
    int rc = 0, ncols = hd->n;
    size_t pos = 0;
    const char *ln;
    size_t ln_len;
    char *store = NULL;
    size_t store_cap = 0;
    char **fields = NULL;

    fields = malloc((size_t)(ncols + 1) * sizeof *fields);
    s->n_num = calloc((size_t)ncols, sizeof *s->n_num);
    s->n_text = calloc((size_t)ncols, sizeof *s->n_text);
    s->bad = calloc((size_t)ncols, sizeof *s->bad);
    s->text = calloc((size_t)ncols, sizeof *s->text);
    if (fields == NULL || s->n_num == NULL || s->n_text == NULL || s->bad == NULL || s->text == NULL) {
        rc = error_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    *bad_rel_line = 0;
    while (s->buf != NULL && csv_next_line(s->buf, s->len, &pos, &ln, &ln_len)) {
        int nf = 0, ec = 0, st;
        int64_t rel = s->n_lines++;
        if (ln_len == 0) continue; /* blank line: skipped */
        {
            /* fields become C strings below: a NUL would silently cut one */
            const char *nul = memchr(ln, '\0', ln_len);
            if (nul != NULL) {
                int col = 1;
                for (const char *q = ln; q < nul; q++) col += *q == delim;
                *bad_rel_line = rel; *bad_col = col; *bad_kind = 4;
                goto done;
            }
        }
        if (store_cap < ln_len + (size_t)ncols + 2) {
            char *ns = realloc(store, ln_len + (size_t)ncols + 2);
            if (ns == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
            store = ns;
            store_cap = ln_len + (size_t)ncols + 2;
        }
        st = csv_split(ln, ln_len, delim, store, store_cap, fields, ncols + 1, &nf, &ec);
        if (st == CSV_ETOOMANY || (st == CSV_OK && nf != ncols)) {
            if (st == CSV_ETOOMANY) { csv_split(ln, ln_len, delim, store, store_cap, fields, 0, &nf, &ec); nf = ncols + 1; }
            *bad_rel_line = rel; *bad_col = 0; *bad_kind = 1; *bad_nf = nf;
            goto done;
        }
        if (st != CSV_OK) { *bad_rel_line = rel; *bad_col = ec; *bad_kind = 2; goto done; }
        for (int c = 0; c < ncols; c++) {
            double v;
            int ns = csv_number(fields[c], &v);
            if (ns == CSV_EEMPTY) { *bad_rel_line = rel; *bad_col = c + 1; *bad_kind = 3; goto done; }
            if (ns == CSV_OK) { s->n_num[c]++; continue; }
            if (ns == CSV_ENOTNUM) {
                s->n_text[c]++;
                if (strset_add(&s->text[c], fields[c]) != 0) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
            } else {
                s->n_num[c]++; /* nan / inf / out of float range: a number, but a bad one */
            }
            if (s->bad[c].line == 0) {
                s->bad[c].line = rel + 1; /* relative, 1-based; made absolute later */
                s->bad[c].col = c + 1;
                s->bad[c].status = ns;
                error_escape(s->bad[c].text, sizeof s->bad[c].text, fields[c], 40);
            }
        }
        s->n_rows++;
    }
done:
    free(store);
    free(fields);
    return rc;
}

/* Pass 2: values into rows.  col_kind per column, feature offset per
 * column (numeric: one feature; categorical: one per vocabulary value). */
static int csv_pass2(const csv_src *s, const header *hd, char delim, const int *col_kind,
                     const int *feat_off, char **const *vocab, const int *vocab_n,
                     int is_test_file, int64_t gid_base, rows *out, uint64_t *fp, rg_error *err)
{
    int rc = 0, ncols = hd->n;
    size_t pos = 0, store_cap = 0;
    const char *ln;
    size_t ln_len;
    char *store = NULL;
    char **fields = NULL;
    int64_t rel = 0, row = 0;

    fields = malloc((size_t)(ncols + 1) * sizeof *fields);
    if (fields == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    if ((rc = rows_reserve(out, out->n + s->n_rows, err)) != 0) goto done;
    while (s->buf != NULL && csv_next_line(s->buf, s->len, &pos, &ln, &ln_len)) {
        int nf = 0, ec = 0;
        int64_t line_no = s->first_line + rel++;
        double *x;
        int64_t r = out->n;
        if (ln_len == 0) continue;
        if (store_cap < ln_len + (size_t)ncols + 2) {
            char *ns = realloc(store, ln_len + (size_t)ncols + 2);
            if (ns == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
            store = ns;
            store_cap = ln_len + (size_t)ncols + 2;
        }
        if (csv_split(ln, ln_len, delim, store, store_cap, fields, ncols + 1, &nf, &ec) != CSV_OK || nf != ncols) {
            rc = error_set(err, ERR_INTERNAL, "%s:%lld: line changed between passes", s->path, (long long)line_no);
            goto done;
        }
        x = out->x + (size_t)r * (size_t)out->f;
        memset(x, 0, (size_t)out->f * sizeof *x);
        for (int c = 0; c < ncols; c++) {
            double v = 0.0;
            if (col_kind[c] == COL_DROP) continue;
            if (col_kind[c] == COL_CATEGORICAL) {
                const char *key = fields[c];
                char **hit = bsearch(&key, vocab[c], (size_t)vocab_n[c], sizeof *vocab[c], cmp_str);
                if (hit == NULL) {
                    rc = error_set(err, ERR_INTERNAL, "%s:%lld:%d: category missing from the agreed vocabulary", s->path, (long long)line_no, c + 1);
                    goto done;
                }
                x[feat_off[c] + (hit - vocab[c])] = 1.0;
                continue;
            }
            csv_number(fields[c], &v); /* validated in pass 1 */
            if (col_kind[c] == COL_LABEL) {
                if (v != floor(v) || v < 0 || v > 1e6) {
                    char t[48];
                    error_escape(t, sizeof t, fields[c], 40);
                    rc = error_set(err, ERR_INPUT, "%s:%lld:%d: label column '%s': '%s' is not a class; expected an integer 0, 1, ... (0/1 for a binary label)",
                                   s->path, (long long)line_no, c + 1, hd->names[c], t);
                    goto done;
                }
                out->y[r] = (int32_t)v;
            } else {
                x[feat_off[c]] = v;
            }
        }
        out->gid[r] = gid_base + s->first_gid + row;
        out->is_test[r] = (uint8_t)is_test_file;
        *fp += row_print(hash_fnv1a(ln, ln_len), out->gid[r]);
        out->n++;
        row++;
    }
done:
    free(store);
    free(fields);
    return rc;
}

/* ------------------------------------------------------------------ */
/* column roles from the header and the job settings                   */

static int find_col(const header *hd, const char *name)
{
    for (int i = 0; i < hd->n; i++)
        if (strcmp(hd->names[i], name) == 0) return i;
    return -1;
}

static int column_roles(const config *cfg, const header *hd, const char *path, int *kind, rg_error *err)
{
    int lab = find_col(hd, cfg->label);
    if (lab < 0)
        return error_set(err, ERR_INPUT, "%s:1: label column '%s' not found in the header (set [data] label)", path, cfg->label);
    for (int c = 0; c < hd->n; c++) kind[c] = COL_NUMERIC;
    kind[lab] = COL_LABEL;
    for (int i = 0; i < cfg->n_drop; i++) {
        int c = find_col(hd, cfg->drop[i]);
        if (c < 0) return error_set(err, ERR_USAGE, "[data] drop: column '%s' is not in the header of %s", cfg->drop[i], path);
        if (c == lab) return error_set(err, ERR_USAGE, "[data] drop: '%s' is the label column", cfg->drop[i]);
        kind[c] = COL_DROP;
    }
    if (cfg->categorical_mode == CONFIG_CAT_LIST) {
        for (int i = 0; i < cfg->n_categorical; i++) {
            int c = find_col(hd, cfg->categorical[i]);
            if (c < 0) return error_set(err, ERR_USAGE, "[data] categorical: column '%s' is not in the header of %s", cfg->categorical[i], path);
            if (c == lab) return error_set(err, ERR_USAGE, "[data] categorical: '%s' is the label column", cfg->categorical[i]);
            if (kind[c] == COL_NUMERIC) kind[c] = COL_CATEGORICAL;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* CSV loading: one or two files sharing a header                      */

typedef struct features {
    int f;
    char **names;
} features;

static void features_free(features *ft)
{
    if (ft == NULL) return;
    for (int i = 0; i < ft->f; i++) free(ft->names[i]);
    free(ft->names);
    memset(ft, 0, sizeof *ft);
}

/* Agree the sorted vocabulary of one categorical column over all ranks:
 * allgather of the local distinct values (NUL-separated), merged. */
static int agree_vocab(MPI_Comm comm, int nranks, strset *const *local, int nsrc, int col,
                       char ***vocab, int *vn, rg_error *err)
{
    int rc = 0, mylen = 0, total = 0, n = 0, cap = 0;
    int *lens = NULL, *displ = NULL;
    char *mine = NULL, *all = NULL;
    char **v = NULL;

    for (int k = 0; k < nsrc; k++)
        for (int i = 0; i < local[k][col].n; i++) mylen += (int)strlen(local[k][col].v[i]) + 1;
    mine = malloc((size_t)mylen + 1);
    lens = malloc((size_t)nranks * sizeof *lens);
    displ = malloc((size_t)nranks * sizeof *displ);
    if (mine == NULL || lens == NULL || displ == NULL) error_set(err, ERR_NOMEM, "out of memory");
    if ((rc = log_agree(comm, err)) != 0) goto done;
    {
        int o = 0;
        for (int k = 0; k < nsrc; k++)
            for (int i = 0; i < local[k][col].n; i++) {
                size_t l = strlen(local[k][col].v[i]) + 1;
                memcpy(mine + o, local[k][col].v[i], l);
                o += (int)l;
            }
    }
    if ((rc = log_mpi_check(MPI_Allgather(&mylen, 1, MPI_INT, lens, 1, MPI_INT, comm), "MPI_Allgather", err)) != 0) goto done;
    for (int r = 0; r < nranks; r++) { displ[r] = total; total += lens[r]; }
    all = malloc((size_t)total + 1);
    if (all == NULL) error_set(err, ERR_NOMEM, "out of memory");
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Allgatherv(mine, mylen, MPI_CHAR, all, lens, displ, MPI_CHAR, comm), "MPI_Allgatherv", err)) != 0) goto done;
    for (int o = 0; o < total; o += (int)strlen(all + o) + 1) {
        if (n == cap) {
            char **nv = realloc(v, (size_t)(cap ? cap * 2 : 64) * sizeof *nv);
            if (nv == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
            v = nv;
            cap = cap ? cap * 2 : 64;
        }
        v[n++] = all + o;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    {
        int u = 0;
        for (int i = 0; i < n; i++)
            if (u == 0 || strcmp(v[u - 1], v[i]) != 0) v[u++] = v[i];
        n = u;
    }
    *vocab = calloc((size_t)(n > 0 ? n : 1), sizeof **vocab);
    if (*vocab == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    for (int i = 0; i < n; i++) {
        (*vocab)[i] = xstrdup(v[i]);
        if ((*vocab)[i] == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    }
    *vn = n;
done:
    free(mine); free(lens); free(displ); free(all); free(v);
    return rc;
}

/* Load CSV source(s) into local rows (collective). */
static int load_csv(MPI_Comm comm, int rank, int nranks, const config *cfg, rows *out,
                    features *ft, uint64_t *fp, int64_t *n_rows_total, rg_error *err)
{
    int rc = 0, nsrc = cfg->test_path != NULL ? 2 : 1, ncols = 0;
    const char *paths[2] = {cfg->data_path, cfg->test_path};
    int fds[2] = {-1, -1};
    header hd[2];
    csv_src src[2];
    int *kind = NULL, *feat_off = NULL, *vocab_n = NULL;
    char ***vocab = NULL;
    int64_t *cnt = NULL, *cnt_all = NULL;
    int64_t gid_base[2] = {0, 0};

    memset(hd, 0, sizeof hd);
    memset(src, 0, sizeof src);
    *fp = 0;

    for (int k = 0; k < nsrc; k++) {
        off_t data_start = 0, size = 0;
        src[k].path = paths[k];
        fds[k] = open(paths[k], O_RDONLY);
        if (fds[k] < 0) error_set(err, ERR_IO, "cannot open input '%s': %s", paths[k], strerror(errno));
        if ((rc = log_agree(comm, err)) != 0) goto done;
        if ((rc = read_header(comm, rank, fds[k], paths[k], cfg->delimiter, &hd[k], &data_start, &size, err)) != 0) goto done;
        if (k == 1) {
            int same = hd[1].n == hd[0].n;
            for (int c = 0; same && c < hd[0].n; c++) same = strcmp(hd[0].names[c], hd[1].names[c]) == 0;
            if (!same) { rc = error_set(err, ERR_INPUT, "%s:1: header differs from that of %s (the test file must have the same columns)", paths[1], paths[0]); goto done; }
        }
        rc = read_range(fds[k], paths[k], data_start, size, rank, nranks, &src[k], err);
        if ((rc = log_agree(comm, err)) != 0) goto done;
    }
    ncols = hd[0].n;
    kind = calloc((size_t)ncols, sizeof *kind);
    feat_off = calloc((size_t)ncols, sizeof *feat_off);
    vocab_n = calloc((size_t)ncols, sizeof *vocab_n);
    vocab = calloc((size_t)ncols, sizeof *vocab);
    cnt = calloc((size_t)ncols * 2 + 4, sizeof *cnt);
    cnt_all = calloc((size_t)ncols * 2 + 4, sizeof *cnt_all);
    if (kind == NULL || feat_off == NULL || vocab_n == NULL || vocab == NULL || cnt == NULL || cnt_all == NULL) {
        error_set(err, ERR_NOMEM, "out of memory");
    } else {
        column_roles(cfg, &hd[0], paths[0], kind, err);
    }
    if ((rc = log_agree(comm, err)) != 0) goto done;

    /* pass 1 and line numbering */
    for (int k = 0; k < nsrc; k++) {
        int64_t bad_rel = 0, counts[2], before[2] = {0, 0};
        int bad_col = 0, bad_kind = 0, bad_nf = 0;
        rc = csv_pass1(&src[k], &hd[k], cfg->delimiter, &bad_rel, &bad_col, &bad_kind, &bad_nf, err);
        counts[0] = src[k].n_lines;
        counts[1] = src[k].n_rows;
        if (log_mpi_check(MPI_Exscan(counts, before, 2, MPI_INT64_T, MPI_SUM, comm), "MPI_Exscan", err) != 0) { rc = ERR_MPI; goto done; }
        if (rank == 0) before[0] = before[1] = 0;
        src[k].first_line = 2 + before[0];
        src[k].first_gid = before[1];
        if (rc == 0 && bad_kind != 0) {
            int64_t line = src[k].first_line + bad_rel;
            if (bad_kind == 1)
                error_set(err, ERR_INPUT, "%s:%lld: expected %d fields as in the header, found %s%d", paths[k], (long long)line, ncols,
                          bad_nf > ncols ? "more than " : "", bad_nf > ncols ? ncols : bad_nf);
            else if (bad_kind == 2)
                error_set(err, ERR_INPUT, "%s:%lld:%d: unbalanced quote (quoted fields must close on the same line; embedded newlines are not supported)",
                          paths[k], (long long)line, bad_col);
            else if (bad_kind == 4)
                error_set(err, ERR_INPUT, "%s:%lld:%d: NUL byte in the data; expected text (a binary file?)", paths[k], (long long)line, bad_col);
            else
                error_set(err, ERR_INPUT, "%s:%lld:%d: empty field in column '%s'; expected a value", paths[k], (long long)line, bad_col, hd[0].names[bad_col - 1]);
        }
        if ((rc = log_agree(comm, err)) != 0) goto done;
        for (int c = 0; c < ncols; c++)
            if (src[k].bad[c].line != 0) src[k].bad[c].line += src[k].first_line - 1;
    }

    /* column types: counts summed over ranks and sources */
    for (int k = 0; k < nsrc; k++)
        for (int c = 0; c < ncols; c++) { cnt[2 * c] += src[k].n_num[c]; cnt[2 * c + 1] += src[k].n_text[c]; }
    for (int k = 0; k < nsrc; k++) cnt[2 * ncols + k] = src[k].n_rows;
    if ((rc = log_mpi_check(MPI_Allreduce(cnt, cnt_all, 2 * ncols + 4, MPI_INT64_T, MPI_SUM, comm), "MPI_Allreduce", err)) != 0) goto done;
    for (int k = 0; k < nsrc; k++)
        if (cnt_all[2 * ncols + k] == 0) {
            rc = error_set(err, ERR_INPUT, "%s: no data rows after the header", paths[k]);
            goto done;
        }
    gid_base[1] = cnt_all[2 * ncols];
    *n_rows_total = cnt_all[2 * ncols] + (nsrc == 2 ? cnt_all[2 * ncols + 1] : 0);
    for (int c = 0; c < ncols; c++)
        if (kind[c] == COL_NUMERIC && cfg->categorical_mode == CONFIG_CAT_AUTO && cnt_all[2 * c] == 0) kind[c] = COL_CATEGORICAL;

    /* bad values in numeric columns and labels: first in file order */
    {
        int64_t best_line = 0;
        int best_c = -1, best_k = 0;
        for (int k = 0; k < nsrc && best_c < 0; k++)
            for (int c = 0; c < ncols; c++) {
                if (kind[c] != COL_NUMERIC && kind[c] != COL_LABEL) continue;
                if (src[k].bad[c].line != 0 && (best_c < 0 || src[k].bad[c].line < best_line)) {
                    best_line = src[k].bad[c].line; best_c = c; best_k = k;
                }
            }
        if (best_c >= 0) {
            const bad_at *b = &src[best_k].bad[best_c];
            if (kind[best_c] == COL_LABEL)
                error_set(err, ERR_INPUT, "%s:%lld:%d: label column '%s': '%s' is not a class; expected an integer 0, 1, ...",
                          paths[best_k], (long long)b->line, b->col, hd[0].names[best_c], b->text);
            else if (b->status == CSV_ENOTNUM)
                error_set(err, ERR_INPUT, "%s:%lld:%d: column '%s' is numeric but holds '%s'; expected a number (or list the column under [data] categorical / drop)",
                          paths[best_k], (long long)b->line, b->col, hd[0].names[best_c], b->text);
            else
                error_set(err, ERR_INPUT, "%s:%lld:%d: column '%s': '%s' is %s; expected a finite number within float32 range",
                          paths[best_k], (long long)b->line, b->col, hd[0].names[best_c], b->text,
                          b->status == CSV_ERANGE ? "out of range" : "not finite");
        }
    }
    if ((rc = log_agree(comm, err)) != 0) goto done;

    /* vocabularies */
    {
        strset *locals[2] = {src[0].text, nsrc == 2 ? src[1].text : NULL};
        int f = 0;
        for (int c = 0; c < ncols; c++) {
            int many = 0, many_all = 0;
            if (kind[c] == COL_CATEGORICAL)
                for (int k = 0; k < nsrc; k++) if (locals[k][c].n > MAX_CATEGORIES) many = 1;
            if ((rc = log_mpi_check(MPI_Allreduce(&many, &many_all, 1, MPI_INT, MPI_MAX, comm), "MPI_Allreduce", err)) != 0) goto done;
            if (kind[c] == COL_CATEGORICAL && !many_all) {
                /* agree_vocab's collectives all run; a local failure after them is agreed here */
                agree_vocab(comm, nranks, locals, nsrc, c, &vocab[c], &vocab_n[c], err);
                if ((rc = log_agree(comm, err)) != 0) goto done;
            }
            if (many_all || (kind[c] == COL_CATEGORICAL && vocab_n[c] > MAX_CATEGORIES)) {
                rc = error_set(err, ERR_INPUT, "%s: column '%s' has more than %d distinct categories; add it to [data] drop (an identifier?) or encode it numerically",
                               paths[0], hd[0].names[c], MAX_CATEGORIES);
                goto done;
            }
            feat_off[c] = f;
            if (kind[c] == COL_NUMERIC) f += 1;
            else if (kind[c] == COL_CATEGORICAL) f += vocab_n[c];
        }
        if (f == 0) { rc = error_set(err, ERR_INPUT, "%s: no feature columns left (all dropped?)", paths[0]); goto done; }
        ft->f = f;
        ft->names = calloc((size_t)f, sizeof *ft->names);
        if (ft->names == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
        for (int c = 0; c < ncols; c++) {
            if (kind[c] == COL_NUMERIC) {
                ft->names[feat_off[c]] = xstrdup(hd[0].names[c]);
                if (ft->names[feat_off[c]] == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
            } else if (kind[c] == COL_CATEGORICAL) {
                for (int i = 0; i < vocab_n[c]; i++) {
                    size_t l = strlen(hd[0].names[c]) + strlen(vocab[c][i]) + 2;
                    char *nm = malloc(l);
                    if (nm == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
                    snprintf(nm, l, "%s=%s", hd[0].names[c], vocab[c][i]);
                    ft->names[feat_off[c] + i] = nm;
                }
            }
        }
    }

    /* pass 2 */
    out->f = ft->f;
    for (int k = 0; k < nsrc; k++) {
        rc = csv_pass2(&src[k], &hd[0], cfg->delimiter, kind, feat_off, (char **const *)vocab, vocab_n, k == 1, gid_base[k], out, fp, err);
        if ((rc = log_agree(comm, err)) != 0) goto done;
        free(src[k].buf);
        src[k].buf = NULL;
    }
    {
        uint64_t h = hash_fnv1a(cfg->label, strlen(cfg->label));
        for (int c = 0; c < ncols; c++) h = rng_mix64(h ^ hash_fnv1a(hd[0].names[c], strlen(hd[0].names[c])));
        if (rank == 0) *fp += h;
    }
done:
    for (int k = 0; k < 2; k++) {
        if (fds[k] >= 0) close(fds[k]);
        csv_src_free(&src[k], ncols);
        header_free(&hd[k]);
    }
    if (vocab != NULL)
        for (int c = 0; c < ncols; c++) {
            if (vocab[c] != NULL)
                for (int i = 0; i < vocab_n[c]; i++) free(vocab[c][i]);
            free(vocab[c]);
        }
    free(vocab); free(vocab_n); free(kind); free(feat_off); free(cnt); free(cnt_all);
    return rc;
}

/* ------------------------------------------------------------------ */
/* HDF5 source: features [n, F] and label [n]; rank r reads its rows    */

static int load_h5_file(MPI_Comm comm, int rank, int nranks, const config *cfg, const char *path,
                        int is_test, int64_t gid_base, rows *out, features *ft, int64_t *n_file,
                        uint64_t *fp, rg_error *err)
{
    int rc = 0;
    hid_t f = H5I_INVALID_HID, dx = H5I_INVALID_HID, dy = H5I_INVALID_HID;
    hid_t sx = H5I_INVALID_HID, sy = H5I_INVALID_HID, mx = H5I_INVALID_HID, my = H5I_INVALID_HID;
    hid_t tx = H5I_INVALID_HID, ty = H5I_INVALID_HID, an = H5I_INVALID_HID, at = H5I_INVALID_HID, as = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0}, ldims[1] = {0};
    double *lab = NULL;
    char **names = NULL;
    int64_t lo = 0, hi = 0, shape[2] = {0, 0};

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (rank == 0 || 1) {
        f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f < 0) { error_set(err, access(path, R_OK) == 0 ? ERR_INPUT : ERR_IO, "cannot open HDF5 input '%s'%s", path, access(path, R_OK) == 0 ? ": not an HDF5 file" : ": no such file or not readable"); goto agree; }
        dx = H5Dopen2(f, cfg->hdf5_features, H5P_DEFAULT);
        if (dx < 0) { error_set(err, ERR_INPUT, "%s: no dataset '%s' (set [data] hdf5_features)", path, cfg->hdf5_features); goto agree; }
        dy = H5Dopen2(f, cfg->hdf5_label, H5P_DEFAULT);
        if (dy < 0) { error_set(err, ERR_INPUT, "%s: no dataset '%s' (set [data] hdf5_label)", path, cfg->hdf5_label); goto agree; }
        sx = H5Dget_space(dx);
        sy = H5Dget_space(dy);
        tx = H5Dget_type(dx);
        ty = H5Dget_type(dy);
        if (sx < 0 || sy < 0 || tx < 0 || ty < 0) { error_set(err, ERR_HDF5, "%s: cannot query datasets", path); goto agree; }
        if (H5Sget_simple_extent_ndims(sx) != 2) { error_set(err, ERR_INPUT, "%s: dataset '%s' has rank %d; expected 2 (rows x features)", path, cfg->hdf5_features, H5Sget_simple_extent_ndims(sx)); goto agree; }
        if (H5Sget_simple_extent_ndims(sy) != 1) { error_set(err, ERR_INPUT, "%s: dataset '%s' has rank %d; expected 1 (rows)", path, cfg->hdf5_label, H5Sget_simple_extent_ndims(sy)); goto agree; }
        if (H5Tget_class(tx) != H5T_FLOAT && H5Tget_class(tx) != H5T_INTEGER) { error_set(err, ERR_INPUT, "%s: dataset '%s' is not numeric", path, cfg->hdf5_features); goto agree; }
        if (H5Tget_class(ty) != H5T_FLOAT && H5Tget_class(ty) != H5T_INTEGER) { error_set(err, ERR_INPUT, "%s: dataset '%s' is not numeric", path, cfg->hdf5_label); goto agree; }
        H5Sget_simple_extent_dims(sx, dims, NULL);
        H5Sget_simple_extent_dims(sy, ldims, NULL);
        if (ldims[0] != dims[0]) { error_set(err, ERR_INPUT, "%s: '%s' has %llu rows but '%s' has %llu", path, cfg->hdf5_features, (unsigned long long)dims[0], cfg->hdf5_label, (unsigned long long)ldims[0]); goto agree; }
        if (dims[0] == 0 || dims[1] == 0) { error_set(err, ERR_INPUT, "%s: dataset '%s' is empty", path, cfg->hdf5_features); goto agree; }
        if (dims[1] > MAX_COLUMNS) { error_set(err, ERR_INPUT, "%s: more than %d features", path, MAX_COLUMNS); goto agree; }
        shape[0] = (int64_t)dims[0];
        shape[1] = (int64_t)dims[1];
    }
agree:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if (ft->f != 0 && ft->f != (int)shape[1]) { rc = error_set(err, ERR_INPUT, "%s: %lld features, but the training file has %d", path, (long long)shape[1], ft->f); goto done; }
    *n_file = shape[0];
    lo = shape[0] * rank / nranks;
    hi = shape[0] * (rank + 1) / nranks;
    out->f = (int)shape[1];
    if ((rc = rows_reserve(out, out->n + (hi - lo), err)) != 0) goto agree2;
    lab = malloc((size_t)(hi - lo + 1) * sizeof *lab);
    if (lab == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto agree2; }
    if (hi > lo) {
        hsize_t start[2] = {(hsize_t)lo, 0}, count[2] = {(hsize_t)(hi - lo), dims[1]};
        hsize_t mcount[2] = {(hsize_t)(hi - lo), dims[1]};
        double *x = out->x + (size_t)out->n * (size_t)out->f;
        uint64_t rowhash[8];
        if (H5Sselect_hyperslab(sx, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Sselect_hyperslab(sy, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            (mx = H5Screate_simple(2, mcount, NULL)) < 0 || (my = H5Screate_simple(1, mcount, NULL)) < 0 ||
            H5Dread(dx, H5T_NATIVE_DOUBLE, mx, sx, H5P_DEFAULT, x) < 0 ||
            H5Dread(dy, H5T_NATIVE_DOUBLE, my, sy, H5P_DEFAULT, lab) < 0) {
            rc = error_set(err, ERR_HDF5, "%s: reading rows %lld..%lld failed", path, (long long)lo, (long long)hi - 1);
            goto agree2;
        }
        for (int64_t i = 0; i < hi - lo; i++) {
            int64_t r = out->n + i;
            if (i % 8 == 0) {
                /* the content hashes of rows i .. i+7 at once (hash.h) */
                const size_t rb = (size_t)out->f * sizeof(double);
                hash_fnv1a_rows(x + (size_t)i * (size_t)out->f, rb, rb, (int)(hi - lo - i < 8 ? hi - lo - i : 8), rowhash);
            }
            for (int j = 0; j < out->f; j++) {
                double v = x[(size_t)i * (size_t)out->f + (size_t)j];
                if (!isfinite(v) || fabs(v) > 3.4028234663852886e38) {
                    rc = error_set(err, ERR_INPUT, "%s: dataset '%s' row %lld column %d: %g is not a finite float32 value", path, cfg->hdf5_features, (long long)(lo + i), j, v);
                    goto agree2;
                }
            }
            if (!(lab[i] == floor(lab[i]) && lab[i] >= 0 && lab[i] <= 1e6)) {
                rc = error_set(err, ERR_INPUT, "%s: dataset '%s' row %lld: %g is not a class; expected an integer 0, 1, ...", path, cfg->hdf5_label, (long long)(lo + i), lab[i]);
                goto agree2;
            }
            out->y[r] = (int32_t)lab[i];
            out->gid[r] = gid_base + lo + i;
            out->is_test[r] = (uint8_t)is_test;
            *fp += row_print(rowhash[i % 8] ^ rng_mix64((uint64_t)out->y[r]), out->gid[r]);
        }
        out->n += hi - lo;
    }
agree2:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if (ft->f == 0) {
        /* feature names: string attribute "feature_names" if present, else f0.. */
        ft->names = calloc((size_t)shape[1], sizeof *ft->names);
        if (ft->names == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto agree3; }
        ft->f = (int)shape[1];
        if (H5Aexists(dx, "feature_names") > 0 && (an = H5Aopen(dx, "feature_names", H5P_DEFAULT)) >= 0) {
            hssize_t na;
            at = H5Aget_type(an);
            as = H5Aget_space(an);
            na = H5Sget_simple_extent_npoints(as);
            if (at >= 0 && H5Tget_class(at) == H5T_STRING && na == shape[1]) {
                names = calloc((size_t)na, sizeof *names);
                if (names != NULL) {
                    hid_t mt = H5Tcopy(H5T_C_S1);
                    H5Tset_size(mt, H5T_VARIABLE);
                    H5Tset_cset(mt, H5Tget_cset(at));
                    if (H5Tis_variable_str(at) > 0) {
                        if (H5Aread(an, mt, names) >= 0)
                            for (int j = 0; j < ft->f; j++) ft->names[j] = xstrdup(names[j] ? names[j] : "");
                        H5Dvlen_reclaim(mt, as, H5P_DEFAULT, names);
                    } else {
                        size_t sz = H5Tget_size(at);
                        char *fixed = calloc((size_t)na, sz + 1);
                        hid_t ft2 = H5Tcopy(at);
                        if (fixed != NULL && ft2 >= 0 && H5Aread(an, ft2, fixed) >= 0)
                            for (int j = 0; j < ft->f; j++) {
                                char *s = calloc(sz + 1, 1);
                                if (s != NULL) memcpy(s, fixed + (size_t)j * sz, sz);
                                ft->names[j] = s;
                            }
                        if (ft2 >= 0) H5Tclose(ft2);
                        free(fixed);
                    }
                    H5Tclose(mt);
                }
            }
        }
        for (int j = 0; j < ft->f; j++)
            if (ft->names[j] == NULL) {
                char b[32];
                snprintf(b, sizeof b, "f%d", j);
                ft->names[j] = xstrdup(b);
                if (ft->names[j] == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto agree3; }
            }
    }
agree3:
    rc = log_agree(comm, err);
done:
    free(lab);
    free(names);
    if (as >= 0) H5Sclose(as);
    if (at >= 0) H5Tclose(at);
    if (an >= 0) H5Aclose(an);
    if (mx >= 0) H5Sclose(mx);
    if (my >= 0) H5Sclose(my);
    if (sx >= 0) H5Sclose(sx);
    if (sy >= 0) H5Sclose(sy);
    if (tx >= 0) H5Tclose(tx);
    if (ty >= 0) H5Tclose(ty);
    if (dx >= 0) H5Dclose(dx);
    if (dy >= 0) H5Dclose(dy);
    if (f >= 0) H5Fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* shuffle to shard owners, standardise                                */

typedef struct packed_hdr {
    int64_t gid;
    int32_t y;
    int32_t shard_test; /* shard * 2 + is_test */
} packed_hdr;

static int cmp_packed(const void *a, const void *b)
{
    const packed_hdr *x = a, *y = b;
    /* test rows after train rows; then shard; then global index */
    int tx = x->shard_test & 1, ty = y->shard_test & 1;
    if (tx != ty) return tx - ty;
    if (x->shard_test != y->shard_test) return x->shard_test < y->shard_test ? -1 : 1;
    return (x->gid > y->gid) - (x->gid < y->gid);
}

static int shuffle_rows(MPI_Comm comm, int rank, int nranks, const config *cfg, const rows *in,
                        char **recv_out, int64_t *n_recv_out, size_t *rowbytes_out, rg_error *err)
{
    int rc = 0, V = cfg->virtual_shards;
    size_t rowbytes = sizeof(packed_hdr) + (size_t)in->f * sizeof(double);
    int *scount = NULL, *sdispl = NULL, *rcount = NULL, *rdispl = NULL, *fill = NULL;
    char *sbuf = NULL, *rbuf = NULL;
    int64_t nrecv = 0;
    MPI_Datatype rowtype = MPI_DATATYPE_NULL;
    (void)rank;

    scount = calloc((size_t)nranks, sizeof *scount);
    sdispl = calloc((size_t)nranks, sizeof *sdispl);
    rcount = calloc((size_t)nranks, sizeof *rcount);
    rdispl = calloc((size_t)nranks, sizeof *rdispl);
    fill = calloc((size_t)nranks, sizeof *fill);
    sbuf = malloc((size_t)(in->n > 0 ? in->n : 1) * rowbytes);
    if (!scount || !sdispl || !rcount || !rdispl || !fill || !sbuf) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto agree; }
    for (int64_t i = 0; i < in->n; i++) {
        int s = (int)(rng_hash3(cfg->seed, RNG_STREAM_SHARD, (uint64_t)in->gid[i]) % (uint64_t)V);
        scount[shard_owner(s, nranks, V)]++;
    }
    for (int r = 1; r < nranks; r++) sdispl[r] = sdispl[r - 1] + scount[r - 1];
    for (int64_t i = 0; i < in->n; i++) {
        int s = (int)(rng_hash3(cfg->seed, RNG_STREAM_SHARD, (uint64_t)in->gid[i]) % (uint64_t)V);
        int o = shard_owner(s, nranks, V);
        char *p = sbuf + (size_t)(sdispl[o] + fill[o]++) * rowbytes;
        packed_hdr h;
        int is_test = in->is_test[i];
        if (!is_test && cfg->test_path == NULL)
            is_test = rng_unit(rng_hash3(cfg->seed, RNG_STREAM_SPLIT, (uint64_t)in->gid[i])) < cfg->test_fraction;
        h.gid = in->gid[i];
        h.y = in->y[i];
        h.shard_test = s * 2 + is_test;
        memcpy(p, &h, sizeof h);
        memcpy(p + sizeof h, in->x + (size_t)i * (size_t)in->f, (size_t)in->f * sizeof(double));
    }
agree:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm), "MPI_Alltoall", err)) != 0) goto done;
    for (int r = 0; r < nranks; r++) { rdispl[r] = (int)nrecv; nrecv += rcount[r]; }
    if (nranks == 1) {
        /* every row stays: the packed rows are the received ones (spares
         * a copy of the whole data set and the page faults of a second
         * buffer; MNIST-shaped 60,000 x 784: 376 MB) */
        rbuf = sbuf;
        sbuf = NULL;
        goto sort;
    }
    rbuf = malloc((size_t)(nrecv > 0 ? nrecv : 1) * rowbytes);
    if (rbuf == NULL) error_set(err, ERR_NOMEM, "out of memory receiving %lld rows", (long long)nrecv);
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Type_contiguous((int)rowbytes, MPI_BYTE, &rowtype), "MPI_Type_contiguous", err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Type_commit(&rowtype), "MPI_Type_commit", err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Alltoallv(sbuf, scount, sdispl, rowtype, rbuf, rcount, rdispl, rowtype, comm), "MPI_Alltoallv(rows)", err)) != 0) goto done;
sort:
    /* sort by (test, shard, gid): the order of rows in a shard is then a
     * function of the data alone, not of which rank read them */
    qsort(rbuf, (size_t)nrecv, rowbytes, cmp_packed);
    *recv_out = rbuf;
    rbuf = NULL;
    *n_recv_out = nrecv;
    *rowbytes_out = rowbytes;
done:
    if (rowtype != MPI_DATATYPE_NULL) MPI_Type_free(&rowtype);
    free(scount); free(sdispl); free(rcount); free(rdispl); free(fill); free(sbuf); free(rbuf);
    return rc;
}

void dataset_free(dataset *ds)
{
    if (ds == NULL) return;
    if (ds->feature_names != NULL)
        for (int i = 0; i < ds->n_features; i++) free(ds->feature_names[i]);
    free(ds->feature_names);
    free(ds->mean);
    free(ds->std);
    free(ds->source);
    free(ds->train.shard_off); free(ds->train.x); free(ds->train.y); free(ds->train.gid);
    free(ds->test.shard_off); free(ds->test.x); free(ds->test.y); free(ds->test.gid);
    free(ds);
}

void dataset_part_free(dataset_part *p)
{
    if (p == NULL) return;
    free(p->shard_off); free(p->x); free(p->y); free(p->gid);
    memset(p, 0, sizeof *p);
}

int dataset_train_all(MPI_Comm comm, const dataset *ds, dataset_part *all, rg_error *err)
{
    int rc = 0, nranks = 1, nls = ds->n_local_shards;
    const int V = ds->virtual_shards, F = ds->n_features;
    int64_t *sizes = NULL, *mine = NULL;
    int *cnt = NULL, *dsp = NULL, *scnt = NULL, *sdsp = NULL;
    memset(all, 0, sizeof *all);
    MPI_Comm_size(comm, &nranks);
    sizes = malloc((size_t)V * sizeof *sizes);
    mine = malloc((size_t)(nls > 0 ? nls : 1) * sizeof *mine);
    cnt = malloc((size_t)nranks * sizeof *cnt);
    dsp = malloc((size_t)nranks * sizeof *dsp);
    scnt = malloc((size_t)nranks * sizeof *scnt);
    sdsp = malloc((size_t)nranks * sizeof *sdsp);
    all->shard_off = calloc((size_t)V + 1, sizeof *all->shard_off);
    if (!sizes || !mine || !cnt || !dsp || !scnt || !sdsp || !all->shard_off) {
        error_set(err, ERR_NOMEM, "out of memory gathering the training rows");
        goto agree;
    }
    for (int s = 0; s < nls; s++) mine[s] = ds->train.shard_off[s + 1] - ds->train.shard_off[s];
    for (int r = 0; r < nranks; r++) {
        sdsp[r] = dataset_first_shard(r, nranks, V);
        scnt[r] = dataset_first_shard(r + 1, nranks, V) - sdsp[r];
    }
agree:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Allgatherv(mine, nls, MPI_INT64_T, sizes, scnt, sdsp, MPI_INT64_T, comm),
                            "MPI_Allgatherv(shard sizes)", err)) != 0)
        goto done;
    for (int s = 0; s < V; s++) all->shard_off[s + 1] = all->shard_off[s] + sizes[s];
    all->n = all->shard_off[V];
    if (all->n > INT_MAX / (F > 0 ? F : 1)) {
        error_set(err, ERR_INPUT, "%lld training rows of %d features are too many to copy to every rank in one MPI call",
                  (long long)all->n, F);
    } else {
        for (int r = 0; r < nranks; r++) {
            cnt[r] = (int)(all->shard_off[sdsp[r] + scnt[r]] - all->shard_off[sdsp[r]]);
            dsp[r] = (int)all->shard_off[sdsp[r]];
        }
        all->x = malloc((size_t)(all->n > 0 ? all->n : 1) * (size_t)F * sizeof *all->x);
        all->y = malloc((size_t)(all->n > 0 ? all->n : 1) * sizeof *all->y);
        if (!all->x || !all->y) error_set(err, ERR_NOMEM, "out of memory gathering the training rows");
    }
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Allgatherv(ds->train.y, (int)ds->train.n, MPI_INT32_T, all->y, cnt, dsp, MPI_INT32_T, comm),
                            "MPI_Allgatherv(labels)", err)) != 0)
        goto done;
    for (int r = 0; r < nranks; r++) {
        cnt[r] *= F;
        dsp[r] *= F;
    }
    rc = log_mpi_check(MPI_Allgatherv(ds->train.x, (int)ds->train.n * F, MPI_FLOAT, all->x, cnt, dsp, MPI_FLOAT, comm),
                       "MPI_Allgatherv(rows)", err);
done:
    if (rc != 0) dataset_part_free(all);
    free(sizes); free(mine); free(cnt); free(dsp); free(scnt); free(sdsp);
    return rc;
}

/* Fill one part from the sorted records [first, first + n) (all of one
 * kind), grouped by local shard. */
static int fill_part(dataset_part *p, const char *recs, int64_t first, int64_t n, size_t rowbytes,
                     int f, int first_shard, int nls, rg_error *err)
{
    p->n = n;
    p->shard_off = calloc((size_t)nls + 1, sizeof *p->shard_off);
    p->x = malloc((size_t)(n > 0 ? n : 1) * (size_t)f * sizeof *p->x);
    p->y = malloc((size_t)(n > 0 ? n : 1) * sizeof *p->y);
    p->gid = malloc((size_t)(n > 0 ? n : 1) * sizeof *p->gid);
    if (!p->shard_off || !p->x || !p->y || !p->gid) return error_set(err, ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        packed_hdr h;
        memcpy(&h, recs + (size_t)(first + i) * rowbytes, sizeof h);
        p->y[i] = h.y;
        p->gid[i] = h.gid;
        p->shard_off[(h.shard_test >> 1) - first_shard + 1]++;
    }
    for (int s = 0; s < nls; s++) p->shard_off[s + 1] += p->shard_off[s];
    return 0;
}

/* The features of sorted record i (packed_hdr, then f doubles; records
 * are rowbytes apart from a malloc'd base, so the doubles are aligned). */
static const double *rec_x(const char *recs, size_t rowbytes, int64_t i)
{
    return (const double *)(const void *)(recs + (size_t)i * rowbytes + sizeof(packed_hdr));
}

/* Exact-order statistics over the training records recs[0 .. train.n):
 * per local shard sums in row (gid) order, then all shard sums gathered
 * and added in shard order 0..V-1.  mean and the population variance by
 * two passes. */
static int train_stats(MPI_Comm comm, int nranks, const dataset *ds, const char *recs, size_t rowbytes,
                       double *mean, double *std, rg_error *err)
{
    int rc = 0, f = ds->n_features, V = ds->virtual_shards, nls = ds->n_local_shards;
    double *loc = NULL, *all = NULL;
    int *cnt = NULL, *displ = NULL;

    loc = calloc((size_t)(nls > 0 ? nls : 1) * (size_t)f, sizeof *loc);
    all = calloc((size_t)V * (size_t)f, sizeof *all);
    cnt = calloc((size_t)nranks, sizeof *cnt);
    displ = calloc((size_t)nranks, sizeof *displ);
    if (!loc || !all || !cnt || !displ) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    for (int r = 0; r < nranks; r++) {
        int a = dataset_first_shard(r, nranks, V), b = dataset_first_shard(r + 1, nranks, V);
        cnt[r] = (b - a) * f;
        displ[r] = a * f;
    }
    for (int pass = 0; pass < 2; pass++) {
        memset(loc, 0, (size_t)(nls > 0 ? nls : 1) * (size_t)f * sizeof *loc);
        for (int s = 0; s < nls; s++)
            for (int64_t i = ds->train.shard_off[s]; i < ds->train.shard_off[s + 1]; i++) {
                /* one accumulator per feature, rows in order: vectorises over j */
                const double *restrict xi = rec_x(recs, rowbytes, i);
                double *restrict acc = loc + (size_t)s * (size_t)f;
                if (pass == 0)
                    for (int j = 0; j < f; j++) acc[j] += xi[j];
                else
                    for (int j = 0; j < f; j++) acc[j] += (xi[j] - mean[j]) * (xi[j] - mean[j]);
            }
        if ((rc = log_mpi_check(MPI_Allgatherv(loc, nls * f, MPI_DOUBLE, all, cnt, displ, MPI_DOUBLE, comm), "MPI_Allgatherv(stats)", err)) != 0) goto done;
        for (int j = 0; j < f; j++) {
            double acc = 0.0;
            for (int s = 0; s < V; s++) acc += all[s * f + j];
            if (pass == 0) mean[j] = acc / (double)ds->n_train;
            else std[j] = sqrt(acc / (double)ds->n_train);
        }
    }
done:
    free(loc); free(all); free(cnt); free(displ);
    return rc;
}

int dataset_load(MPI_Comm comm, const config *cfg, dataset **out, rg_error *err)
{
    int rc = 0, rank = 0, nranks = 1, V = cfg->virtual_shards;
    rows in;
    features ft;
    dataset *ds = NULL;
    char *recs = NULL;
    int64_t nrecs = 0, n_rows_total = 0, ntr_local = 0;
    size_t rowbytes = 0;
    uint64_t fp = 0, fp_all = 0;
    int64_t *counts = NULL, *counts_all = NULL;
    double *sd = NULL, *mu = NULL;  /* the standardisation's divisor and centre per feature */
    int K = 0;

    memset(&in, 0, sizeof in);
    memset(&ft, 0, sizeof ft);
    *out = NULL;
    if ((rc = log_mpi_check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Comm_size(comm, &nranks), "MPI_Comm_size", err)) != 0) goto done;
    if (nranks > V) {
        rc = error_set(err, ERR_USAGE, "%d ranks but only %d virtual shards: run with at most %d ranks or raise [train] virtual_shards", nranks, V, V);
        goto done;
    }
    ds = calloc(1, sizeof *ds);
    if (ds == NULL) error_set(err, ERR_NOMEM, "out of memory");
    if ((rc = log_agree(comm, err)) != 0) goto done;

    if (cfg->data_format == CONFIG_FORMAT_HDF5) {
        int64_t n0 = 0, n1 = 0;
        if ((rc = load_h5_file(comm, rank, nranks, cfg, cfg->data_path, 0, 0, &in, &ft, &n0, &fp, err)) != 0) goto done;
        if (cfg->test_path != NULL)
            if ((rc = load_h5_file(comm, rank, nranks, cfg, cfg->test_path, 1, n0, &in, &ft, &n1, &fp, err)) != 0) goto done;
        n_rows_total = n0 + n1;
    } else {
        if ((rc = load_csv(comm, rank, nranks, cfg, &in, &ft, &fp, &n_rows_total, err)) != 0) goto done;
    }

    /* labels: classes, and the rule that a sigmoid model needs 0/1 */
    {
        int kmax = -1, kall = 0;
        for (int64_t i = 0; i < in.n; i++) if (in.y[i] > kmax) kmax = in.y[i];
        if ((rc = log_mpi_check(MPI_Allreduce(&kmax, &kall, 1, MPI_INT, MPI_MAX, comm), "MPI_Allreduce", err)) != 0) goto done;
        K = kall + 1 < 2 ? 2 : kall + 1;
        if (cfg->output == CONFIG_OUTPUT_SIGMOID && K > 2) {
            rc = error_set(err, ERR_INPUT, "%s: labels go up to %d but [model] output = sigmoid needs 0/1 labels (use softmax or auto)", cfg->data_path, kall);
            goto done;
        }
    }

    if ((rc = shuffle_rows(comm, rank, nranks, cfg, &in, &recs, &nrecs, &rowbytes, err)) != 0) goto done;
    rows_free(&in);

    ds->n_features = ft.f;
    ds->feature_names = ft.names;
    ft.names = NULL;
    ft.f = 0;
    ds->n_classes = K;
    ds->n_rows = n_rows_total;
    ds->virtual_shards = V;
    ds->first_shard = dataset_first_shard(rank, nranks, V);
    ds->n_local_shards = dataset_first_shard(rank + 1, nranks, V) - ds->first_shard;
    ds->source = xstrdup(cfg->test_path ? cfg->test_path : cfg->data_path);
    if (cfg->test_path != NULL && ds->source != NULL) {
        size_t l = strlen(cfg->data_path) + strlen(cfg->test_path) + 16;
        char *s = malloc(l);
        if (s != NULL) snprintf(s, l, "%s (test: %s)", cfg->data_path, cfg->test_path);
        free(ds->source);
        ds->source = s;
    }
    for (int64_t i = 0; i < nrecs; i++) {
        packed_hdr h;
        memcpy(&h, recs + (size_t)i * rowbytes, sizeof h);
        if (h.shard_test & 1) break;
        ntr_local++;
    }
    if (ds->source == NULL) error_set(err, ERR_NOMEM, "out of memory");
    else if (fill_part(&ds->train, recs, 0, ntr_local, rowbytes, ds->n_features, ds->first_shard, ds->n_local_shards, err) == 0)
        fill_part(&ds->test, recs, ntr_local, nrecs - ntr_local, rowbytes, ds->n_features, ds->first_shard, ds->n_local_shards, err);
    if ((rc = log_agree(comm, err)) != 0) goto done;

    /* global counts: rows per shard (train), classes (all, train, test) */
    {
        int nc = V + 3 * K + 2;
        counts = calloc((size_t)nc, sizeof *counts);
        counts_all = calloc((size_t)nc, sizeof *counts_all);
        if (!counts || !counts_all) error_set(err, ERR_NOMEM, "out of memory");
        if ((rc = log_agree(comm, err)) != 0) goto done;
        for (int s = 0; s < ds->n_local_shards; s++)
            counts[ds->first_shard + s] = ds->train.shard_off[s + 1] - ds->train.shard_off[s];
        for (int64_t i = 0; i < ds->train.n; i++) { counts[V + ds->train.y[i]]++; counts[V + K + ds->train.y[i]]++; }
        for (int64_t i = 0; i < ds->test.n; i++) { counts[V + ds->test.y[i]]++; counts[V + 2 * K + ds->test.y[i]]++; }
        counts[V + 3 * K] = ds->train.n;
        counts[V + 3 * K + 1] = ds->test.n;
        if ((rc = log_mpi_check(MPI_Allreduce(counts, counts_all, nc, MPI_INT64_T, MPI_SUM, comm), "MPI_Allreduce(counts)", err)) != 0) goto done;
        if ((rc = log_mpi_check(MPI_Allreduce(&fp, &fp_all, 1, MPI_UINT64_T, MPI_SUM, comm), "MPI_Allreduce(fingerprint)", err)) != 0) goto done;
        ds->n_train = counts_all[V + 3 * K];
        ds->n_test = counts_all[V + 3 * K + 1];
        ds->positive_rate = (double)counts_all[V + 1] / (double)n_rows_total;
        snprintf(ds->fingerprint, sizeof ds->fingerprint, "%016llx", (unsigned long long)(fp_all ^ rng_mix64((uint64_t)n_rows_total)));
        {
            int present = 0, present_test = 0;
            for (int k = 0; k < K; k++) { present += counts_all[V + k] > 0; present_test += counts_all[V + 2 * K + k] > 0; }
            if (present < 2) {
                rc = error_set(err, ERR_INPUT, "%s: the label '%s' has a single class (%d) in all %lld rows; AUC is undefined and there is nothing to learn",
                               cfg->data_path, cfg->label, counts_all[V] > 0 ? 0 : K - 1, (long long)n_rows_total);
                goto done;
            }
            if (ds->n_test == 0) {
                rc = error_set(err, ERR_INPUT, "%s: no test rows (%lld rows, test_fraction %g); raise [data] test_fraction or give test_path",
                               cfg->data_path, (long long)n_rows_total, cfg->test_fraction);
                goto done;
            }
            if (present_test < 2 || (K > 2 && present_test < K)) {
                rc = error_set(err, ERR_INPUT, "%s: the %lld test rows do not hold every class; AUC is undefined (more rows or a larger test_fraction)",
                               cfg->data_path, (long long)ds->n_test);
                goto done;
            }
        }
        {
            int m = cfg->batch_size / V;
            for (int s = 0; s < V; s++)
                if (counts_all[s] < m || counts_all[s] == 0) {
                    rc = error_set(err, ERR_INPUT, "too few training rows (%lld) for %d virtual shards at batch size %d: shard %d has %lld rows and needs at least %d; lower [train] virtual_shards or batch_size",
                                   (long long)ds->n_train, V, cfg->batch_size, s, (long long)counts_all[s], m > 0 ? m : 1);
                    goto done;
                }
        }
    }

    /* standardise with train statistics (exact order, P-independent) */
    {
        int f = ds->n_features;
        ds->mean = calloc((size_t)f, sizeof *ds->mean);
        ds->std = calloc((size_t)f, sizeof *ds->std);
        sd = malloc((size_t)f * sizeof *sd);
        mu = malloc((size_t)f * sizeof *mu);
        if (!ds->mean || !ds->std || !sd || !mu) error_set(err, ERR_NOMEM, "out of memory");
        if ((rc = log_agree(comm, err)) != 0) goto done;
        /* straight from the sorted records (train rows first, then test):
         * no contiguous double copy of the data set */
        if ((rc = train_stats(comm, nranks, ds, recs, rowbytes, ds->mean, ds->std, err)) != 0) goto done;
        /* x = (v - mean) / sd, rounded once to float; a constant column
         * (sd = 0) is centred, not divided by zero */
        for (int j = 0; j < f; j++) {
            sd[j] = cfg->standardize ? (ds->std[j] > 0.0 ? ds->std[j] : 1.0) : 1.0;
            mu[j] = cfg->standardize ? ds->mean[j] : 0.0;
        }
        for (int pass = 0; pass < 2; pass++) {
            const int64_t first = pass == 0 ? 0 : ntr_local;
            dataset_part *p = pass == 0 ? &ds->train : &ds->test;
            for (int64_t i = 0; i < p->n; i++) {
                const double *restrict xi = rec_x(recs, rowbytes, first + i);
                float *restrict xo = p->x + (size_t)i * (size_t)f;
                for (int j = 0; j < f; j++) xo[j] = (float)((xi[j] - mu[j]) / sd[j]);
            }
        }
    }
    *out = ds;
    ds = NULL;
done:
    rc = log_agree(comm, err);
    if (rc != 0 && *out != NULL) { dataset_free(*out); *out = NULL; }
    rows_free(&in);
    features_free(&ft);
    dataset_free(ds);
    free(recs); free(counts); free(counts_all); free(sd); free(mu);
    return rc;
}
