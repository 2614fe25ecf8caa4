#include "inodes.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* 56 bytes and the name: a walk looks up a name per file, kept until the kernel forgets it
 * (main.c asks it to every 30 000). An inode is kept while the kernel holds a lookup of it or
 * a named child of it exists, so that a child's path can always be built. */
struct inode {
	uint64_t ino;
	uint64_t nlookup;
	struct inode *parent;		    /* NULL for the root and for an inode without a name */
	char *name;			    /* NULL: removed, or replaced by a rename */
	uint32_t children;		    /* named inodes whose parent this is */
	struct inode *next_ino, *next_name; /* hash chains */
};

/* Two hash tables of chains, by inode number and by (parent, name), grown by doubling. */
static struct {
	pthread_mutex_t lock;
	struct inode **by_ino, **by_name;
	size_t nbuckets; /* a power of two, the same for both */
	size_t count;
	uint64_t next;
	struct inode *root;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define FIRST_BUCKETS 1024

static size_t ino_slot(uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 17) & (table.nbuckets - 1);
}

static size_t name_slot(uint64_t parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (parent * 0x9e3779b97f4a7c15ULL);

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29)) & (table.nbuckets - 1);
}

static struct inode *find_ino(uint64_t ino)
{
	struct inode *n = table.by_ino ? table.by_ino[ino_slot(ino)] : NULL;

	while (n && n->ino != ino)
		n = n->next_ino;
	return n;
}

static struct inode *find_child(const struct inode *parent, const char *name)
{
	struct inode *n = table.by_name[name_slot(parent->ino, name)];

	while (n && !(n->parent == parent && strcmp(n->name, name) == 0))
		n = n->next_name;
	return n;
}

static void link_name(struct inode *n)
{
	size_t s = name_slot(n->parent->ino, n->name);

	n->next_name = table.by_name[s];
	table.by_name[s] = n;
	n->parent->children++;
}

static void unhash_name(struct inode *n)
{
	struct inode **p = &table.by_name[name_slot(n->parent->ino, n->name)];

	while (*p != n)
		p = &(*p)->next_name;
	*p = n->next_name;
}

static void unhash_ino(struct inode *n)
{
	struct inode **p = &table.by_ino[ino_slot(n->ino)];

	while (*p != n)
		p = &(*p)->next_ino;
	*p = n->next_ino;
}

static void maybe_free(struct inode *n);

/* n loses its name; its old parent may then go. */
static void drop_name(struct inode *n)
{
	struct inode *parent = n->parent;

	if (!n->name)
		return;
	unhash_name(n);
	free(n->name);
	n->name = NULL;
	n->parent = NULL;
	parent->children--;
	maybe_free(parent);
}

/* Frees n when nothing needs it any more: no lookup by the kernel and no named child. */
static void maybe_free(struct inode *n)
{
	if (n == table.root || n->nlookup || n->children)
		return;
	drop_name(n); /* may free the parent in turn */
	unhash_ino(n);
	table.count--;
	free(n);
}

/* Doubles both tables when they hold more inodes than buckets. Out of memory, the chains
 * only grow longer. */
static void grow(void)
{
	size_t old = table.nbuckets;
	struct inode **by_ino, **by_name, **old_ino = table.by_ino;

	if (table.count < old)
		return;
	by_ino = calloc(old * 2, sizeof(*by_ino));
	by_name = calloc(old * 2, sizeof(*by_name));
	if (!by_ino || !by_name) {
		free(by_ino);
		free(by_name);
		return;
	}
	free(table.by_name);
	table.by_ino = by_ino;
	table.by_name = by_name;
	table.nbuckets = old * 2;
	for (size_t i = 0; i < old; i++) {
		struct inode *n = old_ino[i], *next;

		for (; n; n = next) {
			size_t s = ino_slot(n->ino);

			next = n->next_ino;
			n->next_ino = table.by_ino[s];
			table.by_ino[s] = n;
			if (n->name) {
				s = name_slot(n->parent->ino, n->name);
				n->next_name = table.by_name[s];
				table.by_name[s] = n;
			}
		}
	}
	free(old_ino);
}

static void free_all(void)
{
	for (size_t i = 0; table.by_ino && i < table.nbuckets; i++) {
		struct inode *n = table.by_ino[i], *next;

		for (; n; n = next) {
			next = n->next_ino;
			free(n->name);
			free(n);
		}
	}
	free(table.by_ino);
	free(table.by_name);
	table.by_ino = table.by_name = NULL;
	table.root = NULL;
	table.count = 0;
}

int inodes_init(void)
{
	int result = 0;

	pthread_mutex_lock(&table.lock);
	free_all();
	table.nbuckets = FIRST_BUCKETS;
	table.by_ino = calloc(table.nbuckets, sizeof(*table.by_ino));
	table.by_name = calloc(table.nbuckets, sizeof(*table.by_name));
	table.root = calloc(1, sizeof(*table.root));
	if (!table.by_ino || !table.by_name || !table.root) {
		free(table.root);
		table.root = NULL;
		result = -ENOMEM;
	} else {
		table.root->ino = INODES_ROOT;
		table.root->nlookup = 1;
		table.by_ino[ino_slot(INODES_ROOT)] = table.root;
		table.next = INODES_ROOT + 1;
	}
	pthread_mutex_unlock(&table.lock);
	return result;
}

void inodes_cleanup(void)
{
	pthread_mutex_lock(&table.lock);
	free_all();
	pthread_mutex_unlock(&table.lock);
}

uint64_t inodes_remember(uint64_t parent, const char *name)
{
	struct inode *p, *n = NULL;
	uint64_t ino = 0;

	pthread_mutex_lock(&table.lock);
	p = find_ino(parent);
	if (!p || (p != table.root && !p->name))
		goto out;
	n = find_child(p, name);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n || !(n->name = strdup(name))) {
			free(n);
			goto out;
		}
		n->ino = table.next++;
		n->parent = p;
		link_name(n);
		n->next_ino = table.by_ino[ino_slot(n->ino)];
		table.by_ino[ino_slot(n->ino)] = n;
		table.count++;
		grow();
	}
	n->nlookup++;
	ino = n->ino;
out:
	pthread_mutex_unlock(&table.lock);
	return ino;
}

static char *path_of(const struct inode *n, const char *name);

void inodes_forget(uint64_t ino, uint64_t n, char **path)
{
	struct inode *node;

	if (path)
		*path = NULL;
	pthread_mutex_lock(&table.lock);
	node = find_ino(ino);
	if (node && node != table.root) {
		node->nlookup = node->nlookup > n ? node->nlookup - n : 0;
		if (path)
			*path = path_of(node, NULL);
		maybe_free(node);
	}
	pthread_mutex_unlock(&table.lock);
}

/* The path of n, plus "/name" when name is given. Lock held. */
static char *path_of(const struct inode *n, const char *name)
{
	size_t len = name ? strlen(name) + 1 : 0, at;
	const struct inode *p;
	char *path;

	for (p = n; p != table.root; p = p->parent) {
		if (!p->name)
			return NULL; /* removed: no path leads to it */
		len += strlen(p->name) + 1;
	}
	path = malloc(len ? len + 1 : 2);
	if (!path)
		return NULL;
	if (!len)
		return strcpy(path, "/");
	at = len;
	path[at] = '\0';
	if (name) {
		at -= strlen(name);
		memcpy(path + at, name, strlen(name));
		path[--at] = '/';
	}
	for (p = n; p != table.root; p = p->parent) {
		at -= strlen(p->name);
		memcpy(path + at, p->name, strlen(p->name));
		path[--at] = '/';
	}
	return path;
}

/* The path of ino, plus "/name" when name is given; NULL as inodes_path says. */
static char *path_under(uint64_t ino, const char *name)
{
	struct inode *n;
	char *path = NULL;

	pthread_mutex_lock(&table.lock);
	n = find_ino(ino);
	if (n)
		path = path_of(n, name);
	pthread_mutex_unlock(&table.lock);
	return path;
}

char *inodes_path(uint64_t ino)
{
	return path_under(ino, NULL);
}

char *inodes_child_path(uint64_t parent, const char *name)
{
	return path_under(parent, name);
}

void inodes_unlinked(uint64_t parent, const char *name)
{
	struct inode *p, *n;

	pthread_mutex_lock(&table.lock);
	p = find_ino(parent);
	n = p ? find_child(p, name) : NULL;
	if (n) {
		drop_name(n);
		maybe_free(n);
	}
	pthread_mutex_unlock(&table.lock);
}

/* Gives n the name `name` in folder p. Lock held. 0, or -ENOMEM (n keeps no name). */
static int give_name(struct inode *n, struct inode *p, const char *name)
{
	char *copy = strdup(name);

	drop_name(n);
	if (!copy)
		return -ENOMEM;
	n->name = copy;
	n->parent = p;
	link_name(n);
	return 0;
}

void inodes_renamed(uint64_t from_parent, const char *from, uint64_t to_parent, const char *to,
		    bool exchange)
{
	struct inode *fp, *tp, *src = NULL, *dst = NULL;

	pthread_mutex_lock(&table.lock);
	fp = find_ino(from_parent);
	tp = find_ino(to_parent);
	if (fp && tp) {
		src = find_child(fp, from);
		dst = find_child(tp, to);
	}
	/* The folders stay while names move between them: a drop_name below must not free
	 * one (the kernel holds both, but a forget may be on its way). */
	if (fp)
		fp->children++;
	if (tp)
		tp->children++;
	if (dst)
		drop_name(dst);
	if (src)
		give_name(src, tp, to);
	if (dst && src && exchange)
		give_name(dst, fp, from);
	if (dst)
		maybe_free(dst);
	if (src)
		maybe_free(src);
	if (fp) {
		fp->children--;
		maybe_free(fp);
	}
	if (tp) {
		tp->children--;
		maybe_free(tp); /* fp, if the same, is still held by this count until here */
	}
	pthread_mutex_unlock(&table.lock);
}

size_t inodes_count(void)
{
	size_t n;

	pthread_mutex_lock(&table.lock);
	n = table.count;
	pthread_mutex_unlock(&table.lock);
	return n;
}

uint64_t inodes_made(void)
{
	uint64_t n;

	pthread_mutex_lock(&table.lock);
	n = table.next ? table.next - INODES_ROOT - 1 : 0;
	pthread_mutex_unlock(&table.lock);
	return n;
}
