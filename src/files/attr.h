/* One entry as the kernel sees it: a struct stat made from the model's description of a node
 * (struct node_info, the one entry type of every provider's folders). Pure but for the
 * per-pin store's reads. */
#ifndef PINFS_ATTR_H
#define PINFS_ATTR_H

#include "tree.h"

#include <stdbool.h>
#include <sys/stat.h>

/* The attributes of info into st. True when it is an image whose size is not known yet
 * (neither learnt nor kept): it reads as 0, and the kernel must not keep that. */
bool attr_fill(const struct node_info *info, struct stat *st);

/* True when the image's size is known: learnt from Pinterest, or kept by this mount. */
bool attr_size_known(const struct node_info *info);

#endif
