/* fs.h - the file system core: POSIX semantics over the metadata store and
 * the chunk store (backend/chunk.h: the local data files, and the layers
 * installed over them).  fuse/ translates kernel requests into these calls
 * and replies with their result; the unit tests call them directly.
 *
 * On-disk layout of a file system (DATA_DIR from the config):
 *   DATA_DIR/meta.db (+ -wal, -shm)   SQLite metadata (backend/meta_sqlite.c)
 *   DATA_DIR/data/XX/<ino:016x>        one sparse backing file per regular
 *                                      file, XX = low byte of the inode
 *                                      number; chunk i at i * chunk_size
 *                                      (backend/chunk_local.c, the chunk
 *                                      store's bottom: backend/chunk.h)
 *   DATA_DIR/lock                      text "pid=N mountpoint=M": who has
 *                                      the file system open (that process
 *                                      holds a flock on DATA_DIR itself)
 *   DATA_DIR/objects/                  default file:// store of cold chunks
 * All of it belongs to the daemon's user, files 0600 and directories 0700;
 * fs_open checks that and tightens what is more open (common/safepath.h).
 *
 * Every function returns 0 (or a byte count) or a negative errno.
 * Thread-safe: FUSE workers call concurrently.  Locks, outermost first:
 *   fs_inode.io (rwlock; data I/O shared, truncate, fallocate and tier
 *                moves exclusive)
 *   fs_inode.lock (mutex; an inode's open data, size and passthrough state:
 *                  fs_pt_refresh, fs_write_end and set_size commit under it)
 *   fs.usage_lock (mutex; the cached usage figures, fs_statfs: taken
 *                  before meta_lock)
 *   meta_lock (the metadata engine's recursive mutex, meta_lock() and
 *              meta_txn(); every metadata operation; the engine's own
 *              state, committer thread included, is under it)
 *   fs.itab_lock (mutex; the in-memory inode table and reference counts:
 *                 fs_pt_pending takes it under meta_lock)
 *   fs.space_lock (mutex; the free-space figures, a leaf: fs_check_meta_space
 *                  takes it under meta_lock)
 */
#ifndef EFSFS_FS_H
#define EFSFS_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "common/conf.h"

#define FS_NAME_MAX        255
#define FS_SYMLINK_MAX     4080
#define FS_LINK_MAX        177
#define FS_MAX_FILE_SIZE   52673613135872ULL     /* 47.9 TiB, as EFS */
#define FS_ID_LEN          20                    /* "fs-" + 17 hex digits */
#define FS_DEFAULT_CHUNK   (4u << 20)
#define FS_ROOT_INO        1                     /* the root directory (FUSE_ROOT_ID) */

struct fs;
struct fs_file;

/* Who is calling: used for new inodes' owner and setgid inheritance, and
 * for the space kept free for metadata: an operation that grows the
 * metadata (a create, mkdir, symlink, link, setxattr) fails with ENOSPC
 * once less than 8 MiB is free on the data disk, 2 MiB for uid 0 (a NULL
 * ctx is the daemon itself and counts as root).  Deleting always works. */
struct fs_ctx {
	uid_t uid;
	gid_t gid;
};

/* An identity a request runs as instead of its caller's (an access
 * point's PosixUser, or a squashed root): uid, primary gid and up to
 * FS_GROUPS_MAX secondary gids.  uid 0 is root. */
#define FS_GROUPS_MAX 16
struct fs_ident {
	uid_t uid;
	gid_t gid;
	unsigned ngroups;           /* secondary gids, at most FS_GROUPS_MAX */
	gid_t groups[FS_GROUPS_MAX];
};

/* One piece of a read: len bytes at pos in fd, or len bytes at mem.  The
 * fd belongs to the chunk store: a splice source for the reply, nothing
 * else (never written, closed or kept). */
struct fs_rseg {
	int fd;
	off_t pos;
	size_t len;
	void *mem;
};
#define FS_RSEG_MAX 40
struct fs_rvec {
	unsigned n;
	size_t total;
	struct fs_rseg seg[FS_RSEG_MAX];
};

/* mkfs: creates DATA_DIR and an empty file system owned by ctx; the new
 * fs- id is written to ret_id (FS_ID_LEN + 1 bytes).  -EEXIST when one is
 * there already.  err receives a message naming the path on failure. */
int fs_mkfs(const struct conf *conf, const struct fs_ctx *ctx, uint64_t chunk_size,
	    char *ret_id, char *err, size_t errlen);

/* Opens the file system for exclusive use (mount, fsck).  mountpoint is
 * recorded in the lock file (may be NULL).  -EBUSY when another process has
 * it open (err names the pid and mount point); a holder whose recorded
 * mount point is no longer mounted (a daemon closing after umount) is
 * waited for, up to 10 s, first.  -ENOENT when there is no
 * file system (err says to run mkfs).  Recovers after an unclean shutdown:
 * removes orphan inodes and data files of deleted inodes. */
int fs_open(const struct conf *conf, const char *mountpoint, struct fs **ret, char *err,
	    size_t errlen);
/* fs_open with flags.  FS_OPEN_RDONLY (mount -o ro, and the CLI's
 * read-only commands): nothing is written to the data directory, which may
 * be read-only: no recovery, no access times, metadata writes are -EROFS
 * and the lifecycle refuses to run; a missing backing file reads as holes.
 * The lock (a flock on the directory) is shared among read-only openers;
 * a read-only mount writes the lock file's text only where it can. */
#define FS_OPEN_RDONLY  0x1u
/* fs_open with flags.  FS_OPEN_UNCLAIMED: do not check or write the claims
 * and store records of the object stores (tier/owner.c), for the commands
 * that repair them (efsfs reidentify, efsfs store ...); such an open never
 * deletes an object nor writes one outside what the command does. */
#define FS_OPEN_UNCLAIMED 0x2u
int fs_open_flags(const struct conf *conf, const char *mountpoint, unsigned flags,
		  struct fs **ret, char *err, size_t errlen);
bool fs_read_only(const struct fs *fs);
/* What fs_open changed or warns about, for its caller to log: modes it
 * tightened, a key file beside the store it protects.  One message per
 * line, "" when none. */
const char *fs_notes(const struct fs *fs);
/* Names mountpoint in DATA_DIR/lock's text instead of the mount point of
 * the open: a daemon serving several mounts does it when the mount named
 * there went and others remain, so that an opener waiting for the lock
 * does not take the daemon for one that is closing.  Not concurrently with
 * itself.  0 (also for an open that wrote no text) or -errno. */
int fs_lock_note(struct fs *fs, const char *mountpoint);
/* Clean shutdown: checkpoint, mark clean, release the lock. Accepts NULL. */
void fs_close(struct fs *fs);

const char *fs_id(const struct fs *fs);
uint64_t fs_chunk_size(const struct fs *fs);
const struct conf *fs_conf(const struct fs *fs);

/* Passthrough: the kernel reads and writes an open file's backing file
 * itself (FUSE passthrough).  attach registers a backing fd with the
 * kernel connection of one FUSE session and returns its id (> 0) or a
 * negative errno; detach forgets an id once the last handle using it is
 * released.  Each session has its own (backing ids are per connection)
 * and passes it to fs_file_passthrough; it must outlive the handles
 * opened with it. */
struct fs_passthrough {
	int (*attach)(int fd, void *arg);
	void (*detach)(int id, void *arg);
	void *arg;
};
/* Group commit for a mounted file system: metadata operations are
 * committed together every `ms` milliseconds (and at every fsync) instead
 * of one by one.  A daemon crash can then lose the operations of the last
 * `ms` that nothing fsynced, as a kernel crash does on a local file
 * system; nothing fsynced is lost, and the data and metadata stay
 * consistent (data files are only removed or cut after the commit that
 * stops naming them).  0 or not called: every operation commits. */
int fs_set_group_commit(struct fs *fs, unsigned ms);

/* Handles opened with passthrough so far (for stats). */
uint64_t fs_passthrough_count(struct fs *fs);
/* The disk bytes of the file system's local (Standard) data: its backing
 * files' allocation (chunk_local_allocated).  Off the request path. */
int fs_local_allocated(struct fs *fs, uint64_t *ret);

/* True while a cold chunk is being fetched from its store: an operation on
 * that file (even an open or a release) may then wait for the fetch, so the
 * request loop does not count on any operation being quick. */
bool fs_fetching(struct fs *fs);

/* Changes made behind the kernel's back: by the daemon itself (a tier move
 * changes st_blocks, a promotion too), and later by another host.  The
 * FUSE layer installs a callback (fuse/notify.c) that drops what every
 * session's kernel caches of it; whoever makes such a change calls
 * fs_changed once it committed.  What changed, as bits of what:
 *   FS_CHANGE_ATTR   ino's attributes (size, blocks, mode, owner, times, nlink)
 *   FS_CHANGE_DATA   ino's data in [off, off + len) (len 0: to the end); implies ATTR
 *   FS_CHANGE_ENTRY  the name `name` in directory `parent` names another inode
 *                    or none (create, unlink, rename); also parent's attributes
 *                    (ino, if not 0, is the inode it named or names now)
 *   FS_CHANGE_WAIT   the caller holds no backend lock: the callback may wait
 *                    (boundedly) until every kernel has taken the change
 * The callback runs in the caller's thread, which without FS_CHANGE_WAIT may
 * hold the inode's io lock or the metadata lock: it then only queues what it
 * must tell the kernel and returns.  It takes no lock of the backend.  fs_set_change_cb(fs, NULL,
 * NULL) removes it; once that returned the old callback is no longer running. */
#define FS_CHANGE_ATTR  0x1u
#define FS_CHANGE_DATA  0x2u
#define FS_CHANGE_ENTRY 0x4u
#define FS_CHANGE_WAIT  0x8u
struct fs_change {
	unsigned what;
	uint64_t ino;
	uint64_t off, len;              /* FS_CHANGE_DATA */
	uint64_t parent;                /* FS_CHANGE_ENTRY */
	const char *name;               /* FS_CHANGE_ENTRY: at most FS_NAME_MAX bytes */
};
typedef void (*fs_change_cb)(struct fs *fs, const struct fs_change *c, void *arg);
void fs_set_change_cb(struct fs *fs, fs_change_cb cb, void *arg);
void fs_changed(struct fs *fs, const struct fs_change *c);
/* For a regular file ino, its name number nth (0 the first; it has up to
 * FS_LINK_MAX): the directory and the name (FS_NAME_MAX + 1 bytes); -ENOENT
 * when ino is no regular file or has no more names.  (A kernel with the writeback cache keeps its own size and times of
 * a regular file it has cached: a change elsewhere shows only once it drops
 * the inode, which dropping its name does when it is not open.) */
int fs_file_name(struct fs *fs, uint64_t ino, unsigned nth, uint64_t *ret_parent,
		 char *ret_name);

/* Namespace.  Calls that return an entry (ret_st) take one lookup
 * reference on it that fs_forget() drops, as the kernel's nlookup. */
int fs_lookup(struct fs *fs, uint64_t parent, const char *name, struct stat *ret_st);
void fs_forget(struct fs *fs, uint64_t ino, uint64_t nlookup);
/* Takes one lookup reference on ino, as if the kernel had looked it up,
 * and fills its attributes: a session holds its root directory this way
 * so that it stays while mounted even if removed meanwhile. */
int fs_ref(struct fs *fs, uint64_t ino, struct stat *ret_st);

int fs_getattr(struct fs *fs, uint64_t ino, struct stat *ret_st);

/* Bits of `to_set` (same values as FUSE_SET_ATTR_*). */
#define FS_SET_MODE      (1 << 0)
#define FS_SET_UID       (1 << 1)
#define FS_SET_GID       (1 << 2)
#define FS_SET_SIZE      (1 << 3)
#define FS_SET_ATIME     (1 << 4)
#define FS_SET_MTIME     (1 << 5)
#define FS_SET_ATIME_NOW (1 << 7)
#define FS_SET_MTIME_NOW (1 << 8)
#define FS_SET_CTIME     (1 << 10)
/* With the change, drop privileges as the kernel would if it did it (FUSE
 * handle_killpriv_v2): clear set-user-ID, set-group-ID on a group-executable
 * file, and on a size change the security.capability xattr.  The kernel
 * asks for it on chown of a file, and on truncate by a caller without
 * CAP_FSETID. */
#define FS_SET_KILL_SUIDGID (1 << 11)
int fs_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set,
	       struct stat *ret_st);

/* Before or after a write when the file system drops privileges itself
 * (handle_killpriv_v2): removes the security.capability xattr of a regular
 * file and, with suidgid (the writer lacks CAP_FSETID), its set-user-ID bit
 * and the set-group-ID bit of a group-executable file.  Commits only a
 * change, at once rather than with the group (the write follows), and then
 * sets *ret_changed (may be NULL) to true: the kernel's cached mode is
 * stale. */
int fs_kill_priv(struct fs *fs, uint64_t ino, bool suidgid, bool *ret_changed);

int fs_readlink(struct fs *fs, uint64_t ino, char *buf, size_t len, size_t *ret_len);
int fs_mknod(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     mode_t mode, dev_t rdev, struct stat *ret_st);
int fs_mkdir(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	     mode_t mode, struct stat *ret_st);
int fs_symlink(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	       const char *target, struct stat *ret_st);
int fs_link(struct fs *fs, const struct fs_ctx *ctx, uint64_t ino, uint64_t newparent,
	    const char *newname, struct stat *ret_st);
int fs_unlink(struct fs *fs, uint64_t parent, const char *name);
int fs_rmdir(struct fs *fs, uint64_t parent, const char *name);
/* flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE */
int fs_rename(struct fs *fs, uint64_t parent, const char *name, uint64_t newparent,
	      const char *newname, unsigned flags);

/* Directories: cookies are stable across modification. fill returns
 * non-zero when its buffer is full (that entry is not consumed).  With
 * plus, st is filled and a lookup reference is taken for each consumed
 * entry other than "." and "..". */
typedef int (*fs_fill_cb)(const char *name, const struct stat *st, uint64_t next, void *arg);
/* A directory stream lists the entries that existed when it was opened (or
 * rewound: cookie 0) and not removed since; entries created meanwhile are
 * left out, which POSIX allows and which keeps "for each entry, create
 * one" loops finite.  snapshot is in/out: fs_opendir sets it, readdir at
 * cookie 0 renews it. */
int fs_readdir(struct fs *fs, uint64_t dir, uint64_t cookie, uint64_t *snapshot, bool plus,
	       fs_fill_cb fill, void *arg);
int fs_opendir(struct fs *fs, uint64_t ino, uint64_t *ret_snapshot);
int fs_fsyncdir(struct fs *fs, uint64_t ino);

/* Files. */
int fs_create(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	      mode_t mode, int flags, struct fs_file **ret_file, struct stat *ret_st);
int fs_open_file(struct fs *fs, uint64_t ino, int flags, struct fs_file **ret_file);
/* Right after fs_create/fs_open_file: switches f to passthrough when it
 * may be (all its data local, no set-user/group-ID bit, no handle of the
 * inode on the daemon path, not O_DIRECT, 1 GiB free on the data disk; or
 * another handle of the inode is open with passthrough already) and
 * returns the backing id to give the kernel, or 0 to keep it on the daemon
 * path (always when pt is NULL).  The id is registered through pt, the
 * serving session's: each session with passthrough handles of the inode
 * has its own, and a session's first such handle while another session's
 * are open stays on the daemon path only if a handle of the inode is on
 * the daemon path already.  While such handles are open, the size and
 * mtime the kernel's writes leave on the backing file are adopted at
 * getattr, fsync, setattr and the last release, and tier moves leave the
 * file alone.  An open counts as an
 * access to the whole file, as reads no longer reach the daemon. */
int fs_file_passthrough(struct fs *fs, struct fs_file *f, const struct fs_passthrough *pt);
/* Right after fs_create/fs_open_file: whether the kernel connection that
 * serves f keeps mtime/ctime of its writes and chooses the offset of
 * O_APPEND writes itself (the writeback cache).  Off unless called. */
void fs_file_set_writeback(struct fs_file *f, bool on);
/* Waits until every unlinked inode that nobody holds any more is removed
 * (rows and data): the purger does it off the request path. */
void fs_purge_wait(struct fs *fs);
void fs_release(struct fs *fs, struct fs_file *f);
int fs_fsync(struct fs *fs, struct fs_file *f, bool datasync);

/* Reads: fills rv with the pieces of [off, off+len) (short at EOF) and
 * holds the inode's I/O lock until fs_read_end(), so that no tier move can
 * punch the data out from under the reply. */
int fs_read_begin(struct fs *fs, struct fs_file *f, off_t off, size_t len, struct fs_rvec *rv);
void fs_read_end(struct fs *fs, struct fs_file *f, struct fs_rvec *rv);

/* Writes: fs_write_begin makes the range local (promotes cold chunks),
 * takes the I/O lock and says where to write, *ret_off (which differs from
 * off for O_APPEND without writeback cache); fs_write copies len bytes from
 * src there (and may be called for several sources in a row, at the next
 * offsets) and returns how many it copied or -errno; fs_write_end records
 * the new size and times and drops the lock (written: the bytes fs_write
 * copied in all, or -errno). */
struct fs_wsrc {
	const void *mem;              /* the bytes, or NULL: */
	int fd;                       /* a pipe to splice them from (FUSE's buffer) */
};
int fs_write_begin(struct fs *fs, struct fs_file *f, off_t off, size_t len, off_t *ret_off);
ssize_t fs_write(struct fs *fs, struct fs_file *f, off_t off, const struct fs_wsrc *src,
		 size_t len);
int fs_write_end(struct fs *fs, struct fs_file *f, off_t off, size_t len, ssize_t written);

int fs_fallocate(struct fs *fs, struct fs_file *f, int mode, off_t off, off_t len);
off_t fs_lseek(struct fs *fs, struct fs_file *f, off_t off, int whence);

int fs_statfs(struct fs *fs, struct statvfs *ret);

/* Extended attributes (names with their namespace prefix, as the kernel
 * sends them).  get/list with size 0 return the size needed.  setxattr:
 * -E2BIG for a value over 64 KiB; -ENOSPC when the inode's names would
 * exceed 64 KiB (what listxattr can return) or its values 256 KiB, or when
 * the data disk is short of space (see struct fs_ctx). */
int fs_setxattr(struct fs *fs, const struct fs_ctx *ctx, uint64_t ino, const char *name,
		const void *value, size_t size, int flags);
int fs_getxattr(struct fs *fs, uint64_t ino, const char *name, void *buf, size_t size,
		size_t *ret_len);
int fs_listxattr(struct fs *fs, uint64_t ino, char *buf, size_t size, size_t *ret_len);
int fs_removexattr(struct fs *fs, uint64_t ino, const char *name);

/* Permission checks for a session that does them itself instead of the
 * kernel (default_permissions sees the caller, not the identity the
 * session forces), as ext4's generic_permission, may_delete and
 * setattr_prepare do without ACLs (efsfs has none: system.* xattrs are
 * EOPNOTSUPP).  Each reads the inodes under meta_lock; the operation
 * that follows runs its own transaction, as the kernel's checks run
 * before the file system's operation.  uid 0 is root: it may read and
 * write anything, search any directory and execute a file with any x bit
 * (CAP_DAC_OVERRIDE), and the owner-only checks pass (CAP_FOWNER,
 * CAP_CHOWN, CAP_FSETID).  A group matches id->gid or one of id->groups.
 * All return 0, -EACCES, -EPERM (owner-only changes), or the lookup's
 * errno (-ENOENT for a missing inode).
 *
 * fs_permission: mask of FS_MAY_* on ino: the owner's, the group's or the
 * others' bits, the first class id belongs to (as ext4: an owner without a
 * bit is refused even if the group has it). */
#define FS_MAY_EXEC  1          /* X_OK; search, for a directory */
#define FS_MAY_WRITE 2          /* W_OK */
#define FS_MAY_READ  4          /* R_OK */
int fs_permission(struct fs *fs, const struct fs_ident *id, uint64_t ino, int mask);
/* Removing or replacing dir/name (unlink, rmdir, rename's source and an
 * existing target): write and search on dir, and in a sticky directory id
 * owns the entry or the directory.  -ENOENT when name is not there (the
 * operation would fail with it anyway). */
int fs_may_delete(struct fs *fs, const struct fs_ident *id, uint64_t dir, const char *name);
/* A rename (flags as fs_rename's): fs_may_delete of the source, and of
 * the target when it exists (else write and search on newparent); a
 * directory moving to another parent needs write permission on itself
 * (its ".." changes); with RENAME_EXCHANGE both are sources. */
int fs_may_rename(struct fs *fs, const struct fs_ident *id, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned flags);
/* A new hard link to ino, as Linux with fs.protected_hardlinks = 1 (its
 * default) allows it: the owner or root, or for a regular file without
 * set-user-ID (or set-group-ID with group x) one who may read and write
 * it; else -EPERM.  The directory it goes into is fs_permission's. */
int fs_may_link(struct fs *fs, const struct fs_ident *id, uint64_t ino);
/* A setattr of ino (to_set: FS_SET_*): chmod, chown and explicit times
 * only by the owner (-EPERM); the owner may give the file one of its own
 * groups, only root another owner; times set to now by the owner or one
 * with write permission (-EACCES); a size change needs write permission
 * unless with_fh (an ftruncate on a descriptor opened for writing; the
 * kernel's writeback cache also sends its times that way).  A mode change
 * that only clears set-user-ID or set-group-ID (what the kernel sends
 * before a write by someone else) needs only write permission.  chmod by
 * one not in the file's (new) group clears S_ISGID in attr->st_mode, as
 * the kernel does. */
int fs_may_setattr(struct fs *fs, const struct fs_ident *id, uint64_t ino, struct stat *attr,
		   int to_set, bool with_fh);
/* An xattr of ino named name: user.* needs read (get) or write (set,
 * remove, with write) permission, exists only on regular files and
 * directories (-ENODATA to get, -EPERM to set), and in a sticky directory
 * only its owner changes it (-EPERM); other namespaces are the kernel's
 * and fs_setxattr's to check (0 here). */
int fs_may_xattr(struct fs *fs, const struct fs_ident *id, uint64_t ino, const char *name,
		 bool write);
/* Whether id belongs to group gid. */
bool fs_ident_in_group(const struct fs_ident *id, gid_t gid);

/* fsck: checks the metadata and the data files; prints each problem with
 * report(); with repair, fixes what can be fixed without loss.  Findings
 * that are not errors (space recovery reclaimed, unused space) are
 * reported too, starting with "note: ".  Returns the number of errors
 * found (0 = clean) or a negative errno. */
int fs_fsck(const struct conf *conf, bool repair, void (*report)(const char *msg, void *arg),
	    void *arg, char *err, size_t errlen);
/* The same checks on a file system the caller opened (fs_open), so that
 * the CLI can check the cold objects (tier_fsck) in the same session. */
int fs_fsck_open(struct fs *fs, bool repair, void (*report)(const char *msg, void *arg),
		 void *arg, char *err, size_t errlen);

/* Access points (backend/fs_ap.c), as EFS's: an id, a PosixUser every
 * request through it runs as, a RootDirectory (with CreationInfo: made on
 * first use), tags.  They live in the metadata, survive remounts and are
 * immutable once created; at most FS_AP_MAX per file system.  Limits and
 * validation follow EFS's CreateAccessPoint (fs_ap_check). */
#define FS_AP_ID_LEN 22             /* "fsap-" + 17 hex digits */
#define FS_AP_MAX 10000
#define FS_AP_PATH_MAX 100          /* RootDirectory Path: characters ... */
#define FS_AP_PATH_DEPTH 4          /* ... and components */
#define FS_AP_TAGS_MAX 50
#define FS_AP_TAG_KEY_MAX 128
#define FS_AP_TAG_VALUE_MAX 256
#define FS_AP_TOKEN_MAX 64          /* ClientToken: 1..64 characters */
struct fs_ap_tag {
	char key[FS_AP_TAG_KEY_MAX + 1];
	char value[FS_AP_TAG_VALUE_MAX + 1];
};
struct fs_access_point {
	char id[FS_AP_ID_LEN + 1];
	struct fs_ident user;
	char path[FS_AP_PATH_MAX + 1];   /* Path, "/" by default */
	bool has_creation;
	uid_t owner_uid;
	gid_t owner_gid;
	mode_t permissions;
	char client_token[FS_AP_TOKEN_MAX + 1];  /* "" when none was given */
	int64_t created;                 /* seconds since the epoch */
	unsigned ntags;
	struct fs_ap_tag tags[FS_AP_TAGS_MAX];
};
/* 0 when ap is what CreateAccessPoint accepts (path, groups, permissions,
 * tags, token), else -EINVAL with err naming the field. */
int fs_ap_check(const struct fs_access_point *ap, char *err, size_t errlen);
/* Creates an access point from ap's fields (id and created are set here
 * and written back).  With a client token that an access point has
 * already: that one's id and creation time when it was made with the same
 * fields (as EFS, idempotent), else -EEXIST.  -EINVAL (fs_ap_check), -EDQUOT
 * past FS_AP_MAX, -EROFS on a read-only open; err says why.  Durable when
 * it returns (also with group commit), as fs_ap_delete. */
int fs_ap_create(struct fs *fs, struct fs_access_point *ap, char *err, size_t errlen);
int fs_ap_get(struct fs *fs, const char *id, struct fs_access_point *ret_ap);   /* -ENOENT */
/* Every access point in creation order; a nonzero return of cb stops the
 * walk and is returned.  Each is read in a hold of the metadata lock of
 * its own and cb runs without it (it may be slow: a control client). */
int fs_ap_list(struct fs *fs, int (*cb)(const struct fs_access_point *ap, void *arg), void *arg);
int fs_ap_delete(struct fs *fs, const char *id);    /* -ENOENT */
/* The directory at path (absolute inside the file system): its inode, with one lookup
 * reference the caller drops with fs_forget.  creation non-NULL: missing components are made
 * with its owner and permissions (the last one) as EFS does; NULL: -ENOENT naming the missing
 * component.  Not a directory: -ENOTDIR.  Used for access points and for NAME:/path mounts. */
int fs_resolve_root(struct fs *fs, const char *path, const struct fs_access_point *creation,
		    uint64_t *ret_ino, char *err, size_t errlen);

#endif
