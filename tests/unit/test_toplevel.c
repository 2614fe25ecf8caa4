/* Unit tests of the table of what the mount's root holds (src/util/toplevel.h). */
#include "check.h"
#include "toplevel.h"

#include <string.h>

static void test_paths_find_their_entry(void)
{
	const struct top_entry *e = top_entry_of("/pins/Recipes");

	CHECK(e && strcmp(e->name, "pins") == 0 && e->owner == TOP_SOCIAL);
	CHECK(top_entry_of("/boards") && top_entry_of("/boards")->owner == TOP_ACCOUNT);
	CHECK(top_entry_of("/me.json") && top_entry_of("/me.json")->kind == S_IFREG);
	CHECK(top_owned_by("/.pinfs/stats", TOP_PINFS));
	CHECK(top_owned_by("/following/users/x.json", TOP_SOCIAL));
	CHECK(!top_owned_by("/boards/pins", TOP_SOCIAL)); /* a board named "pins" is a board's */
	CHECK(top_entry_of("/") == NULL);
	CHECK(top_entry_of("/pinsx") == NULL);
	CHECK(top_entry_of("/pin") == NULL);
	CHECK(top_entry_of("/.pinfsx/stats") == NULL);
}

static void test_every_name_once(void)
{
	int dup = 0;

	for (size_t i = 0; i < top_count; i++)
		for (size_t k = i + 1; k < top_count; k++)
			dup += strcmp(top_entries[i].name, top_entries[k].name) == 0;
	CHECK(dup == 0);
	CHECK(top_count == 7);
	CHECK(strcmp(top_entries[0].name, "me.json") == 0); /* the root's listing order */
}

int main(void)
{
	test_paths_find_their_entry();
	test_every_name_once();
	return check_summary();
}
