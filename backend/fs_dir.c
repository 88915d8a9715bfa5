/* fs_dir.c - directories: opendir (a snapshot of the entries' version),
 * readdir (plain and plus) and fsyncdir.
 *
 * Locks: opendir and a stream's snapshot read under meta_lock
 * (fs_meta_lock); the entries are read by meta_read bodies, READDIR_BATCH at
 * a time, and handed to fill after each; readdir plus takes fs.itab_lock
 * through fs_inode_ref for each entry it returns.
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

/* Entries read by one read body (meta_read), handed to fill after it:
 * the body may run twice, and fill and the references must happen once. */
#define READDIR_BATCH 64

struct readdir_ent {
	uint64_t ino, cookie;
	uint32_t type;
	struct meta_inode mi;         /* plus */
	struct fs_pt_snap ps;         /* plus */
	char name[FS_NAME_MAX + 1];
};

struct readdir_read {
	struct fs *fs;
	uint64_t dir, after, upto;
	bool plus, dotdot;
	uint64_t up;                  /* out, with dotdot: the parent */
	unsigned n;                   /* out: entries in e */
	bool more;                    /* out: more entries may follow */
	struct readdir_ent e[READDIR_BATCH];
};

static int readdir_collect(const char *name, uint64_t ino, uint32_t type, uint64_t cookie,
			   void *arg)
{
	struct readdir_read *t = arg;
	struct readdir_ent *e;

	if (t->n == READDIR_BATCH) {
		t->more = true;
		return 1;
	}
	e = &t->e[t->n++];
	e->ino = ino;
	e->type = type;
	e->cookie = cookie;
	snprintf(e->name, sizeof(e->name), "%s", name);
	return 0;
}

static int readdir_body(struct meta *m, void *arg)
{
	struct readdir_read *t = arg;
	int r;

	t->n = 0;
	t->more = false;
	if (t->dotdot && (r = meta_dir_parent(m, t->dir, &t->up)) < 0)
		return r;
	r = meta_readdir(m, t->dir, t->after, t->upto, readdir_collect, t);
	for (unsigned i = 0; r == 0 && t->plus && i < t->n; i++) {
		struct readdir_ent *e = &t->e[i];

		/* the passthrough state before the row, as stat_read_body */
		e->ps = fs_pt_snap_ino(t->fs, e->ino);
		r = meta_inode_get(m, e->ino, &e->mi);
		if (!r && !S_ISREG(e->mi.mode))
			e->ps = FS_PT_NONE;
	}
	return r;
}

int fs_readdir(struct fs *fs, uint64_t dir, uint64_t cookie, uint64_t *snapshot, bool plus,
	       fs_fill_cb fill, void *arg)
{
	struct readdir_read *t;
	struct stat st;
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
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fs = fs;
	t->dir = dir;
	t->upto = *snapshot;
	t->plus = plus;
	t->dotdot = cookie < 2;
	t->after = cookie < 2 ? 0 : cookie - 2;
	for (;;) {
		r = meta_read(fs->meta, readdir_body, t);
		if (r < 0)
			break;
		if (t->dotdot) {
			memset(&st, 0, sizeof(st));
			st.st_mode = S_IFDIR;
			st.st_ino = t->up;
			if (fill("..", &st, 2, arg))
				break;
			t->dotdot = false;
		}
		for (unsigned i = 0; i < t->n; i++) {
			struct readdir_ent *e = &t->e[i];

			memset(&st, 0, sizeof(st));
			if (plus) {
				fs_fill_stat(fs, &e->mi, e->ps, &st);
			} else {
				st.st_ino = e->ino;
				st.st_mode = e->type;
			}
			if (fill(e->name, &st, e->cookie + 2, arg)) {
				t->more = false;
				break;
			}
			if (plus && (r = fs_inode_ref(fs, e->ino, 1, 0, NULL)) < 0) {
				t->more = false;
				break;
			}
			t->after = e->cookie;
		}
		if (r < 0 || !t->more)
			break;
	}
	free(t);
	return r < 0 ? r : 0;
}

int fs_fsyncdir(struct fs *fs, uint64_t ino)
{
	int r;

	fs_meta_lock(fs);
	r = meta_sync(fs->meta);
	fs_meta_unlock(fs);
	return r;
}
