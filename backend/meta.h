/* meta.h - the metadata engine interface: inodes, directory entries,
 * xattrs, the chunk map and the fs key/value settings, behind one ops table
 * (struct meta_ops) that an engine fills.  meta_open() picks the engine by
 * URL: "sqlite:///abs/path" is backend/meta_sqlite.c (the only one now);
 * "postgres://..." is reserved for a PostgreSQL engine.  Callers use the
 * meta_* functions below, thin dispatchers through m->ops (backend/meta.c).
 *
 * Contract of every engine:
 *  - errors are 0 or -errno: -ENOENT (no such row), -EEXIST (a unique key
 *    taken), -ENOSPC, -EROFS (a read-only open), -EIO (the store failed or
 *    is broken), -EAGAIN (a retryable conflict: the transaction must be run
 *    again; meta_txn does that);
 *  - one caller at a time: every op but close, errmsg, set_group and read
 *    is called with the engine's own mutex held, via meta_lock()/
 *    meta_unlock() or inside meta_txn() (which takes it), or inside a
 *    read body on the struct meta meta_read() gave it;
 *  - reads may run concurrently: meta_read(m, body, arg) runs a body that
 *    only reads, WITHOUT the lock, on a struct meta of the engine's
 *    choosing (SQLite: a read connection of its own), and sees every
 *    change made before it began, including those of a batch not yet
 *    durable (read-after-write holds under the commit window);
 *  - one POSIX operation is one transaction: begin ... commit or rollback.
 *    An engine may batch committed transactions into one durable commit
 *    (the commit window, meta_set_group); meta_flush() ends the batch and
 *    meta_sync() makes everything committed so far durable against power
 *    loss (fsync() on a file calls it);
 *  - timestamps are seconds and nanoseconds in separate fields so that
 *    every time_t utimensat() accepts round-trips exactly.
 */
#ifndef EFSFS_META_H
#define EFSFS_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "backend/fs.h"           /* struct fs_access_point, a value the engine stores */

#define META_ROOT_INO      1
#define META_SCHEMA        6

struct meta;
/* The value structs below (meta_inode, meta_chunk, meta_usage,
 * meta_effects, meta_session) are the caller's copies: the engine fills
 * them under its lock, and they have no lock of their own. */
struct meta_inode {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	uint64_t rdev;
	struct timespec atime, mtime, ctime, btime;
	int64_t blocks;            /* 512-byte blocks of the data as last recorded
	                              (inode_set_blocks; 0 for a new inode), -1
	                              unknown; not written by inode_update */
};

/* inode_set_size's blocks argument that leaves the recorded figure alone. */
#define META_BLOCKS_KEEP INT64_MIN

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

typedef int (*meta_body_fn)(struct meta *m, void *arg);
typedef int (*meta_readdir_cb)(const char *name, uint64_t ino, uint32_t type, uint64_t cookie,
                               void *arg);
typedef int (*meta_chunk_cb)(const struct meta_chunk *c, void *arg);
typedef int (*meta_inode_cb)(const struct meta_inode *in, void *arg);
typedef int (*meta_dentry_cb)(uint64_t parent, const char *name, uint64_t ino, uint32_t type,
                              void *arg);

/* The ops table of an engine.  Each op's first argument is the struct meta
 * the engine's open returned; the meta_* dispatcher of the same name (below)
 * calls it.  All ops but close and errmsg are called with the engine's lock
 * held (meta_lock). */
/* Static const in the engine's file: immutable. */
struct meta_ops {
	const char *name;          /* the URL scheme, "sqlite" */
	void (*close)(struct meta *m);          /* also commits what is batched */
	/* The text of the last error of the engine, for messages. */
	const char *(*errmsg)(struct meta *m);

	/* Transactions.  begin: -EROFS on a read-only open, -EIO once broken. */
	int (*begin)(struct meta *m);
	/* On failure the transaction is rolled back. */
	int (*commit)(struct meta *m);
	void (*rollback)(struct meta *m);
	/* Makes everything committed so far durable against power loss. */
	int (*sync)(struct meta *m);
	/* Commit window: with window_ns > 0 committed transactions are
	 * batched into one durable commit at most window_ns old (or of a
	 * bounded size), which the engine commits by itself when due (SQLite:
	 * a committer thread); a crash of the process loses at most the open
	 * batch, which sync never leaves open.  0 turns it off (committing
	 * the batch).  Single writes outside begin join the batch too.  An
	 * engine without batching ignores it.  Called WITHOUT the lock. */
	int (*set_group)(struct meta *m, int64_t window_ns);
	/* The engine's mutex (recursive: meta_txn may run inside a hold). */
	void (*lock)(struct meta *m);
	void (*unlock)(struct meta *m);
	/* Commits the open batch, if any.  When the batch was lost (an I/O
	 * error at commit, or a full disk with the reserve used up), the
	 * engine is broken and refuses changes from then on (-EIO); else a
	 * failed flush leaves the batch for the next try.  A failure of the
	 * engine's own background commit goes to m->report. */
	int (*flush)(struct meta *m);
	bool (*broken)(struct meta *m);
	/* Settles the store for a clean close (SQLite: checkpoints the WAL
	 * into the database).  Nothing on a read-only open. */
	int (*checkpoint)(struct meta *m);
	/* The engine's own consistency check of its storage: 0 when sound,
	 * else -EIO with the first problem in err. */
	int (*integrity)(struct meta *m, char *err, size_t errlen);

	/* Sessions (schema 3): session_start records this process as a
	 * mounted daemon (meta_session_self) and renews its heartbeat every
	 * META_SESSION_BEAT_S (SQLite: on the committer thread while a commit
	 * window is set, else at the first unlock after it is due) until
	 * session_end (or close) removes it; from
	 * then on an inode that loses its last link records the session, and
	 * orphans leaves it alone while the session is alive.  -EROFS on a
	 * read-only open (which writes nothing, and holds no orphans).  Both
	 * called WITHOUT the lock. */
	int (*session_start)(struct meta *m, uint64_t *ret_id);
	void (*session_end)(struct meta *m);

	/* A read-only body: body(rm, arg) with rm a struct meta on which the
	 * body may call every reading op (and no write); its result is
	 * returned.  Called WITHOUT the lock; the body may run twice (first
	 * on a read connection, then again under the lock when that one
	 * could not answer for a row changed since its snapshot), so it must
	 * change nothing outside its arg and must reset what it fills.  It
	 * sees every change committed by meta_txn or a single write before
	 * the call, batched or not.  An engine without concurrent reads runs
	 * it under the lock. */
	int (*read)(struct meta *m, meta_body_fn body, void *arg);

	/* Disk space of the engine's own writes (meta_sqlite.c's top comment).
	 * reserve keeps `bytes` (rounded up to MiB) allocated beside the
	 * store; a write of the engine that finds the disk full takes its
	 * blocks instead of failing.  0 once the reserve is whole, else -errno
	 * (it stays as full as it could be made).  reserve_fill tries to make
	 * it whole again; reserve_missing says how much it lacks (0: whole);
	 * reserve_given counts the bytes given to the engine's writes since
	 * open.  pending: an estimate of the bytes the open transaction (the
	 * batch, with a commit window) will write at its commit, 0 outside. */
	int (*reserve)(struct meta *m, uint64_t bytes);
	int (*reserve_fill)(struct meta *m);
	uint64_t (*reserve_missing)(struct meta *m);
	uint64_t (*reserve_given)(struct meta *m);
	uint64_t (*pending)(struct meta *m);

	/* What the file system holds, for statfs and the metrics. */
	int (*usage)(struct meta *m, struct meta_usage *ret);
	/* The fs table: small key/value settings (fs_id, chunk_size, clean...);
	 * get: -ENOENT when missing, -ENAMETOOLONG when len is too small. */
	int (*get_kv)(struct meta *m, const char *key, char *buf, size_t len);
	int (*set_kv)(struct meta *m, const char *key, const char *value);

	/* The meter's history (schema 4): one value per metric name and
	 * minute (seconds since the epoch, a multiple of 60).  put replaces;
	 * each calls cb(minute, value, arg) for name's minutes in
	 * [from, to), oldest first (-ENOENT when the database has no history
	 * table: a schema-3 database opened read-only); prune deletes the
	 * minutes before `before`. */
	int (*metric_put)(struct meta *m, const char *name, int64_t minute, double value);
	int (*metric_each)(struct meta *m, const char *name, int64_t from, int64_t to,
			   int (*cb)(int64_t minute, double value, void *arg), void *arg);
	int (*metric_prune)(struct meta *m, int64_t before);

	/* Inodes.  inode_insert assigns in->ino (never reused). */
	int (*inode_get)(struct meta *m, uint64_t ino, struct meta_inode *ret);
	int (*inode_insert)(struct meta *m, struct meta_inode *in, const void *target,
			    size_t tlen);
	int (*inode_update)(struct meta *m, const struct meta_inode *in);
	/* Sets the size, and mtime and ctime to *mtime; with blocks other
	 * than META_BLOCKS_KEEP, records the allocated size as well (in the
	 * same statement as inode_set_blocks would). */
	int (*inode_set_size)(struct meta *m, uint64_t ino, uint64_t size,
			      const struct timespec *mtime, int64_t blocks);
	int (*inode_delete)(struct meta *m, uint64_t ino);    /* also its xattrs and chunks */
	/* Records the allocated size of ino's data (blocks -1: unknown). */
	int (*inode_set_blocks)(struct meta *m, uint64_t ino, int64_t blocks);
	int (*readlink)(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len);
	/* Calls cb for every inode with nlink 0 that no live session holds
	 * (orphans a crash left: see meta_session_alive), then forgets the
	 * sessions that are gone.  cb may delete rows. */
	int (*orphans)(struct meta *m, int (*cb)(uint64_t ino, void *arg), void *arg);
	/* Every inode with ino > after, in ino order, for fsck and the scans. */
	int (*inode_each)(struct meta *m, uint64_t after, meta_inode_cb cb, void *arg);
	/* A path of ino from the root ("/a/b", via its first entry at each
	 * level); -ENOENT unlinked, -ENAMETOOLONG, -ELOOP on a cycle. */
	int (*inode_path)(struct meta *m, uint64_t ino, char *buf, size_t len);
	/* ino's entry number nth (0 the first, in the order they were made):
	 * its directory and name (META_NAME_MAX + 1 bytes); -ENOENT past the
	 * last. */
	int (*dentry_of)(struct meta *m, uint64_t ino, unsigned nth, uint64_t *ret_parent,
			 char *ret_name);
#define META_NAME_MAX 255

	/* Directory entries.  type is the S_IFMT bits of the target; names
	 * are any bytes but '/' and NUL.  Every entry has a cookie (its
	 * readdir position), given once, kept by dentry_move. */
	int (*lookup)(struct meta *m, uint64_t parent, const char *name, uint64_t *ret_ino);
	int (*dentry_insert)(struct meta *m, uint64_t parent, const char *name, uint64_t ino,
			     uint32_t type);
	int (*dentry_delete)(struct meta *m, uint64_t parent, const char *name);
	int (*dentry_move)(struct meta *m, uint64_t parent, const char *name,
			   uint64_t newparent, const char *newname);
	/* Points an existing entry at another inode (rename over, exchange). */
	int (*dentry_retarget)(struct meta *m, uint64_t parent, const char *name, uint64_t ino,
			       uint32_t type);
	int (*dir_is_empty)(struct meta *m, uint64_t dir, bool *ret);
	/* The parent of a directory (its one entry); root is its own parent. */
	int (*dir_parent)(struct meta *m, uint64_t dir, uint64_t *ret_parent);
	/* Entries of dir with after < cookie <= upto, in cookie order; cb
	 * returns non-zero to stop (buffer full). */
	int (*readdir)(struct meta *m, uint64_t dir, uint64_t after, uint64_t upto,
		       meta_readdir_cb cb, void *arg);
	/* The highest cookie given so far (a directory stream's snapshot). */
	int (*dentry_max_cookie)(struct meta *m, uint64_t *ret);
	int (*dentry_each)(struct meta *m, meta_dentry_cb cb, void *arg);

	/* Extended attributes.  get: -ENODATA when missing, -ERANGE when len
	 * is too small (len 0 asks for the size in *ret_len).  set: flags
	 * XATTR_CREATE / XATTR_REPLACE.  list: NUL-separated names.  usage:
	 * bytes of the names (each with its NUL) and values, leaving out the
	 * one named except (may be NULL). */
	int (*xattr_get)(struct meta *m, uint64_t ino, const char *name, void *buf, size_t len,
			 size_t *ret_len);
	int (*xattr_set)(struct meta *m, uint64_t ino, const char *name, const void *val,
			 size_t len, int flags);
	int (*xattr_remove)(struct meta *m, uint64_t ino, const char *name);
	int (*xattr_list)(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len);
	int (*xattr_usage)(struct meta *m, uint64_t ino, const char *except,
			   uint64_t *ret_names, uint64_t *ret_values);

	/* The chunk map: rows for chunks whose class or access time is
	 * recorded.  A chunk without a row is STANDARD (or a hole) with the
	 * inode's mtime as its access time.  chunk_set_sha256 records the
	 * SHA-256 of a cold chunk whose row has none, if the row still names
	 * that version.  chunk_touch records an access at atime unless the
	 * recorded one is less than step older (and adds no row for an
	 * unlinked inode).  chunk_cold_count counts chunks not STANDARD;
	 * chunk_each walks the rows of ino (0: of all) in (ino, idx) order. */
	int (*chunk_get)(struct meta *m, uint64_t ino, uint64_t idx, struct meta_chunk *ret);
	int (*chunk_put)(struct meta *m, const struct meta_chunk *c);
	int (*chunk_set_sha256)(struct meta *m, uint64_t ino, uint64_t idx, uint64_t version,
				const uint8_t sha256[32]);
	int (*chunk_touch)(struct meta *m, uint64_t ino, uint64_t idx, int64_t atime,
			   int64_t step);
	int (*chunk_delete_from)(struct meta *m, uint64_t ino, uint64_t first_idx);
	int (*chunk_cold_count)(struct meta *m, uint64_t ino, uint64_t *ret);
	int (*chunk_each)(struct meta *m, uint64_t ino, meta_chunk_cb cb, void *arg);

	/* Access points (schema 4): rows as struct fs_access_point, validated
	 * by the caller (backend/fs_ap.c).  insert: -EEXIST when the id or the
	 * client token is taken.  get and by_token: -ENOENT.  next: the first
	 * after sequence number `after` (0: from the start) in creation order
	 * and its sequence number, -ENOENT past the last.  A read-only open of
	 * a schema-3 store sees none. */
	int (*ap_insert)(struct meta *m, const struct fs_access_point *ap);
	int (*ap_get)(struct meta *m, const char *id, struct fs_access_point *ret);
	int (*ap_by_token)(struct meta *m, const char *token, struct fs_access_point *ret);
	int (*ap_next)(struct meta *m, uint64_t after, struct fs_access_point *ret,
		       uint64_t *ret_seq);
	int (*ap_delete)(struct meta *m, const char *id);
	int (*ap_count)(struct meta *m, uint64_t *ret);
};

/* Every engine's struct starts with this.  ops is immutable after open;
 * report and report_arg are written before set_group turns batching on
 * (meta_set_report) and read by the engine's thread; chunk_get_fault (a
 * test knob) is written and read under the engine's lock. */
struct meta {
	const struct meta_ops *ops;
	/* Told what failed in the engine's own background work (a batch it
	 * committed by itself), one sentence; may be NULL. */
	void (*report)(const char *msg, void *arg);
	void *report_arg;
	int chunk_get_fault;       /* meta_fail_chunk_reads: a positive errno */
};

/* Installs the report callback (before meta_set_group). */
void meta_set_report(struct meta *m, void (*report)(const char *msg, void *arg), void *arg);

/* Transactions as bodies.  meta_txn takes the engine's lock, begins, runs
 * body(m, arg) and commits when it returned 0 (rolls back otherwise).  When
 * the engine reports a retryable failure (-EAGAIN: SQLite busy, a
 * serialization failure of another engine), from begin, the body or commit,
 * it runs the body again, at most META_TXN_TRIES times, then fails with
 * -EBUSY.  So a body must be re-runnable: it changes nothing outside the
 * store.  What must happen after commit (unlinking a data file, dropping an
 * inode, invalidating a cache) the body adds to the effects list
 * (meta_txn_fx), which is emptied before every attempt and after a failed
 * one; the caller applies the effects when meta_txn_fx returned 0.  A body
 * that returns a positive value is rolled back and meta_txn returns 0
 * ("nothing to change"). */
#define META_TXN_TRIES   8
#define META_EFFECTS_MAX 4
struct meta_effect {
	int what;                  /* the caller's kind of effect */
	uint64_t ino;
};
struct meta_effects {
	unsigned n;
	struct meta_effect e[META_EFFECTS_MAX];
};
int meta_txn(struct meta *m, meta_body_fn body, void *arg);
int meta_txn_fx(struct meta *m, meta_body_fn body, void *arg, struct meta_effects *fx);
/* Adds an effect; -ENOBUFS when the list is full. */
int meta_effect_add(struct meta_effects *fx, int what, uint64_t ino);

/* A mounted daemon, as the sessions table records it. */
struct meta_session {
	uint64_t id;
	char host[64];             /* /etc/machine-id, else the host name */
	char boot[40];             /* /proc/sys/kernel/random/boot_id */
	int64_t pid;
	uint64_t started;          /* the process's start (clock ticks after boot) */
	int64_t heartbeat;         /* seconds since the epoch */
};
#define META_SESSION_BEAT_S     10
/* A session of another host is gone once its heartbeat is this old. */
#define META_SESSION_TIMEOUT_S  60
/* This process's host, boot, pid and start time (id and heartbeat 0). */
int meta_session_self(struct meta_session *ret);
/* The rule of orphan cleanup: a session of this host and boot is alive
 * while a process with its pid and start time runs (not a zombie); one of
 * another boot of this host is gone; one of another host is alive while
 * its heartbeat is younger than META_SESSION_TIMEOUT_S at now. */
bool meta_session_alive(const struct meta_session *s, const struct meta_session *self,
			int64_t now);

/* meta_open flags. */
#define META_CREATE      0x1u  /* create the store; -EEXIST when one is there */
#define META_RDONLY      0x2u  /* write nothing (mount -o ro): begin is -EROFS,
                                  sync and checkpoint do nothing */
#define META_DIR_RDONLY  0x4u  /* with META_RDONLY: the store's directory is not
                                  writable (SQLite: -EROFS, err saying why, when
                                  a WAL with changes would have to be read) */

/* Opens the store named by url: "sqlite:///abs/path" (or an absolute path
 * alone: the same).  A store of an older schema is migrated on open (1 -> 2:
 * the chunk rows get their sha256; 2 -> 3: sessions; 3 -> 4: the meter's
 * history; 4 -> 5: access points; 5 -> 6: inode.blocks, unknown in the old
 * rows).  Another scheme is -EPROTONOSUPPORT; err names the cause on
 * every failure. */
int meta_open(const char *url, unsigned flags, struct meta **ret, char *err, size_t errlen);
void meta_close(struct meta *m);

/* Dispatchers: each calls the op of its name (see struct meta_ops). */
const char *meta_errmsg(struct meta *m);
int meta_begin(struct meta *m);
int meta_commit(struct meta *m);
void meta_rollback(struct meta *m);
/* Ends the transaction: commits when r is 0, else rolls back; returns the result. */
int meta_finish(struct meta *m, int r);
int meta_sync(struct meta *m);
int meta_set_group(struct meta *m, int64_t window_ns);
void meta_lock(struct meta *m);
void meta_unlock(struct meta *m);
int meta_flush(struct meta *m);
bool meta_broken(struct meta *m);
int meta_checkpoint(struct meta *m);
int meta_integrity(struct meta *m, char *err, size_t errlen);
int meta_session_start(struct meta *m, uint64_t *ret_id);
void meta_session_end(struct meta *m);
int meta_read(struct meta *m, meta_body_fn body, void *arg);
int meta_reserve(struct meta *m, uint64_t bytes);
int meta_reserve_fill(struct meta *m);
uint64_t meta_reserve_missing(struct meta *m);
uint64_t meta_reserve_given(struct meta *m);
uint64_t meta_pending(struct meta *m);
int meta_usage(struct meta *m, struct meta_usage *ret);
int meta_get_kv(struct meta *m, const char *key, char *buf, size_t len);
int meta_set_kv(struct meta *m, const char *key, const char *value);
int meta_metric_put(struct meta *m, const char *name, int64_t minute, double value);
int meta_metric_each(struct meta *m, const char *name, int64_t from, int64_t to,
		     int (*cb)(int64_t minute, double value, void *arg), void *arg);
int meta_metric_prune(struct meta *m, int64_t before);
int meta_inode_get(struct meta *m, uint64_t ino, struct meta_inode *ret);
int meta_inode_insert(struct meta *m, struct meta_inode *in, const void *target, size_t tlen);
int meta_inode_update(struct meta *m, const struct meta_inode *in);
int meta_inode_set_size(struct meta *m, uint64_t ino, uint64_t size, const struct timespec *mtime,
			int64_t blocks);
int meta_inode_delete(struct meta *m, uint64_t ino);
int meta_inode_set_blocks(struct meta *m, uint64_t ino, int64_t blocks);
int meta_readlink(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len);
int meta_orphans(struct meta *m, int (*cb)(uint64_t ino, void *arg), void *arg);
int meta_inode_each(struct meta *m, uint64_t after, meta_inode_cb cb, void *arg);
int meta_inode_path(struct meta *m, uint64_t ino, char *buf, size_t len);
int meta_dentry_of(struct meta *m, uint64_t ino, unsigned nth, uint64_t *ret_parent,
		   char *ret_name);
int meta_lookup(struct meta *m, uint64_t parent, const char *name, uint64_t *ret_ino);
int meta_dentry_insert(struct meta *m, uint64_t parent, const char *name, uint64_t ino, uint32_t type);
int meta_dentry_delete(struct meta *m, uint64_t parent, const char *name);
int meta_dentry_move(struct meta *m, uint64_t parent, const char *name,
                     uint64_t newparent, const char *newname);
int meta_dentry_retarget(struct meta *m, uint64_t parent, const char *name, uint64_t ino, uint32_t type);
int meta_dir_is_empty(struct meta *m, uint64_t dir, bool *ret);
int meta_dir_parent(struct meta *m, uint64_t dir, uint64_t *ret_parent);
int meta_readdir(struct meta *m, uint64_t dir, uint64_t after, uint64_t upto, meta_readdir_cb cb,
		 void *arg);
int meta_dentry_max_cookie(struct meta *m, uint64_t *ret);
int meta_dentry_each(struct meta *m, meta_dentry_cb cb, void *arg);
int meta_xattr_get(struct meta *m, uint64_t ino, const char *name, void *buf, size_t len,
                   size_t *ret_len);
int meta_xattr_set(struct meta *m, uint64_t ino, const char *name, const void *val, size_t len,
                   int flags);
int meta_xattr_remove(struct meta *m, uint64_t ino, const char *name);
int meta_xattr_list(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len);
int meta_xattr_usage(struct meta *m, uint64_t ino, const char *except, uint64_t *ret_names,
		     uint64_t *ret_values);
int meta_chunk_get(struct meta *m, uint64_t ino, uint64_t idx, struct meta_chunk *ret);
/* Fault injection for tests: while err (a positive errno) is not 0, every
 * meta_chunk_get() fails with -err, as a failing disk or database would. */
void meta_fail_chunk_reads(struct meta *m, int err);
int meta_chunk_put(struct meta *m, const struct meta_chunk *c);
int meta_chunk_set_sha256(struct meta *m, uint64_t ino, uint64_t idx, uint64_t version,
                          const uint8_t sha256[32]);
int meta_chunk_touch(struct meta *m, uint64_t ino, uint64_t idx, int64_t atime, int64_t step);
int meta_chunk_delete_from(struct meta *m, uint64_t ino, uint64_t first_idx);
int meta_chunk_cold_count(struct meta *m, uint64_t ino, uint64_t *ret);
int meta_chunk_each(struct meta *m, uint64_t ino, meta_chunk_cb cb, void *arg);

int meta_ap_insert(struct meta *m, const struct fs_access_point *ap);
int meta_ap_get(struct meta *m, const char *id, struct fs_access_point *ret);
int meta_ap_by_token(struct meta *m, const char *token, struct fs_access_point *ret);
int meta_ap_next(struct meta *m, uint64_t after, struct fs_access_point *ret, uint64_t *ret_seq);
int meta_ap_delete(struct meta *m, const char *id);
int meta_ap_count(struct meta *m, uint64_t *ret);

void meta_inode_to_stat(const struct meta_inode *in, struct stat *st);

#endif
