/* The mount options pinfs adds to FUSE's own (-o api_url=..., ...). */
#ifndef PINFS_OPTIONS_H
#define PINFS_OPTIONS_H

#include "api.h" /* PINFS_DEFAULT_API */

#include <fuse.h>

/* A stream of requests (grep -r, find) comes a few microseconds apart: the FUSE loop's reader
 * looks this long for the next before it sleeps (loop.h). */
#define PINFS_DEFAULT_SPIN_US 50

struct options {
	char *api_url;
	char *token_file;
	char *cache_dir;
	char *image_size;
	char *log_file;
	/* The word mount passes before the mount point (NULL: none), and the mount point, which
	 * options_parse takes out of args and puts back last. */
	char *source;
	char *mountpoint;
	char *cafile; /* -o cafile=: CAs for a private API host, NULL: the system's */
	double dir_cache_ttl;
	double max_rps;
	int timeout;	 /* -o timeout=: seconds a transfer may stall, and the retry budget */
	int spin_us;	 /* -o spin_us=: how long the FUSE loop looks for work before it sleeps */
	int video_wait;	 /* -o video_wait=: seconds a video's processing is waited for */
	int allow_other; /* the user asked for allow_other: default_permissions goes with it */
	int verbose;
	int show_help;
	int show_version;
};

/* Takes pinfs's own options out of args, filling o with them and the defaults. Returns 0, or
 * -1 after printing why. Release o with options_release.
 *
 * mount(8) and mount.fuse3 run `pinfs SOURCE MOUNTPOINT -o OPTIONS`: with two non-option
 * arguments the first is the source, a word that names the token file ("pinfs", "default" and
 * "none" mean the usual one; NAME means NAME.json beside it; "pinfs#NAME" is NAME), and the
 * options fstab uses for mount itself (noauto, user, _netdev, x-..., ...) are dropped. */
int options_parse(struct fuse_args *args, struct options *o);
void options_release(struct options *o);

/* The usage text for pinfs's own options. */
void options_usage(const char *prog);

#endif
