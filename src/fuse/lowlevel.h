/* The kernel's side of the mount: libfuse's low-level operations, which speak of inode
 * numbers, served by the VFS (vfs.h), which speaks of paths (inodes.c links the two).
 *
 * The low-level API, not libfuse's path-based one, because only it lets a reply say for how
 * long the kernel may keep each entry's attributes: an image of unknown size is looked up and
 * listed with attributes it must not keep, so that an open (a thumbnailer's, rm's) needs no
 * size and sends no HEAD, while a stat still learns the size. */
#ifndef PINFS_LOWLEVEL_H
#define PINFS_LOWLEVEL_H

#include <fuse_lowlevel.h>

/* The session for args, served by the VFS, or NULL (libfuse printed why: an unknown option).
 * The caller frees it with lowlevel_destroy. */
struct fuse_session *lowlevel_new(struct fuse_args *args);
void lowlevel_destroy(struct fuse_session *se);

#endif
