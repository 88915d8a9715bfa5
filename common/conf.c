/* common/conf.c - reads efsfs.conf (INI) into a struct conf.
 *
 * The file is parsed in three passes so that a mistake anywhere in it is
 * reported, not only in the section being mounted:
 *   1. syntax: sections, "key = value" lines, known keys, duplicates, names;
 *   2. values: every section's entries are parsed on their own, in file order;
 *   3. semantics: every file system section is merged over [defaults], the
 *      values that depend on data_dir are derived and cross-key rules checked.
 * The requested file system is then the merged result of its section (or of
 * [defaults] alone when the file has no such section).
 *
 * Errors are "file:line: key: reason", "file:line: reason" or "file: reason".
 *
 * The syntax is common/ini's strict mode.  Every key is one row of keys[]:
 * its name, the parse function of its type, its field in struct conf (offset
 * and size), its range or allowed values, the reason a bad value gets and its
 * embedded default, parsed as the same text in a file would be.  The table is
 * read-only; a struct conf is built by one thread and then only read.
 */
#include "common/conf.h"
#include "common/ini.h"
#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN_CHUNK_SIZE       (64u << 10)
#define MAX_CHUNK_SIZE       (64u << 20)
#define DEFAULTS_SECTION     "defaults"
/* the name %n expands to while [defaults] is checked on its own */
#define DEFAULTS_PLACEHOLDER "fs"

enum key {
	KEY_DATA_DIR,
	KEY_CHUNK_SIZE,
	KEY_PERFORMANCE_MODE,
	KEY_THROUGHPUT_MODE,
	KEY_PROVISIONED_THROUGHPUT,
	KEY_TRANSITION_TO_IA,
	KEY_TRANSITION_TO_ARCHIVE,
	KEY_TRANSITION_TO_PRIMARY,
	KEY_LIFECYCLE_INTERVAL,
	KEY_ENCRYPTED,
	KEY_KEY_FILE,
	KEY_LOG_FILE,
	KEY_IA_STORE,
	KEY_ARCHIVE_STORE,
	KEY_ARCHIVE_STORAGE_CLASS,
	KEY_S3_ENDPOINT,
	KEY_S3_REGION,
	KEY_S3_URL_STYLE,
	KEY_S3_CA_FILE,
	KEY_S3_PROFILE,
	KEY_S3_ACCESS_KEY_ID,
	KEY_S3_SECRET_ACCESS_KEY,
	KEY_S3_CONNECT_TIMEOUT,
	KEY_S3_REQUEST_TIMEOUT,
	KEY_S3_LOW_SPEED_LIMIT,
	KEY_S3_LOW_SPEED_TIME,
	KEY_S3_OPERATION_TIMEOUT,
	KEY_ALLOW_OTHER,
	KEY_ATTR_TIMEOUT,
	KEY_ENTRY_TIMEOUT,
	KEY_NEGATIVE_TIMEOUT,
	KEY_WRITEBACK_CACHE,
	KEY_PASSTHROUGH,
	KEY_FUSE_SPIN_US,
	KEY_FUSE_URING,
	KEY_STATFS,
	KEY_METRICS_LISTEN,
	KEY_STATS_GROUP,
	KEY_STATS_DIR,
	KEY_CLIENT_MOUNT,
	KEY_CLIENT_WRITE,
	KEY_CLIENT_ROOT_ACCESS,
	KEY_COUNT
};

/* A value a key may take and the number it stands for. */
struct key_value {
	const char *name;
	int value;
};

enum {
	KEY_STRIP_SLASH = 1 << 0,   /* paths: drop trailing slashes (DATA_DIR/key stays clean) */
	KEY_POW2        = 1 << 1,   /* sizes: a power of two */
	KEY_ABSOLUTE    = 1 << 2,   /* strings: an absolute path */
	KEY_SPACES      = 1 << 3,   /* strings: blanks allowed (control characters never) */
	KEY_AS_STRING   = 1 << 4,   /* choices: store the string, not its number */
};

/* One row of the key table (keys[] below). */
struct key_def {
	const char *name;
	int (*parse)(const struct key_def *d, void *field, const char *v, const char *name,
	             char *reason, size_t rlen);
	size_t offset;                   /* of the field in struct conf */
	size_t size;                     /* of the field */
	double min, max;                 /* numbers and sizes: the range */
	unsigned unit;                   /* decimals into an int: e.g. 1000 ms per second */
	const struct key_value *values;  /* choices: the allowed values, NULL-terminated */
	unsigned flags;                  /* KEY_* */
	const char *what;                /* strings: what must not contain white space */
	const char *expect;              /* the reason for a bad value: a format of the value */
	const char *range;               /* sizes: the reason for one out of range */
	const char *def;                 /* the embedded default, as written in a file */
};

static const struct key_def keys[KEY_COUNT];

static const int transition_days[] = { 1, 7, 14, 30, 60, 90, 180, 270, 365 };

#define TRANSITION_EXPECTED \
	"expected NONE, AFTER_1_DAY or AFTER_{7,14,30,60,90,180,270,365}_DAYS"

struct conf_entry {
	enum key key;
	char *value;
	int line;
};

struct conf_section {
	char *name;
	int line;
	struct conf_entry *entries;
	size_t n_entries;
	size_t cap_entries;
};

struct conf_file {
	const char *path;              /* NULL: no file, embedded defaults */
	struct conf_section *sections;
	size_t n_sections;
	size_t cap_sections;
};

/* Where the merged value of each key came from, for error lines. */
struct conf_origin {
	const struct conf_entry *entry[KEY_COUNT];
	bool in_fs_section[KEY_COUNT];
};

#define err_set ini_error

static void file_free(struct conf_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_sections; i++) {
		struct conf_section *s = &f->sections[i];

		for (size_t j = 0; j < s->n_entries; j++)
			free(s->entries[j].value);
		free(s->entries);
		free(s->name);
	}
	free(f->sections);
	f->sections = NULL;
	f->n_sections = f->cap_sections = 0;
}

static int key_lookup(const char *name)
{
	for (int k = 0; k < KEY_COUNT; k++)
		if (strcmp(keys[k].name, name) == 0)
			return k;
	return -1;
}

const char *conf_key_name(size_t i)
{
	return i < KEY_COUNT ? keys[i].name : NULL;
}

bool conf_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > CONF_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int conf_parse_transition(const char *value)
{
	char buf[32];

	if (!value)
		return -1;
	if (strcmp(value, "NONE") == 0)
		return 0;
	if (strcmp(value, "AFTER_1_DAY") == 0)
		return 1;
	for (size_t i = 1; i < sizeof(transition_days) / sizeof(transition_days[0]); i++) {
		snprintf(buf, sizeof(buf), "AFTER_%d_DAYS", transition_days[i]);
		if (strcmp(value, buf) == 0)
			return transition_days[i];
	}
	return -1;
}

static const char *transition_name(int days, char *buf, size_t len)
{
	if (days == 0)
		snprintf(buf, len, "NONE");
	else if (days == 1)
		snprintf(buf, len, "AFTER_1_DAY");
	else
		snprintf(buf, len, "AFTER_%d_DAYS", days);
	return buf;
}

static int section_add(struct conf_file *f, const char *name, int line)
{
	struct conf_section *s;

	if (f->n_sections == f->cap_sections) {
		size_t cap = f->cap_sections ? f->cap_sections * 2 : 8;
		struct conf_section *p = realloc(f->sections, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->sections = p;
		f->cap_sections = cap;
	}
	s = &f->sections[f->n_sections];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	if (!s->name)
		return -ENOMEM;
	s->line = line;
	f->n_sections++;
	return 0;
}

static int entry_add(struct conf_section *s, enum key k, const char *value, int line)
{
	struct conf_entry *e;

	if (s->n_entries == s->cap_entries) {
		size_t cap = s->cap_entries ? s->cap_entries * 2 : 16;
		struct conf_entry *p = realloc(s->entries, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->entries = p;
		s->cap_entries = cap;
	}
	e = &s->entries[s->n_entries];
	e->value = strdup(value);
	if (!e->value)
		return -ENOMEM;
	e->key = k;
	e->line = line;
	s->n_entries++;
	return 0;
}

static struct conf_section *section_find(const struct conf_file *f, const char *name)
{
	for (size_t i = 0; i < f->n_sections; i++)
		if (strcmp(f->sections[i].name, name) == 0)
			return &f->sections[i];
	return NULL;
}

static const struct conf_entry *entry_find(const struct conf_section *s, enum key k)
{
	for (size_t i = 0; i < s->n_entries; i++)
		if (s->entries[i].key == k)
			return &s->entries[i];
	return NULL;
}

/* Pass 1, one item of the INI reader at a time: sections, known keys,
 * duplicates, names.  The reader has checked the syntax of the line. */
struct pass1 {
	struct conf_file *f;
	char *err;
	size_t errlen;
};

static int pass1_header(struct pass1 *p, const struct ini_item *it)
{
	const struct conf_section *prev;

	if (strcmp(it->section, DEFAULTS_SECTION) != 0 && !conf_name_valid(it->section)) {
		err_set(p->err, p->errlen, p->f->path, it->line, NULL,
		        "invalid file system name '%s' (expected 1-%d of [A-Za-z0-9._-], "
		        "not starting with '.' or '-')", it->section, CONF_NAME_MAX);
		return -EINVAL;
	}
	prev = section_find(p->f, it->section);
	if (prev) {
		err_set(p->err, p->errlen, p->f->path, it->line, NULL,
		        "duplicate section [%s] (first at line %d)", it->section, prev->line);
		return -EINVAL;
	}
	return section_add(p->f, it->section, it->line);
}

static int pass1_key(struct pass1 *p, const struct ini_item *it)
{
	struct conf_file *f = p->f;
	const struct conf_entry *prev;
	struct conf_section *cur;
	int k;

	k = key_lookup(it->key);
	if (k < 0) {
		err_set(p->err, p->errlen, f->path, it->line, it->key, "unknown key");
		return -EINVAL;
	}
	if (!it->section) {
		err_set(p->err, p->errlen, f->path, it->line, it->key,
		        "key outside any section (add a [defaults] or [name] header above it)");
		return -EINVAL;
	}
	cur = &f->sections[f->n_sections - 1];
	prev = entry_find(cur, (enum key)k);
	if (prev) {
		err_set(p->err, p->errlen, f->path, it->line, it->key,
		        "duplicate key (first set at line %d)", prev->line);
		return -EINVAL;
	}
	if (*it->value == '\0') {
		err_set(p->err, p->errlen, f->path, it->line, it->key, "empty value");
		return -EINVAL;
	}
	return entry_add(cur, (enum key)k, it->value, it->line);
}

static int pass1_item(const struct ini_item *it, void *arg)
{
	struct pass1 *p = arg;
	int r = it->key ? pass1_key(p, it) : pass1_header(p, it);

	if (r == -ENOMEM)
		err_set(p->err, p->errlen, p->f->path, 0, NULL, "%s", strerror(ENOMEM));
	return r;
}

/* Pass 1: reads the file into sections and entries, checking the syntax. */
static int file_parse(FILE *fp, struct conf_file *f, char *err, size_t errlen)
{
	struct pass1 p = { .f = f, .err = err, .errlen = errlen };

	return ini_read(fp, f->path, INI_STRICT, pass1_item, &p, err, errlen);
}

static const char *conf_default_path = CONF_DEFAULT_PATH;

void conf_set_default_path(const char *path)
{
	conf_default_path = path ? path : CONF_DEFAULT_PATH;
}

/* $EFSFS_CONFIG, or NULL when unset or empty. */
static const char *env_config(void)
{
	const char *p = getenv("EFSFS_CONFIG");

	return p && *p ? p : NULL;
}

/* The user's own file: $XDG_CONFIG_HOME/efsfs/efsfs.conf, else
 * ~/.config/efsfs/efsfs.conf; NULL (no user file) without a home. */
static char *user_conf_path(void)
{
	const char *base = getenv("XDG_CONFIG_HOME");
	char *s = NULL;

	if (base && base[0] == '/')
		return asprintf(&s, "%s/efsfs/efsfs.conf", base) < 0 ? NULL : s;
	base = getenv("HOME");
	if (!base || base[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());

		base = pw ? pw->pw_dir : NULL;
	}
	if (!base || base[0] != '/')
		return NULL;
	return asprintf(&s, "%s/.config/efsfs/efsfs.conf", base) < 0 ? NULL : s;
}

static int file_load_path(const char *path, bool explicit, struct conf_file *f, char *err,
                         size_t errlen);

/* Resolves a NULL path to $EFSFS_CONFIG (which must exist) or the system
 * file (missing: embedded defaults) and parses it.  f->path is the path
 * read, or NULL when a missing default file means embedded defaults. */
static int file_load(const char *path, struct conf_file *f, char *err, size_t errlen)
{
	if (path)
		return file_load_path(path, true, f, err, errlen);
	if (env_config())
		return file_load_path(env_config(), true, f, err, errlen);
	return file_load_path(conf_default_path, false, f, err, errlen);
}

/* Parses path; a missing file is an error when explicit, else f->path
 * stays NULL (no file). */
static int file_load_path(const char *path, bool explicit, struct conf_file *f, char *err,
                         size_t errlen)
{
	struct stat st;
	FILE *fp;
	int r;

	memset(f, 0, sizeof(*f));
	fp = fopen(path, "re");
	if (!fp) {
		r = -errno;
		if (!explicit && (r == -ENOENT || r == -ENOTDIR))
			return 0;
		err_set(err, errlen, path, 0, NULL, "%s", strerror(-r));
		return r;
	}
	f->path = path;
	if (fstat(fileno(fp), &st) < 0) {
		r = -errno;
		err_set(err, errlen, path, 0, NULL, "%s", strerror(-r));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		err_set(err, errlen, path, 0, NULL, "%s", strerror(EISDIR));
		goto out;
	}
	r = file_parse(fp, f, err, errlen);
out:
	fclose(fp);
	if (r < 0)
		file_free(f);
	return r;
}

/* ---- values ------------------------------------------------------------ */

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Plain decimal: digits, optionally a dot and more digits. */
static int parse_decimal(const char *v, double *ret)
{
	const char *p = v;
	char *end;
	double d;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return -EINVAL;
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end)
		return -EINVAL;
	*ret = d;
	return 0;
}

static int parse_uint(const char *v, long max, long *ret)
{
	long n = 0;

	if (!*v)
		return -EINVAL;
	for (const char *p = v; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		n = n * 10 + (*p - '0');
		if (n > max)
			return -ERANGE;
	}
	*ret = n;
	return 0;
}

static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return true;
	return false;
}

/* Expands %n (the file system name) and %% into a new string. */
static int expand(const char *v, const char *name, char **ret, char *reason, size_t rlen)
{
	size_t nlen = strlen(name), len = 0;
	char *out, *o;

	for (const char *p = v; *p; p++) {
		if (*p != '%') {
			len++;
			continue;
		}
		if (p[1] == 'n') {
			len += nlen;
		} else if (p[1] == '%') {
			len++;
		} else {
			snprintf(reason, rlen, "unknown escape '%%%.1s' in '%s' (%%n is the file "
			         "system name, %%%% a percent sign)", p + 1, v);
			return -EINVAL;
		}
		p++;
	}
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	o = out;
	for (const char *p = v; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
		} else if (*++p == 'n') {
			memcpy(o, name, nlen);
			o += nlen;
		} else {
			*o++ = '%';
		}
	}
	*o = '\0';
	*ret = out;
	return 0;
}

/* S3 general purpose bucket naming rules. */
static bool bucket_valid(const char *b, size_t len)
{
	bool all_ip = true;
	int dots = 0;

	if (len < 3 || len > 63)
		return false;
	if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = b[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '-'))
			return false;
		if (ch == '.' && i + 1 < len && (b[i + 1] == '.' || b[i + 1] == '-'))
			return false;
		if (ch == '-' && i + 1 < len && b[i + 1] == '.')
			return false;
		if (ch == '.')
			dots++;
		else if (!isdigit((unsigned char)ch))
			all_ip = false;
	}
	if (all_ip && dots == 3)
		return false;
	if (strncmp(b, "xn--", 4) == 0 || strncmp(b, "sthree-", 7) == 0)
		return false;
	if (len >= 8 && strncmp(b + len - 8, "-s3alias", 8) == 0)
		return false;
	if (len >= 7 && strncmp(b + len - 7, "--ol-s3", 7) == 0)
		return false;
	return true;
}

static int check_store_url(const char *url, char *reason, size_t rlen)
{
	if (has_space_or_ctl(url)) {
		snprintf(reason, rlen, "'%s' contains white space or control characters", url);
		return -EINVAL;
	}
	if (strncmp(url, "file://", 7) == 0) {
		if (url[7] != '/') {
			snprintf(reason, rlen, "'%s' must name an absolute path (file:///path)",
			         url);
			return -EINVAL;
		}
		return 0;
	}
	if (strncmp(url, "s3://", 5) == 0) {
		const char *bucket = url + 5;
		const char *slash = strchr(bucket, '/');
		size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);

		if (!bucket_valid(bucket, blen)) {
			snprintf(reason, rlen, "invalid bucket name '%.*s' in '%s' (3-63 of "
			         "[a-z0-9.-], starting and ending with a letter or digit)",
			         (int)blen, bucket, url);
			return -EINVAL;
		}
		if (slash && strstr(slash, "//")) {
			snprintf(reason, rlen, "empty path segment in the prefix of '%s'", url);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(reason, rlen, "unsupported URL '%s' (expected file:///path or "
	         "s3://bucket[/prefix])", url);
	return -EINVAL;
}

static int check_endpoint(const char *v, char *reason, size_t rlen)
{
	const char *host;

	if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else
		host = NULL;
	if (!host || *host == '\0' || *host == '/' || has_space_or_ctl(v) ||
	    strpbrk(v, "?#")) {
		snprintf(reason, rlen, "invalid endpoint '%s' (expected http://host[:port] or "
		         "https://host[:port])", v);
		return -EINVAL;
	}
	return 0;
}

/* true when endpoint (checked by check_endpoint) is AWS S3's: *.amazonaws.com[.cn]. */
static bool endpoint_is_aws(const char *endpoint)
{
	const char *host = strstr(endpoint, "://") + 3;
	size_t n = strcspn(host, ":/");

	for (const char *const *d = (const char *const[]){ ".amazonaws.com", ".amazonaws.com.cn",
							   NULL }; *d; d++) {
		size_t dl = strlen(*d);

		if (n > dl && strncasecmp(host + n - dl, *d, dl) == 0)
			return true;
	}
	return false;
}

static void set_str(char **field, char *value)
{
	free(*field);
	*field = value;
}

/* Expands %n when the key allows it, then checks the path/URL. */
static int apply_path(char **field, const struct key_def *d, const char *v, const char *name,
                      bool url, char *reason, size_t rlen)
{
	char *s = NULL;
	int r;

	r = expand(v, name, &s, reason, rlen);
	if (r < 0)
		return r;
	if (url) {
		r = check_store_url(s, reason, rlen);
	} else if (s[0] != '/') {
		snprintf(reason, rlen, "'%s' is not an absolute path", s);
		r = -EINVAL;
	} else if (has_ctl(s)) {
		snprintf(reason, rlen, "'%s' contains control characters", s);
		r = -EINVAL;
	}
	if (r < 0) {
		free(s);
		return r;
	}
	if (d->flags & KEY_STRIP_SLASH) {
		/* no trailing slashes, so that DATA_DIR/key is clean */
		size_t len = strlen(s);

		while (len > 1 && s[len - 1] == '/')
			s[--len] = '\0';
	}
	set_str(field, s);
	return 0;
}

static int apply_string(char **field, const char *v, bool allow_space, const char *what,
                        char *reason, size_t rlen)
{
	char *s;

	if (allow_space ? has_ctl(v) : has_space_or_ctl(v)) {
		snprintf(reason, rlen, "%s must not contain %s", what,
		         allow_space ? "control characters" : "white space");
		return -EINVAL;
	}
	s = strdup(v);
	if (!s)
		return -ENOMEM;
	set_str(field, s);
	return 0;
}

/* ---- the key table ------------------------------------------------------ */

/* One parse function per type of value: parses v for key d into the field
 * at fp (inside struct conf), or returns -EINVAL with the reason in reason.
 * name is what %n expands to. */

/* The reason for bad value v: tmpl (default d->expect) with its "%s" replaced
 * by v (no printf format: the table's texts are data). */
static void bad_value(const struct key_def *d, const char *tmpl, const char *v, char *reason,
                      size_t rlen)
{
	const char *at;

	if (!tmpl)
		tmpl = d->expect;
	at = strstr(tmpl, "%s");
	if (at)
		snprintf(reason, rlen, "%.*s%s%s", (int)(at - tmpl), tmpl, v, at + 2);
	else
		snprintf(reason, rlen, "%s", tmpl);
}

static int parse_path_key(const struct key_def *d, void *fp, const char *v, const char *name,
                          char *reason, size_t rlen)
{
	return apply_path(fp, d, v, name, false, reason, rlen);
}

static int parse_url_key(const struct key_def *d, void *fp, const char *v, const char *name,
                         char *reason, size_t rlen)
{
	return apply_path(fp, d, v, name, true, reason, rlen);
}

/* A string taken as it is: no white space (or, with KEY_SPACES, no control
 * characters); KEY_ABSOLUTE: an absolute path. */
static int parse_string_key(const struct key_def *d, void *fp, const char *v, const char *name,
                            char *reason, size_t rlen)
{
	(void)name;
	if ((d->flags & KEY_ABSOLUTE) && v[0] != '/') {
		snprintf(reason, rlen, "'%s' is not an absolute path", v);
		return -EINVAL;
	}
	return apply_string(fp, v, d->flags & KEY_SPACES, d->what, reason, rlen);
}

static int parse_endpoint_key(const struct key_def *d, void *fp, const char *v,
                              const char *name, char *reason, size_t rlen)
{
	if (check_endpoint(v, reason, rlen) < 0)
		return -EINVAL;
	return parse_string_key(d, fp, v, name, reason, rlen);
}

/* metrics_listen: "off", or a loopback address and a port: 127.x.y.z:PORT,
 * localhost:PORT or [::1]:PORT (the endpoint has no authentication, so it
 * never listens beyond this host). */
static int parse_listen_key(const struct key_def *d, void *fp, const char *v, const char *name,
                            char *reason, size_t rlen)
{
	const char *colon = strrchr(v, ':'), *host_end = colon;
	char host[64];
	unsigned a, b, c, e;
	long port;
	char *end;
	int n = 0;

	if (strcmp(v, "off") == 0) {
		free(*(char **)fp);
		*(char **)fp = NULL;
		return 0;
	}
	if (!colon || colon == v || (size_t)(colon - v) >= sizeof(host))
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 1 || port > 65535)
		goto bad;
	memcpy(host, v, (size_t)(host_end - v));
	host[host_end - v] = '\0';
	if (strcmp(host, "localhost") != 0 && strcmp(host, "[::1]") != 0 &&
	    !(sscanf(host, "%u.%u.%u.%u%n", &a, &b, &c, &e, &n) == 4 && !host[n] && a == 127 &&
	      b < 256 && c < 256 && e < 256))
		goto bad;
	return parse_string_key(d, fp, v, name, reason, rlen);
bad:
	bad_value(d, NULL, v, reason, rlen);
	return -EINVAL;
}

static int parse_region_key(const struct key_def *d, void *fp, const char *v, const char *name,
                            char *reason, size_t rlen)
{
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			bad_value(d, NULL, v, reason, rlen);
			return -EINVAL;
		}
	}
	return parse_string_key(d, fp, v, name, reason, rlen);
}

/* One of d->values, stored as its number in an int or bool field, or (with
 * KEY_AS_STRING) as the string itself. */
static int parse_choice_key(const struct key_def *d, void *fp, const char *v, const char *name,
                            char *reason, size_t rlen)
{
	for (const struct key_value *kv = d->values; kv->name; kv++) {
		if (strcmp(v, kv->name) != 0)
			continue;
		if (d->flags & KEY_AS_STRING)
			return parse_string_key(d, fp, v, name, reason, rlen);
		if (d->size == sizeof(bool))
			*(bool *)fp = kv->value != 0;
		else
			*(int *)fp = kv->value;
		return 0;
	}
	bad_value(d, NULL, v, reason, rlen);
	return -EINVAL;
}

static int parse_bool_key(const struct key_def *d, void *fp, const char *v, const char *name,
                          char *reason, size_t rlen)
{
	(void)name;
	if (parse_bool(v, fp) < 0) {
		bad_value(d, NULL, v, reason, rlen);
		return -EINVAL;
	}
	return 0;
}

static int parse_transition_key(const struct key_def *d, void *fp, const char *v,
                                const char *name, char *reason, size_t rlen)
{
	int days = conf_parse_transition(v);

	(void)name;
	if (days < 0) {
		bad_value(d, NULL, v, reason, rlen);
		return -EINVAL;
	}
	*(int *)fp = days;
	return 0;
}

/* A whole number from d->min to d->max into an int. */
static int parse_uint_key(const struct key_def *d, void *fp, const char *v, const char *name,
                          char *reason, size_t rlen)
{
	long n;

	(void)name;
	if (parse_uint(v, (long)d->max, &n) < 0 || n < (long)d->min) {
		bad_value(d, NULL, v, reason, rlen);
		return -EINVAL;
	}
	*(int *)fp = (int)n;
	return 0;
}

/* A plain decimal from d->min to d->max, into a double, or times d->unit
 * (rounded) into an int: seconds as milliseconds. */
static int parse_decimal_key(const struct key_def *d, void *fp, const char *v,
                             const char *name, char *reason, size_t rlen)
{
	double x;

	(void)name;
	if (parse_decimal(v, &x) < 0 || x < d->min || x > d->max) {
		bad_value(d, NULL, v, reason, rlen);
		return -EINVAL;
	}
	if (d->unit)
		*(int *)fp = (int)(x * (double)d->unit + 0.5);
	else
		*(double *)fp = x;
	return 0;
}

/* A size ("64K", "4MiB", ...; common/size.h) from d->min to d->max, into a
 * uint64_t or an int; KEY_POW2: a power of two.  d->range is the reason for
 * a size out of range (default d->expect). */
static int parse_size_key(const struct key_def *d, void *fp, const char *v, const char *name,
                          char *reason, size_t rlen)
{
	uint64_t n;

	(void)name;
	if (size_parse(v, &n) < 0) {
		bad_value(d, NULL, v, reason, rlen);
		return -EINVAL;
	}
	if (n < (uint64_t)d->min || n > (uint64_t)d->max ||
	    ((d->flags & KEY_POW2) && (n & (n - 1)))) {
		bad_value(d, d->range, v, reason, rlen);
		return -EINVAL;
	}
	if (d->size == sizeof(uint64_t))
		*(uint64_t *)fp = n;
	else
		*(int *)fp = (int)n;
	return 0;
}

#define FIELD(f) offsetof(struct conf, f), sizeof(((struct conf *)0)->f)

static const struct key_value perf_modes[] = {
	{ "generalPurpose", CONF_PERF_GENERAL_PURPOSE }, { "maxIO", CONF_PERF_MAX_IO }, { NULL, 0 },
};
static const struct key_value throughput_modes[] = {
	{ "bursting", CONF_TP_BURSTING }, { "provisioned", CONF_TP_PROVISIONED },
	{ "elastic", CONF_TP_ELASTIC }, { NULL, 0 },
};
static const struct key_value primary_values[] = {
	{ "NONE", false }, { "AFTER_1_ACCESS", true }, { NULL, 0 },
};
static const struct key_value url_styles[] = {
	{ "path", true }, { "virtual", false }, { NULL, 0 },
};
static const struct key_value uring_values[] = {
	{ "off", CONF_URING_OFF }, { "auto", CONF_URING_AUTO }, { "on", CONF_URING_ON },
	{ NULL, 0 },
};

static const struct key_value statfs_values[] = {
	{ "efs", CONF_STATFS_EFS }, { "local", CONF_STATFS_LOCAL }, { NULL, 0 },
};
static const struct key_value storage_classes[] = {
	{ "STANDARD", 0 }, { "STANDARD_IA", 0 }, { "ONEZONE_IA", 0 },
	{ "INTELLIGENT_TIERING", 0 }, { "GLACIER_IR", 0 }, { "GLACIER", 0 },
	{ "DEEP_ARCHIVE", 0 }, { NULL, 0 },
};

#define BOOL_EXPECTED "invalid boolean '%s' (expected true/false, yes/no, on/off or 1/0)"
#define S3_TIMEOUT_EXPECTED \
	"invalid value '%s' (expected seconds from 0.1 to 86400, decimals allowed)"
#define FUSE_TIMEOUT_EXPECTED \
	"invalid value '%s' (expected seconds from 0 to 3600, decimals allowed)"

/* Every key: its name, parse function, field, range, allowed values and the
 * reason a bad value gets (a format of the value), and its embedded default
 * (parsed like a value from the file; NULL: derived or zero). */
static const struct key_def keys[KEY_COUNT] = {
	[KEY_DATA_DIR] = { "data_dir", parse_path_key, FIELD(data_dir), .flags = KEY_STRIP_SLASH },
	[KEY_CHUNK_SIZE] = { "chunk_size", parse_size_key, FIELD(chunk_size),
		.min = MIN_CHUNK_SIZE, .max = MAX_CHUNK_SIZE, .flags = KEY_POW2,
		.expect = "invalid size '%s' (expected a number of bytes with an optional K, M or "
		          "G suffix)",
		.range = "'%s' is not a power of two between 64K and 64M", .def = "4M" },
	[KEY_PERFORMANCE_MODE] = { "performance_mode", parse_choice_key, FIELD(performance_mode),
		.values = perf_modes,
		.expect = "unknown value '%s' (expected generalPurpose or maxIO)",
		.def = "generalPurpose" },
	[KEY_THROUGHPUT_MODE] = { "throughput_mode", parse_choice_key, FIELD(throughput_mode),
		.values = throughput_modes,
		.expect = "unknown value '%s' (expected bursting, provisioned or elastic)",
		.def = "elastic" },
	[KEY_PROVISIONED_THROUGHPUT] = { "provisioned_throughput_in_mibps", parse_decimal_key,
		FIELD(provisioned_throughput_mibps), .min = 1.0, .max = 3414.0,
		.expect = "invalid value '%s' (expected a number of MiB/s from 1 to 3414)" },
	[KEY_TRANSITION_TO_IA] = { "transition_to_ia", parse_transition_key,
		FIELD(transition_to_ia_days), .expect = "unknown value '%s' (" TRANSITION_EXPECTED ")",
		.def = "AFTER_30_DAYS" },
	[KEY_TRANSITION_TO_ARCHIVE] = { "transition_to_archive", parse_transition_key,
		FIELD(transition_to_archive_days),
		.expect = "unknown value '%s' (" TRANSITION_EXPECTED ")", .def = "AFTER_90_DAYS" },
	[KEY_TRANSITION_TO_PRIMARY] = { "transition_to_primary_storage_class", parse_choice_key,
		FIELD(promote_after_1_access), .values = primary_values,
		.expect = "unknown value '%s' (expected NONE or AFTER_1_ACCESS)", .def = "NONE" },
	[KEY_LIFECYCLE_INTERVAL] = { "lifecycle_interval", parse_uint_key,
		FIELD(lifecycle_interval_s), .min = 1, .max = 604800,
		.expect = "invalid value '%s' (expected a whole number of seconds from 1 to 604800)",
		.def = "3600" },
	[KEY_ENCRYPTED] = { "encrypted", parse_bool_key, FIELD(encrypted),
		.expect = BOOL_EXPECTED, .def = "false" },
	[KEY_KEY_FILE] = { "key_file", parse_path_key, FIELD(key_file) },
	[KEY_LOG_FILE] = { "log_file", parse_path_key, FIELD(log_file) },
	[KEY_IA_STORE] = { "ia_store", parse_url_key, FIELD(ia_store) },
	[KEY_ARCHIVE_STORE] = { "archive_store", parse_url_key, FIELD(archive_store) },
	[KEY_ARCHIVE_STORAGE_CLASS] = { "archive_storage_class", parse_choice_key,
		FIELD(archive_storage_class), .values = storage_classes, .flags = KEY_AS_STRING,
		.what = "",
		.expect = "unknown storage class '%s' (expected STANDARD, STANDARD_IA, ONEZONE_IA, "
		          "INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE)",
		.def = "GLACIER_IR" },
	[KEY_S3_ENDPOINT] = { "s3_endpoint", parse_endpoint_key, FIELD(s3_endpoint),
		.what = "the endpoint" },
	[KEY_S3_REGION] = { "s3_region", parse_region_key, FIELD(s3_region),
		.what = "the region",
		.expect = "invalid region '%s' (expected letters, digits, '-', '_' or '.', as in "
		          "us-east-1)" },
	[KEY_S3_URL_STYLE] = { "s3_url_style", parse_choice_key, FIELD(s3_path_style),
		.values = url_styles, .expect = "unknown value '%s' (expected path or virtual)",
		.def = "path" },
	[KEY_S3_CA_FILE] = { "s3_ca_file", parse_string_key, FIELD(s3_ca_file),
		.flags = KEY_ABSOLUTE | KEY_SPACES, .what = "the path" },
	[KEY_S3_PROFILE] = { "s3_profile", parse_string_key, FIELD(s3_profile),
		.what = "the profile name" },
	[KEY_S3_ACCESS_KEY_ID] = { "s3_access_key_id", parse_string_key, FIELD(s3_access_key_id),
		.what = "the access key id" },
	[KEY_S3_SECRET_ACCESS_KEY] = { "s3_secret_access_key", parse_string_key,
		FIELD(s3_secret_access_key), .what = "the secret access key" },
	[KEY_S3_CONNECT_TIMEOUT] = { "s3_connect_timeout", parse_decimal_key,
		FIELD(s3_connect_timeout_ms), .min = 0.1, .max = 86400.0, .unit = 1000,
		.expect = S3_TIMEOUT_EXPECTED, .def = "5" },
	[KEY_S3_REQUEST_TIMEOUT] = { "s3_request_timeout", parse_decimal_key,
		FIELD(s3_request_timeout_ms), .min = 0.1, .max = 86400.0, .unit = 1000,
		.expect = S3_TIMEOUT_EXPECTED, .def = "30" },
	[KEY_S3_LOW_SPEED_LIMIT] = { "s3_low_speed_limit", parse_size_key,
		FIELD(s3_low_speed_limit), .min = 0, .max = 1u << 30,
		.expect = "invalid value '%s' (expected bytes per second from 0 (no check) to 1G, "
		          "with an optional K, M or G suffix)", .def = "1024" },
	[KEY_S3_LOW_SPEED_TIME] = { "s3_low_speed_time", parse_uint_key,
		FIELD(s3_low_speed_time_s), .min = 1, .max = 3600,
		.expect = "invalid value '%s' (expected a whole number of seconds from 1 to 3600)",
		.def = "10" },
	[KEY_S3_OPERATION_TIMEOUT] = { "s3_operation_timeout", parse_decimal_key,
		FIELD(s3_operation_timeout_ms), .min = 0.1, .max = 86400.0, .unit = 1000,
		.expect = S3_TIMEOUT_EXPECTED, .def = "30" },
	[KEY_ALLOW_OTHER] = { "allow_other", parse_bool_key, FIELD(allow_other),
		.expect = BOOL_EXPECTED, .def = "true" },
	/* An hour: every change a mount makes is told to the other mounts'
	 * kernels, and the daemon's own (tier moves) to all (fuse/notify.c), so
	 * a timeout only bounds what nothing tells.  A warm stat of 3,000 files
	 * took 1.39 s with 1 s timeouts and 0.07-0.12 s with 30 s or an hour
	 * (scripts/cache-timeouts.sh); an hour also keeps it so for a re-run
	 * minutes later (git status, make). */
	[KEY_ATTR_TIMEOUT] = { "attr_timeout", parse_decimal_key, FIELD(attr_timeout),
		.min = 0.0, .max = 3600.0, .expect = FUSE_TIMEOUT_EXPECTED, .def = "3600" },
	[KEY_ENTRY_TIMEOUT] = { "entry_timeout", parse_decimal_key, FIELD(entry_timeout),
		.min = 0.0, .max = 3600.0, .expect = FUSE_TIMEOUT_EXPECTED, .def = "3600" },
	[KEY_NEGATIVE_TIMEOUT] = { "negative_timeout", parse_decimal_key, FIELD(negative_timeout),
		.min = 0.0, .max = 3600.0, .expect = FUSE_TIMEOUT_EXPECTED, .def = "3600" },
	[KEY_WRITEBACK_CACHE] = { "writeback_cache", parse_bool_key, FIELD(writeback_cache),
		.expect = BOOL_EXPECTED, .def = "false" },
	[KEY_PASSTHROUGH] = { "passthrough", parse_bool_key, FIELD(passthrough),
		.expect = BOOL_EXPECTED, .def = "true" },
	[KEY_FUSE_SPIN_US] = { "fuse_spin_us", parse_uint_key, FIELD(fuse_spin_us),
		.min = 0, .max = 10000,
		.expect = "invalid value '%s' (expected a whole number of microseconds from 0 to "
		          "10000)", .def = "50" },
	[KEY_FUSE_URING] = { "fuse_uring", parse_choice_key, FIELD(fuse_uring),
		.values = uring_values, .expect = "unknown value '%s' (expected off, auto or on)",
		.def = "auto" },
	[KEY_STATFS] = { "statfs", parse_choice_key, FIELD(statfs), .values = statfs_values,
		.expect = "unknown value '%s' (expected efs or local)", .def = "efs" },
	[KEY_METRICS_LISTEN] = { "metrics_listen", parse_listen_key, FIELD(metrics_listen),
		.what = "the address",
		.expect = "invalid value '%s' (expected off, or a loopback address and port: "
		          "127.0.0.1:PORT, localhost:PORT or [::1]:PORT)" },
	/* the read-only stats socket (daemon/control.c): off unless a group is named */
	[KEY_STATS_GROUP] = { "stats_group", parse_string_key, FIELD(stats_group),
		.what = "the group name" },
	[KEY_STATS_DIR] = { "stats_dir", parse_path_key, FIELD(stats_dir),
		.flags = KEY_STRIP_SLASH, .def = "/run/efsfs" },
	/* the file system policy: EFS's client actions (README, "Access points") */
	[KEY_CLIENT_MOUNT] = { "client_mount", parse_bool_key, FIELD(client_mount),
		.expect = BOOL_EXPECTED, .def = "true" },
	[KEY_CLIENT_WRITE] = { "client_write", parse_bool_key, FIELD(client_write),
		.expect = BOOL_EXPECTED, .def = "true" },
	[KEY_CLIENT_ROOT_ACCESS] = { "client_root_access", parse_bool_key,
		FIELD(client_root_access), .expect = BOOL_EXPECTED, .def = "true" },
};

/* Parses value v of key k into c.  name is what %n expands to. */
static int key_apply(struct conf *c, enum key k, const char *v, const char *name,
                     char *reason, size_t rlen)
{
	const struct key_def *d = &keys[k];

	return d->parse(d, (char *)c + d->offset, v, name, reason, rlen);
}

/* ---- building a struct conf -------------------------------------------- */

void conf_free(struct conf *c)
{
	if (!c)
		return;
	free(c->source);
	free(c->warning);
	free(c->data_dir);
	free(c->key_file);
	free(c->log_file);
	free(c->metrics_listen);
	free(c->stats_group);
	free(c->stats_dir);
	free(c->ia_store);
	free(c->archive_store);
	free(c->archive_storage_class);
	free(c->s3_endpoint);
	free(c->s3_region);
	free(c->s3_ca_file);
	free(c->s3_profile);
	free(c->s3_access_key_id);
	free(c->s3_secret_access_key);
	free(c);
}

/* The embedded defaults that do not depend on data_dir: each key's def,
 * parsed as a value from a file would be. */
static struct conf *conf_new(const char *name)
{
	struct conf *c = calloc(1, sizeof(*c));
	char reason[256];

	if (!c)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	for (int k = 0; k < KEY_COUNT; k++) {
		if (keys[k].def && key_apply(c, (enum key)k, keys[k].def, name, reason,
		                             sizeof(reason)) < 0) {
			conf_free(c);
			return NULL;     /* only ENOMEM: test_every_key parses every default */
		}
	}
	return c;
}

static int default_data_dir(const char *name, char **ret)
{
	const char *base;
	char *s = NULL;
	int n;

	if (geteuid() == 0) {
		n = asprintf(&s, "/var/lib/efsfs/%s", name);
	} else if ((base = getenv("XDG_DATA_HOME")) && base[0] == '/') {
		n = asprintf(&s, "%s/efsfs/%s", base, name);
	} else {
		base = getenv("HOME");
		if (!base || base[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());

			base = pw ? pw->pw_dir : NULL;
		}
		if (!base || base[0] != '/')
			return -ENOENT;
		n = asprintf(&s, "%s/.local/share/efsfs/%s", base, name);
	}
	if (n < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* Applies the entries of section s to c, recording where each came from. */
static int section_apply(const struct conf_file *f, const struct conf_section *s, struct conf *c,
                         const char *name, bool fs_section, struct conf_origin *origin,
                         char *err, size_t errlen)
{
	char reason[512];

	for (size_t i = 0; i < s->n_entries; i++) {
		const struct conf_entry *e = &s->entries[i];
		int r;

		reason[0] = '\0';
		r = key_apply(c, e->key, e->value, name, reason, sizeof(reason));
		if (r < 0) {
			err_set(err, errlen, f->path, e->line, keys[e->key].name, "%s",
			        r == -ENOMEM ? strerror(ENOMEM) : reason);
			return r;
		}
		if (origin) {
			origin->entry[e->key] = e;
			origin->in_fs_section[e->key] = fs_section;
		}
	}
	if (!fs_section) {
		const struct conf_entry *e = entry_find(s, KEY_DATA_DIR);

		if (e && !strstr(e->value, "%n")) {
			err_set(err, errlen, f->path, e->line, keys[KEY_DATA_DIR].name,
			        "in [defaults] must contain %%n (the file system name), or every "
			        "file system would share one directory");
			return -EINVAL;
		}
	}
	return 0;
}

static int origin_line(const struct conf_origin *o, enum key k)
{
	return o->entry[k] ? o->entry[k]->line : 0;
}

/* Derives data_dir-based defaults and checks rules that span keys.
 * sec_line is the line of the file system's section (or of [defaults]). */
static int conf_finish(const struct conf_file *f, struct conf *c, const struct conf_origin *o,
                       int sec_line, char *err, size_t errlen)
{
	char ia[32], ar[32];
	int r;

	if (!c->data_dir) {
		r = default_data_dir(c->name, &c->data_dir);
		if (r == -ENOENT) {
			err_set(err, errlen, f->path, sec_line, keys[KEY_DATA_DIR].name,
			        "no default: HOME is not set (set data_dir)");
			return -EINVAL;
		}
		if (r < 0)
			goto nomem;
	}
	if (!c->key_file && asprintf(&c->key_file, "%s/key", c->data_dir) < 0) {
		c->key_file = NULL;
		goto nomem;
	}
	if (!c->log_file && asprintf(&c->log_file, "%s/efsfs.log", c->data_dir) < 0) {
		c->log_file = NULL;
		goto nomem;
	}
	if (!c->ia_store && asprintf(&c->ia_store, "file://%s/objects", c->data_dir) < 0) {
		c->ia_store = NULL;
		goto nomem;
	}
	if (!c->archive_store) {
		c->archive_store = strdup(c->ia_store);
		if (!c->archive_store)
			goto nomem;
	}

	if (c->throughput_mode == CONF_TP_PROVISIONED && !o->entry[KEY_PROVISIONED_THROUGHPUT]) {
		err_set(err, errlen, f->path, sec_line, keys[KEY_PROVISIONED_THROUGHPUT].name,
		        "required when throughput_mode = provisioned");
		return -EINVAL;
	}
	if (c->transition_to_ia_days && c->transition_to_archive_days &&
	    c->transition_to_archive_days <= c->transition_to_ia_days) {
		bool blame_archive = o->entry[KEY_TRANSITION_TO_ARCHIVE] &&
			(o->in_fs_section[KEY_TRANSITION_TO_ARCHIVE] ||
			 !o->in_fs_section[KEY_TRANSITION_TO_IA] || !o->entry[KEY_TRANSITION_TO_IA]);

		transition_name(c->transition_to_ia_days, ia, sizeof(ia));
		transition_name(c->transition_to_archive_days, ar, sizeof(ar));
		if (blame_archive)
			err_set(err, errlen, f->path, origin_line(o, KEY_TRANSITION_TO_ARCHIVE),
			        keys[KEY_TRANSITION_TO_ARCHIVE].name,
			        "%s must be later than transition_to_ia (%s%s)", ar, ia,
			        o->entry[KEY_TRANSITION_TO_IA] ? "" : ", the default");
		else
			err_set(err, errlen, f->path, origin_line(o, KEY_TRANSITION_TO_IA),
			        keys[KEY_TRANSITION_TO_IA].name,
			        "%s must be earlier than transition_to_archive (%s%s)", ia, ar,
			        o->entry[KEY_TRANSITION_TO_ARCHIVE] ? "" : ", the default");
		return -EINVAL;
	}
	/* GLACIER_IR is an AWS class that S3-compatible stores (MinIO, s3rver, ...) refuse:
	 * without an explicit archive_storage_class they get STANDARD */
	if (!o->entry[KEY_ARCHIVE_STORAGE_CLASS] && c->s3_endpoint &&
	    !endpoint_is_aws(c->s3_endpoint)) {
		char *std = strdup("STANDARD");

		if (!std)
			goto nomem;
		set_str(&c->archive_storage_class, std);
		c->archive_storage_class_auto = true;
	}
	if (!c->s3_access_key_id != !c->s3_secret_access_key) {
		enum key set = c->s3_access_key_id ? KEY_S3_ACCESS_KEY_ID
		                                   : KEY_S3_SECRET_ACCESS_KEY;
		enum key missing = set == KEY_S3_ACCESS_KEY_ID ? KEY_S3_SECRET_ACCESS_KEY
		                                               : KEY_S3_ACCESS_KEY_ID;

		err_set(err, errlen, f->path, origin_line(o, set), keys[set].name,
		        "set without %s (set both or neither)", keys[missing].name);
		return -EINVAL;
	}
	return 0;
nomem:
	err_set(err, errlen, f->path, 0, NULL, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

/* The file system `name`: embedded defaults, then [defaults], then its own
 * section (sec may be NULL), then derived values and cross-key checks. */
static int conf_build(const struct conf_file *f, const struct conf_section *sec, const char *name,
                      struct conf **ret, struct conf_origin *ret_origin, char *err,
                      size_t errlen)
{
	const struct conf_section *defs = f->path ? section_find(f, DEFAULTS_SECTION) : NULL;
	struct conf_origin origin;
	struct conf *c;
	int sec_line = sec ? sec->line : defs ? defs->line : 0;
	int r;

	memset(&origin, 0, sizeof(origin));
	c = conf_new(name);
	if (!c) {
		err_set(err, errlen, f->path, 0, NULL, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (defs) {
		r = section_apply(f, defs, c, name, false, &origin, err, errlen);
		if (r < 0)
			goto fail;
	}
	if (sec) {
		r = section_apply(f, sec, c, name, true, &origin, err, errlen);
		if (r < 0)
			goto fail;
	}
	r = conf_finish(f, c, &origin, sec_line, err, errlen);
	if (r < 0)
		goto fail;
	if (f->path) {
		c->source = strdup(f->path);
		if (!c->source) {
			r = -ENOMEM;
			err_set(err, errlen, f->path, 0, NULL, "%s", strerror(ENOMEM));
			goto fail;
		}
	}
	if (ret_origin)
		*ret_origin = origin;
	*ret = c;
	return 0;
fail:
	conf_free(c);
	return r;
}

/* Passes 2 and 3 over the whole file.  When want is not NULL and names a
 * section, *ret gets its result. */
static int file_validate(const struct conf_file *f, const char *want, struct conf **ret,
                        char *err, size_t errlen)
{
	struct conf **built = NULL;
	struct conf_origin *origins = NULL;
	int r = 0;

	/* pass 2: each section's values on their own, in file order */
	for (size_t i = 0; i < f->n_sections; i++) {
		const struct conf_section *s = &f->sections[i];
		bool is_defs = strcmp(s->name, DEFAULTS_SECTION) == 0;
		struct conf *scratch = conf_new(is_defs ? DEFAULTS_PLACEHOLDER : s->name);

		if (!scratch) {
			err_set(err, errlen, f->path, 0, NULL, "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		r = section_apply(f, s, scratch, scratch->name, !is_defs, NULL, err, errlen);
		conf_free(scratch);
		if (r < 0)
			return r;
	}

	/* pass 3: every file system merged over [defaults] */
	if (f->n_sections) {
		built = calloc(f->n_sections, sizeof(*built));
		origins = calloc(f->n_sections, sizeof(*origins));
		if (!built || !origins) {
			r = -ENOMEM;
			err_set(err, errlen, f->path, 0, NULL, "%s", strerror(ENOMEM));
			goto out;
		}
	}
	for (size_t i = 0; i < f->n_sections; i++) {
		const struct conf_section *s = &f->sections[i];

		if (strcmp(s->name, DEFAULTS_SECTION) == 0)
			continue;
		r = conf_build(f, s, s->name, &built[i], &origins[i], err, errlen);
		if (r < 0)
			goto out;
		/* two file systems in one directory would corrupt each other */
		for (size_t j = 0; j < i; j++) {
			const struct conf_origin *o;
			int line;

			if (!built[j] || strcmp(built[j]->data_dir, built[i]->data_dir) != 0)
				continue;
			o = origins[i].entry[KEY_DATA_DIR] ? &origins[i] : &origins[j];
			line = o->entry[KEY_DATA_DIR] ? o->entry[KEY_DATA_DIR]->line : s->line;
			err_set(err, errlen, f->path, line, keys[KEY_DATA_DIR].name,
			        "[%s] and [%s] would share the data directory '%s'",
			        f->sections[j].name, s->name, built[i]->data_dir);
			r = -EINVAL;
			goto out;
		}
	}
	if (want) {
		for (size_t i = 0; i < f->n_sections; i++) {
			if (built[i] && strcmp(f->sections[i].name, want) == 0) {
				*ret = built[i];
				built[i] = NULL;
				break;
			}
		}
	}
out:
	for (size_t i = 0; built && i < f->n_sections; i++)
		conf_free(built[i]);
	free(built);
	free(origins);
	return r;
}

/* Without --config or $EFSFS_CONFIG: the user's file for a file system it
 * has a section for, else the system file; when the system file is missing
 * or cannot be read (root-only), the user file's [defaults] or the
 * embedded defaults, with *ret_warning saying why for an unreadable one.
 * Both files are loaded into uf and sf; *ret_chosen is one of them. */
static int conf_resolve(const char *name, struct conf_file *uf, struct conf_file *sf,
                        char **ret_user, struct conf_file **ret_chosen, char **ret_warning,
                        char *err, size_t errlen)
{
	char serr[1024];
	int r;

	*ret_user = user_conf_path();
	if (*ret_user) {
		r = file_load_path(*ret_user, false, uf, err, errlen);
		if (r < 0)
			return r;
		/* the user's own file is checked whole, as any file efsfs reads */
		if (uf->path) {
			r = file_validate(uf, NULL, NULL, err, errlen);
			if (r < 0)
				return r;
			if (section_find(uf, name)) {
				*ret_chosen = uf;
				return 0;
			}
		}
	}
	r = file_load_path(conf_default_path, false, sf, serr, sizeof(serr));
	if (r == -EACCES || r == -EPERM) {
		if (asprintf(ret_warning, "%s; skipped it: file system '%s' gets %s%s%s", serr, name,
		             uf->path ? "the [defaults] of " : "the embedded defaults",
		             uf->path ? uf->path : "", uf->path ? "" :
		             " (define it in ~/.config/efsfs/efsfs.conf or use --config)") < 0) {
			*ret_warning = NULL;
			err_set(err, errlen, conf_default_path, 0, NULL, "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		*ret_chosen = uf;
		return 0;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		return r;
	}
	*ret_chosen = sf->path ? sf : uf;
	return 0;
}

int conf_load(const char *path, const char *name, struct conf **ret, char *err, size_t errlen)
{
	struct conf_file uf, sf, *f = &sf;
	struct conf *c = NULL;
	char *user = NULL, *warning = NULL;
	int r;

	if (err && errlen)
		err[0] = '\0';
	memset(&uf, 0, sizeof(uf));
	memset(&sf, 0, sizeof(sf));
	if (!ret)
		return -EINVAL;
	if (path || env_config() || !conf_name_valid(name))
		r = file_load(path, &sf, err, errlen);
	else
		r = conf_resolve(name, &uf, &sf, &user, &f, &warning, err, errlen);
	if (r < 0)
		goto out;
	if (!conf_name_valid(name) || strcmp(name, DEFAULTS_SECTION) == 0) {
		err_set(err, errlen, f->path, 0, NULL, "invalid file system name '%s' (expected "
		        "1-%d of [A-Za-z0-9._-], not starting with '.' or '-', and not "
		        "'defaults')", name ? name : "(null)", CONF_NAME_MAX);
		r = -EINVAL;
		goto out;
	}
	r = file_validate(f, name, &c, err, errlen);
	if (r < 0)
		goto out;
	if (!c) {
		/* not a section of the file: [defaults] and the embedded defaults */
		r = conf_build(f, NULL, name, &c, NULL, err, errlen);
		if (r < 0)
			goto out;
	}
	c->warning = warning;
	warning = NULL;
	*ret = c;
out:
	file_free(&uf);
	file_free(&sf);
	free(user);
	free(warning);
	return r;
}

int conf_list(const char *path, int (*cb)(const char *name, void *arg), void *arg,
              char *err, size_t errlen)
{
	struct conf_file f;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!cb)
		return -EINVAL;
	r = file_load(path, &f, err, errlen);
	if (r < 0)
		return r;
	r = file_validate(&f, NULL, NULL, err, errlen);
	for (size_t i = 0; r >= 0 && i < f.n_sections; i++) {
		if (strcmp(f.sections[i].name, DEFAULTS_SECTION) == 0)
			continue;
		r = cb(f.sections[i].name, arg);
		if (r != 0)
			break;
	}
	file_free(&f);
	return r;
}
