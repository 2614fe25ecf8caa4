/* Asking the kernel to forget the names it looked up, after a walk of many.
 *
 * The inode table (inodes.c) keeps an inode for every name the kernel has looked up, until the
 * kernel forgets it, and the kernel keeps a dentry that was used within its timeout until
 * memory runs short: `ls -lR` of 100 000 pins would leave 300 000 inodes behind. Once this many
 * inodes have been made since the last time, the kernel is asked to drop the unused dentries
 * below the root's folders (vfs_each_forgettable), which makes it forget their inodes. It
 * costs the kernel a LOOKUP of each name on the way next time (a listing describes most again)
 * and the page cache of closed files.
 *
 * One thread of its own (a bg group), started once the session is mounted and stopped before
 * it is unmounted.
 */
#ifndef PINFS_FORGETTER_H
#define PINFS_FORGETTER_H

#include <fuse_lowlevel.h>

/* Starts watching for se, mounted on mountpoint (which must outlive forgetter_stop). Without
 * it the mount only keeps more memory: a failure is logged, not fatal. */
void forgetter_start(struct fuse_session *se, const char *mountpoint);
void forgetter_stop(void);

#endif
