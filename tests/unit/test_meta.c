/* Unit tests of JSON parsing and rendering (src/api.c objects, src/meta.c). */
#include "api.h"
#include "check.h"
#include "meta.h"

#include <stdlib.h>
#include <string.h>

static const char pin_text[] =
    "{\"id\": \"813744226420795884\", \"board_id\": \"549755885175\","
    " \"board_section_id\": null, \"title\": \"Lemon \\\"tart\\\"\","
    " \"description\": \"Zesty\\nand sweet\", \"link\": null, \"alt_text\": \"a tart\","
    " \"dominant_color\": \"#ffcc00\", \"created_at\": \"2022-10-13T01:40:29\","
    " \"creative_type\": \"REGULAR\", \"unknown_key\": {\"deep\": [1, 2]},"
    " \"media\": {\"media_type\": \"image\", \"images\": {"
    "  \"150x150\": {\"url\": \"http://h/150x150/1.jpg\", \"width\": 150, \"height\": 150},"
    "  \"1200x\": {\"url\": \"http://h/1200x/1.jpg\", \"width\": 1200, \"height\": 900},"
    "  \"originals\": {\"url\": \"http://h/originals/1.png\", \"width\": 1200, \"height\": 900}"
    " }}}";

static struct pin *parse_pin(const char *text, const char *prefer)
{
	cJSON *j = cJSON_Parse(text);
	struct pin *p = pin_from_json(j, prefer);

	cJSON_Delete(j);
	return p;
}

static void test_pin_parse(void)
{
	struct pin *p = parse_pin(pin_text, NULL);

	CHECK(p != NULL);
	/* Ids stay strings: they exceed 2^53 and would lose digits as doubles. */
	CHECK_STR(p->id, "813744226420795884");
	CHECK_STR(p->title, "Lemon \"tart\"");
	CHECK(p->section_id == NULL);
	CHECK(p->link == NULL);
	CHECK_STR(p->size_key, "originals");
	CHECK_STR(p->image_url, "http://h/originals/1.png");
	CHECK(p->width == 1200 && p->height == 900);
	CHECK(p->created == 1665625229);
	pin_free(p);

	p = parse_pin(pin_text, "150x150");
	CHECK_STR(p->image_url, "http://h/150x150/1.jpg");
	pin_free(p);
	p = parse_pin(pin_text, "600x"); /* absent: falls back to the largest */
	CHECK_STR(p->size_key, "originals");
	pin_free(p);
}

static void test_pin_bad(void)
{
	CHECK(parse_pin("{\"title\": \"no id\"}", NULL) == NULL);
	CHECK(parse_pin("{\"id\": 12345}", NULL) == NULL);
	CHECK(parse_pin("[]", NULL) == NULL);
	struct pin *p = parse_pin("{\"id\": \"1\", \"title\": 5, \"media\": \"x\"}", NULL);

	CHECK(p != NULL);
	CHECK(p->title == NULL && p->image_url == NULL);
	pin_free(p);
}

static void test_times(void)
{
	CHECK(api_parse_time("2022-10-13T01:40:29") == 1665625229);
	CHECK(api_parse_time("2022-10-13T01:40:29Z") == 1665625229);
	CHECK(api_parse_time("2022-10-13T01:40:29.123456") == 1665625229);
	CHECK(api_parse_time("2022-10-13T03:40:29+02:00") == 1665625229);
	CHECK(api_parse_time("garbage") == 0);
	CHECK(api_parse_time(NULL) == 0);
}

static void test_pin_render(void)
{
	struct pin *p = parse_pin(pin_text, NULL);
	char *text = meta_pin_json(p);
	cJSON *j = cJSON_Parse(text);

	CHECK(j != NULL);
	CHECK(text[strlen(text) - 1] == '\n');
	CHECK_STR(cJSON_GetObjectItem(j, "title")->valuestring, "Lemon \"tart\"");
	CHECK_STR(cJSON_GetObjectItem(j, "description")->valuestring, "Zesty\nand sweet");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "link")));
	CHECK_STR(cJSON_GetObjectItem(j, "id")->valuestring, "813744226420795884");
	CHECK_STR(cJSON_GetObjectItem(j, "url")->valuestring,
		  "https://www.pinterest.com/pin/813744226420795884/");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "image"), "width")->valueint == 1200);
	/* The writable fields come first, in the documented order. */
	CHECK(strstr(text, "\"title\"") < strstr(text, "\"description\""));
	CHECK(strstr(text, "\"alt_text\"") < strstr(text, "\"id\""));
	cJSON_Delete(j);
	free(text);
	pin_free(p);
}

static void test_xattrs(void)
{
	struct pin *p = parse_pin(pin_text, NULL);
	char buf[1024], made[128];
	size_t need = meta_pin_xattr_list(p, NULL, 0);

	CHECK(need > 0 && need < sizeof(buf));
	CHECK(meta_pin_xattr_list(p, buf, sizeof(buf)) == need);
	CHECK_STR(buf, "user.pinterest.id");
	/* link is null on this pin, so it is not listed. */
	CHECK(memmem(buf, need, "user.pinterest.link", 20) == NULL);
	CHECK_STR(meta_pin_xattr_get(p, "user.pinterest.title", made, sizeof(made)),
		  "Lemon \"tart\"");
	CHECK_STR(meta_pin_xattr_get(p, "user.pinterest.url", made, sizeof(made)),
		  "https://www.pinterest.com/pin/813744226420795884/");
	CHECK(meta_pin_xattr_get(p, "user.other", made, sizeof(made)) == NULL);
	pin_free(p);
}

static void test_board(void)
{
	cJSON *j = cJSON_Parse("{\"id\": \"549755885175\", \"name\": \"Recipes\", \"privacy\": "
			       "\"PUBLIC\", \"pin_count\": 12, \"owner\": {\"username\": \"me\"},"
			       " \"created_at\": \"2020-01-01T00:00:00\"}");
	struct board *b = board_from_json(j);
	char *text = meta_board_json(b);
	cJSON *r = cJSON_Parse(text);

	CHECK_STR(b->owner, "me");
	CHECK(b->pin_count == 12);
	CHECK_STR(cJSON_GetObjectItem(r, "name")->valuestring, "Recipes");
	CHECK(cJSON_GetObjectItem(r, "pin_count")->valueint == 12);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(r, "description")));
	CHECK(board_from_json(cJSON_GetObjectItem(j, "owner")) == NULL);
	cJSON_Delete(r);
	free(text);
	board_free(b);
	cJSON_Delete(j);
}

int main(void)
{
	test_pin_parse();
	test_pin_bad();
	test_times();
	test_pin_render();
	test_xattrs();
	test_board();
	return check_summary();
}
