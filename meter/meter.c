/* meter.c - the meter of one file system (meter.h says what it counts and
 * which EFS rules it follows).
 *
 * Locks: the counters, the bucket's next-free times, the published rate
 * (rate_bps), the standard bytes and client_connections are atomics,
 * touched without a lock.  lock guards the credit state (credits, tick_ns,
 * tick_metered, tick_ops_*), percent, permitted and storage; mode, perf,
 * provisioned, fs_id and clk are set by meter_new and immutable after.
 *
 * The bucket: next_ns is the time at which what was admitted so far has
 * been paid for at the permitted rate.  An operation costs
 * metered_bytes / rate seconds; it pushes next_ns on (never to less than
 * now - METER_BUCKET_NS, the bucket's depth) and waits until next_ns is
 * within now.  One compare-and-swap per data operation, no lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meter/meter.h"

struct meter {
	enum conf_throughput_mode mode;
	enum conf_perf_mode perf;
	double provisioned;             /* bytes/s */
	char fs_id[32];
	struct meter_clock clk;
	bool throttles;

	_Atomic uint64_t data_read, data_write, meta_read, meta_write, metered;
	_Atomic uint64_t read_ops, write_ops, meta_ops, pt_opens;
	_Atomic uint64_t delayed_ops, delay_ns;
	_Atomic int64_t connections;
	_Atomic uint64_t standard;
	_Atomic uint64_t rate_bps;      /* the bucket's rate: PermittedThroughput */
	_Atomic int64_t next_ns;        /* the throughput bucket */
	_Atomic int64_t ops_next_ns;    /* the data operations' IOPS bucket */
	_Atomic uint64_t read_iops, write_iops;   /* 0: no limit */

	pthread_mutex_t lock;
	double credits;
	int64_t tick_ns;
	uint64_t tick_metered, tick_rops, tick_wops;
	double percent, permitted;
	struct meter_storage storage;
};

static int64_t real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(const struct meter *m)
{
	return m->clk.now_ns ? m->clk.now_ns(m->clk.arg) : real_now();
}

int64_t meter_test_clock_now(void *arg)
{
	struct meter_test_clock *c = arg;

	return real_now() + atomic_load(&c->offset_ns);
}

void meter_test_advance(struct meter_test_clock *c, int64_t ns)
{
	atomic_fetch_add(&c->offset_ns, ns);
}

double meter_baseline_bps(uint64_t standard)
{
	double b = (double)standard / METER_GIB * METER_BASELINE_PER_GIB;

	return b < METER_BASELINE_MIN ? METER_BASELINE_MIN : b;
}

double meter_burst_bps(uint64_t standard)
{
	double b = (double)standard / METER_TIB * METER_BURST_PER_TIB;

	return b < METER_BURST_MIN ? METER_BURST_MIN : b;
}

double meter_credit_max(uint64_t standard)
{
	double c = (double)standard / METER_TIB * METER_CREDIT_PER_TIB;

	return standard <= METER_TIB ? (double)METER_CREDIT_START : c;
}

static void iops_limits(enum conf_throughput_mode mode, enum conf_perf_mode perf,
			uint64_t *r, uint64_t *w)
{
	*r = *w = 0;
	if (perf == CONF_PERF_MAX_IO)
		return;
	switch (mode) {
	case CONF_TP_BURSTING:
		*r = 35000, *w = 7000;
		break;
	case CONF_TP_PROVISIONED:
		*r = 55000, *w = 25000;
		break;
	case CONF_TP_ELASTIC:
		*r = 250000, *w = 50000;
		break;
	}
}

/* The permitted throughput for the state now; under lock. */
static double permitted_locked(struct meter *m)
{
	uint64_t std = atomic_load(&m->standard);

	switch (m->mode) {
	case CONF_TP_BURSTING:
		return m->credits > 0 ? meter_burst_bps(std) : meter_baseline_bps(std);
	case CONF_TP_PROVISIONED:
		return fmax(m->provisioned, meter_baseline_bps(std));
	case CONF_TP_ELASTIC:
		break;
	}
	return (double)METER_ELASTIC_WRITE_BPS;
}

int meter_new(const struct conf *conf, const char *fs_id, const struct meter_clock *clk,
	      struct meter **ret)
{
	struct meter *m = calloc(1, sizeof(*m));
	uint64_t r, w;

	if (!m)
		return -ENOMEM;
	m->mode = conf->throughput_mode;
	m->perf = conf->performance_mode;
	m->provisioned = conf->provisioned_throughput_mibps * METER_MIB;
	m->throttles = m->mode != CONF_TP_ELASTIC;
	snprintf(m->fs_id, sizeof(m->fs_id), "%s", fs_id ? fs_id : "");
	if (clk)
		m->clk = *clk;
	pthread_mutex_init(&m->lock, NULL);
	iops_limits(m->mode, m->perf, &r, &w);
	atomic_store(&m->read_iops, r);
	atomic_store(&m->write_iops, w);
	m->credits = (double)METER_CREDIT_START;
	m->tick_ns = now_ns(m);
	m->permitted = permitted_locked(m);
	atomic_store(&m->rate_bps, (uint64_t)m->permitted);
	atomic_store(&m->next_ns, INT64_MIN / 2);
	atomic_store(&m->ops_next_ns, INT64_MIN / 2);
	*ret = m;
	return 0;
}

void meter_free(struct meter *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

bool meter_throttles(const struct meter *m)
{
	return m && m->throttles;
}

/* Takes cost ns from bucket b at now: the wait, 0 when none. */
static int64_t bucket_take(_Atomic int64_t *b, int64_t now, int64_t cost)
{
	int64_t old = atomic_load_explicit(b, memory_order_relaxed), start, next;

	do {
		start = old < now - METER_BUCKET_NS ? now - METER_BUCKET_NS : old;
		next = start + cost;
	} while (!atomic_compare_exchange_weak_explicit(b, &old, next, memory_order_relaxed,
							memory_order_relaxed));
	return next > now ? next - now : 0;
}

/* What an operation of bytes counts in MeteredIOBytes. */
static uint64_t metered_bytes(const struct meter *m, enum meter_dir dir, uint64_t bytes)
{
	if (bytes < METER_MIN_IO)
		bytes = METER_MIN_IO;
	if (dir == METER_READ && m->throttles)
		bytes = (bytes + 2) / 3;
	return bytes;
}

int64_t meter_charge(struct meter *m, enum meter_dir dir, uint64_t bytes)
{
	uint64_t mb, limit;
	int64_t wait = 0, w, now = 0;

	if (!m)
		return 0;
	mb = metered_bytes(m, dir, bytes);
	atomic_fetch_add_explicit(dir == METER_READ ? &m->data_read : &m->data_write, bytes,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(dir == METER_READ ? &m->read_ops : &m->write_ops, 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->metered, mb, memory_order_relaxed);
	limit = atomic_load_explicit(dir == METER_READ ? &m->read_iops : &m->write_iops,
				     memory_order_relaxed);
	if (m->throttles || limit)
		now = now_ns(m);
	if (m->throttles) {
		uint64_t rate = atomic_load_explicit(&m->rate_bps, memory_order_relaxed);

		if (rate)
			wait = bucket_take(&m->next_ns, now, (int64_t)((double)mb * 1e9 / rate));
	}
	if (limit) {
		/* reads and writes share one bucket, each op costing 1/limit
		 * of its kind's second */
		w = bucket_take(&m->ops_next_ns, now, (int64_t)(1000000000 / limit));
		if (w > wait)
			wait = w;
	}
	if (wait > 0) {
		atomic_fetch_add_explicit(&m->delayed_ops, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&m->delay_ns, (uint64_t)wait, memory_order_relaxed);
	}
	return wait;
}

void meter_io(struct meter *m, enum meter_dir dir, uint64_t bytes)
{
	int64_t wait = meter_charge(m, dir, bytes);
	struct timespec ts;

	if (wait <= 0)
		return;
	ts.tv_sec = wait / 1000000000;
	ts.tv_nsec = wait % 1000000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void meter_io_done(struct meter *m, enum meter_dir dir, uint64_t asked, int64_t done)
{
	uint64_t d = done < 0 ? 0 : (uint64_t)done;

	if (!m || d >= asked)
		return;
	atomic_fetch_sub_explicit(dir == METER_READ ? &m->data_read : &m->data_write, asked - d,
				  memory_order_relaxed);
	atomic_fetch_sub_explicit(&m->metered, metered_bytes(m, dir, asked) -
				  metered_bytes(m, dir, d), memory_order_relaxed);
}

void meter_meta(struct meter *m, enum meter_dir dir)
{
	if (!m)
		return;
	atomic_fetch_add_explicit(dir == METER_READ ? &m->meta_read : &m->meta_write,
				  METER_META_IO, memory_order_relaxed);
	atomic_fetch_add_explicit(dir == METER_READ ? &m->read_ops : &m->write_ops, 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->meta_ops, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->metered, metered_bytes(m, dir, METER_META_IO),
				  memory_order_relaxed);
}

void meter_passthrough_open(struct meter *m)
{
	if (m)
		atomic_fetch_add_explicit(&m->pt_opens, 1, memory_order_relaxed);
}

void meter_set_connections(struct meter *m, int64_t n)
{
	if (m)
		atomic_store(&m->connections, n);
}

void meter_set_storage(struct meter *m, const struct meter_storage *st)
{
	pthread_mutex_lock(&m->lock);
	m->storage = *st;
	atomic_store(&m->standard, st->standard);
	pthread_mutex_unlock(&m->lock);
}

/* Advances the credit state to now; under lock. */
static void tick_locked(struct meter *m, int64_t now)
{
	uint64_t metered = atomic_load(&m->metered);
	uint64_t rops = atomic_load(&m->read_ops), wops = atomic_load(&m->write_ops);
	uint64_t std = atomic_load(&m->standard), rl, wl;
	double dt = now > m->tick_ns ? (double)(now - m->tick_ns) / 1e9 : 0, max;

	if (m->mode == CONF_TP_BURSTING) {
		max = meter_credit_max(std);
		m->credits += meter_baseline_bps(std) * dt - (double)(metered - m->tick_metered);
		if (m->credits < 0)
			m->credits = 0;
		if (m->credits > max)
			m->credits = max;
	}
	rl = atomic_load(&m->read_iops);
	wl = atomic_load(&m->write_iops);
	if (dt > 0 && rl && wl) {
		double pr = (double)(rops - m->tick_rops) / dt / (double)rl;
		double pw = (double)(wops - m->tick_wops) / dt / (double)wl;

		m->percent = fmin(100.0, 100.0 * fmax(pr, pw));
	}
	if (now > m->tick_ns)
		m->tick_ns = now;
	m->tick_metered = metered;
	m->tick_rops = rops;
	m->tick_wops = wops;
	m->permitted = permitted_locked(m);
	atomic_store(&m->rate_bps, (uint64_t)m->permitted);
}

void meter_tick(struct meter *m)
{
	int64_t now = now_ns(m);

	pthread_mutex_lock(&m->lock);
	tick_locked(m, now);
	pthread_mutex_unlock(&m->lock);
}

void meter_read(struct meter *m, struct meter_values *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->file_system_id, sizeof(v->file_system_id), "%s", m->fs_id);
	v->mode = m->mode;
	v->perf = m->perf;
	v->data_read = atomic_load(&m->data_read);
	v->data_write = atomic_load(&m->data_write);
	v->meta_read = atomic_load(&m->meta_read);
	v->meta_write = atomic_load(&m->meta_write);
	v->metadata = v->meta_read + v->meta_write;
	v->total = v->data_read + v->data_write + v->metadata;
	v->metered = atomic_load(&m->metered);
	v->read_ops = atomic_load(&m->read_ops);
	v->write_ops = atomic_load(&m->write_ops);
	v->meta_ops = atomic_load(&m->meta_ops);
	v->passthrough_opens = atomic_load(&m->pt_opens);
	v->delayed_ops = atomic_load(&m->delayed_ops);
	v->delay_ns = atomic_load(&m->delay_ns);
	v->client_connections = atomic_load(&m->connections);
	v->read_iops_limit = atomic_load(&m->read_iops);
	v->write_iops_limit = atomic_load(&m->write_iops);
	pthread_mutex_lock(&m->lock);
	v->permitted = m->permitted;
	v->percent_io_limit = m->percent;
	v->credits = m->credits;
	v->storage = m->storage;
	v->now_ns = m->tick_ns;
	pthread_mutex_unlock(&m->lock);
	v->baseline = meter_baseline_bps(v->storage.standard);
	v->burst = meter_burst_bps(v->storage.standard);
}

int meter_state_text(struct meter *m, char *buf, size_t len)
{
	int n;

	pthread_mutex_lock(&m->lock);
	n = snprintf(buf, len, "credits=%.0f at=%" PRId64, m->credits, m->tick_ns);
	pthread_mutex_unlock(&m->lock);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int meter_restore_text(struct meter *m, const char *text)
{
	double credits;
	int64_t at;
	int end = 0;

	if (sscanf(text, "credits=%lf at=%" SCNd64 "%n", &credits, &at, &end) != 2 ||
	    text[end] || !(credits >= 0))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	m->credits = credits;
	/* from the saved time to now the file system earned at its baseline,
	 * spending nothing: tick_locked does that accounting */
	if (at < m->tick_ns)
		m->tick_ns = at;
	tick_locked(m, now_ns(m));
	pthread_mutex_unlock(&m->lock);
	return 0;
}
