/* Unit tests of the orders a walk meets and lists the boards in (src/model/walkorder.h). */
#include "check.h"
#include "walkorder.h"

#include <stdbool.h>
#include <stdlib.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool is(const size_t *got, const size_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			return false;
	return true;
}

typedef void (*order_fn)(const long *, size_t, size_t *);

/* True when how orders pages[0..n) (n <= 16) as want. */
static bool orders(order_fn how, const long *pages, size_t n, const size_t *want)
{
	size_t got[16];

	how(pages, n, got);
	return is(got, want, n);
}

/* The fewest pages first; boards of as many pages keep the tree's order. */
static void test_walk_fewest_first(void)
{
	const long pages[] = {4, 2, 0, 2, 10, 1, 2};
	const size_t want[] = {2, 5, 1, 3, 6, 0, 4};

	CHECK(orders(walk_order, pages, N(pages), want));
}

/* The two longest first, longest first, then the walker's order, without the two. */
static void test_prefetch_longest_then_walker(void)
{
	const long pages[] = {4, 2, 1, 2, 10, 1, 3};
	const size_t want[] = {4, 0, 2, 5, 1, 3, 6};

	CHECK(orders(prefetch_order, pages, N(pages), want));
}

/* A one-page listing is no chain: nothing jumps ahead of the walker's order for it. */
static void test_prefetch_one_page_boards(void)
{
	const long pages[] = {1, 0, 1, 1};
	const size_t want[] = {1, 0, 2, 3};
	const long one_long[] = {1, 5, 1};
	const size_t want_one[] = {1, 0, 2};

	CHECK(orders(prefetch_order, pages, N(pages), want));
	CHECK(orders(prefetch_order, one_long, N(one_long), want_one));
}

/* Few boards, none or one: every index once. */
static void test_prefetch_small(void)
{
	const long two[] = {3, 7};
	const size_t want_two[] = {1, 0};
	const long one[] = {9};
	size_t order[2] = {99, 99};

	prefetch_order(one, 0, order);
	CHECK(order[0] == 99);
	prefetch_order(one, 1, order);
	CHECK(order[0] == 0);
	CHECK(orders(prefetch_order, two, 2, want_two));
}

/* Many boards: both orders are permutations, walk_order never decreases in pages, and
 * prefetch_order is walk_order with the two longest moved to the front. */
static void test_many_boards(void)
{
	enum { n = 500 };
	long pages[n];
	size_t walk[n], pre[n], rest = 0;
	bool seen[n] = {false}, sorted = true, perm = true;

	srand(7);
	for (size_t i = 0; i < n; i++)
		pages[i] = rand() % 12;
	walk_order(pages, n, walk);
	prefetch_order(pages, n, pre);
	for (size_t i = 0; i < n; i++) {
		perm = perm && walk[i] < n && !seen[walk[i]];
		if (walk[i] < n)
			seen[walk[i]] = true;
		if (i)
			sorted = sorted &&
				 (pages[walk[i - 1]] < pages[walk[i]] ||
				  (pages[walk[i - 1]] == pages[walk[i]] && walk[i - 1] < walk[i]));
	}
	CHECK(perm);
	CHECK(sorted);
	CHECK(pre[0] == walk[n - 1] && pre[1] == walk[n - 2]);
	for (size_t i = 0; i < n - 2; i++)
		rest += pre[i + 2] == walk[i];
	CHECK(rest == n - 2);
}

int main(void)
{
	test_walk_fewest_first();
	test_prefetch_longest_then_walker();
	test_prefetch_one_page_boards();
	test_prefetch_small();
	test_many_boards();
	return check_summary();
}
