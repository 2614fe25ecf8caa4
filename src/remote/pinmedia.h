/* A pin's "media" as pinfs shows it: which URL is the pin's main file, which files show
 * beside it, and the facts of its kind that its sidecar shows. API v5 answers five kinds
 * (PinMedia in the spec): image, video, multiple_images, multiple_videos, multiple_mixed.
 *
 *  - image: the main file is the image of the preferred size (see pinmedia_pick_image).
 *  - video: the main file is the video (video_url, "not available to all apps") and its cover
 *    image shows beside it; without a video_url the cover is the main file and the sidecar
 *    says why.
 *  - multiple_*: the first item is the main file, the others follow in order. An image item
 *    shows its image, a video item its video, or its cover without one.
 *
 * Pure: no I/O, no locks. Part of the API objects (api.h), apart for size.
 */
#ifndef PINFS_PINMEDIA_H
#define PINFS_PINMEDIA_H

#include <cjson/cJSON.h>

/* What pinmedia_read makes of a pin's media. The strings are the caller's, freed by
 * pinmedia_release; size_key points into the JSON read and lives as long as it. */
struct pinmedia {
	char *main_url;	 /* the main file's URL; NULL: the pin has no file but its sidecar */
	char *cover_url; /* where the main file is a video: its cover image, else NULL */
	/* The URLs of the files shown beside the main one, in order, each ended by '\n'; NULL
	 * for none. A video's cover, a carousel's items after the first. */
	char *parts;
	/* The facts of its kind, as one compact JSON object whose members the sidecar shows
	 * (video_url, duration, width, height; items); NULL for an image pin. */
	char *extra;
	const char *size_key; /* the size of the image shown ("originals", "1200x", ...) */
	int width, height;    /* of that image, or of the main video */
};

/* The image object of images to show: the preferred size (prefer, NULL for none) when there,
 * else "originals" (the uploaded image), else the widest. *key gets its size key. NULL when
 * images holds none with a URL. */
const cJSON *pinmedia_pick_image(const cJSON *images, const char *prefer, const char **key);

/* Reads media (a pin's "media", which may be NULL or of any shape) into *out. Returns 0, or
 * -ENOMEM (then *out holds nothing to release). A media_type pinfs does not know reads as
 * an image pin's: its images, if any. */
int pinmedia_read(const cJSON *media, const char *prefer, struct pinmedia *out);

void pinmedia_release(struct pinmedia *m);

/* The number of files shown beside the main one: the lines of parts. */
unsigned pinmedia_count(const char *parts);

/* The URL of part i (0 for the first beside the main file) of parts into buf (len bytes).
 * 0, or -ENOENT when there is no such part, -ENAMETOOLONG when buf is too small. */
int pinmedia_part(const char *parts, unsigned i, char *buf, size_t len);

#endif
