/* followers/ and following/: the people who follow me, the people, topics and boards I follow,
 * each folder from one paged walk of its API listing, and following a user.
 *
 * A person or topic is one "<name>.json" file holding the API's object; a board I follow is a
 * read-only folder following/boards/<owner>/<board>/ with its .board.json, its cover image and
 * its thumbnails (v5 lists the pins of my own boards only, so theirs are not shown).
 *
 * Each build function fills one folder of vfolder.h; key is the folder's path in the mount.
 */
#ifndef PINFS_PEOPLE_H
#define PINFS_PEOPLE_H

#include "vfolder.h"

extern const struct vf_source people_followers; /* followers/ */
extern const struct vf_source people_following; /* following/users/ */
extern const struct vf_source people_interests; /* following/interests/ */
extern const struct vf_source people_boards;	/* following/boards/ */

/* Follows username (POST /user_account/following/{username}). *json: the user's file as
 * following/users/ shows it; caller frees. Returns 0 or -errno (-ENOENT: no such user). */
int people_follow(const char *username, char **json);

#endif
