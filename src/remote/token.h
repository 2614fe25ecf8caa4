/* Where the access token comes from: $PINFS_ACCESS_TOKEN, else the token file, a JSON object
 * {"access_token": ..., "refresh_token": ..., ...} (as `pinfs login` writes it) or the bare
 * token on one line. Like ssh with its keys, a token file that group or others may read is
 * refused.
 */
#ifndef PINFS_TOKEN_H
#define PINFS_TOKEN_H

#include <stddef.h>
#include <time.h>

/* What a token file holds. Every string is owned by the struct and may be NULL when absent;
 * token_file_release wipes and frees them. */
struct token_file {
	char *access_token;
	char *refresh_token; /* NULL for a bare token or $PINFS_ACCESS_TOKEN: no refresh */
	char *scope;
	char *client_id, *client_secret; /* the app's, so a mount can refresh by itself */
	char *api_url;			 /* the API the tokens were issued by */
	time_t expires_at;		 /* of the access token, unix seconds; 0: unknown */
	time_t refresh_expires_at;	 /* of the refresh token; 0: unknown */
	char *path;			 /* the file read; NULL when from $PINFS_ACCESS_TOKEN */
};

void token_file_release(struct token_file *t);

/* The default token file: $XDG_CONFIG_HOME/pinfs/token.json (~/.config/...). Caller frees. */
char *token_default_path(void);

/* Loads the token into *t (release it with token_file_release). file may be NULL for
 * $PINFS_ACCESS_TOKEN, else the default file. On failure returns -errno and writes one line
 * saying why into why[len]. */
int token_load(const char *file, struct token_file *t, char *why, size_t len);

#endif
