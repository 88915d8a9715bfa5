/* tier_i.h - state of the tiering engine shared by tier/tier.c (set-up and
 * the chunk-store layer the core (backend/fs_*.c) reads and writes through), tier/move.c
 * (the chunk moves), tier/lifecycle.c (the policy pass and the background
 * thread), tier/owner.c and tier/fsck.c.  The core is reached through
 * backend/layer.h only.
 *
 * Locks (each field below says which): cache_lock (the read cache and the
 * last failed fetch), run_lock (one pass or gc at a time),
 * thread_lock (the background thread's stop flag); the rest is written by
 * tier_open (or before tier_start) and read without a lock.  Lock order:
 * run_lock, then an inode's io lock, then the metadata lock; cache_lock and
 * thread_lock are taken with no other tier lock held. */
#ifndef EFSFS_TIER_I_H
#define EFSFS_TIER_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/chunk.h"
#include "backend/layer.h"
#include "tier/tier.h"

struct objstore;
struct codec;
struct access;

#define TIER_CACHE_SLOTS 8
#define TIER_INDEX_SLOTS 64        /* format-3 indexes kept for ranged cold reads */
#define TIER_KEY_MAX     96        /* object keys, with the NUL */
#define TIER_URL_MAX     4200
#define TIER_ATIME_STEP  3600      /* seconds: finer access times are not written */
#define TIER_FAIL_MS     1000      /* a chunk whose fetch just failed fails at once this long */

/* A decoded cold chunk kept for reads that do not promote; every field
 * written and read under tier.cache_lock. */
struct tier_cached {
	uint64_t ino, idx, version;
	void *buf;
	size_t len;
	uint64_t used;                /* LRU clock */
};

/* The verified index of a format-3 object (store/codec.h), kept so that the
 * next small read of the chunk GETs only its frames; every field written and
 * read under tier.cache_lock (the index itself is immutable, and a reader
 * holds its own reference). */
struct tier_index_slot {
	uint64_t ino, idx, version;
	struct codec_index *ix;       /* NULL: free */
	uint64_t used;                /* LRU clock (tier.clock) */
	uint64_t next;                /* where the last ranged read of the chunk ended: a
	                                 read from there on is sequential, and fetches
	                                 the whole chunk into the read cache */
};

/* Whose objects a key names (tier/owner.c): the file system id, its
 * instance id, and the first version written with the instance id in the
 * key (0 for a file system made with instance ids).  Lower versions are
 * objects from before instance ids, keyed "<fs_id>/<ino>/<idx>.<version>".
 * tier.ident: written by tier_open, immutable afterwards; a copy on the
 * stack (reidentify) is its thread's own. */
struct tier_ident {
	char fs_id[FS_ID_LEN + 1];
	char instance[FS_INSTANCE_LEN + 1];
	uint64_t since;
};

/* A file open through the layer: cf.nonlocal counts its cold chunks (from
 * the chunk map at open; written by moves and truncates with the inode's io
 * lock held exclusively, read under it shared or exclusive).  The rest of
 * cf is chunk.h's (immutable while open). */
struct tier_file {
	struct chunk_file cf;
	struct chunk_file *lower;     /* the local store's; immutable while open */
};

struct tier {
	/* The layer's own store, the one below (chunk_local) and the file
	 * system: written by tier_open, immutable while it is open. */
	struct chunk_store cs;        /* the layer: first, see tier_of() */
	struct chunk_store *lower;
	struct fs *fs;
	/* Stores by enum meta_class ([0] unused), the codec and the access
	 * table: set up by tier_open, immutable while the file system is open. */
	struct objstore *store[3];
	struct codec *codec;
	struct access *access;

	pthread_mutex_t cache_lock;
	struct tier_cached cache[TIER_CACHE_SLOTS];   /* written and read under cache_lock */
	struct tier_index_slot ixcache[TIER_INDEX_SLOTS]; /* written and read under cache_lock */
	uint64_t clock;                                /* written and read under cache_lock */
	/* The last cold read that failed after half s3_operation_timeout or more (a store
	 * that timed out): the kernel reads a page again at once after a failed readahead,
	 * and that second read would wait for a second operation timeout; for TIER_FAIL_MS
	 * it fails at once instead. */
	struct {
		uint64_t ino, idx, version;
		struct timespec at;                    /* CLOCK_MONOTONIC; 0 = none */
	} failed;                           /* written and read under cache_lock */

	pthread_mutex_t run_lock;     /* held by a lifecycle pass or gc */

	/* Where tier_report goes (tier_set_report): written before tier_start
	 * and before requests are served, read without a lock. */
	tier_report_fn *report;
	void *report_arg;

	/* Ownership (tier/owner.c): ident, claim_archive, unclaimed and holder
	 * are written by tier_open and immutable afterwards. */
	struct tier_ident ident;
	struct objstore *claim_archive;   /* the ARCHIVE store without its storage
	                                     class, for the claim; NULL: store[ARCHIVE] */
	bool unclaimed;               /* opened with FS_OPEN_UNCLAIMED */
	char holder[TIER_URL_MAX];    /* machine id, host name, data directory */
	char token[17], pending[17];  /* claim tokens (owner.c): written by tier_open and
	                                 under run_lock, read under run_lock */
	atomic_bool owner;            /* every store's claim is ours: objects may be
	                                 deleted; written under run_lock (tier_owner_ensure),
	                                 read atomically without a lock */

	pthread_mutex_t thread_lock;
	pthread_cond_t wake;          /* signalled under thread_lock */
	bool stop;                    /* written and read under thread_lock */
	/* The thread exists, and its handle: written by tier_start and tier_stop,
	 * which the one thread that mounts (or closes) calls; read there only. */
	bool running;
	pthread_t thread;
};

/* The tier of a file system opened with tier_fs_open (NULL otherwise). */
struct tier *tier_of(struct fs *fs);

/* Hands one message to the report callback (tier_set_report), or to
 * log_debug without one. */
void tier_notify(struct fs *fs, int level, uint64_t ino, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reads the chunk row under the meta lock; a missing row is STANDARD. */
int tier_chunk_row(struct fs *fs, uint64_t ino, uint64_t idx, struct meta_chunk *ret);
/* Fetches and decodes an object; err gets the reason on failure. */
int tier_fetch(struct fs *fs, const struct meta_chunk *c, void **ret_buf, size_t *ret_len,
	       char *err, size_t errlen);
void tier_cache_drop(struct fs *fs, uint64_t ino, uint64_t idx);
/* Records the SHA-256 of plain (a verified fetch) in a cold chunk row that
 * has none (written by metadata schema 1); the row must still name c's
 * version.  From then on a read accepts only that content.  Such rows name
 * format-1 or 2 objects only: every row of a format-3 object is written with
 * its chunk hash (codec.h), which is not the plaintext's SHA-256. */
int tier_record_sha256(struct fs *fs, const struct meta_chunk *c, const void *plain, size_t len);
/* Lists the chunk objects in class's store that are provably this file
 * system's (what gc looks at): cb gets each key, its size, whether a chunk
 * row names it (gc deletes those no row names), and whether it is a legacy
 * key from before instance ids; another instance's keys and the claim are
 * skipped.  cb returns 0 to go on.  err gets the store's message on failure. */
typedef int (*tier_list_cb)(const char *key, uint64_t size, bool named, bool legacy,
			    void *arg);
int tier_list_objects(struct fs *fs, int class, tier_list_cb cb, void *arg, char *err,
		      size_t errlen);
/* Chunk rows in a malloc'd array (free v): those of inode ino, or of every
 * inode when ino is 0; class TIER_ROWS_ALL keeps every row, 0 every cold one
 * (IA or ARCHIVE), META_IA or META_ARCHIVE only that class.  Takes
 * meta_lock.  On failure -errno and nothing to free. */
#define TIER_ROWS_ALL (-1)
/* tier_rows, tier_keys: the calling thread's own, no lock. */
struct tier_rows {
	struct meta_chunk *v;
	size_t n, cap;
	int class;
};
int tier_rows_get(struct fs *fs, uint64_t ino, int class, struct tier_rows *ret);
/* A growing array of copied object keys (gc, efsfs store). */
struct tier_keys {
	char **v;
	size_t n, cap;
};
int tier_keys_add(struct tier_keys *ks, const char *key);     /* 0 or -ENOMEM */
void tier_keys_free(struct tier_keys *ks);                    /* and empties it */
/* Whether IA and ARCHIVE are one store (listed once). */
bool tier_same_store(struct fs *fs);
/* The object key of chunk version (ino, idx, version) of identity id: the
 * one place keys are made, for writes, reads, gc and reidentify:
 *   "<fs_id>/<instance>/<ino>/<idx>.<version>"   (version >= id->since)
 *   "<fs_id>/<ino>/<idx>.<version>"              (older: before instance ids)
 * numbers as 16 hex digits. */
void tier_key(const struct tier_ident *id, uint64_t ino, uint64_t idx, uint64_t version,
	      char buf[TIER_KEY_MAX]);
/* The key of the claim object in each store: "<fs_id>/claim". */
void tier_claim_key(const struct tier_ident *id, char buf[TIER_KEY_MAX]);
/* A version for a new object of chunk c: fresh, above c's, never legacy. */
uint64_t tier_new_version(struct fs *fs, const struct meta_chunk *c);
/* Whether the object of version `version` may be deleted by this file
 * system: its claims were verified and the key has the instance id. */
bool tier_may_delete(struct fs *fs, uint64_t version);
/* A codec for file system id fs_id with this file system's key (if any). */
int tier_codec_new(struct fs *fs, const char *fs_id, struct codec **ret, char *err,
		   size_t errlen);

/* tier/owner.c: at tier_open, after the stores and codec: the instance id
 * (made for a file system from before them), an interrupted reidentify, the
 * store records and the claims.  Unless flags has FS_OPEN_UNCLAIMED, a
 * store that holds cold data but is no longer configured, or a claim of
 * another holder, fails the open with a message saying what to do. */
int tier_owner_open(struct fs *fs, unsigned flags, char *err, size_t errlen);
/* Checks (reads) every store's claim again; sets owner when all are ours.
 * Called under run_lock before gc and a lifecycle pass.  -EEXIST: another
 * holder's claim; -EPERM: opened unclaimed; other: a store failed. */
int tier_owner_ensure(struct fs *fs, bool recheck, char *err, size_t errlen);

/* Promotes chunk idx of file tf (of size bytes) whose inode's io lock is
 * held exclusively: 1 when it brought data back, 0 when the chunk was not
 * cold, -errno. */
int tier_promote_locked(struct fs *fs, struct tier_file *tf, uint64_t size, uint64_t idx);
/* Is chunk idx of tf cold?  1 yes, 0 no, -errno when the chunk map cannot be
 * read: never taken for "not cold", since the local range of a cold chunk is
 * a punched hole and would read as zeros.  (io held) */
int tier_chunk_is_cold(struct fs *fs, struct tier_file *tf, uint64_t idx);

#endif
