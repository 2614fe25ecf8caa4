#include "walk.h"

#include "log.h"
#include "social.h"
#include "tree.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

/* Two reads this close together, the root's then boards/'s, by one thread: a walk. */
#define WALK_WINDOW_S 2.0

/* The threads holding boards/ open that are noted, at most: a walker holds it once, and one
 * more is the second-board rule's to see (tree.c). */
#define HOLDERS_MAX 8

/* All of it guarded by lock. */
static struct {
	pthread_mutex_t lock;
	pid_t reader; /* the thread that read the root last, 0: none since boards/ was */
	pid_t walker; /* the thread walking the whole mount, 0: none */
	struct timespec at;
	pid_t holders[HOLDERS_MAX]; /* the threads holding boards/ open, one per open */
	unsigned nholders;
} walk_seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

pid_t walk_dir_opened(const char *path, pid_t tid)
{
	if (!path || strcmp(path, "/boards") != 0 || tid <= 0)
		return 0;
	pthread_mutex_lock(&walk_seen.lock);
	if (walk_seen.nholders < HOLDERS_MAX)
		walk_seen.holders[walk_seen.nholders++] = tid;
	else
		tid = 0; /* more than that: the second-board rule still sees walks */
	pthread_mutex_unlock(&walk_seen.lock);
	return tid;
}

void walk_dir_closed(pid_t token)
{
	if (!token)
		return;
	pthread_mutex_lock(&walk_seen.lock);
	for (unsigned i = 0; i < walk_seen.nholders; i++) {
		if (walk_seen.holders[i] == token) {
			walk_seen.holders[i] = walk_seen.holders[--walk_seen.nholders];
			break;
		}
	}
	pthread_mutex_unlock(&walk_seen.lock);
}

static bool holds_boards(pid_t tid)
{
	bool held = false;

	pthread_mutex_lock(&walk_seen.lock);
	for (unsigned i = 0; i < walk_seen.nholders && !held; i++)
		held = walk_seen.holders[i] == tid;
	pthread_mutex_unlock(&walk_seen.lock);
	return held;
}

static bool board_folder(const char *path)
{
	return strncmp(path, "/boards/", 8) == 0 && path[8] && !strchr(path + 8, '/');
}

static bool top_folder(const char *path)
{
	return path[0] == '/' && path[1] && !strchr(path + 1, '/');
}

static void note_walk(const char *path, off_t offset, pid_t tid)
{
	struct timespec now;
	bool pins = false, people = false;

	if (offset || !(strcmp(path, "/") == 0 || top_folder(path)))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&walk_seen.lock);
	if (strcmp(path, "/") == 0) {
		walk_seen.reader = tid;
		walk_seen.at = now;
	} else if (strcmp(path, "/boards") == 0) {
		double since = (double)(now.tv_sec - walk_seen.at.tv_sec) +
			       (double)(now.tv_nsec - walk_seen.at.tv_nsec) / 1e9;

		pins = walk_seen.reader == tid && since < WALK_WINDOW_S;
		walk_seen.walker = pins ? tid : 0;
		walk_seen.reader = 0;
	} else if (walk_seen.walker == tid) {
		people = true;
		walk_seen.walker = 0;
	}
	pthread_mutex_unlock(&walk_seen.lock);
	if (pins)
		log_debug("a walk of the whole mount: listing pins/ ahead");
	if (pins || people)
		social_prefetch(people);
}

void walk_readdir(const char *path, off_t offset, pid_t tid)
{
	note_walk(path, offset, tid);
	if (!offset && board_folder(path) && holds_boards(tid))
		tree_walk_from(path);
}
