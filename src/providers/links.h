/* pins/ and search/: my pins and boards, found by one paged API walk, shown as symlinks to
 * their place under boards/ ("../boards/Recipes/Lemon tart.jpg").
 *
 * A link is named like what it points to; where two pins' names meet in one folder, the older
 * pin keeps the plain name and the others get " {PINID}" before the extension (names.h).
 * Targets come from the tree (tree.h), which lists each board involved once per TTL; a pin or
 * board the tree does not know (yet) is left out rather than shown as a dangling link.
 *
 * Each function builds one folder of vfolder.h; key is the folder's path in the mount, and for
 * a search its last component is the query.
 */
#ifndef PINFS_LINKS_H
#define PINFS_LINKS_H

#include "vfolder.h"

/* Each folder is built again when tree_pins_version() changes, so a change made through the
 * mount shows at once; past the TTL, pins/ is built again only when a board changed. */

/* "/pins": every pin I own (GET /pins). */
extern const struct vf_source links_pins;

/* "/search/pins/<query>": my pins matching the query (GET /search/pins). */
extern const struct vf_source links_search_pins;

/* "/search/boards/<query>": my boards matching the query (GET /search/boards). */
extern const struct vf_source links_search_boards;

#endif
