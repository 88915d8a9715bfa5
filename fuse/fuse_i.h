/* fuse_i.h - internals shared by the files of fuse/: the daemon state that
 * every low-level FUSE operation reaches through fuse_req_userdata(), and
 * the operation tables each file fills in.
 */
#ifndef EFSFS_FUSE_I_H
#define EFSFS_FUSE_I_H

#include <fuse_lowlevel.h>

#include "common/conf.h"
#include "backend/fs.h"

struct efsfs {
	struct fs *fs;
	const struct conf *conf;
	struct fuse_session *se;
	double attr_timeout;
	double entry_timeout;
	bool writeback;             /* negotiated with the kernel in init */
	bool pt_hooked;             /* our session I/O hooks are in (passthrough.c) */
	bool passthrough;           /* negotiated in init; so is handle_killpriv_v2 */
	bool debug;
};

static inline struct efsfs *req_efsfs(fuse_req_t req)
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
 * sleeps.  may_wait(arg) true: no request may be assumed quick right now.
 * 0 when the session ended by unmount or signal, else -errno. */
int efsfs_loop_run(struct fuse_session *se, unsigned spin_us, unsigned max_threads,
		   bool (*may_wait)(void *arg), void *arg);

/* Passthrough (passthrough.c).  install: after fuse_session_mount, hooks
 * the session's I/O when the config asks for passthrough and we are root.
 * negotiate: from op_init; true when the kernel offered passthrough, which
 * is then asked for in the INIT reply and handed to the fs core.
 * reply_begin/end: around the reply to an open or create that
 * fs_file_passthrough gave a backing id for. */
int efsfs_pt_install(struct efsfs *e);
bool efsfs_pt_negotiate(struct efsfs *e);
void efsfs_pt_reply_begin(int backing_id);
/* With passthrough the kernel leaves dropping privileges to us: whether the
 * WRITE or SETATTR being served asks to clear set-user/group-ID bits. */
bool efsfs_pt_kill_suidgid(void);
/* ... and whether it is a SETATTR that sets nothing: the kernel's
 * file_remove_privs() before a write (passthrough or not) asking us to drop
 * set-user/group-ID bits and capabilities. */
bool efsfs_pt_remove_privs(void);
void efsfs_pt_reply_end(void);

/* Replies with an entry for st (ino 0 = negative entry). */
void efsfs_reply_entry(fuse_req_t req, const struct stat *st);
/* The caller of a request, for new inodes. */
void efsfs_req_ctx(fuse_req_t req, struct fs_ctx *ctx);

/* Mounts NAME at mountpoint and serves it until unmounted (daemon.c).
 * opts: comma-separated FUSE mount options from -o (may be NULL). */
int efsfs_mount(const char *config, const char *name, const char *mountpoint, const char *opts,
		bool foreground, bool debug);

/* CLI subcommands (cli.c); each returns the process exit code. */
int cli_main(int argc, char **argv);
int cli_mount_helper(int argc, char **argv);

#endif
