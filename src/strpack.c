#include "strpack.h"

#include <stdlib.h>
#include <string.h>

char *strpack(const char *const *in, char **out, size_t n)
{
	size_t total = 1, at = 0;
	char *block;

	for (size_t i = 0; i < n; i++)
		total += in[i] ? strlen(in[i]) + 1 : 0;
	block = malloc(total);
	if (!block)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *s = in[i];
		size_t len;

		if (!s) {
			out[i] = NULL;
			continue;
		}
		len = strlen(s) + 1;
		memcpy(block + at, s, len);
		out[i] = block + at;
		at += len;
	}
	block[at] = '\0';
	return block;
}
