/* pinfs's file operations, by path: a thin layer from paths and file handles to the tree and
 * the cache. Every operation answers 0 or -errno. lowlevel.c serves them to the kernel, turning
 * its inode numbers into paths; the table keeps libfuse's high-level signatures, which say
 * what each operation takes. */
#ifndef PINFS_FS_H
#define PINFS_FS_H

#include <fuse.h>
#include <stdbool.h>
#include <sys/types.h>

/* A readdir filler flag beside FUSE_FILL_DIR_PLUS: the entry is an image whose size is not
 * known yet. Its attributes are given with no time of validity, so that the kernel opens it
 * without asking, but asks again (and pinfs learns the size) at the first stat. */
#define FS_FILL_SIZE_UNKNOWN ((enum fuse_fill_dir_flags)(1 << 16))

/* The operations; .init is fs_init's, below. */
extern const struct fuse_operations pinfs_ops;

/* Called once the kernel has said what it can do: sets what pinfs wants of it. */
void fs_init(struct fuse_conn_info *conn);

/* The process of the request the calling thread serves, for the operations that ask. */
void fs_set_caller(pid_t pid);

/* After a successful open: the text whose bytes the kernel's page cache should hold for the
 * file (a sidecar about to be read, whose pages are not cached), or false. Once stored there,
 * the open may keep the cache (fi->keep_cache). */
bool fs_text_push(const struct fuse_file_info *fi, const char **text, size_t *len);

/* A folder was opened by the thread whose request is served. Returns what to give
 * fs_dir_closed when the kernel releases it (0: nothing). A thread that holds boards/ open
 * while it reads one of its boards is walking them (fs_readdir). */
pid_t fs_dir_opened(const char *path);
void fs_dir_closed(pid_t token);

/* True when the release of fi has work that needs the file's path (a writer's file that no
 * close found whole yet): lowlevel.c then looks the path up for it. */
bool fs_release_wants_path(const struct fuse_file_info *fi);

/* True when the caller's look-up of path must find nothing for now: a sidecar it is about to
 * copy onto the pin or board it just made (copyin.h). Not cached by the kernel. */
bool fs_lookup_hidden(const char *path);

/* The kernel forgot the inode at path, and with it the file's pages in its page cache. */
void fs_forgotten(const char *path);

/* Frees the handles of the files still open: call once no request can come any more.
 * Returns how many there were. */
unsigned fs_close_all(void);

/* A lookup: path's attributes without learning an image's size. *size_unknown says the size
 * given (0) is not one: the attributes must not be kept. */
int fs_lookup(const char *path, struct stat *st, bool *size_unknown);

#endif
