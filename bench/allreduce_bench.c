/* \file bench/allreduce_bench.c  MPI_Allreduce latency/bandwidth between
 * the ranks of one job (alpha-beta input for docs/performance.md).
 *
 *   mpiexec -n 2 allreduce_bench [BYTES...]
 *
 * Default sizes: 8 B, 1 KiB, 13 KB, 25.6 KB, 100 KB, 400 KB, 814 KB, 4 MiB.
 * The buffer is int64 summed with MPI_SUM, as riskgrid's per-step exact
 * reduction (13 KB / 400 KB are the float32 size of the CREDIT 23-128-1 and
 * MNIST 784-128-10 parameter vectors; 25.6 KB / 814 KB their int64 size,
 * which is what riskgrid actually sends).  For each size: warm-up, then
 * 7 samples, each the mean over enough back-to-back calls to last >= 20 ms
 * (a barrier before each sample); rank 0 prints the median and the range.
 * Output, one line per size:
 *   allreduce bytes=.. ranks=.. us_median=.. us_min=.. us_max=.. MBps=..
 *
 * Built with -DRG_CORE and linked with libriskgrid_core.a it also times
 * riskgrid's own reduction (src/allreduce.c, the kind it picks: "shm" on
 * one node) the way a training step uses it: write the contribution,
 * allreduce_sum, read the whole sum.  Lines:
 *   riskgrid_allreduce kind=.. bytes=.. ranks=.. us_median=.. us_min=.. us_max=..   */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef RG_CORE
#include "riskgrid/allreduce.h"
#endif

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { SAMPLES = 7 };

/* us[0..SAMPLES) on rank 0, sorted: microseconds per call(ctx), the slowest
 * rank's mean over enough back-to-back calls to last >= 20 ms (rank 0
 * decides), after 5 warm-up calls and a barrier before each sample. */
static void time_calls(void (*call)(void *), void *ctx, double *us)
{
    int inner = 1;
    for (int i = 0; i < 5; i++) call(ctx);
    for (;;) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < inner; i++) call(ctx);
        double dt = MPI_Wtime() - t0;
        int done = dt >= 0.02 || inner >= (1 << 20);
        MPI_Bcast(&done, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (done) break;
        inner *= 2;
    }
    for (int k = 0; k < SAMPLES; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < inner; i++) call(ctx);
        double t = (MPI_Wtime() - t0) / inner, tmax = 0.0;
        MPI_Reduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        us[k] = tmax * 1e6;
    }
    qsort(us, SAMPLES, sizeof us[0], cmp_d);
}

typedef struct mpi_ctx {
    int64_t *s, *r;
    int count;
} mpi_ctx;

static void mpi_call(void *p)
{
    mpi_ctx *c = p;
    MPI_Allreduce(c->s, c->r, c->count, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
}

#ifdef RG_CORE
typedef struct rg_ctx {
    allreduce *a;
    size_t count;
    int rank;
    int64_t sink;
    rg_error err;
} rg_ctx;

/* one step: write the contribution, reduce, read the sum */
static void rg_call(void *p)
{
    rg_ctx *c = p;
    int64_t *buf = allreduce_buf(c->a);
    const int64_t *sum = NULL;
    double w = 0.0;
    for (size_t j = 0; j < c->count; j++) buf[j] = (int64_t)(j + (size_t)c->rank);
    if (allreduce_sum(c->a, 0.0, &sum, &w, &c->err) != 0) MPI_Abort(MPI_COMM_WORLD, 1);
    for (size_t j = 0; j < c->count; j++) c->sink += sum[j];
}
#endif

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, np;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    long def[] = {8, 1024, 13000, 25608, 100000, 407080, 814160, 4194304};
    int nsz = argc > 1 ? argc - 1 : (int)(sizeof def / sizeof def[0]);
    double us[SAMPLES];
    for (int si = 0; si < nsz; si++) {
        long bytes = argc > 1 ? atol(argv[si + 1]) : def[si];
        mpi_ctx c = {NULL, NULL, (int)((bytes + 7) / 8)};
        if (c.count < 1) c.count = 1;
        c.s = malloc(sizeof(int64_t) * (size_t)c.count);
        c.r = malloc(sizeof(int64_t) * (size_t)c.count);
        if (!c.s || !c.r) MPI_Abort(MPI_COMM_WORLD, 1);
        for (int i = 0; i < c.count; i++) c.s[i] = (int64_t)(i + rank);
        time_calls(mpi_call, &c, us);
        if (rank == 0) {
            printf("allreduce bytes=%ld ranks=%d us_median=%.2f us_min=%.2f us_max=%.2f MBps=%.1f\n",
                   (long)c.count * 8, np, us[SAMPLES / 2], us[0], us[SAMPLES - 1],
                   (double)c.count * 8 / us[SAMPLES / 2]);
            fflush(stdout);
        }
        free(c.s); free(c.r);
    }
#ifdef RG_CORE
    for (int si = 0; si < nsz; si++) {
        long bytes = argc > 1 ? atol(argv[si + 1]) : def[si];
        rg_ctx c;
        memset(&c, 0, sizeof c);
        c.count = (size_t)((bytes + 7) / 8);
        c.rank = rank;
        if (c.count < 1) c.count = 1;
        error_clear(&c.err);
        if (allreduce_new(MPI_COMM_WORLD, c.count, &c.a, &c.err) != 0) {
            fprintf(stderr, "allreduce_new: %s\n", c.err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        time_calls(rg_call, &c, us);
        if (rank == 0) {
            printf("riskgrid_allreduce kind=%s bytes=%ld ranks=%d us_median=%.2f us_min=%.2f us_max=%.2f\n",
                   allreduce_kind(c.a), (long)c.count * 8, np, us[SAMPLES / 2], us[0], us[SAMPLES - 1]);
            fflush(stdout);
        }
        allreduce_free(c.a);
    }
#endif
    MPI_Finalize();
    return 0;
}
