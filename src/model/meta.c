#include "meta.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XATTR_PREFIX "user.pinterest."

const char *const meta_pin_writable[] = {"title", "description", "link", "alt_text", NULL};

static void add_str(cJSON *o, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

struct buf {
	char *s;
	size_t len, cap;
	bool failed;
	bool count_only; /* len counts what would be written; s stays NULL */
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->count_only) {
		b->len += n;
		return;
	}
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);

		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void indent(struct buf *b, int depth)
{
	for (int i = 0; i < depth; i++)
		buf_add(b, "  ", 2);
}

/* Two-space indentation, one member a line: what json.dumps(indent=2) and jq print, and what
 * people edit comfortably. cJSON's own pretty printer uses tabs. */
static void pretty(struct buf *b, const cJSON *item, int depth)
{
	bool obj = cJSON_IsObject(item);
	const cJSON *child;
	char *leaf;

	if (!obj && !cJSON_IsArray(item)) {
		leaf = cJSON_PrintUnformatted(item);
		if (!leaf)
			b->failed = true;
		else
			buf_str(b, leaf);
		cJSON_free(leaf);
		return;
	}
	if (!item->child) {
		buf_str(b, obj ? "{}" : "[]");
		return;
	}
	buf_str(b, obj ? "{\n" : "[\n");
	for (child = item->child; child; child = child->next) {
		indent(b, depth + 1);
		if (obj) {
			cJSON key = {.type = cJSON_String, .valuestring = child->string};

			pretty(b, &key, depth + 1);
			buf_str(b, ": ");
		}
		pretty(b, child, depth + 1);
		buf_str(b, child->next ? ",\n" : "\n");
	}
	indent(b, depth);
	buf_str(b, obj ? "}" : "]");
}

char *meta_pretty(const cJSON *item)
{
	struct buf b = {0};

	if (!item)
		return NULL;
	pretty(&b, item, 0);
	buf_str(&b, "\n");
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Appends s to buf[0..len) at *at, cut where buf ends, as snprintf would cut it. */
static void put(char *buf, size_t len, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (*at + 1 >= len)
		return;
	if (n > len - 1 - *at)
		n = len - 1 - *at;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
}

/* Without snprintf: a walk of every sidecar prints one of these for each pin, and glibc's
 * printf machinery was most of a sidecar's cost. */
void meta_pin_url(const struct pin *p, char *buf, size_t len)
{
	size_t at = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	put(buf, len, &at, "https://www.pinterest.com/pin/");
	put(buf, len, &at, p->id ? p->id : "(null)");
	put(buf, len, &at, "/");
}

/* A JSON string as cJSON prints it: quotes, backslashes and control characters escaped,
 * everything else (UTF-8 included) as it is. */
static void buf_json_str(struct buf *b, const char *s)
{
	static const char short_esc[32] = {
	    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
	const char *run = s;
	char esc[8];

	buf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 32 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (short_esc[c])
			snprintf(esc, sizeof(esc), "\\%c", short_esc[c]);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		buf_str(b, esc);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
	buf_add(b, "\"", 1);
}

/* One member of an object as pretty() prints it: the end of the line before, the
 * indentation, the key; the value follows. */
static void member_start(struct buf *b, int depth, const char *key, bool first)
{
	buf_str(b, first ? "\n" : ",\n");
	indent(b, depth);
	buf_json_str(b, key);
	buf_add(b, ": ", 2);
}

static void member_str(struct buf *b, int depth, const char *key, const char *value, bool first)
{
	member_start(b, depth, key, first);
	if (value)
		buf_json_str(b, value);
	else
		buf_add(b, "null", 4);
}

static void member_int(struct buf *b, int depth, const char *key, int value)
{
	char num[16], *d = num + sizeof(num);
	unsigned int u = value < 0 ? 0u - (unsigned int)value : (unsigned int)value;

	/* The digits from the last, as "%d" prints them (see meta_pin_url for why not printf). */
	*--d = '\0';
	do {
		*--d = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (value < 0)
		*--d = '-';
	member_start(b, depth, key, false);
	buf_str(b, d);
}

/* A video's or a carousel's facts (pinmedia.h), each a member of the sidecar after the image:
 * video_url, duration, width and height, or items. Rare: parsed when printed. */
static void print_media_info(struct buf *b, const char *info)
{
	cJSON *o = info ? cJSON_Parse(info) : NULL;

	if (info && !o)
		b->failed = true; /* pinfs wrote it: only memory can fail */
	for (const cJSON *m = cJSON_IsObject(o) ? o->child : NULL; m; m = m->next) {
		member_start(b, 1, m->string, false);
		pretty(b, m, 1);
	}
	cJSON_Delete(o);
}

/* The sidecar is printed straight from the pin, without building a cJSON tree: a walk of
 * every sidecar (grep -r) renders each one, and the tree's nodes were most of its cost. The
 * text is the same as meta_pretty's of the object with these members (test_meta checks). */
static void print_pin(struct buf *b, const struct pin *p)
{
	char url[128];

	/* What a user may edit comes first; the rest is shown for reference. */
	buf_add(b, "{", 1);
	member_str(b, 1, "title", p->title, true);
	member_str(b, 1, "description", p->description, false);
	member_str(b, 1, "link", p->link, false);
	member_str(b, 1, "alt_text", p->alt_text, false);
	member_str(b, 1, "id", p->id, false);
	member_str(b, 1, "board_id", p->board_id, false);
	member_str(b, 1, "board_section_id", p->section_id, false);
	member_str(b, 1, "created_at", p->created_at, false);
	member_str(b, 1, "dominant_color", p->dominant_color, false);
	member_str(b, 1, "creative_type", p->creative_type, false);
	member_str(b, 1, "media_type", p->media_type, false);
	meta_pin_url(p, url, sizeof(url));
	member_str(b, 1, "url", url, false);
	if (p->image_url) {
		member_start(b, 1, "image", false);
		buf_add(b, "{", 1);
		/* Where the main file is a video, the image is its cover. */
		member_str(b, 2, "url", p->cover_url ? p->cover_url : p->image_url, true);
		member_str(b, 2, "size", p->size_key, false);
		member_int(b, 2, "width", p->width);
		member_int(b, 2, "height", p->height);
		buf_str(b, "\n  }");
	}
	print_media_info(b, p->media_info);
	buf_str(b, "\n}\n");
}

char *meta_pin_json(const struct pin *p)
{
	struct buf b = {.s = malloc(1024), .cap = 1024};

	if (!b.s)
		return NULL;
	print_pin(&b, p);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

size_t meta_pin_json_len(const struct pin *p)
{
	struct buf b = {.count_only = true};

	print_pin(&b, p);
	return b.len;
}

char *meta_board_json(const struct board *b)
{
	cJSON *o = cJSON_CreateObject();
	char url[600];
	char *out;

	if (!o)
		return NULL;
	add_str(o, "name", b->name);
	add_str(o, "description", b->description);
	add_str(o, "privacy", b->privacy);
	add_str(o, "id", b->id);
	cJSON_AddNumberToObject(o, "pin_count", b->pin_count);
	cJSON_AddNumberToObject(o, "follower_count", b->follower_count);
	cJSON_AddNumberToObject(o, "collaborator_count", b->collaborator_count);
	add_str(o, "created_at", b->created_at);
	add_str(o, "board_pins_modified_at", b->pins_modified_at);
	add_str(o, "owner", b->owner);
	add_str(o, "image_cover_url", b->cover_url);
	/* Pinterest resolves a board by its id under /board/; the pretty slug URL would need
	 * Pinterest's own slug rules, which are not published. */
	snprintf(url, sizeof(url), "https://www.pinterest.com/board/%s/", b->id);
	add_str(o, "url", url);
	out = meta_pretty(o);
	cJSON_Delete(o);
	return out;
}

/* Attribute names and the pin field each mirrors (NULL: made on the fly). */
static const struct {
	const char *name;
	size_t offset;
} attrs[] = {
#define F(n, f)                                                                                    \
	{                                                                                          \
		XATTR_PREFIX n, offsetof(struct pin, f)                                            \
	}
    F("id", id),
    F("title", title),
    F("description", description),
    F("link", link),
    F("alt_text", alt_text),
    F("board_id", board_id),
    F("board_section_id", section_id),
    F("created_at", created_at),
    F("dominant_color", dominant_color),
    F("media_type", media_type),
    F("image_url", image_url),
    {XATTR_PREFIX "url", (size_t)-1},
#undef F
};

static const char *field(const struct pin *p, size_t offset)
{
	return *(char *const *)((const char *)p + offset);
}

size_t meta_pin_xattr_list(const struct pin *p, char *buf, size_t len)
{
	size_t need = 0;

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		size_t n = strlen(attrs[i].name) + 1;

		if (attrs[i].offset != (size_t)-1 && !field(p, attrs[i].offset))
			continue;
		if (len && need + n <= len)
			memcpy(buf + need, attrs[i].name, n);
		need += n;
	}
	return need;
}

const char *meta_pin_xattr_get(const struct pin *p, const char *name, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (strcmp(attrs[i].name, name) != 0)
			continue;
		if (attrs[i].offset != (size_t)-1)
			return field(p, attrs[i].offset);
		meta_pin_url(p, buf, len);
		return buf;
	}
	return NULL;
}
