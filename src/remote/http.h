/* HTTP over libcurl: one easy handle per thread sharing one connection pool, pacing to a
 * requests-per-second cap, bounded retries with backoff, and parallel HEADs through curl multi.
 *
 * Nothing here knows Pinterest; api.c builds on it. Tokens are passed in and never logged.
 */
#ifndef PINFS_HTTP_H
#define PINFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_config {
	long connect_timeout_s; /* to open a connection; at most stall_timeout_s */
	long stall_timeout_s;	/* a transfer with no byte moving for this long fails; also the
				 * retry budget: no retry starts later than this after the first */
	double max_rps;		/* 0: no cap */
	int max_retries;	/* extra attempts after the first, for retryable failures */
	const char *cafile;	/* NULL: the system's CAs */
};

/* Call once before any thread starts, and http_cleanup once at exit. Returns 0 or -errno. */
int http_init(const struct http_config *cfg);
void http_cleanup(void);

/* Frees the calling thread's connections now rather than at its exit. A detached thread that
 * sent requests calls it before it says it is done: whoever waits for that may go on to
 * http_cleanup, whose shared state must not be in use by a thread still on its way out.
 * Nothing before http_init (a unit test's tree, whose listings come from memory). */
void http_thread_end(void);

enum http_retry {
	HTTP_RETRY_SAFE,     /* GET, HEAD, PATCH, DELETE: retried on transport errors, 429, 5xx */
	HTTP_RETRY_NOT_DONE, /* POST: retried only when the server surely did nothing (429, 503) */
};

struct http_req {
	const char *method; /* "GET", "POST", "PATCH", "DELETE", "HEAD" */
	const char *url;
	const char *bearer;	  /* access token, or NULL */
	const char *basic;	  /* "user:password" for Basic auth, or NULL */
	const char *content_type; /* of body, or NULL */
	const char *body;	  /* request body, or NULL */
	size_t body_len;	  /* of body, or of the body read_body makes */
	/* A body made while it is sent, when body is NULL: read_body puts up to size next
	 * bytes into buf and returns how many, or -errno; body_len bytes exactly, sent with
	 * that Content-Length, so it never holds the whole body. rewind_body starts it over
	 * at byte 0 (before each attempt, and when curl must send it again); 0 or -errno.
	 * Both are called in the sending thread, with body_ctx. */
	ssize_t (*read_body)(void *ctx, char *buf, size_t size);
	int (*rewind_body)(void *ctx);
	void *body_ctx;
	int sink_fd; /* >= 0: the answer body is written there instead of memory */
	/* Called in the sending thread each time bytes were written to sink_fd (may be NULL):
	 * lets readers of the file wait for bytes instead of polling its size. */
	void (*on_sink)(void *ctx);
	void *sink_ctx;
	/* range_len > 0: only bytes [range_first, range_first + range_len) are asked for, with
	 * Range, into memory (sink_fd < 0). A 206 must start at range_first (else -EIO); any
	 * other 2xx keeps no body (its transfer ends at its first byte, resp.len 0), so a server
	 * that ignores Range costs one packet, not the whole entity. */
	int64_t range_first, range_len;
	bool follow; /* follow redirects (image CDNs); API calls do not */
	bool fresh;  /* own connection: curl re-sends a request silently when a
		      * reused connection dies first, which a POST must never be */
	enum http_retry retry;
};

/* An answer. Release with http_resp_release. */
struct http_resp {
	long status; /* 0 when no HTTP answer came */
	char *body;  /* NUL-terminated answer body (memory sink), or NULL */
	size_t len;
	int64_t content_len; /* Content-Length, or -1 */
	int64_t full_len;    /* the whole entity: a resumed download's Content-Range total,
			      * else Content-Length; -1 when unknown */
	char error[256];     /* why, when status is 0 */
	int attempts;	     /* times the request was sent (curl's own re-sends included) */
};

void http_resp_release(struct http_resp *resp);

/* Sends req, retrying as req->retry allows, and fills resp. Returns 0 when an HTTP answer came
 * (whatever its status), -ETIMEDOUT, -ECONNREFUSED, -EPROTO (a refused URL or redirect, a
 * redirect loop or more than 5 redirects: never retried), read_body's -errno (not retried),
 * -EKEYREJECTED (the server's TLS certificate is not trusted), -EFBIG (answer over the cap),
 * -ECANCELED (http_cancel) or -EIO otherwise; resp->error then says why. */
int http_send(const struct http_req *req, struct http_resp *resp);

/* At unmount: API calls and HEADs under way end soon with -ECANCELED (within a second),
 * and later ones fail so at once; waits (pacing, retry pauses) end. Downloads into a file
 * (sink_fd >= 0) go on: their owner stops them. For good: the process is ending. */
void http_cancel(void);

/* Whether http_cancel was called: failures since are no news worth a warning. */
bool http_cancelled(void);

/* Seconds on CLOCK_MONOTONIC. */
double http_now_s(void);

/* Sleeps s seconds, or less when http_cancel is called meanwhile (a poll's pause). */
void http_sleep_s(double s);

/* What the calling thread's last http_send returned: its transport error, or 0. Lets a caller
 * that reports every failure as EIO still tell the user why. */
int http_last_error(void);

/* HEADs in flight at once when a folder's image sizes are learnt (the tree's and the generated
 * folders' sweeps): the whole program's one number for it. */
#define HTTP_HEAD_PARALLEL 16

/* Called (in the caller's thread) as each size is learnt, before http_head_sizes returns. */
typedef void (*http_size_fn)(size_t i, int64_t size, void *ctx);

/* HEADs urls[0..n), up to `parallel` at a time, and stores each Content-Length in sizes[i]
 * (-1 where it could not be learnt); on_size (may be NULL) hears of each as it comes. A
 * failed transfer or a 429/5xx is asked again, within the retry budget; any other answer is
 * final. Returns how many sizes were learnt; logs nothing, as only the caller knows whether
 * an image still matters (its pin may have been deleted meanwhile). */
size_t http_head_sizes(const char *const *urls, size_t n, int64_t *sizes, int parallel,
		       http_size_fn on_size, void *ctx);

/* True when url may be fetched at all: https anywhere, http only on loopback. */
bool http_url_allowed(const char *url);

/* Percent-encodes s for a query string or path segment. Caller frees. */
char *http_escape(const char *s);

#endif
