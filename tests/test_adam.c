/** \file test_adam.c
 *  Unit tests of the Adam update (adam.h): one and two steps against the
 *  equations of adam.h evaluated by hand in double, bias correction at
 *  t = 1, the Keras placement of eps, zero gradients, determinism, and
 *  adam_step_fixed against exactsum_to_float + adam_step bit for bit.
 *
 *  Tolerances: the update runs in float, so each moment carries a few
 *  float roundings (relative error <= ~3 FLT_EPSILON); a parameter
 *  p - step carries one rounding of p plus a few relative roundings of
 *  the (small) step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "riskgrid/adam.h"
#include "riskgrid/exactsum.h"

#define N 5

static void assert_close_rel(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want))) {
        print_error("got %.9g want %.9g (rel err %.3g > %.3g)\n", got, want,
                    fabs(got - want) / fabs(want), rel);
        fail();
    }
}

/* p_f (float result) against p_d (double hand value) where the total
 * change from the start is `moved`. */
static void assert_param(double got, double want, double moved)
{
    double tol = 1.0 * FLT_EPSILON * fabs(want) + 8.0 * FLT_EPSILON * fabs(moved) + 1e-30;
    if (!(fabs(got - want) <= tol)) {
        print_error("param got %.9g want %.9g (|diff| %.3g > tol %.3g)\n", got, want,
                    fabs(got - want), tol);
        fail();
    }
}

static void test_new_free(void **state)
{
    (void)state;
    adam_state *a = adam_new(7);
    assert_non_null(a);
    assert_int_equal(a->n, 7);
    assert_int_equal(a->t, 0);
    for (int i = 0; i < 7; i++) {
        assert_true(a->m[i] == 0.0f && !signbit(a->m[i]));
        assert_true(a->v[i] == 0.0f && !signbit(a->v[i]));
    }
    adam_free(a);
    adam_free(NULL);

    /* an empty state steps without touching anything */
    adam_state *e = adam_new(0);
    assert_non_null(e);
    adam_params hp = {1e-3, 0.9, 0.999, 1e-7};
    adam_step(e, &hp, NULL, NULL);
    assert_int_equal(e->t, 1);
    adam_free(e);
}

static void test_one_step(void **state)
{
    (void)state;
    const adam_params hp = {1e-3, 0.9, 0.999, 1e-7};
    const float p0[N] = {1.0f, -0.5f, 2.0f, 0.0f, 0.25f};
    const float g[N] = {0.1f, -3.0f, 1e-3f, 0.0f, 40.0f};
    float p[N];
    memcpy(p, p0, sizeof p);
    adam_state *a = adam_new(N);
    assert_non_null(a);
    adam_step(a, &hp, p, g);
    assert_int_equal(a->t, 1);

    /* by hand, t = 1:
     *   m = 0 + (1 - 0.9)(g - 0) = 0.1 g
     *   v = 0 + (1 - 0.999)(g^2 - 0) = 0.001 g^2
     *   alpha = 1e-3 sqrt(1 - 0.999) / (1 - 0.9) = 1e-3 sqrt(0.001) / 0.1
     *   p = p0 - alpha m / (sqrt(v) + 1e-7) */
    const double alpha = 1e-3 * sqrt(1.0 - 0.999) / (1.0 - 0.9);
    for (int i = 0; i < N; i++) {
        const double gd = (double)g[i];
        const double m = 0.1 * gd;
        const double v = 0.001 * gd * gd;
        const double step = alpha * m / (sqrt(v) + 1e-7);
        const double pw = (double)p0[i] - step;
        if (gd == 0.0) {
            assert_true(a->m[i] == 0.0f && a->v[i] == 0.0f);
            assert_true(p[i] == p0[i]); /* 0 / (0 + eps) = 0: no move */
        } else {
            assert_close_rel(a->m[i], m, 2.0 * FLT_EPSILON);
            assert_close_rel(a->v[i], v, 3.0 * FLT_EPSILON);
            assert_param(p[i], pw, step);
        }
    }
    adam_free(a);
}

static void test_two_steps(void **state)
{
    (void)state;
    const adam_params hp = {0.01, 0.8, 0.99, 1e-6};
    const float p0[N] = {0.5f, -1.5f, 3.0f, 0.0f, -0.125f};
    const float g1[N] = {0.2f, -1.0f, 5e-4f, 2.0f, 10.0f};
    /* same signs as g1, so no cancellation in the second moment update */
    const float g2[N] = {0.7f, -0.1f, 2e-3f, 0.5f, 30.0f};
    float p[N];
    memcpy(p, p0, sizeof p);
    adam_state *a = adam_new(N);
    assert_non_null(a);
    adam_step(a, &hp, p, g1);
    adam_step(a, &hp, p, g2);
    assert_int_equal(a->t, 2);

    const double b1 = 0.8, b2 = 0.99, lr = 0.01, eps = 1e-6;
    const double alpha1 = lr * sqrt(1.0 - b2) / (1.0 - b1);
    const double alpha2 = lr * sqrt(1.0 - b2 * b2) / (1.0 - b1 * b1);
    for (int i = 0; i < N; i++) {
        const double x1 = (double)g1[i], x2 = (double)g2[i];
        /* t = 1 */
        const double m1 = 0.0 + (1.0 - b1) * (x1 - 0.0);
        const double v1 = 0.0 + (1.0 - b2) * (x1 * x1 - 0.0);
        const double s1 = alpha1 * m1 / (sqrt(v1) + eps);
        /* t = 2 */
        const double m2 = m1 + (1.0 - b1) * (x2 - m1);
        const double v2 = v1 + (1.0 - b2) * (x2 * x2 - v1);
        const double s2 = alpha2 * m2 / (sqrt(v2) + eps);
        const double pw = (double)p0[i] - s1 - s2;
        assert_close_rel(a->m[i], m2, 4.0 * FLT_EPSILON);
        assert_close_rel(a->v[i], v2, 4.0 * FLT_EPSILON);
        assert_param(p[i], pw, fabs(s1) + fabs(s2));
    }
    adam_free(a);
}

/* With eps negligible, the first step moves every parameter by lr in the
 * direction -sign(g), whatever |g| is: the bias correction at t = 1 makes
 * alpha m / sqrt(v) = lr sqrt(1-b2)/(1-b1) (1-b1)|g| / (sqrt(1-b2)|g|). */
static void test_bias_correction_first_step(void **state)
{
    (void)state;
    const adam_params hp = {1e-3, 0.9, 0.999, 1e-12};
    const float g[N] = {1e-3f, 1.0f, 1e3f, -5.0f, -2e-2f};
    float p[N] = {0, 0, 0, 0, 0};
    adam_state *a = adam_new(N);
    assert_non_null(a);
    adam_step(a, &hp, p, g);
    for (int i = 0; i < N; i++) {
        const double want = (g[i] > 0) ? -1e-3 : 1e-3;
        assert_true(fabs((double)p[i] - want) <= 1e-5 * 1e-3);
    }
    adam_free(a);
}

/* eps is added to sqrt(v) WITHOUT bias correction (Keras).  With a large
 * eps this differs by a factor ~3 in the step from the "paper" form
 * m_hat / (sqrt(v_hat) + eps), and a larger eps gives a smaller step. */
static void test_eps_placement(void **state)
{
    (void)state;
    const float g[1] = {0.1f};
    const double lr = 1e-2, b1 = 0.9, b2 = 0.999;
    const adam_params big = {lr, b1, b2, 1e-2};
    const adam_params tiny = {lr, b1, b2, 1e-9};
    float pb[1] = {1.0f}, pt[1] = {1.0f};
    adam_state *ab = adam_new(1), *at = adam_new(1);
    assert_non_null(ab);
    assert_non_null(at);
    adam_step(ab, &big, pb, g);
    adam_step(at, &tiny, pt, g);

    const double gd = (double)g[0];
    const double m = (1.0 - b1) * gd, v = (1.0 - b2) * gd * gd;
    const double alpha = lr * sqrt(1.0 - b2) / (1.0 - b1);
    const double keras = alpha * m / (sqrt(v) + 1e-2);
    const double paper = lr * (m / (1.0 - b1)) / (sqrt(v / (1.0 - b2)) + 1e-2);
    assert_true(paper / keras > 2.0); /* the two forms are distinguishable */
    assert_param(pb[0], 1.0 - keras, keras);
    assert_true(fabs((double)pb[0] - (1.0 - paper)) > 1e-4);
    assert_true(1.0f - pb[0] < 1.0f - pt[0]); /* larger eps, smaller step */
    adam_free(ab);
    adam_free(at);
}

static void test_deterministic(void **state)
{
    (void)state;
    enum { M = 257 };
    float p1[M], p2[M], g[M];
    for (int i = 0; i < M; i++) {
        p1[i] = p2[i] = (float)sin(0.37 * i);
        g[i] = (float)(cos(1.3 * i) * pow(10.0, (i % 7) - 3));
    }
    const adam_params hp = {3e-4, 0.9, 0.999, 1e-7};
    adam_state *a = adam_new(M), *b = adam_new(M);
    assert_non_null(a);
    assert_non_null(b);
    for (int k = 0; k < 5; k++) {
        adam_step(a, &hp, p1, g);
        adam_step(b, &hp, p2, g);
    }
    assert_memory_equal(p1, p2, sizeof p1);
    assert_memory_equal(a->m, b->m, sizeof(float) * M);
    assert_memory_equal(a->v, b->v, sizeof(float) * M);
    adam_free(a);
    adam_free(b);
}

/* The fused update from fixed-point sums gives the bits of the two-pass
 * path, over several steps and scales (including negative sums). */
static void test_step_fixed_matches_two_pass(void **state)
{
    (void)state;
    enum { M = 37 };
    const adam_params hp = {1e-3, 0.9, 0.999, 1e-7};
    adam_state *a = adam_new(M), *b = adam_new(M);
    float pa[M], pb[M], g[M];
    int64_t q[M];
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < M; i++) pa[i] = pb[i] = 0.01f * (float)(i - 18);
    for (int step = 0; step < 5; step++) {
        const int scale = 40 + 3 * step;
        for (int i = 0; i < M; i++) q[i] = ((int64_t)(i * 7919 + step * 104729) % 2000003 - 1000001) * ((int64_t)1 << (10 + step));
        exactsum_to_float(q, M, scale, 1.0 / 32.0, g);
        adam_step(a, &hp, pa, g);
        adam_step_fixed(b, &hp, pb, q, ldexp(1.0, -scale), 1.0 / 32.0);
        assert_memory_equal(pa, pb, sizeof pa);
        assert_memory_equal(a->m, b->m, M * sizeof *a->m);
        assert_memory_equal(a->v, b->v, M * sizeof *a->v);
    }
    assert_int_equal(a->t, b->t);
    adam_free(a);
    adam_free(b);
}

/* The update split over "ranks": each of three states steps its own range
 * (adam_step_fixed_range, adam_step_range) and the parameters are then
 * exchanged, as train.c does with the shared area; parameters and the
 * moments of each range equal the full step's, bit for bit. */
static void test_range_split_matches_full(void **state)
{
    (void)state;
    enum { M = 53, P = 3 };
    const size_t cut[P + 1] = {0, 16, 48, M};
    const adam_params hp = {1e-3, 0.9, 0.999, 1e-7};
    adam_state *full = adam_new(M), *part[P] = {NULL, NULL, NULL};
    float pf[M], pp[P][M], g[M];
    int64_t q[M];
    assert_non_null(full);
    for (int r = 0; r < P; r++) assert_non_null(part[r] = adam_new(M));
    for (int i = 0; i < M; i++) pf[i] = 0.02f * (float)(i - 26);
    for (int r = 0; r < P; r++) memcpy(pp[r], pf, sizeof pf);
    for (int step = 0; step < 6; step++) {
        for (int i = 0; i < M; i++) q[i] = (int64_t)((i * 7919 + step * 104729) % 2000003) - 1000001;
        if (step % 2 == 0) {
            adam_step_fixed(full, &hp, pf, q, ldexp(1.0, -30), 1.0 / 16.0);
            for (int r = 0; r < P; r++) adam_step_fixed_range(part[r], &hp, pp[r], q, ldexp(1.0, -30), 1.0 / 16.0, cut[r], cut[r + 1]);
        } else {
            for (int i = 0; i < M; i++) g[i] = (float)q[i] * 1e-9f;
            adam_step(full, &hp, pf, g);
            for (int r = 0; r < P; r++) adam_step_range(part[r], &hp, pp[r], g, cut[r], cut[r + 1]);
        }
        /* exchange: every replica takes each range from its owner */
        for (int r = 0; r < P; r++)
            for (int o = 0; o < P; o++)
                if (o != r) memcpy(pp[r] + cut[o], pp[o] + cut[o], (cut[o + 1] - cut[o]) * sizeof(float));
        for (int r = 0; r < P; r++) {
            assert_memory_equal(pp[r], pf, sizeof pf);
            assert_memory_equal(part[r]->m + cut[r], full->m + cut[r], (cut[r + 1] - cut[r]) * sizeof(float));
            assert_memory_equal(part[r]->v + cut[r], full->v + cut[r], (cut[r + 1] - cut[r]) * sizeof(float));
            assert_int_equal(part[r]->t, full->t);
        }
    }
    for (int r = 0; r < P; r++) adam_free(part[r]);
    adam_free(full);
}

/* The update from a sum given in parts (the ranks' contributions, added
 * with wrap-around inside the update) equals the update from the summed
 * array, bit for bit, for one, two and several parts and a range that
 * spans several of the update's blocks. */
static void test_parts_match_summed(void **state)
{
    (void)state;
    enum { M = 700, MAXP = 5 };
    const size_t lo = 9, hi = 650;
    const adam_params hp = {1e-3, 0.9, 0.999, 1e-7};
    static const int nps[] = {1, 2, 3, 5};
    static int64_t q[M], pieces[MAXP][M];
    static float pa[M], pb[M];
    uint64_t x = 88172645463325252ull;
    for (size_t t = 0; t < sizeof nps / sizeof nps[0]; t++) {
        const int np = nps[t];
        const int64_t *part[MAXP];
        adam_state *a = adam_new(M), *b = adam_new(M);
        assert_non_null(a);
        assert_non_null(b);
        for (int i = 0; i < M; i++) pa[i] = pb[i] = 0.01f * (float)(i % 97 - 48);
        for (int step = 0; step < 4; step++) {
            for (int i = 0; i < M; i++) {
                uint64_t rest;
                q[i] = ((int64_t)((i * 7919 + step * 104729) % 2000003) - 1000001) * ((int64_t)1 << (8 + step));
                /* np - 1 random pieces (wrapping freely), the last one
                 * makes the wrap-around sum q[i] */
                rest = (uint64_t)q[i];
                for (int k = 0; k < np - 1; k++) {
                    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                    pieces[k][i] = (int64_t)(x >> 1) - (int64_t)(x >> 2);
                    rest -= (uint64_t)pieces[k][i];
                }
                pieces[np - 1][i] = (int64_t)rest;
            }
            for (int k = 0; k < np; k++) part[k] = pieces[k];
            adam_step_fixed_range(a, &hp, pa, q, ldexp(1.0, -40), 1.0 / 32.0, lo, hi);
            adam_step_fixed_parts(b, &hp, pb, part, np, ldexp(1.0, -40), 1.0 / 32.0, lo, hi);
            assert_memory_equal(pa, pb, sizeof pa);
            assert_memory_equal(a->m, b->m, M * sizeof *a->m);
            assert_memory_equal(a->v, b->v, M * sizeof *a->v);
        }
        adam_free(a);
        adam_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_free),
        cmocka_unit_test(test_one_step),
        cmocka_unit_test(test_two_steps),
        cmocka_unit_test(test_bias_correction_first_step),
        cmocka_unit_test(test_eps_placement),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_step_fixed_matches_two_pass),
        cmocka_unit_test(test_range_split_matches_full),
        cmocka_unit_test(test_parts_match_summed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
