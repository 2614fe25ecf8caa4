/* Many short strings in one allocation: a pin's dozen fields cost one malloc, not twelve, which
 * keeps 100 000 cached pins small. */
#ifndef PINFS_STRPACK_H
#define PINFS_STRPACK_H

#include <stddef.h>

/* Copies in[0..n) (NULL entries allowed) into one block; out[i] points into the block, or is
 * NULL where in[i] is. Returns the block, which the caller frees once (it frees every out[i]),
 * or NULL when out of memory. in and out may be the same array. */
char *strpack(const char *const *in, char **out, size_t n);

#endif
