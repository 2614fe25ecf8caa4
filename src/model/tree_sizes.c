/* Image sizes: a folder's unknown sizes learnt by a sweep of parallel HEADs in a thread of its
 * own, and sizes a download contradicted forgotten by the listings that show them. Part of the
 * account tree: see tree_int.h. */
#include "tree_int.h"

#include "bg.h"
#include "blocking.h"
#include "cache.h"
#include "http.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A folder's sweep: the HEADs of every image in it whose size is not known, in a task of the
 * sweeps group, so that the stat that started it (and each one after) waits only for its own
 * image's size, not for the whole folder's: a thumbnailer's open goes on while the rest of
 * the folder is learnt. ls -l, which wants every size, still waits for every one. */
struct sweep {
	/* Its own thread's: bn, gen, f and pins are read against bn's listing under tree.lock;
	 * urls and sizes are the sweep's alone. */
	struct board_node *bn; /* board nodes live until unmount */
	unsigned gen;	       /* the listing swept; pins[] below index its pins */
	struct folder *f;      /* valid while bn->gen == gen */
	char **urls;
	size_t *pins;	 /* pins[i]: the index in bn->pins of urls[i]'s pin */
	unsigned *parts; /* parts[i]: which of its files urls[i] is (0: the main one) */
	int64_t *sizes;
	size_t n;
};

/* The sweeps under way, a task each, waited for at unmount (tree_sweeps_stop). The group guards
 * itself (bg.h); what each sweep does to its board (bn->sweeps, the folder's sizing flight) is
 * guarded by tree.lock. */
static struct bg_group sweeps = BG_GROUP_INIT;

static void sweep_free(struct sweep *sw)
{
	for (size_t i = 0; i < sw->n; i++)
		free(sw->urls[i]);
	free(sw->urls);
	free(sw->pins);
	free(sw->parts);
	free(sw->sizes);
	free(sw);
}

/* One size learnt: kept on disk, and shown at once to those waiting for it. */
static void sweep_learnt(size_t i, int64_t size, void *ctx)
{
	struct sweep *sw = ctx;

	cache_size_put(sw->urls[i], size);
	pthread_mutex_lock(&tree.lock);
	if (sw->bn->gen == sw->gen) {
		struct pin_node *pn = &sw->bn->pins[sw->pins[i]];

		if (sw->parts[i] == 0 && pn->size < 0)
			pn->size = size;
		/* Only a stat waiting for this very size is woken: ls -l of a big folder would
		 * otherwise wake at every one of its sizes. */
		if (pn->waited) {
			pn->waited = false;
			pthread_cond_broadcast(&tree.changed);
		}
	}
	pthread_mutex_unlock(&tree.lock);
}

/* Whether parts (a pin's list of URLs, each ended by '\n') holds url. */
static bool among_parts(const char *parts, const char *url)
{
	size_t n = strlen(url);

	for (const char *p = parts; p && *p; p = strchr(p, '\n') + 1)
		if (strncmp(p, url, n) == 0 && p[n] == '\n')
			return true;
	return false;
}

/* Whether the pin whose image (or a file beside it) is url is still in bn's listing. Lock
 * held. */
static bool image_listed(const struct board_node *bn, const char *url)
{
	for (size_t i = 0; !bn->gone && i < bn->npins; i++)
		if ((bn->pins[i].ext && strcmp(pinrec_image_url(bn->pins[i].rec), url) == 0) ||
		    among_parts(pinrec_parts(bn->pins[i].rec), url))
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

static void sweep_run(void *arg)
{
	struct sweep *sw = arg;
	struct board_node *bn = sw->bn;
	size_t missed = 0;

	if (http_head_sizes((const char *const *)sw->urls, sw->n, sw->sizes, tree.head_parallel,
			    sweep_learnt, sw) < sw->n) {
		pthread_mutex_lock(&tree.lock);
		missed = sweep_missed(sw);
		pthread_mutex_unlock(&tree.lock);
	}
	if (missed && !http_cancelled())
		log_warn("could not learn the size of %zu image(s)", missed);
	http_thread_end();
	pthread_mutex_lock(&tree.lock);
	/* The listing may have been replaced meanwhile; its pins read sizes from the cache. */
	for (size_t i = 0; i < bn->npins; i++)
		if (bn->pins[i].size < 0 && bn->pins[i].ext)
			bn->pins[i].size = cache_size_get(pinrec_image_url(bn->pins[i].rec));
	bn->sweeps--;
	if (bn->gen == sw->gen) {
		sw->f->sizes_tried = true;
		flight_land(&sw->f->sizing, &tree.changed);
	} else {
		/* A sweep of a listing before this one: those waiting for it to end look again
		 * (tree_learn_sizes). Its folder is gone, and with it the flight it took. */
		bn->old_sweeps--;
		pthread_cond_broadcast(&tree.changed);
	}
	pthread_mutex_unlock(&tree.lock);
	sweep_free(sw);
}

/* The files of folder f a sweep may ask for: each pin's main file and those beside it. */
static size_t files_of(const struct board_node *bn, const struct folder *f)
{
	size_t n = 1;

	for (size_t k = 0; k < f->n; k++)
		n += 1 + tree_part_count(&bn->pins[f->pins[k]]);
	return n;
}

/* Adds pin i's files of unknown size to sw: part `only` alone unless it is UINT_MAX, and not
 * part `skip` (UINT_MAX: none skipped). 0 or -ENOMEM. Lock held. */
static int sweep_add(struct sweep *sw, size_t i, unsigned only, unsigned skip)
{
	const struct pin_node *pn = &sw->bn->pins[i];
	unsigned n = tree_part_count(pn);
	char url[4096];

	for (unsigned part = 0; part <= n; part++) {
		if ((only != UINT_MAX && part != only) || part == skip ||
		    tree_part_size(pn, part) >= 0)
			continue;
		if (part ? tree_part_url(pn, part, url, sizeof(url)) != 0 : !pn->ext)
			continue;
		if (!(sw->urls[sw->n] = strdup(part ? url : pinrec_image_url(pn->rec))))
			return -ENOMEM;
		sw->pins[sw->n] = i;
		sw->parts[sw->n++] = part;
	}
	return 0;
}

/* The sweep of w's folder, w's own file first. NULL when out of memory. Lock held. */
static struct sweep *sweep_new(const struct where *w)
{
	struct board_node *bn = w->bn;
	struct folder *f = w->f;
	struct sweep *sw = calloc(1, sizeof(*sw));
	size_t cap = files_of(bn, f), first = (size_t)(w->pn - bn->pins);
	unsigned part = w->type == NODE_PIN_PART ? w->part : 0;

	if (!sw || !(sw->urls = calloc(cap, sizeof(*sw->urls))) ||
	    !(sw->pins = malloc(cap * sizeof(*sw->pins))) ||
	    !(sw->parts = malloc(cap * sizeof(*sw->parts))) ||
	    !(sw->sizes = malloc(cap * sizeof(*sw->sizes))))
		goto fail;
	sw->bn = bn;
	sw->gen = bn->gen;
	sw->f = f;
	/* The asker's file first; then the folder's others, in listing order. */
	if (sweep_add(sw, first, part, UINT_MAX))
		goto fail;
	for (size_t k = 0; k < f->n; k++)
		if (sweep_add(sw, f->pins[k], UINT_MAX, f->pins[k] == first ? part : UINT_MAX))
			goto fail;
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
void tree_learn_sizes(struct where *w)
{
	struct board_node *bn = w->bn;
	unsigned gen = bn->gen;
	struct folder *f = w->f;
	struct pin_node *pn = w->pn;
	unsigned part = w->type == NODE_PIN_PART ? w->part : 0;
	struct sweep *sw;

	if (!f->sizing.busy && bn->old_sweeps) {
		/* A sweep of the board's listing before this one (rm -r deleting pins renames
		 * nothing but lists the board anew) may be asking for this very image: its
		 * sizes reach this listing when it ends. Asking again would send the HEAD twice. */
		flight_wait(&tree.lock, &tree.changed);
		return;
	}
	if (!f->sizing.busy) {
		if (!(sw = sweep_new(w))) {
			f->sizes_tried = true; /* out of memory: the size stays unknown */
			return;
		}
		flight_take(&f->sizing, &tree.lock, &tree.changed); /* not busy: the sweep's */
		bn->sweeps++;
		if (bg_spawn(&sweeps, sweep_run, sw)) {
			bn->sweeps--;
			f->sizes_tried = true;
			flight_land(&f->sizing, &tree.changed);
			sweep_free(sw);
		}
	}
	while (bn->gen == gen && f->sizing.busy && tree_part_size(pn, part) < 0) {
		/* Not a flight's landing: this image's size, which the sweep tells as it comes
		 * (sweep_learnt), or the sweep's end. From the network all the same. */
		pn->waited = true;
		blocking_ahead();
		pthread_cond_wait(&tree.changed, &tree.lock);
	}
}

/* Waits for the sweeps still running; then the group may start them again, for a new mount in
 * this process (the tests'). Lock not held: the sweeps take it to end. */
void tree_sweeps_stop(void)
{
	bg_stop(&sweeps);
	bg_resume(&sweeps);
}

/* A size that a download contradicted is forgotten by the cache (cache_size_forgets): the
 * listings that show it forget it too, so a stat learns it again rather than a read ending
 * at the wrong size. Rare; then one pass over the listed pins. Lock held. */
void tree_drop_forgotten_sizes(void)
{
	uint64_t forgets = cache_size_forgets();

	if (forgets == tree.forgets)
		return;
	tree.forgets = forgets;
	for (size_t b = 0; b < tree.nboards; b++) {
		struct board_node *bn = tree.boards[b];

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
