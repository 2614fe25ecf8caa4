/* The on-disk cache under cache_dir: image bytes (images/<key>) and image sizes (sizes.bin),
 * both keyed by the image URL, so they survive remounts and never go stale when Pinterest
 * serves a new URL for a new image.
 *
 * Thread-safe. Strings passed in are only read.
 */
#ifndef PINFS_CACHE_H
#define PINFS_CACHE_H

#include <stdint.h>

/* Creates dir (mode 0700) if needed and loads the sizes it knows. Returns 0 or -errno. */
int cache_init(const char *dir);
void cache_cleanup(void);

/* The size of the image at url, or -1 when not known. */
int64_t cache_size_get(const char *url);

/* Remembers a size, in memory and on disk. */
void cache_size_put(const char *url, int64_t size);

/* Opens the cached bytes of url read-only, downloading them first when they are not there;
 * concurrent callers for one URL share one download. Returns an fd, -ENOENT (the server has
 * no such image), -EIO (any network failure, logged) or another -errno (local trouble). */
int cache_image_open(const char *url);

/* How many sizes are known (for tests and stats). */
uint64_t cache_sizes_known(void);

/* 64-bit FNV-1a: the key of a URL. */
uint64_t cache_key(const char *url);

#endif
