/* Unit tests of JSON parsing and rendering (src/remote/api.c objects, src/model/meta.c). */
#include "api.h"
#include "check.h"
#include "meta.h"
#include "strpack.h"

#include <stdio.h>
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

static void ref_str(cJSON *o, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

/* The sidecar as cJSON would build it and meta_pretty print it: meta_pin_json prints it
 * directly and must give the same bytes. */
static char *reference_pin_json(const struct pin *p)
{
	cJSON *o = cJSON_CreateObject(), *img;
	char url[128], *out;

	ref_str(o, "title", p->title);
	ref_str(o, "description", p->description);
	ref_str(o, "link", p->link);
	ref_str(o, "alt_text", p->alt_text);
	ref_str(o, "id", p->id);
	ref_str(o, "board_id", p->board_id);
	ref_str(o, "board_section_id", p->section_id);
	ref_str(o, "created_at", p->created_at);
	ref_str(o, "dominant_color", p->dominant_color);
	ref_str(o, "creative_type", p->creative_type);
	ref_str(o, "media_type", p->media_type);
	meta_pin_url(p, url, sizeof(url));
	ref_str(o, "url", url);
	if (p->image_url) {
		img = cJSON_AddObjectToObject(o, "image");
		ref_str(img, "url", p->image_url);
		ref_str(img, "size", p->size_key);
		cJSON_AddNumberToObject(img, "width", p->width);
		cJSON_AddNumberToObject(img, "height", p->height);
	}
	out = meta_pretty(o);
	cJSON_Delete(o);
	return out;
}

static void check_same_as_reference(const struct pin *p)
{
	char *a = meta_pin_json(p), *b = reference_pin_json(p);

	CHECK(a != NULL && b != NULL);
	if (a && b)
		CHECK_STR(a, b);
	if (a)
		CHECK(meta_pin_json_len(p) == strlen(a)); /* counted, not written */
	free(a);
	free(b);
}

static void test_pin_render_bytes(void)
{
	struct pin *p = parse_pin(pin_text, NULL);
	char hostile[160];
	size_t n = 0;

	check_same_as_reference(p);
	/* Every control character, quotes, backslashes, DEL, UTF-8 and a slash. */
	for (int c = 1; c < 32; c++)
		hostile[n++] = (char)c;
	hostile[n] = '\0';
	strcat(hostile, "\"q\" \\b\\ \x7f \xc3\xa9t\xc3\xa9 / \xf0\x9f\x8d\x8b end");
	p->title = hostile;
	p->description = hostile + 5;
	p->link = "";
	p->width = -1;
	p->height = 2147483647;
	check_same_as_reference(p);
	p->width = -2147483647 - 1;
	p->height = 0;
	check_same_as_reference(p);
	p->width = 10;
	p->height = -90210;
	check_same_as_reference(p);
	p->image_url = NULL; /* a pin without images: no "image" member */
	p->size_key = NULL;
	p->title = p->description = p->alt_text = p->dominant_color = NULL;
	check_same_as_reference(p);
	pin_free(p); /* frees the pin's block, not the strings put in its place */
}

/* The pin's address as "https://www.pinterest.com/pin/%s/" prints it, cut as snprintf cuts. */
static void test_pin_url(void)
{
	struct pin p = {.id = "1234567890123"};
	char got[128], want[128], id[200];

	meta_pin_url(&p, got, sizeof(got));
	CHECK_STR(got, "https://www.pinterest.com/pin/1234567890123/");
	memset(id, '7', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	p.id = id;
	for (size_t len = 1; len <= sizeof(got); len += 7) {
		memset(got, 'x', sizeof(got));
		meta_pin_url(&p, got, len);
		int full = snprintf(want, len, "https://www.pinterest.com/pin/%s/", id);

		CHECK(full == 30 + 199 + 1);
		CHECK_STR(got, want);
	}
	p.id = "";
	meta_pin_url(&p, got, 30); /* room for the prefix but its last character */
	CHECK_STR(got, "https://www.pinterest.com/pin");
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

/* Every field of a view equals the pin's (NULL where it is NULL). */
static void check_same_pin(const struct pin *a, const struct pin *b)
{
	const char *const fa[] = {
	    a->id,	   a->board_id,	 a->section_id,	    a->title,	      a->description,
	    a->link,	   a->alt_text,	 a->dominant_color, a->creative_type, a->media_type,
	    a->created_at, a->image_url, a->size_key};
	const char *const fb[] = {
	    b->id,	   b->board_id,	 b->section_id,	    b->title,	      b->description,
	    b->link,	   b->alt_text,	 b->dominant_color, b->creative_type, b->media_type,
	    b->created_at, b->image_url, b->size_key};

	for (size_t i = 0; i < sizeof(fa) / sizeof(fa[0]); i++) {
		if (!fa[i])
			CHECK(fb[i] == NULL);
		else
			CHECK_STR(fb[i], fa[i]);
	}
	CHECK(a->created == b->created && a->width == b->width && a->height == b->height);
}

/* A packed pin reads back as the pin, renders the same sidecar and costs less. */
static void round_trip(const char *text, const char *board_id)
{
	struct pin *p = parse_pin(text, NULL);
	struct pinrec *r = pinrec_pack(p, board_id);
	struct pin_view v;
	char *a, *b;

	CHECK(r != NULL);
	pinrec_view(r, board_id, &v);
	check_same_pin(p, &v.pin);
	CHECK_STR(pinrec_id(r), p->id);
	CHECK(pinrec_created(r) == p->created);
	if (p->title)
		CHECK_STR(pinrec_title(r), p->title);
	else
		CHECK(pinrec_title(r) == NULL);
	CHECK(pinrec_section_id(r) == NULL || strcmp(pinrec_section_id(r), p->section_id) == 0);
	CHECK(pinrec_image_url(r) == NULL || strcmp(pinrec_image_url(r), p->image_url) == 0);
	a = meta_pin_json(p);
	b = meta_pin_json(&v.pin);
	CHECK_STR(b, a);
	free(a);
	free(b);
	free(r);
	pin_free(p);
}

static void test_pinrec(void)
{
	struct pin *p = parse_pin(pin_text, NULL);
	struct pinrec *same = pinrec_pack(p, "549755885175");
	struct pinrec *other = pinrec_pack(p, "1");

	round_trip(pin_text, "549755885175"); /* board_id and created_at left out */
	round_trip(pin_text, "1");	      /* board_id kept */
	round_trip(pin_text, NULL);
	/* A time with a zone is kept as written; unusual codes and no image survive. */
	round_trip("{\"id\": \"7\", \"created_at\": \"2022-10-13T03:40:29+02:00\","
		   " \"creative_type\": \"NEW_KIND\", \"board_section_id\": \"9\","
		   " \"media\": {\"media_type\": \"odd\"}}",
		   "1");
	round_trip(
	    "{\"id\": \"8\", \"media\": {\"images\": {\"999x\": {\"url\": \"http://h/a.gif\","
	    " \"width\": 3, \"height\": 4}}}}",
	    "1");
	/* Left out where it can be made again: the record is smaller than the strings. */
	CHECK(pinrec_bytes(same) + strlen(p->board_id) + 1 == pinrec_bytes(other));
	CHECK(pinrec_bytes(same) < 24 + strlen(p->id) + strlen(p->title) + strlen(p->description) +
				       strlen(p->image_url) + strlen(p->created_at) + 40);
	free(same);
	free(other);
	pin_free(p);
}

static void test_strpack_masked(void)
{
	const char *in[] = {"a", NULL, "", "long string", NULL};
	const char *out[5];
	char buf[32];
	uint32_t mask;

	CHECK(strpack_size(in, 5) == 2 + 1 + 12);
	mask = strpack_into(buf, in, 5);
	CHECK(mask == 0xd);
	strunpack(buf, mask, out, 5);
	CHECK_STR(out[0], "a");
	CHECK(out[1] == NULL && out[4] == NULL);
	CHECK_STR(out[2], "");
	CHECK_STR(out[3], "long string");
	CHECK_STR(strunpack_one(buf, mask, 3), "long string");
	CHECK(strunpack_one(buf, mask, 1) == NULL);
}

int main(void)
{
	test_pin_parse();
	test_pin_bad();
	test_times();
	test_pin_render();
	test_pin_render_bytes();
	test_pin_url();
	test_xattrs();
	test_board();
	test_pinrec();
	test_strpack_masked();
	return check_summary();
}
