/** \file rng.h
 *  Counter-based random numbers: every draw is a pure function of a key
 *  and a counter, so any rank can reproduce any draw without state, and
 *  the sequence never depends on the number of ranks.
 */
#ifndef RISKGRID_RNG_H
#define RISKGRID_RNG_H

#include <stdint.h>

/** SplitMix64 finaliser: a bijective 64-bit mixer. */
uint64_t rng_mix64(uint64_t x);

/** Hash of (key, a, b): a 64-bit value uniformly spread. */
uint64_t rng_hash3(uint64_t key, uint64_t a, uint64_t b);

/** Uniform double in [0, 1) from a 64-bit value (top 53 bits). */
double rng_unit(uint64_t bits);

/** Standard normal draw for (key, counter), Box-Muller on two hashes. */
double rng_normal(uint64_t key, uint64_t counter);

/** Fisher-Yates permutation of 0..n-1 into perm, driven by (key, a, b). */
void rng_permutation(uint32_t *perm, uint32_t n, uint64_t key, uint64_t a, uint64_t b);

/** Stream labels that keep the uses of the seed apart. */
enum {
    RNG_STREAM_SPLIT = 1,   /**< train/test split of a row */
    RNG_STREAM_SHARD = 2,   /**< virtual shard of a row */
    RNG_STREAM_INIT = 3,    /**< weight initialisation */
    RNG_STREAM_SHUFFLE = 4, /**< per-shard, per-cycle row order */
    RNG_STREAM_GEN = 5      /**< synthetic data generator */
};

#endif
