/* Reads far ahead of an image's download, served by ranged GETs (private to cache.c).
 *
 * A download brings an image from its first byte on, into its .part. A read far beyond what
 * the .part holds (a player or `dd skip=` seeking into a large video) would wait for every
 * byte before it; instead it is served from a Range GET of the aligned chunk (RANGE_CHUNK
 * bytes) that holds it, while the download goes on. The last few chunks fetched are kept per
 * download, so sequential reads in that area cost one request per chunk.
 *
 * Who frees what: cache.c makes one struct range_cache per download that needs one
 * (range_cache_new) and frees it with the download (range_cache_free), when no read can be
 * using it any more. The chunks' bytes are the range cache's: reads copy out of them.
 *
 * Locks: each range cache's own lock guards its chunks, its measures and its `off` flag. It
 * is a leaf: taken with no other lock held (never with cache.c's dl_lock), and never held
 * across the network: a chunk is fetched by one thread at a time (util/flight.h), the others
 * wait for it.
 */
#ifndef PINFS_CACHE_RANGE_H
#define PINFS_CACHE_RANGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RANGE_CHUNK  (1 << 20) /* bytes a ranged GET asks for, aligned to its own size */
#define RANGE_WINDOW (2 << 20) /* a read at most this far ahead of the .part waits for it */

/* What range_read answers when it did not serve the read: the caller waits for the download,
 * as it would have without ranged reads. */
#define RANGE_FALLBACK (-EAGAIN)

struct range_cache;

/* A range cache for the image at url (copied), with no chunk yet; NULL when out of memory. */
struct range_cache *range_cache_new(const char *url);

/* Frees rc and its chunks (NULL is fine). No thread may be using it. */
void range_cache_free(struct range_cache *rc);

/* The download ended (whole, failed or stopped): reads go to it from now on, and the chunks
 * kept go (one being fetched stays until range_cache_free). NULL is fine. */
void range_cache_retire(struct range_cache *rc);

/* Whether a read at off is to be served by range_read: rc is not NULL, the image's size
 * (total) is known and off is within it, ranged reads still work for this image, and off is
 * ahead of what the download holds (have bytes, growing at rate bytes/s, 0 when not measured)
 * by more than RANGE_WINDOW and more than the download brings while a chunk is fetched. */
bool range_wanted(struct range_cache *rc, off_t off, int64_t have, double rate, int64_t total);

/* Reads up to size bytes at off of the image of total bytes into buf from the chunks that
 * hold them, fetching those not kept. Returns the bytes read (fewer than size only at total),
 * RANGE_FALLBACK (the server's answer was not the range asked for, or no answer came: logged
 * at info level; after a wrong answer, or a few failures, range_wanted says false from then
 * on), or -EIO when the server says the image has another length than total (logged; that
 * size is forgotten, as a download of another length does). Never short or wrong bytes. */
ssize_t range_read(struct range_cache *rc, char *buf, size_t size, off_t off, int64_t total);

#endif
