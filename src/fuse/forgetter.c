#include "forgetter.h"

#include "bg.h"
#include "inodes.h"
#include "log.h"
#include "vfs.h"

#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* 30 000 inodes, about 3 MB, leave a board walk of 10 000 pins and their sidecars' page cache
 * in place from one grep to the next. The count is looked at every 250 ms while inodes are
 * being made, and less and less often, down to every 2 s, while none are: an idle mount should
 * not wake the machine four times a second. */
#define FORGET_AFTER	30000
#define FORGET_CHECK_MS 250
#define FORGET_IDLE_MS	2000

/* Set by forgetter_start before the thread starts; read by it alone after. */
static struct {
	struct bg_group group;
	struct fuse_session *se;
	const char *mountpoint;
} forgetter_state = {.group = BG_GROUP_INIT};

static void forget_below(const char *name, void *ctx)
{
	char path[PATH_MAX];
	struct stat st;

	(void)ctx;
	fuse_lowlevel_notify_inval_entry(forgetter_state.se, FUSE_ROOT_ID, name, strlen(name));
	/* The kernel unhashes the folder's own dentry too: a shell whose current folder it is
	 * would see getcwd fail (ENOENT) until the path is looked up again. Looking it up here
	 * puts that dentry back at once; its unused children stay dropped. */
	if (snprintf(path, sizeof(path), "%s/%s", forgetter_state.mountpoint, name) <
	    (int)sizeof(path))
		stat(path, &st);
}

/* A walk makes inodes the whole time: looked at often then, seldom when idle. */
static long next_wait(long wait_ms, bool busy)
{
	if (busy)
		return FORGET_CHECK_MS;
	return wait_ms * 2 < FORGET_IDLE_MS ? wait_ms * 2 : FORGET_IDLE_MS;
}

static void forgetter(void *arg)
{
	uint64_t last = inodes_made(), seen = last, now;
	long wait_ms = FORGET_CHECK_MS;
	bool trim = false;

	(void)arg;
	pthread_setname_np(pthread_self(), "pinfs-forget");
	/* Asked with no lock held: the kernel may wait for a request in flight before it
	 * drops them. */
	while (bg_sleep(&forgetter_state.group, wait_ms)) {
		/* By now libfuse has freed the nodes the kernel forgot at the last check: the pages
		 * the walk's small blocks left free (nodes, paths, requests) go back to the system,
		 * which glibc does not do by itself for pages inside the heap. */
		if (trim)
			malloc_trim(0);
		now = inodes_made();
		wait_ms = next_wait(wait_ms, now != seen);
		seen = now;
		trim = now - last >= FORGET_AFTER;
		if (trim) {
			log_info("%llu names looked up: asking the kernel to forget those unused",
				 (unsigned long long)(now - last));
			last = now;
			vfs_each_forgettable(forget_below, NULL);
		}
	}
}

void forgetter_start(struct fuse_session *se, const char *mountpoint)
{
	forgetter_state.mountpoint = mountpoint;
	forgetter_state.se = se;
	bg_resume(&forgetter_state.group);
	if (bg_spawn(&forgetter_state.group, forgetter, NULL) != 0)
		log_info("the kernel will not be asked to forget looked-up names");
}

void forgetter_stop(void)
{
	bg_stop(&forgetter_state.group);
}
