/* What the mount has done since it started, for MOUNT/.pinfs/stats: requests by route, retries,
 * waits for a rate limit, image cache hits and misses, uploads done and failed, videos' media
 * uploads, FUSE requests and how the loop found them.
 *
 * Every function may be called from any thread at any time; none blocks on anything but a
 * short internal lock, and none ever takes the tree's lock.
 */
#ifndef PINFS_STATS_H
#define PINFS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Call once before any thread starts. api_url is the API base: requests below it are counted
 * by their route ("GET /boards/{id}/pins"), every other URL as an image ("GET image") or, sent
 * with another method, as a media upload to a storage host ("POST upload_url"). stats_cleanup frees
 * what stats_init made. Returns 0 or -ENOMEM. */
int stats_init(const char *api_url);
void stats_cleanup(void);

/* One request sent (each attempt counts, as the server sees it). */
void stats_request(const char *method, const char *url);

/* n requests about to be sent again after a failure. */
void stats_retry(unsigned n);

/* A wait of seconds before sending again, because the server said 429 (rate limited). */
void stats_rate_wait(double seconds);

/* An image served from the on-disk cache (bytes: its size), or downloaded into it. */
void stats_cache_hit(int64_t bytes);
void stats_cache_miss(int64_t bytes);

/* A file written into a folder that was to become a pin: created, or not. */
void stats_upload(bool done);

/* A step of a video's media upload (remote/media.h): registered (POST /media answered), its
 * file taken by the storage host (bytes: its size), ready (processed), or failed (registered
 * but never ready: refused, lost, processing failed or timed out). */
enum stats_media_step {
	STATS_MEDIA_REGISTERED,
	STATS_MEDIA_UPLOADED,
	STATS_MEDIA_READY,
	STATS_MEDIA_FAILED,
};
void stats_media(enum stats_media_step step, int64_t bytes);

/* One FUSE request read by the loop (loop.h): found while looking for it, or after sleeping
 * until it came; and looked_ns, how long the reader looked for it before (0 for none). */
void stats_fuse_request(bool found_looking, uint64_t looked_ns);

/* The route of a request: the method, then the URL's path below the API base with each
 * digits-only segment shown as {id} and each user name as {username}, without the query
 * ("GET /boards/{id}/pins"); "GET image" (or HEAD) for a URL outside the API, "POST upload_url"
 * for any other method there. Writes into buf. */
void stats_route(const char *method, const char *url, char *buf, size_t len);

/* Everything above as a JSON object, pretty-printed, with a final newline. Caller frees;
 * NULL when out of memory. */
char *stats_json(void);

#endif
