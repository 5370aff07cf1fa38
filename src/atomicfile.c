/** \file atomicfile.c  Atomic file writing through a private temporary
 *  directory (see atomicfile.h for the scheme and why).
 *
 *  Invariants: a->dfd >= 0 exactly while the private directory exists and
 *  is ours; the temporary file is only ever touched relative to a->dfd
 *  (openat/fstatat/linkat/renameat/unlinkat with the base name, never
 *  following a symlink); the shared directory is only touched at
 *  "<tmpdir>" (mkdtemp, the final rmdir after an identity check) and at
 *  the final path.
 */
#include "riskgrid/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Splits path into a directory ("." when path has no '/') and a base
 * name, both malloc'd into a.  ERR_USAGE for an empty path or one ending
 * in '/'. */
static int split_path(atomicfile *a, const char *path, rg_error *err)
{
    int rc = 0;
    const char *slash = NULL;
    size_t dlen = 0;

    if (path == NULL || path[0] == '\0') { rc = error_set(err, ERR_USAGE, "output path is empty"); goto done; }
    slash = strrchr(path, '/');
    if (slash != NULL && slash[1] == '\0') {
        rc = error_set(err, ERR_USAGE, "output '%s' ends in '/': it must name a file", path);
        goto done;
    }
    if (slash == NULL) {
        a->dir = strdup(".");
        a->base = strdup(path);
    } else {
        dlen = slash == path ? 1 : (size_t)(slash - path); /* "/x" -> "/"; slash > path here */
        a->dir = malloc(dlen + 1);
        if (a->dir != NULL) {
            memcpy(a->dir, path, dlen);
            a->dir[dlen] = '\0';
        }
        a->base = strdup(slash + 1);
    }
    a->path = strdup(path);
    if (a->dir == NULL || a->base == NULL || a->path == NULL)
        rc = error_set(err, ERR_NOMEM, "out of memory for output path '%s'", path);
done:
    return rc;
}

/* malloc'd printf-style string, NULL when out of memory. */
__attribute__((format(printf, 1, 2)))
static char *strfmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n = 0;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) goto done;
    s = malloc((size_t)n + 1);
    if (s == NULL) goto done;
    va_start(ap, fmt);
    (void)vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
done:
    return s;
}

/* Test hook, see atomicfile.h: announce name in FILE (written under
 * FILE.part and renamed, so the reader never sees half a name) and wait
 * until FILE is gone, at most 60 s. */
static void test_handshake(const char *name)
{
    const char *hs = getenv("RISKGRID_TEST_TMP_HANDSHAKE");
    char *part = NULL;
    FILE *f = NULL;
    struct timespec tick = {0, 10 * 1000 * 1000};

    if (hs == NULL || hs[0] == '\0') goto done;
    part = strfmt("%s.part", hs);
    if (part == NULL || (f = fopen(part, "w")) == NULL) goto done;
    fprintf(f, "%s\n", name);
    if (fclose(f) != 0 || rename(part, hs) != 0) goto done;
    for (int i = 0; i < 6000 && access(hs, F_OK) == 0; i++) (void)nanosleep(&tick, NULL);
done:
    free(part);
}

int atomicfile_begin(atomicfile *a, const char *path, rg_error *err)
{
    int rc = 0;
    struct stat st;

    memset(a, 0, sizeof *a);
    a->dfd = -1;
    if ((rc = split_path(a, path, err)) != 0) goto done;
    a->tmpdir = strfmt("%s/.%s.tmp.XXXXXX", a->dir, a->base);
    if (a->tmpdir == NULL) { rc = error_set(err, ERR_NOMEM, "cannot write '%s': out of memory", path); goto done; }
    if (mkdtemp(a->tmpdir) == NULL) {
        if (errno == ENOENT)
            rc = error_set(err, ERR_IO, "output directory '%s' does not exist", a->dir);
        else
            rc = error_set(err, ERR_IO, "cannot create a temporary directory in '%s': %s", a->dir, strerror(errno));
        free(a->tmpdir);
        a->tmpdir = NULL; /* nothing to remove */
        goto done;
    }
    /* the name may have been swapped since mkdtemp: O_NOFOLLOW refuses a
     * symlink, the owner check a directory made by someone else.  (The
     * mode is not checked: filesystems such as vfat fix it by mount
     * option.  Even in someone else's directory O_EXCL keeps the writer
     * from opening anything but a new file.) */
    a->dfd = open(a->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (a->dfd < 0) {
        rc = error_set(err, ERR_IO, "cannot open the temporary directory '%s': %s", a->tmpdir, strerror(errno));
        goto done;
    }
    if (fstat(a->dfd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        (void)close(a->dfd);
        a->dfd = -1;
        rc = error_set(err, ERR_IO, "the temporary directory '%s' is not owned by this user (replaced by someone else, or a filesystem that maps owners); not writing '%s'",
                       a->tmpdir, path);
        goto done;
    }
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    a->tmpfile = strfmt("%s/%s", a->tmpdir, a->base);
    a->open_name = strfmt("/proc/self/fd/%d/%s", a->dfd, a->base);
    if (a->tmpfile == NULL || a->open_name == NULL) { rc = error_set(err, ERR_NOMEM, "cannot write '%s': out of memory", path); goto done; }
    {
        /* without /proc (or with another one) fall back to the plain name */
        char *fdname = strfmt("/proc/self/fd/%d", a->dfd);
        struct stat pst;
        int ok = fdname != NULL && stat(fdname, &pst) == 0 && pst.st_dev == a->dev && pst.st_ino == a->ino;
        free(fdname);
        if (!ok) {
            free(a->open_name);
            a->open_name = strdup(a->tmpfile);
            if (a->open_name == NULL) { rc = error_set(err, ERR_NOMEM, "cannot write '%s': out of memory", path); goto done; }
        }
    }
    test_handshake(a->tmpfile);
done:
    if (rc != 0) atomicfile_end(a);
    return rc;
}

int atomicfile_create(atomicfile *a, int *fd, rg_error *err)
{
    int rc = 0;

    *fd = -1;
    if (a->dfd < 0) { rc = error_set(err, ERR_INTERNAL, "atomicfile_create: no temporary directory"); goto done; }
    *fd = openat(a->dfd, a->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (*fd < 0) rc = error_set(err, ERR_IO, "cannot create '%s': %s", a->tmpfile, strerror(errno));
done:
    return rc;
}

int atomicfile_check_fd(const atomicfile *a, int fd, rg_error *err)
{
    int rc = 0;
    struct stat in_dir, opened;

    if (a->dfd < 0 || fd < 0 || fstat(fd, &opened) != 0 ||
        fstatat(a->dfd, a->base, &in_dir, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(in_dir.st_mode) ||
        in_dir.st_dev != opened.st_dev || in_dir.st_ino != opened.st_ino)
        rc = error_set(err, ERR_IO, "the temporary file '%s' is not the file that was opened (the temporary directory was tampered with); not writing '%s'",
                       a->tmpfile, a->path);
    return rc;
}

int atomicfile_sync(const atomicfile *a, rg_error *err)
{
    int rc = 0, fd = -1;

    if (a->dfd < 0) { rc = error_set(err, ERR_INTERNAL, "atomicfile_sync: no temporary directory"); goto done; }
    fd = openat(a->dfd, a->base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        rc = error_set(err, ERR_IO, "cannot write '%s': fsync of '%s' failed: %s", a->path, a->tmpfile, strerror(errno));
        goto done;
    }
done:
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = error_set(err, ERR_IO, "cannot write '%s': closing '%s' failed: %s", a->path, a->tmpfile, strerror(errno));
    return rc;
}

/* fsync of the directory p; EINVAL (the filesystem cannot sync
 * directories) is not an error.  -1 with errno on failure. */
static int sync_dir(const char *p)
{
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0, e = 0;
    if (fd < 0) return -1;
    if (fsync(fd) != 0 && errno != EINVAL) {
        e = errno;
        rc = -1;
    }
    if (close(fd) != 0 && rc == 0) {
        e = errno;
        rc = -1;
    }
    if (rc != 0) errno = e;
    return rc;
}

int atomicfile_publish(atomicfile *a, int overwrite, rg_error *err)
{
    int rc = 0;
    struct stat st;

    if (a->dfd < 0 || a->published) { rc = error_set(err, ERR_INTERNAL, "atomicfile_publish: nothing to publish"); goto done; }
    if (!overwrite) {
        if (linkat(a->dfd, a->base, AT_FDCWD, a->path, 0) == 0) {
            a->published = 1; /* path is complete; the second name goes with the directory */
            if (unlinkat(a->dfd, a->base, 0) != 0) {
                rc = error_set(err, ERR_IO, "'%s' written, but removing the temporary name '%s' failed: %s",
                               a->path, a->tmpfile, strerror(errno));
                goto done;
            }
            goto synced;
        }
        if (errno == EEXIST) {
            if (lstat(a->path, &st) == 0 && S_ISDIR(st.st_mode))
                rc = error_set(err, ERR_IO, "output '%s' is a directory", a->path);
            else
                rc = error_set(err, ERR_USAGE, "output '%s' exists; use --force or [output] overwrite = true", a->path);
            goto done;
        }
        if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS && errno != EMLINK) {
            rc = error_set(err, ERR_IO, "cannot move '%s' to '%s': %s", a->tmpfile, a->path, strerror(errno));
            goto done;
        }
        if (lstat(a->path, &st) == 0) {
            rc = error_set(err, ERR_USAGE, "output '%s' exists; use --force or [output] overwrite = true", a->path);
            goto done;
        }
    }
    if (renameat(a->dfd, a->base, AT_FDCWD, a->path) != 0) {
        if (errno == EISDIR)
            rc = error_set(err, ERR_IO, "output '%s' is a directory", a->path);
        else
            rc = error_set(err, ERR_IO, "cannot rename '%s' to '%s': %s", a->tmpfile, a->path, strerror(errno));
        goto done;
    }
    a->published = 1;
synced:
    if (sync_dir(a->dir) != 0)
        rc = error_set(err, ERR_IO, "'%s' written, but fsync of directory '%s' failed: %s", a->path, a->dir, strerror(errno));
done:
    return rc;
}

void atomicfile_end(atomicfile *a)
{
    struct stat st;

    if (a == NULL) return;
    if (a->dfd >= 0) {
        if (a->base != NULL) (void)unlinkat(a->dfd, a->base, 0); /* ENOENT once renamed */
        (void)close(a->dfd);
        a->dfd = -1;
        /* remove the (now empty) directory only if the name still is it:
         * someone may have moved it and put something else there */
        if (a->tmpdir != NULL && lstat(a->tmpdir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == a->dev && st.st_ino == a->ino)
            (void)rmdir(a->tmpdir);
    } else if (a->tmpdir != NULL) {
        /* made but never opened as ours: remove it only if it is an empty
         * directory (rmdir refuses anything else) */
        (void)rmdir(a->tmpdir);
    }
    free(a->path);
    free(a->dir);
    free(a->base);
    free(a->tmpdir);
    free(a->tmpfile);
    free(a->open_name);
    memset(a, 0, sizeof *a);
    a->dfd = -1;
}
