#include "social.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* The folders of the namespace; their contents come from later work. */
static const char *const folders[] = {
	"/pins", "/search", "/search/pins", "/search/boards", "/followers", "/following",
	"/following/users", "/following/boards", "/following/interests", NULL,
};

static bool is_folder(const char *path)
{
	for (size_t i = 0; folders[i]; i++)
		if (strcmp(folders[i], path) == 0)
			return true;
	return false;
}

bool social_owns(const char *path)
{
	static const char *const tops[] = {"/pins", "/search", "/followers", "/following", NULL};

	for (size_t i = 0; tops[i]; i++) {
		size_t len = strlen(tops[i]);

		if (strncmp(path, tops[i], len) == 0 && (path[len] == '\0' || path[len] == '/'))
			return true;
	}
	return false;
}

int social_stat(const char *path, struct node_info *out)
{
	if (!is_folder(path))
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->type = NODE_OTHER;
	out->kind = S_IFDIR;
	out->nlink = 2;
	out->mtime = time(NULL);
	return 0;
}

int social_list(const char *path, tree_fill_fn fill, void *ctx)
{
	size_t len = strlen(path);

	if (!is_folder(path))
		return -ENOENT;
	for (size_t i = 0; folders[i]; i++)
		if (strncmp(folders[i], path, len) == 0 && folders[i][len] == '/' &&
		    !strchr(folders[i] + len + 1, '/'))
			fill(ctx, folders[i] + len + 1, S_IFDIR);
	return 0;
}

int social_readlink(const char *path, char *buf, size_t len)
{
	(void)path, (void)buf, (void)len;
	return -EINVAL;
}

int social_read_text(const char *path, char **text, size_t *len)
{
	(void)path;
	*text = NULL;
	*len = 0;
	return -EISDIR;
}

int social_create(const char *path)
{
	(void)path;
	return -EACCES;
}

int social_unlink(const char *path)
{
	(void)path;
	return -EACCES;
}
