#include "cache.h"

#include "http.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct size_rec {
	uint64_t key; /* 0 marks an empty slot; a real key of 0 is stored as 1 */
	int64_t size;
};

static char *root;
static int sizes_fd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fetched = PTHREAD_COND_INITIALIZER;
static struct size_rec *table;
static size_t cap, used;

/* URLs being downloaded now; others wanting them wait on `fetched`. */
#define MAX_INFLIGHT 64
static uint64_t inflight[MAX_INFLIGHT];

uint64_t cache_key(const char *url)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

static struct size_rec *slot_for(uint64_t key)
{
	size_t i = key & (cap - 1);

	while (table[i].key && table[i].key != key)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

/* Keeps the table at most half full; returns false when it cannot grow. */
static bool table_reserve(void)
{
	struct size_rec *old = table;
	size_t old_cap = cap;

	if ((used + 1) * 2 <= cap)
		return true;
	cap = cap ? cap * 2 : 1024;
	table = calloc(cap, sizeof(*table));
	if (!table) {
		table = old;
		cap = old_cap;
		return false;
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*slot_for(old[i].key) = old[i];
	free(old);
	return true;
}

static void table_put(uint64_t key, int64_t size)
{
	struct size_rec *r;

	if (!table_reserve())
		return;
	r = slot_for(key);
	if (!r->key)
		used++;
	r->key = key;
	r->size = size;
}

/* Creates path and its missing parents (a new account may have no ~/.cache yet), mode 0700. */
static int make_dir(const char *path)
{
	char *p = strdup(path);
	int result = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			result = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return result;
}

static void load_sizes(void)
{
	struct size_rec rec;

	while (read(sizes_fd, &rec, sizeof(rec)) == (ssize_t)sizeof(rec))
		if (rec.key && rec.size >= 0)
			table_put(rec.key, rec.size);
}

int cache_init(const char *dir)
{
	char *path = NULL;
	int result;

	root = strdup(dir);
	if (!root)
		return -ENOMEM;
	result = make_dir(root);
	if (result)
		goto out;
	if (asprintf(&path, "%s/images", root) < 0) {
		path = NULL;
		result = -ENOMEM;
		goto out;
	}
	result = make_dir(path);
	if (result)
		goto out;
	free(path);
	if (asprintf(&path, "%s/sizes.bin", root) < 0) {
		path = NULL;
		result = -ENOMEM;
		goto out;
	}
	sizes_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (sizes_fd < 0) {
		result = -errno;
		goto out;
	}
	load_sizes();
out:
	if (result)
		log_error("cache directory %s: %s", dir, strerror(-result));
	free(path);
	return result;
}

void cache_cleanup(void)
{
	if (sizes_fd >= 0)
		close(sizes_fd);
	sizes_fd = -1;
	free(table);
	table = NULL;
	cap = used = 0;
	free(root);
	root = NULL;
}

int64_t cache_size_get(const char *url)
{
	int64_t size = -1;
	uint64_t key = cache_key(url);

	pthread_mutex_lock(&lock);
	if (table) {
		struct size_rec *r = slot_for(key);

		if (r->key)
			size = r->size;
	}
	pthread_mutex_unlock(&lock);
	return size;
}

void cache_size_put(const char *url, int64_t size)
{
	struct size_rec rec = {cache_key(url), size};
	bool known;

	pthread_mutex_lock(&lock);
	known = table && slot_for(rec.key)->key && slot_for(rec.key)->size == size;
	if (!known)
		table_put(rec.key, size);
	pthread_mutex_unlock(&lock);
	/* One 16-byte O_APPEND write is atomic, so concurrent writers never tear a record. */
	if (!known && sizes_fd >= 0 && write(sizes_fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		log_warn("cannot record an image size in the cache: %s", strerror(errno));
}

uint64_t cache_sizes_known(void)
{
	uint64_t n;

	pthread_mutex_lock(&lock);
	n = used;
	pthread_mutex_unlock(&lock);
	return n;
}

static char *image_path(uint64_t key, const char *suffix)
{
	char *p = NULL;

	if (asprintf(&p, "%s/images/%016llx%s", root, (unsigned long long)key, suffix) < 0)
		return NULL;
	return p;
}

/* Claims the download of key, or waits while another thread has it. Returns true when the
 * caller must download. */
static bool claim(uint64_t key)
{
	pthread_mutex_lock(&lock);
	for (;;) {
		int free_slot = -1;
		bool busy = false;

		for (int i = 0; i < MAX_INFLIGHT; i++) {
			if (inflight[i] == key)
				busy = true;
			else if (!inflight[i] && free_slot < 0)
				free_slot = i;
		}
		if (!busy && free_slot >= 0) {
			inflight[free_slot] = key;
			pthread_mutex_unlock(&lock);
			return true;
		}
		pthread_cond_wait(&fetched, &lock);
		if (!busy)
			continue;
		/* The other download ended; the caller looks at the cache again. */
		pthread_mutex_unlock(&lock);
		return false;
	}
}

static void release(uint64_t key)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_INFLIGHT; i++)
		if (inflight[i] == key)
			inflight[i] = 0;
	pthread_cond_broadcast(&fetched);
	pthread_mutex_unlock(&lock);
}

/* Downloads url into path: into a temporary file first, renamed on success, so a reader never
 * sees a partial image and a crash leaves no corrupt cache entry. A connection cut short is
 * resumed by http_send (Range); what arrives in the end must be exactly the whole image.
 * Every network failure is -EIO (a missing image -ENOENT), with one log line saying why. */
static int download(const char *url, const char *path, const char *tmp)
{
	struct http_resp resp = {0};
	struct http_req req = {
	    .method = "GET", .url = url, .follow = true, .retry = HTTP_RETRY_SAFE};
	struct stat st;
	int fd, result;

	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	req.sink_fd = fd;
	result = http_send(&req, &resp);
	if (result) {
		log_warn("download of %.200s failed: %s", url, resp.error);
		result = -EIO;
		goto out;
	}
	if (resp.status < 200 || resp.status >= 300) {
		log_warn("download of %.200s failed: HTTP %ld", url, resp.status);
		result = resp.status == 404 ? -ENOENT : -EIO;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		result = -errno;
		goto out;
	}
	/* A connection cut short must not be taken for the whole image. */
	if (resp.full_len >= 0 && st.st_size != resp.full_len) {
		log_warn("download of %.200s ended early (%lld of %lld bytes)", url,
			 (long long)st.st_size, (long long)resp.full_len);
		result = -EIO;
		goto out;
	}
	if (rename(tmp, path) < 0) {
		result = -errno;
		goto out;
	}
	cache_size_put(url, st.st_size);
	stats_cache_miss(st.st_size);
out:
	close(fd);
	if (result)
		unlink(tmp);
	http_resp_release(&resp);
	return result;
}

int cache_image_open(const char *url)
{
	uint64_t key = cache_key(url);
	char *path = image_path(key, ""), *tmp = image_path(key, ".part");
	bool fetched = false;
	struct stat st;
	int fd = -ENOMEM;

	if (!path || !tmp)
		goto out;
	for (;;) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT) {
			fd = fd >= 0 ? fd : -errno;
			break;
		}
		if (!claim(key))
			continue;
		fd = download(url, path, tmp);
		release(key);
		if (fd < 0)
			break;
		fetched = true;
	}
	if (fd >= 0 && !fetched && fstat(fd, &st) == 0)
		stats_cache_hit(st.st_size);
out:
	free(path);
	free(tmp);
	return fd;
}
