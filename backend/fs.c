/* fs.c - the file system core: POSIX semantics over the metadata engine
 * (backend/meta.h; each operation's transaction a meta_txn body) and the
 * chunk store (backend/chunk.h: per-inode sparse backing files, and the
 * layers over them; see fs.h for the layout and lock order).
 *
 * Ordering rules that keep a kill -9 at any point harmless:
 *  - create: the metadata commit comes first; the backing file is created
 *    on first open, and a missing backing file reads as holes.
 *  - delete: the metadata commit comes first, then the backing file is
 *    unlinked; a crash in between leaves a data file with no inode, which
 *    fs_open() removes after an unclean shutdown.
 *  - extend (write past EOF, truncate up): the backing file grows first,
 *    then the size is committed; a crash in between leaves a backing file
 *    longer than the committed size, and opening the file cuts it back so
 *    that the stale tail never shows through a later extension.
 *  - shrink: the size is committed first, then the backing file is cut.
 *  - fsync: fdatasync of the backing file, then meta_sync().
 *
 * Disk space: data writes need FS_SPACE_RESERVE free beyond themselves
 * (check_space); an operation that adds metadata is admitted by
 * check_meta_space() inside its transaction, before it is acknowledged, so
 * that the group it joins can always be committed (the design is in
 * backend/meta_sqlite.c's top comment); removals are always admitted.
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

#define FS_SPACE_RESERVE  (16ull << 20)   /* kept free for metadata when the disk fills */
/* Passthrough writes bypass check_space(): a file is only opened that way
 * while this much is free, so that the reserve is not what they eat. */
#define FS_PT_MIN_FREE    (1ull << 30)
#define FS_XATTR_MAX      65536
/* All xattrs of one inode: values of at most FS_XATTR_INODE_MAX bytes
 * together (four of the largest), and names (with their NULs) of at most
 * what one listxattr can return (XATTR_LIST_MAX); beyond either, setxattr
 * fails with ENOSPC, as on ext4 when an inode's xattr space is full. */
#define FS_XATTR_INODE_MAX (256u << 10)
#define FS_XATTR_LIST_MAX  65536u
/* Metadata space (see check_meta_space): the reserve meta_sqlite.c keeps
 * allocated for commits, and the free space below which an operation that
 * grows the metadata fails with ENOSPC: 8 MiB for users, 2 MiB for root
 * (data writes stop at FS_SPACE_RESERVE already).  FS_OP_BYTES is what one
 * operation is taken to add beyond its names, target or value. */
#define FS_META_RESERVE    (8ull << 20)
#define FS_META_USER_FLOOR (8ull << 20)
#define FS_META_ROOT_FLOOR (2ull << 20)
#define FS_OP_BYTES        (64u << 10)
/* How long an open waits for a holder that is unmounted and closing. */
#define FS_CLOSE_WAIT_MS   10000
#define FS_CLOSE_WAIT_TEXT "10 s"

/* ---- small helpers ---- */

int64_t fs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec now_ts(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fs_note(struct fs *fs, const char *fmt, ...)
{
	size_t n = strlen(fs->notes);
	va_list ap;

	if (n + 2 >= sizeof(fs->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(fs->notes + n, sizeof(fs->notes) - n - 1, fmt, ap);
	va_end(ap);
	strcat(fs->notes, "\n");
}

const char *fs_notes(const struct fs *fs)
{
	return fs->notes;
}

void fs_meta_lock(struct fs *fs)
{
	meta_lock(fs->meta);
}

void fs_meta_unlock(struct fs *fs)
{
	meta_unlock(fs->meta);
}

/* Commits the open group; meta_lock held.  For the moments when an effect
 * outside the database (unlinking or cutting a data file) must wait until
 * the metadata that stops naming it is committed. */
static int meta_flush_locked(struct fs *fs)
{
	int r = meta_flush(fs->meta);

	if (r < 0)
		log_err("%s: committing metadata: %s (%s)%s", fs->conf->name, strerror(-r),
			meta_errmsg(fs->meta),
			meta_broken(fs->meta) ? "; the operations of the last moments are lost and "
						"changes are refused until the next mount" : "");
	return r;
}

/* What the metadata engine's own commits of a group report. */
static void meta_report(const char *msg, void *arg)
{
	struct fs *fs = arg;

	log_err("%s: %s", fs->conf->name, msg);
}

int fs_set_group_commit(struct fs *fs, unsigned ms)
{
	if (ms == 0)
		return 0;
	meta_set_report(fs->meta, meta_report, fs);
	return meta_set_group(fs->meta, (int64_t)ms * 1000000);
}

static void space_update(struct fs *fs, bool always);

/* Whether the caller may grow the metadata by about `bytes` (names, a
 * symlink target, an xattr value) now; meta_lock held, inside the
 * operation's transaction.  -ENOSPC when the free space on the data disk,
 * less what the open group and data writes in flight may still take, is
 * below the caller's floor (root's is lower, as ext4 keeps blocks for uid
 * 0; ctx NULL is the daemon itself), or when the reserve is not whole and
 * cannot be made whole.  Every operation that acknowledges new metadata
 * passes here first, so the reserve only covers what was admitted (see
	 * meta_sqlite.c's top comment).  Takes space_lock (inside meta_lock). */
static int check_meta_space(struct fs *fs, const struct fs_ctx *ctx, uint64_t bytes)
{
	bool root = !ctx || ctx->uid == 0;
	uint64_t need = (root ? FS_META_ROOT_FLOOR : FS_META_USER_FLOOR) + FS_OP_BYTES + bytes +
			meta_pending(fs->meta);
	uint64_t missing = meta_reserve_missing(fs->meta);
	/* root may use the blocks the data disk keeps for uid 0 (the daemon
	 * writes as root), as on ext4; users only what statvfs says they may */
	uint64_t *free_ = root ? &fs->space_free_root : &fs->space_free;
	int r = 0;

	pthread_mutex_lock(&fs->space_lock);
	space_update(fs, *free_ < need + missing + (256ull << 20));
	if (*free_ < need + missing + fs->space_inflight) {
		r = -ENOSPC;
	} else if (missing) {
		/* space came back: complete the reserve before anything grows */
		r = meta_reserve_fill(fs->meta);
		space_update(fs, true);
		if (r < 0 || *free_ < need + fs->space_inflight)
			r = -ENOSPC;
	}
	pthread_mutex_unlock(&fs->space_lock);
	return r;
}

static int check_name(const char *name)
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

const char *fs_id(const struct fs *fs)
{
	return fs->fs_id;
}

uint64_t fs_chunk_size(const struct fs *fs)
{
	return fs->chunk_size;
}

bool fs_read_only(const struct fs *fs)
{
	return fs->read_only;
}

const struct conf *fs_conf(const struct fs *fs)
{
	return fs->conf;
}

void fs_file_set_writeback(struct fs_file *f, bool on)
{
	f->writeback = on;
}

uint64_t fs_passthrough_count(struct fs *fs)
{
	return atomic_load(&fs->pt_files);
}

bool fs_fetching(struct fs *fs)
{
	return atomic_load(&fs->fetching) != 0;
}

void fs_fetching_add(struct fs *fs, int n)
{
	atomic_fetch_add(&fs->fetching, (unsigned)n);
}

/* ---- for layers (layer.h) ---- */

struct chunk_store *fs_chunks(struct fs *fs)
{
	return fs->chunks;
}

void fs_chunks_set(struct fs *fs, struct chunk_store *cs)
{
	fs->chunks = cs;
}

struct meta *fs_meta(struct fs *fs)
{
	return fs->meta;
}

int fs_txn(struct fs *fs, int (*body)(struct meta *m, void *arg), void *arg)
{
	return meta_txn(fs->meta, body, arg);
}

int fs_meta_flush(struct fs *fs)
{
	int r;

	fs_meta_lock(fs);
	r = meta_flush(fs->meta);
	fs_meta_unlock(fs);
	return r;
}

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- the in-memory inode table ---- */

static struct fs_inode **itab_slot(struct fs *fs, uint64_t ino)
{
	struct fs_inode **p = &fs->itab[(ino * 0x9E3779B97F4A7C15ull) >> 48];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

/* Finds or adds ino; fs->itab_lock held. */
static struct fs_inode *itab_get(struct fs *fs, uint64_t ino)
{
	struct fs_inode **p = itab_slot(fs, ino), *in;

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

static int inode_ref(struct fs *fs, uint64_t ino, uint64_t nlookup, uint32_t nopen,
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

/* Effects of a metadata transaction that its caller applies after the
 * commit (meta_txn_fx): the body only records them, since it may run again. */
enum {
	FX_UNLINKED = 1,   /* the inode's last link went: inode_unlinked(ino) */
	FX_DATA_GONE,      /* the inode's row went: its data file goes (after a flush) */
};

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

/* Removes an unlinked inode for good: metadata first, then its data. */
static void inode_purge(struct fs *fs, uint64_t ino)
{
	struct purge_txn t = { .ino = ino };
	int r;

	fs_meta_lock(fs);
	r = meta_txn_fx(fs->meta, purge_body, &t, &t.fx);
	if (r == 0)
		r = meta_flush_locked(fs);     /* the data goes only once that is durable */
	fs_meta_unlock(fs);
	if (r == 0 && t.fx.n)
		fs->chunks->ops->remove(fs->chunks, ino);
	/* A failed delete leaves an nlink 0 row that the next mount removes. */
}

/* Commits the size and mtime that passthrough writes left on in's backing
 * file since they were last adopted; clears pt_dirty once no passthrough
 * handle is left.  in->lock held (or in unreachable). */
static int pt_refresh(struct fs *fs, struct fs_inode *in)
{
	struct stat st;
	int r;

	if (!atomic_load(&in->pt_dirty) || !in->cf)
		return 0;
	r = fs->chunks->ops->stat(fs->chunks, in->ino, in->cf, &st);
	if (r < 0)
		return r;
	if ((uint64_t)st.st_size != in->size ||
	    ts_ns(st.st_mtim) != atomic_load(&in->pt_mtime_ns)) {
		fs_meta_lock(fs);
		r = meta_inode_set_size(fs->meta, in->ino, (uint64_t)st.st_size, &st.st_mtim);
		fs_meta_unlock(fs);
		if (r < 0)
			return r;
		in->size = (uint64_t)st.st_size;
		atomic_store(&in->pt_mtime_ns, ts_ns(st.st_mtim));
	}
	if (in->npt == 0) {
		atomic_store(&in->pt_dirty, false);
		atomic_fetch_sub(&fs->pt_dirty_n, 1);
	}
	return 0;
}

/* pt_refresh with in->lock taken here. */
static int pt_commit(struct fs *fs, struct fs_inode *in)
{
	int r;

	pthread_mutex_lock(&in->lock);
	r = pt_refresh(fs, in);
	pthread_mutex_unlock(&in->lock);
	return r;
}

/* For an inode leaving memory (its last reference, or fs_close): commits
 * what passthrough writes left, or says that the next mount will not have
 * it.  in unreachable. */
static void pt_refresh_last(struct fs *fs, struct fs_inode *in)
{
	if (atomic_load(&in->pt_dirty) && pt_refresh(fs, in) < 0)
		log_err("inode %" PRIu64 ": the size and mtime of its last passthrough "
			"writes could not be recorded; the next mount keeps the old ones",
			in->ino);
}

/* After the daemon itself changed a passthrough file's backing file
 * (truncate, fallocate): its new mtime is not a kernel write to adopt. */
static void pt_rebase(struct fs *fs, struct fs_inode *in)
{
	struct stat st;

	if (atomic_load(&in->pt_dirty) &&
	    fs->chunks->ops->stat(fs->chunks, in->ino, in->cf, &st) == 0)
		atomic_store(&in->pt_mtime_ns, ts_ns(st.st_mtim));
}

/* Drops references; frees the entry and purges an unlinked inode when the
 * last one goes. */
static void inode_unref(struct fs *fs, struct fs_inode *in, uint64_t nlookup, uint32_t nopen)
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
			fs->chunks->ops->close(fs->chunks, in->cf);
			in->cf = NULL;
		}
		pthread_mutex_unlock(&in->lock);
	}
	pthread_mutex_lock(&fs->itab_lock);
	in->nlookup = in->nlookup > nlookup ? in->nlookup - nlookup : 0;
	in->nopen = in->nopen > nopen ? in->nopen - nopen : 0;
	if (in->nlookup == 0 && in->nopen == 0) {
		struct fs_inode **p = itab_slot(fs, ino);

		if (*p == in)
			*p = in->next;
		purge = in->unlinked;
		drop = true;
	}
	pthread_mutex_unlock(&fs->itab_lock);
	if (drop) {
		pt_refresh_last(fs, in);
		if (atomic_load(&in->pt_dirty))
			atomic_fetch_sub(&fs->pt_dirty_n, 1);
		fs->chunks->ops->close(fs->chunks, in->cf);
		pthread_rwlock_destroy(&in->io);
		pthread_mutex_destroy(&in->lock);
		free(in);
	}
	if (purge)
		inode_purge(fs, ino);
}

/* nlink of ino reached 0: purge now when nobody holds it, else on last unref. */
static void inode_unlinked(struct fs *fs, uint64_t ino)
{
	struct fs_inode **p;
	bool now;

	pthread_mutex_lock(&fs->itab_lock);
	p = itab_slot(fs, ino);
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
static int inode_open_data(struct fs *fs, struct fs_inode *in, bool fresh)
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
	return 0;
}

/* ---- attributes ---- */

/* Whether ino has passthrough writes not yet committed; *ret_ns is the
 * backing file's mtime when last adopted.  Takes only itab_lock, so it may
 * be called under meta_lock. */
static bool pt_pending(struct fs *fs, uint64_t ino, int64_t *ret_ns)
{
	struct fs_inode *in;
	bool dirty = false;

	if (atomic_load(&fs->pt_dirty_n) == 0)
		return false;
	pthread_mutex_lock(&fs->itab_lock);
	in = *itab_slot(fs, ino);
	if (in && atomic_load(&in->pt_dirty)) {
		dirty = true;
		*ret_ns = atomic_load(&in->pt_mtime_ns);
	}
	pthread_mutex_unlock(&fs->itab_lock);
	return dirty;
}

/* Whether mi, read under meta_lock, may lag behind passthrough writes.
 * Taken under that same hold: a pt_refresh commits (under meta_lock) before
 * it clears pt_dirty, so either mi already has its commit or the snapshot
 * still says dirty. */
struct pt_snap {
	bool dirty;
	int64_t ns;                   /* backing mtime when last adopted */
};

static struct pt_snap pt_snap(struct fs *fs, const struct meta_inode *mi)
{
	struct pt_snap ps = { false, 0 };

	if (S_ISREG(mi->mode))
		ps.dirty = pt_pending(fs, mi->ino, &ps.ns);
	return ps;
}

static const struct pt_snap PT_NONE = { false, 0 };

static int fill_stat(struct fs *fs, const struct meta_inode *mi, struct pt_snap ps,
		     struct stat *st)
{
	meta_inode_to_stat(mi, st);
	if (S_ISREG(mi->mode)) {
		struct stat bst;

		if (fs->chunks->ops->stat(fs->chunks, mi->ino, NULL, &bst) == 0) {
			st->st_blocks = bst.st_blocks;
			/* Open with passthrough: the kernel's writes are on the
			 * backing file, not yet in the metadata. */
			if (ps.dirty) {
				st->st_size = bst.st_size;
				if (ts_ns(bst.st_mtim) != ps.ns)
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

static int stat_ino(struct fs *fs, uint64_t ino, struct stat *st)
{
	struct meta_inode mi;
	struct pt_snap ps = PT_NONE;
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, ino, &mi);
	if (!r)
		ps = pt_snap(fs, &mi);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	return fill_stat(fs, &mi, ps, st);
}

int fs_getattr(struct fs *fs, uint64_t ino, struct stat *ret_st)
{
	return stat_ino(fs, ino, ret_st);
}

int fs_lookup(struct fs *fs, uint64_t parent, const char *name, struct stat *ret_st)
{
	struct pt_snap ps = PT_NONE;
	struct meta_inode mi;
	uint64_t ino;
	int r;

	r = check_name(name);
	if (r < 0)
		return r;
	fs_meta_lock(fs);
	r = meta_lookup(fs->meta, parent, name, &ino);
	if (!r)
		r = meta_inode_get(fs->meta, ino, &mi);
	if (!r)
		ps = pt_snap(fs, &mi);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	fill_stat(fs, &mi, ps, ret_st);
	return inode_ref(fs, ino, 1, 0, NULL);
}

void fs_forget(struct fs *fs, uint64_t ino, uint64_t nlookup)
{
	struct fs_inode *in;

	pthread_mutex_lock(&fs->itab_lock);
	in = *itab_slot(fs, ino);
	pthread_mutex_unlock(&fs->itab_lock);
	if (in)
		inode_unref(fs, in, nlookup, 0);
}

/* Commits pending passthrough writes of ino, if it has any. */
static int refresh_ino(struct fs *fs, uint64_t ino)
{
	struct fs_inode *in;
	int64_t ns;
	int r;

	if (!pt_pending(fs, ino, &ns))
		return 0;
	r = inode_ref(fs, ino, 1, 0, &in);
	if (r < 0)
		return r;
	r = pt_commit(fs, in);
	inode_unref(fs, in, 1, 0);
	return r;
}

struct size_txn {
	uint64_t ino, size, first_gone;     /* first_gone: first chunk cut, or UINT64_MAX */
	struct timespec now;
};

static int size_body(struct meta *m, void *arg)
{
	struct size_txn *t = arg;
	int r = meta_inode_set_size(m, t->ino, t->size, &t->now);

	if (!r && t->first_gone != UINT64_MAX)
		r = meta_chunk_delete_from(m, t->ino, t->first_gone);
	return r;
}

/* Changes the size of a regular file with its I/O lock held exclusively. */
static int truncate_locked(struct fs *fs, struct fs_inode *in, uint64_t size)
{
	struct timespec now = now_ts();
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
		r = meta_flush_locked(fs);     /* commit the new size before cutting */
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

	r = inode_ref(fs, ino, 0, 1, &in);
	if (r < 0)
		return r;
	pthread_rwlock_wrlock(&in->io);
	pthread_mutex_lock(&in->lock);
	r = inode_open_data(fs, in, false);
	if (!r)
		r = pt_refresh(fs, in);
	if (!r)
		r = truncate_locked(fs, in, size);
	if (!r)
		pt_rebase(fs, in);
	pthread_mutex_unlock(&in->lock);
	pthread_rwlock_unlock(&in->io);
	inode_unref(fs, in, 0, 1);
	return r;
}

#define XATTR_CAPS "security.capability"

/* The mode without set-user-ID, and without set-group-ID when the group
 * may execute (without it, the bit marks mandatory locking and stays). */
static uint32_t kill_suidgid(uint32_t mode)
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
			mi.mode = kill_suidgid(mi.mode);
		mi.ctime = now_ts();
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
	if (!caps && (!suidgid || kill_suidgid(mi.mode) == mi.mode))
		goto out;            /* the common case: nothing to drop, no commit */
	r = meta_txn(fs->meta, kill_priv_body,
		     &(struct kill_priv_txn){ .ino = ino, .caps = caps, .suidgid = suidgid });
	/* committed before the write it precedes can land: a crash of the
	 * daemon right after must not bring the bits back over new data */
	if (r == 0)
		r = meta_flush_locked(fs);
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
		mi.mode = kill_suidgid(mi.mode);
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
	struct pt_snap ps = PT_NONE;
	struct meta_inode mi;
	struct timespec now = now_ts();
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
	fs_meta_lock(fs);
	r = meta_txn(fs->meta, setattr_body, &t);
	mi = t.mi;
	if (!r)
		ps = pt_snap(fs, &mi);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	return fill_stat(fs, &mi, ps, ret_st);
}

int fs_readlink(struct fs *fs, uint64_t ino, char *buf, size_t len, size_t *ret_len)
{
	int r;

	fs_meta_lock(fs);
	r = meta_readlink(fs->meta, ino, buf, len, ret_len);
	fs_meta_unlock(fs);
	return r;
}

/* ---- namespace changes ---- */

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
	r = check_meta_space(fs, ctx, strlen(name) + (target ? strlen(target) : 0));
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

static int new_inode(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		     mode_t mode, dev_t rdev, const char *target, struct meta_inode *ret)
{
	struct new_inode_txn t = {
		.fs = fs, .ctx = ctx, .parent = parent, .name = name, .target = target,
		.mode = mode, .rdev = rdev, .now = now_ts(),
	};
	int r;

	r = check_name(name);
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

	r = new_inode(fs, ctx, parent, name, mode, rdev, target, &mi);
	if (r < 0)
		return r;
	fill_stat(fs, &mi, PT_NONE, ret_st);
	return inode_ref(fs, mi.ino, 1, 0, NULL);
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
	r = check_meta_space(fs, t->ctx, strlen(t->newname));
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
		.now = now_ts(),
	};
	struct pt_snap ps = PT_NONE;
	struct meta_inode mi;
	int r;

	r = check_name(newname);
	if (r < 0)
		return r;
	fs_meta_lock(fs);
	r = meta_txn(fs->meta, link_body, &t);
	mi = t.mi;
	if (!r)
		ps = pt_snap(fs, &mi);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	fill_stat(fs, &mi, ps, ret_st);
	return inode_ref(fs, ino, 1, 0, NULL);
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
			inode_unlinked(fs, fx->e[i].ino);
	}
}

static int remove_entry(struct fs *fs, uint64_t parent, const char *name, bool isdir)
{
	struct remove_txn t = {
		.fs = fs, .parent = parent, .name = name, .isdir = isdir, .now = now_ts(),
	};
	int r;

	r = check_name(name);
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
		.newname = newname, .flags = flags, .now = now_ts(),
	};
	int r;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((r = check_name(name)) < 0 || (r = check_name(newname)) < 0)
		return r;
	r = meta_txn_fx(fs->meta, rename_body, &t, &t.fx);
	if (!r)
		apply_effects(fs, &t.fx);
	return r;
}

/* ---- directories ---- */

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
		fill_stat(rs->fs, &mi, pt_snap(rs->fs, &mi), &st);
	} else {
		st.st_ino = ino;
		st.st_mode = type;
	}
	if (rs->fill(rs->arg, name, &st, cookie + 2))
		return 1;
	if (rs->plus) {
		int r = inode_ref(rs->fs, ino, 1, 0, NULL);

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
		if (fill(arg, ".", &st, 1))
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
		if (fill(arg, "..", &st, 2)) {
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

/* ---- files ---- */

static int open_ino(struct fs *fs, uint64_t ino, int flags, uint64_t nlookup, bool fresh,
		    struct fs_file **ret_file)
{
	struct fs_file *f;
	struct fs_inode *in;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	r = inode_ref(fs, ino, nlookup, 1, &in);
	if (r < 0) {
		free(f);
		return r;
	}
	pthread_mutex_lock(&in->lock);
	r = inode_open_data(fs, in, fresh);
	if (!r)
		in->ncached++;
	pthread_mutex_unlock(&in->lock);
	if (r < 0) {
		inode_unref(fs, in, nlookup, 1);
		free(f);
		return r;
	}
	f->inode = in;
	f->flags = flags;
	*ret_file = f;
	return 0;
}

int fs_create(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	      mode_t mode, int flags, struct fs_file **ret_file, struct stat *ret_st)
{
	struct meta_inode mi;
	int r;

	r = new_inode(fs, ctx, parent, name, S_IFREG | (mode & 07777), 0, NULL, &mi);
	if (r < 0)
		return r;
	r = open_ino(fs, mi.ino, flags, 1, true, ret_file);
	if (r < 0)
		return r;        /* the entry stays, as after a crash between the two */
	(*ret_file)->fresh = true;
	(*ret_file)->fresh_pt_ok = kill_suidgid(mi.mode) == mi.mode;
	meta_inode_to_stat(&mi, ret_st);
	ret_st->st_blocks = 0;   /* an empty data file: no fstatat */
	return 0;
}

int fs_open_file(struct fs *fs, uint64_t ino, int flags, struct fs_file **ret_file)
{
	return open_ino(fs, ino, flags, 0, false, ret_file);
}

int fs_inode_hold(struct fs *fs, uint64_t ino, struct fs_inode **ret)
{
	struct fs_inode *in;
	int r;

	r = inode_ref(fs, ino, 0, 1, &in);
	if (r < 0)
		return r;
	pthread_mutex_lock(&in->lock);
	r = inode_open_data(fs, in, false);
	pthread_mutex_unlock(&in->lock);
	if (r < 0) {
		inode_unref(fs, in, 0, 1);
		return r;
	}
	*ret = in;
	return 0;
}

void fs_inode_drop(struct fs *fs, struct fs_inode *in)
{
	if (in)
		inode_unref(fs, in, 0, 1);
}

static void note_access(struct fs *fs, struct fs_inode *in, uint64_t off, uint64_t len);

/* Passthrough is for files the kernel may write without us: no set-user-ID
 * or set-group-ID bit the kernel would have to clear on write (it only
 * does so on the daemon path). */
static bool pt_mode_ok(struct fs *fs, uint64_t ino)
{
	struct meta_inode mi;
	size_t n;
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, ino, &mi);
	/* nor file capabilities, which a write must drop */
	if (r == 0 && meta_xattr_get(fs->meta, ino, XATTR_CAPS, NULL, 0, &n) != -ENODATA)
		r = -EEXIST;
	fs_meta_unlock(fs);
	return r == 0 && kill_suidgid(mi.mode) == mi.mode;
}

/* Asks statvfs for the free space when `always` or the last answer is
 * more than 100 ms old; space_lock held. */
static void space_update(struct fs *fs, bool always)
{
	int64_t now = mono_ns();
	struct statvfs sv;

	if ((always || now - fs->space_checked_ns > 100000000) && fstatvfs(fs->datafd, &sv) == 0) {
		fs->space_free = (uint64_t)sv.f_bavail * sv.f_frsize;
		fs->space_free_root = (uint64_t)sv.f_bfree * sv.f_frsize;
		fs->space_checked_ns = now;
	}
}

static bool pt_space_ok(struct fs *fs)
{
	bool ok;

	pthread_mutex_lock(&fs->space_lock);
	space_update(fs, false);
	ok = fs->space_free >= FS_PT_MIN_FREE + FS_SPACE_RESERVE + fs->space_inflight;
	pthread_mutex_unlock(&fs->space_lock);
	return ok;
}

int fs_file_passthrough(struct fs *fs, struct fs_file *f, const struct fs_passthrough *pt)
{
	struct fs_inode *in = f->inode;
	struct fs_pt_reg *reg = NULL;
	uint64_t size = 0;
	struct stat st = { 0 };
	int fd, id = 0;

	if (!pt || !pt->attach || f->pt)
		return 0;
	/* io shared: a tier move's commit and punch (io exclusive) is either
	 * done, and then cf->nonlocal says so, or not begun, and then the write
	 * generation bumped here makes it give up. */
	pthread_rwlock_rdlock(&in->io);
	pthread_mutex_lock(&in->lock);
	if (in->npt > 0) {
		for (reg = in->pt_regs; reg && reg->ops != pt; reg = reg->next)
			;
		/* Another session's handles use passthrough: this one registers
		 * the backing file on its own connection (backing ids are per
		 * connection), unless the inode has a handle on the daemon path
		 * besides this one, whose kernel would refuse it. */
		if (!reg && in->ncached > 1)
			goto out;
	}
	if (in->npt == 0) {
		/* A later open shares the first one's backing file whatever the
		 * mode is now: the kernel allows only one kind of handle per
		 * inode.  That is safe for a file made set-user-ID or given a
		 * capability since: the kernel asks us to drop them before every
		 * write, passthrough or not (fs_kill_priv from fuse/dir.c).
		 * The kernel refuses a passthrough open while the inode has
		 * cached handles (ours counts itself), and vice versa.  O_DIRECT
		 * stays on the daemon path: the kernel opens the backing file
		 * with the flags of this open, and a later fcntl(F_SETFL)
		 * dropping O_DIRECT (as dd does for an unaligned tail) would not
		 * reach it. */
		if (in->ncached > 1 || in->cf->nonlocal || (f->flags & O_DIRECT) ||
		    !pt_space_ok(fs))
			goto out;
		if (f->fresh) {
			if (!f->fresh_pt_ok)
				goto out;
			st.st_mtim.tv_sec = st.st_mtim.tv_nsec = 0;   /* adopted at release */
		} else if (!pt_mode_ok(fs, in->ino) ||
			   fs->chunks->ops->stat(fs->chunks, in->ino, in->cf, &st) < 0 ||
			   (!atomic_load(&in->pt_dirty) && (uint64_t)st.st_size != in->size)) {
			goto out;        /* a size not ours to explain: keep the daemon path */
		}
	}
	if (!reg) {
		reg = calloc(1, sizeof(*reg));
		if (!reg)
			goto out;
		fd = fs->chunks->ops->passthrough_fd(fs->chunks, in->cf);
		id = fd >= 0 ? pt->attach(pt->arg, fd) : 0;
		if (id <= 0) {
			free(reg);
			id = 0;
			goto out;
		}
		reg->ops = pt;
		reg->id = id;
		reg->next = in->pt_regs;
		in->pt_regs = reg;
		if (in->npt == 0 && !atomic_load(&in->pt_dirty)) {
			atomic_store(&in->pt_mtime_ns, ts_ns(st.st_mtim));
			atomic_store(&in->pt_dirty, true);
			atomic_fetch_add(&fs->pt_dirty_n, 1);
		}
	}
	reg->n++;
	in->npt++;
	in->ncached--;
	f->pt = true;
	f->pt_ops = pt;
	id = reg->id;
	size = in->size;
	atomic_fetch_add(&in->write_gen, 1);
out:
	pthread_mutex_unlock(&in->lock);
	pthread_rwlock_unlock(&in->io);
	if (id) {
		atomic_fetch_add(&fs->pt_files, 1);
		note_access(fs, in, 0, size);
	}
	return id;
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

void fs_release(struct fs *fs, struct fs_file *f)
{
	struct fs_pt_reg **pp, *gone = NULL;
	struct fs_inode *in;
	uint64_t size = 0;
	int r;

	if (!f)
		return;
	in = f->inode;
	/* A read or write whose reply has reached the kernel may still be
	 * finishing (fs_read_end): wait for it before the handle goes. */
	pthread_rwlock_wrlock(&in->io);
	pthread_rwlock_unlock(&in->io);
	pthread_mutex_lock(&in->lock);
	if (!f->pt) {
		in->ncached--;
	} else {
		/* the last handle of its session: that connection's id goes */
		for (pp = &in->pt_regs; *pp && (*pp)->ops != f->pt_ops; pp = &(*pp)->next)
			;
		if (*pp && --(*pp)->n == 0) {
			gone = *pp;
			*pp = gone->next;
		}
	}
	if (f->pt && --in->npt == 0) {
		/* the kernel has let go of the backing file: its writes are done */
		r = pt_refresh(fs, in);
		if (r < 0)
			log_warn("inode %" PRIu64 ": recording the size after passthrough writes: %s; "
				 "retried at the next open or stat", in->ino, strerror(-r));
		size = in->size;
	}
	pthread_mutex_unlock(&in->lock);
	if (gone) {
		gone->ops->detach(gone->ops->arg, gone->id);
		free(gone);
	}
	if (f->pt)
		note_access(fs, in, 0, size);     /* reads did not reach us */
	inode_unref(fs, in, 0, 1);
	free(f);
}

int fs_fsync(struct fs *fs, struct fs_file *f, bool datasync)
{
	int r;

	r = fs->chunks->ops->sync(fs->chunks, f->inode->cf, datasync);
	if (r < 0)
		return r;
	/* the data first, then the size that covers it */
	r = pt_commit(fs, f->inode);
	if (r < 0)
		return r;
	fs_meta_lock(fs);
	r = meta_sync(fs->meta);
	fs_meta_unlock(fs);
	return r;
}

static void note_access(struct fs *fs, struct fs_inode *in, uint64_t off, uint64_t len)
{
	int64_t now = fs_now_ns() / 1000000000;
	uint64_t first = off / fs->chunk_size, last = (off + len - 1) / fs->chunk_size;
	bool seen;

	if (len == 0 || !fs->chunks->ops->note_access || fs->read_only)
		return;
	/* a sequential reader notes each chunk once a second, not each request */
	pthread_mutex_lock(&in->lock);
	seen = in->last_note == now && first >= in->noted_first && last <= in->noted_last;
	if (!seen) {
		in->last_note = now;
		in->noted_first = first;
		in->noted_last = last;
	}
	pthread_mutex_unlock(&in->lock);
	if (!seen)
		fs->chunks->ops->note_access(fs->chunks, in->ino, first, last, now);
}

int fs_read_begin(struct fs *fs, struct fs_file *f, off_t off, size_t len, struct fs_rvec *rv)
{
	struct fs_inode *in = f->inode;
	uint64_t size, end;
	int r = 0;

	rv->n = 0;
	rv->total = 0;
	if (off < 0)
		return -EINVAL;
	pthread_rwlock_rdlock(&in->io);
	pthread_mutex_lock(&in->lock);
	size = in->size;
	pthread_mutex_unlock(&in->lock);
	if ((uint64_t)off >= size || len == 0)
		return 0;
	end = (uint64_t)off + len < size ? (uint64_t)off + len : size;
	if (in->cf->nonlocal && fs->chunks->localize_on_read) {
		/* the store's policy: the first read brings the chunks back */
		pthread_rwlock_unlock(&in->io);
		pthread_rwlock_wrlock(&in->io);
		r = in->cf->nonlocal ? fs->chunks->ops->localize(fs->chunks, in->cf, (uint64_t)off,
								  end - (uint64_t)off, size) : 0;
		if (r > 0)
			atomic_fetch_add(&in->write_gen, 1);
		pthread_rwlock_unlock(&in->io);
		pthread_rwlock_rdlock(&in->io);
		if (r < 0) {
			pthread_rwlock_unlock(&in->io);
			return r;
		}
	}
	r = fs->chunks->ops->read(fs->chunks, in->cf, (uint64_t)off, (size_t)(end - (uint64_t)off),
				  rv);
	if (r < 0) {
		fs_read_end(fs, f, rv);
		return r;
	}
	note_access(fs, in, (uint64_t)off, rv->total);
	return 0;
}

void fs_read_end(struct fs *fs, struct fs_file *f, struct fs_rvec *rv)
{
	for (unsigned i = 0; i < rv->n; i++)
		free(rv->seg[i].mem);
	rv->n = 0;
	pthread_rwlock_unlock(&f->inode->io);
}

/* -ENOSPC when fewer than len bytes plus the metadata reserve plus what
 * writes in progress have reserved are free on the data disk; statvfs is
 * asked at most every 100 ms while space is ample.  On success len is
 * reserved until release_space(). */
static int check_space(struct fs *fs, size_t len)
{
	uint64_t need = len + FS_SPACE_RESERVE;
	int r = 0;

	pthread_mutex_lock(&fs->space_lock);
	space_update(fs, fs->space_free < need + (256ull << 20));
	if (fs->space_free < need + fs->space_inflight)
		r = -ENOSPC;
	else
		fs->space_inflight += len;
	pthread_mutex_unlock(&fs->space_lock);
	return r;
}

/* Ends a check_space() reservation once the write has landed (or failed);
 * what landed shows in the next statvfs, which check_space asks for on
 * every write once less than 256 MiB beyond the reserve is free. */
static void release_space(struct fs *fs, size_t len)
{
	pthread_mutex_lock(&fs->space_lock);
	fs->space_inflight -= len;
	pthread_mutex_unlock(&fs->space_lock);
}

int fs_write_begin(struct fs *fs, struct fs_file *f, off_t off, size_t len, off_t *ret_off)
{
	struct fs_inode *in = f->inode;
	int r;

	if (off < 0)
		return -EINVAL;
	r = check_space(fs, len);
	if (r < 0)
		return r;
	/* io shared, unless some chunk of the file is not local: then io
	 * exclusive, held until fs_write_end, so that the range is made local
	 * and written with no tier move in between (one that finished after
	 * an unlocked look at nonlocal would leave the write in a punched
	 * range the chunk map calls cold), and an O_APPEND write makes local
	 * the chunks at the end it writes to, not those at the offset the
	 * kernel sent. */
	pthread_rwlock_rdlock(&in->io);
	if (in->cf->nonlocal) {
		pthread_rwlock_unlock(&in->io);
		pthread_rwlock_wrlock(&in->io);
	}
	if ((f->flags & O_APPEND) && !f->writeback) {
		pthread_mutex_lock(&in->lock);
		off = (off_t)in->size;
		pthread_mutex_unlock(&in->lock);
	}
	if (in->cf->nonlocal && (uint64_t)off + len <= FS_MAX_FILE_SIZE) {
		r = fs->chunks->ops->localize(fs->chunks, in->cf, (uint64_t)off, len, in->size);
		if (r > 0)
			atomic_fetch_add(&in->write_gen, 1);
		if (r < 0) {
			pthread_rwlock_unlock(&in->io);
			release_space(fs, len);
			return r;
		}
	}
	if ((uint64_t)off + len > FS_MAX_FILE_SIZE) {
		pthread_rwlock_unlock(&in->io);
		release_space(fs, len);
		return -EFBIG;
	}
	if (fs->chunks->ops->write_begin &&
	    (r = fs->chunks->ops->write_begin(fs->chunks, in->cf, (uint64_t)off, len)) < 0) {
		pthread_rwlock_unlock(&in->io);
		release_space(fs, len);
		return r;
	}
	atomic_fetch_add(&in->write_gen, 1);
	*ret_off = off;
	return 0;
}

ssize_t fs_write(struct fs *fs, struct fs_file *f, off_t off, const struct fs_wsrc *src,
		 size_t len)
{
	struct chunk_src cs = { src->mem, src->fd };

	return fs->chunks->ops->write(fs->chunks, f->inode->cf, (uint64_t)off, &cs, len);
}

int fs_write_end(struct fs *fs, struct fs_file *f, off_t off, size_t len, ssize_t written)
{
	struct fs_inode *in = f->inode;
	struct timespec now;
	uint64_t end;
	int r = 0;

	if (fs->chunks->ops->write_end)
		fs->chunks->ops->write_end(fs->chunks, in->cf, (uint64_t)off, written);
	if (written <= 0)
		goto out;
	end = (uint64_t)off + (uint64_t)written;
	pthread_mutex_lock(&in->lock);
	if (end > in->size || !f->writeback) {
		uint64_t size = end > in->size ? end : in->size;

		now = now_ts();
		fs_meta_lock(fs);
		r = meta_inode_set_size(fs->meta, in->ino, size, &now);
		fs_meta_unlock(fs);
		if (!r)
			in->size = size;
	}
	pthread_mutex_unlock(&in->lock);
	note_access(fs, in, (uint64_t)off, (uint64_t)written);
out:
	pthread_rwlock_unlock(&in->io);
	release_space(fs, len);
	return r;
}

int fs_fallocate(struct fs *fs, struct fs_file *f, int mode, off_t off, off_t len)
{
	struct fs_inode *in = f->inode;
	uint64_t end;
	int r = 0;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	end = (uint64_t)off + (uint64_t)len;
	if (end > FS_MAX_FILE_SIZE)
		return -EFBIG;
	if (!(mode & FALLOC_FL_PUNCH_HOLE) && (r = check_space(fs, (size_t)len)) < 0)
		return r;
	pthread_rwlock_wrlock(&in->io);
	r = pt_commit(fs, in);           /* in->size must be the real one */
	if (!r && in->cf->nonlocal)
		r = fs->chunks->ops->localize(fs->chunks, in->cf, (uint64_t)off, (uint64_t)len,
					      in->size);
	if (r > 0)
		r = 0;                    /* write_gen is bumped below */
	if (!r)
		r = fs->chunks->ops->allocate(fs->chunks, in->cf, mode, (uint64_t)off, (uint64_t)len);
	atomic_fetch_add(&in->write_gen, 1);
	if (!r) {
		struct timespec now = now_ts();

		pthread_mutex_lock(&in->lock);
		pt_rebase(fs, in);
		if (!(mode & FALLOC_FL_KEEP_SIZE) && end > in->size) {
			fs_meta_lock(fs);
			r = meta_inode_set_size(fs->meta, in->ino, end, &now);
			fs_meta_unlock(fs);
			if (!r)
				in->size = end;
		} else if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
			fs_meta_lock(fs);
			r = meta_inode_set_size(fs->meta, in->ino, in->size, &now);
			fs_meta_unlock(fs);
		}
		pthread_mutex_unlock(&in->lock);
	}
	pthread_rwlock_unlock(&in->io);
	if (!(mode & FALLOC_FL_PUNCH_HOLE))
		release_space(fs, (size_t)len);
	return r;
}

off_t fs_lseek(struct fs *fs, struct fs_file *f, off_t off, int whence)
{
	struct fs_inode *in = f->inode;
	off_t r;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	pthread_rwlock_rdlock(&in->io);
	r = pt_commit(fs, in);
	if (r < 0)
		goto out;
	if (off < 0 || (uint64_t)off >= in->size) {
		r = -ENXIO;
		goto out;
	}
	r = fs->chunks->ops->seek(fs->chunks, in->cf, off, whence, in->size);
out:
	pthread_rwlock_unlock(&in->io);
	return r;
}

/* ---- statfs ---- */

static void usage(struct fs *fs, uint64_t *ret_bytes, uint64_t *ret_files)
{
	int64_t now = mono_ns();

	pthread_mutex_lock(&fs->usage_lock);
	if (fs->usage_checked_ns == 0 || now - fs->usage_checked_ns > 5000000000LL) {
		struct meta_usage u;

		fs_meta_lock(fs);
		if (meta_usage(fs->meta, &u) == 0) {
			fs->usage_bytes = u.bytes;
			fs->usage_files = u.inodes;
		}
		fs_meta_unlock(fs);
		fs->usage_checked_ns = now;
	}
	*ret_bytes = fs->usage_bytes;
	*ret_files = fs->usage_files;
	pthread_mutex_unlock(&fs->usage_lock);
}

int fs_statfs(struct fs *fs, struct statvfs *ret)
{
	uint64_t bytes, files;

	if (fs->conf->statfs == CONF_STATFS_LOCAL) {
		if (fstatvfs(fs->datafd, ret) < 0)
			return -errno;
		ret->f_namemax = FS_NAME_MAX;
		return 0;
	}
	/* As EFS: 8 EiB, less what is stored. */
	usage(fs, &bytes, &files);
	memset(ret, 0, sizeof(*ret));
	ret->f_bsize = 1 << 20;
	ret->f_frsize = 4096;
	ret->f_blocks = (8ull << 60) / 4096;
	ret->f_bfree = ret->f_blocks - (bytes + 4095) / 4096;
	ret->f_bavail = ret->f_bfree;
	ret->f_files = 1ull << 48;
	ret->f_ffree = ret->f_files - files;
	ret->f_favail = ret->f_ffree;
	ret->f_namemax = FS_NAME_MAX;
	return 0;
}

/* ---- extended attributes ---- */

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
		r = check_meta_space(fs, t->ctx, strlen(name) + size);
	if (!r)
		r = meta_xattr_set(m, ino, name, t->value, size, flags);
	if (!r) {
		mi.ctime = now_ts();
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
	return meta_txn(fs->meta, setxattr_body, &t);
}

int fs_getxattr(struct fs *fs, uint64_t ino, const char *name, void *buf, size_t size,
		size_t *ret_len)
{
	int r;

	if ((r = check_xattr_name(name)) < 0)
		return r == -EOPNOTSUPP ? -ENODATA : r;
	fs_meta_lock(fs);
	r = meta_xattr_get(fs->meta, ino, name, buf, size, ret_len);
	fs_meta_unlock(fs);
	return r;
}

int fs_listxattr(struct fs *fs, uint64_t ino, char *buf, size_t size, size_t *ret_len)
{
	int r;

	fs_meta_lock(fs);
	r = meta_xattr_list(fs->meta, ino, buf, size, ret_len);
	fs_meta_unlock(fs);
	return r;
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
		mi.ctime = now_ts();
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

/* ---- mkfs, open, close ---- */

/* mkdir name 0700 in dirfd unless there; then it must be ours, not a
 * symbolic link, and is made private (safepath.h).  shown: for messages. */
static int mkdir_private(int dirfd, const char *name, const char *shown, char *err,
			 size_t errlen)
{
	bool tightened = false;
	int r;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		return r;
	}
	return safe_entry_tighten(dirfd, name, shown, &tightened, err, errlen);
}

/* The entries of DATA_DIR (and every DATA_DIR/data/XX) must be ours and no
 * symbolic links; group/other access is taken away, and noted. */
static int tighten_entries(struct fs *fs, char *err, size_t errlen)
{
	static const char *const names[] = {
		"meta.db", "meta.db-wal", "meta.db-shm", "lock", "data", NULL
	};
	const char *dir = fs->conf->data_dir;
	unsigned n = 0;
	char shown[4096];
	int r;

	for (int i = 0; names[i]; i++) {
		bool t = false;

		snprintf(shown, sizeof(shown), "%s/%s", dir, names[i]);
		r = safe_entry_tighten(fs->dirfd, names[i], shown, &t, err, errlen);
		if (r < 0 && r != -ENOENT)
			return r;
		n += t;
	}
	for (int i = 0; i < 256; i++) {
		char sub[8];
		bool t = false;

		snprintf(sub, sizeof(sub), "%02x", i);
		snprintf(shown, sizeof(shown), "%s/data/%s", dir, sub);
		r = safe_entry_tighten(fs->datafd, sub, shown, &t, err, errlen);
		if (r < 0 && r != -ENOENT)
			return r;
		n += t;
	}
	if (n)
		fs_note(fs, "%s: %u entr%s gave group or others access; tightened to owner only",
			dir, n, n == 1 ? "y" : "ies");
	return 0;
}

/* n random hex digits into out (NUL-terminated). */
static int random_hex(char *out, int n)
{
	unsigned char rnd[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	for (int i = 0; i < n && i < 32; i++)
		out[i] = "0123456789abcdef"[(rnd[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[n] = '\0';
	return 0;
}

int fs_make_id(char out[FS_ID_LEN + 1])
{
	memcpy(out, "fs-", 3);
	return random_hex(out + 3, FS_ID_LEN - 3);
}

int fs_make_instance(char out[FS_INSTANCE_LEN + 1])
{
	memcpy(out, "i-", 2);
	return random_hex(out + 2, FS_INSTANCE_LEN - 2);
}

/* An encrypted file system's key: 32 random bytes as 64 hex digits, made
 * once (an existing key file is kept: it may be shared or restored). */
static int make_key_file(const char *path, char *err, size_t errlen)
{
	unsigned char key[32];
	char hex[66];
	int fd, ufd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = safe_key_check(fd, path, err, errlen);
		close(fd);
		return r;
	}
	ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (ufd < 0)
		return -errno;
	if (read(ufd, key, sizeof(key)) != (ssize_t)sizeof(key))
		r = -EIO;
	close(ufd);
	if (r < 0)
		return r;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[64] = '\n';
	memset(key, 0, sizeof(key));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		r = -errno;
	else if (write(fd, hex, 65) != 65 || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	memset(hex, 0, sizeof(hex));
	if (r < 0)
		snprintf(err, errlen, "key_file %s: %s", path, strerror(-r));
	return r;
}

struct mkfs_txn {
	const struct conf *conf;
	struct meta_inode root;
	const char *id, *inst;
	uint64_t chunk_size;
};

/* The root directory and the fs settings of a new file system. */
static int mkfs_body(struct meta *m, void *arg)
{
	struct mkfs_txn *t = arg;
	struct meta_inode root = t->root;
	char num[32];
	int r;

	snprintf(num, sizeof(num), "%" PRIu64, t->chunk_size);
	r = meta_inode_insert(m, &root, NULL, 0);
	if (!r && root.ino != META_ROOT_INO)
		r = -EIO;
	if (!r)
		r = meta_set_kv(m, "fs_id", t->id);
	if (!r)
		r = meta_set_kv(m, "instance_id", t->inst);     /* tier/owner.c */
	if (!r)
		r = meta_set_kv(m, "instance_since", "0");
	if (!r)
		r = meta_set_kv(m, "chunk_size", num);
	if (!r)
		r = meta_set_kv(m, "name", t->conf->name);
	if (!r)
		r = meta_set_kv(m, "encrypted", t->conf->encrypted ? "1" : "0");
	if (!r)
		r = meta_set_kv(m, "clean", "1");
	if (!r) {
		snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
		r = meta_set_kv(m, "created", num);
	}
	return r;
}

int fs_mkfs(const struct conf *conf, const struct fs_ctx *ctx, uint64_t chunk_size,
	    char *ret_id, char *err, size_t errlen)
{
	char path[4096], url[4200], id[FS_ID_LEN + 1], inst[FS_INSTANCE_LEN + 1], num[32];
	struct meta *m = NULL;
	struct meta_inode root;
	int dfd = -1, datafd = -1, r;

	if (chunk_size == 0)
		chunk_size = conf->chunk_size ? conf->chunk_size : FS_DEFAULT_CHUNK;
	if (chunk_size < 65536 || chunk_size > (64u << 20) || (chunk_size & (chunk_size - 1))) {
		snprintf(err, errlen, "chunk size %" PRIu64 " is not a power of two between 64 KiB "
			 "and 64 MiB", chunk_size);
		return -EINVAL;
	}
	/* data_dir: made 0700, or checked and made private (safepath.h) */
	r = safe_dir_open(conf->data_dir, SAFE_CREATE | SAFE_TIGHTEN, &dfd, NULL, 0, err, errlen);
	if (r < 0)
		return r;
	if (fstatat(dfd, "meta.db", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(err, errlen, "%s: a file system exists here already", conf->data_dir);
		r = -EEXIST;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/data", conf->data_dir);
	r = mkdir_private(dfd, "data", path, err, errlen);
	if (r < 0)
		goto out;
	datafd = openat(dfd, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (datafd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (int i = 0; !r && i < 256; i++) {
		snprintf(num, sizeof(num), "%02x", i);
		snprintf(path, sizeof(path), "%s/data/%s", conf->data_dir, num);
		r = mkdir_private(datafd, num, path, err, errlen);
	}
	if (r < 0)
		goto out;
	r = fs_make_id(id);
	if (!r)
		r = fs_make_instance(inst);
	if (r < 0) {
		snprintf(err, errlen, "/dev/urandom: %s", strerror(-r));
		goto out;
	}
	if (conf->encrypted) {
		r = make_key_file(conf->key_file, err, errlen);
		if (r < 0)
			goto out;
	}
	/* meta.db is created last, under a temporary name, so that a crash
	 * during mkfs leaves no half file system that mount would accept.
	 * It is made 0600 whatever the umask: SQLite gives -wal and -shm the
	 * mode of the database. */
	snprintf(path, sizeof(path), "%s/meta.db.new", conf->data_dir);
	unlinkat(dfd, "meta.db.new", 0);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	r = meta_open(url, META_CREATE, &m, err, errlen);
	if (r < 0)
		goto out;
	if (fchmodat(dfd, "meta.db.new", 0600, 0) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		meta_close(m);
		goto out;
	}
	memset(&root, 0, sizeof(root));
	root.mode = S_IFDIR | 0755;
	root.uid = ctx->uid;
	root.gid = ctx->gid;
	root.nlink = 2;
	root.atime = root.mtime = root.ctime = root.btime = now_ts();
	r = meta_txn(m, mkfs_body, &(struct mkfs_txn){
		.conf = conf, .root = root, .id = id, .inst = inst, .chunk_size = chunk_size,
	});
	if (!r) {
		meta_lock(m);
		r = meta_checkpoint(m);
		meta_unlock(m);
	}
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, meta_errmsg(m));
	meta_close(m);
	if (!r) {
		if (renameat(dfd, "meta.db.new", dfd, "meta.db") < 0) {
			r = -errno;
			snprintf(err, errlen, "%s/meta.db: %s", conf->data_dir, strerror(errno));
		} else {
			fsync(dfd);
		}
	}
	if (!r)
		memcpy(ret_id, id, FS_ID_LEN + 1);
out:
	if (datafd >= 0)
		close(datafd);
	close(dfd);
	return r;
}

struct kv_txn {
	const char *key, *value;
};

static int kv_body(struct meta *m, void *arg)
{
	struct kv_txn *t = arg;

	return meta_set_kv(m, t->key, t->value);
}

static int orphan_body(struct meta *m, void *arg)
{
	return meta_inode_delete(m, *(uint64_t *)arg);
}

static int purge_orphan(uint64_t ino, void *arg)
{
	struct fs *fs = arg;
	int r;

	r = meta_txn(fs->meta, orphan_body, &ino);
	if (r < 0)
		return r;
	return fs->chunks->ops->remove(fs->chunks, ino);
}

/* After an unclean shutdown: local copies of chunks that were demoted just
 * before the crash (tier/move.c step 5) are punched out. */
static int punch_cold(const struct meta_chunk *c, void *arg)
{
	struct fs *fs = arg;
	struct chunk_store *cs = fs->local;
	struct chunk_file *cf;

	if (c->class == META_STANDARD)
		return 0;
	if (cs->ops->open(cs, c->ino, 0, CHUNK_OPEN_EXISTING, &cf) < 0)
		return 0;
	/* on failure the space stays used; the data is right either way */
	cs->ops->punch(cs, cf, c->idx * fs->chunk_size, fs->chunk_size);
	cs->ops->close(cs, cf);
	return 0;
}

/* After an unclean shutdown: data whose inode is gone is removed, and a
 * data file longer than its inode's recorded size is cut back to it: it
 * holds writes whose size change never committed (passthrough writes not
 * yet adopted, a write between data and metadata), which nothing names.
 * Counted for fsck's report. */
static int recover_one(uint64_t ino, void *arg)
{
	struct fs *fs = arg;
	struct meta_inode mi;
	uint64_t freed = 0;
	int r;

	r = meta_inode_get(fs->meta, ino, &mi);
	if (r == -ENOENT) {
		fs->local->ops->remove(fs->local, ino);
	} else if (r == 0 && S_ISREG(mi.mode) &&
		   fs->local->ops->fix_size(fs->local, ino, mi.size, true, &freed) == 1) {
		/* a failure here: the next open of the file cuts it too */
		fs->recovered_files++;
		fs->recovered_bytes += freed;
	}
	return 0;
}

static int recover_data(struct fs *fs)
{
	return fs->local->ops->recover(fs->local, recover_one, fs);
}

/* Whether the lock text (buf) names a holder that is letting go: a daemon
 * whose mount point is no longer mounted (umount returns before the daemon
 * has closed the file system), or a text being rewritten (empty).  A
 * holder without a mount point (an efsfs tool) or still mounted is not. */
static bool lock_holder_closing(const char *buf)
{
	const char *m = strstr(buf, "mountpoint=");
	char dir[4096];
	struct mntent ent, *e;
	char line[8192];
	bool mounted = false;
	size_t n;
	FILE *f;

	if (!buf[0])
		return true;
	if (!m || m[11] != '/')
		return false;
	n = strcspn(m + 11, "\n");
	if (n >= sizeof(dir))
		return false;
	memcpy(dir, m + 11, n);
	dir[n] = '\0';
	f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return false;
	while ((e = getmntent_r(f, &ent, line, sizeof(line))))
		if (strcmp(e->mnt_dir, dir) == 0)
			mounted = true;
	endmntent(f);
	return !mounted;
}

/* Takes the lock of the file system: a flock on the data directory
 * (dirfd), which works in a read-only directory too; exclusive, or shared
 * among read-only openers.  The holder writes who it is into DATA_DIR/lock
 * (lockfd, -1 when there is none).
 * When the holder is closing (see above), waits for it up to
 * FS_CLOSE_WAIT_MS, so that `umount DIR; efsfs mount NAME DIR` works.
 * -EBUSY with the holder's text in buf (len bytes, NUL-terminated) when it
 * stays held. */
static int take_lock(int dirfd, int lockfd, bool shared, char *buf, size_t len)
{
	int64_t deadline = mono_ns() + FS_CLOSE_WAIT_MS * 1000000LL;
	ssize_t n;

	int op = (shared ? LOCK_SH : LOCK_EX) | LOCK_NB;

	for (;;) {
		/* the lock file too: earlier efsfs binaries locked only that */
		if (flock(dirfd, op) == 0) {
			int e;

			if (lockfd < 0 || flock(lockfd, op) == 0)
				return 0;
			e = errno;
			flock(dirfd, LOCK_UN);
			errno = e;
		}
		if (errno != EWOULDBLOCK) {
			buf[0] = '\0';
			return -errno;
		}
		n = lockfd >= 0 ? pread(lockfd, buf, len - 1, 0) : 0;
		buf[n > 0 ? n : 0] = '\0';
		if (!lock_holder_closing(buf) || mono_ns() >= deadline)
			return -EBUSY;
		usleep(10000);
	}
}

int fs_open(const struct conf *conf, const char *mountpoint, struct fs **ret, char *err,
	    size_t errlen)
{
	return fs_open_flags(conf, mountpoint, 0, ret, err, errlen);
}

int fs_open_flags(const struct conf *conf, const char *mountpoint, unsigned flags,
		  struct fs **ret, char *err, size_t errlen)
{
	return fs_open_layer(conf, mountpoint, flags, NULL, ret, err, errlen);
}

int fs_open_layer(const struct conf *conf, const char *mountpoint, unsigned flags,
		  const struct fs_layer *layer, struct fs **ret, char *err, size_t errlen)
{
	char path[4096], url[4200], buf[512];
	bool ro = flags & FS_OPEN_RDONLY;
	struct fs *fs;
	ssize_t n;
	int r;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->conf = (struct conf *)conf;
	fs->layer = layer;
	fs->dirfd = fs->datafd = fs->lockfd = -1;
	pthread_mutex_init(&fs->itab_lock, NULL);
	pthread_mutex_init(&fs->space_lock, NULL);
	pthread_mutex_init(&fs->usage_lock, NULL);

	/* data_dir must be ours, under directories only root or we can change;
	 * group/other access to it is taken away, and noted (safepath.h) */
	r = safe_dir_open(conf->data_dir, ro ? 0 : SAFE_TIGHTEN, &fs->dirfd, buf, sizeof(buf),
			  err, errlen);
	if (r < 0) {
		fs->dirfd = -1;
		if (r == -ENOENT)
			snprintf(err, errlen, "%s: no file system '%s' here; create it with "
				 "'efsfs mkfs %s'", conf->data_dir, conf->name, conf->name);
		goto fail;
	}
	if (buf[0])
		fs_note(fs, "%s", buf);
	if (faccessat(fs->dirfd, "meta.db", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -ENOENT;
		snprintf(err, errlen, "%s: no file system '%s' here; create it with 'efsfs mkfs %s'",
			 conf->data_dir, conf->name, conf->name);
		goto fail;
	}
	fs->read_only = ro;
	/* Read-only: the lock file is not made, and only a mount writes its
	 * text in it, when it can (in a read-only directory it cannot). */
	if (!ro)
		fs->lockfd = openat(fs->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
				    0600);
	else if (!mountpoint || (fs->lockfd = openat(fs->dirfd, "lock", O_RDWR | O_NOFOLLOW |
								   O_CLOEXEC)) < 0)
		fs->lockfd = openat(fs->dirfd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fs->lockfd < 0 && !(ro && errno == ENOENT)) {
		r = -errno;
		snprintf(err, errlen, "%s/lock: %s%s", conf->data_dir, strerror(errno),
			 errno == EROFS ? " (a read-only data directory can only be mounted "
			 "with -o ro)" : "");
		goto fail;
	}
	r = take_lock(fs->dirfd, fs->lockfd, ro, buf, sizeof(buf));
	if (r < 0) {
		bool closing = r == -EBUSY && lock_holder_closing(buf);

		for (char *p = buf; *p; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(err, errlen, "file system '%s' (%s) is in use: %s%s", conf->name,
			 conf->data_dir, buf[0] ? buf : "locked by another process ",
			 closing ? "(unmounted, but still closing after " FS_CLOSE_WAIT_TEXT ")" : "");
		goto fail;
	}
	n = snprintf(buf, sizeof(buf), "pid=%d\nmountpoint=%s\n", (int)getpid(),
		     mountpoint ? mountpoint : "(none: efsfs tool)");
	fs->lock_text = !ro || (mountpoint && fs->lockfd >= 0 &&
				(fcntl(fs->lockfd, F_GETFL) & O_ACCMODE) == O_RDWR);
	if (fs->lock_text &&
	    (ftruncate(fs->lockfd, 0) < 0 || pwrite(fs->lockfd, buf, (size_t)n, 0) != n)) {
		r = -errno;
		snprintf(err, errlen, "%s/lock: %s", conf->data_dir, strerror(errno));
		goto fail;
	}
	fs->datafd = openat(fs->dirfd, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fs->datafd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s/data: %s", conf->data_dir, strerror(errno));
		goto fail;
	}
	/* Read-only changes no mode: the data directory itself passed
	 * safe_dir_open without SAFE_TIGHTEN, so nobody else can reach what is
	 * in it whatever the entries' modes (a snapshot of an older efsfs may
	 * have meta.db 0644 and cannot be changed). */
	r = ro ? 0 : tighten_entries(fs, err, errlen);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/meta.db", conf->data_dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	r = meta_open(url, ro ? META_RDONLY | (faccessat(fs->dirfd, ".", W_OK, AT_EACCESS) == 0 ?
					       0 : META_DIR_RDONLY) : 0,
		      &fs->meta, err, errlen);
	if (r < 0)
		goto fail;
	/* On a full disk the reserve stays short, and check_meta_space refuses
	 * growth until deleting files made room to complete it.  A read-only
	 * open grows nothing and leaves the reserve file as it is. */
	if (!ro)
		meta_reserve(fs->meta, FS_META_RESERVE);
	r = meta_get_kv(fs->meta, "fs_id", fs->fs_id, sizeof(fs->fs_id));
	if (!r)
		r = meta_get_kv(fs->meta, "chunk_size", buf, sizeof(buf));
	if (r < 0) {
		snprintf(err, errlen, "%s: missing fs_id or chunk_size: %s", path, strerror(-r));
		goto fail;
	}
	fs->chunk_size = strtoull(buf, NULL, 10);
	if (fs->chunk_size < 65536 || (fs->chunk_size & (fs->chunk_size - 1))) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: bad chunk_size '%s'", path, buf);
		goto fail;
	}
	r = chunk_local_open(fs->datafd, fs->chunk_size, ro, &fs->local);
	if (r < 0) {
		snprintf(err, errlen, "%s/data: %s", conf->data_dir, strerror(-r));
		goto fail;
	}
	fs->chunks = fs->local;
	/* read-only: no recovery; a chunk also still local after a crash is
	 * read from its object, data files are never cut */
	if (!ro && (meta_get_kv(fs->meta, "clean", buf, sizeof(buf)) < 0 ||
		    strcmp(buf, "1") != 0)) {
		r = recover_data(fs);
		if (!r)
			r = meta_chunk_each(fs->meta, 0, punch_cold, fs);
		if (r < 0) {
			snprintf(err, errlen, "%s/data: recovery: %s", conf->data_dir, strerror(-r));
			goto fail;
		}
	}
	r = fs->layer ? fs->layer->open(fs, flags, err, errlen) : 0;
	if (r < 0)
		goto fail;
	if (ro) {
		*ret = fs;
		return 0;
	}
	/* This mount's session first: orphans are removed only for sessions
	 * that are gone, and this one is not. */
	r = meta_session_start(fs->meta, NULL);
	if (r == -ENOSPC)
		r = 0;       /* a full disk: as for the mark below (orphans then name none) */
	if (!r) {
		fs_meta_lock(fs);
		r = meta_orphans(fs->meta, purge_orphan, fs);
		if (!r)
			r = meta_txn(fs->meta, kv_body, &(struct kv_txn){ "clean", "0" });
		if (!r)
			r = meta_sync(fs->meta);
		fs_meta_unlock(fs);
	}
	/* A full data disk must not lock the user out: without the mark, a
	 * crash later only leaves unused space for the next recovery, and
	 * deleting files is what frees the disk. */
	if (r == -ENOSPC)
		r = 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: recovery: %s (%s)", path, strerror(-r),
			 meta_errmsg(fs->meta));
		goto fail;
	}
	*ret = fs;
	return 0;
fail:
	fs->conf = NULL;
	fs_close(fs);
	return r;
}

void fs_close(struct fs *fs)
{
	if (!fs)
		return;
	if (fs->meta)
		meta_set_group(fs->meta, 0);     /* commits what is open */
	if (fs->layer)
		fs->layer->stop(fs);
	for (int i = 0; i < FS_ITAB_BUCKETS; i++) {
		while (fs->itab[i]) {
			struct fs_inode *in = fs->itab[i];

			fs->itab[i] = in->next;
			/* Still open with passthrough when the daemon stopped (a
			 * SIGTERM, or a RELEASE still queued when the connection
			 * ended): commit what the kernel wrote, as the last
			 * release would have, or a clean stop would lose it. */
			if (fs->meta)
				pt_refresh_last(fs, in);
			while (in->pt_regs) {
				struct fs_pt_reg *reg = in->pt_regs;

				in->pt_regs = reg->next;
				free(reg);     /* the connection and its ids are gone */
			}
			fs->chunks->ops->close(fs->chunks, in->cf);
			/* unlinked inodes still held are removed at the next mount */
			pthread_rwlock_destroy(&in->io);
			pthread_mutex_destroy(&in->lock);
			free(in);
		}
	}
	if (fs->layer)
		fs->layer->close(fs);
	if (fs->meta && fs->conf && !fs->read_only) {
		meta_session_end(fs->meta);      /* a clean unmount: gone, and its orphans */
		fs_meta_lock(fs);
		meta_checkpoint(fs->meta);
		meta_txn(fs->meta, kv_body, &(struct kv_txn){ "clean", "1" });
		meta_sync(fs->meta);
		fs_meta_unlock(fs);
	}
	meta_close(fs->meta);
	chunk_local_close(fs->local);
	if (fs->lockfd >= 0) {
		if (fs->conf && fs->lock_text && ftruncate(fs->lockfd, 0) < 0) {
			/* a stale text is harmless: the flock is what counts */
		}
		close(fs->lockfd);
	}
	if (fs->datafd >= 0)
		close(fs->datafd);
	if (fs->dirfd >= 0)
		close(fs->dirfd);
	pthread_mutex_destroy(&fs->itab_lock);
	pthread_mutex_destroy(&fs->space_lock);
	pthread_mutex_destroy(&fs->usage_lock);
	free(fs);
}
