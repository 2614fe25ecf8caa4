#include "suggest.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX  48  /* longer words are cut; cut alike, they still match each other */
#define TERMS_MAX 128 /* words of a pin that count: its title's first, then its description's */

/* Where a board mentions a word. A mention in pin titles adds up to TITLES_W however many
 * titles have it, so a big board does not outweigh a board named for the word. */
#define NAME_W	    3.0
#define DESC_W	    2.0
#define TITLES_W    1.0
#define PIN_TITLE_W 2.0 /* a word of the pin's title, against 1 for a word of its description */

/* Words too common to tell boards apart. Sorted, for bsearch. */
static const char *const stop_words[] = {
    "about", "after", "all",   "also",	"an",	"and",	 "any",	 "are",	 "as",	 "at",	"be",
    "but",   "by",    "can",   "de",	"do",	"for",	 "from", "get",	 "had",	 "has", "have",
    "he",    "her",   "his",   "how",	"if",	"in",	 "into", "is",	 "it",	 "its", "just",
    "la",    "le",    "like",  "me",	"more", "my",	 "new",	 "no",	 "not",	 "of",	"on",
    "one",   "or",    "our",   "out",	"she",	"so",	 "some", "than", "that", "the", "their",
    "them",  "then",  "there", "these", "they", "this",	 "to",	 "too",	 "up",	 "us",	"very",
    "was",   "we",    "were",  "what",	"when", "which", "who",	 "will", "with", "you", "your",
};

struct term {
	char word[WORD_MAX + 1];
	double weight;
	size_t boards; /* how many boards mention it */
};

/* How one board mentions one term. */
struct hit {
	bool name, desc;
	uint32_t titles; /* pin titles that have it */
	size_t last;	 /* 1 + the last title counted, so a title counts once */
};

struct ranked {
	double score;
	const char *name;
	size_t index;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_stop_word(const char *word)
{
	return bsearch(&word, stop_words, sizeof(stop_words) / sizeof(stop_words[0]),
		       sizeof(stop_words[0]), cmp_str) != NULL;
}

/* ASCII letters and digits, and every byte of a multi-byte UTF-8 character: words in any
 * script hold together; only ASCII punctuation and spaces split them. */
static bool is_word_byte(unsigned char c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* A plural "s" goes, so that "tarts" finds "tart"; "glass" and short words stay. */
static void fold_plural(char *word, size_t len)
{
	if (len > 3 && word[len - 1] == 's' && word[len - 2] != 's')
		word[len - 1] = '\0';
}

/* Reads the next word worth matching from *s into word, in lower case. False at the end. */
static bool next_word(const char **s, char word[WORD_MAX + 1])
{
	const unsigned char *p = (const unsigned char *)*s;

	for (;;) {
		size_t len = 0;

		while (*p && !is_word_byte(*p))
			p++;
		if (!*p)
			break;
		while (*p && is_word_byte(*p)) {
			if (len < WORD_MAX)
				word[len++] =
				    (char)(*p >= 'A' && *p <= 'Z' ? *p + ('a' - 'A') : *p);
			p++;
		}
		word[len] = '\0';
		/* One ASCII character is an initial or a stray digit, not a topic. */
		if ((len == 1 && (unsigned char)word[0] < 0x80) || is_stop_word(word))
			continue;
		fold_plural(word, len);
		*s = (const char *)p;
		return true;
	}
	*s = (const char *)p;
	return false;
}

/* Adds the words of text to terms with this weight (a word already there keeps the larger). */
static void add_terms(const char *text, double weight, struct term *terms, size_t *n)
{
	char word[WORD_MAX + 1];
	size_t i;

	while (text && next_word(&text, word)) {
		for (i = 0; i < *n && strcmp(terms[i].word, word) != 0; i++)
			;
		if (i < *n) {
			if (terms[i].weight < weight)
				terms[i].weight = weight;
			continue;
		}
		if (*n == TERMS_MAX)
			return;
		memcpy(terms[i].word, word, sizeof(word));
		terms[i].weight = weight;
		terms[i].boards = 0;
		(*n)++;
	}
}

static int cmp_term(const void *a, const void *b)
{
	return strcmp(((const struct term *)a)->word, ((const struct term *)b)->word);
}

static struct term *find_term(struct term *terms, size_t n, const char *word)
{
	struct term key;

	memcpy(key.word, word, WORD_MAX + 1);
	return n ? bsearch(&key, terms, n, sizeof(*terms), cmp_term) : NULL;
}

enum field { F_NAME, F_DESC, F_TITLE };

/* Records in hits (one per term) which terms text mentions. title: 1 + the title's index. */
static void scan(const char *text, enum field field, size_t title, struct term *terms, size_t n,
		 struct hit *hits)
{
	char word[WORD_MAX + 1];
	struct term *t;

	while (text && next_word(&text, word)) {
		t = find_term(terms, n, word);
		if (!t)
			continue;
		struct hit *h = &hits[t - terms];

		if (field == F_NAME)
			h->name = true;
		else if (field == F_DESC)
			h->desc = true;
		else if (h->last != title) {
			h->titles++;
			h->last = title;
		}
	}
}

static void scan_board(const struct suggest_board *b, struct term *terms, size_t n,
		       struct hit *hits)
{
	scan(b->name, F_NAME, 0, terms, n, hits);
	scan(b->description, F_DESC, 0, terms, n, hits);
	for (size_t i = 0; i < b->npins; i++)
		scan(b->pin_titles[i], F_TITLE, i + 1, terms, n, hits);
	for (size_t k = 0; k < n; k++)
		terms[k].boards += hits[k].name || hits[k].desc || hits[k].titles;
}

/* tf-idf-like: each term the board mentions adds the pin's weight for it, times how rare it
 * is among the boards, times where the board mentions it. */
static double score(const struct hit *hits, const struct term *terms, size_t n, size_t nboards)
{
	double total = 0;

	for (size_t k = 0; k < n; k++) {
		const struct hit *h = &hits[k];
		double where;

		if (!terms[k].boards)
			continue;
		where = (h->name ? NAME_W : 0) + (h->desc ? DESC_W : 0) +
			TITLES_W * h->titles / (h->titles + 1.0);
		total += terms[k].weight * log(1.0 + (double)nboards / terms[k].boards) * where;
	}
	return total;
}

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

int suggest_rank(const char *title, const char *description, const struct suggest_board *boards,
		 size_t n, size_t *order)
{
	struct term *terms = calloc(TERMS_MAX, sizeof(*terms));
	struct ranked *ranked = calloc(n ? n : 1, sizeof(*ranked));
	struct hit *hits = NULL;
	size_t nterms = 0;
	int result = -ENOMEM;

	if (!terms || !ranked)
		goto out;
	add_terms(title, PIN_TITLE_W, terms, &nterms);
	add_terms(description, 1.0, terms, &nterms);
	if (nterms > 1)
		qsort(terms, nterms, sizeof(*terms), cmp_term);
	hits = calloc(n && nterms ? n * nterms : 1, sizeof(*hits));
	if (!hits)
		goto out;
	/* Every board first, so each term knows how many boards share it. */
	for (size_t i = 0; i < n; i++)
		scan_board(&boards[i], terms, nterms, hits + i * nterms);
	for (size_t i = 0; i < n; i++)
		ranked[i] =
		    (struct ranked){score(hits + i * nterms, terms, nterms, n), boards[i].name, i};
	if (n > 1)
		qsort(ranked, n, sizeof(*ranked), cmp_ranked);
	for (size_t i = 0; i < n; i++)
		order[i] = ranked[i].index;
	result = 0;
out:
	free(hits);
	free(ranked);
	free(terms);
	return result;
}
