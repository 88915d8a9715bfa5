/* tier.c - set-up of the tiering engine (object stores, codec, access
 * table, read cache) and its chunk-store layer (backend/chunk.h) over the
 * local store, which backend/fs_*.c read and write through: cold chunks
 * are read from their object (or made local first with AFTER_1_ACCESS),
 * made local before a write, truncate or allocate changes them (localize),
 * skipped as data by SEEK_DATA/SEEK_HOLE the way the reader sees them, and
 * keep a file from passthrough; accesses are noted in the access table.
 *
 * Locking: struct tier's stores, codec, access table and cs are immutable
 * between tier_layer_open and tier_layer_close; the read cache and the
 * last failure are under cache_lock; a tier_file's nonlocal as chunk.h
 * says (written under the inode's io lock held exclusively). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/codec.h"
#include "common/log.h"
#include "store/objstore.h"
#include "common/safepath.h"
#include "tier/access.h"
#include "tier/tier_i.h"

void tier_key(const struct tier_ident *id, uint64_t ino, uint64_t idx, uint64_t version,
	      char buf[TIER_KEY_MAX])
{
	if (version < id->since)
		snprintf(buf, TIER_KEY_MAX, "%s/%016" PRIx64 "/%016" PRIx64 ".%016" PRIx64,
			 id->fs_id, ino, idx, version);
	else
		snprintf(buf, TIER_KEY_MAX, "%s/%s/%016" PRIx64 "/%016" PRIx64 ".%016" PRIx64,
			 id->fs_id, id->instance, ino, idx, version);
}

void tier_claim_key(const struct tier_ident *id, char buf[TIER_KEY_MAX])
{
	snprintf(buf, TIER_KEY_MAX, "%s/claim", id->fs_id);
}

void tier_object_key(struct fs *fs, uint64_t ino, uint64_t idx, uint64_t version, char buf[96])
{
	tier_key(&tier_of(fs)->ident, ino, idx, version, buf);
}

uint64_t tier_new_version(struct fs *fs, const struct meta_chunk *c)
{
	uint64_t v = (uint64_t)fs_now_ns();

	/* a clock set back must neither reuse a version nor make a legacy key */
	if (v < tier_of(fs)->ident.since)
		v = tier_of(fs)->ident.since;
	if (c->class != META_STANDARD && v <= c->version)
		v = c->version + 1;
	return v;
}

bool tier_may_delete(struct fs *fs, uint64_t version)
{
	return atomic_load(&tier_of(fs)->owner) && version >= tier_of(fs)->ident.since;
}

/* Reads a 32-byte key file: 64 hex digits (and a newline) or 32 raw bytes;
 * it must be ours and private (safe_key_check). */
static int load_key(const char *path, uint8_t key[CODEC_KEY_LEN], char *err, size_t errlen)
{
	char buf[80];
	ssize_t n;
	int r, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "key_file %s: %s", path, strerror(errno));
		return -errno;
	}
	r = safe_key_check(fd, path, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == CODEC_KEY_LEN * 2) {
		for (int i = 0; i < CODEC_KEY_LEN; i++) {
			unsigned v;

			if (sscanf(buf + 2 * i, "%2x", &v) != 1)
				goto bad;
			key[i] = (uint8_t)v;
		}
		return 0;
	}
	if (n == CODEC_KEY_LEN) {
		memcpy(key, buf, CODEC_KEY_LEN);
		return 0;
	}
bad:
	snprintf(err, errlen, "key_file %s: expected 64 hex digits or 32 bytes", path);
	return -EINVAL;
}

/* Opens url as the store of a class with storage_class (NULL: none); chunk_size bounds
 * what a GET may answer (0 = the driver's default).  err: "IA store s3://b/p: why". */
static int store_open_url(const struct conf *c, int class, const char *url,
			  const char *storage_class, uint64_t chunk_size, bool read_only,
			  struct objstore **ret, char *err, size_t errlen)
{
	struct objstore_conf oc = {
		.endpoint = c->s3_endpoint,
		.region = c->s3_region,
		.path_style = c->s3_path_style,
		.storage_class = storage_class,
		.ca_file = c->s3_ca_file,
		.profile = c->s3_profile,
		.access_key = c->s3_access_key_id,
		.secret_key = c->s3_secret_access_key,
		.connect_timeout_ms = c->s3_connect_timeout_ms,
		.request_timeout_ms = c->s3_request_timeout_ms,
		.low_speed_bytes = c->s3_low_speed_limit > 0 ? c->s3_low_speed_limit : -1,
		.low_speed_time_s = c->s3_low_speed_time_s,
		.operation_timeout_ms = c->s3_operation_timeout_ms,
		/* an object is at most the chunk and a header (codec.h) */
		.max_object_bytes = chunk_size ? chunk_size + 65536 : 0,
		.no_create = read_only,
	};
	char serr[512];
	const char *why;
	int r;

	r = objstore_open(url, &oc, ret, serr, sizeof(serr));
	if (r < 0) {
		/* the driver's text starts "object store URL: ": say which store once */
		why = serr;
		if (strncmp(why, "object store ", 13) == 0 && strncmp(why + 13, url, strlen(url)) == 0 &&
		    strncmp(why + 13 + strlen(url), ": ", 2) == 0)
			why += 13 + strlen(url) + 2;
		snprintf(err, errlen, "%s store %s: %s", class == META_IA ? "IA" : "ARCHIVE", url,
			 why);
	}
	return r;
}

/* The store of a class as the configuration says. */
static int store_open(const struct conf *c, int class, uint64_t chunk_size,
		      struct objstore **ret, char *err, size_t errlen)
{
	return store_open_url(c, class, class == META_IA ? c->ia_store : c->archive_store,
			      class == META_ARCHIVE ? c->archive_storage_class : NULL, chunk_size,
			      false, ret, err, errlen);
}

static int open_store(struct fs *fs, int class, const char *url, const char *storage_class,
		      struct objstore **ret, char *err, size_t errlen)
{
	/* a file:// store: made 0700, or checked and made private like the
	 * data directory (safepath.h) */
	if (strncmp(url, "file://", 7) == 0 && url[7] == '/') {
		char note[512], why[512];
		int fd, r;

		/* read-only: checked, never created or changed */
		r = safe_dir_open(url + 7, fs_read_only(fs) ? 0 : SAFE_CREATE | SAFE_TIGHTEN, &fd,
				  note, sizeof(note), why, sizeof(why));
		if (r == -ENOENT && fs_read_only(fs)) {
			fd = -1;          /* not made yet: nothing in it to read */
			r = 0;
			note[0] = '\0';
		}
		if (r < 0) {
			snprintf(err, errlen, "%s store %s: %s", class == META_IA ? "IA" : "ARCHIVE",
				 url, why);
			return r;
		}
		if (fd >= 0)
			close(fd);
		if (note[0])
			fs_note(fs, "%s store: %s", class == META_IA ? "IA" : "ARCHIVE", note);
	}
	return store_open_url(fs_conf(fs), class, url, storage_class, fs_chunk_size(fs),
			      fs_read_only(fs), ret, err, errlen);
}

bool tier_key_beside_store(const struct conf *c, char *buf, size_t len)
{
	const char *urls[2] = { c->ia_store, c->archive_store };

	for (int i = 0; i < 2; i++) {
		if (!urls[i] || strncmp(urls[i], "file:///", 8) != 0 ||
		    (i == 1 && c->ia_store && strcmp(urls[0], urls[1]) == 0))
			continue;
		if (safe_same_tree(c->key_file, urls[i] + 7)) {
			snprintf(buf, len, "key_file %s lies in the same directory tree as the "
				 "store %s it protects: whoever can read or copy one can read the "
				 "other; keep the key elsewhere (key_file = ...)", c->key_file,
				 urls[i]);
			return true;
		}
	}
	return false;
}

int tier_codec_new(struct fs *fs, const char *fs_id, struct codec **ret, char *err,
		   size_t errlen)
{
	const struct conf *c = fs_conf(fs);
	uint8_t key[CODEC_KEY_LEN], *keyp = NULL;
	char enc[8] = "0";
	int r;

	/* encryption is chosen at mkfs; the config cannot turn it off later */
	meta_get_kv(fs_meta(fs), "encrypted", enc, sizeof(enc));
	if (strcmp(enc, "1") == 0 || c->encrypted) {
		char warn[1024];

		r = load_key(c->key_file, key, err, errlen);
		if (r < 0)
			return r;
		keyp = key;
		if (tier_key_beside_store(c, warn, sizeof(warn)))
			fs_note(fs, "%s", warn);
	}
	r = codec_create(fs_id, keyp, 1, 0, ret);
	memset(key, 0, sizeof(key));
	if (r < 0)
		snprintf(err, errlen, "codec: %s", strerror(-r));
	return r;
}

static const struct chunk_ops tier_ops;

struct tier *tier_of(struct fs *fs)
{
	struct chunk_store *cs = fs_chunks(fs);

	return cs && cs->ops == &tier_ops ? (struct tier *)cs : NULL;
}

void tier_set_report(struct fs *fs, tier_report_fn *cb, void *arg)
{
	struct tier *t = tier_of(fs);

	if (!t)
		return;
	t->report = cb;
	t->report_arg = arg;
}

void tier_notify(struct fs *fs, int level, uint64_t ino, const char *fmt, ...)
{
	struct tier *t = tier_of(fs);
	char msg[2560];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (t && t->report)
		t->report(level, ino, msg, t->report_arg);
	else
		log_debug("%s: %s", fs_conf(fs)->name, msg);
}

static int tier_layer_open(struct fs *fs, unsigned flags, char *err, size_t errlen)
{
	const struct conf *c = fs_conf(fs);
	struct tier *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->cache_lock, NULL);
	pthread_mutex_init(&t->run_lock, NULL);
	pthread_mutex_init(&t->thread_lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	t->fs = fs;
	t->lower = fs_chunks(fs);
	t->cs.ops = &tier_ops;
	t->cs.chunk_size = t->lower->chunk_size;
	t->cs.localize_on_read = c->promote_after_1_access && !fs_read_only(fs);
	fs_chunks_set(fs, &t->cs);

	r = open_store(fs, META_IA, c->ia_store, NULL, &t->store[META_IA], err, errlen);
	if (!r)
		r = open_store(fs, META_ARCHIVE, c->archive_store, c->archive_storage_class,
			       &t->store[META_ARCHIVE], err, errlen);
	/* the claim in an ARCHIVE store of its own is written without the
	 * storage class: a GLACIER object cannot be read back at once */
	if (!r && c->archive_storage_class && strcmp(c->archive_store, c->ia_store) != 0)
		r = open_store(fs, META_ARCHIVE, c->archive_store, NULL, &t->claim_archive, err,
			       errlen);
	if (r < 0)
		return r;
	r = tier_codec_new(fs, fs_id(fs), &t->codec, err, errlen);
	if (r < 0)
		return r;
	r = access_create(&t->access);
	if (r < 0) {
		snprintf(err, errlen, "access table: %s", strerror(-r));
		return r;
	}
	return tier_owner_open(fs, flags, err, errlen);
}

/* Before the core closes its files: the thread stops, accesses are written. */
static void tier_layer_stop(struct fs *fs)
{
	struct tier *t = tier_of(fs);

	if (!t)
		return;
	tier_stop(fs);
	if (t->access && fs_meta(fs) && fs_conf(fs))
		tier_flush_access(fs);
}

static void tier_layer_close(struct fs *fs)
{
	struct tier *t = tier_of(fs);

	if (!t)
		return;
	for (int i = 0; i < TIER_CACHE_SLOTS; i++)
		free(t->cache[i].buf);
	for (int i = 0; i < TIER_INDEX_SLOTS; i++)
		codec_index_unref(t->ixcache[i].ix);
	access_free(t->access);
	codec_free(t->codec);
	objstore_free(t->store[META_IA]);
	objstore_free(t->store[META_ARCHIVE]);
	objstore_free(t->claim_archive);
	pthread_mutex_destroy(&t->cache_lock);
	pthread_mutex_destroy(&t->run_lock);
	pthread_mutex_destroy(&t->thread_lock);
	pthread_cond_destroy(&t->wake);
	fs_chunks_set(fs, t->lower);
	free(t);
}

static const struct fs_layer tier_layer = {
	.open = tier_layer_open,
	.stop = tier_layer_stop,
	.close = tier_layer_close,
};

int tier_fs_open(const struct conf *conf, const char *mountpoint, unsigned flags,
		 struct fs **ret, char *err, size_t errlen)
{
	return fs_open_layer(conf, mountpoint, flags, &tier_layer, ret, err, errlen);
}

struct objstore *tier_store(struct fs *fs, int class)
{
	struct tier *t = tier_of(fs);

	return t && (class == META_IA || class == META_ARCHIVE) ? t->store[class] : NULL;
}

void tier_inject_fault(struct fs *fs, int class, const char *op, unsigned nth, int err,
		       bool sticky)
{
	objstore_inject_fault(tier_store(fs, class), op, nth, err, sticky);
}

int tier_chunk_row(struct fs *fs, uint64_t ino, uint64_t idx, struct meta_chunk *ret)
{
	int r;

	fs_meta_lock(fs);
	r = meta_chunk_get(fs_meta(fs), ino, idx, ret);
	fs_meta_unlock(fs);
	if (r == -ENOENT) {
		memset(ret, 0, sizeof(*ret));
		ret->ino = ino;
		ret->idx = idx;
		ret->class = META_STANDARD;
		r = 0;
	}
	return r;
}

int tier_fetch(struct fs *fs, const struct meta_chunk *c, void **ret_buf, size_t *ret_len,
	       char *err, size_t errlen)
{
	struct objstore *s = tier_of(fs)->store[c->class];
	struct codec_chunk want;
	char why[128];
	char key[96], serr[512];
	void *obj;
	size_t len;
	int r;

	if (c->class != META_IA && c->class != META_ARCHIVE)
		return -EINVAL;
	tier_object_key(fs, c->ino, c->idx, c->version, key);
	fs_fetching_add(fs, 1);
	r = objstore_get(s, key, &obj, &len, serr, sizeof(serr));
	fs_fetching_add(fs, -1);
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		return r == -ENOENT ? -EIO : r;    /* a missing object is data loss: EIO */
	}
	want = (struct codec_chunk){ .ino = c->ino, .idx = c->idx, .version = c->version,
				     .class = (uint8_t)c->class, .plain_len = c->plain_len,
				     .sha256 = c->has_sha256 ? c->sha256 : NULL };
	r = codec_decode(tier_of(fs)->codec, &want, obj, len, ret_buf, ret_len, why, sizeof(why));
	free(obj);
	if (r < 0)
		snprintf(err, errlen, "%s/%s: %s", objstore_url(s), key, why[0] ? why : strerror(-r));
	else if (*ret_len != c->plain_len) {
		snprintf(err, errlen, "%s/%s: %zu bytes, the chunk map says %" PRIu64,
			 objstore_url(s), key, *ret_len, c->plain_len);
		free(*ret_buf);
		r = -EIO;
	}
	return r < 0 && r != -ENOMEM ? -EIO : r;
}

struct sha_arg {
	const struct meta_chunk *c;
	const uint8_t *sha;
};

static int set_sha256(struct meta *m, void *arg)
{
	const struct sha_arg *a = arg;

	return meta_chunk_set_sha256(m, a->c->ino, a->c->idx, a->c->version, a->sha);
}

int tier_record_sha256(struct fs *fs, const struct meta_chunk *c, const void *plain, size_t len)
{
	uint8_t sha[CODEC_SHA_LEN];
	int r;

	r = codec_sha256(plain, len, sha);
	if (r < 0)
		return r;
	r = fs_txn(fs, set_sha256, &(struct sha_arg){ c, sha });
	if (r < 0)
		log_debug("inode %" PRIu64 " chunk %" PRIu64 ": recording its SHA-256: %s", c->ino,
			  c->idx, strerror(-r));
	return r;
}

void tier_cache_drop(struct fs *fs, uint64_t ino, uint64_t idx)
{
	struct tier *t = tier_of(fs);

	pthread_mutex_lock(&t->cache_lock);
	for (int i = 0; i < TIER_CACHE_SLOTS; i++) {
		if (t->cache[i].buf && t->cache[i].ino == ino && t->cache[i].idx == idx) {
			free(t->cache[i].buf);
			t->cache[i].buf = NULL;
		}
	}
	for (int i = 0; i < TIER_INDEX_SLOTS; i++) {
		struct tier_index_slot *e = &t->ixcache[i];

		if (e->ix && e->ino == ino && e->idx == idx) {
			codec_index_unref(e->ix);
			e->ix = NULL;
		}
	}
	pthread_mutex_unlock(&t->cache_lock);
}

/* Copies [at, at+n) of a cached chunk into dst; false when not cached. */
static bool cache_copy(struct tier *t, const struct meta_chunk *c, uint64_t at, size_t n, void *dst)
{
	bool hit = false;

	pthread_mutex_lock(&t->cache_lock);
	for (int i = 0; i < TIER_CACHE_SLOTS; i++) {
		struct tier_cached *e = &t->cache[i];

		if (!e->buf || e->ino != c->ino || e->idx != c->idx || e->version != c->version)
			continue;
		memset(dst, 0, n);
		if (at < e->len)
			memcpy(dst, (char *)e->buf + at, e->len - at < n ? e->len - at : n);
		e->used = ++t->clock;
		hit = true;
		break;
	}
	pthread_mutex_unlock(&t->cache_lock);
	return hit;
}

static void cache_put(struct tier *t, const struct meta_chunk *c, void *buf, size_t len)
{
	struct tier_cached *victim = &t->cache[0];

	pthread_mutex_lock(&t->cache_lock);
	for (int i = 0; i < TIER_CACHE_SLOTS; i++) {
		if (!t->cache[i].buf) {
			victim = &t->cache[i];
			break;
		}
		if (t->cache[i].used < victim->used)
			victim = &t->cache[i];
	}
	free(victim->buf);
	*victim = (struct tier_cached){ c->ino, c->idx, c->version, buf, len, ++t->clock };
	pthread_mutex_unlock(&t->cache_lock);
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* True when the fetch of c failed less than TIER_FAIL_MS ago.  record: notes that it
 * failed now, after waiting since start; only a failure that took at least slow_ms is
 * noted (a store that timed out; a quick failure costs little to repeat, and the store
 * may be back at the next read). */
static bool failed_just_now(struct tier *t, const struct meta_chunk *c, bool record,
			    const struct timespec *start, long slow_ms)
{
	struct timespec now;
	bool hit;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&t->cache_lock);
	if (record && ms_between(start, &now) >= slow_ms) {
		t->failed.ino = c->ino;
		t->failed.idx = c->idx;
		t->failed.version = c->version;
		t->failed.at = now;
	}
	hit = (t->failed.at.tv_sec || t->failed.at.tv_nsec) && t->failed.ino == c->ino &&
	      t->failed.idx == c->idx && t->failed.version == c->version &&
	      ms_between(&t->failed.at, &now) < TIER_FAIL_MS;
	pthread_mutex_unlock(&t->cache_lock);
	return hit;
}

/* The verified index of c's format-3 object: from the cache, else by a ranged GET
 * of the object's start (and one more when the index is longer than
 * CODEC_PREFIX_GUESS).  1 when the object is format 1 or 2 (read it whole). */
static int index_get(struct fs *fs, const struct meta_chunk *c, struct codec_index **ret,
		     char *err, size_t errlen)
{
	struct tier *t = tier_of(fs);
	struct objstore *s = t->store[c->class];
	struct tier_index_slot *victim = &t->ixcache[0];
	struct codec_chunk want;
	struct codec_index *ix = NULL;
	char key[TIER_KEY_MAX], why[128] = "", serr[512];
	void *buf = NULL;
	size_t len, need;
	int r;

	pthread_mutex_lock(&t->cache_lock);
	for (int i = 0; i < TIER_INDEX_SLOTS; i++) {
		struct tier_index_slot *e = &t->ixcache[i];

		if (e->ix && e->ino == c->ino && e->idx == c->idx && e->version == c->version) {
			e->used = ++t->clock;
			*ret = codec_index_ref(e->ix);
			pthread_mutex_unlock(&t->cache_lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&t->cache_lock);

	tier_object_key(fs, c->ino, c->idx, c->version, key);
	fs_fetching_add(fs, 1);
	r = objstore_get_range(s, key, 0, CODEC_PREFIX_GUESS, &buf, &len, serr, sizeof(serr));
	if (r == 0) {
		struct codec_header h;

		r = codec_index_need(buf, len, &need, why, sizeof(why));
		/* no larger GET than the chunk map's length allows for */
		if (r == 0 && (codec_peek(buf, len, &h) < 0 || h.plain_len != c->plain_len)) {
			snprintf(why, sizeof(why), "plaintext length differs from the chunk map's");
			r = -EIO;
		}
		if (r == 0 && need > len) {
			free(buf);
			buf = NULL;
			r = objstore_get_range(s, key, 0, need, &buf, &len, serr, sizeof(serr));
		}
	}
	fs_fetching_add(fs, -1);
	if (r < 0 && !why[0]) {
		snprintf(err, errlen, "%s", serr);
		free(buf);
		return r == -ENOENT || r == -EINVAL ? -EIO : r;
	}
	if (r == 0) {
		want = (struct codec_chunk){ .ino = c->ino, .idx = c->idx, .version = c->version,
					     .class = (uint8_t)c->class, .plain_len = c->plain_len,
					     .sha256 = c->sha256 };
		r = codec_index_load(t->codec, &want, buf, len, &ix, why, sizeof(why));
	}
	free(buf);
	if (r < 0) {
		snprintf(err, errlen, "%s/%s: %s", objstore_url(s), key,
			 why[0] ? why : strerror(-r));
		return r == -ENOMEM ? r : -EIO;
	}
	if (r > 0)
		return r;

	pthread_mutex_lock(&t->cache_lock);
	for (int i = 0; i < TIER_INDEX_SLOTS; i++) {
		struct tier_index_slot *e = &t->ixcache[i];

		if (e->ix && e->ino == c->ino && e->idx == c->idx && e->version == c->version) {
			victim = e;       /* another reader loaded it meanwhile: one slot */
			break;
		}
		if (!e->ix) {
			victim = e;
			continue;         /* a slot of the same chunk may still follow */
		}
		if (victim->ix && e->used < victim->used)
			victim = e;
	}
	codec_index_unref(victim->ix);
	*victim = (struct tier_index_slot){ c->ino, c->idx, c->version, codec_index_ref(ix),
					    ++t->clock, 0 };
	pthread_mutex_unlock(&t->cache_lock);
	*ret = ix;
	return 0;
}

/* Whether a read at `at` of c continues the last ranged read of it (then the
 * chunk is read whole and cached, one GET for what follows instead of one per
 * read); notes where this read ends otherwise.  Through s3rver, sequential
 * 128 KiB reads of cold data ran at 38 MB/s read by range, 83 MB/s fetched
 * whole (format 2). */
static bool sequential(struct tier *t, const struct meta_chunk *c, uint64_t at, size_t n)
{
	bool seq = false;

	pthread_mutex_lock(&t->cache_lock);
	for (int i = 0; i < TIER_INDEX_SLOTS; i++) {
		struct tier_index_slot *e = &t->ixcache[i];

		if (e->ix && e->ino == c->ino && e->idx == c->idx && e->version == c->version) {
			seq = e->next == at;
			e->next = at + n;
			break;
		}
	}
	pthread_mutex_unlock(&t->cache_lock);
	return seq;
}

/* n bytes at `at` of cold chunk c (a row with its chunk hash) by range: the index,
 * then the frames that hold them.  1: the object has no index, or the read
 * continues the last one (read it whole). */
static int read_ranged(struct fs *fs, const struct meta_chunk *c, uint64_t at, size_t n,
		       void *dst, char *err, size_t errlen)
{
	struct tier *t = tier_of(fs);
	struct objstore *s = t->store[c->class];
	struct codec_index *ix = NULL;
	char key[TIER_KEY_MAX], why[128] = "", serr[512];
	uint64_t ooff, poff;
	uint32_t first, count;
	size_t olen, plen, want = n, got = 0;
	void *obj = NULL;
	uint8_t *plain = NULL;
	int r;

	memset(dst, 0, n);
	if (at >= c->plain_len)
		return 0;                  /* past the chunk's data: zeros */
	if (c->plain_len - at < want)
		want = (size_t)(c->plain_len - at);
	/* a read from the chunk's start is most likely the first of a sequential
	 * run (readahead): one GET of the whole object serves all of it */
	if (at == 0)
		return 1;
	r = index_get(fs, c, &ix, err, errlen);
	if (r)
		return r;
	if (sequential(t, c, at, n)) {
		codec_index_unref(ix);
		return 1;
	}
	r = codec_index_span(ix, at, want, &first, &count, &ooff, &olen, &poff, &plen);
	if (r < 0) {
		snprintf(err, errlen, "index span: %s", strerror(-r));
		goto out;
	}
	tier_object_key(fs, c->ino, c->idx, c->version, key);
	fs_fetching_add(fs, 1);
	r = objstore_get_range(s, key, ooff, olen, &obj, &got, serr, sizeof(serr));
	fs_fetching_add(fs, -1);
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		r = r == -ENOENT ? -EIO : r;
		goto out;
	}
	plain = malloc(plen);        /* whole frames: the last may end past the range */
	r = plain ? codec_frames_decode(t->codec, ix, first, count, obj, got, plain, why,
					sizeof(why)) : -ENOMEM;
	if (r < 0) {
		snprintf(err, errlen, "%s/%s: %s", objstore_url(s), key,
			 why[0] ? why : strerror(-r));
		r = r == -ENOMEM ? r : -EIO;
		goto out;
	}
	memcpy(dst, plain + (at - poff), want);
out:
	free(plain);
	free(obj);
	codec_index_unref(ix);
	return r;
}

/* n bytes at offset `at` of cold chunk idx of ino into dst (zeros past the
 * chunk's data); io held shared. */
static int read_cold(struct fs *fs, uint64_t ino, uint64_t idx, uint64_t at, size_t n, void *dst)
{
	struct tier *t = tier_of(fs);
	struct meta_chunk c;
	struct timespec start;
	char err[512];
	void *buf;
	size_t len;
	int r;

	r = tier_chunk_row(fs, ino, idx, &c);
	if (r < 0)
		return r;
	if (cache_copy(t, &c, at, n, dst))
		return 0;
	if (failed_just_now(t, &c, false, NULL, 0))
		return -EIO;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* by range when the row has the chunk hash to check a part against */
	r = c.has_sha256 ? read_ranged(fs, &c, at, n, dst, err, sizeof(err)) : 1;
	if (r == 0)
		return 0;
	/* else the whole object */
	if (r > 0)
		r = tier_fetch(fs, &c, &buf, &len, err, sizeof(err));
	if (r < 0) {
		tier_notify(fs, LOG_ERR, ino, "inode %" PRIu64 " chunk %" PRIu64
			    ": reading cold data: %s", ino, idx, err);
		if (r == -EIO)
			failed_just_now(t, &c, true, &start,
					fs_conf(fs)->s3_operation_timeout_ms / 2);
		return r;
	}
	memset(dst, 0, n);
	if (at < len)
		memcpy(dst, (char *)buf + at, len - at < n ? len - at : n);
	if (!c.has_sha256)
		tier_record_sha256(fs, &c, buf, len);
	cache_put(t, &c, buf, len);
	return 0;
}

int tier_chunk_is_cold(struct fs *fs, struct tier_file *tf, uint64_t idx)
{
	struct meta_chunk c;
	int r;

	if (!tf->cf.nonlocal)
		return 0;
	r = tier_chunk_row(fs, tf->cf.ino, idx, &c);
	if (r < 0)
		return r;
	return c.class != META_STANDARD;
}

/* ---- the chunk-store layer (chunk.h) ---- */

static struct tier *t_of(struct chunk_store *cs)
{
	return (struct tier *)cs;
}

static struct tier_file *tf_of(struct chunk_file *cf)
{
	return (struct tier_file *)cf;
}

static struct chunk_file *low(struct chunk_file *cf)
{
	return tf_of(cf)->lower;
}

static int t_open(struct chunk_store *cs, uint64_t ino, uint64_t size, unsigned flags,
		  struct chunk_file **ret)
{
	struct tier *t = t_of(cs);
	struct chunk_file *lower;
	struct tier_file *tf;
	uint64_t cold = 0;
	int r;

	if (!(flags & CHUNK_OPEN_FRESH)) {
		/* the cold chunks are holes in the backing file */
		fs_meta_lock(t->fs);
		r = meta_chunk_cold_count(fs_meta(t->fs), ino, &cold);
		fs_meta_unlock(t->fs);
		if (r < 0)
			return r;
	}
	tf = calloc(1, sizeof(*tf));
	if (!tf)
		return -ENOMEM;
	r = t->lower->ops->open(t->lower, ino, size, flags, &lower);
	if (r < 0) {
		free(tf);
		return r;
	}
	tf->cf.cs = cs;
	tf->cf.ino = ino;
	tf->cf.nonlocal = cold;
	tf->lower = lower;
	*ret = &tf->cf;
	return 0;
}

static void t_close(struct chunk_store *cs, struct chunk_file *cf)
{
	if (!cf)
		return;
	t_of(cs)->lower->ops->close(t_of(cs)->lower, low(cf));
	free(cf);
}

static int t_read(struct chunk_store *cs, struct chunk_file *cf, uint64_t off, size_t len,
		  struct fs_rvec *rv)
{
	struct tier *t = t_of(cs);
	struct chunk_store *lo = t->lower;
	uint64_t pos, end = off + len, csz = cs->chunk_size;
	int r = 0;

	if (cf->nonlocal == 0)
		return lo->ops->read(lo, low(cf), off, len, rv);
	for (pos = off; pos < end && rv->n < FS_RSEG_MAX;) {
		uint64_t idx = pos / csz;
		uint64_t cend = (idx + 1) * csz;
		size_t n = (size_t)((cend < end ? cend : end) - pos);
		struct fs_rseg *s = &rv->seg[rv->n];
		int cold = tier_chunk_is_cold(t->fs, tf_of(cf), idx);

		if (cold < 0)
			return cold;
		if (cold) {
			s->mem = malloc(n);
			if (!s->mem)
				return -ENOMEM;
			s->fd = -1;
			s->len = n;
			rv->n++;
			r = read_cold(t->fs, cf->ino, idx, pos - idx * csz, n, s->mem);
			if (r < 0)
				return r;
			rv->total += n;
			pos += n;
			continue;
		}
		if (rv->n && !rv->seg[rv->n - 1].mem &&
		    (uint64_t)rv->seg[rv->n - 1].pos + rv->seg[rv->n - 1].len == pos) {
			rv->seg[rv->n - 1].len += n;      /* local chunks in a row: one splice */
			rv->total += n;
		} else {
			r = lo->ops->read(lo, low(cf), pos, n, rv);
			if (r < 0)
				return r;
		}
		pos += n;
	}
	return 0;
}

static ssize_t t_pread(struct chunk_store *cs, struct chunk_file *cf, void *buf, size_t len,
		       uint64_t off)
{
	return t_of(cs)->lower->ops->pread(t_of(cs)->lower, low(cf), buf, len, off);
}

/* Promote before a write (and on read with AFTER_1_ACCESS). */
static int t_localize(struct chunk_store *cs, struct chunk_file *cf, uint64_t off, uint64_t len,
		      uint64_t size)
{
	struct tier *t = t_of(cs);
	uint64_t first = off / cs->chunk_size;
	uint64_t last = (off + (len ? len : 1) - 1) / cs->chunk_size;
	int r = 0, n = 0;

	/* the caller holds the io lock exclusively from here to the commit:
	 * count it all as a fetch (fs_fetching), not only the GETs */
	fs_fetching_add(t->fs, 1);
	for (uint64_t idx = first; idx <= last && cf->nonlocal && r >= 0; idx++) {
		r = tier_promote_locked(t->fs, tf_of(cf), size, idx);
		if (r > 0)
			n++;
	}
	fs_fetching_add(t->fs, -1);
	return r < 0 ? r : n;
}

static ssize_t t_write(struct chunk_store *cs, struct chunk_file *cf, uint64_t off,
		       const struct chunk_src *src, size_t len)
{
	return t_of(cs)->lower->ops->write(t_of(cs)->lower, low(cf), off, src, len);
}

static int t_truncate(struct chunk_store *cs, struct chunk_file *cf, uint64_t old, uint64_t size)
{
	return t_of(cs)->lower->ops->truncate(t_of(cs)->lower, low(cf), old, size);
}

/* The chunk rows past the new end are gone: count the cold ones again. */
static void t_resized(struct chunk_store *cs, struct chunk_file *cf, uint64_t size)
{
	struct tier *t = t_of(cs);

	fs_meta_lock(t->fs);
	meta_chunk_cold_count(fs_meta(t->fs), cf->ino, &cf->nonlocal);
	fs_meta_unlock(t->fs);
}

static int t_allocate(struct chunk_store *cs, struct chunk_file *cf, int mode, uint64_t off,
		      uint64_t len)
{
	return t_of(cs)->lower->ops->allocate(t_of(cs)->lower, low(cf), mode, off, len);
}

static int t_punch(struct chunk_store *cs, struct chunk_file *cf, uint64_t off, uint64_t len)
{
	return t_of(cs)->lower->ops->punch(t_of(cs)->lower, low(cf), off, len);
}

static int t_sync(struct chunk_store *cs, struct chunk_file *cf, bool datasync)
{
	return t_of(cs)->lower->ops->sync(t_of(cs)->lower, low(cf), datasync);
}

/* Cold chunks are holes in the backing file but data to the reader. */
static off_t t_seek(struct chunk_store *cs, struct chunk_file *cf, off_t off, int whence,
		    uint64_t size)
{
	struct tier *t = t_of(cs);
	struct chunk_store *lo = t->lower;
	uint64_t csz = cs->chunk_size;
	off_t r = -ENXIO;

	for (int guard = 0; guard < 1 << 20; guard++) {
		uint64_t idx;
		int cold;

		r = lo->ops->seek(lo, low(cf), off, whence, size);
		if (r < 0) {
			if (r != -ENXIO || !cf->nonlocal)
				break;
			r = (off_t)size;        /* no more local data: maybe cold data */
		}
		if (!cf->nonlocal)
			break;
		if (whence == SEEK_DATA) {
			/* the first cold chunk between off and r is data too */
			for (idx = (uint64_t)off / csz; idx * csz < (uint64_t)r; idx++) {
				cold = tier_chunk_is_cold(t->fs, tf_of(cf), idx);
				if (cold) {
					uint64_t s = idx * csz;

					r = cold < 0 ? cold
						     : (off_t)(s > (uint64_t)off ? s : (uint64_t)off);
					break;
				}
			}
			if (r >= 0 && (uint64_t)r >= size)
				r = -ENXIO;
			break;
		}
		idx = (uint64_t)r / csz;
		if ((uint64_t)r >= size)
			break;
		cold = tier_chunk_is_cold(t->fs, tf_of(cf), idx);
		if (cold <= 0) {
			if (cold < 0)
				r = cold;
			break;
		}
		off = (off_t)((idx + 1) * csz);   /* a hole in a cold chunk is not one */
		if ((uint64_t)off >= size) {
			r = (off_t)size;
			break;
		}
	}
	return r;
}

static int t_stat(struct chunk_store *cs, uint64_t ino, struct chunk_file *cf, struct stat *ret)
{
	return t_of(cs)->lower->ops->stat(t_of(cs)->lower, ino, cf ? low(cf) : NULL, ret);
}

static int t_remove(struct chunk_store *cs, uint64_t ino)
{
	return t_of(cs)->lower->ops->remove(t_of(cs)->lower, ino);
}

/* No passthrough while any chunk is cold: the kernel would read the holes. */
static int t_passthrough_fd(struct chunk_store *cs, struct chunk_file *cf)
{
	if (cf->nonlocal)
		return -EBUSY;
	return t_of(cs)->lower->ops->passthrough_fd(t_of(cs)->lower, low(cf));
}

static void t_note_access(struct chunk_store *cs, uint64_t ino, uint64_t first, uint64_t last,
			  int64_t now)
{
	access_note(t_of(cs)->access, ino, first, last, now);
}

void tier_note_access(struct fs *fs, uint64_t ino, uint64_t first, uint64_t last, int64_t now)
{
	access_note(tier_of(fs)->access, ino, first, last, now);
}

static const struct chunk_ops tier_ops = {
	.open = t_open,
	.close = t_close,
	.read = t_read,
	.pread = t_pread,
	.localize = t_localize,
	.write = t_write,
	.truncate = t_truncate,
	.resized = t_resized,
	.allocate = t_allocate,
	.punch = t_punch,
	.sync = t_sync,
	.seek = t_seek,
	.stat = t_stat,
	.remove = t_remove,
	.passthrough_fd = t_passthrough_fd,
	.note_access = t_note_access,
};

int tier_check_stores(const struct conf *c, bool create_bucket, char *err, size_t errlen)
{
	int r = 0;

	for (int class = META_IA; class <= META_ARCHIVE && !r; class++) {
		const char *url = class == META_IA ? c->ia_store : c->archive_store;
		const char *name = class == META_IA ? "IA" : "ARCHIVE";
		struct objstore *s = NULL;
		char serr[512];

		/* file:// stores are directories that open creates; a read-only mount of a
		 * read-only data directory must not need to write there */
		if (strncmp(url, "s3://", 5) != 0)
			continue;
		r = store_open(c, class, 0, &s, err, errlen);
		if (r < 0)
			break;
		r = objstore_check(s, serr, sizeof(serr));
		if (r == -ENOENT && create_bucket) {
			r = objstore_create(s, serr, sizeof(serr));
			if (r < 0) {
				snprintf(err, errlen, "%s store %s: creating the bucket: %s%s", name,
					 url, serr, r == -EEXIST ? " (the name "
					 "is taken by another account)" : "");
				objstore_free(s);
				break;
			}
			r = objstore_check(s, serr, sizeof(serr));
		}
		if (r == -ENOENT)
			snprintf(err, errlen, "%s store %s; create it with 'efsfs mkfs "
				 "--create-bucket %s' or the store's own tools", name,
				 serr, c->name);
		else if (r == -EINVAL && class == META_ARCHIVE)
			snprintf(err, errlen, "%s store %s; set archive_storage_class to one it "
				 "accepts (S3-compatible stores such as MinIO take STANDARD; "
				 "GLACIER_IR is for AWS S3)", name, serr);
		else if (r < 0)
			snprintf(err, errlen, "%s store %s", name, serr);
		objstore_free(s);
	}
	return r;
}
