/* testdir.h - temporary directories for the unit tests: one per test run,
 * made and removed by main() in the runner process (so that the files of a
 * failed forked test go too), and recursive removal. */
#ifndef EFSFS_TESTDIR_H
#define EFSFS_TESTDIR_H

#include <stddef.h>

/* Makes $EFSFS_TEST_TMP/<prefix>-XXXXXX (or under /tmp) into buf; exits on failure. */
void testdir_make(const char *prefix, char *buf, size_t len);
/* rm -rf path (errors ignored: it is cleanup). */
void testdir_remove(const char *path);

#endif
