/** \file allreduce.c
 *  The step's int64 sum over ranks: shared memory on one node, MPI
 *  otherwise (see allreduce.h).
 *
 *  Shared-memory protocol, P ranks, call k uses parity p = k mod 2:
 *    1. rank r has written its contribution C_r (its own window part);
 *    2. barrier A; every C_q is readable (the parts);
 *    3. rank r uses them: allreduce_sum sums slice r of all C_q into the
 *       shared result R[p], the training step adds them inside its
 *       optimiser update of slice r;
 *    4. barrier B; for allreduce_sum R[p] is the sum.
 *  allreduce_scatter is steps 1-2, allreduce_gather step 4.  The float
 *  share area (rank 0's part) is written by each rank at its slice
 *  between barriers A and B of a call and read after B; it is next
 *  written after barrier A of the next call, which every rank reaches
 *  only after its reads.
 *  One contribution buffer per rank is enough: C_r is next written after
 *  rank r returned from call k, i.e. after barrier B, which every rank
 *  reaches only after its reads of the parts in step 3.  (A second one
 *  would only double the memory the step streams through: for MNIST-sized
 *  models 814 KB more per rank, pushing the buffer out of L2 between two
 *  uses.)  The results need two parities: R[p] is next written in step 3
 *  of call k+2, after barrier A of call k+2, which every rank reaches only
 *  after it is done with the sum of call k (the contract: a sum is valid
 *  until the next-but-one call).
 *
 *  The barrier is a dissemination barrier (Hensgen, Finkel and Manber
 *  1988): in round k = 0..ceil(log2 P)-1 rank r raises its round-k flag to
 *  the barrier's episode number (release) and waits until the flag of rank
 *  r - 2^k mod P has reached it (acquire); after the last round every rank
 *  has heard, directly or through others, from every rank.  Each flag is
 *  a C11 atomic on its own cache line in its owner's part of the window
 *  (lock-free 64-bit atomics are address-free, so they work across
 *  processes), written only by its owner; episode numbers only grow, so
 *  no flag is ever reset.  A barrier costs one cache-line hand-over per
 *  round (two ranks: one each way, in parallel), where the central
 *  counter it replaces took three in a row.  Waiting spins briefly, then
 *  yields the CPU (ranks may outnumber cores), then sleeps, and counts
 *  its own waiting time for the timeout.
 */
#include "riskgrid/allreduce.h"

#include <sched.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "riskgrid/exactsum.h"
#include "riskgrid/log.h"
#include "riskgrid/mem.h"

enum { AR_NONE = 0, AR_SHM = 1, AR_MPI = 2 };

struct allreduce {
    MPI_Comm comm;
    int rank, size, kind, parity;
    size_t len, chunk;
    int64_t *priv;              /* AR_NONE, AR_MPI: the buffer */
    MPI_Win win;
    int have_win;
    const int64_t **parts;      /* AR_SHM: [rank] = C_rank in the window; else {priv} */
    int64_t *result[2];         /* AR_SHM: shared sums */
    float *share;               /* AR_SHM: shared float area [len] */
    _Atomic uint64_t **flag;    /* AR_SHM: [r * rounds + k], rank r's round-k line */
    _Atomic uint64_t **pub;     /* AR_SHM: [r], the last call rank r published */
    int rounds;                 /* ceil(log2 P) */
    uint64_t episode;           /* barriers this rank has entered */
};

const char *allreduce_kind(const allreduce *a)
{
    return a->kind == AR_SHM ? "shm" : a->kind == AR_MPI ? "mpi" : "none";
}

int64_t *allreduce_buf(allreduce *a)
{
    return a->kind == AR_SHM ? (int64_t *)(uintptr_t)a->parts[a->rank] : a->priv;
}

void allreduce_free(allreduce *a)
{
    if (a == NULL) return;
    if (a->have_win) MPI_Win_free(&a->win);
    free(a->parts);
    free((void *)a->flag);
    free((void *)a->pub);
    free(a->priv);
    free(a);
}

/* p rounded up to a 64-byte boundary.  Each process maps the shared
 * segment at a page boundary, so a part's offset modulo 64 is the same in
 * every process and so is the rounded location. */
static char *ar_align64(char *p)
{
    return p + ((64 - (uintptr_t)p % 64) % 64);
}

/* Shared window: rank 0 holds [flags][pub][R0][R1][share][C], others
 * [flags][pub][C] (pub: the publication line of allreduce_publish);
 * every array starts on a cache line (the training kernels write
 * the contributions with 64-byte stores: a store that straddles two lines
 * costs two line transfers between the cores) and is padded to whole lines. */
static int ar_shm_setup(allreduce *a, rg_error *err)
{
    int rc = 0;
    const size_t vbytes = (a->len * sizeof(int64_t) + 63) / 64 * 64, fbytes = (a->len * sizeof(float) + 63) / 64 * 64;
    size_t mine = 0;
    void *base = NULL;
    MPI_Info info = MPI_INFO_NULL;
    while ((1 << a->rounds) < a->size) a->rounds++;
    /* alignment slack, the barrier flags, C (and on rank 0 R0, R1, share) */
    mine = 64 + (size_t)(a->rounds + 1) * 64 + vbytes + (a->rank == 0 ? 2 * vbytes + fbytes : 0);
    if ((rc = log_mpi_check(MPI_Info_create(&info), "MPI_Info_create", err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Info_set(info, "alloc_shared_noncontig", "true"), "MPI_Info_set", err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Win_allocate_shared((MPI_Aint)mine, 1, info, a->comm, &base, &a->win),
                            "MPI_Win_allocate_shared", err)) != 0)
        goto done;
    a->have_win = 1;
    a->parts = calloc((size_t)a->size, sizeof *a->parts);
    a->flag = calloc((size_t)a->size * (size_t)a->rounds, sizeof *a->flag);
    a->pub = calloc((size_t)a->size, sizeof *a->pub);
    if (a->parts == NULL || a->flag == NULL || a->pub == NULL) { rc = error_set(err, ERR_NOMEM, "out of memory"); goto done; }
    for (int r = 0; r < a->size; r++) {
        MPI_Aint sz = 0;
        int du = 0;
        char *p = NULL;
        if ((rc = log_mpi_check(MPI_Win_shared_query(a->win, r, &sz, &du, &p), "MPI_Win_shared_query", err)) != 0)
            goto done;
        p = ar_align64(p);
        for (int k = 0; k < a->rounds; k++, p += 64) a->flag[r * a->rounds + k] = (_Atomic uint64_t *)(void *)p;
        a->pub[r] = (_Atomic uint64_t *)(void *)p;
        p += 64;
        if (r == 0) {
            a->result[0] = (int64_t *)(void *)p;
            a->result[1] = (int64_t *)(void *)(p + vbytes);
            a->share = (float *)(void *)(p + 2 * vbytes);
            p += 2 * vbytes + fbytes;
        }
        a->parts[r] = (const int64_t *)(void *)p;
    }
    for (int k = 0; k < a->rounds; k++) atomic_init(a->flag[a->rank * a->rounds + k], 0);
    atomic_init(a->pub[a->rank], 0);
    /* one slice per rank, a multiple of 16 elements: whole cache lines
     * of the int64 sum and of the float share area */
    a->chunk = ((a->len + (size_t)a->size - 1) / (size_t)a->size + 15) / 16 * 16;
    /* the flags are initialised before anyone uses them */
    rc = log_mpi_check(MPI_Barrier(a->comm), "MPI_Barrier", err);
done:
    if (info != MPI_INFO_NULL) MPI_Info_free(&info);
    return rc;
}

int allreduce_new(MPI_Comm comm, size_t len, allreduce **out, rg_error *err)
{
    int rc = 0, node_size = 0, want_mpi = 0, any_mpi = 0;
    MPI_Comm node = MPI_COMM_NULL;
    allreduce *a = calloc(1, sizeof *a);
    *out = NULL;
    if (a == NULL || len < 1) { error_set(err, a == NULL ? ERR_NOMEM : ERR_INTERNAL, "allreduce_new: out of memory or empty"); goto agree; }
    a->comm = comm;
    a->len = len;
    MPI_Comm_rank(comm, &a->rank);
    MPI_Comm_size(comm, &a->size);
    if ((rc = log_mpi_check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
                            "MPI_Comm_split_type", err)) != 0)
        goto agree;
    MPI_Comm_size(node, &node_size);
    {
        const char *e = getenv("RISKGRID_ALLREDUCE");
        want_mpi = (e != NULL && strcmp(e, "mpi") == 0) || node_size != a->size;
    }
agree:
    if ((rc = log_agree(comm, err)) != 0) goto done;
    /* one choice for all ranks, even if their environments differ */
    if ((rc = log_mpi_check(MPI_Allreduce(&want_mpi, &any_mpi, 1, MPI_INT, MPI_MAX, comm), "MPI_Allreduce", err)) != 0)
        goto done;
    a->kind = a->size == 1 ? AR_NONE : any_mpi ? AR_MPI : AR_SHM;
    if (a->kind == AR_SHM) {
        ar_shm_setup(a, err);
    } else {
        a->priv = mem_alloc64(len, sizeof *a->priv, 1);  /* aligned as the shared window's arrays */
        a->parts = malloc(sizeof *a->parts);
        if (a->priv == NULL || a->parts == NULL) error_set(err, ERR_NOMEM, "out of memory for the %zu-element reduction buffer", len);
        else a->parts[0] = a->priv;
    }
    if ((rc = log_agree(comm, err)) != 0) goto done;
    *out = a;
    a = NULL;
done:
    if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
    allreduce_free(a);
    return rc;
}

/* Poll until done() or the timeout; see the file comment. */
typedef struct ar_wait {
    long polls;
    double waited, last;
} ar_wait;

static void ar_wait_start(ar_wait *w)
{
    w->polls = 0;
    w->waited = 0.0;
    w->last = MPI_Wtime();
}

/* Back off after one more failed poll; returns 1 when the timeout expired. */
static int ar_backoff(ar_wait *w, double timeout)
{
    w->polls++;
    if (w->polls < 4000) return 0;               /* spin */
    if (w->polls < 40000) sched_yield();         /* let other ranks run */
    else {
        struct timespec nap = {0, 20000};
        nanosleep(&nap, NULL);
    }
    {
        double now = MPI_Wtime();
        w->waited += now - w->last < 0.5 ? now - w->last : 0.0;
        w->last = now;
    }
    return timeout > 0 && w->waited > timeout;
}

static int ar_barrier(allreduce *a, double timeout, double *waited, rg_error *err)
{
    const uint64_t e = ++a->episode;
    for (int k = 0; k < a->rounds; k++) {
        const int from = (a->rank - (1 << k) + a->size) % a->size;
        _Atomic uint64_t *theirs = a->flag[from * a->rounds + k];
        atomic_store_explicit(a->flag[a->rank * a->rounds + k], e, memory_order_release);
        if (atomic_load_explicit(theirs, memory_order_acquire) < e) {
            ar_wait w;
            ar_wait_start(&w);
            while (atomic_load_explicit(theirs, memory_order_acquire) < e)
                if (ar_backoff(&w, timeout)) {
                    *waited += w.waited;
                    return error_set(err, ERR_MPI, "rank %d waited %.0f s for the other ranks", a->rank, w.waited);
                }
            *waited += w.waited;
        }
    }
    return 0;
}

void allreduce_slice(const allreduce *a, int r, size_t *lo, size_t *hi)
{
    if (a->kind != AR_SHM) {
        *lo = 0;
        *hi = a->len;
        return;
    }
    *lo = (size_t)r * a->chunk < a->len ? (size_t)r * a->chunk : a->len;
    *hi = *lo + a->chunk < a->len ? *lo + a->chunk : a->len;
}

float *allreduce_share(allreduce *a)
{
    return a->kind == AR_SHM ? a->share : NULL;
}

void allreduce_peek(const allreduce *a, size_t off, size_t n, int64_t *out)
{
    /* wrap-around: a wrong exponent prediction gives garbage, not UB */
    exactsum_sum_parts(out, a->parts, a->kind == AR_SHM ? a->size : 1, off, n);
}

int allreduce_scatter(allreduce *a, double timeout, const int64_t *const **part, int *nparts, size_t *lo, size_t *hi,
                      double *waited, rg_error *err)
{
    int rc = 0;
    *waited = 0.0;
    allreduce_slice(a, a->rank, lo, hi);
    *part = a->parts;
    *nparts = 1;
    if (a->kind == AR_MPI) {
        MPI_Request req = MPI_REQUEST_NULL;
        int done = 0;
        ar_wait w;
        if ((rc = log_mpi_check(MPI_Iallreduce(MPI_IN_PLACE, a->priv, (int)a->len, MPI_INT64_T, MPI_SUM, a->comm, &req),
                                "MPI_Iallreduce(gradients)", err)) != 0)
            return rc;
        ar_wait_start(&w);
        for (;;) {
            if ((rc = log_mpi_check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test(gradients)", err)) != 0) return rc;
            if (done) break;
            if (ar_backoff(&w, timeout)) {
                *waited = w.waited;
                return error_set(err, ERR_MPI, "rank %d waited %.0f s for the other ranks", a->rank, w.waited);
            }
        }
        *waited = w.waited;
    } else if (a->kind == AR_SHM) {
        if ((rc = ar_barrier(a, timeout, waited, err)) != 0) return rc;
        *nparts = a->size;
    }
    return 0;
}

/* The 1-based number of the call this rank is in, before its scatter
 * barrier: every call in shared memory passes two barriers (scatter and
 * gather), so that is episode / 2 + 1. */
static uint64_t ar_call(const allreduce *a)
{
    return a->episode / 2 + 1;
}

/* Publication: rank r raises pub[r] to the number of the call it is in
 * (release, after the final writes of the published elements); a reader
 * in the same call sees that number (acquire) and may then read them.
 * r writes its contribution again only in its next call, after the
 * gather barrier of this one, which no reader has passed while it still
 * reads: so no published element can change under the reader.  A reader
 * cannot see a later call's number: r would need the reader's gather. */
void allreduce_publish(allreduce *a)
{
    if (a->kind != AR_SHM) return;
    atomic_store_explicit(a->pub[a->rank], ar_call(a), memory_order_release);
}

const int64_t *allreduce_published(const allreduce *a, int r)
{
    if (a->kind != AR_SHM || r < 0 || r >= a->size) return NULL;
    return atomic_load_explicit(a->pub[r], memory_order_acquire) == ar_call(a) ? a->parts[r] : NULL;
}

int allreduce_wait_published(const allreduce *a, int r, double timeout, const int64_t **out, double *waited,
                             rg_error *err)
{
    ar_wait w;
    *waited = 0.0;
    *out = NULL;
    if (a->kind != AR_SHM || r < 0 || r >= a->size)
        return error_set(err, ERR_INTERNAL, "allreduce_wait_published: no shared-memory contribution of rank %d", r);
    ar_wait_start(&w);
    while ((*out = allreduce_published(a, r)) == NULL)
        if (ar_backoff(&w, timeout)) {
            *waited = w.waited;
            return error_set(err, ERR_MPI, "rank %d waited %.0f s for rank %d", a->rank, w.waited, r);
        }
    *waited = w.waited;
    return 0;
}

int allreduce_gather(allreduce *a, double timeout, double *waited, rg_error *err)
{
    int rc = 0;
    *waited = 0.0;
    if (a->kind != AR_SHM) return 0;
    if ((rc = ar_barrier(a, timeout, waited, err)) != 0) return rc;
    a->parity ^= 1;
    return 0;
}

int allreduce_sum(allreduce *a, double timeout, const int64_t **sum, double *waited, rg_error *err)
{
    size_t lo = 0, hi = 0;
    double w2 = 0.0;
    const int64_t *const *part = NULL;
    int np = 0, rc = allreduce_scatter(a, timeout, &part, &np, &lo, &hi, waited, err);
    int64_t *out = a->kind == AR_SHM ? a->result[a->parity] : a->priv;
    if (rc == 0 && a->kind == AR_SHM) exactsum_sum_parts(out + lo, part, np, lo, hi - lo);
    if (rc == 0) rc = allreduce_gather(a, timeout, &w2, err);
    *waited += w2;
    *sum = out;
    return rc;
}
