/* chunk_local.c - the local chunk store (chunk.h): one sparse backing file
 * per regular file, DATA_DIR/data/XX/<ino:016x>, XX the low byte of the
 * inode number, chunk i at i * chunk_size.  The only code that opens, reads,
 * writes, cuts or punches a backing file.
 *
 * Backing files are opened beneath datafd following no symbolic link
 * (common/safepath.h) and made 0600.  A read-only store opens them
 * O_RDONLY and stands for a missing one with an empty memory file of the
 * inode's size, which reads as the holes it stands for.
 *
 * Locking: struct local_store is immutable after chunk_local_open; a
 * struct local_file's fd is set at open and closed at close (the caller
 * serialises both with every other op on the file, see chunk.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/chunk.h"
#include "common/safepath.h"

int chunk_local_allocated(int datafd, uint64_t *ret)
{
	uint64_t sum = 0;

	for (unsigned x = 0; x < 256; x++) {
		char sub[3];
		struct dirent *de;
		struct stat st;
		DIR *d;
		int fd;

		snprintf(sub, sizeof(sub), "%02x", x);
		fd = openat(datafd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -ENOMEM;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			/* a file unlinked meanwhile is simply not counted */
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				sum += (uint64_t)st.st_blocks * 512;
		}
		closedir(d);
	}
	*ret = sum;
	return 0;
}

/* Immutable after chunk_local_open. */
struct local_store {
	struct chunk_store cs;
	int datafd;                   /* DATA_DIR/data; the caller's */
	bool read_only;
};

/* One open file: fd is written by open and close (under the inode's lock,
 * never concurrent with another op on the file) and read by the ops under
 * the inode's io rwlock (chunk.h's Locking). */
struct local_file {
	struct chunk_file cf;
	int fd;                       /* the backing file (or a hole memfd) */
};

static struct local_store *ls_of(struct chunk_store *cs)
{
	return (struct local_store *)cs;
}

static int fd_of(struct chunk_file *cf)
{
	return ((struct local_file *)cf)->fd;
}

void chunk_local_path(uint64_t ino, char buf[32])
{
	snprintf(buf, 32, "%02x/%016" PRIx64, (unsigned)(ino & 0xff), ino);
}

static int data_open(struct local_store *ls, uint64_t ino, int flags)
{
	char path[32];

	chunk_local_path(ino, path);
	return safe_openat(ls->datafd, path, flags, 0600);
}

/* A missing backing file of a read-only file system: an empty memory file
 * of the size, which reads as the holes it stands for. */
static int hole_fd(uint64_t size)
{
	int fd = memfd_create("efsfs-holes", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int local_open(struct chunk_store *cs, uint64_t ino, uint64_t size, unsigned flags,
		      struct chunk_file **ret)
{
	struct local_store *ls = ls_of(cs);
	struct local_file *lf;
	struct stat st;
	int fd, r;

	if (ls->read_only) {
		fd = data_open(ls, ino, O_RDONLY);
		if (fd == -ENOENT && !(flags & CHUNK_OPEN_EXISTING))
			fd = hole_fd(size);
	} else if (flags & CHUNK_OPEN_FRESH) {
		fd = data_open(ls, ino, O_RDWR | O_CREAT | O_TRUNC);
	} else if (flags & CHUNK_OPEN_EXISTING) {
		fd = data_open(ls, ino, O_RDWR);
	} else {
		fd = data_open(ls, ino, O_RDWR | O_CREAT);
		if (fd >= 0 && (fstat(fd, &st) < 0 || ((uint64_t)st.st_size != size &&
						       ftruncate(fd, (off_t)size) < 0))) {
			r = -errno;
			close(fd);
			return r;
		}
	}
	if (fd < 0)
		return fd;
	lf = calloc(1, sizeof(*lf));
	if (!lf) {
		close(fd);
		return -ENOMEM;
	}
	lf->cf.cs = cs;
	lf->cf.ino = ino;
	lf->fd = fd;
	*ret = &lf->cf;
	return 0;
}

static void local_close(struct chunk_store *cs, struct chunk_file *cf)
{
	if (!cf)
		return;
	close(fd_of(cf));
	free(cf);
}

static int local_read(struct chunk_store *cs, struct chunk_file *cf, uint64_t off, size_t len,
		      struct fs_rvec *rv)
{
	if (len == 0)
		return 0;
	if (rv->n >= FS_RSEG_MAX)
		return 0;
	rv->seg[rv->n++] = (struct fs_rseg){ fd_of(cf), (off_t)off, len, NULL };
	rv->total += len;
	return 0;
}

static ssize_t local_pread(struct chunk_store *cs, struct chunk_file *cf, void *buf, size_t len,
			   uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd_of(cf), (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Copies from a pipe through memory: splice refused the pair. */
static ssize_t pipe_copy(int from, int to, uint64_t off, size_t len)
{
	char buf[65536];
	size_t done = 0;

	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t n = read(from, buf, want), w = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		if (n == 0)
			break;
		while (w < n) {
			ssize_t m = pwrite(to, buf + w, (size_t)(n - w), (off_t)(off + done + w));

			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				return done + (size_t)w ? (ssize_t)(done + (size_t)w)
						     : (m < 0 ? -errno : -EIO);
			w += m;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static ssize_t local_write(struct chunk_store *cs, struct chunk_file *cf, uint64_t off,
			   const struct chunk_src *src, size_t len)
{
	int fd = fd_of(cf);
	size_t done = 0;

	if (src->mem) {
		while (done < len) {
			ssize_t n = pwrite(fd, (const char *)src->mem + done, len - done,
					   (off_t)(off + done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done ? (ssize_t)done : (n < 0 ? -errno : -EIO);
			done += (size_t)n;
		}
		return (ssize_t)done;
	}
	/* spliced from the pipe into the file: no copy through our memory
	 * (flags 0, as libfuse's fuse_buf_copy did here) */
	while (done < len) {
		loff_t pos = (loff_t)(off + done);
		ssize_t n = splice(src->fd, NULL, fd, &pos, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS) && done == 0)
			return pipe_copy(src->fd, fd, off, len);
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int local_truncate(struct chunk_store *cs, struct chunk_file *cf, uint64_t old,
			  uint64_t size)
{
	return ftruncate(fd_of(cf), (off_t)size) < 0 ? -errno : 0;
}

static int local_allocate(struct chunk_store *cs, struct chunk_file *cf, int mode, uint64_t off,
			  uint64_t len)
{
	return fallocate(fd_of(cf), mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
}

static int local_punch(struct chunk_store *cs, struct chunk_file *cf, uint64_t off, uint64_t len)
{
	return local_allocate(cs, cf, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

static int local_sync(struct chunk_store *cs, struct chunk_file *cf, bool datasync)
{
	int fd = fd_of(cf);

	return (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
}

static off_t local_seek(struct chunk_store *cs, struct chunk_file *cf, off_t off, int whence,
			uint64_t size)
{
	off_t r = lseek(fd_of(cf), off, whence);

	if (r < 0) {
		r = -errno;
		if (r == -ENXIO && whence == SEEK_HOLE)
			r = (off_t)size;
	}
	return r;
}

static int local_stat(struct chunk_store *cs, uint64_t ino, struct chunk_file *cf,
		      struct stat *ret)
{
	char path[32];

	if (cf)
		return fstat(fd_of(cf), ret) < 0 ? -errno : 0;
	chunk_local_path(ino, path);
	return fstatat(ls_of(cs)->datafd, path, ret, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int local_remove(struct chunk_store *cs, uint64_t ino)
{
	char path[32];

	chunk_local_path(ino, path);
	if (unlinkat(ls_of(cs)->datafd, path, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int local_passthrough_fd(struct chunk_store *cs, struct chunk_file *cf)
{
	return fd_of(cf);
}

static int local_recover(struct chunk_store *cs, int (*cb)(uint64_t ino, void *arg), void *arg)
{
	struct local_store *ls = ls_of(cs);

	for (int i = 0; i < 256; i++) {
		char sub[8];
		struct dirent *e;
		int dfd, r = 0;
		DIR *d;

		snprintf(sub, sizeof(sub), "%02x", i);
		dfd = openat(ls->datafd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return errno == ENOENT ? 0 : -errno;
		d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			return -errno;
		}
		while (!r && (e = readdir(d))) {
			char *endp;
			uint64_t ino;

			if (e->d_name[0] == '.')
				continue;
			ino = strtoull(e->d_name, &endp, 16);
			if (*endp)
				unlinkat(dirfd(d), e->d_name, 0);
			else
				r = cb(ino, arg);
		}
		closedir(d);
		if (r)
			return r;
	}
	return 0;
}

static int local_fix_size(struct chunk_store *cs, uint64_t ino, uint64_t size, bool only_longer,
			  uint64_t *ret_freed)
{
	struct local_store *ls = ls_of(cs);
	struct stat st, after;
	char path[32];
	int fd, r = 0;

	chunk_local_path(ino, path);
	if (fstatat(ls->datafd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size == size ||
	    (only_longer && (uint64_t)st.st_size < size))
		return 0;
	fd = openat(ls->datafd, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
	} else {
		r = 1;
		if (ret_freed)
			*ret_freed = fstat(fd, &after) == 0 && st.st_blocks > after.st_blocks
				     ? (uint64_t)(st.st_blocks - after.st_blocks) * 512 : 0;
	}
	close(fd);
	return r;
}

static const struct chunk_ops local_ops = {
	.open = local_open,
	.close = local_close,
	.read = local_read,
	.pread = local_pread,
	.write = local_write,
	.truncate = local_truncate,
	.allocate = local_allocate,
	.punch = local_punch,
	.sync = local_sync,
	.seek = local_seek,
	.stat = local_stat,
	.remove = local_remove,
	.passthrough_fd = local_passthrough_fd,
	.recover = local_recover,
	.fix_size = local_fix_size,
};

int chunk_local_open(int datafd, uint64_t chunk_size, bool read_only, struct chunk_store **ret)
{
	struct local_store *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return -ENOMEM;
	ls->cs.ops = &local_ops;
	ls->cs.chunk_size = chunk_size;
	ls->datafd = datafd;
	ls->read_only = read_only;
	*ret = &ls->cs;
	return 0;
}

void chunk_local_close(struct chunk_store *cs)
{
	free(cs);
}
