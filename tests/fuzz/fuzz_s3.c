/* tests/fuzz/fuzz_s3.c - fuzz target: what the s3 driver parses from
 * outside (store/objstore_s3.c): ListObjectsV2 pages, S3 error bodies and
 * the AWS shared credentials file.  The driver's parsers are file-local, so
 * this target compiles objstore_s3.c itself (the library's copy is then not
 * linked).  The first byte chooses the parser; the rest is its input. */
#include "store/objstore_s3.c"

#include "tests/fuzz/fuzz.h"

struct list_count {
	unsigned keys;
};

static int count_key(const char *key, uint64_t size, void *arg)
{
	struct list_count *lc = arg;

	FUZZ_CHECK(key != NULL && key[0] != '\0');
	(void)size;
	lc->keys++;
	return lc->keys > 100000 ? -E2BIG : 0;
}

static void fuzz_list(struct objstore *s, const uint8_t *data, size_t size)
{
	struct membuf b = { .body = { .p = size ? malloc(size) : NULL, .len = size, .cap = size } };
	struct list_count lc = { 0 };
	char *token = (char *)"unset";
	int r;

	if (size)
		memcpy(b.body.p, data, size);
	r = s3_list_page(s, &b, count_key, &lc, &token, NULL, 0);
	FUZZ_CHECK(r <= 0);
	if (r == 0)
		free(token);      /* NULL on the last page */
	else
		FUZZ_CHECK(token == NULL);
	free(b.body.p);
}

static void fuzz_error_body(const uint8_t *data, size_t size)
{
	struct membuf b = { .body = { .p = size ? malloc(size) : NULL, .len = size, .cap = size } };
	char detail[256];

	if (size)
		memcpy(b.body.p, data, size);
	s3_error_detail(&b, detail, sizeof(detail));
	FUZZ_CHECK(strlen(detail) < sizeof(detail));
	(void)s3_body_has_code(&b, "SlowDown");
	(void)http_transient(503, &b);
	(void)http_transient(400, &b);
	free(b.body.p);
}

static void fuzz_credentials(const uint8_t *data, size_t size)
{
	char *key = NULL, *secret = NULL, *token = NULL;
	int r = read_shared_credentials(fuzz_file(data, size), "default", &key, &secret, &token);

	FUZZ_CHECK(r == 0 || r == 1 || r == -ENOMEM);
	if (r == 1) {
		FUZZ_CHECK(key && key[0] && secret && secret[0]);
		free(key);
		free(secret);
		free(token);
	} else {
		FUZZ_CHECK(!key && !secret && !token);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_store st = { .prefix = (char *)"pre/" };
	struct objstore s = { .url = (char *)"s3://fuzz/pre", .priv = &st };

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_list(&s, data + 1, size - 1);
		break;
	case 1:
		fuzz_error_body(data + 1, size - 1);
		break;
	default:
		fuzz_credentials(data + 1, size - 1);
		break;
	}
	return 0;
}
