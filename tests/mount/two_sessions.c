/* two_sessions.c - mount suite (run by sessions.sh): one process opens one
 * file system (with the tier layer), mounts two FUSE sessions of it
 * (fuse/session.h) at two mount points and serves both; a child process
 * checks through the mount points that what one session does the other
 * sees, with passthrough on both where the kernel has it; then both
 * sessions end (one unmounted by the child, one stopped by us) with
 * nothing left mounted or open.
 *
 * sessions.sh sets the attribute, entry and negative timeouts to an hour,
 * so the coherence checks (coherence_checks) pass only if each change is
 * told to the other session's kernel (fuse/notify.c): they look once,
 * never poll.  They go round a few hundred files: a name looked up and
 * missing on one session, then made and written on the other, read back,
 * rewritten with another length, renamed, linked, chmod'ed, truncated and
 * unlinked, each seen at once on the other side; a lifecycle pass run by
 * the parent (on the child's request) demotes a file, and both sessions
 * show its st_blocks drop at once; and two processes creating and removing
 * files in one directory through the two mounts at once finish (no
 * deadlock between the sessions' notifications).
 *
 * usage: two_sessions CONFIG NAME MNT1 MNT2 EXPECT_PASSTHROUGH(0|1)
 * TWO_SESSIONS_ROUNDS sets the coherence loop's rounds (default 300), and
 * TWO_SESSIONS_NOTIFY_DELAY_MS makes each notifier wait that long before
 * each change it writes during the coherence loop
 * (efsfs_session_test_notify_delay), as on a host too loaded to schedule
 * it at once, while another process keeps changing a file through MNT1.
 * Prints "ok: ..." / "FAIL: ..." lines and "N passed, N failed"; exits 0
 * when all passed.  Every wait is bounded.
 */
#include <dirent.h>
#include <poll.h>
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
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "backend/fs.h"
#include "common/conf.h"
#include "common/log.h"
#include "fuse/session.h"
#include "tier/tier.h"

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

/* ---- coherence with long timeouts (see the top) ---------------------------------- */

static int req_fd = -1, ack_fd = -1;   /* the child's requests to the parent, and answers */

static bool same_file(const char *p1, const char *p2, struct stat *ret)
{
	struct stat s1, s2;

	if (stat(p1, &s1) < 0 || stat(p2, &s2) < 0 || !same_attrs(&s1, &s2))
		return false;
	if (ret)
		*ret = s1;
	return true;
}

static bool missing(const char *p)
{
	struct stat st;

	return stat(p, &st) < 0 && errno == ENOENT;
}

/* Whether p reads as exactly want's len bytes. */
static bool reads_as(const char *p, const char *want, size_t len)
{
	static char got[512 * 1024 + 1];
	ssize_t n = read_file(p, got, sizeof(got));

	return n == (ssize_t)len && memcmp(got, want, len) == 0;
}

static int rewrite_file(const char *p, const char *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	if (n != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

static unsigned nfiles = 300;   /* rounds of coherence_loop; TWO_SESSIONS_ROUNDS */

/* Counts the rounds that went wrong, and reports the first of each kind. */
struct tally {
	unsigned bad[16];
};

static void expect(struct tally *t, unsigned kind, bool ok, const char *what, unsigned i)
{
	if (ok)
		return;
	if (t->bad[kind]++ == 0)
		printf("FAIL: round %u: %s\n", i, what);
}

static void coherence_loop(void)
{
	static const char *what[] = {
		"a missing name, made and written on the other session, reads back there",
		"both sessions show the same attributes",
		"rewritten with another length on one, read through the other",
		"renamed on one: the old name is gone on the other",
		"renamed on one: the new name reads on the other",
		"a hard link on one shows in the other's link count",
		"chmod on one shows on the other",
		"truncate on one shows on the other",
		"an xattr set on one is read on the other",
		"unlinked on one: gone on the other",
		"a directory made on one (after a failed lookup) is there on the other",
		"a directory removed on one is gone on the other",
		"the other link's count after an unlink",
	};
	struct tally t = { { 0 } };
	static char data[64 * 1024];
	char a[4200], b[4200], ra[4200], rb[4200], la[4200], lb[4200];
	char xv[32];
	struct stat st;

	for (unsigned i = 0; i < nfiles; i++) {
		/* odd rounds the other way round */
		const char *x = i % 2 ? m2 : m1, *y = i % 2 ? m1 : m2;
		char name[64], rname[64], lname[64];
		size_t len = 1 + (i * 7919u) % sizeof(data), len2 = 1 + (i * 104729u) % sizeof(data);

		snprintf(name, sizeof(name), "f%u", i);
		snprintf(rname, sizeof(rname), "r%u", i);
		snprintf(lname, sizeof(lname), "l%u", i);
		path(a, sizeof(a), x, name);
		path(b, sizeof(b), y, name);
		path(ra, sizeof(ra), x, rname);
		path(rb, sizeof(rb), y, rname);
		path(la, sizeof(la), x, lname);
		path(lb, sizeof(lb), y, lname);

		/* a negative entry on y, then the file made on x */
		fill(data, len, i);
		expect(&t, 0, missing(b) && write_file(a, data, len) == 0 && reads_as(b, data, len),
		       what[0], i);
		expect(&t, 1, same_file(a, b, &st) && st.st_size == (off_t)len, what[1], i);
		/* rewritten through y with another length, read through x */
		fill(data, len2, i + 1);
		expect(&t, 2, rewrite_file(b, data, len2) == 0 && reads_as(a, data, len2), what[2], i);
		/* renamed on x */
		expect(&t, 3, rename(a, ra) == 0 && missing(b), what[3], i);
		expect(&t, 4, reads_as(rb, data, len2) && same_file(ra, rb, NULL), what[4], i);
		/* linked on y: x sees two links */
		expect(&t, 5, link(rb, lb) == 0 && stat(ra, &st) == 0 && st.st_nlink == 2 &&
			      same_file(la, lb, NULL), what[5], i);
		/* chmod on y, truncate on x, an xattr on y */
		expect(&t, 6, chmod(rb, 0600 | (i % 8) << 3) == 0 && stat(ra, &st) == 0 &&
			      (st.st_mode & 07777) == (0600 | (i % 8) << 3), what[6], i);
		expect(&t, 7, truncate(ra, (off_t)(len2 / 2)) == 0 && stat(rb, &st) == 0 &&
			      st.st_size == (off_t)(len2 / 2) && reads_as(rb, data, len2 / 2),
		       what[7], i);
		snprintf(xv, sizeof(xv), "v%u", i);
		expect(&t, 8, setxattr(rb, "user.t", xv, strlen(xv), 0) == 0 &&
			      getxattr(ra, "user.t", xv + 16, 16) == (ssize_t)strlen(xv) &&
			      memcmp(xv, xv + 16, strlen(xv)) == 0 && same_file(ra, rb, NULL),
		       what[8], i);
		/* unlink one name on x: y's other name has one link */
		expect(&t, 12, unlink(la) == 0 && missing(lb) && stat(rb, &st) == 0 &&
			       st.st_nlink == 1, what[12], i);
		/* every other round the file goes, on y; seen gone on x */
		if (i % 2 == 0)
			expect(&t, 9, unlink(rb) == 0 && missing(ra) && missing(rb), what[9], i);
		/* a directory: missing on y, made on x, there on y; removed on y */
		if (i % 5 == 0) {
			snprintf(name, sizeof(name), "d%u", i);
			path(a, sizeof(a), x, name);
			path(b, sizeof(b), y, name);
			expect(&t, 10, missing(b) && mkdir(a, 0755) == 0 && stat(b, &st) == 0 &&
				       S_ISDIR(st.st_mode) && same_file(m1, m2, NULL), what[10], i);
			expect(&t, 11, rmdir(b) == 0 && missing(a) && same_file(m1, m2, NULL),
			       what[11], i);
		}
	}
	for (unsigned k = 0; k < sizeof(what) / sizeof(what[0]); k++)
		check(t.bad[k] == 0, "%s (%u of %u rounds wrong)", what[k], t.bad[k], nfiles);
}

/* A file of 300 KiB (over the 128 KiB that stay Standard) demoted by a
 * lifecycle pass the parent runs: st_blocks drops on both sessions. */
static void lifecycle_blocks(void)
{
	enum { BIG = 300 * 1024 };
	static char want[BIG];
	char p1[4200], p2[4200], c = 'L';
	struct stat s1, s2;
	bool ok;

	path(p1, sizeof(p1), m1, "cold");
	path(p2, sizeof(p2), m2, "cold");
	fill(want, BIG, 9);
	check(write_file(p1, want, BIG) == 0, "write a 300 KiB file to demote");
	ok = stat(p1, &s1) == 0 && stat(p2, &s2) == 0 && s1.st_blocks > 0 &&
	     s1.st_blocks == s2.st_blocks;
	check(ok, "both sessions show its blocks before the pass (%lld, %lld)",
	      (long long)s1.st_blocks, (long long)s2.st_blocks);
	if (write(req_fd, &c, 1) != 1 || read(ack_fd, &c, 1) != 1 || c != 'y') {
		check(false, "the parent ran a lifecycle pass that demoted it (%c)", c);
		return;
	}
	ok = stat(p1, &s1) == 0 && stat(p2, &s2) == 0;
	check(ok && s1.st_blocks == 0 && s2.st_blocks == 0,
	      "after the demotion both sessions show st_blocks 0 at once (%lld, %lld)",
	      (long long)s1.st_blocks, (long long)s2.st_blocks);
	check(reads_as(p2, want, BIG), "the cold file still reads through the second");
	check(unlink(p2) == 0 && missing(p1), "the cold file unlinked through the second");
}

/* Two processes, one on each mount, create, stat and remove files in one
 * directory at once: both finish (the sessions' notifications do not wait
 * for each other in a cycle). */
static void concurrent_dir(void)
{
	char d1[4200], d2[4200];
	uint64_t until;
	pid_t pid[2];
	int ok = 0;

	path(d1, sizeof(d1), m1, "race");
	path(d2, sizeof(d2), m2, "race");
	check(mkdir(d1, 0755) == 0, "mkdir race");
	for (int k = 0; k < 2; k++) {
		pid[k] = fork();
		if (pid[k] == 0) {
			const char *d = k ? d2 : d1;
			char p[4300];
			struct stat st;
			int bad = 0;

			for (int i = 0; i < 400; i++) {
				snprintf(p, sizeof(p), "%s/%d.%d", d, k, i);
				bad += write_file(p, "x", 1) != 0 || stat(p, &st) != 0;
				snprintf(p, sizeof(p), "%s/%d.%d", d, k, i / 2);
				if (i % 2)
					bad += unlink(p) != 0;
			}
			_exit(bad ? 1 : 0);
		}
	}
	until = now_ms() + WAIT_SECS * 4 * 1000u;
	for (int k = 0; k < 2; k++) {
		int status;
		pid_t r;

		while ((r = waitpid(pid[k], &status, WNOHANG)) == 0 && now_ms() < until)
			pause_ms(20);
		if (r == 0) {
			kill(pid[k], SIGKILL);
			waitpid(pid[k], &status, 0);
		} else if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			ok++;
		}
	}
	check(ok == 2, "two processes changing one directory through both mounts at once "
	      "finished in time without errors (%d of 2)", ok);
	/* what is left: 200 files of each; both mounts list the same */
	{
		char p[4300];
		int left = 0;

		for (int k = 0; k < 2; k++)
			for (int i = 0; i < 400; i++) {
				snprintf(p, sizeof(p), "%s/%d.%d", i % 2 ? d1 : d2, k, i);
				left += !missing(p);
				if (!missing(p))
					unlink(p);
			}
		check(left == 400, "the files left are seen through both mounts (%d of 400)", left);
	}
	check(rmdir(d2) == 0 && missing(d1), "rmdir race through the second, gone on the first");
}

/* Asks the parent to make its notifiers slow (TWO_SESSIONS_NOTIFY_DELAY_MS)
 * or fast again: request 'D' or 'd'. */
static void slow_notifiers(bool on)
{
	char c = on ? 'D' : 'd';

	check(write(req_fd, &c, 1) == 1 && read(ack_fd, &c, 1) == 1 && c == 'y',
	      "the parent made its notifiers %s", on ? "slow" : "fast again");
}

/* A process that keeps one of the first session's workers waiting for its
 * notifications most of the time: it changes the times of a file of its
 * own through the first mount, over and over, until killed (or after
 * WAIT_SECS * 4).  The coherence loop's changes made through the second
 * session must still wait until the first's kernel has them. */
static pid_t start_chatter(void)
{
	char p[4200];
	uint64_t until;
	pid_t pid;
	int fd;

	path(p, sizeof(p), m1, "chatter");
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	check(fd >= 0, "create %s", p);
	if (fd >= 0)
		close(fd);
	pid = fork();
	if (pid != 0) {
		check(pid > 0, "start a process changing a file through %s all the time", m1);
		return pid;
	}
	until = now_ms() + WAIT_SECS * 4 * 1000u;
	while (now_ms() < until)
		if (utimensat(AT_FDCWD, p, NULL, 0) < 0)
			_exit(1);
	_exit(0);
}

static void stop_chatter(pid_t pid)
{
	char p[4200];
	int status = 0;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	      "the process changing a file all the time ran until stopped (status %#x)", status);
	path(p, sizeof(p), m1, "chatter");
	check(unlink(p) == 0, "unlink %s", p);
}

static void coherence_checks(void)
{
	/* TWO_SESSIONS_NOTIFY_DELAY_MS: the loop with slow notifiers, while a
	 * worker of the first session is nearly always waiting */
	bool slow = getenv("TWO_SESSIONS_NOTIFY_DELAY_MS") != NULL;
	pid_t chatter = -1;

	if (slow) {
		chatter = start_chatter();
		slow_notifiers(true);
	}
	coherence_loop();
	if (slow) {
		slow_notifiers(false);
		stop_chatter(chatter);
	}
	lifecycle_blocks();
	concurrent_dir();
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
	coherence_checks();
	/* the loop's files */
	n = 0;
	for (unsigned i = 1; i < nfiles; i += 2) {
		snprintf(c1, sizeof(c1), "%s/r%u", m1, i);
		n += unlink(c1) == 0;
	}
	check(n == (ssize_t)(nfiles / 2), "unlink the %u files the loop left (%zd)", nfiles / 2, n);
	check(dir_empty(m1) && dir_empty(m2), "both mounts show an empty root again");

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

/* The child's request 'L': a lifecycle pass as if 60 days had passed,
 * until it demotes a chunk (the file's last release, which makes it
 * movable, may come a moment after the child's close); answers 'y' or 'n'. */
static void serve_request(struct fs *fs, int req, int ack)
{
	struct tier_report rep;
	uint64_t until = now_ms() + WAIT_SECS * 1000u;
	char c, yes = 'n';
	int r;

	if (read(req, &c, 1) != 1)
		return;
	if (c == 'D' || c == 'd') {
		/* the coherence loop with slow notifiers, the rest without */
		efsfs_session_test_notify_delay(
			c == 'D' ? (unsigned)strtoul(getenv("TWO_SESSIONS_NOTIFY_DELAY_MS"), NULL, 10) : 0);
		yes = 'y';
		if (write(ack, &yes, 1) != 1)
			perror("two_sessions: answering the child");
		return;
	}
	if (c != 'L')
		return;
	do {
		memset(&rep, 0, sizeof(rep));
		r = tier_run(fs, time(NULL) + 60 * 86400, &rep);
		if (r == 0 && rep.chunks_to_ia > 0) {
			yes = 'y';
			break;
		}
		pause_ms(20);
	} while (now_ms() < until);
	if (yes != 'y')
		printf("lifecycle pass: %d, %llu chunks to IA, %s\n", r,
		       (unsigned long long)rep.chunks_to_ia, rep.first_error);
	if (write(ack, &yes, 1) != 1)
		perror("two_sessions: answering the child");
}

/* Waits for the child's exit, at most WAIT_SECS * 8, serving its requests;
 * kills it after. */
static int wait_child(pid_t pid, struct fs *fs, int req, int ack)
{
	uint64_t until = now_ms() + WAIT_SECS * 8 * 1000u;
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < until) {
		struct pollfd pfd = { req, POLLIN, 0 };

		if (poll(&pfd, 1, 20) == 1 && (pfd.revents & POLLIN))
			serve_request(fs, req, ack);
	}
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
	int go[2], rq[2], ak[2], fds0 = -1, code, r;
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
	if (getenv("TWO_SESSIONS_ROUNDS"))
		nfiles = (unsigned)strtoul(getenv("TWO_SESSIONS_ROUNDS"), NULL, 10);
	if (nfiles < 2 || nfiles > 300) {
		fprintf(stderr, "two_sessions: TWO_SESSIONS_ROUNDS must be 2..300\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);

	/* the child forks before any thread exists, and waits for the mounts */
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(rq, O_CLOEXEC) < 0 || pipe2(ak, O_CLOEXEC) < 0) {
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
		close(rq[0]);
		close(ak[1]);
		req_fd = rq[1];
		ack_fd = ak[0];
		if (read(go[0], &c, 1) != 1 || c != 'G')
			_exit(3);
		_exit(child_checks());
	}
	close(go[0]);
	close(rq[1]);
	close(ak[0]);

	log_init("two_sessions", false, LOG_WARNING);
	r = conf_load(argv[1], argv[2], &conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "two_sessions: %s\n", err);
		return 2;
	}
	r = tier_fs_open(conf, m1, 0, &fs, err, sizeof(err));
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
	code = wait_child(pid, fs, rq[0], ak[1]);
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
