#include "options.h"

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
    OPT("-v", verbose),
    OPT("--verbose", verbose),
    OPT("verbose", verbose),
    FUSE_OPT_END,
};

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

int options_parse(struct fuse_args *args, struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->dir_cache_ttl = 60;
	if (fuse_opt_parse(args, o, specs, NULL) == -1)
		return -1;
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
	return 0;
}

void options_release(struct options *o)
{
	free(o->api_url);
	free(o->token_file);
	free(o->cache_dir);
	free(o->image_size);
	memset(o, 0, sizeof(*o));
}

void options_usage(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n"
	       "\n"
	       "Mounts a Pinterest account as a folder.\n"
	       "\n"
	       "    -h, --help             this text, then FUSE's own options\n"
	       "    -V, --version          the version\n"
	       "    -f                     stay in the foreground\n"
	       "    -d                     debug: foreground, FUSE and HTTP tracing\n"
	       "    -s                     single-threaded\n"
	       "    -v, -o verbose         log more (info level)\n"
	       "    -o ro                  read-only mount\n"
	       "    -o api_url=URL         API base (default " PINFS_DEFAULT_API ")\n"
	       "    -o token_file=PATH     token file (default $XDG_CONFIG_HOME/pinfs/token.json)\n"
	       "    -o cache_dir=PATH      image and size cache (default $XDG_CACHE_HOME/pinfs)\n"
	       "    -o image_size=KEY      image size to show: originals, 1200x, 600x, 400x300,\n"
	       "                           150x150 (default: the largest the API gives)\n"
	       "    -o dir_cache_ttl=SECS  how long a listing is trusted (default 60)\n"
	       "    -o max_rps=N           at most N requests per second (default no cap)\n"
	       "\n"
	       "The access token comes from $PINFS_ACCESS_TOKEN, else from the token file.\n",
	       prog);
}
