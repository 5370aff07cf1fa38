/** \file config.c  Job file (INI, parsed by libinih) plus --set overrides
 *  turned into one validated config (see config.h and docs/jobfile.md).
 *
 *  Line numbers: Debian's libinih calls the handler without a line number,
 *  but ini_parse_string returns the line of the first line whose handler
 *  returned 0 (or that is not valid INI).  So the handler records the
 *  first problem and returns 0; the caller formats the message with the
 *  returned line.  A second pass whose handler accepts everything tells a
 *  syntax error apart from a handler failure; a pass whose handler fails
 *  on one given key finds that key's line (for duplicate keys and the
 *  batch_size / virtual_shards check).  These passes are exact because the
 *  pre-scan refuses the two things that would break "one handler call per
 *  key line": over-long lines (libinih splits them) and indented
 *  continuation lines (libinih calls the handler again with the same key).
 */
#include "riskgrid/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

/* Debian's libinih: INI_MAX_LINE 200 bytes including "\r\n\0". */
#define RG_INI_LINE_MAX 197
#define RG_JOB_FILE_MAX ((size_t)1024 * 1024)
#define RG_AXIS_MAX 100000
#define RG_WHY_MAX 256
#define RG_FIELD_MAX 256   /* > RG_INI_LINE_MAX: any section/key/value fits */
#define RG_SHOW_MAX 96     /* bytes of a value quoted in a message */

const char *const config_axis_names[GRID_NAXES] = {
    "demand", "competition", "service", "marketing"
};

/* ---- key table ---------------------------------------------------------- */

/* Order: the canonical text lists keys in this order; the grid keys follow
 * GRID_* order so that K_GRID_DEMAND + axis is the axis' key. */
enum key_id {
    K_DATA_PATH, K_DATA_FORMAT, K_DATA_DELIMITER, K_DATA_LABEL, K_DATA_DROP,
    K_DATA_CATEGORICAL, K_DATA_TEST_FRACTION, K_DATA_TEST_PATH,
    K_DATA_STANDARDIZE, K_DATA_HDF5_FEATURES, K_DATA_HDF5_LABEL,
    K_MODEL_HIDDEN, K_MODEL_OUTPUT,
    K_TRAIN_EPOCHS, K_TRAIN_BATCH_SIZE, K_TRAIN_LEARNING_RATE, K_TRAIN_BETA1,
    K_TRAIN_BETA2, K_TRAIN_EPSILON, K_TRAIN_SEED, K_TRAIN_VIRTUAL_SHARDS, K_TRAIN_STALL_TIMEOUT,
    K_GRID_DEMAND, K_GRID_COMPETITION, K_GRID_SERVICE, K_GRID_MARKETING,
    K_GRID_REFERENCE,
    K_OUTPUT_PATH, K_OUTPUT_OVERWRITE, K_OUTPUT_CHECKPOINT_PATH, K_OUTPUT_CHECKPOINT_EVERY, K_OUTPUT_COMPRESSION,
    K_COUNT
};

static const struct key_info {
    const char *section;
    const char *name;
} key_table[K_COUNT] = {
    {"data", "path"}, {"data", "format"}, {"data", "delimiter"},
    {"data", "label"}, {"data", "drop"}, {"data", "categorical"},
    {"data", "test_fraction"}, {"data", "test_path"}, {"data", "standardize"},
    {"data", "hdf5_features"}, {"data", "hdf5_label"},
    {"model", "hidden"}, {"model", "output"},
    {"train", "epochs"}, {"train", "batch_size"}, {"train", "learning_rate"},
    {"train", "beta1"}, {"train", "beta2"}, {"train", "epsilon"},
    {"train", "seed"}, {"train", "virtual_shards"}, {"train", "stall_timeout"},
    {"grid", "demand"}, {"grid", "competition"}, {"grid", "service"},
    {"grid", "marketing"}, {"grid", "reference"},
    {"output", "path"}, {"output", "overwrite"},
    {"output", "checkpoint_path"}, {"output", "checkpoint_every"}, {"output", "compression"},
};

#define N_SECTIONS 5
static const char *const section_names[N_SECTIONS] = {
    "data", "model", "train", "grid", "output"
};

enum { SRC_DEFAULT = 0, SRC_FILE = 1, SRC_SET = 2 };

enum { FAIL_NONE = 0, FAIL_VALUE, FAIL_UNKNOWN, FAIL_DUPLICATE, FAIL_NOMEM };

typedef struct parse_state {
    config *cfg;
    char *job_dir;           /* NULL: job_path has no '/', keep paths as given */
    int src[K_COUNT];        /* SRC_* of each key's current value */
    int set_index[K_COUNT];  /* index of the --set that set it (src == SRC_SET) */
    /* the first problem the file handler met (fail == FAIL_NONE: none) */
    int fail;
    char fail_section[RG_FIELD_MAX];
    char fail_name[RG_FIELD_MAX];
    char fail_value[RG_FIELD_MAX];
    char fail_why[RG_WHY_MAX];  /* message tail after "[s] k = 'v': " */
} parse_state;

/* ---- small helpers ------------------------------------------------------ */

/* A value shortened for a message (error_set escapes control bytes). */
static void show(char *dst, size_t n, const char *v)
{
    if (strlen(v) <= RG_SHOW_MAX)
        snprintf(dst, n, "%s", v);
    else
        snprintf(dst, n, "%.*s...", RG_SHOW_MAX, v);
}

static void why_set(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

/* key_id of section.name, or -1. */
static int find_key(const char *section, const char *name)
{
    int id = -1;
    for (int i = 0; i < K_COUNT && id < 0; i++)
        if (strcmp(key_table[i].section, section) == 0 && strcmp(key_table[i].name, name) == 0)
            id = i;
    return id;
}

static int is_section(const char *s)
{
    int found = 0;
    for (int i = 0; i < N_SECTIONS && !found; i++)
        found = strcmp(section_names[i], s) == 0;
    return found;
}

/* Optimal-string-alignment distance (adjacent transposition costs 1);
 * strings longer than 63 bytes count as "far" (returns 99). */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int d[64][64];
    int result = 99;
    if (la <= 63 && lb <= 63) {
        for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
        for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
        for (size_t i = 1; i <= la; i++) {
            for (size_t j = 1; j <= lb; j++) {
                int cost = a[i - 1] != b[j - 1];
                int best = d[i - 1][j] + 1;
                if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
                if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                    && d[i - 2][j - 2] + 1 < best)
                    best = d[i - 2][j - 2] + 1;
                d[i][j] = best;
            }
        }
        result = d[la][lb];
    }
    return result;
}

/* The message tail for a key that is not in key_table: a suggestion when a
 * key within edit distance 2 exists (same section preferred), otherwise
 * the list of valid keys of a known section. */
static void unknown_key_why(char *why, size_t n, const char *section, const char *name)
{
    int best = -1, best_d = 3;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (int i = 0; i < K_COUNT; i++) {
            int same = strcmp(key_table[i].section, section) == 0;
            if (pass == 0 ? !same : same) continue;
            int d = edit_distance(name, key_table[i].name);
            if (d < best_d) { best_d = d; best = i; }
        }
    }
    if (!is_section(section)) {
        if (section[0] == '\0' && best >= 0)
            why_set(why, n, "key outside any [section]; did you mean [%s] %s?",
                    key_table[best].section, key_table[best].name);
        else if (section[0] == '\0')
            why_set(why, n, "key outside any [section]; sections are [data], [model], [train], [grid], [output]");
        else
            why_set(why, n, "unknown section; sections are [data], [model], [train], [grid], [output]");
    } else if (best >= 0 && strcmp(key_table[best].section, section) == 0) {
        why_set(why, n, "unknown key; did you mean '%s'?", key_table[best].name);
    } else if (best >= 0) {
        why_set(why, n, "unknown key in [%s]; did you mean [%s] %s?", section,
                key_table[best].section, key_table[best].name);
    } else {
        size_t o = 0;
        const char *sep = "";
        o += (size_t)snprintf(why, n, "unknown key; keys of [%s]:", section);
        for (int i = 0; i < K_COUNT && o < n; i++) {
            if (strcmp(key_table[i].section, section) != 0) continue;
            o += (size_t)snprintf(why + o, n - o, "%s %s", sep, key_table[i].name);
            sep = ",";
        }
    }
}

/* Trimmed copy of [b, e) into a new string (NULL on allocation failure). */
static char *dup_trim(const char *b, const char *e)
{
    char *s = NULL;
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    s = malloc((size_t)(e - b) + 1);
    if (s != NULL) {
        memcpy(s, b, (size_t)(e - b));
        s[e - b] = '\0';
    }
    return s;
}

static void free_list(char **items, int n)
{
    if (items == NULL) return;
    for (int i = 0; i < n; i++) free(items[i]);
    free(items);
}

/* ---- value parsers: 0 or -1 (the caller words the message) --------------- */

/* Whole-string decimal unsigned 64-bit integer; no sign, no spaces. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int rc = *s == '\0' ? -1 : 0;
    for (; rc == 0 && *s != '\0'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - d) / 10) rc = -1;
        else v = v * 10 + d;
    }
    if (rc == 0) *out = v;
    return rc;
}

/* Whole-string decimal integer in [lo, hi], 0 <= lo (no sign accepted). */
static int parse_int(const char *s, long lo, long hi, int *out)
{
    uint64_t v = 0;
    int rc = 0;
    if (parse_u64(s, &v) != 0 || v < (uint64_t)lo || v > (uint64_t)hi) rc = -1;
    else *out = (int)v;
    return rc;
}

/* Whole-string finite double (C locale strtod syntax); -0 becomes 0. */
static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v = 0;
    int rc = -1;
    if (*s != '\0' && !isspace((unsigned char)*s)) {
        errno = 0;
        v = strtod(s, &end);
        if (end != s && *end == '\0' && errno != ERANGE && isfinite(v)) {
            *out = v == 0.0 ? 0.0 : v;
            rc = 0;
        }
    }
    return rc;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const t[] = {"true", "yes", "1", "on"};
    static const char *const f[] = {"false", "no", "0", "off"};
    int rc = -1;
    for (int i = 0; i < 4 && rc != 0; i++) {
        if (strcasecmp(s, t[i]) == 0) { *out = 1; rc = 0; }
        else if (strcasecmp(s, f[i]) == 0) { *out = 0; rc = 0; }
    }
    return rc;
}

/* Comma-separated names, each trimmed, non-empty and distinct.  "" gives
 * an empty list.  On success the old list is replaced. */
static int parse_name_list(const char *s, char ***items, int *n, char *why, size_t whylen)
{
    char **list = NULL;
    int count = 0, cap = 0, rc = 0;
    const char *p = s;
    while (*p != '\0' && isspace((unsigned char)*p)) p++;
    if (*p != '\0') {
        for (;;) {
            const char *comma = strchr(p, ',');
            const char *end = comma != NULL ? comma : p + strlen(p);
            char *item = NULL;
            if (count == cap) {
                int ncap = cap == 0 ? 8 : cap * 2;
                char **grown = realloc(list, (size_t)ncap * sizeof *grown);
                if (grown == NULL) { rc = ERR_NOMEM; goto done; }
                list = grown;
                cap = ncap;
            }
            item = dup_trim(p, end);
            if (item == NULL) { rc = ERR_NOMEM; goto done; }
            if (item[0] == '\0') {
                free(item);
                why_set(why, whylen, "a comma-separated list of column names (item %d is empty)", count + 1);
                rc = ERR_USAGE;
                goto done;
            }
            for (int i = 0; i < count; i++) {
                if (strcmp(list[i], item) == 0) {
                    why_set(why, whylen, "a comma-separated list of distinct column names ('%s' is listed twice)", item);
                    free(item);
                    rc = ERR_USAGE;
                    goto done;
                }
            }
            list[count++] = item;
            if (comma == NULL) break;
            p = comma + 1;
        }
    }
    free_list(*items, *n);
    *items = list;
    *n = count;
    list = NULL;
done:
    if (rc != 0) free_list(list, count);
    return rc;
}

/* Grid axis (see config_parse_axis); on failure why says what was expected. */
static int axis_parse(const char *text, double **vals, int *n, char *why, size_t whylen)
{
    static const char *const form =
        "'start:stop:count' or a comma-separated list of values in [0, 1]";
    double *v = NULL;
    char *copy = NULL;
    int count = 0, rc = 0;
    const char *colon = strchr(text, ':');

    *vals = NULL;
    *n = 0;
    if (colon != NULL) {
        /* start:stop:count, inclusive ends */
        const char *colon2 = strchr(colon + 1, ':');
        char *fs = NULL, *fe = NULL, *fc = NULL;
        double start = 0, stop = 0;
        int bad = 0;
        if (colon2 == NULL || strchr(colon2 + 1, ':') != NULL) {
            why_set(why, whylen, "%s (a range has exactly two ':')", form);
            rc = ERR_USAGE;
            goto done;
        }
        fs = dup_trim(text, colon);
        fe = dup_trim(colon + 1, colon2);
        fc = dup_trim(colon2 + 1, colon2 + strlen(colon2));
        if (fs == NULL || fe == NULL || fc == NULL) {
            rc = ERR_NOMEM;
        } else if (parse_double(fs, &start) != 0 || start < 0.0 || start > 1.0) {
            why_set(why, whylen, "%s (start '%s' is not a number in [0, 1])", form, fs);
            bad = 1;
        } else if (parse_double(fe, &stop) != 0 || stop < 0.0 || stop > 1.0) {
            why_set(why, whylen, "%s (stop '%s' is not a number in [0, 1])", form, fe);
            bad = 1;
        } else if (parse_int(fc, 1, RG_AXIS_MAX, &count) != 0) {
            why_set(why, whylen, "%s (count '%s' is not an integer in [1, %d])", form, fc, RG_AXIS_MAX);
            bad = 1;
        } else if (count > 1 && start == stop) {
            why_set(why, whylen, "%s (start == stop with count %d repeats one value)", form, count);
            bad = 1;
        }
        free(fs);
        free(fe);
        free(fc);
        if (rc != 0) goto done;
        if (bad) { rc = ERR_USAGE; goto done; }
        v = malloc((size_t)count * sizeof *v);
        if (v == NULL) { rc = ERR_NOMEM; goto done; }
        v[0] = start;
        if (count > 1) {
            double lo = start < stop ? start : stop, hi = start < stop ? stop : start;
            for (int i = 1; i < count - 1; i++) {
                double x = start + (double)i * (stop - start) / (double)(count - 1);
                /* rounding must not leave [lo, hi] (and so [0, 1]) */
                v[i] = x < lo ? lo : x > hi ? hi : x;
            }
            v[count - 1] = stop;
        }
    } else {
        /* explicit list */
        const char *p = text;
        int cap = 0;
        for (;;) {
            const char *comma = strchr(p, ',');
            const char *end = comma != NULL ? comma : p + strlen(p);
            double x = 0;
            copy = dup_trim(p, end);
            if (copy == NULL) { rc = ERR_NOMEM; goto done; }
            if (copy[0] == '\0') {
                if (count == 0 && comma == NULL)
                    why_set(why, whylen, "%s (the axis is empty)", form);
                else
                    why_set(why, whylen, "%s (value %d is empty)", form, count + 1);
                rc = ERR_USAGE;
                goto done;
            }
            if (parse_double(copy, &x) != 0 || x < 0.0 || x > 1.0) {
                why_set(why, whylen, "%s ('%s' is not a number in [0, 1])", form, copy);
                rc = ERR_USAGE;
                goto done;
            }
            for (int i = 0; i < count; i++) {
                if (v[i] == x) {
                    why_set(why, whylen, "%s of distinct values ('%s' is listed twice)", form, copy);
                    rc = ERR_USAGE;
                    goto done;
                }
            }
            if (count == RG_AXIS_MAX) {
                why_set(why, whylen, "%s of at most %d values", form, RG_AXIS_MAX);
                rc = ERR_USAGE;
                goto done;
            }
            if (count == cap) {
                int ncap = cap == 0 ? 16 : cap * 2;
                double *grown = realloc(v, (size_t)ncap * sizeof *grown);
                if (grown == NULL) { rc = ERR_NOMEM; goto done; }
                v = grown;
                cap = ncap;
            }
            v[count++] = x;
            free(copy);
            copy = NULL;
            if (comma == NULL) break;
            p = comma + 1;
        }
    }
    *vals = v;
    *n = count;
    v = NULL;
done:
    free(copy);
    free(v);
    return rc;
}

int config_parse_axis(const char *text, double **vals, int *n, rg_error *err)
{
    char why[RG_WHY_MAX] = "";
    char shown[RG_FIELD_MAX];
    char *trimmed = NULL;
    int rc = 0;
    if (vals != NULL) *vals = NULL;
    if (n != NULL) *n = 0;
    if (text == NULL || vals == NULL || n == NULL) {
        rc = error_set(err, ERR_INTERNAL, "config_parse_axis: NULL argument");
        goto done;
    }
    trimmed = dup_trim(text, text + strlen(text));
    if (trimmed == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory parsing a grid axis"); goto done; }
    rc = axis_parse(trimmed, vals, n, why, sizeof why);
    if (rc == ERR_NOMEM) {
        error_set(err, rc, "out of memory parsing a grid axis");
    } else if (rc != 0) {
        show(shown, sizeof shown, trimmed);
        error_set(err, rc, "grid axis '%s': expected %s", shown, why);
    }
done:
    free(trimmed);
    return rc;
}

/* ---- applying one value -------------------------------------------------- */

static int set_string(char **dst, const char *s)
{
    char *copy = strdup(s);
    int rc = ERR_NOMEM;
    if (copy != NULL) {
        free(*dst);
        *dst = copy;
        rc = 0;
    }
    return rc;
}

/* dir/p for a relative p when dir is known, else p as given. */
static int resolve_path(const char *dir, const char *p, char **dst)
{
    char *r = NULL;
    size_t ld = 0;
    int rc = 0;
    if (dir == NULL || p[0] == '/') {
        rc = set_string(dst, p);
        goto done;
    }
    ld = strlen(dir);
    r = malloc(ld + 1 + strlen(p) + 1);
    if (r == NULL) { rc = ERR_NOMEM; goto done; }
    sprintf(r, "%s%s%s", dir, (ld > 0 && dir[ld - 1] == '/') ? "" : "/", p);
    free(*dst);
    *dst = r;
done:
    return rc;
}

/* expect_*: 0 and *out set, or ERR_USAGE with why saying what was expected. */
static int expect_int(const char *v, long lo, long hi, int *out, char *why, size_t n)
{
    int rc = 0;
    if (parse_int(v, lo, hi, out) != 0) {
        why_set(why, n, "an integer in [%ld, %ld]", lo, hi);
        rc = ERR_USAGE;
    }
    return rc;
}

/* Unit interval variants: closed [0, 1], half-open [0, 1). */
static int expect_unit(const char *v, int open_top, double *out, char *why, size_t n)
{
    double x = 0;
    int rc = 0;
    if (parse_double(v, &x) == 0 && x >= 0.0 && (open_top ? x < 1.0 : x <= 1.0)) {
        *out = x;
    } else {
        why_set(why, n, "a number in [0, 1%s", open_top ? ")" : "]");
        rc = ERR_USAGE;
    }
    return rc;
}

static int expect_positive(const char *v, double *out, char *why, size_t n)
{
    double x = 0;
    int rc = 0;
    if (parse_double(v, &x) == 0 && x > 0.0) {
        *out = x;
    } else {
        why_set(why, n, "a finite number > 0");
        rc = ERR_USAGE;
    }
    return rc;
}

static int expect_bool(const char *v, int *out, char *why, size_t n)
{
    int rc = 0;
    if (parse_bool(v, out) != 0) {
        why_set(why, n, "true/false, yes/no, on/off or 1/0");
        rc = ERR_USAGE;
    }
    return rc;
}

static int expect_nonempty(const char *v, const char *what, char *why, size_t n)
{
    int rc = 0;
    if (v[0] == '\0') {
        why_set(why, n, "%s (must not be empty)", what);
        rc = ERR_USAGE;
    }
    return rc;
}

/* Set key id from value (already trimmed).  Paths from the file resolve
 * against the job file's directory; from --set they are kept as given.
 * Returns 0, ERR_USAGE (why: what was expected) or ERR_NOMEM.  On failure
 * the config is unchanged. */
static int apply(parse_state *st, int id, const char *v, int from_file, char *why, size_t n)
{
    config *c = st->cfg;
    const char *dir = from_file ? st->job_dir : NULL;
    int rc = 0, iv = 0;
    double dv = 0;
    switch (id) {
    case K_DATA_PATH:
        rc = expect_nonempty(v, "a path to the training data (required)", why, n);
        if (rc == 0) rc = resolve_path(dir, v, &c->data_path);
        break;
    case K_DATA_FORMAT:
        if (strcasecmp(v, "auto") == 0) c->data_format = CONFIG_FORMAT_AUTO;
        else if (strcasecmp(v, "csv") == 0) c->data_format = CONFIG_FORMAT_CSV;
        else if (strcasecmp(v, "hdf5") == 0) c->data_format = CONFIG_FORMAT_HDF5;
        else { why_set(why, n, "auto, csv or hdf5"); rc = ERR_USAGE; }
        break;
    case K_DATA_DELIMITER:
        if (strcasecmp(v, "tab") == 0 || strcmp(v, "\\t") == 0) c->delimiter = '\t';
        else if (strcasecmp(v, "semicolon") == 0) c->delimiter = ';';
        else if (strlen(v) == 1 && isgraph((unsigned char)v[0]) && !isalnum((unsigned char)v[0])
                 && strchr("\".+-", v[0]) == NULL)
            c->delimiter = v[0];
        else {
            why_set(why, n, "one punctuation character (not '\"', '.', '+', '-'), 'tab', '\\t' or 'semicolon'");
            rc = ERR_USAGE;
        }
        break;
    case K_DATA_LABEL:
        rc = expect_nonempty(v, "the label column name", why, n);
        if (rc == 0) rc = set_string(&c->label, v);
        break;
    case K_DATA_DROP:
        rc = parse_name_list(v, &c->drop, &c->n_drop, why, n);
        break;
    case K_DATA_CATEGORICAL:
        if (strcasecmp(v, "auto") == 0 || strcasecmp(v, "none") == 0) {
            free_list(c->categorical, c->n_categorical);
            c->categorical = NULL;
            c->n_categorical = 0;
            c->categorical_mode = tolower((unsigned char)v[0]) == 'a' ? CONFIG_CAT_AUTO : CONFIG_CAT_NONE;
        } else if (v[0] == '\0') {
            why_set(why, n, "auto, none or a comma-separated list of column names");
            rc = ERR_USAGE;
        } else {
            rc = parse_name_list(v, &c->categorical, &c->n_categorical, why, n);
            if (rc == 0) c->categorical_mode = CONFIG_CAT_LIST;
        }
        break;
    case K_DATA_TEST_FRACTION:
        rc = expect_unit(v, 1, &c->test_fraction, why, n);
        break;
    case K_DATA_TEST_PATH:
        if (v[0] == '\0') {      /* "" clears it: split off test_fraction */
            free(c->test_path);
            c->test_path = NULL;
        } else {
            rc = resolve_path(dir, v, &c->test_path);
        }
        break;
    case K_DATA_STANDARDIZE:
        rc = expect_bool(v, &c->standardize, why, n);
        break;
    case K_DATA_HDF5_FEATURES:
        rc = expect_nonempty(v, "an HDF5 dataset name", why, n);
        if (rc == 0) rc = set_string(&c->hdf5_features, v);
        break;
    case K_DATA_HDF5_LABEL:
        rc = expect_nonempty(v, "an HDF5 dataset name", why, n);
        if (rc == 0) rc = set_string(&c->hdf5_label, v);
        break;
    case K_MODEL_HIDDEN:
        rc = expect_int(v, 1, 65536, &c->hidden, why, n);
        break;
    case K_MODEL_OUTPUT:
        if (strcasecmp(v, "auto") == 0) c->output = CONFIG_OUTPUT_AUTO;
        else if (strcasecmp(v, "sigmoid") == 0) c->output = CONFIG_OUTPUT_SIGMOID;
        else if (strcasecmp(v, "softmax") == 0) c->output = CONFIG_OUTPUT_SOFTMAX;
        else { why_set(why, n, "auto, sigmoid or softmax"); rc = ERR_USAGE; }
        break;
    case K_TRAIN_EPOCHS:
        rc = expect_int(v, 1, 1000000, &c->epochs, why, n);
        break;
    case K_TRAIN_BATCH_SIZE:
        rc = expect_int(v, 1, 2147483647L, &c->batch_size, why, n);
        break;
    case K_TRAIN_LEARNING_RATE:
        rc = expect_positive(v, &c->learning_rate, why, n);
        break;
    case K_TRAIN_BETA1:
        rc = expect_unit(v, 1, &c->beta1, why, n);
        break;
    case K_TRAIN_BETA2:
        rc = expect_unit(v, 1, &c->beta2, why, n);
        break;
    case K_TRAIN_EPSILON:
        rc = expect_positive(v, &c->epsilon, why, n);
        break;
    case K_TRAIN_SEED:
        if (parse_u64(v, &c->seed) != 0) {
            why_set(why, n, "an unsigned 64-bit decimal integer (0 to %" PRIu64 ")", UINT64_MAX);
            rc = ERR_USAGE;
        }
        break;
    case K_TRAIN_VIRTUAL_SHARDS:
        rc = expect_int(v, 1, 65536, &c->virtual_shards, why, n);
        break;
    case K_GRID_DEMAND: case K_GRID_COMPETITION: case K_GRID_SERVICE: case K_GRID_MARKETING: {
        double *vals = NULL;
        int axis = id - K_GRID_DEMAND;
        rc = axis_parse(v, &vals, &iv, why, n);
        if (rc == 0) {
            free(c->axis[axis]);
            c->axis[axis] = vals;
            c->axis_len[axis] = iv;
        }
        break;
    }
    case K_GRID_REFERENCE: {
        double ref[GRID_NAXES];
        const char *p = v;
        int k = 0;
        for (;;) {
            const char *comma = strchr(p, ',');
            const char *end = comma != NULL ? comma : p + strlen(p);
            char *item = NULL;
            if (k == GRID_NAXES) { rc = ERR_USAGE; break; }
            item = dup_trim(p, end);
            if (item == NULL) { rc = ERR_NOMEM; break; }
            if (parse_double(item, &dv) != 0 || dv < 0.0 || dv > 1.0) rc = ERR_USAGE;
            free(item);
            if (rc != 0) break;
            ref[k++] = dv;
            if (comma == NULL) break;
            p = comma + 1;
        }
        if (rc == 0 && k != GRID_NAXES) rc = ERR_USAGE;
        if (rc == ERR_USAGE)
            why_set(why, n, "4 comma-separated values in [0, 1] (demand, competition, service, marketing)");
        if (rc == 0) memcpy(c->reference, ref, sizeof ref);
        break;
    }
    case K_OUTPUT_PATH:
        rc = expect_nonempty(v, "an output file path", why, n);
        if (rc == 0) rc = resolve_path(dir, v, &c->out_path);
        break;
    case K_OUTPUT_OVERWRITE:
        rc = expect_bool(v, &c->overwrite, why, n);
        break;
    case K_OUTPUT_CHECKPOINT_PATH:
        rc = expect_nonempty(v, "a checkpoint file path", why, n);
        if (rc == 0) rc = resolve_path(dir, v, &c->checkpoint_path);
        break;
    case K_OUTPUT_COMPRESSION:
        if (strcasecmp(v, "none") == 0) c->compression = 0;
        else if (strncasecmp(v, "deflate-", 8) == 0 && v[8] >= '1' && v[8] <= '9' && v[9] == '\0') c->compression = v[8] - '0';
        else { why_set(why, n, "none or deflate-N with N from 1 to 9 (gzip level; the shuffle filter is added)"); rc = ERR_USAGE; }
        break;
    case K_OUTPUT_CHECKPOINT_EVERY:
        rc = expect_int(v, 0, 1000000, &c->checkpoint_every, why, n);
        break;
    case K_TRAIN_STALL_TIMEOUT:
        if (parse_double(v, &dv) == 0 && dv >= 0.0 && dv <= 1e7) c->stall_timeout = dv;
        else { why_set(why, n, "seconds, a number in [0, 1e7] (0 = no stall detection)"); rc = ERR_USAGE; }
        break;
    default:
        why_set(why, n, "a known key (internal error)");
        rc = ERR_USAGE;
        break;
    }
    if (rc == ERR_NOMEM) why_set(why, n, "(out of memory)");
    return rc;
}

/* ---- the file pass -------------------------------------------------------- */

static void record_fail(parse_state *st, int kind, const char *section, const char *name, const char *value)
{
    st->fail = kind;
    snprintf(st->fail_section, sizeof st->fail_section, "%s", section);
    snprintf(st->fail_name, sizeof st->fail_name, "%s", name);
    show(st->fail_value, sizeof st->fail_value, value);
}

/* Contract with ini_parse_string: returns 0 exactly once, on the first
 * problem, so that the parse's return value is that problem's line. */
static int file_handler(void *user, const char *section, const char *name, const char *value)
{
    parse_state *st = user;
    int id = -1, rc = 0, ok = 1;
    if (st->fail != FAIL_NONE) goto done;
    id = find_key(section, name);
    if (id < 0) {
        record_fail(st, FAIL_UNKNOWN, section, name, value);
        unknown_key_why(st->fail_why, sizeof st->fail_why, section, name);
        ok = 0;
        goto done;
    }
    if (st->src[id] == SRC_FILE) {
        record_fail(st, FAIL_DUPLICATE, section, name, value);
        ok = 0;
        goto done;
    }
    rc = apply(st, id, value, 1, st->fail_why, sizeof st->fail_why);
    if (rc != 0) {
        record_fail(st, rc == ERR_NOMEM ? FAIL_NOMEM : FAIL_VALUE, section, name, value);
        ok = 0;
        goto done;
    }
    st->src[id] = SRC_FILE;
done:
    return ok;
}

static int accept_handler(void *user, const char *section, const char *name, const char *value)
{
    (void)user; (void)section; (void)name; (void)value;
    return 1;
}

typedef struct locate_target { const char *section, *name; } locate_target;

static int locate_handler(void *user, const char *section, const char *name, const char *value)
{
    const locate_target *t = user;
    (void)value;
    return !(strcmp(t->section, section) == 0 && strcmp(t->name, name) == 0);
}

/* Line of the first occurrence of a key (0: absent).  Only valid on text
 * already known to be free of syntax errors. */
static int locate_line(const char *text, int id)
{
    locate_target t = {key_table[id].section, key_table[id].name};
    int r = ini_parse_string(text, locate_handler, &t);
    return r > 0 ? r : 0;
}

/* Copy of line `lineno` (1-based) of text, trimmed and shortened. */
static void line_text(char *dst, size_t n, const char *text, int lineno)
{
    const char *p = text, *e = NULL;
    char tmp[RG_FIELD_MAX];
    for (int l = 1; l < lineno && p != NULL; l++) {
        p = strchr(p, '\n');
        if (p != NULL) p++;
    }
    if (p == NULL) p = "";
    e = strchr(p, '\n');
    if (e == NULL) e = p + strlen(p);
    while (p < e && isspace((unsigned char)*p)) p++;
    while (e > p && isspace((unsigned char)e[-1])) e--;
    snprintf(tmp, sizeof tmp, "%.*s", (int)((size_t)(e - p) < sizeof tmp - 1 ? (size_t)(e - p) : sizeof tmp - 1), p);
    show(dst, n, tmp);
}

/* libinih's inline-comment rule: ';' after whitespace starts a comment.
 * Returns the first byte of [s, e) in chars (or the comment start, or e). */
static const char *find_chars_or_comment(const char *s, const char *e, const char *chars)
{
    int was_space = 0;
    for (; s < e; s++) {
        if ((chars != NULL && strchr(chars, *s) != NULL) || (was_space && *s == ';')) break;
        was_space = isspace((unsigned char)*s) != 0;
    }
    return s;
}

/* Before libinih sees the text: refuse lines libinih would split (longer
 * than RG_INI_LINE_MAX bytes), indented lines libinih would take as the
 * continuation of the previous value, and unknown [section] headers (so
 * that an empty misspelt section is caught too, on its own line).  The
 * classification follows libinih 55's ini_parse_stream. */
static int prescan(const char *path, const char *text, rg_error *err)
{
    const char *p = text;
    int lineno = 0, prev_key = 0, rc = 0;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        const char *end = nl != NULL ? nl : p + strlen(p);
        const char *s = p, *e = end;
        size_t len = (size_t)(end - p);
        lineno++;
        if (len > 0 && p[len - 1] == '\r') len--;
        if (len > RG_INI_LINE_MAX) {
            rc = error_set(err, ERR_USAGE,
                           "%s:%d: line is %zu bytes long: expected at most %d bytes per line "
                           "(libinih's limit); write a long grid axis as start:stop:count",
                           path, lineno, len, RG_INI_LINE_MAX);
            goto done;
        }
        if (lineno == 1 && len >= 3 && (unsigned char)p[0] == 0xEF
            && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
            s += 3;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        while (s < e && isspace((unsigned char)*s)) s++;
        if (s == e || *s == ';' || *s == '#') {
            /* blank or comment */
        } else if (prev_key && s > p) {
            char shown[RG_FIELD_MAX];
            line_text(shown, sizeof shown, text, lineno);
            rc = error_set(err, ERR_USAGE,
                           "%s:%d: indented line '%s': expected no leading whitespace "
                           "(an indented line continues the previous key's value, INI multi-line syntax; "
                           "riskgrid does not allow that)", path, lineno, shown);
            goto done;
        } else if (*s == '[') {
            const char *close = find_chars_or_comment(s + 1, e, "]");
            if (close < e && *close == ']') {
                char name[RG_FIELD_MAX];
                snprintf(name, sizeof name, "%.*s", (int)(close - s - 1), s + 1);
                if (!is_section(name)) {
                    int best = -1, best_d = 3;
                    char shown[RG_FIELD_MAX];
                    for (int i = 0; i < N_SECTIONS; i++) {
                        int d = edit_distance(name, section_names[i]);
                        if (d < best_d) { best_d = d; best = i; }
                    }
                    show(shown, sizeof shown, name);
                    if (best >= 0)
                        rc = error_set(err, ERR_USAGE, "%s:%d: [%s]: unknown section; did you mean [%s]?",
                                       path, lineno, shown, section_names[best]);
                    else
                        rc = error_set(err, ERR_USAGE,
                                       "%s:%d: [%s]: unknown section; expected [data], [model], [train], [grid] or [output]",
                                       path, lineno, shown);
                    goto done;
                }
                prev_key = 0;
            }
        } else {
            const char *sep = find_chars_or_comment(s, e, "=:");
            if (sep < e && (*sep == '=' || *sep == ':')) prev_key = 1;
        }
        p = nl != NULL ? nl + 1 : end;
    }
done:
    return rc;
}

/* Parse the file text into st->cfg; err gets the first problem. */
static int parse_file(parse_state *st, const char *path, const char *text, rg_error *err)
{
    int rc = 0, ret = 0;
    rc = prescan(path, text, err);
    if (rc != 0) goto done;
    ret = ini_parse_string(text, file_handler, st);
    if (ret == -2 || st->fail == FAIL_NOMEM) {
        rc = error_set(err, ERR_NOMEM, "%s: out of memory while parsing", path);
        goto done;
    }
    if (ret < 0) {
        rc = error_set(err, ERR_INTERNAL, "%s: ini_parse_string returned %d", path, ret);
        goto done;
    }
    if (ret == 0 && st->fail == FAIL_NONE) goto done;
    if (ret == 0) {
        rc = error_set(err, ERR_INTERNAL, "%s: handler failed but ini_parse_string returned 0", path);
        goto done;
    }
    if (st->fail == FAIL_NONE || ini_parse_string(text, accept_handler, NULL) == ret) {
        /* libinih itself refused line ret, before any handler failure */
        char shown[RG_FIELD_MAX];
        line_text(shown, sizeof shown, text, ret);
        rc = error_set(err, ERR_USAGE,
                       "%s:%d: '%s': expected '[section]', 'key = value' or a comment", path, ret, shown);
        goto done;
    }
    switch (st->fail) {
    case FAIL_VALUE:
        rc = error_set(err, ERR_USAGE, "%s:%d: [%s] %s = '%s': expected %s", path, ret,
                       st->fail_section, st->fail_name, st->fail_value, st->fail_why);
        break;
    case FAIL_UNKNOWN:
        rc = error_set(err, ERR_USAGE, "%s:%d: [%s] %s = '%s': %s", path, ret,
                       st->fail_section, st->fail_name, st->fail_value, st->fail_why);
        break;
    default: { /* FAIL_DUPLICATE */
        int first = locate_line(text, find_key(st->fail_section, st->fail_name));
        rc = error_set(err, ERR_USAGE, "%s:%d: [%s] %s = '%s': duplicate key (already set on line %d); "
                       "expected each key once per file", path, ret,
                       st->fail_section, st->fail_name, st->fail_value, first);
        break;
    }
    }
done:
    return rc;
}

/* ---- overrides ----------------------------------------------------------- */

static int apply_override(parse_state *st, const char *o, int index, rg_error *err)
{
    char shown[RG_FIELD_MAX];
    char why[RG_WHY_MAX] = "";
    char *section = NULL, *name = NULL, *value = NULL;
    const char *eq = NULL, *dot = NULL;
    int rc = 0, id = -1;

    show(shown, sizeof shown, o);
    eq = strchr(o, '=');
    dot = eq != NULL ? memchr(o, '.', (size_t)(eq - o)) : NULL;
    if (strchr(o, '\n') != NULL || strchr(o, '\r') != NULL) {
        rc = error_set(err, ERR_USAGE, "--set %s: expected section.key=value on one line", shown);
        goto done;
    }
    if (eq == NULL || dot == NULL) {
        rc = error_set(err, ERR_USAGE, "--set %s: expected section.key=value (e.g. train.epochs=20)", shown);
        goto done;
    }
    section = dup_trim(o, dot);
    name = dup_trim(dot + 1, eq);
    value = dup_trim(eq + 1, eq + strlen(eq));
    if (section == NULL || name == NULL || value == NULL) {
        rc = error_set(err, ERR_NOMEM, "--set %s: out of memory", shown);
        goto done;
    }
    id = find_key(section, name);
    if (id < 0) {
        if (!is_section(section)) {
            int best = -1, best_d = 3;
            for (int i = 0; i < N_SECTIONS; i++) {
                int d = edit_distance(section, section_names[i]);
                if (d < best_d) { best_d = d; best = i; }
            }
            if (best >= 0)
                rc = error_set(err, ERR_USAGE, "--set %s: unknown section '%s'; did you mean '%s'?",
                               shown, section, section_names[best]);
            else
                rc = error_set(err, ERR_USAGE, "--set %s: unknown section '%s'; expected data, model, train, grid or output",
                               shown, section);
        } else {
            unknown_key_why(why, sizeof why, section, name);
            rc = error_set(err, ERR_USAGE, "--set %s: %s", shown, why);
        }
        goto done;
    }
    rc = apply(st, id, value, 0, why, sizeof why);
    if (rc == ERR_NOMEM) {
        error_set(err, rc, "--set %s: out of memory", shown);
        goto done;
    }
    if (rc != 0) {
        error_set(err, rc, "--set %s: expected %s", shown, why);
        goto done;
    }
    st->src[id] = SRC_SET;
    st->set_index[id] = index;
done:
    free(section);
    free(name);
    free(value);
    return rc;
}

/* ---- cross-key checks and defaults that depend on other keys ------------- */

/* batch_size must be a multiple of virtual_shards.  The key blamed is the
 * one set last: a --set beats the file (later --set beats earlier), in the
 * file the later line wins; defaults (32/16) are never blamed. */
static int check_batch(parse_state *st, const char *path, const char *text, rg_error *err)
{
    const config *c = st->cfg;
    int b = K_TRAIN_BATCH_SIZE, v = K_TRAIN_VIRTUAL_SHARDS, blame = -1, line = 0, rc = 0;
    char tail[RG_WHY_MAX];
    if (c->batch_size % c->virtual_shards == 0) goto done;

    if (st->src[b] == SRC_SET || st->src[v] == SRC_SET) {
        if (st->src[b] != SRC_SET) blame = v;
        else if (st->src[v] != SRC_SET) blame = b;
        else blame = st->set_index[b] > st->set_index[v] ? b : v;
    } else if (st->src[b] == SRC_FILE && st->src[v] == SRC_FILE) {
        int lb = locate_line(text, b), lv = locate_line(text, v);
        blame = lb > lv ? b : v;
        line = lb > lv ? lb : lv;
    } else {
        blame = st->src[v] == SRC_FILE ? v : b;
        line = locate_line(text, blame);
    }

    if (blame == b)
        snprintf(tail, sizeof tail, "expected a multiple of [train] virtual_shards (%d): "
                 "the global batch is split evenly over the virtual shards", c->virtual_shards);
    else
        snprintf(tail, sizeof tail, "expected a divisor of [train] batch_size (%d): "
                 "the global batch is split evenly over the virtual shards", c->batch_size);

    if (st->src[blame] == SRC_SET) {
        rc = error_set(err, ERR_USAGE, "--set train.%s=%d: %s (job file %s)", key_table[blame].name,
                       blame == b ? c->batch_size : c->virtual_shards, tail, path);
    } else {
        rc = error_set(err, ERR_USAGE, "%s:%d: [train] %s = '%d': %s", path, line, key_table[blame].name,
                       blame == b ? c->batch_size : c->virtual_shards, tail);
    }
done:
    return rc;
}

/* "<stem>.h5" where stem is the job file's basename without ".ini". */
static int default_out_path(const char *job_path, char **dst)
{
    const char *base = strrchr(job_path, '/');
    size_t len = 0;
    char *r = NULL;
    base = base != NULL ? base + 1 : job_path;
    len = strlen(base);
    if (len > 4 && strcasecmp(base + len - 4, ".ini") == 0) len -= 4;
    if (len == 0) { base = "riskgrid"; len = strlen(base); }
    r = malloc(len + 4);
    if (r != NULL) {
        memcpy(r, base, len);
        memcpy(r + len, ".h5", 4);
        *dst = r;
    }
    return r != NULL ? 0 : ERR_NOMEM;
}

static int format_from_extension(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot = NULL;
    base = base != NULL ? base + 1 : path;
    dot = strrchr(base, '.');
    return dot != NULL && (strcasecmp(dot, ".h5") == 0 || strcasecmp(dot, ".hdf5") == 0)
           ? CONFIG_FORMAT_HDF5 : CONFIG_FORMAT_CSV;
}

/* ---- public -------------------------------------------------------------- */

static int set_defaults(config *c)
{
    static const double ref[GRID_NAXES] = {0.8, 0.2, 0.9, 0.95};
    char why[RG_WHY_MAX];
    int rc = 0;
    c->data_format = CONFIG_FORMAT_AUTO;
    c->delimiter = ',';
    c->categorical_mode = CONFIG_CAT_AUTO;
    c->test_fraction = 0.2;
    c->standardize = 1;
    c->hidden = 128;
    c->output = CONFIG_OUTPUT_AUTO;
    c->epochs = 10;
    c->batch_size = 32;
    c->learning_rate = 0.001;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->epsilon = 1e-7;
    c->seed = 42;
    c->virtual_shards = 16;
    c->stall_timeout = 600.0;
    c->overwrite = 0;
    c->checkpoint_every = 1;
    memcpy(c->reference, ref, sizeof ref);
    if (set_string(&c->label, "default") != 0 || set_string(&c->hdf5_features, "features") != 0
        || set_string(&c->hdf5_label, "label") != 0)
        rc = ERR_NOMEM;
    for (int a = 0; a < GRID_NAXES && rc == 0; a++)
        if (axis_parse("0:1:11", &c->axis[a], &c->axis_len[a], why, sizeof why) != 0) rc = ERR_NOMEM;
    return rc;
}

int config_parse(const char *job_path, const char *job_text,
                 const char *const *overrides, int n_overrides,
                 config **out, rg_error *err)
{
    parse_state st;
    config *c = NULL;
    const char *slash = NULL;
    size_t olen = 0;
    int rc = 0;

    memset(&st, 0, sizeof st);
    if (out != NULL) *out = NULL;
    if (job_path == NULL || job_text == NULL || out == NULL || n_overrides < 0
        || (n_overrides > 0 && overrides == NULL)) {
        rc = error_set(err, ERR_INTERNAL, "config_parse: invalid arguments");
        goto done;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    st.cfg = c;
    for (int i = 0; i < n_overrides; i++) {
        if (overrides[i] == NULL) {
            rc = error_set(err, ERR_INTERNAL, "config_parse: override %d is NULL", i);
            goto done;
        }
        olen += strlen(overrides[i]) + 1;
    }
    c->job_path = strdup(job_path);
    c->job_text = strdup(job_text);
    c->overrides = malloc(olen + 1);
    if (c->job_path == NULL || c->job_text == NULL || c->overrides == NULL || set_defaults(c) != 0) {
        rc = error_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    c->overrides[0] = '\0';
    for (int i = 0, o = 0; i < n_overrides; i++)
        o += sprintf(c->overrides + o, "%s\n", overrides[i]);

    slash = strrchr(job_path, '/');
    if (slash != NULL) {
        st.job_dir = slash == job_path ? strdup("/") : strndup(job_path, (size_t)(slash - job_path));
        if (st.job_dir == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    }

    rc = parse_file(&st, job_path, job_text, err);
    if (rc != 0) goto done;
    for (int i = 0; i < n_overrides; i++) {
        rc = apply_override(&st, overrides[i], i, err);
        if (rc != 0) goto done;
    }

    if (c->data_path == NULL) {
        rc = error_set(err, ERR_USAGE, "%s: [data] path: expected the training data file "
                       "(required key missing; add 'path = ...' under [data] or --set data.path=...)", job_path);
        goto done;
    }
    if (c->data_format == CONFIG_FORMAT_AUTO) c->data_format = format_from_extension(c->data_path);
    if (c->out_path == NULL && default_out_path(job_path, &c->out_path) != 0) {
        rc = error_set(err, ERR_NOMEM, "out of memory");
        goto done;
    }
    rc = check_batch(&st, job_path, job_text, err);
    if (rc != 0) goto done;

    *out = c;
    c = NULL;
done:
    config_free(c);
    free(st.job_dir);
    return rc;
}

int config_read_file(const char *path, char **text, size_t *len, rg_error *err)
{
    FILE *f = NULL;
    char *buf = NULL, *shrunk = NULL;
    const char *nul = NULL;
    size_t n = 0;
    int rc = 0;

    if (text != NULL) *text = NULL;
    if (len != NULL) *len = 0;
    if (path == NULL || text == NULL) {
        rc = error_set(err, ERR_INTERNAL, "config_read_file: NULL argument");
        goto done;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = error_set(err, ERR_IO, "cannot open job file '%s': %s", path, strerror(errno));
        goto done;
    }
    buf = malloc(RG_JOB_FILE_MAX + 2);
    if (buf == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory reading '%s'", path); goto done; }
    errno = 0;
    n = fread(buf, 1, RG_JOB_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = error_set(err, ERR_IO, "cannot read job file '%s': %s", path,
                       strerror(errno != 0 ? errno : EIO));
        goto done;
    }
    if (n > RG_JOB_FILE_MAX) {
        rc = error_set(err, ERR_USAGE, "job file '%s': expected at most 1 MiB (a job file is a small text file)", path);
        goto done;
    }
    nul = memchr(buf, '\0', n);
    if (nul != NULL) {
        int line = 1;
        for (const char *q = buf; q < nul; q++) line += *q == '\n';
        rc = error_set(err, ERR_USAGE, "%s:%d: NUL byte: expected a text file", path, line);
        goto done;
    }
    buf[n] = '\0';
    shrunk = realloc(buf, n + 1);
    if (shrunk != NULL) buf = shrunk;
    *text = buf;
    if (len != NULL) *len = n;
    buf = NULL;
done:
    if (f != NULL) fclose(f);
    free(buf);
    return rc;
}

/* Growable text for config_canonical; failed latches on allocation failure. */
typedef struct sbuf { char *p; size_t len, cap; int failed; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int need = 0;
    if (b->failed) goto done;
    va_start(ap, fmt);
    need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) { b->failed = 1; goto done; }
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t ncap = b->cap == 0 ? 1024 : b->cap;
        char *grown = NULL;
        while (ncap < b->len + (size_t)need + 1) ncap *= 2;
        grown = realloc(b->p, ncap);
        if (grown == NULL) { b->failed = 1; goto done; }
        b->p = grown;
        b->cap = ncap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
done:
    return;
}

static void sb_list(sbuf *b, const char *key, char *const *items, int n)
{
    sb_printf(b, "%s=", key);
    for (int i = 0; i < n; i++) sb_printf(b, "%s%s", i > 0 ? "," : "", items[i]);
    sb_printf(b, "\n");
}

static void sb_doubles(sbuf *b, const char *key, const double *v, int n)
{
    sb_printf(b, "%s=", key);
    for (int i = 0; i < n; i++) sb_printf(b, "%s%.17g", i > 0 ? "," : "", v[i]);
    sb_printf(b, "\n");
}

char *config_canonical(const config *cfg)
{
    static const char *const formats[] = {"auto", "csv", "hdf5"};
    static const char *const outputs[] = {"auto", "sigmoid", "softmax"};
    sbuf b = {NULL, 0, 0, 0};
    char *result = NULL;
    if (cfg == NULL) goto done;
    sb_printf(&b, "data.path=%s\n", cfg->data_path != NULL ? cfg->data_path : "");
    sb_printf(&b, "data.format=%s\n", formats[cfg->data_format]);
    if (cfg->delimiter == '\t') sb_printf(&b, "data.delimiter=tab\n");
    else sb_printf(&b, "data.delimiter=%c\n", cfg->delimiter);
    sb_printf(&b, "data.label=%s\n", cfg->label);
    sb_list(&b, "data.drop", cfg->drop, cfg->n_drop);
    if (cfg->categorical_mode == CONFIG_CAT_LIST)
        sb_list(&b, "data.categorical", cfg->categorical, cfg->n_categorical);
    else
        sb_printf(&b, "data.categorical=%s\n", cfg->categorical_mode == CONFIG_CAT_NONE ? "none" : "auto");
    sb_printf(&b, "data.test_fraction=%.17g\n", cfg->test_fraction);
    sb_printf(&b, "data.test_path=%s\n", cfg->test_path != NULL ? cfg->test_path : "");
    sb_printf(&b, "data.standardize=%s\n", cfg->standardize ? "true" : "false");
    sb_printf(&b, "data.hdf5_features=%s\n", cfg->hdf5_features);
    sb_printf(&b, "data.hdf5_label=%s\n", cfg->hdf5_label);
    sb_printf(&b, "model.hidden=%d\n", cfg->hidden);
    sb_printf(&b, "model.output=%s\n", outputs[cfg->output]);
    sb_printf(&b, "train.epochs=%d\n", cfg->epochs);
    sb_printf(&b, "train.batch_size=%d\n", cfg->batch_size);
    sb_printf(&b, "train.learning_rate=%.17g\n", cfg->learning_rate);
    sb_printf(&b, "train.beta1=%.17g\n", cfg->beta1);
    sb_printf(&b, "train.beta2=%.17g\n", cfg->beta2);
    sb_printf(&b, "train.epsilon=%.17g\n", cfg->epsilon);
    sb_printf(&b, "train.seed=%" PRIu64 "\n", cfg->seed);
    sb_printf(&b, "train.virtual_shards=%d\n", cfg->virtual_shards);
    for (int a = 0; a < GRID_NAXES; a++) {
        char key[32];
        snprintf(key, sizeof key, "grid.%s", config_axis_names[a]);
        sb_doubles(&b, key, cfg->axis[a], cfg->axis_len[a]);
    }
    sb_doubles(&b, "grid.reference", cfg->reference, GRID_NAXES);
    if (b.failed) goto done;
    result = b.p;
    b.p = NULL;
done:
    free(b.p);
    return result;
}

void config_free(config *cfg)
{
    if (cfg == NULL) return;
    free(cfg->job_path);
    free(cfg->job_text);
    free(cfg->overrides);
    free(cfg->data_path);
    free(cfg->label);
    free_list(cfg->drop, cfg->n_drop);
    free_list(cfg->categorical, cfg->n_categorical);
    free(cfg->test_path);
    free(cfg->hdf5_features);
    free(cfg->hdf5_label);
    for (int a = 0; a < GRID_NAXES; a++) free(cfg->axis[a]);
    free(cfg->out_path);
    free(cfg->checkpoint_path);
    free(cfg);
}
