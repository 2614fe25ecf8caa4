/* Mapping between Pinterest titles and file names. Pure functions: no I/O, no locks.
 *
 * Rules (docs/design.md "Names"):
 *  - a title becomes a name with '/' shown as U+FF0F '／', a leading '.' as U+FF0E '．' (dotfiles
 *    are local scratch files), tabs and newlines as spaces, other control characters and invalid
 *    UTF-8 as U+FFFD; an empty title falls back to the object's id;
 *  - names are cut at a UTF-8 boundary so that name, suffix and extension fit NAME_MAX;
 *  - within one folder, the first holder of a name (callers order by age, oldest first) keeps it,
 *    the others get " {ID}" appended (an id of other characters than Pinterest's shows as '#' and
 *    a hash; where titles hold those names already, " {ID~2}", " {ID~3}"... follow);
 *  - a name held before (name_slot.keep) stays while the title still gives it, so names do not
 *    shift while a mount runs when another object of the same title comes or goes;
 *  - an object that shows items holds "<name> [2]"... too: where another holds one of those
 *    names, the first of the two in priority keeps it and the other takes the suffixed form.
 */
#ifndef PINFS_NAMES_H
#define PINFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAMES_MAX 255

/* Returns the sanitised form of title (id when title is NULL or empty), cut so that
 * strlen(result) + reserve <= NAMES_MAX. Caller frees. NULL only when out of memory. */
char *names_sanitize(const char *title, const char *id, size_t reserve);

/* The reverse of names_sanitize for a name a user typed: '／' back to '/', a leading '．' back
 * to '.'. The extension is not touched; see names_strip_ext. Caller frees. */
char *names_to_title(const char *name);

/* One object to be named in a folder. */
struct name_slot {
	const char *title; /* in: may be NULL or "" */
	const char *id;	   /* in: unique within the folder, never NULL */
	size_t reserve;	   /* in: bytes the longest extension adds to the name (".json" = 5) */
	const char *keep;  /* in: the name it had before, or NULL: kept while the title
			    * still gives it and nobody else holds it */
	char *name;	   /* out: allocated; the caller frees it */
};

/* Names slots[0..n) in priority order (first keeps a contested name). reserved lists names the
 * folder already uses (NULL-terminated, may be NULL). Returns 0 or -ENOMEM (then every
 * slot's name is NULL). */
int names_assign(struct name_slot *slots, size_t n, const char *const *reserved);

/* names_assign where slot i's object also shows files "<name> [2]" to "<name> [items[i] + 1]"
 * (a carousel's items): those names are its too. items NULL: none has any. */
int names_assign_items(struct name_slot *slots, size_t n, const char *const *reserved,
		       const unsigned *items);

/* The extension for an image's or a video's URL: ".jpg", ".png", ".gif", ".webp", ".mp4" or
 * ".mov"; ".jpg" when the URL says nothing better. Returns a static string. */
const char *names_ext_for_url(const char *url);

/* Length of name without a known extension (".jpg", ".jpeg", ".png", ".gif", ".webp", ".json",
 * ".mp4", ".mov", ".m4v"), and that extension through *ext (points into name, "" when none). */
size_t names_strip_ext(const char *name, const char **ext);

/* True for names that stay local scratch files and never reach Pinterest: dotfiles (which
 * covers vim's .swp, LibreOffice's .~lock.*# and rsync's .name.XXXXXX) and names ending in
 * '~' or ".swp". */
bool names_is_scratch(const char *name);

/* Names file managers and other systems look for in every folder: trash folders, lists of
 * hidden files, folder settings, Windows' and macOS's metadata. None can be on Pinterest, so
 * they are refused at once, without listing a board or asking the server anything. path may
 * be a whole path or a name. */
bool names_is_probe(const char *path);

#endif
