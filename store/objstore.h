/* objstore.h - object store drivers behind one vtable: file:// and s3://.
 *
 * An object store holds the cold chunks of the IA and ARCHIVE storage
 * classes.  It is a flat key -> bytes map with four operations (get, put,
 * delete, list), and a ranged get for reading part of a cold chunk.  Every driver is safe to call from several threads at once:
 * FUSE workers fetch cold chunks while the lifecycle thread uploads others.
 *
 * URLs:
 *   file:///abs/path            keys are files below path ("a/b" -> path/a/b),
 *                               written to a temp file, fsynced, renamed.
 *   s3://bucket[/prefix]        S3 protocol over libcurl with AWS Signature
 *                               Version 4; endpoint, region and URL style from
 *                               struct objstore_conf.
 *
 * All functions return 0 or a negative errno:
 *   -ENOENT     the key does not exist (get, delete is idempotent and returns 0)
 *   -EIO        the store answered with an error, or stayed unreachable after
 *               conf->retries attempts; err says which
 *   -EINVAL     bad URL or configuration (objstore_open), or a bad key: empty, with a
 *               leading '/', or with an empty, "." or ".." component
 *   -EACCES     s3: the store refused the request (HTTP 403)
 *   -ENOMEM     allocation failure
 *   file:// also passes on the errno of a failed system call (-ENOSPC, -EACCES, ...).
 * Every call takes err, errlen as its last two parameters (NULL, 0: no text): emptied
 * first, then on failure one sentence naming the operation, the object and the cause
 * ("PUT s3://b/k: HTTP 503 SlowDown").  Library code does not log above debug: the
 * caller logs err with its own context.
 */
#ifndef EFSFS_OBJSTORE_H
#define EFSFS_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct objstore;

struct objstore_conf {
	const char *endpoint;       /* s3: "http://127.0.0.1:4568" or "https://s3.eu-west-1.amazonaws.com";
	                               NULL = https://s3.<region>.amazonaws.com */
	const char *region;         /* s3: signing region, NULL = "us-east-1" */
	bool path_style;            /* s3: true = endpoint/bucket/key, false = bucket.endpoint/key */
	const char *storage_class;  /* s3: x-amz-storage-class on put (e.g. "GLACIER_IR"), NULL = none */
	const char *ca_file;        /* s3: CA bundle for HTTPS, NULL = system default */
	const char *profile;        /* s3: credentials profile, NULL = $AWS_PROFILE or "default" */
	const char *access_key;     /* s3: explicit credentials (config file), lowest priority */
	const char *secret_key;
	int connect_timeout_ms;     /* s3: 0 = 5000 */
	int request_timeout_ms;     /* s3: one attempt from start to end; 0 = 30000 */
	int low_speed_bytes;        /* s3: an attempt that moves fewer bytes per second than */
	int low_speed_time_s;       /*     this for this long fails (a stalled server);
	                               0 = 1024 B/s for 10 s, low_speed_bytes < 0 = no check */
	int operation_timeout_ms;   /* s3: every attempt of one call with the backoff between
	                               them; 0 = 30000 */
	int retries;                /* attempts after the first for transient errors; <0 = 0, 0 = default 4 */
	int backoff_ms;             /* first retry delay, doubled each time; 0 = 100 */
	uint64_t max_object_bytes;  /* s3: a GET answer longer than this fails (-EIO) instead of
	                               filling memory; 0 = 128 MiB */
	bool no_create;             /* file: a missing root is an empty store and is not made
	                               (read-only opens write nothing) */
};

/* One listed object; list callbacks return 0 to go on, non-zero to stop
 * (that value is returned by objstore_list). */
typedef int (*objstore_list_cb)(const char *key, uint64_t size, void *arg);

/* The driver's side; err, errlen as for the calls below (the wrappers have emptied it). */
struct objstore_ops {
	const char *scheme;                         /* "file", "s3" */
	int (*get)(struct objstore *s, const char *key, void **ret_buf, size_t *ret_len,
	           char *err, size_t errlen);
	int (*get_range)(struct objstore *s, const char *key, uint64_t off, size_t len,
	                 void **ret_buf, size_t *ret_len, char *err, size_t errlen);
	                                            /* NULL: get and cut */
	int (*put)(struct objstore *s, const char *key, const void *buf, size_t len,
	           char *err, size_t errlen);
	int (*del)(struct objstore *s, const char *key, char *err, size_t errlen);
	int (*list)(struct objstore *s, const char *prefix, objstore_list_cb cb, void *arg,
	            char *err, size_t errlen);
	int (*check)(struct objstore *s, const char *key, char *err, size_t errlen);
	                                            /* NULL: put and del of key */
	int (*create)(struct objstore *s, char *err, size_t errlen);  /* NULL: nothing to create */
	void (*free)(struct objstore *s);
};

/* Opens the store named by url.  conf may be NULL for file://.  err says why it failed
 * ("object store s3://b: no S3 credentials: ..."). */
int objstore_open(const char *url, const struct objstore_conf *conf, struct objstore **ret,
                  char *err, size_t errlen);
void objstore_free(struct objstore *s);   /* accepts NULL */

/* get: *ret_buf is malloc'd and owned by the caller; untouched on failure. */
int objstore_get(struct objstore *s, const char *key, void **ret_buf, size_t *ret_len,
                 char *err, size_t errlen);
/* get_range: bytes [off, off + len) of the object (len > 0, else -EINVAL): fewer
 * when the object ends first, none (*ret_len 0) when it ends at or before off.
 * file: pread; s3: a Range header, and an answer of more than len bytes, or one that
 * is not 206 Partial Content for off > 0 (a server ignoring the range), is -EIO.
 * Counts as a "get" for objstore_inject_fault.  *ret_buf is malloc'd (NUL after the
 * bytes), untouched on failure. */
int objstore_get_range(struct objstore *s, const char *key, uint64_t off, size_t len,
                       void **ret_buf, size_t *ret_len, char *err, size_t errlen);
/* put: durable when it returns 0 (file: fsynced; s3: 200 from the server). */
int objstore_put(struct objstore *s, const char *key, const void *buf, size_t len,
                 char *err, size_t errlen);
/* del: 0 also when the key did not exist. */
int objstore_del(struct objstore *s, const char *key, char *err, size_t errlen);
/* list: every key that starts with prefix, in no particular order. */
int objstore_list(struct objstore *s, const char *prefix, objstore_list_cb cb, void *arg,
                  char *err, size_t errlen);

/* check: writes a small probe object (with the store's storage class) and deletes it, so
 * that mkfs and mount learn at once what the first lifecycle pass would.  Besides the
 * errors above: -ENOENT the bucket (s3) does not exist, -EINVAL the store refuses the
 * storage class.  The error text names the store, its endpoint and the cause. */
int objstore_check(struct objstore *s, char *err, size_t errlen);
/* create: s3: creates the bucket (with a LocationConstraint of the region outside
 * us-east-1); 0 when it is the caller's already, -EEXIST when another account owns
 * it.  file:// : 0 (open made the directory). */
int objstore_create(struct objstore *s, char *err, size_t errlen);

/* Bytes that get and get_range calls have returned so far (tests, statistics). */
uint64_t objstore_bytes_got(struct objstore *s);

/* The URL the store was opened with (for log lines). */
const char *objstore_url(const struct objstore *s);

/* Fault injection for tests: the nth call (1-based, counted from now) of op
 * ("get", "put", "del", "list" or "*" for any) fails with -err without
 * touching the store; every later call fails too when sticky is true.
 * nth = 0 clears. */
void objstore_inject_fault(struct objstore *s, const char *op, unsigned nth, int err, bool sticky);

#endif
