/* tests/unit/test_safepath.c - unit tests of common/safepath.c: the walk
 * of safe_dir_open (create, tighten, refuse a group-writable parent, allow a
 * sticky one, follow this uid's symbolic links, "..") and opening beneath a
 * directory without symbolic links, through openat2 and through the
 * per-component fallback the kernels before 5.6 get. */
#include "tests/unit/testdir.h"
#include "common/safepath.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[3100];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/t-XXXXXX", test_dir);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	ck_assert_int_eq(chmod(dir, 0755), 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(test_create_and_tighten)
{
	char path[4096], note[512], err[512];
	int fd = -1;

	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	ck_assert_int_eq(safe_dir_open(path, 0, &fd, note, sizeof(note), err, sizeof(err)),
			 -ENOENT);
	ck_assert_int_eq(safe_dir_open(path, SAFE_CREATE, &fd, note, sizeof(note), err,
				       sizeof(err)), 0);
	close(fd);
	ck_assert_int_eq(mode_of(path) & 077, 0);
	ck_assert_str_eq(note, "");

	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert_int_eq(safe_dir_open(path, 0, &fd, note, sizeof(note), err, sizeof(err)),
			 -EPERM);
	ck_assert_msg(strstr(err, "mode 0755 gives group or others access"), "%s", err);
	ck_assert_int_eq(safe_dir_open(path, SAFE_TIGHTEN, &fd, note, sizeof(note), err,
				       sizeof(err)), 0);
	close(fd);
	ck_assert_int_eq(mode_of(path), 0700);
	ck_assert_msg(strstr(note, "mode 0755 gave group or others access; tightened to 0700"),
		      "%s", note);
}
END_TEST

START_TEST(test_parent_writable)
{
	char parent[4096], path[4096], note[512], err[512];
	int fd = -1;

	snprintf(parent, sizeof(parent), "%s/p", dir);
	snprintf(path, sizeof(path), "%s/p/fs", dir);
	ck_assert_int_eq(mkdir(parent, 0755), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(chmod(parent, 0775), 0);
	ck_assert_int_eq(safe_dir_open(path, SAFE_TIGHTEN, &fd, note, sizeof(note), err,
				       sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, parent) && strstr(err, "mode 0775"), "%s", err);
	/* sticky, as /tmp: nobody else can replace what we own below it */
	ck_assert_int_eq(chmod(parent, 01777), 0);
	ck_assert_int_eq(safe_dir_open(path, SAFE_TIGHTEN, &fd, note, sizeof(note), err,
				       sizeof(err)), 0);
	close(fd);
}
END_TEST

START_TEST(test_symlinks_and_dotdot)
{
	char real[4096], link[4096], path[4096], note[512], err[512];
	struct stat a, b;
	int fd = -1;

	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(mkdir(real, 0700), 0);
	ck_assert_int_eq(symlink("real", link), 0);       /* relative, our own */
	ck_assert_int_eq(safe_dir_open(link, 0, &fd, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	close(fd);
	ck_assert_int_eq(stat(real, &b), 0);
	ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);

	snprintf(path, sizeof(path), "%s/real/../real/./", dir);
	ck_assert_int_eq(safe_dir_open(path, 0, &fd, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	close(fd);
	ck_assert(a.st_ino == b.st_ino);

	/* a file where a directory must be */
	snprintf(path, sizeof(path), "%s/file", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	ck_assert_int_eq(safe_dir_open(path, 0, &fd, note, sizeof(note), err, sizeof(err)),
			 -ENOTDIR);
	ck_assert_int_eq(safe_dir_open("relative", 0, &fd, note, sizeof(note), err, sizeof(err)),
			 -EINVAL);
}
END_TEST

/* Both ways of opening beneath a directory refuse a symbolic link at any
 * component and a path that leaves the directory. */
static void check_openat(int (*op)(int, const char *, int, mode_t))
{
	char path[4096];
	int dfd, fd;

	snprintf(path, sizeof(path), "%s/d", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(mkdirat(dfd, "ab", 0700), 0);
	fd = op(dfd, "ab/f", O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	ck_assert_int_eq(symlinkat("/etc/passwd", dfd, "ab/g"), 0);
	ck_assert_int_eq(op(dfd, "ab/g", O_RDONLY, 0), -ELOOP);
	ck_assert_int_eq(symlinkat("ab", dfd, "cd"), 0);
	ck_assert_int_eq(op(dfd, "cd/f", O_RDONLY, 0), -ELOOP);
	ck_assert_int_eq(op(dfd, "../d/ab/f", O_RDONLY, 0), -EXDEV);
	ck_assert_int_eq(op(dfd, "/etc/passwd", O_RDONLY, 0), -EXDEV);
	ck_assert_int_eq(op(dfd, "ab/missing", O_RDONLY, 0), -ENOENT);
	close(dfd);
}

START_TEST(test_openat2)
{
	check_openat(safe_openat);
}
END_TEST

START_TEST(test_openat_walk)
{
	check_openat(safe_openat_walk);
}
END_TEST

START_TEST(test_key_and_tree)
{
	char path[4096], store[4096], err[512];
	int fd;

	snprintf(path, sizeof(path), "%s/key", dir);
	fd = open(path, O_CREAT | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0600), 0);
	ck_assert_int_eq(safe_key_check(fd, path, err, sizeof(err)), 0);
	ck_assert_int_eq(fchmod(fd, 0640), 0);
	ck_assert_int_eq(safe_key_check(fd, path, err, sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, path) && strstr(err, "mode 0640"), "%s", err);
	close(fd);

	snprintf(store, sizeof(store), "%s/objects", dir);
	ck_assert(safe_same_tree(path, store));        /* DATA_DIR/key, DATA_DIR/objects */
	snprintf(store, sizeof(store), "%s/objects/x/key", dir);
	ck_assert(safe_same_tree(store, dir));         /* the key inside the store */
	ck_assert(!safe_same_tree("/etc/efsfs/keys/dev.key", dir));
}
END_TEST

static Suite *safepath_suite(void)
{
	Suite *s = suite_create("safepath");
	TCase *tc = tcase_create("safepath");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_create_and_tighten);
	tcase_add_test(tc, test_parent_writable);
	tcase_add_test(tc, test_symlinks_and_dotdot);
	tcase_add_test(tc, test_openat2);
	tcase_add_test(tc, test_openat_walk);
	tcase_add_test(tc, test_key_and_tree);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(safepath_suite);
