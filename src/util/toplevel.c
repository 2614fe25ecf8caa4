#include "toplevel.h"

#include <string.h>

const struct top_entry top_entries[] = {
    {"me.json", S_IFREG, TOP_ACCOUNT},	{"boards", S_IFDIR, TOP_ACCOUNT},
    {"pins", S_IFDIR, TOP_SOCIAL},	{"search", S_IFDIR, TOP_SOCIAL},
    {"followers", S_IFDIR, TOP_SOCIAL}, {"following", S_IFDIR, TOP_SOCIAL},
    {".pinfs", S_IFDIR, TOP_PINFS},
};

const size_t top_count = sizeof(top_entries) / sizeof(top_entries[0]);

const struct top_entry *top_entry_of(const char *path)
{
	const char *name = path[0] == '/' ? path + 1 : path;
	size_t len = strcspn(name, "/");

	for (size_t i = 0; len && i < top_count; i++)
		if (strlen(top_entries[i].name) == len &&
		    memcmp(top_entries[i].name, name, len) == 0)
			return &top_entries[i];
	return NULL;
}

bool top_owned_by(const char *path, enum top_owner owner)
{
	const struct top_entry *e = top_entry_of(path);

	return e && e->owner == owner;
}
