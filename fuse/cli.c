/* cli.c - the efsfs command line: mkfs, mount, fsck, info, and the
 * mount(8) helper front end (mount.efsfs).  Exit codes: 0 success, 1 the
 * operation failed (or fsck found errors), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/log.h"
#include "fuse/control.h"
#include "fuse/fuse_i.h"
#include "tier/tier.h"

static const char usage_text[] =
	"usage: efsfs [--config FILE] COMMAND [ARGS]\n"
	"\n"
	"  mkfs [--chunk-size SIZE] NAME        create file system NAME (see efsfs.conf)\n"
	"  mount [-f] [-d] [-o OPTS] NAME DIR   mount NAME on DIR (-f: stay in foreground)\n"
	"  fsck [--repair] NAME                 check NAME's metadata and data (unmounted)\n"
	"  info NAME                            print NAME's id and settings\n"
	"  stats NAME                           storage bytes per class (CloudWatch names)\n"
	"  lifecycle run [--as-of DATE] NAME    apply the lifecycle policy now, or as if at DATE\n"
	"                                       (YYYY-MM-DD[THH:MM:SS], @EPOCH, now, +Nd)\n"
	"  lifecycle status NAME                the policy and the storage per class\n"
	"  gc NAME                              delete objects no chunk refers to\n"
	"  version                              print the version\n"
	"\n"
	"The configuration is --config FILE, else $EFSFS_CONFIG, else " CONF_DEFAULT_PATH
	"\n(optional: without it every file system uses the embedded defaults).\n"
	"Unmount with: umount DIR\n";

static int usage_error(const char *msg)
{
	if (msg)
		fprintf(stderr, "efsfs: %s\n", msg);
	fputs(usage_text, stderr);
	return 2;
}

/* "4M", "4MiB", "65536" -> bytes; 0 on a malformed value. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s)
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	return *end ? 0 : v;
}

static int load_conf(const char *config, const char *name, struct conf **ret)
{
	char err[1024];
	int r;

	if (!conf_name_valid(name)) {
		fprintf(stderr, "efsfs: '%s' is not a valid file system name (1-64 of A-Z a-z "
			"0-9 . _ -, not starting with . or -)\n", name);
		return -EINVAL;
	}
	r = conf_load(config, name, ret, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "efsfs: %s\n", err);
	return r;
}

/* Prints what fs_open changed or warns about, one line each. */
static void print_notes(const struct fs *fs)
{
	for (const char *p = fs_notes(fs); *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(stderr, "efsfs: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static int cmd_mkfs(const char *config, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "chunk-size", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 }
	};
	struct fs_ctx ctx = { geteuid(), getegid() };
	struct conf *conf;
	uint64_t chunk = 0;
	char id[FS_ID_LEN + 1], err[1024];
	int c, r;

	while ((c = getopt_long(argc, argv, "+c:", lopts, NULL)) != -1) {
		if (c != 'c')
			return usage_error(NULL);
		chunk = parse_size(optarg);
		if (!chunk)
			return usage_error("--chunk-size: expected a size such as 4M");
	}
	if (optind + 1 != argc)
		return usage_error("mkfs takes one file system NAME");
	if (load_conf(config, argv[optind], &conf) < 0)
		return 1;
	r = fs_mkfs(conf, &ctx, chunk, id, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: mkfs %s: %s\n", conf->name, err);
		conf_free(conf);
		return 1;
	}
	printf("%s\n", id);
	fprintf(stderr, "efsfs: created %s (%s) in %s\n", conf->name, id, conf->data_dir);
	if (conf->encrypted) {
		char warn[1024];

		fprintf(stderr, "efsfs: encrypted: cold chunk objects (IA and Archive) are "
			"encrypted with the key in %s; local data and metadata in %s are not\n",
			conf->key_file, conf->data_dir);
		if (tier_key_beside_store(conf, warn, sizeof(warn)))
			fprintf(stderr, "efsfs: warning: %s\n", warn);
	}
	conf_free(conf);
	return 0;
}

static int cmd_mount(const char *config, int argc, char **argv)
{
	bool fg = false, debug = false;
	char *opts = NULL;
	int c, code;

	while ((c = getopt(argc, argv, "+fdo:")) != -1) {
		switch (c) {
		case 'f': fg = true; break;
		case 'd': debug = true; fg = true; break;
		case 'o': opts = optarg; break;
		default: return usage_error(NULL);
		}
	}
	if (optind + 2 != argc)
		return usage_error("mount takes NAME and a mount point DIR");
	if (!conf_name_valid(argv[optind]))
		return load_conf(config, argv[optind], NULL) < 0 ? 1 : 1;
	code = efsfs_mount(config, argv[optind], argv[optind + 1], opts, fg, debug);
	return code;
}

static void fsck_report(const char *msg, void *arg)
{
	int *n = arg;

	(*n)++;
	printf("%s\n", msg);
}

static int cmd_fsck(const char *config, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "repair", no_argument, NULL, 'r' }, { NULL, 0, NULL, 0 }
	};
	struct conf *conf;
	bool repair = false;
	char err[1024];
	int c, r, lines = 0;

	while ((c = getopt_long(argc, argv, "+r", lopts, NULL)) != -1) {
		if (c != 'r')
			return usage_error(NULL);
		repair = true;
	}
	if (optind + 1 != argc)
		return usage_error("fsck takes one file system NAME");
	if (load_conf(config, argv[optind], &conf) < 0)
		return 1;
	r = fs_fsck(conf, repair, fsck_report, &lines, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: fsck %s: %s\n", conf->name, err);
		conf_free(conf);
		return 1;
	}
	printf("%s: %d error%s\n", conf->name, r, r == 1 ? "" : "s");
	conf_free(conf);
	return r ? 1 : 0;
}

static int cmd_info(const char *config, int argc, char **argv)
{
	struct conf *conf;
	struct fs *fs;
	char err[1024];
	int r;

	if (argc != 2)
		return usage_error("info takes one file system NAME");
	if (load_conf(config, argv[1], &conf) < 0)
		return 1;
	r = fs_open(conf, NULL, &fs, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: %s\n", err);
		conf_free(conf);
		return 1;
	}
	print_notes(fs);
	printf("name: %s\nfile_system_id: %s\ndata_dir: %s\nchunk_size: %" PRIu64 "\n"
	       "config: %s\n", conf->name, fs_id(fs), conf->data_dir, fs_chunk_size(fs),
	       conf->source ? conf->source : "(embedded defaults)");
	fs_close(fs);
	conf_free(conf);
	return 0;
}

/* Runs a control command on the daemon that has NAME mounted, or, when
 * none has, on the file system opened here. */
static int control_cmd(const char *config, const char *name, int argc, char **argv)
{
	struct conf *conf;
	struct fs *fs;
	char err[1024];
	int r;

	if (load_conf(config, name, &conf) < 0)
		return 1;
	r = control_client(conf->data_dir, argc, argv, stdout);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		r = fs_open(conf, NULL, &fs, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "efsfs: %s\n", err);
			conf_free(conf);
			return 1;
		}
		print_notes(fs);
		r = control_exec(fs, argc, argv, stdout);
		fs_close(fs);
	} else if (r < 0) {
		fprintf(stderr, "efsfs: %s: control socket: %s\n", name, strerror(-r));
		r = 1;
	}
	conf_free(conf);
	return r;
}

static int cmd_lifecycle(const char *config, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "as-of", required_argument, NULL, 'a' }, { NULL, 0, NULL, 0 }
	};
	const char *as_of = "now";
	char *cargv[2];
	int64_t t;
	int c;

	if (argc < 2)
		return usage_error("lifecycle takes run or status");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "status") == 0) {
		if (argc != 3)
			return usage_error("lifecycle status takes one file system NAME");
		cargv[0] = "status";
		return control_cmd(config, argv[2], 1, cargv);
	}
	if (strcmp(argv[1], "run") != 0)
		return usage_error("lifecycle takes run or status");
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+a:", lopts, NULL)) != -1) {
		if (c != 'a')
			return usage_error(NULL);
		as_of = optarg;
	}
	if (optind + 1 != argc)
		return usage_error("lifecycle run takes one file system NAME");
	if (control_parse_date(as_of, &t) < 0)
		return usage_error("--as-of: expected YYYY-MM-DD[THH:MM:SS], @EPOCH, now or +Nd");
	cargv[0] = "run";
	cargv[1] = (char *)as_of;
	/* relative dates are resolved here, not by a daemon with another clock */
	char abs[32];

	snprintf(abs, sizeof(abs), "@%lld", (long long)t);
	cargv[1] = abs;
	return control_cmd(config, argv[optind], 2, cargv);
}

int cli_main(int argc, char **argv)
{
	const char *config = NULL;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("efsfs %s\n", EFSFS_VERSION);
			return 0;
		} else {
			return usage_error("unknown option");
		}
	}
	if (i >= argc)
		return usage_error(NULL);
	argv += i;
	argc -= i;
	optind = 1;
	log_init("efsfs", false, LOG_INFO);
	if (strcmp(argv[0], "mkfs") == 0)
		return cmd_mkfs(config, argc, argv);
	if (strcmp(argv[0], "mount") == 0)
		return cmd_mount(config, argc, argv);
	if (strcmp(argv[0], "fsck") == 0)
		return cmd_fsck(config, argc, argv);
	if (strcmp(argv[0], "info") == 0)
		return cmd_info(config, argc, argv);
	if (strcmp(argv[0], "lifecycle") == 0)
		return cmd_lifecycle(config, argc, argv);
	if ((strcmp(argv[0], "stats") == 0 || strcmp(argv[0], "gc") == 0)) {
		if (argc != 2)
			return usage_error("stats and gc take one file system NAME");
		return control_cmd(config, argv[1], 1, argv);
	}
	if (strcmp(argv[0], "version") == 0) {
		printf("efsfs %s\n", EFSFS_VERSION);
		return 0;
	}
	fprintf(stderr, "efsfs: unknown command '%s'\n", argv[0]);
	return usage_error(NULL);
}

/* Options that mount(8) and fstab use and FUSE must not see. */
static bool mount_only_option(const char *o, size_t n)
{
	static const char *const drop[] = {
		"rw", "defaults", "_netdev", "nofail", "auto", "noauto", "user", "users", "nouser",
		"owner", "group", "nodev", "nosuid", "exec", "noexec", "dev", "suid", "relatime",
		"noatime", "atime", "strictatime", "nodiratime", NULL
	};

	if (n >= 2 && strncmp(o, "x-", 2) == 0)
		return true;
	if (n >= 8 && strncmp(o, "comment=", 8) == 0)
		return true;
	for (int i = 0; drop[i]; i++)
		if (strlen(drop[i]) == n && strncmp(o, drop[i], n) == 0)
			return true;
	return false;
}

/* mount.efsfs NAME DIR [-sfnv] [-o OPTS]: called by mount(8) for
 * "mount -t efsfs NAME DIR" and fstab lines "NAME DIR efsfs _netdev,nofail 0 0".
 * Options of our own: config=FILE; foreground. */
int cli_mount_helper(int argc, char **argv)
{
	char kept[4096] = "", *config = NULL, *name = NULL, *dir = NULL;
	bool fg = false;
	size_t used = 0;

	log_init("mount.efsfs", false, LOG_INFO);
	for (int i = 1; i < argc; i++) {
		const char *o, *p;

		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			for (o = argv[++i]; *o; o = *p ? p + 1 : p) {
				size_t n;

				p = strchr(o, ',');
				if (!p)
					p = o + strlen(o);
				n = (size_t)(p - o);
				if (n == 0 || mount_only_option(o, n))
					continue;
				if (n > 7 && strncmp(o, "config=", 7) == 0) {
					free(config);
					config = strndup(o + 7, n - 7);
					continue;
				}
				if (n == 10 && strncmp(o, "foreground", 10) == 0) {
					fg = true;
					continue;
				}
				if (used + n + 2 >= sizeof(kept)) {
					fprintf(stderr, "mount.efsfs: options too long\n");
					return 1;
				}
				if (used)
					kept[used++] = ',';
				memcpy(kept + used, o, n);
				used += n;
				kept[used] = '\0';
			}
		} else if (argv[i][0] == '-') {
			/* -s (sloppy), -f (fake), -n (no mtab), -v (verbose) */
			if (strcmp(argv[i], "-f") == 0) {
				free(config);
				return 0;
			}
		} else if (!name) {
			name = argv[i];
		} else if (!dir) {
			dir = argv[i];
		}
	}
	if (!name || !dir) {
		fprintf(stderr, "usage: mount.efsfs NAME DIR [-o OPTIONS]\n");
		free(config);
		return 2;
	}
	/* "NAME:/" as in EFS's "fs-id:/" fstab lines */
	{
		char *colon = strchr(name, ':');

		if (colon && strcmp(colon, ":/") == 0)
			*colon = '\0';
	}
	int code = efsfs_mount(config, name, dir, used ? kept : NULL, fg, false);

	free(config);
	return code;
}
