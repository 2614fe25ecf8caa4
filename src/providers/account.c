/* The account's provider: me.json, boards/ and the root's attributes, from the tree
 * (tree.h), with the local files (local.h) laid over boards/: a local file of a name is
 * found before a pin's, listed after the tree's entries, and renamed onto a sidecar or an
 * image name it becomes an edit or a pin. Opening and creating are in account_open.c. */
#include "account.h"
#include "caller.h"
#include "names.h"

#include "attr.h"
#include "commit.h"
#include "copyin.h"
#include "dirfill.h"
#include "dirs.h"
#include "edit.h"
#include "local.h"
#include "log.h"
#include "pagecache.h"
#include "pinstore.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int local_attr(const char *path, struct stat *st)
{
	if (local_stat(path, st) != 0)
		return -ENOENT;
	st->st_nlink = 1;
	st->st_uid = owner_uid();
	st->st_gid = owner_gid();
	pagecache_size(path, st->st_size);
	return 0;
}

/* The tree's description of path; a lookup (want_size false) does not learn an image's size.
 * An unknown size is learnt (a HEAD sweep of the folder) unless this mount keeps the pin's
 * bytes. */
static int tree_attr(const char *path, bool want_size, struct node_info *info)
{
	int result = tree_stat(path, false, info);

	if (!result && want_size &&
	    ((info->type == NODE_PIN_IMAGE && !attr_size_known(info)) ||
	     (info->type == NODE_PIN_PART && info->size < 0)))
		result = tree_stat(path, true, info);
	if (result == -ENOENT && tree_ghost(path, false)) {
		/* The sidecar of a pin just deleted: found, so that rm can remove it quietly. */
		memset(info, 0, sizeof(*info));
		info->kind = S_IFREG;
		info->nlink = 1;
		result = 0;
	}
	return result;
}

static int account_stat(const char *path, bool want_size, struct stat *st, bool *size_unknown)
{
	struct node_info info;
	int result;

	/* A local scratch file may bear a probe's name (a .hidden of the user's own). */
	if (local_attr(path, st) == 0)
		return 0;
	if (names_is_probe(path))
		return -ENOENT;
	result = tree_attr(path, want_size, &info);
	if (result)
		return result;
	*size_unknown = attr_fill(&info, st);
	/* A pin's image path is never a sidecar's: not worth a place in the table. */
	if (S_ISREG(st->st_mode) && info.type != NODE_PIN_IMAGE && info.type != NODE_PIN_PART)
		pagecache_size(path, st->st_size);
	return 0;
}

/* readdirplus: an entry goes with its attributes when the tree knows them without a request,
 * so that opening it needs no LOOKUP; the kernel keeps them like a lookup's. An image of
 * unknown size goes with VFS_FILL_SIZE_UNKNOWN: the kernel may open it at once, but asks for
 * its attributes (and pinfs for its size) at the first stat. The rest (a local file of the
 * same name) go bare and are looked up when used. */
static int fill_described(void *ctx, const char *name, mode_t kind, const struct node_info *info)
{
	struct dir_fill *df = ctx;
	struct stat st;
	char path[PATH_MAX];
	bool unknown;

	if (!info || !dir_fill_child(df, name, path) || local_exists(path))
		return dir_fill_next(df, name, kind);
	unknown = attr_fill(info, &st);
	/* As getattr does: the size the kernel now holds decides how the text is served. */
	if (S_ISREG(st.st_mode) && info->type != NODE_PIN_IMAGE && info->type != NODE_PIN_PART)
		pagecache_size(path, st.st_size);
	return dir_fill_attr(df, name, &st, VFS_FILL_PLUS | (unknown ? VFS_FILL_SIZE_UNKNOWN : 0));
}

static int account_list(const char *path, struct dir_fill *df)
{
	size_t skip = df->after > 2 ? (size_t)df->after - 2 : 0, met = 0;
	int result;

	if (dir_fill_next(df, ".", S_IFDIR) || dir_fill_next(df, "..", S_IFDIR))
		return 0;
	/* The tree passes over the entries the kernel has. With READDIRPLUS_AUTO off the kernel
	 * always asks for attributes, unless it has no readdirplus at all. */
	df->n = 2 + (off_t)skip;
	result = df->plus ? tree_list_info(path, skip, fill_described, df, &met)
			  : tree_list(path, skip, dir_fill_next, df, &met);
	if (result || df->full)
		return result;
	/* The local files are numbered after all of the tree's entries, skipped or not. */
	df->n = 2 + (off_t)met;
	local_list(path, dir_fill_next, df);
	return 0;
}

int account_in_pin_folder(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct node_info info;
	int result;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -EPERM;
	memcpy(dir, path, slash - path);
	dir[slash - path] = '\0';
	result = tree_stat(dir, false, &info);
	if (result)
		return result;
	return info.type == NODE_BOARD || info.type == NODE_SECTION ? 0 : -EPERM;
}

/* Whether path is a file beside a pin's main one (a video's cover, a carousel's item) that
 * the calling command removes with its pin: it names the pin's main file too. rm *.jpg meets
 * "X [2].jpg" before "X.jpg" (' ' sorts before '.'), and must not fail on it. */
static bool removed_with_its_pin(const char *path)
{
	struct node_info info;
	char main_path[PATH_MAX];
	const char *base;

	if (tree_stat(path, false, &info) != 0 || info.type != NODE_PIN_PART ||
	    tree_pin_path(info.board_id, info.pin_id, main_path, sizeof(main_path)) != 0)
		return false;
	base = strrchr(main_path, '/');
	return caller_names(base ? base + 1 : main_path);
}

static int account_unlink(const char *path)
{
	if (local_exists(path))
		return local_unlink(path);
	if (removed_with_its_pin(path)) {
		log_info("rm %s: goes with its pin, which this command removes", path);
		return 0;
	}
	return edit_unlink(path);
}

static int count_entry(void *ctx, const char *name, mode_t kind)
{
	(void)name, (void)kind;
	++*(size_t *)ctx;
	return 0;
}

/* A folder holding local files (being written, or scratch) is not empty. */
static int account_rmdir(const char *path)
{
	size_t n = 0;

	local_list(path, count_entry, &n);
	return n ? -ENOTEMPTY : edit_rmdir(path);
}

/* A local file of the name exists (edit.c sees the tree's names alone). */
static int account_mkdir(const char *path, mode_t mode)
{
	int result;

	(void)mode;
	if (local_exists(path))
		return -EEXIST;
	result = edit_mkdir(path);
	if (!result)
		copyin_folder(path, caller_get());
	return result;
}

/* A local file renamed onto a sidecar: its text is the edit (sed -i, editors' save). */
static int rename_onto_sidecar(const char *from, const char *to)
{
	char *text = NULL;
	size_t len = 0;
	int fd = local_open(from, O_RDONLY, &(unsigned long){0}), result;

	if (fd < 0)
		return fd;
	result = dirs_read_all(fd, HANDLE_MAX_TEXT, &text, &len);
	close(fd);
	if (!result)
		result = edit_text(to, text, len);
	free(text);
	if (!result)
		local_unlink(from);
	return result;
}

/* A local file renamed: onto a sidecar it is an edit (sed -i, editors' save), onto a plain
 * image name it becomes a pin (rsync), elsewhere it stays local. */
static int rename_local(const char *from, const char *to)
{
	struct node_info info;
	int result = account_in_pin_folder(to);

	if (result)
		return result;
	if (tree_stat(to, false, &info) == 0) {
		if (info.type != NODE_PIN_JSON && info.type != NODE_BOARD_JSON)
			return -EPERM;
		return rename_onto_sidecar(from, to);
	}
	if (!local_is_upload_name(strrchr(to, '/') + 1))
		return local_rename(from, to);
	return commit_rename(from, to);
}

/* A pin or folder moved onto a local file would delete that file's bytes: refused, as a move
 * onto another pin is (edit_rename). */
static int account_rename(const char *from, const char *to, unsigned flags)
{
	struct node_info info;
	int result;

	if (local_exists(from))
		return rename_local(from, to);
	if (local_exists(to)) {
		result = tree_stat(from, false, &info);
		if (result)
			return result;
		if (flags & ~RENAME_NOREPLACE)
			return -EINVAL;
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		log_warn("%s: a local file has that name (a file being written); moving onto it "
			 "would delete its bytes",
			 to);
		return -EPERM;
	}
	return edit_rename(from, to, flags);
}

static int account_truncate(const char *path, off_t size)
{
	if (local_exists(path))
		return local_truncate(path, size);
	return -EPERM;
}

static int account_chmod(const char *path, mode_t mode)
{
	if (local_exists(path))
		return local_chmod(path, mode);
	return 0;
}

/* touch, rsync -a, cp -p: a local file keeps its times with its bytes; a pin's image keeps
 * the mtime given, across remounts (pinstore.h); the rest is accepted and forgotten. */
static int account_utimens(const char *path, const struct timespec tv[2])
{
	struct node_info info;
	struct timespec mtime = tv[1];
	struct pinstore_rec rec;

	if (local_exists(path))
		return local_utimens(path, tv);
	if (mtime.tv_nsec == UTIME_OMIT || tree_stat(path, false, &info) != 0 ||
	    info.type != NODE_PIN_IMAGE)
		return 0;
	if (mtime.tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &mtime);
	if (pinstore_get(info.pin_id, &rec) == 0)
		return pinstore_set_mtime(info.pin_id, &mtime);
	return pinstore_put(info.pin_id, strrchr(path, '/') + 1, NULL, &mtime);
}

static int account_getxattr(const char *path, const char *name, char *value, size_t size)
{
	if (local_exists(path))
		return local_getxattr(path, name, value, size);
	return tree_xattr_get(path, name, value, size);
}

static int account_listxattr(const char *path, char *list, size_t size)
{
	if (local_exists(path))
		return local_listxattr(path, list, size);
	return tree_xattr_list(path, list, size);
}

static int account_setxattr(const char *path, const char *name, const char *value, size_t size)
{
	if (local_exists(path))
		return local_setxattr(path, name, value, size);
	return edit_setxattr(path, name, value, size);
}

const struct provider account_provider = {
    .name = "account",
    .stat = account_stat,
    .list = account_list,
    .open = account_open,
    .create = account_create,
    .unlink = account_unlink,
    .mkdir = account_mkdir,
    .rmdir = account_rmdir,
    .truncate = account_truncate,
    .rename = account_rename,
    .chmod = account_chmod,
    .utimens = account_utimens,
    .getxattr = account_getxattr,
    .listxattr = account_listxattr,
    .setxattr = account_setxattr,
};
