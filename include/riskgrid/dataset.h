/** \file dataset.h
 *  Input data: CSV or HDF5 in, a distributed, sharded, standardised table
 *  out.  dataset_load is collective over the communicator.
 *
 *  Pipeline (every step independent of the number of ranks P):
 *   1. each rank reads only its part of the input (a byte range of the
 *      CSV aligned to line starts, or a hyperslab of the HDF5 rows);
 *   2. rows get a global index g (0-based data row number in file order);
 *      errors name file, line and column; ranks agree on errors;
 *   3. categorical columns are one-hot encoded with a vocabulary agreed
 *      across ranks (sorted bytewise);
 *   4. row g is a test row when rng_unit(hash(seed, SPLIT, g)) <
 *      test_fraction (or when it comes from data.test_path);
 *      every row goes to virtual shard hash(seed, SHARD, g) mod V and is
 *      moved (one MPI_Alltoallv) to the rank owning that shard;
 *   5. within a shard rows are sorted by g; train mean/std are summed per
 *      shard in g order and then over shards in shard order, so they are
 *      the same bits for any P.
 *  No rank holds the whole input (unless P == 1, or the 2-rank hidden
 *  split asks for the training rows on both ranks: dataset_train_all).
 */
#ifndef RISKGRID_DATASET_H
#define RISKGRID_DATASET_H

#include <mpi.h>
#include <stdint.h>
#include "riskgrid/config.h"
#include "riskgrid/error.h"

/** Rows of one part (train or test) held by this rank, grouped by shard. */
typedef struct dataset_part {
    int64_t n;          /**< rows held here */
    int64_t *shard_off; /**< [n_local_shards + 1] row offsets of each local shard */
    float *x;           /**< n * n_features, standardised */
    int32_t *y;         /**< n labels 0..K-1 */
    int64_t *gid;       /**< n global row indices, ascending within a shard */
} dataset_part;

typedef struct dataset {
    /* agreed on every rank */
    int n_features;
    char **feature_names;   /**< [n_features]; one-hot columns "col=value" */
    int n_classes;          /**< K >= 2 (labels 0..K-1) */
    int64_t n_rows;         /**< data rows read (train + test) */
    int64_t n_train, n_test;
    double positive_rate;   /**< share of rows with label 1 (all rows) */
    double *mean, *std;     /**< [n_features] train statistics (std: population) */
    char fingerprint[17];   /**< 64-bit hex: order-independent hash of the rows read */
    char *source;           /**< input path(s) */
    /* sharding */
    int virtual_shards;     /**< V */
    int first_shard;        /**< this rank's shards are [first_shard, first_shard + n_local_shards) */
    int n_local_shards;
    dataset_part train, test;
} dataset;

/** First shard owned by rank r of P for V shards: floor(r * V / P). */
int dataset_first_shard(int rank, int n_ranks, int n_shards);

/** Collective: load, split, shard, standardise.  All ranks return the same
 *  status; on failure *out is NULL and err holds the agreed message. */
int dataset_load(MPI_Comm comm, const config *cfg, dataset **out, rg_error *err);

void dataset_free(dataset *ds);

/** Collective: every rank's training rows, concatenated in rank order,
 *  which is shard order: all->shard_off[0..V] are the offsets of all V
 *  shards, x and y hold every training row, gid is NULL.  For the hidden
 *  split, where every rank computes on every row of a step
 *  (docs/design-hidden-split.md); free with dataset_part_free.  All ranks
 *  return the same status (ERR_INPUT when the rows are too many for one
 *  MPI call). */
int dataset_train_all(MPI_Comm comm, const dataset *ds, dataset_part *all, rg_error *err);

/** Frees the arrays of p and zeroes it; NULL is a no-op. */
void dataset_part_free(dataset_part *p);

#endif
