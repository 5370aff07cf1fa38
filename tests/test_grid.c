/** \file test_grid.c  Unit tests of grid.c (cmocka).
 *
 *  References: hand-computed values of D; a nested-loop evaluation of the
 *  C-order grid with grid_index (for grid_eval_block); a brute-force scan
 *  for the first maximum (for grid_argmax) on random axes with repeated
 *  values, zeros and ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "riskgrid/grid.h"

#define MAXN 8

/* SplitMix64: the tests' own generator. */
static uint64_t sm_state;
static uint64_t sm_next(void)
{
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double sm_unit(void) { return (double)(sm_next() >> 11) * 0x1.0p-53; }

typedef struct axes_buf {
    double v[4][MAXN];
    grid_axes g;
} axes_buf;

static void axes_init(axes_buf *b, const size_t n[4])
{
    for (int a = 0; a < 4; a++) {
        b->g.v[a] = b->v[a];
        b->g.n[a] = n[a];
    }
}

/* Reference grid in C order by nested loops: ref[flat] = D. */
static double *reference_grid(const grid_axes *g, double auc, size_t *total)
{
    size_t t = g->n[0] * g->n[1] * g->n[2] * g->n[3], f = 0;
    double *ref = malloc((t ? t : 1) * sizeof *ref);
    assert_non_null(ref);
    for (size_t id = 0; id < g->n[0]; id++)
        for (size_t ic = 0; ic < g->n[1]; ic++)
            for (size_t is = 0; is < g->n[2]; is++)
                for (size_t im = 0; im < g->n[3]; im++)
                    ref[f++] = grid_index(auc, g->v[0][id], g->v[1][ic], g->v[2][is], g->v[3][im]);
    *total = t;
    return ref;
}

static void test_grid_index_hand(void **state)
{
    (void)state;
    /* dyadic values: exact. 0.75 * 0.5 * 0.75 * 0.5 * 0.5 = 9/128 */
    assert_true(grid_index(0.75, 0.5, 0.25, 0.5, 0.5) == 9.0 / 128.0);
    /* 0.8 * 0.9 * 0.8 * 0.95 * 0.9 = 0.49248 */
    assert_true(fabs(grid_index(0.8, 0.9, 0.2, 0.95, 0.9) - 0.49248) < 1e-15);
    /* reference point of config.h: 0.8, 0.2, 0.9, 0.95 with AUC 0.7:
     * 0.7 * 0.8 * 0.8 * 0.9 * 0.95 = 0.38304 */
    assert_true(fabs(grid_index(0.7, 0.8, 0.2, 0.9, 0.95) - 0.38304) < 1e-15);
    assert_true(grid_index(0.9, 0.5, 1.0, 0.5, 0.5) == 0.0);   /* full competition */
    assert_true(grid_index(0.9, 0.0, 0.1, 0.5, 0.5) == 0.0);   /* no demand */
    assert_true(grid_index(1.0, 1.0, 0.0, 1.0, 1.0) == 1.0);
    /* linear in AUC */
    assert_true(fabs(grid_index(0.6, 0.9, 0.3, 0.8, 0.7) -
                     2.0 * grid_index(0.3, 0.9, 0.3, 0.8, 0.7)) < 1e-15);
}

static void test_grid_size(void **state)
{
    axes_buf b;
    size_t n1[4] = {3, 4, 5, 6}, n2[4] = {3, 0, 5, 6}, n3[4] = {1, 1, 1, 1};
    grid_axes big = {{NULL, NULL, NULL, NULL}, {SIZE_MAX / 2, 3, 1, 1}};
    (void)state;
    axes_init(&b, n1);
    assert_int_equal(grid_size(&b.g), 360);
    axes_init(&b, n2);
    assert_int_equal(grid_size(&b.g), 0);
    axes_init(&b, n3);
    assert_int_equal(grid_size(&b.g), 1);
    /* overflowing product: 0 (documented in grid.c) */
    assert_int_equal(grid_size(&big), 0);
}

/* Every block [start, start + count) equals (float)grid_index per point. */
static void check_blocks(const grid_axes *g, double auc)
{
    size_t total, counts[5] = {1, 2, 7, 13, 64};
    double *ref = reference_grid(g, auc, &total);
    float *out = malloc((total + 4) * sizeof *out);
    assert_non_null(out);
    assert_int_equal(grid_size(g), total);
    for (size_t start = 0; start < total; start++) {
        for (int c = 0; c < 6; c++) {
            size_t count = c < 5 ? counts[c] : total - start;   /* c == 5: to the end */
            if (start + count > total) count = total - start;   /* last partial block */
            out[count] = 12345.0f;                              /* guard */
            grid_eval_block(g, auc, start, count, out);
            for (size_t i = 0; i < count; i++) {
                if (memcmp(&out[i], &(float){(float)ref[start + i]}, sizeof(float)) != 0) {
                    print_error("start %zu count %zu i %zu: %.9g != %.9g\n",
                                start, count, i, (double)out[i], (double)(float)ref[start + i]);
                    fail();
                }
            }
            assert_true(out[count] == 12345.0f);               /* nothing written past count */
        }
    }
    free(ref);
    free(out);
}

static void test_eval_block(void **state)
{
    static const size_t shapes[][4] = {
        {3, 4, 2, 5}, {1, 1, 1, 1}, {1, 7, 1, 3}, {5, 1, 4, 1}, {2, 3, 4, 5}, {8, 1, 1, 8}};
    axes_buf b;
    (void)state;
    sm_state = 2024;
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        axes_init(&b, shapes[t]);
        for (int a = 0; a < 4; a++)
            for (size_t i = 0; i < shapes[t][a]; i++) b.v[a][i] = sm_unit();
        check_blocks(&b.g, 0.8137);
        check_blocks(&b.g, 1.0);
    }
}

/* count == 0 writes nothing; points past the grid are NaN (grid.c). */
static void test_eval_block_edges(void **state)
{
    static const size_t n[4] = {2, 2, 2, 2};
    axes_buf b;
    float out[8];
    (void)state;
    axes_init(&b, n);
    for (int a = 0; a < 4; a++) { b.v[a][0] = 0.25; b.v[a][1] = 0.5; }
    out[0] = 7.0f;
    grid_eval_block(&b.g, 0.9, 3, 0, out);
    assert_true(out[0] == 7.0f);
    grid_eval_block(&b.g, 0.9, 14, 4, out);
    assert_true(out[0] == (float)grid_index(0.9, 0.5, 0.5, 0.5, 0.25));
    assert_true(out[1] == (float)grid_index(0.9, 0.5, 0.5, 0.5, 0.5));
    assert_true(isnan(out[2]) && isnan(out[3]));
    grid_eval_block(&b.g, 0.9, 16, 2, out);
    assert_true(isnan(out[0]) && isnan(out[1]));
}

/* Brute force: first flat index with the largest D (strict > keeps the
 * first), over the rounded doubles. */
static size_t brute_argmax(const grid_axes *g, double auc)
{
    size_t total, best = 0;
    double *ref = reference_grid(g, auc, &total);
    for (size_t f = 1; f < total; f++)
        if (ref[f] > ref[best]) best = f;
    free(ref);
    return best;
}

/* Random axes, values on the lattice k/10 (so repeats are frequent, and
 * 0 and 1 occur: all-zero grids included), lengths 1..MAXN. */
static void test_argmax_brute_force(void **state)
{
    axes_buf b;
    size_t zero_grids = 0;
    (void)state;
    sm_state = 31337;
    for (int trial = 0; trial < 3000; trial++) {
        size_t n[4], idx4[4], flat, want;
        int levels = 1 + (int)(sm_next() % 10);   /* 1..10 distinct values */
        for (int a = 0; a < 4; a++) n[a] = 1 + (size_t)(sm_next() % MAXN);
        axes_init(&b, n);
        for (int a = 0; a < 4; a++)
            for (size_t i = 0; i < n[a]; i++) {
                int k = (int)(sm_next() % (uint64_t)(levels + 1));
                /* competition mostly high so (1 - c) == 0 happens */
                b.v[a][i] = (a == 1 ? 10 - k : k) / 10.0;
            }
        flat = grid_argmax(&b.g, idx4);
        for (int r = 0; r < 2; r++) {
            want = brute_argmax(&b.g, r == 0 ? 0.7318 : 1.0);
            if (flat != want) {
                print_error("trial %d: grid_argmax %zu, brute force %zu\n", trial, flat, want);
                fail();
            }
        }
        assert_int_equal(((idx4[0] * n[1] + idx4[1]) * n[2] + idx4[2]) * n[3] + idx4[3], flat);
        for (int a = 0; a < 4; a++) assert_true(idx4[a] < n[a]);
        if (grid_index(1.0, b.v[0][idx4[0]], b.v[1][idx4[1]], b.v[2][idx4[2]], b.v[3][idx4[3]]) == 0.0)
            zero_grids++;
    }
    assert_true(zero_grids > 10);   /* the all-zero case was exercised */
}

/* Continuous random axes with explicit repeats of the maximum. */
static void test_argmax_repeated_max(void **state)
{
    axes_buf b;
    (void)state;
    sm_state = 5;
    for (int trial = 0; trial < 500; trial++) {
        size_t n[4], idx4[4], flat;
        for (int a = 0; a < 4; a++) n[a] = 2 + (size_t)(sm_next() % (MAXN - 1));
        axes_init(&b, n);
        for (int a = 0; a < 4; a++) {
            for (size_t i = 0; i < n[a]; i++) b.v[a][i] = sm_unit();
            /* copy the best value of the axis to a later position */
            size_t best = 0;
            for (size_t i = 1; i < n[a]; i++)
                if (a == 1 ? b.v[a][i] < b.v[a][best] : b.v[a][i] > b.v[a][best]) best = i;
            b.v[a][n[a] - 1] = b.v[a][best];
        }
        flat = grid_argmax(&b.g, idx4);
        assert_int_equal(flat, brute_argmax(&b.g, 0.9));
    }
}

/* Hand cases, and the documented exact-arithmetic semantics. */
static void test_argmax_hand(void **state)
{
    static const size_t n[4] = {3, 3, 2, 2};
    axes_buf b;
    size_t idx4[4], flat;
    (void)state;
    axes_init(&b, n);
    b.v[0][0] = 0.5; b.v[0][1] = 0.9; b.v[0][2] = 0.9;   /* demand: first max at 1 */
    b.v[1][0] = 0.3; b.v[1][1] = 0.1; b.v[1][2] = 0.1;   /* competition: first min at 1 */
    b.v[2][0] = 0.7; b.v[2][1] = 0.7;                    /* service: tie, 0 */
    b.v[3][0] = 0.2; b.v[3][1] = 0.8;                    /* marketing: 1 */
    flat = grid_argmax(&b.g, idx4);
    assert_int_equal(idx4[0], 1);
    assert_int_equal(idx4[1], 1);
    assert_int_equal(idx4[2], 0);
    assert_int_equal(idx4[3], 1);
    assert_int_equal(flat, ((1 * 3 + 1) * 2 + 0) * 2 + 1);
    /* demand all zero: D == 0 everywhere, the first index is 0 */
    b.v[0][0] = b.v[0][1] = b.v[0][2] = 0.0;
    flat = grid_argmax(&b.g, idx4);
    assert_int_equal(flat, 0);
    for (int a = 0; a < 4; a++) assert_int_equal(idx4[a], 0);
    /* competition all one: likewise */
    b.v[0][0] = 0.5;
    b.v[1][0] = b.v[1][1] = b.v[1][2] = 1.0;
    assert_int_equal(grid_argmax(&b.g, idx4), 0);
    /* ulp-level near tie: the exact maximiser (d = 1) is returned */
    b.v[0][0] = 0x1.fffffffffffffp-1; b.v[0][1] = 1.0; b.v[0][2] = 0.5;
    b.v[1][0] = 0.0; b.v[1][1] = 0.0; b.v[1][2] = 0.0;
    assert_int_equal(grid_argmax(&b.g, idx4), ((1 * 3 + 0) * 2 + 0) * 2 + 1);
    assert_int_equal(idx4[0], 1);
    /* competition 1e-17 vs 0: 1 - c rounds to 1 for both; exact order wins */
    b.v[1][0] = 1e-17; b.v[1][1] = 0.0;
    grid_argmax(&b.g, idx4);
    assert_int_equal(idx4[1], 1);
}

static void test_argmax_empty(void **state)
{
    static const size_t n[4] = {2, 0, 2, 2};
    axes_buf b;
    size_t idx4[4] = {0, 0, 0, 0};
    (void)state;
    axes_init(&b, n);
    assert_true(grid_argmax(&b.g, idx4) == SIZE_MAX);
    for (int a = 0; a < 4; a++) assert_true(idx4[a] == SIZE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_index_hand),
        cmocka_unit_test(test_grid_size),
        cmocka_unit_test(test_eval_block),
        cmocka_unit_test(test_eval_block_edges),
        cmocka_unit_test(test_argmax_brute_force),
        cmocka_unit_test(test_argmax_repeated_max),
        cmocka_unit_test(test_argmax_hand),
        cmocka_unit_test(test_argmax_empty),
    };
    return cmocka_run_group_tests_name("grid", tests, NULL, NULL);
}
