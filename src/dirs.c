/* mkdir -p with mode 0700. */
#include "dirs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
