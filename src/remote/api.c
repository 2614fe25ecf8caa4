#include "api.h"

#include "http.h"
#include "jarena.h"
#include "log.h"
#include "oauth.h"
#include "pinmedia.h"
#include "strpack.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGITS_(n) #n
#define DIGITS(n)  DIGITS_(n)
#define PAGE_SIZE  DIGITS(API_PAGE_SIZE)
#define MAX_PAGES  100000 /* a bookmark chain longer than this is a broken server */

static char *base_url;
static char *image_size;

/* ---- objects ---- */

static const char *str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long num(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	/* No count or size comes near 2^31; a number beyond (1e300 from a broken server) would
	 * overflow the conversion, which C leaves undefined. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= INT_MIN && v->valuedouble <= INT_MAX))
		return 0;
	return (long)v->valuedouble;
}

time_t api_parse_time(const char *s)
{
	struct tm tm = {0};
	const char *rest;

	if (!s)
		return 0;
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return 0;
	/* Live answers omit the zone and mean UTC; a fraction or "Z" changes nothing here. An
	 * explicit offset is applied. */
	time_t t = timegm(&tm);

	while (*rest == '.' || (*rest >= '0' && *rest <= '9'))
		rest++;
	if ((rest[0] == '+' || rest[0] == '-') && strlen(rest) >= 5) {
		int hh = (rest[1] - '0') * 10 + (rest[2] - '0');
		int mm = (rest[strlen(rest) - 2] - '0') * 10 + (rest[strlen(rest) - 1] - '0');
		int off = hh * 3600 + mm * 60;

		t += rest[0] == '+' ? -off : off;
	}
	return t;
}

struct pin *pin_from_json(const cJSON *j, const char *prefer)
{
	const cJSON *media = cJSON_GetObjectItemCaseSensitive(j, "media");
	struct pinmedia m;
	struct pin *p;

	if (!str(j, "id") || pinmedia_read(media, prefer, &m))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		pinmedia_release(&m);
		return NULL;
	}
	const char *in[] = {
	    str(j, "id"),
	    str(j, "board_id"),
	    str(j, "board_section_id"),
	    str(j, "title"),
	    str(j, "description"),
	    str(j, "link"),
	    str(j, "alt_text"),
	    str(j, "dominant_color"),
	    str(j, "creative_type"),
	    str(media, "media_type"),
	    str(j, "created_at"),
	    m.main_url,
	    m.size_key,
	    m.cover_url,
	    m.parts,
	    m.extra,
	};
	char **out[] = {
	    &p->id,	    &p->board_id,  &p->section_id,     &p->title,	  &p->description,
	    &p->link,	    &p->alt_text,  &p->dominant_color, &p->creative_type, &p->media_type,
	    &p->created_at, &p->image_url, &p->size_key,       &p->cover_url,	  &p->parts,
	    &p->media_info,
	};
	char *tmp[sizeof(in) / sizeof(in[0])];

	p->block_ = strpack(in, tmp, sizeof(in) / sizeof(in[0]));
	p->width = m.width;
	p->height = m.height;
	pinmedia_release(&m);
	if (!p->block_) {
		free(p);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		*out[i] = tmp[i];
	p->created = api_parse_time(p->created_at);
	return p;
}

void pin_free(struct pin *p)
{
	if (!p)
		return;
	free(p->block_);
	free(p);
}

/* ---- packed pins ---- */

/* The strings of a record, in this order: the ones the tree reads most come first (a field's
 * look-up walks those before it). */
enum pr_str {
	PR_ID,
	PR_TITLE,
	PR_SECTION_ID,
	PR_IMAGE_URL,
	PR_DESCRIPTION,
	PR_LINK,
	PR_ALT_TEXT,
	PR_DOMINANT_COLOR,
	PR_BOARD_ID,	  /* when not the listing board's */
	PR_CREATED_AT,	  /* when not `created` printed again */
	PR_CREATIVE_TYPE, /* these three when not in their table */
	PR_MEDIA_TYPE,
	PR_SIZE_KEY,
	PR_COVER_URL, /* these three for a video's or a carousel's pin only */
	PR_PARTS,
	PR_MEDIA_INFO,
	PR_NSTR
};

#define PR_SAME_BOARD	0x1 /* board_id is the listing board's */
#define PR_MADE_CREATED 0x2 /* created_at is `created` printed as TIME_FORMAT */
#define TIME_FORMAT	"%Y-%m-%dT%H:%M:%S"

struct pinrec {
	int64_t created;
	int32_t width, height;
	uint16_t has;	 /* bit i: string i is in s */
	uint8_t code[3]; /* creative_type, media_type, size_key: 1 + index in coded[], or 0 */
	uint8_t flags;
	char s[];
};

/* Values common enough to be worth a byte instead of a string, per coded field. */
static const char *const coded[3][9] = {
    {"REGULAR", "VIDEO", "SHOPPING", "CAROUSEL", "MAX_VIDEO", "SHOP_THE_PIN", "COLLECTION", "IDEA",
     NULL},
    {"image", "video", "multiple_images", "multiple_videos", "multiple_mixed", NULL},
    {"originals", "1200x", "600x", "400x300", "150x150", "236x", "474x", "736x", NULL},
};

static uint8_t code_of(int field, const char *value)
{
	for (int i = 0; value && coded[field][i]; i++)
		if (strcmp(coded[field][i], value) == 0)
			return (uint8_t)(i + 1);
	return 0;
}

/* created printed as the API prints it, into buf; "" when it cannot be. */
static void print_time(int64_t created, char *buf, size_t len)
{
	time_t t = (time_t)created;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, TIME_FORMAT, &tm))
		buf[0] = '\0';
}

struct pinrec *pinrec_pack(const struct pin *p, const char *board_id)
{
	const char *coded_in[3] = {p->creative_type, p->media_type, p->size_key};
	const char *in[PR_NSTR] = {
	    [PR_ID] = p->id,
	    [PR_TITLE] = p->title,
	    [PR_SECTION_ID] = p->section_id,
	    [PR_IMAGE_URL] = p->image_url,
	    [PR_DESCRIPTION] = p->description,
	    [PR_LINK] = p->link,
	    [PR_ALT_TEXT] = p->alt_text,
	    [PR_DOMINANT_COLOR] = p->dominant_color,
	    [PR_BOARD_ID] = p->board_id,
	    [PR_CREATED_AT] = p->created_at,
	    [PR_COVER_URL] = p->cover_url,
	    [PR_PARTS] = p->parts,
	    [PR_MEDIA_INFO] = p->media_info,
	};
	uint8_t code[3], flags = 0;
	char made[32];
	struct pinrec *r;

	if (p->board_id && board_id && strcmp(p->board_id, board_id) == 0) {
		in[PR_BOARD_ID] = NULL;
		flags |= PR_SAME_BOARD;
	}
	print_time(p->created, made, sizeof(made));
	if (p->created_at && strcmp(p->created_at, made) == 0) {
		in[PR_CREATED_AT] = NULL;
		flags |= PR_MADE_CREATED;
	}
	for (int i = 0; i < 3; i++) {
		code[i] = code_of(i, coded_in[i]);
		in[PR_CREATIVE_TYPE + i] = code[i] ? NULL : coded_in[i];
	}
	r = malloc(sizeof(*r) + strpack_size(in, PR_NSTR));
	if (!r)
		return NULL;
	r->created = p->created;
	r->width = p->width;
	r->height = p->height;
	r->has = (uint16_t)strpack_into(r->s, in, PR_NSTR);
	memcpy(r->code, code, sizeof(code));
	r->flags = flags;
	return r;
}

size_t pinrec_bytes(const struct pinrec *r)
{
	const char *s[PR_NSTR];
	size_t total = sizeof(*r);

	strunpack(r->s, r->has, s, PR_NSTR);
	for (int i = 0; i < PR_NSTR; i++)
		total += s[i] ? strlen(s[i]) + 1 : 0;
	return total;
}

struct pinrec *pinrec_dup(const struct pinrec *r)
{
	size_t len = pinrec_bytes(r);
	struct pinrec *copy = malloc(len);

	if (copy)
		memcpy(copy, r, len);
	return copy;
}

const char *pinrec_id(const struct pinrec *r)
{
	return strunpack_one(r->s, r->has, PR_ID);
}

const char *pinrec_title(const struct pinrec *r)
{
	return strunpack_one(r->s, r->has, PR_TITLE);
}

const char *pinrec_section_id(const struct pinrec *r)
{
	return strunpack_one(r->s, r->has, PR_SECTION_ID);
}

const char *pinrec_image_url(const struct pinrec *r)
{
	return strunpack_one(r->s, r->has, PR_IMAGE_URL);
}

const char *pinrec_parts(const struct pinrec *r)
{
	return strunpack_one(r->s, r->has, PR_PARTS);
}

unsigned pinrec_items(const struct pinrec *r)
{
	const char *parts = pinrec_parts(r);

	if (!parts || r->code[1] == 1 + 1 /* "video" in coded[1] */)
		return 0;
	return pinmedia_count(parts);
}

time_t pinrec_created(const struct pinrec *r)
{
	return (time_t)r->created;
}

void pinrec_view(const struct pinrec *r, const char *board_id, struct pin_view *v)
{
	const char *s[PR_NSTR];
	struct pin *p = &v->pin;

	strunpack(r->s, r->has, s, PR_NSTR);
	memset(v, 0, sizeof(*v));
	/* struct pin's strings are not const: a view is read, never written or freed. */
	p->id = (char *)s[PR_ID];
	p->title = (char *)s[PR_TITLE];
	p->section_id = (char *)s[PR_SECTION_ID];
	p->image_url = (char *)s[PR_IMAGE_URL];
	p->description = (char *)s[PR_DESCRIPTION];
	p->link = (char *)s[PR_LINK];
	p->alt_text = (char *)s[PR_ALT_TEXT];
	p->dominant_color = (char *)s[PR_DOMINANT_COLOR];
	p->cover_url = (char *)s[PR_COVER_URL];
	p->parts = (char *)s[PR_PARTS];
	p->media_info = (char *)s[PR_MEDIA_INFO];
	p->board_id = (char *)(r->flags & PR_SAME_BOARD ? board_id : s[PR_BOARD_ID]);
	if (r->flags & PR_MADE_CREATED) {
		print_time(r->created, v->created_at, sizeof(v->created_at));
		p->created_at = v->created_at;
	} else {
		p->created_at = (char *)s[PR_CREATED_AT];
	}
	char **coded_out[3] = {&p->creative_type, &p->media_type, &p->size_key};

	for (int i = 0; i < 3; i++)
		*coded_out[i] =
		    (char *)(r->code[i] ? coded[i][r->code[i] - 1] : s[PR_CREATIVE_TYPE + i]);
	p->created = (time_t)r->created;
	p->width = r->width;
	p->height = r->height;
}

struct board *board_from_json(const cJSON *j)
{
	const cJSON *owner = cJSON_GetObjectItemCaseSensitive(j, "owner");
	const cJSON *media = cJSON_GetObjectItemCaseSensitive(j, "media");
	struct board *b;

	if (!str(j, "id") || !str(j, "name"))
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	const char *in[] = {str(j, "id"),	    str(j, "name"),
			    str(j, "description"),  str(j, "privacy"),
			    str(j, "created_at"),   str(j, "board_pins_modified_at"),
			    str(owner, "username"), str(media, "image_cover_url")};
	char *tmp[sizeof(in) / sizeof(in[0])];

	b->block_ = strpack(in, tmp, sizeof(in) / sizeof(in[0]));
	if (!b->block_) {
		free(b);
		return NULL;
	}
	b->id = tmp[0], b->name = tmp[1], b->description = tmp[2], b->privacy = tmp[3];
	b->created_at = tmp[4], b->pins_modified_at = tmp[5], b->owner = tmp[6];
	b->cover_url = tmp[7];
	b->pin_count = num(j, "pin_count");
	b->follower_count = num(j, "follower_count");
	b->collaborator_count = num(j, "collaborator_count");
	b->section_count = num(j, "board_section_count"); /* not in every answer */
	b->created = api_parse_time(b->created_at);
	return b;
}

void board_free(struct board *b)
{
	if (!b)
		return;
	free(b->block_);
	free(b);
}

struct section *section_from_json(const cJSON *j)
{
	struct section *s;

	if (!str(j, "id") || !str(j, "name"))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	const char *in[] = {str(j, "id"), str(j, "name")};
	char *tmp[2];

	s->block_ = strpack(in, tmp, 2);
	if (!s->block_) {
		free(s);
		return NULL;
	}
	s->id = tmp[0], s->name = tmp[1];
	return s;
}

void section_free(struct section *s)
{
	if (!s)
		return;
	free(s->block_);
	free(s);
}

/* ---- calls ---- */

int api_init(const struct api_config *cfg)
{
	size_t len = strlen(cfg->base_url);

	base_url = strdup(cfg->base_url);
	image_size = cfg->image_size ? strdup(cfg->image_size) : NULL;
	if (!base_url || (cfg->image_size && !image_size))
		return -ENOMEM;
	while (len > 0 && base_url[len - 1] == '/')
		base_url[--len] = '\0';
	return 0;
}

void api_cleanup(void)
{
	free(base_url);
	free(image_size);
	base_url = image_size = NULL;
}

const char *api_image_size(void)
{
	return image_size;
}

int api_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
		return -EACCES;
	case 403:
		return -EPERM;
	case 404:
		return -ENOENT;
	case 409:
		return -EBUSY;
	case 413:
		return -EFBIG;
	case 429:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* Logs the API's own explanation of a failed call: one line, the message cut short. */
static void log_failure(const char *method, const char *path, const struct http_resp *r)
{
	cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *msg = str(j, "message");
	long code = num(j, "code");

	/* A 404 answers many ordinary look-ups; it is not worth a warning. */
	log_msg(r->status == 404 ? LOG_LVL_DEBUG : LOG_LVL_WARN,
		"%s %.200s: HTTP %ld%s%.300s (code %ld)", method, path, r->status, msg ? ": " : "",
		msg ? msg : "", code);
	cJSON_Delete(j);
}

static __thread bool last_retried; /* of this thread's last call: see api_last_retried */

bool api_last_retried(void)
{
	return last_retried;
}

/* The request of a call: payload (JSON, or NULL) as it is, or the body stream makes while it
 * is sent. A POST goes on a connection of its own and is sent again only when the server
 * surely did nothing. */
static struct http_req call_req(const char *method, const char *url, const char *bearer,
				const char *payload, const struct api_stream *stream)
{
	struct http_req req = {
	    .method = method,
	    .url = url,
	    .bearer = bearer,
	    .content_type = payload || stream ? "application/json" : NULL,
	    .body = payload,
	    .body_len = payload	 ? strlen(payload)
			: stream ? stream->len
				 : 0,
	    .read_body = stream ? stream->read : NULL,
	    .rewind_body = stream ? stream->rewind : NULL,
	    .body_ctx = stream ? stream->ctx : NULL,
	    .sink_fd = -1,
	    .retry = strcmp(method, "POST") == 0 ? HTTP_RETRY_NOT_DONE : HTTP_RETRY_SAFE,
	    .fresh = strcmp(method, "POST") == 0,
	};

	return req;
}

/* Wipes and frees an access token. */
static void drop_bearer(char *bearer)
{
	if (bearer) {
		explicit_bzero(bearer, strlen(bearer));
		free(bearer);
	}
}

/* What a call's answer means, result being http_send's: 0 with *out the answer parsed into
 * arena (left NULL when the answer is empty), or -errno, logged unless unmounting. */
static int call_answer(const char *method, const char *path, int result,
		       const struct http_resp *resp, struct jarena *arena, cJSON **out)
{
	if (result == -ECANCELED)
		return result; /* unmounting: nobody waits for the answer */
	if (result) {
		log_warn("%s %.200s: %s", method, path, resp->error);
		/* A stall, a refused connection, an answer over the cap: the system call fails
		 * with EIO; http_last_error still tells which. */
		return -EIO;
	}
	result = api_errno(resp->status);
	if (result) {
		log_failure(method, path, resp);
		return result;
	}
	if (resp->len == 0)
		return 0;
	/* jarena_parse with no arena is cJSON's parse, a lone surrogate read as U+FFFD. */
	*out = jarena_parse(arena, resp->body, resp->len);
	if (!*out) {
		log_warn("%s %.200s: answer is not JSON", method, path);
		return -EIO;
	}
	return 0;
}

/* api_call, the answer parsed into arena when one is given (see jarena.h for its life), and
 * the body made while it is sent when stream is given (api_call_stream). */
static int call_with(const char *method, const char *path, const cJSON *body,
		     const struct api_stream *stream, struct jarena *arena, cJSON **out)
{
	char *url = NULL, *payload = NULL, *bearer = NULL;
	struct http_resp resp = {0};
	struct http_req req;
	int result;

	*out = NULL;
	last_retried = false;
	if (asprintf(&url, "%s%s", base_url, path) < 0) {
		url = NULL;
		result = -ENOMEM;
		goto out;
	}
	if (body && !(payload = cJSON_PrintUnformatted(body))) {
		result = -ENOMEM;
		goto out;
	}
	result = oauth_bearer(&bearer);
	if (result)
		goto out;
	req = call_req(method, url, bearer, payload, stream);
	result = http_send(&req, &resp);
	last_retried = resp.attempts > 1;
	/* An expired access token: renewed once for all threads, then the call goes again (a
	 * 401 means the API did nothing, so a POST may be sent again too). */
	if (!result && resp.status == 401) {
		int renewed = oauth_renew(bearer);

		if (renewed == -EACCES) {
			result = -EACCES; /* oauth has said why */
			goto out;
		}
		if (renewed == 0) {
			drop_bearer(bearer);
			bearer = NULL;
			result = oauth_bearer(&bearer);
			if (result)
				goto out;
			req.bearer = bearer;
			result = http_send(&req, &resp);
			last_retried = last_retried || resp.attempts > 1;
		}
	}
	result = call_answer(method, path, result, &resp, arena, out);
out:
	drop_bearer(bearer);
	http_resp_release(&resp);
	free(payload);
	free(url);
	return result;
}

/* call_with without a streamed body: what every call but an upload sends. */
static int call(const char *method, const char *path, const cJSON *body, struct jarena *arena,
		cJSON **out)
{
	return call_with(method, path, body, NULL, arena, out);
}

int api_call(const char *method, const char *path, const cJSON *body, cJSON **out)
{
	return call(method, path, body, NULL, out);
}

char *api_page_path(const char *path, bool paged, const char *bookmark)
{
	char *esc = bookmark ? http_escape(bookmark) : NULL;
	const char *sep = strchr(path, '?') ? "&" : "?";
	char *out = NULL;
	int rc;

	if (bookmark && !esc)
		return NULL;
	if (paged)
		rc = asprintf(&out, "%s%spage_size=" PAGE_SIZE "%s%s", path, sep,
			      esc ? "&bookmark=" : "", esc ? esc : "");
	else
		rc = asprintf(&out, "%s%s%s%s", path, esc ? sep : "", esc ? "bookmark=" : "",
			      esc ? esc : "");
	free(esc);
	return rc < 0 ? NULL : out;
}

/* The bookmarks one walk has been given, as hashes: a server that cycles through bookmarks
 * would make the walk endless, each lap adding its items again. */
struct seen {
	uint64_t *h;
	size_t n, cap;
};

/* Adds bookmark; false when the walk had it already, or out of memory. */
static bool seen_add(struct seen *sn, const char *bookmark)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)bookmark; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	for (size_t i = 0; i < sn->n; i++)
		if (sn->h[i] == h)
			return false;
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 16;
		uint64_t *grown = realloc(sn->h, cap * sizeof(*grown));

		if (!grown)
			return false;
		sn->h = grown;
		sn->cap = cap;
	}
	sn->h[sn->n++] = h;
	return true;
}

/* Whether a page is of the published shape: an object with an "items" array, and a
 * "bookmark" that is a string or null (or absent). Anything else is no page at all, never an
 * empty one: its items, or the pages after it, would be lost without a word. Logs why. */
static bool page_shaped(const char *path, const cJSON *answer)
{
	const cJSON *bm = cJSON_GetObjectItemCaseSensitive(answer, "bookmark");

	if (!cJSON_IsObject(answer) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(answer, "items"))) {
		log_warn("GET %.200s: answer has no items list", path);
		return false;
	}
	if (bm && !cJSON_IsString(bm) && !cJSON_IsNull(bm)) {
		log_warn("GET %.200s: answer's bookmark is not a string", path);
		return false;
	}
	return true;
}

int api_list(const char *path, bool paged, int (*item)(const cJSON *it, void *ctx), void *ctx)
{
	struct seen seen = {0};
	struct jarena arena = {0}; /* each page's tree, one after another */
	char *bookmark = NULL;
	int result = 0;

	for (int page = 0;; page++) {
		char *p = api_page_path(path, paged, bookmark);
		cJSON *answer = NULL;
		const cJSON *items, *it, *bm;

		if (!p) {
			result = -ENOMEM;
			break;
		}
		result = call("GET", p, NULL, &arena, &answer);
		free(p);
		if (result)
			break;
		items = cJSON_GetObjectItemCaseSensitive(answer, "items");
		bm = cJSON_GetObjectItemCaseSensitive(answer, "bookmark");
		if (!page_shaped(path, answer))
			result = -EIO;
		cJSON_ArrayForEach(it, items)
		{
			if (result)
				break;
			result = item(it, ctx);
		}
		if (!result && cJSON_IsString(bm) && bm->valuestring[0]) {
			/* A server that hands back a bookmark it gave before would loop forever. */
			if (!seen_add(&seen, bm->valuestring) || page >= MAX_PAGES) {
				log_warn("GET %.200s: pagination does not advance", path);
				result = -EIO;
			} else {
				free(bookmark);
				bookmark = strdup(bm->valuestring);
				if (!bookmark)
					result = -ENOMEM;
			}
		} else if (!result) {
			free(bookmark);
			bookmark = NULL;
		}
		jarena_reset(&arena); /* the page's tree, and nothing the callbacks keep */
		if (result || !bookmark)
			break;
	}
	jarena_release(&arena);
	free(bookmark);
	free(seen.h);
	return result;
}

int api_get_account(cJSON **out)
{
	return api_call("GET", "/user_account", NULL, out);
}

int api_call_stream(const char *method, const char *path, const struct api_stream *body,
		    cJSON **out)
{
	return call_with(method, path, NULL, body, NULL, out);
}
