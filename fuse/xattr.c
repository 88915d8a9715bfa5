/* xattr.c - FUSE extended attribute operations (user.*, trusted.*,
 * security.*), stored in the metadata store by fs_*xattr(). */
#include <errno.h>
#include <stdlib.h>

#include "fuse/fuse_i.h"

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_reply_err(req, -fs_setxattr(req_efsfs(req)->fs, ino, name, value, size, flags));
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

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = fs_getxattr(req_efsfs(req)->fs, ino, name, buf, size, &len);
	reply_xattr(req, r, buf, size, len);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	size_t len = 0;
	int r;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = fs_listxattr(req_efsfs(req)->fs, ino, buf, size, &len);
	reply_xattr(req, r, buf, size, len);
	free(buf);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, -fs_removexattr(req_efsfs(req)->fs, ino, name));
}

void efsfs_xattr_ops(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = op_setxattr;
	ops->getxattr = op_getxattr;
	ops->listxattr = op_listxattr;
	ops->removexattr = op_removexattr;
}
