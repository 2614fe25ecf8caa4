#include "vfolder.h"

#include "cache.h"
#include "http.h"
#include "log.h"
#include "flight.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FOLDERS	   64	/* kept at once: the fixed folders and the latest searches */
#define TRIM_AFTER_ENTRIES 1000 /* see ensure */

/* The folders data ends in, shared by a folder's entries: every link of pins/ points to a
 * file named like itself in one of a few hundred board and section folders, so its target is
 * kept as one of these and the link's own name. Sorted, for a binary search. */
struct vf_dirs {
	char **v;
	size_t n, cap;
};

/* One entry, 32 bytes and its name: pins/ holds one for each of my pins. Its data is `dir`
 * followed by the last component of its name, when it has a dir; else it follows the name in
 * the name's allocation. */
struct vf_entry {
	char *name;	 /* "name\0" or "name\0data\0" */
	const char *dir; /* NULL, or one of the folder's vf_dirs */
	int64_t size;	 /* of an image: bytes, -1 unknown; else the data's length */
	uint32_t seq;	 /* order of adding: the first of two duplicates stays */
	uint8_t kind;	 /* enum vf_kind */
};

struct vf_builder {
	struct vf_entry *ents;
	size_t n, cap;
	struct vf_dirs dirs;
};

/* A folder found by its key. It is freed only when evicted, and never while a thread that
 * dropped the lock still uses it: that thread holds its building or sizing flight. Threads
 * that only waited look their folder up again by key. Every field is guarded by generated.lock. */
struct vfolder {
	char *key;
	struct vf_entry *ents; /* sorted by name */
	size_t n;
	struct vf_dirs dirs; /* the entries' dirs */
	bool built;
	struct flight building; /* a build is under way (single flight) */
	bool stale;		/* changed while being built: build again at the next use */
	struct flight sizing;	/* the images' sizes are being learnt */
	bool sizes_tried;
	double built_at, used_at;
	time_t built_wall;
	uint64_t version; /* of its source when it was built */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a flight landed (flight.h) */
	double ttl;
	struct vfolder *folders[MAX_FOLDERS];
	size_t n;
} generated = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .changed = PTHREAD_COND_INITIALIZER,
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void entries_free(struct vf_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

static void dirs_release(struct vf_dirs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* The copy in d of dir[0..len), added when d has none. NULL when out of memory. */
static const char *dirs_get(struct vf_dirs *d, const char *dir, size_t len)
{
	size_t lo = 0, hi = d->n;
	char *copy;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(d->v[mid], dir, len);

		if (c == 0 && d->v[mid][len] == '\0')
			return d->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		char **grown = realloc(d->v, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		d->v = grown;
		d->cap = cap;
	}
	if (!(copy = strndup(dir, len)))
		return NULL;
	memmove(&d->v[lo + 1], &d->v[lo], (d->n - lo) * sizeof(*d->v));
	d->v[lo] = copy;
	d->n++;
	return copy;
}

/* The last component of an entry's name. */
static const char *tail_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash ? slash + 1 : name;
}

/* The length of data's dir when data is that dir and the tail of name ("../a/b.jpg" for
 * "b.jpg": 5), else 0. */
static size_t dir_len(const char *name, const char *data)
{
	const char *tail = tail_of(name);
	size_t dlen = strlen(data), tlen = strlen(tail);

	if (dlen <= tlen || data[dlen - tlen - 1] != '/' || strcmp(data + dlen - tlen, tail) != 0)
		return 0;
	return dlen - tlen;
}

static int entry_make(struct vf_entry *e, struct vf_dirs *dirs, const char *name, enum vf_kind kind,
		      const char *data)
{
	size_t nlen = strlen(name), dlen = data ? strlen(data) : 0;
	size_t dir = data && kind == VF_LINK ? dir_len(name, data) : 0;

	memset(e, 0, sizeof(*e));
	if (dir && !(e->dir = dirs_get(dirs, data, dir)))
		return -ENOMEM;
	e->name = malloc(nlen + 1 + (data && !dir ? dlen + 1 : 0));
	if (!e->name)
		return -ENOMEM;
	memcpy(e->name, name, nlen + 1);
	if (data && !dir)
		memcpy(e->name + nlen + 1, data, dlen + 1);
	e->kind = (uint8_t)kind;
	e->size = kind == VF_IMAGE ? cache_size_get(data) : (int64_t)dlen;
	return 0;
}

/* The entry's data into a new string (NULL for a directory, or when out of memory). */
static char *entry_data(const struct vf_entry *e)
{
	char *out = NULL;

	if (e->kind == VF_DIR)
		return NULL;
	if (!e->dir)
		return strdup(e->name + strlen(e->name) + 1);
	if (asprintf(&out, "%s%s", e->dir, tail_of(e->name)) < 0)
		return NULL;
	return out;
}

/* The URL of an image entry: never kept under a dir. */
static const char *entry_url(const struct vf_entry *e)
{
	return e->name + strlen(e->name) + 1;
}

int vf_add(struct vf_builder *b, const char *name, enum vf_kind kind, const char *data)
{
	if (kind == VF_DIR)
		data = NULL;
	else if (!data)
		data = "";
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		struct vf_entry *grown = realloc(b->ents, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		b->ents = grown;
		b->cap = cap;
	}
	if (entry_make(&b->ents[b->n], &b->dirs, name, kind, data))
		return -ENOMEM;
	b->ents[b->n].seq = (uint32_t)b->n;
	b->n++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct vf_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorts the entries by name and drops later duplicates. */
static void builder_finish(struct vf_builder *b)
{
	size_t k = 0;

	if (b->n > 1)
		qsort(b->ents, b->n, sizeof(*b->ents), cmp_entry);
	for (size_t i = 0; i < b->n; i++) {
		if (k && strcmp(b->ents[k - 1].name, b->ents[i].name) == 0) {
			log_debug("two entries named %s in one folder: the later one is dropped",
				  b->ents[i].name);
			free(b->ents[i].name);
			continue;
		}
		b->ents[k++] = b->ents[i];
	}
	b->n = k;
}

/* ---- folders: found by key, built once per TTL. Lock held in everything below. ---- */

static struct vfolder *find(const char *key)
{
	for (size_t i = 0; i < generated.n; i++)
		if (strcmp(generated.folders[i]->key, key) == 0)
			return generated.folders[i];
	return NULL;
}

static void folder_free(struct vfolder *f)
{
	entries_free(f->ents, f->n);
	dirs_release(&f->dirs);
	free(f->key);
	free(f);
}

/* Frees the least recently used folder no thread is using. False when all are in use. */
static bool evict_one(void)
{
	size_t victim = generated.n;

	for (size_t i = 0; i < generated.n; i++) {
		const struct vfolder *f = generated.folders[i];

		if (!f->building.busy && !f->sizing.busy &&
		    (victim == generated.n || f->used_at < generated.folders[victim]->used_at))
			victim = i;
	}
	if (victim == generated.n)
		return false;
	folder_free(generated.folders[victim]);
	generated.folders[victim] = generated.folders[--generated.n];
	return true;
}

static int folder_get(const char *key, struct vfolder **out)
{
	struct vfolder *f = find(key);

	if (!f) {
		if (generated.n == MAX_FOLDERS && !evict_one())
			return -EAGAIN;
		f = calloc(1, sizeof(*f));
		if (!f || !(f->key = strdup(key))) {
			free(f);
			return -ENOMEM;
		}
		generated.folders[generated.n++] = f;
	}
	*out = f;
	return 0;
}

/* Finds the folder key, building it when it no longer holds: older than the TTL or, for a
 * source with a version, built at another version than v. Drops the lock meanwhile. */
static int ensure(const char *key, const struct vf_source *src, uint64_t v, struct vfolder **out)
{
	struct vf_builder b = {0};
	struct vfolder *f;
	int result;

	for (;;) {
		result = folder_get(key, &f);
		if (result)
			return result;
		if (!f->building.busy)
			break;
		flight_wait(&generated.lock, &generated.changed); /* another thread's listing */
	}
	f->used_at = now_s();
	if (f->built && (!src->version || f->version == v) &&
	    (src->outlives_ttl || f->used_at - f->built_at < generated.ttl)) {
		*out = f;
		return 0;
	}
	/* Not busy: the flight is the caller's. */
	flight_take(&f->building, &generated.lock, &generated.changed);
	f->stale = false;
	pthread_mutex_unlock(&generated.lock);
	result = src->build(key, &b);
	if (!result)
		builder_finish(&b);
	/* A build of pins/ frees as much as it keeps (the walk of GET /pins, the tree's paths):
	 * give those pages back. A small folder frees too little to be worth the walk of the
	 * heap that this is. */
	if (b.n >= TRIM_AFTER_ENTRIES)
		malloc_trim(0);
	pthread_mutex_lock(&generated.lock);
	flight_land(&f->building, &generated.changed);
	if (result) {
		entries_free(b.ents, b.n);
		dirs_release(&b.dirs);
		return result;
	}
	entries_free(f->ents, f->n);
	dirs_release(&f->dirs);
	f->ents = b.ents;
	f->n = b.n;
	f->dirs = b.dirs;
	f->built = true;
	f->version = f->stale ? ~v : v;
	f->built_at = f->stale ? -1e9 : now_s();
	f->built_wall = time(NULL);
	f->sizes_tried = false;
	*out = f;
	return 0;
}

static struct vf_entry *find_entry(const struct vfolder *f, const char *name)
{
	/* By name alone: names are unique once a build is finished. */
	for (size_t lo = 0, hi = f->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->ents[mid].name, name);

		if (c == 0)
			return &f->ents[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Learns the size of every image of f not known yet, by parallel HEADs. Drops the lock; f is
 * not to be used afterwards (look it up again). */
static void learn_sizes(struct vfolder *f)
{
	char **urls;
	int64_t *sizes;
	size_t n = 0, learnt;

	if (!flight_take(&f->sizing, &generated.lock, &generated.changed))
		return;
	urls = calloc(f->n ? f->n : 1, sizeof(*urls));
	sizes = calloc(f->n ? f->n : 1, sizeof(*sizes));
	for (size_t i = 0; urls && sizes && i < f->n; i++)
		if (f->ents[i].kind == VF_IMAGE && f->ents[i].size < 0 &&
		    (urls[n] = strdup(entry_url(&f->ents[i]))))
			n++;
	pthread_mutex_unlock(&generated.lock);

	learnt =
	    http_head_sizes((const char *const *)urls, n, sizes, HTTP_HEAD_PARALLEL, NULL, NULL);
	if (learnt < n && !http_cancelled())
		log_warn("could not learn the size of %zu image(s)", n - learnt);
	for (size_t i = 0; i < n; i++)
		if (sizes[i] >= 0)
			cache_size_put(urls[i], sizes[i]);

	pthread_mutex_lock(&generated.lock);
	/* The folder may have been built again meanwhile: its images read sizes from the cache. */
	for (size_t i = 0; i < f->n; i++)
		if (f->ents[i].kind == VF_IMAGE && f->ents[i].size < 0)
			f->ents[i].size = cache_size_get(entry_url(&f->ents[i]));
	f->sizes_tried = true;
	flight_land(&f->sizing, &generated.changed);
	for (size_t i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
	free(sizes);
}

static mode_t mode_of(enum vf_kind kind)
{
	return kind == VF_DIR ? S_IFDIR : kind == VF_LINK ? S_IFLNK : S_IFREG;
}

/* ---- public ---- */

void vfolder_init(double ttl_s)
{
	pthread_mutex_lock(&generated.lock);
	generated.ttl = ttl_s;
	pthread_mutex_unlock(&generated.lock);
}

void vfolder_cleanup(void)
{
	pthread_mutex_lock(&generated.lock);
	for (size_t i = 0; i < generated.n; i++)
		folder_free(generated.folders[i]);
	generated.n = 0;
	pthread_mutex_unlock(&generated.lock);
}

int vfolder_stat(const char *key, const struct vf_source *src, const char *rest,
		 struct vf_info *out)
{
	struct vfolder *f;
	struct vf_entry *e;
	uint64_t v = 0;
	int result;

	memset(out, 0, sizeof(*out));
	out->kind = VF_DIR;
	out->mtime = time(NULL);
	if (!*rest)
		return 0; /* the folder itself: nothing to ask until it is listed */
	result = src->version ? src->version(&v) : 0;
	if (result)
		return result;
	pthread_mutex_lock(&generated.lock);
	for (;;) {
		result = ensure(key, src, v, &f);
		if (result)
			break;
		e = find_entry(f, rest);
		if (!e) {
			result = -ENOENT;
			break;
		}
		if (e->kind == VF_IMAGE && e->size < 0 && !f->sizes_tried) {
			learn_sizes(f);
			continue;
		}
		out->kind = e->kind;
		out->size = e->kind == VF_DIR ? 0 : e->size;
		out->mtime = f->built_wall;
		break;
	}
	pthread_mutex_unlock(&generated.lock);
	return result;
}

/* True when name is right below dir ("" is the folder's top). */
static bool child_of(const char *name, const char *dir, size_t dlen)
{
	if (dlen && (strncmp(name, dir, dlen) != 0 || name[dlen] != '/'))
		return false;
	return !strchr(name + dlen + (dlen > 0), '/');
}

int vfolder_list(const char *key, const struct vf_source *src, const char *rest, tree_fill_fn fill,
		 void *ctx)
{
	size_t dlen = strlen(rest);
	struct vfolder *f;
	struct vf_entry *e;
	uint64_t v = 0;
	int result = src->version ? src->version(&v) : 0;

	if (result)
		return result;
	pthread_mutex_lock(&generated.lock);
	result = ensure(key, src, v, &f);
	if (result)
		goto out;
	if (dlen) {
		e = find_entry(f, rest);
		if (!e || e->kind != VF_DIR) {
			result = e ? -ENOTDIR : -ENOENT;
			goto out;
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		e = &f->ents[i];
		if (child_of(e->name, rest, dlen) &&
		    fill(ctx, e->name + dlen + (dlen > 0), mode_of(e->kind)))
			break;
	}
out:
	pthread_mutex_unlock(&generated.lock);
	return result;
}

int vfolder_data(const char *key, const struct vf_source *src, const char *rest, enum vf_kind *kind,
		 char **data, size_t *len)
{
	struct vfolder *f;
	struct vf_entry *e;
	uint64_t v = 0;
	int result;

	*data = NULL;
	*len = 0;
	*kind = VF_DIR;
	if (!*rest)
		return 0;
	result = src->version ? src->version(&v) : 0;
	if (result)
		return result;
	pthread_mutex_lock(&generated.lock);
	result = ensure(key, src, v, &f);
	if (result)
		goto out;
	e = find_entry(f, rest);
	if (!e) {
		result = -ENOENT;
		goto out;
	}
	*kind = e->kind;
	if (e->kind != VF_DIR && !(*data = entry_data(e)))
		result = -ENOMEM;
	*len = *data ? strlen(*data) : 0;
out:
	pthread_mutex_unlock(&generated.lock);
	return result;
}

void vfolder_put(const char *key, const char *name, enum vf_kind kind, const char *data)
{
	struct vfolder *f;
	struct vf_entry e, *at, *grown;
	size_t i = 0;

	pthread_mutex_lock(&generated.lock);
	f = find(key);
	if (f && f->building.busy)
		f->stale = true; /* the build under way may have missed the change */
	if (!f || !f->built || entry_make(&e, &f->dirs, name, kind, data))
		goto out;
	at = find_entry(f, name);
	if (at) {
		free(at->name);
		*at = e;
		goto out;
	}
	grown = realloc(f->ents, (f->n + 1) * sizeof(*grown));
	if (!grown) {
		free(e.name);
		/* Build it again rather than show it without the change. */
		f->built_at = -1e9;
		f->version = ~f->version;
		goto out;
	}
	f->ents = grown;
	while (i < f->n && strcmp(f->ents[i].name, name) < 0)
		i++;
	memmove(&f->ents[i + 1], &f->ents[i], (f->n - i) * sizeof(*f->ents));
	f->ents[i] = e;
	f->n++;
out:
	pthread_mutex_unlock(&generated.lock);
}

void vfolder_invalidate(void)
{
	pthread_mutex_lock(&generated.lock);
	for (size_t i = 0; i < generated.n; i++) {
		struct vfolder *f = generated.folders[i];

		/* Both the age and the version say "build again", as for a failed vfolder_put. */
		f->built_at = -1e9;
		f->version = ~f->version;
		if (f->building.busy)
			f->stale = true;
	}
	pthread_mutex_unlock(&generated.lock);
}
