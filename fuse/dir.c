/* dir.c - FUSE namespace operations: lookup, attributes, directories,
 * links, rename, access, statfs.  Each handler maps the request's nodeids
 * through the session's view (efsfs_ino: FUSE_ROOT_ID is its root), asks
 * the view whether the request may (view.c), calls one fs_*() and replies
 * with its result; no file system logic lives here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuse/fuse_i.h"

void efsfs_reply_entry(fuse_req_t req, const struct stat *st)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fuse_entry_param ep;

	memset(&ep, 0, sizeof(ep));
	ep.ino = efsfs_view_nodeid(e, st->st_ino);
	ep.generation = 1;
	ep.attr = *st;
	ep.attr_timeout = e->attr_timeout;
	ep.entry_timeout = e->entry_timeout;
	fuse_reply_entry(req, &ep);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stat st;
	int r = efsfs_view_lookup(req, parent, name, &st);

	efsfs_meter_meta(req, METER_READ);
	if (r == -ENOENT) {
		/* a negative entry, cached for negative_timeout (a create through
		 * another session drops it: notify.c) */
		struct fuse_entry_param ep;

		memset(&ep, 0, sizeof(ep));
		ep.entry_timeout = req_efsfs(req)->negative_timeout;
		fuse_reply_entry(req, &ep);
	} else if (r < 0) {
		fuse_reply_err(req, -r);
	} else {
		efsfs_reply_entry(req, &st);
	}
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_forget(req_efsfs(req)->fs, efsfs_ino(req, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		fs_forget(req_efsfs(req)->fs, efsfs_ino(req, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int r = fs_getattr(req_efsfs(req)->fs, efsfs_ino(req, ino), &st);

	efsfs_meter_meta(req, METER_READ);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, req_efsfs(req)->attr_timeout);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct stat st;
	int mask = FS_SET_MODE | FS_SET_UID | FS_SET_GID | FS_SET_SIZE | FS_SET_ATIME |
		   FS_SET_MTIME | FS_SET_ATIME_NOW | FS_SET_MTIME_NOW | FS_SET_CTIME;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	to_set &= mask;
	ino = efsfs_ino(req, ino);
	r = efsfs_view_setattr(req, ino, attr, to_set, fi);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (req_efsfs(req)->passthrough && efsfs_pt_kill_suidgid())
		to_set |= FS_SET_KILL_SUIDGID;
	/* handle_killpriv_v2: a SETATTR that sets nothing is the kernel asking,
	 * before a write it will not show us (passthrough) or will, to drop
	 * privileges; the reply's mode updates its cache before the write.  A
	 * caller other than root stands for one without CAP_FSETID (the kernel
	 * asks for a root writer only for security.capability). */
	if (req_efsfs(req)->passthrough && efsfs_pt_remove_privs() && to_set == 0) {
		struct fs_ctx ctx;

		efsfs_req_ctx(req, &ctx);
		r = fs_kill_priv(req_efsfs(req)->fs, ino, ctx.uid != 0, NULL);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
	}
	r = fs_setattr(req_efsfs(req)->fs, ino, attr, to_set, &st);
	if (r == 0)
		efsfs_notify_inode(req_efsfs(req), ino, to_set & FS_SET_SIZE ? FS_CHANGE_DATA :
				   FS_CHANGE_ATTR, (uint64_t)st.st_size, 0);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, req_efsfs(req)->attr_timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[FS_SYMLINK_MAX + 1];
	size_t n;
	int r = fs_readlink(req_efsfs(req)->fs, efsfs_ino(req, ino), buf, FS_SYMLINK_MAX, &n);

	efsfs_meter_meta(req, METER_READ);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

/* The reply to a request that made parent/name (which other sessions are
 * told of first). */
static void reply_new(fuse_req_t req, int r, const struct stat *st, uint64_t parent,
		      const char *name)
{
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	efsfs_notify_name(req_efsfs(req), parent, name, st->st_ino);
	efsfs_reply_entry(req, st);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct fs_ctx ctx;
	struct stat st;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	efsfs_req_ctx(req, &ctx);
	parent = efsfs_ino(req, parent);
	r = efsfs_view_new(req, parent);
	if (!r)
		r = fs_mknod(req_efsfs(req)->fs, &ctx, parent, name, mode, rdev, &st);
	reply_new(req, r, &st, parent, name);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs_ctx ctx;
	struct stat st;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	efsfs_req_ctx(req, &ctx);
	parent = efsfs_ino(req, parent);
	r = efsfs_view_new(req, parent);
	if (!r)
		r = fs_mkdir(req_efsfs(req)->fs, &ctx, parent, name, mode, &st);
	reply_new(req, r, &st, parent, name);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fs_ctx ctx;
	struct stat st;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	efsfs_req_ctx(req, &ctx);
	parent = efsfs_ino(req, parent);
	r = efsfs_view_new(req, parent);
	if (!r)
		r = fs_symlink(req_efsfs(req)->fs, &ctx, parent, name, link, &st);
	reply_new(req, r, &st, parent, name);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fs_ctx ctx;
	struct stat st;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	efsfs_req_ctx(req, &ctx);
	ino = efsfs_ino(req, ino);
	newparent = efsfs_ino(req, newparent);
	r = efsfs_view_link(req, ino, newparent);
	if (!r)
		r = fs_link(req_efsfs(req)->fs, &ctx, ino, newparent, newname, &st);
	reply_new(req, r, &st, newparent, newname);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uint64_t victim;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	parent = efsfs_ino(req, parent);
	r = efsfs_view_delete(req, parent, name);
	if (r)
		goto out;
	victim = efsfs_notify_victim(req_efsfs(req), parent, name);
	r = fs_unlink(req_efsfs(req)->fs, parent, name);
	if (r == 0)
		efsfs_notify_name(req_efsfs(req), parent, name, victim);
out:
	fuse_reply_err(req, -r);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uint64_t victim;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	parent = efsfs_ino(req, parent);
	r = efsfs_view_delete(req, parent, name);
	if (r)
		goto out;
	victim = efsfs_notify_victim(req_efsfs(req), parent, name);
	r = fs_rmdir(req_efsfs(req)->fs, parent, name);
	if (r == 0)
		efsfs_notify_name(req_efsfs(req), parent, name, victim);
out:
	fuse_reply_err(req, -r);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	uint64_t inos[2];
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	parent = efsfs_ino(req, parent);
	newparent = efsfs_ino(req, newparent);
	r = efsfs_view_rename(req, parent, name, newparent, newname, flags);
	if (r)
		goto out;
	inos[0] = efsfs_notify_victim(req_efsfs(req), parent, name);
	inos[1] = efsfs_notify_victim(req_efsfs(req), newparent, newname);
	r = fs_rename(req_efsfs(req)->fs, parent, name, newparent, newname, flags);
	if (r == 0)
		efsfs_notify_rename(req_efsfs(req), parent, name, newparent, newname, inos);
out:
	fuse_reply_err(req, -r);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint64_t *snap = malloc(sizeof(*snap));
	int r = snap ? efsfs_view_opendir(req, efsfs_ino(req, ino)) : -ENOMEM;

	if (!r)
		r = fs_opendir(req_efsfs(req)->fs, efsfs_ino(req, ino), snap);

	efsfs_meter_meta(req, METER_READ);
	if (r < 0) {
		free(snap);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)snap;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) != 0)
		free(snap);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	bool plus;
	uint64_t root;              /* the directory is the view's root: ".." is it too */
};

static int dir_fill(const char *name, const struct stat *st, uint64_t next, void *arg)
{
	struct dirbuf *d = arg;
	struct stat dotdot;
	size_t n;

	if (d->root && strcmp(name, "..") == 0) {
		dotdot = *st;
		dotdot.st_ino = d->root;
		st = &dotdot;
	}

	if (d->plus) {
		struct efsfs_session *e = req_efsfs(d->req);
		struct fuse_entry_param ep;

		memset(&ep, 0, sizeof(ep));
		ep.attr = *st;
		ep.ino = efsfs_view_nodeid(e, st->st_ino);
		ep.generation = 1;
		ep.attr_timeout = e->attr_timeout;
		ep.entry_timeout = e->entry_timeout;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			/* the kernel takes no reference on these */
			ep.attr_timeout = ep.entry_timeout = 0;
		}
		n = fuse_add_direntry_plus(d->req, d->buf + d->used, d->size - d->used, name, &ep,
					   (off_t)next);
	} else {
		n = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, st,
				      (off_t)next);
	}
	if (n > d->size - d->used)
		return 1;
	d->used += n;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus,
		       struct fuse_file_info *fi)
{
	struct dirbuf d = { req, NULL, size, 0, plus, 0 };
	int r;

	ino = efsfs_ino(req, ino);
	if (ino == req_efsfs(req)->view.root)
		d.root = ino;

	d.buf = malloc(size);
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = fs_readdir(req_efsfs(req)->fs, ino, (uint64_t)off, (uint64_t *)(uintptr_t)fi->fh, plus,
		       dir_fill, &d);
	if (r < 0 && d.used == 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	efsfs_meter_meta(req, METER_READ);
	do_readdir(req, ino, size, off, false, fi);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	efsfs_meter_meta(req, METER_READ);
	do_readdir(req, ino, size, off, true, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	free((uint64_t *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	efsfs_meter_meta(req, METER_WRITE);
	fuse_reply_err(req, -fs_fsyncdir(req_efsfs(req)->fs, efsfs_ino(req, ino)));
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	efsfs_meter_meta(req, METER_READ);
	fuse_reply_err(req, -efsfs_view_access(req, efsfs_ino(req, ino), mask));
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int r = fs_statfs(req_efsfs(req)->fs, &sv);

	efsfs_meter_meta(req, METER_READ);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_statfs(req, &sv);
}

void efsfs_dir_ops(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->setattr = op_setattr;
	ops->readlink = op_readlink;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->symlink = op_symlink;
	ops->link = op_link;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->rename = op_rename;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->releasedir = op_releasedir;
	ops->fsyncdir = op_fsyncdir;
	ops->statfs = op_statfs;
	ops->access = op_access;
}
