/* Many short strings in one allocation: a pin's dozen fields cost one malloc, not twelve, which
 * keeps 100 000 cached pins small. */
#ifndef PINFS_STRPACK_H
#define PINFS_STRPACK_H

#include <stddef.h>
#include <stdint.h>

/* Copies in[0..n) (NULL entries allowed) into one block; out[i] points into the block, or is
 * NULL where in[i] is. Returns the block, which the caller frees once (it frees every out[i]),
 * or NULL when out of memory. in and out may be the same array. */
char *strpack(const char *const *in, char **out, size_t n);

/* The packed form without pointers, for records that must stay small: the strings present
 * in in[0..n) back to back, each with its NUL, and a mask of which were present (bit i for
 * in[i]; n <= 32). strpack_size says how many bytes strpack_into writes. */
size_t strpack_size(const char *const *in, size_t n);
uint32_t strpack_into(char *dst, const char *const *in, size_t n);

/* Points out[0..n) back into a block strpack_into wrote with mask (NULL where a bit is 0). */
void strunpack(const char *src, uint32_t mask, const char **out, size_t n);

/* The string of index i alone (NULL when its bit is 0), without unpacking the others. */
const char *strunpack_one(const char *src, uint32_t mask, size_t i);

#endif
