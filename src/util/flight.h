/* Single flight: of the threads that want one result fetched (a listing, a folder, sizes),
 * one fetches it and the others wait for that fetch instead of sending the same requests.
 *
 * The flag lives in the caller's struct and is guarded by the caller's lock; the waiters
 * sleep on the caller's condition, which flight_land broadcasts. The caller's lock is never
 * held across the fetch itself: take the flight, unlock, fetch, lock, land.
 *
 *	for (;;) {
 *		x = find(key);           // anew at each turn: x may be gone
 *		if (fresh(x)) break;
 *		if (!flight_take(&x->flight, &lock, &changed))
 *			continue;        // another fetched meanwhile: look again
 *		unlock; fetch; lock; install;
 *		flight_land(&x->flight, &changed);
 *	}
 */
#ifndef PINFS_FLIGHT_H
#define PINFS_FLIGHT_H

#include <pthread.h>
#include <stdbool.h>

struct flight {
	bool busy; /* a fetch is under way; guarded by the caller's lock */
};

/* Lock held on entry and on return. True: no fetch was under way, and the caller's is now
 * (it must end with flight_land). False: one was, and the caller waited for a change (saying
 * so to blocking_ahead first): it looks again, finding its object anew, as the object may
 * have gone meanwhile (f is not touched after the wait). */
bool flight_take(struct flight *f, pthread_mutex_t *lock, pthread_cond_t *changed);

/* Waits, lock held, for the next change: a flight landed (any of those that share changed).
 * f is not touched after the wait. */
void flight_wait(pthread_mutex_t *lock, pthread_cond_t *changed);

/* Ends the caller's fetch, lock held: every waiter wakes to look again. */
void flight_land(struct flight *f, pthread_cond_t *changed);

#endif
