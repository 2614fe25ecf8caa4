#include "people.h"

#include "api.h"
#include "http.h"
#include "log.h"
#include "meta.h"
#include "names.h"
#include "tree.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A board I follow, while its folder is named. */
struct followed {
	const cJSON *it;
	const char *owner, *id, *name;
	time_t created;
};

/* An id and where it was met, to find the items a walk met twice. */
struct keyed {
	const char *id;
	size_t at;
};

static const char *str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int collect(const cJSON *it, void *ctx)
{
	cJSON *copy = cJSON_Duplicate(it, true);

	if (!copy || !cJSON_AddItemToArray(ctx, copy)) {
		cJSON_Delete(copy);
		return -ENOMEM;
	}
	return 0;
}

/* Every item of the paged listing at path, in the API's order. Caller cJSON_Deletes *items. */
static int walk(const char *path, cJSON **items)
{
	int result;

	*items = cJSON_CreateArray();
	if (!*items)
		return -ENOMEM;
	result = api_list(path, true, collect, *items);
	if (result) {
		cJSON_Delete(*items);
		*items = NULL;
	}
	return result;
}

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Sets repeat[i] for every ids[i] an earlier one has (a walk meets an item twice when the
 * list changes between pages). Returns 0 or -ENOMEM. */
static int mark_repeats(const char *const *ids, size_t n, bool *repeat)
{
	struct keyed *k = calloc(n ? n : 1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct keyed){ids[i], i};
	if (n > 1)
		qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t i = 1; i < n; i++)
		repeat[k[i].at] = strcmp(k[i - 1].id, k[i].id) == 0;
	free(k);
	return 0;
}

/* Adds "<name>.json" holding each item, named by its title_key, told apart by its id_key (the
 * first of two equal names keeps it). An item without an id is left out. */
static int add_json_files(struct vf_builder *b, const cJSON *items, const char *title_key,
			  const char *id_key)
{
	size_t n = (size_t)cJSON_GetArraySize(items), k = 0;
	struct name_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	const cJSON **objs = calloc(n ? n : 1, sizeof(*objs)), *it;
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	bool *repeat = calloc(n ? n : 1, sizeof(*repeat));
	char *name = NULL, *text = NULL;
	int result = -ENOMEM;

	if (!slots || !objs || !ids || !repeat)
		goto out;
	cJSON_ArrayForEach(it, items)
	{
		if (!(ids[k] = str(it, id_key)))
			continue;
		objs[k] = it;
		slots[k] =
		    (struct name_slot){.title = str(it, title_key), .id = ids[k], .reserve = 5};
		k++;
	}
	result = mark_repeats(ids, k, repeat);
	if (!result)
		result = names_assign(slots, k, NULL);
	for (size_t i = 0; !result && i < k; i++) {
		if (repeat[i])
			continue;
		if (asprintf(&name, "%s.json", slots[i].name) < 0)
			name = NULL;
		text = meta_pretty(objs[i]);
		result = name && text ? vf_add(b, name, VF_FILE, text) : -ENOMEM;
		free(name);
		free(text);
	}
out:
	for (size_t i = 0; slots && i < k; i++)
		free(slots[i].name);
	free(slots);
	free(objs);
	free(ids);
	free(repeat);
	return result;
}

static int build_json_folder(const char *path, const char *title_key, const char *id_key,
			     struct vf_builder *b)
{
	cJSON *items;
	int result = walk(path, &items);

	if (!result)
		result = add_json_files(b, items, title_key, id_key);
	cJSON_Delete(items);
	return result;
}

static int build_followers(const char *key, struct vf_builder *b)
{
	(void)key;
	return build_json_folder("/user_account/followers", "username", "username", b);
}

static int build_following(const char *key, struct vf_builder *b)
{
	(void)key;
	return build_json_folder("/user_account/following", "username", "username", b);
}

static int build_interests(const char *key, struct vf_builder *b)
{
	char me[256], *esc = NULL, *path = NULL;
	int result;

	(void)key;
	/* v5 has no "my interests": they are the interests of the user I am. */
	result = tree_username(me, sizeof(me));
	if (result)
		return result;
	esc = http_escape(me);
	if (!esc || asprintf(&path, "/users/%s/interests/follow", esc) < 0) {
		free(esc);
		return -ENOMEM;
	}
	result = build_json_folder(path, "name", "id", b);
	free(path);
	free(esc);
	return result;
}

/* Adds dir/name+ext. */
static int add_file(struct vf_builder *b, const char *dir, const char *name, const char *ext,
		    enum vf_kind kind, const char *data)
{
	char *path = NULL;
	int result;

	if (asprintf(&path, "%s/%s%s", dir, name, ext) < 0)
		return -ENOMEM;
	result = vf_add(b, path, kind, data);
	free(path);
	return result;
}

/* A board I follow: its folder, .board.json, cover and thumbnails. Image URLs that may not be
 * fetched (http.h) are left out rather than shown as files that cannot be read. */
static int add_board_files(struct vf_builder *b, const char *dir, const cJSON *it)
{
	const cJSON *media = cJSON_GetObjectItemCaseSensitive(it, "media"), *t;
	const cJSON *thumbs = cJSON_GetObjectItemCaseSensitive(media, "pin_thumbnail_urls");
	const char *cover = str(media, "image_cover_url");
	struct board *board = board_from_json(it);
	char *text = board ? meta_board_json(board) : NULL, name[32];
	size_t nth = 0;
	int result = text ? vf_add(b, dir, VF_DIR, NULL) : -ENOMEM;

	if (!result)
		result = add_file(b, dir, ".board.json", "", VF_FILE, text);
	if (!result && cover && http_url_allowed(cover))
		result = add_file(b, dir, "cover", names_ext_for_url(cover), VF_IMAGE, cover);
	cJSON_ArrayForEach(t, thumbs)
	{
		if (result || !cJSON_IsString(t) || !http_url_allowed(t->valuestring))
			continue;
		snprintf(name, sizeof(name), "thumbnail-%zu", ++nth);
		result = add_file(b, dir, name, names_ext_for_url(t->valuestring), VF_IMAGE,
				  t->valuestring);
	}
	free(text);
	board_free(board);
	return result;
}

/* By owner, then older first: the older of two boards of one name keeps the plain name. */
static int cmp_followed(const void *a, const void *b)
{
	const struct followed *x = a, *y = b;
	int c = strcmp(x->owner, y->owner);

	if (c)
		return c;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Names the boards of one owner (fb[0..n)) and adds their folders under owner_dir. */
static int add_owner(struct vf_builder *b, const char *owner_dir, const struct followed *fb,
		     size_t n)
{
	struct name_slot *slots = calloc(n, sizeof(*slots));
	char *dir = NULL;
	int result = slots ? vf_add(b, owner_dir, VF_DIR, NULL) : -ENOMEM;

	for (size_t i = 0; !result && i < n; i++)
		slots[i] = (struct name_slot){.title = fb[i].name, .id = fb[i].id};
	if (!result)
		result = names_assign(slots, n, NULL);
	for (size_t i = 0; !result && i < n; i++) {
		if (asprintf(&dir, "%s/%s", owner_dir, slots[i].name) < 0) {
			result = -ENOMEM;
			break;
		}
		result = add_board_files(b, dir, fb[i].it);
		free(dir);
	}
	for (size_t i = 0; slots && i < n; i++)
		free(slots[i].name);
	free(slots);
	return result;
}

/* Owners' folders are named together (two owners may sanitise alike), then each owner's
 * boards. fb is sorted by owner. */
static int add_followed(struct vf_builder *b, const struct followed *fb, size_t n)
{
	struct name_slot *owners = calloc(n ? n : 1, sizeof(*owners));
	size_t *first = calloc(n + 1, sizeof(*first)), nown = 0;
	int result = -ENOMEM;

	if (!owners || !first)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(fb[i - 1].owner, fb[i].owner) == 0)
			continue;
		owners[nown] = (struct name_slot){.title = fb[i].owner, .id = fb[i].owner};
		first[nown++] = i;
	}
	first[nown] = n;
	result = names_assign(owners, nown, NULL);
	for (size_t o = 0; !result && o < nown; o++)
		result = add_owner(b, owners[o].name, fb + first[o], first[o + 1] - first[o]);
out:
	for (size_t o = 0; owners && o < nown; o++)
		free(owners[o].name);
	free(owners);
	free(first);
	return result;
}

static int build_boards(const char *key, struct vf_builder *b)
{
	struct followed *fb = NULL;
	cJSON *items, *it;
	size_t n = 0;
	int result;

	(void)key;
	result = walk("/user_account/following/boards", &items);
	if (result)
		return result;
	fb = calloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*fb));
	if (!fb) {
		result = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *owner = cJSON_GetObjectItemCaseSensitive(it, "owner");
		struct followed f = {it, str(owner, "username"), str(it, "id"), str(it, "name"),
				     api_parse_time(str(it, "created_at"))};

		bool seen = false;

		if (!f.owner || !f.id) {
			log_debug("skipping a followed board without id or owner");
			continue;
		}
		/* A board met twice (the list changed between pages) is shown once. */
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(fb[i].id, f.id) == 0;
		if (!seen)
			fb[n++] = f;
	}
	if (n > 1)
		qsort(fb, n, sizeof(*fb), cmp_followed);
	result = add_followed(b, fb, n);
out:
	free(fb);
	cJSON_Delete(items);
	return result;
}

/* Their lists carry no stamp that says they changed: they are kept for the TTL. */
const struct vf_source people_followers = {build_followers, NULL, false};
const struct vf_source people_following = {build_following, NULL, false};
const struct vf_source people_interests = {build_interests, NULL, false};
const struct vf_source people_boards = {build_boards, NULL, false};

int people_follow(const char *username, char **json)
{
	cJSON *body = cJSON_CreateObject(), *answer = NULL;
	char *esc = http_escape(username), *path = NULL;
	int result = -ENOMEM;

	*json = NULL;
	if (!body || !esc || !cJSON_AddFalseToObject(body, "auto_follow") ||
	    asprintf(&path, "/user_account/following/%s", esc) < 0) {
		path = NULL;
		goto out;
	}
	result = api_call("POST", path, body, &answer);
	if (result)
		goto out;
	/* The answer is the user followed; an answer without one still means it worked. */
	if (!str(answer, "username")) {
		cJSON_Delete(answer);
		answer = cJSON_CreateObject();
		if (!answer || !cJSON_AddStringToObject(answer, "type", "user") ||
		    !cJSON_AddStringToObject(answer, "username", username)) {
			result = -ENOMEM;
			goto out;
		}
	}
	*json = meta_pretty(answer);
	result = *json ? 0 : -ENOMEM;
out:
	cJSON_Delete(answer);
	cJSON_Delete(body);
	free(esc);
	free(path);
	return result;
}
