/** \file error.c  Status codes and the error object (see error.h). */
#include "riskgrid/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void error_clear(rg_error *err)
{
    if (err == NULL) return;
    err->code = ERR_OK;
    err->msg[0] = '\0';
}

void error_escape(char *dst, size_t n, const char *src, size_t max_in)
{
    size_t o = 0;
    if (n == 0) return;
    for (size_t i = 0; i < max_in && src[i] != '\0'; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c == 0x7f) {
            if (o + 4 >= n) break;
            snprintf(dst + o, 5, "\\x%02x", c);
            o += 4;
        } else {
            if (o + 1 >= n) break;
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
}

int error_set(rg_error *err, int code, const char *fmt, ...)
{
    char raw[ERROR_MSG_MAX];
    va_list ap;
    if (err == NULL || err->code != ERR_OK) return code;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    err->code = code;
    error_escape(err->msg, sizeof err->msg, raw, SIZE_MAX);
    return code;
}

int error_exit_code(int code)
{
    switch (code) {
    case ERR_OK: return EXIT_OK;
    case ERR_USAGE: return EXIT_USAGE;
    case ERR_PREEMPTED: return EXIT_PREEMPTED;
    default: return EXIT_FAILURE_;
    }
}

const char *error_name(int code)
{
    switch (code) {
    case ERR_OK: return "ok";
    case ERR_USAGE: return "usage";
    case ERR_INPUT: return "input";
    case ERR_IO: return "io";
    case ERR_NOMEM: return "out of memory";
    case ERR_MPI: return "mpi";
    case ERR_HDF5: return "hdf5";
    case ERR_NUMERIC: return "numeric";
    case ERR_PREEMPTED: return "preempted";
    default: return "internal";
    }
}
