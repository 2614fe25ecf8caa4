#include "sighup.h"

#include "bg.h"
#include "log.h"
#include "tree.h"
#include "vfolder.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static int pipe_fds[2] = {-1, -1};
static struct bg_group flushers = BG_GROUP_INIT; /* the one thread that reads the pipe */
static bool installed;

static void on_hup(int sig)
{
	int saved = errno;
	char b = 'h';
	ssize_t n;

	(void)sig;
	/* A full pipe already holds a flush to do: a byte lost there loses nothing. */
	n = write(pipe_fds[1], &b, 1);
	(void)n;
	errno = saved;
}

static void flusher(void *arg)
{
	char b;
	ssize_t n;

	(void)arg;
	for (;;) {
		n = read(pipe_fds[0], &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the writing end closed: sighup_stop */
		log_info("SIGHUP: forgetting every listing; the next look at a folder asks again");
		tree_invalidate();
		vfolder_invalidate();
	}
}

static int set_handler(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGHUP, &sa, NULL) < 0 ? -errno : 0;
}

int sighup_start(void)
{
	int result;

	if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	/* Only the writing end may not block (the handler); the thread waits on its end. */
	fcntl(pipe_fds[0], F_SETFL, 0);
	bg_resume(&flushers);
	/* The thread takes no signal (bg.h): they belong to the thread that runs the loop. */
	result = bg_spawn(&flushers, flusher, NULL);
	if (result)
		goto out;
	result = set_handler(on_hup);
	installed = !result;
out:
	if (result)
		sighup_stop();
	return result;
}

void sighup_stop(void)
{
	/* Ignored, not the default (which ends the process), while the mount winds down. */
	if (installed)
		set_handler(SIG_IGN);
	installed = false;
	/* Closing the writing end ends the thread's read with end of file. */
	if (pipe_fds[1] >= 0)
		close(pipe_fds[1]);
	pipe_fds[1] = -1;
	bg_stop(&flushers);
	if (pipe_fds[0] >= 0)
		close(pipe_fds[0]);
	pipe_fds[0] = -1;
}
