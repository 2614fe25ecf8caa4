/* A board's listing made fresh (tree_ensure_listed) and installed in its node: the one before
 * it tells when each file changed (carry_times), and a listing that a local change may have
 * overtaken is dropped. Part of the account tree: see tree_int.h. */
#include "tree_int.h"

#include "http.h"
#include "log.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frees the records and names tree_insert_pin added beside bn's block. Lock held. */
void tree_loose_release(struct board_node *bn)
{
	for (size_t i = 0; i < bn->nloose; i++)
		free(bn->loose[i]);
	free(bn->loose);
	bn->loose = NULL;
	bn->nloose = 0;
}

/* bn's pins' indexes are no longer those its size sweeps under way hold: each sweep sees the
 * generation move and writes no size through its old ones. Lock held. */
void tree_new_generation(struct board_node *bn)
{
	bn->gen++;
	bn->old_sweeps = bn->sweeps;
}

/* A pin was made, moved or deleted here: a listing on its way may predate it (tree_ensure_listed),
 * and the account's pins have a new version (tree_pins_version). Lock held. */
void tree_count_edit(struct board_node *bn)
{
	tree.changes++;
	bn->edits++;
}

/* Whether two records of a pin of bn render the same sidecar: every field of their views
 * agrees. Not a memcmp of pinrec_bytes: a record's strings begin inside struct pinrec's tail
 * padding, which pinrec_bytes counts, so its last bytes are never written. Lock held. */
static bool same_record(const struct board_node *bn, const struct pinrec *a, const struct pinrec *b)
{
	struct pin_view x, y;
	const struct pin *p = &x.pin, *q = &y.pin;

	if (pinrec_created(a) != pinrec_created(b))
		return false;
	pinrec_view(a, bn->b->id, &x);
	pinrec_view(b, bn->b->id, &y);
	return p->width == q->width && p->height == q->height && tree_same_str(p->id, q->id) &&
	       tree_same_str(p->board_id, q->board_id) &&
	       tree_same_str(p->section_id, q->section_id) && tree_same_str(p->title, q->title) &&
	       tree_same_str(p->description, q->description) && tree_same_str(p->link, q->link) &&
	       tree_same_str(p->alt_text, q->alt_text) &&
	       tree_same_str(p->dominant_color, q->dominant_color) &&
	       tree_same_str(p->creative_type, q->creative_type) &&
	       tree_same_str(p->media_type, q->media_type) &&
	       tree_same_str(p->created_at, q->created_at) &&
	       tree_same_str(p->image_url, q->image_url) && tree_same_str(p->size_key, q->size_key);
}

/* Carries into f, a folder of o, the times of was, the folder of bn it follows (NULL: none).
 * Both are sorted by name, so they are merged without a look-up per pin: a pin under a name
 * was has keeps its changed_at while its record says the same, else gets stamp; a pin under a
 * new name (new, moved in, retitled) gets stamp. When the names differ, f changed now. Lock
 * held. */
static void carry_folder(const struct board_node *bn, const struct folder *was, struct built *o,
			 struct folder *f, uint32_t stamp)
{
	size_t i = 0, n = was ? was->n : 0;
	bool differ = !was;

	for (size_t j = 0; j < f->n; j++) {
		struct pin_node *pn = &o->pins[f->pins[j]];
		const struct pin_node *old = NULL;
		int c = 1;

		while (i < n && (c = strcmp(tree_pin_name(&bn->pins[was->pins[i]]),
					    tree_pin_name(pn))) < 0) {
			differ = true; /* a name gone */
			i++;
		}
		if (i < n && c == 0)
			old = &bn->pins[was->pins[i++]];
		differ |= !old;
		pn->changed_at =
		    old && same_record(bn, old->rec, pn->rec) ? old->changed_at : stamp;
	}
	differ |= i < n;
	f->mtime = differ ? time(NULL) : was->mtime;
}

/* Carries into o, the listing about to replace bn's, when bn's files changed, and notes what
 * differs: a sidecar whose record says something else, a folder whose names are not the same
 * (a pin or a section come, gone or renamed). Sections are matched by folder name: one under a
 * new name is a new folder (a rebuild has taken the old ones' objects). Lock held. */
static void carry_times(const struct board_node *bn, struct built *o)
{
	uint32_t stamp = tree_change_stamp();
	bool differ = o->nsecs != bn->nsecs;

	for (size_t k = 0; k < o->nsecs; k++) {
		int32_t was = tree_find_section(bn, o->secs[k].dname);

		differ |= was < 0;
		carry_folder(bn, was < 0 ? NULL : &bn->secs[was].f, o, &o->secs[k].f, stamp);
	}
	carry_folder(bn, &bn->top, o, &o->top, stamp);
	if (differ)
		o->top.mtime = time(NULL);
}

/* Frees bn's listing and makes o its new one, which learns from the one before when its files
 * changed. Lock held. */
void tree_take_built(struct board_node *bn, struct built *o)
{
	if (bn->seen)
		carry_times(bn, o);
	bn->seen = true;
	tree_folders_release(bn->secs, bn->nsecs, bn->pins, bn->npins, &bn->top, bn->block);
	tree_loose_release(bn);
	bn->secs = o->secs;
	bn->nsecs = o->nsecs;
	bn->pins = o->pins;
	bn->npins = o->npins;
	bn->top = o->top;
	bn->block = o->block;
	tree_new_generation(bn);
}

static void install_listing(struct board_node *bn, struct built *o, char *stamp)
{
	tree_take_built(bn, o);
	free(bn->stamp);
	bn->stamp = stamp;
	bn->listed = true;
	bn->listed_at = tree_now();
}

/* The board's pins modified stamp is unchanged since its listing: the listing still holds. */
static bool unchanged(const struct board_node *bn)
{
	return bn->stamp && bn->b->pins_modified_at &&
	       strcmp(bn->stamp, bn->b->pins_modified_at) == 0;
}

/* Makes bn's listing tree_fresh. Lock held on entry and on return; dropped meanwhile. */
int tree_ensure_listed(struct board_node *bn)
{
	struct listing l = {0};
	struct built o;
	char id[TREE_ID_MAX + 1], *stamp;
	unsigned edits;
	int result;

	for (;;) {
		while (bn->listing.busy)
			flight_wait(&tree.lock, &tree.changed);
		if (bn->gone)
			return -ENOENT;
		if (bn->listed && tree_fresh(bn->listed_at))
			return 0;
		if (!bn->listed)
			break;
		/* One GET /boards page tells whether this board changed at all. */
		result = tree_ensure_boards();
		if (result)
			return result;
		if (bn->listing.busy)
			continue;
		if (bn->gone)
			return -ENOENT;
		if (!unchanged(bn))
			break;
		bn->listed_at = tree_now();
		return 0;
	}
	flight_take(&bn->listing, &tree.lock, &tree.changed); /* not busy: ours */
	snprintf(id, sizeof(id), "%s", bn->b->id);
	if (bn->listed && tree_keep_names(bn, &l)) {
		flight_land(&bn->listing, &tree.changed);
		tree_listing_release(&l);
		return -ENOMEM;
	}
	stamp = bn->b->pins_modified_at ? strdup(bn->b->pins_modified_at) : NULL;
	edits = bn->edits;
	pthread_mutex_unlock(&tree.lock);

	result = tree_fetch_listing(id, &l);
	if (!result)
		result = tree_build(&l, &o);
	tree_listing_release(&l);
	/* The pages' JSON and the listing's objects were the biggest blocks freed: give their
	 * pages back, or they stay in the process's size after a walk of every board. */
	malloc_trim(0);

	pthread_mutex_lock(&tree.lock);
	flight_land(&bn->listing, &tree.changed);
	if (result) {
		if (!http_cancelled())
			log_warn("cannot list board %s: %s", id, strerror(-result));
		free(stamp);
		return result;
	}
	if (bn->listed && bn->edits != edits) {
		/* A pin was made, moved or deleted here while the listing was on its way: the
		 * listing may predate it (cp, then rm of the copy, would not find it). The
		 * listing as it is now stands, and is asked for again at the next look. */
		tree_folders_release(o.secs, o.nsecs, o.pins, o.npins, &o.top, o.block);
		free(stamp);
		return bn->gone ? -ENOENT : 0;
	}
	install_listing(bn, &o, stamp);
	return bn->gone ? -ENOENT : 0;
}
