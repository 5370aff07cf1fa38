/** \file test_metrics.c  Unit tests of metrics.c (cmocka).
 *
 *  References, none of them produced by the code under test:
 *   - hand-worked examples (KS, Brier, calibration, lift, top-k);
 *   - exact rationals for a small paired DeLong case, computed with
 *     Python's fractions.Fraction from the O(n^2) definition (psi over all
 *     positive/negative pairs, structural components as row/column means,
 *     sample covariances): AUCs 19/32 and 29/32, variances 91/1536 and
 *     19/1536, covariance -7/512;
 *   - a brute-force O(n^2) DeLong covariance in this file, on random
 *     scores with heavy ties, and a brute-force KS over every threshold;
 *   - closed forms: elasticities 1 and -c/(1-c); chi-square survival for
 *     1 degree of freedom erfc(sqrt(x/2)) and for 2 exp(-x/2);
 *   - a full sort for the top-k heap.
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
#include "riskgrid/metrics.h"

#define CHECK_CLOSE(got, want, tol) check_close((got), (want), (tol), #got, __FILE__, __LINE__)

static void check_close(double got, double want, double tol, const char *what,
                        const char *file, int line)
{
    if (!(fabs(got - want) <= tol)) {
        print_error("%s:%d: %s = %.17g, expected %.17g (|diff| %.3g > %.3g)\n",
                    file, line, what, got, want, fabs(got - want), tol);
        fail();
    }
}

/* SplitMix64: the tests' own generator. */
static uint64_t sm_state;
static uint64_t sm_next(void)
{
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double sm_unit(void) { return (double)(sm_next() >> 11) * 0x1.0p-53; }

/* ------------------------------------------------------------ simple ones */

static void test_gini(void **state)
{
    (void)state;
    CHECK_CLOSE(metrics_gini(0.5), 0.0, 0);
    CHECK_CLOSE(metrics_gini(1.0), 1.0, 0);
    CHECK_CLOSE(metrics_gini(0.75), 0.5, 0);
    CHECK_CLOSE(metrics_gini(0.25), -0.5, 0);
}

static void test_ks_hand(void **state)
{
    /* descending: 0.9+ 0.8+ 0.7- 0.6+ 0.5- 0.4-: |TPR-FPR| = 1/3, 2/3,
     * 1/3, 2/3, 1/3, 0: the first maximum is at 0.8 */
    const double s[6] = {0.5, 0.9, 0.7, 0.4, 0.8, 0.6};
    const int32_t y[6] = {0, 1, 0, 0, 1, 1};
    double ks = -1, thr = -1;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_ks(s, y, 6, &ks, &thr, &err), 0);
    CHECK_CLOSE(ks, 2.0 / 3.0, 1e-15);
    CHECK_CLOSE(thr, 0.8, 0);
}

static void test_ks_ties_and_constant(void **state)
{
    /* tied scores are never split: 0.7 holds one positive and one negative */
    const double s[4] = {0.7, 0.7, 0.2, 0.2};
    const int32_t y[4] = {1, 0, 1, 0};
    const double s2[4] = {0.3, 0.3, 0.3, 0.3};
    double ks = -1, thr = -1;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_ks(s, y, 4, &ks, &thr, &err), 0);
    CHECK_CLOSE(ks, 0.0, 0);
    assert_true(isinf(thr) && thr > 0);
    assert_int_equal(metrics_ks(s2, y, 4, &ks, &thr, &err), 0);
    CHECK_CLOSE(ks, 0.0, 0);
}

/* brute force: every threshold t in the scores, |TPR(t) - FPR(t)| */
static void test_ks_brute_random(void **state)
{
    enum { N = 300 };
    double s[N];
    int32_t y[N];
    (void)state;
    sm_state = 11;
    for (int rep = 0; rep < 20; rep++) {
        double ks, thr, best = 0, at_thr;
        size_t n1 = 0, n0 = 0;
        rg_error err;
        error_clear(&err);
        for (int i = 0; i < N; i++) {
            s[i] = floor(sm_unit() * (rep % 2 ? 20 : 1e6)) / 20.0;  /* heavy ties on odd reps */
            y[i] = sm_unit() < 0.2 + 0.6 * s[i] / (rep % 2 ? 1.0 : 5e4);
            n1 += y[i] != 0;
        }
        n0 = N - n1;
        for (int t = 0; t < N; t++) {
            size_t tp = 0, fp = 0;
            for (int i = 0; i < N; i++)
                if (s[i] >= s[t]) { if (y[i]) tp++; else fp++; }
            double d = fabs((double)tp / (double)n1 - (double)fp / (double)n0);
            if (d > best) best = d;
        }
        assert_int_equal(metrics_ks(s, y, N, &ks, &thr, &err), 0);
        CHECK_CLOSE(ks, best, 1e-15);
        {
            size_t tp = 0, fp = 0;
            for (int i = 0; i < N; i++)
                if (s[i] >= thr) { if (y[i]) tp++; else fp++; }
            at_thr = fabs((double)tp / (double)n1 - (double)fp / (double)n0);
        }
        CHECK_CLOSE(at_thr, ks, 1e-15);
    }
}

static void test_ks_errors(void **state)
{
    const double s[3] = {0.1, NAN, 0.3};
    const int32_t y1[3] = {1, 1, 1}, y[3] = {1, 0, 1};
    double ks, thr;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_ks(s, y1, 3, &ks, &thr, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "one class"));
    error_clear(&err);
    assert_int_equal(metrics_ks(s, y, 3, &ks, &thr, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "NaN"));
}

static void test_brier(void **state)
{
    const double s[2] = {0.9, 0.2};
    const int32_t y[2] = {1, 0};
    const double p[6] = {0.7, 0.2, 0.1, 0.1, 0.8, 0.1};
    const int32_t yk[2] = {0, 2}, bad[2] = {0, 3};
    double b = -1;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_brier(s, y, 2, &b, &err), 0);
    CHECK_CLOSE(b, 0.025, 1e-15);
    /* row 0: .09 + .04 + .01, row 1: .01 + .64 + .81 */
    assert_int_equal(metrics_brier_multi(p, yk, 2, 3, &b, &err), 0);
    CHECK_CLOSE(b, 0.8, 1e-15);
    assert_int_equal(metrics_brier_multi(p, bad, 2, 3, &b, &err), ERR_INPUT);
    error_clear(&err);
    assert_int_equal(metrics_brier(s, y, 0, &b, &err), ERR_NUMERIC);
}

/* 10 rows, 5 groups of 2 by ascending score; the two 0.5 scores are tied
 * and are ordered by row position (row 2 before row 7) */
static void test_calibration_hand(void **state)
{
    const double s[10] = {0.9, 0.1, 0.5, 0.3, 0.8, 0.2, 0.6, 0.5, 0.95, 0.4};
    const int32_t y[10] = {1, 0, 1, 0, 1, 0, 0, 0, 1, 1};
    /* ascending: .1(0) .2(0) | .3(0) .4(1) | .5r2(1) .5r7(0) | .6(0) .8(1) | .9(1) .95(1) */
    const double mean[5] = {0.15, 0.35, 0.5, 0.7, 0.925};
    const double obs[5] = {0.0, 0.5, 0.5, 0.5, 1.0};
    metrics_calib_bin c[5];
    double hl, hlp, h = 0;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_calibration(s, y, 10, 5, c, &hl, &hlp, &err), 0);
    for (int b = 0; b < 5; b++) {
        assert_int_equal(c[b].n, 2);
        CHECK_CLOSE(c[b].mean_score, mean[b], 1e-15);
        CHECK_CLOSE(c[b].observed, obs[b], 0);
        double e = 2 * mean[b], o = 2 * obs[b];
        h += (o - e) * (o - e) / (e * (1 - e / 2));
    }
    CHECK_CLOSE(c[2].score_min, 0.5, 0);
    CHECK_CLOSE(c[4].score_max, 0.95, 0);
    CHECK_CLOSE(hl, h, 1e-12);
    CHECK_CLOSE(hlp, metrics_chi2_sf(h, 3), 1e-15);
    /* uneven groups: 10 rows in 3 groups of 3, 3, 4 (ranks b n / bins) */
    assert_int_equal(metrics_calibration(s, y, 10, 3, c, NULL, NULL, &err), 0);
    assert_int_equal(c[0].n, 3);
    assert_int_equal(c[1].n, 3);
    assert_int_equal(c[2].n, 4);
    assert_int_equal(c[0].positives + c[1].positives + c[2].positives, 5);
    assert_int_equal(metrics_calibration(s, y, 10, 11, c, NULL, NULL, &err), ERR_NUMERIC);
}

static void test_lift_hand(void **state)
{
    /* descending: .95(1) .9(1) | .8(1) .6(0) | .5r2(1) .5r7(0) | .4(1) .3(0) | .2(0) .1(0);
     * 5 positives of 10, base rate 0.5 */
    const double s[10] = {0.9, 0.1, 0.5, 0.3, 0.8, 0.2, 0.6, 0.5, 0.95, 0.4};
    const int32_t y[10] = {1, 0, 1, 0, 1, 0, 0, 0, 1, 1};
    const size_t pos[5] = {2, 1, 1, 1, 0};
    const double gains[5] = {0.4, 0.6, 0.8, 1.0, 1.0};
    metrics_lift_bin l[5];
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_lift(s, y, 10, 5, l, &err), 0);
    for (int b = 0; b < 5; b++) {
        assert_int_equal(l[b].positives, pos[b]);
        CHECK_CLOSE(l[b].rate, (double)pos[b] / 2.0, 0);
        CHECK_CLOSE(l[b].lift, (double)pos[b] / 2.0 / 0.5, 1e-15);
        CHECK_CLOSE(l[b].gains, gains[b], 1e-15);
        CHECK_CLOSE(l[b].cum_share, (b + 1) / 5.0, 1e-15);
        CHECK_CLOSE(l[b].cum_lift, gains[b] / ((b + 1) / 5.0), 1e-15);
    }
    CHECK_CLOSE(l[0].score_max, 0.95, 0);
    CHECK_CLOSE(l[0].score_min, 0.9, 0);
    CHECK_CLOSE(l[4].cum_lift, 1.0, 1e-15);
    {
        const int32_t none[10] = {0};
        assert_int_equal(metrics_lift(s, none, 10, 5, l, &err), ERR_NUMERIC);
    }
}

/* ------------------------------------------------------------ elasticity */

static void test_elasticities_closed_form(void **state)
{
    const double pts[][4] = {
        {0.8, 0.2, 0.9, 0.95}, {0.5, 0.5, 0.5, 0.5}, {1.0, 0.0, 1.0, 1.0},
        {0.1, 0.9, 0.3, 0.7}, {0.33, 0.999, 0.61, 0.05}, {0.01, 0.01, 0.01, 0.01},
    };
    const double aucs[3] = {0.5, 0.8123, 0.999};
    (void)state;
    for (size_t p = 0; p < sizeof pts / sizeof pts[0]; p++)
        for (int a = 0; a < 3; a++) {
            double e[4];
            const double *x = pts[p];
            metrics_elasticities(aucs[a], x, e);
            CHECK_CLOSE(e[0], 1.0, 1e-8);
            CHECK_CLOSE(e[1], -x[1] / (1.0 - x[1]), 1e-8 * (1.0 + x[1] / (1.0 - x[1])));
            CHECK_CLOSE(e[2], 1.0, 1e-8);
            CHECK_CLOSE(e[3], 1.0, 1e-8);
        }
}

static void test_elasticities_undefined(void **state)
{
    const double d0[4] = {0.0, 0.2, 0.9, 0.95}, c1[4] = {0.8, 1.0, 0.9, 0.95};
    double e[4];
    (void)state;
    metrics_elasticities(0.8, d0, e);   /* D = 0: undefined */
    for (int k = 0; k < 4; k++) assert_true(isnan(e[k]));
    metrics_elasticities(0.8, c1, e);
    for (int k = 0; k < 4; k++) assert_true(isnan(e[k]));
}

static void test_chi2_sf(void **state)
{
    const double xs[] = {0.0, 0.01, 0.5, 1.0, 2.0, 3.841458820694124, 7.5, 20.0, 60.0};
    (void)state;
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        CHECK_CLOSE(metrics_chi2_sf(xs[i], 1), erfc(sqrt(xs[i] / 2.0)), 1e-13);
        CHECK_CLOSE(metrics_chi2_sf(xs[i], 2), exp(-xs[i] / 2.0), 1e-13);
        /* 4 degrees of freedom: exp(-x/2) (1 + x/2) */
        CHECK_CLOSE(metrics_chi2_sf(xs[i], 4), exp(-xs[i] / 2.0) * (1.0 + xs[i] / 2.0), 1e-13);
    }
    CHECK_CLOSE(metrics_chi2_sf(15.507313055865453, 8), 0.05, 1e-12);
    assert_true(isnan(metrics_chi2_sf(1.0, 0)));
    assert_true(isnan(metrics_chi2_sf(-1.0, 3)));
    CHECK_CLOSE(metrics_chi2_sf(INFINITY, 3), 0.0, 0);
}

/* ------------------------------------------------------------ top-k */

typedef struct vi { double v; uint64_t i; } vi;
static int vi_cmp(const void *pa, const void *pb)
{
    const vi *a = pa, *b = pb;
    if (a->v != b->v) return a->v > b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static void test_topk_against_sort(void **state)
{
    enum { N = 2000 };
    static vi all[N];
    const size_t ks[5] = {1, 2, 7, 100, 3000};
    (void)state;
    sm_state = 5;
    for (int i = 0; i < N; i++) {
        all[i].v = floor(sm_unit() * 50) / 50;  /* many ties */
        all[i].i = (uint64_t)i;
    }
    for (int t = 0; t < 5; t++) {
        metrics_topk h;
        rg_error err;
        error_clear(&err);
        assert_int_equal(metrics_topk_init(&h, ks[t], &err), 0);
        for (int i = 0; i < N; i++) metrics_topk_push(&h, all[i].v, all[i].i);
        metrics_topk_push(&h, NAN, 99999);
        metrics_topk_sort(&h);
        assert_int_equal(h.n, ks[t] < N ? ks[t] : N);
        {
            vi *sorted = malloc(sizeof all);
            assert_non_null(sorted);
            memcpy(sorted, all, sizeof all);
            qsort(sorted, N, sizeof *sorted, vi_cmp);
            for (size_t j = 0; j < h.n; j++) {
                CHECK_CLOSE(h.val[j], sorted[j].v, 0);
                assert_int_equal(h.idx[j], sorted[j].i);
            }
            free(sorted);
        }
        metrics_topk_free(&h);
        assert_null(h.val);
    }
    {
        metrics_topk h;
        rg_error err;
        error_clear(&err);
        assert_int_equal(metrics_topk_init(&h, 0, &err), ERR_INTERNAL);
    }
}

/* ------------------------------------------------------------ paired DeLong */

/* exact rationals (see the file comment) */
static void test_paired_hand(void **state)
{
    const double s1[8] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.8};
    const double s2[8] = {0.5, 0.9, 0.3, 0.8, 0.6, 0.4, 0.7, 0.5};
    const int32_t y[8] = {1, 1, 0, 1, 0, 0, 1, 0};
    const double var = 91.0 / 1536 + 19.0 / 1536 + 2 * 7.0 / 512;
    const double z = (19.0 / 32 - 29.0 / 32) / sqrt(var);
    metrics_paired r;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_delong_paired(s1, 1, s2, 1, y, -1, 8, &r, &err), 0);
    CHECK_CLOSE(r.auc1, 19.0 / 32, 1e-15);
    CHECK_CLOSE(r.auc2, 29.0 / 32, 1e-15);
    CHECK_CLOSE(r.var1, 91.0 / 1536, 1e-15);
    CHECK_CLOSE(r.var2, 19.0 / 1536, 1e-15);
    CHECK_CLOSE(r.cov, -7.0 / 512, 1e-15);
    CHECK_CLOSE(r.z, z, 1e-13);
    CHECK_CLOSE(r.z, -0.9933992677987828, 1e-13);
    CHECK_CLOSE(r.p, 0.3205154182759784, 1e-13);
    assert_int_equal(r.n_pos, 4);
    assert_int_equal(r.n_neg, 4);
}

/* O(n^2): psi over all pairs for both scores, then covariances */
static void brute_paired(const double *a, const double *b, const int32_t *y, size_t n,
                         double *auc1, double *auc2, double *v1, double *v2, double *cv)
{
    size_t n1 = 0, n0 = 0;
    double *a10 = calloc(n, sizeof(double)), *a01 = calloc(n, sizeof(double));
    double *b10 = calloc(n, sizeof(double)), *b01 = calloc(n, sizeof(double));
    double m[4] = {0, 0, 0, 0}, s10[3] = {0, 0, 0}, s01[3] = {0, 0, 0};
    assert_true(a10 && a01 && b10 && b01);
    for (size_t i = 0; i < n; i++) n1 += y[i] != 0;
    n0 = n - n1;
    for (size_t i = 0; i < n; i++) {
        if (!y[i]) continue;
        for (size_t j = 0; j < n; j++) {
            if (y[j]) continue;
            double pa = a[i] > a[j] ? 1.0 : (a[i] == a[j] ? 0.5 : 0.0);
            double pb = b[i] > b[j] ? 1.0 : (b[i] == b[j] ? 0.5 : 0.0);
            a10[i] += pa / (double)n0; a01[j] += pa / (double)n1;
            b10[i] += pb / (double)n0; b01[j] += pb / (double)n1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (y[i]) { m[0] += a10[i] / (double)n1; m[1] += b10[i] / (double)n1; }
        else { m[2] += a01[i] / (double)n0; m[3] += b01[i] / (double)n0; }
    }
    for (size_t i = 0; i < n; i++) {
        if (y[i]) {
            double da = a10[i] - m[0], db = b10[i] - m[1];
            s10[0] += da * da; s10[1] += db * db; s10[2] += da * db;
        } else {
            double da = a01[i] - m[2], db = b01[i] - m[3];
            s01[0] += da * da; s01[1] += db * db; s01[2] += da * db;
        }
    }
    *auc1 = m[0];
    *auc2 = m[1];
    *v1 = s10[0] / (double)(n1 - 1) / (double)n1 + s01[0] / (double)(n0 - 1) / (double)n0;
    *v2 = s10[1] / (double)(n1 - 1) / (double)n1 + s01[1] / (double)(n0 - 1) / (double)n0;
    *cv = s10[2] / (double)(n1 - 1) / (double)n1 + s01[2] / (double)(n0 - 1) / (double)n0;
    free(a10); free(a01); free(b10); free(b01);
}

static void test_paired_brute_random(void **state)
{
    enum { N = 400 };
    double a[N], b[N];
    int32_t y[N];
    (void)state;
    sm_state = 2026;
    for (int rep = 0; rep < 12; rep++) {
        double A1, A2, V1, V2, CV;
        metrics_paired r;
        auc_result ar;
        rg_error err;
        double q = rep % 3 == 0 ? 10.0 : 1e9;   /* every third: heavy ties */
        error_clear(&err);
        for (int i = 0; i < N; i++) {
            y[i] = sm_unit() < 0.3;
            double sig = y[i] ? 0.6 : 0.0;
            a[i] = floor((sm_unit() + sig) * q) / q;
            /* b correlated with a */
            b[i] = floor((0.6 * a[i] + 0.4 * sm_unit() + 0.2 * sig) * q) / q;
        }
        brute_paired(a, b, y, N, &A1, &A2, &V1, &V2, &CV);
        assert_int_equal(metrics_delong_paired(a, 1, b, 1, y, -1, N, &r, &err), 0);
        CHECK_CLOSE(r.auc1, A1, 1e-12);
        CHECK_CLOSE(r.auc2, A2, 1e-12);
        CHECK_CLOSE(r.var1, V1, 1e-12 * V1);
        CHECK_CLOSE(r.var2, V2, 1e-12 * V2);
        CHECK_CLOSE(r.cov, CV, 1e-11 * fabs(CV));
        CHECK_CLOSE(r.z, (A1 - A2) / sqrt(V1 + V2 - 2 * CV), 1e-9);
        CHECK_CLOSE(r.p, erfc(fabs(r.z) / sqrt(2.0)), 0);
        assert_true(r.cov > 0);  /* correlated scores */
        /* agrees with the auc module's unpaired DeLong */
        assert_int_equal(auc_delong(a, y, N, &ar, &err), 0);
        CHECK_CLOSE(r.auc1, ar.auc, 1e-12);
        CHECK_CLOSE(r.var1, ar.var, 1e-12 * ar.var);
    }
}

/* same score twice: difference 0, z 0, p 1; strides and one-vs-rest */
static void test_paired_identical_and_strided(void **state)
{
    enum { N = 90, K = 3 };
    double prob[N * K], p1[N], p2[N];
    int32_t y[N], yb[N];
    metrics_paired r, rb;
    rg_error err;
    double A1, A2, V1, V2, CV;
    (void)state;
    error_clear(&err);
    sm_state = 77;
    for (int i = 0; i < N; i++) {
        y[i] = (int32_t)(i % K);
        for (int c = 0; c < K; c++) prob[i * K + c] = sm_unit() + (c == y[i] ? 0.4 : 0.0);
    }
    assert_int_equal(metrics_delong_paired(prob, K, prob, K, y, 1, N, &r, &err), 0);
    CHECK_CLOSE(r.diff, 0.0, 0);
    CHECK_CLOSE(r.z, 0.0, 0);
    CHECK_CLOSE(r.p, 1.0, 0);
    /* class 2 column vs class 0 column, class 2 one-vs-rest == a copied binary problem */
    for (int i = 0; i < N; i++) {
        p1[i] = prob[i * K + 2];
        p2[i] = prob[i * K + 0];
        yb[i] = y[i] == 2;
    }
    assert_int_equal(metrics_delong_paired(prob + 2, K, prob, K, y, 2, N, &r, &err), 0);
    assert_int_equal(metrics_delong_paired(p1, 1, p2, 1, yb, -1, N, &rb, &err), 0);
    CHECK_CLOSE(r.z, rb.z, 0);
    CHECK_CLOSE(r.cov, rb.cov, 0);
    brute_paired(p1, p2, yb, N, &A1, &A2, &V1, &V2, &CV);
    CHECK_CLOSE(r.cov, CV, 1e-12 * fabs(CV));
    assert_int_equal(r.n_pos, N / K);
}

static void test_paired_errors(void **state)
{
    const double s[4] = {0.1, 0.2, NAN, 0.4}, t[4] = {0.1, 0.2, 0.3, 0.4};
    const int32_t one[4] = {1, 1, 1, 1}, y[4] = {0, 1, 0, 1};
    metrics_paired r;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(metrics_delong_paired(t, 1, t, 1, one, -1, 4, &r, &err), ERR_NUMERIC);
    error_clear(&err);
    assert_int_equal(metrics_delong_paired(t, 1, s, 1, y, -1, 4, &r, &err), ERR_NUMERIC);
    assert_non_null(strstr(err.msg, "NaN"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gini),
        cmocka_unit_test(test_ks_hand),
        cmocka_unit_test(test_ks_ties_and_constant),
        cmocka_unit_test(test_ks_brute_random),
        cmocka_unit_test(test_ks_errors),
        cmocka_unit_test(test_brier),
        cmocka_unit_test(test_calibration_hand),
        cmocka_unit_test(test_lift_hand),
        cmocka_unit_test(test_elasticities_closed_form),
        cmocka_unit_test(test_elasticities_undefined),
        cmocka_unit_test(test_chi2_sf),
        cmocka_unit_test(test_topk_against_sort),
        cmocka_unit_test(test_paired_hand),
        cmocka_unit_test(test_paired_brute_random),
        cmocka_unit_test(test_paired_identical_and_strided),
        cmocka_unit_test(test_paired_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
