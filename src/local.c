#include "local.h"

#include "log.h"
#include "names.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct local_file {
	char *path;
	char *staging;
	mode_t mode;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct local_file *files;
static size_t nfiles;
static char *staging_dir;
static unsigned long serial;

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int local_init(const char *cache_dir)
{
	if (asprintf(&staging_dir, "%s/staging", cache_dir) < 0) {
		staging_dir = NULL;
		return -ENOMEM;
	}
	if (mkdir(staging_dir, 0700) < 0 && errno != EEXIST) {
		log_error("cannot make %s: %s", staging_dir, strerror(errno));
		return -errno;
	}
	/* Staged bytes are copies of files a user still has: a crash loses nothing of theirs. */
	empty_dir(staging_dir);
	return 0;
}

void local_cleanup(void)
{
	for (size_t i = 0; i < nfiles; i++) {
		unlink(files[i].staging);
		free(files[i].path);
		free(files[i].staging);
	}
	free(files);
	files = NULL;
	nfiles = 0;
	free(staging_dir);
	staging_dir = NULL;
}

/* Lock held. */
static struct local_file *find(const char *path)
{
	for (size_t i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, path) == 0)
			return &files[i];
	return NULL;
}

bool local_exists(const char *path)
{
	bool found;

	pthread_mutex_lock(&lock);
	found = find(path) != NULL;
	pthread_mutex_unlock(&lock);
	return found;
}

int local_create(const char *path, mode_t mode)
{
	struct local_file f = {.mode = mode & 07777}, *grown;
	int fd, result = 0;

	pthread_mutex_lock(&lock);
	if (find(path)) {
		result = -EEXIST;
		goto out;
	}
	if (asprintf(&f.staging, "%s/%lu", staging_dir, ++serial) < 0) {
		f.staging = NULL;
		result = -ENOMEM;
		goto out;
	}
	fd = open(f.staging, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		result = -errno;
		goto out;
	}
	close(fd);
	f.path = strdup(path);
	grown = f.path ? realloc(files, (nfiles + 1) * sizeof(*files)) : NULL;
	if (!grown) {
		unlink(f.staging);
		result = -ENOMEM;
		goto out;
	}
	files = grown;
	files[nfiles++] = f;
	f.path = f.staging = NULL;
out:
	pthread_mutex_unlock(&lock);
	free(f.path);
	free(f.staging);
	return result;
}

int local_stat(const char *path, struct stat *st)
{
	struct local_file *f;
	int result = 0;

	pthread_mutex_lock(&lock);
	f = find(path);
	if (!f)
		result = -ENOENT;
	else if (stat(f->staging, st) < 0)
		result = -errno;
	else
		st->st_mode = S_IFREG | f->mode;
	pthread_mutex_unlock(&lock);
	return result;
}

int local_open(const char *path, int flags)
{
	struct local_file *f;
	int fd;

	pthread_mutex_lock(&lock);
	f = find(path);
	fd = f ? open(f->staging, (flags & (O_ACCMODE | O_TRUNC | O_APPEND)) | O_CLOEXEC) : -1;
	if (fd < 0)
		fd = f ? -errno : -ENOENT;
	pthread_mutex_unlock(&lock);
	return fd;
}

int local_staging(const char *path, char *buf, size_t len)
{
	struct local_file *f;
	int result = 0;

	pthread_mutex_lock(&lock);
	f = find(path);
	if (!f)
		result = -ENOENT;
	else if (snprintf(buf, len, "%s", f->staging) >= (int)len)
		result = -ENAMETOOLONG;
	pthread_mutex_unlock(&lock);
	return result;
}

static void drop(struct local_file *f)
{
	unlink(f->staging);
	free(f->path);
	free(f->staging);
	*f = files[--nfiles];
}

int local_rename(const char *from, const char *to)
{
	struct local_file *f, *old;
	char *copy = strdup(to);
	int result = 0;

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	f = find(from);
	if (!f) {
		result = -ENOENT;
		goto out;
	}
	old = find(to);
	if (old && old != f) {
		size_t at = f - files;

		drop(old);
		f = &files[at < nfiles ? at : (size_t)(old - files)];
	}
	free(f->path);
	f->path = copy;
	copy = NULL;
out:
	pthread_mutex_unlock(&lock);
	free(copy);
	return result;
}

int local_unlink(const char *path)
{
	struct local_file *f;
	int result = 0;

	pthread_mutex_lock(&lock);
	f = find(path);
	if (f)
		drop(f);
	else
		result = -ENOENT;
	pthread_mutex_unlock(&lock);
	return result;
}

int local_chmod(const char *path, mode_t mode)
{
	struct local_file *f;

	pthread_mutex_lock(&lock);
	f = find(path);
	if (f)
		f->mode = mode & 07777;
	pthread_mutex_unlock(&lock);
	return f ? 0 : -ENOENT;
}

int local_truncate(const char *path, off_t size)
{
	struct local_file *f;
	int result = 0;

	pthread_mutex_lock(&lock);
	f = find(path);
	if (!f)
		result = -ENOENT;
	else if (truncate(f->staging, size) < 0)
		result = -errno;
	pthread_mutex_unlock(&lock);
	return result;
}

void local_list(const char *dir, tree_fill_fn fill, void *ctx)
{
	size_t len = strlen(dir);

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nfiles; i++) {
		const char *p = files[i].path;

		if (strncmp(p, dir, len) == 0 && p[len] == '/' && !strchr(p + len + 1, '/'))
			if (fill(ctx, p + len + 1, S_IFREG))
				break;
	}
	pthread_mutex_unlock(&lock);
}

bool local_is_upload_name(const char *name)
{
	const char *ext;

	if (names_is_scratch(name))
		return false;
	names_strip_ext(name, &ext);
	return *ext && strcasecmp(ext, ".json") != 0;
}
