/* MOUNT/.pinfs: pinfs's own files, never Pinterest's. Read-only: the slots it leaves empty
 * answer the router's defaults (-EACCES for a change). */
#include "dirfill.h"
#include "caller.h"
#include "provider.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PINFS_DIR   "/.pinfs"
#define PINFS_STATS PINFS_DIR "/stats"

static int pinfs_stat(const char *path, bool want_size, struct stat *st, bool *size_unknown)
{
	char *text;

	(void)want_size, (void)size_unknown;
	memset(st, 0, sizeof(*st));
	st->st_uid = owner_uid();
	st->st_gid = owner_gid();
	st->st_mtime = st->st_ctime = st->st_atime = time(NULL);
	/* What the mount did is its owner's business: with -o allow_other, default_permissions
	 * keeps others out. */
	if (strcmp(path, PINFS_DIR) == 0) {
		st->st_mode = S_IFDIR | 0500;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, PINFS_STATS) != 0)
		return -ENOENT;
	text = stats_json();
	if (!text)
		return -ENOMEM;
	st->st_mode = S_IFREG | 0400;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(text);
	free(text);
	return 0;
}

static int pinfs_list(const char *path, struct dir_fill *df)
{
	if (strcmp(path, PINFS_DIR) != 0)
		return -ENOTDIR;
	if (df->after)
		return 0;
	dir_fill_whole(df, ".", S_IFDIR);
	dir_fill_whole(df, "..", S_IFDIR);
	dir_fill_whole(df, "stats", S_IFREG);
	return 0;
}

static int pinfs_open(const char *path, struct vfs_file_info *fi, struct handle **out)
{
	struct handle *h;

	if (strcmp(path, PINFS_STATS) != 0)
		return strcmp(path, PINFS_DIR) == 0 ? -EISDIR : -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	h = handle_new(H_TEXT);
	if (!h)
		return -ENOMEM;
	if (!(h->text = stats_json())) {
		handle_free(h);
		return -ENOMEM;
	}
	h->len = strlen(h->text);
	/* A snapshot taken at open, read to its end whatever size stat gave before. */
	fi->direct_io = 1;
	*out = h;
	return 0;
}

const struct provider pinfs_provider = {
    .name = ".pinfs",
    .stat = pinfs_stat,
    .list = pinfs_list,
    .open = pinfs_open,
};
