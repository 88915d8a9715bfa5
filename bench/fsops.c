/* fsops.c - the timed file system operations of the benchmark suite that fio
 * does not cover: many small files, stat storms, metadata storms, a big
 * sequential file, and the synthetic source tree that the untar workload
 * packs.  bench/run.sh compiles it with cc on first use.
 *
 * Every timed command prints one line "SECONDS COUNT BYTES": the wall time of
 * the operations alone (not of process start-up or argument parsing), how
 * many operations it did and how many bytes it moved.  The caller turns that
 * into a rate.  Exit status: 0 success, 1 an operation failed (the message
 * names the path and errno), 2 bad usage.
 *
 *   fsops create DIR COUNT SIZE     create DIR/fNNNNNN with SIZE bytes each
 *   fsops stat DIR COUNT            lstat every file made by create
 *   fsops unlink DIR COUNT          remove them again (and DIR)
 *   fsops meta DIR COUNT            COUNT x (mkdir, create, rename file,
 *                                   rename dir, unlink, rmdir) = 6 x COUNT ops
 *   fsops write FILE SIZE BS        write FILE sequentially in BS blocks, fsync
 *   fsops read FILE BS              read FILE to its end in BS blocks
 *   fsops tree DIR COUNT SEED [DIV] make a source-like tree of COUNT files,
 *                                   sizes divided by DIV (untimed; prints
 *                                   "0 COUNT BYTES")
 *   fsops smalltree DIR COUNT SIZE  make COUNT files of SIZE bytes, 50 a
 *                                   directory, two levels (untimed)
 *   fsops pcreate DIR NPROC COUNT SIZE
 *                                   NPROC processes at once, each creating
 *                                   COUNT files of SIZE in DIR/pN; the time
 *                                   runs from their common start to the end
 *                                   of the last one
 *   fsops randread FILE BS SECS SEED
 *                                   pread BS bytes at random BS-aligned
 *                                   offsets (POSIX_FADV_RANDOM) for SECS
 *                                   seconds; ops are the reads done
 *   fsops getxattr FILE COUNT       COUNT getxattr(2) calls of a name FILE
 *                                   does not have, each checked to fail with
 *                                   ENODATA: the kernel caches no xattr, so
 *                                   each is one request to a FUSE daemon,
 *                                   which answers with almost no work
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define FSOPS_MAX_BS (64u << 20)

struct fsops_result {
	double secs;
	uint64_t ops;
	uint64_t bytes;
};

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail_errno(const char *what, const char *path)
{
	int e = errno;

	fprintf(stderr, "fsops: %s %s: %s\n", what, path, strerror(e));
	return -e;
}

/* Formats a path into buf; -ENAMETOOLONG when it does not fit. */
__attribute__((format(printf, 3, 4)))
static int path_make(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "fsops: path too long\n");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* "4k", "128K", "1M", "1G", "4096" -> bytes; false on a malformed value. */
static bool parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return false;
	*ret = v;
	return true;
}

/* A cheap deterministic generator (xorshift64*), so that trees and file
 * contents are the same on every run and every target. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Fills buf with pseudo-random bytes: data that zstd cannot shrink, as most
 * real file contents on a busy file system. */
static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t st = seed | 1, v;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		v = rng_next(&st);
		memcpy(buf + i, &v, 8);
	}
	for (v = rng_next(&st); i < len; i++, v >>= 8)
		buf[i] = (unsigned char)v;
}

static int write_all(int fd, const unsigned char *buf, size_t len, const char *path)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno("write", path);
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_file(const char *path, const unsigned char *buf, size_t len)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail_errno("create", path);
	r = write_all(fd, buf, len, path);
	if (close(fd) < 0 && r == 0)
		r = fail_errno("close", path);
	return r;
}

static int mkdir_exist_ok(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return fail_errno("mkdir", path);
	return 0;
}

static int cmd_create(const char *dir, uint64_t count, uint64_t size, struct fsops_result *res)
{
	unsigned char *buf;
	char path[4096];
	double t0;
	int r;

	if (size > FSOPS_MAX_BS)
		return -EINVAL;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	fill_random(buf, size, 42);
	r = mkdir_exist_ok(dir);
	if (r < 0)
		goto out_buf;
	t0 = now_secs();
	for (uint64_t i = 0; i < count; i++) {
		r = path_make(path, sizeof(path), "%s/f%06" PRIu64, dir, i);
		if (r == 0)
			r = write_file(path, buf, size);
		if (r < 0)
			goto out_buf;
	}
	res->secs = now_secs() - t0;
	res->ops = count;
	res->bytes = count * size;
out_buf:
	free(buf);
	return r;
}

static int cmd_stat(const char *dir, uint64_t count, struct fsops_result *res)
{
	char path[4096];
	struct stat st;
	uint64_t bytes = 0;
	double t0 = now_secs();
	int r;

	for (uint64_t i = 0; i < count; i++) {
		r = path_make(path, sizeof(path), "%s/f%06" PRIu64, dir, i);
		if (r < 0)
			return r;
		if (lstat(path, &st) < 0)
			return fail_errno("lstat", path);
		bytes += (uint64_t)st.st_size;
	}
	res->secs = now_secs() - t0;
	res->ops = count;
	res->bytes = bytes;
	return 0;
}

static int cmd_unlink(const char *dir, uint64_t count, struct fsops_result *res)
{
	char path[4096];
	double t0 = now_secs();
	int r;

	for (uint64_t i = 0; i < count; i++) {
		r = path_make(path, sizeof(path), "%s/f%06" PRIu64, dir, i);
		if (r < 0)
			return r;
		if (unlink(path) < 0)
			return fail_errno("unlink", path);
	}
	if (rmdir(dir) < 0)
		return fail_errno("rmdir", dir);
	res->secs = now_secs() - t0;
	res->ops = count + 1;
	res->bytes = 0;
	return 0;
}

/* One round of the metadata storm: six namespace operations, no data. */
static int meta_round(const char *dir, uint64_t i)
{
	char a[4096], b[4096], fa[4096], fb[4096];
	int fd, r;

	r = path_make(a, sizeof(a), "%s/d%06" PRIu64, dir, i);
	if (r < 0)
		return r;
	r = path_make(b, sizeof(b), "%s/e%06" PRIu64, dir, i);
	if (r < 0)
		return r;
	if (mkdir(a, 0755) < 0)
		return fail_errno("mkdir", a);
	r = path_make(fa, sizeof(fa), "%s/x", a);
	if (r < 0)
		return r;
	fd = open(fa, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail_errno("create", fa);
	close(fd);
	r = path_make(fb, sizeof(fb), "%s/y", a);
	if (r < 0)
		return r;
	if (rename(fa, fb) < 0)
		return fail_errno("rename", fa);
	if (rename(a, b) < 0)
		return fail_errno("rename", a);
	r = path_make(fb, sizeof(fb), "%s/y", b);
	if (r < 0)
		return r;
	if (unlink(fb) < 0)
		return fail_errno("unlink", fb);
	if (rmdir(b) < 0)
		return fail_errno("rmdir", b);
	return 0;
}

static int cmd_meta(const char *dir, uint64_t count, struct fsops_result *res)
{
	double t0;
	int r = mkdir_exist_ok(dir);

	if (r < 0)
		return r;
	t0 = now_secs();
	for (uint64_t i = 0; i < count; i++) {
		r = meta_round(dir, i);
		if (r < 0)
			return r;
	}
	res->secs = now_secs() - t0;
	res->ops = 6 * count;
	res->bytes = 0;
	return 0;
}

/* The random bytes cmd_write writes from: at least 16 MiB, so that no 4 MiB
 * chunk (nor zstd's window at the levels efsfs uses) sees a block twice. */
#define FSOPS_POOL (16u << 20)

static int cmd_write(const char *path, uint64_t size, uint64_t bs, struct fsops_result *res)
{
	unsigned char *pool;
	uint64_t done = 0, nblocks, blk = 0;
	double t0;
	int fd, r = 0;

	if (!bs || bs > FSOPS_MAX_BS)
		return -EINVAL;
	nblocks = bs >= FSOPS_POOL ? 1 : (FSOPS_POOL + bs - 1) / bs;
	pool = malloc(nblocks * bs);
	if (!pool)
		return -ENOMEM;
	fill_random(pool, nblocks * bs, 7);
	t0 = now_secs();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = fail_errno("create", path);
		goto out_buf;
	}
	while (done < size) {
		size_t n = size - done < bs ? (size_t)(size - done) : (size_t)bs;
		unsigned char *buf = pool + (blk++ % nblocks) * bs;

		/* and vary each block, so that no layer can deduplicate them */
		memcpy(buf, &done, sizeof(done));
		r = write_all(fd, buf, n, path);
		if (r < 0)
			goto out_fd;
		done += n;
	}
	if (fsync(fd) < 0) {
		r = fail_errno("fsync", path);
		goto out_fd;
	}
out_fd:
	if (close(fd) < 0 && r == 0)
		r = fail_errno("close", path);
	if (r == 0) {
		res->secs = now_secs() - t0;
		res->ops = (size + bs - 1) / bs;
		res->bytes = size;
	}
out_buf:
	free(pool);
	return r;
}

static int cmd_read(const char *path, uint64_t bs, struct fsops_result *res)
{
	unsigned char *buf;
	uint64_t done = 0, ops = 0;
	double t0;
	int fd, r = 0;

	if (!bs || bs > FSOPS_MAX_BS)
		return -EINVAL;
	buf = malloc(bs);
	if (!buf)
		return -ENOMEM;
	t0 = now_secs();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = fail_errno("open", path);
		goto out_buf;
	}
	for (;;) {
		ssize_t n = read(fd, buf, bs);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = fail_errno("read", path);
			break;
		}
		if (n == 0)
			break;
		done += (uint64_t)n;
		ops++;
	}
	close(fd);
	if (r == 0) {
		res->secs = now_secs() - t0;
		res->ops = ops;
		res->bytes = done;
	}
out_buf:
	free(buf);
	return r;
}

/* The directory of file i in a two-level tree of 50 files a directory (the
 * layout of cmd_tree and cmd_smalltree), made on the way. */
static int tree_dir(const char *dir, uint64_t i, char *sub, size_t size)
{
	int r = path_make(sub, size, "%s/m%03" PRIu64, dir, i / 500);

	if (r == 0)
		r = mkdir_exist_ok(sub);
	if (r == 0)
		r = path_make(sub, size, "%s/m%03" PRIu64 "/d%03" PRIu64, dir, i / 500, i / 50);
	if (r == 0)
		r = mkdir_exist_ok(sub);
	return r;
}

/* A file size drawn like a source tree's: mostly a few KiB, some tens of
 * KiB, a few hundred KiB. */
static size_t tree_file_size(uint64_t *st)
{
	uint64_t pick = rng_next(st) % 100, v = rng_next(st);

	if (pick < 70)
		return 512 + (size_t)(v % (8u << 10));
	if (pick < 95)
		return (8u << 10) + (size_t)(v % (56u << 10));
	return (64u << 10) + (size_t)(v % (448u << 10));
}

static int cmd_tree(const char *dir, uint64_t count, uint64_t seed, uint64_t div,
		    struct fsops_result *res)
{
	const size_t max = 512u << 10;
	unsigned char *buf;
	char sub[4096], path[4096];
	uint64_t st = seed | 1, bytes = 0;
	int r;

	buf = malloc(max);
	if (!buf)
		return -ENOMEM;
	r = mkdir_exist_ok(dir);
	if (r < 0)
		goto out_buf;
	for (uint64_t i = 0; i < count; i++) {
		size_t len = tree_file_size(&st) / (div ? div : 1);

		r = tree_dir(dir, i, sub, sizeof(sub));
		if (r == 0)
			r = path_make(path, sizeof(path), "%s/file%06" PRIu64 ".c", sub, i);
		if (r < 0)
			goto out_buf;
		/* half text-like (compressible), half random */
		if (i % 2) {
			fill_random(buf, len, seed + i);
		} else {
			for (size_t k = 0; k < len; k++)
				buf[k] = (unsigned char)("int x = 0;\n/* efsfs */\n"[k % 23]);
		}
		r = write_file(path, buf, len);
		if (r < 0)
			goto out_buf;
		bytes += len;
	}
	res->secs = 0;
	res->ops = count;
	res->bytes = bytes;
out_buf:
	free(buf);
	return r;
}

static int cmd_smalltree(const char *dir, uint64_t count, uint64_t size, struct fsops_result *res)
{
	unsigned char *buf;
	char sub[4096], path[4096];
	int r;

	if (size > FSOPS_MAX_BS)
		return -EINVAL;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	r = mkdir_exist_ok(dir);
	for (uint64_t i = 0; r == 0 && i < count; i++) {
		fill_random(buf, size, 1000 + i);
		r = tree_dir(dir, i, sub, sizeof(sub));
		if (r == 0)
			r = path_make(path, sizeof(path), "%s/f%06" PRIu64, sub, i);
		if (r == 0)
			r = write_file(path, buf, size);
	}
	if (r == 0) {
		res->secs = 0;
		res->ops = count;
		res->bytes = count * size;
	}
	free(buf);
	return r;
}

/* NPROC children create COUNT files each in DIR/pN; they start together
 * when the parent closes the pipe they block on, and the time runs until
 * the last one has exited. */
static int cmd_pcreate(const char *dir, uint64_t nproc, uint64_t count, uint64_t size,
		       struct fsops_result *res)
{
	pid_t pids[64];
	int go[2], ready[2], r = 0, status;
	uint64_t started = 0, i;
	char sub[4096], c;
	double t0;

	if (nproc == 0 || nproc > 64 || size > FSOPS_MAX_BS)
		return -EINVAL;
	r = mkdir_exist_ok(dir);
	if (r < 0)
		return r;
	if (pipe(go) < 0 || pipe(ready) < 0)
		return fail_errno("pipe", dir);
	for (i = 0; i < nproc; i++) {
		pid_t pid;

		r = path_make(sub, sizeof(sub), "%s/p%02" PRIu64, dir, i);
		if (r < 0)
			break;
		pid = fork();
		if (pid < 0) {
			r = fail_errno("fork", dir);
			break;
		}
		if (pid == 0) {
			struct fsops_result cres;
			char b;

			close(go[1]);
			close(ready[0]);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			/* EOF when the parent closes its end: everyone starts */
			if (read(go[0], &b, 1) < 0)
				_exit(1);
			_exit(cmd_create(sub, count, size, &cres) < 0 ? 1 : 0);
		}
		pids[started++] = pid;
	}
	close(go[0]);
	close(ready[1]);
	/* wait until every child is ready, so that fork time is not timed */
	for (i = 0; i < started && read(ready[0], &c, 1) == 1; i++)
		;
	close(ready[0]);
	t0 = now_secs();
	close(go[1]);
	for (i = 0; i < started; i++) {
		if (waitpid(pids[i], &status, 0) < 0) {
			if (r == 0)
				r = fail_errno("waitpid", dir);
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "fsops: pcreate: child %" PRIu64 " failed\n", i);
			if (r == 0)
				r = -EIO;
		}
	}
	if (r == 0) {
		res->secs = now_secs() - t0;
		res->ops = nproc * count;
		res->bytes = nproc * count * size;
	}
	return r;
}

static int cmd_randread(const char *path, uint64_t bs, uint64_t secs, uint64_t seed,
			struct fsops_result *res)
{
	unsigned char *buf;
	uint64_t st = seed | 1, ops = 0, blocks;
	struct stat sb;
	double t0, end;
	int fd, r = 0;

	if (!bs || bs > FSOPS_MAX_BS || !secs)
		return -EINVAL;
	buf = malloc(bs);
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = fail_errno("open", path);
		goto out_buf;
	}
	if (fstat(fd, &sb) < 0) {
		r = fail_errno("fstat", path);
		goto out_fd;
	}
	blocks = (uint64_t)sb.st_size / bs;
	if (blocks == 0) {
		fprintf(stderr, "fsops: %s is smaller than one block\n", path);
		r = -EIO;
		goto out_fd;
	}
	/* no readahead: every read asks for BS bytes and no more */
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	t0 = now_secs();
	end = t0 + (double)secs;
	do {
		uint64_t off = (rng_next(&st) % blocks) * bs;
		ssize_t n = pread(fd, buf, bs, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = fail_errno("pread", path);
			goto out_fd;
		}
		if ((uint64_t)n != bs) {
			fprintf(stderr, "fsops: short read of %s at %" PRIu64 "\n", path, off);
			r = -EIO;
			goto out_fd;
		}
		ops++;
	} while (now_secs() < end);
	res->secs = now_secs() - t0;
	res->ops = ops;
	res->bytes = ops * bs;
out_fd:
	close(fd);
out_buf:
	free(buf);
	return r;
}

#define FSOPS_NO_XATTR "user.fsops-none"

static int cmd_getxattr(const char *path, uint64_t count, struct fsops_result *res)
{
	char buf[64];
	double t0;

	/* the name must be missing: a value found would be no failure to time */
	removexattr(path, FSOPS_NO_XATTR);
	t0 = now_secs();
	for (uint64_t i = 0; i < count; i++) {
		if (getxattr(path, FSOPS_NO_XATTR, buf, sizeof(buf)) >= 0) {
			fprintf(stderr, "fsops: getxattr %s %s: found a value\n", path, FSOPS_NO_XATTR);
			return -EEXIST;
		}
		if (errno != ENODATA)
			return fail_errno("getxattr", path);
	}
	res->secs = now_secs() - t0;
	res->ops = count;
	res->bytes = 0;
	return 0;
}

static int usage(void)
{
	fputs("usage: fsops create DIR COUNT SIZE | stat DIR COUNT | unlink DIR COUNT |\n"
	      "             meta DIR COUNT | write FILE SIZE BS | read FILE BS |\n"
	      "             tree DIR COUNT SEED [DIV] | smalltree DIR COUNT SIZE |\n"
	      "             pcreate DIR NPROC COUNT SIZE | randread FILE BS SECS SEED |\n"
	      "             getxattr FILE COUNT\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct fsops_result res = { 0, 0, 0 };
	uint64_t v[4] = { 0, 0, 0, 0 };
	const char *cmd;
	int r, n;

	if (argc < 4 || argc > 7)
		return usage();
	cmd = argv[1];
	n = argc - 3;
	for (int i = 0; i < n; i++) {
		if (!parse_size(argv[3 + i], &v[i]))
			return usage();
	}
	if (strcmp(cmd, "create") == 0 && n == 2)
		r = cmd_create(argv[2], v[0], v[1], &res);
	else if (strcmp(cmd, "stat") == 0 && n == 1)
		r = cmd_stat(argv[2], v[0], &res);
	else if (strcmp(cmd, "unlink") == 0 && n == 1)
		r = cmd_unlink(argv[2], v[0], &res);
	else if (strcmp(cmd, "meta") == 0 && n == 1)
		r = cmd_meta(argv[2], v[0], &res);
	else if (strcmp(cmd, "write") == 0 && n == 2)
		r = cmd_write(argv[2], v[0], v[1], &res);
	else if (strcmp(cmd, "read") == 0 && n == 1)
		r = cmd_read(argv[2], v[0], &res);
	else if (strcmp(cmd, "tree") == 0 && (n == 2 || n == 3))
		r = cmd_tree(argv[2], v[0], v[1], n == 3 ? v[2] : 1, &res);
	else if (strcmp(cmd, "smalltree") == 0 && n == 2)
		r = cmd_smalltree(argv[2], v[0], v[1], &res);
	else if (strcmp(cmd, "pcreate") == 0 && n == 3)
		r = cmd_pcreate(argv[2], v[0], v[1], v[2], &res);
	else if (strcmp(cmd, "randread") == 0 && n == 3)
		r = cmd_randread(argv[2], v[0], v[1], v[2], &res);
	else if (strcmp(cmd, "getxattr") == 0 && n == 1)
		r = cmd_getxattr(argv[2], v[0], &res);
	else
		return usage();
	if (r == -EINVAL) {
		fprintf(stderr, "fsops: a size, count or time out of range (block size at most %u bytes)\n",
			FSOPS_MAX_BS);
		return 2;
	}
	if (r < 0)
		return 1;
	printf("%.6f %" PRIu64 " %" PRIu64 "\n", res.secs, res.ops, res.bytes);
	return 0;
}
