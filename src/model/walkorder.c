/* Orders of boards for a walk: see walkorder.h. */
#include "walkorder.h"

#include <stdlib.h>

/* Indices by pages, fewest first; ties by index, so the order is the same every time. */
static int fewer_pages(const void *a, const void *b, void *arg)
{
	const long *pages = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (pages[i] != pages[j])
		return pages[i] < pages[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

void walk_order(const long *pages, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* glibc's qsort_r: the comparison needs the pages. */
	qsort_r(order, n, sizeof(*order), fewer_pages, (void *)pages);
}

void prefetch_order(const long *pages, size_t n, size_t *order)
{
	size_t longs = 0;

	walk_order(pages, n, order);
	/* The walker's order ends with the longest: take them from its end, longest first, and
	 * shift the rest down behind them. Ties among the longest keep the later ones first,
	 * which the walker meets last. */
	while (longs < WALK_LONG_FIRST && longs < n && pages[order[n - 1]] > 1) {
		size_t last = order[n - 1];

		for (size_t i = n - 1; i > longs; i--)
			order[i] = order[i - 1];
		order[longs++] = last;
	}
}
