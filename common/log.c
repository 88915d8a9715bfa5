/* log.c - stderr/syslog/file logging with a level filter; see log.h.
 *
 * log_lock guards the log file (log_fd, log_size) so that lines of several
 * threads neither mix nor race a rotation, and log_sink: a line is written
 * under it, so that one logged while a detaching daemon moves from stderr
 * to its file or syslog goes to one of them, never to the /dev/null that
 * replaces stderr right after.  The other state is set before the threads
 * start.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

enum log_sink { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE };

static const char *log_ident = "efsfs";
static enum log_sink log_sink;
static int log_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_path[4096];
static int log_fd = -1;
static off_t log_size;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};

void log_init(const char *ident, bool use_syslog, int max_level)
{
	log_level = max_level;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
	pthread_mutex_lock(&log_lock);
	log_ident = ident;
	log_sink = use_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR;
	pthread_mutex_unlock(&log_lock);
}

bool log_syslog_available(const char *socket_path)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return false;
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		int r;

		if (fd < 0)
			return false;
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (r == 0)
			return true;
	}
	return false;
}

/* Moves a full log to PATH.1 and opens a new one; log_lock held. */
static int file_open_locked(void)
{
	struct stat st;
	int fd;

	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_size = st.st_size;
	return 0;
}

static void file_rotate_locked(void)
{
	char old[sizeof(log_path) + 2];

	snprintf(old, sizeof(old), "%s.1", log_path);
	if (rename(log_path, old) == 0)
		file_open_locked();
	/* else keep appending: losing lines is worse than a big file */
}

int log_open_file(const char *ident, const char *path, int max_level)
{
	int r;

	if (strlen(path) >= sizeof(log_path))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&log_lock);
	snprintf(log_path, sizeof(log_path), "%s", path);
	r = file_open_locked();
	if (!r && log_size >= LOG_FILE_MAX)
		file_rotate_locked();
	if (!r) {
		log_ident = ident;
		log_level = max_level;
		log_sink = LOG_TO_FILE;
	}
	pthread_mutex_unlock(&log_lock);
	return r;
}

const char *log_destination(void)
{
	enum log_sink sink;

	pthread_mutex_lock(&log_lock);
	sink = log_sink;
	pthread_mutex_unlock(&log_lock);
	switch (sink) {
	case LOG_TO_SYSLOG: return "syslog";
	case LOG_TO_FILE: return log_path;
	default: return "stderr";
	}
}

void log_set_level(int max_level)
{
	log_level = max_level;
}

int log_get_level(void)
{
	return log_level;
}

/* "2026-12-01T10:00:00Z efsfs[123]: error: text\n", written with one
 * write() to the O_APPEND file; log_lock held. */
static void file_write_locked(int level, const char *text)
{
	char line[2300];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s[%d]: %s: %s\n",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, log_ident, (int)getpid(), level_names[level & 7], text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (log_size + n > LOG_FILE_MAX)
		file_rotate_locked();
	if (log_fd >= 0 && write(log_fd, line, (size_t)n) == n)
		log_size += n;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (log_sink == LOG_TO_SYSLOG)
		syslog(level, "%s", line);
	else if (log_sink == LOG_TO_FILE)
		file_write_locked(level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level & 7], line);
	pthread_mutex_unlock(&log_lock);
}
