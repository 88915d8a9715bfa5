/* session.c - FUSE sessions (fuse/session.h): one kernel connection
 * serving an open struct fs at a mount point, with its options negotiated
 * in op_init, its passthrough state (passthrough.c), its request loop
 * (loop.c) and, when negotiated, its io_uring ring entries (uring.c).  Several sessions of one file system may run in one process.
 *
 * Fields of struct efsfs_session: see fuse_i.h.  mounted is written and
 * read by the thread that owns the session (new, mount, unmount, destroy).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/fuse_i.h"

#define SESSION_MAX_THREADS 16

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct efsfs_session *e = userdata;
	bool uring;

	/* Passthrough and the writeback cache exclude each other (the kernel
	 * refuses both); passthrough is the faster for local data.  A session
	 * that checks permissions itself takes no writeback cache: with it the
	 * kernel sends utimes(now) and a truncate's times as explicit times,
	 * which only the owner may set (view.c). */
	efsfs_view_init(e, conn);
	/* a meter that throttles must see every byte: no passthrough then */
	e->passthrough = !meter_throttles(e->meter) && efsfs_pt_negotiate(e);
	if (!e->passthrough && e->conf->writeback_cache && !e->view.checks &&
	    (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		e->writeback = true;
	}
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	/* with passthrough, passthrough.c reads requests whole (kill flags) */
	if ((conn->capable & FUSE_CAP_SPLICE_READ) && !e->passthrough)
		conn->want |= FUSE_CAP_SPLICE_READ;
	/* READDIRPLUS, adaptive (libfuse's default, said here): the first
	 * chunk of a listing comes with attributes, the rest only once the
	 * caller looks them up.  With long entry timeouts the attributes fill
	 * the kernel's cache for the stats that follow; on a fresh mount over
	 * 4,000 files `ls -R` took 0.15 s adaptive and 0.30 s with always-plus,
	 * `find -ls` 0.22 s adaptive, 0.21 s always, 1.74 s without plus. */
	conn->want |= conn->capable & (FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* suid/sgid clearing on write and chown is left to the kernel */
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
	/* open(O_TRUNC) of an existing file then comes as open + a size 0
	 * setattr, which truncates here and clears set-user-ID bits the way
	 * the kernel decides; with atomic O_TRUNC the open alone would have
	 * to do both, and the kernel's cached size hid that it did not. */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	uring = efsfs_uring_negotiate(e);
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	efsfs_notify_init(e);
	log_info("%s: FUSE %u.%u, %s%s", e->conf->name, conn->proto_major, conn->proto_minor,
		 e->passthrough ? "passthrough" : e->writeback ? "writeback cache" : "write-through",
		 uring ? ", io_uring asked for" : "");
}

static struct fuse_lowlevel_ops ops;
static pthread_once_t ops_once = PTHREAD_ONCE_INIT;

static void fill_ops(void)
{
	ops.init = op_init;
	efsfs_dir_ops(&ops);
	efsfs_file_ops(&ops);
	efsfs_xattr_ops(&ops);
}

static bool user_allow_other(void)
{
	char line[256];
	FILE *f = fopen("/etc/fuse.conf", "re");
	bool yes = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "user_allow_other", 16) == 0)
			yes = true;
	fclose(f);
	return yes;
}

/* Whether the comma-separated opts hold an option starting with prefix. */
static bool has_option(const char *opts, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *o = opts; o && *o; o = strchr(o, ',') ? strchr(o, ',') + 1 : "")
		if (strncmp(o, prefix, n) == 0)
			return true;
	return false;
}

/* Builds "-o fsname=..,subtype=efsfs[,default_permissions][,allow_other][,opts]":
 * default_permissions unless the session checks permissions itself
 * (view.c: the kernel would check the caller, not the session's identity),
 * and then opts may not ask for it either (-EINVAL, saying so in err).
 * fsname (the mount's source in /proc/mounts) is the name unless opts has
 * one: mount.efsfs passes the source as written ("NAME:/"), so that mount(8)
 * finds an fstab line's file system mounted. */
static int build_args(struct fuse_args *args, const struct conf *conf, const char *opts,
		      bool debug, bool kernel_checks, char *err, size_t errlen)
{
	char o[4096], fsname[128] = "";
	bool other = conf->allow_other && (geteuid() == 0 || user_allow_other());

	if (!kernel_checks && has_option(opts, "default_permissions")) {
		snprintf(err, errlen, "mount option default_permissions: this mount checks "
			 "permissions itself, as its access point's PosixUser or with root "
			 "squashed (client_root_access = false); the kernel would check the "
			 "calling process instead: leave the option out");
		return -EINVAL;
	}

	if (conf->allow_other && !other)
		log_warn("%s: allow_other needs root or user_allow_other in /etc/fuse.conf; "
			 "only you will see this mount", conf->name);
	if (!has_option(opts, "fsname="))
		snprintf(fsname, sizeof(fsname), "fsname=%s,", conf->name);
	if (snprintf(o, sizeof(o), "%ssubtype=efsfs%s%s%s%s",
		     fsname, kernel_checks ? ",default_permissions" : "",
		     other ? ",allow_other" : "", opts && *opts ? "," : "",
		     opts ? opts : "") >= (int)sizeof(o)) {
		snprintf(err, errlen, "mount options: %s", strerror(E2BIG));
		return -E2BIG;
	}
	if (fuse_opt_add_arg(args, "efsfs") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, o) || (debug && fuse_opt_add_arg(args, "-d"))) {
		snprintf(err, errlen, "mount options: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

static bool fetching(void *fs)
{
	return fs_fetching(fs);
}

int efsfs_session_new(struct fs *fs, const struct efsfs_session_opts *o,
		      struct efsfs_session **ret_s, char *err, size_t errlen)
{
	const struct conf *conf = fs_conf(fs);
	struct efsfs_session *e;
	int r;

	if ((size_t)snprintf(NULL, 0, "%s", o->mountpoint) >= sizeof(e->mountpoint)) {
		snprintf(err, errlen, "mount point %s: %s", o->mountpoint, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	e->fs = fs;
	e->conf = conf;
	e->debug = o->debug;
	e->meter = o->meter;
	e->attr_timeout = conf->attr_timeout;
	e->entry_timeout = conf->entry_timeout;
	e->negative_timeout = conf->negative_timeout;
	e->max_threads = o->max_threads ? o->max_threads : SESSION_MAX_THREADS;
	snprintf(e->mountpoint, sizeof(e->mountpoint), "%s", o->mountpoint);
	atomic_init(&e->pt_opens, 0);
	atomic_init(&e->uring, NULL);
	atomic_init(&e->uring_served, 0);
	sem_init(&e->wake, 0, 0);
	efsfs_pt_init(e);
	e->args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	r = efsfs_view_setup(e, o, err, errlen);
	if (r < 0)
		goto fail;
	if (efsfs_view_per_caller(e)) {
		/* callers of differing identity share the kernel's dentries, and
		 * only a LOOKUP lets us check each one's search (view.c) */
		e->entry_timeout = 0;
		e->negative_timeout = 0;
	}
	r = build_args(&e->args, conf, o->mount_opts, o->debug, !e->view.checks, err, errlen);
	if (r < 0)
		goto fail;
	pthread_once(&ops_once, fill_ops);
	e->se = fuse_session_new(&e->args, &ops, sizeof(ops), e);
	if (!e->se) {
		snprintf(err, errlen, "bad mount options '%s' (see the FUSE messages above)",
			 o->mount_opts ? o->mount_opts : "");
		r = -EINVAL;
		goto fail;
	}
	*ret_s = e;
	return 0;
fail:
	efsfs_session_destroy(e);
	return r;
}

int efsfs_session_set_signal_handlers(struct efsfs_session *s)
{
	return fuse_set_signal_handlers(s->se) == 0 ? 0 : -EINVAL;
}

void efsfs_session_remove_signal_handlers(struct efsfs_session *s)
{
	fuse_remove_signal_handlers(s->se);
}

int efsfs_session_mount(struct efsfs_session *s, char *err, size_t errlen)
{
	int r;

	efsfs_uring_prepare(s);
	if (fuse_session_mount(s->se, s->mountpoint) != 0) {
		snprintf(err, errlen, "cannot mount on %s (see the FUSE messages above)",
			 s->mountpoint);
		return -EIO;
	}
	s->mounted = true;
	efsfs_pt_install(s);
	r = efsfs_notify_start(s);
	if (r < 0)
		log_warn("%s on %s: changes made through other mounts may show late here: %s",
			 s->conf->name, s->mountpoint, strerror(-r));
	return 0;
}

int efsfs_session_mount_fd(struct efsfs_session *s, int fd, char *err, size_t errlen)
{
	char path[32];
	int r;

	/* libfuse takes "/dev/fd/N" as a connection mounted by someone else */
	efsfs_uring_prepare(s);
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	if (fuse_session_mount(s->se, path) != 0) {
		snprintf(err, errlen, "%s: not a FUSE connection (fd %d)", s->mountpoint, fd);
		return -EBADF;
	}
	efsfs_pt_install(s);
	/* an attached mount is told of the other mounts' changes too */
	r = efsfs_notify_start(s);
	if (r < 0)
		log_warn("%s on %s: changes made through other mounts may show late here: %s",
			 s->conf->name, s->mountpoint, strerror(-r));
	return 0;
}

struct efsfs_kmount {
	struct fuse_session *se;
	struct fuse_args args;
	struct efsfs_kmount *next;   /* in handed_over */
};

int efsfs_kmount_new(const struct conf *conf, const char *mountpoint, const char *mount_opts,
		     bool kernel_checks, struct efsfs_kmount **ret_k, char *err, size_t errlen)
{
	static const struct fuse_lowlevel_ops none;
	struct efsfs_kmount *k = calloc(1, sizeof(*k));
	int r;

	if (!k) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	k->args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	r = build_args(&k->args, conf, mount_opts, false, kernel_checks, err, errlen);
	if (r < 0)
		goto fail;
	k->se = fuse_session_new(&k->args, &none, sizeof(none), NULL);
	if (!k->se) {
		snprintf(err, errlen, "bad mount options '%s' (see the FUSE messages above)",
			 mount_opts ? mount_opts : "");
		r = -EINVAL;
		goto fail;
	}
	if (fuse_session_mount(k->se, mountpoint) != 0) {
		snprintf(err, errlen, "cannot mount on %s (see the FUSE messages above)",
			 mountpoint);
		r = -EIO;
		goto fail;
	}
	*ret_k = k;
	return 0;
fail:
	efsfs_kmount_free(k, false);
	return r;
}

int efsfs_kmount_fd(const struct efsfs_kmount *k)
{
	return fuse_session_fd(k->se);
}

/* A mount handed to a daemon: libfuse 3.14's fuse_session_destroy does not
 * free the mount point that fuse_session_mount copied (only
 * fuse_session_unmount does, which would unmount), so such a session is
 * kept, reachable, until the process (mount.efsfs, which exits right
 * after) ends; its fd is closed now.  Only the mounting process's one
 * thread uses it. */
static struct efsfs_kmount *handed_over;

void efsfs_kmount_free(struct efsfs_kmount *k, bool unmount)
{
	if (!k)
		return;
	if (k->se && !unmount && fuse_session_fd(k->se) >= 0) {
		close(fuse_session_fd(k->se));
		k->next = handed_over;
		handed_over = k;
		return;
	}
	if (k->se) {
		if (unmount)
			fuse_session_unmount(k->se);
		fuse_session_destroy(k->se);    /* closes our fd; never unmounts */
	}
	fuse_opt_free_args(&k->args);
	free(k);
}

int efsfs_session_run(struct efsfs_session *s)
{
	char who[4200];
	int r;

	snprintf(who, sizeof(who), "%s on %s", s->conf->name, s->mountpoint);
	r = efsfs_loop_run(s->se, who, &s->wake, (unsigned)s->conf->fuse_spin_us,
			   s->max_threads, fetching, s->fs);
	/* the ring threads, started at INIT by a loop worker, end with the loop */
	efsfs_uring_stop(s);
	return r;
}

void efsfs_session_stop(struct efsfs_session *s)
{
	fuse_session_exit(s->se);
	sem_post(&s->wake);
}

void efsfs_session_unmount(struct efsfs_session *s)
{
	if (!s->mounted)
		return;
	efsfs_notify_stop(s);
	fuse_session_unmount(s->se);
	efsfs_notify_end(s);
	s->mounted = false;
}

void efsfs_session_destroy(struct efsfs_session *s)
{
	if (!s)
		return;
	efsfs_uring_stop(s);
	if (s->se) {
		efsfs_session_unmount(s);
		/* an attached mount (efsfs_session_mount_fd) is not ours to
		 * unmount, but its notifier goes before the connection */
		efsfs_notify_stop(s);
		efsfs_notify_end(s);
		fuse_session_destroy(s->se);
	}
	efsfs_view_release(s);
	fuse_opt_free_args(&s->args);
	sem_destroy(&s->wake);
	free(s);
}

bool efsfs_session_passthrough(struct efsfs_session *s)
{
	return s->passthrough;
}

uint64_t efsfs_session_passthrough_opens(struct efsfs_session *s)
{
	return atomic_load(&s->pt_opens);
}
