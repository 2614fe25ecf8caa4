#include "cache.h"
#include "cache_range.h"
#include "cache_sizes.h"
#include "dirs.h"
#include "imgkind.h"

#include "http.h"
#include "log.h"
#include "bg.h"
#include "blocking.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *root; /* cache_init's dir */

uint64_t cache_key(const char *url)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

int cache_init(const char *dir)
{
	char *path = NULL;
	int result;

	root = strdup(dir);
	if (!root)
		return -ENOMEM;
	result = dirs_make(root);
	if (result)
		goto out;
	if (asprintf(&path, "%s/images", root) < 0) {
		path = NULL;
		result = -ENOMEM;
		goto out;
	}
	result = dirs_make(path);
	if (result)
		goto out;
	result = cache_sizes_open(root);
out:
	if (result)
		log_error("cache directory %s: %s", dir, strerror(-result));
	free(path);
	return result;
}

static void stop_downloads(void);

void cache_cleanup(void)
{
	stop_downloads();
	cache_sizes_close();
	free(root);
	root = NULL;
}

static char *image_path(uint64_t key, const char *suffix)
{
	char *p = NULL;

	if (asprintf(&p, "%s/images/%016llx%s", root, (unsigned long long)key, suffix) < 0)
		return NULL;
	return p;
}

static int64_t file_size(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? st.st_size : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The absolute CLOCK_MONOTONIC time `seconds` from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(double seconds)
{
	double at = now_s() + seconds;
	struct timespec ts = {.tv_sec = (time_t)at};

	ts.tv_nsec = (long)((at - ts.tv_sec) * 1e9);
	return ts;
}

static void cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* ---- image downloads ----
 *
 * One struct download per URL being fetched, shared by every handle open on it. A small
 * pool of worker threads runs them, at most MAX_WORKERS at once; the rest wait in the
 * list, queued. A worker sends GETs through http_send into the .part file and retries
 * itself (HTTP_RETRY_NOT_DONE, so that http_send never retries a transfer we cut on
 * purpose): a cut or stalled transfer resumes with Range where the .part ends.
 *
 * Readers learn a transfer's progress from the .part's size: http_send calls bytes_came
 * after each write into it, which wakes them, and they look again after POLL_S anyway (up to
 * POLL_MAX_S while nothing comes); they wake at once when the download ends.
 *
 * Checks: no byte is served before the first ones say the answer is the URL's kind of image
 * (an HTML page ends the transfer there, and fails it); a read that reaches the image's known
 * size waits for the end, where the whole length is held against that size, so a download
 * that is longer or shorter fails instead of being cut at the size or served short. A failed
 * download is never renamed into place; one that contradicts the known size makes it
 * forgotten. The .part is fsynced before its rename: a crash leaves no cut image in place.
 *
 * Stopping: when the last handle closes, the worker's sink descriptor is made read-only
 * (dup3 of the .part's read-only descriptor over it). curl's next write into it fails,
 * which ends the transfer at once without a retry; the .part keeps what came.
 *
 * Reads far ahead: a read of an image of known size far beyond what the .part holds is
 * served by ranged GETs of the chunks that hold it (cache_range.h), kept apart from the
 * .part, which stays a prefix of the image; the download goes on meanwhile. Those bytes are
 * served once the download's first bytes are judged right, as the .part's are. */

#define MAX_WORKERS 16	   /* downloads running at once; more wait their turn */
#define MAX_RETRIES 5	   /* attempts after the first, as for every other request */
#define POLL_S	    0.0001 /* how soon a waiting reader looks at the .part's size again */
#define POLL_MAX_S  0.016  /* ... growing to this while it does not grow */
#define STOPPED	    1	   /* fetch's outcome when the download was stopped */

enum dl_state { DL_QUEUED, DL_RUNNING, DL_DONE, DL_FAILED, DL_STOPPED };

struct download {
	struct download *next; /* in `downloads` while queued or running */
	uint64_t key;
	char *url, *path, *tmp;
	int rfd; /* the .part read-only (the image, once renamed): readers' */
	int wfd; /* the .part for writing: http_send's sink, the worker's */
	enum dl_state state;
	enum img_kind kind;   /* what its bytes must start as */
	int64_t want;	      /* the size known when it started, or -1 */
	int head;	      /* the first bytes: 1 right, 0 wrong, -1 not judged yet */
	int handles;	      /* open cache_image handles on it */
	int refs;	      /* handles, plus one while a worker runs it */
	bool stop;	      /* the last handle went: the transfer is to end */
	unsigned breaks;      /* how often the sink was made read-only to stop it */
	pthread_cond_t moved; /* the download ended, or was asked to stop */

	/* The attempt under way began at began_at with began_had bytes: the download's rate. */
	double began_at;
	int64_t began_had;
	struct range_cache *ranges; /* reads far ahead of it (cache_range.h), or NULL */
};

struct cache_image {
	int fd;		     /* the cached image, or -1 */
	int64_t len;	     /* its length when opened */
	struct download *dl; /* else the download bringing it */
};

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER; /* everything below */
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;	    /* queued, or closing */
static struct download *downloads;
static struct bg_group workers = BG_GROUP_INIT; /* the download threads; they block signals */
static int nworkers, idle_workers;
static bool closing;

static void dl_free(struct download *d)
{
	if (d->rfd >= 0)
		close(d->rfd);
	if (d->wfd >= 0)
		close(d->wfd);
	pthread_cond_destroy(&d->moved);
	range_cache_free(d->ranges);
	free(d->url);
	free(d->path);
	free(d->tmp);
	free(d);
}

/* Drops one reference; the last frees d, which must be out of the list by then. dl_lock held. */
static void dl_unref(struct download *d)
{
	if (--d->refs == 0)
		dl_free(d);
}

static void unlist(struct download *d)
{
	for (struct download **p = &downloads; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			d->next = NULL;
			return;
		}
}

static struct download *find_listed(uint64_t key)
{
	for (struct download *d = downloads; d; d = d->next)
		if (d->key == key)
			return d;
	return NULL;
}

/* The queued download waiting longest (the list is oldest first), or NULL. dl_lock held. */
static struct download *next_queued(void)
{
	for (struct download *d = downloads; d; d = d->next)
		if (d->state == DL_QUEUED)
			return d;
	return NULL;
}

/* A new download of url into tmp, queued at the list's end. It takes over path. Opens the
 * .part without truncating it: what an earlier, stopped download left is resumed. dl_lock
 * held (only local files are opened). Returns NULL with errno set. */
static struct download *dl_new(const char *url, uint64_t key, char *path)
{
	struct download *d = calloc(1, sizeof(*d)), **end = &downloads;

	if (!d)
		return NULL;
	d->key = key;
	d->path = path;
	d->rfd = d->wfd = -1;
	d->url = strdup(url);
	d->tmp = image_path(key, ".part");
	cond_init(&d->moved);
	if (!d->url || !d->tmp) {
		errno = ENOMEM;
		goto fail;
	}
	d->wfd = open(d->tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (d->wfd < 0)
		goto fail;
	d->rfd = open(d->tmp, O_RDONLY | O_CLOEXEC);
	if (d->rfd < 0)
		goto fail;
	d->kind = img_kind_of_url(url);
	d->want = cache_size_get(url);
	/* What a stopped download left is resumed only when it starts right. */
	d->head = img_head_check(d->rfd, d->kind, false, NULL, 0);
	if (d->head == 0 && ftruncate(d->wfd, 0) < 0)
		goto fail;
	if (d->head == 0)
		d->head = -1;
	while (*end)
		end = &(*end)->next;
	*end = d;
	return d;
fail:
	d->path = NULL; /* still the caller's */
	{
		int e = errno;

		dl_free(d);
		errno = e;
	}
	return NULL;
}

/* Ends the transfer under way: curl's next write into the sink fails. dl_lock held. */
static void break_sink(struct download *d)
{
	if (d->state == DL_RUNNING && d->wfd >= 0 && dup3(d->rfd, d->wfd, O_CLOEXEC) >= 0)
		d->breaks++;
}

/* After a break, a handle came back: the sink is made writable again. dl_lock held. */
static int restore_sink(struct download *d)
{
	int w = open(d->tmp, O_WRONLY | O_CLOEXEC);
	int result = 0;

	if (w < 0)
		return -errno;
	if (dup3(w, d->wfd, O_CLOEXEC) < 0)
		result = -errno;
	close(w);
	return result;
}

/* Before each attempt: true, with the download out of the list and marked stopped, when
 * nobody wants it any more (or the mount ends); deciding and unlisting under one lock means
 * no open can join a download that is about to stop, nor find its .part half gone. When a
 * handle came back after a stop, the sink is made writable again. *breaks is the count the
 * attempt starts with. */
static bool stop_now(struct download *d, unsigned *breaks)
{
	bool stop;

	pthread_mutex_lock(&dl_lock);
	stop = closing || (d->stop && d->handles == 0);
	if (stop) {
		if (file_size(d->rfd) == 0)
			unlink(d->tmp);
		unlist(d);
		d->state = DL_STOPPED;
		pthread_cond_broadcast(&d->moved);
	} else if (d->stop) {
		d->stop = false;
		if (restore_sink(d) < 0)
			log_warn("cannot write the download of %.200s: %s", d->url,
				 strerror(errno));
	}
	*breaks = d->breaks;
	d->began_at = now_s();
	d->began_had = file_size(d->rfd);
	pthread_mutex_unlock(&dl_lock);
	return stop;
}

/* Waits `seconds` before a retry; returns early when the download is to stop. */
static void backoff_wait(struct download *d, double seconds)
{
	struct timespec until = deadline_in(seconds);

	pthread_mutex_lock(&dl_lock);
	while (!closing && !(d->stop && d->handles == 0))
		if (pthread_cond_timedwait(&d->moved, &dl_lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&dl_lock);
}

static double backoff_s(int attempt)
{
	double d = 0.25 * (1 << attempt);

	return d * (0.5 + (double)random() / RAND_MAX * 0.5); /* jitter, as http.c's */
}

/* What a failed attempt means for the next one. */
enum next_step { STEP_FAIL, STEP_RETRY, STEP_RESTART };

/* An answer or error that did not bring the image: try again (resuming, or from byte 0 when
 * the server mishandled the Range), or give up, with why. A stall that brought no byte is
 * final, as in http_send: a dead server costs one stall, not six. */
static enum next_step judge(int rc, const struct http_resp *resp, bool moved, int64_t had,
			    char *why, size_t len)
{
	if (rc == 0) {
		snprintf(why, len, "HTTP %ld", resp->status);
		if (resp->status == 416 && had > 0)
			return STEP_RESTART; /* the .part is not a prefix of this image */
		return resp->status == 500 || resp->status == 502 || resp->status == 504
			   ? STEP_RETRY
			   : STEP_FAIL; /* 429 and 503 were retried by http_send already */
	}
	snprintf(why, len, "%s", resp->error[0] ? resp->error : strerror(-rc));
	if (had > 0 && strcasestr(resp->error, "range"))
		return STEP_RESTART; /* the server ignored the Range, or answered another */
	if (rc == -EPROTO || rc == -EKEYREJECTED || rc == -ENOMEM || rc == -EFBIG ||
	    rc == -ECONNREFUSED) /* http_send retried a refused connection already */
		return STEP_FAIL;
	return rc == -ETIMEDOUT && !moved ? STEP_FAIL : STEP_RETRY;
}

/* The size the download is held against: the one known when it started, else one a HEAD
 * learnt meanwhile (and a stat showed), or -1. */
static int64_t dl_want(const struct download *d)
{
	return d->want >= 0 ? d->want : cache_size_get(d->url);
}

/* Checks that the .part holds the whole image: a transfer cut short, an answer that is no
 * image of the URL's kind, or one whose length is not the image's known size must not be
 * taken for it (the last also makes that size forgotten). Returns 0 or -EIO (logged). */
static int check_whole(const struct download *d, const struct http_resp *resp)
{
	int64_t size = file_size(d->wfd), want = dl_want(d);
	char why[160];

	if (resp->full_len >= 0 && size != resp->full_len) {
		log_warn("download of %.200s ended early (%lld of %lld bytes)", d->url,
			 (long long)size, (long long)resp->full_len);
		return -EIO;
	}
	if (img_head_check(d->rfd, d->kind, true, why, sizeof(why)) != 1) {
		log_warn("download of %.200s failed: the answer %s", d->url, why);
		return -EIO;
	}
	if (want >= 0 && size != want) {
		log_warn(
		    "download of %.200s failed: %lld bytes, where its size was %lld; that size "
		    "is forgotten",
		    d->url, (long long)size, (long long)want);
		cache_size_forget(d->url);
		return -EIO;
	}
	return 0;
}

/* True when the sink was broken since `breaks`: the attempt may have failed because we cut
 * it, which is no fault of the server's. */
static bool was_cut(struct download *d, unsigned breaks)
{
	bool cut;

	pthread_mutex_lock(&dl_lock);
	cut = d->breaks != breaks;
	pthread_mutex_unlock(&dl_lock);
	return cut;
}

/* http_send wrote bytes into d's .part: its readers wake now rather than at their next look
 * (which, after a wait for the first bytes, came up to POLL_MAX_S late). The first bytes are
 * judged once there are enough: wrong ones end the transfer at once (fetch reports it). Only
 * the worker writes d->head, under dl_lock for the readers. */
static void bytes_came(void *ctx)
{
	struct download *d = ctx;
	int head = d->head < 0 ? img_head_check(d->rfd, d->kind, false, NULL, 0) : d->head;

	pthread_mutex_lock(&dl_lock);
	if (head == 0 && d->head != 0)
		break_sink(d);
	d->head = head;
	pthread_cond_broadcast(&d->moved);
	pthread_mutex_unlock(&dl_lock);
}

/* A transfer ended because its first bytes were wrong: no retry brings the image. */
static int refuse_head(struct download *d)
{
	char why[160];

	img_head_check(d->rfd, d->kind, true, why, sizeof(why));
	log_warn("download of %.200s failed: the answer %s", d->url, why);
	return -EIO;
}

/* Before a restart from byte 0: the first bytes are judged again. */
static void restart(struct download *d)
{
	pthread_mutex_lock(&dl_lock);
	if (ftruncate(d->wfd, 0) < 0)
		log_debug("download of %.200s: cannot restart: %s", d->url, strerror(errno));
	d->head = -1;
	pthread_mutex_unlock(&dl_lock);
}

/* Brings the whole image into the .part. Returns 0, STOPPED, -ENOENT (the server has no such
 * image) or -EIO; every failure is logged once, here. */
static int fetch(struct download *d)
{
	char why[300] = "";

	for (int attempt = 0;;) {
		struct http_req req = {.method = "GET",
				       .url = d->url,
				       .sink_fd = d->wfd,
				       .on_sink = bytes_came,
				       .sink_ctx = d,
				       .follow = true,
				       .retry = HTTP_RETRY_NOT_DONE};
		struct http_resp resp = {0};
		int64_t had = file_size(d->wfd);
		enum next_step step;
		unsigned breaks;
		int rc;

		if (stop_now(d, &breaks))
			return STOPPED;
		rc = http_send(&req, &resp);
		if (d->head == 0) {
			http_resp_release(&resp);
			return refuse_head(d);
		}
		if (rc == 0 && resp.status >= 200 && resp.status < 300) {
			rc = check_whole(d, &resp);
			http_resp_release(&resp);
			return rc;
		}
		step = judge(rc, &resp, file_size(d->wfd) > had, had, why, sizeof(why));
		http_resp_release(&resp);
		if (was_cut(d, breaks))
			continue; /* our doing, not the server's: no attempt used */
		if (step == STEP_FAIL || attempt >= MAX_RETRIES) {
			log_warn("download of %.200s failed: %s", d->url, why);
			return rc == 0 && resp.status == 404 ? -ENOENT : -EIO;
		}
		/* Failing, the sink was cut meanwhile: the next stop_now sorts it out. */
		if (step == STEP_RESTART)
			restart(d);
		stats_retry(1);
		/* A transfer that was moving is resumed at once; one that was not, after a
		 * growing, jittered pause. */
		double wait = file_size(d->wfd) > had ? 0 : backoff_s(attempt);

		log_info("download of %.200s: %s, resuming at byte %lld in %.2f s", d->url, why,
			 (long long)file_size(d->wfd), wait);
		backoff_wait(d, wait);
		attempt++;
	}
}

/* Records how fetch ended: the .part renamed into place (a done download's readers keep
 * reading the same file) or removed (failed); a stopped one was dealt with by stop_now and
 * keeps its .part for a later open to resume. */
static void finish(struct download *d, int outcome)
{
	int64_t size = file_size(d->wfd);

	/* On disk before it has its name: after a crash the name holds the whole image. */
	if (outcome == 0 && fsync(d->wfd) < 0) {
		log_warn("cannot keep the image of %.200s: %s", d->url, strerror(errno));
		outcome = -EIO;
	}
	pthread_mutex_lock(&dl_lock);
	if (outcome == 0 && rename(d->tmp, d->path) < 0) {
		log_warn("cannot keep the image of %.200s: %s", d->url, strerror(errno));
		outcome = -EIO;
	}
	if (outcome < 0)
		unlink(d->tmp);
	if (outcome != STOPPED) {
		unlist(d);
		d->state = outcome == 0 ? DL_DONE : DL_FAILED;
	}
	close(d->wfd);
	d->wfd = -1;
	pthread_cond_broadcast(&d->moved);
	pthread_mutex_unlock(&dl_lock);
	/* Ended, d has no range cache made from now on (read_ahead): d->ranges stays as read. */
	range_cache_retire(d->ranges);
	if (outcome == 0) {
		cache_size_put(d->url, size);
		stats_cache_miss(size);
	}
}

static void worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&dl_lock);
	while (!closing) {
		struct download *d = next_queued();

		if (!d) {
			idle_workers++;
			pthread_cond_wait(&work, &dl_lock);
			idle_workers--;
			continue;
		}
		d->state = DL_RUNNING;
		d->refs++;
		pthread_mutex_unlock(&dl_lock);
		finish(d, fetch(d));
		pthread_mutex_lock(&dl_lock);
		dl_unref(d);
	}
	pthread_mutex_unlock(&dl_lock);
	/* A group's task: its connections go before bg_stop hears it ended, as http_cleanup comes
	 * next (http.h). */
	http_thread_end();
}

/* Gets a queued download going: an idle worker takes it, or a new one while there are fewer
 * than MAX_WORKERS; else it waits for a worker to be free. Returns false when no worker
 * exists or can be made. dl_lock held. */
static bool wake_worker(void)
{
	int queued = 0;
	bool made;

	pthread_cond_signal(&work);
	for (struct download *d = downloads; d; d = d->next)
		queued += d->state == DL_QUEUED;
	if (queued <= idle_workers || nworkers >= MAX_WORKERS)
		return true;
	/* Signals are for libfuse's main thread: workers block them all (bg.h). */
	made = bg_spawn(&workers, worker_main, NULL) == 0;
	if (made)
		nworkers++;
	else
		log_warn("cannot start a download thread");
	return made || nworkers > 0;
}

static void stop_downloads(void)
{
	pthread_mutex_lock(&dl_lock);
	closing = true;
	for (struct download *d = downloads; d; d = d->next) {
		break_sink(d);
		pthread_cond_broadcast(&d->moved);
	}
	pthread_cond_broadcast(&work);
	pthread_mutex_unlock(&dl_lock);
	/* A stalled transfer ends within the stall timeout; until then cleanup must wait, as
	 * curl's shared state goes next. */
	bg_stop(&workers);
	pthread_mutex_lock(&dl_lock);
	nworkers = 0;
	while (downloads) {
		struct download *d = downloads;

		unlist(d);
		d->state = DL_STOPPED;
		if (file_size(d->rfd) == 0)
			unlink(d->tmp);
		if (d->refs == 0)
			dl_free(d);
		/* else handles the kernel never released: they are freed with the process */
	}
	closing = false;
	bg_resume(&workers);
	pthread_mutex_unlock(&dl_lock);
}

/* Whether the cached file of url, open on fd, may be served: as long as the image's known
 * size, and starting as its kind of image does. One cut or emptied on disk, or an answer that
 * was no image (kept by an older pinfs, which recorded its length as the size: forgotten), is
 * removed, to be fetched again. *len: its length. dl_lock held, so that no other open meets
 * the file half judged. */
static bool cached_ok(const char *url, const char *path, int fd, int64_t *len)
{
	int64_t want = cache_size_get(url);
	char why[160];

	*len = file_size(fd);
	if (want >= 0 && *len != want)
		snprintf(why, sizeof(why), "has %lld bytes, not %lld", (long long)*len,
			 (long long)want);
	else if (img_head_check(fd, img_kind_of_url(url), true, why, sizeof(why)) == 1)
		return true;
	else if (want >= 0)
		cache_size_forget(url);
	log_warn("cached image of %.200s %s: fetching it again", url, why);
	unlink(path);
	return false;
}

int cache_image_open(const char *url, struct cache_image **out)
{
	uint64_t key = cache_key(url);
	struct cache_image *img = calloc(1, sizeof(*img));
	char *path = image_path(key, "");
	struct download *d;
	int result = 0;

	*out = NULL;
	if (!img || !path) {
		result = -ENOMEM;
		goto out;
	}
	img->fd = -1;
	pthread_mutex_lock(&dl_lock);
	d = find_listed(key);
	if (!d) {
		img->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (img->fd >= 0 && !cached_ok(url, path, img->fd, &img->len)) {
			close(img->fd);
			img->fd = -1;
			errno = ENOENT;
		}
		if (img->fd < 0 && errno == ENOENT && (d = dl_new(url, key, path)))
			path = NULL; /* the download's now */
		else if (img->fd < 0)
			result = -errno;
		if (d && !wake_worker()) {
			unlist(d);
			dl_free(d);
			d = NULL;
			result = -EAGAIN;
		}
	}
	if (d) {
		d->handles++;
		d->refs++;
		img->dl = d;
	}
	pthread_mutex_unlock(&dl_lock);
	if (img->fd >= 0)
		stats_cache_hit(img->len);
out:
	free(path);
	if (result)
		free(img);
	else
		*out = img;
	return result;
}

/* Waits until d holds the bytes before `end`, their first bytes judged right, or ended. A
 * read that reaches the image's size (want, -1 when not known) waits for the end, where the
 * download's length is checked: its last bytes are never served from a download that turns
 * out longer or shorter than that size. Returns 0 (*done: the whole image is there) or -EIO. */
static int wait_bytes(struct download *d, int64_t end, int64_t want, bool *done)
{
	double poll = POLL_S;
	int64_t had = -1;
	int result = 0;

	*done = false;
	pthread_mutex_lock(&dl_lock);
	for (;;) {
		int64_t size = file_size(d->rfd);

		if (d->state == DL_DONE) {
			*done = true;
			break;
		}
		if (d->state == DL_FAILED || d->state == DL_STOPPED) {
			result = -EIO;
			break;
		}
		if (d->head == 1 && size >= end && (want < 0 || end < want))
			break;
		poll = size > had ? POLL_S : poll * 2 < POLL_MAX_S ? poll * 2 : POLL_MAX_S;
		had = size;
		struct timespec until = deadline_in(poll);

		blocking_ahead(); /* the bytes come from the network */
		pthread_cond_timedwait(&d->moved, &dl_lock, &until);
	}
	pthread_mutex_unlock(&dl_lock);
	return result;
}

/* The download's rate in bytes/s since its attempt under way began; 0 while not measured.
 * dl_lock held. */
static double dl_rate(const struct download *d, int64_t have)
{
	double t = now_s() - d->began_at;

	if (d->state != DL_RUNNING || t < 0.05 || have <= d->began_had)
		return 0;
	return (double)(have - d->began_had) / t;
}

/* Waits until d's first bytes are judged, which a chunk fetched apart cannot be: 0 when they
 * are the URL's kind of image (or the whole image is there), else -EIO, as for any read of a
 * download that failed or was stopped. */
static int wait_head(struct download *d)
{
	int result;

	pthread_mutex_lock(&dl_lock);
	while (d->head < 0 && (d->state == DL_QUEUED || d->state == DL_RUNNING)) {
		blocking_ahead(); /* the first bytes come from the network */
		pthread_cond_wait(&d->moved, &dl_lock);
	}
	result = d->state == DL_DONE ||
			 (d->head == 1 && (d->state == DL_QUEUED || d->state == DL_RUNNING))
		     ? 0
		     : -EIO;
	pthread_mutex_unlock(&dl_lock);
	return result;
}

/* A read far ahead of d's download (want: the image's size, -1 when unknown), served by
 * ranged GETs; RANGE_FALLBACK when it is to wait for the download instead. */
static ssize_t read_ahead(struct download *d, char *buf, size_t size, off_t off, int64_t want)
{
	struct range_cache *rc = NULL;
	int64_t have;
	double rate;
	ssize_t n;

	if (want < 0)
		return RANGE_FALLBACK;
	pthread_mutex_lock(&dl_lock);
	have = file_size(d->rfd);
	rate = dl_rate(d, have);
	/* Made only for a read that may need it: a small image never has one. */
	if ((d->state == DL_QUEUED || d->state == DL_RUNNING) && off - have > RANGE_WINDOW) {
		if (!d->ranges)
			d->ranges = range_cache_new(d->url);
		rc = d->ranges;
	}
	pthread_mutex_unlock(&dl_lock);
	if (!range_wanted(rc, off, have, rate, want))
		return RANGE_FALLBACK;
	n = range_read(rc, buf, size, off, want);
	if (n >= 0 && wait_head(d) < 0)
		return -EIO;
	return n;
}

/* pread until size bytes or the end of the file. */
static ssize_t pread_full(int fd, char *buf, size_t size, off_t off)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A read of the cached file: never short before the length it had when opened (a file cut on
 * disk meanwhile), which its stat promised. */
static ssize_t read_cached(struct cache_image *img, char *buf, size_t size, off_t off)
{
	ssize_t n = pread_full(img->fd, buf, size, off);

	if (n >= 0 && (size_t)n < size && off + n < img->len) {
		log_warn("a cached image file was cut while open (%lld of %lld bytes)",
			 (long long)(off + n), (long long)img->len);
		return -EIO;
	}
	return n;
}

ssize_t cache_image_read(struct cache_image *img, char *buf, size_t size, off_t off)
{
	int64_t want = img->fd < 0 ? dl_want(img->dl) : -1;

	for (;;) {
		bool done;
		ssize_t n;
		int result;

		if (img->fd >= 0)
			return read_cached(img, buf, size, off);
		n = read_ahead(img->dl, buf, size, off, want);
		if (n != RANGE_FALLBACK)
			return n;
		result = wait_bytes(img->dl, off + (int64_t)size, want, &done);
		if (result)
			return result;
		n = pread_full(img->dl->rfd, buf, size, off);
		/* Short before the end: a restart from byte 0 truncated the .part meanwhile. */
		if (n < 0 || (size_t)n == size || done)
			return n;
	}
}

void cache_image_close(struct cache_image *img)
{
	struct download *d;

	if (!img)
		return;
	if (img->fd >= 0)
		close(img->fd);
	d = img->dl;
	free(img);
	if (!d)
		return;
	pthread_mutex_lock(&dl_lock);
	if (--d->handles == 0) {
		if (d->state == DL_QUEUED) {
			/* Never started: nothing to stop, nothing fetched. */
			unlist(d);
			d->state = DL_STOPPED;
			if (file_size(d->rfd) == 0)
				unlink(d->tmp);
		} else if (d->state == DL_RUNNING) {
			d->stop = true;
			break_sink(d);
			pthread_cond_broadcast(&d->moved);
		}
	}
	dl_unref(d);
	pthread_mutex_unlock(&dl_lock);
}

/* Copies the first len bytes of src into fd, a piece at a time. Returns 0 or -errno. */
static int copy_fd(int fd, int src, int64_t len)
{
	char buf[32768];

	for (int64_t done = 0; done < len;) {
		size_t want =
		    len - done < (int64_t)sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		ssize_t n = pread(src, buf, want, done);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* the file shrank */
		rc = dirs_write_all(fd, buf, (size_t)n);
		if (rc)
			return rc;
		done += n;
	}
	return 0;
}

/* Installs data[0..len) as the bytes of url, or when data is NULL the first len bytes of the
 * file src. */
static int put_image(const char *url, const void *data, int src, int64_t len)
{
	uint64_t key = cache_key(url);
	char *path = image_path(key, ""), *tmp = image_path(key, ".put.XXXXXX");
	int fd = -1, result = 0;

	if (!path || !tmp) {
		result = -ENOMEM;
		goto out;
	}
	/* A name of its own: a download's .part of the same URL is never touched. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		result = -errno;
		goto out;
	}
	result = data ? dirs_write_all(fd, data, (size_t)len) : copy_fd(fd, src, len);
	/* On disk before it has its name, as a download's. */
	if (!result && fsync(fd) < 0)
		result = -errno;
	if (!result && close(fd) < 0)
		result = -errno;
	fd = -1;
	if (!result && rename(tmp, path) < 0)
		result = -errno;
	if (result)
		unlink(tmp);
	else
		cache_size_put(url, (int64_t)len);
out:
	if (fd >= 0)
		close(fd);
	if (result)
		log_warn("cannot cache the uploaded image of %.200s: %s", url, strerror(-result));
	free(path);
	free(tmp);
	return result;
}

int cache_image_put(const char *url, const void *data, size_t len)
{
	return put_image(url, data, -1, (int64_t)len);
}

int cache_image_put_file(const char *url, int fd, int64_t len)
{
	return put_image(url, NULL, fd, len);
}
