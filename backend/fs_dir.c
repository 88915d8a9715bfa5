/* fs_dir.c - directories: opendir (a snapshot of the entries' version),
 * readdir (plain and plus) and fsyncdir.
 *
 * Locks: the entries are read under meta_lock (fs_meta_lock); readdir plus
 * takes fs.itab_lock through fs_inode_ref for each entry it returns.
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

int fs_opendir(struct fs *fs, uint64_t ino, uint64_t *ret_snapshot)
{
	struct meta_inode mi;
	uint64_t snap = 0;
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, ino, &mi);
	if (!r)
		r = meta_dentry_max_cookie(fs->meta, &snap);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	if (!S_ISDIR(mi.mode))
		return -ENOTDIR;
	*ret_snapshot = snap;
	return 0;
}

struct readdir_state {
	struct fs *fs;
	bool plus;
	fs_fill_cb fill;
	void *arg;
	int err;
};

static int readdir_one(const char *name, uint64_t ino, uint32_t type, uint64_t cookie, void *arg)
{
	struct readdir_state *rs = arg;
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (rs->plus) {
		struct meta_inode mi;
		int r = meta_inode_get(rs->fs->meta, ino, &mi);

		if (r < 0) {
			rs->err = r;
			return 1;
		}
		fs_fill_stat(rs->fs, &mi, fs_pt_snap(rs->fs, &mi), &st);
	} else {
		st.st_ino = ino;
		st.st_mode = type;
	}
	if (rs->fill(name, &st, cookie + 2, rs->arg))
		return 1;
	if (rs->plus) {
		int r = fs_inode_ref(rs->fs, ino, 1, 0, NULL);

		if (r < 0) {
			rs->err = r;
			return 1;
		}
	}
	return 0;
}

int fs_readdir(struct fs *fs, uint64_t dir, uint64_t cookie, uint64_t *snapshot, bool plus,
	       fs_fill_cb fill, void *arg)
{
	struct readdir_state rs = { fs, plus, fill, arg, 0 };
	struct stat st;
	uint64_t up;
	int r;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	if (cookie == 0) {
		fs_meta_lock(fs);
		r = meta_dentry_max_cookie(fs->meta, snapshot);
		fs_meta_unlock(fs);
		if (r < 0)
			return r;
	}
	if (cookie < 1) {
		st.st_ino = dir;
		if (fill(".", &st, 1, arg))
			return 0;
		cookie = 1;
	}
	fs_meta_lock(fs);
	if (cookie < 2) {
		r = meta_dir_parent(fs->meta, dir, &up);
		if (r < 0) {
			fs_meta_unlock(fs);
			return r;
		}
		st.st_ino = up;
		if (fill("..", &st, 2, arg)) {
			fs_meta_unlock(fs);
			return 0;
		}
		cookie = 2;
	}
	r = meta_readdir(fs->meta, dir, cookie - 2, *snapshot, readdir_one, &rs);
	fs_meta_unlock(fs);
	return r < 0 ? r : rs.err;
}

int fs_fsyncdir(struct fs *fs, uint64_t ino)
{
	int r;

	fs_meta_lock(fs);
	r = meta_sync(fs->meta);
	fs_meta_unlock(fs);
	return r;
}
