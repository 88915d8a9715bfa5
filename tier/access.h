/* access.h - per-chunk access times noted in memory by reads and writes
 * and written to the chunk map in batches, so that no read costs a
 * metadata write (DESIGN: relatime-style access tracking). */
#ifndef EFSFS_ACCESS_H
#define EFSFS_ACCESS_H

#include <stdint.h>

struct access;

int access_create(struct access **ret);
void access_free(struct access *a);          /* accepts NULL */
/* Notes chunks [first, last] of ino accessed at now (seconds). */
void access_note(struct access *a, uint64_t ino, uint64_t first, uint64_t last, int64_t now);
/* Takes every noted access out of the table, calling cb for each; entries
 * whose callback fails go back in. */
int access_drain(struct access *a, int (*cb)(uint64_t ino, uint64_t idx, int64_t t, void *arg),
		 void *arg);

#endif
