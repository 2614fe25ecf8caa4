#include "commit.h"

#include "dirs.h"
#include "edit.h"
#include "local.h"
#include "log.h"
#include "names.h"
#include "textcheck.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char jpeg_start[] = {0xff, 0xd8, 0xff};
static const unsigned char png_start[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* True when the n bytes at head begin as sig does (all of sig, or all of head when shorter). */
static bool starts(const unsigned char *head, size_t n, const unsigned char *sig, size_t len)
{
	return memcmp(head, sig, n < len ? n : len) == 0;
}

/* A JPEG's segments from SOI to its first SOS: each says its length, so a file cut inside one
 * (an EXIF thumbnail with an EOI of its own, say) is found partial. After SOS only the EOI
 * marker (FF D9, which entropy-coded data cannot hold) may end the file. */
static int jpeg_whole(int fd, off_t size)
{
	unsigned char m[4], tail[64];
	off_t at = 2;
	size_t t;

	for (;;) {
		if (at + 4 > size || pread(fd, m, 4, at) != 4)
			return TEXT_PARTIAL;
		if (m[0] != 0xff)
			return TEXT_BROKEN;
		if (m[1] == 0xff) { /* fill bytes before a marker */
			at++;
			continue;
		}
		if (m[1] == 0xda) /* SOS: the image data follow */
			break;
		at += 2 + (m[2] << 8 | m[3]);
	}
	t = size < (off_t)sizeof(tail) ? (size_t)size : sizeof(tail);
	if (pread(fd, tail, t, size - t) != (ssize_t)t)
		return -EIO;
	/* Some writers pad after the EOI. */
	for (size_t i = t; i >= 2; i--)
		if (tail[i - 2] == 0xff && tail[i - 1] == 0xd9)
			return TEXT_WHOLE;
	return TEXT_PARTIAL;
}

/* A PNG's chunks, each with its length, up to IEND, which must end the file. */
static int png_whole(int fd, off_t size)
{
	unsigned char c[8];
	off_t at = 8;

	for (;;) {
		uint32_t len;

		if (at + 12 > size || pread(fd, c, 8, at) != 8)
			return TEXT_PARTIAL;
		len = (uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3];
		at += 12 + (off_t)len;
		if (memcmp(c + 4, "IEND", 4) == 0)
			return at <= size ? TEXT_WHOLE : TEXT_PARTIAL;
	}
}

/* The top-level box types an MP4 or QuickTime file may start with: ftyp, or in an old
 * QuickTime file any of the others. */
static bool bmff_start(const unsigned char *head, size_t n)
{
	static const char *const types[] = {"ftyp", "moov", "mdat", "free", "skip", "wide", "pnot"};

	if (n < 8)
		return false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (memcmp(head + 4, types[i], 4) == 0)
			return true;
	return false;
}

/* An MP4 or QuickTime file's top-level boxes, each with its length (32 bits, or 64 after a
 * length of 1; 0: to the file's end), must end exactly at the file's end, and one of them be
 * the movie header (moov), which a writer may put last. */
static int bmff_whole(int fd, off_t size)
{
	unsigned char b[16];
	bool moov = false;
	off_t at = 0;

	/* Real files have a few boxes; a fragmented one a few per second of video. */
	for (long n = 0; n < 10000000; n++) {
		uint64_t len;

		if (at == size)
			return moov ? TEXT_WHOLE : TEXT_PARTIAL;
		if (at + 8 > size || pread(fd, b, 8, at) != 8)
			return TEXT_PARTIAL;
		len = (uint64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
		moov = moov || memcmp(b + 4, "moov", 4) == 0;
		if (len == 0) /* the last box, to the end of the file */
			return moov ? TEXT_WHOLE : TEXT_PARTIAL;
		if (len == 1) {
			if (at + 16 > size || pread(fd, b + 8, 8, at + 8) != 8)
				return TEXT_PARTIAL;
			len = 0;
			for (int i = 8; i < 16; i++)
				len = len << 8 | b[i];
			if (len < 16)
				return TEXT_BROKEN;
		} else if (len < 8) {
			return TEXT_BROKEN;
		}
		if (len > (uint64_t)(size - at))
			return TEXT_PARTIAL;
		at += (off_t)len;
	}
	return TEXT_WHOLE; /* past any real file's count: libmagic and Pinterest judge it */
}

/* Whether the picture or video at staging has come whole: TEXT_PARTIAL when empty, or a JPEG,
 * PNG, MP4 or QuickTime file whose structure runs past the bytes written so far; TEXT_BROKEN
 * when it starts as none of them, for upload_check to name; TEXT_WHOLE otherwise. -errno when
 * it cannot be read. */
static int media_whole(const char *staging)
{
	unsigned char head[8];
	int fd = open(staging, O_RDONLY | O_CLOEXEC), result = TEXT_PARTIAL;
	struct stat st;
	size_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		result = -errno;
		goto out;
	}
	if (st.st_size == 0)
		goto out;
	n = st.st_size < (off_t)sizeof(head) ? (size_t)st.st_size : sizeof(head);
	if (pread(fd, head, n, 0) != (ssize_t)n)
		result = -EIO;
	else if (starts(head, n, png_start, sizeof(png_start)))
		result = png_whole(fd, st.st_size);
	else if (starts(head, n, jpeg_start, sizeof(jpeg_start)))
		result = jpeg_whole(fd, st.st_size);
	else if (bmff_start(head, n))
		result = bmff_whole(fd, st.st_size);
	else
		result = TEXT_BROKEN;
out:
	close(fd);
	return result;
}

/* The text of a local file (a sidecar copied in before its image), parsed; NULL when there is
 * none or it is not a JSON object. Caller deletes. */
static cJSON *local_json(const char *path)
{
	unsigned long id;
	int fd = local_open(path, O_RDONLY, &id);
	char *text = NULL;
	size_t len = 0;
	cJSON *j = NULL;

	if (fd < 0)
		return NULL;
	/* A sidecar is far smaller; anything larger is not one. */
	if (dirs_read_all(fd, 1 << 20, &text, &len) == 0)
		j = cJSON_ParseWithLength(text, len);
	close(fd);
	free(text);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* A string field of j, or NULL. */
static const char *field(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Uploads the local file at from as a pin at to (the same path but for a rename), with the
 * text its writer set as attributes, else that of a sidecar copied in beside it first (cp -r
 * of a board within the mount may copy x.json before x.jpg), which then goes. */
static int upload(const char *from, const char *to, const char *staging)
{
	char *text[LOCAL_TEXT_FIELDS], sidecar[PATH_MAX];
	int result = local_text(from, text);
	cJSON *copied = NULL;

	snprintf(sidecar, sizeof(sidecar), "%.*s.json", (int)names_strip_ext(to, NULL), to);
	if (!result && local_exists(sidecar))
		copied = local_json(sidecar);
	if (!result) {
		struct pin_text pt = {
		    text[0] ? text[0] : field(copied, "title"),
		    text[1] ? text[1] : field(copied, "description"),
		    text[2] ? text[2] : field(copied, "link"),
		    text[3] ? text[3] : field(copied, "alt_text"),
		};

		result = edit_upload(to, staging, &pt);
	}
	if (!result && copied)
		local_unlink(sidecar);
	cJSON_Delete(copied);
	for (int i = 0; i < LOCAL_TEXT_FIELDS; i++)
		free(text[i]);
	return result;
}

/* The staging file of the local file at path, into staging, and how whole its bytes are
 * (media_whole), or -errno. */
static int staged(const char *path, char staging[PATH_MAX])
{
	int result = local_staging(path, staging, PATH_MAX);

	return result ? result : media_whole(staging);
}

int commit_upload(const char *path, bool last, bool *pending)
{
	char staging[PATH_MAX];
	int state = staged(path, staging), result;

	*pending = state == TEXT_PARTIAL && !last;
	if (state == TEXT_PARTIAL) {
		if (last)
			log_warn("%s: closed before it was a whole picture or video; it stays a "
				 "local file, not a pin",
				 path);
		return 0;
	}
	result = state < 0 ? state : upload(path, path, staging);
	/* Uploaded or refused, the local copy goes: the user's source file is untouched. */
	local_unlink(path);
	return result;
}

int commit_too_big(const char *path)
{
	log_warn("%s: a write past 2 GiB was refused (File too large): no pin can hold it, and "
		 "nothing was sent",
		 path);
	local_unlink(path);
	return -EFBIG;
}

int commit_rename(const char *from, const char *to)
{
	char staging[PATH_MAX];
	int state = staged(from, staging), result;

	if (state == TEXT_PARTIAL) {
		/* A rename is the writer's last word: what is there now is all there is. */
		log_warn("%s: not a whole picture or video, not uploaded", from);
		return -EMEDIUMTYPE;
	}
	result = state < 0 ? state : upload(from, to, staging);
	if (!result)
		local_unlink(from);
	return result;
}

int commit_edit(const char *path, const char *text, size_t len, bool copied, bool last,
		bool *pending)
{
	*pending = false;
	if (text_json_whole(text, len) == TEXT_PARTIAL) {
		*pending = !last;
		if (last && len)
			log_warn("%s: closed before its JSON text was whole; the pin is unchanged",
				 path);
		return 0;
	}
	return copied ? edit_text_copied(path, text, len) : edit_text(path, text, len);
}
