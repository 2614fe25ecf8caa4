#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level threshold = LOG_LVL_WARN;
static __thread bool quiet; /* see log_quiet_thread */
static bool to_syslog;
static int file_fd = -1;

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

int log_use_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0)
		return -errno;
	if (file_fd >= 0)
		close(file_fd);
	file_fd = fd;
	return 0;
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

/* One write per line: O_APPEND keeps lines whole when threads (or two mounts) share the file. */
static void write_file_line(enum log_level level, const char *line)
{
	char stamp[64], zone[8], out[1200];
	struct timespec now;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	n = snprintf(out, sizeof(out), "%s.%03ld%s pinfs[%d]: %s: %s\n", stamp,
		     now.tv_nsec / 1000000, zone, (int)getpid(), level_name(level), line);
	if (n >= (int)sizeof(out)) {
		n = sizeof(out);
		out[n - 1] = '\n';
	}
	if (n > 0 && write(file_fd, out, (size_t)n) < 0)
		return; /* nowhere left to say so */
}

void log_quiet_thread(bool on)
{
	quiet = on;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > threshold || (quiet && level < LOG_LVL_DEBUG))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (file_fd >= 0) {
		write_file_line(level, line);
		/* An error also reaches the terminal of a foreground mount, where it is awaited. */
		if (level > LOG_LVL_ERROR || to_syslog)
			return;
	}
	if (to_syslog) {
		syslog(syslog_priority(level), "%s", line);
		return;
	}
	/* One fprintf per line so lines from several threads never interleave. */
	fprintf(stderr, "pinfs: %s: %s\n", level_name(level), line);
}
