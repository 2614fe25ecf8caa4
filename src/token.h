/* Where the access token comes from: $PINFS_ACCESS_TOKEN, else the token file, a JSON object
 * {"access_token": ..., "refresh_token": ..., ...} (as `pinfs login` writes it) or the bare
 * token on one line. Like ssh with its keys, a token file that group or others may read is
 * refused.
 */
#ifndef PINFS_TOKEN_H
#define PINFS_TOKEN_H

#include <stddef.h>

/* The default token file: $XDG_CONFIG_HOME/pinfs/token.json (~/.config/...). Caller frees. */
char *token_default_path(void);

/* Loads the access token into *token (caller wipes and frees). file may be NULL for the
 * default. On failure returns -errno and writes one line saying why into why[len]. */
int token_load(const char *file, char **token, char *why, size_t len);

#endif
