/* daemon.h - the efsfs program's parts for main.c and each other: the
 * mount lifecycle (daemon.c) and the command line (cli.c).
 */
#ifndef EFSFS_DAEMON_H
#define EFSFS_DAEMON_H

#include <stdbool.h>

/* Mounts NAME at mountpoint and serves it until unmounted (daemon.c).
 * opts: comma-separated FUSE mount options from -o (may be NULL).
 * Returns the process exit code. */
int efsfs_mount(const char *config, const char *name, const char *mountpoint, const char *opts,
		bool foreground, bool debug);

/* CLI subcommands (cli.c); each returns the process exit code. */
int cli_main(int argc, char **argv);
int cli_mount_helper(int argc, char **argv);

#endif
