/* log.h - the daemon's log: stderr in the foreground, syslog once detached.
 *
 * fuse/ and the CLI log errors with their context (file system, inode, path
 * or object).  Library code in backend/ and tier/ logs at debug level only
 * and reports failures to its caller as negative errno values.
 */
#ifndef EFSFS_LOG_H
#define EFSFS_LOG_H

#include <syslog.h>
#include <stdbool.h>

void log_init(const char *ident, bool use_syslog, int max_level);
void log_set_level(int max_level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
