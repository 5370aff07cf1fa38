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

/* Length (1-4) of the UTF-8 sequence at s[0..avail) if it is well formed
 * (Unicode 15, table 3-7: shortest form, no surrogates, <= U+10FFFF) and
 * encodes a code point that may be shown as is; 0 if s[0] must be escaped.
 * Shown as is: U+0020..U+007E and U+00A0 and above, except the line and
 * paragraph separators U+2028/U+2029 (some viewers break the line there)
 * and the bidirectional embeddings, overrides and isolates U+202A..U+202E,
 * U+2066..U+2069 (they reorder the text displayed after them).  Never
 * reads s[avail] or past a NUL (a NUL is not a continuation byte). */
static size_t utf8_shown(const unsigned char *s, size_t avail)
{
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    uint32_t cp = 0;

    if (s[0] < 0x80) return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0fu;
        if (s[0] == 0xe0) lo = 0xa0;      /* no overlong 3-byte forms */
        else if (s[0] == 0xed) hi = 0x9f; /* no surrogates U+D800..U+DFFF */
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07u;
        if (s[0] == 0xf0) lo = 0x90;      /* no overlong 4-byte forms */
        else if (s[0] == 0xf4) hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
    }
    if (avail < len) return 0;
    for (size_t k = 1; k < len; k++) {
        unsigned char c = s[k];
        if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf)) return 0;
        cp = (cp << 6) | (c & 0x3fu);
    }
    if (cp < 0xa0) return 0; /* C1 controls U+0080..U+009F */
    if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
        return 0;
    return len;
}

void error_escape(char *dst, size_t n, const char *src, size_t max_in)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0, avail = 0, len = 0;

    if (dst == NULL || n == 0) return;
    while (i < max_in && s[i] != '\0') {
        avail = max_in - i;
        len = utf8_shown(s + i, avail);
        if (len == 0) {
            if (o + 4 >= n) break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[s[i] >> 4];
            dst[o++] = hex[s[i] & 0x0f];
            i++;
        } else {
            if (o + len >= n) break;
            memcpy(dst + o, s + i, len);
            o += len;
            i += len;
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
