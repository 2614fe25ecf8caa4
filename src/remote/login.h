/* `pinfs login`: the OAuth authorization-code flow. It prints Pinterest's authorize address
 * (and opens a browser on it), takes the code the browser brings back, on a listener on the
 * redirect URI's port or pasted on stdin, trades it for tokens and writes the token file.
 */
#ifndef PINFS_LOGIN_H
#define PINFS_LOGIN_H

/* Runs `pinfs login ARGS...`; argv[0] is "login". Returns the exit status: 0, or 1 after
 * printing one line that says why. */
int login_main(int argc, char *argv[]);

#endif
