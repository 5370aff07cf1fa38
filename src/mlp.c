/** \file mlp.c
 *  One-hidden-layer perceptron (see mlp.h): layout, scratch, He
 *  initialisation, and the float and double kernels instantiated from the
 *  template src/mlp_impl.h.
 *
 *  Scratch policy: mlp_work_new allocates the scratch of BOTH precisions
 *  up front (per precision: A1 and dA1/dZ1 of max_rows*H, P/dZ2 of
 *  max_rows*C; plus one double column-sum accumulator of max(H, C)), so
 *  the kernels never allocate and have no failure path other than a
 *  violated precondition.  The double half is only used by the _f64
 *  kernels (gradient checks); it costs 2/3 of the total, which for the
 *  batch sizes of this job (thousands of rows, tens of hidden units) is a
 *  few MB at most.
 *
 *  Reproducibility assumes the default floating-point environment and no
 *  FP contraction across the statements here (GCC's default in ISO C
 *  mode, -std=c11, is -ffp-contract=off).
 */
#include "riskgrid/mlp.h"

#include <assert.h>

#include "riskgrid/rng.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/** Scratch of one precision; see the file comment for the sizes. */
typedef struct mlp_scratch_f32 {
    float *a1;  /**< relu(Z1) [max_rows*H] */
    float *d1;  /**< dA1, then dZ1 [max_rows*H] */
    float *p;   /**< P, then dZ2 [max_rows*C] */
} mlp_scratch_f32;

typedef struct mlp_scratch_f64 {
    double *a1, *d1, *p;  /**< as in mlp_scratch_f32 */
} mlp_scratch_f64;

struct mlp_work {
    mlp_shape shape;      /**< the shape the scratch was sized for */
    int max_rows;         /**< largest batch accepted */
    mlp_scratch_f32 f32;
    mlp_scratch_f64 f64;
    double *colsum;       /**< column-sum accumulator [max(H, C)] */
};

/** Clamp used inside the logs (Keras epsilon 1e-7).  Written with
 *  comparisons rather than fmin/fmax so that NaN passes through. */
#define MLP_PROB_EPS 1e-7

static double mlp_clamp_prob(double p)
{
    if (p < MLP_PROB_EPS) return MLP_PROB_EPS;
    if (p > 1.0 - MLP_PROB_EPS) return 1.0 - MLP_PROB_EPS;
    return p;
}

/* A shape is valid iff all sizes are >= 1 and the output kind matches
 * the width: sigmoid needs C == 1, softmax needs C >= 2. */
static int mlp_shape_ok(const mlp_shape *s)
{
    if (s == NULL || s->n_in < 1 || s->n_hidden < 1 || s->n_out < 1) return 0;
    return s->softmax ? (s->n_out >= 2) : (s->n_out == 1);
}

/** Layout of a valid shape; an invalid shape gives all zeros (n == 0). */
mlp_layout mlp_layout_of(const mlp_shape *s)
{
    mlp_layout L = {0, 0, 0, 0, 0};
    if (!mlp_shape_ok(s)) return L;
    const size_t F = (size_t)s->n_in, H = (size_t)s->n_hidden, C = (size_t)s->n_out;
    L.w1 = 0;
    L.b1 = L.w1 + F * H;
    L.w2 = L.b1 + H;
    L.b2 = L.w2 + H * C;
    L.n = L.b2 + C;
    return L;
}

size_t mlp_block_index(const mlp_shape *s, int h0, int h1, size_t i)
{
    const size_t F = (size_t)s->n_in, H = (size_t)s->n_hidden, C = (size_t)s->n_out;
    const size_t Hb = (size_t)(h1 - h0), o = (size_t)h0;
    const mlp_layout L = mlp_layout_of(s);
    assert(0 <= h0 && h0 < h1 && h1 <= s->n_hidden && i < F * Hb + Hb + Hb * C + C);
    if (i < F * Hb) return L.w1 + i / Hb * H + o + i % Hb;
    i -= F * Hb;
    if (i < Hb) return L.b1 + o + i;
    i -= Hb;
    if (i < Hb * C) return L.w2 + o * C + i;
    return L.b2 + (i - Hb * C);
}

void mlp_block_get(const mlp_shape *s, int h0, int h1, const float *full, float *block)
{
    mlp_shape b = *s;
    b.n_hidden = h1 - h0;
    const size_t n = mlp_layout_of(&b).n;
    for (size_t i = 0; i < n; i++) block[i] = full[mlp_block_index(s, h0, h1, i)];
}

void mlp_block_put(const mlp_shape *s, int h0, int h1, const float *block, float *full)
{
    mlp_shape b = *s;
    b.n_hidden = h1 - h0;
    const size_t n = mlp_layout_of(&b).n;
    for (size_t i = 0; i < n; i++) full[mlp_block_index(s, h0, h1, i)] = block[i];
}

/* Precondition of every kernel: w was made for exactly this shape and
 * 0 <= m <= max_rows.  The kernels return NaN (and write nothing) when it
 * does not hold. */
static int mlp_work_fits(const mlp_shape *s, int m, const mlp_work *w)
{
    if (w == NULL || !mlp_shape_ok(s) || m < 0 || m > w->max_rows) return 0;
    return s->n_in == w->shape.n_in && s->n_hidden == w->shape.n_hidden &&
           s->n_out == w->shape.n_out && (s->softmax != 0) == (w->shape.softmax != 0);
}

void mlp_work_free(mlp_work *w)
{
    if (w == NULL) return;
    free(w->f32.a1);
    free(w->f32.d1);
    free(w->f32.p);
    free(w->f64.a1);
    free(w->f64.d1);
    free(w->f64.p);
    free(w->colsum);
    free(w);
}

/* n * size as a byte count, or 0 on size_t overflow. */
static size_t mlp_bytes(size_t n, size_t size)
{
    return (n != 0 && size > SIZE_MAX / n) ? 0 : n * size;
}

/** NULL on an invalid shape, max_rows < 1, or allocation failure. */
mlp_work *mlp_work_new(const mlp_shape *s, int max_rows)
{
    if (!mlp_shape_ok(s) || max_rows < 1) return NULL;
    const size_t R = (size_t)max_rows, H = (size_t)s->n_hidden, C = (size_t)s->n_out;
    if (H > SIZE_MAX / R || C > SIZE_MAX / R) return NULL;
    const size_t nh = R * H, nc = R * C, ncs = H > C ? H : C;
    const size_t bh32 = mlp_bytes(nh, sizeof(float)), bc32 = mlp_bytes(nc, sizeof(float));
    const size_t bh64 = mlp_bytes(nh, sizeof(double)), bc64 = mlp_bytes(nc, sizeof(double));
    if (bh32 == 0 || bc32 == 0 || bh64 == 0 || bc64 == 0) return NULL;

    mlp_work *w = calloc(1, sizeof *w);
    if (w == NULL) return NULL;
    w->shape = *s;
    w->max_rows = max_rows;
    w->f32.a1 = malloc(bh32);
    w->f32.d1 = malloc(bh32);
    w->f32.p = malloc(bc32);
    w->f64.a1 = malloc(bh64);
    w->f64.d1 = malloc(bh64);
    w->f64.p = malloc(bc64);
    w->colsum = malloc(ncs * sizeof(double));
    if (w->f32.a1 == NULL || w->f32.d1 == NULL || w->f32.p == NULL ||
        w->f64.a1 == NULL || w->f64.d1 == NULL || w->f64.p == NULL || w->colsum == NULL) {
        mlp_work_free(w);
        return NULL;
    }
    return w;
}

/** He normal: W1[i] = N_1(i) sqrt(2/F), W2[i] = N_2(i) sqrt(2/H), where
 *  N_k(i) = rng_normal(rng_hash3(seed, RNG_STREAM_INIT, k), i) and i is the
 *  index inside the block; biases 0.  Each draw is computed in double and
 *  rounded once to float.  Does nothing for an invalid shape. */
void mlp_init(const mlp_shape *s, uint64_t seed, float *params)
{
    const mlp_layout L = mlp_layout_of(s);
    if (L.n == 0) return;
    const size_t F = (size_t)s->n_in, H = (size_t)s->n_hidden, C = (size_t)s->n_out;
    const uint64_t k1 = rng_hash3(seed, RNG_STREAM_INIT, 1);
    const uint64_t k2 = rng_hash3(seed, RNG_STREAM_INIT, 2);
    const double sd1 = sqrt(2.0 / (double)F), sd2 = sqrt(2.0 / (double)H);
    for (size_t i = 0; i < F * H; i++) params[L.w1 + i] = (float)(rng_normal(k1, i) * sd1);
    for (size_t i = 0; i < H; i++) params[L.b1 + i] = 0.0f;
    for (size_t i = 0; i < H * C; i++) params[L.w2 + i] = (float)(rng_normal(k2, i) * sd2);
    for (size_t i = 0; i < C; i++) params[L.b2 + i] = 0.0f;
}

/* ---- float kernels: mlp_loss_grad, mlp_predict ---- */
#define MLP_REAL float
#define MLP_SFX(n) n
#define MLP_GEMM cblas_sgemm
#define MLP_EXP expf
#define MLP_SCRATCH f32
#include "mlp_impl.h"

/* Public float entry points of the output stage (see mlp.h), shared with
 * the training kernels in shardgrad.c. */
void mlp_output(const mlp_shape *s, float *z, int m) { mlp_outmap(s, z, m); }
double mlp_loss_rows(const mlp_shape *s, const float *p, const int32_t *y, int m) { return mlp_loss_sum(s, p, y, m); }
void mlp_output_grad(const mlp_shape *s, float *p, const int32_t *y, int m) { mlp_dz2(s, p, y, m); }

/* ---- double kernels: mlp_loss_grad_f64, mlp_predict_f64 ---- */
#define MLP_REAL double
#define MLP_SFX(n) n##_f64
#define MLP_GEMM cblas_dgemm
#define MLP_EXP exp
#define MLP_SCRATCH f64
#include "mlp_impl.h"
