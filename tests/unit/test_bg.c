/* Unit tests of background work (src/util/bg.h) and single flight (src/util/flight.h). */
#include "bg.h"
#include "blocking.h"
#include "check.h"
#include "flight.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ITEMS 5000

struct queue {
	pthread_mutex_t lock;
	size_t next;
	unsigned char done[ITEMS];
	atomic_int threads;
};

static void take_items(void *arg)
{
	struct queue *q = arg;

	atomic_fetch_add(&q->threads, 1);
	for (;;) {
		size_t i;

		pthread_mutex_lock(&q->lock);
		i = q->next < ITEMS ? q->next++ : ITEMS;
		pthread_mutex_unlock(&q->lock);
		if (i == ITEMS)
			return;
		q->done[i]++;
		if (i % 500 == 0)
			usleep(1000); /* the others take items meanwhile */
	}
}

static void test_parallel_takes_every_item_once(void)
{
	static struct queue q = {.lock = PTHREAD_MUTEX_INITIALIZER};
	size_t once = 0;

	bg_parallel(7, take_items, &q);
	for (size_t i = 0; i < ITEMS; i++)
		once += q.done[i] == 1;
	CHECK(once == ITEMS);
	CHECK(atomic_load(&q.threads) == 8); /* the caller and seven more */
	memset(&q, 0, sizeof(q));
	pthread_mutex_init(&q.lock, NULL);
	bg_parallel(0, take_items, &q); /* the caller alone */
	CHECK(q.next == ITEMS && atomic_load(&q.threads) == 1);
}

static struct bg_group group = BG_GROUP_INIT;
static atomic_int looping, ended, signals_blocked;

static void loop_until_stopped(void *arg)
{
	sigset_t mask;

	(void)arg;
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	if (sigismember(&mask, SIGINT) && sigismember(&mask, SIGTERM))
		atomic_fetch_add(&signals_blocked, 1);
	atomic_fetch_add(&looping, 1);
	while (bg_sleep(&group, 10000))
		;
	atomic_fetch_add(&ended, 1);
}

static void test_a_stop_ends_every_task(void)
{
	struct timespec a, b;
	double took;

	for (int i = 0; i < 5; i++)
		CHECK(bg_spawn(&group, loop_until_stopped, NULL) == 0);
	while (atomic_load(&looping) < 5)
		usleep(1000);
	CHECK(!bg_stopping(&group));
	clock_gettime(CLOCK_MONOTONIC, &a);
	bg_stop(&group);
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* Every task has returned when bg_stop does, woken at once, not after its 10 s. */
	CHECK(atomic_load(&ended) == 5);
	CHECK(took < 5.0);
	CHECK(atomic_load(&signals_blocked) == 5);
	CHECK(bg_stopping(&group));
	CHECK(bg_spawn(&group, loop_until_stopped, NULL) == -ECANCELED);
	CHECK(!bg_sleep(&group, 1));
	bg_resume(&group);
	CHECK(!bg_stopping(&group));
	CHECK(bg_sleep(&group, 20)); /* a plain sleep: not stopping */
}

static void add_one(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

static void test_beside_runs_once(void)
{
	atomic_int n = 0;
	struct bg_beside b;

	bg_beside(&b, add_one, &n);
	bg_join(&b);
	CHECK(atomic_load(&n) == 1);
	bg_join(&b); /* a second join does nothing */
	CHECK(atomic_load(&n) == 1);
}

/* Single flight: eight threads want one value; one fetches it, slowly. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct flight flight;
	bool fresh;
	int value;
	atomic_int fetches, saw;
} F = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static atomic_int blocked;

static void count_block(void)
{
	atomic_fetch_add(&blocked, 1);
}

static void want_value(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&F.lock);
	while (!F.fresh) {
		if (!flight_take(&F.flight, &F.lock, &F.changed))
			continue;
		pthread_mutex_unlock(&F.lock);
		atomic_fetch_add(&F.fetches, 1);
		usleep(50000); /* the network */
		pthread_mutex_lock(&F.lock);
		F.value = 42;
		F.fresh = true;
		flight_land(&F.flight, &F.changed);
	}
	if (F.value == 42)
		atomic_fetch_add(&F.saw, 1);
	pthread_mutex_unlock(&F.lock);
}

static void test_one_flight_for_many(void)
{
	blocking_set_hook(count_block);
	bg_parallel(7, want_value, NULL);
	blocking_set_hook(NULL);
	CHECK(atomic_load(&F.fetches) == 1);
	CHECK(atomic_load(&F.saw) == 8);
	CHECK(!F.flight.busy);
	/* Each thread that waited said so first: at least one did, as the fetch took 50 ms. */
	CHECK(atomic_load(&blocked) >= 1);
	pthread_mutex_lock(&F.lock);
	CHECK(flight_take(&F.flight, &F.lock, &F.changed)); /* nobody fetching: the caller */
	flight_land(&F.flight, &F.changed);
	pthread_mutex_unlock(&F.lock);
}

int main(void)
{
	test_parallel_takes_every_item_once();
	test_a_stop_ends_every_task();
	test_beside_runs_once();
	test_one_flight_for_many();
	return check_summary();
}
