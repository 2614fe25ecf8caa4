/* Open files: what a provider's open or create makes and the FUSE layer keeps as fh until
 * the release. A handle reads from one of three places (an image's cache or kept bytes, a text
 * buffer, a local staging file), is written where it may be, and is committed at a close by
 * the hook its provider set: any process's close counts, and two closes of one descriptor at
 * once are serialized (commit_lock), one committing and the other hearing its outcome.
 *
 * handle_new registers a handle and handle_free (the release) frees it with what it holds.
 * Thread-safe; a handle is used by the requests of its open file only.
 */
#ifndef PINFS_HANDLE_H
#define PINFS_HANDLE_H

#include "fileinfo.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openlist.h"

#define HANDLE_MAX_TEXT (1L << 20) /* a sidecar being edited; far above any real one */

enum handle_kind {
	H_IMAGE, /* an image: read-only, from the cache or its download (img) or kept bytes (fd) */
	H_TEXT,	 /* a generated JSON file, or the edit of one */
	H_LOCAL, /* a local file's staging file */
};

struct handle;

/* A close's work on a dirty handle (a writer's): commit_lock held. Sets h->dirty (still to
 * do at a later close), h->committed, h->outcome as it finds; answers what close(2) returns.
 * last: the release, whose result reaches nobody. path NULL: removed while open. */
typedef int (*handle_commit_fn)(const char *path, struct handle *h, bool last);

struct handle {
	enum handle_kind kind;
	int fd;			 /* H_LOCAL, or an H_IMAGE of kept bytes; -1: none; owned */
	struct cache_image *img; /* H_IMAGE from the cache; owned */
	char *text;		 /* H_TEXT; owned */
	size_t len, cap;
	bool writable;
	bool push;		 /* a sidecar's text to put in the kernel's page cache at open */
	bool copied;		 /* H_TEXT: another pin's sidecar copied onto a pin just made */
	bool excl;		 /* H_LOCAL made with O_EXCL, as cp does in a folder it made */
	unsigned long local_id;	 /* H_LOCAL opened for writing: see local_closed */
	handle_commit_fn commit; /* NULL: nothing to do at a close */
	/* Guards dirty, committed and outcome once the handle is open, and an edit's text
	 * against a close of another copy of the descriptor reading it. */
	pthread_mutex_t commit_lock;
	bool dirty;	/* written since the last commit: a close has work */
	bool committed; /* H_LOCAL: its pin is made; later writes cannot change it */
	bool too_big;	/* H_LOCAL: a write past UPLOAD_MAX_FILE_BYTES was refused: never a pin */
	int outcome;	/* what the commit said: every later close of the handle says it too */
	struct open_link link; /* in the open handles' list */
};

/* A new handle of kind, registered; NULL when out of memory. */
struct handle *handle_new(enum handle_kind kind);
/* Unregisters and frees h with its descriptor, cache reader and text. */
void handle_free(struct handle *h);
/* The handle of an open file (fh), or NULL when fi is NULL. */
struct handle *handle_of(const struct vfs_file_info *fi);

int handle_read(struct handle *h, char *buf, size_t size, off_t off);
/* A local file's write past UPLOAD_MAX_FILE_BYTES (2 GiB: nothing larger can be a pin) is
 * -EFBIG, and marks the handle too_big. */
int handle_write(struct handle *h, const char *buf, size_t size, off_t off);
/* True when h is a writable file whose own bytes a truncate changes (not an image). */
bool handle_truncates(const struct handle *h);
/* ftruncate of such a handle; -EPERM once its pin is made, -EFBIG past
 * UPLOAD_MAX_FILE_BYTES for a local file. */
int handle_truncate(struct handle *h, off_t size);
/* A close and a release: the commit hook runs while the handle is dirty. */
int handle_flush(const char *path, struct handle *h);
bool handle_dirty(struct handle *h);
void handle_release(const char *path, struct handle *h);
/* Frees every handle still registered; how many there were. */
unsigned handle_close_all(void);

#endif
