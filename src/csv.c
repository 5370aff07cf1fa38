/** \file csv.c
 *  CSV record kernels (see csv.h): line iteration, field splitting with
 *  RFC 4180-style quoting, strict number parsing.
 *
 *  Performance contract: no allocation anywhere; line ends are found with
 *  memchr, unquoted fields are located with memchr and copied with one
 *  memcpy, so a line costs O(len) with small constants.
 *
 *  Quoting rules (csv_split):
 *   - a field is quoted iff its FIRST byte is '"'; inside it the delimiter
 *     is literal and "" stands for one '"';
 *   - after the closing quote the next byte must be the delimiter or the
 *     end of the line, otherwise CSV_EQUOTE;
 *   - a quote anywhere in an unquoted field is CSV_EQUOTE (so ` "a"` with a
 *     leading blank is refused: fields are never trimmed here);
 *   - a quoted field not closed before the end of the line is CSV_EQUOTE
 *     (embedded newlines are not supported).
 */
#include "riskgrid/csv.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t csv_skip_bom(const char *buf, size_t len)
{
    size_t n = 0;
    if (buf != NULL && len >= 3 && (unsigned char)buf[0] == 0xEF &&
        (unsigned char)buf[1] == 0xBB && (unsigned char)buf[2] == 0xBF)
        n = 3;
    return n;
}

int csv_next_line(const char *buf, size_t len, size_t *pos,
                  const char **line, size_t *line_len)
{
    /* Invariant: *pos <= len; on return 1, buf[old *pos .. new *pos) is the
     * line plus its terminator (LF, CRLF, or nothing at end of buffer). */
    int produced = 0;
    const char *start = NULL;
    const char *nl = NULL;
    size_t n = 0;

    if (buf == NULL || *pos >= len) goto done;
    start = buf + *pos;
    nl = memchr(start, '\n', len - *pos);
    if (nl != NULL) {
        n = (size_t)(nl - start);
        *pos += n + 1;
    } else {
        n = len - *pos;
        *pos = len;
    }
    if (n > 0 && start[n - 1] == '\r') n--;   /* CRLF (or a final bare CR) */
    *line = start;
    *line_len = n;
    produced = 1;
done:
    return produced;
}

int csv_split(const char *line, size_t len, char delim,
              char *store, size_t store_cap,
              char **fields, int max_fields, int *n_fields, int *err_col)
{
    /* Invariants: i indexes the next unread byte of line; o the next free
     * byte of store; nf fields have been completed.  Each field's unquoted
     * text is at most its raw length, plus one NUL, so o never exceeds
     * len + nf <= len + max_fields.  If the caller gave less room than
     * that and it runs out, CSV_ETOOMANY is returned (csv.h has no separate
     * status for it; the fields do not fit). */
    int rc = CSV_OK;
    int nf = 0;
    size_t i = 0, o = 0;

    *n_fields = 0;
    if (err_col != NULL) *err_col = 0;
    for (;;) {
        size_t fstart_o = o;
        if (nf >= max_fields) { rc = CSV_ETOOMANY; goto fail; }
        if (i < len && line[i] == '"') {
            /* quoted field */
            i++;
            for (;;) {
                const char *q = (i < len) ? memchr(line + i, '"', len - i) : NULL;
                size_t chunk;
                if (q == NULL) { rc = CSV_EQUOTE; goto fail; }   /* unclosed */
                chunk = (size_t)(q - (line + i));
                if (o + chunk + 1 > store_cap) { rc = CSV_ETOOMANY; goto fail; }
                memcpy(store + o, line + i, chunk);
                o += chunk;
                i += chunk + 1;                 /* past the quote */
                if (i < len && line[i] == '"') {  /* "" -> " */
                    store[o++] = '"';
                    i++;
                    continue;
                }
                break;                          /* closing quote */
            }
            if (i < len && line[i] != delim) { rc = CSV_EQUOTE; goto fail; }
        } else {
            /* unquoted field: up to the next delimiter or the line end */
            const char *d = (i < len) ? memchr(line + i, delim, len - i) : NULL;
            size_t flen = (d != NULL) ? (size_t)(d - (line + i)) : len - i;
            if (flen > 0 && memchr(line + i, '"', flen) != NULL) { rc = CSV_EQUOTE; goto fail; }
            if (o + flen + 1 > store_cap) { rc = CSV_ETOOMANY; goto fail; }
            memcpy(store + o, line + i, flen);
            o += flen;
            i += flen;
        }
        if (o + 1 > store_cap) { rc = CSV_ETOOMANY; goto fail; }
        store[o++] = '\0';
        fields[nf++] = store + fstart_o;
        if (i >= len) break;        /* line end: the field just made is the last */
        i++;                        /* past the delimiter; a field follows (maybe empty) */
    }
    *n_fields = nf;
    goto done;
fail:
    if (err_col != NULL) *err_col = nf + 1;
    *n_fields = nf;
done:
    return rc;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char lower_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/** 1 if s[0..n) equals the lower-case word w case-insensitively. */
static int word_eq(const char *s, size_t n, const char *w)
{
    size_t k = 0;
    for (; k < n && w[k] != '\0'; k++)
        if (lower_ascii(s[k]) != w[k]) return 0;
    return k == n && w[k] == '\0';
}

/** Exact powers of ten (all representable in a double up to 1e22). */
static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

int csv_number(const char *field, double *v)
{
    /* Grammar, checked by hand so that only plain decimals are accepted (no
     * hex floats, no nan/inf, no locale surprises):
     *   blanks* [+-]? ( digits ('.' digits*)? | '.' digits ) ([eE] [+-]? digits)? blanks*
     * blanks are ' ' and '\t'.  nan, nan(...), inf, infinity (any case,
     * optional sign) are CSV_ENONFINITE.  |v| > FLT_MAX (including double
     * overflow) is CSV_ERANGE; 0 < |v| < FLT_MIN becomes 0 (contract).
     *
     * Value: while scanning, the significant digits are accumulated into an
     * integer m and the decimal exponent into e10 (value = m * 10^e10).
     * Fast path (Clinger 1990): if m has at most 15 significant digits
     * (m < 2^53, exact) and |e10| <= 22 (10^|e10| exact), then m * 10^e10
     * or m / 10^-e10 is one correctly rounded operation, i.e. the same
     * double strtod returns.  Otherwise strtod does the conversion. */
    int rc = CSV_OK;
    const char *b = field;
    const char *e = NULL;
    const char *p = NULL;
    const char *body = NULL;
    char *end = NULL;
    size_t n_int = 0, n_frac = 0;
    uint64_t m = 0;
    long long sig = 0, frac_scale = 0, ex = 0;
    int neg = 0, ex_neg = 0;
    double x = 0.0;

    if (field == NULL) { rc = CSV_EEMPTY; goto done; }
    while (is_blank(*b)) b++;
    e = b + strlen(b);
    while (e > b && is_blank(e[-1])) e--;
    if (e == b) { rc = CSV_EEMPTY; goto done; }

    p = b;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    body = p;
    if (lower_ascii(*body) == 'n' || lower_ascii(*body) == 'i') {
        size_t n = (size_t)(e - body);
        if (word_eq(body, n, "nan") || word_eq(body, n, "inf") || word_eq(body, n, "infinity") ||
            (n >= 5 && word_eq(body, 4, "nan(") && body[n - 1] == ')')) {
            rc = CSV_ENONFINITE;
            goto done;
        }
    }
    /* invariant: value so far = m * 10^-frac_scale, sig = significant digits seen */
    while (p < e && *p >= '0' && *p <= '9') {
        if (m != 0 || *p != '0') {
            if (sig < 19) m = m * 10 + (uint64_t)(*p - '0');
            sig++;
        }
        p++;
        n_int++;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && *p >= '0' && *p <= '9') {
            if (m != 0 || *p != '0') {
                if (sig < 19) m = m * 10 + (uint64_t)(*p - '0');
                sig++;
            }
            if (sig <= 19) frac_scale++;
            p++;
            n_frac++;
        }
    }
    if (n_int + n_frac == 0) { rc = CSV_ENOTNUM; goto done; }
    if (p < e && (*p == 'e' || *p == 'E')) {
        size_t n_exp = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-')) ex_neg = *p++ == '-';
        while (p < e && *p >= '0' && *p <= '9') {
            if (ex < 100000) ex = ex * 10 + (*p - '0');
            p++;
            n_exp++;
        }
        if (n_exp == 0) { rc = CSV_ENOTNUM; goto done; }
    }
    if (p != e) { rc = CSV_ENOTNUM; goto done; }

    {
        long long e10 = (ex_neg ? -ex : ex) - frac_scale;
        if (sig <= 15 && e10 >= -22 && e10 <= 22) {
            x = (double)m;
            if (e10 >= 0) x *= pow10_exact[e10];
            else x /= pow10_exact[-e10];
            if (neg) x = -x;
        } else {
            errno = 0;
            x = strtod(b, &end);
            if (end != e) { rc = CSV_ENOTNUM; goto done; }   /* e.g. a locale with ',' decimals */
            if (errno == ERANGE && fabs(x) > 1.0) { rc = CSV_ERANGE; goto done; }  /* overflow */
        }
    }
    if (!isfinite(x) || fabs(x) > (double)FLT_MAX) { rc = CSV_ERANGE; goto done; }
    if (fabs(x) < (double)FLT_MIN) x = 0.0;          /* underflow: quietly 0 */
    *v = x;
done:
    return rc;
}

const char *csv_strerror(int status)
{
    switch (status) {
    case CSV_OK: return "ok";
    case CSV_EQUOTE: return "unbalanced quote";
    case CSV_ETOOMANY: return "too many fields";
    case CSV_ENOTNUM: return "expected a number";
    case CSV_ENONFINITE: return "not a finite number";
    case CSV_ERANGE: return "number outside float32 range";
    case CSV_EEMPTY: return "empty field";
    default: return "unknown csv status";
    }
}
