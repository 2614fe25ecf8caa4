#include "local.h"

#include "log.h"
#include "names.h"
#include "textcheck.h"
#include "upload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The text a writer gave a file as user.pinterest.* attributes (cp -a, mv across boards),
 * for the pin it becomes. */
static const char *const text_fields[LOCAL_TEXT_FIELDS] = {"title", "description", "link",
							   "alt_text"};

struct local_file {
	char *path;
	char *staging;
	mode_t mode;
	unsigned long id; /* names this file across renames (local_open, local_closed) */
	int writers;	  /* descriptors open for writing */
	char *text[LOCAL_TEXT_FIELDS]; /* as text_fields[]; NULL: not set */
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

static void free_text(struct local_file *f)
{
	for (size_t i = 0; i < LOCAL_TEXT_FIELDS; i++) {
		free(f->text[i]);
		f->text[i] = NULL;
	}
}

void local_cleanup(void)
{
	for (size_t i = 0; i < nfiles; i++) {
		unlink(files[i].staging);
		free(files[i].path);
		free(files[i].staging);
		free_text(&files[i]);
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

int local_create(const char *path, mode_t mode, unsigned long *id)
{
	struct local_file f = {.mode = mode & 07777, .writers = 1}, *grown;
	int fd = -1, result = 0;

	pthread_mutex_lock(&lock);
	if (find(path)) {
		result = -EEXIST;
		goto out;
	}
	f.id = ++serial;
	if (asprintf(&f.staging, "%s/%lu", staging_dir, f.id) < 0) {
		f.staging = NULL;
		result = -ENOMEM;
		goto out;
	}
	fd = open(f.staging, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		result = -errno;
		goto out;
	}
	f.path = strdup(path);
	grown = f.path ? realloc(files, (nfiles + 1) * sizeof(*files)) : NULL;
	if (!grown) {
		unlink(f.staging);
		result = -ENOMEM;
		goto out;
	}
	files = grown;
	files[nfiles++] = f;
	*id = f.id;
	f.path = f.staging = NULL;
out:
	pthread_mutex_unlock(&lock);
	if (result && fd >= 0)
		close(fd);
	free(f.path);
	free(f.staging);
	return result ? result : fd;
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

/* A name whose upload is pending has one writer: a second would make a second pin of it, or
 * truncate the bytes the first is about to send. */
static bool pending_upload(const struct local_file *f)
{
	return f->writers > 0 && local_is_upload_name(strrchr(f->path, '/') + 1);
}

int local_open(const char *path, int flags, unsigned long *id)
{
	bool write = (flags & O_ACCMODE) != O_RDONLY;
	struct local_file *f;
	int fd = -ENOENT;

	*id = 0;
	pthread_mutex_lock(&lock);
	f = find(path);
	if (!f)
		goto out;
	if (write && pending_upload(f)) {
		fd = -EBUSY;
		goto out;
	}
	fd = open(f->staging, (flags & (O_ACCMODE | O_TRUNC | O_APPEND)) | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		goto out;
	}
	if (write) {
		f->writers++;
		*id = f->id;
	}
out:
	pthread_mutex_unlock(&lock);
	return fd;
}

void local_closed(unsigned long id)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nfiles; i++)
		if (files[i].id == id && files[i].writers > 0)
			files[i].writers--;
	pthread_mutex_unlock(&lock);
}

bool local_busy(const char *path)
{
	struct local_file *f;
	bool busy;

	pthread_mutex_lock(&lock);
	f = find(path);
	busy = f && pending_upload(f);
	pthread_mutex_unlock(&lock);
	return busy;
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
	free_text(f);
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

int local_utimens(const char *path, const struct timespec tv[2])
{
	struct local_file *f;
	int result = 0;

	pthread_mutex_lock(&lock);
	f = find(path);
	if (!f)
		result = -ENOENT;
	else if (utimensat(AT_FDCWD, f->staging, tv, 0) < 0)
		result = -errno;
	pthread_mutex_unlock(&lock);
	return result;
}

/* The index in text_fields[] of a user.pinterest.* attribute, or -1. */
static int text_field(const char *name)
{
	static const char prefix[] = "user.pinterest.";

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	for (int i = 0; i < LOCAL_TEXT_FIELDS; i++)
		if (strcmp(name + sizeof(prefix) - 1, text_fields[i]) == 0)
			return i;
	return -1;
}

int local_setxattr(const char *path, const char *name, const char *value, size_t size)
{
	int field = text_field(name), result = 0;
	struct local_file *f;
	char *copy = NULL;

	if (strncmp(name, "user.pinterest.", 15) != 0)
		return -ENOTSUP;
	if (field < 0)
		return 0; /* id, url, board_id...: what Pinterest decides, which cp -a copies too */
	if (!text_utf8_valid(value, size)) {
		log_warn("%s: %s is not UTF-8 text", path, name);
		return -EINVAL;
	}
	copy = strndup(value, size);
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	f = find(path);
	if (!f) {
		result = -ENOENT;
	} else {
		free(f->text[field]);
		f->text[field] = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(copy);
	return result;
}

int local_getxattr(const char *path, const char *name, char *buf, size_t len)
{
	int field = text_field(name), result;
	struct local_file *f;
	size_t n;

	pthread_mutex_lock(&lock);
	f = find(path);
	if (!f) {
		result = -ENOENT;
	} else if (field < 0 || !f->text[field]) {
		result = -ENODATA;
	} else {
		n = strlen(f->text[field]);
		result = len && n > len ? -ERANGE : (int)n;
		if (len && n <= len)
			memcpy(buf, f->text[field], n);
	}
	pthread_mutex_unlock(&lock);
	return result;
}

int local_listxattr(const char *path, char *buf, size_t len)
{
	struct local_file *f;
	size_t need = 0;
	int result;

	pthread_mutex_lock(&lock);
	f = find(path);
	for (int i = 0; f && i < LOCAL_TEXT_FIELDS; i++) {
		size_t n = f->text[i] ? strlen("user.pinterest.") + strlen(text_fields[i]) + 1 : 0;

		if (n && len && need + n <= len)
			snprintf(buf + need, n, "user.pinterest.%s", text_fields[i]);
		need += n;
	}
	result = !f ? -ENOENT : len && need > len ? -ERANGE : (int)need;
	pthread_mutex_unlock(&lock);
	return result;
}

int local_text(const char *path, char *text[LOCAL_TEXT_FIELDS])
{
	struct local_file *f;
	int result = 0;

	memset(text, 0, LOCAL_TEXT_FIELDS * sizeof(*text));
	pthread_mutex_lock(&lock);
	f = find(path);
	for (int i = 0; f && i < LOCAL_TEXT_FIELDS && !result; i++)
		if (f->text[i] && !(text[i] = strdup(f->text[i])))
			result = -ENOMEM;
	if (!f)
		result = -ENOENT;
	pthread_mutex_unlock(&lock);
	if (result)
		for (int i = 0; i < LOCAL_TEXT_FIELDS; i++) {
			free(text[i]);
			text[i] = NULL;
		}
	return result;
}

int local_truncate(const char *path, off_t size)
{
	struct local_file *f;
	int result = 0;

	if (size > UPLOAD_MAX_FILE_BYTES)
		return -EFBIG; /* no pin is larger (handle_write) */
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
	names_strip_ext(name, &ext); /* a picture's extension, or a video's */
	return *ext && strcasecmp(ext, ".json") != 0;
}
