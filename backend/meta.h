/* meta.h - the metadata store: inodes, directory entries, xattrs and the
 * chunk map in SQLite (WAL mode, prepared statements).
 *
 * The schema is plain SQL (see meta.c) so that another engine can serve it
 * later.  struct meta is NOT thread-safe: the caller (backend/fs.c) holds
 * its own mutex around every transaction.  One POSIX operation is one
 * transaction: meta_begin() ... meta_commit() or meta_rollback() (a
 * savepoint in a group transaction with group commit, see meta_set_group).
 *
 * Durability: commits use synchronous=NORMAL (durable against a daemon
 * crash, since the WAL is in the kernel's page cache); meta_sync() makes
 * everything committed so far durable against power loss, and fsync() on a
 * file calls it.
 *
 * Timestamps are stored as seconds and nanoseconds in separate columns so
 * that every time_t utimensat() accepts round-trips exactly.
 */
#ifndef EFSFS_META_H
#define EFSFS_META_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define META_ROOT_INO      1
#define META_SCHEMA        2

struct meta;

struct meta_inode {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	uint64_t rdev;
	struct timespec atime, mtime, ctime, btime;
};

/* Storage classes of a chunk (chunk.class column). */
enum meta_class { META_STANDARD = 0, META_IA = 1, META_ARCHIVE = 2 };

struct meta_chunk {
	uint64_t ino, idx;
	int class;                 /* enum meta_class */
	int64_t atime;             /* last access, seconds since the epoch */
	uint64_t stored_len;       /* bytes of the object in the store (0 for STANDARD) */
	uint64_t plain_len;        /* plaintext bytes of the chunk (0 for STANDARD) */
	uint64_t version;          /* names the chunk's object (0 for STANDARD) */
	bool has_sha256;           /* sha256 is recorded: always for rows written by
	                              schema 2, never for STANDARD; a cold row that
	                              schema 1 wrote has none until it is filled in */
	uint8_t sha256[32];        /* SHA-256 of the plaintext of the chunk's object */
};

/* What the file system holds, for statfs and the StorageBytes metrics. */
struct meta_usage {
	uint64_t inodes;           /* linked inodes */
	uint64_t bytes;            /* sum of their sizes (logical) */
	uint64_t chunks[3], plain[3], stored[3];   /* cold chunks by class ([0] unused) */
};
int meta_usage(struct meta *m, struct meta_usage *ret);

/* Opens (create = false) or creates (create = true, fails with -EEXIST when
 * a database is there) the database at path.  errbuf receives SQLite's text
 * on failure.  A database of an older schema is migrated on open (schema 1
 * -> 2: the chunk table gets its sha256 column, NULL in the old rows). */
int meta_open(const char *path, bool create, struct meta **ret, char *errbuf, size_t errlen);
/* Opens the database at path read-only, writing nothing next to it (for
 * mount -o ro): meta_begin is then -EROFS, meta_sync and meta_checkpoint do
 * nothing.  -EROFS (errbuf says why) when a WAL with changes would have to
 * be read and dir_writable is false. */
int meta_open_ro(const char *path, bool dir_writable, struct meta **ret, char *errbuf,
		 size_t errlen);
void meta_close(struct meta *m);

/* The text of the last SQLite error, for log lines. */
const char *meta_errmsg(struct meta *m);

int meta_begin(struct meta *m);
int meta_commit(struct meta *m);
void meta_rollback(struct meta *m);
/* Ends the transaction: commits when r is 0, else rolls back; returns the result. */
int meta_finish(struct meta *m, int r);
/* Makes everything committed so far durable against power loss (and
 * commits the open group first). */
int meta_sync(struct meta *m);

/* Group commit: with window_ns > 0, meta_begin/meta_commit become savepoints
 * inside one transaction (a "group"), committed when it is window_ns old or
 * has META_GROUP_OPS operations, by meta_flush(), meta_sync() or the
 * caller's timer (meta_group_due).  A daemon crash loses at most the open
 * group, which fsync never leaves open.  0 turns it off (flushing first).
 * Single writes outside meta_begin join the group too. */
void meta_set_group(struct meta *m, int64_t window_ns);
/* Commits the open group, if any.  When SQLite itself rolled the group
 * back (an I/O error at commit, or a full disk with the reserve used up),
 * the store is marked broken and refuses changes from then on (-EIO); else
 * a failed flush leaves the group open for the next try.  A group is also
 * committed once meta_pending() reaches 2 MiB. */
int meta_flush(struct meta *m);
/* When the open group is due (CLOCK_MONOTONIC ns), 0 when none is open. */
int64_t meta_group_due(struct meta *m);
bool meta_broken(struct meta *m);

/* Disk space (see meta.c's top comment).  meta_reserve keeps `bytes`
 * (rounded up to MiB) allocated in PATH-reserve beside the database; a
 * write of SQLite's that finds the disk full takes its blocks, 1 MiB at a
 * time, instead of failing.  0 once the reserve is whole, else -errno (it
 * stays as full as it could be made).  meta_reserve_fill tries to make it
 * whole again; meta_reserve_missing says how much it lacks (0: whole);
 * meta_reserve_given counts the bytes given to SQLite since open. */
int meta_reserve(struct meta *m, uint64_t bytes);
int meta_reserve_fill(struct meta *m);
uint64_t meta_reserve_missing(struct meta *m);
uint64_t meta_reserve_given(struct meta *m);
/* An estimate of the bytes the open transaction (the group with group
 * commit) will write at its commit: 0 outside a transaction. */
uint64_t meta_pending(struct meta *m);
/* Checkpoints the WAL into the database (on clean unmount). */
int meta_checkpoint(struct meta *m);

/* The fs table: small key/value settings (fs_id, chunk_size, clean, ...). */
int meta_get_kv(struct meta *m, const char *key, char *buf, size_t len);
int meta_set_kv(struct meta *m, const char *key, const char *value);

/* Inodes.  meta_inode_insert assigns ino (never reused: AUTOINCREMENT). */
int meta_inode_get(struct meta *m, uint64_t ino, struct meta_inode *ret);
int meta_inode_insert(struct meta *m, struct meta_inode *in, const void *target, size_t tlen);
int meta_inode_update(struct meta *m, const struct meta_inode *in);
int meta_inode_set_size(struct meta *m, uint64_t ino, uint64_t size, const struct timespec *mtime);
int meta_inode_delete(struct meta *m, uint64_t ino);       /* also its xattrs and chunks */
int meta_readlink(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len);
/* Calls cb for every inode with nlink 0 (orphans left by a crash). */
int meta_orphans(struct meta *m, int (*cb)(uint64_t ino, void *arg), void *arg);

/* Directory entries.  type is the S_IFMT bits of the target. */
int meta_lookup(struct meta *m, uint64_t parent, const char *name, uint64_t *ret_ino);
int meta_dentry_insert(struct meta *m, uint64_t parent, const char *name, uint64_t ino, uint32_t type);
int meta_dentry_delete(struct meta *m, uint64_t parent, const char *name);
/* Moves an entry keeping its cookie (readdir position). */
int meta_dentry_move(struct meta *m, uint64_t parent, const char *name,
                     uint64_t newparent, const char *newname);
/* Points an existing entry at another inode (rename over, exchange). */
int meta_dentry_retarget(struct meta *m, uint64_t parent, const char *name, uint64_t ino, uint32_t type);
/* true when the directory has no entries. */
int meta_dir_is_empty(struct meta *m, uint64_t dir, bool *ret);
/* The parent of a directory (its one entry); root is its own parent. */
int meta_dir_parent(struct meta *m, uint64_t dir, uint64_t *ret_parent);

/* Readdir: entries of dir with cookie > after, in cookie order; cb returns
 * non-zero to stop (buffer full). */
typedef int (*meta_readdir_cb)(const char *name, uint64_t ino, uint32_t type, uint64_t cookie,
                               void *arg);
int meta_readdir(struct meta *m, uint64_t dir, uint64_t after, uint64_t upto, meta_readdir_cb cb,
		 void *arg);
/* The highest cookie given so far (a directory stream's snapshot). */
int meta_dentry_max_cookie(struct meta *m, uint64_t *ret);

/* Extended attributes. get: -ENODATA when missing; -ERANGE when len is too
 * small (len 0 asks for the size in *ret_len). */
int meta_xattr_get(struct meta *m, uint64_t ino, const char *name, void *buf, size_t len,
                   size_t *ret_len);
/* flags: XATTR_CREATE / XATTR_REPLACE */
int meta_xattr_set(struct meta *m, uint64_t ino, const char *name, const void *val, size_t len,
                   int flags);
int meta_xattr_remove(struct meta *m, uint64_t ino, const char *name);
/* list: NUL-separated names; len 0 asks for the size. */
int meta_xattr_list(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len);
/* The bytes of ino's xattr names (each with its NUL, as listxattr gives
 * them) and of its values, leaving out the one named except (may be NULL). */
int meta_xattr_usage(struct meta *m, uint64_t ino, const char *except, uint64_t *ret_names,
		     uint64_t *ret_values);

/* The chunk map: rows for chunks whose class or access time is recorded.
 * A chunk without a row is STANDARD (or a hole) with the inode's mtime as
 * its access time. */
int meta_chunk_get(struct meta *m, uint64_t ino, uint64_t idx, struct meta_chunk *ret);
/* Fault injection for tests: while err (a positive errno) is not 0, every
 * meta_chunk_get() fails with -err, as a failing disk or database would. */
void meta_fail_chunk_reads(struct meta *m, int err);
int meta_chunk_put(struct meta *m, const struct meta_chunk *c);
/* Records the SHA-256 of a cold chunk whose row has none (a row from schema
 * 1), if the row still names that version; else nothing changes. */
int meta_chunk_set_sha256(struct meta *m, uint64_t ino, uint64_t idx, uint64_t version,
                          const uint8_t sha256[32]);
/* Records an access at atime unless the recorded one is less than step older. */
int meta_chunk_touch(struct meta *m, uint64_t ino, uint64_t idx, int64_t atime, int64_t step);
int meta_chunk_delete_from(struct meta *m, uint64_t ino, uint64_t first_idx);
/* Counts the chunks of ino that are not STANDARD. */
int meta_chunk_cold_count(struct meta *m, uint64_t ino, uint64_t *ret);
typedef int (*meta_chunk_cb)(const struct meta_chunk *c, void *arg);
/* Every chunk row of ino (ino 0: of every inode), ordered by (ino, idx). */
int meta_chunk_each(struct meta *m, uint64_t ino, meta_chunk_cb cb, void *arg);

/* Every inode, for fsck and the lifecycle scan; cb returns non-zero to stop. */
typedef int (*meta_inode_cb)(const struct meta_inode *in, void *arg);
int meta_inode_each(struct meta *m, uint64_t after, meta_inode_cb cb, void *arg);
/* A path of ino from the root ("/a/b", via its first entry at each level),
 * for fsck's messages; -ENOENT when it has no entry (unlinked), -ENAMETOOLONG
 * when buf is too small, -ELOOP on a cycle. */
int meta_inode_path(struct meta *m, uint64_t ino, char *buf, size_t len);
/* Every entry, for fsck. */
typedef int (*meta_dentry_cb)(uint64_t parent, const char *name, uint64_t ino, uint32_t type,
                              void *arg);
int meta_dentry_each(struct meta *m, meta_dentry_cb cb, void *arg);
/* PRAGMA integrity_check; 0 when "ok", -EIO with the first message in buf otherwise. */
int meta_integrity(struct meta *m, char *buf, size_t len);

void meta_inode_to_stat(const struct meta_inode *in, struct stat *st);

#endif
