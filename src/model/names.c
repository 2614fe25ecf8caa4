#include "names.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FULLWIDTH_SOLIDUS "\xef\xbc\x8f" /* U+FF0F, shown for '/' */
#define FULLWIDTH_STOP	  "\xef\xbc\x8e" /* U+FF0E, shown for a leading '.' */
#define REPLACEMENT	  "\xef\xbf\xbd" /* U+FFFD, shown for control bytes and bad UTF-8 */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. Overlong forms and
 * surrogates count as invalid so that every name we produce is valid UTF-8. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Appends src[0..len) to out if the result stays within cap bytes; false when it would not. */
static bool put(char *out, size_t *used, size_t cap, const char *src, size_t len)
{
	if (*used + len > cap)
		return false;
	memcpy(out + *used, src, len);
	*used += len;
	return true;
}

char *names_sanitize(const char *title, const char *id, size_t reserve)
{
	const unsigned char *s = (const unsigned char *)title;
	size_t cap = reserve < NAMES_MAX ? NAMES_MAX - reserve : 1;
	size_t used = 0;
	char out[NAMES_MAX + 1];

	if (!s || !*s)
		s = (const unsigned char *)(id ? id : "_");
	for (size_t i = 0; s[i];) {
		size_t n = utf8_len(s + i);
		const char *rep = (const char *)s + i;
		size_t rep_len = n;

		if (n == 0) {
			rep = REPLACEMENT, rep_len = 3, n = 1;
		} else if (s[i] == '/') {
			rep = FULLWIDTH_SOLIDUS, rep_len = 3;
		} else if (s[i] == '.' && i == 0) {
			rep = FULLWIDTH_STOP, rep_len = 3;
		} else if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			rep = " ", rep_len = 1;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			rep = REPLACEMENT, rep_len = 3;
		}
		/* Stop at the last whole character that fits: names are cut, never split. */
		if (!put(out, &used, cap, rep, rep_len))
			break;
		i += n;
	}
	/* Built in place, then copied at its size: the tree keeps 100 000 of these. */
	return strndup(out, used);
}

char *names_to_title(const char *name)
{
	size_t len = strlen(name), used = 0;
	char *out = malloc(len + 1);

	if (!out)
		return NULL;
	if (strncmp(name, FULLWIDTH_STOP, 3) == 0) {
		out[used++] = '.';
		name += 3;
	}
	while (*name) {
		if (strncmp(name, FULLWIDTH_SOLIDUS, 3) == 0) {
			out[used++] = '/';
			name += 3;
		} else {
			out[used++] = *name++;
		}
	}
	out[used] = '\0';
	return out;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when name is among sorted[0..n). */
static bool in_sorted(char **sorted, size_t n, const char *name)
{
	return bsearch(&name, sorted, n, sizeof(*sorted), cmp_str) != NULL;
}

/* Sorted copy of the pointers in names[0..n), for in_sorted(). Caller frees the array only. */
static char **sorted_view(char **names, size_t n)
{
	char **v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		return NULL;
	if (n)
		memcpy(v, names, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_str);
	return v;
}

#define SUFFIX_ID_MAX 48

/* FNV-1a of a string: suffix_id's hash of an odd id, and name_set's. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

/* The id as a suffix shows it: as it is when made of the characters Pinterest's ids use, else
 * '#' and a hash of it. People are told apart by user names, which a server could fill with
 * '/', bad UTF-8 or any length. Neither form has '{', '}' or '~', so a suffix ends a name in
 * one way only, and distinct ids give distinct suffixes. */
static const char *suffix_id(const char *id, char *buf)
{
	size_t len = strlen(id);

	if (len > 0 && len < SUFFIX_ID_MAX &&
	    strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
		       "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-.") == len)
		return id;
	snprintf(buf, SUFFIX_ID_MAX, "#%016llx", (unsigned long long)fnv1a(id));
	return buf;
}

/* The name with " {ID}" appended (nth > 1: " {ID~nth}", for when titles took the others). */
static char *suffixed(const char *title, const char *id, size_t reserve, unsigned nth)
{
	char buf[SUFFIX_ID_MAX], tail[SUFFIX_ID_MAX + 16];
	const char *sid = suffix_id(id, buf);
	int len = nth > 1 ? snprintf(tail, sizeof(tail), " {%s~%u}", sid, nth)
			  : snprintf(tail, sizeof(tail), " {%s}", sid);
	/* The suffix is part of the name, so the title gives way to it when space runs short. */
	char *base = names_sanitize(title, id, reserve + (size_t)len);
	char *out = NULL;

	if (base && asprintf(&out, "%s%s", base, tail) < 0)
		out = NULL;
	free(base);
	return out;
}

static char *with_suffix(const char *title, const char *id, size_t reserve)
{
	return suffixed(title, id, reserve, 1);
}

struct cand {
	char *name;
	size_t slot;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void free_names(struct name_slot *slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(slots[i].name);
		slots[i].name = NULL;
	}
}

/* True when keep is a name the slot's title can still give it: plain or suffixed. The forms
 * are made one at a time, the plain one first: it is most pins' name, and a refreshed
 * listing asks this of every pin. */
static bool still_fits(const struct name_slot *s)
{
	char *name = names_sanitize(s->title, s->id, s->reserve), *next;
	bool fits = name && strcmp(name, s->keep) == 0;
	const char *tilde;

	free(name);
	name = fits ? NULL : with_suffix(s->title, s->id, s->reserve);
	fits = fits || (name && strcmp(name, s->keep) == 0);
	next = fits || !name ? NULL : with_suffix(name, s->id, s->reserve);
	fits = fits || (next && strcmp(next, s->keep) == 0);
	free(name);
	free(next);
	tilde = fits ? NULL : strrchr(s->keep, '~');
	if (tilde) { /* " {ID~nth}" */
		char *end, *nth_name;
		unsigned long nth = strtoul(tilde + 1, &end, 10);

		if (nth > 1 && nth < 100000 && strcmp(end, "}") == 0) {
			nth_name = suffixed(s->title, s->id, s->reserve, (unsigned)nth);
			fits = nth_name && strcmp(nth_name, s->keep) == 0;
			free(nth_name);
		}
	}
	return fits;
}

/* A set of names, by open addressing: the strings are not its own. At most half full. */
struct name_set {
	const char **v;
	size_t mask;
};

/* Room for n names. 0 or -ENOMEM; name_set_free frees it. */
static int name_set_init(struct name_set *s, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	s->v = calloc(cap, sizeof(*s->v));
	s->mask = cap - 1;
	return s->v ? 0 : -ENOMEM;
}

/* The slot that holds name, or the empty one where it would go. */
static const char **name_set_slot(const struct name_set *s, const char *name)
{
	uint64_t h = fnv1a(name);
	size_t i = (size_t)(h ^ (h >> 32)) & s->mask;

	while (s->v[i] && strcmp(s->v[i], name) != 0)
		i = (i + 1) & s->mask;
	return &s->v[i];
}

static void name_set_free(struct name_set *s)
{
	free(s->v);
	s->v = NULL;
}

/* Gives back the names slots held before, where their titles still give them and no name
 * taken before (taken[0..*ntaken), then an earlier slot's) is the same, and adds them to the
 * taken names (room for n more). Returns 0 or -ENOMEM. */
static int grant_kept(struct name_slot *slots, size_t n, char **taken, size_t *ntaken)
{
	struct name_set set;
	const char **at;
	int result = name_set_init(&set, *ntaken + n);

	for (size_t i = 0; !result && i < *ntaken; i++)
		*name_set_slot(&set, taken[i]) = taken[i];
	for (size_t i = 0; !result && i < n; i++) {
		if (!slots[i].keep || *(at = name_set_slot(&set, slots[i].keep)) ||
		    !still_fits(&slots[i]))
			continue;
		slots[i].name = strdup(slots[i].keep);
		if (!slots[i].name)
			result = -ENOMEM;
		else
			*at = taken[(*ntaken)++] = slots[i].name;
	}
	name_set_free(&set);
	return result;
}

/* Gives every slot still without a name its plain (sanitised) name, and lists it in c[*nc] as
 * a candidate. Returns 0 or -ENOMEM. */
static int name_plain(struct name_slot *slots, size_t n, struct cand *c, size_t *nc)
{
	for (size_t i = 0; i < n; i++) {
		if (slots[i].name)
			continue;
		slots[i].name = names_sanitize(slots[i].title, slots[i].id, slots[i].reserve);
		if (!slots[i].name)
			return -ENOMEM;
		c[(*nc)++] = (struct cand){slots[i].name, i};
	}
	return 0;
}

/* Takes the plain name back from each candidate of c[0..nc) that is not the first holder of
 * its name, or whose name was taken before (res[0..ntaken), sorted). */
static void drop_contested(struct name_slot *slots, struct cand *c, size_t nc, char **res,
			   size_t ntaken)
{
	/* Sorting by (name, priority) puts each group of equal names together, its first
	 * holder first: that one keeps the plain name. */
	qsort(c, nc, sizeof(*c), cmp_cand);
	/* Mark first, free after: the comparisons read the names being dropped. */
	for (size_t i = nc; i-- > 0;) {
		bool dup = (i > 0 && strcmp(c[i - 1].name, c[i].name) == 0) ||
			   in_sorted(res, ntaken, c[i].name);

		c[i].name = dup ? NULL : c[i].name;
	}
	for (size_t i = 0; i < nc; i++) {
		if (c[i].name)
			continue;
		/* Suffixed names are made later, once all plain ones are known. */
		free(slots[c[i].slot].name);
		slots[c[i].slot].name = NULL;
	}
}

/* The names slots[0..n) hold, sorted into plain, for in_sorted(). Returns how many. */
static size_t sorted_names(const struct name_slot *slots, size_t n, char **plain)
{
	size_t np = 0;

	for (size_t i = 0; i < n; i++)
		if (slots[i].name)
			plain[np++] = slots[i].name;
	qsort(plain, np, sizeof(*plain), cmp_str);
	return np;
}

/* Gives a slot that lost its plain name a suffixed one that no plain name (plain[0..np)) and
 * no name taken before (res[0..ntaken)) is. Returns 0 or -ENOMEM. */
static int name_suffixed(struct name_slot *s, char **plain, size_t np, char **res, size_t ntaken)
{
	s->name = with_suffix(s->title, s->id, s->reserve);
	if (!s->name)
		return -ENOMEM;
	/* A title that literally reads "x {ID}" could hold the suffixed name already;
	 * ids are unique, so a second suffix settles it. */
	if (in_sorted(plain, np, s->name) || in_sorted(res, ntaken, s->name)) {
		char *again = with_suffix(s->name, s->id, s->reserve);

		free(s->name);
		s->name = again;
		if (!again)
			return -ENOMEM;
	}
	/* Titles can read like the twice-suffixed name too, and at the length limit the
	 * second suffix changes nothing: " {ID~2}", " {ID~3}"... differ from each other,
	 * so one of the first ntaken + np + 1 is free. */
	for (unsigned nth = 2; in_sorted(plain, np, s->name) || in_sorted(res, ntaken, s->name);
	     nth++) {
		free(s->name);
		s->name = suffixed(s->title, s->id, s->reserve, nth);
		if (!s->name)
			return -ENOMEM;
	}
	return 0;
}

/* The names slots[0..n) and reserved[0..nres) hold, sorted, with the slot of each (n for a
 * reserved one). Caller frees; NULL when out of memory. */
static struct cand *all_names(struct name_slot *slots, size_t n, char **reserved, size_t nres)
{
	struct cand *c = malloc((n + nres + 1) * sizeof(*c));

	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++)
		c[i] = (struct cand){slots[i].name, i};
	for (size_t i = 0; i < nres; i++)
		c[n + i] = (struct cand){reserved[i], n};
	qsort(c, n + nres, sizeof(*c), cmp_cand);
	return c;
}

/* The slot holding name among c[0..nc) (sorted by all_names), or SIZE_MAX. */
static size_t holder(const struct cand *c, size_t nc, const char *name)
{
	size_t lo = 0, hi = nc;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c[mid].name, name);

		if (cmp == 0)
			return c[mid].slot;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* The first slot of an item name of slot i that another holds: *other gets the holder (n for
 * a reserved name). False when there is none. */
static bool item_clash(const struct name_slot *s, unsigned items, size_t i, const struct cand *c,
		       size_t nc, size_t *other)
{
	char name[NAMES_MAX * 2 + 16];

	for (unsigned k = 2; k <= items + 1; k++) {
		snprintf(name, sizeof(name), "%s [%u]", s->name, k);
		*other = holder(c, nc, name);
		if (*other != SIZE_MAX && *other != i)
			return true;
	}
	return false;
}

/* Settles the names an object's items take: where another slot holds one, the later of the
 * two in priority takes a suffixed name, and the check starts again (a suffixed name can
 * clash in turn, rarely). Returns 0 or -ENOMEM. */
static int settle_items(struct name_slot *slots, size_t n, char **reserved, size_t nres,
			const unsigned *items)
{
	for (size_t round = 0; round <= n; round++) {
		struct cand *c = all_names(slots, n, reserved, nres);
		size_t other = SIZE_MAX, loser = SIZE_MAX, np = 0;
		char **plain;
		int result;

		if (!c)
			return -ENOMEM;
		for (size_t i = 0; loser == SIZE_MAX && i < n; i++)
			if (items[i] && item_clash(&slots[i], items[i], i, c, n + nres, &other))
				loser = other == n || other < i ? i : other; /* n: reserved */
		free(c);
		if (loser == SIZE_MAX)
			return 0;
		plain = malloc((n + 1) * sizeof(*plain));
		if (!plain)
			return -ENOMEM;
		np = sorted_names(slots, n, plain);
		/* The old name is in plain, read by name_suffixed: freed after. */
		char *old = slots[loser].name;

		result = name_suffixed(&slots[loser], plain, np, reserved, nres);
		free(old);
		free(plain);
		if (result)
			return result;
	}
	return 0;
}

int names_assign(struct name_slot *slots, size_t n, const char *const *reserved)
{
	return names_assign_items(slots, n, reserved, NULL);
}

int names_assign_items(struct name_slot *slots, size_t n, const char *const *reserved,
		       const unsigned *items)
{
	struct cand *c = calloc(n ? n : 1, sizeof(*c));
	char **res = NULL, **plain = NULL, **taken = NULL;
	size_t nres = 0, ntaken = 0, nc = 0, np = 0;
	int result = -ENOMEM;

	while (reserved && reserved[nres])
		nres++;
	taken = malloc((nres + n + 1) * sizeof(*taken));
	plain = malloc((n ? n : 1) * sizeof(*plain));
	if (!c || !taken || !plain)
		goto out;
	for (size_t i = 0; i < n; i++)
		slots[i].name = NULL;
	if (nres)
		memcpy(taken, reserved, nres * sizeof(*taken));
	ntaken = nres;
	/* Names held before stay: a pin's name must not change under a running rm -r because
	 * an older pin of the same title was deleted. */
	if (grant_kept(slots, n, taken, &ntaken))
		goto out;
	res = sorted_view(taken, ntaken);
	if (!res || name_plain(slots, n, c, &nc))
		goto out;
	drop_contested(slots, c, nc, res, ntaken);
	np = sorted_names(slots, n, plain);
	for (size_t i = 0; i < n; i++)
		if (!slots[i].name && name_suffixed(&slots[i], plain, np, res, ntaken))
			goto out;
	if (items) {
		/* Only the reserved names: taken[nres..) are slots' own. */
		free(res);
		res = sorted_view(taken, nres);
		if (!res || settle_items(slots, n, res, nres, items))
			goto out;
	}
	result = 0;
out:
	if (result)
		free_names(slots, n);
	free(taken);
	free(plain);
	free(res);
	free(c);
	return result;
}

const char *names_ext_for_url(const char *url)
{
	static const char *const exts[] = {".png", ".gif", ".webp", ".jpg", ".mp4", ".mov"};
	const char *end, *dot;

	if (!url)
		return ".jpg";
	end = url + strcspn(url, "?#");
	for (dot = end; dot > url && dot[-1] != '.' && dot[-1] != '/';)
		dot--;
	if (dot == url || dot[-1] != '.')
		return ".jpg";
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if ((size_t)(end - dot) == strlen(exts[i]) - 1 &&
		    strncasecmp(dot, exts[i] + 1, end - dot) == 0)
			return exts[i];
	return ".jpg";
}

size_t names_strip_ext(const char *name, const char **ext)
{
	static const char *const exts[] = {".jpg",  ".jpeg", ".png", ".gif", ".webp",
					   ".json", ".mp4",  ".mov", ".m4v"};
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t el = strlen(exts[i]);

		if (len > el && strcasecmp(name + len - el, exts[i]) == 0) {
			if (ext)
				*ext = name + len - el;
			return len - el;
		}
	}
	if (ext)
		*ext = name + len;
	return len;
}

bool names_is_scratch(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return true;
	if (len > 0 && name[len - 1] == '~')
		return true;
	return len >= 4 && strcmp(name + len - 4, ".swp") == 0;
}

bool names_is_probe(const char *path)
{
	static const char *const names[] = {
	    ".Trash",	   ".hidden",	  ".directory", ".xdg-volume-info",
	    "desktop.ini", "autorun.inf", ".DS_Store",	NULL,
	};
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strncmp(base, ".Trash-", 7) == 0 || strncmp(base, "._", 2) == 0)
		return true;
	for (size_t i = 0; names[i]; i++)
		if (strcmp(base, names[i]) == 0)
			return true;
	return false;
}
