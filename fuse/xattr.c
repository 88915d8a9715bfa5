/* xattr.c - FUSE extended attribute operations (user.*, trusted.*,
 * security.*), stored in the metadata store by fs_*xattr().  get, set and
 * remove ask the session's view first (view.c: user.* by the identity's
 * permissions, EROFS for a change in a deny_write session).
 *
 * trusted.* is for CAP_SYS_ADMIN.  The kernel's VFS refuses getxattr
 * (ENODATA), setxattr and removexattr (EPERM) of a trusted.* name to a
 * caller without it before the request reaches us, but listxattr is left to
 * the file system, so op_listxattr leaves trusted.* names out for such a
 * caller, as ext4 does.  The caller's capability is read from
 * /proc/PID/status (CapEff, the thread's effective set) and counts only
 * when the caller is in the daemon's user namespace (capabilities in a
 * child namespace are not CAP_SYS_ADMIN over this mount).  When the kernel
 * gives no pid (a caller in another pid namespace) or /proc cannot tell,
 * uid 0 stands in for the capability.  /proc is read only for a list that
 * holds a trusted.* name, so the common listxattr costs nothing more.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/fuse_i.h"

#define CAP_SYS_ADMIN_BIT 21
#define TRUSTED "trusted."

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct fs_ctx ctx;
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	efsfs_req_ctx(req, &ctx);
	ino = efsfs_ino(req, ino);
	r = efsfs_view_xattr(req, ino, name, true);
	if (!r)
		r = fs_setxattr(req_efsfs(req)->fs, &ctx, ino, name, value, size, flags);
	if (r == 0)
		efsfs_notify_inode(req_efsfs(req), ino, FS_CHANGE_ATTR, 0, 0);
	fuse_reply_err(req, -r);
}

/* get and list share the FUSE protocol: size 0 asks for the length. */
static void reply_xattr(fuse_req_t req, int r, const char *buf, size_t size, size_t len)
{
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	size_t len = 0;
	int r;

	efsfs_meter_meta(req, METER_READ);
	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ino = efsfs_ino(req, ino);
	r = efsfs_view_xattr(req, ino, name, false);
	if (!r)
		r = fs_getxattr(req_efsfs(req)->fs, ino, name, buf, size, &len);
	reply_xattr(req, r, buf, size, len);
	free(buf);
}

/* Whether two /proc/.../ns/user links name the same namespace. */
static bool same_userns(pid_t pid)
{
	char path[64], a[64], b[64];
	ssize_t na, nb;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	na = readlink(path, a, sizeof(a));
	nb = readlink("/proc/self/ns/user", b, sizeof(b));
	return na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
}

/* Whether the caller of req holds CAP_SYS_ADMIN (see the top comment). */
static bool caller_sys_admin(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	char path[64], line[256];
	bool known = false, admin = false;
	FILE *f;

	if (c->pid <= 0)
		return c->uid == 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	f = fopen(path, "re");
	if (!f)
		return c->uid == 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t caps;

		if (sscanf(line, "CapEff: %" SCNx64, &caps) == 1) {
			known = true;
			admin = caps >> CAP_SYS_ADMIN_BIT & 1;
			break;
		}
	}
	fclose(f);
	if (!known)
		return c->uid == 0;
	return admin && same_userns(c->pid);
}

/* Drops the trusted.* names from a NUL-separated list of len bytes in
 * place; returns the new length. */
static size_t drop_trusted(char *buf, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = strnlen(buf + in, len - in) + 1;

		if (strncmp(buf + in, TRUSTED, sizeof(TRUSTED) - 1) != 0) {
			memmove(buf + out, buf + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

static bool has_trusted(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i += strnlen(buf + i, len - i) + 1)
		if (strncmp(buf + i, TRUSTED, sizeof(TRUSTED) - 1) == 0)
			return true;
	return false;
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = req_efsfs(req)->fs;
	char *buf = NULL;
	size_t len = 0, cap;
	int r;

	efsfs_meter_meta(req, METER_READ);
	/* The whole list, whatever size asks for: trusted.* names may have
	 * to come out of it before its length is known. */
	ino = efsfs_ino(req, ino);
	r = fs_listxattr(fs, ino, NULL, 0, &cap);
	for (int tries = 0; r == 0 && cap > 0; tries++) {
		char *nb = realloc(buf, cap);

		if (!nb) {
			r = -ENOMEM;
			break;
		}
		buf = nb;
		r = fs_listxattr(fs, ino, buf, cap, &len);
		if (r != -ERANGE || tries == 3)
			break;
		r = fs_listxattr(fs, ino, NULL, 0, &cap);   /* it grew meanwhile */
	}
	if (r == 0 && has_trusted(buf, len) && !caller_sys_admin(req))
		len = drop_trusted(buf, len);
	if (r == 0 && size && len > size)
		r = -ERANGE;
	reply_xattr(req, r, buf, size, len);
	free(buf);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	int r;

	efsfs_meter_meta(req, METER_WRITE);
	ino = efsfs_ino(req, ino);
	r = efsfs_view_xattr(req, ino, name, true);
	if (!r)
		r = fs_removexattr(req_efsfs(req)->fs, ino, name);
	if (r == 0)
		efsfs_notify_inode(req_efsfs(req), ino, FS_CHANGE_ATTR, 0, 0);
	fuse_reply_err(req, -r);
}

void efsfs_xattr_ops(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = op_setxattr;
	ops->getxattr = op_getxattr;
	ops->listxattr = op_listxattr;
	ops->removexattr = op_removexattr;
}
