/* What a node is (tree_stat: kind, size, times, ids) and what a folder lists (tree_list,
 * tree_list_info), in the order rm -r needs. Part of the account tree: see tree_int.h. */
#include "tree_int.h"

#include "meta.h"
#include "walkorder.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int64_t json_len(const struct board_node *bn, struct pin_node *pn)
{
	if (pn->json_len < 0) {
		struct pin_view v;
		size_t n;

		pinrec_view(pn->rec, bn->b->id, &v);
		n = meta_pin_json_len(&v.pin);
		/* A sidecar beyond 2 GB would take a server sending as much per pin. */
		pn->json_len = (int32_t)(n < INT32_MAX ? n : INT32_MAX);
	}
	return pn->json_len;
}

static void copy_id(char *dst, const char *src)
{
	tree_join_cut(dst, TREE_ID_MAX + 1, src ? src : "", "");
}

/* boards/'s mtime: when a board last came, went or was renamed while mounted, else the newest
 * board's creation. Lock held. */
static time_t boards_mtime(void)
{
	time_t t = tree.boards_mtime;

	for (size_t i = 0; !tree.boards_mtime && i < tree.nboards; i++)
		if (tree.boards[i]->b->created > t)
			t = tree.boards[i]->b->created;
	return t ? t : tree.epoch + 1;
}

/* When the node at w last changed as far as the mount has seen (a sidecar's text, a folder's
 * names: carry_times and the tree_apply_* functions), else when what it shows was made. An
 * image keeps its pin's creation time: an image URL's bytes never change. Lock held. */
static time_t node_mtime(const struct where *w)
{
	const struct board_node *bn = w->bn;
	const struct folder *f;

	switch (w->type) {
	case NODE_BOARDS:
		return boards_mtime();
	case NODE_BOARD:
	case NODE_SECTION:
		f = w->type == NODE_BOARD ? &bn->top : &bn->secs[w->sec].f;
		return f->mtime ? f->mtime : bn->b->created;
	case NODE_BOARD_JSON:
		return bn->json_mtime ? bn->json_mtime : bn->b->created;
	case NODE_PIN_JSON:
		return w->pn->changed_at ? tree.epoch + (time_t)w->pn->changed_at
					 : pinrec_created(w->pn->rec);
	case NODE_PIN_IMAGE:
	case NODE_PIN_PART:
		return pinrec_created(w->pn->rec);
	default: /* the root, me.json (fetched again at each open), the others' folders */
		return time(NULL);
	}
}

int tree_fill_info(const struct where *w, struct node_info *out)
{
	tree_drop_forgotten_sizes();
	memset(out, 0, sizeof(*out));
	out->type = w->type;
	out->kind = S_IFREG;
	out->nlink = 1;
	out->mtime = node_mtime(w);
	switch (w->type) {
	case NODE_ROOT:
	case NODE_BOARDS:
	case NODE_OTHER:
		out->kind = S_IFDIR;
		out->nlink = 2;
		break;
	case NODE_ME_JSON: {
		char *text = meta_pretty(tree.account);

		if (!text)
			return -ENOMEM;
		out->size = (int64_t)strlen(text);
		free(text);
		break;
	}
	case NODE_BOARD:
	case NODE_SECTION:
		out->kind = S_IFDIR;
		out->nlink = w->type == NODE_SECTION ? 2 : 1;
		copy_id(out->board_id, w->bn->b->id);
		if (w->sec >= 0)
			copy_id(out->section_id, w->bn->secs[w->sec].sec->id);
		break;
	case NODE_BOARD_JSON: {
		char *text = meta_board_json(w->bn->b);

		if (!text)
			return -ENOMEM;
		out->size = (int64_t)strlen(text);
		free(text);
		copy_id(out->board_id, w->bn->b->id);
		break;
	}
	case NODE_PIN_IMAGE:
	case NODE_PIN_JSON:
	case NODE_PIN_PART:
		out->size = w->type == NODE_PIN_JSON ? json_len(w->bn, w->pn)
						     : tree_part_size(w->pn, w->part);
		if (out->size < -1)
			return (int)out->size;
		copy_id(out->board_id, w->bn->b->id);
		copy_id(out->section_id, pinrec_section_id(w->pn->rec));
		copy_id(out->pin_id, pinrec_id(w->pn->rec));
		break;
	}
	/* Everything in a SECRET board is its owner's alone (attr.c's modes). */
	out->secret = w->bn && w->bn->b->privacy && strcmp(w->bn->b->privacy, "SECRET") == 0;
	return 0;
}

int tree_stat(const char *path, bool want_size, struct node_info *out)
{
	struct where w;
	int result;

	pthread_mutex_lock(&tree.lock);
	for (;;) {
		result = tree_resolve(path, &w);
		if (result || !want_size || (w.type != NODE_PIN_IMAGE && w.type != NODE_PIN_PART) ||
		    tree_part_size(w.pn, w.part) >= 0 || w.f->sizes_tried)
			break;
		tree_learn_sizes(&w);
	}
	if (!result)
		result = tree_fill_info(&w, out);
	pthread_mutex_unlock(&tree.lock);
	return result;
}

/* Where a listing goes: names only (fill), or names with what a stat would say (fill_info).
 * No lock of its own: the lister's caller's alone, on its stack, used under tree.lock. */
struct lister {
	tree_fill_fn fill;
	tree_fill_info_fn fill_info;
	void *ctx;
	size_t skip, seen; /* entries to pass over, entries met so far */
};

/* Hands one entry to the lister. w locates it for fill_info (NULL: not described); an image
 * whose size is not known goes undescribed, as describing it would cost a HEAD. Lock held. */
static int emit(struct lister *l, const char *name, mode_t kind, const struct where *w)
{
	struct node_info info;

	if (l->seen++ < l->skip)
		return 0;
	if (!l->fill_info)
		return l->fill(l->ctx, name, kind);
	if (!w || tree_fill_info(w, &info))
		return l->fill_info(l->ctx, name, kind, NULL);
	return l->fill_info(l->ctx, name, kind, &info);
}

/* The files beside w's pin's main one, after it (a video's cover, a carousel's items): rm -r
 * meets them once the pin is gone with its main file, and removes them quietly (ghosts).
 * Non-zero when the lister stopped. Lock held. */
static int list_parts(struct where *w, struct lister *l, char *name, size_t len)
{
	unsigned n = pinrec_parts(w->pn->rec) ? tree_part_count(w->pn) : 0;

	w->type = NODE_PIN_PART;
	for (w->part = 1; w->part <= n; w->part++)
		if (tree_part_file(w->pn, w->part, name, len) && emit(l, name, S_IFREG, w))
			return 1;
	return 0;
}

/* Lists one folder of a board: .board.json and sections first, then each pin's image and the
 * files beside it just before its JSON. rm -r removes entries in this order, so it deletes a pin
 * through its image before it reaches the sidecar, which alone may not be removed. */
static int list_folder(struct board_node *bn, int32_t folder, struct lister *l)
{
	struct where w = {.bn = bn, .sec = folder};

	if (folder < 0) {
		w.type = NODE_BOARD_JSON;
		if (emit(l, ".board.json", S_IFREG, &w))
			return 0;
		w.type = NODE_SECTION;
		for (size_t i = 0; i < bn->nsecs; i++) {
			w.sec = (int32_t)i;
			if (emit(l, bn->secs[i].dname, S_IFDIR, &w))
				return 0;
		}
		w.sec = folder;
	}
	for (size_t i = 0; i < bn->npins; i++) {
		char name[NAME_MAX + 8];

		w.pn = &bn->pins[i];
		if (w.pn->folder != folder)
			continue;
		if (w.pn->ext) {
			w.type = NODE_PIN_IMAGE;
			w.part = 0;
			tree_pin_file(w.pn, false, name, sizeof(name));
			if (emit(l, name, S_IFREG, &w))
				return 0;
		}
		if (list_parts(&w, l, name, sizeof(name)))
			return 0;
		w.type = NODE_PIN_JSON;
		w.part = 0;
		tree_pin_file(w.pn, true, name, sizeof(name));
		if (emit(l, name, S_IFREG, &w))
			return 0;
	}
	return 0;
}

static int list_any(const char *path, struct lister *l)
{
	struct where w;
	int result;

	pthread_mutex_lock(&tree.lock);
	result = tree_resolve(path, &w);
	if (result)
		goto out;
	switch (w.type) {
	case NODE_ROOT:
		/* The router lists the root from its table (vfs/router.c). */
		break;
	case NODE_BOARDS: {
		struct where b = {.type = NODE_BOARD, .sec = -1};
		size_t *order;

		tree_note_boards_read();
		result = tree_ensure_boards();
		if (result)
			break;
		/* In walk_order: a walker starts with the shortest listings and meets the long
		 * ones last, listed ahead meanwhile. Without memory for it, the tree's order. */
		order = malloc((tree.nboards ? tree.nboards : 1) * sizeof(*order));
		if (order && tree_order_boards(NULL, tree.nboards, walk_order, order)) {
			free(order);
			order = NULL;
		}
		for (size_t i = 0; i < tree.nboards; i++) {
			b.bn = tree.boards[order ? order[i] : i];
			if (emit(l, b.bn->dname, S_IFDIR, &b))
				break;
		}
		free(order);
		break;
	}
	case NODE_BOARD:
		/* Noted before the listing: a walk's next boards are on their way while the
		 * walker waits for this one. */
		tree_note_board_read(w.bn);
		result = tree_ensure_listed(w.bn);
		if (!result)
			result = list_folder(w.bn, -1, l);
		break;
	case NODE_SECTION:
		result = list_folder(w.bn, w.sec, l);
		break;
	default:
		result = -ENOTDIR;
	}
out:
	pthread_mutex_unlock(&tree.lock);
	return result;
}

int tree_list(const char *path, size_t skip, tree_fill_fn fill, void *ctx, size_t *met)
{
	struct lister l = {.fill = fill, .ctx = ctx, .skip = skip};
	int result = list_any(path, &l);

	if (met)
		*met = l.seen;
	return result;
}

int tree_list_info(const char *path, size_t skip, tree_fill_info_fn fill, void *ctx, size_t *met)
{
	struct lister l = {.fill_info = fill, .ctx = ctx, .skip = skip};
	int result = list_any(path, &l);

	if (met)
		*met = l.seen;
	return result;
}
