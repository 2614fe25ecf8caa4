/* Unit tests of the table of what the mount's root holds (src/vfs/toplevel.h, router.c). */
#include "check.h"
#include "provider.h"
#include "toplevel.h"

#include <string.h>

static const struct provider *owner(const char *path)
{
	const struct top_entry *e = top_entry_of(&vfs_top, path);

	return e ? e->provider : NULL;
}

static void test_paths_find_their_entry(void)
{
	const struct top_entry *e = top_entry_of(&vfs_top, "/pins/Recipes");

	CHECK(e && strcmp(e->name, "pins") == 0 && e->provider == &social_provider);
	CHECK(owner("/boards") == &account_provider);
	CHECK(top_entry_of(&vfs_top, "/me.json") &&
	      top_entry_of(&vfs_top, "/me.json")->kind == S_IFREG);
	CHECK(owner("/.pinfs/stats") == &pinfs_provider);
	CHECK(owner("/analytics.json") == &analytics_provider);
	CHECK(top_entry_of(&vfs_top, "/analytics.json")->kind == S_IFREG);
	CHECK(top_entry_of(&vfs_top, "/analytics.jsonx") == NULL);
	CHECK(owner("/following/users/x.json") == &social_provider);
	CHECK(owner("/boards/pins") == &account_provider); /* a board named "pins" is a board's */
	CHECK(top_entry_of(&vfs_top, "/") == NULL);
	CHECK(top_entry_of(&vfs_top, "/pinsx") == NULL);
	CHECK(top_entry_of(&vfs_top, "/pin") == NULL);
	CHECK(top_entry_of(&vfs_top, "/.pinfsx/stats") == NULL);
}

static void test_every_name_once(void)
{
	int dup = 0;

	for (size_t i = 0; i < vfs_top.n; i++)
		for (size_t k = i + 1; k < vfs_top.n; k++)
			dup += strcmp(vfs_top.rows[i].name, vfs_top.rows[k].name) == 0;
	CHECK(dup == 0);
	CHECK(vfs_top.n == 8);
	CHECK(strcmp(vfs_top.rows[0].name, "me.json") == 0); /* the root's listing order */
	CHECK(strcmp(vfs_top.rows[5].name, "following") == 0);
	CHECK(strcmp(vfs_top.rows[6].name, "analytics.json") == 0);
	CHECK(strcmp(vfs_top.rows[7].name, ".pinfs") == 0);
	for (size_t i = 0; i < vfs_top.n; i++)
		CHECK(vfs_top.rows[i].provider && vfs_top.rows[i].provider->stat);
}

/* A table of a test's own: the lookup is the table's, not the mount's. */
static void test_another_table(void)
{
	static const struct top_entry rows[] = {{"a", S_IFDIR, NULL, true},
						{"ab", S_IFREG, NULL, false}};
	const struct top_table t = {rows, 2};

	CHECK(top_entry_of(&t, "/ab") == &rows[1]);
	CHECK(top_entry_of(&t, "/a/b") == &rows[0]);
	CHECK(top_entry_of(&t, "/boards") == NULL);
}

int main(void)
{
	test_paths_find_their_entry();
	test_every_name_once();
	test_another_table();
	return check_summary();
}
