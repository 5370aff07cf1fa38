/** \file test_auc.c  Unit tests of auc.c (cmocka).
 *
 *  References, none of them produced by the code under test:
 *   - tests/fixtures/auc_*.txt, written by scripts/make_auc_fixtures.py:
 *     scikit-learn roc_auc_score / roc_curve and the O(n^2) DeLong
 *     variance in exact rationals (read from the RG_FIXTURES directory);
 *   - a brute-force O(n^2) Mann-Whitney / DeLong in this file, on random
 *     data with ties.
 *  Tolerances: AUC, fpr, tpr, thresholds 1e-12 absolute; variances 1e-12
 *  relative (they are ~1e-4, so an absolute 1e-12 would be meaningless).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/auc.h"
#include "riskgrid/error.h"

#ifndef RG_FIXTURES
#error "compile with -DRG_FIXTURES=\"<dir>\" (the tests/fixtures directory)"
#endif

#define Z975 1.959963985

/* ---------------------------------------------------------------- helpers */

#define CHECK_CLOSE(got, want, tol) check_close((got), (want), (tol), #got, __FILE__, __LINE__)
#define CHECK_REL(got, want, rtol) check_close((got), (want), (rtol) * fabs(want), #got, __FILE__, __LINE__)

static void check_close(double got, double want, double tol, const char *what,
                        const char *file, int line)
{
    if (!(fabs(got - want) <= tol)) {
        print_error("%s:%d: %s = %.17g, expected %.17g (|diff| %.3g > %.3g)\n",
                    file, line, what, got, want, fabs(got - want), tol);
        fail();
    }
}

/* SplitMix64: the tests' own generator (independent of src/rng.c). */
static uint64_t sm_state;
static uint64_t sm_next(void)
{
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double sm_unit(void) { return (double)(sm_next() >> 11) * 0x1.0p-53; }

/* Brute-force DeLong: psi over all (positive, negative) pairs, V10 and
 * V01 as row / column means, two-pass sample variances. */
static void brute_delong(const double *s, const int32_t *y, size_t n,
                         double *auc, double *var)
{
    size_t n1 = 0, n0 = 0;
    double *v10 = calloc(n, sizeof *v10), *v01 = calloc(n, sizeof *v01);
    double sum = 0.0, ss10 = 0.0, ss01 = 0.0;
    assert_non_null(v10);
    assert_non_null(v01);
    for (size_t i = 0; i < n; i++) n1 += y[i] != 0;
    n0 = n - n1;
    for (size_t i = 0; i < n; i++) {
        if (!y[i]) continue;
        for (size_t j = 0; j < n; j++) {
            double psi;
            if (y[j]) continue;
            psi = s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
            v10[i] += psi;
            v01[j] += psi;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (y[i]) { v10[i] /= (double)n0; sum += v10[i]; }
        else v01[i] /= (double)n1;
    }
    *auc = sum / (double)n1;
    for (size_t i = 0; i < n; i++) {
        if (y[i]) ss10 += (v10[i] - *auc) * (v10[i] - *auc);
        else ss01 += (v01[i] - *auc) * (v01[i] - *auc);
    }
    *var = (n1 > 1 && n0 > 1) ? ss10 / (double)(n1 - 1) / (double)n1 + ss01 / (double)(n0 - 1) / (double)n0
                              : 0.0;
    free(v10);
    free(v01);
}

/* Random binary data: score = floor(u * levels) / levels (levels == 0:
 * continuous), shifted up for positives with probability 1/2. */
static void random_data(double *s, int32_t *y, size_t n, double pos_rate, int levels)
{
    for (size_t i = 0; i < n; i++) {
        double u;
        y[i] = sm_unit() < pos_rate;
        u = sm_unit();
        if (y[i] && sm_unit() < 0.5) u = 0.5 + 0.5 * u;
        s[i] = levels > 0 ? floor(u * levels) / levels : u;
    }
}

/* ----------------------------------------------------------- fixtures */

typedef struct fixture {
    size_t n, cap;
    double *scores;     /* binary rows, or prob[n*k] for multi-class */
    int32_t *labels;
    size_t n_pos, n_neg;
    double auc, var;
    size_t n_roc, cap_roc;
    double *roc_f, *roc_t, *roc_h;
    int k;
    double macro;
    double cls_auc[16], cls_var[16];
} fixture;

static void fixture_free(fixture *fx)
{
    free(fx->scores);
    free(fx->labels);
    free(fx->roc_f);
    free(fx->roc_t);
    free(fx->roc_h);
}

static void *grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, n * size);
    assert_non_null(q);
    return q;
}

static void fixture_load(const char *name, fixture *fx)
{
    char path[4096], line[8192];
    FILE *f;
    size_t lineno = 0;
    memset(fx, 0, sizeof *fx);
    fx->auc = fx->var = fx->macro = NAN;
    snprintf(path, sizeof path, "%s/%s", RG_FIXTURES, name);
    f = fopen(path, "r");
    if (f == NULL) {
        print_error("cannot open fixture %s (run scripts/make_auc_fixtures.py)\n", path);
        fail();
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line, *end;
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (strncmp(p, "row ", 4) == 0) {
            if (fx->n == fx->cap) {
                fx->cap = fx->cap ? 2 * fx->cap : 256;
                fx->scores = grow(fx->scores, fx->cap, sizeof *fx->scores);
                fx->labels = grow(fx->labels, fx->cap, sizeof *fx->labels);
            }
            fx->scores[fx->n] = strtod(p + 4, &end);
            fx->labels[fx->n] = (int32_t)strtol(end, &end, 10);
            fx->n++;
        } else if (strncmp(p, "mrow ", 5) == 0) {
            assert_true(fx->k > 0);
            if (fx->n == fx->cap) {
                fx->cap = fx->cap ? 2 * fx->cap : 256;
                fx->scores = grow(fx->scores, fx->cap * (size_t)fx->k, sizeof *fx->scores);
                fx->labels = grow(fx->labels, fx->cap, sizeof *fx->labels);
            }
            fx->labels[fx->n] = (int32_t)strtol(p + 5, &end, 10);
            for (int c = 0; c < fx->k; c++)
                fx->scores[fx->n * (size_t)fx->k + (size_t)c] = strtod(end, &end);
            fx->n++;
        } else if (strncmp(p, "roc ", 4) == 0) {
            if (fx->n_roc == fx->cap_roc) {
                fx->cap_roc = fx->cap_roc ? 2 * fx->cap_roc : 64;
                fx->roc_f = grow(fx->roc_f, fx->cap_roc, sizeof *fx->roc_f);
                fx->roc_t = grow(fx->roc_t, fx->cap_roc, sizeof *fx->roc_t);
                fx->roc_h = grow(fx->roc_h, fx->cap_roc, sizeof *fx->roc_h);
            }
            fx->roc_f[fx->n_roc] = strtod(p + 4, &end);
            fx->roc_t[fx->n_roc] = strtod(end, &end);
            fx->roc_h[fx->n_roc] = strtod(end, &end);
            fx->n_roc++;
        } else if (strncmp(p, "auc ", 4) == 0) {
            fx->auc = strtod(p + 4, NULL);
        } else if (strncmp(p, "var ", 4) == 0) {
            fx->var = strtod(p + 4, NULL);
        } else if (strncmp(p, "n_pos ", 6) == 0) {
            fx->n_pos = (size_t)strtoul(p + 6, NULL, 10);
        } else if (strncmp(p, "n_neg ", 6) == 0) {
            fx->n_neg = (size_t)strtoul(p + 6, NULL, 10);
        } else if (strncmp(p, "classes ", 8) == 0) {
            fx->k = (int)strtol(p + 8, NULL, 10);
            assert_true(fx->k >= 2 && fx->k <= 16);
        } else if (strncmp(p, "macro ", 6) == 0) {
            fx->macro = strtod(p + 6, NULL);
        } else if (strncmp(p, "class ", 6) == 0) {
            long c = strtol(p + 6, &end, 10);
            assert_true(c >= 0 && c < 16);
            fx->cls_auc[c] = strtod(end, &end);
            fx->cls_var[c] = strtod(end, &end);
        } else {
            print_error("%s:%zu: unknown record\n", path, lineno);
            fail();
        }
    }
    fclose(f);
    assert_true(fx->n > 0);
}

/* --------------------------------------------------- binary vs sklearn */

static void check_binary_fixture(const char *name)
{
    fixture fx;
    auc_result r;
    rg_error err;
    double se;
    fixture_load(name, &fx);
    error_clear(&err);
    assert_int_equal(auc_delong(fx.scores, fx.labels, fx.n, &r, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(r.n_pos, fx.n_pos);
    assert_int_equal(r.n_neg, fx.n_neg);
    CHECK_CLOSE(r.auc, fx.auc, 1e-12);
    CHECK_REL(r.var, fx.var, 1e-12);
    se = sqrt(fx.var);
    CHECK_CLOSE(r.lo, fmax(0.0, fx.auc - Z975 * se), 1e-12);
    CHECK_CLOSE(r.hi, fmin(1.0, fx.auc + Z975 * se), 1e-12);
    fixture_free(&fx);
}

static void test_hand_fixture(void **state)
{
    (void)state;
    check_binary_fixture("auc_hand.txt");
}

static void test_heavy_ties_fixture(void **state)
{
    (void)state;
    check_binary_fixture("auc_ties.txt");
}

/* ------------------------------------------------------ ROC vs sklearn */

static void check_roc_fixture(const char *name)
{
    fixture fx;
    rg_error err;
    double *f = NULL, *t = NULL, *h = NULL;
    size_t m = 0;
    fixture_load(name, &fx);
    assert_true(fx.n_roc >= 2);
    error_clear(&err);
    assert_int_equal(auc_roc_curve(fx.scores, fx.labels, fx.n, &f, &t, &h, &m, &err), 0);
    assert_int_equal(m, fx.n_roc);
    for (size_t i = 0; i < m; i++) {
        CHECK_CLOSE(f[i], fx.roc_f[i], 1e-12);
        CHECK_CLOSE(t[i], fx.roc_t[i], 1e-12);
        /* the first threshold is sklearn-version dependent; ours is +inf */
        if (i > 0) CHECK_CLOSE(h[i], fx.roc_h[i], 1e-12);
    }
    assert_true(isinf(h[0]) && h[0] > 0);
    free(f);
    free(t);
    free(h);
    fixture_free(&fx);
}

static void test_roc_hand(void **state)
{
    (void)state;
    check_roc_fixture("auc_hand.txt");
}

static void test_roc_heavy_ties(void **state)
{
    (void)state;
    check_roc_fixture("auc_ties.txt");
}

/* ---------------------------------------------- multi-class vs sklearn */

static void test_macro_ovr_fixture(void **state)
{
    fixture fx;
    auc_result r, per[16];
    rg_error err;
    double sum_var = 0.0, se, mvar;
    (void)state;
    fixture_load("auc_multiclass.txt", &fx);
    error_clear(&err);
    assert_int_equal(auc_macro_ovr(fx.scores, fx.labels, fx.n, fx.k, &r, per, &err), 0);
    CHECK_CLOSE(r.auc, fx.macro, 1e-12);
    for (int c = 0; c < fx.k; c++) {
        CHECK_CLOSE(per[c].auc, fx.cls_auc[c], 1e-12);
        CHECK_REL(per[c].var, fx.cls_var[c], 1e-12);
        assert_int_equal(per[c].n_pos + per[c].n_neg, fx.n);
        sum_var += fx.cls_var[c];
    }
    /* auc.h: macro var = sum_k var_k / K^2, interval clipped to [0, 1] */
    mvar = sum_var / ((double)fx.k * fx.k);
    CHECK_REL(r.var, mvar, 1e-12);
    se = sqrt(mvar);
    CHECK_CLOSE(r.lo, fmax(0.0, fx.macro - Z975 * se), 1e-12);
    CHECK_CLOSE(r.hi, fmin(1.0, fx.macro + Z975 * se), 1e-12);
    /* per_class may be NULL */
    error_clear(&err);
    assert_int_equal(auc_macro_ovr(fx.scores, fx.labels, fx.n, fx.k, &r, NULL, &err), 0);
    CHECK_CLOSE(r.auc, fx.macro, 1e-12);
    fixture_free(&fx);
}

/* ------------------------------------------------ brute force, random */

static void test_brute_force_random(void **state)
{
    static const int levels[] = {2, 3, 5, 10, 50, 0};
    static const size_t sizes[] = {7, 40, 333, 1500};
    static const double rates[] = {0.5, 0.1, 0.9};
    (void)state;
    sm_state = 12345;
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++)
        for (size_t b = 0; b < sizeof levels / sizeof *levels; b++)
            for (size_t c = 0; c < sizeof rates / sizeof *rates; c++) {
                size_t n = sizes[a], n1 = 0;
                double *s = malloc(n * sizeof *s), bauc, bvar;
                int32_t *y = malloc(n * sizeof *y);
                auc_result r;
                rg_error err;
                assert_non_null(s);
                assert_non_null(y);
                random_data(s, y, n, rates[c], levels[b]);
                for (size_t i = 0; i < n; i++) n1 += y[i] != 0;
                if (n1 == 0) y[0] = 1;       /* keep both classes */
                if (n1 == n) y[0] = 0;
                brute_delong(s, y, n, &bauc, &bvar);
                error_clear(&err);
                assert_int_equal(auc_delong(s, y, n, &r, &err), 0);
                CHECK_CLOSE(r.auc, bauc, 1e-12);
                if (bvar == 0.0) assert_true(r.var == 0.0);
                else CHECK_REL(r.var, bvar, 1e-12);
                assert_true(r.lo >= 0.0 && r.lo <= r.auc && r.auc <= r.hi && r.hi <= 1.0);
                free(s);
                free(y);
            }
}

/* Labels: any nonzero value is a positive. */
static void test_nonzero_labels_positive(void **state)
{
    double s[6] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.2};
    int32_t y01[6] = {0, 0, 1, 1, 1, 0};
    int32_t yany[6] = {0, 0, 7, -1, 2, 0};
    auc_result r1, r2;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(auc_delong(s, y01, 6, &r1, &err), 0);
    assert_int_equal(auc_delong(s, yany, 6, &r2, &err), 0);
    assert_memory_equal(&r1, &r2, sizeof r1);
}

/* Permuting the rows gives bit-identical results. */
static void test_permutation_invariance(void **state)
{
    enum { N = 800 };
    double s[N], s2[N];
    int32_t y[N], y2[N];
    size_t perm[N];
    auc_result r1, r2;
    rg_error err;
    double *f1 = NULL, *t1 = NULL, *h1 = NULL, *f2 = NULL, *t2 = NULL, *h2 = NULL;
    size_t m1 = 0, m2 = 0;
    (void)state;
    sm_state = 777;
    random_data(s, y, N, 0.3, 20);
    for (size_t i = 0; i < N; i++) perm[i] = i;
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = (size_t)(sm_next() % (i + 1)), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (size_t i = 0; i < N; i++) {
        s2[i] = s[perm[i]];
        y2[i] = y[perm[i]];
    }
    error_clear(&err);
    assert_int_equal(auc_delong(s, y, N, &r1, &err), 0);
    assert_int_equal(auc_delong(s2, y2, N, &r2, &err), 0);
    assert_memory_equal(&r1, &r2, sizeof r1);
    assert_int_equal(auc_roc_curve(s, y, N, &f1, &t1, &h1, &m1, &err), 0);
    assert_int_equal(auc_roc_curve(s2, y2, N, &f2, &t2, &h2, &m2, &err), 0);
    assert_int_equal(m1, m2);
    assert_memory_equal(f1, f2, m1 * sizeof *f1);
    assert_memory_equal(t1, t2, m1 * sizeof *t1);
    assert_memory_equal(h1, h2, m1 * sizeof *h1);
    free(f1); free(t1); free(h1);
    free(f2); free(t2); free(h2);
}

/* The trapezoid area under auc_roc_curve equals auc_delong. */
static void test_roc_area_matches_auc(void **state)
{
    enum { N = 500 };
    double s[N], *f = NULL, *t = NULL, *h = NULL, area = 0.0;
    int32_t y[N];
    size_t m = 0;
    auc_result r;
    rg_error err;
    (void)state;
    sm_state = 4242;
    random_data(s, y, N, 0.4, 7);
    error_clear(&err);
    assert_int_equal(auc_delong(s, y, N, &r, &err), 0);
    assert_int_equal(auc_roc_curve(s, y, N, &f, &t, &h, &m, &err), 0);
    assert_true(f[m - 1] == 1.0 && t[m - 1] == 1.0);
    for (size_t i = 1; i < m; i++) {
        assert_true(h[i] < h[i - 1]);               /* distinct, descending */
        assert_true(f[i] >= f[i - 1] && t[i] >= t[i - 1]);
        area += (f[i] - f[i - 1]) * (t[i] + t[i - 1]) / 2.0;
    }
    CHECK_CLOSE(area, r.auc, 1e-12);
    free(f);
    free(t);
    free(h);
}

/* Perfect separation: auc 1, var 0, interval [1, 1]; near-perfect with
 * few rows: the upper end is clipped to 1. */
static void test_interval_clipping(void **state)
{
    double s1[6] = {0.1, 0.2, 0.3, 0.7, 0.8, 0.9};
    int32_t y1[6] = {0, 0, 0, 1, 1, 1};
    double s2[8] = {0.1, 0.2, 0.3, 0.75, 0.7, 0.8, 0.9, 0.95};
    int32_t y2[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    auc_result r;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(auc_delong(s1, y1, 6, &r, &err), 0);
    assert_true(r.auc == 1.0 && r.var == 0.0 && r.lo == 1.0 && r.hi == 1.0);
    assert_int_equal(auc_delong(s2, y2, 8, &r, &err), 0);
    CHECK_CLOSE(r.auc, 15.0 / 16.0, 1e-15);
    assert_true(r.auc + Z975 * sqrt(r.var) > 1.0);
    assert_true(r.hi == 1.0);
    CHECK_CLOSE(r.lo, r.auc - Z975 * sqrt(r.var), 1e-15);
}

/* ------------------------------------------------------------- errors */

static void test_error_one_class(void **state)
{
    double s[5] = {0.1, 0.2, 0.2, 0.4, 0.5};
    int32_t ones[5] = {1, 1, 1, 1, 1}, zeros[5] = {0, 0, 0, 0, 0};
    auc_result r;
    rg_error err;
    double *f = NULL, *t = NULL, *h = NULL;
    size_t m = 99;
    (void)state;
    error_clear(&err);
    assert_int_equal(auc_delong(s, ones, 5, &r, &err), ERR_NUMERIC);
    assert_int_equal(err.code, ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "AUC is undefined"));
    assert_non_null(strstr(err.msg, "only one class (5 rows of class 1)"));
    error_clear(&err);
    assert_int_equal(auc_delong(s, zeros, 5, &r, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "only one class (5 rows of class 0)"));
    error_clear(&err);
    assert_int_equal(auc_delong(s, zeros, 0, &r, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "empty"));
    error_clear(&err);
    assert_int_equal(auc_roc_curve(s, ones, 5, &f, &t, &h, &m, &err), ERR_NUMERIC);
    assert_null(f);
    assert_null(t);
    assert_null(h);
    assert_int_equal(m, 0);
}

static void test_error_nan(void **state)
{
    double s[5] = {0.1, 0.2, NAN, 0.4, 0.5};
    int32_t y[5] = {0, 1, 0, 1, 0};
    double prob[6] = {0.5, 0.5, NAN, 0.5, 0.2, 0.8};
    int32_t ym[3] = {0, 1, 1};
    auc_result r;
    rg_error err;
    double *f = NULL, *t = NULL, *h = NULL;
    size_t m = 99;
    (void)state;
    error_clear(&err);
    assert_int_equal(auc_delong(s, y, 5, &r, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "NaN"));
    assert_non_null(strstr(err.msg, "row 2"));
    error_clear(&err);
    assert_int_equal(auc_roc_curve(s, y, 5, &f, &t, &h, &m, &err), ERR_NUMERIC);
    assert_null(f);
    assert_int_equal(m, 0);
    error_clear(&err);
    assert_int_equal(auc_macro_ovr(prob, ym, 3, 2, &r, NULL, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "class 0"));
    assert_non_null(strstr(err.msg, "NaN"));
}

/* n_pos == 1 (and n_neg == 1): the AUC is still exact, the variance is
 * 0 by contract (auc.h), so the interval collapses to the point. */
static void test_single_positive(void **state)
{
    enum { N = 50 };
    double s[N], bauc, bvar;
    int32_t y[N];
    auc_result r;
    rg_error err;
    (void)state;
    sm_state = 99;
    for (int flip = 0; flip < 2; flip++) {
        for (size_t i = 0; i < N; i++) {
            s[i] = floor(sm_unit() * 8.0) / 8.0;
            y[i] = flip;
        }
        y[17] = !flip;
        s[17] = s[3];   /* the lone row ties with another */
        brute_delong(s, y, N, &bauc, &bvar);
        error_clear(&err);
        assert_int_equal(auc_delong(s, y, N, &r, &err), 0);
        assert_int_equal(flip ? r.n_neg : r.n_pos, 1);
        CHECK_CLOSE(r.auc, bauc, 1e-12);
        assert_true(r.var == 0.0);
        assert_true(r.lo == r.auc && r.hi == r.auc);
    }
}

static void test_error_macro_classes(void **state)
{
    double prob[4 * 3] = {0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.7, 0.2, 0.1, 0.1, 0.6, 0.3};
    int32_t missing[4] = {0, 1, 0, 1};   /* class 2 has no rows */
    int32_t bad[4] = {0, 1, 3, 2};       /* 3 is outside 0..2 */
    int32_t all_one[4] = {0, 0, 0, 0};
    auc_result r;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(auc_macro_ovr(prob, missing, 4, 3, &r, NULL, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "class 2 has 0 of 4 rows"));
    error_clear(&err);
    assert_int_equal(auc_macro_ovr(prob, bad, 4, 3, &r, NULL, &err), ERR_INPUT);
    assert_non_null(strstr(err.msg, "row 2"));
    error_clear(&err);
    assert_int_equal(auc_macro_ovr(prob, all_one, 4, 3, &r, NULL, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "class 0 has 4 of 4 rows"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_fixture),
        cmocka_unit_test(test_heavy_ties_fixture),
        cmocka_unit_test(test_roc_hand),
        cmocka_unit_test(test_roc_heavy_ties),
        cmocka_unit_test(test_macro_ovr_fixture),
        cmocka_unit_test(test_brute_force_random),
        cmocka_unit_test(test_nonzero_labels_positive),
        cmocka_unit_test(test_permutation_invariance),
        cmocka_unit_test(test_roc_area_matches_auc),
        cmocka_unit_test(test_interval_clipping),
        cmocka_unit_test(test_error_one_class),
        cmocka_unit_test(test_error_nan),
        cmocka_unit_test(test_single_positive),
        cmocka_unit_test(test_error_macro_classes),
    };
    return cmocka_run_group_tests_name("auc", tests, NULL, NULL);
}
