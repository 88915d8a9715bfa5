/* objstore.c - the generic part of the object store: URL dispatch to the drivers and
 * the wrappers every caller goes through (key checks, fault injection).
 *
 * Error text goes to the caller's (err, errlen), the last two parameters of every call:
 * each wrapper empties it first, so after a call it describes that call's outcome ("" on
 * success).  No state is kept for it: any thread may call on any store.
 */
#include "store/objstore.h"
#include "store/objstore_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void objstore_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void err_clear(char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
}

bool objstore_key_valid(const char *key)
{
	const char *p = key;

	if (!key || !key[0] || key[0] == '/')
		return false;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return false;   /* trailing '/' */
	}
	return true;
}

int objstore_open(const char *url, const struct objstore_conf *conf, struct objstore **ret,
                  char *err, size_t errlen)
{
	static const struct objstore_conf no_conf;
	struct objstore *s;
	const char *sep;
	int r;

	err_clear(err, errlen);
	if (!url || !ret) {
		objstore_errf(err, errlen, "object store: no URL");
		return -EINVAL;
	}
	sep = strstr(url, "://");
	if (!sep) {
		objstore_errf(err, errlen, "object store URL %s: expected file:///path or "
			      "s3://bucket[/prefix]", url);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->url = strdup(url);
	if (!s->url) {
		r = -ENOMEM;
		goto out_free;
	}
	r = pthread_mutex_init(&s->fault_lock, NULL);
	if (r) {
		r = -r;
		goto out_free_url;
	}
	if (!conf)
		conf = &no_conf;
	if ((size_t)(sep - url) == 4 && !strncmp(url, "file", 4)) {
		r = objstore_file_open(s, sep + 3, conf, err, errlen);
	} else if ((size_t)(sep - url) == 2 && !strncmp(url, "s3", 2)) {
		r = objstore_s3_open(s, sep + 3, conf, err, errlen);
	} else {
		objstore_errf(err, errlen, "object store URL %s: unknown scheme (file:// or s3://)",
			      url);
		r = -EINVAL;
	}
	if (r < 0)
		goto out_mutex;
	*ret = s;
	return 0;

out_mutex:
	pthread_mutex_destroy(&s->fault_lock);
out_free_url:
	free(s->url);
out_free:
	free(s);
	return r;
}

void objstore_free(struct objstore *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->free)
		s->ops->free(s);
	pthread_mutex_destroy(&s->fault_lock);
	free(s->url);
	free(s);
}

const char *objstore_url(const struct objstore *s)
{
	return s ? s->url : "";
}

void objstore_inject_fault(struct objstore *s, const char *op, unsigned nth, int err, bool sticky)
{
	pthread_mutex_lock(&s->fault_lock);
	memset(&s->fault, 0, sizeof(s->fault));
	if (nth && op && strlen(op) < sizeof(s->fault.op)) {
		strcpy(s->fault.op, op);
		s->fault.left = nth;
		s->fault.err = err < 0 ? -err : err;
		if (!s->fault.err)
			s->fault.err = EIO;
		s->fault.sticky = sticky;
	}
	pthread_mutex_unlock(&s->fault_lock);
}

/* Counts a call of op against the injected fault; returns -err when this call fails. */
static int objstore_fault_check(struct objstore *s, const char *op)
{
	int r = 0;

	pthread_mutex_lock(&s->fault_lock);
	if (s->fault.op[0] && (!strcmp(s->fault.op, "*") || !strcmp(s->fault.op, op))) {
		if (s->fault.fired) {
			r = -s->fault.err;      /* only sticky faults stay armed after firing */
		} else if (--s->fault.left == 0) {
			r = -s->fault.err;
			s->fault.fired = true;
			if (!s->fault.sticky)
				s->fault.op[0] = '\0';
		}
	}
	pthread_mutex_unlock(&s->fault_lock);
	return r;
}

/* Common entry checks; returns 0 to go on. */
static int objstore_enter(struct objstore *s, const char *op, const char *key, bool key_required,
                          char *err, size_t errlen)
{
	char name[8];
	size_t i;
	int r;

	for (i = 0; op[i] && i < sizeof(name) - 1; i++)
		name[i] = (char)(op[i] - 'a' + 'A');
	name[i] = '\0';

	err_clear(err, errlen);
	if (key_required && !objstore_key_valid(key)) {
		objstore_errf(err, errlen, "%s %s: invalid key \"%s\"", name, s->url,
			      key ? key : "(null)");
		return -EINVAL;
	}
	r = objstore_fault_check(s, op);
	if (r < 0)
		objstore_errf(err, errlen, "%s %s/%s: injected fault: %s", name, s->url,
			      key ? key : "", strerror(-r));
	return r;
}

int objstore_get(struct objstore *s, const char *key, void **ret_buf, size_t *ret_len,
                 char *err, size_t errlen)
{
	int r = objstore_enter(s, "get", key, true, err, errlen);

	if (r == 0)
		r = s->ops->get(s, key, ret_buf, ret_len, err, errlen);
	if (r == 0)
		atomic_fetch_add(&s->got_bytes, *ret_len);
	return r;
}

uint64_t objstore_bytes_got(struct objstore *s)
{
	return s ? atomic_load(&s->got_bytes) : 0;
}

int objstore_get_range(struct objstore *s, const char *key, uint64_t off, size_t len,
                       void **ret_buf, size_t *ret_len, char *err, size_t errlen)
{
	int r = objstore_enter(s, "get", key, true, err, errlen);
	size_t all, n;
	char *buf, *part;
	void *whole;

	if (r < 0)
		return r;
	if (!len || len > SIZE_MAX - 1 || !ret_buf || !ret_len) {
		objstore_errf(err, errlen, "GET %s/%s: empty or impossible range", s->url, key);
		return -EINVAL;
	}
	if (s->ops->get_range) {
		r = s->ops->get_range(s, key, off, len, ret_buf, ret_len, err, errlen);
		if (r == 0)
			atomic_fetch_add(&s->got_bytes, *ret_len);
		return r;
	}
	r = s->ops->get(s, key, &whole, &all, err, errlen);
	if (r < 0)
		return r;
	buf = whole;
	n = off < all ? (all - off < len ? all - off : len) : 0;
	part = malloc(n + 1);
	if (!part) {
		free(whole);
		return -ENOMEM;
	}
	if (n)
		memcpy(part, buf + off, n);
	part[n] = '\0';
	free(whole);
	atomic_fetch_add(&s->got_bytes, n);
	*ret_buf = part;
	*ret_len = n;
	return 0;
}

int objstore_put(struct objstore *s, const char *key, const void *buf, size_t len,
                 char *err, size_t errlen)
{
	int r = objstore_enter(s, "put", key, true, err, errlen);

	if (r < 0)
		return r;
	if (!buf && len) {
		objstore_errf(err, errlen, "PUT %s/%s: no buffer", s->url, key);
		return -EINVAL;
	}
	return s->ops->put(s, key, buf ? buf : "", len, err, errlen);
}

int objstore_del(struct objstore *s, const char *key, char *err, size_t errlen)
{
	int r = objstore_enter(s, "del", key, true, err, errlen);

	return r < 0 ? r : s->ops->del(s, key, err, errlen);
}

int objstore_check(struct objstore *s, char *err, size_t errlen)
{
	unsigned char rnd[8];
	char key[64];
	int r = objstore_enter(s, "put", "efsfs-probe", true, err, errlen);
	FILE *f;

	if (r < 0)
		return r;
	/* a name of its own per call: two mounts probing one store do not meet */
	f = fopen("/dev/urandom", "re");
	if (!f || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
		r = -EIO;
		objstore_errf(err, errlen, "%s: /dev/urandom: %s", s->url,
			      strerror(errno ? errno : EIO));
	}
	if (f)
		fclose(f);
	if (r < 0)
		return r;
	snprintf(key, sizeof(key), "efsfs-probe/%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (s->ops->check)
		return s->ops->check(s, key, err, errlen);
	r = s->ops->put(s, key, "efsfs probe\n", 12, err, errlen);
	if (r == 0)
		r = s->ops->del(s, key, err, errlen);
	return r;
}

int objstore_create(struct objstore *s, char *err, size_t errlen)
{
	char probe[512];
	int r;

	err_clear(err, errlen);
	r = s->ops->create ? s->ops->create(s, err, errlen) : 0;
	if (r != -EEXIST)
		return r;
	/* stores that say "exists" also to its owner: ours when it takes our writes; err
	 * keeps the create's text otherwise */
	if (objstore_check(s, probe, sizeof(probe)) == 0) {
		err_clear(err, errlen);
		return 0;
	}
	return -EEXIST;
}

int objstore_list(struct objstore *s, const char *prefix, objstore_list_cb cb, void *arg,
                  char *err, size_t errlen)
{
	int r = objstore_enter(s, "list", prefix, false, err, errlen);

	if (r < 0)
		return r;
	if (!cb) {
		objstore_errf(err, errlen, "LIST %s: no callback", s->url);
		return -EINVAL;
	}
	return s->ops->list(s, prefix ? prefix : "", cb, arg, err, errlen);
}
