/* The account tree's state (tree_int.h), its start and end, and the small helpers its parts
 * share: pins' file names and extensions, the clock and the TTL. The parts are listed at the
 * top of tree_int.h. */
#include "tree_int.h"

#include "http.h"
#include "log.h"
#include "names.h"
#include "pinstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The extensions a pin's file can have: names_ext_for_url's, and those a file copied in
 * kept (tree_ext_for). Index 0: the pin has no image. Constant: no lock. */
const char *const tree_exts[] = {NULL,	 ".jpg", ".png",  ".gif", ".webp", ".jpeg",
				 ".JPG", ".PNG", ".JPEG", ".Jpg", ".Png",  ".Jpeg",
				 ".jpe", ".GIF", ".WEBP", ".Gif", ".Webp", ".mp4",
				 ".mov", ".MP4", ".MOV",  ".m4v", ".M4V"};

/* a then b into buf (len > 0), cut where buf ends as snprintf("%s%s") would cut them. Not
 * snprintf: a listing names two files per pin and describes each with three ids, and glibc's
 * printf machinery was the most of that work that was pinfs's own. */
void tree_join_cut(char *buf, size_t len, const char *a, const char *b)
{
	size_t na = strnlen(a, len - 1), nb = strnlen(b, len - 1 - na);

	memcpy(buf, a, na);
	memcpy(buf + na, b, nb);
	buf[na + nb] = '\0';
}

/* The name a pin's two files share, without extension. */
const char *tree_pin_name(const struct pin_node *pn)
{
	return pn->name ? pn->name : pinrec_title(pn->rec);
}

/* The name of a pin's image (json false; the pin has one) or of its sidecar, into buf. Names
 * leave room for ".json" within NAME_MAX, and no extension is longer. */
void tree_pin_file(const struct pin_node *pn, bool json, char *buf, size_t len)
{
	const char *name = tree_pin_name(pn);
	const char *ext = json ? ".json" : pn->ext ? tree_exts[pn->ext] : "";

	tree_join_cut(buf, len, name ? name : "", ext);
}

/* What guards each field: struct tree_state (tree_int.h). */
struct tree_state tree = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .changed = PTHREAD_COND_INITIALIZER,
};

/* qsort that takes an empty, possibly NULL, array: an empty board has no pins array. */
void tree_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

double tree_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool tree_fresh(double at)
{
	return tree_now() - at < tree.ttl;
}

/* Now as a pin's changed_at: seconds after tree.epoch, never 0 (a clock set back gives 1). Four
 * bytes last 136 years. */
uint32_t tree_change_stamp(void)
{
	time_t d = time(NULL) - tree.epoch;

	return d < 1 ? 1 : d >= (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

bool tree_grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return true;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(*arr, *cap * size);
	if (!p)
		return false;
	*arr = p;
	return true;
}

bool tree_id_ok(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	/* Ids go into URLs and paths: only the characters Pinterest uses. */
	return len > 0 && len <= TREE_ID_MAX &&
	       strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == len;
}

uint8_t tree_ext_index(const char *ext)
{
	for (uint8_t i = 1; i < sizeof(tree_exts) / sizeof(tree_exts[0]); i++)
		if (strcmp(tree_exts[i], ext) == 0)
			return i;
	return 0;
}

/* The index in tree_exts[] of the extension of the image at url of the pin id; 0 when it has
 * none. A file copied in keeps the extension of the name it was given, across remounts
 * (pinstore.h). */
uint8_t tree_ext_for(const char *id, const char *url)
{
	struct pinstore_rec kept;
	const char *given;
	uint8_t ext = 0;

	if (!url)
		return 0;
	if (pinstore_get(id, &kept) == 0) {
		names_strip_ext(kept.name, &given);
		ext = tree_ext_index(given);
	}
	return ext ? ext : tree_ext_index(names_ext_for_url(url));
}

/* The bytes a pin's longest file name adds to its name: ".json", or a carousel's last
 * item's " [N].webp". */
size_t tree_name_reserve(const struct pinrec *r)
{
	unsigned items = pinrec_items(r);
	char tail[32];

	return items ? (size_t)snprintf(tail, sizeof(tail), " [%u].webp", items + 1) : 5;
}

uint8_t tree_ext_of(const struct pinrec *r)
{
	return tree_ext_for(pinrec_id(r), pinrec_image_url(r));
}

int tree_init(const struct tree_config *cfg, cJSON *account)
{
	tree.ttl = cfg->ttl_s;
	tree.head_parallel = cfg->head_parallel > 0 ? cfg->head_parallel : HTTP_HEAD_PARALLEL;
	tree.image_size = cfg->image_size ? strdup(cfg->image_size) : NULL;
	tree.account = account;
	tree.account_at = tree_now();
	tree.epoch = time(NULL) - 1; /* a change in the mount's first second is 1, not 0 */
	tree_preload_install();
	return cfg->image_size && !tree.image_size ? -ENOMEM : 0;
}

static void board_node_free(struct board_node *bn)
{
	tree_folders_release(bn->secs, bn->nsecs, bn->pins, bn->npins, &bn->top, bn->block);
	tree_loose_release(bn);
	board_free(bn->b);
	free(bn->dname);
	free(bn->stamp);
	free(bn);
}

void tree_cleanup(void)
{
	tree_prefetch_stop();
	tree_sweeps_stop();
	for (size_t i = 0; i < tree.nboards; i++)
		board_node_free(tree.boards[i]);
	for (size_t i = 0; i < tree.ndead; i++)
		board_node_free(tree.dead[i]);
	free(tree.boards);
	free(tree.dead);
	tree.boards = tree.dead = NULL;
	tree.nboards = tree.ndead = 0;
	cJSON_Delete(tree.account);
	tree.account = NULL;
	for (size_t i = 0; i < tree.nghosts; i++)
		free(tree.ghosts[i].path);
	free(tree.ghosts);
	tree.ghosts = NULL;
	tree.nghosts = 0;
	free(tree.image_size);
	tree.image_size = NULL;
}

uint64_t tree_pin_count(void)
{
	const cJSON *n;
	uint64_t count = 0;

	pthread_mutex_lock(&tree.lock);
	if (tree.boards_listed) {
		for (size_t i = 0; i < tree.nboards; i++)
			count +=
			    tree.boards[i]->b->pin_count > 0 ? tree.boards[i]->b->pin_count : 0;
	} else {
		n = cJSON_GetObjectItemCaseSensitive(tree.account, "pin_count");
		/* Bounded: 1e300 from a broken server would overflow the conversion. */
		count = cJSON_IsNumber(n) && n->valuedouble > 0 && n->valuedouble < 1e15
			    ? (uint64_t)n->valuedouble
			    : 0;
	}
	pthread_mutex_unlock(&tree.lock);
	return count;
}

void tree_invalidate(void)
{
	pthread_mutex_lock(&tree.lock);
	tree.boards_listed = false;
	for (size_t i = 0; i < tree.nboards; i++) {
		tree.boards[i]->listed = false;
		free(tree.boards[i]->stamp);
		tree.boards[i]->stamp = NULL;
	}
	tree.account_at = -1e9;
	pthread_mutex_unlock(&tree.lock);
}

int tree_username(char *buf, size_t len)
{
	const cJSON *u;
	int result = -ENOENT;

	pthread_mutex_lock(&tree.lock);
	u = cJSON_GetObjectItemCaseSensitive(tree.account, "username");
	if (cJSON_IsString(u) && u->valuestring[0])
		result = snprintf(buf, len, "%s", u->valuestring) < (int)len ? 0 : -ENAMETOOLONG;
	pthread_mutex_unlock(&tree.lock);
	return result;
}

bool tree_same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}
