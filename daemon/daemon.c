/* daemon.c - the mount lifecycle: one daemon per file system serving
 * every mount of it.  The first mount opens the file system, mounts a FUSE
 * session of it (fuse/session.h) and serves it, with the lifecycle thread
 * (tier/) and the control socket (control.c) beside; every later mount is
 * attached to that daemon as one more session, each on a thread of its
 * own.  Unmounting one mount ends its session only; the end of the last one
 * stops the daemon.
 *
 * Attaching (attach_running): mount.efsfs or `efsfs mount` makes the FUSE
 * mount itself, in its own mount namespace (efsfs_kmount_new: mount(2), or
 * fusermount3 for a user), and sends its /dev/fuse fd over the control
 * socket ("attach" with SCM_RIGHTS; the peer is checked as for every
 * control command) with the mount's parameters; the daemon makes and runs
 * the session (attach_hook).  When that fails the caller unmounts what it
 * mounted.
 *
 * Who starts the daemon: DATA_DIR/mount.lock (a flock) is held by the
 * mounting process from its look for a running daemon until the daemon it
 * started has its first mount live and its control socket up, so two
 * mounts at once never start two daemons.  A daemon whose last mount went
 * marks itself closing under its lock (attaches from then on get
 * CONTROL_EXIT_CLOSING) before it stops its control socket and closes the
 * file system; the attacher then waits (bounded) for the control socket to
 * go and starts a new daemon, whose open waits for the old one to release
 * the file system lock (fs_open).  So an attach either reaches a live
 * daemon or starts a new one; never a daemon that is leaving.
 *
 * Read-only: the daemon opens the file system read-only (FS_OPEN_RDONLY, no
 * lifecycle thread) when its first mount is -o ro, else read-write.  A
 * later -o ro mount of a read-write daemon is a read-only kernel mount
 * (EROFS from the kernel); a read-write mount of a daemon that opened
 * read-only is refused, saying so.
 *
 * Without -f the process forks first and the child does all the work; the
 * parent waits on a pipe and exits 0 only once the mount is live, or with
 * the child's exit code after the child has printed why it failed.  So
 * `efsfs mount` and mount(8) report errors on the terminal, and SQLite's
 * locks are never carried across a fork.
 *
 * A mount point left dead by a killed daemon of the same file system is
 * detached (with a warning) before mounting on it; one of another file
 * system is refused, saying to unmount it.
 *
 * Signals (SIGINT, SIGTERM, SIGHUP) are blocked in every thread and taken
 * by the main thread (signalfd): every session is stopped and unmounted.
 *
 * Locks: struct daemon's lock guards mounts, live and closing (see there);
 * the rest of struct daemon is set before the first thread starts.  A
 * struct dmount is owned by its thread once started.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
#define ATTACH_TRIES    50     /* attach or start attempts of one mount */
#define ATTACH_WAIT_MS  10000  /* the longest a mount waits for a closing daemon or
				  for the one starting the file system's daemon */

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

/* Whether a mount with this source and type is one of NAME's: NAME, or
 * NAME:/path as mount.efsfs names subdirectory mounts. */
static bool mount_of(const char *name, const char *src, const char *type)
{
	size_t n = strlen(name);

	return strcmp(type, "fuse.efsfs") == 0 && strncmp(src, name, n) == 0 &&
	       (!src[n] || strncmp(src + n, ":/", 2) == 0);
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

/* The forked daemon's exit code when another process holds the file
 * system: the parent then looks for a daemon to attach to again. */
#define EX_BUSY 75

/* Waits for the child to report: 'K' (the mount is live: 0), or 'B' and
 * why the file system is busy (into busy: EX_BUSY); else the exit code for
 * the parent. */
static int wait_child(pid_t pid, int rfd, char *busy, size_t busylen)
{
	char c = 0;
	ssize_t n;
	int status;

	do {
		n = read(rfd, &c, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'B') {
		size_t got = 0;

		while (got + 1 < busylen && (n = read(rfd, busy + got, busylen - 1 - got)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			got += (size_t)n;
		}
		busy[got] = '\0';
	}
	close(rfd);
	if (n == 1 && c == 'K')
		return 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (c == 'B')
		return EX_BUSY;
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
 * directory, or a dead mount of NAME's (check_dead_mount), and not a live
 * mount of NAME's.  Says why not on stderr. */
static int check_mount_point(const char *name, const char *mountpoint, char *mnt, size_t len)
{
	struct statvfs sv;
	struct stat st;
	bool dead = false;
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
		dead = true;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "efsfs: mount point %s: %s\n", mountpoint, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	if (!dead) {
		/* a live mount of NAME's there: another would only hide it */
		char src[256], type[64];

		top_mount(mnt, src, sizeof(src), type, sizeof(type));
		if (mount_of(name, src, type)) {
			fprintf(stderr, "efsfs: mount point %s: %s (%s) is mounted there already; "
				"umount %s first to mount it there again\n", mountpoint, name, src,
				mnt);
			return -EBUSY;
		}
	}
	return 0;
}

/* What the tier layer's messages name: the file system and where it was
 * first mounted; lives as long as the daemon's struct fs. */
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
 * not; -EBUSY (with the text in busy) when another process holds it. */
static int open_for_mount(const struct conf *conf, const struct mount_ctx *mc, bool ro,
			  struct fs **ret_fs, char *busy, size_t busylen)
{
	const char *name = mc->name, *mnt = mc->mnt;
	struct fs *fs = NULL;
	char err[1024];
	int r;

	r = tier_fs_open(conf, mnt, ro ? FS_OPEN_RDONLY : 0, &fs, err, sizeof(err));
	if (r == -EBUSY && busy) {
		snprintf(busy, busylen, "%s", err);
		return r;
	}
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

/* ---- the daemon: its sessions ------------------------------------------- */

struct daemon;

/* One mount the daemon serves: set up by start_mount, then owned by its
 * thread (mount_thread), which frees it; next is under daemon.lock. */
struct dmount {
	struct daemon *d;
	struct efsfs_session *se;
	char mnt[PATH_MAX];
	uint64_t root_ino;          /* its root: 0 the file system's, else one lookup
				       reference held for the session's life */
	bool attached;              /* a mount made by mount.efsfs (efsfs_session_mount_fd) */
	char dev[32];               /* attached: "MAJ:MIN" of its mount, "" when unknown */
	struct dmount *next;
};

/* fs, conf, name, debug and evfd: set before the first thread starts,
 * immutable afterwards.  mounts, live and closing: written and read under
 * lock, and so is lock_mnt.  live counts the sessions being set up or
 * served; once it drops to 0, closing is set and stays so, and evfd is
 * written. */
struct daemon {
	struct fs *fs;
	const struct conf *conf;
	const char *name;
	bool debug;
	int evfd;

	pthread_mutex_t lock;
	struct dmount *mounts;
	unsigned live;
	bool closing;
	struct meter *meter;        /* the file system's meter (metrics.c), or NULL;
				       immutable after the first mount; its
				       ClientConnections follow live */
	char lock_mnt[PATH_MAX];    /* the mount point DATA_DIR/lock names */
};

/* What one mount asks for: the attach words or the first mount's request. */
struct mount_params {
	const char *mnt;            /* canonical */
	const char *opts;           /* FUSE mount options, or NULL */
	const char *subdir;         /* NULL or "/": the root */
	const char *access_point;   /* NULL: none */
	const char *dev;            /* attached: "MAJ:MIN" of the mount, or NULL */
	int kernel_checks;          /* attached: 1 the kernel mount has default_permissions,
				       0 it has not (session_checks in the mounting
				       process); -1 mounted here (the session decides) */
};

/* The directory at path (absolute inside the file system) for a
 * NAME:/path mount, with one lookup reference on it (fs_resolve_root):
 * -ENOENT naming the component that is missing (EFS refuses a missing
 * subdirectory too), -ENOTDIR for one that is not a directory. */
static int resolve_subdir(struct fs *fs, const char *path, uint64_t *ret_ino, char *err,
			  size_t errlen)
{
	char why[512];
	int r = fs_resolve_root(fs, path, NULL, ret_ino, why, sizeof(why));

	if (r == -ENOENT)
		snprintf(err, errlen, "%s (a subdirectory mount needs an existing directory, as "
			 "on EFS)", why);
	else if (r < 0)        /* "root directory /a/b: ...": the subdirectory here */
		snprintf(err, errlen, "%s", strncmp(why, "root directory ", 15) == 0 ? why + 15 :
			 why);
	return r;
}

/* Whether a mount's session checks permissions itself (view.c) rather than
 * the kernel (default_permissions): through an access point (its identity,
 * not the caller's), or squashing root (no ClientRootAccess).  mount.efsfs
 * makes the kernel mount by the same rule as mount_policy's session. */
static bool session_checks(const struct conf *conf, const char *access_point)
{
	return (access_point && *access_point) || !conf->client_root_access;
}

/* A mount's access point and the file system's policy (client_mount,
 * client_write, client_root_access) as the session's view: so->root_ino,
 * ident, squash_root, deny_write.  An access point's root directory is
 * made when missing if it has CreationInfo (fs_resolve_root); its
 * reference goes to *ret_ref (0: none), and its identity is copied to
 * *ident (the session copies it again at new).  EFS's rule that an access
 * point whose PosixUser is root needs ClientRootAccess holds too. */
static int mount_policy(struct fs *fs, const char *access_point, bool subdir,
			struct efsfs_session_opts *so, struct fs_ident *ident, uint64_t *ret_ref,
			char *err, size_t errlen)
{
	const struct conf *c = fs_conf(fs);
	struct fs_access_point *ap;
	char why[512];
	int r;

	*ret_ref = 0;
	if (!c->client_mount) {
		snprintf(err, errlen, "the file system policy refuses mounts (client_mount = false "
			 "in %s's configuration)", c->name);
		return -EACCES;
	}
	so->deny_write = !c->client_write;
	if (!access_point || !*access_point) {
		so->squash_root = !c->client_root_access;
		return 0;
	}
	if (subdir) {
		snprintf(err, errlen, "accesspoint=%s with a subdirectory source: mount the access "
			 "point as NAME or NAME:/ (its root directory is its root)", access_point);
		return -EINVAL;
	}
	ap = malloc(sizeof(*ap));
	if (!ap) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = fs_ap_get(fs, access_point, ap);
	if (r == -ENOENT || r == -EINVAL) {
		snprintf(err, errlen, "accesspoint=%s: no such access point in %s (efsfs "
			 "access-point list %s)", access_point, c->name, c->name);
		r = -ENOENT;
		goto out;
	}
	if (r < 0) {
		snprintf(err, errlen, "accesspoint=%s: %s", access_point, strerror(-r));
		goto out;
	}
	if (ap->user.uid == 0 && !c->client_root_access) {
		snprintf(err, errlen, "accesspoint=%s: its PosixUser is root, and the file system "
			 "policy withholds root access (client_root_access = false)", access_point);
		r = -EACCES;
		goto out;
	}
	r = fs_resolve_root(fs, ap->path, ap, ret_ref, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "accesspoint=%s: %s", access_point, why);
		goto out;
	}
	*ident = ap->user;
	so->ident = ident;
	so->root_ino = *ret_ref;
out:
	free(ap);
	return r;
}

/* Unmounts an attached mount that the daemon stops (a signal): by its
 * path, when the mount on top there is still that connection's (its device
 * as mount.efsfs saw it), since mount.efsfs may have mounted it in another
 * mount namespace, where our path names something else. */
static void unmount_attached(const struct dmount *m)
{
	char line[8192], want[64];
	bool ours = false;
	FILE *f;

	if (!m->dev[0])
		return;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	snprintf(want, sizeof(want), " %s ", m->dev);
	while (fgets(line, sizeof(line), f)) {
		char dir[PATH_MAX];

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." (the last one is on top) */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", dir) != 1 || strcmp(dir, m->mnt) != 0)
			continue;
		ours = strstr(line, want) != NULL;
	}
	fclose(f);
	if (ours && umount2(m->mnt, MNT_DETACH) < 0)
		log_warn("%s: cannot unmount %s: %s; unmount it with 'umount %s'", m->d->name,
			 m->mnt, strerror(errno), m->mnt);
}

/* One session served to its end; then the mount is gone and so is m. */
static void *mount_thread(void *arg)
{
	struct dmount *m = arg;
	struct daemon *d = m->d;
	struct dmount **pp;
	bool stopping;
	uint64_t one = 1;
	int r;

	r = efsfs_session_run(m->se);
	if (r < 0)
		log_err("%s on %s: %s", d->name, m->mnt, strerror(-r));
	/* out of the list before the session goes: serve stops the listed ones */
	pthread_mutex_lock(&d->lock);
	stopping = d->closing;
	for (pp = &d->mounts; *pp && *pp != m; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = m->next;
	/* the lock file names a mount point that is still mounted */
	if (strcmp(d->lock_mnt, m->mnt) == 0 && d->mounts && !d->closing) {
		snprintf(d->lock_mnt, sizeof(d->lock_mnt), "%s", d->mounts->mnt);
		r = fs_lock_note(d->fs, d->lock_mnt);
		if (r < 0)
			log_warn("%s: %s/lock: %s", d->name, d->conf->data_dir, strerror(-r));
	}
	pthread_mutex_unlock(&d->lock);
	if (!m->attached)
		efsfs_session_unmount(m->se);
	else if (stopping)
		unmount_attached(m);
	efsfs_session_destroy(m->se);
	if (m->root_ino)
		fs_forget(d->fs, m->root_ino, 1);
	log_info("%s unmounted from %s", d->name, m->mnt);
	free(m);
	pthread_mutex_lock(&d->lock);
	meter_set_connections(d->meter, --d->live);
	if (d->live == 0) {
		d->closing = true;
		if (write(d->evfd, &one, sizeof(one)) != sizeof(one)) {
			/* an eventfd write of 1 does not fail */
		}
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* Makes the session of one mount and starts its thread; fd >= 0: the
 * mount was made by mount.efsfs (taken over, closed on failure), else it is
 * mounted here.  The caller has counted it in d->live, and uncounts it on
 * failure.  err: why not. */
static int start_mount(struct daemon *d, const struct mount_params *mp, int fd, char *err,
		       size_t errlen)
{
	struct efsfs_session_opts so = { .mountpoint = mp->mnt, .mount_opts = mp->opts,
					 .debug = d->debug && fd < 0, .meter = d->meter };
	struct dmount *m = calloc(1, sizeof(*m));
	struct fs_ident ident;
	uint64_t ap_ref = 0;
	bool through_ap;
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!m) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		r = -ENOMEM;
		goto fail;
	}
	m->d = d;
	m->attached = fd >= 0;
	snprintf(m->mnt, sizeof(m->mnt), "%s", mp->mnt);
	snprintf(m->dev, sizeof(m->dev), "%s", mp->dev ? mp->dev : "");
	if (mp->subdir && strcmp(mp->subdir, "/") != 0) {
		char why[640];

		r = resolve_subdir(d->fs, mp->subdir, &m->root_ino, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "subdirectory %s: %s", mp->subdir, why);
			goto fail;
		}
		so.root_ino = m->root_ino;
	}
	r = mount_policy(d->fs, mp->access_point, m->root_ino != 0, &so, &ident, &ap_ref, err,
			 errlen);
	if (ap_ref)
		m->root_ino = ap_ref;       /* dropped at the session's end */
	if (r < 0)
		goto fail;
	/* mount.efsfs made the kernel mount by its own reading of the
	 * configuration: one that changed since this daemon read it would leave
	 * a mount with no permission checks at all (or checked twice) */
	if (mp->kernel_checks >= 0 && mp->kernel_checks == (so.ident || so.squash_root)) {
		snprintf(err, errlen, "client_root_access in the configuration is no longer "
			 "%s, as when this daemon started: unmount every mount of %s to apply "
			 "the change (or set it back)", d->conf->client_root_access ? "true" :
			 "false", d->name);
		r = -EINVAL;
		goto fail;
	}
	r = efsfs_session_new(d->fs, &so, &m->se, err, errlen);
	if (r < 0)
		goto fail;
	if (fd >= 0) {
		r = efsfs_session_mount_fd(m->se, fd, err, errlen);
		if (r < 0)
			goto fail;
		fd = -1;        /* the session's now */
	} else {
		r = efsfs_session_mount(m->se, err, errlen);
		if (r < 0)
			goto fail;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&d->lock);
	r = -pthread_create(&t, &attr, mount_thread, m);
	if (!r) {
		m->next = d->mounts;
		d->mounts = m;
		/* a signal came while it was set up: it ends at once too */
		if (d->closing)
			efsfs_session_stop(m->se);
	}
	pthread_mutex_unlock(&d->lock);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		snprintf(err, errlen, "cannot start the session's thread: %s", strerror(-r));
		goto fail;
	}
	/* an access point's mount has a root_ino and no subdir */
	through_ap = mp->access_point && *mp->access_point;
	log_info("%s (%s) mounted on %s%s%s%s, data in %s", d->name, fs_id(d->fs), mp->mnt,
		 through_ap ? " (through the access point " : m->root_ino ? " (the subdirectory " :
		 "", through_ap ? mp->access_point : m->root_ino ? mp->subdir : "",
		 m->root_ino ? ")" : "", d->conf->data_dir);
	return 0;
fail:
	if (m && m->se) {
		if (!m->attached)
			efsfs_session_unmount(m->se);
		efsfs_session_destroy(m->se);
	}
	if (m && m->root_ino)
		fs_forget(d->fs, m->root_ino, 1);
	if (fd >= 0)
		close(fd);
	free(m);
	return r;
}

/* Uncounts a mount that did not start. */
static void mount_failed(struct daemon *d)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	meter_set_connections(d->meter, --d->live);
	if (d->live == 0) {
		d->closing = true;
		if (write(d->evfd, &one, sizeof(one)) != sizeof(one)) {
			/* an eventfd write of 1 does not fail */
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* The value of "KEY=value" among the attach words, or NULL. */
static const char *attach_word(int argc, char **argv, const char *key)
{
	size_t n = strlen(key);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

/* control socket: "attach mnt=DIR checks=0|1 [opts=O] [ro=1] [dev=MAJ:MIN]
 * [path=/sub] [ap=fsap-...]" with the mount's /dev/fuse fd; checks=1: the
 * kernel mount has default_permissions. */
static int attach_hook(int fd, int argc, char **argv, FILE *out, void *arg)
{
	struct daemon *d = arg;
	struct mount_params mp = {
		.mnt = attach_word(argc, argv, "mnt"), .opts = attach_word(argc, argv, "opts"),
		.subdir = attach_word(argc, argv, "path"),
		.access_point = attach_word(argc, argv, "ap"),
		.dev = attach_word(argc, argv, "dev"),
	};
	const char *ro = attach_word(argc, argv, "ro");
	const char *checks = attach_word(argc, argv, "checks");
	char err[1024];
	int r;

	if (fd < 0 || !mp.mnt || mp.mnt[0] != '/' || !checks ||
	    (strcmp(checks, "0") != 0 && strcmp(checks, "1") != 0)) {
		if (fd >= 0)
			close(fd);
		fprintf(out, "error: attach: %s\n", fd < 0 ? "no /dev/fuse descriptor came with it"
			: !mp.mnt || mp.mnt[0] != '/' ? "no absolute mnt="
			: "no checks=0 or checks=1 (whether the mount has default_permissions): "
			  "the mount.efsfs that made it is older than this daemon; mount with the "
			  "same efsfs as the daemon's");
		return 2;
	}
	mp.kernel_checks = checks[0] == '1';
	pthread_mutex_lock(&d->lock);
	if (d->closing) {
		pthread_mutex_unlock(&d->lock);
		close(fd);
		fprintf(out, "error: the daemon of %s is closing\n", d->name);
		return CONTROL_EXIT_CLOSING;
	}
	if (fs_read_only(d->fs) && !(ro && strcmp(ro, "1") == 0)) {
		pthread_mutex_unlock(&d->lock);
		close(fd);
		fprintf(out, "error: %s is open read-only (its first mount was -o ro): mount it "
			"with -o ro too, or unmount its read-only mounts before mounting it "
			"read-write\n", d->name);
		return 1;
	}
	meter_set_connections(d->meter, ++d->live);
	pthread_mutex_unlock(&d->lock);
	r = start_mount(d, &mp, fd, err, sizeof(err));
	if (r < 0) {
		mount_failed(d);
		log_err("%s: mount on %s: %s", d->name, mp.mnt, err);
		fprintf(out, "error: %s: %s\n", d->name, err);
		return 1;
	}
	return 0;
}

static unsigned connections_hook(void *arg)
{
	struct daemon *d = arg;
	unsigned n;

	pthread_mutex_lock(&d->lock);
	n = d->live;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* EFSFS_TEST_DETACH_LINES=N (tests/mount/logs.sh): a thread logs N
 * numbered lines while the daemon detaches, and the detach waits 20 ms
 * between its two steps, so that a line lost between them shows. */
#define DETACH_TEST_ENV "EFSFS_TEST_DETACH_LINES"

static void *detach_test_lines(void *arg)
{
	unsigned long n = (unsigned long)(uintptr_t)arg;

	for (unsigned long i = 1; i <= n; i++) {
		log_info("detach test line %lu of %lu", i, n);
		usleep(20);
	}
	return NULL;
}

/* Whether the test thread runs. */
static bool detach_test_start(void)
{
	const char *v = getenv(DETACH_TEST_ENV);
	unsigned long n = v ? strtoul(v, NULL, 10) : 0;
	pthread_t t;

	if (n == 0 || n > 100000 ||
	    pthread_create(&t, NULL, detach_test_lines, (void *)(uintptr_t)n) != 0)
		return false;
	pthread_detach(t);
	return true;
}

/* Tells the parent that the first mount is live ('K'), detaches stdio.
 * The log moves to syslog or the log file before stderr goes to /dev/null:
 * the sessions' workers log meanwhile (the kernel's INIT comes whenever it
 * comes), and a line logged in between would be lost. */
static void report_ready(const struct conf *conf, bool debug, int *ready_fd)
{
	char ok = 'K';
	bool testing;

	if (*ready_fd < 0)
		return;
	testing = detach_test_start();
	if (write(*ready_fd, &ok, 1) != 1) {
		/* the parent is gone; serve anyway */
	}
	close(*ready_fd);
	*ready_fd = -1;
	log_detached(conf, debug ? LOG_DEBUG : LOG_INFO);
	if (testing)
		usleep(20000);
	detach_stdio();
	if (chdir("/") < 0) {
		/* keep the current directory */
	}
}

/* Serves fs: the first mount (mp), then every mount attached, with the
 * lifecycle thread and the control socket, until the last mount is gone
 * or a signal came (sigfd, blocked in every thread).  ready_fd >= 0 (the
 * detached daemon): told 'K' once the mount is live and the control socket
 * up; *start_lock is closed then too.  0 when every session ended
 * cleanly. */
static int serve(struct fs *fs, const struct conf *conf, const struct mount_params *mp,
		 bool debug, int sigfd, int *ready_fd, int *start_lock)
{
	static const struct control_hooks hooks = { attach_hook, connections_hook };
	static const struct control_hooks stats_hooks = { NULL, connections_hook };
	struct daemon d = { .fs = fs, .conf = conf, .name = conf->name, .debug = debug,
			    .live = 1 };
	struct control *ctl = NULL, *sctl = NULL;
	struct metrics *mx = NULL;
	struct pollfd pfd[2];
	char err[1024];
	int r;

	r = metrics_start(fs, &mx, err, sizeof(err));
	if (r < 0) {
		log_err("%s: %s", conf->name, err);
		return r;
	}
	d.meter = metrics_meter(mx);
	meter_set_connections(d.meter, 1);
	pthread_mutex_init(&d.lock, NULL);
	snprintf(d.lock_mnt, sizeof(d.lock_mnt), "%s", mp->mnt);
	d.evfd = eventfd(0, EFD_CLOEXEC);
	if (d.evfd < 0) {
		r = -errno;
		log_err("%s: eventfd: %s", conf->name, strerror(errno));
		metrics_stop(mx);
		return r;
	}
	/* stats_group configured: its socket, or no mount (an operator asked for it) */
	r = control_start_stats(fs, &stats_hooks, &d, &sctl, err, sizeof(err));
	if (r < 0) {
		log_err("%s: %s", conf->name, err);
		close(d.evfd);
		metrics_stop(mx);
		return r;
	}
	control_set_metrics(sctl, mx);
	r = start_mount(&d, mp, -1, err, sizeof(err));
	if (r < 0) {
		log_err("%s: %s", conf->name, err);
		control_stop(sctl);
		close(d.evfd);
		metrics_stop(mx);
		return r;
	}
	r = fs_read_only(fs) ? 0 : tier_start(fs);
	if (r < 0)
		log_warn("%s: lifecycle thread: %s; lifecycle runs only on demand", conf->name,
			 strerror(-r));
	r = control_start(fs, &hooks, &d, &ctl);
	if (r < 0)
		log_warn("%s: control socket: %s; 'efsfs stats' and 'efsfs lifecycle' will not "
			 "reach this daemon, and another mount of %s starts a daemon of its own",
			 conf->name, strerror(-r), conf->name);
	control_set_metrics(ctl, mx);
	if (fs_read_only(fs))
		log_info("%s: read-only (no lifecycle)", conf->name);
	report_ready(conf, debug, ready_fd);
	if (*start_lock >= 0) {
		close(*start_lock);
		*start_lock = -1;
	}
	pfd[0] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = d.evfd, .events = POLLIN };
	for (;;) {
		struct signalfd_siginfo si;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("%s: poll: %s", conf->name, strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;          /* the last mount is gone */
		if (pfd[0].revents && read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			log_info("%s: signal %u: unmounting every mount", conf->name,
				 (unsigned)si.ssi_signo);
			break;
		}
	}
	/* no attach from now on; every session stopped, then waited for */
	pthread_mutex_lock(&d.lock);
	d.closing = true;
	for (struct dmount *m = d.mounts; m; m = m->next)
		efsfs_session_stop(m->se);
	pthread_mutex_unlock(&d.lock);
	for (;;) {
		uint64_t v;
		bool done;

		pthread_mutex_lock(&d.lock);
		done = d.live == 0;
		pthread_mutex_unlock(&d.lock);
		if (done)
			break;
		if (read(d.evfd, &v, sizeof(v)) < 0 && errno != EINTR)
			break;
	}
	control_stop(ctl);
	control_stop(sctl);
	metrics_stop(mx);
	close(d.evfd);
	/* the threads are gone but for their unlock: the lock stays (the process ends) */
	return 0;
}

/* ---- the mounting process: attach, or start the daemon ------------------- */

/* Whether a daemon listens on data_dir's control socket. */
static bool daemon_listening(const char *data_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool yes;
	int fd;

	if (control_path(data_dir, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return yes;
}

/* "MAJ:MIN" of the mount on top at dir, "" when none. */
static void mount_dev(const char *dir, char *buf, size_t len)
{
	char line[8192];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char d[PATH_MAX], dev[32];

		if (sscanf(line, "%*s %*s %31s %*s %4095s", dev, d) == 2 && strcmp(d, dir) == 0)
			snprintf(buf, len, "%s", dev);
	}
	fclose(f);
}

/* Takes DATA_DIR/mount.lock (see the top), waiting up to ATTACH_WAIT_MS:
 * the fd, or -1 when there is no lock to take (no data directory yet, a
 * read-only one without the file): the daemon's own open then decides. */
static int take_start_lock(const struct conf *conf)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/mount.lock", conf->data_dir) >= sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (int i = 0; i < ATTACH_WAIT_MS / 10; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK)
			break;
		usleep(10000);
	}
	fprintf(stderr, "efsfs: %s: another mount of it has been starting its daemon for "
		"more than %d s; going on without waiting\n", conf->name, ATTACH_WAIT_MS / 1000);
	close(fd);
	return -1;
}

/* Appends "key=value" to the attach words; -EINVAL for a tab or newline. */
static int attach_arg(char **argv, int *argc, char *buf, size_t len, const char *key,
		      const char *value)
{
	if (!value)
		return 0;
	if (strpbrk(value, "\t\n"))
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s=%s", key, value) >= len)
		return -E2BIG;
	argv[(*argc)++] = buf;
	return 0;
}

/* Mounts at mnt and hands the mount to the running daemon of conf: 0 done;
 * -ENOENT: no daemon listens; -EAGAIN: the daemon is closing or died
 * (start another); else the error, printed. */
static int attach_running(const struct conf *conf, const struct efsfs_mount_req *req,
			  const char *mnt)
{
	char w[7][CONTROL_LINE_MAX / 4], dev[32], err[1024], *argv[8], *answer = NULL;
	bool kernel_checks = !session_checks(conf, req->access_point);
	struct efsfs_kmount *k = NULL;
	size_t answer_len = 0;
	int argc = 0, r;
	FILE *out;

	if (!daemon_listening(conf->data_dir))
		return -ENOENT;
	r = detach_dead_mounts(req->name, mnt);
	if (r < 0)
		return r;
	r = efsfs_kmount_new(conf, mnt, req->opts, kernel_checks, &k, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: %s: %s\n", conf->name, err);
		return r;
	}
	mount_dev(mnt, dev, sizeof(dev));
	argv[argc++] = "attach";
	if ((r = attach_arg(argv, &argc, w[0], sizeof(w[0]), "mnt", mnt)) < 0 ||
	    (r = attach_arg(argv, &argc, w[1], sizeof(w[1]), "opts", req->opts)) < 0 ||
	    (r = attach_arg(argv, &argc, w[2], sizeof(w[2]), "ro",
			    read_only_option(req->opts) ? "1" : NULL)) < 0 ||
	    (r = attach_arg(argv, &argc, w[3], sizeof(w[3]), "dev", dev[0] ? dev : NULL)) < 0 ||
	    (r = attach_arg(argv, &argc, w[4], sizeof(w[4]), "path", req->subdir)) < 0 ||
	    (r = attach_arg(argv, &argc, w[5], sizeof(w[5]), "ap", req->access_point)) < 0 ||
	    (r = attach_arg(argv, &argc, w[6], sizeof(w[6]), "checks",
			    kernel_checks ? "1" : "0")) < 0) {
		fprintf(stderr, "efsfs: %s: %s: %s\n", conf->name, mnt,
			r == -EINVAL ? "a tab or a newline in the mount point, options or path"
				     : "mount point, options or path too long");
		efsfs_kmount_free(k, true);
		return r;
	}
	out = open_memstream(&answer, &answer_len);
	if (!out) {
		efsfs_kmount_free(k, true);
		return -ENOMEM;
	}
	r = control_client_fd(conf->data_dir, argc, argv, efsfs_kmount_fd(k), out);
	fclose(out);
	if (r == 0) {
		efsfs_kmount_free(k, false);    /* the daemon's now */
		free(answer);
		return 0;
	}
	efsfs_kmount_free(k, true);
	if (r == CONTROL_EXIT_CLOSING || r == -EPIPE || r == -ENOENT || r == -ECONNREFUSED ||
	    r == -ECONNRESET) {
		free(answer);
		return -EAGAIN;
	}
	/* the daemon's "error: ..." lines */
	for (char *p = answer; p && *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(stderr, "efsfs: %.*s\n", (int)n, strncmp(p, "error: ", 7) ? p : p + 7);
		p += n + (p[n] == '\n');
	}
	if (r == -ETIMEDOUT)
		fprintf(stderr, "efsfs: %s: its daemon did not answer the attach of %s in time; "
			"nothing was mounted\n", conf->name, mnt);
	else if (r < 0)
		fprintf(stderr, "efsfs: %s: the daemon's control socket: %s\n", conf->name,
			strerror(-r));
	free(answer);
	return r < 0 ? r : -EIO;
}

/* Blocks the signals the main thread takes through a signalfd (every
 * thread started afterwards inherits the mask); SIGPIPE ignored. */
static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

int efsfs_mount(const struct efsfs_mount_req *req)
{
	struct conf *conf = NULL;
	struct fs *fs = NULL;
	char err[1024], busy[1024] = "", mnt[PATH_MAX];
	struct mount_ctx mc = { req->name, mnt };
	struct mount_params mp = { mnt, req->opts, req->subdir, req->access_point, NULL, -1 };
	const char *name = req->name;
	int pipefd[2] = { -1, -1 };
	int r, code = 1, start_lock = -1, sigfd = -1;
	bool forked = false;

	log_init("efsfs", false, req->debug ? LOG_DEBUG : LOG_INFO);
	r = conf_load(req->config, name, &conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: %s\n", err);
		return 1;
	}
	if (conf->warning)
		fprintf(stderr, "efsfs: warning: %s\n", conf->warning);
	if (check_mount_point(name, req->mountpoint, mnt, sizeof(mnt)) < 0)
		goto out;
	for (int attempt = 0; attempt < ATTACH_TRIES; attempt++) {
		if (start_lock < 0)
			start_lock = take_start_lock(conf);
		r = attach_running(conf, req, mnt);
		if (r == 0) {
			code = 0;
			goto out;
		}
		if (r == -EAGAIN) {
			/* a closing daemon: wait for its control socket to go */
			for (int i = 0; i < ATTACH_WAIT_MS / 10 && daemon_listening(conf->data_dir);
			     i++)
				usleep(10000);
			continue;
		}
		if (r != -ENOENT)
			goto out;
		/* no daemon: start one */
		if (!req->foreground) {
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
				pipefd[1] = -1;
				code = wait_child(pid, pipefd[0], busy, sizeof(busy));
				pipefd[0] = -1;
				if (code != EX_BUSY)
					goto out;
				code = 1;
				if (!daemon_listening(conf->data_dir))
					break;  /* a tool, or a daemon without a socket */
				continue;       /* a daemon came up meanwhile: attach to it */
			}
			forked = true;
			close(pipefd[0]);
			pipefd[0] = -1;
			close_inherited(pipefd[1]);
			start_lock = -1;    /* closed: the parent's copy holds it */
			setsid();
		}
		sigfd = block_signals();
		if (sigfd < 0) {
			log_err("%s: signalfd: %s", name, strerror(errno));
			goto out;
		}
		r = open_for_mount(conf, &mc, read_only_option(req->opts), &fs, busy,
				   sizeof(busy));
		if (r == -EBUSY) {
			if (forked) {
				/* the parent tries attaching again, then says so */
				if (write(pipefd[1], "B", 1) != 1 ||
				    write(pipefd[1], busy, strlen(busy)) < 0) {
					/* the parent is gone */
				}
				_exit(EX_BUSY);
			}
			close(sigfd);
			sigfd = -1;
			if (!daemon_listening(conf->data_dir))
				break;
			continue;
		}
		if (r < 0)
			goto out;
		code = serve(fs, conf, &mp, req->debug, sigfd, &pipefd[1], &start_lock) == 0 ? 0 : 1;
		goto out;
	}
	fprintf(stderr, "efsfs: %s\n", busy[0] ? busy : "cannot attach to or start the daemon");
out:
	if (start_lock >= 0)
		close(start_lock);
	if (sigfd >= 0)
		close(sigfd);
	fs_close(fs);
	conf_free(conf);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (forked)
		_exit(code);      /* the forked daemon */
	return code;
}
