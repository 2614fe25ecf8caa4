/* The order in which a walk meets the boards, and the order in which they are listed ahead of
 * it. find, grep -r and du go through boards/ in readdir's order and wait at each board whose
 * listing is not back yet; a board's pages come one after another (each page's bookmark is in
 * the one before), so a long board is a chain of round trips that no concurrency shortens.
 *
 * Pure: both functions work on a board's count of pages alone and keep nothing. */
#ifndef PINFS_WALKORDER_H
#define PINFS_WALKORDER_H

#include <stddef.h>

/* The longest listings the walk's background workers start first, whatever the walker's
 * order; see prefetch_order. */
#define WALK_LONG_FIRST 2

/* Fills order[0..n) with the indices of pages[0..n), the number of listing pages of each
 * board, in the order boards/ lists them: the fewest pages first, boards of as many pages in
 * their given order. The walker starts where its listing is back soonest, and meets the long
 * chains last, when the background has listed them. */
void walk_order(const long *pages, size_t n, size_t *order);

/* Fills order[0..n) with the indices of pages[0..n) in the order a walk's boards are listed
 * ahead of it: the WALK_LONG_FIRST longest listings of more than one page first, longest
 * first (started at their turn, they would end the walk alone), then the others in the
 * walker's order (walk_order), so that the next board it needs is the next one listed. */
void prefetch_order(const long *pages, size_t n, size_t *order);

#endif
