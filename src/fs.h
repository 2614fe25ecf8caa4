/* The FUSE operations table: a thin layer from paths and file handles to the tree and the
 * cache. Every operation answers 0 or -errno. */
#ifndef PINFS_FS_H
#define PINFS_FS_H

#include <fuse.h>

extern const struct fuse_operations pinfs_ops;

#endif
