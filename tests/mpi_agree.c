/** \file mpi_agree.c  MPI tests of the collective error agreement
 *  (log_agree, log.h) and of the shard blocks (dataset_first_shard).
 *
 *  Run by ctest under mpiexec at 1..4 ranks; every rank runs every test
 *  (checks that never leave a collective early, and main(): mpi_check.h). */
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "riskgrid/dataset.h"
#include "riskgrid/error.h"
#include "riskgrid/log.h"

#include "mpi_check.h"

/* Run log_agree on comm and check the outcome: want_code and, when it is an
 * error, want_msg on every rank.  Also checks that a second agreement on
 * the agreed state is stable (same code, same message). */
static void agree_and_expect(MPI_Comm comm, rg_error *err, int want_code, const char *want_msg)
{
    int rc = log_agree(comm, err);
    CHECK(rc == want_code, "log_agree returned %d, expected %d (msg \"%s\")", rc, want_code, err->msg);
    CHECK(err->code == want_code, "err.code %d, expected %d", err->code, want_code);
    if (want_code != 0) {
        char before[ERROR_MSG_MAX];
        CHECK(strcmp(err->msg, want_msg) == 0, "message \"%s\", expected \"%s\"", err->msg, want_msg);
        memcpy(before, err->msg, sizeof before);
        rc = log_agree(comm, err);
        CHECK(rc == want_code, "second log_agree returned %d, expected %d", rc, want_code);
        CHECK(strcmp(err->msg, before) == 0, "second agreement changed the message to \"%s\"", err->msg);
    } else {
        CHECK(err->msg[0] == '\0', "no error, but the message is \"%s\"", err->msg);
    }
}

/* The message a failing rank records in these tests. */
static void rank_msg(char *buf, size_t n, int rank, const char *what)
{
    snprintf(buf, n, "%s failed on rank %d", what, rank);
}

/* ---- log_agree ----------------------------------------------------------- */

static void test_agree_no_error(void **state)
{
    rg_error err;
    (void)state;
    error_clear(&err);
    agree_and_expect(MPI_COMM_WORLD, &err, 0, NULL);
    /* twice in a row, and after a cleared error */
    error_set(&err, ERR_IO, "stale");
    error_clear(&err);
    agree_and_expect(MPI_COMM_WORLD, &err, 0, NULL);
    agree_checks();
}

static void test_agree_last_rank_only(void **state)
{
    rg_error err;
    char want[ERROR_MSG_MAX];
    int last = g_size - 1;
    (void)state;
    error_clear(&err);
    rank_msg(want, sizeof want, last, "reading");
    if (g_rank == last) error_set(&err, ERR_IO, "reading failed on rank %d", g_rank);
    agree_and_expect(MPI_COMM_WORLD, &err, ERR_IO, want);
    agree_checks();
}

static void test_agree_ranks_1_and_3(void **state)
{
    rg_error err;
    char want[ERROR_MSG_MAX];
    (void)state;
    error_clear(&err);
    rank_msg(want, sizeof want, 1, "parsing");
    /* different codes: the code must come with the message, both from rank 1 */
    if (g_rank == 1) error_set(&err, ERR_INPUT, "parsing failed on rank %d", g_rank);
    if (g_rank == 3) error_set(&err, ERR_NUMERIC, "parsing failed on rank %d", g_rank);
    if (g_size >= 2)
        agree_and_expect(MPI_COMM_WORLD, &err, ERR_INPUT, want);
    else
        agree_and_expect(MPI_COMM_WORLD, &err, 0, NULL); /* no rank 1 or 3 */
    agree_checks();
}

static void test_agree_rank_0_only(void **state)
{
    rg_error err;
    char want[ERROR_MSG_MAX];
    (void)state;
    error_clear(&err);
    rank_msg(want, sizeof want, 0, "setup");
    if (g_rank == 0) error_set(&err, ERR_USAGE, "setup failed on rank %d", g_rank);
    agree_and_expect(MPI_COMM_WORLD, &err, ERR_USAGE, want);
    agree_checks();
}

static void test_agree_all_ranks(void **state)
{
    rg_error err;
    char want[ERROR_MSG_MAX];
    static const int codes[] = {ERR_HDF5, ERR_IO, ERR_INPUT, ERR_NOMEM};
    (void)state;
    error_clear(&err);
    rank_msg(want, sizeof want, 0, "everything");
    error_set(&err, codes[g_rank % 4], "everything failed on rank %d", g_rank);
    agree_and_expect(MPI_COMM_WORLD, &err, ERR_HDF5, want);
    agree_checks();
}

/* The lowest failing rank is counted in the communicator given, not in
 * MPI_COMM_WORLD: split by parity, fail on the last rank of each half. */
static void test_agree_subcommunicator(void **state)
{
    MPI_Comm half = MPI_COMM_NULL;
    rg_error err;
    char want[ERROR_MSG_MAX];
    int color = g_rank % 2, hrank = 0, hsize = 1, last_world;
    (void)state;
    CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, g_rank, &half) == MPI_SUCCESS, "MPI_Comm_split");
    MPI_Comm_rank(half, &hrank);
    MPI_Comm_size(half, &hsize);
    /* world rank of the last member of my half: largest r < g_size with r % 2 == color */
    last_world = (g_size - 1) % 2 == color ? g_size - 1 : g_size - 2;
    error_clear(&err);
    rank_msg(want, sizeof want, last_world, "half");
    if (hrank == hsize - 1) error_set(&err, ERR_IO, "half failed on rank %d", g_rank);
    agree_and_expect(half, &err, ERR_IO, want);
    /* and nothing leaks into an agreement on the whole world afterwards */
    error_clear(&err);
    agree_and_expect(MPI_COMM_WORLD, &err, 0, NULL);
    MPI_Comm_free(&half);
    agree_checks();
}

/* ---- dataset_first_shard ------------------------------------------------- */

static void test_first_shard_blocks(void **state)
{
    (void)state;
    for (int V = 1; V <= 64; V++) {
        int *seen = calloc((size_t)V, sizeof *seen);
        CHECK(seen != NULL, "calloc");
        if (seen == NULL) break;
        for (int P = 1; P <= V; P++) {
            int prev_end = 0, smin = V + 1, smax = -1;
            memset(seen, 0, (size_t)V * sizeof *seen);
            CHECK(dataset_first_shard(0, P, V) == 0, "V=%d P=%d: rank 0 starts at %d", V, P, dataset_first_shard(0, P, V));
            CHECK(dataset_first_shard(P, P, V) == V, "V=%d P=%d: end is %d", V, P, dataset_first_shard(P, P, V));
            for (int r = 0; r < P; r++) {
                int a = dataset_first_shard(r, P, V), b = dataset_first_shard(r + 1, P, V);
                /* contiguous: each block starts where the previous ended */
                CHECK(a == prev_end, "V=%d P=%d r=%d: block starts at %d, previous ended at %d", V, P, r, a, prev_end);
                /* P <= V: every rank owns at least one shard */
                CHECK(b > a, "V=%d P=%d r=%d: empty block [%d, %d)", V, P, r, a, b);
                /* balanced: sizes differ by at most one */
                if (b - a < smin) smin = b - a;
                if (b - a > smax) smax = b - a;
                CHECK(a == (int)((int64_t)r * V / P), "V=%d P=%d r=%d: %d != floor(r*V/P)", V, P, r, a);
                for (int s = a; s < b && s < V && s >= 0; s++) seen[s]++;
                prev_end = b;
            }
            CHECK(prev_end == V, "V=%d P=%d: blocks end at %d", V, P, prev_end);
            CHECK(smax - smin <= 1, "V=%d P=%d: block sizes %d..%d", V, P, smin, smax);
            for (int s = 0; s < V; s++)
                CHECK(seen[s] == 1, "V=%d P=%d: shard %d owned %d times", V, P, s, seen[s]);
        }
        free(seen);
    }
    /* and the blocks this job actually uses (V = 16, the default) agree on
     * every rank: gather each rank's [first, end) and check them on rank 0's
     * formula everywhere */
    {
        int mine[2], *all = malloc((size_t)g_size * 2 * sizeof *all);
        CHECK(all != NULL, "malloc");
        mine[0] = dataset_first_shard(g_rank, g_size, 16);
        mine[1] = dataset_first_shard(g_rank + 1, g_size, 16);
        if (all != NULL) {
            MPI_Allgather(mine, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD);
            for (int r = 0; r < g_size; r++) {
                CHECK(all[2 * r] == (r == 0 ? 0 : all[2 * r - 1]), "rank %d starts at %d", r, all[2 * r]);
                CHECK(all[2 * r + 1] > all[2 * r], "rank %d has no shard", r);
            }
            CHECK(all[2 * g_size - 1] == 16, "last block ends at %d", all[2 * g_size - 1]);
        } else {
            int dummy[2] = {0, 0}, *buf = calloc(1, sizeof dummy * (size_t)g_size);
            MPI_Allgather(dummy, 2, MPI_INT, buf, 2, MPI_INT, MPI_COMM_WORLD);
            free(buf);
        }
        free(all);
    }
    agree_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agree_no_error),
        cmocka_unit_test(test_agree_last_rank_only),
        cmocka_unit_test(test_agree_ranks_1_and_3),
        cmocka_unit_test(test_agree_rank_0_only),
        cmocka_unit_test(test_agree_all_ranks),
        cmocka_unit_test(test_agree_subcommunicator),
        cmocka_unit_test(test_first_shard_blocks),
    };
    return mpi_check_main(argc, argv, "mpi_agree", tests, NULL, NULL);
}
