/* fs_xattr.c - extended attributes: set, get, list and remove, with the
 * per-inode limits of ext4 (FS_XATTR_*).
 *
 * Locks: every xattr is metadata: set and remove are meta_txn bodies (under
 * meta_lock), get and list are meta_read bodies.  No inode lock; get and
 * list of an inode known to have none (struct fs_inode, no_xattrs: a file
 * made here and given none since) answer without a read, under
 * fs.itab_lock.
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

#define FS_XATTR_MAX      65536
/* All xattrs of one inode: values of at most FS_XATTR_INODE_MAX bytes
 * together (four of the largest), and names (with their NULs) of at most
 * what one listxattr can return (XATTR_LIST_MAX); beyond either, setxattr
 * fails with ENOSPC, as on ext4 when an inode's xattr space is full. */
#define FS_XATTR_INODE_MAX (256u << 10)
#define FS_XATTR_LIST_MAX  65536u

static int check_xattr_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255)
		return -ERANGE;
	if (strcmp(name, "user.") == 0 || strcmp(name, "trusted.") == 0 ||
	    strcmp(name, "security.") == 0)
		return -EINVAL;
	if (strncmp(name, "user.", 5) && strncmp(name, "trusted.", 8) &&
	    strncmp(name, "security.", 9))
		return -EOPNOTSUPP;     /* system.* (ACLs) are not supported */
	return 0;
}

struct xattr_txn {
	struct fs *fs;
	const struct fs_ctx *ctx;
	uint64_t ino;
	const char *name;
	const void *value;
	size_t size;
	int flags;
};

static int setxattr_body(struct meta *m, void *arg)
{
	struct xattr_txn *t = arg;
	struct fs *fs = t->fs;
	uint64_t ino = t->ino;
	const char *name = t->name;
	size_t size = t->size;
	int flags = t->flags;
	struct meta_inode mi;
	uint64_t names, values;
	size_t old = 0;
	bool had = false;
	int r;

	r = meta_inode_get(m, ino, &mi);
	if (!r) {
		r = meta_xattr_get(m, ino, name, NULL, 0, &old);
		had = r == 0;
		r = r == -ENODATA ? 0 : r;
	}
	/* the flags' answers come before any about space */
	if (!r && had && (flags & XATTR_CREATE))
		r = -EEXIST;
	if (!r && !had && (flags & XATTR_REPLACE))
		r = -ENODATA;
	if (!r)
		r = meta_xattr_usage(m, ino, name, &names, &values);
	if (!r) {
		names += strlen(name) + 1;
		if (names > FS_XATTR_LIST_MAX || values + size > FS_XATTR_INODE_MAX)
			r = -ENOSPC;
	}
	/* Replacing a value by one no larger rewrites pages in place, which
	 * the reserve covers like a delete: only growth has to be admitted. */
	if (!r && (!had || size > old))
		r = fs_check_meta_space(fs, t->ctx, strlen(name) + size);
	if (!r)
		r = meta_xattr_set(m, ino, name, t->value, size, flags);
	if (!r) {
		mi.ctime = fs_now_ts();
		r = meta_inode_update(m, &mi);
	}
	return r;
}

int fs_setxattr(struct fs *fs, const struct fs_ctx *ctx, uint64_t ino, const char *name,
		const void *value, size_t size, int flags)
{
	struct xattr_txn t = {
		.fs = fs, .ctx = ctx, .ino = ino, .name = name, .value = value, .size = size,
		.flags = flags,
	};
	int r;

	if ((r = check_xattr_name(name)) < 0)
		return r;
	if (size > FS_XATTR_MAX)
		return -E2BIG;
	/* before the write: a read that starts once it is done must look */
	fs_inode_gets_xattr(fs, ino);
	return meta_txn(fs->meta, setxattr_body, &t);
}

/* getxattr (name set) or listxattr, as a read body (meta_read). */
struct xattr_read {
	uint64_t ino;
	const char *name;
	void *buf;
	size_t size, *ret_len;
};

static int xattr_read_body(struct meta *m, void *arg)
{
	struct xattr_read *t = arg;

	if (t->name)
		return meta_xattr_get(m, t->ino, t->name, t->buf, t->size, t->ret_len);
	return meta_xattr_list(m, t->ino, t->buf, t->size, t->ret_len);
}

int fs_getxattr(struct fs *fs, uint64_t ino, const char *name, void *buf, size_t size,
		size_t *ret_len)
{
	struct xattr_read t = { ino, NULL, buf, size, ret_len };
	int r;

	if ((r = check_xattr_name(name)) < 0)
		return r == -EOPNOTSUPP ? -ENODATA : r;
	if (fs_inode_no_xattrs(fs, ino))
		return -ENODATA;
	t.name = name;
	return meta_read(fs->meta, xattr_read_body, &t);
}

int fs_listxattr(struct fs *fs, uint64_t ino, char *buf, size_t size, size_t *ret_len)
{
	struct xattr_read t = { ino, NULL, buf, size, ret_len };

	if (fs_inode_no_xattrs(fs, ino)) {
		*ret_len = 0;
		return 0;
	}
	return meta_read(fs->meta, xattr_read_body, &t);
}

static int removexattr_body(struct meta *m, void *arg)
{
	struct xattr_txn *t = arg;
	struct meta_inode mi;
	int r;

	r = meta_inode_get(m, t->ino, &mi);
	if (!r)
		r = meta_xattr_remove(m, t->ino, t->name);
	if (!r) {
		mi.ctime = fs_now_ts();
		r = meta_inode_update(m, &mi);
	}
	return r;
}

int fs_removexattr(struct fs *fs, uint64_t ino, const char *name)
{
	struct xattr_txn t = { .fs = fs, .ino = ino, .name = name };
	int r;

	if ((r = check_xattr_name(name)) < 0)
		return r == -EOPNOTSUPP ? -ENODATA : r;
	return meta_txn(fs->meta, removexattr_body, &t);
}
