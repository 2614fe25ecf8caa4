/* Local changes, installed at once after the API accepted them: boards, sections and pins made,
 * changed, moved or deleted (in place where tree_inplace.c can, else by building the board's
 * listing again from its own objects), a pin's extension, and the ghosts of deleted sidecars.
 * Part of the account tree: see tree_int.h. */
#include "tree_int.h"

#include "log.h"
#include "pinstore.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Gives every board its folder name again after the set of boards changed. Lock held. */
static int rename_boards(void)
{
	struct board_vec bv = {.n = tree.nboards, .cap = tree.nboards};
	bool differ = false;
	char **names;

	tree.changes++;
	tree.board_changes++;
	bv.v = malloc((tree.nboards ? tree.nboards : 1) * sizeof(*bv.v));
	if (!bv.v)
		return -ENOMEM;
	for (size_t i = 0; i < tree.nboards; i++)
		bv.v[i] = tree.boards[i]->b;
	names = tree_name_boards(&bv); /* sorts bv.v by age, names in that order */
	if (!names) {
		free(bv.v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < bv.n; i++) {
		struct board_node *bn = tree_find_board_id(bv.v[i]->id);

		differ |= strcmp(bn->dname, names[i]) != 0; /* a new board's is "" */
		free(bn->dname);
		bn->dname = names[i];
	}
	if (differ)
		tree.boards_mtime = time(NULL);
	tree_sort(tree.boards, tree.nboards, sizeof(*tree.boards), tree_cmp_node_dname);
	free(names);
	free(bv.v);
	return 0;
}

int tree_apply_board(const cJSON *json)
{
	struct board *b = board_from_json(json);
	struct board_node *bn, **grown;
	int result = 0;

	if (!b || !tree_id_ok(b->id)) {
		board_free(b);
		return -EIO;
	}
	pthread_mutex_lock(&tree.lock);
	bn = tree_find_board_id(b->id);
	if (bn) {
		tree_set_board(bn, b);
	} else if ((bn = calloc(1, sizeof(*bn))) &&
		   (grown = realloc(tree.boards, (tree.nboards + 1) * sizeof(*grown)))) {
		bn->b = b;
		bn->dname = strdup("");
		tree.boards = grown;
		tree.boards[tree.nboards++] = bn;
	} else {
		free(bn);
		board_free(b);
		result = -ENOMEM;
	}
	if (!result)
		result = rename_boards();
	pthread_mutex_unlock(&tree.lock);
	return result;
}

void tree_apply_board_gone(const char *board_id)
{
	pthread_mutex_lock(&tree.lock);
	for (size_t i = 0; i < tree.nboards; i++) {
		if (strcmp(tree.boards[i]->b->id, board_id) != 0)
			continue;
		tree_bury(tree.boards[i]);
		memmove(&tree.boards[i], &tree.boards[i + 1],
			(tree.nboards - i - 1) * sizeof(*tree.boards));
		tree.nboards--;
		tree.board_changes++;
		tree.boards_mtime = time(NULL);
		break;
	}
	pthread_mutex_unlock(&tree.lock);
}

/* Takes a listed board's objects back into a listing, so that a change can be made to them
 * and the board's folders named again by tree_build(). Lock held. */
static int to_listing(struct board_node *bn, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	l->secs = malloc((bn->nsecs + 1) * sizeof(*l->secs));
	l->pins = malloc((bn->npins + 1) * sizeof(*l->pins));
	if (!l->secs || !l->pins) {
		free(l->secs);
		free(l->pins);
		return -ENOMEM;
	}
	l->cap_secs = bn->nsecs + 1;
	l->cap_pins = bn->npins + 1;
	if (tree_keep_names(bn, l)) {
		tree_listing_release(l);
		return -ENOMEM;
	}
	/* Copies: the records live in the listing's block, which the rebuild frees. */
	for (size_t i = 0; i < bn->npins; i++) {
		l->pins[l->npins] = pinrec_dup(bn->pins[i].rec);
		if (!l->pins[l->npins]) {
			tree_listing_release(l);
			return -ENOMEM;
		}
		l->npins++;
	}
	/* Taken last: nothing fails after, so bn keeps them when anything above failed. */
	for (size_t i = 0; i < bn->nsecs; i++) {
		l->secs[l->nsecs++] = bn->secs[i].sec;
		bn->secs[i].sec = NULL;
	}
	return 0;
}

/* Names and indexes l again and makes it bn's listing; its age and stamp stay. Lock held. */
static int rebuild(struct board_node *bn, struct listing *l)
{
	struct built o;
	int result = tree_build(l, &o);

	tree_count_edit(bn);
	tree_listing_release(l);
	if (result) {
		/* The objects are gone: the next look at this board lists it again. */
		memset(&o, 0, sizeof(o));
		bn->listed = false;
	}
	tree_take_built(bn, &o);
	return result;
}

/* A listed board whose listing may be changed now: not being fetched by another thread.
 * Lock held; may wait. NULL when the board is unknown or not listed (nothing to change). */
static struct board_node *listed_board(const char *board_id)
{
	struct board_node *bn;

	for (;;) {
		bn = tree_find_board_id(board_id);
		if (!bn || !bn->listing.busy)
			break;
		flight_wait(&tree.lock, &tree.changed);
	}
	return bn && bn->listed ? bn : NULL;
}

static void drop_pin(struct listing *l, const char *pin_id)
{
	for (size_t i = 0; i < l->npins; i++) {
		if (strcmp(pinrec_id(l->pins[i]), pin_id) != 0)
			continue;
		free(l->pins[i]);
		l->pins[i] = l->pins[--l->npins];
		return;
	}
}

/* Removes a pin from a board's listing, or when p is given, puts p in its place (or adds it).
 * Takes p. Lock held. */
static int change_pins(struct board_node *bn, const char *pin_id, struct pinrec *p)
{
	size_t i = tree_pin_index(bn, pin_id);
	struct listing l;
	int result;

	if (!p) {
		if (i < bn->npins)
			tree_remove_pin(bn, i);
		return 0;
	}
	/* A pin new to the board (an upload, an mv's new board) goes in where it is, and so does
	 * a changed one that keeps its name and place; one whose name, folder or place may change
	 * (a new title, another section) makes the listing again. */
	if (i < bn->npins && tree_same_place(bn->pins[i].rec, p) && tree_replace_pin(bn, i, p) == 0)
		return 0;
	if (i == bn->npins) {
		result = tree_insert_pin(bn, p);
		if (result != -EAGAIN) {
			if (result)
				free(p);
			return result;
		}
	}
	result = to_listing(bn, &l);
	if (result) {
		free(p);
		return result;
	}
	drop_pin(&l, pin_id);
	l.pins[l.npins++] = p; /* to_listing left room for one more */
	return rebuild(bn, &l);
}

/* The pin keeps ext as its image's extension (a name given by its writer, or a rename): in
 * the per-pin store, which a remount reads too. */
static int remember_ext(const char *id, const char *title, const char *ext)
{
	struct pinstore_rec kept;
	char name[NAME_MAX + 1];
	int result;

	if (!tree_ext_index(ext))
		return 0; /* not an image extension pinfs names files with */
	snprintf(name, sizeof(name), "%.200s%s", title && *title ? title : id, ext);
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '_'; /* only the extension is read back */
	result = pinstore_get(id, &kept) == 0 ? pinstore_set_name(id, name)
					      : pinstore_put(id, name, NULL, NULL);
	if (result)
		log_warn("pin %s: its file's extension %s cannot be kept (%s)", id, ext,
			 strerror(-result));
	return 0;
}

int tree_apply_pin(const char *old_board_id, const cJSON *json, const char *ext)
{
	struct pin *p = pin_from_json(json, tree.image_size);
	struct pinrec *r = NULL;
	struct board_node *bn;
	int result = 0;

	if (!p || !tree_id_ok(p->id) || !p->board_id) {
		pin_free(p);
		return -EIO;
	}
	if (ext && p->image_url && tree_ext_index(ext) != tree_ext_for(p->id, p->image_url))
		result = remember_ext(p->id, p->title, ext);
	/* Packed against its own board: the listing it goes into. */
	if (!result && !(r = pinrec_pack(p, p->board_id)))
		result = -ENOMEM;
	pthread_mutex_lock(&tree.lock);
	if (!result && old_board_id && strcmp(old_board_id, p->board_id) != 0 &&
	    (bn = listed_board(old_board_id)))
		result = change_pins(bn, p->id, NULL);
	bn = result ? NULL : listed_board(p->board_id);
	if (bn) {
		result = change_pins(bn, p->id, r);
		r = NULL;
		if (!result)
			tree_touch_pin(bn, p->id);
	}
	pthread_mutex_unlock(&tree.lock);
	free(r);
	pin_free(p);
	return result;
}

int tree_pin_ext(const char *board_id, const char *pin_id, const char *ext)
{
	char title[NAME_MAX + 1];
	struct board_node *bn;
	size_t i;
	uint8_t e = tree_ext_index(ext);

	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&tree.lock);
	bn = listed_board(board_id);
	i = bn ? tree_pin_index(bn, pin_id) : 0;
	if (!bn || i == bn->npins || !bn->pins[i].ext) {
		pthread_mutex_unlock(&tree.lock);
		return -ENOENT;
	}
	snprintf(title, sizeof(title), "%s",
		 pinrec_title(bn->pins[i].rec) ? pinrec_title(bn->pins[i].rec) : "");
	bn->pins[i].ext = e;
	/* The pin's path changed: a new version of the account's pins (pins/ links to it). */
	tree_count_edit(bn);
	pthread_mutex_unlock(&tree.lock);
	remember_ext(pin_id, title, ext);
	return 0;
}

static void add_ghost(const char *path)
{
	struct ghost *g = realloc(tree.ghosts, (tree.nghosts + 1) * sizeof(*g));

	if (!g)
		return;
	tree.ghosts = g;
	g[tree.nghosts].path = strdup(path);
	g[tree.nghosts].until = tree_now() + GHOST_LIFE_S;
	if (g[tree.nghosts].path)
		tree.nghosts++;
}

/* The index of a live ghost at path, or -1; drops expired ones on the way. Lock held. */
static ssize_t find_ghost(const char *path)
{
	double now = tree_now();

	for (size_t i = 0; i < tree.nghosts;) {
		if (tree.ghosts[i].until < now) {
			free(tree.ghosts[i].path);
			tree.ghosts[i] = tree.ghosts[--tree.nghosts];
			continue;
		}
		if (strcmp(tree.ghosts[i].path, path) == 0)
			return (ssize_t)i;
		i++;
	}
	return -1;
}

bool tree_ghost(const char *path, bool take)
{
	ssize_t i;

	pthread_mutex_lock(&tree.lock);
	i = find_ghost(path);
	if (i >= 0 && take) {
		free(tree.ghosts[i].path);
		tree.ghosts[i] = tree.ghosts[--tree.nghosts];
	}
	pthread_mutex_unlock(&tree.lock);
	return i >= 0;
}

void tree_apply_pin_gone(const char *board_id, const char *pin_id)
{
	struct board_node *bn;
	char path[PATH_MAX], name[NAME_MAX + 8];
	size_t i;

	pthread_mutex_lock(&tree.lock);
	bn = listed_board(board_id);
	if (bn && (i = tree_pin_index(bn, pin_id)) < bn->npins) {
		struct pin_node *pn = &bn->pins[i];

		unsigned parts = tree_part_count(pn);

		/* The sidecar, and the files beside the main one: rm -r meets them next. */
		for (unsigned part = 0; part <= parts; part++) {
			if (part == 0)
				tree_pin_file(pn, true, name, sizeof(name));
			else if (!tree_part_file(pn, part, name, sizeof(name)))
				continue;
			snprintf(path, sizeof(path), "/boards/%s%s%s/%s", bn->dname,
				 pn->folder < 0 ? "" : "/",
				 pn->folder < 0 ? "" : bn->secs[pn->folder].dname, name);
			add_ghost(path);
		}
		tree_remove_pin(bn, i);
	}
	pthread_mutex_unlock(&tree.lock);
}

int tree_apply_section(const char *board_id, const cJSON *json)
{
	struct section *sec = section_from_json(json);
	struct board_node *bn;
	struct listing l;
	int result = 0;

	if (!sec || !tree_id_ok(sec->id)) {
		section_free(sec);
		return -EIO;
	}
	pthread_mutex_lock(&tree.lock);
	bn = listed_board(board_id);
	if (bn && !(result = to_listing(bn, &l))) {
		size_t i = 0;

		while (i < l.nsecs && strcmp(l.secs[i]->id, sec->id) != 0)
			i++;
		if (i < l.nsecs)
			section_free(l.secs[i]);
		else
			l.nsecs++; /* to_listing left room for one more */
		l.secs[i] = sec;
		sec = NULL;
		result = rebuild(bn, &l);
	}
	pthread_mutex_unlock(&tree.lock);
	section_free(sec);
	return result;
}

void tree_apply_section_gone(const char *board_id, const char *section_id)
{
	struct board_node *bn;
	struct listing l;

	pthread_mutex_lock(&tree.lock);
	bn = listed_board(board_id);
	if (bn && !to_listing(bn, &l)) {
		for (size_t i = 0; i < l.nsecs; i++) {
			if (strcmp(l.secs[i]->id, section_id) != 0)
				continue;
			section_free(l.secs[i]);
			l.secs[i] = l.secs[--l.nsecs];
			break;
		}
		/* Pinterest deletes a section's pins with it. */
		for (size_t i = 0; i < l.npins;) {
			const char *in = pinrec_section_id(l.pins[i]);

			if (in && strcmp(in, section_id) == 0) {
				free(l.pins[i]);
				l.pins[i] = l.pins[--l.npins];
			} else {
				i++;
			}
		}
		rebuild(bn, &l);
	}
	pthread_mutex_unlock(&tree.lock);
}
