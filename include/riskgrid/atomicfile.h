/** \file atomicfile.h
 *  Writing a file atomically without ever opening a name someone else can
 *  create: the file is made inside a private temporary directory next to
 *  its final path and renamed (or linked) onto that path when complete.
 *
 *  Why a directory and not mkstemp: HDF5 opens files by name.  A file made
 *  by mkstemp in a shared directory and then re-opened by name can be
 *  swapped for a symlink in between, and the writer would truncate the
 *  symlink's target.  Here
 *  - the directory "<dir>/.<base>.tmp.XXXXXX" is made by mkdtemp (mode
 *    0700: nobody else can create anything in it), opened with O_NOFOLLOW
 *    and checked to be a directory owned by this user;
 *  - the writer creates "<base>" inside it exclusively (O_EXCL, which never
 *    follows a symlink) through the name atomicfile.open_name, which is
 *    "/proc/self/fd/<N>/<base>" with N the open descriptor of the directory:
 *    it reaches that very directory even if someone renames the directory
 *    and puts a symlink at its name (without /proc it is the plain name;
 *    atomicfile_check_fd then detects a swapped directory after the fact);
 *  - every later step (fsync, rename/link, unlink) goes through the
 *    directory descriptor, never through a name in the shared directory,
 *    except the final path itself and the removal of the empty directory
 *    (only if it is still the one made here).
 *  rename(2) within one filesystem is atomic, so path is either the old
 *  file or the complete new one; on every failure the temporary file and
 *  directory are removed and path is untouched.
 *
 *  Test hook: with RISKGRID_TEST_TMP_HANDSHAKE=FILE in the environment,
 *  atomicfile_begin writes the temporary file's name (tmpfile) into FILE
 *  and waits until FILE is removed (at most 60 s) before returning, so a
 *  test can attack the temporary between its creation and the writer's
 *  open (tests/e2e/tmp_symlink.sh).
 */
#ifndef RISKGRID_ATOMICFILE_H
#define RISKGRID_ATOMICFILE_H

#include <sys/types.h>

#include "riskgrid/error.h"

/** One file being written.  Zero it (or call atomicfile_begin, which does)
 *  before use; atomicfile_end releases it whatever happened. */
typedef struct atomicfile {
    char *path;      /**< the final path (a copy) */
    char *dir;       /**< its directory ("." when path has no '/') */
    char *tmpdir;    /**< the private directory "<dir>/.<base>.tmp.XXXXXX" */
    char *tmpfile;   /**< "<tmpdir>/<base>": the temporary file, for messages */
    char *open_name; /**< the name to create the temporary file by */
    char *base;      /**< the base name of path; the file's name in tmpdir */
    int dfd;         /**< open descriptor of tmpdir, or -1 */
    dev_t dev;       /**< identity of tmpdir */
    ino_t ino;
    int published;   /**< 1 once the file is at path (nothing to remove) */
} atomicfile;

/** Makes the private directory for a new file at path.  ERR_USAGE for an
 *  empty path or one ending in '/', ERR_IO if the directory of path does
 *  not exist or is not writable ("output directory '...' does not exist"),
 *  ERR_NOMEM.  On failure nothing is left behind and *a needs no
 *  atomicfile_end (calling it is harmless). */
int atomicfile_begin(atomicfile *a, const char *path, rg_error *err);

/** Creates the temporary file for writing (O_EXCL, mode 0666 & ~umask) and
 *  returns its descriptor in *fd.  For writers that take a descriptor; a
 *  writer that opens by name (HDF5) uses open_name with exclusive creation
 *  instead and then atomicfile_check_fd. */
int atomicfile_create(atomicfile *a, int *fd, rg_error *err);

/** Checks that fd (opened by a writer through open_name) is the regular
 *  file "<base>" inside the private directory.  ERR_IO if not (the
 *  directory was swapped under a writer that had no /proc). */
int atomicfile_check_fd(const atomicfile *a, int fd, rg_error *err);

/** fsync of the temporary file (after the writer closed it). */
int atomicfile_sync(const atomicfile *a, rg_error *err);

/** Moves the complete temporary file to path and fsyncs path's directory.
 *  overwrite: rename(2), atomic replacement.  Otherwise link(2) then
 *  unlink(2): link fails with EEXIST if path exists at that instant, so a
 *  file that appeared meanwhile is never clobbered (ERR_USAGE "output '...'
 *  exists; use --force or [output] overwrite = true"); filesystems without
 *  hard links fall back to lstat + rename, which has a small window.
 *  ERR_IO "output '...' is a directory" if path is a directory. */
int atomicfile_publish(atomicfile *a, int overwrite, rg_error *err);

/** Removes the temporary file (unless published) and the private
 *  directory, closes and frees everything.  Errors are ignored: the
 *  failure being reported, if any, is the one that brought us here. */
void atomicfile_end(atomicfile *a);

#endif
