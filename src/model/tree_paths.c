/* Paths from ids for the folders built from the pins (pins/, search/): a board's and a pin's
 * path, every pin of a board, and the version that tells when they may have changed. Part of
 * the account tree: see tree_int.h. */
#include "tree_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

int tree_board_path(const char *board_id, char *buf, size_t len)
{
	struct board_node *bn;
	int result;

	pthread_mutex_lock(&tree.lock);
	result = tree_ensure_boards();
	if (!result) {
		bn = tree_find_board_id(board_id);
		if (!bn)
			result = -ENOENT;
		else if (snprintf(buf, len, "boards/%s", bn->dname) >= (int)len)
			result = -ENAMETOOLONG;
	}
	pthread_mutex_unlock(&tree.lock);
	return result;
}

/* The path of a pin's image (or JSON) from the mount's root. Lock held. */
static int format_pin_path(const struct board_node *bn, const struct pin_node *pn, char *buf,
			   size_t len)
{
	char name[NAME_MAX + 8];

	tree_pin_file(pn, !pn->ext, name, sizeof(name));
	if (snprintf(buf, len, "boards/%s%s%s/%s", bn->dname, pn->folder < 0 ? "" : "/",
		     pn->folder < 0 ? "" : bn->secs[pn->folder].dname, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int tree_pin_path(const char *board_id, const char *pin_id, char *buf, size_t len)
{
	struct board_node *bn;
	struct pin_node *pn = NULL;
	int result;

	pthread_mutex_lock(&tree.lock);
	result = tree_ensure_boards();
	if (result)
		goto out;
	bn = tree_find_board_id(board_id);
	result = bn ? tree_ensure_listed(bn) : -ENOENT;
	if (result)
		goto out;
	for (size_t i = 0; i < bn->npins && !pn; i++)
		if (strcmp(pinrec_id(bn->pins[i].rec), pin_id) == 0)
			pn = &bn->pins[i];
	if (!pn) {
		result = -ENOENT;
		goto out;
	}
	result = format_pin_path(bn, pn, buf, len);
out:
	pthread_mutex_unlock(&tree.lock);
	return result;
}

int tree_board_pins(const char *board_id, tree_pin_fn fn, void *ctx)
{
	struct board_node *bn;
	char path[PATH_MAX];
	int result;

	pthread_mutex_lock(&tree.lock);
	result = tree_ensure_boards();
	if (result)
		goto out;
	bn = tree_find_board_id(board_id);
	result = bn ? tree_ensure_listed(bn) : -ENOENT;
	for (size_t i = 0; !result && i < bn->npins; i++)
		if (format_pin_path(bn, &bn->pins[i], path, sizeof(path)) == 0 &&
		    fn(ctx, pinrec_id(bn->pins[i].rec), path))
			break;
out:
	pthread_mutex_unlock(&tree.lock);
	return result;
}

int tree_pins_version(uint64_t *out)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	int result;

	pthread_mutex_lock(&tree.lock);
	result = tree_ensure_boards();
	for (size_t i = 0; !result && i < tree.nboards; i++) {
		const struct board_node *bn = tree.boards[i];
		const char *parts[] = {bn->b->id, bn->b->pins_modified_at, bn->dname};

		for (size_t k = 0; k < 3; k++) {
			const char *c = parts[k] ? parts[k] : "";

			do
				h = (h ^ (unsigned char)*c) * 1099511628211ULL;
			while (*c++);
		}
	}
	*out = (h ^ tree.changes) * 1099511628211ULL;
	pthread_mutex_unlock(&tree.lock);
	return result;
}

bool tree_has_pin(const char *board_id, const char *pin_id)
{
	struct board_node *bn;
	bool found = false;

	pthread_mutex_lock(&tree.lock);
	bn = tree_find_board_id(board_id);
	for (size_t i = 0; bn && bn->listed && i < bn->npins && !found; i++)
		found = strcmp(pinrec_id(bn->pins[i].rec), pin_id) == 0;
	pthread_mutex_unlock(&tree.lock);
	return found;
}
