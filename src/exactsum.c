/** \file exactsum.c
 *  Order-independent fixed-point summation (see exactsum.h).
 *
 *  Exactness of the conversion: a float has a 24-bit significand, so
 *  x * 2^S is exact in double whenever the result is in the normal double
 *  range; with |x| < 2^E and S = 62 - headroom - E the result is below
 *  2^62 (no overflow) and, since |x| >= 2^-149 for x != 0 and S >= -128
 *  for any E a float can need, it is at least 2^-277 (no underflow).  The
 *  only rounding is then llrint's, round-half-to-even in the default
 *  rounding mode, a pure function of (x, S).
 *
 *  Bound: |x| < 2^E gives |x 2^S| < 2^(62-h), and rounding to an integer
 *  can reach at most 2^(62-h) itself, so |q| <= 2^(62-h) and any sum of
 *  up to 2^h such q has magnitude <= 2^62 < INT64_MAX.
 *
 *  Zero addends are skipped, so a scale made from EXACTSUM_EXP_ZERO
 *  (S > 1100, where 2^S is not a finite double) is safe on all-zero data.
 */
#include "riskgrid/exactsum.h"

#include <float.h>
#include <math.h>
#include <string.h>

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
    return 62 - headroom - exponent;
}

void exactsum_add(int64_t *acc, const float *x, size_t n, int scale)
{
    if (scale >= DBL_MIN_EXP - 1 && scale <= DBL_MAX_EXP - 1) {
        /* 2^scale is a normal double: multiplying by it is exactly
         * ldexp(x, scale) (see the file comment), and cheaper. */
        const double f = ldexp(1.0, scale);
        /* no branch on zero: 0 * f rounds to 0; llrint is inlined to one
         * conversion instruction (round to nearest even) under
         * -fno-math-errno, which the build sets */
        for (size_t i = 0; i < n; i++) acc[i] += llrint((double)x[i] * f);
    } else {
        /* 2^scale is out of double range; only reachable from a tiny E,
         * where the contract leaves nothing but zeros to add. */
        for (size_t i = 0; i < n; i++) {
            if (x[i] == 0.0f) continue;
            acc[i] += llrint(ldexp((double)x[i], scale));
        }
    }
}

void exactsum_to_float(const int64_t *acc, size_t n, int scale, double mul, float *out)
{
    /* (double)acc rounds to nearest-even above 2^53; ldexp is exact unless
     * the value underflows; then one double product and one rounding to
     * float. */
    for (size_t i = 0; i < n; i++) {
        const double d = ldexp((double)acc[i], -scale);
        out[i] = (float)(d * mul);
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
