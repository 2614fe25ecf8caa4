/* Unit tests of every kind of pin's media (src/remote/pinmedia.c), its packed record (api.c),
 * its sidecar (meta.c) and the names a carousel's items take (names.c). */
#include "api.h"
#include "check.h"
#include "meta.h"
#include "names.h"
#include "pinmedia.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGES(n)                                                                                  \
	"{\"originals\": {\"url\": \"http://h/originals/" n ".png\", \"width\": 800, "             \
	"\"height\": 600}, \"150x150\": {\"url\": \"http://h/150x150/" n                           \
	".jpg\", \"width\": 150, \"height\": 150}}"

static const char video_pin[] =
    "{\"id\": \"11\", \"title\": \"Clip\", \"created_at\": \"2022-10-13T01:40:29\","
    " \"media\": {\"media_type\": \"video\", \"images\": " IMAGES(
	"11") ","
	      " \"cover_image_url\": \"http://h/cover/11.jpg\", \"video_url\": \"http://v/11.mp4\","
	      " \"duration\": 12500, \"width\": 720, \"height\": 1280}}";

static const char video_no_url[] =
    "{\"id\": \"12\", \"title\": \"Clip\", \"media\": {\"media_type\": \"video\","
    " \"images\": " IMAGES("12") ", \"video_url\": null, \"duration\": null}}";

static const char carousel[] =
    "{\"id\": \"13\", \"title\": \"Trip\", \"media\": {\"media_type\": \"multiple_mixed\","
    " \"items\": [{\"item_type\": \"image\", \"title\": \"one\", \"description\": null,"
    " \"link\": \"https://x/1\", \"images\": " IMAGES(
	"13a") "},"
	       " {\"item_type\": \"video\", \"cover_image_url\": \"http://h/c/13b.jpg\","
	       " \"video_url\": \"http://v/13b.mp4\", \"duration\": 3000},"
	       " \"not an item\","
	       " {\"item_type\": \"video\", \"cover_image_url\": \"http://h/c/13c.jpg\","
	       " \"video_url\": null},"
	       " {\"item_type\": \"image\", \"title\": \"no url\", \"images\": {}}]}}";

static struct pin *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	struct pin *p = pin_from_json(j, NULL);

	cJSON_Delete(j);
	return p;
}

/* p packed and viewed back: what the tree holds. The record is leaked into *rec. */
static struct pin *through_record(const struct pin *p, struct pinrec **rec, struct pin_view *v)
{
	*rec = pinrec_pack(p, NULL);
	pinrec_view(*rec, NULL, v);
	return &v->pin;
}

static void test_video(void)
{
	struct pin *p = parse(video_pin);
	struct pinrec *r;
	struct pin_view v;
	char *json;
	cJSON *j;

	CHECK(p != NULL);
	CHECK_STR(p->image_url, "http://v/11.mp4");
	CHECK_STR(p->cover_url, "http://h/originals/11.png");
	CHECK_STR(p->parts, "http://h/originals/11.png\n");
	CHECK_STR(p->size_key, "originals");
	CHECK(p->width == 800 && p->height == 600);
	const struct pin *q = through_record(p, &r, &v);

	CHECK_STR(pinrec_parts(r), "http://h/originals/11.png\n");
	CHECK(pinrec_items(r) == 0); /* a cover, not an item */
	json = meta_pin_json(q);
	j = cJSON_Parse(json);
	CHECK(j != NULL);
	CHECK_STR(cJSON_GetObjectItem(j, "video_url")->valuestring, "http://v/11.mp4");
	CHECK(cJSON_GetObjectItem(j, "duration")->valuedouble == 12500);
	CHECK(cJSON_GetObjectItem(j, "width")->valueint == 720);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "image"), "url")->valuestring,
		  "http://h/originals/11.png");
	CHECK(cJSON_GetObjectItem(j, "no_video") == NULL);
	/* The sidecar's text is meta_pretty's of its own object, as for an image pin. */
	char *again = meta_pretty(j);

	CHECK_STR(again, json);
	CHECK(meta_pin_json_len(q) == strlen(json));
	free(again);
	free(json);
	cJSON_Delete(j);
	free(r);
	pin_free(p);
}

static void test_video_without_url(void)
{
	struct pin *p = parse(video_no_url);
	char *json;
	cJSON *j;

	CHECK(p != NULL);
	/* The cover is the main file, nothing beside it, and the sidecar says why. */
	CHECK_STR(p->image_url, "http://h/originals/12.png");
	CHECK(p->cover_url == NULL);
	CHECK(p->parts == NULL);
	json = meta_pin_json(p);
	j = cJSON_Parse(json);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "video_url")));
	CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "no_video")));
	free(json);
	cJSON_Delete(j);
	pin_free(p);
}

static void test_carousel(void)
{
	struct pin *p = parse(carousel);
	struct pinrec *r;
	struct pin_view v;
	char url[256];
	cJSON *j, *items;
	char *json;

	CHECK(p != NULL);
	CHECK_STR(p->image_url, "http://h/originals/13a.png");
	CHECK(p->cover_url == NULL);
	/* The video item with a URL shows its video, the one without its cover; the item with
	 * no picture at all shows no file. */
	CHECK_STR(p->parts, "http://v/13b.mp4\nhttp://h/c/13c.jpg\n");
	const struct pin *q = through_record(p, &r, &v);

	CHECK(pinrec_items(r) == 2);
	CHECK(pinmedia_count(pinrec_parts(r)) == 2);
	CHECK(pinmedia_part(pinrec_parts(r), 1, url, sizeof(url)) == 0);
	CHECK_STR(url, "http://h/c/13c.jpg");
	CHECK(pinmedia_part(pinrec_parts(r), 2, url, sizeof(url)) < 0);
	CHECK(pinmedia_part(pinrec_parts(r), 0, url, 4) < 0); /* too small a buffer */
	json = meta_pin_json(q);
	j = cJSON_Parse(json);
	items = cJSON_GetObjectItem(j, "items");
	CHECK(cJSON_GetArraySize(items) == 4);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "type")->valuestring, "image");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "link")->valuestring,
		  "https://x/1");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 1), "video_url")->valuestring,
		  "http://v/13b.mp4");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 2), "video_url")));
	char *again = meta_pretty(j);

	CHECK_STR(again, json);
	free(again);
	free(json);
	cJSON_Delete(j);
	free(r);
	pin_free(p);
}

static void test_odd_media(void)
{
	/* Shapes a broken server could send: no crash, no file made up. */
	const char *texts[] = {
	    "{\"id\": \"1\", \"media\": {\"media_type\": \"multiple_images\", \"items\": 7}}",
	    "{\"id\": \"2\", \"media\": {\"media_type\": \"video\"}}",
	    "{\"id\": \"3\", \"media\": {\"media_type\": \"video\", \"video_url\": \"a\\nb\"}}",
	    "{\"id\": \"4\", \"media\": {\"media_type\": \"hologram\", \"images\": []}}",
	    "{\"id\": \"5\", \"media\": [1]}",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct pin *p = parse(texts[i]);
		char *json = p ? meta_pin_json(p) : NULL;

		CHECK(p != NULL && json != NULL);
		CHECK(p && p->image_url == NULL && p->parts == NULL);
		free(json);
		pin_free(p);
	}
}

static void free_slots(struct name_slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
}

static void test_item_names(void)
{
	/* A carousel "X" (3 files) and a pin titled "X [2]": the older keeps its names. */
	struct name_slot a[] = {{"X", "1", 12, NULL, NULL}, {"X [2]", "2", 5, NULL, NULL}};
	unsigned items_a[] = {2, 0};
	struct name_slot b[] = {{"X [2]", "2", 5, NULL, NULL}, {"X", "1", 12, NULL, NULL}};
	unsigned items_b[] = {0, 2};
	struct name_slot c[] = {{"X", "1", 12, NULL, NULL}, {"X [4]", "2", 5, NULL, NULL}};
	unsigned items_c[] = {2, 0};

	CHECK(names_assign_items(a, 2, NULL, items_a) == 0);
	CHECK_STR(a[0].name, "X");
	CHECK_STR(a[1].name, "X [2] {2}");
	CHECK(names_assign_items(b, 2, NULL, items_b) == 0);
	CHECK_STR(b[0].name, "X [2]");
	CHECK_STR(b[1].name, "X {1}");
	/* Beyond its items: no clash. */
	CHECK(names_assign_items(c, 2, NULL, items_c) == 0);
	CHECK_STR(c[0].name, "X");
	CHECK_STR(c[1].name, "X [4]");
	free_slots(a, 2);
	free_slots(b, 2);
	free_slots(c, 2);
}

int main(void)
{
	test_video();
	test_video_without_url();
	test_carousel();
	test_odd_media();
	test_item_names();
	return check_summary();
}
