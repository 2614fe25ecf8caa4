/* Creating a pin from a staged file: the file's type is checked by content (libmagic on its
 * start, then the image's end marker, so a truncated file is refused), the bytes go to
 * POST /pins as image_base64, encoded while they are sent (memory stays flat whatever the
 * file's size), and an answer lost on the way is looked for before anything is sent again.
 */
#ifndef PINFS_UPLOAD_H
#define PINFS_UPLOAD_H

#include <cjson/cJSON.h>
#include <stdbool.h>

int upload_init(void);
void upload_cleanup(void);

/* The largest file upload_pin sends. Pinterest publishes no size limit for an image_base64
 * upload (NOTES.md); 64 MiB is past any photo a camera or phone makes, and bounds what one cp
 * sends (85 MiB of base64). */
#define UPLOAD_MAX_BYTES (64L << 20)

/* "image/jpeg" or "image/png" for a whole JPEG or PNG file at path; -EMEDIUMTYPE for
 * anything else (empty, truncated, another type), -EFBIG over UPLOAD_MAX_BYTES, -errno when
 * it cannot be read. Reads the file's start and end only. */
int upload_check(const char *path, const char **content_type);

struct upload {
	const char *staging; /* the file's bytes */
	const char *board_id;
	const char *section_id; /* or NULL */
	const char *title;
	/* Optional text for the new pin, NULL for none: set as xattrs on the file being
	 * written (cp -a) or carried by a sidecar copied beside it; sent in the same POST. */
	const char *description;
	const char *link;
	const char *alt_text;
	/* Whether the mount knew the pin pin_id on board_id before this upload (the tree's
	 * tree_has_pin): after a lost answer, a pin it knew is someone else's. NULL: none known. */
	bool (*known)(const char *board_id, const char *pin_id);
};

/* Creates the pin. On success *pin is the API's pin object (caller cJSON_Deletes it), and when
 * the image URL pinfs shows for it is the "originals" one, the staged bytes are in the image
 * cache under that URL (cache_image_put_file), so its size and bytes need no request.
 * Returns 0 or -errno: -EMEDIUMTYPE, -EFBIG (over UPLOAD_MAX_BYTES: logged, nothing sent),
 * -EINVAL (refused by Pinterest), -EAGAIN (rate limited past the retries), -EIO. Never leaves
 * two pins for one call. When the answer is lost, a pin is taken for this upload only when it
 * certainly is: one pin on the board that u->known did not know, with this title, section and
 * image size in pixels, made around the request; otherwise -EIO, and nothing is cached. */
int upload_pin(const struct upload *u, cJSON **pin);

#endif
