/* objstore_file.c - the file:///abs/path object store driver: key "a/b/c" is the file
 * path/a/b/c.  It is the embedded default IA store and the test double of S3.
 *
 * put writes a temporary file (".objstore-tmp.XXXXXX") in the key's directory, fsyncs it,
 * renames it over the key and fsyncs the directory, so a reader or a crash sees the old
 * object or the new one, never a torn one; directories created on the way are fsynced into
 * their parents.  A crash can leave a temporary file behind: list never reports them, and
 * keys whose components start with the temporary prefix are rejected (-EINVAL).
 * Objects are made 0600 in 0700 directories: cold data is as private as the data directory.
 * All state is immutable after open, so every call is thread-safe.
 */
#include "common/buf.h"
#include "store/objstore.h"
#include "store/objstore_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_PREFIX ".objstore-tmp."

struct file_store {
	char *root;                 /* absolute, no trailing '/' (except for "/" itself) */
};

static struct file_store *fs_of(struct objstore *s)
{
	return s->priv;
}

static bool has_tmp_component(const char *key)
{
	for (const char *p = key; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (!strncmp(p, TMP_PREFIX, strlen(TMP_PREFIX)))
			return true;
	}
	return false;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* mkdir -p of the directories of key below root; each new directory is fsynced into its
 * parent.  path is root/key and is modified temporarily. */
static int make_parents(struct objstore *s, char *path, size_t root_len, char *err, size_t errlen)
{
	for (char *p = path + root_len + 1; (p = strchr(p, '/')); p++) {
		int r = 0;

		*p = '\0';
		if (mkdir(path, 0700) == 0) {
			char *slash = strrchr(path, '/');

			*slash = '\0';
			r = fsync_path(slash == path ? "/" : path);
			*slash = '/';
		} else if (errno != EEXIST) {
			r = -errno;
		}
		if (r < 0) {
			objstore_errf(err, errlen,
				      "PUT %s: mkdir %s: %s", s->url, path, strerror(-r));
			*p = '/';
			return r;
		}
		*p = '/';
	}
	return 0;
}

static int file_put(struct objstore *s, const char *key, const void *buf, size_t len,
		    char *err, size_t errlen)
{
	struct file_store *fs = fs_of(s);
	char *path = NULL, *tmp = NULL, *dir;
	const char *what = "write";
	size_t done = 0;
	int fd = -1, r;

	if (has_tmp_component(key)) {
		objstore_errf(err, errlen, "PUT %s/%s: reserved key name", s->url, key);
		return -EINVAL;
	}
	if (asprintf(&path, "%s/%s", fs->root, key) < 0)
		return -ENOMEM;
	r = make_parents(s, path, strlen(fs->root), err, errlen);
	if (r < 0)
		goto out_free;
	dir = strrchr(path, '/');
	*dir = '\0';
	r = asprintf(&tmp, "%s/" TMP_PREFIX "XXXXXX", path);
	*dir = '/';
	if (r < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto out_free;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		what = "create temporary file";
		goto out_err;
	}
	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_unlink;
		}
		done += (size_t)n;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
		r = -errno;
		what = "fsync";
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		what = "close";
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		what = "rename";
		goto out_unlink;
	}
	*dir = '\0';
	r = fsync_path(dir == path ? "/" : path);
	*dir = '/';
	if (r < 0) {
		what = "fsync directory";
		goto out_err;
	}
	r = 0;
	goto out_free;

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out_err:
	objstore_errf(err, errlen, "PUT %s/%s: %s: %s", s->url, key, what, strerror(-r));
out_free:
	free(tmp);
	free(path);
	return r;
}

/* Opens key's file for reading: an fd, -ENOENT when there is none (or it
 * is not a regular file, or a path component is not a directory), else
 * -errno.  st: its stat. */
static int open_object(struct file_store *fs, const char *key, struct stat *st)
{
	char *path = NULL;
	int fd, r;

	if (asprintf(&path, "%s/%s", fs->root, key) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? (errno == ENOTDIR ? -ENOENT : -errno) : 0;
	free(path);
	if (fd < 0)
		return r;
	if (fstat(fd, st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static int file_get(struct objstore *s, const char *key, void **ret_buf, size_t *ret_len,
		    char *err, size_t errlen)
{
	struct file_store *fs = fs_of(s);
	struct buf b = BUF_INIT;
	struct stat st;
	int fd, r;

	fd = open_object(fs, key, &st);
	if (fd < 0) {
		r = fd;
		goto out_err;
	}
	/* +1 so that EOF is seen without growing */
	if (buf_grow(&b, (size_t)st.st_size + 1) < 0) {
		r = -ENOMEM;
		goto out_err;
	}
	for (;;) {
		ssize_t n;

		if (b.len + 1 == b.cap && buf_grow(&b, b.cap) < 0) {
			r = -ENOMEM;
			goto out_err;
		}
		n = read(fd, b.p + b.len, b.cap - 1 - b.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_err;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.p[b.len] = '\0';
	}
	close(fd);
	*ret_buf = buf_take(&b, ret_len);     /* cannot fail: b.p is allocated */
	return 0;

out_err:
	if (r == -ENOENT)
		objstore_errf(err, errlen, "GET %s/%s: no such key", s->url, key);
	else
		objstore_errf(err, errlen, "GET %s/%s: %s", s->url, key, strerror(-r));
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return r;
}

/* pread of [off, off + len): short at the end of the object, empty past it. */
static int file_get_range(struct objstore *s, const char *key, uint64_t off, size_t len,
			  void **ret_buf, size_t *ret_len, char *err, size_t errlen)
{
	struct file_store *fs = fs_of(s);
	char *buf = NULL;
	size_t got = 0;
	struct stat st;
	int fd, r;

	fd = open_object(fs, key, &st);
	if (fd < 0) {
		r = fd;
		goto out_err;
	}
	buf = malloc(len + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out_err;
	}
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*ret_buf = buf;
	*ret_len = got;
	return 0;

out_err:
	if (r == -ENOENT)
		objstore_errf(err, errlen, "GET %s/%s: no such key", s->url, key);
	else
		objstore_errf(err, errlen, "GET %s/%s bytes %llu+%zu: %s", s->url, key,
			      (unsigned long long)off, len, strerror(-r));
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

static int file_del(struct objstore *s, const char *key, char *err, size_t errlen)
{
	struct file_store *fs = fs_of(s);
	char *path = NULL;
	int r = 0;

	if (asprintf(&path, "%s/%s", fs->root, key) < 0)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
		r = -errno;
		objstore_errf(err, errlen, "DEL %s/%s: %s", s->url, key, strerror(-r));
	}
	free(path);
	return r;
}

/* Walks directory fd whose key prefix is rel (empty or ending in '/'); reports every
 * regular file whose key starts with prefix. */
static int file_walk(struct objstore *s, int fd, char *rel, size_t rel_len, size_t rel_cap,
		     const char *prefix, objstore_list_cb cb, void *arg, char *err, size_t errlen)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		close(fd);
		objstore_errf(err, errlen, "LIST %s: opendir %s: %s", s->url, rel, strerror(-r));
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		size_t n = strlen(de->d_name);
		bool is_dir, is_reg;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			continue;
		if (rel_len + n + 2 > rel_cap) {
			r = -ENAMETOOLONG;
			objstore_errf(err, errlen, "LIST %s: path too long below %s", s->url, rel);
			break;
		}
		memcpy(rel + rel_len, de->d_name, n + 1);
		/* prune subtrees and files that cannot match the prefix */
		if (strncmp(rel, prefix, rel_len + n < strlen(prefix) ? rel_len + n : strlen(prefix)))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;   /* deleted meanwhile */
			r = -errno;
			objstore_errf(err, errlen,
				      "LIST %s: stat %s: %s", s->url, rel, strerror(-r));
			break;
		}
		is_dir = S_ISDIR(st.st_mode);
		is_reg = S_ISREG(st.st_mode);
		if (is_reg && rel_len + n >= strlen(prefix)) {
			r = cb(rel, (uint64_t)st.st_size, arg);
			if (r)
				break;
		} else if (is_dir) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (sub < 0) {
				if (errno == ENOENT)
					continue;
				r = -errno;
				objstore_errf(err, errlen, "LIST %s: open %s: %s", s->url, rel,
					      strerror(-r));
				break;
			}
			rel[rel_len + n] = '/';
			rel[rel_len + n + 1] = '\0';
			r = file_walk(s, sub, rel, rel_len + n + 1, rel_cap, prefix, cb, arg, err,
				      errlen);
			if (r)
				break;
		}
	}
	if (!de && errno && !r) {
		r = -errno;
		objstore_errf(err, errlen, "LIST %s: readdir: %s", s->url, strerror(-r));
	}
	rel[rel_len] = '\0';
	closedir(d);
	return r;
}

static int file_list(struct objstore *s, const char *prefix, objstore_list_cb cb, void *arg,
		     char *err, size_t errlen)
{
	struct file_store *fs = fs_of(s);
	size_t cap = 4096 + strlen(prefix);
	char *rel, *start = NULL;
	const char *slash = strrchr(prefix, '/');
	size_t rel_len = 0;
	int fd, r;

	/* start at the deepest directory the prefix names completely */
	if (slash) {
		char *dirpart = strndup(prefix, (size_t)(slash - prefix));

		if (!dirpart)
			return -ENOMEM;
		if (!objstore_key_valid(dirpart)) {
			objstore_errf(err, errlen,
				      "LIST %s: invalid prefix \"%s\"", s->url, prefix);
			free(dirpart);
			return -EINVAL;
		}
		free(dirpart);
		rel_len = (size_t)(slash - prefix) + 1;
	}
	rel = malloc(cap);
	if (!rel)
		return -ENOMEM;
	memcpy(rel, prefix, rel_len);
	rel[rel_len] = '\0';
	if (asprintf(&start, "%s/%s", fs->root, rel) < 0) {
		free(rel);
		return -ENOMEM;
	}
	fd = open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = (errno == ENOENT || errno == ENOTDIR) ? 0 : -errno;
		if (r < 0)
			objstore_errf(err, errlen,
				      "LIST %s: open %s: %s", s->url, start, strerror(-r));
	} else {
		r = file_walk(s, fd, rel, rel_len, cap, prefix, cb, arg, err, errlen);
	}
	free(start);
	free(rel);
	return r;
}

static void file_free(struct objstore *s)
{
	struct file_store *fs = fs_of(s);

	if (!fs)
		return;
	free(fs->root);
	free(fs);
	s->priv = NULL;
}

static const struct objstore_ops file_ops = {
	.scheme = "file",
	.get = file_get,
	.get_range = file_get_range,
	.put = file_put,
	.del = file_del,
	.list = file_list,
	.free = file_free,
};

/* mkdir -p path (absolute). */
static int mkdir_p(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int r = -errno;

			*p = c;
			return r;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

int objstore_file_open(struct objstore *s, const char *rest, const struct objstore_conf *conf,
		       char *err, size_t errlen)
{
	struct file_store *fs;
	struct stat st;
	size_t n;
	int r;

	if (rest[0] != '/') {
		objstore_errf(err, errlen, "object store URL %s: file:// needs an absolute path "
			      "(file:///abs/path)", s->url);
		return -EINVAL;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->root = strdup(rest);
	if (!fs->root) {
		free(fs);
		return -ENOMEM;
	}
	n = strlen(fs->root);
	while (n > 1 && fs->root[n - 1] == '/')
		fs->root[--n] = '\0';
	if (n == 1) {
		/* "/" as a store would let keys name any file on the system */
		objstore_errf(err, errlen, "object store URL %s: refusing the root directory",
			      s->url);
		r = -EINVAL;
		goto out_free;
	}
	r = conf && conf->no_create ? 0 : mkdir_p(fs->root);
	if (r == 0 && stat(fs->root, &st) < 0)
		r = -errno;
	if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	if (r == -ENOENT && conf && conf->no_create)
		r = 0;            /* nothing stored yet: gets find nothing, a list is empty */
	if (r < 0) {
		objstore_errf(err, errlen, "object store URL %s: %s: %s", s->url, fs->root,
			      strerror(-r));
		goto out_free;
	}
	s->ops = &file_ops;
	s->priv = fs;
	return 0;

out_free:
	free(fs->root);
	free(fs);
	return r;
}
