/* tier_i.h - state of the tiering engine shared by tier/tier.c (set-up and
 * the hooks backend/fs.c calls), tier/move.c (the chunk moves) and
 * tier/lifecycle.c (the policy pass and the background thread). */
#ifndef EFSFS_TIER_I_H
#define EFSFS_TIER_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/fs_i.h"
#include "tier/tier.h"

#define TIER_CACHE_SLOTS 8
#define TIER_ATIME_STEP  3600      /* seconds: finer access times are not written */
#define TIER_FAIL_MS     1000      /* a chunk whose fetch just failed fails at once this long */

/* A decoded cold chunk kept for reads that do not promote. */
struct tier_cached {
	uint64_t ino, idx, version;
	void *buf;
	size_t len;
	uint64_t used;                /* LRU clock */
};

struct tier {
	pthread_mutex_t cache_lock;
	struct tier_cached cache[TIER_CACHE_SLOTS];   /* cache_lock */
	uint64_t clock;                                /* cache_lock */
	/* The last cold read that failed after half s3_operation_timeout or more (a store
	 * that timed out): the kernel reads a page again at once after a failed readahead,
	 * and that second read would wait for a second operation timeout; for TIER_FAIL_MS
	 * it fails at once instead. */
	struct {
		uint64_t ino, idx, version;
		struct timespec at;                    /* CLOCK_MONOTONIC; 0 = none */
	} failed;                                      /* cache_lock */

	pthread_mutex_t run_lock;     /* one lifecycle pass or gc at a time */

	pthread_mutex_t thread_lock;
	pthread_cond_t wake;          /* thread_lock */
	bool stop;                    /* thread_lock */
	bool running;                 /* the thread exists */
	pthread_t thread;
};

/* Reads the chunk row under the meta lock; a missing row is STANDARD. */
int tier_chunk_row(struct fs *fs, uint64_t ino, uint64_t idx, struct meta_chunk *ret);
/* Fetches and decodes an object; err gets the reason on failure. */
int tier_fetch(struct fs *fs, const struct meta_chunk *c, void **ret_buf, size_t *ret_len,
	       char *err, size_t errlen);
void tier_cache_drop(struct fs *fs, uint64_t ino, uint64_t idx);
/* Records the SHA-256 of plain (a verified fetch) in a cold chunk row that
 * has none (written by metadata schema 1); the row must still name c's
 * version.  From then on a read accepts only that content. */
int tier_record_sha256(struct fs *fs, const struct meta_chunk *c, const void *plain, size_t len);
/* Lists the chunk objects in class's store under this file system's key
 * prefix (what gc looks at): cb gets each key, its size, and whether a chunk
 * row names it (gc deletes those no row names); other keys are skipped.  cb
 * returns 0 to go on.  err gets the store's message on failure. */
typedef int (*tier_list_cb)(const char *key, uint64_t size, bool named, void *arg);
int tier_list_objects(struct fs *fs, int class, tier_list_cb cb, void *arg, char *err,
		      size_t errlen);
/* Whether IA and ARCHIVE are one store (listed once). */
bool tier_same_store(struct fs *fs);
/* Promotes chunk idx of an inode whose io lock is held exclusively. */
int tier_promote_locked(struct fs *fs, struct fs_inode *in, uint64_t idx);

#endif
