/* The files a pin shows beside its main one (pinmedia.h): a video's cover, named as the video
 * is with the cover's extension ("X.mp4" and "X.jpg"), and a carousel's other items, "X [2].jpg",
 * "X [3].mp4"... Their names, their URLs and the lookup of a name. Part of the account tree:
 * see tree_int.h. Nothing here is kept in the nodes: a part is found again from its pin's
 * record each time, as only videos and carousels have any. */
#include "tree_int.h"

#include "cache.h"
#include "names.h"
#include "pinmedia.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The URLs of parts: long ones are a broken server's, and are not shown. */
#define PART_URL_MAX 4096

/* How many files the pin shows beside its main one. Lock held (as for every function here). */
unsigned tree_part_count(const struct pin_node *pn)
{
	return pinmedia_count(pinrec_parts(pn->rec));
}

/* The URL of part (from 1) into buf: 0, -ENOENT when there is no such part, -ENAMETOOLONG. */
int tree_part_url(const struct pin_node *pn, unsigned part, char *buf, size_t len)
{
	if (part == 0)
		return -ENOENT;
	return pinmedia_part(pinrec_parts(pn->rec), part - 1, buf, len);
}

/* The extension part shows: its URL's (a video's ".mp4", an image's). 0 when it has none. */
static uint8_t part_ext(const struct pin_node *pn, unsigned part)
{
	char url[PART_URL_MAX];

	if (tree_part_url(pn, part, url, sizeof(url)))
		return 0;
	return tree_ext_index(names_ext_for_url(url));
}

/* The file name of part (from 1) into buf; false when the pin has no such part to show. */
bool tree_part_file(const struct pin_node *pn, unsigned part, char *buf, size_t len)
{
	uint8_t ext = part_ext(pn, part);
	char tail[32];

	if (!ext)
		return false;
	if (pinrec_items(pn->rec) == 0) /* a video's cover: the video's name */
		snprintf(tail, sizeof(tail), "%s", tree_exts[ext]);
	else
		snprintf(tail, sizeof(tail), " [%u]%s", part + 1, tree_exts[ext]);
	tree_join_cut(buf, len, tree_pin_name(pn), tail);
	return true;
}

/* The size of part (0: the main file), -1 when not known yet. */
int64_t tree_part_size(const struct pin_node *pn, unsigned part)
{
	char url[PART_URL_MAX];

	if (part == 0)
		return pn->size;
	return tree_part_url(pn, part, url, sizeof(url)) ? -1 : cache_size_get(url);
}

/* The item number that ends base[0..len) as " [k]" (k from 2, no leading zero), with the
 * length before it through *stem; 0 when it has none. */
static unsigned item_number(const char *base, size_t len, size_t *stem)
{
	size_t i = len;
	unsigned long k;
	char *end;

	if (len < 5 || base[len - 1] != ']')
		return 0;
	while (i >= 2 && base[i - 2] >= '0' && base[i - 2] <= '9')
		i--;
	/* base[i - 1..len - 1) are the digits, after " [". */
	if (i < 3 || i == len || base[i - 2] != '[' || base[i - 3] != ' ' || base[i - 1] == '0')
		return 0;
	k = strtoul(base + i - 1, &end, 10);
	if (end != base + len - 1 || k < 2 || k > 100000)
		return 0;
	*stem = i - 3;
	return (unsigned)k;
}

/* The part a file name of a folder shows: find(ctx, base, len) finds the folder's pin named
 * base[0..len). Returns the part (from 1) and sets *out to its pin, or 0 when name is none. */
unsigned tree_find_part(struct pin_node *(*find)(const void *ctx, const char *base, size_t len),
			const void *ctx, const char *name, struct pin_node **out)
{
	const char *dot = strrchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : 0, stem = 0;
	uint8_t ext = dot ? tree_ext_index(dot) : 0;
	struct pin_node *pn;
	unsigned k;

	if (!ext)
		return 0;
	/* A video's cover: the video's name, the cover's extension. */
	pn = find(ctx, name, len);
	if (pn && pinrec_parts(pn->rec) && pinrec_items(pn->rec) == 0 && part_ext(pn, 1) == ext &&
	    ext != pn->ext) {
		*out = pn;
		return 1;
	}
	k = item_number(name, len, &stem);
	if (!k || !(pn = find(ctx, name, stem)) || k - 1 > pinrec_items(pn->rec) ||
	    part_ext(pn, k - 1) != ext)
		return 0;
	*out = pn;
	return k - 1;
}
