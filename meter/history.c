/* history.c - the meter's one-minute datapoints in the file system's own
 * metadata (the metric table of schema 4, backend/meta.h), and the
 * statistics `efsfs metrics get` computes from them the way CloudWatch's
 * GetMetricStatistics does: datapoints of PERIOD seconds from START, each
 * with the Sum, Average, Minimum, Maximum and SampleCount of the one-minute
 * values in it.
 *
 * A counter (the *IOBytes) is recorded as the bytes of its minute; a gauge
 * (PermittedThroughput, BurstCreditBalance, PercentIOLimit,
 * ClientConnections, StorageBytes per class) as its value at the minute's
 * end.  SampleCount is the number of one-minute datapoints (CloudWatch
 * counts operations for the *IOBytes: see README).  Minutes older than
 * METER_HISTORY_KEEP_S are pruned, once an hour.
 *
 * struct meter_hist is the recorder's own (the daemon's meter thread):
 * no lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/layer.h"
#include "meter/meter.h"

enum { H_COUNTER, H_GAUGE };

struct hmetric {
	const char *name;
	const char *unit;
	int kind;
	size_t off;            /* in struct meter_values: uint64_t for counters, see value() */
	int type;              /* 0 uint64, 1 double, 2 int64 */
};

#define HU(n, f) { n, "Bytes", H_COUNTER, offsetof(struct meter_values, f), 0 }
static const struct hmetric hmetrics[METER_HIST_N] = {
	HU("DataReadIOBytes", data_read),
	HU("DataWriteIOBytes", data_write),
	HU("MetadataReadIOBytes", meta_read),
	HU("MetadataWriteIOBytes", meta_write),
	HU("MetadataIOBytes", metadata),
	HU("TotalIOBytes", total),
	HU("MeteredIOBytes", metered),
	{ "PermittedThroughput", "Bytes/Second", H_GAUGE, offsetof(struct meter_values, permitted),
	  1 },
	{ "BurstCreditBalance", "Bytes", H_GAUGE, offsetof(struct meter_values, credits), 1 },
	{ "PercentIOLimit", "Percent", H_GAUGE, offsetof(struct meter_values, percent_io_limit),
	  1 },
	{ "ClientConnections", "Count", H_GAUGE,
	  offsetof(struct meter_values, client_connections), 2 },
	{ "StorageBytes:Total", "Bytes", H_GAUGE, offsetof(struct meter_values, storage.total), 0 },
	{ "StorageBytes:Standard", "Bytes", H_GAUGE,
	  offsetof(struct meter_values, storage.standard), 0 },
	{ "StorageBytes:IA", "Bytes", H_GAUGE, offsetof(struct meter_values, storage.ia), 0 },
	{ "StorageBytes:IASizeOverhead", "Bytes", H_GAUGE,
	  offsetof(struct meter_values, storage.ia_overhead), 0 },
	{ "StorageBytes:Archive", "Bytes", H_GAUGE,
	  offsetof(struct meter_values, storage.archive), 0 },
	{ "StorageBytes:ArchiveSizeOverhead", "Bytes", H_GAUGE,
	  offsetof(struct meter_values, storage.archive_overhead), 0 },
};

static double value(const struct hmetric *h, const struct meter_values *v)
{
	const char *p = (const char *)v + h->off;

	return h->type == 0 ? (double)*(const uint64_t *)p :
	       h->type == 1 ? *(const double *)p : (double)*(const int64_t *)p;
}

struct first {
	double v;
	bool got;
};

static int first_cb(int64_t minute, double v, void *arg)
{
	struct first *f = arg;

	f->v = v;
	f->got = true;
	return 1;
}

struct rec {
	struct meter_hist *h;
	const struct meter_values *v;
	int64_t minute;
	bool new_minute, prune;
	double acc[METER_HIST_N];     /* the minute's counters, for h after the commit */
};

static int record_body(struct meta *md, void *arg)
{
	struct rec *t = arg;
	struct meter_hist *h = t->h;
	int r;

	for (size_t i = 0; i < METER_HIST_N; i++) {
		const struct hmetric *d = &hmetrics[i];
		double x = value(d, t->v);

		if (d->kind == H_COUNTER) {
			double delta = h->have_last ? x - value(d, &h->last) : 0;

			/* the body may run again (meta_txn): h changes after the commit */
			t->acc[i] = h->acc[i];
			if (t->new_minute) {
				/* what an earlier daemon recorded in this minute stays */
				struct first f = { 0, false };

				r = meta_metric_each(md, d->name, t->minute, t->minute + 60, first_cb,
						     &f);
				if (r < 0)
					return r;
				t->acc[i] = f.got ? f.v : 0;
			}
			t->acc[i] += delta > 0 ? delta : 0;
			x = t->acc[i];
		}
		r = meta_metric_put(md, d->name, t->minute, x);
		if (r < 0)
			return r;
	}
	if (t->prune)
		return meta_metric_prune(md, t->minute - METER_HISTORY_KEEP_S);
	return 0;
}

int meter_history_record(struct meter *m, struct meter_hist *h, struct fs *fs)
{
	struct meter_values v;
	struct rec t = { .h = h, .v = &v };
	int r;

	meter_tick(m);
	meter_read(m, &v);
	t.minute = v.now_ns / 1000000000 / 60 * 60;
	t.new_minute = !h->have_minute || h->minute != t.minute;
	t.prune = t.minute - h->pruned >= 3600;
	r = fs_txn(fs, record_body, &t);
	if (r < 0)
		return r;
	memcpy(h->acc, t.acc, sizeof(h->acc));
	h->minute = t.minute;
	h->have_minute = true;
	if (t.prune)
		h->pruned = t.minute;
	h->last = v;
	h->have_last = true;
	return 0;
}

int meter_history_find(const char *name, const char *storage_class, char *ret, size_t len,
		       const char **ret_unit)
{
	char full[96];

	if (strcmp(name, "StorageBytes") == 0) {
		if (!storage_class)
			return -EDESTADDRREQ;
		snprintf(full, sizeof(full), "StorageBytes:%s", storage_class);
	} else {
		if (storage_class)
			return -EINVAL;
		snprintf(full, sizeof(full), "%s", name);
	}
	for (size_t i = 0; i < METER_HIST_N; i++) {
		if (strcmp(hmetrics[i].name, full) == 0) {
			snprintf(ret, len, "%s", full);
			*ret_unit = hmetrics[i].unit;
			return 0;
		}
	}
	return -ENOENT;
}

struct bucket {
	double sum, min, max;
	uint64_t n;
};

struct query {
	int64_t start, period;
	size_t nb;
	struct bucket *b;
};

static int query_cb(int64_t minute, double v, void *arg)
{
	struct query *q = arg;
	size_t i = (size_t)((minute - q->start) / q->period);
	struct bucket *b;

	if (i >= q->nb)
		return 0;
	b = &q->b[i];
	if (!b->n || v < b->min)
		b->min = v;
	if (!b->n || v > b->max)
		b->max = v;
	b->sum += v;
	b->n++;
	return 0;
}

static void print_number(FILE *out, double x)
{
	if (x == floor(x) && fabs(x) < 1e15)
		fprintf(out, "%.1f", x);
	else
		fprintf(out, "%.17g", x);
}

int meter_history_get(struct fs *fs, const char *name, const char *storage_class,
		      int64_t start, int64_t end, int64_t period, unsigned stats, FILE *out,
		      char *err, size_t errlen)
{
	static const char *const stat_names[] = { "SampleCount", "Average", "Sum", "Minimum",
						  "Maximum" };
	struct query q = { .start = start, .period = period };
	const char *unit;
	char full[96];
	bool any = false;
	int r;

	r = meter_history_find(name, storage_class, full, sizeof(full), &unit);
	if (r == -EDESTADDRREQ) {
		snprintf(err, errlen, "StorageBytes needs --dimensions Name=StorageClass,Value=CLASS "
			 "(Total, Standard, IA, IASizeOverhead, Archive or ArchiveSizeOverhead)");
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen, r == -EINVAL ? "%s has no StorageClass dimension" :
			 "unknown metric name '%s' (efsfs records DataReadIOBytes, "
			 "DataWriteIOBytes, MetadataReadIOBytes, MetadataWriteIOBytes, "
			 "MetadataIOBytes, TotalIOBytes, MeteredIOBytes, PermittedThroughput, "
			 "BurstCreditBalance, PercentIOLimit, ClientConnections and "
			 "StorageBytes)", name);
		return -EINVAL;
	}
	if (period < 60 || period % 60) {
		snprintf(err, errlen, "--period %" PRId64 ": a multiple of 60 seconds (the "
			 "datapoints are one-minute)", period);
		return -EINVAL;
	}
	if (end <= start) {
		snprintf(err, errlen, "--end-time must be later than --start-time");
		return -EINVAL;
	}
	if ((end - start) / period >= 1440 * 20) {
		snprintf(err, errlen, "the range holds more than %d periods of %" PRId64 " s",
			 1440 * 20, period);
		return -EINVAL;
	}
	q.nb = (size_t)((end - start + period - 1) / period);
	q.b = calloc(q.nb, sizeof(*q.b));
	if (!q.b)
		return -ENOMEM;
	fs_meta_lock(fs);
	r = meta_metric_each(fs_meta(fs), full, start, end, query_cb, &q);
	fs_meta_unlock(fs);
	if (r == -ENOENT)
		r = 0;            /* a schema-3 database read-only: no history yet */
	if (r < 0) {
		snprintf(err, errlen, "reading the history: %s", strerror(-r));
		free(q.b);
		return r;
	}
	fprintf(out, "{\n    \"Label\": \"%s\",\n    \"Datapoints\": [", name);
	for (size_t i = 0; i < q.nb; i++) {
		const struct bucket *b = &q.b[i];
		time_t t = (time_t)(start + (int64_t)i * period);
		struct tm tm;
		char ts[32];

		if (!b->n)
			continue;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(out, "%s\n        {\n            \"Timestamp\": \"%s\",", any ? "," : "", ts);
		for (unsigned s = 0; s < 5; s++) {
			double x;

			if (!(stats & (1u << s)))
				continue;
			x = s == 0 ? (double)b->n : s == 1 ? b->sum / (double)b->n :
			    s == 2 ? b->sum : s == 3 ? b->min : b->max;
			fprintf(out, "\n            \"%s\": ", stat_names[s]);
			print_number(out, x);
			fputc(',', out);
		}
		fprintf(out, "\n            \"Unit\": \"%s\"\n        }", unit);
		any = true;
	}
	fprintf(out, "%s]\n}\n", any ? "\n    " : "");
	free(q.b);
	return 0;
}

int meter_parse_statistic(const char *s)
{
	static const char *const names[] = { "SampleCount", "Average", "Sum", "Minimum",
					     "Maximum" };

	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return 1 << i;
	return -EINVAL;
}
