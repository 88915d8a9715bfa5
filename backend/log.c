/* log.c - stderr/syslog logging with a level filter; see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/log.h"

static const char *log_ident = "efsfs";
static bool log_syslog;
static int log_level = LOG_INFO;

void log_init(const char *ident, bool use_syslog, int max_level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_level = max_level;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_set_level(int max_level)
{
	log_level = max_level;
}

int log_get_level(void)
{
	return log_level;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		static const char *const names[] = {
			"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
		};
		char line[2048];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[level & 7], line);
	}
	va_end(ap);
}
