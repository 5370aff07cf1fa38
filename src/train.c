/** \file train.c  The data-parallel training loop and evaluation (see train.h). */
#include "riskgrid/train.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "riskgrid/adam.h"
#include "riskgrid/allreduce.h"
#include "riskgrid/exactsum.h"
#include "riskgrid/log.h"
#include "riskgrid/mem.h"
#include "riskgrid/rng.h"
#include "riskgrid/shardgrad.h"

#define HIST_W 64          /* exponent histogram window (buckets) */
/* The next step's exponent is predicted as this step's largest shard
 * exponent plus PRED_MARGIN: a shard above the prediction costs the whole
 * step a second pass and an MPI_Iallreduce.  With no margin 28% of the
 * steps took it (the max |gradient| of 16 shards of 2 rows moves by 2x
 * from step to step); with 2, 0.3% (CREDIT b32, 100 epochs) and 0.5-0.8%
 * on MNIST; the price is 2 of the 51 bits of the fixed-point range. */
#define PRED_MARGIN 2
#define EXACTSUM_PRED_MIN (-160) /* lowest predicted exponent kept */
#define LOSS_SCALE 32      /* fixed-point scale of per-shard losses: 2^-32 */
#define EVAL_BLOCK 256     /* rows scored per forward call: fixed, so P-independent */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void train_result_free(train_result *r)
{
    if (r == NULL) return;
    free(r->params);
    free(r->loss); free(r->test_auc); free(r->auc_lo); free(r->auc_hi);
    free(r->wall_s); free(r->samples_per_s);
    free(r->class_eval);
    free(r->fpr); free(r->tpr); free(r->thr);
    free(r->scores); free(r->score_labels); free(r->score_rows);
    free(r);
}

/* ------------------------------------------------------------------ */
/* evaluation                                                          */



/* qsort_r is a GNU extension; sort (gid, position) pairs instead. */
typedef struct gid_pos { int64_t gid; int64_t pos; } gid_pos;
static int cmp_gid_pos(const void *a, const void *b)
{
    const gid_pos *x = a, *y = b;
    return (x->gid > y->gid) - (x->gid < y->gid);
}

/* Score the local test rows in fixed blocks per shard, gather to rank 0,
 * order by global row index, compute AUC (+ROC when want_roc).  The AUC
 * result is broadcast so every rank holds it. */
static int evaluate(MPI_Comm comm, int rank, int nranks, const dataset *ds, const mlp_shape *sh,
                    const float *params, mlp_work *w, int want_roc, train_result *res,
                    auc_result *out, auc_result *per_class, rg_error *err)
{
    int rc = 0, C = sh->n_out, K = ds->n_classes, F = ds->n_features;
    int64_t n = ds->test.n, ntot = 0;
    float *prob = NULL, *all_prob = NULL;
    int64_t *all_gid = NULL;
    int32_t *all_y = NULL;
    int *cnt = NULL, *displ = NULL, *cntp = NULL, *displp = NULL;
    double *scores = NULL;
    int32_t *labels = NULL;
    gid_pos *order = NULL;
    int n_local = (int)n;

    prob = malloc((size_t)(n > 0 ? n : 1) * (size_t)C * sizeof *prob);
    cnt = calloc((size_t)nranks, sizeof *cnt);
    displ = calloc((size_t)nranks, sizeof *displ);
    cntp = calloc((size_t)nranks, sizeof *cntp);
    displp = calloc((size_t)nranks, sizeof *displp);
    if (!prob || !cnt || !displ || !cntp || !displp) { error_set(err, ERR_NOMEM, "out of memory"); goto agree; }
    for (int s = 0; s < ds->n_local_shards; s++)
        for (int64_t a = ds->test.shard_off[s]; a < ds->test.shard_off[s + 1]; a += EVAL_BLOCK) {
            int64_t b = a + EVAL_BLOCK < ds->test.shard_off[s + 1] ? a + EVAL_BLOCK : ds->test.shard_off[s + 1];
            mlp_predict(sh, params, ds->test.x + (size_t)a * (size_t)F, NULL, (int)(b - a), w, prob + (size_t)a * (size_t)C);
        }
agree:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Gather(&n_local, 1, MPI_INT, cnt, 1, MPI_INT, 0, comm), "MPI_Gather", err)) != 0) goto done;
    if (rank == 0) {
        for (int r = 0; r < nranks; r++) {
            displ[r] = (int)ntot;
            cntp[r] = cnt[r] * C;
            displp[r] = (int)ntot * C;
            ntot += cnt[r];
        }
        all_prob = malloc((size_t)(ntot > 0 ? ntot : 1) * (size_t)C * sizeof *all_prob);
        all_gid = malloc((size_t)(ntot > 0 ? ntot : 1) * sizeof *all_gid);
        all_y = malloc((size_t)(ntot > 0 ? ntot : 1) * sizeof *all_y);
        if (!all_prob || !all_gid || !all_y) error_set(err, ERR_NOMEM, "out of memory gathering %lld test scores", (long long)ntot);
    }
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Gatherv(prob, n_local * C, MPI_FLOAT, all_prob, cntp, displp, MPI_FLOAT, 0, comm), "MPI_Gatherv(scores)", err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Gatherv(ds->test.gid, n_local, MPI_INT64_T, all_gid, cnt, displ, MPI_INT64_T, 0, comm), "MPI_Gatherv(rows)", err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Gatherv(ds->test.y, n_local, MPI_INT32_T, all_y, cnt, displ, MPI_INT32_T, 0, comm), "MPI_Gatherv(labels)", err)) != 0) goto done;
    if (rank == 0) {
        /* rows in global order: the AUC arithmetic then sees the same
         * sequence for any number of ranks */
        int cols = C == 1 ? 1 : K;
        order = malloc((size_t)(ntot > 0 ? ntot : 1) * sizeof *order);
        scores = malloc((size_t)(ntot > 0 ? ntot : 1) * (size_t)cols * sizeof *scores);
        labels = malloc((size_t)(ntot > 0 ? ntot : 1) * sizeof *labels);
        if (!order || !scores || !labels) { error_set(err, ERR_NOMEM, "out of memory"); goto agree2; }
        for (int64_t i = 0; i < ntot; i++) { order[i].gid = all_gid[i]; order[i].pos = i; }
        qsort(order, (size_t)ntot, sizeof *order, cmp_gid_pos);
        for (int64_t i = 0; i < ntot; i++) {
            int64_t p = order[i].pos;
            labels[i] = all_y[p];
            for (int c = 0; c < cols; c++) scores[(size_t)i * (size_t)cols + (size_t)c] = (double)all_prob[(size_t)p * (size_t)C + (size_t)c];
        }
        if (C == 1) {
            if (auc_delong(scores, labels, (size_t)ntot, out, err) != 0) goto agree2;
            if (want_roc) auc_roc_curve(scores, labels, (size_t)ntot, &res->fpr, &res->tpr, &res->thr, &res->n_roc, err);
        } else {
            if (auc_macro_ovr(scores, labels, (size_t)ntot, K, out, per_class, err) != 0) goto agree2;
        }
        if (want_roc) {
            /* keep the final scores for the output (ownership moves to res) */
            res->score_rows = malloc((size_t)(ntot > 0 ? ntot : 1) * sizeof *res->score_rows);
            if (res->score_rows == NULL) { error_set(err, ERR_NOMEM, "out of memory"); goto agree2; }
            for (int64_t i = 0; i < ntot; i++) res->score_rows[i] = order[i].gid;
            res->scores = scores;
            res->score_labels = labels;
            res->n_scores = (size_t)ntot;
            res->score_cols = cols;
            scores = NULL;
            labels = NULL;
        }
    }
agree2:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Bcast(out, (int)sizeof *out, MPI_BYTE, 0, comm), "MPI_Bcast(auc)", err)) != 0) goto done;
    if (per_class != NULL && C > 1)
        rc = log_mpi_check(MPI_Bcast(per_class, (int)(sizeof *per_class * (size_t)K), MPI_BYTE, 0, comm), "MPI_Bcast(auc)", err);
done:
    free(prob); free(all_prob); free(all_gid); free(all_y);
    free(cnt); free(displ); free(cntp); free(displp);
    free(scores); free(labels); free(order);
    return rc;
}


/* ------------------------------------------------------------------ */
/* the fused per-step reduction                                        */

typedef struct reducer {
    size_t n;           /* parameters */
    size_t len;         /* n + SLOT_HIST + HIST_W */
    allreduce *ar;      /* the fused vector's reduction */
    const int64_t *const *part; /* between scatter and gather: the sum of */
    int nparts;                 /* part[0..nparts) is the reduced vector (len) */
    int64_t *extra;     /* [len - n]: the control slots of the current call */
    int headroom;       /* ceil(log2(V x shardgrad_addends)) */
    int e_pred;         /* predicted exponent, same on all ranks; INT_MIN: unknown */
    double timeout;     /* stall timeout in seconds, 0: none */
    int64_t step;       /* for stall messages */
    int epoch;
    int *es;            /* per local shard: exponent of its gradient (last pass) */
    int F;              /* input features (rows of the W1 block) */
    int H;              /* hidden units (elements per W1 row) */
    size_t w1;          /* offset of the W1 block in the vector */
    int rank;
    int early;          /* the ordered sum with early pull, see sum_shards */
    int hidden;         /* the hidden split is on: the moments live in its blocks */
} reducer;

/* A rank stopped answering: no agreement is possible any more, so report
 * and abort the whole job. */
static int stall_abort(MPI_Comm comm, const reducer *r, double waited, rg_error *err)
{
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    fprintf(stderr, "riskgrid: error: stall: rank %d waited %.0f s for the other ranks in the gradient allreduce "
            "of step %lld (epoch %d); a rank stopped responding (killed, stopped, or its node was lost); "
            "aborting the job ([train] stall_timeout = %g)\n",
            rank, waited, (long long)r->step + 1, r->epoch + 1, r->timeout);
    fflush(stderr);
    MPI_Abort(comm, EXIT_FAILURE_);
    return error_set(err, ERR_MPI, "stall");
}

/* A wait in the step's exchanges ended with rc after `waited` seconds:
 * past the stall timeout that is a stall (report and abort), otherwise
 * rc as it is. */
static int stall_check(MPI_Comm comm, const reducer *r, int rc, double waited, rg_error *err)
{
    if (rc != 0 && r->timeout > 0 && waited > r->timeout) return stall_abort(comm, r, waited, err);
    return rc;
}

/* Wait for the step's allreduce.  With a timeout, a rank that never
 * arrives (killed, SIGSTOPped, node lost) would block the others forever:
 * after `timeout` seconds the waiting ranks report it and abort the job
 * (no agreement is possible with a missing rank). */
static int wait_step(MPI_Comm comm, MPI_Request *req, const reducer *r, rg_error *err)
{
    int done = 0;
    double waited = 0.0, last;
    struct timespec nap = {0, 20000};
    if (r->timeout <= 0) return log_mpi_check(MPI_Wait(req, MPI_STATUS_IGNORE), "MPI_Wait(gradients)", err);
    last = MPI_Wtime();
    for (long polls = 0;; polls++) {
        double now;
        int rc = log_mpi_check(MPI_Test(req, &done, MPI_STATUS_IGNORE), "MPI_Test(gradients)", err);
        if (rc != 0 || done) return rc;
        if (polls > 2000) nanosleep(&nap, NULL); /* past ~1 ms: stop spinning */
        /* count only time this process spent polling: a gap of more than
         * 0.5 s between two polls means the whole job was suspended
         * (SIGSTOP to every rank, scontrol suspend), which is no stall */
        now = MPI_Wtime();
        waited += now - last < 0.5 ? now - last : 0.0;
        last = now;
        if (waited > r->timeout) break;
    }
    return stall_abort(comm, r, waited, err);
}

enum { SLOT_LOSS = 0, SLOT_NONFINITE = 1, SLOT_STOP = 2, SLOT_OVERFLOW = 3, SLOT_HIST = 4 };

/* Pieces of the own W1 rows in the ordered sum: the other rank's
 * publication is looked for before each, so this many chances to start
 * the prefetch while the own rows are still being summed. */
#define EARLY_PIECES 8
/* The ordered sum pays only when the other rank's rows of this rank's
 * slice are large: below this the update reads them in about a
 * microsecond (CREDIT: 1.6 us) and the extra calls would cost more. */
#define EARLY_MIN_BYTES ((size_t)64 << 10)

/* The W1 rows of the reduced vector that rank `rank`'s slice touches,
 * [*wb, *we), and those wholly inside it, [*pb, *pe) (pe <= pb: none). */
static void slice_rows(const reducer *r, int rank, int *wb, int *we, int *pb, int *pe)
{
    const size_t H = (size_t)r->H, end = r->w1 + (size_t)r->F * H;
    size_t lo = 0, hi = 0;
    allreduce_slice(r->ar, rank, &lo, &hi);
    lo = lo < r->w1 ? 0 : lo - r->w1 < end - r->w1 ? lo - r->w1 : end - r->w1;
    hi = hi < r->w1 ? 0 : hi - r->w1 < end - r->w1 ? hi - r->w1 : end - r->w1;
    *wb = (int)(lo / H);
    *we = (int)((hi + H - 1) / H);
    *pb = (int)((lo + H - 1) / H);
    *pe = (int)(hi / H);
}

/* buf[0..n) = the fixed-point sum of the local shards (shardgrad_sum).
 * Ordered (r->early: 2 ranks in shared memory, a large W1 block): first
 * the W1 rows of the other rank's slice, then allreduce_publish, then the
 * own rows in pieces.  The other rank does the same, so it publishes its
 * rows of this rank's slice about half-way through its sum; from then on
 * they are prefetched during the own pieces (shardgrad_sum_prefetch), and
 * the update after the scatter finds them in this core's cache instead of
 * pulling 400 KB from the other core's (MNIST b256: update 40 -> 32 us).
 * The rows are added in another order; every row's sum is the same. */
static void sum_shards(reducer *r, shardgrad *g, int e, int64_t *buf)
{
    int wb = 0, we = 0, pb = 0, pe = 0, armed = 0;
    if (!r->early) {
        shardgrad_sum(g, 0, r->F, e, r->headroom, buf, r->es);
        return;
    }
    slice_rows(r, r->rank, &wb, &we, &pb, &pe);
    shardgrad_sum_begin(g, e, r->headroom);
    shardgrad_sum_rows(g, 0, wb, buf);
    shardgrad_sum_rows(g, we, r->F, buf);
    allreduce_publish(r->ar);
    for (int q = 0; q < EARLY_PIECES; q++) {
        if (!armed && pe > pb) {
            const int64_t *other = allreduce_published(r->ar, 1 - r->rank);
            if (other != NULL) {
                shardgrad_sum_prefetch(g, other + r->w1 + (size_t)pb * (size_t)r->H,
                                       (size_t)(pe - pb) * (size_t)r->H * sizeof *other);
                armed = 1;
            }
        }
        shardgrad_sum_rows(g, wb + (we - wb) * q / EARLY_PIECES, wb + (we - wb) * (q + 1) / EARLY_PIECES, buf);
    }
    shardgrad_sum_end(g, buf, r->es);
}

/* Adds what the step's control slots say about nls shards (exponents
 * es, losses) summed with exponent e: non-finite and over-prediction
 * counts, the exponent histogram and the fixed-point losses. */
static void tally_shards(const int *es, const double *loss, int nls, int e, int64_t *extra)
{
    for (int s = 0; s < nls; s++) {
        if (es[s] == INT32_MAX || !isfinite(loss[s])) { extra[SLOT_NONFINITE]++; continue; }
        if (es[s] > e) { extra[SLOT_OVERFLOW]++; continue; }
        {
            int b = e - es[s];
            if (b > HIST_W - 1) b = HIST_W - 1;
            if (es[s] == EXACTSUM_EXP_ZERO) b = HIST_W - 1;
            extra[SLOT_HIST + b]++;
        }
        extra[SLOT_LOSS] += exactsum_fixed(loss[s], LOSS_SCALE);
    }
}

/* After a step summed with exponent e and control slots extra (summed
 * over all shards, no non-finite one): *scale of its fixed-point sum and
 * the prediction of the next step's exponent (the largest shard exponent
 * seen, window of HIST_W, plus PRED_MARGIN). */
static void predict_exponent(reducer *r, int e, const int64_t *extra, int *scale)
{
    int next = e - (HIST_W - 1);
    *scale = exactsum_scale(e, r->headroom);
    for (int b = 0; b < HIST_W - 1; b++)
        if (extra[SLOT_HIST + b] != 0) { next = e - b + PRED_MARGIN; break; }
    /* no float needs an exponent below -149: keep the prediction in
     * [EXACTSUM_PRED_MIN, 129] (a checkpoint is validated against it) */
    r->e_pred = next < EXACTSUM_PRED_MIN ? EXACTSUM_PRED_MIN : next > 129 ? 129 : next;
}

/* Convert the local shard gradients with exponent e and reduce; r->part
 * then holds the sum (in parts).  e is the agreed exact maximum (second
 * round), or the prediction, checked by the fused pass. */
static int reduce_once(MPI_Comm comm, reducer *r, shardgrad *g, const double *loss, int nls,
                       int e, int stop, rg_error *err)
{
    int64_t *buf = allreduce_buf(r->ar), *extra = buf + r->n;
    if (nls == 0) memset(buf, 0, r->n * sizeof *buf);  /* else shardgrad_sum overwrites it */
    memset(extra, 0, (r->len - r->n) * sizeof *buf);
    extra[SLOT_STOP] = stop;
    /* one pass: add with the predicted scale and find each shard's
     * exponent; a shard above the prediction spoils buf[0..n), which is
     * fine: the overflow count makes every rank redo the step */
    if (nls > 0) sum_shards(r, g, e, buf);
    tally_shards(r->es, loss, nls, e, extra);
    {
        double waited = 0.0;
        size_t lo = 0, hi = 0;  /* = the rank's allreduce_slice */
        int rc = allreduce_scatter(r->ar, r->timeout, &r->part, &r->nparts, &lo, &hi, &waited, err);
        rc = stall_check(comm, r, rc, waited, err);
        if (rc == 0) allreduce_peek(r->ar, r->n, r->len - r->n, r->extra);
        return rc;
    }
}

/* Completes the call reduce_once started (r->part is then invalid). */
static int reduce_finish(MPI_Comm comm, reducer *r, rg_error *err)
{
    double waited = 0.0;
    int rc = allreduce_gather(r->ar, r->timeout, &waited, err);
    return stall_check(comm, r, rc, waited, err);
}

/* One step's reduction, left open after its scatter half: on return
 * r->part holds (in parts) the fixed-point sum of the gradients at scale
 * *scale, *loss_sum the summed loss, *nonfinite and *stop the global
 * counts; reduce_finish completes it.  Every output is identical on all
 * ranks and independent of P. */
static int reduce_step(MPI_Comm comm, reducer *r, shardgrad *g, const double *loss, int nls,
                       int stop, int *scale, double *loss_sum, int64_t *nonfinite, int64_t *stop_all,
                       rg_error *err)
{
    int rc, e = r->e_pred == INT_MIN ? EXACTSUM_EXP_ZERO : r->e_pred;
    const int64_t *extra = NULL;
    if ((rc = reduce_once(comm, r, g, loss, nls, e, stop, err)) != 0) return rc;
    extra = r->extra;
    if (extra[SLOT_NONFINITE] == 0 && (extra[SLOT_OVERFLOW] != 0 || r->e_pred == INT_MIN)) {
        /* exact maximum over all shards (the first pass found each
         * shard's exponent), then reduce again */
        int emax = EXACTSUM_EXP_ZERO, eall = 0;
        for (int s = 0; s < nls; s++)
            if (r->es[s] > emax) emax = r->es[s];
        if ((rc = reduce_finish(comm, r, err)) != 0) return rc;
        {
            MPI_Request req = MPI_REQUEST_NULL;
            if ((rc = log_mpi_check(MPI_Iallreduce(&emax, &eall, 1, MPI_INT, MPI_MAX, comm, &req), "MPI_Iallreduce(exponent)", err)) != 0) return rc;
            if ((rc = wait_step(comm, &req, r, err)) != 0) return rc;
        }
        e = eall;
        if ((rc = reduce_once(comm, r, g, loss, nls, e, stop, err)) != 0) return rc;
    }
    *nonfinite = extra[SLOT_NONFINITE];
    *stop_all = extra[SLOT_STOP];
    *loss_sum = exactsum_unfixed(extra[SLOT_LOSS], LOSS_SCALE);
    if (*nonfinite != 0) return 0;
    predict_exponent(r, e, extra, scale);
    return 0;
}

/* ------------------------------------------------------------------ */

/* Per local shard: the current cycle's permutation. */
typedef struct shard_stream {
    int64_t n;        /* rows in the shard */
    int64_t cycle;    /* cycle the permutation belongs to, -1: none */
    uint32_t *perm;
} shard_stream;

/* Frees n streams and the array; NULL is a no-op. */
static void streams_free(shard_stream *st, int n)
{
    if (st != NULL)
        for (int s = 0; s < n; s++) free(st[s].perm);
    free(st);
}

/* One stream per shard of part p (n shards, n >= 0), no permutation
 * drawn yet; NULL when out of memory (nothing left allocated). */
static shard_stream *streams_new(const dataset_part *p, int n)
{
    shard_stream *st = calloc((size_t)(n > 0 ? n : 1), sizeof *st);
    if (st == NULL) return NULL;
    for (int s = 0; s < n; s++) {
        st[s].n = p->shard_off[s + 1] - p->shard_off[s];
        st[s].cycle = -1;
        st[s].perm = malloc((size_t)(st[s].n > 0 ? st[s].n : 1) * sizeof *st[s].perm);
        if (st[s].perm == NULL) { streams_free(st, s); return NULL; }
    }
    return st;
}

static const uint32_t *stream_perm(shard_stream *st, uint64_t seed, int shard, int64_t cycle)
{
    if (st->cycle != cycle) {
        rng_permutation(st->perm, (uint32_t)st->n, seed, RNG_STREAM_SHUFFLE, ((uint64_t)shard << 40) ^ (uint64_t)cycle);
        st->cycle = cycle;
    }
    return st->perm;
}

/* ------------------------------------------------------------------ */
/* the hidden split (docs/design-hidden-split.md)                      */

/* With 2 ranks, rank r owns the hidden units [r H/2, (r+1) H/2) as a
 * model of its own (mlp_block_*): it computes every row of a step for
 * them, sums their gradients over all shards and updates them, so no
 * gradient or parameter crosses between the ranks.  Per step one call of
 * a shared-memory allreduce object carries three small exchanges, each
 * rank's contribution laid out as [lanes | losses, dZ2 | exponents | stop]:
 * rank 0 publishes z2's lane chains over its units and rank 1 continues
 * them (shardgrad.h); rank 1 publishes the shard losses and dZ2; then
 * the scatter half hands both contributions to both ranks, whose shard
 * exponents' maximum is the whole model's, and the stop flags are added.
 * Every value is then the one a single rank computes. */
typedef struct hsplit {
    int V, h0, h1, m;       /* shards; the block [h0, h1); rows per shard */
    mlp_shape shape;        /* the block's model */
    size_t n;               /* its parameters */
    float *params;          /* [n] */
    adam_state *adam;       /* its moments */
    int64_t *acc;           /* [n] the step's fixed-point sums */
    float *lanes;           /* [V m C 16] */
    int *es, *es2;          /* [V] shard exponents */
    double *loss;           /* [V] shard losses */
    shardgrad *g;
    allreduce *x;           /* the exchanges */
    size_t wl, wd;          /* int64 words of the lanes and of losses + dZ2 */
    dataset_part all;       /* every training row */
    shard_stream *st;       /* [V] */
    const float **xb;       /* [V m] the step's rows */
    float *xc;              /* [V m F] short rows copied */
    int32_t *yb;            /* [V m] */
} hsplit;

/* 1 when the hidden split is to be used (the same answer on every rank):
 * 2 ranks in shared memory, H a multiple of 32, and RISKGRID_SPLIT=hidden,
 * or by default (unset or "auto") in row mode with at most 64 MiB of
 * training rows (each rank holds all of them); RISKGRID_SPLIT=rows never. */
static int hsplit_wanted(int nranks, const config *cfg, const dataset *ds, int row_mode, const allreduce *ar)
{
    const char *sp = getenv("RISKGRID_SPLIT");
    if (nranks != 2 || cfg->hidden % 32 != 0 || ds->virtual_shards < 2 || strcmp(allreduce_kind(ar), "shm") != 0)
        return 0;
    if (sp != NULL && strcmp(sp, "hidden") == 0) return 1;
    if (sp != NULL && strcmp(sp, "rows") == 0) return 0;
    return row_mode && (double)ds->n_train * (double)ds->n_features * sizeof(float) <= 64.0 * 1024 * 1024;
}

/* Collective (frees the exchanges' windows). */
static void hsplit_free(hsplit *h)
{
    streams_free(h->st, h->V);
    free(h->params); adam_free(h->adam); free(h->acc); free(h->lanes); free(h->es); free(h->es2); free(h->loss);
    shardgrad_free(h->g);
    allreduce_free(h->x);
    dataset_part_free(&h->all);
    free((void *)h->xb); free(h->xc); free(h->yb);
    memset(h, 0, sizeof *h);
}

/* Collective: rank `rank`'s half of the hidden split, from the whole
 * model's parameters and Adam state (a fresh start or a checkpoint).  On
 * failure (agreed) the caller still calls hsplit_free on every rank. */
static int hsplit_setup(MPI_Comm comm, int rank, hsplit *h, const dataset *ds, const mlp_shape *full, int m,
                        int copy_rows, const float *params, const adam_state *adam, rg_error *err)
{
    int rc = 0;
    const int V = ds->virtual_shards, F = full->n_in, C = full->n_out, Hb = full->n_hidden / 2;
    const size_t R = (size_t)V * (size_t)m;
    memset(h, 0, sizeof *h);
    h->V = V;
    h->m = m;
    h->h0 = rank * Hb;
    h->h1 = h->h0 + Hb;
    h->shape = *full;
    h->shape.n_hidden = Hb;
    h->n = mlp_layout_of(&h->shape).n;
    h->wl = R * (size_t)C * 16 / 2;
    h->wd = (size_t)V + (R * (size_t)C + 1) / 2;
    if ((rc = dataset_train_all(comm, ds, &h->all, err)) != 0) return rc;
    h->params = mem_alloc64(h->n, sizeof *h->params, 0);
    h->adam = adam_new(h->n);
    h->acc = mem_alloc64(h->n, sizeof *h->acc, 0);
    h->lanes = mem_alloc64(R * (size_t)C * 16, sizeof *h->lanes, 0);
    h->es = calloc((size_t)V, sizeof *h->es);
    h->es2 = calloc((size_t)V, sizeof *h->es2);
    h->loss = calloc((size_t)V, sizeof *h->loss);
    h->g = shardgrad_new(&h->shape, V, m);
    h->xb = malloc(R * sizeof *h->xb);
    if (copy_rows) h->xc = mem_alloc64(R * (size_t)F, sizeof *h->xc, 0);
    h->yb = malloc(R * sizeof *h->yb);
    h->st = streams_new(&h->all, V);
    if (!h->params || !h->adam || !h->acc || !h->lanes || !h->es || !h->es2 || !h->loss || !h->g || !h->st ||
        !h->xb || (copy_rows && !h->xc) || !h->yb) {
        error_set(err, ERR_NOMEM, "out of memory setting up the hidden split");
        goto agree;
    }
    mlp_block_get(full, h->h0, h->h1, params, h->params);
    mlp_block_get(full, h->h0, h->h1, adam->m, h->adam->m);
    mlp_block_get(full, h->h0, h->h1, adam->v, h->adam->v);
    h->adam->t = adam->t;
agree:
    if ((rc = log_agree(comm, err)) != 0) return rc;
    return allreduce_new(comm, h->wl + h->wd + (size_t)V + 1, &h->x, err);
}

/* Collective: the whole model's parameters, Adam moments and step count
 * from both ranks' blocks (b2 is the same in both). */
static int hsplit_gather(MPI_Comm comm, const hsplit *h, const mlp_shape *full, float *params, adam_state *adam,
                         rg_error *err)
{
    int rc = 0;
    const int Hb = h->h1 - h->h0;
    float *both = malloc(2 * h->n * sizeof *both);
    if (both == NULL) error_set(err, ERR_NOMEM, "out of memory gathering the hidden split's blocks");
    if ((rc = log_agree(comm, err)) != 0) goto done;
    for (int k = 0; k < 3; k++) {
        const float *mine = k == 0 ? h->params : k == 1 ? h->adam->m : h->adam->v;
        float *dst = k == 0 ? params : k == 1 ? adam->m : adam->v;
        if ((rc = log_mpi_check(MPI_Allgather(mine, (int)h->n, MPI_FLOAT, both, (int)h->n, MPI_FLOAT, comm),
                                "MPI_Allgather(hidden blocks)", err)) != 0)
            goto done;
        for (int r = 0; r < 2; r++) mlp_block_put(full, r * Hb, (r + 1) * Hb, both + (size_t)r * h->n, dst);
    }
    adam->t = h->adam->t;
done:
    free(both);
    return rc;
}

/* reduce_step for the hidden split, on the rows in h->xb / h->yb: on
 * return h->acc holds this block's fixed-point gradient sums over all
 * shards at scale *scale, and the other outputs are reduce_step's, the
 * same on both ranks and the same as on one rank. */
static int hsplit_step(MPI_Comm comm, int rank, hsplit *h, reducer *r, int stop, int *scale, double *loss_sum,
                       int64_t *nonfinite, int64_t *stop_all, rg_error *err)
{
    const int V = h->V, F = h->shape.n_in;
    const size_t R = (size_t)V * (size_t)h->m, nl = R * (size_t)h->shape.n_out * 16, nd = R * (size_t)h->shape.n_out;
    const size_t ox = h->wl + h->wd;  /* the exponents, then the stop flag */
    const int64_t *other = NULL, *const *part = NULL;
    int64_t *buf = allreduce_buf(h->x), extra[SLOT_HIST + HIST_W];
    int rc = 0, np = 0, e = r->e_pred == INT_MIN ? EXACTSUM_EXP_ZERO : r->e_pred;
    double waited = 0.0;
    size_t lo = 0, hi = 0;

    shardgrad_forward_rows(h->g, h->params, h->xb, V);
    if (rank == 0) {
        /* z2's lane chains over rank 0's units, to rank 1 */
        memset(h->lanes, 0, nl * sizeof *h->lanes);
        shardgrad_z2_lanes(h->g, h->lanes);
        memcpy(buf, h->lanes, nl * sizeof *h->lanes);
        allreduce_publish(h->x);
        rc = allreduce_wait_published(h->x, 1, r->timeout, &other, &waited, err);
        if ((rc = stall_check(comm, r, rc, waited, err)) != 0) return rc;
        memcpy(h->loss, other + h->wl, (size_t)V * sizeof *h->loss);
        memcpy(shardgrad_dz2(h->g), other + h->wl + V, nd * sizeof(float));
    } else {
        /* rank 1 finishes them: z2, the output, the losses and dZ2, to rank 0 */
        rc = allreduce_wait_published(h->x, 0, r->timeout, &other, &waited, err);
        if ((rc = stall_check(comm, r, rc, waited, err)) != 0) return rc;
        memcpy(h->lanes, other, nl * sizeof *h->lanes);
        shardgrad_z2_lanes(h->g, h->lanes);
        shardgrad_output(h->g, h->params, h->lanes, h->yb, h->loss);
        memcpy(buf + h->wl, h->loss, (size_t)V * sizeof *h->loss);
        memcpy(buf + h->wl + V, shardgrad_dz2(h->g), nd * sizeof(float));
        allreduce_publish(h->x);
    }
    shardgrad_backward(h->g);
    shardgrad_sum(h->g, 0, F, e, r->headroom, h->acc, h->es);
    /* the shard exponents: the whole model's is the larger of the two */
    for (int s = 0; s < V; s++) buf[ox + (size_t)s] = h->es[s];
    buf[ox + (size_t)V] = stop;
    rc = allreduce_scatter(h->x, r->timeout, &part, &np, &lo, &hi, &waited, err);
    if ((rc = stall_check(comm, r, rc, waited, err)) != 0) return rc;
    for (int s = 0; s < V; s++)
        h->es[s] = (int)(part[0][ox + (size_t)s] > part[1][ox + (size_t)s] ? part[0][ox + (size_t)s] : part[1][ox + (size_t)s]);
    *stop_all = part[0][ox + (size_t)V] + part[1][ox + (size_t)V];
    rc = allreduce_gather(h->x, r->timeout, &waited, err);
    if ((rc = stall_check(comm, r, rc, waited, err)) != 0) return rc;
    memset(extra, 0, sizeof extra);
    tally_shards(h->es, h->loss, V, e, extra);
    if (extra[SLOT_NONFINITE] == 0 && (extra[SLOT_OVERFLOW] != 0 || r->e_pred == INT_MIN)) {
        /* as reduce_step's second round (whose tally also counts the
         * losses of the shards that overflowed), with every shard's exact
         * exponent already known on both ranks: no exchange */
        int emax = EXACTSUM_EXP_ZERO;
        for (int s = 0; s < V; s++)
            if (h->es[s] > emax) emax = h->es[s];
        e = emax;
        memset(extra, 0, sizeof extra);
        tally_shards(h->es, h->loss, V, e, extra);
        shardgrad_sum(h->g, 0, F, e, r->headroom, h->acc, h->es2);
    }
    *nonfinite = extra[SLOT_NONFINITE];
    *loss_sum = exactsum_unfixed(extra[SLOT_LOSS], LOSS_SCALE);
    if (*nonfinite != 0) return 0;
    predict_exponent(r, e, extra, scale);
    return 0;
}

static void fmt_duration(char *b, size_t n, double s)
{
    if (s < 60) snprintf(b, n, "%.1fs", s);
    else if (s < 3600) snprintf(b, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(b, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

/* ------------------------------------------------------------------ */
/* signals and checkpoints                                             */

static volatile sig_atomic_t g_stop_signal = 0;

static void on_stop_signal(int sig)
{
    g_stop_signal = sig;
}

int train_install_signals(rg_error *err)
{
    const int sigs[3] = {SIGTERM, SIGUSR1, SIGINT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 3; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return error_set(err, ERR_INTERNAL, "sigaction(%d) failed", sigs[i]);
    return 0;
}

static const char *signal_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : sig == SIGINT ? "SIGINT" : "a signal";
}

/* Broadcast one malloc'd array of n elements of size esz from root. */
static int bcast_array(MPI_Comm comm, int root, int rank, void **p, size_t n, size_t esz, rg_error *err)
{
    if (rank != root) {
        *p = malloc((n > 0 ? n : 1) * esz);
        if (*p == NULL) error_set(err, ERR_NOMEM, "out of memory");
    }
    if (log_agree(comm, err) != 0) return err->code;
    if (n == 0) return 0;
    return log_mpi_check(MPI_Bcast(*p, (int)(n * esz), MPI_BYTE, root, comm), "MPI_Bcast(checkpoint)", err);
}

int train_checkpoint_bcast(MPI_Comm comm, int root, h5io_checkpoint *c, rg_error *err)
{
    int rc = 0, rank = 0;
    int64_t hdr[6];
    double dh[3];
    size_t lc = 0, lf = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank == root) {
        lc = strlen(c->canonical) + 1;
        lf = strlen(c->fingerprint) + 1;
        hdr[0] = c->world_size; hdr[1] = c->step; hdr[2] = c->epochs_done; hdr[3] = c->e_pred;
        hdr[4] = c->adam_t; hdr[5] = (int64_t)c->n_params;
        dh[0] = c->loss_partial; dh[1] = c->train_s; dh[2] = c->eval_s;
    }
    {
        int64_t lens[2] = {(int64_t)lc, (int64_t)lf};
        if ((rc = log_mpi_check(MPI_Bcast(hdr, 6, MPI_INT64_T, root, comm), "MPI_Bcast(checkpoint)", err)) != 0) return rc;
        if ((rc = log_mpi_check(MPI_Bcast(dh, 3, MPI_DOUBLE, root, comm), "MPI_Bcast(checkpoint)", err)) != 0) return rc;
        if ((rc = log_mpi_check(MPI_Bcast(lens, 2, MPI_INT64_T, root, comm), "MPI_Bcast(checkpoint)", err)) != 0) return rc;
        lc = (size_t)lens[0];
        lf = (size_t)lens[1];
    }
    if (rank != root) {
        memset(c, 0, sizeof *c);
        c->world_size = (int)hdr[0]; c->step = hdr[1]; c->epochs_done = (int)hdr[2]; c->e_pred = (int)hdr[3];
        c->adam_t = hdr[4]; c->n_params = (size_t)hdr[5];
        c->loss_partial = dh[0]; c->train_s = dh[1]; c->eval_s = dh[2];
    }
    if ((rc = bcast_array(comm, root, rank, (void **)&c->canonical, lc, 1, err)) != 0) return rc;
    if ((rc = bcast_array(comm, root, rank, (void **)&c->fingerprint, lf, 1, err)) != 0) return rc;
    if ((rc = bcast_array(comm, root, rank, (void **)&c->params, c->n_params, sizeof(float), err)) != 0) return rc;
    if ((rc = bcast_array(comm, root, rank, (void **)&c->m, c->n_params, sizeof(float), err)) != 0) return rc;
    if ((rc = bcast_array(comm, root, rank, (void **)&c->v, c->n_params, sizeof(float), err)) != 0) return rc;
    {
        double **h[6] = {&c->loss, &c->test_auc, &c->auc_lo, &c->auc_hi, &c->wall_s, &c->samples_per_s};
        for (int i = 0; i < 6; i++)
            if ((rc = bcast_array(comm, root, rank, (void **)h[i], (size_t)c->epochs_done, sizeof(double), err)) != 0) return rc;
    }
    return 0;
}

/* The parameters [*lo, *hi) of rank r's slice of the reduced vector (its
 * share of a split optimiser step; all of them unless the sum is split). */
static void param_slice(const reducer *red, int r, size_t *lo, size_t *hi)
{
    allreduce_slice(red->ar, r, lo, hi);
    *lo = *lo < red->n ? *lo : red->n;
    *hi = *hi < red->n ? *hi : red->n;
}

/* When the optimiser step is split over ranks (allreduce_share), each
 * rank's moments are current only in its slice: collect them everywhere
 * (collective; the parameters are exchanged every step already). */
static int gather_moments(MPI_Comm comm, int nranks, const reducer *red, adam_state *adam, rg_error *err)
{
    int rc = 0;
    int *cnt = NULL, *dsp = NULL;
    if (allreduce_share(red->ar) == NULL || red->hidden) return 0;
    cnt = malloc((size_t)nranks * sizeof *cnt);
    dsp = malloc((size_t)nranks * sizeof *dsp);
    if (cnt == NULL || dsp == NULL) { error_set(err, ERR_NOMEM, "out of memory"); goto agree; }
    if (red->n > (size_t)INT_MAX) { error_set(err, ERR_INTERNAL, "%zu parameters: too many for one MPI call", red->n); goto agree; }
    for (int r = 0; r < nranks; r++) {
        size_t lo = 0, hi = 0;
        param_slice(red, r, &lo, &hi);
        dsp[r] = (int)lo;
        cnt[r] = (int)(hi - lo);
    }
agree:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, adam->m, cnt, dsp, MPI_FLOAT, comm),
                            "MPI_Allgatherv(moments)", err)) != 0)
        goto done;
    rc = log_mpi_check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, adam->v, cnt, dsp, MPI_FLOAT, comm),
                       "MPI_Allgatherv(moments)", err);
done:
    free(cnt);
    free(dsp);
    return rc;
}

/* Rank 0 writes the state after `step` steps (epochs_done epochs
 * evaluated); every rank agrees on the outcome. */
static int write_checkpoint(MPI_Comm comm, int rank, int nranks, const train_options *opt, const dataset *ds,
                            const train_result *res, adam_state *adam, const reducer *red,
                            int64_t step, int epochs_done, double loss_partial, rg_error *err)
{
    int rc = gather_moments(comm, nranks, red, adam, err);
    if (rc != 0) return rc;
    if (rank == 0) {
        h5io_checkpoint c;
        memset(&c, 0, sizeof c);
        c.canonical = (char *)opt->canonical;
        c.fingerprint = (char *)ds->fingerprint;
        c.world_size = nranks;
        c.step = step;
        c.epochs_done = epochs_done;
        c.e_pred = red->e_pred;
        c.loss_partial = loss_partial;
        c.train_s = res->train_s;
        c.eval_s = res->eval_s;
        c.adam_t = adam->t;
        c.n_params = adam->n;
        c.params = res->params;
        c.m = adam->m;
        c.v = adam->v;
        c.loss = res->loss; c.test_auc = res->test_auc; c.auc_lo = res->auc_lo; c.auc_hi = res->auc_hi;
        c.wall_s = res->wall_s; c.samples_per_s = res->samples_per_s;
        h5io_write_checkpoint(opt->checkpoint_path, &c, err);
    }
    return log_agree(comm, err);
}

int train_run(MPI_Comm comm, const config *cfg, const dataset *ds, const train_options *opt,
              train_result **out, rg_error *err)
{
    int rc = 0, rank = 0, nranks = 1;
    int V = ds->virtual_shards, B = cfg->batch_size, m = B / V, F = ds->n_features;
    int nls = ds->n_local_shards;
    train_result *res = NULL;
    mlp_layout lay = {0, 0, 0, 0, 0};
    mlp_work *we = NULL;
    adam_state *adam = NULL;
    adam_params hp = {cfg->learning_rate, cfg->beta1, cfg->beta2, cfg->epsilon};
    shardgrad *g = NULL;
    float *gmean = NULL;
    const float **xb = NULL;   /* the step's rows, by pointer */
    float *xc = NULL;          /* short rows: the step's copy they point into */
    /* Rows of up to 256 bytes are copied together, longer ones read in
     * place.  A short random row costs a cache miss or two that the
     * copy's independent loads overlap (HIGGS, 112-byte rows of a 112 MB
     * set: 15% faster copied); a long row streams well by itself and a
     * copy is one more pass (MNIST, 3 KB rows: 5% faster in place).  The
     * kernels see the same values either way. */
    const int copy_rows = (size_t)F * sizeof(float) <= 256;
    int32_t *yb = NULL;
    double *loss = NULL;
    shard_stream *st = NULL;
    reducer red;
    hsplit hs;                 /* the hidden split, when red.hidden */
    int64_t spe = 1, test_stop_at = 0;
    double t_start = now_s();

    memset(&red, 0, sizeof red);
    memset(&hs, 0, sizeof hs);
    *out = NULL;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    res = calloc(1, sizeof *res);
    if (res == NULL) { error_set(err, ERR_NOMEM, "out of memory"); goto agree; }
    res->shape.n_in = F;
    res->shape.n_hidden = cfg->hidden;
    res->shape.softmax = cfg->output == CONFIG_OUTPUT_SOFTMAX || (cfg->output == CONFIG_OUTPUT_AUTO && ds->n_classes > 2);
    res->shape.n_out = res->shape.softmax ? ds->n_classes : 1;
    res->n_classes = ds->n_classes;
    res->n_epochs = cfg->epochs;
    lay = mlp_layout_of(&res->shape);
    res->params = mem_alloc64(lay.n, sizeof *res->params, 0);
    res->loss = calloc((size_t)cfg->epochs, sizeof(double));
    res->test_auc = calloc((size_t)cfg->epochs, sizeof(double));
    res->auc_lo = calloc((size_t)cfg->epochs, sizeof(double));
    res->auc_hi = calloc((size_t)cfg->epochs, sizeof(double));
    res->wall_s = calloc((size_t)cfg->epochs, sizeof(double));
    res->samples_per_s = calloc((size_t)cfg->epochs, sizeof(double));
    if (res->shape.softmax) res->class_eval = calloc((size_t)ds->n_classes, sizeof *res->class_eval);
    we = mlp_work_new(&res->shape, EVAL_BLOCK);
    adam = adam_new(lay.n);
    g = shardgrad_new(&res->shape, nls > 0 ? nls : 1, m > 0 ? m : 1);
    red.es = calloc((size_t)(nls > 0 ? nls : 1), sizeof *red.es);
    red.extra = calloc(SLOT_HIST + HIST_W, sizeof *red.extra);
    loss = calloc((size_t)(nls > 0 ? nls : 1), sizeof *loss);
    st = streams_new(&ds->train, nls);
    gmean = mem_alloc64(lay.n, sizeof *gmean, 0);
    xb = malloc((size_t)(nls > 0 ? nls : 1) * (size_t)m * sizeof *xb);
    if (copy_rows) xc = mem_alloc64((size_t)(nls > 0 ? nls : 1) * (size_t)m * (size_t)F, sizeof *xc, 0);
    yb = malloc((size_t)(nls > 0 ? nls : 1) * (size_t)m * sizeof *yb);
    red.n = lay.n;
    red.len = lay.n + SLOT_HIST + HIST_W;
    red.e_pred = INT_MIN;
    red.F = F;
    red.H = res->shape.n_hidden;
    red.w1 = lay.w1;
    red.rank = rank;
    /* every element of the sum has at most V x addends terms (row mode:
     * B rows for the W1 block), each below 2^(51 - headroom) */
    while (g != NULL && ((int64_t)1 << red.headroom) < (int64_t)V * shardgrad_addends(g)) red.headroom++;
    if (!res->params || !res->loss || !res->test_auc || !res->auc_lo || !res->auc_hi || !res->wall_s ||
        !res->samples_per_s || (res->shape.softmax && !res->class_eval) || !we || !adam || !g || !loss ||
        !st || !gmean || !xb || (copy_rows && !xc) || !yb || !red.es || !red.extra) {
        error_set(err, ERR_NOMEM, "out of memory setting up training");
        goto agree;
    }
    mlp_init(&res->shape, cfg->seed, res->params);
    spe = ds->n_train / B;
    if (spe < 1) spe = 1;
    if (opt->resume != NULL) {
        const h5io_checkpoint *c = opt->resume;
        /* the caller checked job settings and data fingerprint; the shape
         * follows from them, so a mismatch here is a corrupt checkpoint */
        if (c->n_params != lay.n || c->epochs_done > cfg->epochs || c->step > (int64_t)cfg->epochs * spe ||
            c->step < (int64_t)c->epochs_done * spe || c->adam_t != c->step || c->step < 1 ||
            c->e_pred < EXACTSUM_PRED_MIN || c->e_pred > 129) {
            error_set(err, ERR_INPUT, "checkpoint '%s' does not fit this job or is inconsistent (%zu parameters, step %lld, %d epochs done, exponent %d; the job has %zu parameters, %lld steps per epoch)",
                      opt->checkpoint_path, c->n_params, (long long)c->step, c->epochs_done, c->e_pred, lay.n, (long long)spe);
            goto agree;
        }
        memcpy(res->params, c->params, lay.n * sizeof *res->params);
        memcpy(adam->m, c->m, lay.n * sizeof *adam->m);
        memcpy(adam->v, c->v, lay.n * sizeof *adam->v);
        adam->t = c->adam_t;
        red.e_pred = c->e_pred;
        res->steps = c->step;
        res->train_s = c->train_s;
        res->eval_s = c->eval_s;
        for (int e = 0; e < c->epochs_done; e++) {
            res->loss[e] = c->loss[e]; res->test_auc[e] = c->test_auc[e];
            res->auc_lo[e] = c->auc_lo[e]; res->auc_hi[e] = c->auc_hi[e];
            res->wall_s[e] = c->wall_s[e]; res->samples_per_s[e] = c->samples_per_s[e];
        }
    }
agree:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    if ((rc = allreduce_new(comm, red.len, &red.ar, err)) != 0) goto done;
    red.timeout = cfg->stall_timeout;
    if (allreduce_share(red.ar) != NULL && nranks == 2 && nls > 0) {
        /* RISKGRID_EARLY_PULL=0|1 turns the ordered sum off or on
         * regardless of size (tests, A/B timing) */
        const char *ep = getenv("RISKGRID_EARLY_PULL");
        int rb = 0, re = 0, in_b = 0, in_e = 0;
        slice_rows(&red, rank, &rb, &re, &in_b, &in_e);
        red.early = in_e > in_b && (size_t)(in_e - in_b) * (size_t)red.H * sizeof(int64_t) >= EARLY_MIN_BYTES;
        if (ep != NULL && (ep[0] == '0' || ep[0] == '1') && ep[1] == '\0') red.early = ep[0] == '1';
    }
    red.hidden = hsplit_wanted(nranks, cfg, ds, shardgrad_row_mode(g), red.ar);
    if (red.hidden && (rc = hsplit_setup(comm, rank, &hs, ds, &res->shape, m, copy_rows, res->params, adam, err)) != 0)
        goto done;
    {
        const char *ts = getenv("RISKGRID_TEST_STOP_AT_STEP");
        test_stop_at = ts != NULL ? strtoll(ts, NULL, 10) : 0;
    }
    log_info("training: %lld rows (%lld test), %d features -> %d hidden -> %d %s; %d epochs x %lld steps of %d rows; %d rank%s, %d virtual shards; %s kernels, %s reduction",
             (long long)ds->n_train, (long long)ds->n_test, F, cfg->hidden, res->shape.n_out,
             res->shape.softmax ? "softmax" : "sigmoid", cfg->epochs, (long long)spe, B, nranks, nranks == 1 ? "" : "s", V, shardgrad_variant_name(shardgrad_variant()), allreduce_kind(red.ar));
    if (red.hidden)
        log_info("the 2 ranks split the %d hidden units, each computing every row (RISKGRID_SPLIT=rows splits the rows instead)",
                 res->shape.n_hidden);
    if (opt->resume != NULL)
        log_info("resuming from %s: epoch %d, step %lld of %lld (written by %d rank%s)", opt->checkpoint_path,
                 opt->resume->epochs_done + 1, (long long)(opt->resume->step - (int64_t)opt->resume->epochs_done * spe) + 1,
                 (long long)spe, opt->resume->world_size, opt->resume->world_size == 1 ? "" : "s");
    /* the shards this rank walks: its own, or every one in the hidden split */
    const int nsh = red.hidden ? V : nls, sh0 = red.hidden ? 0 : ds->first_shard;
    shard_stream *sst = red.hidden ? hs.st : st;
    const dataset_part *tp = red.hidden ? &hs.all : &ds->train;
    const float **xbv = red.hidden ? hs.xb : xb;
    float *xcv = red.hidden ? hs.xc : xc;
    int32_t *ybv = red.hidden ? hs.yb : yb;
    for (int ep = opt->resume ? opt->resume->epochs_done : 0; ep < cfg->epochs; ep++) {
        double t0 = now_s(), loss_epoch = 0.0, t_train, t1;
        int64_t k0 = 0;
        if (opt->resume != NULL && ep == opt->resume->epochs_done) {
            k0 = opt->resume->step - (int64_t)ep * spe;
            loss_epoch = opt->resume->loss_partial;
        }
        red.epoch = ep;
        for (int64_t k = k0; k < spe; k++) {
            int64_t step = (int64_t)ep * spe + k, nonfinite = 0, stop_all = 0;
            int scale = 0;
            double lsum = 0.0;
            red.step = step;
            /* test hook: a SIGUSR1 "arrives" on the last rank only, just
             * before global step RISKGRID_TEST_STOP_AT_STEP (1-based) */
            if (test_stop_at > 0 && step + 1 == test_stop_at && rank == nranks - 1) g_stop_signal = SIGUSR1;
            for (int s = 0; s < nsh; s++) {
                /* micro-batch row j of this step is position p = step*m + j
                 * of the shard's stream: permutation p / n, entry p % n */
                const int64_t off = tp->shard_off[s], n = sst[s].n, p0 = step * m;
                int64_t cyc = p0 / n, pos = p0 - cyc * n;
                const uint32_t *perm = stream_perm(&sst[s], cfg->seed, sh0 + s, cyc);
                for (int j = 0; j < m; j++, pos++) {
                    if (pos == n) {
                        pos = 0;
                        perm = stream_perm(&sst[s], cfg->seed, sh0 + s, ++cyc);
                    }
                    {
                        const int64_t row = off + perm[pos];
                        const size_t at = (size_t)s * (size_t)m + (size_t)j;
                        const float *src = tp->x + (size_t)row * (size_t)F;
                        if (copy_rows) {
                            float *dst = xcv + at * (size_t)F;
                            memcpy(dst, src, (size_t)F * sizeof *dst);
                            src = dst;
                        }
                        xbv[at] = src;
                        ybv[at] = tp->y[row];
                    }
                }
            }
            if (red.hidden) {
                if ((rc = hsplit_step(comm, rank, &hs, &red, g_stop_signal != 0, &scale, &lsum, &nonfinite, &stop_all, err)) != 0)
                    goto done;
            } else {
                if (nls > 0) shardgrad_forward_backward_rows(g, res->params, xb, yb, nls, loss);
                if ((rc = reduce_step(comm, &red, g, loss, nls, g_stop_signal != 0, &scale, &lsum, &nonfinite, &stop_all, err)) != 0) goto done;
            }
            if (nonfinite != 0) {
                rc = error_set(err, ERR_NUMERIC, "training diverged: the loss or gradient is not finite at epoch %d, step %lld (global step %lld); lower [train] learning_rate (now %g)",
                               ep + 1, (long long)k + 1, (long long)step + 1, cfg->learning_rate);
                goto done;
            }
            loss_epoch += lsum;
            if (red.hidden) {
                /* this rank's block: its sums are whole (every shard) */
                if (-scale >= DBL_MIN_EXP - 1 && -scale <= DBL_MAX_EXP - 1) {
                    adam_step_fixed_range(hs.adam, &hp, hs.params, hs.acc, ldexp(1.0, -scale), 1.0 / (double)B, 0, hs.n);
                } else {
                    exactsum_to_float(hs.acc, hs.n, scale, 1.0 / (double)B, gmean);
                    adam_step_range(hs.adam, &hp, hs.params, gmean, 0, hs.n);
                }
            } else {
                /* the optimiser step on this rank's slice of the sum
                 * (all of it unless the sum is in shared memory; the
                 * parts are added inside the update), then the
                 * parameters of the other slices from the share area;
                 * the mean gradient is sum * 2^-scale / B */
                size_t lo = 0, hi = 0;
                float *share = allreduce_share(red.ar);
                param_slice(&red, rank, &lo, &hi);
                if (-scale >= DBL_MIN_EXP - 1 && -scale <= DBL_MAX_EXP - 1) {
                    adam_step_fixed_parts(adam, &hp, res->params, red.part, red.nparts, ldexp(1.0, -scale), 1.0 / (double)B, lo, hi);
                } else {
                    int64_t q[256];
                    for (size_t b = lo; b < hi; b += 256) {
                        const size_t nb = hi - b < 256 ? hi - b : 256;
                        allreduce_peek(red.ar, b, nb, q);
                        exactsum_to_float(q, nb, scale, 1.0 / (double)B, gmean + b);
                    }
                    adam_step_range(adam, &hp, res->params, gmean, lo, hi);
                }
                if (share != NULL) memcpy(share + lo, res->params + lo, (hi - lo) * sizeof *share);
                if ((rc = reduce_finish(comm, &red, err)) != 0) goto done;
                if (share != NULL) {
                    memcpy(res->params, share, lo * sizeof *share);
                    memcpy(res->params + hi, share + hi, (lay.n - hi) * sizeof *share);
                }
            }
            res->steps++;
            if (stop_all != 0) {
                /* every rank saw the same count in the same step: all stop here */
                res->train_s += now_s() - t0;
                if (red.hidden && (rc = hsplit_gather(comm, &hs, &res->shape, res->params, adam, err)) != 0) goto done;
                if ((rc = write_checkpoint(comm, rank, nranks, opt, ds, res, adam, &red, step + 1, ep, loss_epoch, err)) != 0) goto done;
                rc = error_set(err, ERR_PREEMPTED, "stopped by %s at epoch %d, step %lld of %lld; checkpoint written to %s; run the same command with --resume to continue",
                               g_stop_signal ? signal_name(g_stop_signal) : "a signal on another rank", ep + 1, (long long)k + 1,
                               (long long)spe, opt->checkpoint_path);
                goto done;
            }
        }
        /* the whole model for the evaluation and the checkpoint */
        if (red.hidden && (rc = hsplit_gather(comm, &hs, &res->shape, res->params, adam, err)) != 0) goto done;
        t_train = now_s() - t0;
        res->train_s += t_train;
        {
            /* a last step that overflowed the parameters would otherwise
             * surface as "NaN score" in the evaluation */
            int finite = 1;
            for (size_t i = 0; i < lay.n && finite; i++) finite = isfinite(res->params[i]);
            if (!finite) {
                rc = error_set(err, ERR_NUMERIC, "training diverged: the parameters are not finite at the end of epoch %d (global step %lld); lower [train] learning_rate (now %g)",
                               ep + 1, (long long)res->steps, cfg->learning_rate);
                goto done;
            }
        }
        t1 = now_s();
        {
            auc_result a;
            memset(&a, 0, sizeof a);
            if ((rc = evaluate(comm, rank, nranks, ds, &res->shape, res->params, we, ep == cfg->epochs - 1, res, &a,
                               res->class_eval, err)) != 0) goto done;
            res->test_auc[ep] = a.auc;
            res->auc_lo[ep] = a.lo;
            res->auc_hi[ep] = a.hi;
            if (ep == cfg->epochs - 1) res->eval = a;
        }
        res->eval_s += now_s() - t1;
        res->loss[ep] = loss_epoch / ((double)spe * (double)B);
        res->wall_s[ep] = now_s() - t0;
        res->samples_per_s[ep] = (double)spe * (double)B / (t_train > 0 ? t_train : 1e-9);
        {
            char el[32], eta[32];
            double elapsed = now_s() - t_start;
            fmt_duration(el, sizeof el, elapsed);
            int first_ep = opt->resume ? opt->resume->epochs_done : 0;
            fmt_duration(eta, sizeof eta, elapsed / (ep + 1 - first_ep) * (cfg->epochs - ep - 1));
            log_info("epoch %*d/%d  loss %.5f  test AUC %.4f [%.4f, %.4f]  %.0f samples/s  elapsed %s  ETA %s",
                     (int)(log10(cfg->epochs) + 1), ep + 1, cfg->epochs, res->loss[ep], res->test_auc[ep],
                     res->auc_lo[ep], res->auc_hi[ep], res->samples_per_s[ep], el, eta);
        }
        if (opt->checkpoint_every > 0 && (ep + 1) % opt->checkpoint_every == 0 && ep + 1 < cfg->epochs) {
            double tc = now_s();
            if ((rc = write_checkpoint(comm, rank, nranks, opt, ds, res, adam, &red, (int64_t)(ep + 1) * spe, ep + 1, 0.0, err)) != 0) goto done;
            if (ep == 0) log_info("checkpoint %s written in %.3fs", opt->checkpoint_path, now_s() - tc);
        }
    }
    *out = res;
    res = NULL;
done:
    train_result_free(res);
    mlp_work_free(we);
    adam_free(adam);
    shardgrad_free(g);
    free(red.es);
    free(red.extra);
    streams_free(st, nls);
    free(loss); free(gmean); free((void *)xb); free(xc); free(yb);
    hsplit_free(&hs);
    allreduce_free(red.ar);
    return rc;
}
