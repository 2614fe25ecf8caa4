/* pinfs: options, the checks made before mounting, and the mount's lifetime. */
#include "api.h"
#include "bg.h"
#include "cache.h"
#include "forgetter.h"
#include "lowlevel.h"
#include "http.h"
#include "jarena.h"
#include "local.h"
#include "log.h"
#include "login.h"
#include "loop.h"
#include "oauth.h"
#include "options.h"
#include "pinstore.h"
#include "provider.h"
#include "sighup.h"
#include "social.h"
#include "stats.h"
#include "token.h"
#include "tree.h"
#include "upload.h"
#include "vfolder.h"

#include <errno.h>
#include <limits.h>
#include <fuse_lowlevel.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* libfuse's own default: at most this many requests are served at once. */
#define DEFAULT_MAX_THREADS 10

static int setup_logging(const struct fuse_cmdline_opts *fopts, const struct options *o)
{
	int result;

	if (fopts->debug)
		log_set_level(LOG_LVL_DEBUG);
	else if (o->verbose)
		log_set_level(LOG_LVL_INFO);
	/* Opened now: a daemon's working directory is "/", and a bad path must fail here. */
	if (o->log_file && (result = log_use_file(o->log_file)) != 0) {
		fprintf(stderr, "pinfs: log file %s: %s\n", o->log_file, strerror(-result));
		return result;
	}
	return 0;
}

/* FUSE refuses an option it does not know only when the mount is made: trying its parser now,
 * before any request, makes a typo fail at once, with status 1 and FUSE's line saying which. */
static int check_fuse_options(const struct fuse_args *args)
{
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	int result = -ENOMEM;

	for (int i = 0; i < args->argc; i++)
		if (fuse_opt_add_arg(&copy, args->argv[i]))
			goto out;
	se = lowlevel_new(&copy);
	result = se ? 0 : -EINVAL;
	if (!se)
		fprintf(stderr, "pinfs: see 'pinfs --help' for the options\n");
out:
	lowlevel_destroy(se);
	fuse_opt_free_args(&copy);
	return result;
}

/* The token's check: the account is asked for once before mounting, so a bad token or an
 * unreachable API ends here with one clear line instead of leaving a mount that fails every
 * call. GET /user_account goes in a thread of its own, so that the set-up that needs no
 * network (the cache, libmagic's database) is done while the answer is on its way. */
struct account_check {
	struct bg_beside fetch;
	enum log_level level; /* the level to restore once the answer is in */
	cJSON *account;
	int result;
};

static void account_fetch(void *arg)
{
	struct account_check *ac = arg;

	ac->result = api_get_account(&ac->account);
	/* api_call says EIO for every transport failure; the reason is worth telling, and
	 * http_last_error is this thread's. */
	if (ac->result == -EIO && http_last_error())
		ac->result = http_last_error();
}

static void account_check_start(struct account_check *ac)
{
	ac->level = log_get_level();
	/* The one line check_account prints says it all; the HTTP layer's own lines would
	 * repeat it. */
	if (ac->level < LOG_LVL_DEBUG)
		log_set_level(LOG_LVL_ERROR);
	bg_beside(&ac->fetch, account_fetch, ac);
}

/* Waits for the answer. Returns the account (caller frees) or NULL. */
static cJSON *account_check_end(struct account_check *ac, int *result)
{
	bg_join(&ac->fetch);
	log_set_level(ac->level);
	*result = ac->result;
	return ac->account;
}

/* Says in one line why the account cannot be mounted. Returns 0 with *account set, or -errno
 * with *account freed. */
static int check_account(const char *api_url, struct account_check *ac, cJSON **account)
{
	int result;

	*account = account_check_end(ac, &result);
	if (!result && !cJSON_IsObject(*account))
		result = -EIO;
	switch (result) {
	case 0:
		return 0;
	case -EACCES:
	case -EPERM:
		fprintf(stderr,
			"pinfs: the API at %s refused the access token; get a new one with "
			"'pinfs login' or from the Pinterest developer console\n",
			api_url);
		break;
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ETIMEDOUT:
		fprintf(stderr, "pinfs: cannot reach the API at %s (%s)\n", api_url,
			strerror(-result));
		break;
	case -EPROTO:
		fprintf(stderr, "pinfs: %s is not an https URL (plain http only on loopback)\n",
			api_url);
		break;
	case -EKEYREJECTED:
		fprintf(stderr,
			"pinfs: the TLS certificate of %s is not trusted (a private CA needs "
			"-o cafile=PATH)\n",
			api_url);
		break;
	default:
		fprintf(stderr, "pinfs: the API at %s did not answer as expected (%s)\n", api_url,
			strerror(-result));
	}
	cJSON_Delete(*account);
	*account = NULL;
	return result;
}

/* token_load has its own copy; the environment's would stay in /proc/PID/environ for as long
 * as the mount runs. */
static void wipe_env_token(void)
{
	char *env = getenv("PINFS_ACCESS_TOKEN");

	if (env)
		explicit_bzero(env, strlen(env));
}

/* -o fsname=pinfs:<username>, so mount and df say whose account it is. */
static int add_fsname(struct fuse_args *args, const cJSON *account)
{
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(account, "username");
	const char *name = cJSON_IsString(user) ? user->valuestring : "account";
	size_t at = strlen("-ofsname=pinfs:"), len = strnlen(name, 200);
	char opt[256];

	snprintf(opt, sizeof(opt), "-ofsname=pinfs:%.200s,subtype=pinfs", name);
	/* A comma in the name would split the option list: the server's "x,allow_other" would
	 * be an option. The name ends where it was cut, not at its own ",subtype". */
	for (char *p = opt + at; p < opt + at + len; p++)
		if (*p == ',' || *p == '\\')
			*p = '_';
	return fuse_opt_add_arg(args, opt);
}

/* libfuse's loop for -s and spin_us=0; ours otherwise (loop.h). */
static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *fopts, int spin_us)
{
	struct loop_config lc = {
	    .max_threads = fopts->max_threads ? fopts->max_threads : DEFAULT_MAX_THREADS,
	    .spin_us = (unsigned)spin_us,
	};

	if (fopts->singlethread)
		return fuse_session_loop(se);
	if (!spin_us)
		return fuse_session_loop_mt(se, fopts->clone_fd);
	return loop_run(se, &lc);
}

static int run_mount(struct fuse_args *args, const struct fuse_cmdline_opts *fopts, int spin_us)
{
	struct fuse_session *se = lowlevel_new(args);
	int result = 1;

	if (!se)
		goto out_destroy;
	if (fuse_session_mount(se, fopts->mountpoint) != 0)
		goto out_destroy;
	if (fuse_daemonize(fopts->foreground) != 0)
		goto out_unmount;
	if (!fopts->foreground)
		log_use_syslog(true);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_unmount;
	/* SIGHUP refreshes instead of ending the mount; failing that, it ends it as before. */
	if (sighup_start() != 0)
		log_info("SIGHUP ends the mount: its handler could not be set up");
	log_info("mounted on %s", fopts->mountpoint);
	forgetter_start(se, fopts->mountpoint);
	result = serve(se, fopts, spin_us) ? 1 : 0;
	forgetter_stop();
	sighup_stop();
	fuse_remove_signal_handlers(se);
out_unmount:
	fuse_session_unmount(se);
out_destroy:
	lowlevel_destroy(se);
	return result;
}

/* The token, read before anything else; the process made undumpable while it holds it.
 * 0, or 1 after saying why. */
static int load_token(const struct fuse_cmdline_opts *fopts, const struct options *o,
		      struct token_file *tf)
{
	char why[512];

	/* The token lives in this process's memory: no core file and no ptrace or
	 * /proc/PID/environ for the user's other processes (docs/security.md). -d keeps them,
	 * for debugging. */
	if (!fopts->debug)
		prctl(PR_SET_DUMPABLE, 0);
	/* curl would only say that the certificate is not trusted. */
	if (o->cafile && access(o->cafile, R_OK) != 0) {
		fprintf(stderr, "pinfs: cafile=%s: %s\n", o->cafile, strerror(errno));
		return 1;
	}
	if (token_load(o->token_file, tf, why, sizeof(why)) != 0) {
		fprintf(stderr, "pinfs: %s\n", why);
		return 1;
	}
	wipe_env_token();
	return 0;
}

/* What comes before the mount once the network is set up: boards/ listed and the token
 * checked in the background while the local stores open, then the tree. 0 or -1 (said). */
static int prepare_account(struct fuse_args *args, const struct options *o)
{
	struct tree_config tc = {
	    .ttl_s = o->dir_cache_ttl,
	    .head_parallel = HTTP_HEAD_PARALLEL,
	    .image_size = o->image_size,
	};
	struct account_check check = {0};
	cJSON *account = NULL;

	/* ls boards is the first thing most mounts see: its list comes beside the check, and
	 * what needs no network is set up while both are on their way. */
	tree_preload_start();
	account_check_start(&check);
	if (cache_init(o->cache_dir) || local_init(o->cache_dir) || pinstore_init(o->cache_dir) ||
	    upload_init(o->video_wait)) {
		int unused; /* the mount ends for the local failure, already logged */

		cJSON_Delete(account_check_end(&check, &unused));
		goto fail;
	}
	if (check_account(o->api_url, &check, &account))
		goto fail;
	/* Other users may look in only as the modes say, not as the owner would. */
	if ((o->allow_other && fuse_opt_add_arg(args, "-odefault_permissions")) ||
	    add_fsname(args, account) || tree_init(&tc, account)) {
		cJSON_Delete(account);
		goto fail;
	}
	return 0;
fail:
	tree_preload_cancel();
	return -1;
}

static int mount_account(struct fuse_args *args, struct fuse_cmdline_opts *fopts, struct options *o)
{
	struct http_config hc = {
	    .connect_timeout_s = 10,
	    .stall_timeout_s = o->timeout,
	    .max_rps = o->max_rps,
	    .max_retries = 5,
	    .cafile = o->cafile,
	};
	struct api_config ac = {.base_url = o->api_url, .image_size = o->image_size};
	struct token_file tf;
	int result = 1;

	if (load_token(fopts, o, &tf))
		return 1;
	if (stats_init(o->api_url) || http_init(&hc) || oauth_init(&tf, o->api_url) ||
	    api_init(&ac) || prepare_account(args, o))
		goto out;
	social_init(o->dir_cache_ttl);
	analytics_init(o->dir_cache_ttl);
	result = run_mount(args, fopts, o->spin_us);
	/* Unmounted: what is still being listed or sized in the background (a walk's
	 * boards, pins/, a folder's sizes) is of no use now and must not hold the exit. */
	http_cancel();
	social_cleanup();
	analytics_cleanup();
	tree_cleanup();
out:
	token_file_release(&tf);
	oauth_cleanup();
	upload_cleanup();
	pinstore_cleanup();
	local_cleanup();
	cache_cleanup();
	api_cleanup();
	http_cleanup();
	stats_cleanup();
	return result;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fopts = {0};
	struct options o;
	int result = 1;

	/* glibc gives each thread that allocates while another holds the lock an arena of its own,
	 * up to 8 per core: FUSE workers, board listings and HEADs would spread the tree over a
	 * dozen heaps, each keeping its own free memory (a second `ls -lR` of 100 000 pins grew
	 * the process by 13%). pinfs waits on the network, not on malloc: one arena. */
	mallopt(M_ARENA_MAX, 1);
	/* Fixed, instead of glibc's thresholds that rise with each big block freed: a listing
	 * of 100 000 links (libfuse's readdir buffer, the folder's arrays) would otherwise come
	 * from the heap and stay in the process's size once freed. Big blocks are mapped apart
	 * and given back when freed; a free top of the heap is given back beyond 1 MB. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	/* glibc's allocator is set up by its first call, here in the main thread. Under a
	 * sanitizer that replaces malloc, the first call would otherwise be a malloc_trim in a
	 * worker (after a listing), which makes glibc take that thread as the main arena's
	 * without counting it: its exit then counts the main thread out, and a later thread's
	 * exit aborts in glibc ("a->attached_threads > 0"). */
	malloc_trim(0);
	/* Before any thread parses JSON: cJSON's hooks are the process's. */
	jarena_install();
	/* `pinfs login` has options of its own; FUSE's parser never sees them. */
	if (argc > 1 && strcmp(argv[1], "login") == 0)
		return login_main(argc - 1, argv + 1);
	if (options_parse(&args, &o) != 0 || fuse_parse_cmdline(&args, &fopts) != 0)
		goto out;
	if (fopts.show_help) {
		options_usage(argv[0]);
		result = 0;
		goto out;
	}
	if (fopts.show_version) {
		printf("pinfs %s\n", PINFS_VERSION);
		result = 0;
		goto out;
	}
	if (!fopts.mountpoint) {
		fprintf(stderr, "pinfs: no mount point given; see 'pinfs --help'\n");
		goto out;
	}
	if (check_fuse_options(&args) || setup_logging(&fopts, &o))
		goto out;
	result = mount_account(&args, &fopts, &o);
out:
	free(fopts.mountpoint);
	fuse_opt_free_args(&args);
	options_release(&o);
	return result;
}
