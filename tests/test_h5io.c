/** \file test_h5io.c  Unit tests of h5io.c (cmocka).
 *
 *  Each test writes into its own mkdtemp directory and reads the file back
 *  with the plain HDF5 C API (not with h5io code), checking the schema of
 *  docs/output.md: every group, dataset and attribute, its type and shape,
 *  the values (bit-exact round trip), the grid against grid_index at every
 *  point, dimension scales and their attachment; then the atomic-write
 *  contract: refusal of an existing file (its bytes unchanged), overwrite,
 *  no ".<name>.tmp.*" left after success or after a real failure (missing
 *  directory, target is a directory, file-size limit hit in mid-write),
 *  and h5io_check_output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "riskgrid/error.h"
#include "riskgrid/grid.h"
#include "riskgrid/h5io.h"

/* ---------------------------------------------------------------- fixture */

#define MAXF 8
#define MAXH 8
#define MAXC 4
#define MAXE 8
#define MAXR 16
#define MAXK 10
#define MAXAX 64

typedef struct fixture {
    char dir[64];
    char path[128];
    const char *names[MAXF];
    double mean[MAXF], std[MAXF];
    float w1[MAXF * MAXH], b1[MAXH], w2[MAXH * MAXC], b2[MAXC];
    double loss[MAXE], tauc[MAXE], tlo[MAXE], thi[MAXE], wall[MAXE], sps[MAXE];
    double fpr[MAXR], tpr[MAXR], thr[MAXR];
    double cauc[MAXK], clo[MAXK], chi[MAXK];
    double ax[4][MAXAX];
    h5io_result r;
} fixture;

static const char *const FEATURES[MAXF] = {"LIMIT_BAL", "AGE", "PAY_0", "BILL_AMT1",
                                           "SEX=2", "EDUCATION=1", "x\xc3\xa9", "f8"};
static const char *const AXIS[4] = {"demand", "competition", "service", "marketing"};

/* Fills f->r: F features, H hidden, C outputs, E epochs, R ROC points,
 * K classes, grid axes of lengths n[4] (values in [0, 1], distinct). */
static void fill(fixture *f, int F, int H, int C, int E, size_t R, int K, const size_t n[4])
{
    h5io_result *r = &f->r;
    memset(r, 0, sizeof *r);
    r->version = "0.1.0";
    r->command = "riskgrid run jobs/test.ini --set train.epochs=3";
    r->config_text = "[data]\npath = credit.csv\n[train]\nepochs = 3\n";
    r->world_size = 4;
    r->virtual_shards = 64;
    r->started = "2024-05-01T10:00:00Z";
    r->finished = "2024-05-01T10:05:00Z";
    r->status = "complete";
    r->source = "tests/fixtures/credit.csv";
    r->fingerprint = "sha256:0123456789abcdef";
    r->n_train = 24000;
    r->n_test = 6000;
    r->n_features = F;
    r->positive_rate = 0.2212;
    for (int i = 0; i < F; i++) {
        f->names[i] = FEATURES[i];
        f->mean[i] = 0.1 * i - 1.0 / 3.0;
        f->std[i] = 1.0 + i / 7.0;
    }
    r->feature_names = f->names;
    r->mean = f->mean;
    r->std = f->std;
    r->n_hidden = H;
    r->n_out = C;
    for (int i = 0; i < F * H; i++) f->w1[i] = (float)(0.01 * i - 0.05) / 3.0f;
    for (int i = 0; i < H; i++) f->b1[i] = (float)i / 9.0f;
    for (int i = 0; i < H * C; i++) f->w2[i] = -(float)i / 11.0f;
    for (int i = 0; i < C; i++) f->b2[i] = 0.125f * (float)i - 1e-8f;
    r->w1 = f->w1;
    r->b1 = f->b1;
    r->w2 = f->w2;
    r->b2 = f->b2;
    r->n_epochs = E;
    for (int e = 0; e < E; e++) {
        f->loss[e] = 0.6 / (e + 1);
        f->tauc[e] = 0.7 + 0.01 * e;
        f->tlo[e] = f->tauc[e] - 0.02;
        f->thi[e] = f->tauc[e] + 0.02;
        f->wall[e] = 1.5 + e;
        f->sps[e] = 16000.0 / (1.5 + e);
    }
    r->loss = f->loss;
    r->test_auc = f->tauc;
    r->auc_lo = f->tlo;
    r->auc_hi = f->thi;
    r->wall_s = f->wall;
    r->samples_per_s = f->sps;
    r->load_s = 0.25;
    r->train_s = 7.5;
    r->eval_s = 0.125;
    r->grid_s = 0.0625;
    r->auc = 0.7712345678901234;
    r->auc_lo_final = 0.7512345678901234;
    r->auc_hi_final = 0.7912345678901234;
    r->auc_var = 1.0416e-4;
    r->n_roc = R;
    for (size_t i = 0; i < R; i++) {
        f->fpr[i] = (double)i / (double)(R - 1);
        f->tpr[i] = sqrt(f->fpr[i]);
        f->thr[i] = i == 0 ? INFINITY : 1.0 - (double)i / (double)R;
    }
    r->fpr = R ? f->fpr : NULL;
    r->tpr = R ? f->tpr : NULL;
    r->threshold = R ? f->thr : NULL;
    r->n_classes = K;
    for (int k = 0; k < K && K > 2; k++) {
        f->cauc[k] = 0.9 - 0.01 * k;
        f->clo[k] = f->cauc[k] - 0.005;
        f->chi[k] = f->cauc[k] + 0.005;
    }
    r->class_auc = K > 2 ? f->cauc : NULL;
    r->class_lo = K > 2 ? f->clo : NULL;
    r->class_hi = K > 2 ? f->chi : NULL;
    for (int a = 0; a < 4; a++) {
        for (size_t i = 0; i < n[a]; i++)
            f->ax[a][i] = n[a] == 1 ? 0.5 : (double)i / (double)(n[a] - 1) * (0.9 - 0.05 * a) + 0.01 * a;
        r->axis[a] = f->ax[a];
        r->axis_len[a] = n[a];
    }
    r->reference[0] = 0.8;
    r->reference[1] = 0.2;
    r->reference[2] = 0.9;
    r->reference[3] = 0.95;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_h5io.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/out.h5", f->dir);
    *state = f;
    return 0;
}

/* Removes the test directory (its files and one level of subdirectories). */
static int teardown(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char p[512];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        if (unlink(p) != 0) (void)rmdir(p);
    }
    if (d != NULL) closedir(d);
    (void)rmdir(f->dir);
    free(f);
    return 0;
}

/* Number of leftover temporaries / probes (".*.tmp.*", ".*.probe.*"). */
static int count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] == '.' && (strstr(e->d_name, ".tmp.") || strstr(e->d_name, ".probe."))) n++;
    closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* --------------------------------------------------------- HDF5 readers */

/* HDF5 IDs of open files and objects (0 when nothing leaked). */
static ssize_t open_ids(void)
{
    return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

/* A fixed-length, NULLTERM, UTF-8 string attribute of exact size. */
static void check_attr_str(hid_t obj, const char *name, const char *want)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t, s;
    size_t len = strlen(want), size;
    char *buf;
    assert_true(a >= 0);
    t = H5Aget_type(a);
    s = H5Aget_space(a);
    assert_true(t >= 0 && s >= 0);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    assert_int_equal(H5Tis_variable_str(t), 0);
    assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
    assert_int_equal(H5Tget_strpad(t), H5T_STR_NULLTERM);
    assert_int_equal(H5Sget_simple_extent_type(s), H5S_SCALAR);
    size = H5Tget_size(t);
    assert_int_equal(size, len > 0 ? len : 1);
    buf = calloc(size + 1, 1);
    assert_non_null(buf);
    assert_true(H5Aread(a, t, buf) >= 0);
    assert_string_equal(buf, want);
    free(buf);
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
}

/* A numeric attribute of class cls, element size `size`, with n elements
 * (n == 0: scalar), read as double. */
static void read_attr_num(hid_t obj, const char *name, H5T_class_t cls, size_t size, hssize_t n, double *out)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t, s;
    assert_true(a >= 0);
    t = H5Aget_type(a);
    s = H5Aget_space(a);
    assert_int_equal(H5Tget_class(t), cls);
    assert_int_equal(H5Tget_size(t), size);
    assert_int_equal(H5Tget_order(t), H5T_ORDER_LE);
    if (n == 0) {
        assert_int_equal(H5Sget_simple_extent_type(s), H5S_SCALAR);
    } else {
        assert_int_equal(H5Sget_simple_extent_ndims(s), 1);
        assert_int_equal(H5Sget_simple_extent_npoints(s), n);
    }
    assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, out) >= 0);
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
}

static double attr_f64(hid_t obj, const char *name)
{
    double v;
    read_attr_num(obj, name, H5T_FLOAT, 8, 0, &v);
    return v;
}

static int64_t attr_int(hid_t obj, const char *name, size_t size)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t;
    int64_t v = 0;
    assert_true(a >= 0);
    t = H5Aget_type(a);
    assert_int_equal(H5Tget_class(t), H5T_INTEGER);
    assert_int_equal(H5Tget_size(t), size);
    assert_int_equal(H5Tget_sign(t), H5T_SGN_2);
    assert_true(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Tclose(t);
    H5Aclose(a);
    return v;
}

/* Opens dataset path, checking class, element size, rank and dims
 * (rank 0: scalar).  Returns the open dataset. */
static hid_t open_checked(hid_t file, const char *path, H5T_class_t cls, size_t size, int rank, const hsize_t *dims)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT), t, s;
    hsize_t got[8];
    if (d < 0) fail_msg("dataset %s missing", path);
    t = H5Dget_type(d);
    s = H5Dget_space(d);
    assert_int_equal(H5Tget_class(t), cls);
    if (size) assert_int_equal(H5Tget_size(t), size);
    if (cls != H5T_STRING) assert_int_equal(H5Tget_order(t), H5T_ORDER_LE);
    if (rank == 0) {
        assert_int_equal(H5Sget_simple_extent_type(s), H5S_SCALAR);
    } else {
        assert_int_equal(H5Sget_simple_extent_ndims(s), rank);
        H5Sget_simple_extent_dims(s, got, NULL);
        for (int i = 0; i < rank; i++)
            if (got[i] != dims[i]) fail_msg("%s dim %d: %llu != %llu", path, i, (unsigned long long)got[i], (unsigned long long)dims[i]);
    }
    H5Sclose(s);
    H5Tclose(t);
    return d;
}

/* A 1-D (n > 0) or scalar (n == 0) float64 dataset equal bit for bit to want. */
static void check_f64(hid_t file, const char *path, size_t n, const double *want)
{
    hsize_t dims[1] = {n};
    double got[MAXAX > MAXR ? MAXAX : MAXR];
    hid_t d = open_checked(file, path, H5T_FLOAT, 8, n == 0 ? 0 : 1, dims);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    for (size_t i = 0; i < (n ? n : 1); i++)
        if (memcmp(&got[i], &want[i], sizeof(double)) != 0)
            fail_msg("%s[%zu] = %.17g, want %.17g", path, i, got[i], want[i]);
    H5Dclose(d);
}

static void check_f32(hid_t file, const char *path, int rank, const hsize_t *dims, const float *want)
{
    hid_t d = open_checked(file, path, H5T_FLOAT, 4, rank, dims);
    size_t n = 1;
    float *got;
    for (int i = 0; i < rank; i++) n *= dims[i];
    got = malloc(n * sizeof *got);
    assert_non_null(got);
    assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    assert_memory_equal(got, want, n * sizeof *got);
    free(got);
    H5Dclose(d);
}

/* CF attributes of dataset path. */
static void check_cf(hid_t file, const char *path, const char *units)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Aexists(d, "long_name") > 0);
    if (units) check_attr_str(d, "units", units);
    H5Dclose(d);
}

/* Dataset scale_path is a dimension scale named name, attached to
 * dimension dim of each dataset in dsets[]. */
static void check_scale(hid_t file, const char *scale_path, const char *name, const char *const *dsets, int nd, unsigned dim)
{
    hid_t s = H5Dopen2(file, scale_path, H5P_DEFAULT);
    char got[64];
    assert_true(s >= 0);
    assert_int_equal(H5DSis_scale(s), 1);
    assert_true(H5DSget_scale_name(s, got, sizeof got) > 0);
    assert_string_equal(got, name);
    for (int i = 0; i < nd; i++) {
        hid_t d = H5Dopen2(file, dsets[i], H5P_DEFAULT);
        assert_true(d >= 0);
        if (H5DSis_attached(d, s, dim) != 1) fail_msg("%s not attached to dim %u of %s", scale_path, dim, dsets[i]);
        assert_int_equal(H5DSget_num_scales(d, dim), 1);
        H5Dclose(d);
    }
    H5Dclose(s);
}

/* An int32 dataset [n] holding first, first+1, ... */
static void check_index_scale(hid_t file, const char *path, size_t n, int32_t first)
{
    hsize_t dims[1] = {n};
    hid_t d = open_checked(file, path, H5T_INTEGER, 4, 1, dims);
    int32_t *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    if (n > 0) assert_true(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(v[i], first + (int32_t)i);
    free(v);
    H5Dclose(d);
}

/* D, D_lo, D_hi against (float)grid_index at every point. */
static void check_grid(hid_t file, const h5io_result *r)
{
    static const char *const names[3] = {"/grid/D", "/grid/D_lo", "/grid/D_hi"};
    const double auc[3] = {r->auc, r->auc_lo_final, r->auc_hi_final};
    hsize_t dims[4], chunk[4];
    size_t total = 1;
    float *buf;
    for (int a = 0; a < 4; a++) {
        dims[a] = r->axis_len[a];
        total *= r->axis_len[a];
    }
    buf = malloc(total * sizeof *buf);
    assert_non_null(buf);
    for (int j = 0; j < 3; j++) {
        hid_t d = open_checked(file, names[j], H5T_FLOAT, 4, 4, dims);
        hid_t p = H5Dget_create_plist(d);
        size_t f = 0, chunk_bytes = 4;
        assert_int_equal(H5Pget_layout(p), H5D_CHUNKED);
        assert_int_equal(H5Pget_chunk(p, 4, chunk), 4);
        for (int a = 0; a < 4; a++) {
            assert_true(chunk[a] >= 1 && chunk[a] <= dims[a]);
            chunk_bytes *= chunk[a];
        }
        assert_true(chunk_bytes <= (1u << 20));
        if (total * 4 > (1u << 20)) assert_true(chunk_bytes > (1u << 19));
        else assert_int_equal(chunk_bytes, total * 4);
        H5Pclose(p);
        assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
        for (size_t i0 = 0; i0 < dims[0]; i0++)
            for (size_t i1 = 0; i1 < dims[1]; i1++)
                for (size_t i2 = 0; i2 < dims[2]; i2++)
                    for (size_t i3 = 0; i3 < dims[3]; i3++, f++) {
                        float want = (float)grid_index(auc[j], r->axis[0][i0], r->axis[1][i1], r->axis[2][i2], r->axis[3][i3]);
                        if (memcmp(&buf[f], &want, sizeof want) != 0)
                            fail_msg("%s[%zu,%zu,%zu,%zu] = %.9g, want %.9g", names[j], i0, i1, i2, i3, buf[f], want);
                    }
        H5Dclose(d);
    }
    free(buf);
}

/* The whole schema of a file written from r. */
static void check_file(const char *path, const h5io_result *r)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), g, d, p;
    hsize_t dims[2];
    double v4[4];
    unsigned crt = 0;
    char buf[256];
    assert_true(file >= 0);

    /* / and creation order (netCDF-4) */
    g = H5Gopen2(file, "/", H5P_DEFAULT);
    p = H5Gget_create_plist(g);
    assert_true(H5Pget_link_creation_order(p, &crt) >= 0);
    assert_int_equal(crt, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    assert_true(H5Pget_attr_creation_order(p, &crt) >= 0);
    assert_int_equal(crt, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pclose(p);
    check_attr_str(g, "riskgrid_version", r->version);
    check_attr_str(g, "command", r->command);
    check_attr_str(g, "config", r->config_text);
    assert_int_equal(attr_int(g, "world_size", 4), r->world_size);
    assert_int_equal(attr_int(g, "virtual_shards", 4), r->virtual_shards);
    check_attr_str(g, "started", r->started);
    check_attr_str(g, "finished", r->finished);
    check_attr_str(g, "status", r->status);
    H5Gclose(g);

    /* /data */
    g = H5Gopen2(file, "/data", H5P_DEFAULT);
    assert_true(g >= 0);
    p = H5Gget_create_plist(g);
    assert_true(H5Pget_link_creation_order(p, &crt) >= 0);
    assert_int_equal(crt, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pclose(p);
    check_attr_str(g, "source", r->source);
    check_attr_str(g, "fingerprint", r->fingerprint);
    assert_int_equal(attr_int(g, "n_train", 8), r->n_train);
    assert_int_equal(attr_int(g, "n_test", 8), r->n_test);
    assert_int_equal(attr_int(g, "n_features", 4), r->n_features);
    assert_true(attr_f64(g, "positive_rate") == r->positive_rate);
    H5Gclose(g);
    dims[0] = (hsize_t)r->n_features;
    {
        int32_t idx[MAXF];
        char *names[MAXF];
        hid_t t;
        d = open_checked(file, "/data/feature", H5T_INTEGER, 4, 1, dims);
        assert_true(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, idx) >= 0);
        for (int i = 0; i < r->n_features; i++) assert_int_equal(idx[i], i);
        H5Dclose(d);
        d = open_checked(file, "/data/feature_names", H5T_STRING, 0, 1, dims);
        t = H5Dget_type(d);
        assert_int_equal(H5Tis_variable_str(t), 1);
        assert_int_equal(H5Tget_cset(t), H5T_CSET_UTF8);
        assert_true(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, names) >= 0);
        for (int i = 0; i < r->n_features; i++) assert_string_equal(names[i], r->feature_names[i]);
        {
            hid_t s = H5Dget_space(d);
            assert_true(H5Dvlen_reclaim(t, s, H5P_DEFAULT, names) >= 0);
            H5Sclose(s);
        }
        H5Tclose(t);
        H5Dclose(d);
    }
    check_f64(file, "/data/mean", (size_t)r->n_features, r->mean);
    check_f64(file, "/data/std", (size_t)r->n_features, r->std);
    {
        const char *const ds[3] = {"/data/feature_names", "/data/mean", "/data/std"};
        check_scale(file, "/data/feature", "feature", ds, 3, 0);
    }

    /* /model */
    dims[0] = (hsize_t)r->n_features;
    dims[1] = (hsize_t)r->n_hidden;
    check_f32(file, "/model/W1", 2, dims, r->w1);
    check_f32(file, "/model/b1", 1, dims + 1, r->b1);
    dims[0] = (hsize_t)r->n_hidden;
    dims[1] = (hsize_t)r->n_out;
    check_f32(file, "/model/W2", 2, dims, r->w2);
    check_f32(file, "/model/b2", 1, dims + 1, r->b2);
    {
        const char *const fd[1] = {"/model/W1"};
        const char *const hd0[2] = {"/model/b1", "/model/W2"};
        const char *const hd1[1] = {"/model/W1"};
        const char *const od0[1] = {"/model/b2"};
        const char *const od1[1] = {"/model/W2"};
        check_index_scale(file, "/model/feature", (size_t)r->n_features, 0);
        check_index_scale(file, "/model/hidden", (size_t)r->n_hidden, 0);
        check_index_scale(file, "/model/output", (size_t)r->n_out, 0);
        check_scale(file, "/model/feature", "feature", fd, 1, 0);
        check_scale(file, "/model/hidden", "hidden", hd0, 2, 0);
        check_scale(file, "/model/hidden", "hidden", hd1, 1, 1);
        check_scale(file, "/model/output", "output", od0, 1, 0);
        check_scale(file, "/model/output", "output", od1, 1, 1);
    }

    /* /train and /timing */
    dims[0] = (hsize_t)r->n_epochs;
    {
        int32_t ep[MAXE];
        const char *const tr[4] = {"/train/loss", "/train/test_auc", "/train/auc_lo", "/train/auc_hi"};
        const char *const tm[2] = {"/timing/wall_s", "/timing/samples_per_s"};
        d = open_checked(file, "/train/epoch", H5T_INTEGER, 4, 1, dims);
        if (r->n_epochs > 0) assert_true(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, ep) >= 0);
        for (int e = 0; e < r->n_epochs; e++) assert_int_equal(ep[e], e + 1);
        H5Dclose(d);
        d = open_checked(file, "/timing/epoch", H5T_INTEGER, 4, 1, dims);
        H5Dclose(d);
        if (r->n_epochs > 0) {
            check_f64(file, "/train/loss", (size_t)r->n_epochs, r->loss);
            check_f64(file, "/train/test_auc", (size_t)r->n_epochs, r->test_auc);
            check_f64(file, "/train/auc_lo", (size_t)r->n_epochs, r->auc_lo);
            check_f64(file, "/train/auc_hi", (size_t)r->n_epochs, r->auc_hi);
            check_f64(file, "/timing/wall_s", (size_t)r->n_epochs, r->wall_s);
            check_f64(file, "/timing/samples_per_s", (size_t)r->n_epochs, r->samples_per_s);
        }
        check_scale(file, "/train/epoch", "epoch", tr, 4, 0);
        check_scale(file, "/timing/epoch", "epoch", tm, 2, 0);
        check_cf(file, "/timing/wall_s", "s");
        check_cf(file, "/train/loss", "1");
    }
    g = H5Gopen2(file, "/timing", H5P_DEFAULT);
    assert_true(attr_f64(g, "load_s") == r->load_s);
    assert_true(attr_f64(g, "train_s") == r->train_s);
    assert_true(attr_f64(g, "eval_s") == r->eval_s);
    assert_true(attr_f64(g, "grid_s") == r->grid_s);
    H5Gclose(g);

    /* /eval */
    check_f64(file, "/eval/auc", 0, &r->auc);
    check_f64(file, "/eval/auc_lo", 0, &r->auc_lo_final);
    check_f64(file, "/eval/auc_hi", 0, &r->auc_hi_final);
    check_f64(file, "/eval/auc_var", 0, &r->auc_var);
    check_cf(file, "/eval/auc", "1");
    if (r->n_roc > 0) {
        check_f64(file, "/eval/roc/fpr", r->n_roc, r->fpr);
        check_f64(file, "/eval/roc/tpr", r->n_roc, r->tpr);
        check_f64(file, "/eval/roc/threshold", r->n_roc, r->threshold);
    } else {
        hsize_t zero[1] = {0};
        H5Dclose(open_checked(file, "/eval/roc/fpr", H5T_FLOAT, 8, 1, zero));
        H5Dclose(open_checked(file, "/eval/roc/tpr", H5T_FLOAT, 8, 1, zero));
        H5Dclose(open_checked(file, "/eval/roc/threshold", H5T_FLOAT, 8, 1, zero));
    }
    {
        const char *const ds[3] = {"/eval/roc/fpr", "/eval/roc/tpr", "/eval/roc/threshold"};
        check_index_scale(file, "/eval/roc/point", r->n_roc, 0);
        check_scale(file, "/eval/roc/point", "point", ds, 3, 0);
    }
    g = H5Gopen2(file, "/eval", H5P_DEFAULT);
    assert_int_equal(attr_int(g, "n_classes", 4), r->n_classes);
    if (r->n_classes > 2) {
        const char *const ds[3] = {"/eval/class_auc", "/eval/class_auc_lo", "/eval/class_auc_hi"};
        check_f64(file, "/eval/class_auc", (size_t)r->n_classes, r->class_auc);
        check_f64(file, "/eval/class_auc_lo", (size_t)r->n_classes, r->class_lo);
        check_f64(file, "/eval/class_auc_hi", (size_t)r->n_classes, r->class_hi);
        check_index_scale(file, "/eval/class", (size_t)r->n_classes, 0);
        check_scale(file, "/eval/class", "class", ds, 3, 0);
    } else {
        assert_int_equal(H5Lexists(g, "class_auc", H5P_DEFAULT), 0);
        assert_int_equal(H5Lexists(g, "class", H5P_DEFAULT), 0);
    }
    H5Gclose(g);

    /* /grid */
    for (int a = 0; a < 4; a++) {
        const char *const ds[3] = {"/grid/D", "/grid/D_lo", "/grid/D_hi"};
        snprintf(buf, sizeof buf, "/grid/%s", AXIS[a]);
        check_f64(file, buf, r->axis_len[a], r->axis[a]);
        check_cf(file, buf, "1");
        check_scale(file, buf, AXIS[a], ds, 3, (unsigned)a);
    }
    check_grid(file, r);
    check_cf(file, "/grid/D", "1");
    g = H5Gopen2(file, "/grid", H5P_DEFAULT);
    {
        grid_axes ax;
        size_t idx4[4];
        const double *rf = r->reference;
        double want;
        check_attr_str(g, "formula", "D = AUC x demand x (1 - competition) x service x marketing");
        assert_true(attr_f64(g, "auc") == r->auc);
        assert_true(attr_f64(g, "auc_lo") == r->auc_lo_final);
        assert_true(attr_f64(g, "auc_hi") == r->auc_hi_final);
        read_attr_num(g, "reference", H5T_FLOAT, 8, 4, v4);
        assert_memory_equal(v4, r->reference, sizeof v4);
        want = grid_index(r->auc, rf[0], rf[1], rf[2], rf[3]);
        assert_true(attr_f64(g, "D_ref") == want);
        want = grid_index(r->auc_lo_final, rf[0], rf[1], rf[2], rf[3]);
        assert_true(attr_f64(g, "D_ref_lo") == want);
        want = grid_index(r->auc_hi_final, rf[0], rf[1], rf[2], rf[3]);
        assert_true(attr_f64(g, "D_ref_hi") == want);
        for (int a = 0; a < 4; a++) {
            ax.v[a] = r->axis[a];
            ax.n[a] = r->axis_len[a];
        }
        grid_argmax(&ax, idx4);
        read_attr_num(g, "argmax_index", H5T_INTEGER, 8, 4, v4);
        for (int a = 0; a < 4; a++) assert_true(v4[a] == (double)idx4[a]);
        read_attr_num(g, "argmax_values", H5T_FLOAT, 8, 4, v4);
        for (int a = 0; a < 4; a++) assert_true(v4[a] == r->axis[a][idx4[a]]);
        want = grid_index(r->auc, v4[0], v4[1], v4[2], v4[3]);
        assert_true(attr_f64(g, "argmax_D") == want);
    }
    H5Gclose(g);
    assert_int_equal(H5Fclose(file), 0);
}

/* Reads scalar /eval/auc. */
static double read_auc(const char *path)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d;
    double v = NAN;
    assert_true(file >= 0);
    d = H5Dopen2(file, "/eval/auc", H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0);
    H5Dclose(d);
    H5Fclose(file);
    return v;
}

/* ------------------------------------------------------------------ tests */

static const size_t SMALL[4] = {3, 2, 4, 5};

static void test_binary_roundtrip(void **state)
{
    fixture *f = *state;
    rg_error err;
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    error_clear(&err);
    fill(f, 3, 4, 1, 3, 6, 2, SMALL);
    assert_int_equal(h5io_write_result(f->path, 0, &f->r, &err), 0);
    assert_int_equal(err.code, 0);
    assert_int_equal(count_temporaries(f->dir), 0);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
    check_file(f->path, &f->r);
    assert_int_equal(open_ids(), 0);
}

static void test_multiclass(void **state)
{
    fixture *f = *state;
    rg_error err;
    const size_t n[4] = {2, 3, 1, 4};
    error_clear(&err);
    fill(f, 8, 5, 3, 2, 0, 3, n);   /* 3 classes, no stored ROC curve */
    assert_int_equal(h5io_write_result(f->path, 0, &f->r, &err), 0);
    check_file(f->path, &f->r);
    assert_int_equal(count_temporaries(f->dir), 0);
}

/* Zero epochs, one-point axes, a config text above HDF5's 64 KiB compact
 * attribute limit. */
static void test_edges(void **state)
{
    fixture *f = *state;
    rg_error err;
    const size_t n[4] = {1, 1, 1, 1};
    size_t big = 200000;
    char *cfg = malloc(big + 1);
    assert_non_null(cfg);
    for (size_t i = 0; i < big; i++) cfg[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
    cfg[big] = '\0';
    error_clear(&err);
    fill(f, 1, 1, 1, 0, 2, 2, n);
    f->r.config_text = cfg;
    f->r.status = "";
    if (h5io_write_result(f->path, 0, &f->r, &err) != 0) fail_msg("%s", err.msg);
    check_file(f->path, &f->r);
    free(cfg);
}

/* Several chunks per axis, edge chunks, runs of every kind. */
static void test_multichunk_grid(void **state)
{
    fixture *f = *state;
    rg_error err;
    const size_t n[4] = {37, 41, 43, 47};
    error_clear(&err);
    fill(f, 3, 4, 1, 3, 6, 2, n);
    if (h5io_write_result(f->path, 0, &f->r, &err) != 0) fail_msg("%s", err.msg);
    check_file(f->path, &f->r);
}

static void test_refuse_then_overwrite(void **state)
{
    fixture *f = *state;
    rg_error err;
    unsigned char *before, *after;
    size_t nb, na;

    error_clear(&err);
    fill(f, 3, 4, 1, 3, 6, 2, SMALL);
    assert_int_equal(h5io_write_result(f->path, 0, &f->r, &err), 0);
    before = slurp(f->path, &nb);

    f->r.auc = 0.5;
    error_clear(&err);
    assert_int_equal(h5io_write_result(f->path, 0, &f->r, &err), ERR_USAGE);
    assert_int_equal(err.code, ERR_USAGE);
    assert_non_null(strstr(err.msg, "exists; use --force or [output] overwrite = true"));
    after = slurp(f->path, &na);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    free(after);
    assert_int_equal(count_temporaries(f->dir), 0);
    assert_true(read_auc(f->path) == 0.7712345678901234);

    error_clear(&err);
    assert_int_equal(h5io_write_result(f->path, 1, &f->r, &err), 0);
    assert_true(read_auc(f->path) == 0.5);
    check_file(f->path, &f->r);
    assert_int_equal(count_temporaries(f->dir), 0);
    free(before);
}

static void test_failures_leave_nothing(void **state)
{
    fixture *f = *state;
    rg_error err;
    char p[256];

    fill(f, 3, 4, 1, 3, 6, 2, SMALL);

    /* directory missing */
    snprintf(p, sizeof p, "%s/nodir/out.h5", f->dir);
    error_clear(&err);
    assert_int_equal(h5io_write_result(p, 1, &f->r, &err), ERR_IO);
    assert_non_null(strstr(err.msg, "does not exist"));

    /* the target is a directory: fails at the rename, after the write */
    snprintf(p, sizeof p, "%s/adir", f->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    error_clear(&err);
    assert_int_equal(h5io_write_result(p, 1, &f->r, &err), ERR_IO);
    assert_non_null(strstr(err.msg, "is a directory"));
    assert_int_equal(count_temporaries(f->dir), 0);
    error_clear(&err);
    assert_int_equal(h5io_write_result(p, 0, &f->r, &err), ERR_IO);
    assert_non_null(strstr(err.msg, "is a directory"));
    assert_int_equal(count_temporaries(f->dir), 0);

    /* invalid result: refused before any file is created */
    f->r.n_features = 0;
    error_clear(&err);
    assert_int_equal(h5io_write_result(f->path, 1, &f->r, &err), ERR_INTERNAL);
    f->r.n_features = 3;
    assert_int_equal(count_temporaries(f->dir), 0);

    /* a real I/O failure in mid-write: see test_file_size_limit */
    assert_int_equal(open_ids(), 0);
}

/* Runs h5io_write_result(path, 1, r) in a child process under a 1 MiB
 * file-size limit (writes past it fail with EFBIG).  The child reports the
 * return code and message through a pipe and leaves with _exit: when even
 * HDF5's closing flush fails with EFBIG (the limit also applies to the
 * shared-memory object h5io redirects the doomed file to), HDF5 1.10
 * leaves a dangling file ID that crashes the library's exit handler
 * (HDFFV-11052; see discard_file in h5io.c), which is not what this test
 * is about. */
static int write_limited(const char *path, const h5io_result *r, char *msg, size_t msg_size)
{
    int fds[2], status = 0, rc = 0;
    pid_t pid;
    ssize_t got;
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit lim;
        rg_error err;
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        if (getrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(3);
        lim.rlim_cur = 1 << 20;
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(3);
        error_clear(&err);
        rc = h5io_write_result(path, 1, r, &err);
        if (write(fds[1], &rc, sizeof rc) != (ssize_t)sizeof rc) _exit(4);
        if (write(fds[1], err.msg, strlen(err.msg) + 1) < 0) _exit(4);
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &rc, sizeof rc), (ssize_t)sizeof rc);
    got = read(fds[0], msg, msg_size - 1);
    msg[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return rc;
}

/* A real I/O failure in mid-write (the file-size limit, as a full disk
 * would): error returned, the existing file survives byte for byte, no
 * temporary is left; the same write then succeeds without the limit. */
static void test_file_size_limit(void **state)
{
    fixture *f = *state;
    rg_error err;
    char msg[ERROR_MSG_MAX];
    unsigned char *before, *after;
    size_t nb, na;
    int rc;
    const size_t n[4] = {40, 40, 40, 40};   /* 3 x 10 MB */

    fill(f, 3, 4, 1, 3, 6, 2, SMALL);
    error_clear(&err);
    assert_int_equal(h5io_write_result(f->path, 0, &f->r, &err), 0);
    before = slurp(f->path, &nb);
    fill(f, 3, 4, 1, 3, 6, 2, n);
    rc = write_limited(f->path, &f->r, msg, sizeof msg);
    print_message("  (expected) %s\n", msg);
    assert_true(rc == ERR_HDF5 || rc == ERR_IO);
    assert_non_null(strstr(msg, f->path));
    after = slurp(f->path, &na);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    assert_int_equal(count_temporaries(f->dir), 0);
    free(before);
    free(after);
    error_clear(&err);
    assert_int_equal(h5io_write_result(f->path, 1, &f->r, &err), 0);
    check_file(f->path, &f->r);
    assert_int_equal(open_ids(), 0);
}

/* Disk full, for real: set RG_TEST_SMALLFS to a directory on a filesystem
 * with less than ~20 MB free (e.g. mount -t tmpfs -o size=2m tmpfs DIR);
 * skipped otherwise.  Besides the contract, checks that no HDF5 ID is left
 * open (h5io's discard path closes the doomed file without the failing
 * flush that would leave a dangling ID). */
static void test_disk_full(void **state)
{
    fixture *f = *state;
    rg_error err;
    char p[512];
    const char *dir = getenv("RG_TEST_SMALLFS");
    const size_t n[4] = {40, 40, 40, 40};
    if (dir == NULL || dir[0] == '\0') {
        print_message("  RG_TEST_SMALLFS not set: skipped\n");
        skip();
    }
    snprintf(p, sizeof p, "%s/full.h5", dir);
    fill(f, 3, 4, 1, 3, 6, 2, n);
    error_clear(&err);
    assert_true(h5io_write_result(p, 1, &f->r, &err) < 0);
    print_message("  (expected) %s\n", err.msg);
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_int_equal(count_temporaries(dir), 0);
    assert_int_equal(open_ids(), 0);
    assert_int_equal(access(p, F_OK), -1);
}

static void test_check_output(void **state)
{
    fixture *f = *state;
    rg_error err;
    char p[256];
    FILE *fp;

    error_clear(&err);
    assert_int_equal(h5io_check_output(f->path, 0, &err), 0);
    assert_int_equal(count_temporaries(f->dir), 0);
    assert_int_equal(access(f->path, F_OK), -1);

    snprintf(p, sizeof p, "%s/nodir/out.h5", f->dir);
    error_clear(&err);
    assert_int_equal(h5io_check_output(p, 1, &err), ERR_IO);
    snprintf(p, sizeof p, "output directory '%s/nodir' does not exist", f->dir);
    assert_string_equal(err.msg, p);

    fp = fopen(f->path, "w");
    assert_non_null(fp);
    fclose(fp);
    error_clear(&err);
    assert_int_equal(h5io_check_output(f->path, 0, &err), ERR_USAGE);
    snprintf(p, sizeof p, "output '%s' exists; use --force or [output] overwrite = true", f->path);
    assert_string_equal(err.msg, p);
    error_clear(&err);
    assert_int_equal(h5io_check_output(f->path, 1, &err), 0);

    /* a regular file used as the directory */
    snprintf(p, sizeof p, "%s/x.h5", f->path);
    error_clear(&err);
    assert_int_equal(h5io_check_output(p, 1, &err), ERR_IO);

    /* the output is a directory, with or without overwrite */
    snprintf(p, sizeof p, "%s/sub", f->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    error_clear(&err);
    assert_int_equal(h5io_check_output(p, 1, &err), ERR_IO);
    assert_non_null(strstr(err.msg, "is a directory"));
    error_clear(&err);
    assert_int_equal(h5io_check_output(p, 0, &err), ERR_IO);

    /* bad paths */
    error_clear(&err);
    assert_int_equal(h5io_check_output("", 0, &err), ERR_USAGE);
    snprintf(p, sizeof p, "%s/", f->dir);
    error_clear(&err);
    assert_int_equal(h5io_check_output(p, 1, &err), ERR_USAGE);

    /* not writable: only meaningful when not root (root bypasses modes) */
    if (geteuid() != 0) {
        snprintf(p, sizeof p, "%s/ro", f->dir);
        assert_int_equal(mkdir(p, 0555), 0);
        snprintf(p, sizeof p, "%s/ro/out.h5", f->dir);
        error_clear(&err);
        assert_int_equal(h5io_check_output(p, 0, &err), ERR_IO);
        assert_non_null(strstr(err.msg, "is not writable"));
        snprintf(p, sizeof p, "%s/ro", f->dir);
        chmod(p, 0755);
    }
    assert_int_equal(count_temporaries(f->dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_binary_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiclass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multichunk_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_then_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_output, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
