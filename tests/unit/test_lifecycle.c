/* tests/unit/test_lifecycle.c - unit tests of the lifecycle engine (tier/)
 * driven through the backend: a temp config and file system with 64 KiB
 * chunks and the default file:// IA store, files written with
 * fs_create/fs_write_begin/fs_write_end, passes run with tier_run at a
 * chosen as_of, chunks moved with tier_demote/tier_promote and read back
 * with fs_read_begin/fs_read_end.  Covers the policies (IA after N days,
 * Archive later, the 128 KiB floor, holes, access times, AFTER_1_ACCESS),
 * writes and truncates of cold chunks, the per-class sizes, gc, store
 * faults (fault injection on the IA store), corrupt objects, encryption,
 * replayed objects, a file system from metadata schema 1 with format-1
 * objects, and a write racing a demotion. */
#include "tests/unit/testdir.h"
#include "tests/unit/testfs.h"
#include "store/codec.h"
#include "common/conf.h"
#include "backend/fs.h"
#include "backend/meta.h"
#include "store/objstore.h"
#include "store/objstore_i.h"
#include "tier/tier.h"
#include "tier/tier_i.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CS     (64u << 10)          /* chunk size of the test file systems */
#define DAY    86400

static char tmp_dir[4096];
static char conf_path[4200];
static char data_dir[4200];
static char objects_dir[4300];
static struct conf *conf;
static struct fs *fs;
static char conf_extra[8192];       /* the policy lines of the test's config, @TMP@ expanded */

/* ---- set-up ---------------------------------------------------------------- */

/* Writes the config (policy lines in extra, "\n"-separated) with chunks of cs
 * bytes (a multiple of 64 KiB), mkfs and opens it. */
static void env_open_sized(const char *extra, uint64_t cs)
{
	struct fs_ctx ctx = { getuid(), getgid() };
	char text[8400], id[FS_ID_LEN + 1];

	/* "@TMP@" in extra stands for the test's temp dir */
	ck_assert_int_lt(snprintf(text, sizeof(text), "[t]\ndata_dir = @TMP@/data\n"
				  "chunk_size = %" PRIu64 "K\n%s\n", cs >> 10, extra ? extra : ""),
			 (int)sizeof(text));
	tfs_opener = tier_fs_open;    /* every open here has the tier layer */
	conf = tfs_make(text, &ctx, cs, tmp_dir, sizeof(tmp_dir), id, &fs);
	snprintf(conf_path, sizeof(conf_path), "%s/efsfs.conf", tmp_dir);
	snprintf(data_dir, sizeof(data_dir), "%s/data", tmp_dir);
	snprintf(objects_dir, sizeof(objects_dir), "%s/objects", data_dir);
	tfs_expand(extra ? extra : "", tmp_dir, conf_extra, sizeof(conf_extra));
	ck_assert_str_eq(conf->data_dir, data_dir);
	ck_assert_str_eq(fs_id(fs), id);
	ck_assert_uint_eq(fs_chunk_size(fs), cs);
}

static void env_open(const char *extra)
{
	env_open_sized(extra, CS);
}

static void env_reopen(void)
{
	fs_close(fs);
	fs = NULL;
	fs = tfs_open(conf, NULL);
}

static void setup_default(void)
{
	env_open("transition_to_ia = AFTER_30_DAYS\ntransition_to_archive = AFTER_90_DAYS");
}

static void setup_promote(void)
{
	env_open("transition_to_ia = AFTER_30_DAYS\ntransition_to_archive = AFTER_90_DAYS\n"
		 "transition_to_primary_storage_class = AFTER_1_ACCESS");
}

static void setup_encrypted(void)
{
	env_open("encrypted = true");
}

static void teardown(void)
{
	fs_close(fs);
	fs = NULL;
	conf_free(conf);
	conf = NULL;
	if (tmp_dir[0])
		testdir_remove(tmp_dir);
	tmp_dir[0] = '\0';
}

/* ---- helpers --------------------------------------------------------------------- */

/* Deterministic bytes that zstd cannot compress (so objects hold them raw). */
static void *random_bytes(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
	return p;
}

static void write_at(uint64_t ino, uint64_t off, const void *buf, size_t len, int want)
{
	struct fs_file *f;
	int r;

	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &f), 0);
	r = tfs_write(fs, f, (off_t)off, buf, len, NULL);
	fs_release(fs, f);
	ck_assert_msg(r == want, "write of %zu bytes at %" PRIu64 " of inode %" PRIu64
		      " = %d, expected %d", len, off, ino, r, want);
}

/* Creates name in the root and writes len bytes of buf at off; returns the inode. */
static uint64_t create_file(const char *name, const void *buf, size_t len, uint64_t off)
{
	struct fs_ctx ctx = { getuid(), getgid() };
	struct fs_file *f;
	struct stat st;
	uint64_t ino;

	ck_assert_int_eq(fs_create(fs, &ctx, META_ROOT_INO, name, 0644, O_RDWR, &f, &st), 0);
	ino = st.st_ino;
	fs_release(fs, f);
	fs_forget(fs, ino, 1);            /* as the kernel would, eventually */
	if (len)
		write_at(ino, off, buf, len, 0);
	return ino;
}

/* Reads [off, off+len) through fs_read_begin into out; returns the byte
 * count or the negative errno of fs_read_begin. */
static ssize_t read_at(uint64_t ino, uint64_t off, size_t len, void *out)
{
	struct fs_file *f;
	ssize_t n;

	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
	n = tfs_read(fs, f, (off_t)off, out, len);
	fs_release(fs, f);
	return n;
}

/* The whole file must read back as want (len bytes). */
static void check_content(uint64_t ino, const void *want, size_t len)
{
	char *got = malloc(len + CS);
	ssize_t n;

	ck_assert_ptr_nonnull(got);
	n = read_at(ino, 0, len + CS, got);
	ck_assert_msg(n == (ssize_t)len, "inode %" PRIu64 ": read %zd bytes, expected %zu", ino,
		      n, len);
	if (memcmp(got, want, len) != 0) {
		size_t i = 0;

		while (got[i] == ((const char *)want)[i])
			i++;
		ck_abort_msg("inode %" PRIu64 ": byte %zu differs", ino, i);
	}
	free(got);
}

static struct meta_chunk chunk_row(uint64_t ino, uint64_t idx)
{
	struct meta_chunk c;

	ck_assert_int_eq(tier_chunk_row(fs, ino, idx, &c), 0);
	return c;
}

static int chunk_class(uint64_t ino, uint64_t idx)
{
	return chunk_row(ino, idx).class;
}

static void assert_classes(uint64_t ino, uint64_t n, int cls)
{
	for (uint64_t i = 0; i < n; i++)
		ck_assert_msg(chunk_class(ino, i) == cls, "inode %" PRIu64 " chunk %" PRIu64
			      ": class %d, expected %d", ino, i, chunk_class(ino, i), cls);
}

/* The access time recorded for a chunk after a flush. */
static int64_t chunk_atime(uint64_t ino, uint64_t idx)
{
	ck_assert_int_eq(tier_flush_access(fs), 0);
	return chunk_row(ino, idx).atime;
}

static int64_t count_sum;
static uint64_t count_n;

static int count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	/* chunk objects only: not temp files, not the store's claim (tier/owner.c) */
	if (flag == FTW_F && strncmp(path + ftw->base, ".objstore-tmp.", 14) != 0 &&
	    strcmp(path + ftw->base, "claim") != 0) {
		count_n++;
		count_sum += st->st_size;
	}
	return 0;
}

/* Chunk objects in the file:// store (files below DATA_DIR/objects). */
static uint64_t count_objects(void)
{
	count_n = 0;
	count_sum = 0;
	nftw(objects_dir, count_one, 16, FTW_PHYS);
	return count_n;
}

static uint64_t objects_bytes(void)
{
	count_objects();
	return (uint64_t)count_sum;
}

/* Path of the object a cold chunk names. */
static void object_path(uint64_t ino, uint64_t idx, char *buf, size_t len)
{
	struct meta_chunk c = chunk_row(ino, idx);
	char key[96];

	ck_assert_int_ne(c.class, META_STANDARD);
	tier_object_key(fs, ino, idx, c.version, key);
	snprintf(buf, len, "%s/%s", objects_dir, key);
}

static void *slurp(const char *path, size_t *ret_len)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*ret_len = (size_t)st.st_size;
	return buf;
}

/* Blocks the backing file of ino takes on the local disk. */
static uint64_t local_blocks(uint64_t ino)
{
	char rel[32], path[4400];
	struct stat st;

	chunk_local_path(ino, rel);
	snprintf(path, sizeof(path), "%s/data/%s", data_dir, rel);
	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks;
}

static struct tier_report run_at(int64_t as_of)
{
	struct tier_report rep;
	int r = tier_run(fs, as_of, &rep);

	ck_assert_msg(r == 0, "tier_run = %d", r);
	return rep;
}

static void truncate_to(uint64_t ino, uint64_t size, int want)
{
	struct stat attr, st;
	int r;

	memset(&attr, 0, sizeof(attr));
	attr.st_size = (off_t)size;
	r = fs_setattr(fs, ino, &attr, FS_SET_SIZE, &st);
	ck_assert_msg(r == want, "truncate inode %" PRIu64 " to %" PRIu64 " = %d, expected %d",
		      ino, size, r, want);
	if (!r)
		ck_assert_uint_eq((uint64_t)st.st_size, size);
}

/* A file of `size` random bytes whose chunks all went to IA. */
static uint64_t cold_file(const char *name, void **ret_buf, size_t size, uint64_t seed)
{
	void *buf = random_bytes(size, seed);
	uint64_t ino = create_file(name, buf, size, 0);
	uint64_t n = (size + CS - 1) / CS;
	char err[512];

	for (uint64_t i = 0; i < n; i++) {
		int r = tier_demote(fs, ino, i, META_IA, err, sizeof(err));

		ck_assert_msg(r == 0, "tier_demote chunk %" PRIu64 " = %d: %s", i, r, err);
	}
	assert_classes(ino, n, META_IA);
	*ret_buf = buf;
	return ino;
}

/* An O_APPEND write (no writeback cache: the daemon picks the offset) to a
 * file whose last chunk is cold brings back the chunk it writes to, at the
 * end of the file, not the one at the offset the kernel sent: otherwise the
 * bytes land in the punched local range of a chunk the map still calls
 * cold, and read back as zeros. */
START_TEST(test_append_to_cold_tail)
{
	static const char more[] = "APPENDED";
	size_t size = 3 * CS + 100;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 31);
	char *want = malloc(size + sizeof(more) - 1);
	struct fs_file *f;
	off_t at = -1;

	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(fs_open_file(fs, ino, O_WRONLY | O_APPEND, &f), 0);
	ck_assert_int_eq(tfs_write(fs, f, 0, more, sizeof(more) - 1, &at), 0);
	fs_release(fs, f);
	ck_assert_int_eq(at, (off_t)size);
	ck_assert_int_eq(chunk_class(ino, 3), META_STANDARD);
	memcpy(want, buf, size);
	memcpy(want + size, more, sizeof(more) - 1);
	check_content(ino, want, size + sizeof(more) - 1);
	env_reopen();
	check_content(ino, want, size + sizeof(more) - 1);
	free(want);
	free(buf);
}
END_TEST

/* ---- policies ---------------------------------------------------------------- */

START_TEST(test_ia_after_30_days_not_29)
{
	size_t size = 3 * CS + 100;
	void *buf = random_bytes(size, 1);
	uint64_t ino = create_file("f", buf, size, 0);
	int64_t at = chunk_atime(ino, 0);
	struct tier_report rep;

	ck_assert_int_ge(at, time(NULL) - 5);
	ck_assert_uint_gt(local_blocks(ino), 0);
	rep = run_at(at + 29 * DAY);
	ck_assert_uint_eq(rep.files_scanned, 1);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	rep = run_at(at + 30 * DAY - 1);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	assert_classes(ino, 4, META_STANDARD);
	ck_assert_uint_eq(count_objects(), 0);

	rep = run_at(at + 30 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 4);
	ck_assert_uint_eq(rep.bytes_to_ia, size);
	ck_assert_uint_eq(rep.chunks_to_archive, 0);
	ck_assert_uint_eq(rep.chunks_failed, 0);
	ck_assert_str_eq(rep.first_error, "");
	assert_classes(ino, 4, META_IA);
	ck_assert_uint_eq(count_objects(), 4);
	ck_assert_uint_eq(chunk_row(ino, 3).plain_len, 100);
	ck_assert_uint_le(local_blocks(ino) * 512, 4096);   /* punched out (but a tail block) */
	check_content(ino, buf, size);
	/* a second pass has nothing left to do */
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia + rep.chunks_failed, 0);
	ck_assert_uint_eq(count_objects(), 4);
	/* and it all survives a reopen */
	env_reopen();
	assert_classes(ino, 4, META_IA);
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

/* A file the kernel has open with passthrough can be written behind our
 * back: the lifecycle leaves it alone until it is closed, and a cold file
 * is never opened that way. */
static int pt_attach_ok(int fd, void *arg)
{
	(void)arg;
	(void)fd;
	return 7;
}

static void pt_detach_ok(int id, void *arg)
{
	(void)arg;
	ck_assert_int_eq(id, 7);
}

START_TEST(test_passthrough_open_file_stays)
{
	static const struct fs_passthrough ops = { pt_attach_ok, pt_detach_ok, NULL };
	size_t size = 2 * CS;
	void *buf = random_bytes(size, 9), *cbuf;
	uint64_t ino = create_file("f", buf, size, 0), cino;
	int64_t at = chunk_atime(ino, 0);
	struct fs_file *f;
	struct tier_report rep;
	char err[512];

	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &f), 0);
	ck_assert_int_eq(fs_file_passthrough(fs, f, &ops), 7);
	rep = run_at(at + 40 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	ck_assert_uint_eq(rep.chunks_failed, 0);
	ck_assert_int_eq(tier_demote(fs, ino, 0, META_IA, err, sizeof(err)), 1);
	assert_classes(ino, 2, META_STANDARD);
	fs_release(fs, f);
	/* closed: the next pass moves it */
	rep = run_at(at + 40 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 2);
	/* a file with cold chunks stays on the daemon path */
	cino = cold_file("c", &cbuf, size, 10);
	ck_assert_int_eq(fs_open_file(fs, cino, O_RDONLY, &f), 0);
	ck_assert_int_eq(fs_file_passthrough(fs, f, &ops), 0);
	fs_release(fs, f);
	check_content(ino, buf, size);
	check_content(cino, cbuf, size);
	free(buf);
	free(cbuf);
}
END_TEST

START_TEST(test_archive_after_90_days)
{
	size_t size = 2 * CS + 7;
	void *a = random_bytes(size, 2), *b = random_bytes(size, 3), *c = random_bytes(size, 26);
	uint64_t ia = create_file("a", a, size, 0), ib = create_file("b", b, size, 0), ic;
	int64_t at = chunk_atime(ia, 0);
	struct tier_report rep;
	char err[1024] = "";
	struct conf *bad = NULL;
	uint64_t gone = 99;
	FILE *f;

	ck_assert_int_le(chunk_atime(ib, 0), at + 1);
	/* IA at 89 days */
	rep = run_at(at + 89 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 6);
	ck_assert_uint_eq(rep.chunks_to_archive, 0);
	ck_assert_uint_eq(count_objects(), 6);
	/* b is read at 60 days; at 91 days a goes to Archive (its IA objects are
	 * replaced), b stays in IA */
	tier_note_access(fs, ib, 0, 2, at + 60 * DAY);
	rep = run_at(at + 91 * DAY);
	ck_assert_uint_eq(rep.chunks_to_archive, 3);
	ck_assert_uint_eq(rep.bytes_to_archive, size);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	ck_assert_uint_eq(rep.chunks_failed, 0);
	assert_classes(ia, 3, META_ARCHIVE);
	assert_classes(ib, 3, META_IA);
	ck_assert_uint_eq(count_objects(), 6);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);
	check_content(ia, a, size);
	check_content(ib, b, size);

	/* a new file goes to Archive directly once 90 days have passed */
	ic = create_file("c", c, size, 0);
	at = chunk_atime(ic, 0);
	rep = run_at(at + 90 * DAY - 1);
	ck_assert_uint_eq(rep.chunks_to_ia, 3);
	ck_assert_uint_eq(tier_promote(fs, ic, 0) + tier_promote(fs, ic, 1) +
			  tier_promote(fs, ic, 2), 0);
	rep = run_at(at + 90 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	ck_assert_uint_eq(rep.chunks_to_archive, 3);
	assert_classes(ic, 3, META_ARCHIVE);
	ck_assert_uint_eq(count_objects(), 9);
	check_content(ic, c, size);

	/* Archive must come after IA */
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[t]\ndata_dir = %s\ntransition_to_ia = AFTER_90_DAYS\n"
		"transition_to_archive = AFTER_90_DAYS\n", data_dir);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(conf_load(conf_path, "t", &bad, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(bad);
	ck_assert_ptr_nonnull(strstr(err, "transition_to_archive"));
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_small_files_never_move)
{
	void *buf = random_bytes(TIER_MIN_FILE_SIZE, 4);
	uint64_t small = create_file("small", buf, TIER_MIN_FILE_SIZE - 1, 0);
	uint64_t tiny = create_file("tiny", buf, 1, 0);
	uint64_t empty = create_file("empty", NULL, 0, 0);
	uint64_t edge = create_file("edge", buf, TIER_MIN_FILE_SIZE, 0);
	int64_t at = chunk_atime(small, 0);
	struct tier_report rep;

	rep = run_at(at + 400 * DAY);
	ck_assert_uint_eq(rep.files_scanned, 4);
	ck_assert_uint_eq(rep.chunks_failed, 0);
	/* only the file of exactly 128 KiB moved: its two chunks */
	ck_assert_uint_eq(rep.chunks_to_archive, 2);
	ck_assert_uint_eq(rep.bytes_to_archive, TIER_MIN_FILE_SIZE);
	assert_classes(small, 2, META_STANDARD);
	assert_classes(tiny, 1, META_STANDARD);
	assert_classes(empty, 1, META_STANDARD);
	assert_classes(edge, 2, META_ARCHIVE);
	ck_assert_uint_eq(count_objects(), 2);
	check_content(small, buf, TIER_MIN_FILE_SIZE - 1);
	check_content(edge, buf, TIER_MIN_FILE_SIZE);
	free(buf);
}
END_TEST

START_TEST(test_holes_not_stored)
{
	size_t size = 5 * CS;
	char *want = calloc(1, size), *got = malloc(size);
	void *data = random_bytes(CS, 5);
	uint64_t ino = create_file("sparse", data, 1000, 0);
	char err[512];
	struct tier_report rep;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	memcpy(want, data, 1000);
	write_at(ino, 3 * CS, data, CS, 0);          /* chunks 1, 2 and 4 are holes */
	memcpy(want + 3 * CS, data, CS);
	truncate_to(ino, size, 0);
	ck_assert_int_eq(tier_demote(fs, ino, 1, META_IA, err, sizeof(err)), 1);
	ck_assert_int_eq(tier_demote(fs, ino, 7, META_IA, err, sizeof(err)), 1);   /* past EOF */
	ck_assert_uint_eq(count_objects(), 0);
	rep = run_at(chunk_atime(ino, 0) + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 2);
	ck_assert_uint_eq(rep.bytes_to_ia, 2 * CS);
	ck_assert_uint_eq(rep.chunks_failed, 0);
	ck_assert_int_eq(chunk_class(ino, 0), META_IA);
	ck_assert_int_eq(chunk_class(ino, 1), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 2), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 3), META_IA);
	ck_assert_int_eq(chunk_class(ino, 4), META_STANDARD);
	ck_assert_uint_eq(count_objects(), 2);
	ck_assert_uint_eq(local_blocks(ino), 0);
	check_content(ino, want, size);
	/* a hole inside a cold chunk is data (zeros) to SEEK_HOLE, holes outside stay holes */
	{
		struct fs_file *f;

		ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
		ck_assert_int_eq(fs_lseek(fs, f, 0, SEEK_DATA), 0);
		ck_assert_int_eq(fs_lseek(fs, f, 0, SEEK_HOLE), CS);
		ck_assert_int_eq(fs_lseek(fs, f, CS, SEEK_DATA), 3 * CS);
		fs_release(fs, f);
	}
	/* promotion brings back the data and the zeros of the chunk */
	ck_assert_int_eq(tier_promote(fs, ino, 0), 0);
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);
	ck_assert_uint_eq(count_objects(), 1);
	check_content(ino, want, size);
	free(want);
	free(got);
	free(data);
}
END_TEST

START_TEST(test_accessed_chunk_stays)
{
	size_t size = 2 * CS;
	void *a = random_bytes(size, 6), *b = random_bytes(size, 7);
	uint64_t ia = create_file("a", a, size, 0), ib = create_file("b", b, size, 0);
	int64_t at = chunk_atime(ia, 0);
	struct tier_report rep;

	/* a is read 20 days later (noted in memory, flushed by the pass) */
	tier_note_access(fs, ia, 0, 1, at + 20 * DAY);
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 2);
	assert_classes(ib, 2, META_IA);
	assert_classes(ia, 2, META_STANDARD);
	ck_assert_int_eq(chunk_row(ia, 0).atime, at + 20 * DAY);
	/* only one chunk of a read later still: the other goes at 50 days */
	tier_note_access(fs, ia, 1, 1, at + 40 * DAY);
	rep = run_at(at + 50 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 1);
	ck_assert_int_eq(chunk_class(ia, 0), META_IA);
	ck_assert_int_eq(chunk_class(ia, 1), META_STANDARD);
	rep = run_at(at + 70 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 1);
	assert_classes(ia, 2, META_IA);
	check_content(ia, a, size);
	check_content(ib, b, size);
	free(a);
	free(b);
}
END_TEST

/* Every chunk a read touches counts as accessed, also when a program reads
 * a file in several requests within one second (as the kernel does: 128 KiB
 * at a time through one open file). */
START_TEST(test_read_notes_every_chunk)
{
	size_t size = 4 * CS;
	void *buf = random_bytes(size, 8);
	uint64_t ino = create_file("f", buf, size, 0);
	int64_t old, before;
	struct tier_report rep;
	struct fs_file *f;

	/* make the file 40 days old: its chunk rows */
	old = chunk_atime(ino, 0) - 40 * DAY;
	fs_meta_lock(fs);
	for (uint64_t i = 0; i < 4; i++) {
		struct meta_chunk c = { .ino = ino, .idx = i, .class = META_STANDARD, .atime = old };

		ck_assert_int_eq(meta_chunk_put(fs_meta(fs), &c), 0);
	}
	fs_meta_unlock(fs);
	ck_assert_int_eq(chunk_atime(ino, 3), old);
	before = time(NULL);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
	for (uint64_t i = 0; i < 4; i++) {
		struct fs_rvec rv;

		ck_assert_int_eq(fs_read_begin(fs, f, (off_t)(i * CS), CS, &rv), 0);
		ck_assert_uint_eq(rv.total, CS);
		fs_read_end(fs, f, &rv);
	}
	fs_release(fs, f);
	for (uint64_t i = 0; i < 4; i++)
		ck_assert_msg(chunk_atime(ino, i) >= before, "chunk %" PRIu64 " was read but its "
			      "access time stayed %" PRId64 " (read at %" PRId64 ")", i,
			      chunk_atime(ino, i), before);
	rep = run_at(before + 10 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	free(buf);
}
END_TEST

/* Likewise for writes: a cold chunk that a write brings back is hot, even
 * when the same handle wrote another chunk in the same second. */
START_TEST(test_write_notes_every_chunk)
{
	size_t size = 4 * CS;
	char *buf;
	uint64_t ino = cold_file("f", (void **)&buf, size, 27);
	int64_t old = chunk_atime(ino, 0) - 40 * DAY, before;
	struct tier_report rep;
	struct fs_file *f;

	fs_meta_lock(fs);
	for (uint64_t i = 0; i < 4; i++) {
		struct meta_chunk c;

		ck_assert_int_eq(meta_chunk_get(fs_meta(fs), ino, i, &c), 0);
		c.atime = old;
		ck_assert_int_eq(meta_chunk_put(fs_meta(fs), &c), 0);
	}
	fs_meta_unlock(fs);
	before = time(NULL);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDWR, &f), 0);
	for (uint64_t i = 0; i < 4; i += 2) {
		off_t woff;

		ck_assert_int_eq(fs_write_begin(fs, f, (off_t)(i * CS + 1), 3, &woff), 0);
		ck_assert_int_eq(fs_write(fs, f, woff, &(struct fs_wsrc){ "new", -1 }, 3), 3);
		ck_assert_int_eq(fs_write_end(fs, f, woff, 3, 3), 0);
		memcpy(buf + i * CS + 1, "new", 3);
	}
	fs_release(fs, f);
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 2), META_STANDARD);
	ck_assert_msg(chunk_atime(ino, 2) >= before, "chunk 2 was written but its access time "
		      "stayed %" PRId64 " (written at %" PRId64 ")", chunk_atime(ino, 2), before);
	rep = run_at(before + DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

/* ---- promotion, writes and truncates of cold chunks ------------------------------ */

START_TEST(test_after_1_access_promotes_on_read)
{
	size_t size = 4 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 9);
	char *got = malloc(size);
	struct tier_stats st;

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(tier_stats(fs, &st), 0);
	ck_assert_uint_eq(st.ia, size);
	ck_assert_uint_eq(count_objects(), 4);
	/* a small read inside chunk 1 brings chunk 1 back, and only it */
	ck_assert_int_eq(read_at(ino, CS + 10, 100, got), 100);
	ck_assert_int_eq(memcmp(got, (char *)buf + CS + 10, 100), 0);
	ck_assert_int_eq(chunk_class(ino, 0), META_IA);
	ck_assert_int_eq(chunk_class(ino, 1), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 2), META_IA);
	ck_assert_uint_eq(count_objects(), 3);
	ck_assert_int_eq(tier_stats(fs, &st), 0);
	ck_assert_uint_eq(st.ia, size - CS);
	ck_assert_uint_eq(st.ia_chunks, 3);
	ck_assert_uint_ge(local_blocks(ino) * 512, CS);
	/* reading everything brings everything back */
	check_content(ino, buf, size);
	assert_classes(ino, 4, META_STANDARD);
	ck_assert_uint_eq(count_objects(), 0);
	ck_assert_int_eq(tier_stats(fs, &st), 0);
	ck_assert_uint_eq(st.ia, 0);
	ck_assert_uint_eq(st.standard, size);
	env_reopen();
	check_content(ino, buf, size);
	free(got);
	free(buf);
}
END_TEST

static void spit(const char *path, const void *buf, size_t len);

/* A small read of a cold chunk in format 3 GETs a range: the header and index
 * once (then cached), and the frames it needs, not the chunk; a damaged frame
 * is EIO for the reads that need it; promotion still fetches the whole object;
 * a format-2 object is still read (whole).  Frames of 4 KiB in 64 KiB chunks
 * stand for 64 KiB frames in 4 MiB chunks. */
START_TEST(test_cold_read_by_range)
{
	size_t size = 4 * CS, olen;
	struct objstore *s = tier_store(fs, META_IA);
	char *got = malloc(CS), path[4500];
	uint64_t ino, before, one, two;
	uint8_t *obj;
	void *buf;

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(codec_set_format(tier_of(fs)->codec, 3, 4096), 0);
	ino = cold_file("ranged", &buf, size, 61);
	env_reopen();                      /* nothing cached */
	s = tier_store(fs, META_IA);
	before = objstore_bytes_got(s);
	ck_assert_int_eq(read_at(ino, CS + 5000, 4096, got), 4096);      /* frames 1 and 2 */
	ck_assert_int_eq(memcmp(got, (char *)buf + CS + 5000, 4096), 0);
	one = objstore_bytes_got(s) - before;
	ck_assert_msg(one <= CODEC_PREFIX_GUESS + 2 * 4096 + 64, "first read fetched %" PRIu64, one);
	ck_assert_msg(one < CS / 4, "first read fetched %" PRIu64, one);
	before = objstore_bytes_got(s);
	ck_assert_int_eq(read_at(ino, CS + 9 * 4096, 4096, got), 4096);  /* index cached */
	ck_assert_int_eq(memcmp(got, (char *)buf + CS + 9 * 4096, 4096), 0);
	two = objstore_bytes_got(s) - before;
	ck_assert_msg(two <= 4096 + 64, "second read fetched %" PRIu64, two);
	/* a read that goes on where the last one ended: sequential, the chunk is
	 * fetched whole and cached, and the next reads of it fetch nothing */
	before = objstore_bytes_got(s);
	ck_assert_int_eq(read_at(ino, CS + 10 * 4096, 8192, got), 8192);
	ck_assert_int_eq(memcmp(got, (char *)buf + CS + 10 * 4096, 8192), 0);
	ck_assert_uint_ge(objstore_bytes_got(s) - before, CS);
	before = objstore_bytes_got(s);
	ck_assert_int_eq(read_at(ino, CS + 12 * 4096, 4096, got), 4096);
	ck_assert_int_eq(memcmp(got, (char *)buf + CS + 12 * 4096, 4096), 0);
	ck_assert_int_eq(read_at(ino, CS, 100, got), 100);
	ck_assert_int_eq(memcmp(got, (char *)buf + CS, 100), 0);
	ck_assert_uint_eq(objstore_bytes_got(s) - before, 0);
	ck_assert_int_eq(read_at(ino, 3 * CS - 10, 20, got), 20);        /* across chunks */
	ck_assert_int_eq(memcmp(got, (char *)buf + 3 * CS - 10, 20), 0);
	assert_classes(ino, 4, META_IA);

	/* a byte of frame 5 of chunk 2 changed: reads of it fail, others do not */
	object_path(ino, 2, path, sizeof(path));
	obj = slurp(path, &olen);
	ck_assert_uint_gt(olen, 5 * 4096 + 4096);
	obj[olen - 11 * 4096 + 7] ^= 0x40;        /* raw random frames: 16 frames of 4096 */
	spit(path, obj, olen);
	free(obj);
	env_reopen();
	ck_assert_int_eq(read_at(ino, 2 * CS + 5 * 4096 + 7, 1, got), -EIO);
	ck_assert_int_eq(read_at(ino, 2 * CS + 4096, 4096, got), 4096);
	ck_assert_int_eq(memcmp(got, (char *)buf + 2 * CS + 4096, 4096), 0);
	/* a read from the chunk's start fetches it whole (the start of a sequential
	 * run, as readahead does): the damage is seen there too */
	ck_assert_int_eq(read_at(ino, 2 * CS, 100, got), -EIO);

	/* promotion (a write) fetches the whole object */
	s = tier_store(fs, META_IA);
	before = objstore_bytes_got(s);
	write_at(ino, 1, "x", 1, 0);
	((char *)buf)[1] = 'x';
	ck_assert_uint_ge(objstore_bytes_got(s) - before, CS);
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);

	/* a format-2 object is read whole */
	ck_assert_int_eq(codec_set_format(tier_of(fs)->codec, 2, 0), 0);
	{
		char err[512];

		ck_assert_int_eq(tier_demote(fs, ino, 0, META_IA, err, sizeof(err)), 0);
	}
	env_reopen();
	s = tier_store(fs, META_IA);
	before = objstore_bytes_got(s);
	ck_assert_int_eq(read_at(ino, 100, 10, got), 10);
	ck_assert_int_eq(memcmp(got, (char *)buf + 100, 10), 0);
	ck_assert_uint_ge(objstore_bytes_got(s) - before, CS);
	free(got);
	free(buf);
}
END_TEST

static void teardown(void);

/* With the default 4 MiB chunks and 64 KiB frames, each cold random 4 KiB read
 * fetches well under 1 MiB (the whole chunk before format 3), and returns the
 * right bytes. */
START_TEST(test_cold_random_reads_fetch_little)
{
	const uint64_t big = 4u << 20;
	size_t size = 2 * big;
	struct objstore *s;
	uint64_t ino, x = 12345, total = 0;
	char err[512], got[4096];
	void *buf;

	teardown();
	env_open_sized("transition_to_ia = AFTER_30_DAYS", big);
	buf = random_bytes(size, 71);
	ino = create_file("big", buf, size, 0);
	for (uint64_t i = 0; i < 2; i++)
		ck_assert_int_eq(tier_demote(fs, ino, i, META_IA, err, sizeof(err)), 0);
	env_reopen();
	s = tier_store(fs, META_IA);
	for (int i = 0; i < 20; i++) {
		uint64_t off, before = objstore_bytes_got(s), one;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = (x % (size / 4096)) * 4096;
		ck_assert_int_eq(read_at(ino, off, 4096, got), 4096);
		ck_assert_int_eq(memcmp(got, (char *)buf + off, 4096), 0);
		one = objstore_bytes_got(s) - before;
		ck_assert_msg(one < (1u << 20), "read at %" PRIu64 " fetched %" PRIu64, off, one);
		ck_assert_msg(one <= CODEC_PREFIX_GUESS + CODEC_FRAME_DEFAULT + 64,
			      "read at %" PRIu64 " fetched %" PRIu64, off, one);
		total += one;
	}
	ck_assert_msg(total < (2u << 20), "20 reads fetched %" PRIu64, total);
	assert_classes(ino, 2, META_IA);
	free(buf);
}
END_TEST

START_TEST(test_read_without_promotion_serves_cold_data)
{
	size_t size = 3 * CS + 5;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 10);
	char *got = malloc(size);

	ck_assert_ptr_nonnull(got);
	check_content(ino, buf, size);
	ck_assert_int_eq(read_at(ino, CS - 3, 10, got), 10);          /* across two chunks */
	ck_assert_int_eq(memcmp(got, (char *)buf + CS - 3, 10), 0);
	ck_assert_int_eq(read_at(ino, size - 2, 100, got), 2);        /* short at EOF */
	ck_assert_int_eq(memcmp(got, (char *)buf + size - 2, 2), 0);
	assert_classes(ino, 4, META_IA);
	ck_assert_uint_eq(count_objects(), 4);
	ck_assert_uint_le(local_blocks(ino) * 512, 4096);
	/* explicit promotion of one chunk, and of one that is already local */
	ck_assert_int_eq(tier_promote(fs, ino, 2), 0);
	ck_assert_int_eq(chunk_class(ino, 2), META_STANDARD);
	ck_assert_int_eq(tier_promote(fs, ino, 2), 0);
	ck_assert_uint_eq(count_objects(), 3);
	check_content(ino, buf, size);
	free(got);
	free(buf);
}
END_TEST

START_TEST(test_write_to_cold_chunk_promotes_it)
{
	size_t size = 4 * CS + 300;
	char *buf;
	uint64_t ino = cold_file("f", (void **)&buf, size, 11);
	const char patch[] = "0123456789";

	write_at(ino, CS + 100, patch, 10, 0);
	memcpy(buf + CS + 100, patch, 10);
	ck_assert_int_eq(chunk_class(ino, 0), META_IA);
	ck_assert_int_eq(chunk_class(ino, 1), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 2), META_IA);
	ck_assert_uint_eq(count_objects(), 4);
	check_content(ino, buf, size);
	/* a write across a chunk boundary brings both back */
	write_at(ino, 3 * CS - 5, patch, 10, 0);
	memcpy(buf + 3 * CS - 5, patch, 10);
	ck_assert_int_eq(chunk_class(ino, 2), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 3), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 4), META_IA);
	/* appending to a cold partial last chunk keeps its old bytes */
	buf = realloc(buf, size + 10);
	ck_assert_ptr_nonnull(buf);
	write_at(ino, size, patch, 10, 0);
	memcpy(buf + size, patch, 10);
	size += 10;
	ck_assert_int_eq(chunk_class(ino, 4), META_STANDARD);
	ck_assert_uint_eq(count_objects(), 1);
	check_content(ino, buf, size);
	env_reopen();
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

START_TEST(test_truncate_cold_file)
{
	size_t size = 4 * CS + 500;
	char *buf, *zeros = calloc(1, 2 * CS), *got = malloc(2 * CS);
	uint64_t ino = cold_file("f", (void **)&buf, size, 12), gone = 0;
	struct tier_stats st;
	char err[512];

	ck_assert_ptr_nonnull(zeros);
	ck_assert_ptr_nonnull(got);
	truncate_to(ino, CS + CS / 2, 0);
	ck_assert_int_eq(chunk_class(ino, 0), META_IA);
	ck_assert_int_eq(chunk_class(ino, 1), META_STANDARD);   /* kept a partial tail */
	ck_assert_int_eq(chunk_class(ino, 2), META_STANDARD);   /* rows past EOF are gone */
	ck_assert_int_eq(tier_stats(fs, &st), 0);
	ck_assert_uint_eq(st.ia, CS);
	ck_assert_uint_eq(st.ia_chunks, 1);
	ck_assert_uint_eq(st.total, CS + CS / 2);
	check_content(ino, buf, CS + CS / 2);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 3);
	ck_assert_uint_eq(count_objects(), 1);
	/* growing it again shows zeros, never the old bytes */
	truncate_to(ino, 3 * CS, 0);
	ck_assert_int_eq(read_at(ino, CS + CS / 2, 2 * CS, got), CS + CS / 2);
	ck_assert_int_eq(memcmp(got, zeros, CS + CS / 2), 0);
	ck_assert_int_eq(read_at(ino, 0, CS + CS / 2, got), CS + CS / 2);
	ck_assert_int_eq(memcmp(got, buf, CS + CS / 2), 0);
	/* to zero: nothing cold is left */
	truncate_to(ino, 0, 0);
	ck_assert_int_eq(tier_stats(fs, &st), 0);
	ck_assert_uint_eq(st.ia, 0);
	ck_assert_uint_eq(st.ia_chunks, 0);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_le(gone, 1);
	ck_assert_uint_eq(count_objects(), 0);
	ck_assert_int_eq(read_at(ino, 0, CS, got), 0);
	free(zeros);
	free(got);
	free(buf);
}
END_TEST

/* Cutting a cold file at a chunk boundary needs no object: it works with
 * the store down. */
START_TEST(test_truncate_at_chunk_boundary_store_down)
{
	size_t size = 4 * CS;
	char *buf;
	uint64_t ino = cold_file("f", (void **)&buf, size, 13);

	tier_inject_fault(fs, META_IA, "get", 1, EIO, true);
	truncate_to(ino, 2 * CS, 0);
	truncate_to(ino, 0, 0);
	tier_inject_fault(fs, META_IA, "get", 0, 0, false);
	ck_assert_int_eq(read_at(ino, 0, CS, buf), 0);
	free(buf);
}
END_TEST

/* ---- sizes and garbage collection ------------------------------------------------ */

START_TEST(test_stats_add_up)
{
	size_t sa = 3 * CS + 11, sb = 2 * CS + 1, sc = 5000, sd = 2 * CS;
	void *a = random_bytes(sa, 14), *b = random_bytes(sb, 15), *c = random_bytes(sc, 16);
	uint64_t ia = create_file("a", a, sa, 0), ib = create_file("b", b, sb, 0);
	uint64_t id = create_file("d", a, sd, 0);
	struct tier_stats st;
	char err[512];
	int64_t at;

	create_file("c", c, sc, 0);
	at = chunk_atime(ia, 0);
	ck_assert_int_eq(tier_stats(fs, &st), 0);
	ck_assert_uint_eq(st.files, 5);               /* the root directory counts */
	ck_assert_uint_eq(st.standard, sa + sb + sc + sd);
	ck_assert_uint_eq(st.total, st.standard);
	ck_assert_uint_eq(st.ia + st.archive + st.ia_chunks + st.archive_chunks, 0);

	/* a to Archive, b to IA, d half to IA */
	run_at(at + 95 * DAY);
	for (uint64_t i = 0; i < 3; i++)
		ck_assert_int_eq(tier_promote(fs, ib, i), 0);
	for (uint64_t i = 0; i < 3; i++)
		ck_assert_int_eq(tier_demote(fs, ib, i, META_IA, err, sizeof(err)), 0);
	ck_assert_int_eq(tier_promote(fs, id, 1), 0);
	ck_assert_int_eq(tier_promote(fs, id, 0), 0);
	ck_assert_int_eq(tier_demote(fs, id, 1, META_IA, err, sizeof(err)), 0);
	assert_classes(ia, 4, META_ARCHIVE);
	assert_classes(ib, 3, META_IA);
	ck_assert_int_eq(chunk_class(id, 0), META_STANDARD);
	ck_assert_int_eq(chunk_class(id, 1), META_IA);

	ck_assert_int_eq(tier_stats(fs, &st), 0);
	ck_assert_uint_eq(st.archive, sa);
	ck_assert_uint_eq(st.archive_chunks, 4);
	ck_assert_uint_eq(st.ia, sb + CS);
	ck_assert_uint_eq(st.ia_chunks, 4);
	ck_assert_uint_eq(st.standard, sc + CS);
	ck_assert_uint_eq(st.total, st.standard + st.ia + st.ia_overhead + st.archive +
			  st.archive_overhead);
	ck_assert_uint_eq(st.total, sa + sb + sc + sd);
	/* stored sizes are what the objects take in the store */
	ck_assert_uint_eq(count_objects(), 8);
	ck_assert_uint_eq(st.ia_stored + st.archive_stored, objects_bytes());
	ck_assert_uint_gt(st.archive_stored, sa);     /* random data: header overhead */
	check_content(ia, a, sa);
	check_content(ib, b, sb);
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_gc_deletes_orphans_only)
{
	size_t size = 2 * CS;
	void *buf, *junk = random_bytes(100, 17);
	uint64_t ino = cold_file("f", &buf, size, 18), gone = 99;
	struct meta_chunk c = chunk_row(ino, 0);
	uint64_t other = create_file("g", buf, size, 0);
	char key[96], err[512] = "";
	struct objstore *s = tier_store(fs, META_IA);

	/* nothing to collect yet */
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(count_objects(), 2);
	/* orphans: another version of a live chunk, a chunk of a file that does not
	 * exist, and a chunk that exists but is STANDARD */
	tier_object_key(fs, ino, 0, c.version + 12345, key);
	ck_assert_int_eq(objstore_put(s, key, junk, 100, NULL, 0), 0);
	tier_object_key(fs, 999999, 0, c.version, key);
	ck_assert_int_eq(objstore_put(s, key, junk, 100, NULL, 0), 0);
	tier_object_key(fs, other, 1, c.version, key);
	ck_assert_int_eq(objstore_put(s, key, junk, 100, NULL, 0), 0);
	/* not ours: another file system's key, and a key not in efsfs's form */
	ck_assert_int_eq(objstore_put(s, "fs-0123456789abcdef0/0000000000000001/"
				      "0000000000000000.0000000000000001", junk, 100, NULL, 0), 0);
	tier_object_key(fs, ino, 0, c.version, key);
	strcat(key, ".bak");
	ck_assert_int_eq(objstore_put(s, key, junk, 100, NULL, 0), 0);
	/* nor another instance's object under this fs id (a copy's, tier/owner.c) */
	snprintf(key, sizeof(key), "%s/i-0123456789abcdef/%016" PRIx64 "/0000000000000000.%016"
		 PRIx64, fs_id(fs), ino, c.version + 7);
	ck_assert_int_eq(objstore_put(s, key, junk, 100, NULL, 0), 0);
	ck_assert_uint_eq(count_objects(), 8);

	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 3);
	ck_assert_uint_eq(count_objects(), 5);
	assert_classes(ino, 2, META_IA);
	check_content(ino, buf, size);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);

	/* a deleted file's objects are garbage */
	ck_assert_int_eq(fs_unlink(fs, META_ROOT_INO, "f"), 0);
	fs_purge_wait(fs);      /* the purger removes its rows off the request path */
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 2);
	ck_assert_uint_eq(count_objects(), 3);
	/* a listing failure is reported */
	objstore_inject_fault(s, "list", 1, EIO, false);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), -EIO);
	ck_assert_str_ne(err, "");
	free(buf);
	free(junk);
}
END_TEST

/* ---- faults ------------------------------------------------------------------------ */

START_TEST(test_fault_put_fails)
{
	size_t size = 3 * CS;
	void *buf = random_bytes(size, 19);
	uint64_t ino = create_file("f", buf, size, 0);
	int64_t at = chunk_atime(ino, 0);
	struct tier_report rep;
	uint64_t blocks = local_blocks(ino);

	tier_inject_fault(fs, META_IA, "put", 1, EIO, false);
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_failed, 1);
	ck_assert_uint_eq(rep.chunks_to_ia, 2);
	ck_assert_str_ne(rep.first_error, "");
	ck_assert_ptr_nonnull(strstr(rep.first_error, "chunk 0"));
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 1), META_IA);
	ck_assert_uint_eq(count_objects(), 2);
	ck_assert_uint_ge(local_blocks(ino) * 512, CS);
	ck_assert_uint_lt(local_blocks(ino), blocks);
	check_content(ino, buf, size);

	/* a store that refuses every put: nothing moves, nothing is left behind */
	ck_assert_int_eq(tier_promote(fs, ino, 1), 0);
	ck_assert_int_eq(tier_promote(fs, ino, 2), 0);
	tier_inject_fault(fs, META_IA, "put", 1, EIO, true);
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_failed, 3);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	assert_classes(ino, 3, META_STANDARD);
	ck_assert_uint_eq(count_objects(), 0);
	check_content(ino, buf, size);
	/* the next pass after the store is back moves them */
	tier_inject_fault(fs, META_IA, "put", 0, 0, false);
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_failed, 0);
	ck_assert_uint_eq(rep.chunks_to_ia, 3);
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

START_TEST(test_fault_verify_get_fails)
{
	size_t size = 2 * CS;
	void *buf = random_bytes(size, 20);
	uint64_t ino = create_file("f", buf, size, 0), gone = 0;
	int64_t at = chunk_atime(ino, 0);
	struct tier_report rep;
	char err[512];

	/* the read-back of chunk 0 fails: its object is deleted, it stays local */
	tier_inject_fault(fs, META_IA, "get", 1, EIO, false);
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_failed, 1);
	ck_assert_uint_eq(rep.chunks_to_ia, 1);
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 1), META_IA);
	ck_assert_uint_eq(count_objects(), 1);
	check_content(ino, buf, size);

	/* read-back and delete fail: the object stays for gc */
	ck_assert_int_eq(tier_promote(fs, ino, 1), 0);
	ck_assert_uint_eq(count_objects(), 0);
	tier_inject_fault(fs, META_IA, "*", 2, EIO, true);   /* put ok, then all fail */
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_failed, 2);
	ck_assert_uint_eq(rep.chunks_to_ia, 0);
	assert_classes(ino, 2, META_STANDARD);
	ck_assert_uint_eq(count_objects(), 1);
	check_content(ino, buf, size);
	tier_inject_fault(fs, META_IA, "*", 0, 0, false);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 1);
	ck_assert_uint_eq(count_objects(), 0);
	assert_classes(ino, 2, META_STANDARD);
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

static void promotion_fault(bool promote_on_read)
{
	size_t size = 2 * CS;
	char *buf, *got = malloc(size);
	uint64_t ino = cold_file("f", (void **)&buf, size, 21);
	const char patch[] = "abc";

	ck_assert_ptr_nonnull(got);
	tier_inject_fault(fs, META_IA, "get", 1, EIO, true);
	ck_assert_int_eq(read_at(ino, 10, 100, got), -EIO);
	ck_assert_int_eq(read_at(ino, CS, 100, got), -EIO);
	write_at(ino, 10, patch, 3, -EIO);
	truncate_to(ino, 100, -EIO);
	assert_classes(ino, 2, META_IA);
	ck_assert_uint_eq(count_objects(), 2);
	tier_inject_fault(fs, META_IA, "get", 0, 0, false);

	ck_assert_int_eq(read_at(ino, 10, 100, got), 100);
	ck_assert_int_eq(memcmp(got, buf + 10, 100), 0);
	ck_assert_int_eq(chunk_class(ino, 0), promote_on_read ? META_STANDARD : META_IA);
	write_at(ino, CS + 10, patch, 3, 0);
	memcpy(buf + CS + 10, patch, 3);
	ck_assert_int_eq(chunk_class(ino, 1), META_STANDARD);
	check_content(ino, buf, size);
	free(got);
	free(buf);
}

START_TEST(test_fault_get_fails_on_promotion)
{
	promotion_fault(false);
}
END_TEST

START_TEST(test_fault_get_fails_on_promotion_after_1_access)
{
	promotion_fault(true);
}
END_TEST

/* Damages an object file: flips byte at (or cuts it to len when cut). */
static void damage(const char *path, size_t at, bool cut)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	if (cut) {
		ck_assert_int_eq(ftruncate(fd, (off_t)at), 0);
	} else {
		ck_assert_int_eq(pread(fd, &b, 1, (off_t)at), 1);
		b ^= 0x01;
		ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)at), 1);
	}
	close(fd);
}

START_TEST(test_corrupt_object_is_eio)
{
	size_t size = 4 * CS, olen;
	char *buf, *got = malloc(size), path[4500], path0[4500];
	uint64_t ino = cold_file("f", (void **)&buf, size, 22);
	const char patch[] = "x";
	void *obj;

	ck_assert_ptr_nonnull(got);
	/* a flipped payload bit in chunk 1, a flipped checksum bit in chunk 2, chunk 0's
	 * object copied over chunk 3's, a cut object for chunk 0 */
	object_path(ino, 1, path, sizeof(path));
	damage(path, CODEC_HEADER_LEN + 1000, false);
	object_path(ino, 2, path, sizeof(path));
	damage(path, 48 + 5, false);
	object_path(ino, 0, path0, sizeof(path0));
	obj = slurp(path0, &olen);
	object_path(ino, 3, path, sizeof(path));
	{
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(obj, 1, olen, f), olen);
		ck_assert_int_eq(fclose(f), 0);
	}
	free(obj);
	for (uint64_t i = 1; i < 4; i++) {
		ck_assert_msg(read_at(ino, i * CS, 10, got) == -EIO, "chunk %" PRIu64 " read", i);
		ck_assert_msg(read_at(ino, i * CS, 10, got) == -EIO, "chunk %" PRIu64 " again", i);
	}
	ck_assert_int_eq(read_at(ino, 0, CS, got), CS);
	ck_assert_int_eq(memcmp(got, buf, CS), 0);
	ck_assert_int_eq(read_at(ino, 0, size, got), -EIO);    /* a read that spans them */
	write_at(ino, CS + 1, patch, 1, -EIO);
	assert_classes(ino, 4, META_IA);
	damage(path0, 50, true);
	ck_assert_int_eq(tier_promote(fs, ino, 0), -EIO);
	ck_assert_int_eq(chunk_class(ino, 0), META_IA);
	free(got);
	free(buf);
}
END_TEST

/* A chunk map that cannot be read while a file has cold chunks: reads and
 * SEEK_DATA fail with the error, never serve the punched-out local range
 * (zeros) as the chunk's data.  tier_chunk_is_cold() took any failure for
 * "not cold" and so read zeros. */
START_TEST(test_chunk_map_error_is_not_zeros)
{
	size_t size = 4 * CS;
	char *buf, *got = malloc(size);
	uint64_t ino = cold_file("f", (void **)&buf, size, 31);
	struct fs_file *f;

	ck_assert_ptr_nonnull(got);
	check_content(ino, buf, size);
	ck_assert_int_eq(fs_open_file(fs, ino, O_RDONLY, &f), 0);
	fs_meta_lock(fs);
	meta_fail_chunk_reads(fs_meta(fs), EIO);
	fs_meta_unlock(fs);
	ck_assert_int_eq(read_at(ino, CS, 100, got), -EIO);
	ck_assert_int_eq(read_at(ino, 0, size, got), -EIO);
	ck_assert_int_eq(fs_lseek(fs, f, 0, SEEK_DATA), -EIO);
	ck_assert_int_eq(fs_lseek(fs, f, 0, SEEK_HOLE), -EIO);
	fs_meta_lock(fs);
	meta_fail_chunk_reads(fs_meta(fs), 0);
	fs_meta_unlock(fs);
	fs_release(fs, f);
	check_content(ino, buf, size);
	free(got);
	free(buf);
}
END_TEST

/* Whether needle (n bytes) occurs in hay. */
static bool contains(const void *hay, size_t len, const void *needle, size_t n)
{
	return memmem(hay, len, needle, n) != NULL;
}

static void check_object_plaintext(bool encrypted)
{
	size_t size = 2 * CS, olen;
	char *buf, path[4500];
	uint64_t ino = cold_file("f", (void **)&buf, size, 23);
	struct codec_header h;
	void *obj;

	object_path(ino, 1, path, sizeof(path));
	obj = slurp(path, &olen);
	ck_assert_int_eq(codec_peek(obj, olen, &h), 0);
	ck_assert_uint_eq(h.plain_len, CS);
	ck_assert_uint_eq(h.ino, ino);
	ck_assert_uint_eq(h.idx, 1);
	ck_assert_int_eq(!!(h.flags & CODEC_F_AESGCM), encrypted);
	for (size_t at = 0; at + 32 <= CS; at += 4096)
		ck_assert_int_eq(contains(obj, olen, buf + CS + at, 32), !encrypted);
	free(obj);
	check_content(ino, buf, size);
	env_reopen();
	check_content(ino, buf, size);
	free(buf);
}

START_TEST(test_objects_plaintext_unless_encrypted)
{
	check_object_plaintext(false);
}
END_TEST

START_TEST(test_encrypted_round_trip)
{
	char key_path[4300], other[66];
	struct stat st;
	size_t size = 2 * CS;
	char *buf, *got = malloc(size);
	uint64_t ino;
	FILE *f;

	ck_assert_ptr_nonnull(got);
	snprintf(key_path, sizeof(key_path), "%s/key", data_dir);
	ck_assert_int_eq(stat(key_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
	ck_assert_int_eq(st.st_size, 65);
	check_object_plaintext(true);

	/* with another key the objects do not decode: EIO, not wrong data */
	ino = cold_file("g", (void **)&buf, size, 24);
	memset(other, 'a', 64);
	other[64] = '\n';
	other[65] = '\0';
	f = fopen(key_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(other, f);
	ck_assert_int_eq(fclose(f), 0);
	env_reopen();
	ck_assert_int_eq(read_at(ino, 0, CS, got), -EIO);
	ck_assert_int_eq(chunk_class(ino, 0), META_IA);
	free(got);
	free(buf);
}
END_TEST

/* ---- replayed and legacy objects ------------------------------------------------------ */

static void spit(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Issue 9's replay: chunk 1's version-1 object copied over its version-2
 * object.  The read is EIO, never version 1's bytes, encrypted or not. */
static void check_replay(void)
{
	size_t size = 3 * CS, olen;
	char *buf, *got = malloc(CS), path[4500], path2[4500], err[512];
	uint64_t ino = cold_file("r", (void **)&buf, size, 40);
	void *old;

	ck_assert_ptr_nonnull(got);
	object_path(ino, 1, path, sizeof(path));
	old = slurp(path, &olen);
	write_at(ino, CS + 10, "version 2", 9, 0);            /* promotes chunk 1 */
	memcpy(buf + CS + 10, "version 2", 9);
	ck_assert_int_eq(tier_demote(fs, ino, 1, META_IA, err, sizeof(err)), 0);
	object_path(ino, 1, path2, sizeof(path2));
	ck_assert_str_ne(path, path2);
	spit(path2, old, olen);
	env_reopen();                                          /* no decoded copy cached */
	ck_assert_int_eq(read_at(ino, CS, CS, got), -EIO);
	ck_assert_int_eq(tier_promote(fs, ino, 1), -EIO);
	ck_assert_int_eq(chunk_class(ino, 1), META_IA);
	ck_assert_int_eq(read_at(ino, 0, CS, got), CS);
	ck_assert_int_eq(memcmp(got, buf, CS), 0);
	free(old);
	free(got);
	free(buf);
}

START_TEST(test_replayed_object_is_eio)
{
	check_replay();
}
END_TEST

START_TEST(test_replayed_encrypted_object_is_eio)
{
	check_replay();
}
END_TEST

static int count_reports;

static void count_report(const char *msg, void *arg)
{
	char *last = arg;

	count_reports++;
	snprintf(last, 1024, "%s", msg);
	fprintf(stderr, "fsck: %s\n", msg);
}

/* Rewrites an unencrypted format-2 object file as format 1 (as efsfs wrote
 * them before): no version or class, the tag at 80, the payload at 96. */
static void to_format_1(const char *path)
{
	size_t len;
	uint8_t *o = slurp(path, &len), *v1 = calloc(1, len);

	ck_assert_ptr_nonnull(v1);
	ck_assert_uint_ge(len, CODEC_HEADER_LEN);
	memcpy(v1, o, 80);
	v1[4] = 1;
	v1[6] = CODEC_HEADER_LEN_1;
	memcpy(v1 + CODEC_HEADER_LEN_1, o + CODEC_HEADER_LEN, len - CODEC_HEADER_LEN);
	spit(path, v1, len - (CODEC_HEADER_LEN - CODEC_HEADER_LEN_1));
	free(v1);
	free(o);
}

/* A file system from before the fix: metadata schema 1 (no SHA-256 in the
 * rows), format-1 objects.  It opens (migrated), reads, has its hashes
 * recorded by a read or by fsck --deep --repair, and from then on a
 * replaced object is refused. */
START_TEST(test_schema_1_file_system)
{
	size_t size = 3 * CS, olen;
	char *buf, *got = malloc(CS), path[4500], last[1024], err[1024] = "";
	uint64_t ino;

	/* format-2 objects, to be rewritten as format 1 */
	ck_assert_int_eq(codec_set_format(tier_of(fs)->codec, 2, 0), 0);
	ino = cold_file("old", (void **)&buf, size, 41);
	struct meta_chunk c;
	uint8_t sha[32];
	uint8_t *obj;

	ck_assert_ptr_nonnull(got);
	for (uint64_t i = 0; i < 3; i++) {
		object_path(ino, i, path, sizeof(path));
		to_format_1(path);
	}
	fs_close(fs);
	fs = NULL;
	/* as schema 1 recorded format-1 objects: no hash, 16 bytes shorter */
	tsql_exec(data_dir, "ALTER TABLE chunk DROP COLUMN sha256;"
		  "UPDATE chunk SET stored_len = stored_len - 16 WHERE class != 0;"
		  "PRAGMA user_version = 1");
	ck_assert_int_eq(tier_fs_open(conf, NULL, 0, &fs, err, sizeof(err)), 0);
	for (uint64_t i = 0; i < 3; i++)
		ck_assert(!chunk_row(ino, i).has_sha256);

	/* fsck: a note, not an error; --deep --repair records the hashes of chunk 0 and 2 */
	count_reports = 0;
	ck_assert_int_eq(tier_fsck(fs, TIER_FSCK_DEEP, count_report, last, err, sizeof(err)), 0);
	ck_assert_int_ge(count_reports, 2);
	ck_assert_ptr_nonnull(strstr(last, "3 checked"));
	ck_assert_int_eq(read_at(ino, CS, CS, got), CS);      /* a read records chunk 1's */
	ck_assert_int_eq(memcmp(got, buf + CS, CS), 0);
	ck_assert(chunk_row(ino, 1).has_sha256);
	ck_assert(!chunk_row(ino, 0).has_sha256);
	ck_assert_int_eq(tier_fsck(fs, TIER_FSCK_DEEP | TIER_FSCK_REPAIR, count_report, last, err,
				   sizeof(err)), 0);
	for (uint64_t i = 0; i < 3; i++) {
		c = chunk_row(ino, i);
		ck_assert(c.has_sha256);
		ck_assert_int_eq(codec_sha256(buf + i * CS, CS, sha), 0);
		ck_assert_mem_eq(c.sha256, sha, 32);
	}
	check_content(ino, buf, size);

	/* another valid format-1 object for chunk 0 (its own header checksum
	 * right) is now refused: the row knows what chunk 0 holds */
	object_path(ino, 0, path, sizeof(path));
	obj = slurp(path, &olen);
	ck_assert_uint_eq(olen, CODEC_HEADER_LEN_1 + CS);     /* random data: stored raw */
	obj[CODEC_HEADER_LEN_1 + 3] ^= 0xff;
	ck_assert_int_eq(codec_sha256(obj + CODEC_HEADER_LEN_1, CS, obj + 48), 0);
	spit(path, obj, olen);
	free(obj);
	env_reopen();
	ck_assert_int_eq(read_at(ino, 0, CS, got), -EIO);
	ck_assert_int_gt(tier_fsck(fs, TIER_FSCK_DEEP, count_report, last, err, sizeof(err)), 0);
	free(got);
	free(buf);
}
END_TEST

/* ---- ownership of objects (tier/owner.c) ------------------------------------------- */

/* An IA store outside the data directory, as a copied directory shares it. */
static void setup_shared(void)
{
	env_open("ia_store = file://@TMP@/shared");
	snprintf(objects_dir, sizeof(objects_dir), "%s/shared", tmp_dir);
}

static void setup_shared_encrypted(void)
{
	env_open("ia_store = file://@TMP@/shared\nencrypted = true");
	snprintf(objects_dir, sizeof(objects_dir), "%s/shared", tmp_dir);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* Adds section `name` with data directory dir and the test's policy lines
 * (or extra instead, when not NULL) to the config and loads it. */
static struct conf *conf_for(const char *name, const char *dir, const char *extra)
{
	struct conf *c;
	char err[1024];
	FILE *f = fopen(conf_path, "a");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "[%s]\ndata_dir = %s\nchunk_size = 64K\n%s\n", name, dir,
		extra ? extra : conf_extra);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(conf_load(conf_path, name, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

/* Rewrites the config with the test's section only, its policy lines
 * replaced by extra, and loads it as conf. */
static void conf_rewrite(const char *extra)
{
	char err[1024];
	FILE *f = fopen(conf_path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "[t]\ndata_dir = %s\nchunk_size = 64K\n%s\n", data_dir, extra);
	ck_assert_int_eq(fclose(f), 0);
	conf_free(conf);
	ck_assert_msg(conf_load(conf_path, "t", &conf, err, sizeof(err)) == 0, "%s", err);
}

/* Opens c with flags; the result must be want (err gets the message). */
static struct fs *open_as(struct conf *c, unsigned flags, int want, char *err, size_t errlen)
{
	struct fs *f = NULL;
	int r;

	err[0] = '\0';
	r = tier_fs_open(c, NULL, flags, &f, err, errlen);
	ck_assert_msg(r == want, "opening %s = %d, expected %d: %s", c->data_dir, r, want, err);
	return f;
}

/* cp -a of the (closed) data directory to DATA_DIR.copy, with its config. */
static struct conf *copy_data_dir(char *copy_dir, size_t len)
{
	fs_close(fs);
	fs = NULL;
	snprintf(copy_dir, len, "%s.copy", data_dir);
	sh("cp -a '%s' '%s'", data_dir, copy_dir);
	return conf_for("copy", copy_dir, NULL);
}

/* The issue's data loss: a copy of the data directory sharing the store
 * deletes a file and runs gc; the original then read EIO. */
START_TEST(test_copy_cannot_touch_originals_objects)
{
	size_t size = 3 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 31), gone = 0;
	char copy_dir[4300], err[2048];
	struct conf *cc;
	struct fs *orig;
	struct tier_report rep;

	cc = copy_data_dir(copy_dir, sizeof(copy_dir));
	/* the copy does not open: it names the holder and the way out */
	open_as(cc, 0, -EEXIST, err, sizeof(err));
	ck_assert_msg(strstr(err, "efsfs reidentify copy") && strstr(err, data_dir) &&
		      strstr(err, "efsfs store claim copy"), "%s", err);
	/* opened for repair it deletes and moves nothing */
	fs = open_as(cc, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	check_content(ino, buf, size);
	ck_assert_int_eq(fs_unlink(fs, META_ROOT_INO, "f"), 0);
	fs_purge_wait(fs);      /* the purger removes its rows off the request path */
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(tier_run(fs, time(NULL) + 400 * DAY, &rep), -EPERM);
	fs_close(fs);
	fs = NULL;
	ck_assert_uint_eq(count_objects(), 3);

	/* the original is untouched and still the holder */
	fs = open_as(conf, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(count_objects(), 3);

	/* a copy that took the claim while the original is mounted stops the
	 * original's gc (it reads the claims again) */
	orig = fs;
	fs = open_as(cc, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	ck_assert_int_eq(tier_store_claim(fs, err, sizeof(err)), 0);
	fs_close(fs);
	fs = orig;
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), -EEXIST);
	ck_assert_msg(strstr(err, copy_dir), "%s", err);
	conf_free(cc);
	free(buf);
}
END_TEST

static void reidentify_copy(void)
{
	size_t size = 3 * CS;
	void *buf, *buf2;
	uint64_t ino = cold_file("f", &buf, size, 32), ino2, gone = 0;
	char copy_dir[4300], err[2048], old_id[FS_ID_LEN + 1];
	struct tier_reidentify_report rep;
	struct conf *cc;

	ino2 = cold_file("g", &buf2, size, 33);
	snprintf(old_id, sizeof(old_id), "%s", fs_id(fs));
	cc = copy_data_dir(copy_dir, sizeof(copy_dir));
	fs = open_as(cc, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	ck_assert_int_eq(tier_reidentify(fs, false, &rep, err, sizeof(err)), 0);
	ck_assert_uint_eq(rep.copied, 6);
	ck_assert_uint_eq(rep.missing, 0);
	ck_assert_str_ne(rep.new_fs_id, old_id);
	fs_close(fs);
	ck_assert_uint_eq(count_objects(), 12);          /* each has its own now */

	/* the copy opens, reads its own objects, deletes and collects them */
	fs = open_as(cc, 0, 0, err, sizeof(err));
	ck_assert_str_eq(fs_id(fs), rep.new_fs_id);
	check_content(ino, buf, size);
	ck_assert_int_eq(fs_unlink(fs, META_ROOT_INO, "f"), 0);
	fs_purge_wait(fs);      /* the purger removes its rows off the request path */
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 3);
	ck_assert_uint_eq(count_objects(), 9);
	fs_close(fs);

	/* the original has all of its data and nothing to collect */
	fs = open_as(conf, 0, 0, err, sizeof(err));
	ck_assert_str_eq(fs_id(fs), old_id);
	check_content(ino, buf, size);
	check_content(ino2, buf2, size);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);
	conf_free(cc);
	free(buf);
	free(buf2);
}

START_TEST(test_reidentified_copy_is_its_own)
{
	reidentify_copy();
}
END_TEST

START_TEST(test_reidentified_copy_is_its_own_encrypted)
{
	reidentify_copy();
}
END_TEST

/* The original deleted a file after the copy was made: reidentify says so
 * and changes nothing, unless forced. */
START_TEST(test_reidentify_missing_objects)
{
	size_t size = 2 * CS;
	void *buf, *buf2;
	uint64_t ino = cold_file("f", &buf, size, 34), ino2 = cold_file("g", &buf2, size, 35);
	uint64_t gone = 0;
	char copy_dir[4300], err[2048], old_id[FS_ID_LEN + 1], *got = malloc(CS);
	struct tier_reidentify_report rep;
	struct conf *cc;

	ck_assert_ptr_nonnull(got);
	snprintf(old_id, sizeof(old_id), "%s", fs_id(fs));
	cc = copy_data_dir(copy_dir, sizeof(copy_dir));
	fs = open_as(conf, 0, 0, err, sizeof(err));
	ck_assert_int_eq(fs_unlink(fs, META_ROOT_INO, "f"), 0);
	fs_purge_wait(fs);      /* the purger removes its rows off the request path */
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 2);
	fs_close(fs);

	fs = open_as(cc, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	ck_assert_int_eq(tier_reidentify(fs, false, &rep, err, sizeof(err)), -ENOENT);
	ck_assert_uint_eq(rep.missing, 2);
	ck_assert_msg(strstr(err, "--force"), "%s", err);
	ck_assert_str_eq(fs_id(fs), old_id);
	fs_close(fs);
	/* interrupted: the open says to finish it */
	open_as(cc, 0, -EAGAIN, err, sizeof(err));
	ck_assert_msg(strstr(err, "efsfs reidentify copy"), "%s", err);
	/* ...but a read-only open (info, mount -o ro) still reads the old identity */
	fs = open_as(cc, FS_OPEN_RDONLY, 0, err, sizeof(err));
	ck_assert_str_eq(fs_id(fs), old_id);
	check_content(ino2, buf2, size);
	fs_close(fs);
	fs = open_as(cc, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	ck_assert_int_eq(tier_reidentify(fs, true, &rep, err, sizeof(err)), 0);
	ck_assert(rep.resumed);
	ck_assert_uint_eq(rep.copied, 2);
	ck_assert_uint_eq(rep.missing, 2);
	fs_close(fs);
	fs = open_as(cc, 0, 0, err, sizeof(err));
	ck_assert_str_eq(fs_id(fs), rep.new_fs_id);
	check_content(ino2, buf2, size);
	ck_assert_int_eq(read_at(ino, 0, CS, got), -EIO);
	conf_free(cc);
	free(got);
	free(buf);
	free(buf2);
}
END_TEST

/* A copy of a data directory with its store inside (the default) has its
 * own objects: it opens, and its gc leaves the original's alone. */
START_TEST(test_copy_with_own_store)
{
	size_t size = 3 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 40), gone = 0;
	char copy_dir[4300], orig_objects[4300], err[2048];
	struct conf *cc;

	snprintf(orig_objects, sizeof(orig_objects), "%s", objects_dir);
	cc = copy_data_dir(copy_dir, sizeof(copy_dir));
	fs = open_as(cc, 0, 0, err, sizeof(err));
	snprintf(objects_dir, sizeof(objects_dir), "%.4200s/objects", copy_dir);
	check_content(ino, buf, size);
	ck_assert_int_eq(fs_unlink(fs, META_ROOT_INO, "f"), 0);
	fs_purge_wait(fs);      /* the purger removes its rows off the request path */
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 3);
	ck_assert_uint_eq(count_objects(), 0);
	fs_close(fs);
	snprintf(objects_dir, sizeof(objects_dir), "%s", orig_objects);
	ck_assert_uint_eq(count_objects(), 3);
	fs = open_as(conf, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	conf_free(cc);
	free(buf);
}
END_TEST

/* Turns the open file system into one from before instance ids: its objects
 * keyed "<fs_id>/<ino>/<idx>.<version>", no instance id, no claim. */
static void make_legacy(void)
{
	char path[4400], err[1024], inst[FS_INSTANCE_LEN + 1];
	struct meta *m;

	snprintf(inst, sizeof(inst), "%s", tier_of(fs)->ident.instance);
	fs_close(fs);
	fs = NULL;
	snprintf(path, sizeof(path), "%s/meta.db", data_dir);
	ck_assert_int_eq(meta_open(path, false, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(meta_begin(m), 0);
	ck_assert_int_eq(meta_set_kv(m, "instance_id", ""), 0);
	ck_assert_int_eq(meta_set_kv(m, "instance_since", ""), 0);
	ck_assert_int_eq(meta_set_kv(m, "store_url.ia", ""), 0);
	ck_assert_int_eq(meta_set_kv(m, "store_url.archive", ""), 0);
	ck_assert_int_eq(meta_commit(m), 0);
	ck_assert_int_eq(meta_checkpoint(m), 0);
	meta_close(m);
	sh("cd '%s'/fs-* && rm claim && mv %s/* . && rmdir %s", objects_dir, inst, inst);
}

/* Objects from before instance ids: still read, never deleted by a plain
 * gc (they may be a copy's), deleted by gc --legacy; and a copy made
 * before the upgrade that opens first leaves the original what it needs. */
START_TEST(test_legacy_objects)
{
	size_t size = 3 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 36), gone = 9, legacy = 0;
	char copy_dir[4300], err[2048];
	struct tier_reidentify_report rep;
	struct conf *cc;

	make_legacy();
	cc = copy_data_dir(copy_dir, sizeof(copy_dir));
	/* the copy is upgraded first and takes the claim */
	fs = open_as(cc, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	ck_assert_int_eq(fs_unlink(fs, META_ROOT_INO, "f"), 0);
	fs_purge_wait(fs);      /* the purger removes its rows off the request path */
	ck_assert_int_eq(tier_gc_legacy(fs, false, &gone, &legacy, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(legacy, 3);
	ck_assert_uint_eq(count_objects(), 3);
	fs_close(fs);

	/* the original is refused, gets its own identity, and has its data */
	open_as(conf, 0, -EEXIST, err, sizeof(err));
	fs = open_as(conf, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	ck_assert_int_eq(tier_reidentify(fs, false, &rep, err, sizeof(err)), 0);
	ck_assert_uint_eq(rep.copied, 3);
	fs_close(fs);
	fs = open_as(conf, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	fs_close(fs);

	/* now the copy may collect the legacy objects */
	fs = open_as(cc, 0, 0, err, sizeof(err));
	ck_assert_int_eq(tier_gc_legacy(fs, true, &gone, &legacy, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 3);
	ck_assert_uint_eq(count_objects(), 3);
	fs_close(fs);
	fs = open_as(conf, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	conf_free(cc);
	free(buf);
}
END_TEST

/* fsck's report, all lines in one buffer (arg: 8 KiB). */
static void all_reports(const char *msg, void *arg)
{
	char *text = arg;
	size_t n = strlen(text);

	snprintf(text + n, 8192 - n, "%s\n", msg);
}

/* A legacy chunk that moves on leaves its object for gc --legacy; fsck
 * --repair keeps it too and says which command deletes it. */
START_TEST(test_legacy_object_left_by_promotion)
{
	size_t size = 2 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 37), gone = 9, legacy = 0;
	char err[2048];

	make_legacy();
	fs = open_as(conf, 0, 0, err, sizeof(err));
	write_at(ino, 0, buf, CS, 0);              /* promotes chunk 0 */
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);
	ck_assert_uint_eq(count_objects(), 2);
	ck_assert_int_eq(tier_gc_legacy(fs, false, &gone, &legacy, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);
	ck_assert_uint_eq(legacy, 1);
	{
		char *text = calloc(1, 8192);

		ck_assert_int_ge(tier_fsck(fs, TIER_FSCK_REPAIR, all_reports, text, err,
					   sizeof(err)), 0);
		ck_assert_msg(strstr(text, "from before instance ids") &&
			      strstr(text, "'efsfs gc --legacy' deletes them"), "%s", text);
		ck_assert_msg(!strstr(text, "'efsfs fsck --repair' deletes them"), "%s", text);
		ck_assert_uint_eq(count_objects(), 2);
		free(text);
	}
	/* a new demotion of it gets a key with the instance id */
	ck_assert_int_eq(tier_demote(fs, ino, 0, META_IA, err, sizeof(err)), 0);
	ck_assert_int_eq(tier_gc_legacy(fs, true, &gone, &legacy, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 1);
	ck_assert_uint_eq(count_objects(), 2);
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

/* A moved data directory: with its store inside it, it is itself; with a
 * shared store it is refused until 'efsfs store claim'. */
START_TEST(test_moved_data_dir)
{
	size_t size = 2 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 38);
	char moved[4300], err[2048];
	struct conf *mc;

	fs_close(fs);
	fs = NULL;
	snprintf(moved, sizeof(moved), "%s.moved", data_dir);
	ck_assert_int_eq(rename(data_dir, moved), 0);
	mc = conf_for("moved", moved, NULL);
	if (strstr(conf_extra, "shared")) {
		open_as(mc, 0, -EEXIST, err, sizeof(err));
		fs = open_as(mc, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
		ck_assert_int_eq(tier_store_claim(fs, err, sizeof(err)), 0);
		ck_assert_msg(strstr(err, data_dir), "%s", err);     /* the old holder */
		fs_close(fs);
	} else {
		snprintf(objects_dir, sizeof(objects_dir), "%.4200s/objects", moved);
	}
	fs = open_as(mc, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	ck_assert_int_eq(tier_gc(fs, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(count_objects(), 2);
	fs_close(fs);
	fs = NULL;
	ck_assert_int_eq(rename(moved, data_dir), 0);   /* for teardown */
	conf_free(mc);
	free(buf);
}
END_TEST

/* A clone at the same path on a machine with the same id and host name, or
 * a restored backup, has an older claim token than the store's claim. */
START_TEST(test_clone_at_same_path_refused)
{
	size_t size = 2 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 41), gone = 0;
	char snap[4300], orig[4300], path[4400], err[2048];
	struct meta *m;

	fs_close(fs);
	fs = NULL;
	snprintf(snap, sizeof(snap), "%s.snap", data_dir);
	snprintf(orig, sizeof(orig), "%s.orig", data_dir);
	sh("cp -a '%s' '%s'", data_dir, snap);
	fs = open_as(conf, 0, 0, err, sizeof(err));      /* the original is used again */
	fs_close(fs);
	fs = NULL;
	ck_assert_int_eq(rename(data_dir, orig), 0);
	ck_assert_int_eq(rename(snap, data_dir), 0);
	open_as(conf, 0, -EEXIST, err, sizeof(err));
	ck_assert_msg(strstr(err, "clone") && strstr(err, "efsfs reidentify t"), "%s", err);
	ck_assert_int_eq(rename(data_dir, snap), 0);
	ck_assert_int_eq(rename(orig, data_dir), 0);

	/* a crash after the new claim was put and before its token was
	 * committed: the pending token is accepted */
	snprintf(path, sizeof(path), "%s/meta.db", data_dir);
	ck_assert_int_eq(meta_open(path, false, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(meta_begin(m), 0);
	ck_assert_int_eq(meta_set_kv(m, "claim_pending", "0123456789abcdef"), 0);
	ck_assert_int_eq(meta_commit(m), 0);
	ck_assert_int_eq(meta_checkpoint(m), 0);
	meta_close(m);
	sh("sed -i 's/^token=.*/token=0123456789abcdef/' '%s'/fs-*/claim", objects_dir);
	fs = open_as(conf, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	free(buf);
}
END_TEST

/* A store that did not answer at the open: nothing moves or is deleted
 * until a pass or gc has read the claims. */
START_TEST(test_claims_unverified_until_store_answers)
{
	size_t size = 2 * CS;
	void *buf = random_bytes(size, 42);
	uint64_t ino = create_file("f", buf, size, 0), gone = 9;
	struct objstore *s = tier_store(fs, META_IA);
	struct tier_report rep;
	char err[2048];

	atomic_store(&tier_of(fs)->owner, false);       /* as after an open with S3 down */
	objstore_inject_fault(s, "get", 1, EIO, true);
	ck_assert_int_eq(tier_run(fs, time(NULL) + 31 * DAY, &rep), -EIO);
	ck_assert_str_ne(rep.first_error, "");
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), -EIO);
	ck_assert_int_eq(tier_demote(fs, ino, 0, META_IA, err, sizeof(err)), -EPERM);
	ck_assert_uint_eq(count_objects(), 0);
	objstore_inject_fault(s, NULL, 0, 0, false);
	rep = run_at(time(NULL) + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_to_ia, 2);
	ck_assert(atomic_load(&tier_of(fs)->owner));
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

/* Issue 10 item 2: another ia_store while IA holds data refuses to open,
 * naming the store; set-url records a moved store once its objects are
 * there. */
START_TEST(test_changed_store_refused)
{
	size_t size = 3 * CS;
	void *buf;
	uint64_t ino = cold_file("f", &buf, size, 39), gone = 9;
	char old_url[4400], new_url[4400], extra[20000], err[2048];

	snprintf(old_url, sizeof(old_url), "file://%s", objects_dir);
	snprintf(new_url, sizeof(new_url), "file://%s/new", tmp_dir);
	fs_close(fs);
	fs = NULL;
	snprintf(extra, sizeof(extra), "%s\nia_store = %s\n", conf_extra, new_url);
	conf_rewrite(extra);
	open_as(conf, 0, -ESTALE, err, sizeof(err));
	ck_assert_msg(strstr(err, old_url) && strstr(err, new_url) &&
		      strstr(err, "efsfs store set-url t"), "%s", err);
	/* before the objects are copied, set-url refuses */
	fs = open_as(conf, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	ck_assert_int_eq(tier_store_set_url(fs, old_url, new_url, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "3 of 3 IA objects"), "%s", err);
	/* an unrelated URL is no store of this file system */
	ck_assert_int_eq(tier_store_set_url(fs, "file:///nowhere", new_url, err, sizeof(err)),
			 -ENOENT);
	fs_close(fs);
	sh("mkdir -p '%s/new' && cp -a '%s'/. '%s/new/'", tmp_dir, objects_dir, tmp_dir);
	fs = open_as(conf, FS_OPEN_UNCLAIMED, 0, err, sizeof(err));
	ck_assert_int_eq(tier_store_set_url(fs, old_url, new_url, err, sizeof(err)), 0);
	fs_close(fs);
	fs = open_as(conf, 0, 0, err, sizeof(err));
	sh("rm -rf '%s'", objects_dir);                 /* the old store is not used */
	snprintf(objects_dir, sizeof(objects_dir), "%s/new", tmp_dir);
	check_content(ino, buf, size);
	ck_assert_int_eq(tier_gc(fs, &gone, err, sizeof(err)), 0);
	ck_assert_uint_eq(gone, 0);
	fs_close(fs);
	fs = NULL;

	/* a class with no cold chunks may change its store freely */
	snprintf(extra, sizeof(extra), "%s\nia_store = %s\narchive_store = file://%s/ar\n",
		 conf_extra, new_url, tmp_dir);
	conf_rewrite(extra);
	fs = open_as(conf, 0, 0, err, sizeof(err));
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

/* ---- a write racing a demotion ------------------------------------------------------ */

static const struct objstore_ops *race_inner;
static uint64_t race_ino;
static int race_writes;

/* put of the IA store that lets a write in between the copy and the commit. */
static int race_put(struct objstore *s, const char *key, const void *buf, size_t len,
		    char *err, size_t errlen)
{
	int r = race_inner->put(s, key, buf, len, err, errlen);

	if (race_writes-- > 0)
		write_at(race_ino, 5, "race", 4, 0);
	return r;
}

START_TEST(test_write_racing_demotion)
{
	size_t size = 2 * CS;
	char *buf = random_bytes(size, 25), err[512];
	uint64_t ino = create_file("f", buf, size, 0);
	struct objstore_ops ops;
	struct objstore *s = tier_store(fs, META_IA);
	struct tier_report rep;
	int64_t at = chunk_atime(ino, 0);

	race_inner = s->ops;
	ops = *s->ops;
	ops.put = race_put;
	s->ops = &ops;
	race_ino = ino;
	race_writes = 1;
	ck_assert_int_eq(tier_demote(fs, ino, 0, META_IA, err, sizeof(err)), -EAGAIN);
	memcpy(buf + 5, "race", 4);
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);
	ck_assert_uint_eq(count_objects(), 0);          /* the stale copy was deleted */
	check_content(ino, buf, size);

	/* in a pass the raced chunk is neither moved nor a failure */
	race_writes = 1;
	rep = run_at(at + 31 * DAY);
	ck_assert_uint_eq(rep.chunks_failed, 0);
	ck_assert_uint_eq(rep.chunks_to_ia, 1);
	ck_assert_int_eq(chunk_class(ino, 0), META_STANDARD);
	ck_assert_int_eq(chunk_class(ino, 1), META_IA);
	ck_assert_uint_eq(count_objects(), 1);
	check_content(ino, buf, size);
	s->ops = race_inner;
	ck_assert_int_eq(tier_demote(fs, ino, 0, META_IA, err, sizeof(err)), 0);
	check_content(ino, buf, size);
	free(buf);
}
END_TEST

/* ------------------------------------------------------------------------------------ */

static Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc;

	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup_default, teardown);
	tcase_add_test(tc, test_ia_after_30_days_not_29);
	tcase_add_test(tc, test_append_to_cold_tail);
	tcase_add_test(tc, test_passthrough_open_file_stays);
	tcase_add_test(tc, test_archive_after_90_days);
	tcase_add_test(tc, test_small_files_never_move);
	tcase_add_test(tc, test_holes_not_stored);
	tcase_add_test(tc, test_accessed_chunk_stays);
	tcase_add_test(tc, test_read_notes_every_chunk);
	tcase_add_test(tc, test_write_notes_every_chunk);
	suite_add_tcase(s, tc);

	tc = tcase_create("ownership");
	tcase_add_checked_fixture(tc, setup_shared, teardown);
	tcase_add_test(tc, test_copy_cannot_touch_originals_objects);
	tcase_add_test(tc, test_reidentified_copy_is_its_own);
	tcase_add_test(tc, test_reidentify_missing_objects);
	tcase_add_test(tc, test_legacy_objects);
	tcase_add_test(tc, test_legacy_object_left_by_promotion);
	tcase_add_test(tc, test_moved_data_dir);
	tcase_add_test(tc, test_clone_at_same_path_refused);
	tcase_add_test(tc, test_claims_unverified_until_store_answers);
	suite_add_tcase(s, tc);

	tc = tcase_create("ownership, encrypted");
	tcase_add_checked_fixture(tc, setup_shared_encrypted, teardown);
	tcase_add_test(tc, test_reidentified_copy_is_its_own_encrypted);
	suite_add_tcase(s, tc);

	tc = tcase_create("ownership, store in the data directory");
	tcase_add_checked_fixture(tc, setup_default, teardown);
	tcase_add_test(tc, test_moved_data_dir);
	tcase_add_test(tc, test_copy_with_own_store);
	tcase_add_test(tc, test_changed_store_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("cold data");
	tcase_add_checked_fixture(tc, setup_default, teardown);
	tcase_add_test(tc, test_read_without_promotion_serves_cold_data);
	tcase_add_test(tc, test_cold_read_by_range);
	tcase_add_test(tc, test_cold_random_reads_fetch_little);
	tcase_add_test(tc, test_write_to_cold_chunk_promotes_it);
	tcase_add_test(tc, test_truncate_cold_file);
	tcase_add_test(tc, test_truncate_at_chunk_boundary_store_down);
	tcase_add_test(tc, test_stats_add_up);
	tcase_add_test(tc, test_gc_deletes_orphans_only);
	tcase_add_test(tc, test_write_racing_demotion);
	suite_add_tcase(s, tc);

	tc = tcase_create("promotion");
	tcase_add_checked_fixture(tc, setup_promote, teardown);
	tcase_add_test(tc, test_after_1_access_promotes_on_read);
	tcase_add_test(tc, test_fault_get_fails_on_promotion_after_1_access);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_add_checked_fixture(tc, setup_default, teardown);
	tcase_add_test(tc, test_fault_put_fails);
	tcase_add_test(tc, test_fault_verify_get_fails);
	tcase_add_test(tc, test_fault_get_fails_on_promotion);
	tcase_add_test(tc, test_corrupt_object_is_eio);
	tcase_add_test(tc, test_chunk_map_error_is_not_zeros);
	tcase_add_test(tc, test_objects_plaintext_unless_encrypted);
	tcase_add_test(tc, test_replayed_object_is_eio);
	tcase_add_test(tc, test_schema_1_file_system);
	suite_add_tcase(s, tc);

	tc = tcase_create("encryption");
	tcase_add_checked_fixture(tc, setup_encrypted, teardown);
	tcase_add_test(tc, test_encrypted_round_trip);
	tcase_add_test(tc, test_replayed_encrypted_object_is_eio);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(lifecycle_suite);
