#include "upload.h"

#include "api.h"
#include "cache.h"
#include "log.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_UPLOAD (64L << 20) /* larger than any image Pinterest takes; bounds our memory */

/* libmagic handles are not thread-safe: one, behind a lock. */
static magic_t magic;
static pthread_mutex_t magic_lock = PTHREAD_MUTEX_INITIALIZER;

int upload_init(void)
{
	magic = magic_open(MAGIC_MIME_TYPE);
	if (!magic || magic_load(magic, NULL) != 0) {
		log_error("cannot load libmagic's database");
		return -EIO;
	}
	return 0;
}

void upload_cleanup(void)
{
	if (magic)
		magic_close(magic);
	magic = NULL;
}

static int read_all(const char *path, unsigned char **data, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), result = 0;
	ssize_t n;

	*data = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		result = -errno;
		goto out;
	}
	if (st.st_size > MAX_UPLOAD) {
		result = -EFBIG;
		goto out;
	}
	*data = malloc(st.st_size ? st.st_size : 1);
	if (!*data) {
		result = -ENOMEM;
		goto out;
	}
	n = read(fd, *data, st.st_size);
	if (n != st.st_size) {
		result = n < 0 ? -errno : -EIO;
		free(*data);
		*data = NULL;
		goto out;
	}
	*len = (size_t)n;
out:
	close(fd);
	return result;
}

/* A JPEG ends with the EOI marker FF D9 (some writers pad after it); a PNG with the IEND
 * chunk. libmagic reads only the start, so without this a cut-off file would pass. */
static bool whole_image(const unsigned char *d, size_t len, bool png)
{
	static const unsigned char iend[] = {0,	  0,   0,    0,	   'I',	 'E',
					     'N', 'D', 0xae, 0x42, 0x60, 0x82};

	if (png)
		return len >= 8 + sizeof(iend) &&
		       memcmp(d + len - sizeof(iend), iend, sizeof(iend)) == 0;
	for (size_t i = len; i >= 2 && len - i < 64; i--)
		if (d[i - 2] == 0xff && d[i - 1] == 0xd9)
			return true;
	return false;
}

static int check_bytes(const char *path, const unsigned char *d, size_t len, const char **type)
{
	const char *mime;
	bool png;

	if (len == 0) {
		log_warn("%s: empty file, not uploaded", path);
		return -EMEDIUMTYPE;
	}
	pthread_mutex_lock(&magic_lock);
	mime = magic_buffer(magic, d, len);
	png = mime && strcmp(mime, "image/png") == 0;
	*type = png ? "image/png" : mime && strcmp(mime, "image/jpeg") == 0 ? "image/jpeg" : NULL;
	if (!*type)
		log_warn("%s: %s is not JPEG or PNG, not uploaded", path,
			 mime ? mime : "unknown type");
	pthread_mutex_unlock(&magic_lock);
	if (!*type)
		return -EMEDIUMTYPE;
	if (!whole_image(d, len, png)) {
		log_warn("%s: truncated %s, not uploaded", path, png ? "PNG" : "JPEG");
		return -EMEDIUMTYPE;
	}
	return 0;
}

int upload_check(const char *path, const char **content_type)
{
	unsigned char *data;
	size_t len = 0;
	int result = read_all(path, &data, &len);

	if (!result)
		result = check_bytes(path, data, len, content_type);
	free(data);
	return result;
}

static char *base64(const unsigned char *d, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v =
		    d[i] << 16 | (i + 1 < len ? d[i + 1] << 8 : 0) | (i + 2 < len ? d[i + 2] : 0);

		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static cJSON *request_body(const struct upload *u, const char *type, char *data64)
{
	cJSON *body = cJSON_CreateObject(), *src;

	if (!body)
		return NULL;
	cJSON_AddStringToObject(body, "board_id", u->board_id);
	if (u->section_id)
		cJSON_AddStringToObject(body, "board_section_id", u->section_id);
	cJSON_AddStringToObject(body, "title", u->title);
	src = cJSON_AddObjectToObject(body, "media_source");
	if (!src) {
		cJSON_Delete(body);
		return NULL;
	}
	cJSON_AddStringToObject(src, "source_type", "image_base64");
	cJSON_AddStringToObject(src, "content_type", type);
	cJSON_AddStringToObject(src, "data", data64);
	return body;
}

struct find_new {
	const struct upload *u;
	cJSON *found;
};

static int match_new(const cJSON *it, void *ctx)
{
	struct find_new *f = ctx;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(it, "title");

	if (!cJSON_IsString(id) || !cJSON_IsString(title) ||
	    strcmp(title->valuestring, f->u->title))
		return 0;
	if (tree_has_pin(f->u->board_id, id->valuestring))
		return 0; /* a pin we knew before this upload */
	f->found = cJSON_Duplicate(it, true);
	return 1;
}

/* After an answer was lost, the pin may exist: look for a pin with this title that the
 * board did not have before. Returns it (caller deletes) or NULL. */
static cJSON *find_lost_pin(const struct upload *u)
{
	struct find_new f = {u, NULL};
	char path[128];

	snprintf(path, sizeof(path), "/boards/%s/pins", u->board_id);
	api_list(path, true, match_new, &f);
	return f.found;
}

/* The uploaded bytes are the pin's image as pinfs shows it when the URL it shows is the
 * "originals" one (-o image_size's default, or the only size the answer has): Pinterest serves
 * the uploaded file there. Cached at once under that URL, with its size, so the stat cp makes
 * after close costs no HEAD and reading the file back no GET. Another size is Pinterest's own
 * scaling, left to be downloaded. */
static void cache_uploaded(const cJSON *answer, const unsigned char *data, size_t len)
{
	struct pin *p = pin_from_json(answer, api_image_size());

	if (p && p->image_url && p->size_key && strcmp(p->size_key, "originals") == 0)
		cache_image_put(p->image_url, data, len);
	pin_free(p);
}

int upload_pin(const struct upload *u, cJSON **pin)
{
	unsigned char *data = NULL;
	char *data64 = NULL;
	cJSON *body = NULL;
	const char *type;
	size_t len = 0;
	int result;

	*pin = NULL;
	result = read_all(u->staging, &data, &len);
	if (!result)
		result = check_bytes(u->title, data, len, &type);
	if (result)
		goto out;
	data64 = base64(data, len);
	body = data64 ? request_body(u, type, data64) : NULL;
	if (!body) {
		result = -ENOMEM;
		goto out;
	}
	result = api_call("POST", "/pins", body, pin);
	if (result == -EIO || result == -ETIMEDOUT) {
		/* No answer, or a broken one: the pin may have been made all the same. */
		*pin = find_lost_pin(u);
		if (*pin) {
			log_info("upload of \"%s\": the answer was lost, the pin exists", u->title);
			result = 0;
		}
	}
	if (!result && !cJSON_IsObject(*pin))
		result = -EIO;
	if (!result)
		cache_uploaded(*pin, data, len);
out:
	if (result) {
		cJSON_Delete(*pin);
		*pin = NULL;
	}
	cJSON_Delete(body);
	free(data64);
	free(data);
	return result;
}
