/** \file config.h
 *  The job file (INI, parsed with libinih) plus command-line overrides,
 *  turned into one validated settings struct.  No MPI: every rank parses
 *  the same text (rank 0 reads the file and broadcasts the bytes).
 *
 *  Paths in the job file that are relative are resolved against the
 *  directory of the job file; paths given on the command line (--out)
 *  are taken as they are (relative to the working directory).
 */
#ifndef RISKGRID_CONFIG_H
#define RISKGRID_CONFIG_H

#include <stdint.h>
#include "riskgrid/error.h"

enum { CONFIG_OUTPUT_AUTO = 0, CONFIG_OUTPUT_SIGMOID = 1, CONFIG_OUTPUT_SOFTMAX = 2 };
enum { CONFIG_CAT_AUTO = 0, CONFIG_CAT_NONE = 1, CONFIG_CAT_LIST = 2 };
enum { CONFIG_FORMAT_AUTO = 0, CONFIG_FORMAT_CSV = 1, CONFIG_FORMAT_HDF5 = 2 };
enum { GRID_DEMAND = 0, GRID_COMPETITION = 1, GRID_SERVICE = 2, GRID_MARKETING = 3, GRID_NAXES = 4 };

typedef struct config {
    /* provenance */
    char *job_path;   /**< as given on the command line */
    char *job_text;   /**< the whole job file, verbatim */
    char *overrides;  /**< the --set arguments, one per line ("" if none) */

    /* [data] */
    char *data_path;        /**< resolved path (required) */
    int data_format;        /**< CONFIG_FORMAT_*, AUTO resolved by extension */
    char delimiter;         /**< ',' */
    char *label;            /**< label column (CSV), default "default" */
    char **drop; int n_drop;               /**< columns to ignore */
    int categorical_mode;                  /**< CONFIG_CAT_* (auto) */
    char **categorical; int n_categorical; /**< when mode == LIST */
    double test_fraction;   /**< in [0, 1), default 0.2 (ignored if test_path) */
    char *test_path;        /**< optional separate test file (resolved) or NULL */
    int standardize;        /**< 1 (default) or 0 */
    char *hdf5_features;    /**< dataset name in an HDF5 input, "features" */
    char *hdf5_label;       /**< dataset name in an HDF5 input, "label" */

    /* [model] */
    int hidden;             /**< >= 1, default 128 */
    int output;             /**< CONFIG_OUTPUT_* (auto) */

    /* [train] */
    int epochs;             /**< >= 1, default 10 */
    int batch_size;         /**< global batch, >= 1, multiple of virtual_shards, default 32 */
    double learning_rate;   /**< > 0, default 1e-3 */
    double beta1, beta2;    /**< in [0, 1), defaults 0.9, 0.999 */
    double epsilon;         /**< > 0, default 1e-7 */
    uint64_t seed;          /**< default 42 */
    int virtual_shards;     /**< V >= 1, default 16; at most V ranks */
    double stall_timeout;   /**< seconds a rank waits in the step's allreduce before
                                 declaring a stall; 0 = wait forever; default 600 */

    /* [grid] each axis sorted as given, values in [0, 1], >= 1 value */
    double *axis[GRID_NAXES];
    int axis_len[GRID_NAXES];
    double reference[GRID_NAXES];  /**< default 0.8, 0.2, 0.9, 0.95 */

    /* [output] */
    char *out_path;         /**< resolved; default "<job stem>.h5" in the working directory */
    int overwrite;          /**< default 0 */
    char *checkpoint_path;  /**< resolved, or NULL: "<out_path>.ckpt" (derived by the caller,
                                 since --out may change out_path) */
    int checkpoint_every;   /**< write a checkpoint every N epochs; 0 = only on a stop signal; default 1 */
    int compression;        /**< grid datasets: 0 none (default), 1..9 shuffle + deflate level */
} config;

/** Axis names in GRID_* order ("demand", ...). */
extern const char *const config_axis_names[GRID_NAXES];

/** Parse job text (the bytes of job_path) and the overrides
 *  ("section.key=value" strings, applied after the file, in order).
 *  On success *out is a new config; on failure *out is NULL and err
 *  names the file (or "--set"), line, key and what was expected;
 *  returns ERR_USAGE for every job-file problem, ERR_NOMEM on allocation.
 *  Checks done: unknown section/key, duplicate key, unparsable value,
 *  out-of-range value, batch_size % virtual_shards, grid axes in [0,1]
 *  and non-empty, data.path present.  Not done (needs I/O): whether files
 *  exist. */
int config_parse(const char *job_path, const char *job_text,
                 const char *const *overrides, int n_overrides,
                 config **out, rg_error *err);

/** Read a whole file into a NUL-terminated buffer (caller frees). */
int config_read_file(const char *path, char **text, size_t *len, rg_error *err);

/** Parse a grid axis: "start:stop:count" (count >= 1, inclusive ends,
 *  count == 1 gives start) or a list "0.5, 0.7, 0.9".  Values must be
 *  finite and in [0, 1].  On success *vals is malloc'd with *n values. */
int config_parse_axis(const char *text, double **vals, int *n, rg_error *err);

/** Canonical text of the settings that change results (data, model,
 *  train, grid sections, with defaults filled in), one "section.key=value"
 *  per line.  Used for fingerprints and for refusing foreign checkpoints.
 *  Caller frees. NULL on allocation failure. */
char *config_canonical(const config *cfg);

void config_free(config *cfg);

#endif
