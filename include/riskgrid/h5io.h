/** \file h5io.h
 *  The HDF5 output file (schema in docs/output.md and DESIGN.md).
 *  Called on one rank (rank 0) with everything already gathered; the file
 *  is written to a temporary name in the target directory (exclusive
 *  creation), flushed, fsync'd and renamed into place, so a reader never
 *  sees a torn file and an existing result survives any failure.
 */
#ifndef RISKGRID_H5IO_H
#define RISKGRID_H5IO_H

#include <stddef.h>
#include <stdint.h>
#include "riskgrid/error.h"

typedef struct h5io_result {
    /* root attributes */
    const char *version;
    const char *command;        /**< the command line */
    const char *config_text;    /**< the job file verbatim (+ overrides) */
    int world_size;
    int virtual_shards;
    const char *started, *finished;  /**< ISO 8601 UTC */
    const char *status;         /**< "complete" */

    /* /data */
    const char *source, *fingerprint;
    int64_t n_train, n_test;
    int n_features;
    double positive_rate;
    const char *const *feature_names;  /**< [n_features] */
    const double *mean, *std;          /**< [n_features] */

    /* /model: W1[F,H] b1[H] W2[H,C] b2[C], float32 */
    int n_hidden, n_out;
    const float *w1, *b1, *w2, *b2;

    /* /train and /timing, dimension epoch */
    int n_epochs;
    const double *loss, *test_auc, *auc_lo, *auc_hi;   /**< [n_epochs] */
    const double *wall_s, *samples_per_s;              /**< [n_epochs] */
    double load_s, train_s, eval_s, grid_s;            /**< phase seconds */

    /* /eval */
    double auc, auc_lo_final, auc_hi_final, auc_var;
    size_t n_roc;
    const double *fpr, *tpr, *threshold;               /**< [n_roc] (binary; macro: class-averaged not stored) */
    int n_classes;                                     /**< per-class AUCs when > 2 */
    const double *class_auc, *class_lo, *class_hi;     /**< [n_classes] or NULL */
    size_t n_scores;                                   /**< test rows (0: none stored) */
    int score_cols;                                    /**< 1 (binary) or n_classes */
    const double *scores;                              /**< [n_scores * score_cols] */
    const int32_t *score_labels;                       /**< [n_scores] */
    const int64_t *score_rows;                         /**< [n_scores] global row index */

    /* /grid */
    const double *axis[4];   /**< demand, competition, service, marketing */
    size_t axis_len[4];
    double reference[4];
    int deflate;             /**< 0: none; 1..9: shuffle + deflate on D, D_lo, D_hi */
} h5io_result;

/** Fail-fast check before any work: the directory of path exists and is
 *  writable (a probe file is created exclusively and removed), and path
 *  does not exist unless overwrite.  ERR_IO or ERR_USAGE (exists). */
int h5io_check_output(const char *path, int overwrite, rg_error *err);

/** Write the whole file atomically.  The grid D, D_lo, D_hi are computed
 *  here block by block (grid.h) so the full grid is never held in memory.
 *  On failure no file is left at path's temporary name and an existing
 *  file at path is untouched. */
int h5io_write_result(const char *path, int overwrite, const h5io_result *r, rg_error *err);

/** Training state at a step boundary: everything needed to continue and
 *  end with the same bits as an uninterrupted run, on any number of ranks
 *  (nothing in it depends on the number of ranks). */
typedef struct h5io_checkpoint {
    char *canonical;      /**< config_canonical() of the job that wrote it */
    char *fingerprint;    /**< data fingerprint (dataset.h) */
    int world_size;       /**< ranks that wrote it (information only) */
    int64_t step;         /**< optimiser steps completed */
    int epochs_done;      /**< completed epochs = length of the history arrays */
    int e_pred;           /**< the reducer's predicted exponent (part of the arithmetic) */
    double loss_partial;  /**< summed loss of the steps of the unfinished epoch */
    double train_s, eval_s;
    int64_t adam_t;
    size_t n_params;
    float *params, *m, *v;                                   /**< [n_params] */
    double *loss, *test_auc, *auc_lo, *auc_hi, *wall_s, *samples_per_s; /**< [epochs_done] */
} h5io_checkpoint;

/** Write a checkpoint atomically (temporary + fsync + rename): the
 *  previous checkpoint at path survives until the new one is complete. */
int h5io_write_checkpoint(const char *path, const h5io_checkpoint *c, rg_error *err);

/** Read and validate a checkpoint into *c (arrays malloc'd; free with
 *  h5io_checkpoint_clear).  A file that is not a riskgrid checkpoint, is
 *  truncated or has inconsistent sizes gives ERR_INPUT naming the path. */
int h5io_read_checkpoint(const char *path, h5io_checkpoint *c, rg_error *err);

/** Free the arrays of a checkpoint read by h5io_read_checkpoint and zero it. */
void h5io_checkpoint_clear(h5io_checkpoint *c);

#endif
