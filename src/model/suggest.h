/* Board suggestions for a pin (user.pinterest.suggested_boards). Pinterest's API v5 has no
 * endpoint for them, so pinfs ranks my boards itself by how well the pin's words match each
 * board's name, description and pin titles. Pure: no I/O, no locks, nothing kept.
 */
#ifndef PINFS_SUGGEST_H
#define PINFS_SUGGEST_H

#include <stddef.h>

/* Pin titles of one board worth reading: enough to tell what a board is about, and a bound on
 * what one ranking costs however big the boards (getfattr -d asks it for every image). */
#define SUGGEST_TITLES_MAX 1000

/* One board as the ranking sees it. Strings are only read; any may be NULL. */
struct suggest_board {
	const char *name;
	const char *description;
	const char *const *pin_titles; /* npins titles of its pins; NULL when npins is 0 */
	size_t npins;
};

/* Fills order[0..n) with the indices of boards[0..n), the best match for a pin of this title
 * and description first (either may be NULL). A board's name weighs more than its
 * description, which weighs more than its pin titles; a word few boards share weighs more
 * than a common one; the pin's title counts double its description. Boards that score the
 * same, unmatched ones included, follow in name order. Returns 0 or -ENOMEM. */
int suggest_rank(const char *title, const char *description, const struct suggest_board *boards,
		 size_t n, size_t *order);

#endif
