/** \file blas.h
 *  The BLAS behind the evaluation's matrix products and the double-
 *  precision reference kernels (OpenBLAS through CBLAS; training runs on
 *  riskgrid's own kernels, shardgrad.h): thread count and a check that
 *  its kernels fit the CPU.
 *
 *  Debian's OpenBLAS 0.3.21 picks its kernels at load time from the CPU
 *  model; on CPUs newer than the library it falls back to SSE3
 *  ("Prescott") kernels, about 5x slower than the AVX2/AVX-512 ones the CPU
 *  could run.  riskgrid does not switch kernels behind the user's back
 *  (older OpenBLAS builds are known to miscompute or crash with a forced
 *  kernel on some CPUs); it says so, once, with the fix.
 */
#ifndef RISKGRID_BLAS_H
#define RISKGRID_BLAS_H

#include <stddef.h>

/** One BLAS thread per process: ranks are the parallelism, and a fixed
 *  thread count keeps the GEMM summation order (and so the bits) fixed. */
void blas_setup(void);

/** Name of the kernel set OpenBLAS chose ("SkylakeX", "Prescott", ...). */
const char *blas_corename(void);

/** Pure advice: given the kernel name and the CPU's features, write a
 *  one-line warning with the fix into msg (size n) and return 1 when the
 *  kernels are pre-AVX2 on a CPU with AVX2 or AVX-512; else return 0 and
 *  msg = "". */
int blas_advice(const char *corename, int cpu_avx2, int cpu_avx512f, char *msg, size_t n);

/** blas_advice for this process (CPU features from cpuid). */
int blas_check(char *msg, size_t n);

#endif
