/* The OAuth token's life: the token endpoint (an authorization code or a refresh token traded
 * for tokens), the token file written after each trade, and the access token a mount sends.
 *
 * Refresh tokens rotate: every refresh returns a new one and kills the old, so the new one is
 * written to the token file before anything else happens. A mount refreshes its access token
 * shortly before it expires and once when the API refuses it, one refresh for all threads.
 * Tokens and the client secret are never logged.
 */
#ifndef PINFS_OAUTH_H
#define PINFS_OAUTH_H

#include "token.h"

#include <stddef.h>

/* POST {t->api_url}/oauth/token, grant_type=authorization_code, authenticated with
 * t->client_id and t->client_secret. On success sets t's tokens, expiries and scope (the
 * caller fills the rest). Returns 0, or -errno with one line saying why in why[len]. */
int oauth_exchange_code(struct token_file *t, const char *code, const char *redirect_uri, char *why,
			size_t len);

/* The tokens of the token endpoint's 2xx answer r, into got (all fields new; release it with
 * token_file_release). Returns 0, or -EIO with one line in why[len]. Pure; fuzzed. */
struct http_resp;
int oauth_parse_answer(const struct http_resp *r, struct token_file *got, char *why, size_t len);

/* Writes t to path as a JSON object, mode 0600, through a temporary file in the same
 * directory that is synced and then renamed over path, so a crash leaves the old file or
 * the new one. Creates missing directories with mode 0700. Returns 0, or -errno with one
 * line in why[len]. */
int oauth_save(const char *path, const struct token_file *t, char *why, size_t len);

/* ---- the mount's access token ---- */

/* Takes over t's contents (t is left empty) as the tokens to send to api_url, the API whose
 * token endpoint refreshes them. Refreshed tokens are written back to t->path when it is
 * set. Returns 0 or -ENOMEM. */
int oauth_init(struct token_file *t, const char *api_url);
void oauth_cleanup(void);

/* The access token to send now, refreshed first when it expires within a few minutes. *out
 * is the caller's: wipe it (explicit_bzero) and free it. Returns 0, -EACCES when there is
 * no token, or -ENOMEM. */
int oauth_bearer(char **out);

/* The API refused `refused` (HTTP 401). Unless another thread has already replaced it, the
 * token file is read again (a new `pinfs login` or another mount may have written it) and
 * the token refreshed. Returns 0 when a new token is there to send the call again with,
 * -EACCES when renewing failed (logged here, once), or -ENOKEY when there is nothing to
 * renew with (the caller reports the refusal itself). */
int oauth_renew(const char *refused);

#endif
