/* A 64-bit stamp of a text: equal texts get equal stamps, and two different texts the same
 * one only by a 1-in-2^64 chance. The account provider stamps each sidecar it opens to tell whether
 * the kernel's pages still hold that very text; it does so at every open of a warm grep, so the
 * stamp reads eight bytes at a step (FNV-1a's byte at a step, cache_key, was the daemon's
 * costliest function of its own there: 0.8 us for a 630-byte sidecar, against 0.11 us). Not for
 * anything kept on disk: cache_key (cache.h) names those.
 *
 * Pure: no state, nothing allocated. */
#ifndef PINFS_STAMP_H
#define PINFS_STAMP_H

#include <stddef.h>
#include <stdint.h>

/* The stamp of text[0..len); never 0, which callers keep for "no text". */
uint64_t stamp_of(const char *text, size_t len);

#endif
