/* The per-pin store: for each pin this pinfs made (uploaded through the mount), what it must
 * remember across remounts: the file name the user gave ("IMG_0001.JPG", or "X.png" for JPEG
 * bytes), the modification time the writer set (cp -a, rsync -a, touch; else the upload's
 * time), and the exact bytes uploaded. Pinterest re-encodes images, and a file written must
 * read back the same size and the same bytes. Not a cache: nothing here is ever evicted.
 *
 * On disk, under <cache_dir>/pins/ (mode 0700), pin ID has a record, ID.rec, and maybe its
 * bytes, ID.bytes. A record is text, one "key value" line each, its check line last:
 *
 *	pinfs-pin 1
 *	name IMG_0001.JPG
 *	mtime 1700000000 123456789
 *	size 48213
 *	check 3284845347dbd04b
 *
 * - "pinfs-pin N" is the version. A record of another version is dropped: the version changes
 *   only when the meaning of a key does. New facts are new keys, which older readers skip (and
 *   a rewrite by an older reader loses).
 * - name: the bytes of the name, with '%', the control bytes and DEL written as %XX, so any
 *   name fits on one line. mtime: seconds and nanoseconds. size: ID.bytes's length, -1 for
 *   no bytes.
 * - check: 64-bit FNV-1a (cache_key, cache.h) of every byte before the check line, in 16
 *   lower-case hex digits. Not stamp_of: stamp.h keeps that one off disk.
 *
 * Every write is atomic (ID.rec.tmp, fsync, rename, fsync of pins/). A record that is torn,
 * of another version, fails its check, lacks name, mtime or size, or whose ID.bytes is missing
 * or of another length than its size is dropped, both files removed, with one log line, and is
 * then absent: never served. A crash leaves an old record, a new one or none, never a record
 * with another record's bytes: a put removes the earlier record before it moves bytes in.
 * *.tmp files and ID.bytes without ID.rec are removed at init.
 *
 * In memory, an index of every record (a hash map from pin id to name, mtime and size) answers
 * pinstore_get without file I/O. It costs about 80 bytes per record plus the lengths of its
 * id and name (one allocation and one or two bucket pointers): 50,000 uploaded pins with
 * 19-digit ids and 20-byte names take about 6 MB.
 *
 * Locks: index_lock (pinstore.c) guards the index, held only to read or change it, never
 * across file I/O. write_lock serializes every change of the files under pins/ and the index
 * change that follows it, so whenever it is free the index says what the files say; it is
 * held across that I/O (fsync included), and is taken before index_lock. pinstore_init and
 * pinstore_cleanup must run alone; every other call is thread-safe.
 *
 * Ids are 1..40 characters of [0-9A-Za-z_-] (Pinterest's are decimal digits); names are one
 * path component of 1..255 bytes, neither "." nor "..". Others get -EINVAL. Strings passed
 * in are only read; nothing returned needs freeing except pinstore_open's descriptor.
 */
#ifndef PINFS_PINSTORE_H
#define PINFS_PINSTORE_H

#include <stdint.h>
#include <time.h>

/* Makes <cache_dir> and <cache_dir>/pins (0700) when missing, removes stale *.tmp files and
 * orphaned bytes, and loads every record into the index, dropping the bad ones. 0 or
 * -errno; -EBUSY when the store is open already (pinstore_cleanup first). */
int pinstore_init(const char *cache_dir);

/* Frees the index and closes the store; nothing on disk changes. Calls after it answer as
 * before pinstore_init: -ENOENT from pinstore_get, -EBADF from the calls that write. */
void pinstore_cleanup(void);

struct pinstore_rec {
	char name[256];	       /* the name the user gave, NUL-terminated */
	struct timespec mtime; /* the modification time the writer set */
	int64_t size;	       /* the length of the kept bytes, -1 when none are kept */
};

/* Adopts the file at bytes_path as pin_id's bytes, with the given name and mtime (NULL:
 * now), replacing any earlier record of pin_id. bytes_path must be a regular file, best on
 * the same file system (a staged upload): it is renamed into the store; across file systems
 * (EXDEV) it is copied, then removed. bytes_path NULL keeps only name and mtime (size -1, no
 * bytes). 0 or -errno. On success bytes_path is gone. On failure it is where it was; bad
 * arguments (-EINVAL for an id, a name, an mtime.tv_nsec, a bytes_path that is no regular
 * file; -ENOENT for no file at bytes_path) change nothing, while trouble writing (-EIO,
 * -ENOSPC, ...) leaves pin_id without a record, an earlier one gone too. */
int pinstore_put(const char *pin_id, const char *name, const char *bytes_path,
		 const struct timespec *mtime);

/* 0 and *rec filled, or -ENOENT (or -EINVAL for a bad id). From the index alone: no file
 * I/O, one short hold of index_lock. */
int pinstore_get(const char *pin_id, struct pinstore_rec *rec);

/* Rewrite pin_id's record atomically with a new name or mtime. 0, -ENOENT when pin_id has no
 * record, -EINVAL, or -errno (the record is then unchanged). */
int pinstore_set_name(const char *pin_id, const char *name);
int pinstore_set_mtime(const char *pin_id, const struct timespec *mtime);

/* A descriptor (O_RDONLY | O_CLOEXEC, the caller closes it) on pin_id's bytes, or -ENOENT when
 * none are kept, -EINVAL, or -errno. When the bytes file is missing or its length is not the
 * recorded size, the record is dropped (one log line) and the answer is -ENOENT. */
int pinstore_open(const char *pin_id);

/* The pin was deleted: its record and bytes go, from disk and from the index. */
void pinstore_forget(const char *pin_id);

#endif
