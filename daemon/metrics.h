/* metrics.h - the meter of a mounted file system in the daemon: its clock,
 * its thread (the credit accounting once a second, StorageBytes every
 * METRICS_STORAGE_S seconds, the credit state saved every minute) and the
 * Prometheus endpoint (metrics_listen, served by libmicrohttpd).  See
 * metrics.c. */
#ifndef EFSFS_METRICS_H
#define EFSFS_METRICS_H

#include <stdint.h>

#include "backend/fs.h"
#include "meter/meter.h"

#define METRICS_STORAGE_S 30
#define METRICS_SAVE_S    60
/* EFSFS_METER_TEST_CLOCK=1 in the daemon's environment: the meter's clock
 * is realtime plus an offset that the control command "meter-advance
 * SECONDS" moves (for tests; refused otherwise). */
#define METRICS_TEST_CLOCK_ENV "EFSFS_METER_TEST_CLOCK"

struct metrics;

/* The meter of fs (its modes from fs_conf(fs)), with its saved credit
 * state loaded, and its thread; the endpoint when metrics_listen is set.
 * err: one sentence naming the cause. */
int metrics_start(struct fs *fs, struct metrics **ret, char *err, size_t errlen);
/* Stops the endpoint and the thread and saves the credit state.  NULL ok. */
void metrics_stop(struct metrics *mx);
struct meter *metrics_meter(struct metrics *mx);
/* Brings the meter's StorageBytes and credit state up to date now. */
int metrics_refresh(struct fs *fs, struct meter *m);
/* Test clock: moves it on by secs; -EPERM without METRICS_TEST_CLOCK_ENV. */
int metrics_advance(struct metrics *mx, int64_t secs);

#endif
