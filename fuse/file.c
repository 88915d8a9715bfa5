/* file.c - FUSE file data operations: create/open/release, read (spliced
 * straight from the chunk store's segments where the data is local),
 * write_buf (the request's memory or pipe handed to fs_write: spliced into
 * the file, never copied here), fsync, fallocate and lseek.  Each is one
 * call to the meter: data bytes (meter_io, which may delay them) or one
 * metadata request (efsfs_meter_meta).  Files opened with passthrough (see
 * passthrough.c) get no read or write requests at all.  create and open
 * ask the session's view first (view.c: identity, deny_write); requests on
 * an open handle are not checked again, as in the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuse/fuse_i.h"

static struct fs_file *file_of(struct fuse_file_info *fi)
{
	return (struct fs_file *)(uintptr_t)fi->fh;
}

static void set_open_flags(struct efsfs_session *e, struct fuse_file_info *fi, struct fs_file *f)
{
	fs_file_set_writeback(f, e->writeback);
	fi->fh = (uintptr_t)f;
	/* close-to-open: a new open drops the page cache (another session's
	 * writes through passthrough are not seen by this one's kernel) */
	fi->keep_cache = 0;
	/* FLUSH only where its close must tell other sessions (op_flush) */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY || !efsfs_notify_others(e);
}

/* The backing id for the reply to this open or create, 0 for none: the
 * session's connection registers it (when it negotiated passthrough). */
static int passthrough_id(struct efsfs_session *e, struct fs_file *f)
{
	int id = fs_file_passthrough(e->fs, f, e->passthrough ? &e->pt.ops : NULL);

	if (id > 0) {
		atomic_fetch_add(&e->pt_opens, 1);
		meter_passthrough_open(e->meter);
	}
	return id;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fuse_entry_param ep;
	struct fs_file *f;
	struct fs_ctx ctx;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	efsfs_req_ctx(req, &ctx);
	memset(&ep, 0, sizeof(ep));
	parent = efsfs_ino(req, parent);
	r = efsfs_view_new(req, parent);
	if (!r)
		r = fs_create(e->fs, &ctx, parent, name, mode, fi->flags, &f, &ep.attr);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	ep.ino = efsfs_view_nodeid(e, ep.attr.st_ino);
	ep.generation = 1;
	ep.attr_timeout = e->attr_timeout;
	ep.entry_timeout = e->entry_timeout;
	set_open_flags(e, fi, f);
	efsfs_notify_name(e, parent, name, 0);
	efsfs_pt_reply_begin(passthrough_id(e, f));
	r = fuse_reply_create(req, &ep, fi);
	efsfs_pt_reply_end();
	if (r != 0) {
		/* the kernel is gone; it will not release this handle or forget */
		fs_release(e->fs, f);
		fs_forget(e->fs, ep.attr.st_ino, 1);
	}
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_file *f;
	int r;

	efsfs_meter_meta(req, METER_READ);
	r = efsfs_view_open(req, efsfs_ino(req, ino), fi->flags);
	if (!r)
		r = fs_open_file(e->fs, efsfs_ino(req, ino), fi->flags, &f);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	set_open_flags(e, fi, f);
	efsfs_pt_reply_begin(passthrough_id(e, f));
	r = fuse_reply_open(req, fi);
	efsfs_pt_reply_end();
	if (r != 0)
		fs_release(e->fs, f);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_release(req_efsfs(req)->fs, file_of(fi));
	/* passthrough writes (and a handle opened with noflush) */
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		efsfs_notify_inode(req_efsfs(req), ino, FS_CHANGE_DATA | EFSFS_NOTIFY_NOWAIT, 0, 0);
	fuse_reply_err(req, 0);
}

/* The close of a handle opened for writing while another session was live
 * (set_open_flags): what passthrough wrote is there for the others' next
 * open.  With the writeback cache the kernel writes its pages back (and
 * each write tells the others) before it would send this, so such a
 * session answers ENOSYS and the kernel stops sending FLUSH at all. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (req_efsfs(req)->writeback) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	efsfs_notify_inode(req_efsfs(req), ino, FS_CHANGE_DATA, 0, 0);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct efsfs_session *e = req_efsfs(req);
	int r = fs_fsync(e->fs, file_of(fi), datasync != 0);

	efsfs_meter_meta(req, METER_WRITE);
	/* The kernel's cached st_blocks predates the write-back just done:
	 * drop the cached attributes (offset -1: not the pages). */
	if (r == 0)
		fuse_lowlevel_notify_inval_inode(e->se, ino, -1, 0);
	fuse_reply_err(req, -r);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_file *f = file_of(fi);
	struct fs_rvec rv;
	struct fuse_bufvec *bv;
	int r;

	meter_io(e->meter, METER_READ, size);   /* waits while the permitted rate is used up */
	r = fs_read_begin(e->fs, f, off, size, &rv);
	meter_io_done(e->meter, METER_READ, size, r < 0 ? 0 : (int64_t)rv.total);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (rv.n == 0) {
		fs_read_end(e->fs, f, &rv);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	bv = calloc(1, sizeof(*bv) + rv.n * sizeof(bv->buf[0]));
	if (!bv) {
		fs_read_end(e->fs, f, &rv);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	bv->count = rv.n;
	for (unsigned i = 0; i < rv.n; i++) {
		struct fuse_buf *b = &bv->buf[i];

		b->size = rv.seg[i].len;
		if (rv.seg[i].mem) {
			b->mem = rv.seg[i].mem;
		} else {
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
			b->fd = rv.seg[i].fd;
			b->pos = rv.seg[i].pos;
		}
	}
	fuse_reply_data(req, bv, FUSE_BUF_SPLICE_MOVE);
	fs_read_end(e->fs, f, &rv);
	free(bv);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
			 struct fuse_file_info *fi)
{
	struct efsfs_session *e = req_efsfs(req);
	struct fs_file *f = file_of(fi);
	size_t size = fuse_buf_size(in_buf);
	bool killed = false;
	off_t woff;
	ssize_t n = 0;
	int r;

	meter_io(e->meter, METER_WRITE, size);  /* waits while the permitted rate is used up */
	r = fs_write_begin(e->fs, f, off, size, &woff);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* libfuse hands a WRITE as one buffer: the request's memory, or the
	 * pipe it spliced the request into */
	for (size_t i = in_buf->idx; i < in_buf->count; i++) {
		const struct fuse_buf *b = &in_buf->buf[i];
		size_t skip = i == in_buf->idx ? in_buf->off : 0, len = b->size - skip;
		struct fs_wsrc src = { NULL, -1 };
		ssize_t m;

		if (!(b->flags & FUSE_BUF_IS_FD))
			src.mem = (const char *)b->mem + skip;
		else if (!(b->flags & FUSE_BUF_FD_SEEK) && skip == 0)
			src.fd = b->fd;
		else {
			m = -EINVAL;      /* not what libfuse sends */
			n = n ? n : m;
			break;
		}
		m = fs_write(e->fs, f, woff + n, &src, len);
		if (m < 0) {
			n = n ? n : m;
			break;
		}
		n += m;
		if ((size_t)m < len)
			break;
	}
	r = fs_write_end(e->fs, f, woff, size, n);
	meter_io_done(e->meter, METER_WRITE, size, n);
	/* handle_killpriv_v2 (with passthrough): the privileges are ours to drop */
	if (r == 0 && n > 0 && e->passthrough)
		r = fs_kill_priv(e->fs, efsfs_ino(req, ino), efsfs_pt_kill_suidgid(), &killed);
	/* the kernel's cached mode still has the bits: stat must not show them */
	if (killed)
		fuse_lowlevel_notify_inval_inode(e->se, ino, -1, 0);
	if (n > 0)
		efsfs_notify_inode(e, ino, FS_CHANGE_DATA, (uint64_t)woff, (uint64_t)n);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct efsfs_session *e = req_efsfs(req);
	int r = fs_fallocate(e->fs, file_of(fi), mode, off, len);
	bool killed = false;
	struct fs_ctx ctx;

	efsfs_meter_meta(req, METER_WRITE);
	/* handle_killpriv_v2: the request carries no kill flag here; a caller
	 * other than root (the request's identity) stands for one without
	 * CAP_FSETID */
	efsfs_req_ctx(req, &ctx);
	if (r == 0 && e->passthrough)
		r = fs_kill_priv(e->fs, efsfs_ino(req, ino), ctx.uid != 0, &killed);
	if (killed)
		fuse_lowlevel_notify_inval_inode(e->se, ino, -1, 0);
	if (r == 0)
		efsfs_notify_inode(e, ino, FS_CHANGE_DATA, (uint64_t)off, (uint64_t)len);
	fuse_reply_err(req, -r);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	off_t r = fs_lseek(req_efsfs(req)->fs, file_of(fi), off, whence);

	efsfs_meter_meta(req, METER_READ);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_lseek(req, r);
}

void efsfs_file_ops(struct fuse_lowlevel_ops *ops)
{
	ops->create = op_create;
	ops->open = op_open;
	ops->release = op_release;
	/* Nothing is buffered here at close: FLUSH only tells other sessions
	 * (op_flush), and is asked for only when there are some. */
	ops->flush = op_flush;
	ops->fsync = op_fsync;
	ops->read = op_read;
	ops->write_buf = op_write_buf;
	ops->fallocate = op_fallocate;
	ops->lseek = op_lseek;
}
