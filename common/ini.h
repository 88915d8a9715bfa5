/* common/ini.h - the one INI reader: efsfs.conf and the AWS shared
 * credentials file, over Debian's libinih.
 *
 * A file is handed to a callback item by item in file order: each section
 * header ("[name]", key NULL) and each "key = value" line, with the line
 * number counted by our own reader.  Two modes:
 *
 *   INI_STRICT (efsfs.conf): '#' or ';' start a comment line, or a comment
 *     after a value when a blank precedes them; a value may be quoted
 *     ("..." keeps blanks, '#' and ';'); blanks, a trailing CR (CRLF files)
 *     and a UTF-8 byte order mark on line 1 are dropped; a NUL byte, a
 *     header without ']' or with text after it, a line without '=', a key
 *     with blanks, quotes or brackets and a bad quote are errors, reported
 *     as "file:line: reason" in err with -EINVAL.
 *   INI_LENIENT (AWS files): lines that are not a header or "key = value"
 *     are skipped, a header without ']' takes the rest of the line, values
 *     are taken as written between white space (no quotes, no comments after
 *     them), a NUL byte ends the line.
 *
 * No state is shared between calls: any thread may parse any file.
 */
#ifndef EFSFS_INI_H
#define EFSFS_INI_H

#include <stddef.h>
#include <stdio.h>

enum ini_mode { INI_STRICT, INI_LENIENT };

struct ini_item {
	int line;             /* 1-based line of the item */
	const char *section;  /* the current section's name, NULL before the first header */
	const char *key;      /* NULL: the item is the section header itself */
	const char *value;    /* NULL for a header; may be "" */
};

/* Reads fp (path names it in errors; NULL = "(embedded defaults)") and calls
 * cb for every item.  A nonzero return of cb stops the reading and is
 * returned as it is (cb writes its own detail, e.g. with ini_error()).
 * Returns 0, -EINVAL for a syntax error (strict mode), -ENOMEM, or -errno of
 * a failed read; err then says which file and line. */
int ini_read(FILE *fp, const char *path, enum ini_mode mode,
             int (*cb)(const struct ini_item *item, void *arg), void *arg,
             char *err, size_t errlen);

/* Writes "path:line: key: reason", leaving out line when 0 and key when
 * NULL; path NULL is "(embedded defaults)".  err NULL or errlen 0: nothing. */
void ini_error(char *err, size_t errlen, const char *path, int line, const char *key,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
