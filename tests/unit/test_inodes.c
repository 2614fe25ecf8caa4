/* Unit tests of the inode table (src/fuse/inodes.c): paths, lookups counted and forgotten, removals
 * and renames as the kernel sends them. */
#include "check.h"
#include "inodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The path of ino is want (NULL: none). */
static void path_is(uint64_t ino, const char *want)
{
	char *got = inodes_path(ino);

	if (want)
		CHECK_STR(got ? got : "(none)", want);
	else
		CHECK(got == NULL);
	free(got);
}

static void test_paths(void)
{
	uint64_t boards, b, pin, again;
	char *p;

	CHECK(inodes_init() == 0);
	path_is(INODES_ROOT, "/");
	boards = inodes_remember(INODES_ROOT, "boards");
	b = inodes_remember(boards, "Lemon tarts");
	pin = inodes_remember(b, "Crust.jpg");
	CHECK(boards > INODES_ROOT && b > boards && pin > b);
	path_is(boards, "/boards");
	path_is(pin, "/boards/Lemon tarts/Crust.jpg");
	p = inodes_child_path(b, "Crust.json");
	CHECK_STR(p, "/boards/Lemon tarts/Crust.json");
	free(p);
	p = inodes_child_path(INODES_ROOT, "pins");
	CHECK_STR(p, "/pins");
	free(p);
	/* The same name is the same inode, one more lookup of it. */
	again = inodes_remember(b, "Crust.jpg");
	CHECK(again == pin);
	CHECK(inodes_count() == 3);
	CHECK(inodes_remember(9999, "x") == 0); /* an unknown folder */
	CHECK(inodes_child_path(9999, "x") == NULL);
	path_is(9999, NULL);
}

static void test_forget(void)
{
	uint64_t boards, b, pin;
	char *gone;

	CHECK(inodes_init() == 0);
	boards = inodes_remember(INODES_ROOT, "boards");
	b = inodes_remember(boards, "B");
	pin = inodes_remember(b, "p.jpg");
	inodes_remember(b, "p.jpg");
	/* The folder is forgotten first: it stays while its child is known. */
	inodes_forget(b, 1, NULL);
	path_is(pin, "/boards/B/p.jpg");
	/* A forget is the kernel's inode going, pages and all: fs.c hears the path each time,
	 * also when a lookup since keeps the number (a new kernel inode for it). */
	inodes_forget(pin, 1, &gone);
	CHECK_STR(gone, "/boards/B/p.jpg");
	free(gone);
	path_is(pin, "/boards/B/p.jpg"); /* one lookup left */
	inodes_forget(pin, 1, &gone);
	CHECK_STR(gone, "/boards/B/p.jpg"); /* it went */
	free(gone);
	inodes_forget(pin, 1, &gone); /* no longer known */
	CHECK(gone == NULL);
	path_is(pin, NULL);
	path_is(b, NULL); /* went with its last child */
	path_is(boards, "/boards");
	CHECK(inodes_count() == 1);
	/* A name looked up again after it went is a new inode. */
	CHECK(inodes_remember(boards, "B") > pin);
	inodes_forget(INODES_ROOT, 5, NULL); /* the root never goes */
	path_is(INODES_ROOT, "/");
}

static void test_unlink(void)
{
	uint64_t b, pin;
	char *p;

	CHECK(inodes_init() == 0);
	b = inodes_remember(INODES_ROOT, "B");
	pin = inodes_remember(b, "p.jpg");
	inodes_unlinked(b, "p.jpg");
	/* Open, removed: no path, until the kernel forgets it. */
	path_is(pin, NULL);
	CHECK(inodes_count() == 2);
	p = inodes_child_path(b, "p.jpg");
	CHECK_STR(p, "/B/p.jpg"); /* the name is free for a new file */
	free(p);
	CHECK(inodes_remember(b, "p.jpg") != pin);
	inodes_forget(pin, 1, &p);
	CHECK(p == NULL); /* it went, but had no path left */
	CHECK(inodes_count() == 2);
	inodes_unlinked(b, "nothing"); /* a name never looked up */
	CHECK(inodes_count() == 2);
}

static void test_rename(void)
{
	uint64_t a, b, sec, pin, other, x, y;

	CHECK(inodes_init() == 0);
	a = inodes_remember(INODES_ROOT, "A");
	b = inodes_remember(INODES_ROOT, "B");
	sec = inodes_remember(a, "Sec");
	pin = inodes_remember(sec, "p.jpg");
	/* A folder renamed: its children's paths follow. */
	inodes_renamed(a, "Sec", b, "Section", false);
	path_is(sec, "/B/Section");
	path_is(pin, "/B/Section/p.jpg");
	/* A rename onto a name in use: the file that had it has no path now. */
	other = inodes_remember(b, "q.jpg");
	inodes_renamed(sec, "p.jpg", b, "q.jpg", false);
	path_is(pin, "/B/q.jpg");
	path_is(other, NULL);
	/* A exchange swaps the names. */
	x = inodes_remember(a, "x");
	y = inodes_remember(b, "y");
	inodes_renamed(a, "x", b, "y", true);
	path_is(x, "/B/y");
	path_is(y, "/A/x");
	/* Within one folder, and of a name the kernel never looked up. */
	inodes_renamed(b, "y", b, "z", false);
	path_is(x, "/B/z");
	inodes_renamed(b, "ghost", b, "z2", false);
	path_is(x, "/B/z");
	/* The old folder, forgotten and now empty, goes; the moved file stays. */
	inodes_forget(sec, 1, NULL);
	path_is(sec, NULL);
	path_is(pin, "/B/q.jpg");
}

static void test_many(void)
{
	enum { N = 50000 };
	static uint64_t inos[N];
	uint64_t dir;
	char name[32], want[48];
	bool ok = true;

	CHECK(inodes_init() == 0);
	dir = inodes_remember(INODES_ROOT, "big");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "pin %d.jpg", i);
		inos[i] = inodes_remember(dir, name);
	}
	CHECK(inodes_count() == N + 1);
	for (int i = 0; i < N; i += 997) {
		char *p = inodes_path(inos[i]);

		snprintf(want, sizeof(want), "/big/pin %d.jpg", i);
		ok = ok && p && strcmp(p, want) == 0;
		free(p);
	}
	CHECK(ok);
	for (int i = 0; i < N; i++)
		inodes_forget(inos[i], 1, NULL);
	inodes_forget(dir, 1, NULL);
	CHECK(inodes_count() == 0);
	inodes_cleanup();
}

int main(void)
{
	test_paths();
	test_forget();
	test_unlink();
	test_rename();
	test_many();
	inodes_cleanup();
	return check_summary();
}
