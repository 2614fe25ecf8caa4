/* pinfs's own files: mkdir -p with mode 0700, and writes that finish. */
#include "dirs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dirs_make(const char *path)
{
	char *p = strdup(path);
	int result = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			result = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return result;
}

int dirs_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int dirs_read_all(int fd, size_t max, char **text, size_t *len)
{
	struct stat st;
	size_t got = 0;
	ssize_t n = 1;
	char *buf;

	*text = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size > max)
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	/* At least one read: a descriptor that cannot be read says so even for an empty file. */
	do {
		n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n > 0)
			got += (size_t)n;
	} while (n > 0 && got < (size_t)st.st_size);
	if (n < 0) {
		int result = -errno;

		free(buf);
		return result;
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return 0;
}
