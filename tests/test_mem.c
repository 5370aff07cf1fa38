/** \file test_mem.c
 *  Unit tests of mem_alloc64: 64-byte alignment for sizes around a line,
 *  zero fill of the whole rounded block, the whole block writable (ASan
 *  checks the bounds in the sanitizer build), overflow refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "riskgrid/mem.h"

static void test_aligned_and_zeroed(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 3, 63, 64, 65, 1000, 100001};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int zero = 0; zero <= 1; zero++) {
            unsigned char *p = mem_alloc64(sizes[k], 1, zero);
            const size_t whole = sizes[k] == 0 ? 64 : (sizes[k] + 63) / 64 * 64;
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % 64, 0);
            if (zero)
                for (size_t i = 0; i < whole; i++) assert_int_equal(p[i], 0);
            memset(p, 0xa5, whole);  /* the rounded block is usable */
            free(p);
        }
    }
    double *d = mem_alloc64(3, sizeof(double), 1);
    assert_non_null(d);
    assert_int_equal((uintptr_t)d % 64, 0);
    assert_true(d[0] == 0.0 && d[1] == 0.0 && d[2] == 0.0);
    free(d);
}

static void test_overflow_refused(void **state)
{
    (void)state;
    assert_null(mem_alloc64(SIZE_MAX / 2 + 1, 2, 0));
    assert_null(mem_alloc64(1, SIZE_MAX - 10, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aligned_and_zeroed),
        cmocka_unit_test(test_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
