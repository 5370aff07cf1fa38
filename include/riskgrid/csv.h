/** \file csv.h
 *  CSV record kernels: line iteration, field splitting, strict number
 *  parsing.  Pure functions on byte buffers; no I/O, no MPI.
 *
 *  Dialect: one record per line; LF or CRLF line ends; an optional UTF-8
 *  BOM at the start of the file (the caller strips it with csv_skip_bom);
 *  fields separated by a one-byte delimiter; a field may be enclosed in
 *  double quotes, inside which the delimiter is literal and "" stands for
 *  one quote.  A quoted field that is not closed on its line (an embedded
 *  newline) is refused.  The last line need not end with a newline.
 */
#ifndef RISKGRID_CSV_H
#define RISKGRID_CSV_H

#include <stddef.h>

/** Status of csv_split / csv_number. */
enum {
    CSV_OK = 0,
    CSV_EQUOTE = -1,    /**< a quote not closed on this line, or text after a closing quote */
    CSV_ETOOMANY = -2,  /**< more fields than max_fields */
    CSV_ENOTNUM = -3,   /**< not a number */
    CSV_ENONFINITE = -4,/**< nan or inf spelled out */
    CSV_ERANGE = -5,    /**< finite as double, but outside float32 range */
    CSV_EEMPTY = -6     /**< empty (or all-blank) field */
};

/** Length of a UTF-8 BOM at buf (3) or 0. */
size_t csv_skip_bom(const char *buf, size_t len);

/** Next line of buf starting at *pos: sets *line, *line_len (without the
 *  LF or CRLF), advances *pos past the line end.  Returns 1 if a line was
 *  produced, 0 at end of buffer.  A final line without LF is produced. */
int csv_next_line(const char *buf, size_t len, size_t *pos,
                  const char **line, size_t *line_len);

/** Split one line (not NUL-terminated, length len) into fields.
 *  Writes each field, unquoted and NUL-terminated, into `store`
 *  (capacity store_cap bytes; len + max_fields bytes always suffice) and
 *  a pointer to it into fields[].  On error *err_col is the 1-based
 *  field number where it was found.  Returns CSV_OK or CSV_EQUOTE /
 *  CSV_ETOOMANY. */
int csv_split(const char *line, size_t len, char delim,
              char *store, size_t store_cap,
              char **fields, int max_fields, int *n_fields, int *err_col);

/** Strict number: the whole field (blanks around allowed) is a decimal or
 *  scientific number, finite, and within float32 range (|v| <= FLT_MAX;
 *  values below FLT_MIN round to 0 quietly).  Returns CSV_OK and *v, or
 *  CSV_EEMPTY / CSV_ENOTNUM / CSV_ENONFINITE / CSV_ERANGE. */
int csv_number(const char *field, double *v);

/** Describe a CSV_* status in a few words ("expected a number"). */
const char *csv_strerror(int status);

#endif
