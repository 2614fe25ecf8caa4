/* The folders beyond me.json and boards/: pins/, search/, followers/ and following/.
 *
 * The router sends every path under those folders here (social_vfs.c, the provider). The
 * functions follow tree.h's conventions: 0 or -errno, copies out, nothing held across calls.
 * What each folder shows and costs is in docs/design.md ("Beyond boards/").
 */
#ifndef PINFS_SOCIAL_H
#define PINFS_SOCIAL_H

#include "tree.h"

#include <stdbool.h>
#include <stddef.h>

/* ttl_s: how long a listing is trusted (the tree's dir_cache_ttl). Call once before mounting;
 * social_cleanup frees every listing at unmount. */
void social_init(double ttl_s);
void social_cleanup(void);

/* Lists folders in the background, side by side, for a walk of the whole mount that will
 * want them: pins/ (people false), or followers/ and following/'s folders (people true). A
 * folder already being listed ahead is left to that listing. Returns at once; social_cleanup
 * waits for them. */
void social_prefetch(bool people);

int social_stat(const char *path, struct node_info *out);
int social_list(const char *path, tree_fill_fn fill, void *ctx);

/* The target of a symlink (relative, e.g. "../boards/Recipes/Lemon tart.jpg"), into buf. */
int social_readlink(const char *path, char *buf, size_t len);

/* The content of a file (a user's or topic's JSON, a followed board's .board.json). Caller
 * frees. */
int social_read_text(const char *path, char **text, size_t *len);

/* The URL of an image (a followed board's cover or thumbnail), whose bytes come through
 * cache.h. Caller frees. -EINVAL when path is a file but not an image. */
int social_image_url(const char *path, char **url);

/* Creating a file (following/users/NAME.json follows NAME) and removing one. */
int social_create(const char *path);
int social_unlink(const char *path);

/* mkdir and rmdir: following or unfollowing a board under following/boards/ is -ENOTSUP
 * (Pinterest's API v5 has no endpoint for it, which the log says); elsewhere -EROFS. */
int social_mkdir(const char *path);
int social_rmdir(const char *path);

#endif
