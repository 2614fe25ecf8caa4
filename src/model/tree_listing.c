/* A board's listing as the server gives it: its sections and pins, walked page by page from
 * the listing source (tree_set_source; api_list unless a test sets another), what could not be
 * used said once, repeated ids dropped, and the names the pins had kept for the next naming.
 * Listings are fetched unlocked, built unlocked (tree_build.c) and installed under tree.lock
 * (tree_install.c). Part of the account tree: see tree_int.h. */
#include "tree_int.h"

#include "api.h"
#include "bg.h"
#include "cache.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where listings come from: api_list, or what a test set. No lock: set before the tree starts
 * (tree_set_source), read-only after. */
static tree_list_fn list_source;

void tree_set_source(tree_list_fn fn)
{
	list_source = fn;
}

int tree_source_list(const char *path, bool paged, tree_item_fn item, void *ctx)
{
	return (list_source ? list_source : api_list)(path, paged, item, ctx);
}

static int collect_section(const cJSON *it, void *ctx)
{
	struct listing *l = ctx;
	struct section *s = section_from_json(it);

	l->sec_items++;
	/* A section's id goes into API paths too (/boards/B/sections/S). Counted, and said
	 * once for the listing (tidy_listing). */
	if (!s || !tree_id_ok(s->id)) {
		l->sec_skips++;
		section_free(s);
		return 0;
	}
	if (!tree_grow((void **)&l->secs, &l->cap_secs, l->nsecs, sizeof(*l->secs))) {
		section_free(s);
		return -ENOMEM;
	}
	l->secs[l->nsecs++] = s;
	return 0;
}

static int collect_pin(const cJSON *it, void *ctx)
{
	struct listing *l = ctx;
	struct pin *p = pin_from_json(it, tree.image_size);
	struct pinrec *r;

	l->pin_items++;
	if (!p || !tree_id_ok(p->id)) {
		l->pin_skips++;
		pin_free(p);
		return 0;
	}
	r = pinrec_pack(p, l->board_id);
	pin_free(p);
	if (!r || !tree_grow((void **)&l->pins, &l->cap_pins, l->npins, sizeof(*l->pins))) {
		free(r);
		return -ENOMEM;
	}
	l->pins[l->npins++] = r;
	return 0;
}

void tree_listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->nsecs; i++)
		section_free(l->secs[i]);
	for (size_t i = 0; i < l->npins; i++)
		free(l->pins[i]);
	for (size_t i = 0; i < l->nkept; i++) {
		free(l->kept[i].id);
		free(l->kept[i].name);
	}
	free(l->kept);
	free(l->secs);
	free(l->pins);
	memset(l, 0, sizeof(*l));
}

static int cmp_kept(const void *a, const void *b)
{
	return strcmp(((const struct kept *)a)->id, ((const struct kept *)b)->id);
}

/* Copies the names bn's pins have now into l, for tree_build() to keep. Lock held. */
int tree_keep_names(const struct board_node *bn, struct listing *l)
{
	l->kept = calloc(bn->npins ? bn->npins : 1, sizeof(*l->kept));
	if (!l->kept)
		return -ENOMEM;
	for (size_t i = 0; i < bn->npins; i++) {
		const struct pin_node *pn = &bn->pins[i];
		struct kept *k = &l->kept[l->nkept];

		k->id = strdup(pinrec_id(pn->rec));
		k->name = strdup(tree_pin_name(pn));
		if (!k->id || !k->name) {
			free(k->id);
			free(k->name);
			return -ENOMEM;
		}
		l->nkept++;
	}
	tree_sort(l->kept, l->nkept, sizeof(*l->kept), cmp_kept);
	return 0;
}

const char *tree_kept_name(const struct listing *l, const char *id)
{
	struct kept key = {.id = (char *)id}, *hit;

	hit = l->nkept ? bsearch(&key, l->kept, l->nkept, sizeof(*l->kept), cmp_kept) : NULL;
	return hit ? hit->name : NULL;
}

/* Marks in gone[] each of items 0..n-1 whose id an earlier one has (the first keeps its
 * place). Returns how many, or -ENOMEM. */
long tree_mark_repeats(size_t n, tree_id_at_fn id_at, const void *ctx, bool *gone)
{
	size_t cap = 16;
	uint32_t *slots; /* 1 + the index of the first item of an id, or 0 */
	long repeats = 0;

	while (cap < n * 2)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *id = id_at(ctx, i);
		size_t h = cache_key(id) & (cap - 1);

		while (slots[h] && strcmp(id_at(ctx, slots[h] - 1), id) != 0)
			h = (h + 1) & (cap - 1);
		gone[i] = slots[h] != 0;
		if (gone[i])
			repeats++;
		else
			slots[h] = (uint32_t)(i + 1);
	}
	free(slots);
	return repeats;
}

/* The one line a listing gets for its skipped items, and the one for its repeated ids. */
void tree_say_skipped(const char *route, const char *what, size_t skips, size_t items)
{
	if (skips)
		log_warn("GET %s: skipping %s: %zu of %zu items", route, what, skips, items);
}

void tree_say_repeats(const char *route, long repeats, const char *what, const char *id)
{
	log_warn("GET %s: dropping %ld item(s) that repeat an earlier one's id (%s %s)", route,
		 repeats, what, id);
}

static const char *pin_id_at(const void *ctx, size_t i)
{
	return pinrec_id(((const struct listing *)ctx)->pins[i]);
}

static const char *sec_id_at(const void *ctx, size_t i)
{
	return ((const struct listing *)ctx)->secs[i]->id;
}

/* Drops l's repeated pins and sections (gone: room for the larger count). */
static int drop_repeats(const char *board_id, struct listing *l, bool *gone)
{
	char route[TREE_ID_MAX + 32];
	long repeats = tree_mark_repeats(l->npins, pin_id_at, l, gone);
	size_t kept = 0;

	if (repeats < 0)
		return (int)repeats;
	snprintf(route, sizeof(route), "/boards/%s/pins", board_id);
	for (size_t i = 0; i < l->npins; i++) {
		if (gone[i] && repeats > 0) {
			tree_say_repeats(route, repeats, "pin", pinrec_id(l->pins[i]));
			repeats = 0;
		}
		if (gone[i])
			free(l->pins[i]);
		else
			l->pins[kept++] = l->pins[i];
	}
	l->npins = kept;
	repeats = tree_mark_repeats(l->nsecs, sec_id_at, l, gone);
	if (repeats < 0)
		return (int)repeats;
	snprintf(route, sizeof(route), "/boards/%s/sections", board_id);
	kept = 0;
	for (size_t i = 0; i < l->nsecs; i++) {
		if (gone[i] && repeats > 0) {
			tree_say_repeats(route, repeats, "section", l->secs[i]->id);
			repeats = 0;
		}
		if (gone[i])
			section_free(l->secs[i]);
		else
			l->secs[kept++] = l->secs[i];
	}
	l->nsecs = kept;
	return 0;
}

/* A board's pages are in: what could not be used is said, repeated ids are dropped. */
static int tidy_listing(const char *board_id, struct listing *l)
{
	char route[TREE_ID_MAX + 32];
	bool *gone = calloc(l->npins > l->nsecs ? l->npins + 1 : l->nsecs + 1, sizeof(*gone));
	int result;

	if (!gone)
		return -ENOMEM;
	snprintf(route, sizeof(route), "/boards/%s/sections", board_id);
	tree_say_skipped(route, "a section without a usable id or name", l->sec_skips,
			 l->sec_items);
	snprintf(route, sizeof(route), "/boards/%s/pins", board_id);
	tree_say_skipped(route, "a pin without a usable id", l->pin_skips, l->pin_items);
	result = drop_repeats(board_id, l, gone);
	free(gone);
	return result;
}

/* The walk of a board's sections, beside that of its pins. No lock: the thread that fetches the
 * listing made it, and reads result only after bg_join. */
struct sections_job {
	char path[TREE_ID_MAX + 32];
	struct listing *l;
	int result;
};

static void fetch_sections(void *arg)
{
	struct sections_job *job = arg;

	job->result = tree_source_list(job->path, true, collect_section, job->l);
}

int tree_fetch_listing(const char *board_id, struct listing *l)
{
	struct sections_job job = {.l = l};
	struct bg_beside sections;
	char path[TREE_ID_MAX + 32];
	int result;

	l->board_id = board_id;
	/* Sections and pins are independent walks: side by side they cost one page's wait less.
	 * They fill different arrays of l, so they need no lock. */
	snprintf(job.path, sizeof(job.path), "/boards/%s/sections", board_id);
	bg_beside(&sections, fetch_sections, &job);
	/* The board's pin listing carries its sections' pins too: one walk serves all. */
	snprintf(path, sizeof(path), "/boards/%s/pins", board_id);
	result = tree_source_list(path, true, collect_pin, l);
	bg_join(&sections);
	if (!result)
		result = job.result;
	return result ? result : tidy_listing(board_id, l);
}
