/* codec.h - the cold chunk object format: header, zstd, AES-256-GCM.
 *
 * A chunk demoted to IA or ARCHIVE is stored as one object:
 *
 *   offset size  field
 *   0      4     magic "EFSC"
 *   4      1     format version (1)
 *   5      1     flags: bit 0 = payload zstd-compressed, bit 1 = AES-256-GCM encrypted
 *   6      2     header length in bytes, little endian (96 for version 1)
 *   8      4     key id (0 when not encrypted), little endian
 *   12     12    GCM nonce (zero when not encrypted)
 *   24     8     plaintext length, little endian
 *   32     8     inode number, little endian
 *   40     8     chunk index, little endian
 *   48     32    SHA-256 of the plaintext
 *   80     16    GCM tag (zero when not encrypted)
 *   96     ...   payload: zstd frame of the plaintext (or the plaintext when
 *                compression did not help), then encrypted when flag bit 1
 *
 * When encrypted, the GCM additional data is the 80 header bytes before the
 * tag followed by the 20-byte file system id ("fs-" + 17 hex), so an object
 * replayed under another file system, inode or chunk fails to decrypt.
 * Every decode verifies the header, the tag and the SHA-256 of the result;
 * any mismatch is -EIO (corrupt) and never returns wrong data.  An
 * unencrypted object must have key id, nonce and tag zero; only the SHA-256
 * guards its payload, so a flipped bit that zstd ignores is not noticed (the
 * data returned is still right).  Plaintexts are at most 1 GiB.
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
#define CODEC_VERSION      1
#define CODEC_HEADER_LEN   96
#define CODEC_F_ZSTD       0x01
#define CODEC_F_AESGCM     0x02
#define CODEC_KEY_LEN      32
#define CODEC_FSID_LEN     20

struct codec;

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

/* Encodes len bytes of chunk (ino, idx).  *ret_obj is malloc'd.  plain may
 * be NULL when len is 0; len over 1 GiB is -EFBIG. */
int codec_encode(struct codec *c, uint64_t ino, uint64_t idx, const void *plain, size_t len,
                 void **ret_obj, size_t *ret_len);

/* Decodes and verifies an object for chunk (ino, idx).  *ret_plain is
 * malloc'd (never NULL, also for an empty chunk).  -EIO on any corruption or
 * mismatch (wrong inode, chunk, file system or key), -ENOKEY when the object
 * is encrypted and its key id is unknown (or the codec has no keys).  When err
 * is not NULL it receives NULL on success, else a short reason ("checksum
 * mismatch", "bad magic", ...); the reason is a literal, or lives in a
 * thread-local buffer until this thread's next failing codec call. */
int codec_decode(struct codec *c, uint64_t ino, uint64_t idx, const void *obj, size_t len,
                 void **ret_plain, size_t *ret_len, const char **err);

/* Reads just the header fields (for fsck and gc) after the same header checks
 * as decode; -EIO when not an object (or an unsupported version). */
struct codec_header {
	uint8_t version, flags;
	uint32_t key_id;
	uint64_t plain_len, ino, idx;
	uint8_t sha256[32];
};
int codec_peek(const void *obj, size_t len, struct codec_header *ret);

#endif
