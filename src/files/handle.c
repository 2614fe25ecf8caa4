#include "handle.h"

#include "cache.h"
#include "local.h"
#include "log.h"
#include "upload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every handle not released yet: handle_close_all frees what is left at the end. */
static struct open_list open_handles = OPEN_LIST_INIT;

struct handle *handle_of(const struct vfs_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

struct handle *handle_new(enum handle_kind kind)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (h) {
		h->kind = kind;
		h->fd = -1;
		pthread_mutex_init(&h->commit_lock, NULL);
		open_list_add(&open_handles, &h->link);
	}
	return h;
}

void handle_free(struct handle *h)
{
	open_list_remove(&open_handles, &h->link);
	if (h->local_id)
		local_closed(h->local_id);
	if (h->fd >= 0)
		close(h->fd);
	cache_image_close(h->img);
	pthread_mutex_destroy(&h->commit_lock);
	free(h->text);
	free(h);
}

unsigned handle_close_all(void)
{
	struct open_link *l;
	unsigned n = 0;

	while ((l = open_list_first(&open_handles))) {
		handle_free(OPEN_ITEM(l, struct handle, link));
		n++;
	}
	return n;
}

int handle_read(struct handle *h, char *buf, size_t size, off_t off)
{
	ssize_t n;

	if (h->img)
		return (int)cache_image_read(h->img, buf, size, off);
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

/* Makes room in an edit buffer for size bytes; new bytes are zero, as in a sparse file. */
static int text_reserve(struct handle *h, size_t size)
{
	char *grown;

	if (size > HANDLE_MAX_TEXT)
		return -EFBIG;
	if (size > h->cap) {
		grown = realloc(h->text, size);
		if (!grown)
			return -ENOMEM;
		h->text = grown;
		h->cap = size;
	}
	if (size > h->len)
		memset(h->text + h->len, 0, size - h->len);
	return 0;
}

int handle_write(struct handle *h, const char *buf, size_t size, off_t off)
{
	ssize_t n;
	int result;

	if (!h->writable)
		return -EBADF;
	pthread_mutex_lock(&h->commit_lock);
	if (h->committed) {
		pthread_mutex_unlock(&h->commit_lock);
		log_warn("a pin was made of this file at an earlier close; its image cannot "
			 "change");
		return -EPERM;
	}
	h->dirty = true;
	if (h->kind == H_LOCAL) {
		/* Refused before it is staged: the close says so (commit's too_big). */
		if ((uint64_t)off + size > (uint64_t)UPLOAD_MAX_FILE_BYTES) {
			h->too_big = true;
			pthread_mutex_unlock(&h->commit_lock);
			return -EFBIG;
		}
		pthread_mutex_unlock(&h->commit_lock);
		n = pwrite(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	/* An edit's buffer: a close of another copy of the descriptor may be reading it. */
	result = text_reserve(h, off + size);
	if (!result) {
		memcpy(h->text + off, buf, size);
		if ((size_t)off + size > h->len)
			h->len = off + size;
	}
	pthread_mutex_unlock(&h->commit_lock);
	return result ? result : (int)size;
}

bool handle_truncates(const struct handle *h)
{
	return h && h->writable && h->kind != H_IMAGE;
}

int handle_truncate(struct handle *h, off_t size)
{
	bool committed;
	int result;

	pthread_mutex_lock(&h->commit_lock);
	if (h->kind == H_LOCAL) {
		/* Once its pin is made, the descriptor's file is the pin's kept bytes. */
		committed = h->committed;
		h->dirty = !committed;
		pthread_mutex_unlock(&h->commit_lock);
		if (committed)
			return -EPERM;
		if (size > UPLOAD_MAX_FILE_BYTES)
			return -EFBIG;
		return ftruncate(h->fd, size) < 0 ? -errno : 0;
	}
	result = text_reserve(h, size);
	if (!result) {
		h->len = size;
		h->dirty = true;
	}
	pthread_mutex_unlock(&h->commit_lock);
	return result;
}

int handle_flush(const char *path, struct handle *h)
{
	/* Any process's close counts, the opener's or a child's that inherited the descriptor
	 * (dash runs `cat > f` in a child, and only cat hears a failure): a close while the
	 * bytes are still being written finds them partial and changes nothing. */
	int result;

	pthread_mutex_lock(&h->commit_lock);
	result = h->dirty && h->commit ? h->commit(path, h, false) : h->outcome;
	pthread_mutex_unlock(&h->commit_lock);
	return result;
}

bool handle_dirty(struct handle *h)
{
	bool dirty;

	pthread_mutex_lock(&h->commit_lock);
	dirty = h->dirty && h->commit;
	pthread_mutex_unlock(&h->commit_lock);
	return dirty;
}

void handle_release(const char *path, struct handle *h)
{
	/* Closed without a close that found the bytes whole: a child's flush was skipped, or
	 * the file is still partial (commit.h). Done now if whole; the log tells the result. */
	pthread_mutex_lock(&h->commit_lock);
	if (h->dirty && h->commit)
		h->commit(path, h, true);
	pthread_mutex_unlock(&h->commit_lock);
	handle_free(h);
}
