/* A pin's media read into what pinfs shows: see pinmedia.h. */
#include "pinmedia.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The note a video pin's sidecar carries when the API gives no video. */
#define NO_VIDEO_NOTE                                                                              \
	"Pinterest gives this app no video_url for this pin (it is not available to all "          \
	"apps): its cover image is the pin's file"

static const char *str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A URL fit to be a line of parts: not empty, no line break in it. */
static const char *url_of(const cJSON *j, const char *key)
{
	const char *u = str(j, key);

	return u && u[0] && !strpbrk(u, "\r\n") ? u : NULL;
}

static int dim(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	/* Bounded: a number beyond an int (1e300 from a broken server) would overflow. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= INT_MAX))
		return 0;
	return (int)v->valuedouble;
}

static const cJSON *image_of(const cJSON *images, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(images, key);

	return cJSON_IsObject(it) && url_of(it, "url") ? it : NULL;
}

const cJSON *pinmedia_pick_image(const cJSON *images, const char *prefer, const char **key)
{
	const cJSON *best = NULL, *it;
	long best_w = -1;

	*key = NULL;
	if (!cJSON_IsObject(images))
		return NULL;
	best = prefer ? image_of(images, prefer) : NULL;
	if (!best)
		best = image_of(images, "originals");
	if (!best) {
		cJSON_ArrayForEach(it, images)
		{
			/* This member itself: a repeated key may hide one without a URL. */
			if (cJSON_IsObject(it) && url_of(it, "url") && dim(it, "width") > best_w) {
				best = it;
				best_w = dim(it, "width");
			}
		}
	}
	*key = best ? best->string : NULL;
	return best;
}

/* Copies a member of from into to as it is, or as null where from lacks it. */
static bool copy_member(cJSON *to, const cJSON *from, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
	cJSON *c = v && !cJSON_IsInvalid(v) ? cJSON_Duplicate(v, true) : cJSON_CreateNull();

	return c && cJSON_AddItemToObject(to, key, c);
}

static bool add_string_or_null(cJSON *to, const char *key, const char *value)
{
	return value ? cJSON_AddStringToObject(to, key, value) != NULL
		     : cJSON_AddNullToObject(to, key) != NULL;
}

/* Appends url and a line break to *lines (a string the caller frees). */
static bool add_line(char **lines, const char *url)
{
	size_t have = *lines ? strlen(*lines) : 0, n = strlen(url);
	char *p = realloc(*lines, have + n + 2);

	if (!p)
		return false;
	memcpy(p + have, url, n);
	p[have + n] = '\n';
	p[have + n + 1] = '\0';
	*lines = p;
	return true;
}

static char *print_extra(cJSON *extra)
{
	char *text = extra ? cJSON_PrintUnformatted(extra) : NULL;

	cJSON_Delete(extra);
	return text;
}

/* A video pin: its video the main file and its cover beside it, or its cover alone. */
static int read_video(const cJSON *media, const char *prefer, struct pinmedia *out)
{
	const cJSON *img = pinmedia_pick_image(cJSON_GetObjectItemCaseSensitive(media, "images"),
					       prefer, &out->size_key);
	const char *cover = img ? url_of(img, "url") : url_of(media, "cover_image_url");
	const char *video = url_of(media, "video_url");
	cJSON *extra = cJSON_CreateObject();
	bool ok = extra && add_string_or_null(extra, "video_url", video);

	ok = ok && copy_member(extra, media, "duration") && copy_member(extra, media, "width") &&
	     copy_member(extra, media, "height");
	if (ok && !video)
		ok = cJSON_AddStringToObject(extra, "no_video", NO_VIDEO_NOTE) != NULL;
	out->width = img ? dim(img, "width") : dim(media, "width");
	out->height = img ? dim(img, "height") : dim(media, "height");
	if (ok && video) {
		out->main_url = strdup(video);
		ok = out->main_url &&
		     (!cover || ((out->cover_url = strdup(cover)) && add_line(&out->parts, cover)));
	} else if (ok && cover) {
		ok = (out->main_url = strdup(cover)) != NULL;
	}
	out->extra = ok ? print_extra(extra) : (cJSON_Delete(extra), NULL);
	return ok && out->extra ? 0 : -ENOMEM;
}

/* Whether a carousel's item is a video: its item_type says so, or, without one, its fields. */
static bool item_is_video(const cJSON *item)
{
	const char *type = str(item, "item_type");

	if (type)
		return strcmp(type, "video") == 0;
	return !cJSON_GetObjectItemCaseSensitive(item, "images") &&
	       (str(item, "video_url") || str(item, "cover_image_url"));
}

/* One item of a carousel described for the sidecar, and the URL of its file (NULL: none). */
static cJSON *describe_item(const cJSON *item, const char *prefer, const char **url)
{
	cJSON *d = cJSON_CreateObject();
	bool video = item_is_video(item), ok;
	const cJSON *img = NULL;
	const char *key;

	ok = d && cJSON_AddStringToObject(d, "type", video ? "video" : "image") &&
	     copy_member(d, item, "title") && copy_member(d, item, "description") &&
	     copy_member(d, item, "link");
	if (video) {
		*url = url_of(item, "video_url") ? url_of(item, "video_url")
						 : url_of(item, "cover_image_url");
		ok = ok && copy_member(d, item, "video_url") &&
		     copy_member(d, item, "cover_image_url") && copy_member(d, item, "duration");
	} else {
		img = pinmedia_pick_image(cJSON_GetObjectItemCaseSensitive(item, "images"), prefer,
					  &key);
		*url = img ? url_of(img, "url") : NULL;
		ok = ok && add_string_or_null(d, "image_url", *url);
	}
	if (!ok) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

/* The first item shown: the main file, and the facts of its image or video. */
static bool take_first(const cJSON *item, const char *url, const char *prefer, struct pinmedia *out)
{
	const char *cover = url_of(item, "cover_image_url");
	const cJSON *img = NULL;

	out->main_url = strdup(url);
	if (!out->main_url)
		return false;
	if (!item_is_video(item))
		img = pinmedia_pick_image(cJSON_GetObjectItemCaseSensitive(item, "images"), prefer,
					  &out->size_key);
	out->width = dim(img ? img : item, "width");
	out->height = dim(img ? img : item, "height");
	/* A video item shown as its video: the sidecar's image is its cover. */
	if (item_is_video(item) && url_of(item, "video_url") && cover)
		return (out->cover_url = strdup(cover)) != NULL;
	return true;
}

/* A carousel (multiple_images, multiple_videos, multiple_mixed): its first item the main
 * file, the others beside it. */
static int read_items(const cJSON *media, const char *prefer, struct pinmedia *out)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(media, "items"), *item;
	cJSON *extra = cJSON_CreateObject(), *list = cJSON_CreateArray();
	bool ok = extra && list && cJSON_AddItemToObject(extra, "items", list);

	if (!ok)
		cJSON_Delete(list);
	if (!cJSON_IsArray(items))
		items = NULL;
	cJSON_ArrayForEach(item, items)
	{
		const char *url = NULL;
		cJSON *d;

		if (!ok || !cJSON_IsObject(item))
			continue; /* an item not an object has nothing to show */
		d = describe_item(item, prefer, &url);
		ok = d && cJSON_AddItemToArray(list, d);
		if (!ok || !url)
			continue;
		if (!out->main_url)
			ok = take_first(item, url, prefer, out);
		else
			ok = add_line(&out->parts, url);
	}
	out->extra = ok ? print_extra(extra) : (cJSON_Delete(extra), NULL);
	return ok && out->extra ? 0 : -ENOMEM;
}

static int read_image(const cJSON *media, const char *prefer, struct pinmedia *out)
{
	const cJSON *img = pinmedia_pick_image(cJSON_GetObjectItemCaseSensitive(media, "images"),
					       prefer, &out->size_key);

	if (!img)
		return 0;
	out->width = dim(img, "width");
	out->height = dim(img, "height");
	out->main_url = strdup(url_of(img, "url"));
	return out->main_url ? 0 : -ENOMEM;
}

int pinmedia_read(const cJSON *media, const char *prefer, struct pinmedia *out)
{
	const char *type = str(media, "media_type");
	int result;

	memset(out, 0, sizeof(*out));
	if (type && strcmp(type, "video") == 0)
		result = read_video(media, prefer, out);
	else if (type && strncmp(type, "multiple_", 9) == 0)
		result = read_items(media, prefer, out);
	else
		result = read_image(media, prefer, out);
	if (result)
		pinmedia_release(out);
	return result;
}

void pinmedia_release(struct pinmedia *m)
{
	free(m->main_url);
	free(m->cover_url);
	free(m->parts);
	free(m->extra);
	memset(m, 0, sizeof(*m));
}

unsigned pinmedia_count(const char *parts)
{
	unsigned n = 0;

	for (const char *p = parts; p && (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

int pinmedia_part(const char *parts, unsigned i, char *buf, size_t len)
{
	const char *p = parts, *end;

	for (; p && *p && i > 0; i--) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p || !*p || !(end = strchr(p, '\n')))
		return -ENOENT;
	if ((size_t)(end - p) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return 0;
}
