/* main.c - entry point of the efsfs binary: the efsfs command line tool,
 * or the mount(8) helper when invoked as mount.efsfs.
 */
#include <string.h>
#include <sys/stat.h>

#include "daemon/daemon.h"

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	/* Everything efsfs creates (data directory, metadata, data files,
	 * objects, the control socket) is for its owner alone; the mount's
	 * permission checks are the only way in for everyone else. */
	umask(077);

	base = base ? base + 1 : argv[0];
	if (strcmp(base, "mount.efsfs") == 0)
		return cli_mount_helper(argc, argv);
	return cli_main(argc, argv);
}
