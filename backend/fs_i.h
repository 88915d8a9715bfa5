/* fs_i.h - internals of the file system core shared by backend/fs_*.c and
 * backend/fsck.c: struct fs, the in-memory inode table, and the helpers the
 * fs_*.c files share.  Layers (tier/) use backend/layer.h instead.
 *
 * The core is POSIX semantics over the metadata engine (backend/meta.h;
 * each operation's transaction a meta_txn body) and the chunk store
 * (backend/chunk.h; see fs.h for the layout and lock order), split by
 * concern: fs_super.c (mkfs, open, recovery, close, statfs, space),
 * fs_inode.c (inode table, attributes), fs_names.c (namespace changes),
 * fs_dir.c, fs_file.c (file I/O), fs_passthrough.c, fs_xattr.c, fs_perm.c
 * (permission checks for sessions that do them in the daemon).
 *
 * Ordering rules that keep a kill -9 at any point harmless:
 *  - create: the metadata commit comes first; the backing file is created
 *    on first open, and a missing backing file reads as holes.
 *  - delete: the metadata commit comes first, then the backing file is
 *    unlinked, both by the purger thread after the unlink was answered
 *    (fs_inode.c); a crash before leaves an orphan row of this session,
 *    one in between a data file with no inode, which fs_open() removes
 *    after an unclean shutdown.
 *  - st_blocks: a closed file's comes from its row (inode.blocks, recorded
 *    at the last close of its data, fs_inode_record_blocks, and with the
 *    size that passthrough writes left, fs_pt_refresh, so that the close
 *    after them has nothing more to write), an open one's from its backing
 *    file; the recovery forgets the recorded figures.
 *  - extend (write past EOF, truncate up): the backing file grows first,
 *    then the size is committed; a crash in between leaves a backing file
 *    longer than the committed size, and opening the file cuts it back so
 *    that the stale tail never shows through a later extension.
 *  - shrink: the size is committed first, then the backing file is cut.
 *  - fsync: fdatasync of the backing file, then meta_sync().
 *
 * Disk space: data writes need FS_SPACE_RESERVE free beyond themselves
 * (check_space); an operation that adds metadata is admitted by
 * fs_check_meta_space() inside its transaction, before it is acknowledged, so
 * that the group it joins can always be committed (the design is in
 * backend/meta_sqlite.c's top comment); removals are always admitted.
 */
#ifndef EFSFS_FS_I_H
#define EFSFS_FS_I_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend/chunk.h"
#include "backend/fs.h"
#include "backend/layer.h"
#include "backend/meta.h"

/* An inode the kernel holds a reference to or that is open.  Each field
 * says what guards it; "lock" is this inode's lock, "io" its rwlock. */
struct fs_inode {
	uint64_t ino;                 /* immutable */
	struct fs_inode *next;        /* hash chain; fs.itab_lock */
	uint64_t nlookup;             /* kernel references; fs.itab_lock */
	uint32_t nopen;               /* open handles; fs.itab_lock */
	bool unlinked;                /* nlink reached 0; fs.itab_lock */

	pthread_rwlock_t io;          /* data I/O shared; truncate, fallocate, tier
	                                 moves exclusive (chunk.h: which op how) */
	pthread_mutex_t lock;         /* guards the fields below */
	struct chunk_file *cf;        /* its data while open (of fs.chunks), else NULL:
	                                 opened and closed under lock, used by the
	                                 holders of an open handle under io */
	int64_t blocks;               /* allocated blocks of the data as meta records them
	                                 (-1 unknown): set at open, written under lock */
	uint64_t size;                /* logical size while open (also in meta):
	                                 written under lock; read under lock, or
	                                 under io exclusive (fs_lseek: io shared) */
	atomic_uint_fast64_t write_gen; /* atomic: bumped by every write; tier
	                                   moves compare */
	int64_t last_note;            /* second of the last access noted; lock */
	uint64_t noted_first, noted_last;   /* chunks it covered; lock */

	/* Passthrough (fs_file_passthrough): handles on the daemon path and
	 * handles the kernel serves from the backing file itself; the kernel
	 * allows only one kind at a time per inode.  While pt_dirty the
	 * backing file may be ahead of the metadata (size, mtime): stat shows
	 * the backing file's, and fs_pt_refresh commits them.  Written under lock;
	 * the atomics are also read without it (fs_fill_stat, under meta_lock). */
	uint32_t ncached, npt;        /* npt: passthrough handles of all sessions */
	struct fs_pt_reg *pt_regs;    /* one per session with handles in npt */
	atomic_bool pt_dirty;
	atomic_int_fast64_t pt_mtime_ns;  /* backing file's mtime when last adopted */

	/* Known to have no extended attribute: set by fs_create (a fresh
	 * inode has none), cleared by fs_setxattr before it writes one, never
	 * set again.  Atomic, read under fs.itab_lock (fs_getxattr): the
	 * kernel's getxattr of security.capability before the first write to
	 * every new file is answered without a metadata read. */
	atomic_bool no_xattrs;
};

/* One FUSE session's registration of an inode's backing file: its backing
 * id on that session's kernel connection, and how many of the inode's
 * passthrough handles use it.  Guarded by the inode's lock. */
struct fs_pt_reg {
	const struct fs_passthrough *ops;
	int id;
	uint32_t n;
	struct fs_pt_reg *next;
};

/* An open handle.  Its fields are set by fs_open_file/fs_create (writeback
 * by the session right after, before any other use) and then only read, by
 * the requests on that handle, until fs_release; pt and pt_ops are also
 * written by fs_file_passthrough, under the inode's lock, before the open
 * is answered. */
struct fs_file {
	struct fs_inode *inode;
	int flags;
	bool pt;                      /* served by passthrough */
	const struct fs_passthrough *pt_ops;  /* ... registered through these */
	bool writeback;               /* its session has the writeback cache */
	bool fresh;                   /* made by fs_create: empty, no xattrs */
	bool fresh_pt_ok;             /* ... and its mode allows passthrough */
};

#define FS_ITAB_BUCKETS 65536

/* The file system.  Fields without a lock named are set by fs_open before
 * it returns the fs and immutable after, until fs_close (which runs when no
 * operation can); the atomics are read and written without a lock. */
struct fs {
	struct conf *conf;
	char fs_id[FS_ID_LEN + 1];
	uint64_t chunk_size;
	int dirfd;                    /* DATA_DIR */
	int datafd;                   /* DATA_DIR/data (statvfs, chunk_local's directory) */
	/* File data (chunk.h): chunks is the top of the stack, local the
	 * bottom (chunk_local), the same without a layer.  Set by fs_open
	 * (the layer's open pushes its store), immutable while files are open. */
	struct chunk_store *chunks;
	struct chunk_store *local;
	const struct fs_layer *layer;   /* NULL: none; immutable */
	int lockfd;                   /* DATA_DIR/lock: who holds the flock on dirfd */
	bool read_only;               /* FS_OPEN_RDONLY: nothing is written (set at open) */
	bool lock_text;               /* we wrote DATA_DIR/lock's text (cut at close) */
	atomic_uint_fast64_t pt_files;  /* handles opened with passthrough */
	atomic_uint pt_dirty_n;       /* inodes with pt_dirty set */
	atomic_uint fetching;         /* remote fetches in flight (fs_fetching_add) */
	atomic_uint_fast64_t xattr_sets;  /* setxattrs begun: fs_create's mark of
					     no_xattrs checks that none began meanwhile */
	/* Set by fs_open's recovery, then read-only: data files cut back to
	 * their inode's size, and the disk space that freed. */
	uint64_t recovered_files, recovered_bytes;

	/* The metadata engine: set at open, then immutable; its operations
	 * run under its own lock ("meta_lock": fs_meta_lock, meta_txn). */
	struct meta *meta;

	pthread_mutex_t itab_lock;
	struct fs_inode *itab[FS_ITAB_BUCKETS];  /* itab_lock */

	pthread_mutex_t space_lock;
	int64_t space_checked_ns;     /* space_lock */
	uint64_t space_free;          /* space_lock */
	uint64_t space_free_root;     /* space_lock: the same with root's reserved blocks */
	uint64_t space_inflight;      /* space_lock: reserved by writes not yet done */
	int64_t space_warned_ns;      /* space_lock: the last refusal logged (one a minute) */

	/* The purger (fs_inode.c): unlinked inodes nobody holds, removed off
	 * the request path.  The thread is started by fs_open on a read-write
	 * file system (purge_on, then immutable) and stopped by fs_close. */
	pthread_mutex_t purge_lock;
	pthread_cond_t purge_cond;    /* work queued, or stop */
	pthread_cond_t purge_done;    /* the queue emptied */
	pthread_t purge_thread;
	bool purge_on;
	bool purge_stop, purge_busy;  /* purge_lock */
	uint64_t *purge_q;            /* purge_lock: inodes to purge */
	size_t purge_n, purge_cap;    /* purge_lock */
	unsigned purge_waiters;       /* purge_lock: fs_purger_drain callers waiting */
	uint64_t purge_batches;       /* purge_lock: batches purged (one commit each) */

	pthread_mutex_t usage_lock;
	int64_t usage_checked_ns;     /* usage_lock */
	uint64_t usage_bytes, usage_files;   /* usage_lock */

	/* fs_set_change_cb's callback: written and called under change_lock
	 * (a leaf but for what the callback takes, which is no backend lock) */
	pthread_mutex_t change_lock;
	fs_change_cb change_cb;       /* change_lock */
	void *change_arg;             /* change_lock */

	char notes[1024];             /* fs_notes(); written by fs_open only */
};

/* What the fs_*.c files share: constants, effects, and helpers (each
 * defined in the file of its concern, see the top comment). */

#define FS_SPACE_RESERVE  (16ull << 20)   /* kept free for metadata when the disk fills */

/* Effects of a metadata transaction that its caller applies after the
 * commit (meta_txn_fx): the body only records them, since it may run again. */
enum {
	FX_UNLINKED = 1,   /* the inode's last link went: fs_inode_unlinked(ino) */
	FX_DATA_GONE,      /* the inode's row went: its data file goes (after a flush) */
};

/* Whether mi, read under meta_lock, may lag behind passthrough writes.
 * Taken under that same hold: a fs_pt_refresh commits (under meta_lock) before
 * it clears pt_dirty, so either mi already has its commit or the snapshot
 * still says dirty. */
struct fs_pt_snap {
	bool dirty;
	int64_t ns;                   /* backing mtime when last adopted */
	bool open;                    /* its data is open: the backing file may be ahead
	                                 of the blocks meta records */
};

static const struct fs_pt_snap FS_PT_NONE = { false, 0, false };

#define XATTR_CAPS "security.capability"

/* The wall clock as a timespec. */
struct timespec fs_now_ts(void);

/* Commits the open group now (meta_flush); meta_lock held. */
int fs_meta_flush_locked(struct fs *fs);

/* 0 if the caller may grow the metadata by about `bytes` now, else
 * -ENOSPC; meta_lock held (fs_super.c says more). */
int fs_check_meta_space(struct fs *fs, const struct fs_ctx *ctx, uint64_t bytes);

/* 0 if name may be a directory entry, else -errno. */
int fs_check_name(const char *name);

/* A timespec in nanoseconds. */
int64_t fs_ts_ns(struct timespec t);

/* The inode table slot of ino (its entry or where it goes); itab_lock held. */
struct fs_inode **fs_itab_slot(struct fs *fs, uint64_t ino);
bool fs_inode_no_xattrs(struct fs *fs, uint64_t ino);
void fs_inode_gets_xattr(struct fs *fs, uint64_t ino);
void fs_inode_mark_no_xattrs(struct fs *fs, struct fs_inode *in, uint64_t sets_before);

/* Finds or adds ino in the inode table and takes nlookup kernel references
 * and nopen handles on it. */
int fs_inode_ref(struct fs *fs, uint64_t ino, uint64_t nlookup, uint32_t nopen,
		 struct fs_inode **ret);

/* Commits the size and mtime passthrough writes left on in's backing file;
 * in->lock held (or in unreachable). */
int fs_pt_refresh(struct fs *fs, struct fs_inode *in);

/* fs_pt_refresh with in->lock taken here. */
int fs_pt_commit(struct fs *fs, struct fs_inode *in);

/* For an inode leaving memory (last reference, fs_close): commits what
 * passthrough writes left; in unreachable. */
void fs_pt_refresh_last(struct fs *fs, struct fs_inode *in);

/* After the daemon itself changed a passthrough file's backing file: its
 * new mtime is not a kernel write to adopt. */
void fs_pt_rebase(struct fs *fs, struct fs_inode *in);

/* Drops references; frees the entry and purges an unlinked inode when the
 * last one goes. */
void fs_inode_unref(struct fs *fs, struct fs_inode *in, uint64_t nlookup, uint32_t nopen);

/* nlink of ino reached 0: purge now when nobody holds it, else on last
 * unref. */
void fs_inode_unlinked(struct fs *fs, uint64_t ino);

/* The purger: start (fs_open, read-write), wait until everything queued is
 * purged (a write short of space, fs_close), stop (fs_close: drains first). */
int fs_purger_start(struct fs *fs);
void fs_purger_drain(struct fs *fs);
void fs_purger_stop(struct fs *fs);

/* Opens the data of a regular file once (fs.chunks); in->lock held; fresh:
 * just made by fs_create. */
int fs_inode_open_data(struct fs *fs, struct fs_inode *in, bool fresh);

/* Whether ino has passthrough writes not yet committed (*ret_ns: mtime
 * when last adopted); takes only itab_lock. */
bool fs_pt_pending(struct fs *fs, uint64_t ino, int64_t *ret_ns);

/* mi's passthrough state as fs_fill_stat shows it (see struct fs_pt_snap). */
struct fs_pt_snap fs_pt_snap(struct fs *fs, const struct meta_inode *mi);
/* The same for ino, taken before its row is read (a read body: see
 * stat_read_body); takes only itab_lock. */
struct fs_pt_snap fs_pt_snap_ino(struct fs *fs, uint64_t ino);

/* Records the allocated size of in's open data in meta when it changed,
 * before the data closes; in->lock held (or in unreachable). */
void fs_inode_record_blocks(struct fs *fs, struct fs_inode *in);

/* Fills st from mi and, for a regular file, its passthrough snapshot ps. */
int fs_fill_stat(struct fs *fs, const struct meta_inode *mi, struct fs_pt_snap ps,
		 struct stat *st);
/* Runs body(arg) as one transaction (meta_txn) and, once it committed,
 * fills st from *mi, the inode the body left in its argument, with the
 * passthrough snapshot taken under the same hold of the metadata lock. */
int fs_txn_stat(struct fs *fs, meta_body_fn body, void *arg, const struct meta_inode *mi,
		struct stat *st);

/* The mode without set-user-ID, and without set-group-ID when the group
 * may execute. */
uint32_t fs_kill_suidgid(uint32_t mode);

/* Creates an inode and its entry parent/name in one transaction (mknod,
 * mkdir, symlink, create). */
int fs_new_inode(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 mode_t mode, dev_t rdev, const char *target, struct meta_inode *ret);

/* Refreshes the free-space figures from statvfs when stale or `always`;
 * space_lock held. */
void fs_space_update(struct fs *fs, bool always);

/* Tells the chunk store (ops->note_access) that a range of in was read or
 * written. */
void fs_note_access(struct fs *fs, struct fs_inode *in, uint64_t off, uint64_t len);

#endif
