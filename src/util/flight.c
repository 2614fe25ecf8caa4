#include "flight.h"

#include "blocking.h"

void flight_wait(pthread_mutex_t *lock, pthread_cond_t *changed)
{
	/* Another thread's fetch, from the network. */
	blocking_ahead();
	pthread_cond_wait(changed, lock);
}

bool flight_take(struct flight *f, pthread_mutex_t *lock, pthread_cond_t *changed)
{
	if (f->busy) {
		flight_wait(lock, changed);
		return false;
	}
	f->busy = true;
	return true;
}

void flight_land(struct flight *f, pthread_cond_t *changed)
{
	f->busy = false;
	pthread_cond_broadcast(changed);
}
