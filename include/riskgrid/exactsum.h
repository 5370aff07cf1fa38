/** \file exactsum.h
 *  Order-independent summation of float addends by conversion to
 *  fixed-point int64 with a shared exponent.
 *
 *  Given a shared exponent E such that every addend satisfies |x| < 2^E,
 *  and at most 2^headroom addends per element, each addend is rounded to
 *  q = rint(x * 2^S) with S = EXACTSUM_BITS - headroom - E, so
 *  |q| <= 2^(EXACTSUM_BITS-headroom) and any sum of up to 2^headroom of them
 *  stays within 2^EXACTSUM_BITS: no int64 overflow, and every partial sum
 *  is exactly representable as a double.  EXACTSUM_BITS = 51 (not 62) so the
 *  conversion can use the 1.5*2^52 rounding trick, which vectorises; that
 *  keeps 51 - headroom bits below the largest addend, far more than a
 *  float's 24.  Integer addition is associative and commutative, so the sum
 *  is the same bits in any order and over any split across ranks.
 *  The rounding of each addend is a pure function of (x, S): it does not
 *  depend on the order either.  Absolute resolution is 2^-S.
 *
 *  Pure kernels, no MPI (the fused allreduce is in reduce.h).
 */
#ifndef RISKGRID_EXACTSUM_H
#define RISKGRID_EXACTSUM_H

#include <stddef.h>
#include <stdint.h>

/** Bits of the fixed-point range: |sum| <= 2^EXACTSUM_BITS. */
#define EXACTSUM_BITS 51

/** Exponent value meaning "all addends are zero". */
#define EXACTSUM_EXP_ZERO (-1100)

/** Smallest e such that |x[i]| < 2^e for all i (EXACTSUM_EXP_ZERO when all
 *  are zero).  Returns INT32_MAX if any x is NaN or infinite. */
int exactsum_exponent(const float *x, size_t n);

/** Scale S for exponent E and headroom bits (see the file comment). */
int exactsum_scale(int exponent, int headroom);

/** acc[i] += rint(x[i] * 2^scale).  The caller guarantees |x| < 2^E for
 *  the E the scale was made from. */
void exactsum_add(int64_t *acc, const float *x, size_t n, int scale);

/** One pass doing exactsum_exponent and exactsum_add together, for the
 *  common case where the exponent is predicted: adds x with the scale of
 *  (exponent, headroom) and returns exactsum_exponent(x, n).  If the return
 *  value is greater than `exponent` (including INT32_MAX for NaN/Inf) the
 *  prediction was wrong and acc[0..n) holds unspecified values (never
 *  undefined behaviour): the caller discards it and redoes the sum. */
int exactsum_add_predicted(int64_t *acc, const float *x, size_t n, int exponent, int headroom);

/** out[i] = (float)((double)acc[i] * 2^-scale * mul). */
void exactsum_to_float(const int64_t *acc, size_t n, int scale, double mul, float *out);

/** out[0..n) = elements [off, off+n) of the wrap-around sum of the
 *  nparts >= 1 arrays part[k]: a fixed-point sum handed over in parts
 *  (the ranks' contributions to a reduction).  out must not overlap them. */
void exactsum_sum_parts(int64_t *out, const int64_t *const *part, int nparts, size_t off, size_t n);

/** The same for one double value (used for losses): rint(x * 2^scale). */
int64_t exactsum_fixed(double x, int scale);
double exactsum_unfixed(int64_t q, int scale);

#endif
