/* See pinstore.h. Four parts: names and ids, the index, the record's text, the files. */
#include "pinstore.h"

#include "cache.h"
#include "log.h"
#include "stamp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAGIC     "pinfs-pin"
#define REC_VERSION   1
#define REC_BUF	      1024  /* a version-1 record: a name of 255 bytes, all escaped, fits */
#define REC_MAX	      65536 /* a longer file is no record; later keys stay far below */
#define CHECK_LINE    23    /* "check " + 16 hex digits + '\n' */
#define ID_MAX	      40
#define FILE_MAX      (ID_MAX + sizeof(".bytes.tmp"))
#define FIRST_BUCKETS 1024 /* a power of two */
#define COPY_BUF      65536

/* One record in the index: one allocation, its id and name after it. */
struct entry {
	struct entry *next; /* in its bucket */
	uint64_t hash;	    /* stamp_of the id: in memory only, so the fast one */
	struct timespec mtime;
	int64_t size;
	char *name; /* in this block, after id */
	char id[];
};

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER; /* the files under pins/ */
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER; /* the four below */
static struct entry **buckets;
static size_t nbuckets; /* a power of two; 0 while the store is closed */
static size_t count;
static int dir_fd = -1; /* pins/: set by init, closed by cleanup, read by every call */

/* ---- names and ids ---- */

static bool id_ok(const char *id)
{
	size_t n;

	if (!id)
		return false;
	for (n = 0; id[n]; n++) {
		char c = id[n];
		bool word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || c == '_' || c == '-';

		if (n >= ID_MAX || !word)
			return false;
	}
	return n > 0;
}

static bool name_ok(const char *name)
{
	size_t len = name ? strnlen(name, 256) : 0;

	return len > 0 && len < 256 && !memchr(name, '/', len) && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static bool mtime_ok(const struct timespec *t)
{
	return t && t->tv_nsec >= 0 && t->tv_nsec < 1000000000L;
}

/* "<id><suffix>" in buf (FILE_MAX bytes), for an id that passed id_ok. */
static const char *file_of(char *buf, const char *id, const char *suffix)
{
	snprintf(buf, FILE_MAX, "%s%s", id, suffix);
	return buf;
}

/* ---- the index ---- */

/* A new entry, the caller's (free); NULL when out of memory. */
static struct entry *entry_new(const char *id, const char *name, const struct timespec *mtime,
			       int64_t size)
{
	size_t idlen = strlen(id), namelen = strlen(name);
	struct entry *e = malloc(sizeof(*e) + idlen + namelen + 2);

	if (!e)
		return NULL;
	memcpy(e->id, id, idlen + 1);
	e->name = e->id + idlen + 1;
	memcpy(e->name, name, namelen + 1);
	e->next = NULL;
	e->hash = stamp_of(id, idlen);
	e->mtime = *mtime;
	e->size = size;
	return e;
}

/* The link to id's entry, or the NULL that ends its bucket. index_lock held, store open. */
static struct entry **index_slot(const char *id, uint64_t hash)
{
	struct entry **p = &buckets[hash & (nbuckets - 1)];

	while (*p && ((*p)->hash != hash || strcmp((*p)->id, id) != 0))
		p = &(*p)->next;
	return p;
}

/* Doubles the buckets. Out of memory it keeps the old ones: chains grow, nothing is lost.
 * index_lock held. */
static void index_grow(void)
{
	size_t n = nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < nbuckets; i++)
		while (buckets[i]) {
			struct entry *e = buckets[i];

			buckets[i] = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(buckets);
	buckets = b;
	nbuckets = n;
}

/* Puts e (taken) in place of its id's entry, if any. Cannot fail: the store is open. */
static void index_put(struct entry *e)
{
	struct entry **p, *old;

	pthread_mutex_lock(&index_lock);
	if (count >= nbuckets)
		index_grow();
	p = index_slot(e->id, e->hash);
	old = *p;
	e->next = old ? old->next : NULL;
	*p = e;
	count += !old;
	pthread_mutex_unlock(&index_lock);
	free(old);
}

static void index_del(const char *id)
{
	uint64_t hash = stamp_of(id, strlen(id));
	struct entry **p, *old = NULL;

	pthread_mutex_lock(&index_lock);
	if (nbuckets) {
		p = index_slot(id, hash);
		old = *p;
		if (old) {
			*p = old->next;
			count--;
		}
	}
	pthread_mutex_unlock(&index_lock);
	free(old);
}

/* Copies id's record into *rec; false when there is none. */
static bool index_get(const char *id, struct pinstore_rec *rec)
{
	uint64_t hash = stamp_of(id, strlen(id));
	struct entry *e = NULL;

	pthread_mutex_lock(&index_lock);
	if (nbuckets)
		e = *index_slot(id, hash);
	if (e) {
		strcpy(rec->name, e->name); /* at most 255 bytes: name_ok let it in */
		rec->mtime = e->mtime;
		rec->size = e->size;
	}
	pthread_mutex_unlock(&index_lock);
	return e != NULL;
}

/* ---- the record's text ---- */

/* The record's check: of text up to its NUL (the text before the check line). */
static uint64_t text_check(const char *text)
{
	return cache_key(text);
}

/* name into out (3 * 255 + 1 bytes), '%', control bytes and DEL as %XX: one line holds it. */
static void name_escape(char *out, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '%' || *p < 0x20 || *p == 0x7f) {
			*out++ = '%';
			*out++ = hex[*p >> 4];
			*out++ = hex[*p & 15];
		} else {
			*out++ = (char)*p;
		}
	}
	*out = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The name escaped in text, into out (256 bytes). 0, or -EBADMSG when it is not a good name
 * (%00 included: out would end early). */
static int name_unescape(char *out, const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		char c = *p;

		if (n >= 255)
			return -EBADMSG;
		if (c == '%') {
			int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);

			if (lo < 0)
				return -EBADMSG;
			c = (char)(hi << 4 | lo);
			p += 2;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return n == strlen(out) && name_ok(out) ? 0 : -EBADMSG;
}

/* The text of a version-1 record in buf (REC_BUF bytes), check line last: its length, or
 * -EOVERFLOW (never for a good name). */
static int rec_format(char *buf, const char *name, const struct timespec *mtime, int64_t size)
{
	char esc[3 * 255 + 1];
	int n;

	name_escape(esc, name);
	n = snprintf(buf, REC_BUF, REC_MAGIC " %d\nname %s\nmtime %lld %ld\nsize %lld\n",
		     REC_VERSION, esc, (long long)mtime->tv_sec, mtime->tv_nsec, (long long)size);
	if (n < 0 || n + CHECK_LINE >= REC_BUF)
		return -EOVERFLOW;
	n += snprintf(buf + n, REC_BUF - (size_t)n, "check %016" PRIx64 "\n", text_check(buf));
	return n;
}

/* A whole decimal number in s (no spaces, no '+'), into *v. */
static bool parse_i64(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (!((*s >= '0' && *s <= '9') || *s == '-'))
		return false;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*v = x;
	return true;
}

/* "SECONDS NANOSECONDS" into *t. */
static bool parse_mtime(char *s, struct timespec *t)
{
	char *space = strchr(s, ' ');
	int64_t sec, nsec;

	if (!space)
		return false;
	*space = '\0';
	if (!parse_i64(s, &sec) || !parse_i64(space + 1, &nsec) || nsec < 0 || nsec >= 1000000000)
		return false;
	t->tv_sec = (time_t)sec;
	t->tv_nsec = (long)nsec;
	return true;
}

/* One "key value" line (NUL-terminated) into *rec; *seen gathers the keys met. Unknown keys
 * are a later version's additions: skipped. 0 or -EBADMSG. */
static int rec_line(char *line, struct pinstore_rec *rec, unsigned *seen)
{
	char *value = strchr(line, ' ');
	unsigned bit;
	bool ok;

	if (!value)
		return -EBADMSG;
	*value++ = '\0';
	if (strcmp(line, "name") == 0) {
		bit = 1;
		ok = name_unescape(rec->name, value) == 0;
	} else if (strcmp(line, "mtime") == 0) {
		bit = 2;
		ok = parse_mtime(value, &rec->mtime);
	} else if (strcmp(line, "size") == 0) {
		bit = 4;
		ok = parse_i64(value, &rec->size) && rec->size >= -1;
	} else {
		return 0;
	}
	if (!ok || (*seen & bit))
		return -EBADMSG;
	*seen |= bit;
	return 0;
}

/* The sum in a check line (NUL-terminated, without its '\n') into *sum. */
static bool parse_check(const char *line, uint64_t *sum)
{
	char *end;

	if (strlen(line) != CHECK_LINE - 1 || strncmp(line, "check ", 6) != 0 ||
	    hex_digit(line[6]) < 0)
		return false;
	errno = 0;
	*sum = strtoull(line + 6, &end, 16);
	return !errno && !*end;
}

/* Checks the check line ending body[0..len) (len > 0, body[len - 1] == '\n') and cuts it
 * off: body then ends at the line before it. 0, or -EBADMSG with why (80 bytes). */
static int rec_cut_check(char *body, size_t len, char *why)
{
	size_t start = len - 1;
	uint64_t want;

	while (start > 0 && body[start - 1] != '\n')
		start--;
	body[len - 1] = '\0';
	if (start == 0 || !parse_check(body + start, &want)) {
		snprintf(why, 80, "torn: no check line at its end");
		return -EBADMSG;
	}
	body[start] = '\0';
	if (text_check(body) != want) {
		snprintf(why, 80, "its check fails");
		return -EBADMSG;
	}
	return 0;
}

/* Parses a whole record file (text[len] is NUL; text is changed) into *rec. 0, or -EBADMSG
 * with why (80 bytes) saying what is wrong. */
static int rec_parse(char *text, size_t len, struct pinstore_rec *rec, char *why)
{
	const char *version = text + sizeof(REC_MAGIC); /* after the magic and a space */
	char *line, *next, want[16];
	unsigned seen = 0;
	int n;

	if (len == 0 || strlen(text) != len || text[len - 1] != '\n' ||
	    strncmp(text, REC_MAGIC " ", sizeof(REC_MAGIC)) != 0) {
		snprintf(why, 80, "torn, or not a record");
		return -EBADMSG;
	}
	next = strchr(version, '\n'); /* there is one: the text ends with it */
	n = snprintf(want, sizeof(want), "%d\n", REC_VERSION);
	if (strncmp(version, want, (size_t)n) != 0) {
		snprintf(why, 80, "version %.*s, not %d",
			 (int)(next - version < 20 ? next - version : 20), version, REC_VERSION);
		return -EBADMSG;
	}
	if (rec_cut_check(text, len, why) < 0)
		return -EBADMSG;
	for (line = next + 1; *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = '\0';
		if (rec_line(line, rec, &seen) < 0) {
			snprintf(why, 80, "bad %.20s line", line);
			return -EBADMSG;
		}
	}
	if (seen != 7) {
		snprintf(why, 80, "no %s line", seen & 1 ? seen & 2 ? "size" : "mtime" : "name");
		return -EBADMSG;
	}
	return 0;
}

/* ---- the files ---- */

static int sync_dir(void)
{
	return fsync(dir_fd) < 0 ? -errno : 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Removes id's record, then its bytes, from disk and from the index. The record goes first:
 * a crash in between leaves bytes alone, which the next init removes. write_lock held (or
 * init running). */
static void remove_both(const char *id)
{
	char f[FILE_MAX];

	unlinkat(dir_fd, file_of(f, id, ".rec"), 0);
	unlinkat(dir_fd, file_of(f, id, ".bytes"), 0);
	sync_dir();
	index_del(id);
}

/* remove_both, saying why in one log line: a bad record is never served. */
static void drop(const char *id, const char *why)
{
	log_warn("pinstore: dropped the record of pin %s: %s", id, why);
	remove_both(id);
}

/* Writes id's record atomically. The rename is the commit: after it, a failed fsync of the
 * folder is only logged, and the answer is 0, as the record is in place. write_lock held. */
static int rec_write(const char *id, const char *name, const struct timespec *mtime, int64_t size)
{
	char text[REC_BUF], tmp[FILE_MAX], rec[FILE_MAX];
	int fd, n = rec_format(text, name, mtime, size), ret = 0;

	if (n < 0)
		return n;
	fd = openat(dir_fd, file_of(tmp, id, ".rec.tmp"),
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, text, (size_t)n);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(dir_fd, tmp, dir_fd, file_of(rec, id, ".rec")) < 0)
		ret = -errno;
	if (ret)
		unlinkat(dir_fd, tmp, 0);
	else if (sync_dir() < 0)
		log_warn("pinstore: cannot sync the record of pin %s: %s", id, strerror(errno));
	return ret;
}

/* Reads file name of pins/ whole into *text (the caller frees; NUL after *len bytes). 0,
 * -EBADMSG when it is longer than any record, or -errno. */
static int read_small(const char *name, char **text, size_t *len)
{
	char *buf = malloc(REC_MAX + 1);
	int fd = -1, ret = 0;
	size_t have = 0;

	if (!buf)
		return -ENOMEM;
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, REC_MAX + 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		have += (size_t)n;
		if (have > REC_MAX) {
			ret = -EBADMSG;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[have] = '\0';
	*text = buf;
	*len = have;
	return 0;
}

/* A descriptor on id's bytes when they are size bytes long: the fd, -EBADMSG when they are
 * missing or of another length (why, 80 bytes, says which), or -errno. */
static int bytes_open(const char *id, int64_t size, char *why)
{
	char f[FILE_MAX];
	struct stat st;
	int fd = openat(dir_fd, file_of(f, id, ".bytes"), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int ret = 0;

	if (fd < 0 && errno == ENOENT) {
		snprintf(why, 80, "its bytes file is missing");
		return -EBADMSG;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
	} else if (!S_ISREG(st.st_mode) || st.st_size != size) {
		snprintf(why, 80, "its bytes file has %lld bytes, not %lld", (long long)st.st_size,
			 (long long)size);
		ret = -EBADMSG;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Loads id's record: 0 and *out (the caller's) when it is good. A bad one is dropped (one
 * log line) and the answer is -EBADMSG; -errno when it cannot be read, and then it stays on
 * disk: trouble reading is no proof that it is bad. */
static int rec_load(const char *id, struct entry **out)
{
	struct pinstore_rec rec = {.size = -1};
	char f[FILE_MAX], why[80], *text = NULL;
	size_t len = 0;
	int ret = read_small(file_of(f, id, ".rec"), &text, &len);

	if (ret == -EBADMSG)
		snprintf(why, sizeof(why), "longer than any record");
	else if (!ret)
		ret = rec_parse(text, len, &rec, why);
	if (!ret && rec.size >= 0) {
		int fd = bytes_open(id, rec.size, why);

		if (fd >= 0)
			close(fd);
		ret = fd < 0 ? fd : 0;
	}
	if (ret == -EBADMSG)
		drop(id, why);
	if (ret)
		goto out;
	*out = entry_new(id, rec.name, &rec.mtime, rec.size);
	if (!*out)
		ret = -ENOMEM;
out:
	free(text);
	return ret;
}

/* Whether name ends in suffix after an id; the id into id (ID_MAX + 1 bytes). */
static bool id_file(const char *name, const char *suffix, char *id)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n <= s || n - s > ID_MAX || strcmp(name + n - s, suffix) != 0)
		return false;
	memcpy(id, name, n - s);
	id[n - s] = '\0';
	return id_ok(id);
}

static bool is_tmp(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".tmp") == 0;
}

/* Reads pins/ once: removes the *.tmp a crash left, loads every good *.rec. 0 or -ENOMEM. */
static int load_all(DIR *d)
{
	char id[ID_MAX + 1];
	struct dirent *de;
	int ret = 0;

	while (!ret && (de = readdir(d))) {
		struct entry *e = NULL;

		if (is_tmp(de->d_name)) {
			unlinkat(dir_fd, de->d_name, 0);
			continue;
		}
		if (!id_file(de->d_name, ".rec", id))
			continue;
		ret = rec_load(id, &e);
		if (!ret)
			index_put(e);
		else if (ret != -EBADMSG && ret != -ENOMEM)
			log_warn("pinstore: cannot read the record of pin %s: %s", id,
				 strerror(-ret));
		if (ret != -ENOMEM)
			ret = 0;
	}
	return ret;
}

/* Whether id's bytes file is no record's: a put or a forget was cut short. */
static bool bytes_orphaned(const char *id)
{
	struct pinstore_rec rec;
	char f[FILE_MAX];
	struct stat st;

	if (index_get(id, &rec))
		return rec.size < 0;
	/* A record that could not be read now may be at the next mount: keep its bytes. */
	return fstatat(dir_fd, file_of(f, id, ".rec"), &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	       errno == ENOENT;
}

/* Reads pins/ again, after load_all: removes the bytes files no record claims. */
static void sweep_orphans(DIR *d)
{
	char id[ID_MAX + 1];
	struct dirent *de;

	rewinddir(d);
	while ((de = readdir(d)))
		if (id_file(de->d_name, ".bytes", id) && bytes_orphaned(id)) {
			log_debug("pinstore: removed the orphaned bytes of pin %s", id);
			unlinkat(dir_fd, de->d_name, 0);
		}
}

/* Opens (making it when missing) the folder at path as dir_fd, with empty buckets. 0 or
 * -errno. */
static int open_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	buckets = calloc(FIRST_BUCKETS, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	nbuckets = FIRST_BUCKETS;
	return 0;
}

int pinstore_init(const char *cache_dir)
{
	char *path = NULL;
	DIR *d = NULL;
	int fd, ret;

	if (dir_fd >= 0)
		return -EBUSY;
	if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (asprintf(&path, "%s/pins", cache_dir) < 0)
		return -ENOMEM;
	ret = open_dir(path);
	if (ret)
		goto out;
	fd = dup(dir_fd); /* closedir closes its own */
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	ret = load_all(d);
	if (!ret)
		sweep_orphans(d);
out:
	if (d)
		closedir(d);
	if (ret) {
		log_error("cannot open the pin store %s: %s", path, strerror(-ret));
		pinstore_cleanup();
	}
	free(path);
	return ret;
}

void pinstore_cleanup(void)
{
	pthread_mutex_lock(&write_lock);
	pthread_mutex_lock(&index_lock);
	for (size_t i = 0; i < nbuckets; i++)
		while (buckets[i]) {
			struct entry *e = buckets[i];

			buckets[i] = e->next;
			free(e);
		}
	free(buckets);
	buckets = NULL;
	nbuckets = count = 0;
	pthread_mutex_unlock(&index_lock);
	if (dir_fd >= 0)
		close(dir_fd);
	dir_fd = -1;
	pthread_mutex_unlock(&write_lock);
}

int pinstore_get(const char *pin_id, struct pinstore_rec *rec)
{
	if (!id_ok(pin_id))
		return -EINVAL;
	return index_get(pin_id, rec) ? 0 : -ENOENT;
}

/* ---- pinstore_put ---- */

enum adopted { ADOPTED_NONE, ADOPTED_MOVED, ADOPTED_COPIED };

static int copy_fd(int from, int to)
{
	char *buf = malloc(COPY_BUF);
	int ret = buf ? 0 : -ENOMEM;

	while (!ret) {
		ssize_t n = read(from, buf, COPY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		ret = write_all(to, buf, (size_t)n);
	}
	free(buf);
	return ret;
}

/* Copies the file at from into id's bytes, by way of ID.bytes.tmp. write_lock held. */
static int bytes_copy(const char *from, const char *id)
{
	char tmp[FILE_MAX], dst[FILE_MAX];
	int in_fd, out_fd, ret = 0;

	in_fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in_fd < 0)
		return -errno;
	out_fd = openat(dir_fd, file_of(tmp, id, ".bytes.tmp"),
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out_fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = copy_fd(in_fd, out_fd);
	if (!ret && fsync(out_fd) < 0)
		ret = -errno;
	if (close(out_fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(dir_fd, tmp, dir_fd, file_of(dst, id, ".bytes")) < 0)
		ret = -errno;
	if (ret)
		unlinkat(dir_fd, tmp, 0);
out:
	close(in_fd);
	return ret;
}

/* Makes the regular file at from id's bytes: renamed in, or copied across file systems.
 * *how says which, for bytes_return; *size is their length. write_lock held. */
static int bytes_adopt(const char *id, const char *from, enum adopted *how, int64_t *size)
{
	char dst[FILE_MAX];
	struct stat st;
	int fd, ret = 0;

	if (renameat(AT_FDCWD, from, dir_fd, file_of(dst, id, ".bytes")) == 0) {
		*how = ADOPTED_MOVED;
	} else if (errno != EXDEV) {
		return -errno;
	} else {
		ret = bytes_copy(from, id);
		if (ret)
			return ret;
		*how = ADOPTED_COPIED;
	}
	/* The bytes reach the disk before a record says how many there are. */
	fd = openat(dir_fd, dst, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 || fstat(fd, &st) < 0)
		ret = -errno;
	else
		*size = st.st_size;
	close(fd);
	return ret;
}

/* Undoes bytes_adopt after a later failure: the file is at from again. */
static void bytes_return(const char *id, const char *from, enum adopted how)
{
	char f[FILE_MAX];

	file_of(f, id, ".bytes");
	if (how == ADOPTED_COPIED)
		unlinkat(dir_fd, f, 0);
	if (how == ADOPTED_MOVED && renameat(dir_fd, f, AT_FDCWD, from) < 0)
		log_warn("pinstore: cannot put %s back: %s", from, strerror(errno));
}

/* Removes id's bytes file, for a put without bytes. 0 or -errno. */
static int bytes_remove(const char *id)
{
	char f[FILE_MAX];

	if (unlinkat(dir_fd, file_of(f, id, ".bytes"), 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Removes id's record before a put moves bytes in: from then on, a crash leaves no record
 * that could pair with the new bytes. *gone says whether there was one. 0 or -errno. */
static int rec_remove(const char *id, bool *gone)
{
	char f[FILE_MAX];

	if (unlinkat(dir_fd, file_of(f, id, ".rec"), 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	*gone = true;
	return sync_dir();
}

/* Checks put's arguments, and sets *when: mtime, or now. 0 or -errno. */
static int put_args(const char *id, const char *name, const char *bytes_path,
		    const struct timespec *mtime, struct timespec *when)
{
	struct stat st;

	if (!id_ok(id) || !name_ok(name) || (mtime && !mtime_ok(mtime)))
		return -EINVAL;
	if (bytes_path && lstat(bytes_path, &st) < 0)
		return -errno;
	if (bytes_path && !S_ISREG(st.st_mode))
		return -EINVAL;
	if (mtime)
		*when = *mtime;
	else
		clock_gettime(CLOCK_REALTIME, when);
	return 0;
}

int pinstore_put(const char *pin_id, const char *name, const char *bytes_path,
		 const struct timespec *mtime)
{
	enum adopted how = ADOPTED_NONE;
	struct entry *e = NULL;
	struct timespec when;
	int64_t size = -1;
	bool gone = false;
	int ret = put_args(pin_id, name, bytes_path, mtime, &when);

	if (ret)
		return ret;
	e = entry_new(pin_id, name, &when, -1); /* first: past the disk's changes, nothing fails */
	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&write_lock);
	ret = dir_fd < 0 ? -EBADF : rec_remove(pin_id, &gone);
	if (!ret)
		ret = bytes_path ? bytes_adopt(pin_id, bytes_path, &how, &size)
				 : bytes_remove(pin_id);
	if (!ret)
		ret = rec_write(pin_id, name, &when, size);
	if (ret) {
		bytes_return(pin_id, bytes_path, how);
		if (gone)
			index_del(pin_id);
		goto out;
	}
	if (how == ADOPTED_COPIED)
		unlink(bytes_path); /* adopted: gone from there, as after a rename */
	e->size = size;
	index_put(e);
	e = NULL;
out:
	pthread_mutex_unlock(&write_lock);
	free(e);
	return ret;
}

/* ---- the other changes ---- */

/* Rewrites id's record with name and mtime changed where they are not NULL. */
static int rewrite(const char *id, const char *name, const struct timespec *mtime)
{
	struct pinstore_rec rec;
	struct entry *e = NULL;
	int ret = 0;

	pthread_mutex_lock(&write_lock);
	if (dir_fd < 0 || !index_get(id, &rec)) {
		ret = dir_fd < 0 ? -EBADF : -ENOENT;
		goto out;
	}
	if (name)
		strcpy(rec.name, name); /* name_ok: at most 255 bytes */
	if (mtime)
		rec.mtime = *mtime;
	e = entry_new(id, rec.name, &rec.mtime, rec.size);
	if (!e) {
		ret = -ENOMEM;
		goto out;
	}
	ret = rec_write(id, rec.name, &rec.mtime, rec.size);
	if (!ret) {
		index_put(e);
		e = NULL;
	}
out:
	pthread_mutex_unlock(&write_lock);
	free(e);
	return ret;
}

int pinstore_set_name(const char *pin_id, const char *name)
{
	if (!id_ok(pin_id) || !name_ok(name))
		return -EINVAL;
	return rewrite(pin_id, name, NULL);
}

int pinstore_set_mtime(const char *pin_id, const struct timespec *mtime)
{
	if (!id_ok(pin_id) || !mtime_ok(mtime))
		return -EINVAL;
	return rewrite(pin_id, NULL, mtime);
}

int pinstore_open(const char *pin_id)
{
	struct pinstore_rec rec;
	char why[80];
	int fd;

	if (!id_ok(pin_id))
		return -EINVAL;
	if (!index_get(pin_id, &rec) || rec.size < 0)
		return -ENOENT;
	fd = bytes_open(pin_id, rec.size, why);
	if (fd != -EBADMSG)
		return fd;
	/* A put of this pin may be under way: look again once it is done, before any drop. */
	pthread_mutex_lock(&write_lock);
	if (dir_fd < 0 || !index_get(pin_id, &rec) || rec.size < 0)
		fd = -ENOENT;
	else
		fd = bytes_open(pin_id, rec.size, why);
	if (fd == -EBADMSG) {
		drop(pin_id, why);
		fd = -ENOENT;
	}
	pthread_mutex_unlock(&write_lock);
	return fd;
}

void pinstore_forget(const char *pin_id)
{
	if (!id_ok(pin_id))
		return;
	pthread_mutex_lock(&write_lock);
	if (dir_fd >= 0)
		remove_both(pin_id);
	pthread_mutex_unlock(&write_lock);
}
