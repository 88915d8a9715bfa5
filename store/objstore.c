/* objstore.c - the generic part of the object store: URL dispatch to the drivers, the
 * wrappers every caller goes through (key checks, fault injection, error text), the
 * per-thread last-error strings.
 *
 * Error text is per thread and per store: each thread keeps a few slots, each tagged with
 * the id of the store it belongs to (ids are never reused, unlike pointers).  Every wrapper
 * call clears the calling thread's text for its store first, so objstore_strerror() always
 * describes the outcome of the thread's latest call on that store.
 */
#include "store/objstore.h"
#include "store/objstore_i.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SLOTS 4
#define ERR_LEN 512

struct err_slot {
	uint64_t store_id;          /* 0 = free */
	uint64_t used;              /* LRU stamp */
	char text[ERR_LEN];
};

static _Thread_local struct err_slot err_slots[ERR_SLOTS];
static _Thread_local uint64_t err_clock;
static _Thread_local char open_error[ERR_LEN];
static atomic_uint_fast64_t next_store_id = 1;

/* The calling thread's slot for store id, taken over from the least recently used one
 * when there is none yet (create) or NULL (!create). */
static struct err_slot *err_slot_get(uint64_t id, bool create)
{
	struct err_slot *lru = &err_slots[0];

	for (int i = 0; i < ERR_SLOTS; i++) {
		if (err_slots[i].store_id == id) {
			err_slots[i].used = ++err_clock;
			return &err_slots[i];
		}
		if (err_slots[i].used < lru->used)
			lru = &err_slots[i];
	}
	if (!create)
		return NULL;
	lru->store_id = id;
	lru->used = ++err_clock;
	lru->text[0] = '\0';
	return lru;
}

void objstore_set_error(struct objstore *s, const char *fmt, ...)
{
	struct err_slot *slot = err_slot_get(s->id, true);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(slot->text, sizeof(slot->text), fmt, ap);
	va_end(ap);
}

static void objstore_clear_error(struct objstore *s)
{
	struct err_slot *slot = err_slot_get(s->id, false);

	if (slot)
		slot->text[0] = '\0';
}

const char *objstore_strerror(struct objstore *s)
{
	struct err_slot *slot;

	if (!s)
		return "";
	slot = err_slot_get(s->id, false);
	return slot ? slot->text : "";
}

void objstore_set_open_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_error, sizeof(open_error), fmt, ap);
	va_end(ap);
}

const char *objstore_open_error(void)
{
	return open_error;
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

int objstore_open(const char *url, const struct objstore_conf *conf, struct objstore **ret)
{
	static const struct objstore_conf no_conf;
	struct objstore *s;
	const char *sep;
	int r;

	open_error[0] = '\0';
	if (!url || !ret) {
		objstore_set_open_error("object store: no URL");
		return -EINVAL;
	}
	sep = strstr(url, "://");
	if (!sep) {
		objstore_set_open_error("object store URL %s: expected file:///path or "
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
	s->id = atomic_fetch_add(&next_store_id, 1);
	r = pthread_mutex_init(&s->fault_lock, NULL);
	if (r) {
		r = -r;
		goto out_free_url;
	}
	if (!conf)
		conf = &no_conf;
	if ((size_t)(sep - url) == 4 && !strncmp(url, "file", 4)) {
		r = objstore_file_open(s, sep + 3, conf);
	} else if ((size_t)(sep - url) == 2 && !strncmp(url, "s3", 2)) {
		r = objstore_s3_open(s, sep + 3, conf);
	} else {
		objstore_set_open_error("object store URL %s: unknown scheme (file:// or s3://)",
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
static int objstore_enter(struct objstore *s, const char *op, const char *key, bool key_required)
{
	char name[8];
	size_t i;
	int r;

	for (i = 0; op[i] && i < sizeof(name) - 1; i++)
		name[i] = (char)(op[i] - 'a' + 'A');
	name[i] = '\0';

	objstore_clear_error(s);
	if (key_required && !objstore_key_valid(key)) {
		objstore_set_error(s, "%s %s: invalid key \"%s\"", name, s->url, key ? key : "(null)");
		return -EINVAL;
	}
	r = objstore_fault_check(s, op);
	if (r < 0)
		objstore_set_error(s, "%s %s/%s: injected fault: %s", name, s->url,
				   key ? key : "", strerror(-r));
	return r;
}

int objstore_get(struct objstore *s, const char *key, void **ret_buf, size_t *ret_len)
{
	int r = objstore_enter(s, "get", key, true);

	return r < 0 ? r : s->ops->get(s, key, ret_buf, ret_len);
}

int objstore_put(struct objstore *s, const char *key, const void *buf, size_t len)
{
	int r = objstore_enter(s, "put", key, true);

	if (r < 0)
		return r;
	if (!buf && len) {
		objstore_set_error(s, "PUT %s/%s: no buffer", s->url, key);
		return -EINVAL;
	}
	return s->ops->put(s, key, buf ? buf : "", len);
}

int objstore_del(struct objstore *s, const char *key)
{
	int r = objstore_enter(s, "del", key, true);

	return r < 0 ? r : s->ops->del(s, key);
}

int objstore_check(struct objstore *s)
{
	unsigned char rnd[8];
	char key[64];
	int r = objstore_enter(s, "put", "efsfs-probe", true);
	FILE *f;

	if (r < 0)
		return r;
	/* a name of its own per call: two mounts probing one store do not meet */
	f = fopen("/dev/urandom", "re");
	if (!f || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
		r = -EIO;
		objstore_set_error(s, "%s: /dev/urandom: %s", s->url, strerror(errno ? errno : EIO));
	}
	if (f)
		fclose(f);
	if (r < 0)
		return r;
	snprintf(key, sizeof(key), "efsfs-probe/%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (s->ops->check)
		return s->ops->check(s, key);
	r = s->ops->put(s, key, "efsfs probe\n", 12);
	if (r == 0)
		r = s->ops->del(s, key);
	return r;
}

int objstore_create(struct objstore *s)
{
	char why[ERR_LEN];
	int r;

	objstore_clear_error(s);
	r = s->ops->create ? s->ops->create(s) : 0;
	if (r != -EEXIST)
		return r;
	/* stores that say "exists" also to its owner: ours when it takes our writes */
	snprintf(why, sizeof(why), "%s", objstore_strerror(s));
	if (objstore_check(s) == 0)
		return 0;
	objstore_set_error(s, "%s", why);
	return -EEXIST;
}

int objstore_list(struct objstore *s, const char *prefix, objstore_list_cb cb, void *arg)
{
	int r = objstore_enter(s, "list", prefix, false);

	if (r < 0)
		return r;
	if (!cb) {
		objstore_set_error(s, "LIST %s: no callback", s->url);
		return -EINVAL;
	}
	return s->ops->list(s, prefix ? prefix : "", cb, arg);
}
