/* fs_i.h - internals of the file system core shared by backend/fs.c and
 * backend/fsck.c: struct fs and the in-memory inode table.  Layers (tier/)
 * use backend/layer.h instead.
 */
#ifndef EFSFS_FS_I_H
#define EFSFS_FS_I_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend/chunk.h"
#include "backend/fs.h"
#include "backend/layer.h"
#include "backend/meta.h"

/* An inode the kernel holds a reference to or that is open. */
struct fs_inode {
	uint64_t ino;
	struct fs_inode *next;        /* hash chain; fs.itab_lock */
	uint64_t nlookup;             /* kernel references; fs.itab_lock */
	uint32_t nopen;               /* open handles; fs.itab_lock */
	bool unlinked;                /* nlink reached 0; fs.itab_lock */

	pthread_rwlock_t io;          /* data I/O shared; truncate, tier moves exclusive */
	pthread_mutex_t lock;         /* guards the fields below */
	struct chunk_file *cf;        /* its data while open (of fs.chunks), else NULL:
	                                 opened and closed under lock, used by the
	                                 holders of an open handle under io */
	uint64_t size;                /* logical size while open (also in meta) */
	atomic_uint_fast64_t write_gen; /* bumped by every write; tier moves compare */
	int64_t last_note;            /* second of the last access noted */
	uint64_t noted_first, noted_last;   /* chunks it covered */

	/* Passthrough (fs_file_passthrough): handles on the daemon path and
	 * handles the kernel serves from the backing file itself; the kernel
	 * allows only one kind at a time per inode.  While pt_dirty the
	 * backing file may be ahead of the metadata (size, mtime): stat shows
	 * the backing file's, and pt_refresh commits them.  Written under lock;
	 * the atomics are also read without it (fill_stat, under meta_lock). */
	uint32_t ncached, npt;        /* npt: passthrough handles of all sessions */
	struct fs_pt_reg *pt_regs;    /* one per session with handles in npt */
	atomic_bool pt_dirty;
	atomic_int_fast64_t pt_mtime_ns;  /* backing file's mtime when last adopted */
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

	pthread_mutex_t usage_lock;
	int64_t usage_checked_ns;     /* usage_lock */
	uint64_t usage_bytes, usage_files;   /* usage_lock */

	char notes[1024];             /* fs_notes(); written by fs_open only */
};

#endif
