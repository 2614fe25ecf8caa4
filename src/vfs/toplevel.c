#include "toplevel.h"

#include <string.h>

const struct top_entry *top_entry_of(const struct top_table *t, const char *path)
{
	const char *name = path[0] == '/' ? path + 1 : path;
	size_t len = strcspn(name, "/");

	for (size_t i = 0; len && i < t->n; i++)
		if (strlen(t->rows[i].name) == len && memcmp(t->rows[i].name, name, len) == 0)
			return &t->rows[i];
	return NULL;
}
