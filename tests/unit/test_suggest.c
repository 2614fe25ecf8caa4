/* Unit tests of the board ranking behind user.pinterest.suggested_boards
 * (src/model/suggest.c). */
#include "check.h"
#include "suggest.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The board names in ranked order, joined by ",". */
static const char *ranking(const char *title, const char *description,
			   const struct suggest_board *boards, size_t n)
{
	static char out[512];
	size_t order[16], used = 0;

	out[0] = '\0';
	if (suggest_rank(title, description, boards, n, order) != 0)
		return "(failed)";
	for (size_t i = 0; i < n; i++)
		used += snprintf(out + used, sizeof(out) - used, "%s%s", i ? "," : "",
				 boards[order[i]].name);
	return out;
}

static const char *const recipe_pins[] = {"Lemon tart", "Shakshuka for two", "Homemade focaccia"};
static const char *const travel_pins[] = {"Kyoto in autumn", "Lisbon tram 28"};

static void test_name_beats_pins(void)
{
	const struct suggest_board boards[] = {
	    {"Recipes", "Things I want to cook this year.", recipe_pins, N(recipe_pins)},
	    {"Travel", "Places I have been.", travel_pins, N(travel_pins)},
	    {"Lemon tart ideas", NULL, NULL, 0},
	};

	CHECK_STR(ranking("Lemon tart", NULL, boards, N(boards)),
		  "Lemon tart ideas,Recipes,Travel");
	CHECK_STR(ranking("Autumn in Kyoto", "", boards, N(boards)),
		  "Travel,Lemon tart ideas,Recipes");
}

static void test_weights(void)
{
	static const char *const soup_pins[] = {"Tomato soup"};
	/* One board each: named for the word, describing it, holding a pin titled with it. */
	const struct suggest_board boards[] = {
	    {"C pins", "", soup_pins, 1},
	    {"B described", "Soup every winter", NULL, 0},
	    {"A soups", NULL, NULL, 0},
	};

	CHECK_STR(ranking("Soup", NULL, boards, N(boards)), "A soups,B described,C pins");
}

static void test_title_counts_more_than_description(void)
{
	const struct suggest_board boards[] = {
	    {"Garden", NULL, NULL, 0},
	    {"Kitchen", NULL, NULL, 0},
	};

	CHECK_STR(ranking("Kitchen shelves", "Seen in a garden centre", boards, N(boards)),
		  "Kitchen,Garden");
}

static void test_rare_words_weigh_more(void)
{
	static const char *const a_pins[] = {"Easy cake", "Chocolate cake"};
	static const char *const b_pins[] = {"Easy bread"};
	static const char *const c_pins[] = {"Easy salad"};
	const struct suggest_board boards[] = {
	    {"Bakes", NULL, b_pins, 1},
	    {"Cakes", NULL, a_pins, 2},
	    {"Salads", NULL, c_pins, 1},
	};

	/* "easy" is on every board; "chocolate" on one. */
	CHECK_STR(ranking("Easy chocolate", NULL, boards, N(boards)), "Cakes,Bakes,Salads");
}

static void test_words(void)
{
	const struct suggest_board boards[] = {
	    {"The best of", NULL, NULL, 0}, /* stop words only */
	    {"TARTS", NULL, NULL, 0},	    /* case and plural */
	    {"Crème brûlée", NULL, NULL, 0},
	};

	CHECK_STR(ranking("The lemon tart", NULL, boards, N(boards)),
		  "TARTS,Crème brûlée,The best of");
	CHECK_STR(ranking("crème", NULL, boards, N(boards)), "Crème brûlée,TARTS,The best of");
	/* Punctuation splits words; a single letter counts for nothing. */
	CHECK_STR(ranking("a-tart!", NULL, boards, N(boards)), "TARTS,Crème brûlée,The best of");
	CHECK_STR(ranking("glass", NULL,
			  (const struct suggest_board[]){{"Glas", NULL, NULL, 0},
							 {"Glass", NULL, NULL, 0}},
			  2),
		  "Glass,Glas");
}

static void test_ties_and_empty(void)
{
	const struct suggest_board boards[] = {
	    {"Zoo", NULL, NULL, 0},
	    {"Apple", NULL, NULL, 0},
	    {"Mango", "", NULL, 0},
	};
	const char *const untitled[] = {NULL, ""};
	const struct suggest_board nulls[] = {{NULL, NULL, untitled, 2}, {"x", NULL, NULL, 0}};
	size_t order[1] = {99};

	CHECK_STR(ranking(NULL, NULL, boards, N(boards)), "Apple,Mango,Zoo");
	CHECK_STR(ranking("nothing matches", "at all", boards, N(boards)), "Apple,Mango,Zoo");
	CHECK(suggest_rank("anything", NULL, boards, 0, order) == 0 && order[0] == 99);
	CHECK(suggest_rank("x", "y", nulls, 2, (size_t[2]){0}) == 0);
}

static void test_long_text(void)
{
	char description[4000], title[300];
	const struct suggest_board boards[] = {{"Other", NULL, NULL, 0}, {"Zebra", NULL, NULL, 0}};

	/* More words than are kept: the title's come first, so its word still counts. */
	memset(title, 'q', sizeof(title) - 1);
	title[sizeof(title) - 1] = '\0';
	strcpy(title, "zebra ");
	title[6] = 'q';
	description[0] = '\0';
	for (int i = 0; i < 500; i++)
		snprintf(description + strlen(description),
			 sizeof(description) - strlen(description), "w%d ", i);
	CHECK_STR(ranking(title, description, boards, N(boards)), "Zebra,Other");
}

int main(void)
{
	test_name_beats_pins();
	test_weights();
	test_title_counts_more_than_description();
	test_rare_words_weigh_more();
	test_words();
	test_ties_and_empty();
	test_long_text();
	return check_summary();
}
