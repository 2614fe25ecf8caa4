/* What the mount's root holds, each name once, and who serves it: the router's table
 * (router.c's vfs_top) is the one list of top-level entries. The root lists them in table
 * order; a path is routed by its first component; main.c's forgetter asks the kernel to forget
 * what is below the forgettable ones (vfs_each_forgettable). A new top-level entry is a row
 * there and the provider that serves it. The lookup is pure; the table is constant. */
#ifndef PINFS_TOPLEVEL_H
#define PINFS_TOPLEVEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct provider;

struct top_entry {
	const char *name;
	mode_t kind; /* S_IFDIR or S_IFREG */
	const struct provider *provider;
	bool forgettable; /* a folder whose unused names are dropped after a walk */
};

struct top_table {
	const struct top_entry *rows; /* in the root's listing order */
	size_t n;
};

/* The mount's table (router.c). */
extern const struct top_table vfs_top;

/* The entry of t that path ("/pins", "/pins/x") is or lies under; NULL for "/" and for a name
 * the root does not hold. */
const struct top_entry *top_entry_of(const struct top_table *t, const char *path);

#endif
