/* test_objstore.c - checks the object store: the file:// driver (round trips, list,
 * idempotent delete, bad keys, fault injection, per-thread errors), the s3:// driver against
 * a scripted HTTP server on 127.0.0.1 in this process (the signature covers exactly the
 * headers sent, retries, error mapping, credentials chain, recovery) and against a real
 * s3rver named by EFSFS_S3_ENDPOINT / EFSFS_S3_BUCKET (tests/lib/s3rver.sh starts one).
 * Without those variables the s3rver case fails, unless EFSFS_S3_OPTIONAL=1.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/objstore.h"
#include "store/objstore_i.h"
#include "store/sigv4.h"
#include "tests/unit/testdir.h"

static char tmpdir[4096];
/* The error text of this thread's last store call: every call passes it as its
 * (err, errlen), and the worker threads of the concurrency tests have their own. */
static _Thread_local char terr[1024];
#define TERR terr, sizeof(terr)

static void make_tmpdir(void)
{
	testdir_sub("objstore", tmpdir, sizeof(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[4200];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	tmpdir[0] = '\0';
}

static struct objstore *open_file_store(void)
{
	struct objstore *s = NULL;
	char url[4200];

	snprintf(url, sizeof(url), "file://%s/store", tmpdir);
	ck_assert_int_eq(objstore_open(url, NULL, &s, TERR), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(objstore_url(s), url);
	return s;
}

static void fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char)(seed >> 16);
	}
}

static void check_get(struct objstore *s, const char *key, const void *want, size_t want_len)
{
	void *buf = NULL;
	size_t len = 0;
	int r = objstore_get(s, key, &buf, &len, TERR);

	ck_assert_msg(r == 0, "get %s: %d %s", key, r, terr);
	ck_assert_uint_eq(len, want_len);
	ck_assert(memcmp(buf, want, len) == 0);
	free(buf);
}

/* ---- list helper ---- */

#define MAX_SEEN 64

struct seen {
	int n;
	char *keys[MAX_SEEN];
	uint64_t sizes[MAX_SEEN];
	int stop_after;             /* return 7 after this many; 0 = never */
};

static int seen_cb(const char *key, uint64_t size, void *arg)
{
	struct seen *sn = arg;

	ck_assert_int_lt(sn->n, MAX_SEEN);
	sn->keys[sn->n] = strdup(key);
	sn->sizes[sn->n] = size;
	sn->n++;
	return sn->stop_after && sn->n >= sn->stop_after ? 7 : 0;
}

static int seen_find(const struct seen *sn, const char *key)
{
	int found = -1;

	for (int i = 0; i < sn->n; i++) {
		if (!strcmp(sn->keys[i], key)) {
			ck_assert_msg(found < 0, "key %s listed twice", key);
			found = i;
		}
	}
	return found;
}

static void seen_free(struct seen *sn)
{
	for (int i = 0; i < sn->n; i++)
		free(sn->keys[i]);
	memset(sn, 0, sizeof(*sn));
}

/* ---- file driver ---- */

/* Ranged gets of a 10000-byte object on any store (file:// and s3rver).  s3rver
 * (3.x) answers "bytes=0-0" with the whole object (it takes the end 0 for none):
 * that answer must be refused, as any longer than asked. */
static void check_ranges(struct objstore *s, const char *key, bool s3rver)
{
	static const struct { uint64_t off; size_t len, want; } cases[] = {
		{ 0, 1, 1 }, { 100, 500, 500 }, { 9999, 1, 1 }, { 9990, 100, 10 },
		{ 0, 10000, 10000 }, { 0, 20000, 10000 }, { 10000, 5, 0 }, { 20000, 5, 0 },
	};
	char *obj = malloc(10000);
	void *buf = (void *)0x1;
	size_t len = 7;

	ck_assert_ptr_nonnull(obj);
	fill(obj, 10000, 77);
	ck_assert_int_eq(objstore_put(s, key, obj, 10000, TERR), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (s3rver && cases[i].off == 0 && cases[i].len == 1) {
			ck_assert_int_eq(objstore_get_range(s, key, 0, 1, &buf, &len, TERR), -EIO);
			ck_assert_msg(strstr(terr, "the answer is longer than 1 bytes"), "%s", terr);
			ck_assert_ptr_eq(buf, (void *)0x1);
			continue;
		}
		ck_assert_msg(objstore_get_range(s, key, cases[i].off, cases[i].len, &buf, &len,
						 TERR) == 0, "range %zu: %s", i, terr);
		ck_assert_msg(len == cases[i].want, "range %zu: %zu bytes, want %zu", i, len,
			      cases[i].want);
		if (len)
			ck_assert_mem_eq(buf, obj + cases[i].off, len);
		free(buf);
		buf = (void *)0x1;
	}
	ck_assert_int_eq(objstore_get_range(s, key, 0, 0, &buf, &len, TERR), -EINVAL);
	ck_assert_int_eq(objstore_get_range(s, "no/such/key", 0, 10, &buf, &len, TERR), -ENOENT);
	ck_assert_ptr_eq(buf, (void *)0x1);
	/* an injected get fault hits ranged gets too */
	objstore_inject_fault(s, "get", 1, EIO, false);
	ck_assert_int_eq(objstore_get_range(s, key, 0, 10, &buf, &len, TERR), -EIO);
	ck_assert_int_eq(objstore_del(s, key, TERR), 0);
	free(obj);
}

START_TEST(test_file_ranges)
{
	struct objstore *s;

	make_tmpdir();
	s = open_file_store();
	check_ranges(s, "dir/ranged", false);
	objstore_free(s);
	rm_tmpdir();
}
END_TEST

START_TEST(test_file_roundtrip)
{
	struct objstore *s;
	static char big[300000];
	void *buf = (void *)0x1;
	size_t len = 12345;
	struct stat st;
	char path[4300];

	make_tmpdir();
	s = open_file_store();
	fill(big, sizeof(big), 1);
	ck_assert_int_eq(objstore_put(s, "a/b/c", big, sizeof(big), TERR), 0);
	check_get(s, "a/b/c", big, sizeof(big));
	snprintf(path, sizeof(path), "%s/store/a/b/c", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)sizeof(big));
	/* overwrite with a shorter object, then an empty one */
	ck_assert_int_eq(objstore_put(s, "a/b/c", "xyz", 3, TERR), 0);
	check_get(s, "a/b/c", "xyz", 3);
	ck_assert_int_eq(objstore_put(s, "empty", NULL, 0, TERR), 0);
	ck_assert_int_eq(objstore_get(s, "empty", &buf, &len, TERR), 0);
	ck_assert_uint_eq(len, 0);
	free(buf);
	/* missing key: -ENOENT, outputs untouched, a message naming the key */
	buf = (void *)0x1;
	len = 12345;
	ck_assert_int_eq(objstore_get(s, "a/b/missing", &buf, &len, TERR), -ENOENT);
	ck_assert_ptr_eq(buf, (void *)0x1);
	ck_assert_uint_eq(len, 12345);
	ck_assert_ptr_nonnull(strstr(terr, "a/b/missing"));
	ck_assert_int_eq(objstore_get(s, "a/b", &buf, &len, TERR), -ENOENT);   /* a directory */
	ck_assert_int_eq(objstore_get(s, "a/b/c/d", &buf, &len, TERR), -ENOENT);
	/* a success clears the thread's error text */
	check_get(s, "a/b/c", "xyz", 3);
	ck_assert_str_eq(terr, "");
	objstore_free(s);
	/* reopen: data persisted */
	s = open_file_store();
	check_get(s, "a/b/c", "xyz", 3);
	objstore_free(s);
	objstore_free(NULL);
	rm_tmpdir();
}
END_TEST

START_TEST(test_file_delete)
{
	struct objstore *s;
	void *buf;
	size_t len;

	make_tmpdir();
	s = open_file_store();
	ck_assert_int_eq(objstore_put(s, "d/k", "v", 1, TERR), 0);
	ck_assert_int_eq(objstore_del(s, "d/k", TERR), 0);
	ck_assert_int_eq(objstore_get(s, "d/k", &buf, &len, TERR), -ENOENT);
	ck_assert_int_eq(objstore_del(s, "d/k", TERR), 0);
	ck_assert_int_eq(objstore_del(s, "never/was", TERR), 0);
	ck_assert_int_eq(objstore_del(s, "d", TERR), 0);       /* a directory is no key */
	objstore_free(s);
	rm_tmpdir();
}
END_TEST

START_TEST(test_file_list)
{
	static const char *keys[] = { "x/1", "x/2", "x/y/3", "z", "xa", "q/r/s/t" };
	struct seen sn = { 0 };
	struct objstore *s;
	char path[4300];
	FILE *f;

	make_tmpdir();
	s = open_file_store();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_int_eq(objstore_put(s, keys[i], "0123456789", i + 1, TERR), 0);
	/* a temporary file left by a crash is not an object */
	snprintf(path, sizeof(path), "%s/store/x/.objstore-tmp.abcdef", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);

	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 6);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int j = seen_find(&sn, keys[i]);

		ck_assert_msg(j >= 0, "%s not listed", keys[i]);
		ck_assert_uint_eq(sn.sizes[j], i + 1);
	}
	seen_free(&sn);

	ck_assert_int_eq(objstore_list(s, "x/", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 3);
	ck_assert_int_ge(seen_find(&sn, "x/y/3"), 0);
	seen_free(&sn);
	ck_assert_int_eq(objstore_list(s, "x", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 4);
	ck_assert_int_ge(seen_find(&sn, "xa"), 0);
	seen_free(&sn);
	ck_assert_int_eq(objstore_list(s, "x/y/3", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 1);
	seen_free(&sn);
	ck_assert_int_eq(objstore_list(s, "nope/", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(objstore_list(s, "zz", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 0);
	ck_assert_int_eq(objstore_list(s, "../", seen_cb, &sn, TERR), -EINVAL);
	/* the callback's non-zero value stops the walk and is returned */
	sn.stop_after = 2;
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), 7);
	ck_assert_int_eq(sn.n, 2);
	seen_free(&sn);
	objstore_free(s);
	rm_tmpdir();
}
END_TEST

START_TEST(test_file_bad_keys)
{
	static const char *bad[] = { "", "/a", "a//b", "a/../b", "..", "a/", "a/./b", ".",
				     "../x" };
	struct objstore *s;
	void *buf = NULL;
	size_t len;

	make_tmpdir();
	s = open_file_store();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(objstore_put(s, bad[i], "x", 1, TERR) == -EINVAL, "put \"%s\"",
			      bad[i]);
		ck_assert(terr[0] != '\0');
		ck_assert_msg(objstore_get(s, bad[i], &buf, &len, TERR) == -EINVAL, "get \"%s\"",
			      bad[i]);
		ck_assert_msg(objstore_del(s, bad[i], TERR) == -EINVAL, "del \"%s\"", bad[i]);
	}
	ck_assert_int_eq(objstore_get(s, NULL, &buf, &len, TERR), -EINVAL);
	ck_assert_int_eq(objstore_put(s, "a/.objstore-tmp.x", "x", 1, TERR), -EINVAL);
	/* names that look odd but are fine */
	ck_assert_int_eq(objstore_put(s, "...", "x", 1, TERR), 0);
	ck_assert_int_eq(objstore_put(s, "a b/c+d=e&f", "y", 1, TERR), 0);
	check_get(s, "a b/c+d=e&f", "y", 1);
	objstore_free(s);
	rm_tmpdir();
}
END_TEST

START_TEST(test_open_errors)
{
	struct objstore *s = (struct objstore *)0x1;

	ck_assert_int_eq(objstore_open("file://relative/path", NULL, &s, TERR), -EINVAL);
	ck_assert(terr[0] != '\0');
	ck_assert_int_eq(objstore_open("ftp://host/x", NULL, &s, TERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(terr, "ftp://host/x"));
	ck_assert_int_eq(objstore_open("/no/scheme", NULL, &s, TERR), -EINVAL);
	ck_assert_int_eq(objstore_open("file:///", NULL, &s, TERR), -EINVAL);
	ck_assert_int_eq(objstore_open("s3://", &(struct objstore_conf){ .access_key = "a",
				       .secret_key = "b", .path_style = true }, &s, TERR), -EINVAL);
	ck_assert_int_eq(objstore_open("s3://b", &(struct objstore_conf){ .access_key = "a",
				       .secret_key = "b", .endpoint = "ftp://x" }, &s, TERR),
			 -EINVAL);
	ck_assert_int_eq(objstore_open("s3://Bad_Bucket", &(struct objstore_conf){
				       .access_key = "a", .secret_key = "b" }, &s, TERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(terr, "path style"));
	ck_assert_ptr_eq(s, (struct objstore *)0x1);
	make_tmpdir();
	s = open_file_store();
	ck_assert_str_eq(terr, "");
	ck_assert_int_eq(objstore_s3_set_page_size(s, 3), -EINVAL);
	objstore_free(s);
	rm_tmpdir();
}
END_TEST

START_TEST(test_fault_injection)
{
	struct objstore *s;
	struct seen sn = { 0 };
	void *buf;
	size_t len;

	make_tmpdir();
	s = open_file_store();
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);

	/* the 2nd put from now fails, once; gets do not count */
	objstore_inject_fault(s, "put", 2, EIO, false);
	ck_assert_int_eq(objstore_put(s, "k1", "1", 1, TERR), 0);
	check_get(s, "k1", "1", 1);
	ck_assert_int_eq(objstore_put(s, "k2", "2", 1, TERR), -EIO);
	ck_assert_ptr_nonnull(strstr(terr, "injected"));
	ck_assert_int_eq(objstore_get(s, "k2", &buf, &len, TERR), -ENOENT);   /* store untouched */
	ck_assert_int_eq(objstore_put(s, "k3", "3", 1, TERR), 0);

	/* sticky: the 1st get and every later get fail; other ops go on */
	objstore_inject_fault(s, "get", 1, -ENOSPC, true);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), -ENOSPC);
	ck_assert_int_eq(objstore_put(s, "k4", "4", 1, TERR), 0);
	ck_assert_int_eq(objstore_del(s, "k4", TERR), 0);
	objstore_inject_fault(s, "get", 0, 0, false);   /* clear */
	check_get(s, "k", "v", 1);

	/* "*" counts every op */
	objstore_inject_fault(s, "*", 3, EIO, false);
	check_get(s, "k", "v", 1);
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(objstore_del(s, "k", TERR), -EIO);
	check_get(s, "k", "v", 1);      /* the failed delete did not delete */
	seen_free(&sn);
	objstore_free(s);
	rm_tmpdir();
}
END_TEST

struct thread_arg {
	struct objstore *s;
	int idx;
	int failures;
	char err[1024];
};

static void *error_thread(void *p)
{
	struct thread_arg *a = p;
	void *buf;
	size_t len;

	/* the main thread's error is not ours */
	snprintf(a->err, sizeof(a->err), "%s", terr);
	if (objstore_get(a->s, "thread/missing", &buf, &len, TERR) != -ENOENT)
		a->failures++;
	if (!strstr(terr, "thread/missing"))
		a->failures++;
	return NULL;
}

static void *writer_thread(void *p)
{
	struct thread_arg *a = p;
	char key[64], data[5000], *buf;
	size_t len;

	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "t%d/k%d", a->idx, i);
		fill(data, sizeof(data), (unsigned)(a->idx * 100 + i));
		if (objstore_put(a->s, key, data, sizeof(data), TERR) != 0 ||
		    objstore_put(a->s, "shared", data, sizeof(data), TERR) != 0)
			a->failures++;
		if (objstore_get(a->s, key, (void **)&buf, &len, TERR) != 0) {
			a->failures++;
			continue;
		}
		if (len != sizeof(data) || memcmp(buf, data, len))
			a->failures++;
		free(buf);
		/* whoever wrote "shared" last, it is one whole object */
		if (objstore_get(a->s, "shared", (void **)&buf, &len, TERR) != 0 ||
		    len != sizeof(data))
			a->failures++;
		else
			free(buf);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct thread_arg args[4];
	pthread_t t[4];
	struct objstore *s;
	void *buf;
	size_t len;

	make_tmpdir();
	s = open_file_store();
	ck_assert_int_eq(objstore_get(s, "main/missing", &buf, &len, TERR), -ENOENT);
	memset(&args[0], 0, sizeof(args[0]));
	args[0].s = s;
	ck_assert_int_eq(pthread_create(&t[0], NULL, error_thread, &args[0]), 0);
	ck_assert_int_eq(pthread_join(t[0], NULL), 0);
	ck_assert_str_eq(args[0].err, "");
	ck_assert_int_eq(args[0].failures, 0);
	ck_assert_ptr_nonnull(strstr(terr, "main/missing"));

	for (int i = 0; i < 4; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].s = s;
		args[i].idx = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(args[i].failures, 0);
	}
	objstore_free(s);
	rm_tmpdir();
}
END_TEST

/* ---- a scripted HTTP server on 127.0.0.1 ---- */

#define FAKE_MAX_REQ 16

/* Statuses below 0: how a scripted answer misbehaves (a hostile or stalled server). */
enum fake_mode {
	FAKE_STALL = -1,            /* read the request, never answer (until the client goes) */
	FAKE_HUGE_LENGTH = -2,      /* 200 with Content-Length: 1 GiB, then bytes */
	FAKE_CHUNKED_FOREVER = -3,  /* 200, chunked, chunks until the client goes (<= 1 GiB) */
};

struct fake_resp {
	int status;                 /* 0 = close the connection without an answer; < 0: fake_mode */
	const char *body;
};

struct fake_server {
	int lfd;
	int port;
	pthread_t thread;
	const struct fake_resp *resps;
	int n_resps;                /* the last one repeats */
	atomic_bool stop;
	pthread_mutex_t lock;
	int n_req;                  /* lock */
	char *heads[FAKE_MAX_REQ];  /* lock */
	char *bodies[FAKE_MAX_REQ]; /* lock */
	size_t body_lens[FAKE_MAX_REQ];
};

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	return ntohs(sa.sin_port);
}

static const char *find_header(const char *head, const char *name, size_t *ret_len)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *v;

		if (strncasecmp(line, name, nl) || line[nl] != ':')
			continue;
		v = line + nl + 1;
		while (*v == ' ')
			v++;
		*ret_len = (size_t)(strstr(v, "\r\n") - v);
		return v;
	}
	return NULL;
}

static void fake_misbehave(struct fake_server *fs, int c, enum fake_mode mode)
{
	static char block[65536];
	char head[256];
	size_t sent = 0;
	int n;

	if (mode == FAKE_STALL) {
		/* bounded: 30 s at most, or until the client hangs up */
		for (int i = 0; i < 300 && !atomic_load(&fs->stop); i++) {
			struct pollfd pfd = { .fd = c, .events = POLLIN };
			char b;

			if (poll(&pfd, 1, 100) > 0 && recv(c, &b, 1, 0) <= 0)
				return;
		}
		return;
	}
	memset(block, 'x', sizeof(block));
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n%s\r\nContent-Type: "
		     "application/xml\r\n\r\n", mode == FAKE_HUGE_LENGTH ?
		     "Content-Length: 1073741824" : "Transfer-Encoding: chunked");
	if (send(c, head, (size_t)n, MSG_NOSIGNAL) != n)
		return;
	while (sent < (1u << 30) && !atomic_load(&fs->stop)) {
		if (mode == FAKE_CHUNKED_FOREVER &&
		    send(c, "10000\r\n", 7, MSG_NOSIGNAL) != 7)
			return;
		if (send(c, block, sizeof(block), MSG_NOSIGNAL) != (ssize_t)sizeof(block))
			return;
		if (mode == FAKE_CHUNKED_FOREVER && send(c, "\r\n", 2, MSG_NOSIGNAL) != 2)
			return;
		sent += sizeof(block);
	}
}

static void fake_serve_one(struct fake_server *fs, int c)
{
	size_t cap = 65536, len = 0, body_len = 0, have;
	char *head = malloc(cap), *end = NULL, *body = NULL, resp[1024];
	const struct fake_resp *rp;
	const char *cl;
	size_t cl_len;
	int idx;

	ck_assert_ptr_nonnull(head);
	while (!end && len < cap - 1) {
		ssize_t n = recv(c, head + len, cap - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (!end) {
		free(head);
		return;
	}
	end[2] = '\0';     /* keep the last header's CRLF */
	cl = find_header(head, "content-length", &cl_len);
	if (cl)
		body_len = strtoul(cl, NULL, 10);
	body = malloc(body_len + 1);
	ck_assert_ptr_nonnull(body);
	have = len - (size_t)(end + 4 - head);
	if (have > body_len)
		have = body_len;
	memcpy(body, end + 4, have);
	while (have < body_len) {
		ssize_t n = recv(c, body + have, body_len - have, 0);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	pthread_mutex_lock(&fs->lock);
	idx = fs->n_req++;
	if (idx < FAKE_MAX_REQ) {
		fs->heads[idx] = head;
		fs->bodies[idx] = body;
		fs->body_lens[idx] = have;
		head = body = NULL;
	}
	pthread_mutex_unlock(&fs->lock);
	free(head);
	free(body);
	rp = &fs->resps[idx < fs->n_resps ? idx : fs->n_resps - 1];
	if (rp->status < 0) {
		fake_misbehave(fs, c, (enum fake_mode)rp->status);
		return;
	}
	if (rp->status) {
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n"
				 "Content-Type: application/xml\r\nConnection: close\r\n\r\n%s",
				 rp->status, strlen(rp->body), rp->body);

		ck_assert_int_lt(n, (int)sizeof(resp));
		ck_assert_int_eq(send(c, resp, (size_t)n, MSG_NOSIGNAL), n);
	}
}

static void *fake_thread(void *p)
{
	struct fake_server *fs = p;

	/* bounded: at most 64 connections, each wait at most 20 s */
	for (int i = 0; i < 64 && !atomic_load(&fs->stop); i++) {
		struct pollfd pfd = { .fd = fs->lfd, .events = POLLIN };
		int c;

		if (poll(&pfd, 1, 20000) <= 0)
			break;
		c = accept4(fs->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			break;
		if (!atomic_load(&fs->stop))
			fake_serve_one(fs, c);
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake_server *fs, const struct fake_resp *resps, int n_resps,
		       int port)
{
	memset(fs, 0, sizeof(*fs));
	pthread_mutex_init(&fs->lock, NULL);
	fs->resps = resps;
	fs->n_resps = n_resps;
	fs->lfd = listen_on(port);
	fs->port = port_of(fs->lfd);
	ck_assert_int_eq(pthread_create(&fs->thread, NULL, fake_thread, fs), 0);
}

static void fake_stop(struct fake_server *fs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fs->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	atomic_store(&fs->stop, true);
	/* wake the accept loop */
	ck_assert_int_ge(fd, 0);
	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	ck_assert_int_eq(pthread_join(fs->thread, NULL), 0);
	close(fs->lfd);
	for (int i = 0; i < FAKE_MAX_REQ; i++) {
		free(fs->heads[i]);
		free(fs->bodies[i]);
	}
	pthread_mutex_destroy(&fs->lock);
}

static int fake_requests(struct fake_server *fs)
{
	int n;

	pthread_mutex_lock(&fs->lock);
	n = fs->n_req;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

static void set_s3rver_creds(void)
{
	setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
}

static struct objstore *open_fake_store(struct fake_server *fs, const char *url, int retries,
					const char *storage_class)
{
	struct objstore_conf conf = { .path_style = true, .retries = retries, .backoff_ms = 5,
				      .connect_timeout_ms = 2000, .request_timeout_ms = 10000,
				      .storage_class = storage_class, .region = "eu-west-3" };
	struct objstore *s = NULL;
	char ep[64];

	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", fs->port);
	conf.endpoint = ep;
	ck_assert_msg(objstore_open(url, &conf, &s, TERR) == 0, "open: %s", terr);
	return s;
}

static char *pct_decode(const char *a, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < n; i++) {
		if (a[i] == '%' && i + 2 < n) {
			char hex[3] = { a[i + 1], a[i + 2], 0 };

			*o++ = (char)strtoul(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = a[i];
		}
	}
	*o = '\0';
	return out;
}

/* Recomputes the signature of a received request from the headers actually received and
 * the body actually received, and compares it with the Authorization header sent. */
static void verify_signed_request(const char *head, const char *body, size_t body_len,
				  const char *secret, const char *region)
{
	char *method, *target, *path, *query = NULL, *signed_list, *date, *authz, *sh;
	char hash[SIGV4_SHA256_HEX_LEN + 1], *save = NULL;
	struct sigv4_header hdrs[16];
	struct sigv4_param params[8];
	struct sigv4_signature sig = { 0 };
	size_t nh = 0, np = 0, len;
	const char *v, *sp1, *sp2, *q;
	char *akey;

	sp1 = strchr(head, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	ck_assert_ptr_nonnull(sp2);
	method = strndup(head, (size_t)(sp1 - head));
	target = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	q = strchr(target, '?');
	path = pct_decode(target, q ? (size_t)(q - target) : strlen(target));
	if (q) {
		query = strdup(q + 1);
		for (char *t = strtok_r(query, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(t, '=');

			ck_assert_uint_lt(np, 8);
			params[np].name = pct_decode(t, eq ? (size_t)(eq - t) : strlen(t));
			params[np].value = eq ? pct_decode(eq + 1, strlen(eq + 1)) : NULL;
			np++;
		}
	}

	ck_assert_msg(!find_header(head, "expect", &len), "an Expect header was sent:\n%s", head);
	v = find_header(head, "authorization", &len);
	ck_assert_ptr_nonnull(v);
	authz = strndup(v, len);
	/* "AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/s3/aws4_request, SignedHeaders=..., " */
	v = strstr(authz, "Credential=");
	ck_assert_ptr_nonnull(v);
	akey = strndup(v + 11, strcspn(v + 11, "/"));
	v = strstr(authz, "SignedHeaders=");
	ck_assert_ptr_nonnull(v);
	signed_list = strndup(v + 14, strcspn(v + 14, ","));
	for (char *t = strtok_r(signed_list, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		v = find_header(head, t, &len);
		ck_assert_msg(v != NULL, "signed header %s was not sent:\n%s", t, head);
		ck_assert_uint_lt(nh, 16);
		hdrs[nh].name = t;
		hdrs[nh].value = strndup(v, len);
		nh++;
	}
	v = find_header(head, "x-amz-date", &len);
	ck_assert_ptr_nonnull(v);
	date = strndup(v, len);
	v = find_header(head, "x-amz-content-sha256", &len);
	ck_assert_ptr_nonnull(v);
	sigv4_sha256_hex(body ? body : "", body_len, hash);
	ck_assert_uint_eq(len, SIGV4_SHA256_HEX_LEN);
	ck_assert_msg(!strncmp(v, hash, len), "x-amz-content-sha256 is not the body's hash");

	ck_assert_int_eq(sigv4_sign(&(struct sigv4_request){
		.method = method, .path = path, .params = params, .n_params = np,
		.headers = hdrs, .n_headers = nh, .payload_hash = hash, .access_key = akey,
		.secret_key = secret, .region = region, .service = "s3", .amz_date = date }, &sig),
		0);
	ck_assert_str_eq(sig.authorization, authz);
	/* what must be signed for S3 is signed */
	sh = strstr(authz, "SignedHeaders=");
	ck_assert_ptr_nonnull(strstr(sh, "host;"));
	ck_assert_ptr_nonnull(strstr(sh, "x-amz-content-sha256;"));
	ck_assert_ptr_nonnull(strstr(sh, "x-amz-date"));

	sigv4_signature_free(&sig);
	for (size_t i = 0; i < nh; i++)
		free((char *)hdrs[i].value);
	for (size_t i = 0; i < np; i++) {
		free((char *)params[i].name);
		free((char *)params[i].value);
	}
	free(akey);
	free(date);
	free(signed_list);
	free(authz);
	free(query);
	free(path);
	free(target);
	free(method);
}

START_TEST(test_s3_signed_as_sent)
{
	static const struct fake_resp ok[] = { { 200, "" } };
	static const char list_xml[] =
		"<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>false</IsTruncated>"
		"</ListBucketResult>";
	const struct fake_resp lst[] = { { 200, list_xml } };
	const char *put_line = "PUT /bkt/pre/fix/dir/a%20b%2Bc%3Dd%26e~f HTTP/1.1\r\n";
	const char *list_line = "GET /bkt?list-type=2&max-keys=5&prefix=pre%2Fa%20b%2F HTTP/1.1\r\n";
	struct fake_server fs;
	struct objstore *s;
	struct seen sn = { 0 };
	size_t big = 2u << 20;
	char *data = malloc(big), host[64];
	const char *v;
	size_t len;

	ck_assert_ptr_nonnull(data);
	fill(data, big, 9);
	set_s3rver_creds();
	setenv("AWS_SESSION_TOKEN", "FQoGZXIvYXdzE//token+with/odd=chars", 1);
	fake_start(&fs, ok, 1, 0);
	s = open_fake_store(&fs, "s3://bkt/pre/fix", 0, "STANDARD_IA");
	ck_assert_int_eq(objstore_put(s, "dir/a b+c=d&e~f", data, big, TERR), 0);
	ck_assert_int_eq(fake_requests(&fs), 1);
	ck_assert_uint_eq(fs.body_lens[0], big);
	ck_assert(memcmp(fs.bodies[0], data, big) == 0);
	ck_assert_msg(!strncmp(fs.heads[0], put_line, strlen(put_line)), "%s", fs.heads[0]);
	v = find_header(fs.heads[0], "host", &len);
	snprintf(host, sizeof(host), "127.0.0.1:%d", fs.port);
	ck_assert(v && len == strlen(host) && !strncmp(v, host, len));
	ck_assert_ptr_nonnull(strstr(fs.heads[0], "\r\nx-amz-storage-class: STANDARD_IA\r\n"));
	ck_assert_ptr_nonnull(strstr(fs.heads[0], "x-amz-security-token;"));
	ck_assert_ptr_nonnull(strstr(fs.heads[0], "x-amz-storage-class, Signature="));
	ck_assert_ptr_nonnull(strstr(fs.heads[0], "/eu-west-3/s3/aws4_request"));
	verify_signed_request(fs.heads[0], fs.bodies[0], fs.body_lens[0], "S3RVER", "eu-west-3");
	fake_stop(&fs);
	objstore_free(s);

	/* a list request: query parameters signed as sent */
	fake_start(&fs, lst, 1, 0);
	s = open_fake_store(&fs, "s3://bkt/pre", 0, NULL);
	ck_assert_int_eq(objstore_s3_set_page_size(s, 5), 0);
	ck_assert_int_eq(objstore_list(s, "a b/", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 0);
	ck_assert_msg(!strncmp(fs.heads[0], list_line, strlen(list_line)), "%s", fs.heads[0]);
	ck_assert_ptr_null(strstr(fs.heads[0], "storage-class"));
	verify_signed_request(fs.heads[0], NULL, 0, "S3RVER", "eu-west-3");
	fake_stop(&fs);
	objstore_free(s);
	free(data);
}
END_TEST

START_TEST(test_s3_retries_and_errors)
{
	static const char slow[] = "<Error><Code>SlowDown</Code><Message>Reduce your request "
				   "rate.</Message></Error>";
	static const struct fake_resp flaky[] = { { 503, slow }, { 0, "" }, { 500, "" },
						  { 200, "" } };
	static const struct fake_resp denied[] = {
		{ 403, "<Error><Code>AccessDenied</Code><Message>Access &amp; denied</Message>"
		       "</Error>" } };
	static const struct fake_resp missing[] = {
		{ 404, "<Error><Code>NoSuchKey</Code><Message>nope</Message></Error>" } };
	static const struct fake_resp busy[] = { { 503, slow } };
	static const struct fake_resp timeout400[] = {
		{ 400, "<Error><Code>RequestTimeout</Code></Error>" }, { 200, "abc" } };
	static const struct fake_resp bad400[] = {
		{ 400, "<Error><Code>InvalidArgument</Code></Error>" } };
	struct fake_server fs;
	struct objstore *s;
	void *buf = NULL;
	size_t len = 0;

	set_s3rver_creds();
	/* 503, dropped connection, 500, then 200: recovers within 4 retries */
	fake_start(&fs, flaky, 4, 0);
	s = open_fake_store(&fs, "s3://bkt", 4, NULL);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_int_eq(fake_requests(&fs), 4);
	fake_stop(&fs);
	objstore_free(s);

	/* 403: -EACCES at once, with S3's code and message */
	fake_start(&fs, denied, 1, 0);
	s = open_fake_store(&fs, "s3://bkt", 4, NULL);
	ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), -EACCES);
	ck_assert_int_eq(fake_requests(&fs), 1);
	ck_assert_ptr_nonnull(strstr(terr, "HTTP 403 AccessDenied: Access & denied"));
	ck_assert_ptr_nonnull(strstr(terr, "GET s3://bkt/k"));
	fake_stop(&fs);
	objstore_free(s);

	/* GET 404: -ENOENT at once; DELETE 404: 0 */
	fake_start(&fs, missing, 1, 0);
	s = open_fake_store(&fs, "s3://bkt", 4, NULL);
	ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), -ENOENT);
	ck_assert_int_eq(fake_requests(&fs), 1);
	ck_assert_int_eq(objstore_del(s, "k", TERR), 0);
	ck_assert_int_eq(fake_requests(&fs), 2);
	fake_stop(&fs);
	objstore_free(s);

	/* 503 forever: -EIO after 1 + 2 attempts, naming SlowDown */
	fake_start(&fs, busy, 1, 0);
	s = open_fake_store(&fs, "s3://bkt", 2, NULL);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), -EIO);
	ck_assert_int_eq(fake_requests(&fs), 3);
	ck_assert_ptr_nonnull(strstr(terr, "HTTP 503 SlowDown"));
	fake_stop(&fs);
	objstore_free(s);

	/* retries < 0: no retry at all */
	fake_start(&fs, busy, 1, 0);
	s = open_fake_store(&fs, "s3://bkt", -1, NULL);
	ck_assert_int_eq(objstore_del(s, "k", TERR), -EIO);
	ck_assert_int_eq(fake_requests(&fs), 1);
	fake_stop(&fs);
	objstore_free(s);

	/* 400 RequestTimeout is retried; other 400s are not */
	fake_start(&fs, timeout400, 2, 0);
	s = open_fake_store(&fs, "s3://bkt", 2, NULL);
	ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert(!memcmp(buf, "abc", 3));
	free(buf);
	fake_stop(&fs);
	objstore_free(s);
	fake_start(&fs, bad400, 1, 0);
	s = open_fake_store(&fs, "s3://bkt", 2, NULL);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), -EIO);
	ck_assert_int_eq(fake_requests(&fs), 1);
	ck_assert_ptr_nonnull(strstr(terr, "InvalidArgument"));
	fake_stop(&fs);
	objstore_free(s);
}
END_TEST

START_TEST(test_s3_list_parsing)
{
	static const struct fake_resp pages[] = {
		{ 200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
		       "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name>"
		       "<Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
		       "<IsTruncated>true</IsTruncated><Contents><Key>p/a&amp;b&lt;c&gt;</Key>"
		       "<LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;x&quot;"
		       "</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>"
		       "<Contents><Key>p/q&#39;&#x E9;</Key><Size>0</Size></Contents>"
		       "<NextContinuationToken>tok/+=1</NextContinuationToken>"
		       "</ListBucketResult>" },
		{ 200, "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/big"
		       "</Key><Size>8589934592</Size></Contents></ListBucketResult>" },
	};
	static const struct fake_resp cut[] = {
		{ 200, "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/whole"
		       "</Key><Size>1</Size></Contents><Contents><Key>p/cut</Key><Size>1" },
	};
	struct fake_server fs;
	struct objstore *s;
	struct seen sn = { 0 };

	set_s3rver_creds();
	fake_start(&fs, pages, 2, 0);
	s = open_fake_store(&fs, "s3://bkt/p", 0, NULL);
	/* "&#x E9;" is malformed: the page fails rather than reporting a wrong key */
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), -EIO);
	ck_assert_int_eq(sn.n, 1);
	ck_assert_str_eq(sn.keys[0], "a&b<c>");
	ck_assert_uint_eq(sn.sizes[0], 12);
	ck_assert_msg(strstr(terr, "LIST s3://bkt/p: malformed answer: "), "%s", terr);
	seen_free(&sn);
	fake_stop(&fs);
	objstore_free(s);

	/* a page cut short is not well-formed XML: it fails, its open <Contents> unreported */
	fake_start(&fs, cut, 1, 0);
	s = open_fake_store(&fs, "s3://bkt/p", 0, NULL);
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), -EIO);
	ck_assert_int_eq(sn.n, 1);
	ck_assert_str_eq(sn.keys[0], "whole");
	ck_assert_msg(strstr(terr, "malformed answer: ") && strstr(terr, "at line 1"), "%s",
		      terr);
	seen_free(&sn);
	fake_stop(&fs);
	objstore_free(s);
}
END_TEST

START_TEST(test_s3_list_pages)
{
	static const struct fake_resp pages[] = {
		{ 200, "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>p/a&amp;b"
		       "</Key><Size>12</Size></Contents><Contents><Key>p/q&#39;&#xE9;&#233;</Key>"
		       "<Size>0</Size></Contents><NextContinuationToken>tok/+=1"
		       "</NextContinuationToken></ListBucketResult>" },
		{ 200, "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/big"
		       "</Key><Size>8589934592</Size></Contents></ListBucketResult>" },
	};
	struct fake_server fs;
	struct objstore *s;
	struct seen sn = { 0 };

	set_s3rver_creds();
	fake_start(&fs, pages, 2, 0);
	s = open_fake_store(&fs, "s3://bkt/p", 0, NULL);
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(fake_requests(&fs), 2);
	ck_assert_int_eq(sn.n, 3);
	ck_assert_str_eq(sn.keys[0], "a&b");
	ck_assert_str_eq(sn.keys[1], "q'\xc3\xa9\xc3\xa9");
	ck_assert_str_eq(sn.keys[2], "big");
	ck_assert_uint_eq(sn.sizes[2], 8589934592ull);
	/* the second request carries the token, encoded */
	ck_assert_ptr_nonnull(strstr(fs.heads[1], "continuation-token=tok%2F%2B%3D1&"));
	ck_assert_ptr_null(strstr(fs.heads[0], "continuation-token"));
	seen_free(&sn);
	fake_stop(&fs);
	objstore_free(s);
}
END_TEST

START_TEST(test_s3_recovery)
{
	static const struct fake_resp ok[] = { { 200, "" } };
	struct fake_server fs;
	struct objstore *s;
	struct timespec t0, t1;
	int port;

	set_s3rver_creds();
	fake_start(&fs, ok, 1, 0);
	s = open_fake_store(&fs, "s3://bkt", 2, NULL);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	port = fs.port;
	fake_stop(&fs);
	/* the server is gone: bounded retries, then -EIO naming the connect failure */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), -EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
	ck_assert_ptr_nonnull(strstr(terr, "after 3 attempts"));
	/* back on the same port: the same store works again */
	fake_start(&fs, ok, 1, port);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_str_eq(terr, "");
	fake_stop(&fs);
	objstore_free(s);
}
END_TEST

START_TEST(test_s3_credentials)
{
	static const struct fake_resp ok[] = { { 200, "" } };
	struct objstore_conf conf = { .path_style = true, .endpoint = "http://127.0.0.1:9",
				      .retries = -1 };
	char file[4300], ep[64];
	struct fake_server fs;
	struct objstore *s = NULL;
	FILE *f;

	make_tmpdir();
	snprintf(file, sizeof(file), "%s/credentials", tmpdir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "# comment\n[default]\naws_access_key_id = DEFKEY\naws_secret_access_key=DEFSECRET\n"
		   "\n[other]\n  aws_access_key_id=OTHERKEY \naws_secret_access_key = OTHERSECRET\n"
		   "aws_session_token = OTHERTOKEN\n[half]\naws_access_key_id = HALF\n");
	fclose(f);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);

	/* nothing anywhere: -EINVAL with a message */
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(terr, "credentials"));
	/* the keys named are the configuration's own */
	ck_assert_msg(strstr(terr, "s3_access_key_id and s3_secret_access_key "
			     "in the configuration"), "%s", terr);
	ck_assert_ptr_null(s);

	fake_start(&fs, ok, 1, 0);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", fs.port);
	conf.endpoint = ep;
	/* configuration keys are the last resort */
	conf.access_key = "CONFKEY";
	conf.secret_key = "CONFSECRET";
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_ptr_nonnull(strstr(fs.heads[0], "Credential=CONFKEY/"));
	verify_signed_request(fs.heads[0], fs.bodies[0], fs.body_lens[0], "CONFSECRET",
			      "us-east-1");
	objstore_free(s);
	/* the shared file's [default] beats them; an incomplete profile does not count */
	setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_ptr_nonnull(strstr(fs.heads[1], "Credential=DEFKEY/"));
	verify_signed_request(fs.heads[1], fs.bodies[1], fs.body_lens[1], "DEFSECRET",
			      "us-east-1");
	objstore_free(s);
	/* $AWS_PROFILE, with a session token */
	setenv("AWS_PROFILE", "other", 1);
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_ptr_nonnull(strstr(fs.heads[2], "Credential=OTHERKEY/"));
	ck_assert_ptr_nonnull(strstr(fs.heads[2], "\r\nx-amz-security-token: OTHERTOKEN\r\n"));
	verify_signed_request(fs.heads[2], fs.bodies[2], fs.body_lens[2], "OTHERSECRET",
			      "us-east-1");
	objstore_free(s);
	/* conf->profile beats $AWS_PROFILE; an incomplete one falls through to conf keys */
	conf.profile = "half";
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_ptr_nonnull(strstr(fs.heads[3], "Credential=CONFKEY/"));
	objstore_free(s);
	/* the environment beats everything */
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_ptr_nonnull(strstr(fs.heads[4], "Credential=ENVKEY/"));
	ck_assert_ptr_null(strstr(fs.heads[4], "x-amz-security-token"));
	verify_signed_request(fs.heads[4], fs.bodies[4], fs.body_lens[4], "ENVSECRET",
			      "us-east-1");
	objstore_free(s);
	/* the file as common/ini reads it leniently: values as written between white
	 * space ('#' and ';' kept), a key set twice keeps the last, a profile's
	 * sections add up, "[profile default]" is another profile, lines that are
	 * no "key = value" are skipped */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	conf.profile = NULL;
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[default]\naws_access_key_id = OLD\njunk line\n[profile default]\n"
		   "aws_access_key_id = NOPE\n[ default ]\naws_access_key_id\t=\tK#1 \r\n"
		   "aws_secret_access_key = S ;c\n");
	fclose(f);
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	ck_assert_ptr_nonnull(strstr(fs.heads[5], "Credential=K#1/"));
	verify_signed_request(fs.heads[5], fs.bodies[5], fs.body_lens[5], "S ;c", "us-east-1");
	objstore_free(s);
	fake_stop(&fs);
	rm_tmpdir();
}
END_TEST

/* ---- a real S3 emulator (s3rver) ---- */

static bool s3rver_env(const char **ret_ep, const char **ret_bucket)
{
	const char *ep = getenv("EFSFS_S3_ENDPOINT"), *bucket = getenv("EFSFS_S3_BUCKET");
	const char *opt = getenv("EFSFS_S3_OPTIONAL");

	if (ep && ep[0] && bucket && bucket[0]) {
		*ret_ep = ep;
		*ret_bucket = bucket;
		set_s3rver_creds();
		return true;
	}
	if (opt && !strcmp(opt, "1")) {
		fprintf(stderr, "test_objstore: EFSFS_S3_ENDPOINT/EFSFS_S3_BUCKET unset and "
			"EFSFS_S3_OPTIONAL=1: s3rver checks NOT run\n");
		return false;
	}
	ck_abort_msg("EFSFS_S3_ENDPOINT and EFSFS_S3_BUCKET are not set: start an S3 server "
		     "(tests/lib/s3rver.sh start DIR PORT) and export them, or set "
		     "EFSFS_S3_OPTIONAL=1 to leave the s3rver checks out");
	return false;
}

static struct objstore *open_s3rver(const char *ep, const char *url, bool path_style,
				    const char *storage_class)
{
	struct objstore_conf conf = { .endpoint = ep, .path_style = path_style, .retries = 2,
				      .backoff_ms = 20, .storage_class = storage_class };
	struct objstore *s = NULL;

	ck_assert_msg(objstore_open(url, &conf, &s, TERR) == 0, "open %s: %s", url,
		      terr);
	return s;
}

START_TEST(test_s3rver_roundtrip)
{
	static const char *keys[] = { "plain", "dir/sub/key", "sp ace+plus=eq&amp", "lt<gt>q\"'",
				      "pct%20lit~tilde", "utf8-\xc3\xa9\xe2\x82\xac", "a/b/c/d/e" };
	const char *ep, *bucket;
	struct objstore *s;
	struct seen sn = { 0 };
	char url[512], prefix_url[512], val[64];
	void *buf = (void *)0x1;
	size_t len = 7;
	long run = (long)time(NULL) ^ (long)getpid();

	if (!s3rver_env(&ep, &bucket))
		return;
	snprintf(url, sizeof(url), "s3://%s/run-%ld", bucket, run);
	s = open_s3rver(ep, url, true, "STANDARD_IA");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(val, sizeof(val), "value of %zu", i);
		ck_assert_msg(objstore_put(s, keys[i], val, strlen(val), TERR) == 0, "put %s: %s",
			      keys[i], terr);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(val, sizeof(val), "value of %zu", i);
		check_get(s, keys[i], val, strlen(val));
	}
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, (int)(sizeof(keys) / sizeof(keys[0])));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int j = seen_find(&sn, keys[i]);

		ck_assert_msg(j >= 0, "%s not listed", keys[i]);
		snprintf(val, sizeof(val), "value of %zu", i);
		ck_assert_uint_eq(sn.sizes[j], strlen(val));
	}
	seen_free(&sn);
	ck_assert_int_eq(objstore_list(s, "dir/", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 1);
	ck_assert_str_eq(sn.keys[0], "dir/sub/key");
	seen_free(&sn);

	/* missing key */
	ck_assert_int_eq(objstore_get(s, "no/such/key", &buf, &len, TERR), -ENOENT);
	ck_assert_ptr_eq(buf, (void *)0x1);
	ck_assert_uint_eq(len, 7);
	ck_assert_ptr_nonnull(strstr(terr, "404"));
	/* delete, idempotent */
	ck_assert_int_eq(objstore_del(s, "plain", TERR), 0);
	ck_assert_int_eq(objstore_get(s, "plain", &buf, &len, TERR), -ENOENT);
	ck_assert_int_eq(objstore_del(s, "plain", TERR), 0);
	ck_assert_int_eq(objstore_del(s, "never/was", TERR), 0);

	/* the prefix is a plain key prefix: a store without it sees it */
	snprintf(prefix_url, sizeof(prefix_url), "s3://%s", bucket);
	{
		struct objstore *root = open_s3rver(ep, prefix_url, true, NULL);
		char want[128];

		snprintf(want, sizeof(want), "run-%ld/dir/sub/key", run);
		ck_assert_int_eq(objstore_list(root, want, seen_cb, &sn, TERR), 0);
		ck_assert_int_eq(sn.n, 1);
		ck_assert_str_eq(sn.keys[0], want);
		seen_free(&sn);
		objstore_free(root);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_int_eq(objstore_del(s, keys[i], TERR), 0);
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), 0);
	ck_assert_int_eq(sn.n, 0);
	objstore_free(s);

	/* a storage class the server refuses: -EIO at once, with S3's code */
	s = open_s3rver(ep, url, true, "NO_SUCH_CLASS");
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), -EIO);
	ck_assert_ptr_nonnull(strstr(terr, "InvalidStorageClass"));
	objstore_free(s);
}
END_TEST

START_TEST(test_s3rver_pages_and_large)
{
	const char *ep, *bucket;
	struct objstore *s;
	struct seen sn = { 0 };
	char url[512], key[64];
	size_t big = 8u << 20;
	char *data = malloc(big);
	void *buf = NULL;
	size_t len = 0;
	long run = (long)time(NULL) ^ (long)getpid();

	ck_assert_ptr_nonnull(data);
	if (!s3rver_env(&ep, &bucket)) {
		free(data);
		return;
	}
	snprintf(url, sizeof(url), "s3://%s/pages-%ld", bucket, run);
	s = open_s3rver(ep, url, true, NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		ck_assert_int_eq(objstore_put(s, key, key, (size_t)i, TERR), 0);
	}
	/* 10 keys in pages of 3: four requests, every key once */
	ck_assert_int_eq(objstore_s3_set_page_size(s, 3), 0);
	ck_assert_msg(objstore_list(s, "", seen_cb, &sn, TERR) == 0, "%s", terr);
	ck_assert_int_eq(sn.n, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		ck_assert_int_eq(sn.sizes[seen_find(&sn, key)], i);
	}
	seen_free(&sn);
	/* the callback can stop in the middle of a page */
	sn.stop_after = 4;
	ck_assert_int_eq(objstore_list(s, "k0", seen_cb, &sn, TERR), 7);
	ck_assert_int_eq(sn.n, 4);
	seen_free(&sn);

	fill(data, big, 77);
	ck_assert_msg(objstore_put(s, "large", data, big, TERR) == 0, "%s", terr);
	ck_assert_int_eq(objstore_get(s, "large", &buf, &len, TERR), 0);
	ck_assert_uint_eq(len, big);
	ck_assert(memcmp(buf, data, big) == 0);
	free(buf);
	ck_assert_int_eq(objstore_del(s, "large", TERR), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		ck_assert_int_eq(objstore_del(s, key, TERR), 0);
	}
	objstore_free(s);
	free(data);
}
END_TEST

START_TEST(test_s3rver_virtual_host)
{
	const char *ep, *bucket, *port;
	struct objstore *s;
	char url[512], vep[256];
	long run = (long)time(NULL) ^ (long)getpid();

	if (!s3rver_env(&ep, &bucket))
		return;
	/* s3rver serves Host "BUCKET.s3.localhost" when started with --service-endpoint
	 * localhost (tests/lib/s3rver.sh does); curl resolves *.localhost to loopback */
	port = strrchr(ep, ':');
	ck_assert_msg(!strncmp(ep, "http://127.0.0.1:", 17) && port,
		      "virtual-host check needs EFSFS_S3_ENDPOINT=http://127.0.0.1:PORT");
	snprintf(vep, sizeof(vep), "http://s3.localhost%s", port);
	snprintf(url, sizeof(url), "s3://%s/vhost-%ld", bucket, run);
	{
		struct objstore_conf conf = { .endpoint = vep, .path_style = false,
					      .retries = 1, .backoff_ms = 20 };

		ck_assert_msg(objstore_open(url, &conf, &s, TERR) == 0, "%s", terr);
	}
	ck_assert_msg(objstore_put(s, "a b", "vh", 2, TERR) == 0, "%s", terr);
	check_get(s, "a b", "vh", 2);
	objstore_free(s);
	/* the same object through path style */
	s = open_s3rver(ep, url, true, NULL);
	check_get(s, "a b", "vh", 2);
	ck_assert_int_eq(objstore_del(s, "a b", TERR), 0);
	objstore_free(s);
}
END_TEST

START_TEST(test_s3_unreachable)
{
	struct objstore_conf conf = { .path_style = true, .retries = 3, .backoff_ms = 50,
				      .connect_timeout_ms = 1000, .request_timeout_ms = 2000 };
	struct timespec t0, t1;
	struct objstore *s = NULL;
	char ep[64];
	void *buf;
	size_t len;
	double secs;
	int fd = listen_on(0), port = port_of(fd);

	close(fd);      /* now a closed port on 127.0.0.1 */
	set_s3rver_creds();
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
	conf.endpoint = ep;
	ck_assert_int_eq(objstore_open("s3://bkt", &conf, &s, TERR), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), -EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* 3 backoffs of 50, 100, 200 ms: at least 0.35 s, and bounded */
	ck_assert_msg(secs >= 0.34 && secs < 5, "took %.2f s", secs);
	ck_assert_ptr_nonnull(strstr(terr, "after 4 attempts"));
	ck_assert_ptr_nonnull(strstr(terr, ep));
	objstore_free(s);
}
END_TEST

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static struct objstore *open_conf_store(struct fake_server *fs, struct objstore_conf *conf)
{
	struct objstore *s = NULL;
	char ep[64];

	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", fs->port);
	conf->endpoint = ep;
	conf->path_style = true;
	ck_assert_msg(objstore_open("s3://bkt", conf, &s, TERR) == 0, "open: %s", terr);
	conf->endpoint = NULL;
	return s;
}

START_TEST(test_s3_stalled)
{
	static const struct fake_resp stall[] = { { FAKE_STALL, "" } };
	struct fake_server fs;
	struct objstore *s;
	struct timespec t0;
	void *buf;
	size_t len;
	double secs;
	char ep[64];

	set_s3rver_creds();
	fake_start(&fs, stall, 1, 0);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", fs.port);

	/* the low-speed limit: no byte for 1 s ends an attempt long before its 20 s */
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = -1,
		.request_timeout_ms = 20000, .operation_timeout_ms = 20000,
		.low_speed_bytes = 1024, .low_speed_time_s = 1 });
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), -EIO);
	secs = secs_since(&t0);
	ck_assert_msg(secs >= 0.9 && secs < 4, "took %.2f s: %s", secs, terr);
	ck_assert_msg(strstr(terr, "too slow"), "%s", terr);
	ck_assert_ptr_nonnull(strstr(terr, ep));
	objstore_free(s);

	/* the operation timeout bounds every attempt and the backoff together: without it,
	 * 5 attempts of 1 s and the backoff would take over 5 s */
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = 4, .backoff_ms = 50,
		.request_timeout_ms = 1000, .operation_timeout_ms = 1500, .low_speed_bytes = -1 });
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), -EIO);
	secs = secs_since(&t0);
	ck_assert_msg(secs >= 1.4 && secs < 3, "took %.2f s: %s", secs, terr);
	ck_assert_msg(strstr(terr, "after 2 attempts; gave up after"),
		      "%s", terr);
	ck_assert_ptr_nonnull(strstr(terr, "operation timeout 1.5 s"));
	ck_assert_ptr_nonnull(strstr(terr, ep));
	objstore_free(s);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_s3_hostile_answers)
{
	static const struct fake_resp huge[] = { { FAKE_HUGE_LENGTH, "" } };
	static const struct fake_resp chunked[] = { { FAKE_CHUNKED_FOREVER, "" } };
	static const struct fake_resp same_token[] = {
		{ 200, "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key>"
		       "<Size>1</Size></Contents><NextContinuationToken>again"
		       "</NextContinuationToken></ListBucketResult>" } };
	static const struct fake_resp new_tokens[] = {
		{ 200, "<ListBucketResult><IsTruncated>true</IsTruncated>"
		       "<NextContinuationToken>t1</NextContinuationToken></ListBucketResult>" },
		{ 200, "<ListBucketResult><IsTruncated>true</IsTruncated>"
		       "<NextContinuationToken>t2</NextContinuationToken></ListBucketResult>" },
		{ 200, "<ListBucketResult><IsTruncated>true</IsTruncated>"
		       "<NextContinuationToken>t3</NextContinuationToken></ListBucketResult>" },
		{ 200, "<ListBucketResult><IsTruncated>true</IsTruncated>"
		       "<NextContinuationToken>t4</NextContinuationToken></ListBucketResult>" },
	};
	struct fake_server fs;
	struct objstore *s;
	struct seen sn = { 0 };
	struct timespec t0;
	void *buf = (void *)0x1;
	size_t len = 7;
	double secs;

	set_s3rver_creds();
	/* Content-Length of 1 GiB: refused before the body comes */
	fake_start(&fs, huge, 1, 0);
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = 2, .backoff_ms = 5,
		.max_object_bytes = 1u << 20 });
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), -EIO);
	secs = secs_since(&t0);
	ck_assert_ptr_eq(buf, (void *)0x1);
	ck_assert_msg(strstr(terr, "the answer is longer than 1048576 bytes"),
		      "%s", terr);
	ck_assert_int_eq(fake_requests(&fs), 1);      /* not retried */
	ck_assert_msg(secs < 5, "took %.2f s", secs);
	objstore_free(s);
	fake_stop(&fs);

	/* chunked, no length, never ending: stopped at the bound */
	fake_start(&fs, chunked, 1, 0);
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = 2, .backoff_ms = 5,
		.max_object_bytes = 1u << 20 });
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(objstore_get(s, "k", &buf, &len, TERR), -EIO);
	secs = secs_since(&t0);
	ck_assert_ptr_eq(buf, (void *)0x1);
	ck_assert_msg(strstr(terr, "the answer is longer than 1048576 bytes"),
		      "%s", terr);
	ck_assert_int_eq(fake_requests(&fs), 1);
	ck_assert_msg(secs < 5, "took %.2f s", secs);
	/* a list page too (bound 16 MiB) */
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), -EIO);
	ck_assert_msg(strstr(terr, "the answer is longer than 16777216 bytes"),
		      "%s", terr);
	objstore_free(s);
	fake_stop(&fs);

	/* "truncated" with the same token again: fails on the second page */
	fake_start(&fs, same_token, 1, 0);
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = -1 });
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), -EIO);
	ck_assert_int_eq(fake_requests(&fs), 2);
	ck_assert_msg(strstr(terr, "with the same token again"), "%s",
		      terr);
	seen_free(&sn);
	objstore_free(s);
	fake_stop(&fs);

	/* ever new tokens: the page limit ends it */
	fake_start(&fs, new_tokens, 4, 0);
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = -1 });
	ck_assert_int_eq(objstore_s3_set_max_pages(s, 3), 0);
	ck_assert_int_eq(objstore_list(s, "", seen_cb, &sn, TERR), -EIO);
	ck_assert_int_eq(fake_requests(&fs), 3);
	ck_assert_msg(strstr(terr, "more than 3 pages"), "%s",
		      terr);
	objstore_free(s);
	fake_stop(&fs);
}
END_TEST

/* A ranged GET sends its Range; a server that answers the whole object for a part
 * (200 instead of 206), or more than was asked, is refused. */
START_TEST(test_s3_range_answers)
{
	static const struct fake_resp whole[] = { { 200, "0123456789" } };
	static const struct fake_resp longer[] = { { 206, "0123456789" } };
	static const struct fake_resp part[] = { { 206, "5678" } };
	struct fake_server fs;
	struct objstore *s;
	void *buf = (void *)0x1;
	size_t len = 7, hl;
	const char *h;

	set_s3rver_creds();
	fake_start(&fs, part, 1, 0);
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = -1 });
	ck_assert_int_eq(objstore_get_range(s, "k", 5, 4, &buf, &len, TERR), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(buf, "5678", 4);
	free(buf);
	buf = (void *)0x1;
	pthread_mutex_lock(&fs.lock);
	h = find_header(fs.heads[0], "range", &hl);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq((int)hl, 9);
	ck_assert_mem_eq(h, "bytes=5-8", 9);
	pthread_mutex_unlock(&fs.lock);
	objstore_free(s);
	fake_stop(&fs);

	fake_start(&fs, whole, 1, 0);
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = -1 });
	ck_assert_int_eq(objstore_get_range(s, "k", 5, 40, &buf, &len, TERR), -EIO);
	ck_assert_msg(strstr(terr, "ignored the range"), "%s", terr);
	ck_assert_ptr_eq(buf, (void *)0x1);
	objstore_free(s);
	fake_stop(&fs);

	fake_start(&fs, longer, 1, 0);
	s = open_conf_store(&fs, &(struct objstore_conf){ .retries = -1 });
	ck_assert_int_eq(objstore_get_range(s, "k", 5, 4, &buf, &len, TERR), -EIO);
	ck_assert_msg(strstr(terr, "the answer is longer than 4 bytes"), "%s", terr);
	ck_assert_ptr_eq(buf, (void *)0x1);
	objstore_free(s);
	fake_stop(&fs);
}
END_TEST

START_TEST(test_s3rver_ranges)
{
	const char *ep, *bucket;
	struct objstore *s;
	char url[512];

	if (!s3rver_env(&ep, &bucket))
		return;
	snprintf(url, sizeof(url), "s3://%s/ranges-%ld", bucket, (long)time(NULL) ^ (long)getpid());
	s = open_s3rver(ep, url, true, NULL);
	check_ranges(s, "obj/ranged", true);
	objstore_free(s);
}
END_TEST

START_TEST(test_s3rver_check_and_create)
{
	const char *ep, *bucket;
	struct objstore *s;
	struct objstore_conf conf = { .path_style = true, .retries = 1, .backoff_ms = 20,
				      .region = "eu-west-3" };
	char url[256], missing[64], want[256];
	long run = (long)time(NULL) ^ (long)getpid();

	if (!s3rver_env(&ep, &bucket))
		return;
	conf.endpoint = ep;
	/* the bucket is there and takes STANDARD_IA */
	snprintf(url, sizeof(url), "s3://%s/check-%ld", bucket, run);
	conf.storage_class = "STANDARD_IA";
	ck_assert_int_eq(objstore_open(url, &conf, &s, TERR), 0);
	ck_assert_msg(objstore_check(s, TERR) == 0, "%s", terr);
	ck_assert_int_eq(objstore_create(s, TERR), 0);        /* ours already */
	objstore_free(s);
	/* s3rver refuses GLACIER_IR, as MinIO does */
	conf.storage_class = "GLACIER_IR";
	ck_assert_int_eq(objstore_open(url, &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_check(s, TERR), -EINVAL);
	ck_assert_msg(strstr(terr, "does not accept storage class GLACIER_IR"),
		      "%s", terr);
	objstore_free(s);
	/* a bucket that does not exist, until created */
	conf.storage_class = NULL;
	snprintf(missing, sizeof(missing), "efsfs-missing-%lx", (unsigned long)run & 0xffffff);
	snprintf(url, sizeof(url), "s3://%s/p", missing);
	ck_assert_int_eq(objstore_open(url, &conf, &s, TERR), 0);
	ck_assert_int_eq(objstore_check(s, TERR), -ENOENT);
	snprintf(want, sizeof(want), "bucket \"%s\" does not exist at %s", missing, ep);
	ck_assert_msg(strstr(terr, want), "%s", terr);
	ck_assert_msg(objstore_create(s, TERR) == 0, "%s", terr);
	ck_assert_msg(objstore_check(s, TERR) == 0, "%s", terr);
	ck_assert_int_eq(objstore_put(s, "k", "v", 1, TERR), 0);
	check_get(s, "k", "v", 1);
	ck_assert_int_eq(objstore_del(s, "k", TERR), 0);
	objstore_free(s);
}
END_TEST

static Suite *objstore_suite(void)
{
	Suite *s = suite_create("objstore");
	TCase *tc = tcase_create("file");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_file_roundtrip);
	tcase_add_test(tc, test_file_ranges);
	tcase_add_test(tc, test_file_delete);
	tcase_add_test(tc, test_file_list);
	tcase_add_test(tc, test_file_bad_keys);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_fault_injection);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("s3-scripted");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_s3_signed_as_sent);
	tcase_add_test(tc, test_s3_retries_and_errors);
	tcase_add_test(tc, test_s3_list_parsing);
	tcase_add_test(tc, test_s3_list_pages);
	tcase_add_test(tc, test_s3_recovery);
	tcase_add_test(tc, test_s3_credentials);
	tcase_add_test(tc, test_s3_unreachable);
	tcase_add_test(tc, test_s3_stalled);
	tcase_add_test(tc, test_s3_hostile_answers);
	tcase_add_test(tc, test_s3_range_answers);
	suite_add_tcase(s, tc);

	tc = tcase_create("s3rver");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_s3rver_roundtrip);
	tcase_add_test(tc, test_s3rver_pages_and_large);
	tcase_add_test(tc, test_s3rver_virtual_host);
	tcase_add_test(tc, test_s3rver_check_and_create);
	tcase_add_test(tc, test_s3rver_ranges);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(objstore_suite);
