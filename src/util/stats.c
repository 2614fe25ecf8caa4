#include "stats.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROUTES 64 /* far above the routes pinfs uses; any more are counted as "other" */
#define ROUTE_MAX  96
#define SEGS_MAX   16

struct route {
	char name[ROUTE_MAX];
	uint64_t n;
};

/* Scalars are atomics, so the hot paths (a cache hit on every open) take no lock. Routes are
 * strings found by name, so they share one short lock. */
static struct {
	atomic_uint_least64_t requests, retries, rate_waits, rate_wait_ms;
	atomic_uint_least64_t cache_hits, cache_hit_bytes, cache_misses, cache_miss_bytes;
	atomic_uint_least64_t uploads_done, uploads_failed;
	atomic_uint_least64_t media[STATS_MEDIA_FAILED + 1], media_bytes;
	atomic_uint_least64_t fuse_requests, fuse_found_looking, fuse_looked_ns;
	pthread_mutex_t lock;
	struct route routes[MAX_ROUTES];
	size_t nroutes;
	uint64_t other;
	char *base; /* the API base without a trailing '/' */
	time_t started;
} counters = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

int stats_init(const char *api_url)
{
	size_t len;

	free(counters.base);
	counters.base = api_url ? strdup(api_url) : NULL;
	if (api_url && !counters.base)
		return -ENOMEM;
	len = counters.base ? strlen(counters.base) : 0;
	while (len > 0 && counters.base[len - 1] == '/')
		counters.base[--len] = '\0';
	counters.started = time(NULL);
	return 0;
}

void stats_cleanup(void)
{
	free(counters.base);
	counters.base = NULL;
}

/* The path of url below the API base, or NULL when url is not the API's. Without a base,
 * the path after the host. */
static const char *api_path(const char *url)
{
	size_t blen;

	if (!counters.base) {
		const char *host = strstr(url, "://");

		host = host ? host + 3 : url;
		return host + strcspn(host, "/?#");
	}
	blen = strlen(counters.base);
	if (strncmp(url, counters.base, blen) != 0 || !strchr("/?#", url[blen]))
		return NULL;
	return url + blen;
}

static bool digits_only(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool seg_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncmp(s, word, len) == 0;
}

/* Pinterest names users in a few paths: /users/NAME/... and /user_account/following/NAME. */
static bool is_username(const char *const *segs, const size_t *lens, size_t i)
{
	if (i >= 1 && seg_is(segs[i - 1], lens[i - 1], "users"))
		return true;
	return i == 2 && seg_is(segs[0], lens[0], "user_account") &&
	       seg_is(segs[1], lens[1], "following") && !seg_is(segs[2], lens[2], "boards");
}

void stats_route(const char *method, const char *url, char *buf, size_t len)
{
	const char *path = api_path(url), *segs[SEGS_MAX];
	size_t lens[SEGS_MAX], n = 0, used;

	if (!path) {
		bool read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

		snprintf(buf, len, "%s %s", method, read ? "image" : "upload_url");
		return;
	}
	for (const char *p = path; *p && !strchr("?#", *p) && n < SEGS_MAX;) {
		size_t l = strcspn(p, "/?#");

		if (l > 0) {
			segs[n] = p;
			lens[n++] = l;
		}
		p += l;
		if (*p == '/')
			p++;
	}
	used = (size_t)snprintf(buf, len, "%s ", method);
	for (size_t i = 0; i < n && used < len; i++) {
		if (digits_only(segs[i], lens[i]))
			used += snprintf(buf + used, len - used, "/{id}");
		else if (is_username(segs, lens, i))
			used += snprintf(buf + used, len - used, "/{username}");
		else
			used += snprintf(buf + used, len - used, "/%.*s", (int)lens[i], segs[i]);
	}
	if (n == 0 && used < len)
		snprintf(buf + used, len - used, "/");
}

void stats_request(const char *method, const char *url)
{
	char name[ROUTE_MAX];
	size_t i;

	atomic_fetch_add(&counters.requests, 1);
	stats_route(method, url, name, sizeof(name));
	pthread_mutex_lock(&counters.lock);
	for (i = 0; i < counters.nroutes; i++)
		if (strcmp(counters.routes[i].name, name) == 0)
			break;
	if (i == counters.nroutes && i < MAX_ROUTES) {
		memcpy(counters.routes[i].name, name, sizeof(name));
		counters.nroutes++;
	}
	if (i < counters.nroutes)
		counters.routes[i].n++;
	else
		counters.other++;
	pthread_mutex_unlock(&counters.lock);
}

void stats_retry(unsigned n)
{
	atomic_fetch_add(&counters.retries, n);
}

void stats_rate_wait(double seconds)
{
	atomic_fetch_add(&counters.rate_waits, 1);
	atomic_fetch_add(&counters.rate_wait_ms, (uint64_t)(seconds > 0 ? seconds * 1000 : 0));
}

void stats_cache_hit(int64_t bytes)
{
	atomic_fetch_add(&counters.cache_hits, 1);
	atomic_fetch_add(&counters.cache_hit_bytes, (uint64_t)(bytes > 0 ? bytes : 0));
}

void stats_cache_miss(int64_t bytes)
{
	atomic_fetch_add(&counters.cache_misses, 1);
	atomic_fetch_add(&counters.cache_miss_bytes, (uint64_t)(bytes > 0 ? bytes : 0));
}

void stats_upload(bool done)
{
	atomic_fetch_add(done ? &counters.uploads_done : &counters.uploads_failed, 1);
}

void stats_media(enum stats_media_step step, int64_t bytes)
{
	if (step > STATS_MEDIA_FAILED)
		return;
	atomic_fetch_add(&counters.media[step], 1);
	if (step == STATS_MEDIA_UPLOADED)
		atomic_fetch_add(&counters.media_bytes, (uint64_t)(bytes > 0 ? bytes : 0));
}

void stats_fuse_request(bool found_looking, uint64_t looked_ns)
{
	atomic_fetch_add(&counters.fuse_requests, 1);
	if (found_looking)
		atomic_fetch_add(&counters.fuse_found_looking, 1);
	if (looked_ns)
		atomic_fetch_add(&counters.fuse_looked_ns, looked_ns);
}

static cJSON *add_object(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddItemToObject(parent, key, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Counts are JSON numbers (doubles): exact up to 2^53, far beyond any mount's lifetime. */
static bool add_count(cJSON *o, const char *key, uint64_t n)
{
	return o && cJSON_AddNumberToObject(o, key, (double)n);
}

static bool add_routes(cJSON *requests)
{
	cJSON *by = add_object(requests, "by_route");
	bool ok = by != NULL;

	pthread_mutex_lock(&counters.lock);
	for (size_t i = 0; ok && i < counters.nroutes; i++)
		ok = add_count(by, counters.routes[i].name, counters.routes[i].n);
	if (ok && counters.other)
		ok = add_count(by, "other", counters.other);
	pthread_mutex_unlock(&counters.lock);
	return ok;
}

char *stats_json(void)
{
	cJSON *root = cJSON_CreateObject(), *requests, *rate, *cache, *uploads, *media, *fuse;
	char *text = NULL, *out = NULL;
	bool ok;

	requests = root ? add_object(root, "requests") : NULL;
	ok = add_count(requests, "total", atomic_load(&counters.requests)) &&
	     add_routes(requests) && add_count(root, "retries", atomic_load(&counters.retries));
	rate = ok ? add_object(root, "rate_limit") : NULL;
	ok = add_count(rate, "waits", atomic_load(&counters.rate_waits)) &&
	     cJSON_AddNumberToObject(rate, "wait_seconds",
				     atomic_load(&counters.rate_wait_ms) / 1000.0);
	cache = ok ? add_object(root, "image_cache") : NULL;
	ok = add_count(cache, "hits", atomic_load(&counters.cache_hits)) &&
	     add_count(cache, "hit_bytes", atomic_load(&counters.cache_hit_bytes)) &&
	     add_count(cache, "misses", atomic_load(&counters.cache_misses)) &&
	     add_count(cache, "downloaded_bytes", atomic_load(&counters.cache_miss_bytes));
	uploads = ok ? add_object(root, "uploads") : NULL;
	ok = add_count(uploads, "done", atomic_load(&counters.uploads_done)) &&
	     add_count(uploads, "failed", atomic_load(&counters.uploads_failed));
	media = ok ? add_object(root, "media") : NULL;
	ok = add_count(media, "registered", atomic_load(&counters.media[STATS_MEDIA_REGISTERED])) &&
	     add_count(media, "uploaded", atomic_load(&counters.media[STATS_MEDIA_UPLOADED])) &&
	     add_count(media, "uploaded_bytes", atomic_load(&counters.media_bytes)) &&
	     add_count(media, "ready", atomic_load(&counters.media[STATS_MEDIA_READY])) &&
	     add_count(media, "failed", atomic_load(&counters.media[STATS_MEDIA_FAILED]));
	fuse = ok ? add_object(root, "fuse") : NULL;
	ok = add_count(fuse, "requests", atomic_load(&counters.fuse_requests)) &&
	     add_count(fuse, "found_looking", atomic_load(&counters.fuse_found_looking)) &&
	     cJSON_AddNumberToObject(fuse, "look_seconds",
				     atomic_load(&counters.fuse_looked_ns) / 1e9) &&
	     add_count(root, "uptime_seconds", (uint64_t)(time(NULL) - counters.started));
	if (ok)
		text = cJSON_Print(root);
	/* A final newline, so `cat .pinfs/stats` leaves the prompt on its own line. */
	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	free(text);
	cJSON_Delete(root);
	return out;
}
