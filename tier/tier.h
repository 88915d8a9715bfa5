/* tier.h - the lifecycle engine: moves cold chunks from local disk
 * (STANDARD) to the object stores (IA, ARCHIVE) and back, per the EFS
 * lifecycle policy in the configuration:
 *   transition_to_ia          AFTER_N_DAYS without access -> IA
 *   transition_to_archive     AFTER_N_DAYS without access -> ARCHIVE
 *   transition_to_primary_storage_class = AFTER_1_ACCESS
 *                             a read brings a cold chunk back to STANDARD
 * Files smaller than 128 KiB never leave STANDARD.  Writes to a cold chunk
 * always bring it back first.  Metadata never leaves local disk.
 *
 * Time is passed in (as_of), so tests run "31 days later" at once:
 * `efsfs lifecycle run --as-of 2027-01-01 NAME`.
 */
#ifndef EFSFS_TIER_H
#define EFSFS_TIER_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/meta.h"

struct fs;

#define TIER_MIN_FILE_SIZE (128u << 10)   /* EFS: smaller files stay in STANDARD */

struct tier_report {
	uint64_t files_scanned;
	uint64_t chunks_to_ia, bytes_to_ia;
	uint64_t chunks_to_archive, bytes_to_archive;
	uint64_t chunks_failed;
	char first_error[512];
};

struct tier_stats {
	uint64_t files;               /* linked inodes */
	uint64_t total;               /* StorageBytes{StorageClass=Total} */
	uint64_t standard;            /* ... Standard */
	uint64_t ia, ia_overhead;     /* ... IA, IASizeOverhead */
	uint64_t archive, archive_overhead;
	uint64_t ia_chunks, archive_chunks;
	uint64_t ia_stored, archive_stored;   /* bytes in the stores (compressed) */
};

/* One lifecycle pass as if the time were as_of (seconds since the epoch). */
int tier_run(struct fs *fs, int64_t as_of, struct tier_report *ret);
/* Writes the access times noted in memory to the chunk map. */
int tier_flush_access(struct fs *fs);
/* Deletes objects that no chunk refers to (left by a crash or a delete). */
int tier_gc(struct fs *fs, uint64_t *ret_deleted, char *err, size_t errlen);
int tier_stats(struct fs *fs, struct tier_stats *ret);

/* Moves one chunk.  demote: class META_IA or META_ARCHIVE; returns 1 when
 * there was nothing to move (a hole, past EOF, already there), -EAGAIN when
 * a write raced the move (nothing changed).  promote: back to STANDARD. */
int tier_demote(struct fs *fs, uint64_t ino, uint64_t idx, int class, char *err, size_t errlen);
int tier_promote(struct fs *fs, uint64_t ino, uint64_t idx);

/* The background thread of a mounted file system: flushes accesses every
 * 30 s and runs a pass and gc every lifecycle_interval seconds. */
int tier_start(struct fs *fs);
void tier_stop(struct fs *fs);

/* Whether an encrypted file system's key_file lies in the same directory
 * tree as a file:// store it protects (the default DATA_DIR/key beside
 * DATA_DIR/objects does); buf then says so, naming both. */
struct conf;
bool tier_key_beside_store(const struct conf *c, char *buf, size_t len);

/* The object key of a chunk version: "<fs_id>/<ino>/<idx>.<version>" in hex. */
void tier_object_key(struct fs *fs, uint64_t ino, uint64_t idx, uint64_t version, char buf[96]);

#endif
