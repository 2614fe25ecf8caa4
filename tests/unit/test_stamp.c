/* Unit tests of a text's stamp (src/util/stamp.h). */
#include "check.h"
#include "stamp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A sidecar-like text of n's own, of about 1.5 KB (sidecars are 0.5 to 0.8 KB): many tails. */
static size_t sample(char *buf, size_t cap, unsigned n)
{
	int len =
	    snprintf(buf, cap, "{\n  \"id\": \"%u\",\n  \"title\": \"Pin number %u\",\n", n, n);

	while ((size_t)len + 40 < cap - 1 && len < 1500)
		len += snprintf(buf + len, cap - (size_t)len,
				"  \"note\": \"words and more words\",\n");
	return (size_t)len;
}

/* The same bytes give the same stamp wherever they lie in memory (unaligned loads). */
static void test_same_text_same_stamp(void)
{
	char text[2048], moved[2048 + 8];
	size_t len = sample(text, sizeof(text), 7);
	uint64_t want = stamp_of(text, len);
	int same = 0;

	for (size_t off = 0; off < 8; off++) {
		memcpy(moved + off, text, len);
		same += stamp_of(moved + off, len) == want;
	}
	CHECK(same == 8);
	CHECK(stamp_of(text, len) == want);
}

/* One byte changed anywhere, in any of its bits, changes the stamp: the text's tail too. */
static void test_every_byte_counts(void)
{
	char text[2048];
	size_t len = sample(text, sizeof(text), 42);
	uint64_t base = stamp_of(text, len);
	size_t differ = 0, tries = 0;

	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			text[i] ^= (char)(1 << bit);
			differ += stamp_of(text, len) != base;
			text[i] ^= (char)(1 << bit);
			tries++;
		}
	CHECK(differ == tries);
}

/* A prefix, and the text with zero bytes after it, are other texts. */
static void test_length_counts(void)
{
	char text[16] = "abcdefghij";
	uint64_t s[12];
	int distinct = 1;

	for (size_t n = 0; n < 12; n++)
		s[n] = stamp_of(text, n);
	qsort(s, 12, sizeof(s[0]), cmp_u64);
	for (size_t i = 1; i < 12; i++)
		distinct += s[i] != s[i - 1];
	CHECK(distinct == 12);
	CHECK(stamp_of("", 0) != 0);
}

/* 200 000 sidecars that differ in a number: no two stamps alike, none 0. */
static void test_no_collisions(void)
{
	enum { COUNT = 200000 };
	uint64_t *s = malloc(COUNT * sizeof(*s));
	char text[2048];
	size_t distinct = 1, zero = 0;

	if (!s) {
		CHECK(!"out of memory");
		return;
	}
	for (unsigned n = 0; n < COUNT; n++) {
		s[n] = stamp_of(text, sample(text, sizeof(text), n));
		zero += s[n] == 0;
	}
	qsort(s, COUNT, sizeof(s[0]), cmp_u64);
	for (size_t i = 1; i < COUNT; i++)
		distinct += s[i] != s[i - 1];
	CHECK(distinct == COUNT);
	CHECK(zero == 0);
	free(s);
}

int main(void)
{
	test_same_text_same_stamp();
	test_every_byte_counts();
	test_length_counts();
	test_no_collisions();
	return check_summary();
}
