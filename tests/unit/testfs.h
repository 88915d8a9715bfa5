/* testfs.h - the helpers of the unit tests that work on a file system or a
 * metadata database (test_fs, test_lifecycle, test_meta): one to make and
 * open a file system from a config text, one read and one write through the
 * fs_* data path, and SQL on a meta.db with its own connection.  Each
 * ck_asserts what it does, so call them in a test or a fixture; they keep
 * no state. */
#ifndef EFSFS_TESTFS_H
#define EFSFS_TESTFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend/fs.h"
#include "common/conf.h"

/* Writes text, with each "@TMP@" replaced by dir, into out (len bytes). */
void tfs_expand(const char *text, const char *dir, char *out, size_t len);

/* Makes a fresh directory below test_dir into dir (dirlen bytes), writes
 * the config text (each "@TMP@" standing for that directory) to
 * dir/efsfs.conf, loads its section [t], runs fs_mkfs with ctx and
 * chunk_size (the fs- id into ret_id, FS_ID_LEN + 1 bytes, when not NULL)
 * and, when ret_fs is not NULL, opens it without a mountpoint into *ret_fs.
 * Returns the loaded config (conf_free it). */
struct conf *tfs_make(const char *text, const struct fs_ctx *ctx, uint64_t chunk_size,
		      char *dir, size_t dirlen, char *ret_id, struct fs **ret_fs);
/* tfs_opener(conf, mountpoint, 0, ...), which must succeed.  tfs_opener is
 * fs_open_flags (the core alone) unless a test sets it: test_lifecycle
 * opens with tier_fs_open (the tier layer over the chunk store). */
extern int (*tfs_opener)(const struct conf *conf, const char *mountpoint, unsigned flags,
			 struct fs **ret, char *err, size_t errlen);
struct fs *tfs_open(const struct conf *conf, const char *mountpoint);

/* Writes len bytes of buf at off through fs_write_begin/fs_write/fs_write_end.
 * Returns fs_write_begin's result; when it is 0 the whole range must be
 * written and fs_write_end succeed, and the offset actually written at
 * (O_APPEND) goes to *ret_at when ret_at is not NULL. */
int tfs_write(struct fs *fs, struct fs_file *f, off_t off, const void *buf, size_t len,
	      off_t *ret_at);
/* Reads up to len bytes at off through fs_read_begin's segments into buf.
 * Returns the byte count (the segments must fit len and add up to the
 * total), or fs_read_begin's negative errno. */
ssize_t tfs_read(struct fs *fs, struct fs_file *f, off_t off, void *buf, size_t len);

/* Runs sql (one or more statements) on dir/meta.db with a connection of its
 * own (the file system or meta handle should be closed). */
void tsql_exec(const char *dir, const char *sql);
/* The first column of the first row sql returns on dir/meta.db (there must be a row). */
int64_t tsql_int(const char *dir, const char *sql);

#endif
