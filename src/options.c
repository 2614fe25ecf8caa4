#include "options.h"

#include "token.h"
#include "upload.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT(t, p)                                                                                  \
	{                                                                                          \
		t, offsetof(struct options, p), 1                                                  \
	}

static const struct fuse_opt specs[] = {
    OPT("api_url=%s", api_url),
    OPT("token_file=%s", token_file),
    OPT("cache_dir=%s", cache_dir),
    OPT("image_size=%s", image_size),
    OPT("dir_cache_ttl=%lf", dir_cache_ttl),
    OPT("max_rps=%lf", max_rps),
    OPT("timeout=%d", timeout),
    OPT("spin_us=%d", spin_us),
    OPT("video_wait=%d", video_wait),
    OPT("cafile=%s", cafile),
    /* Noted here, and still passed to FUSE. */
    OPT("allow_other", allow_other),
    FUSE_OPT_KEY("allow_other", FUSE_OPT_KEY_KEEP),
    OPT("log_file=%s", log_file),
    OPT("-v", verbose),
    OPT("--verbose", verbose),
    OPT("verbose", verbose),
    /* What fstab says to mount itself; mount.fuse3 drops some of them, not all. */
    FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("user=", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("group", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("comment=", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_END,
};

static const char *const image_sizes[] = {"originals", "1200x", "600x", "400x300", "150x150", NULL};

static char *default_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *p = NULL;
	int rc;

	if (xdg && *xdg)
		rc = asprintf(&p, "%s/pinfs", xdg);
	else
		rc = asprintf(&p, "%s/.cache/pinfs", home ? home : "/tmp");
	return rc < 0 ? NULL : p;
}

/* Keeps the non-option arguments aside (the last is the mount point, one before it the
 * source) and drops x-... options (x-systemd.automount, x-gvfs-show: for mount and desktops). */
static int take_arg(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;

	(void)outargs;
	if (key == FUSE_OPT_KEY_OPT)
		return strncmp(arg, "x-", 2) == 0 ? 0 : 1;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (o->source) {
		fprintf(stderr, "pinfs: too many arguments (%s); see 'pinfs --help'\n", arg);
		return -1;
	}
	o->source = o->mountpoint;
	o->mountpoint = strdup(arg);
	return o->mountpoint ? 0 : -1;
}

/* A source other than the usual words names a token file beside the default one, so that
 * fstab can mount two accounts: `work /home/me/Work fuse.pinfs ...` reads work.json. */
static int use_source(struct options *o)
{
	const char *name = o->source, *cut = name ? strrchr(name, '#') : NULL;
	char *dir;
	int rc;

	if (cut)
		name = cut + 1; /* "pinfs#NAME", the form of the old "fuse" type */
	/* mount(8) makes a source that names a file in its working directory a full path
	 * ("/home/me/pinfs"): the word is its last component. */
	cut = name ? strrchr(name, '/') : NULL;
	if (cut)
		name = cut + 1;
	if (!name || !*name || strcmp(name, "pinfs") == 0 || strcmp(name, "default") == 0 ||
	    strcmp(name, "none") == 0 || o->token_file)
		return 0;
	if (name[0] == '.' || strlen(name) > 64 ||
	    name[strspn(name,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")]) {
		fprintf(stderr,
			"pinfs: '%s' is not a source: give a word such as 'default' (the usual "
			"token file) or 'work' (work.json beside it), then the mount point\n",
			o->source);
		return -1;
	}
	dir = token_default_path();
	if (!dir || !strrchr(dir, '/')) {
		free(dir);
		return -1;
	}
	*strrchr(dir, '/') = '\0';
	rc = asprintf(&o->token_file, "%s/%s.json", dir, name);
	free(dir);
	if (rc < 0) {
		o->token_file = NULL;
		return -1;
	}
	return 0;
}

static bool known_image_size(const char *key)
{
	for (size_t i = 0; image_sizes[i]; i++)
		if (strcmp(key, image_sizes[i]) == 0)
			return true;
	return false;
}

int options_parse(struct fuse_args *args, struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->dir_cache_ttl = 60;
	o->timeout = 30;
	o->spin_us = PINFS_DEFAULT_SPIN_US;
	o->video_wait = UPLOAD_VIDEO_WAIT_S;
	if (fuse_opt_parse(args, o, specs, take_arg) == -1)
		return -1;
	/* Back in args, last, for FUSE's parser; "--" keeps a name starting with '-' a name. */
	if (o->mountpoint && ((o->mountpoint[0] == '-' && fuse_opt_add_arg(args, "--")) ||
			      fuse_opt_add_arg(args, o->mountpoint)))
		return -1;
	if (use_source(o))
		return -1;
	if (o->image_size && !known_image_size(o->image_size)) {
		fprintf(stderr,
			"pinfs: image_size=%s: the sizes are originals, 1200x, 600x, 400x300 and "
			"150x150\n",
			o->image_size);
		return -1;
	}
	if (!o->api_url)
		o->api_url = strdup(PINFS_DEFAULT_API);
	if (!o->cache_dir)
		o->cache_dir = default_cache_dir();
	if (!o->api_url || !o->cache_dir) {
		fprintf(stderr, "pinfs: out of memory\n");
		return -1;
	}
	if (o->dir_cache_ttl < 0 || o->max_rps < 0) {
		fprintf(stderr, "pinfs: dir_cache_ttl and max_rps cannot be negative\n");
		return -1;
	}
	if (o->timeout < 1 || o->timeout > 3600) {
		fprintf(stderr, "pinfs: timeout is in seconds, from 1 to 3600\n");
		return -1;
	}
	if (o->video_wait < 1 || o->video_wait > 86400) {
		fprintf(stderr, "pinfs: video_wait is in seconds, from 1 to 86400\n");
		return -1;
	}
	if (o->spin_us < 0 || o->spin_us > 10000) {
		fprintf(stderr, "pinfs: spin_us is in microseconds, from 0 to 10000\n");
		return -1;
	}
	return 0;
}

void options_release(struct options *o)
{
	free(o->api_url);
	free(o->token_file);
	free(o->cache_dir);
	free(o->image_size);
	free(o->cafile);
	free(o->log_file);
	free(o->source);
	free(o->mountpoint);
	memset(o, 0, sizeof(*o));
}

void options_usage(const char *prog)
{
	printf("usage: %s [options] [SOURCE] MOUNTPOINT\n"
	       "       %s login [options]    (see '%s login --help')\n"
	       "\n"
	       "Mounts a Pinterest account as a folder.\n"
	       "\n"
	       "    -h, --help             this text\n"
	       "    -V, --version          the version\n"
	       "    -f                     stay in the foreground (log to stderr, not syslog)\n"
	       "    -d, -o debug           foreground, and log FUSE calls and HTTP requests\n"
	       "    -s                     single-threaded\n"
	       "    -v, -o verbose         log more (info level)\n"
	       "    -o log_file=PATH       log there instead (appended, with timestamps)\n"
	       "    -o ro                  read-only mount\n"
	       "    -o api_url=URL         API base (default " PINFS_DEFAULT_API ")\n"
	       "    -o token_file=PATH     token file (default $XDG_CONFIG_HOME/pinfs/token.json)\n"
	       "    -o cache_dir=PATH      image and size cache (default $XDG_CACHE_HOME/pinfs)\n"
	       "    -o image_size=KEY      originals (default), 1200x, 600x, 400x300 or 150x150\n"
	       "    -o dir_cache_ttl=SECS  how long a listing is trusted (default 60)\n"
	       "    -o max_rps=N           at most N requests per second (default no cap)\n"
	       "    -o timeout=SECS        a request that moves no byte for SECS fails, and its\n"
	       "                           system call with EIO (default 30; docs/security.md)\n"
	       "    -o spin_us=N           after a request, look N microseconds for the next one\n"
	       "                           before sleeping (default %d; 0: libfuse's own loop)\n"
	       "    -o video_wait=SECS     how long a video copied in may take to be processed\n"
	       "                           before its close fails with EIO (default %d)\n"
	       "    -o cafile=PATH         also trust the CAs in PATH (a private API host)\n"
	       "    -o allow_other, -o auto_unmount, ...  FUSE's mount options (mount.fuse3(8))\n"
	       "\n"
	       "SOURCE is what mount passes from fstab: pinfs or default (the token file above),\n"
	       "or NAME for NAME.json beside it. The token comes from $PINFS_ACCESS_TOKEN, else\n"
	       "the token file, which '%s login' writes. kill -HUP forgets cached listings;\n"
	       "MOUNTPOINT/.pinfs/stats counts requests. More in 'man pinfs'.\n",
	       prog, prog, prog, PINFS_DEFAULT_SPIN_US, UPLOAD_VIDEO_WAIT_S, prog);
}
