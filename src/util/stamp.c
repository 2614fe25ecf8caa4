/* See stamp.h. */
#include "stamp.h"

#include <string.h>

#define MUL1 0x9e3779b97f4a7c15ULL /* 2^64 / the golden ratio, odd */
#define MUL2 0xbf58476d1ce4e5b9ULL /* splitmix64's first multiplier */

/* Spreads every bit of x over the whole word (splitmix64's finisher). */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= MUL2;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t stamp_of(const char *text, size_t len)
{
	uint64_t h = len * MUL1, w;
	size_t i = 0;

	/* memcpy: the text need not be aligned, and the compiler makes it one load. */
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, text + i, 8);
		h = (h ^ mix(w)) * MUL1;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, text + i, len - i);
		h = (h ^ mix(w)) * MUL1;
	}
	h = mix(h);
	return h ? h : 1;
}
