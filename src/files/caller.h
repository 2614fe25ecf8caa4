/* Who asks: the process whose request the calling thread serves, and the mount's owner, whom
 * every entry is shown as belonging to. Set by the VFS (vfs_set_caller, vfs_init); read by the
 * providers. The caller is per thread; the owner is set once before any request. */
#ifndef PINFS_CALLER_H
#define PINFS_CALLER_H

#include <stdbool.h>
#include <sys/types.h>

void caller_set(pid_t pid);
pid_t caller_get(void);

/* Whether the caller's command line names a file called name (an argument whose last
 * component it is): rm *.jpg meets a carousel's "X [2].jpg" before the "X.jpg" that removes
 * the pin with its items. Reads /proc; false when it cannot. */
bool caller_names(const char *name);

/* The mount's owner: the process's user and group, taken once. */
void owner_init(void);
uid_t owner_uid(void);
gid_t owner_gid(void);

#endif
