#include "social.h"

#include "bg.h"
#include "http.h"
#include "links.h"
#include "log.h"
#include "names.h"
#include "people.h"
#include "vfolder.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOLLOWING_USERS	 "/following/users"
#define FOLLOWING_BOARDS "/following/boards"

/* Folders whose contents never change, and what they hold. */
static const struct {
	const char *path;
	const char *const children[4];
} fixed[] = {
    {"/search", {"pins", "boards"}},
    /* Any name below these is a query, run when it is looked into: nothing to list. */
    {"/search/pins", {NULL}},
    {"/search/boards", {NULL}},
    {"/following", {"users", "boards", "interests"}},
};

/* Folders built from one API walk each, found by their path. */
static const struct {
	const char *path;
	const struct vf_source *src;
} generated[] = {
    {"/pins", &links_pins},
    {"/followers", &people_followers},
    {FOLLOWING_USERS, &people_following},
    {"/following/interests", &people_interests},
    {FOLLOWING_BOARDS, &people_boards},
};

/* One folder per query. */
static const struct {
	const char *path;
	const struct vf_source *src;
} searches[] = {
    {"/search/pins", &links_search_pins},
    {"/search/boards", &links_search_boards},
};

/* Where a path lives: which generated folder, and the path inside it. */
struct place {
	char key[PATH_MAX];
	const struct vf_source *src;
	const char *rest; /* into the path; "" for the folder itself */
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* True when path is dir or below it. */
static bool within(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	return strncmp(path, dir, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

static bool below(const char *path, const char *dir)
{
	return within(path, dir) && path[strlen(dir)] == '/';
}

static int fixed_index(const char *path)
{
	for (size_t i = 0; i < N(fixed); i++)
		if (strcmp(fixed[i].path, path) == 0)
			return (int)i;
	return -1;
}

static bool locate(const char *path, struct place *pl)
{
	for (size_t i = 0; i < N(generated); i++) {
		size_t len = strlen(generated[i].path);

		if (!within(path, generated[i].path))
			continue;
		snprintf(pl->key, sizeof(pl->key), "%s", generated[i].path);
		pl->src = generated[i].src;
		pl->rest = path + len + (path[len] == '/');
		return true;
	}
	for (size_t i = 0; i < N(searches); i++) {
		size_t len = strlen(searches[i].path);
		const char *query = path + len + 1, *end;

		if (!below(path, searches[i].path) || !*query)
			continue;
		/* The key is the query's folder: "/search/pins/lemon tart". */
		end = query + strcspn(query, "/");
		if ((size_t)(end - path) >= sizeof(pl->key))
			return false;
		memcpy(pl->key, path, end - path);
		pl->key[end - path] = '\0';
		pl->src = searches[i].src;
		pl->rest = end + (*end == '/');
		return true;
	}
	return false;
}

/* ---- a walk of the whole mount: the generated folders listed ahead, side by side ---- */

/* The folders being listed ahead: busy guarded by lock; the tasks are the group's. */
static struct {
	pthread_mutex_t lock;
	bool busy[N(generated)]; /* generated[i] is being listed ahead */
	struct bg_group tasks;
} prefetching = {.lock = PTHREAD_MUTEX_INITIALIZER, .tasks = BG_GROUP_INIT};

static int ignore_entry(void *ctx, const char *name, mode_t kind)
{
	(void)ctx, (void)name, (void)kind;
	return 0;
}

static void prefetch_one(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	social_list(generated[i].path, ignore_entry, NULL);
	http_thread_end();
	pthread_mutex_lock(&prefetching.lock);
	prefetching.busy[i] = false;
	pthread_mutex_unlock(&prefetching.lock);
}

/* Detached: the caller, a FUSE request, does not wait for them. social_cleanup does. */
void social_prefetch(bool people)
{
	pthread_mutex_lock(&prefetching.lock);
	for (size_t i = 0; i < N(generated); i++) {
		/* generated[0] is pins/; the others are people and interests. */
		if (prefetching.busy[i] || (i == 0) == people)
			continue;
		prefetching.busy[i] =
		    bg_spawn(&prefetching.tasks, prefetch_one, (void *)(uintptr_t)i) == 0;
	}
	pthread_mutex_unlock(&prefetching.lock);
}

void social_init(double ttl_s)
{
	bg_resume(&prefetching.tasks);
	vfolder_init(ttl_s);
}

void social_cleanup(void)
{
	bg_stop(&prefetching.tasks);
	vfolder_cleanup();
}

int social_stat(const char *path, struct node_info *out)
{
	struct place pl;
	struct vf_info vi;
	int result;

	memset(out, 0, sizeof(*out));
	out->type = NODE_OTHER;
	if (fixed_index(path) >= 0) {
		out->kind = S_IFDIR;
		out->nlink = 2;
		out->mtime = time(NULL);
		return 0;
	}
	if (!locate(path, &pl))
		return -ENOENT;
	result = vfolder_stat(pl.key, pl.src, pl.rest, &vi);
	if (result)
		return result;
	out->kind = vi.kind == VF_DIR ? S_IFDIR : vi.kind == VF_LINK ? S_IFLNK : S_IFREG;
	out->size = vi.size;
	out->nlink = vi.kind == VF_DIR ? 2 : 1;
	out->mtime = vi.mtime;
	return 0;
}

int social_list(const char *path, tree_fill_fn fill, void *ctx)
{
	int i = fixed_index(path);
	struct place pl;

	if (i >= 0) {
		for (size_t k = 0; k < N(fixed[i].children) && fixed[i].children[k]; k++)
			if (fill(ctx, fixed[i].children[k], S_IFDIR))
				break;
		return 0;
	}
	if (!locate(path, &pl))
		return -ENOENT;
	return vfolder_list(pl.key, pl.src, pl.rest, fill, ctx);
}

/* The data of the entry at path, when it is of kind want. */
static int data_of(const char *path, enum vf_kind want, char **data, size_t *len)
{
	struct place pl;
	enum vf_kind kind;
	int result;

	*data = NULL;
	*len = 0;
	if (fixed_index(path) >= 0)
		return want == VF_DIR ? 0 : -EISDIR;
	if (!locate(path, &pl))
		return -ENOENT;
	result = vfolder_data(pl.key, pl.src, pl.rest, &kind, data, len);
	if (!result && kind != want)
		result = kind == VF_DIR ? -EISDIR : -EINVAL;
	if (result) {
		free(*data);
		*data = NULL;
		*len = 0;
	}
	return result;
}

int social_readlink(const char *path, char *buf, size_t len)
{
	char *target;
	size_t tlen;
	int result = data_of(path, VF_LINK, &target, &tlen);

	if (result)
		return result == -EISDIR ? -EINVAL : result;
	snprintf(buf, len, "%s", target); /* readlink(2) cuts a target too long for buf */
	free(target);
	return 0;
}

int social_read_text(const char *path, char **text, size_t *len)
{
	return data_of(path, VF_FILE, text, len);
}

int social_image_url(const char *path, char **url)
{
	size_t len;

	return data_of(path, VF_IMAGE, url, &len);
}

/* following/users/NAME.json: follows NAME. */
static int follow(const char *path, const char *name)
{
	const char *ext;
	char *stem = strndup(name, names_strip_ext(name, &ext));
	char *username = stem ? names_to_title(stem) : NULL, *json = NULL;
	int result = -ENOMEM;

	if (strcmp(ext, ".json") != 0 || name[0] == '.') {
		log_warn("%s: to follow a user, create following/users/USERNAME.json", path);
		result = -EINVAL;
		goto out;
	}
	if (!username)
		goto out;
	result = people_follow(username, &json);
	if (result == -ENOENT)
		log_warn("%s: Pinterest knows no user %s", path, username);
	if (result)
		goto out;
	log_info("following %s", username);
	/* Shown at once under the name given, which the kernel is about to look up. */
	vfolder_put(FOLLOWING_USERS, name, VF_FILE, json);
out:
	free(json);
	free(username);
	free(stem);
	return result;
}

/* Writes other than following a user: following/boards/ would follow or unfollow a board,
 * which v5 cannot do; everything else here is a read-only view. */
static int refuse(const char *path)
{
	if (below(path, FOLLOWING_BOARDS)) {
		log_warn("%s: Pinterest's API v5 offers no way to follow or unfollow a board",
			 path);
		return -ENOTSUP;
	}
	return -EROFS;
}

int social_create(const char *path)
{
	const char *name = strrchr(path, '/') + 1;

	if (below(path, FOLLOWING_USERS) && name == path + strlen(FOLLOWING_USERS) + 1)
		return follow(path, name);
	return refuse(path);
}

int social_unlink(const char *path)
{
	if (below(path, FOLLOWING_USERS)) {
		log_warn("%s: Pinterest's API v5 offers no way to unfollow a user", path);
		return -ENOTSUP;
	}
	return refuse(path);
}

int social_mkdir(const char *path)
{
	return refuse(path);
}

int social_rmdir(const char *path)
{
	return refuse(path);
}
