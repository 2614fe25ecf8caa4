/* Unit tests of the arena a listing's pages are parsed into (src/util/jarena.c). The ASan build
 * runs them too: a free of an arena's pointer that reached free(), a leak, a read past a
 * block would fail there. */
#include "check.h"
#include "jarena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One pin of a page, with the fields a listing reads. */
#define PIN_FMT                                                                                    \
	"%s{\"id\":\"%d\",\"title\":\"Pin \\u00e9 %d\",\"board_id\":\"7\","                        \
	"\"created_at\":\"2024-01-02T03:04:05\",\"media\":{\"images\":{\"originals\":{"            \
	"\"url\":\"http://i/%d.jpg\",\"width\":%d}}}}"

/* A page of n pins, as GET /boards/{id}/pins gives it. */
static char *page_of(int n, const char *bookmark)
{
	size_t cap = 256 + (size_t)n * 256;
	char *s = malloc(cap);
	size_t len = 0;

	len += (size_t)snprintf(s + len, cap - len, "{\"items\":[");
	for (int i = 0; i < n; i++) {
		const char *comma = i ? "," : "";

		len += (size_t)snprintf(s + len, cap - len, PIN_FMT, comma, i, i, i, 100 + i);
	}
	snprintf(s + len, cap - len, "],\"bookmark\":%s%s%s}", bookmark ? "\"" : "",
		 bookmark ? bookmark : "null", bookmark ? "\"" : "");
	return s;
}

static int count_and_check(const cJSON *page)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items"), *it;
	int n = 0, ok = 1;

	cJSON_ArrayForEach(it, items)
	{
		char want[32];
		const cJSON *url = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(it, "media"), "images"),
			"originals"),
		    "url");

		snprintf(want, sizeof(want), "http://i/%d.jpg", n);
		ok &= cJSON_IsString(url) && strcmp(url->valuestring, want) == 0;
		n++;
	}
	return ok ? n : -1;
}

static void test_a_page_reads_back(void)
{
	struct jarena a = {0};
	char *text = page_of(250, "b1");
	cJSON *page = jarena_parse(&a, text, strlen(text));

	CHECK(page != NULL);
	CHECK(count_and_check(page) == 250);
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(page, "bookmark")->valuestring, "b1");
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(page, "items"), 3)
		      ->child->next->valuestring,
		  "Pin \xc3\xa9 3");
	/* A part deleted by the caller frees nothing (ASan: no free of a pointer malloc never
	 * gave); the rest still reads. */
	cJSON_Delete(cJSON_DetachItemFromArray(cJSON_GetObjectItemCaseSensitive(page, "items"), 0));
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(page, "items")) == 249);
	jarena_release(&a);
	CHECK(a.blocks == NULL && a.live == 0);
	free(text);
}

static void test_pages_reuse_the_first_block(void)
{
	struct jarena a = {0};
	char *small = page_of(3, NULL), *big = page_of(2000, "x");
	struct jarena_block *first;

	CHECK(jarena_parse(&a, small, strlen(small)) != NULL);
	first = a.blocks;
	jarena_reset(&a);
	CHECK(a.blocks == first); /* kept, empty */
	CHECK(count_and_check(jarena_parse(&a, big, strlen(big))) == 2000);
	CHECK(a.blocks != first); /* 2000 pins need more than one block */
	jarena_reset(&a);
	CHECK(a.blocks != NULL && a.live == 0);
	CHECK(count_and_check(jarena_parse(&a, small, strlen(small))) == 3);
	jarena_release(&a);
	free(small);
	free(big);
}

static void test_a_string_longer_than_a_block(void)
{
	struct jarena a = {0};
	size_t n = 300 * 1024;
	char *text = malloc(n + 16);
	cJSON *j;

	text[0] = '"';
	memset(text + 1, 'q', n);
	strcpy(text + 1 + n, "\"");
	j = jarena_parse(&a, text, n + 2);
	CHECK(cJSON_IsString(j) && strlen(j->valuestring) == n && j->valuestring[n - 1] == 'q');
	jarena_release(&a);
	free(text);
}

static void test_not_json(void)
{
	struct jarena a = {0};
	const char *bad = "{\"items\":[{\"id\":\"1\"},{\"id\":";

	CHECK(jarena_parse(&a, bad, strlen(bad)) == NULL);
	CHECK(jarena_parse(&a, "", 0) == NULL);
	jarena_release(&a); /* what the failed parses built goes with it (LSan) */
}

/* Outside a parse, cJSON's allocations are malloc's: a printed string is freed with free(),
 * and a tree built or parsed the usual way is deleted the usual way, while an arena holds a
 * tree (LSan would see a leak, ASan a bad free). */
static void test_outside_a_parse_cjson_is_plain(void)
{
	struct jarena a = {0};
	const char *text = "{\"items\":[1,2,3]}";
	cJSON *page = jarena_parse(&a, text, strlen(text));
	cJSON *mine = cJSON_CreateObject(), *parsed = cJSON_Parse("{\"a\":[true,\"x\"]}");
	char *printed;

	cJSON_AddStringToObject(mine, "title", "Lemon tart");
	cJSON_AddItemToObject(mine, "copy", cJSON_Duplicate(page, 1));
	printed = cJSON_PrintUnformatted(mine);
	CHECK_STR(printed, "{\"title\":\"Lemon tart\",\"copy\":{\"items\":[1,2,3]}}");
	free(printed);
	cJSON_Delete(mine);
	cJSON_Delete(parsed);
	/* An item the caller adds to the arena's tree is its own, from malloc: deleting it
	 * frees it; the arena's part is not freed. */
	cJSON_AddItemToObject(page, "extra", cJSON_CreateString("mine"));
	cJSON_Delete(cJSON_DetachItemFromObject(page, "extra"));
	jarena_release(&a);
}

static void test_two_arenas_live_at_once(void)
{
	struct jarena outer = {0}, inner = {0};
	char *p1 = page_of(40, "o"), *p2 = page_of(30, NULL);
	cJSON *a = jarena_parse(&outer, p1, strlen(p1));
	cJSON *b = jarena_parse(&inner, p2, strlen(p2));

	CHECK(count_and_check(a) == 40 && count_and_check(b) == 30);
	jarena_release(&outer); /* released out of order */
	CHECK(count_and_check(b) == 30);
	cJSON_Delete(b); /* inner's still live: frees nothing */
	jarena_release(&inner);
	free(p1);
	free(p2);
}

static void *parse_pages(void *arg)
{
	char *text = arg;
	struct jarena a = {0};
	long bad = 0;

	for (int i = 0; i < 200; i++) {
		cJSON *page = jarena_parse(&a, text, strlen(text));
		cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items");
		char *s = cJSON_PrintUnformatted(cJSON_GetArrayItem(items, i % 50));

		bad += count_and_check(page) != 50 || !s;
		free(s); /* printed outside the parse: malloc's */
		jarena_reset(&a);
	}
	jarena_release(&a);
	return (void *)bad;
}

/* Each thread's arenas are its own: threads parsing side by side, and printing. */
static void test_threads(void)
{
	char *text = page_of(50, "t");
	pthread_t t[4];
	long bad = 0;

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, parse_pages, text);
	for (int i = 0; i < 4; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (long)r;
	}
	CHECK(bad == 0);
	free(text);
}

int main(void)
{
	jarena_install();
	test_a_page_reads_back();
	test_pages_reuse_the_first_block();
	test_a_string_longer_than_a_block();
	test_not_json();
	test_outside_a_parse_cjson_is_plain();
	test_two_arenas_live_at_once();
	test_threads();
	return check_summary();
}
