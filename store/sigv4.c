/* sigv4.c - AWS Signature Version 4 signer: canonical request, string to sign, signing key
 * (HMAC-SHA256 chain over date, region, service, "aws4_request") and Authorization header.
 * See sigv4.h for the canonicalisation rules.  Pure: no clock, no I/O, no global state.
 */
#include "store/sigv4.h"
#include "common/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static void buf_add_encoded(struct buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p) || (keep_slash && *p == '/')) {
			buf_addc(b, (char)*p);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			buf_add(b, esc, 3);
		}
	}
}

int sigv4_uri_encode(const char *s, bool keep_slash, char **ret)
{
	struct buf b = BUF_INIT;
	char *out;

	buf_add_encoded(&b, s, keep_slash);
	out = buf_take(&b, NULL);
	if (!out)
		return b.err;
	*ret = out;
	return 0;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *buf, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		/* Cannot happen with a working libcrypto; make the result obviously wrong. */
		memset(out, '0', SIGV4_SHA256_HEX_LEN);
		out[SIGV4_SHA256_HEX_LEN] = '\0';
		return;
	}
	hex_encode(md, mdlen, out);
}

static int hmac_sha256(const void *key, size_t keylen, const char *msg, unsigned char *out)
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out,
		  &outlen) || outlen != 32)
		return -EIO;
	return 0;
}

/* Query parameters encoded once, for sorting. */
struct enc_param {
	char *name;
	char *value;
};

static int enc_param_cmp(const void *a, const void *b)
{
	const struct enc_param *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : strcmp(x->value, y->value);
}

int sigv4_canonical_query(const struct sigv4_param *params, size_t n_params, char **ret)
{
	struct enc_param *ep = NULL;
	struct buf b = BUF_INIT;
	size_t done = 0;
	char *out;
	int r = 0;

	if (n_params) {
		ep = calloc(n_params, sizeof(*ep));
		if (!ep)
			return -ENOMEM;
	}
	for (; done < n_params; done++) {
		r = sigv4_uri_encode(params[done].name, false, &ep[done].name);
		if (r < 0)
			goto out_free;
		r = sigv4_uri_encode(params[done].value ? params[done].value : "", false,
				     &ep[done].value);
		if (r < 0) {
			free(ep[done].name);
			goto out_free;
		}
	}
	if (n_params)
		qsort(ep, n_params, sizeof(*ep), enc_param_cmp);
	for (size_t i = 0; i < n_params; i++) {
		if (i)
			buf_addc(&b, '&');
		buf_adds(&b, ep[i].name);
		buf_addc(&b, '=');
		buf_adds(&b, ep[i].value);
	}
	out = buf_take(&b, NULL);
	if (!out) {
		r = b.err;
		goto out_free;
	}
	*ret = out;
	r = 0;
out_free:
	for (size_t i = 0; i < done; i++) {
		free(ep[i].name);
		free(ep[i].value);
	}
	free(ep);
	return r;
}

/* One canonical header: lower-case name, trimmed value, the position it was given at
 * (so repeated names keep their order after sorting). */
struct canon_header {
	char *name;
	char *value;
	size_t pos;
};

static int canon_header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);

	if (d)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Trims leading and trailing whitespace and collapses inner runs of spaces and tabs. */
static char *trim_dup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1), *o = d;
	bool space = false;

	if (!d)
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t') {
			space = true;
			continue;
		}
		if (space && o != d)
			*o++ = ' ';
		space = false;
		*o++ = *s;
	}
	*o = '\0';
	return d;
}

static bool amz_date_valid(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)d[i]))
			return false;
	return true;
}

/* Builds the canonical request and the signed-headers list. */
static int build_canonical(const struct sigv4_request *req, char **ret_creq, char **ret_signed)
{
	struct canon_header *ch;
	struct buf creq = BUF_INIT, sh = BUF_INIT;
	char *query = NULL, *s_creq, *s_sh;
	size_t made = 0;
	int r;

	ch = calloc(req->n_headers, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	for (; made < req->n_headers; made++) {
		const struct sigv4_header *h = &req->headers[made];

		if (!h->name || !h->name[0] || !h->value) {
			r = -EINVAL;
			goto out_free;
		}
		ch[made].name = lower_dup(h->name);
		ch[made].value = trim_dup(h->value);
		ch[made].pos = made;
		if (!ch[made].name || !ch[made].value) {
			free(ch[made].name);
			free(ch[made].value);
			r = -ENOMEM;
			goto out_free;
		}
	}
	qsort(ch, made, sizeof(*ch), canon_header_cmp);

	r = sigv4_canonical_query(req->params, req->n_params, &query);
	if (r < 0)
		goto out_free;

	buf_adds(&creq, req->method);
	buf_addc(&creq, '\n');
	buf_add_encoded(&creq, req->path, true);
	buf_addc(&creq, '\n');
	buf_adds(&creq, query);
	buf_addc(&creq, '\n');
	for (size_t i = 0; i < made; i++) {
		bool repeat = i > 0 && !strcmp(ch[i].name, ch[i - 1].name);

		if (repeat) {
			/* strip the newline of the previous line and append ",value" */
			creq.len--;
			buf_addc(&creq, ',');
		} else {
			if (i > 0)
				buf_addc(&sh, ';');
			buf_adds(&sh, ch[i].name);
			buf_adds(&creq, ch[i].name);
			buf_addc(&creq, ':');
		}
		buf_adds(&creq, ch[i].value);
		buf_addc(&creq, '\n');
	}
	buf_addc(&creq, '\n');
	if (!sh.err && sh.p)
		buf_add(&creq, sh.p, sh.len);
	buf_addc(&creq, '\n');
	buf_adds(&creq, req->payload_hash);

	s_creq = buf_take(&creq, NULL);
	s_sh = buf_take(&sh, NULL);
	if (!s_creq || !s_sh) {
		free(s_creq);
		free(s_sh);
		r = -ENOMEM;
		goto out_free;
	}
	*ret_creq = s_creq;
	*ret_signed = s_sh;
	r = 0;
out_free:
	free(query);
	for (size_t i = 0; i < made; i++) {
		free(ch[i].name);
		free(ch[i].value);
	}
	free(ch);
	return r;
}

int sigv4_sign(const struct sigv4_request *req, struct sigv4_signature *ret)
{
	char *creq = NULL, *signed_headers = NULL, *sts = NULL, *authz = NULL;
	char creq_hash[SIGV4_SHA256_HEX_LEN + 1], sig_hex[SIGV4_SHA256_HEX_LEN + 1];
	char date[9], *kdate_key = NULL;
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	int r;

	if (!req || !req->method || !req->path || req->path[0] != '/' || !req->payload_hash ||
	    !req->access_key || !req->secret_key || !req->region || !req->service ||
	    !amz_date_valid(req->amz_date) || (req->n_params && !req->params) ||
	    !req->n_headers || !req->headers)
		return -EINVAL;
	for (size_t i = 0; i < req->n_params; i++)
		if (!req->params[i].name)
			return -EINVAL;

	r = build_canonical(req, &creq, &signed_headers);
	if (r < 0)
		return r;

	memcpy(date, req->amz_date, 8);
	date[8] = '\0';
	sigv4_sha256_hex(creq, strlen(creq), creq_hash);
	if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", req->amz_date, date,
		     req->region, req->service, creq_hash) < 0) {
		sts = NULL;
		r = -ENOMEM;
		goto out_free;
	}

	if (asprintf(&kdate_key, "AWS4%s", req->secret_key) < 0) {
		kdate_key = NULL;
		r = -ENOMEM;
		goto out_free;
	}
	r = hmac_sha256(kdate_key, strlen(kdate_key), date, k1);
	if (r == 0)
		r = hmac_sha256(k1, sizeof(k1), req->region, k2);
	if (r == 0)
		r = hmac_sha256(k2, sizeof(k2), req->service, k3);
	if (r == 0)
		r = hmac_sha256(k3, sizeof(k3), "aws4_request", k4);
	if (r == 0)
		r = hmac_sha256(k4, sizeof(k4), sts, sig);
	if (r < 0)
		goto out_free;
	hex_encode(sig, sizeof(sig), sig_hex);

	if (asprintf(&authz, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
		     "SignedHeaders=%s, Signature=%s", req->access_key, date, req->region,
		     req->service, signed_headers, sig_hex) < 0) {
		authz = NULL;
		r = -ENOMEM;
		goto out_free;
	}
	ret->canonical_request = creq;
	ret->string_to_sign = sts;
	ret->authorization = authz;
	creq = sts = NULL;
	r = 0;
out_free:
	if (kdate_key) {
		explicit_bzero(kdate_key, strlen(kdate_key));
		free(kdate_key);
	}
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	explicit_bzero(k3, sizeof(k3));
	explicit_bzero(k4, sizeof(k4));
	free(signed_headers);
	free(creq);
	free(sts);
	return r;
}

void sigv4_signature_free(struct sigv4_signature *sig)
{
	if (!sig)
		return;
	free(sig->canonical_request);
	free(sig->string_to_sign);
	free(sig->authorization);
	sig->canonical_request = sig->string_to_sign = sig->authorization = NULL;
}
