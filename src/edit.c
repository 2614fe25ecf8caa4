#include "edit.h"

#include "api.h"
#include "local.h"
#include "log.h"
#include "meta.h"
#include "names.h"
#include "stats.h"
#include "tree.h"
#include "upload.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

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

/* The title a file name stands for: without its extension, '／' back to '/'. */
static char *title_of(const char *name)
{
	size_t len = names_strip_ext(name, NULL);
	char *base = strndup(name, len), *title;

	if (!base)
		return NULL;
	title = names_to_title(base);
	free(base);
	return title;
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

/* ---- folders ---- */

int edit_mkdir(const char *path)
{
	struct node_info parent, existing;
	char dir[PATH_MAX], api_path[128], *title = NULL;
	const char *base = split(path, dir, sizeof(dir));
	cJSON *body = NULL, *answer = NULL;
	int result;

	result = tree_stat(dir, false, &parent);
	if (result)
		return result;
	if (parent.type != NODE_BOARDS && parent.type != NODE_BOARD)
		return -EPERM;
	if (tree_stat(path, false, &existing) == 0 || local_exists(path))
		return -EEXIST;
	if (names_is_scratch(base)) {
		log_warn("mkdir %s: boards and sections cannot be named with a leading '.'", path);
		return -EINVAL;
	}
	title = names_to_title(base);
	body = cJSON_CreateObject();
	if (!title || !body || !cJSON_AddStringToObject(body, "name", title)) {
		result = -ENOMEM;
		goto out;
	}
	if (parent.type == NODE_BOARDS) {
		result = api_call("POST", "/boards", body, &answer);
		if (!result)
			result = tree_apply_board(answer);
	} else if (!(result = check_section_name(title))) {
		snprintf(api_path, sizeof(api_path), "/boards/%s/sections", parent.board_id);
		result = api_call("POST", api_path, body, &answer);
		if (!result)
			result = tree_apply_section(parent.board_id, answer);
	}
	if (result == -EBUSY) /* 409: the board has a section of that name */
		result = -EEXIST;
out:
	cJSON_Delete(answer);
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

int edit_rmdir(const char *path)
{
	struct node_info info;
	char api_path[128];
	size_t n = 0;
	cJSON *answer = NULL;
	int result = tree_stat(path, false, &info);

	if (result)
		return result;
	if (info.type != NODE_BOARD && info.type != NODE_SECTION)
		return info.kind == S_IFDIR ? -EPERM : -ENOTDIR;
	result = tree_list(path, 0, count_entry, &n, NULL);
	if (result)
		return result;
	local_list(path, count_entry, &n);
	if (n)
		return -ENOTEMPTY;
	if (info.type == NODE_BOARD)
		snprintf(api_path, sizeof(api_path), "/boards/%s", info.board_id);
	else
		snprintf(api_path, sizeof(api_path), "/boards/%s/sections/%s", info.board_id,
			 info.section_id);
	result = api_call("DELETE", api_path, NULL, &answer);
	cJSON_Delete(answer);
	if (result)
		return result;
	if (info.type == NODE_BOARD)
		tree_apply_board_gone(info.board_id);
	else
		tree_apply_section_gone(info.board_id, info.section_id);
	return 0;
}

/* ---- pins ---- */

static int delete_pin(const struct node_info *info)
{
	char api_path[128];
	cJSON *answer = NULL;
	int result;

	snprintf(api_path, sizeof(api_path), "/pins/%s", info->pin_id);
	result = api_call("DELETE", api_path, NULL, &answer);
	cJSON_Delete(answer);
	if (!result)
		tree_apply_pin_gone(info->board_id, info->pin_id);
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
		return delete_pin(&info);
	case NODE_PIN_JSON:
		if (pin_has_image(&info)) {
			log_warn("rm %s: remove the pin's image to delete the pin", path);
			return -EPERM;
		}
		return delete_pin(&info);
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
	result = api_call("PATCH", api_path, body, &answer);
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
	if (!body->child)
		goto out; /* same title, same place: nothing to tell Pinterest */
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
	result = api_call("PATCH", api_path, body, &answer);
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
	if (tree_stat(to, false, &existing) == 0 || local_exists(to)) {
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
	default:
		return -EPERM;
	}
}

int edit_upload(const char *path, const char *staging)
{
	struct node_info folder;
	char dir[PATH_MAX];
	const char *base = split(path, dir, sizeof(dir)), *ext;
	char *title = title_of(base);
	cJSON *pin = NULL;
	int result = title ? tree_stat(dir, false, &folder) : -ENOMEM;

	if (!result && folder.type != NODE_BOARD && folder.type != NODE_SECTION)
		result = -EPERM;
	if (!result)
		result = check_title(title);
	if (!result) {
		struct upload u = {staging, folder.board_id,
				   folder.section_id[0] ? folder.section_id : NULL, title};

		result = upload_pin(&u, &pin);
	}
	if (!result) {
		names_strip_ext(base, &ext);
		result = tree_apply_pin(NULL, pin, ext);
	}
	if (result)
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

int edit_text(const char *path, const char *text, size_t len)
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
	now = cJSON_ParseWithLength(cur_text, cur_len);
	edited = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(edited)) {
		log_warn("%s: not a JSON object; the pin is unchanged", path);
		result = -EINVAL;
		goto out;
	}
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
	result = api_call("PATCH", api_path, diff, &answer);
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
	if (info.type != NODE_PIN_IMAGE && info.type != NODE_PIN_JSON)
		return -ENOTSUP;
	if (!is_writable(meta_pin_writable, name)) {
		log_warn("setfattr %s: user.pinterest.%s is read-only", path, name);
		return -EPERM;
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
