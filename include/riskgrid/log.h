/** \file log.h
 *  Rank-aware logging and the collective agreement on errors.
 *
 *  Rule: a phase ends with log_agree(); after it every rank holds the same
 *  status and message (the error of the lowest-numbered failing rank, which
 *  for file-ordered work is the earliest error in the file), so every rank
 *  takes the same branch and no rank is left waiting in a collective.
 *  Only rank 0 prints shared messages.
 */
#ifndef RISKGRID_LOG_H
#define RISKGRID_LOG_H

#include <mpi.h>
#include "riskgrid/error.h"

/** Set once after MPI_Init (rank, size) and from --quiet. */
void log_setup(int rank, int size, int quiet);
int log_rank(void);

/** Progress / info line on rank 0 only (stdout), unless quiet.  Like
 *  log_warn, the formatted text goes through error_escape (a path or a
 *  name in it may come from a hostile file). */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Warning on rank 0 only (stderr), even when quiet. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print "riskgrid: error: <msg>" on rank 0 only (stderr). */
void log_error(const rg_error *err);

/** Collective: combine the local status in err across comm.  Returns the
 *  agreed code (0 if no rank failed); on failure every rank's err holds
 *  the code and message of the lowest failing rank.  If the agreement
 *  itself fails (MPI error) returns ERR_MPI. */
int log_agree(MPI_Comm comm, rg_error *err);

/** Wrap an MPI return code: 0 or ERR_MPI with the MPI error string and
 *  the name of the call in err. */
int log_mpi_check(int mpi_rc, const char *what, rg_error *err);

#endif
