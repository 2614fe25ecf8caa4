/* The account as pinfs shows it: boards, sections and pins with their file names, listings
 * with their age, image sizes. One mutex guards it all and is never held across a network
 * call: a thread that must fetch takes the folder's flight (flight.h), fetches unlocked, and
 * installs the result; others wanting the same folder wait for it instead of fetching again.
 *
 * Nothing here hands out pointers into the tree: callers get copies (struct node_info, text
 * buffers they free), so a refresh can replace any object at any time.
 */
#ifndef PINFS_TREE_H
#define PINFS_TREE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define TREE_ID_MAX 40

enum node_type {
	NODE_ROOT,
	NODE_ME_JSON,
	NODE_BOARDS,
	NODE_BOARD,
	NODE_SECTION,
	NODE_BOARD_JSON,
	NODE_PIN_IMAGE,
	NODE_PIN_JSON,
	NODE_PIN_PART, /* a file beside a pin's main one: a video's cover, a carousel's item */
	NODE_OTHER,    /* outside me.json and boards/: see social.h */
};

struct node_info {
	enum node_type type;
	mode_t kind;  /* S_IFDIR, S_IFREG or S_IFLNK */
	int64_t size; /* bytes; -1 for an image whose size could not be learnt */
	/* When it last changed as far as the mount has seen (a sidecar's text; a folder's names,
	 * boards/'s included; changes made here or a fresh listing's), else when what it shows
	 * was made. An image's is its pin's creation. The ctime to show too: nothing else of a
	 * node changes. */
	time_t mtime;
	nlink_t nlink;
	bool secret; /* in a SECRET board: shown to the mounting user alone (0700, 0600) */
	char board_id[TREE_ID_MAX + 1];
	char section_id[TREE_ID_MAX + 1];
	char pin_id[TREE_ID_MAX + 1];
};

struct tree_config {
	double ttl_s;	   /* how long a listing is trusted */
	int head_parallel; /* HEADs in flight at once when learning sizes; 0: HTTP_HEAD_PARALLEL */
	const char *image_size;
};

/* ---- the listing source ----
 * Every listing the tree asks for (GET /boards, /boards/ID/sections, /boards/ID/pins, each
 * walked page by page) goes through one source, api_list (api.h) unless set otherwise. */

/* Receives one element of a listing's "items", any JSON value, as api_list hands it. Non-zero
 * stops the walk, and the walk returns it. */
typedef int (*tree_item_fn)(const cJSON *it, void *ctx);

/* Walks the listing at path (paged: with page_size=250), calling item for each element; api_list's
 * contract. Returns 0 or -errno. */
typedef int (*tree_list_fn)(const char *path, bool paged, tree_item_fn item, void *ctx);

/* Sets the tree's listing source; NULL: api_list, the default. For tests only (pinfs never
 * calls it): tests/unit/test_tree_edit.c serves an account from memory through it. Call it
 * before tree_preload_start and tree_init, never while the tree runs: it is read without a
 * lock. fn may be called from several threads at once (a board's sections beside its pins,
 * walks listing boards ahead). */
void tree_set_source(tree_list_fn fn);

/* Lists boards/ in a thread of its own, before tree_init: beside the check of the token,
 * instead of after the mount. The API must be set up. Either tree_init or
 * tree_preload_cancel ends it (both wait for it: no thread is left to cross a fork). */
void tree_preload_start(void);
void tree_preload_cancel(void);

/* account is the GET /user_account answer; the tree takes it over, and the boards listed by
 * tree_preload_start when it ran and succeeded. Returns 0 or -errno. */
int tree_init(const struct tree_config *cfg, cJSON *account);
void tree_cleanup(void);

/* Describes the node at path. want_size: learn an image's size if unknown (HEADs of every
 * unknown size in its folder, in parallel); without it an unknown size reads as -1.
 * Returns 0 or -errno (-ENOENT, -EIO when a listing failed, ...). */
int tree_stat(const char *path, bool want_size, struct node_info *out);

/* Receives one entry of a listing; kind is S_IFDIR, S_IFREG or S_IFLNK. Non-zero stops. */
typedef int (*tree_fill_fn)(void *ctx, const char *name, mode_t kind);

/* Calls fill for each entry of the folder at path (without . and ..) after the first `skip`,
 * always in the same order while the listing stays. *met (when met is not NULL) gets the
 * number of entries gone through, skipped ones included: all of them unless fill stopped.
 * fill runs under the tree's lock and must not call back into the tree. */
int tree_list(const char *path, size_t skip, tree_fill_fn fill, void *ctx, size_t *met);

/* Receives one entry of a listing with what tree_stat(path, false) would say of it (an image's
 * size -1 when not known yet), or NULL where that is another module's (the root's folders).
 * Non-zero stops. */
typedef int (*tree_fill_info_fn)(void *ctx, const char *name, mode_t kind,
				 const struct node_info *info);

/* tree_list for readdirplus, from the entry after the first `skip` (the listing's order is
 * tree_list's). fill runs under the tree's lock and must not call back into it. */
int tree_list_info(const char *path, size_t skip, tree_fill_info_fn fill, void *ctx, size_t *met);

/* path, a board, is the first a walker reads (it holds boards/ open meanwhile): the other
 * boards not fresh yet are listed in the background from now on, the longest first, as when
 * a second board is read soon after another. At most once per TTL; nothing when boards/ was
 * not read within the TTL. */
void tree_walk_from(const char *path);

/* The path, relative to the mount's root, of a pin's image (or of its JSON when it has no
 * image): "boards/B/S/name.jpg". Lists the board when needed. Returns 0, -ENOENT or -errno. */
int tree_pin_path(const char *board_id, const char *pin_id, char *buf, size_t len);

/* The path of a board's folder relative to the mount's root: "boards/B". */
int tree_board_path(const char *board_id, char *buf, size_t len);

/* Receives a pin's id and its path as tree_pin_path gives it. Non-zero stops. */
typedef int (*tree_pin_fn)(void *ctx, const char *pin_id, const char *path);

/* Calls fn for each pin of a board, listing the board when needed: the paths of many pins for
 * the cost of one lookup each. fn runs under the tree's lock and must not call back into the
 * tree. Returns 0, -ENOENT or -errno. */
int tree_board_pins(const char *board_id, tree_pin_fn fn, void *ctx);

/* A number that changes whenever the set of my pins or their paths may have changed: a board
 * added, gone or renamed, a board's board_pins_modified_at, a change made through the mount.
 * Refreshes the list of boards when it is older than the TTL (one GET /boards walk); lists no
 * board. Lets a folder built from the pins (pins/, search/) be kept as long as it holds.
 * Returns 0 or -errno. */
int tree_pins_version(uint64_t *out);

/* The account's username (from GET /user_account), into buf. Returns 0, -ENOENT or
 * -ENAMETOOLONG. */
int tree_username(char *buf, size_t len);

/* The content of a generated file (me.json, .board.json, a pin's .json). Caller frees. */
int tree_read_text(const char *path, char **text, size_t *len);

/* What an open needs, from one look-up of path (a warm grep opens every sidecar): the node
 * described as tree_stat(path, false, out) describes it, and the text of a pin's or a board's
 * sidecar as tree_read_text gives it. *text is NULL for every other node, me.json included (its
 * text may cost a request: ask tree_read_text). Caller frees *text. Returns 0 or -errno. */
int tree_stat_text(const char *path, struct node_info *out, char **text, size_t *len);

/* The URL of a pin image's bytes. Caller frees. */
int tree_image_url(const char *path, char **url);

/* Extended attributes of a pin's image or JSON: list (listxattr semantics: returns the size
 * needed, or -ERANGE when len is too small) and get (the same for one value). A pin's image
 * also has user.pinterest.suggested_boards: my boards' folder names, best match first, one a
 * line, ranked locally (suggest.h) from what the tree holds, without a request. */
int tree_xattr_list(const char *path, char *buf, size_t len);
int tree_xattr_get(const char *path, const char *name, char *buf, size_t len);

/* How many pins the tree knows (for statfs). */
uint64_t tree_pin_count(void);

/* Forgets every listing, so the next look at a folder asks the server again (SIGHUP). */
void tree_invalidate(void);

/* ---- local changes ----
 * Called once the API has accepted a change, with its answer, so the change shows at once
 * without waiting for the TTL or listing again. Each returns 0 or -errno (-EIO for an answer
 * that is not the object it should be); a board not listed yet simply lists it later. */

/* A board created or changed (its folder name follows its name). */
int tree_apply_board(const cJSON *board);
void tree_apply_board_gone(const char *board_id);

/* A section created or renamed, or deleted (with its pins, as Pinterest does). */
int tree_apply_section(const char *board_id, const cJSON *section);
void tree_apply_section_gone(const char *board_id, const char *section_id);

/* A pin created, edited or moved from old_board_id (NULL: not moved). ext is the extension
 * of the name the file was given (NULL: from the image URL): the file keeps it. */
int tree_apply_pin(const char *old_board_id, const cJSON *pin, const char *ext);

/* The pin's image file now shows ext (an image extension, in another case or form: mv
 * x.jpg x.png, or x.jpg x.JPG); kept across remounts (pinstore.h). Nothing is sent: the
 * extension is the file's name, not the pin's. 0, -EINVAL (not an image extension pinfs
 * shows) or -ENOENT. */
int tree_pin_ext(const char *board_id, const char *pin_id, const char *ext);

/* A pin deleted. Its sidecar's path stays a ghost for a few seconds: found, never listed. */
void tree_apply_pin_gone(const char *board_id, const char *pin_id);

/* True when path is a ghost; take removes it. */
bool tree_ghost(const char *path, bool take);

/* True when the tree's listing of the board holds the pin. */
bool tree_has_pin(const char *board_id, const char *pin_id);

#endif
