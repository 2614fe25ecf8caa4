/* Seeing a walk of the mount from the folders it reads, to list ahead what it will read next.
 *
 * A walk of the whole mount (find MOUNT, ls -R MOUNT) reads the root and then boards/, in one
 * thread, and reaches pins/ only after the last board: pins/, one long walk of GET /pins, is
 * built in the background from then on, beside the boards. The people folders (a request or
 * three each, whose lists expire with the TTL) are listed side by side once the walker leaves
 * boards/ for another folder of the root. `ls MOUNT` then `ls MOUNT/boards` are two processes,
 * and a walk of boards/ alone never reads the root: neither asks for them.
 *
 * find and grep -r (any fts walker) keep a folder open while they go through its subfolders;
 * ls -R, os.walk and a script's listdir close it first. So a board opened by a thread that
 * holds boards/ open is the first of a walk: the other boards can be listed from now on,
 * beside this one, instead of from the second board on (tree_walk_from).
 *
 * Thread-safe: one lock of its own, never held across a call out.
 */
#ifndef PINFS_WALK_H
#define PINFS_WALK_H

#include <sys/types.h>

/* Thread tid opened the folder path. Returns the token for walk_dir_closed (0: none). */
pid_t walk_dir_opened(const char *path, pid_t tid);
void walk_dir_closed(pid_t token);

/* Thread tid reads the folder path from offset: starts what a walk will want next. */
void walk_readdir(const char *path, off_t offset, pid_t tid);

#endif
