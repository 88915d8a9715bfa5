/* safepath.c - ownership and mode checks along a path, and opening beneath
 * a directory without symbolic links (see safepath.h for the rule). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/safepath.h"

#define SAFE_MAX_LINKS  40
#define SAFE_MAX_DEPTH  256

static bool owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* The walk of safe_dir_open: a stack of O_PATH fds from "/" down, the
 * path they name, and what is still to walk. */
struct walk {
	int fd[SAFE_MAX_DEPTH];
	unsigned depth;
	char shown[PATH_MAX];
	char todo[PATH_MAX];
};

static void walk_pop(struct walk *w)
{
	char *slash;

	if (w->depth <= 1)
		return;                 /* ".." of "/" is "/" */
	close(w->fd[--w->depth]);
	slash = strrchr(w->shown, '/');
	if (slash == w->shown)
		slash[1] = '\0';
	else
		*slash = '\0';
}

static void walk_free(struct walk *w)
{
	while (w->depth)
		close(w->fd[--w->depth]);
}

/* p past every "/" and "." component. */
static char *skip_empty(char *p)
{
	for (;;) {
		while (*p == '/')
			p++;
		if (p[0] == '.' && (p[1] == '/' || p[1] == '\0')) {
			p++;
			continue;
		}
		return p;
	}
}

/* Takes the next component of w->todo into c (NAME_MAX + 1 bytes); false
 * at the end.  *ret_last: nothing but "/" and "." follows it. */
static bool next_component(struct walk *w, char *c, bool *ret_last)
{
	char *p = skip_empty(w->todo), *end;
	size_t n;

	if (!*p) {
		w->todo[0] = '\0';
		return false;
	}
	end = strchr(p, '/');
	n = end ? (size_t)(end - p) : strlen(p);
	if (n > NAME_MAX)
		n = NAME_MAX;
	memcpy(c, p, n);
	c[n] = '\0';
	memmove(w->todo, p + n, strlen(p + n) + 1);
	*ret_last = *skip_empty(w->todo) == '\0';
	return true;
}

static int check_between(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!owner_ok(st->st_uid)) {
		snprintf(err, errlen, "%s: owned by uid %u; every directory above a data directory "
			 "or file:// store must belong to root or uid %u", path,
			 (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if ((st->st_mode & 022) && !(st->st_mode & S_ISVTX)) {
		snprintf(err, errlen, "%s: mode %04o lets group or others replace what lies below "
			 "it; chmod go-w %s, or choose another directory", path,
			 (unsigned)(st->st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

/* The last directory: ours, and tightened (or refused) when others reach it. */
static int check_last(int fd, const char *path, unsigned flags, char *note, size_t notelen,
		      char *err, size_t errlen)
{
	struct stat st;
	mode_t mode;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by the user efsfs runs as (uid %u); "
			 "chown it or choose another directory", path, (unsigned)st.st_uid,
			 (unsigned)geteuid());
		return -EPERM;
	}
	mode = st.st_mode & 07777;
	if (!(mode & 077))
		return 0;
	if (!(flags & SAFE_TIGHTEN)) {
		snprintf(err, errlen, "%s: mode %04o gives group or others access; chmod 700 %s",
			 path, (unsigned)mode, path);
		return -EPERM;
	}
	if (fchmod(fd, mode & ~(mode_t)077) < 0) {
		snprintf(err, errlen, "%s: mode %04o gives group or others access, and chmod "
			 "failed: %s", path, (unsigned)mode, strerror(errno));
		return -errno;
	}
	if (note)
		snprintf(note, notelen, "%s: mode %04o gave group or others access; tightened to "
			 "%04o", path, (unsigned)mode, (unsigned)(mode & ~(mode_t)077));
	return 0;
}

/* Follows the symbolic link nfd (named c below the top of w): checks its
 * owner and puts its target in front of what is left to walk. */
static int walk_link(struct walk *w, int nfd, const struct stat *st, const char *c,
		     char *err, size_t errlen)
{
	char target[PATH_MAX], rest[PATH_MAX];
	ssize_t n;

	if (!owner_ok(st->st_uid)) {
		snprintf(err, errlen, "%s%s%s: a symbolic link owned by uid %u (only links of "
			 "root or uid %u are followed)", w->shown, w->depth > 1 ? "/" : "", c,
			 (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	n = readlinkat(nfd, "", target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(err, errlen, "%s/%s: %s", w->shown, c, strerror(errno));
		return -errno;
	}
	target[n] = '\0';
	memcpy(rest, w->todo, strlen(w->todo) + 1);
	if ((size_t)snprintf(w->todo, sizeof(w->todo), "%s/%s", target, rest) >=
	    sizeof(w->todo)) {
		snprintf(err, errlen, "%s/%s: %s", w->shown, c, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	if (target[0] == '/')
		while (w->depth > 1)
			walk_pop(w);
	return 0;
}

int safe_dir_open(const char *path, unsigned flags, int *ret_fd, char *note, size_t notelen,
		  char *err, size_t errlen)
{
	struct walk *w;
	char c[NAME_MAX + 1];
	unsigned links = 0;
	bool last = false;
	int fd, r = 0;

	if (note && notelen)
		note[0] = '\0';
	if (path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path);
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (strlen(path) >= sizeof(w->todo)) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		free(w);
		return -ENAMETOOLONG;
	}
	strcpy(w->todo, path);
	strcpy(w->shown, "/");
	w->fd[0] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->fd[0] < 0) {
		r = -errno;
		snprintf(err, errlen, "/: %s", strerror(errno));
		goto out;
	}
	w->depth = 1;
	while (next_component(w, c, &last)) {
		int top = w->fd[w->depth - 1], nfd;
		struct stat st;
		size_t len;

		if (strcmp(c, "..") == 0) {
			walk_pop(w);
			continue;
		}
		nfd = openat(top, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && (flags & SAFE_CREATE)) {
			if (mkdirat(top, c, last ? 0700 : 0755) < 0 && errno != EEXIST) {
				r = -errno;
				snprintf(err, errlen, "%s%s%s: %s", w->shown, w->depth > 1 ? "/" : "",
					 c, strerror(errno));
				goto out;
			}
			nfd = openat(top, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0 || fstat(nfd, &st) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s%s%s: %s", w->shown, w->depth > 1 ? "/" : "", c,
				 strerror(errno));
			if (nfd >= 0)
				close(nfd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			r = ++links > SAFE_MAX_LINKS ? -ELOOP : 0;
			if (r < 0)
				snprintf(err, errlen, "%s: %s", path, strerror(ELOOP));
			else
				r = walk_link(w, nfd, &st, c, err, errlen);
			close(nfd);
			if (r < 0)
				goto out;
			continue;
		}
		len = strlen(w->shown);
		if (w->depth >= SAFE_MAX_DEPTH ||
		    len + strlen(c) + 2 > sizeof(w->shown)) {
			close(nfd);
			r = -ENAMETOOLONG;
			snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
			goto out;
		}
		snprintf(w->shown + len, sizeof(w->shown) - len, "%s%s", len > 1 ? "/" : "", c);
		w->fd[w->depth++] = nfd;
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			snprintf(err, errlen, "%s: %s", w->shown, strerror(ENOTDIR));
			goto out;
		}
		if (!last) {
			r = check_between(w->shown, &st, err, errlen);
			if (r < 0)
				goto out;
		}
	}
	fd = openat(w->fd[w->depth - 1], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", w->shown, strerror(errno));
		goto out;
	}
	r = check_last(fd, w->shown, flags, note, notelen, err, errlen);
	if (r < 0) {
		close(fd);
		goto out;
	}
	*ret_fd = fd;
out:
	walk_free(w);
	free(w);
	return r;
}

int safe_entry_tighten(int dirfd, const char *name, const char *path, bool *ret_tightened,
		       char *err, size_t errlen)
{
	struct stat st;
	mode_t mode;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s: a symbolic link; efsfs follows none inside a data "
			 "directory", path);
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by the user efsfs runs as (uid %u)",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	mode = st.st_mode & 07777;
	if (!(mode & 077))
		return 0;
	if (fchmodat(dirfd, name, mode & ~(mode_t)077, 0) < 0) {
		snprintf(err, errlen, "%s: mode %04o gives group or others access, and chmod "
			 "failed: %s", path, (unsigned)mode, strerror(errno));
		return -errno;
	}
	*ret_tightened = true;
	return 0;
}

static atomic_bool no_openat2;

int safe_openat(int dirfd, const char *rel, int flags, mode_t mode)
{
	if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		struct open_how how = {
			.flags = (unsigned)(flags | O_CLOEXEC),
			.mode = (flags & O_CREAT) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
		};
		long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
		atomic_store(&no_openat2, true);    /* before Linux 5.6 */
	}
	return safe_openat_walk(dirfd, rel, flags, mode);
}

int safe_openat_walk(int dirfd, const char *rel, int flags, mode_t mode)
{
	char buf[PATH_MAX], *c, *save = NULL, *next;
	int cur = dirfd, fd, r;

	if (rel[0] == '/')
		return -EXDEV;
	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	c = strtok_r(buf, "/", &save);
	if (!c)
		return -EINVAL;
	for (; c; c = next) {
		next = strtok_r(NULL, "/", &save);
		if (strcmp(c, ".") == 0 && next)
			continue;
		if (strcmp(c, "..") == 0) {
			r = -EXDEV;
			goto out;
		}
		if (!next) {
			fd = openat(cur, c, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			r = fd < 0 ? -errno : fd;
			goto out;
		}
		fd = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			struct stat st;

			r = -errno;
			if (r == -ENOTDIR && fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				r = -ELOOP;
			goto out;
		}
		if (cur != dirfd)
			close(cur);
		cur = fd;
	}
	r = -EINVAL;
out:
	if (cur != dirfd)
		close(cur);
	return r;
}

int safe_key_check(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "key_file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key_file %s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "key_file %s: owned by uid %u, not by the user efsfs runs as "
			 "(uid %u); chown it", path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "key_file %s: mode %04o lets group or others read or "
			 "replace the key; chmod 600 %s", path, (unsigned)(st.st_mode & 07777),
			 path);
		return -EPERM;
	}
	return 0;
}

/* What exists of path resolved, the rest appended as written. */
static void canon(const char *path, char out[PATH_MAX])
{
	char parent[PATH_MAX];
	const char *slash;

	if (realpath(path, out))
		return;
	slash = strrchr(path, '/');
	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(parent)) {
		snprintf(out, PATH_MAX, "%s", path);
		return;
	}
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	canon(parent, out);
	if (strlen(out) + strlen(slash) < PATH_MAX)
		strcat(out, strcmp(out, "/") == 0 ? slash + 1 : slash);
}

static bool within(const char *a, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(a, dir, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

bool safe_same_tree(const char *file, const char *dir)
{
	char f[PATH_MAX], d[PATH_MAX], fdir[PATH_MAX];
	char *slash;

	canon(file, f);
	canon(dir, d);
	memcpy(fdir, f, sizeof(fdir));
	slash = strrchr(fdir, '/');
	if (slash && slash != fdir)
		*slash = '\0';
	else if (slash)
		slash[1] = '\0';
	return within(d, fdir) || within(f, d);
}
