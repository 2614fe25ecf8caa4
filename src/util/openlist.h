/* The handles given to the kernel and not released yet. A file or folder still open when the
 * mount ends (a signal, a lazy unmount) gets no RELEASE: its handle is freed from this list.
 *
 * Intrusive: a handle embeds a struct open_link, and the list allocates nothing, so adding
 * cannot fail. The list takes its own lock; it does not own the handles.
 */
#ifndef PINFS_OPENLIST_H
#define PINFS_OPENLIST_H

#include <pthread.h>
#include <stddef.h>

struct open_link {
	struct open_link *prev, *next;
};

struct open_list {
	pthread_mutex_t lock;
	struct open_link *head;
};

#define OPEN_LIST_INIT                                                                             \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, NULL                                                    \
	}

/* The structure of type that embeds link as member. */
#define OPEN_ITEM(link, type, member) ((type *)(void *)((char *)(link)-offsetof(type, member)))

static inline void open_list_add(struct open_list *l, struct open_link *n)
{
	pthread_mutex_lock(&l->lock);
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	l->head = n;
	pthread_mutex_unlock(&l->lock);
}

static inline void open_list_remove(struct open_list *l, struct open_link *n)
{
	pthread_mutex_lock(&l->lock);
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->prev = n->next = NULL;
	pthread_mutex_unlock(&l->lock);
}

/* A link still in l, or NULL when it is empty. */
static inline struct open_link *open_list_first(struct open_list *l)
{
	struct open_link *n;

	pthread_mutex_lock(&l->lock);
	n = l->head;
	pthread_mutex_unlock(&l->lock);
	return n;
}

#endif
