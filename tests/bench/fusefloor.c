/* A FUSE file system that serves a copy of a folder from memory and does nothing else: the
 * least a file system in FUSE costs the programs that use it. tests/bench/bench.py runs a warm
 * grep on it beside pinfs's (docs/performance.md): every open of a file is a round trip to the
 * daemon, and every close a second one, whatever the daemon does; this one answers each at
 * once, from memory.
 *
 * It makes the choices pinfs makes, so that the kernel does the same work for both: readdirplus
 * with every entry's attributes, names and attributes kept 1 s, files opened with keep_cache
 * and noflush, and one thread that serves what it reads and looks for the next request for
 * 50 µs before it sleeps.
 *
 * Usage: fusefloor SRC MOUNTPOINT. It stays in the foreground until unmounted
 * (fusermount3 -u MOUNTPOINT) or sent SIGTERM or SIGINT. Read-only. */
#include <fuse_lowlevel.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S 1.0
#define LOOK_NS	  50000LL

/* Node i has inode number i + 1: the root is FUSE_ROOT_ID. */
struct node {
	char *name;
	mode_t mode;
	char *data; /* a file's bytes */
	size_t size;
	fuse_ino_t *kids; /* a folder's entries, in the order readdir gave them */
	size_t nkids;
};

static struct node *nodes;
static size_t nnodes, capnodes;

static struct node *node_of(fuse_ino_t ino)
{
	return ino >= 1 && ino <= nnodes ? &nodes[ino - 1] : NULL;
}

/* A new node named name (copied); its inode number, or 0 when out of memory. */
static fuse_ino_t add_node(const char *name, mode_t mode)
{
	if (nnodes == capnodes) {
		size_t cap = capnodes ? capnodes * 2 : 1024;
		struct node *n = realloc(nodes, cap * sizeof(*n));

		if (!n)
			return 0;
		nodes = n;
		capnodes = cap;
	}
	nodes[nnodes] = (struct node){.name = strdup(name), .mode = mode};
	if (!nodes[nnodes].name)
		return 0;
	return ++nnodes;
}

/* The whole of the file at path, into n. 0 or -1. */
static int load_file(const char *path, struct node *n)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), result = -1;
	size_t got = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto out;
	n->data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!n->data)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, n->data + got, (size_t)st.st_size - got);

		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	n->size = got;
	result = 0;
out:
	close(fd);
	return result;
}

/* Loads the folder at path, whose node is dir, and everything below it. 0 or -1. */
static int load_dir(const char *path, fuse_ino_t dir)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int result = 0;

	if (!d)
		return -1;
	while (result == 0 && (e = readdir(d))) {
		char sub[4096];
		struct stat st;
		fuse_ino_t ino, *kids;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub) ||
		    lstat(sub, &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
			continue; /* only folders and plain files are copied */
		ino = add_node(e->d_name, S_ISDIR(st.st_mode) ? S_IFDIR | 0555 : S_IFREG | 0444);
		kids = ino ? realloc(node_of(dir)->kids, (node_of(dir)->nkids + 1) * sizeof(*kids))
			   : NULL;
		if (!kids) {
			result = -1;
			break;
		}
		node_of(dir)->kids = kids;
		kids[node_of(dir)->nkids++] = ino;
		result = S_ISDIR(st.st_mode) ? load_dir(sub, ino) : load_file(sub, node_of(ino));
	}
	closedir(d);
	return result;
}

static void free_nodes(void)
{
	for (size_t i = 0; i < nnodes; i++) {
		free(nodes[i].name);
		free(nodes[i].data);
		free(nodes[i].kids);
	}
	free(nodes);
}

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
	const struct node *n = node_of(ino);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	st->st_size = (off_t)n->size;
	st->st_uid = getuid();
	st->st_gid = getgid();
}

static void fill_entry(fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->attr_timeout = TIMEOUT_S;
	e->entry_timeout = TIMEOUT_S;
	fill_attr(ino, &e->attr);
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct node *p = node_of(parent);
	struct fuse_entry_param e;

	/* A scan: lookups are rare here, as readdirplus gives the kernel every entry. */
	for (size_t i = 0; p && i < p->nkids; i++) {
		if (strcmp(node_of(p->kids[i])->name, name) == 0) {
			fill_entry(p->kids[i], &e);
			fuse_reply_entry(req, &e);
			return;
		}
	}
	fuse_reply_err(req, ENOENT);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (!node_of(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(ino, &st);
	fuse_reply_attr(req, &st, TIMEOUT_S);
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (!node_of(ino) || S_ISDIR(node_of(ino)->mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	const struct node *n = node_of(ino);

	(void)fi;
	if ((size_t)off >= n->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > n->size - (size_t)off)
		size = n->size - (size_t)off;
	fuse_reply_buf(req, n->data + off, size);
}

static void ff_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	const struct node *d = node_of(ino);
	char *buf = malloc(size ? size : 1);
	size_t len = 0;

	(void)fi;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; d && i < d->nkids; i++) {
		struct fuse_entry_param e;
		size_t need;

		fill_entry(d->kids[i], &e);
		need = fuse_add_direntry_plus(req, buf + len, size - len, node_of(d->kids[i])->name,
					      &e, (off_t)i + 1);
		if (need > size - len)
			break;
		len += need;
	}
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static void ff_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void ff_init(void *data, struct fuse_conn_info *conn)
{
	(void)data;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* attributes with every listing, as pinfs */
}

static const struct fuse_lowlevel_ops ops = {
    .init = ff_init,
    .lookup = ff_lookup,
    .getattr = ff_getattr,
    .open = ff_open,
    .read = ff_read,
    .release = ff_release,
    .readdirplus = ff_readdirplus,
    .releasedir = ff_release,
};

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One thread: serves what it reads, then looks for the next request for LOOK_NS (giving the
 * CPU to anyone who wants it meanwhile) before it sleeps in poll. */
static void serve(struct fuse_session *se)
{
	struct fuse_buf buf = {.mem = NULL};
	int fd = fuse_session_fd(se);
	long long since = now_ns();

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (!fuse_session_exited(se)) {
		int res = fuse_session_receive_buf(se, &buf);

		if (res > 0) {
			fuse_session_process_buf(se, &buf);
			since = now_ns();
		} else if (res == -EAGAIN || res == -EINTR) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			if (now_ns() - since < LOOK_NS)
				sched_yield();
			else if (poll(&p, 1, -1) < 0 && errno != EINTR)
				break;
		} else {
			break; /* 0: unmounted; < 0: the device failed */
		}
	}
	free(buf.mem);
}

int main(int argc, char **argv)
{
	char *fuse_argv[] = {argv[0], NULL};
	struct fuse_args args = FUSE_ARGS_INIT(1, fuse_argv);
	struct fuse_session *se;
	int status = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SRC MOUNTPOINT\n", argv[0]);
		return 2;
	}
	if (!add_node("", S_IFDIR | 0555) || load_dir(argv[1], FUSE_ROOT_ID) != 0) {
		fprintf(stderr, "fusefloor: cannot copy %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		goto out;
	if (fuse_set_signal_handlers(se) == 0) {
		if (fuse_session_mount(se, argv[2]) == 0) {
			serve(se);
			fuse_session_unmount(se);
			status = 0;
		}
		fuse_remove_signal_handlers(se);
	}
	fuse_session_destroy(se);
out:
	free_nodes();
	return status;
}
