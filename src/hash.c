/** \file hash.c  FNV-1a 64 (see hash.h). */
#include "riskgrid/hash.h"

enum { HASH_LANES = 8 };

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

uint64_t hash_fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * FNV_PRIME;
    return h;
}

void hash_fnv1a_rows(const void *p, size_t stride, size_t n, int count, uint64_t *out)
{
    const unsigned char *b = p;
    int k = 0;
    for (; k + HASH_LANES <= count; k += HASH_LANES) {
        const unsigned char *r = b + (size_t)k * stride;
        uint64_t h[HASH_LANES];
        for (int l = 0; l < HASH_LANES; l++) h[l] = FNV_OFFSET;
        for (size_t i = 0; i < n; i++)
            for (int l = 0; l < HASH_LANES; l++) h[l] = (h[l] ^ r[(size_t)l * stride + i]) * FNV_PRIME;
        for (int l = 0; l < HASH_LANES; l++) out[k + l] = h[l];
    }
    for (; k < count; k++) out[k] = hash_fnv1a(b + (size_t)k * stride, n);
}
