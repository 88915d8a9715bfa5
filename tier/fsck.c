/* tier/fsck.c - the cold-object half of `efsfs fsck` (tier_fsck): checks
 * the object stores against the chunk map of an open, unmounted file
 * system.  backend/fsck.c checks the metadata and the local data; the CLI
 * runs both on one open file system.
 *
 * What is checked, and what each finding is:
 *   - every cold chunk's object is in its store's listing (by the key
 *     tier_object_key builds), with the size the chunk map records: a
 *     missing, truncated or grown object is an error.  Nothing can repair
 *     it: the data is only in that object; the message names the file, the
 *     chunk and its byte range, so the user knows what to restore.
 *   - --deep: every cold chunk's object is fetched and verified as a read
 *     would (header, tag, SHA-256 against the header's and the chunk
 *     map's): a mismatch is an error, with the codec's reason.  A chunk row
 *     written by metadata schema 1 has no SHA-256; --deep --repair records
 *     the verified object's, else it is a note.
 *   - objects under the file system's key prefix that no chunk row names
 *     (the listing gc uses): a note, not an error (a crash between put and
 *     commit, or between commit and delete, leaves them).  --repair runs gc,
 *     which deletes them under gc's own rules about which objects are this
 *     file system's to delete.
 *   - a store that cannot be listed is an error; its chunks are not checked.
 *
 * Runs on a file system opened for exclusive use (no daemon, no lifecycle
 * thread), so nothing moves while it looks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/objstore.h"
#include "tier/tier_i.h"

/* One listed object. */
struct listed {
	char *key;
	uint64_t size;
	bool named;                   /* a chunk row names it (gc's verdict) */
	bool legacy;                  /* a key from before instance ids */
};

struct listing {
	struct listed *v;
	size_t n, cap;
	bool ok;                      /* listed without error */
};

struct check {
	struct fs *fs;
	unsigned flags;
	void (*report)(const char *msg, void *arg);
	void *arg;
	int errors;
};

static void say(struct check *k, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct check *k, bool error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		k->errors++;
	k->report(msg, k->arg);
}

static int add_listed(const char *key, uint64_t size, bool named, bool legacy, void *arg)
{
	struct listing *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct listed *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].key = strdup(key);
	if (!l->v[l->n].key)
		return -ENOMEM;
	l->v[l->n].size = size;
	l->v[l->n].named = named;
	l->v[l->n].legacy = legacy;
	l->n++;
	return 0;
}

static int cmp_listed(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->key, ((const struct listed *)b)->key);
}

static struct listed *find_listed(struct listing *l, const char *key)
{
	struct listed want = { .key = (char *)key };

	return l->n ? bsearch(&want, l->v, l->n, sizeof(*l->v), cmp_listed) : NULL;
}

static void free_listing(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
}

static const char *class_name(int class)
{
	return class == META_IA ? "IA" : "ARCHIVE";
}

/* "inode 12 (/dir/file) chunk 3 (bytes 12582912-16777215)" */
static void describe(struct check *k, const struct meta_chunk *c, char *buf, size_t len)
{
	char path[1024];
	int r;

	fs_meta_lock(k->fs);
	r = meta_inode_path(fs_meta(k->fs), c->ino, path, sizeof(path));
	fs_meta_unlock(k->fs);
	if (r == -ENOENT)
		snprintf(path, sizeof(path), "an unlinked file");
	else if (r < 0)
		snprintf(path, sizeof(path), "path unknown: %s", strerror(-r));
	snprintf(buf, len, "inode %" PRIu64 " (%s) chunk %" PRIu64 " (bytes %" PRIu64 "-%" PRIu64
		 ")", c->ino, path, c->idx, c->idx * fs_chunk_size(k->fs),
		 c->idx * fs_chunk_size(k->fs) + (c->plain_len ? c->plain_len : 1) - 1);
}

/* Checks one cold chunk against its store's listing and, deep, its object. */
static void check_row(struct check *k, const struct meta_chunk *c, struct listing *l,
		      uint64_t *legacy, uint64_t *recorded)
{
	struct objstore *s = tier_of(k->fs)->store[c->class];
	char key[96], what[1200], err[512];
	struct listed *e;
	void *buf;
	size_t len;
	int r;

	tier_object_key(k->fs, c->ino, c->idx, c->version, key);
	e = find_listed(l, key);
	if (!e) {
		describe(k, c, what, sizeof(what));
		say(k, true, "%s: its %s object %s/%s is missing; the data cannot be recreated "
		    "(restore the file, or delete it)", what, class_name(c->class), objstore_url(s),
		    key);
		return;
	}
	if (e->size != c->stored_len) {
		describe(k, c, what, sizeof(what));
		say(k, true, "%s: object %s/%s has %" PRIu64 " bytes, the chunk map says %" PRIu64
		    "; the object is damaged and cannot be repaired", what, objstore_url(s), key,
		    e->size, c->stored_len);
		return;
	}
	if (!(k->flags & TIER_FSCK_DEEP)) {
		if (!c->has_sha256)
			(*legacy)++;
		return;
	}
	r = tier_fetch(k->fs, c, &buf, &len, err, sizeof(err));
	if (r < 0) {
		describe(k, c, what, sizeof(what));
		say(k, true, "%s: %s; the object cannot be repaired", what,
		    err[0] ? err : strerror(-r));
		return;
	}
	if (!c->has_sha256) {
		if ((k->flags & TIER_FSCK_REPAIR) && tier_record_sha256(k->fs, c, buf, len) == 0)
			(*recorded)++;
		else
			(*legacy)++;
	}
	free(buf);
}

/* Reports the objects no row names, and with repair has gc delete them. */
static void check_unnamed(struct check *k, struct listing *ls, const int *of_class)
{
	uint64_t unnamed = 0, legacy = 0, deleted = 0;
	char err[512];

	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		struct listing *l = &ls[of_class[class]];

		if (of_class[class] != class)
			continue;         /* the same store as IA's: done there */
		for (size_t i = 0; i < l->n; i++) {
			if (l->v[i].named)
				continue;
			if (l->v[i].legacy)
				legacy++;
			else
				unnamed++;
			say(k, false, "note: object %s/%s (%" PRIu64 " bytes) belongs to no chunk%s",
			    objstore_url(tier_of(k->fs)->store[class]), l->v[i].key, l->v[i].size,
			    l->v[i].legacy ? " (from before instance ids)" : "");
		}
	}
	/* gc and --repair never delete these: a copy of the data directory made
	 * before instance ids may still use them (tier/owner.c) */
	if (legacy)
		say(k, false, "note: %" PRIu64 " object%s from before instance ids no chunk refers "
		    "to: kept, since a copy made before the upgrade may use them; 'efsfs gc "
		    "--legacy' deletes them", legacy, legacy == 1 ? "" : "s");
	if (!unnamed)
		return;
	if (!(k->flags & TIER_FSCK_REPAIR)) {
		say(k, false, "note: %" PRIu64 " object%s no chunk refers to: 'efsfs gc' or "
		    "'efsfs fsck --repair' deletes them", unnamed, unnamed == 1 ? "" : "s");
		return;
	}
	if (tier_gc(k->fs, &deleted, err, sizeof(err)) < 0)
		say(k, true, "deleting objects no chunk refers to: %s", err);
	else
		say(k, false, "repaired: deleted %" PRIu64 " object%s no chunk refers to", deleted,
		    deleted == 1 ? "" : "s");
}

int tier_fsck(struct fs *fs, unsigned flags, void (*report)(const char *msg, void *arg),
	      void *arg, char *err, size_t errlen)
{
	struct check k = { fs, flags, report, arg, 0 };
	struct listing ls[3];
	struct tier_rows rs = { NULL, 0, 0, 0 };
	uint64_t legacy = 0, recorded = 0, objects = 0;
	int of_class[3] = { 0, META_IA, META_IA };
	int r;

	memset(ls, 0, sizeof(ls));
	if (!tier_same_store(fs))
		of_class[META_ARCHIVE] = META_ARCHIVE;
	r = tier_rows_get(fs, 0, 0, &rs);
	if (r < 0) {
		snprintf(err, errlen, "reading the chunk map: %s", strerror(-r));
		goto out;
	}
	for (int class = META_IA; class <= META_ARCHIVE; class++) {
		struct listing *l = &ls[class];
		char why[512] = "";

		if (of_class[class] != class)
			continue;
		r = tier_list_objects(fs, class, add_listed, l, why, sizeof(why));
		if (r == -ENOMEM) {
			snprintf(err, errlen, "listing objects: %s", strerror(-r));
			goto out;
		}
		if (r < 0) {
			say(&k, true, "%s store %s: cannot list its objects (%s); its chunks "
			    "are not checked", class_name(class), objstore_url(tier_of(fs)->store[class]),
			    why[0] ? why : strerror(-r));
			continue;
		}
		l->ok = true;
		objects += l->n;
		if (l->n)          /* an empty listing has no array to sort */
			qsort(l->v, l->n, sizeof(*l->v), cmp_listed);
	}
	for (size_t i = 0; i < rs.n; i++) {
		struct listing *l = &ls[of_class[rs.v[i].class]];

		if (rs.v[i].class != META_IA && rs.v[i].class != META_ARCHIVE)
			continue;         /* backend's fsck reports unknown classes */
		if (l->ok)
			check_row(&k, &rs.v[i], l, &legacy, &recorded);
	}
	if (ls[META_IA].ok && ls[of_class[META_ARCHIVE]].ok)
		check_unnamed(&k, ls, of_class);
	if (recorded)
		say(&k, false, "repaired: recorded the SHA-256 of %" PRIu64 " verified chunk%s "
		    "written before metadata schema 2", recorded, recorded == 1 ? "" : "s");
	if (legacy)
		say(&k, false, "note: %" PRIu64 " cold chunk%s written before metadata schema 2 "
		    "%s no recorded SHA-256 (a read, or 'efsfs fsck --deep --repair', records it)",
		    legacy, legacy == 1 ? "" : "s", legacy == 1 ? "has" : "have");
	say(&k, false, "cold chunks: %zu checked against %" PRIu64 " listed object%s%s", rs.n,
	    objects, objects == 1 ? "" : "s",
	    flags & TIER_FSCK_DEEP ? ", each fetched and verified" : "");
	r = k.errors;
out:
	for (int class = META_IA; class <= META_ARCHIVE; class++)
		free_listing(&ls[class]);
	free(rs.v);
	return r;
}
