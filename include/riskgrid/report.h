/** \file report.h
 *  `riskgrid report` and `riskgrid compare`: read result files (schema in
 *  docs/output.md) with the serial HDF5 C API and print what is in them,
 *  plus the metrics of metrics.h computed from the stored test rows, as
 *  text, JSON or Markdown (docs/report.md).  No MPI.
 */
#ifndef RISKGRID_REPORT_H
#define RISKGRID_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include "riskgrid/error.h"

enum { REPORT_TEXT = 0, REPORT_JSON = 1, REPORT_MARKDOWN = 2 };

typedef struct report_options {
    int format;      /**< REPORT_TEXT, REPORT_JSON or REPORT_MARKDOWN */
    size_t top_k;    /**< grid points listed, >= 1 (default 10) */
    size_t bins;     /**< calibration and lift groups, >= 1 (default 10) */
} report_options;

/** Defaults: text, top 10, 10 groups. */
void report_options_default(report_options *opt);

/** Print the report of one result file to out.  ERR_IO when the file
 *  cannot be opened, ERR_INPUT when it is not a riskgrid result (missing
 *  or malformed object, named), ERR_HDF5, ERR_NOMEM. */
int report_print(const char *path, const report_options *opt, FILE *out, rg_error *err);

/** Compare two result files: settings that differ, the AUC of each, the
 *  paired DeLong test when both hold the same test rows, and whether
 *  /model, /train and /eval are bitwise identical. */
int report_compare(const char *path_a, const char *path_b, const report_options *opt,
                   FILE *out, rg_error *err);

/** Draw the PNGs of one result file into dir with scripts/riskgrid-plot.py
 *  (located as described in docs/report.md) run by /usr/bin/python3 (or
 *  $RISKGRID_PYTHON); metrics_json is the JSON report of the same file.
 *  ERR_IO when the script cannot be found or fails. */
int report_plot(const char *path, const char *metrics_json, const char *dir, rg_error *err);

/** `riskgrid report OUT.h5 [--format F] [--png DIR] [--top K] [--bins N]`;
 *  argv[1] is "report".  Returns the process exit code (0, 1, 2). */
int report_main(int argc, char **argv);

/** `riskgrid compare A.h5 B.h5 [--format F]`; argv[1] is "compare".
 *  Returns the process exit code. */
int report_compare_main(int argc, char **argv);

#endif
