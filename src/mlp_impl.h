/** \file mlp_impl.h
 *  Private template of the MLP kernels (see mlp.h), included twice by
 *  mlp.c: once for float (the training precision) and once for double
 *  (the _f64 gradient-check kernels).  Deliberately no include guard.
 *
 *  The includer defines:
 *    MLP_REAL      the element type (float or double)
 *    MLP_SFX(n)    the public name n with the precision suffix pasted on
 *    MLP_GEMM      cblas_sgemm or cblas_dgemm
 *    MLP_EXP       expf or exp
 *    MLP_SCRATCH   the member of struct mlp_work holding MLP_REAL scratch
 *  and, before the include, struct mlp_work, mlp_work_fits(),
 *  mlp_clamp_prob() and mlp_layout_of().  All five macros are #undef'd at
 *  the end.
 *
 *  Equations (one row; x[F], y a label; matrices row-major):
 *    z1 = x W1 + b1,  a1 = relu(z1),  z2 = a1 W2 + b2
 *    sigmoid (C = 1):  p = 1 / (1 + e^-z2),  l = -[y ln p~ + (1-y) ln(1-p~)]
 *    softmax (C >= 2): p_c = e^(z2_c - max z2) / sum_k e^(z2_k - max z2),
 *                      l = -ln p~_y
 *  with p~ = clamp(p, 1e-7, 1 - 1e-7) (in double).  Backward, for the SUM
 *  of the row losses over a batch of m rows (X[m,F], A1[m,H], P[m,C]):
 *    dZ2 = P - onehot(Y)            (sigmoid: p - y)
 *    gW2 = A1^T dZ2,  gb2 = 1^T dZ2
 *    dA1 = dZ2 W2^T,  dZ1 = dA1 .* [Z1 > 0]
 *    gW1 = X^T dZ1,   gb1 = 1^T dZ1
 *  dZ2 = P - onehot(Y) is the derivative of the UNclamped loss: the clamp
 *  changes only the reported loss value (and only when a probability is
 *  within 1e-7 of 0 or 1), never the gradient, exactly as in Keras where
 *  the clipped loss is not what the fused logits gradient differentiates.
 *  The relu derivative at z1 == 0 is taken as 0 (mask z1 > 0).
 *
 *  Determinism: every result is a pure function of the inputs for a given
 *  binary and BLAS library.  GEMM results depend only on (m, F, H, C) and
 *  the data; the bias additions, activations, losses and column sums run
 *  in fixed loop order (rows outer, columns inner; column sums accumulated
 *  in double, then rounded once to MLP_REAL).
 */
#if !defined(MLP_REAL) || !defined(MLP_SFX) || !defined(MLP_GEMM) || \
    !defined(MLP_EXP) || !defined(MLP_SCRATCH)
#error "mlp_impl.h is a template: include it from mlp.c only"
#endif

/* In place: m rows of output logits z[m*C] (bias included) become
 * probabilities (sigmoid for C == 1, softmax otherwise). */
static void MLP_SFX(mlp_outmap)(const mlp_shape *s, MLP_REAL *z, int m)
{
    const int C = s->n_out;
    for (int r = 0; r < m; r++) {
        MLP_REAL *row = z + (size_t)r * (size_t)C;
        if (!s->softmax) {
            /* Stable logistic: exp of a non-positive argument only, so no
             * overflow for any |z|; NaN propagates through the else arm. */
            MLP_REAL v = row[0];
            if (v >= 0) {
                row[0] = (MLP_REAL)1 / ((MLP_REAL)1 + MLP_EXP(-v));
            } else {
                MLP_REAL e = MLP_EXP(v);
                row[0] = e / ((MLP_REAL)1 + e);
            }
        } else {
            /* Stable softmax: shift by the row max so every exponent is
             * <= 0 and the largest term is exactly 1 (sum >= 1). */
            MLP_REAL mx = row[0];
            for (int c = 1; c < C; c++)
                if (row[c] > mx) mx = row[c];
            double sum = 0.0;
            for (int c = 0; c < C; c++) {
                row[c] = MLP_EXP(row[c] - mx);
                sum += (double)row[c];
            }
            for (int c = 0; c < C; c++) row[c] = (MLP_REAL)((double)row[c] / sum);
        }
    }
}

/* In place: probabilities p[m*C] become dZ2 = P - onehot(Y).  A row with
 * an invalid label gets NaN so the gradient is visibly poisoned, like the
 * loss. */
static void MLP_SFX(mlp_dz2)(const mlp_shape *s, MLP_REAL *p, const int32_t *y, int m)
{
    const int C = s->n_out;
    for (int r = 0; r < m; r++) {
        MLP_REAL *row = p + (size_t)r * (size_t)C;
        if (!s->softmax) {
            if (y[r] == 0 || y[r] == 1) row[0] -= (MLP_REAL)y[r];
            else row[0] = NAN;
        } else {
            if (y[r] >= 0 && y[r] < C) row[y[r]] -= (MLP_REAL)1;
            else for (int c = 0; c < C; c++) row[c] = NAN;
        }
    }
}

/* Forward pass of m >= 1 rows.  On return a1[m*H] holds relu(Z1) and
 * p[m*C] the output probabilities.  x, a1 and p must not overlap. */
static void MLP_SFX(mlp_forward)(const mlp_shape *s, const mlp_layout *L,
                                 const MLP_REAL *params, const MLP_REAL *x,
                                 int m, MLP_REAL *a1, MLP_REAL *p)
{
    const int F = s->n_in, H = s->n_hidden, C = s->n_out;
    const MLP_REAL *W1 = params + L->w1, *b1 = params + L->b1;
    const MLP_REAL *W2 = params + L->w2, *b2 = params + L->b2;

    /* Z1 = X W1 (m x F times F x H), then + b1 and relu in place.
     * relu keeps NaN (z < 0 is false for NaN) so a bad input shows up in
     * the loss instead of being silently zeroed. */
    MLP_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, H, F,
             (MLP_REAL)1, x, F, W1, H, (MLP_REAL)0, a1, H);
    for (int r = 0; r < m; r++) {
        MLP_REAL *row = a1 + (size_t)r * (size_t)H;
        for (int h = 0; h < H; h++) {
            MLP_REAL z = row[h] + b1[h];
            row[h] = (z < 0) ? (MLP_REAL)0 : z;
        }
    }

    /* Z2 = A1 W2 (m x H times H x C), then + b2 and the output map. */
    MLP_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, C, H,
             (MLP_REAL)1, a1, H, W2, C, (MLP_REAL)0, p, C);
    for (int r = 0; r < m; r++) {
        MLP_REAL *row = p + (size_t)r * (size_t)C;
        for (int c = 0; c < C; c++) row[c] += b2[c];
    }
    MLP_SFX(mlp_outmap)(s, p, m);
}

/* Summed loss of m rows of probabilities p[m*C] against labels y, in
 * double, rows in order.  An invalid label (not 0/1 for sigmoid, not in
 * 0..C-1 for softmax) makes its row loss NaN. */
static double MLP_SFX(mlp_loss_sum)(const mlp_shape *s, const MLP_REAL *p,
                                    const int32_t *y, int m)
{
    const int C = s->n_out;
    double loss = 0.0;
    for (int r = 0; r < m; r++) {
        const MLP_REAL *row = p + (size_t)r * (size_t)C;
        if (!s->softmax) {
            if (y[r] != 0 && y[r] != 1) { loss += NAN; continue; }
            double pc = mlp_clamp_prob((double)row[0]);
            loss -= (y[r] == 1) ? log(pc) : log(1.0 - pc);
        } else {
            if (y[r] < 0 || y[r] >= C) { loss += NAN; continue; }
            loss -= log(mlp_clamp_prob((double)row[y[r]]));
        }
    }
    return loss;
}

/* out[c] = sum_r D[r*N + c] for r = 0..m-1 in increasing r, accumulated in
 * acc[N] (double), rounded once to MLP_REAL. */
static void MLP_SFX(mlp_colsum)(const MLP_REAL *D, int m, int N, double *acc,
                                MLP_REAL *out)
{
    for (int c = 0; c < N; c++) acc[c] = 0.0;
    for (int r = 0; r < m; r++) {
        const MLP_REAL *row = D + (size_t)r * (size_t)N;
        for (int c = 0; c < N; c++) acc[c] += (double)row[c];
    }
    for (int c = 0; c < N; c++) out[c] = (MLP_REAL)acc[c];
}

double MLP_SFX(mlp_loss_grad)(const mlp_shape *s, const MLP_REAL *params,
                              const MLP_REAL *x, const int32_t *y, int m,
                              mlp_work *w, MLP_REAL *grad)
{
    if (!mlp_work_fits(s, m, w)) return NAN;
    const mlp_layout L = mlp_layout_of(s);
    const int F = s->n_in, H = s->n_hidden, C = s->n_out;
    if (m == 0) {
        for (size_t i = 0; i < L.n; i++) grad[i] = 0;
        return 0.0;
    }
    MLP_REAL *a1 = w->MLP_SCRATCH.a1, *d1 = w->MLP_SCRATCH.d1, *p = w->MLP_SCRATCH.p;
    const MLP_REAL *W2 = params + L.w2;

    MLP_SFX(mlp_forward)(s, &L, params, x, m, a1, p);
    double loss = MLP_SFX(mlp_loss_sum)(s, p, y, m);

    MLP_SFX(mlp_dz2)(s, p, y, m);

    /* gW2 = A1^T dZ2 (H x m times m x C); gb2 = column sums of dZ2. */
    MLP_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, m,
             (MLP_REAL)1, a1, H, p, C, (MLP_REAL)0, grad + L.w2, C);
    MLP_SFX(mlp_colsum)(p, m, C, w->colsum, grad + L.b2);

    /* dA1 = dZ2 W2^T (m x C times C x H); dZ1 = dA1 .* [Z1 > 0], and
     * Z1 > 0 exactly where A1 = relu(Z1) > 0. */
    MLP_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, m, H, C,
             (MLP_REAL)1, p, C, W2, C, (MLP_REAL)0, d1, H);
    const size_t mh = (size_t)m * (size_t)H;
    for (size_t i = 0; i < mh; i++)
        if (!(a1[i] > 0)) d1[i] = 0;

    /* gW1 = X^T dZ1 (F x m times m x H); gb1 = column sums of dZ1. */
    MLP_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, F, H, m,
             (MLP_REAL)1, x, F, d1, H, (MLP_REAL)0, grad + L.w1, H);
    MLP_SFX(mlp_colsum)(d1, m, H, w->colsum, grad + L.b1);
    return loss;
}

double MLP_SFX(mlp_predict)(const mlp_shape *s, const MLP_REAL *params,
                            const MLP_REAL *x, const int32_t *y, int m,
                            mlp_work *w, MLP_REAL *prob)
{
    if (!mlp_work_fits(s, m, w)) return NAN;
    if (m == 0) return 0.0;
    const mlp_layout L = mlp_layout_of(s);
    MLP_SFX(mlp_forward)(s, &L, params, x, m, w->MLP_SCRATCH.a1, prob);
    return (y != NULL) ? MLP_SFX(mlp_loss_sum)(s, prob, y, m) : 0.0;
}

#undef MLP_REAL
#undef MLP_SFX
#undef MLP_GEMM
#undef MLP_EXP
#undef MLP_SCRATCH
