#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static enum log_level threshold = LOG_LVL_WARN;
static bool to_syslog;

void log_set_level(enum log_level level)
{
	threshold = level;
}

enum log_level log_get_level(void)
{
	return threshold;
}

void log_use_syslog(bool on)
{
	if (on && !to_syslog)
		openlog("pinfs", LOG_PID, LOG_USER);
	to_syslog = on;
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

static const char *level_name(enum log_level level)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	return level <= LOG_LVL_DEBUG ? names[level] : "debug";
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (to_syslog) {
		syslog(syslog_priority(level), "%s", line);
		return;
	}
	/* One fprintf per line so lines from several threads never interleave. */
	fprintf(stderr, "pinfs: %s: %s\n", level_name(level), line);
}
