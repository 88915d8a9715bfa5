/* metrics.c - the meter of a mounted file system (metrics.h): the meter's
 * thread and the Prometheus endpoint.
 *
 * The thread, once a second: meter_tick (credits, PermittedThroughput,
 * PercentIOLimit); every METRICS_STORAGE_S seconds StorageBytes from
 * tier_stats and, for Standard, the backing files' allocation
 * (fs_local_allocated: a walk, off the request path); every METRICS_SAVE_S seconds the
 * credit state into the metadata (meter_save), and once more at stop.
 *
 * The endpoint (metrics_listen): libmicrohttpd with its own polling
 * thread answers GET /metrics with meter_print_prometheus; anything else
 * 404, a method other than GET or HEAD 405.  Loopback only (conf.c
 * refuses other addresses); no authentication, as node_exporter.
 *
 * Locks: m, fs, httpd and thread are set by metrics_start and immutable
 * afterwards; stop is written and read under lock (cond signalled under
 * it); clock's offset is atomic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "daemon/metrics.h"
#include "tier/tier.h"

struct metrics {
	struct fs *fs;
	struct meter *m;
	struct meter_test_clock clock;
	struct meter_hist hist;    /* the thread's (and metrics_stop's after it) */
	bool test_clock;
	struct MHD_Daemon *httpd;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;                 /* under lock */
};

int metrics_refresh(struct fs *fs, struct meter *m)
{
	struct tier_stats st;
	struct meter_storage ms;
	uint64_t alloc;
	int r = tier_stats(fs, &st);

	if (r < 0)
		return r;
	/* Standard is no more than what the local data takes on the disk: a
	 * 10 GiB sparse file with one byte written is 4 KiB, not 10 GiB (and
	 * no more than the files' sizes: the last block is not rounded up) */
	r = fs_local_allocated(fs, &alloc);
	if (r < 0)
		return r;
	ms.standard = alloc < st.standard ? alloc : st.standard;
	ms.ia = st.ia;
	ms.ia_overhead = st.ia_overhead;
	ms.archive = st.archive;
	ms.archive_overhead = st.archive_overhead;
	ms.total = ms.standard + ms.ia + ms.ia_overhead + ms.archive + ms.archive_overhead;
	meter_set_storage(m, &ms);
	meter_tick(m);
	return 0;
}

static void *meter_thread(void *arg)
{
	struct metrics *mx = arg;
	const char *name = fs_conf(mx->fs)->name;
	struct timespec next;
	unsigned n = 0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&mx->lock);
	while (!mx->stop) {
		next.tv_sec++;
		while (!mx->stop && pthread_cond_timedwait(&mx->cond, &mx->lock, &next) != ETIMEDOUT)
			;
		if (mx->stop)
			break;
		pthread_mutex_unlock(&mx->lock);
		n++;
		if (n % METRICS_STORAGE_S == 0) {
			r = metrics_refresh(mx->fs, mx->m);
			if (r < 0)
				log_warn("%s: meter: storage bytes: %s", name, strerror(-r));
		} else {
			meter_tick(mx->m);
		}
		if (n % METRICS_SAVE_S == 0 && !fs_read_only(mx->fs)) {
			r = meter_save(mx->m, mx->fs);
			if (r < 0)
				log_warn("%s: meter: saving the burst credit balance: %s", name,
					 strerror(-r));
			r = meter_history_record(mx->m, &mx->hist, mx->fs);
			if (r < 0)
				log_warn("%s: meter: recording the minute's datapoints: %s", name,
					 strerror(-r));
		}
		pthread_mutex_lock(&mx->lock);
	}
	pthread_mutex_unlock(&mx->lock);
	return NULL;
}

static enum MHD_Result answer(void *arg, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct metrics *mx = arg;
	struct MHD_Response *resp;
	struct meter_values v;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		body = strdup("only GET /metrics\n");
	} else if (strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		body = strdup("not found: the metrics are at /metrics\n");
	} else if ((f = open_memstream(&body, &len))) {
		meter_tick(mx->m);
		meter_read(mx->m, &v);
		meter_print_prometheus(&v, f);
		if (fclose(f) != 0) {
			free(body);
			body = NULL;
		}
	}
	if (!body)
		return MHD_NO;          /* out of memory: the connection is closed */
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8" :
				"text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* "127.0.0.1:9464", "localhost:9464", "[::1]:9464" (conf.c checked the form). */
static int start_httpd(struct metrics *mx, const char *listen, char *err, size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	const char *colon = strrchr(listen, ':');
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	struct sockaddr *sa;
	char host[64];
	int port = atoi(colon + 1);

	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (strcmp(host, "[::1]") == 0) {
		sin6.sin6_port = htons((uint16_t)port);
		sin6.sin6_addr = in6addr_loopback;
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		sin.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
			      &sin.sin_addr) != 1) {
			snprintf(err, errlen, "metrics_listen %s: not an address", listen);
			return -EINVAL;
		}
		sa = (struct sockaddr *)&sin;
	}
	errno = 0;
	mx->httpd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, mx,
				     MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT, 16u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!mx->httpd) {
		int e = errno ? errno : EADDRINUSE;

		snprintf(err, errlen, "metrics_listen %s: cannot listen: %s", listen, strerror(e));
		return -e;
	}
	return 0;
}

int metrics_start(struct fs *fs, struct metrics **ret, char *err, size_t errlen)
{
	const struct conf *conf = fs_conf(fs);
	struct metrics *mx = calloc(1, sizeof(*mx));
	struct meter_clock clk = { meter_test_clock_now, NULL };
	const char *t = getenv(METRICS_TEST_CLOCK_ENV);
	int r;

	if (!mx)
		return -ENOMEM;
	mx->fs = fs;
	mx->test_clock = t && strcmp(t, "1") == 0;
	clk.arg = &mx->clock;
	pthread_mutex_init(&mx->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&mx->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	r = meter_new(conf, fs_id(fs), mx->test_clock ? &clk : NULL, &mx->m);
	if (r < 0) {
		snprintf(err, errlen, "meter: %s", strerror(-r));
		goto fail;
	}
	r = meter_load(mx->m, fs);
	if (r < 0)
		log_warn("%s: meter: the saved burst credit balance is unreadable (%s); starting "
			 "from EFS's initial balance", conf->name, strerror(-r));
	r = metrics_refresh(fs, mx->m);
	if (r < 0)
		log_warn("%s: meter: storage bytes: %s", conf->name, strerror(-r));
	/* the first minute's datapoint: the gauges at mount, counters from 0 */
	if (!fs_read_only(fs) && (r = meter_history_record(mx->m, &mx->hist, fs)) < 0)
		log_warn("%s: meter: recording the minute's datapoints: %s", conf->name,
			 strerror(-r));
	r = -pthread_create(&mx->thread, NULL, meter_thread, mx);
	if (r < 0) {
		snprintf(err, errlen, "meter thread: %s", strerror(-r));
		goto fail;
	}
	mx->thread_started = true;
	if (conf->metrics_listen) {
		r = start_httpd(mx, conf->metrics_listen, err, errlen);
		if (r < 0)
			goto fail;
		log_info("%s: metrics at http://%s/metrics", conf->name, conf->metrics_listen);
	}
	*ret = mx;
	return 0;
fail:
	metrics_stop(mx);
	return r;
}

void metrics_stop(struct metrics *mx)
{
	int r;

	if (!mx)
		return;
	if (mx->httpd)
		MHD_stop_daemon(mx->httpd);
	if (mx->thread_started) {
		pthread_mutex_lock(&mx->lock);
		mx->stop = true;
		pthread_cond_signal(&mx->cond);
		pthread_mutex_unlock(&mx->lock);
		pthread_join(mx->thread, NULL);
	}
	if (mx->m && mx->thread_started && !fs_read_only(mx->fs)) {
		r = meter_save(mx->m, mx->fs);
		if (r < 0)
			log_warn("%s: meter: saving the burst credit balance: %s",
				 fs_conf(mx->fs)->name, strerror(-r));
		r = meter_history_record(mx->m, &mx->hist, mx->fs);
		if (r < 0)
			log_warn("%s: meter: recording the minute's datapoints: %s",
				 fs_conf(mx->fs)->name, strerror(-r));
	}
	meter_free(mx->m);
	pthread_cond_destroy(&mx->cond);
	pthread_mutex_destroy(&mx->lock);
	free(mx);
}

struct meter *metrics_meter(struct metrics *mx)
{
	return mx ? mx->m : NULL;
}

int metrics_advance(struct metrics *mx, int64_t secs)
{
	if (!mx || !mx->test_clock)
		return -EPERM;
	meter_test_advance(&mx->clock, secs * 1000000000);
	meter_tick(mx->m);
	return 0;
}
