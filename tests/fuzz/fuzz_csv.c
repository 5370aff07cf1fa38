/** \file fuzz_csv.c  libFuzzer target for the CSV kernels (src/csv.c):
 *  csv_skip_bom, csv_next_line, csv_split and csv_number over arbitrary
 *  bytes.  Besides the sanitizers (out-of-bounds reads/writes of the line
 *  or of an exactly sized field store, UB), it checks the contracts of
 *  csv.h and aborts when one is broken:
 *
 *   - csv_skip_bom returns 0 or 3; csv_next_line makes progress, stays in
 *     the buffer and never returns a line containing '\n';
 *   - csv_split with the documented capacity (len + max_fields) never
 *     reports CSV_ETOOMANY when the field count fits; fields lie inside
 *     the store, NUL-terminated, in order;
 *   - a line without quotes splits losslessly: the fields joined with the
 *     delimiter give the line back (field count = delimiters + 1);
 *   - csv_number: CSV_OK gives a finite value within float32 range that
 *     equals strtod's on the same text (0 below FLT_MIN); CSV_ERANGE only
 *     for text strtod reads as beyond FLT_MAX; the status does not depend
 *     on blanks around the field.
 *
 *  Input layout: byte 0 picks the delimiter and a field limit, the rest is
 *  the "file".  Run: scripts/fuzz.sh, corpus in tests/fuzz/corpus/csv.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/csv.h"

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "fuzz_csv: contract broken: %s (line %d)\n", #c, __LINE__); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static const char DELIMS[4] = {',', ';', '\t', '|'};

/* Same blanks as csv_number: ' ' and '\t'. */
static int blank(char c) { return c == ' ' || c == '\t'; }

static void check_number(const char *field)
{
    double v = 12345.0, w = 0.0;
    int st = csv_number(field, &v);
    size_t n = strlen(field);
    const char *b = field, *e = field + n;
    char *end = NULL, *padded;

    CHECK(st == CSV_OK || st == CSV_EEMPTY || st == CSV_ENOTNUM || st == CSV_ENONFINITE || st == CSV_ERANGE);
    CHECK(csv_strerror(st) != NULL);
    while (b < e && blank(*b)) b++;
    while (e > b && blank(e[-1])) e--;
    if (st == CSV_EEMPTY) CHECK(b == e);
    if (st == CSV_OK) {
        CHECK(isfinite(v));
        CHECK(fabs(v) <= (double)FLT_MAX);
        /* differential: the whole trimmed text is a strtod number with the
         * same value (csv_number's own fast path must round like strtod) */
        w = strtod(b, &end);
        CHECK(end == e);
        if (fabs(w) < (double)FLT_MIN) CHECK(v == 0.0);
        else CHECK(v == w);
    }
    if (st == CSV_ERANGE) {
        w = strtod(b, &end);
        CHECK(end == e);
        CHECK(!(fabs(w) <= (double)FLT_MAX));
    }
    /* blanks around the field do not change the verdict or the value */
    padded = malloc(n + 5);
    if (padded != NULL) {
        double v2 = 0.0;
        int st2;
        padded[0] = ' ';
        padded[1] = '\t';
        memcpy(padded + 2, field, n);
        padded[n + 2] = '\t';
        padded[n + 3] = ' ';
        padded[n + 4] = '\0';
        st2 = csv_number(padded, &v2);
        CHECK(st2 == st);
        if (st == CSV_OK) CHECK(v2 == v || (isnan(v2) && isnan(v)));
        free(padded);
    }
}

static void check_line(const char *line, size_t len, char delim, int limit)
{
    int max_fields = 1, nf = -1, ec = -1, st, limited = 0;
    size_t cap;
    char *store;
    char **fields;
    int has_quote = memchr(line, '"', len) != NULL;
    int has_nul = memchr(line, '\0', len) != NULL;

    for (size_t i = 0; i < len; i++) max_fields += line[i] == delim;
    if (limit > 0 && limit < max_fields) { max_fields = limit; limited = 1; }  /* exercise CSV_ETOOMANY */
    cap = len + (size_t)max_fields;
    store = malloc(cap > 0 ? cap : 1);
    fields = malloc((size_t)max_fields * sizeof *fields);
    if (store == NULL || fields == NULL) goto out;

    st = csv_split(line, len, delim, store, cap, fields, max_fields, &nf, &ec);
    CHECK(st == CSV_OK || st == CSV_EQUOTE || st == CSV_ETOOMANY);
    CHECK(nf >= 0 && nf <= max_fields);
    if (st != CSV_OK) CHECK(ec >= 1 && ec <= max_fields + 1);
    if (st == CSV_ETOOMANY) CHECK(limited);  /* the documented capacity always suffices */
    for (int i = 0; i < nf; i++) {
        CHECK(fields[i] >= store && fields[i] < store + cap);
        CHECK(memchr(fields[i], '\0', (size_t)(store + cap - fields[i])) != NULL);
        if (i > 0) CHECK(fields[i] > fields[i - 1]);
    }
    if (st == CSV_OK && !has_quote) {
        /* lossless: fields joined by the delimiter are the line.  A NUL
         * byte inside a field is not representable in a NUL-terminated
         * field; such lines are left out here (the reader rejects them
         * before splitting: tests/corpus/csv_nul_in_field). */
        if (!has_nul) {
            size_t o = 0;
            CHECK(nf == max_fields);
            for (int i = 0; i < nf; i++) {
                size_t fl = strlen(fields[i]);
                CHECK(o + fl <= len);
                CHECK(memcmp(line + o, fields[i], fl) == 0);
                o += fl;
                if (i + 1 < nf) {
                    CHECK(o < len && line[o] == delim);
                    o++;
                }
            }
            CHECK(o == len);
        }
    }
    if (st == CSV_OK)
        for (int i = 0; i < nf; i++) check_number(fields[i]);

    /* a tight store: never written past its end */
    if (len > 0) {
        size_t small = len / 2;
        char *tight = malloc(small > 0 ? small : 1);
        if (tight != NULL) {
            st = csv_split(line, len, delim, tight, small, fields, max_fields, &nf, &ec);
            CHECK(st == CSV_OK || st == CSV_EQUOTE || st == CSV_ETOOMANY);
            free(tight);
        }
    }
out:
    free(store);
    free(fields);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char delim;
    int limit;
    char *buf;
    size_t len, pos, bom, lines = 0;
    const char *line = NULL;
    size_t line_len = 0;

    if (size < 1) return 0;
    delim = DELIMS[data[0] & 3];
    limit = (data[0] >> 2) & 7;            /* 0: no limit, else 1..7 fields */
    len = size - 1;
    /* an exact-size copy: ASan sees any read past the end */
    buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) return 0;
    memcpy(buf, data + 1, len);

    bom = csv_skip_bom(buf, len);
    CHECK(bom == 0 || bom == 3);
    pos = bom;
    while (csv_next_line(buf, len, &pos, &line, &line_len)) {
        CHECK(line >= buf && line + line_len <= buf + len);
        CHECK(pos <= len && (size_t)(line - buf) + line_len <= pos);
        CHECK(memchr(line, '\n', line_len) == NULL);
        CHECK(++lines <= len + 1);
        check_line(line, line_len, delim, limit);
    }
    CHECK(pos == len);

    /* the whole input as one number (NUL-terminated copy) */
    {
        char *s = malloc(len + 1);
        if (s != NULL) {
            memcpy(s, buf, len);
            s[len] = '\0';
            check_number(s);
            free(s);
        }
    }
    free(buf);
    return 0;
}
