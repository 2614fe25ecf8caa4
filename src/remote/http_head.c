/* Parallel HEADs through curl multi (http_head_sizes): the sizes of many images at once,
 * each redirect hop checked before it is followed, paced, and retried in rounds within
 * the same retry budget. */
#include "http.h"
#include "http_int.h"

#include "log.h"
#include "blocking.h"
#include "stats.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int head_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	(void)user, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return http_cancelled();
}

static CURL *head_handle(const char *url, size_t index)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	http_setup_common(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)index);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, head_progress);
	return e;
}

/* Whether a HEAD may go on from one hop to the next. A refusal is logged with its own cause,
 * and is for good: asking again would get the same answer. A loop through several URLs ends
 * at the hop limit (a HEAD keeps no trail of them). */
static bool head_may_follow(const char *from, const char *to, int hops)
{
	char why[128];

	if (from && strcmp(from, to) == 0)
		snprintf(why, sizeof(why), "a redirect loop");
	else if (hops > MAX_REDIRECTS)
		snprintf(why, sizeof(why), "more than %d redirects", MAX_REDIRECTS);
	else if (!http_url_refused(to, why, sizeof(why)))
		return true;
	log_warn("refusing to follow %.200s to %.200s: %s", from ? from : "?", to, why);
	return false;
}

/* One HEAD of a round is over. Returns a handle for the next hop of a redirect that may be
 * followed, or NULL; *failed says whether the size is worth asking again next round. */
static CURL *head_done(CURL *e, CURLcode rc, int64_t *sizes, unsigned char *hops, bool *failed)
{
	void *priv;
	long status = 0;
	curl_off_t clen = -1;
	char *eff = NULL, *location = NULL;
	size_t i;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
	i = (size_t)priv;
	*failed = false;
	if (rc == CURLE_OK && status >= 200 && status < 300 && clen >= 0) {
		sizes[i] = clen;
		return NULL;
	}
	if (rc == CURLE_OK && !http_is_redirect(status) &&
	    !http_status_retryable(status, HTTP_RETRY_SAFE)) {
		/* A definite answer (a 404 for an image whose pin was just deleted): asking
		 * again would get the same one. The size stays unknown. */
		return NULL;
	}
	if (rc != CURLE_OK || !http_is_redirect(status) ||
	    curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &location) != CURLE_OK || !location) {
		*failed = true;
		return NULL;
	}
	curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff);
	if (!head_may_follow(eff, location, ++hops[i]))
		return NULL;
	return head_handle(location, i);
}

/* One round over the indexes in todo[0..n): returns how many still failed, compacted at the
 * front of todo. */
struct head_news {
	http_size_fn learnt;
	void *ctx;
};

static size_t head_round(const char *const *urls, size_t *todo, size_t n, int64_t *sizes,
			 unsigned char *hops, int parallel, const struct head_news *news)
{
	CURLM *m = http_thread_multi();
	size_t next = 0, running = 0, failed = 0;
	size_t *fails = malloc((n ? n : 1) * sizeof(*fails));

	if (!m || !fails) {
		free(fails);
		return n;
	}
	blocking_ahead();
	for (;;) {
		while (running < (size_t)parallel && next < n && !http_cancelled()) {
			char why[128];
			CURL *e;

			if (http_url_refused(urls[todo[next]], why, sizeof(why))) {
				/* Refused for good: not worth another round. */
				log_warn("refusing to fetch %.200s: %s", urls[todo[next++]], why);
				continue;
			}
			e = head_handle(urls[todo[next]], todo[next]);
			if (!e) {
				fails[failed++] = todo[next++];
				continue;
			}
			http_pace();
			stats_request("HEAD", urls[todo[next]]);
			curl_multi_add_handle(m, e);
			running++;
			next++;
		}
		if (running == 0)
			break;
		int still;

		curl_multi_perform(m, &still);
		CURLMsg *msg;
		int left;

		while ((msg = curl_multi_info_read(m, &left))) {
			CURL *e = msg->easy_handle, *hop;
			CURLcode rc = msg->data.result;
			void *priv;
			bool bad;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
			hop = head_done(e, rc, sizes, hops, &bad);
			if (bad)
				fails[failed++] = (size_t)priv;
			else if (!hop && sizes[(size_t)priv] >= 0 && news->learnt)
				news->learnt((size_t)priv, sizes[(size_t)priv], news->ctx);
			curl_multi_remove_handle(m, e);
			curl_easy_cleanup(e);
			running--;
			if (hop) {
				http_pace();
				stats_request("HEAD", urls[(size_t)priv]);
				curl_multi_add_handle(m, hop);
				running++;
			}
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	memcpy(todo, fails, failed * sizeof(*todo));
	free(fails);
	return failed;
}

size_t http_head_sizes(const char *const *urls, size_t n, int64_t *sizes, int parallel,
		       http_size_fn on_size, void *ctx)
{
	struct head_news news = {on_size, ctx};
	size_t *todo = malloc((n ? n : 1) * sizeof(*todo));
	unsigned char *hops = calloc(n ? n : 1, 1);
	size_t left = n, learnt = 0;
	double t0 = http_now_s();

	if (!todo || !hops) {
		free(todo);
		free(hops);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		todo[i] = i;
		sizes[i] = -1;
	}
	for (int attempt = 0; left > 0; attempt++) {
		double wait;

		left =
		    head_round(urls, todo, left, sizes, hops, parallel > 0 ? parallel : 1, &news);
		if (left == 0 || attempt >= http_conf.max_retries || http_cancelled())
			break;
		/* The same retry budget as http_send: a dead server costs one stall, not six. */
		wait = http_backoff_s(attempt, -1);
		if (http_now_s() + wait - t0 > http_conf.stall_timeout_s)
			break;
		stats_retry((unsigned)left);
		http_sleep_s(wait);
	}
	for (size_t i = 0; i < n; i++)
		learnt += sizes[i] >= 0;
	free(todo);
	free(hops);
	return learnt;
}
