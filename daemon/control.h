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

/* What the daemon adds to the control commands (daemon.c), arg last.
 * attach: "attach WORD..." with the /dev/fuse fd the client sent (or -1),
 * which it owns from then on; writes its answer to out and returns the exit
 * code.  connections: the live FUSE sessions (ClientConnections). */
struct control_hooks {
	int (*attach)(int fd, int argc, char **argv, FILE *out, void *arg);
	unsigned (*connections)(void *arg);
};

/* The exit code of an attach the daemon cannot take because it is closing
 * (its last mount went): the client starts a new daemon (EX_TEMPFAIL). */
#define CONTROL_EXIT_CLOSING 75

/* Starts the control socket of fs; hooks (NULL: none) run with arg. */
int control_start(struct fs *fs, const struct control_hooks *hooks, void *arg,
		  struct control **ret);
/* The daemon's meter, for stats: set after control_start, cleared (NULL)
 * before metrics_stop. */
struct metrics;
void control_set_metrics(struct control *ctl, struct metrics *mx);
void control_stop(struct control *ctl);     /* accepts NULL */
/* Starts the read-only stats socket of fs (control.c) when its
 * configuration names a stats_group; *ret NULL when it names none.  0, or
 * -errno with err saying why (the group does not exist, the directory
 * cannot be made).  Stopped with control_stop. */
int control_start_stats(struct fs *fs, const struct control_hooks *hooks, void *arg,
			struct control **ret, char *err, size_t errlen);
/* STATS_DIR/NAME and STATS_DIR/NAME/stats.sock: 0 or -ENAMETOOLONG. */
int control_stats_path(const struct conf *c, char *ret_dir, size_t dlen, char *ret_path,
		       size_t plen);
/* control_client on the stats socket of c (only stats, stats json and
 * metrics-get are served there). */
int control_stats_client(const struct conf *c, int argc, char **argv, FILE *out);
/* Runs a command (argv: "run DATE" | "stats" [json] | "status" | "info" | "gc" |
 * "meter-advance SECS" | "metrics-get ..." | "access-point ..." (daemon/apcmd.h)), in the CLI's
 * own process (no daemon: ClientConnections 0); output to
 * out; returns the exit code (0 ok, 1 failed, 2 usage). */
int control_exec(struct fs *fs, int argc, char **argv, FILE *out);
/* Sends a command to the daemon of data_dir: its exit code, or -errno
 * when no daemon listens (-ENOENT, -ECONNREFUSED).  -EINVAL when an
 * argument holds a tab or a newline, -E2BIG when the request would not fit
 * CONTROL_LINE_MAX; nothing is sent then. */
int control_client(const char *data_dir, int argc, char **argv, FILE *out);
/* control_client sending fd along (SCM_RIGHTS) when fd >= 0: for attach,
 * whose answer it waits for at most a minute (-ETIMEDOUT). */
int control_client_fd(const char *data_dir, int argc, char **argv, int fd, FILE *out);
int control_path(const char *data_dir, char *buf, size_t len);
/* "YYYY-MM-DD[THH:MM:SS[Z]]", "@EPOCH", "now", "+Nd": 0, -EINVAL or -ERANGE. */
int control_parse_date(const char *s, int64_t *ret);

#endif
