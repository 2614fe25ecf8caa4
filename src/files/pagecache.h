/* Generated JSON files in the kernel's page cache.
 *
 * A read-only open of a pin's or a board's JSON file is served from the kernel's page cache
 * when that is sure to give the text as it is now, so a warm grep never reaches the daemon for
 * bytes. Two things could make cached reads wrong, and this table, keyed by path, follows both:
 *  - the size getattr last gave the kernel for the path, which ends every cached read: when
 *    the text's length is no longer that (an edit, a refresh the kernel has not seen yet), the
 *    open is direct_io instead, and reads are never cut at a size the kernel remembered;
 *  - the text whose bytes the kernel's pages may hold for the path's inode (a hash of the
 *    text the last cached open served): when the text is another, even of the same length,
 *    the open goes without keep_cache, which makes the kernel drop those pages.
 * A text is known by its stamp, a 64-bit hash of it (stamp.h).
 * The kernel's inode and its pages move with a rename, so the record moves too. A path not in
 * the table (never stat'ed, or pushed out: the table is bounded) is opened with direct_io.
 * libfuse's auto_cache is not used: it compares only mtime and size, and keeps pages when a
 * text changes to one of the same length within the second its mtime counts.
 *
 * Thread-safe: one lock of its own, taken last (docs/design.md, "Locks").
 */
#ifndef PINFS_PAGECACHE_H
#define PINFS_PAGECACHE_H

#include "fileinfo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* getattr (or a listing's attributes) told the kernel this size for path. */
void pagecache_size(const char *path, int64_t size);

/* path was opened as something other than generated text (a local file, an edit): its
 * pages may hold other bytes, and a writer changes the size the kernel knows. */
void pagecache_other(const char *path, bool writing);

/* The kernel forgot the inode at path, and its pages with it. */
void pagecache_forgotten(const char *path);

/* A rename moved the kernel's inode, its size and its pages, from one path to the other. */
void pagecache_move(const char *from, const char *to);

/* Chooses how a read-only open of generated text at path, of length len and stamp text, is
 * served: from the page cache (keeping the pages when they hold this very text), or with
 * direct_io. Sets fi's direct_io and keep_cache. */
void pagecache_mode(const char *path, size_t len, uint64_t text, struct vfs_file_info *fi);

#endif
