/** \file auc.c  ROC AUC with the DeLong interval, macro one-vs-rest AUC and
 *  the ROC curve (see auc.h).  Pure: no MPI, no I/O.
 *
 *  Every routine sorts the rows once, ascending by the total order
 *  (score, row index), with qsort on an array of (score, index, class)
 *  items.  Because the order is total, the permutation qsort produces is
 *  unique, so the results do not depend on the qsort implementation.
 *  Results depend only on the multiset of (score, class) pairs: all sums
 *  run over tie groups in score order, so permuting the rows gives
 *  bit-identical output.
 *
 *  Midrank identities used (n1 positives, n0 negatives).  Take one tie
 *  group (all rows with one score value) holding p positives and q
 *  negatives, with P positives and Q negatives strictly below it.  Then
 *    R   = P + Q + (p + q + 1) / 2   (midrank among all scores)
 *    R+  = P + (p + 1) / 2           (midrank among positives)
 *    R-  = Q + (q + 1) / 2           (midrank among negatives)
 *  so for a positive of the group
 *    V10 = (R - R+) / n0 = (Q + q/2) / n0,
 *  the fraction of negatives below it with ties counted half, and for a
 *  negative
 *    V01 = 1 - (R - R-) / n1 = 1 - (P + p/2) / n1,
 *  the fraction of positives above it with ties counted half.  These are
 *  exactly DeLong's structural components (psi = 1 / 0.5 / 0 for
 *  greater / tied / smaller), which is the content of Sun & Xu (2014).
 *  The AUC is the mean of V10 over positives (equivalently of V01 over
 *  negatives), i.e. the Mann-Whitney U / (n1 n0) with ties counted half.
 */
#include "riskgrid/auc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/** z_{0.975} of the standard normal (the header's 1.959963985). */
#define AUC_Z975 1.959963985

/** One row as sorted: score, original row (tie-break), 1 if positive. */
typedef struct auc_item {
    double score;
    size_t row;
    int pos;
} auc_item;

/* Total order on (score, row); scores are never NaN here. */
static int item_cmp(const void *pa, const void *pb)
{
    const auc_item *a = pa;
    const auc_item *b = pb;
    int c = 0;
    if (a->score < b->score) c = -1;
    else if (a->score > b->score) c = 1;
    else if (a->row < b->row) c = -1;
    else if (a->row > b->row) c = 1;
    return c;
}

/* Allocate n sort items; NULL when n == 0, on overflow or on failure. */
static auc_item *items_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX / sizeof(auc_item)) return NULL;
    return malloc(n * sizeof(auc_item));
}

/* Fill items[n] from scores[i * stride] and the class predicate
 * (cls < 0: label != 0 is positive; cls >= 0: label == cls is positive),
 * check for NaN, count the classes and sort.  Returns 0 or ERR_NUMERIC. */
static int items_load(const double *scores, size_t stride, const int32_t *labels,
                      int32_t cls, size_t n, auc_item *items,
                      size_t *n_pos, size_t *n_neg, rg_error *err)
{
    int rc = 0;
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        double s = scores[i * stride];
        int pos = cls < 0 ? labels[i] != 0 : labels[i] == cls;
        if (isnan(s)) {
            rc = error_set(err, ERR_NUMERIC, "AUC is undefined: the score of row %zu is NaN", i);
            goto done;
        }
        items[i].score = s;
        items[i].row = i;
        items[i].pos = pos;
        np += (size_t)pos;
    }
    qsort(items, n, sizeof *items, item_cmp);
    *n_pos = np;
    *n_neg = n - np;
done:
    return rc;
}

/* Binary AUC and DeLong variance on sorted items (see the file comment).
 * Requires n1 >= 1 and n0 >= 1.
 *
 * Exactness: the AUC numerator 2 U = sum_groups p (2 Q + q) is an integer
 * accumulated in uint64_t (n <= 2^32 keeps it below 2^63), and the AUC is
 * the single rounding (2U) / (2 n1 n0) when 2U and 2 n1 n0 are below
 * 2^53, so it is the correctly rounded Mann-Whitney value.
 *
 * Variance: the sample variances use the AUC as the mean of both V10
 * and V01 (their exact common mean), with n - 1 denominators:
 *   s10 = sum_pos (V10 - auc)^2 / (n1 - 1),
 *   s01 = sum_neg (V01 - auc)^2 / (n0 - 1),
 *   var = s10 / n1 + s01 / n0;  var = 0 when n1 == 1 or n0 == 1 (auc.h). */
static void auc_from_sorted(const auc_item *items, size_t n, size_t n1, size_t n0,
                            auc_result *res)
{
    uint64_t twice_u = 0;
    size_t below_pos = 0, below_neg = 0;
    double auc, var = 0.0, se, lo, hi;
    double dn1 = (double)n1, dn0 = (double)n0;

    for (size_t a = 0; a < n;) {
        size_t b = a, p = 0, q = 0;
        while (b < n && items[b].score == items[a].score) {
            if (items[b].pos) p++; else q++;
            b++;
        }
        twice_u += (uint64_t)p * (2u * (uint64_t)below_neg + (uint64_t)q);
        below_pos += p;
        below_neg += q;
        a = b;
    }
    auc = (double)twice_u / (2.0 * dn1 * dn0);

    if (n1 > 1 && n0 > 1) {
        double ss10 = 0.0, ss01 = 0.0;
        below_pos = 0;
        below_neg = 0;
        for (size_t a = 0; a < n;) {
            size_t b = a, p = 0, q = 0;
            while (b < n && items[b].score == items[a].score) {
                if (items[b].pos) p++; else q++;
                b++;
            }
            if (p > 0) {
                double v10 = ((double)below_neg + 0.5 * (double)q) / dn0;
                ss10 += (double)p * (v10 - auc) * (v10 - auc);
            }
            if (q > 0) {
                double v01 = 1.0 - ((double)below_pos + 0.5 * (double)p) / dn1;
                ss01 += (double)q * (v01 - auc) * (v01 - auc);
            }
            below_pos += p;
            below_neg += q;
            a = b;
        }
        var = ss10 / (dn1 - 1.0) / dn1 + ss01 / (dn0 - 1.0) / dn0;
    }

    se = sqrt(var);
    lo = auc - AUC_Z975 * se;
    hi = auc + AUC_Z975 * se;
    res->auc = auc;
    res->var = var;
    res->lo = lo < 0.0 ? 0.0 : lo;
    res->hi = hi > 1.0 ? 1.0 : hi;
    res->n_pos = n1;
    res->n_neg = n0;
}

/* ERR_NUMERIC for an empty input (n == 0) or one with a single class
 * (n0 == 0 or n1 == 0), with the message auc.h promises; else 0. */
static int check_two_classes(size_t n, size_t n1, size_t n0, rg_error *err)
{
    int rc = 0;
    if (n == 0)
        rc = error_set(err, ERR_NUMERIC, "AUC is undefined: the test set is empty");
    else if (n0 == 0)
        rc = error_set(err, ERR_NUMERIC,
                       "AUC is undefined: the test set has only one class (%zu rows of class 1)", n1);
    else if (n1 == 0)
        rc = error_set(err, ERR_NUMERIC,
                       "AUC is undefined: the test set has only one class (%zu rows of class 0)", n0);
    return rc;
}

/* The 2U accumulator bound (see auc_from_sorted). */
static int check_size(size_t n, rg_error *err)
{
    int rc = 0;
    if ((uint64_t)n > UINT32_MAX)
        rc = error_set(err, ERR_NUMERIC, "AUC: %zu rows exceed the supported 2^32", n);
    return rc;
}

int auc_delong(const double *scores, const int32_t *labels, size_t n,
               auc_result *res, rg_error *err)
{
    int rc = 0;
    auc_item *items = NULL;
    size_t n1 = 0, n0 = 0;

    if (res == NULL || (n > 0 && (scores == NULL || labels == NULL))) {
        rc = error_set(err, ERR_INTERNAL, "auc_delong: NULL argument");
        goto done;
    }
    if (n == 0) {
        rc = check_two_classes(n, 0, 0, err);
        goto done;
    }
    if ((rc = check_size(n, err)) != 0) goto done;
    items = items_alloc(n);
    if (items == NULL) {
        rc = error_set(err, ERR_NOMEM, "auc_delong: cannot allocate %zu sort items", n);
        goto done;
    }
    if ((rc = items_load(scores, 1, labels, -1, n, items, &n1, &n0, err)) != 0) goto done;
    if ((rc = check_two_classes(n, n1, n0, err)) != 0) goto done;
    auc_from_sorted(items, n, n1, n0, res);
done:
    free(items);
    return rc;
}

int auc_macro_ovr(const double *prob, const int32_t *labels, size_t n, int k,
                  auc_result *res, auc_result *per_class, rg_error *err)
{
    int rc = 0;
    auc_item *items = NULL;
    size_t *count = NULL;
    double sum_auc = 0.0, sum_var = 0.0, se, lo, hi;
    size_t min_pos = SIZE_MAX, min_neg = SIZE_MAX;

    if (res == NULL || k <= 0 || (n > 0 && (prob == NULL || labels == NULL))) {
        rc = error_set(err, ERR_INTERNAL, "auc_macro_ovr: NULL argument or k = %d <= 0", k);
        goto done;
    }
    if (n == 0) {
        rc = error_set(err, ERR_NUMERIC, "AUC is undefined: the test set is empty");
        goto done;
    }
    if ((rc = check_size(n, err)) != 0) goto done;
    count = calloc((size_t)k, sizeof *count);
    items = items_alloc(n);
    if (count == NULL || items == NULL) {
        rc = error_set(err, ERR_NOMEM, "auc_macro_ovr: cannot allocate for %zu rows, %d classes", n, k);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k) {
            rc = error_set(err, ERR_INPUT, "macro AUC: label %d of row %zu is outside 0..%d",
                           (int)labels[i], i, k - 1);
            goto done;
        }
        count[labels[i]]++;
    }
    for (int c = 0; c < k; c++) {
        if (count[c] == 0 || count[c] == n) {
            rc = error_set(err, ERR_NUMERIC,
                           "macro AUC is undefined: class %d has %zu of %zu rows "
                           "(one-vs-rest needs rows in and out of every class)", c, count[c], n);
            goto done;
        }
    }
    /* Macro AUC = (1/K) sum_k AUC_k with AUC_k the binary AUC of column k
     * against (label == k); var = sum_k var_k / K^2 (independence assumed). */
    for (int c = 0; c < k; c++) {
        rg_error local;
        auc_result r;
        size_t n1 = 0, n0 = 0;
        error_clear(&local);
        rc = items_load(prob + c, (size_t)k, labels, (int32_t)c, n, items, &n1, &n0, &local);
        if (rc != 0) {
            rc = error_set(err, rc, "macro AUC, probabilities of class %d: %s", c, local.msg);
            goto done;
        }
        auc_from_sorted(items, n, n1, n0, &r);
        if (per_class != NULL) per_class[c] = r;
        sum_auc += r.auc;
        sum_var += r.var;
        if (r.n_pos < min_pos) min_pos = r.n_pos;
        if (r.n_neg < min_neg) min_neg = r.n_neg;
    }
    res->auc = sum_auc / (double)k;
    res->var = sum_var / ((double)k * (double)k);
    se = sqrt(res->var);
    lo = res->auc - AUC_Z975 * se;
    hi = res->auc + AUC_Z975 * se;
    res->lo = lo < 0.0 ? 0.0 : lo;
    res->hi = hi > 1.0 ? 1.0 : hi;
    /* Macro counts: the smallest per-class positive and negative counts,
     * i.e. the sample sizes that limit the interval. */
    res->n_pos = min_pos;
    res->n_neg = min_neg;
done:
    free(items);
    free(count);
    return rc;
}

/* ROC curve, as scikit-learn's roc_curve(drop_intermediate=False):
 * walking the tie groups from the highest score down, point g (g >= 1)
 * has threshold = the group's score, tpr = TP/n1 and fpr = FP/n0 where
 * TP, FP count the positives / negatives with score >= threshold.
 * Point 0 is (0, 0) with threshold +INFINITY (scikit-learn >= 1.3; older
 * versions used max score + 1).  Errors as auc_delong: empty input, one
 * class only (a rate would be 0/0) or a NaN score give ERR_NUMERIC.
 * On failure the outputs are NULL and *n_points is 0. */
int auc_roc_curve(const double *scores, const int32_t *labels, size_t n,
                  double **fpr, double **tpr, double **thr, size_t *n_points,
                  rg_error *err)
{
    int rc = 0;
    auc_item *items = NULL;
    double *f = NULL, *t = NULL, *h = NULL;
    size_t n1 = 0, n0 = 0, groups = 0, m = 0;

    if (fpr == NULL || tpr == NULL || thr == NULL || n_points == NULL ||
        (n > 0 && (scores == NULL || labels == NULL))) {
        rc = error_set(err, ERR_INTERNAL, "auc_roc_curve: NULL argument");
        goto done;
    }
    *fpr = NULL;
    *tpr = NULL;
    *thr = NULL;
    *n_points = 0;
    if (n == 0) {
        rc = check_two_classes(n, 0, 0, err);
        goto done;
    }
    items = items_alloc(n);
    if (items == NULL) {
        rc = error_set(err, ERR_NOMEM, "auc_roc_curve: cannot allocate %zu sort items", n);
        goto done;
    }
    if ((rc = items_load(scores, 1, labels, -1, n, items, &n1, &n0, err)) != 0) goto done;
    if ((rc = check_two_classes(n, n1, n0, err)) != 0) goto done;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || items[i].score != items[i - 1].score) groups++;
    m = groups + 1;  /* <= n + 1, no overflow: n <= SIZE_MAX / sizeof(auc_item) */
    f = malloc(m * sizeof *f);
    t = malloc(m * sizeof *t);
    h = malloc(m * sizeof *h);
    if (f == NULL || t == NULL || h == NULL) {
        rc = error_set(err, ERR_NOMEM, "auc_roc_curve: cannot allocate %zu points", m);
        goto done;
    }
    f[0] = 0.0;
    t[0] = 0.0;
    h[0] = INFINITY;
    {
        size_t tp = 0, fp = 0, g = 1, b = n;  /* items[b..n) already passed */
        while (b > 0) {
            size_t a = b - 1;
            while (a > 0 && items[a - 1].score == items[b - 1].score) a--;
            for (size_t i = a; i < b; i++) {
                if (items[i].pos) tp++; else fp++;
            }
            f[g] = (double)fp / (double)n0;
            t[g] = (double)tp / (double)n1;
            h[g] = items[a].score;
            g++;
            b = a;
        }
    }
    *fpr = f;
    *tpr = t;
    *thr = h;
    *n_points = m;
    f = NULL;
    t = NULL;
    h = NULL;
done:
    free(items);
    free(f);
    free(t);
    free(h);
    return rc;
}
