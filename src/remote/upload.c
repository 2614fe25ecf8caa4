#include "upload.h"

#include "api.h"
#include "bg.h"
#include "cache.h"
#include "log.h"
#include "media.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <magic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* libmagic is shown the file's start: JPEG and PNG are known by their first bytes. */
#define HEAD_BYTES 65536
/* An end marker is looked for this near the end (some writers pad after a JPEG's EOI). */
#define TAIL_BYTES 128
/* File bytes base64-encoded at a time: a multiple of 3, so the pieces join with no padding. */
#define RAW_CHUNK 49152
#define B64_CHUNK (RAW_CHUNK / 3 * 4)
/* JPEG segments walked to find the frame header: real files have a dozen. */
#define MAX_SEGMENTS 100000
/* How far Pinterest's clock may be from ours when its created_at says when a pin was made. */
#define CLOCK_SKEW_S 600

/* libmagic handles are not thread-safe: one, behind a lock. */
static magic_t magic;
static pthread_mutex_t magic_lock = PTHREAD_MUTEX_INITIALIZER;
/* -o video_wait: set once before any thread starts. */
static double video_wait_s = UPLOAD_VIDEO_WAIT_S;

int upload_init(double wait_s)
{
	video_wait_s = wait_s > 0 ? wait_s : UPLOAD_VIDEO_WAIT_S;
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

/* Reads exactly len bytes at off. Returns 0, -EIO when the file ends first, or -errno. */
static int read_at(int fd, void *buf, size_t len, int64_t off)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (int64_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The start and the end of a staged file: all its type and completeness checks need. */
struct ends {
	unsigned char head[HEAD_BYTES], tail[TAIL_BYTES];
	size_t head_len, tail_len;
};

static int read_ends(int fd, int64_t size, struct ends *e)
{
	int result;

	e->head_len = size < HEAD_BYTES ? (size_t)size : HEAD_BYTES;
	e->tail_len = size < TAIL_BYTES ? (size_t)size : TAIL_BYTES;
	result = read_at(fd, e->head, e->head_len, 0);
	if (!result)
		result = read_at(fd, e->tail, e->tail_len, size - (int64_t)e->tail_len);
	return result;
}

/* A JPEG ends with the EOI marker FF D9 (some writers pad after it); a PNG with the IEND
 * chunk. libmagic reads only the start, so without this a cut-off file would pass. t holds
 * the file's last len bytes. */
static bool whole_image(const unsigned char *t, size_t len, int64_t size, bool png)
{
	static const unsigned char iend[] = {0,	  0,   0,    0,	   'I',	 'E',
					     'N', 'D', 0xae, 0x42, 0x60, 0x82};

	if (png)
		return size >= 8 + (int64_t)sizeof(iend) && len >= sizeof(iend) &&
		       memcmp(t + len - sizeof(iend), iend, sizeof(iend)) == 0;
	for (size_t i = len; i >= 2 && len - i < 64; i--)
		if (t[i - 2] == 0xff && t[i - 1] == 0xd9)
			return true;
	return false;
}

bool upload_is_video(const char *content_type)
{
	return content_type && strncmp(content_type, "video/", 6) == 0;
}

/* What pinfs uploads of libmagic's type, as the content type it sends; NULL for the rest. */
static const char *upload_type(const char *mime)
{
	static const char *const types[][2] = {
	    {"image/jpeg", "image/jpeg"},
	    {"image/png", "image/png"},
	    {"video/mp4", "video/mp4"},
	    {"video/x-m4v", "video/mp4"}, /* an MP4 with Apple's brand */
	    {"video/quicktime", "video/quicktime"},
	};

	for (size_t i = 0; mime && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(mime, types[i][0]) == 0)
			return types[i][1];
	return NULL;
}

static int check_bytes(const char *name, const struct ends *e, int64_t size, const char **type)
{
	const char *mime;
	bool png;

	if (size == 0) {
		log_warn("%s: empty file, not uploaded", name);
		return -EMEDIUMTYPE;
	}
	pthread_mutex_lock(&magic_lock);
	mime = magic_buffer(magic, e->head, e->head_len);
	*type = upload_type(mime);
	if (!*type)
		log_warn("%s: %s is not JPEG, PNG, MP4 or QuickTime, not uploaded", name,
			 mime ? mime : "unknown type");
	pthread_mutex_unlock(&magic_lock);
	if (!*type)
		return -EMEDIUMTYPE;
	/* A video's boxes were walked to its end before its close committed it (commit.c). */
	if (upload_is_video(*type))
		return 0;
	png = strcmp(*type, "image/png") == 0;
	if (!whole_image(e->tail, e->tail_len, size, png)) {
		log_warn("%s: truncated %s, not uploaded", name, png ? "PNG" : "JPEG");
		return -EMEDIUMTYPE;
	}
	return 0;
}

/* Opens the staged file at path and checks it: a whole JPEG or PNG by its start and end, or a
 * video, within its kind's limit (before any request is made). On success *fd is the caller's
 * to close; name is what log lines call the file. Returns 0 or -errno, logged once. */
static int open_checked(const char *path, const char *name, int *fd, int64_t *size,
			const char **type)
{
	struct ends *e = NULL;
	struct stat st;
	int result = 0;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (fstat(*fd, &st) < 0) {
		result = -errno;
		goto out;
	}
	*size = st.st_size;
	if (st.st_size > UPLOAD_MAX_FILE_BYTES) {
		log_warn("%s: %" PRId64 " bytes, over the 2 GiB a pin can hold; not uploaded", name,
			 (int64_t)st.st_size);
		result = -EFBIG;
		goto out;
	}
	e = malloc(sizeof(*e));
	result = e ? read_ends(*fd, st.st_size, e) : -ENOMEM;
	if (!result)
		result = check_bytes(name, e, st.st_size, type);
	if (!result && !upload_is_video(*type) && st.st_size > UPLOAD_MAX_BYTES) {
		log_warn("%s: %" PRId64 " bytes, over the %ld MiB pinfs uploads; not uploaded",
			 name, (int64_t)st.st_size, UPLOAD_MAX_BYTES >> 20);
		result = -EFBIG;
	}
out:
	free(e);
	if (result) {
		close(*fd);
		*fd = -1;
	}
	return result;
}

int upload_check(const char *path, const char **content_type)
{
	int64_t size;
	int fd, result = open_checked(path, path, &fd, &size, content_type);

	if (!result)
		close(fd);
	return result;
}

/* ---- the body of POST /pins, made while it is sent ---- */

static size_t base64_into(const unsigned char *d, size_t len, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = out;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v =
		    d[i] << 16 | (i + 1 < len ? d[i + 1] << 8 : 0) | (i + 2 < len ? d[i + 2] : 0);

		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	return (size_t)(o - out);
}

/* The body of POST /pins with an empty media_source, *src, for the caller to fill. */
static cJSON *pin_body(const struct upload *u, cJSON **src)
{
	cJSON *body = cJSON_CreateObject();

	if (!body)
		return NULL;
	cJSON_AddStringToObject(body, "board_id", u->board_id);
	if (u->section_id)
		cJSON_AddStringToObject(body, "board_section_id", u->section_id);
	cJSON_AddStringToObject(body, "title", u->title);
	if (u->description)
		cJSON_AddStringToObject(body, "description", u->description);
	if (u->link)
		cJSON_AddStringToObject(body, "link", u->link);
	if (u->alt_text)
		cJSON_AddStringToObject(body, "alt_text", u->alt_text);
	*src = cJSON_AddObjectToObject(body, "media_source");
	if (!*src) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static cJSON *request_body(const struct upload *u, const char *type, const char *data64)
{
	cJSON *src, *body = pin_body(u, &src);

	if (!body)
		return NULL;
	cJSON_AddStringToObject(src, "source_type", "image_base64");
	cJSON_AddStringToObject(src, "content_type", type);
	cJSON_AddStringToObject(src, "data", data64);
	return body;
}

/* The JSON body, in three pieces: the text up to the opening quote of "data" (cJSON escapes
 * the titles and texts in it), the file as base64, and SUFFIX. */
#define SUFFIX "\"}}"

enum piece { P_PREFIX, P_DATA, P_SUFFIX, P_END };

struct body {
	char *prefix;
	size_t prefix_len, len; /* len: of the whole body */
	int fd;
	int64_t size, off; /* the file's size, and its next byte to encode */
	enum piece next;
	const char *cur; /* the piece being given out */
	size_t cur_len, cur_pos;
	unsigned char raw[RAW_CHUNK];
	char enc[B64_CHUNK];
};

/* Prints the body with an empty "data" and cuts it there. Returns 0 or -errno. */
static int body_prefix(struct body *b, const struct upload *u, const char *type)
{
	static const char tail[] = "\"data\":\"\"}}";
	cJSON *j = request_body(u, type, "");
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	size_t n = text ? strlen(text) : 0;

	cJSON_Delete(j);
	if (!text)
		return -ENOMEM;
	/* "data" is the last member of the last member: nothing follows its value but SUFFIX. */
	if (n < sizeof(tail) - 1 || strcmp(text + n - (sizeof(tail) - 1), tail) != 0) {
		free(text);
		log_warn("upload of \"%s\": unexpected request text", u->title);
		return -EIO;
	}
	b->prefix = text;
	b->prefix_len = n - strlen(SUFFIX);
	return 0;
}

static int body_rewind(void *ctx)
{
	struct body *b = ctx;

	b->next = P_PREFIX;
	b->off = 0;
	b->cur_len = b->cur_pos = 0;
	return 0;
}

static void set_piece(struct body *b, const char *text, size_t len, enum piece next)
{
	b->cur = text;
	b->cur_len = len;
	b->cur_pos = 0;
	b->next = next;
}

/* Makes the next piece current; cur_len 0 at the end. Returns 0 or -errno. */
static int body_next_piece(struct body *b)
{
	size_t n;
	int rc;

	if (b->next == P_DATA && b->off >= b->size)
		b->next = P_SUFFIX;
	switch (b->next) {
	case P_PREFIX:
		set_piece(b, b->prefix, b->prefix_len, P_DATA);
		return 0;
	case P_DATA:
		n = b->size - b->off < RAW_CHUNK ? (size_t)(b->size - b->off) : RAW_CHUNK;
		rc = read_at(b->fd, b->raw, n, b->off);
		if (rc)
			return rc;
		b->off += (int64_t)n;
		set_piece(b, b->enc, base64_into(b->raw, n, b->enc), P_DATA);
		return 0;
	case P_SUFFIX:
		set_piece(b, SUFFIX, strlen(SUFFIX), P_END);
		return 0;
	default:
		set_piece(b, "", 0, P_END);
		return 0;
	}
}

static ssize_t body_read(void *ctx, char *buf, size_t size)
{
	struct body *b = ctx;
	size_t done = 0;

	while (done < size) {
		size_t n;

		if (b->cur_pos == b->cur_len) {
			int rc = body_next_piece(b);

			if (rc)
				return rc;
			if (b->cur_len == 0)
				break;
		}
		n = b->cur_len - b->cur_pos < size - done ? b->cur_len - b->cur_pos : size - done;
		memcpy(buf + done, b->cur + b->cur_pos, n);
		b->cur_pos += n;
		done += n;
	}
	return (ssize_t)done;
}

/* The body of POST /pins for the file fd of size bytes. Caller frees with body_free. */
static int body_new(const struct upload *u, const char *type, int fd, int64_t size,
		    struct body **out)
{
	struct body *b = calloc(1, sizeof(*b));
	int result = b ? body_prefix(b, u, type) : -ENOMEM;

	if (result) {
		free(b);
		return result;
	}
	b->fd = fd;
	b->size = size;
	b->len = b->prefix_len + (size_t)(size + 2) / 3 * 4 + strlen(SUFFIX);
	body_rewind(b);
	*out = b;
	return 0;
}

static void body_free(struct body *b)
{
	if (b)
		free(b->prefix);
	free(b);
}

/* ---- an answer lost on the way ---- */

static uint32_t be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
	return be16(p) << 16 | be16(p + 2);
}

/* A JPEG's size in pixels, from its frame header (SOF0..SOF15 but DHT, JPG and DAC): the
 * segments before it (EXIF, ICC profiles, comments) are stepped over, never read whole. */
static int jpeg_dims(int fd, int64_t size, int *w, int *h)
{
	int64_t off = 2;

	for (int n = 0; n < MAX_SEGMENTS && off + 9 <= size; n++) {
		unsigned char m[9];
		unsigned marker;

		if (read_at(fd, m, sizeof(m), off) || m[0] != 0xff)
			return -1;
		marker = m[1];
		if (marker == 0xff) { /* fill byte */
			off++;
			continue;
		}
		if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) { /* no length */
			off += 2;
			continue;
		}
		if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
		    marker != 0xcc) {
			*h = (int)be16(m + 5);
			*w = (int)be16(m + 7);
			return 0;
		}
		if (marker == 0xda || marker == 0xd9 || be16(m + 2) < 2)
			return -1; /* a scan or the end before any frame header */
		off += 2 + be16(m + 2);
	}
	return -1;
}

/* The staged image's size in pixels, from its header. Returns 0, or -1 when it cannot say. */
static int image_dims(int fd, int64_t size, bool png, int *w, int *h)
{
	unsigned char ihdr[24];

	*w = *h = 0;
	if (!png)
		return jpeg_dims(fd, size, w, h);
	if (read_at(fd, ihdr, sizeof(ihdr), 0) || memcmp(ihdr + 12, "IHDR", 4) != 0 ||
	    be32(ihdr + 16) > INT32_MAX || be32(ihdr + 20) > INT32_MAX)
		return -1;
	*w = (int)be32(ihdr + 16);
	*h = (int)be32(ihdr + 20);
	return 0;
}

/* What makes a pin on the board certainly the one this upload made. */
struct find_new {
	const struct upload *u;
	bool video;	     /* a video pin is looked for, else a picture's of width x height */
	int width, height;   /* of the staged image */
	time_t since, until; /* when it may have been made, by Pinterest's clock */
	cJSON *found;	     /* the first that fits */
	int fits;	     /* how many fit: more than one is no certainty */
};

static bool same_text(const char *a, const char *b)
{
	return (!a || !*a) ? (!b || !*b) : b && strcmp(a, b) == 0;
}

/* The uploaded file as Pinterest keeps it: a video pin, or a picture of the same size in
 * pixels (turned a quarter when Pinterest applied an EXIF orientation). */
static bool same_media(const struct find_new *f, const struct pin *p)
{
	if (f->video)
		return p->media_type && strcmp(p->media_type, "video") == 0;
	return p->size_key && strcmp(p->size_key, "originals") == 0 &&
	       ((p->width == f->width && p->height == f->height) ||
		(p->width == f->height && p->height == f->width));
}

static int match_new(const cJSON *it, void *ctx)
{
	struct find_new *f = ctx;
	struct pin *p = pin_from_json(it, "originals");
	bool fits = p && p->title && strcmp(p->title, f->u->title) == 0 &&
		    same_text(f->u->section_id, p->section_id) &&
		    /* a pin we knew before this upload is someone else's */
		    !(f->u->known && f->u->known(f->u->board_id, p->id)) && same_media(f, p) &&
		    p->created >= f->since && p->created <= f->until;

	pin_free(p);
	if (fits && f->fits++ == 0)
		f->found = cJSON_Duplicate(it, true);
	return 0;
}

/* After an answer to POST /pins sent at `sent` was lost, the pin may exist: looks for a pin
 * on the board that this pinfs did not know, with this upload's title and section, made
 * around the time it was sent, of its media (f's video, width and height). Only a single such
 * pin is taken: anything less certain would show another's pin as this file. Returns it
 * (caller deletes) or NULL, logged. */
static cJSON *find_lost_pin(struct find_new *f, time_t sent)
{
	const struct upload *u = f->u;
	char path[128];
	int rc;

	f->since = sent - CLOCK_SKEW_S;
	f->until = time(NULL) + CLOCK_SKEW_S;
	snprintf(path, sizeof(path), "/boards/%s/pins", u->board_id);
	rc = api_list(path, true, match_new, f);
	if (rc || f->fits != 1) {
		/* The answer's loss was logged already (and a failed listing by api_list); which
		 * way the look ended is detail, unless it found more than one. */
		if (!rc)
			log_msg(f->fits > 1 ? LOG_LVL_WARN : LOG_LVL_INFO,
				"upload of \"%s\": the answer was lost, and %d new pins fit it",
				u->title, f->fits);
		cJSON_Delete(f->found);
		return NULL;
	}
	log_info("upload of \"%s\": the answer was lost, the pin exists", u->title);
	return f->found;
}

/* find_lost_pin for a picture: its size in pixels from the staged file's header. */
static cJSON *find_lost_picture(const struct upload *u, int fd, int64_t size, bool png, time_t sent)
{
	struct find_new f = {.u = u};

	if (image_dims(fd, size, png, &f.width, &f.height) < 0) {
		log_warn("upload of \"%s\": the answer was lost, and without the picture's size "
			 "in pixels its pin cannot be told from others",
			 u->title);
		return NULL;
	}
	return find_lost_pin(&f, sent);
}

/* The uploaded bytes are the pin's image as pinfs shows it when the URL it shows is the
 * "originals" one (-o image_size's default, or the only size the answer has): Pinterest serves
 * the uploaded file there. Cached at once under that URL, with its size, so the stat cp makes
 * after close costs no HEAD and reading the file back no GET. Another size is Pinterest's own
 * scaling, left to be downloaded. */
static void cache_uploaded(const cJSON *answer, int fd, int64_t size)
{
	struct pin *p = pin_from_json(answer, api_image_size());

	if (p && p->image_url && p->size_key && strcmp(p->size_key, "originals") == 0)
		cache_image_put_file(p->image_url, fd, size);
	pin_free(p);
}

/* A picture's pin: POST /pins with the file as image_base64, encoded while it is sent. */
static int upload_picture(const struct upload *u, int fd, int64_t size, const char *type,
			  cJSON **pin)
{
	struct body *b = NULL;
	time_t sent;
	int result = body_new(u, type, fd, size, &b);

	if (result)
		return result;
	struct api_stream s = {.len = b->len, .read = body_read, .rewind = body_rewind, .ctx = b};

	sent = time(NULL);
	result = api_call_stream("POST", "/pins", &s, pin);
	if (result == -EIO || result == -ETIMEDOUT) {
		/* No answer, or a broken one: the pin may have been made all the same. */
		*pin = find_lost_picture(u, fd, size, strcmp(type, "image/png") == 0, sent);
		result = *pin ? 0 : -EIO;
	}
	if (!result && cJSON_IsObject(*pin))
		cache_uploaded(*pin, fd, size);
	body_free(b);
	return result;
}

/* POST /pins of a processed video, its cover the first frame. A lost answer is looked for as
 * a picture's is, among the board's video pins. */
static int post_video_pin(const struct upload *u, const char *media_id, cJSON **pin)
{
	cJSON *src = NULL, *body = pin_body(u, &src);
	time_t sent;
	int result;

	if (!body || !cJSON_AddStringToObject(src, "source_type", "video_id") ||
	    !cJSON_AddStringToObject(src, "media_id", media_id) ||
	    !cJSON_AddNumberToObject(src, "cover_image_key_frame_time", 0)) {
		cJSON_Delete(body);
		return -ENOMEM;
	}
	sent = time(NULL);
	result = api_call("POST", "/pins", body, pin);
	cJSON_Delete(body);
	if (result == -EIO) {
		struct find_new f = {.u = u, .video = true};

		*pin = find_lost_pin(&f, sent);
		result = *pin ? 0 : -EIO;
	}
	return result;
}

/* A video's pin: its upload registered, the file sent to Pinterest's storage once, its
 * processing waited for (media.h), then POST /pins with its media_id. Each step's failure is
 * logged where it happens; no pin is made without its video. */
static int video_steps(const struct upload *u, int fd, int64_t size, const char *type, cJSON **pin)
{
	struct media_file f = {.fd = fd, .size = size, .content_type = type, .name = u->title};
	bool lost = false, arrived = false;
	struct media m;
	int sent, result = media_register(u->title, &m);

	if (result)
		return result;
	stats_media(STATS_MEDIA_REGISTERED, 0);
	result = sent = media_upload(&m, &f, &lost);
	/* A lost answer: only Pinterest can say whether the file arrived, and it is never sent
	 * again. */
	if (!result || lost)
		result = media_wait(&m, video_wait_s, lost, u->title, &arrived);
	if (!sent || arrived)
		stats_media(STATS_MEDIA_UPLOADED, size);
	stats_media(result ? STATS_MEDIA_FAILED : STATS_MEDIA_READY, 0);
	if (!result)
		result = post_video_pin(u, m.id, pin);
	if (!result && cJSON_IsObject(*pin))
		log_info("upload of \"%s\": video pin %s made", u->title,
			 cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*pin, "id"))
			     ? cJSON_GetObjectItemCaseSensitive(*pin, "id")->valuestring
			     : "?");
	media_release(&m);
	return result;
}

/* Puts the staged file's bytes on the disk (arg: its descriptor). The per-pin store keeps the
 * file once the pin is made (pinstore_put), and its fsync of up to 2 GiB would otherwise come
 * after the last answer, before the close returns: beside the upload and the polls it costs
 * no time. Its result does not matter: the store's own fsync still decides. */
static void sync_staged(void *arg)
{
	fdatasync(*(const int *)arg);
}

static int upload_video(const struct upload *u, int fd, int64_t size, const char *type, cJSON **pin)
{
	struct bg_beside sync;
	int result;

	bg_beside(&sync, sync_staged, &fd);
	result = video_steps(u, fd, size, type, pin);
	bg_join(&sync);
	return result;
}

int upload_pin(const struct upload *u, cJSON **pin)
{
	const char *type = NULL;
	int64_t size = 0;
	int fd = -1, result;

	*pin = NULL;
	result = open_checked(u->staging, u->title, &fd, &size, &type);
	if (!result)
		result = upload_is_video(type) ? upload_video(u, fd, size, type, pin)
					       : upload_picture(u, fd, size, type, pin);
	if (!result && !cJSON_IsObject(*pin))
		result = -EIO;
	if (result) {
		cJSON_Delete(*pin);
		*pin = NULL;
	}
	if (fd >= 0)
		close(fd);
	return result;
}
