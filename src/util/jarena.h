/* Where a page of a listing is parsed: cJSON's nodes and strings bumped out of a few big blocks
 * instead of one malloc each. A page of 250 pins is about 15 000 nodes and strings; parsed one
 * malloc at a time and freed one at a time, they were a quarter of a listing's CPU, all of it
 * under the process's one malloc lock that the other threads wait on. */
#ifndef PINFS_JARENA_H
#define PINFS_JARENA_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Zero-initialised before its first use ({0}). The thread that parses into it resets and
 * releases it: which pointers are an arena's is known to that thread alone. */
struct jarena {
	struct jarena_block *blocks; /* newest first */
	struct jarena *next_live;    /* the thread's other arenas that hold a tree */
	int live;
};

/* Routes cJSON's allocations through the arenas (cJSON_InitHooks). Called once, before any
 * other thread uses cJSON; jarena_parse calls it too (for programs that did not). Outside an
 * arena's parse, cJSON allocates with malloc and frees with free as before, so cJSON_Print's
 * results are still freed with free(). */
void jarena_install(void);

/* Parses text[0..len) into a's blocks. The tree is the arena's: the caller never cJSON_Deletes
 * it (a cJSON_Delete of it or of a part of it, in this thread, frees nothing) and must not keep
 * any of it past jarena_release. Items the caller adds to it are its own, from malloc. With a
 * NULL, the tree is made with malloc as cJSON_ParseWithLength's, and the caller cJSON_Deletes
 * it. Either way a lone UTF-16 surrogate escape ("\ud83c", half an emoji), which cJSON refuses
 * along with the whole answer, is read as U+FFFD, with one log line. Returns NULL when text is
 * not JSON or memory is short. */
cJSON *jarena_parse(struct jarena *a, const char *text, size_t len);

/* Ends the life of every tree parsed into a and keeps its first block for the next parse. */
void jarena_reset(struct jarena *a);

/* Frees a's blocks: a is {0} again. */
void jarena_release(struct jarena *a);

#endif
