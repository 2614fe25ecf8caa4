/* What the mount's root holds, each name once: who serves it, and in what order the root lists
 * it. The tree lists the account's entries and the folders served beyond it (social.c's),
 * fs.c adds pinfs's own; main.c's forgetter and the routing of a path by its first component
 * read the same table. A new top-level entry is a row here and the code that serves it.
 * Pure; the table is constant. */
#ifndef PINFS_TOPLEVEL_H
#define PINFS_TOPLEVEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

enum top_owner {
	TOP_ACCOUNT, /* me.json and boards/: the tree (tree.c) */
	TOP_SOCIAL,  /* pins/, search/, followers/, following/: generated folders (social.c) */
	TOP_PINFS,   /* .pinfs/: what the mount did, never Pinterest's (fs.c) */
};

struct top_entry {
	const char *name;
	mode_t kind; /* S_IFDIR or S_IFREG */
	enum top_owner owner;
};

/* The root's entries in listing order, and how many. */
extern const struct top_entry top_entries[];
extern const size_t top_count;

/* The entry that path ("/pins", "/pins/x") is or lies under; NULL for "/" and for a name the
 * root does not hold. */
const struct top_entry *top_entry_of(const char *path);

/* True when path is or lies under a top-level entry of owner. */
bool top_owned_by(const char *path, enum top_owner owner);

#endif
