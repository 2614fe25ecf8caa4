#include "attr.h"
#include "caller.h"

#include "pinstore.h"

#include <string.h>

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

bool attr_size_known(const struct node_info *info)
{
	struct pinstore_rec rec;

	return info->size >= 0 || (pinstore_get(info->pin_id, &rec) == 0 && rec.size >= 0);
}

bool attr_fill(const struct node_info *info, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = info->kind | (info->kind == S_IFREG   ? 0644
				    : info->kind == S_IFLNK ? 0777
							    : 0755);
	/* With -o allow_other, default_permissions keeps a SECRET board's pins from others. */
	if (info->secret)
		st->st_mode &= info->kind == S_IFDIR ? ~077 : ~066;
	/* A video's cover, a carousel's item: shown, never written, moved or removed alone. */
	if (info->type == NODE_PIN_PART)
		st->st_mode &= ~0222;
	st->st_nlink = info->nlink;
	st->st_uid = owner_uid();
	st->st_gid = owner_gid();
	/* An image whose size could not be learnt reads as 0 and is opened with direct_io,
	 * so readers still get every byte: the size is never made up. */
	st->st_size = info->size > 0 ? info->size : 0;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 65536;
	st->st_mtime = st->st_ctime = st->st_atime = info->mtime;
	return !kept_stat(info, st) &&
	       (info->type == NODE_PIN_IMAGE || info->type == NODE_PIN_PART) && info->size < 0;
}
