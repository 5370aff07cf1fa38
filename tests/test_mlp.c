/** \file test_mlp.c
 *  Unit tests of the MLP kernels (mlp.h): the forward pass against a
 *  naive reference, gradients against central finite differences in
 *  double, float against double, batch = sum of rows, probabilities and
 *  numerical stability of the outputs, He initialisation, determinism,
 *  and the preconditions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/mlp.h"
#include "riskgrid/rng.h"

/* ---- helpers ---- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    assert_non_null(p);
    return p;
}

/* Double parameters: He init (through mlp_init) plus N(0, 0.3^2) biases,
 * so the bias gradients are exercised away from zero biases. */
static double *make_params(const mlp_shape *s, uint64_t seed)
{
    const mlp_layout L = mlp_layout_of(s);
    float *pf = xmalloc(sizeof(float) * L.n);
    double *pd = xmalloc(sizeof(double) * L.n);
    mlp_init(s, seed, pf);
    for (size_t i = 0; i < L.n; i++) pd[i] = (double)pf[i];
    const uint64_t kb = rng_hash3(seed, 100, 0);
    for (size_t i = 0; i < (size_t)s->n_hidden; i++) pd[L.b1 + i] = 0.3 * rng_normal(kb, i);
    for (size_t i = 0; i < (size_t)s->n_out; i++) pd[L.b2 + i] = 0.3 * rng_normal(kb, 1000 + i);
    free(pf);
    return pd;
}

/* x[m*F] ~ N(0,1) rounded to float values (so the float kernel sees the
 * same inputs exactly); labels uniform over the classes. */
static void make_data(const mlp_shape *s, int m, uint64_t seed, double *x, int32_t *y)
{
    const int K = s->softmax ? s->n_out : 2;
    const uint64_t kx = rng_hash3(seed, 200, 0);
    for (size_t i = 0; i < (size_t)m * (size_t)s->n_in; i++) x[i] = (double)(float)rng_normal(kx, i);
    for (int r = 0; r < m; r++) y[r] = (int32_t)(rng_unit(rng_hash3(seed, 201, (uint64_t)r)) * K);
}

static void to_float(const double *d, float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
}

/* Naive reference forward in double (plain loops, independent of BLAS):
 * fills z1[m*H] (pre-activation, may be NULL) and prob[m*C]; returns the
 * summed clamped loss. */
static double ref_forward(const mlp_shape *s, const double *p, const double *x,
                          const int32_t *y, int m, double *z1, double *prob)
{
    const int F = s->n_in, H = s->n_hidden, C = s->n_out;
    const mlp_layout L = mlp_layout_of(s);
    double *a = xmalloc(sizeof(double) * (size_t)H), *z = xmalloc(sizeof(double) * (size_t)C);
    double loss = 0.0;
    for (int r = 0; r < m; r++) {
        for (int h = 0; h < H; h++) {
            double acc = p[L.b1 + (size_t)h];
            for (int f = 0; f < F; f++) acc += x[(size_t)r * (size_t)F + (size_t)f] * p[L.w1 + (size_t)f * (size_t)H + (size_t)h];
            if (z1 != NULL) z1[(size_t)r * (size_t)H + (size_t)h] = acc;
            a[h] = acc > 0 ? acc : 0;
        }
        for (int c = 0; c < C; c++) {
            double acc = p[L.b2 + (size_t)c];
            for (int h = 0; h < H; h++) acc += a[h] * p[L.w2 + (size_t)h * (size_t)C + (size_t)c];
            z[c] = acc;
        }
        double *pr = prob + (size_t)r * (size_t)C;
        if (!s->softmax) {
            pr[0] = 1.0 / (1.0 + exp(-z[0]));
        } else {
            double mx = z[0], sum = 0.0;
            for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
            for (int c = 0; c < C; c++) sum += exp(z[c] - mx);
            for (int c = 0; c < C; c++) pr[c] = exp(z[c] - mx) / sum;
        }
        double q = s->softmax ? pr[y[r]] : (y[r] ? pr[0] : 1.0 - pr[0]);
        q = q < 1e-7 ? 1e-7 : (q > 1.0 - 1e-7 ? 1.0 - 1e-7 : q);
        loss -= log(q);
    }
    free(a);
    free(z);
    return loss;
}

static double max_abs(const double *v, size_t n)
{
    double mx = 0.0;
    for (size_t i = 0; i < n; i++) mx = fabs(v[i]) > mx ? fabs(v[i]) : mx;
    return mx;
}

/* ---- layout and preconditions ---- */

static void test_layout_and_work(void **state)
{
    (void)state;
    const mlp_shape s = {5, 7, 3, 1};
    const mlp_layout L = mlp_layout_of(&s);
    assert_int_equal(L.w1, 0);
    assert_int_equal(L.b1, 35);
    assert_int_equal(L.w2, 42);
    assert_int_equal(L.b2, 63);
    assert_int_equal(L.n, 66);

    const mlp_shape bad[] = {{5, 7, 3, 0}, {5, 7, 1, 1}, {0, 7, 1, 0}, {5, 0, 1, 0}, {5, 7, 0, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(mlp_work_new(&bad[i], 10));
        assert_int_equal(mlp_layout_of(&bad[i]).n, 0);
    }
    assert_null(mlp_work_new(&s, 0));
    assert_null(mlp_work_new(NULL, 10));
    mlp_work_free(NULL);
}

static void test_preconditions(void **state)
{
    (void)state;
    const mlp_shape s = {3, 4, 1, 0};
    const mlp_layout L = mlp_layout_of(&s);
    mlp_work *w = mlp_work_new(&s, 4);
    assert_non_null(w);
    float p[21], g[21], x[5 * 3] = {0}, prob[5];
    int32_t y[5] = {0, 1, 0, 1, 0};
    assert_int_equal(L.n, 21);
    mlp_init(&s, 1, p);
    for (int i = 0; i < 21; i++) g[i] = 42.0f;

    /* m > max_rows: NaN, nothing written */
    assert_true(isnan(mlp_loss_grad(&s, p, x, y, 5, w, g)));
    assert_true(isnan(mlp_predict(&s, p, x, y, 5, w, prob)));
    for (int i = 0; i < 21; i++) assert_true(g[i] == 42.0f);
    /* a shape the work was not made for */
    const mlp_shape s2 = {3, 5, 1, 0};
    assert_true(isnan(mlp_loss_grad(&s2, p, x, y, 2, w, g)));
    /* m == 0: zero loss, zero gradient */
    assert_true(mlp_loss_grad(&s, p, x, y, 0, w, g) == 0.0);
    for (int i = 0; i < 21; i++) assert_true(g[i] == 0.0f);
    /* invalid labels make the loss (and gradient) NaN */
    int32_t ybad[2] = {0, 2};
    assert_true(isnan(mlp_loss_grad(&s, p, x, ybad, 2, w, g)));
    assert_true(isnan(mlp_predict(&s, p, x, ybad, 2, w, prob)));
    assert_true(isnan(g[L.b2]));
    mlp_work_free(w);

    const mlp_shape sm = {3, 4, 3, 1};
    mlp_work *w3 = mlp_work_new(&sm, 2);
    assert_non_null(w3);
    float p3[31], g3[31];
    mlp_init(&sm, 1, p3);
    int32_t yb3[2] = {1, 3};
    assert_true(isnan(mlp_loss_grad(&sm, p3, x, yb3, 2, w3, g3)));
    yb3[1] = -1;
    assert_true(isnan(mlp_loss_grad(&sm, p3, x, yb3, 2, w3, g3)));
    yb3[1] = 2;
    assert_true(isfinite(mlp_loss_grad(&sm, p3, x, yb3, 2, w3, g3)));
    mlp_work_free(w3);
}

/* ---- forward against the naive reference ---- */

static void check_forward(const mlp_shape *s, int m, uint64_t seed)
{
    const mlp_layout L = mlp_layout_of(s);
    const size_t nx = (size_t)m * (size_t)s->n_in, np = (size_t)m * (size_t)s->n_out;
    double *p = make_params(s, seed), *x = xmalloc(sizeof(double) * nx);
    double *pr_ref = xmalloc(sizeof(double) * np), *pr = xmalloc(sizeof(double) * np);
    float *pf = xmalloc(sizeof(float) * L.n), *xf = xmalloc(sizeof(float) * nx);
    float *prf = xmalloc(sizeof(float) * np), *gf = xmalloc(sizeof(float) * L.n);
    double *gd = xmalloc(sizeof(double) * L.n);
    int32_t *y = xmalloc(sizeof(int32_t) * (size_t)m);
    make_data(s, m, seed, x, y);
    to_float(p, pf, L.n);
    to_float(x, xf, nx);
    mlp_work *w = mlp_work_new(s, m);
    assert_non_null(w);

    const double loss_ref = ref_forward(s, p, x, y, m, NULL, pr_ref);
    const double loss = mlp_predict_f64(s, p, x, y, m, w, pr);
    assert_true(fabs(loss - loss_ref) <= 1e-12 * fabs(loss_ref));
    for (size_t i = 0; i < np; i++) assert_true(fabs(pr[i] - pr_ref[i]) <= 1e-13);
    /* without labels: same probabilities, loss 0 */
    double *pr2 = xmalloc(sizeof(double) * np);
    assert_true(mlp_predict_f64(s, p, x, NULL, m, w, pr2) == 0.0);
    assert_memory_equal(pr, pr2, sizeof(double) * np);
    /* the training kernel reports the very same loss bits */
    const double loss_lg = mlp_loss_grad_f64(s, p, x, y, m, w, gd);
    assert_memory_equal(&loss_lg, &loss, sizeof loss);

    /* float kernel */
    const double lossf = mlp_predict(s, pf, xf, y, m, w, prf);
    assert_true(fabs(lossf - loss_ref) <= 1e-5 * fabs(loss_ref));
    for (size_t i = 0; i < np; i++) assert_true(fabs((double)prf[i] - pr_ref[i]) <= 1e-5);
    const double lossf_lg = mlp_loss_grad(s, pf, xf, y, m, w, gf);
    assert_memory_equal(&lossf_lg, &lossf, sizeof lossf);

    /* probabilities: in [0, 1]; softmax rows sum to 1 */
    for (int r = 0; r < m; r++) {
        double sd = 0.0, sf = 0.0;
        for (int c = 0; c < s->n_out; c++) {
            const size_t k = (size_t)r * (size_t)s->n_out + (size_t)c;
            assert_true(pr[k] >= 0.0 && pr[k] <= 1.0);
            assert_true(prf[k] >= 0.0f && prf[k] <= 1.0f);
            sd += pr[k];
            sf += (double)prf[k];
        }
        if (s->softmax) {
            assert_true(fabs(sd - 1.0) <= 1e-14);
            assert_true(fabs(sf - 1.0) <= 1e-6);
        }
    }
    mlp_work_free(w);
    free(p); free(x); free(pr_ref); free(pr); free(pr2); free(pf); free(xf);
    free(prf); free(gf); free(gd); free(y);
}

static void test_forward_reference(void **state)
{
    (void)state;
    const mlp_shape sig = {6, 9, 1, 0}, soft = {5, 8, 4, 1};
    check_forward(&sig, 13, 11);
    check_forward(&soft, 17, 12);
}

/* ---- gradient against central finite differences (double) ---- */

static void check_fd(const mlp_shape *s, int m, uint64_t seed0)
{
    const mlp_layout L = mlp_layout_of(s);
    const size_t nx = (size_t)m * (size_t)s->n_in;
    const size_t nz = (size_t)m * (size_t)s->n_hidden;
    double *x = xmalloc(sizeof(double) * nx), *z1 = xmalloc(sizeof(double) * nz);
    double *prob = xmalloc(sizeof(double) * (size_t)m * (size_t)s->n_out);
    double *g = xmalloc(sizeof(double) * L.n), *gs = xmalloc(sizeof(double) * L.n);
    int32_t *y = xmalloc(sizeof(int32_t) * (size_t)m);
    double *p = NULL;
    mlp_work *w = mlp_work_new(s, m);
    assert_non_null(w);

    /* Resample until no pre-activation is within 1e-4 of the relu kink
     * (a step of 1e-6 moves Z1 by far less), and no probability is near
     * the clamp, so the loss is smooth around p. */
    int ok = 0;
    for (uint64_t seed = seed0; seed < seed0 + 200 && !ok; seed++) {
        free(p);
        p = make_params(s, seed);
        make_data(s, m, seed, x, y);
        ref_forward(s, p, x, y, m, z1, prob);
        ok = 1;
        for (size_t i = 0; i < nz; i++) if (fabs(z1[i]) < 1e-4) ok = 0;
        for (size_t i = 0; i < (size_t)m * (size_t)s->n_out; i++)
            if (prob[i] < 1e-5 || prob[i] > 1.0 - 1e-5) ok = 0;
    }
    assert_true(ok);
    int active = 0, inactive = 0;
    for (size_t i = 0; i < nz; i++) *(z1[i] > 0 ? &active : &inactive) += 1;
    assert_true(active > 0 && inactive > 0); /* both relu branches exercised */

    const double L0 = mlp_loss_grad_f64(s, p, x, y, m, w, g);
    assert_true(isfinite(L0));
    const double h = 1e-6;
    double worst = 0.0;
    for (size_t i = 0; i < L.n; i++) {
        const double keep = p[i];
        p[i] = keep + h;
        const double lp = mlp_loss_grad_f64(s, p, x, y, m, w, gs);
        p[i] = keep - h;
        const double lm = mlp_loss_grad_f64(s, p, x, y, m, w, gs);
        p[i] = keep;
        const double fd = (lp - lm) / (2.0 * h);
        /* relative error, with a floor of 1e-2 on the denominator: the
         * difference quotient itself carries ~eps L / h ~ 1e-9 noise */
        double den = fabs(g[i]) > fabs(fd) ? fabs(g[i]) : fabs(fd);
        den = den > 1e-2 ? den : 1e-2;
        const double rel = fabs(g[i] - fd) / den;
        worst = rel > worst ? rel : worst;
        if (!(rel < 1e-6)) {
            print_error("param %zu: grad %.12g fd %.12g rel %.3g\n", i, g[i], fd, rel);
            fail();
        }
    }
    assert_true(worst < 1e-6);
#ifdef SHOW_WORST
    print_message("worst rel %.3g\n", worst);
#endif
    /* the gradient is not trivially zero */
    assert_true(max_abs(g + L.w1, L.b1 - L.w1) > 1e-3);
    assert_true(max_abs(g + L.b1, L.w2 - L.b1) > 1e-3);
    assert_true(max_abs(g + L.w2, L.b2 - L.w2) > 1e-3);
    assert_true(max_abs(g + L.b2, L.n - L.b2) > 1e-3);

    mlp_work_free(w);
    free(p); free(x); free(z1); free(prob); free(g); free(gs); free(y);
}

static void test_grad_fd_sigmoid(void **state)
{
    (void)state;
    const mlp_shape s = {4, 6, 1, 0};
    check_fd(&s, 7, 1000);
}

static void test_grad_fd_softmax(void **state)
{
    (void)state;
    const mlp_shape s = {3, 5, 3, 1};
    check_fd(&s, 6, 2000);
}

/* ---- float kernel against double kernel ---- */

static void check_float_vs_double(const mlp_shape *s, int m, uint64_t seed)
{
    const mlp_layout L = mlp_layout_of(s);
    const size_t nx = (size_t)m * (size_t)s->n_in;
    double *p = make_params(s, seed), *x = xmalloc(sizeof(double) * nx);
    double *gd = xmalloc(sizeof(double) * L.n);
    float *pf = xmalloc(sizeof(float) * L.n), *xf = xmalloc(sizeof(float) * nx);
    float *gf = xmalloc(sizeof(float) * L.n);
    int32_t *y = xmalloc(sizeof(int32_t) * (size_t)m);
    make_data(s, m, seed, x, y);
    to_float(p, pf, L.n);
    for (size_t i = 0; i < L.n; i++) p[i] = (double)pf[i]; /* identical inputs */
    to_float(x, xf, nx);
    mlp_work *w = mlp_work_new(s, m);
    assert_non_null(w);

    const double ld = mlp_loss_grad_f64(s, p, x, y, m, w, gd);
    const double lf = mlp_loss_grad(s, pf, xf, y, m, w, gf);
    assert_true(fabs(lf - ld) <= 1e-5 * fabs(ld));
    /* ~1e-4 relative per element, with a floor of 1e-4 of the largest
     * gradient entry for entries that are small by cancellation */
    const double gmax = max_abs(gd, L.n);
    for (size_t i = 0; i < L.n; i++) {
        const double tol = 1e-4 * fabs(gd[i]) + 1e-4 * 1e-2 * gmax;
        if (!(fabs((double)gf[i] - gd[i]) <= tol)) {
            print_error("param %zu: float %.9g double %.12g\n", i, (double)gf[i], gd[i]);
            fail();
        }
    }
    mlp_work_free(w);
    free(p); free(x); free(gd); free(pf); free(xf); free(gf); free(y);
}

static void test_float_matches_double(void **state)
{
    (void)state;
    const mlp_shape sig = {10, 16, 1, 0}, soft = {10, 16, 3, 1};
    check_float_vs_double(&sig, 64, 31);
    check_float_vs_double(&soft, 64, 32);
}

/* ---- gradient of a batch = sum of per-row gradients ---- */

static void check_batch_sum(const mlp_shape *s, int m, uint64_t seed)
{
    const mlp_layout L = mlp_layout_of(s);
    const int F = s->n_in;
    const size_t nx = (size_t)m * (size_t)F;
    double *p = make_params(s, seed), *x = xmalloc(sizeof(double) * nx);
    double *g = xmalloc(sizeof(double) * L.n), *g1 = xmalloc(sizeof(double) * L.n);
    double *sum = calloc(L.n, sizeof(double)), *asum = calloc(L.n, sizeof(double));
    float *pf = xmalloc(sizeof(float) * L.n), *xf = xmalloc(sizeof(float) * nx);
    float *gf = xmalloc(sizeof(float) * L.n), *gf1 = xmalloc(sizeof(float) * L.n);
    double *sumf = calloc(L.n, sizeof(double));
    int32_t *y = xmalloc(sizeof(int32_t) * (size_t)m);
    assert_non_null(sum);
    assert_non_null(asum);
    assert_non_null(sumf);
    make_data(s, m, seed, x, y);
    to_float(p, pf, L.n);
    to_float(x, xf, nx);
    mlp_work *w = mlp_work_new(s, m);
    assert_non_null(w);

    const double lb = mlp_loss_grad_f64(s, p, x, y, m, w, g);
    const double lbf = mlp_loss_grad(s, pf, xf, y, m, w, gf);
    double lrows = 0.0, lrowsf = 0.0;
    for (int r = 0; r < m; r++) {
        lrows += mlp_loss_grad_f64(s, p, x + (size_t)r * (size_t)F, y + r, 1, w, g1);
        lrowsf += mlp_loss_grad(s, pf, xf + (size_t)r * (size_t)F, y + r, 1, w, gf1);
        for (size_t i = 0; i < L.n; i++) {
            sum[i] += g1[i];
            asum[i] += fabs(g1[i]);
            sumf[i] += (double)gf1[i];
        }
    }
    assert_true(fabs(lb - lrows) <= 1e-13 * fabs(lb));
    assert_true(fabs(lbf - lrowsf) <= 1e-6 * fabs(lbf));
    for (size_t i = 0; i < L.n; i++) {
        assert_true(fabs(g[i] - sum[i]) <= 1e-13 * asum[i] + 1e-300);
        assert_true(fabs((double)gf[i] - sumf[i]) <= 1e-5 * asum[i] + 1e-30);
    }
    mlp_work_free(w);
    free(p); free(x); free(g); free(g1); free(sum); free(asum); free(pf); free(xf);
    free(gf); free(gf1); free(sumf); free(y);
}

static void test_batch_is_sum_of_rows(void **state)
{
    (void)state;
    const mlp_shape sig = {5, 7, 1, 0}, soft = {4, 6, 3, 1};
    check_batch_sum(&sig, 9, 41);
    check_batch_sum(&soft, 11, 42);
}

/* ---- numerical stability of the outputs ---- */

static void test_extreme_logits(void **state)
{
    (void)state;
    /* sigmoid: W2 = 0 and b2 = +-1000 gives z2 = +-1000 exactly */
    const mlp_shape s = {2, 3, 1, 0};
    const mlp_layout L = mlp_layout_of(&s);
    float p[13], g[13], prob[2];
    double pd[13], gd[13], probd[2];
    const float x[4] = {0.5f, -1.0f, 2.0f, 0.25f};
    const double xd[4] = {0.5, -1.0, 2.0, 0.25};
    mlp_work *w = mlp_work_new(&s, 2);
    assert_non_null(w);
    mlp_init(&s, 3, p);
    for (size_t i = L.w2; i < L.b2; i++) p[i] = 0.0f;
    const float zs[2] = {1000.0f, -1000.0f};
    for (int k = 0; k < 2; k++) {
        p[L.b2] = zs[k];
        for (int i = 0; i < 13; i++) pd[i] = (double)p[i];
        const int32_t good = (zs[k] > 0) ? 1 : 0;
        const int32_t ybad[2] = {1 - good, 1 - good}, ygood[2] = {good, good};
        assert_true(mlp_predict(&s, p, x, NULL, 2, w, prob) == 0.0);
        assert_true(prob[0] == (float)good && prob[1] == (float)good);
        assert_true(mlp_predict_f64(&s, pd, xd, NULL, 2, w, probd) == 0.0);
        assert_true(probd[0] == (double)good && probd[1] == (double)good);
        /* wrong labels: each row's loss is clamped at -ln(1e-7) */
        const double lf = mlp_loss_grad(&s, p, x, ybad, 2, w, g);
        const double ld = mlp_loss_grad_f64(&s, pd, xd, ybad, 2, w, gd);
        assert_true(fabs(lf - 2.0 * -log(1e-7)) <= 1e-6);
        assert_true(fabs(ld - 2.0 * -log(1e-7)) <= 1e-8);
        /* ... and the gradient is the unclamped p - y = +-1 per row */
        assert_true(g[L.b2] == (good ? 2.0f : -2.0f));
        assert_true(gd[L.b2] == (good ? 2.0 : -2.0));
        for (int i = 0; i < 13; i++) assert_true(isfinite(g[i]) && isfinite(gd[i]));
        /* right labels: loss -ln(1 - 1e-7) each, gradient 0 at b2 */
        const double lg = mlp_loss_grad(&s, p, x, ygood, 2, w, g);
        assert_true(fabs(lg - 2.0 * -log(1.0 - 1e-7)) <= 1e-12);
        assert_true(g[L.b2] == 0.0f);
    }
    mlp_work_free(w);

    /* softmax: b2 = {1000, 0, -1000} */
    const mlp_shape sm = {2, 3, 3, 1};
    const mlp_layout Lm = mlp_layout_of(&sm);
    float q[21], gq[21], pq[6];
    mlp_work *wm = mlp_work_new(&sm, 2);
    assert_non_null(wm);
    mlp_init(&sm, 4, q);
    for (size_t i = Lm.w2; i < Lm.b2; i++) q[i] = 0.0f;
    q[Lm.b2] = 1000.0f;
    q[Lm.b2 + 1] = 0.0f;
    q[Lm.b2 + 2] = -1000.0f;
    const int32_t y2[2] = {2, 0};
    const double l = mlp_predict(&sm, q, x, y2, 2, wm, pq);
    assert_true(pq[0] == 1.0f && pq[1] == 0.0f && pq[2] == 0.0f);
    assert_true(pq[3] == 1.0f && pq[4] == 0.0f && pq[5] == 0.0f);
    assert_true(fabs(l - (-log(1e-7) - log(1.0 - 1e-7))) <= 1e-6);
    const double l2 = mlp_loss_grad(&sm, q, x, y2, 2, wm, gq);
    assert_true(l2 == l);
    for (int i = 0; i < 21; i++) assert_true(isfinite(gq[i]));
    assert_true(gq[Lm.b2] == 1.0f && gq[Lm.b2 + 1] == 0.0f && gq[Lm.b2 + 2] == -1.0f);
    mlp_work_free(wm);
}

/* ---- initialisation ---- */

static void test_init(void **state)
{
    (void)state;
    const mlp_shape s = {64, 64, 10, 1};
    const mlp_layout L = mlp_layout_of(&s);
    float *a = xmalloc(sizeof(float) * L.n), *b = xmalloc(sizeof(float) * L.n);
    mlp_init(&s, 12345, a);
    mlp_init(&s, 12345, b);
    assert_memory_equal(a, b, sizeof(float) * L.n);
    mlp_init(&s, 12346, b);
    assert_memory_not_equal(a, b, sizeof(float) * (L.b1 - L.w1));

    /* the contract: draw i of block k keyed by (seed, RNG_STREAM_INIT, k) */
    const uint64_t k1 = rng_hash3(12345, RNG_STREAM_INIT, 1), k2 = rng_hash3(12345, RNG_STREAM_INIT, 2);
    for (size_t i = 0; i < 64 * 64; i += 97)
        assert_true(a[L.w1 + i] == (float)(rng_normal(k1, i) * sqrt(2.0 / 64)));
    for (size_t i = 0; i < 64 * 10; i += 13)
        assert_true(a[L.w2 + i] == (float)(rng_normal(k2, i) * sqrt(2.0 / 64)));
    for (size_t i = L.b1; i < L.w2; i++) assert_true(a[i] == 0.0f);
    for (size_t i = L.b2; i < L.n; i++) assert_true(a[i] == 0.0f);

    /* statistics: W1 has 4096 draws (std error of the std ~1.1%), W2 640
     * (~2.8%); bounds are several standard errors wide */
    struct { size_t off, n; double sd, tol; } blk[2] = {
        {L.w1, 64 * 64, sqrt(2.0 / 64), 0.06}, {L.w2, 64 * 10, sqrt(2.0 / 64), 0.15}};
    for (int k = 0; k < 2; k++) {
        double s1 = 0.0, s2 = 0.0;
        for (size_t i = 0; i < blk[k].n; i++) {
            s1 += a[blk[k].off + i];
            s2 += (double)a[blk[k].off + i] * a[blk[k].off + i];
        }
        const double mean = s1 / (double)blk[k].n;
        const double sd = sqrt(s2 / (double)blk[k].n - mean * mean);
        assert_true(fabs(mean) < 5.0 * blk[k].sd / sqrt((double)blk[k].n));
        assert_true(fabs(sd / blk[k].sd - 1.0) < blk[k].tol);
    }
    /* a different F changes the W1 scale */
    const mlp_shape s8 = {8, 64, 10, 1};
    const mlp_layout L8 = mlp_layout_of(&s8);
    float *c = xmalloc(sizeof(float) * L8.n);
    mlp_init(&s8, 12345, c);
    assert_true(c[0] == (float)(rng_normal(k1, 0) * sqrt(2.0 / 8)));
    free(a);
    free(b);
    free(c);
}

/* ---- determinism ---- */

static void test_deterministic(void **state)
{
    (void)state;
    const mlp_shape s = {24, 32, 3, 1};
    const int m = 300;
    const mlp_layout L = mlp_layout_of(&s);
    const size_t nx = (size_t)m * 24;
    double *pd = make_params(&s, 51), *xd = xmalloc(sizeof(double) * nx);
    float *p = xmalloc(sizeof(float) * L.n), *x = xmalloc(sizeof(float) * nx);
    float *g1 = xmalloc(sizeof(float) * L.n), *g2 = xmalloc(sizeof(float) * L.n);
    double *gd1 = xmalloc(sizeof(double) * L.n), *gd2 = xmalloc(sizeof(double) * L.n);
    int32_t *y = xmalloc(sizeof(int32_t) * (size_t)m);
    make_data(&s, m, 51, xd, y);
    to_float(pd, p, L.n);
    to_float(xd, x, nx);
    mlp_work *w1 = mlp_work_new(&s, m), *w2 = mlp_work_new(&s, 2 * m);
    assert_non_null(w1);
    assert_non_null(w2);

    const double l1 = mlp_loss_grad(&s, p, x, y, m, w1, g1);
    const double l2 = mlp_loss_grad(&s, p, x, y, m, w1, g2);
    assert_memory_equal(&l1, &l2, sizeof l1);
    assert_memory_equal(g1, g2, sizeof(float) * L.n);
    /* a different (larger) work object gives the same bits */
    memset(g2, 0xff, sizeof(float) * L.n);
    const double l3 = mlp_loss_grad(&s, p, x, y, m, w2, g2);
    assert_memory_equal(&l1, &l3, sizeof l1);
    assert_memory_equal(g1, g2, sizeof(float) * L.n);

    const double d1 = mlp_loss_grad_f64(&s, pd, xd, y, m, w1, gd1);
    const double d2 = mlp_loss_grad_f64(&s, pd, xd, y, m, w2, gd2);
    assert_memory_equal(&d1, &d2, sizeof d1);
    assert_memory_equal(gd1, gd2, sizeof(double) * L.n);

    mlp_work_free(w1);
    mlp_work_free(w2);
    free(pd); free(xd); free(p); free(x); free(g1); free(g2); free(gd1); free(gd2); free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_and_work),
        cmocka_unit_test(test_preconditions),
        cmocka_unit_test(test_forward_reference),
        cmocka_unit_test(test_grad_fd_sigmoid),
        cmocka_unit_test(test_grad_fd_softmax),
        cmocka_unit_test(test_float_matches_double),
        cmocka_unit_test(test_batch_is_sum_of_rows),
        cmocka_unit_test(test_extreme_logits),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
