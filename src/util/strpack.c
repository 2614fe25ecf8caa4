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

size_t strpack_size(const char *const *in, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += in[i] ? strlen(in[i]) + 1 : 0;
	return total;
}

uint32_t strpack_into(char *dst, const char *const *in, size_t n)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (!in[i])
			continue;
		len = strlen(in[i]) + 1;
		memcpy(dst, in[i], len);
		dst += len;
		mask |= UINT32_C(1) << i;
	}
	return mask;
}

void strunpack(const char *src, uint32_t mask, const char **out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(mask & (UINT32_C(1) << i))) {
			out[i] = NULL;
			continue;
		}
		out[i] = src;
		src += strlen(src) + 1;
	}
}

const char *strunpack_one(const char *src, uint32_t mask, size_t i)
{
	if (!(mask & (UINT32_C(1) << i)))
		return NULL;
	for (size_t k = 0; k < i; k++)
		if (mask & (UINT32_C(1) << k))
			src += strlen(src) + 1;
	return src;
}
