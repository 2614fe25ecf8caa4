#include "login.h"

#include "api.h"
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "redirect.h"
#include "token.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SCOPE                                                                              \
	"user_accounts:read,boards:read,boards:write,pins:read,pins:write,boards:read_secret,"     \
	"boards:write_secret,pins:read_secret,pins:write_secret,user_accounts:write"
#define DEFAULT_REDIRECT    "http://localhost:8085/"
#define DEFAULT_TIMEOUT_S   300
#define PINTEREST_AUTHORIZE "https://www.pinterest.com/oauth/"

struct login_opts {
	char *api_url, *token_file, *authorize_url, *client_id, *redirect_uri, *scope;
	bool no_browser;
	int timeout_s;
};

static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* ---- options ---- */

static void usage(void)
{
	printf(
	    "usage: pinfs login [options]\n"
	    "\n"
	    "Logs in to Pinterest in a browser (OAuth) and writes the tokens to the token file,\n"
	    "where a mount reads them and refreshes them by itself.\n"
	    "\n"
	    "    --client-id ID         the app's id (default $PINFS_CLIENT_ID); its secret comes\n"
	    "                           from $PINFS_CLIENT_SECRET, else a prompt on the terminal,\n"
	    "                           never from the command line\n"
	    "    --redirect-uri URI     a redirect URI registered for the app (default\n"
	    "                           " DEFAULT_REDIRECT
	    "); pinfs listens on its port on 127.0.0.1\n"
	    "    --no-browser           open no browser and do not listen: paste the address the\n"
	    "                           browser was sent to (or the code) on stdin\n"
	    "    --scope LIST           scopes to ask for (default: read and write, secret boards\n"
	    "                           included)\n"
	    "    --timeout SECS         how long to wait for the browser (default %d)\n"
	    "    --authorize-url URL    the authorize page (default " PINTEREST_AUTHORIZE ", or\n"
	    "                           /oauth/ on the api_url's host for another API)\n"
	    "    -o api_url=URL         API base (default " PINFS_DEFAULT_API ")\n"
	    "    -o token_file=PATH, --token-file PATH\n"
	    "                           where to write the tokens (default\n"
	    "                           $XDG_CONFIG_HOME/pinfs/token.json, mode 0600)\n"
	    "    -h, --help             this text\n",
	    DEFAULT_TIMEOUT_S);
}

static int set_opt(char **dst, const char *value)
{
	free(*dst);
	*dst = strdup(value);
	return *dst ? 0 : -1;
}

/* -o api_url=URL,token_file=PATH, as the mount takes them. */
static int parse_o(struct login_opts *o, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *item;
	int result = copy ? 0 : -1;

	for (item = copy ? strtok_r(copy, ",", &save) : NULL; item && !result;
	     item = strtok_r(NULL, ",", &save)) {
		if (strncmp(item, "api_url=", 8) == 0) {
			result = set_opt(&o->api_url, item + 8);
		} else if (strncmp(item, "token_file=", 11) == 0) {
			result = set_opt(&o->token_file, item + 11);
		} else {
			fprintf(stderr,
				"pinfs login: unknown option -o %.*s; see 'pinfs login --help'\n",
				(int)strcspn(item, "="), item);
			result = -1;
		}
	}
	free(copy);
	return result;
}

enum {
	OPT_TOKEN_FILE = 256,
	OPT_AUTHORIZE,
	OPT_CLIENT_ID,
	OPT_CLIENT_SECRET,
	OPT_REDIRECT,
	OPT_SCOPE,
	OPT_NO_BROWSER,
	OPT_TIMEOUT,
};

static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"authorize-url", required_argument, NULL, OPT_AUTHORIZE},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"client-secret", optional_argument, NULL, OPT_CLIENT_SECRET},
    {"redirect-uri", required_argument, NULL, OPT_REDIRECT},
    {"scope", required_argument, NULL, OPT_SCOPE},
    {"no-browser", no_argument, NULL, OPT_NO_BROWSER},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {NULL, 0, NULL, 0},
};

/* One option; returns 0, or -1 after printing why. */
static int take_opt(struct login_opts *o, int c, const char *arg)
{
	char *end;

	switch (c) {
	case 'o':
		return parse_o(o, arg);
	case OPT_TOKEN_FILE:
		return set_opt(&o->token_file, arg);
	case OPT_AUTHORIZE:
		return set_opt(&o->authorize_url, arg);
	case OPT_CLIENT_ID:
		return set_opt(&o->client_id, arg);
	case OPT_REDIRECT:
		return set_opt(&o->redirect_uri, arg);
	case OPT_SCOPE:
		return set_opt(&o->scope, arg);
	case OPT_NO_BROWSER:
		o->no_browser = true;
		return 0;
	case OPT_TIMEOUT:
		o->timeout_s = (int)strtol(arg, &end, 10);
		if (*end || o->timeout_s <= 0) {
			fprintf(stderr, "pinfs login: --timeout wants a number of seconds\n");
			return -1;
		}
		return 0;
	case OPT_CLIENT_SECRET:
		/* The value is not repeated: it is a secret, already shown to every `ps`. */
		fprintf(stderr,
			"pinfs login: --client-secret is refused: every user of this machine "
			"can read a command line; set PINFS_CLIENT_SECRET or type the secret "
			"at the prompt\n");
		return -1;
	default:
		return -1;
	}
}

/* Fills o from argv and the defaults. Returns 0 to go on, 1 after printing an error, or 2
 * after printing the help. */
static int parse_args(int argc, char *argv[], struct login_opts *o)
{
	const char *env_id = getenv("PINFS_CLIENT_ID");
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_s = DEFAULT_TIMEOUT_S;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", long_opts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return 2;
		}
		if (c == '?' || c == ':') {
			char opt[3] = {'-', (char)optopt, '\0'};
			const char *bad = optopt ? opt : argv[optind - 1];

			/* Cut at '=': the value may be a secret typed after the wrong name. */
			fprintf(stderr, "pinfs login: %s option '%.*s'; see 'pinfs login --help'\n",
				c == ':' ? "missing the value of" : "unknown",
				(int)strcspn(bad, "="), bad);
			return 1;
		}
		if (take_opt(o, c, optarg) != 0)
			return 1;
	}
	if (optind < argc) {
		fprintf(stderr,
			"pinfs login: takes no arguments ('%s'); see 'pinfs login --help'\n",
			argv[optind]);
		return 1;
	}
	if ((!o->api_url && set_opt(&o->api_url, PINFS_DEFAULT_API)) ||
	    (!o->redirect_uri && set_opt(&o->redirect_uri, DEFAULT_REDIRECT)) ||
	    (!o->scope && set_opt(&o->scope, DEFAULT_SCOPE)) ||
	    (!o->client_id && env_id && *env_id && set_opt(&o->client_id, env_id)) ||
	    (!o->token_file && !(o->token_file = token_default_path()))) {
		fprintf(stderr, "pinfs login: out of memory\n");
		return 1;
	}
	if (!o->client_id) {
		fprintf(stderr,
			"pinfs login: no client id: pass --client-id or set PINFS_CLIENT_ID "
			"(the app id in the Pinterest developer console)\n");
		return 1;
	}
	return 0;
}

static void release_opts(struct login_opts *o)
{
	free(o->api_url);
	free(o->token_file);
	free(o->authorize_url);
	free(o->client_id);
	free(o->redirect_uri);
	free(o->scope);
}

/* ---- the client secret ---- */

static struct termios saved_tty;
static int tty_fd = -1;

/* A signal while echo is off must not leave the terminal silent. */
static void restore_tty(int sig)
{
	tcsetattr(tty_fd, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

static ssize_t read_line(int fd, char *line, size_t size)
{
	size_t n = 0;
	char ch;

	while (n + 1 < size) {
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		line[n++] = ch;
	}
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
		n--;
	line[n] = '\0';
	return n;
}

/* Asks for the secret on the terminal with echo off. Caller wipes and frees. */
static char *prompt_secret(char *why, size_t len)
{
	static const char ask[] = "Client secret of the app (not shown): ";
	static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
	struct sigaction sa = {.sa_handler = restore_tty}, old[4];
	struct termios quiet;
	char line[512], *out = NULL;

	tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty_fd < 0 || tcgetattr(tty_fd, &saved_tty) < 0) {
		snprintf(why, len,
			 "no client secret: set PINFS_CLIENT_SECRET (there is no terminal "
			 "to ask on)");
		goto out;
	}
	quiet = saved_tty;
	quiet.c_lflag &= ~ECHO;
	quiet.c_lflag |= ECHONL;
	for (size_t i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);
	tcsetattr(tty_fd, TCSAFLUSH, &quiet);
	if (write(tty_fd, ask, sizeof(ask) - 1) < 0 || read_line(tty_fd, line, sizeof(line)) <= 0)
		snprintf(why, len, "no client secret given");
	else if (!(out = strdup(line)))
		snprintf(why, len, "out of memory");
	tcsetattr(tty_fd, TCSAFLUSH, &saved_tty);
	for (size_t i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	explicit_bzero(line, sizeof(line));
out:
	if (tty_fd >= 0)
		close(tty_fd);
	tty_fd = -1;
	return out;
}

static char *client_secret(char *why, size_t len)
{
	const char *env = getenv("PINFS_CLIENT_SECRET");
	char *s;

	if (!env || !*env)
		return prompt_secret(why, len);
	s = strdup(env);
	if (!s)
		snprintf(why, len, "out of memory");
	return s;
}

/* ---- the authorize address ---- */

/* A random state, hex: the redirect must bring it back, so a code that another page sent
 * the browser to is refused. Caller frees. */
static char *new_state(void)
{
	unsigned char raw[16];
	char *hex = malloc(sizeof(raw) * 2 + 1);

	if (!hex || getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		free(hex);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		sprintf(hex + 2 * i, "%02x", raw[i]);
	return hex;
}

/* Pinterest's authorize page for Pinterest's APIs; /oauth/ on the API's own host for any
 * other (a test server). Caller frees. */
static char *authorize_base(const char *api_url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
	size_t n;

	if (!u || curl_url_set(u, CURLUPART_URL, api_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	n = strlen(host);
	if (strcasecmp(host, "pinterest.com") == 0 ||
	    (n > 14 && strcasecmp(host + n - 14, ".pinterest.com") == 0))
		out = strdup(PINTEREST_AUTHORIZE);
	else if (asprintf(&out, "%s://%s%s%s/oauth/", scheme, host, port ? ":" : "",
			  port ? port : "") < 0)
		out = NULL;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

static char *authorize_url(const struct login_opts *o, const char *state)
{
	char *base = o->authorize_url ? strdup(o->authorize_url) : authorize_base(o->api_url);
	char *id = http_escape(o->client_id), *redirect = http_escape(o->redirect_uri);
	char *scope = http_escape(o->scope), *out = NULL;

	if (base && id && redirect && scope &&
	    asprintf(&out, "%s%sclient_id=%s&redirect_uri=%s&response_type=code&scope=%s&state=%s",
		     base, strchr(base, '?') ? "&" : "?", id, redirect, scope, state) < 0)
		out = NULL;
	free(base);
	free(id);
	free(redirect);
	free(scope);
	return out;
}

/* The full name of an executable found on $PATH, or NULL. Caller frees. */
static char *find_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs = strdup(path ? path : "/usr/bin:/bin"), *save = NULL, *exe = NULL;

	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d;
	     d = strtok_r(NULL, ":", &save)) {
		if (asprintf(&exe, "%s/%s", d, name) < 0) {
			exe = NULL;
			break;
		}
		if (access(exe, X_OK) == 0)
			break;
		free(exe);
		exe = NULL;
	}
	free(dirs);
	return exe;
}

/* Starts xdg-open on url when there is one; the address is printed either way. */
static void open_browser(const char *url)
{
	char *exe = find_on_path("xdg-open");

	if (exe && fork() == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(exe, "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	free(exe);
}

/* ---- the code the browser brings back ---- */

/* Percent-decodes s[0..n), '+' as a space. Caller frees. */
static char *decode(const char *s, size_t n)
{
	char *copy = strndup(s, n), *d = NULL, *out = NULL;
	int len = 0;

	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if (*p == '+')
			*p = ' ';
	d = curl_easy_unescape(NULL, copy, (int)strlen(copy), &len);
	out = d ? strndup(d, len) : NULL;
	if (d)
		explicit_bzero(d, len);
	curl_free(d);
	wipe_free(copy);
	return out;
}

/* The decoded value of key in a query ("a=1&b=2"), or NULL when absent. Caller frees. */
static char *query_value(const char *query, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = query; p && *p;) {
		size_t n = strcspn(p, "&#");

		if (n > klen && p[klen] == '=' && strncmp(p, key, klen) == 0)
			return decode(p + klen + 1, n - klen - 1);
		p = p[n] == '&' ? p + n + 1 : NULL;
	}
	return NULL;
}

/* The code in a redirect's query, once its state is this login's. Returns 0 with *code set
 * (caller wipes and frees), or -1 with why. */
static int code_from_query(const char *query, const char *state, char **code, char *why, size_t len)
{
	char *error = query_value(query, "error"), *desc = query_value(query, "error_description");
	char *got_state = query_value(query, "state");
	int result = -1;

	*code = NULL;
	if (error)
		snprintf(why, len, "the authorization was refused in the browser (%.200s)",
			 desc ? desc : error);
	else if (!got_state || strcmp(got_state, state) != 0)
		snprintf(why, len,
			 "the answer's state is not this login's: it did not come from "
			 "the address pinfs printed");
	else if (!(*code = query_value(query, "code")) || !**code)
		snprintf(why, len, "the answer carries no code");
	else
		result = 0;
	if (result) {
		wipe_free(*code);
		*code = NULL;
	}
	free(error);
	free(desc);
	free(got_state);
	return result;
}

/* --no-browser: the address the browser was sent to, or the bare code, from stdin. */
static int code_from_stdin(const char *state, char **code, char *why, size_t len)
{
	char line[4096];
	const char *q;
	int result = -1;

	*code = NULL;
	/* A paste that does not come from a person needs no prompt in front of the error. */
	if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "Address the browser was sent to (or the code): ");
		fflush(stderr);
	}
	if (read_line(STDIN_FILENO, line, sizeof(line)) <= 0) {
		snprintf(why, len, "no address or code on standard input");
		goto out;
	}
	q = strchr(line, '?');
	if (q || strchr(line, '='))
		result = code_from_query(q ? q + 1 : line, state, code, why, len);
	else if (strpbrk(line, " /\t"))
		snprintf(why, len, "that is neither an address nor a code");
	else if (!(*code = strdup(line)))
		snprintf(why, len, "out of memory");
	else
		result = 0;
out:
	explicit_bzero(line, sizeof(line));
	return result;
}

/* ---- the login ---- */

/* Prints the address, opens a browser or waits for a paste, and returns the code (caller
 * wipes and frees) and, in listener mode, the browser's connection in *browser. */
static int get_code(const struct login_opts *o, char **code, int *browser, char *why, size_t len)
{
	char *state = new_state(), *url = state ? authorize_url(o, state) : NULL, *query = NULL;
	struct redirect r = {.fd = -1};
	int result = -1;

	*code = NULL;
	*browser = -1;
	if (!url) {
		snprintf(why, len, "cannot make the authorize address from %.200s", o->api_url);
		goto out;
	}
	/* Listening before the address is shown: the browser may come back at once. */
	if (!o->no_browser && redirect_listen(o->redirect_uri, &r, why, len) != 0)
		goto out;
	printf("Open this address in a browser and allow pinfs to use your Pinterest account:\n"
	       "\n    %s\n\n",
	       url);
	if (o->no_browser) {
		printf("The browser is then sent to %s with a code; that page may not load: copy "
		       "its address from the address bar.\n",
		       o->redirect_uri);
		fflush(stdout);
		result = code_from_stdin(state, code, why, len);
		goto out;
	}
	printf("Waiting for the browser to come back to %s (up to %d s)...\n", o->redirect_uri,
	       o->timeout_s);
	fflush(stdout);
	open_browser(url);
	*browser = redirect_wait(&r, o->timeout_s, &query, why, len);
	if (*browser >= 0)
		result = code_from_query(query, state, code, why, len);
out:
	redirect_close(&r);
	wipe_free(query);
	free(url);
	free(state);
	return result;
}

/* GET /user_account with the new tokens: the username, or NULL with why. Caller frees. */
static char *whoami(struct token_file *t, const char *api_url, char *why, size_t len)
{
	struct api_config ac = {.base_url = api_url};
	const cJSON *name;
	cJSON *account = NULL;
	char *user = NULL;
	int rc;

	rc = oauth_init(t, api_url);
	if (!rc)
		rc = api_init(&ac);
	if (!rc)
		rc = api_get_account(&account);
	name = cJSON_GetObjectItemCaseSensitive(account, "username");
	if (!rc && !(user = cJSON_IsString(name) ? strdup(name->valuestring) : NULL))
		rc = -EIO;
	if (rc)
		snprintf(why, len, "the new tokens do not work: GET /user_account failed (%s)",
			 strerror(-rc));
	cJSON_Delete(account);
	api_cleanup();
	oauth_cleanup();
	return user;
}

/* Trades the code for tokens, writes the token file and asks who logged in. */
static int finish(const struct login_opts *o, struct token_file *t, const char *code, char **user,
		  char *why, size_t len)
{
	char saved[512];

	if (oauth_exchange_code(t, code, o->redirect_uri, why, len) != 0)
		return -1;
	/* Saved before anything else: the code is spent, and the tokens are good. */
	if (oauth_save(o->token_file, t, why, len) != 0)
		return -1;
	t->path = strdup(o->token_file);
	*user = whoami(t, o->api_url, saved, sizeof(saved));
	if (!*user) {
		snprintf(why, len, "%.250s (tokens saved in %.200s)", saved, o->token_file);
		return -1;
	}
	return 0;
}

int login_main(int argc, char *argv[])
{
	struct http_config hc = {.connect_timeout_s = 10, .stall_timeout_s = 30, .max_retries = 2};
	struct login_opts o;
	struct token_file t = {0};
	char why[512] = "", *code = NULL, *user = NULL;
	int browser = -1, result = 1, parsed = parse_args(argc, argv, &o), rc;

	if (parsed != 0)
		goto out_opts;
	/* The one line printed at the end says it all; the HTTP layer's own would repeat it. */
	log_set_level(LOG_LVL_ERROR);
	t.client_id = strdup(o.client_id);
	t.scope = strdup(o.scope);
	t.api_url = strdup(o.api_url);
	if (!t.client_id || !t.scope || !t.api_url) {
		snprintf(why, sizeof(why), "out of memory");
		goto out;
	}
	while (strlen(t.api_url) > 1 && t.api_url[strlen(t.api_url) - 1] == '/')
		t.api_url[strlen(t.api_url) - 1] = '\0';
	t.client_secret = client_secret(why, sizeof(why));
	if (!t.client_secret || get_code(&o, &code, &browser, why, sizeof(why)) != 0)
		goto out;
	if (http_init(&hc) != 0) {
		snprintf(why, sizeof(why), "cannot start libcurl");
		goto out;
	}
	rc = finish(&o, &t, code, &user, why, sizeof(why));
	http_cleanup();
	if (rc)
		goto out;
	printf("logged in as %s (tokens in %s)\n", user, o.token_file);
	if (browser >= 0) {
		snprintf(why, sizeof(why), "pinfs is logged in as %s. You can close this window.",
			 user);
		redirect_answer(browser, 200, why);
		browser = -1;
	}
	result = 0;
out:
	if (result) {
		fprintf(stderr, "pinfs login: %s\n", why);
		if (browser >= 0) {
			char page[600];

			snprintf(page, sizeof(page), "pinfs login failed: %s", why);
			redirect_answer(browser, 400, page);
		}
	}
	wipe_free(code);
	free(user);
	token_file_release(&t);
out_opts:
	release_opts(&o);
	return parsed == 2 ? 0 : result;
}
