/** \file shardgrad.h
 *  The training step's numeric core: forward and backward for all rows
 *  one rank holds in a step, and the per-shard gradients added to the
 *  step's fixed-point sum without materialising them.
 *
 *  A step of one rank covers S local shards of m rows each (rows stored
 *  shard-major: rows s*m .. s*m+m-1 belong to shard s).  The gradient of
 *  shard s is the gradient of the SUM of its m row losses (mlp.h).  Each
 *  value is computed by a fixed sequence of IEEE operations that depends
 *  only on the parameters and the shard's own rows, never on S, on the
 *  other shards, or on the kernel variant (AVX-512 or portable C):
 *
 *    z1[r][j]  = fma chain over f = 0..F-1 of x[r][f] * W1[f][j], starting
 *                from b1[j];  a1 = relu(z1) (NaN kept)
 *    z2[r][c]  = b2[c] + T(p), where p[l] (l = 0..15) is the fma chain over
 *                h = l, l+16, ... (h < H) of a1[r][h] * W2[h][c] from 0,
 *                and T sums p in the fixed tree
 *                ((p0+p8)+(p4+p12))+((p2+p10)+(p6+p14)) + (odd lanes alike)
 *                (see shardgrad.c); then the output map of mlp_output
 *    dZ2       = P - onehot(Y)                      (mlp_output_grad)
 *    dA1[r][h] = fma chain over c = 0..C-1 of dZ2[r][c] * W2[h][c] from 0;
 *    dZ1       = dA1 where a1 > 0, else 0
 *    gW1[f][j] = fma chain over the shard's rows, in order, of
 *                x[r][f] * dZ1[r][j] from 0
 *    gW2[h][c] = fma chain over the shard's rows of a1[r][h] * dZ2[r][c]
 *    gb1, gb2  = column sums of dZ1, dZ2 over the shard's rows in double,
 *                rounded once to float
 *
 *  The fixed-point value of a gradient entry g is q = floor(g 2^scale),
 *  scale = exactsum_scale(exponent, headroom) (exactsum.h rounds to
 *  nearest; the bounds are the same), and q are summed with wrap-around
 *  int64 arithmetic, so the sum after all shards of all ranks is exactly
 *  sum_s q(grad_s), whatever the split (tests/test_shardgrad.c checks
 *  both claims bit for bit).
 *
 *  Row mode.  With at most 5 rows per shard (shardgrad_row_mode) the
 *  W1 block is summed row by row instead: its addends are the rows' exact
 *  products, q = floor(x[r][f] dZ1[r][j] 2^scale) (x dZ1 computed in
 *  double, where it is exact), so the W1 sum is sum over all rows of the
 *  step of q, again independent of the split.  That costs one double FMA
 *  per row and value and no per-shard conversion, which is cheaper when
 *  shards are small (2 rows at batch 32 with 16 shards).  The b1, W2, b2
 *  blocks keep per-shard addends.  A shard's exponent es[s] then also
 *  bounds its rows' products: max over its rows of the exponent of
 *  max_f |x[r][f]| max_j |dZ1[r][j]|.  The mode follows from `rows` alone,
 *  so it is the same on every rank and for every rank count.
 *
 *  Pure kernels on plain arrays: no MPI, no I/O, no allocation after
 *  shardgrad_new.
 */
#ifndef RISKGRID_SHARDGRAD_H
#define RISKGRID_SHARDGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "riskgrid/mlp.h"

typedef struct shardgrad shardgrad;

/** Workspace for up to max_shards shards of `rows` rows each.  NULL on an
 *  invalid shape, max_shards < 1, rows < 1 or allocation failure. */
shardgrad *shardgrad_new(const mlp_shape *s, int max_shards, int rows);
void shardgrad_free(shardgrad *g);

/** 1 in row mode (see the file comment), else 0. */
int shardgrad_row_mode(const shardgrad *g);

/** Fixed-point addends per element that one shard contributes: `rows` in
 *  row mode (the W1 block), else 1.  The caller's headroom must cover
 *  shards x addends over all ranks. */
int shardgrad_addends(const shardgrad *g);

/** Forward and backward pass of n_shards * rows rows (n_shards <=
 *  max_shards).  x: row-major [n_shards*rows][F]; y: labels.  loss[s] is
 *  shard s's summed loss (double, rows in order; NaN for an invalid
 *  label).  x must stay unchanged until the last shardgrad_sum or
 *  shardgrad_shard of this step (the weight gradients read it again). */
void shardgrad_forward_backward(shardgrad *g, const float *params, const float *x,
                                const int32_t *y, int n_shards, double *loss);

/** The same with the rows by pointer: rows[r] (F floats) is row r, for r <
 *  n_shards * rows, so a caller can point into its data instead of
 *  copying a batch together; the same bits as the contiguous form.  The
 *  pointer array and the rows must stay unchanged as x above. */
void shardgrad_forward_backward_rows(shardgrad *g, const float *params, const float *const *rows,
                                     const int32_t *y, int n_shards, double *loss);

/** The forward and backward pass in pieces, for a rank that holds only
 *  some hidden units of a larger model (docs/design-hidden-split.md: the
 *  model of this workspace is that rank's block of hidden units, all other
 *  sizes as in the whole model):
 *   shardgrad_forward_rows  z1 and a1 of this model's hidden units (the
 *                           same chain per value as in the whole model);
 *   shardgrad_z2_lanes      continues z2's lane chains (the file
 *                           comment's p[l]) over this model's hidden
 *                           units: lanes[(r C + c) 16 + l], in and out,
 *                           start from 0 for the first block of units;
 *                           H must be a multiple of 16, so that a unit's
 *                           lane is the same in the whole model;
 *   shardgrad_output        the tree, b2, the output map, each shard's
 *                           loss and dZ2 (in shardgrad_dz2) from the
 *                           finished lanes;
 *   shardgrad_backward      the rest of the backward pass from the dZ2 in
 *                           shardgrad_dz2 (written there by the caller
 *                           when another rank computed it).
 *  On one rank, forward_rows + z2_lanes from 0 + output + backward give
 *  exactly shardgrad_forward_backward_rows.  The row pointers stay in use
 *  as for shardgrad_forward_backward_rows. */
void shardgrad_forward_rows(shardgrad *g, const float *params, const float *const *rows, int n_shards);
void shardgrad_z2_lanes(const shardgrad *g, float *lanes);
void shardgrad_output(shardgrad *g, const float *params, const float *lanes, const int32_t *y, double *loss);
/** [n_shards * rows][C]: P after shardgrad_output's output map, then dZ2. */
float *shardgrad_dz2(shardgrad *g);
void shardgrad_backward(shardgrad *g);

/** The fixed-point sum over the shards of the last forward_backward, in
 *  pieces: rows [f_begin, f_end) of the W1 block of acc are OVERWRITTEN
 *  with sum_s q(gW1_s) (q as in the file comment).  Call with consecutive ranges from
 *  f_begin = 0 to f_end = F (a single call 0..F is fine); the call that
 *  ends at F also overwrites the b1, W2, b2 blocks and sets es[s] =
 *  exactsum_exponent(grad_s) for every shard (INT32_MAX if a value is NaN
 *  or infinite; in row mode the larger of that over b1, W2, b2 and the
 *  row exponents, see the file comment).  So after the last call acc[0..n) = sum_s q(grad_s)
 *  exactly, which is meaningful when every es[s] <= exponent.  When 2^scale is not a normal double (a tiny exponent, as
 *  for the "unknown" exponent of a first step) nothing is converted and
 *  acc is zero; es is still exact.  acc has mlp_layout_of(s).n elements.
 *  The pieces let a caller start reducing rows [0, f) of W1 while the
 *  rest is being converted; exponent and headroom are those of the call
 *  with f_begin = 0 (the later ones must pass the same). */
void shardgrad_sum(shardgrad *g, int f_begin, int f_end, int exponent, int headroom, int64_t *acc, int *es);

/** shardgrad_sum with the rows of the W1 block in any order: begin, then
 *  shardgrad_sum_rows over ranges that together cover [0, F) once, then
 *  end.  acc and es are then exactly what shardgrad_sum(g, 0, F, exponent,
 *  headroom, acc, es) gives (each row's sum is a pure function of the
 *  shards; only the exponent's running maximum spans the calls).  A caller
 *  that hands some rows to another core computes those first. */
void shardgrad_sum_begin(shardgrad *g, int exponent, int headroom);
void shardgrad_sum_rows(shardgrad *g, int f_begin, int f_end, int64_t *acc);
void shardgrad_sum_end(shardgrad *g, int64_t *acc, int *es);

/** A hint for the shardgrad_sum_rows calls until shardgrad_sum_end (or
 *  the next shardgrad_sum_begin): read [p, p + bytes) into this core's cache, a few
 *  lines per register tile, so that data another core wrote is near when
 *  the caller reads it next (the step's optimiser reads the other rank's
 *  contribution).  It never changes a result; bytes = 0 clears it.  Only
 *  the AVX-512 kernels act on it. */
void shardgrad_sum_prefetch(shardgrad *g, const void *p, size_t bytes);

/** Shard s's gradient materialised into grad[n], the same bits that
 *  shardgrad_sum sums (for tests and diagnostics); in row mode the sum
 *  takes the W1 block from the rows' products instead (shardgrad_dz1). */
void shardgrad_shard(const shardgrad *g, int s, float *grad);

/** dZ1 of the last forward_backward, [n_shards*rows][H] (for tests and
 *  diagnostics: with the rows it gives row mode's addends). */
const float *shardgrad_dz1(const shardgrad *g);

/** Kernel variants, all giving the same bits: portable C; AVX-512F
 *  intrinsics; AVX2 (the portable kernels, built for x86-64-v3, plus an
 *  AVX2+FMA row-mode sum).  The default is the fastest the CPU supports
 *  (AVX-512, else AVX2, else portable); environment
 *  RISKGRID_KERNELS=generic|avx2|avx512 asks for one (ignored if the CPU
 *  cannot run it). */
enum { SHARDGRAD_GENERIC = 0, SHARDGRAD_AVX512 = 1, SHARDGRAD_AVX2 = 2, SHARDGRAD_N_VARIANTS = 3 };
/** The variant in use (decided on first use). */
int shardgrad_variant(void);
/** Force a variant; returns 0, or -1 if the CPU cannot run it. */
int shardgrad_set_variant(int v);
const char *shardgrad_variant_name(int v);

#endif
