/* Walks: find, grep -r and ls -R list every board; list them side by side. A walk is seen
 * from its readdirs (boards/, then a second board soon after another), and the boards not
 * fresh yet are listed ahead by a few workers, in the order walkorder.h gives. Part of the
 * account tree: see tree_int.h. */
#include "tree_int.h"

#include "api.h"
#include "bg.h"
#include "http.h"
#include "log.h"
#include "walkorder.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_WINDOW_S	 2.0 /* two boards listed this close together after boards/: a walk */
#define PREFETCH_WORKERS 8   /* each lists sections and pins at once: 16 requests in flight */

/* The walk seen and the prefetch it started. tree.lock guards every field but group, which
 * guards itself (bg.h). */
static struct {
	double boards_read_at; /* readdir of boards/ */
	double board_read_at;  /* the last readdir of a board */
	char board_id[TREE_ID_MAX + 1];
	double started_at;
	bool running;		      /* a prefetch is under way */
	struct bg_group group;	      /* the prefetch task: one at a time */
	char (*ids)[TREE_ID_MAX + 1]; /* the boards to list, taken in order by the workers */
	size_t nids, next;
} walk = {.group = BG_GROUP_INIT};

/* One of the prefetch's workers: takes the next board to list until none is left or the tree
 * stops. */
static void prefetch_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tree.lock);
	while (!bg_stopping(&walk.group) && walk.next < walk.nids) {
		struct board_node *bn = tree_find_board_id(walk.ids[walk.next++]);

		/* tree_ensure_listed drops the lock while it fetches: the workers overlap. */
		if (bn && !(bn->listed && tree_fresh(bn->listed_at)))
			tree_ensure_listed(bn);
	}
	pthread_mutex_unlock(&tree.lock);
}

/* The prefetch: PREFETCH_WORKERS at once, this task's thread one of them. */
static void prefetch_run(void *arg)
{
	(void)arg;
	bg_parallel(PREFETCH_WORKERS - 1, prefetch_worker, NULL);
	/* Detached: its connections go before the group says it ended (http.h). */
	http_thread_end();
	pthread_mutex_lock(&tree.lock);
	walk.running = false;
	pthread_mutex_unlock(&tree.lock);
}

/* The pages of a board's pin listing, which come one after another. */
static long board_pages(const struct board_node *bn)
{
	long pins = bn->b->pin_count > 0 ? bn->b->pin_count : 0;

	return (pins + API_PAGE_SIZE - 1) / API_PAGE_SIZE;
}

/* Fills order with the indices of the n boards of tree.boards that at[0..n) names, in the order
 * how (walk_order or prefetch_order) gives for their pages. Lock held. -ENOMEM, or 0. */
int tree_order_boards(const size_t *at, size_t n, void (*how)(const long *, size_t, size_t *),
		      size_t *order)
{
	long *pages = calloc(n ? n : 1, sizeof(*pages));

	if (!pages)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		pages[i] = board_pages(tree.boards[at ? at[i] : i]);
	how(pages, n, order);
	for (size_t i = 0; at && i < n; i++)
		order[i] = at[order[i]];
	free(pages);
	return 0;
}

/* Lists in the background every board not tree_fresh yet but own, which its reader lists, in
 * prefetch_order (walkorder.h): the longest two first, whose chains of pages would end the
 * walk alone if started at their turn, then the walker's order. Lock held. */
static void prefetch_boards(const struct board_node *own)
{
	size_t *todo = calloc(tree.nboards ? tree.nboards : 1, sizeof(*todo));
	size_t *order = malloc((tree.nboards ? tree.nboards : 1) * sizeof(*order));
	size_t n = 0;

	free(walk.ids);
	walk.ids = malloc((tree.nboards ? tree.nboards : 1) * sizeof(*walk.ids));
	walk.nids = walk.next = 0;
	if (!walk.ids || !todo || !order)
		goto out;
	for (size_t i = 0; i < tree.nboards; i++)
		if (!(tree.boards[i]->listed && tree_fresh(tree.boards[i]->listed_at)) &&
		    !tree.boards[i]->listing.busy && tree.boards[i] != own)
			todo[n++] = i;
	if (tree_order_boards(todo, n, prefetch_order, order))
		goto out;
	for (size_t i = 0; i < n; i++)
		snprintf(walk.ids[walk.nids++], TREE_ID_MAX + 1, "%s",
			 tree.boards[order[i]]->b->id);
out:
	free(order);
	free(todo);
	if (!walk.nids)
		return;
	walk.running = true;
	walk.started_at = tree_now();
	if (bg_spawn(&walk.group, prefetch_run, NULL) == 0)
		log_debug("walk seen: listing %zu boards ahead", walk.nids);
	else
		walk.running = false;
}

/* A walk seen at time now, whose walker reads bn: the other boards are listed ahead, when
 * boards/ was read within the TTL and no walk runs or began within it. Lock held. */
static void walk_seen(const struct board_node *bn, double now)
{
	if (now - walk.boards_read_at < tree.ttl && !walk.running &&
	    now - walk.started_at >= tree.ttl)
		prefetch_boards(bn);
}

/* Notes a readdir of a board. A second board read soon after another, after boards/ itself
 * was read, is a walk: the rest of the boards are listed ahead, side by side, instead of one
 * after another as the walker reaches them. A single `ls boards/X` lists nothing more. Lock
 * held. */
void tree_note_board_read(const struct board_node *bn)
{
	double now = tree_now();
	bool walking =
	    now - walk.board_read_at < WALK_WINDOW_S && strcmp(walk.board_id, bn->b->id) != 0;

	walk.board_read_at = now;
	snprintf(walk.board_id, sizeof(walk.board_id), "%s", bn->b->id);
	if (walking)
		walk_seen(bn, now);
}

/* Ends the prefetch: its workers stop at their next board. Then the group may start one again,
 * for a new mount in this process (the tests'). Lock not held: the workers take it to end. */
void tree_prefetch_stop(void)
{
	bg_stop(&walk.group);
	pthread_mutex_lock(&tree.lock);
	free(walk.ids);
	walk.ids = NULL;
	walk.nids = walk.next = 0;
	pthread_mutex_unlock(&tree.lock);
	bg_resume(&walk.group);
}

/* Notes a readdir of boards/: a walk is seen from the boards read within the TTL after it.
 * Lock held. */
void tree_note_boards_read(void)
{
	walk.boards_read_at = tree_now();
}

void tree_walk_from(const char *path)
{
	struct where w;

	pthread_mutex_lock(&tree.lock);
	if (tree_resolve(path, &w) == 0 && w.type == NODE_BOARD)
		walk_seen(w.bn, tree_now());
	pthread_mutex_unlock(&tree.lock);
}
