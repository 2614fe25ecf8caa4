/* A copy within the mount: `cp -r boards/A boards/B` makes board B (mkdir), then each pin's
 * image (a new pin, whose sidecar now shows), then each sidecar with O_CREAT|O_EXCL, as B is
 * new and so, to cp, empty. The kernel answers EEXIST to that open unless its look-up of the
 * name finds nothing. So for a few seconds, to the process that made a pin with O_EXCL (as cp
 * does where it made the folder) in a folder it made itself, the new sidecar is not there yet; its
 * create then writes onto it, and the text is the copy's metadata (edit_text_copied). Every other
 * process sees it as usual, and so does its maker in a folder it did not make (a script that writes
 * a picture into a board and reads its sidecar back). A new board's .board.json is never hidden:
 * its maker may read it at once, and cp -r reports that it exists.
 *
 * Keyed by path and process (the thread id FUSE gives). Thread-safe. */
#ifndef PINFS_COPYIN_H
#define PINFS_COPYIN_H

#include <stdbool.h>
#include <sys/types.h>

/* pid just made the folder (a board or a section) at path. */
void copyin_folder(const char *path, pid_t pid);

/* pid just made a pin whose sidecar is at path: hidden from pid for a few seconds when pid
 * made its folder too. */
void copyin_made(const char *path, pid_t pid);

/* True when pid's look-up of path should find nothing (see above): pid made it within the
 * last few seconds and has not written it yet. */
bool copyin_hidden(const char *path, pid_t pid);

/* True when a write onto the sidecar at path by pid is a copy's metadata; takes it (later
 * writes are edits as usual). */
bool copyin_take(const char *path, pid_t pid);

#endif
