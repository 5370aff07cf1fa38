/** \file error.h
 *  Status codes and the error object every fallible function writes into.
 *
 *  Contract: a function returns 0 on success or one of the negative
 *  ERR_* codes; on failure it has written one human-readable line into the
 *  rg_error it was given (first error wins: a later error_set on an object
 *  that already holds an error keeps the first message).  No MPI here; the
 *  cross-rank agreement lives in log.h.
 */
#ifndef RISKGRID_ERROR_H
#define RISKGRID_ERROR_H

#include <stddef.h>

enum {
    ERR_OK = 0,
    ERR_USAGE = -2,     /**< bad command line or job file: exit code 2 */
    ERR_INPUT = -3,     /**< bad input data (file, line, column named) */
    ERR_IO = -4,        /**< cannot read or write a file */
    ERR_NOMEM = -5,     /**< allocation failed */
    ERR_MPI = -6,       /**< an MPI call failed */
    ERR_HDF5 = -7,      /**< an HDF5 call failed */
    ERR_NUMERIC = -8,   /**< training diverged, AUC undefined, ... */
    ERR_PREEMPTED = -9, /**< stopped on a signal after checkpointing */
    ERR_INTERNAL = -10  /**< a bug: an invariant did not hold */
};

/** Process exit codes (documented in the README). */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_ = 1,  /**< any failure but usage */
    EXIT_USAGE = 2,     /**< usage or job-file error */
    EXIT_PREEMPTED = 75 /**< EX_TEMPFAIL: checkpointed, resume me */
};

#define ERROR_MSG_MAX 1024

typedef struct rg_error {
    int code;                 /**< 0 or an ERR_* code */
    char msg[ERROR_MSG_MAX];  /**< one line, no trailing newline */
} rg_error;

/** Reset to "no error". */
void error_clear(rg_error *err);

/** Record an error (printf-style) unless one is already recorded.
 *  The formatted text goes through error_escape, so that file contents
 *  quoted in a message cannot drive the terminal.
 *  Returns code, so callers can write `rc = error_set(err, ERR_IO, ...)`. */
int error_set(rg_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Map an ERR_* code to the process exit code. */
int error_exit_code(int code);

/** Short name of a code ("usage", "input", ...). */
const char *error_name(int code);

/** Copy src into dst (size n) so that it is safe to print on a terminal:
 *  well-formed UTF-8 of a printable code point passes through unchanged;
 *  every other byte is written as \xNN (lower-case hex), one escape per
 *  byte: C0 controls and DEL, C1 controls (U+0080..U+009F, both as raw
 *  bytes such as the 8-bit CSI 0x9b and as UTF-8 c2 80..c2 9f), invalid,
 *  overlong and truncated sequences, surrogates, code points above
 *  U+10FFFF, and the characters that break or reorder a displayed line
 *  (U+2028, U+2029, the bidirectional controls U+202A..U+202E and
 *  U+2066..U+2069).  Always NUL-terminates; at most n-1 bytes, never cut
 *  inside an escape or a character.  `max_in` bounds how many input
 *  bytes are looked at (SIZE_MAX: up to the NUL); a character cut by
 *  max_in counts as truncated.  Nothing is written when n == 0. */
void error_escape(char *dst, size_t n, const char *src, size_t max_in);

#endif
