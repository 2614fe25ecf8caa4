#include "cache_range.h"
#include "cache_sizes.h"

#include "flight.h"
#include "http.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RANGE_SLOTS	4    /* chunks kept per download: a player's few streams */
#define RANGE_MAX_FAILS 3    /* failed fetches before an image's reads wait for its download */
#define RANGE_SOON_S	0.25 /* a chunk's fetch time until one was measured */

/* One chunk: bytes [first, first + len) of the image, or being fetched (flight.busy). */
struct chunk {
	int64_t first; /* a multiple of RANGE_CHUNK; -1 when empty */
	char *bytes;   /* len bytes; NULL while empty or being fetched */
	size_t len;
	uint64_t used; /* the range cache's clock when last read: the oldest goes first */
	struct flight flight;
};

struct range_cache {
	pthread_mutex_t lock;  /* everything below but url */
	pthread_cond_t landed; /* a chunk's fetch ended */
	char *url;	       /* the image's; never changes */
	struct chunk chunk[RANGE_SLOTS];
	uint64_t clock;
	double fetch_s; /* how long a chunk's fetch takes (a moving average) */
	int fails;	/* fetches that brought no answer worth keeping */
	bool off;	/* no more ranged reads: they do not work, or the download ended */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct range_cache *range_cache_new(const char *url)
{
	struct range_cache *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->url = strdup(url);
	if (!rc->url) {
		free(rc);
		return NULL;
	}
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->landed, NULL);
	for (int i = 0; i < RANGE_SLOTS; i++)
		rc->chunk[i].first = -1;
	rc->fetch_s = RANGE_SOON_S;
	return rc;
}

void range_cache_free(struct range_cache *rc)
{
	if (!rc)
		return;
	for (int i = 0; i < RANGE_SLOTS; i++)
		free(rc->chunk[i].bytes);
	pthread_cond_destroy(&rc->landed);
	pthread_mutex_destroy(&rc->lock);
	free(rc->url);
	free(rc);
}

void range_cache_retire(struct range_cache *rc)
{
	if (!rc)
		return;
	pthread_mutex_lock(&rc->lock);
	rc->off = true;
	for (int i = 0; i < RANGE_SLOTS; i++) {
		struct chunk *c = &rc->chunk[i];

		if (c->flight.busy)
			continue;
		free(c->bytes);
		c->bytes = NULL;
		c->first = -1;
	}
	pthread_mutex_unlock(&rc->lock);
}

bool range_wanted(struct range_cache *rc, off_t off, int64_t have, double rate, int64_t total)
{
	double soon;
	bool off_;

	if (!rc || total <= 0 || off >= total || off - have <= RANGE_WINDOW)
		return false;
	pthread_mutex_lock(&rc->lock);
	off_ = rc->off;
	soon = rc->fetch_s;
	pthread_mutex_unlock(&rc->lock);
	/* The download gets there before a chunk would: waiting for it costs no request. */
	return !off_ && (double)(off - have) > rate * soon;
}

/* What one ranged GET's outcome means. */
enum verdict {
	RIGHT,	    /* a 206 of exactly the bytes asked for */
	TRY_LATER,  /* no answer, or an error status: a later chunk may do better */
	WRONG,	    /* an answer that is not the range asked for: ranged reads stop for good */
	OTHER_SIZE, /* the server says the image has another length */
};

/* Judges the answer to a GET of want bytes at first, of an image of total bytes. */
static enum verdict judge(int rc, const struct http_resp *resp, int64_t first, int64_t want,
			  int64_t total, char *why, size_t len)
{
	if (rc != 0) {
		snprintf(why, len, "%s", resp->error[0] ? resp->error : strerror(-rc));
		/* http_send checked where the 206 starts: it was elsewhere. */
		return strstr(resp->error, "range answer") ? WRONG : TRY_LATER;
	}
	if (resp->status != 206) {
		snprintf(why, len, "HTTP %ld instead of 206", resp->status);
		/* A 200 (Range ignored) or a 416 (the image is shorter than it was): the
		 * download sorts out what the image is. */
		return resp->status < 300 || resp->status == 416 ? WRONG : TRY_LATER;
	}
	if (resp->full_len != total) {
		snprintf(why, len, "the server says %lld bytes", (long long)resp->full_len);
		return resp->full_len >= 0 ? OTHER_SIZE : WRONG;
	}
	if ((int64_t)resp->len != want) {
		snprintf(why, len, "%zu bytes came for the %lld asked at byte %lld", resp->len,
			 (long long)want, (long long)first);
		return WRONG;
	}
	return RIGHT;
}

/* Fetches the chunk at first, with no lock held. Returns 0 with *bytes (the caller's to free)
 * and *len, RANGE_FALLBACK or -EIO (see range_read); *wrong: ranged reads are to stop. */
static int fetch_chunk(struct range_cache *rc, int64_t first, int64_t total, char **bytes,
		       size_t *len, bool *wrong)
{
	int64_t want = total - first < RANGE_CHUNK ? total - first : RANGE_CHUNK;
	struct http_req req = {.method = "GET",
			       .url = rc->url,
			       .sink_fd = -1,
			       .range_first = first,
			       .range_len = want,
			       .follow = true,
			       .retry = HTTP_RETRY_NOT_DONE}; /* failing, the download brings it */
	struct http_resp resp = {0};
	double t0 = now_s();
	char why[300];
	enum verdict v;

	v = judge(http_send(&req, &resp), &resp, first, want, total, why, sizeof(why));
	*wrong = v == WRONG || v == OTHER_SIZE;
	if (v == RIGHT) {
		*bytes = resp.body;
		*len = resp.len;
		resp.body = NULL;
		pthread_mutex_lock(&rc->lock);
		rc->fetch_s = (rc->fetch_s + (now_s() - t0)) / 2;
		pthread_mutex_unlock(&rc->lock);
	} else if (v == OTHER_SIZE) {
		log_warn("download of %.200s failed: %s, where its size was %lld; that size is "
			 "forgotten",
			 rc->url, why, (long long)total);
		cache_size_forget(rc->url);
	} else {
		log_info("ranged read of %.200s at byte %lld: %s; reading the download instead",
			 rc->url, (long long)first, why);
	}
	http_resp_release(&resp);
	return v == RIGHT ? 0 : v == OTHER_SIZE ? -EIO : RANGE_FALLBACK;
}

/* The kept chunk at first, or NULL. Lock held. */
static struct chunk *chunk_find(struct range_cache *rc, int64_t first)
{
	for (int i = 0; i < RANGE_SLOTS; i++)
		if (rc->chunk[i].first == first)
			return &rc->chunk[i];
	return NULL;
}

/* The slot a new chunk takes: an empty one, else the one read longest ago; NULL when every
 * slot is being fetched. Lock held. */
static struct chunk *chunk_victim(struct range_cache *rc)
{
	struct chunk *best = NULL;

	for (int i = 0; i < RANGE_SLOTS; i++) {
		struct chunk *c = &rc->chunk[i];

		if (c->flight.busy)
			continue;
		if (c->first < 0)
			return c;
		if (!best || c->used < best->used)
			best = c;
	}
	return best;
}

/* Fetches the chunk at first into a free slot, the lock dropped meanwhile (held on entry and
 * return). Returns 0 (the chunk is kept, or every slot was being fetched and the caller
 * waited for one: it looks again), or what fetch_chunk said. */
static int chunk_fill(struct range_cache *rc, int64_t first, int64_t total)
{
	struct chunk *c = chunk_victim(rc);
	char *bytes = NULL;
	size_t len = 0;
	bool wrong = false;
	int result;

	if (!c) {
		flight_wait(&rc->lock, &rc->landed);
		return 0;
	}
	flight_take(&c->flight, &rc->lock, &rc->landed); /* a victim is never busy */
	free(c->bytes);
	c->bytes = NULL;
	c->first = first; /* others wanting it wait for this flight */
	pthread_mutex_unlock(&rc->lock);
	result = fetch_chunk(rc, first, total, &bytes, &len, &wrong);
	pthread_mutex_lock(&rc->lock);
	if (result == 0) {
		c->bytes = bytes;
		c->len = len;
	} else {
		c->first = -1;
		rc->off |= wrong || ++rc->fails >= RANGE_MAX_FAILS;
	}
	flight_land(&c->flight, &rc->landed);
	return result;
}

/* Copies into buf what the chunk holding `at` has of [at, at + size), fetching it when it is
 * not kept. Returns the bytes copied (at least one), RANGE_FALLBACK or -EIO. */
static ssize_t chunk_copy(struct range_cache *rc, char *buf, size_t size, int64_t at, int64_t total)
{
	int64_t first = at - at % RANGE_CHUNK;
	ssize_t result = 0;

	pthread_mutex_lock(&rc->lock);
	for (;;) {
		struct chunk *c = chunk_find(rc, first);

		if (rc->off) {
			result = RANGE_FALLBACK;
			break;
		}
		if (c && c->bytes) {
			size_t skip = (size_t)(at - first), n = c->len - skip;

			n = n < size ? n : size;
			memcpy(buf, c->bytes + skip, n);
			c->used = ++rc->clock;
			result = (ssize_t)n;
			break;
		}
		if (c && c->flight.busy) {
			flight_wait(&rc->lock, &rc->landed);
			continue;
		}
		result = chunk_fill(rc, first, total);
		if (result)
			break;
	}
	pthread_mutex_unlock(&rc->lock);
	return result;
}

ssize_t range_read(struct range_cache *rc, char *buf, size_t size, off_t off, int64_t total)
{
	int64_t end = (int64_t)off + (int64_t)size < total ? (int64_t)off + (int64_t)size : total;
	size_t done = 0;

	while ((int64_t)off + (int64_t)done < end) {
		int64_t at = (int64_t)off + (int64_t)done;
		ssize_t n = chunk_copy(rc, buf + done, (size_t)(end - at), at, total);

		if (n < 0)
			return n;
		done += (size_t)n;
	}
	return (ssize_t)done;
}
