/* objstore_s3.c - the s3://bucket[/prefix] object store driver: GET, PUT, DELETE and
 * ListObjectsV2 over libcurl, every request signed by sigv4.c.
 *
 * Why not curl's CURLOPT_AWS_SIGV4, which DESIGN.md suggests: s3rver, the server the
 * tests can run, does not check signatures at all, so the only proof that requests would
 * pass AWS is a signer tested byte for byte against AWS's published SigV4 vectors
 * (tests/unit/test_sigv4.c).  curl's signer cannot be fed those vectors, and curl 7.88
 * also needs x-amz-content-sha256 set by hand; one signer of our own, under test, is
 * simpler to trust.
 *
 * Request shape: the driver builds one header array (Host, x-amz-content-sha256,
 * x-amz-date, optionally x-amz-security-token and x-amz-storage-class), signs exactly that
 * array, and hands exactly that array plus Authorization to curl.  Curl's own additions are
 * either unsigned and harmless (User-Agent, Accept, Content-Length) or removed: "Expect:"
 * in curl's list is curl's instruction to send no Expect header, it is not sent and not
 * signed.  HTTP/1.1 only, so Host is sent as signed.
 *
 * Failures: connect errors, timeouts, resets, HTTP 5xx, 408, 429 and 400 RequestTimeout
 * are retried up to conf->retries times, sleeping backoff_ms, 2*backoff_ms, ... (capped at
 * 10 s) between attempts, re-signing each attempt.  Time limits: an attempt ends after
 * request_timeout_ms, or when it moved less than low_speed_bytes a second for
 * low_speed_time_s (a stalled server); all attempts of one call and the sleeps between
 * them end within operation_timeout_ms (the last attempt gets what is left, and no sleep
 * starts that the deadline would cut).  Answers are bounded: a GET body by
 * max_object_bytes, a list page by MAX_LIST_PAGE, anything else by MAX_OTHER_ANSWER
 * (-EIO, not retried); a listing fails when a page repeats the previous continuation
 * token or there are more than max_pages pages.  GET 404 is -ENOENT, DELETE 404 is 0,
 * 403 is -EACCES, any other answer -EIO; the text in (err, errlen) names the
 * method, the object, the URL and the HTTP status with S3's <Code> and <Message>, or
 * curl's error.
 *
 * Threads: the store's configuration is immutable after open; easy handles are kept in a
 * small pool guarded by pool_lock (reused handles keep their connections alive).
 */
#include "common/buf.h"
#include "common/ini.h"
#include "store/objstore.h"
#include "store/objstore_i.h"
#include "store/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <expat.h>

#ifdef EFSFS_VERSION
#define USER_AGENT "efsfs/" EFSFS_VERSION
#else
#define USER_AGENT "efsfs"
#endif

#define POOL_MAX 8
#define MAX_HEADERS 6
#define MAX_BACKOFF_MS 10000
#define DEFAULT_MAX_OBJECT (128u << 20)
#define MAX_LIST_PAGE (16u << 20)       /* a page of 1000 keys is about 300 KiB */
#define MAX_OTHER_ANSWER (1u << 20)     /* PUT, DELETE and error bodies */
#define DEFAULT_MAX_PAGES 1000000u      /* 10^9 keys at S3's 1000 a page */

struct s3_store {
	char *bucket;
	char *prefix;               /* "" or "some/prefix/" */
	char *host;                 /* Host header: "127.0.0.1:4568", "bucket.s3.amazonaws.com" */
	char *base_url;             /* "http://127.0.0.1:4568" (scheme://host) */
	char *path_base;            /* "/bucket" in path style, "" in virtual-host style */
	char *region;
	char *access_key;
	char *secret_key;
	char *session_token;        /* NULL = none */
	char *storage_class;        /* NULL = none */
	char *ca_file;              /* NULL = system default */
	long connect_timeout_ms;
	long request_timeout_ms;
	long low_speed_bytes;       /* 0 = no check */
	long low_speed_time_s;
	long operation_timeout_ms;
	int retries;
	long backoff_ms;
	uint64_t max_object_bytes;
	unsigned page_size;         /* max-keys; 0 = server default (test knob, set before use) */
	unsigned max_pages;         /* pages one list may take (test knob, set before use) */
	pthread_mutex_t pool_lock;
	CURL *pool[POOL_MAX];       /* pool_lock */
	int n_pool;                 /* pool_lock */
};

/* A growing response body, at most max bytes (an answer's Content-Length is checked
 * by curl first, but a chunked answer has none). */
struct membuf {
	struct buf body;
	size_t max;
	bool oom;
	bool too_big;
};

/* The upload body of a PUT. */
struct upload {
	const char *p;
	size_t len;
	size_t off;
};

/* One logical request (all attempts). */
struct s3_req {
	const char *op;             /* "GET", "PUT", "DELETE", "LIST" for messages */
	const char *method;
	const char *key;            /* the caller's key (messages), NULL for the bucket */
	const char *path;           /* raw path: "/bucket/prefix/key" or "/bucket" */
	const struct sigv4_param *params;
	size_t n_params;
	const void *body;
	size_t body_len;
	bool storage_class;
	const char *range;          /* GET: "first-last" for a Range header, NULL = none */
	size_t max_answer;          /* longest answer body accepted; 0 = MAX_OTHER_ANSWER */
	long status;                /* out: final HTTP status, 0 = none */
	struct membuf resp;         /* out: final response body */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void curl_init_once(void)
{
	curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static struct s3_store *s3_of(struct objstore *s)
{
	return s->priv;
}

static size_t membuf_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct membuf *b = arg;
	size_t n = size * nmemb;

	if (n > b->max - b->body.len) {
		b->too_big = true;
		return 0;               /* aborts the transfer */
	}
	/* 16 KiB first, as most answers are small but a GET is a chunk */
	if ((!b->body.cap && buf_grow(&b->body, n > 16383 ? n : 16383) < 0) ||
	    buf_add(&b->body, data, n) < 0) {
		b->oom = true;
		return 0;               /* aborts the transfer */
	}
	return n;
}

static void membuf_reset(struct membuf *b)
{
	buf_free(&b->body);
	memset(b, 0, sizeof(*b));
}

static size_t upload_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->p + u->off, n);
	u->off += n;
	return n;
}

static int upload_seek(void *arg, curl_off_t offset, int origin)
{
	struct upload *u = arg;

	if (origin != SEEK_SET || offset < 0 || (size_t)offset > u->len)
		return CURL_SEEKFUNC_CANTSEEK;
	u->off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* libcurl's own sockets are not close-on-exec; every fd of efsfs is. */
static curl_socket_t open_socket_cloexec(void *arg, curlsocktype purpose,
					 struct curl_sockaddr *a)
{
	(void)arg;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static CURL *pool_take(struct s3_store *st)
{
	CURL *c = NULL;

	pthread_mutex_lock(&st->pool_lock);
	if (st->n_pool > 0)
		c = st->pool[--st->n_pool];
	pthread_mutex_unlock(&st->pool_lock);
	if (c)
		curl_easy_reset(c);
	else
		c = curl_easy_init();
	if (c)
		curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket_cloexec);
	return c;
}

static void pool_give(struct s3_store *st, CURL *c)
{
	pthread_mutex_lock(&st->pool_lock);
	if (st->n_pool < POOL_MAX) {
		st->pool[st->n_pool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&st->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

/* ---- S3's XML answers, read with expat ------------------------------------------------ */

/* One walk over an XML answer: expat hands every element's end with its text (entities
 * decoded; the text of leaf elements is all S3 answers carry), and end() of the walk's
 * user acts on the ones it wants.  end() returns 0 to go on, else the walk stops and
 * that value is the walk's result. */
struct xml_walk {
	XML_Parser parser;
	struct buf text;            /* character data since the last start or end tag */
	void (*start)(struct xml_walk *w, const char *name);     /* NULL: none */
	int (*end)(struct xml_walk *w, const char *name, const char *text);
	int r;                      /* 0, or why the walk stopped */
};

static void XMLCALL xml_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct xml_walk *w = arg;

	(void)atts;
	w->text.len = 0;
	if (w->text.p)
		w->text.p[0] = '\0';
	if (!w->r && w->start)
		w->start(w, name);
}

static void XMLCALL xml_chars(void *arg, const XML_Char *s, int len)
{
	struct xml_walk *w = arg;

	if (!w->r && buf_add(&w->text, s, (size_t)len) < 0) {
		w->r = -ENOMEM;
		XML_StopParser(w->parser, XML_FALSE);
	}
}

static void XMLCALL xml_end(void *arg, const XML_Char *name)
{
	struct xml_walk *w = arg;
	int r;

	if (w->r)
		return;
	r = w->end(w, name, w->text.p ? w->text.p : "");
	w->text.len = 0;
	if (w->text.p)
		w->text.p[0] = '\0';
	if (r) {
		w->r = r;
		XML_StopParser(w->parser, XML_FALSE);
	}
}

/* Walks the answer in b.  0 when it was read to its end; w->r when end() stopped it;
 * -EIO when it is not well-formed XML (why, with its line, in why). */
static int xml_walk(struct xml_walk *w, const struct membuf *b, char *why, size_t whylen)
{
	enum XML_Status st;
	int r = 0;

	w->r = 0;
	w->parser = XML_ParserCreate(NULL);
	if (!w->parser)
		return -ENOMEM;
	XML_SetUserData(w->parser, w);
	XML_SetElementHandler(w->parser, xml_start, xml_end);
	XML_SetCharacterDataHandler(w->parser, xml_chars);
	st = XML_Parse(w->parser, b->body.p ? b->body.p : "", (int)b->body.len, XML_TRUE);
	if (w->r) {
		r = w->r;
	} else if (st != XML_STATUS_OK) {
		r = -EIO;
		snprintf(why, whylen, "%s at line %lu",
			 XML_ErrorString(XML_GetErrorCode(w->parser)),
			 (unsigned long)XML_GetCurrentLineNumber(w->parser));
	}
	XML_ParserFree(w->parser);
	buf_free(&w->text);
	return r;
}

/* The first <Code> and <Message> of an S3 error body. */
struct s3_error_body {
	struct xml_walk w;
	char *code, *message;
};

static int error_body_end(struct xml_walk *w, const char *name, const char *text)
{
	struct s3_error_body *e = (struct s3_error_body *)w;
	char **slot = !strcmp(name, "Code") ? &e->code : !strcmp(name, "Message") ? &e->message
	                                                                          : NULL;

	if (!slot || *slot)
		return 0;
	*slot = strdup(text);
	return *slot ? 0 : -ENOMEM;
}

/* Reads Code and Message of b, as far as it is well-formed; both NULL when absent. */
static void s3_error_body_read(const struct membuf *b, struct s3_error_body *e)
{
	char why[160];

	memset(e, 0, sizeof(*e));
	e->w.end = error_body_end;
	if (b->body.p)
		xml_walk(&e->w, b, why, sizeof(why));
}

static void s3_error_body_free(struct s3_error_body *e)
{
	free(e->code);
	free(e->message);
}

/* "Code: Message" of an S3 error body into buf, or "" */
static void s3_error_detail(const struct membuf *b, char *buf, size_t bufsz)
{
	struct s3_error_body e;

	buf[0] = '\0';
	s3_error_body_read(b, &e);
	if (e.code && e.message)
		snprintf(buf, bufsz, " %s: %s", e.code, e.message);
	else if (e.code)
		snprintf(buf, bufsz, " %s", e.code);
	s3_error_body_free(&e);
}

static bool s3_body_has_code(const struct membuf *b, const char *code)
{
	struct s3_error_body e;
	bool has;

	s3_error_body_read(b, &e);
	has = e.code && !strcmp(e.code, code);
	s3_error_body_free(&e);
	return has;
}

static bool curl_transient(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool http_transient(long status, const struct membuf *b)
{
	if (status >= 500 || status == 408 || status == 429)
		return true;
	return status == 400 && s3_body_has_code(b, "RequestTimeout");
}

static void amz_now(char *out, size_t outsz)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, outsz, "%Y%m%dT%H%M%SZ", &tm);
}

/* One attempt of at most timeout_ms.  Returns the curl code; req->status and req->resp
 * are set.  *ret_err is -errno when the attempt could not be made or its answer not be
 * stored (no retry). */
static CURLcode s3_attempt(struct s3_store *st, struct s3_req *req, const char *url,
			   const char *payload_hash, long timeout_ms, char *errbuf, int *ret_err)
{
	struct sigv4_header h[MAX_HEADERS];
	struct sigv4_signature sig = { 0 };
	struct curl_slist *list = NULL, *l;
	struct upload up = { req->body, req->body_len, 0 };
	char amz_date[20], *line;
	size_t nh = 0;
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	CURL *c;
	int r;

	*ret_err = -ENOMEM;         /* until the transfer ran */
	errbuf[0] = '\0';
	amz_now(amz_date, sizeof(amz_date));
	h[nh++] = (struct sigv4_header){ "Host", st->host };
	h[nh++] = (struct sigv4_header){ "x-amz-content-sha256", payload_hash };
	h[nh++] = (struct sigv4_header){ "x-amz-date", amz_date };
	if (st->session_token)
		h[nh++] = (struct sigv4_header){ "x-amz-security-token", st->session_token };
	if (req->storage_class && st->storage_class)
		h[nh++] = (struct sigv4_header){ "x-amz-storage-class", st->storage_class };

	r = sigv4_sign(&(struct sigv4_request){
			.method = req->method, .path = req->path, .params = req->params,
			.n_params = req->n_params, .headers = h, .n_headers = nh,
			.payload_hash = payload_hash, .access_key = st->access_key,
			.secret_key = st->secret_key, .region = st->region, .service = "s3",
			.amz_date = amz_date }, &sig);
	if (r < 0) {
		*ret_err = r;
		return CURLE_OK;
	}
	for (size_t i = 0; i <= nh; i++) {
		if (asprintf(&line, "%s: %s", i < nh ? h[i].name : "Authorization",
			     i < nh ? h[i].value : sig.authorization) < 0)
			goto out_free;
		l = curl_slist_append(list, line);
		free(line);
		if (!l)
			goto out_free;
		list = l;
	}
	/* curl: "Expect:" with no value = do not send an Expect header at all */
	l = curl_slist_append(list, "Expect:");
	if (!l)
		goto out_free;
	list = l;

	c = pool_take(st);
	if (!c)
		goto out_free;
	*ret_err = 0;
	membuf_reset(&req->resp);
	req->resp.max = req->max_answer ? req->max_answer : MAX_OTHER_ANSWER;
	req->status = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (st->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, st->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 st->connect_timeout_ms < timeout_ms ? st->connect_timeout_ms : timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (st->low_speed_bytes > 0) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, st->low_speed_bytes);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, st->low_speed_time_s);
	}
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->resp.max);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, membuf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &req->resp);
	curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(c, CURLOPT_RANGE, req->range);       /* NULL: none (pooled handles) */
	if (!strcmp(req->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, upload_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, &up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &req->status);
	else if (!errbuf[0])
		snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
	if (req->resp.oom)
		*ret_err = -ENOMEM;
	if (cc == CURLE_FILESIZE_EXCEEDED)
		req->resp.too_big = true;
	/* unhook pointers to this stack frame before the handle goes back to the pool */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	pool_give(st, c);
out_free:
	curl_slist_free_all(list);
	sigv4_signature_free(&sig);
	return cc;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Runs req with retries, all of them within st->operation_timeout_ms.  Returns 0 for
 * 2xx; else -errno with the error text set.  A GET 404 is -ENOENT; a DELETE 404 is 0. */
static int s3_request(struct objstore *s, struct s3_req *req, char *err, size_t errlen)
{
	struct s3_store *st = s3_of(s);
	char payload_hash[SIGV4_SHA256_HEX_LEN + 1], errbuf[CURL_ERROR_SIZE];
	char *enc_path = NULL, *query = NULL, *url = NULL, detail[512], spent[96] = "";
	long delay = st->backoff_ms, left = 0;
	int attempts = 0, r;
	CURLcode cc = CURLE_OK;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sigv4_sha256_hex(req->body ? req->body : "", req->body_len, payload_hash);
	r = sigv4_uri_encode(req->path, true, &enc_path);
	if (r == 0)
		r = sigv4_canonical_query(req->params, req->n_params, &query);
	if (r == 0 && asprintf(&url, "%s%s%s%s", st->base_url, enc_path, query[0] ? "?" : "",
			       query) < 0) {
		url = NULL;
		r = -ENOMEM;
	}
	if (r < 0)
		goto out_free;

	for (;;) {
		int aerr = 0;

		left = st->operation_timeout_ms - ms_since(&t0);
		attempts++;
		cc = s3_attempt(st, req, url, payload_hash,
				left < st->request_timeout_ms ? (left > 1 ? left : 1)
							      : st->request_timeout_ms,
				errbuf, &aerr);
		if (aerr < 0) {
			r = aerr;
			objstore_errf(err, errlen, "%s %s/%s (%s): %s", req->op, s->url,
				      req->key ? req->key : "", url, strerror(-r));
			goto out_free;
		}
		if (cc == CURLE_OK && req->status >= 200 && req->status < 300) {
			r = 0;
			goto out_free;
		}
		if (req->resp.too_big)
			break;
		if (attempts > st->retries)
			break;
		if (cc != CURLE_OK ? !curl_transient(cc) : !http_transient(req->status, &req->resp))
			break;
		/* no attempt that the operation's time could not finish */
		left = st->operation_timeout_ms - ms_since(&t0);
		if (left <= delay) {
			snprintf(spent, sizeof(spent), "; gave up after %.1f s (operation timeout "
				 "%.1f s)", (double)ms_since(&t0) / 1000.0,
				 (double)st->operation_timeout_ms / 1000.0);
			break;
		}
		{
			struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		delay = delay * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : delay * 2;
	}

	if (req->resp.too_big) {
		r = -EIO;
		objstore_errf(err, errlen,
			      "%s %s/%s (%s): the answer is longer than %zu bytes", req->op,
			      s->url, req->key ? req->key : "", url, req->resp.max);
		goto out_free;
	}
	if (cc != CURLE_OK) {
		r = -EIO;
		objstore_errf(err, errlen,
			      "%s %s/%s (%s): %s (after %d attempt%s%s)", req->op, s->url,
			      req->key ? req->key : "", url, errbuf, attempts,
			      attempts == 1 ? "" : "s", spent);
		goto out_free;
	}
	if (req->status == 404 && !strcmp(req->method, "DELETE")) {
		r = 0;
		goto out_free;
	}
	s3_error_detail(&req->resp, detail, sizeof(detail));
	if (req->status == 404 && !strcmp(req->method, "GET") && req->key &&
	    (!detail[0] || s3_body_has_code(&req->resp, "NoSuchKey")))
		r = -ENOENT;
	else if (req->status == 403)
		r = -EACCES;
	else
		r = -EIO;
	objstore_errf(err, errlen, "%s %s/%s (%s): HTTP %ld%s%s%s", req->op, s->url,
		      req->key ? req->key : "", url, req->status, detail,
		      attempts > 1 ? " (after retries)" : "", spent);
out_free:
	free(url);
	free(query);
	free(enc_path);
	return r;
}

static int s3_object_path(struct s3_store *st, const char *key, char **ret)
{
	if (asprintf(ret, "%s/%s%s", st->path_base, st->prefix, key) < 0)
		return -ENOMEM;
	return 0;
}

/* Runs req on its object's path; the answer's body stays in req->resp. */
static int s3_object_request(struct objstore *s, struct s3_req *req, char *err, size_t errlen)
{
	char *path;
	int r;

	r = s3_object_path(s3_of(s), req->key, &path);
	if (r < 0)
		return r;
	req->path = path;
	r = s3_request(s, req, err, errlen);
	req->path = NULL;
	free(path);
	return r;
}

static int s3_get(struct objstore *s, const char *key, void **ret_buf, size_t *ret_len,
		  char *err, size_t errlen)
{
	struct s3_req req = { .op = "GET", .method = "GET", .key = key,
			      .max_answer = s3_of(s)->max_object_bytes };
	char *body;
	size_t len;
	int r;

	r = s3_object_request(s, &req, err, errlen);
	if (r < 0) {
		membuf_reset(&req.resp);
		return r;
	}
	body = buf_take(&req.resp.body, &len);   /* "" for an empty object */
	if (!body)
		return -ENOMEM;
	*ret_buf = body;
	*ret_len = len;
	return 0;
}

/* A GET with "Range: bytes=off-(off+len-1)".  The answer may be up to 16 KiB
 * longer than len while it comes (an error body: 416 is "past the end"), then a
 * body longer than len is refused. */
static int s3_get_range(struct objstore *s, const char *key, uint64_t off, size_t len,
			void **ret_buf, size_t *ret_len, char *err, size_t errlen)
{
	char range[48];
	struct s3_req req = { .op = "GET", .method = "GET", .key = key, .range = range,
			      .max_answer = len + 16384 };
	char *body;
	size_t n;
	int r;

	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1));
	r = s3_object_request(s, &req, err, errlen);
	if (r < 0 && req.status == 416) {
		/* the object ends at or before off */
		membuf_reset(&req.resp);
		body = malloc(1);
		if (!body)
			return -ENOMEM;
		body[0] = '\0';
		if (err && errlen)
			err[0] = '\0';
		*ret_buf = body;
		*ret_len = 0;
		return 0;
	}
	if (r == 0 && req.status != 206 && off != 0) {
		/* a whole object where a part was asked for: not the bytes at off */
		objstore_errf(err, errlen, "GET %s/%s bytes %s: HTTP %ld instead of 206 Partial "
			      "Content: the server ignored the range", s->url, key, range,
			      req.status);
		r = -EIO;
	}
	if (r == 0 && req.resp.body.len > len) {
		objstore_errf(err, errlen, "GET %s/%s bytes %s: the answer is longer than %zu "
			      "bytes", s->url, key, range, len);
		r = -EIO;
	}
	if (r < 0) {
		membuf_reset(&req.resp);
		return r;
	}
	body = buf_take(&req.resp.body, &n);
	if (!body)
		return -ENOMEM;
	*ret_buf = body;
	*ret_len = n;
	return 0;
}

static int s3_put(struct objstore *s, const char *key, const void *buf, size_t len,
		  char *err, size_t errlen)
{
	struct s3_req req = { .op = "PUT", .method = "PUT", .key = key, .body = buf,
			      .body_len = len, .storage_class = true };
	int r = s3_object_request(s, &req, err, errlen);

	membuf_reset(&req.resp);
	return r;
}

static int s3_del(struct objstore *s, const char *key, char *err, size_t errlen)
{
	struct s3_req req = { .op = "DELETE", .method = "DELETE", .key = key };
	int r = s3_object_request(s, &req, err, errlen);

	membuf_reset(&req.resp);
	return r;
}

/* What one ListObjectsV2 page walk keeps. */
struct list_walk {
	struct xml_walk w;
	struct objstore *s;
	objstore_list_cb cb;
	void *arg;
	char *err;
	size_t errlen;
	bool in_contents;           /* inside a <Contents> */
	char *key;                  /* the current <Contents>'s first <Key>, NULL before it */
	uint64_t size;              /* and its first <Size> */
	bool has_size;
	bool has_truncated, truncated;
	char *token;                /* the first <NextContinuationToken> */
};

static void list_walk_start(struct xml_walk *w, const char *name)
{
	if (!strcmp(name, "Contents"))
		((struct list_walk *)w)->in_contents = true;
}

static int list_walk_end(struct xml_walk *w, const char *name, const char *text)
{
	struct list_walk *l = (struct list_walk *)w;
	struct s3_store *st = s3_of(l->s);
	size_t plen = strlen(st->prefix);
	int r = 0;

	if (!strcmp(name, "Key") && l->in_contents && !l->key) {
		l->key = strdup(text);
		return l->key ? 0 : -ENOMEM;
	}
	if (!strcmp(name, "Size") && l->in_contents && !l->has_size) {
		l->has_size = true;
		for (const char *q = text; *q; q++) {
			if (!isdigit((unsigned char)*q)) {
				objstore_errf(l->err, l->errlen, "LIST %s: bad <Size>", l->s->url);
				return -EIO;
			}
			l->size = l->size * 10 + (uint64_t)(*q - '0');
		}
		return 0;
	}
	if (!strcmp(name, "Contents")) {
		l->in_contents = false;
		if (!l->key) {
			objstore_errf(l->err, l->errlen, "LIST %s: <Contents> without <Key>",
				      l->s->url);
			return -EIO;
		}
		if (!strncmp(l->key, st->prefix, plen) && l->key[plen])
			r = l->cb(l->key + plen, l->size, l->arg);
		free(l->key);
		l->key = NULL;
		l->size = 0;
		l->has_size = false;
		return r;
	}
	if (!strcmp(name, "IsTruncated") && !l->has_truncated) {
		l->has_truncated = true;
		l->truncated = !strcmp(text, "true");
		return 0;
	}
	if (!strcmp(name, "NextContinuationToken") && !l->token) {
		l->token = strdup(text);
		return l->token ? 0 : -ENOMEM;
	}
	return 0;
}

/* Reports the <Contents> of one ListObjectsV2 page; sets *ret_token to the next
 * continuation token (malloc'd) or NULL on the last page. */
static int s3_list_page(struct objstore *s, const struct membuf *b, objstore_list_cb cb,
			void *arg, char **ret_token, char *err, size_t errlen)
{
	struct list_walk l = { .w.start = list_walk_start, .w.end = list_walk_end, .s = s,
			       .cb = cb, .arg = arg,
			       .err = err, .errlen = errlen };
	char why[160];
	int r;

	*ret_token = NULL;
	if (!b->body.p) {
		objstore_errf(err, errlen, "LIST %s: empty answer", s->url);
		return -EIO;
	}
	r = xml_walk(&l.w, b, why, sizeof(why));
	if (r == -EIO && !l.w.r)
		objstore_errf(err, errlen, "LIST %s: malformed answer: %s", s->url, why);
	if (r == 0 && l.truncated && (!l.token || !l.token[0])) {
		objstore_errf(err, errlen, "LIST %s: truncated page without "
			      "<NextContinuationToken>", s->url);
		r = -EIO;
	}
	if (r == 0 && l.truncated) {
		*ret_token = l.token;
		l.token = NULL;
	}
	free(l.key);
	free(l.token);
	return r;
}

static int s3_list(struct objstore *s, const char *prefix, objstore_list_cb cb, void *arg,
		   char *err, size_t errlen)
{
	struct s3_store *st = s3_of(s);
	char *full_prefix = NULL, *token = NULL, *path = NULL, max_keys[16];
	unsigned pages = 0;
	int r;

	if (asprintf(&full_prefix, "%s%s", st->prefix, prefix) < 0)
		return -ENOMEM;
	if (asprintf(&path, "%s", st->path_base[0] ? st->path_base : "/") < 0) {
		path = NULL;
		r = -ENOMEM;
		goto out_free;
	}
	snprintf(max_keys, sizeof(max_keys), "%u", st->page_size);
	do {
		if (pages++ == st->max_pages) {
			objstore_errf(err, errlen,
				      "LIST %s: more than %u pages: giving up (a store "
				      "that never ends its listing)", s->url, st->max_pages);
			r = -EIO;
			break;
		}
		struct sigv4_param params[4];
		struct s3_req req = { .op = "LIST", .method = "GET", .path = path,
				      .params = params, .max_answer = MAX_LIST_PAGE };
		char *next = NULL;

		params[req.n_params++] = (struct sigv4_param){ "list-type", "2" };
		params[req.n_params++] = (struct sigv4_param){ "prefix", full_prefix };
		if (st->page_size)
			params[req.n_params++] = (struct sigv4_param){ "max-keys", max_keys };
		if (token)
			params[req.n_params++] =
				(struct sigv4_param){ "continuation-token", token };
		r = s3_request(s, &req, err, errlen);
		if (r == 0)
			r = s3_list_page(s, &req.resp, cb, arg, &next, err, errlen);
		membuf_reset(&req.resp);
		/* the same token again would ask for the same page forever */
		if (r == 0 && next && token && !strcmp(next, token)) {
			objstore_errf(err, errlen,
				      "LIST %s: the store answered the continuation token "
				      "\"%.64s\" with the same token again", s->url, token);
			r = -EIO;
		}
		free(token);
		token = next;
	} while (r == 0 && token);
out_free:
	free(token);
	free(path);
	free(full_prefix);
	return r;
}

/* The probe of objstore_check: a PUT with the storage class, then a DELETE; S3's answer
 * to the PUT says what is wrong. */
static int s3_check(struct objstore *s, const char *key, char *err, size_t errlen)
{
	struct s3_store *st = s3_of(s);
	struct s3_req req = { .op = "PUT", .method = "PUT", .key = key, .body = "efsfs probe\n",
			      .body_len = 12, .storage_class = true };
	char why[600] = "";
	int r = s3_object_request(s, &req, why, sizeof(why));

	if (r < 0 && req.status == 404 && s3_body_has_code(&req.resp, "NoSuchBucket")) {
		r = -ENOENT;
		objstore_errf(err, errlen, "%s: bucket \"%s\" does not exist at %s", s->url,
			      st->bucket, st->base_url);
	} else if (r < 0 && req.status == 400 &&
		   s3_body_has_code(&req.resp, "InvalidStorageClass")) {
		r = -EINVAL;
		objstore_errf(err, errlen, "%s: the store at %s does not accept storage class %s "
			      "(HTTP 400 InvalidStorageClass)", s->url, st->base_url,
			      st->storage_class ? st->storage_class : "(none)");
	} else if (r < 0) {
		objstore_errf(err, errlen, "%s: a test write failed: %s", s->url, why);
	}
	membuf_reset(&req.resp);
	if (r < 0)
		return r;
	req = (struct s3_req){ .op = "DELETE", .method = "DELETE", .key = key };
	why[0] = '\0';
	r = s3_object_request(s, &req, why, sizeof(why));
	membuf_reset(&req.resp);
	if (r < 0)
		objstore_errf(err, errlen, "%s: a test write worked but its delete failed: %s",
			      s->url, why);
	return r;
}

/* PUT bucket, with a LocationConstraint outside us-east-1 (S3 refuses one there). */
static int s3_create(struct objstore *s, char *err, size_t errlen)
{
	struct s3_store *st = s3_of(s);
	struct s3_req req = { .op = "CREATE BUCKET", .method = "PUT" };
	char *path = NULL, *body = NULL;
	int r;

	if (asprintf(&path, "%s", st->path_base[0] ? st->path_base : "/") < 0)
		return -ENOMEM;
	if (strcmp(st->region, "us-east-1") &&
	    asprintf(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
		     "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
		     "</CreateBucketConfiguration>", st->region) < 0) {
		free(path);
		return -ENOMEM;
	}
	req.path = path;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	r = s3_request(s, &req, err, errlen);
	if (r < 0 && req.status == 409 && s3_body_has_code(&req.resp, "BucketAlreadyOwnedByYou"))
		r = 0;
	else if (r < 0 && req.status == 409)
		r = -EEXIST;
	membuf_reset(&req.resp);
	free(body);
	free(path);
	return r;
}

static void s3_free(struct objstore *s)
{
	struct s3_store *st = s3_of(s);

	if (!st)
		return;
	for (int i = 0; i < st->n_pool; i++)
		curl_easy_cleanup(st->pool[i]);
	pthread_mutex_destroy(&st->pool_lock);
	free(st->bucket);
	free(st->prefix);
	free(st->host);
	free(st->base_url);
	free(st->path_base);
	free(st->region);
	free(st->access_key);
	if (st->secret_key) {
		explicit_bzero(st->secret_key, strlen(st->secret_key));
		free(st->secret_key);
	}
	free(st->session_token);
	free(st->storage_class);
	free(st->ca_file);
	free(st);
	s->priv = NULL;
}

static const struct objstore_ops s3_ops = {
	.scheme = "s3",
	.get = s3_get,
	.get_range = s3_get_range,
	.put = s3_put,
	.del = s3_del,
	.list = s3_list,
	.check = s3_check,
	.create = s3_create,
	.free = s3_free,
};

int objstore_s3_set_page_size(struct objstore *s, unsigned max_keys)
{
	if (!s || s->ops != &s3_ops)
		return -EINVAL;
	s3_of(s)->page_size = max_keys;
	return 0;
}

int objstore_s3_set_max_pages(struct objstore *s, unsigned max_pages)
{
	if (!s || s->ops != &s3_ops)
		return -EINVAL;
	s3_of(s)->max_pages = max_pages ? max_pages : DEFAULT_MAX_PAGES;
	return 0;
}

/* What read_shared_credentials() collects from the profile's sections. */
struct shared_credentials {
	const char *profile;
	char *key, *secret, *token;
};

static int shared_credentials_item(const struct ini_item *it, void *arg)
{
	struct shared_credentials *sc = arg;
	char **slot = NULL;

	if (!it->key || !it->section || strcmp(it->section, sc->profile) != 0)
		return 0;
	if (!strcmp(it->key, "aws_access_key_id"))
		slot = &sc->key;
	else if (!strcmp(it->key, "aws_secret_access_key"))
		slot = &sc->secret;
	else if (!strcmp(it->key, "aws_session_token"))
		slot = &sc->token;
	if (!slot)
		return 0;
	free(*slot);
	*slot = strdup(it->value);
	return *slot ? 0 : -ENOMEM;
}

/* Reads profile from an AWS shared credentials file (common/ini, lenient: lines
 * that are not "[profile]" or "key = value" are skipped, values kept as written
 * between white space; a key set twice keeps the last).  Returns 1 when the
 * profile has both keys, 0 when the file or profile is missing or incomplete,
 * -ENOMEM. */
static int read_shared_credentials(const char *file, const char *profile, char **ret_key,
				   char **ret_secret, char **ret_token)
{
	struct shared_credentials sc = { .profile = profile };
	int r;
	FILE *f;

	f = fopen(file, "re");
	if (!f)
		return 0;
	r = ini_read(f, file, INI_LENIENT, shared_credentials_item, &sc, NULL, 0);
	fclose(f);
	if (r == 0 && sc.key && sc.key[0] && sc.secret && sc.secret[0]) {
		*ret_key = sc.key;
		*ret_secret = sc.secret;
		*ret_token = sc.token;
		return 1;
	}
	free(sc.key);
	free(sc.secret);
	free(sc.token);
	return r == -ENOMEM ? r : 0;
}

/* The credentials chain: environment, shared credentials file, configuration. */
static int s3_credentials(struct objstore *s, struct s3_store *st,
			  const struct objstore_conf *conf, char *err, size_t errlen)
{
	const char *env_key = getenv("AWS_ACCESS_KEY_ID");
	const char *env_secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *env_token = getenv("AWS_SESSION_TOKEN");
	const char *profile, *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char *default_file = NULL;
	int r;

	if (env_key && env_key[0] && env_secret && env_secret[0]) {
		st->access_key = strdup(env_key);
		st->secret_key = strdup(env_secret);
		if (env_token && env_token[0])
			st->session_token = strdup(env_token);
		if (!st->access_key || !st->secret_key ||
		    (env_token && env_token[0] && !st->session_token))
			return -ENOMEM;
		return 0;
	}
	profile = conf->profile ? conf->profile : getenv("AWS_PROFILE");
	if (!profile || !profile[0])
		profile = "default";
	if (!file || !file[0]) {
		const char *home = getenv("HOME");

		if (home && home[0]) {
			if (asprintf(&default_file, "%s/.aws/credentials", home) < 0)
				return -ENOMEM;
			file = default_file;
		}
	}
	if (file) {
		r = read_shared_credentials(file, profile, &st->access_key, &st->secret_key,
					    &st->session_token);
		if (r != 0) {
			free(default_file);
			return r < 0 ? r : 0;
		}
	}
	if (conf->access_key && conf->access_key[0] && conf->secret_key && conf->secret_key[0]) {
		free(default_file);
		st->access_key = strdup(conf->access_key);
		st->secret_key = strdup(conf->secret_key);
		return st->access_key && st->secret_key ? 0 : -ENOMEM;
	}
	objstore_errf(err, errlen, "object store %s: no S3 credentials: set AWS_ACCESS_KEY_ID and "
		      "AWS_SECRET_ACCESS_KEY, or profile [%s] in %s, or "
		      "s3_access_key_id and s3_secret_access_key in the configuration",
		      s->url, profile, file ? file : "~/.aws/credentials");
	free(default_file);
	return -EINVAL;
}

static bool bucket_dns_ok(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63)
		return false;
	for (const char *p = b; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.'))
			return false;
	return true;
}

/* Endpoint "scheme://host[:port][/]" into st->base_url, st->host (bucket-prefixed in
 * virtual-host style) and st->path_base. */
static int s3_endpoint(struct objstore *s, struct s3_store *st, const struct objstore_conf *conf,
		       char *err, size_t errlen)
{
	const char *ep = conf->endpoint, *hp, *slash;
	char *default_ep = NULL, *scheme = NULL, *hostport = NULL;
	int r = 0;

	if (!ep || !ep[0]) {
		if (asprintf(&default_ep, "https://s3.%s.amazonaws.com", st->region) < 0)
			return -ENOMEM;
		ep = default_ep;
	}
	if (!strncmp(ep, "https://", 8)) {
		scheme = strdup("https");
		hp = ep + 8;
	} else if (!strncmp(ep, "http://", 7)) {
		scheme = strdup("http");
		hp = ep + 7;
	} else {
		objstore_errf(err, errlen,
			      "object store %s: endpoint %s: must start with http:// or "
			      "https://", s->url, ep);
		r = -EINVAL;
		goto out_free;
	}
	slash = strchr(hp, '/');
	if (!scheme || !(hostport = strndup(hp, slash ? (size_t)(slash - hp) : strlen(hp)))) {
		r = -ENOMEM;
		goto out_free;
	}
	if (!hostport[0] || strpbrk(hostport, "@?# ") || (slash && strcmp(slash, "/"))) {
		objstore_errf(err, errlen,
			      "object store %s: endpoint %s: expected scheme://host[:port]",
			      s->url, ep);
		r = -EINVAL;
		goto out_free;
	}
	if (conf->path_style) {
		st->host = strdup(hostport);
		if (asprintf(&st->path_base, "/%s", st->bucket) < 0)
			st->path_base = NULL;
	} else {
		if (!bucket_dns_ok(st->bucket)) {
			objstore_errf(err, errlen,
				      "object store %s: bucket name \"%s\" cannot be used "
				      "in virtual-host style; use path style", s->url,
				      st->bucket);
			r = -EINVAL;
			goto out_free;
		}
		if (asprintf(&st->host, "%s.%s", st->bucket, hostport) < 0)
			st->host = NULL;
		st->path_base = strdup("");
	}
	if (!st->host || !st->path_base ||
	    asprintf(&st->base_url, "%s://%s", scheme, st->host) < 0) {
		st->base_url = NULL;
		r = -ENOMEM;
	}
out_free:
	free(hostport);
	free(scheme);
	free(default_ep);
	return r;
}

int objstore_s3_open(struct objstore *s, const char *rest, const struct objstore_conf *conf,
		     char *err, size_t errlen)
{
	const char *slash = strchr(rest, '/');
	struct s3_store *st;
	int r;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_code != CURLE_OK) {
		objstore_errf(err, errlen, "object store %s: curl_global_init: %s", s->url,
			      curl_easy_strerror(curl_init_code));
		return -EIO;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	r = pthread_mutex_init(&st->pool_lock, NULL);
	if (r) {
		free(st);
		return -r;
	}
	/* s3_free() releases whatever was set; it needs s->priv */
	s->priv = st;
	st->bucket = strndup(rest, slash ? (size_t)(slash - rest) : strlen(rest));
	if (!st->bucket) {
		r = -ENOMEM;
		goto out_free;
	}
	if (!st->bucket[0] || strpbrk(st->bucket, "?#% ")) {
		objstore_errf(err, errlen, "object store URL %s: expected s3://bucket[/prefix]",
			      s->url);
		r = -EINVAL;
		goto out_free;
	}
	if (slash) {
		const char *p = slash + 1;
		size_t n = strlen(p);

		while (n && p[n - 1] == '/')
			n--;
		if (n) {
			char *pre = strndup(p, n);

			if (!pre) {
				r = -ENOMEM;
				goto out_free;
			}
			if (!objstore_key_valid(pre)) {
				objstore_errf(err, errlen,
					      "object store URL %s: bad prefix", s->url);
				free(pre);
				r = -EINVAL;
				goto out_free;
			}
			r = asprintf(&st->prefix, "%s/", pre);
			free(pre);
			if (r < 0) {
				st->prefix = NULL;
				r = -ENOMEM;
				goto out_free;
			}
		}
	}
	if (!st->prefix)
		st->prefix = strdup("");
	st->region = strdup(conf->region && conf->region[0] ? conf->region : "us-east-1");
	if (conf->storage_class && conf->storage_class[0])
		st->storage_class = strdup(conf->storage_class);
	if (conf->ca_file && conf->ca_file[0])
		st->ca_file = strdup(conf->ca_file);
	if (!st->prefix || !st->region || (conf->storage_class && conf->storage_class[0] &&
	    !st->storage_class) || (conf->ca_file && conf->ca_file[0] && !st->ca_file)) {
		r = -ENOMEM;
		goto out_free;
	}
	st->connect_timeout_ms = conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : 5000;
	st->request_timeout_ms = conf->request_timeout_ms > 0 ? conf->request_timeout_ms : 30000;
	if (conf->low_speed_bytes < 0)
		st->low_speed_bytes = 0;
	else
		st->low_speed_bytes = conf->low_speed_bytes ? conf->low_speed_bytes : 1024;
	st->low_speed_time_s = conf->low_speed_time_s > 0 ? conf->low_speed_time_s : 10;
	st->operation_timeout_ms = conf->operation_timeout_ms > 0 ? conf->operation_timeout_ms
								  : 30000;
	st->max_object_bytes = conf->max_object_bytes ? conf->max_object_bytes
						      : DEFAULT_MAX_OBJECT;
	if (st->max_object_bytes > SIZE_MAX - 1)
		st->max_object_bytes = SIZE_MAX - 1;
	st->max_pages = DEFAULT_MAX_PAGES;
	st->retries = conf->retries < 0 ? 0 : conf->retries == 0 ? 4 : conf->retries;
	st->backoff_ms = conf->backoff_ms > 0 ? conf->backoff_ms : 100;
	r = s3_endpoint(s, st, conf, err, errlen);
	if (r < 0)
		goto out_free;
	r = s3_credentials(s, st, conf, err, errlen);
	if (r < 0)
		goto out_free;
	s->ops = &s3_ops;
	return 0;

out_free:
	if (r == -ENOMEM)
		objstore_errf(err, errlen, "object store %s: out of memory", s->url);
	s3_free(s);
	return r;
}
