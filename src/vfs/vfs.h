/* The file system by path: what the FUSE layer (fuse/lowlevel.c) calls, and all it calls.
 *
 * The FUSE layer turns the kernel's inode numbers into paths and its replies into these calls;
 * nothing here knows of requests, inodes or libfuse. Each call routes by the path's first
 * component to the provider that serves that top-level folder (router.c's table, provider.h).
 * Every call answers 0 (or a count) or -errno. Called from the request loop's threads, at
 * once; each call takes and drops its own locks.
 */
#ifndef PINFS_VFS_H
#define PINFS_VFS_H

#include "fileinfo.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

/* Once, when the kernel is connected: the mount's owner is the calling process's user. */
void vfs_init(void);

/* The process of the request the calling thread serves, for the operations that ask. */
void vfs_set_caller(pid_t pid);

/* A lookup: path's attributes without learning an image's size. *size_unknown says the size
 * given (0) is not one: the attributes must not be kept. */
int vfs_lookup(const char *path, struct stat *st, bool *size_unknown);

/* True when the caller's look-up of path must find nothing for now: a sidecar it is about to
 * copy onto the pin or board it just made (copyin.h). Not to be cached by the kernel. */
bool vfs_lookup_hidden(const char *path);

/* getattr: path may be NULL (a file removed while open) when fi is its open file. */
int vfs_getattr(const char *path, struct stat *st, const struct vfs_file_info *fi);

/* setattr's parts, in the order a request applies them. path may be NULL when fi is given. */
int vfs_chmod(const char *path, mode_t mode);
int vfs_chown(const char *path, uid_t uid, gid_t gid);
int vfs_truncate(const char *path, off_t size, const struct vfs_file_info *fi);
int vfs_utimens(const char *path, const struct timespec tv[2]);

int vfs_readlink(const char *path, char *buf, size_t len);
int vfs_mkdir(const char *path, mode_t mode);
int vfs_unlink(const char *path);
int vfs_rmdir(const char *path);
/* flags: renameat2's (RENAME_NOREPLACE, RENAME_EXCHANGE). */
int vfs_rename(const char *from, const char *to, unsigned flags);
/* ln from to (to is the new name). */
int vfs_link(const char *from, const char *to);

/* open and create fill fi; every successful one is ended by exactly one vfs_release. */
int vfs_create(const char *path, mode_t mode, struct vfs_file_info *fi);
int vfs_open(const char *path, struct vfs_file_info *fi);
/* After a successful open: the text whose bytes the kernel's page cache should hold for the
 * file (a sidecar about to be read, whose pages are not cached), or false. The pointer is the
 * handle's: valid until its release. */
bool vfs_text_push(const struct vfs_file_info *fi, const char **text, size_t *len);

/* Bytes read or written, or -errno. */
int vfs_read(const struct vfs_file_info *fi, char *buf, size_t size, off_t off);
int vfs_write(const struct vfs_file_info *fi, const char *buf, size_t size, off_t off);
/* A close: what close(2) returns. path NULL: the file was removed while open. */
int vfs_flush(const char *path, const struct vfs_file_info *fi);
/* True when the release of fi has work that needs the file's path (a writer's file that no
 * close found whole yet): the FUSE layer then looks the path up for it. */
bool vfs_release_wants_path(const struct vfs_file_info *fi);
void vfs_release(const char *path, const struct vfs_file_info *fi);
/* Frees the files still open: once no request can come any more. Returns how many. */
unsigned vfs_close_all(void);

/* A folder was opened by the thread whose request is served. Returns what to give
 * vfs_dir_closed when the kernel releases it (0: nothing): a walk is seen by who holds which
 * folder open (walk.h). */
pid_t vfs_dir_opened(const char *path);
void vfs_dir_closed(pid_t token);
/* Lists the folder at path from offset off (0: from its start). plus: readdirplus, where the
 * entries the mount knows go with their attributes. */
int vfs_readdir(const char *path, off_t off, bool plus, vfs_fill_fn fill, void *ctx);

int vfs_statfs(struct statvfs *st);

/* getxattr and listxattr answer the value's length (with size 0: how big it is). */
int vfs_getxattr(const char *path, const char *name, char *value, size_t size);
int vfs_listxattr(const char *path, char *list, size_t size);
int vfs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags);
int vfs_removexattr(const char *path, const char *name);

/* The kernel forgot the inode at path, and with it the file's pages in its page cache. */
void vfs_forgotten(const char *path);

/* The top-level folders whose unused names the kernel may be asked to forget after a walk
 * (main.c's forgetter): calls fn with each name. */
void vfs_each_forgettable(void (*fn)(const char *name, void *ctx), void *ctx);

#endif
