/* Logging: levels, stderr in the foreground, syslog once daemonized.
 *
 * Messages never carry secrets: callers log URLs and API messages, never headers or tokens.
 * Every message is one line, lower-case, without a full stop (git's convention).
 */
#ifndef PINFS_LOG_H
#define PINFS_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

/* Sets the threshold; messages above it are dropped. Safe to call again later. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Drops this thread's messages below debug level: for a request made ahead of need, whose
 * failure the request made when it is needed reports. */
void log_quiet_thread(bool on);

/* Switches output to syslog (after daemonizing, when stderr is gone). */
void log_use_syslog(bool on);

/* Appends every message to the file at path instead (created 0600), one line each, with a
 * timestamp; errors still reach stderr while not daemonized. Returns 0 or -errno. */
int log_use_file(const char *path);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
