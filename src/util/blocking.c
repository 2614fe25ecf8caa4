#include "blocking.h"

#include <stdatomic.h>
#include <stddef.h>

/* Atomic: background threads may ask while the loop sets or clears it. */
static void (*_Atomic hook)(void);

void blocking_set_hook(void (*fn)(void))
{
	atomic_store(&hook, fn);
}

void blocking_ahead(void)
{
	void (*fn)(void) = atomic_load(&hook);

	if (fn)
		fn();
}
