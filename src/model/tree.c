#include "tree.h"

#include "api.h"
#include "cache.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "meta.h"
#include "names.h"
#include "pinstore.h"
#include "suggest.h"
#include "walkorder.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pins of one folder (a board's top or a section), as indexes into the board's pins
 * sorted by name, for a binary search. A pin's two files share its name: "<name><ext>" and
 * "<name>.json"; the top's sections and .board.json are found apart. */
struct folder {
	uint32_t *pins;
	size_t n;
	bool sizes_busy, sizes_tried;
	time_t mtime; /* when a name came or went; 0: not since the mount (node_mtime) */
};

/* The image extensions a pin's file can have: names_ext_for_url's, and those a file copied in
 * kept (ext_for). Index 0: the pin has no image. */
static const char *const exts[] = {NULL,   ".jpg", ".png",  ".gif", ".webp", ".jpeg",
				   ".JPG", ".PNG", ".JPEG", ".Jpg", ".Png",  ".Jpeg",
				   ".jpe", ".GIF", ".WEBP", ".Gif", ".Webp"};

/* 40 bytes and the record: a walk of 100 000 pins keeps every one of them. */
struct pin_node {
	struct pinrec *rec;
	char *name;	  /* the files' name without extension; NULL: the same as the title */
	int64_t size;	  /* image bytes, -1 unknown */
	int32_t json_len; /* sidecar bytes, -1 not yet measured */
	int32_t folder;	  /* -1: the board's top, else the index of its section */
	uint8_t ext;	  /* index in exts[] */
	uint8_t told;	  /* the forget epoch in which a listing last described it (emit) */
	bool waited;	  /* a stat waits for its size from a sweep: say when it comes */
	/* When its sidecar's text was seen to change: seconds after T.epoch, 0 when not since
	 * the mount (its creation time stands). Four bytes, in what was padding. */
	uint32_t changed_at;
};

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct pin_node) == 40, "a pin node is 40 bytes: see the comment above");
#endif

/* a then b into buf (len > 0), cut where buf ends as snprintf("%s%s") would cut them. Not
 * snprintf: a listing names two files per pin and describes each with three ids, and glibc's
 * printf machinery was the most of that work that was pinfs's own. */
static void join_cut(char *buf, size_t len, const char *a, const char *b)
{
	size_t na = strnlen(a, len - 1), nb = strnlen(b, len - 1 - na);

	memcpy(buf, a, na);
	memcpy(buf + na, b, nb);
	buf[na + nb] = '\0';
}

/* The name a pin's two files share, without extension. */
static const char *pin_name(const struct pin_node *pn)
{
	return pn->name ? pn->name : pinrec_title(pn->rec);
}

/* The name of a pin's image (json false; the pin has one) or of its sidecar, into buf. Names
 * leave room for ".json" within NAME_MAX, and no extension is longer. */
static void pin_file(const struct pin_node *pn, bool json, char *buf, size_t len)
{
	const char *name = pin_name(pn);

	join_cut(buf, len, name ? name : "", json ? ".json" : pn->ext ? exts[pn->ext] : "");
}

struct section_node {
	struct section *sec;
	char *dname;
	struct folder f;
};

/* A board and, once listed, its sections and pins. Board nodes live until unmount (removed
 * boards move to the dead list), so a pointer to one stays valid across unlocks. */
struct board_node {
	struct board *b;
	char *dname;
	bool gone;
	bool listed, busy;
	bool seen; /* listed before: the next listing is compared with it (carry_times) */
	double listed_at;
	time_t json_mtime;   /* when .board.json's text changed; 0: not since the mount */
	char *stamp;	     /* board_pins_modified_at when listed */
	unsigned gen;	     /* bumped at each new listing: folder pointers from before are stale */
	unsigned edits;	     /* local changes made to the listing: see ensure_listed */
	unsigned sweeps;     /* size sweeps of this board still running */
	unsigned old_sweeps; /* those of them that sweep a listing before this one */
	struct section_node *secs;
	size_t nsecs;
	struct pin_node *pins;
	size_t npins;
	struct folder top;
	char *block;  /* the pins' records and names: see pack_pins */
	void **loose; /* records and names of pins added in place (insert_pin) beside a block */
	size_t nloose;
};

/* The sidecar of a pin just deleted: still found for a few seconds, so that `rm a.jpg a.json`
 * removes both without an error, but never listed. */
struct ghost {
	char *path;
	double until;
};

#define GHOST_LIFE_S 10.0

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a busy flag went down */
	double ttl;
	int head_parallel;
	char *image_size;
	cJSON *account;
	double account_at;
	bool account_busy;
	struct board_node **boards; /* live, sorted by dname */
	size_t nboards;
	struct board_node **dead;
	size_t ndead;
	bool boards_listed, boards_busy;
	bool boards_seen; /* boards/ listed before: a new list is compared with it */
	double boards_at;
	time_t boards_mtime; /* when a board came, went or was renamed; 0: not since the mount */
	time_t epoch;	     /* a second before the mount: what pins' changed_at counts from */
	uint64_t forgets;    /* cache_size_forgets() when the listed sizes were last checked */
	struct ghost *ghosts;
	size_t nghosts;
	uint64_t changes;	/* local changes installed: see tree_pins_version */
	uint64_t board_changes; /* boards made, renamed or removed here: see ensure_boards */
} T = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .changed = PTHREAD_COND_INITIALIZER,
};

/* Waits for T.changed: for another thread's listing or sizes, which come from the network.
 * Lock held. */
static void wait_changed(void)
{
	loop_will_wait();
	pthread_cond_wait(&T.changed, &T.lock);
}

/* qsort that takes an empty, possibly NULL, array: an empty board has no pins array. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool fresh(double at)
{
	return now_s() - at < T.ttl;
}

/* Now as a pin's changed_at: seconds after T.epoch, never 0 (a clock set back gives 1). Four
 * bytes last 136 years. */
static uint32_t change_stamp(void)
{
	time_t d = time(NULL) - T.epoch;

	return d < 1 ? 1 : d >= (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* ---- listings: fetched unlocked, built unlocked, installed under the lock ---- */

/* A pin's name in the listing before this one: names stay while a mount runs. */
struct kept {
	char *id, *name;
};

struct listing {
	const char *board_id; /* what the pins are packed against: see pinrec_pack */
	struct section **secs;
	size_t nsecs, cap_secs;
	struct pinrec **pins;
	size_t npins, cap_pins;
	struct kept *kept; /* sorted by id */
	size_t nkept;
	/* What the pages held, and how much of it could not be used: said once a listing. */
	size_t sec_items, sec_skips, pin_items, pin_skips;
};

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return true;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(*arr, *cap * size);
	if (!p)
		return false;
	*arr = p;
	return true;
}

static bool id_ok(const char *id);

static int collect_section(const cJSON *it, void *ctx)
{
	struct listing *l = ctx;
	struct section *s = section_from_json(it);

	l->sec_items++;
	/* A section's id goes into API paths too (/boards/B/sections/S). Counted, and said
	 * once for the listing (tidy_listing). */
	if (!s || !id_ok(s->id)) {
		l->sec_skips++;
		section_free(s);
		return 0;
	}
	if (!grow((void **)&l->secs, &l->cap_secs, l->nsecs, sizeof(*l->secs))) {
		section_free(s);
		return -ENOMEM;
	}
	l->secs[l->nsecs++] = s;
	return 0;
}

static bool id_ok(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	/* Ids go into URLs and paths: only the characters Pinterest uses. */
	return len > 0 && len <= TREE_ID_MAX &&
	       strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == len;
}

static int collect_pin(const cJSON *it, void *ctx)
{
	struct listing *l = ctx;
	struct pin *p = pin_from_json(it, T.image_size);
	struct pinrec *r;

	l->pin_items++;
	if (!p || !id_ok(p->id)) {
		l->pin_skips++;
		pin_free(p);
		return 0;
	}
	r = pinrec_pack(p, l->board_id);
	pin_free(p);
	if (!r || !grow((void **)&l->pins, &l->cap_pins, l->npins, sizeof(*l->pins))) {
		free(r);
		return -ENOMEM;
	}
	l->pins[l->npins++] = r;
	return 0;
}

static void listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->nsecs; i++)
		section_free(l->secs[i]);
	for (size_t i = 0; i < l->npins; i++)
		free(l->pins[i]);
	for (size_t i = 0; i < l->nkept; i++) {
		free(l->kept[i].id);
		free(l->kept[i].name);
	}
	free(l->kept);
	free(l->secs);
	free(l->pins);
	memset(l, 0, sizeof(*l));
}

static int cmp_kept(const void *a, const void *b)
{
	return strcmp(((const struct kept *)a)->id, ((const struct kept *)b)->id);
}

/* Copies the names bn's pins have now into l, for build() to keep. Lock held. */
static int keep_names(const struct board_node *bn, struct listing *l)
{
	l->kept = calloc(bn->npins ? bn->npins : 1, sizeof(*l->kept));
	if (!l->kept)
		return -ENOMEM;
	for (size_t i = 0; i < bn->npins; i++) {
		const struct pin_node *pn = &bn->pins[i];
		struct kept *k = &l->kept[l->nkept];

		k->id = strdup(pinrec_id(pn->rec));
		k->name = strdup(pin_name(pn));
		if (!k->id || !k->name) {
			free(k->id);
			free(k->name);
			return -ENOMEM;
		}
		l->nkept++;
	}
	sort(l->kept, l->nkept, sizeof(*l->kept), cmp_kept);
	return 0;
}

static const char *kept_name(const struct listing *l, const char *id)
{
	struct kept key = {.id = (char *)id}, *hit;

	hit = l->nkept ? bsearch(&key, l->kept, l->nkept, sizeof(*l->kept), cmp_kept) : NULL;
	return hit ? hit->name : NULL;
}

/* ---- what a listing's pages held that cannot be shown ----
 *
 * Items without a usable id are skipped as they come; each listing says once how many. An id
 * met twice in one listing (a server that repeats an item across pages) would show one pin
 * under two names, or one board as two folders, and acting on one name would leave the other
 * a ghost: only the first of each id is kept, and the listing says so once. */

/* The id of item i of a listing's array, for mark_repeats. */
typedef const char *(*id_at_fn)(const void *ctx, size_t i);

/* Marks in gone[] each of items 0..n-1 whose id an earlier one has (the first keeps its
 * place). Returns how many, or -ENOMEM. */
static long mark_repeats(size_t n, id_at_fn id_at, const void *ctx, bool *gone)
{
	size_t cap = 16;
	uint32_t *slots; /* 1 + the index of the first item of an id, or 0 */
	long repeats = 0;

	while (cap < n * 2)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *id = id_at(ctx, i);
		size_t h = cache_key(id) & (cap - 1);

		while (slots[h] && strcmp(id_at(ctx, slots[h] - 1), id) != 0)
			h = (h + 1) & (cap - 1);
		gone[i] = slots[h] != 0;
		if (gone[i])
			repeats++;
		else
			slots[h] = (uint32_t)(i + 1);
	}
	free(slots);
	return repeats;
}

/* The one line a listing gets for its skipped items, and the one for its repeated ids. */
static void say_skipped(const char *route, const char *what, size_t skips, size_t items)
{
	if (skips)
		log_warn("GET %s: skipping %s: %zu of %zu items", route, what, skips, items);
}

static void say_repeats(const char *route, long repeats, const char *what, const char *id)
{
	log_warn("GET %s: dropping %ld item(s) that repeat an earlier one's id (%s %s)", route,
		 repeats, what, id);
}

static const char *pin_id_at(const void *ctx, size_t i)
{
	return pinrec_id(((const struct listing *)ctx)->pins[i]);
}

static const char *sec_id_at(const void *ctx, size_t i)
{
	return ((const struct listing *)ctx)->secs[i]->id;
}

/* Drops l's repeated pins and sections (gone: room for the larger count). */
static int drop_repeats(const char *board_id, struct listing *l, bool *gone)
{
	char route[TREE_ID_MAX + 32];
	long repeats = mark_repeats(l->npins, pin_id_at, l, gone);
	size_t kept = 0;

	if (repeats < 0)
		return (int)repeats;
	snprintf(route, sizeof(route), "/boards/%s/pins", board_id);
	for (size_t i = 0; i < l->npins; i++) {
		if (gone[i] && repeats > 0) {
			say_repeats(route, repeats, "pin", pinrec_id(l->pins[i]));
			repeats = 0;
		}
		if (gone[i])
			free(l->pins[i]);
		else
			l->pins[kept++] = l->pins[i];
	}
	l->npins = kept;
	repeats = mark_repeats(l->nsecs, sec_id_at, l, gone);
	if (repeats < 0)
		return (int)repeats;
	snprintf(route, sizeof(route), "/boards/%s/sections", board_id);
	kept = 0;
	for (size_t i = 0; i < l->nsecs; i++) {
		if (gone[i] && repeats > 0) {
			say_repeats(route, repeats, "section", l->secs[i]->id);
			repeats = 0;
		}
		if (gone[i])
			section_free(l->secs[i]);
		else
			l->secs[kept++] = l->secs[i];
	}
	l->nsecs = kept;
	return 0;
}

/* A board's pages are in: what could not be used is said, repeated ids are dropped. */
static int tidy_listing(const char *board_id, struct listing *l)
{
	char route[TREE_ID_MAX + 32];
	bool *gone = calloc(l->npins > l->nsecs ? l->npins + 1 : l->nsecs + 1, sizeof(*gone));
	int result;

	if (!gone)
		return -ENOMEM;
	snprintf(route, sizeof(route), "/boards/%s/sections", board_id);
	say_skipped(route, "a section without a usable id or name", l->sec_skips, l->sec_items);
	snprintf(route, sizeof(route), "/boards/%s/pins", board_id);
	say_skipped(route, "a pin without a usable id", l->pin_skips, l->pin_items);
	result = drop_repeats(board_id, l, gone);
	free(gone);
	return result;
}

struct sections_job {
	char path[TREE_ID_MAX + 32];
	struct listing *l;
	int result;
};

static void *fetch_sections(void *arg)
{
	struct sections_job *job = arg;

	job->result = api_list(job->path, true, collect_section, job->l);
	return NULL;
}

static int fetch_listing(const char *board_id, struct listing *l)
{
	struct sections_job job = {.l = l};

	l->board_id = board_id;
	char path[TREE_ID_MAX + 32];
	pthread_t thread;
	bool threaded;
	int result;

	/* Sections and pins are independent walks: side by side they cost one page's wait less.
	 * They fill different arrays of l, so they need no lock. */
	snprintf(job.path, sizeof(job.path), "/boards/%s/sections", board_id);
	threaded = pthread_create(&thread, NULL, fetch_sections, &job) == 0;
	if (!threaded)
		fetch_sections(&job);
	/* The board's pin listing carries its sections' pins too: one walk serves all. */
	snprintf(path, sizeof(path), "/boards/%s/pins", board_id);
	result = api_list(path, true, collect_pin, l);
	if (threaded)
		pthread_join(thread, NULL);
	if (!result)
		result = job.result;
	return result ? result : tidy_listing(board_id, l);
}

/* A board's freshly built contents, ready to swap into its node. */
struct built {
	struct section_node *secs;
	size_t nsecs;
	struct pin_node *pins;
	size_t npins;
	struct folder top;
	char *block; /* see pack_pins; NULL: each record and name is its own allocation */
};

static void folders_release(struct section_node *secs, size_t nsecs, struct pin_node *pins,
			    size_t npins, struct folder *top, char *block)
{
	for (size_t i = 0; i < nsecs; i++) {
		section_free(secs[i].sec);
		free(secs[i].dname);
		free(secs[i].f.pins);
	}
	for (size_t i = 0; !block && i < npins; i++) {
		free(pins[i].rec);
		free(pins[i].name);
	}
	free(block);
	free(secs);
	free(pins);
	free(top->pins);
	top->pins = NULL;
	top->n = 0;
}

static int cmp_pin_age(const void *a, const void *b)
{
	const struct pinrec *x = *(struct pinrec *const *)a, *y = *(struct pinrec *const *)b;
	const char *xid = pinrec_id(x), *yid = pinrec_id(y);

	if (pinrec_created(x) != pinrec_created(y))
		return pinrec_created(x) < pinrec_created(y) ? -1 : 1;
	/* Same second: the shorter id is the older one, then lexical order. */
	if (strlen(xid) != strlen(yid))
		return strlen(xid) < strlen(yid) ? -1 : 1;
	return strcmp(xid, yid);
}

static int name_sections(struct built *o, struct listing *l)
{
	struct name_slot *slots = calloc(l->nsecs ? l->nsecs : 1, sizeof(*slots));
	int result = -ENOMEM;

	o->secs = calloc(l->nsecs ? l->nsecs : 1, sizeof(*o->secs));
	if (!slots || !o->secs)
		goto out;
	for (size_t i = 0; i < l->nsecs; i++)
		slots[i] = (struct name_slot){.title = l->secs[i]->name, .id = l->secs[i]->id};
	result = names_assign(slots, l->nsecs, NULL);
	if (result)
		goto out;
	for (size_t i = 0; i < l->nsecs; i++) {
		o->secs[i].sec = l->secs[i];
		o->secs[i].dname = slots[i].name;
		l->secs[i] = NULL;
	}
	o->nsecs = l->nsecs;
	l->nsecs = 0;
out:
	free(slots);
	return result;
}

/* The index among secs[0..nsecs) of the section section_id, or -1: the board's top. */
static int32_t section_index(const struct section_node *secs, size_t nsecs, const char *section_id)
{
	if (!section_id)
		return -1;
	for (size_t i = 0; i < nsecs; i++)
		if (strcmp(secs[i].sec->id, section_id) == 0)
			return (int32_t)i;
	return -1; /* a section we have not seen: show the pin at the board's top */
}

static uint8_t ext_index(const char *ext)
{
	for (uint8_t i = 1; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcmp(exts[i], ext) == 0)
			return i;
	return 0;
}

/* The index in exts[] of the extension of the image at url of the pin id; 0 when it has
 * none. A file copied in keeps the extension of the name it was given, across remounts
 * (pinstore.h). */
static uint8_t ext_for(const char *id, const char *url)
{
	struct pinstore_rec kept;
	const char *given;
	uint8_t ext = 0;

	if (!url)
		return 0;
	if (pinstore_get(id, &kept) == 0) {
		names_strip_ext(kept.name, &given);
		ext = ext_index(given);
	}
	return ext ? ext : ext_index(names_ext_for_url(url));
}

static uint8_t ext_of(const struct pinrec *r)
{
	return ext_for(pinrec_id(r), pinrec_image_url(r));
}

/* Names the pins of one folder (pins[] holds them oldest first) and fills their nodes. */
static int name_pins(struct built *o, struct pinrec **pins, size_t n, int32_t folder,
		     const char *const *reserved, const struct listing *l)
{
	struct name_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	int result = -ENOMEM;

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *id = pinrec_id(pins[i]);

		slots[i] = (struct name_slot){pinrec_title(pins[i]), id, 5 /* ".json" */,
					      kept_name(l, id), NULL};
	}
	result = names_assign(slots, n, reserved);
	if (result)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct pin_node *pn = &o->pins[o->npins];
		const char *url = pinrec_image_url(pins[i]);

		/* Most titles are their own file names: those are not kept twice. */
		if (!slots[i].title || strcmp(slots[i].name, slots[i].title) != 0) {
			pn->name = slots[i].name;
			slots[i].name = NULL;
		}
		pn->rec = pins[i];
		pn->ext = ext_of(pins[i]);
		pn->folder = folder;
		pn->size = url ? cache_size_get(url) : -1;
		pn->json_len = -1;
		pn->told = 0;
		pn->waited = false;
		pins[i] = NULL;
		o->npins++;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(slots[i].name);
	free(slots);
	return result;
}

/* Bases that pin names must not take because a section's name already has that form. */
static const char **section_reserved(const struct built *o)
{
	const char **r = calloc(o->nsecs + 1, sizeof(*r));

	if (!r)
		return NULL;
	for (size_t i = 0, k = 0; i < o->nsecs; i++) {
		const char *ext;
		size_t len = names_strip_ext(o->secs[i].dname, &ext);

		if (*ext)
			r[k++] = strndup(o->secs[i].dname, len);
	}
	return r;
}

/* Orders a folder's pin indexes by name. */
static int cmp_pin_name(const void *a, const void *b, void *ctx)
{
	const struct pin_node *pins = ctx;

	return strcmp(pin_name(&pins[*(const uint32_t *)a]), pin_name(&pins[*(const uint32_t *)b]));
}

static struct folder *folder_of(struct section_node *secs, struct folder *top, int32_t folder)
{
	return folder < 0 ? top : &secs[folder].f;
}

/* Gives each folder the sorted indexes of its pins: counted first, so each array is
 * allocated once at its size. */
static int index_folders(struct built *o)
{
	for (size_t i = 0; i < o->npins; i++)
		folder_of(o->secs, &o->top, o->pins[i].folder)->n++;
	for (size_t k = 0; k <= o->nsecs; k++) {
		struct folder *f = k < o->nsecs ? &o->secs[k].f : &o->top;

		f->pins = malloc((f->n ? f->n : 1) * sizeof(*f->pins));
		if (!f->pins)
			return -ENOMEM;
		f->n = 0;
	}
	for (size_t i = 0; i < o->npins; i++) {
		struct folder *f = folder_of(o->secs, &o->top, o->pins[i].folder);

		f->pins[f->n++] = (uint32_t)i;
	}
	for (size_t k = 0; k <= o->nsecs; k++) {
		struct folder *f = k < o->nsecs ? &o->secs[k].f : &o->top;

		if (f->n > 1)
			qsort_r(f->pins, f->n, sizeof(*f->pins), cmp_pin_name, o->pins);
	}
	return 0;
}

/* Groups the listing's pins by folder, oldest first, and names each group. */
static int name_all_pins(struct built *o, struct listing *l)
{
	struct pinrec **group = malloc((l->npins ? l->npins : 1) * sizeof(*group));
	const char **reserved = section_reserved(o);
	int result = -ENOMEM;

	o->pins = calloc(l->npins ? l->npins : 1, sizeof(*o->pins));
	if (!group || !reserved || !o->pins)
		goto out;
	sort(l->pins, l->npins, sizeof(*l->pins), cmp_pin_age);
	result = 0;
	for (int32_t folder = -1; !result && folder < (int32_t)o->nsecs; folder++) {
		size_t n = 0;

		for (size_t i = 0; i < l->npins; i++)
			if (l->pins[i] && section_index(o->secs, o->nsecs,
							pinrec_section_id(l->pins[i])) == folder)
				group[n++] = l->pins[i];
		result = name_pins(o, group, n, folder, folder < 0 ? reserved : NULL, l);
		/* name_pins took the pins it named: drop them from the listing. */
		for (size_t i = 0, k = 0; i < l->npins && k < n; i++)
			if (l->pins[i] && section_index(o->secs, o->nsecs,
							pinrec_section_id(l->pins[i])) == folder)
				l->pins[i] = group[k++];
	}
out:
	for (size_t i = 0; reserved && reserved[i]; i++)
		free((char *)reserved[i]);
	free(reserved);
	free(group);
	return result;
}

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

/* Moves every record and name of o into one allocation. A walk keeps 100 000 pins: one block
 * per board costs no malloc overhead per pin, and it is not scattered over the heap between
 * the pages' JSON freed meanwhile, which would keep the heap's pages from being given back. */
static int pack_pins(struct built *o)
{
	size_t total = 1, at = 0;

	for (size_t i = 0; i < o->npins; i++)
		total += ALIGN8(pinrec_bytes(o->pins[i].rec)) +
			 (o->pins[i].name ? strlen(o->pins[i].name) + 1 : 0);
	o->block = malloc(total);
	if (!o->block)
		return -ENOMEM;
	/* Records first, each at a multiple of 8 (they hold an int64_t), then the names. */
	for (size_t i = 0; i < o->npins; i++) {
		struct pin_node *pn = &o->pins[i];
		size_t len = pinrec_bytes(pn->rec);

		memcpy(o->block + at, pn->rec, len);
		free(pn->rec);
		pn->rec = (struct pinrec *)(void *)(o->block + at);
		at += ALIGN8(len);
	}
	for (size_t i = 0; i < o->npins; i++) {
		struct pin_node *pn = &o->pins[i];
		size_t len = pn->name ? strlen(pn->name) + 1 : 0;

		if (!len)
			continue;
		memcpy(o->block + at, pn->name, len);
		free(pn->name);
		pn->name = o->block + at;
		at += len;
	}
	return 0;
}

static int build(struct listing *l, struct built *o)
{
	int result;

	memset(o, 0, sizeof(*o));
	result = name_sections(o, l);
	if (!result)
		result = name_all_pins(o, l);
	if (!result)
		result = pack_pins(o);
	if (!result)
		result = index_folders(o);
	if (result)
		folders_release(o->secs, o->nsecs, o->pins, o->npins, &o->top, o->block);
	return result;
}

/* ---- boards ---- */

struct board_vec {
	struct board **v;
	size_t n, cap;
	size_t items, skips; /* of GET /boards's pages: see tidy_boards */
};

static int collect_board(const cJSON *it, void *ctx)
{
	struct board_vec *bv = ctx;
	struct board *b = board_from_json(it);

	bv->items++;
	if (!b || !id_ok(b->id)) {
		bv->skips++;
		board_free(b);
		return 0;
	}
	if (!grow((void **)&bv->v, &bv->cap, bv->n, sizeof(*bv->v))) {
		board_free(b);
		return -ENOMEM;
	}
	bv->v[bv->n++] = b;
	return 0;
}

static int cmp_board_age(const void *a, const void *b)
{
	const struct board *x = *(struct board *const *)a, *y = *(struct board *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int cmp_node_dname(const void *a, const void *b)
{
	return strcmp((*(struct board_node *const *)a)->dname,
		      (*(struct board_node *const *)b)->dname);
}

static struct board_node *find_board_id(const char *id)
{
	for (size_t i = 0; i < T.nboards; i++)
		if (strcmp(T.boards[i]->b->id, id) == 0)
			return T.boards[i];
	return NULL;
}

static struct board_node *find_board_name(const char *dname)
{
	struct board_node key = {.dname = (char *)dname}, *kp = &key, **hit;

	hit =
	    T.nboards ? bsearch(&kp, T.boards, T.nboards, sizeof(*T.boards), cmp_node_dname) : NULL;
	return hit ? *hit : NULL;
}

static void bury(struct board_node *bn)
{
	struct board_node **d = realloc(T.dead, (T.ndead + 1) * sizeof(*d));

	bn->gone = true;
	if (!d)
		return; /* it leaks until exit; it is never used again */
	T.dead = d;
	T.dead[T.ndead++] = bn;
}

/* bn's board becomes b (taken): .board.json changed now when its text is not the same. Lock
 * held. */
static void set_board(struct board_node *bn, struct board *b)
{
	char *was = bn->b ? meta_board_json(bn->b) : NULL;
	char *is = bn->b ? meta_board_json(b) : NULL;

	/* Out of memory, it is taken as changed: a copy made again beats one left behind. */
	if (bn->b && (!was || !is || strcmp(was, is) != 0))
		bn->json_mtime = time(NULL);
	free(was);
	free(is);
	board_free(bn->b);
	bn->b = b;
}

/* Swaps in a new list of boards, keeping each known board's node (and its listing). Takes
 * the boards; names are given (one per board, same order). Lock held. */
static int install_boards(struct board_vec *bv, char **names)
{
	struct board_node **nodes = calloc(bv->n ? bv->n : 1, sizeof(*nodes));
	bool differ = bv->n != T.nboards; /* boards/'s names: see boards_mtime */

	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < bv->n; i++) {
		struct board_node *bn = find_board_id(bv->v[i]->id);

		if (!bn && !(bn = calloc(1, sizeof(*bn)))) {
			for (size_t k = 0; k < i; k++)
				if (!nodes[k]->b)
					free(nodes[k]);
			free(nodes);
			return -ENOMEM;
		}
		nodes[i] = bn;
	}
	for (size_t i = 0; i < T.nboards; i++) {
		bool kept = false;

		for (size_t k = 0; k < bv->n && !kept; k++)
			kept = nodes[k] == T.boards[i];
		if (!kept)
			bury(T.boards[i]);
	}
	for (size_t i = 0; i < bv->n; i++) {
		differ |= !nodes[i]->b || strcmp(nodes[i]->dname, names[i]) != 0;
		set_board(nodes[i], bv->v[i]);
		free(nodes[i]->dname);
		nodes[i]->dname = names[i];
		names[i] = NULL;
		bv->v[i] = NULL;
	}
	if (differ && T.boards_seen)
		T.boards_mtime = time(NULL);
	T.boards_seen = true;
	free(T.boards);
	T.boards = nodes;
	T.nboards = bv->n;
	sort(T.boards, T.nboards, sizeof(*T.boards), cmp_node_dname);
	return 0;
}

static const char *board_id_at(const void *ctx, size_t i)
{
	return ((const struct board_vec *)ctx)->v[i]->id;
}

/* GET /boards's pages are in: what could not be used is said, repeated ids are dropped.
 * Here, not in the walk: the walk made while mounting runs with its thread's log quieted
 * (its failures are the token check's to tell), and this runs where its list is installed. */
static int tidy_boards(struct board_vec *bv)
{
	bool *gone = calloc(bv->n + 1, sizeof(*gone));
	long repeats = gone ? mark_repeats(bv->n, board_id_at, bv, gone) : -ENOMEM;
	size_t kept = 0;

	say_skipped("/boards", "a board without a usable id or name", bv->skips, bv->items);
	bv->skips = bv->items = 0; /* said once */
	for (size_t i = 0; repeats >= 0 && i < bv->n; i++) {
		if (gone[i] && repeats > 0) {
			say_repeats("/boards", repeats, "board", bv->v[i]->id);
			repeats = 0;
		}
		if (gone[i])
			board_free(bv->v[i]);
		else
			bv->v[kept++] = bv->v[i];
	}
	if (repeats >= 0)
		bv->n = kept;
	free(gone);
	return repeats < 0 ? (int)repeats : 0;
}

/* Names bv's boards (sorting them by age). A list fresh from GET /boards (its items counted)
 * is tidied first. NULL when out of memory. */
static char **name_boards(struct board_vec *bv)
{
	struct name_slot *slots = NULL;
	char **names = NULL;

	if (bv->items && tidy_boards(bv))
		return NULL;
	slots = calloc(bv->n ? bv->n : 1, sizeof(*slots));
	names = calloc(bv->n ? bv->n : 1, sizeof(*names));
	if (!slots || !names)
		goto fail;
	sort(bv->v, bv->n, sizeof(*bv->v), cmp_board_age);
	for (size_t i = 0; i < bv->n; i++)
		slots[i] = (struct name_slot){.title = bv->v[i]->name, .id = bv->v[i]->id};
	if (names_assign(slots, bv->n, NULL))
		goto fail;
	for (size_t i = 0; i < bv->n; i++)
		names[i] = slots[i].name;
	free(slots);
	return names;
fail:
	free(slots);
	free(names);
	return NULL;
}

/* Makes the list of boards fresh. Lock held on entry and on return; dropped meanwhile. */
static int ensure_boards(void)
{
	struct board_vec bv = {0};
	char **names = NULL;
	uint64_t changes;
	bool stale;
	int result;

	while (T.boards_busy)
		wait_changed();
	if (T.boards_listed && fresh(T.boards_at))
		return 0;
	T.boards_busy = true;
	changes = T.board_changes;
	pthread_mutex_unlock(&T.lock);
	result = api_list("/boards", true, collect_board, &bv);
	if (!result && !(names = name_boards(&bv)))
		result = -ENOMEM;
	pthread_mutex_lock(&T.lock);
	stale = T.board_changes != changes;
	if (!result && stale && T.boards_listed) {
		/* A board was made, renamed or removed here while the list was on its way: the
		 * list may predate it (mv of a board, then rm in it, would find the old name).
		 * The boards as they are now stand; the next look asks again. */
		log_debug("boards changed while listed: the list is asked again at the next look");
	} else if (!result) {
		result = install_boards(&bv, names);
		if (!result && !stale) {
			T.boards_listed = true;
			T.boards_at = now_s();
		}
	} else if (T.boards_listed && (result == -EIO || result == -EAGAIN)) {
		/* The server is down or overloaded: the boards and listings as last seen beat an
		 * error (ls of a cached folder answers offline); asked for again after a TTL. */
		log_info("keeping the boards as last listed: %s", strerror(-result));
		T.boards_at = now_s();
		result = 0;
	}
	T.boards_busy = false;
	pthread_cond_broadcast(&T.changed);
	for (size_t i = 0; i < bv.n; i++) {
		board_free(bv.v[i]);
		if (names)
			free(names[i]);
	}
	free(names);
	free(bv.v);
	return result;
}

/* Frees the records and names insert_pin added beside bn's block. Lock held. */
static void loose_release(struct board_node *bn)
{
	for (size_t i = 0; i < bn->nloose; i++)
		free(bn->loose[i]);
	free(bn->loose);
	bn->loose = NULL;
	bn->nloose = 0;
}

/* bn's pins' indexes are no longer those its size sweeps under way hold: each sweep sees the
 * generation move and writes no size through its old ones. Lock held. */
static void new_generation(struct board_node *bn)
{
	bn->gen++;
	bn->old_sweeps = bn->sweeps;
}

/* A pin was made, moved or deleted here: a listing on its way may predate it (ensure_listed),
 * and the account's pins have a new version (tree_pins_version). Lock held. */
static void count_edit(struct board_node *bn)
{
	T.changes++;
	bn->edits++;
}

static bool same_str(const char *a, const char *b);
static int32_t find_section(const struct board_node *bn, const char *dname);

/* Whether two records of a pin of bn render the same sidecar: every field of their views
 * agrees. Not a memcmp of pinrec_bytes: a record's strings begin inside struct pinrec's tail
 * padding, which pinrec_bytes counts, so its last bytes are never written. Lock held. */
static bool same_record(const struct board_node *bn, const struct pinrec *a, const struct pinrec *b)
{
	struct pin_view x, y;
	const struct pin *p = &x.pin, *q = &y.pin;

	if (pinrec_created(a) != pinrec_created(b))
		return false;
	pinrec_view(a, bn->b->id, &x);
	pinrec_view(b, bn->b->id, &y);
	return p->width == q->width && p->height == q->height && same_str(p->id, q->id) &&
	       same_str(p->board_id, q->board_id) && same_str(p->section_id, q->section_id) &&
	       same_str(p->title, q->title) && same_str(p->description, q->description) &&
	       same_str(p->link, q->link) && same_str(p->alt_text, q->alt_text) &&
	       same_str(p->dominant_color, q->dominant_color) &&
	       same_str(p->creative_type, q->creative_type) &&
	       same_str(p->media_type, q->media_type) && same_str(p->created_at, q->created_at) &&
	       same_str(p->image_url, q->image_url) && same_str(p->size_key, q->size_key);
}

/* Carries into f, a folder of o, the times of was, the folder of bn it follows (NULL: none).
 * Both are sorted by name, so they are merged without a look-up per pin: a pin under a name
 * was has keeps its changed_at while its record says the same, else gets stamp; a pin under a
 * new name (new, moved in, retitled) gets stamp. When the names differ, f changed now. Lock
 * held. */
static void carry_folder(const struct board_node *bn, const struct folder *was, struct built *o,
			 struct folder *f, uint32_t stamp)
{
	size_t i = 0, n = was ? was->n : 0;
	bool differ = !was;

	for (size_t j = 0; j < f->n; j++) {
		struct pin_node *pn = &o->pins[f->pins[j]];
		const struct pin_node *old = NULL;
		int c = 1;

		while (i < n && (c = strcmp(pin_name(&bn->pins[was->pins[i]]), pin_name(pn))) < 0) {
			differ = true; /* a name gone */
			i++;
		}
		if (i < n && c == 0)
			old = &bn->pins[was->pins[i++]];
		differ |= !old;
		pn->changed_at =
		    old && same_record(bn, old->rec, pn->rec) ? old->changed_at : stamp;
	}
	differ |= i < n;
	f->mtime = differ ? time(NULL) : was->mtime;
}

/* Carries into o, the listing about to replace bn's, when bn's files changed, and notes what
 * differs: a sidecar whose record says something else, a folder whose names are not the same
 * (a pin or a section come, gone or renamed). Sections are matched by folder name: one under a
 * new name is a new folder (a rebuild has taken the old ones' objects). Lock held. */
static void carry_times(const struct board_node *bn, struct built *o)
{
	uint32_t stamp = change_stamp();
	bool differ = o->nsecs != bn->nsecs;

	for (size_t k = 0; k < o->nsecs; k++) {
		int32_t was = find_section(bn, o->secs[k].dname);

		differ |= was < 0;
		carry_folder(bn, was < 0 ? NULL : &bn->secs[was].f, o, &o->secs[k].f, stamp);
	}
	carry_folder(bn, &bn->top, o, &o->top, stamp);
	if (differ)
		o->top.mtime = time(NULL);
}

/* Frees bn's listing and makes o its new one, which learns from the one before when its files
 * changed. Lock held. */
static void take_built(struct board_node *bn, struct built *o)
{
	if (bn->seen)
		carry_times(bn, o);
	bn->seen = true;
	folders_release(bn->secs, bn->nsecs, bn->pins, bn->npins, &bn->top, bn->block);
	loose_release(bn);
	bn->secs = o->secs;
	bn->nsecs = o->nsecs;
	bn->pins = o->pins;
	bn->npins = o->npins;
	bn->top = o->top;
	bn->block = o->block;
	new_generation(bn);
}

static void install_listing(struct board_node *bn, struct built *o, char *stamp)
{
	take_built(bn, o);
	free(bn->stamp);
	bn->stamp = stamp;
	bn->listed = true;
	bn->listed_at = now_s();
}

/* The board's pins modified stamp is unchanged since its listing: the listing still holds. */
static bool unchanged(const struct board_node *bn)
{
	return bn->stamp && bn->b->pins_modified_at &&
	       strcmp(bn->stamp, bn->b->pins_modified_at) == 0;
}

/* Makes bn's listing fresh. Lock held on entry and on return; dropped meanwhile. */
static int ensure_listed(struct board_node *bn)
{
	struct listing l = {0};
	struct built o;
	char id[TREE_ID_MAX + 1], *stamp;
	unsigned edits;
	int result;

	for (;;) {
		while (bn->busy)
			wait_changed();
		if (bn->gone)
			return -ENOENT;
		if (bn->listed && fresh(bn->listed_at))
			return 0;
		if (!bn->listed)
			break;
		/* One GET /boards page tells whether this board changed at all. */
		result = ensure_boards();
		if (result)
			return result;
		if (bn->busy)
			continue;
		if (bn->gone)
			return -ENOENT;
		if (!unchanged(bn))
			break;
		bn->listed_at = now_s();
		return 0;
	}
	bn->busy = true;
	snprintf(id, sizeof(id), "%s", bn->b->id);
	if (bn->listed && keep_names(bn, &l)) {
		bn->busy = false;
		listing_release(&l);
		return -ENOMEM;
	}
	stamp = bn->b->pins_modified_at ? strdup(bn->b->pins_modified_at) : NULL;
	edits = bn->edits;
	pthread_mutex_unlock(&T.lock);

	result = fetch_listing(id, &l);
	if (!result)
		result = build(&l, &o);
	listing_release(&l);
	/* The pages' JSON and the listing's objects were the biggest blocks freed: give their
	 * pages back, or they stay in the process's size after a walk of every board. */
	malloc_trim(0);

	pthread_mutex_lock(&T.lock);
	bn->busy = false;
	pthread_cond_broadcast(&T.changed);
	if (result) {
		if (!http_cancelled())
			log_warn("cannot list board %s: %s", id, strerror(-result));
		free(stamp);
		return result;
	}
	if (bn->listed && bn->edits != edits) {
		/* A pin was made, moved or deleted here while the listing was on its way: the
		 * listing may predate it (cp, then rm of the copy, would not find it). The
		 * listing as it is now stands, and is asked for again at the next look. */
		folders_release(o.secs, o.nsecs, o.pins, o.npins, &o.top, o.block);
		free(stamp);
		return bn->gone ? -ENOENT : 0;
	}
	install_listing(bn, &o, stamp);
	return bn->gone ? -ENOENT : 0;
}

/* ---- walks: find, grep -r and ls -R list every board; list them side by side ---- */

#define WALK_WINDOW_S	 2.0 /* two boards listed this close together after boards/: a walk */
#define PREFETCH_WORKERS 8   /* each lists sections and pins at once: 16 requests in flight */

static struct {
	double boards_read_at; /* readdir of boards/ */
	double board_read_at;  /* the last readdir of a board */
	char board_id[TREE_ID_MAX + 1];
	double started_at;
	bool started, running, stop;
	pthread_t thread;
	char (*ids)[TREE_ID_MAX + 1]; /* the boards to list, taken in order by the workers */
	size_t nids, next;
} W;

static void *prefetch_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&T.lock);
	while (!W.stop && W.next < W.nids) {
		struct board_node *bn = find_board_id(W.ids[W.next++]);

		/* ensure_listed drops the lock while it fetches: the workers overlap. */
		if (bn && !(bn->listed && fresh(bn->listed_at)))
			ensure_listed(bn);
	}
	pthread_mutex_unlock(&T.lock);
	return NULL;
}

static void *prefetch_run(void *arg)
{
	pthread_t workers[PREFETCH_WORKERS];
	int started = 0;

	(void)arg;
	for (; started < PREFETCH_WORKERS; started++)
		if (pthread_create(&workers[started], NULL, prefetch_worker, NULL))
			break;
	if (!started)
		prefetch_worker(NULL);
	for (int i = 0; i < started; i++)
		pthread_join(workers[i], NULL);
	pthread_mutex_lock(&T.lock);
	W.running = false;
	pthread_mutex_unlock(&T.lock);
	return NULL;
}

/* The pages of a board's pin listing, which come one after another. */
static long board_pages(const struct board_node *bn)
{
	long pins = bn->b->pin_count > 0 ? bn->b->pin_count : 0;

	return (pins + API_PAGE_SIZE - 1) / API_PAGE_SIZE;
}

/* Fills order with the indices of the n boards of T.boards that at[0..n) names, in the order
 * how (walk_order or prefetch_order) gives for their pages. Lock held. -ENOMEM, or 0. */
static int order_boards(const size_t *at, size_t n, void (*how)(const long *, size_t, size_t *),
			size_t *order)
{
	long *pages = calloc(n ? n : 1, sizeof(*pages));

	if (!pages)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		pages[i] = board_pages(T.boards[at ? at[i] : i]);
	how(pages, n, order);
	for (size_t i = 0; at && i < n; i++)
		order[i] = at[order[i]];
	free(pages);
	return 0;
}

/* Lists in the background every board not fresh yet but own, which its reader lists, in
 * prefetch_order (walkorder.h): the longest two first, whose chains of pages would end the
 * walk alone if started at their turn, then the walker's order. Lock held. */
static void prefetch_boards(const struct board_node *own)
{
	size_t *todo = calloc(T.nboards ? T.nboards : 1, sizeof(*todo));
	size_t *order = malloc((T.nboards ? T.nboards : 1) * sizeof(*order));
	size_t n = 0;

	free(W.ids);
	W.ids = malloc((T.nboards ? T.nboards : 1) * sizeof(*W.ids));
	W.nids = W.next = 0;
	if (!W.ids || !todo || !order)
		goto out;
	for (size_t i = 0; i < T.nboards; i++)
		if (!(T.boards[i]->listed && fresh(T.boards[i]->listed_at)) && !T.boards[i]->busy &&
		    T.boards[i] != own)
			todo[n++] = i;
	if (order_boards(todo, n, prefetch_order, order))
		goto out;
	for (size_t i = 0; i < n; i++)
		snprintf(W.ids[W.nids++], TREE_ID_MAX + 1, "%s", T.boards[order[i]]->b->id);
out:
	free(order);
	free(todo);
	if (!W.nids)
		return;
	if (W.started && !W.running) {
		pthread_join(W.thread, NULL);
		W.started = false;
	}
	W.running = true;
	W.started_at = now_s();
	if (pthread_create(&W.thread, NULL, prefetch_run, NULL) == 0) {
		W.started = true;
		log_debug("walk seen: listing %zu boards ahead", W.nids);
	} else {
		W.running = false;
	}
}

/* A walk seen at time now, whose walker reads bn: the other boards are listed ahead, when
 * boards/ was read within the TTL and no walk runs or began within it. Lock held. */
static void walk_seen(const struct board_node *bn, double now)
{
	if (now - W.boards_read_at < T.ttl && !W.running && !W.stop && now - W.started_at >= T.ttl)
		prefetch_boards(bn);
}

/* Notes a readdir of a board. A second board read soon after another, after boards/ itself
 * was read, is a walk: the rest of the boards are listed ahead, side by side, instead of one
 * after another as the walker reaches them. A single `ls boards/X` lists nothing more. Lock
 * held. */
static void note_board_read(const struct board_node *bn)
{
	double now = now_s();
	bool walk = now - W.board_read_at < WALK_WINDOW_S && strcmp(W.board_id, bn->b->id) != 0;

	W.board_read_at = now;
	snprintf(W.board_id, sizeof(W.board_id), "%s", bn->b->id);
	if (walk)
		walk_seen(bn, now);
}

static void prefetch_stop(void)
{
	pthread_mutex_lock(&T.lock);
	W.stop = true;
	pthread_mutex_unlock(&T.lock);
	if (W.started)
		pthread_join(W.thread, NULL);
	W.started = false;
	free(W.ids);
	W.ids = NULL;
}

/* ---- resolving paths ---- */

struct where {
	enum node_type type;
	struct board_node *bn;
	struct folder *f; /* the folder holding the node, for pins */
	int32_t sec;	  /* section index, or -1 */
	struct pin_node *pn;
};

/* The pin of folder f whose name is base[0..len), or NULL. */
static struct pin_node *find_base(const struct board_node *bn, const struct folder *f,
				  const char *base, size_t len)
{
	for (size_t lo = 0, hi = f->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		struct pin_node *pn = &bn->pins[f->pins[mid]];
		const char *name = pin_name(pn);
		int c = strncmp(name, base, len);

		if (c == 0 && name[len] == '\0')
			return pn;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Finds the pin file called name in folder f: its sidecar ("<name>.json") or its image
 * ("<name><ext>"). Sets w's pin and type; false when there is none. */
static bool find_pin_file(struct where *w, struct folder *f, const char *name)
{
	size_t len = strlen(name);
	const char *dot = strrchr(name, '.');
	struct pin_node *pn;

	if (len > 5 && strcmp(name + len - 5, ".json") == 0 &&
	    (pn = find_base(w->bn, f, name, len - 5))) {
		w->type = NODE_PIN_JSON;
	} else if (dot && (pn = find_base(w->bn, f, name, (size_t)(dot - name))) && pn->ext &&
		   strcmp(exts[pn->ext], dot) == 0) {
		w->type = NODE_PIN_IMAGE;
	} else {
		return false;
	}
	w->f = f;
	w->pn = pn;
	return true;
}

static int32_t find_section(const struct board_node *bn, const char *dname)
{
	for (size_t i = 0; i < bn->nsecs; i++)
		if (strcmp(bn->secs[i].dname, dname) == 0)
			return (int32_t)i;
	return -1;
}

static int resolve_in_board(struct where *w, char **c, int depth)
{
	struct folder *f = &w->bn->top;
	int result = ensure_listed(w->bn);

	if (result)
		return result;
	w->sec = find_section(w->bn, c[2]);
	if (w->sec >= 0) {
		if (depth == 3) {
			w->type = NODE_SECTION;
			return 0;
		}
		if (depth > 4)
			return -ENOENT;
		f = &w->bn->secs[w->sec].f;
		c++;
	} else if (strcmp(c[2], ".board.json") == 0) {
		w->type = NODE_BOARD_JSON;
		return depth == 3 ? 0 : -ENOTDIR;
	}
	if (find_pin_file(w, f, c[2]))
		return depth == 3 + (w->sec >= 0) ? 0 : -ENOTDIR;
	return -ENOENT;
}

/* Finds path in the tree, fetching what it needs. Lock held on entry and on return. On
 * success w's pointers are valid until the lock is next dropped. */
static int resolve(const char *path, struct where *w)
{
	char buf[PATH_MAX], *c[8], *save = NULL, *tok;
	int depth = 0, result;

	memset(w, 0, sizeof(*w));
	w->sec = -1;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (depth == 8)
			return -ENOENT;
		c[depth++] = tok;
	}
	if (depth == 0) {
		w->type = NODE_ROOT;
		return 0;
	}
	if (depth == 1 && strcmp(c[0], "me.json") == 0) {
		w->type = NODE_ME_JSON;
		return 0;
	}
	if (strcmp(c[0], "boards") != 0)
		return -ENOENT;
	if (depth == 1) {
		w->type = NODE_BOARDS;
		return 0;
	}
	result = ensure_boards();
	if (result)
		return result;
	w->bn = find_board_name(c[1]);
	if (!w->bn)
		return -ENOENT;
	if (depth == 2) {
		w->type = NODE_BOARD;
		return 0;
	}
	return resolve_in_board(w, c, depth);
}

/* ---- sizes ---- */

/* A folder's sweep: the HEADs of every image in it whose size is not known, in a thread of
 * its own, so that the stat that started it (and each one after) waits only for its own
 * image's size, not for the whole folder's: a thumbnailer's open goes on while the rest of
 * the folder is learnt. ls -l, which wants every size, still waits for every one. */
struct sweep {
	struct board_node *bn; /* board nodes live until unmount */
	unsigned gen;	       /* the listing swept; pins[] below index its pins */
	struct folder *f;      /* valid while bn->gen == gen */
	char **urls;
	size_t *pins; /* pins[i]: the index in bn->pins of urls[i]'s pin */
	int64_t *sizes;
	size_t n;
};

static struct {
	unsigned running; /* sweep threads not finished */
} S;

static void sweep_free(struct sweep *sw)
{
	for (size_t i = 0; i < sw->n; i++)
		free(sw->urls[i]);
	free(sw->urls);
	free(sw->pins);
	free(sw->sizes);
	free(sw);
}

/* One size learnt: kept on disk, and shown at once to those waiting for it. */
static void sweep_learnt(size_t i, int64_t size, void *ctx)
{
	struct sweep *sw = ctx;

	cache_size_put(sw->urls[i], size);
	pthread_mutex_lock(&T.lock);
	if (sw->bn->gen == sw->gen && sw->bn->pins[sw->pins[i]].size < 0) {
		struct pin_node *pn = &sw->bn->pins[sw->pins[i]];

		pn->size = size;
		/* Only a stat waiting for this very size is woken: ls -l of a big folder would
		 * otherwise wake at every one of its sizes. */
		if (pn->waited) {
			pn->waited = false;
			pthread_cond_broadcast(&T.changed);
		}
	}
	pthread_mutex_unlock(&T.lock);
}

/* Whether the pin whose image is url is still in bn's listing. Lock held. */
static bool image_listed(const struct board_node *bn, const char *url)
{
	for (size_t i = 0; !bn->gone && i < bn->npins; i++)
		if (bn->pins[i].ext && strcmp(pinrec_image_url(bn->pins[i].rec), url) == 0)
			return true;
	return false;
}

/* The sizes a sweep could not learn, of images whose pins are still there: those deleted
 * while it ran (rm -r of a folder being swept) answer 404, as they should. Lock held. */
static size_t sweep_missed(const struct sweep *sw)
{
	size_t missed = 0;

	for (size_t i = 0; i < sw->n; i++)
		if (sw->sizes[i] < 0 && image_listed(sw->bn, sw->urls[i]))
			missed++;
	return missed;
}

static void *sweep_run(void *arg)
{
	struct sweep *sw = arg;
	struct board_node *bn = sw->bn;
	size_t missed = 0;

	if (http_head_sizes((const char *const *)sw->urls, sw->n, sw->sizes, T.head_parallel,
			    sweep_learnt, sw) < sw->n) {
		pthread_mutex_lock(&T.lock);
		missed = sweep_missed(sw);
		pthread_mutex_unlock(&T.lock);
	}
	if (missed && !http_cancelled())
		log_warn("could not learn the size of %zu image(s)", missed);
	http_thread_end();
	pthread_mutex_lock(&T.lock);
	/* The listing may have been replaced meanwhile; its pins read sizes from the cache. */
	for (size_t i = 0; i < bn->npins; i++)
		if (bn->pins[i].size < 0 && bn->pins[i].ext)
			bn->pins[i].size = cache_size_get(pinrec_image_url(bn->pins[i].rec));
	if (bn->gen == sw->gen) {
		sw->f->sizes_busy = false;
		sw->f->sizes_tried = true;
	}
	bn->sweeps--;
	if (bn->gen != sw->gen)
		bn->old_sweeps--;
	S.running--;
	pthread_cond_broadcast(&T.changed);
	pthread_mutex_unlock(&T.lock);
	sweep_free(sw);
	return NULL;
}

/* The sweep of w's folder, w's own image first. NULL when out of memory. Lock held. */
static struct sweep *sweep_new(const struct where *w)
{
	struct board_node *bn = w->bn;
	struct folder *f = w->f;
	struct sweep *sw = calloc(1, sizeof(*sw));
	size_t cap = f->n ? f->n : 1, first = (size_t)(w->pn - bn->pins);

	if (!sw || !(sw->urls = calloc(cap, sizeof(*sw->urls))) ||
	    !(sw->pins = malloc(cap * sizeof(*sw->pins))) ||
	    !(sw->sizes = malloc(cap * sizeof(*sw->sizes))))
		goto fail;
	*sw = (struct sweep){bn, bn->gen, f, sw->urls, sw->pins, sw->sizes, 0};
	for (size_t k = 0; k <= f->n; k++) {
		/* k == 0 is the asker's image; then the folder's others, in listing order. */
		size_t i = k == 0 ? first : f->pins[k - 1];
		const struct pin_node *pn = &bn->pins[i];

		if ((k > 0 && i == first) || !pn->ext || pn->size >= 0)
			continue;
		if (!(sw->urls[sw->n] = strdup(pinrec_image_url(pn->rec))))
			goto fail;
		sw->pins[sw->n++] = i;
	}
	return sw;
fail:
	if (sw && sw->urls)
		sweep_free(sw);
	else
		free(sw);
	return NULL;
}

/* Learns, by parallel HEADs, the size of every image in w's folder not known yet, and returns
 * once w's own image's size is known or the folder's sweep is over. Lock held on entry and on
 * return; dropped meanwhile, so w is stale afterwards. */
static void learn_sizes(struct where *w)
{
	struct board_node *bn = w->bn;
	unsigned gen = bn->gen;
	struct folder *f = w->f;
	struct pin_node *pn = w->pn;
	struct sweep *sw;
	pthread_attr_t attr;
	pthread_t t;

	if (!f->sizes_busy && bn->old_sweeps) {
		/* A sweep of the board's listing before this one (rm -r deleting pins renames
		 * nothing but lists the board anew) may be asking for this very image: its
		 * sizes reach this listing when it ends. Asking again would send the HEAD twice. */
		wait_changed();
		return;
	}
	if (!f->sizes_busy) {
		if (!(sw = sweep_new(w)) || pthread_attr_init(&attr)) {
			if (sw)
				sweep_free(sw);
			f->sizes_tried = true; /* out of memory: the size stays unknown */
			return;
		}
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		f->sizes_busy = true;
		S.running++;
		bn->sweeps++;
		if (pthread_create(&t, &attr, sweep_run, sw)) {
			bn->sweeps--;
			S.running--;
			f->sizes_busy = false;
			f->sizes_tried = true;
			sweep_free(sw);
		}
		pthread_attr_destroy(&attr);
	}
	while (bn->gen == gen && f->sizes_busy && pn->size < 0) {
		pn->waited = true;
		wait_changed();
	}
}

/* Waits for the sweeps still running. */
static void sweeps_stop(void)
{
	pthread_mutex_lock(&T.lock);
	while (S.running)
		wait_changed();
	pthread_mutex_unlock(&T.lock);
}

/* ---- public ---- */

/* ---- boards/ listed while the token is checked ---- */

static struct {
	pthread_t thread;
	bool started;
	int result;
	struct board_vec bv;
} Pre;

static void *preload_run(void *arg)
{
	(void)arg;
	/* A failure here (a bad token, the server down) is the check's to report. */
	log_quiet_thread(true);
	Pre.result = api_list("/boards", true, collect_board, &Pre.bv);
	return NULL;
}

void tree_preload_start(void)
{
	Pre.result = -ENODATA;
	Pre.started = pthread_create(&Pre.thread, NULL, preload_run, NULL) == 0;
}

/* Waits for the preload and gives back what it held; its boards when it listed them all. */
static int preload_end(struct board_vec *bv)
{
	int result = -ENODATA;

	if (Pre.started) {
		pthread_join(Pre.thread, NULL);
		Pre.started = false;
		result = Pre.result;
	}
	*bv = Pre.bv;
	Pre.bv = (struct board_vec){0};
	return result;
}

static void board_vec_free(struct board_vec *bv, char **names)
{
	for (size_t i = 0; i < bv->n; i++) {
		board_free(bv->v[i]);
		if (names)
			free(names[i]);
	}
	free(names);
	free(bv->v);
}

void tree_preload_cancel(void)
{
	struct board_vec bv;

	preload_end(&bv);
	board_vec_free(&bv, NULL);
}

/* The preload's boards become boards/'s listing, as ensure_boards would make it. */
static void preload_install(void)
{
	struct board_vec bv;
	char **names = NULL;

	if (preload_end(&bv) == 0 && (names = name_boards(&bv)) != NULL) {
		pthread_mutex_lock(&T.lock);
		if (install_boards(&bv, names) == 0) {
			T.boards_listed = true;
			T.boards_at = now_s();
		}
		pthread_mutex_unlock(&T.lock);
	}
	board_vec_free(&bv, names);
}

int tree_init(const struct tree_config *cfg, cJSON *account)
{
	T.ttl = cfg->ttl_s;
	T.head_parallel = cfg->head_parallel > 0 ? cfg->head_parallel : 16;
	T.image_size = cfg->image_size ? strdup(cfg->image_size) : NULL;
	T.account = account;
	T.account_at = now_s();
	T.epoch = time(NULL) - 1; /* a change in the mount's first second is 1, not 0 */
	preload_install();
	return cfg->image_size && !T.image_size ? -ENOMEM : 0;
}

static void board_node_free(struct board_node *bn)
{
	folders_release(bn->secs, bn->nsecs, bn->pins, bn->npins, &bn->top, bn->block);
	loose_release(bn);
	board_free(bn->b);
	free(bn->dname);
	free(bn->stamp);
	free(bn);
}

void tree_cleanup(void)
{
	prefetch_stop();
	sweeps_stop();
	for (size_t i = 0; i < T.nboards; i++)
		board_node_free(T.boards[i]);
	for (size_t i = 0; i < T.ndead; i++)
		board_node_free(T.dead[i]);
	free(T.boards);
	free(T.dead);
	T.boards = T.dead = NULL;
	T.nboards = T.ndead = 0;
	cJSON_Delete(T.account);
	T.account = NULL;
	for (size_t i = 0; i < T.nghosts; i++)
		free(T.ghosts[i].path);
	free(T.ghosts);
	T.ghosts = NULL;
	T.nghosts = 0;
	free(T.image_size);
	T.image_size = NULL;
}

/* A pin's sidecar as meta.c renders it. Caller frees; NULL when out of memory. */
static char *pin_json(const struct board_node *bn, const struct pin_node *pn)
{
	struct pin_view v;

	pinrec_view(pn->rec, bn->b->id, &v);
	return meta_pin_json(&v.pin);
}

static int64_t json_len(const struct board_node *bn, struct pin_node *pn)
{
	if (pn->json_len < 0) {
		struct pin_view v;
		size_t n;

		pinrec_view(pn->rec, bn->b->id, &v);
		n = meta_pin_json_len(&v.pin);
		/* A sidecar beyond 2 GB would take a server sending as much per pin. */
		pn->json_len = (int32_t)(n < INT32_MAX ? n : INT32_MAX);
	}
	return pn->json_len;
}

static void copy_id(char *dst, const char *src)
{
	join_cut(dst, TREE_ID_MAX + 1, src ? src : "", "");
}

/* boards/'s mtime: when a board last came, went or was renamed while mounted, else the newest
 * board's creation. Lock held. */
static time_t boards_mtime(void)
{
	time_t t = T.boards_mtime;

	for (size_t i = 0; !T.boards_mtime && i < T.nboards; i++)
		if (T.boards[i]->b->created > t)
			t = T.boards[i]->b->created;
	return t ? t : T.epoch + 1;
}

/* When the node at w last changed as far as the mount has seen (a sidecar's text, a folder's
 * names: carry_times and the tree_apply_* functions), else when what it shows was made. An
 * image keeps its pin's creation time: an image URL's bytes never change. Lock held. */
static time_t node_mtime(const struct where *w)
{
	const struct board_node *bn = w->bn;
	const struct folder *f;

	switch (w->type) {
	case NODE_BOARDS:
		return boards_mtime();
	case NODE_BOARD:
	case NODE_SECTION:
		f = w->type == NODE_BOARD ? &bn->top : &bn->secs[w->sec].f;
		return f->mtime ? f->mtime : bn->b->created;
	case NODE_BOARD_JSON:
		return bn->json_mtime ? bn->json_mtime : bn->b->created;
	case NODE_PIN_JSON:
		return w->pn->changed_at ? T.epoch + (time_t)w->pn->changed_at
					 : pinrec_created(w->pn->rec);
	case NODE_PIN_IMAGE:
		return pinrec_created(w->pn->rec);
	default: /* the root, me.json (fetched again at each open), the others' folders */
		return time(NULL);
	}
}

/* A size that a download contradicted is forgotten by the cache (cache_size_forgets): the
 * listings that show it forget it too, so a stat learns it again rather than a read ending
 * at the wrong size. Rare; then one pass over the listed pins. Lock held. */
static void drop_forgotten_sizes(void)
{
	uint64_t forgets = cache_size_forgets();

	if (forgets == T.forgets)
		return;
	T.forgets = forgets;
	for (size_t b = 0; b < T.nboards; b++) {
		struct board_node *bn = T.boards[b];

		for (size_t i = 0; bn->listed && i < bn->npins; i++) {
			struct pin_node *pn = &bn->pins[i];
			const char *url = pinrec_image_url(pn->rec);

			if (pn->size >= 0 && url && cache_size_get(url) < 0) {
				pn->size = -1;
				/* Its folder is swept again at the next stat. */
				(pn->folder < 0 ? &bn->top : &bn->secs[pn->folder].f)->sizes_tried =
				    false;
			}
		}
	}
}

static int fill_info(const struct where *w, struct node_info *out)
{
	drop_forgotten_sizes();
	memset(out, 0, sizeof(*out));
	out->type = w->type;
	out->kind = S_IFREG;
	out->nlink = 1;
	out->mtime = node_mtime(w);
	switch (w->type) {
	case NODE_ROOT:
	case NODE_BOARDS:
	case NODE_OTHER:
		out->kind = S_IFDIR;
		out->nlink = 2;
		break;
	case NODE_ME_JSON: {
		char *text = meta_pretty(T.account);

		if (!text)
			return -ENOMEM;
		out->size = (int64_t)strlen(text);
		free(text);
		break;
	}
	case NODE_BOARD:
	case NODE_SECTION:
		out->kind = S_IFDIR;
		out->nlink = w->type == NODE_SECTION ? 2 : 1;
		copy_id(out->board_id, w->bn->b->id);
		if (w->sec >= 0)
			copy_id(out->section_id, w->bn->secs[w->sec].sec->id);
		break;
	case NODE_BOARD_JSON: {
		char *text = meta_board_json(w->bn->b);

		if (!text)
			return -ENOMEM;
		out->size = (int64_t)strlen(text);
		free(text);
		copy_id(out->board_id, w->bn->b->id);
		break;
	}
	case NODE_PIN_IMAGE:
	case NODE_PIN_JSON:
		out->size = w->type == NODE_PIN_IMAGE ? w->pn->size : json_len(w->bn, w->pn);
		if (out->size < -1)
			return (int)out->size;
		copy_id(out->board_id, w->bn->b->id);
		copy_id(out->section_id, pinrec_section_id(w->pn->rec));
		copy_id(out->pin_id, pinrec_id(w->pn->rec));
		break;
	}
	/* Everything in a SECRET board is its owner's alone (fs.c's modes). */
	out->secret = w->bn && w->bn->b->privacy && strcmp(w->bn->b->privacy, "SECRET") == 0;
	return 0;
}

/* The kernel's lookups and the entries it was given described: see tree_lookup_count. */
static atomic_uint_least64_t stat_count;

uint64_t tree_lookup_count(void)
{
	return atomic_load(&stat_count);
}

void tree_count_lookup(void)
{
	atomic_fetch_add(&stat_count, 1);
}

/* Bumped when the kernel is asked to forget; never 0, which new pins hold. Lock held to read
 * it with the pins it marks. */
static uint8_t forget_epoch = 1;

void tree_forgetting(void)
{
	pthread_mutex_lock(&T.lock);
	if (++forget_epoch == 0)
		forget_epoch = 1;
	pthread_mutex_unlock(&T.lock);
}

int tree_stat(const char *path, bool want_size, struct node_info *out)
{
	struct where w;
	int result;

	pthread_mutex_lock(&T.lock);
	for (;;) {
		result = resolve(path, &w);
		if (result || !want_size || w.type != NODE_PIN_IMAGE || w.pn->size >= 0 ||
		    w.f->sizes_tried)
			break;
		learn_sizes(&w);
	}
	if (!result)
		result = fill_info(&w, out);
	pthread_mutex_unlock(&T.lock);
	return result;
}

/* Where a listing goes: names only (fill), or names with what a stat would say (fill_info). */
struct lister {
	tree_fill_fn fill;
	tree_fill_info_fn fill_info;
	void *ctx;
	size_t skip, seen; /* entries to pass over, entries met so far */
};

/* Hands one entry to the lister. w locates it for fill_info (NULL: not described); an image
 * whose size is not known goes undescribed, as describing it would cost a HEAD. Lock held. */
static int emit(struct lister *l, const char *name, mode_t kind, const struct where *w)
{
	struct node_info info;

	if (l->seen++ < l->skip)
		return 0;
	if (!l->fill_info)
		return l->fill(l->ctx, name, kind);
	if (!w || fill_info(w, &info))
		return l->fill_info(l->ctx, name, kind, NULL);
	/* The kernel takes a described entry as looked up, which costs an inode in the table
	 * until it forgets: it counts as a lookup, once per pin between two forgettings (told). */
	if (!w->pn || w->pn->told != forget_epoch)
		atomic_fetch_add(&stat_count, 1);
	if (w->pn && w->type == NODE_PIN_JSON)
		w->pn->told = forget_epoch;
	return l->fill_info(l->ctx, name, kind, &info);
}

/* Lists one folder of a board: .board.json and sections first, then each pin's image just
 * before its JSON. rm -r removes entries in this order, so it deletes a pin through its image
 * before it reaches the sidecar, which alone may not be removed. */
static int list_folder(struct board_node *bn, int32_t folder, struct lister *l)
{
	struct where w = {.bn = bn, .sec = folder};

	if (folder < 0) {
		w.type = NODE_BOARD_JSON;
		if (emit(l, ".board.json", S_IFREG, &w))
			return 0;
		w.type = NODE_SECTION;
		for (size_t i = 0; i < bn->nsecs; i++) {
			w.sec = (int32_t)i;
			if (emit(l, bn->secs[i].dname, S_IFDIR, &w))
				return 0;
		}
		w.sec = folder;
	}
	for (size_t i = 0; i < bn->npins; i++) {
		char name[NAME_MAX + 8];

		w.pn = &bn->pins[i];
		if (w.pn->folder != folder)
			continue;
		if (w.pn->ext) {
			w.type = NODE_PIN_IMAGE;
			pin_file(w.pn, false, name, sizeof(name));
			if (emit(l, name, S_IFREG, &w))
				return 0;
		}
		w.type = NODE_PIN_JSON;
		pin_file(w.pn, true, name, sizeof(name));
		if (emit(l, name, S_IFREG, &w))
			return 0;
	}
	return 0;
}

void tree_walk_from(const char *path)
{
	struct where w;

	pthread_mutex_lock(&T.lock);
	if (resolve(path, &w) == 0 && w.type == NODE_BOARD)
		walk_seen(w.bn, now_s());
	pthread_mutex_unlock(&T.lock);
}

static int list_any(const char *path, struct lister *l)
{
	struct where w;
	int result;

	pthread_mutex_lock(&T.lock);
	result = resolve(path, &w);
	if (result)
		goto out;
	switch (w.type) {
	case NODE_ROOT:
		/* The router lists the root from its table (vfs/router.c). */
		break;
	case NODE_BOARDS: {
		struct where b = {.type = NODE_BOARD, .sec = -1};
		size_t *order;

		W.boards_read_at = now_s();
		result = ensure_boards();
		if (result)
			break;
		/* In walk_order: a walker starts with the shortest listings and meets the long
		 * ones last, listed ahead meanwhile. Without memory for it, the tree's order. */
		order = malloc((T.nboards ? T.nboards : 1) * sizeof(*order));
		if (order && order_boards(NULL, T.nboards, walk_order, order)) {
			free(order);
			order = NULL;
		}
		for (size_t i = 0; i < T.nboards; i++) {
			b.bn = T.boards[order ? order[i] : i];
			if (emit(l, b.bn->dname, S_IFDIR, &b))
				break;
		}
		free(order);
		break;
	}
	case NODE_BOARD:
		/* Noted before the listing: a walk's next boards are on their way while the
		 * walker waits for this one. */
		note_board_read(w.bn);
		result = ensure_listed(w.bn);
		if (!result)
			result = list_folder(w.bn, -1, l);
		break;
	case NODE_SECTION:
		result = list_folder(w.bn, w.sec, l);
		break;
	default:
		result = -ENOTDIR;
	}
out:
	pthread_mutex_unlock(&T.lock);
	return result;
}

int tree_list(const char *path, size_t skip, tree_fill_fn fill, void *ctx, size_t *met)
{
	struct lister l = {.fill = fill, .ctx = ctx, .skip = skip};
	int result = list_any(path, &l);

	if (met)
		*met = l.seen;
	return result;
}

int tree_list_info(const char *path, size_t skip, tree_fill_info_fn fill, void *ctx, size_t *met)
{
	struct lister l = {.fill_info = fill, .ctx = ctx, .skip = skip};
	int result = list_any(path, &l);

	if (met)
		*met = l.seen;
	return result;
}

/* Refreshes the account object when it is older than the TTL. Lock held, dropped meanwhile. */
static void ensure_account(void)
{
	cJSON *fresh_account = NULL;

	while (T.account_busy)
		wait_changed();
	if (fresh(T.account_at))
		return;
	T.account_busy = true;
	pthread_mutex_unlock(&T.lock);
	int result = api_get_account(&fresh_account);

	pthread_mutex_lock(&T.lock);
	T.account_busy = false;
	pthread_cond_broadcast(&T.changed);
	if (result || !cJSON_IsObject(fresh_account)) {
		cJSON_Delete(fresh_account);
		return; /* the last known account is still worth showing */
	}
	cJSON_Delete(T.account);
	T.account = fresh_account;
	T.account_at = now_s();
}

/* The text of the pin's or the board's sidecar at w, which the caller frees; NULL when out of
 * memory. A pin's length is noted on the way, so a stat need not print it again. Lock held. */
static char *sidecar_text(const struct where *w)
{
	char *t;
	size_t n;

	if (w->type == NODE_BOARD_JSON)
		return meta_board_json(w->bn->b);
	t = pin_json(w->bn, w->pn);
	if (t) {
		n = strlen(t);
		w->pn->json_len = (int32_t)(n < INT32_MAX ? n : INT32_MAX);
	}
	return t;
}

int tree_read_text(const char *path, char **text, size_t *len)
{
	struct where w;
	char *t = NULL;
	int result;

	pthread_mutex_lock(&T.lock);
	result = resolve(path, &w);
	if (result)
		goto out;
	switch (w.type) {
	case NODE_ME_JSON:
		ensure_account();
		t = meta_pretty(T.account);
		break;
	case NODE_BOARD_JSON:
	case NODE_PIN_JSON:
		t = sidecar_text(&w);
		break;
	default:
		result = -EISDIR;
		goto out;
	}
	if (!t)
		result = -ENOMEM;
out:
	pthread_mutex_unlock(&T.lock);
	*text = t;
	*len = t ? strlen(t) : 0;
	return result;
}

int tree_stat_text(const char *path, struct node_info *out, char **text, size_t *len)
{
	struct where w;
	char *t = NULL;
	int result;

	pthread_mutex_lock(&T.lock);
	result = resolve(path, &w);
	if (result)
		goto out;
	if (w.type == NODE_PIN_JSON || w.type == NODE_BOARD_JSON) {
		t = sidecar_text(&w);
		if (!t) {
			result = -ENOMEM;
			goto out;
		}
	}
	/* After the text: a pin's length is known by then, and not counted by a second print. */
	result = fill_info(&w, out);
	if (result) {
		free(t);
		t = NULL;
	}
out:
	pthread_mutex_unlock(&T.lock);
	*text = t;
	*len = t ? strlen(t) : 0;
	return result;
}

int tree_image_url(const char *path, char **url)
{
	struct where w;
	int result;

	*url = NULL;
	pthread_mutex_lock(&T.lock);
	result = resolve(path, &w);
	if (!result && w.type != NODE_PIN_IMAGE)
		result = w.type == NODE_PIN_JSON ? -EINVAL : -EISDIR;
	if (!result && !(*url = strdup(pinrec_image_url(w.pn->rec))))
		result = -ENOMEM;
	pthread_mutex_unlock(&T.lock);
	return result;
}

#define XATTR_SUGGESTED "user.pinterest.suggested_boards"

/* The value of user.pinterest.suggested_boards for p: every board's folder name, best match
 * first, one a line. Only what the tree holds counts, so no request is sent: a board not
 * listed yet offers its name and description only, a big board a sample of its pin titles
 * (SUGGEST_TITLES_MAX). Lock held. Caller frees; NULL on ENOMEM. */
static char *suggested_boards(const struct pin *p)
{
	size_t n = T.nboards ? T.nboards : 1, ntitles = 0, used = 0, len = 1;
	struct suggest_board *sb = calloc(n, sizeof(*sb));
	size_t *order = calloc(n, sizeof(*order));
	const char **titles = NULL;
	char *out = NULL;

	if (!sb || !order)
		goto out;
	for (size_t i = 0; i < T.nboards; i++) {
		size_t has = T.boards[i]->listed ? T.boards[i]->npins : 0;

		sb[i].npins = has < SUGGEST_TITLES_MAX ? has : SUGGEST_TITLES_MAX;
		ntitles += sb[i].npins;
	}
	titles = calloc(ntitles ? ntitles : 1, sizeof(*titles));
	if (!titles)
		goto out;
	for (size_t i = 0, k = 0; i < T.nboards; i++) {
		const struct board_node *bn = T.boards[i];

		sb[i].name = bn->b->name;
		sb[i].description = bn->b->description;
		sb[i].pin_titles = titles + k;
		/* Spread over the whole board, not its first section. */
		for (size_t j = 0; j < sb[i].npins; j++)
			titles[k++] = pinrec_title(bn->pins[j * bn->npins / sb[i].npins].rec);
		len += strlen(bn->dname) + 1;
	}
	if (suggest_rank(p->title, p->description, sb, T.nboards, order) || !(out = malloc(len)))
		goto out;
	for (size_t i = 0; i < T.nboards; i++) {
		const char *name = T.boards[order[i]]->dname;

		memcpy(out + used, name, strlen(name));
		used += strlen(name);
		out[used++] = '\n';
	}
	out[used] = '\0';
out:
	free(titles);
	free(order);
	free(sb);
	return out;
}

static int resolve_pin(const char *path, struct where *w)
{
	int result = resolve(path, w);

	if (!result && w->type != NODE_PIN_IMAGE && w->type != NODE_PIN_JSON)
		result = -ENODATA;
	return result;
}

int tree_xattr_list(const char *path, char *buf, size_t len)
{
	struct pin_view v;
	struct where w;
	int result;

	pthread_mutex_lock(&T.lock);
	result = resolve_pin(path, &w);
	if (!result) {
		pinrec_view(w.pn->rec, w.bn->b->id, &v);
		size_t need = meta_pin_xattr_list(&v.pin, NULL, 0);
		size_t extra = w.type == NODE_PIN_IMAGE ? sizeof(XATTR_SUGGESTED) : 0;

		result = (int)(need + extra);
		if (len && need + extra > len) {
			result = -ERANGE;
		} else if (len) {
			meta_pin_xattr_list(&v.pin, buf, len);
			memcpy(buf + need, XATTR_SUGGESTED, extra);
		}
	} else if (result == -ENODATA) {
		result = 0; /* folders and other files simply have none */
	}
	pthread_mutex_unlock(&T.lock);
	return result;
}

int tree_xattr_get(const char *path, const char *name, char *buf, size_t len)
{
	struct where w;
	struct pin_view pv;
	char made[128], *owned = NULL;
	const char *v;
	bool suggested;
	int result;

	pthread_mutex_lock(&T.lock);
	result = resolve_pin(path, &w);
	if (result)
		goto out;
	/* v may point into pv: pv lives until the value is copied out. */
	pinrec_view(w.pn->rec, w.bn->b->id, &pv);
	suggested = w.type == NODE_PIN_IMAGE && strcmp(name, XATTR_SUGGESTED) == 0;
	if (suggested)
		v = owned = suggested_boards(&pv.pin);
	else
		v = meta_pin_xattr_get(&pv.pin, name, made, sizeof(made));
	if (!v) {
		result = suggested ? -ENOMEM : -ENODATA;
		goto out;
	}
	result = (int)strlen(v);
	if (len && (size_t)result > len)
		result = -ERANGE;
	else if (len)
		memcpy(buf, v, result);
out:
	pthread_mutex_unlock(&T.lock);
	free(owned);
	return result;
}

uint64_t tree_pin_count(void)
{
	const cJSON *n;
	uint64_t count = 0;

	pthread_mutex_lock(&T.lock);
	if (T.boards_listed) {
		for (size_t i = 0; i < T.nboards; i++)
			count += T.boards[i]->b->pin_count > 0 ? T.boards[i]->b->pin_count : 0;
	} else {
		n = cJSON_GetObjectItemCaseSensitive(T.account, "pin_count");
		/* Bounded: 1e300 from a broken server would overflow the conversion. */
		count = cJSON_IsNumber(n) && n->valuedouble > 0 && n->valuedouble < 1e15
			    ? (uint64_t)n->valuedouble
			    : 0;
	}
	pthread_mutex_unlock(&T.lock);
	return count;
}

void tree_invalidate(void)
{
	pthread_mutex_lock(&T.lock);
	T.boards_listed = false;
	for (size_t i = 0; i < T.nboards; i++) {
		T.boards[i]->listed = false;
		free(T.boards[i]->stamp);
		T.boards[i]->stamp = NULL;
	}
	T.account_at = -1e9;
	pthread_mutex_unlock(&T.lock);
}

int tree_board_path(const char *board_id, char *buf, size_t len)
{
	struct board_node *bn;
	int result;

	pthread_mutex_lock(&T.lock);
	result = ensure_boards();
	if (!result) {
		bn = find_board_id(board_id);
		if (!bn)
			result = -ENOENT;
		else if (snprintf(buf, len, "boards/%s", bn->dname) >= (int)len)
			result = -ENAMETOOLONG;
	}
	pthread_mutex_unlock(&T.lock);
	return result;
}

/* The path of a pin's image (or JSON) from the mount's root. Lock held. */
static int format_pin_path(const struct board_node *bn, const struct pin_node *pn, char *buf,
			   size_t len)
{
	char name[NAME_MAX + 8];

	pin_file(pn, !pn->ext, name, sizeof(name));
	if (snprintf(buf, len, "boards/%s%s%s/%s", bn->dname, pn->folder < 0 ? "" : "/",
		     pn->folder < 0 ? "" : bn->secs[pn->folder].dname, name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int tree_pin_path(const char *board_id, const char *pin_id, char *buf, size_t len)
{
	struct board_node *bn;
	struct pin_node *pn = NULL;
	int result;

	pthread_mutex_lock(&T.lock);
	result = ensure_boards();
	if (result)
		goto out;
	bn = find_board_id(board_id);
	result = bn ? ensure_listed(bn) : -ENOENT;
	if (result)
		goto out;
	for (size_t i = 0; i < bn->npins && !pn; i++)
		if (strcmp(pinrec_id(bn->pins[i].rec), pin_id) == 0)
			pn = &bn->pins[i];
	if (!pn) {
		result = -ENOENT;
		goto out;
	}
	result = format_pin_path(bn, pn, buf, len);
out:
	pthread_mutex_unlock(&T.lock);
	return result;
}

int tree_board_pins(const char *board_id, tree_pin_fn fn, void *ctx)
{
	struct board_node *bn;
	char path[PATH_MAX];
	int result;

	pthread_mutex_lock(&T.lock);
	result = ensure_boards();
	if (result)
		goto out;
	bn = find_board_id(board_id);
	result = bn ? ensure_listed(bn) : -ENOENT;
	for (size_t i = 0; !result && i < bn->npins; i++)
		if (format_pin_path(bn, &bn->pins[i], path, sizeof(path)) == 0 &&
		    fn(ctx, pinrec_id(bn->pins[i].rec), path))
			break;
out:
	pthread_mutex_unlock(&T.lock);
	return result;
}

int tree_pins_version(uint64_t *out)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	int result;

	pthread_mutex_lock(&T.lock);
	result = ensure_boards();
	for (size_t i = 0; !result && i < T.nboards; i++) {
		const struct board_node *bn = T.boards[i];
		const char *parts[] = {bn->b->id, bn->b->pins_modified_at, bn->dname};

		for (size_t k = 0; k < 3; k++) {
			const char *c = parts[k] ? parts[k] : "";

			do
				h = (h ^ (unsigned char)*c) * 1099511628211ULL;
			while (*c++);
		}
	}
	*out = (h ^ T.changes) * 1099511628211ULL;
	pthread_mutex_unlock(&T.lock);
	return result;
}

int tree_username(char *buf, size_t len)
{
	const cJSON *u;
	int result = -ENOENT;

	pthread_mutex_lock(&T.lock);
	u = cJSON_GetObjectItemCaseSensitive(T.account, "username");
	if (cJSON_IsString(u) && u->valuestring[0])
		result = snprintf(buf, len, "%s", u->valuestring) < (int)len ? 0 : -ENAMETOOLONG;
	pthread_mutex_unlock(&T.lock);
	return result;
}

/* ---- local changes: installed at once after the API accepted them ---- */

/* Gives every board its folder name again after the set of boards changed. Lock held. */
static int rename_boards(void)
{
	struct board_vec bv = {.n = T.nboards, .cap = T.nboards};
	bool differ = false;
	char **names;

	T.changes++;
	T.board_changes++;
	bv.v = malloc((T.nboards ? T.nboards : 1) * sizeof(*bv.v));
	if (!bv.v)
		return -ENOMEM;
	for (size_t i = 0; i < T.nboards; i++)
		bv.v[i] = T.boards[i]->b;
	names = name_boards(&bv); /* sorts bv.v by age, names in that order */
	if (!names) {
		free(bv.v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < bv.n; i++) {
		struct board_node *bn = find_board_id(bv.v[i]->id);

		differ |= strcmp(bn->dname, names[i]) != 0; /* a new board's is "" */
		free(bn->dname);
		bn->dname = names[i];
	}
	if (differ)
		T.boards_mtime = time(NULL);
	sort(T.boards, T.nboards, sizeof(*T.boards), cmp_node_dname);
	free(names);
	free(bv.v);
	return 0;
}

int tree_apply_board(const cJSON *json)
{
	struct board *b = board_from_json(json);
	struct board_node *bn, **grown;
	int result = 0;

	if (!b || !id_ok(b->id)) {
		board_free(b);
		return -EIO;
	}
	pthread_mutex_lock(&T.lock);
	bn = find_board_id(b->id);
	if (bn) {
		set_board(bn, b);
	} else if ((bn = calloc(1, sizeof(*bn))) &&
		   (grown = realloc(T.boards, (T.nboards + 1) * sizeof(*grown)))) {
		bn->b = b;
		bn->dname = strdup("");
		T.boards = grown;
		T.boards[T.nboards++] = bn;
	} else {
		free(bn);
		board_free(b);
		result = -ENOMEM;
	}
	if (!result)
		result = rename_boards();
	pthread_mutex_unlock(&T.lock);
	return result;
}

void tree_apply_board_gone(const char *board_id)
{
	pthread_mutex_lock(&T.lock);
	for (size_t i = 0; i < T.nboards; i++) {
		if (strcmp(T.boards[i]->b->id, board_id) != 0)
			continue;
		bury(T.boards[i]);
		memmove(&T.boards[i], &T.boards[i + 1], (T.nboards - i - 1) * sizeof(*T.boards));
		T.nboards--;
		T.board_changes++;
		T.boards_mtime = time(NULL);
		break;
	}
	pthread_mutex_unlock(&T.lock);
}

/* Takes a listed board's objects back into a listing, so that a change can be made to them
 * and the board's folders named again by build(). Lock held. */
static int to_listing(struct board_node *bn, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	l->secs = malloc((bn->nsecs + 1) * sizeof(*l->secs));
	l->pins = malloc((bn->npins + 1) * sizeof(*l->pins));
	if (!l->secs || !l->pins) {
		free(l->secs);
		free(l->pins);
		return -ENOMEM;
	}
	l->cap_secs = bn->nsecs + 1;
	l->cap_pins = bn->npins + 1;
	if (keep_names(bn, l)) {
		listing_release(l);
		return -ENOMEM;
	}
	/* Copies: the records live in the listing's block, which the rebuild frees. */
	for (size_t i = 0; i < bn->npins; i++) {
		l->pins[l->npins] = pinrec_dup(bn->pins[i].rec);
		if (!l->pins[l->npins]) {
			listing_release(l);
			return -ENOMEM;
		}
		l->npins++;
	}
	/* Taken last: nothing fails after, so bn keeps them when anything above failed. */
	for (size_t i = 0; i < bn->nsecs; i++) {
		l->secs[l->nsecs++] = bn->secs[i].sec;
		bn->secs[i].sec = NULL;
	}
	return 0;
}

/* Names and indexes l again and makes it bn's listing; its age and stamp stay. Lock held. */
static int rebuild(struct board_node *bn, struct listing *l)
{
	struct built o;
	int result = build(l, &o);

	count_edit(bn);
	listing_release(l);
	if (result) {
		/* The objects are gone: the next look at this board lists it again. */
		memset(&o, 0, sizeof(o));
		bn->listed = false;
	}
	take_built(bn, &o);
	return result;
}

/* A listed board whose listing may be changed now: not being fetched by another thread.
 * Lock held; may wait. NULL when the board is unknown or not listed (nothing to change). */
static struct board_node *listed_board(const char *board_id)
{
	struct board_node *bn;

	for (;;) {
		bn = find_board_id(board_id);
		if (!bn || !bn->busy)
			break;
		wait_changed();
	}
	return bn && bn->listed ? bn : NULL;
}

static void drop_pin(struct listing *l, const char *pin_id)
{
	for (size_t i = 0; i < l->npins; i++) {
		if (strcmp(pinrec_id(l->pins[i]), pin_id) != 0)
			continue;
		free(l->pins[i]);
		l->pins[i] = l->pins[--l->npins];
		return;
	}
}

/* bn's folders by number: its sections' 0..nsecs-1, then nsecs, its top. */
static struct folder *folder_at(struct board_node *bn, size_t k)
{
	return k < bn->nsecs ? &bn->secs[k].f : &bn->top;
}

/* bn's listing was changed where it is: its folders are swept again as a new listing's would
 * be. Lock held. */
static void changed_in_place(struct board_node *bn)
{
	for (size_t k = 0; k <= bn->nsecs; k++)
		folder_at(bn, k)->sizes_busy = folder_at(bn, k)->sizes_tried = false;
	new_generation(bn);
	count_edit(bn);
}

/* Frees p when it is one of bn's loose allocations (NULL and the block's are not). */
static void loose_drop(struct board_node *bn, void *p)
{
	for (size_t i = 0; p && i < bn->nloose; i++) {
		if (bn->loose[i] != p)
			continue;
		free(p);
		bn->loose[i] = bn->loose[--bn->nloose];
		return;
	}
}

/* The index in bn->pins of the pin pin_id; bn->npins when bn does not hold it. Lock held. */
static size_t pin_index(const struct board_node *bn, const char *pin_id)
{
	size_t i = 0;

	while (i < bn->npins && strcmp(pinrec_id(bn->pins[i].rec), pin_id) != 0)
		i++;
	return i;
}

/* Takes pins[i] out of its folder's index, and the indexes above it down by one. */
static void unindex_pin(struct board_node *bn, size_t i)
{
	for (size_t k = 0; k <= bn->nsecs; k++) {
		struct folder *f = folder_at(bn, k);
		size_t kept = 0;

		for (size_t j = 0; j < f->n; j++)
			if (f->pins[j] != i)
				f->pins[kept++] = f->pins[j] - (f->pins[j] > i);
		f->n = kept;
	}
}

/* Takes bn->pins[i] out of bn's listing where it is, as a rebuild without it would leave the
 * listing (the others keep their names and order) but without naming and sorting every pin
 * again: removing a pin costs an index's shift, not a board's worth of work. Its record and
 * name stay in the listing's block until the next listing. Lock held. */
static void remove_pin(struct board_node *bn, size_t i)
{
	folder_of(bn->secs, &bn->top, bn->pins[i].folder)->mtime = time(NULL); /* a name gone */
	unindex_pin(bn, i);
	if (!bn->block) { /* a listing without a block owns its pins one by one */
		free(bn->pins[i].rec);
		free(bn->pins[i].name);
	} else {
		loose_drop(bn, bn->pins[i].rec);
		loose_drop(bn, bn->pins[i].name);
	}
	memmove(&bn->pins[i], &bn->pins[i + 1], (bn->npins - i - 1) * sizeof(*bn->pins));
	bn->npins--;
	changed_in_place(bn);
}

/* Where a pin named name goes in folder f's index, which is sorted by name. Lock held. */
static size_t name_position(const struct board_node *bn, const struct folder *f, const char *name)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(pin_name(&bn->pins[f->pins[mid]]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* p's title's own form as its name when no pin of f holds it and reserved does not list it;
 * -EAGAIN when taken, -ENOMEM. *name: the caller frees. Lock held. */
static int plain_name_if_free(const struct board_node *bn, const struct folder *f,
			      const struct pinrec *p, const char *const *reserved, char **name)
{
	char *plain = names_sanitize(pinrec_title(p), pinrec_id(p), 5 /* ".json" */);
	size_t at;
	bool taken;

	if (!plain)
		return -ENOMEM;
	at = name_position(bn, f, plain);
	taken = at < f->n && strcmp(pin_name(&bn->pins[f->pins[at]]), plain) == 0;
	for (size_t i = 0; !taken && reserved && reserved[i]; i++)
		taken = strcmp(reserved[i], plain) == 0;
	if (taken) {
		free(plain);
		return -EAGAIN;
	}
	*name = plain;
	return 0;
}

/* The name p gets in bn's folder beside the names its pins have now, as build() would give
 * it: names_assign over the folder, the others keeping theirs. -EAGAIN when that would rename
 * another pin too, which only a rebuild does right. *name: the caller frees. Lock held. */
static int name_in_place(struct board_node *bn, int32_t folder, const struct pinrec *p, char **name)
{
	struct folder *f = folder_of(bn->secs, &bn->top, folder);
	struct built view = {.secs = bn->secs, .nsecs = bn->nsecs};
	struct name_slot *slots = calloc(f->n + 1, sizeof(*slots));
	const char **reserved = NULL;
	int result = -ENOMEM;

	*name = NULL;
	if (!slots || (folder < 0 && !(reserved = section_reserved(&view))))
		goto out;
	/* The common case, told without naming the folder: the title's own form is free (no
	 * pin holds it and no section's name reserves it). names_assign grants the others their
	 * names first, as each still fits its title, so it would give p that form too. */
	result = plain_name_if_free(bn, f, p, reserved, name);
	if (result != -EAGAIN)
		goto out;
	result = -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		const struct pin_node *pn = &bn->pins[f->pins[i]];

		slots[i] = (struct name_slot){pinrec_title(pn->rec), pinrec_id(pn->rec), 5,
					      pin_name(pn), NULL};
	}
	slots[f->n] = (struct name_slot){pinrec_title(p), pinrec_id(p), 5, NULL, NULL};
	result = names_assign(slots, f->n + 1, reserved);
	for (size_t i = 0; !result && i < f->n; i++)
		if (strcmp(slots[i].name, slots[i].keep) != 0)
			result = -EAGAIN;
	if (!result) {
		*name = slots[f->n].name;
		slots[f->n].name = NULL;
	}
out:
	for (size_t i = 0; slots && i <= f->n; i++)
		free(slots[i].name);
	for (size_t i = 0; reserved && reserved[i]; i++)
		free((char *)reserved[i]);
	free(reserved);
	free(slots);
	return result;
}

/* Where p goes among bn's pins, which are grouped by folder (the top first) and oldest first
 * in each group, as name_all_pins lays them out. Lock held. */
static size_t age_position(const struct board_node *bn, int32_t folder, const struct pinrec *p)
{
	size_t at = 0;

	for (size_t i = 0; i < bn->npins; i++)
		if (bn->pins[i].folder < folder ||
		    (bn->pins[i].folder == folder && cmp_pin_age(&bn->pins[i].rec, &p) < 0))
			at++;
	return at;
}

/* Room for one more pin in bn and in f's index, and for its record and name among the loose
 * allocations when the listing has a block. Lock held. -ENOMEM or 0. */
static int make_room(struct board_node *bn, struct folder *f)
{
	struct pin_node *pins = realloc(bn->pins, (bn->npins + 1) * sizeof(*pins));
	uint32_t *index;
	void **loose;

	if (!pins)
		return -ENOMEM;
	bn->pins = pins;
	index = realloc(f->pins, (f->n + 1) * sizeof(*index));
	if (!index)
		return -ENOMEM;
	f->pins = index;
	if (!bn->block)
		return 0;
	loose = realloc(bn->loose, (bn->nloose + 2) * sizeof(*loose));
	if (!loose)
		return -ENOMEM;
	bn->loose = loose;
	return 0;
}

/* Adds p, a pin bn does not hold, to bn's listing where a rebuild would put it and with the
 * name a rebuild would give it, without naming, sorting and packing the board again: adding a
 * pin costs a folder's naming and an index's shift. Takes p on success. -EAGAIN: only a rebuild
 * names the folder right; -ENOMEM. Lock held. */
static int insert_pin(struct board_node *bn, struct pinrec *p)
{
	int32_t folder = section_index(bn->secs, bn->nsecs, pinrec_section_id(p));
	struct folder *f = folder_of(bn->secs, &bn->top, folder);
	const char *url = pinrec_image_url(p);
	size_t at, slot;
	char *name;
	int result = name_in_place(bn, folder, p, &name);

	if (!result)
		result = make_room(bn, f);
	if (result)
		goto out;
	at = age_position(bn, folder, p);
	slot = name_position(bn, f, name);
	for (size_t k = 0; k <= bn->nsecs; k++) {
		struct folder *g = folder_at(bn, k);

		for (size_t j = 0; j < g->n; j++)
			g->pins[j] += g->pins[j] >= at;
	}
	memmove(&bn->pins[at + 1], &bn->pins[at], (bn->npins - at) * sizeof(*bn->pins));
	memmove(&f->pins[slot + 1], &f->pins[slot], (f->n - slot) * sizeof(*f->pins));
	f->pins[slot] = (uint32_t)at;
	f->n++;
	/* Most titles are their own file names: those are not kept twice (as name_pins). */
	if (pinrec_title(p) && strcmp(name, pinrec_title(p)) == 0) {
		free(name);
		name = NULL;
	}
	bn->pins[at] = (struct pin_node){.rec = p,
					 .name = name,
					 .size = url ? cache_size_get(url) : -1,
					 .json_len = -1,
					 .folder = folder,
					 .ext = ext_of(p)};
	bn->npins++;
	if (bn->block) {
		bn->loose[bn->nloose++] = p;
		if (name)
			bn->loose[bn->nloose++] = name;
	}
	name = NULL;
	changed_in_place(bn);
out:
	free(name);
	return result;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether q, a new record of the pin whose record is r, is named, filed and ordered as r is:
 * a name comes from the title and the id, the folder from the section, the place in it from
 * the creation time, the image's extension and size from its URL. An edit of a description,
 * a link or an alt text keeps all of them. */
static bool same_place(const struct pinrec *r, const struct pinrec *q)
{
	return same_str(pinrec_title(r), pinrec_title(q)) &&
	       same_str(pinrec_section_id(r), pinrec_section_id(q)) &&
	       same_str(pinrec_image_url(r), pinrec_image_url(q)) &&
	       pinrec_created(r) == pinrec_created(q) && ext_of(r) == ext_of(q);
}

/* Puts p, a new record of bn->pins[i] of which same_place holds, where the old one is: the
 * pin's name, folder and place stay as they are, without naming, sorting and packing the
 * board again. Takes p on success; -ENOMEM (nothing changed). Lock held. */
static int replace_pin(struct board_node *bn, size_t i, struct pinrec *p)
{
	struct pin_node *pn = &bn->pins[i];

	if (bn->block) {
		void **loose = realloc(bn->loose, (bn->nloose + 1) * sizeof(*loose));

		if (!loose)
			return -ENOMEM;
		bn->loose = loose;
		loose_drop(bn, pn->rec); /* the block's own records stay with the block */
		bn->loose[bn->nloose++] = p;
	} else {
		free(pn->rec);
	}
	/* A name left NULL is the title's own form, read from the record: the same title. */
	pn->rec = p;
	pn->json_len = -1;
	changed_in_place(bn);
	return 0;
}

/* The pin pin_id of bn was changed here: its sidecar's text is new, and so is its folder (sed
 * -i and editors save by renaming a file over the sidecar, which changes the folder on any file
 * system). Lock held. */
static void touch_pin(struct board_node *bn, const char *pin_id)
{
	size_t i = pin_index(bn, pin_id);

	if (i == bn->npins)
		return;
	bn->pins[i].changed_at = change_stamp();
	folder_of(bn->secs, &bn->top, bn->pins[i].folder)->mtime = time(NULL);
}

/* Removes a pin from a board's listing, or when p is given, puts p in its place (or adds it).
 * Takes p. Lock held. */
static int change_pins(struct board_node *bn, const char *pin_id, struct pinrec *p)
{
	size_t i = pin_index(bn, pin_id);
	struct listing l;
	int result;

	if (!p) {
		if (i < bn->npins)
			remove_pin(bn, i);
		return 0;
	}
	/* A pin new to the board (an upload, an mv's new board) goes in where it is, and so does
	 * a changed one that keeps its name and place; one whose name, folder or place may change
	 * (a new title, another section) makes the listing again. */
	if (i < bn->npins && same_place(bn->pins[i].rec, p) && replace_pin(bn, i, p) == 0)
		return 0;
	if (i == bn->npins) {
		result = insert_pin(bn, p);
		if (result != -EAGAIN) {
			if (result)
				free(p);
			return result;
		}
	}
	result = to_listing(bn, &l);
	if (result) {
		free(p);
		return result;
	}
	drop_pin(&l, pin_id);
	l.pins[l.npins++] = p; /* to_listing left room for one more */
	return rebuild(bn, &l);
}

/* The pin keeps ext as its image's extension (a name given by its writer, or a rename): in
 * the per-pin store, which a remount reads too. */
static int remember_ext(const char *id, const char *title, const char *ext)
{
	struct pinstore_rec kept;
	char name[NAME_MAX + 1];
	int result;

	if (!ext_index(ext))
		return 0; /* not an image extension pinfs names files with */
	snprintf(name, sizeof(name), "%.200s%s", title && *title ? title : id, ext);
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '_'; /* only the extension is read back */
	result = pinstore_get(id, &kept) == 0 ? pinstore_set_name(id, name)
					      : pinstore_put(id, name, NULL, NULL);
	if (result)
		log_warn("pin %s: its file's extension %s cannot be kept (%s)", id, ext,
			 strerror(-result));
	return 0;
}

int tree_apply_pin(const char *old_board_id, const cJSON *json, const char *ext)
{
	struct pin *p = pin_from_json(json, T.image_size);
	struct pinrec *r = NULL;
	struct board_node *bn;
	int result = 0;

	if (!p || !id_ok(p->id) || !p->board_id) {
		pin_free(p);
		return -EIO;
	}
	if (ext && p->image_url && ext_index(ext) != ext_for(p->id, p->image_url))
		result = remember_ext(p->id, p->title, ext);
	/* Packed against its own board: the listing it goes into. */
	if (!result && !(r = pinrec_pack(p, p->board_id)))
		result = -ENOMEM;
	pthread_mutex_lock(&T.lock);
	if (!result && old_board_id && strcmp(old_board_id, p->board_id) != 0 &&
	    (bn = listed_board(old_board_id)))
		result = change_pins(bn, p->id, NULL);
	bn = result ? NULL : listed_board(p->board_id);
	if (bn) {
		result = change_pins(bn, p->id, r);
		r = NULL;
		if (!result)
			touch_pin(bn, p->id);
	}
	pthread_mutex_unlock(&T.lock);
	free(r);
	pin_free(p);
	return result;
}

int tree_pin_ext(const char *board_id, const char *pin_id, const char *ext)
{
	char title[NAME_MAX + 1];
	struct board_node *bn;
	size_t i;
	uint8_t e = ext_index(ext);

	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&T.lock);
	bn = listed_board(board_id);
	i = bn ? pin_index(bn, pin_id) : 0;
	if (!bn || i == bn->npins || !bn->pins[i].ext) {
		pthread_mutex_unlock(&T.lock);
		return -ENOENT;
	}
	snprintf(title, sizeof(title), "%s",
		 pinrec_title(bn->pins[i].rec) ? pinrec_title(bn->pins[i].rec) : "");
	bn->pins[i].ext = e;
	bn->edits++;
	pthread_mutex_unlock(&T.lock);
	remember_ext(pin_id, title, ext);
	return 0;
}

static void add_ghost(const char *path)
{
	struct ghost *g = realloc(T.ghosts, (T.nghosts + 1) * sizeof(*g));

	if (!g)
		return;
	T.ghosts = g;
	g[T.nghosts].path = strdup(path);
	g[T.nghosts].until = now_s() + GHOST_LIFE_S;
	if (g[T.nghosts].path)
		T.nghosts++;
}

/* The index of a live ghost at path, or -1; drops expired ones on the way. Lock held. */
static ssize_t find_ghost(const char *path)
{
	double now = now_s();

	for (size_t i = 0; i < T.nghosts;) {
		if (T.ghosts[i].until < now) {
			free(T.ghosts[i].path);
			T.ghosts[i] = T.ghosts[--T.nghosts];
			continue;
		}
		if (strcmp(T.ghosts[i].path, path) == 0)
			return (ssize_t)i;
		i++;
	}
	return -1;
}

bool tree_ghost(const char *path, bool take)
{
	ssize_t i;

	pthread_mutex_lock(&T.lock);
	i = find_ghost(path);
	if (i >= 0 && take) {
		free(T.ghosts[i].path);
		T.ghosts[i] = T.ghosts[--T.nghosts];
	}
	pthread_mutex_unlock(&T.lock);
	return i >= 0;
}

void tree_apply_pin_gone(const char *board_id, const char *pin_id)
{
	struct board_node *bn;
	char path[PATH_MAX], name[NAME_MAX + 8];
	size_t i;

	pthread_mutex_lock(&T.lock);
	bn = listed_board(board_id);
	if (bn && (i = pin_index(bn, pin_id)) < bn->npins) {
		struct pin_node *pn = &bn->pins[i];

		pin_file(pn, true, name, sizeof(name));
		snprintf(path, sizeof(path), "/boards/%s%s%s/%s", bn->dname,
			 pn->folder < 0 ? "" : "/",
			 pn->folder < 0 ? "" : bn->secs[pn->folder].dname, name);
		add_ghost(path);
		remove_pin(bn, i);
	}
	pthread_mutex_unlock(&T.lock);
}

int tree_apply_section(const char *board_id, const cJSON *json)
{
	struct section *sec = section_from_json(json);
	struct board_node *bn;
	struct listing l;
	int result = 0;

	if (!sec || !id_ok(sec->id)) {
		section_free(sec);
		return -EIO;
	}
	pthread_mutex_lock(&T.lock);
	bn = listed_board(board_id);
	if (bn && !(result = to_listing(bn, &l))) {
		size_t i = 0;

		while (i < l.nsecs && strcmp(l.secs[i]->id, sec->id) != 0)
			i++;
		if (i < l.nsecs)
			section_free(l.secs[i]);
		else
			l.nsecs++; /* to_listing left room for one more */
		l.secs[i] = sec;
		sec = NULL;
		result = rebuild(bn, &l);
	}
	pthread_mutex_unlock(&T.lock);
	section_free(sec);
	return result;
}

void tree_apply_section_gone(const char *board_id, const char *section_id)
{
	struct board_node *bn;
	struct listing l;

	pthread_mutex_lock(&T.lock);
	bn = listed_board(board_id);
	if (bn && !to_listing(bn, &l)) {
		for (size_t i = 0; i < l.nsecs; i++) {
			if (strcmp(l.secs[i]->id, section_id) != 0)
				continue;
			section_free(l.secs[i]);
			l.secs[i] = l.secs[--l.nsecs];
			break;
		}
		/* Pinterest deletes a section's pins with it. */
		for (size_t i = 0; i < l.npins;) {
			const char *in = pinrec_section_id(l.pins[i]);

			if (in && strcmp(in, section_id) == 0) {
				free(l.pins[i]);
				l.pins[i] = l.pins[--l.npins];
			} else {
				i++;
			}
		}
		rebuild(bn, &l);
	}
	pthread_mutex_unlock(&T.lock);
}

bool tree_has_pin(const char *board_id, const char *pin_id)
{
	struct board_node *bn;
	bool found = false;

	pthread_mutex_lock(&T.lock);
	bn = find_board_id(board_id);
	for (size_t i = 0; bn && bn->listed && i < bn->npins && !found; i++)
		found = strcmp(pinrec_id(bn->pins[i].rec), pin_id) == 0;
	pthread_mutex_unlock(&T.lock);
	return found;
}
