/** \file mem.h
 *  Cache-line aligned buffers for the training step's arrays.
 *
 *  The kernels move 64-byte vectors: a 512-bit load or store that
 *  straddles two cache lines touches both, and for the step's sum, whose
 *  lines travel between cores, a straddling store costs two transfers.
 *  malloc only promises 16 bytes.  Pair: mem_alloc64 / free.
 */
#ifndef RISKGRID_MEM_H
#define RISKGRID_MEM_H

#include <stddef.h>

/** n elements of `size` bytes starting on a 64-byte boundary, the byte
 *  count rounded up to whole lines (at least one), zero-filled if `zero`.
 *  NULL if n * size overflows or memory runs out.  Release with free(). */
void *mem_alloc64(size_t n, size_t size, int zero);

#endif
