/** \file grid.c  The market demand index over the factor grid (see grid.h).
 *  Pure: no MPI, no I/O.
 *
 *  Preconditions (validated by config_parse): every axis value is finite
 *  and in [0, 1].  D is always evaluated as the left-to-right product
 *    D = (((auc * d) * (1 - c)) * s) * m
 *  in double, so grid_eval_block reproduces grid_index bit for bit.
 */
#include "riskgrid/grid.h"

#include <math.h>
#include <stdint.h>

/* Returns prod n[a]; 0 if an axis is empty or the product overflows
 * size_t (grid.h has no error channel; an unrepresentable grid is treated
 * as having no points, so no caller can index past its axes). */
size_t grid_size(const grid_axes *g)
{
    size_t total = 1;
    for (int a = 0; a < 4; a++) {
        if (g->n[a] == 0) {
            total = 0;
            break;
        }
        if (total > SIZE_MAX / g->n[a]) {
            total = 0;
            break;
        }
        total *= g->n[a];
    }
    return total;
}

double grid_index(double auc, double demand, double competition,
                  double service, double marketing)
{
    return auc * demand * (1.0 - competition) * service * marketing;
}

/* Writes out[i] = (float)D(start + i) for i < count, walking the C-order
 * indices as an odometer.  The prefix products auc*d and auc*d*(1-c) and
 * auc*d*(1-c)*s are the same floating-point operations, in the same order,
 * as in grid_index, so each value equals (float)grid_index(...) exactly.
 * Precondition: start + count <= grid_size(g); points past the end of the
 * grid are written as NaN instead of reading outside the axes. */
void grid_eval_block(const grid_axes *g, double auc, size_t start, size_t count, float *out)
{
    size_t total = grid_size(g);
    size_t i = 0;
    size_t id, ic, is, im, rest;
    double p1, p2, p3;

    if (count == 0 || start >= total) goto tail;
    /* start = ((id*nc + ic)*ns + is)*nm + im */
    rest = start;
    im = rest % g->n[3]; rest /= g->n[3];
    is = rest % g->n[2]; rest /= g->n[2];
    ic = rest % g->n[1]; rest /= g->n[1];
    id = rest;
    p1 = auc * g->v[0][id];
    p2 = p1 * (1.0 - g->v[1][ic]);
    p3 = p2 * g->v[2][is];
    for (; i < count && start + i < total; i++) {
        out[i] = (float)(p3 * g->v[3][im]);
        if (++im < g->n[3]) continue;
        im = 0;
        if (++is < g->n[2]) {
            p3 = p2 * g->v[2][is];
            continue;
        }
        is = 0;
        if (++ic < g->n[1]) {
            p2 = p1 * (1.0 - g->v[1][ic]);
            p3 = p2 * g->v[2][is];
            continue;
        }
        ic = 0;
        if (++id < g->n[0]) {
            p1 = auc * g->v[0][id];
            p2 = p1 * (1.0 - g->v[1][ic]);
            p3 = p2 * g->v[2][is];
        }
    }
tail:
    for (; i < count; i++) out[i] = NAN;
}

/* First C-order index of the maximum of the exact (real-arithmetic) D.
 *
 * Claim: with all factors in [0, 1] and AUC > 0, write
 *   D = AUC * f0(d) * f1(c) * f2(s) * f3(m),  f0 = d, f1 = 1 - c, f2 = s, f3 = m,
 * and let a_k = max over axis k of f_k >= 0, M_k = {i : f_k(v_k[i]) = a_k}.
 * (1) If every a_k > 0, the set of maximisers of D is M_0 x M_1 x M_2 x M_3:
 *     a point in it has D = AUC prod a_k; a point with some f_k < a_k has
 *     D <= AUC f_k prod_{j != k} a_j < AUC prod a_k (the other factors are
 *     <= a_j and non-negative, and prod_{j != k} a_j > 0).  C order is the
 *     lexicographic order on (id, ic, is, im), and the lexicographically
 *     first element of a Cartesian product is (min M_0, ..., min M_3), i.e.
 *     the first occurrence of the maximum along each axis.
 * (2) If some a_k = 0, D = 0 at every point, and the first index is 0.
 * The maximum of (1 - c) is taken as the minimum of c, which is exact
 * (1 - c in double can round distinct c to one value).
 * The result depends on neither AUC nor rounding.  A brute-force scan of
 * rounded D values agrees whenever rounding creates no tie between the
 * maximum and a non-maximal point (distinct axis values differing by more
 * than a few ulps suffice); at ulp-level near-ties this function returns
 * the exact maximiser.  Cost O(n0 + n1 + n2 + n3).
 * An empty grid returns SIZE_MAX with idx4[] = SIZE_MAX. */
size_t grid_argmax(const grid_axes *g, size_t idx4[4])
{
    size_t best[4] = {0, 0, 0, 0};
    size_t flat = SIZE_MAX;
    int zero = 0;

    if (grid_size(g) == 0) {
        for (int a = 0; a < 4; a++) idx4[a] = SIZE_MAX;
        goto done;
    }
    for (int a = 0; a < 4; a++) {
        const double *v = g->v[a];
        for (size_t i = 1; i < g->n[a]; i++) {
            int better = (a == 1) ? v[i] < v[best[a]] : v[i] > v[best[a]];
            if (better) best[a] = i;
        }
    }
    zero = g->v[0][best[0]] == 0.0 || g->v[1][best[1]] == 1.0 ||
           g->v[2][best[2]] == 0.0 || g->v[3][best[3]] == 0.0;
    if (zero)
        for (int a = 0; a < 4; a++) best[a] = 0;
    flat = ((best[0] * g->n[1] + best[1]) * g->n[2] + best[2]) * g->n[3] + best[3];
    for (int a = 0; a < 4; a++) idx4[a] = best[a];
done:
    return flat;
}
