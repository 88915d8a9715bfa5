/* tests/fuzz/fuzz_sigv4.c - fuzz target: SigV4 canonicalisation
 * (store/sigv4.c).  The input is lines: the method, the path, then
 * "name=value" query parameters up to an empty line, then "name:value"
 * headers.  Every encoding the signer produces holds only unreserved
 * characters, '%XX' escapes and (in paths) '/'; a signature, when made,
 * names its signed headers in lower case. */
#include "tests/fuzz/fuzz.h"
#include "store/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define MAX_ITEMS 32

static bool encoded_ok(const char *s, bool slash)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (slash && c == '/'))
			continue;
		if (c == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]) &&
		    !islower((unsigned char)s[1]) && !islower((unsigned char)s[2])) {
			s += 2;
			continue;
		}
		return false;
	}
	return true;
}

/* The query string: pairs joined by '&', each "enc=enc". */
static bool query_ok(const char *q)
{
	char *dup = strdup(q), *save = NULL, *tok;
	bool ok = true;

	FUZZ_CHECK(dup != NULL);
	for (tok = strtok_r(dup, "&", &save); tok && ok; tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');

		ok = eq && (*eq = '\0', encoded_ok(tok, false) && encoded_ok(eq + 1, false));
	}
	free(dup);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *lines[3 + 2 * MAX_ITEMS], *p, *enc = NULL;
	struct sigv4_param params[MAX_ITEMS];
	struct sigv4_header headers[MAX_ITEMS + 2];
	struct sigv4_signature sig;
	size_t n_lines = 0, n_params = 0, n_headers = 0, i = 2;
	char hash[SIGV4_SHA256_HEX_LEN + 1];
	struct sigv4_request req;
	int r;

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	if (strlen(text) != size)           /* the signer takes C strings */
		goto out;
	for (p = text; n_lines < sizeof(lines) / sizeof(lines[0]);) {
		char *nl = strchr(p, '\n');

		lines[n_lines++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	if (n_lines < 2)
		goto out;

	FUZZ_CHECK(sigv4_uri_encode(lines[1], true, &enc) == 0);
	FUZZ_CHECK(encoded_ok(enc, true));
	free(enc);
	FUZZ_CHECK(sigv4_uri_encode(lines[1], false, &enc) == 0);
	FUZZ_CHECK(encoded_ok(enc, false));
	free(enc);

	for (; i < n_lines && lines[i][0] && n_params < MAX_ITEMS; i++) {
		char *eq = strchr(lines[i], '=');

		if (eq)
			*eq = '\0';
		params[n_params++] = (struct sigv4_param){ lines[i], eq ? eq + 1 : NULL };
	}
	for (i++; i < n_lines && n_headers < MAX_ITEMS; i++) {
		char *colon = strchr(lines[i], ':');

		if (colon)
			*colon = '\0';
		headers[n_headers++] = (struct sigv4_header){ lines[i], colon ? colon + 1 : "" };
	}
	headers[n_headers++] = (struct sigv4_header){ "host", "fuzz.s3.amazonaws.com" };
	headers[n_headers++] = (struct sigv4_header){ "x-amz-date", "20150830T123600Z" };

	FUZZ_CHECK(sigv4_canonical_query(params, n_params, &enc) == 0);
	FUZZ_CHECK(query_ok(enc));
	free(enc);

	sigv4_sha256_hex(data, size, hash);
	req = (struct sigv4_request){
		.method = lines[0], .path = lines[1], .params = params, .n_params = n_params,
		.headers = headers, .n_headers = n_headers, .payload_hash = hash,
		.access_key = "AKIDEXAMPLE", .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.region = "us-east-1", .service = "s3", .amz_date = "20150830T123600Z",
	};
	r = sigv4_sign(&req, &sig);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		const char *sh = strstr(sig.authorization, "SignedHeaders=");

		FUZZ_CHECK(strncmp(sig.authorization, "AWS4-HMAC-SHA256 Credential=", 28) == 0);
		FUZZ_CHECK(sh != NULL);
		for (sh += 14; *sh && *sh != ','; sh++)
			FUZZ_CHECK(!isupper((unsigned char)*sh));
		sigv4_signature_free(&sig);
	}
out:
	free(text);
	return 0;
}
