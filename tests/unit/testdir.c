/* testdir.c - the one main() of the unit test binaries and their temporary
 * directories (see testdir.h). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testdir.h"

char test_dir[3000];

void testdir_make(const char *prefix, char *buf, size_t len)
{
	const char *base = getenv("EFSFS_TEST_TMP");

	snprintf(buf, len, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
	if (!mkdtemp(buf)) {
		fprintf(stderr, "mkdtemp %s: %s\n", buf, strerror(errno));
		exit(EXIT_FAILURE);
	}
}

void testdir_sub(const char *prefix, char *buf, size_t len)
{
	ck_assert_msg(test_dir[0], "test_dir is made by main()");
	ck_assert_int_lt(snprintf(buf, len, "%s/%s-XXXXXX", test_dir, prefix), (int)len);
	ck_assert_msg(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf, strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void testdir_remove(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs this binary's suites (TEST_SUITES) in test_dir, named after the
 * program (test_fs-XXXXXX); fails when a check failed. */
int main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	SRunner *sr;
	int failed;

	name = name ? name + 1 : argc > 0 && argv[0] && *argv[0] ? argv[0] : "test";
	testdir_make(name, test_dir, sizeof(test_dir));
	sr = srunner_create(test_suites[0]());
	for (size_t i = 1; test_suites[i]; i++)
		srunner_add_suite(sr, test_suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	testdir_remove(test_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
