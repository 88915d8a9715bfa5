/* fuse_i.h - internals shared by the files of fuse/ (daemon/ uses
 * fuse/session.h): the session state that every low-level FUSE operation
 * reaches through fuse_req_userdata(), and the operation tables each file
 * fills in.
 *
 * struct efsfs_session: fs, conf, se, the timeouts, max_threads and debug
 * are set by efsfs_session_new and immutable after it; writeback and
 * passthrough are written by op_init (the kernel's INIT, before any other
 * request of the session) and only read after it; pt is passthrough.c's
 * (see there); pt_opens is atomic; uring is uring.c's (an atomic pointer:
 * set by the thread that wrote the INIT reply, taken by efsfs_uring_stop).
 */
#ifndef EFSFS_FUSE_I_H
#define EFSFS_FUSE_I_H

#include <fuse_lowlevel.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/uio.h>

#include "common/conf.h"
#include "backend/fs.h"
#include "fuse/session.h"

/* Passthrough state of one session's kernel connection (passthrough.c).
 * devfd, hooked and ops are written by efsfs_pt_init and efsfs_pt_install
 * (the thread that mounts, before any request is read) and immutable
 * afterwards.  offered and init_unique are written by the reader of the
 * INIT request before it sets init_seen, and read only after init_seen was
 * seen set; the atomics are read and written without a lock. */
struct efsfs_pt {
	int devfd;                  /* the session's /dev/fuse fd once hooked, else -1 */
	bool hooked;                /* our session I/O hooks are in */
	atomic_bool init_seen;      /* the INIT request has been read */
	bool offered;               /* ... and offered passthrough (set before init_seen) */
	bool uring_offered;         /* ... and FUSE over io_uring (set before init_seen) */
	uint64_t init_unique;       /* ... its unique (set before init_seen) */
	atomic_bool patch_init;     /* op_init chose passthrough: patch its reply */
	atomic_bool patch_uring;    /* op_init chose io_uring: patch its reply, then start it */
	atomic_bool killpriv;       /* handle_killpriv_v2 negotiated: kill flags are ours */
	atomic_bool on;             /* negotiated, and registering works */
	atomic_bool warned;         /* a registration failure was logged once */
	struct fs_passthrough ops;  /* attach/detach on this connection; arg: the session */
};

struct efsfs_uring;

/* One FUSE session (see the top for which fields are set when). */
struct efsfs_session {
	/* set by efsfs_session_new, immutable afterwards */
	struct fs *fs;
	const struct conf *conf;
	struct fuse_session *se;
	struct fuse_args args;
	char mountpoint[4096];
	/* written and read by the thread that owns the session (session.c) */
	bool mounted;
	/* set by efsfs_session_new, immutable afterwards */
	double attr_timeout;
	double entry_timeout;
	unsigned max_threads;
	bool debug;
	/* written by op_init (before any other request), read-only afterwards */
	bool writeback;             /* negotiated with the kernel in init */
	bool passthrough;           /* negotiated in init; so is handle_killpriv_v2 */
	atomic_uint_fast64_t pt_opens;  /* handles opened with passthrough; atomic */
	sem_t wake;                 /* posted to end efsfs_session_run's wait (a semaphore:
	                               no lock) */
	struct efsfs_pt pt;         /* see struct efsfs_pt */
	_Atomic(struct efsfs_uring *) uring;   /* FUSE over io_uring once started (uring.c) */
	atomic_uint_fast64_t uring_served;     /* requests served from ring entries; atomic */
};

static inline struct efsfs_session *req_efsfs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Fill the operation table: directory/namespace ops (dir.c), file data ops
 * (file.c), extended attributes (xattr.c). */
void efsfs_dir_ops(struct fuse_lowlevel_ops *ops);
void efsfs_file_ops(struct fuse_lowlevel_ops *ops);
void efsfs_xattr_ops(struct fuse_lowlevel_ops *ops);

/* The request loop (loop.c): serves the session until it ends with up to
 * max_threads workers, the waiting one polling for spin_us before it
 * sleeps; who ("NAME on MOUNTPOINT") begins its messages.  may_wait(arg) true: no request may be assumed quick right now.
 * A post to wake makes it look whether the session has exited (and the
 * loop posts it itself when a worker saw the end).  0 when the session
 * ended by unmount, signal or fuse_session_exit, else -errno. */
int efsfs_loop_run(struct fuse_session *se, const char *who, sem_t *wake, unsigned spin_us,
		   unsigned max_threads, bool (*may_wait)(void *arg), void *arg);

/* Passthrough (passthrough.c).  install: after fuse_session_mount, hooks
 * the session's I/O when the config asks for passthrough and we are root.
 * negotiate: from op_init; true when the kernel offered passthrough, which
 * is then asked for in the INIT reply; file.c then hands e->pt.ops to
 * fs_file_passthrough.  init: sets up e->pt at efsfs_session_new.
 * reply_begin/end: around the reply to an open or create that
 * fs_file_passthrough gave a backing id for. */
void efsfs_pt_init(struct efsfs_session *e);
int efsfs_pt_install(struct efsfs_session *e);
bool efsfs_pt_negotiate(struct efsfs_session *e);
void efsfs_pt_reply_begin(int backing_id);
/* With passthrough the kernel leaves dropping privileges to us: whether the
 * WRITE or SETATTR being served asks to clear set-user/group-ID bits. */
bool efsfs_pt_kill_suidgid(void);
/* ... and whether it is a SETATTR that sets nothing: the kernel's
 * file_remove_privs() before a write (passthrough or not) asking us to drop
 * set-user/group-ID bits and capabilities. */
bool efsfs_pt_remove_privs(void);
void efsfs_pt_reply_end(void);
/* Notes what the request buf (n bytes, as /dev/fuse gives it) asks of
 * passthrough's thread-local state (the kill flags); io_read does it for
 * requests read from /dev/fuse, uring.c for those from a ring entry. */
void efsfs_pt_note_request(struct efsfs_session *e, const void *buf, size_t n);

/* FUSE over io_uring (uring.c); the session's I/O hooks are passthrough.c's.
 * prepare: before the mount, with fuse_uring = on, enables it in the fuse
 * module if it is not (root only).  negotiate: from op_init; true when the
 * config allows it and the kernel offered it, and then the INIT reply asks
 * for it and efsfs_uring_start runs once that reply is written: it sets up
 * a ring entry per thread, a few threads per CPU, and registers them; on
 * any failure it logs why and the requests stay on /dev/fuse (the loop);
 * payload: the entry size the kernel wants (max_write, max_pages pages).
 * stop: after the loop ended; joins the threads; idempotent.
 * reply: from the writev hook: when this thread is serving a ring entry's
 * request and iov is its reply, copies it into the entry (committed when
 * the dispatcher returns), sets *ret_n and returns true.  splice_reply:
 * the same for a reply libfuse splices from the pipe fdin (len bytes). */
void efsfs_uring_prepare(struct efsfs_session *e);
bool efsfs_uring_negotiate(struct efsfs_session *e);
void efsfs_uring_start(struct efsfs_session *e, size_t payload);
void efsfs_uring_stop(struct efsfs_session *e);
bool efsfs_uring_reply(const struct iovec *iov, int count, ssize_t *ret_n);
bool efsfs_uring_splice_reply(int fdin, size_t len, ssize_t *ret_n);

/* Replies with an entry for st (ino 0 = negative entry). */
void efsfs_reply_entry(fuse_req_t req, const struct stat *st);
/* The caller of a request, for new inodes. */
void efsfs_req_ctx(fuse_req_t req, struct fs_ctx *ctx);

#endif
