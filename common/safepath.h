/* safepath.h - who may reach the directories and files efsfs keeps a file
 * system in, and opening files beneath a directory without following
 * symbolic links.
 *
 * The rule (README, "Permissions"), for a data directory or a file:// store
 * root, checked on the way down from "/" with one fd per component:
 *  - every directory on the way is owned by root or by this process's
 *    effective uid, and is not writable by group or others unless it is
 *    sticky (as /tmp is): nobody else can then rename or replace what lies
 *    below it;
 *  - a symbolic link on the way is followed only when it is owned by root
 *    or by this uid (its target is checked by the same rule);
 *  - the directory itself is owned by this uid; when group or others have
 *    any access to it, SAFE_TIGHTEN takes it away (chmod go-rwx) and says
 *    so in the note, else that is refused.
 * A refusal is -EPERM with a message naming the path, its owner and mode.
 * Stateless and thread-safe.
 */
#ifndef EFSFS_SAFEPATH_H
#define EFSFS_SAFEPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SAFE_CREATE   1u    /* create missing directories (the last 0700) */
#define SAFE_TIGHTEN  2u    /* take group/other access away from the last one */

/* Checks the absolute directory path by the rule above and returns an
 * O_RDONLY|O_DIRECTORY fd of it.  note (may be NULL) receives what was
 * tightened, or "" when nothing was.  -ENOENT when it is missing (without
 * SAFE_CREATE), -EPERM when the rule refuses it; err names the path. */
int safe_dir_open(const char *path, unsigned flags, int *ret_fd, char *note, size_t notelen,
		  char *err, size_t errlen);

/* Checks an entry of a checked directory: not a symbolic link, owned by this
 * uid; group/other access is taken away (tightened is set) when it has any.
 * -ENOENT when it does not exist, -EPERM (err names path) when refused. */
int safe_entry_tighten(int dirfd, const char *name, const char *path, bool *ret_tightened,
		       char *err, size_t errlen);

/* Opens rel (a relative path without "..") beneath dirfd following no
 * symbolic link on the way: openat2() with RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS, or, where the kernel has no openat2, one
 * O_NOFOLLOW openat() per component (safe_openat_walk).  O_CLOEXEC is
 * always added.  The fd, or -errno (-ELOOP on a symbolic link, -EXDEV on
 * a path leaving dirfd). */
int safe_openat(int dirfd, const char *rel, int flags, mode_t mode);
int safe_openat_walk(int dirfd, const char *rel, int flags, mode_t mode);

/* A key file (fd open on path) must be a regular file owned by this uid
 * with no group or other access; -EPERM with a message naming the path,
 * the owner and the mode otherwise. */
int safe_key_check(int fd, const char *path, char *err, size_t errlen);

/* Whether the file `file` and the directory `dir` share one tree: the
 * file's directory is dir or contains it, or dir contains the file (both
 * compared after resolving what exists of them). */
bool safe_same_tree(const char *file, const char *dir);

#endif
