/** \file test_shardgrad.c
 *  Unit tests of the training kernels (shardgrad.h): per-shard gradients
 *  against the double-precision reference of mlp.h, the fused fixed-point
 *  sum against a plain floor(g 2^S) sum of the materialised gradients
 *  (per-shard mode) or of the rows' exact products (row mode), bit for bit,
 *  whole or in pieces, a shard's bits independent of the other shards in
 *  the batch, the
 *  AVX-512, AVX2 and portable variants bit for bit, prediction failure and
 *  non-finite detection, and the constructor's preconditions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/exactsum.h"
#include "riskgrid/mlp.h"
#include "riskgrid/rng.h"
#include "riskgrid/shardgrad.h"

/* Headroom bits for ns shards of g: shards x addends per shard. */
static int headroom_of(const shardgrad *g, int ns)
{
    int h = 0;
    while ((1 << h) < ns * shardgrad_addends(g)) h++;
    return h;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    assert_non_null(p);
    return p;
}

/* One problem: shape, parameters (He init plus N(0, 0.3^2) biases), rows
 * ~ N(0, 1) and uniform labels, ns shards of m rows. */
typedef struct problem {
    mlp_shape s;
    mlp_layout L;
    int ns, m;
    float *params, *x;
    int32_t *y;
} problem;

static problem make_problem(int F, int H, int C, int ns, int m, uint64_t seed)
{
    problem p;
    memset(&p, 0, sizeof p);
    p.s.n_in = F;
    p.s.n_hidden = H;
    p.s.n_out = C;
    p.s.softmax = C > 1;
    p.L = mlp_layout_of(&p.s);
    p.ns = ns;
    p.m = m;
    p.params = xcalloc(p.L.n, sizeof *p.params);
    mlp_init(&p.s, seed, p.params);
    const uint64_t kb = rng_hash3(seed, 100, 0), kx = rng_hash3(seed, 200, 0);
    for (int h = 0; h < H; h++) p.params[p.L.b1 + (size_t)h] = (float)(0.3 * rng_normal(kb, (uint64_t)h));
    for (int c = 0; c < C; c++) p.params[p.L.b2 + (size_t)c] = (float)(0.3 * rng_normal(kb, 1000 + (uint64_t)c));
    const size_t R = (size_t)ns * (size_t)m;
    p.x = xcalloc(R * (size_t)F, sizeof *p.x);
    p.y = xcalloc(R, sizeof *p.y);
    for (size_t i = 0; i < R * (size_t)F; i++) p.x[i] = (float)rng_normal(kx, i);
    for (size_t r = 0; r < R; r++) p.y[r] = (int32_t)(rng_unit(rng_hash3(seed, 201, r)) * (C > 1 ? C : 2));
    return p;
}

static void free_problem(problem *p)
{
    free(p->params);
    free(p->x);
    free(p->y);
}

/* The reference conversion: acc[i] += floor(x[i] 2^scale) (exact in double
 * for the scales used here). */
static void ref_add_floor(int64_t *acc, const float *x, size_t n, int scale)
{
    for (size_t i = 0; i < n; i++) acc[i] += (int64_t)floor(ldexp((double)x[i], scale));
}

/* Run forward/backward with the current variant; grads[s*n] materialised. */
static shardgrad *run(const problem *p, double *loss, float *grads)
{
    shardgrad *g = shardgrad_new(&p->s, p->ns, p->m);
    assert_non_null(g);
    shardgrad_forward_backward(g, p->params, p->x, p->y, p->ns, loss);
    for (int s = 0; s < p->ns; s++) shardgrad_shard(g, s, grads + (size_t)s * p->L.n);
    return g;
}

static const int shapes[][4] = {
    /* F, H, C, (rows per shard) -- tails of every kernel tile; row mode
     * (<= 5 rows per shard) and per-shard mode; rows of more than 64
     * features, where the z1 tiles prefetch the next tile's rows (row
     * counts that are not multiples of the 6-row tile: the last tile's
     * prefetch stops at the last row) */
    {7, 20, 1, 5}, {9, 37, 3, 4}, {4, 64, 1, 2}, {23, 128, 1, 2}, {50, 130, 10, 3}, {1, 1, 1, 1},
    {7, 20, 1, 9}, {13, 37, 3, 12}, {23, 128, 1, 16}, {50, 130, 10, 10}, {70, 20, 3, 5}, {81, 70, 1, 7},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

/* Each shard's gradient and loss agree with mlp_loss_grad_f64 on its rows. */
static void test_grad_matches_f64(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_SHAPES; k++) {
        problem p = make_problem(shapes[k][0], shapes[k][1], shapes[k][2], 3, shapes[k][3], 11 + k);
        const size_t n = p.L.n;
        double *loss = xcalloc((size_t)p.ns, sizeof *loss);
        float *grads = xcalloc((size_t)p.ns * n, sizeof *grads);
        shardgrad *g = run(&p, loss, grads);
        mlp_work *w = mlp_work_new(&p.s, p.m);
        double *pd = xcalloc(n, sizeof *pd), *gd = xcalloc(n, sizeof *gd);
        double *xd = xcalloc((size_t)p.m * (size_t)p.s.n_in, sizeof *xd);
        assert_non_null(w);
        for (size_t i = 0; i < n; i++) pd[i] = (double)p.params[i];
        for (int s = 0; s < p.ns; s++) {
            const size_t off = (size_t)s * (size_t)p.m;
            for (size_t i = 0; i < (size_t)p.m * (size_t)p.s.n_in; i++) xd[i] = (double)p.x[off * (size_t)p.s.n_in + i];
            double ld = mlp_loss_grad_f64(&p.s, pd, xd, p.y + off, p.m, w, gd);
            assert_true(fabs(loss[s] - ld) <= 1e-5 * (1.0 + fabs(ld)));
            double gmax = 0.0;
            for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(gd[i]));
            assert_true(gmax > 0.0);
            for (size_t i = 0; i < n; i++) {
                double diff = fabs((double)grads[(size_t)s * n + i] - gd[i]);
                if (diff > 1e-5 * (1.0 + gmax))
                    fail_msg("shape %zu shard %d param %zu: %.9g vs %.9g", k, s, i, (double)grads[(size_t)s * n + i], gd[i]);
            }
        }
        mlp_work_free(w);
        free(pd); free(gd); free(xd); free(loss); free(grads);
        shardgrad_free(g);
        free_problem(&p);
    }
}

/* The reference exponent of a row's products: smallest e with
 * max|x| max|d| < 2^e, computed in double without the kernel's bit tricks. */
static int ref_row_exponent(const float *x, int F, const float *d, int H)
{
    double mx = 0.0, md = 0.0;
    int e = 0;
    for (int f = 0; f < F; f++) mx = isnan(x[f]) || fabs((double)x[f]) > mx ? fabs((double)x[f]) : mx;
    for (int j = 0; j < H; j++) md = isnan(d[j]) || fabs((double)d[j]) > md ? fabs((double)d[j]) : md;
    if (!isfinite(mx) || !isfinite(md)) return INT32_MAX;
    if (mx == 0.0 || md == 0.0) return EXACTSUM_EXP_ZERO;
    (void)frexp(mx * md, &e);
    return e;
}

/* The reference fixed-point sum and exponents of the contract
 * (shardgrad.h): per shard floor(g 2^S) of the materialised gradients,
 * except, in row mode, the W1 block from the rows' exact products. */
static void ref_sum(const problem *p, const shardgrad *g, const float *grads, int e, int headroom, int64_t *ref,
                    int *es)
{
    const size_t n = p->L.n, F = (size_t)p->s.n_in, H = (size_t)p->s.n_hidden, m = (size_t)p->m;
    const int rowq = shardgrad_row_mode(g), scale = exactsum_scale(e, headroom);
    memset(ref, 0, n * sizeof *ref);
    for (int s = 0; s < p->ns; s++) {
        const float *gs = grads + (size_t)s * n;
        if (!rowq) {
            es[s] = exactsum_exponent(gs, n);
            ref_add_floor(ref, gs, n, scale);
            continue;
        }
        es[s] = exactsum_exponent(gs + p->L.b1, n - p->L.b1);
        ref_add_floor(ref + p->L.b1, gs + p->L.b1, n - p->L.b1, scale);
        for (size_t r = (size_t)s * m; r < (size_t)s * m + m; r++) {
            const float *x = p->x + r * F, *d = shardgrad_dz1(g) + r * H;
            int er = ref_row_exponent(x, (int)F, d, (int)H);
            es[s] = er > es[s] ? er : es[s];
            for (size_t f = 0; f < F; f++)
                for (size_t j = 0; j < H; j++)
                    ref[p->L.w1 + f * H + j] += (int64_t)floor(ldexp((double)x[f] * (double)d[j], scale));
        }
    }
}

/* The fused sum equals the reference sum of the contract, and es[s] its
 * exponents, bit for bit, whole and in pieces. */
static void check_fused(const problem *p, int extra)
{
    const size_t n = p->L.n;
    double *loss = xcalloc((size_t)p->ns, sizeof *loss);
    float *grads = xcalloc((size_t)p->ns * n, sizeof *grads);
    int64_t *acc = xcalloc(n, sizeof *acc), *ref = xcalloc(n, sizeof *ref);
    int *es = xcalloc((size_t)p->ns, sizeof *es), *eref = xcalloc((size_t)p->ns, sizeof *eref);
    shardgrad *g = run(p, loss, grads);
    const int headroom = headroom_of(g, p->ns);
    int emax = EXACTSUM_EXP_ZERO;
    ref_sum(p, g, grads, 0, headroom, ref, eref);
    for (int s = 0; s < p->ns; s++) emax = eref[s] > emax ? eref[s] : emax;
    /* extra > 0: an exponent far above the data, so the scaled values
     * have fractional parts and the rounding rule (floor) matters */
    emax += extra;
    ref_sum(p, g, grads, emax, headroom, ref, eref);
    for (size_t i = 0; i < n; i++) acc[i] = (int64_t)(i * 7919u) - 5;  /* overwritten, not added to */
    shardgrad_sum(g, 0, p->s.n_in, emax, headroom, acc, es);
    assert_memory_equal(es, eref, (size_t)p->ns * sizeof *es);
    assert_memory_equal(acc, ref, n * sizeof *acc);
    /* in pieces of 1, 2, 3, ... features: the same sum and exponents */
    memset(acc, 0x5a, n * sizeof *acc);
    memset(es, 0x5a, (size_t)p->ns * sizeof *es);
    for (int f = 0, w = 1; f < p->s.n_in; f += w, w++) {
        int fe = f + w < p->s.n_in ? f + w : p->s.n_in;
        shardgrad_sum(g, f, fe, emax, headroom, acc, es);
    }
    assert_memory_equal(acc, ref, n * sizeof *acc);
    assert_memory_equal(es, eref, (size_t)p->ns * sizeof *es);
    /* begin / rows in another order / end, as the ordered 2-rank sum calls
     * it (the last third, the first third, then the middle in pieces of
     * 1, 2, ... from its end), with a prefetch hint over another buffer:
     * the same sum and exponents */
    memset(acc, 0x5a, n * sizeof *acc);
    memset(es, 0x5a, (size_t)p->ns * sizeof *es);
    {
        const int F = p->s.n_in, a = F / 3, b = F - F / 3;
        shardgrad_sum_begin(g, emax, headroom);
        shardgrad_sum_prefetch(g, grads, (size_t)p->ns * n * sizeof *grads);
        shardgrad_sum_rows(g, b, F, acc);
        shardgrad_sum_rows(g, 0, a, acc);
        for (int fe = b, w = 1; fe > a; fe -= w, w++) shardgrad_sum_rows(g, fe - w > a ? fe - w : a, fe, acc);
        shardgrad_sum_end(g, acc, es);
    }
    assert_memory_equal(acc, ref, n * sizeof *acc);
    assert_memory_equal(es, eref, (size_t)p->ns * sizeof *es);
    shardgrad_free(g);
    free(loss); free(grads); free(acc); free(ref); free(es); free(eref);
}

static void test_fused_equals_exactsum(void **state)
{
    (void)state;
    for (int v = SHARDGRAD_GENERIC; v < SHARDGRAD_N_VARIANTS; v++) {
        if (shardgrad_set_variant(v) != 0) continue;
        for (size_t k = 0; k < N_SHAPES; k++) {
            problem p = make_problem(shapes[k][0], shapes[k][1], shapes[k][2], 5, shapes[k][3], 21 + k);
            check_fused(&p, 0);
            check_fused(&p, 40);
            free_problem(&p);
        }
    }
    shardgrad_set_variant(SHARDGRAD_GENERIC);
}

/* A shard's loss and gradient bits do not depend on which other shards
 * share the batch: the property that makes results P-independent. */
static void test_shard_independent_of_batch(void **state)
{
    (void)state;
    for (int v = SHARDGRAD_GENERIC; v < SHARDGRAD_N_VARIANTS; v++) {
        if (shardgrad_set_variant(v) != 0) continue;
        for (size_t k = 0; k < N_SHAPES; k++) {
            problem p = make_problem(shapes[k][0], shapes[k][1], shapes[k][2], 7, shapes[k][3], 31 + k);
            const size_t n = p.L.n, F = (size_t)p.s.n_in, m = (size_t)p.m;
            double *loss = xcalloc((size_t)p.ns, sizeof *loss), one_loss = 0.0;
            float *grads = xcalloc((size_t)p.ns * n, sizeof *grads), *one = xcalloc(n, sizeof *one);
            shardgrad *g = run(&p, loss, grads), *g1 = shardgrad_new(&p.s, 1, p.m);
            assert_non_null(g1);
            for (int s = 0; s < p.ns; s++) {
                shardgrad_forward_backward(g1, p.params, p.x + (size_t)s * m * F, p.y + (size_t)s * m, 1, &one_loss);
                shardgrad_shard(g1, 0, one);
                assert_memory_equal(&one_loss, &loss[s], sizeof one_loss);
                assert_memory_equal(one, grads + (size_t)s * n, n * sizeof *one);
            }
            shardgrad_free(g);
            shardgrad_free(g1);
            free(loss); free(grads); free(one);
            free_problem(&p);
        }
    }
    shardgrad_set_variant(SHARDGRAD_GENERIC);
}

/* Every variant the CPU runs (AVX-512, AVX2) computes the portable
 * variant's bits. */
static void test_variants_agree(void **state)
{
    (void)state;
    int others = 0;
    for (int w = SHARDGRAD_GENERIC + 1; w < SHARDGRAD_N_VARIANTS; w++) {
        if (shardgrad_set_variant(w) != 0) continue;
        others++;
        for (size_t k = 0; k < N_SHAPES; k++) {
            problem p = make_problem(shapes[k][0], shapes[k][1], shapes[k][2], 6, shapes[k][3], 41 + k);
            const size_t n = p.L.n;
            double *loss[2];
            float *grads[2];
            int64_t *acc[2];
            int *es[2];
            for (int v = 0; v < 2; v++) {
                assert_int_equal(shardgrad_set_variant(v == 0 ? SHARDGRAD_GENERIC : w), 0);
                loss[v] = xcalloc((size_t)p.ns, sizeof *loss[v]);
                grads[v] = xcalloc((size_t)p.ns * n, sizeof *grads[v]);
                acc[v] = xcalloc(n, sizeof *acc[v]);
                es[v] = xcalloc((size_t)p.ns, sizeof *es[v]);
                shardgrad *g = run(&p, loss[v], grads[v]);
                shardgrad_sum(g, 0, p.s.n_in, 6, headroom_of(g, p.ns), acc[v], es[v]);
                shardgrad_free(g);
            }
            assert_memory_equal(loss[0], loss[1], (size_t)p.ns * sizeof *loss[0]);
            assert_memory_equal(grads[0], grads[1], (size_t)p.ns * n * sizeof *grads[0]);
            assert_memory_equal(acc[0], acc[1], n * sizeof *acc[0]);
            assert_memory_equal(es[0], es[1], (size_t)p.ns * sizeof *es[0]);
            for (int v = 0; v < 2; v++) { free(loss[v]); free(grads[v]); free(acc[v]); free(es[v]); }
            free_problem(&p);
        }
    }
    shardgrad_set_variant(SHARDGRAD_GENERIC);
    if (others == 0) skip();
}

/* A predicted exponent below a shard's reports that shard; a NaN input
 * row poisons exactly its shard (INT32_MAX), the others stay finite; in
 * row mode (3 rows per shard) and per-shard mode (9). */
static void test_prediction_and_nonfinite(void **state)
{
    (void)state;
    for (int v = SHARDGRAD_GENERIC; v < SHARDGRAD_N_VARIANTS; v++) {
        if (shardgrad_set_variant(v) != 0) continue;
        for (int m = 3; m <= 9; m += 6) {
            problem p = make_problem(9, 37, 3, 4, m, 51);
            const size_t n = p.L.n;
            double loss[4];
            float *grads = xcalloc(4 * n, sizeof *grads);
            int64_t *acc = xcalloc(n, sizeof *acc);
            int es[4], emax = EXACTSUM_EXP_ZERO;
            shardgrad *g = run(&p, loss, grads);
            const int headroom = headroom_of(g, 4);
            assert_int_equal(shardgrad_row_mode(g), m == 3);
            assert_int_equal(shardgrad_addends(g), m == 3 ? 3 : 1);
            shardgrad_sum(g, 0, p.s.n_in, 0, headroom, acc, es);
            for (int s = 0; s < 4; s++) emax = es[s] > emax ? es[s] : emax;
            memset(acc, 0, n * sizeof *acc);
            shardgrad_sum(g, 0, p.s.n_in, emax - 1, headroom, acc, es);
            int above = 0;
            for (int s = 0; s < 4; s++) above += es[s] > emax - 1;
            assert_true(above >= 1);
            /* the first step's "unknown" exponent: nothing added, exponents found */
            memset(acc, 0x5a, n * sizeof *acc);
            shardgrad_sum(g, 0, p.s.n_in, EXACTSUM_EXP_ZERO, headroom, acc, es);
            for (size_t i = 0; i < n; i++) assert_int_equal(acc[i], 0);
            for (int s = 0; s < 4; s++) assert_true(es[s] > EXACTSUM_EXP_ZERO && es[s] <= emax);
            shardgrad_free(g);

            p.x[(size_t)2 * (size_t)m * 9 + 4] = NAN;  /* shard 2, its first row */
            g = run(&p, loss, grads);
            shardgrad_sum(g, 0, p.s.n_in, emax, headroom, acc, es);
            for (int s = 0; s < 4; s++) {
                if (s == 2) assert_int_equal(es[s], INT32_MAX);
                else assert_true(es[s] < INT32_MAX && isfinite(loss[s]));
            }
            shardgrad_free(g);
            free(grads); free(acc);
            free_problem(&p);
        }
    }
    shardgrad_set_variant(SHARDGRAD_GENERIC);
}

/* Rows by pointer (shardgrad_forward_backward_rows), scattered in reverse
 * order with gaps, give the bits of the contiguous form: losses, shard
 * gradients, the fixed-point sum and the exponents, in both variants. */
static void test_rows_by_pointer(void **state)
{
    (void)state;
    for (int v = SHARDGRAD_GENERIC; v < SHARDGRAD_N_VARIANTS; v++) {
        if (shardgrad_set_variant(v) != 0) continue;
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            problem p = make_problem(shapes[k][0], shapes[k][1], shapes[k][2], 4, shapes[k][3], 61 + k);
            const size_t n = p.L.n, F = (size_t)p.s.n_in, R = (size_t)p.ns * (size_t)p.m;
            double loss[2][4];
            int es[2][4];
            float *grads[2], *far = xcalloc(R * (F + 5), sizeof *far);
            int64_t *acc[2];
            const float **rows = xcalloc(R, sizeof *rows);
            shardgrad *g[2];
            for (size_t r = 0; r < R; r++) {
                float *dst = far + (R - 1 - r) * (F + 5) + 3;
                memcpy(dst, p.x + r * F, F * sizeof *dst);
                rows[r] = dst;
            }
            for (int i = 0; i < 2; i++) {
                grads[i] = xcalloc((size_t)p.ns * n, sizeof *grads[i]);
                acc[i] = xcalloc(n, sizeof *acc[i]);
                g[i] = shardgrad_new(&p.s, p.ns, p.m);
                assert_non_null(g[i]);
            }
            shardgrad_forward_backward(g[0], p.params, p.x, p.y, p.ns, loss[0]);
            shardgrad_forward_backward_rows(g[1], p.params, rows, p.y, p.ns, loss[1]);
            for (int i = 0; i < 2; i++) {
                for (int s = 0; s < p.ns; s++) shardgrad_shard(g[i], s, grads[i] + (size_t)s * n);
                shardgrad_sum(g[i], 0, p.s.n_in, 0, headroom_of(g[i], p.ns), acc[i], es[i]);
            }
            assert_memory_equal(loss[0], loss[1], (size_t)p.ns * sizeof loss[0][0]);
            assert_memory_equal(grads[0], grads[1], (size_t)p.ns * n * sizeof *grads[0]);
            assert_memory_equal(acc[0], acc[1], n * sizeof *acc[0]);
            assert_memory_equal(es[0], es[1], (size_t)p.ns * sizeof es[0][0]);
            for (int i = 0; i < 2; i++) { shardgrad_free(g[i]); free(grads[i]); free(acc[i]); }
            free(far);
            free((void *)rows);
            free_problem(&p);
        }
    }
    shardgrad_set_variant(SHARDGRAD_GENERIC);
}

/* The hidden split (shardgrad_forward_rows .. shardgrad_backward, docs/
 * design-hidden-split.md): two workspaces for the halves [0, H/2) and
 * [H/2, H) of the hidden units, the second continuing the first's z2
 * lanes and handing its dZ2 back, give the whole model's losses, every
 * fixed-point sum at its place in the whole vector (b2 in both), and as
 * shard exponents the whole model's when maximised over the halves; and
 * the pieces on the whole model give forward_backward's bits.  Row mode
 * and per-shard mode, sigmoid and softmax, every variant. */
static void test_hidden_split(void **state)
{
    (void)state;
    static const int hs[][4] = {{4, 64, 1, 2}, {23, 128, 1, 2}, {9, 32, 3, 4}, {23, 128, 1, 16}, {13, 64, 3, 7}};
    for (int v = SHARDGRAD_GENERIC; v < SHARDGRAD_N_VARIANTS; v++) {
        if (shardgrad_set_variant(v) != 0) continue;
        for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
            problem p = make_problem(hs[k][0], hs[k][1], hs[k][2], 5, hs[k][3], 81 + k);
            const int H = p.s.n_hidden, C = p.s.n_out, half = H / 2;
            const size_t n = p.L.n, R = (size_t)p.ns * (size_t)p.m, nl = R * (size_t)C * 16;
            double loss[3][5];
            int es[4][5];
            int64_t *acc[4];
            float *lanes = xcalloc(nl, sizeof *lanes), *bp[2];
            const float **rows = xcalloc(R, sizeof *rows);
            shardgrad *full = shardgrad_new(&p.s, p.ns, p.m), *gb[2];
            mlp_shape sb = p.s;
            int e = EXACTSUM_EXP_ZERO, hr;
            assert_non_null(full);
            hr = headroom_of(full, p.ns);
            for (size_t r = 0; r < R; r++) rows[r] = p.x + r * (size_t)p.s.n_in;
            for (int i = 0; i < 4; i++) acc[i] = xcalloc(n, sizeof *acc[i]);
            /* the whole model, with the exact maximum exponent */
            shardgrad_forward_backward(full, p.params, p.x, p.y, p.ns, loss[0]);
            shardgrad_sum(full, 0, p.s.n_in, 0, hr, acc[0], es[0]);
            for (int s = 0; s < p.ns; s++) e = es[0][s] > e ? es[0][s] : e;
            shardgrad_sum(full, 0, p.s.n_in, e, hr, acc[0], es[0]);
            /* the pieces on the whole model */
            shardgrad_forward_rows(full, p.params, rows, p.ns);
            shardgrad_z2_lanes(full, lanes);
            shardgrad_output(full, p.params, lanes, p.y, loss[1]);
            shardgrad_backward(full);
            shardgrad_sum(full, 0, p.s.n_in, e, hr, acc[1], es[1]);
            assert_memory_equal(loss[0], loss[1], (size_t)p.ns * sizeof loss[0][0]);
            assert_memory_equal(acc[0], acc[1], n * sizeof *acc[0]);
            assert_memory_equal(es[0], es[1], (size_t)p.ns * sizeof es[0][0]);
            /* two halves */
            sb.n_hidden = half;
            memset(lanes, 0, nl * sizeof *lanes);
            for (int b = 0; b < 2; b++) {
                bp[b] = xcalloc(mlp_layout_of(&sb).n, sizeof *bp[b]);
                mlp_block_get(&p.s, b * half, (b + 1) * half, p.params, bp[b]);
                gb[b] = shardgrad_new(&sb, p.ns, p.m);
                assert_non_null(gb[b]);
                assert_int_equal(headroom_of(gb[b], p.ns), hr);
                shardgrad_forward_rows(gb[b], bp[b], rows, p.ns);
            }
            shardgrad_z2_lanes(gb[0], lanes);
            shardgrad_z2_lanes(gb[1], lanes);
            shardgrad_output(gb[1], bp[1], lanes, p.y, loss[2]);
            assert_memory_equal(loss[0], loss[2], (size_t)p.ns * sizeof loss[0][0]);
            memcpy(shardgrad_dz2(gb[0]), shardgrad_dz2(gb[1]), R * (size_t)C * sizeof(float));
            for (int b = 0; b < 2; b++) {
                const size_t nb = mlp_layout_of(&sb).n;
                shardgrad_backward(gb[b]);
                shardgrad_sum(gb[b], 0, p.s.n_in, e, hr, acc[2 + b], es[2 + b]);
                for (size_t i = 0; i < nb; i++)
                    if (acc[2 + b][i] != acc[0][mlp_block_index(&p.s, b * half, (b + 1) * half, i)])
                        fail_msg("variant %d shape %zu half %d: element %zu of %zu differs", v, k, b, i, nb);
            }
            for (int s = 0; s < p.ns; s++) assert_int_equal(es[0][s], es[2][s] > es[3][s] ? es[2][s] : es[3][s]);
            for (int b = 0; b < 2; b++) { shardgrad_free(gb[b]); free(bp[b]); }
            for (int i = 0; i < 4; i++) free(acc[i]);
            shardgrad_free(full);
            free(lanes);
            free((void *)rows);
            free_problem(&p);
        }
    }
    shardgrad_set_variant(SHARDGRAD_GENERIC);
}

static void test_new_preconditions(void **state)
{
    (void)state;
    mlp_shape ok = {3, 4, 1, 0}, bad = {3, 4, 2, 0};
    assert_null(shardgrad_new(&bad, 2, 2));
    assert_null(shardgrad_new(&ok, 0, 2));
    assert_null(shardgrad_new(&ok, 2, 0));
    shardgrad_free(NULL);
    assert_int_equal(shardgrad_set_variant(42), -1);
    assert_int_equal(shardgrad_set_variant(-1), -1);
    assert_string_equal(shardgrad_variant_name(SHARDGRAD_GENERIC), "generic");
    assert_string_equal(shardgrad_variant_name(SHARDGRAD_AVX2), "avx2");
    assert_string_equal(shardgrad_variant_name(SHARDGRAD_AVX512), "avx512");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_matches_f64),
        cmocka_unit_test(test_fused_equals_exactsum),
        cmocka_unit_test(test_shard_independent_of_batch),
        cmocka_unit_test(test_variants_agree),
        cmocka_unit_test(test_prediction_and_nonfinite),
        cmocka_unit_test(test_rows_by_pointer),
        cmocka_unit_test(test_hidden_split),
        cmocka_unit_test(test_new_preconditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
