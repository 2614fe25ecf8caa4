/* The local end of the browser's redirect in `pinfs login`: a one-shot HTTP listener on
 * 127.0.0.1 that waits for the request to the redirect URI and answers it with a small page.
 */
#ifndef PINFS_REDIRECT_H
#define PINFS_REDIRECT_H

#include <stddef.h>

struct redirect {
	int fd; /* the listening socket */
	long port;
	char *path; /* the redirect URI's path: requests to any other get a 404 */
};

/* Listens on 127.0.0.1 at the port of uri, which must be http://localhost or
 * http://127.0.0.1. Returns 0, or -1 with one line in why[len]. Release r with
 * redirect_close. */
int redirect_listen(const char *uri, struct redirect *r, char *why, size_t len);

/* Serves browsers until one brings the request to r's path, for up to timeout_s. Returns
 * that request's connection, to be answered with redirect_answer once the login is done,
 * and its query in *query (caller frees); or -1 with why. */
int redirect_wait(struct redirect *r, int timeout_s, char **query, char *why, size_t len);

/* Answers a connection with a page saying text (escaped here) and closes it. */
void redirect_answer(int conn, int status, const char *text);

void redirect_close(struct redirect *r);

#endif
