/* control.h - the control socket of a mounted file system (see control.c). */
#ifndef EFSFS_CONTROL_H
#define EFSFS_CONTROL_H

#include <stdint.h>
#include <stdio.h>

#include "backend/fs.h"

struct control;

/* The longest request line, newline and NUL included: an access point
 * create request with 50 tags of the longest keys and values is ~40 KiB. */
#define CONTROL_LINE_MAX 65536

int control_start(struct fs *fs, struct control **ret);
void control_stop(struct control *ctl);     /* accepts NULL */
/* Runs a command (argv: "run DATE" | "stats" | "status" | "info" | "gc" |
 * "access-point ..." (daemon/apcmd.h)); output to
 * out; returns the exit code (0 ok, 1 failed, 2 usage). */
int control_exec(struct fs *fs, int argc, char **argv, FILE *out);
/* Sends a command to the daemon of data_dir: its exit code, or -errno
 * when no daemon listens (-ENOENT, -ECONNREFUSED).  -EINVAL when an
 * argument holds a tab or a newline, -E2BIG when the request would not fit
 * CONTROL_LINE_MAX; nothing is sent then. */
int control_client(const char *data_dir, int argc, char **argv, FILE *out);
int control_path(const char *data_dir, char *buf, size_t len);
/* "YYYY-MM-DD[THH:MM:SS[Z]]", "@EPOCH", "now", "+Nd": 0, -EINVAL or -ERANGE. */
int control_parse_date(const char *s, int64_t *ret);

#endif
