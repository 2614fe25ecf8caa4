#include "jarena.h"

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

cJSON *jarena_parse(struct jarena *a, const char *text, size_t len)
{
	struct jarena *outer = parsing;
	cJSON *tree;

	jarena_install();
	/* Live before the parse: a parse that fails deletes what it built. */
	if (!a->live) {
		a->next_live = live_head;
		live_head = a;
		a->live = 1;
	}
	parsing = a;
	tree = cJSON_ParseWithLength(text, len);
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
