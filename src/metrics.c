/** \file metrics.c  Credit-risk and demand metrics (see metrics.h).
 *  Pure: no MPI, no I/O.  Sorting uses (score, row position) keys so
 *  tables never depend on qsort's treatment of equal keys.
 */
#include "riskgrid/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/grid.h"

typedef struct ranked {
    double s;
    size_t i;
} ranked;

/* ascending score, then ascending position */
static int cmp_asc(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->s < b->s) return -1;
    if (a->s > b->s) return 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* descending score, then ascending position */
static int cmp_desc(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->s > b->s) return -1;
    if (a->s < b->s) return 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Sorted copy of score[i*stride]; NaN -> ERR_NUMERIC. */
static int sorted_items(const double *score, size_t stride, size_t n, int descending,
                        ranked **out, rg_error *err)
{
    ranked *r = NULL;
    int rc = 0;

    *out = NULL;
    if (n == 0) return error_set(err, ERR_NUMERIC, "no rows to score");
    if (n > SIZE_MAX / sizeof *r) return error_set(err, ERR_NOMEM, "out of memory (%zu rows)", n);
    r = malloc(n * sizeof *r);
    if (r == NULL) return error_set(err, ERR_NOMEM, "out of memory (%zu rows)", n);
    for (size_t i = 0; i < n; i++) {
        r[i].s = score[i * stride];
        r[i].i = i;
        if (isnan(r[i].s)) {
            rc = error_set(err, ERR_NUMERIC, "score of row %zu is NaN", i);
            goto done;
        }
    }
    qsort(r, n, sizeof *r, descending ? cmp_desc : cmp_asc);
    *out = r;
    r = NULL;
done:
    free(r);
    return rc;
}

static int count_classes(const int32_t *label, size_t n, size_t *n1, size_t *n0, rg_error *err)
{
    size_t p = 0;
    for (size_t i = 0; i < n; i++) p += label[i] != 0;
    *n1 = p;
    *n0 = n - p;
    if (p == 0 || p == n)
        return error_set(err, ERR_NUMERIC, "only one class among the %zu rows (%zu positive): the metric is undefined", n, p);
    return 0;
}

double metrics_gini(double auc)
{
    return 2.0 * auc - 1.0;
}

int metrics_ks(const double *score, const int32_t *label, size_t n,
               double *ks, double *threshold, rg_error *err)
{
    ranked *r = NULL;
    size_t n1 = 0, n0 = 0;
    uint64_t tp = 0, fp = 0, best = 0;
    double thr = INFINITY;
    int rc = 0;

    if ((rc = count_classes(label, n, &n1, &n0, err)) != 0) goto done;
    if (n > ((size_t)1 << 32)) {
        rc = error_set(err, ERR_NUMERIC, "KS: %zu rows is more than this implementation handles (2^32)", n);
        goto done;
    }
    if ((rc = sorted_items(score, 1, n, 1, &r, err)) != 0) goto done;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && r[b].s == r[a].s) {
            if (label[r[b].i] != 0) tp++;
            else fp++;
            b++;
        }
        /* |tp/n1 - fp/n0| compared exactly as |tp n0 - fp n1| (integers,
         * n1 n0 <= n^2 / 4 < 2^64), so ties of the statistic are real ties */
        uint64_t u = tp * (uint64_t)n0, v = fp * (uint64_t)n1;
        uint64_t d = u > v ? u - v : v - u;
        if (d > best) {
            best = d;
            thr = r[a].s;
        }
        a = b;
    }
    *ks = (double)best / ((double)n1 * (double)n0);
    *threshold = thr;
done:
    free(r);
    return rc;
}

int metrics_brier(const double *score, const int32_t *label, size_t n,
                  double *brier, rg_error *err)
{
    double acc = 0.0;
    if (n == 0) return error_set(err, ERR_NUMERIC, "no rows to score");
    for (size_t i = 0; i < n; i++) {
        double d = score[i] - (label[i] != 0 ? 1.0 : 0.0);
        if (isnan(score[i])) return error_set(err, ERR_NUMERIC, "score of row %zu is NaN", i);
        acc += d * d;
    }
    *brier = acc / (double)n;
    return 0;
}

int metrics_brier_multi(const double *prob, const int32_t *label, size_t n, int k,
                        double *brier, rg_error *err)
{
    double acc = 0.0;
    if (n == 0 || k < 2) return error_set(err, ERR_NUMERIC, "no rows or fewer than 2 classes to score");
    for (size_t i = 0; i < n; i++) {
        if (label[i] < 0 || label[i] >= k)
            return error_set(err, ERR_INPUT, "label %d of row %zu is outside 0..%d", (int)label[i], i, k - 1);
        for (int c = 0; c < k; c++) {
            double p = prob[i * (size_t)k + (size_t)c];
            double d = p - (label[i] == c ? 1.0 : 0.0);
            if (isnan(p)) return error_set(err, ERR_NUMERIC, "score of row %zu class %d is NaN", i, c);
            acc += d * d;
        }
    }
    *brier = acc / (double)n;
    return 0;
}

static int check_bins(size_t n, size_t bins, rg_error *err)
{
    if (bins == 0 || bins > n)
        return error_set(err, ERR_NUMERIC, "cannot cut %zu rows into %zu groups", n, bins);
    return 0;
}

int metrics_calibration(const double *score, const int32_t *label, size_t n, size_t bins,
                        metrics_calib_bin *out, double *hl, double *hl_p, rg_error *err)
{
    ranked *r = NULL;
    double h = 0.0;
    int hl_ok = bins >= 3;
    int rc = 0;

    if ((rc = check_bins(n, bins, err)) != 0) goto done;
    if ((rc = sorted_items(score, 1, n, 0, &r, err)) != 0) goto done;
    for (size_t b = 0; b < bins; b++) {
        size_t lo = b * n / bins, hi = (b + 1) * n / bins, pos = 0;
        double sum = 0.0;
        for (size_t j = lo; j < hi; j++) {
            sum += r[j].s;
            pos += label[r[j].i] != 0;
        }
        out[b].n = hi - lo;
        out[b].score_min = r[lo].s;
        out[b].score_max = r[hi - 1].s;
        out[b].mean_score = sum / (double)(hi - lo);
        out[b].observed = (double)pos / (double)(hi - lo);
        out[b].positives = pos;
        {
            double e = sum, nb = (double)(hi - lo), o = (double)pos;
            double den = e * (1.0 - e / nb);
            if (!(den > 0.0)) hl_ok = 0;
            else h += (o - e) * (o - e) / den;
        }
    }
    if (hl != NULL) *hl = hl_ok ? h : NAN;
    if (hl_p != NULL) *hl_p = hl_ok ? metrics_chi2_sf(h, (int)bins - 2) : NAN;
done:
    free(r);
    return rc;
}

int metrics_lift(const double *score, const int32_t *label, size_t n, size_t bins,
                 metrics_lift_bin *out, rg_error *err)
{
    ranked *r = NULL;
    size_t total_pos = 0, cum_pos = 0, cum_n = 0;
    double base;
    int rc = 0;

    if ((rc = check_bins(n, bins, err)) != 0) goto done;
    for (size_t i = 0; i < n; i++) total_pos += label[i] != 0;
    if (total_pos == 0) {
        rc = error_set(err, ERR_NUMERIC, "no positive rows: lift is undefined");
        goto done;
    }
    base = (double)total_pos / (double)n;
    if ((rc = sorted_items(score, 1, n, 1, &r, err)) != 0) goto done;
    for (size_t b = 0; b < bins; b++) {
        size_t lo = b * n / bins, hi = (b + 1) * n / bins, pos = 0;
        for (size_t j = lo; j < hi; j++) pos += label[r[j].i] != 0;
        cum_pos += pos;
        cum_n += hi - lo;
        out[b].n = hi - lo;
        out[b].positives = pos;
        out[b].score_max = r[lo].s;
        out[b].score_min = r[hi - 1].s;
        out[b].rate = (double)pos / (double)(hi - lo);
        out[b].lift = out[b].rate / base;
        out[b].cum_share = (double)cum_n / (double)n;
        out[b].gains = (double)cum_pos / (double)total_pos;
        out[b].cum_lift = out[b].gains / out[b].cum_share;
    }
done:
    free(r);
    return rc;
}

/* D with factor k replaced by v */
static double d_at(double auc, const double x[4], int k, double v)
{
    double y[4];
    memcpy(y, x, sizeof y);
    y[k] = v;
    return grid_index(auc, y[0], y[1], y[2], y[3]);
}

/* Central differences; D is linear in each factor, so the only error is
 * rounding, about DBL_EPSILON * |x| / h relative: h = 1e-5 max(|x|, 1e-3)
 * keeps it near 1e-11. */
void metrics_elasticities(double auc, const double x[4], double out[4])
{
    double d0 = grid_index(auc, x[0], x[1], x[2], x[3]);
    for (int k = 0; k < 4; k++) {
        double h = 1e-5 * fmax(fabs(x[k]), 1e-3);
        double dd = (d_at(auc, x, k, x[k] + h) - d_at(auc, x, k, x[k] - h)) / (2.0 * h);
        out[k] = (d0 != 0.0 && isfinite(d0)) ? x[k] * dd / d0 : NAN;
    }
}

/* Regularised upper incomplete gamma Q(a, x): series for x < a + 1,
 * Lentz continued fraction otherwise (Numerical Recipes 6.2). */
static double gamma_q(double a, double x)
{
    const int itmax = 1000;
    const double eps = 1e-15, fpmin = DBL_MIN / DBL_EPSILON;
    double lg = lgamma(a);

    if (x <= 0.0) return 1.0;
    if (x < a + 1.0) {
        double ap = a, sum = 1.0 / a, del = sum;
        for (int i = 0; i < itmax; i++) {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * eps) break;
        }
        return 1.0 - sum * exp(-x + a * log(x) - lg);
    } else {
        double b = x + 1.0 - a, c = 1.0 / fpmin, d = 1.0 / b, h = d;
        for (int i = 1; i <= itmax; i++) {
            double an = -i * (i - a), del;
            b += 2.0;
            d = an * d + b;
            if (fabs(d) < fpmin) d = fpmin;
            c = b + an / c;
            if (fabs(c) < fpmin) c = fpmin;
            d = 1.0 / d;
            del = d * c;
            h *= del;
            if (fabs(del - 1.0) < eps) break;
        }
        return exp(-x + a * log(x) - lg) * h;
    }
}

double metrics_chi2_sf(double x, int df)
{
    if (df <= 0 || !(x >= 0.0)) return NAN;
    if (isinf(x)) return 0.0;
    return gamma_q(0.5 * df, 0.5 * x);
}

/* ---- top-k ----------------------------------------------------------- */

static int better(double va, uint64_t ia, double vb, uint64_t ib)
{
    return va > vb || (va == vb && ia < ib);
}

static void topk_swap(metrics_topk *t, size_t a, size_t b)
{
    double v = t->val[a];
    uint64_t i = t->idx[a];
    t->val[a] = t->val[b];
    t->idx[a] = t->idx[b];
    t->val[b] = v;
    t->idx[b] = i;
}

int metrics_topk_init(metrics_topk *t, size_t k, rg_error *err)
{
    memset(t, 0, sizeof *t);
    if (k == 0) return error_set(err, ERR_INTERNAL, "metrics_topk_init: k must be >= 1");
    if (k > SIZE_MAX / sizeof(double)) return error_set(err, ERR_NOMEM, "out of memory (top %zu)", k);
    t->val = malloc(k * sizeof *t->val);
    t->idx = malloc(k * sizeof *t->idx);
    if (t->val == NULL || t->idx == NULL) {
        metrics_topk_free(t);
        return error_set(err, ERR_NOMEM, "out of memory (top %zu)", k);
    }
    t->k = k;
    return 0;
}

/* The heap keeps the worst held entry at the root: a parent is never
 * better than its children. */
void metrics_topk_push(metrics_topk *t, double v, uint64_t idx)
{
    size_t i;
    if (isnan(v) || t->k == 0) return;
    if (t->n < t->k) {
        i = t->n++;
        t->val[i] = v;
        t->idx[i] = idx;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!better(t->val[p], t->idx[p], t->val[i], t->idx[i])) break;
            topk_swap(t, p, i);
            i = p;
        }
        return;
    }
    if (!better(v, idx, t->val[0], t->idx[0])) return;
    t->val[0] = v;
    t->idx[0] = idx;
    i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < t->n && better(t->val[w], t->idx[w], t->val[l], t->idx[l])) w = l;
        if (r < t->n && better(t->val[w], t->idx[w], t->val[r], t->idx[r])) w = r;
        if (w == i) break;
        topk_swap(t, i, w);
        i = w;
    }
}

void metrics_topk_sort(metrics_topk *t)
{
    /* heap-sort: repeatedly move the worst (root) to the end */
    size_t n = t->n;
    while (n > 1) {
        size_t i = 0;
        topk_swap(t, 0, --n);
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, w = i;
            if (l < n && better(t->val[w], t->idx[w], t->val[l], t->idx[l])) w = l;
            if (r < n && better(t->val[w], t->idx[w], t->val[r], t->idx[r])) w = r;
            if (w == i) break;
            topk_swap(t, i, w);
            i = w;
        }
    }
}

void metrics_topk_free(metrics_topk *t)
{
    if (t == NULL) return;
    free(t->val);
    free(t->idx);
    memset(t, 0, sizeof *t);
}

/* ---- paired DeLong ---------------------------------------------------- */

static int is_pos(int32_t label, int32_t positive)
{
    return positive < 0 ? label != 0 : label == positive;
}

/* Structural components of one score (Sun & Xu): v10[n1] in the order
 * the positives appear in the rows, v01[n0] likewise; *auc. */
static int structural(const double *s, size_t stride, const int32_t *label, int32_t positive,
                      size_t n, size_t n1, size_t n0, double *v10, double *v01, double *auc,
                      rg_error *err)
{
    ranked *r = NULL;
    double *rank_all = NULL, *rank_own = NULL;
    size_t *slot = NULL;
    double sum = 0.0;
    int rc = 0;

    if ((rc = sorted_items(s, stride, n, 0, &r, err)) != 0) goto done;
    rank_all = malloc(n * sizeof *rank_all);
    rank_own = malloc(n * sizeof *rank_own);
    slot = malloc(n * sizeof *slot);
    if (rank_all == NULL || rank_own == NULL || slot == NULL) {
        rc = error_set(err, ERR_NOMEM, "out of memory (%zu rows)", n);
        goto done;
    }
    /* midranks among all rows (1-based) */
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && r[b].s == r[a].s) b++;
        for (size_t j = a; j < b; j++) rank_all[r[j].i] = 0.5 * (double)(a + 1 + b);
        a = b;
    }
    /* midranks within each class: the class subsequences of the sorted
     * order are sorted, so walk them with one cursor per class */
    for (int cls = 0; cls < 2; cls++) {
        size_t a = 0, m = 0;
        /* collect the sorted positions of this class */
        for (size_t j = 0; j < n; j++)
            if (is_pos(label[r[j].i], positive) == (cls == 1)) slot[m++] = j;
        while (a < m) {
            size_t b = a;
            while (b < m && r[slot[b]].s == r[slot[a]].s) b++;
            for (size_t j = a; j < b; j++) rank_own[r[slot[j]].i] = 0.5 * (double)(a + 1 + b);
            a = b;
        }
    }
    {
        size_t p = 0, q = 0;
        for (size_t i = 0; i < n; i++) {
            if (is_pos(label[i], positive)) {
                double v = (rank_all[i] - rank_own[i]) / (double)n0;
                v10[p++] = v;
                sum += rank_all[i] - rank_own[i];
            } else {
                v01[q++] = 1.0 - (rank_all[i] - rank_own[i]) / (double)n1;
            }
        }
    }
    *auc = sum / ((double)n1 * (double)n0);
done:
    free(r);
    free(rank_all);
    free(rank_own);
    free(slot);
    return rc;
}

/* sample covariance (n - 1) of a[m] and b[m]; 0 for m < 2 */
static double cov(const double *a, const double *b, size_t m)
{
    double ma = 0.0, mb = 0.0, acc = 0.0;
    if (m < 2) return 0.0;
    for (size_t i = 0; i < m; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)m;
    mb /= (double)m;
    for (size_t i = 0; i < m; i++) acc += (a[i] - ma) * (b[i] - mb);
    return acc / (double)(m - 1);
}

int metrics_delong_paired(const double *score1, size_t stride1,
                          const double *score2, size_t stride2,
                          const int32_t *label, int32_t positive, size_t n,
                          metrics_paired *res, rg_error *err)
{
    double *buf = NULL;
    double *v10a, *v10b, *v01a, *v01b;
    size_t n1 = 0, n0;
    double var;
    int rc = 0;

    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < n; i++) n1 += is_pos(label[i], positive) != 0;
    n0 = n - n1;
    if (n1 == 0 || n0 == 0) {
        rc = error_set(err, ERR_NUMERIC, "only one class among the %zu rows (%zu positive): the AUC is undefined", n, n1);
        goto done;
    }
    if (n > SIZE_MAX / (2 * sizeof *buf)) {
        rc = error_set(err, ERR_NOMEM, "out of memory (%zu rows)", n);
        goto done;
    }
    buf = malloc(2 * n * sizeof *buf);
    if (buf == NULL) {
        rc = error_set(err, ERR_NOMEM, "out of memory (%zu rows)", n);
        goto done;
    }
    v10a = buf;
    v01a = buf + n1;
    v10b = buf + n;
    v01b = buf + n + n1;
    if ((rc = structural(score1, stride1, label, positive, n, n1, n0, v10a, v01a, &res->auc1, err)) != 0) goto done;
    if ((rc = structural(score2, stride2, label, positive, n, n1, n0, v10b, v01b, &res->auc2, err)) != 0) goto done;
    res->n_pos = n1;
    res->n_neg = n0;
    res->var1 = cov(v10a, v10a, n1) / (double)n1 + cov(v01a, v01a, n0) / (double)n0;
    res->var2 = cov(v10b, v10b, n1) / (double)n1 + cov(v01b, v01b, n0) / (double)n0;
    res->cov = cov(v10a, v10b, n1) / (double)n1 + cov(v01a, v01b, n0) / (double)n0;
    res->diff = res->auc1 - res->auc2;
    var = res->var1 + res->var2 - 2.0 * res->cov;
    res->se = var > 0.0 ? sqrt(var) : 0.0;
    if (res->se > 0.0) res->z = res->diff / res->se;
    else res->z = res->diff == 0.0 ? 0.0 : copysign(INFINITY, res->diff);
    res->p = erfc(fabs(res->z) / sqrt(2.0));
done:
    free(buf);
    return rc;
}
