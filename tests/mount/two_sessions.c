/* two_sessions.c - mount suite (run by sessions.sh): one process opens one
 * file system, mounts two FUSE sessions of it (fuse/session.h) at two
 * mount points and serves both; a child process checks through the mount
 * points that what one session does the other sees, with passthrough on
 * both where the kernel has it; then both sessions end (one unmounted by
 * the child, one stopped by us) with nothing left mounted or open.
 *
 * usage: two_sessions CONFIG NAME MNT1 MNT2 EXPECT_PASSTHROUGH(0|1)
 * Prints "ok: ..." / "FAIL: ..." lines and "N passed, N failed"; exits 0
 * when all passed.  Every wait is bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "backend/fs.h"
#include "common/conf.h"
#include "common/log.h"
#include "fuse/session.h"

#define WAIT_SECS 15            /* the longest any one wait takes */

static int passed, failed;

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the child: checks through the mount points ---------------------------------- */

static char m1[4096], m2[4096];

static void path(char *buf, size_t len, const char *mnt, const char *name)
{
	snprintf(buf, len, "%s/%s", mnt, name);
}

static int write_file(const char *p, const char *data, size_t len)
{
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return -e;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* The file's whole contents into buf (up to len): its length, or -errno. */
static ssize_t read_file(const char *p, char *buf, size_t len)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += (size_t)n;
	close(fd);
	return (ssize_t)got;
}

static bool same_attrs(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_nlink == b->st_nlink &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Polls until stat of both paths succeeds with the same attributes (the
 * kernel caches attributes for attr_timeout on each mount). */
static bool attrs_agree(const char *p1, const char *p2, struct stat *ret)
{
	uint64_t until = now_ms() + WAIT_SECS * 1000u;
	struct stat s1, s2;

	do {
		if (stat(p1, &s1) == 0 && stat(p2, &s2) == 0 && same_attrs(&s1, &s2)) {
			*ret = s1;
			return true;
		}
		pause_ms(20);
	} while (now_ms() < until);
	return false;
}

/* Polls until p is gone (the kernel caches names for entry_timeout). */
static bool gone(const char *p)
{
	uint64_t until = now_ms() + WAIT_SECS * 1000u;
	struct stat st;

	do {
		if (stat(p, &st) < 0 && errno == ENOENT)
			return true;
		pause_ms(20);
	} while (now_ms() < until);
	return false;
}

static bool dir_empty(const char *p)
{
	uint64_t until = now_ms() + WAIT_SECS * 1000u;

	do {
		DIR *d = opendir(p);
		struct dirent *de;
		int n = 0;

		if (!d)
			return false;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				n++;
		closedir(d);
		if (n == 0)
			return true;
		pause_ms(20);
	} while (now_ms() < until);
	return false;
}

static void fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + seed + i / 4096) % 26);
}

static int child_checks(void)
{
	enum { LEN = 300 * 1024 + 17 };
	static char want[LEN], got[LEN + 1];
	char a1[4200], b1[4200], a2[4200], b2[4200], c1[4200], c2[4200];
	struct stat st;
	ssize_t n;

	path(a1, sizeof(a1), m1, "a");
	path(b1, sizeof(b1), m1, "b");
	path(c1, sizeof(c1), m1, "c");
	path(a2, sizeof(a2), m2, "a");
	path(b2, sizeof(b2), m2, "b");
	path(c2, sizeof(c2), m2, "c");

	/* created, written and renamed through the first session */
	fill(want, LEN, 1);
	check(write_file(a1, want, LEN) == 0, "create and write a through %s", m1);
	check(rename(a1, b1) == 0, "rename a to b through %s", m1);
	n = read_file(b2, got, sizeof(got));
	check(n == LEN && memcmp(got, want, LEN) == 0,
	      "the second session reads b's %d bytes as written through the first (got %zd)",
	      LEN, n);
	check(attrs_agree(b1, b2, &st), "b has the same attributes through both sessions");
	check(st.st_size == LEN && (st.st_mode & 07777) == 0640 && st.st_nlink == 1,
	      "b's size, mode and link count are what was written (%lld, %o, %lu)",
	      (long long)st.st_size, (unsigned)(st.st_mode & 07777), (unsigned long)st.st_nlink);
	check(stat(a2, &st) < 0 && errno == ENOENT, "a is gone in the second session too");

	/* the other way: written through the second, read through the first */
	fill(want, LEN, 2);
	check(write_file(c2, want, LEN) == 0, "create and write c through %s", m2);
	n = read_file(c1, got, sizeof(got));
	check(n == LEN && memcmp(got, want, LEN) == 0,
	      "the first session reads c as written through the second (got %zd)", n);
	check(attrs_agree(c1, c2, &st), "c has the same attributes through both sessions");

	/* unlink through one is seen in the other */
	check(unlink(b1) == 0, "unlink b through %s", m1);
	check(gone(b2), "b is gone in the second session");
	check(unlink(c2) == 0, "unlink c through %s", m2);
	check(gone(c1), "c is gone in the first session");
	check(dir_empty(m1) && dir_empty(m2), "both mounts show an empty root");

	/* the first session is unmounted as a user would; its loop ends by itself */
	errno = 0;
	n = umount(m1);
	check(n == 0, "umount %s%s%s", m1, n ? ": " : "", n ? strerror(errno) : "");
	return failed ? 1 : 0;
}

/* ---- the parent: two sessions of one file system --------------------------------- */

struct runner {
	struct efsfs_session *s;
	pthread_t tid;
	bool started, joined;
	int r;
};

static void *run_thread(void *arg)
{
	struct runner *w = arg;

	w->r = efsfs_session_run(w->s);
	return NULL;
}

static bool join_bounded(struct runner *w)
{
	struct timespec until;

	if (!w->started || w->joined)
		return true;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SECS * 2;
	if (pthread_timedjoin_np(w->tid, NULL, &until) != 0)
		return false;
	w->joined = true;
	return true;
}

/* Open descriptors of this process, but except. */
static int count_fds(int except)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != except)
			n++;
	closedir(d);
	return n - 1;     /* the directory's own fd */
}

static bool mounted(const char *mnt)
{
	char line[8192], dir[4096];
	FILE *f = fopen("/proc/self/mounts", "re");
	bool found = false;

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %4095s", dir) == 1 && strcmp(dir, mnt) == 0)
			found = true;
	fclose(f);
	return found;
}

/* Waits for the child's exit, at most WAIT_SECS * 8; kills it after. */
static int wait_child(pid_t pid)
{
	uint64_t until = now_ms() + WAIT_SECS * 8 * 1000u;
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < until)
		pause_ms(20);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		check(false, "the checks through the mounts finished in time");
		return -1;
	}
	return r < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int main(int argc, char **argv)
{
	struct efsfs_session_opts so = { 0 };
	struct runner run[2] = { { 0 } };
	struct conf *conf = NULL;
	struct fs *fs = NULL;
	const char *mnts[2];
	int go[2], fds0 = -1, code, r;
	bool expect_pt;
	char err[1024], c;
	pid_t pid;

	if (argc != 6) {
		fprintf(stderr, "usage: two_sessions CONFIG NAME MNT1 MNT2 EXPECT_PASSTHROUGH\n");
		return 2;
	}
	if (!realpath(argv[3], m1) || !realpath(argv[4], m2)) {
		perror("two_sessions: mount point");
		return 2;
	}
	mnts[0] = m1;
	mnts[1] = m2;
	expect_pt = strcmp(argv[5], "1") == 0;
	setvbuf(stdout, NULL, _IONBF, 0);

	/* the child forks before any thread exists, and waits for the mounts */
	if (pipe2(go, O_CLOEXEC) < 0) {
		perror("two_sessions: pipe");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("two_sessions: fork");
		return 2;
	}
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1 || c != 'G')
			_exit(3);
		_exit(child_checks());
	}
	close(go[0]);

	log_init("two_sessions", false, LOG_WARNING);
	r = conf_load(argv[1], argv[2], &conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "two_sessions: %s\n", err);
		return 2;
	}
	r = fs_open_flags(conf, m1, 0, &fs, err, sizeof(err));
	check(r == 0, "open the file system %s%s%s", argv[2], r ? ": " : "", r ? err : "");
	if (r < 0)
		goto out;
	fds0 = count_fds(go[1]);     /* go[1] is closed before the comparison */

	for (int i = 0; i < 2; i++) {
		so.mountpoint = mnts[i];
		so.max_threads = 4;
		r = efsfs_session_new(fs, &so, &run[i].s, err, sizeof(err));
		if (r == 0)
			r = efsfs_session_mount(run[i].s, err, sizeof(err));
		check(r == 0, "session %d mounted on %s%s%s", i + 1, mnts[i], r ? ": " : "",
		      r ? err : "");
		if (r < 0)
			goto stop;
		if (pthread_create(&run[i].tid, NULL, run_thread, &run[i]) != 0) {
			check(false, "start session %d's loop", i + 1);
			goto stop;
		}
		run[i].started = true;
	}
	check(mounted(m1) && mounted(m2), "both mount points are mounted");

	/* the checks, in the child, through the two mounts */
	c = 'G';
	if (write(go[1], &c, 1) != 1)
		check(false, "start the child: %s", strerror(errno));
	close(go[1]);
	go[1] = -1;
	code = wait_child(pid);
	pid = -1;
	check(code == 0, "the checks through both mounts passed (child exit %d)", code);
	if (code != 0)
		goto stop;

	for (int i = 0; i < 2; i++) {
		check(efsfs_session_passthrough(run[i].s) == expect_pt,
		      "session %d %s passthrough", i + 1, expect_pt ? "negotiated" : "has no");
		if (expect_pt)
			check(efsfs_session_passthrough_opens(run[i].s) >= 2,
			      "session %d opened files with passthrough (%llu opens)", i + 1,
			      (unsigned long long)efsfs_session_passthrough_opens(run[i].s));
		else
			check(efsfs_session_passthrough_opens(run[i].s) == 0,
			      "session %d opened nothing with passthrough", i + 1);
	}
	/* EFSFS_TEST_URING=1 (fuse_uring = on): both served requests from the ring */
	if (getenv("EFSFS_TEST_URING") && strcmp(getenv("EFSFS_TEST_URING"), "1") == 0)
		for (int i = 0; i < 2; i++)
			check(efsfs_session_uring_requests(run[i].s) > 0,
			      "session %d served requests over io_uring (%llu)", i + 1,
			      (unsigned long long)efsfs_session_uring_requests(run[i].s));
	/* session 1 ended when the child unmounted it */
	check(join_bounded(&run[0]) && run[0].r == 0, "session 1's loop ended at its unmount (%d)",
	      run[0].r);
	check(!mounted(m1), "%s is no longer mounted", m1);
	/* session 2 is asked to stop, then unmounted */
	efsfs_session_stop(run[1].s);
	check(join_bounded(&run[1]) && run[1].r == 0, "session 2's loop stopped when asked (%d)",
	      run[1].r);
	efsfs_session_unmount(run[1].s);
	check(!mounted(m2), "%s is no longer mounted", m2);

stop:
	for (int i = 0; i < 2; i++) {
		if (run[i].started && !run[i].joined) {
			efsfs_session_stop(run[i].s);
			if (!join_bounded(&run[i])) {
				check(false, "session %d's loop did not stop", i + 1);
				_exit(1);       /* its thread still uses the session */
			}
		}
		efsfs_session_destroy(run[i].s);
	}
	if (fds0 >= 0 && !failed)
		check(count_fds(-1) == fds0, "no descriptor of the sessions is left open (%d, was %d)",
		      count_fds(-1), fds0);
out:
	if (pid > 0) {
		if (go[1] >= 0)
			close(go[1]);      /* the child exits on EOF */
		waitpid(pid, NULL, 0);
	}
	fs_close(fs);
	conf_free(conf);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
