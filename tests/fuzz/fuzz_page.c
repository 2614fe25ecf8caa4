/* One page of an API listing as api_list walks it (src/remote/api.c): "items" and "bookmark", every
 * item through pin_from_json, board_from_json and section_from_json (a hostile or broken
 * server may send any shape on any route), and what pinfs shows of each (src/model/meta.c).
 *
 * Input: the page's JSON text, as the server sent it.
 */
#include "api.h"
#include "fuzz.h"
#include "meta.h"
#include "names.h"

#include <strings.h>

static const char *jstr(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The same text, or both absent. */
static bool same(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* A rendered sidecar: JSON that parses back to an object whose key holds value (or null). */
static void check_rendered(const char *text, const char *key, const char *value)
{
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	FUZZ_CHECK(cJSON_IsObject(j));
	FUZZ_CHECK(value ? cJSON_IsString(v) && strcmp(v->valuestring, value) == 0
			 : cJSON_IsNull(v));
	cJSON_Delete(j);
}

/* Whether media reads as an image pin's (pinmedia.h): not a video, not a carousel. */
static bool plain_image(const cJSON *media)
{
	const char *type = jstr(media, "media_type");

	return !type || (strcmp(type, "video") != 0 && strncmp(type, "multiple_", 9) != 0);
}

static void check_pin(const cJSON *it, const char *prefer)
{
	struct pin *p = pin_from_json(it, prefer);
	const cJSON *media = cJSON_GetObjectItemCaseSensitive(it, "media");
	const cJSON *images = cJSON_GetObjectItemCaseSensitive(media, "images");
	char buf[1024], *names, *text;
	size_t need;

	FUZZ_CHECK(!p == !jstr(it, "id"));
	if (!p)
		return;
	FUZZ_CHECK(same(p->id, jstr(it, "id")) && same(p->title, jstr(it, "title")));
	FUZZ_CHECK(same(p->board_id, jstr(it, "board_id")));
	FUZZ_CHECK(same(p->section_id, jstr(it, "board_section_id")));
	FUZZ_CHECK(same(p->description, jstr(it, "description")));
	FUZZ_CHECK(same(p->created_at, jstr(it, "created_at")));
	FUZZ_CHECK(same(p->media_type, jstr(media, "media_type")));
	FUZZ_CHECK(p->created == api_parse_time(p->created_at));
	/* A video's or a carousel's files: a main one before any beside it, each a URL line. */
	FUZZ_CHECK(!p->parts || p->image_url);
	FUZZ_CHECK(!p->parts || p->parts[strlen(p->parts) - 1] == '\n');
	FUZZ_CHECK(!p->cover_url || p->image_url);
	if (!plain_image(media))
		goto rendered;
	/* An image is one the object lists, under the key given, with that URL. */
	FUZZ_CHECK(!p->image_url == !p->size_key);
	FUZZ_CHECK(!p->parts && !p->media_info && !p->cover_url);
	if (p->image_url) {
		const cJSON *img;
		bool listed = false;

		/* A key may come twice: any member of that key and URL will do. */
		cJSON_ArrayForEach(img, images)
		{
			listed = listed || (cJSON_IsObject(img) && same(img->string, p->size_key) &&
					    same(jstr(img, "url"), p->image_url));
		}
		FUZZ_CHECK(listed);
		FUZZ_CHECK(names_ext_for_url(p->image_url)[0] == '.');
	}
	if (prefer && cJSON_IsObject(images)) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(images, prefer);

		const char *url = cJSON_IsObject(want) ? jstr(want, "url") : NULL;

		/* An empty URL, or one with a line break, is a broken server's: not shown. */
		if (url && url[0] && !strpbrk(url, "\r\n"))
			FUZZ_CHECK(same(p->size_key, prefer));
	}
rendered:
	text = meta_pin_json(p);
	check_rendered(text, "title", p->title);
	check_rendered(text, "id", p->id);
	free(text);
	/* Every attribute listed has a value; the list fits what it said it needs. */
	need = meta_pin_xattr_list(p, NULL, 0);
	names = malloc(need ? need : 1);
	FUZZ_CHECK(names && meta_pin_xattr_list(p, names, need) == need);
	for (size_t at = 0; at < need; at += strlen(names + at) + 1) {
		const char *v = meta_pin_xattr_get(p, names + at, buf, sizeof(buf));

		FUZZ_CHECK(v != NULL);
		FUZZ_CHECK(strlen(names + at) < need - at);
	}
	FUZZ_CHECK(meta_pin_xattr_get(p, "user.pinterest.nothing", buf, sizeof(buf)) == NULL);
	free(names);
	pin_free(p);
}

static void check_board(const cJSON *it)
{
	struct board *b = board_from_json(it);
	char *text;

	FUZZ_CHECK(!b == !(jstr(it, "id") && jstr(it, "name")));
	if (!b)
		return;
	FUZZ_CHECK(same(b->id, jstr(it, "id")) && same(b->name, jstr(it, "name")));
	FUZZ_CHECK(same(b->owner, jstr(cJSON_GetObjectItemCaseSensitive(it, "owner"), "username")));
	FUZZ_CHECK(b->created == api_parse_time(b->created_at));
	text = meta_board_json(b);
	check_rendered(text, "name", b->name);
	check_rendered(text, "privacy", b->privacy);
	free(text);
	board_free(b);
}

static void check_section(const cJSON *it)
{
	struct section *s = section_from_json(it);

	FUZZ_CHECK(!s == !(jstr(it, "id") && jstr(it, "name")));
	if (!s)
		return;
	FUZZ_CHECK(same(s->id, jstr(it, "id")) && same(s->name, jstr(it, "name")));
	section_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sizes[] = {NULL, "originals", "1200x", "600x", "150x150"};
	cJSON *answer = cJSON_ParseWithLength((const char *)data, size);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(answer, "items");
	const cJSON *bm = cJSON_GetObjectItemCaseSensitive(answer, "bookmark");
	const cJSON *it;
	size_t n = 0;

	/* api_list refuses a page without an items list; items of any type reach the parsers. */
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(answer);
		return 0;
	}
	cJSON_ArrayForEach(it, items)
	{
		check_pin(it, sizes[n++ % (sizeof(sizes) / sizeof(sizes[0]))]);
		check_board(it);
		check_section(it);
	}
	if (cJSON_IsString(bm) && bm->valuestring[0]) {
		char *next = api_page_path("/boards/1/pins", true, bm->valuestring);

		FUZZ_CHECK(next &&
			   strncmp(next, "/boards/1/pins?page_size=250&bookmark=", 38) == 0);
		free(next);
	}
	cJSON_Delete(answer);
	return 0;
}
