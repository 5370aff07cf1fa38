/** \file rg_h5cmp.c  Bitwise comparison of HDF5 datasets, for the tests.
 *
 *    rg_h5cmp A.h5 B.h5 DSET...    compare datasets (a group means every
 *                                  dataset below it, recursively)
 *    rg_h5cmp --get FILE DSET      print the first element of a numeric
 *                                  dataset as %.17g
 *
 *  Comparison: the file datatypes must be equal (H5Tequal), the shapes
 *  equal, and the stored bytes identical (memcmp; no tolerance).  Data are
 *  read with the dataset's own file type as memory type, so no conversion
 *  happens and the bytes compared are the bytes stored.  Variable-length
 *  strings, whose stored form is a heap reference, are compared string by
 *  string instead.  Large datasets are compared in slabs of at most
 *  CMP_BLOCK_BYTES per file.
 *
 *  Output, one line per dataset on stdout:
 *    same /model/W1 (12800 bytes)
 *    DIFFERENT /model/W1: first differing byte at offset N
 *  Exit status: 0 all identical, 1 some differ, 2 error (usage, a file or
 *  dataset missing or unreadable; reported on stderr).  An error wins over
 *  a difference.  A dataset below a group that exists in only one file is
 *  an error ("missing"), like a missing dataset named on the command line.
 *
 *  Only the HDF5 C library is used (no hdf5_hl, no MPI calls).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#ifndef CMP_BLOCK_BYTES
#define CMP_BLOCK_BYTES ((size_t)64 << 20)   /**< per file and slab; -D for tests */
#endif
#define MAX_RANK 32

enum { CMP_SAME = 0, CMP_DIFF = 1, CMP_ERROR = 2 };

static const char *prog = "rg_h5cmp";

/* ------------------------------------------------------------- name lists */

typedef struct name_list {
    char **v;
    size_t n, cap;
    int failed;     /**< an allocation or HDF5 call failed while listing */
} name_list;

static int list_add(name_list *l, const char *s)
{
    int rc = 0;
    char *copy = NULL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) { rc = -1; goto done; }
        l->v = v;
        l->cap = cap;
    }
    copy = malloc(strlen(s) + 1);
    if (copy == NULL) { rc = -1; goto done; }
    strcpy(copy, s);
    l->v[l->n++] = copy;
done:
    return rc;
}

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct visit_ctx {
    name_list *list;
    const char *prefix;   /**< the group's path, "" for the root */
} visit_ctx;

/* H5Lvisit callback: adds "<prefix>/<name>" for every hard link to a
 * dataset.  Soft and external links are not followed. */
static herr_t visit_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    visit_ctx *c = data;
    hid_t obj = H5I_INVALID_HID;
    herr_t ret = 0;
    char *full = NULL;

    if (info->type != H5L_TYPE_HARD) goto done;
    obj = H5Oopen(g, name, H5P_DEFAULT);
    if (obj < 0) {
        fprintf(stderr, "%s: cannot open %s/%s\n", prog, c->prefix, name);
        c->list->failed = 1;
        ret = -1;
        goto done;
    }
    if (H5Iget_type(obj) == H5I_DATASET) {
        full = malloc(strlen(c->prefix) + strlen(name) + 2);
        if (full == NULL) { c->list->failed = 1; ret = -1; goto done; }
        sprintf(full, "%s/%s", c->prefix, name);
        if (list_add(c->list, full) != 0) { c->list->failed = 1; ret = -1; goto done; }
    }
done:
    free(full);
    if (obj >= 0 && H5Oclose(obj) < 0) {
        c->list->failed = 1;
        ret = -1;
    }
    return ret;
}

/* The datasets named by `path` in file: itself if it is a dataset, every
 * dataset below it if it is a group.  Returns 0, or -1 with a message. */
static int collect(hid_t file, const char *fname, const char *path, name_list *out)
{
    int rc = 0;
    hid_t obj = H5I_INVALID_HID;
    H5I_type_t type;
    visit_ctx c;
    char prefix[4096];
    htri_t exists;

    exists = strcmp(path, "/") == 0 ? 1 : H5Lexists(file, path, H5P_DEFAULT);
    if (exists <= 0) {
        fprintf(stderr, "%s: %s: no object '%s'\n", prog, fname, path);
        rc = -1;
        goto done;
    }
    obj = H5Oopen(file, path, H5P_DEFAULT);
    if (obj < 0) { fprintf(stderr, "%s: %s: cannot open '%s'\n", prog, fname, path); rc = -1; goto done; }
    type = H5Iget_type(obj);
    if (type == H5I_DATASET) {
        if (list_add(out, path) != 0) { fprintf(stderr, "%s: out of memory\n", prog); rc = -1; }
        goto done;
    }
    if (type != H5I_GROUP) { fprintf(stderr, "%s: %s: '%s' is neither a dataset nor a group\n", prog, fname, path); rc = -1; goto done; }
    /* prefix without a trailing '/' ("" for the root) */
    snprintf(prefix, sizeof prefix, "%s", path);
    for (size_t n = strlen(prefix); n > 0 && prefix[n - 1] == '/'; n--) prefix[n - 1] = '\0';
    c.list = out;
    c.prefix = prefix;
    if (H5Lvisit(obj, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &c) < 0 || out->failed) {
        fprintf(stderr, "%s: %s: H5Lvisit failed below '%s'\n", prog, fname, path);
        rc = -1;
        goto done;
    }
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
done:
    if (obj >= 0 && H5Oclose(obj) < 0 && rc == 0) {
        fprintf(stderr, "%s: %s: H5Oclose failed on '%s'\n", prog, fname, path);
        rc = -1;
    }
    return rc;
}

/* -------------------------------------------------------------- compare */

/* Variable-length strings: element by element. */
static int compare_vlen_str(hid_t da, hid_t db, hid_t type, hid_t space, hssize_t npoints, const char *path)
{
    int rc = CMP_ERROR;
    char **a = NULL, **b = NULL;
    int read_a = 0, read_b = 0;
    hssize_t diff = -1;

    a = calloc((size_t)(npoints > 0 ? npoints : 1), sizeof *a);
    b = calloc((size_t)(npoints > 0 ? npoints : 1), sizeof *b);
    if (a == NULL || b == NULL) { fprintf(stderr, "%s: out of memory\n", prog); goto done; }
    if (npoints > 0) {
        if (H5Dread(da, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, a) < 0) { fprintf(stderr, "%s: H5Dread failed on %s (A)\n", prog, path); goto done; }
        read_a = 1;
        if (H5Dread(db, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) < 0) { fprintf(stderr, "%s: H5Dread failed on %s (B)\n", prog, path); goto done; }
        read_b = 1;
    }
    for (hssize_t i = 0; i < npoints && diff < 0; i++) {
        const char *x = a[i] ? a[i] : "", *y = b[i] ? b[i] : "";
        if ((a[i] == NULL) != (b[i] == NULL) || strcmp(x, y) != 0) diff = i;
    }
    if (diff >= 0) {
        printf("DIFFERENT %s: first differing string at index %lld\n", path, (long long)diff);
        rc = CMP_DIFF;
    } else {
        printf("same %s (%lld strings)\n", path, (long long)npoints);
        rc = CMP_SAME;
    }
done:
    if (read_a && H5Dvlen_reclaim(type, space, H5P_DEFAULT, a) < 0) { fprintf(stderr, "%s: H5Dvlen_reclaim failed\n", prog); rc = CMP_ERROR; }
    if (read_b && H5Dvlen_reclaim(type, space, H5P_DEFAULT, b) < 0) { fprintf(stderr, "%s: H5Dvlen_reclaim failed\n", prog); rc = CMP_ERROR; }
    free(a);
    free(b);
    return rc;
}

/* Reads the hyperslab start/count (rank dims; rank 0: the scalar) of d
 * into buf, with memory type = file type. */
static int read_slab(hid_t d, hid_t type, hid_t fspace, int rank, const hsize_t *start, const hsize_t *count,
                     void *buf)
{
    int rc = -1;
    hid_t mspace = H5I_INVALID_HID;

    if (rank == 0) {
        if (H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) goto done;
        rc = 0;
        goto done;
    }
    /* memory space of the slab's own shape (not 1-D): HDF5 then copies
     * hyperslab to hyperslab on its fast path */
    mspace = H5Screate_simple(rank, count, NULL);
    if (mspace < 0) goto done;
    if (H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0) goto done;
    if (H5Dread(d, type, mspace, fspace, H5P_DEFAULT, buf) < 0) goto done;
    rc = 0;
done:
    if (mspace >= 0 && H5Sclose(mspace) < 0) rc = -1;
    return rc;
}

/* Fixed-size types: raw bytes, slab by slab in C order.  A slab is a run
 * of whole "rows" along one dimension s (every dimension after s taken
 * whole), at most CMP_BLOCK_BYTES, so it is contiguous in C order and the
 * byte offsets add up. */
static int compare_raw(hid_t da, hid_t db, hid_t type, hid_t sa, hid_t sb, int rank, const hsize_t *dims,
                       hssize_t npoints, const char *path)
{
    int rc = CMP_ERROR, s = 0;
    size_t es = H5Tget_size(type), row_elems = 1, rows = 1;
    unsigned char *a = NULL, *b = NULL;
    hsize_t start[MAX_RANK], count[MAX_RANK], done_bytes = 0, diff_at = 0;
    int differs = 0;

    if (es == 0) { fprintf(stderr, "%s: H5Tget_size failed on %s\n", prog, path); goto done; }
    if (npoints == 0) { printf("same %s (0 bytes)\n", path); rc = CMP_SAME; goto done; }
    if (rank > 0) {
        /* smallest s whose trailing block fits; s == rank-1 always does */
        for (s = 0; s < rank; s++) {
            row_elems = 1;
            for (int k = s + 1; k < rank; k++) row_elems *= (size_t)dims[k];
            if (row_elems * es <= CMP_BLOCK_BYTES) break;
        }
        if (s == rank) s = rank - 1, row_elems = 1;
        rows = CMP_BLOCK_BYTES / (row_elems * es);
        if (rows == 0) rows = 1;
        if (rows > dims[s]) rows = (size_t)dims[s];
        for (int k = 0; k < rank; k++) {
            start[k] = 0;
            count[k] = k < s ? 1 : dims[k];
        }
    }
    a = malloc(rows * row_elems * es);
    b = malloc(rows * row_elems * es);
    if (a == NULL || b == NULL) { fprintf(stderr, "%s: out of memory comparing %s\n", prog, path); goto done; }
    for (;;) {
        hsize_t nelem = 1;
        size_t nbytes;
        if (rank > 0) {
            count[s] = dims[s] - start[s] < rows ? dims[s] - start[s] : rows;
            for (int k = 0; k < rank; k++) nelem *= count[k];
        }
        nbytes = (size_t)nelem * es;
        if (read_slab(da, type, sa, rank, start, count, a) != 0) { fprintf(stderr, "%s: cannot read %s (A)\n", prog, path); goto done; }
        if (read_slab(db, type, sb, rank, start, count, b) != 0) { fprintf(stderr, "%s: cannot read %s (B)\n", prog, path); goto done; }
        if (memcmp(a, b, nbytes) != 0) {
            size_t i = 0;
            while (a[i] == b[i]) i++;
            diff_at = done_bytes + i;
            differs = 1;
            break;
        }
        done_bytes += nbytes;
        if (rank == 0) break;
        /* next slab: advance along s, then the odometer over dims < s */
        start[s] += count[s];
        if (start[s] < dims[s]) continue;
        start[s] = 0;
        {
            int k = s - 1;
            while (k >= 0 && ++start[k] == dims[k]) start[k--] = 0;
            if (k < 0) break;
        }
    }
    if (differs) {
        printf("DIFFERENT %s: first differing byte at offset %llu\n", path, (unsigned long long)diff_at);
        rc = CMP_DIFF;
    } else {
        printf("same %s (%llu bytes)\n", path, (unsigned long long)done_bytes);
        rc = CMP_SAME;
    }
done:
    free(a);
    free(b);
    return rc;
}

static void format_dims(char *buf, size_t n, int rank, const hsize_t *dims)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int k = 0; k < rank && o < n; k++)
        o += (size_t)snprintf(buf + o, n - o, "%s%llu", k ? "," : "", (unsigned long long)dims[k]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

/* Compares dataset path in files a and b. */
static int compare_dataset(hid_t fa, hid_t fb, const char *path)
{
    int rc = CMP_ERROR, ra, rb;
    hid_t da = H5I_INVALID_HID, db = H5I_INVALID_HID, ta = H5I_INVALID_HID, tb = H5I_INVALID_HID;
    hid_t sa = H5I_INVALID_HID, sb = H5I_INVALID_HID;
    hsize_t dimsa[MAX_RANK], dimsb[MAX_RANK];
    hssize_t npoints;
    htri_t eq, vstr;
    char sha[256], shb[256];

    da = H5Dopen2(fa, path, H5P_DEFAULT);
    if (da < 0) { fprintf(stderr, "%s: A: cannot open dataset '%s'\n", prog, path); goto done; }
    db = H5Dopen2(fb, path, H5P_DEFAULT);
    if (db < 0) { fprintf(stderr, "%s: B: cannot open dataset '%s'\n", prog, path); goto done; }
    ta = H5Dget_type(da);
    tb = H5Dget_type(db);
    sa = H5Dget_space(da);
    sb = H5Dget_space(db);
    if (ta < 0 || tb < 0 || sa < 0 || sb < 0) { fprintf(stderr, "%s: cannot get type/space of '%s'\n", prog, path); goto done; }
    if (H5Tget_size(ta) != H5Tget_size(tb)) {
        printf("DIFFERENT %s: dtype size %zu vs %zu\n", path, H5Tget_size(ta), H5Tget_size(tb));
        rc = CMP_DIFF;
        goto done;
    }
    eq = H5Tequal(ta, tb);
    if (eq < 0) { fprintf(stderr, "%s: H5Tequal failed on '%s'\n", prog, path); goto done; }
    if (!eq) { printf("DIFFERENT %s: dtype differs\n", path); rc = CMP_DIFF; goto done; }
    ra = H5Sget_simple_extent_ndims(sa);
    rb = H5Sget_simple_extent_ndims(sb);
    if (ra < 0 || rb < 0 || ra > MAX_RANK || rb > MAX_RANK) { fprintf(stderr, "%s: bad dataspace of '%s'\n", prog, path); goto done; }
    if (H5Sget_simple_extent_dims(sa, dimsa, NULL) < 0 || H5Sget_simple_extent_dims(sb, dimsb, NULL) < 0) {
        fprintf(stderr, "%s: H5Sget_simple_extent_dims failed on '%s'\n", prog, path);
        goto done;
    }
    if (H5Sget_simple_extent_type(sa) != H5Sget_simple_extent_type(sb) || ra != rb ||
        (ra > 0 && memcmp(dimsa, dimsb, (size_t)ra * sizeof *dimsa) != 0)) {
        format_dims(sha, sizeof sha, ra, dimsa);
        format_dims(shb, sizeof shb, rb, dimsb);
        printf("DIFFERENT %s: shape %s vs %s\n", path, sha, shb);
        rc = CMP_DIFF;
        goto done;
    }
    npoints = H5Sget_simple_extent_npoints(sa);
    if (npoints < 0) { fprintf(stderr, "%s: H5Sget_simple_extent_npoints failed on '%s'\n", prog, path); goto done; }
    vstr = H5Tis_variable_str(ta);
    if (vstr < 0) { fprintf(stderr, "%s: H5Tis_variable_str failed on '%s'\n", prog, path); goto done; }
    if (vstr) {
        rc = compare_vlen_str(da, db, ta, sa, npoints, path);
    } else if (H5Tdetect_class(ta, H5T_VLEN) > 0 || H5Tdetect_class(ta, H5T_REFERENCE) > 0) {
        fprintf(stderr, "%s: '%s': variable-length or reference data cannot be compared bytewise\n", prog, path);
    } else {
        rc = compare_raw(da, db, ta, sa, sb, ra, dimsa, npoints, path);
    }
done:
    if (sa >= 0) H5Sclose(sa);
    if (sb >= 0) H5Sclose(sb);
    if (ta >= 0) H5Tclose(ta);
    if (tb >= 0) H5Tclose(tb);
    if (da >= 0 && H5Dclose(da) < 0) rc = CMP_ERROR;
    if (db >= 0 && H5Dclose(db) < 0) rc = CMP_ERROR;
    return rc;
}

/* Compares what `path` names in both files; returns the worst outcome. */
static int compare_path(hid_t fa, const char *na, hid_t fb, const char *nb, const char *path)
{
    int rc = CMP_SAME;
    name_list la = {0}, lb = {0};
    size_t i = 0, j = 0;

    if (collect(fa, na, path, &la) != 0 || collect(fb, nb, path, &lb) != 0) { rc = CMP_ERROR; goto done; }
    while (i < la.n || j < lb.n) {
        int c = i == la.n ? 1 : j == lb.n ? -1 : strcmp(la.v[i], lb.v[j]);
        int r;
        if (c < 0) {
            fprintf(stderr, "%s: %s: missing in %s\n", prog, la.v[i++], nb);
            r = CMP_ERROR;
        } else if (c > 0) {
            fprintf(stderr, "%s: %s: missing in %s\n", prog, lb.v[j++], na);
            r = CMP_ERROR;
        } else {
            r = compare_dataset(fa, fb, la.v[i]);
            i++;
            j++;
        }
        if (r > rc) rc = r;
    }
done:
    list_free(&la);
    list_free(&lb);
    return rc;
}

/* ------------------------------------------------------------------ --get */

static int get_value(const char *fname, const char *path)
{
    int rc = CMP_ERROR, rank;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, t = H5I_INVALID_HID;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    hsize_t start[MAX_RANK], count[MAX_RANK];
    H5T_class_t cls;
    double v = 0.0;

    f = H5Fopen(fname, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) { fprintf(stderr, "%s: cannot open '%s'\n", prog, fname); goto done; }
    d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0) { fprintf(stderr, "%s: %s: no dataset '%s'\n", prog, fname, path); goto done; }
    t = H5Dget_type(d);
    if (t < 0) { fprintf(stderr, "%s: H5Dget_type failed on '%s'\n", prog, path); goto done; }
    cls = H5Tget_class(t);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) { fprintf(stderr, "%s: '%s' is not numeric\n", prog, path); goto done; }
    fs = H5Dget_space(d);
    if (fs < 0) { fprintf(stderr, "%s: H5Dget_space failed on '%s'\n", prog, path); goto done; }
    rank = H5Sget_simple_extent_ndims(fs);
    if (rank < 0 || rank > MAX_RANK) { fprintf(stderr, "%s: bad dataspace of '%s'\n", prog, path); goto done; }
    if (H5Sget_simple_extent_npoints(fs) < 1) { fprintf(stderr, "%s: '%s' is empty\n", prog, path); goto done; }
    ms = H5Screate(H5S_SCALAR);
    if (ms < 0) { fprintf(stderr, "%s: H5Screate failed\n", prog); goto done; }
    if (rank > 0) {
        for (int k = 0; k < rank; k++) {
            start[k] = 0;
            count[k] = 1;
        }
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
            fprintf(stderr, "%s: H5Sselect_hyperslab failed on '%s'\n", prog, path);
            goto done;
        }
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, &v) < 0) { fprintf(stderr, "%s: cannot read '%s'\n", prog, path); goto done; }
    printf("%.17g\n", v);
    rc = CMP_SAME;
done:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (t >= 0) H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    if (f >= 0 && H5Fclose(f) < 0) rc = CMP_ERROR;
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: %s A.h5 B.h5 DSET...   compare datasets (or every dataset below a group) bytewise\n"
            "       %s --get FILE DSET     print the first element of a numeric dataset (%%.17g)\n"
            "exit: 0 identical, 1 different, 2 error\n",
            prog, prog);
}

int main(int argc, char **argv)
{
    int rc = CMP_SAME;
    hid_t fa = H5I_INVALID_HID, fb = H5I_INVALID_HID;

    /* our own messages; HDF5's automatic stack print off */
    if (H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0) { fprintf(stderr, "%s: H5Eset_auto2 failed\n", prog); return CMP_ERROR; }
    if (argc >= 2 && strcmp(argv[1], "--get") == 0) {
        if (argc != 4) { usage(); return CMP_ERROR; }
        return get_value(argv[2], argv[3]);
    }
    if (argc < 4 || argv[1][0] == '-') { usage(); return CMP_ERROR; }
    fa = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fa < 0) { fprintf(stderr, "%s: cannot open '%s' as HDF5\n", prog, argv[1]); rc = CMP_ERROR; goto done; }
    fb = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fb < 0) { fprintf(stderr, "%s: cannot open '%s' as HDF5\n", prog, argv[2]); rc = CMP_ERROR; goto done; }
    for (int i = 3; i < argc; i++) {
        int r = compare_path(fa, argv[1], fb, argv[2], argv[i]);
        if (r > rc) rc = r;
    }
done:
    if (fb >= 0 && H5Fclose(fb) < 0) rc = CMP_ERROR;
    if (fa >= 0 && H5Fclose(fa) < 0) rc = CMP_ERROR;
    fflush(stdout);
    return rc;
}
