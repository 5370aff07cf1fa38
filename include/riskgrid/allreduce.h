/** \file allreduce.h
 *  The training step's in-place int64 sum over all ranks, with a stall
 *  timeout.
 *
 *  Integer addition is exact and associative, so every implementation
 *  gives the same bits; the module picks the fastest available:
 *    - 1 rank: no communication;
 *    - every rank on one node: a shared-memory reduction (MPI-3 shared
 *      window; each rank sums a 1/P slice of all contributions into a
 *      shared result; two spin barriers per call).  For the small vectors
 *      of this job it is several times faster than MPI_Allreduce over
 *      Open MPI's shared-memory transport (bench/allreduce_bench.c);
 *    - otherwise, or with RISKGRID_ALLREDUCE=mpi: MPI_Iallreduce in place.
 *  A call waits at most `timeout` seconds (0: forever) of its own polling
 *  time for the other ranks; time when the whole job was suspended (a gap
 *  of more than 0.5 s between two polls) does not count.
 *
 *  Usage per step: write the contribution into allreduce_buf(a) (len
 *  int64), call allreduce_sum, read the sum through the returned pointer.
 *  The sum stays valid until the next-but-one allreduce_sum; ask for the
 *  contribution buffer before every call (it may move).
 *
 *  A call can also be made in two halves, so that the work that follows
 *  a sum (an optimiser step) is split over the ranks like the sum itself
 *  (reduce-scatter, update, all-gather):
 *    allreduce_scatter   every rank has contributed; the sum is available
 *                        as parts: arrays whose element-wise wrap-around
 *                        sum is the sum (the P contributions themselves
 *                        when the kind is "shm", else one array holding
 *                        it), so the caller adds them where it uses them;
 *                        [lo, hi) is this rank's slice of the work
 *                        (everything unless the kind is "shm");
 *                        allreduce_peek sums any range privately;
 *    (the rank puts what others need from its slice into
 *     allreduce_share(a), a shared float area of len elements, at the
 *     slice's positions)
 *    allreduce_gather    every rank is done; the parts are no longer
 *                        valid, every rank's part of the share area is
 *                        readable.
 *  allreduce_sum is scatter, the sum of this rank's slice, and gather.
 *  The share area is written only between scatter and gather and read
 *  only after gather; it stays valid until the next scatter.
 */
#ifndef RISKGRID_ALLREDUCE_H
#define RISKGRID_ALLREDUCE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "riskgrid/error.h"

typedef struct allreduce allreduce;

/** Collective over comm.  len >= 1 int64 per call. */
int allreduce_new(MPI_Comm comm, size_t len, allreduce **out, rg_error *err);

/** Collective (frees the shared window); NULL is a no-op on every rank. */
void allreduce_free(allreduce *a);

/** Where this rank writes its contribution for the next allreduce_sum. */
int64_t *allreduce_buf(allreduce *a);

/** Collective: *sum points to the element-wise sum of all contributions.
 *  Returns ERR_MPI with a message naming the wait when the timeout
 *  expired (a rank stopped responding); the caller cannot continue with
 *  collectives then and should abort the job. */
int allreduce_sum(allreduce *a, double timeout, const int64_t **sum, double *waited, rg_error *err);

/** First half of a call (collective): on success the element-wise
 *  wrap-around sum of (*part)[0..*nparts) is the sum (any element, until
 *  allreduce_gather), and [*lo, *hi) is this rank's slice.  Slices are
 *  disjoint, cover [0, len) and non-empty ones start at multiples of 16
 *  elements.  Same errors as allreduce_sum. */
int allreduce_scatter(allreduce *a, double timeout, const int64_t *const **part, int *nparts, size_t *lo, size_t *hi,
                      double *waited, rg_error *err);

/** Between scatter and gather: out[0..n) = elements [off, off+n) of the
 *  sum (n small: it reads every part). */
void allreduce_peek(const allreduce *a, size_t off, size_t n, int64_t *out);

/** Optional, before allreduce_scatter: the elements of this call's
 *  contribution that the caller's ranks agree to read early (riskgrid:
 *  the W1 rows that lie wholly in the reader's slice) are final and will
 *  not change before the next call (a no-op unless the kind is "shm"). */
void allreduce_publish(allreduce *a);

/** Rank r's contribution when r has published it in the current call
 *  (the one whose scatter this rank has not yet returned from), else
 *  NULL, also when the kind is not "shm".  The published elements stay
 *  valid until this rank's allreduce_gather; the others may still be
 *  written until the scatter.  Reading early only moves work before the
 *  scatter: the sum is the same. */
const int64_t *allreduce_published(const allreduce *a, int r);

/** Waits (as a call does, at most `timeout` seconds of polling) until
 *  rank r has published its contribution in the current call, then
 *  *out = allreduce_published(a, r).  Only for the kind "shm"
 *  (ERR_INTERNAL otherwise).  A one-way hand-over inside a call: r
 *  writes, publishes and goes on; the reader reads as soon as it is there,
 *  with no barrier. */
int allreduce_wait_published(const allreduce *a, int r, double timeout, const int64_t **out, double *waited,
                             rg_error *err);

/** Second half (collective): every rank is past its scatter half. */
int allreduce_gather(allreduce *a, double timeout, double *waited, rg_error *err);

/** The slice [*lo, *hi) that rank r gets from allreduce_scatter. */
void allreduce_slice(const allreduce *a, int r, size_t *lo, size_t *hi);

/** The shared float area (len floats) when slices are partial ("shm");
 *  NULL when every rank gets the whole sum from allreduce_scatter. */
float *allreduce_share(allreduce *a);

/** "none" (1 rank), "shm" or "mpi". */
const char *allreduce_kind(const allreduce *a);

#endif
