/* fs_file.c - open files: create, open, release, fsync, read, write,
 * fallocate and lseek over the chunk store (fs.chunks, chunk.h).
 *
 * Locks: an inode's io rwlock is held shared by reads and writes, and
 * exclusive by fallocate, by a read or write that first makes cold chunks
 * local, by release (waiting for requests still finishing) and, elsewhere,
 * by truncate and layer moves; the inode's lock guards cf, size and the
 * open counts (written under it); fs.space_lock guards fs.space_* (the
 * check and the in-flight reserve of writes); the metadata (size, mtime)
 * is written under meta_lock.  A struct fs_file's fields are set at open
 * (writeback by the session right after, fs_file_set_writeback) and only
 * read after, until fs_release.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "backend/fs_i.h"
#include "common/log.h"
#include "backend/meta.h"
#include "common/safepath.h"

void fs_file_set_writeback(struct fs_file *f, bool on)
{
	f->writeback = on;
}

static int open_ino(struct fs *fs, uint64_t ino, int flags, uint64_t nlookup, bool fresh,
		    struct fs_file **ret_file)
{
	struct fs_file *f;
	struct fs_inode *in;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	r = fs_inode_ref(fs, ino, nlookup, 1, &in);
	if (r < 0) {
		free(f);
		return r;
	}
	pthread_mutex_lock(&in->lock);
	r = fs_inode_open_data(fs, in, fresh);
	if (!r)
		in->ncached++;
	pthread_mutex_unlock(&in->lock);
	if (r < 0) {
		fs_inode_unref(fs, in, nlookup, 1);
		free(f);
		return r;
	}
	f->inode = in;
	f->flags = flags;
	*ret_file = f;
	return 0;
}

int fs_create(struct fs *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
	      mode_t mode, int flags, struct fs_file **ret_file, struct stat *ret_st)
{
	uint64_t xattr_sets = atomic_load(&fs->xattr_sets);
	struct meta_inode mi;
	int r;

	r = fs_new_inode(fs, ctx, parent, name, S_IFREG | (mode & 07777), 0, NULL, &mi);
	if (r < 0)
		return r;
	r = open_ino(fs, mi.ino, flags, 1, true, ret_file);
	if (r < 0)
		return r;        /* the entry stays, as after a crash between the two */
	(*ret_file)->fresh = true;
	fs_inode_mark_no_xattrs(fs, (*ret_file)->inode, xattr_sets);
	(*ret_file)->fresh_pt_ok = fs_kill_suidgid(mi.mode) == mi.mode;
	meta_inode_to_stat(&mi, ret_st);
	ret_st->st_blocks = 0;   /* an empty data file: no fstatat */
	return 0;
}

int fs_open_file(struct fs *fs, uint64_t ino, int flags, struct fs_file **ret_file)
{
	return open_ino(fs, ino, flags, 0, false, ret_file);
}

void fs_release(struct fs *fs, struct fs_file *f)
{
	struct fs_pt_reg **pp, *gone = NULL;
	struct fs_inode *in;
	uint64_t size = 0;
	int r;

	if (!f)
		return;
	in = f->inode;
	/* A read or write whose reply has reached the kernel may still be
	 * finishing (fs_read_end): wait for it before the handle goes. */
	pthread_rwlock_wrlock(&in->io);
	pthread_rwlock_unlock(&in->io);
	pthread_mutex_lock(&in->lock);
	if (!f->pt) {
		in->ncached--;
	} else {
		/* the last handle of its session: that connection's id goes */
		for (pp = &in->pt_regs; *pp && (*pp)->ops != f->pt_ops; pp = &(*pp)->next)
			;
		if (*pp && --(*pp)->n == 0) {
			gone = *pp;
			*pp = gone->next;
		}
	}
	if (f->pt && --in->npt == 0) {
		/* the kernel has let go of the backing file: its writes are done */
		r = fs_pt_refresh(fs, in);
		if (r < 0)
			log_warn("inode %" PRIu64 ": recording the size after passthrough writes: %s; "
				 "retried at the next open or stat", in->ino, strerror(-r));
		size = in->size;
	}
	pthread_mutex_unlock(&in->lock);
	if (gone) {
		gone->ops->detach(gone->id, gone->ops->arg);
		free(gone);
	}
	if (f->pt)
		fs_note_access(fs, in, 0, size);     /* reads did not reach us */
	fs_inode_unref(fs, in, 0, 1);
	free(f);
}

int fs_fsync(struct fs *fs, struct fs_file *f, bool datasync)
{
	int r;

	r = fs->chunks->ops->sync(fs->chunks, f->inode->cf, datasync);
	if (r < 0)
		return r;
	/* the data first, then the size that covers it */
	r = fs_pt_commit(fs, f->inode);
	if (r < 0)
		return r;
	fs_meta_lock(fs);
	r = meta_sync(fs->meta);
	fs_meta_unlock(fs);
	return r;
}

void fs_note_access(struct fs *fs, struct fs_inode *in, uint64_t off, uint64_t len)
{
	int64_t now = fs_now_ns() / 1000000000;
	uint64_t first = off / fs->chunk_size, last = (off + len - 1) / fs->chunk_size;
	bool seen;

	if (len == 0 || !fs->chunks->ops->note_access || fs->read_only)
		return;
	/* a sequential reader notes each chunk once a second, not each request */
	pthread_mutex_lock(&in->lock);
	seen = in->last_note == now && first >= in->noted_first && last <= in->noted_last;
	if (!seen) {
		in->last_note = now;
		in->noted_first = first;
		in->noted_last = last;
	}
	pthread_mutex_unlock(&in->lock);
	if (!seen)
		fs->chunks->ops->note_access(fs->chunks, in->ino, first, last, now);
}

int fs_read_begin(struct fs *fs, struct fs_file *f, off_t off, size_t len, struct fs_rvec *rv)
{
	struct fs_inode *in = f->inode;
	uint64_t size, end;
	int r = 0;

	rv->n = 0;
	rv->total = 0;
	if (off < 0)
		return -EINVAL;
	pthread_rwlock_rdlock(&in->io);
	pthread_mutex_lock(&in->lock);
	size = in->size;
	pthread_mutex_unlock(&in->lock);
	if ((uint64_t)off >= size || len == 0)
		return 0;
	end = (uint64_t)off + len < size ? (uint64_t)off + len : size;
	if (in->cf->nonlocal && fs->chunks->localize_on_read) {
		/* the store's policy: the first read brings the chunks back */
		pthread_rwlock_unlock(&in->io);
		pthread_rwlock_wrlock(&in->io);
		r = in->cf->nonlocal ? fs->chunks->ops->localize(fs->chunks, in->cf, (uint64_t)off,
								  end - (uint64_t)off, size) : 0;
		if (r > 0)
			atomic_fetch_add(&in->write_gen, 1);
		pthread_rwlock_unlock(&in->io);
		pthread_rwlock_rdlock(&in->io);
		if (r < 0) {
			pthread_rwlock_unlock(&in->io);
			return r;
		}
	}
	r = fs->chunks->ops->read(fs->chunks, in->cf, (uint64_t)off, (size_t)(end - (uint64_t)off),
				  rv);
	if (r < 0) {
		fs_read_end(fs, f, rv);
		return r;
	}
	fs_note_access(fs, in, (uint64_t)off, rv->total);
	return 0;
}

void fs_read_end(struct fs *fs, struct fs_file *f, struct fs_rvec *rv)
{
	for (unsigned i = 0; i < rv->n; i++)
		free(rv->seg[i].mem);
	rv->n = 0;
	pthread_rwlock_unlock(&f->inode->io);
}

/* -ENOSPC when fewer than len bytes plus the metadata reserve plus what
 * writes in progress have reserved are free on the data disk; statvfs is
 * asked at most every 100 ms while space is ample.  On success len is
 * reserved until release_space(). */
static int check_space(struct fs *fs, size_t len)
{
	uint64_t need = len + FS_SPACE_RESERVE;
	int r = 0;

	for (int i = 0; i < 2; i++) {
		pthread_mutex_lock(&fs->space_lock);
		fs_space_update(fs, i > 0 || fs->space_free < need + (256ull << 20));
		if (fs->space_free < need + fs->space_inflight)
			r = -ENOSPC;
		else
			fs->space_inflight += len;
		pthread_mutex_unlock(&fs->space_lock);
		if (r != -ENOSPC || !fs->purge_on || i > 0)
			break;
		/* files unlinked a moment ago may still hold their blocks */
		fs_purger_drain(fs);
		r = 0;
	}
	return r;
}

/* Ends a check_space() reservation once the write has landed (or failed);
 * what landed shows in the next statvfs, which check_space asks for on
 * every write once less than 256 MiB beyond the reserve is free. */
static void release_space(struct fs *fs, size_t len)
{
	pthread_mutex_lock(&fs->space_lock);
	fs->space_inflight -= len;
	pthread_mutex_unlock(&fs->space_lock);
}

int fs_write_begin(struct fs *fs, struct fs_file *f, off_t off, size_t len, off_t *ret_off)
{
	struct fs_inode *in = f->inode;
	int r;

	if (off < 0)
		return -EINVAL;
	r = check_space(fs, len);
	if (r < 0)
		return r;
	/* io shared, unless some chunk of the file is not local: then io
	 * exclusive, held until fs_write_end, so that the range is made local
	 * and written with no tier move in between (one that finished after
	 * an unlocked look at nonlocal would leave the write in a punched
	 * range the chunk map calls cold), and an O_APPEND write makes local
	 * the chunks at the end it writes to, not those at the offset the
	 * kernel sent. */
	pthread_rwlock_rdlock(&in->io);
	if (in->cf->nonlocal) {
		pthread_rwlock_unlock(&in->io);
		pthread_rwlock_wrlock(&in->io);
	}
	if ((f->flags & O_APPEND) && !f->writeback) {
		pthread_mutex_lock(&in->lock);
		off = (off_t)in->size;
		pthread_mutex_unlock(&in->lock);
	}
	if ((uint64_t)off + len > FS_MAX_FILE_SIZE) {
		pthread_rwlock_unlock(&in->io);
		release_space(fs, len);
		return -EFBIG;
	}
	if (in->cf->nonlocal) {
		r = fs->chunks->ops->localize(fs->chunks, in->cf, (uint64_t)off, len, in->size);
		if (r > 0)
			atomic_fetch_add(&in->write_gen, 1);
		if (r < 0) {
			pthread_rwlock_unlock(&in->io);
			release_space(fs, len);
			return r;
		}
	}
	if (fs->chunks->ops->write_begin &&
	    (r = fs->chunks->ops->write_begin(fs->chunks, in->cf, (uint64_t)off, len)) < 0) {
		pthread_rwlock_unlock(&in->io);
		release_space(fs, len);
		return r;
	}
	atomic_fetch_add(&in->write_gen, 1);
	*ret_off = off;
	return 0;
}

ssize_t fs_write(struct fs *fs, struct fs_file *f, off_t off, const struct fs_wsrc *src,
		 size_t len)
{
	struct chunk_src cs = { src->mem, src->fd };

	return fs->chunks->ops->write(fs->chunks, f->inode->cf, (uint64_t)off, &cs, len);
}

int fs_write_end(struct fs *fs, struct fs_file *f, off_t off, size_t len, ssize_t written)
{
	struct fs_inode *in = f->inode;
	struct timespec now;
	uint64_t end;
	int r = 0;

	if (fs->chunks->ops->write_end)
		fs->chunks->ops->write_end(fs->chunks, in->cf, (uint64_t)off, written);
	if (written <= 0)
		goto out;
	end = (uint64_t)off + (uint64_t)written;
	pthread_mutex_lock(&in->lock);
	if (end > in->size || !f->writeback) {
		uint64_t size = end > in->size ? end : in->size;

		now = fs_now_ts();
		fs_meta_lock(fs);
		r = meta_inode_set_size(fs->meta, in->ino, size, &now, META_BLOCKS_KEEP);
		fs_meta_unlock(fs);
		if (!r)
			in->size = size;
	}
	pthread_mutex_unlock(&in->lock);
	fs_note_access(fs, in, (uint64_t)off, (uint64_t)written);
out:
	pthread_rwlock_unlock(&in->io);
	release_space(fs, len);
	return r;
}

int fs_fallocate(struct fs *fs, struct fs_file *f, int mode, off_t off, off_t len)
{
	struct fs_inode *in = f->inode;
	uint64_t end;
	int r = 0;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	end = (uint64_t)off + (uint64_t)len;
	if (end > FS_MAX_FILE_SIZE)
		return -EFBIG;
	if (!(mode & FALLOC_FL_PUNCH_HOLE) && (r = check_space(fs, (size_t)len)) < 0)
		return r;
	pthread_rwlock_wrlock(&in->io);
	r = fs_pt_commit(fs, in);           /* in->size must be the real one */
	if (!r && in->cf->nonlocal)
		r = fs->chunks->ops->localize(fs->chunks, in->cf, (uint64_t)off, (uint64_t)len,
					      in->size);
	if (r > 0)
		r = 0;                    /* write_gen is bumped below */
	if (!r)
		r = fs->chunks->ops->allocate(fs->chunks, in->cf, mode, (uint64_t)off, (uint64_t)len);
	atomic_fetch_add(&in->write_gen, 1);
	if (!r) {
		struct timespec now = fs_now_ts();

		pthread_mutex_lock(&in->lock);
		fs_pt_rebase(fs, in);
		if (!(mode & FALLOC_FL_KEEP_SIZE) && end > in->size) {
			fs_meta_lock(fs);
			r = meta_inode_set_size(fs->meta, in->ino, end, &now, META_BLOCKS_KEEP);
			fs_meta_unlock(fs);
			if (!r)
				in->size = end;
		} else if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
			fs_meta_lock(fs);
			r = meta_inode_set_size(fs->meta, in->ino, in->size, &now, META_BLOCKS_KEEP);
			fs_meta_unlock(fs);
		}
		pthread_mutex_unlock(&in->lock);
	}
	pthread_rwlock_unlock(&in->io);
	if (!(mode & FALLOC_FL_PUNCH_HOLE))
		release_space(fs, (size_t)len);
	return r;
}

off_t fs_lseek(struct fs *fs, struct fs_file *f, off_t off, int whence)
{
	struct fs_inode *in = f->inode;
	off_t r;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	pthread_rwlock_rdlock(&in->io);
	r = fs_pt_commit(fs, in);
	if (r < 0)
		goto out;
	if (off < 0 || (uint64_t)off >= in->size) {
		r = -ENXIO;
		goto out;
	}
	r = fs->chunks->ops->seek(fs->chunks, in->cf, off, whence, in->size);
out:
	pthread_rwlock_unlock(&in->io);
	return r;
}
