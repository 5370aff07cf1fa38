/** \file shardgrad.c
 *  Forward/backward of a step's rows and the fused per-shard fixed-point
 *  reduction of the weight gradients (see shardgrad.h for the arithmetic
 *  contract).
 *
 *  Why not BLAS here: a step of 16 virtual shards at batch 32 is 16 GEMMs
 *  of 2 rows per layer, where call overhead and the packing of a 2-row
 *  operand dominate; and the per-shard gW1 (F x H floats per shard) would
 *  be written to memory only to be read back by the fixed-point
 *  conversion.  These kernels instead (1) run the forward pass of all the
 *  rank's rows as one pass whose per-row arithmetic is fixed (so batching
 *  shards together cannot change a shard's bits), and (2) compute gW1 in
 *  register tiles of 4 features x 32 hidden units, shard after shard, and
 *  convert each tile to fixed point while it is still in registers, with
 *  int64 accumulators that stay in registers across a block of shards.
 *  With at most SG_ROWQ_MAX rows per shard (row mode, shardgrad.h) gW1 is
 *  instead summed row by row from exact double products, one FMA per row
 *  and value, which is cheaper than a per-shard conversion there.
 *
 *  Two variants compute the same bits: portable C (fmaf, loops in the
 *  documented order) and AVX-512F intrinsics.  They can agree bit for bit
 *  because every value is either a chain of fused multiply-adds in a fixed
 *  order, a single IEEE operation, or integer arithmetic; vectorising only
 *  runs independent chains side by side.  Both are tested against each
 *  other.
 *
 *  Fixed point: q = floor(g 2^S), with S = exactsum_scale(E, headroom), so
 *  |g| < 2^E gives |q| <= 2^(51-headroom) and any sum of 2^headroom of
 *  them stays within 2^51, as in exactsum.h (which rounds to nearest
 *  instead; floor is what a round-toward-zero FMA gives cheaply, see
 *  sg_gw1_tile).  g 2^S is exact in double (a float times a normal power
 *  of two that cannot overflow or underflow for the exponents the caller
 *  allows), so the only rounding is the floor, a pure function of (g, S):
 *  the integer sum over shards is the same in any order and any split.
 *  Integers are added with wrap-around (uint64) arithmetic, so a wrong
 *  exponent (detected through es) gives garbage but never undefined
 *  behaviour.
 */
#include "riskgrid/shardgrad.h"

#include "riskgrid/exactsum.h"  /* EXACTSUM_EXP_ZERO, exactsum_scale */
#include "riskgrid/mem.h"

#include <assert.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SG_HAVE_AVX512 1
#include <immintrin.h>
#define SG_AVX512 __attribute__((target("avx512f,avx512dq,fma")))
#else
#define SG_HAVE_AVX512 0
#endif
#define SG_INLINE static inline __attribute__((always_inline))

/* Runs RUN(n, at) over [begin, end) in tiles of 6 and one last tile of the
 * remaining 1-5, with n a constant in every call so that the always-inline
 * tile functions are specialised (their register arrays hold 6). */
#define SG_TILES6(begin, end, RUN)                          \
    do {                                                    \
        int at_ = (begin);                                  \
        for (; at_ + 6 <= (end); at_ += 6) RUN(6, at_);     \
        switch ((end) - at_) {                              \
        case 5: RUN(5, at_); break;                         \
        case 4: RUN(4, at_); break;                         \
        case 3: RUN(3, at_); break;                         \
        case 2: RUN(2, at_); break;                         \
        case 1: RUN(1, at_); break;                         \
        default: break;                                     \
        }                                                   \
    } while (0)

/* The portable kernels are also compiled for x86-64-v3 (AVX2 + FMA) and
 * picked at load time where the CPU has it (and not AVX-512): fmaf is then
 * one instruction instead of a libm call and the inner loops over
 * independent elements vectorise; every element's chain of operations is
 * unchanged, so the bits are too.  Sanitizer builds keep the plain version
 * (ifunc resolvers run before the sanitizer runtime is ready). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SG_CLONES
#endif

#if SG_HAVE_AVX512
/* a * b + t rounded toward zero, per lane.  Without optimisation GCC's
 * immintrin.h makes _mm512_fmadd_round_pd (and _mm512_range_ps below) a
 * macro that passes the all-ones mask as the int -1 to an unsigned
 * parameter, which -Wsign-conversion rejects inside the system header's
 * expansion; the pragma confines the exemption to these wrappers. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
SG_INLINE SG_AVX512 __m512d sg_fma_rz(__m512d a, __m512d b, __m512d t)
{
    return _mm512_fmadd_round_pd(a, b, t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
}

/* max(|a|, |b|) per lane with the sign cleared (vrangeps, imm 0x0b); the
 * same macro form at -O0.  Drops a NaN next to a number: see sg_gw1_tile. */
SG_INLINE SG_AVX512 __m512 sg_absmax(__m512 a, __m512 b)
{
    return _mm512_range_ps(a, b, 0x0b);
}
#pragma GCC diagnostic pop
#endif

#define SG_LANES 16                 /* lanes of the z2 dot products */
/* Row mode up to this many rows per shard: the W1 block is then summed
 * with one double FMA per row and value (B F H / 8 vector FMAs per step),
 * which beats the per-shard form (B F H / 16 float FMAs plus about 7/16
 * vector operations per shard and value for the conversion) up to about
 * 5 rows per shard.  kernel_bench, sum + forward/backward in us per step,
 * row mode vs per-shard mode (16 shards): MNIST 784-128-10 at 4 rows 332
 * vs 365, 5 rows 391 vs 422, 6 rows 477 vs 487, 8 rows 687 vs 603; CREDIT
 * 23-128-1 at 5 rows 17.7 vs 17.7, 6 rows 21.3 vs 20.5. */
#ifndef SG_ROWQ_MAX
#define SG_ROWQ_MAX 5
#endif
#define SG_R_NJ 4                   /* 8-double vectors of hidden units per row-mode tile */
#define SG_R_NF 6                   /* features per row-mode tile (SG_TILES6) */
#define SG_MAGIC 0x1.8p52           /* 1.5 * 2^52 */
#define SG_MAGIC_BITS 0x4338000000000000ULL

struct shardgrad {
    mlp_shape shape;
    mlp_layout L;
    int max_shards, rows;
    int n_shards;        /* of the last forward_backward */
    const float *const *xr; /* its rows, one pointer per row (caller-owned rows) */
    const float **xr_own;   /* [max_shards*rows]: pointers into a contiguous x */
    float *a1;           /* relu(Z1) [R*H] */
    float *d1;           /* dZ1 [R*H] */
    float *p;            /* P, then dZ2 [R*C] */
    float *w2t;          /* W2 transposed [C*H] */
    float *small;        /* per shard: gradient of b1, W2, b2 [max_shards*nsmall] */
    size_t nsmall;       /* H + H*C + C = L.n - L.b1 */
    float *tmp;          /* [H] */
    double *dacc;        /* [max(H, C)] */
    uint32_t *vmax;      /* per shard: lane-wise max |gW1| bits [max_shards*16] */
    /* row mode (rows <= SG_ROWQ_MAX): the W1 addends are the rows' products */
    int rowq;
    int hp;              /* H rounded up to a whole gW1 row tile (SG_R_NJ vectors) */
    double *xd;          /* the step's rows in double [R*F] */
    double *dd;          /* dZ1 2^S in double, rows padded with zeros to hp [R*hp] */
    int *res;            /* per row: exponent of max|x| max|dZ1| [R] */
    /* the sum in progress (shardgrad_sum_begin) */
    int sum_add;         /* 2^scale is a normal double: convert */
    double sum_fs;       /* 2^scale */
    const char *pf_next, *pf_end; /* shardgrad_sum_prefetch: lines still to read */
};

/* ------------------------------------------------------------------ */
/* variant selection                                                   */

static int sg_variant = -1;

static int sg_cpu_has_avx512(void)
{
#if SG_HAVE_AVX512
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int sg_cpu_has_avx2(void)
{
#if SG_HAVE_AVX512
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int sg_cpu_can(int v)
{
    return v == SHARDGRAD_GENERIC || (v == SHARDGRAD_AVX512 && sg_cpu_has_avx512()) ||
           (v == SHARDGRAD_AVX2 && sg_cpu_has_avx2());
}

int shardgrad_variant(void)
{
    if (sg_variant < 0) {
        const char *env = getenv("RISKGRID_KERNELS");
        int want = -1;
        for (int v = 0; v < SHARDGRAD_N_VARIANTS && env != NULL; v++)
            if (strcmp(env, shardgrad_variant_name(v)) == 0) want = v;
        if (want >= 0 && sg_cpu_can(want)) sg_variant = want;
        else sg_variant = sg_cpu_can(SHARDGRAD_AVX512) ? SHARDGRAD_AVX512
                        : sg_cpu_can(SHARDGRAD_AVX2) ? SHARDGRAD_AVX2 : SHARDGRAD_GENERIC;
    }
    return sg_variant;
}

int shardgrad_set_variant(int v)
{
    if (v < 0 || v >= SHARDGRAD_N_VARIANTS || !sg_cpu_can(v)) return -1;
    sg_variant = v;
    return 0;
}

const char *shardgrad_variant_name(int v)
{
    return v == SHARDGRAD_AVX512 ? "avx512" : v == SHARDGRAD_AVX2 ? "avx2" : "generic";
}

/* ------------------------------------------------------------------ */
/* workspace                                                           */

void shardgrad_free(shardgrad *g)
{
    if (g == NULL) return;
    free(g->a1); free(g->d1); free(g->p); free(g->w2t); free(g->small);
    free(g->tmp); free(g->dacc); free(g->vmax); free(g->xr_own);
    free(g->xd); free(g->dd); free(g->res);
    free(g);
}

shardgrad *shardgrad_new(const mlp_shape *s, int max_shards, int rows)
{
    shardgrad *g = NULL;
    mlp_layout L = mlp_layout_of(s);
    if (L.n == 0 || max_shards < 1 || rows < 1) return NULL;
    const size_t F = (size_t)s->n_in, H = (size_t)s->n_hidden, C = (size_t)s->n_out;
    const size_t R = (size_t)max_shards * (size_t)rows;
    const size_t hp = (H + 8 * SG_R_NJ - 1) / (8 * SG_R_NJ) * (8 * SG_R_NJ);
    if (R / (size_t)rows != (size_t)max_shards || H > SIZE_MAX / sizeof(float) / R ||
        C > SIZE_MAX / sizeof(float) / R || F > SIZE_MAX / sizeof(double) / R || hp > SIZE_MAX / sizeof(double) / R ||
        hp > INT_MAX)
        return NULL;
    g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    g->shape = *s;
    g->L = L;
    g->max_shards = max_shards;
    g->rows = rows;
    g->nsmall = L.n - L.b1;
    g->a1 = mem_alloc64(R * H, sizeof *g->a1, 0);
    g->d1 = mem_alloc64(R * H, sizeof *g->d1, 0);
    g->p = mem_alloc64(R * C, sizeof *g->p, 0);
    g->w2t = mem_alloc64(C * H, sizeof *g->w2t, 0);
    g->small = mem_alloc64((size_t)max_shards * g->nsmall, sizeof *g->small, 0);
    g->tmp = malloc(H * sizeof *g->tmp);
    g->dacc = malloc((H > C ? H : C) * sizeof *g->dacc);
    g->vmax = mem_alloc64((size_t)max_shards * SG_LANES, sizeof *g->vmax, 0);
    g->xr_own = malloc(R * sizeof *g->xr_own);
    g->rowq = rows <= SG_ROWQ_MAX;
    g->hp = (int)hp;
    if (g->rowq) {
        g->xd = mem_alloc64(R * F, sizeof *g->xd, 0);
        g->dd = mem_alloc64(R * hp, sizeof *g->dd, 1);  /* the padding stays zero */
        g->res = malloc(R * sizeof *g->res);
    }
    if (!g->a1 || !g->d1 || !g->p || !g->w2t || !g->small || !g->tmp || !g->dacc || !g->vmax || !g->xr_own ||
        (g->rowq && (!g->xd || !g->dd || !g->res))) {
        shardgrad_free(g);
        return NULL;
    }
    return g;
}

int shardgrad_row_mode(const shardgrad *g)
{
    return g->rowq;
}

int shardgrad_addends(const shardgrad *g)
{
    return g->rowq ? g->rows : 1;
}

/* ------------------------------------------------------------------ */
/* portable kernels (also inlined into the AVX-512 variant)            */

/* a1[R][H] = relu(b1 + x W1), each element one fma chain over f. */
SG_INLINE void sg_z1_generic(const float *const *x, int R, int F, const float *W1, const float *b1, int H, float *a1)
{
    for (int r = 0; r < R; r++) {
        float *z = a1 + (size_t)r * (size_t)H;
        const float *xr = x[r];
        for (int j = 0; j < H; j++) z[j] = b1[j];
        for (int f = 0; f < F; f++) {
            const float xv = xr[f], *w = W1 + (size_t)f * (size_t)H;
            for (int j = 0; j < H; j++) z[j] = fmaf(xv, w[j], z[j]);
        }
        for (int j = 0; j < H; j++) z[j] = z[j] < 0 ? 0.0f : z[j];  /* NaN and -0 kept */
    }
}

/* The z2 dot product's lane chains, continued: p[l] = fma chain over h =
 * l, l+16, ... (h < H) of a[h] w[h], starting from the p[l] given. */
SG_INLINE void sg_chain16(float *p, const float *a, const float *w, int H)
{
    for (int h0 = 0; h0 < H; h0 += SG_LANES)
        for (int l = 0; l < SG_LANES; l++) {
            /* lanes past H multiply 0 by 0, as the masked vector loads do */
            const float av = h0 + l < H ? a[h0 + l] : 0.0f, wv = h0 + l < H ? w[h0 + l] : 0.0f;
            p[l] = fmaf(av, wv, p[l]);
        }
}

/* The fixed tree over the 16 lanes (shardgrad.h). */
SG_INLINE float sg_tree16(const float *p)
{
    float q[8], r[4], t[2];
    for (int l = 0; l < 8; l++) q[l] = p[l] + p[l + 8];
    for (int l = 0; l < 4; l++) r[l] = q[l] + q[l + 4];
    for (int l = 0; l < 2; l++) t[l] = r[l] + r[l + 2];
    return t[0] + t[1];
}

/* The z2 dot product: lane chains from 0, then the fixed tree. */
SG_INLINE float sg_dot16(const float *a, const float *w, int H)
{
    float p[SG_LANES] = {0};
    sg_chain16(p, a, w, H);
    return sg_tree16(p);
}

/* The fixed-point value of one addend, floor(p) of p = v 2^S, as
 * wrap-around bits (see the file comment; no undefined behaviour for any p). */
SG_INLINE uint64_t sg_floor_bits(double p)
{
    /* a union pun (defined in C11), which GCC vectorises where memcpy
     * into an integer kept the loop scalar */
    const union { double d; uint64_t u; } t = {.d = floor(p) + SG_MAGIC};
    return t.u - SG_MAGIC_BITS;
}

SG_INLINE uint64_t sg_fixed_bits(float v, double fs)
{
    return sg_floor_bits((double)v * fs);
}

SG_INLINE uint32_t sg_abs_bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b & 0x7fffffffu;
}

/* Features [fb, fe) of gW1 of every shard: vmax[s*16] lane 0 is raised to
 * the max |.| bits; acc[f*H + j] = sum over shards of q (or 0 without
 * add). */
SG_CLONES static void sg_gw1_generic(const shardgrad *g, int fb, int fe, int add, double fs, int64_t *acc)
{
    const int H = g->shape.n_hidden, m = g->rows;
    float *tmp = g->tmp;
    memset(acc + (size_t)fb * (size_t)H, 0, (size_t)(fe - fb) * (size_t)H * sizeof *acc);
    for (int s = 0; s < g->n_shards; s++) {
        uint32_t mb = g->vmax[(size_t)s * SG_LANES];
        for (int f = fb; f < fe; f++) {
            for (int j = 0; j < H; j++) tmp[j] = 0.0f;
            for (int r = s * m; r < s * m + m; r++) {
                const float xv = g->xr[r][f];
                const float *d = g->d1 + (size_t)r * (size_t)H;
                for (int j = 0; j < H; j++) tmp[j] = fmaf(xv, d[j], tmp[j]);
            }
            for (int j = 0; j < H; j++) {
                uint32_t b = sg_abs_bits(tmp[j]);
                mb = b > mb ? b : mb;
            }
            if (add) {
                int64_t *a = acc + (size_t)f * (size_t)H;
                for (int j = 0; j < H; j++) a[j] = (int64_t)((uint64_t)a[j] + sg_fixed_bits(tmp[j], fs));
            }
        }
        g->vmax[(size_t)s * SG_LANES] = mb;
    }
}

/* The b1, W2, b2 blocks of every shard: acc[i] = sum_s q(small_s[i]),
 * vmax[s*16] lane 0 raised to their max |.| bits. */
SG_CLONES static void sg_small_generic(const shardgrad *g, int add, double fs, int64_t *acc)
{
    memset(acc, 0, g->nsmall * sizeof *acc);
    for (int s = 0; s < g->n_shards; s++) {
        const float *sm = g->small + (size_t)s * g->nsmall;
        uint32_t mb = g->vmax[(size_t)s * SG_LANES];
        for (size_t i = 0; i < g->nsmall; i++) {
            uint32_t b = sg_abs_bits(sm[i]);
            mb = b > mb ? b : mb;
        }
        g->vmax[(size_t)s * SG_LANES] = mb;
        if (add)
            for (size_t i = 0; i < g->nsmall; i++) acc[i] = (int64_t)((uint64_t)acc[i] + sg_fixed_bits(sm[i], fs));
    }
}

/* Row mode.  The exponent of max|x| max|dZ1| of a row from their |.|
 * bits: the smallest e with the product < 2^e (a product of two floats is
 * exact in double), so every x[f] dZ1[j] of the row is below 2^e;
 * INT32_MAX if either is NaN or infinite (then some product is NaN or
 * infinite, Inf * 0 included), EXACTSUM_EXP_ZERO if either is 0. */
static int sg_row_exponent(uint32_t xb, uint32_t db)
{
    float xf, df;
    int e = 0;
    if (xb >= 0x7f800000u || db >= 0x7f800000u) return INT32_MAX;
    if (xb == 0 || db == 0) return EXACTSUM_EXP_ZERO;
    memcpy(&xf, &xb, sizeof xf);
    memcpy(&df, &db, sizeof df);
    (void)frexp((double)xf * (double)df, &e);
    return e;
}

/* Row mode, after the backward pass: xd = the rows in double, res[r]. */
SG_CLONES static void sg_rows_prep_generic(shardgrad *g)
{
    const int F = g->shape.n_in, H = g->shape.n_hidden, R = g->n_shards * g->rows;
    for (int r = 0; r < R; r++) {
        const float *x = g->xr[r], *d = g->d1 + (size_t)r * (size_t)H;
        double *xd = g->xd + (size_t)r * (size_t)F;
        uint32_t xb = 0, db = 0;
        for (int f = 0; f < F; f++) {
            const uint32_t b = sg_abs_bits(x[f]);
            xd[f] = (double)x[f];
            xb = b > xb ? b : xb;
        }
        for (int j = 0; j < H; j++) {
            const uint32_t b = sg_abs_bits(d[j]);
            db = b > db ? b : db;
        }
        g->res[r] = sg_row_exponent(xb, db);
    }
}

/* Row mode: dd[r][j] = dZ1[r][j] 2^S in double (exact: see shardgrad_sum). */
SG_CLONES static void sg_dd_generic(shardgrad *g, double fs)
{
    const int H = g->shape.n_hidden, R = g->n_shards * g->rows;
    for (int r = 0; r < R; r++)
        for (int j = 0; j < H; j++)
            g->dd[(size_t)r * (size_t)g->hp + (size_t)j] = (double)g->d1[(size_t)r * (size_t)H + (size_t)j] * fs;
}

/* Row mode, features [fb, fe): acc[f*H + j] = sum over all the step's rows
 * of floor(x[r][f] dZ1[r][j] 2^S) (shardgrad_sum zeroes the block itself
 * when nothing is converted).  x dd is exact in
 * double (two 24-bit significands), so floor is the only rounding. */
SG_CLONES static void sg_gw1_rows_generic(const shardgrad *g, int fb, int fe, int64_t *acc)
{
    const int F = g->shape.n_in, H = g->shape.n_hidden, R = g->n_shards * g->rows;
    memset(acc + (size_t)fb * (size_t)H, 0, (size_t)(fe - fb) * (size_t)H * sizeof *acc);
    for (int r = 0; r < R; r++) {
        const double *xd = g->xd + (size_t)r * (size_t)F, *d = g->dd + (size_t)r * (size_t)g->hp;
        for (int f = fb; f < fe; f++) {
            uint64_t *a = (uint64_t *)(acc + (size_t)f * (size_t)H);  /* wrap-around adds */
            const double xv = xd[f];
            for (int j = 0; j < H; j++) a[j] += sg_floor_bits(xv * d[j]);
        }
    }
}

SG_CLONES static void sg_back_generic(shardgrad *g);

/* From z2 in g->p: the output map, each shard's loss (rows in order),
 * then dZ2 in g->p. */
static void sg_output_tail(shardgrad *g, const int32_t *y, double *loss)
{
    const mlp_shape *sh = &g->shape;
    const int C = sh->n_out, m = g->rows, ns = g->n_shards, R = ns * m;
    mlp_output(sh, g->p, R);
    for (int s = 0; s < ns; s++)
        loss[s] = mlp_loss_rows(sh, g->p + (size_t)s * (size_t)m * (size_t)C, y + (size_t)s * (size_t)m, m);
    mlp_output_grad(sh, g->p, y, R);
}

/* Everything of forward_backward except z1 (sg_rest_avx512 is the same
 * arithmetic with vectors). */
SG_CLONES static void sg_rest(shardgrad *g, const float *params, const int32_t *y, double *loss)
{
    const mlp_shape *sh = &g->shape;
    const int H = sh->n_hidden, C = sh->n_out, m = g->rows, ns = g->n_shards, R = ns * m;
    const float *b2 = params + g->L.b2;

    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            g->p[(size_t)r * (size_t)C + (size_t)c] =
                sg_dot16(g->a1 + (size_t)r * (size_t)H, g->w2t + (size_t)c * (size_t)H, H) + b2[c];
    sg_output_tail(g, y, loss);
    sg_back_generic(g);
}

/* The backward pass from dZ2 in g->p: dZ1, then per shard gb1, gW2, gb2. */
SG_CLONES static void sg_back_generic(shardgrad *g)
{
    const mlp_shape *sh = &g->shape;
    const int H = sh->n_hidden, C = sh->n_out, m = g->rows, ns = g->n_shards, R = ns * m;

    /* dZ1 = (dZ2 W2^T) .* [a1 > 0] */
    for (int r = 0; r < R; r++) {
        float *d = g->d1 + (size_t)r * (size_t)H;
        const float *a = g->a1 + (size_t)r * (size_t)H;
        for (int h = 0; h < H; h++) d[h] = 0.0f;
        for (int c = 0; c < C; c++) {
            const float dz = g->p[(size_t)r * (size_t)C + (size_t)c], *wt = g->w2t + (size_t)c * (size_t)H;
            for (int h = 0; h < H; h++) d[h] = fmaf(dz, wt[h], d[h]);
        }
        for (int h = 0; h < H; h++) d[h] = a[h] > 0 ? d[h] : 0.0f;
    }

    /* per shard: gb1, gW2, gb2 (layout of params from L.b1) */
    for (int s = 0; s < ns; s++) {
        float *gb1 = g->small + (size_t)s * g->nsmall, *gw2 = gb1 + H, *gb2 = gw2 + (size_t)H * (size_t)C;
        const int r0 = s * m;
        for (int h = 0; h < H; h++) g->dacc[h] = 0.0;
        for (int r = r0; r < r0 + m; r++) {
            const float *d = g->d1 + (size_t)r * (size_t)H;
            for (int h = 0; h < H; h++) g->dacc[h] += (double)d[h];
        }
        for (int h = 0; h < H; h++) gb1[h] = (float)g->dacc[h];
        for (int c = 0; c < C; c++) {
            for (int h = 0; h < H; h++) g->tmp[h] = 0.0f;
            for (int r = r0; r < r0 + m; r++) {
                const float dz = g->p[(size_t)r * (size_t)C + (size_t)c], *a = g->a1 + (size_t)r * (size_t)H;
                for (int h = 0; h < H; h++) g->tmp[h] = fmaf(a[h], dz, g->tmp[h]);
            }
            for (int h = 0; h < H; h++) gw2[(size_t)h * (size_t)C + (size_t)c] = g->tmp[h];
        }
        for (int c = 0; c < C; c++) g->dacc[c] = 0.0;
        for (int r = r0; r < r0 + m; r++)
            for (int c = 0; c < C; c++) g->dacc[c] += (double)g->p[(size_t)r * (size_t)C + (size_t)c];
        for (int c = 0; c < C; c++) gb2[c] = (float)g->dacc[c];
    }
}

/* z1 of the rows set up by sg_setup (g->xr). */
SG_CLONES static void sg_z1_only_generic(shardgrad *g, const float *params)
{
    sg_z1_generic(g->xr, g->n_shards * g->rows, g->shape.n_in, params + g->L.w1, params + g->L.b1,
                  g->shape.n_hidden, g->a1);
}

SG_CLONES static void sg_fb_generic(shardgrad *g, const float *params, const int32_t *y, double *loss)
{
    sg_z1_only_generic(g, params);
    sg_rest(g, params, y, loss);
}

/* The hidden split's z2 piece (shardgrad_z2_lanes). */
SG_CLONES static void sg_lanes_generic(const shardgrad *g, float *lanes)
{
    const int H = g->shape.n_hidden, C = g->shape.n_out, R = g->n_shards * g->rows;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            sg_chain16(lanes + ((size_t)r * (size_t)C + (size_t)c) * SG_LANES, g->a1 + (size_t)r * (size_t)H,
                       g->w2t + (size_t)c * (size_t)H, H);
}

/* ------------------------------------------------------------------ */
/* AVX-512 kernels                                                     */

#if SG_HAVE_AVX512
/* Mask of the valid lanes of the 16-float vector starting at column c0 of
 * a row of H columns. */
static inline __mmask16 sg_mask(int c0, int H)
{
    int left = H - c0;
    if (left >= 16) return (__mmask16)0xffff;
    if (left <= 0) return 0;
    return (__mmask16)((1u << left) - 1u);
}

/* A 16-float load under mask mk: unmasked when all lanes are valid (a
 * zero-masked load costs a vector ALU op besides the load; the branch is
 * taken the same way except at a row's tail). */
SG_INLINE SG_AVX512 __m512 sg_load(__mmask16 mk, const float *p)
{
    return mk == (__mmask16)0xffff ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mk, p);
}

/* One tile of z1: MR rows x 64 columns from column j0.  pf[0..npf) are
 * the next tile's rows, prefetched to L2 one line per 16 features while
 * this tile runs: rows read in place come from memory in a random order,
 * and without it every tile of the first column pass started with
 * misses on all its rows (MNIST b256, five sets of 8-20 alternating
 * pairs, bench/ab.sh: median time ratios with / without 0.965-0.992 at
 * 1 rank and 0.978-0.999 at 2 ranks, about 1%).  A prefetch changes no
 * value. */
SG_INLINE SG_AVX512 void sg_z1_tile(const int MR, const int full, const float *const *x, int F, const float *W1,
                                    const float *b1, int H, int j0, const __mmask16 *mk, float *a1,
                                    const float *const *pf, int npf)
{
    __m512 acc[6][4];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) acc[i][k] = _mm512_maskz_loadu_ps(mk[k], b1 + j0 + 16 * k);
    for (int f = 0; f < F; f++) {
        const float *w = W1 + (size_t)f * (size_t)H + (size_t)j0;
        if ((f & 15) == 0)
            for (int i = 0; i < npf; i++) _mm_prefetch((const char *)(pf[i] + f), _MM_HINT_T1);
        /* full: no masks (a masked load costs a vector ALU op) */
        const __m512 w0 = full ? _mm512_loadu_ps(w) : _mm512_maskz_loadu_ps(mk[0], w);
        const __m512 w1 = full ? _mm512_loadu_ps(w + 16) : _mm512_maskz_loadu_ps(mk[1], w + 16);
        const __m512 w2 = full ? _mm512_loadu_ps(w + 32) : _mm512_maskz_loadu_ps(mk[2], w + 32);
        const __m512 w3 = full ? _mm512_loadu_ps(w + 48) : _mm512_maskz_loadu_ps(mk[3], w + 48);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            const __m512 xb = _mm512_set1_ps(x[i][f]);
            acc[i][0] = _mm512_fmadd_ps(xb, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(xb, w1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(xb, w2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(xb, w3, acc[i][3]);
        }
    }
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++)  /* max(0, z): returns z for NaN and -0, like z < 0 ? 0 : z */
            _mm512_mask_storeu_ps(a1 + (size_t)i * (size_t)H + (size_t)(j0 + 16 * k), mk[k],
                                  _mm512_max_ps(zero, acc[i][k]));
}

/* the first column pass prefetches the next tile's rows (the later ones
 * find them in L2), when they are long: the trainer reads rows of more
 * than 256 bytes in place and copies shorter ones together, which are
 * warm by then (HIGGS, 28 features: within noise with and without) */
#define SG_Z1_RUN(mr, r0)                                                                         \
    do {                                                                                          \
        const float *const *xr_ = x + (r0);                                                       \
        float *ar_ = a1 + (size_t)(r0) * (size_t)H;                                               \
        const int npf_ = j0 > 0 || F <= 64 ? 0 : R - (r0) - (mr) < 6 ? R - (r0) - (mr) : 6;        \
        if (full) sg_z1_tile(mr, 1, xr_, F, W1, b1, H, j0, mk, ar_, xr_ + (mr), npf_);            \
        else sg_z1_tile(mr, 0, xr_, F, W1, b1, H, j0, mk, ar_, xr_ + (mr), npf_);                 \
    } while (0)
static SG_AVX512 void sg_z1_avx512(const float *const *x, int R, int F, const float *W1, const float *b1, int H, float *a1)
{
    for (int j0 = 0; j0 < H; j0 += 64) {
        __mmask16 mk[4];
        const int full = j0 + 64 <= H;
        for (int k = 0; k < 4; k++) mk[k] = sg_mask(j0 + 16 * k, H);
        SG_TILES6(0, R, SG_Z1_RUN);
    }
}
#undef SG_Z1_RUN

/* gW1 tile: NF features from f0 x 16*SG_GW1_NJ hidden units from j0, every shard.
 * T = M + sum_s floor(v_s 2^S) is carried in doubles: an FMA rounded
 * toward zero onto T in [2^52, 2^53) (spacing 1) is floor(T + v 2^S) =
 * T + floor(v 2^S) exactly, because T is an integer; so the chain equals
 * the per-value integer sum in any order (see the file comment). */
#ifndef SG_GW1_NF
#define SG_GW1_NF 4   /* features per tile */
#endif
#ifndef SG_GW1_NJ
#define SG_GW1_NJ 2   /* 16-wide vectors of hidden units per tile */
#endif
SG_INLINE SG_AVX512 int sg_gw1_tile(const int NF, const int full, const shardgrad *g, int f0, int j0, int add,
                                    int exact, double fs, int64_t *acc, int s0, int s1)
{
    const int fast = add && !exact;
    const int H = g->shape.n_hidden, m = g->rows, first = s0 == 0, last = s1 == g->n_shards;
    const __m512d fsv = _mm512_set1_pd(fs);
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    __mmask16 mk[SG_GW1_NJ];
    __m512d t[SG_GW1_NF][2 * SG_GW1_NJ];
#pragma GCC unroll 4
    for (int k = 0; k < SG_GW1_NJ; k++) mk[k] = sg_mask(j0 + 16 * k, H);
    /* shards [s0, s1): T starts at M (first block) or from the T bits an
     * earlier block left in acc, and is left there raw unless this is the
     * last block */
#pragma GCC unroll 8
    for (int i = 0; i < NF; i++)
#pragma GCC unroll 8
        for (int k = 0; k < 2 * SG_GW1_NJ; k++) {
            const __mmask16 mkk = mk[k / 2];
            const __mmask8 m8 = (__mmask8)((k & 1) ? (mkk >> 8) : (mkk & 0xff));
            t[i][k] = first ? _mm512_set1_pd(SG_MAGIC)
                   : full ? _mm512_loadu_pd(acc + (size_t)(f0 + i) * (size_t)H + (size_t)(j0 + 8 * k))
                          : _mm512_maskz_loadu_pd(m8, acc + (size_t)(f0 + i) * (size_t)H + (size_t)(j0 + 8 * k));
        }
    for (int s = s0; s < s1; s++) {
        __m512 v[SG_GW1_NF][SG_GW1_NJ];
#pragma GCC unroll 8
        for (int i = 0; i < NF; i++)
#pragma GCC unroll 4
            for (int k = 0; k < SG_GW1_NJ; k++) v[i][k] = _mm512_setzero_ps();
        for (int r = s * m; r < s * m + m; r++) {
            const float *d = g->d1 + (size_t)r * (size_t)H + (size_t)j0;
            const float *xr = g->xr[r] + f0;
            __m512 dv[SG_GW1_NJ];
#pragma GCC unroll 4
            for (int k = 0; k < SG_GW1_NJ; k++)  /* a masked load costs a vector ALU op */
                dv[k] = full ? _mm512_loadu_ps(d + 16 * k) : _mm512_maskz_loadu_ps(mk[k], d + 16 * k);
#pragma GCC unroll 8
            for (int i = 0; i < NF; i++) {
                const __m512 xb = _mm512_set1_ps(xr[i]);
#pragma GCC unroll 4
                for (int k = 0; k < SG_GW1_NJ; k++) v[i][k] = _mm512_fmadd_ps(xb, dv[k], v[i][k]);
            }
        }
        /* lane-wise max of |v|, as a tree.  Fast: one vrangeps (max of
         * absolute values, sign cleared) per pair.  It drops a NaN next
         * to a number, but a NaN v makes the fixed-point sums t NaN too
         * (NaN is sticky through the FMAs); the check after the shard
         * loop sees that and the caller runs the tile again exact, to
         * find the shards.  For finite values and Inf both give the bits
         * of max |v|.  Exact (or without add, where no t would see the
         * NaN): the |v| bits compared as unsigned integers, where NaN and
         * Inf are above every finite value. */
        if (fast) {
            __m512 mx[SG_GW1_NF * SG_GW1_NJ];
            int n = 0;
#pragma GCC unroll 8
            for (int i = 0; i < NF; i++)
#pragma GCC unroll 4
                for (int k = 0; k < SG_GW1_NJ; k++) mx[n++] = v[i][k];
            if (n == 1) mx[0] = sg_absmax(mx[0], mx[0]);
#pragma GCC unroll 8
            for (int w = 1; w < n; w *= 2)
#pragma GCC unroll 8
                for (int q = 0; q + w < n; q += 2 * w) mx[q] = sg_absmax(mx[q], mx[q + w]);
            uint32_t *vm = g->vmax + (size_t)s * SG_LANES;
            _mm512_storeu_si512(vm, _mm512_max_epu32(_mm512_loadu_si512(vm), _mm512_castps_si512(mx[0])));
        } else {
            __m512i mx[SG_GW1_NF * SG_GW1_NJ];
            int n = 0;
#pragma GCC unroll 8
            for (int i = 0; i < NF; i++)
#pragma GCC unroll 4
                for (int k = 0; k < SG_GW1_NJ; k++) mx[n++] = _mm512_and_si512(_mm512_castps_si512(v[i][k]), absm);
#pragma GCC unroll 8
            for (int w = 1; w < n; w *= 2)
#pragma GCC unroll 8
                for (int q = 0; q + w < n; q += 2 * w) mx[q] = _mm512_max_epu32(mx[q], mx[q + w]);
            uint32_t *vm = g->vmax + (size_t)s * SG_LANES;
            _mm512_storeu_si512(vm, _mm512_max_epu32(_mm512_loadu_si512(vm), mx[0]));
        }
        if (add) {
#pragma GCC unroll 8
            for (int i = 0; i < NF; i++)
#pragma GCC unroll 4
                for (int k = 0; k < SG_GW1_NJ; k++) {
                    const __m512 vv = v[i][k];
                    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(vv));
                    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(vv), 1)));
                    t[i][2 * k] = sg_fma_rz(lo, fsv, t[i][2 * k]);
                    t[i][2 * k + 1] = sg_fma_rz(hi, fsv, t[i][2 * k + 1]);
                }
        }
    }
    if (fast && last) {
        /* a NaN of an earlier block stayed in its T bits */
        __mmask8 bad = 0;
#pragma GCC unroll 8
        for (int i = 0; i < NF; i++)
#pragma GCC unroll 8
            for (int k = 0; k < 2 * SG_GW1_NJ; k++) bad |= _mm512_cmp_pd_mask(t[i][k], t[i][k], _CMP_UNORD_Q);
        if (bad) return 1;  /* acc and vmax are rewritten by the exact run */
    }
    {
        /* without add every t is M and the stored sums are 0 */
        const __m512i mbits = last ? _mm512_set1_epi64((long long)SG_MAGIC_BITS) : _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int i = 0; i < NF; i++)
#pragma GCC unroll 8
            for (int k = 0; k < 2 * SG_GW1_NJ; k++) {
                const __mmask16 mkk = mk[k / 2];
                const __mmask8 m8 = (__mmask8)((k & 1) ? (mkk >> 8) : (mkk & 0xff));
                int64_t *a = acc + (size_t)(f0 + i) * (size_t)H + (size_t)(j0 + 8 * k);
                const __m512i q = _mm512_sub_epi64(_mm512_castpd_si512(t[i][k]), mbits);
                if (full) _mm512_storeu_si512(a, q);
                else _mm512_mask_storeu_epi64(a, m8, q);
            }
    }
    return 0;
}

/* Lines of the shardgrad_sum_prefetch range read per register tile: a
 * gW1 tile takes ~200 cycles, so 8 lines ask ~2.5 bytes per cycle of the
 * path between the cores, well under what it carries (~12 GB/s here) */
#define SG_PF_LINES 8
SG_INLINE SG_AVX512 void sg_pf_some(shardgrad *g)
{
    for (int k = 0; k < SG_PF_LINES && g->pf_next < g->pf_end; k++, g->pf_next += 64)
        _mm_prefetch(g->pf_next, _MM_HINT_T1);
}

/* Features [fb, fe): as sg_gw1_generic, but vmax keeps 16 lanes.  The
 * shards go in blocks of about SG_GW1_BLOCK_ROWS rows, the tiles inside a
 * block: a block's rows of dZ1 and x then stay in L1 while every tile
 * reads them, and T goes through acc between blocks (one tile's loop over
 * all rows would stream them from L2 once per tile: at 16 rows per shard
 * half the FMA rate).  Each block costs every tile one load and one store
 * of its T, so longer blocks pay fewer of them; 64 rows (a tile reads
 * 8 KB of dZ1 and 64 lines of x) measured best: MNIST at 16 rows per
 * shard, 2 ranks, 2.4% more samples/s than 32 rows, and 128 rows 2.8%
 * fewer than 64 (docs/performance.md).  The blocking changes no bit (T
 * passes through acc exactly).  A tile whose fast run met a NaN (seen in
 * the last block) is run again exact over all shards (it overwrites its
 * acc and only raises vmax, so the second run gives what an exact first
 * would). */
#ifndef SG_GW1_BLOCK_ROWS
#define SG_GW1_BLOCK_ROWS 64
#endif
/* full: the tile's hidden units are all < H, so no load needs a mask */
#define SG_GW1_RUN_F(nf, full)                                                                \
    do {                                                                                      \
        sg_pf_some(g);                                                                        \
        if (sg_gw1_tile(nf, full, g, f0, j0, add, 0, fs, acc, s0, s1) && s1 == ns)            \
            (void)sg_gw1_tile(nf, full, g, f0, j0, add, 1, fs, acc, 0, ns);                   \
    } while (0)
#define SG_GW1_RUN(nf)                                                                        \
    do {                                                                                      \
        if (j0 + 16 * SG_GW1_NJ <= H) SG_GW1_RUN_F(nf, 1);                                    \
        else SG_GW1_RUN_F(nf, 0);                                                             \
    } while (0)
static SG_AVX512 void sg_gw1_avx512(shardgrad *g, int fb, int fe, int add, double fs, int64_t *acc)
{
    const int H = g->shape.n_hidden, ns = g->n_shards;
    const int sb = g->rows >= SG_GW1_BLOCK_ROWS ? 1 : SG_GW1_BLOCK_ROWS / g->rows;
    for (int s0 = 0; s0 < ns; s0 += sb) {
        const int s1 = s0 + sb < ns ? s0 + sb : ns;
        for (int j0 = 0; j0 < H; j0 += 16 * SG_GW1_NJ) {
            int f0 = fb;
            for (; f0 + SG_GW1_NF <= fe; f0 += SG_GW1_NF) SG_GW1_RUN(SG_GW1_NF);
            switch (fe - f0) {
#if SG_GW1_NF > 7
            case 7: SG_GW1_RUN(7); break;
            case 6: SG_GW1_RUN(6); break;
            case 5: SG_GW1_RUN(5); break;
            case 4: SG_GW1_RUN(4); break;
#endif
#if SG_GW1_NF > 3
            case 3: SG_GW1_RUN(3); break;
            case 2: SG_GW1_RUN(2); break;
#endif
            case 1: SG_GW1_RUN(1); break;
            default: break;
            }
        }
    }
}
#undef SG_GW1_RUN
#undef SG_GW1_RUN_F

/* sg_chain16 with vectors: the lane chains continued from p. */
static inline SG_AVX512 __m512 sg_chain16_avx512(__m512 p, const float *a, const float *w, int H)
{
    for (int h0 = 0; h0 < H; h0 += 16) {
        const __mmask16 mk = sg_mask(h0, H);
        p = _mm512_fmadd_ps(sg_load(mk, a + h0), sg_load(mk, w + h0), p);
    }
    return p;
}

/* sg_dot16 with vectors: the same lane chains and the same tree. */
static inline SG_AVX512 float sg_dot16_avx512(const float *a, const float *w, int H)
{
    const __m512 p = sg_chain16_avx512(_mm512_setzero_ps(), a, w, H);
    /* q[l] = p[l] + p[l+8]; r[l] = q[l] + q[l+4]; t[l] = r[l] + r[l+2]; t0 + t1 */
    const __m256 q = _mm256_add_ps(_mm512_castps512_ps256(p),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1)));
    const __m128 r = _mm_add_ps(_mm256_castps256_ps128(q), _mm256_extractf128_ps(q, 1));
    const __m128 t = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

static SG_AVX512 void sg_back_avx512(shardgrad *g);

/* sg_rest with vectors, loop for loop the same arithmetic. */
static SG_AVX512 void sg_rest_avx512(shardgrad *g, const float *params, const int32_t *y, double *loss)
{
    const mlp_shape *sh = &g->shape;
    const int H = sh->n_hidden, C = sh->n_out, m = g->rows, ns = g->n_shards, R = ns * m;
    const float *b2 = params + g->L.b2;

    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            g->p[(size_t)r * (size_t)C + (size_t)c] =
                sg_dot16_avx512(g->a1 + (size_t)r * (size_t)H, g->w2t + (size_t)c * (size_t)H, H) + b2[c];
    sg_output_tail(g, y, loss);
    sg_back_avx512(g);
}

/* sg_back_generic with vectors. */
static SG_AVX512 void sg_back_avx512(shardgrad *g)
{
    const mlp_shape *sh = &g->shape;
    const int H = sh->n_hidden, C = sh->n_out, m = g->rows, ns = g->n_shards, R = ns * m;
    const __m512 zero = _mm512_setzero_ps();

    for (int r = 0; r < R; r++) {
        float *d = g->d1 + (size_t)r * (size_t)H;
        const float *a = g->a1 + (size_t)r * (size_t)H, *dz = g->p + (size_t)r * (size_t)C;
        for (int h0 = 0; h0 < H; h0 += 16) {
            const __mmask16 mk = sg_mask(h0, H);
            __m512 acc = zero;
            for (int c = 0; c < C; c++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(dz[c]), sg_load(mk, g->w2t + (size_t)c * (size_t)H + (size_t)h0), acc);
            const __mmask16 pos = _mm512_mask_cmp_ps_mask(mk, sg_load(mk, a + h0), zero, _CMP_GT_OQ);
            _mm512_mask_storeu_ps(d + h0, mk, _mm512_maskz_mov_ps(pos, acc));
        }
    }

    for (int s = 0; s < ns; s++) {
        float *gb1 = g->small + (size_t)s * g->nsmall, *gw2 = gb1 + H, *gb2 = gw2 + (size_t)H * (size_t)C;
        const int r0 = s * m;
        for (int h0 = 0; h0 < H; h0 += 8) {
            /* 8 columns: a 16-lane mask with only the low 8 lanes (no AVX512VL) */
            const __mmask16 mk = (__mmask16)(sg_mask(h0, H) & 0xff);
            __m512d acc = _mm512_setzero_pd();
            for (int r = r0; r < r0 + m; r++)
                acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(
                                             sg_load(mk, g->d1 + (size_t)r * (size_t)H + (size_t)h0))));
            _mm512_mask_storeu_ps(gb1 + h0, mk, _mm512_castps256_ps512(_mm512_cvtpd_ps(acc)));
        }
        for (int c = 0; c < C; c++) {
            float *dst = C == 1 ? gw2 : g->tmp;
            for (int h0 = 0; h0 < H; h0 += 16) {
                const __mmask16 mk = sg_mask(h0, H);
                __m512 acc = zero;
                for (int r = r0; r < r0 + m; r++)
                    acc = _mm512_fmadd_ps(sg_load(mk, g->a1 + (size_t)r * (size_t)H + (size_t)h0),
                                          _mm512_set1_ps(g->p[(size_t)r * (size_t)C + (size_t)c]), acc);
                _mm512_mask_storeu_ps(dst + h0, mk, acc);
            }
            if (C > 1)
                for (int h = 0; h < H; h++) gw2[(size_t)h * (size_t)C + (size_t)c] = g->tmp[h];
        }
        for (int c = 0; c < C; c++) {
            double acc = 0.0;
            for (int r = r0; r < r0 + m; r++) acc += (double)g->p[(size_t)r * (size_t)C + (size_t)c];
            gb2[c] = (float)acc;
        }
    }
}

/* sg_small_generic with vectors: 16 values at a time, the shards in the
 * inner loop with the round-toward-zero chain of sg_gw1_tile. */
static SG_AVX512 void sg_small_avx512(const shardgrad *g, int add, double fs, int64_t *acc)
{
    const __m512d fsv = _mm512_set1_pd(fs), magic = _mm512_set1_pd(SG_MAGIC);
    const __m512i mbits = _mm512_set1_epi64((long long)SG_MAGIC_BITS), absm = _mm512_set1_epi32(0x7fffffff);
    const int n = (int)g->nsmall;
    for (int i0 = 0; i0 < n; i0 += 16) {
        const __mmask16 mk = sg_mask(i0, n);
        __m512d tlo = magic, thi = magic;
        for (int s = 0; s < g->n_shards; s++) {
            const __m512 v = sg_load(mk, g->small + (size_t)s * g->nsmall + (size_t)i0);
            uint32_t *vm = g->vmax + (size_t)s * SG_LANES;
            _mm512_storeu_si512(vm, _mm512_max_epu32(_mm512_loadu_si512(vm), _mm512_and_si512(_mm512_castps_si512(v), absm)));
            if (add) {
                const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
                const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
                tlo = sg_fma_rz(lo, fsv, tlo);
                thi = sg_fma_rz(hi, fsv, thi);
            }
        }
        _mm512_mask_storeu_epi64(acc + i0, (__mmask8)(mk & 0xff), _mm512_sub_epi64(_mm512_castpd_si512(tlo), mbits));
        _mm512_mask_storeu_epi64(acc + i0 + 8, (__mmask8)(mk >> 8), _mm512_sub_epi64(_mm512_castpd_si512(thi), mbits));
    }
}

/* sg_rows_prep_generic with vectors. */
static SG_AVX512 void sg_rows_prep_avx512(shardgrad *g)
{
    const int F = g->shape.n_in, H = g->shape.n_hidden, R = g->n_shards * g->rows;
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    for (int r = 0; r < R; r++) {
        const float *x = g->xr[r], *d = g->d1 + (size_t)r * (size_t)H;
        double *xd = g->xd + (size_t)r * (size_t)F;
        __m512i xb = _mm512_setzero_si512(), db = _mm512_setzero_si512();
        for (int f0 = 0; f0 < F; f0 += 16) {
            const __mmask16 mk = sg_mask(f0, F);
            const __m512 v = sg_load(mk, x + f0);
            xb = _mm512_max_epu32(xb, _mm512_and_si512(_mm512_castps_si512(v), absm));
            _mm512_mask_storeu_pd(xd + f0, (__mmask8)(mk & 0xff), _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
            _mm512_mask_storeu_pd(xd + f0 + 8, (__mmask8)(mk >> 8),
                                  _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
        }
        for (int j0 = 0; j0 < H; j0 += 16) {
            const __m512 v = sg_load(sg_mask(j0, H), d + j0);
            db = _mm512_max_epu32(db, _mm512_and_si512(_mm512_castps_si512(v), absm));
        }
        g->res[r] = sg_row_exponent(_mm512_reduce_max_epu32(xb), _mm512_reduce_max_epu32(db));
    }
}

/* sg_dd_generic with vectors. */
static SG_AVX512 void sg_dd_avx512(shardgrad *g, double fs)
{
    const int H = g->shape.n_hidden, R = g->n_shards * g->rows;
    const __m512d fsv = _mm512_set1_pd(fs);
    for (int r = 0; r < R; r++) {
        const float *d = g->d1 + (size_t)r * (size_t)H;
        double *o = g->dd + (size_t)r * (size_t)g->hp;
        for (int j0 = 0; j0 < H; j0 += 8) {
            const __mmask16 mk = (__mmask16)(sg_mask(j0, H) & 0xff);
            const __m256 v = _mm512_castps512_ps256(sg_load(mk, d + j0));
            _mm512_mask_storeu_pd(o + j0, (__mmask8)mk, _mm512_mul_pd(_mm512_cvtps_pd(v), fsv));
        }
    }
}

/* Row-mode tile: NF features from f0 x 8*SG_R_NJ hidden units from j0,
 * all the step's rows.  T = M + sum_r floor(x dd) in doubles, one
 * round-toward-zero FMA per row (exact, as in sg_gw1_tile: x dd is exact
 * inside the FMA and T is an integer in [2^52, 2^53)). */
SG_INLINE SG_AVX512 void sg_gw1r_tile(const int NF, const shardgrad *g, int f0, int j0, int64_t *acc)
{
    const int F = g->shape.n_in, H = g->shape.n_hidden, R = g->n_shards * g->rows;
    const size_t hp = (size_t)g->hp;
    const __m512i mbits = _mm512_set1_epi64((long long)SG_MAGIC_BITS);
    __m512d t[SG_R_NF][SG_R_NJ];
#pragma GCC unroll 8
    for (int i = 0; i < NF; i++)
#pragma GCC unroll 4
        for (int k = 0; k < SG_R_NJ; k++) t[i][k] = _mm512_set1_pd(SG_MAGIC);
    for (int r = 0; r < R; r++) {
        const double *d = g->dd + (size_t)r * hp + (size_t)j0, *xr = g->xd + (size_t)r * (size_t)F + (size_t)f0;
        __m512d dv[SG_R_NJ];
#pragma GCC unroll 4
        for (int k = 0; k < SG_R_NJ; k++) dv[k] = _mm512_loadu_pd(d + 8 * k);
#pragma GCC unroll 8
        for (int i = 0; i < NF; i++) {
            const __m512d xb = _mm512_set1_pd(xr[i]);
#pragma GCC unroll 4
            for (int k = 0; k < SG_R_NJ; k++) t[i][k] = sg_fma_rz(xb, dv[k], t[i][k]);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < SG_R_NJ; k++) {
        const int left = H - (j0 + 8 * k);
        const __mmask8 m8 = (__mmask8)(left >= 8 ? 0xff : left <= 0 ? 0 : (1u << left) - 1u);
#pragma GCC unroll 8
        for (int i = 0; i < NF; i++)
            _mm512_mask_storeu_epi64(acc + (size_t)(f0 + i) * (size_t)H + (size_t)(j0 + 8 * k), m8,
                                     _mm512_sub_epi64(_mm512_castpd_si512(t[i][k]), mbits));
    }
}

#define SG_R_RUN(nf, f0)                  \
    do {                                  \
        sg_pf_some(g);                    \
        sg_gw1r_tile(nf, g, f0, j0, acc); \
    } while (0)
static SG_AVX512 void sg_gw1_rows_avx512(shardgrad *g, int fb, int fe, int64_t *acc)
{
    const int H = g->shape.n_hidden;
    for (int j0 = 0; j0 < H; j0 += 8 * SG_R_NJ) SG_TILES6(fb, fe, SG_R_RUN);
}
#undef SG_R_RUN

/* sg_z1_only_generic with vectors. */
static SG_AVX512 void sg_z1_only_avx512(shardgrad *g, const float *params)
{
    sg_z1_avx512(g->xr, g->n_shards * g->rows, g->shape.n_in, params + g->L.w1, params + g->L.b1,
                 g->shape.n_hidden, g->a1);
}

static SG_AVX512 void sg_fb_avx512(shardgrad *g, const float *params, const int32_t *y, double *loss)
{
    sg_z1_only_avx512(g, params);
    sg_rest_avx512(g, params, y, loss);
}

/* sg_lanes_generic with vectors. */
static SG_AVX512 void sg_lanes_avx512(const shardgrad *g, float *lanes)
{
    const int H = g->shape.n_hidden, C = g->shape.n_out, R = g->n_shards * g->rows;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float *p = lanes + ((size_t)r * (size_t)C + (size_t)c) * SG_LANES;
            _mm512_storeu_ps(p, sg_chain16_avx512(_mm512_loadu_ps(p), g->a1 + (size_t)r * (size_t)H,
                                                  g->w2t + (size_t)c * (size_t)H, H));
        }
}
#endif

/* ------------------------------------------------------------------ */
/* AVX2 + FMA row-mode sum (the AVX2 variant; everything else of that  */
/* variant is the portable code in its x86-64-v3 clone)                */

#if SG_HAVE_AVX512
#define SG_AVX2 __attribute__((target("avx2,fma")))
#define SG_A2_NF 6   /* features per tile (SG_TILES6): 12 accumulators + 2 + 1 of 16 registers */
_Static_assert(SG_R_NF == 6 && SG_A2_NF == 6, "the row-mode tiles are driven by SG_TILES6");

/* sg_gw1r_tile with 4-double vectors, NF features x 8 hidden units.  No
 * embedded rounding in AVX2: the caller has set MXCSR to round toward
 * zero, so each FMA is RZ(T + x dd) = T + floor(x dd) as in sg_gw1r_tile. */
SG_INLINE SG_AVX2 void sg_gw1r_tile_avx2(const int NF, const shardgrad *g, int f0, int j0, int64_t *acc)
{
    const int F = g->shape.n_in, H = g->shape.n_hidden, R = g->n_shards * g->rows;
    const size_t hp = (size_t)g->hp;
    const __m256i mbits = _mm256_set1_epi64x((long long)SG_MAGIC_BITS);
    __m256d t[SG_A2_NF][2];
#pragma GCC unroll 8
    for (int i = 0; i < NF; i++) t[i][0] = t[i][1] = _mm256_set1_pd(SG_MAGIC);
    for (int r = 0; r < R; r++) {
        const double *d = g->dd + (size_t)r * hp + (size_t)j0, *xr = g->xd + (size_t)r * (size_t)F + (size_t)f0;
        const __m256d d0 = _mm256_loadu_pd(d), d1 = _mm256_loadu_pd(d + 4);
#pragma GCC unroll 8
        for (int i = 0; i < NF; i++) {
            const __m256d xb = _mm256_broadcast_sd(xr + i);
            t[i][0] = _mm256_fmadd_pd(xb, d0, t[i][0]);
            t[i][1] = _mm256_fmadd_pd(xb, d1, t[i][1]);
        }
    }
#pragma GCC unroll 2
    for (int k = 0; k < 2; k++) {
        const int left = H - (j0 + 4 * k);
        const __m256i lanes = _mm256_setr_epi64x(0, 1, 2, 3);
        const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(left), lanes);
#pragma GCC unroll 8
        for (int i = 0; i < NF; i++) {
            const __m256i q = _mm256_sub_epi64(_mm256_castpd_si256(t[i][k]), mbits);
            long long *a = (long long *)(acc + (size_t)(f0 + i) * (size_t)H + (size_t)(j0 + 4 * k));
            if (left >= 4) _mm256_storeu_si256((__m256i *)(void *)a, q);
            else if (left > 0) _mm256_maskstore_epi64(a, m, q);
        }
    }
}

/* Row mode, features [fb, fe), with AVX2 (the same sums as
 * sg_gw1_rows_generic).  Not inlined: the rounding mode it sets must not
 * reach any other code. */
#define SG_A2_RUN(nf, f0) sg_gw1r_tile_avx2(nf, g, f0, j0, acc)
__attribute__((noinline)) static SG_AVX2 void sg_gw1_rows_avx2(const shardgrad *g, int fb, int fe, int64_t *acc)
{
    const int H = g->shape.n_hidden;
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr((csr & ~0x6000u) | 0x6000u);  /* RC = 11: round toward zero */
    for (int j0 = 0; j0 < H; j0 += 8) SG_TILES6(fb, fe, SG_A2_RUN);
    _mm_setcsr(csr);
}
#undef SG_A2_RUN
#endif

/* ------------------------------------------------------------------ */
/* public entry points                                                 */

void shardgrad_forward_backward(shardgrad *g, const float *params, const float *x,
                                const int32_t *y, int n_shards, double *loss)
{
    const int F = g->shape.n_in;
    for (int r = 0; r < n_shards * g->rows; r++) g->xr_own[r] = x + (size_t)r * (size_t)F;
    shardgrad_forward_backward_rows(g, params, g->xr_own, y, n_shards, loss);
}

/* The step's rows and W2 transposed, before a forward pass. */
static void sg_setup(shardgrad *g, const float *params, const float *const *x, int n_shards)
{
    const int H = g->shape.n_hidden, C = g->shape.n_out;
    const float *W2 = params + g->L.w2;
    assert(n_shards >= 1 && n_shards <= g->max_shards);
    g->n_shards = n_shards;
    g->xr = x;
    for (int h = 0; h < H; h++)
        for (int c = 0; c < C; c++) g->w2t[(size_t)c * (size_t)H + (size_t)h] = W2[(size_t)h * (size_t)C + (size_t)c];
}

void shardgrad_forward_backward_rows(shardgrad *g, const float *params, const float *const *x,
                                     const int32_t *y, int n_shards, double *loss)
{
    sg_setup(g, params, x, n_shards);
#if SG_HAVE_AVX512
    if (shardgrad_variant() == SHARDGRAD_AVX512) {
        sg_fb_avx512(g, params, y, loss);
        if (g->rowq) sg_rows_prep_avx512(g);
        return;
    }
#endif
    sg_fb_generic(g, params, y, loss);
    if (g->rowq) sg_rows_prep_generic(g);
}

void shardgrad_forward_rows(shardgrad *g, const float *params, const float *const *rows, int n_shards)
{
    sg_setup(g, params, rows, n_shards);
#if SG_HAVE_AVX512
    if (shardgrad_variant() == SHARDGRAD_AVX512) {
        sg_z1_only_avx512(g, params);
        return;
    }
#endif
    sg_z1_only_generic(g, params);
}

void shardgrad_z2_lanes(const shardgrad *g, float *lanes)
{
    assert(g->shape.n_hidden % SG_LANES == 0);
#if SG_HAVE_AVX512
    if (shardgrad_variant() == SHARDGRAD_AVX512) {
        sg_lanes_avx512(g, lanes);
        return;
    }
#endif
    sg_lanes_generic(g, lanes);
}

void shardgrad_output(shardgrad *g, const float *params, const float *lanes, const int32_t *y, double *loss)
{
    const mlp_shape *sh = &g->shape;
    const int C = sh->n_out, m = g->rows, ns = g->n_shards, R = ns * m;
    const float *b2 = params + g->L.b2;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            g->p[(size_t)r * (size_t)C + (size_t)c] =
                sg_tree16(lanes + ((size_t)r * (size_t)C + (size_t)c) * SG_LANES) + b2[c];
    sg_output_tail(g, y, loss);
}

float *shardgrad_dz2(shardgrad *g)
{
    return g->p;
}

void shardgrad_backward(shardgrad *g)
{
#if SG_HAVE_AVX512
    if (shardgrad_variant() == SHARDGRAD_AVX512) {
        sg_back_avx512(g);
        if (g->rowq) sg_rows_prep_avx512(g);
        return;
    }
#endif
    sg_back_generic(g);
    if (g->rowq) sg_rows_prep_generic(g);
}

/* The exponent of exactsum_exponent from the max |x| bits. */
static int sg_exponent_of_bits(uint32_t mb)
{
    float mx;
    int e = 0;
    if (mb >= 0x7f800000u) return INT32_MAX;
    if (mb == 0) return EXACTSUM_EXP_ZERO;
    memcpy(&mx, &mb, sizeof mx);
    (void)frexp((double)mx, &e);
    return e;
}

void shardgrad_sum_begin(shardgrad *g, int exponent, int headroom)
{
    const int scale = exactsum_scale(exponent, headroom);
    g->sum_add = scale >= DBL_MIN_EXP - 1 && scale <= DBL_MAX_EXP - 1;
    g->sum_fs = g->sum_add ? ldexp(1.0, scale) : 0.0;
    g->pf_next = g->pf_end = NULL;
    memset(g->vmax, 0, (size_t)g->n_shards * SG_LANES * sizeof *g->vmax);
    /* dZ1 2^S is exact in double: |dZ1| is 0 or in [2^-149, 2^128), and
     * S = 51 - headroom - E with E between EXACTSUM_PRED_MIN (-160) and
     * 256 (no row exponent is larger), so the product stays far inside
     * double's normal range */
    if (g->rowq && g->sum_add) {
#if SG_HAVE_AVX512
        if (shardgrad_variant() == SHARDGRAD_AVX512) sg_dd_avx512(g, g->sum_fs);
        else
#endif
            sg_dd_generic(g, g->sum_fs);
    }
}

void shardgrad_sum_prefetch(shardgrad *g, const void *p, size_t bytes)
{
    /* whole lines from the one holding p */
    g->pf_next = bytes == 0 ? NULL : (const char *)((uintptr_t)p & ~(uintptr_t)63);
    g->pf_end = bytes == 0 ? NULL : (const char *)p + bytes;
}

void shardgrad_sum_rows(shardgrad *g, int f_begin, int f_end, int64_t *acc)
{
    const int add = g->sum_add;
    const double fs = g->sum_fs;
    const int avx = SG_HAVE_AVX512 && shardgrad_variant() == SHARDGRAD_AVX512;
    (void)avx;
    assert(0 <= f_begin && f_begin <= f_end && f_end <= g->shape.n_in);
    if (f_begin == f_end) return;
    if (g->rowq && !add) {
        memset(acc + g->L.w1 + (size_t)f_begin * (size_t)g->shape.n_hidden, 0,
               (size_t)(f_end - f_begin) * (size_t)g->shape.n_hidden * sizeof *acc);
    } else if (g->rowq) {
#if SG_HAVE_AVX512
        if (avx) sg_gw1_rows_avx512(g, f_begin, f_end, acc + g->L.w1);
        else
#endif
        {
#if SG_HAVE_AVX512
            if (shardgrad_variant() == SHARDGRAD_AVX2) sg_gw1_rows_avx2(g, f_begin, f_end, acc + g->L.w1);
            else
#endif
                sg_gw1_rows_generic(g, f_begin, f_end, acc + g->L.w1);
        }
    } else {
#if SG_HAVE_AVX512
        if (avx) sg_gw1_avx512(g, f_begin, f_end, add, fs, acc + g->L.w1);
        else
#endif
            sg_gw1_generic(g, f_begin, f_end, add, fs, acc + g->L.w1);
    }
}

void shardgrad_sum_end(shardgrad *g, int64_t *acc, int *es)
{
#if SG_HAVE_AVX512
    if (shardgrad_variant() == SHARDGRAD_AVX512) sg_small_avx512(g, g->sum_add, g->sum_fs, acc + g->L.b1);
    else
#endif
        sg_small_generic(g, g->sum_add, g->sum_fs, acc + g->L.b1);
    g->pf_next = g->pf_end = NULL;
    for (int s = 0; s < g->n_shards; s++) {
        uint32_t mb = 0;
        for (int l = 0; l < SG_LANES; l++) mb = g->vmax[(size_t)s * SG_LANES + (size_t)l] > mb ? g->vmax[(size_t)s * SG_LANES + (size_t)l] : mb;
        es[s] = sg_exponent_of_bits(mb);
        if (g->rowq)
            for (int r = s * g->rows; r < (s + 1) * g->rows; r++) es[s] = g->res[r] > es[s] ? g->res[r] : es[s];
    }
}

void shardgrad_sum(shardgrad *g, int f_begin, int f_end, int exponent, int headroom, int64_t *acc, int *es)
{
    assert(0 <= f_begin && f_begin <= f_end && f_end <= g->shape.n_in);
    if (f_begin == 0) shardgrad_sum_begin(g, exponent, headroom);
    shardgrad_sum_rows(g, f_begin, f_end, acc);
    if (f_end == g->shape.n_in) shardgrad_sum_end(g, acc, es);
}

const float *shardgrad_dz1(const shardgrad *g)
{
    return g->d1;
}

void shardgrad_shard(const shardgrad *g, int s, float *grad)
{
    const int F = g->shape.n_in, H = g->shape.n_hidden, m = g->rows;
    for (int f = 0; f < F; f++) {
        float *gr = grad + g->L.w1 + (size_t)f * (size_t)H;
        for (int j = 0; j < H; j++) gr[j] = 0.0f;
        for (int r = s * m; r < s * m + m; r++) {
            const float xv = g->xr[r][f];
            const float *d = g->d1 + (size_t)r * (size_t)H;
            for (int j = 0; j < H; j++) gr[j] = fmaf(xv, d[j], gr[j]);
        }
    }
    memcpy(grad + g->L.b1, g->small + (size_t)s * g->nsmall, g->nsmall * sizeof *grad);
}
