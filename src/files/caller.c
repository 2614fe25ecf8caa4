#include "caller.h"

#include <unistd.h>

/* The process of the request this thread is serving. */
static __thread pid_t caller;
/* Set once by owner_init, before any request; read-only after. */
static uid_t uid;
static gid_t gid;

void caller_set(pid_t pid)
{
	caller = pid;
}

pid_t caller_get(void)
{
	return caller;
}

void owner_init(void)
{
	uid = getuid();
	gid = getgid();
}

uid_t owner_uid(void)
{
	return uid;
}

gid_t owner_gid(void)
{
	return gid;
}
