/** \file adam.c
 *  Adam update in the Keras / TensorFlow form (see adam.h).
 *
 *  Precision and order, per step (t already incremented):
 *    alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)       in double,
 *  then the four scalars (1-beta1), (1-beta2), alpha, eps are each rounded
 *  once to float, and for i = 0..n-1 in increasing order, in float:
 *    m_i <- m_i + c1 * (g_i - m_i)
 *    v_i <- v_i + c2 * (g_i * g_i - v_i)
 *    p_i <- p_i - (alpha * m_i) / (sqrt(v_i) + eps)
 *  with each parenthesised operation rounded separately.  The result is
 *  bitwise reproducible given the default rounding mode and no FP
 *  contraction (GCC's default in ISO C mode, -std=c11, is
 *  -ffp-contract=off; every operation below is also its own statement).
 *
 *  eps must be > 0 for a parameter whose gradient has always been exactly
 *  zero: then m = v = 0 and the update is 0 / eps = 0 (with eps = 0 it
 *  would be 0/0 = NaN, as in Keras).
 */
#include "riskgrid/adam.h"
#include "riskgrid/exactsum.h"

#include "riskgrid/mem.h"

#include <assert.h>

#include <math.h>
#include <stdlib.h>

/** NULL on allocation failure (or if n floats do not fit in size_t).
 *  n == 0 is allowed: a state with no parameters. */
adam_state *adam_new(size_t n)
{
    if (n > SIZE_MAX / sizeof(float)) return NULL;
    adam_state *a = calloc(1, sizeof *a);
    if (a == NULL) return NULL;
    a->n = n;
    a->t = 0;
    /* zero-filled: moments start at +0.0f (all-zero bits is 0.0f in IEEE 754);
     * one extra element so n == 0 still gets a non-NULL pointer. */
    a->m = mem_alloc64(n + 1, sizeof(float), 1);
    a->v = mem_alloc64(n + 1, sizeof(float), 1);
    if (a->m == NULL || a->v == NULL) {
        adam_free(a);
        return NULL;
    }
    return a;
}

void adam_free(adam_state *a)
{
    if (a == NULL) return;
    free(a->m);
    free(a->v);
    free(a);
}

/* The element update: one IEEE operation per statement.  ISO C allows
 * contraction (e.g. into an FMA) only within one expression, so this also
 * pins the rounding under compilers whose default is -ffp-contract=on. */
static inline __attribute__((always_inline)) void adam_elem(float gi, float c1, float c2, float alpha, float eps,
                                                            float *m, float *v, float *p)
{
    const float dm = gi - *m;
    const float sm = c1 * dm;
    const float mi = *m + sm;
    const float g2 = gi * gi;
    const float dv = g2 - *v;
    const float sv = c2 * dv;
    const float vi = *v + sv;
    const float num = alpha * mi;
    const float root = sqrtf(vi);
    const float den = root + eps;
    const float step = num / den;
    *m = mi;
    *v = vi;
    *p = *p - step;
}

/* The per-step scalars; advances t. */
static void adam_begin(adam_state *a, const adam_params *hp, float *c1, float *c2, float *alpha, float *eps)
{
    a->t += 1;
    const double t = (double)a->t;
    const double alpha_d = hp->lr * sqrt(1.0 - pow(hp->beta2, t)) / (1.0 - pow(hp->beta1, t));
    *c1 = (float)(1.0 - hp->beta1);
    *c2 = (float)(1.0 - hp->beta2);
    *alpha = (float)alpha_d;
    *eps = (float)hp->eps;
}

/* Vector clones chosen at load time: every statement of adam_elem is one
 * IEEE operation (no contraction in ISO C mode), so each clone gives the
 * same bits; sanitizer builds keep the plain version (ifunc resolvers run
 * before the sanitizer runtime is ready). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ADAM_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define ADAM_CLONES
#endif

#if defined(__GNUC__)
#define ADAM_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define ADAM_PREFETCH(p) ((void)(p))
#endif

ADAM_CLONES
void adam_step_range(adam_state *a, const adam_params *hp, float *params, const float *g, size_t lo, size_t hi)
{
    float c1, c2, alpha, eps;
    assert(lo <= hi && hi <= a->n);
    adam_begin(a, hp, &c1, &c2, &alpha, &eps);
    float *m = a->m, *v = a->v;
    for (size_t i = lo; i < hi; i++) adam_elem(g[i], c1, c2, alpha, eps, &m[i], &v[i], &params[i]);
}

/* The fixed-point gradient element, as exactsum_to_float makes it. */
static inline __attribute__((always_inline)) float adam_grad(int64_t q, double f, double mul)
{
    const double scaled = (double)q * f;
    return (float)(scaled * mul);
}

ADAM_CLONES
void adam_step_fixed_parts(adam_state *a, const adam_params *hp, float *params, const int64_t *const *part, int nq,
                           double f, double mul, size_t lo, size_t hi)
{
    enum { BLOCK = 256 };
    float c1, c2, alpha, eps;
    assert(lo <= hi && hi <= a->n && nq >= 1);
    adam_begin(a, hp, &c1, &c2, &alpha, &eps);
    float *m = a->m, *v = a->v;
    if (nq == 1) {
        const int64_t *q = part[0];
        for (size_t i = lo; i < hi; i++) adam_elem(adam_grad(q[i], f, mul), c1, c2, alpha, eps, &m[i], &v[i], &params[i]);
    } else if (nq == 2) {
        /* One part is usually another core's freshly written lines.  The
         * hardware streamer stops at every 4 KiB page and each such line
         * costs a cross-core transfer (~0.25 us here), so the parts are
         * prefetched PF_AHEAD elements (2 KiB) ahead, a block at a time so
         * that the element loop stays vectorised.  Measured (rdtsc per
         * phase, MNIST b256, 2 ranks, 8 runs): this update 43.5 -> 37.6 us
         * a step (docs/performance.md). */
        enum { PF_BLOCK = 64, PF_AHEAD = 256, PF_LINE = 64 / sizeof(int64_t) };
        const uint64_t *q0 = (const uint64_t *)(const void *)part[0], *q1 = (const uint64_t *)(const void *)part[1];
        for (size_t j = lo; j < lo + PF_AHEAD && j < hi; j += PF_LINE) {
            ADAM_PREFETCH(q0 + j);
            ADAM_PREFETCH(q1 + j);
        }
        for (size_t b = lo; b < hi; b += PF_BLOCK) {
            const size_t e = hi - b < PF_BLOCK ? hi : b + PF_BLOCK;
            for (size_t j = b + PF_AHEAD; j < e + PF_AHEAD && j < hi; j += PF_LINE) {
                ADAM_PREFETCH(q0 + j);
                ADAM_PREFETCH(q1 + j);
            }
            for (size_t i = b; i < e; i++)
                adam_elem(adam_grad((int64_t)(q0[i] + q1[i]), f, mul), c1, c2, alpha, eps, &m[i], &v[i], &params[i]);
        }
    } else {
        /* more parts: sum a block that stays in L1, then update it */
        int64_t q[BLOCK];
        for (size_t b = lo; b < hi; b += BLOCK) {
            const size_t n = hi - b < BLOCK ? hi - b : BLOCK;
            exactsum_sum_parts(q, part, nq, b, n);
            for (size_t j = 0; j < n; j++)
                adam_elem(adam_grad(q[j], f, mul), c1, c2, alpha, eps, &m[b + j], &v[b + j], &params[b + j]);
        }
    }
}

void adam_step_fixed_range(adam_state *a, const adam_params *hp, float *params, const int64_t *q, double f, double mul,
                           size_t lo, size_t hi)
{
    adam_step_fixed_parts(a, hp, params, &q, 1, f, mul, lo, hi);
}

void adam_step(adam_state *a, const adam_params *hp, float *params, const float *g)
{
    adam_step_range(a, hp, params, g, 0, a->n);
}

void adam_step_fixed(adam_state *a, const adam_params *hp, float *params, const int64_t *q, double f, double mul)
{
    adam_step_fixed_range(a, hp, params, q, f, mul, 0, a->n);
}
