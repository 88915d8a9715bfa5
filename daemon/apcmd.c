/* apcmd.c - `efsfs access-point create|list|describe|delete`: the option
 * values as the AWS CLI takes them, so that a command from the EFS docs
 * works with `aws efs create-access-point --file-system-id fs-...` replaced
 * by `efsfs access-point create NAME`, and the control command behind them
 * (run by the daemon when the file system is mounted, else in the CLI's
 * own process: control.c).
 *
 * Two forms of each option value, as the AWS CLI:
 *   shorthand  Uid=1000,Gid=1000,SecondaryGids=1001,1002
 *              Path=/app,CreationInfo={OwnerUid=1000,OwnerGid=1000,Permissions=0755}
 *              Key=Name,Value=web        (a list: SecondaryGids=[1,2] too)
 *   JSON       {"Uid":1000,"Gid":1000,"SecondaryGids":[1001]}
 *              [{"Key":"Name","Value":"web"}]
 * The shorthand is parsed here into the JSON value it stands for (every
 * scalar a string); JSON is parsed by libjansson; both then go through the
 * same decoding into struct fs_access_point, which names the field of every
 * error.  The CLI sends the daemon the whole request as one line of JSON in
 * the shape of EFS's CreateAccessPoint body.
 *
 * No state: every function works on its arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/apcmd.h"

/* ---- the shorthand syntax ------------------------------------------------ */

struct sh {
	const char *s;
	size_t i;
	char *err;
	size_t errlen;
	const char *opt;
};

static json_t *sh_fail(struct sh *p, const char *what)
{
	snprintf(p->err, p->errlen, "--%s: %s at character %zu of '%s'", p->opt, what, p->i + 1,
		 p->s);
	return NULL;
}

/* A scalar: up to the next , } ] or the end; "..." and '...' quote. */
static json_t *sh_scalar(struct sh *p)
{
	char buf[1024];
	size_t n = 0;
	json_t *v;

	if (p->s[p->i] == '"' || p->s[p->i] == '\'') {
		char q = p->s[p->i++];

		while (p->s[p->i] && p->s[p->i] != q) {
			if (n + 1 >= sizeof(buf))
				return sh_fail(p, "value too long");
			buf[n++] = p->s[p->i++];
		}
		if (p->s[p->i] != q)
			return sh_fail(p, "unterminated quote");
		p->i++;
	} else {
		while (p->s[p->i] && !strchr(",}]", p->s[p->i])) {
			if (n + 1 >= sizeof(buf))
				return sh_fail(p, "value too long");
			buf[n++] = p->s[p->i++];
		}
	}
	buf[n] = '\0';
	v = json_string(buf);
	return v ? v : sh_fail(p, "a value that is not UTF-8 text");
}

/* Whether the text after a ',' at i is a bare value (no '=' before the
 * next , } or ]) rather than the next key. */
static bool sh_bare_next(const struct sh *p)
{
	for (size_t j = p->i + 1; p->s[j] && !strchr(",}]", p->s[j]); j++)
		if (p->s[j] == '=')
			return false;
	return true;
}

static json_t *sh_struct(struct sh *p, char end);

/* A list after '[': structs and scalars separated by ','. */
static json_t *sh_list(struct sh *p)
{
	json_t *a = json_array(), *v;

	if (!a)
		return sh_fail(p, strerror(ENOMEM));
	p->i++;
	while (a && p->s[p->i] != ']') {
		if (p->s[p->i] == '{') {
			p->i++;
			v = sh_struct(p, '}');
			if (v && p->s[p->i] == '}')
				p->i++;
			else if (v) {
				json_decref(v);
				v = sh_fail(p, "expected }");
			}
		} else {
			v = sh_scalar(p);
		}
		if (!v || json_array_append_new(a, v) < 0)
			goto fail;
		if (p->s[p->i] == ',')
			p->i++;
		else if (p->s[p->i] != ']') {
			sh_fail(p, "expected , or ]");
			goto fail;
		}
	}
	if (!a)
		return NULL;
	p->i++;
	return a;
fail:
	json_decref(a);
	return NULL;
}

/* Key=Value pairs separated by ',' up to end ('\0' or '}'). */
static json_t *sh_struct(struct sh *p, char end)
{
	json_t *o = json_object();

	if (!o)
		return sh_fail(p, strerror(ENOMEM));
	while (o && p->s[p->i] != end) {
		char key[128];
		size_t n = 0;
		json_t *v;

		while (p->s[p->i] && !strchr("=,{}[]", p->s[p->i]) && n + 1 < sizeof(key))
			key[n++] = p->s[p->i++];
		key[n] = '\0';
		if (n == 0 || p->s[p->i] != '=') {
			sh_fail(p, "expected Key=Value");
			goto fail;
		}
		p->i++;
		if (p->s[p->i] == '{') {
			p->i++;
			v = sh_struct(p, '}');
			if (v && p->s[p->i] == '}') {
				p->i++;
			} else if (v) {
				json_decref(v);
				v = sh_fail(p, "expected }");
			}
		} else if (p->s[p->i] == '[') {
			v = sh_list(p);
		} else {
			v = sh_scalar(p);
			/* "SecondaryGids=1,2,3": the bare values after it make a list */
			if (v && p->s[p->i] == ',' && sh_bare_next(p)) {
				json_t *a = json_array();

				if (!a || json_array_append_new(a, v) < 0) {
					json_decref(a);
					goto fail;
				}
				v = a;
				while (v && p->s[p->i] == ',' && sh_bare_next(p)) {
					json_t *x;

					p->i++;
					x = sh_scalar(p);
					if (!x || json_array_append_new(v, x) < 0) {
						json_decref(v);
						v = NULL;
					}
				}
			}
		}
		if (!v)
			goto fail;
		if (json_object_get(o, key)) {
			json_decref(v);
			snprintf(p->err, p->errlen, "--%s: %s given twice in '%s'", p->opt, key, p->s);
			goto fail;
		}
		if (json_object_set_new(o, key, v) < 0) {
			sh_fail(p, "a key that is not UTF-8 text");
			goto fail;
		}
		if (p->s[p->i] == ',')
			p->i++;
		else if (p->s[p->i] != end) {
			sh_fail(p, end ? "expected , or }" : "expected ,");
			goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* The value of an option: JSON when it starts with { or [ and parses as
 * JSON, else shorthand (a list of structs for "[{...}]" too). */
static json_t *option_value(const char *opt, const char *value, char *err, size_t errlen)
{
	struct sh p = { .s = value, .err = err, .errlen = errlen, .opt = opt };
	json_t *v;

	while (*value == ' ')
		value++;
	if (*value == '{' || *value == '[') {
		json_error_t je;

		v = json_loads(value, JSON_REJECT_DUPLICATES, &je);
		if (v)
			return v;
		/* "[{Key=a,Value=b}]" is shorthand; say the JSON error otherwise */
		if (*value == '{' || strchr(value, '"')) {
			snprintf(err, errlen, "--%s: invalid JSON at character %d: %s", opt,
				 je.column, je.text);
			return NULL;
		}
		p.s = value;
		v = sh_list(&p);
		if (v && value[p.i]) {
			json_decref(v);
			v = sh_fail(&p, "unexpected text after ]");
		}
		return v;
	}
	return sh_struct(&p, '\0');
}

/* ---- decoding into struct fs_access_point -------------------------------- */

/* A number from 0 to 4294967295: an integer, or a string of digits. */
static int get_u32(json_t *v, const char *field, uint32_t *ret, char *err, size_t errlen)
{
	unsigned long long n;
	char *end;

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		if (x >= 0 && x <= 4294967295LL) {
			*ret = (uint32_t)x;
			return 0;
		}
		snprintf(err, errlen, "%s %" JSON_INTEGER_FORMAT ": expected a whole number from 0 "
			 "to 4294967295", field, x);
		return -EINVAL;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		errno = 0;
		n = strtoull(s, &end, 10);
		if (s[0] >= '0' && s[0] <= '9' && !*end && errno == 0 && n <= 4294967295ULL) {
			*ret = (uint32_t)n;
			return 0;
		}
		snprintf(err, errlen, "%s '%s': expected a whole number from 0 to 4294967295",
			 field, s);
		return -EINVAL;
	}
	snprintf(err, errlen, "%s: expected a whole number from 0 to 4294967295", field);
	return -EINVAL;
}

static int get_string(json_t *v, const char *field, char *buf, size_t len, size_t max,
		      char *err, size_t errlen)
{
	const char *s = json_string_value(v);

	if (!s) {
		snprintf(err, errlen, "%s: expected a string", field);
		return -EINVAL;
	}
	if (strlen(s) > max) {
		snprintf(err, errlen, "%s: %zu characters, at most %zu allowed", field, strlen(s),
			 max);
		return -EINVAL;
	}
	snprintf(buf, len, "%s", s);
	return 0;
}

/* Every key of o must be one of the NULL-terminated names. */
static int known_keys(json_t *o, const char *what, const char *const *names, char *err,
		      size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s: expected an object with %s%s%s%s%s", what, names[0],
			 names[1] ? ", " : "", names[1] ? names[1] : "", names[1] && names[2] ?
			 ", " : "", names[1] && names[2] ? names[2] : "");
		return -EINVAL;
	}
	json_object_foreach(o, key, v) {
		bool ok = false;
		size_t used;

		for (int i = 0; names[i]; i++)
			ok = ok || strcmp(key, names[i]) == 0;
		if (ok)
			continue;
		used = (size_t)snprintf(err, errlen, "%s: unknown key '%s' (expected", what, key);
		for (int i = 0; names[i] && used < errlen; i++)
			used += (size_t)snprintf(err + used, errlen - used, "%s %s", i ? "," : "",
						 names[i]);
		if (used < errlen)
			snprintf(err + used, errlen - used, ")");
		return -EINVAL;
	}
	return 0;
}

static int decode_posix_user(json_t *o, struct fs_ident *u, char *err, size_t errlen)
{
	static const char *const names[] = { "Uid", "Gid", "SecondaryGids", NULL };
	json_t *g;
	uint32_t x;
	int r = known_keys(o, "PosixUser", names, err, errlen);

	if (r < 0)
		return r;
	memset(u, 0, sizeof(*u));
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(o, names[i]);
		char field[32];

		if (!v) {
			snprintf(err, errlen, "PosixUser: %s is missing (PosixUser needs Uid and Gid)",
				 names[i]);
			return -EINVAL;
		}
		snprintf(field, sizeof(field), "PosixUser %s", names[i]);
		r = get_u32(v, field, &x, err, errlen);
		if (r < 0)
			return r;
		if (i == 0)
			u->uid = x;
		else
			u->gid = x;
	}
	g = json_object_get(o, "SecondaryGids");
	if (g && !json_is_array(g)) {
		r = get_u32(g, "PosixUser SecondaryGids", &x, err, errlen);
		if (r < 0)
			return r;
		u->groups[u->ngroups++] = x;
	} else if (g) {
		if (json_array_size(g) > FS_GROUPS_MAX) {
			snprintf(err, errlen, "PosixUser SecondaryGids: %zu given, at most %d allowed",
				 json_array_size(g), FS_GROUPS_MAX);
			return -EINVAL;
		}
		for (size_t i = 0; i < json_array_size(g); i++) {
			char field[48];

			snprintf(field, sizeof(field), "PosixUser SecondaryGids[%zu]", i);
			r = get_u32(json_array_get(g, i), field, &x, err, errlen);
			if (r < 0)
				return r;
			u->groups[u->ngroups++] = x;
		}
	}
	return 0;
}

/* Permissions: 3 or 4 octal digits, a string ("0755") or, in JSON, a
 * number written with those digits (755). */
static int decode_permissions(json_t *v, mode_t *ret, char *err, size_t errlen)
{
	char buf[32];
	const char *s = buf;
	size_t n;

	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		s = json_string_value(v);
	else
		s = "";
	n = strlen(s);
	if (n < 3 || n > 4 || strspn(s, "01234567") != n) {
		snprintf(err, errlen, "RootDirectory CreationInfo Permissions '%s': expected 3 or 4 "
			 "octal digits, such as 0755", s);
		return -EINVAL;
	}
	*ret = (mode_t)strtoul(s, NULL, 8);
	return 0;
}

static int decode_root_directory(json_t *o, struct fs_access_point *ap, char *err,
				 size_t errlen)
{
	static const char *const names[] = { "Path", "CreationInfo", NULL };
	static const char *const cnames[] = { "OwnerUid", "OwnerGid", "Permissions", NULL };
	json_t *path, *ci;
	int r = known_keys(o, "RootDirectory", names, err, errlen);

	if (r < 0)
		return r;
	path = json_object_get(o, "Path");
	if (path) {
		r = get_string(path, "RootDirectory Path", ap->path, sizeof(ap->path),
			       FS_AP_PATH_MAX, err, errlen);
		if (r < 0)
			return r;
	}
	ci = json_object_get(o, "CreationInfo");
	if (!ci)
		return 0;
	r = known_keys(ci, "RootDirectory CreationInfo", cnames, err, errlen);
	if (r < 0)
		return r;
	for (int i = 0; i < 3; i++) {
		if (!json_object_get(ci, cnames[i])) {
			snprintf(err, errlen, "RootDirectory CreationInfo: %s is missing "
				 "(CreationInfo needs all of OwnerUid, OwnerGid and Permissions)",
				 cnames[i]);
			return -EINVAL;
		}
	}
	r = get_u32(json_object_get(ci, "OwnerUid"), "RootDirectory CreationInfo OwnerUid",
		    &ap->owner_uid, err, errlen);
	if (!r)
		r = get_u32(json_object_get(ci, "OwnerGid"), "RootDirectory CreationInfo OwnerGid",
			    &ap->owner_gid, err, errlen);
	if (!r)
		r = decode_permissions(json_object_get(ci, "Permissions"), &ap->permissions, err,
				       errlen);
	if (!r)
		ap->has_creation = true;
	return r;
}

/* One tag object, or a list of them, added to ap's tags. */
static int decode_tags(json_t *v, struct fs_access_point *ap, char *err, size_t errlen)
{
	static const char *const names[] = { "Key", "Value", NULL };
	size_t n = json_is_array(v) ? json_array_size(v) : 1;

	for (size_t i = 0; i < n; i++) {
		json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
		struct fs_ap_tag *tag;
		char field[48];
		int r;

		snprintf(field, sizeof(field), "Tags: tag %u", ap->ntags + 1);
		r = known_keys(t, field, names, err, errlen);
		if (r < 0)
			return r;
		if (ap->ntags >= FS_AP_TAGS_MAX) {
			snprintf(err, errlen, "Tags: more than %d tags", FS_AP_TAGS_MAX);
			return -EINVAL;
		}
		tag = &ap->tags[ap->ntags];
		if (!json_object_get(t, "Key")) {
			snprintf(err, errlen, "%s: Key is missing", field);
			return -EINVAL;
		}
		snprintf(field, sizeof(field), "Tags: tag %u Key", ap->ntags + 1);
		r = get_string(json_object_get(t, "Key"), field, tag->key, sizeof(tag->key),
			       FS_AP_TAG_KEY_MAX, err, errlen);
		if (!r && json_object_get(t, "Value")) {
			snprintf(field, sizeof(field), "Tags: tag %u Value", ap->ntags + 1);
			r = get_string(json_object_get(t, "Value"), field, tag->value,
				       sizeof(tag->value), FS_AP_TAG_VALUE_MAX, err, errlen);
		}
		if (r < 0)
			return r;
		ap->ntags++;
	}
	return 0;
}

int apcmd_parse_option(const char *opt, const char *value, struct fs_access_point *ap,
		       char *err, size_t errlen)
{
	json_t *v = option_value(opt, value, err, errlen);
	char inner[768];
	int r;

	if (!v)
		return -EINVAL;
	if (strcmp(opt, "posix-user") == 0)
		r = decode_posix_user(v, &ap->user, inner, sizeof(inner));
	else if (strcmp(opt, "root-directory") == 0)
		r = decode_root_directory(v, ap, inner, sizeof(inner));
	else
		r = decode_tags(v, ap, inner, sizeof(inner));
	json_decref(v);
	if (r < 0)
		snprintf(err, errlen, "--%s: %s", opt, inner);
	return r;
}

/* ---- the request between CLI and daemon ----------------------------------- */

static json_t *posix_user_json(const struct fs_ident *u)
{
	json_t *o = json_object(), *g = json_array();

	json_object_set_new(o, "Uid", json_integer(u->uid));
	json_object_set_new(o, "Gid", json_integer(u->gid));
	for (unsigned i = 0; i < u->ngroups; i++)
		json_array_append_new(g, json_integer(u->groups[i]));
	if (u->ngroups)
		json_object_set_new(o, "SecondaryGids", g);
	else
		json_decref(g);
	return o;
}

static json_t *root_directory_json(const struct fs_access_point *ap)
{
	json_t *o = json_object();

	json_object_set_new(o, "Path", json_string(ap->path));
	if (ap->has_creation) {
		char perm[8];

		snprintf(perm, sizeof(perm), "%04o", (unsigned)ap->permissions);
		json_object_set_new(o, "CreationInfo", json_pack("{s:I,s:I,s:s}", "OwnerUid",
				    (json_int_t)ap->owner_uid, "OwnerGid",
				    (json_int_t)ap->owner_gid, "Permissions", perm));
	}
	return o;
}

static json_t *tags_json(const struct fs_access_point *ap)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < ap->ntags; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "Key", ap->tags[i].key, "Value",
						   ap->tags[i].value));
	return a;
}

char *apcmd_request(const struct fs_access_point *ap)
{
	json_t *o = json_object();
	char *s;

	if (!o)
		return NULL;
	if (ap->client_token[0])
		json_object_set_new(o, "ClientToken", json_string(ap->client_token));
	json_object_set_new(o, "PosixUser", posix_user_json(&ap->user));
	json_object_set_new(o, "RootDirectory", root_directory_json(ap));
	json_object_set_new(o, "Tags", tags_json(ap));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int apcmd_parse_request(const char *json, struct fs_access_point *ap, char *err, size_t errlen)
{
	static const char *const names[] = { "ClientToken", "PosixUser", "RootDirectory", "Tags",
					     NULL };
	json_error_t je;
	json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &je), *v;
	int r;

	memset(ap, 0, sizeof(*ap));
	snprintf(ap->path, sizeof(ap->path), "/");
	if (!o) {
		snprintf(err, errlen, "request: invalid JSON at character %d: %s", je.column,
			 je.text);
		return -EINVAL;
	}
	r = known_keys(o, "request", names, err, errlen);
	if (!r && (v = json_object_get(o, "ClientToken")))
		r = get_string(v, "ClientToken", ap->client_token, sizeof(ap->client_token),
			       FS_AP_TOKEN_MAX, err, errlen);
	if (!r) {
		v = json_object_get(o, "PosixUser");
		if (v)
			r = decode_posix_user(v, &ap->user, err, errlen);
		else {
			snprintf(err, errlen, "PosixUser is missing");
			r = -EINVAL;
		}
	}
	if (!r && (v = json_object_get(o, "RootDirectory")))
		r = decode_root_directory(v, ap, err, errlen);
	if (!r && (v = json_object_get(o, "Tags")))
		r = decode_tags(v, ap, err, errlen);
	json_decref(o);
	return r;
}

bool apcmd_id_valid(const char *id)
{
	if (strlen(id) != FS_AP_ID_LEN || strncmp(id, "fsap-", 5) != 0)
		return false;
	return strspn(id + 5, "0123456789abcdef") == FS_AP_ID_LEN - 5;
}

/* ---- the control command ------------------------------------------------- */

/* One access point as EFS's AccessPointDescription. */
static json_t *describe_json(struct fs *fs, const struct fs_access_point *ap)
{
	json_t *o = json_object();

	if (ap->client_token[0])
		json_object_set_new(o, "ClientToken", json_string(ap->client_token));
	for (unsigned i = 0; i < ap->ntags; i++)
		if (strcmp(ap->tags[i].key, "Name") == 0)
			json_object_set_new(o, "Name", json_string(ap->tags[i].value));
	json_object_set_new(o, "Tags", tags_json(ap));
	json_object_set_new(o, "AccessPointId", json_string(ap->id));
	json_object_set_new(o, "FileSystemId", json_string(fs_id(fs)));
	json_object_set_new(o, "PosixUser", posix_user_json(&ap->user));
	json_object_set_new(o, "RootDirectory", root_directory_json(ap));
	json_object_set_new(o, "CreationTime", json_integer(ap->created));
	json_object_set_new(o, "LifeCycleState", json_string("available"));
	return o;
}

/* Prints j indented, each line after the first with `pad` more spaces. */
static int print_json(FILE *out, json_t *j, int pad)
{
	char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

	if (!s)
		return -ENOMEM;
	for (const char *p = s; *p; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fprintf(out, "%*s", pad, "");
	}
	free(s);
	return 0;
}

struct list_out {
	struct fs *fs;
	FILE *out;
	unsigned n;
};

static int list_cb(const struct fs_access_point *ap, void *arg)
{
	struct list_out *l = arg;
	json_t *j = describe_json(l->fs, ap);
	int r;

	fprintf(l->out, "%s\n        ", l->n++ ? "," : "");
	r = print_json(l->out, j, 8);
	json_decref(j);
	return r;
}

int apcmd_exec(struct fs *fs, int argc, char **argv, FILE *out)
{
	struct fs_access_point *ap;
	char err[1024];
	int r, code = 0;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		struct list_out l = { .fs = fs, .out = out };

		fprintf(out, "{\n    \"AccessPoints\": [");
		r = fs_ap_list(fs, list_cb, &l);
		fprintf(out, "%s]\n}\n", l.n ? "\n    " : "");
		if (r < 0) {
			fprintf(out, "error: listing the access points of %s: %s\n", fs_id(fs),
				strerror(-r));
			return 1;
		}
		return 0;
	}
	if (argc != 2 || (strcmp(argv[0], "create") != 0 && strcmp(argv[0], "describe") != 0 &&
			  strcmp(argv[0], "delete") != 0)) {
		fprintf(out, "error: unknown access-point command\n");
		return 2;
	}
	if (strcmp(argv[0], "create") != 0 && !apcmd_id_valid(argv[1])) {
		fprintf(out, "error: '%s' is not an access point id (fsap- and 17 lowercase hex "
			"digits)\n", argv[1]);
		return 2;
	}
	/* one access point is 20 KiB with its tags: not on a control thread's stack */
	ap = malloc(sizeof(*ap));
	if (!ap) {
		fprintf(out, "error: %s\n", strerror(ENOMEM));
		return 1;
	}
	if (strcmp(argv[0], "create") == 0) {
		r = apcmd_parse_request(argv[1], ap, err, sizeof(err));
		if (r == 0)
			r = fs_ap_create(fs, ap, err, sizeof(err));
		if (r < 0) {
			fprintf(out, "error: %s\n", err);
			code = r == -EINVAL ? 2 : 1;
		} else {
			fprintf(out, "%s\n", ap->id);
		}
	} else if (strcmp(argv[0], "describe") == 0) {
		r = fs_ap_get(fs, argv[1], ap);
		if (r == 0) {
			json_t *j = describe_json(fs, ap);

			print_json(out, j, 0);
			fputc('\n', out);
			json_decref(j);
		}
	} else {
		r = fs_ap_delete(fs, argv[1]);
	}
	if (code) {
		/* said already */
	} else if (r == -ENOENT) {
		fprintf(out, "error: %s: no such access point in %s (AccessPointNotFound)\n",
			argv[1], fs_id(fs));
		code = 1;
	} else if (r < 0) {
		fprintf(out, "error: %s %s: %s\n", argv[0], argv[1], strerror(-r));
		code = 1;
	}
	free(ap);
	return code;
}
