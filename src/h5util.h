/** \file h5util.h
 *  Private HDF5 helpers shared by the modules that own HDF5 files (h5io,
 *  report): silencing HDF5's automatic error-stack printing around a call
 *  sequence, and a read-only open without file locking.  Not a public
 *  header: include only from src/.
 */
#ifndef RISKGRID_H5UTIL_H
#define RISKGRID_H5UTIL_H

#include <hdf5.h>

/** Saved state of HDF5's automatic error printing. */
typedef struct h5_quiet {
    H5E_auto2_t func;
    void *data;
    int saved;
} h5_quiet;

/* Switches HDF5's automatic error-stack printing off, remembering the
 * previous handler.  Failures of these two calls only mean that HDF5 may
 * print its own stack to stderr; they cannot affect the result. */
static inline void quiet_on(h5_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) >= 0;
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static inline void quiet_off(const h5_quiet *q)
{
    if (q->saved) (void)H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/** H5Fopen read-only without file locking (a reader needs no lock, and
 *  flock fails on some parallel filesystems).  H5I_INVALID_HID on failure. */
static inline hid_t h5util_open_ro(const char *path)
{
    hid_t f, fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return H5I_INVALID_HID;
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
    (void)H5Pset_file_locking(fapl, 0, 1);
#endif
    f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    (void)H5Pclose(fapl);
    return f;
}

#endif
