#include "token.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKEN_FILE 65536

char *token_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *p = NULL;
	int rc;

	if (xdg && *xdg)
		rc = asprintf(&p, "%s/pinfs/token.json", xdg);
	else
		rc = asprintf(&p, "%s/.config/pinfs/token.json", home ? home : ".");
	return rc < 0 ? NULL : p;
}

static char *trimmed_dup(const char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
		       s[len - 1] == '\r'))
		len--;
	return strndup(s, len);
}

/* The token inside the file's text: the access_token of a JSON object, or the text itself. */
static char *token_from_text(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	char *out;

	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	out = j ? (cJSON_IsString(t) ? trimmed_dup(t->valuestring) : NULL) : trimmed_dup(text);
	cJSON_Delete(j);
	return out;
}

int token_load(const char *file, char **token, char *why, size_t len)
{
	const char *env = getenv("PINFS_ACCESS_TOKEN");
	char *path = NULL, *text = NULL;
	struct stat st;
	ssize_t n;
	int fd = -1, result = 0;

	*token = NULL;
	if (env && *env && !file) {
		*token = trimmed_dup(env);
		return *token ? 0 : -ENOMEM;
	}
	path = file ? strdup(file) : token_default_path();
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		result = -errno;
		snprintf(why, len,
			 "no access token: set PINFS_ACCESS_TOKEN or run 'pinfs login' (%s: %s)",
			 path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || st.st_size > MAX_TOKEN_FILE) {
		result = -EINVAL;
		snprintf(why, len, "%s: not a token file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		result = -EPERM;
		snprintf(why, len, "%s: group or others may read it; run 'chmod 600 %s'", path,
			 path);
		goto out;
	}
	text = calloc(1, st.st_size + 1);
	if (!text) {
		result = -ENOMEM;
		goto out;
	}
	n = read(fd, text, st.st_size);
	if (n < 0) {
		result = -errno;
		snprintf(why, len, "%s: %s", path, strerror(errno));
		goto out;
	}
	*token = token_from_text(text);
	if (!*token || !**token) {
		free(*token);
		*token = NULL;
		result = -EINVAL;
		snprintf(why, len, "%s: no access_token in it", path);
	}
out:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	if (fd >= 0)
		close(fd);
	free(path);
	return result;
}
