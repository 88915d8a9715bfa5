/* sigv4.h - AWS Signature Version 4 (header-based, AWS4-HMAC-SHA256) as a pure function.
 *
 * The signer knows nothing about HTTP transport: the caller describes the request (method,
 * raw path, query parameters, the headers it will send and the hash of the payload) and gets
 * back the canonical request, the string to sign and the Authorization header value.  The
 * s3 driver signs exactly the header list it hands to libcurl, so what is signed is what is
 * sent.  Tested against AWS's published SigV4 test suite (tests/unit/test_sigv4.c).
 *
 * Canonicalisation, as S3 wants it (no path normalisation, single URI encoding):
 *   path     every byte outside A-Z a-z 0-9 - . _ ~ and '/' is percent-encoded (%XX, upper case)
 *   query    names and values encoded the same way ('/' too), sorted by name then value,
 *            joined "n1=v1&n2=v2"; a parameter with a NULL value becomes "n="
 *   headers  names lower-cased, values trimmed with inner runs of spaces collapsed to one,
 *            repeated names joined with ',' in the order given, sorted by name
 */
#ifndef EFSFS_SIGV4_H
#define EFSFS_SIGV4_H

#include <stddef.h>
#include <stdbool.h>

#define SIGV4_SHA256_HEX_LEN 64

struct sigv4_param {
	const char *name;           /* raw, not encoded */
	const char *value;          /* raw, not encoded; NULL = "" */
};

struct sigv4_header {
	const char *name;           /* any case */
	const char *value;          /* as sent; trimmed for signing */
};

struct sigv4_request {
	const char *method;         /* "GET", "PUT", ... */
	const char *path;           /* raw absolute path, "/bucket/a b" (encoded by the signer) */
	const struct sigv4_param *params;
	size_t n_params;
	const struct sigv4_header *headers;   /* every header to sign, host and x-amz-date included */
	size_t n_headers;
	const char *payload_hash;   /* lower-case hex SHA-256 of the body */
	const char *access_key;
	const char *secret_key;
	const char *region;         /* "us-east-1" */
	const char *service;        /* "s3" */
	const char *amz_date;       /* "20150830T123600Z", the x-amz-date header value */
};

/* All three strings are malloc'd; sigv4_signature_free() releases them. */
struct sigv4_signature {
	char *canonical_request;
	char *string_to_sign;
	char *authorization;        /* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
};

/* Fills *ret on success; -EINVAL for a malformed request (missing field, bad date, header
 * name with no characters), -ENOMEM.  *ret is untouched on failure. */
int sigv4_sign(const struct sigv4_request *req, struct sigv4_signature *ret);
void sigv4_signature_free(struct sigv4_signature *sig);   /* accepts NULL */

/* Percent-encodes s per SigV4 (unreserved characters kept; '/' kept when keep_slash).
 * *ret is malloc'd. */
int sigv4_uri_encode(const char *s, bool keep_slash, char **ret);

/* The canonical query string of params (also a valid URL query); "" for none. */
int sigv4_canonical_query(const struct sigv4_param *params, size_t n_params, char **ret);

/* Lower-case hex SHA-256 of buf into out (SIGV4_SHA256_HEX_LEN + 1 bytes). */
void sigv4_sha256_hex(const void *buf, size_t len, char *out);

#endif
