/* lifecycle.c - the lifecycle policy: a pass over every file that applies
 * TransitionToIA and TransitionToArchive to each chunk by its last access,
 * the background thread that runs passes on a mounted file system, the
 * access-time flush, the listing of a store's chunk objects and garbage
 * collection of unreferenced ones, and the per-class storage sizes.
 *
 * A chunk's last access is its chunk-map atime (reads and writes, noted in
 * memory and flushed here) or, for a chunk never accessed since it was
 * written, its file's mtime.  Metadata operations (stat, listing) are not
 * accesses.  A pass moves chunk by chunk and goes on after a failure; the
 * report counts what moved and what failed, and a summary of it is kept in
 * the metadata (fs key lifecycle_last_pass) for `efsfs lifecycle status`.
 * A pass and gc first make sure the stores' claims are this file system's
 * (tier/owner.c); gc deletes only unreferenced keys with its own instance
 * id (legacy keys when asked).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "store/objstore.h"
#include "tier/access.h"
#include "tier/tier_i.h"

#define TIER_BATCH      256
#define TIER_FLUSH_S    30

struct touch_arg {
	const struct access_rec *v;
	size_t n;
};

static int touch_all(struct meta *m, void *arg)
{
	const struct touch_arg *a = arg;
	int r = 0;

	for (size_t i = 0; !r && i < a->n; i++)
		r = meta_chunk_touch(m, a->v[i].ino, a->v[i].idx, a->v[i].t, TIER_ATIME_STEP);
	return r;
}

int tier_flush_access(struct fs *fs)
{
	struct touch_arg a;
	struct access_rec *v;
	size_t n;
	int r;

	if (fs_read_only(fs))
		return 0;             /* nothing is noted then */
	r = access_take(tier_of(fs)->access, &v, &n);
	if (r < 0 || n == 0)
		return r;
	a = (struct touch_arg){ v, n };
	r = fs_txn(fs, touch_all, &a);
	if (r < 0)
		access_put_back(tier_of(fs)->access, v, n);   /* for the next flush */
	free(v);
	return r;
}

struct batch {
	struct meta_inode v[TIER_BATCH];
	size_t n;
};

static int collect(const struct meta_inode *in, void *arg)
{
	struct batch *b = arg;

	if (!S_ISREG(in->mode) || in->nlink == 0)
		return 0;
	b->v[b->n++] = *in;
	return b->n == TIER_BATCH ? 1 : 0;
}

static int collect_row(const struct meta_chunk *c, void *arg)
{
	struct tier_rows *rs = arg;

	if (rs->class != TIER_ROWS_ALL &&
	    (c->class == META_STANDARD || (rs->class && c->class != rs->class)))
		return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct meta_chunk *v = realloc(rs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *c;
	return 0;
}

int tier_rows_get(struct fs *fs, uint64_t ino, int class, struct tier_rows *ret)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->class = class;
	fs_meta_lock(fs);
	r = meta_chunk_each(fs_meta(fs), ino, collect_row, ret);
	fs_meta_unlock(fs);
	if (r < 0) {
		free(ret->v);
		memset(ret, 0, sizeof(*ret));
	}
	return r;
}

/* Moves the chunks of one file that are due, or with count only adds them to
 * prog->todo. */
static void run_file(struct fs *fs, const struct meta_inode *in, int64_t as_of,
		     struct tier_report *rep, struct tier_progress *prog, bool count)
{
	const struct conf *c = fs_conf(fs);
	int64_t ia = (int64_t)c->transition_to_ia_days * 86400;
	int64_t ar = (int64_t)c->transition_to_archive_days * 86400;
	uint64_t nchunks = (in->size + fs_chunk_size(fs) - 1) / fs_chunk_size(fs);
	struct tier_rows rs;
	size_t ri = 0;
	int r;

	r = tier_rows_get(fs, in->ino, TIER_ROWS_ALL, &rs);
	if (r < 0)
		goto out;
	for (uint64_t idx = 0; idx < nchunks; idx++) {
		int cls = META_STANDARD, target = META_STANDARD;
		int64_t atime = in->mtime.tv_sec;
		char err[400];

		while (ri < rs.n && rs.v[ri].idx < idx)
			ri++;
		if (ri < rs.n && rs.v[ri].idx == idx) {
			cls = rs.v[ri].class;
			atime = rs.v[ri].atime;
		}
		if (ar && as_of - atime >= ar)
			target = META_ARCHIVE;
		else if (ia && as_of - atime >= ia)
			target = META_IA;
		if (target <= cls)
			continue;
		if (count) {
			atomic_fetch_add(&prog->todo, 1);
			continue;
		}
		r = tier_demote(fs, in->ino, idx, target, err, sizeof(err));
		if (prog)
			atomic_fetch_add(&prog->done, 1);
		if (r == 0) {
			struct meta_chunk now;

			if (tier_chunk_row(fs, in->ino, idx, &now) == 0) {
				if (target == META_IA) {
					rep->chunks_to_ia++;
					rep->bytes_to_ia += now.plain_len;
				} else {
					rep->chunks_to_archive++;
					rep->bytes_to_archive += now.plain_len;
				}
			}
		} else if (r < 0 && r != -EAGAIN) {
			rep->chunks_failed++;
			if (!rep->first_error[0])
				snprintf(rep->first_error, sizeof(rep->first_error),
					 "inode %" PRIu64 " chunk %" PRIu64 ": %s", in->ino, idx,
					 err[0] ? err : strerror(-r));
		}
	}
out:
	free(rs.v);
}

#define LAST_PASS_KEY "lifecycle_last_pass"

/* Stores the pass's summary as "START SECONDS AS_OF FILES MOVED FAILED
 * FIRST_ERROR".  A failure to store it (a read-only data directory) does
 * not fail the pass. */
static int set_last_pass(struct meta *m, void *arg)
{
	return meta_set_kv(m, LAST_PASS_KEY, arg);
}

static void record_pass(struct fs *fs, int64_t start, const struct timespec *t0,
			int64_t as_of, const struct tier_report *rep, int r)
{
	struct timespec t1;
	char v[2400], stopped[128] = "";
	const char *error = rep->first_error;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r < 0 && !error[0]) {
		snprintf(stopped, sizeof(stopped), "the pass stopped: %s", strerror(-r));
		error = stopped;
	}
	snprintf(v, sizeof(v), "%" PRId64 " %.3f %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		 " %s", start, (double)(t1.tv_sec - t0->tv_sec) +
		 (double)(t1.tv_nsec - t0->tv_nsec) / 1e9, as_of, rep->files_scanned,
		 rep->chunks_to_ia + rep->chunks_to_archive, rep->chunks_failed, error);
	fs_txn(fs, set_last_pass, v);
}

int tier_last_pass(struct fs *fs, struct tier_last_pass *ret)
{
	struct tier_last_pass p;
	long long start, as_of;
	unsigned long long files, moved, failed;
	char v[2400];
	int n = 0, r;

	fs_meta_lock(fs);
	r = meta_get_kv(fs_meta(fs), LAST_PASS_KEY, v, sizeof(v));
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	memset(&p, 0, sizeof(p));
	if (sscanf(v, "%lld %lf %lld %llu %llu %llu %n", &start, &p.seconds, &as_of, &files,
		   &moved, &failed, &n) != 6 || n == 0)
		return -EINVAL;
	p.start = start;
	p.as_of = as_of;
	p.files_scanned = files;
	p.chunks_moved = moved;
	p.chunks_failed = failed;
	snprintf(p.first_error, sizeof(p.first_error), "%s", v + n);
	*ret = p;
	return 0;
}

/* One scan over every file: moving, or only counting into prog. */
static int run_scan(struct fs *fs, int64_t as_of, struct tier_report *rep,
		    struct tier_progress *prog, bool count, struct batch *b)
{
	uint64_t after = 0;
	int r = 0;

	for (;;) {
		b->n = 0;
		fs_meta_lock(fs);
		r = meta_inode_each(fs_meta(fs), after, collect, b);
		fs_meta_unlock(fs);
		if (r < 0)
			break;
		for (size_t i = 0; i < b->n; i++) {
			if (!count)
				rep->files_scanned++;
			if (b->v[i].size >= TIER_MIN_FILE_SIZE)
				run_file(fs, &b->v[i], as_of, rep, prog, count);
		}
		if (b->n < TIER_BATCH)
			break;
		after = b->v[b->n - 1].ino;
		r = 0;
	}
	return r < 0 ? r : 0;
}

int tier_run_progress(struct fs *fs, int64_t as_of, struct tier_report *rep,
		      struct tier_progress *prog)
{
	struct batch *b;
	struct timespec t0;
	int64_t start = time(NULL);
	int r;

	memset(rep, 0, sizeof(*rep));
	if (fs_read_only(fs))
		return -EROFS;        /* mount -o ro: nothing moves */
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_lock(&tier_of(fs)->run_lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* a copy never moves anything (tier/owner.c) */
	r = tier_owner_ensure(fs, false, rep->first_error, sizeof(rep->first_error));
	if (!r)
		r = tier_flush_access(fs);
	/* counting costs a metadata scan; only a caller that shows progress pays it */
	if (!r && prog) {
		r = run_scan(fs, as_of, rep, prog, true, b);
		atomic_store(&prog->counted, true);
	}
	if (!r)
		r = run_scan(fs, as_of, rep, prog, false, b);
	record_pass(fs, start, &t0, as_of, rep, r);
	pthread_mutex_unlock(&tier_of(fs)->run_lock);
	free(b);
	return r;
}

int tier_run(struct fs *fs, int64_t as_of, struct tier_report *rep)
{
	return tier_run_progress(fs, as_of, rep, NULL);
}

int tier_stats(struct fs *fs, struct tier_stats *ret)
{
	struct meta_usage u;
	int r;

	fs_meta_lock(fs);
	r = meta_usage(fs_meta(fs), &u);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	ret->files = u.inodes;
	ret->ia = u.plain[META_IA];
	ret->archive = u.plain[META_ARCHIVE];
	ret->ia_chunks = u.chunks[META_IA];
	ret->archive_chunks = u.chunks[META_ARCHIVE];
	ret->ia_stored = u.stored[META_IA];
	ret->archive_stored = u.stored[META_ARCHIVE];
	/* files under 128 KiB never leave STANDARD, so no IA or Archive object
	 * is metered up to 128 KiB: the overheads stay 0 */
	ret->standard = u.bytes > ret->ia + ret->archive ? u.bytes - ret->ia - ret->archive : 0;
	ret->total = ret->standard + ret->ia + ret->ia_overhead + ret->archive +
		     ret->archive_overhead;
	return 0;
}

struct list_state {
	struct fs *fs;
	tier_list_cb cb;
	void *arg;
};

/* Keys under "<fs_id>/" that are provably this file system's, and whether
 * the chunk map names them: "<fs_id>/<instance>/<ino>/<idx>.<version>" with
 * our instance id (tier/owner.c), and the keys from before instance ids,
 * "<fs_id>/<ino>/<idx>.<version>" with a version below instance_since
 * (legacy).  Another instance's keys and the claim are skipped.  A row
 * names a key when tier_key of its version is that key: every put gets a
 * fresh version, so the version alone says whether a row names the object,
 * whichever class's store holds it. */
static int list_check(const char *key, uint64_t size, void *arg)
{
	struct list_state *g = arg;
	const struct tier_ident *id = &tier_of(g->fs)->ident;
	unsigned long long ino, idx, ver;
	struct meta_chunk c;
	char ours[TIER_KEY_MAX], tail;
	size_t idlen = strlen(id->fs_id), ilen = strlen(id->instance);
	const char *rest;
	bool legacy, named;

	if (strncmp(key, id->fs_id, idlen) != 0 || key[idlen] != '/')
		return 0;
	rest = key + idlen + 1;
	legacy = !(strncmp(rest, id->instance, ilen) == 0 && rest[ilen] == '/');
	if (!legacy)
		rest += ilen + 1;
	if (sscanf(rest, "%16llx/%16llx.%16llx%c", &ino, &idx, &ver, &tail) != 3)
		return 0;
	/* only the form tier_key makes for that version is ours */
	tier_key(id, ino, idx, ver, ours);
	if (strcmp(ours, key) != 0)
		return 0;
	named = tier_chunk_row(g->fs, ino, idx, &c) == 0 && c.class != META_STANDARD &&
		c.version == ver;
	return g->cb(key, size, named, legacy, g->arg);
}

int tier_list_objects(struct fs *fs, int class, tier_list_cb cb, void *arg, char *err,
		      size_t errlen)
{
	struct list_state g = { fs, cb, arg };
	struct objstore *s = tier_of(fs)->store[class];
	char prefix[FS_ID_LEN + 2], serr[512];
	int r;

	snprintf(prefix, sizeof(prefix), "%s/", fs_id(fs));
	r = objstore_list(s, prefix, list_check, &g, serr, sizeof(serr));
	if (r < 0)
		snprintf(err, errlen, "%s", serr);
	return r;
}

int tier_keys_add(struct tier_keys *ks, const char *key)
{
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 64;
		char **v = realloc(ks->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ks->v = v;
		ks->cap = cap;
	}
	ks->v[ks->n] = strdup(key);
	if (!ks->v[ks->n])
		return -ENOMEM;
	ks->n++;
	return 0;
}

void tier_keys_free(struct tier_keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->v[i]);
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

struct gc_state {
	bool legacy;                  /* delete unreferenced legacy objects too */
	struct tier_keys keys;
	uint64_t legacy_left;         /* unreferenced legacy objects kept */
};

/* Collects the keys no row names (legacy ones only when asked). */
static int gc_collect(const char *key, uint64_t size, bool named, bool legacy, void *arg)
{
	struct gc_state *g = arg;

	if (named)
		return 0;
	if (legacy && !g->legacy) {
		g->legacy_left++;
		return 0;
	}
	return tier_keys_add(&g->keys, key);
}

int tier_gc_legacy(struct fs *fs, bool delete_legacy, uint64_t *ret_deleted,
		   uint64_t *ret_legacy, char *err, size_t errlen)
{
	uint64_t deleted = 0, legacy = 0;
	int r;

	if (fs_read_only(fs)) {
		snprintf(err, errlen, "the file system is mounted read-only");
		return -EROFS;
	}
	pthread_mutex_lock(&tier_of(fs)->run_lock);
	/* read every claim again: a second holder may have taken one */
	r = tier_owner_ensure(fs, true, err, errlen);
	for (int class = META_IA; class <= META_ARCHIVE && !r; class++) {
		struct gc_state g = { .legacy = delete_legacy };
		struct objstore *s = tier_of(fs)->store[class];

		/* one store serving both classes is listed once */
		if (class == META_ARCHIVE && tier_same_store(fs))
			break;
		r = tier_list_objects(fs, class, gc_collect, &g, err, errlen);
		if (!r) {
			/* a row removal list_check saw must be durable before the
			 * object goes (group commit) */
			fs_meta_lock(fs);
			r = meta_flush(fs_meta(fs));
			fs_meta_unlock(fs);
			if (r < 0)
				snprintf(err, errlen, "committing metadata: %s", strerror(-r));
		}
		for (size_t i = 0; i < g.keys.n && !r; i++)
			if (objstore_del(s, g.keys.v[i], NULL, 0) == 0)
				deleted++;
		tier_keys_free(&g.keys);
		legacy += g.legacy_left;
	}
	pthread_mutex_unlock(&tier_of(fs)->run_lock);
	if (ret_deleted)
		*ret_deleted = deleted;
	if (ret_legacy)
		*ret_legacy = legacy;
	return r;
}

int tier_gc(struct fs *fs, uint64_t *ret_deleted, char *err, size_t errlen)
{
	return tier_gc_legacy(fs, false, ret_deleted, NULL, err, errlen);
}

bool tier_same_store(struct fs *fs)
{
	return strcmp(objstore_url(tier_of(fs)->store[META_ARCHIVE]), objstore_url(tier_of(fs)->store[META_IA])) == 0;
}

static void *tier_thread(void *arg)
{
	struct fs *fs = arg;
	struct tier *t = tier_of(fs);
	int64_t interval = fs_conf(fs)->lifecycle_interval_s > 0 ? fs_conf(fs)->lifecycle_interval_s : 3600;
	struct timespec next_pass, now;

	clock_gettime(CLOCK_MONOTONIC, &next_pass);
	next_pass.tv_sec += interval;
	pthread_mutex_lock(&t->thread_lock);
	while (!t->stop) {
		struct timespec wake;

		clock_gettime(CLOCK_MONOTONIC, &wake);
		wake.tv_sec += TIER_FLUSH_S;
		pthread_cond_timedwait(&t->wake, &t->thread_lock, &wake);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->thread_lock);
		if (tier_flush_access(fs) < 0)
			tier_notify(fs, LOG_WARNING, 0, "writing access times failed; will retry");
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= next_pass.tv_sec) {
			struct tier_report rep;
			char err[2048];
			uint64_t gone = 0;
			int rr = tier_run(fs, time(NULL), &rep);

			if (rr < 0)
				tier_notify(fs, LOG_WARNING, 0, "lifecycle pass stopped: %s",
					    rep.first_error[0] ? rep.first_error : strerror(-rr));
			else if (rep.chunks_to_ia || rep.chunks_to_archive || rep.chunks_failed)
				tier_notify(fs, rep.chunks_failed ? LOG_WARNING : LOG_INFO, 0,
					    "lifecycle: %" PRIu64 " chunks to IA, %" PRIu64
					    " to Archive, %" PRIu64 " failed%s%s", rep.chunks_to_ia,
					    rep.chunks_to_archive, rep.chunks_failed,
					    rep.first_error[0] ? ": " : "", rep.first_error);
			if (tier_gc(fs, &gone, err, sizeof(err)) < 0)
				tier_notify(fs, LOG_WARNING, 0, "object gc: %s", err);
			next_pass = now;
			next_pass.tv_sec += interval;
		}
		pthread_mutex_lock(&t->thread_lock);
	}
	pthread_mutex_unlock(&t->thread_lock);
	return NULL;
}

int tier_start(struct fs *fs)
{
	struct tier *t = tier_of(fs);
	pthread_condattr_t ca;
	int r;

	if (fs_read_only(fs))
		return -EROFS;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&t->wake);
	pthread_cond_init(&t->wake, &ca);
	pthread_condattr_destroy(&ca);
	t->stop = false;
	r = pthread_create(&t->thread, NULL, tier_thread, fs);
	if (r)
		return -r;
	t->running = true;
	return 0;
}

void tier_stop(struct fs *fs)
{
	struct tier *t = tier_of(fs);

	if (!t || !t->running)
		return;
	pthread_mutex_lock(&t->thread_lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->thread_lock);
	pthread_join(t->thread, NULL);
	t->running = false;
}
