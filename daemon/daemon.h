/* daemon.h - the efsfs program's parts for main.c and each other: the
 * mount lifecycle (daemon.c) and the command line (cli.c).
 */
#ifndef EFSFS_DAEMON_H
#define EFSFS_DAEMON_H

#include <stdbool.h>

/* One mount asked for by efsfs mount or mount.efsfs. */
struct efsfs_mount_req {
	const char *config;         /* --config or config=, NULL: the usual files */
	const char *name;           /* the file system (a source's fs- id resolved to it) */
	const char *subdir;         /* NAME:/path's path: NULL or "/" for the root */
	const char *access_point;   /* -o accesspoint=fsap-..., or NULL */
	const char *mountpoint;
	const char *opts;           /* comma-separated FUSE mount options, or NULL */
	bool foreground;
	bool debug;
};

/* Mounts req->name at req->mountpoint: attached to the running daemon of
 * that file system (daemon.c's top comment), or served by a new daemon
 * until its last mount is unmounted.  Returns the process exit code. */
int efsfs_mount(const struct efsfs_mount_req *req);

/* CLI subcommands (cli.c); each returns the process exit code. */
int cli_main(int argc, char **argv);
int cli_mount_helper(int argc, char **argv);

#endif
