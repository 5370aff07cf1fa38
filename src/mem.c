/** \file mem.c  Cache-line aligned buffers (see mem.h). */
#include "riskgrid/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *mem_alloc64(size_t n, size_t size, int zero)
{
    size_t bytes = 0;
    void *p = NULL;
    if (size != 0 && n > SIZE_MAX / size) return NULL;
    bytes = n * size;
    if (bytes > SIZE_MAX - 63) return NULL;
    bytes = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;  /* C11: a multiple of the alignment */
    p = aligned_alloc(64, bytes);
    if (p != NULL && zero) memset(p, 0, bytes);
    return p;
}
