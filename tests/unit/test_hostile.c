/* Inputs the fuzzers (tests/fuzz/) found pinfs mishandling, kept as regression tests. Run in
 * the ASan+UBSan build too, where undefined behaviour stops the test (tests/meson.build). */
#include "api.h"
#include "check.h"
#include "http.h"
#include "names.h"
#include "oauth.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every name valid (no '/', valid UTF-8, fits) and no two alike. */
static bool names_ok(const struct name_slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)s[i].name;

		if (!p || strchr(s[i].name, '/') || strlen(s[i].name) + s[i].reserve > NAMES_MAX)
			return false;
		for (; *p; p++)
			if (*p >= 0x80 && !(*p >= 0xc2 && *p <= 0xf4) && (*p & 0xc0) != 0x80)
				return false;
		for (size_t k = 0; k < i; k++)
			if (strcmp(s[i].name, s[k].name) == 0)
				return false;
	}
	return true;
}

static void free_slots(struct name_slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
}

/* fuzz_assign: titles that read like the suffixed names took both " {ID}" and the second
 * suffix, and two pins were given one name. */
static void test_titles_like_suffixes(void)
{
	struct name_slot s[] = {
	    {"Lemon tart", "4", 5, NULL, NULL},
	    {"Lemon tart", "1", 5, NULL, NULL},
	    {"Lemon tart {1}", "2", 5, NULL, NULL},
	    {"Lemon tart {1} {1}", "3", 5, NULL, NULL},
	};

	CHECK(names_assign(s, 4, NULL) == 0);
	CHECK(names_ok(s, 4));
	CHECK_STR(s[0].name, "Lemon tart");
	CHECK_STR(s[1].name, "Lemon tart {1~2}");
	CHECK_STR(s[2].name, "Lemon tart {1}");
	/* Kept on the next listing. */
	char *before[4];

	for (size_t i = 0; i < 4; i++)
		s[i].keep = before[i] = s[i].name;
	CHECK(names_assign(s, 4, NULL) == 0);
	for (size_t i = 0; i < 4; i++) {
		CHECK_STR(s[i].name, before[i]);
		free(before[i]);
	}
	free_slots(s, 4);
}

/* fuzz_assign: at the length limit the second suffix cut itself off again and changed
 * nothing, so a long title and its suffixed twin collided. */
static void test_suffix_at_length_limit(void)
{
	char t[301], twin[260];
	struct name_slot s[3];

	memset(t, 'x', 300);
	t[300] = '\0';
	snprintf(twin, sizeof(twin), "%.*s {1}", NAMES_MAX - 5 - 4, t);
	s[0] = (struct name_slot){t, "9", 5, NULL, NULL};
	s[1] = (struct name_slot){t, "1", 5, NULL, NULL};
	s[2] = (struct name_slot){twin, "2", 5, NULL, NULL};
	CHECK(names_assign(s, 3, NULL) == 0);
	CHECK(names_ok(s, 3));
	free_slots(s, 3);
}

/* fuzz_assign: people are told apart by user names, and a server's user name went into the
 * " {ID}" suffix as it was: '/', bad UTF-8, any length. */
static void test_hostile_ids(void)
{
	char long_id[400];
	struct name_slot s[5];

	memset(long_id, '7', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	s[0] = (struct name_slot){"ana", "x", 5, NULL, NULL};
	s[1] = (struct name_slot){"ana", "../../etc/passwd", 5, NULL, NULL};
	s[2] = (struct name_slot){"ana", "bad\xff\xfe", 5, NULL, NULL};
	s[3] = (struct name_slot){"ana", long_id, 5, NULL, NULL};
	s[4] = (struct name_slot){"ana", "ana.bakes", 5, NULL, NULL};
	CHECK(names_assign(s, 5, NULL) == 0);
	CHECK(names_ok(s, 5));
	CHECK_STR(s[4].name, "ana {ana.bakes}"); /* ids like Pinterest's show as they are */
	free_slots(s, 5);
}

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	CHECK(j != NULL);
	return j;
}

/* fuzz_page: a number past long's range (1e300) was converted anyway, which C leaves
 * undefined (UBSan: "outside the range of representable values"). */
static void test_huge_numbers(void)
{
	cJSON *j = parse("{\"id\":\"1\",\"name\":\"b\",\"pin_count\":1e300,"
			 "\"follower_count\":-1e300,\"collaborator_count\":3}");
	struct board *b = board_from_json(j);

	CHECK(b && b->pin_count == 0 && b->follower_count == 0 && b->collaborator_count == 3);
	board_free(b);
	cJSON_Delete(j);
	j = parse("{\"id\":\"1\",\"media\":{\"images\":{\"a\":{\"url\":\"u\",\"width\":1e300,"
		  "\"height\":-1e300},\"b\":{\"url\":\"v\",\"width\":10,\"height\":5}}}}");
	struct pin *p = pin_from_json(j, NULL);

	CHECK(p && p->width == 10 && p->height == 5); /* the widest sane image wins */
	pin_free(p);
	cJSON_Delete(j);
}

/* fuzz_page: with a size key given twice, the widest image was looked for by key, which found
 * the first member, but the second was taken: a size without a URL, the image lost. */
static void test_repeated_size_key(void)
{
	cJSON *j = parse("{\"id\":\"1\",\"media\":{\"images\":{"
			 "\"400x\":{\"url\":\"http://h/a.png\",\"width\":400},"
			 "\"400x\":{\"width\":900}}}}");
	struct pin *p = pin_from_json(j, NULL);

	CHECK(p != NULL);
	CHECK_STR(p->image_url, "http://h/a.png");
	CHECK_STR(p->size_key, "400x");
	pin_free(p);
	cJSON_Delete(j);
}

/* fuzz_token: expiries past long's range, and blank tokens taken for tokens. */
static void test_token_file(void)
{
	char path[] = "/tmp/pinfs-test-token-XXXXXX", why[256];
	static const char text[] = "{\"access_token\":\" pina_A \",\"refresh_token\":\"  \","
				   "\"expires_at\":1e300,\"refresh_token_expires_at\":1e19}";
	struct token_file t;
	int fd = mkstemp(path);

	CHECK(fd >= 0 && write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	CHECK(token_load(path, &t, why, sizeof(why)) == 0);
	CHECK_STR(t.access_token, "pina_A");
	CHECK(t.refresh_token == NULL); /* nothing to refresh with */
	CHECK(t.expires_at == 0 && t.refresh_expires_at == 0);
	token_file_release(&t);
	unlink(path);
}

/* fuzz_oauth: the token endpoint's expires_in of 1e300 overflowed the conversion, and one
 * just below 2^63 overflowed now + expires_in (a date in the past: refresh at every call). */
static void test_token_answer(void)
{
	char body[] = "{\"access_token\":\"x\",\"expires_in\":9.2e18,"
		      "\"refresh_token_expires_in\":1e300,\"refresh_token\":\"r\"}";
	struct http_resp r = {.status = 200, .body = body, .len = sizeof(body) - 1};
	struct token_file got;
	char why[256];

	CHECK(oauth_parse_answer(&r, &got, why, sizeof(why)) == 0);
	CHECK(got.expires_at == 0 && got.refresh_expires_at == 0);
	token_file_release(&got);
}

int main(void)
{
	test_titles_like_suffixes();
	test_suffix_at_length_limit();
	test_hostile_ids();
	test_huge_numbers();
	test_repeated_size_key();
	test_token_file();
	test_token_answer();
	return check_summary();
}
