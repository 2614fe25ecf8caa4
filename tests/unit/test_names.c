/* Unit tests of title <-> file name mapping (src/model/names.c). */
#include "check.h"
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sanitize_is(const char *title, const char *id, size_t reserve, const char *want)
{
	char *got = names_sanitize(title, id, reserve);

	CHECK_STR(got, want);
	free(got);
}

static void test_sanitize(void)
{
	sanitize_is("Lemon tart", "1", 0, "Lemon tart");
	sanitize_is("", "123", 0, "123");
	sanitize_is(NULL, "123", 0, "123");
	sanitize_is("a/b", "1", 0,
		    "a\xef\xbc\x8f"
		    "b");
	sanitize_is("/", "1", 0, "\xef\xbc\x8f");
	sanitize_is(".hidden", "1", 0, "\xef\xbc\x8ehidden");
	sanitize_is("..", "1", 0, "\xef\xbc\x8e.");
	sanitize_is("a.b", "1", 0, "a.b");
	sanitize_is("tab\there\nnl", "1", 0, "tab here nl");
	sanitize_is("bell\x07", "1", 0, "bell\xef\xbf\xbd");
	sanitize_is("bad\xff utf8", "1", 0, "bad\xef\xbf\xbd utf8");
	sanitize_is("overlong \xc0\xaf", "1", 0, "overlong \xef\xbf\xbd\xef\xbf\xbd");
	sanitize_is("Crème brûlée 🍮 抹茶", "1", 0, "Crème brûlée 🍮 抹茶");
}

static void test_length(void)
{
	char title[500], *got;

	memset(title, 'x', 399);
	title[399] = '\0';
	got = names_sanitize(title, "1", 5);
	CHECK(strlen(got) == 250);
	free(got);

	/* 100 four-byte characters: cut at a character boundary, never inside one. */
	title[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(title, "\xf0\x9f\x8d\xae");
	got = names_sanitize(title, "1", 5);
	CHECK(strlen(got) <= 250);
	CHECK(strlen(got) % 4 == 0);
	CHECK(strlen(got) == 248);
	free(got);

	/* Slashes grow to three bytes each: the limit counts bytes after mapping. */
	memset(title, '/', 120);
	title[120] = '\0';
	got = names_sanitize(title, "1", 5);
	CHECK(strlen(got) == 249);
	free(got);
}

static void test_to_title(void)
{
	char *t;

	t = names_to_title("a\xef\xbc\x8f"
			   "b");
	CHECK_STR(t, "a/b");
	free(t);
	t = names_to_title("\xef\xbc\x8ehidden");
	CHECK_STR(t, ".hidden");
	free(t);
	t = names_to_title("plain");
	CHECK_STR(t, "plain");
	free(t);
}

static void test_assign_duplicates(void)
{
	struct name_slot s[] = {
	    {"Lemon tart", "100", 5, NULL, NULL}, {"Lemon tart", "200", 5, NULL, NULL},
	    {"", "300", 5, NULL, NULL},		  {"Lemon tart", "400", 5, NULL, NULL},
	    {"Other", "500", 5, NULL, NULL},
	};

	CHECK(names_assign(s, 5, NULL) == 0);
	CHECK_STR(s[0].name, "Lemon tart");
	CHECK_STR(s[1].name, "Lemon tart {200}");
	CHECK_STR(s[2].name, "300");
	CHECK_STR(s[3].name, "Lemon tart {400}");
	CHECK_STR(s[4].name, "Other");
	for (int i = 0; i < 5; i++)
		free(s[i].name);
}

static void test_assign_reserved_and_literal(void)
{
	const char *reserved[] = {"Desserts", NULL};
	struct name_slot s[] = {
	    {"Desserts", "1", 5, NULL, NULL},
	    {"x {3}", "2", 5, NULL, NULL},
	    {"x", "0", 5, NULL, NULL},
	    {"x", "3", 5, NULL, NULL},
	};

	CHECK(names_assign(s, 4, reserved) == 0);
	CHECK_STR(s[0].name, "Desserts {1}");
	CHECK_STR(s[1].name, "x {3}");
	CHECK_STR(s[2].name, "x");
	/* "x {3}" is taken by a title that reads so: a second suffix keeps names unique. */
	CHECK_STR(s[3].name, "x {3} {3}");
	for (int i = 0; i < 4; i++)
		free(s[i].name);
}

static void test_assign_long_duplicates(void)
{
	char title[300];
	struct name_slot s[2];

	memset(title, 'y', 299);
	title[299] = '\0';
	s[0] = (struct name_slot){title, "11111111111111111", 5, NULL, NULL};
	s[1] = (struct name_slot){title, "22222222222222222", 5, NULL, NULL};
	CHECK(names_assign(s, 2, NULL) == 0);
	CHECK(strlen(s[0].name) + 5 <= 255);
	CHECK(strlen(s[1].name) + 5 <= 255);
	CHECK(strcmp(s[0].name, s[1].name) != 0);
	CHECK(strstr(s[1].name, " {22222222222222222}") != NULL);
	free(s[0].name);
	free(s[1].name);
}

static void test_stable(void)
{
	/* The same input gives the same names whatever else happened before. */
	struct name_slot a[] = {{"t", "9", 5, NULL, NULL}, {"t", "8", 5, NULL, NULL}};
	struct name_slot b[] = {{"t", "9", 5, NULL, NULL}, {"t", "8", 5, NULL, NULL}};

	CHECK(names_assign(a, 2, NULL) == 0);
	CHECK(names_assign(b, 2, NULL) == 0);
	CHECK_STR(a[0].name, b[0].name);
	CHECK_STR(a[1].name, b[1].name);
	for (int i = 0; i < 2; i++) {
		free(a[i].name);
		free(b[i].name);
	}
}

static void test_kept_names_stay(void)
{
	/* The older "t" is gone: the newer one keeps "t {2}" while the mount runs, and a
	 * retitled one gets its new name. */
	struct name_slot s[] = {
	    {"t", "2", 5, "t {2}", NULL},
	    {"u", "3", 5, "t {3}", NULL},
	    {"t", "4", 5, NULL, NULL},
	};

	CHECK(names_assign(s, 3, NULL) == 0);
	CHECK_STR(s[0].name, "t {2}");
	CHECK_STR(s[1].name, "u");
	CHECK_STR(s[2].name, "t");
	for (int i = 0; i < 3; i++)
		free(s[i].name);

	/* A kept name that a reserved name now holds is given up. */
	const char *reserved[] = {"t {2}", NULL};
	struct name_slot r[] = {{"t", "2", 5, "t {2}", NULL}};

	CHECK(names_assign(r, 1, reserved) == 0);
	CHECK_STR(r[0].name, "t");
	free(r[0].name);
}

static void test_kept_names_contested(void)
{
	/* Two slots keep the same name: the first whose title still gives it wins, one whose
	 * title no longer does takes nothing from the others, and the twice-suffixed and "~nth"
	 * forms are kept too. */
	struct name_slot s[] = {
	    {"gone", "1", 5, "t", NULL},	  /* retitled: "t" is not its any more */
	    {"t", "2", 5, "t", NULL},		  /* so this one keeps it */
	    {"t", "3", 5, "t", NULL},		  /* taken by the one before */
	    {"t {4}", "4", 5, "t {4} {4}", NULL}, /* a title that reads like a suffix */
	    {"t", "5", 5, "t {5~3}", NULL},	  /* the third suffix of its id */
	    {"t", "6", 5, "t {6~3x}", NULL},	  /* not a form its title gives */
	};

	CHECK(names_assign(s, 6, NULL) == 0);
	CHECK_STR(s[0].name, "gone");
	CHECK_STR(s[1].name, "t");
	CHECK_STR(s[2].name, "t {3}");
	CHECK_STR(s[3].name, "t {4} {4}");
	CHECK_STR(s[4].name, "t {5~3}");
	CHECK_STR(s[5].name, "t {6}");
	for (int i = 0; i < 6; i++)
		free(s[i].name);
}

static void test_many_kept_names(void)
{
	/* A refreshed board of 3000 pins, each keeping its name, some contested by the one
	 * before and some by reserved names: every rule holds at every place in the folder. */
	enum { N = 3000 };
	struct name_slot *s = calloc(N, sizeof(*s));
	char(*titles)[32] = calloc(N, sizeof(*titles)), (*ids)[16] = calloc(N, sizeof(*ids));
	char(*keeps)[48] = calloc(N, sizeof(*keeps));
	const char *reserved[] = {"pin 7", "pin 2999 {2999}", NULL};

	CHECK(s && titles && ids && keeps);
	if (!s || !titles || !ids || !keeps)
		goto out;
	for (int i = 0; i < N; i++) {
		/* Each pin ending in 1 has the title of the one before, and keeps it plain. */
		snprintf(titles[i], sizeof(titles[i]), "pin %d", i % 10 == 1 ? i - 1 : i);
		snprintf(ids[i], sizeof(ids[i]), "%d", i);
		snprintf(keeps[i], sizeof(keeps[i]), i % 3 || i % 10 == 1 ? "%s" : "%s {%s}",
			 titles[i], ids[i]);
		s[i] = (struct name_slot){titles[i], ids[i], 5, keeps[i], NULL};
	}
	s[2999].keep = "pin 2999 {2999}";
	CHECK(names_assign(s, N, reserved) == 0);
	for (int i = 0; i < N; i++) {
		char want[64];

		if (i % 10 == 1 && (i - 1) % 3 == 0) /* the one before keeps its suffixed name */
			snprintf(want, sizeof(want), "%s", titles[i]);
		else if (i % 10 == 1) /* the one before keeps the plain name first */
			snprintf(want, sizeof(want), "%s {%s}", titles[i], ids[i]);
		else if (i == 7) /* reserved */
			snprintf(want, sizeof(want), "pin 7 {7}");
		else if (i == 2999) /* reserved, and its plain name is nobody's */
			snprintf(want, sizeof(want), "pin 2999");
		else
			snprintf(want, sizeof(want), "%s", keeps[i]);
		CHECK_STR(s[i].name, want);
	}
	for (int i = 0; i < N; i++)
		free(s[i].name);
out:
	free(s);
	free(titles);
	free(ids);
	free(keeps);
}

static void test_ext(void)
{
	const char *ext;

	CHECK_STR(names_ext_for_url("https://i.pinimg.com/originals/ab/cd/x.png"), ".png");
	CHECK_STR(names_ext_for_url("http://127.0.0.1:1/img/1200x/1.JPG"), ".jpg");
	CHECK_STR(names_ext_for_url("http://h/x.webp?x=1"), ".webp");
	CHECK_STR(names_ext_for_url("http://h/noext"), ".jpg");
	CHECK_STR(names_ext_for_url(NULL), ".jpg");
	CHECK(names_strip_ext("a.b.json", &ext) == 3);
	CHECK_STR(ext, ".json");
	CHECK(names_strip_ext("photo.JPEG", &ext) == 5);
	CHECK(names_strip_ext("noext", &ext) == 5);
	CHECK_STR(ext, "");
}

static void test_scratch(void)
{
	CHECK(names_is_scratch(".a.jpg.XyZ123"));
	CHECK(names_is_scratch(".~lock.a.json#"));
	CHECK(names_is_scratch("a.json.swp"));
	CHECK(names_is_scratch("a.json~"));
	CHECK(!names_is_scratch("photo.jpg"));
	CHECK(!names_is_scratch("sedAbc123"));
}

int main(void)
{
	test_sanitize();
	test_length();
	test_to_title();
	test_assign_duplicates();
	test_assign_reserved_and_literal();
	test_assign_long_duplicates();
	test_stable();
	test_kept_names_stay();
	test_kept_names_contested();
	test_many_kept_names();
	test_ext();
	test_scratch();
	return check_summary();
}
