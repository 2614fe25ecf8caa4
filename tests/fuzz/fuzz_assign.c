/* Naming a folder's objects (src/model/names.c names_assign): every name valid, and no two alike.
 *
 * Input: one flags byte (bit 0: reserve ".json"'s 5 bytes), then one object a line:
 * "title[\tkeep[\tid]]". A line starting with '!' is a name the folder already uses instead
 * (a section's folder beside pins). Ids default to distinct numbers, as Pinterest's are; a
 * given id may be anything (people.c names followers by username), and a repeated one drops
 * its line, since ids are unique within a folder.
 */
#include "fuzz.h"
#include "names.h"

#define MAX_SLOTS 64

struct input {
	struct name_slot slots[MAX_SLOTS];
	const char *reserved[MAX_SLOTS + 1];
	char ids[MAX_SLOTS][24];
	size_t n, nres;
};

static bool id_taken(const struct input *in, const char *id)
{
	for (size_t i = 0; i < in->n; i++)
		if (strcmp(in->slots[i].id, id) == 0)
			return true;
	return false;
}

/* Splits text (modified in place) into slots and reserved names. */
static void parse(char *text, size_t reserve, struct input *in)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line && in->n < MAX_SLOTS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *keep = strchr(line, '\t'), *id = NULL;

		if (line[0] == '!') {
			/* A reserved name is one the folder shows already: a valid name. The
			 * array keeps one slot for its NULL end. */
			if (in->nres < MAX_SLOTS && fuzz_name_ok(line + 1, NAMES_MAX))
				in->reserved[in->nres++] = line + 1;
			continue;
		}
		if (keep) {
			*keep++ = '\0';
			id = strchr(keep, '\t');
			if (id)
				*id++ = '\0';
		}
		if (!id || !*id) {
			snprintf(in->ids[in->n], sizeof(in->ids[0]), "%zu", 1000000 + in->n);
			id = in->ids[in->n];
		}
		if (id_taken(in, id))
			continue;
		in->slots[in->n++] = (struct name_slot){.title = line,
							.id = id,
							.reserve = reserve,
							.keep = keep && *keep ? keep : NULL};
	}
	in->reserved[in->nres] = NULL;
}

static void check_names(const struct input *in)
{
	for (size_t i = 0; i < in->n; i++) {
		const struct name_slot *s = &in->slots[i];

		FUZZ_CHECK(s->name != NULL);
		FUZZ_CHECK(fuzz_name_ok(s->name, NAMES_MAX - s->reserve));
		for (size_t k = 0; k < in->nres; k++)
			FUZZ_CHECK(strcmp(s->name, in->reserved[k]) != 0);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(s->name, in->slots[k].name) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input *in = calloc(1, sizeof(*in));
	char *text, *first[MAX_SLOTS];

	if (!in || size < 1) {
		free(in);
		return 0;
	}
	text = fuzz_string(data + 1, size - 1);
	parse(text, data[0] & 1 ? 5 : 0, in);
	FUZZ_CHECK(names_assign(in->slots, in->n, in->reserved) == 0);
	check_names(in);
	/* Names only depend on the folder's state: the same objects get the same names. */
	for (size_t i = 0; i < in->n; i++)
		first[i] = in->slots[i].name;
	FUZZ_CHECK(names_assign(in->slots, in->n, in->reserved) == 0);
	for (size_t i = 0; i < in->n; i++) {
		FUZZ_CHECK(strcmp(first[i], in->slots[i].name) == 0);
		free(first[i]);
	}
	/* Given back as kept names, every name stays what it is (a remount's listing). */
	for (size_t i = 0; i < in->n; i++)
		in->slots[i].keep = in->slots[i].name;
	char *kept[MAX_SLOTS];

	for (size_t i = 0; i < in->n; i++)
		kept[i] = in->slots[i].name;
	FUZZ_CHECK(names_assign(in->slots, in->n, in->reserved) == 0);
	check_names(in);
	for (size_t i = 0; i < in->n; i++) {
		FUZZ_CHECK(strcmp(kept[i], in->slots[i].name) == 0);
		free(kept[i]);
		free(in->slots[i].name);
	}
	free(text);
	free(in);
	return 0;
}
