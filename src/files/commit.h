/* A written file's close: when its bytes are whole, a new picture or video becomes a pin and an
 * edited sidecar is applied; until then nothing happens.
 *
 * FUSE cannot say which close is a file's last (a shell's `>` opens the file, dup2s it and
 * closes the first descriptor while the file is still empty; dd does the same), and RELEASE's
 * result reaches no one. So a close that finds the bytes not yet whole (empty, an image
 * without its end, a JSON text cut short) is not final and changes nothing; the first close
 * that finds them whole commits them and tells that close() the result; a release that still
 * finds them partial only logs, and the file stays what it is: a local file, not a pin.
 */
#ifndef PINFS_COMMIT_H
#define PINFS_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

/* The local file at path (an upload name) was closed by its writer; last: its release, whose
 * result nobody hears. Returns 0 with *pending true when the bytes are not whole yet; 0 once
 * the pin is made (the local file is gone then); -errno when it was refused, which removes
 * the local file (-EMEDIUMTYPE: not a JPEG, PNG, MP4 or QuickTime file) or leaves it (a
 * partial file at release). */
int commit_upload(const char *path, bool last, bool *pending);

/* The local file at path (an upload name) was closed after a write past 2 GiB was refused
 * (handle.h's too_big): logged, the local file goes, -EFBIG. Nothing is sent. */
int commit_too_big(const char *path);

/* A local file at from renamed onto the upload name to (rsync's temporary file, renamed once
 * written): uploaded now, as a partial file never will be more (-EMEDIUMTYPE). The local
 * file goes once the pin is made, and stays when refused. */
int commit_rename(const char *from, const char *to);

/* An edited sidecar's text was closed by its writer: the same rule, for JSON. Returns 0 with
 * *pending true while the text is cut short; else edit_text's result (edit_text_copied's when
 * copied: another pin's sidecar written onto a pin just made). */
int commit_edit(const char *path, const char *text, size_t len, bool copied, bool last,
		bool *pending);

#endif
