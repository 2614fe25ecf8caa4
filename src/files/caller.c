#include "caller.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most of a command line read: rm of a few thousand files' names. */
#define CMDLINE_MAX (1 << 20)

/* The process of the request this thread is serving. */
static __thread pid_t caller;
/* Set once by owner_init, before any request; read-only after. */
static uid_t uid;
static gid_t gid;

void caller_set(pid_t pid)
{
	caller = pid;
}

pid_t caller_get(void)
{
	return caller;
}

void owner_init(void)
{
	uid = getuid();
	gid = getgid();
}

uid_t owner_uid(void)
{
	return uid;
}

gid_t owner_gid(void)
{
	return gid;
}

/* The caller's command line, its arguments NUL-separated, into a buffer the caller frees;
 * NULL when it cannot be read (the process is gone, or out of memory). */
static char *read_cmdline(size_t *len)
{
	char path[64], *buf = malloc(CMDLINE_MAX);
	ssize_t n = 0, got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)caller);
	fd = buf && caller > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while (n < CMDLINE_MAX - 1 && (got = read(fd, buf + n, CMDLINE_MAX - 1 - n)) > 0)
		n += got;
	close(fd);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

bool caller_names(const char *name)
{
	size_t len = 0;
	char *args = read_cmdline(&len);
	bool found = false;

	/* The first is the program itself. */
	for (size_t at = args ? strlen(args) + 1 : len; !found && at < len;
	     at += strlen(args + at) + 1) {
		const char *base = strrchr(args + at, '/');

		found = strcmp(base ? base + 1 : args + at, name) == 0;
	}
	free(args);
	return found;
}
