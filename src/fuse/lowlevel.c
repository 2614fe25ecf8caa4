#include "lowlevel.h"

#include "vfs.h"
#include "inodes.h"
#include "log.h"
#include "openlist.h"
#include "textcheck.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Kernel caching of names and attributes. Short, because the tree already answers from memory
 * and its own TTL decides freshness; long kernel timeouts would hide remote changes. */
#define KERNEL_TIMEOUT_S 1.0

/* The inode number a plain listing gives each entry: "ask me", as libfuse does. */
#define UNKNOWN_INO 0xffffffff

/* Every operation starts here: the VFS asks whose request it serves. */
static void serve(fuse_req_t req)
{
	vfs_set_caller(fuse_req_ctx(req)->pid);
}

/* The VFS's view of an open file (vfs.h): the kernel's flags and the handle. */
static struct vfs_file_info vfi_of(const struct fuse_file_info *fi)
{
	struct vfs_file_info v = {0};

	if (fi) {
		v.flags = fi->flags;
		v.fh = fi->fh;
	}
	return v;
}

/* What an open or a create decided, into the kernel's reply. */
static void vfi_back(const struct vfs_file_info *v, struct fuse_file_info *fi)
{
	fi->fh = v->fh;
	fi->direct_io = v->direct_io;
	fi->keep_cache = v->keep_cache;
	fi->noflush = v->noflush;
}

static void reply_status(fuse_req_t req, int result)
{
	fuse_reply_err(req, result < 0 ? -result : 0);
}

/* Makes e the entry of name in parent, found with attributes st: the kernel now holds one more
 * lookup of it. 0, or -ENOMEM. */
static int make_entry(fuse_ino_t parent, const char *name, const struct stat *st, bool size_unknown,
		      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = inodes_remember(parent, name);
	if (!e->ino)
		return -ENOMEM;
	e->attr = *st;
	e->attr.st_ino = e->ino;
	e->entry_timeout = KERNEL_TIMEOUT_S;
	e->attr_timeout = size_unknown ? 0 : KERNEL_TIMEOUT_S;
	return 0;
}

/* The entry of a name just made (mkdir, create), or -errno. */
static int entry_of(fuse_ino_t parent, const char *name, const char *path,
		    struct fuse_entry_param *e)
{
	struct stat st;
	bool unknown;
	int result = vfs_lookup(path, &st, &unknown);

	return result ? result : make_entry(parent, name, &st, unknown, e);
}

/* The reply to a request that made a name (mkdir, link): its entry, or result's error. */
static void reply_made(fuse_req_t req, fuse_ino_t parent, const char *name, const char *path,
		       int result)
{
	struct fuse_entry_param e;

	if (!result)
		result = entry_of(parent, name, path, &e);
	if (result)
		reply_status(req, result);
	else if (fuse_reply_entry(req, &e))
		inodes_forget(e.ino, 1, NULL); /* interrupted: the kernel has no entry */
}

/* A name about to be made (mkdir, create, rename's target): at most 255 bytes
 * (-ENAMETOOLONG), valid UTF-8 with no control character (-EINVAL), checked before anything
 * is sent, as a name pinfs could not list as written must not be made. One log line. */
static int new_name(const char *op, const char *name)
{
	int result = text_name_check(name);
	char shown[61];
	size_t i;

	if (result == -ENAMETOOLONG)
		log_warn("%s: a name has at most 255 bytes (this one has %zu)", op, strlen(name));
	if (result != -EINVAL)
		return result;
	/* The name as a log line can hold it: one line, the bad bytes as '?'. */
	for (i = 0; name[i] && i < sizeof(shown) - 1; i++)
		shown[i] =
		    (unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f ? '?' : name[i];
	shown[i] = '\0';
	log_warn("%s \"%s\": a name must be UTF-8 text without control characters", op, shown);
	return result;
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* readdirplus on every listing, not only when the kernel guesses attributes will be
	 * wanted: what the tree knows goes with the names and spares a LOOKUP per file. An image
	 * of unknown size goes bare, so a listing never costs a HEAD. */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* O_TRUNC arrives with open, not as a separate truncate of a sidecar. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	vfs_init();
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char *path = inodes_child_path(parent, name);
	struct fuse_entry_param e;
	struct stat st;
	bool unknown;
	int result;

	serve(req);
	if (strlen(name) > 255) {
		reply_status(req, -ENAMETOOLONG);
		goto out;
	}
	if (path && vfs_lookup_hidden(path)) {
		reply_status(req, -ENOENT); /* not a cached "no": others must see it */
		goto out;
	}
	result = path ? vfs_lookup(path, &st, &unknown) : -ENOENT;
	if (result == -ENOENT) {
		/* No such name, for as long as a name is kept. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = KERNEL_TIMEOUT_S;
		fuse_reply_entry(req, &e);
		goto out;
	}
	if (!result)
		result = make_entry(parent, name, &st, unknown, &e);
	if (result)
		reply_status(req, result);
	else if (fuse_reply_entry(req, &e))
		/* The request was interrupted: the kernel has none. */
		inodes_forget(e.ino, 1, NULL);
out:
	free(path);
}

/* The kernel forgot n lookups of ino: it evicted its inode, and the file's pages went with
 * it, so the VFS must not take a sidecar's pages for cached at the path's next inode. */
static void forget_one(fuse_ino_t ino, uint64_t n)
{
	char *path;

	inodes_forget(ino, n, &path);
	if (path)
		vfs_forgotten(path);
	free(path);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* Answers with ino's attributes as they are now, or with the error of what came before. A
 * file removed while open has no path: the VFS answers from its handle. */
static void reply_attr(fuse_req_t req, fuse_ino_t ino, const char *path, struct fuse_file_info *fi,
		       int result)
{
	struct vfs_file_info v = vfi_of(fi);
	struct stat st;

	if (!result)
		result = vfs_getattr(path, &st, fi ? &v : NULL);
	if (result) {
		reply_status(req, result);
	} else {
		st.st_ino = ino;
		fuse_reply_attr(req, &st, KERNEL_TIMEOUT_S);
	}
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char *path = inodes_path(ino);

	serve(req);
	reply_attr(req, ino, path, fi, 0);
	free(path);
}

/* The times of a setattr, as utimensat takes them. */
static void setattr_times(const struct stat *attr, int to_set, struct timespec tv[2])
{
	tv[0].tv_sec = tv[1].tv_sec = 0;
	tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
}

/* chmod, chown, truncate and utimens in one request, in that order, as libfuse's path-based
 * API applies them; the attributes after all of them are the answer. */
static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	char *path = inodes_path(ino);
	struct vfs_file_info v = vfi_of(fi);
	struct timespec tv[2];
	int result = 0;

	serve(req);
	if (to_set & FUSE_SET_ATTR_MODE)
		result = vfs_chmod(path, attr->st_mode);
	if (!result && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		result = vfs_chown(path, to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1,
				   to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1);
	if (!result && (to_set & FUSE_SET_ATTR_SIZE))
		result = vfs_truncate(path, attr->st_size, fi ? &v : NULL);
	if (!result && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		setattr_times(attr, to_set, tv);
		result = vfs_utimens(path, tv);
	}
	reply_attr(req, ino, path, fi, result);
	free(path);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char *path = inodes_path(ino), target[PATH_MAX + 1];
	int result;

	serve(req);
	result = path ? vfs_readlink(path, target, sizeof(target)) : -ENOENT;
	if (result)
		reply_status(req, result);
	else
		fuse_reply_readlink(req, target);
	free(path);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	char *path = inodes_child_path(parent, name);
	int result;

	serve(req);
	result = new_name("mkdir", name);
	if (!result)
		result = path ? vfs_mkdir(path, mode) : -ENOENT;
	reply_made(req, parent, name, path, result);
	free(path);
}

/* unlink and rmdir: the name goes, and its inode, while the kernel holds it, has no path. */
static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	char *path = inodes_child_path(parent, name);
	int result;

	serve(req);
	result = !path ? -ENOENT : dir ? vfs_rmdir(path) : vfs_unlink(path);
	if (!result)
		inodes_unlinked(parent, name);
	reply_status(req, result);
	free(path);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, false);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, true);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	char *from = inodes_child_path(parent, name);
	char *to = inodes_child_path(newparent, newname);
	int result;

	serve(req);
	result = new_name("rename", newname);
	if (!result)
		result = from && to ? vfs_rename(from, to, flags) : -ENOENT;
	if (!result)
		inodes_renamed(parent, name, newparent, newname, flags & RENAME_EXCHANGE);
	reply_status(req, result);
	free(from);
	free(to);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	char *path = inodes_child_path(parent, name);
	struct vfs_file_info v = vfi_of(fi);
	struct fuse_entry_param e;
	int result;

	serve(req);
	result = new_name("create", name);
	if (!result)
		result = path ? vfs_create(path, mode, &v) : -ENOENT;
	if (result) {
		reply_status(req, result);
		goto out;
	}
	vfi_back(&v, fi);
	result = entry_of(parent, name, path, &e);
	if (result) {
		vfs_release(path, &v);
		reply_status(req, result);
	} else if (fuse_reply_create(req, &e, fi)) {
		/* Interrupted: the kernel has neither the file nor the name. */
		vfs_release(path, &v);
		inodes_forget(e.ino, 1, NULL);
	}
out:
	free(path);
}

static struct fuse_session *session;

/* Puts a sidecar's text in the kernel's page cache before the open is answered: the reads
 * that follow (grep's) are then served there, without a READ round trip each. Keeping the
 * cache is what makes the kernel keep these very pages at the open. */
static void push_text(fuse_ino_t ino, const struct vfs_file_info *v, struct fuse_file_info *fi)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
	const char *text;
	size_t len;

	if (!vfs_text_push(v, &text, &len) || len == 0)
		return;
	bv.buf[0].mem = (void *)text;
	bv.buf[0].size = len;
	if (fuse_lowlevel_notify_store(session, ino, 0, &bv, 0) == 0)
		fi->keep_cache = 1;
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char *path = inodes_path(ino);
	struct vfs_file_info v = vfi_of(fi);
	int result;

	serve(req);
	result = path ? vfs_open(path, &v) : -ENOENT;
	if (!result) {
		vfi_back(&v, fi);
		push_text(ino, &v, fi);
	}
	if (result)
		reply_status(req, result);
	else if (fuse_reply_open(req, fi))
		vfs_release(path, &v); /* interrupted: the kernel never had the file */
	free(path);
}

/* read, write, fsync and release work on the handle alone: no path is made for them. */
static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct vfs_file_info v = vfi_of(fi);
	char *buf = malloc(size ? size : 1);
	int n;

	(void)ino;
	serve(req);
	n = buf ? vfs_read(&v, buf, size, off) : -ENOMEM;
	if (n < 0)
		reply_status(req, n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct vfs_file_info v = vfi_of(fi);
	int n;

	(void)ino;
	serve(req);
	n = vfs_write(&v, buf, size, off);
	if (n < 0)
		reply_status(req, n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char *path = inodes_path(ino);
	struct vfs_file_info v = vfi_of(fi);

	serve(req);
	reply_status(req, vfs_flush(path, &v));
	free(path);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vfs_file_info v = vfi_of(fi);
	char *path = fi->flush || vfs_release_wants_path(&v) ? inodes_path(ino) : NULL;

	serve(req);
	if (fi->flush) /* the last close of a file with locks: its flush comes here */
		vfs_flush(path, &v);
	vfs_release(path, &v);
	fuse_reply_err(req, 0);
	free(path);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	/* Nothing to sync: a pin is made, or an edit applied, at a close (vfs_flush). */
	(void)ino, (void)datasync, (void)fi;
	serve(req);
	reply_status(req, 0);
}

/* ---- folders ----
 *
 * The VFS hands a listing over one of two ways (dirfill.h). The tree's folders give each
 * entry its offset and stop when the reply is full; the next call starts after the kernel's
 * last offset. The generated folders give every name at offset 0: the names are kept with
 * the open folder and served from there, a reply at a time, until it is read from the start
 * again. */
struct dir_handle {
	pid_t walker; /* vfs_dir_opened's answer, for vfs_dir_closed */
	char **names;
	mode_t *kinds;
	size_t n, cap;
	struct open_link link; /* in open_dirs */
};

/* Every folder handle not released yet: lowlevel_destroy frees what is left at the end. */
static struct open_list open_dirs = OPEN_LIST_INIT;

static struct dir_handle *dir_handle_new(void)
{
	struct dir_handle *dh = calloc(1, sizeof(*dh));

	if (dh)
		open_list_add(&open_dirs, &dh->link);
	return dh;
}

static void dir_handle_free(struct dir_handle *dh)
{
	vfs_dir_closed(dh->walker);
	open_list_remove(&open_dirs, &dh->link);
	for (size_t i = 0; i < dh->n; i++)
		free(dh->names[i]);
	free(dh->names);
	free(dh->kinds);
	free(dh);
}

/* One reply being filled. */
struct fill {
	fuse_req_t req;
	fuse_ino_t ino;
	struct dir_handle *dh;
	char *buf;
	size_t size, len;
	bool plus;
	int error;
};

static void dir_forget_names(struct dir_handle *dh)
{
	for (size_t i = 0; i < dh->n; i++)
		free(dh->names[i]);
	dh->n = 0;
}

static int dir_keep(struct dir_handle *dh, const char *name, mode_t kind)
{
	if (dh->n == dh->cap) {
		size_t cap = dh->cap ? dh->cap * 2 : 64;
		char **names = realloc(dh->names, cap * sizeof(*names));
		mode_t *kinds;

		if (!names)
			return -ENOMEM;
		dh->names = names;
		kinds = realloc(dh->kinds, cap * sizeof(*kinds));
		if (!kinds)
			return -ENOMEM;
		dh->kinds = kinds;
		dh->cap = cap;
	}
	if (!(dh->names[dh->n] = strdup(name)))
		return -ENOMEM;
	dh->kinds[dh->n++] = kind;
	return 0;
}

static bool dot_name(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* Adds one entry to the reply; true when it did not fit (the kernel asks for the rest).
 * In readdirplus, a described entry is a lookup the kernel keeps, counted in the inode table
 * only once it is sure to go. */
static bool add_entry(struct fill *f, const char *name, const struct stat *st, off_t off,
		      unsigned flags)
{
	char *at = f->buf + f->len;
	size_t room = f->size - f->len, need;
	struct fuse_entry_param e = {.attr = *st};
	bool described = f->plus && (flags & VFS_FILL_PLUS) && !dot_name(name);

	e.attr.st_ino = UNKNOWN_INO;
	if (!f->plus) {
		need = fuse_add_direntry(f->req, at, room, name, &e.attr, off);
		if (need > room)
			return true;
		f->len += need;
		return false;
	}
	need = fuse_add_direntry_plus(f->req, NULL, 0, name, &e, off);
	if (need > room)
		return true;
	if (described) {
		if (make_entry(f->ino, name, st, flags & VFS_FILL_SIZE_UNKNOWN, &e)) {
			f->error = -ENOMEM;
			return true;
		}
	}
	f->len += fuse_add_direntry_plus(f->req, at, room, name, &e, off);
	return false;
}

/* The VFS's filler (vfs_fill_fn). */
static int fill_entry(void *ctx, const char *name, const struct stat *st, off_t off, unsigned flags)
{
	struct fill *f = ctx;
	struct stat bare = {.st_mode = st ? st->st_mode : 0};

	if (off == 0) {
		f->error = dir_keep(f->dh, name, bare.st_mode);
		return f->error != 0;
	}
	return add_entry(f, name, st ? st : &bare, off, flags);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *dh = dir_handle_new();
	char *path;

	if (!dh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	serve(req);
	path = inodes_path(ino);
	dh->walker = vfs_dir_opened(path);
	free(path);
	fi->fh = (uintptr_t)dh;
	if (fuse_reply_open(req, fi))
		dir_handle_free(dh);
}

/* Serves the kept names from offset off on. */
static void serve_kept(struct fill *f, off_t off)
{
	for (size_t i = (size_t)off; i < f->dh->n; i++) {
		struct stat st = {.st_mode = f->dh->kinds[i]};

		if (add_entry(f, f->dh->names[i], &st, (off_t)i + 1, 0))
			break;
	}
}

static void list(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
		 bool plus)
{
	struct dir_handle *dh = (struct dir_handle *)(uintptr_t)fi->fh;
	struct fill f = {req, ino, dh, malloc(size ? size : 1), size, 0, plus, 0};
	char *path = inodes_path(ino);
	int result = -ENOMEM;

	serve(req);
	if (!f.buf)
		goto out;
	/* A listing read from the start is made anew; one in the middle of its kept names
	 * goes on from them. */
	if (off == 0)
		dir_forget_names(dh);
	if (off == 0 || dh->n == 0)
		result = vfs_readdir(path, off, plus, fill_entry, &f);
	else
		result = 0;
	if (!result && f.error && !f.len)
		result = f.error;
	if (!result && dh->n)
		serve_kept(&f, off);
out:
	if (result)
		reply_status(req, result);
	else
		fuse_reply_buf(req, f.buf, f.len);
	free(f.buf);
	free(path);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	list(req, ino, size, off, fi, false);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	list(req, ino, size, off, fi, true);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *dh = (struct dir_handle *)(uintptr_t)fi->fh;

	(void)ino;
	dir_handle_free(dh);
	fuse_reply_err(req, 0);
}

/* ---- the rest ---- */

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs st;
	int result;

	(void)ino;
	serve(req);
	result = vfs_statfs(&st);
	if (result)
		reply_status(req, result);
	else
		fuse_reply_statfs(req, &st);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	char *path = inodes_path(ino);

	serve(req);
	reply_status(req, path ? vfs_setxattr(path, name, value, size, flags) : -ENOENT);
	free(path);
}

/* getxattr (name given) and listxattr (name NULL): with size 0 the kernel asks how big the
 * value is. */
static void read_xattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char *path = inodes_path(ino), *buf = size ? malloc(size) : NULL;
	int n;

	serve(req);
	if (!path)
		n = -ENOENT;
	else if (size && !buf)
		n = -ENOMEM;
	else
		n = name ? vfs_getxattr(path, name, buf, size) : vfs_listxattr(path, buf, size);
	if (n < 0)
		reply_status(req, n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
	free(path);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	read_xattr(req, ino, name, size);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	read_xattr(req, ino, NULL, size);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char *path = inodes_path(ino);

	serve(req);
	reply_status(req, path ? vfs_removexattr(path, name) : -ENOENT);
	free(path);
}

/* Special files, symbolic and hard links: Pinterest holds none of them. */
static void refuse(fuse_req_t req, const char *what, const char *name)
{
	serve(req);
	log_warn("%s \"%.60s\": Pinterest holds no such thing", what, name);
	reply_status(req, -EPERM);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent, (void)mode, (void)rdev;
	refuse(req, "mknod", name);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent;
	refuse(req, "symlink", name);
}

/* ln: the providers decide (vfs_link); none makes one yet. */
static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	char *from = inodes_path(ino), *to = inodes_child_path(newparent, newname);
	int result;

	serve(req);
	result = new_name("link", newname);
	if (!result)
		result = from && to ? vfs_link(from, to) : -ENOENT;
	reply_made(req, newparent, newname, to, result);
	free(from);
	free(to);
}

static const struct fuse_lowlevel_ops ll_ops = {
    .init = ll_init,
    .lookup = ll_lookup,
    .forget = ll_forget,
    .forget_multi = ll_forget_multi,
    .getattr = ll_getattr,
    .setattr = ll_setattr,
    .readlink = ll_readlink,
    .mknod = ll_mknod,
    .mkdir = ll_mkdir,
    .symlink = ll_symlink,
    .link = ll_link,
    .unlink = ll_unlink,
    .rmdir = ll_rmdir,
    .rename = ll_rename,
    .create = ll_create,
    .open = ll_open,
    .read = ll_read,
    .write = ll_write,
    .flush = ll_flush,
    .release = ll_release,
    .fsync = ll_fsync,
    .opendir = ll_opendir,
    .readdir = ll_readdir,
    .readdirplus = ll_readdirplus,
    .releasedir = ll_releasedir,
    .statfs = ll_statfs,
    .setxattr = ll_setxattr,
    .getxattr = ll_getxattr,
    .listxattr = ll_listxattr,
    .removexattr = ll_removexattr,
};

struct fuse_session *lowlevel_new(struct fuse_args *args)
{
	if (inodes_init()) {
		log_error("out of memory");
		return NULL;
	}
	session = fuse_session_new(args, &ll_ops, sizeof(ll_ops), NULL);
	return session;
}

void lowlevel_destroy(struct fuse_session *se)
{
	unsigned files, dirs = 0;

	if (se)
		fuse_session_destroy(se);
	if (se == session)
		session = NULL;
	/* No request comes any more: what the kernel never released goes now. */
	for (struct open_link *l; (l = open_list_first(&open_dirs)); dirs++)
		dir_handle_free(OPEN_ITEM(l, struct dir_handle, link));
	files = vfs_close_all();
	if (files || dirs)
		log_info("the mount ended with files open: %u, folders open: %u", files, dirs);
	inodes_cleanup();
}
