/** \file test_log.c  Unit tests of log.c's printing (cmocka, no MPI
 *  calls): log_info and log_warn print one line through error_escape (a
 *  path or name from a hostile file cannot drive the terminal), also when
 *  the line is longer than the internal buffer; only rank 0 prints;
 *  --quiet silences log_info but not log_warn.
 *
 *  References: the expected escaped text, written by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "riskgrid/log.h"

/* Runs fn with file descriptor fd (1 or 2) redirected to a temporary file
 * and returns what was written (malloc'd, NUL-terminated). */
static char *capture(int fd, void (*fn)(void))
{
    char path[] = "/tmp/riskgrid-test-log.XXXXXX";
    int tmp = mkstemp(path), saved = dup(fd);
    FILE *f = NULL;
    char *out = NULL;
    long len = 0;

    assert_true(tmp >= 0 && saved >= 0);
    fflush(fd == 1 ? stdout : stderr);
    assert_true(dup2(tmp, fd) >= 0);
    fn();
    fflush(fd == 1 ? stdout : stderr);
    assert_true(dup2(saved, fd) >= 0);
    close(saved);
    close(tmp);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    out = calloc((size_t)len + 1, 1);
    assert_non_null(out);
    assert_int_equal(fread(out, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    unlink(path);
    return out;
}

static void info_hostile(void) { log_info("data: %s: 3 rows", "d\x9b" "2J\xc2\x9b\x1b[0m\xc3\xa9.csv"); }
static void warn_hostile(void) { log_warn("could not remove %s", "c\x07\xe2\x80\xae.ckpt"); }

static void test_info_and_warn_escaped(void **state)
{
    char *out = NULL;
    (void)state;
    log_setup(0, 1, 0);
    out = capture(1, info_hostile);
    assert_string_equal(out, "data: d\\x9b2J\\xc2\\x9b\\x1b[0m\xc3\xa9.csv: 3 rows\n");
    free(out);
    out = capture(2, warn_hostile);
    assert_string_equal(out, "riskgrid: warning: could not remove c\\x07\\xe2\\x80\\xae.ckpt\n");
    free(out);
}

/* longer than log.c's stack buffer (512): still whole and escaped */
static void info_long(void)
{
    char name[2001];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    name[1500] = '\x9b';
    log_info("<%s>", name);
}

static void test_long_line(void **state)
{
    char *out = NULL;
    (void)state;
    log_setup(0, 1, 0);
    out = capture(1, info_long);
    assert_int_equal(strlen(out), 1 + 2000 + 3 + 1 + 1);
    assert_memory_equal(out + 1 + 1500, "\\x9b", 4);
    assert_string_equal(out + strlen(out) - 3, "a>\n");
    free(out);
}

static void test_rank_and_quiet(void **state)
{
    char *out = NULL;
    (void)state;
    log_setup(1, 2, 0);
    out = capture(1, info_hostile);
    assert_string_equal(out, "");
    free(out);
    out = capture(2, warn_hostile);
    assert_string_equal(out, "");
    free(out);
    log_setup(0, 1, 1);
    out = capture(1, info_hostile);
    assert_string_equal(out, "");
    free(out);
    out = capture(2, warn_hostile);
    assert_true(strncmp(out, "riskgrid: warning: ", 19) == 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_and_warn_escaped),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_rank_and_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
