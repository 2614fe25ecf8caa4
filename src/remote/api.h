/* Typed Pinterest v5 calls: JSON answers to structs, pagination, and HTTP status to errno.
 *
 * Objects returned to the caller are owned by the caller and freed with their _free function.
 * Each object keeps its strings in one block (strpack), so a pin costs two allocations.
 */
#ifndef PINFS_API_H
#define PINFS_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Pinterest's API, where -o api_url does not say otherwise. */
#define PINFS_DEFAULT_API "https://api.pinterest.com/v5"

struct pin {
	char *id, *board_id, *section_id; /* section_id is NULL outside sections */
	char *title, *description, *link, *alt_text;
	char *dominant_color, *creative_type, *media_type, *created_at;
	/* The URL of the pin's main file (pinmedia.h): its image of the chosen size, its video
	 * for a video pin that has one, a carousel's first item; NULL: a pin without any. */
	char *image_url;
	char *size_key;	 /* which size the image shown is ("originals", "1200x", ...) */
	char *cover_url; /* where image_url is a video: its cover image, else NULL */
	/* The URLs of the files shown beside the main one, each ended by '\n' (a video's cover,
	 * a carousel's other items), and the facts of a video's or a carousel's media as
	 * compact JSON (pinmedia.h); NULL for an image pin. */
	char *parts, *media_info;
	time_t created;
	int width, height;
	char *block_; /* the strpack block holding every string above */
};

struct board {
	char *id, *name, *description, *privacy, *created_at, *pins_modified_at, *owner;
	char *cover_url;
	long pin_count, follower_count, collaborator_count, section_count;
	time_t created;
	char *block_;
};

struct section {
	char *id, *name;
	char *block_;
};

void pin_free(struct pin *p);
void board_free(struct board *b);

/* A pin as the tree keeps it: one allocation of about half a struct pin and its strings.
 * The strings are back to back without pointers; creative_type, media_type and size_key are
 * codes where they hold a common value; board_id is left out where it is the board's the pin
 * was listed in, created_at where it is `created` printed again. pinrec_view gives the
 * struct pin back. Freed with free(). */
struct pinrec;

/* Packs p; board_id: the board whose listing holds it (may be NULL). NULL when out of
 * memory. */
struct pinrec *pinrec_pack(const struct pin *p, const char *board_id);

/* The bytes the record takes: it may be copied elsewhere with memcpy, at an address aligned
 * for an int64_t. */
size_t pinrec_bytes(const struct pinrec *r);

/* A copy of r in its own allocation. NULL when out of memory. */
struct pinrec *pinrec_dup(const struct pinrec *r);

/* Single fields, pointing into r. */
const char *pinrec_id(const struct pinrec *r);
const char *pinrec_title(const struct pinrec *r);
const char *pinrec_section_id(const struct pinrec *r);
const char *pinrec_image_url(const struct pinrec *r);
const char *pinrec_parts(const struct pinrec *r); /* NULL: no file beside the main one */
/* How many of the files beside the main one are items, named "<name> [2]"...: all of them but
 * for a video pin, whose one is its cover, named as the video is. */
unsigned pinrec_items(const struct pinrec *r);
time_t pinrec_created(const struct pinrec *r);

/* A struct pin read from a record: its strings point into the record, into static tables and
 * into the view itself; valid while both live. Never passed to pin_free. */
struct pin_view {
	struct pin pin;
	char created_at[32];
};

/* board_id: the same as given to pinrec_pack. */
void pinrec_view(const struct pinrec *r, const char *board_id, struct pin_view *v);
void section_free(struct section *s);

/* Parse one API object. image_size is the size key to prefer (NULL: the largest there is).
 * NULL when a required field (id) is missing or has the wrong type: the caller logs. */
struct pin *pin_from_json(const cJSON *j, const char *image_size);
struct board *board_from_json(const cJSON *j);
struct section *section_from_json(const cJSON *j);

/* Parses "2022-10-13T01:40:29", with or without fraction and zone (UTC when absent). Returns
 * 0 when it cannot. */
time_t api_parse_time(const char *s);

/* ---- calls ---- */

struct api_config {
	const char *base_url; /* "https://api.pinterest.com/v5", no trailing slash */
	const char *image_size;
};

/* The bearer token of every call comes from oauth.h: oauth_init before the first call. */

int api_init(const struct api_config *cfg);
void api_cleanup(void);
const char *api_image_size(void);

/* Maps an HTTP status to the errno a user sees; 2xx maps to 0. */
int api_errno(long status);

/* One JSON call: path is below the base URL ("/boards/1/pins?x=y"); body may be NULL. On
 * success *out holds the parsed answer (NULL for an empty body; caller cJSON_Deletes it).
 * Returns 0 or -errno, logging the API's message once. */
int api_call(const char *method, const char *path, const cJSON *body, cJSON **out);

/* Whether the calling thread's last api_call sent its request more than once (a retry after a
 * lost or failed answer): a 404 to a DELETE sent again means the first one was done. */
bool api_last_retried(void);

/* The items a page of a listing holds at most: the API's largest page_size. */
#define API_PAGE_SIZE 250

/* Walks every page of a listing, calling item() for each element of "items" as it is (any
 * JSON value: item judges it, and says what it skipped); item may stop the walk by returning
 * non-zero, which api_list returns. A page not of the published shape (no "items" array, a
 * "bookmark" neither string nor null) ends the walk with -EIO and one log line, as does a
 * bookmark met before. The query carries page_size=250 unless paged is false (GET
 * /search/pins takes no page_size). Returns 0 or -errno. */
int api_list(const char *path, bool paged, int (*item)(const cJSON *it, void *ctx), void *ctx);

/* The path of one page of a listing: path with page_size=250 (when paged) and the bookmark,
 * URL-escaped (NULL on the first page). Caller frees; NULL when out of memory. */
char *api_page_path(const char *path, bool paged, const char *bookmark);

/* GET /user_account: the raw account object. Caller cJSON_Deletes it. */
int api_get_account(cJSON **out);

/* A JSON request body too large to hold in memory (a pin's image as base64), made piece by
 * piece while it is sent: see http_req.read_body for read and rewind. */
struct api_stream {
	size_t len; /* the body's exact length */
	ssize_t (*read)(void *ctx, char *buf, size_t size);
	int (*rewind)(void *ctx);
	void *ctx;
};

/* api_call with body made while it is sent, never held whole; the same token renewal, retries,
 * errors and logging. */
int api_call_stream(const char *method, const char *path, const struct api_stream *body,
		    cJSON **out);

#endif
