/* Checks on text a user writes, made before anything is sent: whether it is valid UTF-8 (the
 * API refuses anything else), whether a JSON text is whole yet, and whether it hides a NUL.
 * Pure functions of their arguments; nothing is allocated.
 */
#ifndef PINFS_TEXTCHECK_H
#define PINFS_TEXTCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8: no stray continuation byte, no overlong form, no
 * surrogate (U+D800..U+DFFF), nothing past U+10FFFF, and no NUL byte. */
bool text_utf8_valid(const char *s, size_t len);

/* True when a name may be created: 1 to 255 bytes (-ENAMETOOLONG past that), valid UTF-8 and
 * no control character (C0 or DEL), which a listing could not show as written (-EINVAL).
 * Returns 0 or that -errno. */
int text_name_check(const char *name);

/* How far a JSON text written so far has come. A writer's close may come before its bytes do
 * (a shell opens, dup2s and closes the first descriptor of `>` while the file is empty), so
 * only a text that is whole, or wrong in a way more bytes cannot mend, is acted on. */
enum text_whole {
	TEXT_PARTIAL, /* empty or blank, or a cut-off prefix of a JSON text: more may come */
	TEXT_WHOLE,   /* parses (it may still be refused for what it says) */
	TEXT_BROKEN,  /* wrong already: a bracket that does not match, text after the end, ... */
};
enum text_whole text_json_whole(const char *text, size_t len);

/* True when a JSON text has a \u0000 escape inside a string: cJSON would cut the value there
 * without a word, so such a text is refused. */
bool text_json_has_nul(const char *text, size_t len);

#endif
