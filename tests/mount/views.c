/* views.c - mount suite (run by views.sh): one process opens one file
 * system and mounts seven FUSE sessions of it with different views
 * (fuse/session.h, fuse/view.c): the whole file system, a subdirectory as
 * the root, two forced identities (uid 1001; uid 1002 with secondary gids
 * 3000 and 3001), root squash, deny_write, and uid 1001 in the
 * subdirectory (what an access point makes).  A child process, running
 * as root, checks through the mount points: the owners of what each
 * creates, EACCES/EPERM where the session's identity may not although the
 * caller is root, setgid inheritance, the sticky bit, that ".." at the
 * subdirectory's root stays there, that rename, link and file handles
 * cannot leave it, EROFS on the deny_write session, 65534 for a squashed
 * root and the caller's own uid for another caller of the squash session.
 *
 * usage: views CONFIG NAME DIR   (mount points DIR/m0 .. DIR/m6 are made)
 * Prints "ok: ..." / "FAIL: ..." lines and "N passed, N failed"; exits 0
 * when all passed.  Every wait is bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "backend/fs.h"
#include "common/conf.h"
#include "common/log.h"
#include "fuse/session.h"

#define WAIT_SECS 15            /* the longest any one wait takes */
#define NSESS 7

enum { ROOT, SUB, U1001, U1002, SQUASH, RO, AP };
static const char *const sess_name[NSESS] = {
	"root", "subdirectory", "uid 1001", "uid 1002 (+3000,3001)", "squash_root", "deny_write",
	"uid 1001 in the subdirectory",
};

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

static char mnt[NSESS][4096];

/* Path of rel in session i's mount: one of 8 rotating buffers. */
static const char *P(int i, const char *rel)
{
	static char buf[8][8400];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s%s%s", mnt[i], *rel ? "/" : "", rel);
	return b;
}

/* -errno of a call that returned r (0 when it succeeded). */
static int res(long r)
{
	return r < 0 ? -errno : 0;
}

static const char *ename(int r)
{
	static char buf[4][64];
	static int next;
	char *b = buf[next++ % 4];

	if (r == 0)
		return "success";
	snprintf(b, sizeof(buf[0]), "%s", strerrorname_np(-r) ? strerrorname_np(-r) : "?");
	return b;
}

/* check that r (0 or -errno) is want */
static void expect(int r, int want, const char *what, int sess)
{
	check(r == want, "%s through the %s session: %s (want %s)", what, sess_name[sess],
	      ename(r), ename(want));
}

static int write_file(const char *p, const char *data, mode_t mode)
{
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, strlen(data));
	if (n != (ssize_t)strlen(data)) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return -e;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int read_all(const char *p, char *buf, size_t len)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int open_close(const char *p, int flags)
{
	int fd = open(p, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int opendir_close(const char *p)
{
	DIR *d = opendir(p);

	if (!d)
		return -errno;
	closedir(d);
	return 0;
}

/* Whether rel, seen through session sess, has this owner.  A change made
 * through one session is checked through that one: another session's
 * kernel may cache the attributes it had (for attr_timeout). */
static void owner_in(int sess, const char *rel, uid_t uid, gid_t gid, const char *what)
{
	struct stat st;
	int r = lstat(P(sess, rel), &st);

	check(r == 0 && st.st_uid == uid && st.st_gid == gid, "%s: %s is owned by %u:%u (%s %d:%d)",
	      what, rel, (unsigned)uid, (unsigned)gid, r ? strerror(errno) : "got",
	      r ? -1 : (int)st.st_uid, r ? -1 : (int)st.st_gid);
}

/* ... through the root session, for a file it has not seen yet */
static void owner_is(const char *rel, uid_t uid, gid_t gid, const char *what)
{
	owner_in(ROOT, rel, uid, gid, what);
}

static void setup(void)
{
	int r;

	umask(0);
	r = res(mkdir(P(ROOT, "priv"), 0700));
	if (!r)
		r = res(mkdir(P(ROOT, "grp"), 0770));
	if (!r)
		r = res(chown(P(ROOT, "grp"), 0, 3000));
	if (!r)
		r = write_file(P(ROOT, "grp/f"), "group data", 0660);
	if (!r)
		r = res(chown(P(ROOT, "grp/f"), 0, 3000));
	if (!r)
		r = res(mkdir(P(ROOT, "open"), 0777));
	if (!r)
		r = res(mkdir(P(ROOT, "sticky"), 01777));
	if (!r)
		r = write_file(P(ROOT, "open/root644"), "root's", 0644);
	if (!r)
		r = res(mkdir(P(ROOT, "open/rootdir"), 0755));
	if (!r)
		r = res(mkdir(P(ROOT, "open/sgid"), 0777));
	if (!r)
		r = res(chown(P(ROOT, "open/sgid"), 0, 3000));
	if (!r)
		r = res(chmod(P(ROOT, "open/sgid"), 02777));
	if (!r)
		r = write_file(P(ROOT, "open/run744"), "#!/bin/sh\nexit 7\n", 0744);
	if (!r)
		r = res(mkdir(P(ROOT, "sub/apdir"), 0777));
	check(r == 0, "set up the tree through the root session: %s", ename(r));
}

static void ownership(void)
{
	expect(write_file(P(ROOT, "open/by_root"), "r", 0644), 0, "create open/by_root", ROOT);
	owner_is("open/by_root", 0, 0, "the root session");
	expect(write_file(P(U1001, "open/by1001"), "a", 0644), 0, "create open/by1001", U1001);
	owner_is("open/by1001", 1001, 1001, "ident 1001 though the caller is root");
	expect(res(mkdir(P(U1002, "open/dir1002"), 0755)), 0, "mkdir open/dir1002", U1002);
	owner_is("open/dir1002", 1002, 1002, "ident 1002");
	expect(res(symlink("target", P(U1002, "open/ln1002"))), 0, "symlink open/ln1002", U1002);
	owner_is("open/ln1002", 1002, 1002, "ident 1002's symlink");
	expect(res(mknod(P(U1002, "open/fifo1002"), S_IFIFO | 0644, 0)), 0, "mkfifo", U1002);
	owner_is("open/fifo1002", 1002, 1002, "ident 1002's fifo");
	expect(write_file(P(SQUASH, "open/bysquash"), "s", 0644), 0, "create open/bysquash",
	       SQUASH);
	owner_is("open/bysquash", 65534, 65534, "root squashed");
	expect(write_file(P(SUB, "insub"), "in sub", 0644), 0, "create insub", SUB);
	owner_is("sub/insub", 0, 0, "the subdirectory session's file, seen at sub/ in the root");
	/* a setgid directory gives its group, and its bit to subdirectories */
	expect(write_file(P(U1001, "open/sgid/f"), "g", 0644), 0, "create in a setgid dir", U1001);
	owner_is("open/sgid/f", 1001, 3000, "setgid directory's group for a non-member");
	expect(res(mkdir(P(U1001, "open/sgid/d"), 0755)), 0, "mkdir in a setgid dir", U1001);
	owner_is("open/sgid/d", 1001, 3000, "setgid directory's subdirectory");
	{
		struct stat st;

		check(stat(P(ROOT, "open/sgid/d"), &st) == 0 && (st.st_mode & S_ISGID),
		      "the subdirectory of a setgid directory is setgid too");
	}
}

/* execve of path in a grandchild: its exit code, or -errno of execve. */
static int run_prog(const char *path)
{
	int pfd[2], e = 0, status = -1;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)path, NULL };

		execv(path, argv);
		e = errno;
		if (write(pfd[1], &e, sizeof(e)) != sizeof(e))
			_exit(99);
		_exit(98);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (e)
		return -e;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void permissions(void)
{
	struct timespec ts[2] = { { 1000000, 0 }, { 1000000, 0 } };
	char buf[64] = "";
	int r;

	/* a root caller is not root here: the identity's rights count */
	expect(open_close(P(U1001, "priv/new"), O_CREAT | O_WRONLY), -EACCES,
	       "create in a 0700 root directory", U1001);
	{
		struct stat st;

		expect(res(stat(P(U1001, "priv/x"), &st)), -EACCES, "lookup in it", U1001);
	}
	expect(opendir_close(P(U1001, "priv")), -EACCES, "opendir of it", U1001);
	expect(res(access(P(U1001, "priv"), R_OK)), -EACCES, "access(R_OK) of it", U1001);
	expect(res(access(P(U1001, "open"), W_OK | X_OK)), 0, "access(W_OK|X_OK) of open/",
	       U1001);
	expect(open_close(P(ROOT, "priv/new"), O_CREAT | O_WRONLY), 0,
	       "create in the 0700 directory", ROOT);
	/* group 3000: 1002 has it as a secondary group, 1001 not */
	expect(read_all(P(U1001, "grp/f"), buf, sizeof(buf)), -EACCES, "read grp/f (0660 :3000)",
	       U1001);
	r = read_all(P(U1002, "grp/f"), buf, sizeof(buf));
	check(r == 0 && strcmp(buf, "group data") == 0,
	      "read grp/f through the uid 1002 session (secondary gid 3000): %s '%s'", ename(r),
	      buf);
	expect(open_close(P(U1002, "grp/f"), O_WRONLY), 0, "open grp/f for writing", U1002);
	/* a file of root's, mode 0644 */
	expect(open_close(P(U1001, "open/root644"), O_WRONLY), -EACCES,
	       "open root's 0644 file for writing", U1001);
	expect(open_close(P(U1001, "open/root644"), O_RDONLY), 0, "open it for reading", U1001);
	expect(open_close(P(U1001, "open/root644"), O_RDONLY | O_TRUNC), -EACCES,
	       "open it with O_TRUNC", U1001);
	expect(res(truncate(P(U1001, "open/root644"), 0)), -EACCES, "truncate it", U1001);
	expect(res(chmod(P(U1001, "open/root644"), 0666)), -EPERM, "chmod it", U1001);
	expect(res(utimensat(AT_FDCWD, P(U1001, "open/root644"), NULL, 0)), -EACCES,
	       "utimes(now) on it", U1001);
	expect(res(utimensat(AT_FDCWD, P(U1001, "open/root644"), ts, 0)), -EPERM,
	       "utimes(explicit) on it", U1001);
	expect(res(setxattr(P(U1001, "open/root644"), "user.k", "v", 1, 0)), -EACCES,
	       "set a user.* xattr on it", U1001);
	expect(res(mkdir(P(U1001, "open/rootdir/x"), 0755)), -EACCES,
	       "mkdir in root's 0755 directory", U1001);
	expect(res(rename(P(U1001, "open/by1001"), P(U1001, "priv/x"))), -EACCES,
	       "rename into the 0700 directory", U1001);
	expect(res(link(P(U1001, "open/root644"), P(U1001, "open/l644"))), -EPERM,
	       "hard link to root's 0644 file (protected_hardlinks)", U1001);
	expect(res(link(P(U1001, "open/by1001"), P(U1001, "open/l1001"))), 0,
	       "hard link to its own file", U1001);
	/* what the owner may do */
	expect(res(chmod(P(U1001, "open/by1001"), 0640)), 0, "chmod its own file", U1001);
	expect(res(utimensat(AT_FDCWD, P(U1001, "open/by1001"), ts, 0)), 0,
	       "utimes(explicit) on its own file", U1001);
	expect(res(setxattr(P(U1001, "open/by1001"), "user.k", "v", 1, 0)), 0,
	       "set a user.* xattr on its own file", U1001);
	expect(res(chown(P(U1001, "open/by1001"), 1002, (gid_t)-1)), -EPERM,
	       "chown its file to another user", U1001);
	expect(res(chown(P(U1001, "open/by1001"), (uid_t)-1, 3000)), -EPERM,
	       "chgrp its file to a group it is not in", U1001);
	expect(res(chown(P(U1002, "open/dir1002"), (uid_t)-1, 3001)), 0,
	       "chgrp its directory to its secondary group 3001", U1002);
	owner_in(U1002, "open/dir1002", 1002, 3001, "after chgrp by the owner");
	expect(res(chmod(P(U1002, "open/by1001"), 0666)), -EPERM, "chmod another's file",
	       U1002);
	/* chmod g+s by one not in the group: the kernel's rule clears it */
	{
		struct stat st;

		expect(res(chmod(P(U1001, "open/sgid/f"), 02755)), 0,
		       "chmod 2755 of its file of group 3000", U1001);
		check(stat(P(U1001, "open/sgid/f"), &st) == 0 && (st.st_mode & 07777) == 0755,
		      "set-group-ID was cleared: not a member of the file's group (mode %o)",
		      (unsigned)(st.st_mode & 07777));
	}
	/* the sticky bit */
	expect(write_file(P(U1002, "sticky/s1002"), "s", 0666), 0, "create in the sticky dir",
	       U1002);
	expect(res(unlink(P(U1001, "sticky/s1002"))), -EPERM,
	       "unlink another's file in a sticky directory", U1001);
	expect(res(rename(P(U1001, "sticky/s1002"), P(U1001, "sticky/t"))), -EPERM,
	       "rename another's file in a sticky directory", U1001);
	expect(res(unlink(P(U1002, "sticky/s1002"))), 0, "unlink its own file there", U1002);
	/* squashed root */
	expect(open_close(P(SQUASH, "priv/new2"), O_CREAT | O_WRONLY), -EACCES,
	       "create in root's 0700 directory", SQUASH);
	expect(res(chown(P(SQUASH, "open/bysquash"), 0, (gid_t)-1)), -EPERM,
	       "chown to root", SQUASH);
	expect(res(chmod(P(SQUASH, "open/root644"), 0600)), -EPERM, "chmod root's file", SQUASH);
	expect(res(chown(P(ROOT, "open/bysquash"), 0, 0)), 0, "chown by root", ROOT);
	/* execute: x for the identity, although the file has an x bit */
	expect(run_prog(P(U1001, "open/run744")), -EACCES, "execve of root's 0744 script", U1001);
	r = run_prog(P(ROOT, "open/run744"));
	check(r == 7, "execve of it through the root session runs it (exit %d, want 7)", r);
}

/* An identity with uid 1001 in the subdirectory: its root belongs to
 * root (0755), a directory below it is open to all. */
static void access_point_like(void)
{
	struct stat st;

	expect(write_file(P(AP, "nope"), "x", 0644), -EACCES, "create in its root-owned root",
	       AP);
	expect(write_file(P(AP, "apdir/mine"), "x", 0644), 0, "create in apdir/", AP);
	owner_is("sub/apdir/mine", 1001, 1001, "the subdirectory session with uid 1001");
	check(stat(P(AP, "insub"), &st) == 0 && stat(P(AP, "open"), &st) < 0 && errno == ENOENT,
	      "it sees the subdirectory's files, not the root's");
}

/* Another caller of the squash session runs as itself (a grandchild). */
static void squash_other_caller(void)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		int code = 0;

		if (setgroups(0, NULL) < 0 || setgid(1500) < 0 || setuid(1500) < 0)
			_exit(10);
		if (write_file(P(SQUASH, "open/by1500"), "u", 0644) != 0)
			code |= 1;
		if (open_close(P(SQUASH, "open/root644"), O_WRONLY) != -EACCES)
			code |= 2;
		if (open_close(P(SQUASH, "priv/x"), O_RDONLY) != -EACCES)
			code |= 4;
		_exit(code);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	check(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "uid 1500 through the squash session creates, and is refused root's files "
	      "(exit %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	owner_is("open/by1500", 1500, 1500, "a caller other than root is not squashed");
}

static void confinement(void)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY, .resolve = RESOLVE_IN_ROOT };
	struct stat sub, root, st;
	struct file_handle *fh;
	int rootfd, fd, mount_id, r;
	bool dotdot = false;
	struct dirent *de;
	DIR *d;

	r = stat(P(ROOT, "sub"), &sub);
	check(r == 0 && stat(P(SUB, ""), &root) == 0 && root.st_ino == sub.st_ino,
	      "the subdirectory session's root shows sub's inode number (%llu)",
	      (unsigned long long)sub.st_ino);
	rootfd = open(P(SUB, ""), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	check(rootfd >= 0, "open the subdirectory session's root%s%s", rootfd < 0 ? ": " : "",
	      rootfd < 0 ? strerror(errno) : "");
	if (rootfd < 0)
		return;
	/* readdir's ".." at the root names the root */
	d = opendir(P(SUB, ""));
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, "..") == 0)
			dotdot = de->d_ino == root.st_ino;
	if (d)
		closedir(d);
	check(dotdot, "readdir's \"..\" at the subdirectory root is the root itself");
	/* ".." resolved inside the mount's root stays there */
	fd = (int)syscall(SYS_openat2, rootfd, "../..", &how, sizeof(how));
	check(fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == root.st_ino && st.st_dev == root.st_dev,
	      "openat2(root, \"../..\", RESOLVE_IN_ROOT) is the root: %s",
	      fd < 0 ? strerror(errno) : "same inode");
	if (fd >= 0)
		close(fd);
	/* a plain ".." at a mount's root is the kernel's: the mount point's
	 * parent, a directory of the host, never the file system's root */
	fd = openat(rootfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd >= 0 ? res(fstat(fd, &st)) : -errno;
	check(r == 0 && st.st_dev != root.st_dev,
	      "openat(root, \"..\") leaves the mount for the host's directory (st_dev %llx, "
	      "the mount's %llx), not for the file system's root: %s",
	      r ? 0ull : (unsigned long long)st.st_dev, (unsigned long long)root.st_dev, ename(r));
	if (fd >= 0)
		close(fd);
	{
		struct stat top;

		check(stat(P(SUB, "priv"), &st) < 0 && errno == ENOENT &&
		      stat(P(ROOT, "priv"), &top) == 0,
		      "the root's priv/ is not visible through the subdirectory session");
	}
	/* rename and link out of the view: the kernel refuses across mounts */
	expect(res(rename(P(SUB, "insub"), P(ROOT, "out"))), -EXDEV,
	       "rename to the root session's directory", SUB);
	expect(res(link(P(SUB, "insub"), P(ROOT, "out"))), -EXDEV,
	       "link into the root session's directory", SUB);
	expect(res(rename(P(ROOT, "open/by_root"), P(SUB, "stolen"))), -EXDEV,
	       "rename from the root session into it", SUB);
	/* file handles: one of a file outside sub, opened on the sub mount */
	fh = calloc(1, sizeof(*fh) + MAX_HANDLE_SZ);
	if (!fh)
		return;
	fh->handle_bytes = MAX_HANDLE_SZ;
	r = res(name_to_handle_at(AT_FDCWD, P(ROOT, "open/root644"), fh, &mount_id, 0));
	printf("note: name_to_handle_at through the root session: %s\n", ename(r));
	if (r == 0) {
		fd = open_by_handle_at(rootfd, fh, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -errno : 0;
		check(fd < 0, "open_by_handle_at on the subdirectory mount of a file outside it "
		      "fails: %s", ename(r));
		if (fd >= 0)
			close(fd);
	}
	/* and of the root session's root (nodeid 1): at most the sub's root */
	fh->handle_bytes = MAX_HANDLE_SZ;
	r = res(name_to_handle_at(AT_FDCWD, P(ROOT, ""), fh, &mount_id, 0));
	if (r == 0) {
		fd = open_by_handle_at(rootfd, fh, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -errno : 0;
		check(fd < 0 || (fstat(fd, &st) == 0 && st.st_ino == root.st_ino),
		      "the root session's root handle on the subdirectory mount is refused or "
		      "the subdirectory: %s", ename(r));
		if (fd >= 0)
			close(fd);
	}
	/* one of its own file, on its own mount: refused or that file */
	fh->handle_bytes = MAX_HANDLE_SZ;
	r = res(name_to_handle_at(AT_FDCWD, P(SUB, "insub"), fh, &mount_id, 0));
	printf("note: name_to_handle_at through the subdirectory session: %s\n", ename(r));
	if (r == 0) {
		struct stat want;

		fd = open_by_handle_at(rootfd, fh, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -errno : 0;
		printf("note: open_by_handle_at of its own file: %s\n", ename(r));
		check(fd < 0 || (fstat(fd, &st) == 0 && stat(P(SUB, "insub"), &want) == 0 &&
				 st.st_ino == want.st_ino),
		      "open_by_handle_at of its own file is refused or that file: %s", ename(r));
		if (fd >= 0)
			close(fd);
	}
	free(fh);
	close(rootfd);
}

static void deny_write(void)
{
	char buf[64] = "";
	int r;

	expect(open_close(P(RO, "open/new"), O_CREAT | O_WRONLY), -EROFS, "create", RO);
	expect(open_close(P(RO, "open/root644"), O_WRONLY), -EROFS, "open for writing", RO);
	expect(open_close(P(RO, "open/root644"), O_RDONLY | O_TRUNC), -EROFS, "open O_TRUNC", RO);
	r = read_all(P(RO, "open/root644"), buf, sizeof(buf));
	check(r == 0 && strcmp(buf, "root's") == 0, "read through the deny_write session: %s",
	      ename(r));
	expect(res(mkdir(P(RO, "open/d"), 0755)), -EROFS, "mkdir", RO);
	expect(res(symlink("t", P(RO, "open/l"))), -EROFS, "symlink", RO);
	expect(res(link(P(RO, "open/root644"), P(RO, "open/l2"))), -EROFS, "link", RO);
	expect(res(unlink(P(RO, "open/by_root"))), -EROFS, "unlink", RO);
	expect(res(rmdir(P(RO, "open/rootdir"))), -EROFS, "rmdir", RO);
	expect(res(rename(P(RO, "open/by_root"), P(RO, "open/x"))), -EROFS, "rename", RO);
	expect(res(chmod(P(RO, "open/by_root"), 0600)), -EROFS, "chmod", RO);
	expect(res(truncate(P(RO, "open/by_root"), 0)), -EROFS, "truncate", RO);
	expect(res(setxattr(P(RO, "open/by_root"), "user.k", "v", 1, 0)), -EROFS, "setxattr", RO);
	expect(res(removexattr(P(RO, "open/by1001"), "user.k")), -EROFS, "removexattr", RO);
}

static int child_checks(void)
{
	setup();
	if (failed)
		return 1;
	ownership();
	permissions();
	squash_other_caller();
	confinement();
	access_point_like();
	deny_write();
	return failed ? 1 : 0;
}

/* ---- the parent: six sessions of one file system --------------------------------- */

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

static bool mounted(const char *m)
{
	char line[8192], dir[4096];
	FILE *f = fopen("/proc/self/mounts", "re");
	bool found = false;

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %4095s", dir) == 1 && strcmp(dir, m) == 0)
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
	static const struct fs_ident u1001 = { 1001, 1001, 0, { 0 } };
	static const struct fs_ident u1002 = { 1002, 1002, 2, { 3000, 3001 } };
	struct efsfs_session_opts so[NSESS];
	struct runner run[NSESS] = { { 0 } };
	struct fs_ctx rootctx = { 0, 0 };
	struct conf *conf = NULL;
	struct fs *fs = NULL;
	struct stat st;
	int go[2], code, r;
	char err[1024], c, dir[3900];
	pid_t pid;

	if (argc != 4) {
		fprintf(stderr, "usage: views CONFIG NAME DIR\n");
		return 2;
	}
	if (!realpath(argv[3], dir)) {
		perror("views: DIR");
		return 2;
	}
	for (int i = 0; i < NSESS; i++) {
		snprintf(mnt[i], sizeof(mnt[i]), "%s/m%d", dir, i);
		if (mkdir(mnt[i], 0755) < 0 && errno != EEXIST) {
			perror("views: mkdir");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IONBF, 0);

	/* the child forks before any thread exists, and waits for the mounts */
	if (pipe2(go, O_CLOEXEC) < 0) {
		perror("views: pipe");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("views: fork");
		return 2;
	}
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1 || c != 'G')
			_exit(3);
		_exit(child_checks());
	}
	close(go[0]);

	log_init("views", false, LOG_WARNING);
	r = conf_load(argv[1], argv[2], &conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "views: %s\n", err);
		return 2;
	}
	r = fs_open_flags(conf, mnt[0], 0, &fs, err, sizeof(err));
	check(r == 0, "open the file system %s%s%s", argv[2], r ? ": " : "", r ? err : "");
	if (r < 0)
		goto out;
	/* sub/, the second session's root, made before it mounts */
	r = fs_mkdir(fs, &rootctx, FS_ROOT_INO, "sub", S_IFDIR | 0755, &st);
	check(r == 0, "mkdir sub: %s", strerror(-r));
	if (r < 0)
		goto out;
	fs_forget(fs, st.st_ino, 1);

	memset(so, 0, sizeof(so));
	so[SUB].root_ino = st.st_ino;
	so[U1001].ident = &u1001;
	so[U1002].ident = &u1002;
	so[SQUASH].squash_root = true;
	so[RO].deny_write = true;
	so[AP].root_ino = st.st_ino;
	so[AP].ident = &u1001;
	for (int i = 0; i < NSESS; i++) {
		so[i].mountpoint = mnt[i];
		so[i].max_threads = 2;
		r = efsfs_session_new(fs, &so[i], &run[i].s, err, sizeof(err));
		if (r == 0)
			r = efsfs_session_mount(run[i].s, err, sizeof(err));
		check(r == 0, "the %s session mounted on %s%s%s", sess_name[i], mnt[i],
		      r ? ": " : "", r ? err : "");
		if (r < 0)
			goto stop;
		if (pthread_create(&run[i].tid, NULL, run_thread, &run[i]) != 0) {
			check(false, "start session %d's loop", i);
			goto stop;
		}
		run[i].started = true;
	}
	/* a root that is not a directory is refused, naming it */
	{
		struct efsfs_session_opts bad = { .mountpoint = mnt[0], .root_ino = 999999 };
		struct efsfs_session *s = NULL;

		r = efsfs_session_new(fs, &bad, &s, err, sizeof(err));
		check(r == -ENOENT && strstr(err, "999999"),
		      "a session whose root inode does not exist is refused: %s", err);
		efsfs_session_destroy(s);
		s = NULL;
		r = fs_mknod(fs, &rootctx, FS_ROOT_INO, "notdir", S_IFREG | 0644, 0, &st);
		if (r == 0) {
			fs_forget(fs, st.st_ino, 1);
			bad.root_ino = st.st_ino;
			r = efsfs_session_new(fs, &bad, &s, err, sizeof(err));
			efsfs_session_destroy(s);
		}
		check(r == -ENOTDIR && strstr(err, "Not a directory"),
		      "a session whose root is a file is refused: %s", err);
	}

	c = 'G';
	if (write(go[1], &c, 1) != 1)
		check(false, "start the child: %s", strerror(errno));
	close(go[1]);
	go[1] = -1;
	code = wait_child(pid);
	pid = -1;
	check(code == 0, "the checks through the mounts passed (child exit %d)", code);

stop:
	for (int i = 0; i < NSESS; i++) {
		if (run[i].started && !run[i].joined) {
			efsfs_session_stop(run[i].s);
			if (!join_bounded(&run[i])) {
				check(false, "session %d's loop did not stop", i);
				_exit(1);       /* its thread still uses the session */
			}
		}
		efsfs_session_destroy(run[i].s);
		if (run[i].started)
			check(!mounted(mnt[i]), "%s is no longer mounted", mnt[i]);
	}
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
