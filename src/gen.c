/** \file gen.c
 *  Synthetic credit-like data (see gen.h).
 *
 *  Row model.  Row i draws every random number from the counter-based RNG
 *  keyed by k_i = rng_hash3(seed, RNG_STREAM_GEN, i):
 *      uniform  u_j = rng_unit(rng_hash3(k_i, j, 0))      j in GEN_U_*
 *      normal   n_j = rng_normal(k_i, GEN_N_BASE + j)      j in GEN_N_*
 *  (the two counter ranges are disjoint, so no draw is reused), so a row is
 *  a pure function of (seed, i).  Features are built in a causal order
 *  (age -> education, marriage, housing -> income -> limit -> balances ->
 *  payments -> delays) so that they are correlated the way real card data
 *  is.  All values are rounded to what is written (whole currency units,
 *  limit to 10,000, utilisation to 1e-4), and the latent score is computed
 *  from the rounded values, so the written features determine the signal.
 *
 *  Label.  latent s_i (gen_score: thresholds and interactions, see there),
 *      default_i = [ s_i + b + L_i > 0 ],   L_i = logit(v_i) ~ Logistic(0,1)
 *  so P(default_i = 1) = sigma(s_i + b).  The intercept b solves
 *      (1/n) sum_i sigma(s_i + b) = positive_rate
 *  (safeguarded Newton in a bisection bracket, sums in row order: the same
 *  bits for the same (seed, rows, rate)).  Only b couples rows.
 *
 *  Memory: one double per row (the scores), plus O(1) buffers; rows are
 *  regenerated and streamed to disk in a second pass.
 *
 *  Output is written to "<dir>/.<base>.tmp.XXXXXX/<base>", created
 *  exclusively inside a private directory next to path (atomicfile.h: no
 *  name anybody else can create or swap is ever opened, by us or by HDF5),
 *  flushed, fsync'd and renamed onto path; on any failure the temporary
 *  file and directory are removed and path is untouched.
 */
#include "riskgrid/gen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "riskgrid/atomicfile.h"
#include "riskgrid/rng.h"

/* Category vocabularies, each sorted bytewise so that index order is the
 * one-hot column order of the HDF5 output ("col=value" sorted by value). */
enum { EDU_GRADUATE, EDU_HIGH_SCHOOL, EDU_OTHER, EDU_UNIVERSITY, EDU_N };
enum { MAR_MARRIED, MAR_OTHER, MAR_SINGLE, MAR_N };
enum { HOU_MORTGAGE, HOU_OWN, HOU_RENT, HOU_N };
static const char *const edu_names[EDU_N] = { "graduate", "high_school", "other", "university" };
static const char *const mar_names[MAR_N] = { "married", "other", "single" };
static const char *const hou_names[HOU_N] = { "mortgage", "own", "rent" };

/* Uniform draw counters. */
enum {
    GEN_U_EDU, GEN_U_MAR, GEN_U_HOU, GEN_U_TENURE, GEN_U_INACTIVE, GEN_U_PAYTYPE,
    GEN_U_RATIO1, GEN_U_RATIO2, GEN_U_LABEL, GEN_U_N
};
/* Normal draw counters (offset by GEN_N_BASE). */
enum {
    GEN_N_AGE, GEN_N_INCOME, GEN_N_LIMIT, GEN_N_CARDS, GEN_N_DISTRESS, GEN_N_UTIL,
    GEN_N_BILL2, GEN_N_BILL3, GEN_N_BEHAV, GEN_N_DELAY1, GEN_N_DELAY2, GEN_N_DELAY3,
    GEN_N_TREND, GEN_N_N
};
#define GEN_N_BASE 64u

/** CSV header: the column order of gen.h. */
static const char gen_csv_header[] =
    "id,limit_bal,age,education,marriage,housing,bill_amt1,bill_amt2,bill_amt3,"
    "pay_amt1,pay_amt2,pay_delay1,pay_delay2,pay_delay3,utilization,n_cards,"
    "income,tenure_months,default\n";

/** HDF5 feature columns: the CSV columns without id and default, with the
 *  three categorical columns one-hot (GEN_F = 2 + 4 + 3 + 3 + 12). */
#define GEN_F 24
static const char *const gen_feature_names[GEN_F] = {
    "limit_bal", "age",
    "education=graduate", "education=high_school", "education=other", "education=university",
    "marriage=married", "marriage=other", "marriage=single",
    "housing=mortgage", "housing=own", "housing=rent",
    "bill_amt1", "bill_amt2", "bill_amt3", "pay_amt1", "pay_amt2",
    "pay_delay1", "pay_delay2", "pay_delay3", "utilization", "n_cards",
    "income", "tenure_months"
};

/** Signal strength: the latent score is GEN_SIGNAL times the sum of the
 *  terms in gen_score.  Tuned with scripts/check_gen_signal.py: at 1.5 the
 *  oracle AUC is about 0.93-0.94, an MLP(128) reaches 0.88-0.92 and logistic
 *  regression 0.76-0.81 at 5,000 to 20,000 rows (8 seeds each). */
#define GEN_SIGNAL 1.5

/** Rows per block in the HDF5 writer. */
#define GEN_BLOCK 4096

typedef struct gen_row {
    double limit_bal;   /**< 10,000 .. 1,000,000, multiple of 10,000 */
    int age;            /**< 21 .. 79 */
    int edu, mar, hou;  /**< indices into the *_names tables */
    double bill[3];     /**< bill_amt1 (latest) .. bill_amt3, whole units, may be < 0 */
    double pay[2];      /**< pay_amt1 (paid against bill_amt2), pay_amt2 (against bill_amt3), >= 0 */
    int delay[3];       /**< pay_delay1 (latest) .. 3: -2 no use, -1 paid duly, 0 revolving, 1..8 months late */
    double util;        /**< bill_amt1 / limit_bal rounded to 1e-4 */
    int n_cards;        /**< 1 .. 12 */
    double income;      /**< yearly, multiple of 100, 6,000 .. 2,000,000 */
    int tenure;         /**< months on book, 1 .. 12 * (age - 18) */
    double score;       /**< latent s_i (no intercept) */
    double noise;       /**< L_i ~ Logistic(0, 1) */
} gen_row;

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static double sigmoid(double x)
{
    double r;
    if (x >= 0.0) {
        r = 1.0 / (1.0 + exp(-x));
    } else {
        double e = exp(x);
        r = e / (1.0 + e);
    }
    return r;
}

/** Latent log-odds of default (before the intercept) from the written
 *  feature values.  Mostly non-linear on purpose:
 *   - recent delay >= 2 months AND utilisation > 0.8: +2.6 (interaction);
 *     any recent delay: +0.7; delay two months ago >= 2: +0.5;
 *   - strictly worsening delays (d1 > d2 > d3): +0.8;
 *   - U-shape in age around 45: +0.8 * min(((age - 45) / 11)^2, 4);
 *   - education x housing: an XOR-like table whose row and column means
 *     are near zero (a linear model on one-hot columns sees little);
 *   - payment ratio r = pay_amt1 / bill_amt2 (bill_amt2 > 0): r >= 0.95
 *     -1.3 (pays in full), r < 0.05 +1.0 (pays almost nothing);
 *   - many cards (>= 6) AND income < 30,000: +1.2;
 *   - over the limit (utilisation > 1): +0.6;
 *   - a mild linear term -0.4 * ln(limit / 100,000);
 *  all multiplied by GEN_SIGNAL. */
static double gen_score(const gen_row *r)
{
    static const double edu_hou[EDU_N][HOU_N] = {
        /*                mortgage  own   rent */
        /* graduate    */ { -1.0,  -0.6,  +1.5 },
        /* high_school */ { +1.4,  -0.9,  -0.6 },
        /* other       */ {  0.0,   0.0,   0.0 },
        /* university  */ { -0.5,  +1.5,  -0.8 },
    };
    double s = 0.0;
    double a = (r->age - 45) / 11.0;
    int d1 = r->delay[0], d2 = r->delay[1], d3 = r->delay[2];

    if (d1 >= 2 && r->util > 0.8) s += 2.6;
    if (d1 >= 1) s += 0.7;
    if (d2 >= 2) s += 0.5;
    if (d1 > d2 && d2 > d3) s += 0.8;
    s += 0.8 * (a * a < 4.0 ? a * a : 4.0);
    s += edu_hou[r->edu][r->hou];
    if (r->bill[1] > 0.0) {
        double ratio = r->pay[0] / r->bill[1];
        if (ratio >= 0.95) s -= 1.3;
        else if (ratio < 0.05) s += 1.0;
    }
    if (r->n_cards >= 6 && r->income < 30000.0) s += 1.2;
    if (r->util > 1.0) s += 0.6;
    s -= 0.4 * log(r->limit_bal / 100000.0);
    return GEN_SIGNAL * s;
}

/** Row i of the data set for seed (pure function; see the file comment). */
static void gen_make_row(uint64_t seed, int64_t i, gen_row *r)
{
    const uint64_t k = rng_hash3(seed, RNG_STREAM_GEN, (uint64_t)i);
    double u[GEN_U_N], n[GEN_N_N];
    double w_own, w_mort, w_rent, p, distress, behav, trend, t, ratio_lo, ratio_hi;
    int inactive, paytype;

    for (int j = 0; j < GEN_U_N; j++) u[j] = rng_unit(rng_hash3(k, (uint64_t)j, 0));
    for (int j = 0; j < GEN_N_N; j++) n[j] = rng_normal(k, GEN_N_BASE + (uint64_t)j);

    /* age: right-skewed around 37 (quadratic in a normal), clamped to 21..79 */
    t = n[GEN_N_AGE];
    r->age = (int)lround(clampd(37.0 + 10.5 * t + 1.6 * t * t, 21.0, 79.0));

    /* education: older cohorts have more high-school only */
    p = r->age >= 50 ? 0.30 : 0.20;
    t = u[GEN_U_EDU];
    if (t < 0.27) r->edu = EDU_GRADUATE;
    else if (t < 0.27 + 0.45 - (p - 0.20)) r->edu = EDU_UNIVERSITY;
    else if (t < 0.92) r->edu = EDU_HIGH_SCHOOL;
    else r->edu = EDU_OTHER;

    /* marriage: married share rises around 30 */
    p = 0.12 + 0.62 * sigmoid((r->age - 31) / 4.0);
    t = u[GEN_U_MAR];
    if (t < 0.04) r->mar = MAR_OTHER;
    else if (t < 0.04 + p * 0.96) r->mar = MAR_MARRIED;
    else r->mar = MAR_SINGLE;

    /* housing: renters young, mortgages middle-aged, owners older */
    w_own = 0.08 + 0.75 * sigmoid((r->age - 50) / 6.0);
    w_mort = 0.55 * sigmoid((r->age - 30) / 4.0) * (r->mar == MAR_MARRIED ? 1.3 : 0.8);
    w_rent = 0.15 + 0.7 * sigmoid((33 - r->age) / 5.0);
    t = u[GEN_U_HOU] * (w_own + w_mort + w_rent);
    if (t < w_rent) r->hou = HOU_RENT;
    else if (t < w_rent + w_mort) r->hou = HOU_MORTGAGE;
    else r->hou = HOU_OWN;

    /* income: log-normal, by education and experience; whole hundreds */
    {
        static const double edu_bonus[EDU_N] = { 0.45, 0.0, -0.1, 0.25 };
        double exper = r->age - 21 < 30 ? r->age - 21 : 30;
        double li = log(26000.0) + edu_bonus[r->edu] + 0.018 * exper + 0.45 * n[GEN_N_INCOME];
        r->income = 100.0 * round(clampd(exp(li), 6000.0, 2000000.0) / 100.0);
    }

    /* credit limit: about 3x income, log-normal spread, multiple of 10,000 */
    {
        double ll = log(3.0 * r->income) + 0.55 * n[GEN_N_LIMIT];
        double lim = 10000.0 * round(exp(ll) / 10000.0);
        r->limit_bal = clampd(lim, 10000.0, 1000000.0);
    }

    r->tenure = 1 + (int)floor(u[GEN_U_TENURE] * (r->age - 18 < 25 ? 12.0 * (r->age - 18) : 300.0));
    r->n_cards = (int)clampd(floor(exp(0.9 + 0.55 * n[GEN_N_CARDS])), 1.0, 12.0);

    /* person-level financial distress: drives utilisation, payments, delays */
    distress = n[GEN_N_DISTRESS] - 0.25 * log(r->income / 40000.0);

    /* balances: utilisation target in (0, 1.15), some inactive accounts */
    inactive = u[GEN_U_INACTIVE] < 0.06;
    if (inactive) {
        r->bill[0] = r->bill[1] = r->bill[2] = 0.0;
    } else {
        double ut = 1.15 * sigmoid(0.9 * n[GEN_N_UTIL] + 0.7 * distress - 0.4);
        r->bill[0] = round(ut * r->limit_bal);
        r->bill[1] = round(r->bill[0] * exp(0.15 * n[GEN_N_BILL2]) - 0.02 * r->limit_bal);
        r->bill[2] = round(r->bill[1] * exp(0.15 * n[GEN_N_BILL3]) - 0.02 * r->limit_bal);
        for (int j = 0; j < 3; j++) r->bill[j] += 0.0;   /* -0 -> +0 */
    }
    r->util = round(r->bill[0] / r->limit_bal * 1e4) / 1e4;

    /* payment behaviour: 0 pays in full, 1 partial, 2 minimum, 3 nothing */
    behav = -distress + 0.8 * n[GEN_N_BEHAV];
    paytype = behav > 0.7 ? 0 : behav > -0.3 ? 1 : behav > -1.4 ? 2 : 3;
    if (paytype == 3 && u[GEN_U_PAYTYPE] < 0.5) paytype = 2;
    switch (paytype) {
    case 0: ratio_lo = 0.95; ratio_hi = 1.05; break;
    case 1: ratio_lo = 0.10; ratio_hi = 0.90; break;
    case 2: ratio_lo = 0.02; ratio_hi = 0.08; break;
    default: ratio_lo = 0.0; ratio_hi = 0.0; break;
    }
    r->pay[0] = round(fmax(r->bill[1], 0.0) * (ratio_lo + (ratio_hi - ratio_lo) * u[GEN_U_RATIO1]));
    r->pay[1] = round(fmax(r->bill[2], 0.0) * (ratio_lo + (ratio_hi - ratio_lo) * u[GEN_U_RATIO2]));

    /* delays: latent m = distress + month noise + trend (latest month most) */
    trend = 0.5 * n[GEN_N_TREND];
    for (int m = 0; m < 3; m++) {
        double lat = 0.75 * distress + 0.55 * n[GEN_N_DELAY1 + m] + trend * (2 - m) / 2.0
                     + (paytype == 3 ? 0.6 : 0.0);
        int d;
        if (inactive) d = -2;
        else if (paytype == 0 && lat < 1.5) d = -1;
        else if (lat < -0.6) d = -1;
        else if (lat < 1.0) d = 0;
        else d = 1 + (int)floor((lat - 1.0) / 0.45);
        r->delay[m] = d > 8 ? 8 : d;
    }

    r->score = gen_score(r);
    {
        /* v in (0, 1) strictly: the half-ulp offset keeps logit finite */
        uint64_t h = rng_hash3(k, GEN_U_LABEL, 0);
        double v = ((double)(h >> 11) + 0.5) * 0x1.0p-53;
        r->noise = log(v / (1.0 - v));
    }
}

/** Intercept b with mean_i sigma(s_i + b) = rate (see file comment).
 *  f(b) = mean sigma - rate is increasing with f' = mean sigma (1 - sigma);
 *  Newton steps, replaced by bisection when they leave [lo, hi]. */
static double gen_intercept(const double *s, size_t n, double rate)
{
    double lo = -80.0, hi = 80.0, b = 0.0, mean_s = 0.0;
    for (size_t i = 0; i < n; i++) mean_s += s[i];
    mean_s /= (double)n;
    b = clampd(log(rate / (1.0 - rate)) - mean_s, lo, hi);
    for (int it = 0; it < 200; it++) {
        double f = 0.0, fp = 0.0, next;
        for (size_t i = 0; i < n; i++) {
            double q = sigmoid(s[i] + b);
            f += q;
            fp += q * (1.0 - q);
        }
        f = f / (double)n - rate;
        fp /= (double)n;
        if (f > 0.0) hi = b; else lo = b;
        if (fabs(f) < 1e-13 || hi - lo < 1e-12) break;
        next = fp > 0.0 ? b - f / fp : 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        b = next;
    }
    return b;
}

static int gen_label(const gen_row *r, double b)
{
    return r->score + b + r->noise > 0.0 ? 1 : 0;
}

/** Decimal text of v at p (no NUL); returns the length (<= 20). */
static size_t put_i64(char *p, int64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    if (v < 0) p[k++] = '-';
    while (n > 0) p[k++] = tmp[--n];
    return k;
}

/** Append an integer-valued column and the delimiter c (0: none). */
static size_t put_col(char *p, double v, char c)
{
    size_t k = put_i64(p, (int64_t)v);
    if (c != 0) p[k++] = c;
    return k;
}

static size_t put_str(char *p, const char *s)
{
    size_t k = strlen(s);
    memcpy(p, s, k);
    p[k++] = ',';
    return k;
}

/** Write rows as CSV to the open stream f.  Every column but utilization
 *  holds an integer (|v| < 2^53), written exactly by put_i64; utilization
 *  uses %.10g (it has at most 4 decimals, so the text is exact too). */
static int gen_write_csv(FILE *f, const gen_options *opt, double b, const char *tmp,
                         rg_error *err)
{
    int rc = ERR_OK;
    gen_row r;
    char line[512];   /* 18 numbers of <= 24 bytes + 3 words of <= 12 bytes + commas */
    if (fputs(gen_csv_header, f) < 0) {
        rc = error_set(err, ERR_IO, "gen: write %s: %s", tmp, strerror(errno));
        goto done;
    }
    for (int64_t i = 0; i < opt->rows; i++) {
        size_t k = 0;
        int u;
        gen_make_row(opt->seed, i, &r);
        k += put_i64(line + k, i);
        line[k++] = ',';
        k += put_col(line + k, r.limit_bal, ',');
        k += put_col(line + k, r.age, ',');
        k += put_str(line + k, edu_names[r.edu]);
        k += put_str(line + k, mar_names[r.mar]);
        k += put_str(line + k, hou_names[r.hou]);
        for (int j = 0; j < 3; j++) k += put_col(line + k, r.bill[j], ',');
        for (int j = 0; j < 2; j++) k += put_col(line + k, r.pay[j], ',');
        for (int j = 0; j < 3; j++) k += put_col(line + k, r.delay[j], ',');
        u = snprintf(line + k, sizeof line - k, "%.10g,", r.util);
        if (u < 0 || (size_t)u >= sizeof line - k) {
            rc = error_set(err, ERR_INTERNAL, "gen: row %" PRId64 " does not fit the line buffer", i);
            goto done;
        }
        k += (size_t)u;
        k += put_col(line + k, r.n_cards, ',');
        k += put_col(line + k, r.income, ',');
        k += put_col(line + k, r.tenure, ',');
        k += put_col(line + k, gen_label(&r, b), '\n');
        if (fwrite(line, 1, k, f) != k) {
            rc = error_set(err, ERR_IO, "gen: write %s: %s", tmp, strerror(errno));
            goto done;
        }
    }
done:
    return rc;
}

/** Features of one row in gen_feature_names order. */
static void gen_features(const gen_row *r, float *x)
{
    int c = 0;
    x[c++] = (float)r->limit_bal;
    x[c++] = (float)r->age;
    for (int j = 0; j < EDU_N; j++) x[c++] = r->edu == j ? 1.0f : 0.0f;
    for (int j = 0; j < MAR_N; j++) x[c++] = r->mar == j ? 1.0f : 0.0f;
    for (int j = 0; j < HOU_N; j++) x[c++] = r->hou == j ? 1.0f : 0.0f;
    for (int j = 0; j < 3; j++) x[c++] = (float)r->bill[j];
    for (int j = 0; j < 2; j++) x[c++] = (float)r->pay[j];
    for (int j = 0; j < 3; j++) x[c++] = (float)r->delay[j];
    x[c++] = (float)r->util;
    x[c++] = (float)r->n_cards;
    x[c++] = (float)r->income;
    x[c++] = (float)r->tenure;
}

/** Write the HDF5 file: the temporary of af, created here exclusively
 *  (the caller removes it on failure). */
static int gen_write_h5(const atomicfile *af, const gen_options *opt, double b, rg_error *err)
{
    const char *tmp = af->tmpfile;
    int rc = ERR_OK;
    hid_t file = H5I_INVALID_HID, fspace = H5I_INVALID_HID, lspace = H5I_INVALID_HID;
    hid_t dfeat = H5I_INVALID_HID, dlab = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    hid_t lmspace = H5I_INVALID_HID, strtype = H5I_INVALID_HID, aspace = H5I_INVALID_HID;
    hid_t attr = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    float *xbuf = NULL;
    int32_t *ybuf = NULL;
    gen_row r;
    hsize_t dims[2] = { (hsize_t)opt->rows, GEN_F };
    hsize_t nf = GEN_F;

    xbuf = malloc(sizeof *xbuf * GEN_BLOCK * GEN_F);
    ybuf = malloc(sizeof *ybuf * GEN_BLOCK);
    if (xbuf == NULL || ybuf == NULL) {
        rc = error_set(err, ERR_NOMEM, "gen: out of memory for the HDF5 block buffers");
        goto done;
    }
    /* H5F_ACC_EXCL (O_CREAT | O_EXCL): never an existing file or a symlink */
    file = H5Fcreate(af->open_name, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
        rc = error_set(err, ERR_HDF5, "gen: cannot create HDF5 file %s", tmp);
        goto done;
    }
    {
        void *handle = NULL;
        if (H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || handle == NULL) {
            rc = error_set(err, ERR_HDF5, "gen: cannot get the file descriptor of %s", tmp);
            goto done;
        }
        if ((rc = atomicfile_check_fd(af, *(int *)handle, err)) != 0) goto done;
    }
    fspace = H5Screate_simple(2, dims, NULL);
    lspace = H5Screate_simple(1, dims, NULL);
    if (fspace < 0 || lspace < 0) {
        rc = error_set(err, ERR_HDF5, "gen: H5Screate_simple failed for %s", tmp);
        goto done;
    }
    /* no object timestamps: the same (seed, rows, rate) gives the same bytes */
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
        rc = error_set(err, ERR_HDF5, "gen: cannot set dataset properties for %s", tmp);
        goto done;
    }
    dfeat = H5Dcreate2(file, "features", H5T_IEEE_F32LE, fspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    dlab = H5Dcreate2(file, "label", H5T_STD_I32LE, lspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dfeat < 0 || dlab < 0) {
        rc = error_set(err, ERR_HDF5, "gen: cannot create datasets in %s", tmp);
        goto done;
    }

    /* feature_names: variable-length UTF-8 strings, one per column */
    strtype = H5Tcopy(H5T_C_S1);
    if (strtype < 0 || H5Tset_size(strtype, H5T_VARIABLE) < 0 ||
        H5Tset_cset(strtype, H5T_CSET_UTF8) < 0) {
        rc = error_set(err, ERR_HDF5, "gen: cannot make the string type for %s", tmp);
        goto done;
    }
    aspace = H5Screate_simple(1, &nf, NULL);
    if (aspace < 0) {
        rc = error_set(err, ERR_HDF5, "gen: H5Screate_simple failed for %s", tmp);
        goto done;
    }
    attr = H5Acreate2(dfeat, "feature_names", strtype, aspace, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, strtype, gen_feature_names) < 0) {
        rc = error_set(err, ERR_HDF5, "gen: cannot write attribute feature_names in %s", tmp);
        goto done;
    }

    for (int64_t i0 = 0; i0 < opt->rows; i0 += GEN_BLOCK) {
        int64_t m = opt->rows - i0 < GEN_BLOCK ? opt->rows - i0 : GEN_BLOCK;
        hsize_t start[2] = { (hsize_t)i0, 0 }, count[2] = { (hsize_t)m, GEN_F };
        for (int64_t j = 0; j < m; j++) {
            gen_make_row(opt->seed, i0 + j, &r);
            gen_features(&r, xbuf + j * GEN_F);
            ybuf[j] = gen_label(&r, b);
        }
        mspace = H5Screate_simple(2, count, NULL);
        lmspace = H5Screate_simple(1, count, NULL);
        if (mspace < 0 || lmspace < 0 ||
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Sselect_hyperslab(lspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dwrite(dfeat, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, xbuf) < 0 ||
            H5Dwrite(dlab, H5T_NATIVE_INT32, lmspace, lspace, H5P_DEFAULT, ybuf) < 0) {
            rc = error_set(err, ERR_HDF5, "gen: cannot write rows %" PRId64 "..%" PRId64 " to %s",
                           i0, i0 + m - 1, tmp);
            goto done;
        }
        H5Sclose(mspace);
        H5Sclose(lmspace);
        mspace = lmspace = H5I_INVALID_HID;
    }
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
        rc = error_set(err, ERR_HDF5, "gen: cannot flush %s", tmp);
        goto done;
    }
done:
    if (mspace >= 0) H5Sclose(mspace);
    if (lmspace >= 0) H5Sclose(lmspace);
    if (attr >= 0) H5Aclose(attr);
    if (aspace >= 0) H5Sclose(aspace);
    if (strtype >= 0) H5Tclose(strtype);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (dfeat >= 0) H5Dclose(dfeat);
    if (dlab >= 0) H5Dclose(dlab);
    if (fspace >= 0) H5Sclose(fspace);
    if (lspace >= 0) H5Sclose(lspace);
    if (file >= 0 && H5Fclose(file) < 0 && rc == ERR_OK)
        rc = error_set(err, ERR_HDF5, "gen: cannot close %s", tmp);
    free(xbuf);
    free(ybuf);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int gen_write(const char *path, const gen_options *opt, rg_error *err)
{
    int rc = ERR_OK;
    int fd = -1, is_h5 = 0, begun = 0;
    atomicfile af;
    double *score = NULL;
    FILE *f = NULL;
    double b = 0.0;
    size_t n = 0;
    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    int h5_silenced = 0;

    if (path == NULL || path[0] == '\0' || opt == NULL) {
        rc = error_set(err, ERR_USAGE, "gen: an output path and options are required");
        goto done;
    }
    if (opt->rows < 1) {
        rc = error_set(err, ERR_USAGE, "gen: rows must be >= 1 (got %" PRId64 ")", opt->rows);
        goto done;
    }
    if (!(opt->positive_rate > 0.0 && opt->positive_rate < 1.0)) {
        rc = error_set(err, ERR_USAGE, "gen: positive rate must be in (0, 1) (got %g)",
                       opt->positive_rate);
        goto done;
    }
    if ((uint64_t)opt->rows > SIZE_MAX / sizeof *score) {
        rc = error_set(err, ERR_USAGE, "gen: too many rows (%" PRId64 ")", opt->rows);
        goto done;
    }
    n = (size_t)opt->rows;
    is_h5 = ends_with(path, ".h5");

    /* pass 1: latent scores -> intercept */
    score = malloc(n * sizeof *score);
    if (score == NULL) {
        rc = error_set(err, ERR_NOMEM, "gen: out of memory for %" PRId64 " scores", opt->rows);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        gen_row r;
        gen_make_row(opt->seed, (int64_t)i, &r);
        score[i] = r.score;
    }
    b = gen_intercept(score, n, opt->positive_rate);

    /* the temporary: a new file in a private directory next to path */
    if ((rc = atomicfile_begin(&af, path, err)) != 0) goto done;
    begun = 1;
    if (is_h5) {
        if (H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data) >= 0 &&
            H5Eset_auto2(H5E_DEFAULT, NULL, NULL) >= 0)
            h5_silenced = 1;
        rc = gen_write_h5(&af, opt, b, err);
        if (rc != ERR_OK) goto done;
        if ((rc = atomicfile_sync(&af, err)) != 0) goto done;
    } else {
        if ((rc = atomicfile_create(&af, &fd, err)) != 0) goto done;
        f = fdopen(fd, "w");
        if (f == NULL) {
            rc = error_set(err, ERR_IO, "gen: fdopen %s: %s", af.tmpfile, strerror(errno));
            goto done;
        }
        fd = -1;   /* owned by f now */
        if (setvbuf(f, NULL, _IOFBF, 1 << 20) != 0) {
            rc = error_set(err, ERR_IO, "gen: setvbuf %s failed", af.tmpfile);
            goto done;
        }
        rc = gen_write_csv(f, opt, b, af.tmpfile, err);
        if (rc != ERR_OK) goto done;
        if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
            rc = error_set(err, ERR_IO, "gen: write %s: %s", af.tmpfile, strerror(errno));
            goto done;
        }
        {
            int cr = fclose(f);
            f = NULL;
            if (cr != 0) {
                rc = error_set(err, ERR_IO, "gen: close %s: %s", af.tmpfile, strerror(errno));
                goto done;
            }
        }
    }
    rc = atomicfile_publish(&af, 1, err);
done:
    if (f != NULL) fclose(f);
    if (fd >= 0) close(fd);
    if (begun) atomicfile_end(&af);
    if (h5_silenced) H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    free(score);
    return rc;
}
