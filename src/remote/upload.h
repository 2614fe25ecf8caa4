/* Creating a pin from a staged file: the file's type is checked by content (libmagic on its
 * start, then an image's end marker, so a truncated picture is refused). A picture's bytes go
 * to POST /pins as image_base64, encoded while they are sent; a video (MP4 or QuickTime) is
 * registered, sent to Pinterest's storage and waited for (media.h), then made a pin with
 * POST /pins and its video_id. Memory stays flat whatever the file's size, and an answer lost
 * on the way is looked for before anything is sent again.
 */
#ifndef PINFS_UPLOAD_H
#define PINFS_UPLOAD_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* video_wait_s: how long a video's processing is waited for (-o video_wait). */
int upload_init(double video_wait_s);
void upload_cleanup(void);

/* How long a video's processing is waited for when -o video_wait does not say. */
#define UPLOAD_VIDEO_WAIT_S 600

/* The largest picture upload_pin sends. Pinterest publishes no size limit for an image_base64
 * upload (NOTES.md); 64 MiB is past any photo a camera or phone makes, and bounds what one cp
 * sends (85 MiB of base64). */
#define UPLOAD_MAX_BYTES (64L << 20)

/* The largest file of any kind that can become a pin: Pinterest takes videos up to 2 GB.
 * A write past it is refused (EFBIG) before the bytes are staged. */
#define UPLOAD_MAX_FILE_BYTES (2LL << 30)

/* "image/jpeg" or "image/png" for a whole JPEG or PNG file at path, "video/mp4" or
 * "video/quicktime" for a video; -EMEDIUMTYPE for anything else (empty, a truncated picture,
 * another type), -EFBIG over UPLOAD_MAX_BYTES (a picture) or UPLOAD_MAX_FILE_BYTES, -errno
 * when it cannot be read. Reads the file's start and end only. */
int upload_check(const char *path, const char **content_type);

/* Whether content_type (upload_check's) is a video's. */
bool upload_is_video(const char *content_type);

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
 * the pin is a picture's and the image URL pinfs shows for it is the "originals" one, the
 * staged bytes are in the image cache under that URL (cache_image_put_file), so its size and
 * bytes need no request. Returns 0 or -errno: -EMEDIUMTYPE, -EFBIG (over the limits above:
 * logged, nothing sent), -EINVAL (refused by Pinterest), -EAGAIN (rate limited past the
 * retries), -EIO (a video's upload or processing failed or timed out: logged). Never leaves
 * two pins for one call, nor a video pin without its video, and never sends a file twice.
 * When the answer to POST /pins is lost, a pin is taken for this upload only when it
 * certainly is: one pin on the board that u->known did not know, with this title and section,
 * made around the request, and the picture's size in pixels (a video: of media type video);
 * otherwise -EIO, and nothing is cached. */
int upload_pin(const struct upload *u, cJSON **pin);

#endif
