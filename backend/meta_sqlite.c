/* meta_sqlite.c - the SQLite metadata engine (sqlite:///path; see meta.h for
 * the ops contract it fills).
 *
 * Schema (version META_SCHEMA):
 *
 *   fs(key TEXT PRIMARY KEY, value TEXT)          settings: fs_id, chunk_size, ...
 *   inode(ino INTEGER PRIMARY KEY AUTOINCREMENT,  one row per inode; nlink 0 rows
 *         mode, uid, gid, nlink, size, rdev,      are open-unlinked files, removed
 *         atime_s, atime_ns, mtime_s, ...,        on last close or at next mount
 *         target BLOB, blocks)                    symlink target; blocks (schema 6):
 *                                                 allocated 512-byte blocks of the
 *                                                 backing file, NULL unknown
 *   dentry(id INTEGER PRIMARY KEY AUTOINCREMENT,  id is the readdir cookie, never reused: a rename
 *          parent, name BLOB, ino, type,          keeps it, so a directory listing
 *          UNIQUE(parent, name))                  never returns an entry twice
 *   xattr(ino, name BLOB, value BLOB)
 *   session(id, host, boot, pid, started,    one row per mounted read-write daemon
 *           heartbeat)                       (schema 3): machine id, boot id, pid and
 *                                            its start time (clock ticks after boot),
 *                                            heartbeat in seconds since the epoch;
 *                                            inode.session names the session that
 *                                            holds an nlink 0 inode (0: none)
 *   access_point(seq, id, client_token,      one row per access point (schema 5):
 *     created, uid, gid, secondary_gids,     PosixUser (secondary gids as "1,2,3"),
 *     path, creation, owner_uid,             RootDirectory with CreationInfo when
 *     owner_gid, permissions)                creation is 1; seq is the creation order
 *   access_point_tag(ap, pos, key, value)    its tags, ap = access_point.seq
 *   chunk(ino, idx, class, atime,            storage class and last access of a
 *         stored_len, plain_len, version,    chunk; version names its object,
 *         sha256 BLOB)                       sha256 is its object header's hash
 *                                            (schema 2): the plaintext's SHA-256
 *                                            for object formats 1 and 2, the
 *                                            chunk hash over the frames' for
 *                                            format 3 (store/codec.h); NULL for
 *                                            STANDARD and in cold rows schema 1
 *                                            wrote, until filled in
 *
 *   metric(name TEXT, minute INTEGER, value REAL) the meter's one-minute
 *                                            datapoints (schema 4), kept >= 15
 *                                            days by the meter's pruning
 *
 * Migrations run at open (meta_sqlite_open), each in one transaction: 1 -> 2
 * adds chunk.sha256; 2 -> 3 adds the session table and inode.session (0 in
 * the old rows: an orphan of no session, removed at the next mount as
 * before); 3 -> 4 adds the metric table (empty); 4 -> 5 adds the access
 * point tables (empty).  A read-only open of an older store reads it as it
 * is (meta_sql_2ro, meta_sql_4ro): no history, no access points; 5 -> 6
 * adds inode.blocks (NULL in the old rows: unknown), and a read-only open
 * of an older store sees every allocated size unknown (meta_sql_5ro).
 *
 * Names are BLOBs: a file name is any bytes but '/' and NUL, with no
 * encoding.  Every statement is prepared once at open.
 *
 * Disk space.  With group commit the kernel has been told that the
 * operations of the open group are done, so its COMMIT must not fail for
 * want of space; and SQLite rolls the whole transaction back when a write
 * of the WAL fails (at COMMIT, or a page spilled from the cache), so there
 * is nothing left to retry afterwards.  Hence space is made certain before
 * an operation is acknowledged, not hoped for at commit:
 *  - every file SQLite writes goes through a VFS shim (the `vfs` of struct
 *    meta, over the default VFS).  A write that fails with SQLITE_FULL takes
 *    blocks from the reserve, a file PATH-reserve of meta_reserve() bytes
 *    allocated beforehand, by cutting it 1 MiB at a time, and is tried
 *    again; SQLite never sees the full disk while the reserve lasts;
 *  - the open transaction's size is estimated (meta_pending: four pages per
 *    inserting statement, one per update or delete, plus the bytes of its
 *    blobs), and a group is committed early once that reaches
 *    META_GROUP_BYTES, so that a group and the checkpoint copying it into
 *    the database fit in the reserve;
 *  - the caller (backend/fs_*.c) admits an operation that grows the metadata
 *    only while the free space less meta_pending() is above a floor (lower
 *    for root), and only while the reserve is whole (meta_reserve_missing;
 *    it refills it first when space came back).  Operations that shrink the
 *    metadata (unlink, removexattr) are always admitted: they write a few
 *    pages that the reserve covers.
 * A commit that fails all the same (the reserve used up by another writer
 * of the disk, an I/O error) and that SQLite rolled back marks the store
 * broken as before; the operation whose commit failed gets the error.
 *
 * The read path (meta_read).  One connection writes (the struct sq that
 * meta_open returns, under its lock); read-only bodies run on read
 * connections instead, up to META_READERS of them, each a struct sq of its
 * own (owner set) taken from a pool, in a read transaction of WAL mode
 * that takes no lock of the writer's: a lookup or a getattr waits neither
 * for a create in progress nor for the group's commit.  (So the database
 * is in WAL's normal locking mode: exclusive mode keeps the WAL index in
 * the writer's memory, where no other connection can read it.)
 * What a read sees: a read connection sees what was COMMITted, not the
 * open group of the commit window, whose operations the kernel has been
 * told are done; a read must still see them (POSIX read-after-write).
 * So the writer counts its commits (commit_gen), and before every change
 * it marks the change's key (the inode whose row, entries, xattrs or
 * chunks change) in dirty[] with the number the open group will get when
 * it commits (commit_gen + 1).  A read takes commit_gen before its
 * snapshot (which therefore holds every group up to it); each reading op
 * on a read connection checks its key (stale()): a key marked by a later
 * group may have changes the snapshot lacks, and the whole body then runs
 * again on the writer, under the lock, where the open group is visible.
 * The read transaction begins at the first key found fresh, so a body
 * whose first key is stale costs the read connection no BEGIN or COMMIT.
 * Ops without one key (usage, the walks, the highest cookie) check
 * dirty_all, the last group that changed anything.  dirty[] is a hash:
 * two keys in one slot share the later group, so a collision only sends a
 * read to the writer needlessly.  Rows of a rolled-back operation stay
 * marked; that too only costs a read on the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backend/meta.h"
#include "backend/meta_i.h"

enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
	ST_KV_GET, ST_KV_SET,
	ST_INODE_GET, ST_INODE_INSERT, ST_INODE_UPDATE, ST_INODE_SIZE, ST_INODE_SIZE_BLOCKS,
	ST_INODE_DELETE,
	ST_INODE_DEL_XATTR, ST_INODE_DEL_CHUNKS, ST_READLINK, ST_ORPHANS, ST_INODE_EACH,
	ST_LOOKUP, ST_DENTRY_INSERT, ST_DENTRY_DELETE, ST_DENTRY_MOVE, ST_DENTRY_RETARGET,
	ST_DIR_EMPTY, ST_DIR_PARENT, ST_READDIR, ST_MAX_COOKIE, ST_DENTRY_EACH,
	ST_XATTR_GET, ST_XATTR_INSERT, ST_XATTR_REPLACE, ST_XATTR_UPSERT, ST_XATTR_REMOVE,
	ST_XATTR_LIST, ST_XATTR_USAGE,
	ST_CHUNK_GET, ST_CHUNK_PUT, ST_CHUNK_SET_SHA, ST_CHUNK_TOUCH, ST_CHUNK_DEL_FROM,
	ST_CHUNK_COLD, ST_CHUNK_EACH,
	ST_CHUNK_EACH_ALL, ST_USAGE_FILES, ST_USAGE_CLASS, ST_DENTRY_OF, ST_DENTRY_NTH,
	ST_SESSION_INSERT, ST_SESSION_BEAT, ST_SESSION_DELETE, ST_SESSION_EACH,
	ST_AP_INSERT, ST_AP_TAG_INSERT, ST_AP_GET, ST_AP_BY_TOKEN, ST_AP_NEXT, ST_AP_TAGS,
	ST_AP_DELETE_TAGS, ST_AP_DELETE, ST_AP_COUNT,
	ST_BEGIN_READ, ST_INODE_SET_BLOCKS,
	ST__COUNT
};

/* The columns row_to_ap reads, in its order. */
#define META_AP_COLUMNS "seq, id, client_token, created, uid, gid, secondary_gids, path, " \
			"creation, owner_uid, owner_gid, permissions"

static const char *const meta_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT op",
	[ST_RELEASE] = "RELEASE op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO op",
	[ST_KV_GET] = "SELECT value FROM fs WHERE key = ?1",
	[ST_KV_SET] = "INSERT INTO fs(key, value) VALUES (?1, ?2) "
		      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[ST_INODE_GET] = "SELECT mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, mtime_s, "
			 "mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, blocks FROM inode "
			 "WHERE ino = ?1",
	/* schema 6: the backing file's allocated 512-byte blocks, NULL unknown */
	[ST_INODE_SET_BLOCKS] = "UPDATE inode SET blocks = ?2 WHERE ino = ?1",
	/* an inode without links records the session holding it (schema 3) */
	[ST_INODE_INSERT] = "INSERT INTO inode(mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, "
			    "mtime_s, mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, target, "
			    "session, blocks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
			    "?13, ?14, ?15, CASE WHEN ?4 = 0 THEN ?16 ELSE 0 END, 0)",
	[ST_INODE_UPDATE] = "UPDATE inode SET mode = ?1, uid = ?2, gid = ?3, nlink = ?4, size = ?5, "
			    "rdev = ?6, atime_s = ?7, atime_ns = ?8, mtime_s = ?9, mtime_ns = ?10, "
			    "ctime_s = ?11, ctime_ns = ?12, "
			    "session = CASE WHEN ?4 = 0 THEN ?16 ELSE 0 END WHERE ino = ?15",
	[ST_INODE_SIZE] = "UPDATE inode SET size = ?2, mtime_s = ?3, mtime_ns = ?4, ctime_s = ?3, "
			  "ctime_ns = ?4 WHERE ino = ?1",
	[ST_INODE_SIZE_BLOCKS] = "UPDATE inode SET size = ?2, mtime_s = ?3, mtime_ns = ?4, "
				 "ctime_s = ?3, ctime_ns = ?4, blocks = ?5 WHERE ino = ?1",
	[ST_INODE_DELETE] = "DELETE FROM inode WHERE ino = ?1",
	[ST_INODE_DEL_XATTR] = "DELETE FROM xattr WHERE ino = ?1",
	[ST_INODE_DEL_CHUNKS] = "DELETE FROM chunk WHERE ino = ?1",
	[ST_READLINK] = "SELECT target FROM inode WHERE ino = ?1",
	[ST_ORPHANS] = "SELECT ino, session FROM inode WHERE nlink = 0",
	[ST_INODE_EACH] = "SELECT mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, mtime_s, "
			  "mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, blocks, ino FROM inode "
			  "WHERE ino > ?1 ORDER BY ino",
	[ST_LOOKUP] = "SELECT ino FROM dentry WHERE parent = ?1 AND name = ?2",
	[ST_DENTRY_INSERT] = "INSERT INTO dentry(parent, name, ino, type) VALUES (?1, ?2, ?3, ?4)",
	[ST_DENTRY_DELETE] = "DELETE FROM dentry WHERE parent = ?1 AND name = ?2",
	[ST_DENTRY_MOVE] = "UPDATE dentry SET parent = ?3, name = ?4 WHERE parent = ?1 AND name = ?2",
	[ST_DENTRY_RETARGET] = "UPDATE dentry SET ino = ?3, type = ?4 WHERE parent = ?1 AND name = ?2",
	[ST_DIR_EMPTY] = "SELECT 1 FROM dentry WHERE parent = ?1 LIMIT 1",
	[ST_DIR_PARENT] = "SELECT parent FROM dentry WHERE ino = ?1 LIMIT 1",
	[ST_READDIR] = "SELECT name, ino, type, id FROM dentry WHERE parent = ?1 AND id > ?2 "
		       "AND id <= ?3 ORDER BY id",
	[ST_MAX_COOKIE] = "SELECT max(id) FROM dentry",
	[ST_DENTRY_EACH] = "SELECT parent, name, ino, type FROM dentry",
	[ST_XATTR_GET] = "SELECT value FROM xattr WHERE ino = ?1 AND name = ?2",
	[ST_XATTR_INSERT] = "INSERT INTO xattr(ino, name, value) VALUES (?1, ?2, ?3)",
	[ST_XATTR_REPLACE] = "UPDATE xattr SET value = ?3 WHERE ino = ?1 AND name = ?2",
	[ST_XATTR_UPSERT] = "INSERT INTO xattr(ino, name, value) VALUES (?1, ?2, ?3) "
			    "ON CONFLICT(ino, name) DO UPDATE SET value = excluded.value",
	[ST_XATTR_REMOVE] = "DELETE FROM xattr WHERE ino = ?1 AND name = ?2",
	[ST_XATTR_LIST] = "SELECT name FROM xattr WHERE ino = ?1 ORDER BY name",
	[ST_XATTR_USAGE] = "SELECT total(length(name) + 1), total(length(value)) FROM xattr "
			   "WHERE ino = ?1 AND name != ?2",
	[ST_CHUNK_GET] = "SELECT class, atime, stored_len, plain_len, version, sha256 FROM chunk "
			 "WHERE ino = ?1 AND idx = ?2",
	[ST_CHUNK_PUT] = "INSERT INTO chunk(ino, idx, class, atime, stored_len, plain_len, "
			 "version, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
			 "ON CONFLICT(ino, idx) DO UPDATE SET "
			 "class = excluded.class, atime = excluded.atime, "
			 "stored_len = excluded.stored_len, plain_len = excluded.plain_len, "
			 "version = excluded.version, sha256 = excluded.sha256",
	[ST_CHUNK_SET_SHA] = "UPDATE chunk SET sha256 = ?4 WHERE ino = ?1 AND idx = ?2 AND "
			     "version = ?3 AND class != 0 AND sha256 IS NULL",
	/* relatime-style: an access moves atime only when it is `step` newer */
	/* (an access noted before its file was deleted adds no row) */
	[ST_CHUNK_TOUCH] = "INSERT INTO chunk(ino, idx, class, atime, stored_len, plain_len) "
			   "SELECT ?1, ?2, 0, ?3, 0, 0 WHERE EXISTS "
			   "(SELECT 1 FROM inode WHERE ino = ?1 AND nlink > 0) "
			   "ON CONFLICT(ino, idx) DO UPDATE SET "
			   "atime = excluded.atime WHERE excluded.atime >= atime + ?4",
	[ST_USAGE_FILES] = "SELECT count(*), total(size) FROM inode WHERE nlink > 0",
	[ST_USAGE_CLASS] = "SELECT class, count(*), total(plain_len), total(stored_len) FROM chunk "
			   "WHERE class != 0 GROUP BY class",
	[ST_CHUNK_DEL_FROM] = "DELETE FROM chunk WHERE ino = ?1 AND idx >= ?2",
	[ST_CHUNK_COLD] = "SELECT count(*) FROM chunk WHERE ino = ?1 AND class != 0",
	[ST_CHUNK_EACH] = "SELECT ino, idx, class, atime, stored_len, plain_len, version, sha256 "
			  "FROM chunk WHERE ino = ?1 ORDER BY idx",
	[ST_CHUNK_EACH_ALL] = "SELECT ino, idx, class, atime, stored_len, plain_len, version, "
			      "sha256 FROM chunk ORDER BY ino, idx",
	[ST_DENTRY_OF] = "SELECT parent, name FROM dentry WHERE ino = ?1 ORDER BY id LIMIT 1",
	[ST_DENTRY_NTH] = "SELECT parent, name FROM dentry WHERE ino = ?1 ORDER BY id LIMIT 1 "
			  "OFFSET ?2",
	[ST_SESSION_INSERT] = "INSERT INTO session(host, boot, pid, started, heartbeat) "
			      "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_SESSION_BEAT] = "UPDATE session SET heartbeat = ?2 WHERE id = ?1",
	[ST_SESSION_DELETE] = "DELETE FROM session WHERE id = ?1",
	[ST_SESSION_EACH] = "SELECT id, host, boot, pid, started, heartbeat FROM session",
	[ST_AP_INSERT] = "INSERT INTO access_point(id, client_token, created, uid, gid, "
			 "secondary_gids, path, creation, owner_uid, owner_gid, permissions) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_AP_TAG_INSERT] = "INSERT INTO access_point_tag(ap, pos, key, value) "
			     "VALUES (?1, ?2, ?3, ?4)",
	[ST_AP_GET] = "SELECT " META_AP_COLUMNS " FROM access_point WHERE id = ?1",
	[ST_AP_BY_TOKEN] = "SELECT " META_AP_COLUMNS " FROM access_point WHERE client_token = ?1",
	[ST_AP_NEXT] = "SELECT " META_AP_COLUMNS " FROM access_point WHERE seq > ?1 "
		       "ORDER BY seq LIMIT 1",
	[ST_AP_TAGS] = "SELECT key, value FROM access_point_tag WHERE ap = ?1 ORDER BY pos",
	[ST_AP_DELETE_TAGS] = "DELETE FROM access_point_tag WHERE ap = "
			      "(SELECT seq FROM access_point WHERE id = ?1)",
	[ST_AP_DELETE] = "DELETE FROM access_point WHERE id = ?1",
	[ST_AP_COUNT] = "SELECT count(*) FROM access_point",
	[ST_BEGIN_READ] = "BEGIN",            /* a read connection's snapshot (sq_read) */
};

/* A read-only open of a schema-2 database (made before sessions) cannot
 * migrate it, and must still open, as it did before schema 3 (mount -o ro,
 * efsfs info, a read-only snapshot): these stand in for the statements
 * that name what schema 3 added.  Reads see no session (orphans hold
 * session 0, the sessions table is empty); the writes are never stepped
 * (a read-only engine refuses them with -EROFS first), so they are no-ops
 * that take the same parameters. */
#define ST_NOOP_16 "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, " \
		   "?16 WHERE 0"
static const char *const meta_sql_2ro[ST__COUNT] = {
	[ST_INODE_INSERT] = ST_NOOP_16,
	[ST_INODE_UPDATE] = ST_NOOP_16,
	[ST_ORPHANS] = "SELECT ino, 0 FROM inode WHERE nlink = 0",
	[ST_SESSION_INSERT] = "SELECT ?1, ?2, ?3, ?4, ?5 WHERE 0",
	[ST_SESSION_BEAT] = "SELECT ?1, ?2 WHERE 0",
	[ST_SESSION_DELETE] = "SELECT ?1 WHERE 0",
	[ST_SESSION_EACH] = "SELECT 0, '', '', 0, 0, 0 WHERE 0",
};

/* A read-only open of a schema-3 or 4 database (made before access points)
 * reads it as it is, as meta_sql_2ro does for schema 2: no access point,
 * and the writes never stepped. */
#define ST_AP_NONE "SELECT 0, '', NULL, 0, 0, 0, '', '', 0, 0, 0, 0 WHERE 0 AND ?1"
static const char *const meta_sql_4ro[ST__COUNT] = {
	[ST_AP_INSERT] = "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE 0",
	[ST_AP_TAG_INSERT] = "SELECT ?1, ?2, ?3, ?4 WHERE 0",
	[ST_AP_GET] = ST_AP_NONE,
	[ST_AP_BY_TOKEN] = ST_AP_NONE,
	[ST_AP_NEXT] = ST_AP_NONE,
	[ST_AP_TAGS] = "SELECT '', '' WHERE 0 AND ?1",
	[ST_AP_DELETE_TAGS] = "SELECT ?1 WHERE 0",
	[ST_AP_DELETE] = "SELECT ?1 WHERE 0",
	[ST_AP_COUNT] = "SELECT 0",
};

/* Schema 5: access points (backend/fs_ap.c) and their tags. */
#define META_AP_TABLES \
	"CREATE TABLE IF NOT EXISTS access_point (seq INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  id TEXT NOT NULL UNIQUE, client_token TEXT UNIQUE, created INTEGER NOT NULL," \
	"  uid INTEGER NOT NULL, gid INTEGER NOT NULL, secondary_gids TEXT NOT NULL," \
	"  path TEXT NOT NULL, creation INTEGER NOT NULL, owner_uid INTEGER NOT NULL," \
	"  owner_gid INTEGER NOT NULL, permissions INTEGER NOT NULL);" \
	"CREATE TABLE IF NOT EXISTS access_point_tag (ap INTEGER NOT NULL," \
	"  pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL," \
	"  PRIMARY KEY (ap, pos)) WITHOUT ROWID;"

/* A read-only open of a database older than schema 6: no blocks column,
 * so every inode's allocated size is unknown (the caller asks the backing
 * file, as before schema 6). */
static const char *const meta_sql_5ro[ST__COUNT] = {
	[ST_INODE_GET] = "SELECT mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, mtime_s, "
			 "mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, NULL FROM inode "
			 "WHERE ino = ?1",
	[ST_INODE_EACH] = "SELECT mode, uid, gid, nlink, size, rdev, atime_s, atime_ns, mtime_s, "
			  "mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, NULL, ino FROM inode "
			  "WHERE ino > ?1 ORDER BY ino",
	[ST_INODE_INSERT] = ST_NOOP_16,
	[ST_INODE_SET_BLOCKS] = "SELECT ?1, ?2 WHERE 0",
	[ST_INODE_SIZE_BLOCKS] = "SELECT ?1, ?2, ?3, ?4, ?5 WHERE 0",
};

/* Schema 3: one row per mounted read-write daemon (sq_session_start). */
#define META_SESSION_TABLE \
	"CREATE TABLE IF NOT EXISTS session (id INTEGER PRIMARY KEY AUTOINCREMENT," \
	"  host TEXT NOT NULL, boot TEXT NOT NULL, pid INTEGER NOT NULL," \
	"  started INTEGER NOT NULL, heartbeat INTEGER NOT NULL);"

/* Schema 4: the meter's history (sq_metric_*). */
#define META_METRIC_TABLE \
	"CREATE TABLE IF NOT EXISTS metric (name TEXT NOT NULL, minute INTEGER NOT NULL," \
	"  value REAL NOT NULL, PRIMARY KEY (name, minute)) WITHOUT ROWID;" \
	"CREATE INDEX IF NOT EXISTS metric_minute ON metric(minute);"

static const char meta_schema[] =
	"CREATE TABLE fs (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE inode ("
	"  ino INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	"  nlink INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT 0, rdev INTEGER NOT NULL DEFAULT 0,"
	"  atime_s INTEGER NOT NULL, atime_ns INTEGER NOT NULL,"
	"  mtime_s INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
	"  ctime_s INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
	"  btime_s INTEGER NOT NULL, btime_ns INTEGER NOT NULL,"
	"  target BLOB, session INTEGER NOT NULL DEFAULT 0, blocks INTEGER);"
	"CREATE INDEX inode_orphan ON inode(nlink) WHERE nlink = 0;"
	"CREATE TABLE dentry ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  parent INTEGER NOT NULL, name BLOB NOT NULL, ino INTEGER NOT NULL, type INTEGER NOT NULL,"
	"  UNIQUE (parent, name));"
	"CREATE INDEX dentry_ino ON dentry(ino);"
	"CREATE INDEX dentry_parent_id ON dentry(parent, id);"
	"CREATE TABLE xattr (ino INTEGER NOT NULL, name BLOB NOT NULL, value BLOB NOT NULL,"
	"  PRIMARY KEY (ino, name)) WITHOUT ROWID;"
	"CREATE TABLE chunk (ino INTEGER NOT NULL, idx INTEGER NOT NULL, class INTEGER NOT NULL,"
	"  atime INTEGER NOT NULL, stored_len INTEGER NOT NULL, plain_len INTEGER NOT NULL,"
	"  version INTEGER NOT NULL DEFAULT 0, sha256 BLOB,"
	"  PRIMARY KEY (ino, idx)) WITHOUT ROWID;"
	"CREATE INDEX chunk_cold ON chunk(class) WHERE class != 0;"
	META_SESSION_TABLE
	META_METRIC_TABLE
	META_AP_TABLES;

/* The read path: META_READERS read connections, opened with the writer;
 * the key table of changes since a reader's snapshot, a hash of
 * META_DIRTY_SLOTS (a power of two) entries. */
#define META_READERS      4
#define META_DIRTY_SLOTS  4096

/* The engine's state.  Every field is written and read under lock (the
 * engine's mutex, taken by meta_lock and meta_txn; the VFS shim runs inside
 * SQLite calls, so under it too), but for those set at open and immutable
 * after (lock, db, st, vfs, inner, vfs_name, reserve_path, read_only) and
 * committer_on (see there). */
struct sq {
	struct meta base;             /* first: struct meta * is struct sq * */
	/* Recursive, so that a transaction (meta_txn) may run inside a hold
	 * of the caller's (a read before it, a flush after it). */
	pthread_mutex_t lock;
	sqlite3 *db;                  /* opened NOMUTEX: lock serialises it */
	sqlite3_stmt *st[ST__COUNT];  /* prepared at open */

	/* The reserve (meta_reserve): a file of reserve_want bytes beside the
	 * database whose blocks a write that finds the disk full takes (see
	 * the top comment).  Every SQLite file of this store goes through
	 * vfs, our shim over the default VFS, registered under vfs_name. */
	sqlite3_vfs vfs, *inner;
	char vfs_name[40];
	char *reserve_path;
	int reserve_fd;               /* -1 when none */
	uint64_t reserve_want, reserve_held;
	uint64_t reserve_given;       /* bytes given to SQLite writes so far (stats, tests) */
	/* Bytes the open transaction may still write (meta_pending): an
	 * estimate per write statement; next_bytes are the blob bytes bound
	 * to the statement being prepared. */
	uint64_t pending, next_bytes;
	bool in_op;                   /* between meta_begin and its commit or rollback */

	/* Group commit (meta_set_group): operations are savepoints inside one
	 * transaction that is committed after group_ns or META_GROUP_OPS. */
	int64_t group_ns;             /* 0: each transaction commits */
	bool outer;                   /* the group's transaction is open */
	int64_t outer_since;          /* CLOCK_MONOTONIC ns when it began */
	unsigned outer_ops;
	bool broken;                  /* a group was lost: refuse writes */
	bool read_only;               /* META_RDONLY: writes are -EROFS, syncs no-ops;
	                                 immutable after open */
	bool schema_5ro;              /* a read-only open of schema 5 or older (meta_sql_5ro);
	                                 immutable after open */

	/* The committer thread (set_group with a window): commits the open
	 * group when it is due, waking on commit_cond (CLOCK_MONOTONIC) when
	 * unlock finds a group newly opened.  committer_on is written under
	 * lock by set_group and close (which never run concurrently, and read
	 * it without lock) and read under lock; the rest written and read
	 * under lock. */
	pthread_t committer;
	pthread_cond_t commit_cond;
	bool committer_on, committer_idle, committer_stop;

	/* This process's session (session_start; 0: none) and when its
	 * heartbeat is due next (CLOCK_MONOTONIC ns): renewed by the committer
	 * thread while group commit is on, else by the first unlock after it
	 * is due (beat_if_due), so that no thread of the engine's own ever
	 * runs while group commit is off.  Both written and read under lock. */
	uint64_t session_id;
	int64_t beat_due;

	/* The read path (sq_read; the design is in the top comment).  Of the
	 * writer: path, readers_on immutable after open; commit_gen, dirty[]
	 * and dirty_all atomics, written under lock (by the writer only) and
	 * read without it; the pool (free, nfree, nreaders) under pool_lock.
	 * Of a read connection: owner immutable; snap_gen, in_snap and
	 * need_writer written and read by the one thread that took it from
	 * the pool. */
	char *path;
	bool readers_on;
	atomic_uint_fast64_t commit_gen;  /* groups (or transactions) committed */
	atomic_uint_fast64_t dirty[META_DIRTY_SLOTS];  /* by key: last group that
	                                                  changed its rows */
	atomic_uint_fast64_t dirty_all;   /* the last group that changed anything */
	pthread_mutex_t pool_lock;
	struct sq *free[META_READERS];
	unsigned nfree, nreaders;     /* nreaders: opened, immutable after open */
	struct sq *owner;             /* a read connection: the writer's engine */
	uint64_t snap_gen;            /* commit_gen when its read began */
	bool need_writer;             /* it met a row changed since: run on the writer */
	bool in_snap;                 /* its read transaction has begun (stale) */
};

/* The engine's operations (the ops table at the end). */
static int sq_reserve(struct meta *mm, uint64_t bytes);
static int sq_reserve_fill(struct meta *mm);
static uint64_t sq_reserve_missing(struct meta *mm);
static uint64_t sq_reserve_given(struct meta *mm);
static uint64_t sq_pending(struct meta *mm);
static void sq_close(struct meta *mm);
static const char *sq_errmsg(struct meta *mm);
static int sq_set_group(struct meta *mm, int64_t window_ns);
static void sq_lock(struct meta *mm);
static void sq_unlock(struct meta *mm);
static int sq_flush(struct meta *mm);
static bool sq_broken(struct meta *mm);
static int sq_begin(struct meta *mm);
static int sq_commit(struct meta *mm);
static void sq_rollback(struct meta *mm);
static int sq_sync(struct meta *mm);
static int sq_checkpoint(struct meta *mm);
static int sq_get_kv(struct meta *mm, const char *key, char *buf, size_t len);
static int sq_set_kv(struct meta *mm, const char *key, const char *value);
static int sq_metric_put(struct meta *mm, const char *name, int64_t minute, double value);
static int sq_metric_each(struct meta *mm, const char *name, int64_t from, int64_t to,
			  int (*cb)(int64_t minute, double value, void *arg), void *arg);
static int sq_metric_prune(struct meta *mm, int64_t before);
static int sq_inode_get(struct meta *mm, uint64_t ino, struct meta_inode *ret);
static int sq_inode_insert(struct meta *mm, struct meta_inode *in, const void *target, size_t tlen);
static int sq_inode_update(struct meta *mm, const struct meta_inode *in);
static int sq_inode_set_size(struct meta *mm, uint64_t ino, uint64_t size,
			     const struct timespec *mtime, int64_t blocks);
static int sq_inode_delete(struct meta *mm, uint64_t ino);
static int sq_readlink(struct meta *mm, uint64_t ino, char *buf, size_t len, size_t *ret_len);
static int sq_orphans(struct meta *mm, int (*cb)(uint64_t ino, void *arg), void *arg);
static int sq_inode_each(struct meta *mm, uint64_t after, meta_inode_cb cb, void *arg);
static int sq_lookup(struct meta *mm, uint64_t parent, const char *name, uint64_t *ret_ino);
static int sq_dentry_insert(struct meta *mm, uint64_t parent, const char *name, uint64_t ino, uint32_t type);
static int sq_dentry_delete(struct meta *mm, uint64_t parent, const char *name);
static int sq_dentry_move(struct meta *mm, uint64_t parent, const char *name,
		     uint64_t newparent, const char *newname);
static int sq_dentry_retarget(struct meta *mm, uint64_t parent, const char *name, uint64_t ino, uint32_t type);
static int sq_dir_is_empty(struct meta *mm, uint64_t dir, bool *ret);
static int sq_dir_parent(struct meta *mm, uint64_t dir, uint64_t *ret_parent);
static int sq_readdir(struct meta *mm, uint64_t dir, uint64_t after, uint64_t upto, meta_readdir_cb cb,
		 void *arg);
static int sq_dentry_max_cookie(struct meta *mm, uint64_t *ret);
static int sq_dentry_each(struct meta *mm, meta_dentry_cb cb, void *arg);
static int sq_xattr_get(struct meta *mm, uint64_t ino, const char *name, void *buf, size_t len,
		   size_t *ret_len);
static int sq_xattr_set(struct meta *mm, uint64_t ino, const char *name, const void *val, size_t len,
		   int flags);
static int sq_xattr_remove(struct meta *mm, uint64_t ino, const char *name);
static int sq_xattr_list(struct meta *mm, uint64_t ino, char *buf, size_t len, size_t *ret_len);
static int sq_xattr_usage(struct meta *mm, uint64_t ino, const char *except, uint64_t *ret_names,
		     uint64_t *ret_values);
static int sq_chunk_get(struct meta *mm, uint64_t ino, uint64_t idx, struct meta_chunk *ret);
static int sq_chunk_put(struct meta *mm, const struct meta_chunk *c);
static int sq_chunk_set_sha256(struct meta *mm, uint64_t ino, uint64_t idx, uint64_t version,
			  const uint8_t sha256[32]);
static int sq_inode_path(struct meta *mm, uint64_t ino, char *buf, size_t len);
static int sq_dentry_of(struct meta *mm, uint64_t ino, unsigned nth, uint64_t *ret_parent,
			char *ret_name);
static int sq_chunk_touch(struct meta *mm, uint64_t ino, uint64_t idx, int64_t atime, int64_t step);
static int sq_usage(struct meta *mm, struct meta_usage *ret);
static int sq_chunk_delete_from(struct meta *mm, uint64_t ino, uint64_t first_idx);
static int sq_chunk_cold_count(struct meta *mm, uint64_t ino, uint64_t *ret);
static int sq_chunk_each(struct meta *mm, uint64_t ino, meta_chunk_cb cb, void *arg);
static int sq_integrity(struct meta *mm, char *err, size_t errlen);
static int sq_session_start(struct meta *mm, uint64_t *ret_id);
static void sq_session_end(struct meta *mm);
static int sq_ap_insert(struct meta *mm, const struct fs_access_point *ap);
static int sq_ap_get(struct meta *mm, const char *id, struct fs_access_point *ret);
static int sq_ap_by_token(struct meta *mm, const char *token, struct fs_access_point *ret);
static int sq_ap_next(struct meta *mm, uint64_t after, struct fs_access_point *ret,
		      uint64_t *ret_seq);
static int sq_ap_delete(struct meta *mm, const char *id);
static int sq_ap_count(struct meta *mm, uint64_t *ret);
static int sq_read(struct meta *mm, meta_body_fn body, void *arg);
static const struct meta_ops sqlite_ops;

#define META_GROUP_OPS 1000
/* A group is committed once its estimated size reaches this (see the top
 * comment); with the default reserve of 8 MiB, the group's WAL frames and
 * their checkpoint into the database fit twice over. */
#define META_GROUP_BYTES  (2ull << 20)
/* Estimated bytes of pages an inserting statement dirties: its row, index
 * entries and the occasional split (an UPDATE or DELETE counts one page). */
#define META_STMT_BYTES   (4 * 4096)
#define META_RESERVE_STEP (1ull << 20)

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int group_open(struct sq *m);
static void committer_stop(struct sq *m);
static void beat_if_due(struct sq *m);
static struct sq *reader_open(struct sq *w);
static int open_db(const char *path, bool create, const char *ro_query, struct meta **ret,
		   char *err, size_t errlen);

/* Maps an SQLite result code to a negative errno. */
static int meta_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
		return -EAGAIN;   /* another connection holds the database: retryable */
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* Takes the prepared statement for id, reset and with no bindings. */
static sqlite3_stmt *meta_stmt(struct sq *m, int id)
{
	sqlite3_stmt *s = m->st[id];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	m->next_bytes = 0;
	return s;
}

/* Steps a statement once and resets it. */
static int meta_step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : meta_errno(rc);
}

/* ---- the read path's key table (see the top comment) ---- */

static unsigned dirty_slot(uint64_t key)
{
	return (unsigned)((key * 0x9E3779B97F4A7C15ull) >> 52) & (META_DIRTY_SLOTS - 1);
}

/* The writer is about to change rows of key (an inode: its row, its
 * entries as a directory, its xattrs, its chunks): readers whose snapshot
 * is older than the group this change joins must not answer for key.
 * Lock held. */
static void dirty_mark(struct sq *m, uint64_t key)
{
	uint64_t g;

	if (!m->readers_on)
		return;
	g = atomic_load(&m->commit_gen) + 1;     /* the open group (or transaction) */
	if (atomic_load(&m->dirty[dirty_slot(key)]) < g)
		atomic_store(&m->dirty[dirty_slot(key)], g);
	if (atomic_load(&m->dirty_all) < g)
		atomic_store(&m->dirty_all, g);
}

/* On a read connection: true (and the read goes to the writer, see
 * sq_read) when rows of key (0: of anything) may have changed since its
 * snapshot; false on the writer. */
static bool stale(struct sq *m, uint64_t key)
{
	uint64_t g;

	if (!m->owner)
		return false;
	g = key ? atomic_load(&m->owner->dirty[dirty_slot(key)])
		: atomic_load(&m->owner->dirty_all);
	if (g > m->snap_gen) {
		m->need_writer = true;
		return true;
	}
	/* The read transaction begins with the first row that will be read
	 * here: a body whose first key is stale (the parent of a create in
	 * the open group, say) goes to the writer without one. */
	if (!m->in_snap) {
		if (meta_step(meta_stmt(m, ST_BEGIN_READ)) < 0) {
			m->need_writer = true;
			return true;
		}
		m->in_snap = true;
	}
	return false;
}

/* After a statement of the writer: outside a transaction, everything
 * marked so far is committed (or rolled back, and then in no snapshot). */
static void committed(struct sq *m)
{
	if (m->readers_on && sqlite3_get_autocommit(m->db) &&
	    atomic_load(&m->dirty_all) > atomic_load(&m->commit_gen))
		atomic_store(&m->commit_gen, atomic_load(&m->dirty_all));
}

/* Runs a statement that returns no rows. */
static int meta_exec_stmt(struct sq *m, sqlite3_stmt *s)
{
	bool write = !sqlite3_stmt_readonly(s);
	int r;

	/* a write outside meta_begin joins the group rather than commit alone */
	if (m->group_ns && sqlite3_get_autocommit(m->db) && write) {
		r = group_open(m);
		if (r < 0)
			return r;
	}
	if (write) {
		/* an update or delete rewrites the pages of one row in place */
		const char *sql = sqlite3_sql(s);
		bool in_place = sql && (strncmp(sql, "UPDATE", 6) == 0 || strncmp(sql, "DELETE", 6) == 0);

		m->pending += (in_place ? 4096 : META_STMT_BYTES) + m->next_bytes + m->next_bytes / 16;
	}
	m->next_bytes = 0;
	r = meta_step(s);
	committed(m);
	/* such a write is an operation of its own: the group cap applies */
	if (!r && write && m->outer && !m->in_op && m->pending >= META_GROUP_BYTES)
		sq_flush(&m->base);
	return r;
}

static int meta_exec(struct sq *m, const char *sql)
{
	return meta_errno(sqlite3_exec(m->db, sql, NULL, NULL, NULL));
}

/* Binds a blob of a write statement, counting it for meta_pending. */
static void bind_blob(struct sq *m, sqlite3_stmt *s, int col, const void *p, size_t n)
{
	m->next_bytes += n;
	sqlite3_bind_blob(s, col, p, (int)n, SQLITE_STATIC);
}

static void bind_name(sqlite3_stmt *s, int col, const char *name)
{
	sqlite3_bind_blob(s, col, name, (int)strlen(name), SQLITE_STATIC);
}

/* true when the database has a table of that name */
static bool meta_has_table(struct sq *m, const char *name)
{
	sqlite3_stmt *s;
	bool yes = false;

	if (sqlite3_prepare_v2(m->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
			       "name = ?1", -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	yes = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return yes;
}

/* Schema 1 -> 2: cold chunk rows get the SHA-256 of their plaintext.  The
 * old rows' column is NULL: their objects (format 1) are verified against
 * their own header's SHA-256 only, until tier/ records the hash at the
 * chunk's first verified read (or fsck --deep --repair does), or the chunk
 * moves and gets a new row. */
static int migrate_1_to_2(struct sq *m)
{
	int r = meta_exec(m, "BEGIN IMMEDIATE");

	if (!r)
		r = meta_exec(m, "ALTER TABLE chunk ADD COLUMN sha256 BLOB;"
				 "PRAGMA user_version = 2;");
	if (!r)
		return meta_exec(m, "COMMIT");
	meta_exec(m, "ROLLBACK");
	return r;
}

/* true when table has a column of that name */
static bool meta_has_column(struct sq *m, const char *table, const char *column)
{
	sqlite3_stmt *s;
	bool yes = false;

	if (sqlite3_prepare_v2(m->db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1,
			       &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, column, -1, SQLITE_STATIC);
	yes = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return yes;
}

/* The migrations after schema 2, each run in one transaction of its own
 * by migrate_step: sql (tables), then the column (when not there yet),
 * then user_version = to.
 *   3: the session table and inode.session (0 in the old rows: an orphan
 *      of no session, removed at the next mount as before);
 *   4: the meter's history table, empty;
 *   5: access points, none yet;
 *   6: inode.blocks, the allocated size of a regular file's backing file
 *      in 512-byte blocks, so that a stat needs no stat of the backing
 *      file; NULL in the old rows: unknown, asked of the backing file until
 *      the file's next close records it. */
struct migration {
	int to;
	const char *sql;              /* or NULL */
	const char *table, *column, *decl;   /* a column to add, or NULL */
};
static const struct migration migrations[] = {
	{ 3, META_SESSION_TABLE, "inode", "session", "INTEGER NOT NULL DEFAULT 0" },
	{ 4, META_METRIC_TABLE, NULL, NULL, NULL },
	{ 5, META_AP_TABLES, NULL, NULL, NULL },
	{ 6, NULL, "inode", "blocks", "INTEGER" },
};

static int migrate_step(struct sq *m, const struct migration *g, char *msg, size_t len)
{
	char sql[256];
	int r = meta_exec(m, "BEGIN IMMEDIATE");

	if (!r && g->sql)
		r = meta_exec(m, g->sql);
	if (!r && g->column && !meta_has_column(m, g->table, g->column)) {
		snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", g->table, g->column,
			 g->decl);
		r = meta_exec(m, sql);
	}
	if (!r) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", g->to);
		r = meta_exec(m, sql);
	}
	if (!r)
		r = meta_exec(m, "COMMIT");
	if (!r)
		return 0;
	/* the cause, before ROLLBACK replaces SQLite's message with its own */
	snprintf(msg, len, "%s", sqlite3_errmsg(m->db));
	meta_exec(m, "ROLLBACK");
	return r;
}

/* ---- the VFS shim and the reserve (see the top comment) ---- */

/* A file opened through the shim: the inner VFS's file follows it.  Set by
 * the shim's open and immutable after; SQLite calls its methods under the
 * engine's lock. */
struct shim_file {
	sqlite3_file base;
	struct sq *m;
	sqlite3_file *real;
};

/* Gives SQLite up to `want` bytes of the reserve (at least a step) by
 * cutting the reserve file; false when there is nothing left to give. */
static bool reserve_give(struct sq *m, uint64_t want)
{
	uint64_t step = want < META_RESERVE_STEP ? META_RESERVE_STEP :
			(want + META_RESERVE_STEP - 1) / META_RESERVE_STEP * META_RESERVE_STEP;

	if (m->reserve_fd < 0 || m->reserve_held == 0)
		return false;
	if (step > m->reserve_held)
		step = m->reserve_held;
	if (ftruncate(m->reserve_fd, (off_t)(m->reserve_held - step)) < 0)
		return false;
	m->reserve_held -= step;
	m->reserve_given += step;
	return true;
}

static sqlite3_file *shim_real(sqlite3_file *f)
{
	return ((struct shim_file *)f)->real;
}

static int shim_close(sqlite3_file *f)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xClose(r);
}

static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xRead(r, buf, n, off);
}

/* The one method that is more than a relay: a full disk takes the reserve. */
static int shim_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	struct shim_file *sf = (struct shim_file *)f;
	int rc;

	for (;;) {
		rc = sf->real->pMethods->xWrite(sf->real, buf, n, off);
		if ((rc & 0xff) != SQLITE_FULL || !reserve_give(sf->m, (uint64_t)n))
			return rc;
	}
}

static int shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xTruncate(r, size);
}

static int shim_sync(sqlite3_file *f, int flags)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xSync(r, flags);
}

static int shim_file_size(sqlite3_file *f, sqlite3_int64 *ret)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xFileSize(r, ret);
}

static int shim_lock(sqlite3_file *f, int level)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xLock(r, level);
}

static int shim_unlock(sqlite3_file *f, int level)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xUnlock(r, level);
}

static int shim_check_lock(sqlite3_file *f, int *ret)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xCheckReservedLock(r, ret);
}

static int shim_file_control(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xFileControl(r, op, arg);
}

static int shim_sector_size(sqlite3_file *f)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xSectorSize(r);
}

static int shim_device_chars(sqlite3_file *f)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xDeviceCharacteristics(r);
}

static int shim_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **ret)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xShmMap(r, pg, pgsz, extend, ret);
}

static int shim_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xShmLock(r, off, n, flags);
}

static void shim_shm_barrier(sqlite3_file *f)
{
	sqlite3_file *r = shim_real(f);

	r->pMethods->xShmBarrier(r);
}

static int shim_shm_unmap(sqlite3_file *f, int del)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xShmUnmap(r, del);
}

static int shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **ret)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xFetch(r, off, n, ret);
}

static int shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = shim_real(f);

	return r->pMethods->xUnfetch(r, off, p);
}

static const sqlite3_io_methods shim_io = {
	.iVersion = 3,
	.xClose = shim_close,
	.xRead = shim_read,
	.xWrite = shim_write,
	.xTruncate = shim_truncate,
	.xSync = shim_sync,
	.xFileSize = shim_file_size,
	.xLock = shim_lock,
	.xUnlock = shim_unlock,
	.xCheckReservedLock = shim_check_lock,
	.xFileControl = shim_file_control,
	.xSectorSize = shim_sector_size,
	.xDeviceCharacteristics = shim_device_chars,
	.xShmMap = shim_shm_map,
	.xShmLock = shim_shm_lock,
	.xShmBarrier = shim_shm_barrier,
	.xShmUnmap = shim_shm_unmap,
	.xFetch = shim_fetch,
	.xUnfetch = shim_unfetch,
};

static int shim_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		     int *ret_flags)
{
	struct sq *m = vfs->pAppData;
	struct shim_file *sf = (struct shim_file *)f;
	int rc;

	sf->m = m;
	sf->real = (sqlite3_file *)(sf + 1);
	sf->real->pMethods = NULL;
	rc = m->inner->xOpen(m->inner, name, sf->real, flags, ret_flags);
	/* the shim relays version 3 methods (WAL, mmap); SQLite closes only a
	 * file whose pMethods is set, so a failed open is closed here */
	if (rc == SQLITE_OK && (!sf->real->pMethods || sf->real->pMethods->iVersion < 3))
		rc = SQLITE_CANTOPEN;
	if (rc != SQLITE_OK) {
		if (sf->real->pMethods)
			sf->real->pMethods->xClose(sf->real);
		sf->base.pMethods = NULL;
		return rc;
	}
	sf->base.pMethods = &shim_io;
	return SQLITE_OK;
}

static int shim_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	struct sq *m = vfs->pAppData;

	return m->inner->xDelete(m->inner, name, sync);
}

static int shim_access(sqlite3_vfs *vfs, const char *name, int flags, int *ret)
{
	struct sq *m = vfs->pAppData;

	return m->inner->xAccess(m->inner, name, flags, ret);
}

static int shim_full_path(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	struct sq *m = vfs->pAppData;

	return m->inner->xFullPathname(m->inner, name, n, out);
}

static int shim_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	struct sq *m = vfs->pAppData;

	return m->inner->xRandomness(m->inner, n, out);
}

static int shim_sleep(sqlite3_vfs *vfs, int us)
{
	struct sq *m = vfs->pAppData;

	return m->inner->xSleep(m->inner, us);
}

static int shim_time(sqlite3_vfs *vfs, double *ret)
{
	struct sq *m = vfs->pAppData;

	return m->inner->xCurrentTime(m->inner, ret);
}

static int shim_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	struct sq *m = vfs->pAppData;

	return m->inner->xGetLastError ? m->inner->xGetLastError(m->inner, n, out) : 0;
}

static int shim_time64(sqlite3_vfs *vfs, sqlite3_int64 *ret)
{
	struct sq *m = vfs->pAppData;

	double d;
	int rc;

	if (m->inner->iVersion >= 2 && m->inner->xCurrentTimeInt64)
		return m->inner->xCurrentTimeInt64(m->inner, ret);
	rc = m->inner->xCurrentTime(m->inner, &d);
	*ret = (sqlite3_int64)(d * 86400000.0);
	return rc;
}

/* Registers m's own VFS (its pAppData is m) over the default one. */
static int shim_register(struct sq *m)
{
	m->inner = sqlite3_vfs_find(NULL);
	if (!m->inner)
		return -ENOSYS;
	snprintf(m->vfs_name, sizeof(m->vfs_name), "efsfs-%p", (void *)m);
	m->vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct shim_file) + m->inner->szOsFile,
		.mxPathname = m->inner->mxPathname,
		.zName = m->vfs_name,
		.pAppData = m,
		.xOpen = shim_open,
		.xDelete = shim_delete,
		.xAccess = shim_access,
		.xFullPathname = shim_full_path,
		.xRandomness = shim_randomness,
		.xSleep = shim_sleep,
		.xCurrentTime = shim_time,
		.xGetLastError = shim_last_error,
		.xCurrentTimeInt64 = shim_time64,
	};
	return meta_errno(sqlite3_vfs_register(&m->vfs, 0));
}

static int sq_reserve(struct meta *mm, uint64_t bytes)
{
	struct sq *m = (struct sq *)mm;

	m->reserve_want = (bytes + META_RESERVE_STEP - 1) / META_RESERVE_STEP * META_RESERVE_STEP;
	return sq_reserve_fill(&m->base);
}

/* Allocates the step at off of the reserve file: fallocate, or zeros where
 * the file system has no fallocate. */
static int reserve_step(int fd, off_t off)
{
	static const char zeros[65536];

	if (fallocate(fd, 0, off, (off_t)META_RESERVE_STEP) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	for (off_t done = 0; done < (off_t)META_RESERVE_STEP; done += (off_t)sizeof(zeros)) {
		if (pwrite(fd, zeros, sizeof(zeros), off + done) != (ssize_t)sizeof(zeros))
			return errno ? -errno : -ENOSPC;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int reserve_open(struct sq *m)
{
	struct stat st;

	m->reserve_fd = open(m->reserve_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (m->reserve_fd < 0)
		return -errno;
	/* what a previous mount left is ours already */
	if (fstat(m->reserve_fd, &st) == 0)
		m->reserve_held = (uint64_t)st.st_size / META_RESERVE_STEP * META_RESERVE_STEP;
	return 0;
}

static int sq_reserve_fill(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;
	int r = 0;

	if (m->reserve_fd < 0 && (!m->reserve_want || (r = reserve_open(m)) < 0))
		return r;
	while (m->reserve_held < m->reserve_want) {
		/* allocated blocks, not a sparse length: they must be there to give */
		r = reserve_step(m->reserve_fd, (off_t)m->reserve_held);
		if (r < 0)
			break;
		m->reserve_held += META_RESERVE_STEP;
	}
	if (m->reserve_held > m->reserve_want) {
		m->reserve_held = m->reserve_want;
		r = 0;
	}
	/* a failed step may have allocated part of itself: drop that */
	if (ftruncate(m->reserve_fd, (off_t)m->reserve_held) < 0 && !r)
		r = -errno;
	return r;
}

static uint64_t sq_reserve_missing(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	return m->reserve_want - m->reserve_held;
}

static uint64_t sq_reserve_given(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	return m->reserve_given;
}

static uint64_t sq_pending(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	return sqlite3_get_autocommit(m->db) ? 0 : m->pending;
}

/* "file:" URI for path with a query (mode=ro, immutable=1); NULL when
 * out of memory. */
static char *ro_uri(const char *path, const char *query)
{
	size_t n = strlen(path), used = 5;
	char *u = malloc(5 + 3 * n + 1 + strlen(query) + 1);

	if (!u)
		return NULL;
	memcpy(u, "file:", 5);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._-~", *p))
			u[used++] = (char)*p;
		else
			used += (size_t)sprintf(u + used, "%%%02X", *p);
	}
	sprintf(u + used, "?%s", query);
	return u;
}

static int open_db(const char *path, bool create, const char *ro_query, struct meta **ret,
		   char *err, size_t errlen)
{
	struct stat st;
	struct sq *m;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	bool schema_2ro = false, schema_4ro = false, schema_5ro = false;
	char *uri = NULL;
	int rc, r;

	if (create && access(path, F_OK) == 0) {
		snprintf(err, errlen, "%s: a database exists already", path);
		return -EEXIST;
	}
	/* SQLite would take an empty file for an empty database and write
	 * a header into it */
	if (!create && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
		snprintf(err, errlen, "%s: not an efsfs metadata database (the file is empty; "
			 "'efsfs mkfs' creates one)", path);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->reserve_fd = -1;
	pthread_mutex_init(&m->pool_lock, NULL);
	m->path = strdup(path);
	if (!m->path || asprintf(&m->reserve_path, "%s-reserve", path) < 0) {
		free(m->path);
		pthread_mutex_destroy(&m->pool_lock);
		free(m);
		return -ENOMEM;
	}
	{
		pthread_mutexattr_t ma;

		pthread_mutexattr_init(&ma);
		pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&m->lock, &ma);
		pthread_mutexattr_destroy(&ma);
	}
	r = shim_register(m);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot register the SQLite VFS shim", path);
		free(m->reserve_path);
		free(m->path);
		pthread_mutex_destroy(&m->pool_lock);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return r;
	}
	if (ro_query) {
		uri = ro_uri(path, ro_query);
		if (!uri) {
			sqlite3_vfs_unregister(&m->vfs);
			free(m->reserve_path);
			free(m->path);
			pthread_mutex_destroy(&m->pool_lock);
			pthread_mutex_destroy(&m->lock);
			free(m);
			return -ENOMEM;
		}
		flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
		m->read_only = true;
	}
	rc = sqlite3_open_v2(uri ? uri : path, &m->db, flags, m->vfs_name);
	free(uri);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, m->db ? sqlite3_errmsg(m->db) : "out of memory");
		r = meta_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(m->db, 1);
	sqlite3_busy_timeout(m->db, 5000);
	if (m->read_only)
		r = meta_exec(m, "PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536;"
				 "PRAGMA temp_store = MEMORY;");
	else
		r = meta_exec(m, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
				 "PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536;"
				 "PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 1000;");
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(m->db));
		goto fail;
	}
	if (create) {
		char buf[32];

		snprintf(buf, sizeof(buf), "PRAGMA user_version = %d;", META_SCHEMA);
		r = meta_exec(m, "BEGIN");
		if (!r)
			r = meta_exec(m, meta_schema);
		if (!r)
			r = meta_exec(m, buf);
		if (!r)
			r = meta_exec(m, "COMMIT");
		if (r < 0) {
			snprintf(err, errlen, "%s: creating schema: %s", path, sqlite3_errmsg(m->db));
			goto fail;
		}
	} else {
		sqlite3_stmt *s;
		int version = -1;

		rc = sqlite3_prepare_v2(m->db, "PRAGMA user_version", -1, &s, NULL);
		if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
			version = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
		if (version == 1) {
			r = migrate_1_to_2(m);
			if (r < 0) {
				snprintf(err, errlen, "%s: migrating metadata schema 1 to 2: %s",
					 path, sqlite3_errmsg(m->db));
				goto fail;
			}
			version = 2;
		}
		if (version >= 2 && version < META_SCHEMA && m->read_only) {
			/* read as it is: what later schemas added has stand-ins */
			schema_2ro = version == 2;          /* meta_sql_2ro: no sessions */
			schema_4ro = version <= 4;          /* meta_sql_4ro: no access points */
			schema_5ro = version <= 5;          /* meta_sql_5ro: sizes unknown */
			version = META_SCHEMA;              /* (no metric table: no history) */
		}
		for (size_t k = 0; k < sizeof(migrations) / sizeof(migrations[0]); k++) {
			char why[256];

			if (version < 2 || migrations[k].to != version + 1)
				continue;
			r = migrate_step(m, &migrations[k], why, sizeof(why));
			if (r < 0) {
				snprintf(err, errlen, "%s: migrating metadata schema %d to %d: %s",
					 path, version, version + 1, why);
				goto fail;
			}
			version++;
		}
		if (version != META_SCHEMA) {
			r = -EINVAL;
			if (version == 0 && !meta_has_table(m, "fs"))
				snprintf(err, errlen, "%s: not an efsfs metadata database (no efsfs "
					 "tables in it; 'efsfs mkfs' creates one)", path);
			else
				snprintf(err, errlen, "%s: metadata schema version %d, this efsfs "
					 "reads %d", path, version, META_SCHEMA);
			goto fail;
		}
	}
	for (int i = 0; i < ST__COUNT; i++) {
		const char *sql = meta_sql[i];

		if (schema_2ro && meta_sql_2ro[i])
			sql = meta_sql_2ro[i];
		else if (schema_4ro && meta_sql_4ro[i])
			sql = meta_sql_4ro[i];
		else if (schema_5ro && meta_sql_5ro[i])
			sql = meta_sql_5ro[i];
		rc = sqlite3_prepare_v3(m->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &m->st[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statement %d: %s", path, i,
				 sqlite3_errmsg(m->db));
			r = meta_errno(rc);
			goto fail;
		}
	}
	m->schema_5ro = schema_5ro;
	m->base.ops = &sqlite_ops;
	/* read connections need the WAL's shared index: a writable open.
	 * All are opened now, so that the descriptors the engine holds do not
	 * grow later; one that cannot be opened is one fewer. */
	if (!m->read_only) {
		while (m->nfree < META_READERS) {
			struct sq *rd = reader_open(m);

			if (!rd)
				break;
			m->free[m->nfree++] = rd;
		}
		m->nreaders = m->nfree;
		m->readers_on = m->nreaders > 0;
	}
	*ret = &m->base;
	return 0;
fail:
	sq_close(&m->base);
	return r < 0 ? r : -EIO;
}

static void sq_close(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	if (!m)
		return;
	/* every read connection is back in the pool: no operation runs */
	for (unsigned i = 0; i < m->nfree; i++)
		sq_close(&m->free[i]->base);
	committer_stop(m);
	sq_session_end(&m->base);
	sq_flush(&m->base);
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(m->st[i]);
	sqlite3_close(m->db);
	sqlite3_vfs_unregister(&m->vfs);
	if (m->reserve_fd >= 0)
		close(m->reserve_fd);
	free(m->reserve_path);
	free(m->path);
	pthread_mutex_destroy(&m->pool_lock);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- the read path (see the top comment) ---- */

/* A read connection of w's database: read-only, no shim (it writes
 * nothing), its own page cache; NULL when it cannot be opened. */
static struct sq *reader_open(struct sq *w)
{
	struct sq *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->reserve_fd = -1;
	m->read_only = true;
	m->owner = w;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->pool_lock, NULL);
	if (sqlite3_open_v2(w->path, &m->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(m->db, 1);
	sqlite3_busy_timeout(m->db, 5000);
	if (meta_exec(m, "PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;"
		      "PRAGMA query_only = 1;") < 0)
		goto fail;
	for (int i = 0; i < ST__COUNT; i++)
		if (sqlite3_prepare_v3(m->db, meta_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &m->st[i],
				       NULL) != SQLITE_OK)
			goto fail;
	m->base.ops = &sqlite_ops;
	return m;
fail:
	sq_close(&m->base);
	return NULL;
}

/* A read connection from the pool; NULL when all are busy (the read then
 * goes to the writer). */
static struct sq *reader_take(struct sq *w)
{
	struct sq *m = NULL;

	pthread_mutex_lock(&w->pool_lock);
	if (w->nfree)
		m = w->free[--w->nfree];
	pthread_mutex_unlock(&w->pool_lock);
	return m;
}

static void reader_give(struct sq *w, struct sq *m)
{
	pthread_mutex_lock(&w->pool_lock);
	w->free[w->nfree++] = m;
	pthread_mutex_unlock(&w->pool_lock);
}

/* meta_read: body on a read connection, in one read transaction whose
 * snapshot is at least as new as commit_gen read before it; when the body
 * met a key changed since (stale()), or SQLite was busy, it runs again on
 * the writer, under the lock, where it sees the open group too. */
static int sq_read(struct meta *mm, meta_body_fn body, void *arg)
{
	struct sq *m = (struct sq *)mm, *rd;
	bool again;
	int r;

	if (m->readers_on && (rd = reader_take(m))) {
		rd->need_writer = false;
		rd->in_snap = false;
		rd->snap_gen = atomic_load(&m->commit_gen);
		r = body(&rd->base, arg);      /* stale() begins the snapshot */
		if (rd->in_snap)
			meta_step(meta_stmt(rd, ST_COMMIT));     /* ends it */
		again = rd->need_writer || r == -EAGAIN;
		reader_give(m, rd);
		if (!again)
			return r;
	}
	sq_lock(mm);
	r = body(mm, arg);
	sq_unlock(mm);
	return r;
}

static const char *sq_errmsg(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	return sqlite3_errmsg(m->db);
}

static int group_open(struct sq *m)
{
	int r;

	if (m->broken)
		return -EIO;
	/* not meta_exec_stmt: BEGIN IMMEDIATE is no read-only statement */
	r = meta_step(meta_stmt(m, ST_BEGIN));
	if (r < 0)
		return r;
	m->outer = true;
	m->outer_since = mono_ns();
	m->outer_ops = 0;
	m->pending = 0;
	return 0;
}

static void sq_lock(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	pthread_mutex_lock(&m->lock);
}

/* Renews the session's heartbeat when it is due and no operation is open
 * (a single write: it joins the group with group commit); lock held.  A
 * failure is reported and tried again at the next beat. */
static void beat_if_due(struct sq *m)
{
	sqlite3_stmt *s;
	char msg[512];
	int r;

	if (!m->session_id || m->broken || m->in_op || mono_ns() < m->beat_due)
		return;
	if (!m->outer && !sqlite3_get_autocommit(m->db))
		return;           /* inside a caller's own transaction */
	m->beat_due = mono_ns() + (int64_t)META_SESSION_BEAT_S * 1000000000;
	dirty_mark(m, 0);
	s = meta_stmt(m, ST_SESSION_BEAT);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)m->session_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
	r = meta_exec_stmt(m, s);
	if (r < 0 && m->base.report) {
		snprintf(msg, sizeof(msg), "renewing the session's heartbeat: %s (%s)",
			 strerror(-r), sqlite3_errmsg(m->db));
		m->base.report(msg, m->base.report_arg);
	}
}

static void sq_unlock(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	if (!m->committer_on)
		beat_if_due(m);
	if (m->committer_on && m->committer_idle && m->outer) {
		m->committer_idle = false;          /* a group opened: time it */
		pthread_cond_signal(&m->commit_cond);
	}
	pthread_mutex_unlock(&m->lock);
}

/* Commits the open group when it is due; a failure leaves it open and is
 * tried again 100 ms later, and is reported (m->base.report) first. */
static void *committer_main(void *arg)
{
	struct sq *m = arg;
	struct timespec ts;
	int64_t due, retry = 0;
	char msg[1024];
	int r;

	pthread_mutex_lock(&m->lock);
	while (!m->committer_stop) {
		beat_if_due(m);
		due = m->outer ? m->outer_since + m->group_ns : 0;
		if (due == 0 || m->broken) {
			/* no group to time: wait for one, or for the next beat */
			m->committer_idle = true;
			if (!m->session_id || m->broken) {
				pthread_cond_wait(&m->commit_cond, &m->lock);
			} else {
				ts.tv_sec = m->beat_due / 1000000000;
				ts.tv_nsec = m->beat_due % 1000000000;
				pthread_cond_timedwait(&m->commit_cond, &m->lock, &ts);
			}
			continue;
		}
		if (due < retry)
			due = retry;
		if (mono_ns() >= due) {
			r = sq_flush(&m->base);
			if (r < 0) {
				retry = mono_ns() + 100000000;
				snprintf(msg, sizeof(msg), "committing metadata: %s (%s)%s",
					 strerror(-r), sqlite3_errmsg(m->db),
					 m->broken ? "; the operations of the last moments are "
						     "lost and changes are refused until the next "
						     "mount" : "");
				if (m->base.report)
					m->base.report(msg, m->base.report_arg);
			}
			continue;
		}
		ts.tv_sec = due / 1000000000;
		ts.tv_nsec = due % 1000000000;
		pthread_cond_timedwait(&m->commit_cond, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static void committer_stop(struct sq *m)
{
	if (!m->committer_on)
		return;
	pthread_mutex_lock(&m->lock);
	m->committer_stop = true;
	pthread_cond_signal(&m->commit_cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->committer, NULL);
	pthread_mutex_lock(&m->lock);
	m->committer_on = false;
	pthread_mutex_unlock(&m->lock);
	pthread_cond_destroy(&m->commit_cond);
}

/* Group commit on (window_ns > 0, with its committer thread) or off
 * (committing what is open).  Called without the lock. */
static int sq_set_group(struct meta *mm, int64_t window_ns)
{
	struct sq *m = (struct sq *)mm;
	pthread_condattr_t ca;
	int r;

	if (window_ns <= 0) {
		committer_stop(m);
		pthread_mutex_lock(&m->lock);
		sq_flush(&m->base);
		m->group_ns = 0;
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	pthread_mutex_lock(&m->lock);
	m->group_ns = window_ns;
	pthread_mutex_unlock(&m->lock);
	if (m->committer_on)
		return 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->commit_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&m->lock);
	m->committer_idle = false;
	m->committer_stop = false;
	r = pthread_create(&m->committer, NULL, committer_main, m);
	if (r) {
		sq_flush(&m->base);
		m->group_ns = 0;
	} else {
		m->committer_on = true;
	}
	pthread_mutex_unlock(&m->lock);
	if (r)
		pthread_cond_destroy(&m->commit_cond);
	return -r;
}

static int sq_flush(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;
	int r;

	if (!m->outer)
		return m->broken ? -EIO : 0;
	r = meta_exec_stmt(m, meta_stmt(m, ST_COMMIT));
	if (r == 0) {
		m->outer = false;
		return 0;
	}
	if (sqlite3_get_autocommit(m->db)) {
		/* SQLite rolled the group back (disk full, I/O error): what the
		 * kernel was told is done is not in the database.  Refuse every
		 * change from now on; a remount starts from what is. */
		m->outer = false;
		m->broken = true;
		return r;
	}
	return r;             /* still open: the next flush tries again */
}

static bool sq_broken(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	return m->broken;
}

static int sq_begin(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;
	int r;

	if (m->read_only)
		return -EROFS;
	if (m->broken)
		return -EIO;     /* also once group commit is off again (unmount) */
	if (!m->group_ns) {
		if (sqlite3_get_autocommit(m->db))
			m->pending = 0;
		r = meta_exec_stmt(m, meta_stmt(m, ST_BEGIN));
	} else if (!m->outer && (r = group_open(m)) < 0) {
		return r;
	} else {
		r = meta_exec_stmt(m, meta_stmt(m, ST_SAVEPOINT));
	}
	if (r == 0)
		m->in_op = true;
	return r;
}

static int sq_commit(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;
	int r;

	m->in_op = false;
	if (!m->outer) {
		r = meta_exec_stmt(m, meta_stmt(m, ST_COMMIT));
		if (r < 0)
			sq_rollback(&m->base);
		return r;
	}
	r = meta_exec_stmt(m, meta_stmt(m, ST_RELEASE));
	if (r < 0) {
		sq_rollback(&m->base);
		return r;
	}
	/* The operation is in the group.  A flush that fails but leaves the
	 * group open is retried by the next one (fsync reports it); one that
	 * lost the group fails this operation, which nobody was told of yet. */
	if (++m->outer_ops >= META_GROUP_OPS || m->pending >= META_GROUP_BYTES ||
	    mono_ns() - m->outer_since >= m->group_ns) {
		r = sq_flush(&m->base);
		if (r < 0 && m->broken)
			return r;
	}
	return 0;
}

static void sq_rollback(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	m->in_op = false;
	if (sqlite3_get_autocommit(m->db))
		return;
	if (m->outer) {
		/* undo this operation only; the group goes on */
		meta_exec_stmt(m, meta_stmt(m, ST_ROLLBACK_TO));
		meta_exec_stmt(m, meta_stmt(m, ST_RELEASE));
		return;
	}
	meta_exec_stmt(m, meta_stmt(m, ST_ROLLBACK));
}

/* A commit with synchronous = FULL syncs the WAL, and with it every frame
 * committed before. */
static int sq_sync(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;
	int r;

	if (m->read_only)
		return 0;         /* nothing was written */
	/* the safety level cannot change inside a transaction: commit the
	 * group first, then one small commit that syncs the WAL with it */
	r = sq_flush(&m->base);
	if (r < 0)
		return r;
	r = meta_exec(m, "PRAGMA synchronous = FULL");
	if (r < 0)
		return r;
	r = group_open(m);
	if (!r) {
		sq_set_kv(&m->base, "last_sync", "1");   /* a commit with no change syncs nothing */
		r = sq_flush(&m->base);
	}
	meta_exec(m, "PRAGMA synchronous = NORMAL");
	return r;
}

static int sq_checkpoint(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;
	int r = sq_flush(&m->base);

	if (m->read_only)
		return 0;
	if (r < 0)
		return r;
	return meta_exec(m, "PRAGMA wal_checkpoint(TRUNCATE)");
}

static int sq_get_kv(struct meta *mm, const char *key, char *buf, size_t len)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_KV_GET);
	int rc, r = -ENOENT;

	if (stale(m, 0))
		return -EAGAIN;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 0);

		r = snprintf(buf, len, "%s", v ? v : "") >= (int)len ? -ENAMETOOLONG : 0;
	} else if (rc != SQLITE_DONE) {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	return r;
}

static int sq_set_kv(struct meta *mm, const char *key, const char *value)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_KV_SET);

	dirty_mark(m, 0);

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	return meta_exec_stmt(m, s);
}

/* The meter's history: prepared per call (once a minute, or a query), not
 * at open, so that a schema-3 database opened read-only (no metric table)
 * opens as before. */
static int metric_prepare(struct sq *m, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(m->db, sql, -1, ret, NULL);

	if (rc == SQLITE_ERROR && !meta_has_table(m, "metric"))
		return -ENOENT;
	return rc == SQLITE_OK ? 0 : meta_errno(rc);
}

static int sq_metric_put(struct meta *mm, const char *name, int64_t minute, double value)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	int r = metric_prepare(m, "INSERT OR REPLACE INTO metric (name, minute, value) "
			       "VALUES (?, ?, ?)", &s);

	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, minute);
	sqlite3_bind_double(s, 3, value);
	r = meta_exec_stmt(m, s);
	sqlite3_finalize(s);
	return r;
}

static int sq_metric_each(struct meta *mm, const char *name, int64_t from, int64_t to,
			  int (*cb)(int64_t minute, double value, void *arg), void *arg)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	int rc, r = metric_prepare(m, "SELECT minute, value FROM metric WHERE name = ? AND "
				   "minute >= ? AND minute < ? ORDER BY minute", &s);

	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = cb(sqlite3_column_int64(s, 0), sqlite3_column_double(s, 1), arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = meta_errno(rc);
	sqlite3_finalize(s);
	return r;
}

static int sq_metric_prune(struct meta *mm, int64_t before)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	int r = metric_prepare(m, "DELETE FROM metric WHERE minute < ?", &s);

	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, before);
	r = meta_exec_stmt(m, s);
	sqlite3_finalize(s);
	return r;
}

static void row_to_inode(sqlite3_stmt *s, struct meta_inode *in)
{
	in->mode = (uint32_t)sqlite3_column_int64(s, 0);
	in->uid = (uint32_t)sqlite3_column_int64(s, 1);
	in->gid = (uint32_t)sqlite3_column_int64(s, 2);
	in->nlink = (uint32_t)sqlite3_column_int64(s, 3);
	in->size = (uint64_t)sqlite3_column_int64(s, 4);
	in->rdev = (uint64_t)sqlite3_column_int64(s, 5);
	in->atime.tv_sec = sqlite3_column_int64(s, 6);
	in->atime.tv_nsec = sqlite3_column_int64(s, 7);
	in->mtime.tv_sec = sqlite3_column_int64(s, 8);
	in->mtime.tv_nsec = sqlite3_column_int64(s, 9);
	in->ctime.tv_sec = sqlite3_column_int64(s, 10);
	in->ctime.tv_nsec = sqlite3_column_int64(s, 11);
	in->btime.tv_sec = sqlite3_column_int64(s, 12);
	in->btime.tv_nsec = sqlite3_column_int64(s, 13);
	in->blocks = sqlite3_column_type(s, 14) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 14);
}

static void bind_inode(sqlite3_stmt *s, const struct meta_inode *in)
{
	sqlite3_bind_int64(s, 1, in->mode);
	sqlite3_bind_int64(s, 2, in->uid);
	sqlite3_bind_int64(s, 3, in->gid);
	sqlite3_bind_int64(s, 4, in->nlink);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)in->size);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)in->rdev);
	sqlite3_bind_int64(s, 7, in->atime.tv_sec);
	sqlite3_bind_int64(s, 8, in->atime.tv_nsec);
	sqlite3_bind_int64(s, 9, in->mtime.tv_sec);
	sqlite3_bind_int64(s, 10, in->mtime.tv_nsec);
	sqlite3_bind_int64(s, 11, in->ctime.tv_sec);
	sqlite3_bind_int64(s, 12, in->ctime.tv_nsec);
	sqlite3_bind_int64(s, 13, in->btime.tv_sec);
	sqlite3_bind_int64(s, 14, in->btime.tv_nsec);
}

static int sq_inode_get(struct meta *mm, uint64_t ino, struct meta_inode *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_INODE_GET);
	int rc, r = -ENOENT;

	if (stale(m, ino))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_to_inode(s, ret);
		ret->ino = ino;
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	return r;
}

static int sq_inode_insert(struct meta *mm, struct meta_inode *in, const void *target, size_t tlen)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_INODE_INSERT);
	int r;

	bind_inode(s, in);
	if (target)
		bind_blob(m, s, 15, target, tlen);
	sqlite3_bind_int64(s, 16, (sqlite3_int64)m->session_id);
	dirty_mark(m, 0);
	r = meta_exec_stmt(m, s);
	if (r == 0) {
		in->ino = (uint64_t)sqlite3_last_insert_rowid(m->db);
		dirty_mark(m, in->ino);
	}
	return r;
}

static int sq_inode_update(struct meta *mm, const struct meta_inode *in)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_INODE_UPDATE);

	dirty_mark(m, in->ino);

	bind_inode(s, in);
	sqlite3_bind_int64(s, 15, (sqlite3_int64)in->ino);
	sqlite3_bind_int64(s, 16, (sqlite3_int64)m->session_id);
	return meta_exec_stmt(m, s);
}

/* Binds an allocated size to parameter idx: NULL for -1 (unknown). */
static void bind_blocks(sqlite3_stmt *s, int idx, int64_t blocks)
{
	if (blocks >= 0)
		sqlite3_bind_int64(s, idx, blocks);
	else
		sqlite3_bind_null(s, idx);
}

static int sq_inode_set_size(struct meta *mm, uint64_t ino, uint64_t size,
			     const struct timespec *mtime, int64_t blocks)
{
	struct sq *m = (struct sq *)mm;
	bool with_blocks = blocks != META_BLOCKS_KEEP;
	sqlite3_stmt *s = meta_stmt(m, with_blocks ? ST_INODE_SIZE_BLOCKS : ST_INODE_SIZE);

	dirty_mark(m, ino);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(s, 3, mtime->tv_sec);
	sqlite3_bind_int64(s, 4, mtime->tv_nsec);
	if (with_blocks)
		bind_blocks(s, 5, blocks);
	return meta_exec_stmt(m, s);
}

static int sq_inode_set_blocks(struct meta *mm, uint64_t ino, int64_t blocks)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_INODE_SET_BLOCKS);

	dirty_mark(m, ino);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	bind_blocks(s, 2, blocks);
	return meta_exec_stmt(m, s);
}

static int sq_inode_delete(struct meta *mm, uint64_t ino)
{
	struct sq *m = (struct sq *)mm;
	static const int ids[] = { ST_INODE_DEL_XATTR, ST_INODE_DEL_CHUNKS, ST_INODE_DELETE };

	dirty_mark(m, ino);

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		sqlite3_stmt *s = meta_stmt(m, ids[i]);
		int r;

		sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
		r = meta_exec_stmt(m, s);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sq_readlink(struct meta *mm, uint64_t ino, char *buf, size_t len, size_t *ret_len)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_READLINK);
	int rc, r = -ENOENT;

	if (stale(m, ino))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0);
		const void *p = sqlite3_column_blob(s, 0);

		if (!p) {
			r = -EINVAL;
		} else if (n > len) {
			r = -ERANGE;
		} else {
			memcpy(buf, p, n);
			*ret_len = n;
			r = 0;
		}
	} else if (rc != SQLITE_DONE) {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	return r;
}

/* The sessions that are gone (meta_session_alive), for orphans: gone[]
 * gets their ids and *ret_live those of the live ones.  Local to one call,
 * under the engine's lock. */
struct session_sets {
	uint64_t *live, *gone;
	size_t nlive, ngone, cap_live, cap_gone;
};

static int id_push(uint64_t **list, size_t *n, size_t *cap, uint64_t id)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		uint64_t *nl = realloc(*list, nc * sizeof(**list));

		if (!nl)
			return -ENOMEM;
		*list = nl;
		*cap = nc;
	}
	(*list)[(*n)++] = id;
	return 0;
}

static bool id_in(const uint64_t *list, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == id)
			return true;
	return false;
}

static int sessions_sort(struct sq *m, struct session_sets *ss)
{
	sqlite3_stmt *s = meta_stmt(m, ST_SESSION_EACH);
	struct meta_session self, one;
	int64_t now = (int64_t)time(NULL);
	int rc, r;

	r = meta_session_self(&self);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *host = (const char *)sqlite3_column_text(s, 1);
		const char *boot = (const char *)sqlite3_column_text(s, 2);

		memset(&one, 0, sizeof(one));
		one.id = (uint64_t)sqlite3_column_int64(s, 0);
		snprintf(one.host, sizeof(one.host), "%s", host ? host : "");
		snprintf(one.boot, sizeof(one.boot), "%s", boot ? boot : "");
		one.pid = sqlite3_column_int64(s, 3);
		one.started = (uint64_t)sqlite3_column_int64(s, 4);
		one.heartbeat = sqlite3_column_int64(s, 5);
		if (meta_session_alive(&one, &self, now))
			r = id_push(&ss->live, &ss->nlive, &ss->cap_live, one.id);
		else
			r = id_push(&ss->gone, &ss->ngone, &ss->cap_gone, one.id);
		if (r < 0)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = meta_errno(rc);
	sqlite3_reset(s);
	return r;
}

/* Orphans of sessions that are gone (or of none), then the rows of those
 * sessions: a live session's open-unlinked files stay its own. */
static int sq_orphans(struct meta *mm, int (*cb)(uint64_t ino, void *arg), void *arg)
{
	struct sq *m = (struct sq *)mm;
	struct session_sets ss = { 0 };
	sqlite3_stmt *s;
	uint64_t *list = NULL;
	size_t n = 0, cap = 0;
	int rc, r;

	if (stale(m, 0))
		return -EAGAIN;

	r = sessions_sort(m, &ss);
	if (r < 0)
		goto out;
	/* Collect first: the callback deletes rows. */
	s = meta_stmt(m, ST_ORPHANS);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (id_in(ss.live, ss.nlive, (uint64_t)sqlite3_column_int64(s, 1)))
			continue;
		r = id_push(&list, &n, &cap, (uint64_t)sqlite3_column_int64(s, 0));
		if (r < 0)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = meta_errno(rc);
	sqlite3_reset(s);
	for (size_t i = 0; !r && i < n; i++)
		r = cb(list[i], arg);
	/* an orphan whose session row is gone is still found next time */
	for (size_t i = 0; !r && i < ss.ngone; i++) {
		s = meta_stmt(m, ST_SESSION_DELETE);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)ss.gone[i]);
		r = m->read_only ? 0 : meta_exec_stmt(m, s);
	}
out:
	free(list);
	free(ss.live);
	free(ss.gone);
	return r;
}

static int sq_inode_each(struct meta *mm, uint64_t after, meta_inode_cb cb, void *arg)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	int rc, r = 0;

	if (stale(m, 0))
		return -EAGAIN;

	/* A private statement: callbacks may run other statements. */
	rc = sqlite3_prepare_v2(m->db, m->schema_5ro ? meta_sql_5ro[ST_INODE_EACH] :
				meta_sql[ST_INODE_EACH], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return meta_errno(rc);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct meta_inode in;

		row_to_inode(s, &in);
		in.ino = (uint64_t)sqlite3_column_int64(s, 15);
		r = cb(&in, arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = meta_errno(rc);
	sqlite3_finalize(s);
	return r;
}

static int sq_lookup(struct meta *mm, uint64_t parent, const char *name, uint64_t *ret_ino)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_LOOKUP);
	int rc, r = -ENOENT;

	if (stale(m, parent))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	bind_name(s, 2, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ret_ino = (uint64_t)sqlite3_column_int64(s, 0);
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	return r;
}

static int sq_dentry_insert(struct meta *mm, uint64_t parent, const char *name, uint64_t ino, uint32_t type)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_DENTRY_INSERT);

	dirty_mark(m, parent);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	bind_blob(m, s, 2, name, strlen(name));
	sqlite3_bind_int64(s, 3, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 4, type & S_IFMT);
	return meta_exec_stmt(m, s);
}

static int sq_dentry_delete(struct meta *mm, uint64_t parent, const char *name)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_DENTRY_DELETE);
	int r;

	dirty_mark(m, parent);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	bind_name(s, 2, name);
	r = meta_exec_stmt(m, s);
	if (!r && sqlite3_changes(m->db) == 0)
		r = -ENOENT;
	return r;
}

static int sq_dentry_move(struct meta *mm, uint64_t parent, const char *name,
		     uint64_t newparent, const char *newname)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_DENTRY_MOVE);
	int r;

	dirty_mark(m, parent);
	dirty_mark(m, newparent);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	bind_name(s, 2, name);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)newparent);
	bind_blob(m, s, 4, newname, strlen(newname));
	r = meta_exec_stmt(m, s);
	if (!r && sqlite3_changes(m->db) == 0)
		r = -ENOENT;
	return r;
}

static int sq_dentry_retarget(struct meta *mm, uint64_t parent, const char *name, uint64_t ino, uint32_t type)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_DENTRY_RETARGET);
	int r;

	dirty_mark(m, parent);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	bind_name(s, 2, name);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 4, type & S_IFMT);
	r = meta_exec_stmt(m, s);
	if (!r && sqlite3_changes(m->db) == 0)
		r = -ENOENT;
	return r;
}

static int sq_dir_is_empty(struct meta *mm, uint64_t dir, bool *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_DIR_EMPTY);
	int rc;

	if (stale(m, dir))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)dir);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return meta_errno(rc);
	*ret = rc == SQLITE_DONE;
	return 0;
}

static int sq_dir_parent(struct meta *mm, uint64_t dir, uint64_t *ret_parent)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	int rc, r = 0;

	if (stale(m, 0))
		return -EAGAIN;

	if (dir == META_ROOT_INO) {
		*ret_parent = META_ROOT_INO;
		return 0;
	}
	s = meta_stmt(m, ST_DIR_PARENT);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)dir);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*ret_parent = (uint64_t)sqlite3_column_int64(s, 0);
	else
		r = rc == SQLITE_DONE ? -ENOENT : meta_errno(rc);
	sqlite3_reset(s);
	return r;
}

static int sq_readdir(struct meta *mm, uint64_t dir, uint64_t after, uint64_t upto, meta_readdir_cb cb,
		 void *arg)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_READDIR);
	char name[256];
	int rc, r = 0;

	if (stale(m, dir))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)dir);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(upto > INT64_MAX ? INT64_MAX : upto));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 0);
		const void *p = sqlite3_column_blob(s, 0);

		if (n <= 0 || n >= (int)sizeof(name) || !p) {
			r = -EIO;
			break;
		}
		memcpy(name, p, (size_t)n);
		name[n] = '\0';
		r = cb(name, (uint64_t)sqlite3_column_int64(s, 1), (uint32_t)sqlite3_column_int64(s, 2),
		       (uint64_t)sqlite3_column_int64(s, 3), arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = meta_errno(rc);
	sqlite3_reset(s);
	return r < 0 ? r : 0;
}

static int sq_dentry_max_cookie(struct meta *mm, uint64_t *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_MAX_COOKIE);
	int rc = sqlite3_step(s), r = 0;

	if (stale(m, 0))
		return -EAGAIN;

	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(s, 0);
	else
		r = meta_errno(rc);
	sqlite3_reset(s);
	return r;
}

static int sq_dentry_each(struct meta *mm, meta_dentry_cb cb, void *arg)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	char name[256];
	int rc, r = 0;

	if (stale(m, 0))
		return -EAGAIN;

	rc = sqlite3_prepare_v2(m->db, meta_sql[ST_DENTRY_EACH], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return meta_errno(rc);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 1);
		const void *p = sqlite3_column_blob(s, 1);

		if (n <= 0 || n >= (int)sizeof(name) || !p) {
			name[0] = '\0';   /* fsck reports the empty or oversized name */
		} else {
			memcpy(name, p, (size_t)n);
			name[n] = '\0';
		}
		r = cb((uint64_t)sqlite3_column_int64(s, 0), name, (uint64_t)sqlite3_column_int64(s, 2),
		       (uint32_t)sqlite3_column_int64(s, 3), arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = meta_errno(rc);
	sqlite3_finalize(s);
	return r;
}

static int sq_xattr_get(struct meta *mm, uint64_t ino, const char *name, void *buf, size_t len,
		   size_t *ret_len)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_XATTR_GET);
	int rc, r = -ENODATA;

	if (stale(m, ino))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	bind_name(s, 2, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0);

		r = 0;
		if (len == 0) {
			*ret_len = n;
		} else if (n > len) {
			r = -ERANGE;
		} else {
			if (n)
				memcpy(buf, sqlite3_column_blob(s, 0), n);
			*ret_len = n;
		}
	} else if (rc != SQLITE_DONE) {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	return r;
}

static int sq_xattr_set(struct meta *mm, uint64_t ino, const char *name, const void *val, size_t len,
		   int flags)
{
	struct sq *m = (struct sq *)mm;
	int id = flags & XATTR_CREATE ? ST_XATTR_INSERT :
		 flags & XATTR_REPLACE ? ST_XATTR_REPLACE : ST_XATTR_UPSERT;
	sqlite3_stmt *s = meta_stmt(m, id);
	int r;

	dirty_mark(m, ino);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	bind_blob(m, s, 2, name, strlen(name));
	/* zeroblob keeps an empty value from binding as NULL */
	if (len)
		bind_blob(m, s, 3, val, len);
	else
		sqlite3_bind_zeroblob(s, 3, 0);
	r = meta_exec_stmt(m, s);
	if (id == ST_XATTR_REPLACE && !r && sqlite3_changes(m->db) == 0)
		r = -ENODATA;
	return r;
}

static int sq_xattr_remove(struct meta *mm, uint64_t ino, const char *name)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_XATTR_REMOVE);
	int r;

	dirty_mark(m, ino);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	bind_name(s, 2, name);
	r = meta_exec_stmt(m, s);
	if (!r && sqlite3_changes(m->db) == 0)
		r = -ENODATA;
	return r;
}

static int sq_xattr_list(struct meta *mm, uint64_t ino, char *buf, size_t len, size_t *ret_len)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_XATTR_LIST);
	size_t total = 0;
	int rc, r = 0;

	if (stale(m, ino))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(s, 0);

		if (len) {
			if (total + n + 1 > len) {
				r = -ERANGE;
				break;
			}
			memcpy(buf + total, sqlite3_column_blob(s, 0), n);
			buf[total + n] = '\0';
		}
		total += n + 1;
	}
	if (!r && rc != SQLITE_DONE)
		r = meta_errno(rc);
	sqlite3_reset(s);
	if (!r)
		*ret_len = total;
	return r;
}

static int sq_xattr_usage(struct meta *mm, uint64_t ino, const char *except, uint64_t *ret_names,
		     uint64_t *ret_values)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_XATTR_USAGE);
	int rc, r = 0;

	if (stale(m, ino))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	bind_name(s, 2, except ? except : "");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ret_names = (uint64_t)sqlite3_column_double(s, 0);
		*ret_values = (uint64_t)sqlite3_column_double(s, 1);
	} else {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	return r;
}

static void row_to_chunk(sqlite3_stmt *s, int first, struct meta_chunk *c)
{
	c->class = sqlite3_column_int(s, first);
	c->atime = sqlite3_column_int64(s, first + 1);
	c->stored_len = (uint64_t)sqlite3_column_int64(s, first + 2);
	c->plain_len = (uint64_t)sqlite3_column_int64(s, first + 3);
	c->version = (uint64_t)sqlite3_column_int64(s, first + 4);
	c->has_sha256 = sqlite3_column_type(s, first + 5) == SQLITE_BLOB &&
			sqlite3_column_bytes(s, first + 5) == (int)sizeof(c->sha256);
	if (c->has_sha256)
		memcpy(c->sha256, sqlite3_column_blob(s, first + 5), sizeof(c->sha256));
	else
		memset(c->sha256, 0, sizeof(c->sha256));
}

static int sq_chunk_get(struct meta *mm, uint64_t ino, uint64_t idx, struct meta_chunk *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_CHUNK_GET);
	int rc, r = -ENOENT;

	if (m->owner) {
		m->need_writer = true;   /* the test fault knob is the writer's */
		return -EAGAIN;
	}

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)idx);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret->ino = ino;
		ret->idx = idx;
		row_to_chunk(s, 0, ret);
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	return r;
}

static int sq_chunk_put(struct meta *mm, const struct meta_chunk *c)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_CHUNK_PUT);

	dirty_mark(m, c->ino);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)c->ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)c->idx);
	sqlite3_bind_int(s, 3, c->class);
	sqlite3_bind_int64(s, 4, c->atime);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)c->stored_len);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)c->plain_len);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)c->version);
	if (c->has_sha256)
		sqlite3_bind_blob(s, 8, c->sha256, (int)sizeof(c->sha256), SQLITE_STATIC);
	return meta_exec_stmt(m, s);
}

static int sq_chunk_set_sha256(struct meta *mm, uint64_t ino, uint64_t idx, uint64_t version,
			  const uint8_t sha256[32])
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_CHUNK_SET_SHA);

	dirty_mark(m, ino);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)idx);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)version);
	sqlite3_bind_blob(s, 4, sha256, 32, SQLITE_STATIC);
	return meta_exec_stmt(m, s);
}

static int sq_inode_path(struct meta *mm, uint64_t ino, char *buf, size_t len)
{
	struct sq *m = (struct sq *)mm;
	size_t at = len;              /* the path is built backwards from the end */
	unsigned depth = 0;
	int r = 0;

	if (stale(m, 0))
		return -EAGAIN;

	if (!len)
		return -ENAMETOOLONG;
	buf[--at] = '\0';
	while (ino != META_ROOT_INO && !r) {
		sqlite3_stmt *s = meta_stmt(m, ST_DENTRY_OF);
		int rc, n;

		if (++depth > 4096) {
			r = -ELOOP;
			break;
		}
		sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			r = rc == SQLITE_DONE ? -ENOENT : meta_errno(rc);
			sqlite3_reset(s);
			break;
		}
		n = sqlite3_column_bytes(s, 1);
		if ((size_t)n + 1 > at) {
			r = -ENAMETOOLONG;
		} else {
			at -= (size_t)n;
			memcpy(buf + at, sqlite3_column_blob(s, 1), (size_t)n);
			buf[--at] = '/';
			ino = (uint64_t)sqlite3_column_int64(s, 0);
		}
		sqlite3_reset(s);
	}
	if (r < 0)
		return r;
	if (at == len - 1)
		buf[--at] = '/';      /* the root itself */
	memmove(buf, buf + at, len - at);
	return 0;
}

static int sq_dentry_of(struct meta *mm, uint64_t ino, unsigned nth, uint64_t *ret_parent,
			char *ret_name)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_DENTRY_NTH);
	int rc, n, r = 0;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)nth);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? -ENOENT : meta_errno(rc);
	} else if ((n = sqlite3_column_bytes(s, 1)) > META_NAME_MAX) {
		r = -ENAMETOOLONG;
	} else {
		*ret_parent = (uint64_t)sqlite3_column_int64(s, 0);
		memcpy(ret_name, sqlite3_column_blob(s, 1), (size_t)n);
		ret_name[n] = '\0';
	}
	sqlite3_reset(s);
	return r;
}

static int sq_chunk_touch(struct meta *mm, uint64_t ino, uint64_t idx, int64_t atime, int64_t step)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_CHUNK_TOUCH);

	dirty_mark(m, ino);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)idx);
	sqlite3_bind_int64(s, 3, atime);
	sqlite3_bind_int64(s, 4, step);
	return meta_exec_stmt(m, s);
}

static int sq_usage(struct meta *mm, struct meta_usage *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_USAGE_FILES);
	int rc, r = 0;

	if (stale(m, 0))
		return -EAGAIN;

	memset(ret, 0, sizeof(*ret));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret->inodes = (uint64_t)sqlite3_column_int64(s, 0);
		ret->bytes = (uint64_t)sqlite3_column_double(s, 1);
	} else {
		r = meta_errno(rc);
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	s = meta_stmt(m, ST_USAGE_CLASS);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int c = sqlite3_column_int(s, 0);

		if (c < 0 || c > META_ARCHIVE)
			continue;
		ret->chunks[c] = (uint64_t)sqlite3_column_int64(s, 1);
		ret->plain[c] = (uint64_t)sqlite3_column_double(s, 2);
		ret->stored[c] = (uint64_t)sqlite3_column_double(s, 3);
	}
	if (rc != SQLITE_DONE)
		r = meta_errno(rc);
	sqlite3_reset(s);
	return r;
}

static int sq_chunk_delete_from(struct meta *mm, uint64_t ino, uint64_t first_idx)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_CHUNK_DEL_FROM);

	dirty_mark(m, ino);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)first_idx);
	return meta_exec_stmt(m, s);
}

static int sq_chunk_cold_count(struct meta *mm, uint64_t ino, uint64_t *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_CHUNK_COLD);
	int rc, r = 0;

	if (stale(m, ino))
		return -EAGAIN;

	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(s, 0);
	else
		r = meta_errno(rc);
	sqlite3_reset(s);
	return r;
}

static int sq_chunk_each(struct meta *mm, uint64_t ino, meta_chunk_cb cb, void *arg)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	int rc, r = 0;

	if (stale(m, ino))
		return -EAGAIN;

	rc = sqlite3_prepare_v2(m->db, meta_sql[ino ? ST_CHUNK_EACH : ST_CHUNK_EACH_ALL], -1, &s,
				NULL);
	if (rc != SQLITE_OK)
		return meta_errno(rc);
	if (ino)
		sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct meta_chunk c;

		c.ino = (uint64_t)sqlite3_column_int64(s, 0);
		c.idx = (uint64_t)sqlite3_column_int64(s, 1);
		row_to_chunk(s, 2, &c);
		r = cb(&c, arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = meta_errno(rc);
	sqlite3_finalize(s);
	return r;
}

static int sq_integrity(struct meta *mm, char *err, size_t errlen)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s;
	int rc, r = 0;

	if (stale(m, 0))
		return -EAGAIN;

	rc = sqlite3_prepare_v2(m->db, "PRAGMA integrity_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return meta_errno(rc);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 0);

		if (!v || strcmp(v, "ok") != 0) {
			snprintf(err, errlen, "%s", v ? v : "integrity_check returned NULL");
			r = -EIO;
		}
	} else {
		snprintf(err, errlen, "%s", sqlite3_errmsg(m->db));
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

static int sq_session_start(struct meta *mm, uint64_t *ret_id)
{
	struct sq *m = (struct sq *)mm;
	struct meta_session self;
	sqlite3_stmt *s;
	int r;

	if (m->read_only)
		return -EROFS;
	r = meta_session_self(&self);
	if (r < 0)
		return r;
	pthread_mutex_lock(&m->lock);
	if (m->session_id) {
		pthread_mutex_unlock(&m->lock);
		return -EBUSY;
	}
	dirty_mark(m, 0);
	s = meta_stmt(m, ST_SESSION_INSERT);
	sqlite3_bind_text(s, 1, self.host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, self.boot, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, self.pid);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)self.started);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	r = meta_exec_stmt(m, s);
	if (!r) {
		m->session_id = (uint64_t)sqlite3_last_insert_rowid(m->db);
		r = sq_flush(&m->base);     /* other mounts see it from now on */
		if (r < 0)
			m->session_id = 0;
	}
	if (!r) {
		m->beat_due = mono_ns() + (int64_t)META_SESSION_BEAT_S * 1000000000;
		if (m->committer_on)
			pthread_cond_signal(&m->commit_cond);     /* time the beats */
		if (ret_id)
			*ret_id = m->session_id;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void sq_session_end(struct meta *mm)
{
	struct sq *m = (struct sq *)mm;

	pthread_mutex_lock(&m->lock);
	if (m->session_id && !m->broken && !m->read_only) {
		sqlite3_stmt *s = meta_stmt(m, ST_SESSION_DELETE);

		dirty_mark(m, 0);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)m->session_id);
		meta_exec_stmt(m, s);
		sq_flush(&m->base);
	}
	m->session_id = 0;
	pthread_mutex_unlock(&m->lock);
}

/* ---- access points (schema 5) ---- */

static int sq_ap_insert(struct meta *mm, const struct fs_access_point *ap)
{
	struct sq *m = (struct sq *)mm;
	char gids[FS_GROUPS_MAX * 11 + 1] = "";
	size_t used = 0;
	sqlite3_stmt *s;
	int64_t seq;
	int r;

	for (unsigned i = 0; i < ap->user.ngroups && i < FS_GROUPS_MAX; i++)
		used += (size_t)snprintf(gids + used, sizeof(gids) - used, "%s%u", i ? "," : "",
					 (unsigned)ap->user.groups[i]);
	s = meta_stmt(m, ST_AP_INSERT);
	sqlite3_bind_text(s, 1, ap->id, -1, SQLITE_STATIC);
	if (ap->client_token[0])
		sqlite3_bind_text(s, 2, ap->client_token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, ap->created);
	sqlite3_bind_int64(s, 4, ap->user.uid);
	sqlite3_bind_int64(s, 5, ap->user.gid);
	sqlite3_bind_text(s, 6, gids, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, ap->path, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 8, ap->has_creation);
	sqlite3_bind_int64(s, 9, ap->has_creation ? ap->owner_uid : 0);
	sqlite3_bind_int64(s, 10, ap->has_creation ? ap->owner_gid : 0);
	sqlite3_bind_int64(s, 11, ap->has_creation ? ap->permissions : 0);
	r = meta_exec_stmt(m, s);
	if (r < 0)
		return r;
	seq = sqlite3_last_insert_rowid(m->db);
	for (unsigned i = 0; i < ap->ntags && i < FS_AP_TAGS_MAX; i++) {
		s = meta_stmt(m, ST_AP_TAG_INSERT);
		sqlite3_bind_int64(s, 1, seq);
		sqlite3_bind_int(s, 2, (int)i);
		sqlite3_bind_text(s, 3, ap->tags[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, ap->tags[i].value, -1, SQLITE_STATIC);
		r = meta_exec_stmt(m, s);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Copies a text column into buf (len bytes); -EIO when it does not fit. */
static int column_text(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	const char *v = (const char *)sqlite3_column_text(s, col);

	return snprintf(buf, len, "%s", v ? v : "") >= (int)len ? -EIO : 0;
}

/* The access point of the row s is on (META_AP_COLUMNS), with its tags. */
static int row_to_ap(struct sq *m, sqlite3_stmt *s, struct fs_access_point *ap,
		     uint64_t *ret_seq)
{
	char gids[FS_GROUPS_MAX * 11 + 1];
	sqlite3_stmt *t;
	int64_t seq;
	int rc, r = 0;

	memset(ap, 0, sizeof(*ap));
	seq = sqlite3_column_int64(s, 0);
	r |= column_text(s, 1, ap->id, sizeof(ap->id));
	r |= column_text(s, 2, ap->client_token, sizeof(ap->client_token));
	ap->created = sqlite3_column_int64(s, 3);
	ap->user.uid = (uid_t)sqlite3_column_int64(s, 4);
	ap->user.gid = (gid_t)sqlite3_column_int64(s, 5);
	r |= column_text(s, 6, gids, sizeof(gids));
	r |= column_text(s, 7, ap->path, sizeof(ap->path));
	ap->has_creation = sqlite3_column_int(s, 8) != 0;
	ap->owner_uid = (uid_t)sqlite3_column_int64(s, 9);
	ap->owner_gid = (gid_t)sqlite3_column_int64(s, 10);
	ap->permissions = (mode_t)sqlite3_column_int64(s, 11);
	if (r)
		return -EIO;
	for (char *p = gids, *end; *p && ap->user.ngroups < FS_GROUPS_MAX; p = end) {
		ap->user.groups[ap->user.ngroups++] = (gid_t)strtoul(p, &end, 10);
		if (*end == ',')
			end++;
		else if (*end)
			return -EIO;
	}
	if (ret_seq)
		*ret_seq = (uint64_t)seq;
	t = meta_stmt(m, ST_AP_TAGS);
	sqlite3_bind_int64(t, 1, seq);
	while ((rc = sqlite3_step(t)) == SQLITE_ROW && ap->ntags < FS_AP_TAGS_MAX) {
		struct fs_ap_tag *tag = &ap->tags[ap->ntags++];

		if (column_text(t, 0, tag->key, sizeof(tag->key)) < 0 ||
		    column_text(t, 1, tag->value, sizeof(tag->value)) < 0) {
			rc = SQLITE_CORRUPT;
			break;
		}
	}
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : meta_errno(rc);
	sqlite3_reset(t);
	return r;
}

/* Runs a prepared access point query (bound already) for its first row. */
static int ap_query(struct sq *m, sqlite3_stmt *s, struct fs_access_point *ret,
		    uint64_t *ret_seq)
{
	int rc = sqlite3_step(s), r;

	if (rc == SQLITE_ROW)
		r = row_to_ap(m, s, ret, ret_seq);
	else
		r = rc == SQLITE_DONE ? -ENOENT : meta_errno(rc);
	sqlite3_reset(s);
	return r;
}

static int sq_ap_get(struct meta *mm, const char *id, struct fs_access_point *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_AP_GET);

	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return ap_query(m, s, ret, NULL);
}

static int sq_ap_by_token(struct meta *mm, const char *token, struct fs_access_point *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_AP_BY_TOKEN);

	sqlite3_bind_text(s, 1, token, -1, SQLITE_STATIC);
	return ap_query(m, s, ret, NULL);
}

static int sq_ap_next(struct meta *mm, uint64_t after, struct fs_access_point *ret,
		      uint64_t *ret_seq)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_AP_NEXT);

	sqlite3_bind_int64(s, 1, (sqlite3_int64)after);
	return ap_query(m, s, ret, ret_seq);
}

static int sq_ap_delete(struct meta *mm, const char *id)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_AP_DELETE_TAGS);
	int r;

	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	r = meta_exec_stmt(m, s);
	if (r < 0)
		return r;
	s = meta_stmt(m, ST_AP_DELETE);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	r = meta_exec_stmt(m, s);
	if (r < 0)
		return r;
	return sqlite3_changes(m->db) ? 0 : -ENOENT;
}

static int sq_ap_count(struct meta *mm, uint64_t *ret)
{
	struct sq *m = (struct sq *)mm;
	sqlite3_stmt *s = meta_stmt(m, ST_AP_COUNT);
	int rc = sqlite3_step(s), r = 0;

	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(s, 0);
	else
		r = meta_errno(rc);
	sqlite3_reset(s);
	return r;
}

static const struct meta_ops sqlite_ops = {
	.name = "sqlite",
	.reserve = sq_reserve,
	.reserve_fill = sq_reserve_fill,
	.reserve_missing = sq_reserve_missing,
	.reserve_given = sq_reserve_given,
	.pending = sq_pending,
	.close = sq_close,
	.errmsg = sq_errmsg,
	.set_group = sq_set_group,
	.lock = sq_lock,
	.unlock = sq_unlock,
	.flush = sq_flush,
	.broken = sq_broken,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.sync = sq_sync,
	.checkpoint = sq_checkpoint,
	.get_kv = sq_get_kv,
	.set_kv = sq_set_kv,
	.metric_put = sq_metric_put,
	.metric_each = sq_metric_each,
	.metric_prune = sq_metric_prune,
	.inode_get = sq_inode_get,
	.inode_insert = sq_inode_insert,
	.inode_update = sq_inode_update,
	.inode_set_size = sq_inode_set_size,
	.inode_delete = sq_inode_delete,
	.inode_set_blocks = sq_inode_set_blocks,
	.readlink = sq_readlink,
	.orphans = sq_orphans,
	.inode_each = sq_inode_each,
	.lookup = sq_lookup,
	.dentry_insert = sq_dentry_insert,
	.dentry_delete = sq_dentry_delete,
	.dentry_move = sq_dentry_move,
	.dentry_retarget = sq_dentry_retarget,
	.dir_is_empty = sq_dir_is_empty,
	.dir_parent = sq_dir_parent,
	.readdir = sq_readdir,
	.dentry_max_cookie = sq_dentry_max_cookie,
	.dentry_each = sq_dentry_each,
	.xattr_get = sq_xattr_get,
	.xattr_set = sq_xattr_set,
	.xattr_remove = sq_xattr_remove,
	.xattr_list = sq_xattr_list,
	.xattr_usage = sq_xattr_usage,
	.chunk_get = sq_chunk_get,
	.chunk_put = sq_chunk_put,
	.chunk_set_sha256 = sq_chunk_set_sha256,
	.inode_path = sq_inode_path,
	.dentry_of = sq_dentry_of,
	.chunk_touch = sq_chunk_touch,
	.usage = sq_usage,
	.chunk_delete_from = sq_chunk_delete_from,
	.chunk_cold_count = sq_chunk_cold_count,
	.chunk_each = sq_chunk_each,
	.integrity = sq_integrity,
	.session_start = sq_session_start,
	.session_end = sq_session_end,
	.ap_insert = sq_ap_insert,
	.ap_get = sq_ap_get,
	.ap_by_token = sq_ap_by_token,
	.ap_next = sq_ap_next,
	.ap_delete = sq_ap_delete,
	.ap_count = sq_ap_count,
	.read = sq_read,
};

/* The engine's entry point (meta_open's "sqlite://" scheme): path is the
 * database file; flags as meta_open's. */
int meta_sqlite_open(const char *path, unsigned flags, struct meta **ret, char *err,
		     size_t errlen)
{
	char wal[4200];
	struct stat st;

	if (!(flags & META_RDONLY))
		return open_db(path, flags & META_CREATE, NULL, ret, err, errlen);
	/* Without changes left in the WAL (a clean unmount removes it), the
	 * database is read as immutable: SQLite then creates no -wal or -shm
	 * and takes no lock (the caller holds the file system's).  Reading a
	 * WAL needs its -shm index, which only a writable directory can have. */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) < 0 || st.st_size == 0)
		return open_db(path, false, "immutable=1", ret, err, errlen);
	if (flags & META_DIR_RDONLY) {
		snprintf(err, errlen, "%s holds changes never checkpointed (the file system was "
			 "not unmounted cleanly), and its directory is read-only: mount it "
			 "read-write once, then read-only", wal);
		return -EROFS;
	}
	return open_db(path, false, "mode=ro", ret, err, errlen);
}
