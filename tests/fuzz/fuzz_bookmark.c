/* A listing's next page path (src/remote/api.c api_page_path): the server's bookmark is opaque text
 * that goes into the query string, so it must come out escaped, whole, and alone.
 *
 * Input: one flags byte (bit 0: paged; bit 1: the path has a query already; bit 2: no
 * bookmark, the first page), then the bookmark.
 */
#include "api.h"
#include "fuzz.h"

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Checks esc holds URL-safe characters only and decodes back to want. */
static void check_escaped(const char *esc, const char *want)
{
	size_t len = strlen(want), at = 0;

	for (const char *p = esc; *p; p++) {
		char c = *p;

		if (c == '%') {
			FUZZ_CHECK(hex(p[1]) >= 0 && hex(p[2]) >= 0);
			c = (char)(hex(p[1]) << 4 | hex(p[2]));
			p += 2;
		} else {
			FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
				   c == '~');
		}
		FUZZ_CHECK(at < len && want[at] == c);
		at++;
	}
	FUZZ_CHECK(at == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool paged, query, first;
	const char *path, *rest;
	char *bookmark, *out, *prefix = NULL;

	if (size < 1)
		return 0;
	paged = data[0] & 1, query = data[0] & 2, first = data[0] & 4;
	path = query ? "/search/pins?query=lemon%20tart" : "/boards/549755885175/pins";
	bookmark = fuzz_string(data + 1, size - 1);
	/* api_list asks for a next page only for a non-empty bookmark. */
	if (!*bookmark)
		first = true;
	out = api_page_path(path, paged, first ? NULL : bookmark);
	FUZZ_CHECK(out != NULL);
	if (asprintf(&prefix, "%s%s%s", path, query ? "&" : "?",
		     paged ? (first ? "page_size=250" : "page_size=250&bookmark=")
			   : (first ? "" : "bookmark=")) < 0)
		abort();
	if (!paged && first) /* the path as it is */
		prefix[strlen(path)] = '\0';
	FUZZ_CHECK(strncmp(out, prefix, strlen(prefix)) == 0);
	rest = out + strlen(prefix);
	if (first)
		FUZZ_CHECK(*rest == '\0');
	else
		check_escaped(rest, bookmark);
	free(prefix);
	free(out);
	free(bookmark);
	return 0;
}
