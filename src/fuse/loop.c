/* The session loop: one reader at a time, which looks for work a moment before sleeping.
 * See loop.h. */
#include "loop.h"

#include "blocking.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* How often the watcher looks at the reader: a request that waits for the network holds the
 * others back this long at most (twice this, at worst), next to the 50 ms or more it waits. */
#define WATCH_MS 2

/* See adapt_window. */
#define SOON_WINDOWS 4

enum reader_state {
	READER_LOOKS,  /* reading the device without blocking, between requests */
	READER_SLEEPS, /* in poll(2): the mount is idle */
	READER_SERVES, /* serving the request it read */
};

struct worker {
	struct loop *l;
	pthread_t thread;
	struct worker *next;
};

struct loop {
	struct fuse_session *se;
	int fd;		     /* /dev/fuse, non-blocking while the loop runs */
	int stop_fd;	     /* an eventfd, readable once the loop ends: wakes the reader's poll */
	long long spin_ns;   /* the longest look for a request before sleeping */
	long long window_ns; /* the current one: see adapt_window. The reader's alone. */
	unsigned max_threads;

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t idle;  /* the threads with no role wait here */
	pthread_cond_t watch; /* the watcher's timed wait (CLOCK_MONOTONIC) */
	sem_t ended;	      /* posted when a thread sees the session end */
	struct worker *workers;
	unsigned nworkers, nidle;
	struct worker *reader;	/* the thread that reads the device */
	struct worker *watcher; /* the thread that times the reader, if any */
	bool called;		/* a thread was woken or started to take a role */
	enum reader_state state;
	uint64_t seq; /* requests read so far */
	bool stop, failed;
};

/* The worker the calling thread is, NULL in any other thread. */
static __thread struct worker *self;

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void set_state(struct loop *l, enum reader_state s)
{
	pthread_mutex_lock(&l->lock);
	l->state = s;
	pthread_mutex_unlock(&l->lock);
}

/* Ends the loop: every thread leaves once done with its request. Lock held. */
static void end_loop(struct loop *l, bool failed)
{
	l->failed |= failed;
	l->stop = true;
	fuse_session_exit(l->se);
	pthread_cond_broadcast(&l->idle);
	pthread_cond_broadcast(&l->watch);
	sem_post(&l->ended);
}

/* Sleeps until the device has a request (or is gone) or the loop ends. */
static void wait_readable(struct loop *l)
{
	struct pollfd p[2] = {
	    {.fd = l->fd, .events = POLLIN},
	    {.fd = l->stop_fd, .events = POLLIN},
	};

	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
}

/* Sets how long the reader looks for the next request, after a sleep of slept_ns. Requests
 * that come in a stream (grep -r: microseconds apart) are worth looking for; those that come
 * one every few milliseconds (readers waiting for images) are not, and looking would only
 * take a CPU from someone who needs it, such as the threads receiving those images. So, as
 * Linux's haltpoll does for idle CPUs: a request that came soon after the reader fell asleep
 * doubles the window, up to spin_ns; a long sleep, which the look did not shorten, halves it.
 * "Soon" is within SOON_WINDOWS windows: a sleep lasts at least a wake-up, which on a virtual
 * machine whose idle CPUs halt can take longer than the window itself. */
static void adapt_window(struct loop *l, long long slept_ns)
{
	if (slept_ns < l->spin_ns * SOON_WINDOWS)
		l->window_ns = l->window_ns ? l->window_ns * 2 : l->spin_ns / 8;
	else
		l->window_ns /= 2;
	if (l->window_ns > l->spin_ns)
		l->window_ns = l->spin_ns;
	if (l->window_ns < l->spin_ns / 16)
		l->window_ns = 0;
}

/* Reads the next request into buf: looks for one for the current window, giving the CPU to
 * any thread that wants it meanwhile, then sleeps until one comes. Returns
 * fuse_session_receive_buf's result: > 0 a request, 0 the session ended, < 0 the device
 * failed. Lock not held. */
static int next_request(struct loop *l, struct fuse_buf *buf)
{
	long long since = now_ns(), looked = 0;
	bool slept = false;

	for (;;) {
		int res = fuse_session_receive_buf(l->se, buf);

		if (res > 0)
			stats_fuse_request(!slept, (uint64_t)(looked + now_ns() - since));
		if (res != -EAGAIN && res != -EINTR)
			return res;
		if (fuse_session_exited(l->se))
			return 0;
		if (now_ns() - since < l->window_ns) {
			sched_yield();
			continue;
		}
		looked += now_ns() - since;
		set_state(l, READER_SLEEPS);
		since = now_ns();
		wait_readable(l);
		slept = true;
		set_state(l, READER_LOOKS);
		adapt_window(l, now_ns() - since);
		since = now_ns();
	}
}

static void *worker_main(void *arg);

/* Starts one more thread, which finds its role in worker_main. Lock held. Returns 0 or -1.
 * It takes no signal: they belong to the thread in loop_run. */
static int start_worker(struct loop *l)
{
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int err;

	if (!w)
		return -1;
	w->l = l;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(w);
		if (!l->nworkers)
			log_error("cannot start a thread to serve requests: %s", strerror(err));
		return -1;
	}
	w->next = l->workers;
	l->workers = w;
	l->nworkers++;
	return 0;
}

/* Gets a thread on its way to the role that has nobody (reading, else watching): an idle one
 * woken, else a new one, unless one is on its way already. Lock held. */
static void call_thread(struct loop *l)
{
	if (l->called)
		return;
	if (l->nidle) {
		l->called = true;
		pthread_cond_signal(&l->idle);
	} else if (l->nworkers < l->max_threads && start_worker(l) == 0) {
		l->called = true;
	}
}

/* The reader is about to serve a request: someone must time it, in case it waits for long.
 * A thread is called for that only when there is no watcher yet: once per burst of
 * requests, not once per request. Lock held. */
static void call_watcher(struct loop *l)
{
	if (!l->watcher)
		call_thread(l);
}

/* The reader gave the reading up: the watcher, else a thread called, takes it. Lock held. */
static void hand_off(struct loop *l)
{
	if (l->watcher)
		pthread_cond_signal(&l->watch);
	else
		call_thread(l);
}

void loop_will_wait(void)
{
	struct loop *l = self ? self->l : NULL;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->reader == self && l->state == READER_SERVES && !l->stop) {
		l->reader = NULL;
		hand_off(l);
	}
	pthread_mutex_unlock(&l->lock);
}

/* Reads one request and serves it. Lock held on entry and on return. */
static void read_and_serve(struct loop *l, struct worker *w, struct fuse_buf *buf)
{
	int res;

	l->state = READER_LOOKS;
	pthread_mutex_unlock(&l->lock);
	res = next_request(l, buf);
	pthread_mutex_lock(&l->lock);
	if (res <= 0) {
		if (res < 0)
			log_error("cannot read FUSE requests: %s", strerror(-res));
		end_loop(l, res < 0);
		return;
	}
	l->state = READER_SERVES;
	l->seq++;
	call_watcher(l);
	pthread_mutex_unlock(&l->lock);
	fuse_session_process_buf(l->se, buf);
	pthread_mutex_lock(&l->lock);
	/* Taken over meanwhile: w has no role now, and the state is the new reader's. */
	if (l->reader == w)
		l->state = READER_LOOKS;
}

/* Times the reader while it is awake: a request it has been serving since the last look is
 * one that waits, and w takes over the reading. Leaves when the reader sleeps (the burst is
 * over, nothing to time), has given the reading up (loop_will_wait), or w has taken over.
 * Lock held on entry and on return. */
static void watch_reader(struct loop *l, struct worker *w)
{
	l->watcher = w;
	while (!l->stop && l->reader && l->reader != w && l->state != READER_SLEEPS) {
		bool serving = l->state == READER_SERVES;
		uint64_t seq = l->seq;
		struct timespec at;

		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += WATCH_MS / 1000;
		at.tv_nsec += WATCH_MS % 1000 * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->watch, &l->lock, &at);
		if (!l->stop && serving && l->state == READER_SERVES && l->seq == seq)
			l->reader = w;
	}
	l->watcher = NULL;
	/* The new reader needs a watcher of its own. */
	if (l->reader == w && !l->stop)
		call_watcher(l);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct loop *l = w->l;
	struct fuse_buf buf = {.mem = NULL};

	self = w;
	pthread_setname_np(pthread_self(), "pinfs-fuse");
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		if (!l->reader) {
			l->reader = w;
			l->called = false; /* the role a thread was called for is taken */
		}
		if (l->reader == w) {
			read_and_serve(l, w, &buf);
			continue;
		}
		/* Whichever thread was called (a new one, or a woken one) is here now. */
		l->called = false;
		if (!l->watcher && l->state != READER_SLEEPS) {
			watch_reader(l, w);
		} else {
			l->nidle++;
			pthread_cond_wait(&l->idle, &l->lock);
			l->nidle--;
		}
	}
	pthread_mutex_unlock(&l->lock);
	free(buf.mem);
	return NULL;
}

static int loop_init(struct loop *l, struct fuse_session *se, const struct loop_config *cfg)
{
	pthread_condattr_t attr;
	int flags;

	l->se = se;
	l->fd = fuse_session_fd(se);
	l->spin_ns = (long long)cfg->spin_us * 1000;
	l->window_ns = l->spin_ns;
	l->max_threads = cfg->max_threads ? cfg->max_threads : 1;
	l->state = READER_LOOKS;
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0)
		return -1;
	flags = fcntl(l->fd, F_GETFL);
	if (flags < 0 || fcntl(l->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		close(l->stop_fd);
		return -1;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->idle, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&l->watch, &attr);
	pthread_condattr_destroy(&attr);
	sem_init(&l->ended, 0, 0);
	return 0;
}

/* Waits for every thread and frees what loop_init made. */
static void loop_finish(struct loop *l)
{
	while (l->workers) {
		struct worker *w = l->workers;

		l->workers = w->next;
		pthread_join(w->thread, NULL);
		free(w);
	}
	sem_destroy(&l->ended);
	pthread_cond_destroy(&l->watch);
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->lock);
	close(l->stop_fd);
	fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) & ~O_NONBLOCK);
}

int loop_run(struct fuse_session *se, const struct loop_config *cfg)
{
	struct loop l = {0};
	bool failed;

	if (loop_init(&l, se, cfg) != 0) {
		log_error("cannot set up the FUSE loop: %s", strerror(errno));
		return -1;
	}
	/* The layers below say when a thread is about to wait (blocking.h); in a thread of the
	 * loop's, the reading of requests is handed over then. */
	blocking_set_hook(loop_will_wait);
	pthread_mutex_lock(&l.lock);
	if (start_worker(&l) != 0)
		end_loop(&l, true);
	pthread_mutex_unlock(&l.lock);
	/* sem_wait returns on a signal too: libfuse's handlers end the session that way. */
	while (!fuse_session_exited(se))
		sem_wait(&l.ended);
	pthread_mutex_lock(&l.lock);
	end_loop(&l, false);
	pthread_mutex_unlock(&l.lock);
	eventfd_write(l.stop_fd, 1);
	failed = l.failed;
	loop_finish(&l);
	blocking_set_hook(NULL);
	fuse_session_reset(se);
	return failed ? -1 : 0;
}
