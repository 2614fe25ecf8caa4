/* Folders pinfs keeps its own files in (the cache, the token file's folder). */
#ifndef PINFS_DIRS_H
#define PINFS_DIRS_H

/* Creates path and its missing parents, each mode 0700 (they may hold a secret, and a new
 * account may have no ~/.cache or ~/.config yet). path is only read. Returns 0 or -errno. */
int dirs_make(const char *path);

#endif
