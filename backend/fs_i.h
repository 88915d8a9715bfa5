/* fs_i.h - internals of the file system core shared by backend/fs.c,
 * backend/fsck.c and the tier moves (tier/): struct fs, the in-memory
 * inode table and the data file helpers.
 */
#ifndef EFSFS_FS_I_H
#define EFSFS_FS_I_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend/fs.h"
#include "backend/meta.h"

struct objstore;
struct codec;
struct access;

/* An inode the kernel holds a reference to or that is open. */
struct fs_inode {
	uint64_t ino;
	struct fs_inode *next;        /* hash chain; fs.itab_lock */
	uint64_t nlookup;             /* kernel references; fs.itab_lock */
	uint32_t nopen;               /* open handles; fs.itab_lock */
	bool unlinked;                /* nlink reached 0; fs.itab_lock */

	pthread_rwlock_t io;          /* data I/O shared; truncate, tier moves exclusive */
	pthread_mutex_t lock;         /* guards the fields below */
	int fd;                       /* backing file while open, else -1 */
	uint64_t size;                /* logical size while open (also in meta) */
	uint64_t cold;                /* chunks not in STANDARD (from meta at open) */
	atomic_uint_fast64_t write_gen; /* bumped by every write; tier moves compare */
	int64_t last_note;            /* second of the last access noted */
	uint64_t noted_first, noted_last;   /* chunks it covered */

	/* Passthrough (fs_file_passthrough): handles on the daemon path and
	 * handles the kernel serves from the backing file itself; the kernel
	 * allows only one kind at a time per inode.  While pt_dirty the
	 * backing file may be ahead of the metadata (size, mtime): stat shows
	 * the backing file's, and pt_refresh commits them.  Written under lock;
	 * the atomics are also read without it (fill_stat, under meta_lock). */
	uint32_t ncached, npt;
	int pt_id;                    /* the kernel's backing id while npt > 0 */
	atomic_bool pt_dirty;
	atomic_int_fast64_t pt_mtime_ns;  /* backing file's mtime when last adopted */
};

struct fs_file {
	struct fs_inode *inode;
	int flags;
	bool pt;                      /* served by passthrough */
	bool fresh;                   /* made by fs_create: empty, no xattrs */
	bool fresh_pt_ok;             /* ... and its mode allows passthrough */
};

#define FS_ITAB_BUCKETS 65536

struct fs {
	struct conf *conf;
	char fs_id[FS_ID_LEN + 1];
	uint64_t chunk_size;
	int dirfd;                    /* DATA_DIR */
	int datafd;                   /* DATA_DIR/data */
	int lockfd;                   /* DATA_DIR/lock: who holds the flock on dirfd */
	bool read_only;               /* FS_OPEN_RDONLY: nothing is written (set at open) */
	bool lock_text;               /* we wrote DATA_DIR/lock's text (cut at close) */
	bool writeback;
	struct fs_passthrough pt;     /* attach == NULL: no passthrough */
	atomic_uint_fast64_t pt_files;  /* handles opened with passthrough */
	atomic_uint pt_dirty_n;       /* inodes with pt_dirty set */
	atomic_uint fetching;         /* cold chunk fetches in flight (tier_fetch) */
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

	/* Tiering (tier/tier.c): stores by enum meta_class ([0] unused), the
	 * codec, the access table and the engine's state; set up by tier_open()
	 * from fs_open(), immutable while the file system is open. */
	struct objstore *store[3];
	struct codec *codec;
	struct access *access;
	struct tier *tier;

	char notes[1024];             /* fs_notes(); written by fs_open only */
};

/* Path of an inode's backing file relative to datafd ("ab/00000000000000ab"). */
void fs_data_path(uint64_t ino, char buf[32]);
/* Adds a line to what fs_notes() tells the caller of fs_open. */
void fs_note(struct fs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Lock/unlock the metadata store (the engine's lock, meta_lock()). */
void fs_meta_lock(struct fs *fs);
void fs_meta_unlock(struct fs *fs);
int64_t fs_now_ns(void);
/* Tier hook: makes the cold chunks in [off, off+len) of an open inode
 * local again; called with inode->io held exclusively.  Defined in tier/. */
int tier_make_local(struct fs *fs, struct fs_inode *in, uint64_t off, uint64_t len);
/* Tier hook: copies n bytes at offset `at` of cold chunk idx into dst
 * (zeros past the chunk's data); called with io held shared. */
int tier_read_cold(struct fs *fs, struct fs_inode *in, uint64_t idx, uint64_t at, size_t n,
		   void *dst);
/* Tier hook: whether reading a cold chunk brings it back to STANDARD
 * (transition_to_primary_storage_class = AFTER_1_ACCESS). */
bool tier_promotes_on_read(struct fs *fs);
/* Tier set-up and tear-down, called by fs_open() and fs_close(). */
int tier_open(struct fs *fs, unsigned flags, char *err, size_t errlen);
/* A new random file system id, "fs-" + 17 hex digits (mkfs, reidentify). */
int fs_make_id(char out[FS_ID_LEN + 1]);
/* A new random instance id, "i-" + 16 hex digits (tier/owner.c). */
#define FS_INSTANCE_LEN 18
int fs_make_instance(char out[FS_INSTANCE_LEN + 1]);
void tier_close(struct fs *fs);

/* Holds an inode open (its backing file) for a tier move; drop with
 * fs_inode_drop().  -EINVAL when ino is not a regular file. */
int fs_inode_hold(struct fs *fs, uint64_t ino, struct fs_inode **ret);
void fs_inode_drop(struct fs *fs, struct fs_inode *in);
/* Tier hook: notes an access to chunks [first, last] of ino at time now (s). */
void tier_note_access(struct fs *fs, uint64_t ino, uint64_t first, uint64_t last, int64_t now);
/* Tier hook: is chunk idx of in cold? 1 yes, 0 no, -errno when the chunk map
 * cannot be read: never taken for "not cold", since the local range of a
 * cold chunk is a punched hole and would read as zeros.  (io held) */
int tier_chunk_is_cold(struct fs *fs, struct fs_inode *in, uint64_t idx);
/* Whether the kernel may be reading or writing in's backing file behind
 * our back (passthrough): tier moves leave such an inode alone. */
bool fs_inode_passthrough(struct fs_inode *in);

#endif
