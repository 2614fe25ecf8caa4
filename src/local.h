/* Local files: files made in a board's folder that are not pins. Scratch names (dotfiles,
 * editor and rsync temporaries, files without an image extension such as sed's sedXXXXXX)
 * stay here and never reach Pinterest; a new image file stays here while it is written, until
 * it is uploaded at close. Each one's bytes live in a staging file under cache_dir/staging.
 *
 * Keyed by the path in the mount. Thread-safe; paths are copied.
 */
#ifndef PINFS_LOCAL_H
#define PINFS_LOCAL_H

#include "tree.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Makes cache_dir/staging (mode 0700) and empties it: nothing in it outlives a mount. */
int local_init(const char *cache_dir);
void local_cleanup(void);

/* True when path is a local file. */
bool local_exists(const char *path);

/* Creates an empty local file. -EEXIST when there is one. */
int local_create(const char *path, mode_t mode);

/* Fills st for the local file at path, or answers -ENOENT. */
int local_stat(const char *path, struct stat *st);

/* Opens the staging file of path with flags (O_RDONLY, O_RDWR, O_TRUNC...). Returns an fd
 * the caller closes, or -errno. */
int local_open(const char *path, int flags);

/* The staging file of path, into buf. */
int local_staging(const char *path, char *buf, size_t len);

/* Renames a local file (replacing a local file at to). */
int local_rename(const char *from, const char *to);

/* Removes the local file and its staging file. */
int local_unlink(const char *path);

/* Keeps the mode or times a user sets (chmod, touch): only locally. */
int local_chmod(const char *path, mode_t mode);
int local_truncate(const char *path, off_t size);

/* Lists the local files directly in the folder dir ("/boards/X"). */
void local_list(const char *dir, tree_fill_fn fill, void *ctx);

/* True for the names that go to Pinterest when written: plain names ending in an image
 * extension (.jpg, .jpeg, .png, .gif, .webp). */
bool local_is_upload_name(const char *name);

#endif
