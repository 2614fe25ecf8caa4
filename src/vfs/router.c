/* The router: the one table of the root's entries, each served by a provider (provider.h),
 * and the vfs.h calls, which find the provider of a path by its first component and call its
 * slot, or answer the slot's default. A path under no entry of the table is the account's
 * (the tree answers -ENOENT or -EPERM for it), and so are the root's own attributes. */
#include "vfs.h"

#include "caller.h"
#include "copyin.h"
#include "dirfill.h"
#include "handle.h"
#include "log.h"
#include "pagecache.h"
#include "provider.h"
#include "toplevel.h"
#include "tree.h"
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The root's entries in listing order. A new top-level entry is a row here, the provider
 * that serves it and its build line. */
static const struct top_entry rows[] = {
    {"me.json", S_IFREG, &account_provider, true},
    {"boards", S_IFDIR, &account_provider, true},
    {"pins", S_IFDIR, &social_provider, true},
    {"search", S_IFDIR, &social_provider, true},
    {"followers", S_IFDIR, &social_provider, true},
    {"following", S_IFDIR, &social_provider, true},
    {"analytics.json", S_IFREG, &analytics_provider, false},
    /* pinfs's own folder holds one file: nothing worth forgetting. */
    {".pinfs", S_IFDIR, &pinfs_provider, false},
};

const struct top_table vfs_top = {rows, sizeof(rows) / sizeof(rows[0])};

void vfs_init(void)
{
	owner_init();
}

void vfs_set_caller(pid_t pid)
{
	caller_set(pid);
}

/* The provider that serves path. */
static const struct provider *route(const char *path)
{
	const struct top_entry *e = top_entry_of(&vfs_top, path);

	return e ? e->provider : &account_provider;
}

/* ---- attributes ---- */

static int stat_path(const char *path, struct stat *st, const struct vfs_file_info *fi,
		     bool want_size, bool *unknown)
{
	struct handle *h = handle_of(fi);
	const struct provider *p;
	int result;

	if (!path) /* fstat of a file removed while open: it has no path */
		return h && h->kind == H_LOCAL ? (fstat(h->fd, st) < 0 ? -errno : 0) : -ENOENT;
	p = route(path);
	*unknown = false;
	result = p->stat ? p->stat(path, want_size, st, unknown) : -ENOENT;
	/* The text this handle reads (a snapshot taken at open, or the edit as written so far):
	 * the kernel asks with the handle before cached reads, which then end where it ends. */
	if (!result && h && h->kind == H_TEXT)
		st->st_size = (off_t)h->len;
	return result;
}

int vfs_lookup(const char *path, struct stat *st, bool *size_unknown)
{
	return stat_path(path, st, NULL, false, size_unknown);
}

bool vfs_lookup_hidden(const char *path)
{
	return copyin_hidden(path, caller_get());
}

int vfs_getattr(const char *path, struct stat *st, const struct vfs_file_info *fi)
{
	bool unknown;

	return stat_path(path, st, fi, true, &unknown);
}

int vfs_chmod(const char *path, mode_t mode)
{
	const struct provider *p;

	if (!path)
		return 0;
	p = route(path);
	return p->chmod ? p->chmod(path, mode) : 0;
}

int vfs_chown(const char *path, uid_t uid, gid_t gid)
{
	(void)path;
	if ((uid != (uid_t)-1 && uid != owner_uid()) || (gid != (gid_t)-1 && gid != owner_gid()))
		return -EPERM;
	return 0;
}

int vfs_truncate(const char *path, off_t size, const struct vfs_file_info *fi)
{
	struct handle *h = handle_of(fi);
	const struct provider *p;

	if (handle_truncates(h))
		return handle_truncate(h, size);
	if (!path)
		return -ENOENT;
	p = route(path);
	return p->truncate ? p->truncate(path, size) : -EACCES;
}

int vfs_utimens(const char *path, const struct timespec tv[2])
{
	const struct provider *p;

	if (!path)
		return 0;
	p = route(path);
	return p->utimens ? p->utimens(path, tv) : 0;
}

int vfs_readlink(const char *path, char *buf, size_t len)
{
	const struct provider *p = route(path);

	return p->readlink ? p->readlink(path, buf, len) : -EINVAL;
}

/* ---- names ---- */

int vfs_mkdir(const char *path, mode_t mode)
{
	const struct provider *p = route(path);

	return p->mkdir ? p->mkdir(path, mode) : -EACCES;
}

int vfs_unlink(const char *path)
{
	const struct provider *p = route(path);

	return p->unlink ? p->unlink(path) : -EACCES;
}

int vfs_rmdir(const char *path)
{
	const struct provider *p = route(path);

	return p->rmdir ? p->rmdir(path) : -EACCES;
}

/* Within one provider its rename slot; across two the target's rename_in, which decides
 * what a move from the other means. */
int vfs_rename(const char *from, const char *to, unsigned flags)
{
	const struct provider *src = route(from), *dst = route(to);
	int result;

	if (src == dst)
		result = dst->rename ? dst->rename(from, to, flags) : -EACCES;
	else
		result = dst->rename_in ? dst->rename_in(src, from, to, flags) : -EACCES;
	if (!result)
		pagecache_move(from, to);
	return result;
}

int vfs_link(const char *from, const char *to)
{
	const struct provider *src = route(from), *dst = route(to);

	if (src == dst && dst->link)
		return dst->link(from, to);
	if (src != dst && dst->link_in)
		return dst->link_in(src, from, to);
	log_warn("link \"%.60s\": Pinterest holds no such thing", strrchr(to, '/') + 1);
	return -EPERM;
}

/* ---- files ---- */

static int open_with(const char *path, mode_t mode, struct vfs_file_info *fi, bool create)
{
	const struct provider *p = route(path);
	struct handle *h = NULL;
	int result;

	if (create)
		result = p->create ? p->create(path, mode, fi, &h) : -EACCES;
	else
		result = p->open ? p->open(path, fi, &h) : -EACCES;
	if (result)
		return result;
	fi->fh = (uintptr_t)h;
	return 0;
}

int vfs_create(const char *path, mode_t mode, struct vfs_file_info *fi)
{
	return open_with(path, mode, fi, true);
}

int vfs_open(const char *path, struct vfs_file_info *fi)
{
	int result = open_with(path, 0, fi, false);

	/* Only a writer has work at close (vfs_flush): for the others the kernel need not send
	 * a flush, one round trip less for every file grep or a thumbnailer opens. */
	if (!result && (fi->flags & O_ACCMODE) == O_RDONLY)
		fi->noflush = 1;
	return result;
}

bool vfs_text_push(const struct vfs_file_info *fi, const char **text, size_t *len)
{
	struct handle *h = handle_of(fi);

	if (!h || !h->push || !h->text)
		return false;
	*text = h->text;
	*len = h->len;
	return true;
}

int vfs_read(const struct vfs_file_info *fi, char *buf, size_t size, off_t off)
{
	return handle_read(handle_of(fi), buf, size, off);
}

int vfs_write(const struct vfs_file_info *fi, const char *buf, size_t size, off_t off)
{
	return handle_write(handle_of(fi), buf, size, off);
}

int vfs_flush(const char *path, const struct vfs_file_info *fi)
{
	return handle_flush(path, handle_of(fi));
}

bool vfs_release_wants_path(const struct vfs_file_info *fi)
{
	struct handle *h = handle_of(fi);

	return h && handle_dirty(h);
}

void vfs_release(const char *path, const struct vfs_file_info *fi)
{
	handle_release(path, handle_of(fi));
}

unsigned vfs_close_all(void)
{
	return handle_close_all();
}

/* ---- folders ---- */

pid_t vfs_dir_opened(const char *path)
{
	return walk_dir_opened(path, caller_get());
}

void vfs_dir_closed(pid_t token)
{
	walk_dir_closed(token);
}

/* The root: its rows, in order, each at its offset. */
static int list_root(struct dir_fill *df)
{
	if (dir_fill_next(df, ".", S_IFDIR) || dir_fill_next(df, "..", S_IFDIR))
		return 0;
	for (size_t i = 0; i < vfs_top.n; i++)
		if (dir_fill_next(df, vfs_top.rows[i].name, vfs_top.rows[i].kind))
			break;
	return 0;
}

int vfs_readdir(const char *path, off_t off, bool plus, vfs_fill_fn fill, void *ctx)
{
	struct dir_fill df = {.fill = fill, .ctx = ctx, .dir = path, .plus = plus, .after = off};
	const struct provider *p;

	if (!path)
		return -ENOENT; /* a folder removed while open */
	walk_readdir(path, off, caller_get());
	if (strcmp(path, "/") == 0)
		return list_root(&df);
	p = route(path);
	return p->list ? p->list(path, &df) : -ENOTDIR;
}

void vfs_forgotten(const char *path)
{
	pagecache_forgotten(path);
}

void vfs_each_forgettable(void (*fn)(const char *name, void *ctx), void *ctx)
{
	for (size_t i = 0; i < vfs_top.n; i++)
		if (S_ISDIR(vfs_top.rows[i].kind) && vfs_top.rows[i].forgettable)
			fn(vfs_top.rows[i].name, ctx);
}

/* ---- the rest ---- */

int vfs_statfs(struct statvfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	/* df's "files used" is the pin count: nothing else on the account is a quota. */
	st->f_files = tree_pin_count();
	/* Pinterest has no limit on pins that a file system could report: free inodes are
	 * plenty, so that df -i, and file managers reading it, never see a full disk. */
	st->f_ffree = st->f_favail = UINT32_MAX;
	st->f_files += st->f_ffree;
	st->f_namemax = 255;
	return 0;
}

/* pinfs has user.* attributes only. ENOTSUP, not ENODATA, for the other namespaces: `ls -l`
 * asks security.selinux and system.posix_acl_access of every file, and stops asking on a
 * device that answered ENOTSUP once, where ENODATA costs two FUSE round trips per file. */
int vfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	const struct provider *p = route(path);

	if (strncmp(name, "user.", 5) != 0)
		return -ENOTSUP;
	return p->getxattr ? p->getxattr(path, name, value, size) : -ENODATA;
}

int vfs_listxattr(const char *path, char *list, size_t size)
{
	const struct provider *p = route(path);

	return p->listxattr ? p->listxattr(path, list, size) : 0;
}

int vfs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	const struct provider *p = route(path);

	(void)flags;
	return p->setxattr ? p->setxattr(path, name, value, size) : -ENOTSUP;
}

int vfs_removexattr(const char *path, const char *name)
{
	(void)path, (void)name;
	return -ENOTSUP;
}
