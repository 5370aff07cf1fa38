/** \file log.c  Rank-aware logging and collective error agreement (see log.h). */
#include "riskgrid/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Prints prefix, the formatted line through error_escape (paths and names
 * in it may come from hostile files), and a newline on f. */
__attribute__((format(printf, 3, 0)))
static void put_line(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
    char small[512], esc_small[4 * sizeof small];
    char *raw = small, *esc = esc_small;
    size_t cap = sizeof small;
    va_list ap2;
    int len;

    va_copy(ap2, ap);
    len = vsnprintf(small, sizeof small, fmt, ap);
    if (len >= (int)sizeof small) {
        /* a long line: room for all of it (an escape is 4 bytes per byte) */
        cap = (size_t)len + 1;
        raw = malloc(cap);
        esc = raw != NULL && cap <= SIZE_MAX / 4 ? malloc(4 * cap) : NULL;
        if (esc != NULL) (void)vsnprintf(raw, cap, fmt, ap2);
    }
    va_end(ap2);
    fputs(prefix, f);
    if (len < 0 || esc == NULL) {
        fputs("(message lost: out of memory or bad format)", f);
    } else {
        error_escape(esc, 4 * cap, raw, SIZE_MAX);
        fputs(esc, f);
    }
    fputc('\n', f);
    fflush(f);
    if (raw != small) free(raw);
    if (esc != esc_small) free(esc);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    if (g_rank != 0 || g_quiet) return;
    va_start(ap, fmt);
    put_line(stdout, "", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    if (g_rank != 0) return;
    va_start(ap, fmt);
    put_line(stderr, "riskgrid: warning: ", fmt, ap);
    va_end(ap);
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
