/** \file gen.h
 *  Synthetic credit-like data (`riskgrid gen`).  Deterministic for a seed:
 *  row i is a pure function of (seed, i), drawn from the counter-based RNG.
 *
 *  Columns (CSV, header line, comma-separated, LF):
 *    id, limit_bal, age, education, marriage, housing, bill_amt1..3,
 *    pay_amt1..2, pay_delay1..3, utilization, n_cards, ... , default
 *  Numeric columns have realistic ranges (credit limit, age 21-79, bill and
 *  payment amounts, payment delays -2..8 months); education, marriage and
 *  housing are text categories; `default` is the 0/1 label.
 *  The label comes from a non-linear score (interactions and thresholds:
 *  recent delays x high utilisation, a U-shape in age, ...) so that an MLP
 *  clearly beats a linear model; the intercept is set so the positive rate
 *  is close to the requested one.
 *
 *  A path ending in ".h5" writes HDF5 instead: dataset "features"
 *  (float32 [rows, F], categorical columns one-hot, with a string
 *  attribute "feature_names") and dataset "label" (int32 [rows]).
 */
#ifndef RISKGRID_GEN_H
#define RISKGRID_GEN_H

#include <stdint.h>
#include "riskgrid/error.h"

typedef struct gen_options {
    int64_t rows;          /**< >= 1 */
    uint64_t seed;         /**< default 1 */
    double positive_rate;  /**< in (0, 1), default 0.2 */
} gen_options;

/** Write the data set to path (atomically: temporary name + rename).
 *  ERR_USAGE for bad options, ERR_IO / ERR_HDF5 on write failure. */
int gen_write(const char *path, const gen_options *opt, rg_error *err);

#endif
