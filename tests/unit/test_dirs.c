/* Unit tests of pinfs's own file reads and writes (src/util/dirs.h): a whole read, a limit,
 * and a read that fails is an error, never a length (what a sidecar written through a rename
 * is read with). */
#include "check.h"
#include "dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static int make(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/pinfs-test-dirs-XXXXXX");
	fd = mkstemp(path);
	if (fd >= 0 && dirs_write_all(fd, text, strlen(text)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void test_a_whole_read(void)
{
	const char *want = "{\"title\": \"a sidecar\"}\n";
	int fd = make(want);
	char *text = NULL;
	size_t len = 0;

	CHECK(fd >= 0);
	CHECK(dirs_read_all(fd, 1 << 20, &text, &len) == 0);
	CHECK(len == strlen(want) && text && memcmp(text, want, len) == 0 && text[len] == '\0');
	free(text);
	close(fd);
	unlink(path);
}

static void test_over_the_limit_is_efbig(void)
{
	int fd = make("0123456789");
	char *text = (char *)1;
	size_t len = 7;

	CHECK(dirs_read_all(fd, 9, &text, &len) == -EFBIG);
	CHECK(text == NULL && len == 0);
	CHECK(dirs_read_all(fd, 10, &text, &len) == 0 && len == 10);
	free(text);
	close(fd);
	unlink(path);
}

/* A descriptor open for writing only: fstat works, every read fails (EBADF). */
static void test_a_failed_read_is_an_error_not_a_length(void)
{
	int fd = make("some bytes");
	int wfd = open(path, O_WRONLY | O_CLOEXEC);
	char *text = (char *)1;
	size_t len = 7;

	CHECK(wfd >= 0);
	CHECK(dirs_read_all(wfd, 1 << 20, &text, &len) == -EBADF);
	CHECK(text == NULL && len == 0);
	close(wfd);
	/* Even an empty file is read once, so the failure shows. */
	CHECK(ftruncate(fd, 0) == 0);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(dirs_read_all(wfd, 1 << 20, &text, &len) == -EBADF);
	close(wfd);
	close(fd);
	unlink(path);
}

int main(void)
{
	test_a_whole_read();
	test_over_the_limit_is_efbig();
	test_a_failed_read_is_an_error_not_a_length();
	return check_summary();
}
