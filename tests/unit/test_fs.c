/* tests/unit/test_fs.c - unit tests of backend/fs_*.c and backend/fsck.c
 * through the fs_* API (no FUSE): mkfs/open/lock, POSIX semantics of files
 * and directories (sizes, holes, O_APPEND, open-unlinked files, rename
 * flags, link and name limits, setgid directories, readdir snapshots),
 * the permission checks of fs_perm.c, xattrs, statfs, lseek and fallocate, crash recovery and fsck. */
#include "tests/unit/testdir.h"
#include "tests/unit/testfs.h"
#include "common/conf.h"
#include "backend/fs.h"
#include "backend/fs_i.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define ROOT  1
#define CHUNK 65536u

static char tmp_dir[4096];
static char data_dir[4200];
static char fs_id_buf[FS_ID_LEN + 1];
static struct conf *conf;
static struct fs *fs;
static const struct fs_ctx ctx = { 1234, 5678 };

/* ---- fixture ---- */

static void setup_mkfs(void)
{
	conf = tfs_make("[t]\ndata_dir = @TMP@/fs\n", &ctx, CHUNK, tmp_dir, sizeof(tmp_dir),
			fs_id_buf, NULL);
	snprintf(data_dir, sizeof(data_dir), "%s/fs", tmp_dir);
	ck_assert_str_eq(conf->data_dir, data_dir);
}

static void fs_reopen(const char *mountpoint)
{
	fs_close(fs);
	fs = NULL;
	fs = tfs_open(conf, mountpoint);
}

static void setup_open(void)
{
	setup_mkfs();
	fs_reopen(NULL);
}

static void teardown(void)
{
	fs_close(fs);
	fs = NULL;
	conf_free(conf);
	conf = NULL;
	testdir_remove(tmp_dir);
}

/* ---- helpers ---- */

/* DATA_DIR/data/XX/<ino:016x>, as fs.h documents. */
static void data_path(uint64_t ino, char *buf, size_t len)
{
	snprintf(buf, len, "%s/data/%02x/%016" PRIx64, data_dir, (unsigned)(ino & 0xff), ino);
}

static bool data_exists(uint64_t ino)
{
	char p[4400];

	data_path(ino, p, sizeof(p));
	return access(p, F_OK) == 0;
}

static uint64_t create_file(uint64_t parent, const char *name, mode_t mode,
			    struct fs_file **ret_f)
{
	struct stat st;
	int r = fs_create(fs, &ctx, parent, name, mode, O_RDWR, ret_f, &st);

	ck_assert_msg(r == 0, "fs_create(%s) = %d", name, r);
	ck_assert(S_ISREG(st.st_mode));
	return st.st_ino;
}

/* Creates a file, closes it and drops the lookup reference. */
static uint64_t create_closed(uint64_t parent, const char *name)
{
	struct fs_file *f;
	uint64_t ino = create_file(parent, name, 0644, &f);

	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	return ino;
}

static uint64_t make_dir(uint64_t parent, const char *name, mode_t mode)
{
	struct stat st;
	int r = fs_mkdir(fs, &ctx, parent, name, mode, &st);

	ck_assert_msg(r == 0, "fs_mkdir(%s) = %d", name, r);
	ck_assert(S_ISDIR(st.st_mode));
	fs_forget(fs, st.st_ino, 1);
	return st.st_ino;
}

/* Looks name up; returns its inode (0 when missing) and drops the reference. */
static uint64_t lookup(uint64_t parent, const char *name, struct stat *ret_st)
{
	struct stat st;
	int r = fs_lookup(fs, parent, name, &st);

	if (r == -ENOENT)
		return 0;
	ck_assert_msg(r == 0, "fs_lookup(%s) = %d", name, r);
	fs_forget(fs, st.st_ino, 1);
	if (ret_st)
		*ret_st = st;
	return st.st_ino;
}

static struct stat getattr(uint64_t ino)
{
	struct stat st;
	int r = fs_getattr(fs, ino, &st);

	ck_assert_msg(r == 0, "fs_getattr(%" PRIu64 ") = %d", ino, r);
	return st;
}

/* Writes len bytes at off; returns the offset actually written at. */
static off_t write_at(struct fs_file *f, off_t off, const void *buf, size_t len)
{
	off_t at = -1;
	int r = tfs_write(fs, f, off, buf, len, &at);

	ck_assert_msg(r == 0, "fs_write_begin = %d", r);
	return at;
}

/* Reads up to len bytes at off through the segments; returns the count. */
static size_t read_at(struct fs_file *f, off_t off, void *buf, size_t len)
{
	ssize_t n = tfs_read(fs, f, off, buf, len);

	ck_assert_msg(n >= 0, "fs_read_begin = %zd", n);
	return (size_t)n;
}

static bool all_bytes(const void *buf, size_t len, unsigned char c)
{
	for (size_t i = 0; i < len; i++)
		if (((const unsigned char *)buf)[i] != c)
			return false;
	return true;
}

struct msgs {
	int n;
	char text[4096];
};

/* Counts the errors reported (notes are not). */
static void report_cb(const char *msg, void *arg)
{
	struct msgs *m = arg;
	size_t used = strlen(m->text);

	if (strncmp(msg, "note: ", 6) != 0)
		m->n++;
	snprintf(m->text + used, sizeof(m->text) - used, "%s\n", msg);
}

/* Closes the file system and runs fsck; returns its result. */
static int run_fsck(bool repair, struct msgs *m)
{
	char err[1024] = "";
	int r;

	fs_close(fs);
	fs = NULL;
	memset(m, 0, sizeof(*m));
	r = fs_fsck(conf, repair, report_cb, m, err, sizeof(err));
	ck_assert_msg(r >= 0, "fs_fsck = %d: %s", r, err);
	ck_assert_int_eq(r, m->n);
	return r;
}

static void fsck_clean(void)
{
	struct msgs m;
	int r = run_fsck(false, &m);

	ck_assert_msg(r == 0, "fsck found %d errors:\n%s", r, m.text);
}

/* ---- directory listing ---- */

struct ent {
	char name[256];
	uint64_t ino, next;
	mode_t mode;
	off_t size;
	blkcnt_t blocks;
};

struct listing {
	int n, room;       /* fill refuses entries beyond room */
	struct ent e[260];
};

static int fill_cb(const char *name, const struct stat *st, uint64_t next, void *arg)
{
	struct listing *l = arg;

	if (l->n >= l->room)
		return 1;
	ck_assert_int_lt(l->n, 260);
	snprintf(l->e[l->n].name, sizeof(l->e[0].name), "%s", name);
	l->e[l->n].ino = st->st_ino;
	l->e[l->n].mode = st->st_mode;
	l->e[l->n].size = st->st_size;
	l->e[l->n].blocks = st->st_blocks;
	l->e[l->n].next = next;
	l->n++;
	return 0;
}

/* Appends up to room more entries from cookie; returns the next cookie. */
static uint64_t list_more(uint64_t dir, uint64_t cookie, uint64_t *snap, bool plus, int room,
			  struct listing *l)
{
	int before = l->n, r;

	l->room = l->n + room;
	r = fs_readdir(fs, dir, cookie, snap, plus, fill_cb, l);
	ck_assert_msg(r == 0, "fs_readdir = %d", r);
	return l->n > before ? l->e[l->n - 1].next : cookie;
}

static void list_all(uint64_t dir, struct listing *l)
{
	uint64_t snap = 0, cookie = 0;

	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(fs_opendir(fs, dir, &snap), 0);
	for (int guard = 0; guard < 1000; guard++) {
		int before = l->n;

		cookie = list_more(dir, cookie, &snap, false, 1000, l);
		if (l->n == before)
			return;
	}
	ck_abort_msg("readdir does not end");
}

static int find_ent(const struct listing *l, const char *name)
{
	int at = -1;

	for (int i = 0; i < l->n; i++) {
		if (strcmp(l->e[i].name, name) == 0) {
			ck_assert_msg(at < 0, "'%s' listed twice", name);
			at = i;
		}
	}
	return at;
}

/* ---- mkfs, open, lock ---- */

START_TEST(test_mkfs_open)
{
	char err[1024] = "", id[FS_ID_LEN + 1] = "untouched", other[4300];
	struct stat st;

	ck_assert_uint_eq(strlen(fs_id_buf), FS_ID_LEN);
	ck_assert_mem_eq(fs_id_buf, "fs-", 3);
	ck_assert_uint_eq(strspn(fs_id_buf + 3, "0123456789abcdef"), 17);
	ck_assert_str_eq(fs_id(fs), fs_id_buf);
	ck_assert_uint_eq(fs_chunk_size(fs), CHUNK);
	ck_assert_ptr_eq(fs_conf(fs), conf);
	st = getattr(ROOT);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_uint_eq(st.st_uid, ctx.uid);
	ck_assert_uint_eq(st.st_gid, ctx.gid);
	ck_assert_uint_eq(st.st_nlink, 2);
	ck_assert_uint_eq(st.st_ino, ROOT);
	/* mkfs again: -EEXIST naming the directory, id untouched */
	ck_assert_int_eq(fs_mkfs(conf, &ctx, CHUNK, id, err, sizeof(err)), -EEXIST);
	ck_assert_str_eq(id, "untouched");
	ck_assert_msg(strstr(err, data_dir) != NULL, "err '%s' does not name %s", err, data_dir);
	/* bad chunk sizes */
	snprintf(other, sizeof(other), "%s/other", tmp_dir);
	free(conf->data_dir);
	conf->data_dir = strdup(other);
	ck_assert_int_eq(fs_mkfs(conf, &ctx, 100000, id, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(fs_mkfs(conf, &ctx, 32768, id, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(fs_mkfs(conf, &ctx, 128u << 20, id, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "chunk size") != NULL, "err '%s'", err);
	ck_assert_str_eq(id, "untouched");
	/* two file systems get different ids */
	ck_assert_int_eq(fs_mkfs(conf, &ctx, 0, id, err, sizeof(err)), 0);
	ck_assert_str_ne(id, fs_id_buf);
	free(conf->data_dir);
	conf->data_dir = strdup(data_dir);
}
END_TEST

START_TEST(test_open_missing)
{
	char err[1024] = "", path[4300];
	struct fs *f2 = (struct fs *)&f2;

	snprintf(path, sizeof(path), "%s/nothere", tmp_dir);
	free(conf->data_dir);
	conf->data_dir = strdup(path);
	ck_assert_int_eq(fs_open(conf, NULL, &f2, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_eq(f2, (struct fs *)&f2);
	ck_assert_msg(strstr(err, "mkfs") != NULL, "err '%s' does not say mkfs", err);
	ck_assert_msg(strstr(err, path) != NULL, "err '%s' does not name %s", err, path);
	/* an existing directory without a file system in it */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	err[0] = '\0';
	ck_assert_int_eq(fs_open(conf, NULL, &f2, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "mkfs") != NULL, "err '%s' does not say mkfs", err);
	ck_assert_int_eq(access(path, F_OK), 0);
	free(conf->data_dir);
	conf->data_dir = strdup(data_dir);
}
END_TEST

START_TEST(test_open_busy)
{
	char err[1024] = "", pid[32];
	struct fs *f2 = (struct fs *)&f2;
	struct msgs m = { 0 };

	/* held by a daemon whose mount point is mounted (/proc stands in for
	 * it): refused at once, not waited for */
	fs_reopen("/proc");
	/* a second open in this process: flock on another open file description */
	ck_assert_int_eq(fs_open(conf, NULL, &f2, err, sizeof(err)), -EBUSY);
	ck_assert_ptr_eq(f2, (struct fs *)&f2);
	snprintf(pid, sizeof(pid), "pid=%d", (int)getpid());
	ck_assert_msg(strstr(err, pid) != NULL, "err '%s' lacks '%s'", err, pid);
	ck_assert_msg(strstr(err, "mountpoint=/proc") != NULL, "err '%s' lacks the mount point",
		      err);
	/* fsck too */
	err[0] = '\0';
	ck_assert_int_eq(fs_fsck(conf, false, report_cb, &m, err, sizeof(err)), -EBUSY);
	ck_assert_msg(strstr(err, pid) != NULL, "err '%s' lacks '%s'", err, pid);
	/* the failed opens did not drop the holder's lock */
	ck_assert_int_eq(fs_open(conf, NULL, &f2, err, sizeof(err)), -EBUSY);
	/* the holder still works */
	ck_assert(S_ISDIR(getattr(ROOT).st_mode));
	/* after close the file system opens again */
	fs_reopen(NULL);
}
END_TEST

static void *close_holder_later(void *arg)
{
	usleep(300000);
	fs_close(arg);
	return NULL;
}

/* The holder recorded a mount point that is no longer mounted: a daemon
 * closing after umount.  A second open waits for it instead of failing. */
START_TEST(test_open_waits_for_closing_holder)
{
	char err[1024] = "";
	struct fs *f2 = NULL;
	struct timespec a, b;
	pthread_t t;

	fs_reopen("/nonexistent/efsfs-unit-unmounted");
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(pthread_create(&t, NULL, close_holder_later, fs), 0);
	fs = NULL;
	ck_assert_msg(fs_open(conf, NULL, &f2, err, sizeof(err)) == 0, "fs_open: %s", err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_int_ge((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 250);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	fs = f2;
	ck_assert(S_ISDIR(getattr(ROOT).st_mode));
}
END_TEST

/* FS_OPEN_RDONLY: shared among read-only openers, refuses writes, and
 * leaves nothing beside meta.db. */
START_TEST(test_open_read_only)
{
	char err[1024] = "", wal[4400];
	struct fs *r1 = NULL, *r2 = NULL, *w = (struct fs *)&w;
	struct stat st;

	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, "d", 0755, &st), 0);
	fs_reopen(NULL);              /* a clean close: no WAL left */
	fs_close(fs);
	fs = NULL;
	ck_assert_msg(fs_open_flags(conf, "/proc", FS_OPEN_RDONLY, &r1, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(fs_read_only(r1));
	ck_assert_msg(fs_open_flags(conf, NULL, FS_OPEN_RDONLY, &r2, err, sizeof(err)) == 0,
		      "a second read-only open: %s", err);
	ck_assert_int_eq(fs_open(conf, NULL, &w, err, sizeof(err)), -EBUSY);
	ck_assert_ptr_eq(w, (struct fs *)&w);
	ck_assert_int_eq(fs_lookup(r1, ROOT, "d", &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(fs_mkdir(r1, &ctx, ROOT, "e", 0755, &st), -EROFS);
	ck_assert_int_eq(fs_fsyncdir(r1, ROOT), 0);
	snprintf(wal, sizeof(wal), "%s/meta.db-wal", data_dir);
	ck_assert_int_eq(access(wal, F_OK), -1);
	fs_close(r2);
	fs_close(r1);
	ck_assert_int_eq(access(wal, F_OK), -1);
	fs_reopen(NULL);
	ck_assert_int_eq(fs_lookup(fs, ROOT, "e", &st), -ENOENT);
}
END_TEST

/* ---- files ---- */

START_TEST(test_create_lookup_getattr)
{
	struct fs_file *f, *f2;
	struct stat st, st2;
	uint64_t ino;

	ino = create_file(ROOT, "file", 0640, &f);
	ck_assert_uint_gt(ino, ROOT);
	st = getattr(ino);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0640);
	ck_assert_uint_eq(st.st_nlink, 1);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_uint_eq(st.st_uid, ctx.uid);
	ck_assert_uint_eq(st.st_gid, ctx.gid);
	ck_assert_uint_eq(lookup(ROOT, "file", &st2), ino);
	ck_assert_uint_eq(st2.st_mode, st.st_mode);
	ck_assert_int_eq(fs_lookup(fs, ROOT, "nothere", &st2), -ENOENT);
	ck_assert_int_eq(fs_lookup(fs, ROOT, "FILE", &st2), -ENOENT);
	ck_assert_int_eq(fs_create(fs, &ctx, ROOT, "file", 0600, O_RDWR, &f2, &st2), -EEXIST);
	ck_assert_int_eq(fs_getattr(fs, 987654, &st2), -ENOENT);
	/* the parent's times moved and it stayed at nlink 2 */
	st2 = getattr(ROOT);
	ck_assert_uint_eq(st2.st_nlink, 2);
	ck_assert(st2.st_mtim.tv_sec > 0);
	/* open again, a second handle */
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f2), 0);
	fs_release(fs, f2);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	/* a directory cannot be opened as a file */
	ck_assert_int_eq(fs_open_file(fs, ROOT, O_RDONLY, &f2), -EINVAL);
	ck_assert_int_eq(fs_open_file(fs, 987654, O_RDONLY, &f2), -ENOENT);
	fsck_clean();
}
END_TEST

START_TEST(test_write_read)
{
	char buf[256];
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "f", 0644, &f);
	struct stat st;

	ck_assert_int_eq(write_at(f, 0, "hello", 5), 0);
	ck_assert_int_eq(getattr(ino).st_size, 5);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	/* past EOF: nothing; across EOF: short */
	ck_assert_uint_eq(read_at(f, 5, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(read_at(f, 100, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(read_at(f, 3, buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "lo", 2);
	ck_assert_uint_eq(read_at(f, 1, buf, 0), 0);
	/* overwrite inside: size unchanged */
	ck_assert_int_eq(write_at(f, 1, "EL", 2), 1);
	ck_assert_int_eq(getattr(ino).st_size, 5);
	/* a write past EOF leaves a zero-filled gap */
	ck_assert_int_eq(write_at(f, 10, "world", 5), 10);
	st = getattr(ino);
	ck_assert_int_eq(st.st_size, 15);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 15);
	ck_assert_mem_eq(buf, "hELlo", 5);
	ck_assert(all_bytes(buf + 5, 5, 0));
	ck_assert_mem_eq(buf + 10, "world", 5);
	/* a negative offset */
	{
		struct fs_rvec rv;
		off_t at;

		ck_assert_int_eq(fs_read_begin(fs, f, -1, 10, &rv), -EINVAL);
		ck_assert_int_eq(fs_write_begin(fs, f, -1, 10, &at), -EINVAL);
		ck_assert_int_eq(fs_write_begin(fs, f, (off_t)FS_MAX_FILE_SIZE, 1, &at),
				 -EFBIG);
	}
	ck_assert_int_eq(fs_fsync(fs, f, false), 0);
	ck_assert_int_eq(fs_fsync(fs, f, true), 0);
	fs_release(fs, f);
	/* reopen the file: the data and size are there */
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
	ck_assert_uint_eq(read_at(f, 10, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "world", 5);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	/* and after a remount */
	fs_reopen(NULL);
	ck_assert_uint_eq(lookup(ROOT, "f", &st), ino);
	ck_assert_int_eq(st.st_size, 15);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 15);
	ck_assert_mem_eq(buf + 10, "world", 5);
	fs_release(fs, f);
	fsck_clean();
}
END_TEST

/* fs_write from a pipe (FUSE's spliced WRITE): the bytes land as from memory,
 * one request in several sources at the next offsets. */
START_TEST(test_write_from_pipe)
{
	char buf[256];
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "p", 0644, &f);
	int p[2];
	off_t at;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "spliced", 7), 7);
	ck_assert_int_eq(fs_write_begin(fs, f, 2, 10, &at), 0);
	ck_assert_int_eq(at, 2);
	ck_assert_int_eq(fs_write(fs, f, at, &(struct fs_wsrc){ NULL, p[0] }, 7), 7);
	ck_assert_int_eq(fs_write(fs, f, at + 7, &(struct fs_wsrc){ "mem", -1 }, 3), 3);
	ck_assert_int_eq(fs_write_end(fs, f, at, 10, 10), 0);
	ck_assert_int_eq(getattr(ino).st_size, 12);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 12);
	ck_assert_mem_eq(buf, "\0\0splicedmem", 12);
	close(p[0]);
	close(p[1]);
	fs_release(fs, f);
	fsck_clean();
}
END_TEST

START_TEST(test_large_write_spans_chunks)
{
	size_t len = 3 * CHUNK + 1234;
	unsigned char *w = malloc(len), *r = malloc(len + 10);
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "big", 0644, &f);

	for (size_t i = 0; i < len; i++)
		w[i] = (unsigned char)(i * 7 + i / 251);
	ck_assert_int_eq(write_at(f, CHUNK - 100, w, len), CHUNK - 100);
	ck_assert_int_eq(getattr(ino).st_size, (off_t)(CHUNK - 100 + len));
	ck_assert_uint_eq(read_at(f, CHUNK - 100, r, len + 10), len);
	ck_assert(memcmp(r, w, len) == 0);
	ck_assert_uint_eq(read_at(f, 0, r, CHUNK - 100), CHUNK - 100);
	ck_assert(all_bytes(r, CHUNK - 100, 0));
	fs_release(fs, f);
	free(w);
	free(r);
}
END_TEST

START_TEST(test_truncate)
{
	char buf[200], backing[4400];
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "t", 0644, &f);
	struct stat st, attr, bst;

	memset(buf, 'x', 100);
	write_at(f, 0, buf, 100);
	memset(&attr, 0, sizeof(attr));
	attr.st_size = 10;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), 0);
	ck_assert_int_eq(st.st_size, 10);
	ck_assert_int_eq(getattr(ino).st_size, 10);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 10);
	ck_assert(all_bytes(buf, 10, 'x'));
	data_path(ino, backing, sizeof(backing));
	ck_assert_int_eq(stat(backing, &bst), 0);
	ck_assert_int_eq(bst.st_size, 10);
	/* grow: the old tail does not come back */
	attr.st_size = 150;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), 0);
	ck_assert_int_eq(st.st_size, 150);
	memset(buf, 'q', sizeof(buf));
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 150);
	ck_assert(all_bytes(buf, 10, 'x'));
	ck_assert(all_bytes(buf + 10, 140, 0));
	/* to zero and grow far: a hole, little space */
	attr.st_size = 0;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), 0);
	attr.st_size = 1ll << 40;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), 0);
	st = getattr(ino);
	ck_assert_int_eq(st.st_size, 1ll << 40);
	ck_assert_int_lt(st.st_blocks, 64);
	ck_assert_uint_eq(read_at(f, (1ll << 40) - 50, buf, sizeof(buf)), 50);
	ck_assert(all_bytes(buf, 50, 0));
	/* limits */
	attr.st_size = (off_t)FS_MAX_FILE_SIZE + 1;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), -EFBIG);
	attr.st_size = -1;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), -EINVAL);
	attr.st_size = 0;
	ck_assert_int_eq(fs_setattr(fs, ROOT, &attr, FS_SET_SIZE, &st), -EISDIR);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	/* truncate of a file nobody has open */
	attr.st_size = 7;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), 0);
	ck_assert_int_eq(getattr(ino).st_size, 7);
	ck_assert_int_eq(stat(backing, &bst), 0);
	ck_assert_int_eq(bst.st_size, 7);
	fsck_clean();
}
END_TEST

START_TEST(test_append)
{
	char buf[64];
	struct fs_file *f, *g;
	uint64_t ino;
	struct stat st;

	ck_assert_int_eq(fs_create(fs, &ctx, ROOT, "log", 0644, O_WRONLY | O_APPEND, &f, &st), 0);
	ino = st.st_ino;
	/* without writeback cache the backend puts O_APPEND writes at EOF */
	ck_assert_int_eq(write_at(f, 0, "abc", 3), 0);
	ck_assert_int_eq(write_at(f, 0, "def", 3), 3);
	ck_assert_int_eq(write_at(f, 1, "gh", 2), 6);
	ck_assert_int_eq(getattr(ino).st_size, 8);
	/* a second, non-append handle writes where it is told */
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &g), 0);
	ck_assert_int_eq(write_at(g, 0, "X", 1), 0);
	ck_assert_uint_eq(read_at(g, 0, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, "Xbcdefgh", 8);
	/* with writeback cache the kernel has chosen the offset already */
	fs_file_set_writeback(f, true);
	ck_assert_int_eq(write_at(f, 2, "Y", 1), 2);
	ck_assert_int_eq(getattr(ino).st_size, 8);
	ck_assert_uint_eq(read_at(g, 0, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, "XbYdefgh", 8);
	fs_file_set_writeback(f, false);
	ck_assert_int_eq(write_at(f, 0, "Z", 1), 8);
	ck_assert_int_eq(getattr(ino).st_size, 9);
	fs_release(fs, g);
	fs_release(fs, f);
}
END_TEST

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unlinks one after another, as from a rm -rf, are purged in batches of
 * FS_PURGE_GATHER_MS (one commit each), not one or two at a time: at most
 * one batch per gathering window, plus the one the final drain cuts short. */
START_TEST(test_purge_gathers)
{
	enum { N = 300 };
	uint64_t inos[N], batches;
	char name[32];
	int64_t t0, ms;

	for (int i = 0; i < N; i++) {
		struct fs_file *f;

		snprintf(name, sizeof(name), "f%03d", i);
		inos[i] = create_file(ROOT, name, 0644, &f);
		write_at(f, 0, "x", 1);
		fs_release(fs, f);
		fs_forget(fs, inos[i], 1);
	}
	fs_purge_wait(fs);
	pthread_mutex_lock(&fs->purge_lock);
	batches = fs->purge_batches;
	pthread_mutex_unlock(&fs->purge_lock);
	t0 = mono_ms();
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		ck_assert_int_eq(fs_unlink(fs, ROOT, name), 0);
	}
	fs_purge_wait(fs);
	ms = mono_ms() - t0;
	pthread_mutex_lock(&fs->purge_lock);
	batches = fs->purge_batches - batches;
	pthread_mutex_unlock(&fs->purge_lock);
	ck_assert_msg((int64_t)batches <= ms / 20 + 2, "%d unlinks in %lld ms took %llu batches",
		      N, (long long)ms, (unsigned long long)batches);
	for (int i = 0; i < N; i++)
		ck_assert(!data_exists(inos[i]));
	fsck_clean();
}
END_TEST

START_TEST(test_unlink_open_file)
{
	char buf[64];
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "doomed", 0644, &f);
	struct stat st;

	write_at(f, 0, "payload", 7);
	ck_assert(data_exists(ino));
	ck_assert_int_eq(fs_unlink(fs, ROOT, "doomed"), 0);
	ck_assert_int_eq(fs_lookup(fs, ROOT, "doomed", &st), -ENOENT);
	ck_assert_int_eq(fs_unlink(fs, ROOT, "doomed"), -ENOENT);
	/* still there for the holder */
	st = getattr(ino);
	ck_assert_uint_eq(st.st_nlink, 0);
	ck_assert_int_eq(st.st_size, 7);
	ck_assert(data_exists(ino));
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 7);
	ck_assert_mem_eq(buf, "payload", 7);
	write_at(f, 7, "+more", 5);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 12);
	ck_assert_mem_eq(buf, "payload+more", 12);
	/* no new link to an unlinked inode */
	ck_assert_int_eq(fs_link(fs, NULL, ino, ROOT, "back", &st), -ENOENT);
	/* release: the kernel still holds a lookup reference */
	fs_release(fs, f);
	ck_assert(data_exists(ino));
	ck_assert_int_eq(fs_getattr(fs, ino, &st), 0);
	/* forget: gone for good */
	fs_forget(fs, ino, 1);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(ino));
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, ino, &st), -ENOENT);
	fsck_clean();
}
END_TEST

START_TEST(test_unlink_forget_then_release)
{
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "doomed", 0644, &f);
	struct stat st;

	write_at(f, 0, "x", 1);
	ck_assert_int_eq(fs_unlink(fs, ROOT, "doomed"), 0);
	fs_forget(fs, ino, 1);
	ck_assert(data_exists(ino));
	ck_assert_int_eq(fs_getattr(fs, ino, &st), 0);
	fs_release(fs, f);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(ino));
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, ino, &st), -ENOENT);
}
END_TEST

START_TEST(test_purge_on_forget)
{
	struct fs_file *f;
	uint64_t a, b;
	struct stat st;

	/* two lookup references, no open handle */
	a = create_file(ROOT, "a", 0644, &f);
	write_at(f, 0, "aaaa", 4);
	fs_release(fs, f);
	ck_assert_int_eq(fs_lookup(fs, ROOT, "a", &st), 0);
	ck_assert_int_eq(fs_unlink(fs, ROOT, "a"), 0);
	ck_assert(data_exists(a));
	fs_forget(fs, a, 1);
	ck_assert(data_exists(a));
	ck_assert_int_eq(fs_getattr(fs, a, &st), 0);
	fs_forget(fs, a, 1);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(a));
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, a, &st), -ENOENT);
	/* forget of more than is held, or of an unknown inode, is harmless */
	fs_forget(fs, a, 5);
	fs_forget(fs, 987654, 1);
	/* nobody holds it: unlink removes at once */
	b = create_file(ROOT, "b", 0644, &f);
	write_at(f, 0, "bbbb", 4);
	fs_release(fs, f);
	fs_forget(fs, b, 1);
	ck_assert(data_exists(b));
	ck_assert_int_eq(fs_unlink(fs, ROOT, "b"), 0);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(b));
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, b, &st), -ENOENT);
	fsck_clean();
}
END_TEST

/* ---- namespace ---- */

START_TEST(test_mkdir_rmdir)
{
	struct fs_file *f;
	uint64_t d, sub;
	struct stat st;

	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, "d", 0750, &st), 0);
	d = st.st_ino;
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0750);
	ck_assert_uint_eq(st.st_nlink, 2);
	ck_assert_uint_eq(getattr(ROOT).st_nlink, 3);
	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, "d", 0750, &st), -EEXIST);
	sub = make_dir(d, "sub", 0755);
	ck_assert_uint_eq(getattr(d).st_nlink, 3);
	ck_assert_uint_eq(getattr(ROOT).st_nlink, 3);
	create_closed(d, "f");
	ck_assert_uint_eq(getattr(d).st_nlink, 3);
	ck_assert_int_eq(fs_rmdir(fs, ROOT, "d"), -ENOTEMPTY);
	ck_assert_int_eq(fs_rmdir(fs, d, "f"), -ENOTDIR);
	ck_assert_int_eq(fs_unlink(fs, ROOT, "d"), -EISDIR);
	ck_assert_int_eq(fs_rmdir(fs, ROOT, "nothere"), -ENOENT);
	ck_assert_int_eq(fs_unlink(fs, d, "f"), 0);
	ck_assert_int_eq(fs_rmdir(fs, d, "sub"), 0);
	ck_assert_uint_eq(getattr(d).st_nlink, 2);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, sub, &st), -ENOENT);
	ck_assert_int_eq(fs_rmdir(fs, ROOT, "d"), 0);
	ck_assert_uint_eq(getattr(ROOT).st_nlink, 2);
	/* the kernel still holds d: it exists, with nlink 0, and takes no entries */
	st = getattr(d);
	ck_assert_uint_eq(st.st_nlink, 0);
	ck_assert_int_eq(fs_create(fs, &ctx, d, "late", 0644, O_RDWR, &f, &st), -ENOENT);
	ck_assert_int_eq(fs_mkdir(fs, &ctx, d, "late", 0755, &st), -ENOENT);
	fs_forget(fs, d, 1);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, d, &st), -ENOENT);
	ck_assert_int_eq(fs_mkdir(fs, &ctx, d, "late", 0755, &st), -ENOENT);
	/* mkdir in a file */
	ck_assert_int_eq(fs_mkdir(fs, &ctx, create_closed(ROOT, "file"), "x", 0755, &st),
			 -ENOTDIR);
	fsck_clean();
}
END_TEST

START_TEST(test_rename_files)
{
	struct fs_file *f;
	uint64_t a, b, d, a2;
	char buf[16];
	struct stat st;

	a = create_closed(ROOT, "a");
	b = create_file(ROOT, "b", 0644, &f);
	write_at(f, 0, "old b", 5);
	fs_release(fs, f);
	fs_forget(fs, b, 1);
	d = make_dir(ROOT, "d", 0755);
	/* same directory */
	ck_assert_int_eq(fs_rename(fs, ROOT, "a", ROOT, "a1", 0), 0);
	ck_assert_uint_eq(lookup(ROOT, "a", NULL), 0);
	ck_assert_uint_eq(lookup(ROOT, "a1", NULL), a);
	/* onto itself: nothing happens */
	ck_assert_int_eq(fs_rename(fs, ROOT, "a1", ROOT, "a1", 0), 0);
	ck_assert_uint_eq(lookup(ROOT, "a1", NULL), a);
	/* across directories */
	ck_assert_int_eq(fs_rename(fs, ROOT, "a1", d, "a", 0), 0);
	ck_assert_uint_eq(lookup(ROOT, "a1", NULL), 0);
	ck_assert_uint_eq(lookup(d, "a", NULL), a);
	ck_assert_uint_eq(getattr(ROOT).st_nlink, 3);
	ck_assert_uint_eq(getattr(d).st_nlink, 2);
	/* missing source */
	ck_assert_int_eq(fs_rename(fs, ROOT, "ghost", ROOT, "x", 0), -ENOENT);
	/* NOREPLACE onto an existing name */
	ck_assert_int_eq(fs_rename(fs, d, "a", ROOT, "b", RENAME_NOREPLACE), -EEXIST);
	ck_assert_uint_eq(lookup(d, "a", NULL), a);
	ck_assert_uint_eq(lookup(ROOT, "b", NULL), b);
	/* NOREPLACE onto a free name */
	ck_assert_int_eq(fs_rename(fs, d, "a", ROOT, "a", RENAME_NOREPLACE), 0);
	ck_assert_uint_eq(lookup(ROOT, "a", NULL), a);
	/* replace: the old target goes, with its data */
	ck_assert(data_exists(b));
	ck_assert_int_eq(fs_rename(fs, ROOT, "a", ROOT, "b", 0), 0);
	ck_assert_uint_eq(lookup(ROOT, "b", NULL), a);
	ck_assert_uint_eq(lookup(ROOT, "a", NULL), 0);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, b, &st), -ENOENT);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(b));
	/* replace a target that is open: it lives until released */
	a2 = create_file(ROOT, "c", 0644, &f);
	write_at(f, 0, "keep", 4);
	ck_assert_int_eq(fs_rename(fs, ROOT, "b", ROOT, "c", 0), 0);
	ck_assert_uint_eq(getattr(a2).st_nlink, 0);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "keep", 4);
	fs_release(fs, f);
	fs_forget(fs, a2, 1);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, a2, &st), -ENOENT);
	/* two links to one inode: rename between them does nothing */
	ck_assert_int_eq(fs_link(fs, NULL, a, ROOT, "hard", &st), 0);
	fs_forget(fs, a, 1);
	ck_assert_int_eq(fs_rename(fs, ROOT, "c", ROOT, "hard", 0), 0);
	ck_assert_uint_eq(lookup(ROOT, "c", NULL), a);
	ck_assert_uint_eq(lookup(ROOT, "hard", NULL), a);
	ck_assert_uint_eq(getattr(a).st_nlink, 2);
	/* a file over a directory and back */
	make_dir(ROOT, "dir2", 0755);
	ck_assert_int_eq(fs_rename(fs, ROOT, "c", ROOT, "dir2", 0), -EISDIR);
	ck_assert_int_eq(fs_rename(fs, ROOT, "dir2", ROOT, "c", 0), -ENOTDIR);
	/* bad flags */
	ck_assert_int_eq(fs_rename(fs, ROOT, "c", ROOT, "z", RENAME_NOREPLACE | RENAME_EXCHANGE),
			 -EINVAL);
	ck_assert_int_eq(fs_rename(fs, ROOT, "c", ROOT, "z", 1u << 7), -EINVAL);
	ck_assert_uint_eq(lookup(ROOT, "c", NULL), a);
	fsck_clean();
}
END_TEST

START_TEST(test_rename_dirs)
{
	uint64_t d1, d2, sub, e, full, f;
	struct listing l;
	struct stat st;
	int i;

	d1 = make_dir(ROOT, "d1", 0755);
	d2 = make_dir(ROOT, "d2", 0755);
	sub = make_dir(d1, "sub", 0755);
	make_dir(sub, "deep", 0755);
	ck_assert_uint_eq(getattr(ROOT).st_nlink, 4);
	ck_assert_uint_eq(getattr(d1).st_nlink, 3);
	/* move a directory across: both parents' nlink change, and its ".." */
	ck_assert_int_eq(fs_rename(fs, d1, "sub", d2, "sub", 0), 0);
	ck_assert_uint_eq(getattr(d1).st_nlink, 2);
	ck_assert_uint_eq(getattr(d2).st_nlink, 3);
	ck_assert_uint_eq(getattr(ROOT).st_nlink, 4);
	list_all(sub, &l);
	i = find_ent(&l, "..");
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(l.e[i].ino, d2);
	/* into itself or below itself */
	ck_assert_int_eq(fs_rename(fs, ROOT, "d2", d2, "x", 0), -EINVAL);
	ck_assert_int_eq(fs_rename(fs, ROOT, "d2", sub, "x", 0), -EINVAL);
	ck_assert_int_eq(fs_rename(fs, d2, "sub", lookup(sub, "deep", NULL), "x", 0), -EINVAL);
	ck_assert_uint_eq(lookup(d2, "sub", NULL), sub);
	/* over an empty directory */
	e = make_dir(d1, "empty", 0755);
	ck_assert_uint_eq(getattr(d1).st_nlink, 3);
	ck_assert_int_eq(fs_rename(fs, d2, "sub", d1, "empty", 0), 0);
	ck_assert_uint_eq(lookup(d1, "empty", NULL), sub);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, e, &st), -ENOENT);
	ck_assert_uint_eq(getattr(d1).st_nlink, 3);
	ck_assert_uint_eq(getattr(d2).st_nlink, 2);
	/* over a non-empty one */
	full = make_dir(d2, "full", 0755);
	create_closed(full, "x");
	ck_assert_int_eq(fs_rename(fs, d1, "empty", d2, "full", 0), -ENOTEMPTY);
	/* same directory, dir over empty dir */
	make_dir(d1, "e2", 0755);
	ck_assert_uint_eq(getattr(d1).st_nlink, 4);
	ck_assert_int_eq(fs_rename(fs, d1, "empty", d1, "e2", 0), 0);
	ck_assert_uint_eq(getattr(d1).st_nlink, 3);
	ck_assert_uint_eq(lookup(d1, "e2", NULL), sub);
	/* exchange a file and a directory across directories */
	f = create_closed(d2, "file");
	ck_assert_int_eq(fs_rename(fs, d1, "e2", d2, "file", RENAME_EXCHANGE), 0);
	ck_assert_uint_eq(lookup(d1, "e2", &st), f);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(lookup(d2, "file", &st), sub);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(getattr(d1).st_nlink, 2);
	ck_assert_uint_eq(getattr(d2).st_nlink, 4);
	list_all(sub, &l);
	ck_assert_uint_eq(l.e[find_ent(&l, "..")].ino, d2);
	list_all(d1, &l);
	ck_assert_int_eq(l.n, 3);
	ck_assert_uint_eq(l.e[find_ent(&l, "e2")].mode & S_IFMT, S_IFREG);
	/* exchange within a directory */
	ck_assert_int_eq(fs_rename(fs, d2, "file", d2, "full", RENAME_EXCHANGE), 0);
	ck_assert_uint_eq(lookup(d2, "full", NULL), sub);
	ck_assert_uint_eq(lookup(d2, "file", NULL), full);
	ck_assert_uint_eq(getattr(d2).st_nlink, 4);
	/* exchange with a missing name */
	ck_assert_int_eq(fs_rename(fs, d2, "file", d2, "ghost", RENAME_EXCHANGE), -ENOENT);
	/* exchange that would put a directory below itself */
	ck_assert_int_eq(fs_rename(fs, d2, "file", d1, "nothere", RENAME_EXCHANGE), -ENOENT);
	create_closed(full, "y");
	ck_assert_int_eq(fs_rename(fs, ROOT, "d2", full, "y", RENAME_EXCHANGE), -EINVAL);
	ck_assert_uint_eq(lookup(ROOT, "d2", NULL), d2);
	fsck_clean();
}
END_TEST

START_TEST(test_link_limit)
{
	char name[32];
	uint64_t ino = create_closed(ROOT, "f"), d = make_dir(ROOT, "d", 0755);
	struct stat st;
	int r;

	for (int i = 2; i <= FS_LINK_MAX; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		r = fs_link(fs, NULL, ino, ROOT, name, &st);
		ck_assert_msg(r == 0, "link %d = %d", i, r);
		ck_assert_uint_eq(st.st_nlink, (unsigned)i);
		ck_assert_uint_eq(st.st_ino, ino);
		fs_forget(fs, ino, 1);
	}
	ck_assert_uint_eq(getattr(ino).st_nlink, FS_LINK_MAX);
	ck_assert_int_eq(fs_link(fs, NULL, ino, ROOT, "one-too-many", &st), -EMLINK);
	ck_assert_uint_eq(lookup(ROOT, "one-too-many", NULL), 0);
	ck_assert_uint_eq(getattr(ino).st_nlink, FS_LINK_MAX);
	/* after an unlink there is room again */
	ck_assert_int_eq(fs_unlink(fs, ROOT, "l2"), 0);
	ck_assert_int_eq(fs_link(fs, NULL, ino, d, "again", &st), 0);
	fs_forget(fs, ino, 1);
	ck_assert_uint_eq(st.st_nlink, FS_LINK_MAX);
	/* other link errors, below the limit */
	ck_assert_int_eq(fs_unlink(fs, ROOT, "l3"), 0);
	ck_assert_int_eq(fs_link(fs, NULL, ino, ROOT, "l4", &st), -EEXIST);
	ck_assert_int_eq(fs_link(fs, NULL, d, ROOT, "dirlink", &st), -EPERM);
	ck_assert_int_eq(fs_link(fs, NULL, 987654, ROOT, "x", &st), -ENOENT);
	ck_assert_int_eq(fs_link(fs, NULL, ino, 987654, "x", &st), -ENOENT);
	ck_assert_int_eq(fs_link(fs, NULL, ino, ino, "x", &st), -ENOTDIR);
	fsck_clean();
}
END_TEST

/* The change callback (fs_set_change_cb): fs_changed hands it each change
 * until it is removed; fs_file_name gives a regular file's names in the
 * order they were made, and nothing for a directory. */
struct seen {
	unsigned n;
	struct fs_change last;
};

static void note_change(struct fs *f, const struct fs_change *c, void *arg)
{
	struct seen *s = arg;

	ck_assert_ptr_eq(f, fs);
	s->n++;
	s->last = *c;
}

START_TEST(test_change_cb_and_names)
{
	uint64_t ino = create_closed(ROOT, "f"), d = make_dir(ROOT, "d", 0755), parent;
	struct seen seen = { 0 };
	char name[FS_NAME_MAX + 1];
	struct stat st;

	fs_changed(fs, &(struct fs_change){ .what = FS_CHANGE_ATTR, .ino = ino });  /* none yet */
	fs_set_change_cb(fs, note_change, &seen);
	fs_changed(fs, &(struct fs_change){ .what = FS_CHANGE_ATTR, .ino = ino });
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.last.ino, ino);
	ck_assert_uint_eq(seen.last.what, FS_CHANGE_ATTR);
	fs_set_change_cb(fs, NULL, NULL);
	fs_changed(fs, &(struct fs_change){ .what = FS_CHANGE_ATTR, .ino = ino });
	ck_assert_uint_eq(seen.n, 1);

	ck_assert_int_eq(fs_link(fs, NULL, ino, d, "second", &st), 0);
	fs_forget(fs, ino, 1);
	ck_assert_int_eq(fs_file_name(fs, ino, 0, &parent, name), 0);
	ck_assert_uint_eq(parent, ROOT);
	ck_assert_str_eq(name, "f");
	ck_assert_int_eq(fs_file_name(fs, ino, 1, &parent, name), 0);
	ck_assert_uint_eq(parent, d);
	ck_assert_str_eq(name, "second");
	ck_assert_int_eq(fs_file_name(fs, ino, 2, &parent, name), -ENOENT);
	ck_assert_int_eq(fs_file_name(fs, d, 0, &parent, name), -ENOENT);
	ck_assert_int_eq(fs_file_name(fs, 987654, 0, &parent, name), -ENOENT);
	ck_assert_int_eq(fs_unlink(fs, ROOT, "f"), 0);
	ck_assert_int_eq(fs_file_name(fs, ino, 0, &parent, name), 0);
	ck_assert_str_eq(name, "second");
}
END_TEST

START_TEST(test_name_limits)
{
	char n255[256], n256[257];
	struct fs_file *f;
	struct listing l;
	struct stat st;
	uint64_t ino;

	memset(n255, 'n', 255);
	n255[255] = '\0';
	memset(n256, 'n', 256);
	n256[256] = '\0';
	ino = create_file(ROOT, n255, 0644, &f);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	ck_assert_uint_eq(lookup(ROOT, n255, NULL), ino);
	list_all(ROOT, &l);
	ck_assert_int_ge(find_ent(&l, n255), 0);
	ck_assert_int_eq(fs_create(fs, &ctx, ROOT, n256, 0644, O_RDWR, &f, &st), -ENAMETOOLONG);
	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, n256, 0755, &st), -ENAMETOOLONG);
	ck_assert_int_eq(fs_mknod(fs, &ctx, ROOT, n256, S_IFIFO | 0644, 0, &st), -ENAMETOOLONG);
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, n256, "t", &st), -ENAMETOOLONG);
	ck_assert_int_eq(fs_lookup(fs, ROOT, n256, &st), -ENAMETOOLONG);
	ck_assert_int_eq(fs_link(fs, NULL, ino, ROOT, n256, &st), -ENAMETOOLONG);
	ck_assert_int_eq(fs_unlink(fs, ROOT, n256), -ENAMETOOLONG);
	ck_assert_int_eq(fs_rmdir(fs, ROOT, n256), -ENAMETOOLONG);
	ck_assert_int_eq(fs_rename(fs, ROOT, n255, ROOT, n256, 0), -ENAMETOOLONG);
	ck_assert_int_eq(fs_rename(fs, ROOT, n256, ROOT, "x", 0), -ENAMETOOLONG);
	ck_assert_uint_eq(lookup(ROOT, n255, NULL), ino);
	/* raw bytes, not UTF-8 */
	ck_assert_uint_gt(create_closed(ROOT, "\xff\xfe bad utf-8 \x80"), 0);
	ck_assert_uint_gt(lookup(ROOT, "\xff\xfe bad utf-8 \x80", NULL), 0);
	/* empty names and names with '/' */
	ck_assert_int_eq(fs_create(fs, &ctx, ROOT, "", 0644, O_RDWR, &f, &st), -ENOENT);
	ck_assert_int_eq(fs_create(fs, &ctx, ROOT, "a/b", 0644, O_RDWR, &f, &st), -EINVAL);
	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, "a/b", 0755, &st), -EINVAL);
	fsck_clean();
}
END_TEST

START_TEST(test_symlink)
{
	char target[4082], buf[4100];
	size_t len = 0;
	struct stat st;

	memset(target, 't', sizeof(target));
	target[0] = '/';
	target[4080] = '\0';
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, "max", target, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_mode, S_IFLNK | 0777);
	ck_assert_int_eq(st.st_size, 4080);
	ck_assert_uint_eq(st.st_uid, ctx.uid);
	ck_assert_int_eq(fs_readlink(fs, st.st_ino, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 4080);
	ck_assert_mem_eq(buf, target, 4080);
	ck_assert_int_eq(fs_readlink(fs, st.st_ino, buf, 100, &len), -ERANGE);
	ck_assert_int_eq(getattr(st.st_ino).st_size, 4080);
	target[4080] = 't';
	target[4081] = '\0';
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, "over", target, &st), -ENAMETOOLONG);
	ck_assert_uint_eq(lookup(ROOT, "over", NULL), 0);
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, "empty", "", &st), -ENOENT);
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, "max", "x", &st), -EEXIST);
	/* a dangling target with any bytes */
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, "dang", "../\xff/nowhere", &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_int_eq(fs_readlink(fs, st.st_ino, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, strlen("../\xff/nowhere"));
	ck_assert_mem_eq(buf, "../\xff/nowhere", len);
	/* readlink of a non-link */
	ck_assert_int_lt(fs_readlink(fs, ROOT, buf, sizeof(buf), &len), 0);
	fsck_clean();
}
END_TEST

START_TEST(test_mknod)
{
	struct stat st;

	ck_assert_int_eq(fs_mknod(fs, &ctx, ROOT, "chr", S_IFCHR | 0644, makedev(1, 3), &st),
			 -EPERM);
	ck_assert_int_eq(fs_mknod(fs, &ctx, ROOT, "blk", S_IFBLK | 0644, makedev(8, 0), &st),
			 -EPERM);
	ck_assert_uint_eq(lookup(ROOT, "chr", NULL), 0);
	ck_assert_uint_eq(lookup(ROOT, "blk", NULL), 0);
	ck_assert_int_eq(fs_mknod(fs, &ctx, ROOT, "fifo", S_IFIFO | 0600, 0, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_mode, S_IFIFO | 0600);
	ck_assert_uint_eq(lookup(ROOT, "fifo", &st), st.st_ino);
	ck_assert_uint_eq(st.st_mode, S_IFIFO | 0600);
	ck_assert_int_eq(fs_mknod(fs, &ctx, ROOT, "sock", S_IFSOCK | 0644, 0, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_mode, S_IFSOCK | 0644);
	ck_assert_int_eq(fs_mknod(fs, &ctx, ROOT, "plain", 0644, 0, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0644);
	ck_assert_int_eq(fs_mknod(fs, &ctx, ROOT, "fifo", S_IFIFO | 0600, 0, &st), -EEXIST);
	fsck_clean();
}
END_TEST

START_TEST(test_setgid_inheritance)
{
	const struct fs_ctx other = { 4321, 8765 };
	struct stat st, attr;
	struct fs_file *f;
	uint64_t sg, plain;

	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, "sg", 02775, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	sg = st.st_ino;
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 02775);
	memset(&attr, 0, sizeof(attr));
	attr.st_gid = 4242;
	ck_assert_int_eq(fs_setattr(fs, sg, &attr, FS_SET_GID, &st), 0);
	ck_assert_uint_eq(st.st_gid, 4242);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 02775);
	/* a file takes the directory's group, keeps the caller's uid */
	ck_assert_int_eq(fs_create(fs, &other, sg, "f", 0644, O_RDWR, &f, &st), 0);
	fs_release(fs, f);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_gid, 4242);
	ck_assert_uint_eq(st.st_uid, other.uid);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0644);
	/* a subdirectory takes the group and the setgid bit */
	ck_assert_int_eq(fs_mkdir(fs, &other, sg, "sub", 0755, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_gid, 4242);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | S_ISGID | 0755);
	ck_assert_int_eq(fs_mknod(fs, &other, st.st_ino, "fifo", S_IFIFO | 0644, 0, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_gid, 4242);
	ck_assert_int_eq(fs_symlink(fs, &other, sg, "ln", "f", &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_gid, 4242);
	/* without setgid: the caller's group */
	plain = make_dir(ROOT, "plain", 0755);
	ck_assert_int_eq(fs_create(fs, &other, plain, "f", 0644, O_RDWR, &f, &st), 0);
	fs_release(fs, f);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_gid, other.gid);
	ck_assert_int_eq(fs_mkdir(fs, &other, plain, "sub", 0755, &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(st.st_gid, other.gid);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0755);
}
END_TEST

/* ---- permission checks (fs_perm.c) ---- */

static void set_owner_mode(uint64_t ino, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat attr, st;

	memset(&attr, 0, sizeof(attr));
	attr.st_uid = uid;
	attr.st_gid = gid;
	attr.st_mode = mode;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_UID | FS_SET_GID | FS_SET_MODE, &st), 0);
}

START_TEST(test_permission_classes)
{
	const struct fs_ident owner = { 100, 200, 0, { 0 } };
	const struct fs_ident member = { 101, 999, 2, { 7, 200 } };
	const struct fs_ident other = { 102, 300, 1, { 301 } };
	const struct fs_ident root = { 0, 0, 0, { 0 } };
	uint64_t f = create_closed(ROOT, "f"), d = make_dir(ROOT, "d", 0755);

	/* owner rw-, group r--, others -w- : each class its own bits */
	set_owner_mode(f, 100, 200, 0642);
	ck_assert_int_eq(fs_permission(fs, &owner, f, FS_MAY_READ | FS_MAY_WRITE), 0);
	ck_assert_int_eq(fs_permission(fs, &owner, f, FS_MAY_EXEC), -EACCES);
	ck_assert_int_eq(fs_permission(fs, &member, f, FS_MAY_READ), 0);   /* secondary gid */
	ck_assert_int_eq(fs_permission(fs, &member, f, FS_MAY_WRITE), -EACCES);
	ck_assert_int_eq(fs_permission(fs, &other, f, FS_MAY_WRITE), 0);
	ck_assert_int_eq(fs_permission(fs, &other, f, FS_MAY_READ), -EACCES);
	ck_assert_int_eq(fs_permission(fs, &other, f, 0), 0);
	/* the first class that matches decides: an owner without a bit the
	 * others have is refused */
	set_owner_mode(f, 100, 200, 0077);
	ck_assert_int_eq(fs_permission(fs, &owner, f, FS_MAY_READ), -EACCES);
	ck_assert_int_eq(fs_permission(fs, &member, f, FS_MAY_READ | FS_MAY_WRITE | FS_MAY_EXEC),
			 0);
	/* root reads and writes anything; executes a file only with some x bit */
	set_owner_mode(f, 100, 200, 0000);
	ck_assert_int_eq(fs_permission(fs, &root, f, FS_MAY_READ | FS_MAY_WRITE), 0);
	ck_assert_int_eq(fs_permission(fs, &root, f, FS_MAY_EXEC), -EACCES);
	set_owner_mode(f, 100, 200, 0001);
	ck_assert_int_eq(fs_permission(fs, &root, f, FS_MAY_EXEC), 0);
	/* and searches any directory */
	set_owner_mode(d, 100, 200, 0000);
	ck_assert_int_eq(fs_permission(fs, &root, d, FS_MAY_EXEC | FS_MAY_READ), 0);
	ck_assert_int_eq(fs_permission(fs, &owner, d, FS_MAY_EXEC), -EACCES);
	ck_assert_int_eq(fs_permission(fs, &owner, 987654, FS_MAY_READ), -ENOENT);
	ck_assert(fs_ident_in_group(&member, 200) && fs_ident_in_group(&member, 999) &&
		  !fs_ident_in_group(&member, 8));
}
END_TEST

START_TEST(test_may_delete_and_rename)
{
	const struct fs_ident a = { 100, 100, 0, { 0 } };
	const struct fs_ident b = { 101, 101, 0, { 0 } };
	const struct fs_ident dirowner = { 102, 102, 0, { 0 } };
	const struct fs_ident root = { 0, 0, 0, { 0 } };
	uint64_t sticky = make_dir(ROOT, "sticky", 0777), plain = make_dir(ROOT, "plain", 0777);
	uint64_t ro = make_dir(ROOT, "ro", 0755), f, sub;

	set_owner_mode(sticky, 102, 102, 01777);
	f = create_closed(sticky, "af");
	set_owner_mode(f, 100, 100, 0644);
	ck_assert_int_eq(fs_may_delete(fs, &b, sticky, "af"), -EPERM);
	ck_assert_int_eq(fs_may_delete(fs, &a, sticky, "af"), 0);
	ck_assert_int_eq(fs_may_delete(fs, &dirowner, sticky, "af"), 0);
	ck_assert_int_eq(fs_may_delete(fs, &root, sticky, "af"), 0);
	ck_assert_int_eq(fs_may_delete(fs, &b, sticky, "missing"), -ENOENT);
	/* without the sticky bit, write on the directory is enough */
	f = create_closed(plain, "af");
	set_owner_mode(f, 100, 100, 0644);
	ck_assert_int_eq(fs_may_delete(fs, &b, plain, "af"), 0);
	/* root's 0755 directory: nobody else removes from it */
	create_closed(ro, "rf");
	ck_assert_int_eq(fs_may_delete(fs, &b, ro, "rf"), -EACCES);
	/* rename: out of, into, and over */
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "af", ro, "x", 0), -EACCES);
	ck_assert_int_eq(fs_may_rename(fs, &b, ro, "rf", plain, "x", 0), -EACCES);
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "af", plain, "x", 0), 0);
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "af", sticky, "af", 0), -EPERM);
	ck_assert_int_eq(fs_may_rename(fs, &a, plain, "af", sticky, "af", 0), 0);
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "af", ro, "rf", RENAME_EXCHANGE), -EACCES);
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "af", plain, "none", RENAME_EXCHANGE),
			 -ENOENT);
	/* a directory moving to another parent needs write on itself (its "..") */
	sub = make_dir(plain, "sub", 0755);
	set_owner_mode(sub, 100, 100, 0555);
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "sub", sticky, "sub", 0), -EACCES);
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "sub", plain, "sub2", 0), 0);
	set_owner_mode(sub, 101, 101, 0755);
	ck_assert_int_eq(fs_may_rename(fs, &b, plain, "sub", sticky, "sub", 0), 0);
}
END_TEST

START_TEST(test_may_setattr)
{
	const struct fs_ident owner = { 100, 100, 1, { 300 } };
	const struct fs_ident other = { 101, 101, 0, { 0 } };
	const struct fs_ident root = { 0, 0, 0, { 0 } };
	uint64_t f = create_closed(ROOT, "f");
	struct stat attr;

	set_owner_mode(f, 100, 100, 0644);
	memset(&attr, 0, sizeof(attr));
	/* chown: only root gives the file away; the owner picks its groups */
	attr.st_uid = 101;
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_UID, false), -EPERM);
	ck_assert_int_eq(fs_may_setattr(fs, &root, f, &attr, FS_SET_UID, false), 0);
	attr.st_uid = 100;
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_UID, false), 0);
	attr.st_gid = 300;
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_GID, false), 0);
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_GID, false), -EPERM);
	attr.st_gid = 301;
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_GID, false), -EPERM);
	/* chmod: the owner; set-group-ID goes when not in the (new) group */
	attr.st_mode = 02755;
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_MODE, false), -EPERM);
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_MODE, false), 0);
	ck_assert_uint_eq(attr.st_mode, 02755);           /* 100 is in group 100 */
	set_owner_mode(f, 100, 555, 0644);
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_MODE, false), 0);
	ck_assert_uint_eq(attr.st_mode, 0755);            /* not in 555 */
	attr.st_mode = 02755;
	attr.st_gid = 300;
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_MODE | FS_SET_GID, false), 0);
	ck_assert_uint_eq(attr.st_mode, 02755);           /* ... but in the new group 300 */
	ck_assert_int_eq(fs_may_setattr(fs, &root, f, &attr, FS_SET_MODE, false), 0);
	ck_assert_uint_eq(attr.st_mode, 02755);
	/* the kernel's drop of set-user-ID before another's write: write
	 * permission, and nothing but clearing those bits */
	set_owner_mode(f, 100, 100, 04666);
	attr.st_mode = 0666;
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_MODE, false), 0);
	attr.st_mode = 0777;
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_MODE, false), -EPERM);
	set_owner_mode(f, 100, 100, 04644);
	attr.st_mode = 0644;
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_MODE, false), -EACCES);
	/* times: explicit by the owner; now by the owner or a writer */
	set_owner_mode(f, 100, 100, 0644);
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_ATIME | FS_SET_MTIME, false),
			 -EPERM);
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_ATIME | FS_SET_MTIME, false),
			 0);
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_ATIME | FS_SET_ATIME_NOW |
					FS_SET_MTIME | FS_SET_MTIME_NOW, false), -EACCES);
	set_owner_mode(f, 100, 100, 0646);
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_ATIME | FS_SET_ATIME_NOW |
					FS_SET_MTIME | FS_SET_MTIME_NOW, false), 0);
	/* size: write permission, unless through a handle (ftruncate) */
	set_owner_mode(f, 100, 100, 0644);
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_SIZE, false), -EACCES);
	ck_assert_int_eq(fs_may_setattr(fs, &other, f, &attr, FS_SET_SIZE, true), 0);
	ck_assert_int_eq(fs_may_setattr(fs, &owner, f, &attr, FS_SET_SIZE, false), 0);
	ck_assert_int_eq(fs_may_setattr(fs, &other, 987654, &attr, FS_SET_SIZE, false), -ENOENT);
}
END_TEST

START_TEST(test_may_xattr)
{
	const struct fs_ident owner = { 100, 100, 0, { 0 } };
	const struct fs_ident other = { 101, 101, 0, { 0 } };
	uint64_t f = create_closed(ROOT, "f"), d = make_dir(ROOT, "d", 0777);
	struct stat st;

	set_owner_mode(f, 100, 100, 0644);
	ck_assert_int_eq(fs_may_xattr(fs, &other, f, "user.k", false), 0);
	ck_assert_int_eq(fs_may_xattr(fs, &other, f, "user.k", true), -EACCES);
	ck_assert_int_eq(fs_may_xattr(fs, &owner, f, "user.k", true), 0);
	ck_assert_int_eq(fs_may_xattr(fs, &other, f, "trusted.k", true), 0);  /* the kernel's */
	set_owner_mode(f, 100, 100, 0600);
	ck_assert_int_eq(fs_may_xattr(fs, &other, f, "user.k", false), -EACCES);
	/* a sticky directory's user.* belong to its owner */
	set_owner_mode(d, 100, 100, 01777);
	ck_assert_int_eq(fs_may_xattr(fs, &other, d, "user.k", true), -EPERM);
	ck_assert_int_eq(fs_may_xattr(fs, &owner, d, "user.k", true), 0);
	/* user.* exist on regular files and directories only */
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, "ln", "f", &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_int_eq(fs_may_xattr(fs, &owner, st.st_ino, "user.k", true), -EPERM);
	ck_assert_int_eq(fs_may_xattr(fs, &owner, st.st_ino, "user.k", false), -ENODATA);
}
END_TEST

START_TEST(test_may_link)
{
	const struct fs_ident owner = { 100, 100, 0, { 0 } };
	const struct fs_ident other = { 101, 101, 0, { 0 } };
	const struct fs_ident root = { 0, 0, 0, { 0 } };
	uint64_t f = create_closed(ROOT, "f"), d = make_dir(ROOT, "d", 0777);

	set_owner_mode(f, 100, 100, 0644);
	ck_assert_int_eq(fs_may_link(fs, &owner, f), 0);
	ck_assert_int_eq(fs_may_link(fs, &root, f), 0);
	ck_assert_int_eq(fs_may_link(fs, &other, f), -EPERM);
	set_owner_mode(f, 100, 100, 0666);
	ck_assert_int_eq(fs_may_link(fs, &other, f), 0);
	set_owner_mode(f, 100, 100, 04666);
	ck_assert_int_eq(fs_may_link(fs, &other, f), -EPERM);
	set_owner_mode(f, 100, 100, 02676);
	ck_assert_int_eq(fs_may_link(fs, &other, f), -EPERM);
	set_owner_mode(f, 100, 100, 02666);           /* set-group-ID without x: a lock mark */
	ck_assert_int_eq(fs_may_link(fs, &other, f), 0);
	ck_assert_int_eq(fs_may_link(fs, &other, d), -EPERM);
}
END_TEST

/* fs_ref holds a directory (a session's root) while it is removed. */
START_TEST(test_ref_holds_removed_dir)
{
	uint64_t d = make_dir(ROOT, "d", 0755);
	struct stat st;

	ck_assert_int_eq(fs_ref(fs, d, &st), 0);
	ck_assert_uint_eq(st.st_ino, d);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(fs_rmdir(fs, ROOT, "d"), 0);
	ck_assert_int_eq(fs_getattr(fs, d, &st), 0);     /* still there, unlinked */
	fs_forget(fs, d, 1);
	fs_purge_wait(fs);                                /* the purger removes it */
	ck_assert_int_eq(fs_getattr(fs, d, &st), -ENOENT);
	ck_assert_int_eq(fs_ref(fs, 987654, &st), -ENOENT);
}
END_TEST

START_TEST(test_setattr)
{
	uint64_t ino = create_closed(ROOT, "f");
	struct stat attr, st, before;
	struct timespec now;

	memset(&attr, 0, sizeof(attr));
	attr.st_mode = S_IFDIR | 04751;      /* type bits are ignored */
	attr.st_uid = 11;
	attr.st_gid = 22;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_MODE | FS_SET_UID | FS_SET_GID, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 04751);
	ck_assert_uint_eq(st.st_uid, 11);
	ck_assert_uint_eq(st.st_gid, 22);
	st = getattr(ino);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 04751);
	/* explicit times with nanoseconds, including before the epoch */
	attr.st_atim = (struct timespec){ -12345, 999999999 };
	attr.st_mtim = (struct timespec){ 4102444800LL, 123456789 };
	attr.st_ctim = (struct timespec){ 1, 2 };
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_ATIME | FS_SET_MTIME | FS_SET_CTIME,
				    &st), 0);
	st = getattr(ino);
	ck_assert_int_eq((long long)st.st_atim.tv_sec, -12345);
	ck_assert_int_eq(st.st_atim.tv_nsec, 999999999);
	ck_assert_int_eq((long long)st.st_mtim.tv_sec, 4102444800LL);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 123456789);
	ck_assert_int_eq((long long)st.st_ctim.tv_sec, 1);
	ck_assert_int_eq(st.st_ctim.tv_nsec, 2);
	/* a change without FS_SET_CTIME moves ctime to now; NOW flags use the clock */
	before = st;
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_MTIME_NOW | FS_SET_ATIME_NOW, &st), 0);
	st = getattr(ino);
	ck_assert_int_ge((long long)st.st_ctim.tv_sec, (long long)now.tv_sec);
	ck_assert_int_ge((long long)st.st_mtim.tv_sec, (long long)now.tv_sec);
	ck_assert_int_ge((long long)st.st_atim.tv_sec, (long long)now.tv_sec);
	ck_assert_int_ne((long long)st.st_atim.tv_sec, (long long)before.st_atim.tv_sec);
	/* nothing to set: nothing changes */
	before = st;
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, 0, &st), 0);
	st = getattr(ino);
	ck_assert_int_eq((long long)st.st_ctim.tv_sec, (long long)before.st_ctim.tv_sec);
	ck_assert_int_eq(st.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
	ck_assert_int_eq(fs_setattr(fs, 987654, &attr, FS_SET_MODE, &st), -ENOENT);
}
END_TEST

/* ---- readdir ---- */

START_TEST(test_readdir_basic)
{
	uint64_t d = make_dir(ROOT, "d", 0755), f, snap = 0;
	struct listing l;
	struct fs_file *h;
	int i;

	list_all(d, &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.e[0].name, ".");
	ck_assert_uint_eq(l.e[0].ino, d);
	ck_assert_str_eq(l.e[1].name, "..");
	ck_assert_uint_eq(l.e[1].ino, ROOT);
	list_all(ROOT, &l);
	ck_assert_uint_eq(l.e[find_ent(&l, "..")].ino, ROOT);
	f = create_file(d, "file", 0644, &h);
	write_at(h, 0, "12345", 5);
	fs_release(fs, h);
	fs_forget(fs, f, 1);
	make_dir(d, "sub", 0700);
	list_all(d, &l);
	ck_assert_int_eq(l.n, 4);
	i = find_ent(&l, "file");
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(l.e[i].ino, f);
	ck_assert_uint_eq(l.e[i].mode & S_IFMT, S_IFREG);
	ck_assert_uint_eq(l.e[find_ent(&l, "sub")].mode & S_IFMT, S_IFDIR);
	/* cookies increase */
	for (i = 1; i < l.n; i++)
		ck_assert_uint_gt(l.e[i].next, l.e[i - 1].next);
	/* opendir of a file */
	ck_assert_int_eq(fs_opendir(fs, f, &snap), -ENOTDIR);
	ck_assert_int_eq(fs_opendir(fs, 987654, &snap), -ENOENT);
}
END_TEST

START_TEST(test_readdir_snapshot)
{
	uint64_t d = make_dir(ROOT, "d", 0755), snap = 0, cookie;
	struct listing l;
	char name[8];

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		create_closed(d, name);
	}
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(fs_opendir(fs, d, &snap), 0);
	cookie = list_more(d, 0, &snap, false, 4, &l);       /* . .. e0 e1 */
	ck_assert_int_eq(l.n, 4);
	ck_assert_str_eq(l.e[3].name, "e1");
	/* meanwhile: one created, one removed that was not read yet, one read removed */
	create_closed(d, "new");
	ck_assert_int_eq(fs_unlink(fs, d, "e3"), 0);
	ck_assert_int_eq(fs_unlink(fs, d, "e0"), 0);
	list_more(d, cookie, &snap, false, 100, &l);
	ck_assert_int_eq(l.n, 6);
	ck_assert_str_eq(l.e[4].name, "e2");
	ck_assert_str_eq(l.e[5].name, "e4");
	ck_assert_int_lt(find_ent(&l, "new"), 0);
	/* rewind: a new snapshot */
	memset(&l, 0, sizeof(l));
	list_more(d, 0, &snap, false, 100, &l);
	ck_assert_int_eq(l.n, 6);
	ck_assert_int_ge(find_ent(&l, "new"), 0);
	ck_assert_int_lt(find_ent(&l, "e3"), 0);
	ck_assert_int_lt(find_ent(&l, "e0"), 0);
}
END_TEST

/* A "for each entry, create one" loop ends: the stream never lists entries
 * made after it started, even when the newest entry of the file system was
 * removed just before (its cookie must not be handed out again). */
START_TEST(test_readdir_snapshot_newest_removed)
{
	uint64_t d = make_dir(ROOT, "d", 0755), snap = 0, cookie;
	struct listing l;

	create_closed(d, "a");
	create_closed(d, "b");
	create_closed(d, "c");         /* the newest entry of the whole file system */
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(fs_opendir(fs, d, &snap), 0);
	cookie = list_more(d, 0, &snap, false, 3, &l);       /* . .. a */
	ck_assert_str_eq(l.e[2].name, "a");
	ck_assert_int_eq(fs_unlink(fs, d, "c"), 0);
	create_closed(d, "late");
	list_more(d, cookie, &snap, false, 100, &l);
	ck_assert_msg(find_ent(&l, "late") < 0, "an entry created after the stream started "
		      "was listed (dentry cookie reused after deleting the newest entry)");
	ck_assert_int_eq(l.n, 4);
	ck_assert_str_eq(l.e[3].name, "b");
}
END_TEST

START_TEST(test_readdir_resume)
{
	uint64_t d = make_dir(ROOT, "d", 0755), snap = 0, cookie = 0;
	struct listing l;
	char name[16];
	int calls = 0;

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "n%02d", i);
		create_closed(d, name);
	}
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(fs_opendir(fs, d, &snap), 0);
	/* one entry per call, renaming entries as we go */
	for (;;) {
		int before = l.n;

		ck_assert_int_lt(calls++, 100);
		cookie = list_more(d, cookie, &snap, false, 1, &l);
		if (l.n == before)
			break;
		if (l.n == 5) {
			/* already listed n02 and n10 not yet: rename both in place */
			ck_assert_int_eq(fs_rename(fs, d, "n02", d, "r02", 0), 0);
			ck_assert_int_eq(fs_rename(fs, d, "n10", d, "r10", 0), 0);
		}
	}
	ck_assert_int_eq(l.n, 22);
	ck_assert_int_lt(find_ent(&l, "r02"), 0);     /* not listed twice */
	ck_assert_int_ge(find_ent(&l, "n02"), 0);
	ck_assert_int_ge(find_ent(&l, "r10"), 0);
	ck_assert_int_lt(find_ent(&l, "n10"), 0);
	for (int i = 0; i < 20; i++) {
		if (i == 10)
			continue;
		snprintf(name, sizeof(name), "n%02d", i);
		ck_assert_msg(find_ent(&l, name) >= 0, "%s not listed", name);
	}
	/* resuming at "." and ".." cookies */
	memset(&l, 0, sizeof(l));
	list_more(d, 1, &snap, false, 1, &l);
	ck_assert_str_eq(l.e[0].name, "..");
	memset(&l, 0, sizeof(l));
	list_more(d, 2, &snap, false, 1, &l);
	ck_assert_str_eq(l.e[0].name, "n00");
}
END_TEST

START_TEST(test_readdirplus_refs)
{
	uint64_t d = make_dir(ROOT, "d", 0755), snap = 0, p, q;
	struct fs_file *f;
	struct listing l;
	struct stat st;

	p = create_file(d, "p", 0600, &f);
	write_at(f, 0, "123", 3);
	fs_release(fs, f);
	fs_forget(fs, p, 1);
	q = create_closed(d, "q");
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(fs_opendir(fs, d, &snap), 0);
	/* room for . .. p: q is refused and takes no reference */
	list_more(d, 0, &snap, true, 3, &l);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.e[2].name, "p");
	ck_assert_uint_eq(l.e[2].ino, p);
	ck_assert_int_eq(l.e[2].size, 3);
	ck_assert_uint_eq(l.e[2].mode, S_IFREG | 0600);
	/* p is referenced now: unlink keeps it until forgotten */
	ck_assert_int_eq(fs_unlink(fs, d, "p"), 0);
	ck_assert_int_eq(fs_getattr(fs, p, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 0);
	fs_forget(fs, p, 1);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, p, &st), -ENOENT);
	/* q was not consumed: unlink removes it at once */
	ck_assert_int_eq(fs_unlink(fs, d, "q"), 0);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, q, &st), -ENOENT);
}
END_TEST

/* ---- xattrs ---- */

START_TEST(test_xattr)
{
	uint64_t ino = create_closed(ROOT, "f");
	static const unsigned char bin[] = { 0, 0xff, 0, 1 };
	char buf[128], *big;
	struct stat attr, st;
	size_t len = 0;

	ck_assert_int_eq(fs_getxattr(fs, ino, "user.a", buf, sizeof(buf), &len), -ENODATA);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.a", "v", 1, XATTR_REPLACE), -ENODATA);
	/* ctime moves on a change */
	memset(&attr, 0, sizeof(attr));
	attr.st_ctim = (struct timespec){ 1000, 0 };
	ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_CTIME, &st), 0);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.a", "value", 5, XATTR_CREATE), 0);
	ck_assert_int_gt((long long)getattr(ino).st_ctim.tv_sec, 1000);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.a", "x", 1, XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(fs_getxattr(fs, ino, "user.a", NULL, 0, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(fs_getxattr(fs, ino, "user.a", buf, 4, &len), -ERANGE);
	ck_assert_int_eq(fs_getxattr(fs, ino, "user.a", buf, sizeof(buf), &len), 0);
	ck_assert_mem_eq(buf, "value", 5);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.a", "v2", 2, XATTR_REPLACE), 0);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "trusted.bin", bin, sizeof(bin), 0), 0);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.empty", "", 0, 0), 0);
	ck_assert_int_eq(fs_getxattr(fs, ino, "trusted.bin", buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, sizeof(bin));
	ck_assert_mem_eq(buf, bin, sizeof(bin));
	len = 9;
	ck_assert_int_eq(fs_getxattr(fs, ino, "user.empty", buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 0);
	/* list */
	ck_assert_int_eq(fs_listxattr(fs, ino, NULL, 0, &len), 0);
	ck_assert_uint_eq(len, sizeof("trusted.bin\0user.a\0user.empty"));
	ck_assert_int_eq(fs_listxattr(fs, ino, buf, sizeof(buf), &len), 0);
	ck_assert_mem_eq(buf, "trusted.bin\0user.a\0user.empty\0", len);
	ck_assert_int_eq(fs_listxattr(fs, ino, buf, 5, &len), -ERANGE);
	/* namespaces */
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "system.posix_acl_access", "x", 1, 0), -EOPNOTSUPP);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "other.x", "x", 1, 0), -EOPNOTSUPP);
	ck_assert_int_eq(fs_getxattr(fs, ino, "system.posix_acl_access", buf, sizeof(buf), &len),
			 -ENODATA);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.", "x", 1, 0), -EINVAL);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "", "x", 1, 0), -ERANGE);
	/* sizes */
	big = calloc(1, 65537);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.big", big, 65537, 0), -E2BIG);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.big", big, 65536, 0), 0);
	ck_assert_int_eq(fs_getxattr(fs, ino, "user.big", NULL, 0, &len), 0);
	ck_assert_uint_eq(len, 65536);
	free(big);
	/* remove */
	ck_assert_int_eq(fs_removexattr(fs, ino, "user.a"), 0);
	ck_assert_int_eq(fs_removexattr(fs, ino, "user.a"), -ENODATA);
	ck_assert_int_eq(fs_removexattr(fs, ino, "system.x"), -ENODATA);
	/* on a directory, and on no inode */
	ck_assert_int_eq(fs_setxattr(fs, NULL, ROOT, "user.d", "1", 1, 0), 0);
	ck_assert_int_eq(fs_setxattr(fs, NULL, 987654, "user.d", "1", 1, 0), -ENOENT);
	/* they persist */
	fs_reopen(NULL);
	ck_assert_int_eq(fs_getxattr(fs, ino, "trusted.bin", buf, sizeof(buf), &len), 0);
	ck_assert_mem_eq(buf, bin, sizeof(bin));
	ck_assert_int_eq(fs_getxattr(fs, ROOT, "user.d", buf, sizeof(buf), &len), 0);
	fsck_clean();
}
END_TEST

/* A file made by fs_create is known to have no xattr (its getxattr and
 * listxattr answer without a metadata read) until one is set: through its
 * own handle or through another lookup of its name. */
START_TEST(test_xattr_fresh)
{
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "f", 0644, &f), other = create_closed(ROOT, "g");
	struct fs_inode *in;
	uint64_t sets;
	char buf[64];
	size_t len = 7;
	struct stat st;

	ck_assert(fs_inode_no_xattrs(fs, ino));
	ck_assert_int_eq(fs_getxattr(fs, ino, "security.capability", NULL, 0, &len), -ENODATA);
	ck_assert_int_eq(fs_listxattr(fs, ino, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 0);
	/* set through another lookup of the name: read back through both */
	ck_assert_int_eq(fs_lookup(fs, ROOT, "f", &st), 0);
	ck_assert_uint_eq(st.st_ino, ino);
	ck_assert_int_eq(fs_setxattr(fs, NULL, st.st_ino, "user.a", "value", 5, 0), 0);
	ck_assert(!fs_inode_no_xattrs(fs, ino));
	ck_assert_int_eq(fs_getxattr(fs, ino, "user.a", buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(buf, "value", 5);
	ck_assert_int_eq(fs_listxattr(fs, ino, buf, sizeof(buf), &len), 0);
	ck_assert_mem_eq(buf, "user.a\0", len);
	fs_forget(fs, ino, 1);
	/* removing the last one does not make it "known to have none" again */
	ck_assert_int_eq(fs_removexattr(fs, ino, "user.a"), 0);
	ck_assert(!fs_inode_no_xattrs(fs, ino));
	/* fs_create's mark is taken back when a setxattr began since it
	 * read the count, whichever inode it was for */
	ck_assert_int_eq(fs_inode_ref(fs, ino, 1, 0, &in), 0);
	sets = atomic_load(&fs->xattr_sets);
	ck_assert_int_eq(fs_setxattr(fs, NULL, other, "user.b", "1", 1, 0), 0);
	fs_inode_mark_no_xattrs(fs, in, sets);
	ck_assert(!fs_inode_no_xattrs(fs, ino));
	fs_inode_mark_no_xattrs(fs, in, atomic_load(&fs->xattr_sets));
	ck_assert(fs_inode_no_xattrs(fs, ino));
	fs_inode_unref(fs, in, 1, 0);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	/* out of memory, nothing is known: the metadata answers */
	ck_assert(!fs_inode_no_xattrs(fs, ino));
	ck_assert_int_eq(fs_getxattr(fs, other, "user.b", buf, sizeof(buf), &len), 0);
	fsck_clean();
}
END_TEST

/* ---- statfs, lseek, fallocate ---- */

/* Per inode: values of at most 256 KiB together, names of at most 64 KiB
 * (what one listxattr returns); beyond, ENOSPC as on ext4. */
START_TEST(test_xattr_inode_limits)
{
	uint64_t ino = create_closed(ROOT, "f"), other = create_closed(ROOT, "g");
	char *val = calloc(1, 65536), name[300];
	size_t len = 0, n;
	int i;

	ck_assert_ptr_nonnull(val);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "user.v%d", i);
		memset(val, 'a' + i, 65536);
		ck_assert_int_eq(fs_setxattr(fs, NULL, ino, name, val, 65536, 0), 0);
	}
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.v4", val, 65536, 0), -ENOSPC);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.v4", "x", 1, 0), -ENOSPC);
	/* the flags answer first, as on ext4 */
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.v4", "x", 1, XATTR_REPLACE), -ENODATA);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.v0", "x", 1, XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(fs_getxattr(fs, ino, "user.v4", NULL, 0, &len), -ENODATA);
	/* replacing a value within the total works, so does an empty one */
	memset(val, 'z', 65536);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.v0", val, 65536, XATTR_REPLACE), 0);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.empty", "", 0, 0), 0);
	/* removing one makes room again */
	ck_assert_int_eq(fs_removexattr(fs, ino, "user.v3"), 0);
	ck_assert_int_eq(fs_setxattr(fs, NULL, ino, "user.v4", val, 65536, 0), 0);
	/* the limit is per inode */
	ck_assert_int_eq(fs_setxattr(fs, NULL, other, "user.v0", val, 65536, 0), 0);
	/* names: 251 bytes each with the NUL, 261 fit in 64 KiB, the 262nd not */
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[250] = '\0';
	for (i = 0; i < 261; i++) {
		snprintf(name + 5, 6, "%05d", i);
		name[10] = 'n';
		ck_assert_int_eq(fs_setxattr(fs, NULL, other, name, "", 0, 0), 0);
	}
	snprintf(name + 5, 6, "%05d", i);
	name[10] = 'n';
	ck_assert_int_eq(fs_setxattr(fs, NULL, other, name, "", 0, 0), -ENOSPC);
	ck_assert_int_eq(fs_listxattr(fs, other, NULL, 0, &n), 0);
	ck_assert_uint_le(n, 65536);
	ck_assert_uint_eq(n, 261 * 251 + sizeof("user.v0"));
	free(val);
	fsck_clean();
}
END_TEST

START_TEST(test_statfs)
{
	struct statvfs sv, native;

	ck_assert_int_eq(fs_statfs(fs, &sv), 0);
	ck_assert_uint_gt(sv.f_frsize, 0);
	ck_assert_uint_ge(sv.f_blocks, (8ull << 60) / sv.f_frsize);
	ck_assert_uint_le(sv.f_bfree, sv.f_blocks);
	ck_assert_uint_ge(sv.f_bavail, (7ull << 60) / sv.f_frsize);
	ck_assert_uint_gt(sv.f_files, 0);
	ck_assert_uint_le(sv.f_ffree, sv.f_files);
	ck_assert_uint_eq(sv.f_namemax, FS_NAME_MAX);
	/* local mode: the data disk */
	conf->statfs = CONF_STATFS_LOCAL;
	ck_assert_int_eq(fs_statfs(fs, &sv), 0);
	ck_assert_int_eq(statvfs(data_dir, &native), 0);
	ck_assert_uint_eq(sv.f_blocks, native.f_blocks);
	ck_assert_uint_eq(sv.f_frsize, native.f_frsize);
	ck_assert_uint_eq(sv.f_namemax, FS_NAME_MAX);
	conf->statfs = CONF_STATFS_EFS;
}
END_TEST

START_TEST(test_lseek)
{
	static const off_t probes[] = { 0, 1, 4095, 4096, 5000, CHUNK - 1, CHUNK, 4 * CHUNK - 1,
					4 * CHUNK, 4 * CHUNK + 4095, 4 * CHUNK + 4096,
					6 * CHUNK, 8 * CHUNK - 1, 8 * CHUNK, 8 * CHUNK + 1, -1 };
	char block[4096], native[4400];
	struct fs_file *f;
	uint64_t ino;
	int nfd;

	memset(block, 'd', sizeof(block));
	ino = create_file(ROOT, "sparse", 0644, &f);
	write_at(f, 0, block, sizeof(block));
	write_at(f, 4 * CHUNK, block, sizeof(block));
	write_at(f, 4 * CHUNK + 8192, block, sizeof(block));
	{
		struct stat attr, st;

		memset(&attr, 0, sizeof(attr));
		attr.st_size = 8 * CHUNK;       /* a trailing hole */
		ck_assert_int_eq(fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st), 0);
	}
	/* the same layout in a native file is the oracle */
	snprintf(native, sizeof(native), "%s/native", tmp_dir);
	nfd = open(native, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(nfd, 0);
	ck_assert_int_eq(pwrite(nfd, block, sizeof(block), 0), (ssize_t)sizeof(block));
	ck_assert_int_eq(pwrite(nfd, block, sizeof(block), 4 * CHUNK), (ssize_t)sizeof(block));
	ck_assert_int_eq(pwrite(nfd, block, sizeof(block), 4 * CHUNK + 8192),
			 (ssize_t)sizeof(block));
	ck_assert_int_eq(ftruncate(nfd, 8 * CHUNK), 0);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		for (int w = 0; w < 2; w++) {
			int whence = w ? SEEK_HOLE : SEEK_DATA;
			off_t want = lseek(nfd, probes[i], whence), got;

			if (want < 0)
				want = -errno;
			got = fs_lseek(fs, f, probes[i], whence);
			ck_assert_msg(got == want, "lseek(%lld, %s) = %lld, native %lld",
				      (long long)probes[i], w ? "SEEK_HOLE" : "SEEK_DATA",
				      (long long)got, (long long)want);
		}
	}
	/* the semantics hold whatever the disk's granularity */
	ck_assert_int_eq(fs_lseek(fs, f, 0, SEEK_DATA), 0);
	ck_assert_int_le(fs_lseek(fs, f, 0, SEEK_HOLE), 4 * CHUNK);
	ck_assert_int_ge(fs_lseek(fs, f, 0, SEEK_HOLE), 4096);
	ck_assert_int_eq(fs_lseek(fs, f, 8 * CHUNK - 1, SEEK_HOLE), 8 * CHUNK - 1);
	ck_assert_int_eq(fs_lseek(fs, f, 8 * CHUNK, SEEK_DATA), -ENXIO);
	ck_assert_int_eq(fs_lseek(fs, f, 5 * CHUNK, SEEK_DATA), -ENXIO);
	ck_assert_int_eq(fs_lseek(fs, f, 0, SEEK_SET), -EINVAL);
	ck_assert_int_eq(fs_lseek(fs, f, 0, SEEK_END), -EINVAL);
	close(nfd);
	fs_release(fs, f);
}
END_TEST

START_TEST(test_fallocate)
{
	size_t len = 3 * CHUNK;
	unsigned char *buf = malloc(len + 100);
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "fa", 0644, &f);
	struct stat st;
	blkcnt_t blocks;

	memset(buf, 'x', len);
	write_at(f, 0, buf, len);
	blocks = getattr(ino).st_blocks;
	/* punch a hole: zeros, same size, fewer blocks */
	ck_assert_int_eq(fs_fallocate(fs, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 70000,
				      50000), 0);
	st = getattr(ino);
	ck_assert_int_eq(st.st_size, (off_t)len);
	ck_assert_int_lt(st.st_blocks, blocks);
	ck_assert_uint_eq(read_at(f, 0, buf, len + 100), len);
	ck_assert(all_bytes(buf, 70000, 'x'));
	ck_assert(all_bytes(buf + 70000, 50000, 0));
	ck_assert(all_bytes(buf + 120000, len - 120000, 'x'));
	/* zero range inside */
	ck_assert_int_eq(fs_fallocate(fs, f, FALLOC_FL_ZERO_RANGE, 10, 20), 0);
	ck_assert_uint_eq(read_at(f, 0, buf, 40), 40);
	ck_assert(all_bytes(buf, 10, 'x'));
	ck_assert(all_bytes(buf + 10, 20, 0));
	ck_assert(all_bytes(buf + 30, 10, 'x'));
	ck_assert_int_eq(getattr(ino).st_size, (off_t)len);
	/* allocate past EOF: grows unless KEEP_SIZE */
	ck_assert_int_eq(fs_fallocate(fs, f, FALLOC_FL_KEEP_SIZE, (off_t)len, 4096), 0);
	ck_assert_int_eq(getattr(ino).st_size, (off_t)len);
	ck_assert_int_eq(fs_fallocate(fs, f, 0, (off_t)len, 5000), 0);
	ck_assert_int_eq(getattr(ino).st_size, (off_t)len + 5000);
	ck_assert_uint_eq(read_at(f, (off_t)len, buf, 6000), 5000);
	ck_assert(all_bytes(buf, 5000, 0));
	/* errors */
	ck_assert_int_eq(fs_fallocate(fs, f, FALLOC_FL_PUNCH_HOLE, 0, 10), -EOPNOTSUPP);
	ck_assert_int_eq(fs_fallocate(fs, f, FALLOC_FL_COLLAPSE_RANGE, 0, CHUNK), -EOPNOTSUPP);
	ck_assert_int_eq(fs_fallocate(fs, f, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(fs_fallocate(fs, f, 0, -1, 10), -EINVAL);
	ck_assert_int_eq(fs_fallocate(fs, f, 0, (off_t)FS_MAX_FILE_SIZE, 1), -EFBIG);
	fs_release(fs, f);
	free(buf);
	fsck_clean();
}
END_TEST

/* ---- crash recovery and fsck ---- */

#define STRAY_INO 0xabcabull

/* The child of test_crash_recovery: leaves an open-unlinked file, a kept
 * file and a stray data file, then dies without fs_close. */
static void crash_child(int wfd)
{
	char err[1024], path[4400], block[CHUNK];
	struct fs_file *f, *k;
	struct stat st;
	uint64_t ino;
	off_t at;
	int fd;

	if (fs_open(conf, "/mnt/crash", &fs, err, sizeof(err)) < 0)
		_exit(10);
	if (fs_create(fs, &ctx, ROOT, "victim", 0644, O_RDWR, &f, &st) < 0)
		_exit(11);
	ino = st.st_ino;
	memset(block, 'v', sizeof(block));
	if (fs_write_begin(fs, f, 0, sizeof(block), &at) < 0)
		_exit(12);
	if (fs_write(fs, f, at, &(struct fs_wsrc){ block, -1 }, sizeof(block)) !=
	    (ssize_t)sizeof(block))
		_exit(13);
	if (fs_write_end(fs, f, at, sizeof(block), sizeof(block)) < 0)
		_exit(14);
	if (fs_unlink(fs, ROOT, "victim") < 0)
		_exit(15);
	if (fs_create(fs, &ctx, ROOT, "keep", 0644, O_RDWR, &k, &st) < 0)
		_exit(16);
	if (fs_write_begin(fs, k, 0, 8, &at) < 0 ||
	    fs_write(fs, k, at, &(struct fs_wsrc){ "keepdata", -1 }, 8) != 8 ||
	    fs_write_end(fs, k, at, 8, 8) < 0)
		_exit(17);
	fs_release(fs, k);
	if (fs_fsync(fs, f, false) < 0)
		_exit(18);
	data_path(STRAY_INO, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || write(fd, "stray", 5) != 5)
		_exit(19);
	close(fd);
	if (write(wfd, &ino, sizeof(ino)) != (ssize_t)sizeof(ino))
		_exit(20);
	_exit(0);                /* no fs_close, no fs_release: a crash */
}

/* Runs child(wfd) in a forked process that ends without closing the file
 * system (a crash) and reads the len bytes it reports into out. */
static void run_crash_child(void (*child)(int wfd), void *out, size_t len)
{
	int pfd[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		child(pfd[1]);
	}
	close(pfd[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	ck_assert_int_eq(read(pfd[0], out, len), (ssize_t)len);
	close(pfd[0]);
}

/* Group commit: operations commit together; fsync commits everything before
 * it; a crash loses only what the open group held, and recovery then removes
 * the data files of the inodes it had created. */
/* In the child (no ck_assert there): creates `name` in the root holding
 * `data`; its inode number goes to *ino.  False on any failure. */
static bool child_create(const char *name, const char *data, struct fs_file **f, uint64_t *ino)
{
	size_t n = strlen(data);
	struct stat st;
	off_t at;

	if (fs_create(fs, &ctx, ROOT, name, 0644, O_RDWR, f, &st) < 0)
		return false;
	*ino = st.st_ino;
	return fs_write_begin(fs, *f, 0, n, &at) >= 0 &&
	       fs_write(fs, *f, at, &(struct fs_wsrc){ data, -1 }, n) == (ssize_t)n &&
	       fs_write_end(fs, *f, at, n, n) >= 0;
}

static void group_crash_child(int wfd)
{
	char err[1024];
	struct fs_file *f, *g;
	uint64_t inos[2];

	if (fs_open(conf, "/mnt/group", &fs, err, sizeof(err)) < 0)
		_exit(10);
	if (fs_set_group_commit(fs, 60000) < 0)
		_exit(11);
	if (!child_create("synced", "synced", &f, &inos[0]))
		_exit(12);
	if (fs_fsync(fs, f, false) < 0)
		_exit(14);
	if (!child_create("unsynced", "un", &g, &inos[1]))
		_exit(15);
	if (write(wfd, inos, sizeof(inos)) != (ssize_t)sizeof(inos))
		_exit(17);
	_exit(0);                /* a crash, with "unsynced" in the open group */
}

START_TEST(test_group_commit)
{
	struct fs_file *f;
	struct stat st;
	uint64_t inos[2], a, b, d;
	char buf[16];

	/* a failed operation inside a group undoes only itself */
	ck_assert_int_eq(fs_set_group_commit(fs, 60000), 0);
	a = create_closed(ROOT, "a");
	ck_assert_int_eq(fs_create(fs, &ctx, ROOT, "a", 0644, O_RDWR, &f, &st), -EEXIST);
	b = create_closed(ROOT, "b");
	d = make_dir(ROOT, "d", 0755);
	ck_assert_int_eq(fs_rename(fs, ROOT, "b", d, "b2", 0), 0);
	ck_assert_int_eq(fs_rmdir(fs, ROOT, "d"), -ENOTEMPTY);
	fs_reopen(NULL);                 /* a clean close commits the group */
	ck_assert_uint_eq(lookup(ROOT, "a", NULL), a);
	ck_assert_uint_eq(lookup(d, "b2", NULL), b);
	ck_assert_int_eq(fs_lookup(fs, ROOT, "b", &st), -ENOENT);
	fs_close(fs);
	fs = NULL;

	/* a crash */
	run_crash_child(group_crash_child, inos, sizeof(inos));
	ck_assert(data_exists(inos[1]));
	fs_reopen(NULL);
	ck_assert_uint_eq(lookup(ROOT, "synced", &st), inos[0]);
	ck_assert_int_eq(st.st_size, 6);
	ck_assert_int_eq(fs_open_file(fs, inos[0], O_RDONLY, &f), 0);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 6);
	ck_assert_mem_eq(buf, "synced", 6);
	fs_release(fs, f);
	ck_assert_int_eq(fs_lookup(fs, ROOT, "unsynced", &st), -ENOENT);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(inos[1]));
	fsck_clean();
}
END_TEST

START_TEST(test_crash_recovery)
{
	char sql[128], buf[64];
	struct fs_file *f;
	struct stat st;
	uint64_t victim = 0, keep;

	run_crash_child(crash_child, &victim, sizeof(victim));
	/* the crash left what it should: an orphan row, its data, a stray file */
	snprintf(sql, sizeof(sql), "SELECT nlink FROM inode WHERE ino = %" PRIu64, victim);
	ck_assert_int_eq(tsql_int(data_dir, sql), 0);
	ck_assert_int_eq(tsql_int(data_dir, "SELECT value = '0' FROM fs WHERE key = 'clean'"), 1);
	ck_assert(data_exists(victim));
	ck_assert(data_exists(STRAY_INO));
	/* mount: recovery removes the orphan and both data files */
	fs_reopen(NULL);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert_int_eq(fs_getattr(fs, victim, &st), -ENOENT);
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(victim));
	fs_purge_wait(fs);      /* the purger removes it off the request path */
	ck_assert(!data_exists(STRAY_INO));
	keep = lookup(ROOT, "keep", &st);
	ck_assert_uint_gt(keep, 0);
	ck_assert_int_eq(st.st_size, 8);
	ck_assert_int_eq(fs_open_file(fs, keep, O_RDONLY, &f), 0);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, "keepdata", 8);
	fs_release(fs, f);
	ck_assert(data_exists(keep));
	/* and the inode number is not handed out again */
	ck_assert_uint_gt(create_closed(ROOT, "after"), victim);
	fsck_clean();
	ck_assert_int_eq(tsql_int(data_dir, "SELECT value = '1' FROM fs WHERE key = 'clean'"), 1);
}
END_TEST

/* Unlinks purged off the request path, then a crash: the child unlinks
 * files that nobody holds (their purge is queued) and ends at once, with
 * the unlinks committed and the purger anywhere in its work.  The next
 * mount removes every row and data file of them; fsck is clean. */
#define PURGE_CRASH_FILES 40
static void purge_crash_child(int wfd)
{
	uint64_t inos[PURGE_CRASH_FILES];
	char err[1024], name[32];
	struct fs_file *f;
	struct stat st;
	off_t at;

	if (fs_open(conf, "/mnt/crash", &fs, err, sizeof(err)) < 0)
		_exit(10);
	for (int i = 0; i < PURGE_CRASH_FILES; i++) {
		snprintf(name, sizeof(name), "gone%d", i);
		if (fs_create(fs, &ctx, ROOT, name, 0644, O_RDWR, &f, &st) < 0)
			_exit(11);
		inos[i] = st.st_ino;
		if (fs_write_begin(fs, f, 0, 4, &at) < 0 ||
		    fs_write(fs, f, at, &(struct fs_wsrc){ "data", -1 }, 4) != 4 ||
		    fs_write_end(fs, f, at, 4, 4) < 0)
			_exit(12);
		fs_release(fs, f);
		fs_forget(fs, inos[i], 1);
	}
	if (fs_fsyncdir(fs, ROOT) < 0)
		_exit(13);
	for (int i = 0; i < PURGE_CRASH_FILES; i++) {
		snprintf(name, sizeof(name), "gone%d", i);
		if (fs_unlink(fs, ROOT, name) < 0)
			_exit(14);
	}
	if (fs_fsyncdir(fs, ROOT) < 0)      /* the unlinks are durable */
		_exit(15);
	if (write(wfd, inos, sizeof(inos)) != (ssize_t)sizeof(inos))
		_exit(16);
	_exit(0);                /* no fs_close: a crash, the purger anywhere */
}

START_TEST(test_purge_crash)
{
	uint64_t inos[PURGE_CRASH_FILES];
	struct stat st;

	fs_close(fs);
	fs = NULL;
	run_crash_child(purge_crash_child, inos, sizeof(inos));
	fs_reopen(NULL);
	for (int i = 0; i < PURGE_CRASH_FILES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "gone%d", i);
		ck_assert_uint_eq(lookup(ROOT, name, NULL), 0);
		ck_assert_int_eq(fs_getattr(fs, inos[i], &st), -ENOENT);
		ck_assert(!data_exists(inos[i]));
	}
	fsck_clean();
	fs_close(fs);
	fs = NULL;
	ck_assert_int_eq(tsql_int(data_dir, "SELECT count(*) FROM inode WHERE nlink = 0"), 0);
	fs_reopen(NULL);
}
END_TEST

/* A file system opened without a tier layer (the core alone, as here) has
 * no way to reach a cold chunk: a file with one fails to open with EIO
 * instead of reading the hole its local range is as zeros.  A file without
 * cold chunks still opens. */
START_TEST(test_cold_without_layer_is_eio)
{
	char sql[256];
	struct fs_file *f;
	uint64_t cold, warm;

	cold = create_file(ROOT, "cold", 0644, &f);
	write_at(f, 0, "abcdefgh", 8);
	fs_release(fs, f);
	fs_forget(fs, cold, 1);
	warm = create_closed(ROOT, "warm");
	fs_close(fs);
	fs = NULL;
	/* chunk 0 of "cold" as the lifecycle leaves it: in IA, punched locally */
	snprintf(sql, sizeof(sql), "INSERT INTO chunk(ino, idx, class, atime, stored_len, plain_len)"
		 " VALUES (%" PRIu64 ", 0, 1, 0, 8, 8)", cold);
	tsql_exec(data_dir, sql);
	fs = tfs_open(conf, NULL);
	ck_assert_int_eq(fs_open_file(fs, cold, O_RDONLY, &f), -EIO);
	ck_assert_int_eq(fs_open_file(fs, warm, O_RDONLY, &f), 0);
	fs_release(fs, f);
}
END_TEST

START_TEST(test_fsck_detects)
{
	char sql[256], want[64];
	uint64_t f, d;
	struct msgs m;
	int r;

	f = create_closed(ROOT, "f");
	d = make_dir(ROOT, "d", 0755);
	fsck_clean();
	/* a wrong nlink on a file */
	snprintf(sql, sizeof(sql), "UPDATE inode SET nlink = 5 WHERE ino = %" PRIu64, f);
	tsql_exec(data_dir, sql);
	r = run_fsck(false, &m);
	ck_assert_msg(r == 1, "fsck = %d:\n%s", r, m.text);
	snprintf(want, sizeof(want), "inode %" PRIu64, f);
	ck_assert_msg(strstr(m.text, want) != NULL, "report '%s' does not name %s", m.text, want);
	ck_assert_msg(strstr(m.text, "nlink 5") != NULL, "report '%s'", m.text);
	/* fsck does not repair that; it is still there */
	ck_assert_int_eq(run_fsck(true, &m), 1);
	/* a wrong directory nlink and an entry to nowhere */
	snprintf(sql, sizeof(sql), "UPDATE inode SET nlink = 1 WHERE ino = %" PRIu64 ";"
		 "UPDATE inode SET nlink = 2 WHERE ino = %" PRIu64 ";"
		 "INSERT INTO dentry(parent, name, ino, type) VALUES (%" PRIu64 ", 'ghost', 99999, %d)",
		 f, d, d, S_IFREG);
	tsql_exec(data_dir, sql);
	r = run_fsck(false, &m);
	ck_assert_msg(r == 1, "fsck = %d:\n%s", r, m.text);
	ck_assert_msg(strstr(m.text, "99999") != NULL, "report '%s'", m.text);
	ck_assert_msg(strstr(m.text, "ghost") != NULL, "report '%s'", m.text);
	tsql_exec(data_dir, "DELETE FROM dentry WHERE name = CAST('ghost' AS BLOB) OR name = 'ghost'");
	snprintf(sql, sizeof(sql), "UPDATE inode SET nlink = 3 WHERE ino = %" PRIu64, d);
	tsql_exec(data_dir, sql);
	r = run_fsck(false, &m);
	ck_assert_msg(r == 1, "fsck = %d:\n%s", r, m.text);
	snprintf(want, sizeof(want), "directory %" PRIu64, d);
	ck_assert_msg(strstr(m.text, want) != NULL, "report '%s' does not name %s", m.text, want);
	snprintf(sql, sizeof(sql), "UPDATE inode SET nlink = 2 WHERE ino = %" PRIu64, d);
	tsql_exec(data_dir, sql);
	fsck_clean();
}
END_TEST

START_TEST(test_fsck_repair_cuts_data_file)
{
	char path[4400];
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "f", 0644, &f);
	struct msgs m;
	struct stat st;

	write_at(f, 0, "0123456789", 10);
	fs_release(fs, f);
	fs_close(fs);
	fs = NULL;
	/* a crash between the data write and the size commit */
	data_path(ino, path, sizeof(path));
	ck_assert_int_eq(truncate(path, 5000), 0);
	ck_assert_int_eq(run_fsck(false, &m), 0);
	ck_assert_msg(strstr(m.text, "data file holds 4990 bytes past the file's size 10"),
		      "fsck does not report the unused tail: '%s'", m.text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 5000);
	ck_assert_int_eq(run_fsck(true, &m), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 10);
}
END_TEST

/* After an unclean stop, recovery cuts a data file longer than its
 * inode's size back to that size, never below, and fsck says so. */
START_TEST(test_recovery_cuts_past_size)
{
	char path[4400], big[4400], buf[16];
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "f", 0644, &f);
	uint64_t ino2 = create_closed(ROOT, "g");
	struct msgs m;
	struct stat st;

	write_at(f, 0, "0123456789", 10);
	fs_release(fs, f);
	fs_close(fs);
	fs = NULL;
	/* writes whose size never committed: 9 MiB past each file's size */
	data_path(ino, path, sizeof(path));
	data_path(ino2, big, sizeof(big));
	ck_assert_int_eq(truncate(path, 9 << 20), 0);
	ck_assert_int_eq(truncate(big, 9 << 20), 0);
	tsql_exec(data_dir, "UPDATE fs SET value = '0' WHERE key = 'clean'");
	ck_assert_int_eq(run_fsck(false, &m), 0);
	ck_assert_msg(strstr(m.text, "note: recovery: cut 2 data files back to the size"),
		      "fsck does not report the cut: '%s'", m.text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 10);
	ck_assert_int_eq(stat(big, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	fs_reopen(NULL);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 10);
	ck_assert_mem_eq(buf, "0123456789", 10);
	fs_release(fs, f);
}
END_TEST

START_TEST(test_open_cuts_stale_tail)
{
	char path[4400], buf[64];
	struct fs_file *f;
	uint64_t ino = create_file(ROOT, "f", 0644, &f);
	int fd;

	write_at(f, 0, "abc", 3);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	fs_close(fs);
	fs = NULL;
	/* stale bytes past the committed size */
	data_path(ino, path, sizeof(path));
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "STALE", 5, 3), 5);
	close(fd);
	fs_reopen(NULL);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &f), 0);
	write_at(f, 10, "z", 1);
	ck_assert_uint_eq(read_at(f, 0, buf, sizeof(buf)), 11);
	ck_assert_mem_eq(buf, "abc", 3);
	ck_assert(all_bytes(buf + 3, 7, 0));
	fs_release(fs, f);
}
END_TEST

/* ---- passthrough: the "kernel" writes the registered backing fd ---- */

static struct {
	int attached, detached, next_id, last_id, fail;
	int fd;                       /* dup of the last attached fd */
} kpt;

static int kpt_attach(int fd, void *arg)
{
	(void)arg;
	if (kpt.fail)
		return -EPERM;
	kpt.attached++;
	if (kpt.fd >= 0)
		close(kpt.fd);
	kpt.fd = dup(fd);
	kpt.last_id = ++kpt.next_id;
	return kpt.last_id;
}

static void kpt_detach(int id, void *arg)
{
	(void)arg;
	ck_assert_int_eq(id, kpt.last_id);
	kpt.detached++;
}

static const struct fs_passthrough kpt_ops = { kpt_attach, kpt_detach, NULL };
/* Another FUSE session's: its own kernel connection and backing ids. */
static struct {
	int attached, detached, id;
} kpt2;

static int kpt2_attach(int fd, void *arg)
{
	(void)arg;
	(void)fd;
	kpt2.attached++;
	kpt2.id = 100 + kpt2.attached;
	return kpt2.id;
}

static void kpt2_detach(int id, void *arg)
{
	(void)arg;
	ck_assert_int_eq(id, kpt2.id);
	kpt2.detached++;
}

static const struct fs_passthrough kpt_other = { kpt2_attach, kpt2_detach, NULL };

static void kpt_on(void)
{
	memset(&kpt, 0, sizeof(kpt));
	kpt.fd = -1;
}

static void kpt_off(void)
{
	if (kpt.fd >= 0)
		close(kpt.fd);
	kpt.fd = -1;
}

/* After a remount: ino has `size` bytes, and reads `want` (its last bytes)
 * at `off`; fsck is clean. */
static void check_committed(uint64_t ino, off_t size, off_t off, const char *want)
{
	struct fs_file *f;
	char buf[16];
	size_t n = strlen(want);

	ck_assert_int_eq(getattr(ino).st_size, size);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
	ck_assert_uint_eq(read_at(f, off, buf, sizeof(buf)), n);
	ck_assert_mem_eq(buf, want, n);
	fs_release(fs, f);
	fsck_clean();
}

START_TEST(test_passthrough_size_and_times)
{
	struct fs_file *f, *g, *h;
	struct stat st, to;
	uint64_t ino;
	int id;

	kpt_on();
	ino = create_file(ROOT, "p", 0644, &f);
	id = fs_file_passthrough(fs, f, &kpt_ops);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(kpt.attached, 1);
	ck_assert_uint_eq(fs_passthrough_count(fs), 1);
	/* a second handle shares the registration */
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &g), 0);
	ck_assert_int_eq(fs_file_passthrough(fs, g, &kpt_ops), id);
	ck_assert_int_eq(kpt.attached, 1);
	/* another session's open registers the file on its own connection
	 * (backing ids are per connection); its last release detaches only
	 * its own id */
	memset(&kpt2, 0, sizeof(kpt2));
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &h), 0);
	ck_assert_int_eq(fs_file_passthrough(fs, h, &kpt_other), 101);
	ck_assert_int_eq(kpt.attached, 1);
	ck_assert_int_eq(kpt2.attached, 1);
	ck_assert_uint_eq(fs_passthrough_count(fs), 3);
	fs_release(fs, h);
	ck_assert_int_eq(kpt2.detached, 1);
	ck_assert_int_eq(kpt.detached, 0);
	/* the kernel writes; stat shows it before any commit */
	ck_assert_int_eq(pwrite(kpt.fd, "0123456789", 10, 8190), 10);
	st = getattr(ino);
	ck_assert_int_eq(st.st_size, 8200);
	ck_assert_int_eq(fs_fsync(fs, f, true), 0);
	ck_assert_int_eq(getattr(ino).st_size, 8200);
	/* explicit times win over the kernel's earlier writes */
	ck_assert_int_eq(pwrite(kpt.fd, "x", 1, 9000), 1);
	memset(&to, 0, sizeof(to));
	to.st_mtim.tv_sec = 1000000;
	ck_assert_int_eq(fs_setattr(fs, ino, &to, FS_SET_MTIME, &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1000000);
	ck_assert_int_eq(st.st_size, 9001);
	st = getattr(ino);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1000000);
	/* truncate sees the real size */
	to.st_size = 8195;
	ck_assert_int_eq(fs_setattr(fs, ino, &to, FS_SET_SIZE, &st), 0);
	ck_assert_int_eq(getattr(ino).st_size, 8195);
	ck_assert_int_eq(lseek(kpt.fd, 0, SEEK_END), 8195);
	/* release: the last one detaches and commits */
	ck_assert_int_eq(pwrite(kpt.fd, "end", 3, 8195), 3);
	fs_release(fs, g);
	ck_assert_int_eq(kpt.detached, 0);
	fs_release(fs, f);
	ck_assert_int_eq(kpt.detached, 1);
	fs_forget(fs, ino, 1);
	/* committed: a new mount (without passthrough) has the size and data */
	kpt_off();
	fs_reopen(NULL);
	check_committed(ino, 8198, 8190, "01234end");
}
END_TEST

/* The backing file's allocated blocks, as the test sees them. */
static int64_t data_blocks(uint64_t ino)
{
	char p[4400];
	struct stat st;

	data_path(ino, p, sizeof(p));
	ck_assert_int_eq(stat(p, &st), 0);
	return (int64_t)st.st_blocks;
}

/* A closed file's st_blocks is `want`, from the metadata alone: with the
 * backing file moved away, getattr, lookup and readdirplus still show it. */
static void blocks_from_meta(uint64_t ino, const char *name, int64_t want)
{
	char p[4400], q[4500];
	static struct listing l;
	uint64_t snap = 0;
	struct stat st;
	int i;

	data_path(ino, p, sizeof(p));
	snprintf(q, sizeof(q), "%s.away", p);
	ck_assert_int_eq(rename(p, q), 0);
	ck_assert_int_eq(getattr(ino).st_blocks, want);
	ck_assert_uint_eq(lookup(ROOT, name, &st), ino);
	ck_assert_int_eq(st.st_blocks, want);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(fs_opendir(fs, ROOT, &snap), 0);
	list_more(ROOT, 0, &snap, true, 200, &l);
	i = find_ent(&l, name);
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(l.e[i].blocks, want);
	for (int j = 0; j < l.n; j++)
		if (strcmp(l.e[j].name, ".") && strcmp(l.e[j].name, ".."))
			fs_forget(fs, l.e[j].ino, 1);      /* readdirplus took a reference */
	ck_assert_int_eq(rename(q, p), 0);
}

/* Through a passthrough handle on ino, the kernel's way: writes 64 KiB
 * blocks first..last-1 of 'b's, with an fsync after block sync_after
 * (-1: none), and closes; returns the backing file's allocated blocks. */
static int64_t pt_write_64k(uint64_t ino, int first, int last, int sync_after)
{
	static char buf[65536];
	struct fs_file *f;

	memset(buf, 'b', sizeof(buf));
	kpt_on();
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &f), 0);
	ck_assert_int_gt(fs_file_passthrough(fs, f, &kpt_ops), 0);
	for (int i = first; i < last; i++) {
		ck_assert_int_eq(pwrite(kpt.fd, buf, sizeof(buf), (off_t)i * 65536), 65536);
		if (i == sync_after)
			ck_assert_int_eq(fs_fsync(fs, f, false), 0);
	}
	fs_release(fs, f);
	kpt_off();
	return data_blocks(ino);
}

/* st_blocks without a stat of the backing file: the last close records
 * the allocated size in the metadata (schema 4), after a write, a truncate,
 * a punched hole and passthrough writes; while open it is the backing
 * file's.  fsck agrees. */
START_TEST(test_blocks_recorded)
{
	static char buf[65536];
	struct fs_file *f;
	struct stat to;
	uint64_t ino;
	int64_t b;

	memset(buf, 'b', sizeof(buf));
	ino = create_file(ROOT, "b", 0644, &f);
	ck_assert_int_eq(getattr(ino).st_blocks, 0);
	write_at(f, 0, buf, sizeof(buf));
	ck_assert_int_eq(getattr(ino).st_blocks, data_blocks(ino));   /* open: the file's */
	fs_release(fs, f);
	b = data_blocks(ino);
	ck_assert_int_ge(b, 128);
	blocks_from_meta(ino, "b", b);

	memset(&to, 0, sizeof(to));
	to.st_size = 4096;
	ck_assert_int_eq(fs_setattr(fs, ino, &to, FS_SET_SIZE, &(struct stat){ 0 }), 0);
	b = data_blocks(ino);
	ck_assert_int_lt(b, 128);
	blocks_from_meta(ino, "b", b);

	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &f), 0);
	write_at(f, 0, buf, sizeof(buf));
	ck_assert_int_eq(fs_fallocate(fs, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 32768),
			 0);
	fs_release(fs, f);
	b = data_blocks(ino);
	ck_assert_int_lt(b, 128);
	ck_assert_int_ge(b, 64);
	blocks_from_meta(ino, "b", b);

	b = pt_write_64k(ino, 0, 4, -1);
	ck_assert_int_ge(b, 512);
	ck_assert_int_eq(getattr(ino).st_size, 4 * 65536);
	blocks_from_meta(ino, "b", b);
	fs_reopen(NULL);
	blocks_from_meta(ino, "b", b);

	/* an fsync records the size with the blocks of that moment; writes
	 * after it allocate more, and the last close records those */
	b = pt_write_64k(ino, 4, 8, 4);
	ck_assert_int_ge(b, 1024);
	ck_assert_int_eq(getattr(ino).st_size, 8 * 65536);
	blocks_from_meta(ino, "b", b);
	fsck_clean();
}
END_TEST

/* The daemon stops (SIGTERM) while the kernel still has a passthrough file
 * open, or before its RELEASE arrived: fs_close commits what the kernel
 * wrote, as the last release would have. */
START_TEST(test_passthrough_stop_while_open)
{
	struct fs_file *f;
	uint64_t ino;

	kpt_on();
	ino = create_file(ROOT, "open-at-stop", 0644, &f);
	ck_assert_int_gt(fs_file_passthrough(fs, f, &kpt_ops), 0);
	ck_assert_int_eq(pwrite(kpt.fd, "written", 7, 0), 7);
	kpt_off();
	fs_reopen(NULL);
	free(f);        /* the handle the kernel never released */
	check_committed(ino, 7, 0, "written");
}
END_TEST

START_TEST(test_passthrough_refused)
{
	struct fs_file *f, *g;
	uint64_t ino;

	kpt_on();
	/* a handle on the daemon path keeps others there (the kernel would
	 * refuse to mix), and the other way round */
	ino = create_file(ROOT, "a", 0644, &f);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &g), 0);
	ck_assert_int_eq(fs_file_passthrough(fs, g, &kpt_ops), 0);
	fs_release(fs, g);
	ck_assert_int_gt(fs_file_passthrough(fs, f, &kpt_ops), 0);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &g), 0);
	ck_assert_int_gt(fs_file_passthrough(fs, g, &kpt_ops), 0);
	fs_release(fs, g);
	fs_release(fs, f);
	ck_assert_int_eq(kpt.detached, 1);
	fs_forget(fs, ino, 1);
	/* set-user-ID and set-group-ID executables: the kernel must clear
	 * those bits on write, which it only does on the daemon path */
	ino = create_file(ROOT, "suid", 04755, &f);
	ck_assert_int_eq(fs_file_passthrough(fs, f, &kpt_ops), 0);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	ino = create_file(ROOT, "sgid", 02750, &f);
	ck_assert_int_eq(fs_file_passthrough(fs, f, &kpt_ops), 0);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	ino = create_file(ROOT, "sgid-noexec", 02640, &f);   /* mandatory locking mark */
	ck_assert_int_gt(fs_file_passthrough(fs, f, &kpt_ops), 0);
	fs_release(fs, f);
	fs_forget(fs, ino, 1);
	/* O_DIRECT: the daemon path (the kernel would keep O_DIRECT on the
	 * backing file when fcntl drops it from the open file) */
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR | O_DIRECT, &f), 0);
	ck_assert_int_eq(fs_file_passthrough(fs, f, &kpt_ops), 0);
	fs_release(fs, f);
	/* the kernel refusing the backing file: daemon path, no detach */
	kpt.fail = 1;
	ino = create_file(ROOT, "b", 0644, &f);
	ck_assert_int_eq(fs_file_passthrough(fs, f, &kpt_ops), 0);
	write_at(f, 0, "abc", 3);
	fs_release(fs, f);
	ck_assert_int_eq(kpt.detached, 2);
	ck_assert_int_eq(getattr(ino).st_size, 3);
	fs_forget(fs, ino, 1);
	kpt_off();
	fsck_clean();
}
END_TEST

/* ---- access points (fs_ap.c) ---- */

static void ap_init(struct fs_access_point *ap, const char *path)
{
	memset(ap, 0, sizeof(*ap));
	ap->user.uid = 1000;
	ap->user.gid = 1000;
	snprintf(ap->path, sizeof(ap->path), "%.100s", path);
}

static bool ap_id_ok(const char *id)
{
	if (strlen(id) != FS_AP_ID_LEN || strncmp(id, "fsap-", 5) != 0)
		return false;
	for (const char *p = id + 5; *p; p++)
		if (!strchr("0123456789abcdef", *p))
			return false;
	return true;
}

struct ap_seen {
	unsigned n;
	char first[FS_AP_ID_LEN + 1], last[FS_AP_ID_LEN + 1];
	unsigned stop_at;
};

static int ap_seen_cb(const struct fs_access_point *ap, void *arg)
{
	struct ap_seen *s = arg;

	if (s->n++ == 0)
		memcpy(s->first, ap->id, sizeof(s->first));
	memcpy(s->last, ap->id, sizeof(s->last));
	return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

/* Create, get, list, delete; ids of the right form and distinct; every
 * field and tag kept, and all of it there after a remount. */
START_TEST(test_ap_create_get_list_delete)
{
	static struct fs_access_point a, b, got;
	struct ap_seen seen = { 0 };
	char err[512] = "";

	ap_init(&a, "/apps/web");
	a.user.ngroups = 2;
	a.user.groups[0] = 4294967295u;
	a.user.groups[1] = 10;
	a.has_creation = true;
	a.owner_uid = 1000;
	a.owner_gid = 1001;
	a.permissions = 0750;
	a.ntags = 2;
	snprintf(a.tags[0].key, sizeof(a.tags[0].key), "Name");
	snprintf(a.tags[0].value, sizeof(a.tags[0].value), "web");
	snprintf(a.tags[1].key, sizeof(a.tags[1].key), "env");
	snprintf(a.tags[1].value, sizeof(a.tags[1].value), "dev");
	ck_assert_msg(fs_ap_create(fs, &a, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(ap_id_ok(a.id), "id '%s'", a.id);
	ck_assert_int_gt(a.created, 0);
	ap_init(&b, "/");
	ck_assert_msg(fs_ap_create(fs, &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert(ap_id_ok(b.id));
	ck_assert_str_ne(a.id, b.id);

	fs_reopen(NULL);
	ck_assert_int_eq(fs_ap_get(fs, a.id, &got), 0);
	ck_assert_str_eq(got.id, a.id);
	ck_assert_str_eq(got.path, "/apps/web");
	ck_assert_uint_eq(got.user.uid, 1000);
	ck_assert_uint_eq(got.user.ngroups, 2);
	ck_assert_uint_eq(got.user.groups[0], 4294967295u);
	ck_assert_uint_eq(got.user.groups[1], 10);
	ck_assert(got.has_creation);
	ck_assert_uint_eq(got.owner_gid, 1001);
	ck_assert_uint_eq(got.permissions, 0750);
	ck_assert_uint_eq(got.ntags, 2);
	ck_assert_str_eq(got.tags[1].key, "env");
	ck_assert_str_eq(got.tags[1].value, "dev");
	ck_assert_int_eq(got.created, a.created);
	ck_assert_int_eq(fs_ap_list(fs, ap_seen_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, 2);
	ck_assert_str_eq(seen.first, a.id);
	ck_assert_str_eq(seen.last, b.id);
	seen = (struct ap_seen){ .stop_at = 1 };
	ck_assert_int_eq(fs_ap_list(fs, ap_seen_cb, &seen), 7);
	ck_assert_uint_eq(seen.n, 1);

	ck_assert_int_eq(fs_ap_delete(fs, a.id), 0);
	ck_assert_int_eq(fs_ap_delete(fs, a.id), -ENOENT);
	ck_assert_int_eq(fs_ap_get(fs, a.id, &got), -ENOENT);
	ck_assert_int_eq(fs_ap_get(fs, "fsap-00000000000000000", &got), -ENOENT);
	fs_reopen(NULL);
	seen = (struct ap_seen){ 0 };
	ck_assert_int_eq(fs_ap_list(fs, ap_seen_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_str_eq(seen.first, b.id);
	/* nothing can be made on a read-only open */
	fs_close(fs);
	ck_assert_int_eq(fs_open_flags(conf, NULL, FS_OPEN_RDONLY, &fs, err, sizeof(err)), 0);
	ck_assert_int_eq(fs_ap_get(fs, b.id, &got), 0);
	ap_init(&a, "/x");
	ck_assert_int_eq(fs_ap_create(fs, &a, err, sizeof(err)), -EROFS);
	ck_assert_int_eq(fs_ap_delete(fs, b.id), -EROFS);
}
END_TEST

/* What CreateAccessPoint refuses, each error naming the field. */
START_TEST(test_ap_validation)
{
	static const struct {
		const char *path;
		const char *want;
	} paths[] = {
		{ "apps", "must be an absolute path" },
		{ "", "must be an absolute path" },
		{ "/a/../b", "'..' is not allowed" },
		{ "/a/./b", "'.' is not allowed" },
		{ "/a//b", "empty component" },
		{ "/a/", "empty component" },
		{ "/a/b/c/d/e", "more than 4 components" },
		{ "/.hidden", "starts with '.'" },
		{ "/a;b", "character ';' is not allowed" },
	};
	static struct fs_access_point ap;
	char err[512], longp[128];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		ap_init(&ap, paths[i].path);
		err[0] = '\0';
		ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, "RootDirectory Path") && strstr(err, paths[i].want),
			      "%s: '%s'", paths[i].path, err);
		ck_assert_str_eq(ap.id, "");
	}
	/* (a longer one does not fit the struct: the CLI refuses it, test_control) */
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[100] = '\0';
	ap_init(&ap, longp);
	ck_assert_msg(fs_ap_create(fs, &ap, err, sizeof(err)) == 0, "100 characters: %s", err);
	ap_init(&ap, "/a/b/c/d");
	ck_assert_msg(fs_ap_create(fs, &ap, err, sizeof(err)) == 0, "4 components: %s", err);

	ap_init(&ap, "/");
	ap.user.ngroups = FS_GROUPS_MAX + 1;
	ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "SecondaryGids: 17 given, at most 16"), "%s", err);
	ap.user.ngroups = FS_GROUPS_MAX;
	ck_assert_msg(fs_ap_create(fs, &ap, err, sizeof(err)) == 0, "%s", err);

	ap_init(&ap, "/p");
	ap.has_creation = true;
	ap.permissions = 010000;
	ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "CreationInfo Permissions"), "%s", err);

	ap_init(&ap, "/t");
	ap.ntags = 2;
	snprintf(ap.tags[0].key, sizeof(ap.tags[0].key), "k");
	snprintf(ap.tags[1].key, sizeof(ap.tags[1].key), "k");
	ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "Tags: Key 'k' given twice"), "%s", err);
	snprintf(ap.tags[1].key, sizeof(ap.tags[1].key), "aws:x");
	ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "reserved"), "%s", err);
	ap.tags[1].key[0] = '\0';
	ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "tag 2: Key must have 1 to 128"), "%s", err);
	snprintf(ap.tags[1].key, sizeof(ap.tags[1].key), "ok");
	snprintf(ap.tags[1].value, sizeof(ap.tags[1].value), "a\tb");
	ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "tag 2 (Key 'ok'): a control character in the Value"), "%s", err);
}
END_TEST

/* A client token makes a create idempotent: the same request gives the
 * same access point, another request with that token is refused. */
START_TEST(test_ap_client_token)
{
	static struct fs_access_point a, b;
	struct ap_seen seen = { 0 };
	char err[512];

	ap_init(&a, "/x");
	snprintf(a.client_token, sizeof(a.client_token), "my-token");
	ck_assert_msg(fs_ap_create(fs, &a, err, sizeof(err)) == 0, "%s", err);
	ap_init(&b, "/x");
	snprintf(b.client_token, sizeof(b.client_token), "my-token");
	ck_assert_msg(fs_ap_create(fs, &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(b.id, a.id);
	ck_assert_int_eq(b.created, a.created);
	b.user.uid = 1001;
	ck_assert_int_eq(fs_ap_create(fs, &b, err, sizeof(err)), -EEXIST);
	ck_assert_msg(strstr(err, "IdempotentParameterMismatch") && strstr(err, a.id), "%s", err);
	ck_assert_int_eq(fs_ap_list(fs, ap_seen_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
}
END_TEST

/* 10,000 access points per file system; the 10,001st is refused with the
 * limit named, and one more fits once one is deleted. */
START_TEST(test_ap_limit)
{
	static struct fs_access_point ap;
	struct ap_seen seen = { 0 };
	char err[512], first[FS_AP_ID_LEN + 1] = "";

	/* 10,000 transactions: committed in groups, as a mounted daemon does */
	ck_assert_int_eq(fs_set_group_commit(fs, 1000), 0);
	for (int i = 0; i < FS_AP_MAX; i++) {
		ap_init(&ap, "/");
		ck_assert_msg(fs_ap_create(fs, &ap, err, sizeof(err)) == 0, "#%d: %s", i + 1, err);
		if (i == 0)
			memcpy(first, ap.id, sizeof(first));
	}
	ap_init(&ap, "/");
	ck_assert_int_eq(fs_ap_create(fs, &ap, err, sizeof(err)), -EDQUOT);
	ck_assert_msg(strstr(err, "10000 access points") && strstr(err, "AccessPointLimitExceeded"),
		      "%s", err);
	ck_assert_int_eq(fs_ap_list(fs, ap_seen_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, FS_AP_MAX);
	ck_assert_int_eq(fs_ap_delete(fs, first), 0);
	ck_assert_msg(fs_ap_create(fs, &ap, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

/* In the child: with a commit window of a minute, creates an access point
 * (or deletes the one named in *id) and crashes right after. */
static char durable_id[FS_AP_ID_LEN + 1];

static void ap_crash_child(int wfd)
{
	static struct fs_access_point ap;
	char err[1024];

	if (fs_open(conf, "/mnt/ap", &fs, err, sizeof(err)) < 0)
		_exit(10);
	if (fs_set_group_commit(fs, 60000) < 0)
		_exit(11);
	if (durable_id[0]) {
		if (fs_ap_delete(fs, durable_id) < 0)
			_exit(12);
	} else {
		ap_init(&ap, "/d");
		if (fs_ap_create(fs, &ap, err, sizeof(err)) < 0)
			_exit(13);
		memcpy(durable_id, ap.id, sizeof(durable_id));
	}
	if (write(wfd, durable_id, sizeof(durable_id)) != (ssize_t)sizeof(durable_id))
		_exit(14);
	_exit(0);                /* a crash, the group still open */
}

/* An access point's create and delete are durable when they return, also
 * with group commit (a mounted daemon's): the CLI has printed the id. */
START_TEST(test_ap_durable)
{
	static struct fs_access_point got;

	fs_close(fs);
	fs = NULL;
	durable_id[0] = '\0';
	run_crash_child(ap_crash_child, durable_id, sizeof(durable_id));
	ck_assert(ap_id_ok(durable_id));
	fs_reopen(NULL);
	ck_assert_int_eq(fs_ap_get(fs, durable_id, &got), 0);
	ck_assert_str_eq(got.path, "/d");
	fs_close(fs);
	fs = NULL;
	run_crash_child(ap_crash_child, durable_id, sizeof(durable_id));
	fs_reopen(NULL);
	ck_assert_int_eq(fs_ap_get(fs, durable_id, &got), -ENOENT);
}
END_TEST

/* fs_resolve_root: "/" is the root; an existing path is found and left
 * as it is; with CreationInfo the missing components are made with its
 * owner and mode (also under a set-group-ID directory); without, -ENOENT
 * naming the missing component; a file or symlink on the way is ENOTDIR. */
START_TEST(test_resolve_root)
{
	static struct fs_access_point ap;
	struct stat st;
	uint64_t ino, d, e;
	char err[512];

	ck_assert_int_eq(fs_resolve_root(fs, "/", NULL, &ino, err, sizeof(err)), 0);
	ck_assert_uint_eq(ino, ROOT);
	fs_forget(fs, ino, 1);
	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, "srv", 0700, &st), 0);
	d = st.st_ino;
	ck_assert_int_eq(fs_resolve_root(fs, "/srv", NULL, &ino, err, sizeof(err)), 0);
	ck_assert_uint_eq(ino, d);
	fs_forget(fs, ino, 1);

	/* missing, no CreationInfo: as a NAME:/path mount, and as an access point */
	ck_assert_int_eq(fs_resolve_root(fs, "/srv/app/data", NULL, &ino, err, sizeof(err)),
			 -ENOENT);
	ck_assert_msg(strstr(err, "/srv/app does not exist"), "%s", err);
	ap_init(&ap, "/srv/app/data");
	snprintf(ap.id, sizeof(ap.id), "fsap-0123456789abcdef0");
	ck_assert_int_eq(fs_resolve_root(fs, ap.path, &ap, &ino, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "/srv/app does not exist") && strstr(err, "no CreationInfo") &&
		      strstr(err, ap.id), "%s", err);
	ck_assert_int_eq(fs_lookup(fs, d, "app", &st), -ENOENT);

	/* with CreationInfo: each missing component made, the existing one untouched */
	ap.has_creation = true;
	ap.owner_uid = 2000;
	ap.owner_gid = 3000;
	ap.permissions = 0750;
	ck_assert_msg(fs_resolve_root(fs, ap.path, &ap, &ino, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(fs_getattr(fs, d, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0700);
	ck_assert_uint_eq(st.st_uid, ctx.uid);
	ck_assert_int_eq(fs_lookup(fs, d, "app", &st), 0);
	e = st.st_ino;
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0750);
	ck_assert_uint_eq(st.st_uid, 2000);
	ck_assert_uint_eq(st.st_gid, 3000);
	ck_assert_int_eq(fs_lookup(fs, e, "data", &st), 0);
	ck_assert_uint_eq(st.st_ino, ino);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0750);
	ck_assert_uint_eq(st.st_uid, 2000);
	ck_assert_uint_eq(st.st_gid, 3000);
	fs_forget(fs, st.st_ino, 1);
	fs_forget(fs, e, 1);
	fs_forget(fs, ino, 1);
	/* again: the same directory, nothing changed */
	ap.permissions = 0777;
	ck_assert_int_eq(fs_resolve_root(fs, ap.path, &ap, &ino, err, sizeof(err)), 0);
	ck_assert_int_eq(fs_getattr(fs, ino, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0750);
	fs_forget(fs, ino, 1);

	/* under a set-group-ID directory: still CreationInfo's group and mode */
	ck_assert_int_eq(fs_mkdir(fs, &ctx, ROOT, "sg", 02775, &st), 0);
	ck_assert_uint_eq(st.st_mode & 02000, 02000);
	ap_init(&ap, "/sg/new");
	ap.has_creation = true;
	ap.owner_uid = 7;
	ap.owner_gid = 8;
	ap.permissions = 0700;
	ck_assert_msg(fs_resolve_root(fs, ap.path, &ap, &ino, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(fs_getattr(fs, ino, &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0700);
	ck_assert_uint_eq(st.st_gid, 8);
	fs_forget(fs, ino, 1);

	/* a file or a symlink on the way */
	{
		struct fs_file *f;

		ck_assert_int_eq(fs_create(fs, &ctx, ROOT, "file", 0644, O_RDWR, &f, &st), 0);
		fs_release(fs, f);
		fs_forget(fs, st.st_ino, 1);
	}
	ck_assert_int_eq(fs_symlink(fs, &ctx, ROOT, "link", "srv", &st), 0);
	fs_forget(fs, st.st_ino, 1);
	ck_assert_int_eq(fs_resolve_root(fs, "/file/x", &ap, &ino, err, sizeof(err)), -ENOTDIR);
	ck_assert_msg(strstr(err, "/file is not a directory"), "%s", err);
	ck_assert_int_eq(fs_resolve_root(fs, "/link", NULL, &ino, err, sizeof(err)), -ENOTDIR);
	ck_assert_msg(strstr(err, "symbolic link"), "%s", err);
	ck_assert_int_eq(fs_resolve_root(fs, "/srv/../etc", NULL, &ino, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(fs_resolve_root(fs, "srv", NULL, &ino, err, sizeof(err)), -EINVAL);
	fs_forget(fs, d, 1);
	fsck_clean();
}
END_TEST

static Suite *fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *tc = tcase_create("fs");
	TCase *tm = tcase_create("mkfs-only");

	tcase_add_checked_fixture(tc, setup_open, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mkfs_open);
	tcase_add_test(tc, test_passthrough_size_and_times);
	tcase_add_test(tc, test_blocks_recorded);
	tcase_add_test(tc, test_passthrough_refused);
	tcase_add_test(tc, test_passthrough_stop_while_open);
	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_open_busy);
	tcase_add_test(tc, test_open_waits_for_closing_holder);
	tcase_add_test(tc, test_open_read_only);
	tcase_add_test(tc, test_create_lookup_getattr);
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_write_from_pipe);
	tcase_add_test(tc, test_large_write_spans_chunks);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_unlink_open_file);
	tcase_add_test(tc, test_purge_gathers);
	tcase_add_test(tc, test_unlink_forget_then_release);
	tcase_add_test(tc, test_purge_on_forget);
	tcase_add_test(tc, test_mkdir_rmdir);
	tcase_add_test(tc, test_rename_files);
	tcase_add_test(tc, test_rename_dirs);
	tcase_add_test(tc, test_link_limit);
	tcase_add_test(tc, test_change_cb_and_names);
	tcase_add_test(tc, test_name_limits);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_mknod);
	tcase_add_test(tc, test_setgid_inheritance);
	tcase_add_test(tc, test_permission_classes);
	tcase_add_test(tc, test_may_delete_and_rename);
	tcase_add_test(tc, test_may_setattr);
	tcase_add_test(tc, test_may_xattr);
	tcase_add_test(tc, test_may_link);
	tcase_add_test(tc, test_ref_holds_removed_dir);
	tcase_add_test(tc, test_setattr);
	tcase_add_test(tc, test_readdir_basic);
	tcase_add_test(tc, test_readdir_snapshot);
	tcase_add_test(tc, test_readdir_snapshot_newest_removed);
	tcase_add_test(tc, test_readdir_resume);
	tcase_add_test(tc, test_readdirplus_refs);
	tcase_add_test(tc, test_xattr);
	tcase_add_test(tc, test_xattr_fresh);
	tcase_add_test(tc, test_xattr_inode_limits);
	tcase_add_test(tc, test_statfs);
	tcase_add_test(tc, test_lseek);
	tcase_add_test(tc, test_fallocate);
	tcase_add_test(tc, test_cold_without_layer_is_eio);
	tcase_add_test(tc, test_fsck_detects);
	tcase_add_test(tc, test_fsck_repair_cuts_data_file);
	tcase_add_test(tc, test_recovery_cuts_past_size);
	tcase_add_test(tc, test_open_cuts_stale_tail);
	tcase_add_test(tc, test_ap_create_get_list_delete);
	tcase_add_test(tc, test_ap_validation);
	tcase_add_test(tc, test_ap_client_token);
	tcase_add_test(tc, test_ap_limit);
	tcase_add_test(tc, test_ap_durable);
	tcase_add_test(tc, test_resolve_root);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tm, setup_mkfs, teardown);
	tcase_set_timeout(tm, 60);
	tcase_add_test(tm, test_crash_recovery);
	tcase_add_test(tm, test_purge_crash);
	tcase_add_test(tc, test_group_commit);
	suite_add_tcase(s, tm);
	return s;
}

TEST_SUITES(fs_suite);
