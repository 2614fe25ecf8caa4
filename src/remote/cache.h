/* The on-disk cache under cache_dir: image bytes (images/<key>) and image sizes (sizes.bin),
 * both keyed by the image URL, so they survive remounts and never go stale when Pinterest
 * serves a new URL for a new image.
 *
 * An image not cached yet is streamed: opening it starts (or joins) one background download
 * into images/<key>.part, and each read waits only for the bytes it asks for. The .part is
 * renamed into place once it holds the whole image, so a partial image is never taken for a
 * cached one. A read far beyond what the .part holds, of an image whose size is known, is
 * served by ranged GETs of the part it asks for while the download goes on (cache_range.h).
 *
 * Thread-safe. Strings passed in are only read. No lock is held across a network call.
 */
#ifndef PINFS_CACHE_H
#define PINFS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Creates dir (mode 0700) if needed and loads the sizes it knows. Returns 0 or -errno. */
int cache_init(const char *dir);

/* Stops the downloads still running (waiting for each to end) and frees everything. */
void cache_cleanup(void);

/* The size of the image at url, or -1 when not known (or forgotten: see cache_size_forgets). */
int64_t cache_size_get(const char *url);

/* Remembers a size, in memory and on disk. */
void cache_size_put(const char *url, int64_t size);

/* An open image: the cached file, or the download bringing it. */
struct cache_image;

/* Opens the image at url for reading and returns at once: when its bytes are not cached, one
 * download of url starts in the background, shared by every open of that URL (a stopped
 * one resumes where its .part ends, with Range). *out is the caller's, freed by
 * cache_image_close. Returns 0 or -errno (local trouble only: network failures show in
 * cache_image_read). */
int cache_image_open(const char *url, struct cache_image **out);

/* Reads up to size bytes at off into buf, waiting until the download holds them (or ended).
 * Returns the bytes read, fewer than size only at the image's end; -EIO when the download
 * failed (logged once, when it failed: a missing image is -EIO too) or was stopped at
 * unmount; another -errno for local trouble. Never short or wrong bytes. */
ssize_t cache_image_read(struct cache_image *img, char *buf, size_t size, off_t off);

/* Closes img (NULL is fine). When it was the last handle on an unfinished download, the
 * transfer stops and its .part stays, for a later open to resume. */
void cache_image_close(struct cache_image *img);

/* Installs data as the cached bytes of url (a pin just uploaded, whose image at url is the
 * uploaded file) and records its size, so neither a HEAD nor a GET is needed for it.
 * Atomic: readers see no file or the whole one. Returns 0 or -errno. */
int cache_image_put(const char *url, const void *data, size_t len);

/* cache_image_put of the first len bytes of the file fd (read with pread, a piece at a time:
 * an upload's file is never held in memory). fd stays the caller's. */
int cache_image_put_file(const char *url, int fd, int64_t len);

/* How many sizes are known (for tests and stats). */
uint64_t cache_sizes_known(void);

/* How often a size was forgotten since cache_init: a download of the image had another length
 * (it failed with EIO), so cache_size_get says -1 for it from then on, after a remount too. A
 * copy of a size taken earlier is stale once this count moves. */
uint64_t cache_size_forgets(void);

/* 64-bit FNV-1a of a NUL-terminated string (never 0): the key of a URL. */
uint64_t cache_key(const char *url);

#endif
