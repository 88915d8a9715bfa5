/* fs_change.c - changes made behind the kernel's back (fs.h, struct
 * fs_change): the callback the FUSE layer installs, and fs_changed, which
 * whoever made such a change (the tier layer today, a listener for another
 * host's changes later) calls once it committed.
 *
 * change_cb and change_arg are written and read under fs.change_lock, and
 * the callback runs under it, so that fs_set_change_cb(fs, NULL, NULL)
 * returns only once no call of the old one is running.  The callback takes
 * no backend lock, so change_lock may be taken under any of them.
 */
#include <errno.h>
#include <pthread.h>

#include "backend/fs_i.h"

void fs_set_change_cb(struct fs *fs, fs_change_cb cb, void *arg)
{
	pthread_mutex_lock(&fs->change_lock);
	fs->change_cb = cb;
	fs->change_arg = arg;
	pthread_mutex_unlock(&fs->change_lock);
}

void fs_changed(struct fs *fs, const struct fs_change *c)
{
	pthread_mutex_lock(&fs->change_lock);
	if (fs->change_cb)
		fs->change_cb(fs, c, fs->change_arg);
	pthread_mutex_unlock(&fs->change_lock);
}

int fs_file_name(struct fs *fs, uint64_t ino, unsigned nth, uint64_t *ret_parent,
		 char *ret_name)
{
	struct meta_inode mi;
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, ino, &mi);
	if (!r && !S_ISREG(mi.mode))
		r = -ENOENT;
	if (!r)
		r = meta_dentry_of(fs->meta, ino, nth, ret_parent, ret_name);
	fs_meta_unlock(fs);
	return r;
}
