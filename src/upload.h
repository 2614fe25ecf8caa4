/* Creating a pin from a staged file: the file's type is checked by content (libmagic, then
 * the image's end marker, so a truncated file is refused), the bytes go to POST /pins as
 * image_base64, and an answer lost on the way is looked for before anything is sent again.
 */
#ifndef PINFS_UPLOAD_H
#define PINFS_UPLOAD_H

#include <cjson/cJSON.h>

int upload_init(void);
void upload_cleanup(void);

/* "image/jpeg" or "image/png" for a whole JPEG or PNG file at path; -EMEDIUMTYPE for
 * anything else (empty, truncated, another type), -errno when it cannot be read. */
int upload_check(const char *path, const char **content_type);

struct upload {
	const char *staging; /* the file's bytes */
	const char *board_id;
	const char *section_id; /* or NULL */
	const char *title;
};

/* Creates the pin. On success *pin is the API's pin object (caller cJSON_Deletes it), and when
 * the image URL pinfs shows for it is the "originals" one, the staged bytes are in the image
 * cache under that URL (cache_image_put), so its size and bytes need no request.
 * Returns 0 or -errno: -EMEDIUMTYPE, -EINVAL (refused by Pinterest), -EAGAIN (rate limited
 * past the retries), -EIO. Never leaves two pins for one call. */
int upload_pin(const struct upload *u, cJSON **pin);

#endif
