/* The two things the FUSE layer and the providers exchange through the VFS besides paths: an
 * open file's state between requests, and a listing's entries. Defined here, below both, so
 * that a provider needs nothing of the layers above it. Types only. */
#ifndef PINFS_FILEINFO_H
#define PINFS_FILEINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* An open file as the FUSE layer keeps it between requests. In: flags (open(2)'s). Out, from
 * an open or a create: fh, the file's handle, given back with every later call on it; how the
 * kernel may cache its pages (direct_io, keep_cache); noflush: its close needs no flush. */
struct vfs_file_info {
	int flags;
	uint64_t fh;
	bool direct_io, keep_cache, noflush;
};

/* A listing's entry flags (vfs_fill_fn). */
#define VFS_FILL_PLUS	      1u /* st holds the whole attributes: the kernel may keep them */
#define VFS_FILL_SIZE_UNKNOWN 2u /* with PLUS: an image whose size is not known yet (0 given) */

/* Receives one entry of a listing at offset off. off 0: the folder gives every name at once,
 * and the FUSE layer keeps them and serves them a reply at a time; else the offset after which
 * the next call goes on. st holds at least the kind (st_mode). Non-zero: the reply is full,
 * stop. */
typedef int (*vfs_fill_fn)(void *ctx, const char *name, const struct stat *st, off_t off,
			   unsigned flags);

#endif
