/* Resolving a path ("boards/B/S/name.jpg") to the node it names, listing what it needs on the
 * way. Part of the account tree: see tree_int.h. */
#include "tree_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The pin of folder f whose name is base[0..len), or NULL. */
static struct pin_node *find_base(const struct board_node *bn, const struct folder *f,
				  const char *base, size_t len)
{
	for (size_t lo = 0, hi = f->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		struct pin_node *pn = &bn->pins[f->pins[mid]];
		const char *name = tree_pin_name(pn);
		int c = strncmp(name, base, len);

		if (c == 0 && name[len] == '\0')
			return pn;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct folder_of {
	const struct board_node *bn;
	const struct folder *f;
};

static struct pin_node *find_in(const void *ctx, const char *base, size_t len)
{
	const struct folder_of *fo = ctx;

	return find_base(fo->bn, fo->f, base, len);
}

/* Finds the pin file called name in folder f: its sidecar ("<name>.json"), its main file
 * ("<name><ext>") or one beside it (tree_parts.c). Sets w's pin and type; false when there is
 * none. */
static bool find_pin_file(struct where *w, struct folder *f, const char *name)
{
	struct folder_of fo = {w->bn, f};
	size_t len = strlen(name);
	const char *dot = strrchr(name, '.');
	struct pin_node *pn;

	if (len > 5 && strcmp(name + len - 5, ".json") == 0 &&
	    (pn = find_base(w->bn, f, name, len - 5))) {
		w->type = NODE_PIN_JSON;
	} else if (dot && (pn = find_base(w->bn, f, name, (size_t)(dot - name))) && pn->ext &&
		   strcmp(tree_exts[pn->ext], dot) == 0) {
		w->type = NODE_PIN_IMAGE;
	} else if ((w->part = tree_find_part(find_in, &fo, name, &pn))) {
		w->type = NODE_PIN_PART;
	} else {
		return false;
	}
	w->f = f;
	w->pn = pn;
	return true;
}

int32_t tree_find_section(const struct board_node *bn, const char *dname)
{
	for (size_t i = 0; i < bn->nsecs; i++)
		if (strcmp(bn->secs[i].dname, dname) == 0)
			return (int32_t)i;
	return -1;
}

static int resolve_in_board(struct where *w, char **c, int depth)
{
	struct folder *f = &w->bn->top;
	int result = tree_ensure_listed(w->bn);

	if (result)
		return result;
	w->sec = tree_find_section(w->bn, c[2]);
	if (w->sec >= 0) {
		if (depth == 3) {
			w->type = NODE_SECTION;
			return 0;
		}
		if (depth > 4)
			return -ENOENT;
		f = &w->bn->secs[w->sec].f;
		c++;
	} else if (strcmp(c[2], ".board.json") == 0) {
		w->type = NODE_BOARD_JSON;
		return depth == 3 ? 0 : -ENOTDIR;
	}
	if (find_pin_file(w, f, c[2]))
		return depth == 3 + (w->sec >= 0) ? 0 : -ENOTDIR;
	return -ENOENT;
}

/* Finds path in the tree, fetching what it needs. Lock held on entry and on return. On
 * success w's pointers are valid until the lock is next dropped. */
int tree_resolve(const char *path, struct where *w)
{
	char buf[PATH_MAX], *c[8], *save = NULL, *tok;
	int depth = 0, result;

	memset(w, 0, sizeof(*w));
	w->sec = -1;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (depth == 8)
			return -ENOENT;
		c[depth++] = tok;
	}
	if (depth == 0) {
		w->type = NODE_ROOT;
		return 0;
	}
	if (depth == 1 && strcmp(c[0], "me.json") == 0) {
		w->type = NODE_ME_JSON;
		return 0;
	}
	if (strcmp(c[0], "boards") != 0)
		return -ENOENT;
	if (depth == 1) {
		w->type = NODE_BOARDS;
		return 0;
	}
	result = tree_ensure_boards();
	if (result)
		return result;
	w->bn = tree_find_board_name(c[1]);
	if (!w->bn)
		return -ENOENT;
	if (depth == 2) {
		w->type = NODE_BOARD;
		return 0;
	}
	return resolve_in_board(w, c, depth);
}
