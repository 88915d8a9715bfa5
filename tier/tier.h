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

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/fs.h"
#include "backend/meta.h"

struct fs;

#define TIER_MIN_FILE_SIZE (128u << 10)   /* EFS: smaller files stay in STANDARD */

struct tier_report {
	uint64_t files_scanned;
	uint64_t chunks_to_ia, bytes_to_ia;
	uint64_t chunks_to_archive, bytes_to_archive;
	uint64_t chunks_failed;
	char first_error[2048];
};

/* The last lifecycle pass, kept in the metadata (fs key lifecycle_last_pass)
 * so that `efsfs lifecycle status` shows it after a restart. */
struct tier_last_pass {
	int64_t start;                /* wall clock, seconds since the epoch */
	double seconds;               /* how long it took */
	int64_t as_of;                /* the time the policy was applied for */
	uint64_t files_scanned, chunks_moved, chunks_failed;
	char first_error[512];        /* "" when none */
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

/* How far a pass is, for another thread to show: the pass first counts the chunks due
 * (todo, then counted = true), then moves them (done counts each one tried). */
struct tier_progress {
	atomic_uint_fast64_t todo;
	atomic_uint_fast64_t done;
	atomic_bool counted;
};

/* Opens a file system with the tier layer over its chunk store (fs_open_flags
 * otherwise): cold chunks read from their stores, made local before writes,
 * accesses noted, and the stores' claims checked (tier/owner.c).  Every
 * tier_* call below needs a file system opened this way. */
int tier_fs_open(const struct conf *conf, const char *mountpoint, unsigned flags,
		 struct fs **ret, char *err, size_t errlen);
/* The object store of class META_IA or META_ARCHIVE (NULL for another), for
 * tests and tools. */
struct objstore *tier_store(struct fs *fs, int class);
/* Fault injection for tests in the store of class (objstore_inject_fault):
 * the nth call (1-based, from now) of op ("get", "put", "del", "list", "*")
 * fails with -err, and every later one too when sticky; nth 0 clears. */
void tier_inject_fault(struct fs *fs, int class, const char *op, unsigned nth, int err,
		       bool sticky);

/* Notes an access to chunks [first, last] of ino at time now (seconds since
 * the epoch), as reads and writes do through the layer. */
void tier_note_access(struct fs *fs, uint64_t ino, uint64_t first, uint64_t last, int64_t now);

/* One lifecycle pass as if the time were as_of (seconds since the epoch).
 * tier_run, tier_gc and tier_start are -EROFS on a read-only file system. */
int tier_run(struct fs *fs, int64_t as_of, struct tier_report *ret);
/* The summary of the last pass; -ENOENT when none has run. */
int tier_last_pass(struct fs *fs, struct tier_last_pass *ret);
/* The same with progress reported in *prog (zeroed by the caller). */
int tier_run_progress(struct fs *fs, int64_t as_of, struct tier_report *ret,
		      struct tier_progress *prog);
/* Writes the access times noted in memory to the chunk map. */
int tier_flush_access(struct fs *fs);
/* Deletes objects that no chunk refers to (left by a crash or a delete):
 * only keys with this file system's instance id, and only after reading
 * every store's claim again (-EEXIST: another holder has it, see
 * tier/owner.c).  tier_gc_legacy also reports (ret_legacy) unreferenced
 * objects from before instance ids, and deletes them when delete_legacy. */
int tier_gc(struct fs *fs, uint64_t *ret_deleted, char *err, size_t errlen);
int tier_gc_legacy(struct fs *fs, bool delete_legacy, uint64_t *ret_deleted,
		   uint64_t *ret_legacy, char *err, size_t errlen);

/* Gives a copied data directory its own fs id and instance id, copying
 * every cold object to keys of the new identity (tier/owner.c).  The file
 * system must be opened with FS_OPEN_UNCLAIMED and closed afterwards.
 * Chunks whose object is gone are counted; without force that is -ENOENT
 * and nothing changes. */
struct tier_reidentify_report {
	char new_fs_id[FS_ID_LEN + 1];
	bool resumed;                 /* an interrupted run was continued */
	uint64_t copied, bytes, missing;
	char first_missing[512];
};
int tier_reidentify(struct fs *fs, bool force, struct tier_reidentify_report *ret, char *err,
		    size_t errlen);
/* After the objects of old_url were copied to new_url and the config names
 * new_url: checks that each cold chunk's object is there, then records
 * new_url as the store of the classes recorded at old_url.  msg gets the
 * result or the reason. */
int tier_store_set_url(struct fs *fs, const char *old_url, const char *new_url, char *msg,
		       size_t len);
/* Writes this data directory's claim into every store (a moved directory). */
int tier_store_claim(struct fs *fs, char *msg, size_t len);
int tier_stats(struct fs *fs, struct tier_stats *ret);

/* Moves one chunk.  demote: class META_IA or META_ARCHIVE; returns 1 when
 * there was nothing to move (a hole, past EOF, already there), -EAGAIN when
 * a write raced the move (nothing changed).  promote: back to STANDARD. */
int tier_demote(struct fs *fs, uint64_t ino, uint64_t idx, int class, char *err, size_t errlen);
int tier_promote(struct fs *fs, uint64_t ino, uint64_t idx);

/* The cold-object half of `efsfs fsck` on an open, unmounted file system
 * (see tier/fsck.c): every cold chunk's object must be in its store's
 * listing with the recorded size; TIER_FSCK_DEEP also fetches and verifies
 * each; objects no chunk refers to are noted (TIER_FSCK_REPAIR: gc deletes
 * them; with DEEP it also records the SHA-256 of verified chunks written by
 * metadata schema 1).  Each finding goes to report(); returns the number of
 * errors (0 = clean) or a negative errno with err set. */
#define TIER_FSCK_DEEP   0x1u
#define TIER_FSCK_REPAIR 0x2u
int tier_fsck(struct fs *fs, unsigned flags, void (*report)(const char *msg, void *arg),
	      void *arg, char *err, size_t errlen);

/* What the layer has to tell an operator and no caller is there to hear: a
 * cold read that failed, a lifecycle pass of the thread that stopped.
 * level is a syslog level (LOG_ERR, LOG_WARNING, LOG_INFO); ino the inode
 * the message is about (its text starts "inode N"), 0 for the file system
 * as a whole; msg one line without the file system's name, which the
 * callback adds (the daemon logs it with the name and mountpoint).
 * Without a callback these go to log_debug. */
typedef void tier_report_fn(int level, uint64_t ino, const char *msg, void *arg);
/* Installs cb (NULL: none); call before tier_start and before any request is
 * served, as nothing guards it afterwards. */
void tier_set_report(struct fs *fs, tier_report_fn *cb, void *arg);

/* The background thread of a mounted file system: flushes accesses every
 * 30 s and runs a pass and gc every lifecycle_interval seconds. */
int tier_start(struct fs *fs);
void tier_stop(struct fs *fs);

/* Checks before mkfs and mount that each s3:// store of c takes a write with its storage
 * class and a delete (objstore_check), so that a missing bucket or a refused storage
 * class shows now, not at the first lifecycle pass.  create_bucket: first create a
 * bucket that does not exist (efsfs mkfs --create-bucket).  -ENOENT no bucket, -EINVAL
 * the class is refused (or a bad configuration), -EACCES, -EIO the store failed or did
 * not answer.  err names the store, the cause and the fix. */
int tier_check_stores(const struct conf *c, bool create_bucket, char *err, size_t errlen);

/* Whether an encrypted file system's key_file lies in the same directory
 * tree as a file:// store it protects (the default DATA_DIR/key beside
 * DATA_DIR/objects does); buf then says so, naming both. */
struct conf;
bool tier_key_beside_store(const struct conf *c, char *buf, size_t len);

/* The object key of a chunk version: "<fs_id>/<instance>/<ino>/<idx>.<version>"
 * in hex, or "<fs_id>/<ino>/<idx>.<version>" for an object from before
 * instance ids (tier_key in tier_i.h, tier/owner.c). */
void tier_object_key(struct fs *fs, uint64_t ino, uint64_t idx, uint64_t version, char buf[96]);

#endif
