/* daemon.c - the mount daemon: opens the file system, mounts it through
 * /dev/fuse and serves kernel requests on the request loop (loop.c).
 *
 * Without -f the process forks first and the child does all the work; the
 * parent waits on a pipe and exits 0 only once the mount is live, or with
 * the child's exit code after the child has printed why it failed.  So
 * `efsfs mount` and mount(8) report errors on the terminal, and SQLite's
 * locks are never carried across a fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/log.h"
#include "fuse/control.h"
#include "fuse/fuse_i.h"
#include "tier/tier.h"

#define EFSFS_COMMIT_MS 10     /* the longest metadata waits for its commit */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct efsfs *e = userdata;

	/* Passthrough and the writeback cache exclude each other (the kernel
	 * refuses both); passthrough is the faster for local data. */
	e->passthrough = efsfs_pt_negotiate(e);
	if (!e->passthrough && e->conf->writeback_cache &&
	    (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		e->writeback = true;
	}
	fs_set_writeback(e->fs, e->writeback);
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	/* with passthrough, passthrough.c reads requests whole (kill flags) */
	if ((conn->capable & FUSE_CAP_SPLICE_READ) && !e->passthrough)
		conn->want |= FUSE_CAP_SPLICE_READ;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* suid/sgid clearing on write and chown is left to the kernel */
	conn->want &= ~(unsigned)FUSE_CAP_HANDLE_KILLPRIV;
	/* open(O_TRUNC) of an existing file then comes as open + a size 0
	 * setattr, which truncates here and clears set-user-ID bits the way
	 * the kernel decides; with atomic O_TRUNC the open alone would have
	 * to do both, and the kernel's cached size hid that it did not. */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	log_info("%s: FUSE %u.%u, %s", e->conf->name, conn->proto_major, conn->proto_minor,
		 e->passthrough ? "passthrough" : e->writeback ? "writeback cache" : "write-through");
}

static const struct fuse_lowlevel_ops *efsfs_ops(void)
{
	static struct fuse_lowlevel_ops ops;

	if (!ops.init) {
		ops.init = op_init;
		efsfs_dir_ops(&ops);
		efsfs_file_ops(&ops);
		efsfs_xattr_ops(&ops);
	}
	return &ops;
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

/* Builds "-o fsname=..,subtype=efsfs,default_permissions[,allow_other][,opts]". */
static int build_args(struct fuse_args *args, const struct conf *conf, const char *opts,
		      bool debug)
{
	char o[4096];
	bool other = conf->allow_other && (geteuid() == 0 || user_allow_other());

	if (conf->allow_other && !other)
		log_warn("%s: allow_other needs root or user_allow_other in /etc/fuse.conf; "
			 "only you will see this mount", conf->name);
	if (snprintf(o, sizeof(o), "fsname=%s,subtype=efsfs,default_permissions%s%s%s",
		     conf->name, other ? ",allow_other" : "", opts && *opts ? "," : "",
		     opts ? opts : "") >= (int)sizeof(o))
		return -E2BIG;
	if (fuse_opt_add_arg(args, "efsfs") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, o) || (debug && fuse_opt_add_arg(args, "-d")))
		return -ENOMEM;
	return 0;
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

static bool fetching(void *fs)
{
	return fs_fetching(fs);
}

int efsfs_mount(const char *config, const char *name, const char *mountpoint, const char *opts,
		bool foreground, bool debug)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct control *ctl = NULL;
	struct efsfs e;
	struct conf *conf = NULL;
	char err[1024], mnt[PATH_MAX];
	struct stat st;
	int pipefd[2] = { -1, -1 };
	int r, code = 1;

	memset(&e, 0, sizeof(e));
	log_init("efsfs", false, debug ? LOG_DEBUG : LOG_INFO);
	r = conf_load(config, name, &conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "efsfs: %s\n", err);
		return 1;
	}
	if (!realpath(mountpoint, mnt) || stat(mnt, &st) < 0) {
		fprintf(stderr, "efsfs: mount point %s: %s\n", mountpoint, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "efsfs: mount point %s: %s\n", mountpoint, strerror(ENOTDIR));
		goto out;
	}
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

	e.conf = conf;
	e.debug = debug;
	e.attr_timeout = conf->attr_timeout;
	e.entry_timeout = conf->entry_timeout;
	r = fs_open(conf, mnt, &e.fs, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		goto out;
	}
	log_notes(name, fs_notes(e.fs));
	/* Metadata operations are committed together every few milliseconds
	 * (and at every fsync): on this kind of VM one SQLite commit costs
	 * more than the FUSE round trips of the operation it records. */
	r = fs_set_group_commit(e.fs, EFSFS_COMMIT_MS);
	if (r < 0)
		log_warn("%s: group commit: %s; committing every operation", name, strerror(-r));
	r = build_args(&args, conf, opts, debug);
	if (r < 0) {
		log_err("%s: mount options: %s", name, strerror(-r));
		goto out;
	}
	e.se = fuse_session_new(&args, efsfs_ops(), sizeof(struct fuse_lowlevel_ops), &e);
	if (!e.se) {
		log_err("%s: bad mount options '%s' (see the FUSE messages above)", name,
			opts ? opts : "");
		goto out;
	}
	if (fuse_set_signal_handlers(e.se) != 0) {
		log_err("%s: cannot install signal handlers", name);
		goto out;
	}
	if (fuse_session_mount(e.se, mnt) != 0) {
		log_err("%s: cannot mount on %s (see the FUSE messages above)", name, mnt);
		fuse_remove_signal_handlers(e.se);
		goto out;
	}
	efsfs_pt_install(&e);
	log_info("%s (%s) mounted on %s, data in %s", name, fs_id(e.fs), mnt, conf->data_dir);
	if (!foreground) {
		char ok = 'K';

		if (write(pipefd[1], &ok, 1) != 1) {
			/* the parent is gone; serve anyway */
		}
		close(pipefd[1]);
		pipefd[1] = -1;
		detach_stdio();
		log_init("efsfs", true, debug ? LOG_DEBUG : LOG_INFO);
		if (chdir("/") < 0) {
			/* keep the current directory */
		}
	}
	r = tier_start(e.fs);
	if (r < 0)
		log_warn("%s: lifecycle thread: %s; lifecycle runs only on demand", name,
			 strerror(-r));
	r = control_start(e.fs, &ctl);
	if (r < 0)
		log_warn("%s: control socket: %s; 'efsfs stats' and 'efsfs lifecycle' will not "
			 "reach this mount", name, strerror(-r));
	r = efsfs_loop_run(e.se, (unsigned)conf->fuse_spin_us, 16, fetching, e.fs);
	control_stop(ctl);
	fuse_remove_signal_handlers(e.se);
	fuse_session_unmount(e.se);
	log_info("%s unmounted from %s", name, mnt);
	code = r == 0 ? 0 : 1;
out:
	if (e.se)
		fuse_session_destroy(e.se);
	fuse_opt_free_args(&args);
	fs_close(e.fs);
	conf_free(conf);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (!foreground && pipefd[0] < 0)
		_exit(code);      /* the forked daemon */
	return code;
}
