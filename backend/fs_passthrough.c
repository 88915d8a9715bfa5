/* fs_passthrough.c - passthrough: whether a file may be served by the
 * kernel from its backing file (fs_file_passthrough), the registrations per
 * session (struct fs_pt_reg), and adopting what the kernel's writes left on
 * the backing file (size, mtime) into the metadata (fs_pt_refresh).
 *
 * Locks: an inode's lock guards ncached, npt, pt_regs and pt_dirty/
 * pt_mtime_ns writes (the atomics are also read without it, by
 * fs_pt_pending under meta_lock, which takes only fs.itab_lock to find the
 * inode); fs_file_passthrough holds the inode's io rwlock shared;
 * fs.pt_files and fs.pt_dirty_n are atomics; fs.space_lock guards the
 * free-space check.
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

/* Passthrough writes bypass check_space(): a file is only opened that way
 * while this much is free, so that the reserve is not what they eat. */
#define FS_PT_MIN_FREE    (1ull << 30)

uint64_t fs_passthrough_count(struct fs *fs)
{
	return atomic_load(&fs->pt_files);
}

/* Commits the size and mtime that passthrough writes left on in's backing
 * file since they were last adopted; clears pt_dirty once no passthrough
 * handle is left.  in->lock held (or in unreachable). */
int fs_pt_refresh(struct fs *fs, struct fs_inode *in)
{
	struct stat st;
	int r;

	if (!atomic_load(&in->pt_dirty) || !in->cf)
		return 0;
	r = fs->chunks->ops->stat(fs->chunks, in->ino, in->cf, &st);
	if (r < 0)
		return r;
	if ((uint64_t)st.st_size != in->size ||
	    fs_ts_ns(st.st_mtim) != atomic_load(&in->pt_mtime_ns)) {
		/* the allocated size goes with it, from the same fstat: the
		 * last close then finds it recorded (fs_inode_record_blocks) */
		fs_meta_lock(fs);
		r = meta_inode_set_size(fs->meta, in->ino, (uint64_t)st.st_size, &st.st_mtim,
					(int64_t)st.st_blocks);
		fs_meta_unlock(fs);
		if (r < 0)
			return r;
		in->size = (uint64_t)st.st_size;
		in->blocks = (int64_t)st.st_blocks;
		atomic_store(&in->pt_mtime_ns, fs_ts_ns(st.st_mtim));
	}
	if (in->npt == 0) {
		atomic_store(&in->pt_dirty, false);
		atomic_fetch_sub(&fs->pt_dirty_n, 1);
	}
	return 0;
}

/* fs_pt_refresh with in->lock taken here. */
int fs_pt_commit(struct fs *fs, struct fs_inode *in)
{
	int r;

	pthread_mutex_lock(&in->lock);
	r = fs_pt_refresh(fs, in);
	pthread_mutex_unlock(&in->lock);
	return r;
}

/* For an inode leaving memory (its last reference, or fs_close): commits
 * what passthrough writes left, or says that the next mount will not have
 * it.  in unreachable. */
void fs_pt_refresh_last(struct fs *fs, struct fs_inode *in)
{
	if (atomic_load(&in->pt_dirty) && fs_pt_refresh(fs, in) < 0)
		log_err("inode %" PRIu64 ": the size and mtime of its last passthrough "
			"writes could not be recorded; the next mount keeps the old ones",
			in->ino);
}

/* After the daemon itself changed a passthrough file's backing file
 * (truncate, fallocate): its new mtime is not a kernel write to adopt. */
void fs_pt_rebase(struct fs *fs, struct fs_inode *in)
{
	struct stat st;

	if (atomic_load(&in->pt_dirty) &&
	    fs->chunks->ops->stat(fs->chunks, in->ino, in->cf, &st) == 0)
		atomic_store(&in->pt_mtime_ns, fs_ts_ns(st.st_mtim));
}

/* Whether ino has passthrough writes not yet committed; *ret_ns is the
 * backing file's mtime when last adopted.  Takes only itab_lock, so it may
 * be called under meta_lock. */
bool fs_pt_pending(struct fs *fs, uint64_t ino, int64_t *ret_ns)
{
	struct fs_inode *in;
	bool dirty = false;

	if (atomic_load(&fs->pt_dirty_n) == 0)
		return false;
	pthread_mutex_lock(&fs->itab_lock);
	in = *fs_itab_slot(fs, ino);
	if (in && atomic_load(&in->pt_dirty)) {
		dirty = true;
		*ret_ns = atomic_load(&in->pt_mtime_ns);
	}
	pthread_mutex_unlock(&fs->itab_lock);
	return dirty;
}

struct fs_pt_snap fs_pt_snap_ino(struct fs *fs, uint64_t ino)
{
	struct fs_pt_snap ps = FS_PT_NONE;
	struct fs_inode *in;

	pthread_mutex_lock(&fs->itab_lock);
	in = *fs_itab_slot(fs, ino);
	if (in) {
		ps.open = in->nopen > 0;
		if (atomic_load(&in->pt_dirty)) {
			ps.dirty = true;
			ps.ns = atomic_load(&in->pt_mtime_ns);
		}
	}
	pthread_mutex_unlock(&fs->itab_lock);
	return ps;
}

struct fs_pt_snap fs_pt_snap(struct fs *fs, const struct meta_inode *mi)
{
	return S_ISREG(mi->mode) ? fs_pt_snap_ino(fs, mi->ino) : FS_PT_NONE;
}

/* Passthrough is for files the kernel may write without us: no set-user-ID
 * or set-group-ID bit the kernel would have to clear on write (it only
 * does so on the daemon path). */
static bool pt_mode_ok(struct fs *fs, uint64_t ino)
{
	struct meta_inode mi;
	size_t n;
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, ino, &mi);
	/* nor file capabilities, which a write must drop */
	if (r == 0 && meta_xattr_get(fs->meta, ino, XATTR_CAPS, NULL, 0, &n) != -ENODATA)
		r = -EEXIST;
	fs_meta_unlock(fs);
	return r == 0 && fs_kill_suidgid(mi.mode) == mi.mode;
}

static bool pt_space_ok(struct fs *fs)
{
	bool ok;

	pthread_mutex_lock(&fs->space_lock);
	fs_space_update(fs, false);
	ok = fs->space_free >= FS_PT_MIN_FREE + FS_SPACE_RESERVE + fs->space_inflight;
	pthread_mutex_unlock(&fs->space_lock);
	return ok;
}

int fs_file_passthrough(struct fs *fs, struct fs_file *f, const struct fs_passthrough *pt)
{
	struct fs_inode *in = f->inode;
	struct fs_pt_reg *reg = NULL;
	uint64_t size = 0;
	struct stat st = { 0 };
	int fd, id = 0;

	if (!pt || !pt->attach || f->pt)
		return 0;
	/* io shared: a tier move's commit and punch (io exclusive) is either
	 * done, and then cf->nonlocal says so, or not begun, and then the write
	 * generation bumped here makes it give up. */
	pthread_rwlock_rdlock(&in->io);
	pthread_mutex_lock(&in->lock);
	if (in->npt > 0) {
		for (reg = in->pt_regs; reg && reg->ops != pt; reg = reg->next)
			;
		/* Another session's handles use passthrough: this one registers
		 * the backing file on its own connection (backing ids are per
		 * connection), unless the inode has a handle on the daemon path
		 * besides this one, whose kernel would refuse it. */
		if (!reg && in->ncached > 1)
			goto out;
	}
	if (in->npt == 0) {
		/* A later open shares the first one's backing file whatever the
		 * mode is now: the kernel allows only one kind of handle per
		 * inode.  That is safe for a file made set-user-ID or given a
		 * capability since: the kernel asks us to drop them before every
		 * write, passthrough or not (fs_kill_priv from fuse/dir.c).
		 * The kernel refuses a passthrough open while the inode has
		 * cached handles (ours counts itself), and vice versa.  O_DIRECT
		 * stays on the daemon path: the kernel opens the backing file
		 * with the flags of this open, and a later fcntl(F_SETFL)
		 * dropping O_DIRECT (as dd does for an unaligned tail) would not
		 * reach it. */
		if (in->ncached > 1 || in->cf->nonlocal || (f->flags & O_DIRECT) ||
		    !pt_space_ok(fs))
			goto out;
		if (f->fresh) {
			if (!f->fresh_pt_ok)
				goto out;
			st.st_mtim.tv_sec = st.st_mtim.tv_nsec = 0;   /* adopted at release */
		} else if (!pt_mode_ok(fs, in->ino) ||
			   fs->chunks->ops->stat(fs->chunks, in->ino, in->cf, &st) < 0 ||
			   (!atomic_load(&in->pt_dirty) && (uint64_t)st.st_size != in->size)) {
			goto out;        /* a size not ours to explain: keep the daemon path */
		}
	}
	if (!reg) {
		reg = calloc(1, sizeof(*reg));
		if (!reg)
			goto out;
		fd = fs->chunks->ops->passthrough_fd(fs->chunks, in->cf);
		id = fd >= 0 ? pt->attach(fd, pt->arg) : 0;
		if (id <= 0) {
			free(reg);
			id = 0;
			goto out;
		}
		reg->ops = pt;
		reg->id = id;
		reg->next = in->pt_regs;
		in->pt_regs = reg;
		if (in->npt == 0 && !atomic_load(&in->pt_dirty)) {
			atomic_store(&in->pt_mtime_ns, fs_ts_ns(st.st_mtim));
			atomic_store(&in->pt_dirty, true);
			atomic_fetch_add(&fs->pt_dirty_n, 1);
		}
	}
	reg->n++;
	in->npt++;
	in->ncached--;
	f->pt = true;
	f->pt_ops = pt;
	id = reg->id;
	size = in->size;
	atomic_fetch_add(&in->write_gen, 1);
out:
	pthread_mutex_unlock(&in->lock);
	pthread_rwlock_unlock(&in->io);
	if (id) {
		atomic_fetch_add(&fs->pt_files, 1);
		fs_note_access(fs, in, 0, size);
	}
	return id;
}
