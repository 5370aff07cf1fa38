/** \file test_gen.c
 *  Unit tests of gen.h: determinism, CSV header and row contents (parsed
 *  with csv.h), positive rate, HDF5 layout and its agreement with the CSV,
 *  option validation, and failure on an unwritable directory leaving no
 *  file behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "riskgrid/csv.h"
#include "riskgrid/gen.h"

#define NCOL 19
#define NFEAT 24

static const char *const expected_cols[NCOL] = {
    "id", "limit_bal", "age", "education", "marriage", "housing",
    "bill_amt1", "bill_amt2", "bill_amt3", "pay_amt1", "pay_amt2",
    "pay_delay1", "pay_delay2", "pay_delay3", "utilization", "n_cards",
    "income", "tenure_months", "default"
};
enum { C_ID, C_LIMIT, C_AGE, C_EDU, C_MAR, C_HOU, C_BILL1, C_BILL2, C_BILL3, C_PAY1, C_PAY2,
       C_D1, C_D2, C_D3, C_UTIL, C_CARDS, C_INCOME, C_TENURE, C_DEFAULT };

static const char *const expected_features[NFEAT] = {
    "limit_bal", "age",
    "education=graduate", "education=high_school", "education=other", "education=university",
    "marriage=married", "marriage=other", "marriage=single",
    "housing=mortgage", "housing=own", "housing=rent",
    "bill_amt1", "bill_amt2", "bill_amt3", "pay_amt1", "pay_amt2",
    "pay_delay1", "pay_delay2", "pay_delay3", "utilization", "n_cards",
    "income", "tenure_months"
};
static const char *const edu_set[] = { "graduate", "high_school", "other", "university" };
static const char *const mar_set[] = { "married", "other", "single" };
static const char *const hou_set[] = { "mortgage", "own", "rent" };

typedef struct fixture {
    char dir[256];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    const char *t = getenv("TMPDIR");
    if (fx == NULL) return -1;
    snprintf(fx->dir, sizeof fx->dir, "%s/rg_test_gen.XXXXXX", t != NULL && t[0] ? t : "/tmp");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

/** Remove every entry of dir (flat) and dir itself. */
static int teardown(void **state)
{
    fixture *fx = *state;
    DIR *d = opendir(fx->dir);
    struct dirent *e;
    char p[512];
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
            if (rmdir(p) != 0) {
                chmod(p, 0700);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static char *path_in(const fixture *fx, const char *name)
{
    static char buf[4][512];
    static int k = 0;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", fx->dir, name);
    return p;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/** Number of entries in dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static int gen(const char *path, int64_t rows, uint64_t seed, double rate)
{
    gen_options o = { rows, seed, rate };
    rg_error e;
    int rc;
    error_clear(&e);
    rc = gen_write(path, &o, &e);
    if (rc != 0) print_message("gen_write: %s\n", e.msg);
    return rc;
}

static int in_set(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0) return 1;
    return 0;
}

/** Parsed CSV: per row the 16 numeric columns and the label. */
typedef struct table {
    int64_t rows;
    double *num;      /**< rows * NCOL (category columns left 0) */
    int *cat;         /**< rows * 3 category indices (edu, mar, hou) */
} table;

static int index_of(const char *s, const char *const *set, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0) return i;
    return -1;
}

/** Parse and validate a generated CSV completely. */
static table parse_csv(const char *path, int64_t want_rows)
{
    size_t len = 0, pos = 0, n = 0;
    char *buf = read_all(path, &len);
    const char *line = NULL;
    char *fields[NCOL + 1];
    char *store = NULL;
    int nf = 0, col = 0;
    table t = { 0, NULL, NULL };

    assert_int_equal(csv_skip_bom(buf, len), 0);
    assert_true(len > 0 && buf[len - 1] == '\n');
    assert_null(memchr(buf, '\r', len));
    store = malloc(len + NCOL + 2);
    t.num = calloc((size_t)want_rows * NCOL, sizeof *t.num);
    t.cat = calloc((size_t)want_rows * 3, sizeof *t.cat);
    assert_non_null(store);
    assert_non_null(t.num);
    assert_non_null(t.cat);

    assert_int_equal(csv_next_line(buf, len, &pos, &line, &n), 1);
    assert_int_equal(csv_split(line, n, ',', store, n + NCOL + 1, fields, NCOL + 1, &nf, &col),
                     CSV_OK);
    assert_int_equal(nf, NCOL);
    for (int c = 0; c < NCOL; c++) assert_string_equal(fields[c], expected_cols[c]);

    while (csv_next_line(buf, len, &pos, &line, &n)) {
        double *v = NULL;
        int64_t r = t.rows;
        assert_true(n > 0);
        assert_true(r < want_rows);
        v = t.num + r * NCOL;
        assert_int_equal(csv_split(line, n, ',', store, n + NCOL + 1, fields, NCOL + 1, &nf, &col),
                         CSV_OK);
        assert_int_equal(nf, NCOL);
        for (int c = 0; c < NCOL; c++) {
            if (c == C_EDU || c == C_MAR || c == C_HOU) continue;
            if (csv_number(fields[c], &v[c]) != CSV_OK)
                fail_msg("row %lld column %s: '%s' is not a number", (long long)r,
                         expected_cols[c], fields[c]);
        }
        assert_true(in_set(fields[C_EDU], edu_set, 4));
        assert_true(in_set(fields[C_MAR], mar_set, 3));
        assert_true(in_set(fields[C_HOU], hou_set, 3));
        t.cat[r * 3 + 0] = index_of(fields[C_EDU], edu_set, 4);
        t.cat[r * 3 + 1] = index_of(fields[C_MAR], mar_set, 3);
        t.cat[r * 3 + 2] = index_of(fields[C_HOU], hou_set, 3);

        /* documented ranges */
        assert_true(v[C_ID] == (double)r);
        assert_true(v[C_LIMIT] >= 10000 && v[C_LIMIT] <= 1000000);
        assert_true(fmod(v[C_LIMIT], 10000.0) == 0.0);
        assert_true(v[C_AGE] >= 21 && v[C_AGE] <= 79 && v[C_AGE] == floor(v[C_AGE]));
        for (int c = C_D1; c <= C_D3; c++)
            assert_true(v[c] >= -2 && v[c] <= 8 && v[c] == floor(v[c]));
        for (int c = C_BILL1; c <= C_PAY2; c++) assert_true(v[c] == floor(v[c]));
        assert_true(v[C_PAY1] >= 0 && v[C_PAY2] >= 0);
        assert_true(fabs(v[C_UTIL] - v[C_BILL1] / v[C_LIMIT]) <= 0.5e-4 + 1e-12);
        assert_true(v[C_CARDS] >= 1 && v[C_CARDS] <= 12);
        assert_true(v[C_INCOME] > 0);
        assert_true(v[C_TENURE] >= 1 && v[C_TENURE] <= 12 * (v[C_AGE] - 18));
        assert_true(v[C_DEFAULT] == 0 || v[C_DEFAULT] == 1);
        t.rows++;
    }
    assert_int_equal(t.rows, want_rows);
    free(store);
    free(buf);
    return t;
}

static void table_free(table *t)
{
    free(t->num);
    free(t->cat);
}

static double positive_rate(const table *t)
{
    int64_t pos = 0;
    for (int64_t r = 0; r < t->rows; r++) pos += t->num[r * NCOL + C_DEFAULT] != 0.0;
    return (double)pos / (double)t->rows;
}

/* ---- tests -------------------------------------------------------------- */

static void test_deterministic(void **state)
{
    fixture *fx = *state;
    const char *a = path_in(fx, "a.csv"), *b = path_in(fx, "b.csv"), *c = path_in(fx, "c.csv");
    size_t la = 0, lb = 0, lc = 0;
    char *ba, *bb, *bc;
    assert_int_equal(gen(a, 3000, 7, 0.2), 0);
    assert_int_equal(gen(b, 3000, 7, 0.2), 0);
    assert_int_equal(gen(c, 3000, 8, 0.2), 0);
    ba = read_all(a, &la);
    bb = read_all(b, &lb);
    bc = read_all(c, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    assert_true(la != lc || memcmp(ba, bc, la) != 0);
    free(ba);
    free(bb);
    free(bc);
    /* only the three outputs: no temporaries left */
    assert_int_equal(count_entries(fx->dir), 3);
}

static void test_row_is_function_of_seed_and_index(void **state)
{
    /* features of row i do not depend on the row count (only the intercept,
     * hence the labels, may) */
    fixture *fx = *state;
    const char *a = path_in(fx, "small.csv"), *b = path_in(fx, "large.csv");
    table ta, tb;
    assert_int_equal(gen(a, 500, 11, 0.2), 0);
    assert_int_equal(gen(b, 1500, 11, 0.2), 0);
    ta = parse_csv(a, 500);
    tb = parse_csv(b, 1500);
    for (int64_t r = 0; r < 500; r++) {
        assert_memory_equal(ta.num + r * NCOL, tb.num + r * NCOL, sizeof(double) * C_DEFAULT);
        assert_memory_equal(ta.cat + r * 3, tb.cat + r * 3, sizeof(int) * 3);
    }
    table_free(&ta);
    table_free(&tb);
}

static void test_csv_contents_and_rate(void **state)
{
    fixture *fx = *state;
    const double rates[2] = { 0.2, 0.35 };
    for (int k = 0; k < 2; k++) {
        const char *p = path_in(fx, k == 0 ? "r20.csv" : "r35.csv");
        table t;
        double got;
        assert_int_equal(gen(p, 20000, 7, rates[k]), 0);
        t = parse_csv(p, 20000);
        got = positive_rate(&t);
        print_message("requested positive rate %.2f, got %.4f\n", rates[k], got);
        assert_true(fabs(got - rates[k]) <= 0.02);
        table_free(&t);
    }
}

static void test_single_row(void **state)
{
    fixture *fx = *state;
    const char *p = path_in(fx, "one.csv");
    table t;
    assert_int_equal(gen(p, 1, 3, 0.5), 0);
    t = parse_csv(p, 1);
    table_free(&t);
}

static void test_overwrites_existing(void **state)
{
    fixture *fx = *state;
    const char *p = path_in(fx, "old.csv");
    FILE *f = fopen(p, "w");
    size_t len = 0;
    char *buf;
    assert_non_null(f);
    fputs("old contents\n", f);
    fclose(f);
    assert_int_equal(gen(p, 10, 1, 0.2), 0);
    buf = read_all(p, &len);
    assert_memory_equal(buf, "id,limit_bal,", 13);
    free(buf);
    assert_int_equal(count_entries(fx->dir), 1);
}

static void test_hdf5(void **state)
{
    fixture *fx = *state;
    const char *h = path_in(fx, "d.h5"), *h2 = path_in(fx, "d2.h5"), *c = path_in(fx, "d.csv");
    const int64_t rows = 5000;   /* > one 4096-row block */
    hid_t file, ds, sp, attr, atype, aspace, memtype;
    hsize_t dims[2] = { 0, 0 }, nattr = 0;
    float *x = NULL;
    int32_t *y = NULL;
    char *names[NFEAT];
    table t;
    size_t l1 = 0, l2 = 0;
    char *b1, *b2;

    assert_int_equal(gen(h, rows, 5, 0.3), 0);
    assert_int_equal(gen(h2, rows, 5, 0.3), 0);
    assert_int_equal(gen(c, rows, 5, 0.3), 0);
    /* byte-identical for the same seed (no timestamps) */
    b1 = read_all(h, &l1);
    b2 = read_all(h2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);

    file = H5Fopen(h, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(file >= 0);

    ds = H5Dopen2(file, "features", H5P_DEFAULT);
    assert_true(ds >= 0);
    sp = H5Dget_space(ds);
    assert_int_equal(H5Sget_simple_extent_ndims(sp), 2);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    assert_int_equal(dims[0], (hsize_t)rows);
    assert_int_equal(dims[1], NFEAT);
    {
        hid_t ft = H5Dget_type(ds);
        assert_int_equal(H5Tget_class(ft), H5T_FLOAT);
        assert_int_equal(H5Tget_size(ft), 4);
        H5Tclose(ft);
    }
    x = malloc(sizeof *x * (size_t)rows * NFEAT);
    assert_non_null(x);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);

    attr = H5Aopen(ds, "feature_names", H5P_DEFAULT);
    assert_true(attr >= 0);
    atype = H5Aget_type(attr);
    assert_int_equal(H5Tget_class(atype), H5T_STRING);
    assert_true(H5Tis_variable_str(atype) > 0);
    aspace = H5Aget_space(attr);
    assert_int_equal(H5Sget_simple_extent_ndims(aspace), 1);
    H5Sget_simple_extent_dims(aspace, &nattr, NULL);
    assert_int_equal(nattr, NFEAT);
    assert_int_equal(H5Tget_cset(atype), H5T_CSET_UTF8);
    /* HDF5 1.10 does not convert between character sets: read as UTF-8 */
    memtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(memtype, H5T_VARIABLE);
    H5Tset_cset(memtype, H5T_CSET_UTF8);
    assert_true(H5Aread(attr, memtype, names) >= 0);
    for (int j = 0; j < NFEAT; j++) assert_string_equal(names[j], expected_features[j]);
    assert_true(H5Dvlen_reclaim(memtype, aspace, H5P_DEFAULT, names) >= 0);
    H5Tclose(memtype);
    H5Sclose(aspace);
    H5Tclose(atype);
    H5Aclose(attr);
    H5Sclose(sp);
    H5Dclose(ds);

    ds = H5Dopen2(file, "label", H5P_DEFAULT);
    assert_true(ds >= 0);
    sp = H5Dget_space(ds);
    assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    assert_int_equal(dims[0], (hsize_t)rows);
    {
        hid_t lt = H5Dget_type(ds);
        assert_int_equal(H5Tget_class(lt), H5T_INTEGER);
        assert_int_equal(H5Tget_size(lt), 4);
        H5Tclose(lt);
    }
    y = malloc(sizeof *y * (size_t)rows);
    assert_non_null(y);
    assert_true(H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0);
    H5Sclose(sp);
    H5Dclose(ds);
    assert_true(H5Fclose(file) >= 0);

    /* the same data as the CSV written with the same options */
    t = parse_csv(c, rows);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * NFEAT;
        const double *v = t.num + r * NCOL;
        static const int numeric_cols[] = { C_BILL1, C_BILL2, C_BILL3, C_PAY1, C_PAY2, C_D1, C_D2,
                                            C_D3, C_UTIL, C_CARDS, C_INCOME, C_TENURE };
        assert_int_equal(y[r], (int32_t)v[C_DEFAULT]);
        assert_true(xr[0] == (float)v[C_LIMIT]);
        assert_true(xr[1] == (float)v[C_AGE]);
        for (int j = 0; j < 4; j++) assert_true(xr[2 + j] == (t.cat[r * 3] == j ? 1.0f : 0.0f));
        for (int j = 0; j < 3; j++) assert_true(xr[6 + j] == (t.cat[r * 3 + 1] == j ? 1.0f : 0.0f));
        for (int j = 0; j < 3; j++) assert_true(xr[9 + j] == (t.cat[r * 3 + 2] == j ? 1.0f : 0.0f));
        for (int j = 0; j < 12; j++) assert_true(xr[12 + j] == (float)v[numeric_cols[j]]);
    }
    table_free(&t);
    free(x);
    free(y);
    assert_int_equal(count_entries(fx->dir), 3);
}

static void test_bad_options(void **state)
{
    fixture *fx = *state;
    const char *p = path_in(fx, "bad.csv");
    const struct { int64_t rows; double rate; } bad[] = {
        { 0, 0.2 }, { -5, 0.2 }, { 100, 0.0 }, { 100, 1.0 }, { 100, -0.1 }, { 100, 1.5 },
        { 100, NAN }, { 100, INFINITY },
    };
    rg_error e;
    gen_options o = { 100, 1, 0.2 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.rows = bad[i].rows;
        o.positive_rate = bad[i].rate;
        error_clear(&e);
        assert_int_equal(gen_write(p, &o, &e), ERR_USAGE);
        assert_int_equal(e.code, ERR_USAGE);
        assert_true(strlen(e.msg) > 0);
    }
    o.rows = 100;
    o.positive_rate = 0.2;
    error_clear(&e);
    assert_int_equal(gen_write(NULL, &o, &e), ERR_USAGE);
    error_clear(&e);
    assert_int_equal(gen_write(p, NULL, &e), ERR_USAGE);
    error_clear(&e);
    assert_int_equal(gen_write("", &o, &e), ERR_USAGE);
    assert_int_equal(count_entries(fx->dir), 0);
}

static void test_unwritable_directory(void **state)
{
    fixture *fx = *state;
    const char *missing_csv = path_in(fx, "no/such/dir/x.csv");
    const char *missing_h5 = path_in(fx, "no/such/dir/x.h5");
    const char *ro = path_in(fx, "ro");
    char ro_csv[600], ro_h5[600];
    gen_options o = { 100, 1, 0.2 };
    rg_error e;

    error_clear(&e);
    assert_int_equal(gen_write(missing_csv, &o, &e), ERR_IO);
    assert_int_equal(e.code, ERR_IO);
    error_clear(&e);
    assert_int_equal(gen_write(missing_h5, &o, &e), ERR_IO);
    assert_int_equal(count_entries(fx->dir), 0);

    /* the "directory" is a regular file (binds root too) */
    {
        const char *plain = path_in(fx, "plain");
        char under[600];
        FILE *f = fopen(plain, "w");
        assert_non_null(f);
        fclose(f);
        snprintf(under, sizeof under, "%s/x.csv", plain);
        error_clear(&e);
        assert_int_equal(gen_write(under, &o, &e), ERR_IO);
        snprintf(under, sizeof under, "%s/x.h5", plain);
        error_clear(&e);
        assert_int_equal(gen_write(under, &o, &e), ERR_IO);
        assert_int_equal(count_entries(fx->dir), 1);
        assert_int_equal(unlink(plain), 0);
    }

    /* a read-only directory (permissions do not bind root: skip then) */
    assert_int_equal(mkdir(ro, 0500), 0);
    if (geteuid() != 0) {
        snprintf(ro_csv, sizeof ro_csv, "%s/x.csv", ro);
        snprintf(ro_h5, sizeof ro_h5, "%s/x.h5", ro);
        error_clear(&e);
        assert_int_equal(gen_write(ro_csv, &o, &e), ERR_IO);
        error_clear(&e);
        assert_int_equal(gen_write(ro_h5, &o, &e), ERR_IO);
        assert_int_equal(count_entries(ro), 0);
    } else {
        print_message("running as root: read-only directory case skipped\n");
    }
    assert_int_equal(rmdir(ro), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_is_function_of_seed_and_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_contents_and_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overwrites_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdf5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
