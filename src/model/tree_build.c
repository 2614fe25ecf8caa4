/* A board's listing built into folders: sections named, pins grouped by folder, oldest first,
 * named (names.h's rules, keeping the names they had), packed into one block and indexed by
 * name. Runs unlocked on a listing no other thread sees (or under tree.lock for a local
 * change: tree_edit.c). Part of the account tree: see tree_int.h. */
#include "tree_int.h"

#include "cache.h"
#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tree_folders_release(struct section_node *secs, size_t nsecs, struct pin_node *pins,
			  size_t npins, struct folder *top, char *block)
{
	for (size_t i = 0; i < nsecs; i++) {
		section_free(secs[i].sec);
		free(secs[i].dname);
		free(secs[i].f.pins);
	}
	for (size_t i = 0; !block && i < npins; i++) {
		free(pins[i].rec);
		free(pins[i].name);
	}
	free(block);
	free(secs);
	free(pins);
	free(top->pins);
	top->pins = NULL;
	top->n = 0;
}

int tree_cmp_pin_age(const void *a, const void *b)
{
	const struct pinrec *x = *(struct pinrec *const *)a, *y = *(struct pinrec *const *)b;
	const char *xid = pinrec_id(x), *yid = pinrec_id(y);

	if (pinrec_created(x) != pinrec_created(y))
		return pinrec_created(x) < pinrec_created(y) ? -1 : 1;
	/* Same second: the shorter id is the older one, then lexical order. */
	if (strlen(xid) != strlen(yid))
		return strlen(xid) < strlen(yid) ? -1 : 1;
	return strcmp(xid, yid);
}

static int name_sections(struct built *o, struct listing *l)
{
	struct name_slot *slots = calloc(l->nsecs ? l->nsecs : 1, sizeof(*slots));
	int result = -ENOMEM;

	o->secs = calloc(l->nsecs ? l->nsecs : 1, sizeof(*o->secs));
	if (!slots || !o->secs)
		goto out;
	for (size_t i = 0; i < l->nsecs; i++)
		slots[i] = (struct name_slot){.title = l->secs[i]->name, .id = l->secs[i]->id};
	result = names_assign(slots, l->nsecs, NULL);
	if (result)
		goto out;
	for (size_t i = 0; i < l->nsecs; i++) {
		o->secs[i].sec = l->secs[i];
		o->secs[i].dname = slots[i].name;
		l->secs[i] = NULL;
	}
	o->nsecs = l->nsecs;
	l->nsecs = 0;
out:
	free(slots);
	return result;
}

/* The index among secs[0..nsecs) of the section section_id, or -1: the board's top. */
int32_t tree_section_index(const struct section_node *secs, size_t nsecs, const char *section_id)
{
	if (!section_id)
		return -1;
	for (size_t i = 0; i < nsecs; i++)
		if (strcmp(secs[i].sec->id, section_id) == 0)
			return (int32_t)i;
	return -1; /* a section we have not seen: show the pin at the board's top */
}

/* Names the pins of one folder (pins[] holds them oldest first) and fills their nodes. */
static int name_pins(struct built *o, struct pinrec **pins, size_t n, int32_t folder,
		     const char *const *reserved, const struct listing *l)
{
	struct name_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	unsigned *items = calloc(n ? n : 1, sizeof(*items));
	bool any = false;
	int result = -ENOMEM;

	if (!slots || !items)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *id = pinrec_id(pins[i]);

		slots[i] = (struct name_slot){pinrec_title(pins[i]), id, tree_name_reserve(pins[i]),
					      tree_kept_name(l, id), NULL};
		items[i] = pinrec_items(pins[i]);
		any = any || items[i];
	}
	result = names_assign_items(slots, n, reserved, any ? items : NULL);
	if (result)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct pin_node *pn = &o->pins[o->npins];
		const char *url = pinrec_image_url(pins[i]);

		/* Most titles are their own file names: those are not kept twice. */
		if (!slots[i].title || strcmp(slots[i].name, slots[i].title) != 0) {
			pn->name = slots[i].name;
			slots[i].name = NULL;
		}
		pn->rec = pins[i];
		pn->ext = tree_ext_of(pins[i]);
		pn->folder = folder;
		pn->size = url ? cache_size_get(url) : -1;
		pn->json_len = -1;
		pn->waited = false;
		pins[i] = NULL;
		o->npins++;
	}
out:
	for (size_t i = 0; slots && i < n; i++)
		free(slots[i].name);
	free(slots);
	free(items);
	return result;
}

/* Bases that pin names must not take because a section's name already has that form. */
const char **tree_section_reserved(const struct built *o)
{
	const char **r = calloc(o->nsecs + 1, sizeof(*r));

	if (!r)
		return NULL;
	for (size_t i = 0, k = 0; i < o->nsecs; i++) {
		const char *ext;
		size_t len = names_strip_ext(o->secs[i].dname, &ext);

		if (*ext)
			r[k++] = strndup(o->secs[i].dname, len);
	}
	return r;
}

/* Orders a folder's pin indexes by name. */
static int cmp_pin_name(const void *a, const void *b, void *ctx)
{
	const struct pin_node *pins = ctx;

	return strcmp(tree_pin_name(&pins[*(const uint32_t *)a]),
		      tree_pin_name(&pins[*(const uint32_t *)b]));
}

struct folder *tree_folder_of(struct section_node *secs, struct folder *top, int32_t folder)
{
	return folder < 0 ? top : &secs[folder].f;
}

/* Gives each folder the sorted indexes of its pins: counted first, so each array is
 * allocated once at its size. */
static int index_folders(struct built *o)
{
	for (size_t i = 0; i < o->npins; i++)
		tree_folder_of(o->secs, &o->top, o->pins[i].folder)->n++;
	for (size_t k = 0; k <= o->nsecs; k++) {
		struct folder *f = k < o->nsecs ? &o->secs[k].f : &o->top;

		f->pins = malloc((f->n ? f->n : 1) * sizeof(*f->pins));
		if (!f->pins)
			return -ENOMEM;
		f->n = 0;
	}
	for (size_t i = 0; i < o->npins; i++) {
		struct folder *f = tree_folder_of(o->secs, &o->top, o->pins[i].folder);

		f->pins[f->n++] = (uint32_t)i;
	}
	for (size_t k = 0; k <= o->nsecs; k++) {
		struct folder *f = k < o->nsecs ? &o->secs[k].f : &o->top;

		if (f->n > 1)
			qsort_r(f->pins, f->n, sizeof(*f->pins), cmp_pin_name, o->pins);
	}
	return 0;
}

/* Groups the listing's pins by folder, oldest first, and names each group. */
static int name_all_pins(struct built *o, struct listing *l)
{
	struct pinrec **group = malloc((l->npins ? l->npins : 1) * sizeof(*group));
	const char **reserved = tree_section_reserved(o);
	int result = -ENOMEM;

	o->pins = calloc(l->npins ? l->npins : 1, sizeof(*o->pins));
	if (!group || !reserved || !o->pins)
		goto out;
	tree_sort(l->pins, l->npins, sizeof(*l->pins), tree_cmp_pin_age);
	result = 0;
	for (int32_t folder = -1; !result && folder < (int32_t)o->nsecs; folder++) {
		size_t n = 0;

		for (size_t i = 0; i < l->npins; i++)
			if (l->pins[i] &&
			    tree_section_index(o->secs, o->nsecs, pinrec_section_id(l->pins[i])) ==
				folder)
				group[n++] = l->pins[i];
		result = name_pins(o, group, n, folder, folder < 0 ? reserved : NULL, l);
		/* name_pins took the pins it named: drop them from the listing. */
		for (size_t i = 0, k = 0; i < l->npins && k < n; i++)
			if (l->pins[i] &&
			    tree_section_index(o->secs, o->nsecs, pinrec_section_id(l->pins[i])) ==
				folder)
				l->pins[i] = group[k++];
	}
out:
	for (size_t i = 0; reserved && reserved[i]; i++)
		free((char *)reserved[i]);
	free(reserved);
	free(group);
	return result;
}

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

/* Moves every record and name of o into one allocation. A walk keeps 100 000 pins: one block
 * per board costs no malloc overhead per pin, and it is not scattered over the heap between
 * the pages' JSON freed meanwhile, which would keep the heap's pages from being given back. */
static int pack_pins(struct built *o)
{
	size_t total = 1, at = 0;

	for (size_t i = 0; i < o->npins; i++)
		total += ALIGN8(pinrec_bytes(o->pins[i].rec)) +
			 (o->pins[i].name ? strlen(o->pins[i].name) + 1 : 0);
	o->block = malloc(total);
	if (!o->block)
		return -ENOMEM;
	/* Records first, each at a multiple of 8 (they hold an int64_t), then the names. */
	for (size_t i = 0; i < o->npins; i++) {
		struct pin_node *pn = &o->pins[i];
		size_t len = pinrec_bytes(pn->rec);

		memcpy(o->block + at, pn->rec, len);
		free(pn->rec);
		pn->rec = (struct pinrec *)(void *)(o->block + at);
		at += ALIGN8(len);
	}
	for (size_t i = 0; i < o->npins; i++) {
		struct pin_node *pn = &o->pins[i];
		size_t len = pn->name ? strlen(pn->name) + 1 : 0;

		if (!len)
			continue;
		memcpy(o->block + at, pn->name, len);
		free(pn->name);
		pn->name = o->block + at;
		at += len;
	}
	return 0;
}

int tree_build(struct listing *l, struct built *o)
{
	int result;

	memset(o, 0, sizeof(*o));
	result = name_sections(o, l);
	if (!result)
		result = name_all_pins(o, l);
	if (!result)
		result = pack_pins(o);
	if (!result)
		result = index_folders(o);
	if (result)
		tree_folders_release(o->secs, o->nsecs, o->pins, o->npins, &o->top, o->block);
	return result;
}
