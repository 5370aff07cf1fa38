/* \file bench/sgemm_peak.c  Single-thread sgemm rate of the OpenBLAS that
 * riskgrid links, and the kernel (core) OpenBLAS picked on this CPU.
 *
 *   sgemm_peak [M N K [REPS]]        default 1024 1024 1024, 9 repetitions
 *
 * Prints key=value pairs on one line:
 *   corename=SkylakeX config="..." m=.. n=.. k=.. reps=.. gflops_median=..
 *   gflops_min=.. gflops_max=..
 * A GEMM is counted as 2*M*N*K flops.  One BLAS thread
 * (openblas_set_num_threads(1)), as riskgrid uses.  The kernel can be forced
 * with OPENBLAS_CORETYPE in the environment (Debian's DYNAMIC_ARCH build). */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* not declared by every cblas.h */
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);
extern void openblas_set_num_threads(int);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int m = argc > 3 ? atoi(argv[1]) : 1024, n = argc > 3 ? atoi(argv[2]) : 1024, k = argc > 3 ? atoi(argv[3]) : 1024;
    int reps = argc > 4 ? atoi(argv[4]) : 9;
    if (m <= 0 || n <= 0 || k <= 0 || reps <= 0 || reps > 1000) {
        fprintf(stderr, "usage: sgemm_peak [M N K [REPS]]\n");
        return 2;
    }
    openblas_set_num_threads(1);
    float *a = malloc(sizeof(float) * (size_t)m * (size_t)k), *b = malloc(sizeof(float) * (size_t)k * (size_t)n),
          *c = malloc(sizeof(float) * (size_t)m * (size_t)n);
    double *g = malloc(sizeof(double) * (size_t)reps);
    if (!a || !b || !c || !g) return 1;
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++) a[i] = (float)((i * 7919u) % 1000u) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)k * (size_t)n; i++) b[i] = (float)((i * 104729u) % 1000u) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)m * (size_t)n; i++) c[i] = 0.0f;
    const double flops = 2.0 * m * n * k;
    /* each timed sample runs the GEMM enough times to last >= 50 ms */
    int inner = 1;
    for (;;) {
        double t0 = now_s();
        for (int i = 0; i < inner; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double dt = now_s() - t0;
        if (dt >= 0.05 || inner >= (1 << 24)) break;
        inner *= 2;
    }
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        for (int i = 0; i < inner; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        g[r] = flops * inner / (now_s() - t0) * 1e-9;
    }
    qsort(g, (size_t)reps, sizeof *g, cmp_d);
    printf("corename=%s config=\"%s\" m=%d n=%d k=%d reps=%d gflops_median=%.2f gflops_min=%.2f gflops_max=%.2f check=%g\n",
           openblas_get_corename(), openblas_get_config(), m, n, k, reps, g[reps / 2], g[0], g[reps - 1], (double)c[0]);
    free(a); free(b); free(c); free(g);
    return 0;
}
