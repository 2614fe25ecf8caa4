/* The folders beyond me.json and boards/: pins/, search/, followers/ and following/.
 *
 * fs.c sends every path for which social_owns() is true here instead of to the tree. The
 * functions follow tree.h's conventions: 0 or -errno, copies out, nothing held across calls.
 */
#ifndef PINFS_SOCIAL_H
#define PINFS_SOCIAL_H

#include "tree.h"

#include <stdbool.h>
#include <stddef.h>

/* True for "/pins", "/search", "/followers", "/following" and everything below them. */
bool social_owns(const char *path);

int social_stat(const char *path, struct node_info *out);
int social_list(const char *path, tree_fill_fn fill, void *ctx);

/* The target of a symlink (relative, e.g. "../boards/Recipes/Lemon tart.jpg"), into buf. */
int social_readlink(const char *path, char *buf, size_t len);

/* The content of a file (a user's or topic's JSON). Caller frees. */
int social_read_text(const char *path, char **text, size_t *len);

/* Creating a file (following/users/NAME.json follows NAME) and removing one. */
int social_create(const char *path);
int social_unlink(const char *path);

#endif
