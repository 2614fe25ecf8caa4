/* Sidecar edits written by users (src/model/edit.c edit_diff, edit_text's first half): a pin's
 * <name>.json or a board's .board.json, changed in an editor, against what pinfs showed.
 *
 * Input: one flags byte (bit 0: a board's sidecar, else a pin's), then the API object the
 * current sidecar is rendered from, a NUL byte, and the edited text. Without a NUL, or when
 * the object has no id, a fixed pin or board stands in.
 */
#include "api.h"
#include "edit.h"
#include "fuzz.h"
#include "log.h"
#include "meta.h"

#include <errno.h>

static const char default_pin[] =
    "{\"id\":\"813744226420795884\",\"board_id\":\"549755885175\",\"title\":\"Lemon tart\","
    "\"description\":\"Zesty\",\"link\":null,\"alt_text\":\"a tart\",\"created_at\":"
    "\"2022-10-13T01:40:29\",\"media\":{\"media_type\":\"image\",\"images\":{\"originals\":"
    "{\"url\":\"http://h/originals/1.png\",\"width\":1200,\"height\":900}}}}";
static const char default_board[] =
    "{\"id\":\"549755885175\",\"name\":\"Recipes\",\"description\":\"Cooking\","
    "\"privacy\":\"PUBLIC\",\"owner\":{\"username\":\"demo\"},\"pin_count\":6}";

static const char *const pin_writable[] = {"title", "description", "link", "alt_text", NULL};
static const char *const board_writable[] = {"name", "description", "privacy", NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_LVL_ERROR); /* every refusal logs a warning */
	return 0;
}

static bool listed(const char *const *keys, const char *key)
{
	for (; *keys; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Whether Pinterest would take v for key (the published limits). */
static bool value_ok(bool pin, const char *key, const cJSON *v)
{
	static const struct {
		const char *key;
		size_t max;
	} limits[] = {{"title", 100}, {"description", 800}, {"link", 2048}, {"alt_text", 500}};

	if (!pin) {
		if (cJSON_IsNull(v))
			return strcmp(key, "description") == 0;
		return cJSON_IsString(v) &&
		       (strcmp(key, "privacy") != 0 || strcmp(v->valuestring, "PUBLIC") == 0 ||
			strcmp(v->valuestring, "SECRET") == 0);
	}
	if (cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v))
		return false;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (strcmp(limits[i].key, key) == 0 && chars(v->valuestring) > limits[i].max)
			return false;
	return true;
}

/* The current sidecar, as tree_read_text would give it, parsed. */
static cJSON *current(bool pin, const char *object)
{
	cJSON *j = cJSON_Parse(object);
	struct pin *p = pin ? pin_from_json(j, NULL) : NULL;
	struct board *b = pin ? NULL : board_from_json(j);
	char *text;
	cJSON *now;

	cJSON_Delete(j);
	if (!p && !b) {
		j = cJSON_Parse(pin ? default_pin : default_board);
		p = pin ? pin_from_json(j, NULL) : NULL;
		b = pin ? NULL : board_from_json(j);
		cJSON_Delete(j);
	}
	text = pin ? meta_pin_json(p) : meta_board_json(b);
	FUZZ_CHECK(text != NULL);
	now = cJSON_Parse(text);
	FUZZ_CHECK(cJSON_IsObject(now));
	free(text);
	pin_free(p);
	board_free(b);
	return now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul;
	const char *edited_text;
	char *object;
	size_t edited_len;
	bool pin;
	cJSON *now, *edited, *diff, *d;
	const cJSON *v;
	int result;

	if (size < 1)
		return 0;
	pin = !(data[0] & 1);
	nul = memchr(data + 1, '\0', size - 1);
	object = fuzz_string(data + 1, nul ? (size_t)(nul - data - 1) : 0);
	edited_text = nul ? (const char *)nul + 1 : (const char *)data + 1;
	edited_len = nul ? size - (size_t)(nul + 1 - data) : size - 1;
	now = current(pin, object);
	free(object);

	/* The sidecar written back unchanged asks for nothing. */
	diff = cJSON_CreateObject();
	FUZZ_CHECK(diff && edit_diff(now, now, pin, diff) == 0 && !diff->child);
	cJSON_Delete(diff);

	edited = cJSON_ParseWithLength(edited_text, edited_len);
	if (!cJSON_IsObject(edited)) { /* edit_text refuses it before comparing */
		cJSON_Delete(edited);
		cJSON_Delete(now);
		return 0;
	}
	diff = cJSON_CreateObject();
	FUZZ_CHECK(diff != NULL);
	result = edit_diff(now, edited, pin, diff);
	FUZZ_CHECK(result == 0 || result == -EINVAL);
	if (result) {
		/* Refused: some field is unknown, read-only and changed, or not acceptable. */
		bool reason = false;

		cJSON_ArrayForEach(v, edited)
		{
			const cJSON *cur = cJSON_GetObjectItemCaseSensitive(now, v->string);

			reason = reason || !cur ||
				 (!cJSON_Compare(cur, v, true) &&
				  (!listed(pin ? pin_writable : board_writable, v->string) ||
				   !value_ok(pin, v->string, v)));
		}
		FUZZ_CHECK(reason);
	} else {
		/* Accepted: each changed field, in order, is in the diff as Pinterest takes it. */
		d = diff->child;
		cJSON_ArrayForEach(v, edited)
		{
			const cJSON *cur = cJSON_GetObjectItemCaseSensitive(now, v->string);

			FUZZ_CHECK(cur != NULL);
			if (cJSON_Compare(cur, v, true))
				continue;
			FUZZ_CHECK(listed(pin ? pin_writable : board_writable, v->string));
			FUZZ_CHECK(value_ok(pin, v->string, v));
			FUZZ_CHECK(d && strcmp(d->string, v->string) == 0 && cJSON_IsString(d));
			FUZZ_CHECK(strcmp(d->valuestring, cJSON_IsNull(v) ? "" : v->valuestring) ==
				   0);
			d = d->next;
		}
		FUZZ_CHECK(d == NULL);
	}
	cJSON_Delete(diff);
	cJSON_Delete(edited);
	cJSON_Delete(now);
	return 0;
}
