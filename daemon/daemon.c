/* daemon.c - the mount lifecycle: opens the file system, mounts a FUSE
 * session of it (fuse/session.h) and serves it until it is unmounted, with
 * the lifecycle thread (tier/) and the control socket (control.c) beside.
 *
 * Without -f the process forks first and the child does all the work; the
 * parent waits on a pipe and exits 0 only once the mount is live, or with
 * the child's exit code after the child has printed why it failed.  So
 * `efsfs mount` and mount(8) report errors on the terminal, and SQLite's
 * locks are never carried across a fork.
 *
 * A mount point left dead by a killed daemon of the same file system is
 * detached (with a warning) before mounting; -o ro opens the file system
 * read-only (FS_OPEN_RDONLY) and starts no lifecycle thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "fuse/session.h"
#include "tier/tier.h"

#define EFSFS_COMMIT_MS 10     /* the longest metadata waits for its commit */

/* Whether opts ask for a read-only mount: the last of "ro" and "rw" wins,
 * as in libfuse. */
static bool read_only_option(const char *opts)
{
	bool ro = false;

	for (const char *o = opts; o && *o; o = strchr(o, ',') ? strchr(o, ',') + 1 : "") {
		size_t n = strcspn(o, ",");

		if (n == 2 && (strncmp(o, "ro", 2) == 0 || strncmp(o, "rw", 2) == 0))
			ro = o[1] == 'o';
	}
	return ro;
}

/* The detached daemon keeps none of its caller's descriptors but stdio
 * (replaced by /dev/null once mounted) and keep, the pipe to the parent:
 * an inherited fd, such as the lock of `flock LOCK efsfs mount ...`, would
 * otherwise stay held for the daemon's whole life.  Every fd the daemon
 * opens itself is O_CLOEXEC. */
static void close_inherited(int keep)
{
	unsigned first = keep >= 3 ? (unsigned)keep + 1 : 3;

	if ((keep <= 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
	    close_range(first, ~0u, 0) == 0)
		return;
	/* close_range(2) is Linux 5.9; before it, one by one */
	for (long fd = 3, max = sysconf(_SC_OPEN_MAX); fd < (max > 0 ? max : 65536); fd++)
		if (fd != keep)
			close((int)fd);
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* The mount point path made canonical without looking at its last part,
 * which may be a dead mount that every stat fails on. */
static int canon_mount_point(const char *path, char *ret, size_t len)
{
	char copy[PATH_MAX], dir[PATH_MAX], *slash;
	const char *parent, *base;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(copy))
		return -ENAMETOOLONG;
	memcpy(copy, path, n + 1);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	parent = !slash ? "." : slash == copy ? "/" : copy;
	if (slash)
		*slash = '\0';
	if (!realpath(parent, dir))
		return -errno;
	if ((size_t)snprintf(ret, len, "%s/%s", strcmp(dir, "/") ? dir : "", base) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Source and type of the mount on top at dir ("" when none). */
static void top_mount(const char *dir, char *src, size_t srclen, char *type, size_t typelen)
{
	char line[8192];
	struct mntent ent, *m;
	FILE *f = setmntent("/proc/self/mounts", "r");

	src[0] = type[0] = '\0';
	if (!f)
		return;
	while ((m = getmntent_r(f, &ent, line, sizeof(line))))
		if (strcmp(m->mnt_dir, dir) == 0) {     /* the last one is on top */
			snprintf(src, srclen, "%s", m->mnt_fsname);
			snprintf(type, typelen, "%s", m->mnt_type);
		}
	endmntent(f);
}

/* Whether a mount with this source and type is one of NAME's. */
static bool mount_of(const char *name, const char *src, const char *type)
{
	size_t n = strlen(name);

	return strcmp(type, "fuse.efsfs") == 0 && strncmp(src, name, n) == 0 &&
	       (!src[n] || strcmp(src + n, ":/") == 0);
}

/* The mount point answers ENOTCONN: the daemon of the FUSE mount there died
 * (kill -9, a crash).  When that mount is one of NAME's, ret_dir gets the
 * mount point's path and the mount is detached once NAME's lock is held
 * (detach_dead_mounts); else the message says what to do. */
static int check_dead_mount(const char *name, const char *mountpoint, char *ret_dir, size_t len)
{
	char src[256], type[64];
	int r = canon_mount_point(mountpoint, ret_dir, len);

	if (r < 0) {
		fprintf(stderr, "efsfs: mount point %s: %s\n", mountpoint, strerror(ENOTCONN));
		return r;
	}
	top_mount(ret_dir, src, sizeof(src), type, sizeof(type));
	if (!mount_of(name, src, type)) {
		fprintf(stderr, "efsfs: mount point %s: %s: the FUSE mount there (%s %s) is dead, "
			"its daemon is gone: unmount it first with 'umount %s'\n", mountpoint,
			strerror(ENOTCONN), type[0] ? type : "?", src[0] ? src : "?", ret_dir);
		return -ENOTCONN;
	}
	return 0;
}

/* Detaches the dead mounts of NAME on dir (their daemon was killed),
 * saying so, before mounting on top of them.  Run with NAME's lock held,
 * so no daemon of NAME can be starting there; a mount of NAME that still
 * answers statfs (another read-only mount) is left alone. */
static int detach_dead_mounts(const char *name, const char *dir)
{
	char src[256], type[64];
	struct statvfs sv;
	int e;

	for (int i = 0; i < 16; i++) {
		top_mount(dir, src, sizeof(src), type, sizeof(type));
		if (!mount_of(name, src, type) || statvfs(dir, &sv) == 0 || errno != ENOTCONN)
			return 0;
		if (umount2(dir, MNT_DETACH) < 0) {
			e = errno;
			log_err("%s: %s is still mounted by a daemon that died, and detaching it "
				"failed (%s): unmount it with 'umount %s' or 'fusermount3 -u %s'",
				name, dir, strerror(e), dir, dir);
			return -e;
		}
		log_warn("%s: %s was still mounted by a daemon that died; detached that dead "
			 "mount", name, dir);
	}
	log_err("%s: %s: more than 16 dead mounts; unmount them with 'umount %s'", name, dir,
		dir);
	return -ELOOP;
}

/* Waits for the child to report; returns the exit code for the parent. */
static int wait_child(pid_t pid, int rfd)
{
	char c = 0;
	ssize_t n;
	int status;

	do {
		n = read(rfd, &c, 1);
	} while (n < 0 && errno == EINTR);
	close(rfd);
	if (n == 1 && c == 'K')
		return 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
	fprintf(stderr, "efsfs: mount daemon died (signal %d)\n",
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return 1;
}

/* A detached daemon logs to syslog, or to conf->log_file when nothing
 * listens on /dev/log (most containers), so that its errors are kept. */
static void log_detached(const struct conf *conf, int level)
{
	int r;

	if (log_syslog_available(_PATH_LOG)) {
		log_init("efsfs", true, level);
		return;
	}
	r = log_open_file("efsfs", conf->log_file, level);
	if (r < 0) {
		log_init("efsfs", true, level);
		log_warn("%s: no syslog on %s and cannot open the log file %s: %s", conf->name,
			 _PATH_LOG, conf->log_file, strerror(-r));
		return;
	}
	log_info("%s: logging to %s (nothing listens on %s)", conf->name, conf->log_file,
		 _PATH_LOG);
}

/* Logs what fs_open changed or warns about (tightened modes, the key
 * beside its store), one line each. */
static void log_notes(const char *name, const char *notes)
{
	for (const char *p = notes; *p;) {
		size_t n = strcspn(p, "\n");

		log_warn("%s: %.*s", name, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* The mount point made canonical in mnt after checking that it is a
 * directory, or a dead mount of NAME's (check_dead_mount).  Says why not
 * on stderr. */
static int check_mount_point(const char *name, const char *mountpoint, char *mnt, size_t len)
{
	struct statvfs sv;
	struct stat st;
	int r;

	/* statfs is never answered from the kernel's cache: a dead FUSE mount
	 * whose attributes are still cached fails it with ENOTCONN. */
	if (!realpath(mountpoint, mnt) || stat(mnt, &st) < 0 || statvfs(mnt, &sv) < 0) {
		if (errno != ENOTCONN) {
			r = -errno;
			fprintf(stderr, "efsfs: mount point %s: %s\n", mountpoint, strerror(-r));
			return r;
		}
		r = check_dead_mount(name, mountpoint, mnt, len);
		if (r < 0)
			return r;
		st.st_mode = S_IFDIR;     /* a dead mount of NAME's, on a directory */
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "efsfs: mount point %s: %s\n", mountpoint, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	return 0;
}

/* What a mount's messages name: the file system and where it is mounted;
 * lives as long as the mount's struct fs. */
struct mount_ctx {
	const char *name;
	const char *mnt;
};

/* The tier layer's reports (tier_set_report), with the mount's context: a
 * message about the file system as "NAME: msg", one about an inode as
 * "msg (NAME on MNT)" (its text starts with the inode). */
static void tier_said(int level, uint64_t ino, const char *msg, void *arg)
{
	const struct mount_ctx *mc = arg;

	if (ino)
		log_msg(level, "%s (%s on %s)", msg, mc->name, mc->mnt);
	else
		log_msg(level, "%s: %s", mc->name, msg);
}

/* Opens NAME for mounting at mnt: read-only for -o ro; dead mounts of it
 * there detached; its object stores checked; group commit on.  Logs why
 * not. */
static int open_for_mount(const struct conf *conf, const struct mount_ctx *mc, const char *opts,
			  struct fs **ret_fs)
{
	const char *name = mc->name, *mnt = mc->mnt;
	struct fs *fs = NULL;
	char err[1024];
	int r;

	r = tier_fs_open(conf, mnt, read_only_option(opts) ? FS_OPEN_RDONLY : 0, &fs, err,
			  sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		return r;
	}
	tier_set_report(fs, tier_said, (void *)mc);
	r = detach_dead_mounts(name, mnt);
	if (r < 0)
		goto fail;
	/* a missing bucket or a refused storage class: now, not at the first lifecycle pass.
	 * A store that does not answer (-EIO) may be back soon: the local data is usable.
	 * A read-only mount writes nothing, not even the probe object. */
	r = fs_read_only(fs) ? 0 : tier_check_stores(conf, false, err, sizeof(err));
	if (r == -EIO) {
		log_warn("%s: %s; mounting anyway: cold data cannot be read until the store "
			 "answers", name, err);
	} else if (r < 0) {
		log_err("%s: %s", name, err);
		goto fail;
	}
	if (conf->archive_storage_class_auto && strncmp(conf->archive_store, "s3://", 5) == 0)
		log_info("%s: archive_storage_class STANDARD: the default for an s3_endpoint that "
			 "is not AWS S3", name);
	log_notes(name, fs_notes(fs));
	/* Metadata operations are committed together every few milliseconds
	 * (and at every fsync): on this kind of VM one SQLite commit costs
	 * more than the FUSE round trips of the operation it records. */
	r = fs_set_group_commit(fs, EFSFS_COMMIT_MS);
	if (r < 0)
		log_warn("%s: group commit: %s; committing every operation", name, strerror(-r));
	*ret_fs = fs;
	return 0;
fail:
	fs_close(fs);
	return r;
}

/* Mounts a FUSE session of fs at mnt and serves it, with the lifecycle
 * thread and the control socket, until it is unmounted or signalled.
 * ready_fd >= 0 (the detached daemon): told 'K' once the mount is live,
 * then closed, and stdio detached.  0 when the session ended cleanly. */
static int serve(struct fs *fs, const struct conf *conf, const char *mnt, const char *opts,
		 bool debug, int *ready_fd)
{
	struct efsfs_session_opts so = { .mountpoint = mnt, .mount_opts = opts, .debug = debug };
	const char *name = conf->name;
	struct efsfs_session *se = NULL;
	struct control *ctl = NULL;
	struct metrics *mx = NULL;
	char err[1024];
	int r;

	r = metrics_start(fs, &mx, err, sizeof(err));
	if (r < 0) {
		log_err("%s: %s", name, err);
		return r;
	}
	so.meter = metrics_meter(mx);
	r = efsfs_session_new(fs, &so, &se, err, sizeof(err));
	if (r < 0) {
		log_err("%s: %s", name, err);
		goto out;
	}
	r = efsfs_session_set_signal_handlers(se);
	if (r < 0) {
		log_err("%s: cannot install signal handlers", name);
		goto out;
	}
	r = efsfs_session_mount(se, err, sizeof(err));
	if (r < 0) {
		log_err("%s: %s", name, err);
		efsfs_session_remove_signal_handlers(se);
		goto out;
	}
	log_info("%s (%s) mounted on %s%s, data in %s", name, fs_id(fs), mnt,
		 fs_read_only(fs) ? " read-only (no lifecycle)" : "", conf->data_dir);
	if (*ready_fd >= 0) {
		char ok = 'K';

		if (write(*ready_fd, &ok, 1) != 1) {
			/* the parent is gone; serve anyway */
		}
		close(*ready_fd);
		*ready_fd = -1;
		detach_stdio();
		log_detached(conf, debug ? LOG_DEBUG : LOG_INFO);
		if (chdir("/") < 0) {
			/* keep the current directory */
		}
	}
	r = fs_read_only(fs) ? 0 : tier_start(fs);
	if (r < 0)
		log_warn("%s: lifecycle thread: %s; lifecycle runs only on demand", name,
			 strerror(-r));
	r = control_start(fs, &ctl);
	if (r < 0)
		log_warn("%s: control socket: %s; 'efsfs stats' and 'efsfs lifecycle' will not "
			 "reach this mount", name, strerror(-r));
	control_set_metrics(ctl, mx);
	meter_set_connections(so.meter, 1);
	r = efsfs_session_run(se);
	control_stop(ctl);
	efsfs_session_remove_signal_handlers(se);
	efsfs_session_unmount(se);
	meter_set_connections(so.meter, 0);
	log_info("%s unmounted from %s", name, mnt);
out:
	efsfs_session_destroy(se);
	metrics_stop(mx);
	return r;
}

int efsfs_mount(const char *config, const char *name, const char *mountpoint, const char *opts,
		bool foreground, bool debug)
{
	struct conf *conf = NULL;
	struct fs *fs = NULL;
	char err[1024], mnt[PATH_MAX];
	struct mount_ctx mc = { name, mnt };
	int pipefd[2] = { -1, -1 };
	int r, code = 1;

	log_init("efsfs", false, debug ? LOG_DEBUG : LOG_INFO);
	r = conf_load(config, name, &conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: %s\n", err);
		return 1;
	}
	if (conf->warning)
		fprintf(stderr, "efsfs: warning: %s\n", conf->warning);
	if (check_mount_point(name, mountpoint, mnt, sizeof(mnt)) < 0)
		goto out;
	if (!foreground) {
		pid_t pid;

		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			fprintf(stderr, "efsfs: pipe: %s\n", strerror(errno));
			goto out;
		}
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "efsfs: fork: %s\n", strerror(errno));
			goto out;
		}
		if (pid > 0) {
			close(pipefd[1]);
			conf_free(conf);
			return wait_child(pid, pipefd[0]);
		}
		close(pipefd[0]);
		pipefd[0] = -1;
		close_inherited(pipefd[1]);
		setsid();
	}
	if (open_for_mount(conf, &mc, opts, &fs) < 0)
		goto out;
	code = serve(fs, conf, mnt, opts, debug, &pipefd[1]) == 0 ? 0 : 1;
out:
	fs_close(fs);
	conf_free(conf);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (!foreground && pipefd[0] < 0)
		_exit(code);      /* the forked daemon */
	return code;
}
