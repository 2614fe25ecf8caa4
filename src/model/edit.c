#include "edit.h"

#include "api.h"
#include "log.h"
#include "meta.h"
#include "names.h"
#include "pinstore.h"
#include "stats.h"
#include "textcheck.h"
#include "tree.h"
#include "upload.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

/* Pinterest's limits on pin text (characters, not bytes). */
static const struct {
	const char *field;
	size_t max;
} pin_limits[] = {{"title", 100}, {"description", 800}, {"link", 2048}, {"alt_text", 500}};

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Splits path into its folder (into parent) and its last part. */
static const char *split(const char *path, char *parent, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n >= len)
		n = len - 1;
	memcpy(parent, path, n);
	parent[n] = '\0';
	if (n == 0)
		snprintf(parent, len, "/");
	return slash ? slash + 1 : path;
}

/* The title the first len bytes of a file name stand for: '／' back to '/'. */
static char *title_cut(const char *name, size_t len)
{
	char *base = strndup(name, len), *title;

	if (!base)
		return NULL;
	title = names_to_title(base);
	free(base);
	return title;
}

/* The title a file name stands for: without its extension, '／' back to '/'. */
static char *title_of(const char *name)
{
	return title_cut(name, names_strip_ext(name, NULL));
}

/* Pinterest's published limit on section names; checked here so that nothing is sent. */
static int check_section_name(const char *name)
{
	if (utf8_chars(name) > 180) {
		log_warn("\"%.60s...\": a section name has at most 180 characters", name);
		return -EINVAL;
	}
	return 0;
}

static int check_title(const char *title)
{
	if (utf8_chars(title) > 100) {
		log_warn("\"%.60s...\": a pin title has at most 100 characters", title);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int check_pin_value(const char *key, const cJSON *v);

/* True when the object as Pinterest holds it has every field of a PATCH body (a "" sent
 * clears a field, which then reads as null or ""). */
static bool holds_fields(const cJSON *object, const cJSON *body)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, body)
	{
		const cJSON *now = cJSON_GetObjectItemCaseSensitive(object, v->string);
		bool cleared = cJSON_IsString(v) && !v->valuestring[0];

		if (cJSON_Compare(now, v, true) || (cleared && (!now || cJSON_IsNull(now))))
			continue;
		/* A pin's board and section are read back as fields of their own names. */
		if (strcmp(v->string, "board_section_id") == 0 && cJSON_IsNull(v) &&
		    (!now || cJSON_IsNull(now)))
			continue;
		return false;
	}
	return true;
}

struct by_id {
	const char *id;
	cJSON *found;
};

static int match_id(const cJSON *it, void *ctx)
{
	struct by_id *b = ctx;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

	if (!cJSON_IsString(id) || strcmp(id->valuestring, b->id) != 0)
		return 0;
	b->found = cJSON_Duplicate(it, true); /* the page's tree goes with the page */
	return b->found ? 1 : -ENOMEM;
}

/* The object at api_path as Pinterest holds it now: a GET, or for a section, which v5 has no
 * GET of, its board's list of sections. Caller deletes *now. */
static int read_back(const char *api_path, cJSON **now)
{
	const char *sec = strstr(api_path, "/sections/");
	char list[128];
	struct by_id b = {NULL, NULL};
	int result;

	if (!sec)
		return api_call("GET", api_path, NULL, now);
	snprintf(list, sizeof(list), "%.*s/sections", (int)(sec - api_path), api_path);
	b.id = sec + strlen("/sections/");
	result = api_list(list, true, match_id, &b);
	*now = b.found;
	return result == 1 ? 0 : result ? result : -ENOENT;
}

/* PATCH body to api_path. When its answer is lost (EIO: a stall, a closed connection), the
 * change may have been made all the same: one GET of the object tells, and a change that is
 * there is a success, with the object as the answer. Never sent twice by this. */
static int patch(const char *api_path, const cJSON *body, cJSON **answer)
{
	int result = api_call("PATCH", api_path, body, answer);
	cJSON *now = NULL;

	if (result != -EIO && result != -ETIMEDOUT)
		return result;
	if (read_back(api_path, &now) == 0 && cJSON_IsObject(now) && holds_fields(now, body)) {
		log_info("PATCH %s: the answer was lost, the change was made", api_path);
		*answer = now;
		return 0;
	}
	cJSON_Delete(now);
	return result;
}

/* ---- folders ---- */

/* A walk of a listing for a board or section of one name. */
struct hunt {
	const char *name;
	bool fold;    /* ignore ASCII case, as Pinterest does for names it keeps unique */
	cJSON *found; /* the first match, a copy: the caller's */
};

static int hunt_item(const cJSON *it, void *ctx)
{
	struct hunt *h = ctx;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");

	if (!cJSON_IsString(name) || (h->fold ? strcasecmp(name->valuestring, h->name)
					      : strcmp(name->valuestring, h->name)) != 0)
		return 0;
	/* The page's tree goes with the page (jarena.h): keep a copy. */
	h->found = cJSON_Duplicate(it, true);
	return h->found ? 1 : -ENOMEM;
}

/* The board or section named name in the listing at list_path (every page), into *found; the
 * caller cJSON_Deletes it. Returns 0, -ENOENT when there is none, or -errno. */
static int find_named(const char *list_path, const char *name, bool fold, cJSON **found)
{
	struct hunt h = {name, fold, NULL};
	int result = api_list(list_path, true, hunt_item, &h);

	*found = h.found;
	if (result == 1)
		return 0;
	return result ? result : -ENOENT;
}

/* Installs a board (board_id NULL) or a section of board_id in the tree. */
static int apply_folder(const char *board_id, const cJSON *j)
{
	return board_id ? tree_apply_section(board_id, j) : tree_apply_board(j);
}

/* POST of a board (board_id NULL) or of one of board_id's sections, named name, to api_path,
 * which lists them too. Returns 0 or -errno. */
static int make_folder(const char *path, const char *api_path, const char *board_id,
		       const cJSON *body, const char *name)
{
	cJSON *answer = NULL, *found = NULL;
	int result = api_call("POST", api_path, body, &answer);

	if (!result)
		result = apply_folder(board_id, answer);
	if (result == -EIO) {
		/* The answer was lost or broken (cut, stalled, 5xx) and the folder may have been
		 * made: one walk of the listing settles it. The tree had no folder of that name,
		 * so one of exactly that name is this one. */
		result = find_named(api_path, name, false, &found);
		log_info("mkdir %s: the answer was lost; %s", path,
			 !result	     ? "it was made"
			 : result == -ENOENT ? "it was not made"
					     : "whether it was made is not known");
		result = result ? -EIO : apply_folder(board_id, found);
	} else if (result == (board_id ? -EBUSY : -EINVAL)) {
		/* Pinterest's answer to a name taken ignoring case (400 for a board, 409 for a
		 * section): maybe by a folder made elsewhere that the tree does not show yet. It
		 * shows from now on. A 400 for another reason stays EINVAL. */
		if (find_named(api_path, name, true, &found) == 0)
			apply_folder(board_id, found);
		result = board_id || found ? -EEXIST : -EINVAL;
	}
	cJSON_Delete(found);
	cJSON_Delete(answer);
	return result;
}

struct fold_match {
	const char *name;
	bool hit;
};

static int match_folded(void *ctx, const char *name, mode_t kind)
{
	struct fold_match *m = ctx;

	m->hit = kind == S_IFDIR && strcasecmp(name, m->name) == 0;
	return m->hit;
}

/* True when boards/ shows a board named name but for its case: Pinterest keeps board names
 * unique ignoring case, and would refuse the new one. */
static bool board_name_taken(const char *boards, const char *name)
{
	struct fold_match m = {name, false};

	tree_list(boards, 0, match_folded, &m, NULL);
	return m.hit;
}

int edit_mkdir(const char *path)
{
	struct node_info parent, existing;
	char dir[PATH_MAX], api_path[128], *title = NULL;
	const char *base = split(path, dir, sizeof(dir)), *board_id = NULL;
	cJSON *body = NULL;
	int result;

	result = tree_stat(dir, false, &parent);
	if (result)
		return result;
	if (parent.type != NODE_BOARDS && parent.type != NODE_BOARD)
		return -EPERM;
	if (tree_stat(path, false, &existing) == 0)
		return -EEXIST;
	if (names_is_scratch(base)) {
		log_warn("mkdir %s: boards and sections cannot be named with a leading '.'", path);
		return -EINVAL;
	}
	if (parent.type == NODE_BOARDS && board_name_taken(dir, base)) {
		log_warn("mkdir %s: a board of that name in another case exists, and Pinterest's "
			 "board names ignore case",
			 path);
		return -EEXIST;
	}
	title = names_to_title(base);
	body = cJSON_CreateObject();
	if (!title || !body || !cJSON_AddStringToObject(body, "name", title)) {
		result = -ENOMEM;
		goto out;
	}
	snprintf(api_path, sizeof(api_path), "/boards");
	if (parent.type == NODE_BOARD) {
		board_id = parent.board_id;
		snprintf(api_path, sizeof(api_path), "/boards/%s/sections", board_id);
		result = check_section_name(title);
	}
	if (!result)
		result = make_folder(path, api_path, board_id, body, title);
out:
	cJSON_Delete(body);
	free(title);
	return result;
}

static int count_entry(void *ctx, const char *name, mode_t kind)
{
	(void)kind;
	if (strcmp(name, ".board.json") != 0)
		++*(size_t *)ctx;
	return 0;
}

/* True when GET api_path answers 404: the object is gone. */
static bool gone_on_server(const char *api_path)
{
	cJSON *answer = NULL;
	int result = api_call("GET", api_path, NULL, &answer);

	cJSON_Delete(answer);
	return result == -ENOENT;
}

/* DELETE api_path. A 404 to a DELETE that was sent again (the first one's answer was cut or
 * lost) means the first one did it; so does a 404 to one GET of check_path after an answer lost
 * for good (EIO: stalled past the retry time). Returns 0, -ENOENT for an object deleted
 * elsewhere before (the caller says so), or -errno. */
static int delete_object(const char *path, const char *api_path, const char *check_path)
{
	cJSON *answer = NULL;
	int result = api_call("DELETE", api_path, NULL, &answer);

	cJSON_Delete(answer);
	if ((result == -ENOENT && api_last_retried()) ||
	    (result == -EIO && gone_on_server(check_path))) {
		log_info("%s: deleted, though the answer was lost", path);
		result = 0;
	}
	return result;
}

/* Whether the first page of the listing at api_path holds an item: 1, 0, or -errno. */
static int has_items(const char *api_path)
{
	cJSON *answer = NULL;
	const cJSON *items;
	int result = api_call("GET", api_path, NULL, &answer);

	if (!result) {
		items = cJSON_GetObjectItemCaseSensitive(answer, "items");
		if (cJSON_IsArray(items)) {
			result = cJSON_GetArraySize(items) > 0;
		} else {
			log_warn("GET %.200s: answer has no items list", api_path);
			result = -EIO;
		}
	}
	cJSON_Delete(answer);
	return result;
}

/* Pinterest deletes a board or section with everything in it, and the tree's listing may
 * predate a pin saved there since by another client (pin_count is not documented as exact):
 * one fresh look at its first pin, and at a board's first section, before the DELETE. An
 * entry found is one the mount never showed: -ENOTEMPTY, and every listing is asked for again
 * at the next look, so that it shows. base: the folder's API path. */
static int check_empty(const char *path, const struct node_info *info, const char *base)
{
	char api_path[192];
	const char *what = "pin";
	int result;

	snprintf(api_path, sizeof(api_path), "%s/pins?page_size=1", base);
	result = has_items(api_path);
	if (!result && info->type == NODE_BOARD) {
		what = "section";
		snprintf(api_path, sizeof(api_path), "%s/sections?page_size=1", base);
		result = has_items(api_path);
	}
	if (result == 1) {
		log_warn("rmdir %s: it holds a %s the mount had not shown; nothing was deleted",
			 path, what);
		tree_invalidate();
		result = -ENOTEMPTY;
	}
	return result;
}

int edit_rmdir(const char *path)
{
	struct node_info info;
	char api_path[128], check[192];
	size_t n = 0;
	int result = tree_stat(path, false, &info);

	if (result)
		return result;
	if (info.type != NODE_BOARD && info.type != NODE_SECTION)
		return info.kind == S_IFDIR ? -EPERM : -ENOTDIR;
	result = tree_list(path, 0, count_entry, &n, NULL);
	if (result == -ENOENT && info.type == NODE_BOARD) {
		/* Its listing found it deleted elsewhere, and said so: it goes from the tree
		 * too. */
		log_info("rmdir %s: it was deleted elsewhere already", path);
		tree_apply_board_gone(info.board_id);
	}
	if (result)
		return result;
	if (n)
		return -ENOTEMPTY;
	if (info.type == NODE_BOARD)
		snprintf(api_path, sizeof(api_path), "/boards/%s", info.board_id);
	else
		snprintf(api_path, sizeof(api_path), "/boards/%s/sections/%s", info.board_id,
			 info.section_id);
	/* v5 has no GET of one section: its pins answer 404 once it is gone. */
	snprintf(check, sizeof(check), "%s%s", api_path,
		 info.type == NODE_BOARD ? "" : "/pins?page_size=1");
	result = check_empty(path, &info, api_path);
	if (!result)
		result = delete_object(path, api_path, check);
	if (result == -ENOENT)
		log_warn("rmdir %s: it was deleted elsewhere already", path);
	if (result && result != -ENOENT)
		return result;
	if (info.type == NODE_BOARD)
		tree_apply_board_gone(info.board_id);
	else
		tree_apply_section_gone(info.board_id, info.section_id);
	return result;
}

/* ---- pins ---- */

static int delete_pin(const char *path, const struct node_info *info)
{
	char api_path[128];
	int result;

	snprintf(api_path, sizeof(api_path), "/pins/%s", info->pin_id);
	result = delete_object(path, api_path, api_path);
	if (result == -ENOENT)
		log_warn("rm %s: the pin was deleted elsewhere already", path);
	if (!result || result == -ENOENT) {
		tree_apply_pin_gone(info->board_id, info->pin_id);
		pinstore_forget(info->pin_id);
	}
	return result;
}

/* True when the pin has an image file beside its sidecar. */
static bool pin_has_image(const struct node_info *info)
{
	char rel[PATH_MAX];
	size_t len;

	if (tree_pin_path(info->board_id, info->pin_id, rel, sizeof(rel)) != 0)
		return true; /* when in doubt, keep the pin */
	len = strlen(rel);
	return len < 5 || strcmp(rel + len - 5, ".json") != 0;
}

int edit_unlink(const char *path)
{
	struct node_info info;
	int result = tree_stat(path, false, &info);

	if (result == -ENOENT && tree_ghost(path, true))
		return 0; /* the sidecar of a pin just deleted through its image */
	if (result)
		return result;
	switch (info.type) {
	case NODE_PIN_IMAGE:
		return delete_pin(path, &info);
	case NODE_PIN_PART:
		log_warn("rm %s: a video's cover or a carousel's item goes with its pin: remove "
			 "the pin's main file",
			 path);
		return -EPERM;
	case NODE_PIN_JSON:
		if (pin_has_image(&info)) {
			log_warn("rm %s: remove the pin's image to delete the pin", path);
			return -EPERM;
		}
		return delete_pin(path, &info);
	case NODE_BOARD_JSON:
		/* It describes the board; removing it means nothing, and rm -r of a board must
		 * get past it. It shows again, as the board does. */
		return 0;
	case NODE_BOARD:
	case NODE_SECTION:
	case NODE_BOARDS:
	case NODE_ROOT:
	case NODE_OTHER:
		return -EISDIR;
	default:
		return -EPERM;
	}
}

/* The text of a field of the pin at path (from its sidecar), or NULL. Caller frees. */
static char *pin_field(const char *path, const char *field)
{
	char *text = NULL, *value = NULL;
	size_t len;
	cJSON *j = NULL;
	const cJSON *v;

	if (tree_read_text(path, &text, &len) == 0)
		j = cJSON_ParseWithLength(text, len);
	v = cJSON_GetObjectItemCaseSensitive(j, field);
	if (cJSON_IsString(v))
		value = strdup(v->valuestring);
	cJSON_Delete(j);
	free(text);
	return value;
}

/* The sidecar path of the pin whose image or sidecar is at path. */
static void sidecar_of(const char *path, char *buf, size_t len)
{
	size_t n = names_strip_ext(path, NULL);

	snprintf(buf, len, "%.*s.json", (int)n, path);
}

static int patch_pin(const char *pin_id, const char *old_board_id, cJSON *body, const char *ext,
		     bool moving)
{
	char api_path[128];
	cJSON *answer = NULL;
	int result;

	snprintf(api_path, sizeof(api_path), "/pins/%s", pin_id);
	result = patch(api_path, body, &answer);
	if (result == -EPERM && moving) {
		/* Pinterest refuses some moves; EXDEV makes mv copy and delete by itself. */
		log_info("pin %s: Pinterest refused the move; mv copies instead", pin_id);
		result = -EXDEV;
	}
	if (!result)
		result = tree_apply_pin(old_board_id, answer, ext);
	cJSON_Delete(answer);
	return result;
}

static int rename_pin(const char *from, const struct node_info *info, const char *to)
{
	struct node_info dest;
	char dir[PATH_MAX], json[PATH_MAX];
	const char *base = split(to, dir, sizeof(dir)), *ext = NULL;
	char *title = NULL, *old_title = NULL;
	cJSON *body = cJSON_CreateObject();
	bool moving;
	int result = tree_stat(dir, false, &dest);

	if (result)
		goto out;
	if (dest.type != NODE_BOARD && dest.type != NODE_SECTION) {
		result = -EINVAL;
		goto out;
	}
	if (names_is_scratch(base)) {
		log_warn("mv %s: a pin cannot take a scratch name", from);
		result = -EINVAL;
		goto out;
	}
	names_strip_ext(base, &ext);
	title = title_of(base);
	sidecar_of(from, json, sizeof(json));
	old_title = pin_field(json, "title");
	if (!body || !title) {
		result = -ENOMEM;
		goto out;
	}
	result = check_title(title);
	if (result)
		goto out;
	if (!old_title || strcmp(old_title, title) != 0)
		cJSON_AddStringToObject(body, "title", title);
	moving = strcmp(dest.board_id, info->board_id) != 0 ||
		 strcmp(dest.section_id, info->section_id) != 0;
	if (strcmp(dest.board_id, info->board_id) != 0)
		cJSON_AddStringToObject(body, "board_id", dest.board_id);
	if (moving && dest.section_id[0])
		cJSON_AddStringToObject(body, "board_section_id", dest.section_id);
	else if (moving)
		cJSON_AddNullToObject(body, "board_section_id");
	if (!body->child) {
		/* Same title, same place: only the extension, which is the file's own. */
		if (info->type == NODE_PIN_IMAGE && *ext &&
		    (result = tree_pin_ext(info->board_id, info->pin_id, ext)))
			log_warn("mv %s: %s is not an image extension", from, ext);
		goto out;
	}
	result = patch_pin(info->pin_id, info->board_id, body,
			   info->type == NODE_PIN_IMAGE && *ext ? ext : NULL, moving);
out:
	cJSON_Delete(body);
	free(title);
	free(old_title);
	return result;
}

static int rename_folder(const struct node_info *info, const char *to)
{
	struct node_info dest;
	char dir[PATH_MAX], api_path[128];
	const char *base = split(to, dir, sizeof(dir));
	cJSON *body = cJSON_CreateObject(), *answer = NULL;
	char *title = names_to_title(base);
	int result = tree_stat(dir, false, &dest);

	if (!result && (info->type == NODE_BOARD
			    ? dest.type != NODE_BOARDS
			    : dest.type != NODE_BOARD || strcmp(dest.board_id, info->board_id))) {
		log_warn("mv %s: a %s cannot move there", to,
			 info->type == NODE_BOARD ? "board" : "section");
		result = -EINVAL;
	}
	if (!result && names_is_scratch(base))
		result = -EINVAL;
	if (!result && title && info->type == NODE_SECTION)
		result = check_section_name(title);
	if (!result && (!body || !title || !cJSON_AddStringToObject(body, "name", title)))
		result = -ENOMEM;
	if (result)
		goto out;
	if (info->type == NODE_BOARD)
		snprintf(api_path, sizeof(api_path), "/boards/%s", info->board_id);
	else
		snprintf(api_path, sizeof(api_path), "/boards/%s/sections/%s", info->board_id,
			 info->section_id);
	result = patch(api_path, body, &answer);
	if (!result)
		result = info->type == NODE_BOARD ? tree_apply_board(answer)
						  : tree_apply_section(info->board_id, answer);
out:
	cJSON_Delete(answer);
	cJSON_Delete(body);
	free(title);
	return result;
}

int edit_rename(const char *from, const char *to, unsigned int flags)
{
	struct node_info info, existing;
	int result = tree_stat(from, false, &info);

	if (result)
		return result;
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	if (tree_stat(to, false, &existing) == 0) {
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		/* Moving onto another pin or folder would delete it: Pinterest cannot replace
		 * an image, and a silent delete is worse than a refusal. */
		if (!(existing.type == info.type && strcmp(existing.pin_id, info.pin_id) == 0 &&
		      existing.pin_id[0]))
			return existing.kind == S_IFDIR ? -ENOTEMPTY : -EPERM;
	}
	switch (info.type) {
	case NODE_BOARD:
	case NODE_SECTION:
		return rename_folder(&info, to);
	case NODE_PIN_IMAGE:
	case NODE_PIN_JSON:
		return rename_pin(from, &info, to);
	case NODE_PIN_PART:
		log_warn("mv %s: a video's cover or a carousel's item goes with its pin: move "
			 "the pin's main file",
			 from);
		return -EPERM;
	default:
		return -EPERM;
	}
}

/* Checks the text a new pin is to get, as a sidecar edit would. */
static int check_pin_text(const struct pin_text *t)
{
	const char *const values[] = {t->description, t->link, t->alt_text};
	const char *const keys[] = {"description", "link", "alt_text"};
	int result = 0;

	for (size_t i = 0; i < 3 && !result; i++) {
		cJSON *v = values[i] ? cJSON_CreateString(values[i]) : NULL;

		if (values[i])
			result = v ? check_pin_value(keys[i], v) : -ENOMEM;
		cJSON_Delete(v);
	}
	return result;
}

/* The bytes a pin was made from, the name its file was given and the mtime its writer set
 * (rsync -a and cp -p set it before the close or the rename): the file reads back as written,
 * across remounts (pinstore.h). The pin exists either way; a failure here is only logged. */
static void keep_upload(const cJSON *pin, const char *name, const char *staging)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(pin, "id");
	struct stat st;
	int result;

	if (!cJSON_IsString(id))
		return;
	result = stat(staging, &st) < 0 ? -errno : 0;
	if (!result)
		result = pinstore_put(id->valuestring, name, staging, &st.st_mtim);
	if (result)
		log_warn("pin %s: its bytes are not kept (%s); it reads as Pinterest serves it",
			 id->valuestring, strerror(-result));
}

int edit_upload(const char *path, const char *staging, const struct pin_text *text)
{
	static const struct pin_text none;
	const struct pin_text *t = text ? text : &none;
	struct node_info folder;
	char dir[PATH_MAX];
	const char *base = split(path, dir, sizeof(dir)), *ext;
	/* The file's name without its extension, a video's too. */
	char *title = t->title ? strdup(t->title) : title_cut(base, names_strip_ext(base, NULL));
	cJSON *pin = NULL;
	int result = title ? tree_stat(dir, false, &folder) : -ENOMEM;

	if (!result && folder.type != NODE_BOARD && folder.type != NODE_SECTION)
		result = -EPERM;
	if (!result)
		result = check_title(title);
	if (!result)
		result = check_pin_text(t);
	if (!result) {
		struct upload u = {.staging = staging,
				   .board_id = folder.board_id,
				   .section_id = folder.section_id[0] ? folder.section_id : NULL,
				   .title = title,
				   .description = t->description,
				   .link = t->link,
				   .alt_text = t->alt_text,
				   .known = tree_has_pin};

		result = upload_pin(&u, &pin);
	}
	if (!result) {
		keep_upload(pin, base, staging);
		names_strip_ext(base, &ext);
		result = tree_apply_pin(NULL, pin, ext);
	}
	/* upload.c has said why for a file it refused. */
	if (result && result != -EMEDIUMTYPE && result != -EFBIG)
		log_warn("%s: not uploaded (%s)", path, strerror(-result));
	stats_upload(result == 0);
	cJSON_Delete(pin);
	free(title);
	return result;
}

/* ---- sidecars ---- */

static bool is_writable(const char *const *fields, const char *key)
{
	for (; *fields; fields++)
		if (strcmp(*fields, key) == 0)
			return true;
	return false;
}

static int check_pin_value(const char *key, const cJSON *v)
{
	if (!cJSON_IsString(v) && !cJSON_IsNull(v)) {
		log_warn("\"%s\" must be a string", key);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(pin_limits) / sizeof(pin_limits[0]); i++)
		if (cJSON_IsString(v) && strcmp(pin_limits[i].field, key) == 0 &&
		    utf8_chars(v->valuestring) > pin_limits[i].max) {
			log_warn("\"%s\" has at most %zu characters", key, pin_limits[i].max);
			return -EINVAL;
		}
	return 0;
}

static int check_board_value(const char *key, const cJSON *v)
{
	if (!cJSON_IsString(v) && !(cJSON_IsNull(v) && strcmp(key, "description") == 0)) {
		log_warn("\"%s\" must be a string", key);
		return -EINVAL;
	}
	if (strcmp(key, "privacy") == 0 && strcmp(v->valuestring, "PUBLIC") != 0 &&
	    strcmp(v->valuestring, "SECRET") != 0) {
		log_warn("\"privacy\" is PUBLIC or SECRET");
		return -EINVAL;
	}
	return 0;
}

/* Compares the edited object with the current one and collects the writable fields that
 * changed into *diff. Unknown fields and changed read-only fields are refused. */
static int diff_fields(const cJSON *now, const cJSON *edited, const char *const *writable,
		       int (*check)(const char *, const cJSON *), cJSON *diff)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, edited)
	{
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(now, v->string);
		int result;

		if (!cur) {
			log_warn("unknown field \"%s\"", v->string);
			return -EINVAL;
		}
		if (cJSON_Compare(cur, v, true))
			continue;
		if (!is_writable(writable, v->string)) {
			log_warn("\"%s\" is read-only", v->string);
			return -EINVAL;
		}
		result = check(v->string, v);
		if (result)
			return result;
		/* null clears a text field; Pinterest takes an empty string for that. */
		cJSON_AddItemToObject(diff, v->string,
				      cJSON_IsNull(v) ? cJSON_CreateString("")
						      : cJSON_Duplicate(v, true));
	}
	return 0;
}

static const char *const board_writable[] = {"name", "description", "privacy", NULL};

int edit_diff(const cJSON *now, const cJSON *edited, bool pin, cJSON *diff)
{
	return diff_fields(now, edited, pin ? meta_pin_writable : board_writable,
			   pin ? check_pin_value : check_board_value, diff);
}

/* Refuses what the API would refuse or cJSON would silently cut: bytes that are not UTF-8,
 * and a string holding \u0000. */
static int check_text(const char *path, const char *text, size_t len)
{
	if (!text_utf8_valid(text, len)) {
		log_warn("%s: the text is not UTF-8; nothing was changed", path);
		return -EINVAL;
	}
	if (text_json_has_nul(text, len)) {
		log_warn("%s: a string holds \\u0000; nothing was changed", path);
		return -EINVAL;
	}
	return 0;
}

/* Keeps only the writable fields of a pin's sidecar copied from another pin: its id, dates
 * and place are the other pin's, not an edit. */
static void keep_copied(cJSON *edited)
{
	cJSON *v = edited->child, *next;

	for (; v; v = next) {
		next = v->next;
		if (!is_writable(meta_pin_writable, v->string))
			cJSON_Delete(cJSON_DetachItemViaPointer(edited, v));
	}
}

/* edit_text; copied: the text is another pin's sidecar (edit_text_copied). */
static int apply_text(const char *path, const char *text, size_t len, bool copied)
{
	struct node_info info;
	char *cur_text = NULL, api_path[128];
	size_t cur_len;
	cJSON *now = NULL, *edited = NULL, *diff = cJSON_CreateObject(), *answer = NULL;
	bool pin;
	int result = tree_stat(path, false, &info);

	if (!result && info.type != NODE_PIN_JSON && info.type != NODE_BOARD_JSON)
		result = -EPERM;
	if (!result)
		result = tree_read_text(path, &cur_text, &cur_len);
	if (result)
		goto out;
	pin = info.type == NODE_PIN_JSON;
	result = check_text(path, text, len);
	if (result)
		goto out;
	now = cJSON_ParseWithLength(cur_text, cur_len);
	edited = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(edited)) {
		log_warn("%s: not a JSON object; the pin is unchanged", path);
		result = -EINVAL;
		goto out;
	}
	if (copied && pin)
		keep_copied(edited);
	if (!now || !diff) {
		result = -ENOMEM;
		goto out;
	}
	result = edit_diff(now, edited, pin, diff);
	if (result) {
		log_warn("%s: edit refused; nothing was changed", path);
		goto out;
	}
	if (!diff->child)
		goto out;
	if (pin)
		snprintf(api_path, sizeof(api_path), "/pins/%s", info.pin_id);
	else
		snprintf(api_path, sizeof(api_path), "/boards/%s", info.board_id);
	result = patch(api_path, diff, &answer);
	if (!result)
		result = pin ? tree_apply_pin(NULL, answer, NULL) : tree_apply_board(answer);
out:
	cJSON_Delete(answer);
	cJSON_Delete(diff);
	cJSON_Delete(edited);
	cJSON_Delete(now);
	free(cur_text);
	return result;
}

int edit_text(const char *path, const char *text, size_t len)
{
	return apply_text(path, text, len, false);
}

int edit_text_copied(const char *path, const char *text, size_t len)
{
	return apply_text(path, text, len, true);
}

int edit_setxattr(const char *path, const char *name, const char *value, size_t size)
{
	static const char prefix[] = "user.pinterest.";
	struct node_info info;
	cJSON *body = NULL, *v;
	char *text = NULL;
	int result = tree_stat(path, false, &info);

	if (result)
		return result;
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return -ENOTSUP;
	name += sizeof(prefix) - 1;
	if (info.type == NODE_PIN_PART) {
		log_warn("setfattr %s: a video's cover or a carousel's item is read-only: set it "
			 "on the pin's main file",
			 path);
		return -EPERM;
	}
	if (info.type != NODE_PIN_IMAGE && info.type != NODE_PIN_JSON)
		return -ENOTSUP;
	if (!is_writable(meta_pin_writable, name)) {
		log_warn("setfattr %s: user.pinterest.%s is read-only", path, name);
		return -EPERM;
	}
	if (!text_utf8_valid(value, size)) {
		log_warn("setfattr %s: the value is not UTF-8 text", path);
		return -EINVAL;
	}
	text = strndup(value, size);
	body = cJSON_CreateObject();
	v = text ? cJSON_CreateString(text) : NULL;
	if (!body || !v) {
		cJSON_Delete(v);
		result = -ENOMEM;
		goto out;
	}
	result = check_pin_value(name, v);
	cJSON_AddItemToObject(body, name, v);
	if (!result)
		result = patch_pin(info.pin_id, NULL, body, NULL, false);
out:
	cJSON_Delete(body);
	free(text);
	return result;
}
