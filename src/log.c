/** \file log.c  Rank-aware logging and collective error agreement (see log.h). */
#include "riskgrid/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int g_rank = 0;
static int g_size = 1;
static int g_quiet = 0;

void log_setup(int rank, int size, int quiet)
{
    g_rank = rank;
    g_size = size;
    g_quiet = quiet;
}

int log_rank(void) { return g_rank; }

void log_info(const char *fmt, ...)
{
    va_list ap;
    if (g_rank != 0 || g_quiet) return;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    if (g_rank != 0) return;
    fputs("riskgrid: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void log_error(const rg_error *err)
{
    if (g_rank != 0 || err == NULL || err->code == ERR_OK) return;
    fprintf(stderr, "riskgrid: error: %s\n", err->msg);
    fflush(stderr);
}

int log_mpi_check(int mpi_rc, const char *what, rg_error *err)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (mpi_rc == MPI_SUCCESS) return ERR_OK;
    if (MPI_Error_string(mpi_rc, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "code %d", mpi_rc);
    return error_set(err, ERR_MPI, "%s failed: %s", what, s);
}

int log_agree(MPI_Comm comm, rg_error *err)
{
    /* Invariant on return: every rank holds the error of the lowest failing
     * rank (or none).  Two collectives: MIN over failing ranks, then a
     * broadcast of that rank's error object. */
    int rank = 0, mine = INT_MAX, first = INT_MAX;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS) return ERR_MPI;
    if (err->code != ERR_OK) mine = rank;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS) {
        err->code = ERR_MPI;
        snprintf(err->msg, sizeof err->msg, "MPI_Allreduce failed while agreeing on errors");
        return ERR_MPI;
    }
    if (first == INT_MAX) return ERR_OK;
    if (MPI_Bcast(err, (int)sizeof *err, MPI_BYTE, first, comm) != MPI_SUCCESS) {
        err->code = ERR_MPI;
        snprintf(err->msg, sizeof err->msg, "MPI_Bcast failed while agreeing on errors");
        return ERR_MPI;
    }
    return err->code;
}
