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
/* Promotes chunk idx of an inode whose io lock is held exclusively. */
int tier_promote_locked(struct fs *fs, struct fs_inode *in, uint64_t idx);

#endif
