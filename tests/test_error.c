/** \file test_error.c  Unit tests of error.c (cmocka): error_escape lets
 *  well-formed UTF-8 of printable code points through and escapes every
 *  other byte as \xNN (C0/C1 controls, invalid, overlong, truncated and
 *  surrogate sequences, line-breaking and bidi controls), within the
 *  output bound; error_set escapes and keeps the first error.
 *
 *  References: hand-written byte strings and their expected escapes
 *  (Unicode 15, table 3-7 for well-formedness), and an exhaustive check of
 *  every 1- and 2-byte input against a decoder written independently
 *  here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "riskgrid/error.h"

/* escape(src) with a large buffer and no input bound */
static const char *esc(const char *src)
{
    static char buf[512];
    memset(buf, 'Z', sizeof buf);
    error_escape(buf, sizeof buf, src, SIZE_MAX);
    return buf;
}

static void test_ascii_and_c0(void **state)
{
    (void)state;
    assert_string_equal(esc("plain text, 1.5 = x"), "plain text, 1.5 = x");
    assert_string_equal(esc("a\tb\nc\rd"), "a\\x09b\\x0ac\\x0dd");
    assert_string_equal(esc("\x1b[31mred"), "\\x1b[31mred");
    assert_string_equal(esc("del\x7f"), "del\\x7f");
    assert_string_equal(esc(""), "");
}

static void test_valid_utf8_passes(void **state)
{
    (void)state;
    assert_string_equal(esc("caf\xc3\xa9"), "caf\xc3\xa9");                    /* é U+00E9 */
    assert_string_equal(esc("\xc2\xa0nbsp"), "\xc2\xa0nbsp");                  /* U+00A0, first after C1 */
    assert_string_equal(esc("5 \xe2\x82\xac"), "5 \xe2\x82\xac");              /* € U+20AC */
    assert_string_equal(esc("\xf0\x9f\x98\x80!"), "\xf0\x9f\x98\x80!");        /* U+1F600 */
    assert_string_equal(esc("\xe0\xa0\x80"), "\xe0\xa0\x80");                  /* U+0800, shortest 3-byte */
    assert_string_equal(esc("\xed\x9f\xbf"), "\xed\x9f\xbf");                  /* U+D7FF, below surrogates */
    assert_string_equal(esc("\xee\x80\x80"), "\xee\x80\x80");                  /* U+E000, above surrogates */
    assert_string_equal(esc("\xf0\x90\x80\x80"), "\xf0\x90\x80\x80");          /* U+10000 */
    assert_string_equal(esc("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");          /* U+10FFFF */
    assert_string_equal(esc("\xe4\xb8\xad\xe6\x96\x87"), "\xe4\xb8\xad\xe6\x96\x87");
}

static void test_c1_controls(void **state)
{
    (void)state;
    /* raw 8-bit CSI and other C1 bytes */
    assert_string_equal(esc("a\x9b" "31mb"), "a\\x9b31mb");
    assert_string_equal(esc("\x80\x85\x9f"), "\\x80\\x85\\x9f");
    /* their UTF-8 forms U+0080..U+009F */
    assert_string_equal(esc("a\xc2\x9b" "31m"), "a\\xc2\\x9b31m");
    assert_string_equal(esc("\xc2\x80"), "\\xc2\\x80");
    assert_string_equal(esc("\xc2\x9f"), "\\xc2\\x9f");
}

static void test_invalid_sequences(void **state)
{
    (void)state;
    /* overlong forms of '/', NUL and U+07FF */
    assert_string_equal(esc("\xc0\xaf"), "\\xc0\\xaf");
    assert_string_equal(esc("\xc1\xbf"), "\\xc1\\xbf");
    assert_string_equal(esc("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
    assert_string_equal(esc("\xe0\x9f\xbf"), "\\xe0\\x9f\\xbf");
    assert_string_equal(esc("\xf0\x8f\xbf\xbf"), "\\xf0\\x8f\\xbf\\xbf");
    /* surrogates U+D800, U+DFFF (CESU-8) */
    assert_string_equal(esc("\xed\xa0\x80"), "\\xed\\xa0\\x80");
    assert_string_equal(esc("\xed\xbf\xbf"), "\\xed\\xbf\\xbf");
    /* above U+10FFFF, and lead bytes that never occur */
    assert_string_equal(esc("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
    assert_string_equal(esc("\xf5\x80\x80\x80"), "\\xf5\\x80\\x80\\x80");
    assert_string_equal(esc("\xff\xfe"), "\\xff\\xfe");
    /* lone continuation bytes; a valid character right after an invalid byte */
    assert_string_equal(esc("\xa9x"), "\\xa9x");
    assert_string_equal(esc("\xe2\xc3\xa9"), "\\xe2\xc3\xa9");
    /* truncated: by the end of the string, by a following ASCII byte */
    assert_string_equal(esc("\xe2\x82"), "\\xe2\\x82");
    assert_string_equal(esc("\xf0\x9f\x98"), "\\xf0\\x9f\\x98");
    assert_string_equal(esc("\xe2\x82z"), "\\xe2\\x82z");
    assert_string_equal(esc("\xc3"), "\\xc3");
}

static void test_line_and_bidi_controls(void **state)
{
    (void)state;
    assert_string_equal(esc("a\xe2\x80\xa8" "b"), "a\\xe2\\x80\\xa8b");        /* U+2028 */
    assert_string_equal(esc("\xe2\x80\xa9"), "\\xe2\\x80\\xa9");               /* U+2029 */
    assert_string_equal(esc("\xe2\x80\xae" "cba"), "\\xe2\\x80\\xaecba");      /* U+202E RLO */
    assert_string_equal(esc("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");               /* U+2066 LRI */
    assert_string_equal(esc("\xe2\x81\xa9"), "\\xe2\\x81\\xa9");               /* U+2069 PDI */
    assert_string_equal(esc("\xe2\x80\xa7\xe2\x81\xaa"), "\xe2\x80\xa7\xe2\x81\xaa"); /* neighbours pass */
}

/* The input bound max_in: a character cut by it is truncated. */
static void test_max_in(void **state)
{
    char buf[64];
    (void)state;
    error_escape(buf, sizeof buf, "abcdef", 3);
    assert_string_equal(buf, "abc");
    error_escape(buf, sizeof buf, "ab\xe2\x82\xac", 4);
    assert_string_equal(buf, "ab\\xe2\\x82");
    error_escape(buf, sizeof buf, "ab\xe2\x82\xac", 5);
    assert_string_equal(buf, "ab\xe2\x82\xac");
    error_escape(buf, sizeof buf, "ab", 0);
    assert_string_equal(buf, "");
}

/* The output bound n: never more than n-1 bytes, NUL-terminated, never
 * cut inside an escape or a character, nothing written past dst[n-1]. */
static void test_output_bound(void **state)
{
    char buf[16];
    (void)state;
    for (size_t n = 1; n <= 12; n++) {
        memset(buf, 'Z', sizeof buf);
        error_escape(buf, n, "ab\xe2\x82\xac\x1b" "cd", SIZE_MAX);
        assert_true(strlen(buf) <= n - 1);
        for (size_t k = n; k < sizeof buf; k++) assert_int_equal(buf[k], 'Z');
        /* the output is a prefix of the full escape, cut on a unit boundary */
        assert_memory_equal(buf, "ab\xe2\x82\xac\\x1bcd", strlen(buf));
        {
            static const size_t units[] = {0, 1, 2, 5, 9, 10, 11};
            int ok = 0;
            for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) ok |= strlen(buf) == units[u];
            assert_true(ok);
        }
    }
    memset(buf, 'Z', sizeof buf);
    error_escape(buf, 0, "abc", SIZE_MAX);
    assert_int_equal(buf[0], 'Z');
    error_escape(buf, 4, "\xf0\x9f\x98\x80", SIZE_MAX); /* 4 bytes do not fit in 3 */
    assert_string_equal(buf, "");
    error_escape(buf, 5, "\xf0\x9f\x98\x80", SIZE_MAX);
    assert_string_equal(buf, "\xf0\x9f\x98\x80");
}

/* Reference: is the sequence of `len` bytes at s a well-formed UTF-8
 * encoding of one code point that error_escape shows as is?  Decodes
 * first, then checks shortest form and range. */
static int ref_shown(const unsigned char *s, size_t len)
{
    uint32_t cp = 0;
    size_t need = 0;
    if (len == 1) return s[0] >= 0x20 && s[0] < 0x7f;
    if ((s[0] & 0xe0) == 0xc0) { need = 2; cp = s[0] & 0x1fu; }
    else if ((s[0] & 0xf0) == 0xe0) { need = 3; cp = s[0] & 0x0fu; }
    else if ((s[0] & 0xf8) == 0xf0) { need = 4; cp = s[0] & 0x07u; }
    else return 0;
    if (need != len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    if (cp < 0xa0 || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
        return 0;
    return 1;
}

/* Every 1-byte and 2-byte input: either passed whole (iff the reference
 * says it is one shown character) or every byte escaped or passed alone. */
static void test_exhaustive_two_bytes(void **state)
{
    char out[32], want[32];
    (void)state;
    for (unsigned a = 1; a < 256; a++) {
        unsigned char in[3] = {(unsigned char)a, 0, 0};
        const unsigned char one[1] = {(unsigned char)a};
        error_escape(out, sizeof out, (const char *)in, SIZE_MAX);
        if (ref_shown(one, 1)) snprintf(want, sizeof want, "%c", (char)a);
        else snprintf(want, sizeof want, "\\x%02x", a);
        assert_string_equal(out, want);
        for (unsigned b = 1; b < 256; b++) {
            in[1] = (unsigned char)b;
            error_escape(out, sizeof out, (const char *)in, SIZE_MAX);
            if (ref_shown(in, 2)) {
                snprintf(want, sizeof want, "%c%c", (char)a, (char)b);
            } else {
                /* a: alone (it cannot start a longer character here);
                 * then b on its own */
                const unsigned char bb[1] = {(unsigned char)b};
                int n = ref_shown(one, 1) ? snprintf(want, sizeof want, "%c", (char)a)
                                          : snprintf(want, sizeof want, "\\x%02x", a);
                if (ref_shown(bb, 1)) snprintf(want + n, sizeof want - (size_t)n, "%c", (char)b);
                else snprintf(want + n, sizeof want - (size_t)n, "\\x%02x", b);
            }
            assert_string_equal(out, want);
        }
    }
}

static void test_error_set(void **state)
{
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(err.code, ERR_OK);
    assert_int_equal(error_set(&err, ERR_INPUT, "f.csv:2:3: '%s'", "x\xc2\x9b" "2J\xc3\xa9\x1b"), ERR_INPUT);
    assert_int_equal(err.code, ERR_INPUT);
    assert_string_equal(err.msg, "f.csv:2:3: 'x\\xc2\\x9b2J\xc3\xa9\\x1b'");
    /* first error wins */
    assert_int_equal(error_set(&err, ERR_IO, "second"), ERR_IO);
    assert_int_equal(err.code, ERR_INPUT);
    assert_string_equal(err.msg, "f.csv:2:3: 'x\\xc2\\x9b2J\xc3\xa9\\x1b'");
    /* a long message stays bounded and terminated */
    error_clear(&err);
    {
        char big[3000];
        memset(big, '\x9b', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        error_set(&err, ERR_INPUT, "%s", big);
        assert_true(strlen(err.msg) < sizeof err.msg);
        assert_int_equal(strlen(err.msg) % 4, 0);
        assert_memory_equal(err.msg, "\\x9b\\x9b", 8);
    }
    assert_int_equal(error_exit_code(ERR_USAGE), EXIT_USAGE);
    assert_int_equal(error_exit_code(ERR_PREEMPTED), EXIT_PREEMPTED);
    assert_int_equal(error_exit_code(ERR_IO), EXIT_FAILURE_);
    assert_string_equal(error_name(ERR_HDF5), "hdf5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_and_c0),
        cmocka_unit_test(test_valid_utf8_passes),
        cmocka_unit_test(test_c1_controls),
        cmocka_unit_test(test_invalid_sequences),
        cmocka_unit_test(test_line_and_bidi_controls),
        cmocka_unit_test(test_max_in),
        cmocka_unit_test(test_output_bound),
        cmocka_unit_test(test_exhaustive_two_bytes),
        cmocka_unit_test(test_error_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
