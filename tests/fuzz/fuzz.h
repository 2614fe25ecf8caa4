/* What the libFuzzer targets share: the entry point's declaration, a check that aborts (so
 * libFuzzer keeps the input that broke an invariant), and small pure helpers.
 *
 * Each target is one tests/fuzz/fuzz_<name>.c; its seed corpus is tests/fuzz/corpus/<name>/.
 * docs/testing.md says how to build and run them.
 */
#ifndef PINFS_FUZZ_H
#define PINFS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant that does not hold is a crash: libFuzzer saves the input. */
#define FUZZ_CHECK(e)                                                                              \
	do {                                                                                       \
		if (!(e)) {                                                                        \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #e);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The input as a NUL-terminated string (cut at its first NUL byte). Caller frees. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* True when s[0..len) is valid UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF. Written apart from names.c's own decoder, so that one checks the other. */
static inline bool fuzz_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

/* True when name is one a folder may list: non-empty, valid UTF-8, no '/', no control
 * character, no leading '.', at most limit bytes. */
static inline bool fuzz_name_ok(const char *name, size_t limit)
{
	size_t len = strlen(name);

	if (len == 0 || len > limit || name[0] == '.' || !fuzz_utf8_valid(name, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

#endif
