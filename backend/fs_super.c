/* fs_super.c - the file system as a whole: fs_mkfs, fs_open* (the lock
 * file, recovery of data files and orphans after an unclean shutdown) and
 * fs_close; file system and instance ids, notes, statfs, the accessors
 * layers use (layer.h), and disk-space and usage accounting.
 *
 * Locks (fs.h has the order): fs.space_lock guards space_* (written and
 * read under it); fs.usage_lock guards usage_* (the same); meta_lock
 * (fs_meta_lock, meta_txn) guards every metadata call.  The fields fs_open
 * sets (conf, fs_id, chunk_size, dirfd, datafd, chunks, local, layer,
 * lockfd, read_only, lock_text, notes, recovered_*) are written before the
 * fs is handed out and only read after, until fs_close, which runs when no
 * operation can.  Disk space: see fs_i.h's top comment.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "backend/fs_i.h"
#include "common/log.h"
#include "backend/meta.h"
#include "common/safepath.h"

/* How long an open waits for a holder that is unmounted and closing. */
#define FS_CLOSE_WAIT_MS   10000
#define FS_CLOSE_WAIT_TEXT "10 s"

/* Metadata space (see fs_check_meta_space): the reserve meta_sqlite.c keeps
 * allocated for commits, and the free space below which an operation that
 * grows the metadata fails with ENOSPC: 8 MiB for users, 2 MiB for root
 * (data writes stop at FS_SPACE_RESERVE already).  FS_OP_BYTES is what one
 * operation is taken to add beyond its names, target or value. */
#define FS_META_RESERVE    (8ull << 20)
#define FS_META_USER_FLOOR (8ull << 20)
#define FS_META_ROOT_FLOOR (2ull << 20)
#define FS_OP_BYTES        (64u << 10)

int64_t fs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct timespec fs_now_ts(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fs_note(struct fs *fs, const char *fmt, ...)
{
	size_t n = strlen(fs->notes);
	va_list ap;

	if (n + 2 >= sizeof(fs->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(fs->notes + n, sizeof(fs->notes) - n - 1, fmt, ap);
	va_end(ap);
	strcat(fs->notes, "\n");
}

const char *fs_notes(const struct fs *fs)
{
	return fs->notes;
}

void fs_meta_lock(struct fs *fs)
{
	meta_lock(fs->meta);
}

void fs_meta_unlock(struct fs *fs)
{
	meta_unlock(fs->meta);
}

/* Commits the open group; meta_lock held.  For the moments when an effect
 * outside the database (unlinking or cutting a data file) must wait until
 * the metadata that stops naming it is committed. */
int fs_meta_flush_locked(struct fs *fs)
{
	int r = meta_flush(fs->meta);

	if (r < 0)
		log_err("%s: committing metadata: %s (%s)%s", fs->conf->name, strerror(-r),
			meta_errmsg(fs->meta),
			meta_broken(fs->meta) ? "; the operations of the last moments are lost and "
						"changes are refused until the next mount" : "");
	return r;
}

/* What the metadata engine's own commits of a group report. */
static void meta_report(const char *msg, void *arg)
{
	struct fs *fs = arg;

	log_err("%s: %s", fs->conf->name, msg);
}

int fs_set_group_commit(struct fs *fs, unsigned ms)
{
	if (ms == 0)
		return 0;
	meta_set_report(fs->meta, meta_report, fs);
	return meta_set_group(fs->meta, (int64_t)ms * 1000000);
}

/* Whether the caller may grow the metadata by about `bytes` (names, a
 * symlink target, an xattr value) now; meta_lock held, inside the
 * operation's transaction.  -ENOSPC when the free space on the data disk,
 * less what the open group and data writes in flight may still take, is
 * below the caller's floor (root's is lower, as ext4 keeps blocks for uid
 * 0; ctx NULL is the daemon itself), or when the reserve is not whole and
 * cannot be made whole.  Every operation that acknowledges new metadata
 * passes here first, so the reserve only covers what was admitted (see
	 * meta_sqlite.c's top comment).  Takes space_lock (inside meta_lock). */
int fs_check_meta_space(struct fs *fs, const struct fs_ctx *ctx, uint64_t bytes)
{
	bool root = !ctx || ctx->uid == 0;
	uint64_t need = (root ? FS_META_ROOT_FLOOR : FS_META_USER_FLOOR) + FS_OP_BYTES + bytes +
			meta_pending(fs->meta);
	uint64_t missing = meta_reserve_missing(fs->meta);
	/* root may use the blocks the data disk keeps for uid 0 (the daemon
	 * writes as root), as on ext4; users only what statvfs says they may */
	uint64_t *free_ = root ? &fs->space_free_root : &fs->space_free;
	int r = 0;

	pthread_mutex_lock(&fs->space_lock);
	fs_space_update(fs, *free_ < need + missing + (256ull << 20));
	if (*free_ < need + missing + fs->space_inflight) {
		r = -ENOSPC;
	} else if (missing) {
		/* space came back: complete the reserve before anything grows */
		r = meta_reserve_fill(fs->meta);
		fs_space_update(fs, true);
		if (r < 0 || *free_ < need + fs->space_inflight)
			r = -ENOSPC;
	}
	/* for the operator, at most once a minute: why changes get ENOSPC */
	if (r == -ENOSPC && mono_ns() - fs->space_warned_ns > 60000000000LL) {
		fs->space_warned_ns = mono_ns();
		log_warn("%s: a change of the metadata was refused (ENOSPC): the data disk has "
			 "%" PRIu64 " bytes free for %s, %" PRIu64 " are kept for the metadata and "
			 "its reserve (short by %" PRIu64 ")", fs_id(fs), *free_,
			 root ? "root" : "users", need + missing + fs->space_inflight, missing);
	}
	pthread_mutex_unlock(&fs->space_lock);
	return r;
}

const char *fs_id(const struct fs *fs)
{
	return fs->fs_id;
}

uint64_t fs_chunk_size(const struct fs *fs)
{
	return fs->chunk_size;
}

bool fs_read_only(const struct fs *fs)
{
	return fs->read_only;
}

const struct conf *fs_conf(const struct fs *fs)
{
	return fs->conf;
}

bool fs_fetching(struct fs *fs)
{
	return atomic_load(&fs->fetching) != 0;
}

void fs_fetching_add(struct fs *fs, int n)
{
	atomic_fetch_add(&fs->fetching, (unsigned)n);
}

struct chunk_store *fs_chunks(struct fs *fs)
{
	return fs->chunks;
}

void fs_chunks_set(struct fs *fs, struct chunk_store *cs)
{
	fs->chunks = cs;
}

struct meta *fs_meta(struct fs *fs)
{
	return fs->meta;
}

int fs_txn(struct fs *fs, int (*body)(struct meta *m, void *arg), void *arg)
{
	return meta_txn(fs->meta, body, arg);
}

int fs_meta_flush(struct fs *fs)
{
	int r;

	fs_meta_lock(fs);
	r = meta_flush(fs->meta);
	fs_meta_unlock(fs);
	return r;
}

/* Asks statvfs for the free space when `always` or the last answer is
 * more than 100 ms old; space_lock held. */
void fs_space_update(struct fs *fs, bool always)
{
	int64_t now = mono_ns();
	struct statvfs sv;

	if ((always || now - fs->space_checked_ns > 100000000) && fstatvfs(fs->datafd, &sv) == 0) {
		fs->space_free = (uint64_t)sv.f_bavail * sv.f_frsize;
		fs->space_free_root = (uint64_t)sv.f_bfree * sv.f_frsize;
		fs->space_checked_ns = now;
	}
}

static void usage(struct fs *fs, uint64_t *ret_bytes, uint64_t *ret_files)
{
	int64_t now = mono_ns();

	pthread_mutex_lock(&fs->usage_lock);
	if (fs->usage_checked_ns == 0 || now - fs->usage_checked_ns > 5000000000LL) {
		struct meta_usage u;

		fs_meta_lock(fs);
		if (meta_usage(fs->meta, &u) == 0) {
			fs->usage_bytes = u.bytes;
			fs->usage_files = u.inodes;
		}
		fs_meta_unlock(fs);
		fs->usage_checked_ns = now;
	}
	*ret_bytes = fs->usage_bytes;
	*ret_files = fs->usage_files;
	pthread_mutex_unlock(&fs->usage_lock);
}

int fs_statfs(struct fs *fs, struct statvfs *ret)
{
	uint64_t bytes, files;

	if (fs->conf->statfs == CONF_STATFS_LOCAL) {
		if (fstatvfs(fs->datafd, ret) < 0)
			return -errno;
		ret->f_namemax = FS_NAME_MAX;
		return 0;
	}
	/* As EFS: 8 EiB, less what is stored. */
	usage(fs, &bytes, &files);
	memset(ret, 0, sizeof(*ret));
	ret->f_bsize = 1 << 20;
	ret->f_frsize = 4096;
	ret->f_blocks = (8ull << 60) / 4096;
	ret->f_bfree = ret->f_blocks - (bytes + 4095) / 4096;
	ret->f_bavail = ret->f_bfree;
	ret->f_files = 1ull << 48;
	ret->f_ffree = ret->f_files - files;
	ret->f_favail = ret->f_ffree;
	ret->f_namemax = FS_NAME_MAX;
	return 0;
}

/* mkdir name 0700 in dirfd unless there; then it must be ours, not a
 * symbolic link, and is made private (safepath.h).  shown: for messages. */
static int mkdir_private(int dirfd, const char *name, const char *shown, char *err,
			 size_t errlen)
{
	bool tightened = false;
	int r;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		return r;
	}
	return safe_entry_tighten(dirfd, name, shown, &tightened, err, errlen);
}

/* The entries of DATA_DIR (and every DATA_DIR/data/XX) must be ours and no
 * symbolic links; group/other access is taken away, and noted. */
static int tighten_entries(struct fs *fs, char *err, size_t errlen)
{
	static const char *const names[] = {
		"meta.db", "meta.db-wal", "meta.db-shm", "lock", "data", NULL
	};
	const char *dir = fs->conf->data_dir;
	unsigned n = 0;
	char shown[4096];
	int r;

	for (int i = 0; names[i]; i++) {
		bool t = false;

		snprintf(shown, sizeof(shown), "%s/%s", dir, names[i]);
		r = safe_entry_tighten(fs->dirfd, names[i], shown, &t, err, errlen);
		if (r < 0 && r != -ENOENT)
			return r;
		n += t;
	}
	for (int i = 0; i < 256; i++) {
		char sub[8];
		bool t = false;

		snprintf(sub, sizeof(sub), "%02x", i);
		snprintf(shown, sizeof(shown), "%s/data/%s", dir, sub);
		r = safe_entry_tighten(fs->datafd, sub, shown, &t, err, errlen);
		if (r < 0 && r != -ENOENT)
			return r;
		n += t;
	}
	if (n)
		fs_note(fs, "%s: %u entr%s gave group or others access; tightened to owner only",
			dir, n, n == 1 ? "y" : "ies");
	return 0;
}

/* n random hex digits into out (NUL-terminated). */
static int random_hex(char *out, int n)
{
	unsigned char rnd[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	for (int i = 0; i < n && i < 32; i++)
		out[i] = "0123456789abcdef"[(rnd[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[n] = '\0';
	return 0;
}

int fs_make_id(char out[FS_ID_LEN + 1])
{
	memcpy(out, "fs-", 3);
	return random_hex(out + 3, FS_ID_LEN - 3);
}

int fs_make_instance(char out[FS_INSTANCE_LEN + 1])
{
	memcpy(out, "i-", 2);
	return random_hex(out + 2, FS_INSTANCE_LEN - 2);
}

/* An encrypted file system's key: 32 random bytes as 64 hex digits, made
 * once (an existing key file is kept: it may be shared or restored). */
static int make_key_file(const char *path, char *err, size_t errlen)
{
	unsigned char key[32];
	char hex[66];
	int fd, ufd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = safe_key_check(fd, path, err, errlen);
		close(fd);
		return r;
	}
	ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (ufd < 0)
		return -errno;
	if (read(ufd, key, sizeof(key)) != (ssize_t)sizeof(key))
		r = -EIO;
	close(ufd);
	if (r < 0)
		return r;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[64] = '\n';
	memset(key, 0, sizeof(key));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		r = -errno;
	else if (write(fd, hex, 65) != 65 || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	memset(hex, 0, sizeof(hex));
	if (r < 0)
		snprintf(err, errlen, "key_file %s: %s", path, strerror(-r));
	return r;
}

struct mkfs_txn {
	const struct conf *conf;
	struct meta_inode root;
	const char *id, *inst;
	uint64_t chunk_size;
};

/* The root directory and the fs settings of a new file system. */
static int mkfs_body(struct meta *m, void *arg)
{
	struct mkfs_txn *t = arg;
	struct meta_inode root = t->root;
	char num[32];
	int r;

	snprintf(num, sizeof(num), "%" PRIu64, t->chunk_size);
	r = meta_inode_insert(m, &root, NULL, 0);
	if (!r && root.ino != META_ROOT_INO)
		r = -EIO;
	if (!r)
		r = meta_set_kv(m, "fs_id", t->id);
	if (!r)
		r = meta_set_kv(m, "instance_id", t->inst);     /* tier/owner.c */
	if (!r)
		r = meta_set_kv(m, "instance_since", "0");
	if (!r)
		r = meta_set_kv(m, "chunk_size", num);
	if (!r)
		r = meta_set_kv(m, "name", t->conf->name);
	if (!r)
		r = meta_set_kv(m, "encrypted", t->conf->encrypted ? "1" : "0");
	if (!r)
		r = meta_set_kv(m, "clean", "1");
	if (!r) {
		snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
		r = meta_set_kv(m, "created", num);
	}
	return r;
}

int fs_mkfs(const struct conf *conf, const struct fs_ctx *ctx, uint64_t chunk_size,
	    char *ret_id, char *err, size_t errlen)
{
	char path[4096], url[4200], id[FS_ID_LEN + 1], inst[FS_INSTANCE_LEN + 1], num[32];
	struct meta *m = NULL;
	struct meta_inode root;
	int dfd = -1, datafd = -1, r;

	if (chunk_size == 0)
		chunk_size = conf->chunk_size ? conf->chunk_size : FS_DEFAULT_CHUNK;
	if (chunk_size < 65536 || chunk_size > (64u << 20) || (chunk_size & (chunk_size - 1))) {
		snprintf(err, errlen, "chunk size %" PRIu64 " is not a power of two between 64 KiB "
			 "and 64 MiB", chunk_size);
		return -EINVAL;
	}
	/* data_dir: made 0700, or checked and made private (safepath.h) */
	r = safe_dir_open(conf->data_dir, SAFE_CREATE | SAFE_TIGHTEN, &dfd, NULL, 0, err, errlen);
	if (r < 0)
		return r;
	if (fstatat(dfd, "meta.db", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(err, errlen, "%s: a file system exists here already", conf->data_dir);
		r = -EEXIST;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/data", conf->data_dir);
	r = mkdir_private(dfd, "data", path, err, errlen);
	if (r < 0)
		goto out;
	datafd = openat(dfd, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (datafd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (int i = 0; !r && i < 256; i++) {
		snprintf(num, sizeof(num), "%02x", i);
		snprintf(path, sizeof(path), "%s/data/%s", conf->data_dir, num);
		r = mkdir_private(datafd, num, path, err, errlen);
	}
	if (r < 0)
		goto out;
	r = fs_make_id(id);
	if (!r)
		r = fs_make_instance(inst);
	if (r < 0) {
		snprintf(err, errlen, "/dev/urandom: %s", strerror(-r));
		goto out;
	}
	if (conf->encrypted) {
		r = make_key_file(conf->key_file, err, errlen);
		if (r < 0)
			goto out;
	}
	/* meta.db is created last, under a temporary name, so that a crash
	 * during mkfs leaves no half file system that mount would accept.
	 * It is made 0600 whatever the umask: SQLite gives -wal and -shm the
	 * mode of the database. */
	snprintf(path, sizeof(path), "%s/meta.db.new", conf->data_dir);
	unlinkat(dfd, "meta.db.new", 0);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	r = meta_open(url, META_CREATE, &m, err, errlen);
	if (r < 0)
		goto out;
	if (fchmodat(dfd, "meta.db.new", 0600, 0) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		meta_close(m);
		goto out;
	}
	memset(&root, 0, sizeof(root));
	root.mode = S_IFDIR | 0755;
	root.uid = ctx->uid;
	root.gid = ctx->gid;
	root.nlink = 2;
	root.atime = root.mtime = root.ctime = root.btime = fs_now_ts();
	r = meta_txn(m, mkfs_body, &(struct mkfs_txn){
		.conf = conf, .root = root, .id = id, .inst = inst, .chunk_size = chunk_size,
	});
	if (!r) {
		meta_lock(m);
		r = meta_checkpoint(m);
		meta_unlock(m);
	}
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, meta_errmsg(m));
	meta_close(m);
	if (!r) {
		if (renameat(dfd, "meta.db.new", dfd, "meta.db") < 0) {
			r = -errno;
			snprintf(err, errlen, "%s/meta.db: %s", conf->data_dir, strerror(errno));
		} else {
			fsync(dfd);
		}
	}
	if (!r)
		memcpy(ret_id, id, FS_ID_LEN + 1);
out:
	if (datafd >= 0)
		close(datafd);
	close(dfd);
	return r;
}

struct kv_txn {
	const char *key, *value;
};

static int kv_body(struct meta *m, void *arg)
{
	struct kv_txn *t = arg;

	return meta_set_kv(m, t->key, t->value);
}

static int orphan_body(struct meta *m, void *arg)
{
	return meta_inode_delete(m, *(uint64_t *)arg);
}

static int purge_orphan(uint64_t ino, void *arg)
{
	struct fs *fs = arg;
	int r;

	r = meta_txn(fs->meta, orphan_body, &ino);
	if (r < 0)
		return r;
	return fs->chunks->ops->remove(fs->chunks, ino);
}

/* After an unclean shutdown: local copies of chunks that were demoted just
 * before the crash (tier/move.c step 5) are punched out. */
static int punch_cold(const struct meta_chunk *c, void *arg)
{
	struct fs *fs = arg;
	struct chunk_store *cs = fs->local;
	struct chunk_file *cf;

	if (c->class == META_STANDARD)
		return 0;
	if (cs->ops->open(cs, c->ino, 0, CHUNK_OPEN_EXISTING, &cf) < 0)
		return 0;
	/* on failure the space stays used; the data is right either way */
	cs->ops->punch(cs, cf, c->idx * fs->chunk_size, fs->chunk_size);
	cs->ops->close(cs, cf);
	return 0;
}

/* After an unclean shutdown: data whose inode is gone is removed, and a
 * data file longer than its inode's recorded size is cut back to it: it
 * holds writes whose size change never committed (passthrough writes not
 * yet adopted, a write between data and metadata), which nothing names.
 * Counted for fsck's report. */
static int recover_one(uint64_t ino, void *arg)
{
	struct fs *fs = arg;
	struct meta_inode mi;
	uint64_t freed = 0;
	int r;

	r = meta_inode_get(fs->meta, ino, &mi);
	if (r == -ENOENT) {
		fs->local->ops->remove(fs->local, ino);
		return 0;
	}
	if (r < 0 || !S_ISREG(mi.mode))
		return 0;
	/* written while open when it stopped: what its last close recorded
	 * may be behind (a failure leaves it, as the crash did) */
	if (mi.blocks >= 0)
		meta_inode_set_blocks(fs->meta, ino, -1);
	if (fs->local->ops->fix_size(fs->local, ino, mi.size, true, &freed) == 1) {
		/* a failure here: the next open of the file cuts it too */
		fs->recovered_files++;
		fs->recovered_bytes += freed;
	}
	return 0;
}

static int recover_data(struct fs *fs)
{
	return fs->local->ops->recover(fs->local, recover_one, fs);
}

/* Whether the lock text (buf) names a holder that is letting go: a daemon
 * whose mount point is no longer mounted (umount returns before the daemon
 * has closed the file system), or a text being rewritten (empty).  A
 * holder without a mount point (an efsfs tool) or still mounted is not. */
static bool lock_holder_closing(const char *buf)
{
	const char *m = strstr(buf, "mountpoint=");
	char dir[4096];
	struct mntent ent, *e;
	char line[8192];
	bool mounted = false;
	size_t n;
	FILE *f;

	if (!buf[0])
		return true;
	if (!m || m[11] != '/')
		return false;
	n = strcspn(m + 11, "\n");
	if (n >= sizeof(dir))
		return false;
	memcpy(dir, m + 11, n);
	dir[n] = '\0';
	f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return false;
	while ((e = getmntent_r(f, &ent, line, sizeof(line))))
		if (strcmp(e->mnt_dir, dir) == 0)
			mounted = true;
	endmntent(f);
	return !mounted;
}

/* Takes the lock of the file system: a flock on the data directory
 * (dirfd), which works in a read-only directory too; exclusive, or shared
 * among read-only openers.  The holder writes who it is into DATA_DIR/lock
 * (lockfd, -1 when there is none).
 * When the holder is closing (see above), waits for it up to
 * FS_CLOSE_WAIT_MS, so that `umount DIR; efsfs mount NAME DIR` works.
 * -EBUSY with the holder's text in buf (len bytes, NUL-terminated) when it
 * stays held. */
static int take_lock(int dirfd, int lockfd, bool shared, char *buf, size_t len)
{
	int64_t deadline = mono_ns() + FS_CLOSE_WAIT_MS * 1000000LL;
	ssize_t n;

	int op = (shared ? LOCK_SH : LOCK_EX) | LOCK_NB;

	for (;;) {
		/* the lock file too: earlier efsfs binaries locked only that */
		if (flock(dirfd, op) == 0) {
			int e;

			if (lockfd < 0 || flock(lockfd, op) == 0)
				return 0;
			e = errno;
			flock(dirfd, LOCK_UN);
			errno = e;
		}
		if (errno != EWOULDBLOCK) {
			buf[0] = '\0';
			return -errno;
		}
		n = lockfd >= 0 ? pread(lockfd, buf, len - 1, 0) : 0;
		buf[n > 0 ? n : 0] = '\0';
		if (!lock_holder_closing(buf) || mono_ns() >= deadline)
			return -EBUSY;
		usleep(10000);
	}
}

int fs_lock_note(struct fs *fs, const char *mountpoint)
{
	char buf[4200];
	int n;

	if (!fs->lock_text)
		return 0;
	n = snprintf(buf, sizeof(buf), "pid=%d\nmountpoint=%s\n", (int)getpid(), mountpoint);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	/* over the old text, then cut: a reader sees the old or the new
	 * mount point, or a text it waits out (lock_holder_closing) */
	if (pwrite(fs->lockfd, buf, (size_t)n, 0) != n || ftruncate(fs->lockfd, n) < 0)
		return -errno;
	return 0;
}

int fs_open(const struct conf *conf, const char *mountpoint, struct fs **ret, char *err,
	    size_t errlen)
{
	return fs_open_flags(conf, mountpoint, 0, ret, err, errlen);
}

int fs_open_flags(const struct conf *conf, const char *mountpoint, unsigned flags,
		  struct fs **ret, char *err, size_t errlen)
{
	return fs_open_layer(conf, mountpoint, flags, NULL, ret, err, errlen);
}

int fs_open_layer(const struct conf *conf, const char *mountpoint, unsigned flags,
		  const struct fs_layer *layer, struct fs **ret, char *err, size_t errlen)
{
	char path[4096], url[4200], buf[512];
	bool ro = flags & FS_OPEN_RDONLY;
	struct fs *fs;
	ssize_t n;
	int r;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->conf = (struct conf *)conf;
	fs->layer = layer;
	fs->dirfd = fs->datafd = fs->lockfd = -1;
	pthread_mutex_init(&fs->itab_lock, NULL);
	pthread_mutex_init(&fs->space_lock, NULL);
	pthread_mutex_init(&fs->usage_lock, NULL);
	pthread_mutex_init(&fs->change_lock, NULL);

	/* data_dir must be ours, under directories only root or we can change;
	 * group/other access to it is taken away, and noted (safepath.h) */
	r = safe_dir_open(conf->data_dir, ro ? 0 : SAFE_TIGHTEN, &fs->dirfd, buf, sizeof(buf),
			  err, errlen);
	if (r < 0) {
		fs->dirfd = -1;
		if (r == -ENOENT)
			snprintf(err, errlen, "%s: no file system '%s' here; create it with "
				 "'efsfs mkfs %s'", conf->data_dir, conf->name, conf->name);
		goto fail;
	}
	if (buf[0])
		fs_note(fs, "%s", buf);
	if (faccessat(fs->dirfd, "meta.db", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -ENOENT;
		snprintf(err, errlen, "%s: no file system '%s' here; create it with 'efsfs mkfs %s'",
			 conf->data_dir, conf->name, conf->name);
		goto fail;
	}
	fs->read_only = ro;
	/* Read-only: the lock file is not made, and only a mount writes its
	 * text in it, when it can (in a read-only directory it cannot). */
	if (!ro)
		fs->lockfd = openat(fs->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
				    0600);
	else if (!mountpoint || (fs->lockfd = openat(fs->dirfd, "lock", O_RDWR | O_NOFOLLOW |
								   O_CLOEXEC)) < 0)
		fs->lockfd = openat(fs->dirfd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fs->lockfd < 0 && !(ro && errno == ENOENT)) {
		r = -errno;
		snprintf(err, errlen, "%s/lock: %s%s", conf->data_dir, strerror(errno),
			 errno == EROFS ? " (a read-only data directory can only be mounted "
			 "with -o ro)" : "");
		goto fail;
	}
	r = take_lock(fs->dirfd, fs->lockfd, ro, buf, sizeof(buf));
	if (r < 0) {
		bool closing = r == -EBUSY && lock_holder_closing(buf);

		for (char *p = buf; *p; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(err, errlen, "file system '%s' (%s) is in use: %s%s", conf->name,
			 conf->data_dir, buf[0] ? buf : "locked by another process ",
			 closing ? "(unmounted, but still closing after " FS_CLOSE_WAIT_TEXT ")" : "");
		goto fail;
	}
	n = snprintf(buf, sizeof(buf), "pid=%d\nmountpoint=%s\n", (int)getpid(),
		     mountpoint ? mountpoint : "(none: efsfs tool)");
	fs->lock_text = !ro || (mountpoint && fs->lockfd >= 0 &&
				(fcntl(fs->lockfd, F_GETFL) & O_ACCMODE) == O_RDWR);
	if (fs->lock_text &&
	    (ftruncate(fs->lockfd, 0) < 0 || pwrite(fs->lockfd, buf, (size_t)n, 0) != n)) {
		r = -errno;
		snprintf(err, errlen, "%s/lock: %s", conf->data_dir, strerror(errno));
		goto fail;
	}
	fs->datafd = openat(fs->dirfd, "data", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fs->datafd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s/data: %s", conf->data_dir, strerror(errno));
		goto fail;
	}
	/* Read-only changes no mode: the data directory itself passed
	 * safe_dir_open without SAFE_TIGHTEN, so nobody else can reach what is
	 * in it whatever the entries' modes (a snapshot of an older efsfs may
	 * have meta.db 0644 and cannot be changed). */
	r = ro ? 0 : tighten_entries(fs, err, errlen);
	if (r < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/meta.db", conf->data_dir);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	r = meta_open(url, ro ? META_RDONLY | (faccessat(fs->dirfd, ".", W_OK, AT_EACCESS) == 0 ?
					       0 : META_DIR_RDONLY) : 0,
		      &fs->meta, err, errlen);
	if (r < 0)
		goto fail;
	/* On a full disk the reserve stays short, and fs_check_meta_space refuses
	 * growth until deleting files made room to complete it.  A read-only
	 * open grows nothing and leaves the reserve file as it is. */
	if (!ro)
		meta_reserve(fs->meta, FS_META_RESERVE);
	r = meta_get_kv(fs->meta, "fs_id", fs->fs_id, sizeof(fs->fs_id));
	if (!r)
		r = meta_get_kv(fs->meta, "chunk_size", buf, sizeof(buf));
	if (r < 0) {
		snprintf(err, errlen, "%s: missing fs_id or chunk_size: %s", path, strerror(-r));
		goto fail;
	}
	fs->chunk_size = strtoull(buf, NULL, 10);
	if (fs->chunk_size < 65536 || (fs->chunk_size & (fs->chunk_size - 1))) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: bad chunk_size '%s'", path, buf);
		goto fail;
	}
	r = chunk_local_open(fs->datafd, fs->chunk_size, ro, &fs->local);
	if (r < 0) {
		snprintf(err, errlen, "%s/data: %s", conf->data_dir, strerror(-r));
		goto fail;
	}
	fs->chunks = fs->local;
	/* read-only: no recovery; a chunk also still local after a crash is
	 * read from its object, data files are never cut */
	if (!ro && (meta_get_kv(fs->meta, "clean", buf, sizeof(buf)) < 0 ||
		    strcmp(buf, "1") != 0)) {
		r = recover_data(fs);
		if (!r)
			r = meta_chunk_each(fs->meta, 0, punch_cold, fs);
		if (r < 0) {
			snprintf(err, errlen, "%s/data: recovery: %s", conf->data_dir, strerror(-r));
			goto fail;
		}
	}
	r = fs->layer ? fs->layer->open(fs, flags, err, errlen) : 0;
	if (r < 0)
		goto fail;
	if (ro) {
		*ret = fs;
		return 0;
	}
	if (fs_purger_start(fs) < 0)
		log_debug("%s: no purger thread: unlinked files are removed on the request path",
			  conf->data_dir);
	/* This mount's session first: orphans are removed only for sessions
	 * that are gone, and this one is not. */
	r = meta_session_start(fs->meta, NULL);
	if (r == -ENOSPC)
		r = 0;       /* a full disk: as for the mark below (orphans then name none) */
	if (!r) {
		fs_meta_lock(fs);
		r = meta_orphans(fs->meta, purge_orphan, fs);
		if (!r)
			r = meta_txn(fs->meta, kv_body, &(struct kv_txn){ "clean", "0" });
		if (!r)
			r = meta_sync(fs->meta);
		fs_meta_unlock(fs);
	}
	/* A full data disk must not lock the user out: without the mark, a
	 * crash later only leaves unused space for the next recovery, and
	 * deleting files is what frees the disk. */
	if (r == -ENOSPC)
		r = 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: recovery: %s (%s)", path, strerror(-r),
			 meta_errmsg(fs->meta));
		goto fail;
	}
	*ret = fs;
	return 0;
fail:
	fs->conf = NULL;
	fs_close(fs);
	return r;
}

void fs_close(struct fs *fs)
{
	if (!fs)
		return;
	fs_purger_stop(fs);                  /* purges what is queued */
	if (fs->meta)
		meta_set_group(fs->meta, 0);     /* commits what is open */
	if (fs->layer)
		fs->layer->stop(fs);
	for (int i = 0; i < FS_ITAB_BUCKETS; i++) {
		while (fs->itab[i]) {
			struct fs_inode *in = fs->itab[i];

			fs->itab[i] = in->next;
			/* Still open with passthrough when the daemon stopped (a
			 * SIGTERM, or a RELEASE still queued when the connection
			 * ended): commit what the kernel wrote, as the last
			 * release would have, or a clean stop would lose it. */
			if (fs->meta) {
				fs_pt_refresh_last(fs, in);
				fs_inode_record_blocks(fs, in);
			}
			while (in->pt_regs) {
				struct fs_pt_reg *reg = in->pt_regs;

				in->pt_regs = reg->next;
				free(reg);     /* the connection and its ids are gone */
			}
			fs->chunks->ops->close(fs->chunks, in->cf);
			/* unlinked inodes still held are removed at the next mount */
			pthread_rwlock_destroy(&in->io);
			pthread_mutex_destroy(&in->lock);
			free(in);
		}
	}
	if (fs->layer)
		fs->layer->close(fs);
	if (fs->meta && fs->conf && !fs->read_only) {
		meta_session_end(fs->meta);      /* a clean unmount: gone, and its orphans */
		fs_meta_lock(fs);
		meta_checkpoint(fs->meta);
		meta_txn(fs->meta, kv_body, &(struct kv_txn){ "clean", "1" });
		meta_sync(fs->meta);
		fs_meta_unlock(fs);
	}
	meta_close(fs->meta);
	chunk_local_close(fs->local);
	if (fs->lockfd >= 0) {
		if (fs->conf && fs->lock_text && ftruncate(fs->lockfd, 0) < 0) {
			/* a stale text is harmless: the flock is what counts */
		}
		close(fs->lockfd);
	}
	if (fs->datafd >= 0)
		close(fs->datafd);
	if (fs->dirfd >= 0)
		close(fs->dirfd);
	pthread_mutex_destroy(&fs->itab_lock);
	pthread_mutex_destroy(&fs->space_lock);
	pthread_mutex_destroy(&fs->usage_lock);
	pthread_mutex_destroy(&fs->change_lock);
	free(fs);
}

int fs_local_allocated(struct fs *fs, uint64_t *ret)
{
	return chunk_local_allocated(fs->datafd, ret);
}
