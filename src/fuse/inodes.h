#ifndef PINFS_INODES_H
#define PINFS_INODES_H

/* The inode numbers pinfs has given the kernel, each with its name in its folder and the count
 * of the kernel's lookups of it. pinfs's files are known by path everywhere else: this table
 * turns the kernel's (folder inode, name) and inode numbers into paths, follows renames and
 * removals, and drops an inode once the kernel has forgotten it. Thread-safe. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INODES_ROOT 1

/* Resets the table to the root folder alone. 0, or -ENOMEM. */
int inodes_init(void);
void inodes_cleanup(void);

/* The inode of name in folder parent, made when new, and one more lookup of it by the kernel.
 * 0 when out of memory or when parent is unknown. */
uint64_t inodes_remember(uint64_t parent, const char *name);

/* The kernel forgot n lookups of ino: at none, the inode goes. When path is not NULL, *path is
 * ino's path (malloc'd, the caller frees), or NULL for the root, an unknown or a removed inode.
 * The kernel forgets when it evicts its inode, and the file's cached pages go with it, even
 * when a lookup of the name since (a new kernel inode for the same number) keeps this one. */
void inodes_forget(uint64_t ino, uint64_t n, char **path);

/* The path of ino ("/" for the root), malloc'd for the caller to free; NULL when ino is not
 * known, is removed (an open file whose name went), or memory ran out. */
char *inodes_path(uint64_t ino);

/* The path of name in folder parent, as inodes_path. */
char *inodes_child_path(uint64_t parent, const char *name);

/* name left folder parent: its inode, while the kernel still knows it, has no path. */
void inodes_unlinked(uint64_t parent, const char *name);

/* A rename: the inode at (from_parent, from) now bears (to_parent, to); one that bore that
 * name has none now, or, with exchange, takes the other's. */
void inodes_renamed(uint64_t from_parent, const char *from, uint64_t to_parent, const char *to,
		    bool exchange);

/* How many inodes the kernel holds (the root aside): for the tests and the stats. */
size_t inodes_count(void);

/* How many inodes were ever made: each is a name the kernel looked up (or took from a
 * listing) while it held no inode of it, and costs memory until the kernel forgets it. The
 * forgetter (forgetter.h) counts them. */
uint64_t inodes_made(void);

#endif
