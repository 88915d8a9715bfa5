/* fsck.c - `efsfs fsck`: checks that the metadata is consistent with itself
 * and with the data files.  Opening the file system first runs the same
 * recovery as a mount (orphans and stray data files left by a crash are
 * garbage, not errors); what remains after that is an error:
 *   - the metadata engine's own check fails (SQLite: integrity_check)
 *   - the root is missing or not a directory
 *   - an entry points to a missing inode, or its parent is not a directory,
 *     or its name is empty, too long or contains '/', or its type differs
 *     from the inode's
 *   - a file's nlink differs from the number of its entries; a directory
 *     has not exactly one entry, or its nlink is not 2 + subdirectories
 *   - a directory is not reachable from the root (a cycle or lost subtree)
 *   - a data file belongs to an inode that is not a regular file
 *   - a chunk row belongs to no regular file, or lies past its end
 * Reported but not errors: a data file longer than its inode's size (space
 * nothing names; recovery after a crash cuts such files, and fsck says how
 * many and how much space that freed).
 * With repair, a data file whose size differs from its inode's size is set
 * to that size (only bytes past the inode's size are ever cut).
 * The cold objects in the stores are tier/'s to check (tier_fsck); the CLI
 * runs both on one open file system.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/fs_i.h"
#include "backend/meta.h"

struct fsck_ino {
	uint64_t ino;
	uint32_t mode, nlink;
	uint64_t size;
	uint32_t entries, subdirs;
	uint64_t parent;
	int64_t blocks;               /* as recorded, -1 unknown */
};

struct fsck {
	struct fs *fs;
	struct fsck_ino *v;
	size_t n, cap;
	int errors;
	void (*report)(const char *msg, void *arg);
	void *arg;
};

static void problem(struct fsck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct fsck *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->errors++;
	c->report(msg, c->arg);
}

/* A finding that is not an error (space only): reported with "note: "
 * in front, not counted. */
static void note(struct fsck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fsck *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "note: ");

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	c->report(msg, c->arg);
}

static struct fsck_ino *find(struct fsck *c, uint64_t ino)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->v[mid].ino == ino)
			return &c->v[mid];
		if (c->v[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int collect_inode(const struct meta_inode *in, void *arg)
{
	struct fsck *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct fsck_ino *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct fsck_ino){ in->ino, in->mode, in->nlink, in->size, 0, 0, 0,
					  in->blocks };
	return 0;
}

static int check_dentry(uint64_t parent, const char *name, uint64_t ino, uint32_t type, void *arg)
{
	struct fsck *c = arg;
	struct fsck_ino *p = find(c, parent), *t = find(c, ino);
	size_t len = strlen(name);

	if (len == 0 || len > FS_NAME_MAX || strchr(name, '/'))
		problem(c, "entry in directory %" PRIu64 " has an invalid name (%zu bytes)",
			parent, len);
	if (!p)
		problem(c, "entry '%s' is in missing directory %" PRIu64, name, parent);
	else if (!S_ISDIR(p->mode))
		problem(c, "entry '%s' is in inode %" PRIu64 ", which is not a directory", name,
			parent);
	if (!t) {
		problem(c, "entry '%s' in directory %" PRIu64 " points to missing inode %" PRIu64,
			name, parent, ino);
		return 0;
	}
	if ((t->mode & S_IFMT) != (type & S_IFMT))
		problem(c, "entry '%s' (inode %" PRIu64 ") has type %o, the inode %o", name, ino,
			type & S_IFMT, t->mode & S_IFMT);
	t->entries++;
	t->parent = parent;
	if (S_ISDIR(t->mode) && p)
		p->subdirs++;
	return 0;
}

static int check_chunk(const struct meta_chunk *ch, void *arg)
{
	struct fsck *c = arg;
	struct fsck_ino *t = find(c, ch->ino);
	uint64_t cs = c->fs->chunk_size;

	if (!t || !S_ISREG(t->mode))
		problem(c, "chunk %" PRIu64 " of inode %" PRIu64 " belongs to no regular file",
			ch->idx, ch->ino);
	else if (ch->idx >= (t->size + cs - 1) / cs && ch->class != META_STANDARD)
		problem(c, "chunk %" PRIu64 " of inode %" PRIu64 " lies past the end (%" PRIu64
			" bytes)", ch->idx, ch->ino, t->size);
	if (ch->class < META_STANDARD || ch->class > META_ARCHIVE)
		problem(c, "chunk %" PRIu64 " of inode %" PRIu64 " has unknown class %d", ch->idx,
			ch->ino, ch->class);
	return 0;
}

static void check_tree(struct fsck *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct fsck_ino *t = &c->v[i];

		if (t->ino == META_ROOT_INO) {
			if (!S_ISDIR(t->mode))
				problem(c, "the root inode is not a directory");
			if (t->entries)
				problem(c, "the root directory has %u entries naming it", t->entries);
			if (t->nlink != 2 + t->subdirs)
				problem(c, "root: nlink %u, expected %u", t->nlink, 2 + t->subdirs);
			continue;
		}
		if (S_ISDIR(t->mode)) {
			if (t->entries != 1)
				problem(c, "directory %" PRIu64 " has %u entries naming it, expected 1",
					t->ino, t->entries);
			if (t->nlink != 2 + t->subdirs)
				problem(c, "directory %" PRIu64 ": nlink %u, expected %u", t->ino,
					t->nlink, 2 + t->subdirs);
		} else if (t->nlink != t->entries) {
			problem(c, "inode %" PRIu64 ": nlink %u but %u entries", t->ino, t->nlink,
				t->entries);
		}
		if (t->entries == 0 && t->nlink)
			continue;
		/* every directory must reach the root */
		if (S_ISDIR(t->mode)) {
			uint64_t at = t->ino;
			size_t steps = 0;

			while (at != META_ROOT_INO && steps++ <= c->n) {
				struct fsck_ino *u = find(c, at);

				if (!u || !u->entries)
					break;
				at = u->parent;
			}
			if (at != META_ROOT_INO)
				problem(c, "directory %" PRIu64 " is not reachable from the root",
					t->ino);
		}
	}
}

static void check_data(struct fsck *c, bool repair)
{
	for (size_t i = 0; i < c->n; i++) {
		struct fsck_ino *t = &c->v[i];
		struct chunk_store *cs = c->fs->local;
		struct stat st;
		int r;

		if (cs->ops->stat(cs, t->ino, NULL, &st) < 0) {
			/* no data file: all holes, fine */
			st.st_blocks = 0;
			st.st_size = (off_t)t->size;
		} else if (!S_ISREG(t->mode)) {
			problem(c, "inode %" PRIu64 " (mode %o) has a data file", t->ino, t->mode);
			continue;
		}
		if (S_ISREG(t->mode) && t->blocks >= 0 && t->blocks != (int64_t)st.st_blocks) {
			/* what a stat shows as st_blocks (schema 4); not an error:
			 * ext4 may add an extent block after the close recorded it */
			note(c, "inode %" PRIu64 ": the metadata records %" PRId64 " allocated "
			     "blocks, its data file has %" PRId64 "%s", t->ino, t->blocks,
			     (int64_t)st.st_blocks, repair ? " (recorded now)" : "");
			if (repair) {
				fs_meta_lock(c->fs);
				meta_inode_set_blocks(c->fs->meta, t->ino, (int64_t)st.st_blocks);
				fs_meta_unlock(c->fs);
			}
		}
		if ((uint64_t)st.st_size != t->size && repair) {
			r = cs->ops->fix_size(cs, t->ino, t->size, false, NULL);
			if (r == 1) {
				fs_meta_lock(c->fs);
				meta_inode_set_blocks(c->fs->meta, t->ino, -1);   /* cut: unknown */
				fs_meta_unlock(c->fs);
			}
			if (r < 0 && r != -ENOENT && r != -ENOTDIR && r != -ELOOP)
				problem(c, "inode %" PRIu64 ": cannot cut data file: %s", t->ino,
					strerror(-r));
		} else if ((uint64_t)st.st_size > t->size) {
			note(c, "inode %" PRIu64 ": data file holds %" PRIu64 " bytes past the "
			     "file's size %" PRIu64 " (unused space, not an error; --repair cuts "
			     "them)", t->ino, (uint64_t)st.st_size - t->size, t->size);
		}
	}
}

int fs_fsck_open(struct fs *fs, bool repair, void (*report)(const char *msg, void *arg),
		 void *arg, char *err, size_t errlen)
{
	struct fsck c = { .fs = fs, .report = report, .arg = arg };
	char buf[512];
	int r;

	if (c.fs->recovered_files)
		note(&c, "recovery: cut %" PRIu64 " data file%s back to the size the metadata "
		     "records (writes a crash left uncommitted), freeing %" PRIu64 " bytes",
		     c.fs->recovered_files, c.fs->recovered_files == 1 ? "" : "s",
		     c.fs->recovered_bytes);
	fs_meta_lock(c.fs);
	if (meta_integrity(c.fs->meta, buf, sizeof(buf)) < 0)
		problem(&c, "metadata database: %s", buf);
	r = meta_inode_each(c.fs->meta, 0, collect_inode, &c);
	if (!r && !find(&c, META_ROOT_INO))
		problem(&c, "the root directory (inode 1) is missing");
	if (!r)
		r = meta_dentry_each(c.fs->meta, check_dentry, &c);
	if (!r)
		r = meta_chunk_each(c.fs->meta, 0, check_chunk, &c);
	if (r < 0)
		snprintf(err, errlen, "reading metadata: %s (%s)", strerror(-r),
			 meta_errmsg(c.fs->meta));
	fs_meta_unlock(c.fs);
	if (r < 0)
		goto out;
	check_tree(&c);
	check_data(&c, repair);
	r = c.errors;
out:
	free(c.v);
	return r;
}

int fs_fsck(const struct conf *conf, bool repair, void (*report)(const char *msg, void *arg),
	    void *arg, char *err, size_t errlen)
{
	struct fs *fs;
	int r;

	r = fs_open(conf, NULL, &fs, err, errlen);
	if (r < 0)
		return r;
	r = fs_fsck_open(fs, repair, report, arg, err, errlen);
	fs_close(fs);
	return r;
}
