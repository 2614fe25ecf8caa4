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

/* Creates an empty local file and opens it for reading and writing: returns the fd (the
 * caller closes it; *id names the writer for local_closed), or -errno: -EEXIST when there
 * is one. */
int local_create(const char *path, mode_t mode, unsigned long *id);

/* Fills st for the local file at path, or answers -ENOENT. */
int local_stat(const char *path, struct stat *st);

/* Opens the staging file of path with flags (O_RDONLY, O_RDWR, O_TRUNC...). Returns an fd
 * the caller closes, or -errno: -EBUSY when path is an upload name (local_is_upload_name)
 * already open for writing, so that two writers of one new name never make two pins. A
 * writer's *id is for local_closed once its descriptor is released (0 for a reader). */
int local_open(const char *path, int flags, unsigned long *id);

/* A descriptor for writing that local_create or local_open gave is released. */
void local_closed(unsigned long id);

/* True when path is an upload name open for writing (its upload is pending). */
bool local_busy(const char *path);

/* The staging file of path, into buf. */
int local_staging(const char *path, char *buf, size_t len);

/* Renames a local file (replacing a local file at to). */
int local_rename(const char *from, const char *to);

/* Removes the local file and its staging file. */
int local_unlink(const char *path);

/* Keeps the mode or times a user sets (chmod, touch): only locally. */
int local_chmod(const char *path, mode_t mode);
/* -EFBIG past UPLOAD_MAX_FILE_BYTES: no pin is larger. */
int local_truncate(const char *path, off_t size);

/* Sets the staging file's times: the mtime a writer gives (rsync -a, cp -p) goes with the
 * bytes to the pin they become. */
int local_utimens(const char *path, const struct timespec tv[2]);

/* user.pinterest.{title,description,link,alt_text} set on a file being written (cp -a, mv
 * across boards) are kept for the pin it becomes; the other user.pinterest.* ones (id, url,
 * board_id...) are Pinterest's to decide: accepted and ignored. Other names: -ENOTSUP.
 * Value not UTF-8: -EINVAL. get and list follow getxattr/listxattr (size, -ERANGE). */
#define LOCAL_TEXT_FIELDS 4 /* title, description, link, alt_text: struct upload's order */
int local_setxattr(const char *path, const char *name, const char *value, size_t size);
int local_getxattr(const char *path, const char *name, char *buf, size_t len);
int local_listxattr(const char *path, char *buf, size_t len);

/* Copies of the text set on path, in LOCAL_TEXT_FIELDS order (NULL where not set); the
 * caller frees each. 0, -ENOENT or -ENOMEM. */
int local_text(const char *path, char *text[LOCAL_TEXT_FIELDS]);

/* Lists the local files directly in the folder dir ("/boards/X"). */
void local_list(const char *dir, tree_fill_fn fill, void *ctx);

/* True for the names that go to Pinterest when written: plain names ending in an image
 * extension (.jpg, .jpeg, .png, .gif, .webp) or a video's (.mp4, .m4v, .mov). */
bool local_is_upload_name(const char *name);

#endif
