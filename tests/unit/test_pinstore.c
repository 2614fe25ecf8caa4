/* Unit tests of the per-pin store (src/model/pinstore.h), in a folder of their own under /tmp. */
#include "cache.h"
#include "check.h"
#include "log.h"
#include "pinstore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[64];	    /* the test's folder */
static char cache_dir[128]; /* top/cache */
static char log_path[128];  /* top/log: what pinstore logs */

static const struct timespec T1 = {1700000000, 123456789};
static const struct timespec T2 = {1600000000, 999999999};

/* ---- helpers ---- */

/* A path under cache_dir, from one of four buffers: two can be used in one expression. */
static const char *at(const char *fmt, const char *id)
{
	static char paths[4][256];
	static unsigned next;
	char *path = paths[next++ % 4];

	snprintf(path, 256, fmt, cache_dir, id);
	return path;
}

#define REC(id)	  at("%s/pins/%s.rec", id)
#define BYTES(id) at("%s/pins/%s.bytes", id)

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* The file at path into buf (cap bytes, NUL-terminated): its length, or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* len bytes of a pattern of seed's own, zero bytes among them. */
static void pattern(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 31 + seed * 7) % 251);
}

/* A staged upload of len pattern bytes, at top/<name>: its path (static). */
static const char *stage(const char *name, size_t len, unsigned seed)
{
	static char path[256];
	char *buf = malloc(len ? len : 1);

	pattern(buf, len, seed);
	snprintf(path, sizeof(path), "%s/%s", top, name);
	if (write_file(path, buf, len) < 0)
		CHECK(!"cannot stage a file");
	free(buf);
	return path;
}

/* Whether fd reads exactly len pattern bytes of seed. */
static bool reads_pattern(int fd, size_t len, unsigned seed)
{
	char *want = malloc(len + 1), *got = malloc(len + 2);
	ssize_t n, total = 0;
	bool same;

	pattern(want, len, seed);
	while ((n = read(fd, got + total, len + 2 - (size_t)total)) > 0)
		total += n;
	same = total == (ssize_t)len && memcmp(got, want, len) == 0;
	free(want);
	free(got);
	return same;
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static int remount(void)
{
	pinstore_cleanup();
	return pinstore_init(cache_dir);
}

/* How many "dropped" lines the log holds for pin id. */
static int drops_logged(const char *id)
{
	static char text[65536];
	char needle[80];
	int n = 0;

	if (read_file(log_path, text, sizeof(text)) < 0)
		return 0;
	snprintf(needle, sizeof(needle), "dropped the record of pin %s:", id);
	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Replaces id's record file by text, its check line computed as pinstore.h says. */
static void forge_record(const char *id, const char *body)
{
	char text[4096];

	snprintf(text, sizeof(text), "%scheck %016llx\n", body,
		 (unsigned long long)cache_key(body));
	CHECK(write_file(REC(id), text, strlen(text)) == 0);
}

static void put_sample(const char *id, size_t len)
{
	CHECK(pinstore_put(id, "sample.jpg", stage("sample", len, 1), &T1) == 0);
}

/* Removes the test's folder: the store's files, the staged files, the log. */
static void remove_all(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
}

/* ---- tests ---- */

/* A put keeps name, mtime and bytes; the staged file is moved in; the folder is private. */
static void test_put_get(void)
{
	const char *staged = stage("upload", 3000, 5);
	struct pinstore_rec rec = {.size = 0};
	char text[1024];
	struct stat st;

	CHECK(pinstore_put("1001", "X.png", staged, &T1) == 0);
	CHECK(!exists(staged));
	CHECK(pinstore_get("1001", &rec) == 0);
	CHECK_STR(rec.name, "X.png");
	CHECK(same_time(rec.mtime, T1));
	CHECK(rec.size == 3000);
	CHECK(stat(BYTES("1001"), &st) == 0 && st.st_size == 3000);
	CHECK(stat(at("%s/pins%s", ""), &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(read_file(REC("1001"), text, sizeof(text)) > 0);
	CHECK_STR(text, "pinfs-pin 1\nname X.png\nmtime 1700000000 123456789\nsize 3000\n"
			"check 2d54a355a88f72cf\n");
	/* The check is the FNV-1a pinstore.h says, its example's as written there. */
	CHECK(cache_key("pinfs-pin 1\nname IMG_0001.JPG\nmtime 1700000000 123456789\nsize "
			"48213\n") == 0x3284845347dbd04bULL);
	CHECK(pinstore_get("1002", &rec) == -ENOENT);
}

/* What a put kept survives a remount; a rename and a touch survive one too. */
static void test_remount_and_changes(void)
{
	struct pinstore_rec rec = {.size = 0};
	int fd;

	CHECK(remount() == 0);
	CHECK(pinstore_get("1001", &rec) == 0);
	CHECK_STR(rec.name, "X.png");
	CHECK(same_time(rec.mtime, T1) && rec.size == 3000);

	CHECK(pinstore_set_name("1001", "IMG_0001.JPG") == 0);
	CHECK(pinstore_set_mtime("1001", &T2) == 0);
	CHECK(pinstore_get("1001", &rec) == 0);
	CHECK_STR(rec.name, "IMG_0001.JPG");
	CHECK(same_time(rec.mtime, T2));
	CHECK(remount() == 0);
	memset(&rec, 0, sizeof(rec));
	CHECK(pinstore_get("1001", &rec) == 0);
	CHECK_STR(rec.name, "IMG_0001.JPG");
	CHECK(same_time(rec.mtime, T2) && rec.size == 3000);
	CHECK(!exists(at("%s/pins/%s.rec.tmp", "1001")));

	/* The bytes are still the uploaded ones, exactly. */
	fd = pinstore_open("1001");
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(reads_pattern(fd, 3000, 5));
		CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
		CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
		close(fd);
	}
	CHECK(pinstore_set_name("1009", "a.jpg") == -ENOENT);
	CHECK(pinstore_set_mtime("1009", &T1) == -ENOENT);
	CHECK(drops_logged("1001") == 0);
}

/* A forgotten pin's files go, and it stays gone after a remount. */
static void test_forget(void)
{
	struct pinstore_rec rec;

	pinstore_forget("1001");
	CHECK(!exists(REC("1001")) && !exists(BYTES("1001")));
	CHECK(pinstore_get("1001", &rec) == -ENOENT);
	CHECK(pinstore_open("1001") == -ENOENT);
	CHECK(pinstore_set_name("1001", "b.jpg") == -ENOENT);
	CHECK(remount() == 0);
	CHECK(pinstore_get("1001", &rec) == -ENOENT);
	pinstore_forget("1001"); /* twice: nothing to do */
	CHECK(!exists(REC("1001")));
}

/* A put replaces the earlier record, bytes included; without bytes, the old bytes go. */
static void test_replace(void)
{
	struct pinstore_rec rec = {.size = 0};
	int fd;

	CHECK(pinstore_put("6001", "a.jpg", stage("a", 100, 2), &T1) == 0);
	CHECK(pinstore_put("6001", "b.png", stage("b", 200, 3), &T2) == 0);
	CHECK(pinstore_get("6001", &rec) == 0);
	CHECK_STR(rec.name, "b.png");
	CHECK(same_time(rec.mtime, T2) && rec.size == 200);
	fd = pinstore_open("6001");
	CHECK(fd >= 0 && reads_pattern(fd, 200, 3));
	if (fd >= 0)
		close(fd);
	CHECK(pinstore_put("6001", "c.png", NULL, &T1) == 0);
	CHECK(!exists(BYTES("6001")));
	CHECK(pinstore_get("6001", &rec) == 0 && rec.size == -1);
	CHECK_STR(rec.name, "c.png");
	CHECK(remount() == 0);
	CHECK(pinstore_get("6001", &rec) == 0 && rec.size == -1);
}

/* Without bytes: name and mtime only, and no bytes to open; no mtime: now. */
static void test_put_without_bytes(void)
{
	struct pinstore_rec rec = {.size = 0};
	struct timespec before, after;

	CHECK(pinstore_put("3001", "note.jpg", NULL, &T1) == 0);
	CHECK(pinstore_get("3001", &rec) == 0);
	CHECK_STR(rec.name, "note.jpg");
	CHECK(same_time(rec.mtime, T1) && rec.size == -1);
	CHECK(exists(REC("3001")) && !exists(BYTES("3001")));
	CHECK(pinstore_open("3001") == -ENOENT);
	CHECK(remount() == 0);
	CHECK(pinstore_get("3001", &rec) == 0 && rec.size == -1);
	CHECK(drops_logged("3001") == 0);

	clock_gettime(CLOCK_REALTIME, &before);
	CHECK(pinstore_put("3002", "now.jpg", NULL, NULL) == 0);
	clock_gettime(CLOCK_REALTIME, &after);
	CHECK(pinstore_get("3002", &rec) == 0);
	CHECK(rec.mtime.tv_sec >= before.tv_sec && rec.mtime.tv_sec <= after.tv_sec);
}

/* After a remount, id is gone for good: no answer, no files, one log line. */
static void check_dropped(const char *id)
{
	struct pinstore_rec rec;

	CHECK(pinstore_get(id, &rec) == -ENOENT);
	CHECK(pinstore_open(id) == -ENOENT);
	CHECK(!exists(REC(id)) && !exists(BYTES(id)));
	CHECK(drops_logged(id) == 1);
}

/* Bad records are dropped at init: torn (in a line, or where one ends), another version, a
 * failed check, no size line. A record forged by the format's own rules is kept, an unknown
 * key in it too. */
static void test_bad_records(void)
{
	struct pinstore_rec rec = {.size = 0};
	char body[512];
	struct stat st;

	put_sample("2001", 1000);
	put_sample("2002", 1000);
	put_sample("2003", 1000);
	put_sample("2004", 1000);
	put_sample("2005", 1000);
	put_sample("2006", 1000);
	pinstore_cleanup();
	CHECK(stat(REC("2001"), &st) == 0 && truncate(REC("2001"), st.st_size / 2) == 0);
	CHECK(stat(REC("2006"), &st) == 0 && truncate(REC("2006"), st.st_size - 23) == 0);
	forge_record("2002", "pinfs-pin 2\nname sample.jpg\nmtime 1 0\nsize 1000\n");
	CHECK(read_file(REC("2003"), body, sizeof(body)) > 0);
	*strstr(body, "sample") = 'S'; /* the check line stays as it was */
	CHECK(write_file(REC("2003"), body, strlen(body)) == 0);
	forge_record("2004", "pinfs-pin 1\nname sample.jpg\nmtime 1 0\n");
	forge_record("2005", "pinfs-pin 1\nname forged%0A%25.jpg\nmtime 5 6\nsize 1000\n"
			     "board 123\n");
	CHECK(pinstore_init(cache_dir) == 0);

	check_dropped("2001");
	check_dropped("2002");
	check_dropped("2003");
	check_dropped("2004");
	check_dropped("2006"); /* cut where a line ends, its check line gone */
	CHECK(pinstore_get("2005", &rec) == 0);
	CHECK_STR(rec.name, "forged\n%.jpg");
	CHECK(rec.mtime.tv_sec == 5 && rec.mtime.tv_nsec == 6 && rec.size == 1000);
	CHECK(drops_logged("2005") == 0);
	CHECK(remount() == 0);
	CHECK(drops_logged("2001") == 1); /* dropped once: nothing left to drop again */
}

/* Bytes cut short: dropped at init when cut while unmounted, at open while mounted; bytes
 * gone while mounted too. */
static void test_bad_bytes(void)
{
	struct pinstore_rec rec;

	put_sample("2101", 4000);
	put_sample("2102", 4000);
	put_sample("2103", 4000);
	pinstore_cleanup();
	CHECK(truncate(BYTES("2101"), 1000) == 0);
	CHECK(pinstore_init(cache_dir) == 0);
	check_dropped("2101");

	CHECK(pinstore_get("2102", &rec) == 0 && rec.size == 4000);
	CHECK(truncate(BYTES("2102"), 3999) == 0);
	CHECK(pinstore_get("2102", &rec) == 0); /* the index alone: no file I/O */
	CHECK(pinstore_open("2102") == -ENOENT);
	check_dropped("2102");

	CHECK(unlink(BYTES("2103")) == 0);
	CHECK(pinstore_open("2103") == -ENOENT);
	check_dropped("2103");
}

/* Ids of 1..40 characters of [0-9A-Za-z_-], names of one component of 1..255 bytes. */
static void test_bad_args(void)
{
	static const char *const bad_ids[] = {
	    "",	   "a/b",  ".",	       "..",
	    "1.2", "12 3", "\xc3\xa9", "12345678901234567890123456789012345678901"};
	static const char *const bad_names[] = {"", "a/b", ".", "..", "/"};
	const struct timespec bad_time = {1, 1000000000}, negative = {1, -1};
	char long_name[257], id40[41];
	struct pinstore_rec rec = {.size = 0};
	int refused = 0;

	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		refused += pinstore_put(bad_ids[i], "a.jpg", NULL, &T1) == -EINVAL;
		refused += pinstore_get(bad_ids[i], &rec) == -EINVAL;
		refused += pinstore_set_name(bad_ids[i], "a.jpg") == -EINVAL;
		refused += pinstore_set_mtime(bad_ids[i], &T1) == -EINVAL;
		refused += pinstore_open(bad_ids[i]) == -EINVAL;
	}
	CHECK(refused == 5 * 8);
	CHECK(pinstore_get(NULL, &rec) == -EINVAL && pinstore_open(NULL) == -EINVAL);
	CHECK(pinstore_put("4000", "a.jpg", NULL, &T1) == 0);
	refused = 0;
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		refused += pinstore_put("4001", bad_names[i], NULL, &T1) == -EINVAL;
		refused += pinstore_set_name("4000", bad_names[i]) == -EINVAL;
	}
	CHECK(refused == 2 * 5);
	memset(long_name, 'n', 256);
	long_name[256] = '\0';
	CHECK(pinstore_put("4001", long_name, NULL, &T1) == -EINVAL);
	CHECK(pinstore_put("4001", NULL, NULL, &T1) == -EINVAL);
	CHECK(pinstore_put("4001", "a.jpg", NULL, &bad_time) == -EINVAL);
	CHECK(pinstore_set_mtime("4000", &negative) == -EINVAL);
	CHECK(pinstore_set_mtime("4000", NULL) == -EINVAL);
	CHECK(pinstore_get("4001", &rec) == -ENOENT);

	/* The longest of each are fine, and so is any byte but '/' in a name. */
	long_name[255] = '\0';
	long_name[0] = '%';
	long_name[1] = '\n';
	long_name[2] = '\x7f';
	long_name[3] = '\xff';
	memset(id40, 'Z', 40);
	id40[40] = '\0';
	id40[0] = '_';
	id40[1] = '-';
	CHECK(pinstore_put(id40, long_name, NULL, &T1) == 0);
	CHECK(remount() == 0);
	CHECK(pinstore_get(id40, &rec) == 0);
	CHECK_STR(rec.name, long_name);
	CHECK(pinstore_get("4000", &rec) == 0);
	CHECK_STR(rec.name, "a.jpg"); /* the refused renames changed nothing */
}

/* A bytes_path that is missing or not a file is refused before anything changes. */
static void test_bad_bytes_path(void)
{
	struct pinstore_rec rec = {.size = 0};

	CHECK(pinstore_put("4100", "keep.jpg", NULL, &T1) == 0);
	CHECK(pinstore_put("4100", "a.jpg", at("%s/no-such-file%s", ""), &T1) == -ENOENT);
	CHECK(pinstore_put("4100", "a.jpg", top, &T1) == -EINVAL);
	CHECK(pinstore_get("4100", &rec) == 0);
	CHECK_STR(rec.name, "keep.jpg");
	CHECK(exists(REC("4100")));
}

/* A put that fails after the bytes moved in gives them back where they were. */
static void test_failed_put(void)
{
	const char *staged = stage("keep", 500, 9);
	struct pinstore_rec rec;
	int fd;

	CHECK(mkdir(at("%s/pins/%s.rec.tmp", "4200"), 0700) ==
	      0); /* the record cannot be written */
	CHECK(pinstore_put("4200", "a.jpg", staged, &T1) == -EISDIR);
	fd = open(staged, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && reads_pattern(fd, 500, 9));
	if (fd >= 0)
		close(fd);
	CHECK(pinstore_get("4200", &rec) == -ENOENT);
	CHECK(!exists(REC("4200")) && !exists(BYTES("4200")));
	CHECK(rmdir(at("%s/pins/%s.rec.tmp", "4200")) == 0);
	CHECK(pinstore_put("4200", "a.jpg", staged, &T1) == 0);
	CHECK(!exists(staged));
}

/* At init, leftovers of a crash go: *.tmp, bytes without a record. Other files stay. */
static void test_leftovers(void)
{
	CHECK(pinstore_put("4300", "kept.jpg", NULL, &T1) == 0);
	pinstore_cleanup();
	CHECK(write_file(at("%s/pins/%s.rec.tmp", "4301"), "x", 1) == 0);
	CHECK(write_file(at("%s/pins/%s.bytes.tmp", "4302"), "x", 1) == 0);
	CHECK(write_file(BYTES("4303"), "x", 1) == 0);
	CHECK(write_file(BYTES("4300"), "x", 1) == 0); /* its record keeps no bytes */
	CHECK(write_file(at("%s/pins/%s", "notes.txt"), "x", 1) == 0);
	CHECK(pinstore_init(cache_dir) == 0);
	CHECK(!exists(at("%s/pins/%s.rec.tmp", "4301")));
	CHECK(!exists(at("%s/pins/%s.bytes.tmp", "4302")));
	CHECK(!exists(BYTES("4303")) && !exists(BYTES("4300")));
	CHECK(exists(REC("4300")) && exists(at("%s/pins/%s", "notes.txt")));
	CHECK(pinstore_init(cache_dir) == -EBUSY);
}

static void id_of(char *id, unsigned i)
{
	snprintf(id, 24, "1099511627776%06u", i);
}

/* 1,000 records load at init and each answers get with its own values. */
static void test_thousand(void)
{
	enum { N = 1000 };
	struct pinstore_rec rec;
	char id[24], name[32];
	int good = 0;

	for (unsigned i = 0; i < N; i++) {
		struct timespec t = {1500000000 + i, i * 1000};

		id_of(id, i);
		snprintf(name, sizeof(name), "pin %u.jpg", i);
		good += pinstore_put(id, name, i % 10 ? NULL : stage("many", i + 1, i), &t) == 0;
	}
	CHECK(good == N);
	CHECK(remount() == 0);
	good = 0;
	for (unsigned i = 0; i < N; i++) {
		id_of(id, i);
		snprintf(name, sizeof(name), "pin %u.jpg", i);
		good += pinstore_get(id, &rec) == 0 && strcmp(rec.name, name) == 0 &&
			rec.mtime.tv_sec == 1500000000 + i && rec.mtime.tv_nsec == i * 1000 &&
			rec.size == (i % 10 ? -1 : (int64_t)i + 1);
	}
	CHECK(good == N);
	id_of(id, N);
	CHECK(pinstore_get(id, &rec) == -ENOENT);
	id_of(id, 990);
	good = pinstore_open(id);
	CHECK(good >= 0 && reads_pattern(good, 991, 990));
	if (good >= 0)
		close(good);
}

/* Across file systems the staged file is copied, then removed. */
static void test_other_file_system(void)
{
	char shm[64], path[96];
	struct stat a, b;
	int fd;

	snprintf(shm, sizeof(shm), "/dev/shm/pinstore-XXXXXX");
	if (stat("/dev/shm", &a) < 0 || stat(top, &b) < 0 || a.st_dev == b.st_dev ||
	    !mkdtemp(shm)) {
		printf("the other-file-system test is skipped: no tmpfs apart from %s\n", top);
		return;
	}
	snprintf(path, sizeof(path), "%s/far", shm);
	{
		char buf[777];

		pattern(buf, sizeof(buf), 11);
		CHECK(write_file(path, buf, sizeof(buf)) == 0);
	}
	CHECK(pinstore_put("4400", "far.jpg", path, &T1) == 0);
	CHECK(!exists(path));
	CHECK(!exists(at("%s/pins/%s.bytes.tmp", "4400")));
	fd = pinstore_open("4400");
	CHECK(fd >= 0 && reads_pattern(fd, 777, 11));
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(shm);
}

/* ---- threads ---- */

enum { ROUNDS = 100 };

/* Renames pin 1099511627776000000 back and forth, and puts pins of its own. */
static void *writer(void *arg)
{
	long me = (long)arg, good = 0;
	char id[24], name[32];

	for (unsigned i = 0; i < ROUNDS; i++) {
		snprintf(id, sizeof(id), "77%ld%04u", me, i);
		snprintf(name, sizeof(name), "w%ld-%u.jpg", me, i);
		good += pinstore_put(id, name, NULL, &T1) == 0;
		good +=
		    pinstore_set_name("1099511627776000000", i % 2 ? "odd.jpg" : "even.jpg") == 0;
	}
	return (void *)good;
}

/* Reads the renamed pin and the bytes of another: always whole answers. */
static void *reader(void *arg)
{
	struct pinstore_rec rec;
	long good = 0;

	(void)arg;
	for (unsigned i = 0; i < ROUNDS * 4; i++) {
		int fd = pinstore_open("1099511627776000990");

		good += pinstore_get("1099511627776000000", &rec) == 0 &&
			(strcmp(rec.name, "odd.jpg") == 0 || strcmp(rec.name, "even.jpg") == 0 ||
			 strcmp(rec.name, "pin 0.jpg") == 0);
		good += fd >= 0 && reads_pattern(fd, 991, 990);
		if (fd >= 0)
			close(fd);
	}
	return (void *)good;
}

static int replacing = 1; /* the replacer has not finished (atomic builtins) */
static long opens;	  /* how often the opener opened */

/* Puts pin 8000 again and again, its bytes 300 pattern bytes of seed 1, then 600 of seed 2. */
static void *replacer(void *arg)
{
	char path[160], buf[600];
	long good = 0;

	(void)arg;
	snprintf(path, sizeof(path), "%s/replacing", top);
	for (unsigned i = 0; i < ROUNDS; i++) {
		size_t len = i % 2 ? 600 : 300;

		pattern(buf, len, i % 2 ? 2 : 1);
		good += write_file(path, buf, len) == 0 &&
			pinstore_put("8000", "r.jpg", path, &T1) == 0;
	}
	__atomic_store_n(&replacing, 0, __ATOMIC_RELEASE);
	return (void *)good;
}

/* Opens pin 8000 until the replacer is done putting it: the whole of one of its versions,
 * every time. */
static void *opener(void *arg)
{
	long good = 0;

	(void)arg;
	while (__atomic_load_n(&replacing, __ATOMIC_ACQUIRE)) {
		int fd = pinstore_open("8000");
		struct stat st;

		opens++;
		good += fd >= 0 && fstat(fd, &st) == 0 &&
			(st.st_size == 300 || st.st_size == 600) &&
			reads_pattern(fd, (size_t)st.st_size, st.st_size == 300 ? 1 : 2);
		if (fd >= 0)
			close(fd);
	}
	return (void *)good;
}

/* Two writers, two readers, and a pin put again while it is opened, all at once: every call
 * answers as if it ran alone, and nothing is dropped. */
static void test_threads(void)
{
	void *(*const run[])(void *) = {writer, writer, reader, reader, replacer, opener};
	struct pinstore_rec rec;
	pthread_t t[6];
	long total = 0;
	void *got;

	put_sample("8000", 300); /* replaced by the replacer's first put */
	for (long i = 0; i < 6; i++)
		pthread_create(&t[i], NULL, run[i], (void *)i);
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], &got);
		total += (long)got;
	}
	CHECK(opens > ROUNDS);
	CHECK(total == 2 * 2 * ROUNDS + 2 * 2 * 4 * ROUNDS + ROUNDS + opens);
	CHECK(drops_logged("8000") == 0);
	CHECK(remount() == 0);
	CHECK(pinstore_get("7700099", &rec) == 0); /* 77, the writer, the round */
	CHECK_STR(rec.name, "w0-99.jpg");
	CHECK(pinstore_get("7710099", &rec) == 0);
	CHECK_STR(rec.name, "w1-99.jpg");
	CHECK(pinstore_get("8000", &rec) == 0 && rec.size == 600);
}

int main(void)
{
	struct pinstore_rec rec;

	snprintf(top, sizeof(top), "/tmp/pinfs-pinstore-XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", top);
	snprintf(log_path, sizeof(log_path), "%s/log", top);
	CHECK(log_use_file(log_path) == 0);
	CHECK(pinstore_get("1001", &rec) == -ENOENT); /* before init: nothing */
	CHECK(pinstore_put("1001", "a.jpg", NULL, &T1) == -EBADF);
	CHECK(pinstore_init(cache_dir) == 0);

	test_put_get();
	test_remount_and_changes();
	test_forget();
	test_replace();
	test_put_without_bytes();
	test_bad_records();
	test_bad_bytes();
	test_bad_args();
	test_bad_bytes_path();
	test_failed_put();
	test_leftovers();
	test_thousand();
	test_other_file_system();
	test_threads();

	pinstore_cleanup();
	remove_all();
	return check_summary();
}
