/* testdir.h - the one main() of the unit test binaries and their temporary
 * directories.  Each tests/unit/test_<module>.c names the check suites its
 * binary runs with TEST_SUITES(); main() (testdir.c) makes one directory for
 * the run in the runner process, runs the suites and removes the directory,
 * so that the files of a failed (forked) test go too.  Single-threaded: the
 * globals are written by main() before any test runs. */
#ifndef EFSFS_TESTDIR_H
#define EFSFS_TESTDIR_H

#include <check.h>
#include <stddef.h>

/* The suites of this binary, NULL-terminated: one TEST_SUITES(a, b...) per
 * test file, at file scope. */
extern Suite *(*const test_suites[])(void);
#define TEST_SUITES(...) Suite *(*const test_suites[])(void) = { __VA_ARGS__, NULL }

/* The run's directory, $EFSFS_TEST_TMP/<program>-XXXXXX (or under /tmp),
 * made by main() before the suites run. */
extern char test_dir[3000];

/* Makes $EFSFS_TEST_TMP/<prefix>-XXXXXX (or under /tmp) into buf; exits on failure. */
void testdir_make(const char *prefix, char *buf, size_t len);
/* Makes a fresh test_dir/<prefix>-XXXXXX into buf (ck_asserts: call it in
 * a test or a fixture). */
void testdir_sub(const char *prefix, char *buf, size_t len);
/* rm -rf path (errors ignored: it is cleanup). */
void testdir_remove(const char *path);

#endif
