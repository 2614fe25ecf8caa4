#include "copyin.h"

#include "stamp.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

/* How long a made sidecar stays hidden from its maker: cp goes from an image to its sidecar
 * at once; a slower maker sees the sidecar, and its O_EXCL create fails as it would anywhere. */
#define HIDDEN_S 5.0
/* How long a folder counts as made by a copy: a cp -r of a large board takes minutes. */
#define FOLDER_S 3600.0
#define RECENT	 64 /* copies running at once, times the pins each makes in HIDDEN_S */

static struct made {
	uint64_t path; /* stamp of the path; 0: free */
	pid_t pid;
	double until;
} made[RECENT], folders[RECENT];
static unsigned next_folder;
static unsigned next_slot;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t key(const char *path)
{
	uint64_t k = stamp_of(path, strlen(path));

	return k ? k : 1;
}

/* The live record of path made by pid in table t, or NULL. Lock held. */
static struct made *find_in(struct made *t, uint64_t k, pid_t pid)
{
	double now = now_s();

	for (unsigned i = 0; i < RECENT; i++)
		if (t[i].path == k && t[i].pid == pid && now <= t[i].until)
			return &t[i];
	return NULL;
}

static struct made *find(const char *path, pid_t pid)
{
	return find_in(made, key(path), pid);
}

void copyin_folder(const char *path, pid_t pid)
{
	pthread_mutex_lock(&lock);
	folders[next_folder] = (struct made){key(path), pid, now_s() + FOLDER_S};
	next_folder = (next_folder + 1) % RECENT;
	pthread_mutex_unlock(&lock);
}

void copyin_made(const char *path, pid_t pid)
{
	const char *slash = strrchr(path, '/');
	uint64_t folder = stamp_of(path, slash ? (size_t)(slash - path) : 0);

	pthread_mutex_lock(&lock);
	if (find_in(folders, folder ? folder : 1, pid)) {
		made[next_slot] = (struct made){key(path), pid, now_s() + HIDDEN_S};
		next_slot = (next_slot + 1) % RECENT;
	}
	pthread_mutex_unlock(&lock);
}

bool copyin_hidden(const char *path, pid_t pid)
{
	bool hidden;

	pthread_mutex_lock(&lock);
	hidden = find(path, pid) != NULL;
	pthread_mutex_unlock(&lock);
	return hidden;
}

bool copyin_take(const char *path, pid_t pid)
{
	struct made *m;

	pthread_mutex_lock(&lock);
	m = find(path, pid);
	if (m)
		m->path = 0;
	pthread_mutex_unlock(&lock);
	return m != NULL;
}
