/* fs_ap.c - access points, as EFS's (fs.h): their validation (the limits
 * of CreateAccessPoint), creation with a random fsap- id, the client token
 * that makes a create idempotent and the FS_AP_MAX limit, lookup, listing
 * and deletion, all as metadata transactions (meta.h's ap_* ops, schema 4);
 * and fs_resolve_root, which finds (or, with CreationInfo, makes) the
 * directory an access point or a NAME:/path mount has as its root.
 *
 * No state of its own: the rows are in the metadata engine, under its
 * lock (meta_txn, fs_meta_lock).  An access point is never changed once
 * created (EFS has no UpdateAccessPoint): only created and deleted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "backend/fs_i.h"

/* EFS's RootDirectory Path pattern leaves these out of a component. */
#define AP_PATH_BAD_CHARS "$#<>;`|&?{}^*\n"

/* Checks an access point root directory path: absolute, at most
 * FS_AP_PATH_MAX characters and FS_AP_PATH_DEPTH components, none of them
 * empty, "." or "..", or starting with '.' (EFS's pattern). */
static int check_path(const char *path, char *err, size_t errlen)
{
	size_t len = strlen(path);
	unsigned depth = 0;

	if (len == 0 || path[0] != '/') {
		snprintf(err, errlen, "RootDirectory Path '%s': must be an absolute path "
			 "(start with /)", path);
		return -EINVAL;
	}
	if (len > FS_AP_PATH_MAX) {
		snprintf(err, errlen, "RootDirectory Path: %zu characters, at most %d allowed",
			 len, FS_AP_PATH_MAX);
		return -EINVAL;
	}
	if (strcmp(path, "/") == 0)
		return 0;
	for (const char *p = path; *p == '/';) {
		const char *c = p + 1;
		size_t n = strcspn(c, "/");

		if (n == 0) {
			snprintf(err, errlen, "RootDirectory Path '%s': empty component (a "
				 "doubled or trailing /)", path);
			return -EINVAL;
		}
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
			snprintf(err, errlen, "RootDirectory Path '%s': '%.*s' is not allowed "
				 "(no . or .. components)", path, (int)n, c);
			return -EINVAL;
		}
		if (c[0] == '.') {
			snprintf(err, errlen, "RootDirectory Path '%s': component '%.*s' starts "
				 "with '.', which EFS does not allow", path, (int)n, c);
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			if (strchr(AP_PATH_BAD_CHARS, c[i])) {
				snprintf(err, errlen, "RootDirectory Path '%s': character '%c' is "
					 "not allowed (none of %s)", path,
					 c[i] == '\n' ? ' ' : c[i], "$#<>;`|&?{}^*");
				return -EINVAL;
			}
		}
		if (++depth > FS_AP_PATH_DEPTH) {
			snprintf(err, errlen, "RootDirectory Path '%s': more than %d components",
				 path, FS_AP_PATH_DEPTH);
			return -EINVAL;
		}
		p = c + n;
	}
	return 0;
}

/* Whether s holds a control character (which no tag may: EFS's pattern
 * for keys and values is letters, digits, spaces and _.:/=+-@). */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int fs_ap_check(const struct fs_access_point *ap, char *err, size_t errlen)
{
	size_t n;
	int r;

	if (ap->user.ngroups > FS_GROUPS_MAX) {
		snprintf(err, errlen, "PosixUser SecondaryGids: %u given, at most %d allowed",
			 ap->user.ngroups, FS_GROUPS_MAX);
		return -EINVAL;
	}
	r = check_path(ap->path, err, errlen);
	if (r < 0)
		return r;
	if (ap->has_creation && (ap->permissions & ~(mode_t)07777)) {
		snprintf(err, errlen, "RootDirectory CreationInfo Permissions: %o is not a "
			 "permission mode (0000 to 7777)", (unsigned)ap->permissions);
		return -EINVAL;
	}
	n = strnlen(ap->client_token, sizeof(ap->client_token));
	if (n > FS_AP_TOKEN_MAX) {
		snprintf(err, errlen, "ClientToken: at most %d characters", FS_AP_TOKEN_MAX);
		return -EINVAL;
	}
	if (ap->ntags > FS_AP_TAGS_MAX) {
		snprintf(err, errlen, "Tags: %u given, at most %d allowed", ap->ntags,
			 FS_AP_TAGS_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < ap->ntags; i++) {
		const struct fs_ap_tag *t = &ap->tags[i];

		n = strnlen(t->key, sizeof(t->key));
		if (n == 0 || n > FS_AP_TAG_KEY_MAX) {
			snprintf(err, errlen, "Tags: tag %u: Key must have 1 to %d characters",
				 i + 1, FS_AP_TAG_KEY_MAX);
			return -EINVAL;
		}
		if (strncmp(t->key, "aws:", 4) == 0) {
			snprintf(err, errlen, "Tags: tag %u: Key '%s': the aws: prefix is reserved",
				 i + 1, t->key);
			return -EINVAL;
		}
		if (has_control(t->key)) {
			snprintf(err, errlen, "Tags: tag %u: a control character in the Key (EFS "
				 "takes letters, digits, spaces and _.:/=+-@)", i + 1);
			return -EINVAL;
		}
		if (has_control(t->value)) {
			snprintf(err, errlen, "Tags: tag %u (Key '%s'): a control character in the "
				 "Value (EFS takes letters, digits, spaces and _.:/=+-@)", i + 1, t->key);
			return -EINVAL;
		}
		if (strnlen(t->value, sizeof(t->value)) > FS_AP_TAG_VALUE_MAX) {
			snprintf(err, errlen, "Tags: tag %u (Key '%s'): Value has more than %d "
				 "characters", i + 1, t->key, FS_AP_TAG_VALUE_MAX);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(ap->tags[j].key, t->key) == 0) {
				snprintf(err, errlen, "Tags: Key '%s' given twice (tags %u and %u)",
					 t->key, j + 1, i + 1);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* A new id: "fsap-" and 17 random lowercase hex digits. */
static int new_id(char out[FS_AP_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[9];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	memcpy(out, "fsap-", 5);
	for (int i = 0; i < 17; i++)
		out[5 + i] = hex[(b[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[FS_AP_ID_LEN] = '\0';
	return 0;
}

/* Whether a and b were made with the same parameters (a client token's
 * retry): everything but the id and the creation time. */
static bool same_request(const struct fs_access_point *a, const struct fs_access_point *b)
{
	if (a->user.uid != b->user.uid || a->user.gid != b->user.gid ||
	    a->user.ngroups != b->user.ngroups ||
	    memcmp(a->user.groups, b->user.groups, a->user.ngroups * sizeof(gid_t)) != 0 ||
	    strcmp(a->path, b->path) != 0 || a->has_creation != b->has_creation ||
	    a->ntags != b->ntags)
		return false;
	if (a->has_creation && (a->owner_uid != b->owner_uid || a->owner_gid != b->owner_gid ||
				a->permissions != b->permissions))
		return false;
	for (unsigned i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i].key, b->tags[i].key) != 0 ||
		    strcmp(a->tags[i].value, b->tags[i].value) != 0)
			return false;
	return true;
}

/* One create's transaction; what it found is in the out fields. */
struct ap_create_txn {
	const struct fs_access_point *ap;
	struct fs_access_point old;   /* out: the access point of the same token */
	bool existing;                /* out: ... made by the same request */
	bool mismatch;                /* out: ... made by another request */
	uint64_t count;               /* out: how many there were */
};

static int ap_create_body(struct meta *m, void *arg)
{
	struct ap_create_txn *t = arg;
	int r;

	t->existing = t->mismatch = false;
	if (t->ap->client_token[0]) {
		r = meta_ap_by_token(m, t->ap->client_token, &t->old);
		if (r == 0) {
			if (!same_request(t->ap, &t->old)) {
				t->mismatch = true;
				return -EEXIST;
			}
			t->existing = true;
			return 1;             /* nothing to change */
		}
		if (r != -ENOENT)
			return r;
	}
	r = meta_ap_count(m, &t->count);
	if (r < 0)
		return r;
	if (t->count >= FS_AP_MAX)
		return -EDQUOT;
	return meta_ap_insert(m, t->ap);
}

/* Makes what was committed durable now: the caller is told the id (or
 * that it is gone) at once, also inside a mounted daemon's commit window. */
static int ap_sync(struct fs *fs)
{
	int r;

	fs_meta_lock(fs);
	r = meta_sync(fs->meta);
	fs_meta_unlock(fs);
	return r;
}

int fs_ap_create(struct fs *fs, struct fs_access_point *ap, char *err, size_t errlen)
{
	struct ap_create_txn *t;
	int r;

	r = fs_ap_check(ap, err, errlen);
	if (r < 0)
		return r;
	if (fs->read_only) {
		snprintf(err, errlen, "%s is open read-only: no access point can be created",
			 fs->fs_id);
		return -EROFS;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ap = ap;
	ap->created = (int64_t)time(NULL);
	/* a clash of two random ids (68 bits) is retried with a new one */
	for (int tries = 0; tries < 4; tries++) {
		r = new_id(ap->id);
		if (r < 0)
			break;
		r = meta_txn(fs->meta, ap_create_body, t);
		if (r != -EEXIST || t->mismatch)
			break;
	}
	if (r == 0)
		r = ap_sync(fs);
	if (r == 0 && t->existing) {
		memcpy(ap->id, t->old.id, sizeof(ap->id));
		ap->created = t->old.created;
	} else if (r == -EEXIST && t->mismatch) {
		snprintf(err, errlen, "ClientToken '%s' was used already for %s, which was made "
			 "with other parameters (IdempotentParameterMismatch)", ap->client_token,
			 t->old.id);
	} else if (r == -EDQUOT) {
		snprintf(err, errlen, "%s has %" PRIu64 " access points, the most a file system "
			 "may have (%d; AccessPointLimitExceeded): delete one first", fs->fs_id,
			 t->count, FS_AP_MAX);
	} else if (r < 0) {
		snprintf(err, errlen, "creating an access point of %s: %s", fs->fs_id,
			 strerror(-r));
	}
	if (r < 0)
		ap->id[0] = '\0';
	free(t);
	return r;
}

int fs_ap_get(struct fs *fs, const char *id, struct fs_access_point *ret_ap)
{
	int r;

	fs_meta_lock(fs);
	r = meta_ap_get(fs->meta, id, ret_ap);
	fs_meta_unlock(fs);
	return r;
}

int fs_ap_list(struct fs *fs, int (*cb)(const struct fs_access_point *ap, void *arg), void *arg)
{
	struct fs_access_point *ap = malloc(sizeof(*ap));
	uint64_t seq = 0;
	int r;

	if (!ap)
		return -ENOMEM;
	for (;;) {
		fs_meta_lock(fs);
		r = meta_ap_next(fs->meta, seq, ap, &seq);
		fs_meta_unlock(fs);
		if (r == -ENOENT) {
			r = 0;
			break;
		}
		if (r < 0)
			break;
		r = cb(ap, arg);
		if (r)
			break;
	}
	free(ap);
	return r;
}

static int ap_delete_body(struct meta *m, void *arg)
{
	return meta_ap_delete(m, arg);
}

int fs_ap_delete(struct fs *fs, const char *id)
{
	int r;

	if (fs->read_only)
		return -EROFS;
	r = meta_txn(fs->meta, ap_delete_body, (void *)id);
	return r ? r : ap_sync(fs);
}

/* ---- the root directory of a view ---------------------------------------- */

/* Makes directory name in parent with the access point's CreationInfo, or
 * finds the one another mount made meanwhile; *ret_ino is it. */
static int make_component(struct fs *fs, uint64_t parent, const char *name,
			  const struct fs_access_point *c, uint64_t *ret_ino)
{
	const struct fs_ctx ctx = { c->owner_uid, c->owner_gid };
	mode_t mode = c->permissions & 07777;
	struct meta_inode mi;
	int r;

	r = fs_new_inode(fs, &ctx, parent, name, S_IFDIR | mode, 0, NULL, &mi);
	if (r == -EEXIST) {
		fs_meta_lock(fs);
		r = meta_lookup(fs->meta, parent, name, ret_ino);
		if (!r)
			r = meta_inode_get(fs->meta, *ret_ino, &mi);
		fs_meta_unlock(fs);
		if (!r && !S_ISDIR(mi.mode))
			r = -ENOTDIR;
		return r;
	}
	if (r < 0)
		return r;
	*ret_ino = mi.ino;
	/* exactly CreationInfo's owner and mode, also under a set-group-ID
	 * parent (whose group and bit a plain mkdir would inherit) */
	if (mi.gid != c->owner_gid || (mi.mode & 07777) != mode) {
		struct stat want = { .st_mode = mode, .st_gid = c->owner_gid }, st;

		r = fs_setattr(fs, mi.ino, &want, FS_SET_MODE | FS_SET_GID, &st);
	}
	/* made behind the kernels of the mounts already there (a root mount
	 * may have cached that the name is missing); no lock held here */
	fs_changed(fs, &(struct fs_change){ .what = FS_CHANGE_ENTRY | FS_CHANGE_WAIT,
					    .ino = mi.ino, .parent = parent, .name = name });
	return r;
}

int fs_resolve_root(struct fs *fs, const char *path, const struct fs_access_point *creation,
		    uint64_t *ret_ino, char *err, size_t errlen)
{
	bool create = creation && creation->has_creation;
	uint64_t ino = META_ROOT_INO;
	char name[FS_NAME_MAX + 1];
	size_t depth = 0;
	int r = 0;

	if (path[0] != '/') {
		snprintf(err, errlen, "root directory '%s': not an absolute path", path);
		return -EINVAL;
	}
	for (const char *p = path; *p;) {
		struct meta_inode mi;
		uint64_t next;
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		depth = (size_t)(p - path) + n;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(err, errlen, "root directory '%s': no . or .. components", path);
			return -EINVAL;
		}
		if (n > FS_NAME_MAX) {
			snprintf(err, errlen, "root directory '%s': component longer than %d bytes",
				 path, FS_NAME_MAX);
			return -ENAMETOOLONG;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		fs_meta_lock(fs);
		r = meta_lookup(fs->meta, ino, name, &next);
		if (!r)
			r = meta_inode_get(fs->meta, next, &mi);
		fs_meta_unlock(fs);
		if (r == -ENOENT && create) {
			r = make_component(fs, ino, name, creation, &next);
			if (r == 0)
				mi.mode = S_IFDIR;
		}
		if (r == -ENOENT) {
			if (creation)
				snprintf(err, errlen, "root directory %s of access point %s: %.*s does "
					 "not exist, and the access point has no CreationInfo to "
					 "create it", path, creation->id, (int)depth, path);
			else    /* the caller names the path it asked for */
				snprintf(err, errlen, "%.*s does not exist", (int)depth, path);
			return r;
		}
		if (r < 0) {
			snprintf(err, errlen, "root directory %s: %.*s: %s", path, (int)depth, path,
				 strerror(-r));
			return r;
		}
		if (!S_ISDIR(mi.mode)) {
			snprintf(err, errlen, "root directory %s: %.*s is not a directory%s", path,
				 (int)depth, path, S_ISLNK(mi.mode) ? " (a symbolic link, which a "
				 "root directory never follows)" : "");
			return -ENOTDIR;
		}
		ino = next;
		p += n;
	}
	r = fs_inode_ref(fs, ino, 1, 0, NULL);
	if (r < 0) {
		snprintf(err, errlen, "root directory %s: %s", path, strerror(-r));
		return r;
	}
	*ret_ino = ino;
	return 0;
}
