/* session.h - the FUSE layer's public interface, for daemon/ and tests: a
 * FUSE session serves one open struct fs at one mount point over its own
 * kernel connection (/dev/fuse fd), with its own request loop, negotiated
 * options (passthrough or the writeback cache) and passthrough backing ids.
 * One process may serve several sessions of one file system, each on its
 * own thread calling efsfs_session_run; from its mount to its unmount each
 * tells the others' kernels of every change it makes (fuse/notify.c), so
 * what one wrote and closed is what an open on another reads.
 *
 * Lifecycle: efsfs_session_new, efsfs_session_mount, efsfs_session_run
 * (until unmounted or stopped), efsfs_session_destroy (unmounts if still
 * mounted).  The struct fs must stay open until the session is destroyed.
 */
#ifndef EFSFS_FUSE_SESSION_H
#define EFSFS_FUSE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/fs.h"

struct efsfs_session;

struct efsfs_session_opts {
	const char *mountpoint;     /* an absolute, canonical path */
	const char *mount_opts;     /* comma-separated FUSE mount options (-o), or NULL */
	unsigned max_threads;       /* workers of the request loop; 0: 16 */
	bool debug;                 /* libfuse's request trace (-d) */
	uint64_t root_ino;          /* the session's root directory (a subdirectory or an access
				     * point's root): 0 = the file system's root */
	const struct fs_ident *ident; /* non-NULL: every request runs as this identity whatever the
				     * caller's (an access point's PosixUser); copied at new */
	bool squash_root;           /* callers with uid 0 run as 65534:65534 (no ClientRootAccess) */
	bool deny_write;            /* every change is EROFS (no ClientWrite) */
	struct meter *meter;        /* the file system's meter (meter/meter.h), or NULL;
	                               it must outlive the session */
};

/* A session for fs (with fs_conf(fs)'s name, timeouts, passthrough and
 * writeback settings) at o->mountpoint, not mounted yet.  err: one
 * sentence, for a mount option libfuse refuses, or a root_ino that is
 * not a directory (-ENOTDIR) or is gone (-ENOENT).  The session holds its
 * own reference on root_ino until destroyed (a reference the caller got
 * from fs_resolve_root stays the caller's to drop).  With ident or
 * squash_root the session checks permissions itself (fuse/view.c) and is
 * mounted without default_permissions; mount_opts asking for it then are
 * refused (-EINVAL, err naming the option). */
int efsfs_session_new(struct fs *fs, const struct efsfs_session_opts *o,
		      struct efsfs_session **ret_s, char *err, size_t errlen);
/* libfuse's SIGINT/SIGTERM/SIGHUP handlers (SIGPIPE ignored), which end
 * this session's loop.  At most one session of a process has them. */
int efsfs_session_set_signal_handlers(struct efsfs_session *s);
void efsfs_session_remove_signal_handlers(struct efsfs_session *s);
/* Mounts the session at its mount point and hooks its I/O for passthrough
 * when the config asks for it and we are root. */
int efsfs_session_mount(struct efsfs_session *s, char *err, size_t errlen);
/* Instead of efsfs_session_mount: serves a FUSE mount made by another
 * process (efsfs_kmount_new in mount.efsfs), whose /dev/fuse fd it takes
 * over (closed by efsfs_session_destroy).  efsfs_session_unmount does not
 * unmount it: that process's mount namespace may not be ours. */
int efsfs_session_mount_fd(struct efsfs_session *s, int fd, char *err, size_t errlen);
/* Serves the session's requests on worker threads until it is unmounted,
 * stopped or sent a signal: 0, or -errno when reading /dev/fuse failed. */
int efsfs_session_run(struct efsfs_session *s);
/* Asks a running efsfs_session_run to return (from any thread; async-
 * signal-safe).  The mount stays until efsfs_session_unmount. */
void efsfs_session_stop(struct efsfs_session *s);
/* Detaches the mount, if mounted.  Not while efsfs_session_run runs. */
void efsfs_session_unmount(struct efsfs_session *s);
/* Unmounts if mounted and frees the session.  Accepts NULL. */
void efsfs_session_destroy(struct efsfs_session *s);

/* After the kernel's INIT: whether this session's connection negotiated
 * passthrough, and the handles it opened with passthrough so far. */
bool efsfs_session_passthrough(struct efsfs_session *s);
uint64_t efsfs_session_passthrough_opens(struct efsfs_session *s);
/* Requests served from FUSE over io_uring ring entries so far (0 when the
 * session serves /dev/fuse only: fuse_uring = off, or the kernel refused). */
uint64_t efsfs_session_uring_requests(struct efsfs_session *s);
/* For tests: every session's notifier (notify.c) waits ms before each
 * change it takes off its queue, as on a host too loaded to schedule it
 * at once.  0 (the default) for none. */
void efsfs_session_test_notify_delay(unsigned ms);

/* A FUSE mount made here for a daemon to serve (mount.efsfs attaching a
 * mount to a running daemon): the kernel mount at mountpoint with the
 * options efsfs_session_new and efsfs_session_mount would use (fs_conf's
 * name, allow_other, mount_opts; default_permissions unless kernel_checks
 * is false: the session will check permissions itself, as an access point's
 * or a root-squashing one does, and mount_opts may not ask for it then),
 * done in this process's mount namespace
 * (mount(2), or fusermount3 for a user).  Nothing serves it until its fd
 * went to a session (efsfs_session_mount_fd); until then accesses wait. */
struct efsfs_kmount;
int efsfs_kmount_new(const struct conf *conf, const char *mountpoint, const char *mount_opts,
		     bool kernel_checks, struct efsfs_kmount **ret_k, char *err, size_t errlen);
/* The mount's /dev/fuse fd (owned by k; send a copy). */
int efsfs_kmount_fd(const struct efsfs_kmount *k);
/* Frees k (accepts NULL); unmount: detach the mount first, when no daemon
 * took it. */
void efsfs_kmount_free(struct efsfs_kmount *k, bool unmount);

#endif
