/** \file train.h
 *  The data-parallel training loop and evaluation (collective).
 *
 *  Step t (global, 0-based) of an epoch of S = floor(n_train / B) steps:
 *  every virtual shard v contributes a micro-batch of m = B / V rows, the
 *  rows at positions t*m .. t*m+m-1 of the shard's endless stream, which is
 *  the concatenation of permutations of its rows, one per cycle, drawn from
 *  (seed, v, cycle).  The shard's summed gradient is computed by shardgrad
 *  (same inputs in the same order on whichever rank holds the shard),
 *  converted to fixed point with a shared exponent and summed over shards
 *  as int64 in ONE sum over ranks (allreduce.h) that also carries the
 *  loss, a non-finite count, a stop flag and a histogram of shard
 *  exponents (which gives the next step's exponent: the largest plus a
 *  margin of 2).  When a shard's gradient exceeds the predicted exponent
 *  the step is reduced once more with the exact maximum (rare; always the
 *  first step).  The mean gradient is the sum / B; every
 *  rank applies the same Adam update.  Nothing here depends on P.
 */
#ifndef RISKGRID_TRAIN_H
#define RISKGRID_TRAIN_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include "riskgrid/auc.h"
#include "riskgrid/config.h"
#include "riskgrid/dataset.h"
#include "riskgrid/error.h"
#include "riskgrid/h5io.h"
#include "riskgrid/mlp.h"

/** Everything training and the final evaluation produce.  Identical on
 *  every rank except the ROC curve and per-row scores (rank 0 only). */
typedef struct train_result {
    mlp_shape shape;
    float *params;                   /**< [mlp_layout_of(&shape).n] */
    int n_epochs;
    double *loss;                    /**< [n_epochs] mean train loss per row */
    double *test_auc, *auc_lo, *auc_hi;
    double *wall_s, *samples_per_s;  /**< per epoch, training only */
    double train_s, eval_s;          /**< seconds in training steps / evaluation */
    int64_t steps;                   /**< optimiser steps taken */
    auc_result eval;                 /**< final test AUC (macro for softmax) */
    auc_result *class_eval;          /**< [n_classes] when softmax, else NULL */
    int n_classes;
    /* rank 0 only */
    double *fpr, *tpr, *thr;         /**< ROC of the final model (binary only) */
    size_t n_roc;
    double *scores;                  /**< final test scores [n_scores * score_cols], row order */
    int32_t *score_labels;           /**< [n_scores] */
    int64_t *score_rows;             /**< [n_scores] global row indices, ascending */
    size_t n_scores;
    int score_cols;
} train_result;

/** Checkpoint and resume settings of one run. */
typedef struct train_options {
    const char *checkpoint_path;     /**< where checkpoints go (rank 0 writes) */
    int checkpoint_every;            /**< epochs between checkpoints; 0: only on a stop signal */
    const char *canonical;           /**< config_canonical() of the job */
    const h5io_checkpoint *resume;   /**< state to continue from (same on every rank), or NULL */
} train_options;

/** Collective: train the model of cfg on ds and evaluate it.  progress:
 *  one line per epoch on rank 0 (unless quiet).  All ranks return the same
 *  status; ERR_NUMERIC when training diverges (names epoch and step);
 *  ERR_PREEMPTED after a stop signal: the step in progress is completed on
 *  every rank, a checkpoint is written and the message says where.
 *  A stall (a rank missing from the step's allreduce for
 *  cfg->stall_timeout seconds) ends the job through MPI_Abort with a
 *  message from the ranks that waited: agreement is impossible then. */
int train_run(MPI_Comm comm, const config *cfg, const dataset *ds, const train_options *opt,
              train_result **out, rg_error *err);

/** Install the stop-signal handlers (SIGTERM, SIGUSR1, SIGINT): they only
 *  record the signal; the loop combines it across ranks at the next step
 *  boundary (in the step's allreduce, no extra collective). */
int train_install_signals(rg_error *err);

/** Collective: make root's checkpoint (read by root) available on every
 *  rank.  On the other ranks *c is allocated here. */
int train_checkpoint_bcast(MPI_Comm comm, int root, h5io_checkpoint *c, rg_error *err);

void train_result_free(train_result *r);

#endif
