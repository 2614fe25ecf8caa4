/* Changes to the account made through the mount: each turns one file operation into the API
 * calls it means, and installs the result in the tree once the API accepted it. Every
 * function returns 0 or the -errno the user sees, and logs one line saying why it failed.
 */
#ifndef PINFS_EDIT_H
#define PINFS_EDIT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h> /* RENAME_NOREPLACE, with _GNU_SOURCE */

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* mkdir boards/X (a board) or boards/X/S (a section). */
int edit_mkdir(const char *path);

/* rmdir of an empty board or section; -ENOTEMPTY otherwise. */
int edit_rmdir(const char *path);

/* rm of a pin's image (deletes the pin), of a sidecar (-EPERM unless the pin was just deleted
 * or has no image), of .board.json (nothing happens: it is the board's, and comes back). */
int edit_unlink(const char *path);

/* mv of a board, a section, or a pin (retitle and/or move). from must be in the tree. */
int edit_rename(const char *from, const char *to, unsigned int flags);

/* Text for a new pin beyond its image, each NULL when not given. */
struct pin_text {
	const char *title; /* wins over the file name's (cp -a of "Tart {ID}.jpg" keeps "Tart") */
	const char *description;
	const char *link;
	const char *alt_text;
};

/* Creates a pin at path (its folder, and its title from the name unless text has one) from
 * the bytes in staging (a picture or a video), with text (may be NULL) in the same POST. */
int edit_upload(const char *path, const char *staging, const struct pin_text *text);

/* Applies text written to a pin's sidecar or a board's .board.json: one PATCH of the fields
 * that changed. -EINVAL for malformed JSON, unknown fields, read-only fields changed. */
int edit_text(const char *path, const char *text, size_t len);

/* A sidecar copied from another pin written onto a pin this mount just made (cp -r of a board
 * within the mount, copyin.h): its writable fields are the new pin's; its id, dates and place
 * are left out. Otherwise as edit_text. */
int edit_text_copied(const char *path, const char *text, size_t len);

/* What an edit of a sidecar asks for, without sending anything: the writable fields of edited
 * that differ from now (both parsed sidecars; pin: a pin's, else a board's .board.json) go
 * into diff, null as "". 0, or -EINVAL (logged) for an unknown field, a changed read-only
 * field, or a value Pinterest would refuse. edit_text's first half; fuzzed on its own. */
int edit_diff(const cJSON *now, const cJSON *edited, bool pin, cJSON *diff);

/* setfattr -n user.pinterest.FIELD on a pin's file. */
int edit_setxattr(const char *path, const char *name, const char *value, size_t size);

#endif
