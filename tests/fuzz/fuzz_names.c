/* Titles to file names and back (src/model/names.c): names_sanitize, names_to_title,
 * names_ext_for_url, names_strip_ext, names_is_scratch.
 *
 * Input: one byte of reserve (bytes the caller keeps for an extension or a suffix), then the
 * title; a NUL byte in it starts the object's id (the fallback for an empty title).
 */
#include "fuzz.h"
#include "names.h"

#include <strings.h>

#define DEFAULT_ID "813744226420795884"

/* How long names_sanitize's whole output would be, uncut: '/' and a leading '.' grow by two
 * bytes each. Only meant for the clean titles of round_trip(). */
static size_t uncut_len(const char *title)
{
	size_t len = strlen(title);

	for (const char *p = title; *p; p++)
		len += *p == '/' ? 2 : 0;
	return len + (title[0] == '.' ? 2 : 0);
}

/* A title names_to_title gives back exactly: valid UTF-8, no control characters, and none of
 * the characters names_sanitize shows '/' and '.' as (they would come back as those). */
static bool clean(const char *title)
{
	size_t len = title ? strlen(title) : 0;

	if (!len || !fuzz_utf8_valid(title, len) || strstr(title, "\xef\xbc\x8f") ||
	    strncmp(title, "\xef\xbc\x8e", 3) == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)title[i] < 0x20 || title[i] == 0x7f)
			return false;
	return true;
}

static void check_sanitize(const char *title, const char *id, size_t reserve)
{
	char *name = names_sanitize(title, id, reserve);
	char *again = names_sanitize(title, id, reserve);
	char *full = names_sanitize(title, id, 0);

	FUZZ_CHECK(name && again && full);
	FUZZ_CHECK(fuzz_name_ok(name, NAMES_MAX - reserve));
	FUZZ_CHECK(fuzz_name_ok(full, NAMES_MAX));
	FUZZ_CHECK(strcmp(name, again) == 0);
	/* Less room cuts the same name shorter, at a character boundary. */
	FUZZ_CHECK(strncmp(full, name, strlen(name)) == 0);
	if (clean(title) && uncut_len(title) <= NAMES_MAX) {
		char *back = names_to_title(full);

		FUZZ_CHECK(back && strcmp(back, title) == 0);
		free(back);
	}
	free(name);
	free(again);
	free(full);
}

static void check_ext(const char *s)
{
	const char *url_ext = names_ext_for_url(s), *ext = NULL;
	static const char *const known[] = {".jpg",  ".jpeg", ".png", ".gif", ".webp",
					    ".json", ".mp4",  ".mov", ".m4v"};
	size_t len = strlen(s), stem = names_strip_ext(s, &ext);
	bool found = false;

	FUZZ_CHECK(strcmp(url_ext, ".jpg") == 0 || strcmp(url_ext, ".png") == 0 ||
		   strcmp(url_ext, ".gif") == 0 || strcmp(url_ext, ".webp") == 0 ||
		   strcmp(url_ext, ".mp4") == 0 || strcmp(url_ext, ".mov") == 0);
	FUZZ_CHECK(stem <= len && ext == s + stem);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		found = found || strcasecmp(ext, known[i]) == 0;
	FUZZ_CHECK(*ext == '\0' ? stem == len : found && stem > 0);
	FUZZ_CHECK(names_strip_ext(s, NULL) == stem);
	if (s[0] == '.')
		FUZZ_CHECK(names_is_scratch(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *title, *back;
	const char *id = DEFAULT_ID;
	size_t reserve;

	if (size < 1)
		return 0;
	/* Callers reserve an extension and at most a " {ID}" suffix: well below 128 bytes. */
	reserve = data[0] & 0x7f;
	title = fuzz_string(data + 1, size - 1);
	if (size - 1 > strlen(title) + 1 && title[strlen(title) + 1])
		id = title + strlen(title) + 1;
	check_sanitize(title, id, reserve);
	check_sanitize(NULL, id, reserve);
	check_ext(title);
	/* Any name a user types maps to some title, never longer than the name. */
	back = names_to_title(title);
	FUZZ_CHECK(back && strlen(back) <= strlen(title));
	free(back);
	free(title);
	return 0;
}
