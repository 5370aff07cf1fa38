/** \file h5io.c  The HDF5 output file: schema and atomic write (see h5io.h;
 *  the schema is documented in docs/output.md).
 *
 *  Contracts and invariants:
 *  - Serial HDF5 (sec2 driver) on one process (rank 0 of the job); no MPI
 *    here, so no temporary name has to be shared between ranks.
 *  - Every HDF5 call is checked.  The automatic HDF5 error-stack printing is
 *    switched off for the duration of each public function and restored
 *    before it returns; a failure becomes one ERR_HDF5 line naming the
 *    failing call, the object and the deepest HDF5 error description.
 *  - Every static helper owns the handles it opens and closes them at its
 *    single exit, so the caller only ever holds the handles it opened.
 *  - The file is written as "<dir>/.<base>.tmp.XXXXXX/<base>": HDF5 creates
 *    it exclusively (H5F_ACC_EXCL) inside a private directory made by
 *    mkdtemp next to path (same filesystem, so the final rename is atomic),
 *    through a /proc/self/fd name of that directory, so no name anybody
 *    else can create or swap is ever opened (atomicfile.h has the scheme
 *    and the reasons).  It is then closed, fsync'd, published (rename, or
 *    link+unlink when overwrite is off) and the directory fsync'd.  Until
 *    publication succeeds the temporary file and directory are removed on
 *    every failure and path is never touched.
 *  - The grid D, D_lo, D_hi is computed and written one HDF5 chunk at a
 *    time (grid_eval_block over the contiguous C-order runs of the chunk,
 *    each chunk one regular hyperslab), so memory is bounded by one chunk
 *    (<= 1 MiB) whatever the grid size, and every chunk is written exactly
 *    once (no read-modify-write, no chunk cache needed).
 *  - The checkpoint reader trusts nothing in the file: the superblock is
 *    checked before H5Fopen (ck_precheck), and every dataset's layout,
 *    element size and storage size before anything is allocated or read
 *    (ck_read_1d), so a corrupted file cannot make riskgrid allocate or fill
 *    more than the file holds.
 *  - On the failure path the half-written file is closed by discard_file,
 *    which keeps HDF5 1.10's closing flush from failing (see there).
 *  - Types are written little-endian IEEE / two's complement explicitly, so
 *    on x86-64 the stored bytes are the in-memory bytes (rg_h5cmp compares
 *    raw bytes).  Object modification times are not stored, so two runs
 *    with equal results differ only in the root attributes that record
 *    time and in /timing.
 */
#include "riskgrid/h5io.h"

#include "riskgrid/atomicfile.h"
#include "riskgrid/grid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "h5util.h"

/** Upper bound of one grid chunk in bytes (float32 elements). */
#define H5IO_CHUNK_MAX_BYTES ((hsize_t)1 << 20)

#define H5IO_DETAIL_MAX 512

static const char *const GRID_AXIS_NAME[4] = {"demand", "competition", "service", "marketing"};
static const char *const GRID_AXIS_LONG[4] = {
    "demand factor", "competition factor (enters as 1 - competition)",
    "service factor", "marketing factor"};

/* ------------------------------------------------------------------ */
/* HDF5 error handling                                                 */
/* ------------------------------------------------------------------ */

/* H5Ewalk2 callback: keeps the description of the deepest stack entry
 * (walking downward, the last entry seen is the innermost cause).  The
 * low-level descriptions look like "file write failed: time = ...,
 * filename = ..., errno = 28, error message = 'No space left on device',
 * buf = ..."; that is shortened to "file write failed: No space left on
 * device". */
static herr_t walk_deepest(unsigned n, const H5E_error2_t *e, void *data)
{
    static const char key[] = "error message = '";
    char *buf = data;
    const char *msg, *colon, *end;
    (void)n;
    if (e == NULL || e->desc == NULL || e->desc[0] == '\0') return 0;
    msg = strstr(e->desc, key);
    colon = strchr(e->desc, ':');
    if (msg != NULL && colon != NULL && colon < msg) {
        msg += sizeof key - 1;
        end = strchr(msg, '\'');
        snprintf(buf, H5IO_DETAIL_MAX, "%.*s: %.*s", (int)(colon - e->desc), e->desc,
                 end ? (int)(end - msg) : 200, msg);
    } else {
        snprintf(buf, H5IO_DETAIL_MAX, "%s", e->desc);
    }
    return 0;
}

/** Writer context: the final path (for messages) and the error object. */
typedef struct wctx {
    const char *path;
    rg_error *err;
    hid_t gcpl;   /**< groups: link + attribute creation order, no times */
    hid_t dcpl;   /**< contiguous datasets: attribute creation order, no times */
} wctx;

/* Records the failure of HDF5 call `call` on object `obj` (optionally one
 * of its attributes).  Must be called right after the failing call: the
 * next HDF5 API call clears the error stack it reads.  Returns ERR_HDF5. */
static int h5_fail(wctx *w, const char *call, const char *obj, const char *attr)
{
    char detail[H5IO_DETAIL_MAX] = "";
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_deepest, detail);
    return error_set(w->err, ERR_HDF5, "cannot write '%s': HDF5 %s failed on %s%s%s%s%s%s",
                     w->path, call, obj, attr ? " attribute '" : "", attr ? attr : "",
                     attr ? "'" : "", detail[0] ? ": " : "", detail);
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */
/* ------------------------------------------------------------------ */

/* Attribute `name` on obj: scalar when n == 0, else 1-D [n]. */
static int put_attr(wctx *w, hid_t obj, const char *opath, const char *name,
                    hid_t ftype, hid_t mtype, hsize_t n, const void *buf)
{
    int rc = 0;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;

    space = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    if (space < 0) { rc = h5_fail(w, "H5Screate", opath, name); goto done; }
    attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) { rc = h5_fail(w, "H5Acreate2", opath, name); goto done; }
    if (H5Awrite(attr, mtype, buf) < 0) { rc = h5_fail(w, "H5Awrite", opath, name); goto done; }
    if (H5Aclose(attr) < 0) { attr = H5I_INVALID_HID; rc = h5_fail(w, "H5Aclose", opath, name); goto done; }
    attr = H5I_INVALID_HID;
done:
    if (attr >= 0) (void)H5Aclose(attr);
    if (space >= 0) (void)H5Sclose(space);
    return rc;
}

static int attr_f64(wctx *w, hid_t obj, const char *opath, const char *name, double v)
{
    return put_attr(w, obj, opath, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, &v);
}

static int attr_i32(wctx *w, hid_t obj, const char *opath, const char *name, int32_t v)
{
    return put_attr(w, obj, opath, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 0, &v);
}

static int attr_i64(wctx *w, hid_t obj, const char *opath, const char *name, int64_t v)
{
    return put_attr(w, obj, opath, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &v);
}

/* Scalar fixed-length string attribute: H5T_C_S1 of exactly strlen(value)
 * bytes (1 for ""), NULLTERM, UTF-8.  netCDF-4 reads it as a text (NC_CHAR)
 * attribute, h5py as bytes/str. */
static int attr_str(wctx *w, hid_t obj, const char *opath, const char *name, const char *value)
{
    int rc = 0;
    hid_t type = H5I_INVALID_HID;
    size_t len = strlen(value);

    type = H5Tcopy(H5T_C_S1);
    if (type < 0) { rc = h5_fail(w, "H5Tcopy", opath, name); goto done; }
    if (H5Tset_size(type, len > 0 ? len : 1) < 0) { rc = h5_fail(w, "H5Tset_size", opath, name); goto done; }
    if (H5Tset_strpad(type, H5T_STR_NULLTERM) < 0) { rc = h5_fail(w, "H5Tset_strpad", opath, name); goto done; }
    if (H5Tset_cset(type, H5T_CSET_UTF8) < 0) { rc = h5_fail(w, "H5Tset_cset", opath, name); goto done; }
    /* len == 0: the buffer "" holds the one NUL byte the type needs */
    rc = put_attr(w, obj, opath, name, type, type, 0, value);
done:
    if (type >= 0) (void)H5Tclose(type);
    return rc;
}

/* CF-style long_name and (if units != NULL) units on dataset obj. */
static int attr_cf(wctx *w, hid_t obj, const char *opath, const char *long_name, const char *units)
{
    int rc = 0;
    if (long_name != NULL && (rc = attr_str(w, obj, opath, "long_name", long_name)) != 0) goto done;
    if (units != NULL && (rc = attr_str(w, obj, opath, "units", units)) != 0) goto done;
done:
    return rc;
}

/* ------------------------------------------------------------------ */
/* Groups and datasets                                                 */
/* ------------------------------------------------------------------ */

/* Creates group `name` under parent (path gpath, for messages) with link
 * and attribute creation order tracked and indexed (netCDF-4 needs it). */
static int make_group(wctx *w, hid_t parent, const char *name, const char *gpath, hid_t *out)
{
    int rc = 0;
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, w->gcpl, H5P_DEFAULT);
    if (g < 0) { rc = h5_fail(w, "H5Gcreate2", gpath, NULL); goto done; }
    *out = g;
done:
    return rc;
}

/* Contiguous dataset loc/name (full path dpath): scalar when rank == 0,
 * else dims[rank]; written from buf (skipped for zero elements); CF attrs
 * long_name / units added when non-NULL. */
static int put_dset(wctx *w, hid_t loc, const char *name, const char *dpath,
                    hid_t ftype, hid_t mtype, int rank, const hsize_t *dims, const void *buf,
                    const char *long_name, const char *units)
{
    int rc = 0;
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    hsize_t npoints = 1;

    for (int i = 0; i < rank; i++) npoints *= dims[i];
    space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
    if (space < 0) { rc = h5_fail(w, "H5Screate", dpath, NULL); goto done; }
    dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, w->dcpl, H5P_DEFAULT);
    if (dset < 0) { rc = h5_fail(w, "H5Dcreate2", dpath, NULL); goto done; }
    if (npoints > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        rc = h5_fail(w, "H5Dwrite", dpath, NULL);
        goto done;
    }
    if ((rc = attr_cf(w, dset, dpath, long_name, units)) != 0) goto done;
    if (H5Dclose(dset) < 0) { dset = H5I_INVALID_HID; rc = h5_fail(w, "H5Dclose", dpath, NULL); goto done; }
    dset = H5I_INVALID_HID;
done:
    if (dset >= 0) (void)H5Dclose(dset);
    if (space >= 0) (void)H5Sclose(space);
    return rc;
}

/* 1-D double dataset [n]. */
static int put_f64(wctx *w, hid_t loc, const char *name, const char *dpath, size_t n,
                   const double *v, const char *long_name, const char *units)
{
    hsize_t dims[1] = {(hsize_t)n};
    return put_dset(w, loc, name, dpath, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, dims, v, long_name, units);
}

/* Scalar double dataset. */
static int put_f64_scalar(wctx *w, hid_t loc, const char *name, const char *dpath, double v,
                          const char *long_name, const char *units)
{
    return put_dset(w, loc, name, dpath, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v, long_name, units);
}

/* Makes the existing dataset loc/name a dimension scale named `name`. */
static int make_scale(wctx *w, hid_t loc, const char *name, const char *dpath)
{
    int rc = 0;
    hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
    if (dset < 0) { rc = h5_fail(w, "H5Dopen2", dpath, NULL); goto done; }
    if (H5DSset_scale(dset, name) < 0) { rc = h5_fail(w, "H5DSset_scale", dpath, NULL); goto done; }
done:
    if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0) rc = h5_fail(w, "H5Dclose", dpath, NULL);
    return rc;
}

/* Int32 index dataset loc/name [n] = first, first+1, ... made a dimension
 * scale of the same name. */
static int put_index_scale(wctx *w, hid_t loc, const char *name, const char *dpath, size_t n,
                           int32_t first, const char *long_name, const char *units)
{
    int rc = 0;
    int32_t *v = NULL;
    hsize_t dims[1] = {(hsize_t)n};

    v = malloc((n > 0 ? n : 1) * sizeof *v);
    if (v == NULL) { rc = error_set(w->err, ERR_NOMEM, "cannot write '%s': out of memory for %s", w->path, dpath); goto done; }
    for (size_t i = 0; i < n; i++) v[i] = first + (int32_t)i;
    if ((rc = put_dset(w, loc, name, dpath, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dims, v, long_name, units)) != 0) goto done;
    rc = make_scale(w, loc, name, dpath);
done:
    free(v);
    return rc;
}

/* Attaches scale loc/scale to dimension idx of dataset loc/dset. */
static int attach(wctx *w, hid_t loc, const char *gpath, const char *dset, const char *scale, unsigned idx)
{
    int rc = 0;
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID;
    char obj[256];

    snprintf(obj, sizeof obj, "%s/%s (scale %s, dim %u)", gpath, dset, scale, idx);
    d = H5Dopen2(loc, dset, H5P_DEFAULT);
    if (d < 0) { rc = h5_fail(w, "H5Dopen2", obj, NULL); goto done; }
    s = H5Dopen2(loc, scale, H5P_DEFAULT);
    if (s < 0) { rc = h5_fail(w, "H5Dopen2", obj, NULL); goto done; }
    if (H5DSattach_scale(d, s, idx) < 0) { rc = h5_fail(w, "H5DSattach_scale", obj, NULL); goto done; }
done:
    if (s >= 0 && H5Dclose(s) < 0 && rc == 0) rc = h5_fail(w, "H5Dclose", obj, NULL);
    if (d >= 0 && H5Dclose(d) < 0 && rc == 0) rc = h5_fail(w, "H5Dclose", obj, NULL);
    return rc;
}

/* 1-D variable-length UTF-8 string dataset [n] (netCDF NC_STRING; h5py
 * string_dtype()). */
static int put_strings(wctx *w, hid_t loc, const char *name, const char *dpath, size_t n,
                       const char *const *s, const char *long_name)
{
    int rc = 0;
    hid_t type = H5I_INVALID_HID;
    hsize_t dims[1] = {(hsize_t)n};

    type = H5Tcopy(H5T_C_S1);
    if (type < 0) { rc = h5_fail(w, "H5Tcopy", dpath, NULL); goto done; }
    if (H5Tset_size(type, H5T_VARIABLE) < 0) { rc = h5_fail(w, "H5Tset_size", dpath, NULL); goto done; }
    if (H5Tset_cset(type, H5T_CSET_UTF8) < 0) { rc = h5_fail(w, "H5Tset_cset", dpath, NULL); goto done; }
    rc = put_dset(w, loc, name, dpath, type, type, 1, dims, s, long_name, NULL);
done:
    if (type >= 0) (void)H5Tclose(type);
    return rc;
}

/* Closes group *g (path gpath) and marks it closed. */
static int close_group(wctx *w, hid_t *g, const char *gpath)
{
    int rc = 0;
    if (*g >= 0 && H5Gclose(*g) < 0) rc = h5_fail(w, "H5Gclose", gpath, NULL);
    *g = H5I_INVALID_HID;
    return rc;
}

/* ------------------------------------------------------------------ */
/* The grid                                                            */
/* ------------------------------------------------------------------ */

/* Chunk dims for a float32 [n0,n1,n2,n3] array: start from the whole array
 * and halve (rounding up) the largest chunk dimension until the chunk is
 * at most H5IO_CHUNK_MAX_BYTES.  Each halving at most halves the chunk, so
 * an array larger than 1 MiB gets chunks in (512 KiB, 1 MiB]; a smaller
 * array is one chunk.  The result is as close to a hypercube as the axes
 * allow, so a slice along any axis reads a similar number of chunks.
 * Invariant: 1 <= c[k] <= n[k]. */
static void grid_chunk_dims(const hsize_t n[4], hsize_t c[4])
{
    for (int k = 0; k < 4; k++) c[k] = n[k];
    for (;;) {
        hsize_t bytes = sizeof(float);
        int big = 0;
        for (int k = 0; k < 4; k++) {
            bytes *= c[k];
            if (c[k] > c[big]) big = k;
        }
        if (bytes <= H5IO_CHUNK_MAX_BYTES || c[big] == 1) break;
        c[big] = (c[big] + 1) / 2;
    }
}

/* Fills buf (C order of the region) with D for the hyperslab start[4],
 * cnt[4] of the grid n[4], at the given AUC.  The region is split into
 * maximal runs that are contiguous in the grid's flat C order: the last
 * dimension, extended inwards-out over every dimension the region covers
 * whole; each run is one grid_eval_block call. */
static void grid_fill_region(const grid_axes *ax, double auc, const hsize_t n[4],
                             const hsize_t start[4], const hsize_t cnt[4], float *buf)
{
    int d = 3;
    size_t run = (size_t)cnt[3], off = 0;
    hsize_t o[4] = {0, 0, 0, 0};

    while (d > 0 && cnt[d] == n[d]) {   /* then start[d] == 0 */
        d--;
        run *= (size_t)cnt[d];
    }
    /* odometer over the outer dims 0..d-1; dims > d start at 0 */
    for (;;) {
        size_t flat = 0;
        for (int k = 0; k < 4; k++) {
            hsize_t p = k < d ? start[k] + o[k] : (k == d ? start[k] : 0);
            flat = flat * (size_t)n[k] + (size_t)p;
        }
        grid_eval_block(ax, auc, flat, run, buf + off);
        off += run;
        int k = d - 1;
        while (k >= 0 && ++o[k] == cnt[k]) o[k--] = 0;
        if (k < 0) break;
    }
}

/* Creates /grid/D, D_lo, D_hi (float32 [nd,nc,ns,nm], chunked) and writes
 * them chunk by chunk; D_lo / D_hi use the ends of the AUC interval. */
static int grid_write_d(wctx *w, hid_t grp, const h5io_result *r, const grid_axes *ax)
{
    static const char *const name[3] = {"D", "D_lo", "D_hi"};
    static const char *const dpath[3] = {"/grid/D", "/grid/D_lo", "/grid/D_hi"};
    static const char *const long_name[3] = {
        "market demand index D = AUC x demand x (1 - competition) x service x marketing",
        "market demand index at the lower end of the AUC 95% confidence interval",
        "market demand index at the upper end of the AUC 95% confidence interval"};
    const double auc[3] = {r->auc, r->auc_lo_final, r->auc_hi_final};
    int rc = 0;
    hid_t dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID, space = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hid_t dset[3] = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID};
    hid_t fspace[3] = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID};
    float *buf = NULL;
    hsize_t n[4], c[4], ci[4] = {0, 0, 0, 0}, chunk_elems = 1;

    for (int k = 0; k < 4; k++) n[k] = (hsize_t)r->axis_len[k];
    grid_chunk_dims(n, c);
    for (int k = 0; k < 4; k++) chunk_elems *= c[k];

    dcpl = H5Pcopy(w->dcpl);
    if (dcpl < 0) { rc = h5_fail(w, "H5Pcopy", "/grid/D", NULL); goto done; }
    if (H5Pset_chunk(dcpl, 4, c) < 0) { rc = h5_fail(w, "H5Pset_chunk", "/grid/D", NULL); goto done; }
    if (r->deflate > 0 && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)r->deflate) < 0)) {
        rc = h5_fail(w, "H5Pset_shuffle/H5Pset_deflate", "/grid/D", NULL);
        goto done;
    }
    /* no chunk cache: every chunk is written once, whole, so the cache
     * would only add a copy (and, after a failed write, hold dirty chunks
     * that HDF5 then leaks) */
    dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0) { rc = h5_fail(w, "H5Pcreate(DATASET_ACCESS)", "/grid/D", NULL); goto done; }
    if (H5Pset_chunk_cache(dapl, 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
        rc = h5_fail(w, "H5Pset_chunk_cache", "/grid/D", NULL);
        goto done;
    }
    space = H5Screate_simple(4, n, NULL);
    if (space < 0) { rc = h5_fail(w, "H5Screate_simple", "/grid/D", NULL); goto done; }
    for (int j = 0; j < 3; j++) {
        dset[j] = H5Dcreate2(grp, name[j], H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, dapl);
        if (dset[j] < 0) { rc = h5_fail(w, "H5Dcreate2", dpath[j], NULL); goto done; }
        if ((rc = attr_cf(w, dset[j], dpath[j], long_name[j], "1")) != 0) goto done;
        fspace[j] = H5Dget_space(dset[j]);
        if (fspace[j] < 0) { rc = h5_fail(w, "H5Dget_space", dpath[j], NULL); goto done; }
    }

    buf = malloc((size_t)chunk_elems * sizeof *buf);
    if (buf == NULL) { rc = error_set(w->err, ERR_NOMEM, "cannot write '%s': out of memory for a grid chunk", w->path); goto done; }

    /* odometer over the chunk grid, C order */
    for (;;) {
        hsize_t start[4], cnt[4];
        int k;
        for (k = 0; k < 4; k++) {
            start[k] = ci[k] * c[k];
            cnt[k] = n[k] - start[k] < c[k] ? n[k] - start[k] : c[k];
        }
        mspace = H5Screate_simple(4, cnt, NULL);
        if (mspace < 0) { rc = h5_fail(w, "H5Screate_simple", "/grid/D", NULL); goto done; }
        for (int j = 0; j < 3; j++) {
            grid_fill_region(ax, auc[j], n, start, cnt, buf);
            if (H5Sselect_hyperslab(fspace[j], H5S_SELECT_SET, start, NULL, cnt, NULL) < 0) {
                rc = h5_fail(w, "H5Sselect_hyperslab", dpath[j], NULL);
                goto done;
            }
            if (H5Dwrite(dset[j], H5T_NATIVE_FLOAT, mspace, fspace[j], H5P_DEFAULT, buf) < 0) {
                rc = h5_fail(w, "H5Dwrite", dpath[j], NULL);
                goto done;
            }
        }
        if (H5Sclose(mspace) < 0) { mspace = H5I_INVALID_HID; rc = h5_fail(w, "H5Sclose", "/grid/D", NULL); goto done; }
        mspace = H5I_INVALID_HID;
        for (k = 3; k >= 0; k--) {
            if (++ci[k] * c[k] < n[k]) break;
            ci[k] = 0;
        }
        if (k < 0) break;
    }

done:
    free(buf);
    if (mspace >= 0) (void)H5Sclose(mspace);
    for (int j = 0; j < 3; j++) {
        if (fspace[j] >= 0) (void)H5Sclose(fspace[j]);
        if (dset[j] >= 0 && H5Dclose(dset[j]) < 0 && rc == 0) rc = h5_fail(w, "H5Dclose", dpath[j], NULL);
    }
    if (space >= 0) (void)H5Sclose(space);
    if (dapl >= 0) (void)H5Pclose(dapl);
    if (dcpl >= 0) (void)H5Pclose(dcpl);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The schema, group by group                                          */
/* ------------------------------------------------------------------ */

static int write_root(wctx *w, hid_t file, const h5io_result *r)
{
    int rc = 0;
    if ((rc = attr_str(w, file, "/", "riskgrid_version", r->version)) != 0) goto done;
    if ((rc = attr_str(w, file, "/", "command", r->command)) != 0) goto done;
    if ((rc = attr_str(w, file, "/", "config", r->config_text)) != 0) goto done;
    if ((rc = attr_i32(w, file, "/", "world_size", (int32_t)r->world_size)) != 0) goto done;
    if ((rc = attr_i32(w, file, "/", "virtual_shards", (int32_t)r->virtual_shards)) != 0) goto done;
    if ((rc = attr_str(w, file, "/", "started", r->started)) != 0) goto done;
    if ((rc = attr_str(w, file, "/", "finished", r->finished)) != 0) goto done;
    if ((rc = attr_str(w, file, "/", "status", r->status)) != 0) goto done;
done:
    return rc;
}

static int write_data(wctx *w, hid_t file, const h5io_result *r)
{
    static const char *const dsets[3] = {"feature_names", "mean", "std"};
    int rc = 0;
    hid_t g = H5I_INVALID_HID;
    size_t nf = (size_t)r->n_features;

    if ((rc = make_group(w, file, "data", "/data", &g)) != 0) goto done;
    if ((rc = attr_str(w, g, "/data", "source", r->source)) != 0) goto done;
    if ((rc = attr_str(w, g, "/data", "fingerprint", r->fingerprint)) != 0) goto done;
    if ((rc = attr_i64(w, g, "/data", "n_train", r->n_train)) != 0) goto done;
    if ((rc = attr_i64(w, g, "/data", "n_test", r->n_test)) != 0) goto done;
    if ((rc = attr_i32(w, g, "/data", "n_features", (int32_t)r->n_features)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/data", "positive_rate", r->positive_rate)) != 0) goto done;
    if ((rc = put_index_scale(w, g, "feature", "/data/feature", nf, 0, "feature index (column of the model input)", NULL)) != 0) goto done;
    if ((rc = put_strings(w, g, "feature_names", "/data/feature_names", nf, r->feature_names, "model input feature name")) != 0) goto done;
    if ((rc = put_f64(w, g, "mean", "/data/mean", nf, r->mean, "training-set mean used for standardisation", NULL)) != 0) goto done;
    if ((rc = put_f64(w, g, "std", "/data/std", nf, r->std, "training-set standard deviation used for standardisation", NULL)) != 0) goto done;
    for (int i = 0; i < 3; i++)
        if ((rc = attach(w, g, "/data", dsets[i], "feature", 0)) != 0) goto done;
done:
    if (close_group(w, &g, "/data") != 0 && rc == 0) rc = ERR_HDF5;
    return rc;
}

static int write_model(wctx *w, hid_t file, const h5io_result *r)
{
    int rc = 0;
    hid_t g = H5I_INVALID_HID;
    hsize_t f = (hsize_t)r->n_features, h = (hsize_t)r->n_hidden, c = (hsize_t)r->n_out;
    hsize_t dw1[2] = {f, h}, db1[1] = {h}, dw2[2] = {h, c}, db2[1] = {c};

    if ((rc = make_group(w, file, "model", "/model", &g)) != 0) goto done;
    /* index scales, so every dimension is named (netCDF-4 / h5netcdf) */
    if ((rc = put_index_scale(w, g, "feature", "/model/feature", (size_t)f, 0, "input feature index (as /data/feature)", NULL)) != 0) goto done;
    if ((rc = put_index_scale(w, g, "hidden", "/model/hidden", (size_t)h, 0, "hidden unit index", NULL)) != 0) goto done;
    if ((rc = put_index_scale(w, g, "output", "/model/output", (size_t)c, 0, "output unit index", NULL)) != 0) goto done;
    if ((rc = put_dset(w, g, "W1", "/model/W1", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dw1, r->w1,
                       "input-to-hidden weights [feature, hidden]", NULL)) != 0) goto done;
    if ((rc = put_dset(w, g, "b1", "/model/b1", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, db1, r->b1,
                       "hidden-layer bias", NULL)) != 0) goto done;
    if ((rc = put_dset(w, g, "W2", "/model/W2", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dw2, r->w2,
                       "hidden-to-output weights [hidden, output]", NULL)) != 0) goto done;
    if ((rc = put_dset(w, g, "b2", "/model/b2", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, db2, r->b2,
                       "output-layer bias", NULL)) != 0) goto done;
    if ((rc = attach(w, g, "/model", "W1", "feature", 0)) != 0) goto done;
    if ((rc = attach(w, g, "/model", "W1", "hidden", 1)) != 0) goto done;
    if ((rc = attach(w, g, "/model", "b1", "hidden", 0)) != 0) goto done;
    if ((rc = attach(w, g, "/model", "W2", "hidden", 0)) != 0) goto done;
    if ((rc = attach(w, g, "/model", "W2", "output", 1)) != 0) goto done;
    if ((rc = attach(w, g, "/model", "b2", "output", 0)) != 0) goto done;
done:
    if (close_group(w, &g, "/model") != 0 && rc == 0) rc = ERR_HDF5;
    return rc;
}

static int write_train(wctx *w, hid_t file, const h5io_result *r)
{
    static const char *const dsets[4] = {"loss", "test_auc", "auc_lo", "auc_hi"};
    int rc = 0;
    hid_t g = H5I_INVALID_HID;
    size_t n = (size_t)r->n_epochs;

    if ((rc = make_group(w, file, "train", "/train", &g)) != 0) goto done;
    if ((rc = put_index_scale(w, g, "epoch", "/train/epoch", n, 1, "epoch number", NULL)) != 0) goto done;
    if ((rc = put_f64(w, g, "loss", "/train/loss", n, r->loss, "mean training loss (cross-entropy) over the epoch", "1")) != 0) goto done;
    if ((rc = put_f64(w, g, "test_auc", "/train/test_auc", n, r->test_auc, "ROC AUC on the test set after the epoch", "1")) != 0) goto done;
    if ((rc = put_f64(w, g, "auc_lo", "/train/auc_lo", n, r->auc_lo, "lower end of the 95% DeLong confidence interval of test_auc", "1")) != 0) goto done;
    if ((rc = put_f64(w, g, "auc_hi", "/train/auc_hi", n, r->auc_hi, "upper end of the 95% DeLong confidence interval of test_auc", "1")) != 0) goto done;
    for (int i = 0; i < 4; i++)
        if ((rc = attach(w, g, "/train", dsets[i], "epoch", 0)) != 0) goto done;
done:
    if (close_group(w, &g, "/train") != 0 && rc == 0) rc = ERR_HDF5;
    return rc;
}

static int write_timing(wctx *w, hid_t file, const h5io_result *r)
{
    int rc = 0;
    hid_t g = H5I_INVALID_HID;
    size_t n = (size_t)r->n_epochs;

    if ((rc = make_group(w, file, "timing", "/timing", &g)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/timing", "load_s", r->load_s)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/timing", "train_s", r->train_s)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/timing", "eval_s", r->eval_s)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/timing", "grid_s", r->grid_s)) != 0) goto done;
    if ((rc = put_index_scale(w, g, "epoch", "/timing/epoch", n, 1, "epoch number", NULL)) != 0) goto done;
    if ((rc = put_f64(w, g, "wall_s", "/timing/wall_s", n, r->wall_s, "wall-clock time of the epoch", "s")) != 0) goto done;
    if ((rc = put_f64(w, g, "samples_per_s", "/timing/samples_per_s", n, r->samples_per_s, "training throughput", "s-1")) != 0) goto done;
    if ((rc = attach(w, g, "/timing", "wall_s", "epoch", 0)) != 0) goto done;
    if ((rc = attach(w, g, "/timing", "samples_per_s", "epoch", 0)) != 0) goto done;
done:
    if (close_group(w, &g, "/timing") != 0 && rc == 0) rc = ERR_HDF5;
    return rc;
}

static int write_eval(wctx *w, hid_t file, const h5io_result *r)
{
    int rc = 0;
    hid_t g = H5I_INVALID_HID, roc = H5I_INVALID_HID;
    size_t nc = (size_t)r->n_classes;

    if ((rc = make_group(w, file, "eval", "/eval", &g)) != 0) goto done;
    if ((rc = attr_i32(w, g, "/eval", "n_classes", (int32_t)r->n_classes)) != 0) goto done;
    if ((rc = put_f64_scalar(w, g, "auc", "/eval/auc", r->auc, "ROC AUC on the test set (macro one-vs-rest when multi-class)", "1")) != 0) goto done;
    if ((rc = put_f64_scalar(w, g, "auc_lo", "/eval/auc_lo", r->auc_lo_final, "lower end of the 95% DeLong confidence interval of auc", "1")) != 0) goto done;
    if ((rc = put_f64_scalar(w, g, "auc_hi", "/eval/auc_hi", r->auc_hi_final, "upper end of the 95% DeLong confidence interval of auc", "1")) != 0) goto done;
    if ((rc = put_f64_scalar(w, g, "auc_var", "/eval/auc_var", r->auc_var, "DeLong variance of auc", "1")) != 0) goto done;
    if ((rc = make_group(w, g, "roc", "/eval/roc", &roc)) != 0) goto done;
    if ((rc = put_index_scale(w, roc, "point", "/eval/roc/point", r->n_roc, 0, "ROC curve point index", NULL)) != 0) goto done;
    if ((rc = put_f64(w, roc, "fpr", "/eval/roc/fpr", r->n_roc, r->fpr, "false positive rate", "1")) != 0) goto done;
    if ((rc = put_f64(w, roc, "tpr", "/eval/roc/tpr", r->n_roc, r->tpr, "true positive rate", "1")) != 0) goto done;
    if ((rc = put_f64(w, roc, "threshold", "/eval/roc/threshold", r->n_roc, r->threshold,
                      "score threshold (predict positive when score >= threshold; first is +inf)", NULL)) != 0) goto done;
    if ((rc = attach(w, roc, "/eval/roc", "fpr", "point", 0)) != 0) goto done;
    if ((rc = attach(w, roc, "/eval/roc", "tpr", "point", 0)) != 0) goto done;
    if ((rc = attach(w, roc, "/eval/roc", "threshold", "point", 0)) != 0) goto done;
    if (r->n_classes > 2) {
        if ((rc = put_index_scale(w, g, "class", "/eval/class", nc, 0, "class label", NULL)) != 0) goto done;
        if ((rc = put_f64(w, g, "class_auc", "/eval/class_auc", nc, r->class_auc, "one-vs-rest ROC AUC per class", "1")) != 0) goto done;
        if ((rc = put_f64(w, g, "class_auc_lo", "/eval/class_auc_lo", nc, r->class_lo, "lower end of the 95% confidence interval of class_auc", "1")) != 0) goto done;
        if ((rc = put_f64(w, g, "class_auc_hi", "/eval/class_auc_hi", nc, r->class_hi, "upper end of the 95% confidence interval of class_auc", "1")) != 0) goto done;
        if ((rc = attach(w, g, "/eval", "class_auc", "class", 0)) != 0) goto done;
        if ((rc = attach(w, g, "/eval", "class_auc_lo", "class", 0)) != 0) goto done;
        if ((rc = attach(w, g, "/eval", "class_auc_hi", "class", 0)) != 0) goto done;
    }
    if (r->n_scores > 0) {
        /* the test rows themselves: global row index (0-based data row in
         * file order), label and score(s), in row order */
        size_t ns = r->n_scores;
        hsize_t d1[1] = {(hsize_t)ns}, d2[2] = {(hsize_t)ns, (hsize_t)r->score_cols};
        if ((rc = put_dset(w, g, "row", "/eval/row", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, d1, r->score_rows,
                           "global data row index of each test row (0-based, file order)", NULL)) != 0) goto done;
        if ((rc = make_scale(w, g, "row", "/eval/row")) != 0) goto done;
        if ((rc = put_dset(w, g, "label", "/eval/label", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, d1, r->score_labels,
                           "true class of each test row", NULL)) != 0) goto done;
        if ((rc = attach(w, g, "/eval", "label", "row", 0)) != 0) goto done;
        if (r->score_cols == 1) {
            if ((rc = put_dset(w, g, "score", "/eval/score", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, d1, r->scores,
                               "predicted probability of class 1", "1")) != 0) goto done;
            if ((rc = attach(w, g, "/eval", "score", "row", 0)) != 0) goto done;
        } else {
            if ((rc = put_dset(w, g, "score", "/eval/score", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, d2, r->scores,
                               "predicted probability of each class", "1")) != 0) goto done;
            if ((rc = attach(w, g, "/eval", "score", "row", 0)) != 0) goto done;
            if (r->n_classes > 2 && (rc = attach(w, g, "/eval", "score", "class", 1)) != 0) goto done;
        }
    }
done:
    if (close_group(w, &roc, "/eval/roc") != 0 && rc == 0) rc = ERR_HDF5;
    if (close_group(w, &g, "/eval") != 0 && rc == 0) rc = ERR_HDF5;
    return rc;
}

static int write_grid(wctx *w, hid_t file, const h5io_result *r)
{
    static const char *const dsets[3] = {"D", "D_lo", "D_hi"};
    int rc = 0;
    hid_t g = H5I_INVALID_HID;
    grid_axes ax;
    size_t idx4[4];
    int64_t argmax_index[4];
    double argmax_values[4];
    const double *ref = r->reference;
    char dpath[64];

    for (int k = 0; k < 4; k++) {
        ax.v[k] = r->axis[k];
        ax.n[k] = r->axis_len[k];
    }
    if (grid_argmax(&ax, idx4) == SIZE_MAX) {
        rc = error_set(w->err, ERR_INTERNAL, "cannot write '%s': grid_argmax found no maximum", w->path);
        goto done;
    }
    for (int k = 0; k < 4; k++) {
        argmax_index[k] = (int64_t)idx4[k];
        argmax_values[k] = r->axis[k][idx4[k]];
    }

    if ((rc = make_group(w, file, "grid", "/grid", &g)) != 0) goto done;
    if ((rc = attr_str(w, g, "/grid", "formula", "D = AUC x demand x (1 - competition) x service x marketing")) != 0) goto done;
    if ((rc = attr_f64(w, g, "/grid", "auc", r->auc)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/grid", "auc_lo", r->auc_lo_final)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/grid", "auc_hi", r->auc_hi_final)) != 0) goto done;
    if ((rc = put_attr(w, g, "/grid", "reference", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 4, ref)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/grid", "D_ref", grid_index(r->auc, ref[0], ref[1], ref[2], ref[3]))) != 0) goto done;
    if ((rc = attr_f64(w, g, "/grid", "D_ref_lo", grid_index(r->auc_lo_final, ref[0], ref[1], ref[2], ref[3]))) != 0) goto done;
    if ((rc = attr_f64(w, g, "/grid", "D_ref_hi", grid_index(r->auc_hi_final, ref[0], ref[1], ref[2], ref[3]))) != 0) goto done;
    if ((rc = put_attr(w, g, "/grid", "argmax_index", H5T_STD_I64LE, H5T_NATIVE_INT64, 4, argmax_index)) != 0) goto done;
    if ((rc = put_attr(w, g, "/grid", "argmax_values", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 4, argmax_values)) != 0) goto done;
    if ((rc = attr_f64(w, g, "/grid", "argmax_D",
                       grid_index(r->auc, argmax_values[0], argmax_values[1], argmax_values[2], argmax_values[3]))) != 0) goto done;

    for (int k = 0; k < 4; k++) {
        snprintf(dpath, sizeof dpath, "/grid/%s", GRID_AXIS_NAME[k]);
        if ((rc = put_f64(w, g, GRID_AXIS_NAME[k], dpath, r->axis_len[k], r->axis[k], GRID_AXIS_LONG[k], "1")) != 0) goto done;
        if ((rc = make_scale(w, g, GRID_AXIS_NAME[k], dpath)) != 0) goto done;
    }
    if ((rc = grid_write_d(w, g, r, &ax)) != 0) goto done;
    for (int j = 0; j < 3; j++)
        for (unsigned k = 0; k < 4; k++)
            if ((rc = attach(w, g, "/grid", dsets[j], GRID_AXIS_NAME[k], k)) != 0) goto done;
done:
    if (close_group(w, &g, "/grid") != 0 && rc == 0) rc = ERR_HDF5;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Discarding a half-written file                                      */
/* ------------------------------------------------------------------ */

/* Closes the open HDF5 file of a temporary that is about to be deleted.
 *
 * Why not just H5Fclose: H5Fclose flushes, and when that flush fails (disk
 * full or quota exceeded: the likely reason we are on the failure path)
 * HDF5 1.10 frees the file but leaves its ID registered; the library then
 * dereferences the freed file when it terminates (atexit, or MPI_Finalize
 * in a parallel build) and the process dies with SIGSEGV instead of
 * exiting with our error (HDF5 bug HDFFV-11052 / CVE-2020-10812, fixed in
 * 1.14.1; reproduced here with 1.10.8 on a full tmpfs).
 *
 * So the file's descriptor (sec2: H5Fget_vfd_handle gives the int fd) is
 * first redirected with dup2 to an unlinked POSIX shared-memory object:
 * the closing flush then writes to memory and succeeds, and nothing more
 * reaches the disk.  If that is not possible, the temporary is truncated to
 * zero bytes instead, which gives back the space a full disk needs for the
 * closing flush.  Errors here are ignored: the failure being reported is
 * the one that brought us here. */
static void discard_file(hid_t file, hid_t fapl, const atomicfile *af)
{
    static unsigned serial = 0;
    void *handle = NULL;
    int shm = -1, redirected = 0, fd = -1;
    char name[64];

    if (H5Fget_vfd_handle(file, fapl, &handle) >= 0 && handle != NULL) {
        for (int attempt = 0; attempt < 16 && shm < 0; attempt++) {
            snprintf(name, sizeof name, "/riskgrid-h5io-%ld-%u", (long)getpid(), serial++);
            shm = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
            if (shm < 0 && errno != EEXIST) break;
        }
        if (shm >= 0) {
            (void)shm_unlink(name);
            redirected = dup2(shm, *(int *)handle) >= 0;
            (void)close(shm);
        }
    }
    if (!redirected && af != NULL && af->dfd >= 0 &&
        (fd = openat(af->dfd, af->base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
        if (ftruncate(fd, 0) != 0) { /* ignored, see above */ }
        (void)close(fd);
    }
    (void)H5Fclose(file);
}

/* ------------------------------------------------------------------ */
/* Validation of the result (a failure here is a caller bug)           */
/* ------------------------------------------------------------------ */

static int validate(const h5io_result *r, rg_error *err)
{
    int rc = 0;
    const char *bad = NULL;

    if (r == NULL) { bad = "result is NULL"; goto done; }
    if (!r->version || !r->command || !r->config_text || !r->started || !r->finished ||
        !r->status || !r->source || !r->fingerprint) { bad = "a string field is NULL"; goto done; }
    if (r->n_features < 1 || !r->feature_names || !r->mean || !r->std) { bad = "n_features < 1 or /data arrays NULL"; goto done; }
    for (int i = 0; i < r->n_features; i++)
        if (r->feature_names[i] == NULL) { bad = "a feature name is NULL"; goto done; }
    if (r->n_hidden < 1 || r->n_out < 1 || !r->w1 || !r->b1 || !r->w2 || !r->b2) { bad = "model shape < 1 or weights NULL"; goto done; }
    if (r->n_epochs < 0 || (r->n_epochs > 0 && (!r->loss || !r->test_auc || !r->auc_lo || !r->auc_hi ||
                                                !r->wall_s || !r->samples_per_s))) { bad = "n_epochs < 0 or per-epoch arrays NULL"; goto done; }
    if (r->n_roc > 0 && (!r->fpr || !r->tpr || !r->threshold)) { bad = "ROC arrays NULL"; goto done; }
    if (r->n_classes > 2 && (!r->class_auc || !r->class_lo || !r->class_hi)) { bad = "per-class AUC arrays NULL"; goto done; }
    for (int k = 0; k < 4; k++)
        if (r->axis[k] == NULL || r->axis_len[k] == 0) { bad = "a grid axis is NULL or empty"; goto done; }
    {
        grid_axes ax;
        for (int k = 0; k < 4; k++) {
            ax.v[k] = r->axis[k];
            ax.n[k] = r->axis_len[k];
        }
        if (grid_size(&ax) == 0 || grid_size(&ax) > SIZE_MAX / sizeof(float)) { bad = "grid size overflows"; goto done; }
    }
done:
    if (bad != NULL) rc = error_set(err, ERR_INTERNAL, "h5io_write_result: invalid result: %s", bad);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Paths and the atomic write                                          */
/* ------------------------------------------------------------------ */

/* Splits path into a directory ("." when path has no '/') and a base name,
 * both malloc'd.  ERR_USAGE for an empty path or one ending in '/'. */
static int split_path(const char *path, char **dir, char **base, rg_error *err)
{
    int rc = 0;
    const char *slash = NULL;
    size_t dlen = 0;

    *dir = NULL;
    *base = NULL;
    if (path == NULL || path[0] == '\0') { rc = error_set(err, ERR_USAGE, "output path is empty"); goto done; }
    slash = strrchr(path, '/');
    if (slash != NULL && slash[1] == '\0') {
        rc = error_set(err, ERR_USAGE, "output '%s' ends in '/': it must name a file", path);
        goto done;
    }
    if (slash == NULL) {
        *dir = strdup(".");
        *base = strdup(path);
    } else {
        dlen = slash == path ? 1 : (size_t)(slash - path);   /* "/x" -> "/" */
        *dir = malloc(dlen + 1);
        if (*dir != NULL) {
            memcpy(*dir, path, dlen);
            (*dir)[dlen] = '\0';
        }
        *base = strdup(slash + 1);
    }
    if (*dir == NULL || *base == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory for output path '%s'", path); goto done; }
done:
    if (rc != 0) {
        free(*dir);
        free(*base);
        *dir = NULL;
        *base = NULL;
    }
    return rc;
}

/* malloc'd "<dir>/.<base>.<tag>.XXXXXX" (a mkstemp template). */
static char *tmp_template(const char *dir, const char *base, const char *tag)
{
    size_t n = strlen(dir) + strlen(base) + strlen(tag) + 16;
    char *t = malloc(n);
    if (t != NULL) snprintf(t, n, "%s/.%s.%s.XXXXXX", dir, base, tag);
    return t;
}

int h5io_check_output(const char *path, int overwrite, rg_error *err)
{
    int rc = 0, fd = -1;
    char *dir = NULL, *base = NULL, *probe = NULL;
    struct stat st;

    if ((rc = split_path(path, &dir, &base, err)) != 0) goto done;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            rc = error_set(err, ERR_IO, "output directory '%s' does not exist", dir);
        else
            rc = error_set(err, ERR_IO, "output directory '%s': %s", dir, strerror(errno));
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) { rc = error_set(err, ERR_IO, "output directory '%s' is not a directory", dir); goto done; }
    probe = tmp_template(dir, base, "probe");
    if (probe == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory checking output '%s'", path); goto done; }
    fd = mkstemp(probe);
    if (fd < 0) {
        rc = error_set(err, ERR_IO, "output directory '%s' is not writable: %s", dir, strerror(errno));
        goto done;
    }
    if (close(fd) != 0 || unlink(probe) != 0) {
        fd = -1;
        rc = error_set(err, ERR_IO, "output directory '%s': removing probe '%s' failed: %s", dir, probe, strerror(errno));
        (void)unlink(probe);
        goto done;
    }
    fd = -1;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) { rc = error_set(err, ERR_IO, "output '%s' is a directory", path); goto done; }
        if (!overwrite) {
            rc = error_set(err, ERR_USAGE, "output '%s' exists; use --force or [output] overwrite = true", path);
            goto done;
        }
    } else if (errno != ENOENT) {
        rc = error_set(err, ERR_IO, "output '%s': %s", path, strerror(errno));
        goto done;
    }
done:
    if (fd >= 0) {
        (void)close(fd);
        (void)unlink(probe);
    }
    free(probe);
    free(dir);
    free(base);
    return rc;
}

/* Body of a file: writes everything below the root of `file`. */
typedef int (*file_writer)(wctx *w, hid_t file, const void *ctx);

/* A file size limit (ulimit -f) smaller than what is about to be written
 * would make HDF5 1.10 fail inside H5Fclose and crash at exit (see
 * discard_file): refuse up front with the sizes. */
static int check_fsize_limit(const char *path, uint64_t estimate, rg_error *err)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
    if ((uint64_t)rl.rlim_cur >= estimate) return 0;
    return error_set(err, ERR_IO, "cannot write '%s': about %llu bytes are needed but the file size limit (ulimit -f) is %llu bytes: File too large",
                     path, (unsigned long long)estimate, (unsigned long long)rl.rlim_cur);
}

/* Writes a new file at path atomically (the scheme is in atomicfile.h): a
 * private temporary directory next to path, HDF5 creates the file in it
 * exclusively, fn fills it, flush + close + fsync, then publish (rename,
 * or link when overwrite is off) and fsync of the directory.  On any
 * failure the temporary file and directory are removed and an existing
 * file at path is untouched. */
static int write_atomic(const char *path, int overwrite, file_writer fn, const void *ctx, uint64_t estimate, rg_error *err)
{
    int rc = 0, begun = 0;
    atomicfile af;
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID, file = H5I_INVALID_HID;
    h5_quiet quiet;
    wctx w;

    quiet_on(&quiet);
    w.path = path;
    w.err = err;
    w.gcpl = H5I_INVALID_HID;
    w.dcpl = H5I_INVALID_HID;

    if ((rc = check_fsize_limit(path, estimate, err)) != 0) goto done;

    /* property lists */
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (fcpl < 0) { rc = h5_fail(&w, "H5Pcreate(FILE_CREATE)", "/", NULL); goto done; }
    if (H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        rc = h5_fail(&w, "H5Pset_link_creation_order", "/", NULL);
        goto done;
    }
    if (H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        rc = h5_fail(&w, "H5Pset_attr_creation_order", "/", NULL);
        goto done;
    }
    if (H5Pset_obj_track_times(fcpl, 0) < 0) { rc = h5_fail(&w, "H5Pset_obj_track_times", "/", NULL); goto done; }
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) { rc = h5_fail(&w, "H5Pcreate(FILE_ACCESS)", "/", NULL); goto done; }
    if (H5Pset_fapl_sec2(fapl) < 0) { rc = h5_fail(&w, "H5Pset_fapl_sec2", "/", NULL); goto done; }
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0) {
        rc = h5_fail(&w, "H5Pset_libver_bounds", "/", NULL);
        goto done;
    }
    /* H5Fclose fails (instead of silently deferring) if a handle is open,
     * so a successful close means everything reached the file. */
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_SEMI) < 0) { rc = h5_fail(&w, "H5Pset_fclose_degree", "/", NULL); goto done; }
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
    /* nobody else can reach the temporary: no lock needed, and none
     * attempted (flock fails on some parallel filesystems) */
    if (H5Pset_file_locking(fapl, 0, 1) < 0) { rc = h5_fail(&w, "H5Pset_file_locking", "/", NULL); goto done; }
#endif
    w.gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (w.gcpl < 0) { rc = h5_fail(&w, "H5Pcreate(GROUP_CREATE)", "/", NULL); goto done; }
    if (H5Pset_link_creation_order(w.gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_attr_creation_order(w.gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_obj_track_times(w.gcpl, 0) < 0) {
        rc = h5_fail(&w, "H5Pset_*(group creation)", "/", NULL);
        goto done;
    }
    w.dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (w.dcpl < 0) { rc = h5_fail(&w, "H5Pcreate(DATASET_CREATE)", "/", NULL); goto done; }
    if (H5Pset_attr_creation_order(w.dcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_obj_track_times(w.dcpl, 0) < 0) {
        rc = h5_fail(&w, "H5Pset_*(dataset creation)", "/", NULL);
        goto done;
    }

    /* the temporary: a new file in a directory nobody else can write;
     * H5F_ACC_EXCL (O_CREAT | O_EXCL) never opens an existing file or
     * follows a symlink */
    if ((rc = atomicfile_begin(&af, path, err)) != 0) goto done;
    begun = 1;
    file = H5Fcreate(af.open_name, H5F_ACC_EXCL, fcpl, fapl);
    if (file < 0) { rc = h5_fail(&w, "H5Fcreate", af.tmpfile, NULL); goto done; }
    {
        void *handle = NULL;
        if (H5Fget_vfd_handle(file, fapl, &handle) < 0 || handle == NULL) {
            rc = h5_fail(&w, "H5Fget_vfd_handle", af.tmpfile, NULL);
            goto done;
        }
        if ((rc = atomicfile_check_fd(&af, *(int *)handle, err)) != 0) goto done;
    }
    if ((rc = fn(&w, file, ctx)) != 0) goto done;
    /* flush first: a failed flush leaves the file open and valid, to be
     * discarded on the failure path; after it H5Fclose has next to
     * nothing left to write (see discard_file for why that matters) */
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0) { rc = h5_fail(&w, "H5Fflush", af.tmpfile, NULL); goto done; }
    if (H5Fclose(file) < 0) {
        file = H5I_INVALID_HID;
        rc = h5_fail(&w, "H5Fclose", af.tmpfile, NULL);
        goto done;
    }
    file = H5I_INVALID_HID;
    if ((rc = atomicfile_sync(&af, err)) != 0) goto done;
    rc = atomicfile_publish(&af, overwrite, err);
done:
    if (file >= 0) discard_file(file, fapl, begun ? &af : NULL);
    if (w.dcpl >= 0) (void)H5Pclose(w.dcpl);
    if (w.gcpl >= 0) (void)H5Pclose(w.gcpl);
    if (fapl >= 0) (void)H5Pclose(fapl);
    if (fcpl >= 0) (void)H5Pclose(fcpl);
    if (begun) atomicfile_end(&af);
    quiet_off(&quiet);
    return rc;
}

static int write_result_body(wctx *w, hid_t file, const void *ctx)
{
    const h5io_result *r = ctx;
    int rc = 0;
    if ((rc = write_root(w, file, r)) != 0) return rc;
    if ((rc = write_data(w, file, r)) != 0) return rc;
    if ((rc = write_model(w, file, r)) != 0) return rc;
    if ((rc = write_train(w, file, r)) != 0) return rc;
    if ((rc = write_timing(w, file, r)) != 0) return rc;
    if ((rc = write_eval(w, file, r)) != 0) return rc;
    return write_grid(w, file, r);
}

int h5io_write_result(const char *path, int overwrite, const h5io_result *r, rg_error *err)
{
    int rc = validate(r, err);
    /* a lower bound of the size (data plus a small fixed part): the guard
     * must never refuse a file that would fit */
    uint64_t est = (uint64_t)16 << 10;
    if (rc != 0) return rc;
    est += 3 * 4 * (uint64_t)r->axis_len[0] * r->axis_len[1] * r->axis_len[2] * r->axis_len[3];
    est += 4 * ((uint64_t)r->n_features * (uint64_t)r->n_hidden + (uint64_t)r->n_hidden * (uint64_t)r->n_out);
    est += (uint64_t)r->n_scores * (12 + 8 * (uint64_t)r->score_cols) + 32 * (uint64_t)r->n_roc;
    if (r->deflate > 0) est /= 4; /* compressed grids are smaller; the limit is a guard, not a promise */
    return write_atomic(path, overwrite, write_result_body, r, est, err);
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

#define CKPT_FORMAT "riskgrid-checkpoint"
#define CKPT_VERSION 1

static const char *const CKPT_HIST[6] = {"loss", "test_auc", "auc_lo", "auc_hi", "wall_s", "samples_per_s"};

static double **ckpt_hist(h5io_checkpoint *c, int i)
{
    double **p[6] = {&c->loss, &c->test_auc, &c->auc_lo, &c->auc_hi, &c->wall_s, &c->samples_per_s};
    return p[i];
}

static int write_ckpt_body(wctx *w, hid_t file, const void *ctx)
{
    h5io_checkpoint *c = (h5io_checkpoint *)ctx; /* ckpt_hist takes non-const; nothing is modified */
    int rc = 0;
    hid_t g = H5I_INVALID_HID;
    hsize_t np[1] = {(hsize_t)c->n_params};

    if ((rc = attr_str(w, file, "/", "format", CKPT_FORMAT)) != 0) goto done;
    if ((rc = attr_i32(w, file, "/", "format_version", CKPT_VERSION)) != 0) goto done;
    if ((rc = attr_str(w, file, "/", "config_canonical", c->canonical)) != 0) goto done;
    if ((rc = attr_str(w, file, "/", "fingerprint", c->fingerprint)) != 0) goto done;
    if ((rc = attr_i32(w, file, "/", "world_size", c->world_size)) != 0) goto done;
    if ((rc = attr_i64(w, file, "/", "step", c->step)) != 0) goto done;
    if ((rc = attr_i32(w, file, "/", "epochs_done", c->epochs_done)) != 0) goto done;
    if ((rc = attr_i32(w, file, "/", "e_pred", c->e_pred)) != 0) goto done;
    if ((rc = attr_f64(w, file, "/", "loss_partial", c->loss_partial)) != 0) goto done;
    if ((rc = attr_f64(w, file, "/", "train_s", c->train_s)) != 0) goto done;
    if ((rc = attr_f64(w, file, "/", "eval_s", c->eval_s)) != 0) goto done;
    if ((rc = attr_i64(w, file, "/", "adam_t", c->adam_t)) != 0) goto done;
    if ((rc = put_dset(w, file, "params", "/params", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, np, c->params, NULL, NULL)) != 0) goto done;
    if ((rc = put_dset(w, file, "adam_m", "/adam_m", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, np, c->m, NULL, NULL)) != 0) goto done;
    if ((rc = put_dset(w, file, "adam_v", "/adam_v", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, np, c->v, NULL, NULL)) != 0) goto done;
    if ((rc = make_group(w, file, "history", "/history", &g)) != 0) goto done;
    for (int i = 0; i < 6; i++) {
        char dp[64];
        snprintf(dp, sizeof dp, "/history/%s", CKPT_HIST[i]);
        if ((rc = put_f64(w, g, CKPT_HIST[i], dp, (size_t)c->epochs_done, *ckpt_hist(c, i), NULL, NULL)) != 0) goto done;
    }
    rc = close_group(w, &g, "/history");
done:
    if (g >= 0) (void)H5Gclose(g);
    return rc;
}

int h5io_write_checkpoint(const char *path, const h5io_checkpoint *c, rg_error *err)
{
    if (c == NULL || c->canonical == NULL || c->fingerprint == NULL || c->params == NULL || c->m == NULL || c->v == NULL)
        return error_set(err, ERR_INTERNAL, "h5io_write_checkpoint: incomplete checkpoint");
    return write_atomic(path, 1, write_ckpt_body, c,
                        ((uint64_t)8 << 10) + 12 * (uint64_t)c->n_params + 48 * (uint64_t)c->epochs_done + strlen(c->canonical), err);
}

void h5io_checkpoint_clear(h5io_checkpoint *c)
{
    if (c == NULL) return;
    free(c->canonical);
    free(c->fingerprint);
    free(c->params);
    free(c->m);
    free(c->v);
    for (int i = 0; i < 6; i++) free(*ckpt_hist(c, i));
    memset(c, 0, sizeof *c);
}

/* Reader helpers: each returns 0 or ERR_INPUT with a message naming the
 * checkpoint and the object (a missing or malformed object means the file
 * is not a complete riskgrid checkpoint). */
static int ck_bad(const char *path, const char *what, rg_error *err)
{
    return error_set(err, ERR_INPUT, "checkpoint '%s' is not a complete riskgrid checkpoint (%s); delete it or pass another with --resume",
                     path, what);
}

static int ck_attr_num(hid_t f, const char *path, const char *name, hid_t mtype, void *out, rg_error *err)
{
    int rc = 0;
    hid_t a = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    char what[96];
    snprintf(what, sizeof what, "attribute '%s'", name);
    if (H5Aexists(f, name) <= 0 || (a = H5Aopen(f, name, H5P_DEFAULT)) < 0) { rc = ck_bad(path, what, err); goto done; }
    if ((sp = H5Aget_space(a)) < 0 || H5Sget_simple_extent_npoints(sp) != 1) { rc = ck_bad(path, what, err); goto done; }
    if (H5Aread(a, mtype, out) < 0) rc = ck_bad(path, what, err);
done:
    if (sp >= 0) H5Sclose(sp);
    if (a >= 0) H5Aclose(a);
    return rc;
}

static int ck_attr_str(hid_t f, const char *path, uint64_t fsize, const char *name, char **out, rg_error *err)
{
    int rc = 0;
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    size_t sz;
    char what[96];
    snprintf(what, sizeof what, "attribute '%s'", name);
    if (H5Aexists(f, name) <= 0 || (a = H5Aopen(f, name, H5P_DEFAULT)) < 0) { rc = ck_bad(path, what, err); goto done; }
    if ((t = H5Aget_type(a)) < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0) { rc = ck_bad(path, what, err); goto done; }
    {
        /* exactly one string: H5Aread writes npoints * size bytes */
        hid_t sp = H5Aget_space(a);
        hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        if (sp >= 0) H5Sclose(sp);
        /* no string longer than the file itself can be in it */
        if (np != 1 || H5Tget_size(t) > ((size_t)16 << 20) || H5Tget_size(t) > fsize) { rc = ck_bad(path, what, err); goto done; }
    }
    sz = H5Tget_size(t);
    *out = calloc(sz + 1, 1);
    if (*out == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    if ((mt = H5Tcopy(t)) < 0 || H5Aread(a, mt, *out) < 0) rc = ck_bad(path, what, err);
done:
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

/* Reads the 1-D dataset `name` of exactly n elements of esz bytes into a
 * malloc'd *out.  Before anything is allocated or read, the dataset must be
 * what riskgrid writes: contiguous, a file type of esz bytes, and storage
 * of exactly n * esz bytes that fits in the file (fsize bytes).  So a
 * corrupted or hostile file cannot make this allocate or fill (HDF5 returns
 * fill values for unwritten storage) more than the file holds. */
static int ck_read_1d(hid_t f, const char *path, uint64_t fsize, const char *name, hid_t mtype, size_t esz, size_t n,
                      void **out, rg_error *err)
{
    int rc = 0;
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID, ft = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hsize_t dims[1] = {0};
    hsize_t stored = 0;
    char what[160];

    snprintf(what, sizeof what, "dataset '%s'", name);
    if (n > ((size_t)1 << 31) / esz) { rc = ck_bad(path, "implausibly large dataset", err); goto done; }
    if ((d = H5Dopen2(f, name, H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 || dims[0] != (hsize_t)n) {
        rc = ck_bad(path, what, err);
        goto done;
    }
    /* the layout first: H5Dget_storage_size walks the index of a chunked
     * dataset, which a hostile file can make arbitrarily large */
    if ((dcpl = H5Dget_create_plist(d)) < 0 || H5Pget_layout(dcpl) != H5D_CONTIGUOUS ||
        (ft = H5Dget_type(d)) < 0 || H5Tget_size(ft) != esz) {
        snprintf(what, sizeof what, "dataset '%s' is not a contiguous array of %zu-byte numbers", name, esz);
        rc = ck_bad(path, what, err);
        goto done;
    }
    stored = H5Dget_storage_size(d);
    if (stored != (hsize_t)n * esz || stored > fsize) {
        snprintf(what, sizeof what, "dataset '%s' stores %llu bytes for %zu elements of %zu bytes", name,
                 (unsigned long long)stored, n, esz);
        rc = ck_bad(path, what, err);
        goto done;
    }
    *out = malloc((n > 0 ? n : 1) * esz);
    if (*out == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    if (n > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) rc = ck_bad(path, what, err);
done:
    if (ft >= 0) H5Tclose(ft);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return rc;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Checks the HDF5 superblock of a checkpoint before HDF5 reads the file,
 * and gives the file's size in *fsize.  Superblock versions 0 and 1 carry
 * no checksum, and libhdf5 trusts their addresses: a corrupted
 * driver-information address makes H5Fopen allocate and zero a size read
 * from wherever it points (1.6 GB for a fuzzer-made file, tests/corpus/
 * ckpt_hdf5_huge_alloc).  A file riskgrid wrote has its superblock at
 * offset 0, 8-byte addresses and lengths, base address 0, no driver
 * information block (sec2 driver), and its end-of-file and root-object
 * addresses inside the file; anything else is refused here.  Versions 2
 * and 3 are checksummed and left to HDF5. */
static int ck_precheck(const char *path, uint64_t *fsize, rg_error *err)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char b[100];
    int rc = 0, fd = -1;
    ssize_t got = 0;
    size_t off = 0;
    struct stat st;
    const char *bad = NULL;
    uint64_t eof = 0, root = 0;

    *fsize = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { bad = "not a readable HDF5 file; truncated?"; goto done; }
    *fsize = (uint64_t)st.st_size; /* st_size >= 0 for a regular file */
    got = pread(fd, b, sizeof b, 0);
    if (got < (ssize_t)sizeof sig || memcmp(b, sig, sizeof sig) != 0) { bad = "not a readable HDF5 file; truncated?"; goto done; }
    if (b[8] > 1) goto done; /* versions 2, 3: checksummed (HDF5 refuses newer ones) */
    off = b[8] == 0 ? 24 : 28; /* base address; v1 adds indexed-storage K + 2 reserved bytes */
    if (got < (ssize_t)(off + 48)) { bad = "HDF5 superblock truncated"; goto done; }
    if (b[13] != 8 || b[14] != 8) { bad = "HDF5 superblock: addresses or lengths not 8 bytes"; goto done; }
    eof = le64(b + off + 16);
    root = le64(b + off + 40);
    if (le64(b + off) != 0) bad = "HDF5 superblock: nonzero base address";
    else if (le64(b + off + 24) != UINT64_MAX) bad = "HDF5 superblock: a driver information block, which riskgrid never writes";
    else if (eof > *fsize) bad = "HDF5 superblock: end of file beyond the file; truncated?";
    else if (root >= eof) bad = "HDF5 superblock: root object beyond the end of file";
done:
    if (fd >= 0) (void)close(fd);
    if (bad != NULL) rc = ck_bad(path, bad, err);
    return rc;
}

int h5io_read_checkpoint(const char *path, h5io_checkpoint *c, rg_error *err)
{
    int rc = 0;
    int32_t i32 = 0;
    int64_t np = 0;
    char *fmt = NULL;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hsize_t dims[1] = {0};
    uint64_t fsize = 0;
    h5_quiet quiet;

    quiet_on(&quiet);
    memset(c, 0, sizeof *c);
    if (access(path, R_OK) != 0) {
        rc = error_set(err, ERR_IO, "cannot read checkpoint '%s': %s", path, strerror(errno));
        goto done;
    }
    if ((rc = ck_precheck(path, &fsize, err)) != 0) goto done;
    f = h5util_open_ro(path);
    if (f < 0) { rc = ck_bad(path, "not a readable HDF5 file; truncated?", err); goto done; }
    if ((rc = ck_attr_str(f, path, fsize, "format", &fmt, err)) != 0) goto done;
    if (strcmp(fmt, CKPT_FORMAT) != 0) { rc = ck_bad(path, "wrong format attribute", err); goto done; }
    if ((rc = ck_attr_num(f, path, "format_version", H5T_NATIVE_INT32, &i32, err)) != 0) goto done;
    if (i32 != CKPT_VERSION) {
        rc = error_set(err, ERR_INPUT, "checkpoint '%s' has format version %d; this riskgrid reads version %d", path, (int)i32, CKPT_VERSION);
        goto done;
    }
    if ((rc = ck_attr_str(f, path, fsize, "config_canonical", &c->canonical, err)) != 0) goto done;
    if ((rc = ck_attr_str(f, path, fsize, "fingerprint", &c->fingerprint, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "world_size", H5T_NATIVE_INT, &c->world_size, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "step", H5T_NATIVE_INT64, &c->step, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "epochs_done", H5T_NATIVE_INT, &c->epochs_done, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "e_pred", H5T_NATIVE_INT, &c->e_pred, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "loss_partial", H5T_NATIVE_DOUBLE, &c->loss_partial, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "train_s", H5T_NATIVE_DOUBLE, &c->train_s, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "eval_s", H5T_NATIVE_DOUBLE, &c->eval_s, err)) != 0) goto done;
    if ((rc = ck_attr_num(f, path, "adam_t", H5T_NATIVE_INT64, &c->adam_t, err)) != 0) goto done;
    if (c->step < 0 || c->epochs_done < 0 || c->adam_t < 0 || c->epochs_done > 1000000) { rc = ck_bad(path, "negative counters", err); goto done; }
    if ((d = H5Dopen2(f, "params", H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        rc = ck_bad(path, "dataset 'params'", err);
        goto done;
    }
    np = (int64_t)dims[0];
    /* each of params, adam_m, adam_v stores np floats in the file */
    if (np < 1 || np > ((int64_t)1 << 28) || (uint64_t)np * 3 * sizeof(float) > fsize) {
        rc = ck_bad(path, "implausible number of parameters", err);
        goto done;
    }
    c->n_params = (size_t)np;
    if ((rc = ck_read_1d(f, path, fsize, "params", H5T_NATIVE_FLOAT, sizeof(float), c->n_params, (void **)&c->params, err)) != 0) goto done;
    if ((rc = ck_read_1d(f, path, fsize, "adam_m", H5T_NATIVE_FLOAT, sizeof(float), c->n_params, (void **)&c->m, err)) != 0) goto done;
    if ((rc = ck_read_1d(f, path, fsize, "adam_v", H5T_NATIVE_FLOAT, sizeof(float), c->n_params, (void **)&c->v, err)) != 0) goto done;
    for (int i = 0; i < 6; i++) {
        char dp[64];
        snprintf(dp, sizeof dp, "history/%s", CKPT_HIST[i]);
        if ((rc = ck_read_1d(f, path, fsize, dp, H5T_NATIVE_DOUBLE, sizeof(double), (size_t)c->epochs_done, (void **)ckpt_hist(c, i), err)) != 0) goto done;
    }
done:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    free(fmt);
    if (rc != 0) h5io_checkpoint_clear(c);
    quiet_off(&quiet);
    return rc;
}
