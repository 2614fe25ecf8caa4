/* The cache's store of image sizes (cache_sizes.c), as cache.c drives it: the rest of pinfs
 * reads and records sizes through cache.h (cache_size_get, cache_size_put...).
 *
 * Thread-safe, but for open and close: cache_init and cache_cleanup call them, with no other
 * thread using the cache.
 */
#ifndef PINFS_CACHE_SIZES_H
#define PINFS_CACHE_SIZES_H

/* Opens (creating it, mode 0600) dir/sizes.bin and loads the sizes it holds, a later record of
 * a URL winning. Returns 0 or -errno; the caller logs it. */
int cache_sizes_open(const char *dir);

/* Closes sizes.bin and forgets every size, for a later cache_sizes_open. */
void cache_sizes_close(void);

/* A download contradicted url's size: it is not known any more, after a remount too (it is
 * recorded as forgotten), and cache_size_forgets counts it. */
void cache_size_forget(const char *url);

#endif
