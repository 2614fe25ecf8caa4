#include "imgkind.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HEAD_LEN 12 /* bytes enough to tell every kind (WEBP's is the longest) */

enum img_kind img_kind_of_url(const char *url)
{
	static const struct {
		const char *ext;
		enum img_kind kind;
	} exts[] = {{"jpg", IMG_JPEG},	{"jpeg", IMG_JPEG}, {"png", IMG_PNG},	{"gif", IMG_GIF},
		    {"webp", IMG_WEBP}, {"mp4", IMG_VIDEO}, {"m4v", IMG_VIDEO}, {"mov", IMG_VIDEO}};
	const char *end = url + strcspn(url, "?#"), *dot = end;

	while (dot > url && dot[-1] != '.' && dot[-1] != '/')
		dot--;
	if (dot == url || dot[-1] != '.')
		return IMG_ANY;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if ((size_t)(end - dot) == strlen(exts[i].ext) &&
		    strncasecmp(dot, exts[i].ext, (size_t)(end - dot)) == 0)
			return exts[i].kind;
	return IMG_ANY;
}

static const char *kind_name(enum img_kind kind)
{
	static const char *const names[] = {
	    "JPEG, PNG, GIF, WEBP or MP4", "JPEG", "PNG", "GIF", "WEBP", "MP4 or QuickTime"};

	return names[kind];
}

/* lit at offset at of b[0..n): 1 there, 0 not, -1 not enough bytes yet (those there agree). */
static int has_at(const unsigned char *b, size_t n, size_t at, const char *lit, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (at + i >= n)
			return -1;
		if (b[at + i] != (unsigned char)lit[i])
			return 0;
	}
	return 1;
}

static int either(int a, int b)
{
	return a == 1 || b == 1 ? 1 : a < 0 || b < 0 ? -1 : 0;
}

static int both(int a, int b)
{
	return a == 0 || b == 0 ? 0 : a < 0 || b < 0 ? -1 : 1;
}

/* Whether b[0..n) starts as an image of kind: 1, 0, or -1 when more bytes must tell. */
static int looks_like(enum img_kind kind, const unsigned char *b, size_t n)
{
	switch (kind) {
	case IMG_JPEG:
		return has_at(b, n, 0, "\xff\xd8\xff", 3);
	case IMG_PNG:
		return has_at(b, n, 0, "\x89PNG\r\n\x1a\n", 8);
	case IMG_GIF:
		return either(has_at(b, n, 0, "GIF87a", 6), has_at(b, n, 0, "GIF89a", 6));
	case IMG_WEBP:
		return both(has_at(b, n, 0, "RIFF", 4), has_at(b, n, 8, "WEBP", 4));
	case IMG_VIDEO:
		/* ISO media: a box's size, then its type; MP4 starts with ftyp, and QuickTime
		 * files may start with their other top-level boxes. */
		return either(either(has_at(b, n, 4, "ftyp", 4), has_at(b, n, 4, "moov", 4)),
			      either(either(has_at(b, n, 4, "mdat", 4), has_at(b, n, 4, "wide", 4)),
				     has_at(b, n, 4, "free", 4)));
	case IMG_ANY:
		break;
	}
	return either(either(either(looks_like(IMG_JPEG, b, n), looks_like(IMG_PNG, b, n)),
			     either(looks_like(IMG_GIF, b, n), looks_like(IMG_WEBP, b, n))),
		      looks_like(IMG_VIDEO, b, n));
}

/* Judges the first bytes of the file on fd as kind: 1 an image of that kind, 0 not (then
 * why, when given, says so for a log line), -1 too few bytes to tell yet; at the end of the
 * file (done), too few is not. */
int img_head_check(int fd, enum img_kind kind, bool done, char *why, size_t len)
{
	unsigned char b[HEAD_LEN];
	char shown[4 * HEAD_LEN + 1] = "";
	ssize_t n = pread(fd, b, sizeof(b), 0);
	int verdict = looks_like(kind, b, n > 0 ? (size_t)n : 0);

	if (verdict < 0 && done)
		verdict = 0;
	if (verdict != 0 || !why)
		return verdict;
	if (n <= 0) {
		snprintf(why, len, "is empty");
		return 0;
	}
	/* What it starts with, without letting a hostile answer put control bytes in a log. */
	for (ssize_t i = 0, at = 0; i < n; i++)
		at += snprintf(
		    shown + at, sizeof(shown) - (size_t)at,
		    b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' ? "%c" : "\\x%02x",
		    b[i]);
	snprintf(why, len, "is not a %s image (it starts with \"%s\")", kind_name(kind), shown);
	return 0;
}
