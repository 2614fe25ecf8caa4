#include "jarena.h"

#include "log.h"

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Under AddressSanitizer a block's free bytes are poisoned, and so is a kept block when its
 * trees end: a read of a tree after jarena_reset fails there as a use after free would. */
#if defined(__SANITIZE_ADDRESS__)
#define JARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JARENA_ASAN 1
#endif
#endif
#ifdef JARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Under the mmap threshold main.c fixes (256 KiB): blocks come from the heap and are used
 * again by the next page's, where a block mapped apart would be new pages to fault in. */
enum { BLOCK_DATA = 128 * 1024, ALIGN = alignof(max_align_t) };

struct jarena_block {
	struct jarena_block *next;
	size_t size, used; /* of data[] */
	alignas(max_align_t) unsigned char data[];
};

/* The arena the running cJSON_ParseWithLength of this thread allocates from, if any. */
static __thread struct jarena *parsing;
/* This thread's arenas that hold a tree: a free of a pointer into one of them is no free. */
static __thread struct jarena *live_head;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static int owns(const struct jarena *a, const void *p)
{
	uintptr_t u = (uintptr_t)p;

	for (const struct jarena_block *b = a->blocks; b; b = b->next)
		if (u >= (uintptr_t)b->data && u < (uintptr_t)b->data + b->size)
			return 1;
	return 0;
}

static void *bump(struct jarena *a, size_t want)
{
	struct jarena_block *b = a->blocks;
	size_t n = (want + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (n == 0)
		n = ALIGN;
	if (!b || b->size - b->used < n) {
		size_t size = n > BLOCK_DATA ? n : BLOCK_DATA; /* a long string has its own */

		b = malloc(sizeof *b + size);
		if (!b)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = a->blocks;
		a->blocks = b;
		POISON(b->data, size);
	}
	p = b->data + b->used;
	b->used += n;
	UNPOISON(p, want);
	return p;
}

static void *hook_malloc(size_t n)
{
	return parsing ? bump(parsing, n) : malloc(n);
}

static void hook_free(void *p)
{
	for (const struct jarena *a = live_head; a; a = a->next_live)
		if (owns(a, p))
			return; /* freed with its arena */
	free(p);
}

static void install_hooks(void)
{
	cJSON_Hooks h = {.malloc_fn = hook_malloc, .free_fn = hook_free};

	cJSON_InitHooks(&h);
}

void jarena_install(void)
{
	pthread_once(&hooks_once, install_hooks);
}

static void unlink_live(struct jarena *a)
{
	if (!a->live)
		return;
	for (struct jarena **pp = &live_head; *pp; pp = &(*pp)->next_live)
		if (*pp == a) {
			*pp = a->next_live;
			break;
		}
	a->next_live = NULL;
	a->live = 0;
}

/* The UTF-16 code unit of the \uXXXX escape whose backslash is t[i], or -1. */
static long escape_at(const char *t, size_t len, size_t i)
{
	long v = 0;

	if (i + 6 > len || t[i + 1] != 'u')
		return -1;
	for (size_t k = i + 2; k < i + 6; k++) {
		int c = t[k] | 0x20; /* a letter's lower case; digits keep their value */

		if (t[k] >= '0' && t[k] <= '9')
			v = v * 16 + (t[k] - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/* Counts the lone UTF-16 surrogate escapes of text[0..len) (half of a pair: an emoji cut in
 * two by a server that cut a string at a code unit) and, when fix is given (a copy of text),
 * writes each there as \ufffd, of the same length. cJSON refuses a whole answer for one. */
static size_t mend_surrogates(const char *text, size_t len, char *fix)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		const char *bs = memchr(text + i, '\\', len - i);
		long u, low;

		if (!bs)
			break;
		i = (size_t)(bs - text);
		u = escape_at(text, len, i);
		if (u < 0xD800 || u > 0xDFFF) {
			i++; /* the escaped character: an escaped backslash starts no escape */
			continue;
		}
		low = u <= 0xDBFF && i + 7 < len && text[i + 6] == '\\'
			  ? escape_at(text, len, i + 6)
			  : -1;
		if (low >= 0xDC00 && low <= 0xDFFF) {
			i += 11; /* a whole pair */
			continue;
		}
		if (fix)
			memcpy(fix + i, "\\ufffd", 6);
		n++;
		i += 5;
	}
	return n;
}

/* cJSON_ParseWithLength, with lone surrogate escapes read as U+FFFD (logged). */
static cJSON *parse_mended(const char *text, size_t len)
{
	size_t lone = mend_surrogates(text, len, NULL);
	char *copy;
	cJSON *tree;

	if (!lone)
		return cJSON_ParseWithLength(text, len);
	/* Parsed nodes copy their strings: the mended text goes once the tree is made. */
	copy = malloc(len ? len : 1);
	if (!copy)
		return NULL;
	memcpy(copy, text, len);
	mend_surrogates(text, len, copy);
	log_warn("an API answer holds %zu lone UTF-16 surrogate escape(s) (half a character): "
		 "read as U+FFFD",
		 lone);
	tree = cJSON_ParseWithLength(copy, len);
	free(copy);
	return tree;
}

cJSON *jarena_parse(struct jarena *a, const char *text, size_t len)
{
	struct jarena *outer = parsing;
	cJSON *tree;

	jarena_install();
	if (!a)
		return parse_mended(text, len);
	/* Live before the parse: a parse that fails deletes what it built. */
	if (!a->live) {
		a->next_live = live_head;
		live_head = a;
		a->live = 1;
	}
	parsing = a;
	tree = parse_mended(text, len);
	parsing = outer;
	return tree;
}

void jarena_reset(struct jarena *a)
{
	struct jarena_block *keep = NULL, *b = a->blocks;

	unlink_live(a);
	while (b) {
		struct jarena_block *next = b->next;

		if (!keep && b->size == BLOCK_DATA) {
			keep = b;
			keep->next = NULL;
			keep->used = 0;
			POISON(keep->data, keep->size);
		} else {
			UNPOISON(b->data, b->size);
			free(b);
		}
		b = next;
	}
	a->blocks = keep;
}

void jarena_release(struct jarena *a)
{
	unlink_live(a);
	while (a->blocks) {
		struct jarena_block *next = a->blocks->next;

		UNPOISON(a->blocks->data, a->blocks->size);
		free(a->blocks);
		a->blocks = next;
	}
}
