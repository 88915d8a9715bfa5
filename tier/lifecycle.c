/* lifecycle.c - the lifecycle engine (TransitionToIA / TransitionToArchive /
 * TransitionToPrimaryStorageClass).  Until the object stores land, no chunk
 * is ever cold, and these hooks of backend/fs.c have nothing to move. */
#include <errno.h>

#include "backend/fs_i.h"

int tier_make_local(struct fs *fs, struct fs_inode *in, uint64_t off, uint64_t len)
{
	return in->cold ? -EIO : 0;
}

int tier_read_cold(struct fs *fs, struct fs_inode *in, uint64_t idx, void **ret_buf,
		   size_t *ret_len)
{
	return -EIO;
}

void tier_note_access(struct fs *fs, uint64_t ino, uint64_t first, uint64_t last, int64_t now)
{
}

bool tier_chunk_is_cold(struct fs *fs, struct fs_inode *in, uint64_t idx)
{
	return false;
}
