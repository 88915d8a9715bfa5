/* tests/fuzz/fuzz_codec.c - fuzz target: the cold chunk object decoder
 * (store/codec.c).  The first byte chooses a codec with a key or none;
 * the rest is decoded as an object of chunk (1, 0) and peeked at.  A
 * decode either fails or returns bytes whose SHA-256 and length the header
 * promised; and every input, encoded as a chunk, decodes back to itself and
 * to nothing else (another chunk, version or storage class).  The seeds hold
 * objects of format 1 (the ones named *-v1) and format 2. */
#include "tests/fuzz/fuzz.h"
#include "store/codec.h"

#include <errno.h>
#include <string.h>

#define FSID "fs-0123456789abcdef0"

static struct codec *plain, *keyed;

static void codecs_init(void)
{
	static const uint8_t key[CODEC_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	if (plain)
		return;
	FUZZ_CHECK(codec_create(FSID, NULL, 0, 0, &plain) == 0);
	FUZZ_CHECK(codec_create(FSID, key, 1, 0, &keyed) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct codec *c;
	struct codec_header h;
	struct codec_chunk want = { .ino = 1, .idx = 0, .version = 1, .class = 1 };
	struct codec_chunk id = { .ino = 7, .idx = 3, .version = 5, .class = 2 };
	uint8_t sha[CODEC_SHA_LEN];
	void *out = NULL, *obj = NULL;
	size_t out_len = 0, obj_len = 0;
	char why[128];
	int r, pr;

	if (size < 1)
		return 0;
	codecs_init();
	c = (data[0] & 1) ? keyed : plain;
	data++;
	size--;

	/* as the chunk map would describe chunk (1, 0): the length the header
	 * claims (a decode must never give another), no recorded hash */
	pr = codec_peek(data, size, &h);
	FUZZ_CHECK(pr == 0 || pr == -EIO);
	if (pr == 0) {
		want.plain_len = h.plain_len;
		if (h.format >= 2) {
			want.version = h.version;
			want.class = h.class;
		}
	}
	r = codec_decode(c, &want, data, size, &out, &out_len, why, sizeof(why));
	if (r == 0) {
		FUZZ_CHECK(pr == 0 && out != NULL);
		FUZZ_CHECK(h.plain_len == out_len && h.ino == 1 && h.idx == 0);
		FUZZ_CHECK(codec_chunk_hash(&h, out, out_len, sha) == 0);
		FUZZ_CHECK(memcmp(sha, h.sha256, CODEC_SHA_LEN) == 0);
		free(out);
		/* the recorded hash of what it decoded to: the same answer */
		want.sha256 = sha;
		FUZZ_CHECK(codec_decode(c, &want, data, size, &out, &out_len, why, sizeof(why)) == 0);
		free(out);
	} else {
		FUZZ_CHECK(r == -EIO || r == -ENOKEY || r == -ENOMEM);
		FUZZ_CHECK(why[0] != '\0');
	}

	/* round trip: the input as a chunk's plaintext */
	FUZZ_CHECK(codec_encode(c, &id, data, size, &obj, &obj_len) == 0);
	FUZZ_CHECK(codec_peek(obj, obj_len, &h) == 0 && h.format == CODEC_VERSION);
	FUZZ_CHECK(codec_chunk_hash(&h, data, size, sha) == 0);
	FUZZ_CHECK(memcmp(sha, h.sha256, CODEC_SHA_LEN) == 0);
	id.plain_len = size;
	id.sha256 = sha;
	FUZZ_CHECK(codec_decode(c, &id, obj, obj_len, &out, &out_len, why, sizeof(why)) == 0);
	FUZZ_CHECK(out_len == size && memcmp(out, data, size) == 0);
	free(out);
	/* the same object for another chunk, version or class is refused */
	id.idx = 4;
	FUZZ_CHECK(codec_decode(c, &id, obj, obj_len, &out, &out_len, why, sizeof(why)) == -EIO);
	id.idx = 3;
	id.version = 4;
	FUZZ_CHECK(codec_decode(c, &id, obj, obj_len, &out, &out_len, why, sizeof(why)) == -EIO);
	id.version = 5;
	id.class = 1;
	FUZZ_CHECK(codec_decode(c, &id, obj, obj_len, &out, &out_len, why, sizeof(why)) == -EIO);
	free(obj);
	return 0;
}
