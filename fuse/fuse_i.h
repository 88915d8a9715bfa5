/* fuse_i.h - internals shared by the files of fuse/ (daemon/ uses
 * fuse/session.h): the session state that every low-level FUSE operation
 * reaches through fuse_req_userdata(), and the operation tables each file
 * fills in.
 *
 * struct efsfs_session: fs, conf, se, the timeouts, max_threads and debug
 * and meter are set by efsfs_session_new and immutable after it; writeback and
 * passthrough are written by op_init (the kernel's INIT, before any other
 * request of the session) and only read after it; pt is passthrough.c's
 * (see there); pt_opens is atomic; view is set by efsfs_session_new
 * (view.c) and immutable after it; nq is set by efsfs_notify_start (at
 * mount, before any request) and cleared by efsfs_notify_end (at unmount,
 * after the loop), the notifier's own fields are notify.c's (see there).
 * uring is uring.c's (an atomic pointer: set by the thread that wrote the
 * INIT reply, taken by efsfs_uring_stop).
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
#include "meter/meter.h"

struct efsfs_notifier;

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

/* A session's view of the file system (view.c): its root, the identity
 * its requests run as and what they may do.  Set by efsfs_session_new
 * (efsfs_view_setup), immutable afterwards. */
struct efsfs_view {
	uint64_t root;              /* the inode FUSE_ROOT_ID stands for */
	bool held;                  /* we hold a lookup reference on root (fs_ref) */
	bool forced;                /* every request runs as ident */
	struct fs_ident ident;
	bool squash_root;           /* callers with uid 0 run as 65534:65534 */
	bool deny_write;            /* every change is EROFS */
	bool checks;                /* forced || squash_root: permissions are checked here,
				       not by the kernel (no default_permissions) */
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
	double negative_timeout;
	unsigned max_threads;
	bool debug;
	struct meter *meter;        /* NULL: not metered; its counters are atomics */
	/* written by op_init (before any other request), read-only afterwards */
	bool writeback;             /* negotiated with the kernel in init */
	bool passthrough;           /* negotiated in init; so is handle_killpriv_v2 */
	atomic_uint_fast64_t pt_opens;  /* handles opened with passthrough; atomic */
	sem_t wake;                 /* posted to end efsfs_session_run's wait (a semaphore:
	                               no lock) */
	struct efsfs_pt pt;         /* see struct efsfs_pt */
	struct efsfs_view view;     /* see struct efsfs_view */
	struct efsfs_notifier *nq;  /* notify.c: this session in its file system's registry */
	_Atomic(struct efsfs_uring *) uring;   /* FUSE over io_uring once started (uring.c) */
	atomic_uint_fast64_t uring_served;     /* requests served from ring entries; atomic */
};

static inline struct efsfs_session *req_efsfs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The inode a request's nodeid names: FUSE_ROOT_ID is the session's root. */
static inline uint64_t efsfs_ino(fuse_req_t req, fuse_ino_t nodeid)
{
	return nodeid == FUSE_ROOT_ID ? req_efsfs(req)->view.root : nodeid;
}

/* The session's view (view.c).  setup: from the options at
 * efsfs_session_new (err: a root that is not a directory); release: at
 * destroy; init: from op_init (no export support).  The checks return 0,
 * or the -errno to reply with: -EROFS for a change in a deny_write
 * session, -EACCES/-EPERM when the request's identity may not (only in a
 * session that checks; otherwise the kernel did). */
int efsfs_view_setup(struct efsfs_session *e, const struct efsfs_session_opts *o, char *err,
		     size_t errlen);
void efsfs_view_release(struct efsfs_session *e);
/* true when the session checks permissions itself for callers that can
 * differ in identity (squash_root, not forced): its kernel must not cache
 * names (entry and negative timeouts 0), see view.c. */
bool efsfs_view_per_caller(const struct efsfs_session *e);
void efsfs_view_init(struct efsfs_session *e, struct fuse_conn_info *conn);
/* The identity req runs as (the caller's, forced, or squashed). */
void efsfs_view_ident(fuse_req_t req, struct fs_ident *ret_id);
/* lookup with the view's rules: search permission on parent, "." and
 * ".." at the root (see view.c). */
int efsfs_view_lookup(fuse_req_t req, fuse_ino_t parent, const char *name, struct stat *ret_st);
/* The nodeid to give the kernel for inode ino (the root is FUSE_ROOT_ID);
 * 0 for an inode outside the view, which must not be handed out. */
fuse_ino_t efsfs_view_nodeid(struct efsfs_session *e, uint64_t ino);
int efsfs_view_access(fuse_req_t req, uint64_t ino, int mask);
int efsfs_view_open(fuse_req_t req, uint64_t ino, int flags);
int efsfs_view_opendir(fuse_req_t req, uint64_t ino);
/* a new entry in parent: mknod, mkdir, symlink, create; link: of ino */
int efsfs_view_new(fuse_req_t req, uint64_t parent);
int efsfs_view_link(fuse_req_t req, uint64_t ino, uint64_t newparent);
int efsfs_view_delete(fuse_req_t req, uint64_t parent, const char *name);
int efsfs_view_rename(fuse_req_t req, uint64_t parent, const char *name, uint64_t newparent,
		      const char *newname, unsigned flags);
int efsfs_view_setattr(fuse_req_t req, uint64_t ino, struct stat *attr, int to_set,
		       const struct fuse_file_info *fi);
int efsfs_view_xattr(fuse_req_t req, uint64_t ino, const char *name, bool write);

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

/* Counts one metadata request (METER_READ or METER_WRITE) in the meter. */
static inline void efsfs_meter_meta(fuse_req_t req, enum meter_dir dir)
{
	meter_meta(req_efsfs(req)->meter, dir);
}
/* Coherence between the sessions of one file system (notify.c).  start:
 * once mounted, lists the session in its file system's registry (and
 * installs the backend's change callback for the first); stop: unlists it
 * (no notification reaches it afterwards); end: after stop and the
 * unmount, frees it.  The others tell every other session of a change
 * this one made, before the request is answered, holding no backend lock:
 * name: parent/name was made, removed or replaced (ino: the inode it names
 * or named, 0 if none or not known); rename: both names, inos[] the inodes
 * that old and new named before; inode: ino's attributes (FS_CHANGE_ATTR)
 * or data (FS_CHANGE_DATA from off, len bytes, 0: to the end).  victim:
 * before an unlink, rmdir or rename, the inode parent/name names, 0 when
 * no other session is live (nothing to tell) or there is none. */
int efsfs_notify_start(struct efsfs_session *e);
void efsfs_notify_init(struct efsfs_session *e);      /* from op_init, once negotiated */
void efsfs_notify_stop(struct efsfs_session *e);
void efsfs_notify_end(struct efsfs_session *e);
bool efsfs_notify_others(struct efsfs_session *e);
void efsfs_notify_name(struct efsfs_session *e, uint64_t parent, const char *name, uint64_t ino);
void efsfs_notify_rename(struct efsfs_session *e, uint64_t parent, const char *name,
			 uint64_t newparent, const char *newname, const uint64_t inos[2]);
void efsfs_notify_inode(struct efsfs_session *e, uint64_t ino, unsigned what, uint64_t off,
			uint64_t len);
/* ... or'ed into what: queue it without waiting (a release: nobody waits
 * for it, and its wait would hold up this session's reader for nothing) */
#define EFSFS_NOTIFY_NOWAIT 0x100u
uint64_t efsfs_notify_victim(struct efsfs_session *e, uint64_t parent, const char *name);

/* Replies with an entry for st (ino 0 = negative entry). */
void efsfs_reply_entry(fuse_req_t req, const struct stat *st);
/* Who a request runs as, for new inodes (the view's identity). */
void efsfs_req_ctx(fuse_req_t req, struct fs_ctx *ctx);

#endif
