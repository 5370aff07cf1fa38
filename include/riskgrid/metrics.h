/** \file metrics.h
 *  Credit-risk and demand metrics computed from a result file's arrays
 *  (used by `riskgrid report` and `riskgrid compare`).  Pure: no MPI, no
 *  I/O, no global state; every function works on caller-owned arrays.
 *
 *  Conventions: a score is the predicted probability of the positive class
 *  (label != 0); "predict positive" means score >= threshold.  Rows are
 *  ordered by score, and rows with equal scores by their position in the
 *  input (stable), so every table is deterministic.
 *
 *  - Gini = 2 AUC - 1.
 *  - KS = max over thresholds t of |TPR(t) - FPR(t)| (the two-sample
 *    Kolmogorov-Smirnov statistic of the positive and negative score
 *    distributions); thresholds are the distinct scores, so tied scores
 *    are never split.
 *  - Brier = mean (score - y)^2 (binary); for K classes the original
 *    (Brier 1950) multi-class form mean_i sum_k (p_ik - [y_i = k])^2.
 *  - Calibration: rows sorted by ascending score, cut into `bins`
 *    equal-count groups by rank (group b holds ranks [b n / bins,
 *    (b+1) n / bins)); per group mean score vs observed positive rate.
 *    Hosmer-Lemeshow H = sum_b (O_b - E_b)^2 / (E_b (1 - E_b / n_b)),
 *    p = chi2 survival at H with bins - 2 degrees of freedom.
 *  - Lift/gains: rows sorted by descending score, `bins` equal-count
 *    groups; per group the positive rate, its lift over the overall
 *    rate, the cumulative share of all positives captured (gains) and
 *    the cumulative lift.
 *  - Elasticity of D = grid_index(...) with respect to factor k at a
 *    point x: d ln D / d ln x_k = x_k (dD/dx_k) / D, by central finite
 *    differences of grid_index (closed form: 1 for demand, service,
 *    marketing; -c / (1 - c) for competition).
 *  - Paired DeLong test of two AUCs of two scores on the same rows
 *    (DeLong, DeLong & Clarke-Pearson 1988) with Sun & Xu's (2014)
 *    midrank structural components: V10 for positives, V01 for negatives
 *    of each score; S10, S01 their 2x2 sample covariances (n - 1);
 *    var(A1 - A2) = (S10_11 + S10_22 - 2 S10_12) / n1
 *                 + (S01_11 + S01_22 - 2 S01_12) / n0,
 *    z = (A1 - A2) / sqrt(var), two-sided p = erfc(|z| / sqrt 2).
 */
#ifndef RISKGRID_METRICS_H
#define RISKGRID_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "riskgrid/error.h"

/** Gini coefficient (accuracy ratio) 2 auc - 1. */
double metrics_gini(double auc);

/** KS statistic and the threshold where it is reached (the first, from
 *  the highest score down, on ties of the statistic).  ERR_NUMERIC when a
 *  class is missing or a score is NaN; ERR_NOMEM. */
int metrics_ks(const double *score, const int32_t *label, size_t n,
               double *ks, double *threshold, rg_error *err);

/** Brier score of a binary score vector (label != 0 is positive).
 *  ERR_NUMERIC for n == 0 or a NaN score. */
int metrics_brier(const double *score, const int32_t *label, size_t n,
                  double *brier, rg_error *err);

/** Multi-class Brier score of prob[n * k] (row-major) against labels in
 *  0..k-1 (a label outside gives ERR_INPUT). */
int metrics_brier_multi(const double *prob, const int32_t *label, size_t n, int k,
                        double *brier, rg_error *err);

/** One calibration group (ascending score). */
typedef struct metrics_calib_bin {
    size_t n;             /**< rows in the group */
    double score_min, score_max;
    double mean_score;    /**< mean predicted probability */
    double observed;      /**< observed positive (default) rate */
    size_t positives;
} metrics_calib_bin;

/** Calibration table: out[bins] (bins >= 1, bins <= n).  *hl and *hl_p
 *  receive the Hosmer-Lemeshow statistic and its p-value (NaN when
 *  bins < 3 or a group has E_b of 0 or n_b); either may be NULL. */
int metrics_calibration(const double *score, const int32_t *label, size_t n, size_t bins,
                        metrics_calib_bin *out, double *hl, double *hl_p, rg_error *err);

/** One lift/gains group (descending score). */
typedef struct metrics_lift_bin {
    size_t n, positives;
    double score_min, score_max;
    double rate;          /**< positives / n */
    double lift;          /**< rate / overall positive rate */
    double cum_share;     /**< share of all rows in groups 0..b */
    double gains;         /**< share of all positives in groups 0..b */
    double cum_lift;      /**< gains / cum_share */
} metrics_lift_bin;

/** Lift/gains table out[bins] (bins >= 1, bins <= n); needs at least one
 *  positive (ERR_NUMERIC otherwise). */
int metrics_lift(const double *score, const int32_t *label, size_t n, size_t bins,
                 metrics_lift_bin *out, rg_error *err);

/** Elasticities of D at x[4] (demand, competition, service, marketing)
 *  by central finite differences of grid_index.  out[k] is NaN where it
 *  is undefined (D = 0 at x). */
void metrics_elasticities(double auc, const double x[4], double out[4]);

/** Survival function of the chi-square distribution, P(X > x) with df
 *  degrees of freedom (regularised upper incomplete gamma Q(df/2, x/2)).
 *  NaN for df <= 0 or x < 0 or NaN. */
double metrics_chi2_sf(double x, int df);

/** Top k values with their flat indices, kept in a heap of size k.
 *  Order: larger value first; equal values by smaller index first (the
 *  first in C order).  NaN values are ignored. */
typedef struct metrics_topk {
    size_t k;           /**< capacity */
    size_t n;           /**< entries held (<= k) */
    double *val;
    uint64_t *idx;
} metrics_topk;

/** Allocate a heap for k >= 1 entries.  ERR_NOMEM, ERR_INTERNAL for k 0. */
int metrics_topk_init(metrics_topk *t, size_t k, rg_error *err);

/** Offer one value. */
void metrics_topk_push(metrics_topk *t, double v, uint64_t idx);

/** Sort the held entries best first (val[0] is the maximum); the heap is
 *  no longer a heap afterwards (push only before calling this). */
void metrics_topk_sort(metrics_topk *t);

/** Free the arrays and zero the struct (NULL-safe). */
void metrics_topk_free(metrics_topk *t);

/** Result of the paired DeLong test. */
typedef struct metrics_paired {
    double auc1, auc2;
    double var1, var2, cov;  /**< DeLong variances and covariance */
    double diff;             /**< auc1 - auc2 */
    double se;               /**< sqrt(var1 + var2 - 2 cov) */
    double z;                /**< diff / se (0 when diff = 0 and se = 0; +-inf when only se = 0) */
    double p;                /**< two-sided p-value erfc(|z| / sqrt 2) */
    size_t n_pos, n_neg;
} metrics_paired;

/** Paired DeLong test of score1[i*stride1] and score2[i*stride2] (i < n)
 *  against the same labels (label != 0 positive; for one-vs-rest pass
 *  the class test in `positive`: a row is positive when label ==
 *  positive, or when positive < 0, when label != 0).  ERR_NUMERIC when
 *  a class is missing or a score is NaN; ERR_NOMEM. */
int metrics_delong_paired(const double *score1, size_t stride1,
                          const double *score2, size_t stride2,
                          const int32_t *label, int32_t positive, size_t n,
                          metrics_paired *res, rg_error *err);

#endif
