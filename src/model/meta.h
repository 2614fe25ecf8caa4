/* What pinfs shows about objects: the JSON sidecars (a pin's <name>.json, a board's
 * .board.json) and the user.pinterest.* extended attributes. Pure: no I/O, no locks.
 */
#ifndef PINFS_META_H
#define PINFS_META_H

#include "api.h"

#include <stddef.h>

/* The writable fields of a pin's sidecar, in the order they are shown. */
extern const char *const meta_pin_writable[];

/* Prints item as JSON indented by two spaces, ending in a newline. Caller frees; NULL on
 * ENOMEM. */
char *meta_pretty(const cJSON *item);

/* Renders a pin's sidecar: pretty JSON ending in a newline. Caller frees; NULL on ENOMEM. */
char *meta_pin_json(const struct pin *p);

/* The length of meta_pin_json's text, counted without writing it (a listing's sizes). */
size_t meta_pin_json_len(const struct pin *p);

/* Renders a board's .board.json. Caller frees; NULL on ENOMEM. */
char *meta_board_json(const struct board *b);

/* The pin's page on pinterest.com, into buf. */
void meta_pin_url(const struct pin *p, char *buf, size_t len);

/* Lists a pin's attribute names as listxattr does ("a\0b\0"), into buf of size len; with
 * len 0 only measures. Returns the bytes needed. */
size_t meta_pin_xattr_list(const struct pin *p, char *buf, size_t len);

/* The value of attribute name ("user.pinterest.title"), or NULL when the pin has none. Points
 * into p or into buf (for values that are made, like url). */
const char *meta_pin_xattr_get(const struct pin *p, const char *name, char *buf, size_t len);

#endif
