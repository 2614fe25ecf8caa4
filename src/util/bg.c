#include "bg.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* What a thread started here runs: the function and its argument, freed by the thread. */
struct start {
	struct bg_group *g; /* NULL: not a group's task */
	void (*fn)(void *);
	void *arg;
};

static void *run(void *p)
{
	struct start s = *(struct start *)p;

	free(p);
	s.fn(s.arg);
	if (s.g) {
		pthread_mutex_lock(&s.g->lock);
		s.g->running--;
		pthread_cond_broadcast(&s.g->changed);
		pthread_mutex_unlock(&s.g->lock);
	}
	return NULL;
}

/* Starts run(s) with every signal blocked, joinable or not. 0 or -errno; s is the thread's
 * once it starts, else still the caller's. */
static int start(pthread_t *t, struct start *s, bool detached)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t local;
	int err;

	if ((err = pthread_attr_init(&attr)) != 0)
		return -err;
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(t ? t : &local, &attr, run, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -err;
}

int bg_spawn(struct bg_group *g, void (*fn)(void *), void *arg)
{
	struct start *s = malloc(sizeof(*s));
	int result;

	if (!s)
		return -ENOMEM;
	*s = (struct start){g, fn, arg};
	pthread_mutex_lock(&g->lock);
	if (g->stopping) {
		pthread_mutex_unlock(&g->lock);
		free(s);
		return -ECANCELED;
	}
	g->running++;
	pthread_mutex_unlock(&g->lock);
	result = start(NULL, s, true);
	if (result) {
		free(s);
		pthread_mutex_lock(&g->lock);
		g->running--;
		pthread_cond_broadcast(&g->changed);
		pthread_mutex_unlock(&g->lock);
	}
	return result;
}

bool bg_stopping(struct bg_group *g)
{
	bool stopping;

	pthread_mutex_lock(&g->lock);
	stopping = g->stopping;
	pthread_mutex_unlock(&g->lock);
	return stopping;
}

bool bg_sleep(struct bg_group *g, long ms)
{
	struct timespec at;
	bool stopping;

	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_nsec += ms % 1000 * 1000000L;
	at.tv_sec += ms / 1000 + at.tv_nsec / 1000000000L;
	at.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&g->lock);
	while (!g->stopping && pthread_cond_timedwait(&g->changed, &g->lock, &at) != ETIMEDOUT)
		;
	stopping = g->stopping;
	pthread_mutex_unlock(&g->lock);
	return !stopping;
}

void bg_stop(struct bg_group *g)
{
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_broadcast(&g->changed);
	while (g->running)
		pthread_cond_wait(&g->changed, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void bg_resume(struct bg_group *g)
{
	pthread_mutex_lock(&g->lock);
	g->stopping = false;
	pthread_mutex_unlock(&g->lock);
}

/* Starts fn(arg) in a joinable thread into b; false when none could start (fn not run). */
static bool start_joinable(struct bg_beside *b, void (*fn)(void *), void *arg)
{
	struct start *s = malloc(sizeof(*s));

	b->fn = fn;
	b->arg = arg;
	b->threaded = false;
	if (!s)
		return false;
	*s = (struct start){NULL, fn, arg};
	b->threaded = start(&b->thread, s, false) == 0;
	if (!b->threaded)
		free(s);
	return b->threaded;
}

void bg_beside(struct bg_beside *b, void (*fn)(void *), void *arg)
{
	if (!start_joinable(b, fn, arg))
		fn(arg);
}

void bg_join(struct bg_beside *b)
{
	if (b->threaded)
		pthread_join(b->thread, NULL);
	b->threaded = false;
}

#define PARALLEL_MAX 32

void bg_parallel(unsigned extra, void (*fn)(void *), void *arg)
{
	struct bg_beside others[PARALLEL_MAX];
	unsigned n = 0;

	if (extra > PARALLEL_MAX)
		extra = PARALLEL_MAX;
	/* Started one by one; each may find the queue empty already and return at once. */
	while (n < extra && start_joinable(&others[n], fn, arg))
		n++;
	fn(arg);
	for (unsigned i = 0; i < n; i++)
		bg_join(&others[i]);
}
