/** \file mpi_check.h  The harness shared by the MPI test programs
 *  (tests/mpi_*.c): checks that never leave a collective early, and a
 *  main() body that runs a cmocka group on every rank.
 *
 *  CHECK(cond, fmt, ...) counts a local failure and prints the detail on
 *  the rank that saw it (it does not longjmp: the other ranks may be
 *  waiting in a collective).  agree_checks() ends a test: the counts are
 *  combined over the ranks (MAX), so a failure anywhere fails the test
 *  everywhere.  mpi_check_main() initialises MPI, keeps cmocka's own
 *  output on rank 0 only (the CHECK details of every rank still reach the
 *  real stderr), runs the group and returns the worst cmocka failure count
 *  over the ranks, so mpiexec exits non-zero on any failure.
 *
 *  Included by one .c file per program (the state below is per program). */
#ifndef RISKGRID_TESTS_MPI_CHECK_H
#define RISKGRID_TESTS_MPI_CHECK_H

#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "riskgrid/log.h"

static int g_rank = 0, g_size = 1;
static int g_fail = 0; /* local failed checks in the current test */
static FILE *g_diag;    /* failure details: stderr, kept on every rank */

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            g_fail++;                                                             \
            fprintf(g_diag, "[rank %d of %d] %s:%d: check failed: %s: ", g_rank,  \
                    g_size, __FILE__, __LINE__, #cond);                           \
            fprintf(g_diag, __VA_ARGS__);                                         \
            fputc('\n', g_diag);                                                  \
            fflush(g_diag);                                                       \
        }                                                                         \
    } while (0)

/* End of a test: fail it on every rank if any rank had a failed check. */
static void agree_checks(void)
{
    int mine = g_fail, worst = 0;
    g_fail = 0;
    assert_int_equal(MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), MPI_SUCCESS);
    if (worst != 0) fail_msg("%d failed check(s) on some rank (%d here)", worst, mine);
}

/* The whole main() of an MPI test program; tests is an array (its size is
 * taken here, as cmocka_run_group_tests_name does). */
#define mpi_check_main(argc, argv, name, tests, setup, teardown) \
    mpi_check_run_(argc, argv, name, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)

static int mpi_check_run_(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t n,
                          CMFixtureFunction setup, CMFixtureFunction teardown)
{
    int failed = 0, worst = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    log_setup(g_rank, g_size, 1);
    g_diag = stderr;
    if (g_rank != 0) {
        int fd = dup(STDERR_FILENO);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f != NULL) g_diag = f;
        if (freopen("/dev/null", "w", stdout) == NULL || (f != NULL && freopen("/dev/null", "w", stderr) == NULL))
            fprintf(g_diag, "[rank %d] cannot silence cmocka output\n", g_rank);
    }
    /* what cmocka_run_group_tests_name expands to, with the size passed in */
    failed = _cmocka_run_group_tests(name, tests, n, setup, teardown);
    MPI_Allreduce(&failed, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (g_rank == 0) {
        printf("%s: %d rank(s), worst failure count over ranks: %d\n", name, g_size, worst);
        fflush(stdout);
    }
    MPI_Finalize();
    if (g_diag != stderr) fclose(g_diag);
    return worst;
}

#endif
