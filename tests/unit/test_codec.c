/* tests/unit/test_codec.c - unit tests of store/codec: the cold chunk object
 * format (header, zstd, AES-256-GCM), its verification against the chunk map
 * (version, class, length, recorded SHA-256), format 1 still read, and key
 * rotation. */
#include "store/codec.h"
#include "tests/unit/testdir.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/evp.h>
#include <zstd.h>

#define FSID       "fs-0123456789abcdef0"
#define FSID_OTHER "fs-0123456789abcdef1"
#define INO        4242u
#define IDX        7u
#define MiB        (1024u * 1024u)
#define VER        0x1234567890abcdefull   /* chunk version of the test objects */
#define CLS        1                       /* their storage class (IA) */

/* The chunk an object is encoded for, and what decode expects of it. */
#define ID(i, x)      (&(struct codec_chunk){ .ino = (i), .idx = (x), .version = VER, \
					      .class = CLS })
#define WANT(i, x, n) (&(struct codec_chunk){ .ino = (i), .idx = (x), .version = VER, \
					      .class = CLS, .plain_len = (n) })

/* a pointer value decode must leave alone when it fails */
static char sentinel;
#define SENTINEL ((void *)&sentinel)

static uint8_t key1[CODEC_KEY_LEN], key2[CODEC_KEY_LEN];

/* xorshift64: reproducible pseudo-random bytes */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill_random(uint8_t *buf, size_t n, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(rng_next(&s) >> 24);
}

/* text made of a few words in pseudo-random order: compresses well */
static void fill_text(uint8_t *buf, size_t n, uint64_t seed)
{
	static const char *const words[] = {
		"lorem ", "ipsum ", "chunk ", "inode ", "object ", "store ", "cold ", "hot ",
	};
	uint64_t s = seed + 12345;
	size_t i = 0;

	while (i < n) {
		const char *w = words[rng_next(&s) % 8];

		for (size_t j = 0; w[j] && i < n; j++)
			buf[i++] = (uint8_t)w[j];
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void sha256_of(const void *data, size_t len, uint8_t out[32])
{
	static const uint8_t nothing;

	ck_assert_int_eq(EVP_Digest(len ? data : &nothing, len, out, NULL, EVP_sha256(), NULL), 1);
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le64_at(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The format the tests' codecs write: 2 in the "codec" case (whose layout
 * checks are format 2's: old objects stay readable), 3 in "format3". */
static int g_format = 2;
static uint32_t g_frame = 4096;       /* format 3: small frames, so tests have many */

static struct codec *make_codec(const char *fs_id, const uint8_t *key, uint32_t key_id)
{
	struct codec *c = NULL;

	ck_assert_int_eq(codec_create(fs_id, key, key_id, 0, &c), 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(codec_set_format(c, g_format, g_frame), 0);
	return c;
}

/* encodes, decodes and compares; returns the object for further checks */
static uint8_t *round_trip(struct codec *c, const void *plain, size_t len, size_t *ret_obj_len)
{
	void *obj = NULL, *out = NULL;
	size_t obj_len = 0, out_len = 12345;
	char err[128] = "unset";

	ck_assert_int_eq(codec_encode(c, ID(INO, IDX), plain, len, &obj, &obj_len), 0);
	ck_assert_ptr_nonnull(obj);
	ck_assert_uint_ge(obj_len, CODEC_HEADER_LEN);
	ck_assert_int_eq(codec_decode(c, WANT(INO, IDX, len), obj, obj_len, &out, &out_len, err,
				      sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(out_len, len);
	if (len)
		ck_assert_mem_eq(out, plain, len);
	free(out);
	*ret_obj_len = obj_len;
	return obj;
}

#define DECODE_ERR_LEN 128

/* decode must fail with one of the given errors and leave the outputs alone */
static int decode_fails(struct codec *c, const struct codec_chunk *want, const void *obj, size_t len,
			char ret_err[DECODE_ERR_LEN])
{
	void *out = SENTINEL;
	size_t out_len = 777;
	char err[DECODE_ERR_LEN] = "";
	int r;

	r = codec_decode(c, want, obj, len, &out, &out_len, err, sizeof(err));
	ck_assert_int_lt(r, 0);
	ck_assert_ptr_eq(out, SENTINEL);
	ck_assert_uint_eq(out_len, 777);
	ck_assert_uint_gt(strlen(err), 0);
	if (ret_err)
		memcpy(ret_err, err, sizeof(err));
	return r;
}

static void use_format_3(void)
{
	g_format = 3;
}

static void setup(void)
{
	fill_random(key1, sizeof(key1), 1001);
	fill_random(key2, sizeof(key2), 2002);
	ck_assert_mem_ne(key1, key2, CODEC_KEY_LEN);
}

START_TEST(test_create_args)
{
	static const char *const bad[] = {
		"fs-0123456789abcdef", "fs-0123456789abcdef01", "xx-0123456789abcdef0",
		"fs-0123456789abcdefg", "", "fs_0123456789abcdef0",
	};
	struct codec *c = SENTINEL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(codec_create(bad[i], NULL, 0, 0, &c), -EINVAL);
		ck_assert_ptr_eq(c, SENTINEL);
	}
	ck_assert_int_eq(codec_create(NULL, NULL, 0, 0, &c), -EINVAL);
	ck_assert_int_eq(codec_create(FSID, NULL, 0, ZSTD_maxCLevel() + 1, &c), -EINVAL);
	ck_assert_ptr_eq(c, SENTINEL);
	ck_assert_int_eq(codec_create("fs-ABCDEF0123456789a", key1, 3, 19, &c), 0);
	ck_assert_ptr_ne(c, SENTINEL);
	codec_free(c);
	codec_free(NULL);
}
END_TEST

START_TEST(test_random_round_trip)
{
	static const size_t sizes[] = { 1, 2, 100, 4096, 65536 + 7 };
	struct codec *c = make_codec(FSID, NULL, 0);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *plain = xmalloc(sizes[i]), *obj;
		size_t obj_len;

		fill_random(plain, sizes[i], i);
		obj = round_trip(c, plain, sizes[i], &obj_len);
		/* random data does not compress: stored raw, flag bit 0 clear */
		ck_assert_uint_eq(obj[5] & CODEC_F_ZSTD, 0);
		ck_assert_uint_eq(obj_len, CODEC_HEADER_LEN + sizes[i]);
		ck_assert_mem_eq(obj + CODEC_HEADER_LEN, plain, sizes[i]);
		free(obj);
		free(plain);
	}
	codec_free(c);
}
END_TEST

START_TEST(test_compressible)
{
	size_t len = 256 * 1024, obj_len;
	uint8_t *plain = xmalloc(len), *obj;
	struct codec *c = make_codec(FSID, NULL, 0);

	fill_text(plain, len, 1);
	obj = round_trip(c, plain, len, &obj_len);
	ck_assert_uint_eq(obj[5], CODEC_F_ZSTD);
	ck_assert_uint_lt(obj_len, len / 2);
	/* the payload is a zstd frame of the plaintext's length */
	ck_assert_uint_eq(ZSTD_getFrameContentSize(obj + CODEC_HEADER_LEN, obj_len - CODEC_HEADER_LEN),
			  len);
	free(obj);
	free(plain);
	codec_free(c);
}
END_TEST

START_TEST(test_empty)
{
	static const uint8_t one = 'x';
	struct codec *plain_c = make_codec(FSID, NULL, 0), *enc_c = make_codec(FSID, key1, 1);
	struct codec *cs[] = { plain_c, enc_c };
	uint8_t sha[32];

	sha256_of(NULL, 0, sha);
	for (int i = 0; i < 2; i++) {
		struct codec_header h;
		size_t obj_len;
		uint8_t *obj;

		obj = round_trip(cs[i], NULL, 0, &obj_len);
		ck_assert_uint_eq(obj_len, CODEC_HEADER_LEN);
		ck_assert_int_eq(codec_peek(obj, obj_len, &h), 0);
		ck_assert_uint_eq(h.plain_len, 0);
		ck_assert_mem_eq(h.sha256, sha, 32);
		ck_assert_uint_eq(h.flags & CODEC_F_ZSTD, 0);
		ck_assert_uint_eq(h.flags & CODEC_F_AESGCM, i == 1 ? CODEC_F_AESGCM : 0);
		/* an empty object is still bound to its chunk */
		ck_assert_int_eq(decode_fails(cs[i], WANT(INO, IDX + 1, 0), obj, obj_len, NULL), -EIO);
		free(obj);
		/* a non-NULL pointer with length 0 is the same */
		obj = round_trip(cs[i], &one, 0, &obj_len);
		ck_assert_uint_eq(obj_len, CODEC_HEADER_LEN);
		free(obj);
	}
	codec_free(plain_c);
	codec_free(enc_c);
}
END_TEST

START_TEST(test_four_mib)
{
	size_t len = 4 * MiB, obj_len;
	uint8_t *plain = xmalloc(len), *obj;
	struct codec *plain_c = make_codec(FSID, NULL, 0), *enc_c = make_codec(FSID, key1, 9);

	/* half text, half random: compresses, but not to nothing */
	fill_text(plain, len / 2, 4);
	fill_random(plain + len / 2, len - len / 2, 4);
	obj = round_trip(plain_c, plain, len, &obj_len);
	ck_assert_uint_eq(obj[5], CODEC_F_ZSTD);
	ck_assert_uint_lt(obj_len, len);
	ck_assert_uint_gt(obj_len, len / 2);
	free(obj);
	obj = round_trip(enc_c, plain, len, &obj_len);
	ck_assert_uint_eq(obj[5], CODEC_F_ZSTD | CODEC_F_AESGCM);
	ck_assert_uint_lt(obj_len, len);
	free(obj);
	free(plain);
	codec_free(plain_c);
	codec_free(enc_c);
}
END_TEST

START_TEST(test_header_layout)
{
	size_t len = 3000, obj_len;
	uint8_t *plain = xmalloc(len), *obj, sha[32];
	struct codec *c = make_codec(FSID, NULL, 0);

	fill_random(plain, len, 5);
	sha256_of(plain, len, sha);
	obj = round_trip(c, plain, len, &obj_len);
	ck_assert_mem_eq(obj, "EFSC", 4);
	ck_assert_uint_eq(obj[4], 2);
	ck_assert_uint_eq(obj[6] | obj[7] << 8, 112);
	ck_assert_uint_eq(le32_at(obj + 8), 0);
	ck_assert(all_zero(obj + 12, 12));
	ck_assert_uint_eq(le64_at(obj + 24), len);
	ck_assert_uint_eq(le64_at(obj + 32), INO);
	ck_assert_uint_eq(le64_at(obj + 40), IDX);
	ck_assert_mem_eq(obj + 48, sha, 32);
	ck_assert_uint_eq(le64_at(obj + 80), VER);
	ck_assert_uint_eq(obj[88], CLS);
	ck_assert(all_zero(obj + 89, 7));
	ck_assert(all_zero(obj + 96, 16));
	free(obj);
	free(plain);
	codec_free(c);
}
END_TEST

START_TEST(test_encrypted_round_trip)
{
	size_t len = 20000, obj_len;
	uint8_t *rnd = xmalloc(len), *txt = xmalloc(len), *obj;
	struct codec *c = make_codec(FSID, key1, 0xa1b2c3d4u);

	fill_random(rnd, len, 6);
	fill_text(txt, len, 6);

	obj = round_trip(c, rnd, len, &obj_len);
	ck_assert_uint_eq(obj[5], CODEC_F_AESGCM);
	ck_assert_uint_eq(obj_len, CODEC_HEADER_LEN + len);
	ck_assert_uint_eq(le32_at(obj + 8), 0xa1b2c3d4u);
	ck_assert(!all_zero(obj + 12, 12));
	ck_assert(!all_zero(obj + 96, 16));
	/* the payload is not the plaintext */
	ck_assert_mem_ne(obj + CODEC_HEADER_LEN, rnd, 64);
	free(obj);

	obj = round_trip(c, txt, len, &obj_len);
	ck_assert_uint_eq(obj[5], CODEC_F_AESGCM | CODEC_F_ZSTD);
	ck_assert_uint_lt(obj_len, len);
	/* no plaintext shows through (zstd alone would keep literals) */
	ck_assert_ptr_null(memmem(obj, obj_len, "lorem ipsum", 11));
	free(obj);
	free(rnd);
	free(txt);
	codec_free(c);
}
END_TEST

/* kind: bit 0 = encrypted, bit 1 = compressible text (zstd), else random (raw) */
static uint8_t *make_small(struct codec **ret_c, int kind, uint8_t *plain, size_t len,
			   size_t *ret_obj_len)
{
	struct codec *c = make_codec(FSID, (kind & 1) ? key1 : NULL, 1);
	uint8_t *obj;

	if (kind & 2)
		fill_text(plain, len, (uint64_t)kind);
	else
		fill_random(plain, len, (uint64_t)kind);
	obj = round_trip(c, plain, len, ret_obj_len);
	ck_assert_uint_eq(obj[5], ((kind & 1) ? CODEC_F_AESGCM : 0) | ((kind & 2) ? CODEC_F_ZSTD : 0));
	*ret_c = c;
	return obj;
}

/* Every single-byte corruption is caught.  The one exception is the zstd
 * payload of an unencrypted object: nothing but the SHA-256 of the plaintext
 * covers it, and a zstd frame has bits that do not change what it decodes to
 * (the frame header's unused bit, redundant table encodings).  Such a
 * corruption may decode, but then only to the exact original plaintext. */
START_TEST(test_every_byte_corrupted)
{
	static const uint8_t masks[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff };
	int kind = _i;
	size_t len = 300, obj_len, tried = 0, harmless = 0;
	uint8_t plain[300], *obj, *bad;
	struct codec *c;

	obj = make_small(&c, kind, plain, len, &obj_len);
	bad = xmalloc(obj_len);
	for (size_t i = 0; i < obj_len; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			void *out = SENTINEL;
			size_t out_len = 777;
			char err[DECODE_ERR_LEN] = "unset";
			int r;

			memcpy(bad, obj, obj_len);
			bad[i] ^= masks[m];
			r = codec_decode(c, WANT(INO, IDX, len), bad, obj_len, &out, &out_len, err,
					 sizeof(err));
			tried++;
			if (r == 0 && kind == 2 && i >= CODEC_HEADER_LEN) {
				ck_assert_str_eq(err, "");
				ck_assert_uint_eq(out_len, len);
				ck_assert_mem_eq(out, plain, len);
				free(out);
				harmless++;
				continue;
			}
			ck_assert_msg(r == -EIO || r == -ENOKEY, "byte %zu mask %#x: %d", i,
				      (unsigned)masks[m], r);
			ck_assert_ptr_eq(out, SENTINEL);
			ck_assert_uint_eq(out_len, 777);
			ck_assert_uint_gt(strlen(err), 0);
			ck_assert_str_ne(err, "unset");
		}
	}
	ck_assert_uint_eq(tried, obj_len * sizeof(masks));
	/* the exception stays an exception */
	ck_assert_uint_lt(harmless * 10, tried);
	free(bad);
	free(obj);
	codec_free(c);
}
END_TEST

START_TEST(test_truncated)
{
	int kind = _i;
	size_t len = 300, obj_len;
	uint8_t plain[300], *obj, *longer;
	struct codec *c;

	obj = make_small(&c, kind, plain, len, &obj_len);
	for (size_t n = 0; n < obj_len; n++)
		ck_assert_int_eq(decode_fails(c, WANT(INO, IDX, len), obj, n, NULL), -EIO);
	/* one byte too many is as bad */
	longer = xmalloc(obj_len + 1);
	memcpy(longer, obj, obj_len);
	longer[obj_len] = 0;
	ck_assert_int_eq(decode_fails(c, WANT(INO, IDX, len), longer, obj_len + 1, NULL), -EIO);
	free(longer);
	free(obj);
	codec_free(c);
}
END_TEST

START_TEST(test_wrong_chunk)
{
	int kind = _i;
	size_t len = 300, obj_len;
	uint8_t plain[300], *obj;
	struct codec *c, *other;
	char err[DECODE_ERR_LEN];

	obj = make_small(&c, kind, plain, len, &obj_len);
	ck_assert_int_eq(decode_fails(c, WANT(INO + 1, IDX, len), obj, obj_len, err), -EIO);
	ck_assert_int_eq(decode_fails(c, WANT(INO, IDX + 1, len), obj, obj_len, err), -EIO);
	ck_assert_int_eq(decode_fails(c, WANT(IDX, INO, len), obj, obj_len, err), -EIO);
	if (kind & 1) {
		/* same key under another file system id: the GCM tag fails */
		other = make_codec(FSID_OTHER, key1, 1);
		ck_assert_int_eq(decode_fails(other, WANT(INO, IDX, len), obj, obj_len, err), -EIO);
		codec_free(other);
	}
	free(obj);
	codec_free(c);
}
END_TEST

/* Rewriting the header's ino/idx of an encrypted object to another chunk's is
 * caught by the tag (a replay under another chunk). */
START_TEST(test_replay_other_chunk)
{
	size_t len = 500, obj_len;
	uint8_t plain[500], *obj;
	struct codec *c;
	char err[DECODE_ERR_LEN];

	obj = make_small(&c, 1, plain, len, &obj_len);
	put_le64_at(obj + 32, INO + 1);
	ck_assert_int_eq(decode_fails(c, WANT(INO + 1, IDX, len), obj, obj_len, err), -EIO);
	put_le64_at(obj + 32, INO);
	put_le64_at(obj + 40, IDX + 5);
	ck_assert_int_eq(decode_fails(c, WANT(INO, IDX + 5, len), obj, obj_len, err), -EIO);
	put_le64_at(obj + 40, IDX);
	free(round_trip(c, plain, len, &obj_len));
	free(obj);
	codec_free(c);
}
END_TEST

START_TEST(test_wrong_key)
{
	size_t len = 1000, obj_len;
	uint8_t plain[1000], *obj;
	struct codec *c, *same_id, *other_id, *none;
	char err[DECODE_ERR_LEN];

	obj = make_small(&c, 3, plain, len, &obj_len);
	same_id = make_codec(FSID, key2, 1);
	other_id = make_codec(FSID, key2, 2);
	none = make_codec(FSID, NULL, 0);
	ck_assert_int_eq(decode_fails(same_id, WANT(INO, IDX, len), obj, obj_len, err), -EIO);
	ck_assert_int_eq(decode_fails(other_id, WANT(INO, IDX, len), obj, obj_len, err), -ENOKEY);
	ck_assert_int_eq(decode_fails(none, WANT(INO, IDX, len), obj, obj_len, err), -ENOKEY);
	free(obj);
	codec_free(c);
	codec_free(same_id);
	codec_free(other_id);
	codec_free(none);
}
END_TEST

/* An encrypting codec accepts only authenticated objects. */
START_TEST(test_encrypted_rejects_plain)
{
	size_t len = 1000, obj_len;
	uint8_t plain[1000], *obj;
	struct codec *c, *enc = make_codec(FSID, key1, 1);
	char err[DECODE_ERR_LEN];

	obj = make_small(&c, 2, plain, len, &obj_len);
	ck_assert_int_eq(decode_fails(enc, WANT(INO, IDX, len), obj, obj_len, err), -EIO);
	free(obj);
	codec_free(c);
	codec_free(enc);
}
END_TEST

START_TEST(test_rotation)
{
	size_t len = 5000, len1, len2;
	uint8_t *plain = xmalloc(len), *obj1, *obj2;
	struct codec *old = make_codec(FSID, key1, 1), *cur = make_codec(FSID, key2, 2);
	struct codec_header h;
	void *out;
	size_t out_len;

	fill_text(plain, len, 8);
	obj1 = round_trip(old, plain, len, &len1);
	ck_assert_int_eq(decode_fails(cur, WANT(INO, IDX, len), obj1, len1, NULL), -ENOKEY);

	ck_assert_int_eq(codec_add_key(cur, 1, key1), 0);
	ck_assert_int_eq(codec_decode(cur, WANT(INO, IDX, len), obj1, len1, &out, &out_len, NULL, 0), 0);
	ck_assert_uint_eq(out_len, len);
	ck_assert_mem_eq(out, plain, len);
	free(out);

	/* adding the same key again is harmless; another key under a used id is not */
	ck_assert_int_eq(codec_add_key(cur, 1, key1), 0);
	ck_assert_int_eq(codec_add_key(cur, 1, key2), -EEXIST);
	ck_assert_int_eq(codec_add_key(cur, 2, key1), -EEXIST);

	/* new objects still go out under the current key */
	obj2 = round_trip(cur, plain, len, &len2);
	ck_assert_int_eq(codec_peek(obj2, len2, &h), 0);
	ck_assert_uint_eq(h.key_id, 2);
	ck_assert_int_eq(decode_fails(old, WANT(INO, IDX, len), obj2, len2, NULL), -ENOKEY);

	/* a decode-only codec (no current key) reads both */
	codec_free(old);
	old = make_codec(FSID, NULL, 0);
	ck_assert_int_eq(codec_add_key(old, 2, key2), 0);
	ck_assert_int_eq(codec_decode(old, WANT(INO, IDX, len), obj2, len2, &out, &out_len, NULL, 0), 0);
	ck_assert_mem_eq(out, plain, len);
	free(out);
	free(obj1);
	free(obj2);
	free(plain);
	codec_free(old);
	codec_free(cur);
}
END_TEST

START_TEST(test_peek)
{
	size_t len = 7000, obj_len;
	uint8_t *plain = xmalloc(len), *obj, sha[32], junk[200];
	struct codec *c = make_codec(FSID, key1, 77);
	struct codec_header h, untouched;
	void *o;

	fill_text(plain, len, 9);
	sha256_of(plain, len, sha);
	ck_assert_int_eq(codec_encode(c, ID(0xfedcba9876543210ull, 0x1122334455ull), plain, len, &o,
				      &obj_len), 0);
	obj = o;
	ck_assert_int_eq(codec_peek(obj, obj_len, &h), 0);
	ck_assert_uint_eq(h.format, g_format);
	ck_assert_uint_eq(h.version, VER);
	ck_assert_uint_eq(h.class, CLS);
	ck_assert_uint_eq(h.flags, CODEC_F_ZSTD | CODEC_F_AESGCM);
	ck_assert_uint_eq(h.key_id, 77);
	ck_assert_uint_eq(h.plain_len, len);
	ck_assert_uint_eq(h.ino, 0xfedcba9876543210ull);
	ck_assert_uint_eq(h.idx, 0x1122334455ull);
	ck_assert_mem_eq(h.sha256, sha, 32);
	/* the header alone is enough */
	ck_assert_int_eq(codec_peek(obj, CODEC_HEADER_LEN, &h), 0);

	memset(&untouched, 0xab, sizeof(untouched));
	h = untouched;
	ck_assert_int_eq(codec_peek(obj, CODEC_HEADER_LEN - 1, &h), -EIO);
	ck_assert_int_eq(codec_peek(obj, 0, &h), -EIO);
	fill_random(junk, sizeof(junk), 9);
	ck_assert_int_eq(codec_peek(junk, sizeof(junk), &h), -EIO);
	ck_assert_mem_eq(&h, &untouched, sizeof(h));
	free(obj);
	free(plain);
	codec_free(c);
}
END_TEST

START_TEST(test_nonce_differs)
{
	size_t len = 4096, len1, len2;
	uint8_t *plain = xmalloc(len), *obj1, *obj2;
	struct codec *c = make_codec(FSID, key1, 1);

	fill_text(plain, len, 10);
	obj1 = round_trip(c, plain, len, &len1);
	obj2 = round_trip(c, plain, len, &len2);
	ck_assert_uint_eq(len1, len2);
	ck_assert_mem_ne(obj1 + 12, obj2 + 12, 12);                    /* nonce */
	ck_assert_mem_ne(obj1 + 96, obj2 + 96, 16);                    /* tag */
	ck_assert_mem_ne(obj1 + CODEC_HEADER_LEN, obj2 + CODEC_HEADER_LEN, len1 - CODEC_HEADER_LEN);
	/* everything but nonce and tag is the same */
	ck_assert_mem_eq(obj1, obj2, 12);
	ck_assert_mem_eq(obj1 + 24, obj2 + 24, 72);
	free(obj1);
	free(obj2);
	free(plain);
	codec_free(c);
}
END_TEST

START_TEST(test_version_and_flags)
{
	size_t len = 300, obj_len;
	uint8_t plain[300], *obj;
	struct codec *c;
	char want[64];
	char err[DECODE_ERR_LEN];

	obj = make_small(&c, 2, plain, len, &obj_len);
	obj[4] = CODEC_VERSION + 1;
	ck_assert_int_eq(decode_fails(c, WANT(INO, IDX, len), obj, obj_len, err), -EIO);
	snprintf(want, sizeof(want), "unsupported format version %d", CODEC_VERSION + 1);
	ck_assert_str_eq(err, want);
	obj[4] = CODEC_VERSION;
	for (unsigned int bit = 2; bit < 8; bit++) {
		obj[5] ^= (uint8_t)(1u << bit);
		ck_assert_int_eq(decode_fails(c, WANT(INO, IDX, len), obj, obj_len, err), -EIO);
		obj[5] ^= (uint8_t)(1u << bit);
	}
	free(round_trip(c, plain, len, &obj_len));
	free(obj);
	codec_free(c);
}
END_TEST

/* Hand-built unencrypted format-1 objects (whose sizes lie). */
#define H1 CODEC_HEADER_LEN_1
static uint8_t *craft(uint8_t flags, uint64_t plain_len, const uint8_t sha[32],
		      const void *payload, size_t payload_len)
{
	uint8_t *obj = calloc(1, CODEC_HEADER_LEN_1 + payload_len + 1);

	ck_assert_ptr_nonnull(obj);
	memcpy(obj, "EFSC", 4);
	obj[4] = 1;
	obj[5] = flags;
	obj[6] = 96;
	put_le64_at(obj + 24, plain_len);
	put_le64_at(obj + 32, INO);
	put_le64_at(obj + 40, IDX);
	memcpy(obj + 48, sha, 32);
	if (payload_len)
		memcpy(obj + CODEC_HEADER_LEN_1, payload, payload_len);
	return obj;
}

START_TEST(test_lying_sizes)
{
	size_t zeros_len = 64 * 1024, small = 1000, bound = ZSTD_compressBound(zeros_len), n;
	uint8_t *zeros = calloc(1, zeros_len), *frame = xmalloc(2 * bound), sha[32], *obj;
	struct codec *c = make_codec(FSID, NULL, 0);
	ZSTD_CCtx *cctx;
	ZSTD_inBuffer in;
	ZSTD_outBuffer out;
	const struct codec_chunk *want = WANT(INO, IDX, small);
	struct codec_header h;
	void *got;
	size_t got_len;

	ck_assert_ptr_nonnull(zeros);
	/* a correct hand-built object decodes: the crafting is right */
	n = ZSTD_compress(frame, bound, zeros, small, 1);
	ck_assert(!ZSTD_isError(n));
	sha256_of(zeros, small, sha);
	obj = craft(CODEC_F_ZSTD, small, sha, frame, n);
	ck_assert_int_eq(codec_decode(c, want, obj, H1 + n, &got, &got_len, NULL, 0), 0);
	ck_assert_uint_eq(got_len, small);
	free(got);
	free(obj);

	/* a frame of 64 KiB behind a header that says 1000 bytes */
	n = ZSTD_compress(frame, bound, zeros, zeros_len, 1);
	ck_assert(!ZSTD_isError(n));
	obj = craft(CODEC_F_ZSTD, small, sha, frame, n);
	ck_assert_int_eq(decode_fails(c, want, obj, H1 + n, NULL), -EIO);
	free(obj);

	/* a frame that does not state its size */
	cctx = ZSTD_createCCtx();
	ck_assert_ptr_nonnull(cctx);
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
	in = (ZSTD_inBuffer){ zeros, small, 0 };
	out = (ZSTD_outBuffer){ frame, bound, 0 };
	ck_assert_uint_eq(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end), 0);
	ZSTD_freeCCtx(cctx);
	ck_assert_uint_eq(ZSTD_getFrameContentSize(frame, out.pos), ZSTD_CONTENTSIZE_UNKNOWN);
	obj = craft(CODEC_F_ZSTD, small, sha, frame, out.pos);
	ck_assert_int_eq(decode_fails(c, want, obj, H1 + out.pos, NULL), -EIO);
	free(obj);

	/* two frames of 500 bytes each */
	n = ZSTD_compress(frame, bound, zeros, small / 2, 1);
	ck_assert(!ZSTD_isError(n));
	memcpy(frame + n, frame, n);
	obj = craft(CODEC_F_ZSTD, small, sha, frame, 2 * n);
	ck_assert_int_eq(decode_fails(c, want, obj, H1 + 2 * n, NULL), -EIO);
	free(obj);

	/* the right frame followed by a skippable frame (magic 0x184D2A50, size 4) */
	n = ZSTD_compress(frame, bound, zeros, small, 1);
	ck_assert(!ZSTD_isError(n));
	memcpy(frame + n, "\x50\x2a\x4d\x18\x04\x00\x00\x00" "abcd", 12);
	ck_assert_uint_eq(ZSTD_findFrameCompressedSize(frame + n, 12), 12);
	obj = craft(CODEC_F_ZSTD, small, sha, frame, n + 12);
	ck_assert_int_eq(decode_fails(c, want, obj, H1 + n + 12, NULL), -EIO);
	free(obj);

	/* a plaintext length over the 1 GiB cap, raw or compressed */
	obj = craft(0, (1ull << 30) + 1, sha, NULL, 0);
	ck_assert_int_eq(codec_peek(obj, CODEC_HEADER_LEN_1, &h), -EIO);
	put_le64_at(obj + 24, 1ull << 30);
	ck_assert_int_eq(codec_peek(obj, CODEC_HEADER_LEN_1, &h), 0);
	ck_assert_uint_eq(h.plain_len, 1ull << 30);
	free(obj);
	obj = craft(0, (1ull << 30) + 1, sha, zeros, small);
	ck_assert_int_eq(decode_fails(c, want, obj, H1 + small, NULL), -EIO);
	free(obj);
	obj = craft(CODEC_F_ZSTD, UINT64_MAX, sha, frame, n);
	ck_assert_int_eq(decode_fails(c, want, obj, H1 + n, NULL), -EIO);
	free(obj);

	/* encode refuses what decode would refuse (the buffer is never read) */
	ck_assert_int_eq(codec_encode(c, ID(INO, IDX), zeros, (1u << 30) + 1, &got, &got_len),
			 -EFBIG);

	free(frame);
	free(zeros);
	codec_free(c);
}
END_TEST

/* The header names the chunk version and class (format 2), so an older
 * version of the same chunk, or the same bytes under the other class, is
 * refused; in an encrypted object rewriting those fields breaks the tag. */
START_TEST(test_replay_other_version)
{
	int kind = _i;
	size_t len = 300, obj_len;
	uint8_t plain[300], *obj;
	struct codec *c;
	struct codec_chunk want;
	char err[DECODE_ERR_LEN];

	obj = make_small(&c, kind, plain, len, &obj_len);
	want = *WANT(INO, IDX, len);
	want.version = VER + 1;
	ck_assert_int_eq(decode_fails(c, &want, obj, obj_len, err), -EIO);
	ck_assert_str_eq(err, "chunk version mismatch");
	want.version = VER;
	want.class = 2;
	ck_assert_int_eq(decode_fails(c, &want, obj, obj_len, err), -EIO);
	ck_assert_str_eq(err, "storage class mismatch");
	want.class = CLS;
	if (kind & 1) {
		/* the header says what the chunk map expects, but the tag knows better */
		put_le64_at(obj + 80, VER + 1);
		want.version = VER + 1;
		ck_assert_int_eq(decode_fails(c, &want, obj, obj_len, err), -EIO);
		ck_assert_ptr_nonnull(strstr(err, "authentication failed"));
		put_le64_at(obj + 80, VER);
		want.version = VER;
		obj[88] = 2;
		want.class = 2;
		ck_assert_int_eq(decode_fails(c, &want, obj, obj_len, err), -EIO);
		ck_assert_ptr_nonnull(strstr(err, "authentication failed"));
	}
	free(obj);
	codec_free(c);
}
END_TEST

/* With the SHA-256 the chunk map recorded, only that content decodes: an
 * older object of the same chunk (same version, as a format-1 one would
 * be) is refused although it is otherwise valid. */
START_TEST(test_recorded_sha)
{
	int kind = _i;
	size_t len = 300, obj_len, other_len, out_len;
	uint8_t plain[300], other[300], sha[32], other_sha[32], *obj, *old;
	struct codec *c;
	struct codec_chunk want = *WANT(INO, IDX, len);
	char err[DECODE_ERR_LEN];
	void *out;

	obj = make_small(&c, kind, plain, len, &obj_len);
	memcpy(other, plain, len);
	other[7] ^= 0x40;
	old = round_trip(c, other, len, &other_len);
	sha256_of(plain, len, sha);
	sha256_of(other, len, other_sha);
	want.sha256 = sha;
	ck_assert_int_eq(codec_decode(c, &want, obj, obj_len, &out, &out_len, err, sizeof(err)), 0);
	ck_assert_mem_eq(out, plain, len);
	free(out);
	ck_assert_int_eq(decode_fails(c, &want, old, other_len, err), -EIO);
	ck_assert_str_eq(err, "SHA-256 differs from the chunk map's (another version of the chunk)");
	want.sha256 = other_sha;
	ck_assert_int_eq(decode_fails(c, &want, obj, obj_len, err), -EIO);
	free(old);
	free(obj);
	codec_free(c);
}
END_TEST

/* A format-1 object, as efsfs wrote them before the version and class were
 * added: header of 96 bytes, tag at 80, AAD = header bytes 0..79 + fs id.
 * Built here with OpenSSL directly, encrypted under key when not NULL. */
static uint8_t *format1(const uint8_t *key, const uint8_t *plain, size_t len, size_t *ret_len)
{
	uint8_t *obj = calloc(1, CODEC_HEADER_LEN_1 + len + 1);
	EVP_CIPHER_CTX *ctx;
	int outl;

	ck_assert_ptr_nonnull(obj);
	memcpy(obj, "EFSC", 4);
	obj[4] = 1;
	obj[6] = CODEC_HEADER_LEN_1;
	put_le64_at(obj + 24, len);
	put_le64_at(obj + 32, INO);
	put_le64_at(obj + 40, IDX);
	sha256_of(plain, len, obj + 48);
	memcpy(obj + CODEC_HEADER_LEN_1, plain, len);
	if (key) {
		obj[5] = CODEC_F_AESGCM;
		obj[8] = 1;                                   /* key id 1 */
		fill_random(obj + 12, 12, 99);                /* nonce */
		ctx = EVP_CIPHER_CTX_new();
		ck_assert_ptr_nonnull(ctx);
		ck_assert_int_eq(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
		ck_assert_int_eq(EVP_EncryptInit_ex(ctx, NULL, NULL, key, obj + 12), 1);
		ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &outl, obj, 80), 1);
		ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &outl, (const uint8_t *)FSID, 20), 1);
		ck_assert_int_eq(EVP_EncryptUpdate(ctx, obj + CODEC_HEADER_LEN_1, &outl,
						   obj + CODEC_HEADER_LEN_1, (int)len), 1);
		ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, obj + CODEC_HEADER_LEN_1 + len, &outl), 1);
		ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, obj + 80), 1);
		EVP_CIPHER_CTX_free(ctx);
	}
	*ret_len = CODEC_HEADER_LEN_1 + len;
	return obj;
}

START_TEST(test_format_1_still_read)
{
	int enc = _i;
	size_t len = 1000, obj_len, out_len;
	uint8_t plain[1000], sha[32], *obj;
	struct codec *c = make_codec(FSID, enc ? key1 : NULL, 1);
	struct codec_chunk want = *WANT(INO, IDX, len);
	struct codec_header h;
	char err[DECODE_ERR_LEN];
	void *out;

	fill_random(plain, len, 31);
	sha256_of(plain, len, sha);
	obj = format1(enc ? key1 : NULL, plain, len, &obj_len);
	ck_assert_int_eq(codec_peek(obj, obj_len, &h), 0);
	ck_assert_uint_eq(h.format, 1);
	ck_assert_uint_eq(h.version, 0);
	/* format 1 has no version or class: any the chunk map names will do */
	want.version = 77;
	want.class = 2;
	ck_assert_int_eq(codec_decode(c, &want, obj, obj_len, &out, &out_len, err, sizeof(err)), 0);
	ck_assert_uint_eq(out_len, len);
	ck_assert_mem_eq(out, plain, len);
	free(out);
	want.sha256 = sha;
	ck_assert_int_eq(codec_decode(c, &want, obj, obj_len, &out, &out_len, err, sizeof(err)), 0);
	free(out);
	/* and it is checked as thoroughly as before */
	ck_assert_int_eq(decode_fails(c, WANT(INO, IDX + 1, len), obj, obj_len, err), -EIO);
	obj[CODEC_HEADER_LEN_1 + 5] ^= 1;
	ck_assert_int_eq(decode_fails(c, &want, obj, obj_len, err), -EIO);
	obj[CODEC_HEADER_LEN_1 + 5] ^= 1;
	if (enc) {
		obj[40] ^= 1;                 /* the chunk index, under the tag */
		want.idx ^= 1;
		ck_assert_int_eq(decode_fails(c, &want, obj, obj_len, err), -EIO);
		ck_assert_str_eq(err, "authentication failed");
	}
	free(obj);
	codec_free(c);
}
END_TEST

static long max_rss_kib(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/* A zstd bomb: a valid frame of 1 GiB of zeros (a few KiB) behind a header
 * that says so, for a chunk whose row says 64 KiB.  Decode refuses it before
 * allocating or inflating anything: the peak memory stays where it was. */
START_TEST(test_zstd_bounded_by_chunk_map)
{
	const size_t step = MiB, cap = 4 * MiB;
	const uint64_t bomb = 1ull << 30;
	uint8_t *zeros = calloc(1, step), *frame = xmalloc(cap), sha[32] = { 0 }, *obj;
	struct codec *c = make_codec(FSID, NULL, 0);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	ZSTD_outBuffer out = { frame, cap, 0 };
	char err[DECODE_ERR_LEN];
	long before;

	ck_assert_ptr_nonnull(zeros);
	ck_assert_ptr_nonnull(cctx);
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, bomb)));
	for (uint64_t done = 0; done < bomb; done += step) {
		ZSTD_inBuffer in = { zeros, step, 0 };
		ZSTD_EndDirective end = done + step == bomb ? ZSTD_e_end : ZSTD_e_continue;
		size_t left;

		do {
			left = ZSTD_compressStream2(cctx, &out, &in, end);
			ck_assert(!ZSTD_isError(left));
		} while (in.pos < in.size || (end == ZSTD_e_end && left));
	}
	ZSTD_freeCCtx(cctx);
	ck_assert_uint_lt(out.pos, cap);
	ck_assert_uint_eq(ZSTD_getFrameContentSize(frame, out.pos), bomb);
	obj = craft(CODEC_F_ZSTD, bomb, sha, frame, out.pos);
	free(frame);
	free(zeros);

	before = max_rss_kib();
	ck_assert_int_eq(decode_fails(c, WANT(INO, IDX, 64 * 1024), obj, CODEC_HEADER_LEN_1 + out.pos,
				      err), -EIO);
	ck_assert_str_eq(err, "plaintext length differs from the chunk map's");
	ck_assert_msg(max_rss_kib() - before < 64 * 1024, "decode grew the peak memory by %ld KiB",
		      max_rss_kib() - before);
	free(obj);
	codec_free(c);
}
END_TEST

START_TEST(test_bad_args)
{
	struct codec *c = make_codec(FSID, NULL, 0);
	void *obj = SENTINEL;
	size_t len = 5;
	struct codec_header h;

	ck_assert_int_eq(codec_encode(c, ID(INO, IDX), NULL, 10, &obj, &len), -EINVAL);
	ck_assert_int_eq(codec_encode(NULL, ID(INO, IDX), "x", 1, &obj, &len), -EINVAL);
	ck_assert_ptr_eq(obj, SENTINEL);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(codec_decode(c, WANT(INO, IDX, 10), NULL, 10, &obj, &len, NULL, 0), -EINVAL);
	ck_assert_int_eq(codec_peek(NULL, 0, &h), -EIO);
	ck_assert_int_eq(codec_add_key(c, 1, NULL), -EINVAL);
	codec_free(c);
}
END_TEST

/* Several threads encode and decode on one codec at the same time. */
#define N_THREADS 4
#define N_ROUNDS  40

struct worker {
	struct codec *c;
	unsigned int id;
	unsigned int ok;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	size_t len = 50000;
	uint8_t *plain = malloc(len);

	if (!plain)
		return NULL;
	for (unsigned int i = 0; i < N_ROUNDS; i++) {
		void *obj, *out;
		size_t obj_len, out_len;
		uint64_t ino = w->id * 1000u + i;

		if (i % 2)
			fill_text(plain, len, ino);
		else
			fill_random(plain, len, ino);
		if (codec_encode(w->c, ID(ino, i), plain, len, &obj, &obj_len) < 0)
			continue;
		if (codec_decode(w->c, WANT(ino, i, len), obj, obj_len, &out, &out_len, NULL, 0) == 0) {
			if (out_len == len && memcmp(out, plain, len) == 0)
				w->ok++;
			free(out);
		}
		free(obj);
	}
	free(plain);
	return NULL;
}

START_TEST(test_threads)
{
	struct codec *c = make_codec(FSID, key1, 1);
	struct worker w[N_THREADS];
	pthread_t t[N_THREADS];

	ck_assert_int_eq(codec_add_key(c, 2, key2), 0);
	for (unsigned int i = 0; i < N_THREADS; i++) {
		w[i] = (struct worker){ .c = c, .id = i, .ok = 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (unsigned int i = 0; i < N_THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_uint_eq(w[i].ok, N_ROUNDS);
	}
	codec_free(c);
}
END_TEST

/* ---- format 3: frames, index, ranged reads ---- */

#define F3     4096u                   /* frame size of the format-3 tests */
#define F3_LEN (5 * F3 + 100)          /* six frames, the last one short */

/* kind: bit 0 encrypted, bit 1 compressible */
static struct codec *make3(int kind, uint8_t *plain, size_t len, uint64_t seed)
{
	struct codec *c = make_codec(FSID, (kind & 1) ? key1 : NULL, 1);

	ck_assert_int_eq(codec_set_format(c, 3, F3), 0);
	if (kind & 2)
		fill_text(plain, len, seed);
	else
		fill_random(plain, len, seed);
	return c;
}

static uint8_t *encode3_obj(struct codec *c, uint64_t version, const uint8_t *plain, size_t len,
			    size_t *ret_len, uint8_t sha[32])
{
	struct codec_chunk id = *ID(INO, IDX);
	struct codec_header h;
	void *obj;

	id.version = version;
	ck_assert_int_eq(codec_encode(c, &id, plain, len, &obj, ret_len), 0);
	ck_assert_int_eq(codec_peek(obj, *ret_len, &h), 0);
	ck_assert_uint_eq(h.format, 3);
	ck_assert_uint_eq(h.frame_size, F3);
	ck_assert_uint_eq(h.n_frames, (len + F3 - 1) / F3);
	memcpy(sha, h.sha256, 32);
	return obj;
}

/* Loads the index from obj as a reader would: a prefix first. */
static int load_index(struct codec *c, const uint8_t *obj, size_t obj_len, uint64_t version,
		      const uint8_t *sha, size_t len, struct codec_index **ix, char *err)
{
	struct codec_chunk want = *WANT(INO, IDX, len);
	size_t need = 0;

	want.version = version;
	want.sha256 = sha;
	ck_assert_int_eq(codec_index_need(obj, obj_len < CODEC_PREFIX_GUESS ? obj_len
							: CODEC_PREFIX_GUESS, &need, NULL, 0), 0);
	ck_assert_uint_le(need, obj_len);
	return codec_index_load(c, &want, obj, need, ix, err, DECODE_ERR_LEN);
}

/* Reads plaintext [off, off + n) through the index; returns decode's result. */
static int read_range(struct codec *c, struct codec_index *ix, const uint8_t *obj, uint64_t off,
		      size_t n, uint8_t *dst, char *err)
{
	uint32_t first, count;
	uint64_t ooff, poff;
	size_t olen, plen;
	uint8_t *frames = xmalloc((size_t)F3 * 8);
	int r;

	ck_assert_int_eq(codec_index_span(ix, off, n, &first, &count, &ooff, &olen, &poff, &plen), 0);
	ck_assert_uint_le(count, 8);
	r = codec_frames_decode(c, ix, first, count, obj + ooff, olen, frames, err,
				DECODE_ERR_LEN);
	if (r == 0)
		memcpy(dst, frames + (off - poff), n);
	free(frames);
	return r;
}

START_TEST(test3_round_trip_and_ranges)
{
	static const struct { uint64_t off; size_t n; } ranges[] = {
		{ 0, 1 }, { 0, F3 }, { F3 - 1, 2 }, { 2 * F3 + 17, 4000 }, { 5 * F3, 100 },
		{ 0, F3_LEN }, { F3_LEN - 1, 1 },
	};
	uint8_t *plain = xmalloc(F3_LEN), *obj, sha[32], got[F3_LEN];
	struct codec *c = make3(_i, plain, F3_LEN, 31 + _i);
	struct codec_index *ix = NULL;
	char err[DECODE_ERR_LEN];
	size_t obj_len, dummy;
	void *out;

	obj = encode3_obj(c, VER, plain, F3_LEN, &obj_len, sha);
	{
		struct codec_header h;
		uint8_t again[32];

		/* the chunk hash is the plaintext's, computable without the object */
		ck_assert_int_eq(codec_peek(obj, obj_len, &h), 0);
		ck_assert_int_eq(codec_chunk_hash(&h, plain, F3_LEN, again), 0);
		ck_assert_mem_eq(again, sha, 32);
		plain[F3_LEN - 1] ^= 1;
		ck_assert_int_eq(codec_chunk_hash(&h, plain, F3_LEN, again), 0);
		ck_assert_mem_ne(again, sha, 32);
		plain[F3_LEN - 1] ^= 1;
	}
	/* a whole decode checks against the chunk hash too */
	ck_assert_int_eq(codec_decode(c, &(struct codec_chunk){ .ino = INO, .idx = IDX,
			 .version = VER, .class = CLS, .plain_len = F3_LEN, .sha256 = sha }, obj,
			 obj_len, &out, &dummy, err, sizeof(err)), 0);
	ck_assert_mem_eq(out, plain, F3_LEN);
	free(out);
	if (_i & 2)
		ck_assert_uint_lt(obj_len, F3_LEN / 2);
	ck_assert_int_eq(load_index(c, obj, obj_len, VER, sha, F3_LEN, &ix, err), 0);
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (ranges[i].n > F3 * 7)
			continue;
		memset(got, 0xa5, sizeof(got));
		ck_assert_int_eq(read_range(c, ix, obj, ranges[i].off, ranges[i].n, got, err), 0);
		ck_assert_mem_eq(got, plain + ranges[i].off, ranges[i].n);
	}
	{
		uint32_t first, count;
		uint64_t ooff, poff;
		size_t olen, plen;

		ck_assert_int_eq(codec_index_span(ix, F3_LEN, 1, &first, &count, &ooff, &olen,
						  &poff, &plen), -EINVAL);
		ck_assert_int_eq(codec_index_span(ix, 0, 0, &first, &count, &ooff, &olen, &poff, &plen),
				 -EINVAL);
		/* truncated or extended range answers */
		ck_assert_int_eq(codec_index_span(ix, F3, 10, &first, &count, &ooff, &olen, &poff, &plen), 0);
		ck_assert_int_eq(codec_frames_decode(c, ix, first, count, obj + ooff, olen - 1, got,
						     err, sizeof(err)), -EIO);
		ck_assert_int_eq(codec_frames_decode(c, ix, first, count, obj + ooff, olen + 1, got,
						     err, sizeof(err)), -EIO);
	}
	/* without the chunk map's hash a part cannot be checked */
	{
		struct codec_index *none = NULL;

		ck_assert_int_eq(codec_index_load(c, WANT(INO, IDX, F3_LEN), obj, obj_len, &none,
						  err, sizeof(err)), -EINVAL);
	}
	codec_index_unref(codec_index_ref(ix));
	codec_index_unref(ix);
	free(obj);
	free(plain);
	codec_free(c);
}
END_TEST

/* Frames swapped, or one taken from another version of the chunk, or a
 * whole header and index of another version: every one -EIO. */
START_TEST(test3_swap_replay)
{
	uint8_t *a = xmalloc(F3_LEN), *b = xmalloc(F3_LEN), *oa, *ob, sha_a[32], sha_b[32];
	uint8_t got[F3];
	struct codec *c = make3(_i & 1, a, F3_LEN, 41);      /* random: frames stored raw */
	struct codec_index *ix = NULL, *bad = NULL;
	char err[DECODE_ERR_LEN];
	size_t la, lb, hdr = CODEC_HEADER_LEN_3 + 6 * CODEC_INDEX_ENTRY;
	size_t fl = F3 + ((_i & 1) ? 16 : 0);

	memcpy(b, a, F3_LEN);
	b[F3 + 5] ^= 1;                              /* version 2 differs in frame 1 */
	oa = encode3_obj(c, VER, a, F3_LEN, &la, sha_a);
	ob = encode3_obj(c, (_i & 2) ? VER : VER + 1, b, F3_LEN, &lb, sha_b);
	ck_assert_uint_eq(la, lb);
	ck_assert_uint_eq(la, hdr + 5 * fl + 100 + ((_i & 1) ? 16 : 0));
	ck_assert_int_eq(load_index(c, oa, la, VER, sha_a, F3_LEN, &ix, err), 0);

	/* frame 1 of b in a */
	memcpy(oa + hdr + fl, ob + hdr + fl, fl);
	ck_assert_int_eq(read_range(c, ix, oa, F3, 10, got, err), -EIO);
	ck_assert_int_eq(decode_fails(c, &(struct codec_chunk){ .ino = INO, .idx = IDX,
			 .version = VER, .class = CLS, .plain_len = F3_LEN, .sha256 = sha_a }, oa,
			 la, err), -EIO);
	/* frames 1 and 2 of a swapped */
	free(oa);
	oa = encode3_obj(c, VER, a, F3_LEN, &la, sha_a);
	codec_index_unref(ix);
	ck_assert_int_eq(load_index(c, oa, la, VER, sha_a, F3_LEN, &ix, err), 0);
	memcpy(got, oa + hdr + fl, F3);
	memmove(oa + hdr + fl, oa + hdr + 2 * fl, fl);
	memcpy(oa + hdr + 2 * fl, got, F3);
	if (_i & 1)
		memcpy(oa + hdr + 2 * fl + F3, ob + hdr + fl + F3, 0);
	ck_assert_int_eq(read_range(c, ix, oa, 2 * F3, 10, got, err), -EIO);
	/* b's header and index offered for a's row: the chunk hash is a's */
	ck_assert_int_eq(load_index(c, ob, lb, (_i & 2) ? VER : VER + 1, sha_a, F3_LEN, &bad,
				    err), -EIO);
	ck_assert_ptr_null(bad);
	/* an index entry changed (the frame's hash): refused, plain or not */
	ob[CODEC_HEADER_LEN_3 + 8 + 3] ^= 0x10;
	ck_assert_int_eq(load_index(c, ob, lb, (_i & 2) ? VER : VER + 1, sha_b, F3_LEN, &bad,
				    err), -EIO);
	ck_assert_ptr_null(bad);
	codec_index_unref(ix);
	free(oa);
	free(ob);
	free(a);
	free(b);
	codec_free(c);
}
END_TEST

/* Format 2 objects are still read by a codec writing format 3, and have no index. */
START_TEST(test3_reads_format_2)
{
	uint8_t *plain = xmalloc(F3_LEN), *obj;
	struct codec *c = make3(_i, plain, F3_LEN, 51);
	size_t obj_len, need = 0;

	ck_assert_int_eq(codec_set_format(c, 2, 0), 0);
	ck_assert_int_eq(codec_set_format(c, 3, 1000), -EINVAL);
	ck_assert_int_eq(codec_set_format(c, 4, 0), -EINVAL);
	obj = round_trip(c, plain, F3_LEN, &obj_len);
	ck_assert_uint_eq(obj[4], 2);
	ck_assert_int_eq(codec_set_format(c, 3, F3), 0);
	free(round_trip(c, plain, F3_LEN, &need));
	ck_assert_int_eq(codec_index_need(obj, CODEC_PREFIX_GUESS, &need, NULL, 0), 1);
	free(round_trip(c, plain, F3_LEN, &need));
	{
		void *out;
		size_t out_len;

		ck_assert_int_eq(codec_decode(c, WANT(INO, IDX, F3_LEN), obj, obj_len, &out,
					      &out_len, NULL, 0), 0);
		ck_assert_mem_eq(out, plain, F3_LEN);
		free(out);
	}
	free(obj);
	free(plain);
	codec_free(c);
}
END_TEST

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("codec");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create_args);
	tcase_add_test(tc, test_random_round_trip);
	tcase_add_test(tc, test_compressible);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_four_mib);
	tcase_add_test(tc, test_header_layout);
	tcase_add_test(tc, test_encrypted_round_trip);
	/* _i: 0 plain raw, 1 encrypted raw, 2 plain zstd, 3 encrypted zstd */
	tcase_add_loop_test(tc, test_every_byte_corrupted, 0, 4);
	tcase_add_loop_test(tc, test_truncated, 0, 4);
	tcase_add_loop_test(tc, test_wrong_chunk, 0, 4);
	tcase_add_test(tc, test_replay_other_chunk);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_encrypted_rejects_plain);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_peek);
	tcase_add_test(tc, test_nonce_differs);
	tcase_add_test(tc, test_version_and_flags);
	tcase_add_test(tc, test_lying_sizes);
	tcase_add_loop_test(tc, test_replay_other_version, 0, 4);
	tcase_add_loop_test(tc, test_recorded_sha, 0, 4);
	tcase_add_loop_test(tc, test_format_1_still_read, 0, 2);
	tcase_add_test(tc, test_zstd_bounded_by_chunk_map);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);

	/* format 3: the generic checks again, then its own */
	tc = tcase_create("format3");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_checked_fixture(tc, use_format_3, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_every_byte_corrupted, 0, 4);
	tcase_add_loop_test(tc, test_truncated, 0, 4);
	tcase_add_loop_test(tc, test_wrong_chunk, 0, 4);
	tcase_add_test(tc, test_replay_other_chunk);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_encrypted_rejects_plain);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_version_and_flags);
	tcase_add_test(tc, test_lying_sizes);
	tcase_add_loop_test(tc, test_replay_other_version, 0, 4);
	tcase_add_test(tc, test_zstd_bounded_by_chunk_map);
	tcase_add_test(tc, test_threads);
	tcase_add_loop_test(tc, test3_round_trip_and_ranges, 0, 4);
	tcase_add_loop_test(tc, test3_swap_replay, 0, 4);
	tcase_add_loop_test(tc, test3_reads_format_2, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(codec_suite);
