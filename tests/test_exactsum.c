/** \file test_exactsum.c
 *  Unit tests of the order-independent fixed-point sum (exactsum.h):
 *  bitwise identity over permutations and rank-like splits, accuracy
 *  against a long double reference, the exponent and scale contracts,
 *  round-half-even, and the headroom limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/exactsum.h"
#include "riskgrid/rng.h"

#define NVEC 64    /* addend vectors (think: virtual shards) */
#define NELEM 1000 /* elements per vector (think: parameters) */
#define NPERM 50
#define HEADROOM 6 /* 2^6 = 64 addends per element */

/* NVEC x NELEM addends with magnitudes spread over ~2^-40 .. 2^12,
 * both signs, some exact zeros; deterministic from the counter RNG. */
static float *make_addends(void)
{
    float *x = malloc(sizeof(float) * NVEC * NELEM);
    assert_non_null(x);
    for (size_t k = 0; k < (size_t)NVEC * NELEM; k++) {
        double u = rng_unit(rng_hash3(77, 1, k));
        double mag = ldexp(1.0, (int)(u * 52.0) - 40);
        double z = rng_normal(rng_hash3(77, 2, 0), k);
        x[k] = (rng_unit(rng_hash3(77, 3, k)) < 0.02) ? 0.0f : (float)(z * mag);
    }
    return x;
}

/* Sum the vectors in the order perm[0..NVEC-1] into acc (zeroed first). */
static void sum_in_order(const float *x, const uint32_t *perm, int scale, int64_t *acc)
{
    memset(acc, 0, sizeof(int64_t) * NELEM);
    for (int j = 0; j < NVEC; j++) exactsum_add(acc, x + (size_t)perm[j] * NELEM, NELEM, scale);
}

static void test_permutation_and_split_invariance(void **state)
{
    (void)state;
    float *x = make_addends();
    const int E = exactsum_exponent(x, (size_t)NVEC * NELEM);
    assert_true(E > -40 && E < 20);
    const int S = exactsum_scale(E, HEADROOM);
    assert_int_equal(S, EXACTSUM_BITS - HEADROOM - E);

    int64_t ref_acc[NELEM], acc[NELEM], part[NELEM];
    float ref_out[NELEM], out[NELEM];
    uint32_t perm[NVEC], ident[NVEC];
    for (uint32_t j = 0; j < NVEC; j++) ident[j] = j;
    sum_in_order(x, ident, S, ref_acc);
    exactsum_to_float(ref_acc, NELEM, S, 1.0, ref_out);

    /* Sanity that the test can fail: plain float summation in a reversed
     * order differs from forward order somewhere for these addends. */
    int float_differs = 0;
    for (int i = 0; i < NELEM; i++) {
        float f = 0.0f, b = 0.0f;
        for (int j = 0; j < NVEC; j++) f += x[(size_t)j * NELEM + (size_t)i];
        for (int j = NVEC - 1; j >= 0; j--) b += x[(size_t)j * NELEM + (size_t)i];
        if (memcmp(&f, &b, sizeof f) != 0) float_differs = 1;
    }
    assert_true(float_differs);

    for (int p = 0; p < NPERM; p++) {
        rng_permutation(perm, NVEC, 99, 1, (uint64_t)p);

        /* one accumulator, permuted order */
        sum_in_order(x, perm, S, acc);
        assert_memory_equal(acc, ref_acc, sizeof acc);
        exactsum_to_float(acc, NELEM, S, 1.0, out);
        assert_memory_equal(out, ref_out, sizeof out);

        /* random split into 1..8 contiguous groups of the permuted order
         * ("ranks"), each with its own int64 partial sum, partials then
         * added in reverse group order */
        int ngroups = 1 + (int)(rng_unit(rng_hash3(99, 2, (uint64_t)p)) * 8.0);
        int cut[9];
        cut[0] = 0;
        cut[ngroups] = NVEC;
        for (int g = 1; g < ngroups; g++) {
            int c = (int)(rng_unit(rng_hash3(99, 3, (uint64_t)(p * 16 + g))) * (NVEC + 1));
            cut[g] = c < cut[g - 1] ? cut[g - 1] : c; /* nondecreasing; empty groups allowed */
        }
        memset(acc, 0, sizeof acc);
        for (int g = ngroups - 1; g >= 0; g--) {
            memset(part, 0, sizeof part);
            for (int j = cut[g]; j < cut[g + 1]; j++)
                exactsum_add(part, x + (size_t)perm[j] * NELEM, NELEM, S);
            for (int i = 0; i < NELEM; i++) acc[i] += part[i];
        }
        assert_memory_equal(acc, ref_acc, sizeof acc);
        exactsum_to_float(acc, NELEM, S, 1.0, out);
        assert_memory_equal(out, ref_out, sizeof out);
    }
    free(x);
}

static void test_accuracy_vs_reference(void **state)
{
    (void)state;
    float *x = make_addends();
    const int E = exactsum_exponent(x, (size_t)NVEC * NELEM);
    const int S = exactsum_scale(E, HEADROOM);
    int64_t acc[NELEM];
    float out[NELEM];
    uint32_t ident[NVEC];
    for (uint32_t j = 0; j < NVEC; j++) ident[j] = j;
    sum_in_order(x, ident, S, acc);
    exactsum_to_float(acc, NELEM, S, 1.0, out);

    const long double res = ldexpl(1.0L, -S); /* absolute resolution 2^-S */
    for (int i = 0; i < NELEM; i++) {
        /* Kahan-compensated long double reference */
        long double sum = 0.0L, comp = 0.0L;
        for (int j = 0; j < NVEC; j++) {
            long double yv = (long double)x[(size_t)j * NELEM + (size_t)i] - comp;
            long double t = sum + yv;
            comp = (t - sum) - yv;
            sum = t;
        }
        /* each addend rounded by at most 2^-S/2: n/2 * 2^-S, plus the
         * reference's own error and the int64 -> double rounding */
        long double fixed = ldexpl((long double)acc[i], -S);
        long double err = fabsl(fixed - sum);
        long double bound = (long double)NVEC * res / 2 + fabsl(sum) * 0x1p-60L + 0x1p-200L;
        assert_true(err <= bound);
        /* the float result adds one float rounding of the double value */
        long double ferr = fabsl((long double)out[i] - sum);
        assert_true(ferr <= bound + fabsl(sum) * (long double)FLT_EPSILON + 0x1p-149L);
        /* exactsum_unfixed agrees with to_float's scaling */
        assert_true(exactsum_unfixed(acc[i], S) == (double)fixed);
    }

    /* mul is applied after the scaling */
    float half[NELEM];
    exactsum_to_float(acc, NELEM, S, 0.5, half);
    for (int i = 0; i < NELEM; i++)
        assert_true(half[i] == (float)(ldexp((double)acc[i], -S) * 0.5));
    free(x);
}

static void test_exponent_edges(void **state)
{
    (void)state;
    float z[3] = {0.0f, -0.0f, 0.0f};
    assert_int_equal(exactsum_exponent(z, 3), EXACTSUM_EXP_ZERO);
    assert_int_equal(exactsum_exponent(z, 0), EXACTSUM_EXP_ZERO);

    struct { float x; int e; } c[] = {
        {0.75f, 0},  {-0.75f, 0},  {1.0f, 1},  {-1.0f, 1},
        {0.5f, 0},   {0x1.fffffep-1f, 0},  {2.0f, 2},  {3.0f, 2},
        {-4.0f, 3},  {FLT_MIN, -125},  {0x1p-149f, -148},  {0x1p-140f, -139},
        {0x1.fffffcp-127f, -126},  /* largest denormal < 2^-126 */
        {FLT_MAX, 128},  {0x1p127f, 128},  {1024.0f, 11},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        float v[2] = {0.0f, c[i].x};
        int e = exactsum_exponent(v, 2);
        assert_int_equal(e, c[i].e);
        /* the contract, checked directly: |x| < 2^e and not < 2^(e-1) */
        assert_true(fabs((double)c[i].x) < ldexp(1.0, e));
        assert_false(fabs((double)c[i].x) < ldexp(1.0, e - 1));
    }
    /* maximum over a vector, in any position */
    float v[4] = {0.1f, -6.0f, 0.0f, 2.0f};
    assert_int_equal(exactsum_exponent(v, 4), 3);

    float bad[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    bad[3] = NAN;
    assert_int_equal(exactsum_exponent(bad, 4), INT32_MAX);
    bad[3] = -NAN;
    assert_int_equal(exactsum_exponent(bad, 4), INT32_MAX);
    bad[3] = INFINITY;
    assert_int_equal(exactsum_exponent(bad, 4), INT32_MAX);
    bad[0] = -INFINITY;
    bad[3] = 0.0f;
    assert_int_equal(exactsum_exponent(bad, 4), INT32_MAX);
    float nz[2] = {NAN, 0.0f};
    assert_int_equal(exactsum_exponent(nz, 2), INT32_MAX);
}

static void test_scale_and_rounding(void **state)
{
    (void)state;
    assert_int_equal(exactsum_scale(0, 0), EXACTSUM_BITS);
    assert_int_equal(exactsum_scale(3, 10), EXACTSUM_BITS - 13);
    assert_int_equal(exactsum_scale(-20, 6), EXACTSUM_BITS + 14);
    assert_int_equal(exactsum_scale(EXACTSUM_EXP_ZERO, 8), EXACTSUM_BITS - 8 + 1100);

    /* round half to even at scale 1: x*2 = 0.5, 1.5, 2.5, 3.5, -0.5, -2.5 */
    const float xs[] = {0.25f, 0.75f, 1.25f, 1.75f, -0.25f, -1.25f, 0.3f, -0.8f};
    const int64_t qs[] = {0, 2, 2, 4, 0, -2, 1, -2};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        int64_t a = 0;
        exactsum_add(&a, &xs[i], 1, 1);
        assert_int_equal(a, qs[i]);
        assert_int_equal(exactsum_fixed((double)xs[i], 1), qs[i]);
    }
    /* negative scale (large E): 3 * 2^-1 = 1.5 -> 2 */
    int64_t a = 5;
    const float three = 3.0f;
    exactsum_add(&a, &three, 1, -1);
    assert_int_equal(a, 7);

    /* fixed / unfixed round trip within the resolution */
    const double ds[] = {0.1, -123.456, 1e-9, 0.0, 7.0};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        int64_t q = exactsum_fixed(ds[i], 40);
        assert_true(fabs(exactsum_unfixed(q, 40) - ds[i]) <= ldexp(1.0, -41));
    }
    assert_int_equal(exactsum_fixed(0.0, 5000), 0);
    assert_true(exactsum_unfixed(0, 5000) == 0.0);
    /* a double addend keeps bits a float would not: 1 + 2^-40 at S = 40 */
    assert_int_equal(exactsum_fixed(1.0 + 0x1p-40, 40), ((int64_t)1 << 40) + 1);
}

static void test_all_zero_with_zero_exponent(void **state)
{
    (void)state;
    float z[5] = {0.0f, -0.0f, 0.0f, 0.0f, 0.0f};
    const int E = exactsum_exponent(z, 5);
    assert_int_equal(E, EXACTSUM_EXP_ZERO);
    const int S = exactsum_scale(E, 10);
    assert_true(S > 1000);
    int64_t acc[5] = {0, 0, 0, 0, 0};
    for (int k = 0; k < 3; k++) exactsum_add(acc, z, 5, S);
    float out[5] = {1, 1, 1, 1, 1};
    exactsum_to_float(acc, 5, S, 1.0, out);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(acc[i], 0);
        assert_true(out[i] == 0.0f);
    }
}

/* 2^h addends all just below 2^E (the largest allowed), both signs:
 * the sum must not overflow and must be exact. */
static void test_headroom_limit(void **state)
{
    (void)state;
    const int E = 3;
    const float big = nextafterf(ldexpf(1.0f, E), 0.0f); /* 8 - 2^-21 */
    const float addend[2] = {big, -big};
    assert_int_equal(exactsum_exponent(addend, 2), E);
    for (int h = 0; h <= 16; h++) {
        const int S = exactsum_scale(E, h);
        int64_t acc[2] = {0, 0};
        const long n = 1L << h;
        for (long k = 0; k < n; k++) exactsum_add(acc, addend, 2, S);
        /* q = big * 2^S exactly (integer for h <= 38); sum = 2^h q */
        const long double q = ldexpl((long double)big, S);
        assert_true(q < ldexpl(1.0L, EXACTSUM_BITS - h));
        assert_true((long double)acc[0] == q * (long double)n);
        assert_true((long double)acc[1] == -q * (long double)n);
        assert_true(acc[0] > 0 && acc[0] <= ((int64_t)1 << EXACTSUM_BITS)); /* <= 2^B */
        float out[2];
        exactsum_to_float(acc, 2, S, 1.0, out);
        assert_true(out[0] == (float)((double)big * (double)n));
        assert_true(out[1] == -out[0]);
    }
    /* Large headroom, where x 2^S has fractional bits and may round UP to
     * 2^(B-h): the per-addend bound |q| <= 2^(B-h) still holds, so 2^h
     * of them fit (checked arithmetically; 2^40 adds are not run). */
    for (int h = EXACTSUM_BITS - 23; h <= EXACTSUM_BITS; h++) {
        const int S = exactsum_scale(E, h);
        int64_t acc[2] = {0, 0};
        exactsum_add(acc, addend, 2, S);
        const int64_t lim = (int64_t)1 << (EXACTSUM_BITS - h);
        assert_true(acc[0] <= lim && acc[0] >= lim / 2);
        assert_true(acc[1] == -acc[0]);
        assert_true((uint64_t)acc[0] <= ((uint64_t)1 << EXACTSUM_BITS) >> h);
    }
}

/* The fused pass equals exponent + add when the prediction holds, and
 * reports a larger exponent when it does not. */
static void test_add_predicted(void **state)
{
    (void)state;
    float *x = make_addends();
    const int E = exactsum_exponent(x, (size_t)NVEC * NELEM);
    static int64_t a1[NELEM], a2[NELEM];
    memset(a1, 0, sizeof a1);
    memset(a2, 0, sizeof a2);
    for (int j = 0; j < NVEC; j++) {
        const float *v = x + (size_t)j * NELEM;
        int ej = exactsum_add_predicted(a1, v, NELEM, E, HEADROOM);
        assert_int_equal(ej, exactsum_exponent(v, NELEM));
        exactsum_add(a2, v, NELEM, exactsum_scale(E, HEADROOM));
    }
    assert_memory_equal(a1, a2, sizeof a1);
    /* a wrong (too small) prediction is reported */
    int64_t junk[NELEM];
    memset(junk, 0, sizeof junk);
    assert_int_equal(exactsum_add_predicted(junk, x, NELEM, E - 30, HEADROOM), exactsum_exponent(x, NELEM));
    assert_true(exactsum_exponent(x, NELEM) > E - 30);
    float bad[3] = {1.0f, NAN, 2.0f};
    assert_int_equal(exactsum_add_predicted(junk, bad, 3, 5, 0), INT32_MAX);
    float zero[2] = {0.0f, -0.0f};
    int64_t z[2] = {0, 0};
    assert_int_equal(exactsum_add_predicted(z, zero, 2, 3, 4), EXACTSUM_EXP_ZERO);
    assert_int_equal(z[0], 0);
    assert_int_equal(z[1], 0);
    free(x);
}

/* exactsum_sum_parts: 1 to 4 parts, values that wrap, an offset and a
 * length over several of its blocks; element by element against the
 * plain wrap-around sum. */
static void test_sum_parts(void **state)
{
    (void)state;
    enum { N = 2600, OFF = 37, LEN = 2500, MAXP = 4 };
    static int64_t pieces[MAXP][N], out[LEN];
    const int64_t *part[MAXP];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < MAXP; k++) {
        part[k] = pieces[k];
        for (int i = 0; i < N; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            pieces[k][i] = (int64_t)(x >> 1) - (int64_t)(x >> 2);
        }
    }
    pieces[0][OFF] = INT64_MAX;   /* INT64_MAX + positive wraps */
    pieces[1][OFF] = 5;
    for (int np = 1; np <= MAXP; np++) {
        size_t bad = 0;
        exactsum_sum_parts(out, part, np, OFF, LEN);
        for (int i = 0; i < LEN; i++) {
            uint64_t want = 0;
            for (int k = 0; k < np; k++) want += (uint64_t)pieces[k][OFF + i];
            bad += (uint64_t)out[i] != want;
        }
        assert_int_equal(bad, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permutation_and_split_invariance),
        cmocka_unit_test(test_accuracy_vs_reference),
        cmocka_unit_test(test_exponent_edges),
        cmocka_unit_test(test_scale_and_rounding),
        cmocka_unit_test(test_all_zero_with_zero_exponent),
        cmocka_unit_test(test_headroom_limit),
        cmocka_unit_test(test_add_predicted),
        cmocka_unit_test(test_sum_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
