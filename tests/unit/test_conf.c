/* tests/unit/test_conf.c - unit tests of common/conf.c: every error names
 * file:line:key, defaults, [defaults] merging, %n, quoting and comments, path
 * resolution ($EFSFS_CONFIG, missing files), conf_list, conf_parse_transition;
 * and of common/ini.c, the INI reader under it (strict and lenient mode), and
 * of common/buf.c and common/size.c. */
#include "common/conf.h"
#include "tests/unit/testdir.h"
#include "common/buf.h"
#include "common/ini.h"
#include "common/size.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>

static void env_reset(void)
{
	unsetenv("EFSFS_CONFIG");
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", test_dir, 1);
}

/* Writes text into a new file under test_dir; returns its malloc'd path. */
static char *write_conf(const char *text)
{
	char *path;
	FILE *fp;
	int fd;

	ck_assert_int_ge(asprintf(&path, "%s/efsfs-XXXXXX.conf", test_dir), 0);
	fd = mkstemps(path, 5);
	ck_assert_msg(fd >= 0, "mkstemps %s: %s", path, strerror(errno));
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	return path;
}

/* Loads `name` from a config made of text; expects success. */
static struct conf *load_ok(const char *text, const char *name)
{
	char err[1024] = "";
	struct conf *c = NULL;
	char *path = write_conf(text);
	int r = conf_load(path, name, &c, err, sizeof(err));

	ck_assert_msg(r == 0, "conf_load(%s) = %d: %s\n--- config:\n%s", name, r, err, text);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->source, path);
	ck_assert_str_eq(c->name, name);
	free(path);
	return c;
}

/* Loads `name` from text; expects -EINVAL and an error that starts with
 * "FILE:LINE: KEY: " (or "FILE:LINE: " without key) and contains reason. */
static void load_fails(const char *text, const char *name, int line, const char *key,
                       const char *reason)
{
	char err[1024] = "";
	char prefix[4200];
	struct conf *c = NULL;
	char *path = write_conf(text);
	int r = conf_load(path, name, &c, err, sizeof(err));

	ck_assert_msg(r == -EINVAL, "conf_load = %d (want -EINVAL), err '%s'\n--- config:\n%s",
	              r, err, text);
	ck_assert_ptr_null(c);
	if (key)
		snprintf(prefix, sizeof(prefix), "%s:%d: %s: ", path, line, key);
	else
		snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	              "error '%s' does not start with '%s'\n--- config:\n%s", err, prefix, text);
	ck_assert_msg(strstr(err + strlen(prefix), reason) != NULL,
	              "error '%s' lacks '%s'\n--- config:\n%s", err, reason, text);
	free(path);
}

struct error_case {
	const char *text;
	const char *name;   /* file system to load */
	int line;
	const char *key;    /* NULL for line-level errors */
	const char *reason; /* substring expected after the prefix */
};

static const struct error_case error_cases[] = {
	/* syntax */
	{ "[dev]\nfoo = 1\n", "dev", 2, "foo", "unknown key" },
	{ "[dev]\nStatfs = efs\n", "dev", 2, "Statfs", "unknown key" },
	{ "[dev]\nstatfs = efs\n# x\nstatfs = local\n", "dev", 4, "statfs",
	  "duplicate key (first set at line 2)" },
	{ "# top\nstatfs = efs\n[dev]\n", "dev", 2, "statfs", "key outside any section" },
	{ "[dev]\njunk\n", "dev", 2, NULL, "malformed line (expected key = value)" },
	{ "[dev]\n = value\n", "dev", 2, NULL, "malformed line (expected key = value)" },
	{ "[dev]\nstat fs = efs\n", "dev", 2, NULL, "malformed line (expected key = value)" },
	{ "[dev\n", "dev", 1, NULL, "malformed section header" },
	{ "[dev] trailing\n", "dev", 1, NULL, "malformed section header" },
	{ "\n[.dev]\n", "dev", 2, NULL, "invalid file system name '.dev'" },
	{ "[-dev]\n", "dev", 1, NULL, "invalid file system name" },
	{ "[d/ev]\n", "dev", 1, NULL, "invalid file system name" },
	{ "[]\n", "dev", 1, NULL, "invalid file system name" },
	{ "[dev]\n[other]\n[dev]\n", "dev", 3, NULL, "duplicate section [dev] (first at line 1)" },
	{ "[defaults]\n[defaults]\n", "dev", 2, NULL, "duplicate section [defaults]" },
	{ "[dev]\nstatfs =\n", "dev", 2, "statfs", "empty value" },
	{ "[dev]\nstatfs = \"\"\n", "dev", 2, "statfs", "empty value" },
	{ "[dev]\nstatfs = \"efs\n", "dev", 2, "statfs", "unterminated quoted value" },
	{ "[dev]\nstatfs = \"efs\" local\n", "dev", 2, "statfs", "text after the closing quote" },
	/* an error in another file system's section is still an error */
	{ "[dev]\n[other]\nstatfs = ext4\n", "dev", 3, "statfs", "unknown value 'ext4'" },
	{ "[other]\nthroughput_mode = provisioned\n[dev]\n", "dev", 1,
	  "provisioned_throughput_in_mibps", "required when throughput_mode = provisioned" },
	/* values */
	{ "[dev]\nencrypted = maybe\n", "dev", 2, "encrypted", "invalid boolean 'maybe'" },
	{ "[dev]\nallow_other = 2\n", "dev", 2, "allow_other", "invalid boolean '2'" },
	{ "[dev]\nwriteback_cache = enabled\n", "dev", 2, "writeback_cache", "invalid boolean" },
	{ "[dev]\n\npassthrough = maybe\n", "dev", 3, "passthrough", "invalid boolean" },
	{ "[dev]\nchunk_size = 3M\n", "dev", 2, "chunk_size", "not a power of two" },
	{ "[dev]\nchunk_size = 32K\n", "dev", 2, "chunk_size", "between 64K and 64M" },
	{ "[dev]\nchunk_size = 128M\n", "dev", 2, "chunk_size", "between 64K and 64M" },
	{ "[dev]\nchunk_size = 1G\n", "dev", 2, "chunk_size", "between 64K and 64M" },
	{ "[dev]\nchunk_size = 4X\n", "dev", 2, "chunk_size", "invalid size '4X'" },
	{ "[dev]\nchunk_size = -4M\n", "dev", 2, "chunk_size", "invalid size" },
	{ "[dev]\nchunk_size = 99999999999999999999999\n", "dev", 2, "chunk_size",
	  "invalid size" },
	{ "[dev]\nperformance_mode = generalpurpose\n", "dev", 2, "performance_mode",
	  "unknown value 'generalpurpose' (expected generalPurpose or maxIO)" },
	{ "[dev]\nperformance_mode = MaxIO\n", "dev", 2, "performance_mode", "unknown value" },
	{ "[dev]\nthroughput_mode = fast\n", "dev", 2, "throughput_mode", "unknown value 'fast'" },
	{ "[dev]\nthroughput_mode = provisioned\nprovisioned_throughput_in_mibps = 0\n", "dev", 3,
	  "provisioned_throughput_in_mibps", "from 1 to 3414" },
	{ "[dev]\nprovisioned_throughput_in_mibps = 3415\n", "dev", 2,
	  "provisioned_throughput_in_mibps", "from 1 to 3414" },
	{ "[dev]\nprovisioned_throughput_in_mibps = -5\n", "dev", 2,
	  "provisioned_throughput_in_mibps", "invalid value '-5'" },
	{ "[dev]\nprovisioned_throughput_in_mibps = 1e3\n", "dev", 2,
	  "provisioned_throughput_in_mibps", "invalid value '1e3'" },
	{ "[dev]\nprovisioned_throughput_mibps = 10\n", "dev", 2,
	  "provisioned_throughput_mibps", "unknown key" },
	{ "# c\n\n[dev]\nthroughput_mode = provisioned\n", "dev", 3,
	  "provisioned_throughput_in_mibps", "required when throughput_mode = provisioned" },
	{ "[defaults]\nthroughput_mode = provisioned\n# c\n[dev]\n", "dev", 4,
	  "provisioned_throughput_in_mibps", "required" },
	{ "# c\n[defaults]\nthroughput_mode = provisioned\n", "dev", 2,
	  "provisioned_throughput_in_mibps", "required" },
	{ "[dev]\ntransition_to_ia = AFTER_2_DAYS\n", "dev", 2, "transition_to_ia",
	  "unknown value 'AFTER_2_DAYS' (expected NONE, AFTER_1_DAY or "
	  "AFTER_{7,14,30,60,90,180,270,365}_DAYS)" },
	{ "[dev]\ntransition_to_ia = after_30_days\n", "dev", 2, "transition_to_ia",
	  "unknown value" },
	{ "[dev]\ntransition_to_archive = AFTER_1_DAYS\n", "dev", 2, "transition_to_archive",
	  "unknown value 'AFTER_1_DAYS'" },
	{ "[dev]\ntransition_to_ia = AFTER_90_DAYS\ntransition_to_archive = AFTER_30_DAYS\n",
	  "dev", 3, "transition_to_archive",
	  "AFTER_30_DAYS must be later than transition_to_ia (AFTER_90_DAYS)" },
	{ "[dev]\ntransition_to_archive = AFTER_60_DAYS\ntransition_to_ia = AFTER_60_DAYS\n",
	  "dev", 2, "transition_to_archive", "must be later than transition_to_ia" },
	{ "[dev]\n\ntransition_to_ia = AFTER_180_DAYS\n", "dev", 3, "transition_to_ia",
	  "AFTER_180_DAYS must be earlier than transition_to_archive (AFTER_90_DAYS, "
	  "the default)" },
	{ "[dev]\ntransition_to_archive = AFTER_14_DAYS\n", "dev", 2, "transition_to_archive",
	  "must be later than transition_to_ia (AFTER_30_DAYS, the default)" },
	{ "[defaults]\ntransition_to_archive = AFTER_60_DAYS\n[dev]\n"
	  "transition_to_ia = AFTER_90_DAYS\n", "dev", 4, "transition_to_ia",
	  "must be earlier than transition_to_archive (AFTER_60_DAYS)" },
	{ "[defaults]\ntransition_to_ia = AFTER_90_DAYS\n[dev]\n"
	  "transition_to_archive = AFTER_60_DAYS\n", "dev", 4, "transition_to_archive",
	  "must be later" },
	{ "[dev]\ntransition_to_primary_storage_class = AFTER_2_ACCESS\n", "dev", 2,
	  "transition_to_primary_storage_class",
	  "unknown value 'AFTER_2_ACCESS' (expected NONE or AFTER_1_ACCESS)" },
	{ "[dev]\nlifecycle_interval = 0\n", "dev", 2, "lifecycle_interval", "1 to 604800" },
	{ "[dev]\nlifecycle_interval = 604801\n", "dev", 2, "lifecycle_interval", "1 to 604800" },
	{ "[dev]\nlifecycle_interval = 1.5\n", "dev", 2, "lifecycle_interval", "invalid value" },
	{ "[dev]\nlifecycle_interval = 99999999999999999999\n", "dev", 2, "lifecycle_interval",
	  "invalid value" },
	{ "[dev]\nfuse_spin_us = 10001\n", "dev", 2, "fuse_spin_us", "0 to 10000" },
	{ "[dev]\nfuse_spin_us = -1\n", "dev", 2, "fuse_spin_us", "invalid value '-1'" },
	{ "[dev]\nfuse_spin_us = 50us\n", "dev", 2, "fuse_spin_us", "invalid value '50us'" },
	{ "[dev]\nfuse_uring = yes\n", "dev", 2, "fuse_uring",
	  "unknown value 'yes' (expected off, auto or on)" },
	{ "[dev]\nkey_file = etc/key\n", "dev", 2, "key_file", "not an absolute path" },
	{ "[dev]\nlog_file = efsfs.log\n", "dev", 2, "log_file", "not an absolute path" },
	{ "[dev]\ndata_dir = var/efsfs\n", "dev", 2, "data_dir", "not an absolute path" },
	{ "[dev]\ndata_dir = %n\n", "dev", 2, "data_dir", "'dev' is not an absolute path" },
	{ "[dev]\ndata_dir = /srv/%x\n", "dev", 2, "data_dir", "unknown escape '%x'" },
	{ "[dev]\ndata_dir = /srv/%\n", "dev", 2, "data_dir", "unknown escape" },
	{ "[defaults]\n\ndata_dir = /srv/efsfs\n[dev]\n", "dev", 3, "data_dir",
	  "in [defaults] must contain %n" },
	{ "[dev]\ndata_dir = /srv/shared\n[other]\ndata_dir = /srv/shared/\n", "dev", 4,
	  "data_dir", "[dev] and [other] would share the data directory '/srv/shared'" },
	{ "[dev]\nia_store = http://example.com/x\n", "dev", 2, "ia_store",
	  "unsupported URL 'http://example.com/x'" },
	{ "[dev]\nia_store = /srv/objects\n", "dev", 2, "ia_store", "unsupported URL" },
	{ "[dev]\nia_store = file://srv/objects\n", "dev", 2, "ia_store",
	  "must name an absolute path" },
	{ "[dev]\nia_store = s3://Bad_Bucket/x\n", "dev", 2, "ia_store",
	  "invalid bucket name 'Bad_Bucket'" },
	{ "[dev]\nia_store = s3://ab\n", "dev", 2, "ia_store", "invalid bucket name 'ab'" },
	{ "[dev]\nia_store = s3://\n", "dev", 2, "ia_store", "invalid bucket name" },
	{ "[dev]\nia_store = s3://192.168.1.1/x\n", "dev", 2, "ia_store", "invalid bucket name" },
	{ "[dev]\nia_store = s3://my..bucket\n", "dev", 2, "ia_store", "invalid bucket name" },
	{ "[dev]\nia_store = s3://-bucket\n", "dev", 2, "ia_store", "invalid bucket name" },
	{ "[dev]\nia_store = s3://bucket//x\n", "dev", 2, "ia_store", "empty path segment" },
	/* a 64-character bucket name */
	{ "[dev]\narchive_store = s3://"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "dev", 2, "archive_store", "invalid bucket name" },
	{ "[dev]\narchive_store = ftp://host/x\n", "dev", 2, "archive_store", "unsupported URL" },
	{ "[Upper]\nia_store = s3://bucket-%n\n", "Upper", 2, "ia_store",
	  "invalid bucket name 'bucket-Upper'" },
	{ "[dev]\narchive_storage_class = glacier\n", "dev", 2, "archive_storage_class",
	  "unknown storage class 'glacier'" },
	{ "[dev]\narchive_storage_class = REDUCED_REDUNDANCY\n", "dev", 2,
	  "archive_storage_class", "unknown storage class" },
	{ "[dev]\ns3_endpoint = ftp://minio:9000\n", "dev", 2, "s3_endpoint", "invalid endpoint" },
	{ "[dev]\ns3_endpoint = http://\n", "dev", 2, "s3_endpoint", "invalid endpoint" },
	{ "[dev]\ns3_endpoint = minio:9000\n", "dev", 2, "s3_endpoint", "invalid endpoint" },
	{ "[dev]\ns3_region = us east\n", "dev", 2, "s3_region", "invalid region" },
	{ "[dev]\ns3_url_style = host\n", "dev", 2, "s3_url_style",
	  "unknown value 'host' (expected path or virtual)" },
	{ "[dev]\ns3_ca_file = ca.pem\n", "dev", 2, "s3_ca_file", "not an absolute path" },
	{ "[dev]\ns3_profile = \"my profile\"\n", "dev", 2, "s3_profile", "white space" },
	{ "[dev]\ns3_access_key_id = AKIAEXAMPLE\n", "dev", 2, "s3_access_key_id",
	  "set without s3_secret_access_key" },
	{ "[defaults]\ns3_secret_access_key = abc\n[dev]\n", "dev", 2, "s3_secret_access_key",
	  "set without s3_access_key_id" },
	{ "[dev]\nattr_timeout = 3601\n", "dev", 2, "attr_timeout", "from 0 to 3600" },
	{ "[dev]\nattr_timeout = -1\n", "dev", 2, "attr_timeout", "invalid value '-1'" },
	{ "[dev]\nattr_timeout = 1.\n", "dev", 2, "attr_timeout", "invalid value" },
	{ "[dev]\nentry_timeout = inf\n", "dev", 2, "entry_timeout", "invalid value 'inf'" },
	{ "[dev]\nentry_timeout = 0x10\n", "dev", 2, "entry_timeout", "invalid value" },
	{ "[dev]\nnegative_timeout = 3601\n", "dev", 2, "negative_timeout", "from 0 to 3600" },
	{ "[dev]\nstatfs = ext4\n", "dev", 2, "statfs",
	  "unknown value 'ext4' (expected efs or local)" },
	{ "[dev]\ns3_connect_timeout = 0\n", "dev", 2, "s3_connect_timeout",
	  "invalid value '0' (expected seconds from 0.1 to 86400" },
	{ "[dev]\ns3_request_timeout = 1s\n", "dev", 2, "s3_request_timeout", "invalid value" },
	{ "[dev]\ns3_operation_timeout = 86401\n", "dev", 2, "s3_operation_timeout",
	  "from 0.1 to 86400" },
	{ "[dev]\ns3_low_speed_limit = fast\n", "dev", 2, "s3_low_speed_limit",
	  "expected bytes per second" },
	{ "[dev]\ns3_low_speed_limit = 2G\n", "dev", 2, "s3_low_speed_limit", "to 1G" },
	{ "[dev]\ns3_low_speed_time = 0\n", "dev", 2, "s3_low_speed_time", "from 1 to 3600" },
	{ "[dev]\ns3_low_speed_time = 1.5\n", "dev", 2, "s3_low_speed_time", "whole number" },
	/* the metrics endpoint listens on loopback only */
	{ "[dev]\nmetrics_listen = 0.0.0.0:9464\n", "dev", 2, "metrics_listen",
	  "invalid value '0.0.0.0:9464' (expected off, or a loopback address and port" },
	{ "[dev]\nmetrics_listen = 127.0.0.1\n", "dev", 2, "metrics_listen", "invalid value" },
	{ "[dev]\nmetrics_listen = 127.0.0.1:0\n", "dev", 2, "metrics_listen", "invalid value" },
	{ "[dev]\nmetrics_listen = 127.0.0.1:65536\n", "dev", 2, "metrics_listen",
	  "invalid value" },
	{ "[dev]\nmetrics_listen = 127.0.0.256:80\n", "dev", 2, "metrics_listen",
	  "invalid value" },
	{ "[dev]\nmetrics_listen = 10.0.0.1:80\n", "dev", 2, "metrics_listen", "invalid value" },
	/* errors in [defaults] are found even for a name with no section */
	{ "[defaults]\nstatfs = ext4\n", "absent", 2, "statfs", "unknown value" },
};

START_TEST(test_errors)
{
	const struct error_case *ec = &error_cases[_i];

	env_reset();
	load_fails(ec->text, ec->name, ec->line, ec->key, ec->reason);
}
END_TEST

START_TEST(test_error_whole_message)
{
	char err[1024], want[4200];
	struct conf *c = NULL;
	char *path;

	env_reset();
	path = write_conf("[dev]\ntransition_to_ia = AFTER_2_DAYS\n");
	ck_assert_int_eq(conf_load(path, "dev", &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: transition_to_ia: unknown value 'AFTER_2_DAYS' "
	         "(expected NONE, AFTER_1_DAY or AFTER_{7,14,30,60,90,180,270,365}_DAYS)", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(c);
	free(path);

	path = write_conf("[dev]\n\nbogus line\n");
	ck_assert_int_eq(conf_load(path, "dev", &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: malformed line (expected key = value)", path);
	ck_assert_str_eq(err, want);
	free(path);

	path = write_conf("[dev]\nnope = 1\n");
	ck_assert_int_eq(conf_load(path, "dev", &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: nope: unknown key", path);
	ck_assert_str_eq(err, want);

	/* a short buffer is truncated, never overrun */
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(conf_load(path, "dev", &c, err, 8), -EINVAL);
	ck_assert_uint_eq(strlen(err), 7);
	ck_assert_int_eq(err[8], 'x');
	/* and err may be NULL */
	ck_assert_int_eq(conf_load(path, "dev", &c, NULL, 0), -EINVAL);
	ck_assert_ptr_null(c);
	free(path);
}
END_TEST

static void check_embedded_defaults(const struct conf *c, const char *name)
{
	char *dir, *s;

	if (geteuid() == 0)
		ck_assert_int_ge(asprintf(&dir, "/var/lib/efsfs/%s", name), 0);
	else
		ck_assert_int_ge(asprintf(&dir, "%s/.local/share/efsfs/%s", test_dir, name), 0);
	ck_assert_str_eq(c->name, name);
	ck_assert_str_eq(c->data_dir, dir);
	ck_assert_uint_eq(c->chunk_size, 4u << 20);
	ck_assert_int_eq(c->performance_mode, CONF_PERF_GENERAL_PURPOSE);
	ck_assert_int_eq(c->throughput_mode, CONF_TP_ELASTIC);
	ck_assert_int_eq(c->transition_to_ia_days, 30);
	ck_assert_int_eq(c->transition_to_archive_days, 90);
	ck_assert(!c->promote_after_1_access);
	ck_assert_int_eq(c->lifecycle_interval_s, 3600);
	ck_assert(!c->encrypted);
	ck_assert_int_ge(asprintf(&s, "%s/key", dir), 0);
	ck_assert_str_eq(c->key_file, s);
	free(s);
	ck_assert_int_ge(asprintf(&s, "%s/efsfs.log", dir), 0);
	ck_assert_str_eq(c->log_file, s);
	free(s);
	ck_assert_int_ge(asprintf(&s, "file://%s/objects", dir), 0);
	ck_assert_str_eq(c->ia_store, s);
	ck_assert_str_eq(c->archive_store, s);
	free(s);
	ck_assert_str_eq(c->archive_storage_class, "GLACIER_IR");
	ck_assert_ptr_null(c->s3_endpoint);
	ck_assert_ptr_null(c->s3_region);
	ck_assert(c->s3_path_style);
	ck_assert_ptr_null(c->s3_ca_file);
	ck_assert_ptr_null(c->s3_profile);
	ck_assert_ptr_null(c->s3_access_key_id);
	ck_assert_ptr_null(c->s3_secret_access_key);
	ck_assert(c->allow_other);
	ck_assert(c->attr_timeout == 3600.0);
	ck_assert(c->entry_timeout == 3600.0);
	ck_assert(c->negative_timeout == 3600.0);
	ck_assert(!c->writeback_cache);   /* incoherent between mounts: opt-in */
	ck_assert(c->passthrough);
	ck_assert_int_eq(c->fuse_spin_us, 50);
	ck_assert_int_eq(c->fuse_uring, CONF_URING_AUTO);
	ck_assert_int_eq(c->statfs, CONF_STATFS_EFS);
	ck_assert_ptr_null(c->metrics_listen);
	ck_assert_int_eq(c->s3_connect_timeout_ms, 5000);
	ck_assert_int_eq(c->s3_request_timeout_ms, 30000);
	ck_assert_int_eq(c->s3_low_speed_limit, 1024);
	ck_assert_int_eq(c->s3_low_speed_time_s, 10);
	ck_assert_int_eq(c->s3_operation_timeout_ms, 30000);
	free(dir);
}

START_TEST(test_s3_limits_and_class)
{
	struct conf *c;

	env_reset();
	c = load_ok("[dev]\ns3_connect_timeout = 0.5\ns3_request_timeout = 120\n"
	            "s3_low_speed_limit = 4K\ns3_low_speed_time = 3600\n"
	            "s3_operation_timeout = 86400\n", "dev");
	ck_assert_int_eq(c->s3_connect_timeout_ms, 500);
	ck_assert_int_eq(c->s3_request_timeout_ms, 120000);
	ck_assert_int_eq(c->s3_low_speed_limit, 4096);
	ck_assert_int_eq(c->s3_low_speed_time_s, 3600);
	ck_assert_int_eq(c->s3_operation_timeout_ms, 86400000);
	conf_free(c);
	c = load_ok("[dev]\ns3_low_speed_limit = 0\n", "dev");
	ck_assert_int_eq(c->s3_low_speed_limit, 0);
	conf_free(c);
	/* GLACIER_IR by default on AWS, with or without an explicit AWS endpoint */
	c = load_ok("[dev]\nia_store = s3://bkt/x\n", "dev");
	ck_assert_str_eq(c->archive_storage_class, "GLACIER_IR");
	ck_assert(!c->archive_storage_class_auto);
	conf_free(c);
	c = load_ok("[dev]\ns3_endpoint = https://s3.eu-west-3.amazonaws.com\n", "dev");
	ck_assert_str_eq(c->archive_storage_class, "GLACIER_IR");
	conf_free(c);
	c = load_ok("[dev]\ns3_endpoint = https://s3.cn-north-1.amazonaws.com.cn:443/\n", "dev");
	ck_assert_str_eq(c->archive_storage_class, "GLACIER_IR");
	conf_free(c);
	/* STANDARD elsewhere, unless the file says otherwise (also in [defaults]) */
	c = load_ok("[dev]\ns3_endpoint = http://127.0.0.1:9000\n", "dev");
	ck_assert_str_eq(c->archive_storage_class, "STANDARD");
	ck_assert(c->archive_storage_class_auto);
	conf_free(c);
	c = load_ok("[dev]\ns3_endpoint = https://amazonaws.com.evil.example\n", "dev");
	ck_assert_str_eq(c->archive_storage_class, "STANDARD");
	conf_free(c);
	c = load_ok("[defaults]\narchive_storage_class = GLACIER_IR\n[dev]\n"
	            "s3_endpoint = http://minio:9000\n", "dev");
	ck_assert_str_eq(c->archive_storage_class, "GLACIER_IR");
	ck_assert(!c->archive_storage_class_auto);
	conf_free(c);
}
END_TEST

START_TEST(test_defaults_empty_file)
{
	struct conf *c;

	env_reset();
	c = load_ok("# nothing but a comment\n\n", "dev");
	check_embedded_defaults(c, "dev");
	conf_free(c);
	c = load_ok("[other]\nstatfs = local\n", "fs-0123456789abcdef0");
	check_embedded_defaults(c, "fs-0123456789abcdef0");
	conf_free(c);
	/* a file that is only a UTF-8 byte order mark: the line left after the
	 * mark is empty (UBSan caught a read before it) */
	c = load_ok("\xef\xbb\xbf", "dev");
	check_embedded_defaults(c, "dev");
	conf_free(c);
	c = load_ok("\xef\xbb\xbf\n", "dev");
	check_embedded_defaults(c, "dev");
	conf_free(c);
}
END_TEST

START_TEST(test_defaults_no_file)
{
	char err[256] = "";
	struct conf *c = NULL;

	char missing[4200];

	env_reset();
	/* a machine's own /etc/efsfs/efsfs.conf must not hide the defaults */
	snprintf(missing, sizeof(missing), "%s/no-such-dir/efsfs.conf", test_dir);
	conf_set_default_path(missing);
	ck_assert_msg(conf_load(NULL, "dev", &c, err, sizeof(err)) == 0, "%s", err);
	conf_set_default_path(NULL);
	ck_assert_ptr_null(c->source);
	check_embedded_defaults(c, "dev");
	conf_free(c);
}
END_TEST

/* As uid 65534 in a child (the tests run as root in CI): a user's default
 * data_dir follows XDG_DATA_HOME, else HOME.  Exit 0 when right. */
static int xdg_child(const char *empty_conf)
{
	struct conf *c;
	char err[256];
	int bad = 0;

	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return 10;
	setenv("XDG_DATA_HOME", "/xdg/data", 1);
	if (conf_load(empty_conf, "dev", &c, err, sizeof(err)) < 0)
		return 11;
	bad |= strcmp(c->data_dir, "/xdg/data/efsfs/dev") ? 1 : 0;
	bad |= strcmp(c->ia_store, "file:///xdg/data/efsfs/dev/objects") ? 2 : 0;
	conf_free(c);
	setenv("XDG_DATA_HOME", "relative/data", 1);     /* ignored, as the XDG spec says */
	setenv("HOME", "/home/efsfs-test", 1);
	if (conf_load(empty_conf, "dev", &c, err, sizeof(err)) < 0)
		return 12;
	bad |= strcmp(c->data_dir, "/home/efsfs-test/.local/share/efsfs/dev") ? 4 : 0;
	conf_free(c);
	return bad ? 20 + bad : 0;
}

START_TEST(test_default_data_dir_xdg)
{
	struct conf *c;

	if (geteuid() == 0) {
		char path[] = "/tmp/efsfs-test-conf.XXXXXX";
		int fd = mkstemp(path), status = -1;
		pid_t pid;

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fchmod(fd, 0644), 0);
		close(fd);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(xdg_child(path));
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		unlink(path);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "as uid 65534: default data_dir wrong (child status %d)", status);
		/* and root itself always uses /var/lib/efsfs */
		env_reset();
		setenv("XDG_DATA_HOME", "/xdg/data", 1);
		c = load_ok("", "dev");
		ck_assert_str_eq(c->data_dir, "/var/lib/efsfs/dev");
		conf_free(c);
		return;
	}
	env_reset();
	setenv("XDG_DATA_HOME", "/xdg/data", 1);
	c = load_ok("", "dev");
	ck_assert_str_eq(c->data_dir, "/xdg/data/efsfs/dev");
	ck_assert_str_eq(c->ia_store, "file:///xdg/data/efsfs/dev/objects");
	conf_free(c);
	/* a relative XDG_DATA_HOME is ignored, as the XDG spec says */
	setenv("XDG_DATA_HOME", "relative/data", 1);
	c = load_ok("", "dev");
	ck_assert_str_eq(c->data_dir + strlen(test_dir), "/.local/share/efsfs/dev");
	conf_free(c);
}
END_TEST

START_TEST(test_every_key)
{
	struct conf *c;

	env_reset();
	c = load_ok("[dev]\n"
	            "data_dir = /srv/efsfs/dev/\n"
	            "chunk_size = 1M\n"
	            "performance_mode = maxIO\n"
	            "throughput_mode = provisioned\n"
	            "provisioned_throughput_in_mibps = 12.5\n"
	            "transition_to_ia = AFTER_7_DAYS\n"
	            "transition_to_archive = AFTER_365_DAYS\n"
	            "transition_to_primary_storage_class = AFTER_1_ACCESS\n"
	            "lifecycle_interval = 60\n"
	            "encrypted = yes\n"
	            "key_file = /etc/efsfs/dev.key\n"
	            "ia_store = s3://my-bucket/efsfs/dev/\n"
	            "archive_store = s3://cold.bucket\n"
	            "archive_storage_class = DEEP_ARCHIVE\n"
	            "s3_endpoint = https://minio.local:9000\n"
	            "s3_region = eu-west-3\n"
	            "s3_url_style = virtual\n"
	            "s3_ca_file = /etc/ssl/minio.pem\n"
	            "s3_profile = dev\n"
	            "s3_access_key_id = AKIAEXAMPLE\n"
	            "s3_secret_access_key = \"wJalr/K7MDENG+bPxRfiCY\"\n"
	            "allow_other = off\n"
	            "attr_timeout = 0.25\n"
	            "entry_timeout = 3600\n"
	            "negative_timeout = 0.5\n"
	            "writeback_cache = 0\n"
	            "fuse_spin_us = 0\n"
	            "fuse_uring = off\n"
	            "statfs = local\n"
	            "metrics_listen = [::1]:9464\n"
	            "client_mount = no\n"
	            "client_write = false\n"
	            "client_root_access = off\n", "dev");
	ck_assert_str_eq(c->data_dir, "/srv/efsfs/dev");
	ck_assert_uint_eq(c->chunk_size, 1u << 20);
	ck_assert_int_eq(c->performance_mode, CONF_PERF_MAX_IO);
	ck_assert_int_eq(c->throughput_mode, CONF_TP_PROVISIONED);
	ck_assert(c->provisioned_throughput_mibps == 12.5);
	ck_assert_int_eq(c->transition_to_ia_days, 7);
	ck_assert_int_eq(c->transition_to_archive_days, 365);
	ck_assert(c->promote_after_1_access);
	ck_assert_int_eq(c->lifecycle_interval_s, 60);
	ck_assert(c->encrypted);
	ck_assert_str_eq(c->key_file, "/etc/efsfs/dev.key");
	ck_assert_str_eq(c->ia_store, "s3://my-bucket/efsfs/dev/");
	ck_assert_str_eq(c->archive_store, "s3://cold.bucket");
	ck_assert_str_eq(c->archive_storage_class, "DEEP_ARCHIVE");
	ck_assert_str_eq(c->s3_endpoint, "https://minio.local:9000");
	ck_assert_str_eq(c->s3_region, "eu-west-3");
	ck_assert(!c->s3_path_style);
	ck_assert_str_eq(c->s3_ca_file, "/etc/ssl/minio.pem");
	ck_assert_str_eq(c->s3_profile, "dev");
	ck_assert_str_eq(c->s3_access_key_id, "AKIAEXAMPLE");
	ck_assert_str_eq(c->s3_secret_access_key, "wJalr/K7MDENG+bPxRfiCY");
	ck_assert(!c->allow_other);
	ck_assert(c->attr_timeout == 0.25);
	ck_assert(c->entry_timeout == 3600.0);
	ck_assert(c->negative_timeout == 0.5);
	ck_assert(!c->writeback_cache);
	ck_assert_int_eq(c->fuse_spin_us, 0);
	ck_assert_int_eq(c->fuse_uring, CONF_URING_OFF);
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	ck_assert(!c->client_mount);
	ck_assert(!c->client_write);
	ck_assert(!c->client_root_access);
	ck_assert_str_eq(c->metrics_listen, "[::1]:9464");
	conf_free(c);
	c = load_ok("[dev]\nmetrics_listen = 127.0.0.1:9464\n", "dev");
	ck_assert_str_eq(c->metrics_listen, "127.0.0.1:9464");
	conf_free(c);
	c = load_ok("[dev]\nmetrics_listen = off\n", "dev");
	ck_assert_ptr_null(c->metrics_listen);
	conf_free(c);
}
END_TEST

/* The file system policy: all three allowed by default (EFS without a
 * policy), each set on its own, from [defaults] too, and a bad value named. */
START_TEST(test_policy_keys)
{
	struct conf *c;

	env_reset();
	c = load_ok("[dev]\n", "dev");
	ck_assert(c->client_mount && c->client_write && c->client_root_access);
	conf_free(c);
	c = load_ok("[defaults]\nclient_root_access = false\n[dev]\nclient_write = no\n", "dev");
	ck_assert(c->client_mount);
	ck_assert(!c->client_write);
	ck_assert(!c->client_root_access);
	conf_free(c);
	c = load_ok("[defaults]\nclient_mount = false\n[dev]\nclient_mount = true\n", "dev");
	ck_assert(c->client_mount);
	conf_free(c);
	load_fails("[dev]\nclient_write = maybe\n", "dev", 2, "client_write",
	           "invalid boolean 'maybe'");
	load_fails("[defaults]\nclient_root_access = 2\n[dev]\n", "dev", 2, "client_root_access",
	           "invalid boolean '2'");
}
END_TEST

START_TEST(test_value_forms)
{
	static const struct { const char *v; bool want; } bools[] = {
		{ "true", true }, { "yes", true }, { "on", true }, { "1", true },
		{ "TRUE", true }, { "false", false }, { "no", false }, { "off", false },
		{ "0", false }, { "Off", false },
	};
	static const struct { const char *v; uint64_t want; } sizes[] = {
		{ "65536", 65536 }, { "64K", 65536 }, { "64KiB", 65536 }, { "128k", 131072 },
		{ "4M", 4u << 20 }, { "4MiB", 4u << 20 }, { "64M", 64u << 20 },
		{ "67108864", 64u << 20 },
	};
	static const char *const classes[] = {
		"STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR",
		"GLACIER", "DEEP_ARCHIVE",
	};
	char text[512];
	struct conf *c;

	env_reset();
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(text, sizeof(text), "[dev]\nencrypted = %s\nallow_other = %s\n"
		         "writeback_cache = %s\npassthrough = %s\n", bools[i].v, bools[i].v,
		         bools[i].v, bools[i].v);
		c = load_ok(text, "dev");
		ck_assert_msg(c->encrypted == bools[i].want, "encrypted = %s", bools[i].v);
		ck_assert_msg(c->allow_other == bools[i].want, "allow_other = %s", bools[i].v);
		ck_assert_msg(c->writeback_cache == bools[i].want, "writeback_cache = %s",
		              bools[i].v);
		ck_assert_msg(c->passthrough == bools[i].want, "passthrough = %s", bools[i].v);
		conf_free(c);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(text, sizeof(text), "[dev]\nchunk_size = %s\n", sizes[i].v);
		c = load_ok(text, "dev");
		ck_assert_uint_eq(c->chunk_size, sizes[i].want);
		conf_free(c);
	}
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		snprintf(text, sizeof(text), "[dev]\narchive_storage_class = %s\n", classes[i]);
		c = load_ok(text, "dev");
		ck_assert_str_eq(c->archive_storage_class, classes[i]);
		conf_free(c);
	}
	c = load_ok("[dev]\nthroughput_mode = provisioned\n"
	            "provisioned_throughput_in_mibps = 3414\nattr_timeout = 0\n"
	            "entry_timeout = 0.5\nlifecycle_interval = 604800\n", "dev");
	ck_assert(c->provisioned_throughput_mibps == 3414.0);
	ck_assert(c->attr_timeout == 0.0);
	ck_assert(c->entry_timeout == 0.5);
	ck_assert_int_eq(c->lifecycle_interval_s, 604800);
	conf_free(c);
	c = load_ok("[dev]\nthroughput_mode = elastic\nprovisioned_throughput_in_mibps = 1\n"
	            "lifecycle_interval = 1\nperformance_mode = generalPurpose\n"
	            "s3_url_style = path\nstatfs = efs\n", "dev");
	ck_assert_int_eq(c->throughput_mode, CONF_TP_ELASTIC);
	ck_assert(c->provisioned_throughput_mibps == 1.0);
	ck_assert_int_eq(c->lifecycle_interval_s, 1);
	ck_assert_int_eq(c->performance_mode, CONF_PERF_GENERAL_PURPOSE);
	ck_assert(c->s3_path_style);
	ck_assert_int_eq(c->statfs, CONF_STATFS_EFS);
	conf_free(c);
	/* NONE disables a transition, so archive needs no order against it */
	c = load_ok("[dev]\ntransition_to_ia = NONE\ntransition_to_archive = AFTER_1_DAY\n"
	            "transition_to_primary_storage_class = NONE\n", "dev");
	ck_assert_int_eq(c->transition_to_ia_days, 0);
	ck_assert_int_eq(c->transition_to_archive_days, 1);
	ck_assert(!c->promote_after_1_access);
	conf_free(c);
	c = load_ok("[dev]\ntransition_to_ia = AFTER_365_DAYS\ntransition_to_archive = NONE\n",
	            "dev");
	ck_assert_int_eq(c->transition_to_ia_days, 365);
	ck_assert_int_eq(c->transition_to_archive_days, 0);
	conf_free(c);
}
END_TEST

START_TEST(test_defaults_section_merge)
{
	static const char text[] =
		"[defaults]\n"
		"transition_to_ia = AFTER_7_DAYS\n"
		"statfs = local\n"
		"ia_store = s3://shared-bucket/%n\n"
		"s3_endpoint = http://127.0.0.1:9000\n"
		"\n"
		"[a]\n"
		"statfs = efs\n"
		"transition_to_archive = AFTER_14_DAYS\n"
		"\n"
		"[b]\n"
		"ia_store = file:///srv/b-objects\n";
	struct conf *c;

	env_reset();
	c = load_ok(text, "a");
	ck_assert_int_eq(c->statfs, CONF_STATFS_EFS);           /* overridden */
	ck_assert_int_eq(c->transition_to_ia_days, 7);          /* inherited */
	ck_assert_int_eq(c->transition_to_archive_days, 14);    /* own */
	ck_assert_str_eq(c->ia_store, "s3://shared-bucket/a");  /* inherited, %n = a */
	ck_assert_str_eq(c->archive_store, "s3://shared-bucket/a");
	ck_assert_str_eq(c->s3_endpoint, "http://127.0.0.1:9000");
	conf_free(c);

	c = load_ok(text, "b");
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	ck_assert_int_eq(c->transition_to_ia_days, 7);
	ck_assert_int_eq(c->transition_to_archive_days, 90);
	ck_assert_str_eq(c->ia_store, "file:///srv/b-objects");
	ck_assert_str_eq(c->archive_store, "file:///srv/b-objects");
	conf_free(c);

	/* a name with no section gets [defaults] over the embedded defaults */
	c = load_ok(text, "c");
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	ck_assert_int_eq(c->transition_to_ia_days, 7);
	ck_assert_str_eq(c->ia_store, "s3://shared-bucket/c");
	ck_assert_str_eq(c->s3_endpoint, "http://127.0.0.1:9000");
	conf_free(c);

	/* [defaults] may come after the sections it applies to */
	c = load_ok("[a]\nstatfs = efs\n[defaults]\nstatfs = local\nencrypted = true\n", "a");
	ck_assert_int_eq(c->statfs, CONF_STATFS_EFS);
	ck_assert(c->encrypted);
	conf_free(c);
}
END_TEST

START_TEST(test_percent_n)
{
	struct conf *c;

	env_reset();
	c = load_ok("[defaults]\ndata_dir = /srv/efsfs/%n\n[dev]\n[prod]\n", "prod");
	ck_assert_str_eq(c->data_dir, "/srv/efsfs/prod");
	ck_assert_str_eq(c->key_file, "/srv/efsfs/prod/key");
	ck_assert_str_eq(c->ia_store, "file:///srv/efsfs/prod/objects");
	ck_assert_str_eq(c->archive_store, "file:///srv/efsfs/prod/objects");
	conf_free(c);

	c = load_ok("[defaults]\ndata_dir = /srv/%n/data/%n\n", "x1");
	ck_assert_str_eq(c->data_dir, "/srv/x1/data/x1");
	conf_free(c);

	c = load_ok("[dev]\ndata_dir = /srv/100%%/%n\nkey_file = /keys/%n.key\n"
	            "archive_store = file:///cold/%n\nlog_file = /var/log/efsfs/%n.log\n", "dev");
	ck_assert_str_eq(c->data_dir, "/srv/100%/dev");
	ck_assert_str_eq(c->key_file, "/keys/dev.key");
	ck_assert_str_eq(c->log_file, "/var/log/efsfs/dev.log");
	ck_assert_str_eq(c->ia_store, "file:///srv/100%/dev/objects");
	ck_assert_str_eq(c->archive_store, "file:///cold/dev");
	conf_free(c);

	/* %n is not special in other keys */
	c = load_ok("[dev]\ns3_profile = p%n\n", "dev");
	ck_assert_str_eq(c->s3_profile, "p%n");
	conf_free(c);
}
END_TEST

START_TEST(test_syntax_forms)
{
	struct conf *c;

	env_reset();
	c = load_ok("\xef\xbb\xbf# leading BOM and comment\r\n"
	            "; another comment\r\n"
	            "   \t\r\n"
	            "  [ dev ]   # section comment\r\n"
	            "\tstatfs\t=\tlocal   # trailing comment\r\n"
	            "s3_ca_file = \"/ca # not a comment.pem\"  ; comment\r\n"
	            "s3_access_key_id=abc#def\r\n"
	            "s3_secret_access_key = x;y ;comment\r\n"
	            "  # indented comment\n"
	            "s3_region = \"eu-central-1\"\n"
	            "key_file = \"/path with spaces/key\"\n", "dev");
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	ck_assert_str_eq(c->s3_ca_file, "/ca # not a comment.pem");
	ck_assert_str_eq(c->s3_access_key_id, "abc#def");
	ck_assert_str_eq(c->s3_secret_access_key, "x;y");
	ck_assert_str_eq(c->s3_region, "eu-central-1");
	ck_assert_str_eq(c->key_file, "/path with spaces/key");
	conf_free(c);

	/* a last line without newline counts */
	c = load_ok("[dev]\nstatfs = local", "dev");
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	conf_free(c);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "[dev]\nstatfs = l\0cal\n";
	char err[1024] = "", want[4200];
	struct conf *c = NULL;
	char *path = write_conf("");
	FILE *fp = fopen(path, "w");

	env_reset();
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, sizeof(text) - 1, fp), sizeof(text) - 1);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(conf_load(path, "dev", &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	ck_assert_str_eq(err, want);
	free(path);
}
END_TEST

START_TEST(test_efsfs_config_env)
{
	char err[1024] = "", want[4200];
	struct conf *c = NULL;
	char *path, *missing;

	env_reset();
	path = write_conf("[dev]\nstatfs = local\n");
	setenv("EFSFS_CONFIG", path, 1);
	ck_assert_msg(conf_load(NULL, "dev", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->source, path);
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	conf_free(c);
	c = NULL;

	/* an explicit path wins over the environment */
	free(path);
	path = write_conf("[dev]\nstatfs = efs\n");
	ck_assert_msg(conf_load(path, "dev", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->statfs, CONF_STATFS_EFS);
	conf_free(c);
	c = NULL;

	/* $EFSFS_CONFIG must exist */
	ck_assert_int_ge(asprintf(&missing, "%s/does-not-exist.conf", test_dir), 0);
	setenv("EFSFS_CONFIG", missing, 1);
	ck_assert_int_eq(conf_load(NULL, "dev", &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", missing);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(c);
	free(missing);
	free(path);
}
END_TEST

START_TEST(test_missing_explicit_file)
{
	char err[1024] = "", want[4200];
	struct conf *c = NULL;
	char *missing;

	env_reset();
	ck_assert_int_ge(asprintf(&missing, "%s/nope/efsfs.conf", test_dir), 0);
	ck_assert_int_eq(conf_load(missing, "dev", &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", missing);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(c);

	/* a directory is not a config file */
	ck_assert_int_eq(conf_load(test_dir, "dev", &c, err, sizeof(err)), -EISDIR);
	ck_assert_ptr_null(c);
	free(missing);
}
END_TEST

/* Writes text to path, making its directory. */
static void write_at(const char *path, const char *text)
{
	char dir[4200], *slash;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0700);
		*slash = '/';
	}
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Without --config or $EFSFS_CONFIG: a file system with a section in the
 * user's own file comes from it alone; any other from the system file; a
 * missing system file leaves the user file's [defaults]. */
START_TEST(test_user_file)
{
	char err[1024] = "", user[4200], home_user[4200], *sys, missing[4200];
	struct conf *c = NULL;

	env_reset();
	snprintf(user, sizeof(user), "%s/xdg/efsfs/efsfs.conf", test_dir);
	write_at(user, "[defaults]\nstatfs = local\n[mine]\nattr_timeout = 2\n");
	snprintf(home_user, sizeof(home_user), "%s/xdg", test_dir);
	setenv("XDG_CONFIG_HOME", home_user, 1);
	sys = write_conf("[mine]\nattr_timeout = 3\n[other]\nattr_timeout = 4\n");
	conf_set_default_path(sys);

	ck_assert_msg(conf_load(NULL, "mine", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->source, user);
	ck_assert(c->attr_timeout == 2.0);
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	ck_assert_ptr_null(c->warning);
	conf_free(c);
	ck_assert_msg(conf_load(NULL, "other", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->source, sys);
	ck_assert(c->attr_timeout == 4.0);
	ck_assert_int_eq(c->statfs, CONF_STATFS_EFS);
	conf_free(c);
	/* neither defines it: the system file's (empty) [defaults] */
	ck_assert_msg(conf_load(NULL, "third", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->source, sys);
	ck_assert_int_eq(c->statfs, CONF_STATFS_EFS);
	conf_free(c);

	/* no system file: the user file's [defaults] */
	snprintf(missing, sizeof(missing), "%s/no-such-dir/efsfs.conf", test_dir);
	conf_set_default_path(missing);
	ck_assert_msg(conf_load(NULL, "third", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->source, user);
	ck_assert_int_eq(c->statfs, CONF_STATFS_LOCAL);
	ck_assert_ptr_null(c->warning);
	conf_free(c);

	/* $EFSFS_CONFIG names the one file read */
	setenv("EFSFS_CONFIG", sys, 1);
	ck_assert_msg(conf_load(NULL, "mine", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->source, sys);
	ck_assert(c->attr_timeout == 3.0);
	conf_free(c);
	unsetenv("EFSFS_CONFIG");

	/* without XDG_CONFIG_HOME: ~/.config/efsfs/efsfs.conf */
	unsetenv("XDG_CONFIG_HOME");
	snprintf(home_user, sizeof(home_user), "%s/.config/efsfs/efsfs.conf", test_dir);
	write_at(home_user, "[mine]\nattr_timeout = 5\n");
	ck_assert_msg(conf_load(NULL, "mine", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->source, home_user);
	ck_assert(c->attr_timeout == 5.0);
	conf_free(c);

	/* an error anywhere in the user's file is reported, naming it */
	write_at(home_user, "[mine]\nattr_timeout = 5\n[x]\nstatfs = nfs\n");
	ck_assert_int_eq(conf_load(NULL, "mine", &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strncmp(err, home_user, strlen(home_user)) == 0 && strstr(err, ":4: statfs"),
		      "%s", err);
	unlink(home_user);
	conf_set_default_path(NULL);
	free(sys);
}
END_TEST

/* efsfs.conf(5) documents every key of the key table. */
START_TEST(test_man_page_keys)
{
	const char *src = getenv("EFSFS_SRC");
	char path[4200], line[1024], *text = NULL;
	size_t len = 0;
	FILE *fp, *mem = open_memstream(&text, &len);

	ck_assert_msg(src && *src, "EFSFS_SRC must name the source tree");
	snprintf(path, sizeof(path), "%s/man/efsfs.conf.5", src);
	fp = fopen(path, "r");
	ck_assert_msg(fp, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp))
		fputs(line, mem);
	fclose(fp);
	fclose(mem);
	for (size_t i = 0; conf_key_name(i); i++) {
		char b[128], br[128], br2[128];
		const char *k = conf_key_name(i);

		/* ".B key", or one of ".BR a \", \" b" */
		snprintf(b, sizeof(b), "\n.B %s\n", k);
		snprintf(br, sizeof(br), "\n.BR %s ", k);
		snprintf(br2, sizeof(br2), "\" %s\n", k);
		ck_assert_msg(strstr(text, b) || strstr(text, br) || strstr(text, br2),
			      "%s does not document the key %s (add a .TP/.B %s entry)", path, k, k);
	}
	ck_assert_ptr_null(conf_key_name(1000));
	free(text);
}
END_TEST

START_TEST(test_bad_load_name)
{
	static const char *const names[] = { "", ".x", "-x", "a/b", "defaults",
		"12345678901234567890123456789012345678901234567890123456789012345" };
	char err[1024];
	struct conf *c = NULL;
	char *path;

	env_reset();
	path = write_conf("[dev]\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(conf_load(path, names[i], &c, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err, "invalid file system name") != NULL, "%s", err);
	}
	ck_assert_int_eq(conf_load(path, NULL, &c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(c);
	free(path);
}
END_TEST

START_TEST(test_name_valid)
{
	char max[CONF_NAME_MAX + 2];

	ck_assert(conf_name_valid("dev"));
	ck_assert(conf_name_valid("fs-0123456789abcdef0"));
	ck_assert(conf_name_valid("A.b_c-9"));
	ck_assert(conf_name_valid("_x"));
	ck_assert(!conf_name_valid(NULL));
	ck_assert(!conf_name_valid(""));
	ck_assert(!conf_name_valid(".hidden"));
	ck_assert(!conf_name_valid("-opt"));
	ck_assert(!conf_name_valid("a b"));
	ck_assert(!conf_name_valid("a/b"));
	ck_assert(!conf_name_valid("caf\xc3\xa9"));
	memset(max, 'a', CONF_NAME_MAX);
	max[CONF_NAME_MAX] = '\0';
	ck_assert(conf_name_valid(max));
	max[CONF_NAME_MAX] = 'a';
	max[CONF_NAME_MAX + 1] = '\0';
	ck_assert(!conf_name_valid(max));
}
END_TEST

START_TEST(test_parse_transition)
{
	static const struct { const char *v; int days; } legal[] = {
		{ "NONE", 0 }, { "AFTER_1_DAY", 1 }, { "AFTER_7_DAYS", 7 },
		{ "AFTER_14_DAYS", 14 }, { "AFTER_30_DAYS", 30 }, { "AFTER_60_DAYS", 60 },
		{ "AFTER_90_DAYS", 90 }, { "AFTER_180_DAYS", 180 }, { "AFTER_270_DAYS", 270 },
		{ "AFTER_365_DAYS", 365 },
	};
	static const char *const illegal[] = {
		"", "none", "None", "AFTER_1_DAYS", "AFTER_0_DAYS", "AFTER_2_DAYS",
		"AFTER_30_DAY", "after_30_days", "AFTER_30_DAYS ", " AFTER_30_DAYS",
		"AFTER_030_DAYS", "AFTER_366_DAYS", "AFTER_1_ACCESS", "30", "AFTER__DAYS",
	};

	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
		ck_assert_msg(conf_parse_transition(legal[i].v) == legal[i].days, "%s",
		              legal[i].v);
	for (size_t i = 0; i < sizeof(illegal) / sizeof(illegal[0]); i++)
		ck_assert_msg(conf_parse_transition(illegal[i]) == -1, "'%s'", illegal[i]);
	ck_assert_int_eq(conf_parse_transition(NULL), -1);
}
END_TEST

START_TEST(test_transitions_in_file)
{
	static const char *const values[] = {
		"AFTER_1_DAY", "AFTER_7_DAYS", "AFTER_14_DAYS", "AFTER_30_DAYS", "AFTER_60_DAYS",
		"AFTER_90_DAYS", "AFTER_180_DAYS", "AFTER_270_DAYS", "AFTER_365_DAYS",
	};
	char text[256];
	struct conf *c;

	env_reset();
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "[dev]\ntransition_to_ia = %s\n"
		         "transition_to_archive = NONE\n", values[i]);
		c = load_ok(text, "dev");
		ck_assert_int_eq(c->transition_to_ia_days, conf_parse_transition(values[i]));
		ck_assert_int_gt(c->transition_to_ia_days, 0);
		conf_free(c);
		snprintf(text, sizeof(text), "[dev]\ntransition_to_ia = NONE\n"
		         "transition_to_archive = %s\n", values[i]);
		c = load_ok(text, "dev");
		ck_assert_int_eq(c->transition_to_archive_days, conf_parse_transition(values[i]));
		conf_free(c);
	}
}
END_TEST

struct list_state {
	char names[8][CONF_NAME_MAX + 1];
	int n;
	int stop_at;    /* return 42 from this call, -1 never */
};

static int list_cb(const char *name, void *arg)
{
	struct list_state *st = arg;

	ck_assert_int_lt(st->n, 8);
	snprintf(st->names[st->n], sizeof(st->names[0]), "%s", name);
	st->n++;
	return st->n - 1 == st->stop_at ? 42 : 0;
}

START_TEST(test_list)
{
	struct list_state st = { .n = 0, .stop_at = -1 };
	char err[1024] = "";
	char *path;

	env_reset();
	path = write_conf("[zeta]\n[defaults]\nstatfs = local\n[fs-0123456789abcdef0]\n"
	                  "[alpha]\n");
	ck_assert_msg(conf_list(path, list_cb, &st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(st.n, 3);
	ck_assert_str_eq(st.names[0], "zeta");
	ck_assert_str_eq(st.names[1], "fs-0123456789abcdef0");
	ck_assert_str_eq(st.names[2], "alpha");

	/* a non-zero return stops the walk and is returned */
	memset(&st, 0, sizeof(st));
	st.stop_at = 1;
	ck_assert_int_eq(conf_list(path, list_cb, &st, err, sizeof(err)), 42);
	ck_assert_int_eq(st.n, 2);
	free(path);

	/* an empty file lists nothing */
	memset(&st, 0, sizeof(st));
	st.stop_at = -1;
	path = write_conf("[defaults]\n");
	ck_assert_int_eq(conf_list(path, list_cb, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.n, 0);
	free(path);

	/* a bad file lists nothing and fails as conf_load does */
	memset(&st, 0, sizeof(st));
	st.stop_at = -1;
	path = write_conf("[a]\n[b]\nbad = 1\n");
	ck_assert_int_eq(conf_list(path, list_cb, &st, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(st.n, 0);
	ck_assert_msg(strstr(err, ":3: bad: unknown key") != NULL, "%s", err);
	free(path);

	ck_assert_int_ge(asprintf(&path, "%s/missing.conf", test_dir), 0);
	ck_assert_int_eq(conf_list(path, list_cb, &st, err, sizeof(err)), -ENOENT);
	free(path);
}
END_TEST

/* The shipped example must load, and every file system in it too. */
static int example_cb(const char *name, void *arg)
{
	char err[1024] = "";
	struct conf *c = NULL;
	int *n = arg;
	const char *path = getenv("EFSFS_CONFIG");
	int r = conf_load(path, name, &c, err, sizeof(err));

	ck_assert_msg(r == 0, "%s: %s", name, err);
	conf_free(c);
	(*n)++;
	return 0;
}

START_TEST(test_example_file)
{
	const char *src = getenv("EFSFS_SRC");
	char err[1024] = "";
	char *path;
	int n = 0;

	env_reset();
	if (src && *src) {
		ck_assert_int_ge(asprintf(&path, "%s/efsfs.conf.example", src), 0);
	} else {
		/* __FILE__ is this file, absolute or relative to the build directory */
		const char *self = __FILE__;
		const char *cut = strstr(self, "tests/unit/test_conf.c");

		ck_assert_ptr_nonnull(cut);
		ck_assert_int_ge(asprintf(&path, "%.*sefsfs.conf.example", (int)(cut - self),
		                          self), 0);
	}
	ck_assert_msg(access(path, R_OK) == 0, "%s: %s (set EFSFS_SRC to the source tree)",
	              path, strerror(errno));
	setenv("EFSFS_CONFIG", path, 1);
	ck_assert_msg(conf_list(path, example_cb, &n, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_ge(n, 2);
	free(path);
}
END_TEST

/* Items of the INI reader as "line:[section]" and "line:section.key=value". */
struct ini_log {
	char text[8192];
	int stop_at;      /* nonzero: return -ECANCELED at this line */
};

static int ini_log_item(const struct ini_item *it, void *arg)
{
	struct ini_log *l = arg;
	size_t n = strlen(l->text);

	if (it->key)
		snprintf(l->text + n, sizeof(l->text) - n, "%d:%s.%s=%s\n", it->line,
		         it->section ? it->section : "-", it->key, it->value);
	else
		snprintf(l->text + n, sizeof(l->text) - n, "%d:[%s]\n", it->line, it->section);
	return it->line == l->stop_at ? -ECANCELED : 0;
}

static int ini_text(const char *text, size_t len, enum ini_mode mode, struct ini_log *l,
                    char *err, size_t errlen)
{
	FILE *fp = fmemopen((void *)text, len, "r");
	int r;

	ck_assert_ptr_nonnull(fp);
	r = ini_read(fp, "t.ini", mode, ini_log_item, l, err, errlen);
	fclose(fp);
	return r;
}

START_TEST(test_ini_reader)
{
	static const struct { const char *text; const char *err; } bad[] = {
		{ "[a]\nkey: value\n", "t.ini:2: malformed line (expected key = value)" },
		{ "[a]\nx = 1\njunk\nk = \"v\n", "t.ini:3: malformed line (expected key = value)" },
		{ "[a]\nk = \"v\n\njunk\n", "t.ini:2: k: unterminated quoted value" },
		{ "[a] b\n", "t.ini:1: malformed section header (expected [name])" },
		{ "[a]\n\"k\" = v\n", "t.ini:2: malformed line (expected key = value)" },
		{ "[a]\na ;b = 1\n", "t.ini:2: malformed line (expected key = value)" },
	};
	static const char lenient[] = "k0 = before\njunk\n[ p q \nk = \"v\" ;x\n\v[r]x\n"
	                              "key: v\na\0b = c\nz= =w \r\n";
	char big[1024], val[301], want[1024], err[512];
	struct ini_log l;
	char name[65];

	/* values longer than inih's 200-byte line, 64-character section names,
	 * quotes keeping ';' and '#', indented lines that are no continuation */
	memset(name, 'n', 64);
	name[64] = '\0';
	memset(val, 'v', 300);
	val[300] = '\0';
	snprintf(big, sizeof(big), "[%s]\nlong = /%s\n  q = \"a ; b # c\" ; c\n  k2=x:y\n"
	         "\n# c\nk3 = a#b ;c\n", name, val);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(ini_text(big, strlen(big), INI_STRICT, &l, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "1:[%s]\n2:%s.long=/%s\n3:%s.q=a ; b # c\n"
	         "4:%s.k2=x:y\n7:%s.k3=a#b\n", name, name, val, name, name, name);
	ck_assert_str_eq(l.text, want);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&l, 0, sizeof(l));
		err[0] = '\0';
		ck_assert_int_eq(ini_text(bad[i].text, strlen(bad[i].text), INI_STRICT, &l, err,
		                          sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, bad[i].err);
	}

	/* the callback's return stops the reading and is returned */
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	ck_assert_int_eq(ini_text("[a]\nx = 1\ny = 2\n", 16, INI_STRICT, &l, err, sizeof(err)),
	                 -ECANCELED);
	ck_assert_str_eq(l.text, "1:[a]\n2:a.x=1\n");

	/* lenient (AWS files): what is not a header or key = value is skipped,
	 * values are kept as written, a NUL ends its line, no BOM handling */
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(ini_text(lenient, sizeof(lenient) - 1, INI_LENIENT, &l, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(l.text, "1:-.k0=before\n3:[p q]\n4:p q.k=\"v\" ;x\n5:[r]\n"
	                 "8:r.z==w\n");
}
END_TEST

START_TEST(test_buf)
{
	struct buf b = BUF_INIT;
	char big[1000];
	size_t len = 7;
	char *p;

	/* nothing added: "" of length 0 */
	p = buf_take(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(len, 0);
	free(p);

	/* growth past the first allocation keeps every byte and the NUL */
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(buf_add(&b, big, sizeof(big)), 0);
	ck_assert_int_eq(buf_adds(&b, "ab"), 0);
	ck_assert_int_eq(buf_addc(&b, 'c'), 0);
	ck_assert_int_eq(buf_add(&b, "\0z", 2), 0);
	ck_assert_uint_eq(b.len, 5005);
	ck_assert_uint_ge(b.cap, b.len + 1);
	ck_assert_int_eq(b.p[b.len], '\0');
	ck_assert_int_eq(memcmp(b.p + 4999, "xabc\0z", 6), 0);
	p = buf_take(&b, &len);
	ck_assert_uint_eq(len, 5005);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	free(p);

	/* a failed growth is sticky: later appends fail, take gives NULL */
	ck_assert_int_eq(buf_adds(&b, "keep"), 0);
	ck_assert_int_eq(buf_grow(&b, SIZE_MAX), -ENOMEM);
	ck_assert_int_eq(buf_addc(&b, 'x'), -ENOMEM);
	ck_assert_ptr_null(buf_take(&b, NULL));
	ck_assert_int_eq(b.err, -ENOMEM);
	buf_free(&b);
	ck_assert_int_eq(b.err, 0);
	ck_assert_int_eq(buf_adds(&b, "again"), 0);
	ck_assert_str_eq(b.p, "again");
	buf_free(&b);
	buf_free(NULL);
}
END_TEST

START_TEST(test_size_parse)
{
	static const struct { const char *s; int r; uint64_t v; } cases[] = {
		{ "0", 0, 0 }, { "65536", 0, 65536 }, { "64K", 0, 65536 }, { "64k", 0, 65536 },
		{ "64KiB", 0, 65536 }, { "64KB", 0, 65536 }, { "4M", 0, 4u << 20 },
		{ "4MiB", 0, 4u << 20 }, { "1G", 0, 1u << 30 }, { "1g", 0, 1u << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "16777216G", 0, 1ull << 54 },
		{ "", -EINVAL, 0 }, { "K", -EINVAL, 0 }, { "-4M", -EINVAL, 0 },
		{ "+4", -EINVAL, 0 }, { " 4", -EINVAL, 0 }, { "4 ", -EINVAL, 0 },
		{ "4X", -EINVAL, 0 }, { "4T", -EINVAL, 0 }, { "4iB", -EINVAL, 0 },
		{ "4Mi", -EINVAL, 0 }, { "4MiBs", -EINVAL, 0 }, { "1.5M", -EINVAL, 0 },
		{ "18446744073709551616", -ERANGE, 0 }, { "17179869184G", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int r = size_parse(cases[i].s, &v);

		ck_assert_msg(r == cases[i].r, "size_parse(\"%s\") = %d", cases[i].s, r);
		ck_assert_msg(v == (r == 0 ? cases[i].v : 12345), "size_parse(\"%s\") -> %llu",
		              cases[i].s, (unsigned long long)v);
	}
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_loop_test(tc, test_errors, 0, sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_test(tc, test_error_whole_message);
	tcase_add_test(tc, test_defaults_empty_file);
	tcase_add_test(tc, test_defaults_no_file);
	tcase_add_test(tc, test_default_data_dir_xdg);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_policy_keys);
	tcase_add_test(tc, test_value_forms);
	tcase_add_test(tc, test_s3_limits_and_class);
	tcase_add_test(tc, test_defaults_section_merge);
	tcase_add_test(tc, test_percent_n);
	tcase_add_test(tc, test_syntax_forms);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_efsfs_config_env);
	tcase_add_test(tc, test_missing_explicit_file);
	tcase_add_test(tc, test_user_file);
	tcase_add_test(tc, test_man_page_keys);
	tcase_add_test(tc, test_bad_load_name);
	tcase_add_test(tc, test_name_valid);
	tcase_add_test(tc, test_parse_transition);
	tcase_add_test(tc, test_transitions_in_file);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_example_file);
	tcase_add_test(tc, test_ini_reader);
	tcase_add_test(tc, test_buf);
	tcase_add_test(tc, test_size_parse);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(conf_suite);
