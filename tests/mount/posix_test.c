/*
 * posix_test.c - POSIX conformance tests run against a mounted efsfs (or any
 * directory: they are written to pass on ext4 and tmpfs, which define the
 * expected behaviour).
 *
 * The directory under test comes from EFSFS_TEST_DIR (required). Every test
 * runs in a fresh subdirectory of <dir>/posix_test.<pid>/ with that directory
 * as its working directory, so tests use relative paths. With
 * EFSFS_EXPECT_EFS_LIMITS=1 the tests of the EFS limits are added: 177 hard
 * links, symlink targets of at most 4080 bytes, no device nodes, an 8 EiB
 * statfs. Children that drop privileges report failures through a pipe and
 * their exit status; the parent asserts on both.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define KiB (1024LL)
#define MiB (1024LL * KiB)
#define GiB (1024LL * MiB)

/* Identities used by the permission tests ("nobody" and a second user). */
#define UID_A 65534
#define GID_A 65534
#define UID_B 65533
#define GID_B 65533

static char g_run_dir[PATH_MAX];
static char g_test_dir[PATH_MAX];
static bool g_efs_limits;

/* ---- helpers for the test process ------------------------------------- */

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "unknown errno";
}

/* Evaluate a call that returns -1 on failure; fail the test naming the call
 * and errno when it does. Yields the call's value. */
#define OK(call) ({ \
	errno = 0; \
	__typeof__(call) r_ok_ = (call); \
	ck_assert_msg(r_ok_ != (__typeof__(call))-1, "%s failed: %s (%s)", #call, \
		      errname(errno), strerror(errno)); \
	r_ok_; \
})

/* The call must fail with exactly errno err. */
#define FAILS(call, err) do { \
	errno = 0; \
	long r_f_ = (long)(call); \
	int e_f_ = errno; \
	ck_assert_msg(r_f_ == -1 && e_f_ == (err), "%s: expected -1/%s, got %ld/%s", #call, \
		      errname(err), r_f_, r_f_ == -1 ? errname(e_f_) : "no error"); \
} while (0)

static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

/* Timestamps come from the kernel's coarse clock (or a daemon's finer one):
 * to see a change, wait (bounded) until the coarse clock is past t. */
static void wait_clock_past(const struct timespec *t)
{
	struct timespec now, pause = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (ts_cmp(&now, t) > 0)
			return;
		nanosleep(&pause, NULL);
	}
	ck_abort_msg("the clock did not pass %lld.%09ld within 5 s", (long long)t->tv_sec,
		     t->tv_nsec);
}

static void wait_past_times(const char *path)
{
	struct stat st;

	OK(lstat(path, &st));
	wait_clock_past(ts_cmp(&st.st_ctim, &st.st_mtim) > 0 ? &st.st_ctim : &st.st_mtim);
}

static void fill_pattern(unsigned char *buf, size_t len, uint64_t off, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ULL + seed;

		buf[i] = (unsigned char)(x >> 56) | 1;	/* never 0: holes stand out */
	}
}

static void pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		ck_assert_msg(n > 0, "pwrite(%zu bytes at %lld) failed: %s", len, (long long)off,
			      n < 0 ? errname(errno) : "returned 0");
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

/* Read exactly len bytes at off (fails on a short read). */
static void pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);

		ck_assert_msg(n > 0, "pread(%zu bytes at %lld): %s", len, (long long)off,
			      n < 0 ? errname(errno) : "unexpected EOF");
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = OK(open(path, O_WRONLY | O_CREAT | O_TRUNC, mode));

	pwrite_all(fd, data, len, 0);
	OK(close(fd));
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s), 0644);
}

/* The file must contain exactly the string s. */
/* Drops the kernel's page and inode caches when we may (root), so that what
 * follows reads what the file system stored, not what the kernel kept. */
static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		ck_assert_int_eq(write(fd, "3", 1), 1);
		close(fd);
	}
}

static void expect_content(const char *path, const char *s)
{
	char buf[4096];
	size_t len = strlen(s), got = 0;
	int fd = OK(open(path, O_RDONLY));

	ck_assert(len < sizeof(buf));
	for (;;) {
		ssize_t n = OK(read(fd, buf + got, sizeof(buf) - got));

		if (n == 0 || got + (size_t)n == sizeof(buf)) {
			got += (size_t)n;
			break;
		}
		got += (size_t)n;
	}
	OK(close(fd));
	ck_assert_msg(got == len && memcmp(buf, s, len) == 0,
		      "%s: expected \"%s\" (%zu bytes), read %zu bytes \"%.*s\"", path, s, len, got,
		      (int)got, buf);
}

static bool is_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void *xmalloc(size_t len)
{
	void *p = malloc(len);

	ck_assert_msg(p != NULL, "malloc(%zu) failed", len);
	return p;
}

static struct stat xlstat(const char *path)
{
	struct stat st;

	OK(lstat(path, &st));
	return st;
}

static ino_t ino_of(const char *path)
{
	return xlstat(path).st_ino;
}

static nlink_t nlink_of(const char *path)
{
	return xlstat(path).st_nlink;
}

static mode_t perm_of(const char *path)
{
	return xlstat(path).st_mode & 07777;
}

/* A bounded xorshift64* generator so that failures can be replayed. */
struct prng {
	uint64_t s;
};

static uint64_t prng_next(struct prng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static uint64_t prng_below(struct prng *r, uint64_t n)
{
	return prng_next(r) % n;
}

/* ---- helpers for unprivileged children --------------------------------- */

static int g_child_fd = -1;

static void child_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void child_fail(int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "line %d (uid %d): ", line, (int)geteuid());

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (write(g_child_fd, msg, strlen(msg)) < 0)
		_exit(2);
	_exit(1);
}

#define C_OK(call) ({ \
	errno = 0; \
	__typeof__(call) r_cok_ = (call); \
	if (r_cok_ == (__typeof__(call))-1) \
		child_fail(__LINE__, "%s failed: %s", #call, errname(errno)); \
	r_cok_; \
})

#define C_FAILS(call, err) do { \
	errno = 0; \
	long r_cf_ = (long)(call); \
	int e_cf_ = errno; \
	if (r_cf_ != -1 || e_cf_ != (err)) \
		child_fail(__LINE__, "%s: expected -1/%s, got %ld/%s", #call, errname(err), r_cf_, \
			   r_cf_ == -1 ? errname(e_cf_) : "no error"); \
} while (0)

#define C_CHECK(cond, ...) do { \
	if (!(cond)) \
		child_fail(__LINE__, __VA_ARGS__); \
} while (0)

static struct stat c_lstat(const char *path)
{
	struct stat st;

	C_OK(lstat(path, &st));
	return st;
}

/* Run fn in a child with all ids set to uid/gid and no supplementary groups;
 * the test fails with the child's message unless it exits 0. */
static void run_as(uid_t uid, gid_t gid, void (*fn)(void), const char *what)
{
	char msg[1024] = "";
	size_t got = 0;
	int pfd[2], status;
	pid_t pid;

	OK(pipe(pfd));
	pid = OK(fork());
	if (pid == 0) {
		close(pfd[0]);
		g_child_fd = pfd[1];
		C_OK(setgroups(0, NULL));
		C_OK(setresgid(gid, gid, gid));
		C_OK(setresuid(uid, uid, uid));
		C_CHECK(geteuid() == uid && getegid() == gid, "identity not dropped");
		fn();
		_exit(0);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], msg + got, sizeof(msg) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(msg) - 1)
			break;
	}
	msg[got] = '\0';
	close(pfd[0]);
	OK(waitpid(pid, &status, 0));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s (child as uid %u): %s [status 0x%x]", what, (unsigned)uid,
		      got ? msg : "no message", (unsigned)status);
}

/* ---- fixture ----------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void test_setup(void)
{
	const char *tc = tcase_name();
	int n = snprintf(g_test_dir, sizeof(g_test_dir), "%s/%s.XXXXXX", g_run_dir, tc ? tc : "t");

	ck_assert((size_t)n < sizeof(g_test_dir));
	ck_assert_msg(mkdtemp(g_test_dir) != NULL, "mkdtemp(%s): %s", g_test_dir,
		      errname(errno));
	OK(chmod(g_test_dir, 0755));
	OK(chdir(g_test_dir));
	umask(022);
}

static void test_teardown(void)
{
	OK(chdir(g_run_dir));
	ck_assert_msg(nftw(g_test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0,
		      "removing %s: %s", g_test_dir, errname(errno));
}

/* ---- basic I/O ---------------------------------------------------------- */

START_TEST(test_create_rw)
{
	const char msg[] = "hello, efsfs\n";
	char buf[64];
	struct stat st;
	int fd;

	FAILS(open("f", O_RDONLY), ENOENT);
	fd = OK(open("f", O_RDWR | O_CREAT, 0644));
	OK(fstat(fd, &st));
	ck_assert_msg(S_ISREG(st.st_mode) && st.st_size == 0 && st.st_nlink == 1,
		      "new file: mode %o size %lld nlink %lu", st.st_mode, (long long)st.st_size,
		      (unsigned long)st.st_nlink);
	ck_assert_int_eq(st.st_uid, getuid());
	ck_assert_int_eq(OK(write(fd, msg, sizeof(msg) - 1)), sizeof(msg) - 1);
	ck_assert_int_eq(OK(lseek(fd, 0, SEEK_CUR)), sizeof(msg) - 1);
	ck_assert_int_eq(OK(read(fd, buf, sizeof(buf))), 0);
	OK(lseek(fd, 0, SEEK_SET));
	ck_assert_int_eq(OK(read(fd, buf, sizeof(buf))), sizeof(msg) - 1);
	ck_assert(memcmp(buf, msg, sizeof(msg) - 1) == 0);
	OK(close(fd));

	ck_assert_int_eq(xlstat("f").st_size, sizeof(msg) - 1);
	expect_content("f", msg);

	fd = OK(open("f", O_RDONLY));
	FAILS(write(fd, "x", 1), EBADF);
	OK(close(fd));
	fd = OK(open("f", O_WRONLY));
	FAILS(read(fd, buf, 1), EBADF);
	ck_assert_int_eq(OK(write(fd, "J", 1)), 1);
	OK(close(fd));
	expect_content("f", "Jello, efsfs\n");

	OK(mkdir("d", 0755));
	FAILS(open("d", O_WRONLY), EISDIR);
	FAILS(open("d", O_RDWR), EISDIR);
	FAILS(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	FAILS(open("nodir/f", O_RDWR | O_CREAT, 0644), ENOENT);
	FAILS(open("f/x", O_RDWR | O_CREAT, 0644), ENOTDIR);
}
END_TEST

START_TEST(test_random_rw_model)
{
	enum { REGION = 384 * 1024, MAXLEN = 20000, ITERS = 2500 };
	const char *env = getenv("EFSFS_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed1234ULL;
	struct prng r = { seed | 1 };
	unsigned char *model = xmalloc(REGION + MAXLEN);
	unsigned char *buf = xmalloc(REGION + MAXLEN);
	size_t size = 0;
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644));

	memset(model, 0, REGION + MAXLEN);
	for (int it = 0; it < ITERS; it++) {
		uint64_t op = prng_below(&r, 100);
		size_t off = prng_below(&r, REGION);
		size_t len = 1 + prng_below(&r, MAXLEN);

		if (op < 50) {
			for (size_t i = 0; i < len; i++)
				buf[i] = (unsigned char)prng_next(&r);
			pwrite_all(fd, buf, len, (off_t)off);
			memcpy(model + off, buf, len);
			if (off + len > size)
				size = off + len;
		} else if (op < 90) {
			ssize_t n = OK(pread(fd, buf, len, (off_t)off));
			size_t want = off >= size ? 0 : (size - off < len ? size - off : len);

			ck_assert_msg((size_t)n == want && memcmp(buf, model + off, want) == 0,
				      "seed 0x%llx iter %d: pread(%zu at %zu) got %zd bytes, "
				      "expected %zu, content %s", (unsigned long long)seed, it,
				      len, off, n, want,
				      (size_t)n == want ? "differs" : "not compared");
		} else if (op < 96) {
			size_t nsize = prng_below(&r, REGION);

			OK(ftruncate(fd, (off_t)nsize));
			if (nsize < size)
				memset(model + nsize, 0, size - nsize);
			size = nsize;
		} else {
			struct stat st;

			OK(close(fd));
			fd = OK(open("f", O_RDWR));
			OK(fstat(fd, &st));
			ck_assert_msg((size_t)st.st_size == size,
				      "seed 0x%llx iter %d: size %lld after reopen, expected %zu",
				      (unsigned long long)seed, it, (long long)st.st_size, size);
		}
	}
	OK(close(fd));
	fd = OK(open("f", O_RDONLY));
	ck_assert_int_eq(OK(read(fd, buf, REGION + MAXLEN)), size);
	ck_assert_msg(memcmp(buf, model, size) == 0, "final content differs from the model");
	OK(close(fd));
	free(model);
	free(buf);
}
END_TEST

START_TEST(test_sparse)
{
	const off_t far = 1 * GiB;
	unsigned char data[4096], buf[8192];
	struct stat st;
	off_t d, h;
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644));

	fill_pattern(data, sizeof(data), 0, 7);
	pwrite_all(fd, data, sizeof(data), 0);
	pwrite_all(fd, data, sizeof(data), far);
	OK(fsync(fd));
	OK(fstat(fd, &st));
	ck_assert_int_eq(st.st_size, far + (off_t)sizeof(data));
	ck_assert_msg((long long)st.st_blocks * 512 < st.st_size / 16,
		      "sparse file of %lld bytes uses %lld blocks", (long long)st.st_size,
		      (long long)st.st_blocks);

	/* Holes read as zeros, across the start of the data too. */
	pread_all(fd, buf, sizeof(buf), 64 * MiB);
	ck_assert(is_zero(buf, sizeof(buf)));
	pread_all(fd, buf, sizeof(buf), far - 4096);
	ck_assert(is_zero(buf, 4096));
	ck_assert(memcmp(buf + 4096, data, 4096) == 0);
	pread_all(fd, buf, 4096, 0);
	ck_assert(memcmp(buf, data, 4096) == 0);
	pread_all(fd, buf, 4096, 4096);
	ck_assert(is_zero(buf, 4096));

	/* SEEK_HOLE/SEEK_DATA find the hole after the first block and the data at far. */
	ck_assert_int_eq(OK(lseek(fd, 0, SEEK_DATA)), 0);
	h = OK(lseek(fd, 0, SEEK_HOLE));
	ck_assert_msg(h >= 4096 && h < far, "SEEK_HOLE from 0 returned %lld", (long long)h);
	d = OK(lseek(fd, h, SEEK_DATA));
	ck_assert_msg(d > h && d <= far, "SEEK_DATA from %lld returned %lld (data at %lld)",
		      (long long)h, (long long)d, (long long)far);
	h = OK(lseek(fd, far, SEEK_HOLE));
	ck_assert_msg(h == st.st_size, "SEEK_HOLE from %lld returned %lld, expected EOF %lld",
		      (long long)far, (long long)h, (long long)st.st_size);
	FAILS(lseek(fd, st.st_size, SEEK_DATA), ENXIO);
	FAILS(lseek(fd, st.st_size + 1, SEEK_HOLE), ENXIO);
	OK(close(fd));
}
END_TEST

START_TEST(test_large_offsets)
{
	const off_t five = 5 * GiB, four = 4 * GiB;
	const char mark[] = "FIVE-GiB";
	unsigned char buf[32], cross[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct stat st;
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644));

	pwrite_all(fd, mark, 8, five);
	OK(fstat(fd, &st));
	ck_assert_int_eq(st.st_size, five + 8);
	ck_assert_int_eq(OK(lseek(fd, 0, SEEK_END)), five + 8);
	pread_all(fd, buf, 8, five);
	ck_assert(memcmp(buf, mark, 8) == 0);

	/* 8 bytes straddling 4 GiB: 4 below, 4 above. */
	pwrite_all(fd, cross, sizeof(cross), four - 4);
	pread_all(fd, buf, 16, four - 8);
	ck_assert(is_zero(buf, 4));
	ck_assert(memcmp(buf + 4, cross, 8) == 0);
	ck_assert(is_zero(buf + 12, 4));
	pread_all(fd, buf, 1, four - 1);
	ck_assert_int_eq(buf[0], 4);
	pread_all(fd, buf, 1, four);
	ck_assert_int_eq(buf[0], 5);
	ck_assert_int_eq(OK(pread(fd, buf, sizeof(buf), five + 4)), 4);
	OK(close(fd));

	OK(truncate("f", four + 1));
	ck_assert_int_eq(xlstat("f").st_size, four + 1);
	fd = OK(open("f", O_RDONLY));
	ck_assert_int_eq(OK(pread(fd, buf, sizeof(buf), four - 4)), 5);
	ck_assert(memcmp(buf, cross, 5) == 0);
	OK(close(fd));
}
END_TEST

START_TEST(test_append)
{
	char expect[2048] = "start:", rec[16];
	size_t elen = strlen(expect);
	int fd1, fd2;

	write_str("f", expect);
	fd1 = OK(open("f", O_WRONLY | O_APPEND));
	fd2 = OK(open("f", O_WRONLY | O_APPEND));
	for (int i = 0; i < 100; i++) {
		int fd = i % 3 == 2 ? fd2 : fd1;

		snprintf(rec, sizeof(rec), "%c%03d,", fd == fd1 ? 'A' : 'B', i);
		ck_assert_int_eq(OK(write(fd, rec, 5)), 5);
		memcpy(expect + elen, rec, 5);
		elen += 5;
		ck_assert_int_eq(OK(lseek(fd, 0, SEEK_CUR)), elen);
	}
	/* A seek does not defeat O_APPEND. */
	OK(lseek(fd1, 0, SEEK_SET));
	ck_assert_int_eq(OK(write(fd1, "END", 3)), 3);
	memcpy(expect + elen, "END", 4);
	elen += 3;
	OK(close(fd1));
	OK(close(fd2));
	ck_assert_int_eq(xlstat("f").st_size, elen);
	expect_content("f", expect);
}
END_TEST

/* O_DIRECT: aligned direct writes and reads, and dd's way with an unaligned
 * tail: drop O_DIRECT with fcntl, then write it buffered. */
START_TEST(test_o_direct)
{
	unsigned char *buf, *back;
	int fd, fl;

	ck_assert_int_eq(posix_memalign((void **)&buf, 4096, 8192), 0);
	ck_assert_int_eq(posix_memalign((void **)&back, 4096, 8192), 0);
	fill_pattern(buf, 8192, 0, 7);
	fd = OK(open("d", O_RDWR | O_CREAT | O_DIRECT, 0644));
	ck_assert_int_eq(OK(pwrite(fd, buf, 4096, 0)), 4096);
	fl = OK(fcntl(fd, F_GETFL));
	OK(fcntl(fd, F_SETFL, fl & ~O_DIRECT));
	ck_assert_int_eq(OK(pwrite(fd, buf + 4096, 100, 4096)), 100);
	OK(close(fd));
	ck_assert_int_eq(xlstat("d").st_size, 4196);
	fd = OK(open("d", O_RDONLY | O_DIRECT));
	ck_assert_int_eq(OK(pread(fd, back, 4096, 0)), 4096);
	ck_assert_mem_eq(back, buf, 4096);
	OK(close(fd));
	fd = OK(open("d", O_RDONLY));
	ck_assert_int_eq(OK(pread(fd, back, 8192, 0)), 4196);
	ck_assert_mem_eq(back, buf, 4196);
	OK(close(fd));
	free(buf);
	free(back);
}
END_TEST

START_TEST(test_o_trunc)
{
	unsigned char big[100000];
	int fd;

	fill_pattern(big, sizeof(big), 0, 1);
	write_file("f", big, sizeof(big), 0644);
	ck_assert_int_eq(xlstat("f").st_size, sizeof(big));
	fd = OK(open("f", O_RDWR | O_TRUNC));
	ck_assert_int_eq(xlstat("f").st_size, 0);
	ck_assert_int_eq(OK(write(fd, "new", 3)), 3);
	OK(close(fd));
	expect_content("f", "new");
	/* the file system truncated it, not only the kernel's cached size */
	drop_caches();
	ck_assert_int_eq(xlstat("f").st_size, 3);
	expect_content("f", "new");
	/* O_TRUNC without writing anything leaves an empty file. */
	write_str("g", "data");
	fd = OK(open("g", O_WRONLY | O_TRUNC));
	OK(close(fd));
	ck_assert_int_eq(xlstat("g").st_size, 0);
}
END_TEST

START_TEST(test_o_excl)
{
	int fd = OK(open("f", O_WRONLY | O_CREAT | O_EXCL, 0644));

	OK(close(fd));
	FAILS(open("f", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	OK(mkdir("d", 0755));
	FAILS(open("d", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	OK(symlink("missing-target", "dangling"));
	FAILS(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	FAILS(access("missing-target", F_OK), ENOENT);
	/* Without O_EXCL, O_CREAT through a dangling symlink creates the target. */
	fd = OK(open("dangling", O_WRONLY | O_CREAT, 0600));
	OK(close(fd));
	ck_assert(S_ISREG(xlstat("missing-target").st_mode));
}
END_TEST

START_TEST(test_umask)
{
	int fd;

	umask(027);
	fd = OK(open("f", O_WRONLY | O_CREAT, 0666));
	OK(close(fd));
	ck_assert_int_eq(perm_of("f"), 0640);
	OK(mkdir("d", 0777));
	ck_assert_int_eq(perm_of("d"), 0750);
	umask(0);
	fd = OK(open("g", O_WRONLY | O_CREAT, 0777));
	OK(close(fd));
	ck_assert_int_eq(perm_of("g"), 0777);
	umask(077);
	fd = OK(open("h", O_WRONLY | O_CREAT, 0755));
	OK(close(fd));
	ck_assert_int_eq(perm_of("h"), 0700);
	umask(022);
}
END_TEST

START_TEST(test_pread_pwrite)
{
	char buf[16];
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644));

	ck_assert_int_eq(OK(write(fd, "0123456789", 10)), 10);
	ck_assert_int_eq(OK(lseek(fd, 3, SEEK_SET)), 3);
	ck_assert_int_eq(OK(pwrite(fd, "abc", 3, 6)), 3);
	ck_assert_int_eq(OK(lseek(fd, 0, SEEK_CUR)), 3);
	ck_assert_int_eq(OK(pread(fd, buf, 4, 5)), 4);
	ck_assert(memcmp(buf, "5abc", 4) == 0);
	ck_assert_int_eq(OK(lseek(fd, 0, SEEK_CUR)), 3);
	ck_assert_int_eq(OK(pread(fd, buf, sizeof(buf), 10)), 0);
	ck_assert_int_eq(OK(pread(fd, buf, sizeof(buf), 100)), 0);
	/* pwrite beyond EOF extends with a zero gap. */
	ck_assert_int_eq(OK(pwrite(fd, "Z", 1, 14)), 1);
	ck_assert_int_eq(OK(pread(fd, buf, sizeof(buf), 8)), 7);
	ck_assert(memcmp(buf, "c9\0\0\0\0Z", 7) == 0);
	FAILS(pread(fd, buf, 1, -1), EINVAL);
	FAILS(pwrite(fd, buf, 1, -1), EINVAL);
	OK(close(fd));
	ck_assert_int_eq(xlstat("f").st_size, 15);
}
END_TEST

/* ---- truncate ---------------------------------------------------------- */

START_TEST(test_truncate)
{
	enum { LEN = 100 * 1024 };
	unsigned char *data = xmalloc(LEN), *buf = xmalloc(LEN);
	int fd;

	fill_pattern(data, LEN, 0, 3);
	write_file("f", data, LEN, 0644);

	OK(truncate("f", 10000));
	ck_assert_int_eq(xlstat("f").st_size, 10000);
	OK(truncate("f", LEN));
	ck_assert_int_eq(xlstat("f").st_size, LEN);
	fd = OK(open("f", O_RDWR));
	pread_all(fd, buf, LEN, 0);
	ck_assert_msg(memcmp(buf, data, 10000) == 0, "data below the truncation point changed");
	ck_assert_msg(is_zero(buf + 10000, LEN - 10000), "data past a shrink came back on grow");

	/* Shrink and grow inside one block, through the fd. */
	pwrite_all(fd, data, LEN, 0);
	OK(ftruncate(fd, 4097));
	OK(ftruncate(fd, 8192));
	pread_all(fd, buf, 8192, 0);
	ck_assert(memcmp(buf, data, 4097) == 0);
	ck_assert(is_zero(buf + 4097, 8192 - 4097));

	OK(ftruncate(fd, 0));
	ck_assert_int_eq(xlstat("f").st_size, 0);
	ck_assert_int_eq(OK(pread(fd, buf, 10, 0)), 0);
	OK(ftruncate(fd, 3 * MiB + 5));
	ck_assert_int_eq(xlstat("f").st_size, 3 * MiB + 5);
	pread_all(fd, buf, LEN, 3 * MiB + 5 - LEN);
	ck_assert(is_zero(buf, LEN));
	FAILS(ftruncate(fd, -1), EINVAL);
	OK(close(fd));

	fd = OK(open("f", O_RDONLY));
	FAILS(ftruncate(fd, 0), EINVAL);	/* not open for writing */
	OK(close(fd));
	OK(mkdir("d", 0755));
	FAILS(truncate("d", 0), EISDIR);
	FAILS(truncate("missing", 0), ENOENT);
	free(data);
	free(buf);
}
END_TEST

/* ---- unlink ------------------------------------------------------------- */

START_TEST(test_unlink_open)
{
	char buf[64];
	struct stat st;
	int fd, fd2;

	write_str("f", "original data");
	fd = OK(open("f", O_RDWR));
	OK(unlink("f"));
	FAILS(lstat("f", &st), ENOENT);
	FAILS(open("f", O_RDONLY), ENOENT);
	OK(fstat(fd, &st));
	ck_assert_int_eq(st.st_nlink, 0);
	ck_assert_int_eq(st.st_size, 13);
	ck_assert_int_eq(OK(pread(fd, buf, sizeof(buf), 0)), 13);
	ck_assert(memcmp(buf, "original data", 13) == 0);
	pwrite_all(fd, " and more", 9, 13);
	OK(ftruncate(fd, 2 * MiB));
	pwrite_all(fd, "tail", 4, 2 * MiB);
	OK(fstat(fd, &st));
	ck_assert_int_eq(st.st_size, 2 * MiB + 4);
	ck_assert_int_eq(OK(pread(fd, buf, 22, 0)), 22);
	ck_assert(memcmp(buf, "original data and more", 22) == 0);

	/* A new file with the same name is a different, independent file. */
	fd2 = OK(open("f", O_RDWR | O_CREAT | O_EXCL, 0644));
	ck_assert_int_eq(OK(write(fd2, "new", 3)), 3);
	OK(fstat(fd2, &st));
	ck_assert_int_eq(st.st_nlink, 1);
	ck_assert_int_eq(st.st_size, 3);
	pwrite_all(fd, "OLD", 3, 0);
	expect_content("f", "new");
	ck_assert_int_eq(OK(pread(fd, buf, 8, 0)), 8);
	ck_assert(memcmp(buf, "OLDginal", 8) == 0);
	OK(fsync(fd));
	OK(close(fd));
	OK(close(fd2));
	expect_content("f", "new");

	FAILS(unlink("f/x"), ENOTDIR);
	FAILS(unlink("missing"), ENOENT);
	OK(mkdir("d", 0755));
	FAILS(unlink("d"), EISDIR);
}
END_TEST

/* ---- directories ---------------------------------------------------------- */

START_TEST(test_mkdir_rmdir)
{
	struct stat st;

	OK(mkdir("d", 0755));
	st = xlstat("d");
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_nlink, 2);
	FAILS(mkdir("d", 0755), EEXIST);
	write_str("f", "x");
	FAILS(mkdir("f", 0755), EEXIST);
	FAILS(mkdir("f/sub", 0755), ENOTDIR);
	FAILS(mkdir("missing/sub", 0755), ENOENT);
	FAILS(rmdir("f"), ENOTDIR);
	FAILS(rmdir("missing"), ENOENT);
	FAILS(lstat("f/", &st), ENOTDIR);

	/* nlink = 2 + subdirectories; files do not count. */
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "d/sub%d", i);
		OK(mkdir(name, 0755));
		ck_assert_int_eq(nlink_of("d"), 3 + i);
	}
	write_str("d/file", "x");
	ck_assert_int_eq(nlink_of("d"), 7);
	FAILS(rmdir("d"), ENOTEMPTY);
	FAILS(rmdir("d/."), EINVAL);
	FAILS(rmdir("."), EINVAL);
	OK(rmdir("d/sub0"));
	ck_assert_int_eq(nlink_of("d"), 6);
	for (int i = 1; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "d/sub%d", i);
		OK(rmdir(name));
	}
	ck_assert_int_eq(nlink_of("d"), 2);
	FAILS(rmdir("d"), ENOTEMPTY);
	OK(unlink("d/file"));
	OK(rmdir("d"));
	FAILS(lstat("d", &st), ENOENT);
	/* The test directory's own count went back to 2. */
	ck_assert_int_eq(nlink_of("."), 2);
}
END_TEST

/* ---- rename ------------------------------------------------------------------ */

struct rename_reader {
	atomic_bool done;
	atomic_ulong looks;
	unsigned long missing, other;
	int other_errno;
};

static void *rename_reader_main(void *arg)
{
	struct rename_reader *rr = arg;
	struct stat st;

	for (unsigned long i = 0; i < 100000000UL && !atomic_load(&rr->done); i++) {
		int r;

		if (i % 4 == 3) {
			int fd = open("target", O_RDONLY);

			r = fd < 0 ? -1 : 0;
			if (fd >= 0)
				close(fd);
		} else {
			r = stat("target", &st);
		}
		if (r < 0 && errno == ENOENT) {
			rr->missing++;
		} else if (r < 0) {
			rr->other++;
			rr->other_errno = errno;
		}
		atomic_fetch_add(&rr->looks, 1);
	}
	return NULL;
}

START_TEST(test_rename_atomic)
{
	struct rename_reader rr = { .missing = 0 };
	pthread_t th;
	char buf[32];
	int n = 0;

	write_str("target", "v-init");
	atomic_init(&rr.done, false);
	atomic_init(&rr.looks, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, rename_reader_main, &rr), 0);
	for (int i = 0; i < 100000 && atomic_load(&rr.looks) == 0; i++)
		sched_yield();
	for (n = 0; n < 1000; n++) {
		snprintf(buf, sizeof(buf), "v-%d", n);
		write_str("tmp", buf);
		OK(rename("tmp", "target"));
	}
	atomic_store(&rr.done, true);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(atomic_load(&rr.looks) > 0, "the reader thread never ran");
	ck_assert_msg(rr.missing == 0, "the target was missing %lu times in %lu looks",
		      rr.missing, (unsigned long)atomic_load(&rr.looks));
	ck_assert_msg(rr.other == 0, "looking at the target failed %lu times, last %s", rr.other,
		      errname(rr.other_errno));
	expect_content("target", "v-999");
	FAILS(access("tmp", F_OK), ENOENT);
}
END_TEST

START_TEST(test_rename_basic)
{
	struct stat st;
	ino_t ino;
	int fd;

	/* File over file: the target's old inode loses its name. */
	write_str("a", "AAA");
	write_str("b", "BBBB");
	ino = ino_of("a");
	fd = OK(open("b", O_RDONLY));
	OK(rename("a", "b"));
	FAILS(lstat("a", &st), ENOENT);
	ck_assert_int_eq(ino_of("b"), ino);
	expect_content("b", "AAA");
	OK(fstat(fd, &st));
	ck_assert_int_eq(st.st_nlink, 0);
	OK(close(fd));

	/* Rename to itself, and between two links of one inode, are no-ops. */
	OK(rename("b", "b"));
	expect_content("b", "AAA");
	OK(link("b", "b2"));
	OK(rename("b", "b2"));
	ck_assert_int_eq(ino_of("b"), ino_of("b2"));
	ck_assert_int_eq(nlink_of("b"), 2);
	OK(mkdir("self", 0755));
	OK(rename("self", "self"));
	ck_assert(S_ISDIR(xlstat("self").st_mode));

	/* Directory over an empty directory. */
	OK(mkdir("d1", 0755));
	write_str("d1/inside", "in");
	OK(mkdir("d2", 0755));
	ck_assert_int_eq(nlink_of("."), 5);
	ino = ino_of("d1");
	OK(rename("d1", "d2"));
	ck_assert_int_eq(ino_of("d2"), ino);
	expect_content("d2/inside", "in");
	FAILS(lstat("d1", &st), ENOENT);
	ck_assert_int_eq(nlink_of("."), 4);

	/* Directory over a non-empty directory, file over dir, dir over file. */
	OK(mkdir("d3", 0755));
	FAILS(rename("d3", "d2"), ENOTEMPTY);
	FAILS(rename("b", "d3"), EISDIR);
	FAILS(rename("d3", "b"), ENOTDIR);
	/* A directory into its own subtree. */
	OK(mkdir("d3/sub", 0755));
	FAILS(rename("d3", "d3/sub/x"), EINVAL);
	FAILS(rename("d3", "d3/x"), EINVAL);
	FAILS(rename("missing", "x"), ENOENT);
	FAILS(rename("b", "missing/x"), ENOENT);
	FAILS(rename("b", "b/x"), ENOTDIR);
	expect_content("b", "AAA");
	ck_assert(S_ISDIR(xlstat("d3/sub").st_mode));
	expect_content("d2/inside", "in");
}
END_TEST

START_TEST(test_renameat2_noreplace)
{
	write_str("a", "A");
	write_str("b", "B");
	FAILS(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
	expect_content("a", "A");
	expect_content("b", "B");
	OK(mkdir("d", 0755));
	FAILS(renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_NOREPLACE), EEXIST);
	OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	expect_content("c", "A");
	FAILS(access("a", F_OK), ENOENT);
	FAILS(renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_NOREPLACE | RENAME_EXCHANGE),
	      EINVAL);
}
END_TEST

START_TEST(test_renameat2_exchange)
{
	struct stat st;
	ino_t ia, ib;

	/* file <-> file */
	write_str("a", "AAA");
	write_str("b", "BBBB");
	ia = ino_of("a");
	ib = ino_of("b");
	OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE));
	expect_content("a", "BBBB");
	expect_content("b", "AAA");
	ck_assert_int_eq(ino_of("a"), ib);
	ck_assert_int_eq(ino_of("b"), ia);
	FAILS(renameat2(AT_FDCWD, "a", AT_FDCWD, "missing", RENAME_EXCHANGE), ENOENT);

	/* file <-> dir in one directory: the parent's link count stays. */
	OK(mkdir("d", 0755));
	write_str("d/in", "in");
	ck_assert_int_eq(nlink_of("."), 3);
	OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_EXCHANGE));
	ck_assert(S_ISDIR(xlstat("a").st_mode));
	expect_content("a/in", "in");
	expect_content("d", "BBBB");
	ck_assert_int_eq(nlink_of("."), 3);

	/* dir <-> file across directories: link counts move with the dir. */
	OK(mkdir("p1", 0755));
	OK(mkdir("p2", 0755));
	OK(mkdir("p1/x", 0755));
	write_str("p2/y", "file-y");
	ck_assert_int_eq(nlink_of("p1"), 3);
	ck_assert_int_eq(nlink_of("p2"), 2);
	OK(renameat2(AT_FDCWD, "p1/x", AT_FDCWD, "p2/y", RENAME_EXCHANGE));
	expect_content("p1/x", "file-y");
	ck_assert(S_ISDIR(xlstat("p2/y").st_mode));
	ck_assert_int_eq(nlink_of("p1"), 2);
	ck_assert_int_eq(nlink_of("p2"), 3);
	OK(stat("p2/y/..", &st));
	ck_assert_msg(st.st_ino == ino_of("p2"), "'..' of the exchanged dir is not its new parent");

	/* dir <-> dir across directories: each '..' follows. */
	OK(mkdir("p1/da", 0755));
	OK(mkdir("p2/db", 0755));
	write_str("p1/da/tag", "da");
	write_str("p2/db/tag", "db");
	OK(renameat2(AT_FDCWD, "p1/da", AT_FDCWD, "p2/db", RENAME_EXCHANGE));
	expect_content("p1/da/tag", "db");
	expect_content("p2/db/tag", "da");
	OK(stat("p1/da/..", &st));
	ck_assert_int_eq(st.st_ino, ino_of("p1"));
	OK(stat("p2/db/..", &st));
	ck_assert_int_eq(st.st_ino, ino_of("p2"));
	ck_assert_int_eq(nlink_of("p1"), 3);
	ck_assert_int_eq(nlink_of("p2"), 4);
	/* A dir cannot be exchanged with its own ancestor. */
	FAILS(renameat2(AT_FDCWD, "p2", AT_FDCWD, "p2/db", RENAME_EXCHANGE), EINVAL);
}
END_TEST

START_TEST(test_rename_cross_dir)
{
	struct stat p1a, p2a, p1b, p2b, sub_a, sub_b, st;

	OK(mkdir("p1", 0755));
	OK(mkdir("p2", 0755));
	OK(mkdir("p1/sub", 0755));
	write_str("p1/sub/f", "deep");
	write_str("p1/file", "file");
	OK(lstat("p1", &p1a));
	OK(lstat("p2", &p2a));
	OK(lstat("p1/sub", &sub_a));
	ck_assert_int_eq(p1a.st_nlink, 3);
	ck_assert_int_eq(p2a.st_nlink, 2);
	wait_past_times("p1");
	wait_past_times("p2");
	wait_past_times("p1/sub");

	OK(rename("p1/sub", "p2/sub"));
	OK(lstat("p1", &p1b));
	OK(lstat("p2", &p2b));
	OK(lstat("p2/sub", &sub_b));
	ck_assert_int_eq(p1b.st_nlink, 2);
	ck_assert_int_eq(p2b.st_nlink, 3);
	ck_assert_msg(ts_cmp(&p1b.st_ctim, &p1a.st_ctim) > 0 &&
		      ts_cmp(&p1b.st_mtim, &p1a.st_mtim) > 0, "old parent's ctime/mtime unchanged");
	ck_assert_msg(ts_cmp(&p2b.st_ctim, &p2a.st_ctim) > 0 &&
		      ts_cmp(&p2b.st_mtim, &p2a.st_mtim) > 0, "new parent's ctime/mtime unchanged");
	ck_assert_msg(ts_cmp(&sub_b.st_ctim, &sub_a.st_ctim) > 0, "moved dir's ctime unchanged");
	ck_assert_int_eq(sub_b.st_ino, sub_a.st_ino);
	OK(stat("p2/sub/..", &st));
	ck_assert_int_eq(st.st_ino, p2b.st_ino);
	expect_content("p2/sub/f", "deep");

	/* Moving a file does not change the parents' link counts. */
	OK(rename("p1/file", "p2/file"));
	ck_assert_int_eq(nlink_of("p1"), 2);
	ck_assert_int_eq(nlink_of("p2"), 3);
	expect_content("p2/file", "file");

	/* Moving a dir over an empty dir in another parent. */
	OK(mkdir("p1/empty", 0755));
	ck_assert_int_eq(nlink_of("p1"), 3);
	OK(rename("p2/sub", "p1/empty"));
	ck_assert_int_eq(nlink_of("p1"), 3);
	ck_assert_int_eq(nlink_of("p2"), 2);
	expect_content("p1/empty/f", "deep");
}
END_TEST

/* ---- hard links --------------------------------------------------------- */

START_TEST(test_link)
{
	struct stat a, b;
	int fd;

	write_str("f", "shared");
	OK(link("f", "g"));
	OK(link("g", "h"));
	OK(lstat("f", &a));
	OK(lstat("h", &b));
	ck_assert_int_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(a.st_nlink, 3);
	ck_assert_int_eq(b.st_nlink, 3);

	fd = OK(open("h", O_WRONLY | O_APPEND));
	ck_assert_int_eq(OK(write(fd, "+more", 5)), 5);
	OK(close(fd));
	expect_content("f", "shared+more");
	expect_content("g", "shared+more");

	OK(unlink("f"));
	ck_assert_int_eq(nlink_of("g"), 2);
	expect_content("h", "shared+more");
	OK(unlink("g"));
	ck_assert_int_eq(nlink_of("h"), 1);

	OK(mkdir("d", 0755));
	FAILS(link("d", "dlink"), EPERM);
	FAILS(link("missing", "x"), ENOENT);
	write_str("other", "o");
	FAILS(link("h", "other"), EEXIST);
	FAILS(link("h", "missing/x"), ENOENT);
	OK(link("h", "d/inner"));
	ck_assert_int_eq(nlink_of("h"), 2);
	ck_assert_int_eq(nlink_of("d"), 2);
	expect_content("d/inner", "shared+more");
}
END_TEST

START_TEST(test_link_max_efs)
{
	char name[32];

	write_str("f", "x");
	for (int i = 2; i <= 177; i++) {
		snprintf(name, sizeof(name), "l%03d", i);
		OK(link("f", name));
	}
	ck_assert_int_eq(nlink_of("f"), 177);
	FAILS(link("f", "one-too-many"), EMLINK);
	ck_assert_int_eq(nlink_of("f"), 177);
	OK(unlink("l177"));
	OK(link("f", "again"));
	ck_assert_int_eq(nlink_of("again"), 177);
}
END_TEST

/* ---- name and path limits ------------------------------------------------ */

START_TEST(test_name_max)
{
	char n255[256], n256[257], n255b[256];
	struct stat st;
	DIR *dir;
	struct dirent *de;
	bool found = false;
	int fd;

	memset(n255, 'n', 255);
	n255[255] = '\0';
	memset(n255b, 'm', 255);
	n255b[255] = '\0';
	memset(n256, 'o', 256);
	n256[256] = '\0';

	fd = OK(open(n255, O_RDWR | O_CREAT | O_EXCL, 0644));
	OK(close(fd));
	OK(lstat(n255, &st));
	dir = opendir(".");
	ck_assert_msg(dir != NULL, "opendir: %s", errname(errno));
	while ((de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, n255) == 0)
			found = true;
	closedir(dir);
	ck_assert_msg(found, "the 255-byte name is not listed by readdir");
	OK(rename(n255, n255b));
	OK(lstat(n255b, &st));
	OK(mkdir(n255, 0755));
	OK(rmdir(n255));

	FAILS(open(n256, O_RDWR | O_CREAT, 0644), ENAMETOOLONG);
	FAILS(lstat(n256, &st), ENAMETOOLONG);
	FAILS(mkdir(n256, 0755), ENAMETOOLONG);
	FAILS(symlink("x", n256), ENAMETOOLONG);
	FAILS(link(n255b, n256), ENAMETOOLONG);
	FAILS(rename(n255b, n256), ENAMETOOLONG);
	FAILS(mknod(n256, S_IFIFO | 0644, 0), ENAMETOOLONG);
	OK(lstat(n255b, &st));
}
END_TEST

START_TEST(test_symlink_target_len)
{
	enum { OK_LEN = 4080 };
	char *target = xmalloc(PATH_MAX + 16), *buf = xmalloc(PATH_MAX + 16);

	memset(target, 't', PATH_MAX + 8);
	target[OK_LEN] = '\0';
	OK(symlink(target, "ok"));
	ck_assert_int_eq(xlstat("ok").st_size, OK_LEN);
	ck_assert_int_eq(OK(readlink("ok", buf, PATH_MAX)), OK_LEN);
	ck_assert(memcmp(buf, target, OK_LEN) == 0);

	/* The VFS refuses PATH_MAX (the terminating NUL included) everywhere. */
	target[OK_LEN] = 't';
	target[PATH_MAX] = '\0';
	FAILS(symlink(target, "too-long"), ENAMETOOLONG);
	if (g_efs_limits) {
		target[OK_LEN + 1] = '\0';
		FAILS(symlink(target, "4081"), ENAMETOOLONG);
		target[OK_LEN + 1] = 't';
		target[PATH_MAX - 1] = '\0';
		FAILS(symlink(target, "4095"), ENAMETOOLONG);
	}
	FAILS(access("too-long", F_OK), ENOENT);
	free(target);
	free(buf);
}
END_TEST

START_TEST(test_statfs)
{
	struct statvfs sv;
	struct statfs sf;

	OK(statvfs(".", &sv));
	OK(statfs(".", &sf));
	ck_assert_msg(sv.f_bsize > 0 && sv.f_frsize > 0, "statvfs f_bsize %lu f_frsize %lu",
		      sv.f_bsize, sv.f_frsize);
	ck_assert_int_eq(sv.f_namemax, 255);
	ck_assert_int_eq(sf.f_namelen, 255);
	ck_assert_msg(sv.f_blocks > 0, "f_blocks is 0");
	ck_assert_msg(sv.f_bfree <= sv.f_blocks && sv.f_bavail <= sv.f_blocks,
		      "f_bfree %llu f_bavail %llu exceed f_blocks %llu",
		      (unsigned long long)sv.f_bfree, (unsigned long long)sv.f_bavail,
		      (unsigned long long)sv.f_blocks);
	ck_assert_msg(sv.f_ffree <= sv.f_files, "f_ffree %llu > f_files %llu",
		      (unsigned long long)sv.f_ffree, (unsigned long long)sv.f_files);
	ck_assert_msg(sf.f_bsize > 0, "statfs f_bsize %ld", (long)sf.f_bsize);
}
END_TEST

START_TEST(test_statfs_efs)
{
	struct statvfs sv;
	unsigned __int128 total, avail, eib8 = ((unsigned __int128)1 << 63) - 1;

	OK(statvfs(".", &sv));
	total = (unsigned __int128)sv.f_blocks * sv.f_frsize;
	avail = (unsigned __int128)sv.f_bavail * sv.f_frsize;
	ck_assert_msg(total >= eib8, "statfs total %llu blocks of %lu bytes, expected >= 8 EiB",
		      (unsigned long long)sv.f_blocks, sv.f_frsize);
	ck_assert_msg(avail > 0, "no space available");
}
END_TEST

/* ---- symlinks ------------------------------------------------------------------ */

START_TEST(test_symlink)
{
	char buf[64];
	struct stat st;

	write_str("target", "through the link");
	OK(symlink("target", "l"));
	st = xlstat("l");
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(st.st_size, 6);
	ck_assert_int_eq(OK(readlink("l", buf, sizeof(buf))), 6);
	ck_assert(memcmp(buf, "target", 6) == 0);
	ck_assert_int_eq(OK(readlink("l", buf, 3)), 3);	/* truncated, no NUL */
	ck_assert(memcmp(buf, "tar", 3) == 0);
	OK(stat("l", &st));
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_ino, ino_of("target"));
	expect_content("l", "through the link");
	FAILS(readlink("target", buf, sizeof(buf)), EINVAL);
	FAILS(symlink("x", "l"), EEXIST);

	/* Relative targets resolve against the link's directory. */
	OK(mkdir("d", 0755));
	OK(symlink("../target", "d/up"));
	expect_content("d/up", "through the link");
	OK(symlink("d", "dl"));
	expect_content("dl/up", "through the link");

	OK(symlink("nowhere", "dangling"));
	ck_assert(S_ISLNK(xlstat("dangling").st_mode));
	FAILS(stat("dangling", &st), ENOENT);
	FAILS(open("dangling", O_RDONLY), ENOENT);
	OK(unlink("dangling"));

	OK(symlink("loop2", "loop1"));
	OK(symlink("loop1", "loop2"));
	FAILS(stat("loop1", &st), ELOOP);
	FAILS(open("loop1", O_RDONLY), ELOOP);
	FAILS(open("l", O_RDONLY | O_NOFOLLOW), ELOOP);
	OK(symlink("self", "self"));
	FAILS(stat("self/x", &st), ELOOP);
	/* unlink removes the link, not the target. */
	OK(unlink("l"));
	expect_content("target", "through the link");
}
END_TEST

/* ---- special files ------------------------------------------------------------- */

START_TEST(test_mknod_fifo_sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[16];
	struct stat st;
	int rfd, wfd, srv, cli, acc;

	umask(0);
	OK(mknod("p", S_IFIFO | 0640, 0));
	st = xlstat("p");
	ck_assert_msg(st.st_mode == (S_IFIFO | 0640), "fifo mode %o", st.st_mode);
	ck_assert_int_eq(st.st_size, 0);
	OK(mkfifo("p2", 0600));
	ck_assert_int_eq(xlstat("p2").st_mode, S_IFIFO | 0600);
	OK(mknod("s", S_IFSOCK | 0644, 0));
	ck_assert_int_eq(xlstat("s").st_mode, S_IFSOCK | 0644);
	OK(mknod("r", S_IFREG | 0604, 0));
	ck_assert_int_eq(xlstat("r").st_mode, S_IFREG | 0604);
	FAILS(mknod("p", S_IFIFO | 0640, 0), EEXIST);

	/* The FIFO carries data between two opens. */
	rfd = OK(open("p", O_RDONLY | O_NONBLOCK));
	wfd = OK(open("p", O_WRONLY | O_NONBLOCK));
	ck_assert_int_eq(OK(write(wfd, "fifo", 4)), 4);
	ck_assert_int_eq(OK(read(rfd, buf, sizeof(buf))), 4);
	ck_assert(memcmp(buf, "fifo", 4) == 0);
	close(wfd);
	close(rfd);

	/* bind() creates a socket inode that connect() finds again. */
	strcpy(sa.sun_path, "sock");
	srv = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(bind(srv, (struct sockaddr *)&sa, sizeof(sa)));
	st = xlstat("sock");
	ck_assert_msg(st.st_mode == (S_IFSOCK | 0777), "bound socket mode %o", st.st_mode);
	OK(listen(srv, 1));
	cli = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(cli, (struct sockaddr *)&sa, sizeof(sa)));
	acc = OK(accept(srv, NULL, NULL));
	ck_assert_int_eq(OK(send(cli, "ping", 4, 0)), 4);
	ck_assert_int_eq(OK(recv(acc, buf, sizeof(buf), 0)), 4);
	ck_assert(memcmp(buf, "ping", 4) == 0);
	close(acc);
	close(cli);
	cli = OK(socket(AF_UNIX, SOCK_STREAM, 0));
	FAILS(bind(cli, (struct sockaddr *)&sa, sizeof(sa)), EADDRINUSE);
	close(cli);
	close(srv);
	OK(unlink("sock"));
	FAILS(lstat("sock", &st), ENOENT);
	umask(022);
}
END_TEST

START_TEST(test_mknod_dev_efs)
{
	struct stat st;

	FAILS(mknod("chr", S_IFCHR | 0644, makedev(1, 3)), EPERM);
	FAILS(mknod("blk", S_IFBLK | 0644, makedev(7, 0)), EPERM);
	FAILS(lstat("chr", &st), ENOENT);
	FAILS(lstat("blk", &st), ENOENT);
}
END_TEST

/* ---- attributes and times --------------------------------------------------------- */

START_TEST(test_chmod)
{
	struct stat a, b;
	int fd;

	write_str("f", "x");
	OK(chmod("f", 0755));
	ck_assert_int_eq(perm_of("f"), 0755);
	OK(chmod("f", 07777));
	ck_assert_int_eq(perm_of("f"), 07777);
	OK(chmod("f", 0));
	ck_assert_int_eq(perm_of("f"), 0);
	fd = OK(open("f", O_RDONLY));	/* root ignores the bits */
	OK(fchmod(fd, 0600));
	OK(close(fd));
	ck_assert_int_eq(perm_of("f"), 0600);
	ck_assert(S_ISREG(xlstat("f").st_mode));

	OK(symlink("f", "l"));
	OK(chmod("l", 0640));
	ck_assert_int_eq(perm_of("f"), 0640);
	ck_assert(S_ISLNK(xlstat("l").st_mode));

	OK(mkdir("d", 0755));
	OK(chmod("d", 01777));
	ck_assert_int_eq(perm_of("d"), 01777);
	ck_assert(S_ISDIR(xlstat("d").st_mode));

	OK(lstat("f", &a));
	wait_past_times("f");
	OK(chmod("f", 0644));
	OK(lstat("f", &b));
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "chmod did not change ctime");
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) == 0, "chmod changed mtime");
	FAILS(chmod("missing", 0644), ENOENT);
}
END_TEST

START_TEST(test_chown)
{
	struct stat a, b;
	int fd;

	write_str("f", "x");
	OK(chown("f", UID_A, GID_A));
	a = xlstat("f");
	ck_assert_int_eq(a.st_uid, UID_A);
	ck_assert_int_eq(a.st_gid, GID_A);
	OK(chown("f", (uid_t)-1, GID_B));
	a = xlstat("f");
	ck_assert_int_eq(a.st_uid, UID_A);
	ck_assert_int_eq(a.st_gid, GID_B);
	OK(chown("f", (uid_t)-1, (gid_t)-1));
	ck_assert_int_eq(xlstat("f").st_gid, GID_B);
	fd = OK(open("f", O_RDONLY));
	OK(fchown(fd, 0, 0));
	OK(close(fd));
	ck_assert_int_eq(xlstat("f").st_uid, 0);
	ck_assert_int_eq(xlstat("f").st_gid, 0);

	OK(symlink("f", "l"));
	OK(lchown("l", UID_A, GID_A));
	ck_assert_int_eq(xlstat("l").st_uid, UID_A);
	ck_assert_int_eq(xlstat("f").st_uid, 0);
	OK(chown("l", UID_B, GID_B));
	ck_assert_int_eq(xlstat("f").st_uid, UID_B);
	ck_assert_int_eq(xlstat("l").st_uid, UID_A);

	/* A change of owner drops set-user-ID and (group-executable) set-group-ID. */
	OK(chmod("f", 06755));
	OK(chown("f", UID_A, (gid_t)-1));
	ck_assert_int_eq(perm_of("f"), 0755);
	/* A directory keeps them. */
	OK(mkdir("d", 0755));
	OK(chmod("d", 02755));
	OK(chown("d", UID_A, GID_A));
	ck_assert_int_eq(perm_of("d"), 02755);

	OK(lstat("f", &a));
	wait_past_times("f");
	OK(chown("f", UID_B, GID_B));
	OK(lstat("f", &b));
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "chown did not change ctime");
}
END_TEST

START_TEST(test_utimensat)
{
	struct timespec ts[2] = { { 1234567890, 123456789 }, { 1500000000, 987654321 } };
	struct timespec before, after;
	struct stat st;
	int fd;

	write_str("f", "x");
	OK(utimensat(AT_FDCWD, "f", ts, 0));
	st = xlstat("f");
	ck_assert_msg(ts_cmp(&st.st_atim, &ts[0]) == 0 && ts_cmp(&st.st_mtim, &ts[1]) == 0,
		      "atime %lld.%09ld mtime %lld.%09ld", (long long)st.st_atim.tv_sec,
		      st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

	/* UTIME_OMIT leaves atime; a time past 2038 survives. */
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 4102444800;	/* 2100-01-01 */
	ts[1].tv_nsec = 1;
	OK(utimensat(AT_FDCWD, "f", ts, 0));
	st = xlstat("f");
	ck_assert_int_eq(st.st_atim.tv_sec, 1234567890);
	ck_assert_int_eq(st.st_atim.tv_nsec, 123456789);
	ck_assert_int_eq(st.st_mtim.tv_sec, 4102444800);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 1);

	/* UTIME_NOW for mtime only. */
	clock_gettime(CLOCK_REALTIME_COARSE, &before);
	ts[1].tv_nsec = UTIME_NOW;
	OK(utimensat(AT_FDCWD, "f", ts, 0));
	clock_gettime(CLOCK_REALTIME, &after);
	st = xlstat("f");
	ck_assert_int_eq(st.st_atim.tv_sec, 1234567890);
	ck_assert_msg(ts_cmp(&st.st_mtim, &before) >= 0 && ts_cmp(&st.st_mtim, &after) <= 0,
		      "UTIME_NOW mtime %lld.%09ld not in [%lld.%09ld, %lld.%09ld]",
		      (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)before.tv_sec,
		      before.tv_nsec, (long long)after.tv_sec, after.tv_nsec);
	ck_assert(ts_cmp(&st.st_ctim, &before) >= 0 && ts_cmp(&st.st_ctim, &after) <= 0);

	/* NULL times through the fd set both to now. */
	fd = OK(open("f", O_RDONLY));
	clock_gettime(CLOCK_REALTIME_COARSE, &before);
	OK(futimens(fd, NULL));
	clock_gettime(CLOCK_REALTIME, &after);
	OK(fstat(fd, &st));
	OK(close(fd));
	ck_assert(ts_cmp(&st.st_atim, &before) >= 0 && ts_cmp(&st.st_atim, &after) <= 0);
	ck_assert(ts_cmp(&st.st_mtim, &before) >= 0 && ts_cmp(&st.st_mtim, &after) <= 0);

	/* AT_SYMLINK_NOFOLLOW changes the link, not its target. */
	OK(symlink("f", "l"));
	ts[0] = (struct timespec){ 1000000000, 5 };
	ts[1] = (struct timespec){ 1000000001, 6 };
	OK(utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
	st = xlstat("l");
	ck_assert(ts_cmp(&st.st_mtim, &ts[1]) == 0 && ts_cmp(&st.st_atim, &ts[0]) == 0);
	st = xlstat("f");
	ck_assert(ts_cmp(&st.st_mtim, &ts[1]) != 0);

	/* Directories too. */
	OK(mkdir("d", 0755));
	OK(utimensat(AT_FDCWD, "d", ts, 0));
	st = xlstat("d");
	ck_assert(ts_cmp(&st.st_mtim, &ts[1]) == 0);
	ts[0].tv_nsec = 1000000000;
	FAILS(utimensat(AT_FDCWD, "f", ts, 0), EINVAL);
}
END_TEST

START_TEST(test_mtime_on_write)
{
	struct stat a, b;
	char c;
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644));

	OK(fstat(fd, &a));
	wait_past_times("f");
	ck_assert_int_eq(OK(write(fd, "hello", 5)), 5);
	OK(fstat(fd, &b));
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) > 0, "write did not change mtime");
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "write did not change ctime");

	a = b;
	wait_past_times("f");
	ck_assert_int_eq(OK(pread(fd, &c, 1, 0)), 1);
	OK(fstat(fd, &b));
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) == 0, "read changed mtime");
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) == 0, "read changed ctime");

	a = b;
	wait_past_times("f");
	OK(ftruncate(fd, 2));
	OK(fstat(fd, &b));
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) > 0, "truncate did not change mtime");
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "truncate did not change ctime");
	OK(close(fd));

	/* The directory's mtime/ctime change when an entry is added or removed. */
	OK(lstat(".", &a));
	wait_past_times(".");
	write_str("g", "g");
	OK(lstat(".", &b));
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) > 0, "create did not change dir mtime");
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "create did not change dir ctime");
	a = b;
	wait_past_times(".");
	OK(unlink("g"));
	OK(lstat(".", &b));
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) > 0, "unlink did not change dir mtime");
}
END_TEST

START_TEST(test_ctime_ops)
{
	struct stat a, b;

	write_str("f", "x");
	OK(lstat("f", &a));
	wait_past_times("f");
	OK(link("f", "g"));
	OK(lstat("f", &b));
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "link did not change ctime");
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) == 0, "link changed mtime");

	a = b;
	wait_past_times("f");
	OK(rename("g", "h"));
	OK(lstat("f", &b));
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "rename did not change ctime");
	ck_assert_msg(ts_cmp(&b.st_mtim, &a.st_mtim) == 0, "rename changed mtime");

	a = b;
	wait_past_times("f");
	OK(unlink("h"));
	OK(lstat("f", &b));
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "unlink of a link did not change ctime");

	a = b;
	wait_past_times("f");
	OK(chmod("f", 0600));
	OK(lstat("f", &b));
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "chmod did not change ctime");

	a = b;
	wait_past_times("f");
	OK(setxattr("f", "user.t", "v", 1, 0));
	OK(lstat("f", &b));
	ck_assert_msg(ts_cmp(&b.st_ctim, &a.st_ctim) > 0, "setxattr did not change ctime");
}
END_TEST

/* ---- permissions as non-root -------------------------------------------------- */

static void child_open_perms(void)
{
	char buf[16];
	struct stat st;
	int fd;

	C_FAILS(open("f600", O_RDONLY), EACCES);
	C_FAILS(open("f600", O_WRONLY), EACCES);
	C_FAILS(access("f600", R_OK), EACCES);
	C_OK(stat("f600", &st));
	C_CHECK(st.st_uid == 0 && (st.st_mode & 07777) == 0600, "f600 uid %u mode %o",
		(unsigned)st.st_uid, st.st_mode);
	fd = C_OK(open("f644", O_RDONLY));
	C_CHECK(read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, "public", 6) == 0,
		"reading f644");
	close(fd);
	C_OK(access("f644", R_OK));
	C_FAILS(open("f644", O_WRONLY), EACCES);
	C_FAILS(open("f644", O_RDWR), EACCES);
	C_FAILS(truncate("f644", 0), EACCES);
	fd = C_OK(open("f666", O_WRONLY));
	C_CHECK(write(fd, "W", 1) == 1, "write to f666: %s", errname(errno));
	close(fd);
	C_FAILS(opendir("d700") ? 0 : -1, EACCES);
	C_FAILS(stat("d700/inner", &st), EACCES);
	C_FAILS(open("d711/inner", O_WRONLY), EACCES);
	fd = C_OK(open("d711/inner", O_RDONLY));	/* search permission is enough */
	close(fd);
	C_FAILS(opendir("d711") ? 0 : -1, EACCES);
}

START_TEST(test_perm_open)
{
	write_file("f600", "secret", 6, 0600);
	write_file("f644", "public", 6, 0644);
	write_file("f666", "shared", 6, 0666);
	OK(chmod("f666", 0666));
	OK(mkdir("d700", 0700));
	write_str("d700/inner", "x");
	OK(mkdir("d711", 0711));
	write_str("d711/inner", "x");
	run_as(UID_A, GID_A, child_open_perms, "open permissions");
	expect_content("f666", "Whared");
	expect_content("f644", "public");
}
END_TEST

static void child_create_perms(void)
{
	struct stat st;
	int fd;

	C_FAILS(open("d755/new", O_WRONLY | O_CREAT, 0644), EACCES);
	C_FAILS(mkdir("d755/newdir", 0755), EACCES);
	C_FAILS(unlink("d755/rootfile"), EACCES);
	C_FAILS(rename("d755/rootfile", "d777/moved"), EACCES);
	C_FAILS(symlink("x", "d755/link"), EACCES);
	C_FAILS(mknod("d755/fifo", S_IFIFO | 0644, 0), EACCES);

	fd = C_OK(open("d777/new", O_WRONLY | O_CREAT | O_EXCL, 0644));
	C_OK(fstat(fd, &st));
	C_CHECK(st.st_uid == UID_A && st.st_gid == GID_A, "new file owned by %u:%u",
		(unsigned)st.st_uid, (unsigned)st.st_gid);
	close(fd);
	C_OK(mkdir("d777/newdir", 0755));
	st = c_lstat("d777/newdir");
	C_CHECK(st.st_uid == UID_A && st.st_gid == GID_A, "new dir owned by %u:%u",
		(unsigned)st.st_uid, (unsigned)st.st_gid);
	C_OK(symlink("new", "d777/link"));
	C_CHECK(c_lstat("d777/link").st_uid == UID_A, "symlink owner");
	/* Without the sticky bit, anyone with write access may remove any entry. */
	C_OK(unlink("d777/rootfile"));
	C_OK(rename("d777/new", "d777/renamed"));
}

START_TEST(test_perm_create)
{
	OK(mkdir("d755", 0755));
	OK(mkdir("d777", 0777));
	OK(chmod("d777", 0777));
	write_str("d755/rootfile", "r");
	write_str("d777/rootfile", "r");
	run_as(UID_A, GID_A, child_create_perms, "create permissions");
	expect_content("d755/rootfile", "r");
	FAILS(access("d777/rootfile", F_OK), ENOENT);
	ck_assert_int_eq(xlstat("d777/renamed").st_uid, UID_A);
}
END_TEST

static void child_sticky_b(void)
{
	int fd;

	umask(0);
	fd = C_OK(open("t/b", O_WRONLY | O_CREAT | O_EXCL, 0666));

	C_CHECK(write(fd, "B's", 3) == 3, "write");
	close(fd);
	C_OK(mkdir("t/bd", 0777));
}

static void child_sticky_a(void)
{
	int fd;

	C_FAILS(unlink("t/b"), EPERM);
	C_FAILS(rename("t/b", "t/stolen"), EPERM);
	C_FAILS(rmdir("t/bd"), EPERM);
	fd = C_OK(open("t/a", O_WRONLY | O_CREAT | O_EXCL, 0666));
	close(fd);
	C_FAILS(rename("t/a", "t/b"), EPERM);	/* would replace B's file */
	C_OK(rename("t/a", "t/a2"));
	fd = C_OK(open("t/a3", O_WRONLY | O_CREAT | O_EXCL, 0666));
	close(fd);
	C_OK(unlink("t/a3"));
	/* Write permission on B's file still allows writing it, not removing it. */
	fd = C_OK(open("t/b", O_WRONLY | O_APPEND));
	C_CHECK(write(fd, "+A", 2) == 2, "append to t/b");
	close(fd);
}

START_TEST(test_sticky)
{
	OK(mkdir("t", 0755));
	OK(chmod("t", 01777));
	run_as(UID_B, GID_B, child_sticky_b, "sticky setup as B");
	run_as(UID_A, GID_A, child_sticky_a, "sticky dir as A");
	expect_content("t/b", "B's+A");
	ck_assert_int_eq(xlstat("t/b").st_uid, UID_B);
	ck_assert_int_eq(xlstat("t/a2").st_uid, UID_A);
	ck_assert(S_ISDIR(xlstat("t/bd").st_mode));
	FAILS(access("t/stolen", F_OK), ENOENT);
	/* The owner of the directory (root here) may remove anything. */
	OK(unlink("t/b"));
}
END_TEST

enum { SGID_GID = 4242 };

static void child_setgid(void)
{
	struct stat st;
	int fd = C_OK(open("g/cf", O_WRONLY | O_CREAT | O_EXCL, 0644));

	C_OK(fstat(fd, &st));
	close(fd);
	C_CHECK(st.st_uid == UID_A && st.st_gid == SGID_GID, "g/cf owned by %u:%u",
		(unsigned)st.st_uid, (unsigned)st.st_gid);
	C_OK(mkdir("g/cd", 0755));
	st = c_lstat("g/cd");
	C_CHECK(st.st_gid == SGID_GID && (st.st_mode & S_ISGID), "g/cd gid %u mode %o",
		(unsigned)st.st_gid, st.st_mode);
	/* A non-member cannot create a setgid file in a group it is not in. */
	fd = C_OK(open("g/sg", O_WRONLY | O_CREAT | O_EXCL, 02755));
	C_OK(fstat(fd, &st));
	close(fd);
	C_CHECK(st.st_gid == SGID_GID && (st.st_mode & 07777) == 0755, "g/sg gid %u mode %o",
		(unsigned)st.st_gid, st.st_mode);
}

START_TEST(test_setgid_dir)
{
	struct stat st;

	OK(mkdir("g", 0777));
	OK(chown("g", 0, SGID_GID));
	OK(chmod("g", 02777));
	write_str("g/f", "x");
	st = xlstat("g/f");
	ck_assert_int_eq(st.st_gid, SGID_GID);
	ck_assert_int_eq(st.st_mode & S_ISGID, 0);
	OK(mkdir("g/sub", 0755));
	st = xlstat("g/sub");
	ck_assert_int_eq(st.st_gid, SGID_GID);
	ck_assert_msg(st.st_mode & S_ISGID, "subdir of a setgid dir lacks S_ISGID: %o",
		      st.st_mode);
	OK(mkdir("g/sub/deeper", 0700));
	st = xlstat("g/sub/deeper");
	ck_assert_int_eq(st.st_gid, SGID_GID);
	ck_assert_int_eq(st.st_mode & 07777, 02700);
	OK(mkfifo("g/p", 0644));
	ck_assert_int_eq(xlstat("g/p").st_gid, SGID_GID);
	OK(symlink("f", "g/l"));
	ck_assert_int_eq(xlstat("g/l").st_gid, SGID_GID);
	run_as(UID_A, GID_A, child_setgid, "setgid directory");
	/* Without the bit, new files take the creator's group. */
	OK(mkdir("plain", 0777));
	OK(chown("plain", 0, SGID_GID));
	write_str("plain/f", "x");
	ck_assert_int_eq(xlstat("plain/f").st_gid, 0);
}
END_TEST

static void child_nonowner_attrs(void)
{
	struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };

	C_FAILS(chmod("f666", 0777), EPERM);
	C_FAILS(chown("f666", UID_A, (gid_t)-1), EPERM);
	C_FAILS(chown("f666", (uid_t)-1, GID_A), EPERM);
	C_FAILS(utimensat(AT_FDCWD, "f666", ts, 0), EPERM);
	C_OK(utimensat(AT_FDCWD, "f666", NULL, 0));	/* write access suffices for "now" */
	C_FAILS(utimensat(AT_FDCWD, "f644", NULL, 0), EACCES);
	C_FAILS(setxattr("f644", "user.x", "v", 1, 0), EACCES);
	C_OK(setxattr("f666", "user.x", "v", 1, 0));
	/* The owner may chmod, and chgrp only to its own groups. */
	C_OK(chmod("mine", 0600));
	C_FAILS(chown("mine", (uid_t)-1, 0), EPERM);
	C_OK(chown("mine", (uid_t)-1, GID_A));
}

START_TEST(test_chmod_nonowner)
{
	struct stat st;

	write_file("f666", "x", 1, 0666);
	OK(chmod("f666", 0666));
	write_file("f644", "x", 1, 0644);
	write_file("mine", "x", 1, 0644);
	OK(chown("mine", UID_A, GID_B));
	OK(utimensat(AT_FDCWD, "f666", (struct timespec[2]){ { 5, 0 }, { 5, 0 } }, 0));
	run_as(UID_A, GID_A, child_nonowner_attrs, "attributes as non-owner");
	st = xlstat("f666");
	ck_assert_int_eq(st.st_mode & 07777, 0666);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_msg(st.st_mtim.tv_sec > 5, "utimensat(NULL) by a writer did not set mtime");
	st = xlstat("mine");
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_gid, GID_A);
}
END_TEST

static void child_write_setid(void)
{
	int fd = C_OK(open("suid", O_WRONLY));

	C_CHECK(write(fd, "w", 1) == 1, "write suid: %s", errname(errno));
	close(fd);
	fd = C_OK(open("sgid", O_WRONLY));
	C_CHECK(write(fd, "w", 1) == 1, "write sgid: %s", errname(errno));
	close(fd);
	C_OK(truncate("suidt", 2));
}

/* File capabilities go with a write (by anyone, root too), a truncate and a
 * change of owner, as on ext4.  A v2 security.capability value: magic and
 * flags, then permitted/inheritable for the two 32-bit halves. */
static void set_file_cap(const char *path)
{
	static const unsigned char cap[20] = {
		0x01, 0x00, 0x00, 0x02,          /* VFS_CAP_REVISION_2, effective */
		0x00, 0x04, 0x00, 0x00,          /* permitted: CAP_NET_BIND_SERVICE */
	};

	OK(setxattr(path, "security.capability", cap, sizeof(cap), 0));
	ck_assert_int_eq(getxattr(path, "security.capability", NULL, 0), (ssize_t)sizeof(cap));
}

static bool has_file_cap(const char *path)
{
	ssize_t n = getxattr(path, "security.capability", NULL, 0);

	ck_assert_msg(n >= 0 || errno == ENODATA, "getxattr %s: %s", path, errname(errno));
	return n >= 0;
}

START_TEST(test_file_caps_dropped)
{
	int fd;

	write_file("w", "data", 4, 0755);
	set_file_cap("w");
	fd = OK(open("w", O_WRONLY));
	ck_assert(has_file_cap("w"));            /* opening is not writing */
	ck_assert_int_eq(OK(write(fd, "x", 1)), 1);
	OK(close(fd));
	ck_assert_msg(!has_file_cap("w"), "security.capability kept after a write");
	expect_content("w", "xata");

	write_file("t", "data", 4, 0755);
	set_file_cap("t");
	OK(truncate("t", 2));
	ck_assert_msg(!has_file_cap("t"), "security.capability kept after a truncate");

	write_file("o", "data", 4, 0755);
	set_file_cap("o");
	OK(chown("o", UID_A, GID_A));
	ck_assert_msg(!has_file_cap("o"), "security.capability kept after a chown");
}
END_TEST

START_TEST(test_setuid_cleared_on_write)
{
	int fd;

	umask(0);
	write_file("suid", "data", 4, 0777);
	OK(chmod("suid", 04777));
	write_file("sgid", "data", 4, 0777);
	OK(chmod("sgid", 02777));
	write_file("rootw", "data", 4, 0777);
	OK(chmod("rootw", 04777));
	write_file("suidt", "data", 4, 0777);
	OK(chmod("suidt", 06777));
	run_as(UID_A, GID_A, child_write_setid, "write to set-id files");
	ck_assert_msg(perm_of("suid") == 0777, "after a write by non-owner: %o", perm_of("suid"));
	ck_assert_msg(perm_of("sgid") == 0777, "after a write by non-owner: %o", perm_of("sgid"));
	ck_assert_msg(perm_of("suidt") == 0777, "after a truncate by non-owner: %o",
		      perm_of("suidt"));
	ck_assert_int_eq(xlstat("suidt").st_size, 2);
	expect_content("suid", "wata");
	/* root (CAP_FSETID) keeps the bit when it writes. */
	fd = OK(open("rootw", O_WRONLY));
	ck_assert_int_eq(OK(write(fd, "w", 1)), 1);
	OK(close(fd));
	ck_assert_int_eq(perm_of("rootw"), 04777);
	umask(022);
}
END_TEST

/* ---- sync ---------------------------------------------------------------- */

START_TEST(test_fsync)
{
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644)), dfd;

	pwrite_all(fd, "durable", 7, 0);
	OK(fsync(fd));
	pwrite_all(fd, "!", 1, 7);
	OK(fdatasync(fd));
	OK(syncfs(fd));
	OK(close(fd));
	fd = OK(open("f", O_RDONLY));
	OK(fsync(fd));
	OK(close(fd));
	expect_content("f", "durable!");

	OK(mkdir("d", 0755));
	dfd = OK(open("d", O_RDONLY | O_DIRECTORY));
	OK(fsync(dfd));
	OK(fdatasync(dfd));
	OK(close(dfd));
	dfd = OK(open(".", O_RDONLY | O_DIRECTORY));
	OK(fsync(dfd));
	OK(close(dfd));
}
END_TEST

/* ---- readdir --------------------------------------------------------------------- */

START_TEST(test_readdir_exact)
{
	static const struct {
		const char *name;
		unsigned char type;
	} want[] = {
		{ ".", DT_DIR }, { "..", DT_DIR }, { "f", DT_REG }, { "d", DT_DIR },
		{ "l", DT_LNK }, { "p", DT_FIFO }, { "s", DT_SOCK },
	};
	enum { N = sizeof(want) / sizeof(want[0]) };
	int seen[N] = { 0 };
	struct dirent *de;
	DIR *dir;
	int total = 0;

	OK(mkdir("e", 0755));
	dir = opendir("e");
	ck_assert_msg(dir != NULL, "opendir(e): %s", errname(errno));
	while ((de = readdir(dir)) != NULL) {
		ck_assert_msg(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0,
			      "empty dir lists '%s'", de->d_name);
		total++;
	}
	closedir(dir);
	ck_assert_int_eq(total, 2);

	write_str("f", "x");
	OK(mkdir("d", 0755));
	OK(symlink("f", "l"));
	OK(mkfifo("p", 0644));
	OK(mknod("s", S_IFSOCK | 0644, 0));
	OK(rmdir("e"));
	dir = opendir(".");
	ck_assert_msg(dir != NULL, "opendir(.): %s", errname(errno));
	total = 0;
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		int i;

		for (i = 0; i < N; i++)
			if (strcmp(de->d_name, want[i].name) == 0)
				break;
		ck_assert_msg(i < N, "readdir returned unexpected entry '%s'", de->d_name);
		seen[i]++;
		total++;
		ck_assert_msg(de->d_type == want[i].type, "'%s': d_type %d, expected %d",
			      de->d_name, de->d_type, want[i].type);
		if (i != 1)
			ck_assert_msg(de->d_ino == ino_of(de->d_name), "'%s': d_ino %llu != st_ino",
				      de->d_name, (unsigned long long)de->d_ino);
		errno = 0;
	}
	ck_assert_msg(errno == 0, "readdir failed: %s", errname(errno));
	closedir(dir);
	for (int i = 0; i < N; i++)
		ck_assert_msg(seen[i] == 1, "'%s' listed %d times", want[i].name, seen[i]);
	ck_assert_int_eq(total, N);
}
END_TEST

/* Names long enough that 300 entries span several getdents buffers. */
#define RD_PAD "_padding_padding_padding_padding_padding_padding_padding_padding_padding" \
	       "_padding_padding_padding_padding_padding_padding_padding_padding_padding" \
	       "_padding_padding_padding_padding_padding_end"

static void rd_name(char *buf, size_t len, char kind, int n)
{
	snprintf(buf, len, "%c%04d%s", kind, n, RD_PAD);
}

/* Iterate a directory of 150 "k" (kept) and 150 "v" (victim) files, unlinking each
 * victim once seen and creating an "n" file per entry seen; with small_buf the raw
 * getdents64 is used with a tiny buffer. */
static void readdir_under_modification(bool small_buf)
{
	enum { HALF = 150, MAXNEW = 4000 };
	int kseen[HALF] = { 0 }, vseen[HALF] = { 0 };
	static int nseen[MAXNEW];
	char name[300];
	int created = 0, entries = 0;

	memset(nseen, 0, sizeof(nseen));
	OK(mkdir("r", 0755));
	OK(chdir("r"));
	for (int i = 0; i < HALF; i++) {
		int fd;

		rd_name(name, sizeof(name), 'k', i);
		fd = OK(open(name, O_WRONLY | O_CREAT, 0644));
		OK(close(fd));
		rd_name(name, sizeof(name), 'v', i);
		fd = OK(open(name, O_WRONLY | O_CREAT, 0644));
		OK(close(fd));
	}

	DIR *dir = small_buf ? NULL : opendir(".");
	int dfd = small_buf ? OK(open(".", O_RDONLY | O_DIRECTORY)) : -1;
	char dbuf[1024] __attribute__((aligned(8)));
	size_t dpos = 0, dlen = 0;

	ck_assert(small_buf || dir != NULL);
	for (;;) {
		const char *dn;

		if (small_buf) {
			struct dirent64 *d;

			if (dpos >= dlen) {
				ssize_t n = OK(getdents64(dfd, dbuf, sizeof(dbuf)));

				if (n == 0)
					break;
				dlen = (size_t)n;
				dpos = 0;
			}
			d = (struct dirent64 *)(dbuf + dpos);
			dpos += d->d_reclen;
			dn = d->d_name;
		} else {
			struct dirent *de;

			errno = 0;
			de = readdir(dir);
			if (de == NULL) {
				ck_assert_msg(errno == 0, "readdir: %s", errname(errno));
				break;
			}
			dn = de->d_name;
		}
		ck_assert_msg(++entries < 5000, "readdir does not terminate");
		if (strcmp(dn, ".") == 0 || strcmp(dn, "..") == 0)
			continue;
		int num = atoi(dn + 1);

		switch (dn[0]) {
		case 'k':
			ck_assert(num >= 0 && num < HALF);
			kseen[num]++;
			break;
		case 'v':
			ck_assert(num >= 0 && num < HALF);
			vseen[num]++;
			OK(unlink(dn));
			break;
		case 'n':
			ck_assert(num >= 0 && num < MAXNEW);
			nseen[num]++;
			break;
		default:
			ck_abort_msg("unexpected entry %s", dn);
		}
		ck_assert(created < MAXNEW);
		rd_name(name, sizeof(name), 'n', created++);
		int fd = OK(open(name, O_WRONLY | O_CREAT | O_EXCL, 0644));

		OK(close(fd));
	}
	if (small_buf)
		OK(close(dfd));
	else
		closedir(dir);
	for (int i = 0; i < HALF; i++) {
		ck_assert_msg(kseen[i] == 1, "kept entry k%04d returned %d times", i, kseen[i]);
		ck_assert_msg(vseen[i] == 1, "entry v%04d (unlinked once seen) returned %d times",
			      i, vseen[i]);
	}
	for (int i = 0; i < created; i++)
		ck_assert_msg(nseen[i] <= 1, "new entry n%04d returned %d times", i, nseen[i]);
	OK(chdir(".."));
}

START_TEST(test_readdir_modify)
{
	readdir_under_modification(false);
}
END_TEST

START_TEST(test_getdents_modify)
{
	readdir_under_modification(true);
}
END_TEST

START_TEST(test_telldir_seekdir)
{
	enum { N = 120 };
	char name[300], names[N + 2][300];
	long pos[N + 2];
	struct dirent *de;
	int count = 0;
	DIR *dir;

	for (int i = 0; i < N; i++) {
		rd_name(name, sizeof(name), 'f', i);
		write_file(name, "", 0, 0644);
	}
	dir = opendir(".");
	ck_assert_msg(dir != NULL, "opendir: %s", errname(errno));
	for (;;) {
		long p = telldir(dir);

		de = readdir(dir);
		if (de == NULL)
			break;
		ck_assert(count < N + 2);
		pos[count] = p;
		strcpy(names[count++], de->d_name);
	}
	ck_assert_int_eq(count, N + 2);
	static const int probes[] = { 0, 1, 7, 60, N / 2 + 1, N - 3, N + 1, 30, 2 };

	for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
		int i = probes[k];

		seekdir(dir, pos[i]);
		ck_assert_int_eq(telldir(dir), pos[i]);
		de = readdir(dir);
		ck_assert_msg(de != NULL && strcmp(de->d_name, names[i]) == 0,
			      "seekdir to entry %d gave '%s', expected '%s'", i,
			      de ? de->d_name : "(end)", names[i]);
		if (i + 1 < count) {
			de = readdir(dir);
			ck_assert_msg(de != NULL && strcmp(de->d_name, names[i + 1]) == 0,
				      "entry after %d after seekdir is wrong", i);
		}
	}
	rewinddir(dir);
	count = 0;
	while ((de = readdir(dir)) != NULL)
		count++;
	ck_assert_int_eq(count, N + 2);
	rewinddir(dir);
	de = readdir(dir);
	ck_assert(de != NULL && strcmp(de->d_name, names[0]) == 0);
	closedir(dir);
}
END_TEST

/* ---- xattrs ------------------------------------------------------------------------------- */

/* Sorted, comma-joined list of the user.* names of path (others are ignored). */
static void user_xattrs(const char *path, char *out, size_t outlen)
{
	char buf[4096], *names[64];
	ssize_t len = OK(llistxattr(path, buf, sizeof(buf)));
	int n = 0;

	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(buf + i) + 1)
		if (strncmp(buf + i, "user.", 5) == 0 && n < 64)
			names[n++] = buf + i;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strncat(out, ",", outlen - strlen(out) - 1);
		strncat(out, names[i], outlen - strlen(out) - 1);
	}
}

static void expect_xattr(const char *path, const char *name, const void *val, size_t len)
{
	char buf[256];
	ssize_t n = lgetxattr(path, name, buf, sizeof(buf));

	ck_assert_msg(n >= 0, "getxattr(%s, %s): %s", path, name, errname(errno));
	ck_assert_msg((size_t)n == len && memcmp(buf, val, len) == 0,
		      "getxattr(%s, %s): %zd bytes, expected %zu", path, name, n, len);
}

START_TEST(test_xattr_basic)
{
	char list[1024];

	write_str("f", "x");
	user_xattrs("f", list, sizeof(list));
	ck_assert_str_eq(list, "");
	OK(setxattr("f", "user.alpha", "one", 3, 0));
	OK(setxattr("f", "user.beta", "two2", 4, 0));
	OK(setxattr("f", "user.empty", "", 0, 0));
	expect_xattr("f", "user.alpha", "one", 3);
	expect_xattr("f", "user.beta", "two2", 4);
	expect_xattr("f", "user.empty", "", 0);
	user_xattrs("f", list, sizeof(list));
	ck_assert_str_eq(list, "user.alpha,user.beta,user.empty");

	OK(setxattr("f", "user.alpha", "replaced!", 9, 0));
	expect_xattr("f", "user.alpha", "replaced!", 9);
	OK(setxattr("f", "user.alpha", "s", 1, 0));	/* shrink */
	expect_xattr("f", "user.alpha", "s", 1);
	OK(removexattr("f", "user.beta"));
	user_xattrs("f", list, sizeof(list));
	ck_assert_str_eq(list, "user.alpha,user.empty");

	int fd = OK(open("f", O_RDONLY));

	OK(fsetxattr(fd, "user.viafd", "fd", 2, 0));
	char buf[8];

	ck_assert_int_eq(OK(fgetxattr(fd, "user.alpha", buf, sizeof(buf))), 1);
	OK(fremovexattr(fd, "user.alpha"));
	OK(close(fd));
	user_xattrs("f", list, sizeof(list));
	ck_assert_str_eq(list, "user.empty,user.viafd");
}
END_TEST

START_TEST(test_xattr_errors)
{
	char buf[64], longname[300];
	ssize_t n;

	write_str("f", "x");
	FAILS(getxattr("f", "user.missing", buf, sizeof(buf)), ENODATA);
	FAILS(removexattr("f", "user.missing"), ENODATA);
	FAILS(setxattr("f", "user.new", "v", 1, XATTR_REPLACE), ENODATA);
	FAILS(getxattr("f", "user.new", buf, sizeof(buf)), ENODATA);
	OK(setxattr("f", "user.new", "v", 1, XATTR_CREATE));
	FAILS(setxattr("f", "user.new", "w", 1, XATTR_CREATE), EEXIST);
	expect_xattr("f", "user.new", "v", 1);
	OK(setxattr("f", "user.new", "hello", 5, XATTR_REPLACE));
	expect_xattr("f", "user.new", "hello", 5);

	/* Size queries and ERANGE. */
	ck_assert_int_eq(OK(getxattr("f", "user.new", NULL, 0)), 5);
	FAILS(getxattr("f", "user.new", buf, 4), ERANGE);
	n = OK(listxattr("f", NULL, 0));
	ck_assert_msg(n >= (ssize_t)sizeof("user.new"), "listxattr size query returned %zd", n);
	FAILS(listxattr("f", buf, 1), ERANGE);
	ck_assert_int_eq(OK(listxattr("f", buf, sizeof(buf))), n);

	/* Name limits (VFS): 255 bytes. */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "user.", 5);
	longname[256] = '\0';
	FAILS(setxattr("f", longname, "v", 1, 0), ERANGE);
	longname[255] = '\0';
	OK(setxattr("f", longname, "v", 1, 0));
	expect_xattr("f", longname, "v", 1);
	FAILS(setxattr("f", "user.", "v", 1, 0), EINVAL);
	FAILS(setxattr("f", "bogus.ns", "v", 1, 0), EOPNOTSUPP);
	FAILS(getxattr("missing", "user.new", buf, sizeof(buf)), ENOENT);

	/* user.* is not allowed on symlinks. */
	OK(symlink("f", "l"));
	FAILS(lsetxattr("l", "user.x", "v", 1, 0), EPERM);
	FAILS(lgetxattr("l", "user.new", buf, sizeof(buf)), ENODATA);
	ck_assert_int_eq(OK(getxattr("l", "user.new", buf, sizeof(buf))), 5);	/* follows */
}
END_TEST

START_TEST(test_xattr_values)
{
	const char bin[] = { 'a', '\0', 'b', '\0', '\0', (char)0xff, '\n', '\0' };
	char buf[64];

	write_str("f", "x");
	OK(setxattr("f", "user.bin", bin, sizeof(bin), 0));
	ck_assert_int_eq(OK(getxattr("f", "user.bin", buf, sizeof(buf))), sizeof(bin));
	ck_assert(memcmp(buf, bin, sizeof(bin)) == 0);
	OK(setxattr("f", "user.nul", "\0", 1, 0));
	ck_assert_int_eq(OK(getxattr("f", "user.nul", buf, sizeof(buf))), 1);
	ck_assert_int_eq(buf[0], 0);
	/* Names are compared exactly (case and all). */
	OK(setxattr("f", "user.Case", "U", 1, 0));
	OK(setxattr("f", "user.case", "l", 1, 0));
	expect_xattr("f", "user.Case", "U", 1);
	expect_xattr("f", "user.case", "l", 1);
}
END_TEST

START_TEST(test_xattr_64k)
{
	const size_t len = 65536;
	unsigned char *val = xmalloc(len + 1), *buf = xmalloc(len + 16);

	write_str("f", "x");
	fill_pattern(val, len + 1, 0, 11);
	val[100] = 0;
	OK(setxattr("f", "user.big", val, len, 0));
	ck_assert_int_eq(OK(getxattr("f", "user.big", NULL, 0)), len);
	ck_assert_int_eq(OK(getxattr("f", "user.big", buf, len + 16)), len);
	ck_assert(memcmp(buf, val, len) == 0);
	FAILS(getxattr("f", "user.big", buf, len - 1), ERANGE);
	FAILS(setxattr("f", "user.toobig", val, len + 1, 0), E2BIG);
	free(val);
	free(buf);
}
END_TEST

START_TEST(test_xattr_dir_and_lifecycle)
{
	char list[1024];
	char buf[16];
	int fd;

	OK(mkdir("d", 0755));
	OK(setxattr("d", "user.dirattr", "dir", 3, 0));
	expect_xattr("d", "user.dirattr", "dir", 3);
	OK(rename("d", "d2"));
	expect_xattr("d2", "user.dirattr", "dir", 3);
	OK(rmdir("d2"));
	OK(mkdir("d2", 0755));
	user_xattrs("d2", list, sizeof(list));
	ck_assert_msg(strcmp(list, "") == 0, "a new dir has xattrs of a removed one: %s", list);

	write_str("f", "x");
	OK(setxattr("f", "user.k", "kept", 4, 0));
	OK(rename("f", "g"));
	expect_xattr("g", "user.k", "kept", 4);
	OK(link("g", "h"));
	expect_xattr("h", "user.k", "kept", 4);
	OK(setxattr("h", "user.k2", "v2", 2, 0));
	expect_xattr("g", "user.k2", "v2", 2);
	fd = OK(open("g", O_RDONLY));
	OK(unlink("g"));
	OK(unlink("h"));
	ck_assert_int_eq(OK(fgetxattr(fd, "user.k", buf, sizeof(buf))), 4);
	ck_assert(memcmp(buf, "kept", 4) == 0);
	OK(close(fd));
	write_str("g", "new");
	user_xattrs("g", list, sizeof(list));
	ck_assert_msg(strcmp(list, "") == 0, "a new file has xattrs of a removed one: %s", list);
	FAILS(getxattr("g", "user.k", buf, sizeof(buf)), ENODATA);
}
END_TEST

/* ---- fallocate ---------------------------------------------------------- */

START_TEST(test_fallocate)
{
	const size_t len = 12 * MiB;
	unsigned char *data = xmalloc(len), *buf = xmalloc(len);
	struct stat a, b;
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644));

	/* Mode 0 extends the size; the new range reads as zeros. */
	OK(fallocate(fd, 0, 0, (off_t)(1 * MiB)));
	OK(fstat(fd, &a));
	ck_assert_int_eq(a.st_size, 1 * MiB);
	pread_all(fd, buf, 1 * MiB, 0);
	ck_assert(is_zero(buf, 1 * MiB));
	pwrite_all(fd, "abc", 3, 100);
	OK(fallocate(fd, 0, 0, 4096));	/* within the data: no change */
	pread_all(fd, buf, 3, 100);
	ck_assert(memcmp(buf, "abc", 3) == 0);
	OK(fallocate(fd, 0, (off_t)(2 * MiB), 5000));
	ck_assert_int_eq(xlstat("f").st_size, 2 * MiB + 5000);

	/* KEEP_SIZE past EOF leaves the size. */
	OK(ftruncate(fd, 0));
	fill_pattern(data, len, 0, 5);
	pwrite_all(fd, data, len, 0);
	OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)len, (off_t)(1 * MiB)));
	OK(fstat(fd, &a));
	ck_assert_int_eq(a.st_size, len);
	ck_assert_int_eq(OK(pread(fd, buf, 16, (off_t)len)), 0);

	/* Punching a hole in the middle zeros it and frees its blocks. */
	OK(fsync(fd));
	OK(fstat(fd, &a));
	OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(4 * MiB),
		     (off_t)(4 * MiB)));
	OK(fsync(fd));
	OK(fstat(fd, &b));
	ck_assert_int_eq(b.st_size, len);
	ck_assert_msg(b.st_blocks + (4 * MiB / 512) - 64 <= a.st_blocks,
		      "punching 4 MiB: st_blocks %lld -> %lld", (long long)a.st_blocks,
		      (long long)b.st_blocks);
	pread_all(fd, buf, len, 0);
	ck_assert(memcmp(buf, data, 4 * MiB) == 0);
	ck_assert(is_zero(buf + 4 * MiB, 4 * MiB));
	ck_assert(memcmp(buf + 8 * MiB, data + 8 * MiB, 4 * MiB) == 0);

	/* An unaligned punch zeros exactly its bytes. */
	OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 3000));
	pread_all(fd, buf, 8192, 0);
	ck_assert(memcmp(buf, data, 1000) == 0);
	ck_assert(is_zero(buf + 1000, 3000));
	ck_assert(memcmp(buf + 4000, data + 4000, 4192) == 0);

	FAILS(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	FAILS(fallocate(fd, 0, 0, 0), EINVAL);
	OK(close(fd));
	free(data);
	free(buf);
}
END_TEST

/* ---- large file, deep paths, concurrency --------------------------------------------------- */

START_TEST(test_large_file)
{
	const size_t chunk = 1 * MiB;
	const int nchunks = 64;
	unsigned char *data = xmalloc(chunk), *buf = xmalloc(chunk);
	int fd = OK(open("big", O_RDWR | O_CREAT | O_TRUNC, 0644));

	for (int i = 0; i < nchunks; i++) {
		fill_pattern(data, chunk, (uint64_t)i * chunk, 99);
		ck_assert_int_eq(OK(write(fd, data, chunk)), chunk);
	}
	OK(close(fd));
	ck_assert_int_eq(xlstat("big").st_size, (off_t)nchunks * (off_t)chunk);
	fd = OK(open("big", O_RDONLY));
	for (int i = 0; i < nchunks; i++) {
		fill_pattern(data, chunk, (uint64_t)i * chunk, 99);
		pread_all(fd, buf, chunk, (off_t)i * (off_t)chunk);
		ck_assert_msg(memcmp(buf, data, chunk) == 0, "MiB %d of the large file differs", i);
	}
	ck_assert_int_eq(OK(read(fd, buf, 1)), 1);	/* offset 0 */
	OK(close(fd));
	free(data);
	free(buf);
}
END_TEST

START_TEST(test_deep_paths)
{
	enum { DEPTH = 30 };
	char path[DEPTH * 4 + 32] = "", cwd[PATH_MAX];
	size_t lens[DEPTH];
	int top;

	for (int i = 0; i < DEPTH; i++) {
		size_t l = strlen(path);

		snprintf(path + l, sizeof(path) - l, "%sd%02d", i ? "/" : "", i);
		lens[i] = strlen(path);
		OK(mkdir(path, 0755));
	}
	strcat(path, "/leaf");
	write_str(path, "bottom");
	expect_content(path, "bottom");
	path[lens[DEPTH - 1]] = '\0';
	ck_assert_int_eq(nlink_of(path), 2);
	path[lens[0]] = '\0';
	ck_assert_int_eq(nlink_of(path), 3);
	FAILS(rmdir(path), ENOTEMPTY);

	/* getcwd at the bottom walks '..' all the way up. */
	path[lens[0]] = '/';
	top = OK(open(".", O_RDONLY | O_DIRECTORY));
	path[lens[DEPTH - 1]] = '\0';
	OK(chdir(path));
	ck_assert_msg(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd: %s", errname(errno));
	ck_assert_msg(strlen(cwd) > strlen(path) &&
		      strcmp(cwd + strlen(cwd) - strlen(path), path) == 0,
		      "getcwd at the bottom: %s", cwd);
	OK(fchdir(top));
	OK(close(top));

	path[lens[DEPTH - 1]] = '/';
	OK(unlink(path));
	for (int i = DEPTH - 1; i >= 0; i--) {
		path[lens[i]] = '\0';
		OK(rmdir(path));
	}
	FAILS(access("d00", F_OK), ENOENT);
}
END_TEST

struct writer_arg {
	int fd;
	int parity;
	int err;
};

enum { CW_BLOCK = 64 * 1024, CW_BLOCKS = 128 };

static void *concurrent_writer(void *p)
{
	struct writer_arg *w = p;
	unsigned char *buf = malloc(CW_BLOCK);

	if (buf == NULL) {
		w->err = ENOMEM;
		return NULL;
	}
	for (int b = w->parity; b < CW_BLOCKS && !w->err; b += 2) {
		size_t done = 0;

		fill_pattern(buf, CW_BLOCK, (uint64_t)b * CW_BLOCK, 42);
		while (done < CW_BLOCK) {
			ssize_t n = pwrite(w->fd, buf + done, CW_BLOCK - done,
					   (off_t)b * CW_BLOCK + (off_t)done);

			if (n <= 0) {
				w->err = n < 0 ? errno : EIO;
				break;
			}
			done += (size_t)n;
		}
	}
	free(buf);
	return NULL;
}

START_TEST(test_concurrent_writers)
{
	struct writer_arg w[2];
	pthread_t th[2];
	unsigned char *want = xmalloc(CW_BLOCK), *buf = xmalloc(CW_BLOCK);
	int fd = OK(open("f", O_RDWR | O_CREAT, 0644));

	for (int i = 0; i < 2; i++) {
		w[i] = (struct writer_arg){ .fd = fd, .parity = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, concurrent_writer, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_msg(w[i].err == 0, "writer %d: pwrite failed: %s", i,
			      errname(w[i].err));
	}
	OK(close(fd));
	ck_assert_int_eq(xlstat("f").st_size, (off_t)CW_BLOCKS * CW_BLOCK);
	fd = OK(open("f", O_RDONLY));
	for (int b = 0; b < CW_BLOCKS; b++) {
		fill_pattern(want, CW_BLOCK, (uint64_t)b * CW_BLOCK, 42);
		pread_all(fd, buf, CW_BLOCK, (off_t)b * CW_BLOCK);
		ck_assert_msg(memcmp(buf, want, CW_BLOCK) == 0, "block %d is wrong", b);
	}
	OK(close(fd));
	free(want);
	free(buf);
}
END_TEST

/* ---- suite ------------------------------------------------------------------ */

static TCase *new_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *posix_suite(void)
{
	Suite *s = suite_create("posix");
	TCase *tc;

	tc = new_tcase(s, "io");
	tcase_add_test(tc, test_create_rw);
	tcase_add_test(tc, test_random_rw_model);
	tcase_add_test(tc, test_sparse);
	tcase_add_test(tc, test_large_offsets);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_o_trunc);
	tcase_add_test(tc, test_o_direct);
	tcase_add_test(tc, test_o_excl);
	tcase_add_test(tc, test_umask);
	tcase_add_test(tc, test_pread_pwrite);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_unlink_open);
	tcase_add_test(tc, test_fsync);
	tcase_add_test(tc, test_fallocate);
	tcase_add_test(tc, test_large_file);
	tcase_add_test(tc, test_concurrent_writers);

	tc = new_tcase(s, "namespace");
	tcase_add_test(tc, test_mkdir_rmdir);
	tcase_add_test(tc, test_rename_atomic);
	tcase_add_test(tc, test_rename_basic);
	tcase_add_test(tc, test_renameat2_noreplace);
	tcase_add_test(tc, test_renameat2_exchange);
	tcase_add_test(tc, test_rename_cross_dir);
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_mknod_fifo_sock);
	tcase_add_test(tc, test_deep_paths);

	tc = new_tcase(s, "limits");
	tcase_add_test(tc, test_name_max);
	tcase_add_test(tc, test_symlink_target_len);
	tcase_add_test(tc, test_statfs);
	if (g_efs_limits) {
		tcase_add_test(tc, test_link_max_efs);
		tcase_add_test(tc, test_statfs_efs);
		tcase_add_test(tc, test_mknod_dev_efs);
	}

	tc = new_tcase(s, "attr");
	tcase_add_test(tc, test_chmod);
	tcase_add_test(tc, test_chown);
	tcase_add_test(tc, test_utimensat);
	tcase_add_test(tc, test_mtime_on_write);
	tcase_add_test(tc, test_ctime_ops);

	tc = new_tcase(s, "perm");
	tcase_add_test(tc, test_perm_open);
	tcase_add_test(tc, test_perm_create);
	tcase_add_test(tc, test_sticky);
	tcase_add_test(tc, test_setgid_dir);
	tcase_add_test(tc, test_chmod_nonowner);
	tcase_add_test(tc, test_setuid_cleared_on_write);
	tcase_add_test(tc, test_file_caps_dropped);

	tc = new_tcase(s, "readdir");
	tcase_add_test(tc, test_readdir_exact);
	tcase_add_test(tc, test_readdir_modify);
	tcase_add_test(tc, test_getdents_modify);
	tcase_add_test(tc, test_telldir_seekdir);

	tc = new_tcase(s, "xattr");
	tcase_add_test(tc, test_xattr_basic);
	tcase_add_test(tc, test_xattr_errors);
	tcase_add_test(tc, test_xattr_values);
	tcase_add_test(tc, test_xattr_64k);
	tcase_add_test(tc, test_xattr_dir_and_lifecycle);
	return s;
}

int main(void)
{
	const char *dir = getenv("EFSFS_TEST_DIR"), *lim = getenv("EFSFS_EXPECT_EFS_LIMITS");
	struct stat st;
	SRunner *sr;
	int failed;

	if (dir == NULL || dir[0] == '\0') {
		fprintf(stderr, "posix_test: EFSFS_TEST_DIR is not set; set it to the directory "
			"to test (an efsfs mount, or a native file system for reference)\n");
		return 1;
	}
	if (dir[0] != '/') {
		fprintf(stderr, "posix_test: EFSFS_TEST_DIR must be an absolute path: %s\n", dir);
		return 1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "posix_test: EFSFS_TEST_DIR=%s is not a directory: %s\n", dir,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "posix_test: must run as root (permission tests switch users)\n");
		return 1;
	}
	g_efs_limits = lim != NULL && strcmp(lim, "1") == 0;
	snprintf(g_run_dir, sizeof(g_run_dir), "%s/posix_test.%d", dir, (int)getpid());
	if (mkdir(g_run_dir, 0755) < 0 || chmod(g_run_dir, 0755) < 0) {
		fprintf(stderr, "posix_test: mkdir %s: %s\n", g_run_dir, strerror(errno));
		return 1;
	}
	printf("posix_test: testing %s (EFS limits %s)\n", g_run_dir,
	       g_efs_limits ? "expected" : "not checked");
	fflush(stdout);

	sr = srunner_create(posix_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed == 0 && rmdir(g_run_dir) < 0)
		fprintf(stderr, "posix_test: warning: rmdir %s: %s\n", g_run_dir, strerror(errno));
	return failed == 0 ? 0 : 1;
}
