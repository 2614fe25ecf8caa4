/* Opening the account's files: a pin's image (its kept bytes or the image cache), a sidecar
 * or me.json (a text taken at open, or an edit's buffer), a local file; creating a file in a
 * board; and what a writer's close commits (commit.h). */
#include "account.h"
#include "caller.h"

#include "cache.h"
#include "commit.h"
#include "copyin.h"
#include "edit.h"
#include "local.h"
#include "log.h"
#include "names.h"
#include "pagecache.h"
#include "pinstore.h"
#include "stamp.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The caller made the pin whose sidecar is path[0..len) + suffix (copyin.h). */
static void made_by_caller(const char *path, size_t len, const char *suffix)
{
	char sidecar[PATH_MAX];

	if (snprintf(sidecar, sizeof(sidecar), "%.*s%s", (int)len, path, suffix) <
	    (int)sizeof(sidecar))
		copyin_made(sidecar, caller_get());
}

/* A writer's close: a new image file whose bytes are whole is uploaded, an edited sidecar
 * whose text is whole is applied (commit.h says why a close that finds them partial waits);
 * an error here is what close() returns, so cp and editors report it. last: the release,
 * whose result reaches nobody. */
static int commit(const char *path, struct handle *h, bool last)
{
	bool pending = false;
	int result = 0;

	if (!path) /* removed while open: no pin to edit or to make */
		result = h->kind == H_TEXT && !last ? -ENOENT : 0;
	else if (h->kind == H_TEXT)
		result =
		    commit_edit(path, h->text ? h->text : "", h->len, h->copied, last, &pending);
	else if (h->kind == H_LOCAL && local_is_upload_name(strrchr(path, '/') + 1) && h->too_big)
		result = commit_too_big(path);
	else if (h->kind == H_LOCAL && local_is_upload_name(strrchr(path, '/') + 1))
		h->committed = (result = commit_upload(path, last, &pending)) == 0 && !pending;
	h->dirty = pending;
	if (!pending)
		h->outcome = result;
	if (h->committed && h->excl)
		made_by_caller(path, names_strip_ext(path, NULL), ".json");
	return result;
}

/* cp -r of a board within the mount copies x.jpg, whose pin then shows x.json, then x.json
 * with O_EXCL: onto the sidecar of a pin this mount just made, that text is the new pin's
 * (edit_text_copied). Anything else that exists: EEXIST. */
static int create_onto_sidecar(const char *path, const struct node_info *info,
			       struct vfs_file_info *fi, struct handle **out)
{
	struct handle *h;

	if (info->type != NODE_PIN_JSON || !copyin_take(path, caller_get()))
		return -EEXIST;
	h = handle_new(H_TEXT);
	if (!h)
		return -ENOMEM;
	h->writable = h->dirty = h->copied = true;
	h->commit = commit;
	fi->direct_io = 1;
	*out = h;
	pagecache_other(path, true);
	return 0;
}

/* Pinterest counts a title's characters; the extension is not part of the title. */
static int title_fits(const char *path, const char *name)
{
	char *title;
	size_t chars = 0;

	if (!local_is_upload_name(name) || names_strip_ext(name, NULL) == 0)
		return 0;
	title = names_to_title(name);
	for (const char *p = title; p && *p && p < title + names_strip_ext(title, NULL); p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	free(title);
	if (chars <= 100)
		return 0;
	log_warn("%s: a pin title has at most 100 characters", path);
	return -ENAMETOOLONG;
}

int account_create(const char *path, mode_t mode, struct vfs_file_info *fi, struct handle **out)
{
	struct node_info info;
	struct handle *h;
	int result = account_in_pin_folder(path);

	if (result)
		return result;
	if (tree_stat(path, false, &info) == 0)
		return create_onto_sidecar(path, &info, fi, out);
	if (local_busy(path)) {
		log_warn("%s: another writer is making this pin", path);
		return -EBUSY;
	}
	result = title_fits(path, strrchr(path, '/') + 1);
	if (result)
		return result;
	h = handle_new(H_LOCAL);
	if (!h)
		return -ENOMEM;
	h->fd = local_create(path, mode, &h->local_id);
	result = h->fd < 0 ? h->fd : 0;
	if (result == -EEXIST && local_busy(path))
		result = -EBUSY; /* the other writer made it first */
	if (result) {
		handle_free(h);
		return result;
	}
	pagecache_other(path, true);
	/* Made now, so committed even when nothing is written to it: an empty file is a
	 * partial one (commit.h). */
	h->writable = h->dirty = true;
	h->commit = commit;
	h->excl = fi->flags & O_EXCL;
	*out = h;
	return 0;
}

static int open_local(const char *path, struct vfs_file_info *fi, struct handle **out)
{
	struct handle *h = handle_new(H_LOCAL);

	if (!h)
		return -ENOMEM;
	h->fd = local_open(path, fi->flags, &h->local_id);
	if (h->fd < 0) {
		int result = h->fd;

		if (result == -EBUSY)
			log_warn("%s: another writer is making this pin", path);
		handle_free(h);
		return result;
	}
	h->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	h->commit = commit;
	pagecache_other(path, h->writable);
	/* An existing local file opened with O_TRUNC is being written anew. */
	h->dirty = h->writable && (fi->flags & O_TRUNC);
	*out = h;
	return 0;
}

static int open_image(const char *path, const struct node_info *pin, struct vfs_file_info *fi,
		      struct handle *h)
{
	struct node_info info;
	char *url = NULL;
	int result;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		log_warn("%s: Pinterest cannot replace a pin's %s", path,
			 pin->type == NODE_PIN_PART ? "cover or item" : "image");
		return -EPERM;
	}
	/* The bytes this mount uploaded, where it keeps them: the file reads as written. */
	h->fd = pin->type == NODE_PIN_IMAGE ? pinstore_open(pin->pin_id) : -ENOENT;
	if (h->fd >= 0) {
		fi->keep_cache = 1;
		return 0;
	}
	result = tree_image_url(path, &url);
	if (result)
		return result;
	/* At once: a download still under way is waited for by each read, for its bytes. */
	result = cache_image_open(url, &h->img);
	free(url);
	if (result)
		return result;
	/* The bytes behind a URL never change, so the kernel may keep them cached. */
	fi->keep_cache = 1;
	if (tree_stat(path, false, &info) == 0 && info.size < 0)
		fi->direct_io = 1;
	return 0;
}

static int open_text(const char *path, const struct node_info *info, struct vfs_file_info *fi,
		     struct handle *h)
{
	bool write = (fi->flags & O_ACCMODE) != O_RDONLY;
	bool sidecar = info->type == NODE_PIN_JSON || info->type == NODE_BOARD_JSON;
	int result;

	if (write && !sidecar)
		return -EACCES;
	/* The text is taken now, as an open file's content is the one it had when opened: a
	 * read the page cache does not answer (the kernel may drop the pages) must not look
	 * the path up again, which a rename may have taken away. A sidecar's came with its
	 * description (account_open); me.json's is taken here. */
	if (!h->text) {
		result = tree_read_text(path, &h->text, &h->len);
		if (result)
			return result;
	}
	/* A sidecar read: its length and its text's hash say how to serve it. */
	if (!write && sidecar) {
		pagecache_mode(path, h->len, stamp_of(h->text, h->len), fi);
		/* Pages to fill: the text goes into them with the open (vfs_text_push), which
		 * spares the READ round trip that would follow. */
		h->push = !fi->direct_io && !fi->keep_cache;
		return 0;
	}
	h->cap = h->len;
	h->writable = write;
	h->commit = commit;
	h->copied = write && copyin_take(path, caller_get());
	if (write && (fi->flags & O_TRUNC)) {
		h->len = 0;
		h->dirty = true;
	}
	/* me.json is fetched again at open, and an edit is a buffer of its own: no page
	 * cache, so a read never stops at a size the kernel remembered from before. */
	if (write)
		pagecache_other(path, true);
	fi->direct_io = 1;
	return 0;
}

int account_open(const char *path, struct vfs_file_info *fi, struct handle **out)
{
	struct node_info info;
	struct handle *h;
	char *text;
	size_t len;
	int result;

	if (local_exists(path))
		return open_local(path, fi, out);
	result = tree_stat_text(path, &info, &text, &len);
	if (result)
		return result;
	bool image = info.type == NODE_PIN_IMAGE || info.type == NODE_PIN_PART;

	h = handle_new(image ? H_IMAGE : H_TEXT);
	if (!h) {
		free(text);
		return -ENOMEM;
	}
	h->text = text;
	h->len = len;
	if (image)
		result = open_image(path, &info, fi, h);
	else
		result = open_text(path, &info, fi, h);
	if (result) {
		handle_free(h);
		return result;
	}
	*out = h;
	return 0;
}
