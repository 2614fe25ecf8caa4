/* Generated folders: what pins/, search/, followers/ and following/ show. A folder is built by
 * a function that asks the API, without any lock held, and is kept for the TTL while its
 * version (if it has one) says nothing changed; threads that want a folder being built wait for
 * that build instead of sending the same requests again. Entries are named by their path inside the
 * folder ("nasa/Space photos/cover.jpg"), so one build can hold a small tree.
 *
 * Folders are found by a key (their path in the mount). A bounded number is kept: the least
 * recently used goes first, so any number of searches costs bounded memory.
 *
 * Thread-safe. Callers get copies, never pointers into a folder.
 */
#ifndef PINFS_VFOLDER_H
#define PINFS_VFOLDER_H

#include "tree.h" /* tree_fill_fn: one listing callback for every folder */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum vf_kind {
	VF_DIR,
	VF_FILE,  /* data: the file's text */
	VF_LINK,  /* data: the symlink's target */
	VF_IMAGE, /* data: the image's URL; bytes through cache.h */
};

struct vf_info {
	enum vf_kind kind;
	int64_t size; /* text or target bytes; an image's bytes, -1 when they could not be learnt */
	time_t mtime; /* when the folder was built */
};

/* Collects a folder's entries while it is built. */
struct vf_builder;

/* Adds an entry. data (NULL for a directory) is copied. A folder's entries need unique names;
 * a later duplicate is dropped. Returns 0 or -ENOMEM. */
int vf_add(struct vf_builder *b, const char *name, enum vf_kind kind, const char *data);

/* How a folder is made. */
struct vf_source {
	/* Builds the folder key by adding its entries to b. Called without any lock held.
	 * Returns 0 or -errno; on an error the entries added are dropped. */
	int (*build)(const char *key, struct vf_builder *b);
	/* NULL, or a number that changes whenever what the folder shows may have changed: a
	 * folder is built again as soon as it changes. Called without any lock held, at every
	 * use of the folder. */
	int (*version)(uint64_t *out);
	/* Kept past the TTL while the version holds: for a folder whose build is dear and whose
	 * version sees every change. */
	bool outlives_ttl;
};

/* ttl_s: how long a built folder is trusted. */
void vfolder_init(double ttl_s);
void vfolder_cleanup(void);

/* In each call below, rest is a path inside the folder ("" for the folder itself), and the
 * folder is built from src when it is not built yet or no longer holds. */

/* Describes the entry at rest. The first time an image's size is wanted, the sizes of every
 * image in the folder not known yet are learnt by parallel HEADs. Returns 0 or -errno. */
int vfolder_stat(const char *key, const struct vf_source *src, const char *rest,
		 struct vf_info *out);

/* Lists the entries right below rest. fill runs under the module's lock and must not call
 * back into it. Returns 0, -ENOTDIR or -errno. */
int vfolder_list(const char *key, const struct vf_source *src, const char *rest, tree_fill_fn fill,
		 void *ctx);

/* A copy of the entry's data (text, target or URL) and its kind; *data is NULL for a
 * directory. Caller frees *data. Returns 0 or -errno. */
int vfolder_data(const char *key, const struct vf_source *src, const char *rest, enum vf_kind *kind,
		 char **data, size_t *len);

/* Adds or replaces one entry of the folder key when it is built, so that a change made through
 * the mount shows at once; a folder being built meanwhile is built again at its next use. */
void vfolder_put(const char *key, const char *name, enum vf_kind kind, const char *data);

/* Makes every folder be built again at its next use (SIGHUP). */
void vfolder_invalidate(void);

#endif
