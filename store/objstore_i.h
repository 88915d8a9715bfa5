/* objstore_i.h - internals shared by objstore.c and the drivers (objstore_file.c,
 * objstore_s3.c): the layout of struct objstore, the driver entry points and the error
 * helper.  Not for use outside backend/ except by the unit tests (test_objstore.c,
 * test_lifecycle.c), which reach into a store to inject faults.
 */
#ifndef EFSFS_OBJSTORE_I_H
#define EFSFS_OBJSTORE_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/objstore.h"

/* Injected fault (objstore_inject_fault): every field written and read under
 * objstore.fault_lock. */
struct objstore_fault {
	char op[8];                 /* "get", "put", "del", "list", "*"; "" = none */
	unsigned left;              /* matching calls until the one that fails (1 = next) */
	int err;                    /* positive errno */
	bool sticky;
	bool fired;                 /* the nth call has failed; sticky faults keep failing */
};

struct objstore {
	const struct objstore_ops *ops;     /* set by the driver's open; immutable after */
	char *url;                          /* as given to objstore_open; immutable */
	void *priv;                         /* driver state; the driver guards its own fields */
	pthread_mutex_t fault_lock;
	struct objstore_fault fault;        /* written and read under fault_lock */
	atomic_uint_fast64_t got_bytes;     /* bytes get and get_range returned; atomic */
};

/* Driver open functions: fill s->ops and s->priv from the part of the URL after
 * "scheme://", or return -errno with the reason in err. */
int objstore_file_open(struct objstore *s, const char *rest, const struct objstore_conf *conf,
                       char *err, size_t errlen);
int objstore_s3_open(struct objstore *s, const char *rest, const struct objstore_conf *conf,
                     char *err, size_t errlen);

/* Writes the error text into err (nothing when err is NULL or errlen 0). */
void objstore_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True when key is a valid object key: non-empty, no leading '/', no empty, "." or ".."
 * component.  Checked by the wrappers for every driver. */
bool objstore_key_valid(const char *key);

/* Test knob: ListObjectsV2 max-keys of an s3 store (0 = server default of 1000).
 * Returns -EINVAL when s is not an s3 store. */
int objstore_s3_set_page_size(struct objstore *s, unsigned max_keys);
/* Test knob: the most ListObjectsV2 pages one list may take before it fails (-EIO), so a
 * store that never ends a listing cannot keep a caller forever (0 = default 1000000). */
int objstore_s3_set_max_pages(struct objstore *s, unsigned max_pages);

#endif
