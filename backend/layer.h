/* layer.h - what a chunk-store layer (tier/) may use of the file system
 * core: how it is installed (struct fs_layer, fs_open_layer), the chunk
 * store stack, the metadata under its lock or as a transaction, and an
 * inode held open for a move (its io lock, write generation, size and
 * chunk file).  A layer includes this header and backend/chunk.h, never
 * backend/fs_i.h; backend/ never names a layer.
 *
 * Lock order (fs.h): fs_inode.io, then the metadata lock, then itab_lock.
 */
#ifndef EFSFS_LAYER_H
#define EFSFS_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/chunk.h"
#include "backend/fs.h"
#include "backend/meta.h"

struct fs_inode;

/* A layer over the chunk store, handed to fs_open_layer.
 * open: called by fs_open after the recovery of an unclean shutdown and
 *   before the orphans are removed (flags are fs_open's FS_OPEN_*); it
 *   installs its chunk store over fs_chunks(fs) with fs_chunks_set.  On
 *   failure err says why, and fs_open fails (calling stop and close).
 * stop: first thing in fs_close (also after a failed open): no thread of
 *   the layer may use the file system afterwards; the metadata is open.
 * close: once every inode's chunk file is closed; restores the store below
 *   (fs_chunks_set) and frees the layer's state.
 * stop and close must accept a layer whose open failed or never ran. */
/* The table is the caller's, kept until fs_close returns; immutable. */
struct fs_layer {
	int (*open)(struct fs *fs, unsigned flags, char *err, size_t errlen);
	void (*stop)(struct fs *fs);
	void (*close)(struct fs *fs);
};
/* fs_open_flags with a layer (NULL: none). */
int fs_open_layer(const struct conf *conf, const char *mountpoint, unsigned flags,
		  const struct fs_layer *layer, struct fs **ret, char *err, size_t errlen);

/* The top of the chunk store stack (chunk_local without a layer); set only
 * by a layer's open and close, while no file is open. */
struct chunk_store *fs_chunks(struct fs *fs);
void fs_chunks_set(struct fs *fs, struct chunk_store *cs);

/* The metadata: use it only between fs_meta_lock and fs_meta_unlock. */
struct meta *fs_meta(struct fs *fs);
void fs_meta_lock(struct fs *fs);
void fs_meta_unlock(struct fs *fs);
/* One metadata transaction, meta_txn(fs_meta(fs), body, arg) (meta.h):
 * body runs between begin and commit under the engine's lock and may be run
 * again after a retryable failure, so it changes nothing outside the
 * metadata; a negative return rolls back and is returned, a positive one
 * rolls back and gives 0.  Committed need not mean durable when group
 * commit is on: fs_meta_flush then makes it so. */
int fs_txn(struct fs *fs, int (*body)(struct meta *m, void *arg), void *arg);
/* Makes every committed transaction durable (ends an open commit group). */
int fs_meta_flush(struct fs *fs);

/* Adds a line to what fs_notes() tells the caller of fs_open. */
void fs_note(struct fs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t fs_now_ns(void);
/* A new random file system id, "fs-" + 17 hex digits (mkfs, reidentify). */
int fs_make_id(char out[FS_ID_LEN + 1]);
/* A new random instance id, "i-" + 16 hex digits (tier/owner.c). */
#define FS_INSTANCE_LEN 18
int fs_make_instance(char out[FS_INSTANCE_LEN + 1]);
/* Counts a fetch from a remote store in flight (fs_fetching): +1 before,
 * -1 after. */
void fs_fetching_add(struct fs *fs, int n);

/* Holds an inode open (its chunk file) for a move; drop with
 * fs_inode_drop().  -EINVAL when ino is not a regular file. */
int fs_inode_hold(struct fs *fs, uint64_t ino, struct fs_inode **ret);
void fs_inode_drop(struct fs *fs, struct fs_inode *in);
/* The inode's io lock, exclusively: no read, write or truncate meanwhile. */
void fs_inode_lock(struct fs_inode *in);
void fs_inode_unlock(struct fs_inode *in);
/* Bumped by every change of the data; a move compares it before and after. */
uint64_t fs_inode_write_gen(struct fs_inode *in);
void fs_inode_bump_gen(struct fs_inode *in);
/* Its logical size (stable while the io lock is held exclusively). */
uint64_t fs_inode_size(struct fs_inode *in);
/* Its open chunk file, of fs_chunks(fs) (the layer's own). */
struct chunk_file *fs_inode_chunks(struct fs_inode *in);
/* Whether the kernel may be reading or writing its backing file behind
 * our back (passthrough): moves leave such an inode alone. */
bool fs_inode_passthrough(struct fs_inode *in);

#endif
