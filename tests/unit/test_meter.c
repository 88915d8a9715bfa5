/* test_meter.c - the meter (meter/): the 4 KiB minimum, the 1/3 read
 * factor, bursting credits earned and spent over a simulated day with an
 * injected clock, provisioned vs baseline, the generalPurpose IOPS limits,
 * the token bucket's delays, the credit state across a reopen of the file
 * system, and the three outputs. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "meter/meter.h"
#include "testdir.h"
#include "testfs.h"

#define S 1000000000ll

static int64_t fake_ns;

static int64_t fake_now(void *arg)
{
	return *(int64_t *)arg;
}

static const struct meter_clock fake = { fake_now, &fake_ns };

static struct conf *mode_conf(enum conf_throughput_mode mode, double mibps,
			      enum conf_perf_mode perf)
{
	static struct conf c;

	memset(&c, 0, sizeof(c));
	c.throughput_mode = mode;
	c.provisioned_throughput_mibps = mibps;
	c.performance_mode = perf;
	return &c;
}

static struct meter *new_meter(enum conf_throughput_mode mode, double mibps,
			       enum conf_perf_mode perf)
{
	struct meter *m;

	fake_ns = 1000 * S;
	ck_assert_int_eq(meter_new(mode_conf(mode, mibps, perf), "fs-0123456789abcdef0", &fake,
				   &m), 0);
	return m;
}

START_TEST(test_min_and_read_factor)
{
	struct meter *m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE);
	struct meter_values v;

	meter_charge(m, METER_WRITE, 1);            /* 4 KiB */
	meter_charge(m, METER_WRITE, 8192);         /* 8 KiB */
	meter_charge(m, METER_READ, 3 * 4096);      /* 12 KiB / 3 = 4 KiB */
	meter_charge(m, METER_READ, 100);           /* 4 KiB / 3 */
	meter_read(m, &v);
	ck_assert_uint_eq(v.data_write, 8193);
	ck_assert_uint_eq(v.data_read, 3 * 4096 + 100);
	ck_assert_uint_eq(v.metered, 4096 + 8192 + 4096 + (4096 + 2) / 3);
	ck_assert_uint_eq(v.total, 8193 + 3 * 4096 + 100);
	meter_meta(m, METER_READ);
	meter_meta(m, METER_WRITE);
	meter_read(m, &v);
	ck_assert_uint_eq(v.metadata, 2 * METER_META_IO);
	ck_assert_uint_eq(v.total, 8193 + 3 * 4096 + 100 + 2 * METER_META_IO);
	ck_assert_uint_eq(v.read_ops, 3);
	ck_assert_uint_eq(v.write_ops, 3);
	meter_free(m);

	/* elastic: reads are not divided, and nothing is throttled */
	m = new_meter(CONF_TP_ELASTIC, 0, CONF_PERF_GENERAL_PURPOSE);
	ck_assert(!meter_throttles(m));
	meter_charge(m, METER_READ, 3 * 4096);
	meter_read(m, &v);
	ck_assert_uint_eq(v.metered, 3 * 4096);
	ck_assert(v.permitted == (double)METER_ELASTIC_WRITE_BPS);
	meter_free(m);
}
END_TEST

/* A day of a 100 GiB Standard file system: baseline 5000 KiB/s, burst
 * 100 MiB/s.  Idle it earns, at 100 MiB/s it spends 100 MiB/s - baseline
 * a second, and at zero it drops to the baseline. */
START_TEST(test_credits_day)
{
	struct meter *m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE);
	struct meter_storage st = { .total = 100 * METER_GIB, .standard = 100 * METER_GIB };
	struct meter_values v;
	double baseline = 100 * 50 * 1024.0, start;
	int64_t sec;

	meter_set_storage(m, &st);
	meter_tick(m);
	meter_read(m, &v);
	ck_assert(v.credits == (double)METER_CREDIT_START);
	ck_assert(v.baseline == baseline);
	ck_assert(v.burst == 100.0 * METER_MIB);
	ck_assert(v.permitted == 100.0 * METER_MIB);
	/* full: idling earns nothing above the maximum */
	fake_ns += 3600 * S;
	meter_tick(m);
	meter_read(m, &v);
	ck_assert(v.credits == (double)METER_CREDIT_START);

	/* an hour at 100 MiB/s of writes, in 1 MiB operations */
	start = v.credits;
	for (sec = 0; sec < 3600; sec++) {
		for (int i = 0; i < 100; i++)
			meter_charge(m, METER_WRITE, METER_MIB);
		fake_ns += S;
		meter_tick(m);
	}
	meter_read(m, &v);
	ck_assert_double_eq_tol(v.credits, start - 3600 * (100.0 * METER_MIB - baseline), 1.0);
	ck_assert(v.permitted == 100.0 * METER_MIB);

	/* run it dry: spend everything at once, and the permitted rate is the
	 * baseline until credits come back */
	for (int i = 0; i < 2200; i++)
		meter_charge(m, METER_WRITE, METER_GIB);
	fake_ns += S;
	meter_tick(m);
	meter_read(m, &v);
	ck_assert(v.credits == 0);
	ck_assert(v.permitted == baseline);

	/* 23 idle hours earn baseline * seconds */
	for (sec = 0; sec < 23 * 3600; sec += 60) {
		fake_ns += 60 * S;
		meter_tick(m);
	}
	meter_read(m, &v);
	ck_assert_double_eq_tol(v.credits, baseline * 23 * 3600, 1.0);
	ck_assert(v.permitted == 100.0 * METER_MIB);
	meter_free(m);
}
END_TEST

START_TEST(test_rates)
{
	ck_assert(meter_baseline_bps(0) == (double)METER_MIB);
	ck_assert(meter_baseline_bps(10 * METER_GIB) == (double)METER_MIB);   /* 500 KiB/s < min */
	ck_assert(meter_baseline_bps(METER_TIB) == 50.0 * METER_MIB);
	ck_assert(meter_burst_bps(METER_GIB) == 100.0 * METER_MIB);
	ck_assert(meter_burst_bps(4 * METER_TIB) == 400.0 * METER_MIB);
	ck_assert(meter_credit_max(METER_GIB) == (double)METER_CREDIT_START);
	ck_assert(meter_credit_max(2 * METER_TIB) == 2.0 * METER_CREDIT_PER_TIB);
}
END_TEST

START_TEST(test_provisioned_vs_baseline)
{
	struct meter *m = new_meter(CONF_TP_PROVISIONED, 10, CONF_PERF_GENERAL_PURPOSE);
	struct meter_storage st = { .standard = 100 * METER_GIB };
	struct meter_values v;

	ck_assert(meter_throttles(m));
	meter_tick(m);
	meter_read(m, &v);
	ck_assert(v.permitted == 10.0 * METER_MIB);
	/* 1 TiB of Standard: baseline 50 MiB/s beats 10 provisioned */
	st.standard = METER_TIB;
	meter_set_storage(m, &st);
	meter_tick(m);
	meter_read(m, &v);
	ck_assert(v.permitted == 50.0 * METER_MIB);
	meter_free(m);
}
END_TEST

/* The bucket: at 10 MiB/s, 100 MiB of writes are admitted over 9.9 s (the
 * bucket holds 0.1 s); a read of 3 MiB costs as a write of 1 MiB. */
START_TEST(test_bucket_delays)
{
	struct meter *m = new_meter(CONF_TP_PROVISIONED, 10, CONF_PERF_GENERAL_PURPOSE);
	int64_t t0 = fake_ns, wait = 0;
	struct meter_values v;

	for (int i = 0; i < 100; i++) {
		wait = meter_charge(m, METER_WRITE, METER_MIB);
		ck_assert(wait >= 0);
	}
	/* nothing ran in between (the fake clock stood): the last one waits
	 * for the whole 100 MiB at 10 MiB/s, less the bucket's depth */
	ck_assert_int_eq(wait, 10 * S - METER_BUCKET_NS);
	fake_ns = t0 + 20 * S;          /* long idle: the bucket is full again */
	ck_assert_int_eq(meter_charge(m, METER_WRITE, METER_MIB / 2), 0);
	fake_ns = t0 + 40 * S;
	wait = meter_charge(m, METER_READ, 3 * METER_MIB);       /* 1 MiB metered */
	ck_assert_int_eq(wait, S / 10 - METER_BUCKET_NS);
	meter_read(m, &v);
	ck_assert_uint_eq(v.delayed_ops, 99);
	meter_free(m);
}
END_TEST

START_TEST(test_iops_limits)
{
	struct meter *m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE);
	struct meter_values v;
	int64_t wait = 0;

	meter_read(m, &v);
	ck_assert_uint_eq(v.read_iops_limit, 35000);
	ck_assert_uint_eq(v.write_iops_limit, 7000);
	/* 14,000 small writes at once: the IOPS bucket (7,000 a second) makes
	 * the last wait 2 s less the bucket's depth; the bytes (56 MiB at
	 * 100 MiB/s) would make it 0.46 s */
	for (int i = 0; i < 14000; i++)
		wait = meter_charge(m, METER_WRITE, 1);
	ck_assert_int_ge(wait, 2 * S - METER_BUCKET_NS - S / 1000);
	ck_assert_int_le(wait, 2 * S - METER_BUCKET_NS);
	fake_ns += S;
	meter_tick(m);
	meter_read(m, &v);
	ck_assert(v.percent_io_limit == 100.0);       /* 14,000 / 7,000, capped */
	fake_ns += S;
	for (int i = 0; i < 3500; i++)
		meter_meta(m, METER_WRITE);
	fake_ns += S;
	meter_tick(m);
	meter_read(m, &v);
	ck_assert_double_eq_tol(v.percent_io_limit, 25.0, 0.01);   /* 3500 in 2 s of 7000/s */
	meter_free(m);

	m = new_meter(CONF_TP_PROVISIONED, 1, CONF_PERF_GENERAL_PURPOSE);
	meter_read(m, &v);
	ck_assert_uint_eq(v.read_iops_limit, 55000);
	ck_assert_uint_eq(v.write_iops_limit, 25000);
	meter_free(m);
	m = new_meter(CONF_TP_ELASTIC, 0, CONF_PERF_GENERAL_PURPOSE);
	meter_read(m, &v);
	ck_assert_uint_eq(v.read_iops_limit, 250000);
	ck_assert_uint_eq(v.write_iops_limit, 50000);
	meter_free(m);
	/* maxIO: no operations limit */
	m = new_meter(CONF_TP_ELASTIC, 0, CONF_PERF_MAX_IO);
	for (int i = 0; i < 100000; i++)
		ck_assert_int_eq(meter_charge(m, METER_WRITE, 1), 0);
	meter_read(m, &v);
	ck_assert_uint_eq(v.write_iops_limit, 0);
	meter_free(m);
}
END_TEST

START_TEST(test_state_text)
{
	struct meter *m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE), *m2;
	struct meter_values v;
	char buf[128];

	for (int i = 0; i < 1000; i++)
		meter_charge(m, METER_WRITE, METER_GIB);
	fake_ns += S;
	meter_tick(m);
	ck_assert_int_eq(meter_state_text(m, buf, sizeof(buf)), 0);
	meter_read(m, &v);
	ck_assert(v.credits < (double)METER_CREDIT_START - 999.0 * METER_GIB);
	/* an hour later a new meter takes the state and adds an hour of
	 * baseline (1 MiB/s at this size) */
	fake_ns += 3600 * S;
	ck_assert_int_eq(meter_new(mode_conf(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE),
				   "fs-x", &fake, &m2), 0);
	ck_assert_int_eq(meter_restore_text(m2, buf), 0);
	meter_read(m2, &v);
	ck_assert(v.credits > 0);
	{
		struct meter_values v1;

		meter_read(m, &v1);
		ck_assert_double_eq_tol(v.credits, v1.credits + 3600.0 * METER_MIB, 2.0);
	}
	ck_assert_int_eq(meter_restore_text(m2, "credits=abc at=1"), -EINVAL);
	ck_assert_int_eq(meter_restore_text(m2, "credits=-1 at=1"), -EINVAL);
	ck_assert_int_eq(meter_restore_text(m2, "credits=1 at=1 x"), -EINVAL);
	meter_free(m);
	meter_free(m2);
}
END_TEST

/* meter_save / meter_load through the file system's metadata, across a
 * close and reopen. */
START_TEST(test_persist_reopen)
{
	static const struct fs_ctx ctx = { 0, 0 };
	char dir[4096];
	struct conf *c = tfs_make("[t]\ndata_dir = @TMP@/fs\nthroughput_mode = bursting\n", &ctx,
				  1 << 20, dir, sizeof(dir), NULL, NULL);
	struct fs *fs = tfs_open(c, NULL);
	struct meter *m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE);
	struct meter_values v;

	ck_assert_int_eq(meter_load(m, fs), 0);           /* none yet: the start */
	meter_read(m, &v);
	ck_assert(v.credits == (double)METER_CREDIT_START);
	for (int i = 0; i < 2000; i++)
		meter_charge(m, METER_WRITE, METER_GIB);
	ck_assert_int_eq(meter_save(m, fs), 0);
	fs_close(fs);
	meter_free(m);

	fs = tfs_open(c, NULL);
	m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE);
	ck_assert_int_eq(meter_load(m, fs), 0);
	meter_read(m, &v);
	ck_assert_double_eq_tol(v.credits, (double)METER_CREDIT_START - 2000.0 * METER_GIB, 2.0);
	fs_close(fs);
	meter_free(m);
	conf_free(c);
}
END_TEST

/* The history: a day of one-minute datapoints with the fake clock, the
 * statistics of get-metric-statistics over hours, the counters summed per
 * minute (a second record in the same minute adds), the gauges, pruning
 * after 16 days, and the errors of bad options. */
START_TEST(test_history)
{
	static const struct fs_ctx ctx = { 0, 0 };
	char dir[4096], err[512], *buf = NULL;
	size_t len = 0;
	struct conf *c = tfs_make("[t]\ndata_dir = @TMP@/fs\nthroughput_mode = bursting\n", &ctx,
				  1 << 20, dir, sizeof(dir), NULL, NULL);
	struct fs *fs = tfs_open(c, NULL);
	struct meter *m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE);
	struct meter_hist h = { 0 };
	int64_t t0 = 1798761600;                 /* 2027-01-01T00:00:00Z */
	FILE *f;

	fake_ns = t0 * S;
	meter_tick(m);
	ck_assert_int_eq(meter_history_record(m, &h, fs), 0);      /* the start: 0 bytes */
	/* 2 hours: each minute 1 MiB written in two halves, one record each */
	for (int i = 0; i < 120; i++) {
		meter_charge(m, METER_WRITE, METER_MIB / 2);
		fake_ns += 20 * S;
		ck_assert_int_eq(meter_history_record(m, &h, fs), 0);
		meter_charge(m, METER_WRITE, METER_MIB / 2);
		fake_ns += 40 * S;
		ck_assert_int_eq(meter_history_record(m, &h, fs), 0);
	}
	/* the first record of a minute lands in it: minute i holds the
	 * second half of minute i-1's writes and the first half of its own */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(meter_history_get(fs, "DataWriteIOBytes", NULL, t0, t0 + 7200, 3600,
					   (unsigned)(meter_parse_statistic("Sum") |
						      meter_parse_statistic("SampleCount") |
						      meter_parse_statistic("Maximum")),
					   f, err, sizeof(err)), 0);
	fclose(f);
	ck_assert_msg(strstr(buf, "\"Label\": \"DataWriteIOBytes\""), "%s", buf);
	ck_assert_msg(strstr(buf, "\"Timestamp\": \"2027-01-01T00:00:00Z\",\n"
			      "            \"SampleCount\": 60.0,\n"
			      "            \"Sum\": 62390272.0,\n"   /* 59.5 MiB: minute 0 has 0.5 */
			      "            \"Maximum\": 1048576.0,\n"
			      "            \"Unit\": \"Bytes\""), "%s", buf);
	ck_assert_msg(strstr(buf, "\"Timestamp\": \"2027-01-01T01:00:00Z\",\n"
			      "            \"SampleCount\": 60.0,\n"
			      "            \"Sum\": 62914560.0,"), "%s", buf);
	free(buf);
	buf = NULL;
	/* a gauge, with the StorageClass dimension: nothing stored here */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(meter_history_get(fs, "StorageBytes", "Standard", t0, t0 + 600, 60,
					   (unsigned)meter_parse_statistic("Average"), f, err,
					   sizeof(err)), 0);
	fclose(f);
	ck_assert_msg(strstr(buf, "\"Average\": 0.0,"), "%s", buf);
	free(buf);
	buf = NULL;
	/* bad options */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(meter_history_get(fs, "StorageBytes", NULL, t0, t0 + 60, 60, 4, f, err,
					   sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--dimensions Name=StorageClass"));
	ck_assert_int_eq(meter_history_get(fs, "NoSuchMetric", NULL, t0, t0 + 60, 60, 4, f, err,
					   sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unknown metric name 'NoSuchMetric'"));
	ck_assert_int_eq(meter_history_get(fs, "TotalIOBytes", NULL, t0, t0 + 60, 90, 4, f, err,
					   sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "multiple of 60"));
	ck_assert_int_eq(meter_history_get(fs, "TotalIOBytes", NULL, t0 + 60, t0, 60, 4, f, err,
					   sizeof(err)), -EINVAL);
	fclose(f);
	free(buf);
	buf = NULL;
	ck_assert_int_eq(meter_parse_statistic("Median"), -EINVAL);
	/* 16 days later the first two hours are pruned */
	fake_ns += (int64_t)METER_HISTORY_KEEP_S * S + 3600 * S;
	ck_assert_int_eq(meter_history_record(m, &h, fs), 0);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(meter_history_get(fs, "DataWriteIOBytes", NULL, t0, t0 + 7200, 3600, 4,
					   f, err, sizeof(err)), 0);
	fclose(f);
	ck_assert_msg(strstr(buf, "\"Datapoints\": []"), "%s", buf);
	free(buf);
	fs_close(fs);
	meter_free(m);
	conf_free(c);
}
END_TEST

static char *capture(void (*print)(const struct meter_values *, FILE *),
		     const struct meter_values *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	print(v, f);
	fclose(f);
	return buf;
}

START_TEST(test_outputs)
{
	struct meter *m = new_meter(CONF_TP_BURSTING, 0, CONF_PERF_GENERAL_PURPOSE);
	struct meter_storage st = { .total = 5, .standard = 5 };
	struct meter_values v;
	char *s;

	meter_set_storage(m, &st);
	meter_charge(m, METER_WRITE, 123);
	meter_set_connections(m, 2);
	meter_tick(m);
	meter_read(m, &v);
	s = capture(meter_print_text, &v);
	ck_assert_ptr_nonnull(strstr(s, "DataWriteIOBytes: 123\n"));
	ck_assert_ptr_nonnull(strstr(s, "MeteredIOBytes: 4096\n"));
	ck_assert_ptr_nonnull(strstr(s, "ClientConnections: 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "StorageBytes{StorageClass=Standard}: 5\n"));
	ck_assert_ptr_nonnull(strstr(s, "ThroughputMode: bursting\n"));
	free(s);
	s = capture(meter_print_json, &v);
	ck_assert_ptr_nonnull(strstr(s, "\"DataWriteIOBytes\": 123,"));
	ck_assert_ptr_nonnull(strstr(s, "\"StorageBytes\": {\"Total\": 5, \"Standard\": 5,"));
	free(s);
	s = capture(meter_print_prometheus, &v);
	ck_assert_ptr_nonnull(strstr(s, "# TYPE efsfs_data_write_io_bytes_total counter\n"
				     "efsfs_data_write_io_bytes_total{file_system_id="
				     "\"fs-0123456789abcdef0\"} 123\n"));
	ck_assert_ptr_nonnull(strstr(s, "efsfs_storage_bytes{file_system_id=\"fs-0123456789abcdef0"
				     "\",storage_class=\"Standard\"} 5\n"));
	free(s);
	meter_free(m);
}
END_TEST

static Suite *meter_suite(void)
{
	Suite *s = suite_create("meter");
	TCase *tc = tcase_create("meter");

	tcase_add_test(tc, test_min_and_read_factor);
	tcase_add_test(tc, test_credits_day);
	tcase_add_test(tc, test_rates);
	tcase_add_test(tc, test_provisioned_vs_baseline);
	tcase_add_test(tc, test_bucket_delays);
	tcase_add_test(tc, test_iops_limits);
	tcase_add_test(tc, test_state_text);
	tcase_add_test(tc, test_persist_reopen);
	tcase_add_test(tc, test_outputs);
	tcase_add_test(tc, test_history);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(meter_suite);
