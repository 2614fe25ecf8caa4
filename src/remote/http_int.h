/* Private to http.c and http_head.c: what the parallel HEADs (http_head.c) share with single
 * requests (http.c). The rest of pinfs includes http.h only.
 *
 * http_conf is written by http_init before any thread starts and only read after. The rest
 * may be called from any thread.
 */
#ifndef PINFS_HTTP_INT_H
#define PINFS_HTTP_INT_H

#include "http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_REDIRECTS 5

/* http_init's configuration, its defaults filled in. */
extern struct http_config http_conf;

/* Waits for this request's turn under the max_rps cap (every HEAD of a round takes one). */
void http_pace(void);

/* The pause before retry number attempt + 1: growing and jittered, or the server's
 * retry_after (seconds, -1 when it named none) within a cap. */
double http_backoff_s(int attempt, double retry_after);

/* Whether an answer of this status is worth asking again under policy. */
bool http_status_retryable(long status, enum http_retry policy);

bool http_is_redirect(long status);

/* Gives e the options every handle gets: no signals, the shared caches, timeouts, only http
 * and https, and never a redirect followed by curl itself. */
void http_setup_common(CURL *e);

/* Why url may not be fetched, in why[len]; false when it may. */
bool http_url_refused(const char *url, char *why, size_t len);

/* The calling thread's multi handle, kept so that its connections serve the thread's next
 * HEADs; NULL when it cannot be made. http.c owns it: http_thread_end, http_cleanup or the
 * thread's exit frees it. */
CURLM *http_thread_multi(void);

#endif
