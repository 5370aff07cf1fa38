/** \file hash.h
 *  FNV-1a (64-bit), the content hash of the data fingerprint (dataset.c):
 *  h = 0xcbf29ce484222325, then per byte h = (h ^ byte) * 0x100000001b3.
 *  The values are those of the published FNV-1a 64 definition, so a
 *  fingerprint computed by another tool compares.
 */
#ifndef RISKGRID_HASH_H
#define RISKGRID_HASH_H

#include <stddef.h>
#include <stdint.h>

/** FNV-1a 64 of the n bytes at p. */
uint64_t hash_fnv1a(const void *p, size_t n);

/** out[k] = hash_fnv1a(p + k * stride, n) for k < count (any count >= 0):
 *  the same values, computed eight rows at a time.  One FNV-1a chain is
 *  one dependent multiply per byte (about 4 cycles); eight independent
 *  chains in lockstep keep the multiplier busy, about 1 cycle per byte. */
void hash_fnv1a_rows(const void *p, size_t stride, size_t n, int count, uint64_t *out);

#endif
