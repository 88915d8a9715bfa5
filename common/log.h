/* log.h - the daemon's log: stderr in the foreground; once detached,
 * syslog when /dev/log accepts messages, else a file (conf log_file,
 * default DATA_DIR/efsfs.log) that is moved to FILE.1 when it would grow
 * past LOG_FILE_MAX, so at most two files of that size are kept.
 *
 * fuse/ and the CLI log errors with their context (file system, inode, path
 * or object).  Library code in backend/ and tier/ logs at debug level only
 * and reports failures to its caller as negative errno values.
 */
#ifndef EFSFS_LOG_H
#define EFSFS_LOG_H

#include <syslog.h>
#include <stdbool.h>

#define LOG_FILE_MAX (1 << 20)

void log_init(const char *ident, bool use_syslog, int max_level);
/* true when a syslog daemon listens on socket_path (normally /dev/log). */
bool log_syslog_available(const char *socket_path);
/* Logs to the file at path from now on (created 0600, appended). */
int log_open_file(const char *ident, const char *path, int max_level);
/* "stderr", "syslog" or the log file's path. */
const char *log_destination(void);
void log_set_level(int max_level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
