/* testdir.c - temporary directories for the unit tests (see testdir.h). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testdir.h"

void testdir_make(const char *prefix, char *buf, size_t len)
{
	const char *base = getenv("EFSFS_TEST_TMP");

	snprintf(buf, len, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
	if (!mkdtemp(buf)) {
		fprintf(stderr, "mkdtemp %s: %s\n", buf, strerror(errno));
		exit(EXIT_FAILURE);
	}
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
