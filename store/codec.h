/* codec.h - the cold chunk object format: header, zstd, AES-256-GCM.
 *
 * A chunk demoted to IA or ARCHIVE is stored as one object.  Format 2 (what
 * codec_encode wrote before format 3, below; still read):
 *
 *   offset size  field
 *   0      4     magic "EFSC"
 *   4      1     format version (2)
 *   5      1     flags: bit 0 = payload zstd-compressed, bit 1 = AES-256-GCM encrypted
 *   6      2     header length in bytes, little endian (112 for version 2)
 *   8      4     key id (0 when not encrypted), little endian
 *   12     12    GCM nonce (zero when not encrypted)
 *   24     8     plaintext length, little endian
 *   32     8     inode number, little endian
 *   40     8     chunk index, little endian
 *   48     32    SHA-256 of the plaintext
 *   80     8     chunk version (the one in the object's key), little endian
 *   88     1     storage class (1 = IA, 2 = ARCHIVE)
 *   89     7     reserved, zero
 *   96     16    GCM tag (zero when not encrypted)
 *   112    ...   payload: zstd frame of the plaintext (or the plaintext when
 *                compression did not help), then encrypted when flag bit 1
 *
 * Format 1 (written before the version and class were added; still read, as
 * long as such objects exist) is the same up to offset 80, then the GCM tag
 * at 80..95 and the payload from 96; its header length field says 96.
 *
 * When encrypted, the GCM additional data is the header bytes before the tag
 * (96 in format 2, 80 in format 1) followed by the 20-byte file system id
 * ("fs-" + 17 hex), so an object replayed under another file system, inode,
 * chunk, version or storage class fails to decrypt.
 *
 * Every decode verifies the header against what the chunk map says (inode,
 * chunk, and in format 2 version and class), the plaintext length before
 * anything is decompressed (so a lying object cannot make zstd inflate more
 * than the chunk map allows), the tag, and the SHA-256 of the result, both
 * against the header and against the one the chunk map recorded; any
 * mismatch is -EIO (corrupt) and never returns wrong data.  The recorded
 * SHA-256 is what catches a replayed older version of the same chunk in an
 * unencrypted object, or in a format-1 one.  An unencrypted object must have
 * key id, nonce, tag and reserved bytes zero.  A flipped bit that zstd
 * ignores is not noticed (the data returned is still right).  Plaintexts are
 * at most 1 GiB.
 *
 * Format 3 (what codec_encode writes since issue 13): the chunk cut into
 * frames of frame_size plaintext bytes (the last one shorter), each
 * compressed and authenticated on its own, behind an index, so that a small
 * read fetches a byte range (the header and index, then the frames it needs)
 * and decodes only those frames:
 *
 *   offset size  field
 *   0      32    as format 2 (magic, 3, flags, header length 128, key id,
 *                nonce, plaintext length, inode, chunk)
 *   48     32    the chunk hash (below), not the SHA-256 of the plaintext
 *   80     8     chunk version
 *   88     1     storage class
 *   89     3     reserved, zero
 *   92     4     frame_size: plaintext bytes per frame, a power of two from
 *                4 KiB to 16 MiB, little endian
 *   96     4     number of frames: ceil(plaintext length / frame_size)
 *   100    12    reserved, zero
 *   112    16    GCM tag of the index (zero when not encrypted)
 *   128    40*n  index, one entry per frame: stored length (4, LE), frame
 *                flags (1: bit 0 = zstd), 3 reserved zero bytes, SHA-256 of
 *                the frame's plaintext (32); encrypted as a whole when flag
 *                bit 1 (GCM, AAD = header bytes 0..111 + file system id)
 *   128+40n ...  the frames back to back, each its stored length: the zstd
 *                frame (or the plaintext), and when encrypted AES-256-GCM of
 *                it followed by its 16-byte tag; nonce = the header's with
 *                frame number + 1 xored into its last 4 bytes, AAD = header
 *                bytes 0..111 + frame number (4, LE) + file system id
 *
 * The chunk hash is SHA-256("EFSC3" || frame_size LE32 || plaintext length
 * LE64 || SHA-256 of frame 0's plaintext || ... ): a function of the
 * plaintext alone (and the frame size), as collision resistant as a plain
 * SHA-256 of it.  The chunk map records it (codec_peek) as it records the
 * plaintext SHA-256 of a format-2 object.  How a part is verified without
 * the rest: the header is checked against the chunk map (inode, chunk,
 * version, class, length and chunk hash, all of them, as format 2 does); the
 * index is decrypted and authenticated (encrypted) and the chunk hash
 * recomputed from it must be the chunk map's (both), so the index is bound
 * to the row; a frame must decrypt under its own number and this header
 * (encrypted: a frame of another object, version, chunk or position fails
 * its tag), must have the stored length the index says (truncated: EIO),
 * and its plaintext must have the SHA-256 the index says (both).  A
 * replayed, truncated or swapped frame, or a stale index, is therefore -EIO.
 * A full decode checks every frame the same way, and that the frames end
 * where the object does.
 *
 * Threads: once codec_create(), codec_add_key() and codec_set_format() are
 * done, any number of threads may call codec_encode() and codec_decode() (and
 * the index calls) on one codec at once.
 */
#ifndef EFSFS_CODEC_H
#define EFSFS_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CODEC_MAGIC        "EFSC"
#define CODEC_VERSION      3          /* what codec_encode writes */
#define CODEC_HEADER_LEN   112        /* format 2 */
#define CODEC_HEADER_LEN_3 128        /* format 3, before the index */
#define CODEC_INDEX_ENTRY  40         /* format 3: bytes per frame in the index */
#define CODEC_FRAME_DEFAULT (64u * 1024)  /* format 3 frame size (README: measured) */
#define CODEC_HEADER_LEN_1 96         /* format 1 */
#define CODEC_F_ZSTD       0x01
#define CODEC_F_AESGCM     0x02
#define CODEC_KEY_LEN      32
#define CODEC_FSID_LEN     20
#define CODEC_SHA_LEN      32

struct codec;

/* Which chunk an object holds, and (for decode) what the chunk map says of it. */
struct codec_chunk {
	uint64_t ino, idx;
	uint64_t version;          /* the chunk version naming the object */
	uint8_t class;             /* storage class, 1 (IA) or 2 (ARCHIVE) */
	/* decode only: */
	uint64_t plain_len;        /* plaintext length the chunk map records */
	const uint8_t *sha256;     /* SHA-256 the chunk map records, or NULL when it
	                              has none (rows from metadata schema 1) */
};

/* fs_id: the file system id ("fs-" + 17 hex digits, else -EINVAL).  key: 32
 * bytes to encrypt with, or NULL for no encryption; key_id names it in the
 * header.  level: zstd level (0 = default 3; outside zstd's range -EINVAL).
 * A codec with a key only decodes encrypted objects: an unencrypted one is
 * -EIO, since anyone able to write to the store could forge it. */
int codec_create(const char *fs_id, const uint8_t *key, uint32_t key_id, int level,
                 struct codec **ret);
void codec_free(struct codec *c);        /* accepts NULL; wipes the key */

/* Adds a further key that decode may use for objects written under key_id
 * (key rotation: old objects stay readable).  Encoding keeps using the key
 * given to codec_create(); on a codec created without one, the added keys
 * only decode.  Adding a key_id again is 0 with the same key, else -EEXIST.
 * Not to be called while other threads use the codec. */
int codec_add_key(struct codec *c, uint32_t key_id, const uint8_t *key);

/* Test and measurement knob: encode writes format (2 or 3) with frames of
 * frame_size plaintext bytes (format 3; 0 = CODEC_FRAME_DEFAULT; a power of
 * two from 4 KiB to 16 MiB, else -EINVAL).  Not while other threads use c. */
int codec_set_format(struct codec *c, int format, uint32_t frame_size);

/* Encodes len bytes of chunk id (ino, idx, version, class; class 1 or 2,
 * else -EINVAL) in format 3 (or the one codec_set_format chose).  *ret_obj is malloc'd.  plain may be NULL when
 * len is 0; len over 1 GiB is -EFBIG.  The SHA-256 to record in the chunk
 * map is the header's (codec_peek). */
int codec_encode(struct codec *c, const struct codec_chunk *id, const void *plain, size_t len,
                 void **ret_obj, size_t *ret_len);

/* Decodes and verifies a whole object (format 3, 2 or 1) for the chunk want
 * describes.  *ret_plain is malloc'd (never NULL, also for an empty chunk)
 * and holds want->plain_len bytes.  -EIO on any corruption or mismatch
 * (wrong inode, chunk, version, class, length, SHA-256, file system or key),
 * -ENOKEY when the object is encrypted and its key id is unknown (or the
 * codec has no keys).  err (errlen bytes; NULL or 0: none) receives "" on
 * success, else a short reason ("checksum mismatch", "bad magic", ...). */
int codec_decode(struct codec *c, const struct codec_chunk *want, const void *obj, size_t len,
                 void **ret_plain, size_t *ret_len, char *err, size_t errlen);

/* Reads just the header fields (for fsck and gc) after the same header checks
 * as decode; -EIO when not an object (or an unsupported version).  version
 * and class are 0 in a format-1 header. */
struct codec_header {
	uint8_t format, flags;
	uint32_t key_id;
	uint64_t plain_len, ino, idx;
	uint64_t version;
	uint8_t class;
	uint8_t sha256[CODEC_SHA_LEN];  /* format 3: the chunk hash */
	uint32_t frame_size, n_frames;  /* format 3, else 0 */
};
int codec_peek(const void *obj, size_t len, struct codec_header *ret);

/* ---- reading part of a format-3 object ----
 * A reader GETs the first CODEC_PREFIX_GUESS bytes, asks codec_index_need
 * how many bytes the header and index take (GETting the rest if more),
 * loads the index with codec_index_load, asks codec_index_span which bytes
 * of the object hold a plaintext range, GETs them and decodes them with
 * codec_frames_decode. */
#define CODEC_PREFIX_GUESS 4096

/* From the first len bytes of an object: *ret_need = the bytes the header
 * and index take (format 3); 1 when the object is format 1 or 2 (no index:
 * read it whole); -EIO when it is not an object (err says why). */
int codec_index_need(const void *prefix, size_t len, size_t *ret_need, char *err,
                     size_t errlen);

/* A verified index; immutable, reference counted (any thread). */
struct codec_index;

/* Verifies the header and index in buf (at least codec_index_need bytes)
 * against want, which must carry the chunk map's hash (want->sha256; NULL is
 * -EINVAL: without it a part cannot be checked, read the object whole).
 * -EIO, -ENOKEY as codec_decode. */
int codec_index_load(struct codec *c, const struct codec_chunk *want, const void *buf,
                     size_t len, struct codec_index **ret, char *err, size_t errlen);
struct codec_index *codec_index_ref(struct codec_index *ix);
void codec_index_unref(struct codec_index *ix);         /* accepts NULL */
/* The memory the index holds (for a cache's accounting). */
size_t codec_index_size(const struct codec_index *ix);

/* The frames covering plaintext [off, off + n) (n > 0, within the chunk,
 * else -EINVAL): frames *ret_first .. *ret_first + *ret_count - 1, stored at
 * object bytes [*ret_obj_off, *ret_obj_off + *ret_obj_len), holding the
 * *ret_plain_len bytes of plaintext from *ret_plain_off on. */
int codec_index_span(const struct codec_index *ix, uint64_t off, size_t n, uint32_t *ret_first,
                     uint32_t *ret_count, uint64_t *ret_obj_off, size_t *ret_obj_len,
                     uint64_t *ret_plain_off, size_t *ret_plain_len);

/* Decodes frames first .. first + count - 1 from buf, which holds exactly
 * their stored bytes (len must be what codec_index_span said, else -EIO:
 * truncated), into dst (room for their plaintext: count * frame_size, or
 * less for the last frame: what codec_index_span said).  -EIO when any frame fails its checks. */
int codec_frames_decode(struct codec *c, const struct codec_index *ix, uint32_t first,
                        uint32_t count, const void *buf, size_t len, void *dst, char *err,
                        size_t errlen);

/* The hash a chunk map records for plain (len bytes) held in an object with header
 * h: its SHA-256 for formats 1 and 2, format 3's chunk hash (h->frame_size) for 3. */
int codec_chunk_hash(const struct codec_header *h, const void *plain, size_t len,
                     uint8_t out[CODEC_SHA_LEN]);

/* SHA-256 of len bytes (data may be NULL when len is 0); -EIO if OpenSSL fails. */
int codec_sha256(const void *data, size_t len, uint8_t out[CODEC_SHA_LEN]);

#endif
