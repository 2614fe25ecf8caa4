/* The image sizes the cache knows (sizes.bin): an append-only file of 16-byte records keyed by
 * cache_key, read back into an open-addressing table at mount. */
#include "cache.h"
#include "cache_sizes.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct size_rec {
	uint64_t key; /* 0 marks an empty slot; a real key of 0 is stored as 1 */
	int64_t size;
};

static int sizes_fd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* the sizes */
static struct size_rec *table;
static size_t cap, used, forgotten; /* slots, and those of forgotten sizes */

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

/* size < 0: the size is forgotten (a download contradicted it); the slot stays. */
static void table_put(uint64_t key, int64_t size)
{
	struct size_rec *r;

	if (!table_reserve())
		return;
	r = slot_for(key);
	if (!r->key)
		used++;
	else if (r->size < 0)
		forgotten--;
	if (size < 0)
		forgotten++;
	r->key = key;
	r->size = size < 0 ? -1 : size;
}

static bool table_has(uint64_t key)
{
	return table && slot_for(key)->key;
}

/* Reads the records back in order: a later one (a size learnt again, or forgotten) wins. */
static void load_sizes(void)
{
	struct size_rec rec;

	while (read(sizes_fd, &rec, sizeof(rec)) == (ssize_t)sizeof(rec))
		if (rec.key && (rec.size >= 0 || table_has(rec.key)))
			table_put(rec.key, rec.size);
}

int cache_sizes_open(const char *dir)
{
	char *path = NULL;
	int result = 0;

	if (asprintf(&path, "%s/sizes.bin", dir) < 0)
		return -ENOMEM;
	sizes_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (sizes_fd < 0)
		result = -errno;
	else
		load_sizes();
	free(path);
	return result;
}

void cache_sizes_close(void)
{
	if (sizes_fd >= 0)
		close(sizes_fd);
	sizes_fd = -1;
	free(table);
	table = NULL;
	cap = used = forgotten = 0;
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

/* Records url's size (-1: forgets it), in memory and on disk, unless it says nothing new. */
static void size_record(const char *url, int64_t size)
{
	struct size_rec rec = {cache_key(url), size < 0 ? -1 : size};
	bool same;

	pthread_mutex_lock(&lock);
	if (size < 0)
		same = !table_has(rec.key) || slot_for(rec.key)->size < 0;
	else
		same = table_has(rec.key) && slot_for(rec.key)->size == size;
	if (!same)
		table_put(rec.key, rec.size);
	pthread_mutex_unlock(&lock);
	/* One 16-byte O_APPEND write is atomic, so concurrent writers never tear a record. */
	if (!same && sizes_fd >= 0 && write(sizes_fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
		log_warn("cannot record an image size in the cache: %s", strerror(errno));
}

void cache_size_put(const char *url, int64_t size)
{
	if (size >= 0)
		size_record(url, size);
}

static atomic_uint_least64_t forgets; /* see cache_size_forgets */

/* A download contradicted the size: it is not known any more, after a remount too. */
void cache_size_forget(const char *url)
{
	size_record(url, -1);
	atomic_fetch_add(&forgets, 1);
}

uint64_t cache_size_forgets(void)
{
	return atomic_load(&forgets);
}

uint64_t cache_sizes_known(void)
{
	uint64_t n;

	pthread_mutex_lock(&lock);
	n = used - forgotten;
	pthread_mutex_unlock(&lock);
	return n;
}
