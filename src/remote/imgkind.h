/* What an image's bytes must look like.
 *
 * A CDN or a proxy may answer 200 with an error page, and a cut file keeps a plausible name:
 * bytes are only served, and cached, when they start as the image the URL names does. The
 * kind comes from the URL's extension; a URL without one may hold any of the five.
 *
 * Pure but for img_head_check's pread: no state, no locks, any thread. Strings passed in are
 * only read.
 */
#ifndef PINFS_IMGKIND_H
#define PINFS_IMGKIND_H

#include <stdbool.h>
#include <stddef.h>

/* IMG_VIDEO: an MP4 or QuickTime video (a video pin's file, a carousel's video item). */
enum img_kind { IMG_ANY, IMG_JPEG, IMG_PNG, IMG_GIF, IMG_WEBP, IMG_VIDEO };

/* The kind url's extension names (before any query or fragment), or IMG_ANY. */
enum img_kind img_kind_of_url(const char *url);

/* Judges the first bytes of the file on fd as kind: 1 an image of that kind, 0 not (then
 * why[len], when why is given, says so for a log line, with no control bytes), -1 too few
 * bytes to tell yet; at the end of the file (done), too few is not. */
int img_head_check(int fd, enum img_kind kind, bool done, char *why, size_t len);

#endif
