/* tests/unit/test_meta.c - unit tests of the metadata engine (backend/meta.c,
 * meta_sqlite.c), every operation called through the ops table (m->ops):
 * open by URL (sqlite:///path; other schemes refused), create and the
 * schema version check, the fs key/value table, inodes (AUTOINCREMENT
 * numbers, exact timestamps), directory entries (raw-byte names, cookies
 * kept by moves, readdir bounds), xattrs, the chunk map (and the migration
 * from schema 1, which added its SHA-256), inode paths, orphans,
 * transactions and the integrity check. */
#include "tests/unit/testdir.h"
#include "tests/unit/testfs.h"
#include "backend/meta.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static char tmp_dir[4096];
static char db_path[4200];
static char db_url[4300];         /* sqlite://db_path: every open goes by URL */
static struct meta *m;

static void tmp_make(void)
{
	testdir_sub("t", tmp_dir, sizeof(tmp_dir));
	snprintf(db_path, sizeof(db_path), "%s/meta.db", tmp_dir);
	snprintf(db_url, sizeof(db_url), "sqlite://%s", db_path);
}

static void setup(void)
{
	char err[512] = "";
	int r;

	tmp_make();
	r = meta_open(db_url, META_CREATE, &m, err, sizeof(err));
	ck_assert_msg(r == 0, "meta_open(create) = %d: %s", r, err);
	ck_assert_ptr_nonnull(m);
}

static void teardown(void)
{
	meta_close(m);
	m = NULL;
	testdir_remove(tmp_dir);
}

static void reopen(void)
{
	char err[512] = "";
	int r;

	meta_close(m);
	m = NULL;
	r = meta_open(db_url, 0, &m, err, sizeof(err));
	ck_assert_msg(r == 0, "meta_open(reopen) = %d: %s", r, err);
}

static struct meta_inode inode_make(uint32_t mode, uint32_t nlink)
{
	struct meta_inode in;

	memset(&in, 0, sizeof(in));
	in.mode = mode;
	in.uid = 1000;
	in.gid = 100;
	in.nlink = nlink;
	in.atime = (struct timespec){ 1700000000, 1 };
	in.mtime = (struct timespec){ 1700000001, 2 };
	in.ctime = (struct timespec){ 1700000002, 3 };
	in.btime = (struct timespec){ 1700000003, 4 };
	return in;
}

/* Inserts an inode inside its own transaction; returns its number. */
static uint64_t inode_add(uint32_t mode, uint32_t nlink)
{
	struct meta_inode in = inode_make(mode, nlink);

	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->inode_insert(m, &in, NULL, 0), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	ck_assert_uint_gt(in.ino, 0);
	return in.ino;
}

static void ts_eq(struct timespec a, struct timespec b)
{
	ck_assert_int_eq((long long)a.tv_sec, (long long)b.tv_sec);
	ck_assert_int_eq(a.tv_nsec, b.tv_nsec);
}

/* A linked inode that then loses its link (as an unlink of an open file):
 * the orphan records the session of m. */
static uint64_t orphan_add(struct meta *mm)
{
	struct meta_inode in = inode_make(S_IFREG | 0644, 1);

	ck_assert_int_eq(mm->ops->begin(mm), 0);
	ck_assert_int_eq(mm->ops->inode_insert(mm, &in, NULL, 0), 0);
	in.nlink = 0;
	ck_assert_int_eq(mm->ops->inode_update(mm, &in), 0);
	ck_assert_int_eq(mm->ops->commit(mm), 0);
	return in.ino;
}

/* ---- open / create ---- */

START_TEST(test_open_create_and_reopen)
{
	char buf[64];

	ck_assert_int_eq(m->ops->set_kv(m, "fs_id", "fs-0123456789abcdef0"), 0);
	reopen();
	ck_assert_int_eq(m->ops->get_kv(m, "fs_id", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "fs-0123456789abcdef0");
	ck_assert_int_eq(m->ops->integrity(m, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(test_open_missing)
{
	struct meta *m2 = (struct meta *)&m2;    /* must stay untouched */
	char path[4300], err[512] = "";
	int r;

	snprintf(path, sizeof(path), "%s/nothere.db", tmp_dir);
	r = meta_open(path, 0, &m2, err, sizeof(err));     /* a bare absolute path is sqlite */
	ck_assert_int_eq(r, -ENOENT);
	ck_assert_ptr_eq(m2, (struct meta *)&m2);
	ck_assert_msg(strstr(err, path) != NULL, "error '%s' does not name %s", err, path);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/* meta_open picks the engine by URL: sqlite:/// with an absolute path;
 * postgres:// (not built yet) and unknown schemes are -EPROTONOSUPPORT
 * with a message naming the URL; nothing is created. */
START_TEST(test_open_url)
{
	static const char *const bad[] = { "postgres://db.example/efsfs", "mysql://x/y",
					   "meta.db" };
	struct meta *m2 = (struct meta *)&m2;
	char url[4400], err[512], buf[64];
	int r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		r = meta_open(bad[i], 0, &m2, err, sizeof(err));
		ck_assert_int_eq(r, -EPROTONOSUPPORT);
		ck_assert_ptr_eq(m2, (struct meta *)&m2);
		ck_assert_msg(strstr(err, bad[i]) != NULL, "error '%s' does not name %s", err, bad[i]);
	}
	err[0] = 0;
	r = meta_open("sqlite://relative/meta.db", 0, &m2, err, sizeof(err));
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_eq(m2, (struct meta *)&m2);
	ck_assert_msg(strstr(err, "sqlite://relative/meta.db") != NULL, "error '%s'", err);
	/* the URL names the same database as the path */
	ck_assert_int_eq(m->ops->set_kv(m, "via", "url"), 0);
	meta_close(m);
	m = NULL;
	snprintf(url, sizeof(url), "sqlite://%s", db_path);
	ck_assert_int_eq(meta_open(url, 0, &m, err, sizeof(err)), 0);
	ck_assert_str_eq(m->ops->name, "sqlite");
	ck_assert_int_eq(m->ops->get_kv(m, "via", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "url");
}
END_TEST

/* meta.h promises -EEXIST, but the code opens the file and runs CREATE
 * TABLE on the existing schema, which fails with -EIO ("creating schema:
 * table fs already exists").  The contract both give: an error, a message
 * naming the file, and the existing database left intact. */
START_TEST(test_create_existing)
{
	struct meta *m2 = (struct meta *)&m2;
	char err[512] = "", buf[64];
	int r;

	ck_assert_int_eq(m->ops->set_kv(m, "keep", "me"), 0);
	meta_close(m);
	m = NULL;
	r = meta_open(db_url, META_CREATE, &m2, err, sizeof(err));
	ck_assert_msg(r < 0, "meta_open(create) on an existing database = %d", r);
	ck_assert_ptr_eq(m2, (struct meta *)&m2);
	ck_assert_msg(strstr(err, db_path) != NULL, "error '%s' does not name the file", err);
	reopen();
	ck_assert_int_eq(m->ops->get_kv(m, "keep", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "me");
}
END_TEST

START_TEST(test_schema_mismatch)
{
	struct meta *m2 = (struct meta *)&m2;
	char err[512] = "", want[64];
	int r;

	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "PRAGMA user_version = 7");
	r = meta_open(db_url, 0, &m2, err, sizeof(err));
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_eq(m2, (struct meta *)&m2);
	ck_assert_msg(strstr(err, db_path) != NULL, "error '%s' does not name the file", err);
	ck_assert_msg(strstr(err, "version 7") != NULL, "error '%s' lacks the found version", err);
	snprintf(want, sizeof(want), "reads %d", META_SCHEMA);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
	/* and back to the right version opens again */
	snprintf(want, sizeof(want), "PRAGMA user_version = %d", META_SCHEMA);
	tsql_exec(tmp_dir, want);
	reopen();
}
END_TEST

/* ---- key/value ---- */

START_TEST(test_kv)
{
	char buf[16], small[4];

	ck_assert_int_eq(m->ops->get_kv(m, "nope", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(m->ops->set_kv(m, "k", "v1"), 0);
	ck_assert_int_eq(m->ops->get_kv(m, "k", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "v1");
	ck_assert_int_eq(m->ops->set_kv(m, "k", "value-two"), 0);
	ck_assert_int_eq(m->ops->get_kv(m, "k", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "value-two");
	ck_assert_int_eq(m->ops->set_kv(m, "empty", ""), 0);
	ck_assert_int_eq(m->ops->get_kv(m, "empty", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(m->ops->get_kv(m, "k", small, sizeof(small)), -ENAMETOOLONG);
	/* keys are distinct */
	ck_assert_int_eq(m->ops->get_kv(m, "K", buf, sizeof(buf)), -ENOENT);
}
END_TEST

/* ---- inodes ---- */

START_TEST(test_inode_crud)
{
	struct meta_inode in = inode_make(S_IFREG | 0644, 1), got, upd;
	struct stat st;

	in.size = 12345;
	in.rdev = 77;
	in.ino = 999;   /* ignored: insert assigns */
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->inode_insert(m, &in, NULL, 0), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	ck_assert_uint_eq(in.ino, 1);       /* first inode of a fresh database is the root */
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
	ck_assert_uint_eq(got.ino, in.ino);
	ck_assert_uint_eq(got.mode, S_IFREG | 0644);
	ck_assert_uint_eq(got.uid, 1000);
	ck_assert_uint_eq(got.gid, 100);
	ck_assert_uint_eq(got.nlink, 1);
	ck_assert_uint_eq(got.size, 12345);
	ck_assert_uint_eq(got.rdev, 77);
	ts_eq(got.atime, in.atime);
	ts_eq(got.mtime, in.mtime);
	ts_eq(got.ctime, in.ctime);
	ts_eq(got.btime, in.btime);

	upd = got;
	upd.mode = S_IFREG | 0600;
	upd.uid = 4000000000u;         /* above INT32_MAX */
	upd.gid = 4000000001u;
	upd.nlink = 3;
	upd.size = 1ull << 45;
	upd.atime = (struct timespec){ 5, 6 };
	upd.mtime = (struct timespec){ 7, 8 };
	upd.ctime = (struct timespec){ 9, 10 };
	upd.btime = (struct timespec){ 11, 12 };   /* birth time is not updatable */
	ck_assert_int_eq(m->ops->inode_update(m, &upd), 0);
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
	ck_assert_uint_eq(got.mode, S_IFREG | 0600);
	ck_assert_uint_eq(got.uid, 4000000000u);
	ck_assert_uint_eq(got.gid, 4000000001u);
	ck_assert_uint_eq(got.nlink, 3);
	ck_assert_uint_eq(got.size, 1ull << 45);
	ts_eq(got.atime, upd.atime);
	ts_eq(got.mtime, upd.mtime);
	ts_eq(got.ctime, upd.ctime);
	ts_eq(got.btime, in.btime);

	ck_assert_int_eq(m->ops->inode_set_size(m, in.ino, 42, &(struct timespec){ 100, 200 },
						 META_BLOCKS_KEEP), 0);
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
	ck_assert_uint_eq(got.size, 42);
	ts_eq(got.mtime, (struct timespec){ 100, 200 });
	ts_eq(got.ctime, (struct timespec){ 100, 200 });
	ts_eq(got.atime, upd.atime);
	ck_assert_int_eq(got.blocks, 0);            /* KEEP left the new inode's 0 */

	/* with a figure, the allocated size goes in the same statement */
	ck_assert_int_eq(m->ops->inode_set_size(m, in.ino, 43, &(struct timespec){ 101, 201 }, 16),
			 0);
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
	ck_assert_uint_eq(got.size, 43);
	ts_eq(got.mtime, (struct timespec){ 101, 201 });
	ck_assert_int_eq(got.blocks, 16);
	ck_assert_int_eq(m->ops->inode_set_size(m, in.ino, 42, &(struct timespec){ 100, 200 }, -1),
			 0);
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
	ck_assert_int_eq(got.blocks, -1);           /* -1: unknown, as inode_set_blocks */
	ck_assert_int_eq(m->ops->inode_set_size(m, in.ino, 42, &(struct timespec){ 100, 200 },
						 META_BLOCKS_KEEP), 0);
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
	ck_assert_int_eq(got.blocks, -1);

	meta_inode_to_stat(&got, &st);
	ck_assert_uint_eq(st.st_ino, in.ino);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0600);
	ck_assert_uint_eq(st.st_nlink, 3);
	ck_assert_int_eq(st.st_size, 42);
	ck_assert_int_eq((long long)st.st_mtim.tv_sec, 100);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 200);

	ck_assert_int_eq(m->ops->inode_delete(m, in.ino), 0);
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), -ENOENT);
	ck_assert_int_eq(m->ops->inode_get(m, 424242, &got), -ENOENT);
}
END_TEST

START_TEST(test_inode_numbers_not_reused)
{
	uint64_t a = inode_add(S_IFDIR | 0755, 2), b = inode_add(S_IFREG | 0644, 1), c, d;

	ck_assert_uint_gt(b, a);
	ck_assert_int_eq(m->ops->inode_delete(m, b), 0);     /* the highest number goes */
	c = inode_add(S_IFREG | 0644, 1);
	ck_assert_uint_gt(c, b);
	ck_assert_int_eq(m->ops->inode_delete(m, c), 0);
	reopen();
	d = inode_add(S_IFREG | 0644, 1);
	ck_assert_uint_gt(d, c);
}
END_TEST

START_TEST(test_inode_timestamps)
{
	static const struct timespec v[] = {
		{ 0, 0 }, { 0, 999999999 }, { -1, 0 }, { -1, 999999999 }, { -2208988800LL, 500 },
		{ INT32_MAX, 1 }, { (time_t)INT32_MAX + 1, 123456789 }, { 1LL << 40, 7 },
		{ (time_t)(INT64_MAX / 2), 999999999 }, { (time_t)(INT64_MIN / 2), 1 },
		{ INT64_MAX, 999999999 }, { INT64_MIN, 0 },
	};
	size_t n = sizeof(v) / sizeof(v[0]);

	for (size_t i = 0; i < n; i++) {
		struct meta_inode in = inode_make(S_IFREG | 0644, 1), got;

		in.atime = v[i];
		in.mtime = v[(i + 1) % n];
		in.ctime = v[(i + 2) % n];
		in.btime = v[(i + 3) % n];
		ck_assert_int_eq(m->ops->inode_insert(m, &in, NULL, 0), 0);
		ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
		ts_eq(got.atime, in.atime);
		ts_eq(got.mtime, in.mtime);
		ts_eq(got.ctime, in.ctime);
		ts_eq(got.btime, in.btime);
		/* and through update */
		in.atime = v[(i + 5) % n];
		in.mtime = v[(i + 6) % n];
		ck_assert_int_eq(m->ops->inode_update(m, &in), 0);
		ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
		ts_eq(got.atime, in.atime);
		ts_eq(got.mtime, in.mtime);
	}
}
END_TEST

START_TEST(test_symlink_target)
{
	struct meta_inode in = inode_make(S_IFLNK | 0777, 1);
	char target[4081], buf[4096];
	size_t len = 0;

	memset(target, 'a', 4080);
	target[4080] = '\0';
	target[0] = '\xff';        /* any bytes */
	in.size = 4080;
	ck_assert_int_eq(m->ops->inode_insert(m, &in, target, 4080), 0);
	ck_assert_int_eq(m->ops->readlink(m, in.ino, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 4080);
	ck_assert_mem_eq(buf, target, 4080);
	len = 7;
	ck_assert_int_eq(m->ops->readlink(m, in.ino, buf, 4079, &len), -ERANGE);
	ck_assert_uint_eq(len, 7);
	/* a regular file has no target */
	ck_assert_int_eq(m->ops->readlink(m, inode_add(S_IFREG | 0644, 1), buf, sizeof(buf), &len),
			 -EINVAL);
	ck_assert_int_eq(m->ops->readlink(m, 987654, buf, sizeof(buf), &len), -ENOENT);
}
END_TEST

/* ---- directory entries ---- */

struct rd {
	int n, stop_after;
	int err_at;                 /* return -EIO at this entry (-1: never) */
	char names[64][256];
	uint64_t ino[64], cookie[64];
	uint32_t type[64];
};

static int rd_cb(const char *name, uint64_t ino, uint32_t type, uint64_t cookie, void *arg)
{
	struct rd *r = arg;

	ck_assert_int_lt(r->n, 64);
	if (r->n == r->err_at)
		return -EIO;
	snprintf(r->names[r->n], sizeof(r->names[0]), "%s", name);
	r->ino[r->n] = ino;
	r->type[r->n] = type;
	r->cookie[r->n] = cookie;
	r->n++;
	return r->stop_after && r->n >= r->stop_after;
}

static void rd_run(uint64_t dir, uint64_t after, uint64_t upto, int stop_after, struct rd *r)
{
	memset(r, 0, sizeof(*r));
	r->stop_after = stop_after;
	r->err_at = -1;
	ck_assert_int_eq(m->ops->readdir(m, dir, after, upto, rd_cb, r), 0);
}

START_TEST(test_dentry_basic)
{
	uint64_t root = inode_add(S_IFDIR | 0755, 2), f = inode_add(S_IFREG | 0644, 1);
	uint64_t g = inode_add(S_IFREG | 0644, 1), ino = 0;
	struct rd r;

	ck_assert_int_eq(m->ops->lookup(m, root, "f", &ino), -ENOENT);
	ck_assert_int_eq(m->ops->dentry_insert(m, root, "f", f, S_IFREG | 0644), 0);
	ck_assert_int_eq(m->ops->lookup(m, root, "f", &ino), 0);
	ck_assert_uint_eq(ino, f);
	/* duplicate name in the same directory */
	ck_assert_int_eq(m->ops->dentry_insert(m, root, "f", g, S_IFREG), -EEXIST);
	ck_assert_int_eq(m->ops->lookup(m, root, "f", &ino), 0);
	ck_assert_uint_eq(ino, f);
	/* same name elsewhere is fine */
	ck_assert_int_eq(m->ops->dentry_insert(m, f, "f", g, S_IFREG), 0);
	/* the type is stored as S_IFMT bits only */
	rd_run(root, 0, UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 1);
	ck_assert_uint_eq(r.type[0], S_IFREG);
	/* retarget */
	ck_assert_int_eq(m->ops->dentry_retarget(m, root, "f", g, S_IFLNK | 0777), 0);
	ck_assert_int_eq(m->ops->lookup(m, root, "f", &ino), 0);
	ck_assert_uint_eq(ino, g);
	rd_run(root, 0, UINT64_MAX, 0, &r);
	ck_assert_uint_eq(r.type[0], S_IFLNK);
	ck_assert_int_eq(m->ops->dentry_retarget(m, root, "nope", g, S_IFREG), -ENOENT);
	/* delete */
	ck_assert_int_eq(m->ops->dentry_delete(m, root, "f"), 0);
	ck_assert_int_eq(m->ops->lookup(m, root, "f", &ino), -ENOENT);
	ck_assert_int_eq(m->ops->dentry_delete(m, root, "f"), -ENOENT);
	ck_assert_int_eq(m->ops->lookup(m, f, "f", &ino), 0);
}
END_TEST

START_TEST(test_dentry_move_keeps_cookie)
{
	uint64_t d1 = inode_add(S_IFDIR | 0755, 2), d2 = inode_add(S_IFDIR | 0755, 2);
	uint64_t a = inode_add(S_IFREG | 0644, 1), b = inode_add(S_IFREG | 0644, 1), cookie, ino;
	struct rd r;

	ck_assert_int_eq(m->ops->dentry_insert(m, d1, "a", a, S_IFREG), 0);
	ck_assert_int_eq(m->ops->dentry_insert(m, d1, "b", b, S_IFREG), 0);
	rd_run(d1, 0, UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.names[0], "a");
	cookie = r.cookie[0];
	/* rename within the directory: same cookie, same place in the order */
	ck_assert_int_eq(m->ops->dentry_move(m, d1, "a", d1, "zzz"), 0);
	rd_run(d1, 0, UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.names[0], "zzz");
	ck_assert_uint_eq(r.cookie[0], cookie);
	ck_assert_uint_eq(r.ino[0], a);
	/* to another directory */
	ck_assert_int_eq(m->ops->dentry_move(m, d1, "zzz", d2, "moved"), 0);
	ck_assert_int_eq(m->ops->lookup(m, d1, "zzz", &ino), -ENOENT);
	ck_assert_int_eq(m->ops->lookup(m, d2, "moved", &ino), 0);
	ck_assert_uint_eq(ino, a);
	rd_run(d2, 0, UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 1);
	ck_assert_uint_eq(r.cookie[0], cookie);
	/* onto an existing name: constraint; from a missing one: ENOENT */
	ck_assert_int_eq(m->ops->dentry_insert(m, d2, "b2", b, S_IFREG), 0);
	ck_assert_int_eq(m->ops->dentry_move(m, d2, "moved", d2, "b2"), -EEXIST);
	ck_assert_int_eq(m->ops->lookup(m, d2, "moved", &ino), 0);
	ck_assert_int_eq(m->ops->dentry_move(m, d2, "ghost", d1, "x"), -ENOENT);
}
END_TEST

START_TEST(test_dentry_raw_names)
{
	static const char *const names[] = {
		"h\xc3\xa9llo",               /* NFC é */
		"he\xcc\x81llo",              /* NFD e + combining acute: a different name */
		"\xff\xfe\x80 invalid utf-8",
		"\xc3\x28",                   /* invalid 2-byte sequence */
		"A", "a",                     /* case-sensitive */
		" sp ace ", ".hidden", "-", "\x01\x7f",
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	uint64_t dir = inode_add(S_IFDIR | 0755, 2), ino;
	char longname[256];
	struct rd r;

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(m->ops->dentry_insert(m, dir, names[i], 1000 + i, S_IFREG), 0);
	memset(longname, 'L', 255);
	longname[0] = '\xe2';
	longname[1] = '\x82';
	longname[2] = '\xac';          /* a Euro sign, then 252 'L' */
	longname[255] = '\0';
	ck_assert_int_eq(m->ops->dentry_insert(m, dir, longname, 2000, S_IFREG), 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(m->ops->lookup(m, dir, names[i], &ino), 0);
		ck_assert_uint_eq(ino, 1000 + i);
	}
	ck_assert_int_eq(m->ops->lookup(m, dir, longname, &ino), 0);
	ck_assert_uint_eq(ino, 2000);
	/* a prefix of a name is not that name */
	ck_assert_int_eq(m->ops->lookup(m, dir, "h\xc3", &ino), -ENOENT);
	rd_run(dir, 0, UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, (int)n + 1);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(strlen(r.names[i]), strlen(names[i]));
		ck_assert_mem_eq(r.names[i], names[i], strlen(names[i]));
	}
	ck_assert_uint_eq(strlen(r.names[n]), 255);
	ck_assert_mem_eq(r.names[n], longname, 255);
}
END_TEST

START_TEST(test_readdir_order_bounds)
{
	uint64_t dir = inode_add(S_IFDIR | 0755, 2), other = inode_add(S_IFDIR | 0755, 2), max = 0;
	static const char *const names[] = { "m", "c", "x", "a", "q" };
	struct rd r, all;

	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(m->ops->dentry_insert(m, dir, names[i], 100 + i, S_IFREG), 0);
		/* interleave another directory's entries */
		ck_assert_int_eq(m->ops->dentry_insert(m, other, names[i], 200 + i, S_IFREG), 0);
	}
	rd_run(dir, 0, UINT64_MAX, 0, &all);
	ck_assert_int_eq(all.n, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_str_eq(all.names[i], names[i]);       /* creation (cookie) order */
		ck_assert_uint_eq(all.ino[i], 100 + i);
		if (i)
			ck_assert_uint_gt(all.cookie[i], all.cookie[i - 1]);
	}
	ck_assert_int_eq(m->ops->dentry_max_cookie(m, &max), 0);
	ck_assert_uint_ge(max, all.cookie[4]);
	/* after: strictly greater */
	rd_run(dir, all.cookie[1], UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 3);
	ck_assert_str_eq(r.names[0], "x");
	/* upto: inclusive */
	rd_run(dir, 0, all.cookie[2], 0, &r);
	ck_assert_int_eq(r.n, 3);
	ck_assert_str_eq(r.names[2], "x");
	rd_run(dir, all.cookie[0], all.cookie[3], 0, &r);
	ck_assert_int_eq(r.n, 3);
	ck_assert_str_eq(r.names[0], "c");
	ck_assert_str_eq(r.names[2], "a");
	rd_run(dir, all.cookie[4], UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 0);
	rd_run(dir, 0, 0, 0, &r);
	ck_assert_int_eq(r.n, 0);
	/* the callback stops the walk: readdir returns 0 */
	rd_run(dir, 0, UINT64_MAX, 2, &r);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.names[1], "c");
	/* and resuming from the last cookie continues exactly there */
	rd_run(dir, r.cookie[1], UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 3);
	ck_assert_str_eq(r.names[0], "x");
	/* a negative return from the callback is passed on */
	memset(&r, 0, sizeof(r));
	r.err_at = 1;
	ck_assert_int_eq(m->ops->readdir(m, dir, 0, UINT64_MAX, rd_cb, &r), -EIO);
	ck_assert_int_eq(r.n, 1);
	/* an empty or missing directory lists nothing */
	rd_run(424242, 0, UINT64_MAX, 0, &r);
	ck_assert_int_eq(r.n, 0);
}
END_TEST

START_TEST(test_dir_empty_parent)
{
	uint64_t root, sub, f, p = 0;
	bool empty = false;

	root = inode_add(S_IFDIR | 0755, 3);
	ck_assert_uint_eq(root, META_ROOT_INO);
	sub = inode_add(S_IFDIR | 0755, 2);
	f = inode_add(S_IFREG | 0644, 1);
	ck_assert_int_eq(m->ops->dir_is_empty(m, root, &empty), 0);
	ck_assert(empty);
	ck_assert_int_eq(m->ops->dentry_insert(m, root, "sub", sub, S_IFDIR), 0);
	ck_assert_int_eq(m->ops->dir_is_empty(m, root, &empty), 0);
	ck_assert(!empty);
	ck_assert_int_eq(m->ops->dir_is_empty(m, sub, &empty), 0);
	ck_assert(empty);
	ck_assert_int_eq(m->ops->dentry_insert(m, sub, "f", f, S_IFREG), 0);
	ck_assert_int_eq(m->ops->dir_is_empty(m, sub, &empty), 0);
	ck_assert(!empty);
	ck_assert_int_eq(m->ops->dentry_delete(m, sub, "f"), 0);
	ck_assert_int_eq(m->ops->dir_is_empty(m, sub, &empty), 0);
	ck_assert(empty);

	ck_assert_int_eq(m->ops->dir_parent(m, META_ROOT_INO, &p), 0);
	ck_assert_uint_eq(p, META_ROOT_INO);
	ck_assert_int_eq(m->ops->dir_parent(m, sub, &p), 0);
	ck_assert_uint_eq(p, root);
	p = 12345;
	ck_assert_int_eq(m->ops->dir_parent(m, 424242, &p), -ENOENT);
	ck_assert_uint_eq(p, 12345);
	/* a move changes the parent */
	ck_assert_int_eq(m->ops->dentry_insert(m, root, "other", f, S_IFDIR), 0);
	ck_assert_int_eq(m->ops->dentry_move(m, root, "sub", f, "sub"), 0);
	ck_assert_int_eq(m->ops->dir_parent(m, sub, &p), 0);
	ck_assert_uint_eq(p, f);
}
END_TEST

/* ---- xattrs ---- */

START_TEST(test_xattr)
{
	uint64_t ino = inode_add(S_IFREG | 0644, 1), other = inode_add(S_IFREG | 0644, 1);
	static const unsigned char bin[] = { 0, 1, 2, 0, 0xff, 0xfe, 0, 0x80 };
	char buf[64];
	size_t len = 0;

	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", buf, sizeof(buf), &len), -ENODATA);
	/* XATTR_REPLACE on a missing name */
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.a", "x", 1, XATTR_REPLACE), -ENODATA);
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", buf, sizeof(buf), &len), -ENODATA);
	/* XATTR_CREATE, then again */
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.a", "hello", 5, XATTR_CREATE), 0);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.a", "other", 5, XATTR_CREATE), -EEXIST);
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	/* size query */
	len = 0;
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", NULL, 0, &len), 0);
	ck_assert_uint_eq(len, 5);
	/* too small */
	len = 99;
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", buf, 4, &len), -ERANGE);
	ck_assert_uint_eq(len, 99);
	/* REPLACE and plain set */
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.a", "hi", 2, XATTR_REPLACE), 0);
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(buf, "hi", 2);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.a", "again", 5, 0), 0);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.new", "n", 1, 0), 0);
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", buf, sizeof(buf), &len), 0);
	ck_assert_mem_eq(buf, "again", 5);
	/* empty value: present, zero bytes (not NULL, not missing) */
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.empty", "", 0, XATTR_CREATE), 0);
	len = 99;
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.empty", buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 0);
	len = 99;
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.empty", NULL, 0, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.empty", "", 0, XATTR_CREATE), -EEXIST);
	/* binary value with NULs */
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.bin", bin, sizeof(bin), 0), 0);
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.bin", buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, sizeof(bin));
	ck_assert_mem_eq(buf, bin, sizeof(bin));
	/* per inode */
	ck_assert_int_eq(m->ops->xattr_get(m, other, "user.bin", buf, sizeof(buf), &len), -ENODATA);
	/* remove */
	ck_assert_int_eq(m->ops->xattr_remove(m, ino, "user.new"), 0);
	ck_assert_int_eq(m->ops->xattr_remove(m, ino, "user.new"), -ENODATA);
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.new", buf, sizeof(buf), &len), -ENODATA);
	/* the inode's delete takes its xattrs along */
	ck_assert_int_eq(m->ops->inode_delete(m, ino), 0);
	ck_assert_int_eq(m->ops->xattr_get(m, ino, "user.a", buf, sizeof(buf), &len), -ENODATA);
}
END_TEST

START_TEST(test_xattr_list)
{
	uint64_t ino = inode_add(S_IFREG | 0644, 1);
	static const char want[] = "security.s\0trusted.t\0user.a\0user.b\0";
	char buf[128];
	size_t len = 99;

	ck_assert_int_eq(m->ops->xattr_list(m, ino, NULL, 0, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.b", "1", 1, 0), 0);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "trusted.t", "", 0, 0), 0);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "user.a", "22", 2, 0), 0);
	ck_assert_int_eq(m->ops->xattr_set(m, ino, "security.s", "3", 1, 0), 0);
	ck_assert_int_eq(m->ops->xattr_list(m, ino, NULL, 0, &len), 0);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	ck_assert_int_eq(m->ops->xattr_list(m, ino, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	ck_assert_mem_eq(buf, want, sizeof(want) - 1);
	len = 99;
	ck_assert_int_eq(m->ops->xattr_list(m, ino, buf, sizeof(want) - 2, &len), -ERANGE);
	ck_assert_uint_eq(len, 99);
	/* exactly the right size is enough */
	ck_assert_int_eq(m->ops->xattr_list(m, ino, buf, sizeof(want) - 1, &len), 0);
	ck_assert_uint_eq(len, sizeof(want) - 1);
}
END_TEST

/* ---- chunk map ---- */

struct chunks {
	int n, stop_after;
	struct meta_chunk c[32];
};

static int chunk_cb(const struct meta_chunk *c, void *arg)
{
	struct chunks *s = arg;

	ck_assert_int_lt(s->n, 32);
	s->c[s->n++] = *c;
	return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

START_TEST(test_chunks)
{
	uint64_t a = inode_add(S_IFREG | 0644, 1), b = inode_add(S_IFREG | 0644, 1), cold = 99;
	struct meta_chunk c, got;
	struct chunks s;

	ck_assert_int_eq(m->ops->chunk_get(m, a, 0, &got), -ENOENT);
	c = (struct meta_chunk){ .ino = a, .idx = 3, .class = META_IA, .atime = 1000,
				.stored_len = 777, .plain_len = 4096, .version = 9 };
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 3, &got), 0);
	ck_assert_uint_eq(got.ino, a);
	ck_assert_uint_eq(got.idx, 3);
	ck_assert_int_eq(got.class, META_IA);
	ck_assert_int_eq(got.atime, 1000);
	ck_assert_uint_eq(got.stored_len, 777);
	ck_assert_uint_eq(got.plain_len, 4096);
	ck_assert_uint_eq(got.version, 9);
	/* put overwrites everything, even with an older atime */
	c = (struct meta_chunk){ .ino = a, .idx = 3, .class = META_ARCHIVE, .atime = 500,
				.stored_len = 1ull << 40, .plain_len = 1ull << 33,
				.version = UINT64_MAX >> 1 };
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 3, &got), 0);
	ck_assert_int_eq(got.class, META_ARCHIVE);
	ck_assert_int_eq(got.atime, 500);
	ck_assert_uint_eq(got.stored_len, 1ull << 40);
	ck_assert_uint_eq(got.plain_len, 1ull << 33);
	ck_assert_uint_eq(got.version, UINT64_MAX >> 1);
	/* touch with step 0: the max of the old and new access time, class kept */
	ck_assert_int_eq(m->ops->chunk_touch(m, a, 3, 400, 0), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 3, &got), 0);
	ck_assert_int_eq(got.atime, 500);
	ck_assert_int_eq(got.class, META_ARCHIVE);
	ck_assert_int_eq(m->ops->chunk_touch(m, a, 3, 600, 0), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 3, &got), 0);
	ck_assert_int_eq(got.atime, 600);
	ck_assert_int_eq(got.class, META_ARCHIVE);
	ck_assert_uint_eq(got.stored_len, 1ull << 40);
	ck_assert_uint_eq(got.version, UINT64_MAX >> 1);
	/* with a step: moves only when at least step newer, never back */
	ck_assert_int_eq(m->ops->chunk_touch(m, a, 3, 699, 100), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 3, &got), 0);
	ck_assert_int_eq(got.atime, 600);
	ck_assert_int_eq(m->ops->chunk_touch(m, a, 3, 700, 100), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 3, &got), 0);
	ck_assert_int_eq(got.atime, 700);
	ck_assert_int_eq(m->ops->chunk_touch(m, a, 3, 10, 100), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 3, &got), 0);
	ck_assert_int_eq(got.atime, 700);
	ck_assert_int_eq(got.class, META_ARCHIVE);
	/* touch of a chunk without a row makes a STANDARD row, whatever the step */
	ck_assert_int_eq(m->ops->chunk_touch(m, a, 0, 50, 1000), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 0, &got), 0);
	ck_assert_int_eq(got.class, META_STANDARD);
	ck_assert_int_eq(got.atime, 50);
	ck_assert_uint_eq(got.stored_len, 0);
	ck_assert_uint_eq(got.version, 0);
	/* more rows; another inode */
	for (uint64_t i = 5; i < 9; i++) {
		c = (struct meta_chunk){ .ino = a, .idx = i, .atime = (int64_t)i,
					.class = i % 2 ? META_IA : META_STANDARD };
		ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	}
	c = (struct meta_chunk){ .ino = b, .idx = 1, .class = META_IA, .atime = 1,
				.stored_len = 2, .plain_len = 3, .version = 4 };
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	/* cold count: IA rows 3(archive), 5, 7 */
	ck_assert_int_eq(m->ops->chunk_cold_count(m, a, &cold), 0);
	ck_assert_uint_eq(cold, 3);
	ck_assert_int_eq(m->ops->chunk_cold_count(m, b, &cold), 0);
	ck_assert_uint_eq(cold, 1);
	ck_assert_int_eq(m->ops->chunk_cold_count(m, 424242, &cold), 0);
	ck_assert_uint_eq(cold, 0);
	/* each of one inode: ordered by idx */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(m->ops->chunk_each(m, a, chunk_cb, &s), 0);
	ck_assert_int_eq(s.n, 6);
	ck_assert_uint_eq(s.c[0].idx, 0);
	ck_assert_uint_eq(s.c[1].idx, 3);
	ck_assert_uint_eq(s.c[5].idx, 8);
	for (int i = 0; i < s.n; i++)
		ck_assert_uint_eq(s.c[i].ino, a);
	/* each of all: ordered by (ino, idx) */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(m->ops->chunk_each(m, 0, chunk_cb, &s), 0);
	ck_assert_int_eq(s.n, 7);
	ck_assert_uint_eq(s.c[6].ino, b);
	ck_assert_uint_eq(s.c[6].idx, 1);
	ck_assert_uint_eq(s.c[6].stored_len, 2);
	/* a callback stops the walk and its value comes back */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	ck_assert_int_eq(m->ops->chunk_each(m, a, chunk_cb, &s), 1);
	ck_assert_int_eq(s.n, 2);
	/* delete_from: idx >= 6 go, the rest stay */
	ck_assert_int_eq(m->ops->chunk_delete_from(m, a, 6), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 6, &got), -ENOENT);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 8, &got), -ENOENT);
	ck_assert_int_eq(m->ops->chunk_get(m, a, 5, &got), 0);
	ck_assert_int_eq(m->ops->chunk_cold_count(m, a, &cold), 0);
	ck_assert_uint_eq(cold, 2);
	ck_assert_int_eq(m->ops->chunk_get(m, b, 1, &got), 0);
	/* inode delete removes its chunks */
	ck_assert_int_eq(m->ops->inode_delete(m, a), 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(m->ops->chunk_each(m, a, chunk_cb, &s), 0);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(m->ops->chunk_get(m, b, 1, &got), 0);
}
END_TEST

/* A schema-1 database (chunk rows without sha256) is migrated on open: the
 * old rows stay, with no hash until one is recorded for their version. */
START_TEST(test_migrate_schema_1)
{
	uint8_t sha[32], other[32];
	struct meta_chunk c;
	int version = -1;

	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "ALTER TABLE chunk DROP COLUMN sha256; PRAGMA user_version = 1;"
		 "INSERT INTO chunk(ino, idx, class, atime, stored_len, plain_len, version) "
		 "VALUES (5, 0, 1, 100, 200, 300, 42), (5, 1, 0, 100, 0, 0, 0)");
	reopen();
	ck_assert_int_eq(m->ops->chunk_get(m, 5, 0, &c), 0);
	ck_assert_int_eq(c.class, META_IA);
	ck_assert_uint_eq(c.stored_len, 200);
	ck_assert_uint_eq(c.plain_len, 300);
	ck_assert_uint_eq(c.version, 42);
	ck_assert(!c.has_sha256);

	/* recorded only for the version the row names, and only once */
	memset(sha, 0xa5, sizeof(sha));
	memset(other, 0x5a, sizeof(other));
	ck_assert_int_eq(m->ops->chunk_set_sha256(m, 5, 0, 41, sha), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, 5, 0, &c), 0);
	ck_assert(!c.has_sha256);
	ck_assert_int_eq(m->ops->chunk_set_sha256(m, 5, 1, 0, sha), 0);   /* STANDARD: never */
	ck_assert_int_eq(m->ops->chunk_get(m, 5, 1, &c), 0);
	ck_assert(!c.has_sha256);
	ck_assert_int_eq(m->ops->chunk_set_sha256(m, 5, 0, 42, sha), 0);
	ck_assert_int_eq(m->ops->chunk_set_sha256(m, 5, 0, 42, other), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, 5, 0, &c), 0);
	ck_assert(c.has_sha256);
	ck_assert_mem_eq(c.sha256, sha, 32);

	/* a row written now carries its hash; without one it has none */
	c = (struct meta_chunk){ .ino = 6, .idx = 2, .class = META_ARCHIVE, .atime = 1,
				 .stored_len = 9, .plain_len = 8, .version = 7, .has_sha256 = true };
	memcpy(c.sha256, other, 32);
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	reopen();
	ck_assert_int_eq(m->ops->chunk_get(m, 6, 2, &c), 0);
	ck_assert(c.has_sha256);
	ck_assert_mem_eq(c.sha256, other, 32);
	c.has_sha256 = false;
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	ck_assert_int_eq(m->ops->chunk_get(m, 6, 2, &c), 0);
	ck_assert(!c.has_sha256);
	ck_assert_int_eq(m->ops->chunk_get(m, 5, 0, &c), 0);
	ck_assert_mem_eq(c.sha256, sha, 32);

	meta_close(m);
	m = NULL;
	version = (int)tsql_int(tmp_dir, "PRAGMA user_version");
	ck_assert_int_eq(version, META_SCHEMA);
	reopen();
}
END_TEST

START_TEST(test_inode_path)
{
	uint64_t root = inode_add(S_IFDIR | 0755, 3);
	uint64_t d = inode_add(S_IFDIR | 0755, 2), e = inode_add(S_IFDIR | 0755, 2);
	uint64_t f = inode_add(S_IFREG | 0644, 1), u = inode_add(S_IFREG | 0644, 0);
	static char big[65536];
	char buf[64], small[6];

	ck_assert_uint_eq(root, META_ROOT_INO);
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->dentry_insert(m, META_ROOT_INO, "dir", d, S_IFDIR), 0);
	ck_assert_int_eq(m->ops->dentry_insert(m, d, "sub", e, S_IFDIR), 0);
	ck_assert_int_eq(m->ops->dentry_insert(m, e, "file", f, S_IFREG), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	ck_assert_int_eq(m->ops->inode_path(m, f, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/dir/sub/file");
	ck_assert_int_eq(m->ops->inode_path(m, META_ROOT_INO, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/");
	ck_assert_int_eq(m->ops->inode_path(m, d, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/dir");
	ck_assert_int_eq(m->ops->inode_path(m, u, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(m->ops->inode_path(m, f, small, sizeof(small)), -ENAMETOOLONG);
	/* a cycle (a corrupt database) ends */
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->dentry_move(m, META_ROOT_INO, "dir", e, "loop"), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	ck_assert_int_eq(m->ops->inode_path(m, f, buf, sizeof(buf)), -ENAMETOOLONG);
	ck_assert_int_eq(m->ops->inode_path(m, f, big, sizeof(big)), -ELOOP);
}
END_TEST

START_TEST(test_usage)
{
	struct meta_inode in = inode_make(S_IFREG | 0644, 1);
	struct meta_usage u;
	struct meta_chunk c;
	uint64_t gone;

	ck_assert_int_eq(m->ops->usage(m, &u), 0);
	ck_assert_uint_eq(u.inodes, 0);
	ck_assert_uint_eq(u.bytes, 0);
	in.size = 1000;
	ck_assert_int_eq(m->ops->inode_insert(m, &in, NULL, 0), 0);
	in.size = (1ull << 44) + 1;       /* large sizes add up exactly */
	ck_assert_int_eq(m->ops->inode_insert(m, &in, NULL, 0), 0);
	in.size = 777;
	in.nlink = 0;                     /* an orphan is not counted */
	ck_assert_int_eq(m->ops->inode_insert(m, &in, NULL, 0), 0);
	gone = in.ino;
	c = (struct meta_chunk){ .ino = 1, .idx = 0, .class = META_IA, .stored_len = 10,
				 .plain_len = 100 };
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	c.idx = 1;
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	c = (struct meta_chunk){ .ino = 2, .idx = 0, .class = META_ARCHIVE, .stored_len = 5,
				 .plain_len = 50 };
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	c = (struct meta_chunk){ .ino = 2, .idx = 1, .class = META_STANDARD };
	ck_assert_int_eq(m->ops->chunk_put(m, &c), 0);
	ck_assert_int_eq(m->ops->usage(m, &u), 0);
	ck_assert_uint_eq(u.inodes, 2);
	ck_assert_uint_eq(u.bytes, 1000 + (1ull << 44) + 1);
	ck_assert_uint_eq(u.chunks[META_IA], 2);
	ck_assert_uint_eq(u.plain[META_IA], 200);
	ck_assert_uint_eq(u.stored[META_IA], 20);
	ck_assert_uint_eq(u.chunks[META_ARCHIVE], 1);
	ck_assert_uint_eq(u.plain[META_ARCHIVE], 50);
	ck_assert_uint_eq(u.stored[META_ARCHIVE], 5);
	ck_assert_int_eq(m->ops->inode_delete(m, gone), 0);
	ck_assert_int_eq(m->ops->usage(m, &u), 0);
	ck_assert_uint_eq(u.inodes, 2);
}
END_TEST

/* ---- orphans, iteration, transactions ---- */

struct orph {
	int n;
	uint64_t ino[16];
	bool delete;
	int fail_at;
};

static int orph_cb(uint64_t ino, void *arg)
{
	struct orph *o = arg;

	ck_assert_int_lt(o->n, 16);
	if (o->n == o->fail_at)
		return -EIO;
	o->ino[o->n++] = ino;
	if (o->delete)
		ck_assert_int_eq(m->ops->inode_delete(m, ino), 0);
	return 0;
}

START_TEST(test_orphans)
{
	uint64_t live = inode_add(S_IFREG | 0644, 1), o1 = inode_add(S_IFREG | 0644, 0);
	uint64_t o2 = inode_add(S_IFDIR | 0755, 0);
	struct meta_inode got;
	struct orph o = { .fail_at = -1 };

	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), 0);
	ck_assert_int_eq(o.n, 2);
	ck_assert(((o.ino[0] == o1 && o.ino[1] == o2) || (o.ino[0] == o2 && o.ino[1] == o1)));
	/* an error from the callback stops the walk */
	memset(&o, 0, sizeof(o));
	o.fail_at = 0;
	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), -EIO);
	ck_assert_int_eq(o.n, 0);
	/* the callback may delete rows */
	memset(&o, 0, sizeof(o));
	o.fail_at = -1;
	o.delete = true;
	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), 0);
	ck_assert_int_eq(o.n, 2);
	ck_assert_int_eq(m->ops->inode_get(m, o1, &got), -ENOENT);
	ck_assert_int_eq(m->ops->inode_get(m, o2, &got), -ENOENT);
	ck_assert_int_eq(m->ops->inode_get(m, live, &got), 0);
	memset(&o, 0, sizeof(o));
	o.fail_at = -1;
	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), 0);
	ck_assert_int_eq(o.n, 0);
}
END_TEST

static bool orph_has(const struct orph *o, uint64_t ino)
{
	for (int i = 0; i < o->n; i++)
		if (o->ino[i] == ino)
			return true;
	return false;
}

/* A pid that ran and is gone: a child that exited and was reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return pid;
}

/* The rule of orphan cleanup (meta_session_alive). */
START_TEST(test_session_rule)
{
	struct meta_session self, s;
	int64_t now = (int64_t)time(NULL);
	pid_t zombie;
	int status;

	ck_assert_int_eq(meta_session_self(&self), 0);
	ck_assert_int_eq(self.pid, getpid());
	ck_assert_uint_gt(self.started, 0);
	ck_assert_uint_gt(strlen(self.host), 0);
	ck_assert(meta_session_alive(&self, &self, now));
	/* this host and boot: the process must run, with the same start */
	s = self;
	s.pid = dead_pid();
	ck_assert(!meta_session_alive(&s, &self, now));
	s = self;
	s.started++;              /* the pid taken by another process since */
	ck_assert(!meta_session_alive(&s, &self, now));
	zombie = fork();
	ck_assert_int_ge(zombie, 0);
	if (zombie == 0)
		_exit(0);
	/* an exited child not yet reaped is no live process */
	for (int i = 0; i < 1000; i++) {
		char path[64], buf[256];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)zombie);
		f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
		fclose(f);
		if (strstr(buf, ") Z "))
			break;
		usleep(1000);
	}
	s = self;
	s.pid = zombie;
	ck_assert(!meta_session_alive(&s, &self, now));
	ck_assert_int_eq(waitpid(zombie, &status, 0), zombie);
	/* another boot of this host: gone, whatever its heartbeat */
	s = self;
	snprintf(s.boot, sizeof(s.boot), "another-boot");
	s.heartbeat = now;
	ck_assert(!meta_session_alive(&s, &self, now));
	/* another host: alive while its heartbeat is fresh */
	s = self;
	snprintf(s.host, sizeof(s.host), "another-host");
	s.pid = dead_pid();
	s.heartbeat = now - META_SESSION_TIMEOUT_S + 1;
	ck_assert(meta_session_alive(&s, &self, now));
	s.heartbeat = now - META_SESSION_TIMEOUT_S;
	ck_assert(!meta_session_alive(&s, &self, now));
}
END_TEST

/* The sessions table through the ops: an orphan records its session; the
 * cleanup at mount (orphans) leaves a live session's orphans alone and
 * lists those of sessions that are gone: ended cleanly, crashed, of another
 * boot, or of another host whose heartbeat stopped. */
START_TEST(test_session_orphans)
{
	struct meta_session self;
	struct orph o = { .fail_at = -1 };
	uint64_t id, o1, o2;
	char sql[1024];
	pid_t child;
	int status;

	ck_assert_int_eq(m->ops->session_start(m, &id), 0);
	ck_assert_uint_gt(id, 0);
	ck_assert_int_eq(m->ops->session_start(m, NULL), -EBUSY);     /* one per open */
	o1 = orphan_add(m);
	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), 0);
	ck_assert(!orph_has(&o, o1));              /* ours, and we are alive */
	meta_close(m);                             /* a clean close ends the session */
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM session"), 0);
	snprintf(sql, sizeof(sql), "SELECT session FROM inode WHERE ino = %llu",
		 (unsigned long long)o1);
	ck_assert_int_eq(tsql_int(tmp_dir, sql), (long long)id);

	/* a daemon that crashed: its session row stays, its process is gone */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct meta *c = NULL;
		char err[512];

		if (meta_open(db_url, 0, &c, err, sizeof(err)) < 0 ||
		    c->ops->session_start(c, NULL) < 0)
			_exit(2);
		orphan_add(c);
		_exit(0);                          /* no close: a crash */
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM session"), 1);
	o2 = (uint64_t)tsql_int(tmp_dir, "SELECT max(ino) FROM inode");

	/* sessions this test writes itself: 1000 live (this very process),
	 * 1001 another host beating, 1002 another host silent, 1003 another
	 * boot of this host; an orphan of each */
	ck_assert_int_eq(meta_session_self(&self), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO session(id, host, boot, pid, started, heartbeat) VALUES "
		 "(1000, '%s', '%s', %lld, %llu, 0),"
		 "(1001, 'another-host', 'b', 1, 1, %lld),"
		 "(1002, 'another-host', 'b', 1, 1, %lld),"
		 "(1003, '%s', 'another-boot', %lld, %llu, %lld);"
		 "INSERT INTO inode(ino, mode, uid, gid, nlink, atime_s, atime_ns, mtime_s, "
		 "mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, session) VALUES "
		 "(5000, 33188, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000),"
		 "(5001, 33188, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1001),"
		 "(5002, 33188, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1002),"
		 "(5003, 33188, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1003)",
		 self.host, self.boot, (long long)self.pid, (unsigned long long)self.started,
		 (long long)time(NULL), (long long)time(NULL) - 10 * META_SESSION_TIMEOUT_S,
		 self.host, (long long)self.pid, (unsigned long long)self.started,
		 (long long)time(NULL));
	tsql_exec(tmp_dir, sql);

	/* the next mount's cleanup */
	reopen();
	ck_assert_int_eq(m->ops->session_start(m, &id), 0);
	memset(&o, 0, sizeof(o));
	o.fail_at = -1;
	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), 0);
	ck_assert_int_eq(o.n, 4);
	ck_assert(orph_has(&o, o1));               /* its session ended */
	ck_assert(orph_has(&o, o2));               /* its session crashed */
	ck_assert(orph_has(&o, 5002));             /* its host went silent */
	ck_assert(orph_has(&o, 5003));             /* of a boot before */
	ck_assert(!orph_has(&o, 5000));            /* live sessions keep theirs */
	ck_assert(!orph_has(&o, 5001));
	meta_close(m);
	m = NULL;
	/* the gone sessions are forgotten, the live ones stay */
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM session"), 2);
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM session WHERE id IN (1000, 1001)"), 2);
	reopen();
}
END_TEST

/* Schema 2 -> 3 on open: the sessions table and inode.session come, the
 * orphans of before name no session (so the next cleanup removes them, as
 * it did), and the version is 3. */
/* A read-only open of a schema-2 database reads it as it is: before schema
 * 3 it opened, and a read-only one (mount -o ro, a snapshot) can never be
 * migrated.  Nothing is written: it stays schema 2. */
START_TEST(test_schema_2_read_only)
{
	struct orph o = { .fail_at = -1 };
	struct meta_inode got;
	uint64_t kept = inode_add(S_IFREG | 0644, 1), old = inode_add(S_IFREG | 0644, 0);
	char err[512] = "";
	int r;

	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "DROP TABLE session; ALTER TABLE inode DROP COLUMN session;"
		 "PRAGMA user_version = 2;");
	r = meta_open(db_url, META_RDONLY, &m, err, sizeof(err));
	ck_assert_msg(r == 0, "meta_open(read-only, schema 2) = %d: %s", r, err);
	ck_assert_int_eq(m->ops->inode_get(m, kept, &got), 0);
	ck_assert_uint_eq(got.mode, S_IFREG | 0644);
	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), 0);
	ck_assert_int_eq(o.n, 1);
	ck_assert_uint_eq(o.ino[0], old);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), 2);
	reopen();
}
END_TEST

START_TEST(test_migrate_schema_2)
{
	struct orph o = { .fail_at = -1 };
	uint64_t old = inode_add(S_IFREG | 0644, 0);

	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "DROP TABLE session; ALTER TABLE inode DROP COLUMN session;"
		 "PRAGMA user_version = 2;");
	reopen();
	ck_assert_int_eq(m->ops->session_start(m, NULL), 0);
	ck_assert_int_eq(m->ops->orphans(m, orph_cb, &o), 0);
	ck_assert_int_eq(o.n, 1);
	ck_assert_uint_eq(o.ino[0], old);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), META_SCHEMA);
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM session"), 0);
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM inode WHERE session != 0"), 0);
	reopen();
}
END_TEST

struct mpoints {
	int n;
	int64_t minute[8];
	double value[8];
};

static int mpoint_cb(int64_t minute, double value, void *arg)
{
	struct mpoints *p = arg;

	p->minute[p->n] = minute;
	p->value[p->n++] = value;
	return p->n == 8;
}

/* The meter's history: put replaces, each is [from, to) oldest first,
 * prune drops what is older. */
START_TEST(test_metric_history)
{
	struct mpoints p = { 0 };

	ck_assert_int_eq(meta_metric_put(m, "TotalIOBytes", 120, 5), 0);
	ck_assert_int_eq(meta_metric_put(m, "TotalIOBytes", 60, 7), 0);
	ck_assert_int_eq(meta_metric_put(m, "TotalIOBytes", 120, 9), 0);   /* replaces */
	ck_assert_int_eq(meta_metric_put(m, "BurstCreditBalance", 60, 1e12), 0);
	ck_assert_int_eq(meta_metric_each(m, "TotalIOBytes", 0, 180, mpoint_cb, &p), 0);
	ck_assert_int_eq(p.n, 2);
	ck_assert_int_eq(p.minute[0], 60);
	ck_assert(p.value[0] == 7 && p.value[1] == 9);
	p.n = 0;
	ck_assert_int_eq(meta_metric_each(m, "TotalIOBytes", 60, 120, mpoint_cb, &p), 0);
	ck_assert_int_eq(p.n, 1);
	ck_assert_int_eq(meta_metric_prune(m, 120), 0);
	p.n = 0;
	ck_assert_int_eq(meta_metric_each(m, "TotalIOBytes", 0, 1000, mpoint_cb, &p), 0);
	ck_assert_int_eq(p.n, 1);
	ck_assert_int_eq(p.minute[0], 120);
	p.n = 0;
	ck_assert_int_eq(meta_metric_each(m, "BurstCreditBalance", 0, 1000, mpoint_cb, &p), 0);
	ck_assert_int_eq(p.n, 0);
}
END_TEST

/* Schema 3 -> 5 on open: the metric table comes, empty, and works; a
 * read-only open of a schema-3 database reads it as it is (no history:
 * -ENOENT) and leaves it at 3. */
START_TEST(test_migrate_schema_3)
{
	struct mpoints p = { 0 };
	struct meta_inode got;
	uint64_t kept = inode_add(S_IFREG | 0644, 1);
	char err[512] = "";
	int r;

	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "DROP TABLE metric; DROP TABLE access_point; DROP TABLE access_point_tag;"
		  "PRAGMA user_version = 3;");
	r = meta_open(db_url, META_RDONLY, &m, err, sizeof(err));
	ck_assert_msg(r == 0, "meta_open(read-only, schema 3) = %d: %s", r, err);
	ck_assert_int_eq(m->ops->inode_get(m, kept, &got), 0);
	ck_assert_int_eq(meta_metric_each(m, "TotalIOBytes", 0, 1000, mpoint_cb, &p), -ENOENT);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), 3);
	reopen();
	ck_assert_int_eq(m->ops->inode_get(m, kept, &got), 0);
	ck_assert_int_eq(meta_metric_each(m, "TotalIOBytes", 0, 1000, mpoint_cb, &p), 0);
	ck_assert_int_eq(p.n, 0);
	ck_assert_int_eq(meta_metric_put(m, "TotalIOBytes", 60, 4096), 0);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), META_SCHEMA);
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT value FROM metric WHERE minute = 60"), 4096);
	reopen();
}
END_TEST

/* ---- access points (schema 5) ---- */

static void ap_fill(struct fs_access_point *ap, const char *id, const char *token)
{
	memset(ap, 0, sizeof(*ap));
	snprintf(ap->id, sizeof(ap->id), "%s", id);
	snprintf(ap->client_token, sizeof(ap->client_token), "%s", token);
	ap->created = 1790000000;
	ap->user.uid = 4294967295u;
	ap->user.gid = 1001;
	ap->user.ngroups = 3;
	ap->user.groups[0] = 5;
	ap->user.groups[1] = 0;
	ap->user.groups[2] = 4294967294u;
	snprintf(ap->path, sizeof(ap->path), "/apps/%s", id + 5);
	ap->has_creation = true;
	ap->owner_uid = 1000;
	ap->owner_gid = 1002;
	ap->permissions = 02750;
	ap->ntags = 2;
	snprintf(ap->tags[0].key, sizeof(ap->tags[0].key), "Name");
	snprintf(ap->tags[0].value, sizeof(ap->tags[0].value), "app %s", id + 5);
	snprintf(ap->tags[1].key, sizeof(ap->tags[1].key), "team");
}

static void ap_same(const struct fs_access_point *a, const struct fs_access_point *b)
{
	ck_assert_str_eq(a->id, b->id);
	ck_assert_str_eq(a->client_token, b->client_token);
	ck_assert_int_eq(a->created, b->created);
	ck_assert_uint_eq(a->user.uid, b->user.uid);
	ck_assert_uint_eq(a->user.gid, b->user.gid);
	ck_assert_uint_eq(a->user.ngroups, b->user.ngroups);
	for (unsigned i = 0; i < a->user.ngroups; i++)
		ck_assert_uint_eq(a->user.groups[i], b->user.groups[i]);
	ck_assert_str_eq(a->path, b->path);
	ck_assert_int_eq(a->has_creation, b->has_creation);
	if (a->has_creation) {
		ck_assert_uint_eq(a->owner_uid, b->owner_uid);
		ck_assert_uint_eq(a->owner_gid, b->owner_gid);
		ck_assert_uint_eq(a->permissions, b->permissions);
	}
	ck_assert_uint_eq(a->ntags, b->ntags);
	for (unsigned i = 0; i < a->ntags; i++) {
		ck_assert_str_eq(a->tags[i].key, b->tags[i].key);
		ck_assert_str_eq(a->tags[i].value, b->tags[i].value);
	}
}

/* Rows round-trip (every field, the tags in order, gids of 32 bits), ids
 * and tokens are unique, next walks them in creation order, delete takes
 * the tags too, and all of it survives a reopen. */
START_TEST(test_access_points)
{
	static struct fs_access_point a, b, c, got;
	uint64_t n = 9, seq = 0;

	ck_assert_int_eq(m->ops->ap_count(m, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(m->ops->ap_next(m, 0, &got, &seq), -ENOENT);
	ap_fill(&a, "fsap-0123456789abcdef0", "tok-a");
	ap_fill(&b, "fsap-00000000000000001", "");
	b.has_creation = false;
	b.ntags = 0;
	b.user.ngroups = 0;
	snprintf(b.path, sizeof(b.path), "/");
	ap_fill(&c, "fsap-00000000000000002", "");
	ck_assert_int_eq(m->ops->ap_insert(m, &a), 0);
	ck_assert_int_eq(m->ops->ap_insert(m, &b), 0);
	ck_assert_int_eq(m->ops->ap_insert(m, &c), 0);
	/* the same id, the same token: taken */
	ck_assert_int_eq(m->ops->ap_insert(m, &a), -EEXIST);
	snprintf(got.id, sizeof(got.id), "fsap-00000000000000003");
	ap_fill(&got, "fsap-00000000000000003", "tok-a");
	ck_assert_int_eq(m->ops->ap_insert(m, &got), -EEXIST);
	ck_assert_int_eq(m->ops->ap_count(m, &n), 0);
	ck_assert_uint_eq(n, 3);

	reopen();
	ck_assert_int_eq(m->ops->ap_get(m, a.id, &got), 0);
	ap_same(&got, &a);
	ck_assert_int_eq(m->ops->ap_get(m, b.id, &got), 0);
	ap_same(&got, &b);
	ck_assert_int_eq(m->ops->ap_by_token(m, "tok-a", &got), 0);
	ap_same(&got, &a);
	ck_assert_int_eq(m->ops->ap_by_token(m, "tok-b", &got), -ENOENT);
	ck_assert_int_eq(m->ops->ap_get(m, "fsap-99999999999999999", &got), -ENOENT);
	ck_assert_int_eq(m->ops->ap_next(m, 0, &got, &seq), 0);
	ck_assert_str_eq(got.id, a.id);
	ck_assert_int_eq(m->ops->ap_next(m, seq, &got, &seq), 0);
	ck_assert_str_eq(got.id, b.id);
	ck_assert_int_eq(m->ops->ap_next(m, seq, &got, &seq), 0);
	ap_same(&got, &c);
	ck_assert_int_eq(m->ops->ap_next(m, seq, &got, &seq), -ENOENT);

	ck_assert_int_eq(m->ops->ap_delete(m, a.id), 0);
	ck_assert_int_eq(m->ops->ap_delete(m, a.id), -ENOENT);
	ck_assert_int_eq(m->ops->ap_get(m, a.id, &got), -ENOENT);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM access_point_tag"), 2);
	reopen();
	/* its token is free again */
	ap_fill(&got, "fsap-00000000000000004", "tok-a");
	ck_assert_int_eq(m->ops->ap_insert(m, &got), 0);
	ck_assert_int_eq(m->ops->ap_count(m, &n), 0);
	ck_assert_uint_eq(n, 3);
}
END_TEST

/* Schema 4 -> 5 on open: a database the previous code made (no access
 * point tables, version 3) keeps its rows, gets the tables, and takes
 * access points that survive a reopen. */
START_TEST(test_migrate_schema_4)
{
	static struct fs_access_point a, got;
	uint64_t kept = inode_add(S_IFDIR | 0755, 2), n = 9;
	struct meta_inode mi;
	char buf[16];

	ck_assert_int_eq(m->ops->set_kv(m, "fs_id", "fs-0123456789abcdef0"), 0);
	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "DROP TABLE access_point; DROP TABLE access_point_tag;"
		 "PRAGMA user_version = 4;");
	ck_assert_int_eq(tsql_int(tmp_dir, "SELECT count(*) FROM sqlite_master WHERE "
				  "name LIKE 'access_point%'"), 0);
	reopen();
	ck_assert_int_eq(m->ops->inode_get(m, kept, &mi), 0);
	ck_assert_uint_eq(mi.mode, S_IFDIR | 0755);
	ck_assert_int_eq(m->ops->get_kv(m, "fs_id", buf, sizeof(buf)), -ENAMETOOLONG);
	ck_assert_int_eq(m->ops->ap_count(m, &n), 0);
	ck_assert_uint_eq(n, 0);
	ap_fill(&a, "fsap-0123456789abcdef0", "t");
	ck_assert_int_eq(m->ops->ap_insert(m, &a), 0);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), META_SCHEMA);
	reopen();
	ck_assert_int_eq(m->ops->ap_get(m, a.id, &got), 0);
	ap_same(&got, &a);
}
END_TEST

/* A read-only open of a schema-4 database reads it as it is, with no
 * access point, and leaves it at schema 4. */
START_TEST(test_schema_4_read_only)
{
	static struct fs_access_point got;
	uint64_t kept = inode_add(S_IFREG | 0644, 1), n = 9, seq = 0;
	struct meta_inode mi;
	char err[512] = "";
	int r;

	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "DROP TABLE access_point; DROP TABLE access_point_tag;"
		 "PRAGMA user_version = 4;");
	r = meta_open(db_url, META_RDONLY, &m, err, sizeof(err));
	ck_assert_msg(r == 0, "meta_open(read-only, schema 4) = %d: %s", r, err);
	ck_assert_int_eq(m->ops->inode_get(m, kept, &mi), 0);
	ck_assert_int_eq(m->ops->ap_count(m, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(m->ops->ap_next(m, 0, &got, &seq), -ENOENT);
	ck_assert_int_eq(m->ops->ap_get(m, "fsap-0123456789abcdef0", &got), -ENOENT);
	ck_assert_int_eq(m->ops->begin(m), -EROFS);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), 4);
	reopen();
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), META_SCHEMA);
	reopen();
}
END_TEST

/* Schema 5 -> 6 on open: inode.blocks comes, NULL (unknown: -1) in the old
 * rows; new inodes record 0, inode_set_blocks records a figure and -1
 * forgets it, inode_update leaves it.  A read-only open of schema 5 reads
 * it as it is, every figure unknown, and leaves it schema 5. */
START_TEST(test_migrate_schema_5)
{
	uint64_t old = inode_add(S_IFREG | 0644, 1), fresh;
	struct meta_inode got;
	char err[512] = "";
	int r;

	meta_close(m);
	m = NULL;
	tsql_exec(tmp_dir, "ALTER TABLE inode DROP COLUMN blocks; PRAGMA user_version = 5;");
	r = meta_open(db_url, META_RDONLY, &m, err, sizeof(err));
	ck_assert_msg(r == 0, "meta_open(read-only, schema 5) = %d: %s", r, err);
	ck_assert_int_eq(m->ops->inode_get(m, old, &got), 0);
	ck_assert_int_eq(got.blocks, -1);
	meta_close(m);
	m = NULL;
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), 5);

	reopen();
	ck_assert_int_eq(tsql_int(tmp_dir, "PRAGMA user_version"), META_SCHEMA);
	ck_assert_int_eq(m->ops->inode_get(m, old, &got), 0);
	ck_assert_int_eq(got.blocks, -1);
	ck_assert_uint_eq(got.mode, S_IFREG | 0644);
	fresh = inode_add(S_IFREG | 0644, 1);
	ck_assert_int_eq(m->ops->inode_get(m, fresh, &got), 0);
	ck_assert_int_eq(got.blocks, 0);
	ck_assert_int_eq(m->ops->inode_set_blocks(m, old, 24), 0);
	ck_assert_int_eq(m->ops->inode_get(m, old, &got), 0);
	ck_assert_int_eq(got.blocks, 24);
	got.uid = 7;
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->inode_update(m, &got), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	ck_assert_int_eq(m->ops->inode_get(m, old, &got), 0);
	ck_assert_int_eq(got.blocks, 24);
	ck_assert_uint_eq(got.uid, 7);
	ck_assert_int_eq(m->ops->inode_set_blocks(m, old, -1), 0);
	ck_assert_int_eq(m->ops->inode_get(m, old, &got), 0);
	ck_assert_int_eq(got.blocks, -1);
}
END_TEST


struct ieach {
	int n, stop_after;
	uint64_t ino[16];
};

static int ieach_cb(const struct meta_inode *in, void *arg)
{
	struct ieach *e = arg;

	ck_assert_int_lt(e->n, 16);
	e->ino[e->n++] = in->ino;
	ck_assert_uint_ne(in->mode, 0);
	return e->stop_after && e->n >= e->stop_after;
}

struct deach {
	int n;
	uint64_t parent[8], ino[8];
	char name[8][256];
};

static int deach_cb(uint64_t parent, const char *name, uint64_t ino, uint32_t type, void *arg)
{
	struct deach *e = arg;

	ck_assert_int_lt(e->n, 8);
	ck_assert_uint_eq(type, S_IFREG);
	e->parent[e->n] = parent;
	e->ino[e->n] = ino;
	snprintf(e->name[e->n], 256, "%s", name);
	e->n++;
	return 0;
}

START_TEST(test_each)
{
	uint64_t ino[5];
	struct ieach e;
	struct deach d;

	for (int i = 0; i < 5; i++)
		ino[i] = inode_add(S_IFREG | 0644, 1);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(m->ops->inode_each(m, 0, ieach_cb, &e), 0);
	ck_assert_int_eq(e.n, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(e.ino[i], ino[i]);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(m->ops->inode_each(m, ino[2], ieach_cb, &e), 0);
	ck_assert_int_eq(e.n, 2);
	ck_assert_uint_eq(e.ino[0], ino[3]);
	memset(&e, 0, sizeof(e));
	e.stop_after = 1;
	ck_assert_int_eq(m->ops->inode_each(m, 0, ieach_cb, &e), 1);
	ck_assert_int_eq(e.n, 1);

	ck_assert_int_eq(m->ops->dentry_insert(m, ino[0], "x", ino[1], S_IFREG), 0);
	ck_assert_int_eq(m->ops->dentry_insert(m, ino[0], "\xff", ino[2], S_IFREG), 0);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(m->ops->dentry_each(m, deach_cb, &d), 0);
	ck_assert_int_eq(d.n, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(d.parent[i], ino[0]);
		ck_assert(strcmp(d.name[i], "x") == 0 || strcmp(d.name[i], "\xff") == 0);
	}
}
END_TEST

START_TEST(test_rollback_commit)
{
	struct meta_inode in = inode_make(S_IFREG | 0644, 1), got;
	uint64_t keep, ino;
	char buf[16];

	keep = inode_add(S_IFDIR | 0755, 2);
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->inode_insert(m, &in, NULL, 0), 0);
	ck_assert_int_eq(m->ops->dentry_insert(m, keep, "f", in.ino, S_IFREG), 0);
	ck_assert_int_eq(m->ops->set_kv(m, "k", "v"), 0);
	ck_assert_int_eq(m->ops->xattr_set(m, keep, "user.x", "1", 1, 0), 0);
	ck_assert_int_eq(m->ops->inode_delete(m, keep), 0);
	/* visible inside the transaction */
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), 0);
	m->ops->rollback(m);
	ck_assert_int_eq(m->ops->inode_get(m, in.ino, &got), -ENOENT);
	ck_assert_int_eq(m->ops->lookup(m, keep, "f", &ino), -ENOENT);
	ck_assert_int_eq(m->ops->get_kv(m, "k", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(m->ops->xattr_get(m, keep, "user.x", buf, sizeof(buf), &(size_t){ 0 }),
			 -ENODATA);
	ck_assert_int_eq(m->ops->inode_get(m, keep, &got), 0);
	/* rollback outside a transaction is harmless */
	m->ops->rollback(m);
	/* a nested begin fails, the outer transaction goes on */
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_lt(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->set_kv(m, "k", "v2"), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	ck_assert_int_eq(m->ops->sync(m), 0);
	ck_assert_int_eq(m->ops->checkpoint(m), 0);
	reopen();
	ck_assert_int_eq(m->ops->get_kv(m, "k", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "v2");
	ck_assert_int_eq(m->ops->commit(m), -EIO);     /* no transaction */
}
END_TEST

/* With group commit, a group is committed once its estimated size reaches
 * 2 MiB, however young it is, so that it fits the reserve. */
START_TEST(test_group_bytes)
{
	uint64_t ino = inode_add(S_IFREG | 0644, 1);
	char *val = calloc(1, 65536), name[32];
	int committed_at = -1;

	ck_assert_ptr_nonnull(val);
	/* the window alone would wait a minute; pending() is 0 once the group
	 * is committed.  The lock, as the engine's committer thread runs. */
	ck_assert_int_eq(m->ops->set_group(m, 60 * 1000000000LL), 0);
	m->ops->lock(m);
	ck_assert_uint_eq(m->ops->pending(m), 0);
	for (int i = 0; i < 100 && committed_at < 0; i++) {
		snprintf(name, sizeof(name), "user.v%d", i);
		ck_assert_int_eq(m->ops->begin(m), 0);
		ck_assert_int_eq(m->ops->xattr_set(m, ino, name, val, 65536, 0), 0);
		ck_assert_uint_ge(m->ops->pending(m), 65536);
		ck_assert_int_eq(m->ops->commit(m), 0);
		if (m->ops->pending(m) == 0)
			committed_at = i;
	}
	ck_assert_msg(committed_at >= 16 && committed_at < 40,
		      "a group of 64 KiB values committed after %d of them", committed_at + 1);
	ck_assert_uint_eq(m->ops->pending(m), 0);
	/* writes outside meta_begin (a file's new size) join the group, and
	 * count as operations of their own: one page each */
	committed_at = -1;
	for (int i = 0; i < 1000 && committed_at < 0; i++) {
		struct timespec now = { 1000 + i, 0 };

		ck_assert_int_eq(m->ops->inode_set_size(m, ino, (uint64_t)i, &now, META_BLOCKS_KEEP), 0);
		if (m->ops->pending(m) == 0)
			committed_at = i;
	}
	ck_assert_msg(committed_at >= 400 && committed_at < 600,
		      "a group of size updates committed after %d of them", committed_at + 1);
	m->ops->unlock(m);
	ck_assert_int_eq(m->ops->set_group(m, 0), 0);
	free(val);
}
END_TEST

/* meta_txn: a body that meets a retryable conflict (-EAGAIN, as the engine
 * gives for SQLite busy) is run again, its effects list emptied before each
 * attempt; a conflict that lasts fails with -EBUSY after META_TXN_TRIES
 * attempts, committing nothing and leaving no effects; a positive return
 * rolls back and is 0. */
struct txn_arg {
	int conflicts;             /* attempts that end in -EAGAIN */
	int runs;
	uint64_t ino;
	struct meta_effects *fx;
};

static int txn_body(struct meta *mm, void *arg)
{
	struct txn_arg *a = arg;
	struct meta_inode in = inode_make(S_IFREG | 0600, 1);
	int r;

	a->runs++;
	r = meta_effect_add(a->fx, 7, (uint64_t)a->runs);
	if (r < 0)
		return r;
	r = mm->ops->inode_insert(mm, &in, NULL, 0);
	if (r < 0)
		return r;
	a->ino = in.ino;
	if (a->runs <= a->conflicts)
		return -EAGAIN;
	return 0;
}

static int txn_noop(struct meta *mm, void *arg)
{
	struct txn_arg *a = arg;
	struct meta_inode in = inode_make(S_IFREG | 0600, 1);

	a->runs++;
	ck_assert_int_eq(mm->ops->inode_insert(mm, &in, NULL, 0), 0);
	a->ino = in.ino;
	return 1;
}

static int count_one(const struct meta_inode *in, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int inode_count(void)
{
	int n = 0;

	ck_assert_int_eq(m->ops->inode_each(m, 0, count_one, &n), 0);
	return n;
}

START_TEST(test_txn_retry)
{
	int before = inode_count();
	struct meta_effects fx = { .n = 99 };
	struct txn_arg a = { .conflicts = 2, .fx = &fx };
	struct meta_inode got;

	ck_assert_int_eq(meta_txn_fx(m, txn_body, &a, &fx), 0);
	ck_assert_int_eq(a.runs, 3);
	ck_assert_uint_eq(fx.n, 1);                  /* the last attempt's only */
	ck_assert_int_eq(fx.e[0].what, 7);
	ck_assert_uint_eq(fx.e[0].ino, 3);
	ck_assert_int_eq(m->ops->inode_get(m, a.ino, &got), 0);
	/* the rolled-back attempts left no inode behind */
	ck_assert_int_eq(inode_count(), before + 1);

	a = (struct txn_arg){ .conflicts = 1000, .fx = &fx };
	ck_assert_int_eq(meta_txn_fx(m, txn_body, &a, &fx), -EBUSY);
	ck_assert_int_eq(a.runs, META_TXN_TRIES);
	ck_assert_uint_eq(fx.n, 0);
	ck_assert_int_eq(inode_count(), before + 1);

	a = (struct txn_arg){ .fx = &fx };
	ck_assert_int_eq(meta_txn(m, txn_noop, &a), 0);
	ck_assert_int_eq(a.runs, 1);
	ck_assert_int_eq(m->ops->inode_get(m, a.ino, &got), -ENOENT);
	ck_assert_int_eq(inode_count(), before + 1);

	/* the effects list is bounded */
	fx.n = 0;
	for (int i = 0; i < META_EFFECTS_MAX; i++)
		ck_assert_int_eq(meta_effect_add(&fx, 1, (uint64_t)i), 0);
	ck_assert_int_eq(meta_effect_add(&fx, 1, 99), -ENOBUFS);
}
END_TEST

/* The reserve is a file of allocated blocks beside the database, rounded up
 * to MiB, and a reopen finds what it holds. */
START_TEST(test_reserve_file)
{
	char path[4300];
	struct stat st;

	snprintf(path, sizeof(path), "%s-reserve", db_path);
	ck_assert_int_eq(m->ops->reserve_missing(m), 0);     /* none asked for */
	ck_assert_int_eq(m->ops->reserve(m, (3u << 20) + 1), 0);
	ck_assert_int_eq(m->ops->reserve_missing(m), 0);
	ck_assert_int_eq(m->ops->reserve_given(m), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 4 << 20);
	ck_assert_int_ge((long long)st.st_blocks * 512, 4 << 20);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	reopen();
	ck_assert_int_eq(m->ops->reserve(m, 2u << 20), 0);   /* smaller: cut to size */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 2 << 20);
	ck_assert_int_eq(m->ops->reserve_missing(m), 0);
}
END_TEST

START_TEST(test_integrity)
{
	char buf[256] = "untouched";

	inode_add(S_IFDIR | 0755, 2);
	ck_assert_int_eq(m->ops->integrity(m, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "untouched");
	ck_assert_ptr_nonnull(m->ops->errmsg(m));
}
END_TEST

/* ---- the read path (meta_read) ---- */

/* A read body: the lookup of dir/name (name NULL: none) and the inodes
 * dir and ino, counting its runs and noting whether the last ran on a
 * read connection (a struct meta other than m). */
struct read_arg {
	uint64_t dir, ino;
	const char *name;
	uint64_t found;
	struct meta_inode d, i;
	int runs, lookup_r;
	bool on_reader;
};

static int read_body(struct meta *mm, void *arg)
{
	struct read_arg *a = arg;
	int r = 0;

	a->runs++;
	a->on_reader = mm != m;
	a->found = 0;
	if (a->name)
		a->lookup_r = mm->ops->lookup(mm, a->dir, a->name, &a->found);
	if (a->dir)
		r = mm->ops->inode_get(mm, a->dir, &a->d);
	if (!r && a->ino)
		r = mm->ops->inode_get(mm, a->ino, &a->i);
	return r;
}

static void *hold_lock(void *arg)
{
	sem_t *sem = arg;

	m->ops->lock(m);
	sem_post(&sem[0]);
	sem_wait(&sem[1]);
	m->ops->unlock(m);
	return NULL;
}

/* Under group commit a read sees the operations of the open group (which
 * a read connection's snapshot lacks: they go to the writer), reads of
 * rows nobody changed since run on a read connection, also while another
 * thread holds the writer's lock, and once the group is committed a read
 * of the changed rows runs on a read connection again. */
START_TEST(test_read_after_write)
{
	uint64_t dir = inode_add(S_IFDIR | 0755, 2), other = inode_add(S_IFREG | 0644, 1);
	struct meta_inode f = inode_make(S_IFREG | 0600, 1), d;
	struct read_arg a = { .dir = dir, .name = "f" };
	pthread_t th;
	sem_t sem[2];

	ck_assert_int_eq(m->ops->set_group(m, 60 * 1000000000LL), 0);
	/* committed before: a read connection answers, the name is not there */
	ck_assert_int_eq(meta_read(m, read_body, &a), 0);
	ck_assert_int_eq(a.runs, 1);
	ck_assert(a.on_reader);
	ck_assert_int_eq(a.lookup_r, -ENOENT);

	/* a create in the open group, not committed: a minute's window */
	meta_lock(m);             /* as every caller: the committer thread runs */
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->inode_insert(m, &f, NULL, 0), 0);
	ck_assert_int_eq(m->ops->dentry_insert(m, dir, "f", f.ino, f.mode), 0);
	ck_assert_int_eq(m->ops->inode_get(m, dir, &d), 0);
	d.mtime = (struct timespec){ 1800000000, 5 };
	ck_assert_int_eq(m->ops->inode_update(m, &d), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	meta_unlock(m);
	ck_assert_uint_gt(m->ops->pending(m), 0);    /* still in the open group */

	a = (struct read_arg){ .dir = dir, .name = "f" };
	ck_assert_int_eq(meta_read(m, read_body, &a), 0);
	ck_assert_int_eq(a.lookup_r, 0);
	ck_assert_uint_eq(a.found, f.ino);
	ts_eq(a.d.mtime, d.mtime);
	ck_assert(!a.on_reader);                     /* answered by the writer */
	ck_assert_int_eq(a.runs, 2);                 /* after a read connection could not */
	a = (struct read_arg){ .ino = f.ino };
	ck_assert_int_eq(meta_read(m, read_body, &a), 0);
	ck_assert_uint_eq(a.i.mode, f.mode);

	/* a row nobody changed: a read connection, even while the writer's
	 * lock is held by another thread (a read waiting for it would hang
	 * this test) */
	ck_assert_int_eq(sem_init(&sem[0], 0, 0), 0);
	ck_assert_int_eq(sem_init(&sem[1], 0, 0), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, hold_lock, sem), 0);
	sem_wait(&sem[0]);
	a = (struct read_arg){ .ino = other };
	ck_assert_int_eq(meta_read(m, read_body, &a), 0);
	ck_assert_int_eq(a.runs, 1);
	ck_assert(a.on_reader);
	ck_assert_uint_eq(a.i.mode, S_IFREG | 0644);
	sem_post(&sem[1]);
	pthread_join(th, NULL);

	/* an unlink in the open group: the name is gone for every read */
	meta_lock(m);             /* as every caller: the committer thread runs */
	ck_assert_int_eq(m->ops->begin(m), 0);
	ck_assert_int_eq(m->ops->dentry_delete(m, dir, "f"), 0);
	ck_assert_int_eq(m->ops->commit(m), 0);
	meta_unlock(m);
	a = (struct read_arg){ .dir = dir, .name = "f" };
	ck_assert_int_eq(meta_read(m, read_body, &a), 0);
	ck_assert_int_eq(a.lookup_r, -ENOENT);

	/* committed: read connections answer for those rows again */
	m->ops->lock(m);
	ck_assert_int_eq(m->ops->flush(m), 0);
	m->ops->unlock(m);
	a = (struct read_arg){ .dir = dir, .name = "f", .ino = f.ino };
	ck_assert_int_eq(meta_read(m, read_body, &a), 0);
	ck_assert_int_eq(a.runs, 1);
	ck_assert(a.on_reader);
	ck_assert_int_eq(a.lookup_r, -ENOENT);
	ts_eq(a.d.mtime, d.mtime);
	ck_assert_uint_eq(a.i.ino, f.ino);
	ck_assert_int_eq(m->ops->set_group(m, 0), 0);
	sem_destroy(&sem[0]);
	sem_destroy(&sem[1]);
}
END_TEST

/* Without group commit too: every commit is seen by the next read. */
START_TEST(test_read_after_commit)
{
	uint64_t dir = inode_add(S_IFDIR | 0755, 2);
	char name[32];

	for (int i = 0; i < 50; i++) {
		struct meta_inode f = inode_make(S_IFREG | 0600, 1);
		struct read_arg a = { .dir = dir, .name = name };

		snprintf(name, sizeof(name), "f%d", i);
		ck_assert_int_eq(m->ops->begin(m), 0);
		ck_assert_int_eq(m->ops->inode_insert(m, &f, NULL, 0), 0);
		ck_assert_int_eq(m->ops->dentry_insert(m, dir, name, f.ino, f.mode), 0);
		ck_assert_int_eq(m->ops->commit(m), 0);
		ck_assert_int_eq(meta_read(m, read_body, &a), 0);
		ck_assert_int_eq(a.lookup_r, 0);
		ck_assert_uint_eq(a.found, f.ino);
		ck_assert(a.on_reader);      /* committed: a snapshot holds it */
	}
}
END_TEST


static Suite *meta_suite(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = tcase_create("meta");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_create_and_reopen);
	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_open_url);
	tcase_add_test(tc, test_create_existing);
	tcase_add_test(tc, test_schema_mismatch);
	tcase_add_test(tc, test_kv);
	tcase_add_test(tc, test_inode_crud);
	tcase_add_test(tc, test_inode_numbers_not_reused);
	tcase_add_test(tc, test_inode_timestamps);
	tcase_add_test(tc, test_symlink_target);
	tcase_add_test(tc, test_dentry_basic);
	tcase_add_test(tc, test_dentry_move_keeps_cookie);
	tcase_add_test(tc, test_dentry_raw_names);
	tcase_add_test(tc, test_readdir_order_bounds);
	tcase_add_test(tc, test_dir_empty_parent);
	tcase_add_test(tc, test_xattr);
	tcase_add_test(tc, test_xattr_list);
	tcase_add_test(tc, test_chunks);
	tcase_add_test(tc, test_migrate_schema_1);
	tcase_add_test(tc, test_inode_path);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_orphans);
	tcase_add_test(tc, test_session_rule);
	tcase_add_test(tc, test_session_orphans);
	tcase_add_test(tc, test_migrate_schema_2);
	tcase_add_test(tc, test_migrate_schema_3);
	tcase_add_test(tc, test_metric_history);
	tcase_add_test(tc, test_access_points);
	tcase_add_test(tc, test_migrate_schema_4);
	tcase_add_test(tc, test_schema_4_read_only);
	tcase_add_test(tc, test_migrate_schema_5);
	tcase_add_test(tc, test_schema_2_read_only);
	tcase_add_test(tc, test_each);
	tcase_add_test(tc, test_rollback_commit);
	tcase_add_test(tc, test_integrity);
	tcase_add_test(tc, test_read_after_write);
	tcase_add_test(tc, test_read_after_commit);
	tcase_add_test(tc, test_txn_retry);
	tcase_add_test(tc, test_group_bytes);
	tcase_add_test(tc, test_reserve_file);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(meta_suite);
