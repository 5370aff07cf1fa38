/** \file mpi_dataset.c  MPI tests of dataset_load (dataset.h) on small CSV
 *  files, checked against a serial reference computed in this file.
 *
 *  Rank 0 writes the CSV files into a fresh directory under /tmp (its name
 *  is broadcast; it is removed in the group teardown).  The files have
 *  numeric columns (integers, decimals, scientific notation, blanks around
 *  a number, a quoted number, a constant column), a text column (one-hot:
 *  a quoted value with an embedded delimiter, one with escaped quotes,
 *  UTF-8 and upper-case values), a 0/1 label in the middle of the row, a
 *  UTF-8 BOM, CRLF ends on every third line, blank lines (in the middle and
 *  at the end) and, in one variant, no newline after the last row.
 *
 *  Every rank then reads the whole file serially with its own small reader
 *  (independent of csv.c) and derives the expected result: row indices,
 *  split, shards, vocabulary, train mean/std summed in the module's order
 *  (per shard in gid order, then shards 0..V-1), standardised floats.  The
 *  distributed result must match it bit for bit whatever the rank count,
 *  and match a load of the same file on MPI_COMM_SELF (one rank).
 *
 *  Bad input: a non-numeric value in a numeric column near the end of the
 *  file (read by the last rank only when P > 1) must give ERR_INPUT with
 *  "file:line:column" on every rank; with two bad values the earlier one
 *  (in file order) is reported.
 *
 *  Checks never longjmp out of a test between collectives (mpi_check.h). */
#include <mpi.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "riskgrid/config.h"
#include "riskgrid/dataset.h"
#include "riskgrid/error.h"
#include "riskgrid/log.h"
#include "riskgrid/rng.h"

#include "mpi_check.h"

/* ---- the CSV files ------------------------------------------------------- */

#define N_ROWS 240
#define V_SHARDS 8
#define SEED 20240607ULL
#define BAD_EARLY_ROW 130          /* bad_two.csv: income (column 3) */
#define BAD_LATE_ROW (N_ROWS - 1)  /* bad_two.csv: age (column 1), the last row */
#define BAD_END_ROW (N_ROWS - 3)   /* bad_end.csv: income (column 3) */

enum { VAR_TRAILING_BLANK = 0, VAR_NO_FINAL_NEWLINE = 1 };

/* Expected feature names: numeric columns in header order, the text
 * column one-hot with its values sorted bytewise; the label is not a
 * feature. */
static const char *const k_names[] = {
    "age",
    "region=North", "region=Z\xc3\xbcrich", "region=east", "region=north, east",
    "region=the \"best\"", "region=west",
    "income", "const",
};
#define N_NAMES ((int)(sizeof k_names / sizeof k_names[0]))

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *np = realloc(b->p, nc);
        if (np == NULL) abort();
        b->p = np;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

typedef struct gen_info {
    long line[N_ROWS];   /* 1-based file line of each data row */
    size_t off[N_ROWS];  /* byte offset of each data row */
    size_t data_start;   /* byte after the header line */
} gen_info;

static uint64_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* The text of a test CSV.  bad_rows/bad_cols/bad_text: values replaced by
 * non-numbers (n_bad of them).  Deterministic: every rank can build it to
 * learn line numbers and offsets; only rank 0 writes it. */
static char *make_csv(int variant, const int *bad_rows, const int *bad_cols, const char *const *bad_text,
                      int n_bad, size_t *len, gen_info *info)
{
    static const char *const regions[] = {
        "east", "west", "North", "\"north, east\"", "Z\xc3\xbcrich", "\"the \"\"best\"\"\"",
    };
    buf b = {NULL, 0, 0};
    uint64_t st = 12345;
    long line = 1;

    buf_add(&b, "\xef\xbb\xbf" "age,region,income,default,const\r\n");
    info->data_start = b.len;
    line++;
    for (int i = 0; i < N_ROWS; i++) {
        char age[32], income[48];
        int a = 18 + (int)(lcg_next(&st) % 73);
        const char *region = regions[lcg_next(&st) % 6];
        double inc = (double)(lcg_next(&st) % 20000000) / 100.0 - 10000.0;
        int y = (int)(lcg_next(&st) % 100) < 30 + (a > 60 ? 25 : 0);
        const char *eol = i % 3 == 1 ? "\r\n" : "\n";

        if (i % 17 == 0) snprintf(age, sizeof age, "\"%d\"", a);      /* quoted number */
        else if (i % 23 == 0) snprintf(age, sizeof age, " %d\t", a);  /* blanks around */
        else snprintf(age, sizeof age, "%d", a);
        if (i % 11 == 0) snprintf(income, sizeof income, "%.4e", inc); /* scientific */
        else snprintf(income, sizeof income, "%.2f", inc);
        for (int k = 0; k < n_bad; k++)
            if (bad_rows[k] == i) {
                if (bad_cols[k] == 1) snprintf(age, sizeof age, "%s", bad_text[k]);
                else snprintf(income, sizeof income, "%s", bad_text[k]);
            }
        if (variant == VAR_NO_FINAL_NEWLINE && (i == 60 || i == 150)) {
            buf_add(&b, "%s", i == 60 ? "\n" : "\r\n"); /* blank lines in the middle */
            line++;
        }
        if (variant == VAR_NO_FINAL_NEWLINE && i == N_ROWS - 1) eol = "";
        info->off[i] = b.len;
        info->line[i] = line++;
        buf_add(&b, "%s,%s,%s,%d,3.5%s", age, region, income, y, eol);
    }
    if (variant == VAR_TRAILING_BLANK) buf_add(&b, "\n"); /* a blank line at the end */
    *len = b.len;
    return b.p;
}

/* ---- the temporary directory --------------------------------------------- */

enum { F_GOOD_A, F_GOOD_B, F_BAD_END, F_BAD_TWO, N_FILES };
static const char *const k_file_names[N_FILES] = {"good_a.csv", "good_b.csv", "bad_end.csv", "bad_two.csv"};

static char g_dir[256];
static char g_path[N_FILES][320];
static gen_info g_info[N_FILES];

static char *make_file_text(int which, size_t *len, gen_info *info)
{
    static const int end_rows[1] = {BAD_END_ROW}, end_cols[1] = {3};
    static const char *const end_text[1] = {"\"12,5x\""}; /* quoted: one field */
    static const int two_rows[2] = {BAD_LATE_ROW, BAD_EARLY_ROW}, two_cols[2] = {1, 3};
    static const char *const two_text[2] = {"x12", "n/a"};
    switch (which) {
    case F_GOOD_A: return make_csv(VAR_TRAILING_BLANK, NULL, NULL, NULL, 0, len, info);
    case F_GOOD_B: return make_csv(VAR_NO_FINAL_NEWLINE, NULL, NULL, NULL, 0, len, info);
    /* the quoted "12,5x" also checks that the message quotes the unquoted text */
    case F_BAD_END: return make_csv(VAR_NO_FINAL_NEWLINE, end_rows, end_cols, end_text, 1, len, info);
    default: return make_csv(VAR_TRAILING_BLANK, two_rows, two_cols, two_text, 2, len, info);
    }
}

static int group_setup(void **state)
{
    int ok = 1;
    (void)state;
    memset(g_dir, 0, sizeof g_dir);
    if (g_rank == 0) {
        snprintf(g_dir, sizeof g_dir, "/tmp/rg_mpi_dataset.XXXXXX");
        if (mkdtemp(g_dir) == NULL) { perror("mkdtemp"); ok = 0; g_dir[0] = '\0'; }
    }
    MPI_Bcast(g_dir, (int)sizeof g_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    for (int k = 0; k < N_FILES; k++) {
        size_t len = 0;
        char *text = make_file_text(k, &len, &g_info[k]);
        snprintf(g_path[k], sizeof g_path[k], "%s/%s", g_dir, k_file_names[k]);
        if (g_rank == 0 && ok) {
            FILE *f = fopen(g_path[k], "wb");
            if (f == NULL || fwrite(text, 1, len, f) != len) { perror(g_path[k]); ok = 0; }
            if (f != NULL && fclose(f) != 0) { perror(g_path[k]); ok = 0; }
        }
        free(text);
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!ok && g_rank == 0 && g_dir[0] != '\0') {
        for (int k = 0; k < N_FILES; k++) unlink(g_path[k]);
        rmdir(g_dir);
        g_dir[0] = '\0';
    }
    return ok ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    MPI_Barrier(MPI_COMM_WORLD); /* nobody reads the files any more */
    if (g_rank == 0 && g_dir[0] != '\0') {
        for (int k = 0; k < N_FILES; k++) unlink(g_path[k]);
        if (rmdir(g_dir) != 0) perror(g_dir);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return 0;
}

static config *make_config(const char *data_path)
{
    char ini[1024], job[320];
    config *cfg = NULL;
    rg_error err;
    error_clear(&err);
    snprintf(job, sizeof job, "%s/job.ini", g_dir);
    snprintf(ini, sizeof ini,
             "[data]\npath = %s\n\n[train]\nvirtual_shards = %d\nbatch_size = 8\nseed = %llu\n",
             data_path, V_SHARDS, (unsigned long long)SEED);
    if (config_parse(job, ini, NULL, 0, &cfg, &err) != 0) {
        CHECK(0, "config_parse: %s", err.msg);
        return NULL;
    }
    CHECK(strcmp(cfg->data_path, data_path) == 0, "data_path '%s'", cfg->data_path);
    CHECK(cfg->data_format == CONFIG_FORMAT_CSV, "format %d", cfg->data_format);
    CHECK(cfg->virtual_shards == V_SHARDS && cfg->batch_size == 8 && cfg->seed == SEED, "train settings");
    return cfg;
}

/* ---- the serial reference ------------------------------------------------ */

typedef struct ref {
    int ncols;
    char **cols;         /* header names */
    int64_t n;           /* data rows */
    char **field;        /* n * ncols field texts (unquoted) */
    int label;           /* label column */
    int *kind;           /* per column: 0 label, 1 numeric, 2 text */
    char ***vocab;       /* per text column: sorted distinct values */
    int *vocab_n;
    int f;               /* features */
    char **names;        /* feature names */
    double *x;           /* n * f raw values */
    int32_t *y;
    int *is_test, *shard;
    int64_t n_train, n_test, n_pos;
    double *mean, *std;  /* in the module's summation order */
    long double *mean_l, *std_l;
    float *xs;           /* n * f standardised */
} ref;

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) abort();
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Split one line on ',' with "..." quoting ("" = one quote).  Returns the
 * number of fields written into out (at most max). */
static int split_line(const char *s, size_t n, char **out, int max)
{
    int nf = 0;
    size_t i = 0;
    for (;;) {
        char *fld = malloc(n + 1);
        size_t o = 0;
        if (fld == NULL) abort();
        if (i < n && s[i] == '"') {
            i++;
            while (i < n) {
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') { fld[o++] = '"'; i += 2; continue; }
                    i++;
                    break;
                }
                fld[o++] = s[i++];
            }
        } else {
            while (i < n && s[i] != ',') fld[o++] = s[i++];
        }
        fld[o] = '\0';
        if (nf < max) out[nf++] = fld;
        else free(fld);
        if (i >= n) break;
        i++; /* the ',' */
    }
    return nf;
}

/* 1 and *v if the whole text (blanks around allowed) is a number. */
static int parse_num(const char *t, double *v)
{
    char *end = NULL;
    const char *e;
    while (*t == ' ' || *t == '\t') t++;
    e = t + strlen(t);
    while (e > t && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (e == t) return 0;
    *v = strtod(t, &end);
    return end == e;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void ref_free(ref *r)
{
    if (r->field != NULL)
        for (int64_t i = 0; i < r->n * r->ncols; i++) free(r->field[i]);
    for (int c = 0; c < r->ncols; c++) {
        free(r->cols[c]);
        if (r->vocab != NULL) free(r->vocab[c]);
    }
    if (r->names != NULL)
        for (int j = 0; j < r->f; j++) free(r->names[j]);
    free(r->cols); free(r->field); free(r->kind); free(r->vocab); free(r->vocab_n); free(r->names);
    free(r->x); free(r->y); free(r->is_test); free(r->shard); free(r->mean); free(r->std);
    free(r->mean_l); free(r->std_l); free(r->xs);
    memset(r, 0, sizeof *r);
}

/* Read the file serially and derive what dataset_load must produce. */
static int ref_build(const char *path, const config *cfg, ref *r)
{
    FILE *fp = fopen(path, "rb");
    char *text = NULL;
    long sz;
    size_t pos = 0, len;
    int64_t cap = 0;
    int V = cfg->virtual_shards;

    memset(r, 0, sizeof *r);
    if (fp == NULL) return -1;
    fseek(fp, 0, SEEK_END);
    sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    text = malloc((size_t)sz + 1);
    if (text == NULL || fread(text, 1, (size_t)sz, fp) != (size_t)sz) { fclose(fp); free(text); return -1; }
    fclose(fp);
    len = (size_t)sz;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) pos = 3;

    /* lines */
    for (int first = 1; pos < len;) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && s[n - 1] == '\r') n--;
        if (first) {
            char *tmp[64];
            r->ncols = split_line(s, n, tmp, 64);
            r->cols = malloc((size_t)r->ncols * sizeof *r->cols);
            if (r->cols == NULL) abort();
            memcpy(r->cols, tmp, (size_t)r->ncols * sizeof *tmp);
            first = 0;
            continue;
        }
        if (n == 0) continue; /* blank line */
        if (r->n == cap) {
            cap = cap ? cap * 2 : 256;
            r->field = realloc(r->field, (size_t)(cap * r->ncols) * sizeof *r->field);
            if (r->field == NULL) abort();
        }
        if (split_line(s, n, r->field + r->n * r->ncols, r->ncols) != r->ncols) { free(text); return -1; }
        r->n++;
    }
    free(text);

    /* column kinds, vocabularies, features */
    r->label = -1;
    r->kind = calloc((size_t)r->ncols, sizeof *r->kind);
    r->vocab = calloc((size_t)r->ncols, sizeof *r->vocab);
    r->vocab_n = calloc((size_t)r->ncols, sizeof *r->vocab_n);
    if (!r->kind || !r->vocab || !r->vocab_n) abort();
    for (int c = 0; c < r->ncols; c++) {
        int any_num = 0;
        double v;
        if (strcmp(r->cols[c], cfg->label) == 0) { r->label = c; r->kind[c] = 0; continue; }
        for (int64_t i = 0; i < r->n && !any_num; i++) any_num = parse_num(r->field[i * r->ncols + c], &v);
        r->kind[c] = any_num ? 1 : 2;
        if (r->kind[c] == 2) {
            char **vals = malloc((size_t)r->n * sizeof *vals);
            int u = 0;
            if (vals == NULL) abort();
            for (int64_t i = 0; i < r->n; i++) vals[i] = r->field[i * r->ncols + c];
            qsort(vals, (size_t)r->n, sizeof *vals, cmp_cstr);
            for (int64_t i = 0; i < r->n; i++)
                if (u == 0 || strcmp(vals[u - 1], vals[i]) != 0) vals[u++] = vals[i];
            r->vocab[c] = vals;
            r->vocab_n[c] = u;
            r->f += u;
        } else {
            r->f += 1;
        }
    }
    if (r->label < 0) return -1;
    r->names = calloc((size_t)r->f, sizeof *r->names);
    r->x = calloc((size_t)(r->n * r->f), sizeof *r->x);
    r->y = calloc((size_t)r->n, sizeof *r->y);
    r->is_test = calloc((size_t)r->n, sizeof *r->is_test);
    r->shard = calloc((size_t)r->n, sizeof *r->shard);
    if (!r->names || !r->x || !r->y || !r->is_test || !r->shard) abort();
    for (int c = 0, j = 0; c < r->ncols; c++) {
        if (r->kind[c] == 1) {
            r->names[j++] = dupn(r->cols[c], strlen(r->cols[c]));
        } else if (r->kind[c] == 2) {
            for (int k = 0; k < r->vocab_n[c]; k++) {
                size_t l = strlen(r->cols[c]) + strlen(r->vocab[c][k]) + 2;
                r->names[j] = malloc(l);
                if (r->names[j] == NULL) abort();
                snprintf(r->names[j++], l, "%s=%s", r->cols[c], r->vocab[c][k]);
            }
        }
    }

    /* values, labels, split, shards */
    for (int64_t g = 0; g < r->n; g++) {
        double *x = r->x + g * r->f;
        for (int c = 0, j = 0; c < r->ncols; c++) {
            const char *t = r->field[g * r->ncols + c];
            double v = 0.0;
            if (r->kind[c] == 0) {
                if (!parse_num(t, &v)) return -1;
                r->y[g] = (int32_t)v;
                r->n_pos += r->y[g] == 1;
            } else if (r->kind[c] == 1) {
                if (!parse_num(t, &v)) return -1; /* a bad file: no reference */
                x[j++] = v;
            } else {
                for (int k = 0; k < r->vocab_n[c]; k++) x[j + k] = strcmp(r->vocab[c][k], t) == 0 ? 1.0 : 0.0;
                j += r->vocab_n[c];
            }
        }
        r->is_test[g] = rng_unit(rng_hash3(cfg->seed, RNG_STREAM_SPLIT, (uint64_t)g)) < cfg->test_fraction;
        r->shard[g] = (int)(rng_hash3(cfg->seed, RNG_STREAM_SHARD, (uint64_t)g) % (uint64_t)V);
        if (r->is_test[g]) r->n_test++;
        else r->n_train++;
    }

    /* train statistics: per shard in gid order, then shards 0..V-1 */
    {
        int f = r->f;
        double *loc = calloc((size_t)V * (size_t)f, sizeof *loc);
        r->mean = calloc((size_t)f, sizeof *r->mean);
        r->std = calloc((size_t)f, sizeof *r->std);
        r->mean_l = calloc((size_t)f, sizeof *r->mean_l);
        r->std_l = calloc((size_t)f, sizeof *r->std_l);
        r->xs = calloc((size_t)(r->n * f), sizeof *r->xs);
        if (!loc || !r->mean || !r->std || !r->mean_l || !r->std_l || !r->xs) abort();
        for (int pass = 0; pass < 2; pass++) {
            memset(loc, 0, (size_t)V * (size_t)f * sizeof *loc);
            for (int64_t g = 0; g < r->n; g++) {
                if (r->is_test[g]) continue;
                for (int j = 0; j < f; j++) {
                    double v = r->x[g * f + j];
                    loc[r->shard[g] * f + j] += pass == 0 ? v : (v - r->mean[j]) * (v - r->mean[j]);
                }
            }
            for (int j = 0; j < f; j++) {
                double acc = 0.0;
                for (int s = 0; s < V; s++) acc += loc[s * f + j];
                if (pass == 0) r->mean[j] = acc / (double)r->n_train;
                else r->std[j] = sqrt(acc / (double)r->n_train);
            }
        }
        free(loc);
        /* long double reference, in any order */
        for (int j = 0; j < f; j++) {
            long double s = 0.0L, q = 0.0L;
            for (int64_t g = 0; g < r->n; g++) if (!r->is_test[g]) s += (long double)r->x[g * f + j];
            r->mean_l[j] = s / (long double)r->n_train;
            for (int64_t g = 0; g < r->n; g++)
                if (!r->is_test[g]) {
                    long double d = (long double)r->x[g * f + j] - r->mean_l[j];
                    q += d * d;
                }
            r->std_l[j] = sqrtl(q / (long double)r->n_train);
        }
        for (int64_t g = 0; g < r->n; g++)
            for (int j = 0; j < f; j++) {
                double sd = r->std[j] > 0.0 ? r->std[j] : 1.0;
                r->xs[g * f + j] = (float)((r->x[g * f + j] - r->mean[j]) / sd);
            }
    }
    return 0;
}

/* ---- checks -------------------------------------------------------------- */

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static uint32_t fbits_of(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Digest of one row; summed (mod 2^64) over rows it is order-independent. */
static uint64_t row_digest(int64_t gid, const float *x, int f, int32_t y, int is_test)
{
    const unsigned char *p = (const unsigned char *)x;
    uint64_t h = 0xcbf29ce484222325ULL ^ rng_mix64((uint64_t)gid);
    for (size_t i = 0; i < (size_t)f * sizeof *x; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return rng_mix64(h ^ rng_mix64(((uint64_t)(uint32_t)y << 1) | (uint64_t)is_test));
}

/* Local checks of one part (train or test): shards, order, values. */
static void check_part(const dataset *ds, const dataset_part *p, int is_test, const ref *r, uint64_t *digest)
{
    int f = ds->n_features, V = ds->virtual_shards, nls = ds->n_local_shards;
    const char *what = is_test ? "test" : "train";
    CHECK(p->shard_off[0] == 0, "%s: shard_off[0] = %lld", what, (long long)p->shard_off[0]);
    CHECK(p->shard_off[nls] == p->n, "%s: shard_off[%d] = %lld, n = %lld", what, nls, (long long)p->shard_off[nls], (long long)p->n);
    for (int s = 0; s < nls; s++) {
        int shard = ds->first_shard + s;
        CHECK(p->shard_off[s] <= p->shard_off[s + 1], "%s: shard_off not monotone at %d", what, s);
        for (int64_t i = p->shard_off[s]; i < p->shard_off[s + 1] && i < p->n; i++) {
            int64_t g = p->gid[i];
            const float *x = p->x + i * f;
            int bad_x = 0;
            if (g < 0 || g >= r->n) { CHECK(0, "%s row %lld: gid %lld out of range", what, (long long)i, (long long)g); continue; }
            /* (c) the shard is a function of the seed and the gid */
            CHECK((int)(rng_hash3(SEED, RNG_STREAM_SHARD, (uint64_t)g) % (uint64_t)V) == shard,
                  "%s gid %lld in shard %d, hash says %d", what, (long long)g, shard,
                  (int)(rng_hash3(SEED, RNG_STREAM_SHARD, (uint64_t)g) % (uint64_t)V));
            /* (c) ascending gids within a shard */
            if (i > p->shard_off[s])
                CHECK(p->gid[i - 1] < g, "%s shard %d: gid %lld after %lld", what, shard, (long long)g, (long long)p->gid[i - 1]);
            CHECK(r->is_test[g] == is_test, "gid %lld is in the %s part, the split says %s", (long long)g, what,
                  r->is_test[g] ? "test" : "train");
            CHECK(p->y[i] == r->y[g], "gid %lld: label %d, file says %d", (long long)g, (int)p->y[i], (int)r->y[g]);
            for (int j = 0; j < f; j++)
                if (fbits_of(x[j]) != fbits_of(r->xs[g * f + j])) bad_x++;
            CHECK(bad_x == 0, "gid %lld: %d standardised values differ (first: %.9g vs %.9g)", (long long)g, bad_x,
                  (double)x[0], (double)r->xs[g * f]);
            *digest += row_digest(g, x, f, p->y[i], is_test);
        }
    }
}

static void check_good_file(int which)
{
    const char *path = g_path[which];
    config *cfg = make_config(path);
    ref r;
    dataset *ds = NULL;
    rg_error err;
    int rc, ref_rc, rcs[2], rc_lo = 0, rc_hi = 0;

    memset(&r, 0, sizeof r);
    if (cfg == NULL) { agree_checks(); return; } /* parsing is not collective: the same on every rank */
    ref_rc = ref_build(path, cfg, &r);
    CHECK(ref_rc == 0, "serial reference failed on %s", path);
    /* the reference itself: what the file was written to contain */
    CHECK(r.n == N_ROWS, "reference has %lld rows", (long long)r.n);
    CHECK(r.f == N_NAMES, "reference has %d features", r.f);
    for (int j = 0; j < r.f && j < N_NAMES; j++)
        CHECK(strcmp(r.names[j], k_names[j]) == 0, "reference feature %d '%s'", j, r.names[j]);
    CHECK(r.n_test > 0 && r.n_train > 0, "reference split %lld/%lld", (long long)r.n_train, (long long)r.n_test);

    error_clear(&err);
    rc = dataset_load(MPI_COMM_WORLD, cfg, &ds, &err);
    CHECK(rc == 0, "dataset_load(%s): %d %s", path, rc, err.msg);
    rcs[0] = rc; rcs[1] = -rc;
    MPI_Allreduce(MPI_IN_PLACE, rcs, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    rc_hi = rcs[0]; rc_lo = -rcs[1];
    CHECK(rc_lo == rc_hi, "ranks disagree on the status: %d..%d", rc_lo, rc_hi);
    if (rc_lo != 0 || rc_hi != 0 || ref_rc != 0 || ds == NULL) goto done; /* same branch on every rank */

    /* (a) counts */
    CHECK(ds->n_rows == N_ROWS, "n_rows %lld", (long long)ds->n_rows);
    CHECK(ds->n_train + ds->n_test == N_ROWS, "n_train %lld + n_test %lld", (long long)ds->n_train, (long long)ds->n_test);
    CHECK(ds->n_train == r.n_train && ds->n_test == r.n_test, "split %lld/%lld, expected %lld/%lld",
          (long long)ds->n_train, (long long)ds->n_test, (long long)r.n_train, (long long)r.n_test);
    CHECK(ds->n_classes == 2, "n_classes %d", ds->n_classes);
    CHECK(bits_of(ds->positive_rate) == bits_of((double)r.n_pos / (double)r.n), "positive_rate %.17g, expected %.17g",
          ds->positive_rate, (double)r.n_pos / (double)r.n);
    CHECK(ds->virtual_shards == V_SHARDS, "V %d", ds->virtual_shards);
    CHECK(ds->first_shard == dataset_first_shard(g_rank, g_size, V_SHARDS), "first_shard %d", ds->first_shard);
    CHECK(ds->n_local_shards == dataset_first_shard(g_rank + 1, g_size, V_SHARDS) - ds->first_shard, "n_local_shards %d",
          ds->n_local_shards);
    CHECK(ds->source != NULL && strcmp(ds->source, path) == 0, "source '%s'", ds->source ? ds->source : "(null)");

    /* (d) feature names: numeric columns, then one-hot "col=value" sorted */
    CHECK(ds->n_features == N_NAMES, "n_features %d, expected %d", ds->n_features, N_NAMES);
    for (int j = 0; j < ds->n_features && j < N_NAMES; j++)
        CHECK(strcmp(ds->feature_names[j], k_names[j]) == 0, "feature %d is '%s', expected '%s'", j, ds->feature_names[j], k_names[j]);
    for (int j = 2; j <= 6 && j < ds->n_features; j++)
        CHECK(strcmp(ds->feature_names[j - 1], ds->feature_names[j]) < 0, "one-hot names not sorted at %d", j);

    if (ds->n_features != r.f) goto done; /* the value checks below would read out of bounds */

    /* (e) train mean/std: the bits of the module's order, close to the long
     * double values, and the same bits on every rank */
    {
        int f = ds->n_features;
        uint64_t *lo = malloc((size_t)2 * (size_t)f * sizeof *lo), *hi = malloc((size_t)2 * (size_t)f * sizeof *hi);
        if (lo == NULL || hi == NULL) abort();
        for (int j = 0; j < f; j++) {
            long double tol = 1e-12L * (fabsl(r.mean_l[j]) + r.std_l[j]);
            CHECK(bits_of(ds->mean[j]) == bits_of(r.mean[j]), "mean[%d] %.17g, expected %.17g", j, ds->mean[j], r.mean[j]);
            CHECK(bits_of(ds->std[j]) == bits_of(r.std[j]), "std[%d] %.17g, expected %.17g", j, ds->std[j], r.std[j]);
            CHECK(fabsl((long double)ds->mean[j] - r.mean_l[j]) <= tol, "mean[%d] %.17g, long double %.20Lg", j, ds->mean[j], r.mean_l[j]);
            CHECK(fabsl((long double)ds->std[j] - r.std_l[j]) <= tol, "std[%d] %.17g, long double %.20Lg", j, ds->std[j], r.std_l[j]);
            lo[j] = hi[j] = bits_of(ds->mean[j]);
            lo[f + j] = hi[f + j] = bits_of(ds->std[j]);
        }
        /* the constant column: std 0, values centred to 0 */
        CHECK(ds->std[f - 1] == 0.0 && ds->mean[f - 1] == 3.5, "const column mean %g std %g", ds->mean[f - 1], ds->std[f - 1]);
        MPI_Allreduce(MPI_IN_PLACE, lo, 2 * f, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, hi, 2 * f, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
        for (int j = 0; j < 2 * f; j++)
            CHECK(lo[j] == hi[j], "%s[%d] differs between ranks", j < f ? "mean" : "std", j % f);
        free(lo);
        free(hi);
    }

    /* (b), (c), (f): per-row checks, gids over all ranks, digest */
    {
        int64_t nloc = ds->train.n + ds->test.n, total = 0;
        int *cnt = malloc((size_t)g_size * sizeof *cnt), *displ = malloc((size_t)g_size * sizeof *displ);
        int64_t *mine = malloc((size_t)(nloc > 0 ? nloc : 1) * sizeof *mine), *all = NULL;
        int *seen = calloc((size_t)N_ROWS, sizeof *seen);
        int ncnt = (int)nloc;
        uint64_t digest = 0, digest_all = 0, digest_ref = 0;
        char fpr[17];
        if (!cnt || !displ || !mine || !seen) abort();
        check_part(ds, &ds->train, 0, &r, &digest);
        check_part(ds, &ds->test, 1, &r, &digest);
        memcpy(mine, ds->train.gid, (size_t)ds->train.n * sizeof *mine);
        memcpy(mine + ds->train.n, ds->test.gid, (size_t)ds->test.n * sizeof *mine);
        MPI_Allgather(&ncnt, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD);
        for (int q = 0; q < g_size; q++) { displ[q] = (int)total; total += cnt[q]; }
        CHECK(total == N_ROWS, "%lld rows over all ranks, expected %d", (long long)total, N_ROWS);
        all = malloc((size_t)(total > 0 ? total : 1) * sizeof *all);
        if (all == NULL) abort();
        MPI_Allgatherv(mine, ncnt, MPI_INT64_T, all, cnt, displ, MPI_INT64_T, MPI_COMM_WORLD);
        for (int64_t i = 0; i < total; i++) {
            if (all[i] < 0 || all[i] >= N_ROWS) { CHECK(0, "gid %lld out of range", (long long)all[i]); continue; }
            seen[all[i]]++;
        }
        for (int g = 0; g < N_ROWS; g++) CHECK(seen[g] == 1, "gid %d held %d times over the ranks", g, seen[g]);

        MPI_Allreduce(&digest, &digest_all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        for (int64_t g = 0; g < r.n; g++) digest_ref += row_digest(g, r.xs + g * r.f, r.f, r.y[g], r.is_test[g]);
        CHECK(digest_all == digest_ref, "row digest %016llx, serial %016llx", (unsigned long long)digest_all,
              (unsigned long long)digest_ref);

        /* the fingerprint: 16 hex digits, the same on every rank */
        memcpy(fpr, ds->fingerprint, sizeof fpr);
        MPI_Bcast(fpr, (int)sizeof fpr, MPI_CHAR, 0, MPI_COMM_WORLD);
        CHECK(strlen(ds->fingerprint) == 16 && strspn(ds->fingerprint, "0123456789abcdef") == 16, "fingerprint '%s'", ds->fingerprint);
        CHECK(memcmp(fpr, ds->fingerprint, sizeof fpr) == 0, "fingerprint %s, rank 0 has %s", ds->fingerprint, fpr);
        free(cnt); free(displ); free(mine); free(all); free(seen);
    }

    /* P-independence, directly: the same load on MPI_COMM_SELF (one rank
     * reading the whole file) gives the same fingerprint, statistics and,
     * for every row held here, the same part, label and float bits */
    {
        dataset *one = NULL;
        rg_error e1;
        int f = ds->n_features;
        error_clear(&e1);
        rc = dataset_load(MPI_COMM_SELF, cfg, &one, &e1);
        CHECK(rc == 0 && one != NULL, "dataset_load(MPI_COMM_SELF): %d %s", rc, e1.msg);
        if (rc == 0 && one != NULL && one->n_features == f && one->n_rows == N_ROWS) {
            const float **xs = calloc((size_t)N_ROWS, sizeof *xs);
            int32_t *ys = calloc((size_t)N_ROWS, sizeof *ys);
            int *part = calloc((size_t)N_ROWS, sizeof *part);
            if (!xs || !ys || !part) abort();
            CHECK(strcmp(one->fingerprint, ds->fingerprint) == 0, "fingerprint %s, %s on one rank", ds->fingerprint, one->fingerprint);
            CHECK(memcmp(one->mean, ds->mean, (size_t)f * sizeof *ds->mean) == 0, "mean differs from the one-rank load");
            CHECK(memcmp(one->std, ds->std, (size_t)f * sizeof *ds->std) == 0, "std differs from the one-rank load");
            CHECK(one->n_local_shards == V_SHARDS && one->first_shard == 0, "one rank holds shards %d+%d", one->first_shard, one->n_local_shards);
            for (int k = 0; k < 2; k++) {
                const dataset_part *p = k ? &one->test : &one->train;
                for (int64_t i = 0; i < p->n; i++)
                    if (p->gid[i] >= 0 && p->gid[i] < N_ROWS) {
                        xs[p->gid[i]] = p->x + i * f;
                        ys[p->gid[i]] = p->y[i];
                        part[p->gid[i]] = k + 1;
                    }
            }
            for (int k = 0; k < 2; k++) {
                const dataset_part *p = k ? &ds->test : &ds->train;
                for (int64_t i = 0; i < p->n; i++) {
                    int64_t g = p->gid[i];
                    if (g < 0 || g >= N_ROWS) continue; /* reported above */
                    CHECK(part[g] == k + 1, "gid %lld: part %d here, %d on one rank", (long long)g, k + 1, part[g]);
                    if (part[g] != k + 1) continue;
                    CHECK(ys[g] == p->y[i], "gid %lld: label differs from the one-rank load", (long long)g);
                    CHECK(memcmp(xs[g], p->x + i * f, (size_t)f * sizeof(float)) == 0, "gid %lld: x differs from the one-rank load", (long long)g);
                }
            }
            free(xs); free(ys); free(part);
        }
        /* dataset_train_all (collective, so outside the branch above):
         * every rank gets the one-rank training part, shard offsets, rows
         * and labels, byte for byte */
        {
            dataset_part all;
            rg_error e2;
            error_clear(&e2);
            rc = dataset_train_all(MPI_COMM_WORLD, ds, &all, &e2);
            CHECK(rc == 0, "dataset_train_all: %d %s", rc, e2.msg);
            if (rc == 0 && one != NULL && one->n_features == f) {
                CHECK(all.n == one->train.n && all.n == ds->n_train, "dataset_train_all: %lld rows, one rank %lld",
                      (long long)all.n, (long long)one->train.n);
                CHECK(all.gid == NULL, "dataset_train_all: gid set");
                if (all.n == one->train.n) {
                    CHECK(memcmp(all.shard_off, one->train.shard_off, (V_SHARDS + 1) * sizeof *all.shard_off) == 0,
                          "dataset_train_all: shard offsets differ from the one-rank load");
                    CHECK(memcmp(all.x, one->train.x, (size_t)all.n * (size_t)f * sizeof *all.x) == 0,
                          "dataset_train_all: rows differ from the one-rank load");
                    CHECK(memcmp(all.y, one->train.y, (size_t)all.n * sizeof *all.y) == 0,
                          "dataset_train_all: labels differ from the one-rank load");
                }
            }
            dataset_part_free(&all);
            dataset_part_free(NULL);
        }
        dataset_free(one);
    }
done:
    dataset_free(ds);
    ref_free(&r);
    config_free(cfg);
    agree_checks();
}

static void test_load_trailing_blank_line(void **state)
{
    (void)state;
    check_good_file(F_GOOD_A);
}

static void test_load_no_final_newline(void **state)
{
    (void)state;
    check_good_file(F_GOOD_B);
}

/* Expect ERR_INPUT naming path:line:col (and the column and text) on every
 * rank, with the same message everywhere. */
static void check_bad_file(int which, long line, int col, const char *colname, const char *text)
{
    const char *path = g_path[which];
    config *cfg = make_config(path);
    dataset *ds = (dataset *)&ds; /* must be reset to NULL */
    rg_error err;
    char want[512], msg0[ERROR_MSG_MAX];
    int rc;
    if (cfg == NULL) { agree_checks(); return; }
    error_clear(&err);
    rc = dataset_load(MPI_COMM_WORLD, cfg, &ds, &err);
    CHECK(rc == ERR_INPUT, "dataset_load returned %d (%s)", rc, err.msg);
    CHECK(err.code == ERR_INPUT, "err.code %d", err.code);
    CHECK(ds == NULL, "*out not NULL on failure");
    if (ds != NULL && ds != (dataset *)&ds) dataset_free(ds);
    snprintf(want, sizeof want, "%s:%ld:%d:", path, line, col);
    CHECK(strstr(err.msg, want) != NULL, "message \"%s\" does not name \"%s\"", err.msg, want);
    snprintf(want, sizeof want, "'%s'", colname);
    CHECK(strstr(err.msg, want) != NULL, "message \"%s\" does not name column %s", err.msg, want);
    snprintf(want, sizeof want, "'%s'", text);
    CHECK(strstr(err.msg, want) != NULL, "message \"%s\" does not quote %s", err.msg, want);
    memcpy(msg0, err.msg, sizeof msg0);
    MPI_Bcast(msg0, (int)sizeof msg0, MPI_CHAR, 0, MPI_COMM_WORLD);
    CHECK(strcmp(msg0, err.msg) == 0, "message differs from rank 0's: \"%s\" vs \"%s\"", err.msg, msg0);
    config_free(cfg);
    agree_checks();
}

/* Offset of the first byte the last rank reads (before aligning to a line
 * start), as dataset.c splits the data region. */
static size_t last_rank_lo(int which)
{
    size_t size = 0;
    char *t = make_file_text(which, &size, &g_info[which]);
    size_t ds = g_info[which].data_start, span = size - ds;
    free(t);
    return ds + (size_t)(((int64_t)span * (g_size - 1)) / g_size);
}

static void test_bad_value_near_end(void **state)
{
    const gen_info *gi = &g_info[F_BAD_END];
    (void)state;
    /* the test's premise: with P > 1 only the last rank reads the bad row */
    if (g_size > 1)
        CHECK(gi->off[BAD_END_ROW] >= last_rank_lo(F_BAD_END), "bad row at byte %zu is not in the last rank's range (from %zu)",
              gi->off[BAD_END_ROW], last_rank_lo(F_BAD_END));
    check_bad_file(F_BAD_END, gi->line[BAD_END_ROW], 3, "income", "12,5x");
}

static void test_two_bad_values_earliest_wins(void **state)
{
    const gen_info *gi = &g_info[F_BAD_TWO];
    (void)state;
    /* income (column 3) in the middle, age (column 1) in the last row: the
     * earlier line wins, not the lower column */
    if (g_size > 1)
        CHECK(gi->off[BAD_LATE_ROW] >= last_rank_lo(F_BAD_TWO), "late bad row not in the last rank's range");
    check_bad_file(F_BAD_TWO, gi->line[BAD_EARLY_ROW], 3, "income", "n/a");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_trailing_blank_line),
        cmocka_unit_test(test_load_no_final_newline),
        cmocka_unit_test(test_bad_value_near_end),
        cmocka_unit_test(test_two_bad_values_earliest_wins),
    };
    return mpi_check_main(argc, argv, "mpi_dataset", tests, group_setup, group_teardown);
}
