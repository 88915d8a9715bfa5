/* store/codec.c - the cold chunk object codec: header, zstd, AES-256-GCM.
 *
 * The byte format is the table in codec.h.  Format 3 (what encode writes unless
 * codec_set_format said 2) is the second half of this file: frames compressed,
 * hashed and sealed one by one, an index of them sealed under the header, so
 * that a part can be read and verified alone (codec_index_*, codec_frames_decode).
 * Format 2 encoding (codec_set_format(c, 2, 0) only, for tests): SHA-256
 * of the plaintext, zstd (kept only when the frame is smaller than the
 * plaintext), then, when the codec has a current key, AES-256-GCM over the
 * payload in place with the header bytes before the tag and the file system id
 * as additional data.  Decoding (format 2 or 1) checks in the reverse order and
 * never hands unauthenticated bytes to zstd: header fields and sizes against
 * the chunk map's (the plaintext length first, so nothing larger is ever
 * allocated or inflated), key, GCM tag, zstd frame and its length, SHA-256
 * against the header's and the chunk map's.
 *
 * Thread safety: a struct codec is read-only once codec_create() and any
 * codec_add_key() calls are done.  Every encode and decode uses its own zstd and
 * OpenSSL contexts, so any number of threads may encode and decode on one codec
 * at once.  codec_add_key() must not run concurrently with other calls on the
 * same codec.  A struct codec_index is immutable once loaded; its reference
 * count is atomic, so readers on any thread share one.
 */
#include "store/codec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

/* largest plaintext encode accepts and decode believes (1 GiB) */
#define CODEC_MAX_PLAIN   ((uint64_t)1 << 30)
#define DEFAULT_LEVEL     3
#define NONCE_LEN         12
#define TAG_LEN           16
#define SHA_LEN           32
/* EVP update calls take int lengths: feed them at most this much at a time */
#define GCM_STEP          ((size_t)1 << 28)

/* byte offsets of the header fields (table in codec.h) */
enum {
	OFF_MAGIC     = 0,
	OFF_VERSION   = 4,
	OFF_FLAGS     = 5,
	OFF_HDR_LEN   = 6,
	OFF_KEY_ID    = 8,
	OFF_NONCE     = 12,
	OFF_PLAIN_LEN = 24,
	OFF_INO       = 32,
	OFF_IDX       = 40,
	OFF_SHA       = 48,
	OFF_CHUNK_VER = 80,           /* format 2 */
	OFF_CLASS     = 88,           /* format 2 */
	OFF_RESERVED  = 89,           /* format 2 */
	OFF_TAG       = 96,           /* format 2 */
	OFF_TAG_1     = 80,           /* format 1 */
	OFF_RES3      = 89,           /* format 3: 3 reserved bytes */
	OFF_FRAME_SZ  = 92,           /* format 3 */
	OFF_N_FRAMES  = 96,           /* format 3 */
	OFF_RES3B     = 100,          /* format 3: 12 reserved bytes */
	OFF_TAG_3     = 112,          /* format 3: the index's tag */
};
#define RESERVED_LEN 7
#define FRAME_MIN    ((uint32_t)4096)
#define FRAME_MAX    ((uint32_t)16 << 20)
_Static_assert(OFF_TAG_3 + TAG_LEN == CODEC_HEADER_LEN_3, "format 3 header length");

_Static_assert(OFF_NONCE + NONCE_LEN == OFF_PLAIN_LEN, "nonce field size");
_Static_assert(OFF_SHA + SHA_LEN == OFF_CHUNK_VER, "sha field size");
_Static_assert(OFF_RESERVED + RESERVED_LEN == OFF_TAG, "reserved field size");
_Static_assert(OFF_TAG + TAG_LEN == CODEC_HEADER_LEN, "header length");
_Static_assert(OFF_TAG_1 + TAG_LEN == CODEC_HEADER_LEN_1, "format 1 header length");
_Static_assert(SHA_LEN == CODEC_SHA_LEN, "sha length");

/* Where a header's tag is and how long the header is, by format. */
static size_t tag_off(uint8_t format)
{
	return format == 1 ? OFF_TAG_1 : format == 3 ? OFF_TAG_3 : OFF_TAG;
}

static size_t header_len(uint8_t format)
{
	return format == 1 ? CODEC_HEADER_LEN_1 : format == 3 ? CODEC_HEADER_LEN_3
							       : CODEC_HEADER_LEN;
}

struct codec_key {
	uint32_t id;
	uint8_t key[CODEC_KEY_LEN];
};

struct codec {
	char fs_id[CODEC_FSID_LEN];     /* not NUL-terminated */
	int level;                      /* zstd level */
	bool encrypt;                   /* encode under keys[0] */
	struct codec_key *keys;         /* every key decode may use; wiped on free */
	size_t n_keys;
	int format;                     /* what encode writes: 3, or 2 (codec_set_format) */
	uint32_t frame_size;            /* format 3 */
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* "fs-" followed by exactly 17 hex digits */
static bool fs_id_valid(const char *s)
{
	if (strncmp(s, "fs-", 3) != 0 || strlen(s) != CODEC_FSID_LEN)
		return false;
	for (size_t i = 3; i < CODEC_FSID_LEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static const struct codec_key *codec_find_key(const struct codec *c, uint32_t key_id)
{
	for (size_t i = 0; i < c->n_keys; i++)
		if (c->keys[i].id == key_id)
			return &c->keys[i];
	return NULL;
}

/* Writes the reason of a failure into err (when errlen is not 0). */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Parses and checks everything the header alone can tell (format 2 or 1).
 * On success fills *ret; on failure returns -EIO with the reason in err. */
static int header_parse(const uint8_t *p, size_t len, struct codec_header *ret, char *err,
                        size_t errlen)
{
	struct codec_header h;
	uint8_t format;

	if (len < OFF_KEY_ID) {
		set_err(err, errlen, "truncated header");
		return -EIO;
	}
	if (memcmp(p + OFF_MAGIC, CODEC_MAGIC, 4) != 0) {
		set_err(err, errlen, "bad magic");
		return -EIO;
	}
	format = p[OFF_VERSION];
	if (format != 3 && format != 2 && format != 1) {
		set_err(err, errlen, "unsupported format version %u", format);
		return -EIO;
	}
	if (get_le16(p + OFF_HDR_LEN) != header_len(format)) {
		set_err(err, errlen, "bad header length");
		return -EIO;
	}
	if (len < header_len(format)) {
		set_err(err, errlen, "truncated header");
		return -EIO;
	}

	memset(&h, 0, sizeof(h));
	h.format = format;
	h.flags = p[OFF_FLAGS];
	h.key_id = get_le32(p + OFF_KEY_ID);
	h.plain_len = get_le64(p + OFF_PLAIN_LEN);
	h.ino = get_le64(p + OFF_INO);
	h.idx = get_le64(p + OFF_IDX);
	memcpy(h.sha256, p + OFF_SHA, SHA_LEN);
	if (format == 3) {
		h.frame_size = get_le32(p + OFF_FRAME_SZ);
		h.n_frames = get_le32(p + OFF_N_FRAMES);
		if (!all_zero(p + OFF_RES3, OFF_FRAME_SZ - OFF_RES3) ||
		    !all_zero(p + OFF_RES3B, OFF_TAG_3 - OFF_RES3B)) {
			set_err(err, errlen, "reserved header bytes set");
			return -EIO;
		}
		if (h.frame_size < FRAME_MIN || h.frame_size > FRAME_MAX ||
		    (h.frame_size & (h.frame_size - 1))) {
			set_err(err, errlen, "bad frame size");
			return -EIO;
		}
	}
	if (format >= 2) {
		h.version = get_le64(p + OFF_CHUNK_VER);
		h.class = p[OFF_CLASS];
		if (format == 2 && !all_zero(p + OFF_RESERVED, RESERVED_LEN)) {
			set_err(err, errlen, "reserved header bytes set");
			return -EIO;
		}
		if (h.class != 1 && h.class != 2) {
			set_err(err, errlen, "bad storage class");
			return -EIO;
		}
	}

	if (h.flags & ~(CODEC_F_ZSTD | CODEC_F_AESGCM)) {
		set_err(err, errlen, "unknown flags");
		return -EIO;
	}
	if (h.plain_len > CODEC_MAX_PLAIN) {
		set_err(err, errlen, "plaintext length too large");
		return -EIO;
	}
	if (format == 3 && h.n_frames != (h.plain_len + h.frame_size - 1) / h.frame_size) {
		set_err(err, errlen, "frame count does not fit the plaintext length");
		return -EIO;
	}
	/* nothing else would notice these fields changing in a plain object */
	if (!(h.flags & CODEC_F_AESGCM) &&
	    (h.key_id != 0 || !all_zero(p + OFF_NONCE, NONCE_LEN) ||
	     !all_zero(p + tag_off(format), TAG_LEN))) {
		set_err(err, errlen, "encryption fields set in an unencrypted object");
		return -EIO;
	}
	*ret = h;
	return 0;
}

/* AES-256-GCM of n bytes from in to out (which may be the same buffer) under
 * nonce, with additional data hdr (aad_len bytes, the header before the tag),
 * then extra (extra_len bytes; format 3's frame number), then the file system
 * id.  Encrypting writes the tag to tag; decrypting checks it (-EIO on
 * mismatch). */
static int gcm_seal(bool enc, const struct codec *c, const struct codec_key *k,
		    const uint8_t *nonce, const uint8_t *hdr, size_t aad_len, const uint8_t *extra,
		    size_t extra_len, const uint8_t *in, uint8_t *out, size_t n, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t fin[TAG_LEN];
	size_t done = 0;
	int outl, r = -EIO;

	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, enc) != 1)
		goto out_ctx;
	if (EVP_CipherUpdate(ctx, NULL, &outl, hdr, (int)aad_len) != 1 ||
	    (extra_len && EVP_CipherUpdate(ctx, NULL, &outl, extra, (int)extra_len) != 1) ||
	    EVP_CipherUpdate(ctx, NULL, &outl, (const uint8_t *)c->fs_id, CODEC_FSID_LEN) != 1)
		goto out_ctx;
	while (done < n) {
		size_t step = n - done < GCM_STEP ? n - done : GCM_STEP;

		if (EVP_CipherUpdate(ctx, out + done, &outl, in + done, (int)step) != 1 ||
		    (size_t)outl != step)
			goto out_ctx;
		done += step;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out_ctx;
	if (EVP_CipherFinal_ex(ctx, fin, &outl) != 1 || outl != 0)
		goto out_ctx;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out_ctx;
	r = 0;
out_ctx:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* Formats 1 and 2: the nonce is the header's, the AAD the header before the tag. */
static int gcm_run(bool enc, const struct codec *c, const struct codec_key *k, const uint8_t *hdr,
		   size_t aad_len, const uint8_t *in, uint8_t *out, size_t n, uint8_t *tag)
{
	return gcm_seal(enc, c, k, hdr + OFF_NONCE, hdr, aad_len, NULL, 0, in, out, n, tag);
}

int codec_sha256(const void *data, size_t len, uint8_t out[CODEC_SHA_LEN])
{
	static const uint8_t nothing;

	if (EVP_Digest(len ? data : &nothing, len, out, NULL, EVP_sha256(), NULL) != 1)
		return -EIO;
	return 0;
}

/* Decompresses one zstd frame that must fill exactly plain_len bytes. */
static int zstd_unpack(const uint8_t *src, size_t n, uint64_t plain_len, uint8_t **ret,
		       char *err, size_t errlen)
{
	unsigned long long content;
	size_t frame, got;
	uint8_t *out;

	content = ZSTD_getFrameContentSize(src, n);
	if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
		set_err(err, errlen, "bad zstd frame");
		return -EIO;
	}
	if (content != plain_len) {
		set_err(err, errlen, "zstd frame length mismatch");
		return -EIO;
	}
	frame = ZSTD_findFrameCompressedSize(src, n);
	if (ZSTD_isError(frame) || frame != n) {
		set_err(err, errlen, "bad zstd frame");
		return -EIO;
	}
	out = malloc(plain_len ? (size_t)plain_len : 1);
	if (!out) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	got = ZSTD_decompress(out, (size_t)plain_len, src, n);
	if (ZSTD_isError(got) || got != plain_len) {
		free(out);
		set_err(err, errlen, "zstd decompression failed");
		return -EIO;
	}
	*ret = out;
	return 0;
}

int codec_add_key(struct codec *c, uint32_t key_id, const uint8_t *key)
{
	const struct codec_key *old;
	struct codec_key *keys;

	if (!c || !key)
		return -EINVAL;
	old = codec_find_key(c, key_id);
	if (old)
		return CRYPTO_memcmp(old->key, key, CODEC_KEY_LEN) == 0 ? 0 : -EEXIST;

	/* a fresh array rather than realloc, so the old copy can be wiped */
	keys = calloc(c->n_keys + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	if (c->n_keys)
		memcpy(keys, c->keys, c->n_keys * sizeof(*keys));
	keys[c->n_keys].id = key_id;
	memcpy(keys[c->n_keys].key, key, CODEC_KEY_LEN);
	if (c->keys) {
		OPENSSL_cleanse(c->keys, c->n_keys * sizeof(*c->keys));
		free(c->keys);
	}
	c->keys = keys;
	c->n_keys++;
	return 0;
}

int codec_create(const char *fs_id, const uint8_t *key, uint32_t key_id, int level,
		 struct codec **ret)
{
	struct codec *c;
	int r;

	if (!fs_id || !ret || !fs_id_valid(fs_id))
		return -EINVAL;
	if (level == 0)
		level = DEFAULT_LEVEL;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return -EINVAL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memcpy(c->fs_id, fs_id, CODEC_FSID_LEN);
	c->level = level;
	c->format = 3;
	c->frame_size = CODEC_FRAME_DEFAULT;
	if (key) {
		r = codec_add_key(c, key_id, key);
		if (r < 0)
			goto out_free;
		c->encrypt = true;      /* keys[0] is the key just added */
	}
	*ret = c;
	return 0;

out_free:
	codec_free(c);
	return r;
}

void codec_free(struct codec *c)
{
	if (!c)
		return;
	if (c->keys) {
		OPENSSL_cleanse(c->keys, c->n_keys * sizeof(*c->keys));
		free(c->keys);
	}
	free(c);
}

/* The fields formats 2 and 3 share at the start of the header. */
static void put_header(uint8_t *h, uint8_t version, uint8_t flags, uint16_t hdr_len,
		       size_t len, const struct codec_chunk *id)
{
	memcpy(h + OFF_MAGIC, CODEC_MAGIC, 4);
	h[OFF_VERSION] = version;
	h[OFF_FLAGS] = flags;
	put_le16(h + OFF_HDR_LEN, hdr_len);
	put_le64(h + OFF_PLAIN_LEN, len);
	put_le64(h + OFF_INO, id->ino);
	put_le64(h + OFF_IDX, id->idx);
	put_le64(h + OFF_CHUNK_VER, id->version);
	h[OFF_CLASS] = id->class;
}

static int encode3(struct codec *c, const struct codec_chunk *id, const uint8_t *plain,
		   size_t len, void **ret_obj, size_t *ret_len);

int codec_encode(struct codec *c, const struct codec_chunk *id, const void *plain, size_t len,
		 void **ret_obj, size_t *ret_len)
{
	uint8_t *obj, *payload, *shrunk, flags = 0;
	size_t bound, cap, payload_len, z;
	int r;

	if (!c || !id || (id->class != 1 && id->class != 2) || (!plain && len) || !ret_obj ||
	    !ret_len)
		return -EINVAL;
	if (len > CODEC_MAX_PLAIN)
		return -EFBIG;
	if (c->format == 3)
		return encode3(c, id, plain, len, ret_obj, ret_len);

	bound = ZSTD_compressBound(len);
	cap = CODEC_HEADER_LEN + (bound > len ? bound : len);
	obj = calloc(1, cap);
	if (!obj)
		return -ENOMEM;
	payload = obj + CODEC_HEADER_LEN;

	/* A zstd failure (only ever an allocation failure with a bound-sized
	 * buffer) just means the payload is stored raw. */
	z = len ? ZSTD_compress(payload, bound, plain, len, c->level) : 0;
	if (len && !ZSTD_isError(z) && z < len) {
		flags |= CODEC_F_ZSTD;
		payload_len = z;
	} else {
		if (len)
			memcpy(payload, plain, len);
		payload_len = len;
	}
	if (c->encrypt)
		flags |= CODEC_F_AESGCM;

	put_header(obj, 2, flags, CODEC_HEADER_LEN, len, id);
	r = codec_sha256(plain, len, obj + OFF_SHA);
	if (r < 0)
		goto out_obj;

	if (c->encrypt) {
		put_le32(obj + OFF_KEY_ID, c->keys[0].id);
		if (RAND_bytes(obj + OFF_NONCE, NONCE_LEN) != 1) {
			r = -EIO;
			goto out_obj;
		}
		r = gcm_run(true, c, &c->keys[0], obj, OFF_TAG, payload, payload, payload_len,
			    obj + OFF_TAG);
		if (r < 0)
			goto out_obj;
	}

	if (CODEC_HEADER_LEN + payload_len < cap) {
		shrunk = realloc(obj, CODEC_HEADER_LEN + payload_len);
		if (shrunk)
			obj = shrunk;
	}
	*ret_obj = obj;
	*ret_len = CODEC_HEADER_LEN + payload_len;
	return 0;

out_obj:
	free(obj);
	return r;
}

static int decode3(struct codec *c, const struct codec_header *h, const struct codec_chunk *want,
		   const uint8_t *obj, size_t len, void **ret_plain, size_t *ret_len, char *err,
		   size_t errlen);

int codec_decode(struct codec *c, const struct codec_chunk *want, const void *obj, size_t len,
		 void **ret_plain, size_t *ret_len, char *err, size_t errlen)
{
	const uint8_t *p = obj, *payload;
	const struct codec_key *key;
	struct codec_header h;
	uint8_t *clear = NULL, *plain = NULL, sha[SHA_LEN], tag[TAG_LEN];
	size_t payload_len;
	int r;

	set_err(err, errlen, "%s", "");
	if (!c || !want || (!obj && len) || !ret_plain || !ret_len) {
		set_err(err, errlen, "invalid argument");
		r = -EINVAL;
		goto out;
	}
	r = header_parse(p, len, &h, err, errlen);
	if (r < 0)
		goto out;
	r = -EIO;
	if (h.ino != want->ino) {
		set_err(err, errlen, "inode number mismatch");
		goto out;
	}
	if (h.idx != want->idx) {
		set_err(err, errlen, "chunk index mismatch");
		goto out;
	}
	if (h.format >= 2 && h.version != want->version) {
		set_err(err, errlen, "chunk version mismatch");
		goto out;
	}
	if (h.format >= 2 && h.class != want->class) {
		set_err(err, errlen, "storage class mismatch");
		goto out;
	}
	/* before any allocation: zstd never inflates more than the chunk map allows */
	if (h.plain_len != want->plain_len) {
		set_err(err, errlen, "plaintext length differs from the chunk map's");
		goto out;
	}
	if (want->sha256 && CRYPTO_memcmp(h.sha256, want->sha256, SHA_LEN) != 0) {
		set_err(err, errlen, "SHA-256 differs from the chunk map's (another version of the chunk)");
		goto out;
	}
	if (h.format == 3) {
		r = decode3(c, &h, want, p, len, ret_plain, ret_len, err, errlen);
		goto out;
	}
	payload = p + header_len(h.format);
	payload_len = len - header_len(h.format);
	if (h.flags & CODEC_F_ZSTD) {
		if (payload_len > ZSTD_compressBound((size_t)h.plain_len)) {
			set_err(err, errlen, "payload too long");
			goto out;
		}
	} else if (payload_len != h.plain_len) {
		set_err(err, errlen, "payload length mismatch");
		goto out;
	}

	if (h.flags & CODEC_F_AESGCM) {
		key = codec_find_key(c, h.key_id);
		if (!key) {
			set_err(err, errlen, "unknown key id");
			r = -ENOKEY;
			goto out;
		}
		clear = malloc(payload_len ? payload_len : 1);
		if (!clear) {
			set_err(err, errlen, "out of memory");
			r = -ENOMEM;
			goto out;
		}
		memcpy(tag, p + tag_off(h.format), TAG_LEN);
		r = gcm_run(false, c, key, p, tag_off(h.format), payload, clear, payload_len, tag);
		if (r < 0) {
			set_err(err, errlen, "%s", r == -ENOMEM ? "out of memory" : "authentication failed");
			goto out;
		}
		payload = clear;
		r = -EIO;
	} else if (c->encrypt) {
		set_err(err, errlen, "unencrypted object in an encrypted file system");
		goto out;
	}

	if (h.flags & CODEC_F_ZSTD) {
		r = zstd_unpack(payload, payload_len, h.plain_len, &plain, err, errlen);
		if (r < 0)
			goto out;
		r = -EIO;
	} else if (clear) {
		plain = clear;
		clear = NULL;
	} else {
		plain = malloc(payload_len ? payload_len : 1);
		if (!plain) {
			set_err(err, errlen, "out of memory");
			r = -ENOMEM;
			goto out;
		}
		if (payload_len)
			memcpy(plain, payload, payload_len);
	}

	if (codec_sha256(plain, (size_t)h.plain_len, sha) < 0) {
		set_err(err, errlen, "sha-256 failed");
		goto out;
	}
	if (CRYPTO_memcmp(sha, h.sha256, SHA_LEN) != 0) {
		set_err(err, errlen, "checksum mismatch");
		goto out;
	}
	*ret_plain = plain;
	*ret_len = (size_t)h.plain_len;
	plain = NULL;
	r = 0;
out:
	free(plain);
	free(clear);
	return r;
}

int codec_peek(const void *obj, size_t len, struct codec_header *ret)
{
	if ((!obj && len) || !ret)
		return -EINVAL;
	return header_parse(obj, len, ret, NULL, 0);
}

/* ---- format 3: frames and an index (codec.h) ---- */

#define ENTRY_LEN   CODEC_INDEX_ENTRY
#define ENTRY_SHA   8                 /* offset of the frame SHA-256 in an entry */
#define FRAME_ZSTD  0x01

struct codec_index {
	atomic_int refs;
	uint8_t hdr[CODEC_HEADER_LEN_3];  /* the header: AAD of every frame */
	struct codec_header h;
	uint8_t *entries;                 /* h.n_frames * ENTRY_LEN, decrypted */
	uint64_t *off;                    /* h.n_frames + 1 object offsets of the frames */
};

int codec_set_format(struct codec *c, int format, uint32_t frame_size)
{
	if (!frame_size)
		frame_size = CODEC_FRAME_DEFAULT;
	if (!c || (format != 2 && format != 3) || frame_size < FRAME_MIN ||
	    frame_size > FRAME_MAX || (frame_size & (frame_size - 1)))
		return -EINVAL;
	c->format = format;
	c->frame_size = frame_size;
	return 0;
}

/* Plaintext bytes of frame i. */
static size_t frame_plain(const struct codec_header *h, uint32_t i)
{
	uint64_t start = (uint64_t)i * h->frame_size;

	return (size_t)(h->plain_len - start < h->frame_size ? h->plain_len - start
							    : h->frame_size);
}

/* The nonce of frame i: the header's with i + 1 xored into its last 4 bytes. */
static void frame_nonce(const uint8_t *hdr, uint32_t i, uint8_t nonce[NONCE_LEN])
{
	uint8_t n[4];

	memcpy(nonce, hdr + OFF_NONCE, NONCE_LEN);
	put_le32(n, i + 1);
	for (int k = 0; k < 4; k++)
		nonce[NONCE_LEN - 4 + k] ^= n[k];
}

/* The chunk hash (codec.h) of n index entries. */
static int chunk_hash(uint32_t frame_size, uint64_t plain_len, const uint8_t *entries,
		      uint32_t n, uint8_t out[SHA_LEN])
{
	uint8_t lead[5 + 4 + 8];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = -EIO;

	if (!md)
		return -ENOMEM;
	memcpy(lead, "EFSC3", 5);
	put_le32(lead + 5, frame_size);
	put_le64(lead + 9, plain_len);
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, lead, sizeof(lead)) != 1)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		if (EVP_DigestUpdate(md, entries + (size_t)i * ENTRY_LEN + ENTRY_SHA, SHA_LEN) != 1)
			goto out;
	if (EVP_DigestFinal_ex(md, out, NULL) != 1)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	return r;
}

static int encode3(struct codec *c, const struct codec_chunk *id, const uint8_t *plain,
		   size_t len, void **ret_obj, size_t *ret_len)
{
	uint32_t fsz = c->frame_size, n = (uint32_t)((len + fsz - 1) / fsz);
	size_t extra = c->encrypt ? TAG_LEN : 0, bound = ZSTD_compressBound(fsz);
	size_t ilen = (size_t)n * ENTRY_LEN, pos, cap;
	uint8_t *obj, *hdr, *index, *shrunk, flags = c->encrypt ? CODEC_F_AESGCM : 0;
	ZSTD_CCtx *zc = NULL;
	int r = -ENOMEM;

	if (bound < fsz)
		bound = fsz;
	cap = CODEC_HEADER_LEN_3 + ilen + (size_t)n * (bound + extra);
	obj = calloc(1, cap);
	if (!obj)
		return -ENOMEM;
	hdr = obj;
	index = obj + CODEC_HEADER_LEN_3;
	zc = ZSTD_createCCtx();
	if (!zc)
		goto out;
	ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel, c->level);
	ZSTD_CCtx_setParameter(zc, ZSTD_c_contentSizeFlag, 1);
	ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 0);

	/* 1. each frame compressed (when that helps) and hashed, a tag's room after it */
	pos = CODEC_HEADER_LEN_3 + ilen;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *src = plain + (size_t)i * fsz;
		size_t fl = len - (size_t)i * fsz < fsz ? len - (size_t)i * fsz : fsz, z, sl;
		uint8_t *e = index + (size_t)i * ENTRY_LEN;

		r = codec_sha256(src, fl, e + ENTRY_SHA);
		if (r < 0)
			goto out;
		z = ZSTD_compress2(zc, obj + pos, bound, src, fl);
		if (!ZSTD_isError(z) && z < fl) {
			e[4] = FRAME_ZSTD;
			flags |= CODEC_F_ZSTD;
			sl = z;
		} else {
			memcpy(obj + pos, src, fl);
			sl = fl;
		}
		put_le32(e, (uint32_t)(sl + extra));
		pos += sl + extra;
	}

	/* 2. the header, with the chunk hash */
	put_header(hdr, 3, flags, CODEC_HEADER_LEN_3, len, id);
	put_le32(hdr + OFF_FRAME_SZ, fsz);
	put_le32(hdr + OFF_N_FRAMES, n);
	r = chunk_hash(fsz, len, index, n, hdr + OFF_SHA);
	if (r < 0)
		goto out;

	/* 3. sealed: each frame under its number, then the index */
	if (c->encrypt) {
		const struct codec_key *k = &c->keys[0];
		uint8_t nonce[NONCE_LEN], num[4];
		size_t at = CODEC_HEADER_LEN_3 + ilen;

		put_le32(hdr + OFF_KEY_ID, k->id);
		if (RAND_bytes(hdr + OFF_NONCE, NONCE_LEN) != 1) {
			r = -EIO;
			goto out;
		}
		for (uint32_t i = 0; i < n; i++) {
			size_t sl = get_le32(index + (size_t)i * ENTRY_LEN) - TAG_LEN;

			frame_nonce(hdr, i, nonce);
			put_le32(num, i);
			r = gcm_seal(true, c, k, nonce, hdr, OFF_TAG_3, num, 4, obj + at, obj + at,
				     sl, obj + at + sl);
			if (r < 0)
				goto out;
			at += sl + TAG_LEN;
		}
		r = gcm_seal(true, c, k, hdr + OFF_NONCE, hdr, OFF_TAG_3, NULL, 0, index, index,
			     ilen, hdr + OFF_TAG_3);
		if (r < 0)
			goto out;
	}
	if (pos < cap) {
		shrunk = realloc(obj, pos);
		if (shrunk)
			obj = shrunk;
	}
	*ret_obj = obj;
	*ret_len = pos;
	obj = NULL;
	r = 0;
out:
	ZSTD_freeCCtx(zc);
	free(obj);
	return r;
}

int codec_index_need(const void *prefix, size_t len, size_t *ret_need, char *err,
		     size_t errlen)
{
	struct codec_header h;
	int r;

	set_err(err, errlen, "%s", "");
	if ((!prefix && len) || !ret_need)
		return -EINVAL;
	r = header_parse(prefix, len, &h, err, errlen);
	if (r < 0)
		return r;
	if (h.format != 3)
		return 1;
	*ret_need = CODEC_HEADER_LEN_3 + (size_t)h.n_frames * ENTRY_LEN;
	return 0;
}

/* Builds the index of the format-3 object whose header h (checked against the
 * chunk map by the caller) and index are in buf; sha: what the chunk hash must
 * be besides the header's (the chunk map's), or NULL. */
static int index_build(struct codec *c, const struct codec_header *h, const uint8_t *buf,
		       size_t len, struct codec_index **ret, char *err, size_t errlen)
{
	size_t ilen = (size_t)h->n_frames * ENTRY_LEN;
	struct codec_index *ix;
	uint8_t sha[SHA_LEN];
	bool any_zstd;
	int r = -EIO;

	if (len < CODEC_HEADER_LEN_3 + ilen) {
		set_err(err, errlen, "truncated index");
		return -EIO;
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&ix->refs, 1);
	memcpy(ix->hdr, buf, CODEC_HEADER_LEN_3);
	ix->h = *h;
	ix->entries = malloc(ilen ? ilen : 1);
	ix->off = malloc(((size_t)h->n_frames + 1) * sizeof(*ix->off));
	if (!ix->entries || !ix->off) {
		set_err(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	if (h->flags & CODEC_F_AESGCM) {
		const struct codec_key *k = codec_find_key(c, h->key_id);
		uint8_t tag[TAG_LEN];

		if (!k) {
			set_err(err, errlen, "unknown key id");
			r = -ENOKEY;
			goto fail;
		}
		memcpy(tag, buf + OFF_TAG_3, TAG_LEN);
		r = gcm_seal(false, c, k, buf + OFF_NONCE, buf, OFF_TAG_3, NULL, 0,
			     buf + CODEC_HEADER_LEN_3, ix->entries, ilen, tag);
		if (r < 0) {
			set_err(err, errlen, "%s", r == -ENOMEM ? "out of memory"
							       : "index authentication failed");
			goto fail;
		}
		r = -EIO;
	} else if (c->encrypt) {
		set_err(err, errlen, "unencrypted object in an encrypted file system");
		goto fail;
	} else if (ilen) {
		memcpy(ix->entries, buf + CODEC_HEADER_LEN_3, ilen);
	}
	ix->off[0] = CODEC_HEADER_LEN_3 + ilen;
	any_zstd = false;
	for (uint32_t i = 0; i < h->n_frames; i++)
		any_zstd |= (ix->entries[(size_t)i * ENTRY_LEN + 4] & FRAME_ZSTD) != 0;
	if (any_zstd != !!(h->flags & CODEC_F_ZSTD)) {
		set_err(err, errlen, "zstd flag differs from the index's");
		goto fail;
	}
	for (uint32_t i = 0; i < h->n_frames; i++) {
		const uint8_t *e = ix->entries + (size_t)i * ENTRY_LEN;
		size_t sl = get_le32(e), fl = frame_plain(h, i), tagl = 0;

		if (h->flags & CODEC_F_AESGCM)
			tagl = TAG_LEN;
		if ((e[4] & ~FRAME_ZSTD) || !all_zero(e + 5, 3) || sl < tagl ||
		    ((e[4] & FRAME_ZSTD) ? (sl - tagl == 0 || sl - tagl > ZSTD_compressBound(fl))
					 : sl - tagl != fl)) {
			set_err(err, errlen, "bad index entry %u", i);
			goto fail;
		}
		ix->off[i + 1] = ix->off[i] + sl;
	}
	/* the index belongs to this header's chunk hash, which the caller
	 * compared with the chunk map's */
	r = chunk_hash(h->frame_size, h->plain_len, ix->entries, h->n_frames, sha);
	if (r < 0) {
		set_err(err, errlen, "sha-256 failed");
		goto fail;
	}
	if (CRYPTO_memcmp(sha, h->sha256, SHA_LEN) != 0) {
		set_err(err, errlen, "index does not match the chunk hash");
		r = -EIO;
		goto fail;
	}
	*ret = ix;
	return 0;
fail:
	codec_index_unref(ix);
	return r;
}

/* The checks of a header against the chunk map that every decode makes. */
static int check_want(const struct codec_header *h, const struct codec_chunk *want, char *err,
		      size_t errlen)
{
	if (h->ino != want->ino)
		set_err(err, errlen, "inode number mismatch");
	else if (h->idx != want->idx)
		set_err(err, errlen, "chunk index mismatch");
	else if (h->format >= 2 && h->version != want->version)
		set_err(err, errlen, "chunk version mismatch");
	else if (h->format >= 2 && h->class != want->class)
		set_err(err, errlen, "storage class mismatch");
	else if (h->plain_len != want->plain_len)
		set_err(err, errlen, "plaintext length differs from the chunk map's");
	else if (want->sha256 && CRYPTO_memcmp(h->sha256, want->sha256, SHA_LEN) != 0)
		set_err(err, errlen, "SHA-256 differs from the chunk map's (another version of "
			"the chunk)");
	else
		return 0;
	return -EIO;
}

int codec_index_load(struct codec *c, const struct codec_chunk *want, const void *buf,
		     size_t len, struct codec_index **ret, char *err, size_t errlen)
{
	struct codec_header h;
	int r;

	set_err(err, errlen, "%s", "");
	if (!c || !want || !want->sha256 || (!buf && len) || !ret) {
		set_err(err, errlen, "invalid argument");
		return -EINVAL;
	}
	r = header_parse(buf, len, &h, err, errlen);
	if (r < 0)
		return r;
	if (h.format != 3) {
		set_err(err, errlen, "format %u has no index", h.format);
		return -EINVAL;
	}
	r = check_want(&h, want, err, errlen);
	if (r < 0)
		return r;
	return index_build(c, &h, buf, len, ret, err, errlen);
}

struct codec_index *codec_index_ref(struct codec_index *ix)
{
	atomic_fetch_add(&ix->refs, 1);
	return ix;
}

void codec_index_unref(struct codec_index *ix)
{
	if (!ix || atomic_fetch_sub(&ix->refs, 1) != 1)
		return;
	free(ix->entries);
	free(ix->off);
	free(ix);
}

size_t codec_index_size(const struct codec_index *ix)
{
	return sizeof(*ix) + (size_t)ix->h.n_frames * (ENTRY_LEN + sizeof(*ix->off)) +
	       sizeof(*ix->off);
}

int codec_index_span(const struct codec_index *ix, uint64_t off, size_t n, uint32_t *ret_first,
		     uint32_t *ret_count, uint64_t *ret_obj_off, size_t *ret_obj_len,
		     uint64_t *ret_plain_off, size_t *ret_plain_len)
{
	uint32_t first, last;
	uint64_t end;

	if (!ix || !n || off >= ix->h.plain_len || n > ix->h.plain_len - off)
		return -EINVAL;
	first = (uint32_t)(off / ix->h.frame_size);
	last = (uint32_t)((off + n - 1) / ix->h.frame_size);
	*ret_first = first;
	*ret_count = last - first + 1;
	*ret_obj_off = ix->off[first];
	*ret_obj_len = (size_t)(ix->off[last + 1] - ix->off[first]);
	*ret_plain_off = (uint64_t)first * ix->h.frame_size;
	end = (uint64_t)(last + 1) * ix->h.frame_size;
	*ret_plain_len = (size_t)((end < ix->h.plain_len ? end : ix->h.plain_len) - *ret_plain_off);
	return 0;
}

int codec_frames_decode(struct codec *c, const struct codec_index *ix, uint32_t first,
			uint32_t count, const void *buf, size_t len, void *dst, char *err,
			size_t errlen)
{
	const struct codec_header *h;
	const uint8_t *in = buf;
	uint8_t *out = dst, *clear = NULL, sha[SHA_LEN];
	const struct codec_key *k = NULL;
	ZSTD_DCtx *zd = NULL;
	size_t clear_len = 0;
	int r = -EIO;

	set_err(err, errlen, "%s", "");
	if (!c || !ix || (!buf && len) || (!dst && count))
		return -EINVAL;
	h = &ix->h;
	if (first > h->n_frames || count > h->n_frames - first) {
		set_err(err, errlen, "frames %u+%u past the index", first, count);
		return -EINVAL;
	}
	if (len != ix->off[first + count] - ix->off[first]) {
		set_err(err, errlen, "frames truncated or too long (%zu bytes, the index says %"
			PRIu64 ")", len, ix->off[first + count] - ix->off[first]);
		return -EIO;
	}
	if (h->flags & CODEC_F_AESGCM) {
		k = codec_find_key(c, h->key_id);
		if (!k) {
			set_err(err, errlen, "unknown key id");
			return -ENOKEY;
		}
		/* what index_build let a sealed frame be */
		clear_len = ZSTD_compressBound(h->frame_size);
		if (clear_len < h->frame_size)
			clear_len = h->frame_size;
		clear = malloc(clear_len);
		if (!clear) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (uint32_t i = first; i < first + count; i++) {
		const uint8_t *e = ix->entries + (size_t)i * ENTRY_LEN;
		const uint8_t *p = in + (ix->off[i] - ix->off[first]);
		size_t sl = get_le32(e), fl = frame_plain(h, i);

		if (k) {
			uint8_t nonce[NONCE_LEN], num[4], tag[TAG_LEN];

			sl -= TAG_LEN;
			memcpy(tag, p + sl, TAG_LEN);
			frame_nonce(ix->hdr, i, nonce);
			put_le32(num, i);
			r = gcm_seal(false, c, k, nonce, ix->hdr, OFF_TAG_3, num, 4, p, clear, sl,
				     tag);
			if (r < 0) {
				set_err(err, errlen, "frame %u: authentication failed", i);
				r = -EIO;
				goto out;
			}
			p = clear;
		}
		if (e[4] & FRAME_ZSTD) {
			unsigned long long content = ZSTD_getFrameContentSize(p, sl);
			size_t got;

			if (content != fl || ZSTD_findFrameCompressedSize(p, sl) != sl) {
				set_err(err, errlen, "frame %u: bad zstd frame", i);
				r = -EIO;
				goto out;
			}
			if (!zd && !(zd = ZSTD_createDCtx())) {
				set_err(err, errlen, "out of memory");
				r = -ENOMEM;
				goto out;
			}
			got = ZSTD_decompressDCtx(zd, out, fl, p, sl);
			if (ZSTD_isError(got) || got != fl) {
				set_err(err, errlen, "frame %u: zstd decompression failed", i);
				r = -EIO;
				goto out;
			}
		} else {
			memcpy(out, p, fl);
		}
		if (codec_sha256(out, fl, sha) < 0 ||
		    CRYPTO_memcmp(sha, e + ENTRY_SHA, SHA_LEN) != 0) {
			set_err(err, errlen, "frame %u: checksum mismatch", i);
			r = -EIO;
			goto out;
		}
		out += fl;
	}
	r = 0;
out:
	ZSTD_freeDCtx(zd);
	if (clear) {
		OPENSSL_cleanse(clear, clear_len);
		free(clear);
	}
	return r;
}

static int decode3(struct codec *c, const struct codec_header *h, const struct codec_chunk *want,
		   const uint8_t *obj, size_t len, void **ret_plain, size_t *ret_len, char *err,
		   size_t errlen)
{
	struct codec_index *ix = NULL;
	uint8_t *plain;
	int r;

	(void)want;     /* checked by codec_decode, the chunk hash included */
	r = index_build(c, h, obj, len, &ix, err, errlen);
	if (r < 0)
		return r;
	if (ix->off[h->n_frames] != len) {
		set_err(err, errlen, "object length differs from its index's");
		codec_index_unref(ix);
		return -EIO;
	}
	plain = malloc(h->plain_len ? (size_t)h->plain_len : 1);
	if (!plain) {
		set_err(err, errlen, "out of memory");
		codec_index_unref(ix);
		return -ENOMEM;
	}
	r = codec_frames_decode(c, ix, 0, h->n_frames, obj + ix->off[0], len - ix->off[0], plain,
				err, errlen);
	codec_index_unref(ix);
	if (r < 0) {
		free(plain);
		return r;
	}
	*ret_plain = plain;
	*ret_len = (size_t)h->plain_len;
	return 0;
}

int codec_chunk_hash(const struct codec_header *h, const void *plain, size_t len,
		     uint8_t out[CODEC_SHA_LEN])
{
	const uint8_t *p = plain;
	uint32_t n;
	uint8_t *entries;
	int r = 0;

	if (!h || (!plain && len))
		return -EINVAL;
	if (h->format != 3)
		return codec_sha256(plain, len, out);
	if (h->frame_size < FRAME_MIN || h->frame_size > FRAME_MAX || len > CODEC_MAX_PLAIN)
		return -EINVAL;
	n = (uint32_t)((len + h->frame_size - 1) / h->frame_size);
	entries = calloc(n ? n : 1, ENTRY_LEN);
	if (!entries)
		return -ENOMEM;
	for (uint32_t i = 0; i < n && r == 0; i++) {
		size_t at = (size_t)i * h->frame_size;

		r = codec_sha256(p + at, len - at < h->frame_size ? len - at : h->frame_size,
				 entries + (size_t)i * ENTRY_LEN + ENTRY_SHA);
	}
	if (r == 0)
		r = chunk_hash(h->frame_size, len, entries, n, out);
	free(entries);
	return r;
}
