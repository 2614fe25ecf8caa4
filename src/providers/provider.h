/* A provider serves one or more of the root's top-level entries (router.c's table): boards/
 * and me.json (the account), pins/, search/, followers/ and following/ (social.c),
 * analytics.json, .pinfs/.
 *
 * Its ops table is a struct of slots, any of which may be NULL: the router then answers the
 * slot's default (below), the same for every provider, so a read-only folder fills in stat,
 * list and open and nothing more. Paths are whole ("/boards/Travel/x.jpg"), as the kernel
 * names them; each slot answers 0 (or a count) or -errno, is called from the request threads
 * at once, and holds no lock of the router's.
 *
 * A rename or link whose two paths belong to two providers goes to the target's rename_in or
 * link_in with the source's provider: the target decides what such a move means (a pin moved
 * into a trash and back), and a NULL slot is -EACCES (-EPERM for a link), as for any change a
 * provider does not make.
 */
#ifndef PINFS_PROVIDER_H
#define PINFS_PROVIDER_H

#include "fileinfo.h"
#include "handle.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct dir_fill;

struct provider {
	const char *name; /* in log lines */

	/* The attributes of path. want_size: learn an image's size when unknown (a lookup does
	 * not); *size_unknown: the size given is not one. Default: -ENOENT. */
	int (*stat)(const char *path, bool want_size, struct stat *st, bool *size_unknown);
	/* Lists the folder path into df (dirfill.h). Default: -ENOTDIR. */
	int (*list)(const char *path, struct dir_fill *df);
	/* Opens path: a handle of its own (handle_new) into *out. Default: -EACCES. */
	int (*open)(const char *path, struct vfs_file_info *fi, struct handle **out);
	/* Creates path and opens it. Default: -EACCES. */
	int (*create)(const char *path, mode_t mode, struct vfs_file_info *fi, struct handle **out);

	/* Changes. Default: -EACCES. */
	int (*unlink)(const char *path);
	int (*mkdir)(const char *path, mode_t mode);
	int (*rmdir)(const char *path);
	int (*truncate)(const char *path, off_t size);
	/* Both paths this provider's. */
	int (*rename)(const char *from, const char *to, unsigned flags);
	/* from is another provider's (src). */
	int (*rename_in)(const struct provider *src, const char *from, const char *to,
			 unsigned flags);
	/* ln from to, both this provider's, or from another's. Default: -EPERM. */
	int (*link)(const char *from, const char *to);
	int (*link_in)(const struct provider *src, const char *from, const char *to);

	/* Default: -EINVAL (not a symlink). */
	int (*readlink)(const char *path, char *buf, size_t len);
	/* Modes and times: Pinterest keeps neither. Default: 0, accepted and forgotten (cp -a,
	 * rsync -a and tar set them after writing). */
	int (*chmod)(const char *path, mode_t mode);
	int (*utimens)(const char *path, const struct timespec tv[2]);
	/* user.* attributes (the router answers -ENOTSUP for the other namespaces). Defaults:
	 * get -ENODATA, list 0 (none), set -ENOTSUP. */
	int (*getxattr)(const char *path, const char *name, char *value, size_t size);
	int (*listxattr)(const char *path, char *list, size_t size);
	int (*setxattr)(const char *path, const char *name, const char *value, size_t size);
};

/* The providers the router's table names. */
extern const struct provider account_provider;	 /* me.json, boards/ and the root: account.c */
extern const struct provider social_provider;	 /* pins/, search/, followers/, following/ */
extern const struct provider analytics_provider; /* analytics.json: analytics.c */
extern const struct provider pinfs_provider;	 /* .pinfs/: pinfsdir.c */

/* analytics.c keeps its answer for ttl_s (dir_cache_ttl): main.c sets it before mounting and
 * frees what is kept after the unmount. */
void analytics_init(double ttl_s);
void analytics_cleanup(void);

#endif
