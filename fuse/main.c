/* main.c - entry point of the efsfs binary: the efsfs command line tool,
 * or the mount(8) helper when invoked as mount.efsfs.
 */
#include <string.h>

#include "fuse/fuse_i.h"

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	base = base ? base + 1 : argv[0];
	if (strcmp(base, "mount.efsfs") == 0)
		return cli_mount_helper(argc, argv);
	return cli_main(argc, argv);
}
