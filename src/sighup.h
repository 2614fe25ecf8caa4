/* SIGHUP drops every cached listing, so the next look at any folder asks the server again:
 * the way to see a change made elsewhere at once instead of after dir_cache_ttl.
 *
 * libfuse's signal handlers make SIGHUP end the mount; sighup_start, called after
 * fuse_set_signal_handlers, replaces that one handler. The handler only writes a byte to a
 * pipe: a thread of its own reads it and does the work, since a signal handler may take no lock.
 */
#ifndef PINFS_SIGHUP_H
#define PINFS_SIGHUP_H

/* Installs the handler and starts the thread. Returns 0 or -errno. */
int sighup_start(void);

/* Stops the thread; SIGHUP is ignored from then on. Safe to call when not started. */
void sighup_stop(void);

#endif
