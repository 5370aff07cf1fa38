/** \file rng.c  Counter-based random numbers (see rng.h). */
#include "riskgrid/rng.h"

#include <math.h>

uint64_t rng_mix64(uint64_t x)
{
    /* SplitMix64 (Steele, Lea, Flood 2014) output function on x + golden. */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t rng_hash3(uint64_t key, uint64_t a, uint64_t b)
{
    return rng_mix64(rng_mix64(rng_mix64(key) ^ a) ^ b);
}

double rng_unit(uint64_t bits)
{
    return (double)(bits >> 11) * 0x1.0p-53;
}

double rng_normal(uint64_t key, uint64_t counter)
{
    /* Box-Muller; u1 in (0, 1] so log(u1) is finite. */
    double u1 = 1.0 - rng_unit(rng_hash3(key, counter, 0));
    double u2 = rng_unit(rng_hash3(key, counter, 1));
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void rng_permutation(uint32_t *perm, uint32_t n, uint64_t key, uint64_t a, uint64_t b)
{
    uint64_t k = rng_hash3(key, a, b);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        /* j uniform in [0, i): 128-bit multiply-shift (Lemire), bias < 2^-32 for i < 2^32 */
        uint64_t r = rng_mix64(k ^ (uint64_t)i);
        uint32_t j = (uint32_t)(((unsigned __int128)r * i) >> 64);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
