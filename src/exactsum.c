/** \file exactsum.c
 *  Order-independent fixed-point summation (see exactsum.h).
 *
 *  Exactness of the conversion: a float has a 24-bit significand, so
 *  x * 2^S is exact in double whenever the result is in the normal double
 *  range; with |x| < 2^E and S = B - headroom - E (B = EXACTSUM_BITS = 51)
 *  the result is below 2^51 and, since |x| >= 2^-149 for x != 0 and
 *  S >= -128 for any E a float can need, it is at least 2^-277 (no
 *  underflow).  The only rounding is then the conversion to an integer,
 *  round-half-to-even in the default rounding mode, a pure function of
 *  (x, S).  For |v| <= 2^51, v + 1.5*2^52 lies in [2^52, 2^53) where the
 *  double spacing is exactly 1, so that addition IS the rounding, and the
 *  integer is the low bits of the sum: bits(v + M) - bits(M).
 *
 *  Bound: |x| < 2^E gives |x 2^S| < 2^(B-h), and rounding to an integer
 *  can reach at most 2^(B-h) itself, so |q| <= 2^(B-h) and any sum of
 *  up to 2^h such q has magnitude <= 2^B.
 *
 *  Zero addends are skipped, so a scale made from EXACTSUM_EXP_ZERO
 *  (S > 1100, where 2^S is not a finite double) is safe on all-zero data.
 */
#include "riskgrid/exactsum.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Hot loops get AVX-512 and AVX2 clones chosen at load time (integer max and
 * double<->int64 arithmetic; the results are the same bits in every clone:
 * integer operations are exact and the double operations are single IEEE
 * operations without contraction in ISO C mode). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define EXACTSUM_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define EXACTSUM_CLONES
#endif

EXACTSUM_CLONES
int exactsum_exponent(const float *x, size_t n)
{
    /* For non-negative IEEE floats the bit patterns order like the values,
     * so the largest |x| is the largest (bits & 0x7fffffff); an integer max
     * without branches vectorises.  Patterns >= 0x7f800000 are Inf/NaN. */
    uint32_t mb = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &x[i], sizeof b);
        b &= 0x7fffffffu;
        mb = b > mb ? b : mb;
    }
    if (mb >= 0x7f800000u) return INT32_MAX;  /* NaN or +-Inf */
    if (mb == 0) return EXACTSUM_EXP_ZERO;
    float mx;
    memcpy(&mx, &mb, sizeof mx);
    /* frexp: mx = f 2^e with f in [0.5, 1), so 2^(e-1) <= mx < 2^e and e
     * is the smallest exponent with mx < 2^e (exact in double, including
     * float denormals, which are normal doubles). */
    int e = 0;
    (void)frexp((double)mx, &e);
    return e;
}

int exactsum_scale(int exponent, int headroom)
{
    return EXACTSUM_BITS - headroom - exponent;
}

EXACTSUM_CLONES
void exactsum_add(int64_t *acc, const float *x, size_t n, int scale)
{
    if (scale >= DBL_MIN_EXP - 1 && scale <= DBL_MAX_EXP - 1) {
        /* 2^scale is a normal double: multiplying by it is exactly
         * ldexp(x, scale) (see the file comment), and cheaper. */
        const double f = ldexp(1.0, scale);
        const double magic = 0x1.8p52;            /* 1.5 * 2^52 */
        const int64_t magic_bits = 0x4338000000000000LL;
        /* branch-free, vectorisable: see the file comment */
        for (size_t i = 0; i < n; i++) {
            double t = (double)x[i] * f + magic;
            int64_t b;
            memcpy(&b, &t, sizeof b);
            acc[i] += b - magic_bits;
        }
    } else {
        /* 2^scale is out of double range; only reachable from a tiny E,
         * where the contract leaves nothing but zeros to add. */
        for (size_t i = 0; i < n; i++) {
            if (x[i] == 0.0f) continue;
            acc[i] += llrint(ldexp((double)x[i], scale));
        }
    }
}

EXACTSUM_CLONES
int exactsum_add_predicted(int64_t *acc, const float *x, size_t n, int exponent, int headroom)
{
    const int scale = exactsum_scale(exponent, headroom);
    if (!(scale >= DBL_MIN_EXP - 1 && scale <= DBL_MAX_EXP - 1)) {
        /* 2^scale not a normal double (a tiny predicted exponent): the
         * two-pass path handles it */
        int e = exactsum_exponent(x, n);
        if (e <= exponent) exactsum_add(acc, x, n, scale);
        return e;
    }
    const double f = ldexp(1.0, scale);
    const uint64_t magic_bits = 0x4338000000000000ULL;
    uint32_t mb = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b32;
        uint64_t b64;
        double t = (double)x[i] * f + 0x1.8p52;
        memcpy(&b32, &x[i], sizeof b32);
        b32 &= 0x7fffffffu;
        mb = b32 > mb ? b32 : mb;
        memcpy(&b64, &t, sizeof b64);
        /* unsigned arithmetic: an out-of-range x (prediction wrong) wraps
         * instead of overflowing a signed integer */
        acc[i] = (int64_t)((uint64_t)acc[i] + (b64 - magic_bits));
    }
    if (mb >= 0x7f800000u) return INT32_MAX;
    if (mb == 0) return EXACTSUM_EXP_ZERO;
    {
        float mx;
        int e = 0;
        memcpy(&mx, &mb, sizeof mx);
        (void)frexp((double)mx, &e);
        return e;
    }
}

EXACTSUM_CLONES
void exactsum_to_float(const int64_t *acc, size_t n, int scale, double mul, float *out)
{
    /* (double)acc rounds to nearest-even above 2^53 (never reached: |acc|
     * <= 2^EXACTSUM_BITS); scaling by a power of two is correctly rounded
     * whether done by ldexp or by multiplying with a normal 2^-scale, so
     * the fast path gives the same bits; then one double product and one
     * rounding to float. */
    if (-scale >= DBL_MIN_EXP - 1 && -scale <= DBL_MAX_EXP - 1) {
        const double f = ldexp(1.0, -scale);
        for (size_t i = 0; i < n; i++) out[i] = (float)(((double)acc[i] * f) * mul);
    } else {
        for (size_t i = 0; i < n; i++) out[i] = (float)(ldexp((double)acc[i], -scale) * mul);
    }
}

/* o[0..n) = a[0..n) + b[0..n) (wrap-around) */
EXACTSUM_CLONES
static void exactsum_add2(uint64_t *restrict o, const uint64_t *restrict a, const uint64_t *restrict b, size_t n)
{
    for (size_t i = 0; i < n; i++) o[i] = a[i] + b[i];
}

/* o[0..n) += c[0..n) (wrap-around) */
EXACTSUM_CLONES
static void exactsum_add1(uint64_t *restrict o, const uint64_t *restrict c, size_t n)
{
    for (size_t i = 0; i < n; i++) o[i] += c[i];
}

void exactsum_sum_parts(int64_t *out, const int64_t *const *part, int nparts, size_t off, size_t n)
{
    /* memory-bound (the parts are other ranks' fresh lines): one fused
     * pass for the first two, then blocks that stay in L1 while the
     * others are added */
    enum { BLOCK = 1024 };
    uint64_t *o = (uint64_t *)(void *)out;
    if (nparts == 1) {
        memcpy(out, part[0] + off, n * sizeof *out);
        return;
    }
    for (size_t b = 0; b < n; b += BLOCK) {
        const size_t m = n - b < BLOCK ? n - b : BLOCK;
        exactsum_add2(o + b, (const uint64_t *)(const void *)(part[0] + off + b),
                      (const uint64_t *)(const void *)(part[1] + off + b), m);
        for (int k = 2; k < nparts; k++) exactsum_add1(o + b, (const uint64_t *)(const void *)(part[k] + off + b), m);
    }
}

int64_t exactsum_fixed(double x, int scale)
{
    /* Caller guarantees |x| < 2^E for the E of the scale, so the product
     * is below 2^(62-h); exact unless it falls below the normal range, in
     * which case it is far below 0.5 and rounds to 0 either way. */
    if (x == 0.0) return 0;
    return llrint(ldexp(x, scale));
}

double exactsum_unfixed(int64_t q, int scale)
{
    return ldexp((double)q, -scale);
}
