/* common/buf.h - the one growable byte buffer (as git's strbuf, curl's
 * dynbuf): appends that double the allocation, the bytes kept NUL-terminated
 * so that text can be read as a string, and a sticky error so that a run of
 * appends is checked once at the end.
 *
 * A struct buf belongs to one thread at a time; it has no lock.
 */
#ifndef EFSFS_BUF_H
#define EFSFS_BUF_H

#include <stddef.h>

struct buf {
	char *p;       /* the bytes, p[len] == '\0'; NULL until the first byte */
	size_t len;
	size_t cap;    /* allocated, including the NUL */
	int err;       /* 0, or -ENOMEM: an append failed and every later one fails */
};

#define BUF_INIT { NULL, 0, 0, 0 }

/* Room for extra more bytes (and the NUL) without another allocation.
 * 0 or -ENOMEM (then b->err too). */
int buf_grow(struct buf *b, size_t extra);

/* Append n bytes / a string / one character: 0 or b->err. */
int buf_add(struct buf *b, const void *data, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);

/* The bytes, NUL-terminated, for the caller to free ("" when none were
 * added); *ret_len (may be NULL) their length; the buffer is empty
 * afterwards.  NULL when an append failed: the bytes are freed and b->err
 * stays, until buf_free(). */
char *buf_take(struct buf *b, size_t *ret_len);

/* Frees the bytes and empties the buffer; accepts NULL. */
void buf_free(struct buf *b);

#endif
