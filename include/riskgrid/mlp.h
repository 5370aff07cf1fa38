/** \file mlp.h
 *  The one-hidden-layer perceptron: parameters, forward, backward, loss.
 *  Pure numeric kernels on plain arrays (CBLAS); no MPI, no I/O.
 *
 *  Shape: x[F] -> h = relu(x W1 + b1) [H] -> z = h W2 + b2 [C].
 *  Output C = 1 with sigmoid + binary cross-entropy (labels 0/1), or
 *  C = K >= 2 with softmax + cross-entropy (labels 0..K-1).
 *
 *  Parameters live in one flat array, row-major blocks in this order:
 *    W1[F*H] (W1[f*H + h]), b1[H], W2[H*C] (W2[h*C + c]), b2[C].
 *  Gradients use the same layout, so a training step is one reduction of
 *  one array and one pure update.
 *
 *  Every kernel exists in float (the training precision) and in double
 *  (suffix _f64; the same code instantiated twice) so the gradients can be
 *  checked against finite differences in double precision.
 *  Losses are always accumulated in double.
 */
#ifndef RISKGRID_MLP_H
#define RISKGRID_MLP_H

#include <stddef.h>
#include <stdint.h>

typedef struct mlp_shape {
    int n_in;      /**< F features */
    int n_hidden;  /**< H hidden units */
    int n_out;     /**< C: 1 (sigmoid) or K classes (softmax) */
    int softmax;   /**< 1: softmax + CE; 0: sigmoid + BCE (n_out == 1) */
} mlp_shape;

/** Offsets of the four blocks in the flat parameter array. */
typedef struct mlp_layout {
    size_t w1, b1, w2, b2, n;  /**< n: total number of parameters */
} mlp_layout;

mlp_layout mlp_layout_of(const mlp_shape *s);

/** A block of hidden units [h0, h1) of the model s as a model of its own
 *  (n_hidden = h1 - h0, everything else as s): element i of that model's
 *  parameter array is element mlp_block_index(s, h0, h1, i) of s's (its
 *  W1 columns, b1 entries and W2 rows; b2 belongs to every block).
 *  Requires 0 <= h0 < h1 <= n_hidden and i < the block's layout n. */
size_t mlp_block_index(const mlp_shape *s, int h0, int h1, size_t i);
/** block[i] = full[mlp_block_index(s, h0, h1, i)] for the whole block. */
void mlp_block_get(const mlp_shape *s, int h0, int h1, const float *full, float *block);
/** full[mlp_block_index(s, h0, h1, i)] = block[i] for the whole block. */
void mlp_block_put(const mlp_shape *s, int h0, int h1, const float *block, float *full);

/** Scratch memory for batches of up to max_rows rows (both precisions). */
typedef struct mlp_work mlp_work;
mlp_work *mlp_work_new(const mlp_shape *s, int max_rows);
void mlp_work_free(mlp_work *w);

/** He initialisation: W1 ~ N(0, 2/F), W2 ~ N(0, 2/H), biases 0, every
 *  weight drawn from the counter-based RNG keyed by (seed, index), so it
 *  is the same on every rank. */
void mlp_init(const mlp_shape *s, uint64_t seed, float *params);

/** Loss and gradient of a batch of m rows (m <= max_rows of w).
 *  x: m*F row-major; y: m labels.  grad is OVERWRITTEN with the gradient
 *  of the SUM of per-row losses (not the mean).  Returns the summed loss.
 *  Probabilities are clamped to [1e-7, 1 - 1e-7] inside the logs (as
 *  Keras), so the loss is finite for finite inputs. */
double mlp_loss_grad(const mlp_shape *s, const float *params,
                     const float *x, const int32_t *y, int m,
                     mlp_work *w, float *grad);
double mlp_loss_grad_f64(const mlp_shape *s, const double *params,
                         const double *x, const int32_t *y, int m,
                         mlp_work *w, double *grad);

/** Probabilities for m rows into prob[m*C] (sigmoid output: C == 1, the
 *  probability of class 1).  Returns the summed loss if y != NULL, else 0. */
double mlp_predict(const mlp_shape *s, const float *params,
                   const float *x, const int32_t *y, int m,
                   mlp_work *w, float *prob);
double mlp_predict_f64(const mlp_shape *s, const double *params,
                       const double *x, const int32_t *y, int m,
                       mlp_work *w, double *prob);

/** The output stage on m rows, in float, exactly as inside mlp_loss_grad
 *  (shared with the training kernels of shardgrad.h):
 *  mlp_output: in place, logits z[m*C] (bias added) -> probabilities;
 *  mlp_loss_rows: summed loss of probabilities p[m*C] against labels y,
 *    in double, rows in order (an invalid label gives NaN);
 *  mlp_output_grad: in place, p -> dZ2 = P - onehot(Y) (an invalid label
 *    gives a NaN row). */
void mlp_output(const mlp_shape *s, float *z, int m);
double mlp_loss_rows(const mlp_shape *s, const float *p, const int32_t *y, int m);
void mlp_output_grad(const mlp_shape *s, float *p, const int32_t *y, int m);

#endif
