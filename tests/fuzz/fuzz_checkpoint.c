/** \file fuzz_checkpoint.c  libFuzzer target for the checkpoint reader
 *  (h5io_read_checkpoint in src/h5io.c): the input bytes are written to a
 *  temporary file, which is read as a checkpoint.
 *
 *  Checks, besides the sanitizers (aborts on violation):
 *   - the result is 0, ERR_INPUT, ERR_IO or ERR_NOMEM (never a crash, a
 *     hang or ERR_INTERNAL), with a one-line message naming the file;
 *   - on success the checkpoint is self-consistent: strings present,
 *     non-negative counters, n_params arrays and epochs_done history
 *     arrays readable to their last element (ASan checks the sizes);
 *   - on failure the struct is cleared (no dangling arrays);
 *   - no HDF5 object (file, group, dataset, attribute, datatype) is left
 *     open afterwards: H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0.
 *     This is the leak check for HDF5 handles, which LeakSanitizer cannot
 *     attribute (their memory is allocated inside libhdf5).
 *
 *  Limits of this target: libhdf5 is Debian's uninstrumented build, so
 *  libFuzzer sees coverage of riskgrid's code only, and a crash whose
 *  stack is entirely inside libhdf5 is an HDF5 bug (see docs/testing.md).
 *  libhdf5 leaks a little memory on some error paths of its own, so
 *  scripts/fuzz.sh runs this target with -detect_leaks=0 (LeakSanitizer
 *  would stop at the first input) and afterwards replays the whole
 *  corpus once with LeakSanitizer on and tests/fuzz/lsan.supp, which
 *  suppresses allocations made inside libhdf5 only.
 *  Seeds: tests/fuzz/corpus/checkpoint (small checkpoints made with the
 *  RISKGRID_TEST_STOP_AT_STEP hook).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "riskgrid/error.h"
#include "riskgrid/h5io.h"

#define CHECK(c)                                                                             \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "fuzz_checkpoint: contract broken: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static char g_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(g_path, sizeof g_path, "/tmp/fuzz_checkpoint.%ld.h5", (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f;
    h5io_checkpoint c;
    rg_error err;
    int rc;
    volatile double sink = 0;

    f = fopen(g_path, "wb");
    if (f == NULL) return 0;
    if (size > 0 && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);

    error_clear(&err);
    memset(&c, 0xA5, sizeof c);
    rc = h5io_read_checkpoint(g_path, &c, &err);
    CHECK(rc == 0 || rc == ERR_INPUT || rc == ERR_IO || rc == ERR_NOMEM || rc == ERR_HDF5);
    CHECK(rc == err.code);
    if (rc != 0) {
        static const h5io_checkpoint zero;
        CHECK(err.msg[0] != '\0' && strstr(err.msg, g_path) != NULL);
        CHECK(memcmp(&c, &zero, sizeof c) == 0);
    } else {
        CHECK(c.canonical != NULL && c.fingerprint != NULL);
        sink += (double)strlen(c.canonical) + (double)strlen(c.fingerprint);
        CHECK(c.step >= 0 && c.epochs_done >= 0 && c.adam_t >= 0);
        CHECK(c.params != NULL && c.m != NULL && c.v != NULL);
        if (c.n_params > 0)
            sink += c.params[c.n_params - 1] + c.m[c.n_params - 1] + c.v[c.n_params - 1];
        CHECK(c.loss != NULL && c.test_auc != NULL && c.auc_lo != NULL && c.auc_hi != NULL &&
              c.wall_s != NULL && c.samples_per_s != NULL);
        if (c.epochs_done > 0) {
            size_t e = (size_t)c.epochs_done - 1;
            sink += c.loss[e] + c.test_auc[e] + c.auc_lo[e] + c.auc_hi[e] + c.wall_s[e] + c.samples_per_s[e];
        }
        h5io_checkpoint_clear(&c);
    }
    (void)sink;
    CHECK(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) == 0);
    unlink(g_path);
    return 0;
}
