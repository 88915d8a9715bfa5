/* testfs.c - file system, data path and SQL helpers of the unit tests (see
 * testfs.h). */
#include "tests/unit/testfs.h"
#include "tests/unit/testdir.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

void tfs_expand(const char *text, const char *dir, char *out, size_t len)
{
	size_t n = 0, dl = strlen(dir);

	ck_assert_uint_gt(len, 0);
	for (const char *p = text; *p;) {
		const char *piece = p;
		size_t pl = 1;

		if (strncmp(p, "@TMP@", 5) == 0) {
			piece = dir;
			pl = dl;
			p += 5;
		} else {
			p++;
		}
		ck_assert_msg(n + pl < len, "config text longer than %zu bytes", len);
		memcpy(out + n, piece, pl);
		n += pl;
	}
	out[n] = '\0';
}

struct conf *tfs_make(const char *text, const struct fs_ctx *ctx, uint64_t chunk_size,
		      char *dir, size_t dirlen, char *ret_id, struct fs **ret_fs)
{
	char path[4400], err[1024] = "", id[FS_ID_LEN + 1], *body;
	size_t bodylen = strlen(text) * 2 + 8192;
	struct conf *conf = NULL;
	FILE *fp;
	int r;

	testdir_sub("t", dir, dirlen);
	body = malloc(bodylen);
	ck_assert_ptr_nonnull(body);
	tfs_expand(text, dir, body, bodylen);
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/efsfs.conf", dir), (int)sizeof(path));
	fp = fopen(path, "w");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	fputs(body, fp);
	ck_assert_int_eq(fclose(fp), 0);
	free(body);
	r = conf_load(path, "t", &conf, err, sizeof(err));
	ck_assert_msg(r == 0, "conf_load = %d: %s", r, err);
	r = fs_mkfs(conf, ctx, chunk_size, id, err, sizeof(err));
	ck_assert_msg(r == 0, "fs_mkfs = %d: %s", r, err);
	if (ret_id)
		memcpy(ret_id, id, sizeof(id));
	if (ret_fs)
		*ret_fs = tfs_open(conf, NULL);
	return conf;
}

int (*tfs_opener)(const struct conf *conf, const char *mountpoint, unsigned flags,
		  struct fs **ret, char *err, size_t errlen) = fs_open_flags;

struct fs *tfs_open(const struct conf *conf, const char *mountpoint)
{
	char err[1024] = "";
	struct fs *fs = NULL;
	int r = tfs_opener(conf, mountpoint, 0, &fs, err, sizeof(err));

	ck_assert_msg(r == 0, "fs_open = %d: %s", r, err);
	ck_assert_ptr_nonnull(fs);
	return fs;
}

int tfs_write(struct fs *fs, struct fs_file *f, off_t off, const void *buf, size_t len,
	      off_t *ret_at)
{
	off_t at = -1;
	ssize_t n;
	int r;

	r = fs_write_begin(fs, f, off, len, &at);
	if (r)
		return r;
	n = fs_write(fs, f, at, &(struct fs_wsrc){ buf, -1 }, len);
	ck_assert_int_eq(fs_write_end(fs, f, at, len, n), 0);
	ck_assert_int_eq(n, (ssize_t)len);
	if (ret_at)
		*ret_at = at;
	return 0;
}

ssize_t tfs_read(struct fs *fs, struct fs_file *f, off_t off, void *buf, size_t len)
{
	struct fs_rvec rv;
	size_t done = 0;
	int r = fs_read_begin(fs, f, off, len, &rv);

	if (r < 0)
		return r;
	ck_assert_uint_le(rv.n, FS_RSEG_MAX);
	for (unsigned i = 0; i < rv.n; i++) {
		struct fs_rseg *s = &rv.seg[i];

		ck_assert_uint_le(done + s->len, len);
		if (s->mem) {
			memcpy((char *)buf + done, s->mem, s->len);
		} else {
			ssize_t n = pread(s->fd, (char *)buf + done, s->len, s->pos);

			ck_assert_int_eq(n, (ssize_t)s->len);
		}
		done += s->len;
	}
	ck_assert_uint_eq(done, rv.total);
	fs_read_end(fs, f, &rv);
	return (ssize_t)done;
}

static sqlite3 *tsql_open(const char *dir)
{
	char path[4400];
	sqlite3 *db = NULL;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/meta.db", dir), (int)sizeof(path));
	ck_assert_msg(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK,
		      "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
	return db;
}

void tsql_exec(const char *dir, const char *sql)
{
	sqlite3 *db = tsql_open(dir);
	char *msg = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
		      msg ? msg : "?");
	sqlite3_close(db);
}

int64_t tsql_int(const char *dir, const char *sql)
{
	sqlite3 *db = tsql_open(dir);
	sqlite3_stmt *s;
	int64_t v;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_msg(sqlite3_step(s) == SQLITE_ROW, "%s: no row", sql);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}
