/* view.c - a FUSE session's view of its file system: which directory is
 * its root, who its requests run as, and what they may do.  The ops in
 * dir.c, file.c and xattr.c call in here with one line each; a session
 * with none of the options (the file system's root, the caller's
 * identity, writes allowed) costs a compare per request and nothing more:
 * the kernel's default_permissions checks, as before.
 *
 * Root.  The kernel names the session's root FUSE_ROOT_ID; efsfs_ino maps
 * it to view.root on the way in and efsfs_view_nodeid maps view.root to
 * it on the way out (st_ino stays the real inode number, as EFS shows).
 * The session holds a lookup reference on a root other than the file
 * system's (fs_ref), so it cannot be purged and its number reused while
 * mounted.
 *
 * Confinement: why a session cannot reach an inode outside its root.
 *  1. The kernel sends only nodeids it got from this session (entry
 *     replies of lookup, create, mknod, mkdir, symlink, link and
 *     readdirplus) and FUSE_ROOT_ID: we never negotiate
 *     FUSE_EXPORT_SUPPORT (efsfs_view_init clears it), so a file handle
 *     (open_by_handle_at, NFS export) is decoded only to an inode this
 *     session's kernel already has; one it has not fails with ESTALE
 *     there, and the kernel never sends a LOOKUP of "." or ".." by nodeid.
 *     rename and link name only such nodeids (and the kernel refuses them
 *     across mounts with EXDEV).
 *  2. Every nodeid handed out is an entry of a directory the kernel
 *     already had, so it lies below the root: the only way up, "..", is
 *     the kernel's own dcache walk, which stops at the mount's root (it
 *     crosses to the parent mount there, as for any file system), and a
 *     LOOKUP of ".." at the root, should one come, answers the root
 *     itself; readdir's ".." entry at the root names the root too.
 *  3. FUSE_ROOT_ID always means the session's root, so the file system's
 *     own root (inode 1) cannot be named by a session rooted elsewhere.
 * What another session does (a rename that moves a directory this
 * session holds out from under its root) leaves this session's kernel
 * holding the inode, as an open directory stays usable on NFS and EFS.
 *
 * Identity.  With ident every request runs as it (uid, gid, secondary
 * gids); with squash_root a caller with uid 0 runs as 65534:65534 and
 * others as themselves (secondary gids read from /proc by libfuse, at most
 * FS_GROUPS_MAX of them count).  New inodes get that uid and gid
 * (efsfs_req_ctx; setgid directories are the backend's).  Such a session
 * is mounted without default_permissions, since the kernel would check
 * the caller, and the checks below ask backend/fs_perm.c with the
 * identity before each operation, as ext4 would check it: lookup needs
 * search on the directory, access(2) what it asks, open its access mode
 * (O_TRUNC write, exec x), opendir read, a new entry write and search on
 * the directory (and fs_may_link for a link), unlink, rmdir and rename
 * fs_may_delete and fs_may_rename, setattr fs_may_setattr, user.* xattrs fs_may_xattr.
 * getattr, readlink, statfs and the operations on an open handle (read,
 * write, fsync, release) are not checked, as in the kernel.  Without
 * default_permissions the kernel does not check search permission on a
 * path walk through the names it cached, so a squash_root session, where
 * several users call, caches no names (entry_timeout 0, set in
 * efsfs_session_new): each walk looks every name up again, as the caller,
 * and one user's lookup never spares another's search check (with a
 * forced ident all requests are one user, and names are cached).
 * Such a session does not take the writeback cache (op_init): with it the
 * kernel sends utimes(now) and the times of a truncate as explicit times,
 * which would be refused to all but the owner.
 *
 * deny_write: every change, and every open for writing or with O_TRUNC,
 * is -EROFS; reads work.
 *
 * All of struct efsfs_view is set by efsfs_view_setup (in
 * efsfs_session_new) and immutable afterwards: no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuse/fuse_i.h"

#define SQUASH_ID 65534
#define OPEN_EXEC 040         /* __FMODE_EXEC in an open's flags: execve */

int efsfs_view_setup(struct efsfs_session *e, const struct efsfs_session_opts *o, char *err,
		     size_t errlen)
{
	struct efsfs_view *v = &e->view;
	struct stat st;
	int r;

	memset(v, 0, sizeof(*v));
	v->root = FS_ROOT_INO;
	if (o->root_ino && o->root_ino != FS_ROOT_INO) {
		r = fs_ref(e->fs, o->root_ino, &st);
		if (r < 0) {
			snprintf(err, errlen, "root directory (inode %llu): %s",
				 (unsigned long long)o->root_ino, strerror(-r));
			return r;
		}
		v->root = o->root_ino;
		v->held = true;
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "root directory (inode %llu): %s",
				 (unsigned long long)o->root_ino, strerror(ENOTDIR));
			return -ENOTDIR;
		}
	}
	if (o->ident) {
		if (o->ident->ngroups > FS_GROUPS_MAX) {
			snprintf(err, errlen, "identity %u:%u: %u secondary gids, at most %d",
				 (unsigned)o->ident->uid, (unsigned)o->ident->gid,
				 o->ident->ngroups, FS_GROUPS_MAX);
			return -EINVAL;
		}
		v->forced = true;
		v->ident = *o->ident;
	}
	v->squash_root = o->squash_root;
	v->deny_write = o->deny_write;
	v->checks = v->forced || v->squash_root;
	return 0;
}

void efsfs_view_release(struct efsfs_session *e)
{
	if (e->view.held)
		fs_forget(e->fs, e->view.root, 1);
	e->view.held = false;
}

void efsfs_view_init(struct efsfs_session *e, struct fuse_conn_info *conn)
{
	/* no handles decoded to nodeids we did not give (see the top) */
	conn->want &= ~(unsigned)FUSE_CAP_EXPORT_SUPPORT;
}

fuse_ino_t efsfs_view_nodeid(struct efsfs_session *e, uint64_t ino)
{
	return ino == e->view.root ? FUSE_ROOT_ID : ino;
}

void efsfs_view_ident(fuse_req_t req, struct fs_ident *id)
{
	const struct efsfs_view *v = &req_efsfs(req)->view;
	const struct fuse_ctx *c;
	int n;

	if (v->forced) {
		*id = v->ident;
		return;
	}
	c = fuse_req_ctx(req);
	memset(id, 0, sizeof(*id));
	id->uid = c->uid;
	id->gid = c->gid;
	if (v->squash_root && c->uid == 0) {
		id->uid = id->gid = SQUASH_ID;
		return;
	}
	if (!v->checks)
		return;
	n = fuse_req_getgroups(req, FS_GROUPS_MAX, id->groups);
	if (n > 0)
		id->ngroups = n < FS_GROUPS_MAX ? (unsigned)n : FS_GROUPS_MAX;
}

void efsfs_req_ctx(fuse_req_t req, struct fs_ctx *ctx)
{
	const struct efsfs_view *v = &req_efsfs(req)->view;
	const struct fuse_ctx *c;

	if (v->forced) {
		ctx->uid = v->ident.uid;
		ctx->gid = v->ident.gid;
		return;
	}
	c = fuse_req_ctx(req);
	ctx->uid = c->uid;
	ctx->gid = c->gid;
	if (v->squash_root && c->uid == 0)
		ctx->uid = ctx->gid = SQUASH_ID;
}

/* fs_permission with the request's identity, in a session that checks. */
static int permission(fuse_req_t req, uint64_t ino, int mask)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_ident id;

	if (!e->view.checks)
		return 0;
	efsfs_view_ident(req, &id);
	return fs_permission(e->fs, &id, ino, mask);
}

int efsfs_view_lookup(fuse_req_t req, fuse_ino_t parent, const char *name, struct stat *ret_st)
{
	struct efsfs_session *e = req_efsfs(req);
	uint64_t dir = efsfs_ino(req, parent);
	int r = permission(req, dir, FS_MAY_EXEC);

	if (r < 0)
		return r;
	/* The kernel sends these only for export support, which we do not
	 * offer; should one come, "." is the directory and ".." never goes
	 * above the root (nor anywhere: we keep no parent to answer with). */
	if (strcmp(name, ".") == 0 || (strcmp(name, "..") == 0 && dir == e->view.root))
		return fs_ref(e->fs, dir, ret_st);
	if (strcmp(name, "..") == 0)
		return -EINVAL;
	return fs_lookup(e->fs, dir, name, ret_st);
}

int efsfs_view_access(fuse_req_t req, uint64_t ino, int mask)
{
	if ((mask & W_OK) && req_efsfs(req)->view.deny_write)
		return -EROFS;
	return permission(req, ino, mask & (R_OK | W_OK | X_OK));
}

int efsfs_view_open(fuse_req_t req, uint64_t ino, int flags)
{
	int acc = flags & O_ACCMODE, mask;

	if (req_efsfs(req)->view.deny_write && (acc != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	if (!req_efsfs(req)->view.checks)
		return 0;
	mask = acc == O_RDONLY ? FS_MAY_READ :
	       acc == O_WRONLY ? FS_MAY_WRITE : FS_MAY_READ | FS_MAY_WRITE;
	if (flags & O_TRUNC)
		mask |= FS_MAY_WRITE;
	if (flags & OPEN_EXEC)
		mask |= FS_MAY_EXEC;
	return permission(req, ino, mask);
}

int efsfs_view_opendir(fuse_req_t req, uint64_t ino)
{
	return permission(req, ino, FS_MAY_READ);
}

int efsfs_view_new(fuse_req_t req, uint64_t parent)
{
	if (req_efsfs(req)->view.deny_write)
		return -EROFS;
	return permission(req, parent, FS_MAY_WRITE | FS_MAY_EXEC);
}

int efsfs_view_link(fuse_req_t req, uint64_t ino, uint64_t newparent)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_ident id;
	int r;

	if (e->view.deny_write)
		return -EROFS;
	if (!e->view.checks)
		return 0;
	efsfs_view_ident(req, &id);
	r = fs_may_link(e->fs, &id, ino);
	if (!r)
		r = fs_permission(e->fs, &id, newparent, FS_MAY_WRITE | FS_MAY_EXEC);
	return r;
}

int efsfs_view_delete(fuse_req_t req, uint64_t parent, const char *name)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_ident id;

	if (e->view.deny_write)
		return -EROFS;
	if (!e->view.checks)
		return 0;
	efsfs_view_ident(req, &id);
	return fs_may_delete(e->fs, &id, parent, name);
}

int efsfs_view_rename(fuse_req_t req, uint64_t parent, const char *name, uint64_t newparent,
		      const char *newname, unsigned flags)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_ident id;

	if (e->view.deny_write)
		return -EROFS;
	if (!e->view.checks)
		return 0;
	efsfs_view_ident(req, &id);
	return fs_may_rename(e->fs, &id, parent, name, newparent, newname, flags);
}

int efsfs_view_setattr(fuse_req_t req, uint64_t ino, struct stat *attr, int to_set,
		       const struct fuse_file_info *fi)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_ident id;

	if (e->view.deny_write)
		return -EROFS;
	if (!e->view.checks)
		return 0;
	efsfs_view_ident(req, &id);
	return fs_may_setattr(e->fs, &id, ino, attr, to_set, fi != NULL);
}

int efsfs_view_xattr(fuse_req_t req, uint64_t ino, const char *name, bool write)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_ident id;

	if (write && e->view.deny_write)
		return -EROFS;
	if (!e->view.checks)
		return 0;
	efsfs_view_ident(req, &id);
	return fs_may_xattr(e->fs, &id, ino, name, write);
}
