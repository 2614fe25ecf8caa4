/* A listing on its way to the FUSE layer, for the providers' list slots.
 *
 * A folder hands its names over one of two ways. The generated folders (and .pinfs) give
 * every name at once, offset 0 (dir_fill_whole), and the FUSE layer keeps the list until the
 * folder is read from its start again. The tree's folders give each entry its offset
 * (dir_fill_next, dir_fill_attr) and stop when the kernel's buffer is full: the next call
 * starts after the last offset the kernel took. libfuse 3.14 sends the attributes of
 * readdirplus only in that second way.
 *
 * Used by the request thread that lists; nothing is kept past the call.
 */
#ifndef PINFS_DIRFILL_H
#define PINFS_DIRFILL_H

#include "fileinfo.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

struct dir_fill {
	vfs_fill_fn fill;
	void *ctx;
	const char *dir; /* the folder listed */
	bool plus;	 /* readdirplus: attributes are wanted */
	off_t after;	 /* the kernel has the entries up to this offset */
	off_t n;	 /* the offset of the last entry met */
	bool full;	 /* the kernel's buffer is full: stop */
};

/* One name of a folder given whole (offset 0). Returns non-zero to stop. The ctx is a
 * struct dir_fill: the signature is the listing callbacks' (tree_fill_fn). */
int dir_fill_whole(void *df, const char *name, mode_t kind);

/* The next entry with its offset, without attributes. Non-zero: stop (the buffer is full).
 * ctx: a struct dir_fill. */
int dir_fill_next(void *df, const char *name, mode_t kind);

/* The next entry with its offset and st; flags: VFS_FILL_*. Non-zero: stop. */
int dir_fill_attr(struct dir_fill *df, const char *name, const struct stat *st, unsigned flags);

/* df's folder/name into path (PATH_MAX bytes); false when it does not fit. */
bool dir_fill_child(const struct dir_fill *df, const char *name, char path[PATH_MAX]);

#endif
