/* A pin inserted, replaced or removed in a listed board where it is, with the name and the
 * place a rebuild would give it, without naming, sorting and packing the board again; and the
 * pin that a local change touched. tests/unit/test_tree_edit.c compares each with a rebuild.
 * Part of the account tree: see tree_int.h. */
#include "tree_int.h"

#include "cache.h"
#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* bn's folders by number: its sections' 0..nsecs-1, then nsecs, its top. */
static struct folder *folder_at(struct board_node *bn, size_t k)
{
	return k < bn->nsecs ? &bn->secs[k].f : &bn->top;
}

/* bn's listing was changed where it is: its folders are swept again as a new listing's would
 * be. A sweep under way goes on, but for the generation before (tree_sizes.c): it lands no
 * flight of these folders, which start afresh as a new listing's do. Lock held. */
static void changed_in_place(struct board_node *bn)
{
	for (size_t k = 0; k <= bn->nsecs; k++) {
		folder_at(bn, k)->sizing = (struct flight){0};
		folder_at(bn, k)->sizes_tried = false;
	}
	tree_new_generation(bn);
	tree_count_edit(bn);
}

/* Frees p when it is one of bn's loose allocations (NULL and the block's are not). */
static void loose_drop(struct board_node *bn, void *p)
{
	for (size_t i = 0; p && i < bn->nloose; i++) {
		if (bn->loose[i] != p)
			continue;
		free(p);
		bn->loose[i] = bn->loose[--bn->nloose];
		return;
	}
}

/* The index in bn->pins of the pin pin_id; bn->npins when bn does not hold it. Lock held. */
size_t tree_pin_index(const struct board_node *bn, const char *pin_id)
{
	size_t i = 0;

	while (i < bn->npins && strcmp(pinrec_id(bn->pins[i].rec), pin_id) != 0)
		i++;
	return i;
}

/* Takes pins[i] out of its folder's index, and the indexes above it down by one. */
static void unindex_pin(struct board_node *bn, size_t i)
{
	for (size_t k = 0; k <= bn->nsecs; k++) {
		struct folder *f = folder_at(bn, k);
		size_t kept = 0;

		for (size_t j = 0; j < f->n; j++)
			if (f->pins[j] != i)
				f->pins[kept++] = f->pins[j] - (f->pins[j] > i);
		f->n = kept;
	}
}

/* Takes bn->pins[i] out of bn's listing where it is, as a rebuild without it would leave the
 * listing (the others keep their names and order) but without naming and sorting every pin
 * again: removing a pin costs an index's shift, not a board's worth of work. Its record and
 * name stay in the listing's block until the next listing. Lock held. */
void tree_remove_pin(struct board_node *bn, size_t i)
{
	tree_folder_of(bn->secs, &bn->top, bn->pins[i].folder)->mtime =
	    time(NULL); /* a name gone */
	unindex_pin(bn, i);
	if (!bn->block) { /* a listing without a block owns its pins one by one */
		free(bn->pins[i].rec);
		free(bn->pins[i].name);
	} else {
		loose_drop(bn, bn->pins[i].rec);
		loose_drop(bn, bn->pins[i].name);
	}
	memmove(&bn->pins[i], &bn->pins[i + 1], (bn->npins - i - 1) * sizeof(*bn->pins));
	bn->npins--;
	changed_in_place(bn);
}

/* Where a pin named name goes in folder f's index, which is sorted by name. Lock held. */
static size_t name_position(const struct board_node *bn, const struct folder *f, const char *name)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(tree_pin_name(&bn->pins[f->pins[mid]]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The items each pin of f shows beside its main file (names_assign_items), p's last. Caller
 * frees; NULL when out of memory. Lock held. */
static unsigned *tree_folder_items(const struct board_node *bn, const struct folder *f,
				   const struct pinrec *p)
{
	unsigned *items = malloc((f->n + 1) * sizeof(*items));

	for (size_t i = 0; items && i < f->n; i++)
		items[i] = pinrec_items(bn->pins[f->pins[i]].rec);
	if (items)
		items[f->n] = pinrec_items(p);
	return items;
}

static bool folder_has_items(const unsigned *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (items[i])
			return true;
	return false;
}

/* p's title's own form as its name when no pin of f holds it and reserved does not list it;
 * -EAGAIN when taken, -ENOMEM. *name: the caller frees. Lock held. */
static int plain_name_if_free(const struct board_node *bn, const struct folder *f,
			      const struct pinrec *p, const char *const *reserved, char **name)
{
	char *plain = names_sanitize(pinrec_title(p), pinrec_id(p), 5 /* ".json" */);
	size_t at;
	bool taken;

	if (!plain)
		return -ENOMEM;
	at = name_position(bn, f, plain);
	taken = at < f->n && strcmp(tree_pin_name(&bn->pins[f->pins[at]]), plain) == 0;
	for (size_t i = 0; !taken && reserved && reserved[i]; i++)
		taken = strcmp(reserved[i], plain) == 0;
	if (taken) {
		free(plain);
		return -EAGAIN;
	}
	*name = plain;
	return 0;
}

/* The name p gets in bn's folder beside the names its pins have now, as tree_build() would give
 * it: names_assign over the folder, the others keeping theirs. -EAGAIN when that would rename
 * another pin too, which only a rebuild does right. *name: the caller frees. Lock held. */
static int name_in_place(struct board_node *bn, int32_t folder, const struct pinrec *p, char **name)
{
	struct folder *f = tree_folder_of(bn->secs, &bn->top, folder);
	struct built view = {.secs = bn->secs, .nsecs = bn->nsecs};
	struct name_slot *slots = calloc(f->n + 1, sizeof(*slots));
	const char **reserved = NULL;
	unsigned *items = NULL;
	int result = -ENOMEM;

	*name = NULL;
	if (!slots || (folder < 0 && !(reserved = tree_section_reserved(&view))))
		goto out;
	/* The common case, told without naming the folder: the title's own form is free (no
	 * pin holds it and no section's name reserves it). names_assign grants the others their
	 * names first, as each still fits its title, so it would give p that form too. */
	if (!(items = tree_folder_items(bn, f, p)))
		goto out;
	result = items[f->n] || folder_has_items(items, f->n)
		     ? -EAGAIN
		     : plain_name_if_free(bn, f, p, reserved, name);
	if (result != -EAGAIN)
		goto out;
	result = -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		const struct pin_node *pn = &bn->pins[f->pins[i]];

		slots[i] = (struct name_slot){pinrec_title(pn->rec), pinrec_id(pn->rec),
					      tree_name_reserve(pn->rec), tree_pin_name(pn), NULL};
	}
	slots[f->n] =
	    (struct name_slot){pinrec_title(p), pinrec_id(p), tree_name_reserve(p), NULL, NULL};
	result = names_assign_items(slots, f->n + 1, reserved, items);
	for (size_t i = 0; !result && i < f->n; i++)
		if (strcmp(slots[i].name, slots[i].keep) != 0)
			result = -EAGAIN;
	if (!result) {
		*name = slots[f->n].name;
		slots[f->n].name = NULL;
	}
out:
	for (size_t i = 0; slots && i <= f->n; i++)
		free(slots[i].name);
	for (size_t i = 0; reserved && reserved[i]; i++)
		free((char *)reserved[i]);
	free(reserved);
	free(items);
	free(slots);
	return result;
}

/* Where p goes among bn's pins, which are grouped by folder (the top first) and oldest first
 * in each group, as name_all_pins lays them out. Lock held. */
static size_t age_position(const struct board_node *bn, int32_t folder, const struct pinrec *p)
{
	size_t at = 0;

	for (size_t i = 0; i < bn->npins; i++)
		if (bn->pins[i].folder < folder ||
		    (bn->pins[i].folder == folder && tree_cmp_pin_age(&bn->pins[i].rec, &p) < 0))
			at++;
	return at;
}

/* Room for one more pin in bn and in f's index, and for its record and name among the loose
 * allocations when the listing has a block. Lock held. -ENOMEM or 0. */
static int make_room(struct board_node *bn, struct folder *f)
{
	struct pin_node *pins = realloc(bn->pins, (bn->npins + 1) * sizeof(*pins));
	uint32_t *index;
	void **loose;

	if (!pins)
		return -ENOMEM;
	bn->pins = pins;
	index = realloc(f->pins, (f->n + 1) * sizeof(*index));
	if (!index)
		return -ENOMEM;
	f->pins = index;
	if (!bn->block)
		return 0;
	loose = realloc(bn->loose, (bn->nloose + 2) * sizeof(*loose));
	if (!loose)
		return -ENOMEM;
	bn->loose = loose;
	return 0;
}

/* Adds p, a pin bn does not hold, to bn's listing where a rebuild would put it and with the
 * name a rebuild would give it, without naming, sorting and packing the board again: adding a
 * pin costs a folder's naming and an index's shift. Takes p on success. -EAGAIN: only a rebuild
 * names the folder right; -ENOMEM. Lock held. */
int tree_insert_pin(struct board_node *bn, struct pinrec *p)
{
	int32_t folder = tree_section_index(bn->secs, bn->nsecs, pinrec_section_id(p));
	struct folder *f = tree_folder_of(bn->secs, &bn->top, folder);
	const char *url = pinrec_image_url(p);
	size_t at, slot;
	char *name;
	int result = name_in_place(bn, folder, p, &name);

	if (!result)
		result = make_room(bn, f);
	if (result)
		goto out;
	at = age_position(bn, folder, p);
	slot = name_position(bn, f, name);
	for (size_t k = 0; k <= bn->nsecs; k++) {
		struct folder *g = folder_at(bn, k);

		for (size_t j = 0; j < g->n; j++)
			g->pins[j] += g->pins[j] >= at;
	}
	memmove(&bn->pins[at + 1], &bn->pins[at], (bn->npins - at) * sizeof(*bn->pins));
	memmove(&f->pins[slot + 1], &f->pins[slot], (f->n - slot) * sizeof(*f->pins));
	f->pins[slot] = (uint32_t)at;
	f->n++;
	/* Most titles are their own file names: those are not kept twice (as name_pins). */
	if (pinrec_title(p) && strcmp(name, pinrec_title(p)) == 0) {
		free(name);
		name = NULL;
	}
	bn->pins[at] = (struct pin_node){.rec = p,
					 .name = name,
					 .size = url ? cache_size_get(url) : -1,
					 .json_len = -1,
					 .folder = folder,
					 .ext = tree_ext_of(p)};
	bn->npins++;
	if (bn->block) {
		bn->loose[bn->nloose++] = p;
		if (name)
			bn->loose[bn->nloose++] = name;
	}
	name = NULL;
	changed_in_place(bn);
out:
	free(name);
	return result;
}

/* Whether q, a new record of the pin whose record is r, is named, filed and ordered as r is:
 * a name comes from the title and the id, the folder from the section, the place in it from
 * the creation time, the image's extension and size from its URL. An edit of a description,
 * a link or an alt text keeps all of them. */
bool tree_same_place(const struct pinrec *r, const struct pinrec *q)
{
	return tree_same_str(pinrec_title(r), pinrec_title(q)) &&
	       tree_same_str(pinrec_section_id(r), pinrec_section_id(q)) &&
	       tree_same_str(pinrec_image_url(r), pinrec_image_url(q)) &&
	       pinrec_created(r) == pinrec_created(q) && tree_ext_of(r) == tree_ext_of(q);
}

/* Puts p, a new record of bn->pins[i] of which tree_same_place holds, where the old one is: the
 * pin's name, folder and place stay as they are, without naming, sorting and packing the
 * board again. Takes p on success; -ENOMEM (nothing changed). Lock held. */
int tree_replace_pin(struct board_node *bn, size_t i, struct pinrec *p)
{
	struct pin_node *pn = &bn->pins[i];

	if (bn->block) {
		void **loose = realloc(bn->loose, (bn->nloose + 1) * sizeof(*loose));

		if (!loose)
			return -ENOMEM;
		bn->loose = loose;
		loose_drop(bn, pn->rec); /* the block's own records stay with the block */
		bn->loose[bn->nloose++] = p;
	} else {
		free(pn->rec);
	}
	/* A name left NULL is the title's own form, read from the record: the same title. */
	pn->rec = p;
	pn->json_len = -1;
	changed_in_place(bn);
	return 0;
}

/* The pin pin_id of bn was changed here: its sidecar's text is new, and so is its folder (sed
 * -i and editors save by renaming a file over the sidecar, which changes the folder on any file
 * system). Lock held. */
void tree_touch_pin(struct board_node *bn, const char *pin_id)
{
	size_t i = tree_pin_index(bn, pin_id);

	if (i == bn->npins)
		return;
	bn->pins[i].changed_at = tree_change_stamp();
	tree_folder_of(bn->secs, &bn->top, bn->pins[i].folder)->mtime = time(NULL);
}
