/* move.c - moving one chunk between storage classes.
 *
 * Demotion, STANDARD -> IA or ARCHIVE (or IA -> ARCHIVE):
 *   1. read   under the inode's io lock held exclusively: the chunk's bytes
 *             from the backing file (or the IA object), and the inode's
 *             write generation
 *   2. copy   encode (zstd, checksum, encryption; the header names the new
 *             version and class) and put the object under a new version
 *             key, without any lock
 *   3. verify get the object back and decode it; it must equal what was read
 *   4. commit io lock exclusive again; if the write generation or the chunk
 *             row changed, a write raced us (or the file was opened with
 *             passthrough, when the kernel writes without telling us):
 *             delete the new object, -EAGAIN.
 *             Else commit the chunk row (class, version, lengths, and the
 *             plaintext's SHA-256, which every later read checks).
 *   5. delete punch the chunk's range out of the backing file (or delete the
 *             IA object).
 *   A failure at 1-4 leaves the chunk where it was (an object put in 2-3 is
 *   deleted, or left for tier_gc when that fails too).  A crash after 4 and
 *   before 5 leaves a duplicate: local bytes that the chunk map no longer
 *   uses (fs_open punches them after an unclean shutdown) or an IA object
 *   that no row names (tier_gc deletes it).  There is never a chunk with no
 *   copy.
 *
 * Promotion, IA or ARCHIVE -> STANDARD (on write, on read with
 * AFTER_1_ACCESS), with the io lock held exclusively throughout:
 *   1. fetch and verify the object (codec checks header, tag, and SHA-256
 *             against the header's and the chunk map's)
 *   2. write the bytes into the backing file and fdatasync it
 *   3. commit the chunk row as STANDARD
 *   4. delete the object (or leave it for tier_gc)
 *   A failure at 1-3 leaves the chunk cold and the caller gets -EIO (S3
 *   down) or -ENOSPC (disk full); the object is only deleted after 3.
 *
 * Ownership (tier/owner.c): a demotion refuses (-EPERM) unless every
 * store's claim is this file system's, and the deletes of an old copy in
 * step 5 and 4 leave an object that is not provably ours (a key from before
 * instance ids, or claims not verified) for gc instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/codec.h"
#include "common/log.h"
#include "store/objstore.h"
#include "tier/tier_i.h"

static int put_row(struct meta *m, void *arg)
{
	return meta_chunk_put(m, arg);
}

static int commit_row(struct fs *fs, const struct meta_chunk *c)
{
	int r = fs_txn(fs, put_row, (void *)c);

	if (!r)
		r = fs_meta_flush(fs);   /* durable before the old copy goes */
	return r;
}

/* Drops the object a chunk row named, unless this file system cannot prove
 * it is its own (tier/owner.c): then it stays, for gc. */
static void delete_object(struct fs *fs, const struct meta_chunk *c)
{
	char key[TIER_KEY_MAX], serr[512];

	tier_object_key(fs, c->ino, c->idx, c->version, key);
	if (!tier_may_delete(fs, c->version)) {
		log_debug("leaving %s: not provably ours (owner.c)", key);
		return;
	}
	if (objstore_del(tier_of(fs)->store[c->class], key, serr, sizeof(serr)) < 0)
		log_debug("leaving %s for gc: %s", key, serr);
}

int tier_promote_locked(struct fs *fs, struct tier_file *tf, uint64_t size, uint64_t idx)
{
	struct chunk_store *cs = tier_of(fs)->lower;
	struct meta_chunk c, old;
	char err[512];
	uint64_t start = idx * fs_chunk_size(fs), n;
	void *buf;
	size_t len;
	int r;

	r = tier_chunk_row(fs, tf->cf.ino, idx, &c);
	if (r < 0 || c.class == META_STANDARD)
		return r;
	r = tier_fetch(fs, &c, &buf, &len, err, sizeof(err));
	if (r < 0) {
		tier_notify(fs, LOG_ERR, tf->cf.ino, "inode %" PRIu64 " chunk %" PRIu64
			    ": bringing back cold data: %s", tf->cf.ino, idx, err);
		return r;
	}
	/* a chunk past EOF (the file shrank) has nothing to bring back */
	n = start < size ? size - start : 0;
	if (n > len)
		n = len;
	if (n) {
		struct chunk_src src = { buf, -1 };
		ssize_t w = cs->ops->write(cs, tf->lower, start, &src, n);

		if (w != (ssize_t)n) {
			free(buf);
			return w < 0 ? (int)w : -EIO;
		}
	}
	free(buf);
	if (n && (r = cs->ops->sync(cs, tf->lower, true)) < 0)
		return r;
	old = c;
	c.class = META_STANDARD;
	c.stored_len = c.plain_len = c.version = 0;
	c.has_sha256 = false;
	r = commit_row(fs, &c);
	if (r < 0)
		return r;
	if (tf->cf.nonlocal)
		tf->cf.nonlocal--;
	tier_cache_drop(fs, tf->cf.ino, idx);
	delete_object(fs, &old);
	/* st_blocks grew behind the kernel's back */
	fs_changed(fs, &(struct fs_change){ .what = FS_CHANGE_ATTR, .ino = tf->cf.ino });
	return 1;          /* the caller bumps the write generation */
}

int tier_promote(struct fs *fs, uint64_t ino, uint64_t idx)
{
	struct fs_inode *in;
	int r;

	r = fs_inode_hold(fs, ino, &in);
	if (r < 0)
		return r;
	fs_inode_lock(in);
	r = tier_promote_locked(fs, (struct tier_file *)fs_inode_chunks(in), fs_inode_size(in), idx);
	if (r > 0)
		fs_inode_bump_gen(in);
	fs_inode_unlock(in);
	fs_inode_drop(fs, in);
	return r < 0 ? r : 0;
}

/* Step 1 of a demotion: the plaintext of the chunk as it is now. */
static int read_chunk(struct fs *fs, struct fs_inode *in, const struct meta_chunk *c,
		      void **ret_buf, size_t *ret_len, char *err, size_t errlen)
{
	struct chunk_store *cs = tier_of(fs)->lower;
	struct chunk_file *cf = ((struct tier_file *)fs_inode_chunks(in))->lower;
	uint64_t start = c->idx * fs_chunk_size(fs), n, size = fs_inode_size(in);
	off_t data;
	ssize_t got;
	void *buf;

	if (c->class != META_STANDARD)
		return tier_fetch(fs, c, ret_buf, ret_len, err, errlen);
	if (start >= size)
		return 1;
	n = size - start < fs_chunk_size(fs) ? size - start : fs_chunk_size(fs);
	data = cs->ops->seek(cs, cf, (off_t)start, SEEK_DATA, size);
	if (data == -ENXIO || (data >= 0 && (uint64_t)data >= start + n))
		return 1;                 /* a hole: nothing is stored anywhere */
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	got = cs->ops->pread(cs, cf, buf, n, start);
	if (got != (ssize_t)n) {
		snprintf(err, errlen, "reading the backing file: %s",
			 strerror(got < 0 ? (int)-got : EIO));
		free(buf);
		return -EIO;
	}
	*ret_buf = buf;
	*ret_len = n;
	return 0;
}

int tier_demote(struct fs *fs, uint64_t ino, uint64_t idx, int class, char *err, size_t errlen)
{
	struct objstore *s = tier_of(fs)->store[class];
	struct meta_chunk c, now, nc;
	struct codec_chunk id;
	struct codec_header h;
	struct fs_inode *in;
	uint64_t gen;
	void *plain = NULL, *obj = NULL, *back = NULL;
	size_t plen = 0, olen = 0, blen = 0;
	char key[TIER_KEY_MAX], serr[512];
	bool put = false;
	int r;

	err[0] = '\0';
	if (!atomic_load(&tier_of(fs)->owner)) {
		/* a copy, or claims not verified yet: write nothing (tier/owner.c) */
		snprintf(err, errlen, "the claims of the object stores are not verified as ours");
		return -EPERM;
	}
	r = fs_inode_hold(fs, ino, &in);
	if (r < 0)
		return r == -EINVAL ? 1 : r;

	/* 1. read */
	fs_inode_lock(in);
	r = tier_chunk_row(fs, ino, idx, &c);
	if (!r && (c.class >= class || fs_inode_passthrough(in)))
		r = 1;        /* nothing to do, or open with passthrough: next pass */
	if (!r)
		r = read_chunk(fs, in, &c, &plain, &plen, err, errlen);
	gen = fs_inode_write_gen(in);
	fs_inode_unlock(in);
	if (r)
		goto out;

	/* 2. copy */
	nc = c;
	nc.class = class;
	nc.version = tier_new_version(fs, &c);
	nc.plain_len = plen;
	if (c.class == META_STANDARD && nc.atime == 0) {
		/* no row: the policy aged the chunk by its file's mtime; keep that */
		struct meta_inode mi;

		fs_meta_lock(fs);
		nc.atime = meta_inode_get(fs_meta(fs), ino, &mi) == 0 ? mi.mtime.tv_sec
								 : fs_now_ns() / 1000000000;
		fs_meta_unlock(fs);
	}
	id = (struct codec_chunk){ .ino = ino, .idx = idx, .version = nc.version,
				   .class = (uint8_t)class };
	r = codec_encode(tier_of(fs)->codec, &id, plain, plen, &obj, &olen);
	if (!r)
		r = codec_peek(obj, olen, &h);
	if (r < 0) {
		snprintf(err, errlen, "encoding: %s", strerror(-r));
		goto out;
	}
	nc.stored_len = olen;
	nc.has_sha256 = true;         /* every later read must find this content */
	memcpy(nc.sha256, h.sha256, sizeof(nc.sha256));
	tier_object_key(fs, ino, idx, nc.version, key);
	r = objstore_put(s, key, obj, olen, serr, sizeof(serr));
	if (r < 0) {
		snprintf(err, errlen, "%s", serr);
		goto out;
	}
	put = true;

	/* 3. verify */
	r = tier_fetch(fs, &nc, &back, &blen, err, errlen);
	if (!r && (blen != plen || memcmp(back, plain, plen) != 0)) {
		snprintf(err, errlen, "%s/%s: read back differs from what was written",
			 objstore_url(s), key);
		r = -EIO;
	}
	if (r < 0)
		goto out;

	/* 4. commit */
	fs_inode_lock(in);
	r = tier_chunk_row(fs, ino, idx, &now);
	if (!r && (fs_inode_write_gen(in) != gen || now.class != c.class ||
		   now.version != c.version || fs_inode_passthrough(in)))
		r = -EAGAIN;
	if (!r) {
		if (now.atime > nc.atime)
			nc.atime = now.atime;
		r = commit_row(fs, &nc);
	}
	if (!r) {
		put = false;                  /* the object is the chunk now */
		/* 5. delete the source */
		if (c.class == META_STANDARD) {
			struct tier_file *tf = (struct tier_file *)fs_inode_chunks(in);
			struct chunk_store *lo = tier_of(fs)->lower;
			int e;

			tf->cf.nonlocal++;
			e = lo->ops->punch(lo, tf->lower, idx * fs_chunk_size(fs), fs_chunk_size(fs));

			if (e < 0)
				log_debug("inode %" PRIu64 " chunk %" PRIu64 ": punch: %s", ino, idx,
					  strerror(-e));
		}
	}
	fs_inode_unlock(in);
	/* st_blocks shrank behind the kernel's back (and the class changed) */
	if (!r)
		fs_changed(fs, &(struct fs_change){ .what = FS_CHANGE_ATTR | FS_CHANGE_WAIT,
						    .ino = ino });
	if (!r && c.class != META_STANDARD) {
		tier_cache_drop(fs, ino, idx);
		delete_object(fs, &c);
	}
out:
	if (put && objstore_del(s, key, NULL, 0) < 0)
		log_debug("leaving %s for gc", key);
	free(plain);
	free(obj);
	free(back);
	fs_inode_drop(fs, in);
	return r;
}
