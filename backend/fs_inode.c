/* fs_inode.c - the in-memory inode table and inode attributes: references
 * (lookup, forget, hold/drop, the purge of an unlinked inode when the last
 * one goes), getattr/lookup, setattr, truncate, kill_priv, readlink, and the
 * fs_inode_* accessors of layer.h.
 *
 * Locks: fs.itab_lock guards the table (fs.itab, fs_inode.next, nlookup,
 * nopen, unlinked: written and read under it); an inode's lock guards cf,
 * size and the passthrough counts (written under it; write_gen and the
 * pt_* atomics are also read without it); its io rwlock is taken exclusive
 * by truncate.  Metadata calls run under meta_lock or as meta_txn bodies;
 * getattr, lookup and readlink as meta_read bodies (without meta_lock).
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

int64_t fs_ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

struct fs_inode **fs_itab_slot(struct fs *fs, uint64_t ino)
{
	struct fs_inode **p = &fs->itab[(ino * 0x9E3779B97F4A7C15ull) >> 48];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

/* Whether ino is in memory and known to have no extended attribute. */
bool fs_inode_no_xattrs(struct fs *fs, uint64_t ino)
{
	struct fs_inode *in;
	bool none;

	pthread_mutex_lock(&fs->itab_lock);
	in = *fs_itab_slot(fs, ino);
	none = in && atomic_load(&in->no_xattrs);
	pthread_mutex_unlock(&fs->itab_lock);
	return none;
}

/* An extended attribute is about to be written to ino: from now on its
 * reads go to the metadata (struct fs_inode, no_xattrs). */
void fs_inode_gets_xattr(struct fs *fs, uint64_t ino)
{
	struct fs_inode *in;

	atomic_fetch_add(&fs->xattr_sets, 1);
	pthread_mutex_lock(&fs->itab_lock);
	in = *fs_itab_slot(fs, ino);
	if (in)
		atomic_store(&in->no_xattrs, false);
	pthread_mutex_unlock(&fs->itab_lock);
}

/* in was just made by fs_create, which read fs.xattr_sets as sets_before
 * before its name could be seen: marks it as having no extended attribute,
 * unless a setxattr (of any inode) began since.  One on in, by another
 * session that found the new name, either began before the check below
 * (which then takes the mark back) or clears the mark itself after it. */
void fs_inode_mark_no_xattrs(struct fs *fs, struct fs_inode *in, uint64_t sets_before)
{
	atomic_store(&in->no_xattrs, true);
	if (atomic_load(&fs->xattr_sets) != sets_before)
		atomic_store(&in->no_xattrs, false);
}

/* Finds or adds ino; fs->itab_lock held. */
static struct fs_inode *itab_get(struct fs *fs, uint64_t ino)
{
	struct fs_inode **p = fs_itab_slot(fs, ino), *in;

	if (*p)
		return *p;
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->ino = ino;
	pthread_rwlock_init(&in->io, NULL);
	pthread_mutex_init(&in->lock, NULL);
	*p = in;
	return in;
}

int fs_inode_ref(struct fs *fs, uint64_t ino, uint64_t nlookup, uint32_t nopen,
		 struct fs_inode **ret)
{
	struct fs_inode *in;

	pthread_mutex_lock(&fs->itab_lock);
	in = itab_get(fs, ino);
	if (in) {
		in->nlookup += nlookup;
		in->nopen += nopen;
	}
	pthread_mutex_unlock(&fs->itab_lock);
	if (!in)
		return -ENOMEM;
	if (ret)
		*ret = in;
	return 0;
}

struct purge_txn {
	uint64_t ino;
	struct meta_effects fx;
};

static int purge_body(struct meta *m, void *arg)
{
	struct purge_txn *t = arg;
	struct meta_inode mi;
	int r;

	r = meta_inode_get(m, t->ino, &mi);
	if (r < 0 || mi.nlink != 0)
		return -EBUSY;    /* linked again, or gone already: nothing to do */
	r = meta_inode_delete(m, t->ino);
	if (!r)
		r = meta_effect_add(&t->fx, FX_DATA_GONE, t->ino);
	return r;
}

/* Removes an unlinked inode for good: metadata first, then its data
 * (synchronously: the purger's queue could not take it). */
static void inode_purge_now(struct fs *fs, uint64_t ino)
{
	struct purge_txn t = { .ino = ino };
	int r;

	fs_meta_lock(fs);
	r = meta_txn_fx(fs->meta, purge_body, &t, &t.fx);
	if (r == 0)
		r = fs_meta_flush_locked(fs);     /* the data goes only once that is durable */
	fs_meta_unlock(fs);
	if (r == 0 && t.fx.n)
		fs->chunks->ops->remove(fs->chunks, ino);
	/* A failed delete leaves an nlink 0 row that the next mount removes. */
}

#define FS_PURGE_GATHER_MS 20
#define FS_PURGE_BATCH     4096

/* The purger.  An unlink (or the last close of an unlinked file) only
 * queues the inode; the purger thread takes what is queued, deletes the
 * rows of all of it in one hold of the metadata lock (each a transaction of
 * the open group), commits the group once, and then removes their data
 * files.  So a `rm -rf` pays no commit and no ext4 unlink per file on the
 * request path.  It first lets the queue fill for FS_PURGE_GATHER_MS (up to
 * FS_PURGE_BATCH inodes): taken as they came, a sequential rm -rf gave it
 * one or two inodes at a time, and each commit wrote the group's pages
 * again, about 18 KiB per file removed.  Crash-safe as before: until its
 * row is gone an inode is an orphan (nlink 0) of this session, which the
 * next mount removes; the data file goes only once the commit that deleted
 * the row is done, and a data file without a row is removed by the
 * recovery. */
static void *purger_main(void *arg)
{
	struct fs *fs = arg;
	uint64_t *q = NULL;
	size_t n = 0;

	pthread_mutex_lock(&fs->purge_lock);
	for (;;) {
		int64_t until_ns;
		struct timespec until;

		while (fs->purge_n == 0 && !fs->purge_stop)
			pthread_cond_wait(&fs->purge_cond, &fs->purge_lock);
		if (fs->purge_n == 0)
			break;                /* stop, and nothing left */
		/* Let the unlinks that follow (the rest of a rm -rf) join this
		 * batch: one commit for them all, not one for each file.  A
		 * drain (a write short of space, fs_close) does not wait.
		 * purge_cond runs on CLOCK_REALTIME, as fs_now_ns. */
		until_ns = fs_now_ns() + FS_PURGE_GATHER_MS * 1000000LL;
		until.tv_sec = until_ns / 1000000000;
		until.tv_nsec = until_ns % 1000000000;
		while (!fs->purge_stop && fs->purge_waiters == 0 && fs->purge_n < FS_PURGE_BATCH &&
		       pthread_cond_timedwait(&fs->purge_cond, &fs->purge_lock, &until) == 0)
			;
		free(q);
		q = fs->purge_q;
		n = fs->purge_n;
		fs->purge_q = NULL;
		fs->purge_n = fs->purge_cap = 0;
		fs->purge_busy = true;
		fs->purge_batches++;
		pthread_mutex_unlock(&fs->purge_lock);

		fs_meta_lock(fs);
		for (size_t i = 0; i < n; i++) {
			struct purge_txn t = { .ino = q[i] };

			if (meta_txn_fx(fs->meta, purge_body, &t, &t.fx) < 0 || t.fx.n == 0)
				q[i] = 0;     /* still linked, gone, or failed: no data to remove */
		}
		if (fs_meta_flush_locked(fs) < 0)
			n = 0;            /* the rows may come back: keep the data */
		fs_meta_unlock(fs);
		for (size_t i = 0; i < n; i++)
			if (q[i])
				fs->chunks->ops->remove(fs->chunks, q[i]);

		pthread_mutex_lock(&fs->purge_lock);
		fs->purge_busy = false;
		if (fs->purge_n == 0)
			pthread_cond_broadcast(&fs->purge_done);
	}
	pthread_cond_broadcast(&fs->purge_done);
	pthread_mutex_unlock(&fs->purge_lock);
	free(q);
	return NULL;
}

/* Queues ino for the purger; purges it here when there is no purger or
 * the queue cannot grow. */
static void inode_purge(struct fs *fs, uint64_t ino)
{
	bool queued = false;

	if (fs->purge_on) {
		pthread_mutex_lock(&fs->purge_lock);
		if (fs->purge_n == fs->purge_cap) {
			size_t cap = fs->purge_cap ? fs->purge_cap * 2 : 256;
			uint64_t *q = realloc(fs->purge_q, cap * sizeof(*q));

			if (q) {
				fs->purge_q = q;
				fs->purge_cap = cap;
			}
		}
		if (fs->purge_n < fs->purge_cap && !fs->purge_stop) {
			fs->purge_q[fs->purge_n++] = ino;
			queued = true;
			pthread_cond_signal(&fs->purge_cond);
		}
		pthread_mutex_unlock(&fs->purge_lock);
	}
	if (!queued)
		inode_purge_now(fs, ino);
}

int fs_purger_start(struct fs *fs)
{
	int r;

	pthread_mutex_init(&fs->purge_lock, NULL);
	pthread_cond_init(&fs->purge_cond, NULL);
	pthread_cond_init(&fs->purge_done, NULL);
	r = pthread_create(&fs->purge_thread, NULL, purger_main, fs);
	if (r) {
		pthread_cond_destroy(&fs->purge_done);
		pthread_cond_destroy(&fs->purge_cond);
		pthread_mutex_destroy(&fs->purge_lock);
		return -r;
	}
	fs->purge_on = true;
	return 0;
}

void fs_purger_drain(struct fs *fs)
{
	if (!fs->purge_on)
		return;
	pthread_mutex_lock(&fs->purge_lock);
	fs->purge_waiters++;
	pthread_cond_signal(&fs->purge_cond);     /* no gathering: purge now */
	while ((fs->purge_n > 0 || fs->purge_busy) && !fs->purge_stop)
		pthread_cond_wait(&fs->purge_done, &fs->purge_lock);
	fs->purge_waiters--;
	pthread_mutex_unlock(&fs->purge_lock);
}

void fs_purge_wait(struct fs *fs)
{
	fs_purger_drain(fs);
}

void fs_purger_stop(struct fs *fs)
{
	if (!fs->purge_on)
		return;
	pthread_mutex_lock(&fs->purge_lock);
	fs->purge_stop = true;
	pthread_cond_signal(&fs->purge_cond);
	pthread_mutex_unlock(&fs->purge_lock);
	pthread_join(fs->purge_thread, NULL);    /* it purges what is queued first */
	fs->purge_on = false;
	free(fs->purge_q);
	fs->purge_q = NULL;
	pthread_cond_destroy(&fs->purge_done);
	pthread_cond_destroy(&fs->purge_cond);
	pthread_mutex_destroy(&fs->purge_lock);
}

/* Drops references; frees the entry and purges an unlinked inode when the
 * last one goes. */
void fs_inode_unref(struct fs *fs, struct fs_inode *in, uint64_t nlookup, uint32_t nopen)
{
	bool purge = false, drop = false;
	uint64_t ino = in->ino;

	if (nopen) {
		/* The last close closes the backing file: the kernel may keep
		 * lookups on many thousands of inodes, and an fd each would run
		 * out of descriptors.  Our own count is still held here, so the
		 * entry cannot go away; an open racing us waits on in->lock and
		 * opens the file again. */
		bool last;

		pthread_mutex_lock(&in->lock);
		pthread_mutex_lock(&fs->itab_lock);
		last = in->nopen <= nopen;
		pthread_mutex_unlock(&fs->itab_lock);
		if (last && in->cf && !atomic_load(&in->pt_dirty)) {
			fs_inode_record_blocks(fs, in);
			fs->chunks->ops->close(fs->chunks, in->cf);
			in->cf = NULL;
		}
		pthread_mutex_unlock(&in->lock);
	}
	pthread_mutex_lock(&fs->itab_lock);
	in->nlookup = in->nlookup > nlookup ? in->nlookup - nlookup : 0;
	in->nopen = in->nopen > nopen ? in->nopen - nopen : 0;
	if (in->nlookup == 0 && in->nopen == 0) {
		struct fs_inode **p = fs_itab_slot(fs, ino);

		if (*p == in)
			*p = in->next;
		purge = in->unlinked;
		drop = true;
	}
	pthread_mutex_unlock(&fs->itab_lock);
	if (drop) {
		fs_pt_refresh_last(fs, in);
		if (atomic_load(&in->pt_dirty))
			atomic_fetch_sub(&fs->pt_dirty_n, 1);
		fs_inode_record_blocks(fs, in);
		fs->chunks->ops->close(fs->chunks, in->cf);
		pthread_rwlock_destroy(&in->io);
		pthread_mutex_destroy(&in->lock);
		free(in);
	}
	if (purge)
		inode_purge(fs, ino);
}

/* nlink of ino reached 0: purge now when nobody holds it, else on last unref. */
void fs_inode_unlinked(struct fs *fs, uint64_t ino)
{
	struct fs_inode **p;
	bool now;

	pthread_mutex_lock(&fs->itab_lock);
	p = fs_itab_slot(fs, ino);
	now = *p == NULL;
	if (*p)
		(*p)->unlinked = true;
	pthread_mutex_unlock(&fs->itab_lock);
	if (now)
		inode_purge(fs, ino);
}

/* Opens the data of a regular file once (fs.chunks); in->lock held.
 * fresh: the inode fs_create just made, known to be empty, with no chunk
 * rows: no queries, no size check, and the backing file made empty (inode
 * numbers are never reused, so nothing can be there but a stray a crash
 * left). */
int fs_inode_open_data(struct fs *fs, struct fs_inode *in, bool fresh)
{
	struct meta_inode mi;
	int r;

	if (in->cf)
		return 0;
	if (fresh) {
		r = fs->chunks->ops->open(fs->chunks, in->ino, 0, CHUNK_OPEN_FRESH, &in->cf);
		if (r < 0)
			return r;
		in->size = 0;
		in->blocks = 0;
		return 0;
	}
	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, in->ino, &mi);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	if (!S_ISREG(mi.mode))
		return -EINVAL;
	if (!fs->chunks->ops->localize) {
		/* A store that cannot reach data kept elsewhere (the local store
		 * with no tier layer over it) must not serve a file with cold
		 * chunks: their local range is a hole and would read as zeros. */
		uint64_t cold = 0;

		fs_meta_lock(fs);
		r = meta_chunk_cold_count(fs->meta, in->ino, &cold);
		fs_meta_unlock(fs);
		if (r < 0)
			return r;
		if (cold)
			return -EIO;
	}
	r = fs->chunks->ops->open(fs->chunks, in->ino, mi.size,
				  fs->read_only ? CHUNK_OPEN_RDONLY : 0, &in->cf);
	if (r < 0)
		return r;
	in->size = mi.size;
	in->blocks = mi.blocks;
	return 0;
}

void fs_inode_record_blocks(struct fs *fs, struct fs_inode *in)
{
	struct stat st;

	if (!in->cf || fs->read_only ||
	    fs->chunks->ops->stat(fs->chunks, in->ino, in->cf, &st) < 0 || st.st_blocks == in->blocks)
		return;
	/* a failure leaves the old figure, which a crash could leave too:
	 * the next close records it, or the recovery forgets it */
	fs_meta_lock(fs);
	if (meta_inode_set_blocks(fs->meta, in->ino, st.st_blocks) == 0)
		in->blocks = st.st_blocks;
	fs_meta_unlock(fs);
}

int fs_txn_stat(struct fs *fs, meta_body_fn body, void *arg, const struct meta_inode *mi,
		struct stat *st)
{
	struct fs_pt_snap ps = FS_PT_NONE;
	struct meta_inode got;
	int r;

	fs_meta_lock(fs);
	r = meta_txn(fs->meta, body, arg);
	got = *mi;
	if (!r)
		ps = fs_pt_snap(fs, &got);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	return fs_fill_stat(fs, &got, ps, st);
}

int fs_fill_stat(struct fs *fs, const struct meta_inode *mi, struct fs_pt_snap ps,
		 struct stat *st)
{
	meta_inode_to_stat(mi, st);
	if (S_ISREG(mi->mode) && mi->blocks >= 0 && !ps.dirty && !ps.open) {
		/* closed: its backing file is as its last close recorded */
		st->st_blocks = mi->blocks;
	} else if (S_ISREG(mi->mode)) {
		struct stat bst;

		if (fs->chunks->ops->stat(fs->chunks, mi->ino, NULL, &bst) == 0) {
			st->st_blocks = bst.st_blocks;
			/* Open with passthrough: the kernel's writes are on the
			 * backing file, not yet in the metadata. */
			if (ps.dirty) {
				st->st_size = bst.st_size;
				if (fs_ts_ns(bst.st_mtim) != ps.ns)
					st->st_mtim = st->st_ctim = bst.st_mtim;
			}
		}
	} else if (S_ISLNK(mi->mode)) {
		st->st_blocks = 0;
	} else if (S_ISDIR(mi->mode)) {
		st->st_size = 4096;
		st->st_blocks = 8;
	}
	return 0;
}

/* A getattr (name NULL) or a lookup of parent/name, as a read body
 * (meta_read: it may run on a read connection, and again on the writer).
 * The passthrough snapshot is taken before the row is read: a
 * fs_pt_refresh that clears pt_dirty has changed the row before, so the
 * read either sees pt_dirty still set or meets the changed row (in its
 * snapshot, or as a key changed since, which sends it to the writer). */
struct stat_read {
	struct fs *fs;
	uint64_t parent;
	const char *name;
	uint64_t ino;                 /* getattr: in; lookup: out */
	struct meta_inode mi;         /* out */
	struct fs_pt_snap ps;         /* out */
};

static int stat_read_body(struct meta *m, void *arg)
{
	struct stat_read *t = arg;
	int r;

	if (t->name) {
		r = meta_lookup(m, t->parent, t->name, &t->ino);
		if (r < 0)
			return r;
	}
	t->ps = fs_pt_snap_ino(t->fs, t->ino);
	r = meta_inode_get(m, t->ino, &t->mi);
	if (!r && !S_ISREG(t->mi.mode))
		t->ps = FS_PT_NONE;
	return r;
}

int fs_getattr(struct fs *fs, uint64_t ino, struct stat *ret_st)
{
	struct stat_read t = { .fs = fs, .ino = ino };
	int r = meta_read(fs->meta, stat_read_body, &t);

	if (r < 0)
		return r;
	return fs_fill_stat(fs, &t.mi, t.ps, ret_st);
}

int fs_lookup(struct fs *fs, uint64_t parent, const char *name, struct stat *ret_st)
{
	struct stat_read t = { .fs = fs, .parent = parent, .name = name };
	int r;

	r = fs_check_name(name);
	if (r < 0)
		return r;
	r = meta_read(fs->meta, stat_read_body, &t);
	if (r < 0)
		return r;
	fs_fill_stat(fs, &t.mi, t.ps, ret_st);
	return fs_inode_ref(fs, t.ino, 1, 0, NULL);
}

int fs_ref(struct fs *fs, uint64_t ino, struct stat *ret_st)
{
	int r = fs_getattr(fs, ino, ret_st);

	return r < 0 ? r : fs_inode_ref(fs, ino, 1, 0, NULL);
}

void fs_forget(struct fs *fs, uint64_t ino, uint64_t nlookup)
{
	struct fs_inode *in;

	pthread_mutex_lock(&fs->itab_lock);
	in = *fs_itab_slot(fs, ino);
	pthread_mutex_unlock(&fs->itab_lock);
	if (in)
		fs_inode_unref(fs, in, nlookup, 0);
}

/* Commits pending passthrough writes of ino, if it has any. */
static int refresh_ino(struct fs *fs, uint64_t ino)
{
	struct fs_inode *in;
	int64_t ns;
	int r;

	if (!fs_pt_pending(fs, ino, &ns))
		return 0;
	r = fs_inode_ref(fs, ino, 1, 0, &in);
	if (r < 0)
		return r;
	r = fs_pt_commit(fs, in);
	fs_inode_unref(fs, in, 1, 0);
	return r;
}

struct size_txn {
	uint64_t ino, size, first_gone;     /* first_gone: first chunk cut, or UINT64_MAX */
	struct timespec now;
};

static int size_body(struct meta *m, void *arg)
{
	struct size_txn *t = arg;
	int r = meta_inode_set_size(m, t->ino, t->size, &t->now, META_BLOCKS_KEEP);

	if (!r && t->first_gone != UINT64_MAX)
		r = meta_chunk_delete_from(m, t->ino, t->first_gone);
	return r;
}

/* Changes the size of a regular file with its I/O lock held exclusively. */
static int truncate_locked(struct fs *fs, struct fs_inode *in, uint64_t size)
{
	struct timespec now = fs_now_ts();
	uint64_t old = in->size;
	struct size_txn t = {
		.ino = in->ino, .size = size, .now = now,
		.first_gone = size < old ? (size + fs->chunk_size - 1) / fs->chunk_size : UINT64_MAX,
	};
	int r;

	if (size > FS_MAX_FILE_SIZE)
		return -EFBIG;
	if (in->cf->nonlocal && size < old && size % fs->chunk_size) {
		/* the chunk that keeps a partial tail must be local */
		r = fs->chunks->ops->localize(fs->chunks, in->cf, size, 1, old);
		if (r < 0)
			return r;
		if (r > 0)
			atomic_fetch_add(&in->write_gen, 1);
	}
	if (size > old && (r = fs->chunks->ops->truncate(fs->chunks, in->cf, old, size)) < 0)
		return r;
	fs_meta_lock(fs);
	r = meta_txn(fs->meta, size_body, &t);
	if (!r && size < old)
		r = fs_meta_flush_locked(fs);     /* commit the new size before cutting */
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	if (size < old && fs->chunks->ops->resized)
		fs->chunks->ops->resized(fs->chunks, in->cf, size);
	if (size < old && (r = fs->chunks->ops->truncate(fs->chunks, in->cf, old, size)) < 0)
		return r;
	atomic_fetch_add(&in->write_gen, 1);
	in->size = size;
	return 0;
}

static int set_size(struct fs *fs, uint64_t ino, uint64_t size)
{
	struct fs_inode *in;
	int r;

	r = fs_inode_ref(fs, ino, 0, 1, &in);
	if (r < 0)
		return r;
	pthread_rwlock_wrlock(&in->io);
	pthread_mutex_lock(&in->lock);
	r = fs_inode_open_data(fs, in, false);
	if (!r)
		r = fs_pt_refresh(fs, in);
	if (!r)
		r = truncate_locked(fs, in, size);
	if (!r)
		fs_pt_rebase(fs, in);
	pthread_mutex_unlock(&in->lock);
	pthread_rwlock_unlock(&in->io);
	fs_inode_unref(fs, in, 0, 1);
	return r;
}

/* The mode without set-user-ID, and without set-group-ID when the group
 * may execute (without it, the bit marks mandatory locking and stays). */
uint32_t fs_kill_suidgid(uint32_t mode)
{
	mode &= ~(uint32_t)S_ISUID;
	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		mode &= ~(uint32_t)S_ISGID;
	return mode;
}

struct kill_priv_txn {
	uint64_t ino;
	bool caps, suidgid;
};

/* The drop itself; the caller has seen under the same hold that there is
 * something to drop (the common case takes no transaction). */
static int kill_priv_body(struct meta *m, void *arg)
{
	struct kill_priv_txn *t = arg;
	struct meta_inode mi;
	int r = meta_inode_get(m, t->ino, &mi);

	if (!r && t->caps)
		r = meta_xattr_remove(m, mi.ino, XATTR_CAPS);
	if (!r) {
		if (t->suidgid)
			mi.mode = fs_kill_suidgid(mi.mode);
		mi.ctime = fs_now_ts();
		r = meta_inode_update(m, &mi);
	}
	return r;
}

int fs_kill_priv(struct fs *fs, uint64_t ino, bool suidgid, bool *ret_changed)
{
	struct meta_inode mi;
	size_t n;
	bool caps;
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, ino, &mi);
	if (r < 0 || !S_ISREG(mi.mode))
		goto out;
	r = meta_xattr_get(fs->meta, ino, XATTR_CAPS, NULL, 0, &n);
	caps = r == 0;
	r = 0;
	if (!caps && (!suidgid || fs_kill_suidgid(mi.mode) == mi.mode))
		goto out;            /* the common case: nothing to drop, no commit */
	r = meta_txn(fs->meta, kill_priv_body,
		     &(struct kill_priv_txn){ .ino = ino, .caps = caps, .suidgid = suidgid });
	/* committed before the write it precedes can land: a crash of the
	 * daemon right after must not bring the bits back over new data */
	if (r == 0)
		r = fs_meta_flush_locked(fs);
	if (r == 0 && ret_changed)
		*ret_changed = true;
out:
	fs_meta_unlock(fs);
	return r;
}

struct setattr_txn {
	uint64_t ino;
	const struct stat *attr;
	int to_set;
	struct timespec now;
	struct meta_inode mi;         /* out: the inode as committed */
};

static int setattr_body(struct meta *m, void *arg)
{
	struct setattr_txn *t = arg;
	const struct stat *attr = t->attr;
	struct meta_inode mi;
	struct timespec now = t->now;
	int to_set = t->to_set;
	int r;

	r = meta_inode_get(m, t->ino, &mi);
	if (r < 0)
		return r;
	if (to_set & FS_SET_MODE)
		mi.mode = (mi.mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FS_SET_UID)
		mi.uid = attr->st_uid;
	if (to_set & FS_SET_GID)
		mi.gid = attr->st_gid;
	if (to_set & FS_SET_ATIME_NOW)
		mi.atime = now;
	else if (to_set & FS_SET_ATIME)
		mi.atime = attr->st_atim;
	if (to_set & FS_SET_MTIME_NOW)
		mi.mtime = now;
	else if (to_set & FS_SET_MTIME)
		mi.mtime = attr->st_mtim;
	if (to_set & FS_SET_CTIME)
		mi.ctime = attr->st_ctim;
	else if (to_set & (FS_SET_MODE | FS_SET_UID | FS_SET_GID | FS_SET_SIZE |
			   FS_SET_ATIME | FS_SET_MTIME | FS_SET_ATIME_NOW | FS_SET_MTIME_NOW))
		mi.ctime = now;
	if ((to_set & FS_SET_KILL_SUIDGID) && !S_ISDIR(mi.mode)) {
		mi.mode = fs_kill_suidgid(mi.mode);
		if (to_set & FS_SET_SIZE) {
			r = meta_xattr_remove(m, t->ino, XATTR_CAPS);
			if (r == -ENODATA)
				r = 0;
		}
	}
	if (!r)
		r = meta_inode_update(m, &mi);
	t->mi = mi;
	return r;
}

int fs_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set,
	       struct stat *ret_st)
{
	struct meta_inode mi;
	struct timespec now = fs_now_ts();
	struct setattr_txn t = { .ino = ino, .attr = attr, .to_set = to_set, .now = now };
	int r;

	if (to_set & FS_SET_SIZE) {
		fs_meta_lock(fs);
		r = meta_inode_get(fs->meta, ino, &mi);
		fs_meta_unlock(fs);
		if (r < 0)
			return r;
		if (S_ISDIR(mi.mode))
			return -EISDIR;
		if (!S_ISREG(mi.mode))
			return -EINVAL;
		if (attr->st_size < 0)
			return -EINVAL;
		r = set_size(fs, ino, (uint64_t)attr->st_size);
		if (r < 0)
			return r;
	} else if ((r = refresh_ino(fs, ino)) < 0) {
		return r;        /* else the kernel's writes would override new times */
	}
	return fs_txn_stat(fs, setattr_body, &t, &t.mi, ret_st);
}

struct readlink_read {
	uint64_t ino;
	char *buf;
	size_t len, *ret_len;
};

static int readlink_body(struct meta *m, void *arg)
{
	struct readlink_read *t = arg;

	return meta_readlink(m, t->ino, t->buf, t->len, t->ret_len);
}

int fs_readlink(struct fs *fs, uint64_t ino, char *buf, size_t len, size_t *ret_len)
{
	struct readlink_read t = { ino, buf, len, ret_len };

	return meta_read(fs->meta, readlink_body, &t);
}

int fs_inode_hold(struct fs *fs, uint64_t ino, struct fs_inode **ret)
{
	struct fs_inode *in;
	int r;

	r = fs_inode_ref(fs, ino, 0, 1, &in);
	if (r < 0)
		return r;
	pthread_mutex_lock(&in->lock);
	r = fs_inode_open_data(fs, in, false);
	pthread_mutex_unlock(&in->lock);
	if (r < 0) {
		fs_inode_unref(fs, in, 0, 1);
		return r;
	}
	*ret = in;
	return 0;
}

void fs_inode_drop(struct fs *fs, struct fs_inode *in)
{
	if (in)
		fs_inode_unref(fs, in, 0, 1);
}

void fs_inode_lock(struct fs_inode *in)
{
	pthread_rwlock_wrlock(&in->io);
}

void fs_inode_unlock(struct fs_inode *in)
{
	pthread_rwlock_unlock(&in->io);
}

uint64_t fs_inode_write_gen(struct fs_inode *in)
{
	return atomic_load(&in->write_gen);
}

void fs_inode_bump_gen(struct fs_inode *in)
{
	atomic_fetch_add(&in->write_gen, 1);
}

uint64_t fs_inode_size(struct fs_inode *in)
{
	uint64_t size;

	pthread_mutex_lock(&in->lock);
	size = in->size;
	pthread_mutex_unlock(&in->lock);
	return size;
}

struct chunk_file *fs_inode_chunks(struct fs_inode *in)
{
	return in->cf;
}

bool fs_inode_passthrough(struct fs_inode *in)
{
	bool r;

	pthread_mutex_lock(&in->lock);
	r = in->npt > 0 || atomic_load(&in->pt_dirty);
	pthread_mutex_unlock(&in->lock);
	return r;
}
