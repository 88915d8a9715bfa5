/* owner.c - whose objects are whose: the instance id in object keys, the
 * claim object in each store, the record of which store holds each cold
 * class, and the commands that change them (efsfs reidentify, efsfs store
 * set-url, efsfs store claim).
 *
 * The rule: a file system deletes an object only when it can prove the
 * object is its own and unreferenced.  A data directory copied with cp -a
 * keeps the fs- id, the instance id and the chunk map; with a store shared
 * by both copies, one deleting "its" unreferenced objects would delete the
 * other's data.  Proof of ownership is therefore two things together:
 *   - the key: "<fs_id>/<instance>/<ino>/<idx>.<version>" (tier_key).  The
 *     instance id (fs table key instance_id, "i-" + 16 hex) is random, made
 *     at mkfs, or at the first open of a file system from before instance
 *     ids.  gc and the moves delete only keys with their own instance id.
 *   - the claim: one object "<fs_id>/claim" in each store naming the holder
 *     of that fs id and instance id there: the machine id, the host name and
 *     the canonical data directory, and a token that every open changes.  A
 *     copy has the same ids but lives in another directory (or on another
 *     host), so it sees a claim that is not its own and refuses to open: no
 *     mount, gc or lifecycle pass.  A clone at the same path on a machine
 *     with the same id and name (a copied disk or VM), or a restored backup,
 *     has an older token than the claim once the original was opened since,
 *     and refuses the same way.
 *
 * Opening (tier_owner_open, from tier_open; the file system's flock is held):
 *   1. ident    read fs_id, instance_id, instance_since.  No instance id (a
 *               file system from before them): make one and set
 *               instance_since above every version in the chunk map, in one
 *               commit.  Objects with lower versions keep their old keys
 *               "<fs_id>/<ino>/<idx>.<version>" ("legacy"), readable as ever.
 *   2. pending  a reidentify_to entry (an interrupted reidentify): refuse.
 *   3. records  (item "store moved") fs keys store_url.ia and
 *               store_url.archive name the store each class's objects are
 *               in ("file://$DATA_DIR/..." for a store in the data
 *               directory, so a copy of the directory with its store is
 *               itself).  None yet: record the configured one.  Another
 *               store configured now: if the class has cold chunks, refuse,
 *               naming both stores; else record the new one.
 *   4. claims   per store (one when IA and ARCHIVE share it), read first:
 *               ours (instance, holder, and the token claim_token or
 *               claim_pending of meta.db): fine.  No claim, or a claim
 *               written into another store (its store= field is not this
 *               store: the store was copied or moved along with the
 *               directory, as the default store in DATA_DIR/objects is by
 *               cp -a): fine, it gets ours.  Anything else: refuse, naming
 *               the holder and the two ways out below, having written
 *               nothing.  The store does not answer: open anyway with
 *               owner false, so nothing is deleted or demoted until a later
 *               tier_owner_ensure (lifecycle pass, gc) sees the claims.
 *   5. rotate   commit a new token as claim_pending, put the claim with it
 *               into every store, commit it as claim_token.  A crash before
 *               the last commit leaves claims with the pending token, which
 *               step 4 accepts; a put that fails leaves owner false.
 *   FS_OPEN_UNCLAIMED skips 2-5 and leaves owner false: reads only.
 *   A crash anywhere here changes nothing but what step 1 commits (and a
 *   claim put with no commit after it is ours anyway).
 *
 * Deleting: tier_may_delete() is owner && the key has the instance id.
 * gc reads every claim again before it deletes (a second holder that took
 * the claim since the mount stops it) and deletes only unreferenced keys
 * under "<fs_id>/<instance>/".  Unreferenced legacy keys may belong to a
 * copy made before instance ids, which nothing can tell apart: gc counts
 * them and deletes them only when asked (efsfs gc --legacy NAME), and the
 * moves leave a legacy object they stop using for that gc.
 *
 * efsfs reidentify NAME (a copy gets its own identity; the file system is
 * opened unclaimed and is not mounted):
 *   1. pick     a new fs id and instance id, stored as reidentify_to first
 *               (a rerun after a crash continues with the same ones)
 *   2. copy     for every cold chunk: get its object under the old key,
 *               decode with the old fs id, encode with the new one (the
 *               GCM additional data binds the fs id), put it under the new
 *               key with the same version, get it back and verify it.
 *               An object that is gone (the original deleted it) is
 *               counted; without --force nothing is committed then.
 *   3. commit   fs_id, instance_id, instance_since = 0 and the new stored
 *               lengths in one commit, synced.  The old objects stay where
 *               they are: they are the original's, and the copy never
 *               lists the old fs id again.
 *   A crash in 1-2 leaves the old identity and reidentify_to (the open
 *   refuses until reidentify runs again); copied objects under the new key
 *   are named by no row until 3, and rewritten by the rerun.
 *
 * efsfs store set-url NAME OLD NEW: after the objects were copied from OLD
 * to NEW and the config names NEW, checks that every cold chunk of the
 * classes recorded at OLD has its object in NEW (one listing) and records
 * NEW.  efsfs store claim NAME: puts this holder's claim into every store,
 * for a data directory that was moved (or a renamed host), when the
 * directory the old claim names no longer exists.
 *
 * Threads: ident, holder and unclaimed are immutable after tier_open; owner
 * is an atomic, set under run_lock.  The commands run on a file system
 * opened by the calling process alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/codec.h"
#include "store/objstore.h"
#include "tier/tier_i.h"

static const char *const class_name[3] = { "STANDARD", "IA", "ARCHIVE" };
static const char *const record_key[3] = { NULL, "store_url.ia", "store_url.archive" };

static int kv_get(struct fs *fs, const char *key, char *buf, size_t len)
{
	int r;

	fs_meta_lock(fs);
	r = meta_get_kv(fs_meta(fs), key, buf, len);
	fs_meta_unlock(fs);
	if (r == -ENOENT) {
		buf[0] = '\0';
		r = 0;
	}
	return r;
}

struct kv_arg {
	const char *const *kv;
	int n;
};

static int set_kvs(struct meta *m, void *arg)
{
	const struct kv_arg *a = arg;
	int r = 0;

	for (int i = 0; !r && i < a->n; i++)
		r = meta_set_kv(m, a->kv[2 * i], a->kv[2 * i + 1]);
	return r;
}

/* After a transaction (r its result): makes it durable; err says why not. */
static int sync_after(struct fs *fs, int r, char *err, size_t errlen)
{
	fs_meta_lock(fs);
	if (!r)
		r = meta_sync(fs_meta(fs));
	if (r < 0)
		snprintf(err, errlen, "%s/meta.db: %s", fs_conf(fs)->data_dir, meta_errmsg(fs_meta(fs)));
	fs_meta_unlock(fs);
	return r;
}

/* Sets n key/value pairs in one commit and syncs it. */
static int kv_set(struct fs *fs, const char *const *kv, int n, char *err, size_t errlen)
{
	return sync_after(fs, fs_txn(fs, set_kvs, &(struct kv_arg){ kv, n }), err, errlen);
}

static const char *store_url(struct fs *fs, int class)
{
	return class == META_IA ? fs_conf(fs)->ia_store : fs_conf(fs)->archive_store;
}

/* Whether the ARCHIVE store is the IA store (then it has one claim). */
static bool archive_shared(struct fs *fs)
{
	return strcmp(objstore_url(tier_of(fs)->store[META_IA]), objstore_url(tier_of(fs)->store[META_ARCHIVE])) == 0;
}

/* ---- records: which store holds a class ----------------------------------------- */

static void strip_slashes(char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/' && s[n - 2] != '/')
		s[--n] = '\0';
}

/* url as recorded: without trailing slashes, and a file:// store inside
 * the data directory as "file://$DATA_DIR/...". */
static void record_form(const struct conf *c, const char *url, char buf[TIER_URL_MAX])
{
	char dd[PATH_MAX];
	size_t n;

	snprintf(dd, sizeof(dd), "%s", c->data_dir);
	strip_slashes(dd);
	n = strlen(dd);
	if (strncmp(url, "file://", 7) == 0 && strncmp(url + 7, dd, n) == 0 &&
	    (url[7 + n] == '/' || url[7 + n] == '\0'))
		snprintf(buf, TIER_URL_MAX, "file://$DATA_DIR%s", url + 7 + n);
	else
		snprintf(buf, TIER_URL_MAX, "%s", url);
	strip_slashes(buf);
}

/* A record as a URL again, for messages. */
static void shown_form(const struct conf *c, const char *rec, char buf[TIER_URL_MAX])
{
	if (strncmp(rec, "file://$DATA_DIR", 16) == 0)
		snprintf(buf, TIER_URL_MAX, "file://%.2048s%.2048s", c->data_dir, rec + 16);
	else
		snprintf(buf, TIER_URL_MAX, "%s", rec);
}

static int cold_chunks(struct fs *fs, uint64_t ret[3])
{
	struct meta_usage u;
	int r;

	fs_meta_lock(fs);
	r = meta_usage(fs_meta(fs), &u);
	fs_meta_unlock(fs);
	if (!r)
		memcpy(ret, u.chunks, sizeof(u.chunks));
	return r;
}

/* Opening, step 3. */
static int check_records(struct fs *fs, char *err, size_t errlen)
{
	const struct conf *c = fs_conf(fs);
	char rec[3][TIER_URL_MAX], now[3][TIER_URL_MAX];
	const char *kv[4];
	uint64_t n[3];
	int nkv = 0, r;

	r = cold_chunks(fs, n);
	if (r < 0) {
		snprintf(err, errlen, "%s/meta.db: chunk map: %s", c->data_dir, strerror(-r));
		return r;
	}
	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		r = kv_get(fs, record_key[class], rec[class], TIER_URL_MAX);
		if (r < 0) {
			snprintf(err, errlen, "%s/meta.db: %s", c->data_dir, strerror(-r));
			return r;
		}
		record_form(c, store_url(fs, class), now[class]);
		if (strcmp(rec[class], now[class]) == 0)
			continue;
		if (rec[class][0] && n[class]) {
			char old[TIER_URL_MAX];

			shown_form(c, rec[class], old);
			snprintf(err, errlen, "%s data of '%s' (%" PRIu64 " chunks) is in store %s, "
				 "but %s is now %s (%s).  Set it back, or copy every object under "
				 "%s/ from the old store to the new one and run 'efsfs store set-url "
				 "%s %s %s'", class_name[class], c->name, n[class], old,
				 class == META_IA ? "ia_store" : "archive_store", store_url(fs, class),
				 c->source ? c->source : "embedded defaults", fs_id(fs), c->name, old,
				 store_url(fs, class));
			return -ESTALE;
		}
		/* nothing recorded yet, or nothing of the class is cold: record it */
		kv[2 * nkv] = record_key[class];
		kv[2 * nkv + 1] = now[class];
		nkv++;
	}
	/* a read-only open compares only: recording waits for a read-write one */
	r = nkv && !fs_read_only(fs) ? kv_set(fs, kv, nkv, err, errlen) : 0;
	/* a full data disk must not lock the user out: nothing is stranded, so
	 * the record can wait for the next open */
	return r == -ENOSPC ? 0 : r;
}

/* ---- claims ----------------------------------------------------------------------- */

/* The store handle claims of class's store are read and written through. */
static struct objstore *claim_store(struct fs *fs, int class)
{
	if (class == META_ARCHIVE && tier_of(fs)->claim_archive)
		return tier_of(fs)->claim_archive;
	return tier_of(fs)->store[class];
}

static void read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\r\n")] = '\0';
	fclose(f);
}

/* "<machine-id> <host>:<canonical data dir>" */
static void make_holder(const struct conf *c, char buf[TIER_URL_MAX])
{
	char mid[128], host[256] = "", dir[PATH_MAX];

	read_line_file("/etc/machine-id", mid, sizeof(mid));
	if (!mid[0])
		read_line_file("/var/lib/dbus/machine-id", mid, sizeof(mid));
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	if (!realpath(c->data_dir, dir))
		snprintf(dir, sizeof(dir), "%s", c->data_dir);
	snprintf(buf, TIER_URL_MAX, "%.127s %.255s:%.3800s", mid[0] ? mid : "-",
		 host[0] ? host : "-", dir);
}

/* What a claim says the store is: file:// by its canonical path, s3://
 * by bucket and prefix (an endpoint alias is the same store). */
static void store_identity(struct objstore *s, char buf[TIER_URL_MAX])
{
	const char *url = objstore_url(s);
	char dir[PATH_MAX];

	if (strncmp(url, "file://", 7) == 0 && realpath(url + 7, dir))
		snprintf(buf, TIER_URL_MAX, "file://%s", dir);
	else
		snprintf(buf, TIER_URL_MAX, "%s", url);
	strip_slashes(buf);
}

struct claim {
	char fs_id[64], instance[64], holder[TIER_URL_MAX], store[TIER_URL_MAX], token[64];
	char name[128];
	long long since;
};

static void claim_field(const char *text, size_t len, const char *name, char *out, size_t olen)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *p = text; p < text + len;) {
		const char *e = memchr(p, '\n', (size_t)(text + len - p));
		size_t ll = e ? (size_t)(e - p) : (size_t)(text + len - p);

		if (ll > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			snprintf(out, olen, "%.*s", (int)(ll - nl - 1), p + nl + 1);
			return;
		}
		p += ll + 1;
	}
}

static int claim_parse(const void *buf, size_t len, struct claim *c)
{
	char since[32];

	memset(c, 0, sizeof(*c));
	if (len < 13 || memcmp(buf, "efsfs claim 1", 13) != 0)
		return -EINVAL;
	claim_field(buf, len, "fs_id", c->fs_id, sizeof(c->fs_id));
	claim_field(buf, len, "instance", c->instance, sizeof(c->instance));
	claim_field(buf, len, "holder", c->holder, sizeof(c->holder));
	claim_field(buf, len, "store", c->store, sizeof(c->store));
	claim_field(buf, len, "name", c->name, sizeof(c->name));
	claim_field(buf, len, "token", c->token, sizeof(c->token));
	claim_field(buf, len, "since", since, sizeof(since));
	c->since = atoll(since);
	return c->instance[0] && c->holder[0] && c->store[0] ? 0 : -EINVAL;
}

static int claim_put(struct fs *fs, struct objstore *s, const char *token, char *err,
		     size_t errlen)
{
	char key[TIER_KEY_MAX], sid[TIER_URL_MAX], *text, serr[512];
	int n, r;

	store_identity(s, sid);
	n = asprintf(&text, "efsfs claim 1\nfs_id=%s\ninstance=%s\nholder=%s\nstore=%s\nname=%s\n"
		     "since=%lld\ntoken=%s\n", tier_of(fs)->ident.fs_id, tier_of(fs)->ident.instance,
		     tier_of(fs)->holder, sid, fs_conf(fs)->name, (long long)time(NULL), token);
	if (n < 0)
		return -ENOMEM;
	tier_claim_key(&tier_of(fs)->ident, key);
	r = objstore_put(s, key, text, (size_t)n, serr, sizeof(serr));
	free(text);
	if (r < 0)
		snprintf(err, errlen, "writing the claim: %s", serr);
	return r;
}

enum claim_state {
	CLAIM_NONE,                   /* no claim object */
	CLAIM_OURS,                   /* this directory, and a token meta.db knows */
	CLAIM_MOVED,                  /* written into another store, copied here */
	CLAIM_OTHER,                  /* another instance or data directory */
	CLAIM_STALE,                  /* this directory, but a token meta.db does not know */
	CLAIM_BAD,                    /* not a claim */
};

/* Reads and judges the claim in s; *ret_c is filled for CLAIM_OTHER/MOVED. */
static int claim_read(struct fs *fs, struct objstore *s, enum claim_state *ret,
		      struct claim *ret_c, char *err, size_t errlen)
{
	char key[TIER_KEY_MAX], sid[TIER_URL_MAX], serr[512];
	void *buf;
	size_t len;
	int r;

	tier_claim_key(&tier_of(fs)->ident, key);
	r = objstore_get(s, key, &buf, &len, serr, sizeof(serr));
	if (r == -ENOENT) {
		*ret = CLAIM_NONE;
		return 0;
	}
	if (r < 0) {
		snprintf(err, errlen, "reading the claim: %s", serr);
		return r;
	}
	r = claim_parse(buf, len, ret_c);
	free(buf);
	store_identity(s, sid);
	if (r < 0)
		*ret = CLAIM_BAD;
	else if (strcmp(ret_c->store, sid) != 0)
		*ret = CLAIM_MOVED;
	else if (strcmp(ret_c->instance, tier_of(fs)->ident.instance) != 0 ||
		 strcmp(ret_c->holder, tier_of(fs)->holder) != 0)
		*ret = CLAIM_OTHER;
	else if (strcmp(ret_c->token, tier_of(fs)->token) == 0 ||
		 (tier_of(fs)->pending[0] && strcmp(ret_c->token, tier_of(fs)->pending) == 0))
		*ret = CLAIM_OURS;
	else
		*ret = CLAIM_STALE;
	return 0;
}

static void refusal(struct fs *fs, struct objstore *s, enum claim_state st, const struct claim *c,
		    char *err, size_t errlen)
{
	char key[TIER_KEY_MAX], when[32] = "?";
	time_t t = (time_t)c->since;
	struct tm tm;

	tier_claim_key(&tier_of(fs)->ident, key);
	if (st == CLAIM_BAD) {
		snprintf(err, errlen, "%s/%s is not a claim efsfs can read; if '%s' is the only "
			 "holder of %s, rewrite it with 'efsfs store claim %s'", objstore_url(s),
			 key, fs_conf(fs)->name, fs_id(fs), fs_conf(fs)->name);
		return;
	}
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (st == CLAIM_STALE) {
		snprintf(err, errlen, "store %s was claimed for %s at %s by a meta.db in this "
			 "directory %s that is newer than this one: this directory is a clone (a "
			 "copied disk or machine with the same machine id and host name) or a "
			 "restored backup of a file system that was used since.  Give it its own "
			 "identity with 'efsfs reidentify %s'; if the file system it was copied from "
			 "no longer exists, take over with 'efsfs store claim %s'", objstore_url(s),
			 fs_id(fs), when, fs_conf(fs)->data_dir, fs_conf(fs)->name, fs_conf(fs)->name);
		return;
	}
	snprintf(err, errlen, "store %s is claimed for %s by another data directory: %s "
		 "(file system '%s', instance %s, since %s), not by this one, %s "
		 "(instance %s).  This directory is a copy of that file system, or was moved.  "
		 "A copy must not touch the other's objects: give it its own identity with "
		 "'efsfs reidentify %s' (copies its cold objects).  If the directory was "
		 "moved and the old one no longer exists, take over with 'efsfs store claim %s'",
		 objstore_url(s), fs_id(fs), c->holder, c->name, c->instance, when,
		 fs_conf(fs)->data_dir, tier_of(fs)->ident.instance, fs_conf(fs)->name, fs_conf(fs)->name);
}

/* Writes a claim with a new token into every store, after making the token
 * pending in meta.db (a crash between the puts and the last commit leaves
 * claims that the next open accepts), then makes it current. */
static int claims_rotate(struct fs *fs, char *err, size_t errlen)
{
	struct tier *t = tier_of(fs);
	char tok[FS_INSTANCE_LEN + 1];
	const char *kv[4];
	int r;

	r = fs_make_instance(tok);
	if (r < 0) {
		snprintf(err, errlen, "/dev/urandom: %s", strerror(-r));
		return r;
	}
	kv[0] = "claim_pending";
	kv[1] = tok + 2;
	r = kv_set(fs, kv, 1, err, errlen);
	if (r < 0)
		return r;
	snprintf(t->pending, sizeof(t->pending), "%s", tok + 2);
	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		if (class == META_ARCHIVE && archive_shared(fs))
			break;
		r = claim_put(fs, claim_store(fs, class), t->pending, err, errlen);
		if (r < 0)
			return r;
	}
	kv[0] = "claim_token";
	kv[1] = t->pending;
	kv[2] = "claim_pending";
	kv[3] = "";
	r = kv_set(fs, kv, 2, err, errlen);
	if (r < 0)
		return r;
	memcpy(t->token, t->pending, sizeof(t->token));
	t->pending[0] = '\0';
	return 0;
}

/* Checks every store's claim.  With write (an open), a store with no
 * claim, or with one copied from another store, is fine too, and all of
 * them then get a claim with a new token.  Sets owner when all are ours. */
static int claims_check(struct fs *fs, bool write, char *err, size_t errlen)
{
	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		struct objstore *s = claim_store(fs, class);
		enum claim_state st;
		struct claim c;
		int r;

		if (class == META_ARCHIVE && archive_shared(fs))
			break;
		r = claim_read(fs, s, &st, &c, err, errlen);
		if (r < 0)
			return r;
		if (st == CLAIM_OURS || (write && (st == CLAIM_NONE || st == CLAIM_MOVED)))
			continue;
		if (st == CLAIM_NONE || st == CLAIM_MOVED)
			snprintf(err, errlen, "store %s has no claim of %s for this data directory "
				 "%s any more", objstore_url(s), fs_id(fs), fs_conf(fs)->data_dir);
		else
			refusal(fs, s, st, &c, err, errlen);
		return -EEXIST;
	}
	if (write) {
		int r = claims_rotate(fs, err, errlen);

		if (r < 0)
			return r;
	}
	atomic_store(&tier_of(fs)->owner, true);
	return 0;
}

int tier_owner_ensure(struct fs *fs, bool recheck, char *err, size_t errlen)
{
	struct tier *t = tier_of(fs);
	int r;

	if (t->unclaimed) {
		snprintf(err, errlen, "opened without claims (a repair command): nothing is deleted");
		return -EPERM;
	}
	if (!recheck && atomic_load(&t->owner))
		return 0;
	/* the first check after a mount that could not reach a store may put
	 * missing claims, as the mount would have; a recheck only reads */
	r = claims_check(fs, !atomic_load(&t->owner), err, errlen);
	if (r < 0)
		atomic_store(&t->owner, false);
	return r;
}

/* ---- opening ------------------------------------------------------------------------ */

static int max_version(const struct meta_chunk *c, void *arg)
{
	uint64_t *m = arg;

	if (c->class != META_STANDARD && c->version >= *m)
		*m = c->version + 1;
	return 0;
}

/* Step 1: the identity, made for a file system from before instance ids. */
static int load_ident(struct fs *fs, char *err, size_t errlen)
{
	struct tier_ident *id = &tier_of(fs)->ident;
	char inst[64], since[32];
	int r;

	snprintf(id->fs_id, sizeof(id->fs_id), "%s", fs_id(fs));
	r = kv_get(fs, "instance_id", inst, sizeof(inst));
	if (!r)
		r = kv_get(fs, "instance_since", since, sizeof(since));
	if (r < 0) {
		snprintf(err, errlen, "%s/meta.db: %s", fs_conf(fs)->data_dir, strerror(-r));
		return r;
	}
	if (!inst[0] && fs_read_only(fs)) {
		/* a file system from before instance ids, opened read-only: every
		 * object it has is legacy, and nothing is written to record one */
		id->since = UINT64_MAX;
		return 0;
	}
	if (!inst[0]) {
		uint64_t v = (uint64_t)fs_now_ns();
		const char *kv[4];

		fs_meta_lock(fs);
		r = meta_chunk_each(fs_meta(fs), 0, max_version, &v);
		fs_meta_unlock(fs);
		if (!r)
			r = fs_make_instance(id->instance);
		if (r < 0) {
			snprintf(err, errlen, "making an instance id: %s", strerror(-r));
			return r;
		}
		id->since = v;
		snprintf(since, sizeof(since), "%" PRIu64, v);
		kv[0] = "instance_id";
		kv[1] = id->instance;
		kv[2] = "instance_since";
		kv[3] = since;
		return kv_set(fs, kv, 2, err, errlen);
	}
	if (strlen(inst) != FS_INSTANCE_LEN || strncmp(inst, "i-", 2) != 0 ||
	    strspn(inst + 2, "0123456789abcdef") != FS_INSTANCE_LEN - 2) {
		snprintf(err, errlen, "%s/meta.db: bad instance_id '%s'", fs_conf(fs)->data_dir, inst);
		return -EINVAL;
	}
	memcpy(id->instance, inst, sizeof(id->instance));
	id->since = strtoull(since, NULL, 10);
	return 0;
}

int tier_owner_open(struct fs *fs, unsigned flags, char *err, size_t errlen)
{
	char pending[128];
	int r;

	make_holder(fs_conf(fs), tier_of(fs)->holder);
	r = load_ident(fs, err, errlen);
	if (!r)
		r = kv_get(fs, "claim_token", tier_of(fs)->token, sizeof(tier_of(fs)->token));
	if (!r)
		r = kv_get(fs, "claim_pending", tier_of(fs)->pending, sizeof(tier_of(fs)->pending));
	if (r < 0) {
		snprintf(err, errlen, "%s/meta.db: %s", fs_conf(fs)->data_dir, strerror(-r));
		return r;
	}
	if (flags & FS_OPEN_UNCLAIMED) {
		tier_of(fs)->unclaimed = true;
		return 0;
	}
	/* read-only (mount -o ro, info, stats): a store that no longer holds
	 * the cold data is refused as for any open, but no record, claim or
	 * token is written, and as unclaimed nothing may be deleted or demoted
	 * (which a read-only file system refuses anyway).  An interrupted
	 * reidentify has not changed the identity yet: its objects are read. */
	if (fs_read_only(fs)) {
		tier_of(fs)->unclaimed = true;
		return check_records(fs, err, errlen);
	}
	r = kv_get(fs, "reidentify_to", pending, sizeof(pending));
	if (!r && pending[0]) {
		snprintf(err, errlen, "'efsfs reidentify %s' was interrupted (new identity %s); "
			 "run it again to finish", fs_conf(fs)->name, pending);
		return -EAGAIN;
	}
	r = check_records(fs, err, errlen);
	if (r < 0)
		return r;
	r = claims_check(fs, true, err, errlen);
	if (r == -EEXIST)
		return r;
	/* a store that does not answer now: nothing is deleted or demoted
	 * until tier_owner_ensure sees the claims */
	return 0;
}

/* ---- efsfs reidentify ------------------------------------------------------------------ */

/* Step 2 for one chunk: 0 copied, 1 the old object is gone or unreadable. */
static int copy_one(struct fs *fs, struct codec *nc, const struct tier_ident *nid,
		    struct meta_chunk *c, char *err, size_t errlen)
{
	struct objstore *s = tier_of(fs)->store[c->class];
	void *plain = NULL, *obj = NULL, *back = NULL;
	size_t plen, olen, blen;
	struct codec_chunk want, id;
	struct codec_header h;
	char why[128], serr[512];
	char key[TIER_KEY_MAX];
	int r;

	tier_object_key(fs, c->ino, c->idx, c->version, key);
	r = objstore_get(s, key, &obj, &olen, serr, sizeof(serr));
	if (r == -ENOENT) {
		snprintf(err, errlen, "%s/%s: gone", objstore_url(s), key);
		return 1;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		return r;
	}
	want = (struct codec_chunk){ .ino = c->ino, .idx = c->idx, .version = c->version,
				     .class = (uint8_t)c->class, .plain_len = c->plain_len,
				     .sha256 = c->has_sha256 ? c->sha256 : NULL };
	r = codec_decode(tier_of(fs)->codec, &want, obj, olen, &plain, &plen, why, sizeof(why));
	free(obj);
	obj = NULL;
	if (r == -ENOMEM)
		return r;
	if (r < 0 || plen != c->plain_len) {
		snprintf(err, errlen, "%s/%s: %s", objstore_url(s), key,
			 r < 0 && why[0] ? why : "does not match the chunk map");
		if (!r)
			free(plain);
		return 1;
	}
	id = (struct codec_chunk){ .ino = c->ino, .idx = c->idx, .version = c->version,
				   .class = (uint8_t)c->class };
	r = codec_encode(nc, &id, plain, plen, &obj, &olen);
	if (!r)
		r = codec_peek(obj, olen, &h);
	if (r < 0) {
		snprintf(err, errlen, "encoding: %s", strerror(-r));
		goto out;
	}
	tier_key(nid, c->ino, c->idx, c->version, key);
	r = objstore_put(s, key, obj, olen, serr, sizeof(serr));
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		goto out;
	}
	free(obj);
	obj = NULL;
	r = objstore_get(s, key, &obj, &olen, serr, sizeof(serr));
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		goto out;
	}
	/* the new object must give back the content the chunk map will name */
	want.sha256 = h.sha256;
	r = codec_decode(nc, &want, obj, olen, &back, &blen, NULL, 0);
	if (r < 0 || blen != plen || memcmp(back, plain, plen) != 0) {
		snprintf(err, errlen, "%s/%s: read back differs from what was written",
			 objstore_url(s), key);
		r = -EIO;
		goto out;
	}
	c->stored_len = olen;
	c->has_sha256 = true;       /* a row from schema 1 gets the hash now too */
	memcpy(c->sha256, h.sha256, sizeof(c->sha256));
out:
	free(plain);
	free(obj);
	free(back);
	return r;
}

struct reid_arg {
	const struct tier_rows *rs;
	const struct tier_ident *nid;
};

/* The rows pointing at the copied objects and the new identity, together. */
static int commit_reidentify(struct meta *m, void *arg)
{
	const struct reid_arg *a = arg;
	int r = 0;

	for (size_t i = 0; !r && i < a->rs->n; i++)
		r = meta_chunk_put(m, &a->rs->v[i]);
	if (!r)
		r = meta_set_kv(m, "fs_id", a->nid->fs_id);
	if (!r)
		r = meta_set_kv(m, "instance_id", a->nid->instance);
	if (!r)
		r = meta_set_kv(m, "instance_since", "0");
	if (!r)
		r = meta_set_kv(m, "reidentify_to", "");
	return r;
}

int tier_reidentify(struct fs *fs, bool force, struct tier_reidentify_report *rep, char *err,
		    size_t errlen)
{
	struct tier_ident nid = { .since = 0 };
	struct codec *nc = NULL;
	struct tier_rows rs;
	char pending[128];
	int r;

	memset(rep, 0, sizeof(*rep));
	memset(&rs, 0, sizeof(rs));
	/* 1. pick */
	r = kv_get(fs, "reidentify_to", pending, sizeof(pending));
	if (r < 0)
		goto meta_fail;
	if (pending[0] && sscanf(pending, "%20s %18s", nid.fs_id, nid.instance) == 2 &&
	    strlen(nid.fs_id) == FS_ID_LEN && strlen(nid.instance) == FS_INSTANCE_LEN) {
		rep->resumed = true;
	} else {
		const char *kv[2] = { "reidentify_to", pending };

		r = fs_make_id(nid.fs_id);
		if (!r)
			r = fs_make_instance(nid.instance);
		if (r < 0) {
			snprintf(err, errlen, "/dev/urandom: %s", strerror(-r));
			return r;
		}
		snprintf(pending, sizeof(pending), "%s %s", nid.fs_id, nid.instance);
		r = kv_set(fs, kv, 1, err, errlen);
		if (r < 0)
			return r;
	}
	memcpy(rep->new_fs_id, nid.fs_id, sizeof(rep->new_fs_id));
	r = tier_codec_new(fs, nid.fs_id, &nc, err, errlen);
	if (r < 0)
		return r;

	/* 2. copy */
	r = tier_rows_get(fs, 0, 0, &rs);
	if (r < 0)
		goto meta_fail;
	for (size_t i = 0; i < rs.n; i++) {
		struct meta_chunk *c = &rs.v[i];
		char why[512];

		r = copy_one(fs, nc, &nid, c, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "inode %" PRIu64 " chunk %" PRIu64 ": %s "
				 "(nothing changed yet; run reidentify again)", c->ino, c->idx, why);
			goto out;
		}
		if (r == 1) {
			if (!rep->missing)
				snprintf(rep->first_missing, sizeof(rep->first_missing),
					 "inode %" PRIu64 " chunk %" PRIu64 ": %.400s", c->ino,
					 c->idx, why);
			rep->missing++;
			continue;
		}
		rep->copied++;
		rep->bytes += c->plain_len;
	}
	if (rep->missing && !force) {
		snprintf(err, errlen, "%" PRIu64 " cold chunks have no readable object in the store "
			 "(first: %s): the file system this is a copy of deleted or changed them "
			 "since the copy was made.  Nothing changed; 'efsfs reidentify --force %s' "
			 "finishes anyway, and those chunks then read as EIO", rep->missing,
			 rep->first_missing, fs_conf(fs)->name);
		r = -ENOENT;
		goto out;
	}

	/* 3. commit */
	r = sync_after(fs, fs_txn(fs, commit_reidentify, &(struct reid_arg){ &rs, &nid }), err,
		       errlen);
	goto out;
meta_fail:
	snprintf(err, errlen, "%s/meta.db: %s", fs_conf(fs)->data_dir, strerror(-r));
out:
	free(rs.v);
	codec_free(nc);
	return r;
}

/* ---- efsfs store ... ------------------------------------------------------------------- */

static int collect_key(const char *key, uint64_t size, void *arg)
{
	return tier_keys_add(arg, key);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* How many cold chunks of class lack their object in the class's store. */
static int count_missing(struct fs *fs, int class, uint64_t *ret_missing, uint64_t *ret_total,
			 char *first, size_t flen, char *err, size_t errlen)
{
	struct objstore *s = tier_of(fs)->store[class];
	struct tier_keys ks = { NULL, 0, 0 };
	char prefix[FS_ID_LEN + 2], serr[512];
	struct tier_rows rs;
	int r;

	*ret_missing = *ret_total = 0;
	snprintf(prefix, sizeof(prefix), "%s/", fs_id(fs));
	r = objstore_list(s, prefix, collect_key, &ks, serr, sizeof(serr));
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		goto out;
	}
	if (ks.n)
		qsort(ks.v, ks.n, sizeof(*ks.v), cmp_str);
	r = tier_rows_get(fs, 0, class, &rs);
	if (r < 0) {
		snprintf(err, errlen, "%s/meta.db: %s", fs_conf(fs)->data_dir, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < rs.n; i++) {
		char key[TIER_KEY_MAX], *kp = key;

		tier_object_key(fs, rs.v[i].ino, rs.v[i].idx, rs.v[i].version, key);
		(*ret_total)++;
		if (!ks.n || !bsearch(&kp, ks.v, ks.n, sizeof(*ks.v), cmp_str)) {
			if (!*ret_missing)
				snprintf(first, flen, "%s", key);
			(*ret_missing)++;
		}
	}
	free(rs.v);
out:
	tier_keys_free(&ks);
	return r;
}

int tier_store_set_url(struct fs *fs, const char *old_url, const char *new_url, char *msg,
		       size_t len)
{
	const struct conf *c = fs_conf(fs);
	char oldf[TIER_URL_MAX], newf[TIER_URL_MAX], rec[3][TIER_URL_MAX], now[TIER_URL_MAX];
	const char *kv[4];
	bool hit[3] = { false, false, false };
	int nkv = 0, r;

	record_form(c, old_url, oldf);
	record_form(c, new_url, newf);
	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		const char *k = class == META_IA ? "ia_store" : "archive_store";

		r = kv_get(fs, record_key[class], rec[class], TIER_URL_MAX);
		if (r < 0) {
			snprintf(msg, len, "%s/meta.db: %s", c->data_dir, strerror(-r));
			return r;
		}
		if (strcmp(rec[class], oldf) != 0)
			continue;
		record_form(c, store_url(fs, class), now);
		if (strcmp(now, newf) != 0) {
			snprintf(msg, len, "%s is %s in %s: set it to %s first", k,
				 store_url(fs, class), c->source ? c->source : "the embedded defaults",
				 new_url);
			return -EINVAL;
		}
		hit[class] = true;
	}
	if (!hit[META_IA] && !hit[META_ARCHIVE]) {
		char a[TIER_URL_MAX], b[TIER_URL_MAX];

		shown_form(c, rec[META_IA], a);
		shown_form(c, rec[META_ARCHIVE], b);
		snprintf(msg, len, "no data of '%s' is recorded in %s (IA data: %s; ARCHIVE data: %s)",
			 c->name, old_url, rec[META_IA][0] ? a : "none recorded",
			 rec[META_ARCHIVE][0] ? b : "none recorded");
		return -ENOENT;
	}
	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		uint64_t missing, total;
		char first[TIER_KEY_MAX] = "";

		if (!hit[class])
			continue;
		r = count_missing(fs, class, &missing, &total, first, sizeof(first), msg, len);
		if (r < 0)
			return r;
		if (missing) {
			snprintf(msg, len, "%" PRIu64 " of %" PRIu64 " %s objects are not in %s (first: "
				 "%s): copy every object under %s/ from %s to %s first; nothing "
				 "changed", missing, total, class_name[class], new_url, first,
				 fs_id(fs), old_url, new_url);
			return -ENOENT;
		}
		kv[2 * nkv] = record_key[class];
		kv[2 * nkv + 1] = newf;
		nkv++;
	}
	r = kv_set(fs, kv, nkv, msg, len);
	if (!r)
		snprintf(msg, len, "%s data of '%s' is now recorded in %s",
			 hit[META_IA] && hit[META_ARCHIVE] ? "IA and ARCHIVE" :
			 hit[META_IA] ? "IA" : "ARCHIVE", c->name, new_url);
	return r;
}

int tier_store_claim(struct fs *fs, char *msg, size_t len)
{
	char err[1024];
	size_t used = 0;
	int r;

	msg[0] = '\0';
	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		struct objstore *s = claim_store(fs, class);
		enum claim_state st;
		struct claim c;

		if (class == META_ARCHIVE && archive_shared(fs))
			break;
		r = claim_read(fs, s, &st, &c, err, sizeof(err));
		if (r < 0) {
			snprintf(msg, len, "%s", err);
			return r;
		}
		used += (size_t)snprintf(msg + used, used < len ? len - used : 0,
					 "%s%s: claimed for %s (was: %s)", used ? "\n" : "",
					 objstore_url(s), tier_of(fs)->holder,
					 st == CLAIM_NONE ? "no claim" :
					 st == CLAIM_BAD ? "unreadable" :
					 st == CLAIM_STALE ? "this directory, an older meta.db" : c.holder);
		if (used >= len)
			used = len - 1;
	}
	r = claims_rotate(fs, err, sizeof(err));
	if (r < 0)
		snprintf(msg, len, "%s", err);
	return r;
}
