#include "media.h"

#include "api.h"
#include "blocking.h"
#include "http.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)
/* A big upload's progress is logged (info) this often. */
#define PROGRESS_S 5.0
/* Polls of GET /media/{id}: the first at once, then pauses growing from FIRST to MOST. */
#define POLL_FIRST_S 0.5
#define POLL_MOST_S  5.0
/* After a lost upload answer, how long "registered" may last before the file is taken as
 * never arrived: Pinterest sees an upload within seconds. */
#define LOST_GRACE_S 30.0

void media_release(struct media *m)
{
	free(m->id);
	free(m->upload_url);
	cJSON_Delete(m->params);
	m->id = m->upload_url = NULL;
	m->params = NULL;
}

static bool digits(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* ---- POST /media ---- */

int media_register(const char *name, struct media *m)
{
	cJSON *body = cJSON_CreateObject(), *answer = NULL, *params;
	const cJSON *id, *url;
	int result;

	memset(m, 0, sizeof(*m));
	if (!body || !cJSON_AddStringToObject(body, "media_type", "video")) {
		cJSON_Delete(body);
		return -ENOMEM;
	}
	result = api_call("POST", "/media", body, &answer);
	cJSON_Delete(body);
	if (result) /* api_call logged the cause */
		return result == -ENOENT ? -EIO : result;
	id = cJSON_GetObjectItemCaseSensitive(answer, "media_id");
	url = cJSON_GetObjectItemCaseSensitive(answer, "upload_url");
	params = cJSON_DetachItemFromObjectCaseSensitive(answer, "upload_parameters");
	if (!cJSON_IsString(id) || !digits(id->valuestring) || !cJSON_IsString(url) ||
	    !cJSON_IsObject(params)) {
		log_warn("upload of \"%s\": POST /media answered without media_id, upload_url or "
			 "upload_parameters",
			 name);
		result = -EIO;
	} else if (!(m->id = strdup(id->valuestring)) ||
		   !(m->upload_url = strdup(url->valuestring))) {
		result = -ENOMEM;
	} else {
		m->params = params;
		params = NULL;
		log_info("upload of \"%s\": media %s registered", name, m->id);
	}
	cJSON_Delete(params);
	cJSON_Delete(answer);
	if (result)
		media_release(m);
	return result;
}

/* ---- the multipart body, made while it is sent ---- */

struct form {
	char *head; /* every field, then the file part's own header */
	size_t head_len;
	char tail[80]; /* the end of the file part and of the form */
	size_t tail_len;
	const struct media_file *f;
	int64_t pos, len; /* the next byte of the body, and its length */
	int read_error;	  /* a pread that failed: the request never went whole */
	double started, logged;
};

/* A boundary no field holds: 128 random bits, so the file's bytes hold it by chance only. */
static int make_boundary(char *out, size_t len)
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	snprintf(out, len, "pinfs-");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + strlen(out), len - strlen(out), "%02x", raw[i]);
	return 0;
}

/* A field name that fits a Content-Disposition's quoted name as it is. */
static bool plain_name(const char *s)
{
	return *s && !strpbrk(s, "\"\\\r\n");
}

/* The form's fields and the file part's header, into f->head. Returns 0, or -EIO (logged)
 * for upload_parameters pinfs cannot send as they are. */
static int form_head(struct form *fm, const cJSON *params, const char *boundary, const char *name)
{
	const char *ext = strcmp(fm->f->content_type, "video/quicktime") == 0 ? "mov" : "mp4";
	FILE *out = open_memstream(&fm->head, &fm->head_len);
	const cJSON *p;
	int result = 0;

	if (!out)
		return -ENOMEM;
	cJSON_ArrayForEach(p, params)
	{
		if (strcasecmp(p->string, "Content-Type") == 0)
			continue; /* the request's own type: multipart/form-data */
		/* Only the field's name is said, never its value: they are signed secrets. */
		if (!cJSON_IsString(p) || !plain_name(p->string) ||
		    strstr(p->valuestring, boundary)) {
			log_warn(
			    "upload of \"%s\": upload_parameters field \"%.64s\" cannot be sent",
			    name, plain_name(p->string) ? p->string : "?");
			result = -EIO;
			break;
		}
		fprintf(out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
			boundary, p->string, p->valuestring);
	}
	fprintf(out,
		"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"video.%s\"\r\n"
		"Content-Type: %s\r\n\r\n",
		boundary, ext, fm->f->content_type);
	if (fclose(out) != 0 && !result)
		result = -ENOMEM;
	return result;
}

static int form_rewind(void *ctx)
{
	struct form *fm = ctx;

	fm->pos = 0;
	return 0;
}

static void form_progress(struct form *fm)
{
	double now = http_now_s();

	if (now - fm->logged < PROGRESS_S)
		return;
	fm->logged = now;
	log_info("upload of \"%s\": %.1f of %.1f MiB sent", fm->f->name,
		 (double)(fm->pos - (int64_t)fm->head_len) / MIB, (double)fm->f->size / MIB);
}

/* The fewer of a (bytes left in a piece, >= 0) and b. */
static size_t least(int64_t a, size_t b)
{
	return (uint64_t)a < b ? (size_t)a : b;
}

/* http.h's read_body: the next bytes of head, file and tail, wherever pos is. */
static ssize_t form_read(void *ctx, char *buf, size_t size)
{
	struct form *fm = ctx;
	int64_t head = (int64_t)fm->head_len, file_end = head + fm->f->size;
	size_t done = 0;

	while (done < size && fm->pos < fm->len) {
		size_t n;

		if (fm->pos < head) {
			n = least(head - fm->pos, size - done);
			memcpy(buf + done, fm->head + fm->pos, n);
		} else if (fm->pos < file_end) {
			ssize_t r;

			n = least(file_end - fm->pos, size - done);
			r = pread(fm->f->fd, buf + done, n, fm->pos - head);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				fm->read_error = r < 0 ? -errno : -EIO;
				return fm->read_error;
			}
			n = (size_t)r;
		} else {
			n = least(fm->len - fm->pos, size - done);
			memcpy(buf + done, fm->tail + (fm->pos - file_end), n);
		}
		fm->pos += (int64_t)n;
		done += n;
	}
	form_progress(fm);
	return (ssize_t)done;
}

/* ---- the upload ---- */

/* The storage host's own word for a refusal (S3's <Code>), into out; empty when none. */
static void storage_code(const struct http_resp *r, char *out, size_t len)
{
	const char *s = r->body ? strstr(r->body, "<Code>") : NULL;
	size_t n = 0;

	if (s)
		for (s += 6; n + 1 < len && ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
					     (*s >= '0' && *s <= '9'));
		     s++)
			out[n++] = *s;
	out[n] = '\0';
}

/* What an answer or a failure of the upload means: 0, or -errno logged; *lost as in
 * media_upload. */
static int upload_outcome(const struct form *fm, int result, const struct http_resp *r, bool *lost)
{
	const char *name = fm->f->name;
	char code[48];

	if (result == -ECANCELED)
		return result;
	if (result && fm->read_error) {
		log_warn("upload of \"%s\": cannot read the file (%s)", name,
			 strerror(-fm->read_error));
		return -EIO;
	}
	if (result) {
		/* A refused connection never reached the host; anything later may have. */
		*lost = result != -ECONNREFUSED && result != -EPROTO;
		log_msg(*lost ? LOG_LVL_INFO : LOG_LVL_WARN,
			"upload of \"%s\": the storage host's answer %s (%s)%s", name,
			*lost ? "was lost" : "never came", r->error,
			*lost ? "; asking Pinterest whether the file arrived" : "");
		return -EIO;
	}
	if (r->status >= 200 && r->status < 300)
		return 0;
	storage_code(r, code, sizeof(code));
	log_warn("upload of \"%s\": the storage host refused the file: HTTP %ld%s%s", name,
		 r->status, code[0] ? " " : "", code);
	if (r->status == 429 || r->status == 503)
		return -EAGAIN;
	return r->status == 413 ? -EFBIG : -EIO;
}

int media_upload(const struct media *m, const struct media_file *f, bool *lost)
{
	struct form fm = {.f = f};
	struct http_resp resp = {0};
	char boundary[48], type[96];
	int result;

	*lost = false;
	result = make_boundary(boundary, sizeof(boundary));
	if (!result)
		result = form_head(&fm, m->params, boundary, f->name);
	if (result)
		goto out;
	fm.tail_len = (size_t)snprintf(fm.tail, sizeof(fm.tail), "\r\n--%s--\r\n", boundary);
	fm.len = (int64_t)fm.head_len + f->size + (int64_t)fm.tail_len;
	snprintf(type, sizeof(type), "multipart/form-data; boundary=%s", boundary);
	struct http_req req = {
	    .method = "POST",
	    .url = m->upload_url,
	    /* A storage host, not the API: the Pinterest token never goes there. The signed
	     * fields in the body are its credentials. */
	    .bearer = NULL,
	    .basic = NULL,
	    .content_type = type,
	    .body_len = (size_t)fm.len,
	    .read_body = form_read,
	    .rewind_body = form_rewind,
	    .body_ctx = &fm,
	    .sink_fd = -1,
	    /* Sent once: curl's silent re-send on a reused connection would be a second. */
	    .fresh = true,
	    .retry = HTTP_RETRY_NOT_DONE,
	};

	log_info("upload of \"%s\": sending %.1f MiB to Pinterest's storage", f->name,
		 (double)f->size / MIB);
	fm.started = fm.logged = http_now_s();
	result = http_send(&req, &resp);
	result = upload_outcome(&fm, result, &resp, lost);
	if (!result)
		log_info("upload of \"%s\": %.1f MiB sent in %.1f s", f->name,
			 (double)f->size / MIB, http_now_s() - fm.started);
out:
	http_resp_release(&resp);
	free(fm.head);
	return result;
}

/* ---- GET /media/{id} ---- */

/* The upload's status now, into buf: "registered", "processing", "succeeded", "failed"
 * (or another word a later API may use). Returns 0 or the call's -errno, logged. */
static int media_status(const char *id, char *buf, size_t len)
{
	char path[96];
	cJSON *answer = NULL;
	const cJSON *st;
	int result;

	snprintf(path, sizeof(path), "/media/%s", id);
	result = api_call("GET", path, NULL, &answer);
	st = cJSON_GetObjectItemCaseSensitive(answer, "status");
	if (!result && !cJSON_IsString(st)) {
		log_warn("GET /media/%s: answer without a status", id);
		result = -EIO;
	}
	if (!result)
		snprintf(buf, len, "%s", st->valuestring);
	cJSON_Delete(answer);
	return result;
}

int media_wait(const struct media *m, double wait_s, bool lost, const char *name, bool *arrived)
{
	double start = http_now_s(), pause = POLL_FIRST_S;
	double grace = LOST_GRACE_S < wait_s ? LOST_GRACE_S : wait_s;
	char status[32], last[32] = "";
	bool seen = false;
	int result;

	for (;;) {
		double now;

		result = media_status(m->id, status, sizeof(status));
		if (result) {
			/* api_call logged why, but a 404 (an ordinary look-up's answer) */
			if (result == -ENOENT)
				log_warn("upload of \"%s\": no media %s at Pinterest", name, m->id);
			result = result == -EAGAIN || result == -ECANCELED ? result : -EIO;
			break;
		}
		seen = seen || strcmp(status, "registered") != 0;
		if (strcmp(status, last) != 0)
			log_info("upload of \"%s\": media %s %s", name, m->id, status);
		snprintf(last, sizeof(last), "%s", status);
		if (strcmp(status, "succeeded") == 0) {
			log_info("upload of \"%s\": the video is ready after %.1f s", name,
				 http_now_s() - start);
			break;
		}
		if (strcmp(status, "failed") == 0) {
			log_warn("upload of \"%s\": Pinterest could not process the video (media "
				 "%s failed)",
				 name, m->id);
			result = -EIO;
			break;
		}
		now = http_now_s();
		if (lost && !seen && now - start >= grace) {
			log_warn(
			    "upload of \"%s\": the storage host's answer was lost and Pinterest "
			    "has not received the file after %.0f s; not sent again",
			    name, now - start);
			result = -EIO;
			break;
		}
		if (now - start >= wait_s) {
			log_warn("upload of \"%s\": media %s is still %s after %.0f s (-o "
				 "video_wait); no pin made",
				 name, m->id, status, now - start);
			result = -EIO;
			break;
		}
		blocking_ahead(); /* a wait: another thread reads FUSE requests meanwhile */
		http_sleep_s(pause < start + wait_s - now ? pause : start + wait_s - now);
		if (http_cancelled()) {
			result = -ECANCELED;
			break;
		}
		pause = pause * 2 < POLL_MOST_S ? pause * 2 : POLL_MOST_S;
	}
	if (arrived)
		*arrived = seen;
	return result;
}
