/** \file tests/test_blas.c  The OpenBLAS kernel advice (blas.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "riskgrid/blas.h"

static void test_advice(void **state)
{
    char m[512];
    (void)state;
    /* the fallback on a new CPU: warn with the fix */
    assert_int_equal(blas_advice("Prescott", 1, 1, m, sizeof m), 1);
    assert_non_null(strstr(m, "OPENBLAS_CORETYPE=SkylakeX"));
    assert_non_null(strstr(m, "'Prescott'"));
    assert_int_equal(blas_advice("Prescott", 1, 0, m, sizeof m), 1);
    assert_non_null(strstr(m, "OPENBLAS_CORETYPE=Haswell"));
    assert_int_equal(blas_advice("Nehalem", 1, 0, m, sizeof m), 1);
    /* an AVX2 kernel on an AVX-512 CPU is close enough for evaluation */
    assert_int_equal(blas_advice("Haswell", 1, 1, m, sizeof m), 0);
    assert_int_equal(blas_advice("Sandybridge", 0, 1, m, sizeof m), 1);
    /* kernels that fit: no warning, empty message */
    assert_int_equal(blas_advice("SkylakeX", 1, 1, m, sizeof m), 0);
    assert_string_equal(m, "");
    assert_int_equal(blas_advice("Haswell", 1, 0, m, sizeof m), 0);
    assert_int_equal(blas_advice("Zen", 1, 0, m, sizeof m), 0);
    assert_int_equal(blas_advice("Prescott", 0, 0, m, sizeof m), 0);
}

static void test_this_process(void **state)
{
    char m[512];
    (void)state;
    /* whatever OpenBLAS chose here, the check runs and names a kernel */
    assert_true(strlen(blas_corename()) > 0);
    assert_true(blas_check(m, sizeof m) == 0 || strstr(m, blas_corename()) != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_advice),
        cmocka_unit_test(test_this_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
