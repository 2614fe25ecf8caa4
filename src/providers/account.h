/* The account's provider (me.json, boards/ and the root's own attributes): the tree (tree.h)
 * with the local files (local.h) laid over it, as sshfs lays its cache over the ops table it
 * wraps. Internal to account.c and account_open.c. */
#ifndef PINFS_ACCOUNT_H
#define PINFS_ACCOUNT_H

#include "provider.h"

/* 0 when the folder of path is a board's or a section's, where files can be made; else
 * -EPERM or the tree's -errno. */
int account_in_pin_folder(const char *path);

/* The provider's create and open slots (account_open.c). */
int account_create(const char *path, mode_t mode, struct vfs_file_info *fi, struct handle **out);
int account_open(const char *path, struct vfs_file_info *fi, struct handle **out);

#endif
