/* MOUNT/analytics.json: the account's analytics of the last 30 days, the answer of
 * GET /user_account/analytics?start_date=D1&end_date=D2 (D2 today in UTC, D1 thirty days
 * before) printed as pretty JSON. Read-only: the slots it leaves empty answer the router's
 * defaults (-EACCES for a change).
 *
 * One request when it is read (an open), the answer kept for the TTL. A stat asks nothing:
 * it gives the kept answer's size while it is fresh, else 0 as a size not known yet (the
 * kernel keeps no such attributes, and the read gets every byte), so `ls -l MOUNT` and a walk
 * of the whole mount cost no request, and `cat` then `ls -l` cost one. A 403 (an app without
 * analytics access) is kept as long and answered -EACCES; api_call has logged Pinterest's reason
 * once. Another failure is kept by nobody: the threads that waited for that fetch hear it, the next
 * asker fetches again.
 *
 * analytics.lock guards the kept answer and the flight; it is never held across the request,
 * and no other lock is taken under it. */
#include "api.h"
#include "caller.h"
#include "flight.h"
#include "log.h"
#include "provider.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ANALYTICS_PATH "/analytics.json"
#define ANALYTICS_DAYS 30

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a fetch landed (flight.h) */
	struct flight fetching;
	double ttl;
	char *text; /* the last answer printed; NULL: none kept */
	size_t len;
	bool refused;	      /* the last answer was a 403: -EACCES until the TTL ends */
	double at;	      /* when the kept answer came, on the monotonic clock */
	time_t fetched;	      /* the same on the wall clock: the file's mtime */
	unsigned long landed; /* fetches ended so far */
	int failed;	      /* the last fetch's error when it was kept by nobody, else 0 */
} analytics = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .changed = PTHREAD_COND_INITIALIZER,
};

void analytics_init(double ttl_s)
{
	analytics.ttl = ttl_s;
}

void analytics_cleanup(void)
{
	pthread_mutex_lock(&analytics.lock);
	free(analytics.text);
	analytics.text = NULL;
	analytics.len = 0;
	analytics.refused = false;
	pthread_mutex_unlock(&analytics.lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One request: the answer printed into *text (caller frees), or -errno as api_call maps it
 * (-EPERM for a 403). No lock held. */
static int fetch(char **text)
{
	time_t end = time(NULL), start = end - (time_t)ANALYTICS_DAYS * 24 * 3600;
	char d1[16], d2[16], path[96];
	cJSON *answer = NULL;
	struct tm tm;
	int result;

	*text = NULL;
	if (!gmtime_r(&start, &tm) || !strftime(d1, sizeof(d1), "%Y-%m-%d", &tm) ||
	    !gmtime_r(&end, &tm) || !strftime(d2, sizeof(d2), "%Y-%m-%d", &tm))
		return -EIO;
	snprintf(path, sizeof(path), "/user_account/analytics?start_date=%s&end_date=%s", d1, d2);
	result = api_call("GET", path, NULL, &answer);
	if (!result && !cJSON_IsObject(answer)) {
		log_warn("GET /user_account/analytics: the answer is not an object");
		result = -EIO;
	}
	if (!result && !(*text = cJSON_Print(answer)))
		result = -ENOMEM;
	cJSON_Delete(answer);
	return result;
}

/* What a fetch brought, lock held: an answer or a 403 is kept for the TTL; another failure
 * only for the threads that waited for this fetch (failed). Takes text. */
static void keep(int result, char *text)
{
	analytics.landed++;
	analytics.failed = result == 0 || result == -EPERM ? 0 : result;
	if (analytics.failed)
		return;
	free(analytics.text);
	analytics.text = text;
	analytics.len = text ? strlen(text) : 0;
	analytics.refused = result == -EPERM;
	analytics.at = now_s();
	analytics.fetched = time(NULL);
}

static bool kept_fresh(void)
{
	return (analytics.text || analytics.refused) && now_s() - analytics.at < analytics.ttl;
}

/* The answer, fetched first unless one kept is fresh: its length and fetch time, and a copy
 * of its text into *copy when copy is not NULL (caller frees). 0 or -errno; -EACCES for a
 * 403. Two askers at once send one request (flight.h). */
static int get(char **copy, size_t *len, time_t *fetched)
{
	unsigned long seen;
	char *text = NULL;
	int result;

	pthread_mutex_lock(&analytics.lock);
	seen = analytics.landed;
	for (;;) {
		if (kept_fresh())
			break;
		if (analytics.landed != seen) { /* the fetch this thread waited for */
			result = analytics.failed;
			if (result)
				goto out;
			break; /* its answer, even when the TTL (0) has ended already */
		}
		if (!flight_take(&analytics.fetching, &analytics.lock, &analytics.changed))
			continue;
		pthread_mutex_unlock(&analytics.lock);
		result = fetch(&text);
		pthread_mutex_lock(&analytics.lock);
		keep(result, text);
		flight_land(&analytics.fetching, &analytics.changed);
		result = analytics.failed;
		if (result)
			goto out;
		break;
	}
	result = analytics.refused ? -EACCES : 0;
	if (result)
		goto out;
	*len = analytics.len;
	*fetched = analytics.fetched;
	if (copy && !(*copy = strdup(analytics.text)))
		result = -ENOMEM;
out:
	pthread_mutex_unlock(&analytics.lock);
	return result;
}

/* The kept answer's length and fetch time while it is fresh; false when there is none. */
static bool peek(size_t *len, time_t *fetched)
{
	bool fresh;

	pthread_mutex_lock(&analytics.lock);
	fresh = analytics.text && kept_fresh();
	if (fresh) {
		*len = analytics.len;
		*fetched = analytics.fetched;
	}
	pthread_mutex_unlock(&analytics.lock);
	return fresh;
}

static int analytics_stat(const char *path, bool want_size, struct stat *st, bool *size_unknown)
{
	size_t len = 0;
	time_t fetched;

	(void)want_size;
	if (strcmp(path, ANALYTICS_PATH) != 0)
		return -ENOTDIR; /* a path below the file */
	*size_unknown = !peek(&len, &fetched);
	if (*size_unknown)
		fetched = time(NULL);
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = owner_uid();
	st->st_gid = owner_gid();
	st->st_size = (off_t)len;
	st->st_mtime = st->st_ctime = st->st_atime = fetched;
	return 0;
}

static int analytics_open(const char *path, struct vfs_file_info *fi, struct handle **out)
{
	struct handle *h;
	time_t fetched;
	int result;

	if (strcmp(path, ANALYTICS_PATH) != 0)
		return -ENOTDIR;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	h = handle_new(H_TEXT);
	if (!h)
		return -ENOMEM;
	result = get(&h->text, &h->len, &fetched);
	if (result) {
		handle_free(h);
		return result;
	}
	/* The answer as it was at open, read to its end whatever size a stat gave before. */
	fi->direct_io = 1;
	*out = h;
	return 0;
}

const struct provider analytics_provider = {
    .name = "analytics.json",
    .stat = analytics_stat,
    .open = analytics_open,
};
