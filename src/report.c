/** \file report.c  `riskgrid report` and `riskgrid compare` (see report.h,
 *  docs/report.md).
 *
 *  Layout: key = value lists for the stored job settings; an "emitter"
 *  that prints one description of the report as text, JSON or Markdown;
 *  HDF5 readers; loading a result file into an rfile; the derived metrics
 *  (metrics.h kernels); the report; the comparison; the plotting child
 *  process; the two command-line entry points.
 *
 *  HDF5: serial C API, read-only, file locking off (as the writer),
 *  automatic error printing off; every call is checked.
 */
#include "riskgrid/report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "h5util.h"

#include "riskgrid/config.h"
#include "riskgrid/error.h"
#include "riskgrid/grid.h"
#include "riskgrid/metrics.h"

#define Z975 1.959963985
#define OVERRIDES_MARK "\n; --set overrides:\n"
/** elements of /grid/D read at a time for the top-k scan */
#define TOPK_BLOCK ((size_t)1 << 20)

static const char *const FACTOR[4] = {"demand", "competition", "service", "marketing"};

static const char *const USAGE_REPORT =
    "usage: riskgrid report OUT.h5 [--format text|json|markdown] [--png DIR] [--top K] [--bins N]\n"
    "\n"
    "  OUT.h5                  a result file of riskgrid run\n"
    "  --format F              text (default), json or markdown\n"
    "  --png DIR               also draw roc.png, training.png, demand_heatmap.png,\n"
    "                          calibration.png and tornado.png into DIR (created if\n"
    "                          missing; DIR/report.json is the JSON report they use)\n"
    "                          with scripts/riskgrid-plot.py and /usr/bin/python3\n"
    "                          (matplotlib); $RISKGRID_SCRIPTS names the scripts\n"
    "                          directory, $RISKGRID_PYTHON the interpreter\n"
    "  --top K                 list the K largest grid points (default 10)\n"
    "  --bins N                calibration and lift groups (default 10)\n"
    "  --help                  this text\n";

static const char *const USAGE_COMPARE =
    "usage: riskgrid compare A.h5 B.h5 [--format text|json|markdown]\n"
    "\n"
    "Settings that differ, the AUC of each with its 95% interval, the paired\n"
    "DeLong test of the AUC difference when both files hold the same test rows,\n"
    "and whether /model, /train and /eval are bitwise identical.\n";

void report_options_default(report_options *opt)
{
    opt->format = REPORT_TEXT;
    opt->top_k = 10;
    opt->bins = 10;
}

/* ====================================================== key = value lists */

typedef struct kvlist {
    char **k, **v;
    size_t n, cap;
} kvlist;

static void kv_free(kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->k[i]);
        free(l->v[i]);
    }
    free(l->k);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static const char *kv_get(const kvlist *l, const char *k)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->k[i], k) == 0) return l->v[i];
    return NULL;
}

/* sets k = v (later wins), keeping first-set order */
static int kv_set(kvlist *l, const char *k, size_t kl, const char *v, size_t vl)
{
    char *key = strndup(k, kl), *val = strndup(v, vl);
    int rc = 0;
    if (key == NULL || val == NULL) { rc = ERR_NOMEM; goto done; }
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->k[i], key) == 0) {
            free(l->v[i]);
            l->v[i] = val;
            val = NULL;
            goto done;
        }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        char **nk = realloc(l->k, cap * sizeof *nk);
        if (nk == NULL) { rc = ERR_NOMEM; goto done; }
        l->k = nk;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (nv == NULL) { rc = ERR_NOMEM; goto done; }
        l->v = nv;
        l->cap = cap;
    }
    l->k[l->n] = key;
    l->v[l->n] = val;
    l->n++;
    key = val = NULL;
done:
    free(key);
    free(val);
    return rc;
}

static void trim_span(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t' || **s == '\r')) { (*s)++; (*len)--; }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r')) (*len)--;
}

/* "section.key=value" -> kv */
static int kv_add_dotted(kvlist *l, const char *line, size_t len)
{
    const char *eq = memchr(line, '=', len);
    const char *k = line, *v;
    size_t kl, vl;
    if (eq == NULL) return 0;
    kl = (size_t)(eq - line);
    v = eq + 1;
    vl = len - kl - 1;
    trim_span(&k, &kl);
    trim_span(&v, &vl);
    if (kl == 0) return 0;
    return kv_set(l, k, kl, v, vl);
}

/* The job text as INI, read the way libinih reads it (comments, inline
 * " ;" comments, '=' or ':'), keys named "section.key". */
static int kv_from_ini(kvlist *l, const char *text)
{
    char section[128] = "";
    const char *p = text;
    int rc = 0;
    while (*p && rc == 0) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        size_t sl = len;
        trim_span(&s, &sl);
        if (sl > 0 && s[0] == '[') {
            const char *close = memchr(s, ']', sl);
            size_t nl = close ? (size_t)(close - s - 1) : sl - 1;
            if (nl >= sizeof section) nl = sizeof section - 1;
            memcpy(section, s + 1, nl);
            section[nl] = '\0';
        } else if (sl > 0 && s[0] != ';' && s[0] != '#') {
            size_t sep = strcspn(s, "=:");
            if (sep < sl) {
                const char *k = s, *v = s + sep + 1;
                size_t kl = sep, vl = sl - sep - 1;
                char full[512];
                for (size_t i = 1; i < vl; i++)
                    if (v[i] == ';' && (v[i - 1] == ' ' || v[i - 1] == '\t')) { vl = i; break; }
                trim_span(&k, &kl);
                trim_span(&v, &vl);
                snprintf(full, sizeof full, "%s.%.*s", section, (int)kl, k);
                rc = kv_set(l, full, strlen(full), v, vl);
            }
        }
        p += len + (e != NULL);
    }
    return rc;
}

/* Settings of a stored job text: config_canonical of the parsed job
 * (defaults filled in, numbers normalised) when it parses, else the raw
 * key = value lines.  *canonical tells which. */
static int settings_of(const char *cfgtext, kvlist *out, int *canonical)
{
    char *job = NULL, *ov = NULL, *canon = NULL;
    const char **ovs = NULL;
    const char *mark = NULL, *q;
    int n_ov = 0, rc = 0;
    config *cfg = NULL;
    rg_error perr;

    error_clear(&perr);
    *canonical = 0;
    /* the last override marker: the job text comes first */
    for (q = strstr(cfgtext, OVERRIDES_MARK); q != NULL; q = strstr(q + 1, OVERRIDES_MARK)) mark = q;
    job = strndup(cfgtext, mark ? (size_t)(mark - cfgtext) : strlen(cfgtext));
    ov = strdup(mark ? mark + strlen(OVERRIDES_MARK) : "");
    if (job == NULL || ov == NULL) { rc = ERR_NOMEM; goto done; }
    ovs = calloc(strlen(ov) + 1, sizeof *ovs);
    if (ovs == NULL) { rc = ERR_NOMEM; goto done; }
    for (char *s = ov; *s;) {
        char *e = strchr(s, '\n');
        if (e) *e = '\0';
        if (*s) ovs[n_ov++] = s;
        if (!e) break;
        s = e + 1;
    }
    /* "job.ini" has no directory: relative paths stay as written */
    if (config_parse("job.ini", job, ovs, n_ov, &cfg, &perr) == 0 && (canon = config_canonical(cfg)) != NULL) {
        *canonical = 1;
        for (char *s = canon; *s && rc == 0;) {
            char *e = strchr(s, '\n');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            rc = kv_add_dotted(out, s, len);
            s += len + (e != NULL);
        }
        goto done;
    }
    if ((rc = kv_from_ini(out, job)) != 0) goto done;
    for (int i = 0; i < n_ov && rc == 0; i++) rc = kv_add_dotted(out, ovs[i], strlen(ovs[i]));
done:
    config_free(cfg);
    free(canon);
    free(ovs);
    free(job);
    free(ov);
    return rc;
}

/* ====================================================== emitter */

typedef enum { COL_F, COL_I, COL_S } col_kind;

typedef struct em_col {
    const char *key, *head;
    col_kind kind;
    const char *fmt;   /**< COL_F: printf format for text and markdown */
    int width;         /**< text column width */
} em_col;

typedef struct em_cell {
    double v;
    const char *s;
} em_cell;

typedef struct emitter {
    FILE *f;
    int fmt;
    int depth;
    int comma[32];
    const em_col *cols;
    int ncols;
    int sdepth;        /**< section nesting (markdown heading level) */
} emitter;

/* s through error_escape (file contents must not drive the terminal) */
static void put_safe(FILE *f, const char *s)
{
    char buf[256];
    size_t n = strlen(s), e = 0;
    /* error_escape works on bounded chunks: 60 input bytes never need
     * more than 240 output bytes.  A chunk never ends inside a UTF-8
     * character (a character cut by the bound would be escaped): it ends
     * before a run of up to 3 continuation bytes. */
    for (size_t o = 0; o < n; o = e) {
        e = n - o <= 60 ? n : o + 60;
        for (int k = 0; k < 3 && e < n && e > o + 1 && ((unsigned char)s[e] & 0xc0) == 0x80; k++) e--;
        error_escape(buf, sizeof buf, s + o, e - o);
        fputs(buf, f);
    }
}

/* A number formatted by a small spec "%[+].<p>{f,g,e}" (the column and
 * value formats of this file), without a non-literal printf format. */
static void fmtd(char *buf, size_t n, const char *spec, double v)
{
    int plus = strchr(spec, '+') != NULL, prec = 6;
    const char *dot = strchr(spec, '.');
    char conv = spec[strlen(spec) - 1];
    if (dot != NULL) prec = atoi(dot + 1);
    if (isnan(v)) snprintf(buf, n, "n/a");
    else if (conv == 'f') snprintf(buf, n, plus ? "%+.*f" : "%.*f", prec, v);
    else if (conv == 'e') snprintf(buf, n, plus ? "%+.*e" : "%.*e", prec, v);
    else snprintf(buf, n, plus ? "%+.*g" : "%.*g", prec, v);
}

static void putd(FILE *f, const char *spec, double v)
{
    char b[64];
    fmtd(b, sizeof b, spec, v);
    fputs(b, f);
}

static void j_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void j_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.17g", v);
    else fputs("null", f);
}

static void j_sep(emitter *e)
{
    if (e->comma[e->depth]) fputc(',', e->f);
    e->comma[e->depth] = 1;
    fputc('\n', e->f);
    for (int i = 0; i < e->depth; i++) fputs("  ", e->f);
}

static void j_key(emitter *e, const char *k)
{
    j_sep(e);
    j_str(e->f, k);
    fputs(": ", e->f);
}

static void j_push(emitter *e, char c)
{
    fputc(c, e->f);
    if (e->depth < 31) e->depth++;
    e->comma[e->depth] = 0;
}

static void j_pop(emitter *e, char c)
{
    e->depth--;
    fputc('\n', e->f);
    for (int i = 0; i < e->depth; i++) fputs("  ", e->f);
    fputc(c, e->f);
}

static void em_open(emitter *e, FILE *f, int fmt, const char *title)
{
    memset(e, 0, sizeof *e);
    e->f = f;
    e->fmt = fmt;
    if (fmt == REPORT_JSON) {
        fputc('{', f);
        e->depth = 1;
    } else if (fmt == REPORT_MARKDOWN) {
        fputs("# ", f);
        put_safe(f, title);
        fputs("\n", f);
    } else {
        put_safe(f, title);
        fputs("\n", f);
    }
}

static void em_close(emitter *e)
{
    if (e->fmt == REPORT_JSON) fputs("\n}\n", e->f);
}

static void em_section(emitter *e, const char *key, const char *title)
{
    e->sdepth++;
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        j_push(e, '{');
    } else if (e->fmt == REPORT_MARKDOWN) {
        fprintf(e->f, "\n%s %s\n\n", e->sdepth > 1 ? "###" : "##", title);
    } else {
        fprintf(e->f, "\n%s%s\n", e->sdepth > 1 ? "  " : "", title);
    }
}

static void em_section_end(emitter *e)
{
    e->sdepth--;
    if (e->fmt == REPORT_JSON) j_pop(e, '}');
}

static void label_start(emitter *e, const char *label)
{
    if (e->fmt == REPORT_MARKDOWN) fprintf(e->f, "- **%s**: ", label);
    else fprintf(e->f, "  %-26s ", label);
}

static void em_str(emitter *e, const char *key, const char *label, const char *s)
{
    if (s == NULL) s = "";
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        j_str(e->f, s);
        return;
    }
    label_start(e, label);
    put_safe(e->f, s);
    fputc('\n', e->f);
}

static void em_num(emitter *e, const char *key, const char *label, double v, const char *fmt)
{
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        j_num(e->f, v);
        return;
    }
    label_start(e, label);
    putd(e->f, fmt, v);
    fputc('\n', e->f);
}

static void em_int(emitter *e, const char *key, const char *label, long long v)
{
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        fprintf(e->f, "%lld", v);
        return;
    }
    label_start(e, label);
    fprintf(e->f, "%lld\n", v);
}

static void em_bool(emitter *e, const char *key, const char *label, int v)
{
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        fputs(v ? "true" : "false", e->f);
        return;
    }
    label_start(e, label);
    fputs(v ? "yes\n" : "no\n", e->f);
}

/* value with its 95% interval: JSON key, key_lo, key_hi */
static void em_ci(emitter *e, const char *key, const char *label, double v, double lo, double hi, const char *fmt)
{
    char k[64];
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        j_num(e->f, v);
        snprintf(k, sizeof k, "%s_lo", key);
        j_key(e, k);
        j_num(e->f, lo);
        snprintf(k, sizeof k, "%s_hi", key);
        j_key(e, k);
        j_num(e->f, hi);
        return;
    }
    label_start(e, label);
    putd(e->f, fmt, v);
    fputs(" [", e->f);
    putd(e->f, fmt, lo);
    fputs(", ", e->f);
    putd(e->f, fmt, hi);
    fputs("] (95% CI)\n", e->f);
}

/* a point of the grid: JSON {demand, competition, service, marketing
 * [, D] [, index]}; text "D = .. at demand .., ..." */
static void em_point(emitter *e, const char *key, const char *label, const double x[4], double d,
                     const int64_t *idx)
{
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        j_push(e, '{');
        for (int k = 0; k < 4; k++) {
            j_key(e, FACTOR[k]);
            j_num(e->f, x[k]);
        }
        if (!isnan(d)) {
            j_key(e, "D");
            j_num(e->f, d);
        }
        if (idx != NULL) {
            j_key(e, "index");
            fprintf(e->f, "[%lld, %lld, %lld, %lld]", (long long)idx[0], (long long)idx[1], (long long)idx[2], (long long)idx[3]);
        }
        j_pop(e, '}');
        return;
    }
    label_start(e, label);
    if (!isnan(d)) fprintf(e->f, "D = %.4f at ", d);
    for (int k = 0; k < 4; k++) fprintf(e->f, "%s%s %g", k ? ", " : "", FACTOR[k], x[k]);
    fputc('\n', e->f);
}

/* a free line of text (text and markdown only) */
static void em_note(emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void em_note(emitter *e, const char *fmt, ...)
{
    va_list ap;
    if (e->fmt == REPORT_JSON) return;
    fputs(e->fmt == REPORT_MARKDOWN ? "\n" : "  ", e->f);
    va_start(ap, fmt);
    vfprintf(e->f, fmt, ap);
    va_end(ap);
    fputc('\n', e->f);
}

static void cell_text(char *buf, size_t n, const em_col *c, const em_cell *v)
{
    if (c->kind == COL_S) snprintf(buf, n, "%s", v->s ? v->s : "");
    else if (isnan(v->v)) snprintf(buf, n, "n/a");
    else if (c->kind == COL_I) snprintf(buf, n, "%lld", (long long)v->v);
    else fmtd(buf, n, c->fmt, v->v);
}

static void em_table(emitter *e, const char *key, const char *title, const em_col *cols, int ncols)
{
    e->cols = cols;
    e->ncols = ncols;
    if (e->fmt == REPORT_JSON) {
        j_key(e, key);
        j_push(e, '[');
        return;
    }
    if (e->fmt == REPORT_MARKDOWN) {
        fprintf(e->f, "\n**%s**\n\n|", title);
        for (int i = 0; i < ncols; i++) fprintf(e->f, " %s |", cols[i].head);
        fputs("\n|", e->f);
        for (int i = 0; i < ncols; i++) fputs(cols[i].kind == COL_S ? " --- |" : " ---: |", e->f);
        fputc('\n', e->f);
        return;
    }
    fprintf(e->f, "\n  %s\n   ", title);
    for (int i = 0; i < ncols; i++)
        fprintf(e->f, cols[i].kind == COL_S ? " %-*s" : " %*s", i + 1 == ncols && cols[i].kind == COL_S ? 0 : cols[i].width, cols[i].head);
    fputc('\n', e->f);
}

static void em_row(emitter *e, const em_cell *cells)
{
    char buf[512];
    if (e->fmt == REPORT_JSON) {
        j_sep(e);
        fputc('{', e->f);
        for (int i = 0; i < e->ncols; i++) {
            const em_col *c = &e->cols[i];
            if (i) fputs(", ", e->f);
            j_str(e->f, c->key);
            fputs(": ", e->f);
            if (c->kind == COL_S) j_str(e->f, cells[i].s ? cells[i].s : "");
            else if (c->kind == COL_I && isfinite(cells[i].v)) fprintf(e->f, "%lld", (long long)cells[i].v);
            else j_num(e->f, cells[i].v);
        }
        fputc('}', e->f);
        return;
    }
    if (e->fmt == REPORT_MARKDOWN) {
        fputc('|', e->f);
        for (int i = 0; i < e->ncols; i++) {
            cell_text(buf, sizeof buf, &e->cols[i], &cells[i]);
            fputc(' ', e->f);
            for (const char *p = buf; *p; p++) {
                if (*p == '|') fputc('\\', e->f);
                if ((unsigned char)*p < 0x20) fputc(' ', e->f);
                else fputc(*p, e->f);
            }
            fputs(" |", e->f);
        }
        fputc('\n', e->f);
        return;
    }
    fputs("   ", e->f);
    for (int i = 0; i < e->ncols; i++) {
        const em_col *c = &e->cols[i];
        char safe[600];
        cell_text(buf, sizeof buf, c, &cells[i]);
        error_escape(safe, sizeof safe, buf, SIZE_MAX);
        /* no padding after the last column (no trailing blanks) */
        fprintf(e->f, c->kind == COL_S ? " %-*s" : " %*s", i + 1 == e->ncols && c->kind == COL_S ? 0 : c->width, safe);
    }
    fputc('\n', e->f);
}

static void em_table_end(emitter *e)
{
    if (e->fmt == REPORT_JSON) j_pop(e, ']');
    e->cols = NULL;
    e->ncols = 0;
}

/* ====================================================== HDF5 reading */

static int input_err(rg_error *err, const char *file, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int input_err(rg_error *err, const char *file, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return error_set(err, ERR_INPUT, "%s: %s", file, buf);
}

/* Close any HDF5 identifier (negative: nothing to close); a failure is
 * recorded in *rc unless an earlier error is there already. */
static void close_id(hid_t id, int *rc, rg_error *err)
{
    herr_t st;
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: st = H5Fclose(id); break;
    case H5I_GROUP: st = H5Gclose(id); break;
    case H5I_DATASET: st = H5Dclose(id); break;
    case H5I_DATATYPE: st = H5Tclose(id); break;
    case H5I_DATASPACE: st = H5Sclose(id); break;
    case H5I_ATTR: st = H5Aclose(id); break;
    case H5I_GENPROP_LST: st = H5Pclose(id); break;
    default: st = -1; break;
    }
    if (st < 0 && *rc == 0) *rc = error_set(err, ERR_HDF5, "closing an HDF5 object failed");
}

/* every component of an absolute path exists */
static int h5_has(hid_t f, const char *path)
{
    char buf[256];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf || path[0] != '/') return 0;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (H5Lexists(f, buf, H5P_DEFAULT) <= 0) return 0;
            buf[i] = c;
        }
    }
    return 1;
}

static int attr_has(hid_t f, const char *obj, const char *name)
{
    return (strcmp(obj, "/") == 0 || h5_has(f, obj)) && H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0;
}

/* numeric attribute of n elements, converted to mtype */
static int rd_attr_num(hid_t f, const char *file, const char *obj, const char *name, hid_t mtype,
                       void *buf, size_t n, rg_error *err)
{
    hid_t a = H5I_INVALID_HID, sp = H5I_INVALID_HID, t = H5I_INVALID_HID;
    int rc = 0;
    hssize_t np;
    H5T_class_t cls;

    if (!attr_has(f, obj, name)) { rc = input_err(err, file, "attribute '%s' of %s is missing; not a riskgrid result?", name, obj); goto done; }
    a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot open attribute '%s' of %s", file, name, obj); goto done; }
    sp = H5Aget_space(a);
    t = H5Aget_type(a);
    if (sp < 0 || t < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot query attribute '%s' of %s", file, name, obj); goto done; }
    np = H5Sget_simple_extent_npoints(sp);
    cls = H5Tget_class(t);
    if (np != (hssize_t)n || (cls != H5T_INTEGER && cls != H5T_FLOAT)) {
        rc = input_err(err, file, "attribute '%s' of %s: expected %zu number%s", name, obj, n, n == 1 ? "" : "s");
        goto done;
    }
    if (H5Aread(a, mtype, buf) < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot read attribute '%s' of %s", file, name, obj); goto done; }
done:
    close_id(t, &rc, err);
    close_id(sp, &rc, err);
    close_id(a, &rc, err);
    return rc;
}

/* string attribute (fixed-length or variable-length) -> malloc'd text */
static int rd_attr_str(hid_t f, const char *file, const char *obj, const char *name, char **out, rg_error *err)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    char *buf = NULL, *vl = NULL;
    int rc = 0;
    size_t sz;

    *out = NULL;
    if (!attr_has(f, obj, name)) { rc = input_err(err, file, "attribute '%s' of %s is missing; not a riskgrid result?", name, obj); goto done; }
    a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot open attribute '%s' of %s", file, name, obj); goto done; }
    t = H5Aget_type(a);
    sp = H5Aget_space(a);
    if (t < 0 || sp < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot query attribute '%s' of %s", file, name, obj); goto done; }
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1) {
        rc = input_err(err, file, "attribute '%s' of %s is not a string", name, obj);
        goto done;
    }
    mt = H5Tcopy(H5T_C_S1);
    /* HDF5 converts between strings of the same character set only */
    if (mt < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0) { rc = error_set(err, ERR_HDF5, "H5Tcopy failed"); goto done; }
    if (H5Tis_variable_str(t) > 0) {
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &vl) < 0 || vl == NULL) {
            rc = error_set(err, ERR_HDF5, "%s: cannot read attribute '%s' of %s", file, name, obj);
            goto done;
        }
        buf = strdup(vl);
    } else {
        sz = H5Tget_size(t);
        if (sz == 0 || sz > ((size_t)1 << 30)) { rc = input_err(err, file, "attribute '%s' of %s has a bad size", name, obj); goto done; }
        buf = malloc(sz + 1);
        if (buf == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
        if (H5Tset_size(mt, sz + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 || H5Aread(a, mt, buf) < 0) {
            rc = error_set(err, ERR_HDF5, "%s: cannot read attribute '%s' of %s", file, name, obj);
            goto done;
        }
        buf[sz] = '\0';
    }
    if (buf == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    *out = buf;
    buf = NULL;
done:
    if (vl != NULL) H5free_memory(vl);
    free(buf);
    close_id(mt, &rc, err);
    close_id(sp, &rc, err);
    close_id(t, &rc, err);
    close_id(a, &rc, err);
    return rc;
}

/* shape of a dataset: rank (<= 4) and dims */
static int rd_shape(hid_t f, const char *file, const char *path, int *rank, hsize_t dims[4], rg_error *err)
{
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    int rc = 0, r;

    if (!h5_has(f, path)) { rc = input_err(err, file, "%s is missing; not a riskgrid result?", path); goto done; }
    d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) { rc = input_err(err, file, "%s is not a dataset", path); goto done; }
    sp = H5Dget_space(d);
    if (sp < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot query %s", file, path); goto done; }
    r = H5Sget_simple_extent_ndims(sp);
    if (r < 0 || r > 4) { rc = input_err(err, file, "%s has rank %d", path, r); goto done; }
    if (H5Sget_simple_extent_dims(sp, dims, NULL) < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot query %s", file, path); goto done; }
    *rank = r;
done:
    close_id(sp, &rc, err);
    close_id(d, &rc, err);
    return rc;
}

/* whole dataset of rank min_rank..max_rank (0: scalar) read as mtype;
 * *out malloc'd (at least one element), dims[] filled up to the rank */
static int rd_dset(hid_t f, const char *file, const char *path, hid_t mtype, size_t esize,
                   int min_rank, int max_rank, hsize_t dims[2], void **out, rg_error *err)
{
    hid_t d = H5I_INVALID_HID;
    hsize_t dd[4] = {1, 1, 1, 1};
    size_t n = 1;
    void *buf = NULL;
    int rc = 0, rank = 0;

    *out = NULL;
    if ((rc = rd_shape(f, file, path, &rank, dd, err)) != 0) goto done;
    if (rank < min_rank || rank > max_rank) {
        rc = input_err(err, file, "%s has rank %d; expected %d to %d", path, rank, min_rank, max_rank);
        goto done;
    }
    for (int i = 0; i < rank; i++) {
        if (dd[i] != 0 && n > SIZE_MAX / esize / dd[i]) { rc = error_set(err, ERR_NOMEM, "%s: %s is too large", file, path); goto done; }
        n *= (size_t)dd[i];
        if (dims != NULL && i < 2) dims[i] = dd[i];
    }
    buf = malloc((n ? n : 1) * esize);
    if (buf == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory reading %s", path); goto done; }
    d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot open %s", file, path); goto done; }
    if (n > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        rc = input_err(err, file, "cannot read %s (wrong type?)", path);
        goto done;
    }
    *out = buf;
    buf = NULL;
done:
    free(buf);
    close_id(d, &rc, err);
    return rc;
}

/* 1-D f64 dataset of exactly n elements (n == SIZE_MAX: any, *n_out set) */
static int rd_f64_vec(hid_t f, const char *file, const char *path, size_t n, size_t *n_out, double **out, rg_error *err)
{
    hsize_t dims[2] = {0, 0};
    int rc = rd_dset(f, file, path, H5T_NATIVE_DOUBLE, sizeof(double), 1, 1, dims, (void **)out, err);
    if (rc != 0) return rc;
    if (n != SIZE_MAX && dims[0] != n) {
        free(*out);
        *out = NULL;
        return input_err(err, file, "%s has %llu elements; expected %zu", path, (unsigned long long)dims[0], n);
    }
    if (n_out != NULL) *n_out = (size_t)dims[0];
    return 0;
}

static int rd_f64_scalar(hid_t f, const char *file, const char *path, double *v, rg_error *err)
{
    double *buf = NULL;
    int rc = rd_dset(f, file, path, H5T_NATIVE_DOUBLE, sizeof(double), 0, 1, NULL, (void **)&buf, err);
    if (rc == 0) *v = buf[0];
    free(buf);
    return rc;
}

/* ====================================================== the result file */

typedef struct rfile {
    const char *path;
    hid_t f;
    /* root */
    char *version, *command, *config, *started, *finished, *status;
    int32_t world_size, virtual_shards;   /**< -1 when absent */
    /* /data */
    char *source, *fingerprint;
    int64_t n_train, n_test;
    int32_t n_features;
    double positive_rate;
    /* /model */
    size_t n_in, n_hidden, n_out;
    /* /train, /timing */
    size_t n_epochs;
    double *loss, *ep_auc, *ep_lo, *ep_hi, *wall_s, *sps;
    /* /eval */
    int32_t n_classes;
    double auc, auc_lo, auc_hi, auc_var;
    double *class_auc, *class_lo, *class_hi;   /**< [n_classes] or NULL */
    size_t n_scores, score_cols;               /**< 0 when the rows are not stored */
    double *score;
    int32_t *label;
    int64_t *row;
    /* /grid */
    double *axis[4];
    size_t axis_len[4];
    double reference[4], d_ref, d_ref_lo, d_ref_hi;
    double grid_auc, grid_auc_lo, grid_auc_hi, argmax_d, argmax_values[4];
    int64_t argmax_index[4];
    char *formula;
    /* settings */
    kvlist settings;
    int settings_canonical;
} rfile;

/* frees everything and closes the file; ERR_HDF5 if closing failed */
static int rfile_free(rfile *r)
{
    int rc = 0;
    free(r->version); free(r->command); free(r->config); free(r->started); free(r->finished); free(r->status);
    free(r->source); free(r->fingerprint);
    free(r->loss); free(r->ep_auc); free(r->ep_lo); free(r->ep_hi); free(r->wall_s); free(r->sps);
    free(r->class_auc); free(r->class_lo); free(r->class_hi);
    free(r->score); free(r->label); free(r->row);
    for (int k = 0; k < 4; k++) free(r->axis[k]);
    free(r->formula);
    kv_free(&r->settings);
    if (r->f >= 0 && H5Fclose(r->f) < 0) rc = ERR_HDF5;
    memset(r, 0, sizeof *r);
    r->f = H5I_INVALID_HID;
    return rc;
}

static int rfile_open(const char *path, rfile *r, rg_error *err)
{
    int rc = 0;

    memset(r, 0, sizeof *r);
    r->f = H5I_INVALID_HID;
    r->path = path;
    if (access(path, R_OK) != 0) {
        rc = error_set(err, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    if (H5Fis_hdf5(path) <= 0) {
        rc = error_set(err, ERR_INPUT, "'%s' is not an HDF5 file (a riskgrid result is)", path);
        goto done;
    }
    r->f = h5util_open_ro(path);
    if (r->f < 0) { rc = error_set(err, ERR_INPUT, "cannot open '%s' as HDF5 (truncated?)", path); goto done; }
done:
    return rc;
}

static int rfile_load(const char *path, rfile *r, rg_error *err)
{
    hid_t f;
    const char *p = path;
    int rc = 0, rank = 0;
    hsize_t dims[4] = {0, 0, 0, 0};

    if ((rc = rfile_open(path, r, err)) != 0) goto done;
    f = r->f;
    /* root: what identifies a result */
    if (!attr_has(f, "/", "riskgrid_version") || !h5_has(f, "/eval") || !h5_has(f, "/grid")) {
        rc = input_err(err, p, "not a riskgrid result file (no riskgrid_version attribute, /eval or /grid)");
        goto done;
    }
    if ((rc = rd_attr_str(f, p, "/", "riskgrid_version", &r->version, err)) != 0) goto done;
    if ((rc = rd_attr_str(f, p, "/", "config", &r->config, err)) != 0) goto done;
    if ((rc = rd_attr_str(f, p, "/", "status", &r->status, err)) != 0) goto done;
    if (attr_has(f, "/", "command") && (rc = rd_attr_str(f, p, "/", "command", &r->command, err)) != 0) goto done;
    if (attr_has(f, "/", "started") && (rc = rd_attr_str(f, p, "/", "started", &r->started, err)) != 0) goto done;
    if (attr_has(f, "/", "finished") && (rc = rd_attr_str(f, p, "/", "finished", &r->finished, err)) != 0) goto done;
    r->world_size = r->virtual_shards = -1;
    if (attr_has(f, "/", "world_size") && (rc = rd_attr_num(f, p, "/", "world_size", H5T_NATIVE_INT32, &r->world_size, 1, err)) != 0) goto done;
    if (attr_has(f, "/", "virtual_shards") && (rc = rd_attr_num(f, p, "/", "virtual_shards", H5T_NATIVE_INT32, &r->virtual_shards, 1, err)) != 0) goto done;

    /* /data */
    if ((rc = rd_attr_str(f, p, "/data", "source", &r->source, err)) != 0) goto done;
    if ((rc = rd_attr_str(f, p, "/data", "fingerprint", &r->fingerprint, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/data", "n_train", H5T_NATIVE_INT64, &r->n_train, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/data", "n_test", H5T_NATIVE_INT64, &r->n_test, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/data", "n_features", H5T_NATIVE_INT32, &r->n_features, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/data", "positive_rate", H5T_NATIVE_DOUBLE, &r->positive_rate, 1, err)) != 0) goto done;

    /* /model shapes */
    if ((rc = rd_shape(f, p, "/model/W1", &rank, dims, err)) != 0) goto done;
    if (rank != 2) { rc = input_err(err, p, "/model/W1 has rank %d; expected 2", rank); goto done; }
    r->n_in = (size_t)dims[0];
    r->n_hidden = (size_t)dims[1];
    if ((rc = rd_shape(f, p, "/model/W2", &rank, dims, err)) != 0) goto done;
    if (rank != 2 || dims[0] != r->n_hidden) { rc = input_err(err, p, "/model/W2 does not match /model/W1"); goto done; }
    r->n_out = (size_t)dims[1];

    /* /train, /timing */
    if ((rc = rd_f64_vec(f, p, "/train/loss", SIZE_MAX, &r->n_epochs, &r->loss, err)) != 0) goto done;
    if ((rc = rd_f64_vec(f, p, "/train/test_auc", r->n_epochs, NULL, &r->ep_auc, err)) != 0) goto done;
    if ((rc = rd_f64_vec(f, p, "/train/auc_lo", r->n_epochs, NULL, &r->ep_lo, err)) != 0) goto done;
    if ((rc = rd_f64_vec(f, p, "/train/auc_hi", r->n_epochs, NULL, &r->ep_hi, err)) != 0) goto done;
    if (h5_has(f, "/timing/wall_s") && (rc = rd_f64_vec(f, p, "/timing/wall_s", r->n_epochs, NULL, &r->wall_s, err)) != 0) goto done;
    if (h5_has(f, "/timing/samples_per_s") && (rc = rd_f64_vec(f, p, "/timing/samples_per_s", r->n_epochs, NULL, &r->sps, err)) != 0) goto done;

    /* /eval */
    if ((rc = rd_attr_num(f, p, "/eval", "n_classes", H5T_NATIVE_INT32, &r->n_classes, 1, err)) != 0) goto done;
    if (r->n_classes < 2 || r->n_classes > 1000000) { rc = input_err(err, p, "/eval n_classes = %d", (int)r->n_classes); goto done; }
    if ((rc = rd_f64_scalar(f, p, "/eval/auc", &r->auc, err)) != 0) goto done;
    if ((rc = rd_f64_scalar(f, p, "/eval/auc_lo", &r->auc_lo, err)) != 0) goto done;
    if ((rc = rd_f64_scalar(f, p, "/eval/auc_hi", &r->auc_hi, err)) != 0) goto done;
    if ((rc = rd_f64_scalar(f, p, "/eval/auc_var", &r->auc_var, err)) != 0) goto done;
    if (r->n_classes > 2 && h5_has(f, "/eval/class_auc")) {
        size_t k = (size_t)r->n_classes;
        if ((rc = rd_f64_vec(f, p, "/eval/class_auc", k, NULL, &r->class_auc, err)) != 0) goto done;
        if ((rc = rd_f64_vec(f, p, "/eval/class_auc_lo", k, NULL, &r->class_lo, err)) != 0) goto done;
        if ((rc = rd_f64_vec(f, p, "/eval/class_auc_hi", k, NULL, &r->class_hi, err)) != 0) goto done;
    }
    if (h5_has(f, "/eval/score") && h5_has(f, "/eval/label") && h5_has(f, "/eval/row")) {
        hsize_t sd[2] = {0, 1}, ld[2] = {0, 0}, rd[2] = {0, 0};
        if ((rc = rd_dset(f, p, "/eval/score", H5T_NATIVE_DOUBLE, sizeof(double), 1, 2, sd, (void **)&r->score, err)) != 0) goto done;
        if ((rc = rd_dset(f, p, "/eval/label", H5T_NATIVE_INT32, sizeof(int32_t), 1, 1, ld, (void **)&r->label, err)) != 0) goto done;
        if ((rc = rd_dset(f, p, "/eval/row", H5T_NATIVE_INT64, sizeof(int64_t), 1, 1, rd, (void **)&r->row, err)) != 0) goto done;
        if ((rc = rd_shape(f, p, "/eval/score", &rank, dims, err)) != 0) goto done;
        r->score_cols = rank == 1 ? 1 : (size_t)dims[1];
        r->n_scores = (size_t)sd[0];
        if (ld[0] != sd[0] || rd[0] != sd[0]) { rc = input_err(err, p, "/eval/score, /eval/label and /eval/row differ in length"); goto done; }
        if (r->score_cols != 1 && r->score_cols != (size_t)r->n_classes) {
            rc = input_err(err, p, "/eval/score has %zu columns for %d classes", r->score_cols, (int)r->n_classes);
            goto done;
        }
        for (size_t i = 0; i < r->n_scores; i++)
            if (r->label[i] < 0 || r->label[i] >= r->n_classes) {
                rc = input_err(err, p, "/eval/label[%zu] = %d is outside 0..%d", i, (int)r->label[i], (int)r->n_classes - 1);
                goto done;
            }
    }

    /* /grid */
    for (int k = 0; k < 4; k++) {
        char gp[64];
        snprintf(gp, sizeof gp, "/grid/%s", FACTOR[k]);
        if ((rc = rd_f64_vec(f, p, gp, SIZE_MAX, &r->axis_len[k], &r->axis[k], err)) != 0) goto done;
        if (r->axis_len[k] == 0) { rc = input_err(err, p, "%s is empty", gp); goto done; }
    }
    if ((rc = rd_attr_str(f, p, "/grid", "formula", &r->formula, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "reference", H5T_NATIVE_DOUBLE, r->reference, 4, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "D_ref", H5T_NATIVE_DOUBLE, &r->d_ref, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "D_ref_lo", H5T_NATIVE_DOUBLE, &r->d_ref_lo, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "D_ref_hi", H5T_NATIVE_DOUBLE, &r->d_ref_hi, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "auc", H5T_NATIVE_DOUBLE, &r->grid_auc, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "auc_lo", H5T_NATIVE_DOUBLE, &r->grid_auc_lo, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "auc_hi", H5T_NATIVE_DOUBLE, &r->grid_auc_hi, 1, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "argmax_index", H5T_NATIVE_INT64, r->argmax_index, 4, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "argmax_values", H5T_NATIVE_DOUBLE, r->argmax_values, 4, err)) != 0) goto done;
    if ((rc = rd_attr_num(f, p, "/grid", "argmax_D", H5T_NATIVE_DOUBLE, &r->argmax_d, 1, err)) != 0) goto done;

    /* settings */
    if (settings_of(r->config, &r->settings, &r->settings_canonical) != 0) {
        rc = error_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
done:
    return rc;
}

/* ====================================================== derived metrics */

typedef struct class_row {
    size_t n_pos;
    double gini, ks, ks_thr;
} class_row;

typedef struct derived {
    int have_rows;          /**< /eval/score etc. stored */
    const double *bin_score;/**< binary: P(class 1) per row */
    double *owned;
    double gini, ks, ks_thr, brier, hl, hl_p;
    size_t bins;
    metrics_calib_bin *calib;
    metrics_lift_bin *lift;
    /* multi-class */
    double accuracy, brier_multi;
    class_row *cls;
    /* demand */
    double elast[4];
    metrics_topk top;
    int have_top;
} derived;

static void derived_free(derived *d)
{
    free(d->owned);
    free(d->calib);
    free(d->lift);
    free(d->cls);
    metrics_topk_free(&d->top);
    memset(d, 0, sizeof *d);
}

/* Top k of /grid/D, read in hyperslabs of at most TOPK_BLOCK elements:
 * the trailing axes that fit whole, blocked along the next one. */
static int topk_scan(const rfile *r, size_t k, metrics_topk *top, rg_error *err)
{
    const char *p = r->path;
    hid_t d = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    float *buf = NULL;
    hsize_t dims[4] = {0, 0, 0, 0};
    size_t inner = 1, outer = 1, b;
    int rank = 0, j = 4, rc = 0;

    if ((rc = rd_shape(r->f, p, "/grid/D", &rank, dims, err)) != 0) goto done;
    if (rank != 4) { rc = input_err(err, p, "/grid/D has rank %d; expected 4", rank); goto done; }
    for (int a = 0; a < 4; a++)
        if (dims[a] != r->axis_len[a]) { rc = input_err(err, p, "/grid/D does not match the %s axis", FACTOR[a]); goto done; }
    while (j > 0 && inner * (size_t)dims[j - 1] <= TOPK_BLOCK) inner *= (size_t)dims[--j];
    if (j == 0) {
        j = 1;
        inner /= (size_t)dims[0];
    }
    for (int a = 0; a < j - 1; a++) outer *= (size_t)dims[a];
    b = TOPK_BLOCK / inner;
    if (b == 0) b = 1;
    if (b > dims[j - 1]) b = (size_t)dims[j - 1];
    if ((rc = metrics_topk_init(top, k, err)) != 0) goto done;
    buf = malloc(b * inner * sizeof *buf);
    if (buf == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    d = H5Dopen2(r->f, "/grid/D", H5P_DEFAULT);
    fs = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    if (d < 0 || fs < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot open /grid/D", p); goto done; }
    for (size_t o = 0; o < outer; o++) {
        hsize_t start[4] = {0, 0, 0, 0}, count[4];
        size_t rest = o;
        for (int a = j - 2; a >= 0; a--) {
            start[a] = rest % (size_t)dims[a];
            rest /= (size_t)dims[a];
        }
        for (int a = 0; a < 4; a++) count[a] = a < j - 1 ? 1 : dims[a];
        for (size_t s = 0; s < dims[j - 1]; s += b) {
            size_t c = (size_t)dims[j - 1] - s < b ? (size_t)dims[j - 1] - s : b;
            hsize_t m[1] = {(hsize_t)(c * inner)};
            uint64_t base = ((uint64_t)o * dims[j - 1] + s) * inner;
            start[j - 1] = s;
            count[j - 1] = c;
            ms = H5Screate_simple(1, m, NULL);
            if (ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0
                || H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf) < 0) {
                rc = error_set(err, ERR_HDF5, "%s: cannot read /grid/D", p);
                goto done;
            }
            close_id(ms, &rc, err);
            ms = H5I_INVALID_HID;
            if (rc != 0) goto done;
            for (size_t e = 0; e < c * inner; e++) metrics_topk_push(top, (double)buf[e], base + e);
        }
    }
    metrics_topk_sort(top);
done:
    close_id(ms, &rc, err);
    close_id(fs, &rc, err);
    close_id(d, &rc, err);
    free(buf);
    return rc;
}

static int derive(const rfile *r, const report_options *opt, int with_top, derived *d, rg_error *err)
{
    int rc = 0;
    int32_t *yb = NULL;
    double *col = NULL;
    size_t n = r->n_scores;

    memset(d, 0, sizeof *d);
    d->gini = d->ks = d->ks_thr = d->brier = d->hl = d->hl_p = d->accuracy = d->brier_multi = NAN;
    metrics_elasticities(r->grid_auc, r->reference, d->elast);
    if (with_top) {
        if ((rc = topk_scan(r, opt->top_k, &d->top, err)) != 0) goto done;
        d->have_top = 1;
    }
    if (r->score == NULL || n == 0) goto done;
    d->have_rows = 1;
    if (r->n_classes == 2) {
        if (r->score_cols == 1) {
            d->bin_score = r->score;
        } else {
            d->owned = malloc(n * sizeof *d->owned);
            if (d->owned == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
            for (size_t i = 0; i < n; i++) d->owned[i] = r->score[i * 2 + 1];
            d->bin_score = d->owned;
        }
        d->gini = metrics_gini(r->auc);
        if ((rc = metrics_ks(d->bin_score, r->label, n, &d->ks, &d->ks_thr, err)) != 0) goto done;
        if ((rc = metrics_brier(d->bin_score, r->label, n, &d->brier, err)) != 0) goto done;
        d->bins = opt->bins < n ? opt->bins : n;
        d->calib = calloc(d->bins, sizeof *d->calib);
        d->lift = calloc(d->bins, sizeof *d->lift);
        if (d->calib == NULL || d->lift == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
        if ((rc = metrics_calibration(d->bin_score, r->label, n, d->bins, d->calib, &d->hl, &d->hl_p, err)) != 0) goto done;
        if ((rc = metrics_lift(d->bin_score, r->label, n, d->bins, d->lift, err)) != 0) goto done;
    } else {
        size_t k = (size_t)r->n_classes, correct = 0;
        if (r->score_cols != k) { rc = input_err(err, r->path, "/eval/score has %zu columns for %zu classes", r->score_cols, k); goto done; }
        if ((rc = metrics_brier_multi(r->score, r->label, n, (int)k, &d->brier_multi, err)) != 0) goto done;
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t c = 1; c < k; c++)
                if (r->score[i * k + c] > r->score[i * k + best]) best = c;
            correct += (int32_t)best == r->label[i];
        }
        d->accuracy = (double)correct / (double)n;
        d->cls = calloc(k, sizeof *d->cls);
        yb = malloc(n * sizeof *yb);
        col = malloc(n * sizeof *col);
        if (d->cls == NULL || yb == NULL || col == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
        for (size_t c = 0; c < k; c++) {
            size_t pos = 0;
            for (size_t i = 0; i < n; i++) {
                yb[i] = r->label[i] == (int32_t)c;
                pos += (size_t)yb[i];
                col[i] = r->score[i * k + c];
            }
            d->cls[c].n_pos = pos;
            d->cls[c].gini = r->class_auc ? metrics_gini(r->class_auc[c]) : NAN;
            d->cls[c].ks = d->cls[c].ks_thr = NAN;
            if (pos > 0 && pos < n && (rc = metrics_ks(col, yb, n, &d->cls[c].ks, &d->cls[c].ks_thr, err)) != 0) goto done;
        }
    }
done:
    free(yb);
    free(col);
    return rc;
}

/* ====================================================== the report */

/* a setting for display: numbers to 15 significant digits
 * (config_canonical prints %.17g: 0.2 is "0.20000000000000001") */
static const char *pretty(const char *v, char *buf, size_t n)
{
    char *end = NULL;
    double x;
    if (v[0] == '\0') return "(none)";
    if (strpbrk(v, ".eE") == NULL) return v;
    x = strtod(v, &end);
    if (*end != '\0' || !isfinite(x)) return v;
    snprintf(buf, n, "%.15g", x);
    return buf;
}

static void emit_settings(emitter *e, const rfile *r)
{
    em_section(e, "settings", r->settings_canonical ? "Settings (job file as run, defaults filled in)"
                                                     : "Settings (job file as run, as written)");
    for (size_t i = 0; i < r->settings.n; i++) {
        const char *k = r->settings.k[i];
        char pb[64];
        const char *v = pretty(r->settings.v[i], pb, sizeof pb);
        if (strncmp(k, "grid.", 5) == 0 || strncmp(k, "output.", 7) == 0) continue;  /* grid: see the demand section */
        if (e->fmt == REPORT_JSON) {
            em_str(e, k, k, v);
        } else if (e->fmt == REPORT_MARKDOWN) {
            fputs("- `", e->f);
            put_safe(e->f, k);
            fputs(" = ", e->f);
            put_safe(e->f, v);
            fputs("`\n", e->f);
        } else {
            fputs("    ", e->f);
            put_safe(e->f, k);
            fputs(" = ", e->f);
            put_safe(e->f, v);
            fputc('\n', e->f);
        }
    }
    em_section_end(e);
}

static void emit_run_data_model(emitter *e, const rfile *r)
{
    char net[160];
    em_section(e, "run", "Run");
    em_str(e, "riskgrid_version", "riskgrid version", r->version);
    em_str(e, "status", "status", r->status);
    if (r->command) em_str(e, "command", "command", r->command);
    if (r->world_size >= 0) em_int(e, "world_size", "MPI ranks", r->world_size);
    if (r->virtual_shards >= 0) em_int(e, "virtual_shards", "virtual shards", r->virtual_shards);
    if (r->started) em_str(e, "started", "started", r->started);
    if (r->finished) em_str(e, "finished", "finished", r->finished);
    em_section_end(e);

    em_section(e, "data", "Data");
    em_str(e, "source", "source", r->source);
    em_int(e, "n_train", "training rows", (long long)r->n_train);
    em_int(e, "n_test", "test rows", (long long)r->n_test);
    em_int(e, "n_features", "features", r->n_features);
    em_num(e, "positive_rate", "positive rate", r->positive_rate, "%.4f");
    em_str(e, "fingerprint", "fingerprint", r->fingerprint);
    em_section_end(e);

    em_section(e, "model", "Model and training");
    snprintf(net, sizeof net, "%zu inputs -> %zu hidden (ReLU) -> %zu output%s (%s)", r->n_in, r->n_hidden, r->n_out,
             r->n_out == 1 ? "" : "s", r->n_out == 1 ? "sigmoid" : "softmax");
    if (e->fmt == REPORT_JSON) {
        em_int(e, "inputs", "inputs", (long long)r->n_in);
        em_int(e, "hidden", "hidden", (long long)r->n_hidden);
        em_int(e, "outputs", "outputs", (long long)r->n_out);
        em_str(e, "output", "output", r->n_out == 1 ? "sigmoid" : "softmax");
    } else {
        em_str(e, "network", "network", net);
    }
    em_int(e, "epochs", "epochs run", (long long)r->n_epochs);
    emit_settings(e, r);
    em_section_end(e);
}

static void emit_epochs(emitter *e, const rfile *r)
{
    static const em_col cols[7] = {
        {"epoch", "epoch", COL_I, NULL, 5}, {"loss", "loss", COL_F, "%.5f", 9},
        {"test_auc", "test AUC", COL_F, "%.4f", 8}, {"auc_lo", "CI lo", COL_F, "%.4f", 7},
        {"auc_hi", "CI hi", COL_F, "%.4f", 7}, {"wall_s", "wall s", COL_F, "%.2f", 8},
        {"samples_per_s", "samples/s", COL_F, "%.0f", 10},
    };
    em_table(e, "train", "Training, per epoch (test AUC with its 95% DeLong interval)", cols, 7);
    for (size_t i = 0; i < r->n_epochs; i++) {
        em_cell c[7] = {{(double)(i + 1), NULL}, {r->loss[i], NULL}, {r->ep_auc[i], NULL}, {r->ep_lo[i], NULL},
                        {r->ep_hi[i], NULL}, {r->wall_s ? r->wall_s[i] : NAN, NULL}, {r->sps ? r->sps[i] : NAN, NULL}};
        em_row(e, c);
    }
    em_table_end(e);
}

static void emit_binary(emitter *e, const rfile *r, const derived *d)
{
    static const em_col ccols[7] = {
        {"group", "group", COL_I, NULL, 5}, {"n", "rows", COL_I, NULL, 6},
        {"score_min", "score min", COL_F, "%.4f", 9}, {"score_max", "score max", COL_F, "%.4f", 9},
        {"mean_score", "predicted", COL_F, "%.4f", 9}, {"observed", "observed", COL_F, "%.4f", 8},
        {"positives", "positives", COL_I, NULL, 9},
    };
    static const em_col lcols[10] = {
        {"group", "group", COL_I, NULL, 5}, {"n", "rows", COL_I, NULL, 6},
        {"positives", "positives", COL_I, NULL, 9}, {"score_max", "score max", COL_F, "%.4f", 9},
        {"score_min", "score min", COL_F, "%.4f", 9}, {"rate", "rate", COL_F, "%.4f", 6},
        {"lift", "lift", COL_F, "%.3f", 6}, {"cum_share", "cum rows", COL_F, "%.3f", 8},
        {"gains", "gains", COL_F, "%.3f", 6}, {"cum_lift", "cum lift", COL_F, "%.3f", 8},
    };
    (void)r;
    em_num(e, "gini", "Gini (2 AUC - 1)", d->gini, "%.4f");
    if (e->fmt == REPORT_JSON) {
        em_num(e, "ks", "KS", d->ks, "%.4f");
        em_num(e, "ks_threshold", "KS threshold", d->ks_thr, "%.6g");
    } else {
        char b[128];
        snprintf(b, sizeof b, "%.4f (max |TPR - FPR|, at score >= %.6g)", d->ks, d->ks_thr);
        em_str(e, "ks", "Kolmogorov-Smirnov", b);
    }
    em_num(e, "brier", "Brier score", d->brier, "%.5f");
    if (e->fmt == REPORT_JSON) {
        em_num(e, "hosmer_lemeshow", "", d->hl, "");
        em_int(e, "hosmer_lemeshow_df", "", (long long)d->bins - 2);
        em_num(e, "hosmer_lemeshow_p", "", d->hl_p, "");
    } else {
        char b[128];
        snprintf(b, sizeof b, "H = %.3f, df %d, p = %.4g", d->hl, (int)d->bins - 2, d->hl_p);
        em_str(e, "hosmer_lemeshow", "Hosmer-Lemeshow", isnan(d->hl) ? "n/a" : b);
    }
    em_table(e, "calibration", "Calibration: equal-count groups by ascending predicted score (mean predicted vs observed default rate)", ccols, 7);
    for (size_t b = 0; b < d->bins; b++) {
        const metrics_calib_bin *c = &d->calib[b];
        em_cell v[7] = {{(double)(b + 1), NULL}, {(double)c->n, NULL}, {c->score_min, NULL}, {c->score_max, NULL},
                        {c->mean_score, NULL}, {c->observed, NULL}, {(double)c->positives, NULL}};
        em_row(e, v);
    }
    em_table_end(e);
    em_table(e, "lift", "Lift and gains: equal-count groups by descending score (group 1 = riskiest)", lcols, 10);
    for (size_t b = 0; b < d->bins; b++) {
        const metrics_lift_bin *l = &d->lift[b];
        em_cell v[10] = {{(double)(b + 1), NULL}, {(double)l->n, NULL}, {(double)l->positives, NULL}, {l->score_max, NULL},
                         {l->score_min, NULL}, {l->rate, NULL}, {l->lift, NULL}, {l->cum_share, NULL},
                         {l->gains, NULL}, {l->cum_lift, NULL}};
        em_row(e, v);
    }
    em_table_end(e);
}

static void emit_multi(emitter *e, const rfile *r, const derived *d)
{
    static const em_col cols[8] = {
        {"class", "class", COL_I, NULL, 5}, {"n", "rows", COL_I, NULL, 6},
        {"auc", "AUC", COL_F, "%.4f", 6}, {"auc_lo", "CI lo", COL_F, "%.4f", 6},
        {"auc_hi", "CI hi", COL_F, "%.4f", 6}, {"gini", "Gini", COL_F, "%.4f", 7},
        {"ks", "KS", COL_F, "%.4f", 6}, {"ks_threshold", "KS at", COL_F, "%.4g", 9},
    };
    size_t k = (size_t)r->n_classes;
    em_num(e, "accuracy", "accuracy (argmax)", d->accuracy, "%.4f");
    em_num(e, "brier", "Brier score (multi-class)", d->brier_multi, "%.5f");
    em_table(e, "classes", "Per class, one-vs-rest (rows = test rows of the class)", cols, 8);
    for (size_t c = 0; c < k; c++) {
        em_cell v[8] = {{(double)c, NULL}, {(double)d->cls[c].n_pos, NULL},
                        {r->class_auc ? r->class_auc[c] : NAN, NULL}, {r->class_lo ? r->class_lo[c] : NAN, NULL},
                        {r->class_hi ? r->class_hi[c] : NAN, NULL}, {d->cls[c].gini, NULL},
                        {d->cls[c].ks, NULL}, {d->cls[c].ks_thr, NULL}};
        em_row(e, v);
    }
    em_table_end(e);
    em_note(e, "Calibration and lift tables are for binary models only (docs/report.md).");
}

static void emit_eval(emitter *e, const rfile *r, const derived *d)
{
    em_section(e, "eval", "Test set");
    em_int(e, "n_classes", "classes", r->n_classes);
    em_int(e, "n_rows", "rows scored", (long long)(d->have_rows ? r->n_scores : (size_t)r->n_test));
    em_ci(e, "auc", r->n_classes == 2 ? "ROC AUC" : "ROC AUC (macro OvR)", r->auc, r->auc_lo, r->auc_hi, "%.4f");
    em_num(e, "auc_var", "DeLong variance", r->auc_var, "%.3g");
    if (!d->have_rows) em_note(e, "The file holds no test rows (/eval/score): the metrics below the AUC need them.");
    else if (r->n_classes == 2) emit_binary(e, r, d);
    else emit_multi(e, r, d);
    em_section_end(e);
}

static void emit_demand(emitter *e, const rfile *r, const derived *d)
{
    static const em_col acols[4] = {
        {"factor", "factor", COL_S, NULL, 12}, {"n", "values", COL_I, NULL, 6},
        {"min", "min", COL_F, "%g", 8}, {"max", "max", COL_F, "%g", 8},
    };
    static const em_col ecols[3] = {
        {"factor", "factor", COL_S, NULL, 12}, {"x", "at", COL_F, "%g", 8},
        {"elasticity", "d ln D / d ln x", COL_F, "%+.4f", 16},
    };
    static const em_col tcols[9] = {
        {"rank", "rank", COL_I, NULL, 4}, {"flat_index", "index", COL_I, NULL, 9},
        {"demand", "demand", COL_F, "%g", 8}, {"competition", "competition", COL_F, "%g", 11},
        {"service", "service", COL_F, "%g", 8}, {"marketing", "marketing", COL_F, "%g", 9},
        {"D", "D", COL_F, "%.4f", 7}, {"D_lo", "D lo", COL_F, "%.4f", 7}, {"D_hi", "D hi", COL_F, "%.4f", 7},
    };
    size_t total = 1;
    em_section(e, "demand", "Demand index");
    em_str(e, "formula", "formula", r->formula);
    em_ci(e, "auc", "AUC used", r->grid_auc, r->grid_auc_lo, r->grid_auc_hi, "%.4f");
    em_point(e, "reference", "reference point", r->reference, NAN, NULL);
    em_ci(e, "D_ref", "D at the reference", r->d_ref, r->d_ref_lo, r->d_ref_hi, "%.4f");
    em_point(e, "argmax", "argmax", r->argmax_values, r->argmax_d, r->argmax_index);
    for (int k = 0; k < 4; k++) total *= r->axis_len[k];
    em_int(e, "grid_points", "grid points", (long long)total);
    em_table(e, "axes", "Axes", acols, 4);
    for (int k = 0; k < 4; k++) {
        double lo = r->axis[k][0], hi = r->axis[k][0];
        for (size_t i = 1; i < r->axis_len[k]; i++) {
            lo = fmin(lo, r->axis[k][i]);
            hi = fmax(hi, r->axis[k][i]);
        }
        em_cell v[4] = {{0, FACTOR[k]}, {(double)r->axis_len[k], NULL}, {lo, NULL}, {hi, NULL}};
        em_row(e, v);
    }
    em_table_end(e);
    em_table(e, "elasticity", "Elasticity of D at the reference point (central finite differences)", ecols, 3);
    for (int k = 0; k < 4; k++) {
        em_cell v[3] = {{0, FACTOR[k]}, {r->reference[k], NULL}, {d->elast[k], NULL}};
        em_row(e, v);
    }
    em_table_end(e);
    if (d->have_top) {
        char title[96];
        snprintf(title, sizeof title, "Top %zu grid points by D (stored float32; ties: first in C order)", d->top.n);
        em_table(e, "top", title, tcols, 9);
        for (size_t i = 0; i < d->top.n; i++) {
            uint64_t flat = d->top.idx[i], rest = flat;
            double x[4];
            for (int a = 3; a >= 0; a--) {
                x[a] = r->axis[a][rest % r->axis_len[a]];
                rest /= r->axis_len[a];
            }
            em_cell v[9] = {{(double)(i + 1), NULL}, {(double)flat, NULL}, {x[0], NULL}, {x[1], NULL}, {x[2], NULL},
                            {x[3], NULL}, {d->top.val[i], NULL},
                            {grid_index(r->grid_auc_lo, x[0], x[1], x[2], x[3]), NULL},
                            {grid_index(r->grid_auc_hi, x[0], x[1], x[2], x[3]), NULL}};
            em_row(e, v);
        }
        em_table_end(e);
    }
    em_section_end(e);
}

int report_print(const char *path, const report_options *opt, FILE *out, rg_error *err)
{
    rfile r;
    derived d;
    emitter e;
    h5_quiet q;
    char title[600];
    int rc = 0;

    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    r.f = H5I_INVALID_HID;
    quiet_on(&q);
    if (opt->top_k == 0 || opt->bins == 0) { rc = error_set(err, ERR_USAGE, "--top and --bins must be >= 1"); goto done; }
    if ((rc = rfile_load(path, &r, err)) != 0) goto done;
    if ((rc = derive(&r, opt, 1, &d, err)) != 0) goto done;
    snprintf(title, sizeof title, "riskgrid report: %s", path);
    em_open(&e, out, opt->format, title);
    if (opt->format == REPORT_JSON) em_str(&e, "file", "file", path);
    emit_run_data_model(&e, &r);
    emit_epochs(&e, &r);
    emit_eval(&e, &r, &d);
    emit_demand(&e, &r, &d);
    em_close(&e);
    if (fflush(out) != 0 || ferror(out)) rc = error_set(err, ERR_IO, "cannot write the report: %s", strerror(errno));
done:
    derived_free(&d);
    if (rfile_free(&r) != 0 && rc == 0) rc = error_set(err, ERR_HDF5, "%s: closing the file failed", path);
    quiet_off(&q);
    return rc;
}

/* ====================================================== compare */

typedef struct name_list {
    char **v;
    size_t n, cap;
    int failed;
} name_list;

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

typedef struct visit_ctx {
    name_list *list;
    const char *prefix;
} visit_ctx;

static herr_t visit_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    visit_ctx *c = data;
    hid_t o = H5I_INVALID_HID;
    char *full = NULL;
    herr_t ret = 0;
    if (info->type != H5L_TYPE_HARD) return 0;
    o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) { c->list->failed = 1; return -1; }
    if (H5Iget_type(o) == H5I_DATASET) {
        size_t l = strlen(c->prefix) + strlen(name) + 2;
        full = malloc(l);
        if (full == NULL) { c->list->failed = 1; ret = -1; goto done; }
        snprintf(full, l, "%s/%s", c->prefix, name);
        if (c->list->n == c->list->cap) {
            size_t cap = c->list->cap ? 2 * c->list->cap : 16;
            char **v = realloc(c->list->v, cap * sizeof *v);
            if (v == NULL) { c->list->failed = 1; ret = -1; goto done; }
            c->list->v = v;
            c->list->cap = cap;
        }
        c->list->v[c->list->n++] = full;
        full = NULL;
    }
done:
    free(full);
    if (H5Oclose(o) < 0) {
        c->list->failed = 1;
        ret = -1;
    }
    return ret;
}

static int list_datasets(hid_t f, const char *file, const char *group, name_list *out, rg_error *err)
{
    hid_t g = H5I_INVALID_HID;
    visit_ctx c = {out, group};
    int rc = 0;
    if (!h5_has(f, group)) goto done;   /* empty list */
    g = H5Gopen2(f, group, H5P_DEFAULT);
    if (g < 0 || H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &c) < 0 || out->failed)
        rc = error_set(err, ERR_HDF5, "%s: cannot list the datasets below %s", file, group);
done:
    close_id(g, &rc, err);
    return rc;
}

/* raw stored bytes of a dataset (read with its own file type) */
static int raw_bytes(hid_t f, const char *file, const char *path, hid_t *type_out, hsize_t *npts, void **buf, rg_error *err)
{
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    void *b = NULL;
    hssize_t np;
    size_t sz;
    int rc = 0;

    *buf = NULL;
    d = H5Dopen2(f, path, H5P_DEFAULT);
    t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    if (d < 0 || t < 0 || sp < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot open %s", file, path); goto done; }
    if (H5Tis_variable_str(t) > 0 || H5Tdetect_class(t, H5T_VLEN) > 0 || H5Tdetect_class(t, H5T_REFERENCE) > 0) {
        rc = input_err(err, file, "%s has a variable-length type; not compared bytewise", path);
        goto done;
    }
    np = H5Sget_simple_extent_npoints(sp);
    sz = H5Tget_size(t);
    if (np < 0 || sz == 0) { rc = error_set(err, ERR_HDF5, "%s: cannot query %s", file, path); goto done; }
    b = malloc((size_t)np * sz + 1);
    if (b == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    if (np > 0 && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) < 0) { rc = error_set(err, ERR_HDF5, "%s: cannot read %s", file, path); goto done; }
    *npts = (hsize_t)np;
    *type_out = t;
    t = H5I_INVALID_HID;
    *buf = b;
    b = NULL;
done:
    free(b);
    close_id(t, &rc, err);
    close_id(sp, &rc, err);
    close_id(d, &rc, err);
    return rc;
}

/* 1 identical, 0 different (why[] says where); negative on error */
static int group_identical(hid_t fa, const char *pa, hid_t fb, const char *pb, const char *group,
                           char *why, size_t nwhy, rg_error *err)
{
    name_list la = {0}, lb = {0};
    int same = 1, rc = 0;

    why[0] = '\0';
    if ((rc = list_datasets(fa, pa, group, &la, err)) != 0) goto done;
    if ((rc = list_datasets(fb, pb, group, &lb, err)) != 0) goto done;
    if (la.n != lb.n) {
        snprintf(why, nwhy, "%s holds %zu datasets in A, %zu in B", group, la.n, lb.n);
        same = 0;
        goto done;
    }
    for (size_t i = 0; i < la.n && same; i++) {
        hid_t ta = H5I_INVALID_HID, tb = H5I_INVALID_HID;
        hsize_t na = 0, nb = 0;
        void *ba = NULL, *bb = NULL;
        int ds[2] = {0, 0};
        hsize_t da[4], db[4];
        if (strcmp(la.v[i], lb.v[i]) != 0) {
            snprintf(why, nwhy, "%s is in only one file", strcmp(la.v[i], lb.v[i]) < 0 ? la.v[i] : lb.v[i]);
            same = 0;
            break;
        }
        if ((rc = raw_bytes(fa, pa, la.v[i], &ta, &na, &ba, err)) == 0 &&
            (rc = raw_bytes(fb, pb, lb.v[i], &tb, &nb, &bb, err)) == 0 &&
            (rc = rd_shape(fa, pa, la.v[i], &ds[0], da, err)) == 0 &&
            (rc = rd_shape(fb, pb, lb.v[i], &ds[1], db, err)) == 0) {
            if (H5Tequal(ta, tb) <= 0) snprintf(why, nwhy, "%s: types differ", la.v[i]);
            else if (ds[0] != ds[1] || memcmp(da, db, (size_t)ds[0] * sizeof *da) != 0) snprintf(why, nwhy, "%s: shapes differ", la.v[i]);
            else if (na != nb || memcmp(ba, bb, (size_t)na * H5Tget_size(ta)) != 0) snprintf(why, nwhy, "%s: values differ", la.v[i]);
            same = why[0] == '\0';
        }
        free(ba);
        free(bb);
        close_id(ta, &rc, err);
        close_id(tb, &rc, err);
        if (rc != 0) goto done;
    }
done:
    names_free(&la);
    names_free(&lb);
    return rc != 0 ? rc : same;
}

int report_compare(const char *path_a, const char *path_b, const report_options *opt,
                   FILE *out, rg_error *err)
{
    static const em_col scols[3] = {
        {"key", "setting", COL_S, NULL, 26}, {"a", "A", COL_S, NULL, 24}, {"b", "B", COL_S, NULL, 24},
    };
    static const em_col rcols[3] = {
        {"item", "item", COL_S, NULL, 26}, {"a", "A", COL_S, NULL, 24}, {"b", "B", COL_S, NULL, 24},
    };
    static const em_col acols[7] = {
        {"file", "file", COL_S, NULL, 4}, {"path", "path", COL_S, NULL, 30}, {"rows", "test rows", COL_I, NULL, 9},
        {"classes", "classes", COL_I, NULL, 7}, {"auc", "AUC", COL_F, "%.4f", 6},
        {"auc_lo", "CI lo", COL_F, "%.4f", 6}, {"auc_hi", "CI hi", COL_F, "%.4f", 6},
    };
    static const em_col pcols[8] = {
        {"class", "class", COL_I, NULL, 5}, {"auc_a", "AUC A", COL_F, "%.4f", 6}, {"auc_b", "AUC B", COL_F, "%.4f", 6},
        {"diff", "A - B", COL_F, "%+.4f", 7}, {"se", "se", COL_F, "%.4f", 6}, {"corr", "corr", COL_F, "%.3f", 6},
        {"z", "z", COL_F, "%+.3f", 7}, {"p", "p", COL_F, "%.4g", 8},
    };
    static const char *const groups[3] = {"/model", "/train", "/eval"};
    rfile a, b;
    emitter e;
    h5_quiet q;
    char title[1200], why[3][512];
    int ident[3] = {0, 0, 0}, rc = 0, paired = 0;
    const char *not_paired = NULL;
    metrics_paired *pr = NULL;
    size_t n_pr = 0;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.f = b.f = H5I_INVALID_HID;
    quiet_on(&q);
    if ((rc = rfile_load(path_a, &a, err)) != 0) goto done;
    if ((rc = rfile_load(path_b, &b, err)) != 0) goto done;
    for (int g = 0; g < 3; g++) {
        int s = group_identical(a.f, path_a, b.f, path_b, groups[g], why[g], sizeof why[g], err);
        if (s < 0) { rc = s; goto done; }
        ident[g] = s;
    }
    /* paired test: the same rows with the same labels */
    if (a.score == NULL || b.score == NULL) not_paired = "a file holds no test rows (/eval/score)";
    else if (a.n_scores != b.n_scores || memcmp(a.row, b.row, a.n_scores * sizeof *a.row) != 0) not_paired = "the files hold different test rows (/eval/row)";
    else if (memcmp(a.label, b.label, a.n_scores * sizeof *a.label) != 0) not_paired = "the same test rows carry different labels";
    else if (a.n_classes != b.n_classes || a.score_cols != b.score_cols) not_paired = "the models have different classes";
    else {
        size_t k = (size_t)a.n_classes, n = a.n_scores;
        n_pr = k == 2 ? 1 : k;
        pr = calloc(n_pr, sizeof *pr);
        if (pr == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
        if (k == 2) {
            size_t st = a.score_cols, off = st == 2 ? 1 : 0;
            rc = metrics_delong_paired(a.score + off, st, b.score + off, st, a.label, -1, n, &pr[0], err);
        } else {
            for (size_t c = 0; c < k && rc == 0; c++)
                rc = metrics_delong_paired(a.score + c, k, b.score + c, k, a.label, (int32_t)c, n, &pr[c], err);
        }
        if (rc != 0) goto done;
        paired = 1;
    }

    snprintf(title, sizeof title, "riskgrid compare: A = %s, B = %s", path_a, path_b);
    em_open(&e, out, opt->format, title);
    if (opt->format == REPORT_JSON) {
        em_str(&e, "a", "A", path_a);
        em_str(&e, "b", "B", path_b);
    }

    /* settings */
    {
        size_t nd = 0;
        em_table(&e, "settings", a.settings_canonical && b.settings_canonical
                                     ? "Settings that differ (job files as run, defaults filled in)"
                                     : "Settings that differ (job files as run, as written)", scols, 3);
        for (int pass = 0; pass < 2; pass++) {
            const kvlist *x = pass == 0 ? &a.settings : &b.settings, *y = pass == 0 ? &b.settings : &a.settings;
            for (size_t i = 0; i < x->n; i++) {
                const char *vy = kv_get(y, x->k[i]);
                if (pass == 1 && vy != NULL) continue;   /* already seen in pass 0 */
                if (vy != NULL && strcmp(vy, x->v[i]) == 0) continue;
                char b1[64], b2[64];
                const char *vx = pretty(x->v[i], b1, sizeof b1), *vyp = vy ? pretty(vy, b2, sizeof b2) : "(not set)";
                em_cell c[3] = {{0, x->k[i]}, {0, pass == 0 ? vx : "(not set)"}, {0, pass == 0 ? vyp : vx}};
                em_row(&e, c);
                nd++;
            }
        }
        em_table_end(&e);
        if (nd == 0) em_note(&e, "no setting differs");
    }
    /* other facts of the runs */
    {
        char na[32], nb[32], wa[32], wb[32];
        em_table(&e, "runs", "Runs", rcols, 3);
        em_cell c1[3] = {{0, "riskgrid version"}, {0, a.version}, {0, b.version}};
        em_row(&e, c1);
        em_cell c2[3] = {{0, "data fingerprint"}, {0, a.fingerprint}, {0, b.fingerprint}};
        em_row(&e, c2);
        snprintf(na, sizeof na, "%lld", (long long)a.n_test);
        snprintf(nb, sizeof nb, "%lld", (long long)b.n_test);
        em_cell c3[3] = {{0, "test rows"}, {0, na}, {0, nb}};
        em_row(&e, c3);
        snprintf(wa, sizeof wa, "%d", (int)a.world_size);
        snprintf(wb, sizeof wb, "%d", (int)b.world_size);
        em_cell c4[3] = {{0, "MPI ranks"}, {0, wa}, {0, wb}};
        em_row(&e, c4);
        em_table_end(&e);
    }
    /* AUCs */
    em_table(&e, "auc", "Test AUC with its 95% DeLong interval", acols, 7);
    {
        em_cell ca[7] = {{0, "A"}, {0, path_a}, {(double)a.n_test, NULL}, {(double)a.n_classes, NULL}, {a.auc, NULL}, {a.auc_lo, NULL}, {a.auc_hi, NULL}};
        em_cell cb[7] = {{0, "B"}, {0, path_b}, {(double)b.n_test, NULL}, {(double)b.n_classes, NULL}, {b.auc, NULL}, {b.auc_lo, NULL}, {b.auc_hi, NULL}};
        em_row(&e, ca);
        em_row(&e, cb);
    }
    em_table_end(&e);
    /* unpaired: independent samples */
    {
        double v = a.auc_var + b.auc_var, z = v > 0 ? (a.auc - b.auc) / sqrt(v) : NAN;
        em_section(&e, "unpaired", "Unpaired test (independent test sets; z = (A - B) / sqrt(var A + var B))");
        em_num(&e, "diff", "A - B", a.auc - b.auc, "%+.4f");
        em_num(&e, "z", "z", z, "%+.3f");
        em_num(&e, "p", "p (two-sided)", isnan(z) ? NAN : erfc(fabs(z) / sqrt(2.0)), "%.4g");
        em_section_end(&e);
    }
    /* paired */
    em_section(&e, "paired", "Paired DeLong test (same test rows)");
    em_bool(&e, "applicable", "applicable", paired);
    if (!paired) {
        em_str(&e, "reason", "reason", not_paired);
    } else if (a.n_classes == 2) {
        const metrics_paired *p = &pr[0];
        em_int(&e, "rows", "rows", (long long)a.n_scores);
        em_num(&e, "auc_a", "AUC A", p->auc1, "%.6f");
        em_num(&e, "auc_b", "AUC B", p->auc2, "%.6f");
        em_ci(&e, "diff", "A - B", p->diff, p->diff - Z975 * p->se, p->diff + Z975 * p->se, "%+.6f");
        em_num(&e, "se", "standard error", p->se, "%.6f");
        em_num(&e, "cov", "DeLong covariance", p->cov, "%.4g");
        em_num(&e, "corr", "correlation of the AUCs", p->var1 > 0 && p->var2 > 0 ? p->cov / sqrt(p->var1 * p->var2) : NAN, "%.4f");
        em_num(&e, "z", "z", p->z, "%+.4f");
        em_num(&e, "p", "p (two-sided)", p->p, "%.4g");
    } else {
        em_int(&e, "rows", "rows", (long long)a.n_scores);
        em_table(&e, "classes", "Per class, one-vs-rest (the macro AUC difference is not tested: its classes are correlated)", pcols, 8);
        for (size_t c = 0; c < n_pr; c++) {
            const metrics_paired *p = &pr[c];
            em_cell v[8] = {{(double)c, NULL}, {p->auc1, NULL}, {p->auc2, NULL}, {p->diff, NULL}, {p->se, NULL},
                            {p->var1 > 0 && p->var2 > 0 ? p->cov / sqrt(p->var1 * p->var2) : NAN, NULL}, {p->z, NULL}, {p->p, NULL}};
            em_row(&e, v);
        }
        em_table_end(&e);
    }
    em_section_end(&e);
    /* bitwise */
    em_section(&e, "bitwise", "Bitwise comparison (raw stored bytes)");
    for (int g = 0; g < 3; g++) {
        if (opt->format == REPORT_JSON) {
            em_bool(&e, groups[g] + 1, groups[g], ident[g]);
        } else {
            char line[sizeof why[g] + 16];
            snprintf(line, sizeof line, "%s%s%.500s", ident[g] ? "identical" : "differ", ident[g] ? "" : ": ", why[g]);
            em_str(&e, groups[g] + 1, groups[g], line);
        }
    }
    em_bool(&e, "identical", "model and eval identical", ident[0] && ident[2]);
    if (ident[0] && ident[2]) em_note(&e, "bitwise identical (/model and /eval)");
    else em_note(&e, "not bitwise identical");
    em_section_end(&e);
    em_close(&e);
    if (fflush(out) != 0 || ferror(out)) rc = error_set(err, ERR_IO, "cannot write the comparison: %s", strerror(errno));
done:
    free(pr);
    if (rfile_free(&a) != 0 && rc == 0) rc = error_set(err, ERR_HDF5, "%s: closing the file failed", path_a);
    if (rfile_free(&b) != 0 && rc == 0) rc = error_set(err, ERR_HDF5, "%s: closing the file failed", path_b);
    quiet_off(&q);
    return rc;
}

/* ====================================================== plotting */

/* The plotting script: $RISKGRID_SCRIPTS/riskgrid-plot.py, else next to
 * the executable: <exe dir>/../scripts/, <exe dir>/../../scripts/,
 * <exe dir>/../share/riskgrid/. */
static int find_script(char *out, size_t n, rg_error *err)
{
    const char *env = getenv("RISKGRID_SCRIPTS");
    char exe[PATH_MAX];
    ssize_t l;
    static const char *const rel[3] = {"/../scripts/riskgrid-plot.py", "/../../scripts/riskgrid-plot.py",
                                       "/../share/riskgrid/riskgrid-plot.py"};
    if (env != NULL && env[0] != '\0') {
        snprintf(out, n, "%s/riskgrid-plot.py", env);
        if (access(out, R_OK) == 0) return 0;
        return error_set(err, ERR_IO, "RISKGRID_SCRIPTS=%s: no readable riskgrid-plot.py there", env);
    }
    l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l > 0) {
        char *slash;
        exe[l] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) *slash = '\0';
        for (int i = 0; i < 3; i++) {
            snprintf(out, n, "%s%s", exe, rel[i]);
            if (access(out, R_OK) == 0) return 0;
        }
    }
    return error_set(err, ERR_IO, "cannot find scripts/riskgrid-plot.py next to the executable (%s); set RISKGRID_SCRIPTS to the scripts directory",
                     l > 0 ? exe : "/proc/self/exe unreadable");
}

int report_plot(const char *path, const char *metrics_json, const char *dir, rg_error *err)
{
    char script[PATH_MAX + 64];
    const char *py = getenv("RISKGRID_PYTHON");
    pid_t pid;
    int st = 0, rc = 0;

    if (py == NULL || py[0] == '\0') py = "/usr/bin/python3";
    if ((rc = find_script(script, sizeof script, err)) != 0) return rc;
    if (access(py, X_OK) != 0) return error_set(err, ERR_IO, "cannot run the plotting interpreter %s: %s (set RISKGRID_PYTHON)", py, strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0) return error_set(err, ERR_IO, "fork failed: %s", strerror(errno));
    if (pid == 0) {
        char *const argv[] = {(char *)py, script, "--metrics", (char *)metrics_json, (char *)path, (char *)dir, NULL};
        execv(py, argv);
        fprintf(stderr, "riskgrid: error: cannot run %s: %s\n", py, strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return error_set(err, ERR_IO, "waitpid failed: %s", strerror(errno));
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return error_set(err, ERR_IO, "plotting failed (%s %s %s: %s %d); see the messages above", py, script, dir,
                         WIFEXITED(st) ? "exit code" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return 0;
}

/* ====================================================== command line */

static int parse_format(const char *s, int *fmt)
{
    if (strcmp(s, "text") == 0) *fmt = REPORT_TEXT;
    else if (strcmp(s, "json") == 0) *fmt = REPORT_JSON;
    else if (strcmp(s, "markdown") == 0 || strcmp(s, "md") == 0) *fmt = REPORT_MARKDOWN;
    else return -1;
    return 0;
}

static int parse_count(const char *s, size_t *v)
{
    char *end = NULL;
    unsigned long long x;
    if (s[0] < '0' || s[0] > '9') return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || x < 1 || x > 1000000) return -1;
    *v = (size_t)x;
    return 0;
}

/* "--opt value" or "--opt=value": the value, advancing *i; NULL if none */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t l = strlen(name);
    if (strncmp(argv[*i], name, l) == 0 && argv[*i][l] == '=') return argv[*i] + l + 1;
    if (strcmp(argv[*i], name) == 0) return *i + 1 < argc ? argv[++*i] : NULL;
    return NULL;
}

static int is_opt(const char *a, const char *name)
{
    size_t l = strlen(name);
    return strncmp(a, name, l) == 0 && (a[l] == '\0' || a[l] == '=');
}

static int usage_error(const char *cmd, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "riskgrid %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

int report_main(int argc, char **argv)
{
    report_options opt;
    const char *path = NULL, *png = NULL;
    char *json = NULL;
    FILE *jf = NULL;
    rg_error err;
    int rc = 0;

    error_clear(&err);
    report_options_default(&opt);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(USAGE_REPORT, stdout); return EXIT_OK; }
        if (is_opt(a, "--format")) {
            if ((v = opt_value(argc, argv, &i, "--format")) == NULL || parse_format(v, &opt.format) != 0)
                return usage_error("report", USAGE_REPORT, "--format: expected text, json or markdown");
        } else if (is_opt(a, "--png")) {
            if ((v = opt_value(argc, argv, &i, "--png")) == NULL || v[0] == '\0')
                return usage_error("report", USAGE_REPORT, "--png needs a directory");
            png = v;
        } else if (is_opt(a, "--top")) {
            if ((v = opt_value(argc, argv, &i, "--top")) == NULL || parse_count(v, &opt.top_k) != 0)
                return usage_error("report", USAGE_REPORT, "--top: expected an integer from 1 to 1000000");
        } else if (is_opt(a, "--bins")) {
            if ((v = opt_value(argc, argv, &i, "--bins")) == NULL || parse_count(v, &opt.bins) != 0)
                return usage_error("report", USAGE_REPORT, "--bins: expected an integer from 1 to 1000000");
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("report", USAGE_REPORT, "unknown option '%s'", a);
        } else if (path == NULL) {
            path = a;
        } else {
            return usage_error("report", USAGE_REPORT, "one result file expected, got '%s' and '%s'", path, a);
        }
    }
    if (path == NULL) return usage_error("report", USAGE_REPORT, "a result file is required");
    if ((rc = report_print(path, &opt, stdout, &err)) != 0) goto done;
    if (png != NULL) {
        report_options jo = opt;
        size_t l = strlen(png) + 16;
        jo.format = REPORT_JSON;
        if (mkdir(png, 0777) != 0 && errno != EEXIST) {
            rc = error_set(&err, ERR_IO, "cannot create the directory '%s': %s", png, strerror(errno));
            goto done;
        }
        json = malloc(l);
        if (json == NULL) { rc = error_set(&err, ERR_NOMEM, "out of memory"); goto done; }
        snprintf(json, l, "%s/report.json", png);
        jf = fopen(json, "w");
        if (jf == NULL) { rc = error_set(&err, ERR_IO, "cannot write '%s': %s", json, strerror(errno)); goto done; }
        if ((rc = report_print(path, &jo, jf, &err)) != 0) goto done;
        if (fclose(jf) != 0) {
            jf = NULL;
            rc = error_set(&err, ERR_IO, "cannot write '%s': %s", json, strerror(errno));
            goto done;
        }
        jf = NULL;
        if ((rc = report_plot(path, json, png, &err)) != 0) goto done;
    }
done:
    if (jf != NULL) fclose(jf);
    free(json);
    if (rc != 0) fprintf(stderr, "riskgrid: error: %s\n", err.msg);
    return error_exit_code(rc);
}

int report_compare_main(int argc, char **argv)
{
    report_options opt;
    const char *paths[2] = {NULL, NULL};
    int np = 0, rc;
    rg_error err;

    error_clear(&err);
    report_options_default(&opt);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(USAGE_COMPARE, stdout); return EXIT_OK; }
        if (is_opt(a, "--format")) {
            if ((v = opt_value(argc, argv, &i, "--format")) == NULL || parse_format(v, &opt.format) != 0)
                return usage_error("compare", USAGE_COMPARE, "--format: expected text, json or markdown");
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("compare", USAGE_COMPARE, "unknown option '%s'", a);
        } else if (np < 2) {
            paths[np++] = a;
        } else {
            return usage_error("compare", USAGE_COMPARE, "two result files expected, got a third: '%s'", a);
        }
    }
    if (np != 2) return usage_error("compare", USAGE_COMPARE, "two result files are required");
    rc = report_compare(paths[0], paths[1], &opt, stdout, &err);
    if (rc != 0) fprintf(stderr, "riskgrid: error: %s\n", err.msg);
    return error_exit_code(rc);
}
