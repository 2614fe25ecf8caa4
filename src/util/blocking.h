/* "This thread is about to block": for the network, or for another thread's transfer or
 * listing. The layers below the FUSE edge (the model, the network code) say so here; the
 * request loop (fuse/loop.c) registers what to do about it (hand the reading of requests to
 * another thread), so that nothing below calls up into it.
 *
 * Thread-safe: the hook is an atomic pointer. */
#ifndef PINFS_BLOCKING_H
#define PINFS_BLOCKING_H

/* fn: called by blocking_ahead in the thread that is about to block; NULL: nothing. */
void blocking_set_hook(void (*fn)(void));

/* The calling thread is about to wait for the network or for another thread's fetch. */
void blocking_ahead(void);

#endif
