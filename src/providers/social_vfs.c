/* pins/, search/, followers/ and following/ as a provider: social.h's folders behind the
 * router's ops table. Generated folders list every name at once; their files are read-only
 * but following/users/NAME.json, which follows (create) and unfollows (unlink). */
#include "attr.h"
#include "names.h"
#include "cache.h"
#include "dirfill.h"
#include "pagecache.h"
#include "provider.h"
#include "social.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static int social_vfs_stat(const char *path, bool want_size, struct stat *st, bool *size_unknown)
{
	struct node_info info;
	int result;

	(void)want_size;
	if (names_is_probe(path))
		return -ENOENT;
	result = social_stat(path, &info);
	if (result)
		return result;
	*size_unknown = attr_fill(&info, st);
	if (S_ISREG(st->st_mode))
		pagecache_size(path, st->st_size);
	return 0;
}

static int social_vfs_list(const char *path, struct dir_fill *df)
{
	if (df->after)
		return 0;
	dir_fill_whole(df, ".", S_IFDIR);
	dir_fill_whole(df, "..", S_IFDIR);
	return social_list(path, dir_fill_whole, df);
}

/* A followed board's cover or thumbnail: the bytes of its URL, as for pins. */
static int open_image(const char *path, const char *url, struct vfs_file_info *fi, struct handle *h)
{
	struct node_info info;
	int result;

	h->kind = H_IMAGE;
	result = cache_image_open(url, &h->img);
	fi->keep_cache = 1;
	fi->direct_io = social_stat(path, &info) != 0 || info.size < 0;
	return result;
}

static int social_vfs_open(const char *path, struct vfs_file_info *fi, struct handle **out)
{
	struct handle *h;
	char *url = NULL;
	int result;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	h = handle_new(H_TEXT);
	if (!h)
		return -ENOMEM;
	result = social_image_url(path, &url);
	if (result == 0) {
		result = open_image(path, url, fi, h);
	} else if (result == -EINVAL) {
		result = social_read_text(path, &h->text, &h->len);
		fi->direct_io = 1; /* generated text: its length changes with the account */
	}
	free(url);
	if (result) {
		handle_free(h);
		return result;
	}
	*out = h;
	return 0;
}

/* following/users/NAME.json: follows NAME. What is written to it is not kept. */
static int social_vfs_create(const char *path, mode_t mode, struct vfs_file_info *fi,
			     struct handle **out)
{
	int result = social_create(path);

	(void)mode, (void)fi;
	if (result)
		return result;
	*out = handle_new(H_TEXT);
	return *out ? 0 : -ENOMEM;
}

static int social_vfs_mkdir(const char *path, mode_t mode)
{
	(void)mode;
	return social_mkdir(path);
}

const struct provider social_provider = {
    .name = "social",
    .stat = social_vfs_stat,
    .list = social_vfs_list,
    .open = social_vfs_open,
    .create = social_vfs_create,
    .unlink = social_unlink,
    .mkdir = social_vfs_mkdir,
    .rmdir = social_rmdir,
    .readlink = social_readlink,
};
