/* access.c - the in-memory access table (see access.h): an open hash of
 * (inode, chunk) -> last access second, guarded by one mutex.  Bounded:
 * past ACCESS_MAX entries new notes are dropped until the next drain (the
 * chunk then just looks older; nothing is lost but a little precision). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tier/access.h"

#define ACCESS_BUCKETS 4096
#define ACCESS_MAX     (1u << 20)
#define ACCESS_SPAN    1024       /* chunks noted per call at most */

/* An entry of the table: every field written and read under access.lock
 * while it is in the table. */
struct access_ent {
	uint64_t ino, idx;
	int64_t t;
	struct access_ent *next;
};

struct access {
	pthread_mutex_t lock;
	struct access_ent *b[ACCESS_BUCKETS];   /* written and read under lock */
	unsigned n;                             /* written and read under lock */
};

static unsigned bucket(uint64_t ino, uint64_t idx)
{
	return (unsigned)(((ino * 0x9E3779B97F4A7C15ull) ^ (idx * 0xC2B2AE3D27D4EB4Full)) >> 52);
}

int access_create(struct access **ret)
{
	struct access *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	*ret = a;
	return 0;
}

void access_free(struct access *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < ACCESS_BUCKETS; i++) {
		while (a->b[i]) {
			struct access_ent *e = a->b[i];

			a->b[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static void note_one(struct access *a, uint64_t ino, uint64_t idx, int64_t now)
{
	struct access_ent **p = &a->b[bucket(ino, idx)], *e;

	for (e = *p; e; e = e->next) {
		if (e->ino == ino && e->idx == idx) {
			if (now > e->t)
				e->t = now;
			return;
		}
	}
	if (a->n >= ACCESS_MAX)
		return;
	e = malloc(sizeof(*e));
	if (!e)
		return;
	e->ino = ino;
	e->idx = idx;
	e->t = now;
	e->next = *p;
	*p = e;
	a->n++;
}

void access_note(struct access *a, uint64_t ino, uint64_t first, uint64_t last, int64_t now)
{
	if (last - first > ACCESS_SPAN)
		last = first + ACCESS_SPAN;
	pthread_mutex_lock(&a->lock);
	for (uint64_t i = first; i <= last; i++)
		note_one(a, ino, i, now);
	pthread_mutex_unlock(&a->lock);
}

int access_take(struct access *a, struct access_rec **ret, size_t *ret_n)
{
	struct access_rec *v = NULL;
	size_t n = 0;

	pthread_mutex_lock(&a->lock);
	if (a->n) {
		v = malloc(a->n * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&a->lock);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < ACCESS_BUCKETS; i++) {
		struct access_ent *e;

		while ((e = a->b[i])) {
			a->b[i] = e->next;
			v[n++] = (struct access_rec){ e->ino, e->idx, e->t };
			free(e);
		}
	}
	a->n = 0;
	pthread_mutex_unlock(&a->lock);
	*ret = v;
	*ret_n = n;
	return 0;
}

void access_put_back(struct access *a, const struct access_rec *v, size_t n)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < n; i++)
		note_one(a, v[i].ino, v[i].idx, v[i].t);
	pthread_mutex_unlock(&a->lock);
}
