/* Unit tests of the counters behind MOUNT/.pinfs/stats (src/util/stats.c). */
#include "check.h"
#include "stats.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API "https://api.pinterest.com/v5"

static void route_is(const char *method, const char *url, const char *want)
{
	char got[96];

	stats_route(method, url, got, sizeof(got));
	CHECK_STR(got, want);
}

static void test_routes(void)
{
	route_is("GET", API "/boards?page_size=250", "GET /boards");
	route_is("GET", API "/boards/549755885175/pins?page_size=250&bookmark=x",
		 "GET /boards/{id}/pins");
	route_is("PATCH", API "/boards/1/sections/22", "PATCH /boards/{id}/sections/{id}");
	route_is("POST", API "/pins", "POST /pins");
	route_is("GET", API "/user_account", "GET /user_account");
	route_is("GET", API "/search/pins?query=lemon%20tart", "GET /search/pins");
	route_is("GET", API "/users/nasa/interests/follow",
		 "GET /users/{username}/interests/follow");
	route_is("POST", API "/user_account/following/nasa",
		 "POST /user_account/following/{username}");
	route_is("GET", API "/user_account/following/boards", "GET /user_account/following/boards");
	route_is("GET", API, "GET /");
	/* Digits within a name stay: only whole segments are ids. */
	route_is("GET", API "/boards2/12a", "GET /boards2/12a");
	/* Images come from elsewhere; the API's own host without its base path is elsewhere too. */
	route_is("GET", "https://i.pinimg.com/originals/ab/cd/ef/abcdef.jpg", "GET image");
	route_is("HEAD", "https://i.pinimg.com/150x150/ab/cd.jpg", "HEAD image");
	route_is("GET", "https://api.pinterest.com/v55/boards", "GET image");
	/* A video's file goes to a storage host with a POST: not an image. */
	route_is("POST", "https://pinterest-media-upload.s3-accelerate.amazonaws.com/",
		 "POST upload_url");
}

static double number_at(const cJSON *root, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, a);

	if (b)
		o = cJSON_GetObjectItemCaseSensitive(o, b);
	return cJSON_IsNumber(o) ? o->valuedouble : -1;
}

static void test_counts(void)
{
	cJSON *root;
	const cJSON *by;
	char *text;

	stats_request("GET", API "/boards/1/pins");
	stats_request("GET", API "/boards/2/pins");
	stats_request("HEAD", "https://i.pinimg.com/originals/a.jpg");
	stats_retry(2);
	stats_rate_wait(1.5);
	stats_cache_hit(100);
	stats_cache_hit(50);
	stats_cache_miss(70);
	stats_upload(true);
	stats_upload(false);
	stats_upload(false);
	stats_media(STATS_MEDIA_REGISTERED, 0);
	stats_media(STATS_MEDIA_REGISTERED, 0);
	stats_media(STATS_MEDIA_UPLOADED, 4096);
	stats_media(STATS_MEDIA_READY, 0);
	stats_media(STATS_MEDIA_FAILED, 0);
	stats_fuse_request(true, 30000);
	stats_fuse_request(false, 0);
	stats_fuse_request(false, 20000);
	text = stats_json();
	CHECK(text && text[strlen(text) - 1] == '\n');
	root = cJSON_Parse(text);
	CHECK(root != NULL);
	by = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "requests"),
					      "by_route");
	CHECK(number_at(root, "requests", "total") == 3);
	CHECK(cJSON_GetArraySize(by) == 2);
	CHECK(number_at(by, "GET /boards/{id}/pins", NULL) == 2);
	CHECK(number_at(by, "HEAD image", NULL) == 1);
	CHECK(number_at(root, "retries", NULL) == 2);
	CHECK(number_at(root, "rate_limit", "waits") == 1);
	CHECK(number_at(root, "rate_limit", "wait_seconds") == 1.5);
	CHECK(number_at(root, "image_cache", "hits") == 2);
	CHECK(number_at(root, "image_cache", "hit_bytes") == 150);
	CHECK(number_at(root, "image_cache", "misses") == 1);
	CHECK(number_at(root, "image_cache", "downloaded_bytes") == 70);
	CHECK(number_at(root, "uploads", "done") == 1);
	CHECK(number_at(root, "uploads", "failed") == 2);
	CHECK(number_at(root, "media", "registered") == 2);
	CHECK(number_at(root, "media", "uploaded") == 1);
	CHECK(number_at(root, "media", "uploaded_bytes") == 4096);
	CHECK(number_at(root, "media", "ready") == 1);
	CHECK(number_at(root, "media", "failed") == 1);
	CHECK(number_at(root, "fuse", "requests") == 3);
	CHECK(number_at(root, "fuse", "found_looking") == 1);
	CHECK(number_at(root, "fuse", "look_seconds") == 50e-6);
	CHECK(number_at(root, "uptime_seconds", NULL) >= 0);
	cJSON_Delete(root);
	free(text);
}

/* More routes than the table holds are counted, under "other". */
static void test_many_routes(void)
{
	char url[128];
	cJSON *root;
	char *text;

	for (int i = 0; i < 100; i++) {
		snprintf(url, sizeof(url), API "/route%d", i);
		stats_request("GET", url);
	}
	text = stats_json();
	root = cJSON_Parse(text);
	CHECK(number_at(root, "requests", "total") == 103);
	CHECK(number_at(cJSON_GetObjectItemCaseSensitive(root, "requests"), "by_route", "other") >
	      0);
	cJSON_Delete(root);
	free(text);
}

int main(void)
{
	CHECK(stats_init(API "/") == 0); /* a trailing '/' changes nothing */
	test_routes();
	test_counts();
	test_many_routes();
	stats_cleanup();
	return check_summary();
}
