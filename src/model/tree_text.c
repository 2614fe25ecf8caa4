/* The text of the generated files (me.json, .board.json, a pin's sidecar), an image's URL and
 * a pin's extended attributes, suggested boards among them. Part of the account tree: see
 * tree_int.h. */
#include "tree_int.h"

#include "api.h"
#include "meta.h"
#include "suggest.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A pin's sidecar as meta.c renders it. Caller frees; NULL when out of memory. */
static char *pin_json(const struct board_node *bn, const struct pin_node *pn)
{
	struct pin_view v;

	pinrec_view(pn->rec, bn->b->id, &v);
	return meta_pin_json(&v.pin);
}

/* Refreshes the account object when it is older than the TTL. Lock held, dropped meanwhile. */
static void ensure_account(void)
{
	cJSON *fresh_account = NULL;

	while (tree.account_fetching.busy)
		flight_wait(&tree.lock, &tree.changed);
	if (tree_fresh(tree.account_at))
		return;
	flight_take(&tree.account_fetching, &tree.lock, &tree.changed); /* not busy: ours */
	pthread_mutex_unlock(&tree.lock);
	int result = api_get_account(&fresh_account);

	pthread_mutex_lock(&tree.lock);
	flight_land(&tree.account_fetching, &tree.changed);
	if (result || !cJSON_IsObject(fresh_account)) {
		cJSON_Delete(fresh_account);
		return; /* the last known account is still worth showing */
	}
	cJSON_Delete(tree.account);
	tree.account = fresh_account;
	tree.account_at = tree_now();
}

/* The text of the pin's or the board's sidecar at w, which the caller frees; NULL when out of
 * memory. A pin's length is noted on the way, so a stat need not print it again. Lock held. */
static char *sidecar_text(const struct where *w)
{
	char *t;
	size_t n;

	if (w->type == NODE_BOARD_JSON)
		return meta_board_json(w->bn->b);
	t = pin_json(w->bn, w->pn);
	if (t) {
		n = strlen(t);
		w->pn->json_len = (int32_t)(n < INT32_MAX ? n : INT32_MAX);
	}
	return t;
}

int tree_read_text(const char *path, char **text, size_t *len)
{
	struct where w;
	char *t = NULL;
	int result;

	pthread_mutex_lock(&tree.lock);
	result = tree_resolve(path, &w);
	if (result)
		goto out;
	switch (w.type) {
	case NODE_ME_JSON:
		ensure_account();
		t = meta_pretty(tree.account);
		break;
	case NODE_BOARD_JSON:
	case NODE_PIN_JSON:
		t = sidecar_text(&w);
		break;
	default:
		result = -EISDIR;
		goto out;
	}
	if (!t)
		result = -ENOMEM;
out:
	pthread_mutex_unlock(&tree.lock);
	*text = t;
	*len = t ? strlen(t) : 0;
	return result;
}

int tree_stat_text(const char *path, struct node_info *out, char **text, size_t *len)
{
	struct where w;
	char *t = NULL;
	int result;

	pthread_mutex_lock(&tree.lock);
	result = tree_resolve(path, &w);
	if (result)
		goto out;
	if (w.type == NODE_PIN_JSON || w.type == NODE_BOARD_JSON) {
		t = sidecar_text(&w);
		if (!t) {
			result = -ENOMEM;
			goto out;
		}
	}
	/* After the text: a pin's length is known by then, and not counted by a second print. */
	result = tree_fill_info(&w, out);
	if (result) {
		free(t);
		t = NULL;
	}
out:
	pthread_mutex_unlock(&tree.lock);
	*text = t;
	*len = t ? strlen(t) : 0;
	return result;
}

int tree_image_url(const char *path, char **url)
{
	struct where w;
	int result;

	*url = NULL;
	pthread_mutex_lock(&tree.lock);
	result = tree_resolve(path, &w);
	if (!result && w.type != NODE_PIN_IMAGE && w.type != NODE_PIN_PART)
		result = w.type == NODE_PIN_JSON ? -EINVAL : -EISDIR;
	if (!result && w.type == NODE_PIN_PART) {
		char part[4096];

		result = tree_part_url(w.pn, w.part, part, sizeof(part));
		if (!result && !(*url = strdup(part)))
			result = -ENOMEM;
	} else if (!result && !(*url = strdup(pinrec_image_url(w.pn->rec)))) {
		result = -ENOMEM;
	}
	pthread_mutex_unlock(&tree.lock);
	return result;
}

#define XATTR_SUGGESTED "user.pinterest.suggested_boards"

/* The value of user.pinterest.suggested_boards for p: every board's folder name, best match
 * first, one a line. Only what the tree holds counts, so no request is sent: a board not
 * listed yet offers its name and description only, a big board a sample of its pin titles
 * (SUGGEST_TITLES_MAX). Lock held. Caller frees; NULL on ENOMEM. */
static char *suggested_boards(const struct pin *p)
{
	size_t n = tree.nboards ? tree.nboards : 1, ntitles = 0, used = 0, len = 1;
	struct suggest_board *sb = calloc(n, sizeof(*sb));
	size_t *order = calloc(n, sizeof(*order));
	const char **titles = NULL;
	char *out = NULL;

	if (!sb || !order)
		goto out;
	for (size_t i = 0; i < tree.nboards; i++) {
		size_t has = tree.boards[i]->listed ? tree.boards[i]->npins : 0;

		sb[i].npins = has < SUGGEST_TITLES_MAX ? has : SUGGEST_TITLES_MAX;
		ntitles += sb[i].npins;
	}
	titles = calloc(ntitles ? ntitles : 1, sizeof(*titles));
	if (!titles)
		goto out;
	for (size_t i = 0, k = 0; i < tree.nboards; i++) {
		const struct board_node *bn = tree.boards[i];

		sb[i].name = bn->b->name;
		sb[i].description = bn->b->description;
		sb[i].pin_titles = titles + k;
		/* Spread over the whole board, not its first section. */
		for (size_t j = 0; j < sb[i].npins; j++)
			titles[k++] = pinrec_title(bn->pins[j * bn->npins / sb[i].npins].rec);
		len += strlen(bn->dname) + 1;
	}
	if (suggest_rank(p->title, p->description, sb, tree.nboards, order) || !(out = malloc(len)))
		goto out;
	for (size_t i = 0; i < tree.nboards; i++) {
		const char *name = tree.boards[order[i]]->dname;

		memcpy(out + used, name, strlen(name));
		used += strlen(name);
		out[used++] = '\n';
	}
	out[used] = '\0';
out:
	free(titles);
	free(order);
	free(sb);
	return out;
}

static int resolve_pin(const char *path, struct where *w)
{
	int result = tree_resolve(path, w);

	if (!result && w->type != NODE_PIN_IMAGE && w->type != NODE_PIN_JSON &&
	    w->type != NODE_PIN_PART)
		result = -ENODATA;
	return result;
}

int tree_xattr_list(const char *path, char *buf, size_t len)
{
	struct pin_view v;
	struct where w;
	int result;

	pthread_mutex_lock(&tree.lock);
	result = resolve_pin(path, &w);
	if (!result) {
		pinrec_view(w.pn->rec, w.bn->b->id, &v);
		size_t need = meta_pin_xattr_list(&v.pin, NULL, 0);
		size_t extra = w.type == NODE_PIN_IMAGE ? sizeof(XATTR_SUGGESTED) : 0;

		result = (int)(need + extra);
		if (len && need + extra > len) {
			result = -ERANGE;
		} else if (len) {
			meta_pin_xattr_list(&v.pin, buf, len);
			memcpy(buf + need, XATTR_SUGGESTED, extra);
		}
	} else if (result == -ENODATA) {
		result = 0; /* folders and other files simply have none */
	}
	pthread_mutex_unlock(&tree.lock);
	return result;
}

int tree_xattr_get(const char *path, const char *name, char *buf, size_t len)
{
	struct where w;
	struct pin_view pv;
	char made[128], *owned = NULL;
	const char *v;
	bool suggested;
	int result;

	pthread_mutex_lock(&tree.lock);
	result = resolve_pin(path, &w);
	if (result)
		goto out;
	/* v may point into pv: pv lives until the value is copied out. */
	pinrec_view(w.pn->rec, w.bn->b->id, &pv);
	suggested = w.type == NODE_PIN_IMAGE && strcmp(name, XATTR_SUGGESTED) == 0;
	if (suggested)
		v = owned = suggested_boards(&pv.pin);
	else
		v = meta_pin_xattr_get(&pv.pin, name, made, sizeof(made));
	if (!v) {
		result = suggested ? -ENOMEM : -ENODATA;
		goto out;
	}
	result = (int)strlen(v);
	if (len && (size_t)result > len)
		result = -ERANGE;
	else if (len)
		memcpy(buf, v, result);
out:
	pthread_mutex_unlock(&tree.lock);
	free(owned);
	return result;
}
