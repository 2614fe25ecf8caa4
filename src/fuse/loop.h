/* The session loop: the threads that read FUSE requests from /dev/fuse and serve them.
 *
 * libfuse's own loop keeps every idle thread asleep in read(2): each request, even one served
 * from memory in a few microseconds, costs a thread's wake-up, and its close (RELEASE) a second
 * one. A `grep -r` over thousands of sidecars is then paced by wake-ups, not by work; on a
 * virtual machine, whose idle CPUs halt, each one is an interrupt sent to another CPU.
 *
 * Here one thread at a time reads the device; it serves what it reads itself and, once done,
 * looks for the next request for spin_us microseconds (yielding the CPU to anyone who wants
 * it) before it sleeps in poll(2). A stream of requests is then read without any wake-up.
 * A request that takes long (one that waits for the network) must not hold the others back:
 * the reader hands the reading over before it waits for the network (loop_will_wait), and,
 * for any other wait, a second thread checks on it every WATCH_MS while it serves and, finding
 * it still on the same request, takes over the reading. More threads are started as needed,
 * up to max_threads, as libfuse's loop does.
 */
#ifndef PINFS_LOOP_H
#define PINFS_LOOP_H

#include <fuse_lowlevel.h>

struct loop_config {
	unsigned max_threads; /* at most this many threads serve requests at once (>= 1) */
	unsigned spin_us;     /* how long the reader looks for a request before it sleeps */
};

/* Serves se's requests until the session ends: unmounted, or a signal handler called
 * fuse_session_exit. Call it from the thread that takes the signals (the main thread): the
 * others block every signal. Waits for the requests being served. Returns 0, or -1 when the
 * device could not be read or a thread could not be started. */
int loop_run(struct fuse_session *se, const struct loop_config *cfg);

/* Says the calling thread is about to wait for the network or for another thread's transfer.
 * When it is the reader, serving a request, another thread takes over the reading at once
 * instead of at the watcher's next look: sixteen readers of images that are still on their
 * way are all waited for side by side, not one more every WATCH_MS. Does nothing in a thread
 * that is not the loop's. */
void loop_will_wait(void);

#endif
