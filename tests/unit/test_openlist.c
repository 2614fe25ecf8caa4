/* Unit tests of the list of handles not released yet (src/fuse/openlist.h). */
#include "check.h"
#include "openlist.h"

#include <stdbool.h>

struct handle {
	int id;
	struct open_link link;
};

static bool in_list(struct open_list *l, struct handle *h)
{
	for (struct open_link *n = l->head; n; n = n->next)
		if (OPEN_ITEM(n, struct handle, link) == h)
			return true;
	return false;
}

/* Handles go in and out in any order; what is left comes back, each once, until none. */
static void test_add_remove(void)
{
	struct open_list l = OPEN_LIST_INIT;
	struct handle h[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
	struct open_link *n;
	int left = 0, seen = 0;

	CHECK(open_list_first(&l) == NULL);
	for (int i = 0; i < 4; i++)
		open_list_add(&l, &h[i].link);
	open_list_remove(&l, &h[1].link); /* a middle one */
	open_list_remove(&l, &h[3].link); /* the head: the last added */
	CHECK(!in_list(&l, &h[1]) && !in_list(&l, &h[3]));
	CHECK(in_list(&l, &h[0]) && in_list(&l, &h[2]));
	while ((n = open_list_first(&l))) {
		struct handle *x = OPEN_ITEM(n, struct handle, link);

		CHECK(x == &h[0] || x == &h[2]);
		seen |= 1 << x->id;
		open_list_remove(&l, n);
		left++;
	}
	CHECK(left == 2 && seen == 5);
	/* A removed handle may go in again. */
	open_list_add(&l, &h[1].link);
	CHECK(OPEN_ITEM(open_list_first(&l), struct handle, link) == &h[1]);
	open_list_remove(&l, &h[1].link);
	CHECK(open_list_first(&l) == NULL);
}

int main(void)
{
	test_add_remove();
	return check_summary();
}
