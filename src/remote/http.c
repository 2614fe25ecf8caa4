#include "http.h"
#include "http_int.h"

#include "log.h"
#include "blocking.h"
#include "stats.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MEM_BODY	  (32L << 20) /* an API answer larger than this is refused, not buffered */
#define MAX_BACKOFF_S	  30.0
#define MAX_RETRY_AFTER_S 60.0
/* No API or CDN URL comes near this (Pinterest's are about 100 bytes); curl itself takes up to
 * 8 MB, and a hostile answer may hold one that long. */
#define MAX_URL 65536

struct http_config http_conf;
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static pthread_key_t easy_key;	/* this thread's easy handle: its connections */
static pthread_key_t multi_key; /* this thread's multi handle for HEADs: its connections */
/* http_init made the two keys: before, a key's value would be another library's (key 0). Set
 * before any thread that sends requests starts; read-only after. */
static bool keys_made;
static __thread int last_error; /* of this thread's last http_send: see http_last_error */

/* Set by http_cancel at unmount. API calls and HEADs under way end within a second (curl's
 * progress callback, which it calls at least that often), waits end at once, and new ones are
 * refused: a background walk (pins/ of 100 000 pins is 400 pages) must not hold the exit. */
static atomic_bool cancelled;
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancel_cond; /* on CLOCK_MONOTONIC: see http_init */

/* Pacing state: the earliest time the next request may start. */
static pthread_mutex_t pace_lock = PTHREAD_MUTEX_INITIALIZER;
static double pace_next;

double http_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleeps s seconds, or less when http_cancel is called meanwhile. */
void http_sleep_s(double s)
{
	struct timespec until;
	double end;

	if (s <= 0)
		return;
	end = http_now_s() + s;
	until.tv_sec = (time_t)end;
	until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
	pthread_mutex_lock(&cancel_lock);
	while (!atomic_load(&cancelled) &&
	       pthread_cond_timedwait(&cancel_cond, &cancel_lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&cancel_lock);
}

void http_cancel(void)
{
	pthread_mutex_lock(&cancel_lock);
	atomic_store(&cancelled, true);
	pthread_cond_broadcast(&cancel_cond);
	pthread_mutex_unlock(&cancel_lock);
}

bool http_cancelled(void)
{
	return atomic_load(&cancelled);
}

/* Waits for this request's turn under the max_rps cap. Slots are handed out in order, so
 * requests are spaced 1/max_rps apart however many threads ask at once. */
void http_pace(void)
{
	double at, now = http_now_s();

	pthread_mutex_lock(&pace_lock);
	at = pace_next > now ? pace_next : now;
	/* Spaced exactly 1/N apart, N+1 requests fit a closed one-second window; 5% more room
	 * keeps any window at N, even with the server's own timing jitter. */
	if (http_conf.max_rps > 0)
		pace_next = at + 1.05 / http_conf.max_rps;
	else if (pace_next < now)
		pace_next = now;
	pthread_mutex_unlock(&pace_lock);
	http_sleep_s(at - now);
}

/* A 429 slows everyone down, not just the thread that got it. */
static void pace_hold(double seconds)
{
	double until = http_now_s() + seconds;

	pthread_mutex_lock(&pace_lock);
	if (pace_next < until)
		pace_next = until;
	pthread_mutex_unlock(&pace_lock);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *user)
{
	(void)h, (void)access, (void)user;
	pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *user)
{
	(void)h, (void)user;
	pthread_mutex_unlock(&share_locks[data]);
}

static void easy_destroy(void *easy)
{
	curl_easy_cleanup(easy);
}

static void multi_destroy(void *multi)
{
	curl_multi_cleanup(multi);
}

void http_thread_end(void)
{
	CURL *e;
	CURLM *m;

	if (!keys_made)
		return;
	e = pthread_getspecific(easy_key);
	m = pthread_getspecific(multi_key);
	if (e) {
		pthread_setspecific(easy_key, NULL);
		curl_easy_cleanup(e);
	}
	if (m) {
		pthread_setspecific(multi_key, NULL);
		curl_multi_cleanup(m);
	}
}

int http_init(const struct http_config *cfg)
{
	http_conf = *cfg;
	if (http_conf.stall_timeout_s <= 0)
		http_conf.stall_timeout_s = 30;
	/* A connection that takes longer to open than a transfer may stall is as good as dead. */
	if (http_conf.connect_timeout_s <= 0 ||
	    http_conf.connect_timeout_s > http_conf.stall_timeout_s)
		http_conf.connect_timeout_s = http_conf.stall_timeout_s;
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&cancel_cond, &ca))
		return -ENOMEM;
	pthread_condattr_destroy(&ca);
	atomic_store(&cancelled, false);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	share = curl_share_init();
	if (!share)
		return -ENOMEM;
	curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	/* DNS and TLS sessions only. A shared connection cache is not safe across threads in
	 * libcurl (curl issue 4915: a transfer touches connections another thread is using;
	 * valgrind showed one freed under a running transfer): each thread keeps its own
	 * connections, and the TLS sessions make a new one's handshake short. */
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	if (pthread_key_create(&easy_key, easy_destroy) ||
	    pthread_key_create(&multi_key, multi_destroy))
		return -ENOMEM;
	keys_made = true;
	return 0;
}

void http_cleanup(void)
{
	CURL *easy = pthread_getspecific(easy_key);
	CURLM *multi = pthread_getspecific(multi_key);

	if (easy) {
		curl_easy_cleanup(easy);
		pthread_setspecific(easy_key, NULL);
	}
	if (multi) {
		curl_multi_cleanup(multi);
		pthread_setspecific(multi_key, NULL);
	}
	if (share) {
		curl_share_cleanup(share);
		share = NULL;
	}
	curl_global_cleanup();
}

/* Loopback by name or address: "localhost", 127.0.0.0/8, [::1]. A name that merely starts
 * with "127." (127.example.com) is not: it could resolve anywhere. */
static bool loopback_host(const char *host)
{
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* Why url may not be fetched, in why[len]; false when it may. Each refusal names its own
 * cause: "only https" for a URL that is too long to parse would send the reader looking at
 * the wrong thing. */
bool http_url_refused(const char *url, char *why, size_t len)
{
	size_t n = strlen(url);
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL;
	bool refused = true;

	if (n > MAX_URL) {
		snprintf(why, len, "a URL of %zu bytes, over the %d pinfs fetches", n, MAX_URL);
		return true;
	}
	u = curl_url();
	if (!u) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, len, "not a URL with a scheme and a host");
		goto out;
	}
	refused = strcasecmp(scheme, "https") != 0 &&
		  !(strcasecmp(scheme, "http") == 0 && loopback_host(host));
	if (refused)
		snprintf(why, len, "only https, or http on loopback");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return refused;
}

bool http_url_allowed(const char *url)
{
	char why[128];

	return !http_url_refused(url, why, sizeof(why));
}

int http_last_error(void)
{
	return last_error;
}

char *http_escape(const char *s)
{
	char *c = curl_easy_escape(NULL, s, 0);
	char *out = c ? strdup(c) : NULL;

	curl_free(c);
	return out;
}

/* Options every handle gets: no signals (threads), the shared caches, timeouts, and only the
 * protocols pinfs speaks. curl never follows a redirect by itself: http_send and the HEADs
 * check each hop with http_url_allowed first, since curl's protocol list alone would let an
 * https image redirect to plain http anywhere. */
void http_setup_common(CURL *e)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SHARE, share);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, http_conf.connect_timeout_s);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, http_conf.stall_timeout_s);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pinfs/" PINFS_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http_conf.cafile)
		curl_easy_setopt(e, CURLOPT_CAINFO, http_conf.cafile);
}

static CURL *thread_easy(void)
{
	CURL *e = pthread_getspecific(easy_key);

	if (e) {
		curl_easy_reset(e);
	} else {
		e = curl_easy_init();
		if (!e)
			return NULL;
		pthread_setspecific(easy_key, e);
	}
	http_setup_common(e);
	return e;
}

/* This thread's multi handle, kept so that its connections serve the thread's next HEADs;
 * NULL when it cannot be made. */
CURLM *http_thread_multi(void)
{
	CURLM *m = pthread_getspecific(multi_key);

	if (!m && (m = curl_multi_init()) != NULL && pthread_setspecific(multi_key, m)) {
		curl_multi_cleanup(m);
		m = NULL;
	}
	return m;
}

struct sink {
	CURL *easy;
	int fd;
	char *buf;
	size_t len, cap;
	bool too_big;
	double retry_after;
	int64_t range_start, range_total; /* from Content-Range, -1 when absent */
	curl_off_t seen_dl, seen_ul;	  /* bytes moved so far, and when they last grew */
	double moved_at;
	bool stalled;
	bool cancelled; /* ended by http_cancel */
	bool ranged;	/* a Range was asked for (http_req.range_len) */
	bool unranged;	/* ... and a 2xx other than 206 came: its body was refused */
	void (*on_sink)(void *ctx);
	void *sink_ctx;
};

/* Stall detection as documented: no byte moved either way for stall_timeout_s. curl's own
 * low-speed check averages over its last five seconds, so a transfer that stops after a burst
 * would be caught up to five seconds late. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct sink *s = user;
	double now = http_now_s();

	(void)dltotal, (void)ultotal;
	/* A download into a file is its owner's to stop (cache.c keeps what it has). */
	if (s->fd < 0 && atomic_load(&cancelled)) {
		s->cancelled = true;
		return 1;
	}
	if (dlnow != s->seen_dl || ulnow != s->seen_ul) {
		s->seen_dl = dlnow;
		s->seen_ul = ulnow;
		s->moved_at = now;
		return 0;
	}
	s->stalled = now - s->moved_at >= http_conf.stall_timeout_s;
	return s->stalled;
}

static size_t first_cap(CURL *easy)
{
	curl_off_t length = -1;

	if (curl_easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) != CURLE_OK ||
	    length <= 0 || length > MAX_MEM_BODY)
		return 16384;
	return (size_t)length + 1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct sink *s = user;
	size_t n = size * nmemb;
	long status = 0;
	char *grown;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	/* Only a successful answer goes to the file; an error body is kept to be read. */
	if (s->fd >= 0 && status >= 200 && status < 300) {
		for (size_t done = 0; done < n;) {
			ssize_t w = write(s->fd, data + done, n - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return 0;
			done += w;
		}
		if (s->on_sink)
			s->on_sink(s->sink_ctx);
		return n;
	}
	/* Not the range asked for: whatever it holds is not those bytes. */
	if (s->ranged && status >= 200 && status < 300 && status != 206) {
		s->unranged = true;
		return 0;
	}
	if (s->len + n > MAX_MEM_BODY) {
		s->too_big = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		/* The answer's own length when it gives one (a listing page is 0.5 to 1 MB: one
		 * block, no copies); else doubling, so a long answer costs a few copies, not
		 * one per chunk. */
		size_t cap = s->cap ? s->cap : first_cap(s->easy);

		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > MAX_MEM_BODY + 1)
			cap = MAX_MEM_BODY + 1;
		grown = realloc(s->buf, cap);
		if (!grown)
			return 0;
		s->buf = grown;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* The value of header `name` (lower case, with its colon) in one header line, copied into
 * out; false when the line is another header. */
static bool header_value(const char *data, size_t n, const char *name, char *out, size_t cap)
{
	size_t skip = strlen(name), len;

	if (n <= skip || strncasecmp(data, name, skip) != 0)
		return false;
	len = n - skip < cap - 1 ? n - skip : cap - 1;
	memcpy(out, data + skip, len);
	out[len] = '\0';
	return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	struct sink *s = user;
	size_t n = size * nmemb;
	long long first, last, total;
	char tmp[96];

	/* Only the delay-seconds form; an HTTP date falls back to our own backoff. */
	if (header_value(data, n, "retry-after:", tmp, sizeof(tmp)))
		s->retry_after = strtod(tmp, NULL) >= 0 ? strtod(tmp, NULL) : -1;
	else if (header_value(data, n, "content-range:", tmp, sizeof(tmp)) &&
		 sscanf(tmp, " bytes %lld-%lld/%lld", &first, &last, &total) == 3) {
		s->range_start = first;
		s->range_total = total;
	}
	return n;
}

static int curl_errno(CURLcode rc, bool too_big)
{
	if (too_big)
		return -EFBIG;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ECONNREFUSED;
	/* The connection opened and then dropped with no answer (some sandboxes accept every
	 * connection and close it at once): the API is as unreachable as when refused. */
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return -ECONNRESET;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS: /* curl follows none itself; a loop is never transient */
		return -EPROTO;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return -EKEYREJECTED;
	default:
		return -EIO;
	}
}

static void rewind_sink(int fd)
{
	if (fd >= 0 && ftruncate(fd, 0) == 0)
		lseek(fd, 0, SEEK_SET);
}

/* What one exchange said beside its status and body. */
struct exchange {
	CURLcode rc;
	double retry_after; /* seconds, -1 when absent */
	char *location;	    /* where a redirect points (absolute), or NULL; caller frees */
	int sends;	    /* times curl sent the request: see on_prereq */
	bool body_failed;   /* read_body or rewind_body failed: ours, not the server's */
};

/* A streamed request body on its way (http_req.read_body). */
struct body_src {
	const struct http_req *req;
	size_t sent;
	int error; /* read_body's or rewind_body's -errno; -EIO when it ended early */
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *user)
{
	struct body_src *b = user;
	size_t want = size * nitems, left = b->req->body_len - b->sent;
	ssize_t n;

	if (left == 0)
		return 0;
	n = b->req->read_body(b->req->body_ctx, buf, want < left ? want : left);
	if (n <= 0) {
		/* Short of the Content-Length sent: the server would wait for the rest. */
		b->error = n < 0 ? (int)n : -EIO;
		return CURL_READFUNC_ABORT;
	}
	b->sent += (size_t)n;
	return (size_t)n;
}

/* curl goes back to the start when it must send the body again on its own. */
static int on_seek(void *user, curl_off_t offset, int origin)
{
	struct body_src *b = user;
	int rc;

	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	rc = b->req->rewind_body(b->req->body_ctx);
	if (rc) {
		b->error = rc;
		return CURL_SEEKFUNC_FAIL;
	}
	b->sent = 0;
	return CURL_SEEKFUNC_OK;
}

/* Gives e the request's body: req->body as it is, or read_body's from its first byte (so a
 * retry sends it whole). Returns 0 or rewind_body's -errno. */
static int set_body(CURL *e, const struct http_req *req, struct body_src *b)
{
	if (req->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		return 0;
	}
	if (!req->read_body)
		return 0;
	b->req = req;
	b->sent = 0;
	b->error = req->rewind_body(req->body_ctx);
	if (b->error)
		return b->error;
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(e, CURLOPT_READDATA, b);
	curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
	curl_easy_setopt(e, CURLOPT_SEEKDATA, b);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	return 0;
}

/* The body could not be made: no server is to blame, and sending again would not help. */
static int body_failure(int err, struct http_resp *resp, struct exchange *x)
{
	snprintf(resp->error, sizeof(resp->error), "cannot read the request body: %s",
		 strerror(-err));
	x->body_failed = true;
	return err;
}

/* curl calls it each time it is about to send the request, its own silent re-send on a reused
 * connection that died first included: a DELETE's 404 then tells whether the first one was
 * done (http_resp.attempts). */
static int on_prereq(void *user, char *remote_ip, char *local_ip, int remote_port, int local_port)
{
	(void)remote_ip, (void)local_ip, (void)remote_port, (void)local_port;
	++*(int *)user;
	return CURL_PREREQFUNC_OK;
}

/* The whole entity's length from an answer: a 206's Content-Range total, else Content-Length.
 * Returns -1 when unknown, or -2 when a 206 does not start where it was asked to. */
static int64_t full_length(long status, const struct sink *s, curl_off_t clen, int64_t resume)
{
	if (status == 206) {
		if (s->range_start != resume)
			return -2;
		return s->range_total;
	}
	return clen;
}

/* Where the answer starts: with resume > 0 the sink file keeps its first `resume` bytes and
 * only the rest is asked for; else the sink starts empty. Returns the resume asked for. */
static int64_t set_start(CURL *e, int sink_fd, int64_t resume)
{
	if (resume > 0 && sink_fd >= 0) {
		lseek(sink_fd, resume, SEEK_SET);
		curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)resume);
		return resume;
	}
	rewind_sink(sink_fd);
	return 0;
}

/* The URL, the method, and whether the request needs a connection of its own. */
static void set_request(CURL *e, const struct http_req *req, const char *url)
{
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (req->fresh) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	}
	if (req->range_len > 0 && req->sink_fd < 0) {
		char range[48];

		snprintf(range, sizeof(range), "%" PRId64 "-%" PRId64, req->range_first,
			 req->range_first + req->range_len - 1);
		curl_easy_setopt(e, CURLOPT_RANGE, range); /* curl copies it */
	}
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
}

/* The request's headers and credentials. *auth (the bearer's header, which the caller wipes
 * and frees) and *headers (the caller's to free) hold what was made, on failure too. Returns 0
 * or -ENOMEM. */
static int set_headers(CURL *e, const struct http_req *req, char **auth,
		       struct curl_slist **headers)
{
	if (req->bearer) {
		if (asprintf(auth, "Authorization: Bearer %s", req->bearer) < 0) {
			*auth = NULL;
			return -ENOMEM;
		}
		*headers = curl_slist_append(*headers, *auth);
	}
	if (req->basic) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERPWD, req->basic);
	}
	if (req->content_type) {
		char ct[128];

		snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type);
		*headers = curl_slist_append(*headers, ct);
	}
	/* curl would send "Expect: 100-continue" for large uploads and wait for it. */
	*headers = curl_slist_append(*headers, "Expect:");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *headers);
	return 0;
}

/* Where curl hands what comes back (body, headers, progress) and counts its sends. */
static void set_callbacks(CURL *e, struct sink *s, struct exchange *x)
{
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, &x->sends);
}

/* When the transfer that ended with x->rc brought no HTTP answer: -errno, resp->error saying
 * why; 0 when an answer came. */
static int transfer_failure(CURL *e, const struct sink *s, const struct body_src *b,
			    struct http_resp *resp, struct exchange *x)
{
	if (x->rc == CURLE_WRITE_ERROR && s->unranged)
		return 0; /* an answer came: take_answer gives its status, without its body */
	if (x->rc != CURLE_OK && b->error)
		return body_failure(b->error, resp, x);
	if (x->rc == CURLE_ABORTED_BY_CALLBACK && s->cancelled) {
		snprintf(resp->error, sizeof(resp->error), "cancelled: unmounting");
		return -ECANCELED;
	}
	if (x->rc == CURLE_ABORTED_BY_CALLBACK && s->stalled) {
		snprintf(resp->error, sizeof(resp->error), "no data moved for %ld s",
			 http_conf.stall_timeout_s);
		return -ETIMEDOUT;
	}
	if (x->rc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t connected = 0;

		/* curl says "Timeout was reached" for both: say which. A stalled server whose
		 * accept queue is full times out at connect. */
		curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connected);
		snprintf(resp->error, sizeof(resp->error), "%s in %ld s",
			 connected ? "no answer" : "could not connect",
			 connected ? http_conf.stall_timeout_s : http_conf.connect_timeout_s);
		return -ETIMEDOUT;
	}
	if (x->rc != CURLE_OK) {
		snprintf(resp->error, sizeof(resp->error), "%s",
			 s->too_big ? "answer larger than the cap" : curl_easy_strerror(x->rc));
		return curl_errno(x->rc, s->too_big);
	}
	return 0;
}

/* The HTTP answer that came: its status, lengths and redirect into resp and x, and the body,
 * which passes from the sink to resp. Returns 0, or -EIO when a range answer does not start
 * at resume. */
static int take_answer(CURL *e, struct sink *s, int64_t resume, struct http_resp *resp,
		       struct exchange *x)
{
	char *location = NULL;
	curl_off_t clen = -1;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
	if (curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location &&
	    resp->status >= 300 && resp->status < 400)
		x->location = strdup(location);
	resp->content_len = clen;
	resp->full_len = full_length(resp->status, s, clen, resume);
	if (resp->full_len == -2) {
		snprintf(resp->error, sizeof(resp->error), "range answer not at byte %" PRId64,
			 resume);
		return -EIO;
	}
	resp->body = s->buf;
	resp->len = s->len;
	s->buf = NULL;
	return 0;
}

/* A reused handle must not keep pointers to this call's stack or headers. */
static void unhook(CURL *e)
{
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_USERPWD, NULL);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, NULL);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, NULL);
	curl_easy_setopt(e, CURLOPT_READDATA, NULL);
	curl_easy_setopt(e, CURLOPT_SEEKDATA, NULL);
}

/* One exchange with url, never following a redirect. With resume > 0 the sink file keeps its
 * first `resume` bytes and only the rest is asked for. Returns 0 with resp filled when an HTTP
 * answer came, else -errno. */
static int perform_once(const struct http_req *req, const char *url, int64_t resume,
			struct http_resp *resp, struct exchange *x)
{
	CURL *e = thread_easy();
	struct curl_slist *headers = NULL;
	struct body_src b = {.req = req};
	struct sink s = {.easy = e,
			 .fd = req->sink_fd,
			 .retry_after = -1,
			 .range_start = -1,
			 .range_total = -1,
			 .ranged = req->range_len > 0 && req->sink_fd < 0,
			 .on_sink = req->on_sink,
			 .sink_ctx = req->sink_ctx};
	char *auth = NULL;
	int result = 0;

	if (!e)
		return -ENOMEM;
	resume = set_start(e, req->sink_fd, resume);
	if (s.ranged)
		resume = req->range_first; /* where its 206 must start */
	set_request(e, req, url);
	if (set_body(e, req, &b) != 0) {
		result = body_failure(b.error, resp, x);
		goto out;
	}
	result = set_headers(e, req, &auth, &headers);
	if (result)
		goto out;
	set_callbacks(e, &s, x);

	blocking_ahead(); /* the network: another thread reads FUSE requests meanwhile */
	http_pace();
	if (req->sink_fd < 0 && atomic_load(&cancelled)) {
		snprintf(resp->error, sizeof(resp->error), "cancelled: unmounting");
		result = -ECANCELED;
		goto out;
	}
	stats_request(req->method, url);
	s.moved_at = http_now_s();
	x->rc = curl_easy_perform(e);
	result = transfer_failure(e, &s, &b, resp, x);
	if (!result)
		result = take_answer(e, &s, resume, resp, x);
out:
	x->retry_after = s.retry_after;
	free(s.buf);
	/* The header holds the token: wipe it before it goes back to the allocator. */
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	curl_slist_free_all(headers);
	unhook(e);
	return result;
}

bool http_status_retryable(long status, enum http_retry policy)
{
	if (policy == HTTP_RETRY_NOT_DONE)
		return status == 429 || status == 503;
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static bool error_retryable(int err, enum http_retry policy)
{
	if (err == -EFBIG || err == -EPROTO || err == -ENOMEM || err == -EKEYREJECTED ||
	    err == -ECANCELED)
		return false;
	/* A POST whose connection never opened surely did nothing; any later failure may
	 * have happened after the server acted, so it is not sent again. */
	return policy == HTTP_RETRY_SAFE || err == -ECONNREFUSED;
}

double http_backoff_s(int attempt, double retry_after)
{
	double d = 0.25 * pow(2, attempt);

	if (d > MAX_BACKOFF_S)
		d = MAX_BACKOFF_S;
	d *= 0.5 + (double)random() / RAND_MAX * 0.5; /* jitter: retries do not march together */
	if (retry_after >= 0)
		d = retry_after < MAX_RETRY_AFTER_S ? retry_after : MAX_RETRY_AFTER_S;
	return d;
}

bool http_is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

void http_resp_release(struct http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* Bytes a download holds already, which the next attempt need not fetch again. */
static int64_t sink_size(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? st.st_size : 0;
}

/* The URLs one http_send has been to: a redirect back to one of them is a loop. */
struct trail {
	char *url[MAX_REDIRECTS + 1];
	int n;
};

/* Where a redirect leads, when pinfs may go there: within MAX_REDIRECTS hops, to no URL this
 * request has been to, and an allowed one. Returns 0, or -EPROTO with resp->error saying why:
 * none of these is transient, so no one asks again (a loop retried cost 36 GETs and 5.6 s). */
static int check_redirect(const struct trail *t, const char *to, struct http_resp *resp)
{
	const char *from = t->url[t->n - 1];
	char why[128];

	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->url[i], to) == 0) {
			snprintf(resp->error, sizeof(resp->error), "redirect loop back to %.200s",
				 to);
			return -EPROTO;
		}
	}
	if (t->n > MAX_REDIRECTS) {
		snprintf(resp->error, sizeof(resp->error), "more than %d redirects", MAX_REDIRECTS);
		return -EPROTO;
	}
	if (http_url_refused(to, why, sizeof(why))) {
		snprintf(resp->error, sizeof(resp->error), "redirect to a refused URL: %s", why);
		log_warn("refusing to follow %.200s to %.200s: %s", from, to, why);
		return -EPROTO;
	}
	return 0;
}

/* The first URL of a request, when pinfs may go there: 0, or -EPROTO logged. */
static int check_first(const char *url, struct http_resp *resp)
{
	char why[128];

	if (!http_url_refused(url, why, sizeof(why)))
		return 0;
	snprintf(resp->error, sizeof(resp->error), "refused URL: %s", why);
	log_warn("refusing to fetch %.200s: %s", url, why);
	return -EPROTO;
}

int http_send(const struct http_req *req, struct http_resp *resp)
{
	double t0 = http_now_s(), budget_from = t0;
	struct trail trail = {.n = 0};
	const char *url = req->url;
	bool resumable = true;
	int result;

	resp->error[0] = '\0';
	resp->attempts = 0;
	result = check_first(req->url, resp);
	if (result)
		goto out;
	url = trail.url[trail.n++] = strdup(req->url);
	if (!url) {
		result = -ENOMEM;
		goto out;
	}
	for (int attempt = 0;;) {
		struct exchange x = {.retry_after = -1};
		int64_t resume = resumable ? sink_size(req->sink_fd) : 0;
		bool again;

		http_resp_release(resp);
		resp->status = 0;
		resp->content_len = resp->full_len = -1;
		resp->error[0] = '\0';
		result = perform_once(req, url, resume, resp, &x);
		resp->attempts += x.sends;
		if (!result && req->follow && http_is_redirect(resp->status) && x.location) {
			resp->attempts = 0; /* what counts is the sends of the last URL's request */
			result = check_redirect(&trail, x.location, resp);
			if (result) {
				free(x.location);
				break;
			}
			url = trail.url[trail.n++] = x.location;
			continue; /* a hop is not an attempt */
		}
		free(x.location);
		/* A server that ignores Range sends the whole image: the next try starts over. */
		if (x.rc == CURLE_RANGE_ERROR)
			resumable = false;
		/* A download that was moving when it stalled or broke is worth resuming: it
		 * starts a new retry budget (the attempts stay bounded by max_retries). */
		if (result && resumable && sink_size(req->sink_fd) > resume)
			budget_from = http_now_s();
		again = result ? !x.body_failed && error_retryable(result, req->retry)
			       : http_status_retryable(resp->status, req->retry);
		if (!again || attempt >= http_conf.max_retries)
			break;
		double wait = http_backoff_s(attempt, x.retry_after);

		/* The retry budget: no retry starts past stall_timeout_s after the call began,
		 * so a dead server fails a system call in bounded time. */
		if (http_now_s() + wait - budget_from > http_conf.stall_timeout_s) {
			log_info("%s %.200s: %s, out of retry time", req->method, url,
				 result ? resp->error : "server busy");
			break;
		}
		stats_retry(1);
		if (resp->status == 429) {
			pace_hold(wait);
			stats_rate_wait(wait);
		}
		log_info("%s %.200s: %s, retrying in %.2f s", req->method, url,
			 result ? resp->error : "server busy", wait);
		http_sleep_s(wait);
		attempt++;
	}
	log_debug("%s %.200s -> %ld (%.0f ms)", req->method, url, resp->status,
		  (http_now_s() - t0) * 1000);
out:
	for (int i = 0; i < trail.n; i++)
		free(trail.url[i]);
	last_error = result;
	return result;
}
