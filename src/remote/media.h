/* Pinterest's media uploads, how a video becomes a pin's media (API v5, "media" tag):
 * POST /media registers the intent and names where the file goes (upload_url) with the signed
 * form fields to send beside it (upload_parameters); the file goes there as
 * multipart/form-data, read from its staging file while it is sent; GET /media/{id} then says
 * when Pinterest has processed it. upload.c makes the pin of it (POST /pins with video_id).
 *
 * The upload goes to a storage host, not to the API: it never carries the Pinterest token
 * (http.h's request is made without one), and upload_parameters (a signed policy, a
 * temporary credential) are never logged.
 *
 * Thread-safe: each call works on its caller's struct media alone.
 */
#ifndef PINFS_MEDIA_H
#define PINFS_MEDIA_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* A registered upload. Owned by its caller; media_release frees what it holds. */
struct media {
	char *id;	  /* media_id: digits only */
	char *upload_url; /* where the file goes: checked by http.h's rules (https, or loopback) */
	cJSON *params;	  /* upload_parameters: the form's fields, secrets among them */
};

void media_release(struct media *m);

/* POST /media {"media_type": "video"}. name: what log lines call the file. Returns 0 with m
 * filled, the API's -errno (-EAGAIN when rate limited past the retries), or -EIO for an
 * answer without media_id, upload_url or upload_parameters; logged once. A registration whose
 * answer was lost costs nothing: it is never used, and nothing is looked for. */
int media_register(const char *name, struct media *m);

/* The file to send: fd is read with pread only (the caller's, left open), size bytes. */
struct media_file {
	int fd;
	int64_t size;
	const char *content_type; /* "video/mp4", "video/quicktime" */
	const char *name;	  /* for log lines */
};

/* POSTs the file to m->upload_url as multipart/form-data: every field of upload_parameters in
 * their order (but "Content-Type", which names the request's own type), then the file as
 * `file`, streamed from f->fd: memory stays flat whatever the size. Sent once: again only when
 * the storage host surely did nothing (a connection refused, 429, 503). Returns 0 when the
 * host took the file (2xx); otherwise -errno, logged once: -EAGAIN (rate limited), -EFBIG (413),
 * -EIO. *lost is set when the answer was lost after the request may have arrived (the
 * connection dropped or stalled on the way): only GET /media/{id} can tell then (media_wait). */
int media_upload(const struct media *m, const struct media_file *f, bool *lost);

/* Polls GET /media/{id} until its status is "succeeded", with a growing pause between polls
 * (half a second, up to 5 s), for at most wait_s seconds. lost: media_upload's answer was lost,
 * so "registered" means the file may never have arrived: past a grace (30 s, within wait_s)
 * that is a failure, and the file is never sent again. *arrived (may be NULL) says whether a
 * status showed the file at Pinterest. Returns 0, -EIO on "failed", on the time-out or on a
 * lost upload that never arrived (the reason logged once), the call's -errno when a poll
 * fails (-EAGAIN when rate limited past the retries), -ECANCELED at unmount. */
int media_wait(const struct media *m, double wait_s, bool lost, const char *name, bool *arrived);

#endif
