#include "fs.h"

#include "cache.h"
#include "commit.h"
#include "copyin.h"
#include "dirs.h"
#include "edit.h"
#include "local.h"
#include "log.h"
#include "openlist.h"
#include "pinstore.h"
#include "names.h"
#include "social.h"
#include "stamp.h"
#include "stats.h"
#include "toplevel.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TEXT (1L << 20) /* a sidecar being edited; far above any real one */

enum handle_kind {
	H_IMAGE, /* an image: read-only, from the cache or its download */
	H_TEXT,	 /* a generated JSON file, or the edit of one */
	H_LOCAL, /* a local file's staging file */
};

struct handle {
	enum handle_kind kind;
	int fd;
	struct cache_image *img; /* H_IMAGE */
	char *text;		 /* H_TEXT */
	size_t len, cap;
	bool writable, dirty;
	unsigned long local_id; /* H_LOCAL opened for writing: see local_closed */
	bool push; /* a sidecar's text to put in the kernel's page cache at open (fs_text_push) */
	bool committed; /* H_LOCAL: its pin is made; later writes cannot change it */
	bool copied;	/* H_TEXT: another pin's sidecar copied onto a pin just made */
	bool excl;	/* H_LOCAL made with O_EXCL, as cp does in a folder it made */
	/* Two processes may close one descriptor at once (a child's copy at exec, and its
	 * parent's): commit_lock makes one of them commit and the other hear its outcome. It
	 * guards dirty, committed and outcome once the handle is open. */
	pthread_mutex_t commit_lock;
	int outcome; /* what the commit said: every later close of the handle says it too */
	struct open_link link; /* in open_handles */
};

/* Every handle not released yet: fs_close_all frees what is left at the end. */
static struct open_list open_handles = OPEN_LIST_INIT;

static uid_t owner_uid;
static gid_t owner_gid;

/* ---- generated JSON files in the kernel's page cache ----
 *
 * A read-only open of a pin's or a board's JSON file is served from the kernel's page cache
 * when that is sure to give the text as it is now, so a warm grep never reaches the daemon for
 * bytes. Two things could make cached reads wrong, and this table, keyed by path, follows both:
 *  - the size getattr last gave the kernel for the path, which ends every cached read: when
 *    the text's length is no longer that (an edit, a refresh the kernel has not seen yet), the
 *    open is direct_io instead, and reads are never cut at a size the kernel remembered;
 *  - the text whose bytes the kernel's pages may hold for the path's inode (a hash of the
 *    text the last cached open served): when the text is another, even of the same length,
 *    the open goes without keep_cache, which makes the kernel drop those pages.
 * A text is known by its stamp, a 64-bit hash of it (stamp.h).
 * The kernel's inode and its pages move with a rename, so the record moves too. A path not in
 * the table (never stat'ed, or pushed out: the table is bounded) is opened with direct_io.
 * libfuse's auto_cache is not used: it compares only mtime and size, and keeps pages when a
 * text changes to one of the same length within the second its mtime counts. */
#define SEEN_WAYS 4
#define SEEN_SETS (1 << 14) /* 65536 paths, 1.5 MB */

struct seen {
	uint64_t path;	 /* cache_key of the path; 0: a free slot */
	int64_t size;	 /* what getattr last told the kernel; -1: not known */
	uint64_t cached; /* stamp of the text the pages may hold; 0: other bytes, or not known */
};

static struct seen seen[SEEN_SETS][SEEN_WAYS];
static unsigned seen_next; /* the way to reuse next in a full set */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

/* The record of the path with key, or NULL; `make` makes one (pushing out another of its set
 * when full). seen_lock held. */
static struct seen *seen_find(uint64_t key, bool make)
{
	struct seen *set = seen[key & (SEEN_SETS - 1)], *slot = NULL;

	for (int i = 0; i < SEEN_WAYS; i++) {
		if (set[i].path == key)
			return &set[i];
		if (!set[i].path && !slot)
			slot = &set[i];
	}
	if (!make)
		return NULL;
	if (!slot)
		slot = &set[seen_next++ % SEEN_WAYS];
	*slot = (struct seen){.path = key, .size = -1, .cached = 0};
	return slot;
}

/* getattr told the kernel this size for path. */
static void seen_size(const char *path, int64_t size)
{
	pthread_mutex_lock(&seen_lock);
	seen_find(cache_key(path), true)->size = size;
	pthread_mutex_unlock(&seen_lock);
}

/* path was opened as something other than generated text (a local file, an edit): its
 * pages may hold other bytes, and a writer changes the size the kernel knows. */
static void seen_other(const char *path, bool writing)
{
	struct seen *s;

	pthread_mutex_lock(&seen_lock);
	s = seen_find(cache_key(path), true);
	s->cached = 0;
	if (writing)
		s->size = -1;
	pthread_mutex_unlock(&seen_lock);
}

void fs_forgotten(const char *path)
{
	struct seen *s;

	pthread_mutex_lock(&seen_lock);
	s = seen_find(cache_key(path), false);
	if (s)
		s->cached = 0;
	pthread_mutex_unlock(&seen_lock);
}

/* A rename moved the kernel's inode, its size and its pages, from one path to the other. */
static void seen_move(const char *from, const char *to)
{
	struct seen *f, *t, moved = {.size = -1};

	pthread_mutex_lock(&seen_lock);
	f = seen_find(cache_key(from), false);
	if (f) {
		moved = *f;
		f->path = 0;
	}
	t = seen_find(cache_key(to), true);
	t->size = moved.size;
	t->cached = moved.cached;
	pthread_mutex_unlock(&seen_lock);
}

/* Chooses how a read-only open of generated text at path, of length len and stamp text, is
 * served: from the page cache (keeping the pages when they hold this very text), or with
 * direct_io. */
static void text_cache_mode(const char *path, size_t len, uint64_t text, struct fuse_file_info *fi)
{
	struct seen *s;

	pthread_mutex_lock(&seen_lock);
	s = seen_find(cache_key(path), false);
	fi->direct_io = !s || s->size != (int64_t)len;
	fi->keep_cache = !fi->direct_io && s->cached == text;
	/* Without keep_cache the kernel drops the pages at this open; cached reads then fill
	 * them with this text. */
	if (s)
		s->cached = fi->direct_io ? 0 : text;
	pthread_mutex_unlock(&seen_lock);
}

/* The process of the request this thread is serving: lowlevel.c sets it. */
static __thread pid_t caller_pid;

void fs_set_caller(pid_t pid)
{
	caller_pid = pid;
}

void fs_init(struct fuse_conn_info *conn)
{
	/* readdirplus on every listing, not only when the kernel guesses attributes will be
	 * wanted: what the tree knows goes with the names and spares a LOOKUP per file. An image
	 * of unknown size goes bare (fill_described), so a listing never costs a HEAD. */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* O_TRUNC arrives with open, not as a separate truncate of a sidecar. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	owner_uid = getuid();
	owner_gid = getgid();
}

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

static struct handle *handle_new(enum handle_kind kind)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (h) {
		h->kind = kind;
		h->fd = -1;
		pthread_mutex_init(&h->commit_lock, NULL);
		open_list_add(&open_handles, &h->link);
	}
	return h;
}

static void handle_free(struct handle *h)
{
	open_list_remove(&open_handles, &h->link);
	if (h->local_id)
		local_closed(h->local_id);
	if (h->fd >= 0)
		close(h->fd);
	cache_image_close(h->img);
	pthread_mutex_destroy(&h->commit_lock);
	free(h->text);
	free(h);
}

unsigned fs_close_all(void)
{
	struct open_link *l;
	unsigned n = 0;

	while ((l = open_list_first(&open_handles))) {
		handle_free(OPEN_ITEM(l, struct handle, link));
		n++;
	}
	return n;
}

/* A pin this mount made reads back as it was written (pinstore.h): the size of the bytes
 * uploaded and the mtime its writer set, so that rsync -a run again finds it the same. */
static bool kept_stat(const struct node_info *info, struct stat *st)
{
	struct pinstore_rec rec;

	if (info->type != NODE_PIN_IMAGE || pinstore_get(info->pin_id, &rec) != 0)
		return false;
	if (rec.size >= 0) {
		st->st_size = rec.size;
		st->st_blocks = (st->st_size + 511) / 512;
	}
	st->st_mtim = st->st_ctim = rec.mtime;
	return rec.size >= 0;
}

/* True when the image's size is known: learnt from Pinterest, or kept by this mount. */
static bool size_known(const struct node_info *info)
{
	struct pinstore_rec rec;

	return info->size >= 0 || (pinstore_get(info->pin_id, &rec) == 0 && rec.size >= 0);
}

/* The attributes of info into st. True when it is an image whose size is not known yet
 * (neither learnt nor kept): it reads as 0, and the kernel must not keep that. */
static bool fill_stat(const struct node_info *info, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = info->kind | (info->kind == S_IFREG   ? 0644
				    : info->kind == S_IFLNK ? 0777
							    : 0755);
	/* With -o allow_other, default_permissions keeps a SECRET board's pins from others. */
	if (info->secret)
		st->st_mode &= info->kind == S_IFDIR ? ~077 : ~066;
	st->st_nlink = info->nlink;
	st->st_uid = owner_uid;
	st->st_gid = owner_gid;
	/* An image whose size could not be learnt reads as 0 and is opened with direct_io,
	 * so readers still get every byte: the size is never made up. */
	st->st_size = info->size > 0 ? info->size : 0;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 65536;
	st->st_mtime = st->st_ctime = st->st_atime = info->mtime;
	return !kept_stat(info, st) && info->type == NODE_PIN_IMAGE && info->size < 0;
}

/* ---- MOUNT/.pinfs: pinfs's own files, never Pinterest's ---- */

#define PINFS_DIR   "/.pinfs"
#define PINFS_STATS PINFS_DIR "/stats"

static bool in_pinfs_dir(const char *path)
{
	return top_owned_by(path, TOP_PINFS);
}

static int pinfs_getattr(const char *path, struct stat *st)
{
	char *text;

	memset(st, 0, sizeof(*st));
	st->st_uid = owner_uid;
	st->st_gid = owner_gid;
	st->st_mtime = st->st_ctime = st->st_atime = time(NULL);
	/* What the mount did is its owner's business: with -o allow_other, default_permissions
	 * keeps others out. */
	if (strcmp(path, PINFS_DIR) == 0) {
		st->st_mode = S_IFDIR | 0500;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, PINFS_STATS) != 0)
		return -ENOENT;
	text = stats_json();
	if (!text)
		return -ENOMEM;
	st->st_mode = S_IFREG | 0400;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(text);
	free(text);
	return 0;
}

static int pinfs_open(const char *path, struct fuse_file_info *fi)
{
	struct handle *h;

	if (strcmp(path, PINFS_STATS) != 0)
		return strcmp(path, PINFS_DIR) == 0 ? -EISDIR : -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	h = handle_new(H_TEXT);
	if (!h || !(h->text = stats_json())) {
		free(h);
		return -ENOMEM;
	}
	h->len = strlen(h->text);
	/* A snapshot taken at open, read to its end whatever size stat gave before. */
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	return 0;
}

/* Names file managers and other systems look for in every folder: trash folders, lists of
 * hidden files, folder settings, Windows' and macOS's metadata. None can be on Pinterest, so
 * they are refused at once, without listing a board or asking the server anything. */
static bool is_probe_name(const char *path)
{
	static const char *const names[] = {
	    ".Trash",	   ".hidden",	  ".directory", ".xdg-volume-info",
	    "desktop.ini", "autorun.inf", ".DS_Store",	NULL,
	};
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strncmp(base, ".Trash-", 7) == 0 || strncmp(base, "._", 2) == 0)
		return true;
	for (size_t i = 0; names[i]; i++)
		if (strcmp(base, names[i]) == 0)
			return true;
	return false;
}

/* The attributes of path. A lookup (want_size false) does not learn an image's size: *unknown
 * then says the size given is not one, and the kernel must ask again before a stat. */
static int stat_path(const char *path, struct stat *st, struct fuse_file_info *fi, bool want_size,
		     bool *unknown)
{
	struct handle *h = handle_of(fi);
	struct node_info info;
	int result;

	if (!path) /* fstat of a file removed while open: it has no path */
		return h && h->kind == H_LOCAL ? (fstat(h->fd, st) < 0 ? -errno : 0) : -ENOENT;
	if (in_pinfs_dir(path))
		return pinfs_getattr(path, st);
	/* A local scratch file may bear such a name (a .hidden of the user's own): it is found. */
	if (is_probe_name(path) && local_stat(path, st) != 0)
		return -ENOENT;
	if (social_owns(path))
		result = social_stat(path, &info);
	else if (local_stat(path, st) == 0)
		goto local;
	else {
		if (!want_size)
			tree_count_lookup();
		result = tree_stat(path, false, &info);
		/* An unknown size is learnt (a HEAD sweep of the folder) unless this mount
		 * keeps the pin's bytes. */
		if (!result && want_size && info.type == NODE_PIN_IMAGE && !size_known(&info))
			result = tree_stat(path, true, &info);
	}
	if (result == -ENOENT && tree_ghost(path, false)) {
		/* The sidecar of a pin just deleted: found, so that rm can remove it quietly. */
		memset(&info, 0, sizeof(info));
		info.kind = S_IFREG;
		info.nlink = 1;
		result = 0;
	}
	if (result)
		return result;
	*unknown = fill_stat(&info, st);
	/* The text this handle reads (a snapshot taken at open, or the edit as written so far):
	 * the kernel asks with the handle before cached reads, which then end where it ends. */
	if (h && h->kind == H_TEXT)
		st->st_size = (off_t)h->len;
	/* A pin's image path is never a sidecar's: not worth a place in the table. */
	if (S_ISREG(st->st_mode) && info.type != NODE_PIN_IMAGE)
		seen_size(path, st->st_size);
	return 0;
local:
	st->st_nlink = 1;
	st->st_uid = owner_uid;
	st->st_gid = owner_gid;
	seen_size(path, st->st_size);
	return 0;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	bool unknown;

	return stat_path(path, st, fi, true, &unknown);
}

int fs_lookup(const char *path, struct stat *st, bool *size_unknown)
{
	*size_unknown = false;
	return stat_path(path, st, NULL, false, size_unknown);
}

/* A listing goes to libfuse one of two ways. The generated folders (and .pinfs) hand over
 * every name at once, offset 0, and libfuse keeps the list until the folder is closed. The
 * tree's folders give each entry its offset and stop when the kernel's buffer is full: the
 * next call starts after the last offset the kernel took. libfuse 3.14 sends the attributes
 * of readdirplus only in that second way (in the first it announces them and sends none). */
struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
	const char *dir; /* the folder listed */
	off_t after;	 /* the kernel has the entries up to this offset */
	off_t n;	 /* the offset of the last entry met */
	bool full;	 /* the kernel's buffer is full: stop */
};

static int fill_one(void *ctx, const char *name, mode_t kind)
{
	struct fill_ctx *fc = ctx;
	struct stat st = {.st_mode = kind};

	return fc->filler(fc->buf, name, &st, 0, 0);
}

/* The next entry, with its offset; attributes when st is a whole stat (FUSE_FILL_DIR_PLUS). */
static int fill_at(struct fill_ctx *fc, const char *name, const struct stat *st,
		   enum fuse_fill_dir_flags flags)
{
	if (++fc->n <= fc->after)
		return 0;
	if (fc->filler(fc->buf, name, st, fc->n, flags))
		fc->full = true;
	return fc->full;
}

static int fill_bare(void *ctx, const char *name, mode_t kind)
{
	struct stat st = {.st_mode = kind};

	return fill_at(ctx, name, &st, 0);
}

/* dir/name into path (PATH_MAX bytes); false when it does not fit. Not snprintf: a listing
 * makes one for every entry it describes. */
static bool child_path(char *path, const char *dir, const char *name)
{
	size_t nd = strcmp(dir, "/") ? strlen(dir) : 0, nn = strlen(name);

	if (nd + 1 + nn >= PATH_MAX)
		return false;
	memcpy(path, dir, nd);
	path[nd] = '/';
	memcpy(path + nd + 1, name, nn + 1);
	return true;
}

/* readdirplus: an entry goes with its attributes when the tree knows them without a request,
 * so that opening it needs no LOOKUP; the kernel keeps them like a lookup's. An image of
 * unknown size goes with FS_FILL_SIZE_UNKNOWN: the kernel may open it at once, but asks for
 * its attributes (and pinfs for its size) at the first stat. The rest (a local file of the
 * same name, the root's folders) go bare and are looked up when used. */
static int fill_described(void *ctx, const char *name, mode_t kind, const struct node_info *info)
{
	struct fill_ctx *fc = ctx;
	struct stat st;
	char path[PATH_MAX];
	bool unknown;

	if (!info || !child_path(path, fc->dir, name) || local_exists(path))
		return fill_bare(ctx, name, kind);
	unknown = fill_stat(info, &st);
	/* As getattr does: the size the kernel now holds decides how the text is served. */
	if (S_ISREG(st.st_mode) && info->type != NODE_PIN_IMAGE)
		seen_size(path, st.st_size);
	if (unknown)
		return fill_at(fc, name, &st, FUSE_FILL_DIR_PLUS | FS_FILL_SIZE_UNKNOWN);
	return fill_at(fc, name, &st, FUSE_FILL_DIR_PLUS);
}

/* A folder of pinfs's own or a generated one: every name at once. */
static int list_whole(const char *path, struct fill_ctx *fc)
{
	fill_one(fc, ".", S_IFDIR);
	fill_one(fc, "..", S_IFDIR);
	if (social_owns(path))
		return social_list(path, fill_one, fc);
	if (strcmp(path, PINFS_DIR) != 0)
		return -ENOTDIR;
	fill_one(fc, "stats", S_IFREG);
	return 0;
}

/* A walk of the whole mount (find MOUNT, ls -R MOUNT) reads the root and then boards/, in one
 * thread, and reaches pins/ only after the last board: pins/, one long walk of GET /pins, is
 * built in the background from then on, beside the boards. The people folders (a request or
 * three each, whose lists expire with the TTL) are listed side by side once the walker leaves
 * boards/ for another folder of the root. `ls MOUNT` then `ls MOUNT/boards` are two processes,
 * and a walk of boards/ alone never reads the root: neither asks for them. */
#define WALK_WINDOW_S 2.0

/* The threads holding boards/ open that are noted, at most: a walker holds it once, and one
 * more is the second-board rule's to see (tree.c). */
#define HOLDERS_MAX 8

static struct {
	pthread_mutex_t lock;
	pid_t reader; /* the thread that read the root last, 0: none since boards/ was */
	pid_t walker; /* the thread walking the whole mount, 0: none */
	struct timespec at;
	pid_t holders[HOLDERS_MAX]; /* the threads holding boards/ open, one per open */
	unsigned nholders;
} walk_seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

pid_t fs_dir_opened(const char *path)
{
	pid_t tid = caller_pid;

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

void fs_dir_closed(pid_t token)
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

/* find and grep -r (any fts walker) keep a folder open while they go through its
 * subfolders; ls -R, os.walk and a script's listdir close it first. So a board opened by a
 * thread that holds boards/ open is the first of a walk: the other boards can be listed
 * from now on, beside this one, instead of from the second board on (tree_walk_from). */
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

static void note_walk(const char *path, off_t offset)
{
	pid_t tid = caller_pid;
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

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fill_ctx fc = {buf, filler, path, offset, 0, false};
	size_t skip = offset > 2 ? (size_t)offset - 2 : 0, met = 0;
	int result;

	(void)fi;
	if (!path)
		return -ENOENT; /* libfuse's path of a folder removed while open */
	note_walk(path, offset);
	if (!offset && board_folder(path) && holds_boards(caller_pid))
		tree_walk_from(path);
	if (in_pinfs_dir(path) || social_owns(path))
		return offset ? 0 : list_whole(path, &fc);
	if (fill_bare(&fc, ".", S_IFDIR) || fill_bare(&fc, "..", S_IFDIR))
		return 0;
	/* The tree passes over the entries the kernel has. With READDIRPLUS_AUTO off the kernel
	 * always asks for attributes, unless it has no readdirplus at all. */
	fc.n = 2 + (off_t)skip;
	result = flags & FUSE_READDIR_PLUS ? tree_list_info(path, skip, fill_described, &fc, &met)
					   : tree_list(path, skip, fill_bare, &fc, &met);
	if (result || fc.full)
		return result;
	/* The entries after the tree's are numbered after all of its own, skipped or not. */
	fc.n = 2 + (off_t)met;
	for (size_t i = 0; strcmp(path, "/") == 0 && i < top_count; i++)
		if (top_entries[i].owner == TOP_PINFS &&
		    fill_bare(&fc, top_entries[i].name, top_entries[i].kind))
			return 0;
	local_list(path, fill_bare, &fc);
	return 0;
}

/* The folder of path is a board's or a section's: where files can be made. */
static int in_pin_folder(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct node_info info;
	int result;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -EPERM;
	memcpy(dir, path, slash - path);
	dir[slash - path] = '\0';
	result = tree_stat(dir, false, &info);
	if (result)
		return result;
	return info.type == NODE_BOARD || info.type == NODE_SECTION ? 0 : -EPERM;
}

/* cp -r of a board within the mount copies x.jpg, whose pin then shows x.json, then x.json
 * with O_EXCL: onto the sidecar of a pin this mount just made, that text is the new pin's
 * (edit_text_copied). Anything else that exists: EEXIST. */
static int create_onto_sidecar(const char *path, const struct node_info *info,
			       struct fuse_file_info *fi)
{
	struct handle *h;

	if (info->type != NODE_PIN_JSON || !copyin_take(path, caller_pid))
		return -EEXIST;
	h = handle_new(H_TEXT);
	if (!h)
		return -ENOMEM;
	h->writable = h->dirty = h->copied = true;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	seen_other(path, true);
	return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	const char *name = strrchr(path, '/') + 1;
	struct node_info info;
	struct handle *h;
	int result;

	if (in_pinfs_dir(path))
		return -EACCES;
	if (social_owns(path)) {
		result = social_create(path);
		h = result ? NULL : handle_new(H_TEXT);
		if (!result && !h)
			result = -ENOMEM;
		if (!result)
			fi->fh = (uintptr_t)h;
		return result;
	}
	result = in_pin_folder(path);
	if (result)
		return result;
	if (tree_stat(path, false, &info) == 0)
		return create_onto_sidecar(path, &info, fi);
	if (local_busy(path)) {
		log_warn("%s: another writer is making this pin", path);
		return -EBUSY;
	}
	if (local_is_upload_name(name) && names_strip_ext(name, NULL) > 0) {
		char *title = names_to_title(name);
		size_t chars = 0;

		/* Pinterest counts characters; the extension is not part of the title. */
		for (const char *p = title; p && *p && p < title + names_strip_ext(title, NULL);
		     p++)
			chars += ((unsigned char)*p & 0xc0) != 0x80;
		free(title);
		if (chars > 100) {
			log_warn("%s: a pin title has at most 100 characters", path);
			return -ENAMETOOLONG;
		}
	}
	h = handle_new(H_LOCAL);
	if (!h)
		return -ENOMEM;
	h->fd = local_create(path, mode, &h->local_id);
	result = h->fd < 0 ? h->fd : 0;
	if (result == -EEXIST && local_busy(path))
		result = -EBUSY; /* the other writer made it first */
	if (result) {
		handle_free(h);
		return result;
	}
	seen_other(path, true);
	/* Made now, so committed even when nothing is written to it: an empty file is a
	 * partial one (commit.h). */
	h->writable = h->dirty = true;
	h->excl = fi->flags & O_EXCL;
	fi->fh = (uintptr_t)h;
	return 0;
}

static int open_social(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_new(H_TEXT);
	struct node_info info;
	char *url = NULL;
	int result;

	if (!h)
		return -ENOMEM;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		result = -EACCES;
	} else if ((result = social_image_url(path, &url)) == 0) {
		/* A followed board's cover or thumbnail: the bytes of its URL, as for pins. */
		h->kind = H_IMAGE;
		result = cache_image_open(url, &h->img);
		fi->keep_cache = 1;
		fi->direct_io = social_stat(path, &info) != 0 || info.size < 0;
	} else if (result == -EINVAL) {
		result = social_read_text(path, &h->text, &h->len);
		fi->direct_io = 1; /* generated text: its length changes with the account */
	}
	free(url);
	if (result) {
		handle_free(h);
		return result;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

static int open_local(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_new(H_LOCAL);

	if (!h)
		return -ENOMEM;
	h->fd = local_open(path, fi->flags, &h->local_id);
	if (h->fd < 0) {
		int result = h->fd;

		if (result == -EBUSY)
			log_warn("%s: another writer is making this pin", path);
		handle_free(h);
		return result;
	}
	h->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	seen_other(path, h->writable);
	/* An existing local file opened with O_TRUNC is being written anew. */
	h->dirty = h->writable && (fi->flags & O_TRUNC);
	fi->fh = (uintptr_t)h;
	return 0;
}

static int open_image(const char *path, const struct node_info *pin, struct fuse_file_info *fi,
		      struct handle *h)
{
	struct node_info info;
	char *url = NULL;
	int result;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		log_warn("%s: Pinterest cannot replace a pin's image", path);
		return -EPERM;
	}
	/* The bytes this mount uploaded, where it keeps them: the file reads as written. */
	h->fd = pinstore_open(pin->pin_id);
	if (h->fd >= 0) {
		fi->keep_cache = 1;
		return 0;
	}
	result = tree_image_url(path, &url);
	if (result)
		return result;
	/* At once: a download still under way is waited for by each read, for its bytes. */
	result = cache_image_open(url, &h->img);
	free(url);
	if (result)
		return result;
	/* The bytes behind a URL never change, so the kernel may keep them cached. */
	fi->keep_cache = 1;
	if (tree_stat(path, false, &info) == 0 && info.size < 0)
		fi->direct_io = 1;
	return 0;
}

static int open_text(const char *path, const struct node_info *info, struct fuse_file_info *fi,
		     struct handle *h)
{
	bool write = (fi->flags & O_ACCMODE) != O_RDONLY;
	bool sidecar = info->type == NODE_PIN_JSON || info->type == NODE_BOARD_JSON;
	int result;

	if (write && !sidecar)
		return -EACCES;
	/* The text is taken now, as an open file's content is the one it had when opened: a
	 * read the page cache does not answer (the kernel may drop the pages) must not look
	 * the path up again, which a rename may have taken away. A sidecar's came with its
	 * description (open_any); me.json's is taken here. */
	if (!h->text) {
		result = tree_read_text(path, &h->text, &h->len);
		if (result)
			return result;
	}
	/* A sidecar read: its length and its text's hash say how to serve it. */
	if (!write && sidecar) {
		text_cache_mode(path, h->len, stamp_of(h->text, h->len), fi);
		/* Pages to fill: the text goes into them with the open (fs_text_push), which
		 * spares the READ round trip that would follow. */
		h->push = !fi->direct_io && !fi->keep_cache;
		return 0;
	}
	h->cap = h->len;
	h->writable = write;
	h->copied = write && copyin_take(path, caller_pid);
	if (write && (fi->flags & O_TRUNC)) {
		h->len = 0;
		h->dirty = true;
	}
	/* me.json is fetched again at open, and an edit is a buffer of its own: no page
	 * cache, so a read never stops at a size the kernel remembered from before. */
	if (write)
		seen_other(path, true);
	fi->direct_io = 1;
	return 0;
}

static int open_any(const char *path, struct fuse_file_info *fi)
{
	struct node_info info;
	struct handle *h;
	char *text;
	size_t len;
	int result;

	if (in_pinfs_dir(path))
		return pinfs_open(path, fi);
	if (social_owns(path))
		return open_social(path, fi);
	if (local_exists(path))
		return open_local(path, fi);
	result = tree_stat_text(path, &info, &text, &len);
	if (result)
		return result;
	h = handle_new(info.type == NODE_PIN_IMAGE ? H_IMAGE : H_TEXT);
	if (!h) {
		free(text);
		return -ENOMEM;
	}
	h->text = text;
	h->len = len;
	if (info.type == NODE_PIN_IMAGE)
		result = open_image(path, &info, fi, h);
	else
		result = open_text(path, &info, fi, h);
	if (result) {
		handle_free(h);
		return result;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

bool fs_text_push(const struct fuse_file_info *fi, const char **text, size_t *len)
{
	struct handle *h = handle_of(fi);

	if (!h || !h->push || !h->text)
		return false;
	*text = h->text;
	*len = h->len;
	return true;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	int result = open_any(path, fi);

	/* Only a writer has work at close (fs_flush): for the others the kernel need not send
	 * a flush, one round trip less for every file grep or a thumbnailer opens. */
	if (!result && (fi->flags & O_ACCMODE) == O_RDONLY)
		fi->noflush = 1;
	return result;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	ssize_t n;

	(void)path;
	if (h->img)
		return (int)cache_image_read(h->img, buf, size, off);
	if (h->fd >= 0) {
		n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	if ((size_t)off >= h->len)
		return 0;
	n = (ssize_t)(h->len - off < size ? h->len - off : size);
	memcpy(buf, h->text + off, n);
	return (int)n;
}

/* Makes room in an edit buffer for size bytes; new bytes are zero, as in a sparse file. */
static int text_reserve(struct handle *h, size_t size)
{
	char *grown;

	if (size > MAX_TEXT)
		return -EFBIG;
	if (size > h->cap) {
		grown = realloc(h->text, size);
		if (!grown)
			return -ENOMEM;
		h->text = grown;
		h->cap = size;
	}
	if (size > h->len)
		memset(h->text + h->len, 0, size - h->len);
	return 0;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	ssize_t n;
	int result;

	(void)path;
	if (!h->writable)
		return -EBADF;
	pthread_mutex_lock(&h->commit_lock);
	if (h->committed) {
		pthread_mutex_unlock(&h->commit_lock);
		log_warn("a pin was made of this file at an earlier close; its image cannot "
			 "change");
		return -EPERM;
	}
	h->dirty = true;
	if (h->kind == H_LOCAL) {
		pthread_mutex_unlock(&h->commit_lock);
		n = pwrite(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	/* An edit's buffer: a close of another copy of the descriptor may be reading it. */
	result = text_reserve(h, off + size);
	if (!result) {
		memcpy(h->text + off, buf, size);
		if ((size_t)off + size > h->len)
			h->len = off + size;
	}
	pthread_mutex_unlock(&h->commit_lock);
	return result ? result : (int)size;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	int result;

	if (h && h->writable && h->kind == H_LOCAL) {
		bool committed;

		/* Once its pin is made, the descriptor's file is the pin's kept bytes. */
		pthread_mutex_lock(&h->commit_lock);
		committed = h->committed;
		h->dirty = !committed;
		pthread_mutex_unlock(&h->commit_lock);
		if (committed)
			return -EPERM;
		return ftruncate(h->fd, size) < 0 ? -errno : 0;
	}
	if (h && h->writable && h->kind == H_TEXT) {
		pthread_mutex_lock(&h->commit_lock);
		result = text_reserve(h, size);
		if (!result) {
			h->len = size;
			h->dirty = true;
		}
		pthread_mutex_unlock(&h->commit_lock);
		return result;
	}
	if (!path)
		return -ENOENT;
	if (local_exists(path))
		return local_truncate(path, size);
	return social_owns(path) ? -EACCES : -EPERM;
}

/* The caller made the pin whose sidecar is path[0..len) + suffix (copyin.h). */
static void made_by_caller(const char *path, size_t len, const char *suffix)
{
	char sidecar[PATH_MAX];

	if (snprintf(sidecar, sizeof(sidecar), "%.*s%s", (int)len, path, suffix) <
	    (int)sizeof(sidecar))
		copyin_made(sidecar, caller_pid);
}

bool fs_lookup_hidden(const char *path)
{
	return copyin_hidden(path, caller_pid);
}

/* A writer's close: a new image file whose bytes are whole is uploaded, an edited sidecar
 * whose text is whole is applied (commit.h says why a close that finds them partial waits);
 * an error here is what close() returns, so cp and editors report it. last: the release,
 * whose result reaches nobody. */
static int commit(const char *path, struct handle *h, bool last)
{
	bool pending = false;
	int result = 0;

	if (!path) /* removed while open: no pin to edit or to make */
		result = h->kind == H_TEXT && !last ? -ENOENT : 0;
	else if (h->kind == H_TEXT)
		result =
		    commit_edit(path, h->text ? h->text : "", h->len, h->copied, last, &pending);
	else if (h->kind == H_LOCAL && local_is_upload_name(strrchr(path, '/') + 1))
		h->committed = (result = commit_upload(path, last, &pending)) == 0 && !pending;
	h->dirty = pending;
	if (!pending)
		h->outcome = result;
	if (h->committed && h->excl)
		made_by_caller(path, names_strip_ext(path, NULL), ".json");
	return result;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	/* Any process's close counts, the opener's or a child's that inherited the descriptor
	 * (dash runs `cat > f` in a child, and only cat hears a failure): a close while the
	 * bytes are still being written finds them partial and changes nothing. */
	int result;

	pthread_mutex_lock(&h->commit_lock);
	result = h->dirty ? commit(path, h, false) : h->outcome;
	pthread_mutex_unlock(&h->commit_lock);
	return result;
}

bool fs_release_wants_path(const struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	bool dirty;

	if (!h)
		return false;
	pthread_mutex_lock(&h->commit_lock);
	dirty = h->dirty;
	pthread_mutex_unlock(&h->commit_lock);
	return dirty;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	/* Closed without a close that found the bytes whole: a child's flush was skipped, or
	 * the file is still partial (commit.h). Done now if whole; the log tells the result. */
	pthread_mutex_lock(&h->commit_lock);
	if (h->dirty)
		commit(path, h, true);
	pthread_mutex_unlock(&h->commit_lock);
	handle_free(h);
	return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path, (void)datasync, (void)fi;
	return 0;
}

static int fs_unlink(const char *path)
{
	if (in_pinfs_dir(path))
		return -EACCES;
	if (social_owns(path))
		return social_unlink(path);
	if (local_exists(path))
		return local_unlink(path);
	return edit_unlink(path);
}

static int fs_mkdir(const char *path, mode_t mode)
{
	int result;

	(void)mode;
	if (in_pinfs_dir(path))
		return -EACCES;
	if (social_owns(path))
		return social_mkdir(path);
	result = edit_mkdir(path);
	if (!result)
		copyin_folder(path, caller_pid);
	return result;
}

static int fs_rmdir(const char *path)
{
	if (in_pinfs_dir(path))
		return -EACCES;
	if (social_owns(path))
		return social_rmdir(path);
	return edit_rmdir(path);
}

/* A local file renamed onto a sidecar: its text is the edit (sed -i, editors' save). */
static int rename_onto_sidecar(const char *from, const char *to)
{
	char *text = NULL;
	size_t len = 0;
	int fd = local_open(from, O_RDONLY, &(unsigned long){0}), result;

	if (fd < 0)
		return fd;
	result = dirs_read_all(fd, MAX_TEXT, &text, &len);
	close(fd);
	if (!result)
		result = edit_text(to, text, len);
	free(text);
	if (!result)
		local_unlink(from);
	return result;
}

/* A local file renamed: onto a sidecar it is an edit (sed -i, editors' save), onto a plain
 * image name it becomes a pin (rsync), elsewhere it stays local. */
static int rename_local(const char *from, const char *to)
{
	struct node_info info;
	int result = in_pin_folder(to);

	if (result)
		return result;
	if (tree_stat(to, false, &info) == 0) {
		if (info.type != NODE_PIN_JSON && info.type != NODE_BOARD_JSON)
			return -EPERM;
		return rename_onto_sidecar(from, to);
	}
	if (!local_is_upload_name(strrchr(to, '/') + 1))
		return local_rename(from, to);
	return commit_rename(from, to);
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	int result;

	if (social_owns(from) || social_owns(to) || in_pinfs_dir(from) || in_pinfs_dir(to))
		return -EACCES;
	if (local_exists(from))
		result = rename_local(from, to);
	else
		result = edit_rename(from, to, flags);
	if (!result)
		seen_move(from, to);
	return result;
}

/* chmod, chown and utimens: Pinterest keeps no modes, owners or times, so they are accepted
 * and forgotten (cp -a, rsync -a and tar set them after writing). */
static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	if (path && local_exists(path))
		return local_chmod(path, mode);
	return 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	if ((uid != (uid_t)-1 && uid != owner_uid) || (gid != (gid_t)-1 && gid != owner_gid))
		return -EPERM;
	return 0;
}

/* touch, rsync -a, cp -p: a local file keeps its times with its bytes; a pin's image keeps
 * the mtime given, across remounts (pinstore.h); the rest is accepted and forgotten. */
static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct node_info info;
	struct timespec mtime = tv[1];
	struct pinstore_rec rec;

	(void)fi;
	if (path && local_exists(path))
		return local_utimens(path, tv);
	if (!path || mtime.tv_nsec == UTIME_OMIT || tree_stat(path, false, &info) != 0 ||
	    info.type != NODE_PIN_IMAGE)
		return 0;
	if (mtime.tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &mtime);
	if (pinstore_get(info.pin_id, &rec) == 0)
		return pinstore_set_mtime(info.pin_id, &mtime);
	return pinstore_put(info.pin_id, strrchr(path, '/') + 1, NULL, &mtime);
}

static int fs_readlink(const char *path, char *buf, size_t len)
{
	if (!social_owns(path))
		return -EINVAL;
	return social_readlink(path, buf, len);
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	/* pinfs has user.* attributes only. ENOTSUP, not ENODATA, for the other namespaces:
	 * `ls -l` asks security.selinux and system.posix_acl_access of every file, and stops
	 * asking on a device that answered ENOTSUP once, where ENODATA costs two FUSE round
	 * trips per file. */
	if (strncmp(name, "user.", 5) != 0)
		return -ENOTSUP;
	if (local_exists(path))
		return local_getxattr(path, name, value, size);
	if (social_owns(path) || in_pinfs_dir(path))
		return -ENODATA;
	return tree_xattr_get(path, name, value, size);
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
	if (local_exists(path))
		return local_listxattr(path, list, size);
	if (social_owns(path) || in_pinfs_dir(path))
		return 0;
	return tree_xattr_list(path, list, size);
}

static int fs_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	(void)flags;
	if (local_exists(path))
		return local_setxattr(path, name, value, size);
	if (social_owns(path) || in_pinfs_dir(path))
		return -ENOTSUP;
	return edit_setxattr(path, name, value, size);
}

static int fs_removexattr(const char *path, const char *name)
{
	(void)path, (void)name;
	return -ENOTSUP;
}

static int fs_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	/* df's "files used" is the pin count: nothing else on the account is a quota. */
	st->f_files = tree_pin_count();
	/* Pinterest has no limit on pins that a file system could report: free inodes are
	 * plenty, so that df -i, and file managers reading it, never see a full disk. */
	st->f_ffree = st->f_favail = UINT32_MAX;
	st->f_files += st->f_ffree;
	st->f_namemax = 255;
	return 0;
}

const struct fuse_operations pinfs_ops = {
    .getattr = fs_getattr,
    .readlink = fs_readlink,
    .readdir = fs_readdir,
    .mkdir = fs_mkdir,
    .rmdir = fs_rmdir,
    .unlink = fs_unlink,
    .rename = fs_rename,
    .chmod = fs_chmod,
    .chown = fs_chown,
    .truncate = fs_truncate,
    .utimens = fs_utimens,
    .create = fs_create,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .flush = fs_flush,
    .fsync = fs_fsync,
    .release = fs_release,
    .getxattr = fs_getxattr,
    .listxattr = fs_listxattr,
    .setxattr = fs_setxattr,
    .removexattr = fs_removexattr,
    .statfs = fs_statfs,
};
