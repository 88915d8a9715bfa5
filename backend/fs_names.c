/* fs_names.c - namespace changes: mknod, mkdir, symlink, link, unlink,
 * rmdir and rename, each one transaction (a meta_txn body) whose effects
 * (an inode's last link gone, a data file to remove) are applied after the
 * commit.
 *
 * Locks: the metadata is written by the bodies, under meta_lock (meta_txn
 * takes it); fs.itab_lock is taken by fs_inode_ref and fs_inode_unlinked
 * for the inode table.  No inode lock is taken here.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "backend/fs_i.h"
#include "common/log.h"
#include "backend/meta.h"
#include "common/safepath.h"

int fs_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return -ENOENT;
	if (n > FS_NAME_MAX)
		return -ENAMETOOLONG;
	if (strchr(name, '/'))
		return -EINVAL;
	return 0;
}

/* Loads a directory inode for modification inside a transaction. */
static int get_dir(struct fs *fs, uint64_t ino, struct meta_inode *ret)
{
	int r = meta_inode_get(fs->meta, ino, ret);

	if (r < 0)
		return r;
	if (!S_ISDIR(ret->mode))
		return -ENOTDIR;
	if (ret->nlink == 0)
		return -ENOENT;        /* removed while a process sat in it */
	return 0;
}

/* Parent directory gains or loses an entry: times, and nlink for subdirs. */
static int dir_changed(struct fs *fs, struct meta_inode *dir, int dnlink, struct timespec now)
{
	dir->nlink = (uint32_t)((int64_t)dir->nlink + dnlink);
	dir->mtime = now;
	dir->ctime = now;
	return meta_inode_update(fs->meta, dir);
}

struct new_inode_txn {
	struct fs *fs;
	const struct fs_ctx *ctx;
	uint64_t parent;
	const char *name, *target;
	mode_t mode;
	dev_t rdev;
	struct timespec now;
	struct meta_inode mi;         /* out: the new inode */
};

static int new_inode_body(struct meta *m, void *arg)
{
	struct new_inode_txn *t = arg;
	struct fs *fs = t->fs;
	const struct fs_ctx *ctx = t->ctx;
	const char *name = t->name, *target = t->target;
	mode_t mode = t->mode;
	struct timespec now = t->now;
	struct meta_inode dir, mi;
	uint64_t ino;
	int r;

	memset(&mi, 0, sizeof(mi));
	r = get_dir(fs, t->parent, &dir);
	if (r < 0)
		return r;
	r = meta_lookup(m, t->parent, name, &ino);
	if (r == 0)
		return -EEXIST;
	else if (r != -ENOENT)
		return r;
	r = fs_check_meta_space(fs, ctx, strlen(name) + (target ? strlen(target) : 0));
	if (r < 0)
		return r;
	mi.mode = mode;
	mi.uid = ctx->uid;
	mi.gid = ctx->gid;
	if (dir.mode & S_ISGID) {
		/* BSD group semantics in a setgid directory, as ext4 */
		mi.gid = dir.gid;
		if (S_ISDIR(mode))
			mi.mode |= S_ISGID;
	}
	mi.nlink = S_ISDIR(mode) ? 2 : 1;
	mi.rdev = t->rdev;
	mi.size = target ? strlen(target) : 0;
	mi.atime = mi.mtime = mi.ctime = mi.btime = now;
	r = meta_inode_insert(m, &mi, target, target ? strlen(target) : 0);
	if (!r)
		r = meta_dentry_insert(m, t->parent, name, mi.ino, mi.mode);
	if (!r)
		r = dir_changed(fs, &dir, S_ISDIR(mode) ? 1 : 0, now);
	t->mi = mi;
	return r;
}

int fs_new_inode(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 mode_t mode, dev_t rdev, const char *target, struct meta_inode *ret)
{
	struct new_inode_txn t = {
		.fs = fs, .ctx = ctx, .parent = parent, .name = name, .target = target,
		.mode = mode, .rdev = rdev, .now = fs_now_ts(),
	};
	int r;

	r = fs_check_name(name);
	if (r < 0)
		return r;
	r = meta_txn(fs->meta, new_inode_body, &t);
	if (!r)
		*ret = t.mi;
	return r;
}

static int new_entry(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		     mode_t mode, dev_t rdev, const char *target, struct stat *ret_st)
{
	struct meta_inode mi;
	int r;

	r = fs_new_inode(fs, ctx, parent, name, mode, rdev, target, &mi);
	if (r < 0)
		return r;
	fs_fill_stat(fs, &mi, FS_PT_NONE, ret_st);
	return fs_inode_ref(fs, mi.ino, 1, 0, NULL);
}

int fs_mknod(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     mode_t mode, dev_t rdev, struct stat *ret_st)
{
	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		/* fall through */
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		return new_entry(fs, ctx, parent, name, mode, 0, NULL, ret_st);
	case S_IFCHR:
	case S_IFBLK:
		return -EPERM;          /* EFS supports no device files */
	default:
		return -EINVAL;
	}
}

int fs_mkdir(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     mode_t mode, struct stat *ret_st)
{
	return new_entry(fs, ctx, parent, name, S_IFDIR | (mode & 07777), 0, NULL, ret_st);
}

int fs_symlink(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	       const char *target, struct stat *ret_st)
{
	size_t n = strlen(target);

	if (n == 0)
		return -ENOENT;
	if (n > FS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	return new_entry(fs, ctx, parent, name, S_IFLNK | 0777, 0, target, ret_st);
}

struct link_txn {
	struct fs *fs;
	const struct fs_ctx *ctx;
	uint64_t ino, newparent;
	const char *newname;
	struct timespec now;
	struct meta_inode mi;         /* out: the inode with its new link */
};

static int link_body(struct meta *m, void *arg)
{
	struct link_txn *t = arg;
	struct fs *fs = t->fs;
	struct meta_inode dir, mi;
	uint64_t other;
	int r;

	r = meta_inode_get(m, t->ino, &mi);
	if (r < 0)
		return r;
	if (S_ISDIR(mi.mode))
		return -EPERM;
	if (mi.nlink == 0)
		return -ENOENT;
	r = get_dir(fs, t->newparent, &dir);
	if (r < 0)
		return r;
	r = meta_lookup(m, t->newparent, t->newname, &other);
	if (r == 0)
		r = -EEXIST;
	if (r != -ENOENT)
		return r;
	if (mi.nlink >= FS_LINK_MAX)
		return -EMLINK;
	r = fs_check_meta_space(fs, t->ctx, strlen(t->newname));
	if (r < 0)
		return r;
	r = meta_dentry_insert(m, t->newparent, t->newname, t->ino, mi.mode);
	if (r < 0)
		return r;
	mi.nlink++;
	mi.ctime = t->now;
	r = meta_inode_update(m, &mi);
	if (!r)
		r = dir_changed(fs, &dir, 0, t->now);
	t->mi = mi;
	return r;
}

int fs_link(struct fs *fs, const struct fs_ctx *ctx, uint64_t ino, uint64_t newparent,
	    const char *newname, struct stat *ret_st)
{
	struct link_txn t = {
		.fs = fs, .ctx = ctx, .ino = ino, .newparent = newparent, .newname = newname,
		.now = fs_now_ts(),
	};
	int r;

	r = fs_check_name(newname);
	if (r < 0)
		return r;
	r = fs_txn_stat(fs, link_body, &t, &t.mi, ret_st);
	if (r < 0)
		return r;
	return fs_inode_ref(fs, ino, 1, 0, NULL);
}

/* Removes entry (parent, name) whose inode is *mi; drops nlink. */
static int drop_entry(struct fs *fs, struct meta_inode *dir, const char *name,
		      struct meta_inode *mi, struct timespec now)
{
	int r = meta_dentry_delete(fs->meta, dir->ino, name);

	if (r < 0)
		return r;
	if (S_ISDIR(mi->mode)) {
		mi->nlink = 0;
		r = dir_changed(fs, dir, -1, now);
	} else {
		mi->nlink--;
		r = dir_changed(fs, dir, 0, now);
	}
	mi->ctime = now;
	if (!r)
		r = meta_inode_update(fs->meta, mi);
	return r;
}

struct remove_txn {
	struct fs *fs;
	uint64_t parent;
	const char *name;
	bool isdir;
	struct timespec now;
	struct meta_effects fx;       /* FX_UNLINKED when the last link went */
};

static int remove_body(struct meta *m, void *arg)
{
	struct remove_txn *t = arg;
	struct meta_inode dir, mi;
	uint64_t ino;
	bool empty;
	int r;

	r = get_dir(t->fs, t->parent, &dir);
	if (!r)
		r = meta_lookup(m, t->parent, t->name, &ino);
	if (!r)
		r = meta_inode_get(m, ino, &mi);
	if (r < 0)
		return r;
	if (t->isdir && !S_ISDIR(mi.mode))
		return -ENOTDIR;
	if (!t->isdir && S_ISDIR(mi.mode))
		return -EISDIR;
	if (t->isdir) {
		r = meta_dir_is_empty(m, ino, &empty);
		if (!r && !empty)
			r = -ENOTEMPTY;
		if (r < 0)
			return r;
	}
	r = drop_entry(t->fs, &dir, t->name, &mi, t->now);
	if (!r && mi.nlink == 0)
		r = meta_effect_add(&t->fx, FX_UNLINKED, ino);
	return r;
}

/* Applies what a committed transaction left to do (see FX_*). */
static void apply_effects(struct fs *fs, const struct meta_effects *fx)
{
	for (unsigned i = 0; i < fx->n; i++) {
		if (fx->e[i].what == FX_UNLINKED)
			fs_inode_unlinked(fs, fx->e[i].ino);
	}
}

static int remove_entry(struct fs *fs, uint64_t parent, const char *name, bool isdir)
{
	struct remove_txn t = {
		.fs = fs, .parent = parent, .name = name, .isdir = isdir, .now = fs_now_ts(),
	};
	int r;

	r = fs_check_name(name);
	if (r < 0)
		return r;
	r = meta_txn_fx(fs->meta, remove_body, &t, &t.fx);
	if (!r)
		apply_effects(fs, &t.fx);
	return r;
}

int fs_unlink(struct fs *fs, uint64_t parent, const char *name)
{
	return remove_entry(fs, parent, name, false);
}

int fs_rmdir(struct fs *fs, uint64_t parent, const char *name)
{
	return remove_entry(fs, parent, name, true);
}

/* -EINVAL when dir is `anc` or lies below it (a directory moved into itself). */
static int check_not_below(struct fs *fs, uint64_t anc, uint64_t dir)
{
	for (int depth = 0; depth < 4096; depth++) {
		uint64_t up;
		int r;

		if (dir == anc)
			return -EINVAL;
		if (dir == META_ROOT_INO)
			return 0;
		r = meta_dir_parent(fs->meta, dir, &up);
		if (r < 0)
			return r;
		dir = up;
	}
	return -ELOOP;
}

static int rename_exchange(struct fs *fs, struct meta_inode *odir, const char *name,
			   struct meta_inode *ndir, const char *newname,
			   struct meta_inode *src, struct meta_inode *dst, struct timespec now)
{
	bool cross = odir->ino != ndir->ino;
	int r;

	if (cross && S_ISDIR(src->mode) && (r = check_not_below(fs, src->ino, ndir->ino)) < 0)
		return r;
	if (cross && S_ISDIR(dst->mode) && (r = check_not_below(fs, dst->ino, odir->ino)) < 0)
		return r;
	r = meta_dentry_retarget(fs->meta, odir->ino, name, dst->ino, dst->mode);
	if (!r)
		r = meta_dentry_retarget(fs->meta, ndir->ino, newname, src->ino, src->mode);
	if (r < 0)
		return r;
	src->ctime = dst->ctime = now;
	r = meta_inode_update(fs->meta, src);
	if (!r)
		r = meta_inode_update(fs->meta, dst);
	if (r < 0)
		return r;
	if (cross) {
		int d = (S_ISDIR(dst->mode) ? 1 : 0) - (S_ISDIR(src->mode) ? 1 : 0);

		r = dir_changed(fs, odir, d, now);
		if (!r)
			r = dir_changed(fs, ndir, -d, now);
	} else {
		r = dir_changed(fs, odir, 0, now);
	}
	return r;
}

struct rename_txn {
	struct fs *fs;
	uint64_t parent, newparent;
	const char *name, *newname;
	unsigned flags;
	struct timespec now;
	struct meta_effects fx;       /* FX_UNLINKED when the replaced inode lost its last link */
};

static int rename_body(struct meta *m, void *arg)
{
	struct rename_txn *t = arg;
	struct fs *fs = t->fs;
	uint64_t parent = t->parent, newparent = t->newparent;
	const char *name = t->name, *newname = t->newname;
	struct timespec now = t->now;
	struct meta_inode odir, ndir, src, dst;
	uint64_t sino, dino = 0;
	bool dst_exists, empty;
	int r;

	r = get_dir(fs, parent, &odir);
	if (!r)
		r = get_dir(fs, newparent, &ndir);
	if (!r)
		r = meta_lookup(m, parent, name, &sino);
	if (!r)
		r = meta_inode_get(m, sino, &src);
	if (r < 0)
		return r;
	r = meta_lookup(m, newparent, newname, &dino);
	if (r < 0 && r != -ENOENT)
		return r;
	dst_exists = r == 0;
	if (dst_exists && (r = meta_inode_get(m, dino, &dst)) < 0)
		return r;
	if (parent == newparent) {
		ndir = odir;          /* one row: keep one copy of it */
		if (strcmp(name, newname) == 0)
			return 1;         /* renaming onto itself changes nothing */
	}
	if (t->flags & RENAME_EXCHANGE) {
		if (!dst_exists)
			return -ENOENT;
		return rename_exchange(fs, &odir, name, &ndir, newname, &src, &dst, now);
	}
	if (dst_exists) {
		if (t->flags & RENAME_NOREPLACE)
			return -EEXIST;
		if (dino == sino)
			return 1;         /* two links to one inode: POSIX says do nothing */
		if (S_ISDIR(src.mode) && !S_ISDIR(dst.mode))
			return -ENOTDIR;
		if (!S_ISDIR(src.mode) && S_ISDIR(dst.mode))
			return -EISDIR;
		if (S_ISDIR(dst.mode)) {
			r = meta_dir_is_empty(m, dino, &empty);
			if (!r && !empty)
				r = -ENOTEMPTY;
			if (r < 0)
				return r;
		}
	}
	if (S_ISDIR(src.mode) && parent != newparent &&
	    (r = check_not_below(fs, sino, newparent)) < 0)
		return r;
	if (dst_exists) {
		r = drop_entry(fs, &ndir, newname, &dst, now);
		if (r < 0)
			return r;
		if (parent == newparent)
			odir = ndir;
		if (dst.nlink == 0 && (r = meta_effect_add(&t->fx, FX_UNLINKED, dino)) < 0)
			return r;
	}
	r = meta_dentry_move(m, parent, name, newparent, newname);
	if (r < 0)
		return r;
	src.ctime = now;
	r = meta_inode_update(m, &src);
	if (r < 0)
		return r;
	if (parent != newparent) {
		int d = S_ISDIR(src.mode) ? 1 : 0;

		r = dir_changed(fs, &odir, -d, now);
		if (!r)
			r = dir_changed(fs, &ndir, d, now);
	} else {
		r = dir_changed(fs, &odir, 0, now);
	}
	return r;
}

int fs_rename(struct fs *fs, uint64_t parent, const char *name, uint64_t newparent,
	      const char *newname, unsigned flags)
{
	struct rename_txn t = {
		.fs = fs, .parent = parent, .newparent = newparent, .name = name,
		.newname = newname, .flags = flags, .now = fs_now_ts(),
	};
	int r;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((r = fs_check_name(name)) < 0 || (r = fs_check_name(newname)) < 0)
		return r;
	r = meta_txn_fx(fs->meta, rename_body, &t, &t.fx);
	if (!r)
		apply_effects(fs, &t.fx);
	return r;
}
