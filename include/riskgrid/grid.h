/** \file grid.h
 *  The market demand index over the Cartesian grid of four factors:
 *
 *    D(d, c, s, m) = AUC * d * (1 - c) * s * m
 *
 *  with the grid laid out C-order, index ((id*nc + ic)*ns + is)*nm + im.
 *  D_lo and D_hi use the lower and upper ends of the AUC interval (every
 *  factor is in [0, 1], so D is monotone in AUC).  Pure, no MPI.
 */
#ifndef RISKGRID_GRID_H
#define RISKGRID_GRID_H

#include <stddef.h>
#include <stdint.h>

typedef struct grid_axes {
    const double *v[4];   /**< demand, competition, service, marketing */
    size_t n[4];
} grid_axes;

/** Total number of grid points (product of the axis lengths). */
size_t grid_size(const grid_axes *g);

/** D for one point. */
double grid_index(double auc, double demand, double competition,
                  double service, double marketing);

/** D over the flat index block [start, start + count): out[count]. */
void grid_eval_block(const grid_axes *g, double auc, size_t start, size_t count, float *out);

/** First flat index of the maximum of D over the whole grid (D's maximum
 *  for AUC > 0 does not depend on AUC); idx4[4] receives its axis indices. */
size_t grid_argmax(const grid_axes *g, size_t idx4[4]);

#endif
