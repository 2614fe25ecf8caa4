/* pinfs's own files on disk (the cache, the token file, staged files): their folders, and whole
 * writes and reads. */
#ifndef PINFS_DIRS_H
#define PINFS_DIRS_H

#include <stddef.h>

/* Creates path and its missing parents, each mode 0700 (they may hold a secret, and a new
 * account may have no ~/.cache or ~/.config yet). path is only read. Returns 0 or -errno. */
int dirs_make(const char *path);

/* Writes all of data[0..len) to fd, again after a short write or EINTR. Returns 0 or -errno. */
int dirs_write_all(int fd, const char *data, size_t len);

/* Reads the whole file open at fd (at most max bytes: -EFBIG past that) into *text, which
 * the caller frees, NUL-terminated, its length in *len (fewer bytes when the file shrank
 * meanwhile). Returns 0 or -errno: a failed read is an error, never a length. */
int dirs_read_all(int fd, size_t max, char **text, size_t *len);

#endif
