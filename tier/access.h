/* access.h - per-chunk access times noted in memory by reads and writes
 * and written to the chunk map in batches, so that no read costs a
 * metadata write (DESIGN: relatime-style access tracking). */
#ifndef EFSFS_ACCESS_H
#define EFSFS_ACCESS_H

#include <stddef.h>
#include <stdint.h>

struct access;

int access_create(struct access **ret);
void access_free(struct access *a);          /* accepts NULL */
/* Notes chunks [first, last] of ino accessed at now (seconds). */
void access_note(struct access *a, uint64_t ino, uint64_t first, uint64_t last, int64_t now);
/* One noted access, as access_take hands it out: the caller's own, no lock. */
struct access_rec {
	uint64_t ino, idx;
	int64_t t;
};
/* Takes every noted access out of the table into *ret (n of them, 0 and
 * NULL when none; free() it), so that writing them may be retried. */
int access_take(struct access *a, struct access_rec **ret, size_t *ret_n);
/* Puts accesses taken but not written back in (a later note wins). */
void access_put_back(struct access *a, const struct access_rec *v, size_t n);

#endif
