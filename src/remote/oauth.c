#include "oauth.h"
#include "dirs.h"

#include "http.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REFRESH_MARGIN_S 300 /* refresh when the access token has less than this left */
#define RETRY_PAUSE_S	 30  /* after a refresh failed, no other attempt for this long */
#define LOCK_WAIT_MS	 60000

static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Frees *dst (wiping it) and puts src there; a NULL src leaves *dst as it was. */
static void replace(char **dst, char *src)
{
	if (!src)
		return;
	wipe_free(*dst);
	*dst = src;
}

/* ---- the token endpoint ---- */

static char *dup_str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) && v->valuestring[0] ? strdup(v->valuestring) : NULL;
}

static long long num(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	/* Seconds and dates stay far below 1e15; 1e300 would overflow the conversion (undefined in
	 * C) and then now + expires_in. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble > -1e15 && v->valuedouble < 1e15))
		return -1;
	return (long long)v->valuedouble;
}

/* cJSON frees its strings without clearing them; the tokens in them are cleared first. */
static void wipe_json(cJSON *j)
{
	cJSON *it;

	cJSON_ArrayForEach(it, j)
	{
		if (cJSON_IsString(it) && it->valuestring)
			explicit_bzero(it->valuestring, strlen(it->valuestring));
	}
	cJSON_Delete(j);
}

/* The tokens of a 2xx answer of the token endpoint, into got (all fields new). */
int oauth_parse_answer(const struct http_resp *r, struct token_file *got, char *why, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(r->body ? r->body : "", r->len);
	time_t now = time(NULL);
	long long expires_in = num(j, "expires_in"), r_at = num(j, "refresh_token_expires_at");
	long long r_in = num(j, "refresh_token_expires_in");

	memset(got, 0, sizeof(*got));
	got->access_token = dup_str(j, "access_token");
	got->refresh_token = dup_str(j, "refresh_token");
	got->scope = dup_str(j, "scope");
	got->expires_at = expires_in > 0 ? now + (time_t)expires_in : 0;
	got->refresh_expires_at = r_at > 0 ? (time_t)r_at : r_in > 0 ? now + (time_t)r_in : 0;
	wipe_json(j);
	if (!got->access_token) {
		token_file_release(got);
		snprintf(why, len, "the token endpoint answered without an access token");
		return -EIO;
	}
	return 0;
}

/* One line about a refused grant, with the API's own message. */
static int describe_refusal(const struct http_resp *r, char *why, size_t len)
{
	cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	const char *msg = cJSON_IsString(m) ? m->valuestring : "";
	int result = r->status == 429 ? -EAGAIN : r->status >= 500 ? -EIO : -EACCES;

	if (r->status == 401)
		snprintf(why, len,
			 "the API refused the app's client id or secret (HTTP 401%s%.200s)",
			 *msg ? ": " : "", msg);
	else if (result == -EACCES)
		snprintf(why, len, "the API refused the grant (HTTP %ld%s%.200s)", r->status,
			 *msg ? ": " : "", msg);
	else
		snprintf(why, len, "the token endpoint failed (HTTP %ld%s%.200s)", r->status,
			 *msg ? ": " : "", msg);
	wipe_json(j);
	return result;
}

/* POSTs a form to {auth->api_url}/oauth/token with the app's Basic credentials and puts the
 * answer's tokens in got. Returns 0; -EACCES when the API refused the grant or the client;
 * -EAGAIN, -EIO or a transport error otherwise. why says which. */
static int token_post(const struct token_file *auth, const char *form, struct token_file *got,
		      char *why, size_t len)
{
	char *url = NULL, *basic = NULL;
	struct http_resp resp = {0};
	int result;

	memset(got, 0, sizeof(*got));
	if (!auth->client_id || !auth->client_secret || !auth->api_url) {
		snprintf(why, len, "no client id and secret to ask the token endpoint with");
		return -ENOKEY;
	}
	if (asprintf(&url, "%s/oauth/token", auth->api_url) < 0)
		url = NULL;
	if (asprintf(&basic, "%s:%s", auth->client_id, auth->client_secret) < 0)
		basic = NULL;
	if (!url || !basic) {
		result = -ENOMEM;
		snprintf(why, len, "out of memory");
		goto out;
	}
	struct http_req req = {
	    .method = "POST",
	    .url = url,
	    .basic = basic,
	    .content_type = "application/x-www-form-urlencoded",
	    .body = form,
	    .body_len = strlen(form),
	    .sink_fd = -1,
	    .fresh = true,
	    .retry = HTTP_RETRY_NOT_DONE,
	};

	result = http_send(&req, &resp);
	if (result)
		snprintf(why, len, "cannot reach %.200s (%s)", url, resp.error);
	else if (resp.status < 200 || resp.status >= 300)
		result = describe_refusal(&resp, why, len);
	else
		result = oauth_parse_answer(&resp, got, why, len);
out:
	if (resp.body)
		explicit_bzero(resp.body, resp.len);
	http_resp_release(&resp);
	wipe_free(basic);
	free(url);
	return result;
}

/* Moves got's tokens into t: a missing refresh token or scope keeps t's. */
static void merge(struct token_file *t, struct token_file *got)
{
	replace(&t->access_token, got->access_token);
	replace(&t->scope, got->scope);
	t->expires_at = got->expires_at;
	if (got->refresh_token)
		t->refresh_expires_at = got->refresh_expires_at;
	replace(&t->refresh_token, got->refresh_token);
	got->access_token = got->scope = got->refresh_token = NULL;
	token_file_release(got);
}

int oauth_exchange_code(struct token_file *t, const char *code, const char *redirect_uri, char *why,
			size_t len)
{
	char *c = http_escape(code), *r = http_escape(redirect_uri), *form = NULL;
	struct token_file got;
	int result = -ENOMEM;

	snprintf(why, len, "out of memory");
	if (!c || !r ||
	    asprintf(&form,
		     "grant_type=authorization_code&code=%s&redirect_uri=%s"
		     "&continuous_refresh=true",
		     c, r) < 0) {
		form = NULL;
		goto out;
	}
	result = token_post(t, form, &got, why, len);
	if (!result)
		merge(t, &got);
out:
	wipe_free(form);
	wipe_free(c);
	free(r);
	return result;
}

/* ---- the token file ---- */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return slash == path ? strdup("/") : strndup(path, slash - path);
}

static void add_str(cJSON *j, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(j, key, value);
}

static void add_time(cJSON *j, const char *key, time_t value)
{
	if (value > 0)
		cJSON_AddNumberToObject(j, key, (double)value);
}

/* The file's text. Caller wipes and frees. */
static char *render(const struct token_file *t)
{
	cJSON *j = cJSON_CreateObject();
	char *text;

	if (!j)
		return NULL;
	add_str(j, "access_token", t->access_token);
	add_str(j, "refresh_token", t->refresh_token);
	add_time(j, "expires_at", t->expires_at);
	add_time(j, "refresh_token_expires_at", t->refresh_expires_at);
	add_str(j, "scope", t->scope);
	add_str(j, "client_id", t->client_id);
	add_str(j, "client_secret", t->client_secret);
	add_str(j, "api_url", t->api_url);
	text = cJSON_Print(j);
	wipe_json(j);
	return text;
}

/* Writes text into a new file beside path, syncs it and renames it over path. */
static int replace_file(const char *path, const char *text)
{
	char *tmp = NULL;
	int fd, result = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		result = -errno;
		free(tmp);
		return result;
	}
	/* mkostemp's 0600 is cut by the umask: the file must stay readable by its owner. */
	if (fchmod(fd, 0600) < 0)
		result = -errno;
	if (!result)
		result = dirs_write_all(fd, text, strlen(text));
	if (!result)
		result = dirs_write_all(fd, "\n", 1);
	if (!result && fsync(fd) < 0)
		result = -errno;
	if (close(fd) < 0 && !result)
		result = -errno;
	if (!result && rename(tmp, path) < 0)
		result = -errno;
	if (result)
		unlink(tmp);
	free(tmp);
	return result;
}

int oauth_save(const char *path, const struct token_file *t, char *why, size_t len)
{
	char *dir = dir_of(path), *text = render(t);
	int result, dfd;

	if (!dir || !text) {
		result = -ENOMEM;
		snprintf(why, len, "out of memory");
		goto out;
	}
	result = dirs_make(dir);
	if (result) {
		snprintf(why, len, "cannot create %s: %s", dir, strerror(-result));
		goto out;
	}
	result = replace_file(path, text);
	if (result) {
		snprintf(why, len, "cannot write %s: %s", path, strerror(-result));
		goto out;
	}
	/* The rename itself is made durable by syncing the directory. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	wipe_free(text);
	free(dir);
	return result;
}

/* ---- the mount's access token ---- */

/* tok is read under state_lock. Only a thread holding refresh_lock changes it (taking
 * state_lock for the change), so that thread may read it without state_lock. */
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct token_file tok;
static bool refresh_refused; /* the API refused tok.refresh_token: never send it again */
static time_t next_try;	     /* no refresh before this, after one failed */
static struct stat seen;     /* the token file as last read or written here */

/* Notes the token file as it is now: only a later change to it is taken up. */
static void note_file(void)
{
	if (!tok.path || stat(tok.path, &seen) < 0)
		memset(&seen, 0, sizeof(seen));
}

/* The ctime moves with every write and chmod; a rename over the file brings a new inode. */
static bool file_changed(const struct stat *st)
{
	return st->st_dev != seen.st_dev || st->st_ino != seen.st_ino ||
	       st->st_ctim.tv_sec != seen.st_ctim.tv_sec ||
	       st->st_ctim.tv_nsec != seen.st_ctim.tv_nsec;
}

static bool can_refresh(time_t now)
{
	return tok.refresh_token && tok.client_id && tok.client_secret && !refresh_refused &&
	       now >= next_try;
}

static bool expiring(time_t now)
{
	return tok.expires_at && now >= tok.expires_at - REFRESH_MARGIN_S;
}

/* The length of url without its trailing slashes. */
static size_t url_len(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return n;
}

int oauth_init(struct token_file *t, const char *api_url)
{
	size_t n = url_len(api_url);
	int result = 0;

	pthread_mutex_lock(&state_lock);
	token_file_release(&tok);
	tok = *t;
	memset(t, 0, sizeof(*t));
	if (tok.api_url && tok.path &&
	    (url_len(tok.api_url) != n || strncmp(tok.api_url, api_url, n) != 0))
		log_warn("%s holds tokens of the API at %.200s, not %.*s: they may be refused",
			 tok.path, tok.api_url, (int)n, api_url);
	free(tok.api_url);
	tok.api_url = strndup(api_url, n);
	if (!tok.api_url)
		result = -ENOMEM;
	refresh_refused = false;
	next_try = 0;
	note_file();
	pthread_mutex_unlock(&state_lock);
	return result;
}

void oauth_cleanup(void)
{
	pthread_mutex_lock(&state_lock);
	token_file_release(&tok);
	pthread_mutex_unlock(&state_lock);
}

/* Another pinfs (a second mount, `pinfs login`) may refresh the same tokens: while one holds
 * the lock on the token file's directory the other waits, then reads what it wrote. Returns
 * the locked directory's descriptor, or -1 to go on without the lock. */
static int lock_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	free(dir);
	for (int waited = 0; fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 100) {
		if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS) {
			close(fd);
			return -1;
		}
		usleep(100 * 1000);
	}
	return fd;
}

/* Takes the token file's tokens when it changed since this mount read or wrote it and holds
 * others (a new login, or another mount's refresh). An unchanged file is never taken: after
 * a failed write it still holds tokens this mount has since replaced. Called with
 * refresh_lock held. Returns true when it took them. */
static bool adopt_file(void)
{
	struct token_file f;
	struct stat st;
	char why[512];
	bool same;

	if (!tok.path || stat(tok.path, &st) < 0 || !file_changed(&st) ||
	    token_load(tok.path, &f, why, sizeof(why)) != 0)
		return false;
	seen = st;
	same = tok.access_token && strcmp(f.access_token, tok.access_token) == 0 &&
	       (!f.refresh_token ||
		(tok.refresh_token && !strcmp(f.refresh_token, tok.refresh_token)));
	if (!same) {
		pthread_mutex_lock(&state_lock);
		if (f.refresh_token)
			refresh_refused = false;
		next_try = 0;
		tok.expires_at = f.expires_at;
		tok.refresh_expires_at = f.refresh_expires_at;
		replace(&tok.access_token, f.access_token);
		replace(&tok.refresh_token, f.refresh_token);
		replace(&tok.scope, f.scope);
		replace(&tok.client_id, f.client_id);
		replace(&tok.client_secret, f.client_secret);
		f.access_token = f.refresh_token = f.scope = f.client_id = f.client_secret = NULL;
		pthread_mutex_unlock(&state_lock);
		log_info("took the tokens %s holds now", tok.path);
	}
	token_file_release(&f);
	return !same;
}

/* Trades the refresh token for new tokens and writes them to the token file at once. Called
 * with refresh_lock held. */
static int refresh_grant(void)
{
	char *esc = http_escape(tok.refresh_token), *form = NULL, why[512];
	struct token_file got;
	int result;

	if (!esc || asprintf(&form, "grant_type=refresh_token&refresh_token=%s", esc) < 0) {
		wipe_free(esc);
		return -ENOMEM;
	}
	result = token_post(&tok, form, &got, why, sizeof(why));
	pthread_mutex_lock(&state_lock);
	if (result) {
		refresh_refused = result == -EACCES;
		next_try = time(NULL) + RETRY_PAUSE_S;
	} else {
		merge(&tok, &got);
	}
	pthread_mutex_unlock(&state_lock);
	if (result) {
		log_warn("cannot refresh the access token: %s%s", why,
			 result == -EACCES ? "; run 'pinfs login' again" : "");
		result = -EACCES;
	} else {
		log_info("access token refreshed");
		if (tok.path && oauth_save(tok.path, &tok, why, sizeof(why)) != 0)
			log_error("%s; the new refresh token lives in this mount's memory only",
				  why);
		else
			note_file();
	}
	wipe_free(form);
	wipe_free(esc);
	return result;
}

/* Renews the access token: `refused` is the token the API refused, or NULL for a refresh
 * before it expires. Called with refresh_lock held; see oauth_renew for the results. */
static int renew_locked(const char *refused)
{
	time_t now = time(NULL);
	int dir_fd = tok.path ? lock_dir(tok.path) : -1;
	int result = 0;

	/* The file first: a newer login or another mount's refresh costs no request. */
	if (adopt_file() && (refused ? strcmp(tok.access_token, refused) != 0 &&
					   (!tok.expires_at || now < tok.expires_at)
				     : !expiring(now)))
		goto out;
	if (!can_refresh(now)) {
		result = -ENOKEY;
		goto out;
	}
	result = refresh_grant();
out:
	if (dir_fd >= 0)
		close(dir_fd);
	return result;
}

/* Whether the token still needs renewing now that refresh_lock is ours: another thread may
 * have done it while this one waited. */
static bool still_needed(const char *refused)
{
	bool needed;

	pthread_mutex_lock(&state_lock);
	if (refused)
		needed = tok.access_token && strcmp(tok.access_token, refused) == 0;
	else
		needed = expiring(time(NULL)) && can_refresh(time(NULL));
	pthread_mutex_unlock(&state_lock);
	return needed;
}

int oauth_renew(const char *refused)
{
	int result = 0;

	pthread_mutex_lock(&refresh_lock);
	if (still_needed(refused))
		result = renew_locked(refused);
	pthread_mutex_unlock(&refresh_lock);
	return result;
}

int oauth_bearer(char **out)
{
	bool early;
	int result;

	pthread_mutex_lock(&state_lock);
	early = expiring(time(NULL)) && can_refresh(time(NULL));
	pthread_mutex_unlock(&state_lock);
	/* When this fails the current token is still sent: it may have minutes left, and a
	 * refusal comes back as a 401 that oauth_renew answers. */
	if (early)
		oauth_renew(NULL);
	pthread_mutex_lock(&state_lock);
	*out = tok.access_token ? strdup(tok.access_token) : NULL;
	result = !tok.access_token ? -EACCES : *out ? 0 : -ENOMEM;
	pthread_mutex_unlock(&state_lock);
	return result;
}
