/* Unit tests of the account tree's local changes (src/model/tree_edit.c, tree_inplace.c)
 * against a rebuild. An account is served from memory through the tree's listing source
 * (tree_set_source). Each change is made to the tree as edit.c and upload.c make it once the API
 * accepted it (tree_apply_*, with the answer's JSON), and the tree is listed through its public
 * calls; then the account is given the same change, and the tree lists it again twice: after
 * the TTL, when a board whose board_pins_modified_at moved is listed anew keeping the names
 * its pins had (what a running mount does), and after tree_invalidate, from nothing (what a
 * new mount shows). The in-place listing must be the first exactly, and the second too but
 * where the rule that names stay while a mount runs (names.h) says otherwise: there the names
 * a new mount gives are checked instead. */
#include "cache.h"
#include "check.h"
#include "log.h"
#include "pinstore.h"
#include "tree.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TTL_S 0.2 /* short: the rebuild after the TTL waits for it at every change */

static char top[64];	    /* the test's folder */
static char cache_dir[128]; /* top/cache: the per-pin store keeps extensions there */
static char log_path[128];  /* top/log */

/* ---- the account, as the server holds it ---- */

/* {"boards": [...], "sections": {"ID": [...]}, "pins": {"ID": [...]}}, under acct_lock: the
 * tree lists from several threads (a board's sections beside its pins, walks ahead). */
static cJSON *acct;
static pthread_mutex_t acct_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned board_walks, pin_walks; /* GET /boards and GET /boards/ID/pins served */
static unsigned stamps;			/* board_pins_modified_at given so far */

static const char *const board_ids[] = {"b1", "b2", "b3", "b4"};

static cJSON *board_of(const char *id)
{
	cJSON *b;

	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(acct, "boards"))
	{
		if (strcmp(cJSON_GetObjectItemCaseSensitive(b, "id")->valuestring, id) == 0)
			return b;
	}
	return NULL;
}

/* The listing source: GET /boards, /boards/ID/sections and /boards/ID/pins from acct. */
static int serve(const char *path, bool paged, tree_item_fn item, void *ctx)
{
	char id[64], what[16];
	const cJSON *items = NULL, *it;
	int result = 0;

	pthread_mutex_lock(&acct_lock);
	if (!paged) {
		result = -EINVAL; /* the tree's listings are all paged */
	} else if (strcmp(path, "/boards") == 0) {
		board_walks++;
		items = cJSON_GetObjectItemCaseSensitive(acct, "boards");
	} else if (sscanf(path, "/boards/%63[^/]/%15s", id, what) == 2 &&
		   (strcmp(what, "sections") == 0 || strcmp(what, "pins") == 0) && board_of(id)) {
		pin_walks += what[0] == 'p';
		items = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(acct, what), id);
	} else {
		result = -ENOENT; /* what Pinterest's 404 becomes */
	}
	cJSON_ArrayForEach(it, items)
	{
		result = item(it, ctx);
		if (result)
			break;
	}
	pthread_mutex_unlock(&acct_lock);
	return result;
}

static unsigned walks_of_pins(void)
{
	unsigned n;

	pthread_mutex_lock(&acct_lock);
	n = pin_walks;
	pthread_mutex_unlock(&acct_lock);
	return n;
}

static unsigned walks_of_boards(void)
{
	unsigned n;

	pthread_mutex_lock(&acct_lock);
	n = board_walks;
	pthread_mutex_unlock(&acct_lock);
	return n;
}

/* board's pins changed: Pinterest moves its board_pins_modified_at. acct_lock held. */
static void touch_board(const char *id)
{
	cJSON *b = board_of(id);
	char at[32];

	if (!b)
		return;
	stamps++;
	snprintf(at, sizeof(at), "2024-05-01T%02u:%02u:%02u", stamps / 3600 % 24, stamps / 60 % 60,
		 stamps % 60);
	cJSON_ReplaceItemInObjectCaseSensitive(b, "board_pins_modified_at", cJSON_CreateString(at));
}

static cJSON *board_json(const char *id, const char *name, const char *privacy,
			 const char *created_at)
{
	cJSON *b = cJSON_CreateObject();
	char text[128];

	cJSON_AddStringToObject(b, "id", id);
	cJSON_AddStringToObject(b, "name", name);
	snprintf(text, sizeof(text), "All about %s", name);
	cJSON_AddStringToObject(b, "description", text);
	cJSON_AddStringToObject(b, "privacy", privacy);
	cJSON_AddStringToObject(b, "created_at", created_at);
	cJSON_AddStringToObject(b, "board_pins_modified_at", "2024-01-01T00:00:00");
	cJSON_AddNumberToObject(b, "pin_count", 3);
	return b;
}

static cJSON *section_json(const char *id, const char *name)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "id", id);
	cJSON_AddStringToObject(s, "name", name);
	return s;
}

/* A pin as API v5 gives it (GET /boards/ID/pins, or the answer to POST or PATCH /pins): ext
 * NULL for a pin without images. section NULL: at the board's top. */
static cJSON *pin_json(const char *id, const char *board, const char *section, const char *title,
		       const char *created_at, const char *ext)
{
	cJSON *p = cJSON_CreateObject(), *media, *images, *img;
	char text[160];

	cJSON_AddStringToObject(p, "id", id);
	cJSON_AddStringToObject(p, "board_id", board);
	if (section)
		cJSON_AddStringToObject(p, "board_section_id", section);
	else
		cJSON_AddNullToObject(p, "board_section_id");
	cJSON_AddStringToObject(p, "title", title);
	snprintf(text, sizeof(text), "How to make %s", *title ? title : "it");
	cJSON_AddStringToObject(p, "description", text);
	snprintf(text, sizeof(text), "https://example.com/%s", id);
	cJSON_AddStringToObject(p, "link", text);
	cJSON_AddStringToObject(p, "created_at", created_at);
	cJSON_AddStringToObject(p, "creative_type", "REGULAR");
	cJSON_AddStringToObject(p, "dominant_color", "#a0b0c0");
	media = cJSON_AddObjectToObject(p, "media");
	cJSON_AddStringToObject(media, "media_type", "image");
	if (!ext)
		return p;
	images = cJSON_AddObjectToObject(media, "images");
	img = cJSON_AddObjectToObject(images, "150x150");
	snprintf(text, sizeof(text), "https://i.pinimg.example/150x150/%s%s", id, ext);
	cJSON_AddStringToObject(img, "url", text);
	cJSON_AddNumberToObject(img, "width", 150);
	cJSON_AddNumberToObject(img, "height", 150);
	img = cJSON_AddObjectToObject(images, "1200x");
	snprintf(text, sizeof(text), "https://i.pinimg.example/1200x/%s%s", id, ext);
	cJSON_AddStringToObject(img, "url", text);
	cJSON_AddNumberToObject(img, "width", 1200);
	cJSON_AddNumberToObject(img, "height", 900);
	return p;
}

/* A carousel (kinds: one letter an item, 'i' an image, 'v' a video) or, for kinds "V", a
 * video pin: pin_json's pin with that media instead. */
static cJSON *media_pin_json(const char *id, const char *board, const char *title,
			     const char *created_at, const char *kinds)
{
	cJSON *p = pin_json(id, board, NULL, title, created_at, NULL), *media, *items, *it;
	char url[160];

	media = cJSON_GetObjectItemCaseSensitive(p, "media");
	if (strcmp(kinds, "V") == 0) {
		cJSON_ReplaceItemInObject(media, "media_type", cJSON_CreateString("video"));
		snprintf(url, sizeof(url), "https://v.pinimg.example/720p/%s.mp4", id);
		cJSON_AddStringToObject(media, "video_url", url);
		snprintf(url, sizeof(url), "https://i.pinimg.example/cover/%s.jpg", id);
		cJSON_AddStringToObject(media, "cover_image_url", url);
		cJSON_AddNumberToObject(media, "duration", 4000);
		return p;
	}
	cJSON_ReplaceItemInObject(media, "media_type", cJSON_CreateString("multiple_mixed"));
	items = cJSON_AddArrayToObject(media, "items");
	for (size_t i = 0; kinds[i]; i++) {
		it = cJSON_CreateObject();
		cJSON_AddItemToArray(items, it);
		if (kinds[i] == 'v') {
			cJSON_AddStringToObject(it, "item_type", "video");
			snprintf(url, sizeof(url), "https://v.pinimg.example/720p/%s-%zu.mp4", id,
				 i);
			cJSON_AddStringToObject(it, "video_url", url);
			continue;
		}
		cJSON_AddStringToObject(it, "item_type", "image");
		cJSON_AddStringToObject(it, "title", "an item");
		snprintf(url, sizeof(url), "https://i.pinimg.example/originals/%s-%zu.png", id, i);
		cJSON *img =
		    cJSON_AddObjectToObject(cJSON_AddObjectToObject(it, "images"), "originals");

		cJSON_AddStringToObject(img, "url", url);
		cJSON_AddNumberToObject(img, "width", 640);
		cJSON_AddNumberToObject(img, "height", 480);
	}
	return p;
}

static const char *id_of(const cJSON *j)
{
	return cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring;
}

/* The array under acct[what][board], made when missing. acct_lock held. */
static cJSON *list_of(const char *what, const char *board)
{
	cJSON *set = cJSON_GetObjectItemCaseSensitive(acct, what);
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(set, board);

	return arr ? arr : cJSON_AddArrayToObject(set, board);
}

/* Removes the item id from arr; true when it was there. */
static bool drop_id(cJSON *arr, const char *id)
{
	int i = 0;
	cJSON *it;

	cJSON_ArrayForEach(it, arr)
	{
		if (strcmp(id_of(it), id) == 0) {
			cJSON_DeleteItemFromArray(arr, i);
			return true;
		}
		i++;
	}
	return false;
}

/* The server holds pin (a copy), wherever it was before. */
static void server_put_pin(const cJSON *pin)
{
	const char *board = cJSON_GetObjectItemCaseSensitive(pin, "board_id")->valuestring;
	cJSON *arr;

	pthread_mutex_lock(&acct_lock);
	cJSON_ArrayForEach(arr, cJSON_GetObjectItemCaseSensitive(acct, "pins"))
	{
		if (drop_id(arr, id_of(pin)))
			touch_board(arr->string);
	}
	/* Newest first, as Pinterest lists them: the tree orders them itself. */
	cJSON_InsertItemInArray(list_of("pins", board), 0, cJSON_Duplicate(pin, true));
	touch_board(board);
	pthread_mutex_unlock(&acct_lock);
}

static void server_drop_pin(const char *board, const char *id)
{
	pthread_mutex_lock(&acct_lock);
	CHECK(drop_id(list_of("pins", board), id));
	touch_board(board);
	pthread_mutex_unlock(&acct_lock);
}

/* A section made (at the end, as Pinterest lists them) or renamed. */
static void server_put_section(const char *board, const cJSON *section)
{
	cJSON *arr, *it;
	int i = 0;

	pthread_mutex_lock(&acct_lock);
	arr = list_of("sections", board);
	cJSON_ArrayForEach(it, arr)
	{
		if (strcmp(id_of(it), id_of(section)) == 0)
			break;
		i++;
	}
	if (it)
		cJSON_ReplaceItemInArray(arr, i, cJSON_Duplicate(section, true));
	else
		cJSON_AddItemToArray(arr, cJSON_Duplicate(section, true));
	touch_board(board);
	pthread_mutex_unlock(&acct_lock);
}

/* A section deleted, and its pins with it, as Pinterest does. */
static void server_drop_section(const char *board, const char *section)
{
	cJSON *pins, *it;

	pthread_mutex_lock(&acct_lock);
	CHECK(drop_id(list_of("sections", board), section));
	pins = list_of("pins", board);
	for (int i = cJSON_GetArraySize(pins) - 1; i >= 0; i--) {
		it = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pins, i),
						      "board_section_id");
		if (cJSON_IsString(it) && strcmp(it->valuestring, section) == 0)
			cJSON_DeleteItemFromArray(pins, i);
	}
	touch_board(board);
	pthread_mutex_unlock(&acct_lock);
}

static void server_put_board(const cJSON *board)
{
	cJSON *boards;

	pthread_mutex_lock(&acct_lock);
	boards = cJSON_GetObjectItemCaseSensitive(acct, "boards");
	drop_id(boards, id_of(board));
	cJSON_AddItemToArray(boards, cJSON_Duplicate(board, true));
	pthread_mutex_unlock(&acct_lock);
}

static void server_drop_board(const char *id)
{
	pthread_mutex_lock(&acct_lock);
	CHECK(drop_id(cJSON_GetObjectItemCaseSensitive(acct, "boards"), id));
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(acct, "pins"), id);
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(acct, "sections"),
						id);
	pthread_mutex_unlock(&acct_lock);
}

/* Three boards, the last one secret. In Recipes' top, two pins titled "Dup" (the younger shows
 * as "Dup {1003}"), one without a title (named after its id) and one without an image (a
 * sidecar alone). */
static void make_account(void)
{
	static const struct {
		const char *id, *board, *section, *title, *created_at, *ext;
	} pins[] = {
	    {"1001", "b1", "s11", "Tomato soup", "2021-01-01T10:00:00", ".jpg"},
	    {"1002", "b1", NULL, "Dup", "2021-02-01T10:00:00", ".jpg"},
	    {"1003", "b1", NULL, "Dup", "2021-03-01T10:00:00", ".jpg"},
	    {"1004", "b1", NULL, "", "2021-04-01T10:00:00", ".jpg"},
	    {"1005", "b1", "s12", "Chocolate", "2021-05-01T10:00:00", ".jpg"},
	    {"1006", "b1", NULL, "Note", "2021-06-01T10:00:00", NULL},
	    {"1007", "b1", "s12", "Lemon", "2021-07-01T10:00:00", ".png"},
	    {"2001", "b2", "s21", "Eiffel", "2022-01-01T10:00:00", ".jpg"},
	    {"2002", "b2", NULL, "Beach", "2022-02-01T10:00:00", ".webp"},
	    {"3001", "b3", NULL, "Me", "2022-03-01T10:00:00", ".jpg"},
	};
	cJSON *boards;

	acct = cJSON_CreateObject();
	boards = cJSON_AddArrayToObject(acct, "boards");
	cJSON_AddItemToArray(boards, board_json("b1", "Recipes", "PUBLIC", "2020-01-01T00:00:00"));
	cJSON_AddItemToArray(boards, board_json("b2", "Travel", "PUBLIC", "2020-02-01T00:00:00"));
	cJSON_AddItemToArray(boards, board_json("b3", "Diary", "SECRET", "2020-03-01T00:00:00"));
	cJSON_AddObjectToObject(acct, "sections");
	cJSON_AddObjectToObject(acct, "pins");
	cJSON_AddItemToArray(list_of("sections", "b1"), section_json("s11", "Soup"));
	cJSON_AddItemToArray(list_of("sections", "b1"), section_json("s12", "Cake"));
	cJSON_AddItemToArray(list_of("sections", "b2"), section_json("s21", "Paris"));
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		cJSON_AddItemToArray(list_of("pins", pins[i].board),
				     pin_json(pins[i].id, pins[i].board, pins[i].section,
					      pins[i].title, pins[i].created_at, pins[i].ext));
	/* Every kind: a video, a carousel, and a younger pin titled like the carousel's item. */
	cJSON_AddItemToArray(list_of("pins", "b2"),
			     media_pin_json("2003", "b2", "Surf", "2022-04-01T10:00:00", "V"));
	cJSON_AddItemToArray(list_of("pins", "b2"),
			     media_pin_json("2004", "b2", "Trip", "2022-05-01T10:00:00", "ivi"));
	cJSON_AddItemToArray(list_of("pins", "b2"), pin_json("2005", "b2", NULL, "Trip [2]",
							     "2022-06-01T10:00:00", ".jpg"));
}

/* ---- the tree, through its public calls ---- */

struct entry {
	char name[NAME_MAX + 1];
	mode_t kind;
	bool described;
	struct node_info info;
};

struct entries {
	struct entry v[64];
	size_t n;
};

static int take_info(void *ctx, const char *name, mode_t kind, const struct node_info *info)
{
	struct entries *e = ctx;
	struct entry *at = &e->v[e->n];

	if (e->n == sizeof(e->v) / sizeof(e->v[0]))
		return 1;
	snprintf(at->name, sizeof(at->name), "%s", name);
	at->kind = kind;
	at->described = info != NULL;
	if (info)
		at->info = *info;
	e->n++;
	return 0;
}

static int take_name(void *ctx, const char *name, mode_t kind)
{
	return take_info(ctx, name, kind, NULL);
}

static const char *type_name(enum node_type t)
{
	static const char *const names[] = {"root",	  "me.json", "boards",	 "board", "section",
					    "board.json", "image",   "pin.json", "part",  "other"};

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* FNV-1a of a text: a sidecar's text in a snapshot line. */
static unsigned long long text_hash(const char *s, size_t len)
{
	unsigned long long h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* A board's sidecar without its board_pins_modified_at (of the same length at every change:
 * see touch_board). The board's object is GET /boards's: a change made here leaves it as it is,
 * and its stamp moves when boards/ is listed again. Takes text; NULL when it is not JSON. */
static char *without_stamp(char *text, size_t *len)
{
	cJSON *j = cJSON_ParseWithLength(text, *len);
	char *out;

	free(text);
	cJSON_DeleteItemFromObjectCaseSensitive(j, "board_pins_modified_at");
	out = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	*len = out ? strlen(out) : 0;
	return out;
}

/* One entry of a folder: what the listing said of it, then what tree_stat and tree_read_text
 * say, which must agree with it (*ok goes false when not). */
static void snap_entry(FILE *out, const char *path, const struct entry *e, bool *ok)
{
	const struct node_info *i = &e->info;
	struct node_info st;
	char *text = NULL;
	size_t len = 0;

	*ok &= e->described && tree_stat(path, false, &st) == 0 && st.type == i->type &&
	       st.size == i->size && st.secret == i->secret &&
	       strcmp(st.board_id, i->board_id) == 0 && strcmp(st.section_id, i->section_id) == 0 &&
	       strcmp(st.pin_id, i->pin_id) == 0 && st.kind == e->kind;
	fprintf(out, "  %s %c %s board=%s section=%s pin=%s size=%lld%s", e->name,
		e->kind == S_IFDIR ? 'd' : '-', type_name(i->type), i->board_id, i->section_id,
		i->pin_id, (long long)i->size, i->secret ? " secret" : "");
	if (i->type == NODE_PIN_JSON || i->type == NODE_BOARD_JSON) {
		*ok &= tree_read_text(path, &text, &len) == 0 && (int64_t)len == i->size;
		if (text && i->type == NODE_BOARD_JSON)
			text = without_stamp(text, &len);
		fprintf(out, " text=%016llx", text ? text_hash(text, len) : 0);
		free(text);
	}
	fputc('\n', out);
}

/* The folder at path and every folder under it, one line an entry, in the listing's order.
 * tree_list must give the names tree_list_info gives, in the same order. */
static void snap_folder(FILE *out, const char *path, bool *ok)
{
	struct entries *info = calloc(1, sizeof(*info)), *names = calloc(1, sizeof(*names));
	char child[PATH_MAX];
	size_t met = 0;
	int result = tree_list_info(path, 0, take_info, info, &met);

	*ok &= tree_list(path, 0, take_name, names, NULL) == result && names->n == info->n &&
	       met == info->n;
	fprintf(out, "%s: %d\n", path, result);
	for (size_t k = 0; k < info->n; k++) {
		*ok &= k < names->n && strcmp(names->v[k].name, info->v[k].name) == 0 &&
		       names->v[k].kind == info->v[k].kind;
		snprintf(child, sizeof(child), "%s/%s", path, info->v[k].name);
		snap_entry(out, child, &info->v[k], ok);
	}
	for (size_t k = 0; k < info->n; k++) {
		snprintf(child, sizeof(child), "%s/%s", path, info->v[k].name);
		if (info->v[k].kind == S_IFDIR)
			snap_folder(out, child, ok);
	}
	free(info);
	free(names);
}

static int take_pin(void *ctx, const char *pin_id, const char *path)
{
	fprintf(ctx, "  %s %s\n", pin_id, path);
	return 0;
}

/* What the tree shows: boards/ and everything under it, then each board's pins by id with
 * their paths (tree_board_pins, in the tree's order). Caller frees. */
static char *snapshot(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	bool ok = true;

	snap_folder(out, "boards", &ok);
	for (size_t i = 0; i < sizeof(board_ids) / sizeof(board_ids[0]); i++) {
		fprintf(out, "pins of %s: %d\n", board_ids[i],
			tree_board_pins(board_ids[i], take_pin, out));
	}
	fclose(out);
	CHECK(ok); /* the listing, tree_list, tree_stat and tree_read_text agree */
	return text;
}

/* The node at path is pin_id's file of that type. */
static bool is_pin(const char *path, enum node_type type, const char *pin_id)
{
	struct node_info st;

	return tree_stat(path, false, &st) == 0 && st.type == type &&
	       strcmp(st.pin_id, pin_id) == 0;
}

static bool gone(const char *path)
{
	struct node_info st;

	return tree_stat(path, false, &st) == -ENOENT;
}

/* The path tree_pin_path gives pin_id of board is want. */
static bool pin_path_is(const char *board, const char *pin_id, const char *want)
{
	char path[PATH_MAX];

	return tree_pin_path(board, pin_id, path, sizeof(path)) == 0 && strcmp(path, want) == 0;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* ---- the changes ---- */

/* One change: made to the tree as edit.c or upload.c makes it (in_place, which also checks
 * what it did), and the same change on the server (on_server). A board's change is the
 * server's first (the list of boards is asked again whenever boards/ is stale, and a list
 * that predated it would undo it). fresh: checks a rebuild from nothing, where it differs by
 * design from the in-place listing (NULL: it does not). */
struct change {
	const char *what;
	void (*in_place)(void);
	void (*on_server)(void);
	bool server_first;
	void (*fresh)(void);
	/* tree_pins_version stays the same. None does: every change made through the mount gives
	 * a new version, as tree.h says (a mismatch found would be marked here, and reported). */
	bool version_stays;
};

/* The pin a change sends and the server keeps: PATCH's and POST's answer. */
static cJSON *answer;

static void set_answer(cJSON *pin)
{
	cJSON_Delete(answer);
	answer = pin;
}

static void server_takes_answer(void)
{
	server_put_pin(answer);
}

/* An upload (edit.c's copy-in: tree_apply_pin(NULL, pin, the file's extension)). */
static void upload_pancakes(void)
{
	set_answer(pin_json("1010", "b1", NULL, "Pancakes", "2023-01-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin(NULL, answer, ".jpg") == 0);
	CHECK(is_pin("boards/Recipes/Pancakes.jpg", NODE_PIN_IMAGE, "1010"));
	CHECK(pin_path_is("b1", "1010", "boards/Recipes/Pancakes.jpg"));
	CHECK(tree_has_pin("b1", "1010"));
}

/* A carousel saved where an older pin holds the name of its second item: the carousel takes
 * the suffix, its items with it; nothing else moves. */
static void upload_carousel_under_an_items_name(void)
{
	set_answer(media_pin_json("2010", "b2", "Shell [2]", "2023-03-01T10:00:00", "i"));
	CHECK(tree_apply_pin(NULL, answer, ".png") == 0);
	server_put_pin(answer);
	set_answer(media_pin_json("2011", "b2", "Shell", "2023-03-02T10:00:00", "iv"));
	CHECK(tree_apply_pin(NULL, answer, ".png") == 0);
	CHECK(is_pin("boards/Travel/Shell [2].png", NODE_PIN_IMAGE, "2010"));
	CHECK(is_pin("boards/Travel/Shell {2011}.png", NODE_PIN_IMAGE, "2011"));
	CHECK(is_pin("boards/Travel/Shell {2011} [2].mp4", NODE_PIN_PART, "2011"));
	CHECK(gone("boards/Travel/Shell.png"));
}

/* A pin whose title is taken in its folder gets the suffix; the older ones keep theirs. */
static void upload_third_dup(void)
{
	set_answer(pin_json("1011", "b1", NULL, "Dup", "2023-02-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin(NULL, answer, ".jpg") == 0);
	CHECK(is_pin("boards/Recipes/Dup {1011}.jpg", NODE_PIN_IMAGE, "1011"));
	CHECK(is_pin("boards/Recipes/Dup.json", NODE_PIN_JSON, "1002"));
}

/* A pin older than the folder's "Dup" (a save of an old pin): a rebuild from nothing gives the
 * oldest pin the plain name, but names stay while a mount runs (names.h: "a name held before
 * stays while the title still gives it"), so in place the newcomer takes the suffix. */
static void upload_older_dup(void)
{
	set_answer(pin_json("1012", "b1", NULL, "Dup", "2020-06-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin(NULL, answer, ".jpg") == 0);
	CHECK(is_pin("boards/Recipes/Dup {1012}.jpg", NODE_PIN_IMAGE, "1012"));
	CHECK(is_pin("boards/Recipes/Dup.jpg", NODE_PIN_IMAGE, "1002"));
}

/* The listing from nothing: a new mount's names, the oldest pin first. tree_invalidate gives
 * the same, since it forgets the names with the listings; docs/design.md ("Names stay put
 * while mounted") says a refresh keeps them. Checked as it is, and reported: whether SIGHUP,
 * which calls tree_invalidate, may rename pins under a running mount is not decided here. */
static void fresh_older_dup(void)
{
	CHECK(is_pin("boards/Recipes/Dup.jpg", NODE_PIN_IMAGE, "1012"));
	CHECK(is_pin("boards/Recipes/Dup {1002}.jpg", NODE_PIN_IMAGE, "1002"));
	CHECK(gone("boards/Recipes/Dup {1012}.jpg"));
}

/* A file copied in as x.png whose image Pinterest serves as .jpg keeps .png (pinstore.h), in
 * place and in a rebuild alike. */
static void upload_other_ext(void)
{
	set_answer(pin_json("1013", "b1", NULL, "Photo", "2023-03-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin(NULL, answer, ".png") == 0);
	CHECK(is_pin("boards/Recipes/Photo.png", NODE_PIN_IMAGE, "1013"));
	CHECK(gone("boards/Recipes/Photo.jpg"));
}

/* mv Photo.png Photo.PNG: the file shows the other form of its extension, kept in the per-pin
 * store, which a listing made anew reads too. The pin's path changed, so tree_pins_version
 * moves: pins/ (kept past the TTL while the version holds: links.c) links to Photo.PNG. */
static void rename_ext(void)
{
	CHECK(tree_pin_ext("b1", "1013", ".PNG") == 0);
	CHECK(is_pin("boards/Recipes/Photo.PNG", NODE_PIN_IMAGE, "1013"));
	CHECK(gone("boards/Recipes/Photo.png"));
	CHECK(tree_pin_ext("b1", "1013", ".txt") == -EINVAL);
}

/* Nothing is sent for an extension (it is the file's, not the pin's): the board's stamp moves
 * all the same, so that it is listed anew. */
static void server_relists_b1(void)
{
	pthread_mutex_lock(&acct_lock);
	touch_board("b1");
	pthread_mutex_unlock(&acct_lock);
}

/* A pin without a title is named after its id. */
static void upload_untitled(void)
{
	set_answer(pin_json("2003", "b2", NULL, "", "2023-04-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin(NULL, answer, ".jpg") == 0);
	CHECK(is_pin("boards/Travel/2003.jpg", NODE_PIN_IMAGE, "2003"));
}

/* mv into another section of the board: edit.c's rename_pin passes the board it was in. */
static void move_to_section(void)
{
	set_answer(pin_json("1001", "b1", "s12", "Tomato soup", "2021-01-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin("b1", answer, ".jpg") == 0);
	CHECK(is_pin("boards/Recipes/Cake/Tomato soup.jpg", NODE_PIN_IMAGE, "1001"));
	CHECK(gone("boards/Recipes/Soup/Tomato soup.jpg"));
}

static void move_to_top(void)
{
	set_answer(pin_json("1005", "b1", NULL, "Chocolate", "2021-05-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin("b1", answer, ".jpg") == 0);
	CHECK(is_pin("boards/Recipes/Chocolate.jpg", NODE_PIN_IMAGE, "1005"));
	CHECK(gone("boards/Recipes/Cake/Chocolate.jpg"));
}

static void move_to_board(void)
{
	set_answer(pin_json("1007", "b2", "s21", "Lemon", "2021-07-01T10:00:00", ".png"));
	CHECK(tree_apply_pin("b1", answer, ".png") == 0);
	CHECK(is_pin("boards/Travel/Paris/Lemon.png", NODE_PIN_IMAGE, "1007"));
	CHECK(gone("boards/Recipes/Cake/Lemon.png"));
	CHECK(!tree_has_pin("b1", "1007"));
	CHECK(pin_path_is("b2", "1007", "boards/Travel/Paris/Lemon.png"));
}

/* A title given to the pin named after its id. */
static void retitle(void)
{
	set_answer(pin_json("1004", "b1", NULL, "Waffles", "2021-04-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin("b1", answer, ".jpg") == 0);
	CHECK(is_pin("boards/Recipes/Waffles.jpg", NODE_PIN_IMAGE, "1004"));
	CHECK(gone("boards/Recipes/1004.jpg"));
}

/* A title that three pins of the folder have already: the suffix, its sidecar alone (no
 * image). */
static void retitle_to_dup(void)
{
	set_answer(pin_json("1006", "b1", NULL, "Dup", "2021-06-01T10:00:00", NULL));
	CHECK(tree_apply_pin(NULL, answer, NULL) == 0);
	CHECK(is_pin("boards/Recipes/Dup {1006}.json", NODE_PIN_JSON, "1006"));
	CHECK(gone("boards/Recipes/Note.json"));
}

/* An edit of the sidecar that keeps the name and the place (edit.c's PATCH of a description). */
static void edit_description(void)
{
	char *text = NULL;
	size_t len;

	set_answer(pin_json("2002", "b2", NULL, "Beach", "2022-02-01T10:00:00", ".webp"));
	cJSON_ReplaceItemInObjectCaseSensitive(answer, "description",
					       cJSON_CreateString("Sand, sun and a new line"));
	CHECK(tree_apply_pin(NULL, answer, NULL) == 0);
	CHECK(tree_read_text("boards/Travel/Beach.json", &text, &len) == 0 && text &&
	      strstr(text, "Sand, sun and a new line"));
	free(text);
}

/* rm of the pin that holds the plain "Dup": the others keep their suffixes while the mount
 * runs (names.h), where a rebuild from nothing gives "Dup" to the oldest left. Its sidecar's
 * path stays a ghost for a while. */
static void delete_dup(void)
{
	tree_apply_pin_gone("b1", "1012");
	CHECK(gone("boards/Recipes/Dup.jpg"));
	CHECK(tree_ghost("/boards/Recipes/Dup.json", false));
	CHECK(!tree_ghost("/boards/Recipes/Dup.jpg", false));
	CHECK(is_pin("boards/Recipes/Dup {1002}.jpg", NODE_PIN_IMAGE, "1002"));
	CHECK(!tree_has_pin("b1", "1012"));
}

static void server_deletes_dup(void)
{
	server_drop_pin("b1", "1012");
}

/* From nothing, "Dup" goes to the oldest pin left: the rename that names.h's rule spares a
 * running rm -r, here after tree_invalidate (see fresh_older_dup). */
static void fresh_after_delete(void)
{
	CHECK(is_pin("boards/Recipes/Dup.jpg", NODE_PIN_IMAGE, "1002"));
	CHECK(gone("boards/Recipes/Dup {1002}.jpg"));
}

static void delete_in_section(void)
{
	tree_apply_pin_gone("b2", "2001");
	CHECK(gone("boards/Travel/Paris/Eiffel.jpg"));
	CHECK(is_pin("boards/Travel/Paris/Lemon.png", NODE_PIN_IMAGE, "1007"));
}

static void server_deletes_in_section(void)
{
	server_drop_pin("b2", "2001");
}

static cJSON *section;

static void set_section(cJSON *s)
{
	cJSON_Delete(section);
	section = s;
}

static void make_section(void)
{
	struct node_info st;

	set_section(section_json("s22", "Rome"));
	CHECK(tree_apply_section("b2", section) == 0);
	CHECK(tree_stat("boards/Travel/Rome", false, &st) == 0 && st.type == NODE_SECTION &&
	      strcmp(st.section_id, "s22") == 0);
}

/* A section whose name has a pin name's form: the board's top pins may not take the base. */
static void make_section_like_a_pin(void)
{
	set_section(section_json("s13", "Pancakes.jpg"));
	CHECK(tree_apply_section("b1", section) == 0);
	CHECK(is_pin("boards/Recipes/Pancakes {1010}.jpg", NODE_PIN_IMAGE, "1010"));
}

static void upload_reserved_title(void)
{
	set_answer(pin_json("1014", "b1", NULL, "Pancakes", "2023-05-01T10:00:00", ".jpg"));
	CHECK(tree_apply_pin(NULL, answer, ".jpg") == 0);
	CHECK(is_pin("boards/Recipes/Pancakes {1014}.jpg", NODE_PIN_IMAGE, "1014"));
}

static void rename_section(void)
{
	set_section(section_json("s12", "Cakes"));
	CHECK(tree_apply_section("b1", section) == 0);
	CHECK(is_pin("boards/Recipes/Cakes/Tomato soup.json", NODE_PIN_JSON, "1001"));
	CHECK(gone("boards/Recipes/Cake"));
}

static void server_takes_section_b1(void)
{
	server_put_section("b1", section);
}

static void server_takes_section_b2(void)
{
	server_put_section("b2", section);
}

static void remove_section(void)
{
	tree_apply_section_gone("b1", "s12");
	CHECK(gone("boards/Recipes/Cakes"));
	CHECK(!tree_has_pin("b1", "1001"));
}

static void server_removes_section(void)
{
	server_drop_section("b1", "s12");
}

static cJSON *board;

static void set_board(cJSON *b)
{
	cJSON_Delete(board);
	board = b;
}

static void server_makes_board(void)
{
	set_board(board_json("b4", "Art", "PUBLIC", "2024-02-01T00:00:00"));
	server_put_board(board);
}

static void make_board(void)
{
	struct node_info st;

	CHECK(tree_apply_board(board) == 0);
	CHECK(tree_stat("boards/Art", false, &st) == 0 && st.type == NODE_BOARD &&
	      strcmp(st.board_id, "b4") == 0);
}

static void server_renames_board(void)
{
	set_board(board_json("b2", "Trips", "PUBLIC", "2020-02-01T00:00:00"));
	server_put_board(board);
}

static void rename_board(void)
{
	char path[PATH_MAX];

	CHECK(tree_apply_board(board) == 0);
	CHECK(tree_board_path("b2", path, sizeof(path)) == 0 && strcmp(path, "boards/Trips") == 0);
	CHECK(is_pin("boards/Trips/Paris/Lemon.png", NODE_PIN_IMAGE, "1007"));
	CHECK(gone("boards/Travel"));
}

static void server_removes_board(void)
{
	server_drop_board("b3");
}

static void remove_board(void)
{
	tree_apply_board_gone("b3");
	CHECK(gone("boards/Diary"));
	CHECK(tree_pin_path("b3", "3001", (char[PATH_MAX]){0}, PATH_MAX) == -ENOENT);
}

static const struct change changes[] = {
    {"upload", upload_pancakes, server_takes_answer, false, NULL, false},
    {"upload under a taken title", upload_third_dup, server_takes_answer, false, NULL, false},
    {"carousel saved where a pin holds its item's name", upload_carousel_under_an_items_name,
     server_takes_answer, false, NULL, false},
    {"upload of an older pin under a taken title", upload_older_dup, server_takes_answer, false,
     fresh_older_dup, false},
    {"upload keeping its file's extension", upload_other_ext, server_takes_answer, false, NULL,
     false},
    {"extension renamed", rename_ext, server_relists_b1, false, NULL, false},
    {"upload without a title", upload_untitled, server_takes_answer, false, NULL, false},
    {"move to another section", move_to_section, server_takes_answer, false, NULL, false},
    {"move to the board's top", move_to_top, server_takes_answer, false, NULL, false},
    {"move to another board", move_to_board, server_takes_answer, false, NULL, false},
    {"retitle", retitle, server_takes_answer, false, NULL, false},
    {"retitle to a taken title", retitle_to_dup, server_takes_answer, false, NULL, false},
    {"edit of a description", edit_description, server_takes_answer, false, NULL, false},
    {"delete of a name's holder", delete_dup, server_deletes_dup, false, fresh_after_delete, false},
    {"delete in a section", delete_in_section, server_deletes_in_section, false, NULL, false},
    {"section made", make_section, server_takes_section_b2, false, NULL, false},
    {"section named like a pin's file", make_section_like_a_pin, server_takes_section_b1, false,
     NULL, false},
    {"upload under a title a section reserves", upload_reserved_title, server_takes_answer, false,
     NULL, false},
    {"section renamed", rename_section, server_takes_section_b1, false, NULL, false},
    {"section removed with its pins", remove_section, server_removes_section, false, NULL, false},
    {"board made", make_board, server_makes_board, true, NULL, false},
    {"board renamed", rename_board, server_renames_board, true, NULL, false},
    {"board removed", remove_board, server_removes_board, true, NULL, false},
};

/* Makes the change in place and lists the tree; gives the server the change; lists the tree
 * again after the TTL (the boards changed are listed anew, keeping their pins' names), then
 * from nothing. Returns the last listing. */
static char *compare(const struct change *c, char *before)
{
	unsigned pins, boards = walks_of_boards();
	char *in_place, *relisted, *fresh;
	uint64_t version = 0, now = 0;

	CHECK(tree_pins_version(&version) == 0);
	if (c->server_first)
		c->on_server();
	pins = walks_of_pins();
	c->in_place();
	CHECK(tree_pins_version(&now) == 0);
	CHECK(c->version_stays ? now == version : now != version);
	in_place = snapshot();
	CHECK(strcmp(in_place, before) != 0); /* the change shows */
	if (!c->server_first) {
		/* In place: no board was listed again for it. */
		CHECK(walks_of_pins() == pins);
		c->on_server();
	}
	sleep_s(TTL_S + 0.05);
	relisted = snapshot();
	/* What the server holds now was listed anew since it got there (by this listing, or by
	 * a walk's prefetch while the TTL ran out). */
	CHECK(c->server_first ? walks_of_boards() > boards : walks_of_pins() > pins);
	if (strcmp(in_place, relisted) != 0)
		fprintf(stderr, "%s: in place, then listed again after the TTL:\n", c->what);
	CHECK_STR(in_place, relisted);
	tree_invalidate();
	fresh = snapshot();
	if (c->fresh) {
		CHECK(strcmp(fresh, relisted) != 0);
		c->fresh();
	} else {
		if (strcmp(fresh, relisted) != 0)
			fprintf(stderr, "%s: listed again, then from nothing:\n", c->what);
		CHECK_STR(fresh, relisted);
	}
	free(before);
	free(in_place);
	free(relisted);
	return fresh;
}

static int start_tree(void)
{
	struct tree_config cfg = {.ttl_s = TTL_S, .head_parallel = 4};
	cJSON *me = cJSON_Parse("{\"username\": \"tester\", \"pin_count\": 10}");

	/* As main.c does: boards/ listed beside the token check, then the tree. */
	tree_preload_start();
	return tree_init(&cfg, me);
}

int main(void)
{
	char name[64], cmd[128], *listing;

	snprintf(top, sizeof(top), "/tmp/pinfs-tree-edit-XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", top);
	snprintf(log_path, sizeof(log_path), "%s/log", top);
	CHECK(log_use_file(log_path) == 0);
	CHECK(cache_init(cache_dir) == 0);
	CHECK(pinstore_init(cache_dir) == 0);
	make_account();
	tree_set_source(serve);
	CHECK(start_tree() == 0);
	CHECK(walks_of_boards() == 1); /* the preload's */
	CHECK(tree_username(name, sizeof(name)) == 0 && strcmp(name, "tester") == 0);

	listing = snapshot();
	CHECK(is_pin("boards/Recipes/Dup.jpg", NODE_PIN_IMAGE, "1002"));
	CHECK(is_pin("boards/Recipes/Dup {1003}.jpg", NODE_PIN_IMAGE, "1003"));
	CHECK(is_pin("boards/Recipes/1004.jpg", NODE_PIN_IMAGE, "1004"));
	CHECK(is_pin("boards/Recipes/Note.json", NODE_PIN_JSON, "1006"));
	CHECK(gone("boards/Recipes/Note.jpg"));
	CHECK(strstr(listing, "boards/Diary: 0\n  .board.json - board.json board=b3") != NULL);
	CHECK(strstr(listing, "Me.jpg - image board=b3 section= pin=3001 size=-1 secret\n"));
	/* Every kind: a video and its cover; a carousel's items; the younger pin titled like one
	 * of them takes the suffix. */
	CHECK(is_pin("boards/Travel/Surf.mp4", NODE_PIN_IMAGE, "2003"));
	CHECK(is_pin("boards/Travel/Surf.jpg", NODE_PIN_PART, "2003"));
	CHECK(is_pin("boards/Travel/Trip.png", NODE_PIN_IMAGE, "2004"));
	CHECK(is_pin("boards/Travel/Trip [2].mp4", NODE_PIN_PART, "2004"));
	CHECK(is_pin("boards/Travel/Trip [3].png", NODE_PIN_PART, "2004"));
	CHECK(gone("boards/Travel/Trip [4].png") && gone("boards/Travel/Trip [2].png"));
	CHECK(gone("boards/Travel/Trip [02].mp4") && gone("boards/Travel/Surf.png"));
	CHECK(is_pin("boards/Travel/Trip [2] {2005}.jpg", NODE_PIN_IMAGE, "2005"));
	CHECK(strstr(listing, "  Trip.png - image board=b2 section= pin=2004 size=-1\n"
			      "  Trip [2].mp4 - part board=b2 section= pin=2004 size=-1\n"
			      "  Trip [3].png - part board=b2 section= pin=2004 size=-1\n"
			      "  Trip.json - pin.json") != NULL);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
		listing = compare(&changes[i], listing);

	/* A mount started afresh on the account as it is now shows what the rebuild showed. */
	tree_cleanup();
	CHECK(start_tree() == 0);
	{
		char *again = snapshot();

		CHECK_STR(again, listing);
		free(again);
	}
	tree_cleanup();
	tree_set_source(NULL);

	free(listing);
	cJSON_Delete(answer);
	cJSON_Delete(section);
	cJSON_Delete(board);
	cJSON_Delete(acct);
	pinstore_cleanup();
	cache_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
	return check_summary();
}
