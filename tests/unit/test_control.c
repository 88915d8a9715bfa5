/* tests/unit/test_control.c - unit tests of the client half of
 * daemon/control.c: --as-of dates (forms, garbage, numbers past time_t and
 * 64-bit overflow) and the request line control_client() builds, checked
 * against a real listening socket that reads it; and of daemon/apcmd.c:
 * the AWS CLI's shorthand and JSON option values of `access-point create`,
 * their errors, and the request that carries them to the daemon. */
#include "tests/unit/testdir.h"
#include "daemon/apcmd.h"
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

/* ---- access-point create's options (daemon/apcmd.c) ---- */

static struct fs_access_point ap, back;

static void ap_reset(void)
{
	memset(&ap, 0, sizeof(ap));
	snprintf(ap.path, sizeof(ap.path), "/");
}

static void opt_ok(const char *opt, const char *value)
{
	char err[1024] = "";

	ck_assert_msg(apcmd_parse_option(opt, value, &ap, err, sizeof(err)) == 0,
		      "--%s %s: %s", opt, value, err);
}

static void opt_fails(const char *opt, const char *value, const char *want)
{
	char err[1024] = "";

	ck_assert_msg(apcmd_parse_option(opt, value, &ap, err, sizeof(err)) == -EINVAL,
		      "--%s %s accepted", opt, value);
	ck_assert_msg(strstr(err, want), "--%s %s: '%s' lacks '%s'", opt, value, err, want);
}

/* The AWS CLI's shorthand: lists after a key, [a,b], nested {...}, quotes. */
START_TEST(test_ap_shorthand)
{
	ap_reset();
	opt_ok("posix-user", "Uid=1000,Gid=1001,SecondaryGids=1002,1003,4294967295");
	ck_assert_uint_eq(ap.user.uid, 1000);
	ck_assert_uint_eq(ap.user.gid, 1001);
	ck_assert_uint_eq(ap.user.ngroups, 3);
	ck_assert_uint_eq(ap.user.groups[2], 4294967295u);
	opt_ok("posix-user", "SecondaryGids=[7,8],Gid=0,Uid=0");
	ck_assert_uint_eq(ap.user.uid, 0);
	ck_assert_uint_eq(ap.user.ngroups, 2);
	ck_assert_uint_eq(ap.user.groups[1], 8);
	opt_ok("posix-user", "Uid=1,Gid=2,SecondaryGids=9");
	ck_assert_uint_eq(ap.user.ngroups, 1);
	opt_ok("root-directory", "Path=/apps/web,CreationInfo={OwnerUid=1000,OwnerGid=1000,"
	       "Permissions=0755}");
	ck_assert_str_eq(ap.path, "/apps/web");
	ck_assert(ap.has_creation);
	ck_assert_uint_eq(ap.owner_uid, 1000);
	ck_assert_uint_eq(ap.permissions, 0755);
	ap_reset();
	opt_ok("root-directory", "CreationInfo={Permissions=750,OwnerGid=5,OwnerUid=4},Path=\"/a,b\"");
	ck_assert_str_eq(ap.path, "/a,b");
	ck_assert_uint_eq(ap.permissions, 0750);
	ap_reset();
	opt_ok("root-directory", "Path=/only");
	ck_assert(!ap.has_creation);
	opt_ok("tags", "Key=Name,Value=web");
	opt_ok("tags", "Key=env,Value=");
	opt_ok("tags", "[{Key=a,Value=1},{Key=b,Value=2}]");
	ck_assert_uint_eq(ap.ntags, 4);
	ck_assert_str_eq(ap.tags[0].value, "web");
	ck_assert_str_eq(ap.tags[1].value, "");
	ck_assert_str_eq(ap.tags[3].key, "b");
}
END_TEST

/* The JSON forms, as in the AWS docs. */
START_TEST(test_ap_json)
{
	ap_reset();
	opt_ok("posix-user", "{\"Uid\": 1000, \"Gid\": 1000, \"SecondaryGids\": [1, 2]}");
	ck_assert_uint_eq(ap.user.ngroups, 2);
	opt_ok("root-directory", "{\"Path\":\"/x\",\"CreationInfo\":{\"OwnerUid\":1,"
	       "\"OwnerGid\":2,\"Permissions\":\"0700\"}}");
	ck_assert_uint_eq(ap.permissions, 0700);
	opt_ok("root-directory", "{\"Path\":\"/x\",\"CreationInfo\":{\"OwnerUid\":1,"
	       "\"OwnerGid\":2,\"Permissions\":775}}");
	ck_assert_uint_eq(ap.permissions, 0775);
	opt_ok("tags", "[{\"Key\":\"Name\",\"Value\":\"j\"},{\"Key\":\"k\",\"Value\":\"v\"}]");
	ck_assert_uint_eq(ap.ntags, 2);
	ck_assert_str_eq(ap.tags[1].key, "k");
	opt_fails("posix-user", "{\"Uid\": 1000, \"Gid\": }", "invalid JSON");
	opt_fails("posix-user", "{\"Uid\": 1, \"Uid\": 2, \"Gid\": 3}", "invalid JSON");
	opt_fails("posix-user", "{\"Uid\": -1, \"Gid\": 3}", "PosixUser Uid -1: expected");
	opt_fails("posix-user", "{\"Uid\": 4294967296, \"Gid\": 3}", "Uid 4294967296");
	opt_fails("posix-user", "{\"Uid\": \"x\", \"Gid\": 3}", "Uid 'x'");
	opt_fails("posix-user", "[1]", "PosixUser: expected an object");
}
END_TEST

/* Malformed values: each error names the option and the field. */
START_TEST(test_ap_bad_options)
{
	char seventeen[256] = "Uid=1,Gid=1,SecondaryGids=";

	ap_reset();
	opt_fails("posix-user", "Uid=1000", "--posix-user: PosixUser: Gid is missing");
	opt_fails("posix-user", "Gid=1", "Uid is missing");
	opt_fails("posix-user", "Uid=1000,Gid=abc", "PosixUser Gid 'abc': expected a whole number "
		  "from 0 to 4294967295");
	opt_fails("posix-user", "Uid=-5,Gid=1", "Uid '-5'");
	opt_fails("posix-user", "Uid= 5,Gid=1", "Uid ' 5'");
	opt_fails("posix-user", "Uid=4294967296,Gid=1", "Uid '4294967296'");
	opt_fails("posix-user", "uid=1,Gid=1", "unknown key 'uid' (expected Uid, Gid, "
		  "SecondaryGids)");
	opt_fails("posix-user", "Uid=1,Gid=1,Uid=2", "Uid given twice");
	opt_fails("posix-user", "Uid", "expected Key=Value");
	opt_fails("posix-user", "Uid=1,Gid=1,SecondaryGids=[1,x]", "SecondaryGids[1] 'x'");
	for (int i = 0; i < 17; i++)
		snprintf(seventeen + strlen(seventeen), sizeof(seventeen) - strlen(seventeen),
			 "%s%d", i ? "," : "", i);
	opt_fails("posix-user", seventeen, "SecondaryGids: 17 given, at most 16 allowed");
	opt_fails("root-directory", "Path=/a,CreationInfo={OwnerUid=1,OwnerGid=1}",
		  "CreationInfo: Permissions is missing (CreationInfo needs all of OwnerUid, "
		  "OwnerGid and Permissions)");
	opt_fails("root-directory", "Path=/a,CreationInfo={OwnerUid=1,OwnerGid=1,Permissions=75}",
		  "Permissions '75': expected 3 or 4 octal digits");
	opt_fails("root-directory", "Path=/a,CreationInfo={OwnerUid=1,OwnerGid=1,"
		  "Permissions=07555}", "Permissions '07555'");
	opt_fails("root-directory", "Path=/a,CreationInfo={OwnerUid=1,OwnerGid=1,Permissions=0758}",
		  "Permissions '0758'");
	opt_fails("root-directory", "Path=/a,CreationInfo={OwnerUid=1,OwnerGid=1,Permissions=0755",
		  "expected , or } at character 61");
	opt_fails("root-directory", "Path=/a,Mode=1", "unknown key 'Mode'");
	opt_fails("root-directory", "Path=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "RootDirectory Path: 110 characters, at most 100");
	opt_fails("tags", "Value=x", "Tags: tag 1: Key is missing");
	opt_fails("tags", "Key=a,Value=b,Colour=c", "unknown key 'Colour'");
	opt_fails("root-directory", "Path=\"/a", "unterminated quote");
	opt_fails("tags", "Key=\xff,Value=b", "not UTF-8 text");
	opt_fails("tags", "K\xff" "ey=a", "a key that is not UTF-8 text");
	opt_fails("tags", "{\"Key\":\"\xff\"}", "invalid JSON");
}
END_TEST

/* The request the CLI sends round-trips every field, fits one control
 * line even with 50 tags of the longest keys and values that JSON escapes
 * (fs_ap_check refuses control characters, the longest escapes), and holds
 * no tab or newline (the separators of a control request). */
START_TEST(test_ap_request)
{
	char err[1024], *req;

	ap_reset();
	opt_ok("posix-user", "Uid=4294967295,Gid=0,SecondaryGids=1,2,3");
	opt_ok("root-directory", "Path=/a/b,CreationInfo={OwnerUid=7,OwnerGid=8,Permissions=2750}");
	snprintf(ap.client_token, sizeof(ap.client_token), "tok");
	for (int i = 0; i < FS_AP_TAGS_MAX; i++) {
		memset(ap.tags[i].key, 'k', FS_AP_TAG_KEY_MAX);
		snprintf(ap.tags[i].key, 8, "%07d", i);
		ap.tags[i].key[7] = 'k';
		memset(ap.tags[i].value, '"', FS_AP_TAG_VALUE_MAX);   /* \" in JSON */
	}
	ap.ntags = FS_AP_TAGS_MAX;
	req = apcmd_request(&ap);
	ck_assert_ptr_nonnull(req);
	ck_assert_msg(strlen(req) + 2 <= CONTROL_LINE_MAX, "request of %zu bytes", strlen(req));
	ck_assert_ptr_null(strpbrk(req, "\t\n"));
	ck_assert_msg(apcmd_parse_request(req, &back, err, sizeof(err)) == 0, "%s", err);
	free(req);
	ck_assert_uint_eq(back.user.uid, 4294967295u);
	ck_assert_uint_eq(back.user.ngroups, 3);
	ck_assert_str_eq(back.path, "/a/b");
	ck_assert(back.has_creation);
	ck_assert_uint_eq(back.permissions, 02750);
	ck_assert_uint_eq(back.owner_gid, 8);
	ck_assert_str_eq(back.client_token, "tok");
	ck_assert_uint_eq(back.ntags, FS_AP_TAGS_MAX);
	ck_assert_str_eq(back.tags[49].key, ap.tags[49].key);
	ck_assert_str_eq(back.tags[49].value, ap.tags[49].value);
	/* a request without a PosixUser, or with an unknown field, is refused */
	ck_assert_int_eq(apcmd_parse_request("{\"RootDirectory\":{\"Path\":\"/\"}}", &back, err,
					     sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "PosixUser is missing"), "%s", err);
	ck_assert_int_eq(apcmd_parse_request("{\"PosixUser\":{\"Uid\":1,\"Gid\":1},\"X\":1}", &back,
					     err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "unknown key 'X'"), "%s", err);
	ck_assert_int_eq(apcmd_parse_request("not json", &back, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "invalid JSON"), "%s", err);
}
END_TEST

START_TEST(test_ap_id_form)
{
	ck_assert(apcmd_id_valid("fsap-0123456789abcdef0"));
	ck_assert(!apcmd_id_valid("fsap-0123456789ABCDEF0"));
	ck_assert(!apcmd_id_valid("fsap-0123456789abcdef"));
	ck_assert(!apcmd_id_valid("fsap-0123456789abcdef01"));
	ck_assert(!apcmd_id_valid("fs-0123456789abcdef012"));
	ck_assert(!apcmd_id_valid("fsap-0123456789abcdefg"));
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
	tcase_add_test(tc, test_ap_shorthand);
	tcase_add_test(tc, test_ap_json);
	tcase_add_test(tc, test_ap_bad_options);
	tcase_add_test(tc, test_ap_request);
	tcase_add_test(tc, test_ap_id_form);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(control_suite);
