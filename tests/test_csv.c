/** \file test_csv.c
 *  Unit tests of csv.h: BOM, line iteration (LF, CRLF, last line without
 *  LF, empty lines), field splitting with quotes and errors (err_col),
 *  strict numbers, and a 1 MB field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/csv.h"

#define MAXF 16

/** Split a NUL-terminated line with store capacity len + max_fields. */
static int split(const char *line, char delim, int max_fields, char **fields, int *nf,
                 int *err_col, char *store)
{
    size_t len = strlen(line);
    return csv_split(line, len, delim, store, len + (size_t)max_fields, fields, max_fields, nf,
                     err_col);
}

/* ---- BOM ---------------------------------------------------------------- */

static void test_bom(void **state)
{
    (void)state;
    assert_int_equal(csv_skip_bom("\xEF\xBB\xBF" "a,b\n", 7), 3);
    assert_int_equal(csv_skip_bom("\xEF\xBB\xBF", 3), 3);
    assert_int_equal(csv_skip_bom("a,b\n", 4), 0);
    assert_int_equal(csv_skip_bom("\xEF\xBB", 2), 0);   /* too short */
    assert_int_equal(csv_skip_bom("\xEF\xBB\xBE", 3), 0);
    assert_int_equal(csv_skip_bom("", 0), 0);
}

/* ---- lines -------------------------------------------------------------- */

/** Collect up to 8 lines of buf into out (NUL-terminated copies). */
static int lines_of(const char *buf, size_t len, char out[][32])
{
    size_t pos = 0, n = 0;
    const char *line = NULL;
    int count = 0;
    while (csv_next_line(buf, len, &pos, &line, &n)) {
        assert_true(count < 8);
        assert_true(n < 32);
        memcpy(out[count], line, n);
        out[count][n] = '\0';
        count++;
        assert_true(pos <= len);
    }
    assert_int_equal(pos, len);
    return count;
}

static void test_lines_lf(void **state)
{
    char out[8][32];
    const char *b = "a,b\n1,2\n";
    (void)state;
    assert_int_equal(lines_of(b, strlen(b), out), 2);
    assert_string_equal(out[0], "a,b");
    assert_string_equal(out[1], "1,2");
}

static void test_lines_crlf(void **state)
{
    char out[8][32];
    const char *b = "a,b\r\n1,2\r\n3,4";
    (void)state;
    assert_int_equal(lines_of(b, strlen(b), out), 3);
    assert_string_equal(out[0], "a,b");
    assert_string_equal(out[1], "1,2");
    assert_string_equal(out[2], "3,4");
}

static void test_lines_no_trailing_newline(void **state)
{
    char out[8][32];
    const char *b = "x\ny";
    (void)state;
    assert_int_equal(lines_of(b, strlen(b), out), 2);
    assert_string_equal(out[1], "y");
    /* a lone final CR is stripped as well */
    assert_int_equal(lines_of("z\r", 2, out), 1);
    assert_string_equal(out[0], "z");
}

static void test_lines_empty(void **state)
{
    char out[8][32];
    const char *b = "a\n\n\r\nb\n\n";
    size_t pos = 0, n = 99;
    const char *line = NULL;
    (void)state;
    /* empty lines come back with length 0; the caller decides */
    assert_int_equal(lines_of(b, strlen(b), out), 5);
    assert_string_equal(out[0], "a");
    assert_string_equal(out[1], "");
    assert_string_equal(out[2], "");
    assert_string_equal(out[3], "b");
    assert_string_equal(out[4], "");
    /* empty buffer: no line */
    assert_int_equal(csv_next_line("", 0, &pos, &line, &n), 0);
    /* a lone LF: one empty line */
    assert_int_equal(lines_of("\n", 1, out), 1);
    assert_string_equal(out[0], "");
}

static void test_lines_with_bom(void **state)
{
    const char *b = "\xEF\xBB\xBF" "h1,h2\r\n1,2\n";
    size_t len = strlen(b), pos = csv_skip_bom(b, len), n = 0;
    const char *line = NULL;
    (void)state;
    assert_int_equal(csv_next_line(b, len, &pos, &line, &n), 1);
    assert_int_equal(n, 5);
    assert_memory_equal(line, "h1,h2", 5);
    assert_int_equal(csv_next_line(b, len, &pos, &line, &n), 1);
    assert_memory_equal(line, "1,2", 3);
    assert_int_equal(csv_next_line(b, len, &pos, &line, &n), 0);
}

/* ---- split -------------------------------------------------------------- */

static void test_split_plain(void **state)
{
    char store[64];
    char *f[MAXF];
    int nf = -1, col = -1;
    (void)state;
    assert_int_equal(split("a,bb,,c", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 4);
    assert_string_equal(f[0], "a");
    assert_string_equal(f[1], "bb");
    assert_string_equal(f[2], "");
    assert_string_equal(f[3], "c");
    /* fields are not trimmed */
    assert_int_equal(split(" a , b ", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[0], " a ");
    assert_string_equal(f[1], " b ");
    /* an empty line is one empty field; a trailing delimiter adds one */
    assert_int_equal(split("", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 1);
    assert_string_equal(f[0], "");
    assert_int_equal(split("a,", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[1], "");
    /* other delimiters; a comma is then literal */
    assert_int_equal(split("1,5;x\ty", ';', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[0], "1,5");
    assert_string_equal(f[1], "x\ty");
    assert_int_equal(split("p\tq", '\t', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
}

static void test_split_quoted(void **state)
{
    char store[128];
    char *f[MAXF];
    int nf = -1, col = -1;
    (void)state;
    assert_int_equal(split("\"a,b\",c", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[0], "a,b");
    assert_string_equal(f[1], "c");
    assert_int_equal(split("x,\"say \"\"hi\"\"\"", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[1], "say \"hi\"");
    assert_int_equal(split("\"\",\"\"\"\"", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[0], "");
    assert_string_equal(f[1], "\"");
    assert_int_equal(split("\"a\",", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[0], "a");
    assert_string_equal(f[1], "");
    assert_int_equal(split("\" \"", ',', MAXF, f, &nf, &col, store), CSV_OK);
    assert_string_equal(f[0], " ");
}

static void test_split_quote_errors(void **state)
{
    char store[64];
    char *f[MAXF];
    int nf = -1, col = -1;
    (void)state;
    /* unclosed quote at line end */
    assert_int_equal(split("a,b,\"open", ',', MAXF, f, &nf, &col, store), CSV_EQUOTE);
    assert_int_equal(col, 3);
    assert_int_equal(split("\"", ',', MAXF, f, &nf, &col, store), CSV_EQUOTE);
    assert_int_equal(col, 1);
    assert_int_equal(split("a,\"x\"\"", ',', MAXF, f, &nf, &col, store), CSV_EQUOTE);
    assert_int_equal(col, 2);
    /* text after the closing quote */
    assert_int_equal(split("a,\"b\"c,d", ',', MAXF, f, &nf, &col, store), CSV_EQUOTE);
    assert_int_equal(col, 2);
    assert_int_equal(split("\"b\" ", ',', MAXF, f, &nf, &col, store), CSV_EQUOTE);
    assert_int_equal(col, 1);
    /* a quote inside an unquoted field */
    assert_int_equal(split("a,b\"c", ',', MAXF, f, &nf, &col, store), CSV_EQUOTE);
    assert_int_equal(col, 2);
    assert_int_equal(split("x,y, \"z\"", ',', MAXF, f, &nf, &col, store), CSV_EQUOTE);
    assert_int_equal(col, 3);
}

static void test_split_too_many(void **state)
{
    char store[64];
    char *f[MAXF];
    int nf = -1, col = -1;
    (void)state;
    assert_int_equal(split("1,2,3", ',', 3, f, &nf, &col, store), CSV_OK);
    assert_int_equal(nf, 3);
    assert_int_equal(split("1,2,3,4", ',', 3, f, &nf, &col, store), CSV_ETOOMANY);
    assert_int_equal(col, 4);
    assert_int_equal(split("1,2,", ',', 2, f, &nf, &col, store), CSV_ETOOMANY);
    assert_int_equal(col, 3);
    assert_int_equal(split("x", ',', 0, f, &nf, &col, store), CSV_ETOOMANY);
    assert_int_equal(col, 1);
}

static void test_split_store_exact(void **state)
{
    /* len + max_fields bytes suffice even for a line of empty fields */
    const char *line = ",,,";
    char store[4 + 4];
    char *f[4];
    int nf = 0, col = 0;
    (void)state;
    assert_int_equal(csv_split(line, 3, ',', store, 3 + 4, f, 4, &nf, &col), CSV_OK);
    assert_int_equal(nf, 4);
    /* not NUL-terminated input: only len bytes are read */
    assert_int_equal(csv_split("ab,cdXXXX", 5, ',', store, 5 + 2, f, 2, &nf, &col), CSV_OK);
    assert_int_equal(nf, 2);
    assert_string_equal(f[1], "cd");
}

/* ---- numbers ------------------------------------------------------------ */

static void expect_num(const char *s, double want)
{
    double v = -12345.0;
    int rc = csv_number(s, &v);
    if (rc != CSV_OK) fail_msg("csv_number(\"%s\") = %d, want OK", s, rc);
    if (v != want) fail_msg("csv_number(\"%s\") = %.17g, want %.17g", s, v, want);
}

static void expect_rc(const char *s, int want)
{
    double v = 0.0;
    int rc = csv_number(s, &v);
    if (rc != want) fail_msg("csv_number(\"%s\") = %d, want %d", s, rc, want);
}

static void test_number_ok(void **state)
{
    (void)state;
    expect_num("0", 0.0);
    expect_num("42", 42.0);
    expect_num("-17", -17.0);
    expect_num("+5", 5.0);
    expect_num("3.25", 3.25);
    expect_num("-0.5", -0.5);
    expect_num(".5", 0.5);
    expect_num("5.", 5.0);
    expect_num("1e3", 1000.0);
    expect_num("1E-2", 0.01);
    expect_num("-2.5e+2", -250.0);
    expect_num("  7  ", 7.0);
    expect_num("\t8.5\t", 8.5);
    expect_num("007", 7.0);
    expect_num("3.4e38", 3.4e38);
    expect_num("1e-50", 0.0);      /* below FLT_MIN: quietly 0 */
    expect_num("1e-400", 0.0);     /* strtod underflow */
    expect_num("1e-30", 1e-30);
}

static void test_number_errors(void **state)
{
    (void)state;
    expect_rc("1e39", CSV_ERANGE);
    expect_rc("-1e39", CSV_ERANGE);
    expect_rc("3.5e38", CSV_ERANGE);
    expect_rc("1e400", CSV_ERANGE);
    expect_rc("nan", CSV_ENONFINITE);
    expect_rc("NaN", CSV_ENONFINITE);
    expect_rc("-nan", CSV_ENONFINITE);
    expect_rc("nan(123)", CSV_ENONFINITE);
    expect_rc("inf", CSV_ENONFINITE);
    expect_rc("+INF", CSV_ENONFINITE);
    expect_rc("-Infinity", CSV_ENONFINITE);
    expect_rc(" inf ", CSV_ENONFINITE);
    expect_rc("abc", CSV_ENOTNUM);
    expect_rc("12abc", CSV_ENOTNUM);
    expect_rc("0x1p3", CSV_ENOTNUM);
    expect_rc("0x10", CSV_ENOTNUM);
    expect_rc("1,5", CSV_ENOTNUM);
    expect_rc("1 2", CSV_ENOTNUM);
    expect_rc("+", CSV_ENOTNUM);
    expect_rc("-", CSV_ENOTNUM);
    expect_rc(".", CSV_ENOTNUM);
    expect_rc("1e", CSV_ENOTNUM);
    expect_rc("1e+", CSV_ENOTNUM);
    expect_rc("e5", CSV_ENOTNUM);
    expect_rc("--1", CSV_ENOTNUM);
    expect_rc("1.2.3", CSV_ENOTNUM);
    expect_rc("1e5.5", CSV_ENOTNUM);
    expect_rc("\"1\"", CSV_ENOTNUM);
    expect_rc("1\n", CSV_ENOTNUM);   /* only blanks (space, tab) are trimmed */
    expect_rc("\xc2\xa0" "1", CSV_ENOTNUM);
}

static void test_number_empty(void **state)
{
    (void)state;
    expect_rc("", CSV_EEMPTY);
    expect_rc("  ", CSV_EEMPTY);
    expect_rc("\t \t", CSV_EEMPTY);
}

static void test_strerror(void **state)
{
    const int codes[] = { CSV_OK, CSV_EQUOTE, CSV_ETOOMANY, CSV_ENOTNUM, CSV_ENONFINITE,
                          CSV_ERANGE, CSV_EEMPTY };
    (void)state;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *m = csv_strerror(codes[i]);
        assert_non_null(m);
        assert_true(strlen(m) > 0);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(m, csv_strerror(codes[j]));
    }
    assert_non_null(csv_strerror(-999));
    assert_string_equal(csv_strerror(CSV_ENOTNUM), "expected a number");
}

/** Reference for csv_number on a valid decimal: strtod plus the float32
 *  range rule. */
static int reference_number(const char *s, double *v)
{
    double x = strtod(s, NULL);
    if (!isfinite(x) || fabs(x) > (double)FLT_MAX) return CSV_ERANGE;
    if (fabs(x) < (double)FLT_MIN) x = 0.0;
    *v = x;
    return CSV_OK;
}

static void test_number_random_vs_strtod(void **state)
{
    /* csv_number has an exact fast path for short decimals; it must give
     * the same double as strtod, bit for bit, on every valid input */
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    char buf[96];
    (void)state;
    for (int iter = 0; iter < 300000; iter++) {
        size_t k = 0;
        int n_int, n_frac, has_dot, has_exp, rc_got, rc_want;
        double got = 0.0, want = 0.0;
#define NEXT() (st ^= st << 13, st ^= st >> 7, st ^= st << 17, st)
        switch (NEXT() % 3) { case 0: break; case 1: buf[k++] = '-'; break; default: buf[k++] = '+'; }
        n_int = (int)(NEXT() % 19);
        has_dot = (int)(NEXT() % 2);
        n_frac = has_dot ? (int)(NEXT() % 19) : 0;
        if (n_int + n_frac == 0) n_int = 1;
        for (int i = 0; i < n_int; i++) buf[k++] = (char)('0' + (int)(NEXT() % 10));
        if (has_dot) buf[k++] = '.';
        for (int i = 0; i < n_frac; i++) buf[k++] = (char)('0' + (int)(NEXT() % 10));
        has_exp = (int)(NEXT() % 3 == 0);
        if (has_exp) {
            buf[k++] = NEXT() % 2 ? 'e' : 'E';
            switch (NEXT() % 3) { case 0: break; case 1: buf[k++] = '-'; break; default: buf[k++] = '+'; }
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%d", (int)(NEXT() % 46));
        }
#undef NEXT
        buf[k] = '\0';
        rc_got = csv_number(buf, &got);
        rc_want = reference_number(buf, &want);
        if (rc_got != rc_want) fail_msg("\"%s\": status %d, want %d", buf, rc_got, rc_want);
        if (rc_got == CSV_OK && memcmp(&got, &want, sizeof got) != 0)
            fail_msg("\"%s\": %.17g, strtod says %.17g", buf, got, want);
    }
}

/* ---- a 1 MB field --------------------------------------------------------- */

static void test_big_field(void **state)
{
    const size_t big = (size_t)1 << 20;
    char *line = NULL, *store = NULL, *num = NULL;
    char *f[4];
    int nf = 0, col = 0;
    size_t len, pos = 0, n = 0;
    const char *l = NULL;
    double v = 0.0;
    (void)state;

    /* unquoted: 1 MB of 'x', then ",1\n" */
    line = malloc(big + 16);
    store = malloc(big + 16);
    num = malloc(big + 16);
    assert_non_null(line);
    assert_non_null(store);
    assert_non_null(num);
    memset(line, 'x', big);
    memcpy(line + big, ",1\n", 3);
    len = big + 3;
    assert_int_equal(csv_next_line(line, len, &pos, &l, &n), 1);
    assert_int_equal(n, big + 2);
    assert_int_equal(csv_split(l, n, ',', store, n + 4, f, 4, &nf, &col), CSV_OK);
    assert_int_equal(nf, 2);
    assert_int_equal(strlen(f[0]), big);
    assert_string_equal(f[1], "1");

    /* quoted with embedded delimiters and doubled quotes: 1 MB of "a,"" */
    line[0] = '"';
    for (size_t i = 1; i + 4 <= big; i += 4) memcpy(line + i, "a,\"\"", 4);
    len = 1 + ((big - 1) / 4) * 4;
    line[len++] = '"';
    assert_int_equal(csv_split(line, len, ',', store, len + 4, f, 4, &nf, &col), CSV_OK);
    assert_int_equal(nf, 1);
    assert_int_equal(strlen(f[0]), ((big - 1) / 4) * 3);
    assert_memory_equal(f[0], "a,\"a,\"", 6);
    /* the same without the closing quote */
    assert_int_equal(csv_split(line, len - 1, ',', store, len + 4, f, 4, &nf, &col), CSV_EQUOTE);
    assert_int_equal(col, 1);

    /* a 1 MB number: zeros then 1 */
    memset(num, '0', big);
    num[big] = '1';
    num[big + 1] = '\0';
    assert_int_equal(csv_number(num, &v), CSV_OK);
    assert_true(v == 1.0);
    free(line);
    free(store);
    free(num);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_lines_lf),
        cmocka_unit_test(test_lines_crlf),
        cmocka_unit_test(test_lines_no_trailing_newline),
        cmocka_unit_test(test_lines_empty),
        cmocka_unit_test(test_lines_with_bom),
        cmocka_unit_test(test_split_plain),
        cmocka_unit_test(test_split_quoted),
        cmocka_unit_test(test_split_quote_errors),
        cmocka_unit_test(test_split_too_many),
        cmocka_unit_test(test_split_store_exact),
        cmocka_unit_test(test_number_ok),
        cmocka_unit_test(test_number_errors),
        cmocka_unit_test(test_number_empty),
        cmocka_unit_test(test_number_random_vs_strtod),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_big_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
