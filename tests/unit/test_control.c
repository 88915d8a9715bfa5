/* tests/unit/test_control.c - unit tests of the client half of
 * daemon/control.c: --as-of dates (forms, garbage, numbers past time_t and
 * 64-bit overflow) and the request line control_client() builds, checked
 * against a real listening socket that reads it. */
#include "tests/unit/testdir.h"
#include "daemon/control.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>


START_TEST(test_date_forms)
{
	int64_t t = 0, now = time(NULL);

	ck_assert_int_eq(control_parse_date("2027-01-01", &t), 0);
	ck_assert_int_eq(t, 1798761600);
	ck_assert_int_eq(control_parse_date("2027-01-01T12:00:00Z", &t), 0);
	ck_assert_int_eq(t, 1798761600 + 12 * 3600);
	ck_assert_int_eq(control_parse_date("@1798761600", &t), 0);
	ck_assert_int_eq(t, 1798761600);
	ck_assert_int_eq(control_parse_date("@-86400", &t), 0);
	ck_assert_int_eq(t, -86400);
	ck_assert_int_eq(control_parse_date("+31d", &t), 0);
	ck_assert(t >= now + 31 * 86400 && t <= time(NULL) + 31 * 86400);
	ck_assert_int_eq(control_parse_date("+2days", &t), 0);
	ck_assert(t >= now + 2 * 86400 && t <= time(NULL) + 2 * 86400);
	ck_assert_int_eq(control_parse_date("now", &t), 0);
	ck_assert(t >= now && t <= time(NULL));
}
END_TEST

START_TEST(test_date_bad)
{
	static const char *const bad[] = {
		"", "+", "@", "+d", "+ 3d", "+-3d", "++3d", "@ 5", "@+5", "+3", "+3w", "@5x",
		"2027-13-01", "2027-01-01T", "2027-01-01 12:00:00", "tomorrow",
	};
	int64_t t = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(control_parse_date(bad[i], &t) == -EINVAL, "'%s' accepted", bad[i]);
		ck_assert_int_eq(t, 42);
	}
}
END_TEST

/* Numbers that strtoll cannot hold, and days whose seconds overflow: -ERANGE,
 * not a signed overflow (UBSan) or a date in the past. */
START_TEST(test_date_range)
{
	static const char *const big[] = {
		"+999999999999999d", "+106751991167301d", "+9223372036854775807d",
		"+99999999999999999999999d", "@99999999999999999999999", "@-99999999999999999999999",
	};
	int64_t t = 42;

	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		ck_assert_msg(control_parse_date(big[i], &t) == -ERANGE, "'%s' not out of range",
			      big[i]);
		ck_assert_int_eq(t, 42);
	}
	/* the largest day count that still fits */
	ck_assert_int_eq(control_parse_date("+100000000d", &t), 0);
	ck_assert(t > 100000000LL * 86400);
}
END_TEST

/* A listening control socket in a data directory of its own; the thread
 * accepts one client, keeps the line it sent and answers "exit 7". */
struct fake_daemon {
	char dir[3100];
	int lfd;
	pthread_t thread;
	char got[4 * CONTROL_LINE_MAX];
	size_t got_len;
	int passed_fd;              /* an SCM_RIGHTS fd the client sent, else -1 */
};

static void *fake_main(void *arg)
{
	struct fake_daemon *d = arg;
	int fd = accept(d->lfd, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		return NULL;
	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = { d->got + d->got_len, sizeof(d->got) - 1 - d->got_len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				      .msg_controllen = sizeof(cm.buf) };

		if (d->got_len >= sizeof(d->got) - 1 || (n = recvmsg(fd, &msg, 0)) <= 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				memcpy(&d->passed_fd, CMSG_DATA(c), sizeof(int));
		d->got_len += (size_t)n;
		if (memchr(d->got, '\n', d->got_len))
			break;
	}
	d->got[d->got_len] = '\0';
	(void)!send(fd, "hello\nexit 7\n", 13, MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

static void fake_start(struct fake_daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(d, 0, sizeof(*d));
	d->passed_fd = -1;
	snprintf(d->dir, sizeof(d->dir), "%s/d-XXXXXX", test_dir);
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	ck_assert_int_eq(control_path(d->dir, sa.sun_path, sizeof(sa.sun_path)), 0);
	d->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(d->lfd, 0);
	ck_assert_int_eq(bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(d->lfd, 1), 0);
	ck_assert_int_eq(pthread_create(&d->thread, NULL, fake_main, d), 0);
}

/* Stops the fake daemon: a client that sent nothing is replaced by one that
 * connects and closes, so that accept() returns. */
static void fake_stop(struct fake_daemon *d, bool served)
{
	if (!served) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		ck_assert_int_eq(control_path(d->dir, sa.sun_path, sizeof(sa.sun_path)), 0);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	pthread_join(d->thread, NULL);
	close(d->lfd);
	testdir_remove(d->dir);
}

START_TEST(test_client_request_line)
{
	struct fake_daemon d;
	char *argv[] = { "run", "@1798761600" };
	char *out_text = NULL;
	size_t out_len = 0;
	FILE *out = open_memstream(&out_text, &out_len);

	fake_start(&d);
	ck_assert_int_eq(control_client(d.dir, 2, argv, out), 7);
	fclose(out);
	fake_stop(&d, true);
	ck_assert_str_eq(d.got, "run\t@1798761600\n");
	ck_assert_str_eq(out_text, "hello\n");
	free(out_text);
}
END_TEST

/* An attach sends its /dev/fuse fd along with the line (SCM_RIGHTS): the
 * daemon gets a descriptor of the same open file. */
START_TEST(test_client_passes_fd)
{
	struct fake_daemon d;
	char *argv[] = { "attach", "mnt=/x" }, c = 0;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fake_start(&d);
	ck_assert_int_eq(control_client_fd(d.dir, 2, argv, p[1], stdout), 7);
	fake_stop(&d, true);
	ck_assert_str_eq(d.got, "attach\tmnt=/x\n");
	ck_assert_int_ge(d.passed_fd, 0);
	ck_assert_int_ne(d.passed_fd, p[1]);
	close(p[1]);
	ck_assert_int_eq(write(d.passed_fd, "k", 1), 1);
	close(d.passed_fd);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'k');
	close(p[0]);
}
END_TEST

/* Arguments longer than the line overran the client's buffer; now nothing
 * is sent and the call says why. */
START_TEST(test_client_long_arguments)
{
	struct fake_daemon d;
	char *big = malloc(3 * CONTROL_LINE_MAX), *half = malloc(CONTROL_LINE_MAX);
	char *argv[6];

	memset(big, 'a', 3 * CONTROL_LINE_MAX - 1);
	big[3 * CONTROL_LINE_MAX - 1] = '\0';
	memset(half, 'b', CONTROL_LINE_MAX / 2);
	half[CONTROL_LINE_MAX / 2] = '\0';
	fake_start(&d);
	argv[0] = "run";
	argv[1] = big;
	ck_assert_int_eq(control_client(d.dir, 2, argv, stdout), -E2BIG);
	/* several arguments that fit alone but not together */
	for (int i = 0; i < 6; i++)
		argv[i] = half;
	ck_assert_int_eq(control_client(d.dir, 6, argv, stdout), -E2BIG);
	/* exactly the longest line that fits: CONTROL_LINE_MAX - 2 bytes before "\n" */
	memset(big, 'c', CONTROL_LINE_MAX - 2);
	big[CONTROL_LINE_MAX - 2] = '\0';
	argv[0] = big;
	ck_assert_int_eq(control_client(d.dir, 1, argv, stdout), 7);
	fake_stop(&d, true);
	ck_assert_uint_eq(d.got_len, CONTROL_LINE_MAX - 1);
	ck_assert_int_eq(d.got[CONTROL_LINE_MAX - 2], '\n');
	free(big);
	free(half);
}
END_TEST

START_TEST(test_client_separators)
{
	struct fake_daemon d;
	char *tab[] = { "run", "a\tb" }, *nl[] = { "stats\nrun" };

	fake_start(&d);
	ck_assert_int_eq(control_client(d.dir, 2, tab, stdout), -EINVAL);
	ck_assert_int_eq(control_client(d.dir, 1, nl, stdout), -EINVAL);
	fake_stop(&d, false);
	ck_assert_uint_eq(d.got_len, 0);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("client");

	tcase_add_test(tc, test_date_forms);
	tcase_add_test(tc, test_date_bad);
	tcase_add_test(tc, test_date_range);
	tcase_add_test(tc, test_client_request_line);
	tcase_add_test(tc, test_client_passes_fd);
	tcase_add_test(tc, test_client_long_arguments);
	tcase_add_test(tc, test_client_separators);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(control_suite);
