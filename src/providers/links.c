#include "links.h"

#include "api.h"
#include "http.h"
#include "bg.h"
#include "log.h"
#include "names.h"
#include "tree.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PARALLEL 8 /* boards listed at once when a folder needs several */

/* A pin a walk found and, once the tree knows it, its path from the mount's root. */
struct found {
	char *id, *board_id, *path;
	time_t created;
};

struct found_vec {
	struct found *v;
	size_t n, cap;
};

/* The pins of one board, sorted by id, while the tree tells their paths. */
struct board_group {
	struct found *v;
	size_t n, left;
	int result;
};

/* Board ids a walk found. */
struct id_vec {
	char **v;
	size_t n, cap;
};

static const char *str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? *cap * 2 : 64;
	void *p;

	if (n < *cap)
		return true;
	p = realloc(*arr, want * size);
	if (!p)
		return false;
	*arr = p;
	*cap = want;
	return true;
}

static void found_free(struct found *f)
{
	free(f->id);
	free(f->board_id);
	free(f->path);
}

static void found_release(struct found_vec *fv)
{
	for (size_t i = 0; i < fv->n; i++)
		found_free(&fv->v[i]);
	free(fv->v);
}

static int collect_pin(const cJSON *it, void *ctx)
{
	struct found_vec *fv = ctx;
	const char *id = str(it, "id"), *board_id = str(it, "board_id");
	struct found *f;

	if (!id || !board_id) {
		log_debug("skipping a pin without id or board_id");
		return 0;
	}
	if (!grow((void **)&fv->v, &fv->cap, fv->n, sizeof(*fv->v)))
		return -ENOMEM;
	f = &fv->v[fv->n];
	*f = (struct found){strdup(id), strdup(board_id), NULL,
			    api_parse_time(str(it, "created_at"))};
	if (!f->id || !f->board_id) {
		found_free(f);
		return -ENOMEM;
	}
	fv->n++;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->id, ((const struct found *)b)->id);
}

static int cmp_board(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c = strcmp(x->board_id, y->board_id);

	return c ? c : strcmp(x->id, y->id);
}

/* Older first, as the tree orders pins when it names them: the older keeps a plain name. */
static int cmp_age(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	if (strlen(x->id) != strlen(y->id))
		return strlen(x->id) < strlen(y->id) ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* Drops the pins a walk met twice (one moved or added between two pages). */
static void drop_duplicates(struct found_vec *fv)
{
	size_t k = 0;

	sort(fv->v, fv->n, sizeof(*fv->v), cmp_id);
	for (size_t i = 0; i < fv->n; i++) {
		if (k && strcmp(fv->v[k - 1].id, fv->v[i].id) == 0)
			found_free(&fv->v[i]);
		else
			fv->v[k++] = fv->v[i];
	}
	fv->n = k;
}

static int take_path(void *ctx, const char *pin_id, const char *path)
{
	struct board_group *g = ctx;
	struct found key = {.id = (char *)pin_id}, *hit;

	hit = bsearch(&key, g->v, g->n, sizeof(*g->v), cmp_id);
	if (hit && !hit->path) {
		hit->path = strdup(path);
		if (!hit->path) {
			g->result = -ENOMEM;
			return 1;
		}
		g->left--;
	}
	return g->left == 0; /* the rest of the board is not needed */
}

/* The boards whose pins' paths are wanted, shared by the threads that ask the tree. */
struct path_jobs {
	pthread_mutex_t lock;
	struct board_group *groups;
	size_t n, next;
	int result;
};

static void ask_tree(void *arg)
{
	struct path_jobs *jobs = arg;
	struct board_group *g;
	int result;

	for (;;) {
		pthread_mutex_lock(&jobs->lock);
		g = jobs->next < jobs->n && !jobs->result ? &jobs->groups[jobs->next++] : NULL;
		pthread_mutex_unlock(&jobs->lock);
		if (!g)
			return;
		result = tree_board_pins(g->v[0].board_id, take_path, g);
		if (result == -ENOENT) {
			log_debug("board %s is not among my boards: its pins are left out",
				  g->v[0].board_id);
			result = 0;
		}
		if (!result)
			result = g->result;
		pthread_mutex_lock(&jobs->lock);
		if (result && !jobs->result)
			jobs->result = result;
		pthread_mutex_unlock(&jobs->lock);
	}
}

/* Asks the tree where each pin is: one question per board, not per pin, so a folder of many
 * pins costs the listing of their boards and nothing more. Boards the tree has not listed yet
 * are listed side by side, LIST_PARALLEL at a time. */
static int find_paths(struct found_vec *fv)
{
	struct path_jobs jobs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	size_t extra;

	sort(fv->v, fv->n, sizeof(*fv->v), cmp_board);
	jobs.groups = calloc(fv->n ? fv->n : 1, sizeof(*jobs.groups));
	if (!jobs.groups)
		return -ENOMEM;
	for (size_t i = 0, j; i < fv->n; i = j) {
		for (j = i + 1; j < fv->n && strcmp(fv->v[j].board_id, fv->v[i].board_id) == 0; j++)
			;
		jobs.groups[jobs.n++] = (struct board_group){fv->v + i, j - i, j - i, 0};
	}
	/* This thread asks too: one more thread for each board beyond the first. */
	extra = jobs.n > LIST_PARALLEL ? LIST_PARALLEL - 1 : jobs.n ? jobs.n - 1 : 0;
	bg_parallel((unsigned)extra, ask_tree, &jobs);
	free(jobs.groups);
	return jobs.result;
}

/* "../" once for each level of key, so that a link in that folder reaches the mount's root. */
static void up_from(const char *key, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const char *p = key; *p && used + 4 <= len; p++)
		if (*p == '/')
			used += snprintf(buf + used, len - used, "../");
}

/* Adds the link name+ext to up+path. */
static int add_link(struct vf_builder *b, const char *name, const char *ext, const char *up,
		    const char *path)
{
	char *full = NULL, *target = NULL;
	int result = -ENOMEM;

	if (asprintf(&full, "%s%s", name, ext) < 0)
		full = NULL;
	if (asprintf(&target, "%s%s", up, path) < 0)
		target = NULL;
	if (full && target)
		result = vf_add(b, full, VF_LINK, target);
	free(full);
	free(target);
	return result;
}

/* Adds a link for each pin the tree knows, named like its target. */
static int add_pin_links(struct vf_builder *b, struct found_vec *fv, const char *key)
{
	struct name_slot *slots = calloc(fv->n ? fv->n : 1, sizeof(*slots));
	struct found **of = calloc(fv->n ? fv->n : 1, sizeof(*of));
	char up[32];
	const char *ext;
	size_t n = 0;
	int result = -ENOMEM;

	if (!slots || !of)
		goto out;
	up_from(key, up, sizeof(up));
	sort(fv->v, fv->n, sizeof(*fv->v), cmp_age);
	for (size_t i = 0; i < fv->n; i++) {
		const char *base;

		if (!fv->v[i].path)
			continue;
		/* The name without its extension is the title to name by: the suffix of a
		 * second "Lemon tart" goes before ".jpg". */
		base = strrchr(fv->v[i].path, '/') + 1;
		slots[n].title = strndup(base, names_strip_ext(base, &ext));
		slots[n].id = fv->v[i].id;
		slots[n].reserve = strlen(ext);
		of[n] = &fv->v[i];
		if (!slots[n++].title)
			goto out;
	}
	result = names_assign(slots, n, NULL);
	for (size_t i = 0; !result && i < n; i++) {
		names_strip_ext(strrchr(of[i]->path, '/') + 1, &ext);
		result = add_link(b, slots[i].name, ext, up, of[i]->path);
	}
out:
	for (size_t i = 0; slots && i < n; i++) {
		free((char *)slots[i].title);
		free(slots[i].name);
	}
	free(slots);
	free(of);
	return result;
}

static int pin_links(const char *key, const char *path, bool paged, struct vf_builder *b)
{
	struct found_vec fv = {0};
	int result = api_list(path, paged, collect_pin, &fv);

	if (!result) {
		drop_duplicates(&fv);
		result = find_paths(&fv);
	}
	if (!result)
		result = add_pin_links(b, &fv, key);
	found_release(&fv);
	return result;
}

/* "/search/<what>?query=<the query>", the query being key's last component as a title. */
static char *search_path(const char *what, const char *key)
{
	char *query = names_to_title(strrchr(key, '/') + 1);
	char *esc = query ? http_escape(query) : NULL, *path = NULL;

	if (esc && asprintf(&path, "/search/%s?query=%s", what, esc) < 0)
		path = NULL;
	free(query);
	free(esc);
	return path;
}

static int build_pins(const char *key, struct vf_builder *b)
{
	return pin_links(key, "/pins", true, b);
}

static int build_search_pins(const char *key, struct vf_builder *b)
{
	char *path = search_path("pins", key);
	int result;

	if (!path)
		return -ENOMEM;
	/* GET /search/pins pages by its own size: it takes no page_size. */
	result = pin_links(key, path, false, b);
	free(path);
	return result;
}

static int collect_id(const cJSON *it, void *ctx)
{
	struct id_vec *ids = ctx;
	const char *id = str(it, "id");

	if (!id)
		return 0;
	if (!grow((void **)&ids->v, &ids->cap, ids->n, sizeof(*ids->v)))
		return -ENOMEM;
	ids->v[ids->n] = strdup(id);
	return ids->v[ids->n++] ? 0 : -ENOMEM;
}

static int build_search_boards(const char *key, struct vf_builder *b)
{
	struct id_vec ids = {0};
	char *path = search_path("boards", key), up[32], board[PATH_MAX];
	int result = path ? api_list(path, true, collect_id, &ids) : -ENOMEM;

	up_from(key, up, sizeof(up));
	for (size_t i = 0; !result && i < ids.n; i++) {
		/* "boards/<folder name>": the link is named like the folder. */
		result = tree_board_path(ids.v[i], board, sizeof(board));
		if (result == -ENOENT) {
			log_debug("board %s is not among my boards: left out", ids.v[i]);
			result = 0;
			continue;
		}
		if (!result)
			result = add_link(b, strchr(board, '/') + 1, "", up, board);
	}
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	free(path);
	return result;
}

/* GET /pins is as dear as the whole account: past the TTL it is asked again only when a board
 * changed. A search is a page or two: it is asked again after the TTL too, since a board's
 * description, which search/boards matches, changes no stamp. */
const struct vf_source links_pins = {build_pins, tree_pins_version, true};
const struct vf_source links_search_pins = {build_search_pins, tree_pins_version, false};
const struct vf_source links_search_boards = {build_search_boards, tree_pins_version, false};
