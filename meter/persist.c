/* persist.c - the meter's credit state in the file system's own metadata
 * (the fs table's key "meter_state", through backend/layer.h): loaded when
 * the daemon opens the file system, saved once a minute and at unmount, so
 * that BurstCreditBalance survives a remount and keeps earning while
 * unmounted.  No state of its own.
 */
#include <errno.h>

#include "backend/layer.h"
#include "meter/meter.h"

#define STATE_KEY "meter_state"

struct kv {
	const char *value;
	char *buf;
	size_t len;
	int got;
};

static int get_body(struct meta *md, void *arg)
{
	struct kv *t = arg;

	t->got = meta_get_kv(md, STATE_KEY, t->buf, t->len);
	return 1;          /* nothing to commit */
}

static int set_body(struct meta *md, void *arg)
{
	return meta_set_kv(md, STATE_KEY, ((struct kv *)arg)->value);
}

int meter_load(struct meter *m, struct fs *fs)
{
	char buf[128];
	struct kv t = { .buf = buf, .len = sizeof(buf) };
	int r = fs_txn(fs, get_body, &t);

	if (r < 0)
		return r;
	if (t.got == -ENOENT)
		return 0;              /* a new file system: EFS's starting balance */
	if (t.got < 0)
		return t.got;
	return meter_restore_text(m, buf);
}

int meter_save(struct meter *m, struct fs *fs)
{
	char buf[128];
	struct kv t = { .value = buf };
	int r;

	meter_tick(m);
	r = meter_state_text(m, buf, sizeof(buf));
	if (r < 0)
		return r;
	return fs_txn(fs, set_body, &t);
}
