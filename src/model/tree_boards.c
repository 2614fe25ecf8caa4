/* boards/: the list of boards fetched (GET /boards through the listing source), tidied, named
 * by age and installed, keeping each known board's node and listing; and the same list fetched
 * beside the token check while mounting (tree_preload_start). Part of the account tree: see
 * tree_int.h. */
#include "tree_int.h"

#include "bg.h"
#include "log.h"
#include "meta.h"
#include "names.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int collect_board(const cJSON *it, void *ctx)
{
	struct board_vec *bv = ctx;
	struct board *b = board_from_json(it);

	bv->items++;
	if (!b || !tree_id_ok(b->id)) {
		bv->skips++;
		board_free(b);
		return 0;
	}
	if (!tree_grow((void **)&bv->v, &bv->cap, bv->n, sizeof(*bv->v))) {
		board_free(b);
		return -ENOMEM;
	}
	bv->v[bv->n++] = b;
	return 0;
}

static int cmp_board_age(const void *a, const void *b)
{
	const struct board *x = *(struct board *const *)a, *y = *(struct board *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

int tree_cmp_node_dname(const void *a, const void *b)
{
	return strcmp((*(struct board_node *const *)a)->dname,
		      (*(struct board_node *const *)b)->dname);
}

struct board_node *tree_find_board_id(const char *id)
{
	for (size_t i = 0; i < tree.nboards; i++)
		if (strcmp(tree.boards[i]->b->id, id) == 0)
			return tree.boards[i];
	return NULL;
}

struct board_node *tree_find_board_name(const char *dname)
{
	struct board_node key = {.dname = (char *)dname}, *kp = &key, **hit;

	hit = tree.nboards ? bsearch(&kp, tree.boards, tree.nboards, sizeof(*tree.boards),
				     tree_cmp_node_dname)
			   : NULL;
	return hit ? *hit : NULL;
}

void tree_bury(struct board_node *bn)
{
	struct board_node **d = realloc(tree.dead, (tree.ndead + 1) * sizeof(*d));

	bn->gone = true;
	if (!d)
		return; /* it leaks until exit; it is never used again */
	tree.dead = d;
	tree.dead[tree.ndead++] = bn;
}

/* bn's board becomes b (taken): .board.json changed now when its text is not the same. Lock
 * held. */
void tree_set_board(struct board_node *bn, struct board *b)
{
	char *was = bn->b ? meta_board_json(bn->b) : NULL;
	char *is = bn->b ? meta_board_json(b) : NULL;

	/* Out of memory, it is taken as changed: a copy made again beats one left behind. */
	if (bn->b && (!was || !is || strcmp(was, is) != 0))
		bn->json_mtime = time(NULL);
	free(was);
	free(is);
	board_free(bn->b);
	bn->b = b;
}

/* Swaps in a new list of boards, keeping each known board's node (and its listing). Takes
 * the boards; names are given (one per board, same order). Lock held. */
static int install_boards(struct board_vec *bv, char **names)
{
	struct board_node **nodes = calloc(bv->n ? bv->n : 1, sizeof(*nodes));
	bool differ = bv->n != tree.nboards; /* boards/'s names: see boards_mtime */

	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < bv->n; i++) {
		struct board_node *bn = tree_find_board_id(bv->v[i]->id);

		if (!bn && !(bn = calloc(1, sizeof(*bn)))) {
			for (size_t k = 0; k < i; k++)
				if (!nodes[k]->b)
					free(nodes[k]);
			free(nodes);
			return -ENOMEM;
		}
		nodes[i] = bn;
	}
	for (size_t i = 0; i < tree.nboards; i++) {
		bool kept = false;

		for (size_t k = 0; k < bv->n && !kept; k++)
			kept = nodes[k] == tree.boards[i];
		if (!kept)
			tree_bury(tree.boards[i]);
	}
	for (size_t i = 0; i < bv->n; i++) {
		differ |= !nodes[i]->b || strcmp(nodes[i]->dname, names[i]) != 0;
		tree_set_board(nodes[i], bv->v[i]);
		free(nodes[i]->dname);
		nodes[i]->dname = names[i];
		names[i] = NULL;
		bv->v[i] = NULL;
	}
	if (differ && tree.boards_seen)
		tree.boards_mtime = time(NULL);
	tree.boards_seen = true;
	free(tree.boards);
	tree.boards = nodes;
	tree.nboards = bv->n;
	tree_sort(tree.boards, tree.nboards, sizeof(*tree.boards), tree_cmp_node_dname);
	return 0;
}

static const char *board_id_at(const void *ctx, size_t i)
{
	return ((const struct board_vec *)ctx)->v[i]->id;
}

/* GET /boards's pages are in: what could not be used is said, repeated ids are dropped.
 * Here, not in the walk: the walk made while mounting runs with its thread's log quieted
 * (its failures are the token check's to tell), and this runs where its list is installed. */
static int tidy_boards(struct board_vec *bv)
{
	bool *gone = calloc(bv->n + 1, sizeof(*gone));
	long repeats = gone ? tree_mark_repeats(bv->n, board_id_at, bv, gone) : -ENOMEM;
	size_t kept = 0;

	tree_say_skipped("/boards", "a board without a usable id or name", bv->skips, bv->items);
	bv->skips = bv->items = 0; /* said once */
	for (size_t i = 0; repeats >= 0 && i < bv->n; i++) {
		if (gone[i] && repeats > 0) {
			tree_say_repeats("/boards", repeats, "board", bv->v[i]->id);
			repeats = 0;
		}
		if (gone[i])
			board_free(bv->v[i]);
		else
			bv->v[kept++] = bv->v[i];
	}
	if (repeats >= 0)
		bv->n = kept;
	free(gone);
	return repeats < 0 ? (int)repeats : 0;
}

/* Names bv's boards (sorting them by age). A list tree_fresh from GET /boards (its items counted)
 * is tidied first. NULL when out of memory. */
char **tree_name_boards(struct board_vec *bv)
{
	struct name_slot *slots = NULL;
	char **names = NULL;

	if (bv->items && tidy_boards(bv))
		return NULL;
	slots = calloc(bv->n ? bv->n : 1, sizeof(*slots));
	names = calloc(bv->n ? bv->n : 1, sizeof(*names));
	if (!slots || !names)
		goto fail;
	tree_sort(bv->v, bv->n, sizeof(*bv->v), cmp_board_age);
	for (size_t i = 0; i < bv->n; i++)
		slots[i] = (struct name_slot){.title = bv->v[i]->name, .id = bv->v[i]->id};
	if (names_assign(slots, bv->n, NULL))
		goto fail;
	for (size_t i = 0; i < bv->n; i++)
		names[i] = slots[i].name;
	free(slots);
	return names;
fail:
	free(slots);
	free(names);
	return NULL;
}

/* Makes the list of boards tree_fresh. Lock held on entry and on return; dropped meanwhile. */
int tree_ensure_boards(void)
{
	struct board_vec bv = {0};
	char **names = NULL;
	uint64_t changes;
	bool stale;
	int result;

	while (tree.boards_listing.busy)
		flight_wait(&tree.lock, &tree.changed);
	if (tree.boards_listed && tree_fresh(tree.boards_at))
		return 0;
	flight_take(&tree.boards_listing, &tree.lock, &tree.changed); /* not busy: ours */
	changes = tree.board_changes;
	pthread_mutex_unlock(&tree.lock);
	result = tree_source_list("/boards", true, collect_board, &bv);
	if (!result && !(names = tree_name_boards(&bv)))
		result = -ENOMEM;
	pthread_mutex_lock(&tree.lock);
	stale = tree.board_changes != changes;
	if (!result && stale && tree.boards_listed) {
		/* A board was made, renamed or removed here while the list was on its way: the
		 * list may predate it (mv of a board, then rm in it, would find the old name).
		 * The boards as they are now stand; the next look asks again. */
		log_debug("boards changed while listed: the list is asked again at the next look");
	} else if (!result) {
		result = install_boards(&bv, names);
		if (!result && !stale) {
			tree.boards_listed = true;
			tree.boards_at = tree_now();
		}
	} else if (tree.boards_listed && (result == -EIO || result == -EAGAIN)) {
		/* The server is down or overloaded: the boards and listings as last seen beat an
		 * error (ls of a cached folder answers offline); asked for again after a TTL. */
		log_info("keeping the boards as last listed: %s", strerror(-result));
		tree.boards_at = tree_now();
		result = 0;
	}
	flight_land(&tree.boards_listing, &tree.changed);
	for (size_t i = 0; i < bv.n; i++) {
		board_free(bv.v[i]);
		if (names)
			free(names[i]);
	}
	free(names);
	free(bv.v);
	return result;
}

/* ---- boards/ listed while the token is checked ----
 *
 * No lock: started and fetch are the mounting thread's (tree_preload_start, then tree_init or
 * tree_preload_cancel, before the mount serves anything); result and bv are written by the
 * preload (in a thread beside, or in the mounting thread when none could start) and read by the
 * mounting thread only after bg_join. */
static struct {
	struct bg_beside fetch;
	bool started;
	int result;
	struct board_vec bv;
} preload;

static void preload_run(void *arg)
{
	(void)arg;
	/* A failure here (a bad token, the server down) is the check's to report. */
	log_quiet_thread(true);
	preload.result = tree_source_list("/boards", true, collect_board, &preload.bv);
	/* Run in the mounting thread itself when no thread could start: its log speaks again. */
	log_quiet_thread(false);
}

void tree_preload_start(void)
{
	preload.result = -ENODATA;
	preload.started = true;
	bg_beside(&preload.fetch, preload_run, NULL);
}

/* Waits for the preload and gives back what it held; its boards when it listed them all. */
static int preload_end(struct board_vec *bv)
{
	int result = -ENODATA;

	if (preload.started) {
		bg_join(&preload.fetch);
		preload.started = false;
		result = preload.result;
	}
	*bv = preload.bv;
	preload.bv = (struct board_vec){0};
	return result;
}

static void board_vec_free(struct board_vec *bv, char **names)
{
	for (size_t i = 0; i < bv->n; i++) {
		board_free(bv->v[i]);
		if (names)
			free(names[i]);
	}
	free(names);
	free(bv->v);
}

void tree_preload_cancel(void)
{
	struct board_vec bv;

	preload_end(&bv);
	board_vec_free(&bv, NULL);
}

/* The preload's boards become boards/'s listing, as tree_ensure_boards would make it. */
void tree_preload_install(void)
{
	struct board_vec bv;
	char **names = NULL;

	if (preload_end(&bv) == 0 && (names = tree_name_boards(&bv)) != NULL) {
		pthread_mutex_lock(&tree.lock);
		if (install_boards(&bv, names) == 0) {
			tree.boards_listed = true;
			tree.boards_at = tree_now();
		}
		pthread_mutex_unlock(&tree.lock);
	}
	board_vec_free(&bv, names);
}
