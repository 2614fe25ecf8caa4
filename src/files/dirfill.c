#include "dirfill.h"

#include <string.h>

int dir_fill_whole(void *ctx, const char *name, mode_t kind)
{
	struct dir_fill *df = ctx;
	struct stat st = {.st_mode = kind};

	return df->fill(df->ctx, name, &st, 0, 0);
}

int dir_fill_attr(struct dir_fill *df, const char *name, const struct stat *st, unsigned flags)
{
	if (++df->n <= df->after)
		return 0;
	if (df->fill(df->ctx, name, st, df->n, flags))
		df->full = true;
	return df->full;
}

int dir_fill_next(void *ctx, const char *name, mode_t kind)
{
	struct stat st = {.st_mode = kind};

	return dir_fill_attr(ctx, name, &st, 0);
}

/* Not snprintf: a listing makes one for every entry it describes. */
bool dir_fill_child(const struct dir_fill *df, const char *name, char path[PATH_MAX])
{
	size_t nd = strcmp(df->dir, "/") ? strlen(df->dir) : 0, nn = strlen(name);

	if (nd + 1 + nn >= PATH_MAX)
		return false;
	memcpy(path, df->dir, nd);
	path[nd] = '/';
	memcpy(path + nd + 1, name, nn + 1);
	return true;
}
