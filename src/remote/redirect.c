#include "redirect.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST   8192 /* a browser's request head larger than this is dropped */
#define MAX_CLIENTS   8	   /* browsers open spare connections they may never use */
#define CLIENT_IDLE_S 15

/* The port and path to listen on; only plain http on this machine can be served. */
static int parse_redirect(const char *uri, struct redirect *r, char *why, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int result = -1;

	r->path = NULL;
	if (!u || curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &r->path, 0) != CURLUE_OK) {
		snprintf(why, len, "--redirect-uri %.200s is not an address", uri);
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 ||
	    (strcasecmp(host, "localhost") != 0 && strcmp(host, "127.0.0.1") != 0)) {
		snprintf(why, len,
			 "cannot listen for %.200s: only http://localhost or "
			 "http://127.0.0.1 can be; use --no-browser",
			 uri);
		goto out;
	}
	r->port = strtol(port, NULL, 10);
	result = 0;
out:
	if (result) {
		curl_free(r->path);
		r->path = NULL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return result;
}

static int listen_on(long port, char *why, size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		snprintf(why, len,
			 "cannot listen on 127.0.0.1:%ld (%s): pass another "
			 "--redirect-uri registered for the app, or --no-browser",
			 port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static char *html_escape(const char *s)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += strchr("<>&\"", *p) ? 6 : 1;
	out = o = malloc(n + 1);
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		const char *e = *p == '<'   ? "&lt;"
				: *p == '>' ? "&gt;"
				: *p == '&' ? "&amp;"
				: *p == '"' ? "&quot;"
					    : NULL;

		if (e)
			o = stpcpy(o, e);
		else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* Answers a browser with a small page saying text, and closes the connection. */
void redirect_answer(int fd, int status, const char *text)
{
	char *esc = html_escape(text), *body = NULL, *msg = NULL;
	int n = -1;

	if (esc && asprintf(&body,
			    "<!doctype html>\n<meta charset=\"utf-8\">\n"
			    "<title>pinfs login</title>\n<p>%s</p>\n",
			    esc) < 0)
		body = NULL;
	if (body)
		n = asprintf(&msg,
			     "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
			     "Cache-Control: no-store\r\nConnection: close\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     status,
			     status == 200   ? "OK"
			     : status == 404 ? "Not Found"
					     : "Bad Request",
			     strlen(body), body);
	for (ssize_t done = 0, w; n > 0 && done < n; done += w) {
		w = send(fd, msg + done, n - done, MSG_NOSIGNAL);
		if (w <= 0)
			break;
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	if (n > 0)
		free(msg);
	free(body);
	free(esc);
}

struct client {
	int fd;
	time_t since;
	size_t len;
	char buf[MAX_REQUEST + 1];
};

/* A complete request head in c: the redirect (returns true, *query set) or anything else
 * (answered 404 here, returns false). */
static bool is_redirect(struct client *c, const char *path, char **query)
{
	char *target = strchr(c->buf, ' '), *end, *q;

	if (!target || strncmp(c->buf, "GET ", 4) != 0)
		goto other;
	target++;
	end = target + strcspn(target, " \r\n");
	*end = '\0';
	q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	if (strcmp(target, path) != 0)
		goto other;
	*query = strdup(q ? q : "");
	return *query != NULL;
other:
	redirect_answer(c->fd, 404, "Not found.");
	c->fd = -1;
	return false;
}

/* Reads what came on client c; returns true when it was the redirect (its connection is
 * then the caller's). A client that closed, sent too much or came to another path is done
 * with (fd -1). */
static bool serve_client(struct client *c, const char *path, char **query)
{
	ssize_t r = read(c->fd, c->buf + c->len, MAX_REQUEST - c->len);

	if (r < 0 && errno == EINTR)
		return false;
	if (r <= 0 || c->len + r >= MAX_REQUEST) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	c->len += r;
	c->buf[c->len] = '\0';
	if (!strstr(c->buf, "\r\n\r\n") && !strstr(c->buf, "\n\n"))
		return false;
	return is_redirect(c, path, query);
}

/* Other requests (a favicon) get a 404; idle spare connections are closed. */
int redirect_wait(struct redirect *r, int timeout_s, char **query, char *why, size_t len)
{
	struct client *c = calloc(MAX_CLIENTS, sizeof(*c));
	time_t deadline = time(NULL) + timeout_s;
	int n = 0, found = -1;

	*query = NULL;
	snprintf(why, len, "out of memory");
	while (c && found < 0) {
		struct pollfd p[MAX_CLIENTS + 1] = {{.fd = r->fd, .events = POLLIN}};
		time_t now = time(NULL);

		if (now >= deadline) {
			snprintf(why, len, "no answer from the browser in %d s", timeout_s);
			break;
		}
		for (int i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
		if (poll(p, n + 1, 1000) < 0 && errno != EINTR) {
			snprintf(why, len, "poll: %s", strerror(errno));
			break;
		}
		/* Backwards: a finished client is replaced by the last, already looked at. */
		for (int i = n - 1; i >= 0 && found < 0; i--) {
			if ((p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    serve_client(&c[i], r->path, query))
				found = c[i].fd;
			else if (c[i].fd >= 0 && now - c[i].since > CLIENT_IDLE_S) {
				close(c[i].fd);
				c[i].fd = -1;
			}
			if (found >= 0 || c[i].fd < 0)
				c[i] = c[--n];
		}
		if (found < 0 && (p[0].revents & POLLIN)) {
			int fd = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && n < MAX_CLIENTS)
				c[n++] = (struct client){.fd = fd, .since = now};
			else if (fd >= 0)
				close(fd);
		}
	}
	for (int i = 0; c && i < n; i++)
		close(c[i].fd);
	free(c);
	return found;
}

int redirect_listen(const char *uri, struct redirect *r, char *why, size_t len)
{
	r->fd = -1;
	if (parse_redirect(uri, r, why, len) != 0)
		return -1;
	r->fd = listen_on(r->port, why, len);
	if (r->fd < 0) {
		redirect_close(r);
		return -1;
	}
	return 0;
}

void redirect_close(struct redirect *r)
{
	if (r->fd >= 0)
		close(r->fd);
	curl_free(r->path);
	r->fd = -1;
	r->path = NULL;
}
