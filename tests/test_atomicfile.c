/** \file test_atomicfile.c  Unit tests of atomicfile.c (cmocka): the file
 *  appears at its path only when published, with the usual mode; nothing
 *  is left behind after success or failure; an existing path is kept
 *  when overwrite is off; and the attacks on the temporary that the scheme
 *  exists for fail: the private directory renamed away and replaced by a
 *  symlink (the file still lands in the private directory and is
 *  published; the symlink's target is untouched), a symlink planted at the
 *  temporary file's name (exclusive creation refuses it), and a writer
 *  without /proc that followed a swapped directory (detected).
 *
 *  References: the files' contents and the directory listings, read back
 *  with plain POSIX calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "riskgrid/atomicfile.h"

typedef struct fixture {
    char dir[64];     /**< scratch directory (the "shared" output directory) */
    char victim[96];  /**< a directory outside it with a file the attacker targets */
    char path[128];   /**< the final path: dir/out.h5 */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char vfile[160];
    FILE *v = NULL;
    if (f == NULL) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_atomicfile.XXXXXX");
    if (mkdtemp(f->dir) == NULL) return -1;
    snprintf(f->victim, sizeof f->victim, "%s.victim", f->dir);
    if (mkdir(f->victim, 0755) != 0) return -1;
    snprintf(vfile, sizeof vfile, "%s/out.h5", f->victim);
    v = fopen(vfile, "w");
    if (v == NULL) return -1;
    fputs("precious", v);
    fclose(v);
    snprintf(f->path, sizeof f->path, "%s/out.h5", f->dir);
    *state = f;
    return 0;
}

/* rm -rf of a scratch tree (two levels are enough here) */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    struct stat st;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else (void)unlink(p);
    }
    if (d != NULL) closedir(d);
    (void)rmdir(dir);
}

static int teardown(void **state)
{
    fixture *f = *state;
    remove_tree(f->dir);
    remove_tree(f->victim);
    free(f);
    return 0;
}

/* Names in dir other than . and .., sorted, joined by ' ' (static buffer). */
static const char *listing(const char *dir)
{
    static char out[1024];
    char *names[32];
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL && n < 32)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0) strncat(out, " ", sizeof out - strlen(out) - 1);
        strncat(out, names[i], sizeof out - strlen(out) - 1);
        free(names[i]);
    }
    return out;
}

static const char *contents(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f == NULL) return "(missing)";
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
}

static void test_publish_and_mode(void **state)
{
    fixture *f = *state;
    atomicfile a;
    rg_error err;
    int fd = -1;
    struct stat st;
    mode_t mask = umask(022);

    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
    /* the private directory: ours, 0700, the only entry next to path */
    assert_int_equal(lstat(a.tmpdir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(strncmp(a.tmpdir + strlen(f->dir), "/.out.h5.tmp.", 13), 0);
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(atomicfile_create(&a, &fd, &err), 0);
    put(fd, "new");
    assert_int_equal(close(fd), 0);
    assert_int_equal(atomicfile_sync(&a, &err), 0);
    assert_int_equal(atomicfile_publish(&a, 0, &err), 0);
    atomicfile_end(&a);
    assert_string_equal(contents(f->path), "new");
    assert_string_equal(listing(f->dir), "out.h5");
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* overwrite on: replaced */
    assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
    assert_int_equal(atomicfile_create(&a, &fd, &err), 0);
    put(fd, "newer");
    assert_int_equal(close(fd), 0);
    assert_int_equal(atomicfile_publish(&a, 1, &err), 0);
    atomicfile_end(&a);
    assert_string_equal(contents(f->path), "newer");
    assert_string_equal(listing(f->dir), "out.h5");
    assert_int_equal(err.code, ERR_OK);
    (void)umask(mask);
}

static void test_failures_leave_nothing(void **state)
{
    fixture *f = *state;
    atomicfile a;
    rg_error err;
    int fd = -1;
    char p[256];

    /* abandoned after writing */
    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
    assert_int_equal(atomicfile_create(&a, &fd, &err), 0);
    put(fd, "half");
    close(fd);
    atomicfile_end(&a);
    assert_string_equal(listing(f->dir), "");

    /* overwrite off and path exists: refused, the existing file kept */
    fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    put(fd, "old");
    close(fd);
    assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
    assert_int_equal(atomicfile_create(&a, &fd, &err), 0);
    put(fd, "new");
    close(fd);
    assert_int_equal(atomicfile_publish(&a, 0, &err), ERR_USAGE);
    assert_non_null(strstr(err.msg, "exists; use --force"));
    atomicfile_end(&a);
    assert_string_equal(contents(f->path), "old");
    assert_string_equal(listing(f->dir), "out.h5");
    assert_int_equal(unlink(f->path), 0);

    /* path is a directory */
    assert_int_equal(mkdir(f->path, 0755), 0);
    for (int ow = 0; ow < 2; ow++) {
        error_clear(&err);
        assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
        assert_int_equal(atomicfile_create(&a, &fd, &err), 0);
        close(fd);
        assert_int_equal(atomicfile_publish(&a, ow, &err), ERR_IO);
        assert_non_null(strstr(err.msg, "is a directory"));
        atomicfile_end(&a);
        assert_string_equal(listing(f->dir), "out.h5");
    }
    assert_int_equal(rmdir(f->path), 0);

    /* directory missing; bad paths */
    snprintf(p, sizeof p, "%s/nodir/out.h5", f->dir);
    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, p, &err), ERR_IO);
    assert_non_null(strstr(err.msg, "does not exist"));
    atomicfile_end(&a); /* harmless after a failed begin */
    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, "", &err), ERR_USAGE);
    snprintf(p, sizeof p, "%s/", f->dir);
    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, p, &err), ERR_USAGE);
    assert_string_equal(listing(f->dir), "");
}

/* The private directory is renamed away and a symlink to the victim's
 * directory put at its name, between begin and the writer's open (what
 * anybody who can write the output directory can do).  A writer opening
 * open_name still creates the file in the private directory: the victim
 * is untouched and the published file is the writer's. */
static void test_swapped_directory(void **state)
{
    fixture *f = *state;
    atomicfile a;
    rg_error err;
    int fd = -1;
    char moved[256], vfile[256], lname[256];

    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
    snprintf(lname, sizeof lname, "%s", a.tmpdir);
    if (access("/proc/self/fd", F_OK) == 0) assert_int_equal(strncmp(a.open_name, "/proc/self/fd/", 14), 0);
    snprintf(moved, sizeof moved, "%s.moved", a.tmpdir);
    assert_int_equal(rename(a.tmpdir, moved), 0);
    assert_int_equal(symlink(f->victim, a.tmpdir), 0);
    /* as HDF5 would (H5F_ACC_EXCL) */
    fd = open(a.open_name, O_RDWR | O_CREAT | O_EXCL, 0666);
    if (fd < 0 && strncmp(a.open_name, "/proc/", 6) != 0) {
        print_message("  no /proc: the fallback name cannot survive a swapped directory; skipped\n");
        atomicfile_end(&a);
        skip();
    }
    assert_true(fd >= 0);
    assert_int_equal(atomicfile_check_fd(&a, fd, &err), 0);
    put(fd, "mine");
    assert_int_equal(close(fd), 0);
    assert_int_equal(atomicfile_sync(&a, &err), 0);
    assert_int_equal(atomicfile_publish(&a, 1, &err), 0);
    atomicfile_end(&a);
    snprintf(vfile, sizeof vfile, "%s/out.h5", f->victim);
    assert_string_equal(contents(vfile), "precious");
    assert_string_equal(listing(f->victim), "out.h5");
    assert_string_equal(contents(f->path), "mine");
    /* the moved directory is empty (the file was moved out of it); the
     * symlink at the old name was not ours to remove */
    assert_string_equal(listing(moved), "");
    assert_int_equal(rmdir(moved), 0);
    assert_int_equal(unlink(lname), 0);
    assert_string_equal(listing(f->dir), "out.h5");
    assert_int_equal(err.code, ERR_OK);
}

/* A writer that opened the plain name (no /proc) after the swap created
 * its file in the attacker's directory: atomicfile_check_fd notices. */
static void test_check_fd_detects_swap(void **state)
{
    fixture *f = *state;
    atomicfile a;
    rg_error err;
    int fd = -1;
    char moved[256], vfile[256], lname[256];

    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
    snprintf(moved, sizeof moved, "%s.moved", a.tmpdir);
    snprintf(lname, sizeof lname, "%s", a.tmpdir);
    assert_int_equal(rename(a.tmpdir, moved), 0);
    assert_int_equal(symlink(f->victim, a.tmpdir), 0);
    snprintf(vfile, sizeof vfile, "%s/out.h5", f->victim);
    assert_int_equal(unlink(vfile), 0); /* so that O_EXCL succeeds there */
    fd = open(a.tmpfile, O_RDWR | O_CREAT | O_EXCL, 0666);
    assert_true(fd >= 0);
    assert_int_equal(atomicfile_check_fd(&a, fd, &err), ERR_IO);
    assert_non_null(strstr(err.msg, "tampered with"));
    close(fd);
    atomicfile_end(&a);
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(rmdir(moved), 0);
    assert_int_equal(unlink(lname), 0);
    assert_string_equal(listing(f->dir), "");
}

/* A symlink planted at the temporary file's name (only possible for this
 * user or root: the directory is 0700) is never followed. */
static void test_planted_symlink(void **state)
{
    fixture *f = *state;
    atomicfile a;
    rg_error err;
    int fd = -1;
    char vfile[256];

    snprintf(vfile, sizeof vfile, "%s/out.h5", f->victim);
    error_clear(&err);
    assert_int_equal(atomicfile_begin(&a, f->path, &err), 0);
    assert_int_equal(symlink(vfile, a.tmpfile), 0);
    assert_int_equal(atomicfile_create(&a, &fd, &err), ERR_IO);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err.msg, "File exists"));
    /* as HDF5 would (H5F_ACC_EXCL) */
    errno = 0;
    assert_int_equal(open(a.open_name, O_RDWR | O_CREAT | O_EXCL, 0666), -1);
    assert_int_equal(errno, EEXIST);
    atomicfile_end(&a);
    assert_string_equal(contents(vfile), "precious");
    assert_string_equal(listing(f->dir), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_fd_detects_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planted_symlink, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
