#include "fs.h"

#include "cache.h"
#include "log.h"
#include "social.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Kernel caching of names and attributes. Short, because the tree already answers from memory
 * and its own TTL decides freshness; long kernel timeouts would hide remote changes. */
#define KERNEL_TIMEOUT_S 1.0

/* An open file: an image in the cache (fd) or a generated text (JSON). */
struct handle {
	int fd;
	char *text;
	size_t len;
};

static uid_t owner_uid;
static gid_t owner_gid;

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->entry_timeout = KERNEL_TIMEOUT_S;
	cfg->attr_timeout = KERNEL_TIMEOUT_S;
	cfg->negative_timeout = KERNEL_TIMEOUT_S;
	cfg->use_ino = 0;
	/* readdirplus would make the kernel ask every entry's attributes with the listing,
	 * and so every image's size: a bare ls or find -name would then cost HEADs. */
	conn->want &= ~FUSE_CAP_READDIRPLUS;
	owner_uid = getuid();
	owner_gid = getgid();
	return NULL;
}

static void fill_stat(const struct node_info *info, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = info->kind | (info->kind == S_IFREG ? 0644 : info->kind == S_IFLNK ? 0777 : 0755);
	st->st_nlink = info->nlink;
	st->st_uid = owner_uid;
	st->st_gid = owner_gid;
	/* An image whose size could not be learnt reads as 0 and is opened with direct_io,
	 * so readers still get every byte: the size is never made up. */
	st->st_size = info->size > 0 ? info->size : 0;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 65536;
	st->st_mtime = st->st_ctime = st->st_atime = info->mtime;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct node_info info;
	int result;

	(void)fi;
	result = social_owns(path) ? social_stat(path, &info) : tree_stat(path, true, &info);
	if (!result)
		fill_stat(&info, st);
	return result;
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fill_one(void *ctx, const char *name, mode_t kind)
{
	struct fill_ctx *fc = ctx;
	struct stat st = {.st_mode = kind};

	return fc->filler(fc->buf, name, &st, 0, 0);
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fill_ctx fc = {buf, filler};

	(void)offset, (void)fi, (void)flags;
	fill_one(&fc, ".", S_IFDIR);
	fill_one(&fc, "..", S_IFDIR);
	if (social_owns(path))
		return social_list(path, fill_one, &fc);
	return tree_list(path, fill_one, &fc);
}

static int open_image(const char *path, struct fuse_file_info *fi, struct handle *h)
{
	struct node_info info;
	char *url = NULL;
	int result = tree_image_url(path, &url);

	if (result)
		return result;
	h->fd = cache_image_open(url);
	free(url);
	if (h->fd < 0)
		return h->fd == -ENOENT ? -EIO : h->fd;
	/* The bytes behind a URL never change, so the kernel may keep them cached. */
	fi->keep_cache = 1;
	if (tree_stat(path, false, &info) == 0 && info.size < 0)
		fi->direct_io = 1;
	return 0;
}

static int open_social(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = calloc(1, sizeof(*h));
	int result;

	if (!h)
		return -ENOMEM;
	h->fd = -1;
	result = social_read_text(path, &h->text, &h->len);
	if (result) {
		free(h);
		return result;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct node_info info;
	struct handle *h;
	int result;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if (social_owns(path))
		return open_social(path, fi);
	result = tree_stat(path, false, &info);
	if (result)
		return result;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = -1;
	if (info.type == NODE_PIN_IMAGE)
		result = open_image(path, fi, h);
	else
		result = tree_read_text(path, &h->text, &h->len);
	if (result) {
		free(h->text);
		free(h);
		return result;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	ssize_t n;

	(void)path;
	if (h->fd >= 0) {
		n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	if ((size_t)off >= h->len)
		return 0;
	n = (ssize_t)(h->len - off < size ? h->len - off : size);
	memcpy(buf, h->text + off, n);
	return (int)n;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)path;
	if (h->fd >= 0)
		close(h->fd);
	free(h->text);
	free(h);
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t len)
{
	if (!social_owns(path))
		return -EINVAL;
	return social_readlink(path, buf, len);
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	return tree_xattr_get(path, name, value, size);
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
	return tree_xattr_list(path, list, size);
}

static int fs_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	/* df's "files used" is the pin count: nothing else on the account is a quota. */
	st->f_files = tree_pin_count();
	st->f_namemax = 255;
	return 0;
}

const struct fuse_operations pinfs_ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.release = fs_release,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.statfs = fs_statfs,
};
