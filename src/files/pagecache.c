#include "pagecache.h"

#include "cache.h"

#include <pthread.h>

#define SEEN_WAYS 4
#define SEEN_SETS (1 << 14) /* 65536 paths, 1.5 MB */

struct seen {
	uint64_t path;	 /* cache_key of the path; 0: a free slot */
	int64_t size;	 /* what getattr last told the kernel; -1: not known */
	uint64_t cached; /* stamp of the text the pages may hold; 0: other bytes, or not known */
};

/* The table, a set-associative one: all of it guarded by lock. */
static struct {
	pthread_mutex_t lock;
	struct seen sets[SEEN_SETS][SEEN_WAYS];
	unsigned next; /* the way to reuse next in a full set */
} seen_table = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The record of the path with key, or NULL; `make` makes one (pushing out another of its set
 * when full). Lock held. */
static struct seen *seen_find(uint64_t key, bool make)
{
	struct seen *set = seen_table.sets[key & (SEEN_SETS - 1)], *slot = NULL;

	for (int i = 0; i < SEEN_WAYS; i++) {
		if (set[i].path == key)
			return &set[i];
		if (!set[i].path && !slot)
			slot = &set[i];
	}
	if (!make)
		return NULL;
	if (!slot)
		slot = &set[seen_table.next++ % SEEN_WAYS];
	*slot = (struct seen){.path = key, .size = -1, .cached = 0};
	return slot;
}

void pagecache_size(const char *path, int64_t size)
{
	pthread_mutex_lock(&seen_table.lock);
	seen_find(cache_key(path), true)->size = size;
	pthread_mutex_unlock(&seen_table.lock);
}

void pagecache_other(const char *path, bool writing)
{
	struct seen *s;

	pthread_mutex_lock(&seen_table.lock);
	s = seen_find(cache_key(path), true);
	s->cached = 0;
	if (writing)
		s->size = -1;
	pthread_mutex_unlock(&seen_table.lock);
}

void pagecache_forgotten(const char *path)
{
	struct seen *s;

	pthread_mutex_lock(&seen_table.lock);
	s = seen_find(cache_key(path), false);
	if (s)
		s->cached = 0;
	pthread_mutex_unlock(&seen_table.lock);
}

void pagecache_move(const char *from, const char *to)
{
	struct seen *f, *t, moved = {.size = -1};

	pthread_mutex_lock(&seen_table.lock);
	f = seen_find(cache_key(from), false);
	if (f) {
		moved = *f;
		f->path = 0;
	}
	t = seen_find(cache_key(to), true);
	t->size = moved.size;
	t->cached = moved.cached;
	pthread_mutex_unlock(&seen_table.lock);
}

void pagecache_mode(const char *path, size_t len, uint64_t text, struct vfs_file_info *fi)
{
	struct seen *s;

	pthread_mutex_lock(&seen_table.lock);
	s = seen_find(cache_key(path), false);
	fi->direct_io = !s || s->size != (int64_t)len;
	fi->keep_cache = !fi->direct_io && s->cached == text;
	/* Without keep_cache the kernel drops the pages at this open; cached reads then fill
	 * them with this text. */
	if (s)
		s->cached = fi->direct_io ? 0 : text;
	pthread_mutex_unlock(&seen_table.lock);
}
