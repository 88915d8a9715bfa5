/* control.c - the control socket of a mounted file system and the
 * commands behind it: `efsfs lifecycle run|status`, `efsfs stats`, `efsfs
 * info`, `efsfs gc` and `efsfs access-point ...` (daemon/apcmd.c) reach
 * the daemon through DATA_DIR/control.sock (a UNIX socket, mode 0600,
 * bound under umask 0177 so it is never more open); when nothing is
 * mounted the CLI opens the file system itself and runs the same code
 * (control_exec) in-process.
 *
 * Who may ask: the peer's uid (SO_PEERCRED) must be root or the daemon's
 * own, the file system's owner; the file mode is not relied on.  Anyone
 * else gets one "error:" line and "exit 1".
 *
 * The stats socket (control_start_stats, with stats_group = GROUP set):
 * STATS_DIR/NAME/stats.sock, the socket 0660 and its directory 0750, both
 * of the daemon's uid (root) and GROUP, so that members of GROUP reach it
 * while the data directory stays 0700.  The same accept thread and
 * protocol; the peer must be root, the owner, or have GROUP as its gid or
 * among its user's groups (getgrouplist); it serves only "stats",
 * "stats json" and "metrics-get", so nothing there changes the file
 * system.  The CLI takes it when the control socket is out of its reach.
 *
 * Protocol: the client sends one line, the command's words separated by
 * tabs (an "attach" line carries a /dev/fuse fd as SCM_RIGHTS, which
 * daemon.c's hook takes); the server answers with the command's output and closes, the last
 * line being "exit N".  Lines "progress: TEXT" on the way (a lifecycle run
 * that takes more than PROGRESS_S seconds) go to the client's stderr.
 *
 * Threads: the accept thread checks the peer and hands each client to a
 * thread of its own (at most CONTROL_MAX_CLIENTS at a time), so a client
 * that sends nothing, or a long `lifecycle run`, holds up no other client.
 * A client socket times out after CONTROL_IO_SECS without progress.
 * control_stop shuts down every client socket and waits for the threads.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/apcmd.h"
#include "daemon/control.h"
#include "daemon/metrics.h"
#include "meter/meter.h"
#include "tier/tier.h"

#define CONTROL_MAX_CLIENTS 8
#define CONTROL_IO_SECS     10
#define CONTROL_ATTACH_SECS 60     /* the longest an attach waits for its answer */

#define PROGRESS_S 2
#define PROGRESS_TAG "progress: "

/* The thread that shows a lifecycle run's progress every PROGRESS_S seconds: to stderr
 * in the CLI's own process, as PROGRESS_TAG lines to a control client. */
/* p: written by the lifecycle run, read by the thread, atomically; name,
 * out, remote, start and thread: set before the thread starts, immutable
 * afterwards. */
struct progress_show {
	struct tier_progress p;
	const char *name;
	FILE *out;                  /* stderr, or the client's socket */
	bool remote;
	struct timespec start;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* signalled under lock */
	bool stop;                  /* written and read under lock */
	pthread_t thread;
};

static void *progress_thread(void *arg)
{
	struct progress_show *ps = arg;
	struct timespec next = ps->start, now;

	pthread_mutex_lock(&ps->lock);
	for (;;) {
		next.tv_sec += PROGRESS_S;
		while (!ps->stop && pthread_cond_timedwait(&ps->cond, &ps->lock, &next) != ETIMEDOUT)
			;
		if (ps->stop)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!atomic_load(&ps->p.counted))
			fprintf(ps->out, "%s%s: lifecycle run: looking for chunks to move (%lld s)\n",
				ps->remote ? PROGRESS_TAG : "efsfs: ", ps->name,
				(long long)(now.tv_sec - ps->start.tv_sec));
		else
			fprintf(ps->out, "%s%s: lifecycle run: %" PRIuFAST64 " of %" PRIuFAST64
				" chunks done (%lld s)\n", ps->remote ? PROGRESS_TAG : "efsfs: ",
				ps->name, atomic_load(&ps->p.done), atomic_load(&ps->p.todo),
				(long long)(now.tv_sec - ps->start.tv_sec));
		fflush(ps->out);
	}
	pthread_mutex_unlock(&ps->lock);
	return NULL;
}

/* fs, hooks, arg, lfd, path and thread: set by control_start before the
 * accept thread starts, immutable afterwards; the rest written and read
 * under lock. */
struct control {
	struct fs *fs;
	struct control_hooks hooks;
	void *arg;
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;

	pthread_mutex_t lock;
	pthread_cond_t idle;          /* signalled under lock when a client thread ends */
	int client[CONTROL_MAX_CLIENTS];   /* under lock: fds being served, -1 free */
	unsigned nclients;            /* written and read under lock */
	bool stopping;                /* written and read under lock */
	struct metrics *mx;           /* written and read under lock (control_set_metrics) */
	/* the stats socket: immutable after control_start_stats */
	bool stats_only;
	gid_t gid;                    /* stats_group */
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];   /* removed at stop */
};

/* One client: set by the accept thread before the client's thread starts,
 * owned by that thread afterwards (which frees it). */
struct control_client {
	struct control *ctl;
	int fd;
	int slot;
};

/* "2027-01-01", "2027-01-01T12:00:00[Z]" (UTC), "@1798761600", "now", "+31d" (now + 31 days).
 * -EINVAL for anything else, -ERANGE for a number or a date past what time_t holds. */
int control_parse_date(const char *s, int64_t *ret)
{
	struct tm tm;
	char *end;

	if (strcmp(s, "now") == 0) {
		*ret = time(NULL);
		return 0;
	}
	if (s[0] == '@' || s[0] == '+') {
		long long v, secs, t;

		/* digits only (a '-' too after '@'): strtoll would also take spaces and a sign */
		if (!isdigit((unsigned char)s[1]) && !(s[0] == '@' && s[1] == '-' &&
							isdigit((unsigned char)s[2])))
			return -EINVAL;
		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno == ERANGE)
			return -ERANGE;
		if (s[0] == '@' && !*end) {
			if ((long long)(time_t)v != v)
				return -ERANGE;
			*ret = v;
			return 0;
		}
		if (s[0] == '+' && (strcmp(end, "d") == 0 || strcmp(end, "days") == 0)) {
			if (__builtin_mul_overflow(v, 86400LL, &secs) ||
			    __builtin_add_overflow((long long)time(NULL), secs, &t) ||
			    (long long)(time_t)t != t)
				return -ERANGE;
			*ret = t;
			return 0;
		}
		return -EINVAL;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end && strcmp(end, "Z") == 0)
		end++;                    /* UTC, which every date here is */
	if (!end || *end)
		return -EINVAL;
	*ret = timegm(&tm);
	return 0;
}

static int exec_run(struct fs *fs, const char *as_of_s, FILE *out, bool remote)
{
	struct progress_show ps = { .name = fs_conf(fs)->name, .out = remote ? out : stderr,
				    .remote = remote };
	struct tier_report rep;
	pthread_condattr_t ca;
	bool shown = false;
	int64_t as_of;
	int r;

	if (control_parse_date(as_of_s, &as_of) < 0) {
		fprintf(out, "error: --as-of '%s': expected YYYY-MM-DD[THH:MM:SS], @EPOCH, now or "
			"+Nd\n", as_of_s);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &ps.start);
	pthread_mutex_init(&ps.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ps.cond, &ca);
	pthread_condattr_destroy(&ca);
	/* without the thread the run goes on, only unseen */
	shown = pthread_create(&ps.thread, NULL, progress_thread, &ps) == 0;
	r = tier_run_progress(fs, as_of, &rep, &ps.p);
	if (shown) {
		pthread_mutex_lock(&ps.lock);
		ps.stop = true;
		pthread_cond_signal(&ps.cond);
		pthread_mutex_unlock(&ps.lock);
		pthread_join(ps.thread, NULL);
	}
	pthread_cond_destroy(&ps.cond);
	pthread_mutex_destroy(&ps.lock);
	if (r < 0) {
		fprintf(out, "error: lifecycle pass: %s\n",
			rep.first_error[0] ? rep.first_error : strerror(-r));
		return 1;
	}
	fprintf(out, "as_of: %" PRId64 "\nfiles_scanned: %" PRIu64 "\n"
		"chunks_to_ia: %" PRIu64 "\nbytes_to_ia: %" PRIu64 "\n"
		"chunks_to_archive: %" PRIu64 "\nbytes_to_archive: %" PRIu64 "\n"
		"chunks_failed: %" PRIu64 "\n", as_of, rep.files_scanned, rep.chunks_to_ia,
		rep.bytes_to_ia, rep.chunks_to_archive, rep.bytes_to_archive, rep.chunks_failed);
	if (rep.first_error[0])
		fprintf(out, "first_error: %s\n", rep.first_error);
	return rep.chunks_failed ? 1 : 0;
}

/* `efsfs stats [--json]`: every metric of the meter under its CloudWatch
 * name, then what the tier knows besides.  m: the daemon's meter, or NULL
 * (not mounted: a meter of this process with the saved credit state, which
 * has counted nothing); connections: the live FUSE sessions
 * (ClientConnections, 0 without a daemon). */
static int exec_stats(struct fs *fs, struct meter *m, unsigned connections, bool json,
		      FILE *out)
{
	struct meter *own = NULL;
	struct meter_values v;
	struct tier_stats st;
	int r = tier_stats(fs, &st);

	if (r < 0) {
		fprintf(out, "error: %s\n", strerror(-r));
		return 1;
	}
	if (!m) {
		r = meter_new(fs_conf(fs), fs_id(fs), NULL, &own);
		if (r == 0 && (r = meter_load(own, fs)) == 0)
			r = metrics_refresh(fs, own);
		if (r < 0) {
			fprintf(out, "error: meter: %s\n", strerror(-r));
			meter_free(own);
			return 1;
		}
		m = own;
	} else if ((r = metrics_refresh(fs, m)) < 0) {
		/* StorageBytes of now (a walk of the backing files, as the meter's
		 * thread does every METRICS_STORAGE_S seconds) */
		fprintf(out, "error: storage bytes: %s\n", strerror(-r));
		return 1;
	}
	meter_set_connections(m, connections);
	meter_read(m, &v);
	meter_free(own);
	if (json) {
		meter_print_json(&v, out);
		return 0;
	}
	meter_print_text(&v, out);
	fprintf(out, "Files: %" PRIu64 "\nChunks{StorageClass=IA}: %" PRIu64 "\n"
		"Chunks{StorageClass=Archive}: %" PRIu64 "\n"
		"StoredBytes{StorageClass=IA}: %" PRIu64 "\n"
		"StoredBytes{StorageClass=Archive}: %" PRIu64 "\n",
		st.files, st.ia_chunks, st.archive_chunks, st.ia_stored, st.archive_stored);
	return 0;
}

/* "2026-12-01T10:00:00Z" */
static const char *utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "@%" PRId64, t);
	return buf;
}

/* The last lifecycle pass, for `efsfs lifecycle status`. */
static void print_last_pass(struct fs *fs, FILE *out)
{
	struct tier_last_pass p;
	char a[32], b[32];
	int r = tier_last_pass(fs, &p);

	if (r == -ENOENT) {
		fprintf(out, "last_pass: never\n");
		return;
	}
	if (r < 0) {
		fprintf(out, "last_pass: unknown (%s)\n", strerror(-r));
		return;
	}
	fprintf(out, "last_pass: %s\nlast_pass_seconds: %.3f\nlast_pass_as_of: %s\n"
		"last_pass_files_scanned: %" PRIu64 "\nlast_pass_chunks_moved: %" PRIu64 "\n"
		"last_pass_chunks_failed: %" PRIu64 "\n", utc(p.start, a, sizeof(a)), p.seconds,
		utc(p.as_of, b, sizeof(b)), p.files_scanned, p.chunks_moved, p.chunks_failed);
	if (p.first_error[0])
		fprintf(out, "last_pass_first_error: %s\n", p.first_error);
}

static const char *days(int d, char *buf, size_t len)
{
	if (d == 0)
		return "NONE";
	snprintf(buf, len, d == 1 ? "AFTER_1_DAY" : "AFTER_%d_DAYS", d);
	return buf;
}

/* control_exec; ctl non-NULL: out is a control client's socket; mx: the
 * daemon's meter, NULL when not mounted. */
static int exec_cmd(struct fs *fs, const struct control *ctl, struct metrics *mx, int argc,
		    char **argv, FILE *out)
{
	const struct conf *c = fs_conf(fs);
	bool remote = ctl != NULL;
	unsigned conns = ctl && ctl->hooks.connections ? ctl->hooks.connections(ctl->arg) : 0;

	if (argc == 2 && strcmp(argv[0], "run") == 0)
		return exec_run(fs, argv[1], out, remote);
	if (argc >= 2 && strcmp(argv[0], "access-point") == 0)
		return apcmd_exec(fs, argc - 1, argv + 1, out);
	if (argc == 1 && strcmp(argv[0], "stats") == 0)
		return exec_stats(fs, metrics_meter(mx), conns, false, out);
	if (argc == 2 && strcmp(argv[0], "stats") == 0 && strcmp(argv[1], "json") == 0)
		return exec_stats(fs, metrics_meter(mx), conns, true, out);
	if (argc == 7 && strcmp(argv[0], "metrics-get") == 0) {
		/* NAME CLASS|- START END PERIOD STATS (numbers: the CLI parsed them) */
		char e[512];
		int r = meter_history_get(fs, argv[1], strcmp(argv[2], "-") ? argv[2] : NULL,
					  strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10),
					  strtoll(argv[5], NULL, 10),
					  (unsigned)strtoul(argv[6], NULL, 10), out, e, sizeof(e));

		if (r < 0) {
			fprintf(out, "error: metrics get: %s\n", r == -EINVAL ? e : strerror(-r));
			return r == -EINVAL ? 2 : 1;
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "meter-advance") == 0) {
		char *end;
		long long s = strtoll(argv[1], &end, 10);

		if (*end || end == argv[1] || s < 0 || s > 86400LL * 366) {
			fprintf(out, "error: meter-advance: '%s' is not a number of seconds\n",
				argv[1]);
			return 2;
		}
		if (metrics_advance(mx, s) < 0) {
			fprintf(out, "error: meter-advance: the meter's clock is the real one "
				"(the daemon runs without %s=1)\n", METRICS_TEST_CLOCK_ENV);
			return 1;
		}
		fprintf(out, "advanced: %lld\n", s);
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "info") == 0) {
		fprintf(out, "name: %s\nfile_system_id: %s\ndata_dir: %s\nchunk_size: %" PRIu64
			"\nconfig: %s\n", c->name, fs_id(fs), c->data_dir, fs_chunk_size(fs),
			c->source ? c->source : "(embedded defaults)");
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "status") == 0) {
		char a[32], b[32];

		fprintf(out, "TransitionToIA: %s\nTransitionToArchive: %s\n"
			"TransitionToPrimaryStorageClass: %s\nia_store: %s\narchive_store: %s\n",
			days(c->transition_to_ia_days, a, sizeof(a)),
			days(c->transition_to_archive_days, b, sizeof(b)),
			c->promote_after_1_access ? "AFTER_1_ACCESS" : "NONE", c->ia_store,
			c->archive_store);
		print_last_pass(fs, out);
		return exec_stats(fs, metrics_meter(mx), conns, false, out);
	}
	if ((argc == 1 || (argc == 2 && strcmp(argv[1], "legacy") == 0)) &&
	    strcmp(argv[0], "gc") == 0) {
		uint64_t n = 0, legacy = 0;
		char err[2048];

		if (tier_gc_legacy(fs, argc == 2, &n, &legacy, err, sizeof(err)) < 0) {
			fprintf(out, "error: gc: %s\n", err);
			return 1;
		}
		fprintf(out, "objects_deleted: %" PRIu64 "\n", n);
		if (legacy)
			fprintf(out, "legacy_objects_kept: %" PRIu64 " (unreferenced objects from "
				"before instance ids; they may belong to a copy of this data "
				"directory made before then; 'efsfs gc --legacy NAME' deletes "
				"them)\n", legacy);
		return 0;
	}
	fprintf(out, "error: unknown control command\n");
	return 2;
}

int control_exec(struct fs *fs, int argc, char **argv, FILE *out)
{
	return exec_cmd(fs, NULL, NULL, argc, argv, out);
}

void control_set_metrics(struct control *ctl, struct metrics *mx)
{
	if (!ctl)
		return;
	pthread_mutex_lock(&ctl->lock);
	ctl->mx = mx;
	pthread_mutex_unlock(&ctl->lock);
}

#define CONTROL_ARGS_MAX 16

/* Reads one request line from fd into line (NUL-terminated, without the
 * newline), with the fd of an SCM_RIGHTS message into *ret_fd (-1 when
 * none; any further one is closed).  0, or -errno (-EPROTO: no newline in
 * CONTROL_LINE_MAX bytes). */
static int read_request(int fd, char *line, int *ret_fd)
{
	size_t used = 0;

	*ret_fd = -1;
	while (used < CONTROL_LINE_MAX - 1) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = { line + used, CONTROL_LINE_MAX - 1 - used };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				      .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int got;

				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*ret_fd < 0)
					*ret_fd = got;
				else
					close(got);
			}
		}
		if (n == 0)
			return -EPIPE;
		used += (size_t)n;
		line[used] = '\0';
		if (memchr(line, '\n', used)) {
			line[strcspn(line, "\n")] = '\0';
			return 0;
		}
	}
	return -EPROTO;
}

/* Reads one request from fd and answers it on f (the same socket); the
 * caller closes f. */
/* Whether a request is one the stats socket serves (it reads only). */
static bool stats_cmd(int argc, char **argv)
{
	return (argc == 1 && strcmp(argv[0], "stats") == 0) ||
	       (argc == 2 && strcmp(argv[0], "stats") == 0 && strcmp(argv[1], "json") == 0) ||
	       (argc == 7 && strcmp(argv[0], "metrics-get") == 0);
}

/* Whether uid, with gid as its primary group now, is in group g: gid, or
 * one of its user's groups. */
static bool in_group(uid_t uid, gid_t gid, gid_t g)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256;

	if (gid == g)
		return true;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;     /* more than 256: not worth a bigger buffer */
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

static void serve(struct control *ctl, int fd, FILE *f)
{
	char line[CONTROL_LINE_MAX], *argv[CONTROL_ARGS_MAX];
	struct metrics *mx;
	int argc = 0, code, devfd;

	if (read_request(fd, line, &devfd) < 0) {
		if (devfd >= 0)
			close(devfd);
		return;
	}
	for (char *save = NULL, *w = strtok_r(line, "\t", &save); w && argc < CONTROL_ARGS_MAX;
	     w = strtok_r(NULL, "\t", &save))
		argv[argc++] = w;
	if (ctl->stats_only && !stats_cmd(argc, argv)) {
		if (devfd >= 0)
			close(devfd);
		fprintf(f, "error: the stats socket serves only 'efsfs stats' and 'efsfs metrics "
			"get'; this command needs the control socket (root or the file system's "
			"owner)\n");
		code = 1;
	} else if (argc >= 1 && strcmp(argv[0], "attach") == 0) {
		if (ctl->hooks.attach) {
			code = ctl->hooks.attach(devfd, argc, argv, f, ctl->arg);
		} else {
			if (devfd >= 0)
				close(devfd);
			fprintf(f, "error: this daemon takes no more mounts\n");
			code = 1;
		}
	} else {
		if (devfd >= 0)
			close(devfd);
		pthread_mutex_lock(&ctl->lock);
		mx = ctl->mx;
		pthread_mutex_unlock(&ctl->lock);
		code = exec_cmd(ctl->fs, ctl, mx, argc, argv, f);
	}
	fprintf(f, "exit %d\n", code);
	fflush(f);
}

static void *client_thread(void *arg)
{
	struct control_client *cc = arg;
	struct control *ctl = cc->ctl;
	FILE *f = fdopen(cc->fd, "w");

	if (f)
		serve(ctl, cc->fd, f);
	/* the slot is freed before the fd is closed, so that control_stop
	 * never shuts down a number that another open has reused */
	pthread_mutex_lock(&ctl->lock);
	ctl->client[cc->slot] = -1;
	ctl->nclients--;
	pthread_cond_broadcast(&ctl->idle);
	pthread_mutex_unlock(&ctl->lock);
	if (f)
		fclose(f);
	else
		close(cc->fd);
	free(cc);
	return NULL;
}

/* Answers a client that may not be served with msg and closes it. */
static void refuse(int fd, const char *msg)
{
	if (send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* the client is gone or not reading: nothing more to tell it */
	}
	close(fd);
}

/* Hands a checked client to a thread of its own; 0 or -errno. */
static int start_client(struct control *ctl, int fd)
{
	struct control_client *cc = calloc(1, sizeof(*cc));
	pthread_attr_t attr;
	pthread_t t;
	int r = -EBUSY;

	if (!cc)
		return -ENOMEM;
	cc->ctl = ctl;
	cc->fd = fd;
	pthread_mutex_lock(&ctl->lock);
	for (int i = 0; i < CONTROL_MAX_CLIENTS && !ctl->stopping; i++) {
		if (ctl->client[i] < 0) {
			cc->slot = i;
			r = 0;
			break;
		}
	}
	if (!r) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = -pthread_create(&t, &attr, client_thread, cc);
		pthread_attr_destroy(&attr);
	}
	if (!r) {
		ctl->client[cc->slot] = fd;
		ctl->nclients++;
	}
	pthread_mutex_unlock(&ctl->lock);
	if (r < 0)
		free(cc);
	return r;
}

static void *control_thread(void *arg)
{
	struct control *ctl = arg;
	const struct timeval tv = { .tv_sec = CONTROL_IO_SECS };
	uid_t owner = geteuid();

	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		char msg[256];
		int fd = accept4(ctl->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			int e = errno;
			bool stopping;

			if (e == EINTR || e == ECONNABORTED)
				continue;
			pthread_mutex_lock(&ctl->lock);
			stopping = ctl->stopping;
			pthread_mutex_unlock(&ctl->lock);
			if (stopping || e == EINVAL)
				break;    /* shut down by control_stop */
			/* out of descriptors or memory for a moment: serving stops
			 * only with the daemon, else every later client would hang */
			log_warn("%s: control socket: accept: %s; trying again",
				 fs_conf(ctl->fs)->name, strerror(e));
			nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    len != sizeof(cred)) {
			log_warn("%s: control socket: cannot tell who connected: %s",
				 fs_conf(ctl->fs)->name, strerror(errno));
			close(fd);
			continue;
		}
		if (ctl->stats_only && cred.uid != 0 && cred.uid != owner &&
		    !in_group(cred.uid, cred.gid, ctl->gid)) {
			log_warn("%s: stats socket: refused uid %u (pid %d): not in group %s",
				 fs_conf(ctl->fs)->name, (unsigned)cred.uid, (int)cred.pid,
				 fs_conf(ctl->fs)->stats_group);
			snprintf(msg, sizeof(msg), "error: permission denied: uid %u may not read "
				 "this file system's stats (root, its owner and members of group "
				 "%.64s may)\nexit 1\n", (unsigned)cred.uid,
				 fs_conf(ctl->fs)->stats_group);
			refuse(fd, msg);
			continue;
		}
		if (!ctl->stats_only && cred.uid != 0 && cred.uid != owner) {
			log_warn("%s: control socket: refused uid %u (pid %d): only root and "
				 "uid %u may control this file system", fs_conf(ctl->fs)->name,
				 (unsigned)cred.uid, (int)cred.pid, (unsigned)owner);
			snprintf(msg, sizeof(msg), "error: permission denied: uid %u may not "
				 "control this file system (only root and its owner, uid %u, may)"
				 "\nexit 1\n", (unsigned)cred.uid, (unsigned)owner);
			refuse(fd, msg);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (start_client(ctl, fd) < 0)
			refuse(fd, "error: the daemon is serving as many control clients as it "
			       "takes at once; try again\nexit 1\n");
	}
	return NULL;
}

int control_path(const char *data_dir, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/control.sock", data_dir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* A control of fs on ctl->path (set), bound with umask mask; then, with
 * gid != -1, the socket is chowned to gid (before listen: nobody can
 * connect to it before it has its group).  0 or -errno. */
static int start(struct control *ctl, mode_t mask, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int r;

	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0)
		return -errno;
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	unlink(ctl->path);
	/* the socket has its mode from the moment it exists: no bind-then-chmod
	 * window (the process umask is 077 already; this is for any caller) */
	old_mask = umask(mask);
	r = bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (r == 0 && gid != (gid_t)-1 && chown(ctl->path, (uid_t)-1, gid) < 0)
		r = -1;
	if (r < 0 || listen(ctl->lfd, 8) < 0) {
		r = -errno;
		close(ctl->lfd);
		unlink(ctl->path);
		return r;
	}
	r = pthread_create(&ctl->thread, NULL, control_thread, ctl);
	if (r) {
		close(ctl->lfd);
		unlink(ctl->path);
		return -r;
	}
	return 0;
}

static struct control *control_new(struct fs *fs, const struct control_hooks *hooks, void *arg)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return NULL;
	ctl->fs = fs;
	if (hooks)
		ctl->hooks = *hooks;
	ctl->arg = arg;
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_cond_init(&ctl->idle, NULL);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl->client[i] = -1;
	return ctl;
}

static void control_free(struct control *ctl)
{
	pthread_mutex_destroy(&ctl->lock);
	pthread_cond_destroy(&ctl->idle);
	free(ctl);
}

int control_start(struct fs *fs, const struct control_hooks *hooks, void *arg,
		  struct control **ret)
{
	struct control *ctl = control_new(fs, hooks, arg);
	int r;

	if (!ctl)
		return -ENOMEM;
	r = control_path(fs_conf(fs)->data_dir, ctl->path, sizeof(ctl->path));
	if (r == 0)
		r = start(ctl, 0177, (gid_t)-1);
	if (r < 0) {
		control_free(ctl);
		return r;
	}
	*ret = ctl;
	return 0;
}

int control_stats_path(const struct conf *c, char *ret_dir, size_t dlen, char *ret_path,
		       size_t plen)
{
	if ((size_t)snprintf(ret_dir, dlen, "%s/%s", c->stats_dir, c->name) >= dlen ||
	    (size_t)snprintf(ret_path, plen, "%s/%s/stats.sock", c->stats_dir, c->name) >= plen)
		return -ENAMETOOLONG;
	return 0;
}

/* Makes dir (mode 0750, group gid) or takes the one there if it is a
 * directory of ours (not a symbolic link) and sets that mode and group. */
static int stats_dir(const char *dir, gid_t gid, char *err, size_t errlen)
{
	struct stat st;
	int fd, r = 0;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "stats socket directory %s: %s", dir, strerror(errno));
		return r;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "stats socket directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if (st.st_uid != geteuid()) {
		r = -EPERM;
		snprintf(err, errlen, "stats socket directory %s: owned by uid %u, not by this "
			 "daemon's uid %u", dir, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (fchown(fd, (uid_t)-1, gid) < 0 || fchmod(fd, 0750) < 0) {
		r = -errno;
		snprintf(err, errlen, "stats socket directory %s: cannot give it group %u and "
			 "mode 0750: %s", dir, (unsigned)gid, strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int control_start_stats(struct fs *fs, const struct control_hooks *hooks, void *arg,
			struct control **ret, char *err, size_t errlen)
{
	const struct conf *c = fs_conf(fs);
	struct group gr, *res = NULL;
	struct control *ctl;
	char buf[16384];
	int r;

	*ret = NULL;
	if (!c->stats_group)
		return 0;
	r = -getgrnam_r(c->stats_group, &gr, buf, sizeof(buf), &res);
	if (r == 0 && !res)
		r = -ENOENT;
	if (r < 0) {
		snprintf(err, errlen, "stats_group = %s: %s", c->stats_group,
			 r == -ENOENT ? "no such group" : strerror(-r));
		return r;
	}
	ctl = control_new(fs, hooks, arg);
	if (!ctl)
		return -ENOMEM;
	ctl->stats_only = true;
	ctl->gid = gr.gr_gid;
	r = control_stats_path(c, ctl->dir, sizeof(ctl->dir), ctl->path, sizeof(ctl->path));
	if (r < 0) {
		snprintf(err, errlen, "stats socket in %s: %s", c->stats_dir, strerror(-r));
		goto fail;
	}
	/* STATS_DIR itself (/run/efsfs) is made 0755 if missing (whatever the
	 * umask: the daemon's is 077); one that is there is left as it is */
	if (mkdir(c->stats_dir, 0755) == 0)
		r = chmod(c->stats_dir, 0755);
	else if (errno != EEXIST)
		r = -1;
	if (r < 0) {
		r = -errno;
		snprintf(err, errlen, "stats_dir = %s: %s", c->stats_dir, strerror(errno));
		goto fail;
	}
	r = stats_dir(ctl->dir, gr.gr_gid, err, errlen);
	if (r < 0)
		goto fail;
	r = start(ctl, 0117, gr.gr_gid);
	if (r < 0) {
		snprintf(err, errlen, "stats socket %s: %s", ctl->path, strerror(-r));
		rmdir(ctl->dir);
		goto fail;
	}
	*ret = ctl;
	return 0;
fail:
	control_free(ctl);
	return r;
}

void control_stop(struct control *ctl)
{
	if (!ctl)
		return;
	pthread_mutex_lock(&ctl->lock);
	ctl->stopping = true;         /* the accept thread leaves on its next error */
	pthread_mutex_unlock(&ctl->lock);
	shutdown(ctl->lfd, SHUT_RDWR);
	pthread_join(ctl->thread, NULL);
	close(ctl->lfd);
	unlink(ctl->path);
	if (ctl->stats_only)
		rmdir(ctl->dir);
	/* wake the clients still being served; a command already running
	 * (a lifecycle pass) ends by itself, its output going nowhere */
	pthread_mutex_lock(&ctl->lock);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->client[i] >= 0)
			shutdown(ctl->client[i], SHUT_RDWR);
	while (ctl->nclients)
		pthread_cond_wait(&ctl->idle, &ctl->lock);
	pthread_mutex_unlock(&ctl->lock);
	control_free(ctl);
}

static int client(const char *path, int argc, char **argv, int sendfd, FILE *out);

int control_client(const char *data_dir, int argc, char **argv, FILE *out)
{
	return control_client_fd(data_dir, argc, argv, -1, out);
}

int control_client_fd(const char *data_dir, int argc, char **argv, int sendfd, FILE *out)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (control_path(data_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	return client(path, argc, argv, sendfd, out);
}

int control_stats_client(const struct conf *c, int argc, char **argv, FILE *out)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (control_stats_path(c, dir, sizeof(dir), path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	return client(path, argc, argv, -1, out);
}

/* control_client_fd on the socket at path. */
static int client(const char *path, int argc, char **argv, int sendfd, FILE *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[CONTROL_LINE_MAX] = "";
	size_t used = 0;
	int fd, code = -1;
	FILE *f;

	/* one request line of tab-separated arguments: an argument must not hold
	 * a tab or a newline, and the line must fit the server's buffer */
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (strpbrk(argv[i], "\t\n"))
			return -EINVAL;
		if (n + (i ? 1 : 0) + 2 > sizeof(line) - used)      /* "\n" and NUL follow */
			return -E2BIG;
		if (i)
			line[used++] = '\t';
		memcpy(line + used, argv[i], n + 1);
		used += n;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	/* an attach is answered at once: a daemon that does not answer is stuck
	 * (the mount waiting on it is then unmounted by the caller) */
	if (sendfd >= 0) {
		const struct timeval tv = { .tv_sec = CONTROL_ATTACH_SECS };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	/* a daemon that refuses us may have answered and closed already: no
	 * SIGPIPE, and its answer is still there to read */
	line[used++] = '\n';
	{
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec iov = { line, used };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (sendfd >= 0) {
			memset(&cm, 0, sizeof(cm));
			msg.msg_control = cm.buf;
			msg.msg_controllen = sizeof(cm.buf);
			CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
			CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
			CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &sendfd, sizeof(int));
		}
		if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) {
			/* read what the daemon said, if anything */
		}
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "exit ", 5) == 0) {
			code = atoi(line + 5);
			break;
		}
		if (strncmp(line, PROGRESS_TAG, strlen(PROGRESS_TAG)) == 0) {
			fprintf(stderr, "efsfs: %s", line + strlen(PROGRESS_TAG));
			continue;
		}
		fputs(line, out);
	}
	if (code < 0 && ferror(f) && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		fclose(f);
		return -ETIMEDOUT;
	}
	fclose(f);
	return code < 0 ? -EPIPE : code;
}
