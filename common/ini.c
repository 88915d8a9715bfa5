/* common/ini.c - the INI reader of ini.h over Debian's libinih.
 *
 * libinih reads the file through our reader callback, one line per call:
 * the reader counts the lines (inih's handler is not told them), checks for
 * NUL bytes, drops a byte order mark, CR and blanks, and handles comment
 * lines and section headers itself (inih keeps section names in a 50-byte
 * buffer and calls no handler for a header; file system names have 64).
 * For a "key = value" line inih is given the key and the '=' only and
 * classifies the line: its handler call means a key line, its error a line
 * without '='.  The key and the value are then taken from our own copy of
 * the line, so that quotes, comments after a value (our rules, not inih's
 * ';'-only ones) and lines longer than inih's 200-byte buffer read as
 * before, and no secret value of a credentials file passes through inih's
 * stack buffer.  Leading blanks never reach inih, so it sees no
 * continuation lines.
 *
 * All state is in one struct reader on the caller's stack.
 */
#include "common/ini.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#define NO_SOURCE "(embedded defaults)"

struct reader {
	FILE *fp;
	const char *path;
	enum ini_mode mode;
	int (*cb)(const struct ini_item *item, void *arg);
	void *arg;
	char *err;
	size_t errlen;

	char *buf;          /* getline's buffer; wiped when done (credentials) */
	size_t cap;
	char *line;         /* the current line in buf, trimmed */
	int lineno;
	char *section;      /* the current section's name, NULL before the first */
	bool stop;          /* no more lines: an error was found */
	int ret;            /* our first error (or cb's return), 0 for none */
	int ret_line;       /* its line */
};

void ini_error(char *err, size_t errlen, const char *path, int line, const char *key,
               const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || errlen == 0)
		return;
	if (!path)
		path = NO_SOURCE;
	if (line > 0 && key)
		n = snprintf(err, errlen, "%s:%d: %s: ", path, line, key);
	else if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", path, line);
	else if (key)
		n = snprintf(err, errlen, "%s: %s: ", path, key);
	else
		n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Strict: blanks at both ends and a CR at the end; lenient: white space. */
static char *trim(char *s, enum ini_mode mode)
{
	size_t len;

	if (mode == INI_LENIENT) {
		while (isspace((unsigned char)*s))
			s++;
		len = strlen(s);
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			s[--len] = '\0';
		return s;
	}
	while (is_blank(*s))
		s++;
	len = strlen(s);
	while (len > 0 && (is_blank(s[len - 1]) || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

/* true when s is empty or the start of a comment */
static bool rest_is_comment(const char *s)
{
	while (is_blank(*s))
		s++;
	return *s == '\0' || *s == '#' || *s == ';';
}

static void fail(struct reader *st, int r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records our first error at the current line and stops the reading. */
static void fail(struct reader *st, int r, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ini_error(st->err, st->errlen, st->path, st->lineno, key, "%s", msg);
	st->ret = r;
	st->ret_line = st->lineno;
	st->stop = true;
}

static void call(struct reader *st, const struct ini_item *item)
{
	int r = st->cb(item, st->arg);

	if (r != 0) {
		st->ret = r;
		st->ret_line = st->lineno;
		st->stop = true;
	}
}

/* Strict values: a quoted value ends at its closing quote, after which only
 * a comment may follow; an unquoted one at a '#' or ';' after a blank.
 * NULL with the reason in err when malformed. */
static char *strict_value(char *s, char *err, size_t errlen)
{
	while (is_blank(*s))
		s++;
	if (*s == '"') {
		char *end = strchr(s + 1, '"');

		if (!end) {
			snprintf(err, errlen, "unterminated quoted value");
			return NULL;
		}
		if (!rest_is_comment(end + 1)) {
			snprintf(err, errlen, "text after the closing quote");
			return NULL;
		}
		*end = '\0';
		return s + 1;
	}
	for (char *p = s; *p; p++) {
		if ((*p == '#' || *p == ';') && p > s && is_blank(p[-1])) {
			*p = '\0';
			break;
		}
	}
	return trim(s, INI_STRICT);
}

static void section_line(struct reader *st, char *line)
{
	struct ini_item item = { .line = st->lineno };
	char *close = strchr(line, ']');
	char *name;

	if (st->mode == INI_STRICT && (!close || !rest_is_comment(close + 1))) {
		fail(st, -EINVAL, NULL, "malformed section header (expected [name])");
		return;
	}
	if (close)
		*close = '\0';
	name = trim(line + 1, st->mode);
	free(st->section);
	st->section = strdup(name);
	if (!st->section) {
		fail(st, -ENOMEM, NULL, "%s", strerror(ENOMEM));
		return;
	}
	item.section = st->section;
	call(st, &item);
}

/* inih's handler: the current line is "key = value" (inih saw the key). */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct reader *st = user;
	struct ini_item item = { .line = st->lineno, .section = st->section };
	char *eq = strchr(st->line, '=');
	char why[64];

	(void)section;  /* inih never sees a header: ours is st->section */
	(void)name;     /* the key and value come from our copy of the line */
	(void)value;
	if (st->ret != 0)
		return 1;
	if (!eq) {
		/* inih split at ':', which is no separator here */
		if (st->mode == INI_STRICT)
			fail(st, -EINVAL, NULL, "malformed line (expected key = value)");
		return 1;
	}
	*eq = '\0';
	item.key = trim(st->line, st->mode);
	if (st->mode == INI_STRICT) {
		if (*item.key == '\0' || strpbrk(item.key, " \t\"[]")) {
			fail(st, -EINVAL, NULL, "malformed line (expected key = value)");
			return 1;
		}
		item.value = strict_value(eq + 1, why, sizeof(why));
		if (!item.value) {
			fail(st, -EINVAL, item.key, "%s", why);
			return 1;
		}
	} else {
		item.value = trim(eq + 1, st->mode);
	}
	call(st, &item);
	return 1;
}

/* inih's reader: one line of the file per call, see the top comment. */
static char *next_line(char *str, int num, void *stream)
{
	struct reader *st = stream;
	ssize_t len;
	char *line, *eq;
	size_t keylen;

	if (st->stop || num < 4)
		return NULL;
	errno = 0;
	len = getline(&st->buf, &st->cap, st->fp);
	if (len < 0) {
		if (ferror(st->fp)) {
			int r = errno ? -errno : -EIO;

			ini_error(st->err, st->errlen, st->path, 0, NULL, "%s", strerror(-r));
			st->ret = r;
			st->ret_line = st->lineno + 1;
			st->stop = true;
		}
		return NULL;
	}
	st->lineno++;
	line = st->buf;
	if ((size_t)len != strlen(line)) {
		if (st->mode == INI_STRICT) {
			fail(st, -EINVAL, NULL, "NUL byte in line");
			return NULL;
		}
		len = (ssize_t)strlen(line);     /* as C strings read it: up to the NUL */
	}
	/* a UTF-8 byte order mark some editors write */
	if (st->mode == INI_STRICT && st->lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	len = (ssize_t)strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[len - 1] = '\0';
	line = trim(line, st->mode);
	st->line = line;
	strcpy(str, "\n");
	if (*line == '\0' || *line == '#' || *line == ';')
		return str;
	if (*line == '[') {
		section_line(st, line);
		return st->stop ? NULL : str;
	}
	/* inih gets the key and '=' (or the line when it has none) */
	eq = strchr(line, '=');
	keylen = eq ? (size_t)(eq - line) : strlen(line);
	if (keylen > (size_t)num - 3)
		keylen = (size_t)num - 3;
	memcpy(str, line, keylen);
	str[keylen] = '\0';
	if (eq)
		strcat(str, "=");
	strcat(str, "\n");
	/* inih reports a line without '=' as its error: read no further */
	if (!eq && st->mode == INI_STRICT)
		st->stop = true;
	return str;
}

int ini_read(FILE *fp, const char *path, enum ini_mode mode,
             int (*cb)(const struct ini_item *item, void *arg), void *arg,
             char *err, size_t errlen)
{
	struct reader st = {
		.fp = fp, .path = path, .mode = mode, .cb = cb, .arg = arg,
		.err = err, .errlen = errlen,
	};
	int bad_line, r;

	if (!fp || !cb)
		return -EINVAL;
	bad_line = ini_parse_stream(next_line, &st, on_key, &st);
	if (st.ret != 0 && (bad_line <= 0 || st.ret_line <= bad_line)) {
		r = st.ret;
	} else if (bad_line < 0) {
		r = -ENOMEM;
		ini_error(err, errlen, path, 0, NULL, "%s", strerror(ENOMEM));
	} else if (bad_line > 0 && mode == INI_STRICT) {
		r = -EINVAL;
		ini_error(err, errlen, path, bad_line, NULL,
		          "malformed line (expected key = value)");
	} else {
		r = 0;
	}
	if (st.buf)
		explicit_bzero(st.buf, st.cap);
	free(st.buf);
	free(st.section);
	return r;
}
