/** \file mpi_allreduce.c  MPI tests of the step's int64 sum over ranks
 *  (allreduce.h): allreduce_sum and its two halves (scatter with the
 *  parts, gather), the slices, allreduce_peek and the shared float area,
 *  the early publication of a contribution, the 64-byte alignment
 *  of the contribution buffers and the share area, for the kind riskgrid
 *  picks on one node ("shm"; "none" at 1 rank) and for the MPI fallback
 *  (RISKGRID_ALLREDUCE=mpi).
 *
 *  Run by ctest under mpiexec at 1..4 ranks; every rank runs every test
 *  (checks and main(): mpi_check.h). */
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

#include "riskgrid/allreduce.h"
#include "riskgrid/error.h"
#include "riskgrid/log.h"

#include "mpi_check.h"

/* Rank r's contribution to element i in call k: distinct per (r, i, k),
 * large enough to use all 64 bits, and negative for some. */
static int64_t contrib(int r, size_t i, int k)
{
    uint64_t h = (uint64_t)(r + 1) * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)(i + 1) * UINT64_C(0xbf58476d1ce4e5b9) ^
                 (uint64_t)(k + 1) * UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return (int64_t)(h >> 3) - (int64_t)(UINT64_C(1) << 59);
}

/* The wrap-around sum over all ranks, computed independently. */
static int64_t expect(size_t i, int k)
{
    uint64_t s = 0;
    for (int r = 0; r < g_size; r++) s += (uint64_t)contrib(r, i, k);
    return (int64_t)s;
}

/* Several calls of len elements: whole sums, and the halves with the
 * slices, peek and the share area. */
static void run_kind(const char *env, const char *want_kind)
{
    static const size_t lens[] = {1, 17, 3269};
    if (env != NULL) setenv("RISKGRID_ALLREDUCE", env, 1);
    else unsetenv("RISKGRID_ALLREDUCE");
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const size_t len = lens[li];
        allreduce *a = NULL;
        rg_error err;
        error_clear(&err);
        assert_int_equal(allreduce_new(MPI_COMM_WORLD, len, &a, &err), 0);
        CHECK(strcmp(allreduce_kind(a), g_size == 1 ? "none" : want_kind) == 0, "kind %s", allreduce_kind(a));
        {
            /* slices: disjoint, in rank order, covering [0, len), starting
             * at multiples of 16 (an empty one may sit at len) */
            size_t next = 0;
            for (int r = 0; r < g_size; r++) {
                size_t lo = 0, hi = 0;
                allreduce_slice(a, r, &lo, &hi);
                if (allreduce_share(a) == NULL) {
                    CHECK(lo == 0 && hi == len, "rank %d slice [%zu, %zu) of %zu", r, lo, hi, len);
                    next = len;
                    continue;
                }
                CHECK(lo == next && lo <= hi && hi <= len && (lo % 16 == 0 || lo == hi), "rank %d slice [%zu, %zu), expected from %zu", r, lo, hi, next);
                next = hi;
            }
            CHECK(next == len, "slices end at %zu of %zu", next, len);
        }
        for (int k = 0; k < 5; k++) {
            int64_t *buf = allreduce_buf(a);
            const int64_t *sum = NULL;
            double waited = 0.0;
            size_t lo = 0, hi = 0, bad = 0;
            /* the kernels write the contribution with 64-byte stores */
            CHECK((uintptr_t)buf % 64 == 0, "call %d: contribution buffer at %p is not 64-byte aligned", k, (void *)buf);
            CHECK(allreduce_share(a) == NULL || (uintptr_t)allreduce_share(a) % 64 == 0, "share area not 64-byte aligned");
            for (size_t i = 0; i < len; i++) buf[i] = contrib(g_rank, i, k);
            if (k % 2 == 0) {
                assert_int_equal(allreduce_sum(a, 30.0, &sum, &waited, &err), 0);
            } else {
                float *share = NULL;
                int64_t tail[3] = {0, 0, 0};
                const size_t nt = len < 3 ? len : 3;
                const int64_t *const *part = NULL;
                int np = 0;
                assert_int_equal(allreduce_scatter(a, 30.0, &part, &np, &lo, &hi, &waited, &err), 0);
                /* the parts: one (the sum) unless in shared memory, then
                 * one per rank; their wrap-around sum is the sum everywhere */
                CHECK(np == (strcmp(allreduce_kind(a), "shm") == 0 ? g_size : 1), "call %d: %d parts", k, np);
                for (size_t i = 0; i < len; i++) {
                    uint64_t s = 0;
                    for (int j = 0; j < np; j++) s += (uint64_t)part[j][i];
                    bad += (int64_t)s != expect(i, k);
                }
                CHECK(bad == 0, "call %d: %zu elements of the parts' sum wrong (slice [%zu, %zu))", k, bad, lo, hi);
                allreduce_peek(a, len - nt, nt, tail);
                for (size_t i = 0; i < nt; i++) CHECK(tail[i] == expect(len - nt + i, k), "call %d: peek element %zu", k, len - nt + i);
                share = allreduce_share(a);
                if (share != NULL)
                    for (size_t i = lo; i < hi; i++) share[i] = (float)(i * 3 + (size_t)k);
                assert_int_equal(allreduce_gather(a, 30.0, &waited, &err), 0);
                if (share != NULL) {
                    size_t wrong = 0;
                    for (size_t i = 0; i < len; i++) wrong += share[i] != (float)(i * 3 + (size_t)k);
                    CHECK(wrong == 0, "call %d: %zu share elements not written by their slice's rank", k, wrong);
                }
                continue;
            }
            bad = 0;
            for (size_t i = 0; i < len; i++) bad += sum[i] != expect(i, k);
            CHECK(bad == 0, "call %d (len %zu): %zu wrong elements in the sum", k, len, bad);
        }
        allreduce_free(a);
        agree_checks();
    }
    unsetenv("RISKGRID_ALLREDUCE");
}

/* allreduce_publish / allreduce_published: NULL for every rank until it
 * publishes in the current call (the previous call's publication does
 * not count), then its contribution, final outside its slice; NULL
 * always unless in shared memory; the sums are unchanged. */
static void run_publish(const char *env)
{
    const size_t len = 3269;
    allreduce *a = NULL;
    rg_error err;
    error_clear(&err);
    if (env != NULL) setenv("RISKGRID_ALLREDUCE", env, 1);
    else unsetenv("RISKGRID_ALLREDUCE");
    assert_int_equal(allreduce_new(MPI_COMM_WORLD, len, &a, &err), 0);
    for (int k = 0; k < 4; k++) {
        const int shm = strcmp(allreduce_kind(a), "shm") == 0;
        int64_t *buf = allreduce_buf(a);
        const int64_t *sum = NULL;
        double waited = 0.0;
        size_t bad = 0;
        for (size_t i = 0; i < len; i++) buf[i] = contrib(g_rank, i, k);
        MPI_Barrier(MPI_COMM_WORLD);
        for (int r = 0; r < g_size; r++) CHECK(allreduce_published(a, r) == NULL, "call %d: rank %d published before it did", k, r);
        CHECK(allreduce_published(a, -1) == NULL && allreduce_published(a, g_size) == NULL, "a rank out of range");
        MPI_Barrier(MPI_COMM_WORLD);  /* everyone has looked before anyone publishes */
        allreduce_publish(a);
        MPI_Barrier(MPI_COMM_WORLD);
        for (int r = 0; r < g_size; r++) {
            const int64_t *c = allreduce_published(a, r);
            size_t lo = 0, hi = 0, wrong = 0;
            CHECK((c != NULL) == shm, "call %d: rank %d's publication %s", k, r, c != NULL ? "seen outside shared memory" : "not seen");
            if (c == NULL) continue;
            allreduce_slice(a, r, &lo, &hi);
            for (size_t i = 0; i < len; i++) wrong += (i < lo || i >= hi) && c[i] != contrib(r, i, k);
            CHECK(wrong == 0, "call %d: %zu elements of rank %d's published contribution wrong", k, wrong, r);
        }
        assert_int_equal(allreduce_sum(a, 30.0, &sum, &waited, &err), 0);
        for (size_t i = 0; i < len; i++) bad += sum[i] != expect(i, k);
        CHECK(bad == 0, "call %d: %zu wrong elements in the sum after publishing", k, bad);
    }
    allreduce_free(a);
    agree_checks();
    unsetenv("RISKGRID_ALLREDUCE");
}

static void test_publish(void **state)
{
    (void)state;
    run_publish(NULL);
    run_publish("mpi");
}

static void test_shared_memory(void **state)
{
    (void)state;
    run_kind(NULL, "shm");
}

static void test_mpi_fallback(void **state)
{
    (void)state;
    run_kind("mpi", "mpi");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_memory),
        cmocka_unit_test(test_mpi_fallback),
        cmocka_unit_test(test_publish),
    };
    return mpi_check_main(argc, argv, "mpi_allreduce", tests, NULL, NULL);
}
