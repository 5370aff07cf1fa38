/** \file adam.h
 *  Adam optimiser state and one update, in the Keras / TensorFlow form:
 *
 *    t     <- t + 1
 *    m     <- m + (1 - beta1) (g - m)
 *    v     <- v + (1 - beta2) (g*g - v)
 *    alpha  = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *    p     <- p - alpha * m / (sqrt(v) + eps)
 *
 *  (eps is added to sqrt(v) without bias correction, as Keras does.)
 *  Pure: no MPI; every rank applies it to identical inputs and so keeps
 *  an identical replica.  alpha is computed in double, the element update
 *  in float with a fixed operation order so it is reproducible.
 */
#ifndef RISKGRID_ADAM_H
#define RISKGRID_ADAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct adam_params {
    double lr, beta1, beta2, eps;
} adam_params;

typedef struct adam_state {
    size_t n;     /**< number of parameters */
    int64_t t;    /**< steps taken */
    float *m;     /**< first moments [n] */
    float *v;     /**< second moments [n] */
} adam_state;

/** New state with zero moments and t = 0; NULL on allocation failure. */
adam_state *adam_new(size_t n);
void adam_free(adam_state *a);

/** One update of params[n] with gradient g[n]. */
void adam_step(adam_state *a, const adam_params *hp, float *params, const float *g);

/** The same update with g[i] = (float)(((double)q[i] * f) * mul) made on
 *  the fly (the gradient exactsum_to_float gives for f = 2^-scale when
 *  that is a normal double), saving a pass over the parameters. */
void adam_step_fixed(adam_state *a, const adam_params *hp, float *params, const int64_t *q, double f, double mul);

/** adam_step and adam_step_fixed restricted to elements [lo, hi) of
 *  params, g / q and the moments (t still advances by one): the elements
 *  of the range get exactly the bits of the full step, the others are
 *  left as they are.  For an update split over ranks, each rank stepping
 *  its own range and then exchanging parameters (and, for a checkpoint,
 *  moments).  lo <= hi <= n. */
void adam_step_range(adam_state *a, const adam_params *hp, float *params, const float *g, size_t lo, size_t hi);
void adam_step_fixed_range(adam_state *a, const adam_params *hp, float *params, const int64_t *q, double f, double mul,
                           size_t lo, size_t hi);

/** adam_step_fixed_range with q[i] the wrap-around sum of the nq >= 1
 *  arrays part[0..nq)[i]: the ranks' contributions to a reduction, added
 *  while the update runs (the reads of other ranks' memory then overlap
 *  the update's divisions instead of taking a pass of their own).  Same
 *  bits as adam_step_fixed_range on the summed array. */
void adam_step_fixed_parts(adam_state *a, const adam_params *hp, float *params, const int64_t *const *part, int nq,
                           double f, double mul, size_t lo, size_t hi);

#endif
