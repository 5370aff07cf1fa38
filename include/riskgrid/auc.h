/** \file auc.h
 *  ROC AUC, ROC curve and the DeLong confidence interval.  Pure, no MPI.
 *
 *  AUC is the Mann-Whitney statistic with ties counted half, equal to
 *  scikit-learn's roc_auc_score.  The variance is DeLong's, computed with
 *  Sun & Xu's (2014) midrank method in O(n log n):
 *    V10_i = (R_i - R+_i) / n0  for each positive i,
 *    V01_j = 1 - (R_j - R-_j) / n1 for each negative j,
 *  where R is the midrank among all scores, R+ among positives only, R-
 *  among negatives only; var = s10/n1 + s01/n0 with s the sample variances
 *  (n-1 denominators).  The 95% interval is auc +- 1.959963985 sqrt(var),
 *  clipped to [0, 1].
 */
#ifndef RISKGRID_AUC_H
#define RISKGRID_AUC_H

#include <stddef.h>
#include <stdint.h>
#include "riskgrid/error.h"

typedef struct auc_result {
    double auc;
    double var;     /**< DeLong variance */
    double lo, hi;  /**< 95% interval, clipped to [0,1] */
    size_t n_pos, n_neg;
} auc_result;

/** Binary AUC of scores[n] against labels[n] (nonzero = positive).
 *  ERR_NUMERIC when only one class is present (AUC undefined) or a score
 *  is NaN; ERR_NOMEM.  With n_pos or n_neg == 1 the variance is 0. */
int auc_delong(const double *scores, const int32_t *labels, size_t n,
               auc_result *res, rg_error *err);

/** Macro one-vs-rest AUC for K classes: prob is n*K row-major, labels in
 *  0..K-1.  per_class[K] receives each class's result (may be NULL).
 *  The macro interval uses var = sum_k var_k / K^2 (classes treated as
 *  independent; documented approximation).  Every class must have at
 *  least one positive and one negative row, else ERR_NUMERIC. */
int auc_macro_ovr(const double *prob, const int32_t *labels, size_t n, int k,
                  auc_result *res, auc_result *per_class, rg_error *err);

/** ROC curve as scikit-learn's roc_curve(drop_intermediate=False): one
 *  point per distinct score, descending, preceded by (0, 0) with
 *  threshold +inf.  *fpr, *tpr, *thr are malloc'd with *n_points. */
int auc_roc_curve(const double *scores, const int32_t *labels, size_t n,
                  double **fpr, double **tpr, double **thr, size_t *n_points,
                  rg_error *err);

#endif
