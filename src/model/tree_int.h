/* Internal to the account model (src/model/tree*.c): nothing outside those files includes this
 * header; the rest of pinfs uses tree.h.
 *
 * The account tree in parts, one concern each:
 *   tree.c          the state below, tree_init and tree_cleanup, small shared helpers
 *   tree_listing.c  a board's listing fetched from the listing source and tidied
 *   tree_build.c    a listing built into named, indexed folders
 *   tree_boards.c   boards/: the list of boards fetched, named, installed; its preload
 *   tree_install.c  a board's listing made fresh and installed (tree_ensure_listed)
 *   tree_walk.c     walks seen and the boards listed ahead of them
 *   tree_resolve.c  a path resolved to its node
 *   tree_sizes.c    image sizes learnt by sweeps, and forgotten
 *   tree_query.c    tree_stat and the listings of folders
 *   tree_text.c     generated files' text, image URLs, extended attributes
 *   tree_paths.c    paths from ids, tree_pins_version
 *   tree_parts.c    the files beside a pin's main one: a video's cover, a carousel's items
 *   tree_inplace.c  a pin inserted, replaced or removed where it is
 *   tree_edit.c     local changes (tree_apply_*), ghosts
 *
 * One mutex, tree.lock, guards the tree, and is never held across a network call (tree.h).
 * Each shared type and state below says what guards it, and so does each part's own state
 * where it is defined (tree_walk.c's walk, tree_sizes.c's sweeps, tree_boards.c's preload,
 * tree_listing.c's listing source). Functions marked "Lock held" are called with tree.lock
 * held; those that may drop it meanwhile say so.
 *
 * A fetch that others may want too (the account, boards/, a board's listing, a folder's sizes)
 * is a single flight (flight.h) on tree.lock and tree.changed. Work beside the requests (a
 * board's sections beside its pins, the preload, the prefetch of a walk, the size sweeps) is
 * bg.h's; a group's bg_stop is called without tree.lock, which its tasks take to end.
 */
#ifndef PINFS_TREE_INT_H
#define PINFS_TREE_INT_H

#include "tree.h"

#include "api.h"
#include "flight.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The extensions a pin's files can have (images' and videos'): names_ext_for_url's, and those
 * a file copied in kept (tree_ext_for). Index 0: the pin has no file but its sidecar.
 * Constant. */
#define TREE_EXTS 23
extern const char *const tree_exts[TREE_EXTS];

/* ---- the nodes ----
 *
 * Locks: a node in the tree (tree.boards, tree.dead) is guarded by tree.lock, every field of it
 * and of the folders, sections and pins it holds. The same types in a struct built are its
 * builder's alone until tree_take_built installs them, under tree.lock. */

/* The pins of one folder (a board's top or a section), as indexes into the board's pins
 * sorted by name, for a binary search. A pin's two files share its name: "<name><ext>" and
 * "<name>.json"; the top's sections and .board.json are found apart. Guarded by tree.lock. */
struct folder {
	uint32_t *pins;
	size_t n;
	struct flight sizing; /* a sweep learns its sizes (tree_sizes.c) */
	bool sizes_tried;
	time_t mtime; /* when a name came or went; 0: not since the mount (node_mtime) */
};

/* 40 bytes and the record: a walk of 100 000 pins keeps every one of them. Two of the 40 are
 * padding, after waited, free for a field that fits there. Guarded by tree.lock. */
struct pin_node {
	struct pinrec *rec;
	char *name;	  /* the files' name without extension; NULL: the same as the title */
	int64_t size;	  /* image bytes, -1 unknown */
	int32_t json_len; /* sidecar bytes, -1 not yet measured */
	int32_t folder;	  /* -1: the board's top, else the index of its section */
	uint8_t ext;	  /* index in tree_exts[] */
	bool waited;	  /* a stat waits for its size from a sweep: say when it comes */
	/* When its sidecar's text was seen to change: seconds after tree.epoch, 0 when not since
	 * the mount (its creation time stands). */
	uint32_t changed_at;
};

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct pin_node) == 40, "a pin node is 40 bytes: see the comment above");
#endif

/* A section of a listed board. Guarded by tree.lock. */
struct section_node {
	struct section *sec;
	char *dname;
	struct folder f;
};

/* A board and, once listed, its sections and pins. Board nodes live until unmount (removed
 * boards move to the dead list), so a pointer to one stays valid across unlocks; every field
 * is guarded by tree.lock. */
struct board_node {
	struct board *b;
	char *dname;
	bool gone;
	bool listed;
	struct flight listing; /* its listing is being fetched (tree_ensure_listed) */
	bool seen; /* listed before: the next listing is compared with it (carry_times) */
	double listed_at;
	time_t json_mtime;   /* when .board.json's text changed; 0: not since the mount */
	char *stamp;	     /* board_pins_modified_at when listed */
	unsigned gen;	     /* bumped at each new listing: folder pointers from before are stale */
	unsigned edits;	     /* local changes made to the listing: see tree_ensure_listed */
	unsigned sweeps;     /* size sweeps of this board still running */
	unsigned old_sweeps; /* those of them that sweep a listing before this one */
	struct section_node *secs;
	size_t nsecs;
	struct pin_node *pins;
	size_t npins;
	struct folder top;
	char *block; /* the pins' records and names: see pack_pins */
	void *
	    *loose; /* records and names of pins added in place (tree_insert_pin) beside a block */
	size_t nloose;
};

/* The sidecar of a pin just deleted: still found for a few seconds, so that `rm a.jpg a.json`
 * removes both without an error, but never listed. In tree.ghosts: guarded by tree.lock. */
struct ghost {
	char *path;
	double until;
};

#define GHOST_LIFE_S 10.0

/* ---- listings: fetched unlocked, built unlocked, installed under the lock ----
 *
 * Locks: a struct listing, a struct built and a struct board_vec are their maker's alone (the
 * thread that fetches or rebuilds them), so they need no lock; what they are made from or
 * installed into is guarded by tree.lock. */

/* A pin's name in the listing before this one: names stay while a mount runs. In a struct
 * listing: its maker's alone. */
struct kept {
	char *id, *name;
};

struct listing {
	const char *board_id; /* what the pins are packed against: see pinrec_pack */
	struct section **secs;
	size_t nsecs, cap_secs;
	struct pinrec **pins;
	size_t npins, cap_pins;
	struct kept *kept; /* sorted by id */
	size_t nkept;
	/* What the pages held, and how much of it could not be used: said once a listing. */
	size_t sec_items, sec_skips, pin_items, pin_skips;
};

/* The id of item i of a listing's array, for tree_mark_repeats. */
typedef const char *(*tree_id_at_fn)(const void *ctx, size_t i);

/* A board's freshly built contents, ready to swap into its node. */
struct built {
	struct section_node *secs;
	size_t nsecs;
	struct pin_node *pins;
	size_t npins;
	struct folder top;
	char *block; /* see pack_pins; NULL: each record and name is its own allocation */
};

/* A list of boards from GET /boards, or the tree's boards to be named again (tree_edit.c). */
struct board_vec {
	struct board **v;
	size_t n, cap;
	size_t items, skips; /* of GET /boards's pages: see tidy_boards */
};

/* A node found by tree_resolve: its pointers point into the tree, valid while tree.lock is
 * held and not dropped since. */
struct where {
	enum node_type type;
	struct board_node *bn;
	struct folder *f; /* the folder holding the node, for pins */
	int32_t sec;	  /* section index, or -1 */
	struct pin_node *pn;
	unsigned part; /* NODE_PIN_PART: which file beside the pin's main one, from 1 */
};

/* ---- the state ---- */

/* The account tree. tree.lock guards every field but these: lock and changed themselves; ttl,
 * head_parallel, image_size and epoch, set by tree_init before any other thread uses the tree
 * and only read until tree_cleanup, so read without the lock. */
struct tree_state {
	pthread_mutex_t lock;
	/* A flight landed (flight.h); a sweep ended, or learnt a size a stat waits for. */
	pthread_cond_t changed;
	double ttl;
	int head_parallel;
	char *image_size;
	cJSON *account;
	double account_at;
	struct flight account_fetching; /* GET /user_account (tree_text.c) */
	struct board_node **boards;	/* live, sorted by dname */
	size_t nboards;
	struct board_node **dead;
	size_t ndead;
	bool boards_listed;
	struct flight boards_listing; /* GET /boards (tree_ensure_boards) */
	bool boards_seen;	      /* boards/ listed before: a new list is compared with it */
	double boards_at;
	time_t boards_mtime; /* when a board came, went or was renamed; 0: not since the mount */
	time_t epoch;	     /* a second before the mount: what pins' changed_at counts from */
	uint64_t forgets;    /* cache_size_forgets() when the listed sizes were last checked */
	struct ghost *ghosts;
	size_t nghosts;
	uint64_t changes;	/* local changes installed: see tree_pins_version */
	uint64_t board_changes; /* boards made, renamed or removed here: see tree_ensure_boards */
};

extern struct tree_state tree;

/* ---- shared between the parts (each is described where it is defined) ---- */

/* tree.c */
void tree_join_cut(char *buf, size_t len, const char *a, const char *b);
const char *tree_pin_name(const struct pin_node *pn);
void tree_pin_file(const struct pin_node *pn, bool json, char *buf, size_t len);
void tree_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
double tree_now(void);
bool tree_fresh(double at);
uint32_t tree_change_stamp(void);
bool tree_grow(void **arr, size_t *cap, size_t n, size_t size);
bool tree_id_ok(const char *id);
bool tree_same_str(const char *a, const char *b);
uint8_t tree_ext_index(const char *ext);
uint8_t tree_ext_for(const char *id, const char *url);
uint8_t tree_ext_of(const struct pinrec *r);
size_t tree_name_reserve(const struct pinrec *r);

/* tree_parts.c */
unsigned tree_part_count(const struct pin_node *pn);
int tree_part_url(const struct pin_node *pn, unsigned part, char *buf, size_t len);
bool tree_part_file(const struct pin_node *pn, unsigned part, char *buf, size_t len);
int64_t tree_part_size(const struct pin_node *pn, unsigned part);
unsigned tree_find_part(struct pin_node *(*find)(const void *ctx, const char *base, size_t len),
			const void *ctx, const char *name, struct pin_node **out);

/* tree_listing.c */
int tree_source_list(const char *path, bool paged, tree_item_fn item, void *ctx);
void tree_listing_release(struct listing *l);
int tree_keep_names(const struct board_node *bn, struct listing *l);
const char *tree_kept_name(const struct listing *l, const char *id);
long tree_mark_repeats(size_t n, tree_id_at_fn id_at, const void *ctx, bool *gone);
void tree_say_skipped(const char *route, const char *what, size_t skips, size_t items);
void tree_say_repeats(const char *route, long repeats, const char *what, const char *id);
int tree_fetch_listing(const char *board_id, struct listing *l);

/* tree_build.c */
void tree_folders_release(struct section_node *secs, size_t nsecs, struct pin_node *pins,
			  size_t npins, struct folder *top, char *block);
int tree_cmp_pin_age(const void *a, const void *b);
int32_t tree_section_index(const struct section_node *secs, size_t nsecs, const char *section_id);
const char **tree_section_reserved(const struct built *o);
struct folder *tree_folder_of(struct section_node *secs, struct folder *top, int32_t folder);
int tree_build(struct listing *l, struct built *o);

/* tree_boards.c */
int tree_cmp_node_dname(const void *a, const void *b);
struct board_node *tree_find_board_id(const char *id);
struct board_node *tree_find_board_name(const char *dname);
void tree_bury(struct board_node *bn);
void tree_set_board(struct board_node *bn, struct board *b);
char **tree_name_boards(struct board_vec *bv);
int tree_ensure_boards(void);
void tree_preload_install(void);

/* tree_install.c */
void tree_loose_release(struct board_node *bn);
void tree_new_generation(struct board_node *bn);
void tree_count_edit(struct board_node *bn);
void tree_take_built(struct board_node *bn, struct built *o);
int tree_ensure_listed(struct board_node *bn);

/* tree_walk.c */
int tree_order_boards(const size_t *at, size_t n, void (*how)(const long *, size_t, size_t *),
		      size_t *order);
void tree_note_board_read(const struct board_node *bn);
void tree_note_boards_read(void);
void tree_prefetch_stop(void);

/* tree_resolve.c */
int32_t tree_find_section(const struct board_node *bn, const char *dname);
int tree_resolve(const char *path, struct where *w);

/* tree_sizes.c */
void tree_learn_sizes(struct where *w);
void tree_sweeps_stop(void);
void tree_drop_forgotten_sizes(void);

/* tree_query.c */
int tree_fill_info(const struct where *w, struct node_info *out);

/* tree_inplace.c */
size_t tree_pin_index(const struct board_node *bn, const char *pin_id);
void tree_remove_pin(struct board_node *bn, size_t i);
int tree_insert_pin(struct board_node *bn, struct pinrec *p);
bool tree_same_place(const struct pinrec *r, const struct pinrec *q);
int tree_replace_pin(struct board_node *bn, size_t i, struct pinrec *p);
void tree_touch_pin(struct board_node *bn, const char *pin_id);

#endif
