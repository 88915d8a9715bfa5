/* codec.h - the cold chunk object format: header, zstd, AES-256-GCM.
 *
 * A chunk demoted to IA or ARCHIVE is stored as one object.  Format 2 (what
 * codec_encode writes):
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
 * Threads: once codec_create() and codec_add_key() are done, any number of
 * threads may call codec_encode() and codec_decode() on one codec at once.
 */
#ifndef EFSFS_CODEC_H
#define EFSFS_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CODEC_MAGIC        "EFSC"
#define CODEC_VERSION      2
#define CODEC_HEADER_LEN   112        /* format 2 */
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

/* Encodes len bytes of chunk id (ino, idx, version, class; class 1 or 2,
 * else -EINVAL) in format 2.  *ret_obj is malloc'd.  plain may be NULL when
 * len is 0; len over 1 GiB is -EFBIG.  The SHA-256 to record in the chunk
 * map is the header's (codec_peek). */
int codec_encode(struct codec *c, const struct codec_chunk *id, const void *plain, size_t len,
                 void **ret_obj, size_t *ret_len);

/* Decodes and verifies an object (format 2 or 1) for the chunk want
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
	uint8_t sha256[CODEC_SHA_LEN];
};
int codec_peek(const void *obj, size_t len, struct codec_header *ret);

/* SHA-256 of len bytes (data may be NULL when len is 0); -EIO if OpenSSL fails. */
int codec_sha256(const void *data, size_t len, uint8_t out[CODEC_SHA_LEN]);

#endif
