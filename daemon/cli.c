/* cli.c - the efsfs command line (mkfs, mount, fsck, info, stats,
 * lifecycle, gc, access-point, help, version), its help texts and the COMMANDS section of
 * efsfs(8), and the mount(8) helper front end (mount.efsfs).  Exit codes: 0
 * success, 1 the operation failed (or fsck found errors), 2 bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/apcmd.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "meter/meter.h"
#include "tier/tier.h"

/* ---- the command and option tables ------------------------------------
 *
 * Every subcommand and every option is one row below.  `efsfs help`,
 * `efsfs COMMAND --help`, the getopt parsing and the COMMANDS section of
 * the efsfs(8) man page (built from man/efsfs.8.in by `efsfs help --man`)
 * are all made from these rows, so adding an option is one line in its
 * command's table (plus its case in the command's option switch).
 */

/* An option of a command.  key: the short option letter, or for an option
 * with only a long name OPT_LONG_ONLY, OPT_LONG_ONLY + 1, ... (distinct
 * within the command); the command's switch has a case for each key. */
struct cli_opt {
	int key;
	const char *name;          /* long name, without "--" */
	const char *arg;           /* the argument's name, NULL for a flag */
	const char *help;
};

#define OPT_LONG_ONLY 256
#define OPT_HELP      'h'

struct cli_cmd {
	const char *name;          /* "mkfs", "lifecycle run" */
	const char *args;          /* after the options: "NAME DIR" */
	const char *summary;       /* one line, for `efsfs help` */
	const char *doc;           /* a paragraph, for --help and the man page */
	const struct cli_opt *opts;
	int (*run)(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
};

static int cmd_mkfs(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_mount(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_fsck(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_control(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_lifecycle_run(const struct cli_cmd *cmd, const char *config, int argc,
			     char **argv);
static int cmd_help(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_version(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_gc(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_reidentify(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_store(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_stats(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_metrics_advance(const struct cli_cmd *cmd, const char *config, int argc,
			       char **argv);
static int cmd_metrics_get(const struct cli_cmd *cmd, const char *config, int argc,
			   char **argv);
static int cmd_ap_create(const struct cli_cmd *cmd, const char *config, int argc, char **argv);
static int cmd_ap(const struct cli_cmd *cmd, const char *config, int argc, char **argv);

static const struct cli_opt mkfs_opts[] = {
	{ 'c', "chunk-size", "SIZE", "the chunk size: a power of two from 64K to 64M (default: "
	  "chunk_size in the configuration, else 4M); fixed for the file system's life" },
	{ OPT_LONG_ONLY, "create-bucket", NULL, "create the S3 bucket of each s3:// store first "
	  "(with the region's LocationConstraint); an existing bucket that takes writes is kept" },
	{ 0 }
};

static const struct cli_opt mount_opts[] = {
	{ 'f', "foreground", NULL, "stay in the foreground and log to standard error" },
	{ 'd', "debug", NULL, "log every FUSE request (implies --foreground)" },
	{ 'o', "options", "OPTS", "comma-separated mount options passed to FUSE, such as ro (a "
	  "read-only mount; the first mount of a file system decides whether its daemon opens "
	  "it read-only, and a read-write mount of a read-only daemon is refused), and "
	  "accesspoint=fsap-ID: mount through that access point (whose mount checks "
	  "permissions as its PosixUser, as one of a file system without client_root_access "
	  "does with root squashed: default_permissions is refused on both)" },
	{ 0 }
};

static const struct cli_opt fsck_opts[] = {
	{ OPT_LONG_ONLY, "deep", NULL, "also fetch and verify every cold object (header, checksum, "
	  "the "
	  "SHA-256 the chunk map records)" },
	{ 'r', "repair", NULL, "repair what can be repaired (orphaned inodes, stray data files, "
	  "objects no chunk refers to); says what it cannot repair" },
	{ 0 }
};

static const struct cli_opt lifecycle_run_opts[] = {
	{ 'a', "as-of", "DATE", "run as if the time were DATE: YYYY-MM-DD[THH:MM:SS] (UTC), "
	  "@EPOCH, now or +Nd (N days from now); default now" },
	{ 0 }
};

static const struct cli_opt help_opts[] = {
	{ OPT_LONG_ONLY, "man", "TEMPLATE", "print the efsfs(8) man page made from TEMPLATE "
	  "(man/efsfs.8.in; the build does this)" },
	{ 0 }
};

static const struct cli_opt gc_opts[] = {
	{ OPT_LONG_ONLY, "legacy", NULL, "also delete unreferenced objects from before instance "
	  "ids, which a copy of the data directory made before the upgrade may still use "
	  "(see README, \"Whose objects are whose\")" },
	{ 0 }
};

static const struct cli_opt reidentify_opts[] = {
	{ OPT_LONG_ONLY, "force", NULL, "go on when some cold chunks have no object any more "
	  "(the original deleted them): those chunks then read as EIO" },
	{ 0 }
};

static const struct cli_opt stats_opts[] = {
	{ 'j', "json", NULL, "print one JSON object (the CloudWatch names as keys)" },
	{ 0 }
};

/* the option names of aws cloudwatch get-metric-statistics */
static const struct cli_opt metrics_get_opts[] = {
	{ OPT_LONG_ONLY, "metric-name", "NAME", "the CloudWatch name: DataReadIOBytes, "
	  "DataWriteIOBytes, MetadataReadIOBytes, MetadataWriteIOBytes, MetadataIOBytes, "
	  "TotalIOBytes, MeteredIOBytes, PermittedThroughput, BurstCreditBalance, PercentIOLimit, "
	  "ClientConnections or StorageBytes" },
	{ OPT_LONG_ONLY + 1, "start-time", "TIME", "the first second, ISO 8601 in UTC "
	  "(YYYY-MM-DDTHH:MM:SSZ), or @EPOCH" },
	{ OPT_LONG_ONLY + 2, "end-time", "TIME", "the end (not included), as --start-time" },
	{ OPT_LONG_ONLY + 3, "period", "SECONDS", "the length of a datapoint: a multiple of 60" },
	{ OPT_LONG_ONLY + 4, "statistics", "STAT...", "one or more of SampleCount, Average, Sum, "
	  "Minimum and Maximum (separated by spaces, as the AWS CLI takes them, or commas)" },
	{ OPT_LONG_ONLY + 5, "dimensions", "Name=StorageClass,Value=CLASS", "for StorageBytes: "
	  "the storage class (Name=FileSystemId,Value=... is accepted and ignored: NAME names the "
	  "file system)" },
	{ OPT_LONG_ONLY + 6, "namespace", "AWS/EFS", "accepted for the AWS CLI's sake; must be "
	  "AWS/EFS" },
	{ 0 }
};

/* The AWS CLI's spellings (aws efs create-access-point); parsed by
 * cmd_ap_create itself, which also takes NAME before the options. */
enum { AP_POSIX_USER = OPT_LONG_ONLY, AP_ROOT_DIRECTORY, AP_TAGS, AP_TAG, AP_CLIENT_TOKEN,
       AP_FILE_SYSTEM_ID };
static const struct cli_opt ap_create_opts[] = {
	{ AP_POSIX_USER, "posix-user", "USER", "required: the identity every request through "
	  "the access point runs as, whoever calls: Uid=N,Gid=N[,SecondaryGids=N,N...] (each "
	  "0 to 4294967295, at most 16 secondary gids), or as JSON "
	  "'{\"Uid\":N,\"Gid\":N,\"SecondaryGids\":[N]}'" },
	{ AP_ROOT_DIRECTORY, "root-directory", "DIR", "the directory the access point shows as "
	  "its root: Path=/dir[,CreationInfo={...}] with CreationInfo "
	  "{OwnerUid=N,OwnerGid=N,Permissions=0755}, or the same as JSON; default Path=/. A Path has at most 100 characters and 4 components, "
	  "no . or ..; with CreationInfo (all three fields, Permissions 3 or 4 octal digits) "
	  "the first mount makes the missing directories with that owner and mode, without "
	  "it a mount of a missing path fails; an existing directory is never changed" },
	{ AP_TAGS, "tags", "TAGS", "one or more Key=K,Value=V, or the JSON list "
	  "'[{\"Key\":\"K\",\"Value\":\"V\"}]'; at most 50, keys unique; the Name tag is "
	  "the access point's Name" },
	{ AP_TAG, "tag", "TAG", "the same as --tags; may be given several times" },
	{ AP_CLIENT_TOKEN, "client-token", "TOKEN", "1 to 64 characters that make the create "
	  "idempotent: the same request with the same token returns the same access point, "
	  "another request with it fails" },
	{ AP_FILE_SYSTEM_ID, "file-system-id", "ID", "the file system, as the AWS CLI takes "
	  "it, instead of NAME: its name or fs- id" },
	{ 0 }
};

static const struct cli_opt no_opts[] = { { 0 } };

static const struct cli_cmd commands[] = {
	{ "mkfs", "NAME", "create file system NAME",
	  "Creates file system NAME in its data directory, with the settings of its section of "
	  "the configuration (or the embedded defaults), and prints its new id (fs- and 17 "
	  "hex digits).",
	  mkfs_opts, cmd_mkfs },
	{ "mount", "SOURCE DIR", "mount NAME, NAME:/path or fs-ID on DIR",
	  "Mounts a file system on directory DIR and returns once the mount is live. SOURCE is "
	  "NAME, NAME:/path (the directory path of it, which must exist), fs-ID or fs-ID:/path "
	  "(the file system whose id this is, found among the configuration's sections and the "
	  "default data directories). A file system can be mounted any number of times: the "
	  "first mount starts its daemon, every later one is served by that daemon, and the "
	  "last umount stops it. After kill -9 of the daemon every mount answers ENOTCONN: "
	  "umount them (a mount of the same file system on a dead mount point detaches it "
	  "itself), then mount again. Unmount with umount DIR. mount -t efsfs SOURCE DIR does "
	  "the same through mount.efsfs(8).",
	  mount_opts, cmd_mount },
	{ "fsck", "NAME", "check an unmounted file system",
	  "Checks the metadata, the data files and the cold objects of file system NAME, which "
	  "must not be mounted: every cold chunk's object must be in its store (a listing), "
	  "and objects no chunk refers to are reported. Prints each problem and the number of "
	  "errors, and exits 1 when there are any.",
	  fsck_opts, cmd_fsck },
	{ "info", "NAME", "print NAME's id and settings",
	  "Prints the file system's name, fs- id, data directory, chunk size and the "
	  "configuration file it was read from, from the mounted daemon or, unmounted, from "
	  "the file system itself.",
	  no_opts, cmd_control },
	{ "stats", "NAME", "every metric under its CloudWatch name",
	  "Prints every metric of the file system under its CloudWatch name (DataReadIOBytes, "
	  "DataWriteIOBytes, MetadataIOBytes, TotalIOBytes, MeteredIOBytes, "
	  "PermittedThroughput, BurstCreditBalance, PercentIOLimit, ClientConnections, "
	  "StorageBytes per storage class, ...), from the mounted daemon or, unmounted, from "
	  "the file system itself (the I/O counters are then 0). Root and the owner use the "
	  "control socket; with stats_group = GROUP in the configuration, members of GROUP "
	  "read it from the mounted daemon's read-only stats socket. See README, "
	  "\"Throughput, performance modes and metrics\".",
	  stats_opts, cmd_stats },
	{ "metrics advance", "NAME SECONDS", "move the meter's test clock (tests only)",
	  "Moves the meter's clock of the mounted file system NAME on by SECONDS, as if the "
	  "file system had been idle that long (burst credits accrue). Only for a daemon "
	  "started with EFSFS_METER_TEST_CLOCK=1 in its environment; refused otherwise.",
	  no_opts, cmd_metrics_advance },
	{ "metrics get", "NAME", "statistics of a metric's history (as aws cloudwatch)",
	  "Prints the statistics of one metric of file system NAME over a time range, from the "
	  "one-minute datapoints kept for 16 days in the file system's metadata, as the JSON "
	  "that aws cloudwatch get-metric-statistics prints. The options take that command's "
	  "names; SampleCount counts one-minute datapoints. Members of stats_group may run it "
	  "on a mounted file system, as efsfs stats.",
	  metrics_get_opts, cmd_metrics_get },
	{ "lifecycle run", "NAME", "apply the lifecycle policy now",
	  "Moves every chunk that the policy says is due to IA or Archive, and prints what "
	  "moved and what failed. With --as-of, as if the time were DATE.",
	  lifecycle_run_opts, cmd_lifecycle_run },
	{ "lifecycle status", "NAME", "the policy, the last pass, storage per class",
	  "Prints the lifecycle policy, the stores, the storage per class and a summary of "
	  "the last lifecycle pass.",
	  no_opts, cmd_control },
	{ "gc", "NAME", "delete objects no chunk refers to",
	  "Deletes the objects in the IA and Archive stores that no chunk of the file system "
	  "refers to any more (left by a crash or a deleted file). It deletes only objects "
	  "whose keys carry this file system's instance id, after reading every store's claim "
	  "again; it reports how many unreferenced objects from before instance ids it kept.",
	  gc_opts, cmd_gc },
	{ "reidentify", "NAME", "give a copied data directory its own identity",
	  "Gives file system NAME, a copy of another's data directory that shares its stores, "
	  "a new fs- id and instance id, and copies every cold chunk to objects of its own "
	  "(verified before the chunk map names them). A copy refuses to mount until this ran. "
	  "An interrupted run goes on where it stopped.",
	  reidentify_opts, cmd_reidentify },
	{ "store set-url", "NAME OLD NEW", "record that store OLD's objects moved to NEW",
	  "After the objects of store OLD were copied to NEW and the configuration names NEW, "
	  "checks that NEW holds every cold chunk's object and records it as the store of that "
	  "class. OLD is not cleaned up.",
	  no_opts, cmd_store },
	{ "store claim", "NAME", "claim the stores for a moved data directory",
	  "Writes this data directory's claim into every store, after the data directory "
	  "moved or the host was renamed. Never use it for a copy: use reidentify.",
	  no_opts, cmd_store },
	{ "access-point create", "NAME", "create an access point; prints its fsap- id",
	  "Creates an access point of file system NAME (its name or its fs- id) as EFS's "
	  "CreateAccessPoint does, and prints its id (fsap- and 17 hex digits). A mount "
	  "through it (mount -t efsfs -o accesspoint=ID NAME DIR) sees the root directory as "
	  "its root and runs every request as its PosixUser. The options are the AWS CLI's: "
	  "a command of the EFS documentation works with 'aws efs create-access-point "
	  "--file-system-id fs-ID' replaced by 'efsfs access-point create NAME'. Access "
	  "points live in the file system's metadata, cannot be changed once created, and "
	  "number at most 10,000 per file system. Through the daemon when NAME is mounted.",
	  ap_create_opts, cmd_ap_create },
	{ "access-point list", "NAME", "NAME's access points, as JSON",
	  "Prints every access point of file system NAME as EFS's DescribeAccessPoints does: "
	  "{\"AccessPoints\": [...]} with each one's AccessPointId, FileSystemId, PosixUser, "
	  "RootDirectory, Tags (and Name) and LifeCycleState.",
	  no_opts, cmd_ap },
	{ "access-point describe", "NAME ID", "one access point, as JSON",
	  "Prints access point ID of file system NAME as JSON, in the shape of one element "
	  "of access-point list; exits 1 when there is no such access point.",
	  no_opts, cmd_ap },
	{ "access-point delete", "NAME ID", "delete an access point",
	  "Deletes access point ID of file system NAME. Its root directory and the files in "
	  "it stay; mounts through it that are live keep working until unmounted.",
	  no_opts, cmd_ap },
	{ "help", "[COMMAND]", "this list, or the help of COMMAND",
	  "Prints the list of commands, or the usage and options of COMMAND (as "
	  "efsfs COMMAND --help does).",
	  help_opts, cmd_help },
	{ "version", "", "print the version",
	  "Prints the version of efsfs (as efsfs --version does).",
	  no_opts, cmd_version },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_opt global_opts[] = {
	{ OPT_LONG_ONLY, "config", "FILE", "read FILE instead of the usual configuration "
	  "files (also $EFSFS_CONFIG)" },
	{ 'V', "version", NULL, "print the version and exit" },
	{ OPT_HELP, "help", NULL, "print this help and exit" },
	{ 0 }
};

static const char config_text[] =
	"The configuration is --config FILE or $EFSFS_CONFIG when given (that file\n"
	"alone). Else a file system with a section in the user's own file\n"
	"($XDG_CONFIG_HOME/efsfs/efsfs.conf, by default ~/.config/efsfs/efsfs.conf) is\n"
	"read from there, and any other from " CONF_DEFAULT_PATH " (skipped with a\n"
	"warning when it cannot be read). Without a file, the embedded defaults apply.\n"
	"See efsfs.conf(5).\n";

/* Prints "  -c, --chunk-size SIZE" and the help, wrapped, for one option. */
static void print_opt(FILE *out, const struct cli_opt *o)
{
	char head[64];
	const char *h = o->help;
	int col;

	if (o->key < OPT_LONG_ONLY)
		snprintf(head, sizeof(head), "  -%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(head, sizeof(head), "      --%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	fputs(head, out);
	col = (int)strlen(head);
	if (col > 24) {
		fputc('\n', out);
		col = 0;
	}
	fprintf(out, "%*s", 26 - col, "");
	col = 26;
	/* word-wrapped at 79 columns, continuation lines indented to 26 */
	while (*h) {
		size_t w = strcspn(h, " ");

		if (col > 26 && col + 1 + (int)w > 79) {
			fprintf(out, "\n%26s", "");
			col = 26;
		} else if (col > 26) {
			fputc(' ', out);
			col++;
		}
		fwrite(h, 1, w, out);
		col += (int)w;
		h += w;
		while (*h == ' ')
			h++;
	}
	fputc('\n', out);
}

static void print_wrapped(FILE *out, const char *text, int indent)
{
	int col = 0;

	while (*text) {
		size_t w = strcspn(text, " ");

		if (col == 0) {
			fprintf(out, "%*s", indent, "");
			col = indent;
		} else if (col + 1 + (int)w > 79) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, w, out);
		col += (int)w;
		text += w;
		while (*text == ' ')
			text++;
	}
	fputc('\n', out);
}

static void print_cmd_usage(FILE *out, const struct cli_cmd *cmd)
{
	fprintf(out, "usage: efsfs %s%s%s%s\n", cmd->name, cmd->opts[0].name ? " [OPTIONS]" : "",
		cmd->args[0] ? " " : "", cmd->args);
}

static void print_cmd_help(FILE *out, const struct cli_cmd *cmd)
{
	static const struct cli_opt help_opt = { OPT_HELP, "help", NULL, "print this help" };

	print_cmd_usage(out, cmd);
	fputc('\n', out);
	print_wrapped(out, cmd->doc, 0);
	fputs("\nOptions:\n", out);
	for (const struct cli_opt *o = cmd->opts; o->name; o++)
		print_opt(out, o);
	print_opt(out, &help_opt);
}

static void print_main_help(FILE *out)
{
	int width = 26;

	/* the summaries in one column, after the longest "COMMAND ARGS" */
	for (size_t i = 0; i < N_COMMANDS; i++) {
		int w = (int)(strlen(commands[i].name) + 1 + strlen(commands[i].args));

		if (w > width)
			width = w;
	}
	fputs("usage: efsfs [--config FILE] COMMAND [OPTIONS] [ARGS]\n"
	      "       efsfs help [COMMAND]\n\nCommands:\n", out);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char head[64];

		snprintf(head, sizeof(head), "%s%s%s", commands[i].name,
			 commands[i].args[0] ? " " : "", commands[i].args);
		fprintf(out, "  %-*s %s\n", width, head, commands[i].summary);
	}
	fputs("\nOptions:\n", out);
	for (const struct cli_opt *o = global_opts; o->name; o++)
		print_opt(out, o);
	fputc('\n', out);
	fputs(config_text, out);
	fputs("Run 'efsfs COMMAND --help' for the options of a command; see also efsfs(8).\n"
	      "Unmount with: umount DIR\n", out);
}

/* A usage error: the message, the command's usage line (or the main
 * help), and exit code 2. */
static int usage_error(const struct cli_cmd *cmd, const char *msg)
{
	if (msg)
		fprintf(stderr, "efsfs: %s\n", msg);
	if (cmd) {
		print_cmd_usage(stderr, cmd);
		fprintf(stderr, "Try 'efsfs %s --help'.\n", cmd->name);
	} else {
		print_main_help(stderr);
	}
	return 2;
}

/* getopt_long over cmd's options plus -h/--help.  Returns the option's key
 * (OPT_HELP for help), -1 after the last option, or '?' for a bad one (getopt
 * has printed why). */
static int cmd_getopt(const struct cli_cmd *cmd, int argc, char **argv)
{
	static const struct cli_cmd *built;
	static struct option lopts[32];
	static char sopts[96];

	if (built != cmd) {
		size_t n = 0, k = 0;

		sopts[k++] = '+';
		for (const struct cli_opt *o = cmd->opts; o->name && n < 30; o++, n++) {
			lopts[n] = (struct option){ o->name, o->arg ? required_argument : no_argument,
						    NULL, o->key };
			if (o->key < OPT_LONG_ONLY) {
				sopts[k++] = (char)o->key;
				if (o->arg)
					sopts[k++] = ':';
			}
		}
		lopts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
		lopts[n] = (struct option){ NULL, 0, NULL, 0 };
		sopts[k++] = 'h';
		sopts[k] = '\0';
		built = cmd;
	}
	return getopt_long(argc, argv, sopts, lopts, NULL);
}

static const struct cli_cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* true when some command's name is "group WORD" */
static bool cmd_group(const char *group)
{
	size_t len = strlen(group);

	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strncmp(commands[i].name, group, len) == 0 && commands[i].name[len] == ' ')
			return true;
	return false;
}

/* "lifecycle" alone: the commands whose name starts with "lifecycle ". */
static bool print_group_help(FILE *out, const char *group)
{
	size_t len = strlen(group);
	bool any = false;

	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strncmp(commands[i].name, group, len) != 0 || commands[i].name[len] != ' ')
			continue;
		if (any)
			fputc('\n', out);
		print_cmd_help(out, &commands[i]);
		any = true;
	}
	return any;
}

/* ---- efsfs(8) from the tables ------------------------------------------- */

/* Writes s with roff's special characters escaped. */
static void roff_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);       /* not a request */
	for (; *s; s++) {
		if (*s == '-' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

/* One command for the COMMANDS section: ".TP" with the synopsis, the doc,
 * then its options as an indented list. */
static void roff_cmd(FILE *out, const struct cli_cmd *cmd)
{
	fputs(".TP\n\\fBefsfs ", out);
	roff_text(out, cmd->name);
	fputs("\\fR", out);
	if (cmd->opts[0].name)
		fputs(" [\\fIOPTIONS\\fR]", out);
	for (const char *a = cmd->args; *a;) {
		size_t w = strcspn(a, " ");

		fputs(" \\fI", out);
		fwrite(a, 1, w, out);
		fputs("\\fR", out);
		a += w;
		while (*a == ' ')
			a++;
	}
	fputc('\n', out);
	roff_text(out, cmd->doc);
	fputc('\n', out);
	if (!cmd->opts[0].name)
		return;
	fputs(".RS\n", out);
	for (const struct cli_opt *o = cmd->opts; o->name; o++) {
		fputs(".TP\n", out);
		if (o->key < OPT_LONG_ONLY)
			fprintf(out, "\\fB\\-%c\\fR, ", o->key);
		fputs("\\fB\\-\\-", out);
		roff_text(out, o->name);
		fputs("\\fR", out);
		if (o->arg) {
			fputs(" \\fI", out);
			roff_text(out, o->arg);
			fputs("\\fR", out);
		}
		fputc('\n', out);
		roff_text(out, o->help);
		fputc('\n', out);
	}
	fputs(".RE\n", out);
}

/* Copies the template to stdout with its "@COMMANDS@" line replaced by the
 * command list, its "@OPTIONS@" line by the global options and "@VERSION@"
 * by the version. */
static int print_man(const char *template)
{
	char line[1024];
	FILE *in = fopen(template, "re");

	if (!in) {
		fprintf(stderr, "efsfs: %s: %s\n", template, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		char *v = strstr(line, "@VERSION@");

		if (strcmp(line, "@COMMANDS@\n") == 0) {
			for (size_t i = 0; i < N_COMMANDS; i++)
				roff_cmd(stdout, &commands[i]);
		} else if (strcmp(line, "@OPTIONS@\n") == 0) {
			for (const struct cli_opt *o = global_opts; o->name; o++) {
				fputs(".TP\n", stdout);
				if (o->key < OPT_LONG_ONLY)
					printf("\\fB\\-%c\\fR, ", o->key);
				fputs("\\fB\\-\\-", stdout);
				roff_text(stdout, o->name);
				fputs("\\fR", stdout);
				if (o->arg)
					printf(" \\fI%s\\fR", o->arg);
				fputc('\n', stdout);
				roff_text(stdout, o->help);
				fputc('\n', stdout);
			}
		} else if (v) {
			*v = '\0';
			printf("%s%s%s", line, EFSFS_VERSION, v + 9);
		} else {
			fputs(line, stdout);
		}
	}
	fclose(in);
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}

static int cmd_help(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	const struct cli_cmd *c;
	const char *man = NULL;
	char name[64];
	int o;

	while ((o = cmd_getopt(cmd, argc, argv)) != -1) {
		if (o == OPT_HELP) {
			print_cmd_help(stdout, cmd);
			return 0;
		}
		if (o != OPT_LONG_ONLY)
			return usage_error(cmd, NULL);
		man = optarg;
	}
	argc -= optind;
	argv += optind;
	if (man)
		return argc ? usage_error(cmd, "help --man takes only the TEMPLATE") : print_man(man);
	if (argc == 0) {
		print_main_help(stdout);
		return 0;
	}
	if (argc > 2)
		return usage_error(cmd, "help takes one COMMAND");
	snprintf(name, sizeof(name), "%s%s%s", argv[0], argc == 2 ? " " : "",
		 argc == 2 ? argv[1] : "");
	c = cmd_find(name);
	if (c) {
		print_cmd_help(stdout, c);
		return 0;
	}
	if (argc == 1 && print_group_help(stdout, name))
		return 0;
	fprintf(stderr, "efsfs: help: unknown command '%s'\n", name);
	return usage_error(NULL, NULL);
}

static int cmd_version(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	int o;

	while ((o = cmd_getopt(cmd, argc, argv)) != -1) {
		if (o != OPT_HELP)
			return usage_error(cmd, NULL);
		print_cmd_help(stdout, cmd);
		return 0;
	}
	if (optind != argc)
		return usage_error(cmd, "version takes no arguments");
	printf("efsfs %s\n", EFSFS_VERSION);
	return 0;
}

/* The common case: no options but --help, then exactly `nargs` arguments,
 * which start at argv[optind].  Returns -1 to go on, or the exit code. */
static int parse_simple(const struct cli_cmd *cmd, int argc, char **argv, int nargs)
{
	int o;

	while ((o = cmd_getopt(cmd, argc, argv)) != -1) {
		if (o == OPT_HELP) {
			print_cmd_help(stdout, cmd);
			return 0;
		}
		return usage_error(cmd, NULL);
	}
	if (argc - optind != nargs) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%s takes %s", cmd->name, cmd->args);
		return usage_error(cmd, msg);
	}
	return -1;
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

/* ---- mount sources: NAME, NAME:/path, fs-ID, fs-ID:/path ---------------- */

#define SOURCE_CANDIDATES_MAX 256

/* Whether s[0..n) is a file system id: "fs-" and 17 hex digits. */
static bool is_fs_id(const char *s, size_t n)
{
	if (n != FS_ID_LEN || strncmp(s, "fs-", 3) != 0)
		return false;
	for (size_t i = 3; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

/* The search for the file system whose id is id (find_by_id). */
struct id_search {
	const char *config;
	const char *id;
	char names[SOURCE_CANDIDATES_MAX][CONF_NAME_MAX + 1];   /* looked at */
	unsigned n;
	char match[2][CONF_NAME_MAX + 1];
	unsigned matches;
};

/* The fs- id of file system NAME into id: from its daemon (efsfs info)
 * when mounted, else from a read-only open.  0 or -errno. */
static int id_of(const char *config, const char *name, char *id, size_t len)
{
	char *argv[1] = { "info" }, *text = NULL, *p;
	size_t text_len = 0, n;
	struct conf *conf;
	struct fs *fs;
	char err[1024];
	FILE *out;
	int r;

	if (conf_load(config, name, &conf, err, sizeof(err)) < 0)
		return -EINVAL;
	out = open_memstream(&text, &text_len);
	if (!out) {
		conf_free(conf);
		return -ENOMEM;
	}
	r = control_client(conf->data_dir, 1, argv, out);
	fclose(out);
	if (r == 0 && (p = strstr(text, "file_system_id: "))) {
		p += strlen("file_system_id: ");
		n = strcspn(p, "\n");
		snprintf(id, len, "%.*s", (int)n, p);
	} else {
		r = fs_open_flags(conf, NULL, FS_OPEN_RDONLY, &fs, err, sizeof(err));
		if (r == 0) {
			snprintf(id, len, "%s", fs_id(fs));
			fs_close(fs);
		}
	}
	free(text);
	conf_free(conf);
	return r;
}

static int id_candidate(const char *name, void *arg)
{
	struct id_search *s = arg;
	char id[FS_ID_LEN + 1];

	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return 0;
	if (s->n == SOURCE_CANDIDATES_MAX || !conf_name_valid(name))
		return 0;
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name);
	if (id_of(s->config, name, id, sizeof(id)) == 0 && strcmp(id, s->id) == 0) {
		if (s->matches < 2)
			snprintf(s->match[s->matches], sizeof(s->match[0]), "%s", name);
		s->matches++;
	}
	return 0;
}

/* Where file systems without a data_dir of their own are: the base of the
 * embedded default data_dir (as common/conf.c makes it: /var/lib/efsfs for
 * root, else $XDG_DATA_HOME/efsfs or ~/.local/share/efsfs). */
static void default_data_base(char *buf, size_t len)
{
	const char *base = getenv("XDG_DATA_HOME");

	if (geteuid() == 0)
		snprintf(buf, len, "/var/lib/efsfs");
	else if (base && base[0] == '/')
		snprintf(buf, len, "%s/efsfs", base);
	else if ((base = getenv("HOME")) && base[0] == '/')
		snprintf(buf, len, "%s/.local/share/efsfs", base);
	else
		buf[0] = '\0';
}

/* Finds the file system whose id is id: every section of the
 * configuration (--config or $EFSFS_CONFIG alone when given, else the
 * user's file and the system's), then every data directory under the
 * default base.  Prints why not: none, or more than one (a copy). */
static int find_by_id(const char *prog, const char *config, const char *id, char *name,
		      size_t len)
{
	struct id_search *s = calloc(1, sizeof(*s));
	char base[PATH_MAX], user[PATH_MAX] = "", err[1024];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct dirent *e;
	DIR *dir;
	int r = -ENOENT;

	if (!s)
		return -ENOMEM;
	s->config = config;
	s->id = id;
	if (conf_list(config, id_candidate, s, err, sizeof(err)) < 0)
		fprintf(stderr, "%s: warning: %s\n", prog, err);
	if (!config && !getenv("EFSFS_CONFIG")) {
		if (xdg && xdg[0] == '/')
			snprintf(user, sizeof(user), "%s/efsfs/efsfs.conf", xdg);
		else if (home && home[0] == '/')
			snprintf(user, sizeof(user), "%s/.config/efsfs/efsfs.conf", home);
		if (user[0] && access(user, R_OK) == 0 &&
		    conf_list(user, id_candidate, s, err, sizeof(err)) < 0)
			fprintf(stderr, "%s: warning: %s\n", prog, err);
	}
	default_data_base(base, sizeof(base));
	dir = base[0] ? opendir(base) : NULL;
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.')
			id_candidate(e->d_name, s);
	if (dir)
		closedir(dir);
	if (s->matches == 1) {
		snprintf(name, len, "%s", s->match[0]);
		r = 0;
	} else if (s->matches == 0) {
		fprintf(stderr, "%s: %s: no file system has this id (looked at %u file systems: "
			"the sections of the configuration and the data directories in %s); "
			"'efsfs info NAME' shows a file system's id\n", prog, id, s->n,
			base[0] ? base : "(no default data directory)");
	} else {
		fprintf(stderr, "%s: %s: %u file systems have this id (%s and %s: a copied data "
			"directory?); mount one by name, and give the copy its own id with "
			"'efsfs reidentify NAME'\n", prog, id, s->matches, s->match[0], s->match[1]);
		r = -EEXIST;
	}
	free(s);
	return r;
}

/* Splits a mount source (NAME, NAME:/path, fs-ID, fs-ID:/path, as EFS's
 * mount helper takes them) into the file system's name and the path of the
 * directory to mount ("" for the root).  Prints why not. */
static int parse_source(const char *prog, const char *config, const char *source, char *name,
			size_t namelen, char *path, size_t pathlen)
{
	const char *colon = strchr(source, ':');
	size_t n = colon ? (size_t)(colon - source) : strlen(source);

	path[0] = '\0';
	if (colon && colon[1] != '/') {
		fprintf(stderr, "%s: %s: expected NAME, NAME:/path, fs-ID or fs-ID:/path\n", prog,
			source);
		return -EINVAL;
	}
	if (colon && strcmp(colon + 1, "/") != 0) {
		if (strpbrk(colon + 1, ",\t\n") || strlen(colon + 1) >= pathlen) {
			fprintf(stderr, "%s: %s: a mounted path may not hold ',', a tab or a "
				"newline, and has at most %zu bytes\n", prog, source, pathlen - 1);
			return -EINVAL;
		}
		snprintf(path, pathlen, "%s", colon + 1);
	}
	if (is_fs_id(source, n)) {
		char id[FS_ID_LEN + 1];

		snprintf(id, sizeof(id), "%.*s", (int)n, source);
		return find_by_id(prog, config, id, name, namelen);
	}
	if (n > CONF_NAME_MAX || n >= namelen) {
		fprintf(stderr, "%s: '%.*s' is not a valid file system name (1-64 of A-Z a-z 0-9 . "
			"_ -, not starting with . or -)\n", prog, (int)n, source);
		return -EINVAL;
	}
	snprintf(name, namelen, "%.*s", (int)n, source);
	if (!conf_name_valid(name)) {
		fprintf(stderr, "%s: '%s' is not a valid file system name (1-64 of A-Z a-z 0-9 . _ "
			"-, not starting with . or -)\n", prog, name);
		return -EINVAL;
	}
	return 0;
}

/* Takes "accesspoint=fsap-..." out of the comma-separated opts (in place;
 * may be NULL) into ap ("" when none); false, saying why, for a malformed
 * id. */
static bool take_access_point(const char *prog, char *opts, char *ap, size_t aplen)
{
	char *o = opts;
	size_t len;

	ap[0] = '\0';
	while (o && *o) {
		size_t n = strcspn(o, ",");

		if (n >= 12 && strncmp(o, "accesspoint=", 12) == 0) {
			const char *v = o + 12;
			size_t vn = n - 12, skip = n + (o[n] == ',');
			bool ok = vn == 22 && strncmp(v, "fsap-", 5) == 0;

			for (size_t i = 5; ok && i < vn; i++)
				ok = strchr("0123456789abcdef", v[i]) != NULL;
			if (!ok) {
				fprintf(stderr, "%s: accesspoint=%.*s: expected fsap- and 17 hex "
					"digits\n", prog, (int)vn, v);
				return false;
			}
			snprintf(ap, aplen, "%.*s", (int)vn, v);
			memmove(o, o + skip, strlen(o + skip) + 1);
			continue;
		}
		o += n + (o[n] == ',');
	}
	len = opts ? strlen(opts) : 0;
	if (len && opts[len - 1] == ',')
		opts[len - 1] = '\0';
	return true;
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
	else if ((*ret)->warning)
		fprintf(stderr, "efsfs: warning: %s\n", (*ret)->warning);
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

static int cmd_mkfs(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	struct fs_ctx ctx = { geteuid(), getegid() };
	struct conf *conf;
	uint64_t chunk = 0;
	bool create_bucket = false;
	char id[FS_ID_LEN + 1], err[1024];
	int c, r;

	while ((c = cmd_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case 'c':
			chunk = parse_size(optarg);
			if (!chunk)
				return usage_error(cmd, "--chunk-size: expected a size such as 4M");
			break;
		case OPT_LONG_ONLY:
			create_bucket = true;
			break;
		case OPT_HELP:
			print_cmd_help(stdout, cmd);
			return 0;
		default:
			return usage_error(cmd, NULL);
		}
	}
	if (optind + 1 != argc)
		return usage_error(cmd, "mkfs takes one file system NAME");
	if (load_conf(config, argv[optind], &conf) < 0)
		return 1;
	/* the stores first: a file system whose cold data has nowhere to go is not made */
	r = tier_check_stores(conf, create_bucket, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: mkfs %s: %s\n", conf->name, err);
		conf_free(conf);
		return 1;
	}
	if (conf->archive_storage_class_auto && strncmp(conf->archive_store, "s3://", 5) == 0)
		fprintf(stderr, "efsfs: %s: archive_storage_class STANDARD (the default for an "
			"s3_endpoint that is not AWS S3; set it to choose another)\n", conf->name);
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

/* Mounts source (as written) at dir: the fsname is the source when it is
 * not the plain name, so that mount(8) finds an fstab line mounted.  opts
 * (may be NULL) is changed: accesspoint= is taken out.  Returns the exit
 * code; bad_source: the one for a source or option refused here. */
static int mount_source(const char *prog, const char *config, const char *source,
			const char *dir, char *opts, bool fg, bool debug, int bad_source)
{
	char name[CONF_NAME_MAX + 1], path[PATH_MAX], ap[32], *all = NULL;
	struct efsfs_mount_req req = { .config = config, .mountpoint = dir, .foreground = fg,
				       .debug = debug };
	int code;

	if (parse_source(prog, config, source, name, sizeof(name), path, sizeof(path)) < 0)
		return bad_source;
	if (!take_access_point(prog, opts, ap, sizeof(ap)))
		return bad_source;
	req.name = name;
	req.subdir = path[0] ? path : NULL;
	req.access_point = ap[0] ? ap : NULL;
	req.opts = opts && *opts ? opts : NULL;
	if (strcmp(source, name) != 0 && !(opts && strstr(opts, "fsname="))) {
		if (asprintf(&all, "%s%sfsname=%s", opts && *opts ? opts : "",
			     opts && *opts ? "," : "", source) < 0)
			return 1;
		req.opts = all;
	}
	code = efsfs_mount(&req);
	free(all);
	return code;
}

static int cmd_mount(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	bool fg = false, debug = false;
	char *opts = NULL;
	int c, code;

	while ((c = cmd_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case 'f': fg = true; break;
		case 'd': debug = true; fg = true; break;
		case 'o': free(opts); opts = strdup(optarg); break;
		case OPT_HELP: free(opts); print_cmd_help(stdout, cmd); return 0;
		default: free(opts); return usage_error(cmd, NULL);
		}
	}
	if (optind + 2 != argc) {
		free(opts);
		return usage_error(cmd, "mount takes a SOURCE (NAME, NAME:/path, fs-ID or "
				   "fs-ID:/path) and a mount point DIR");
	}
	code = mount_source("efsfs", config, argv[optind], argv[optind + 1], opts, fg, debug, 1);
	free(opts);
	return code;
}

static void fsck_report(const char *msg, void *arg)
{
	int *n = arg;

	(*n)++;
	printf("%s\n", msg);
}

static int cmd_fsck(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	struct conf *conf;
	struct fs *fs;
	bool repair = false;
	unsigned flags = 0;
	char err[1024];
	int c, r, cold, lines = 0;

	while ((c = cmd_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case 'r': repair = true; break;
		case OPT_LONG_ONLY: flags |= TIER_FSCK_DEEP; break;
		case OPT_HELP: print_cmd_help(stdout, cmd); return 0;
		default: return usage_error(cmd, NULL);
		}
	}
	if (repair)
		flags |= TIER_FSCK_REPAIR;
	if (optind + 1 != argc)
		return usage_error(cmd, "fsck takes one file system NAME");
	if (load_conf(config, argv[optind], &conf) < 0)
		return 1;
	r = tier_fs_open(conf, NULL, 0, &fs, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: fsck %s: %s\n", conf->name, err);
		conf_free(conf);
		return 1;
	}
	/* the metadata and local data, then the cold objects in the stores */
	r = fs_fsck_open(fs, repair, fsck_report, &lines, err, sizeof(err));
	if (r >= 0) {
		cold = tier_fsck(fs, flags, fsck_report, &lines, err, sizeof(err));
		r = cold < 0 ? cold : r + cold;
	}
	fs_close(fs);
	if (r < 0) {
		fprintf(stderr, "efsfs: fsck %s: %s\n", conf->name, err);
		conf_free(conf);
		return 1;
	}
	printf("%s: %d error%s\n", conf->name, r, r == 1 ? "" : "s");
	conf_free(conf);
	return r ? 1 : 0;
}

/* Whether a control command is one the stats socket serves too. */
static bool stats_only_cmd(int argc, char **argv)
{
	return strcmp(argv[0], "stats") == 0 || (argc == 7 && strcmp(argv[0], "metrics-get") == 0);
}

/* Runs a control command on the daemon that has NAME mounted, or, when
 * none has, on the file system opened here.  A caller the control socket
 * is out of reach for (the data directory is 0700) reads stats and metrics
 * get through the stats socket (daemon/control.c). */
static int control_cmd(const char *config, const char *name, int argc, char **argv)
{
	struct conf *conf;
	struct fs *fs;
	char err[1024];
	int r;

	if (load_conf(config, name, &conf) < 0)
		return 1;
	r = control_client(conf->data_dir, argc, argv, stdout);
	if (r == -EACCES && stats_only_cmd(argc, argv)) {
		/* the data directory is root's and the owner's: the stats socket */
		char dir[PATH_MAX], path[PATH_MAX], why[PATH_MAX + 128];
		int s = control_stats_client(conf, argc, argv, stdout);

		if (s >= 0) {
			conf_free(conf);
			return s;
		}
		if (!conf->stats_group)
			snprintf(why, sizeof(why), "no stats_group is configured");
		else if (control_stats_path(conf, dir, sizeof(dir), path, sizeof(path)) == 0)
			snprintf(why, sizeof(why), "the stats socket %s: %s", path, strerror(-s));
		else
			snprintf(why, sizeof(why), "the stats socket: %s", strerror(-s));
		fprintf(stderr, "efsfs: %s: permission denied: the control socket is only for "
			"root and the file system's owner, and %s (the stats socket of "
			"stats_group = GROUP serves that group's members while %s is mounted)\n",
			name, why, name);
		conf_free(conf);
		return 1;
	}
	if (r == -EACCES) {
		fprintf(stderr, "efsfs: %s: control socket: permission denied: only root and the "
			"file system's owner may run this command\n", name);
		conf_free(conf);
		return 1;
	}
	if (r == -ENOENT || r == -ECONNREFUSED) {
		/* the commands that only read open read-only: they then work in a
		 * read-only data directory, beside a read-only mount too */
		bool ro = strcmp(argv[0], "run") != 0 && strcmp(argv[0], "gc") != 0 &&
			  !(strcmp(argv[0], "access-point") == 0 && argc >= 2 &&
			    (strcmp(argv[1], "create") == 0 || strcmp(argv[1], "delete") == 0));

		r = tier_fs_open(conf, NULL, ro ? FS_OPEN_RDONLY : 0, &fs, err, sizeof(err));
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

/* Opens NAME unclaimed (tier/owner.c) for reidentify and store. */
static int open_unclaimed(const char *config, const char *name, struct conf **ret_conf,
			  struct fs **ret_fs)
{
	char err[2048];
	int r;

	if (load_conf(config, name, ret_conf) < 0)
		return -EINVAL;
	r = tier_fs_open(*ret_conf, NULL, FS_OPEN_UNCLAIMED, ret_fs, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: %s\n", err);
		conf_free(*ret_conf);
	}
	return r;
}

static int cmd_reidentify(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	struct tier_reidentify_report rep;
	struct conf *conf;
	struct fs *fs;
	char err[2048], old[FS_ID_LEN + 1];
	bool force = false;
	int c, r;

	while ((c = cmd_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_LONG_ONLY: force = true; break;
		case OPT_HELP: print_cmd_help(stdout, cmd); return 0;
		default: return usage_error(cmd, NULL);
		}
	}
	if (optind + 1 != argc)
		return usage_error(cmd, "reidentify takes one file system NAME");
	if (open_unclaimed(config, argv[optind], &conf, &fs) < 0)
		return 1;
	snprintf(old, sizeof(old), "%s", fs_id(fs));
	r = tier_reidentify(fs, force, &rep, err, sizeof(err));
	fs_close(fs);
	if (r < 0) {
		fprintf(stderr, "efsfs: reidentify %s: %s\n", conf->name, err);
		conf_free(conf);
		return 1;
	}
	printf("%s\n", rep.new_fs_id);
	fprintf(stderr, "efsfs: %s is now %s (was %s)%s; %" PRIu64 " cold chunks (%" PRIu64
		" bytes) copied to its own objects", conf->name, rep.new_fs_id, old,
		rep.resumed ? ", an interrupted run finished" : "", rep.copied, rep.bytes);
	if (rep.missing)
		fprintf(stderr, "; %" PRIu64 " had no object and read as EIO (first: %s)",
			rep.missing, rep.first_missing);
	fprintf(stderr, "\n");
	conf_free(conf);
	return 0;
}

/* store set-url NAME OLD NEW, store claim NAME */
static int cmd_store(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	bool set_url = strcmp(cmd->name, "store set-url") == 0;
	struct conf *conf;
	struct fs *fs;
	char msg[4096];
	int r = parse_simple(cmd, argc, argv, set_url ? 3 : 1);

	if (r >= 0)
		return r;
	if (open_unclaimed(config, argv[optind], &conf, &fs) < 0)
		return 1;
	if (set_url)
		r = tier_store_set_url(fs, argv[optind + 1], argv[optind + 2], msg, sizeof(msg));
	else
		r = tier_store_claim(fs, msg, sizeof(msg));
	fs_close(fs);
	fprintf(r < 0 ? stderr : stdout, "%s%s\n", r < 0 ? "efsfs: " : "", msg);
	conf_free(conf);
	return r < 0 ? 1 : 0;
}

static int control_cmd(const char *config, const char *name, int argc, char **argv);

/* gc [--legacy] NAME, through the daemon when NAME is mounted. */
static int cmd_gc(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	char *cargv[2] = { "gc", "legacy" };
	bool legacy = false;
	int c;

	while ((c = cmd_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_LONG_ONLY: legacy = true; break;
		case OPT_HELP: print_cmd_help(stdout, cmd); return 0;
		default: return usage_error(cmd, NULL);
		}
	}
	if (optind + 1 != argc)
		return usage_error(cmd, "gc takes one file system NAME");
	return control_cmd(config, argv[optind], legacy ? 2 : 1, cargv);
}

/* stats [--json] NAME */
static int cmd_stats(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	char *cargv[2] = { "stats", "json" };
	bool json = false;
	int c;

	while ((c = cmd_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case OPT_HELP: print_cmd_help(stdout, cmd); return 0;
		default: return usage_error(cmd, NULL);
		}
	}
	if (optind + 1 != argc)
		return usage_error(cmd, "stats takes one file system NAME");
	return control_cmd(config, argv[optind], json ? 2 : 1, cargv);
}

/* Adds the statistics named in s ("Sum" or "Sum,Average") to *mask; false
 * when one is not a statistic. */
static bool add_statistics(const char *s, unsigned *mask)
{
	char buf[256], *save = NULL;
	int bit;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		bit = meter_parse_statistic(w);
		if (bit < 0)
			return false;
		*mask |= (unsigned)bit;
	}
	return *s != '\0';
}

/* metrics get NAME --metric-name M --start-time T --end-time T --period P
 * --statistics S... [--dimensions Name=StorageClass,Value=C]: NAME may come
 * first (as in the usage), and the words after --statistics are more
 * statistics. */
static int cmd_metrics_get(const struct cli_cmd *cmd, const char *config, int argc,
			   char **argv)
{
	const char *name = NULL, *metric = NULL, *start_s = NULL, *end_s = NULL, *cls = "-";
	char start[32], end[32], period[32], stats[16], msg[512];
	static char dim_class[64];
	long long p = 0;
	unsigned mask = 0;
	int64_t t0, t1;
	char *cargv[7], *e;
	int c;

	for (;;) {
		c = cmd_getopt(cmd, argc, argv);
		if (c == -1) {
			if (optind >= argc)
				break;
			/* a word that is not an option: NAME, or one more statistic */
			if (!name && meter_parse_statistic(argv[optind]) < 0)
				name = argv[optind];
			else if (!add_statistics(argv[optind], &mask)) {
				snprintf(msg, sizeof(msg), "unexpected '%.200s' (one file system "
					 "NAME; statistics are SampleCount, Average, Sum, Minimum, "
					 "Maximum)", argv[optind]);
				return usage_error(cmd, msg);
			}
			optind++;
			continue;
		}
		switch (c) {
		case OPT_LONG_ONLY: metric = optarg; break;
		case OPT_LONG_ONLY + 1: start_s = optarg; break;
		case OPT_LONG_ONLY + 2: end_s = optarg; break;
		case OPT_LONG_ONLY + 3:
			errno = 0;
			p = strtoll(optarg, &e, 10);
			if (errno || *e || e == optarg || p <= 0) {
				snprintf(msg, sizeof(msg), "--period '%.200s': a number of seconds",
					 optarg);
				return usage_error(cmd, msg);
			}
			break;
		case OPT_LONG_ONLY + 4:
			if (!add_statistics(optarg, &mask)) {
				snprintf(msg, sizeof(msg), "--statistics '%.200s': expected SampleCount, "
					 "Average, Sum, Minimum or Maximum", optarg);
				return usage_error(cmd, msg);
			}
			break;
		case OPT_LONG_ONLY + 5:
			if (sscanf(optarg, "Name=StorageClass,Value=%63[A-Za-z]", dim_class) == 1) {
				cls = dim_class;
			} else if (strncmp(optarg, "Name=FileSystemId,Value=", 24) != 0) {
				snprintf(msg, sizeof(msg), "--dimensions '%.200s': expected "
					 "Name=StorageClass,Value=CLASS", optarg);
				return usage_error(cmd, msg);
			}
			break;
		case OPT_LONG_ONLY + 6:
			if (strcmp(optarg, "AWS/EFS") != 0)
				return usage_error(cmd, "--namespace: efsfs has AWS/EFS only");
			break;
		case OPT_HELP: print_cmd_help(stdout, cmd); return 0;
		default: return usage_error(cmd, NULL);
		}
	}
	if (!name)
		return usage_error(cmd, "metrics get takes one file system NAME");
	if (!metric || !start_s || !end_s || !p || !mask)
		return usage_error(cmd, "--metric-name, --start-time, --end-time, --period and "
				   "--statistics are required");
	if (control_parse_date(start_s, &t0) < 0 || control_parse_date(end_s, &t1) < 0) {
		snprintf(msg, sizeof(msg), "--%s '%.200s': expected YYYY-MM-DDTHH:MM:SS[Z] (UTC) "
			 "or @EPOCH", control_parse_date(start_s, &t0) < 0 ? "start-time" :
			 "end-time", control_parse_date(start_s, &t0) < 0 ? start_s : end_s);
		return usage_error(cmd, msg);
	}
	snprintf(start, sizeof(start), "%lld", (long long)t0);
	snprintf(end, sizeof(end), "%lld", (long long)t1);
	snprintf(period, sizeof(period), "%lld", p);
	snprintf(stats, sizeof(stats), "%u", mask);
	cargv[0] = "metrics-get";
	cargv[1] = (char *)metric;
	cargv[2] = (char *)cls;
	cargv[3] = start;
	cargv[4] = end;
	cargv[5] = period;
	cargv[6] = stats;
	return control_cmd(config, name, 7, cargv);
}

/* metrics advance NAME SECONDS: the daemon's test clock */
static int cmd_metrics_advance(const struct cli_cmd *cmd, const char *config, int argc,
			       char **argv)
{
	char *cargv[2] = { "meter-advance", NULL };
	int r = parse_simple(cmd, argc, argv, 2);

	if (r >= 0)
		return r;
	cargv[1] = argv[optind + 1];
	return control_cmd(config, argv[optind], 2, cargv);
}

/* info, lifecycle status: NAME, and the control command is the last
 * word of the command's name. */
static int cmd_control(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	const char *word = strrchr(cmd->name, ' ');
	char *cargv[1] = { (char *)(word ? word + 1 : cmd->name) };
	int r = parse_simple(cmd, argc, argv, 1);

	if (r >= 0)
		return r;
	return control_cmd(config, argv[optind], 1, cargv);
}

static int cmd_lifecycle_run(const struct cli_cmd *cmd, const char *config, int argc,
			     char **argv)
{
	const char *as_of = "now";
	char *cargv[2], abs[32];
	int64_t t;
	int c;

	while ((c = cmd_getopt(cmd, argc, argv)) != -1) {
		switch (c) {
		case 'a': as_of = optarg; break;
		case OPT_HELP: print_cmd_help(stdout, cmd); return 0;
		default: return usage_error(cmd, NULL);
		}
	}
	if (optind + 1 != argc)
		return usage_error(cmd, "lifecycle run takes one file system NAME");
	if ((c = control_parse_date(as_of, &t)) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "--as-of '%.300s': %s", as_of,
			 c == -ERANGE ? "date out of range"
				      : "expected YYYY-MM-DD[THH:MM:SS], @EPOCH, now or +Nd");
		return usage_error(cmd, msg);
	}
	/* relative dates are resolved here, not by a daemon with another clock */
	snprintf(abs, sizeof(abs), "@%lld", (long long)t);
	cargv[0] = "run";
	cargv[1] = abs;
	return control_cmd(config, argv[optind], 2, cargv);
}

/* ---- access points --------------------------------------------------- */

/* Whether name has the form of a file system id: fs- and 17 hex digits. */
static bool fs_id_form(const char *name)
{
	return strlen(name) == FS_ID_LEN && strncmp(name, "fs-", 3) == 0 &&
	       strspn(name + 3, "0123456789abcdef") == FS_ID_LEN - 3;
}

struct find_id {
	const char *config, *id;
	char found[CONF_NAME_MAX + 1];
	bool is_name;
};

/* conf_list: is section name the file system with id f->id (or named so)? */
static int find_id_cb(const char *name, void *arg)
{
	struct find_id *f = arg;
	char err[1024], *buf = NULL, *line;
	struct conf *conf;
	struct fs *fs;
	size_t len = 0;
	FILE *mem;
	int r;

	if (strcmp(name, f->id) == 0) {
		f->is_name = true;
		return 1;
	}
	if (conf_load(f->config, name, &conf, err, sizeof(err)) < 0)
		return 0;            /* that one's error is for its own commands to say */
	/* the daemon when it is mounted, else its metadata (read-only) */
	mem = open_memstream(&buf, &len);
	r = mem ? control_client(conf->data_dir, 1, (char *[]){ "info" }, mem) : -ENOMEM;
	if (mem)
		fclose(mem);
	if (r == 0 && buf && (line = strstr(buf, "file_system_id: ")) &&
	    strncmp(line + 16, f->id, FS_ID_LEN) == 0)
		snprintf(f->found, sizeof(f->found), "%s", name);
	else if (r < 0 && fs_open_flags(conf, NULL, FS_OPEN_RDONLY | FS_OPEN_UNCLAIMED, &fs, err,
					sizeof(err)) == 0) {
		if (strcmp(fs_id(fs), f->id) == 0)
			snprintf(f->found, sizeof(f->found), "%s", name);
		fs_close(fs);
	}
	free(buf);
	conf_free(conf);
	return f->found[0] ? 1 : 0;
}

/* NAME or fs- id: the file system's name into buf (CONF_NAME_MAX + 1
 * bytes), looked up by id among the configuration's sections; 0, or -1
 * after saying why. */
static int ap_fs_name(const char *config, const char *name, char *buf)
{
	struct find_id f = { .config = config, .id = name };
	const char *path = config ? config : getenv("EFSFS_CONFIG");
	char err[1024];
	int r;

	if (!fs_id_form(name)) {
		snprintf(buf, CONF_NAME_MAX + 1, "%s", name);
		return 0;
	}
	if (!path || !*path)
		path = CONF_DEFAULT_PATH;
	r = conf_list(path, find_id_cb, &f, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: %s: cannot look the id up: %s\n", name, err);
		return -1;
	}
	if (f.is_name || !f.found[0]) {
		if (!f.is_name) {
			fprintf(stderr, "efsfs: %s: no file system of %s has this id (give its "
				"name instead)\n", name, path);
			return -1;
		}
		snprintf(buf, CONF_NAME_MAX + 1, "%s", name);
		return 0;
	}
	snprintf(buf, CONF_NAME_MAX + 1, "%s", f.found);
	return 0;
}

/* A word that continues --tags: another Key=...,Value=... or a JSON list. */
static bool ap_tag_word(const char *w)
{
	return strncmp(w, "--", 2) != 0 && (strchr(w, '=') || w[0] == '[' || w[0] == '{');
}

/* access-point create [OPTIONS] NAME: NAME may come before or after the
 * options (the AWS CLI's order is free), and --tags takes several words. */
static int cmd_ap_create(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	static const char *const ignored[] = { "region", "profile", "output", "endpoint-url",
					       "query", NULL };
	struct fs_access_point *ap = calloc(1, sizeof(*ap));
	char err[1024], fsname[CONF_NAME_MAX + 1], *req = NULL;
	const char *name = NULL;
	bool have_user = false;
	int r = 2;

	if (!ap)
		return 1;
	snprintf(ap->path, sizeof(ap->path), "/");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
		const struct cli_opt *o = NULL;
		char opt[64];
		bool skip = false;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_cmd_help(stdout, cmd);
			r = 0;
			goto done;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (name) {
				usage_error(cmd, "access-point create takes one file system NAME");
				goto done;
			}
			name = a;
			continue;
		}
		snprintf(opt, sizeof(opt), "%.*s", eq ? (int)(eq - a - 2) : 60, a + 2);
		for (const struct cli_opt *x = cmd->opts; x->name; x++)
			if (strcmp(x->name, opt) == 0)
				o = x;
		for (int k = 0; ignored[k]; k++)
			skip = skip || strcmp(opt, ignored[k]) == 0;
		if (strcmp(opt, "no-cli-pager") == 0) {
			continue;
		} else if (!o && !skip) {
			snprintf(err, sizeof(err), "unknown option '--%s'", opt);
			usage_error(cmd, err);
			goto done;
		}
		if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		if (!v) {
			snprintf(err, sizeof(err), "--%s needs a value", opt);
			usage_error(cmd, err);
			goto done;
		}
		if (skip) {
			fprintf(stderr, "efsfs: --%s %s ignored (an AWS CLI option; efsfs is local)\n",
				opt, v);
			continue;
		}
		switch (o->key) {
		case AP_POSIX_USER:
		case AP_ROOT_DIRECTORY:
		case AP_TAGS:
		case AP_TAG:
			if (apcmd_parse_option(o->key == AP_TAG ? "tags" : o->name, v, ap, err,
					       sizeof(err)) < 0) {
				fprintf(stderr, "efsfs: %s\n", err);
				goto done;
			}
			have_user = have_user || o->key == AP_POSIX_USER;
			/* --tags Key=a,Value=b Key=c,Value=d: the AWS CLI's list */
			while (o->key == AP_TAGS && i + 1 < argc && ap_tag_word(argv[i + 1])) {
				if (apcmd_parse_option("tags", argv[++i], ap, err, sizeof(err)) < 0) {
					fprintf(stderr, "efsfs: %s\n", err);
					goto done;
				}
			}
			break;
		case AP_CLIENT_TOKEN:
			if (!v[0] || strlen(v) > FS_AP_TOKEN_MAX) {
				fprintf(stderr, "efsfs: --client-token: 1 to %d characters\n",
					FS_AP_TOKEN_MAX);
				goto done;
			}
			snprintf(ap->client_token, sizeof(ap->client_token), "%s", v);
			break;
		case AP_FILE_SYSTEM_ID:
			if (name) {
				usage_error(cmd, "--file-system-id and NAME both name a file system");
				goto done;
			}
			name = v;
			break;
		}
	}
	if (!name) {
		usage_error(cmd, "access-point create takes a file system NAME (or "
			    "--file-system-id)");
		goto done;
	}
	if (!have_user) {
		fprintf(stderr, "efsfs: --posix-user is required: Uid=N,Gid=N (an efsfs access "
			"point always sets the identity of its requests)\n");
		goto done;
	}
	if (fs_ap_check(ap, err, sizeof(err)) < 0) {
		fprintf(stderr, "efsfs: %s\n", err);
		goto done;
	}
	req = apcmd_request(ap);
	if (!req) {
		r = 1;
		goto done;
	}
	if (ap_fs_name(config, name, fsname) < 0) {
		r = 1;
		goto done;
	}
	r = control_cmd(config, fsname, 3, (char *[]){ "access-point", "create", req });
done:
	free(req);
	free(ap);
	return r;
}

/* access-point list NAME, describe NAME ID, delete NAME ID */
static int cmd_ap(const struct cli_cmd *cmd, const char *config, int argc, char **argv)
{
	const char *word = strrchr(cmd->name, ' ') + 1;
	bool list = strcmp(word, "list") == 0;
	char fsname[CONF_NAME_MAX + 1];
	int r = parse_simple(cmd, argc, argv, list ? 1 : 2);

	if (r >= 0)
		return r;
	if (!list && !apcmd_id_valid(argv[optind + 1])) {
		fprintf(stderr, "efsfs: '%s' is not an access point id (fsap- and 17 lowercase "
			"hex digits)\n", argv[optind + 1]);
		return 2;
	}
	if (ap_fs_name(config, argv[optind], fsname) < 0)
		return 1;
	return control_cmd(config, fsname, list ? 2 : 3,
			   (char *[]){ "access-point", (char *)word, list ? NULL : argv[optind + 1] });
}

int cli_main(int argc, char **argv)
{
	static const struct cli_cmd main_cmd = { "", "COMMAND", "", "", global_opts, NULL };
	const struct cli_cmd *cmd;
	const char *config = NULL;
	char name[64];
	int c;

	opterr = 1;
	while ((c = cmd_getopt(&main_cmd, argc, argv)) != -1) {
		switch (c) {
		case OPT_LONG_ONLY: config = optarg; break;
		case 'V': printf("efsfs %s\n", EFSFS_VERSION); return 0;
		case OPT_HELP: print_main_help(stdout); return 0;
		default: return usage_error(NULL, NULL);
		}
	}
	if (optind >= argc)
		return usage_error(NULL, NULL);
	argv += optind;
	argc -= optind;
	log_init("efsfs", false, LOG_INFO);
	cmd = cmd_find(argv[0]);
	if (!cmd && argc >= 2 && !(argv[1][0] == '-')) {
		/* two-word commands: "lifecycle run" */
		snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
		cmd = cmd_find(name);
		if (cmd) {
			argv++;
			argc--;
		}
	}
	if (!cmd) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) &&
		    print_group_help(stdout, argv[0]))
			return 0;
		if (cmd_group(argv[0])) {
			if (argc == 1)
				fprintf(stderr, "efsfs: %s takes a subcommand\n", argv[0]);
			else
				fprintf(stderr, "efsfs: unknown command '%s %s'\n", argv[0], argv[1]);
			print_group_help(stderr, argv[0]);
			return 2;
		}
		fprintf(stderr, "efsfs: unknown command '%s'\n", argv[0]);
		return usage_error(NULL, NULL);
	}
	/* getopt's messages then say "efsfs mkfs: unrecognized option" */
	snprintf(name, sizeof(name), "efsfs %s", cmd->name);
	argv[0] = name;
	optind = 0;               /* a fresh getopt scan of the command's words */
	return cmd->run(cmd, config, argc, argv);
}

/* Options that mount(8) and fstab use and FUSE must not see.  The VFS
 * mount flags (ro rw suid nosuid dev nodev exec noexec sync async dirsync
 * atime noatime) are not here: they go to FUSE, which sets them on the
 * mount.  relatime is dropped because it is the kernel's default already;
 * the atime flags FUSE cannot set are dropped with a warning. */
static bool mount_only_option(const char *o, size_t n)
{
	static const char *const drop[] = {
		"defaults", "_netdev", "nofail", "auto", "noauto", "user", "users", "nouser",
		"owner", "group", "relatime", NULL
	};
	static const char *const unsupported[] = {
		"strictatime", "nostrictatime", "nodiratime", "diratime", "lazytime",
		"nolazytime", NULL
	};

	if (n >= 2 && strncmp(o, "x-", 2) == 0)
		return true;
	if (n >= 8 && strncmp(o, "comment=", 8) == 0)
		return true;
	for (int i = 0; drop[i]; i++)
		if (strlen(drop[i]) == n && strncmp(o, drop[i], n) == 0)
			return true;
	for (int i = 0; unsupported[i]; i++)
		if (strlen(unsupported[i]) == n && strncmp(o, unsupported[i], n) == 0) {
			fprintf(stderr, "mount.efsfs: option '%s' cannot be set on a FUSE mount; "
				"ignored\n", unsupported[i]);
			return true;
		}
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
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs("usage: mount.efsfs SOURCE DIR [-sfnv] [-o OPTIONS]\n"
		      "SOURCE: NAME, NAME:/path, fs-ID or fs-ID:/path (a subdirectory).\n"
		      "mount(8)'s helper for mount -t efsfs; own options: config=FILE, foreground,\n"
		      "accesspoint=fsap-ID.  A file system already mounted is served by its\n"
		      "running daemon.\n"
		      "See mount.efsfs(8).\n", stdout);
		return 0;
	}
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
		fprintf(stderr, "usage: mount.efsfs SOURCE DIR [-o OPTIONS]\n");
		free(config);
		return 2;
	}
	int code = mount_source("mount.efsfs", config, name, dir, kept, fg, false, 32);

	free(config);
	return code;
}
