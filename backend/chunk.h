/* chunk.h - the chunk store: where the bytes of regular files live, behind
 * one ops table.  The core (backend/fs_*.c) reaches file data only through it; nothing
 * else touches a backing file.
 *
 * A file's data is a sequence of chunks of chunk_size bytes (chunk i at
 * i * chunk_size); the store keeps them for one inode at a time through an
 * open struct chunk_file.  Implementations and layers:
 *   chunk_local.c   the bottom store: one sparse backing file per inode,
 *                   DATA_DIR/data/XX/<ino:016x> (see fs.h for the layout)
 *   tier/tier.c     a layer over it: chunks moved to the IA and ARCHIVE
 *                   object stores are read from there, and made local again
 *                   before a write (tier.h); installed by fs_open_layer()
 * A layer embeds struct chunk_store (and struct chunk_file in its own
 * per-file struct) and calls the store below through its ops only.
 *
 * Every op returns 0 (or a byte count, or an offset) or a negative errno:
 *   -ENOENT     open with CHUNK_OPEN_EXISTING, stat: no backing data
 *   -EIO        the bytes could not be read or written (a layer: a store
 *               that failed or did not answer, a chunk map that cannot be
 *               read; never zeros instead of data)
 *   -ENOSPC     the data disk is full
 *   other       the errno of the failed system call
 *
 * Locking: the store keeps no lock of its own for a file's data; the caller
 * (backend/fs_*.c) serialises with the inode's io rwlock (fs.h):
 *   io shared     read, pread, write_begin, write, write_end, seek, sync,
 *                 stat, passthrough_fd
 *   io exclusive  localize, truncate, resized, allocate, punch
 *   open/close    under the inode's lock (fs_inode.lock), never concurrent
 *                 with the ops above on the same file
 *   by inode      remove, stat with cf NULL, note_access and the recovery
 *                 helpers: any thread, no lock
 * Two threads may call the ops of two different files at once.
 */
#ifndef EFSFS_CHUNK_H
#define EFSFS_CHUNK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "backend/fs.h"

struct chunk_store;

/* One inode's data, open.  A layer's per-file struct starts with this. */
struct chunk_file {
	struct chunk_store *cs;       /* the store that opened it; immutable */
	uint64_t ino;                 /* immutable */
	/* Chunks whose bytes are not in the local backing file (cold chunks of
	 * the tier layer; always 0 in chunk_local).  While nonzero the caller
	 * calls localize before a write, and passthrough is refused.  Written
	 * by the store at open and under io exclusive; read under io shared. */
	uint64_t nonlocal;
};

/* What a write copies from: mem, or (mem NULL) the pipe fd to splice from,
 * whose next len bytes are the data (FUSE's splice of a WRITE request).
 * The caller's, for the one call: no lock. */
struct chunk_src {
	const void *mem;
	int fd;
};

/* open flags */
#define CHUNK_OPEN_FRESH    0x1u  /* an inode just made: empty, no chunk rows;
                                     created (a stray a crash left is cut) */
#define CHUNK_OPEN_RDONLY   0x2u  /* a read-only file system: nothing is made
                                     or changed; missing data reads as holes */
#define CHUNK_OPEN_EXISTING 0x4u  /* recovery: only what is there (-ENOENT),
                                     no size check */

/* An ops table: static const in its store's file, immutable. */
struct chunk_ops {
	/* Opens ino's data; size is the inode's size in the metadata, and
	 * the backing data is cut or extended to it (a crash between data
	 * and metadata).  *ret stays untouched on failure. */
	int (*open)(struct chunk_store *cs, uint64_t ino, uint64_t size, unsigned flags,
		    struct chunk_file **ret);
	/* Closes (frees) cf; accepts NULL. */
	void (*close)(struct chunk_store *cs, struct chunk_file *cf);

	/* Appends the pieces of [off, off+len) to rv: segments naming a
	 * backing fd and position (spliced to the kernel as they are: the
	 * only place an fd leaves the store, as an opaque splice source) or
	 * malloc'd buffers (fs_read_end frees them).  The caller clips the
	 * range to the file's size.  When rv fills up (FS_RSEG_MAX), stops
	 * there: a short read, which the caller returns as it is.  On
	 * failure rv may hold pieces already, for the caller to free. */
	int (*read)(struct chunk_store *cs, struct chunk_file *cf, uint64_t off, size_t len,
		    struct fs_rvec *rv);
	/* len bytes at off into buf (a copy, for a layer's own use): the
	 * number read, short only at the end of the backing data. */
	ssize_t (*pread)(struct chunk_store *cs, struct chunk_file *cf, void *buf, size_t len,
			 uint64_t off);
	/* Makes the chunks of [off, off+len) local (len 0: the chunk holding
	 * off) in a file of size bytes; called with io exclusive when
	 * cf->nonlocal is nonzero, before a write, truncate or allocate changes
	 * the range, and before a read when the store says localize_on_read.
	 * Returns how many chunks it made local (the caller then bumps the
	 * inode's write generation).  NULL: all data is local (nonlocal 0). */
	int (*localize)(struct chunk_store *cs, struct chunk_file *cf, uint64_t off,
			uint64_t len, uint64_t size);

	/* A write: write_begin and write_end bracket the writes of one
	 * request and name its dirty range (the range written, or what of it
	 * was, `written` < 0 for a failed one); write copies len bytes from
	 * src to off and returns how many it copied (short only when a
	 * failure followed some bytes).  begin/end may be NULL. */
	int (*write_begin)(struct chunk_store *cs, struct chunk_file *cf, uint64_t off,
			   size_t len);
	ssize_t (*write)(struct chunk_store *cs, struct chunk_file *cf, uint64_t off,
			 const struct chunk_src *src, size_t len);
	void (*write_end)(struct chunk_store *cs, struct chunk_file *cf, uint64_t off,
			  ssize_t written);

	/* Sets the backing data's length to size (old: the file's size
	 * before): a shrink drops what is past size, a growth adds holes. */
	int (*truncate)(struct chunk_store *cs, struct chunk_file *cf, uint64_t old,
			uint64_t size);
	/* After a size change was committed (truncate, chunk rows past the new
	 * end deleted): the store refreshes what it keeps about the file.
	 * May be NULL. */
	void (*resized)(struct chunk_store *cs, struct chunk_file *cf, uint64_t size);
	/* fallocate(2) with mode 0, FALLOC_FL_KEEP_SIZE, PUNCH_HOLE or
	 * ZERO_RANGE on the backing data. */
	int (*allocate)(struct chunk_store *cs, struct chunk_file *cf, int mode, uint64_t off,
			uint64_t len);
	/* Frees [off, off+len) of the backing data, keeping its length (a
	 * chunk whose bytes now live elsewhere). */
	int (*punch)(struct chunk_store *cs, struct chunk_file *cf, uint64_t off, uint64_t len);
	/* fdatasync (datasync) or fsync of the backing data. */
	int (*sync)(struct chunk_store *cs, struct chunk_file *cf, bool datasync);
	/* SEEK_DATA or SEEK_HOLE from off in a file of size bytes: the offset
	 * found, the end of the file counting as a hole (size for SEEK_HOLE
	 * past the last hole), -ENXIO for SEEK_DATA past the last data. */
	off_t (*seek)(struct chunk_store *cs, struct chunk_file *cf, off_t off, int whence,
		      uint64_t size);

	/* stat(2) of the backing data: of cf when open, else of ino's
	 * (st_size, st_blocks, st_mtim; for fs_getattr's st_blocks and the
	 * size and mtime passthrough writes leave).  -ENOENT: none. */
	int (*stat)(struct chunk_store *cs, uint64_t ino, struct chunk_file *cf,
		    struct stat *ret);
	/* Removes ino's data for good (its inode is gone); missing is 0. */
	int (*remove)(struct chunk_store *cs, uint64_t ino);
	/* May the kernel read and write cf's bytes itself (FUSE passthrough)?
	 * The backing fd to register with the kernel, owned by cf (not to
	 * be closed, and used for nothing else), or -EBUSY when some bytes
	 * are not local (nonlocal), -EOPNOTSUPP when the store has no such fd. */
	int (*passthrough_fd)(struct chunk_store *cs, struct chunk_file *cf);
	/* An access to chunks [first, last] of ino at time now (seconds since
	 * the epoch), for a layer's policy.  May be NULL. */
	void (*note_access)(struct chunk_store *cs, uint64_t ino, uint64_t first, uint64_t last,
			    int64_t now);

	/* Recovery and fsck helpers of the bottom store (a layer leaves them
	 * NULL; fs_super.c calls them on chunk_local only).
	 * recover: after an unclean shutdown, calls cb for each inode that has
	 * backing data (a nonzero return stops the walk and is returned);
	 * entries that name no inode are removed. */
	int (*recover)(struct chunk_store *cs, int (*cb)(uint64_t ino, void *arg), void *arg);
	/* Sets ino's backing data to size bytes when it is longer
	 * (only_longer) or differs; 1 when it changed it, with the disk space
	 * that freed in *ret_freed (may be NULL), 0 when nothing needed it. */
	int (*fix_size)(struct chunk_store *cs, uint64_t ino, uint64_t size, bool only_longer,
			uint64_t *ret_freed);
};

/* A store's common part (a store's own struct starts with this).  Its
 * fields are immutable after the store is installed (fs_open, a layer's
 * open); the store's own state says its locks where it is defined. */
struct chunk_store {
	const struct chunk_ops *ops;  /* immutable */
	uint64_t chunk_size;          /* immutable */
	/* A read of a nonlocal chunk makes it local first (localize): the tier
	 * layer's transition_to_primary_storage_class = AFTER_1_ACCESS.
	 * Immutable after the store is installed. */
	bool localize_on_read;
};

/* The local store over the directory datafd (DATA_DIR/data, its 256
 * subdirectories made by fs_mkfs); datafd stays the caller's.  read_only:
 * nothing is created or changed (CHUNK_OPEN_RDONLY is implied). */
int chunk_local_open(int datafd, uint64_t chunk_size, bool read_only, struct chunk_store **ret);
/* The bytes the backing files beneath datafd take on the disk (their
 * st_blocks), for StorageBytes: a sparse file counts what was written.  A
 * walk of every backing file: not for the request path. */
int chunk_local_allocated(int datafd, uint64_t *ret);
void chunk_local_close(struct chunk_store *cs);   /* accepts NULL */
/* Path of an inode's backing file relative to DATA_DIR/data
 * ("ab/00000000000000ab"), for tests and tools that look at the disk. */
void chunk_local_path(uint64_t ino, char buf[32]);

#endif
