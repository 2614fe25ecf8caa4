/* Background work, one way for the whole program: threads that run beside the request
 * threads (listing ahead, learning sizes, the forgetter), and work spread over a few threads.
 *
 * A group (struct bg_group) owns the detached tasks started in it: bg_stop says they are to
 * end, refuses new ones, and waits until every one has returned, so that a module's cleanup
 * is one call and no thread outlives what it uses. A task looks at bg_stopping (or sleeps in
 * bg_sleep, which wakes at once on a stop) between steps; a task blocked in a transfer ends
 * when the transfer is cancelled (http_cancel). Every thread started here blocks all
 * signals: they belong to the thread that runs the FUSE loop.
 *
 * Thread-safe. The shutdown order across groups is main.c's (docs/design.md, "Locks").
 */
#ifndef PINFS_BG_H
#define PINFS_BG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct bg_group {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a task ended, or a stop was asked */
	unsigned running;	/* tasks started and not returned; guarded by lock */
	bool stopping;		/* guarded by lock */
};

#define BG_GROUP_INIT                                                                              \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false                      \
	}

/* Starts fn(arg) in a thread of g's. Returns 0, -ECANCELED when g is stopping (fn is not
 * run), or -errno when no thread could be started (fn is not run: the caller decides whether
 * to run it itself). */
int bg_spawn(struct bg_group *g, void (*fn)(void *), void *arg);

/* True once g has been asked to stop. */
bool bg_stopping(struct bg_group *g);

/* Sleeps up to ms milliseconds, less when g is asked to stop. False when it is stopping. */
bool bg_sleep(struct bg_group *g, long ms);

/* Asks g's tasks to stop, refuses new ones, and waits until every one has returned. */
void bg_stop(struct bg_group *g);

/* Lets g start tasks again after a bg_stop (a new mount in one process: the tests'). */
void bg_resume(struct bg_group *g);

/* Runs fn(arg) in the calling thread and in up to extra more threads at once, and returns
 * when every one has returned: fn takes its items from a queue of the caller's until none are
 * left. A thread that cannot start means fewer at once, never less work. */
void bg_parallel(unsigned extra, void (*fn)(void *), void *arg);

/* One piece of work run beside the caller's own: started by bg_beside, waited for by
 * bg_join. Run in the calling thread at once when no thread can be started. */
struct bg_beside {
	pthread_t thread;
	bool threaded;
	void (*fn)(void *);
	void *arg;
};

void bg_beside(struct bg_beside *b, void (*fn)(void *), void *arg);
void bg_join(struct bg_beside *b);

#endif
