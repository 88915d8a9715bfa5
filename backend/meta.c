/* meta.c - the metadata engine interface's engine-neutral part (see
 * meta.h): meta_open's URL dispatch, the transaction runner (meta_txn) and
 * the meta_* dispatchers through the engine's ops table, with the test fault
 * knob of meta_chunk_get.  No state of its own: struct meta's fields are
 * documented in meta.h.  The
 * engines are meta_sqlite.c (sqlite://); postgres:// is reserved. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/meta.h"
#include "backend/meta_i.h"

int meta_open(const char *url, unsigned flags, struct meta **ret, char *err, size_t errlen)
{
	static const char sqlite_scheme[] = "sqlite://";

	if (strncmp(url, sqlite_scheme, sizeof(sqlite_scheme) - 1) == 0) {
		const char *path = url + sizeof(sqlite_scheme) - 1;

		if (path[0] != '/') {
			snprintf(err, errlen, "%s: an sqlite URL names an absolute path "
				 "(sqlite:///path/to/meta.db)", url);
			return -EINVAL;
		}
		return meta_sqlite_open(path, flags, ret, err, errlen);
	}
	if (url[0] == '/')
		return meta_sqlite_open(url, flags, ret, err, errlen);
	snprintf(err, errlen, "%s: no metadata engine for this URL (this efsfs has sqlite:///path "
		 "only)", url);
	return -EPROTONOSUPPORT;
}

/* The first line of a small file, without its newline; -errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf[0] ? 0 : -ENODATA;
}

/* The start time (field 22 of /proc/PID/stat) of a process that runs:
 * -ESRCH when there is none, or only its zombie. */
static int proc_start(int64_t pid, uint64_t *ret)
{
	char path[64], buf[1024], *p, state;
	unsigned long long start;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	if (read_line(path, buf, sizeof(buf)) < 0)
		return -ESRCH;
	/* the command name may hold anything: the fields follow its last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &state, &start) != 2)
		return -EIO;
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	*ret = start;
	return 0;
}

int meta_session_self(struct meta_session *ret)
{
	struct meta_session s = { .pid = getpid() };
	int r;

	if (read_line("/etc/machine-id", s.host, sizeof(s.host)) < 0 &&
	    gethostname(s.host, sizeof(s.host) - 1) < 0)
		return -errno;
	if (read_line("/proc/sys/kernel/random/boot_id", s.boot, sizeof(s.boot)) < 0)
		snprintf(s.boot, sizeof(s.boot), "unknown");
	r = proc_start(s.pid, &s.started);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

bool meta_session_alive(const struct meta_session *s, const struct meta_session *self,
			int64_t now)
{
	uint64_t started;

	if (strcmp(s->host, self->host) != 0)
		return now - s->heartbeat < META_SESSION_TIMEOUT_S;
	if (strcmp(s->boot, self->boot) != 0)
		return false;
	return proc_start(s->pid, &started) == 0 && started == s->started;
}

int meta_session_start(struct meta *m, uint64_t *ret_id)
{
	return m->ops->session_start(m, ret_id);
}

void meta_session_end(struct meta *m)
{
	m->ops->session_end(m);
}

int meta_read(struct meta *m, meta_body_fn body, void *arg)
{
	int r;

	if (m->ops->read)
		return m->ops->read(m, body, arg);
	meta_lock(m);
	r = body(m, arg);
	meta_unlock(m);
	return r;
}

int meta_finish(struct meta *m, int r)
{
	if (r == 0)
		return meta_commit(m);
	meta_rollback(m);
	return r;
}

void meta_set_report(struct meta *m, void (*report)(const char *msg, void *arg), void *arg)
{
	m->report = report;
	m->report_arg = arg;
}

int meta_effect_add(struct meta_effects *fx, int what, uint64_t ino)
{
	if (fx->n >= META_EFFECTS_MAX)
		return -ENOBUFS;
	fx->e[fx->n++] = (struct meta_effect){ .what = what, .ino = ino };
	return 0;
}

int meta_txn_fx(struct meta *m, meta_body_fn body, void *arg, struct meta_effects *fx)
{
	int r = -EAGAIN;

	meta_lock(m);
	for (int i = 0; i < META_TXN_TRIES && r == -EAGAIN; i++) {
		if (fx)
			fx->n = 0;
		r = meta_begin(m);
		if (r < 0)
			continue;
		r = body(m, arg);
		if (r > 0) {
			meta_rollback(m);      /* nothing to change */
			r = 0;
		} else {
			r = meta_finish(m, r);
		}
	}
	if (r < 0 && fx)
		fx->n = 0;
	meta_unlock(m);
	return r == -EAGAIN ? -EBUSY : r;     /* still in conflict after every try */
}

int meta_txn(struct meta *m, meta_body_fn body, void *arg)
{
	return meta_txn_fx(m, body, arg, NULL);
}

void meta_fail_chunk_reads(struct meta *m, int err)
{
	m->chunk_get_fault = err;
}

int meta_chunk_get(struct meta *m, uint64_t ino, uint64_t idx, struct meta_chunk *ret)
{
	if (m->chunk_get_fault)
		return -m->chunk_get_fault;
	return m->ops->chunk_get(m, ino, idx, ret);
}

void meta_close(struct meta *m)
{
	if (m)
		m->ops->close(m);
}

void meta_inode_to_stat(const struct meta_inode *in, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = in->ino;
	st->st_mode = in->mode;
	st->st_uid = in->uid;
	st->st_gid = in->gid;
	st->st_nlink = in->nlink;
	st->st_size = (off_t)in->size;
	st->st_rdev = in->rdev;
	st->st_atim = in->atime;
	st->st_mtim = in->mtime;
	st->st_ctim = in->ctime;
	st->st_blksize = 4096;
}

const char *meta_errmsg(struct meta *m)
{
	return m->ops->errmsg(m);
}

int meta_begin(struct meta *m)
{
	return m->ops->begin(m);
}

int meta_commit(struct meta *m)
{
	return m->ops->commit(m);
}

void meta_rollback(struct meta *m)
{
	m->ops->rollback(m);
}

int meta_sync(struct meta *m)
{
	return m->ops->sync(m);
}

int meta_set_group(struct meta *m, int64_t window_ns)
{
	return m->ops->set_group(m, window_ns);
}

void meta_lock(struct meta *m)
{
	m->ops->lock(m);
}

void meta_unlock(struct meta *m)
{
	m->ops->unlock(m);
}

int meta_flush(struct meta *m)
{
	return m->ops->flush(m);
}

bool meta_broken(struct meta *m)
{
	return m->ops->broken(m);
}

int meta_checkpoint(struct meta *m)
{
	return m->ops->checkpoint(m);
}

int meta_integrity(struct meta *m, char *err, size_t errlen)
{
	return m->ops->integrity(m, err, errlen);
}

int meta_reserve(struct meta *m, uint64_t bytes)
{
	return m->ops->reserve(m, bytes);
}

int meta_reserve_fill(struct meta *m)
{
	return m->ops->reserve_fill(m);
}

uint64_t meta_reserve_missing(struct meta *m)
{
	return m->ops->reserve_missing(m);
}

uint64_t meta_reserve_given(struct meta *m)
{
	return m->ops->reserve_given(m);
}

uint64_t meta_pending(struct meta *m)
{
	return m->ops->pending(m);
}

int meta_usage(struct meta *m, struct meta_usage *ret)
{
	return m->ops->usage(m, ret);
}

int meta_get_kv(struct meta *m, const char *key, char *buf, size_t len)
{
	return m->ops->get_kv(m, key, buf, len);
}

int meta_set_kv(struct meta *m, const char *key, const char *value)
{
	return m->ops->set_kv(m, key, value);
}

int meta_metric_put(struct meta *m, const char *name, int64_t minute, double value)
{
	return m->ops->metric_put(m, name, minute, value);
}

int meta_metric_each(struct meta *m, const char *name, int64_t from, int64_t to,
		     int (*cb)(int64_t minute, double value, void *arg), void *arg)
{
	return m->ops->metric_each(m, name, from, to, cb, arg);
}

int meta_metric_prune(struct meta *m, int64_t before)
{
	return m->ops->metric_prune(m, before);
}

int meta_inode_get(struct meta *m, uint64_t ino, struct meta_inode *ret)
{
	return m->ops->inode_get(m, ino, ret);
}

int meta_inode_insert(struct meta *m, struct meta_inode *in, const void *target, size_t tlen)
{
	return m->ops->inode_insert(m, in, target, tlen);
}

int meta_inode_update(struct meta *m, const struct meta_inode *in)
{
	return m->ops->inode_update(m, in);
}

int meta_inode_set_size(struct meta *m, uint64_t ino, uint64_t size, const struct timespec *mtime,
			int64_t blocks)
{
	return m->ops->inode_set_size(m, ino, size, mtime, blocks);
}

int meta_inode_set_blocks(struct meta *m, uint64_t ino, int64_t blocks)
{
	return m->ops->inode_set_blocks(m, ino, blocks);
}

int meta_inode_delete(struct meta *m, uint64_t ino)
{
	return m->ops->inode_delete(m, ino);
}

int meta_readlink(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len)
{
	return m->ops->readlink(m, ino, buf, len, ret_len);
}

int meta_orphans(struct meta *m, int (*cb)(uint64_t ino, void *arg), void *arg)
{
	return m->ops->orphans(m, cb, arg);
}

int meta_inode_each(struct meta *m, uint64_t after, meta_inode_cb cb, void *arg)
{
	return m->ops->inode_each(m, after, cb, arg);
}

int meta_inode_path(struct meta *m, uint64_t ino, char *buf, size_t len)
{
	return m->ops->inode_path(m, ino, buf, len);
}

int meta_dentry_of(struct meta *m, uint64_t ino, unsigned nth, uint64_t *ret_parent,
		   char *ret_name)
{
	return m->ops->dentry_of(m, ino, nth, ret_parent, ret_name);
}

int meta_lookup(struct meta *m, uint64_t parent, const char *name, uint64_t *ret_ino)
{
	return m->ops->lookup(m, parent, name, ret_ino);
}

int meta_dentry_insert(struct meta *m, uint64_t parent, const char *name, uint64_t ino, uint32_t type)
{
	return m->ops->dentry_insert(m, parent, name, ino, type);
}

int meta_dentry_delete(struct meta *m, uint64_t parent, const char *name)
{
	return m->ops->dentry_delete(m, parent, name);
}

int meta_dentry_move(struct meta *m, uint64_t parent, const char *name,
                     uint64_t newparent, const char *newname)
{
	return m->ops->dentry_move(m, parent, name, newparent, newname);
}

int meta_dentry_retarget(struct meta *m, uint64_t parent, const char *name, uint64_t ino, uint32_t type)
{
	return m->ops->dentry_retarget(m, parent, name, ino, type);
}

int meta_dir_is_empty(struct meta *m, uint64_t dir, bool *ret)
{
	return m->ops->dir_is_empty(m, dir, ret);
}

int meta_dir_parent(struct meta *m, uint64_t dir, uint64_t *ret_parent)
{
	return m->ops->dir_parent(m, dir, ret_parent);
}

int meta_readdir(struct meta *m, uint64_t dir, uint64_t after, uint64_t upto, meta_readdir_cb cb,
		 void *arg)
{
	return m->ops->readdir(m, dir, after, upto, cb, arg);
}

int meta_dentry_max_cookie(struct meta *m, uint64_t *ret)
{
	return m->ops->dentry_max_cookie(m, ret);
}

int meta_dentry_each(struct meta *m, meta_dentry_cb cb, void *arg)
{
	return m->ops->dentry_each(m, cb, arg);
}

int meta_xattr_get(struct meta *m, uint64_t ino, const char *name, void *buf, size_t len,
                   size_t *ret_len)
{
	return m->ops->xattr_get(m, ino, name, buf, len, ret_len);
}

int meta_xattr_set(struct meta *m, uint64_t ino, const char *name, const void *val, size_t len,
                   int flags)
{
	return m->ops->xattr_set(m, ino, name, val, len, flags);
}

int meta_xattr_remove(struct meta *m, uint64_t ino, const char *name)
{
	return m->ops->xattr_remove(m, ino, name);
}

int meta_xattr_list(struct meta *m, uint64_t ino, char *buf, size_t len, size_t *ret_len)
{
	return m->ops->xattr_list(m, ino, buf, len, ret_len);
}

int meta_xattr_usage(struct meta *m, uint64_t ino, const char *except, uint64_t *ret_names,
		     uint64_t *ret_values)
{
	return m->ops->xattr_usage(m, ino, except, ret_names, ret_values);
}

int meta_chunk_put(struct meta *m, const struct meta_chunk *c)
{
	return m->ops->chunk_put(m, c);
}

int meta_chunk_set_sha256(struct meta *m, uint64_t ino, uint64_t idx, uint64_t version,
                          const uint8_t sha256[32])
{
	return m->ops->chunk_set_sha256(m, ino, idx, version, sha256);
}

int meta_chunk_touch(struct meta *m, uint64_t ino, uint64_t idx, int64_t atime, int64_t step)
{
	return m->ops->chunk_touch(m, ino, idx, atime, step);
}

int meta_chunk_delete_from(struct meta *m, uint64_t ino, uint64_t first_idx)
{
	return m->ops->chunk_delete_from(m, ino, first_idx);
}

int meta_chunk_cold_count(struct meta *m, uint64_t ino, uint64_t *ret)
{
	return m->ops->chunk_cold_count(m, ino, ret);
}

int meta_chunk_each(struct meta *m, uint64_t ino, meta_chunk_cb cb, void *arg)
{
	return m->ops->chunk_each(m, ino, cb, arg);
}

int meta_ap_insert(struct meta *m, const struct fs_access_point *ap)
{
	return m->ops->ap_insert(m, ap);
}

int meta_ap_get(struct meta *m, const char *id, struct fs_access_point *ret)
{
	return m->ops->ap_get(m, id, ret);
}

int meta_ap_by_token(struct meta *m, const char *token, struct fs_access_point *ret)
{
	return m->ops->ap_by_token(m, token, ret);
}

int meta_ap_next(struct meta *m, uint64_t after, struct fs_access_point *ret, uint64_t *ret_seq)
{
	return m->ops->ap_next(m, after, ret, ret_seq);
}

int meta_ap_delete(struct meta *m, const char *id)
{
	return m->ops->ap_delete(m, id);
}

int meta_ap_count(struct meta *m, uint64_t *ret)
{
	return m->ops->ap_count(m, ret);
}
