/** \file test_hash.c
 *  Unit tests of FNV-1a 64: the published test vectors, and
 *  hash_fnv1a_rows against hash_fnv1a row by row for every row count
 *  around the eight-row blocks, odd lengths and strides longer than the
 *  rows (a lane that read another row's bytes, or the tail rows hashed
 *  with the block's code, would show). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "riskgrid/hash.h"

static void test_published_vectors(void **state)
{
    (void)state;
    /* FNV-1a 64 of "", "a" and "foobar" (the FNV reference test suite) */
    assert_true(hash_fnv1a("", 0) == 0xcbf29ce484222325ULL);
    assert_true(hash_fnv1a("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(hash_fnv1a("foobar", 6) == 0x85944171f73967e8ULL);
}

static void test_rows_match_one_by_one(void **state)
{
    (void)state;
    const size_t lens[] = {0, 1, 7, 64, 6272};
    enum { MAXROWS = 19 };
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        const size_t n = lens[li], stride = n + 13;
        unsigned char *buf = malloc(stride * MAXROWS + 1);
        uint64_t out[MAXROWS + 1];
        assert_non_null(buf);
        for (size_t i = 0; i < stride * MAXROWS; i++) buf[i] = (unsigned char)((i * 2654435761u) >> 13);
        for (int count = 0; count <= MAXROWS; count++) {
            out[count] = 0x5a5a5a5a5a5a5a5aULL;  /* must stay untouched */
            hash_fnv1a_rows(buf, stride, n, count, out);
            for (int k = 0; k < count; k++) assert_true(out[k] == hash_fnv1a(buf + (size_t)k * stride, n));
            assert_true(out[count] == 0x5a5a5a5a5a5a5a5aULL);
        }
        /* rows that differ in one byte hash differently (for n > 0) */
        if (n > 0) {
            uint64_t a[9], b[9];
            hash_fnv1a_rows(buf, stride, n, 9, a);
            buf[3 * stride + n - 1] ^= 1;
            hash_fnv1a_rows(buf, stride, n, 9, b);
            for (int k = 0; k < 9; k++) assert_true((a[k] == b[k]) == (k != 3));
        }
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_rows_match_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
