/* Unit tests of the checks on written text (src/util/textcheck.h). */
#include "check.h"
#include "textcheck.h"

#include <errno.h>
#include <string.h>

static bool utf8(const char *s)
{
	return text_utf8_valid(s, strlen(s));
}

static void test_utf8(void)
{
	CHECK(utf8(""));
	CHECK(utf8("plain ascii"));
	CHECK(utf8("Crème brûlée 東京の夜景 🌅"));
	CHECK(!utf8("\xff"));
	CHECK(!utf8("caf\xe9"));	    /* Latin-1 */
	CHECK(!utf8("\x80"));		    /* a lone continuation byte */
	CHECK(!utf8("\xc0\xaf"));	    /* overlong '/' */
	CHECK(!utf8("\xe0\x80\xaf"));	    /* overlong, three bytes */
	CHECK(!utf8("\xed\xa0\xbc"));	    /* a UTF-16 surrogate written as UTF-8 */
	CHECK(!utf8("\xf4\x90\x80\x80"));   /* past U+10FFFF */
	CHECK(!utf8("\xf0\x9f\x8c"));	    /* an emoji cut short */
	CHECK(utf8("\xf4\x8f\xbf\xbf"));    /* U+10FFFF itself */
	CHECK(!text_utf8_valid("a\0b", 3)); /* a NUL inside */
}

static void test_names(void)
{
	char long_name[300];

	memset(long_name, 'a', 255);
	long_name[255] = '\0';
	CHECK(text_name_check(long_name) == 0);
	long_name[255] = 'a';
	long_name[256] = '\0';
	CHECK(text_name_check(long_name) == -ENAMETOOLONG);
	CHECK(text_name_check("Lemon tart.jpg") == 0);
	CHECK(text_name_check("tab\there.jpg") == -EINVAL);
	CHECK(text_name_check("new\nline.jpg") == -EINVAL);
	CHECK(text_name_check("del\x7f.jpg") == -EINVAL);
	CHECK(text_name_check("caf\xe9.jpg") == -EINVAL);
	CHECK(text_name_check("東京.png") == 0);
	CHECK(text_name_check("") == -EINVAL);
}

static enum text_whole whole(const char *s)
{
	return text_json_whole(s, strlen(s));
}

static void test_json_whole(void)
{
	const char *full = "{\"title\": \"a }{ ] tricky \\\" title\", \"link\": null}\n";

	CHECK(whole("") == TEXT_PARTIAL);
	CHECK(whole("  \n") == TEXT_PARTIAL);
	CHECK(whole(full) == TEXT_WHOLE);
	/* Every prefix of a whole text is partial: more bytes may come. */
	for (size_t n = 1; n < strlen(full) - 2; n++)
		if (text_json_whole(full, n) != TEXT_PARTIAL) {
			CHECK(!"a prefix was taken as whole or broken");
			break;
		}
	CHECK(whole("{\"a\": 1]") == TEXT_BROKEN);
	CHECK(whole("{\"a\": 1}}") == TEXT_BROKEN);
	CHECK(whole("{\"a\": 1} x") == TEXT_BROKEN);
	CHECK(whole("{\"a\" 1}") == TEXT_BROKEN);
	CHECK(whole("text\n") == TEXT_BROKEN);
	CHECK(whole("[1, 2]") == TEXT_WHOLE);
}

static bool nul(const char *s)
{
	return text_json_has_nul(s, strlen(s));
}

static void test_json_nul(void)
{
	CHECK(nul("{\"d\": \"cut\\u0000here\"}"));
	CHECK(!nul("{\"d\": \"a\\\\u0000 is text\"}")); /* an escaped backslash, then text */
	CHECK(!nul("{\"d\": \"\\u00e9\"}"));
	CHECK(!nul("{\"d\": \"plain\"}"));
	CHECK(nul("{\"\\u0000\": 1}"));
}

int main(void)
{
	test_utf8();
	test_names();
	test_json_whole();
	test_json_nul();
	return check_summary();
}
