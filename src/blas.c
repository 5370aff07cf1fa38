/** \file blas.c  OpenBLAS set-up and kernel check (see blas.h). */
#include "riskgrid/blas.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void blas_setup(void)
{
    openblas_set_num_threads(1);
}

const char *blas_corename(void)
{
    const char *n = openblas_get_corename();
    return n != NULL ? n : "unknown";
}

int blas_advice(const char *corename, int cpu_avx2, int cpu_avx512f, char *msg, size_t n)
{
    /* kernel sets that use AVX2 (or AVX-512) in OpenBLAS 0.3.x.  An AVX2
     * set on an AVX-512 CPU is within ~1.5x of the best for the small
     * evaluation GEMMs riskgrid still does with BLAS (training uses its
     * own kernels, shardgrad.h), so only pre-AVX2 fallbacks are reported. */
    static const char *const k256[] = {"Haswell", "Zen", "SkylakeX", "CooperLake", "SapphireRapids"};
    int has256 = 0;
    if (n > 0) msg[0] = '\0';
    for (size_t i = 0; i < sizeof k256 / sizeof *k256; i++) has256 |= strcasecmp(corename, k256[i]) == 0;
    if ((cpu_avx2 || cpu_avx512f) && !has256) {
        snprintf(msg, n, "OpenBLAS uses its '%s' kernels on a CPU with %s: the evaluation's matrix products may run "
                 "several times slower; set OPENBLAS_CORETYPE=%s in the job's environment",
                 corename, cpu_avx512f ? "AVX-512" : "AVX2", cpu_avx512f ? "SkylakeX" : "Haswell");
        return 1;
    }
    return 0;
}

int blas_check(char *msg, size_t n)
{
    int avx2 = 0, avx512 = 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2");
    avx512 = __builtin_cpu_supports("avx512f");
#endif
    return blas_advice(blas_corename(), avx2, avx512, msg, n);
}
