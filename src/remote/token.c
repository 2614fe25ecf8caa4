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

static char *field(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	char *s = cJSON_IsString(v) ? trimmed_dup(v->valuestring) : NULL;

	/* Blanks are no token: " " must not pass for a refresh token. */
	if (s && !*s) {
		free(s);
		s = NULL;
	}
	return s;
}

static time_t time_field(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	/* Past the year 9999 is no date (and 1e300 would overflow the conversion): unknown. */
	return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 253402300800.0
		   ? (time_t)v->valuedouble
		   : 0;
}

/* Fills t from the file's text: a JSON object as `pinfs login` writes it, or the bare token. */
static void token_from_text(const char *text, struct token_file *t)
{
	cJSON *j = cJSON_Parse(text), *it;

	if (!j) {
		t->access_token = trimmed_dup(text);
		return;
	}
	if (cJSON_IsObject(j)) {
		t->access_token = field(j, "access_token");
		t->refresh_token = field(j, "refresh_token");
		t->scope = field(j, "scope");
		t->client_id = field(j, "client_id");
		t->client_secret = field(j, "client_secret");
		t->api_url = field(j, "api_url");
		t->expires_at = time_field(j, "expires_at");
		t->refresh_expires_at = time_field(j, "refresh_token_expires_at");
	}
	/* cJSON frees its copies of the tokens without clearing them. */
	cJSON_ArrayForEach(it, j)
	{
		if (cJSON_IsString(it))
			explicit_bzero(it->valuestring, strlen(it->valuestring));
	}
	cJSON_Delete(j);
}

static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void token_file_release(struct token_file *t)
{
	wipe_free(t->access_token);
	wipe_free(t->refresh_token);
	wipe_free(t->client_secret);
	free(t->scope);
	free(t->client_id);
	free(t->api_url);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/* What group or others may do to a file of this mode, so that a refusal names the real cause:
 * a group-writable token file is refused too (anyone in the group could swap the token), but
 * calling it readable would send its owner looking for the wrong thing. */
static const char *access_word(mode_t mode)
{
	if (mode & (S_IRGRP | S_IROTH))
		return (mode & (S_IWGRP | S_IWOTH)) ? "read and write" : "read";
	if (mode & (S_IWGRP | S_IWOTH))
		return "write";
	return "execute";
}

int token_load(const char *file, struct token_file *t, char *why, size_t len)
{
	const char *env = getenv("PINFS_ACCESS_TOKEN");
	char *path = NULL, *text = NULL;
	struct stat st;
	ssize_t n;
	int fd = -1, result = 0;

	memset(t, 0, sizeof(*t));
	if (env && *env && !file) {
		t->access_token = trimmed_dup(env);
		return t->access_token ? 0 : -ENOMEM;
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
		snprintf(why, len, "%s: group or others may %s it (mode %04o); run 'chmod 600 %s'",
			 path, access_word(st.st_mode), (unsigned)(st.st_mode & 07777), path);
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
	token_from_text(text, t);
	if (!t->access_token || !t->access_token[0]) {
		result = -EINVAL;
		snprintf(why, len, "%s: no access_token in it", path);
		goto out;
	}
	t->path = path;
	path = NULL;
out:
	if (result)
		token_file_release(t);
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	if (fd >= 0)
		close(fd);
	free(path);
	return result;
}
