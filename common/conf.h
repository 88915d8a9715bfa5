/* conf.h - the efsfs.conf INI file and the embedded defaults.
 *
 * One section per file system, named as it is mounted ("mount -t efsfs dev
 * /mnt" reads [dev]); a [defaults] section applies to every file system and
 * its keys are overridden by the file system's own section.  Keys use the
 * EFS vocabulary; efsfs.conf.example documents every one.  With no config
 * file at all every value is the embedded default.
 *
 * Every error names the file, the line and the key:
 *   "/etc/efsfs/efsfs.conf:12: transition_to_ia: unknown value 'AFTER_2_DAYS'
 *    (expected NONE or AFTER_{1,7,14,30,60,90,180,270,365}_DAYS)"
 */
#ifndef EFSFS_CONF_H
#define EFSFS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH "/etc/efsfs/efsfs.conf"
#define CONF_NAME_MAX     64

enum conf_perf_mode { CONF_PERF_GENERAL_PURPOSE, CONF_PERF_MAX_IO };
enum conf_throughput_mode { CONF_TP_BURSTING, CONF_TP_PROVISIONED, CONF_TP_ELASTIC };
enum conf_statfs { CONF_STATFS_EFS, CONF_STATFS_LOCAL };
/* fuse_uring: whether to serve FUSE requests over io_uring (fuse/uring.c) */
enum conf_uring { CONF_URING_OFF, CONF_URING_AUTO, CONF_URING_ON };

struct conf {
	char name[CONF_NAME_MAX + 1];
	char *source;                  /* the file read, or NULL for embedded defaults */
	char *warning;                 /* NULL, or why a configuration file was skipped
	                                  (for the caller to print) */

	char *data_dir;                /* default: /var/lib/efsfs/NAME (root) or
	                                  $XDG_DATA_HOME|~/.local/share/efsfs/NAME */
	uint64_t chunk_size;           /* mkfs only; power of two, 64 KiB..64 MiB; default 4 MiB */

	enum conf_perf_mode performance_mode;          /* generalPurpose */
	enum conf_throughput_mode throughput_mode;     /* elastic (as the EFS console) */
	double provisioned_throughput_mibps;           /* 1..3414, required for provisioned */

	int transition_to_ia_days;       /* 0 = NONE; default 30 */
	int transition_to_archive_days;  /* 0 = NONE; default 90; must be > ia when both set */
	bool promote_after_1_access;     /* transition_to_primary_storage_class = AFTER_1_ACCESS; default false */
	int lifecycle_interval_s;        /* seconds between background scans; default 3600 */

	bool encrypted;                  /* default false; chosen at mkfs */
	char *key_file;                  /* default DATA_DIR/key */
	char *log_file;                  /* a detached daemon's log without syslog;
	                                    default DATA_DIR/efsfs.log */

	char *ia_store;                  /* URL; default file://DATA_DIR/objects */
	char *archive_store;             /* URL; default: same as ia_store */
	char *archive_storage_class;     /* S3 storage class for ARCHIVE puts; default GLACIER_IR,
	                                    or STANDARD with an s3_endpoint that is not AWS's */
	bool archive_storage_class_auto; /* that STANDARD was chosen (not set in the file) */
	char *s3_endpoint;               /* NULL = AWS */
	char *s3_region;                 /* NULL = us-east-1 */
	bool s3_path_style;              /* s3_url_style = path|virtual; default path */
	char *s3_ca_file;
	char *s3_profile;
	char *s3_access_key_id;
	char *s3_secret_access_key;
	int s3_connect_timeout_ms;       /* s3_connect_timeout (seconds); default 5 s */
	int s3_request_timeout_ms;       /* s3_request_timeout: one attempt; default 30 s */
	int s3_low_speed_limit;          /* bytes/s; 0 = no check; default 1024 ... */
	int s3_low_speed_time_s;         /* ... for s3_low_speed_time = 10 s fails an attempt */
	int s3_operation_timeout_ms;     /* s3_operation_timeout: all attempts; default 30 s */

	bool allow_other;                /* default true: a shared file system */
	double attr_timeout;             /* seconds; default 3600 (changes are notified) */
	double entry_timeout;            /* seconds; default 3600 */
	double negative_timeout;         /* seconds a missing name is cached; default 3600 */
	bool writeback_cache;            /* default true */
	bool passthrough;                /* default true: FUSE passthrough where the kernel allows */
	int fuse_spin_us;                /* 0..10000; default 50: the request loop's poll before sleeping */
	enum conf_uring fuse_uring;      /* off, auto (when the kernel offers it), on (root enables
	                                    it in the fuse module); default auto */
	enum conf_statfs statfs;         /* efs (8 EiB, as EFS) or local (the data disk); default efs */
	char *metrics_listen;            /* "127.0.0.1:PORT" ...: the Prometheus endpoint; NULL: off */
	char *stats_group;               /* a group whose members may read stats and metrics get
	                                    through STATS_DIR/NAME/stats.sock; NULL: no such socket */
	char *stats_dir;                 /* default /run/efsfs */

	/* The file system policy, EFS's client actions (elasticfilesystem:Client*). */
	bool client_mount;          /* client_mount = true|false, default true: mounts refused (EACCES) */
	bool client_write;          /* client_write, default true: false makes every mount deny_write */
	bool client_root_access;    /* client_root_access, default true: false makes every mount
				     * that is not through an access point squash_root */
};

/* Where a missing file means embedded defaults (CONF_DEFAULT_PATH unless
 * changed): for tests, and for packagers who keep /etc elsewhere. */
void conf_set_default_path(const char *path);

/* Loads file system `name` from `path`.  path NULL = $EFSFS_CONFIG; else
 * the user's own file ($XDG_CONFIG_HOME/efsfs/efsfs.conf, by default
 * ~/.config/efsfs/efsfs.conf) when it has a section [name]; else
 * CONF_DEFAULT_PATH.  When that is missing, or cannot be read (a root-only
 * file read by a user: c->warning then says so), the user file's [defaults]
 * or the embedded defaults apply.  An explicit path or $EFSFS_CONFIG that
 * does not exist is an error.  On error returns -EINVAL (or -errno of the
 * failed read) and writes "file:line: key: reason" into err. */
int conf_load(const char *path, const char *name, struct conf **ret, char *err, size_t errlen);
void conf_free(struct conf *c);          /* accepts NULL */

/* Calls cb for every file system section name in the file (not [defaults]);
 * used to find a file system by its fs- id.  0, or the error as conf_load. */
int conf_list(const char *path, int (*cb)(const char *name, void *arg), void *arg,
              char *err, size_t errlen);

/* true when name is a valid file system name: 1-64 of [A-Za-z0-9._-], not
 * starting with '.' or '-'. */
bool conf_name_valid(const char *name);

/* The i-th key of the key table ("data_dir", ...), NULL past the last: for
 * the test that efsfs.conf(5) documents every key. */
const char *conf_key_name(size_t i);

/* "AFTER_30_DAYS" -> 30, "NONE" -> 0; -1 when not an EFS lifecycle value. */
int conf_parse_transition(const char *value);

#endif
