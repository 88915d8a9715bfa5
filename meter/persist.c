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
};

static int set_body(struct meta *md, void *arg)
{
	return meta_set_kv(md, STATE_KEY, ((struct kv *)arg)->value);
}

int meter_load(struct meter *m, struct fs *fs)
{
	char buf[128];
	int r;

	/* a read, outside a transaction: a read-only open (stats of an
	 * unmounted file system) takes no transaction */
	fs_meta_lock(fs);
	r = meta_get_kv(fs_meta(fs), STATE_KEY, buf, sizeof(buf));
	fs_meta_unlock(fs);
	if (r == -ENOENT)
		return 0;              /* a new file system: EFS's starting balance */
	if (r < 0)
		return r;
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
