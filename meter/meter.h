/* meter.h - the meter of one file system: EFS's CloudWatch counters
 * (DataReadIOBytes, DataWriteIOBytes, MetadataIOBytes, TotalIOBytes,
 * MeteredIOBytes, ClientConnections, StorageBytes per class), the
 * throughput modes (elastic, bursting with burst credits, provisioned) and
 * the performance modes (generalPurpose with its operations-per-second
 * limits, maxIO), and the token bucket that delays data I/O once the
 * permitted throughput is used up.  Data I/O is delayed, never failed;
 * metadata operations are counted and never delayed.
 *
 * The numbers (AWS EFS user guide, performance and metrics pages, 2025):
 *   bursting: baseline 50 KiB/s per GiB of Standard (at least 1 MiB/s),
 *     burst 100 MiB/s per TiB of Standard (at least 100 MiB/s), while the
 *     burst credit balance is above zero; the balance earns the baseline
 *     rate and spends the metered rate, starts at 2.1 TiB and holds at
 *     most 2.1 TiB, or 2.1 TiB per TiB of Standard above 1 TiB.
 *   provisioned: PermittedThroughput = max(provisioned, baseline).
 *   elastic: not throttled; PermittedThroughput reports the per-file-system
 *     write maximum (METER_ELASTIC_WRITE_BPS).
 *   MeteredIOBytes: each operation counts at least 4 KiB; in bursting and
 *     provisioned modes reads count at one third.
 *   generalPurpose IOPS: bursting 35,000 read / 7,000 write, provisioned
 *     55,000 / 25,000, elastic 250,000 / 50,000 (the defaults on frequently
 *     accessed data); maxIO: no limit (and no PercentIOLimit).
 *
 * The clock is injectable (struct meter_clock) so that tests run a day of
 * credit accounting at once.  Times are wall-clock nanoseconds (realtime),
 * so that the balance saved in the metadata keeps earning while unmounted.
 *
 * Threads: the counters are atomics, bumped without a lock on the request
 * path (meter_io, meter_meta).  The credit state and the derived rates are
 * written by meter_tick under m->lock (the daemon's meter thread calls it
 * once a second); the rates the bucket reads are published as atomics.
 */
#ifndef EFSFS_METER_H
#define EFSFS_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/conf.h"

#define METER_KIB 1024ull
#define METER_MIB (1024ull * 1024)
#define METER_GIB (1024ull * 1024 * 1024)
#define METER_TIB (1024ull * 1024 * 1024 * 1024)

#define METER_MIN_IO          (4 * METER_KIB)            /* per operation */
#define METER_META_IO         (4 * METER_KIB)            /* a metadata operation */
#define METER_BASELINE_PER_GIB (50 * METER_KIB)          /* bytes/s */
#define METER_BASELINE_MIN    METER_MIB
#define METER_BURST_PER_TIB   (100 * METER_MIB)
#define METER_BURST_MIN       (100 * METER_MIB)
#define METER_CREDIT_START    (21 * METER_TIB / 10)      /* 2.1 TiB */
#define METER_CREDIT_PER_TIB  (21 * METER_TIB / 10)
#define METER_ELASTIC_WRITE_BPS (5 * METER_GIB)          /* the largest regions' */
/* The bucket's depth: how far ahead of the permitted rate a burst may run
 * before it is delayed. */
#define METER_BUCKET_NS       100000000ll                /* 0.1 s */

enum meter_dir { METER_READ, METER_WRITE };

struct meter_clock {
	int64_t (*now_ns)(void *arg);   /* NULL: CLOCK_REALTIME */
	void *arg;
};

/* StorageBytes, as EFS reports it per StorageClass. */
struct meter_storage {
	uint64_t total, standard, ia, ia_overhead, archive, archive_overhead;
};

/* What the meter reports (meter_read). */
struct meter_values {
	char file_system_id[32];                 /* a copy: the values outlive the meter */
	enum conf_throughput_mode mode;
	enum conf_perf_mode perf;
	uint64_t data_read, data_write;          /* DataReadIOBytes, DataWriteIOBytes */
	uint64_t meta_read, meta_write;          /* MetadataReadIOBytes, MetadataWriteIOBytes */
	uint64_t metadata;                       /* MetadataIOBytes */
	uint64_t total;                          /* TotalIOBytes */
	uint64_t metered;                        /* MeteredIOBytes */
	uint64_t read_ops, write_ops, meta_ops;  /* operations counted */
	uint64_t passthrough_opens;              /* handles whose data I/O is not counted */
	uint64_t delayed_ops, delay_ns;          /* the bucket's delays */
	int64_t client_connections;              /* ClientConnections */
	double permitted;                        /* PermittedThroughput, bytes/s */
	double baseline, burst;                  /* bytes/s (bursting) */
	double percent_io_limit;                 /* PercentIOLimit, % (generalPurpose) */
	double credits;                          /* BurstCreditBalance, bytes */
	uint64_t read_iops_limit, write_iops_limit;   /* 0: none (maxIO) */
	struct meter_storage storage;
	int64_t now_ns;
};

struct meter;

/* A meter for a file system with conf's modes and id fs_id; clk NULL: the
 * real clock.  Starts with EFS's starting credit balance (meter_restore
 * replaces it). */
int meter_new(const struct conf *conf, const char *fs_id, const struct meter_clock *clk,
	      struct meter **ret);
void meter_free(struct meter *m);         /* accepts NULL */

/* Whether this meter throttles data I/O (bursting, provisioned): such files
 * stay off passthrough, where the daemon could not see their bytes. */
bool meter_throttles(const struct meter *m);

/* A data read or write of bytes: counts it and returns how long the caller
 * must wait (ns, 0 for none) before it goes on.  meter_io does the wait. */
int64_t meter_charge(struct meter *m, enum meter_dir dir, uint64_t bytes);
void meter_io(struct meter *m, enum meter_dir dir, uint64_t bytes);
/* After an operation that meter_io counted as `asked` bytes did `done`
 * (a short read at the end of the file, a failed write): takes the
 * difference back from the counters (not from the bucket). */
void meter_io_done(struct meter *m, enum meter_dir dir, uint64_t asked, int64_t done);
/* One metadata request (a lookup, getattr, readdir are reads; create,
 * setattr, rename, unlink, ... writes): counted, never delayed.  m NULL:
 * nothing. */
void meter_meta(struct meter *m, enum meter_dir dir);
/* A handle opened with passthrough: its data I/O is not seen. */
void meter_passthrough_open(struct meter *m);
/* ClientConnections: the daemon sets the number of live sessions. */
void meter_set_connections(struct meter *m, int64_t n);
/* StorageBytes and the Standard bytes that baseline and burst follow. */
void meter_set_storage(struct meter *m, const struct meter_storage *st);

/* Advances the credit accounting to the clock's now and recomputes the
 * permitted throughput and PercentIOLimit.  Cheap; call about once a second. */
void meter_tick(struct meter *m);
void meter_read(struct meter *m, struct meter_values *ret);

/* The credit state to persist (meter_save_text) and to restore at the next
 * open: "credits=BYTES at=NS".  restore accrues the time in between. */
int meter_state_text(struct meter *m, char *buf, size_t len);
int meter_restore_text(struct meter *m, const char *text);

/* The credit state in the file system's metadata (persist.c): load at
 * open (a missing state: a new file system's starting balance), save once
 * a minute and at close.  0 or -errno. */
struct fs;
int meter_load(struct meter *m, struct fs *fs);
int meter_save(struct meter *m, struct fs *fs);

/* The history (history.c): one-minute datapoints in the metric table of
 * the file system's metadata, kept METER_HISTORY_KEEP_S (at least the 15
 * days of CloudWatch's one-minute resolution). */
#define METER_HISTORY_KEEP_S (16 * 86400)
#define METER_HIST_N 17
struct meter_hist {              /* the recorder's state: one thread, no lock */
	struct meter_values last;
	bool have_last, have_minute;
	int64_t minute, pruned;
	double acc[METER_HIST_N];     /* the counters' bytes of this minute so far */
};
/* Records the minute the meter's clock is in (counters: the bytes since
 * the last call, added to the minute's; gauges: now); prunes once an hour. */
int meter_history_record(struct meter *m, struct meter_hist *h, struct fs *fs);
/* GetMetricStatistics over [start, end) in periods of `period` seconds (a
 * multiple of 60), printed as the AWS CLI's JSON; stats: a mask of
 * meter_parse_statistic's bits.  storage_class: the StorageClass dimension
 * (StorageBytes only).  err: the bad option, as the CLI names it. */
int meter_history_get(struct fs *fs, const char *name, const char *storage_class,
		      int64_t start, int64_t end, int64_t period, unsigned stats, FILE *out,
		      char *err, size_t errlen);
/* "SampleCount", "Average", "Sum", "Minimum", "Maximum": its bit; -EINVAL. */
int meter_parse_statistic(const char *s);
/* The stored name and unit of a metric; -ENOENT unknown, -EDESTADDRREQ
 * StorageBytes without a class, -EINVAL a class for another metric. */
int meter_history_find(const char *name, const char *storage_class, char *ret, size_t len,
		       const char **ret_unit);

/* The test clock: realtime plus an offset that meter_test_advance moves.
 * Only used when the daemon runs with EFSFS_METER_TEST_CLOCK=1. */
struct meter_test_clock {
	_Atomic int64_t offset_ns;
};
int64_t meter_test_clock_now(void *arg);
void meter_test_advance(struct meter_test_clock *c, int64_t ns);

/* The rates of a mode for Standard bytes (also for the tests). */
double meter_baseline_bps(uint64_t standard);
double meter_burst_bps(uint64_t standard);
double meter_credit_max(uint64_t standard);

/* Output: `efsfs stats` text (every metric with its CloudWatch name), JSON,
 * and Prometheus text exposition. */
void meter_print_text(const struct meter_values *v, FILE *out);
void meter_print_json(const struct meter_values *v, FILE *out);
void meter_print_prometheus(const struct meter_values *v, FILE *out);

#endif
