#include "textcheck.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

/* The length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not well-formed. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	size_t len;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0; /* a continuation byte, an overlong lead (c0, c1) or past U+10FFFF */
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

int text_name_check(const char *name)
{
	size_t len = strlen(name);

	if (len > 255)
		return -ENAMETOOLONG;
	if (len == 0 || !text_utf8_valid(name, len))
		return -EINVAL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	return 0;
}

/* Walks the text's brackets and strings: TEXT_BROKEN at a closing bracket that does not match
 * the open one, TEXT_PARTIAL when the end comes inside a string or an open bracket, else
 * TEXT_WHOLE (the caller's parse decides). Deeper nesting than this is not a sidecar. */
static enum text_whole scan(const char *text, size_t len)
{
	char open[64];
	size_t depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (depth == sizeof(open))
				return TEXT_BROKEN;
			open[depth++] = c;
		} else if (c == '}' || c == ']') {
			if (!depth || open[depth - 1] != (c == '}' ? '{' : '['))
				return TEXT_BROKEN;
			depth--;
		}
	}
	return in_string || depth ? TEXT_PARTIAL : TEXT_WHOLE;
}

enum text_whole text_json_whole(const char *text, size_t len)
{
	size_t start = 0;
	const char *end = NULL;
	enum text_whole s;
	cJSON *j;

	while (start < len && strchr(" \t\r\n", text[start]) && text[start])
		start++;
	if (start == len)
		return TEXT_PARTIAL;
	s = scan(text + start, len - start);
	if (s != TEXT_WHOLE)
		return s;
	/* Brackets balance: the text is as long as it will get, and parses or is wrong. A bare
	 * word cut short ("tru") cannot be told from a wrong one: a sidecar is an object. */
	j = cJSON_ParseWithLengthOpts(text + start, len - start, &end, false);
	s = j ? TEXT_WHOLE : TEXT_BROKEN;
	/* Only blanks may follow the value: "{} x" is no sidecar. */
	for (; j && end < text + len; end++)
		if (!strchr(" \t\r\n", *end) || !*end)
			s = TEXT_BROKEN;
	cJSON_Delete(j);
	return s;
}

bool text_json_has_nul(const char *text, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"') {
			in_string = !in_string;
		} else if (in_string && text[i] == '\\' && i + 1 < len) {
			if (len - i >= 6 && text[i + 1] == 'u' &&
			    strncmp(text + i + 2, "0000", 4) == 0)
				return true;
			i++; /* the escaped character, a backslash or a quote among them */
		}
	}
	return false;
}
