/* fs_perm.c - permission checks for FUSE sessions that do them in the
 * daemon (fs.h: fs_permission and the checks beside it): a session that
 * forces an identity (an access point's PosixUser) or squashes root cannot
 * let the kernel's default_permissions check, since the kernel sees the
 * calling process, so fuse/ asks here before each operation, with the
 * identity the request runs as.
 *
 * What is checked is what ext4 checks without ACLs (efsfs keeps no ACLs:
 * system.* xattrs are EOPNOTSUPP): generic_permission's owner/group/other
 * classes, may_delete's sticky-bit rule, setattr_prepare's owner and
 * chown/chgrp rules, may_linkat's protected hard links, xattr_permission's
 * rules for user.*.  uid 0 is root
 * with CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN and CAP_FSETID.
 *
 * Locking: each check reads the inodes it needs under meta_lock (no
 * transaction: nothing is written), and holds no lock when it returns.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend/fs_i.h"
#include "backend/meta.h"

#define USER_XATTR "user."

bool fs_ident_in_group(const struct fs_ident *id, gid_t gid)
{
	if (id->gid == gid)
		return true;
	for (unsigned i = 0; i < id->ngroups && i < FS_GROUPS_MAX; i++)
		if (id->groups[i] == gid)
			return true;
	return false;
}

/* generic_permission on an inode already read. */
static int check_mode(const struct fs_ident *id, const struct meta_inode *mi, int mask)
{
	unsigned bits;

	mask &= FS_MAY_READ | FS_MAY_WRITE | FS_MAY_EXEC;
	if (id->uid == 0) {
		/* CAP_DAC_OVERRIDE: x on a non-directory only if someone has it */
		if ((mask & FS_MAY_EXEC) && !S_ISDIR(mi->mode) && !(mi->mode & 0111))
			return -EACCES;
		return 0;
	}
	if (id->uid == mi->uid)
		bits = mi->mode >> 6;
	else if (fs_ident_in_group(id, mi->gid))
		bits = mi->mode >> 3;
	else
		bits = mi->mode;
	return ((unsigned)mask & ~bits & 7) ? -EACCES : 0;
}

static int get_inode(struct fs *fs, uint64_t ino, struct meta_inode *mi)
{
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, ino, mi);
	fs_meta_unlock(fs);
	return r;
}

int fs_permission(struct fs *fs, const struct fs_ident *id, uint64_t ino, int mask)
{
	struct meta_inode mi;
	int r = get_inode(fs, ino, &mi);

	return r < 0 ? r : check_mode(id, &mi, mask);
}

int fs_may_delete(struct fs *fs, const struct fs_ident *id, uint64_t dir, const char *name)
{
	struct meta_inode d, victim;
	uint64_t ino;
	int r;

	fs_meta_lock(fs);
	r = meta_inode_get(fs->meta, dir, &d);
	if (!r)
		r = meta_lookup(fs->meta, dir, name, &ino);
	if (!r)
		r = meta_inode_get(fs->meta, ino, &victim);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	r = check_mode(id, &d, FS_MAY_WRITE | FS_MAY_EXEC);
	if (r < 0)
		return r;
	/* the sticky bit: only the entry's or the directory's owner */
	if ((d.mode & S_ISVTX) && id->uid != 0 && id->uid != victim.uid && id->uid != d.uid)
		return -EPERM;
	return 0;
}

int fs_may_link(struct fs *fs, const struct fs_ident *id, uint64_t ino)
{
	struct meta_inode mi;
	int r = get_inode(fs, ino, &mi);

	if (r < 0)
		return r;
	if (id->uid == 0 || id->uid == mi.uid)
		return 0;
	if (!S_ISREG(mi.mode) || (mi.mode & S_ISUID) ||
	    ((mi.mode & S_ISGID) && (mi.mode & S_IXGRP)))
		return -EPERM;
	return check_mode(id, &mi, FS_MAY_READ | FS_MAY_WRITE) < 0 ? -EPERM : 0;
}

/* A directory leaving parent for another one needs write permission on
 * itself; anything else nothing more. */
static int may_move(struct fs *fs, const struct fs_ident *id, uint64_t parent, const char *name,
		    uint64_t newparent)
{
	struct meta_inode mi;
	uint64_t ino;
	int r;

	if (parent == newparent)
		return 0;
	fs_meta_lock(fs);
	r = meta_lookup(fs->meta, parent, name, &ino);
	if (!r)
		r = meta_inode_get(fs->meta, ino, &mi);
	fs_meta_unlock(fs);
	if (r < 0)
		return r;
	return S_ISDIR(mi.mode) ? check_mode(id, &mi, FS_MAY_WRITE) : 0;
}

int fs_may_rename(struct fs *fs, const struct fs_ident *id, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned flags)
{
	int r = fs_may_delete(fs, id, parent, name);

	if (r < 0)
		return r;
	r = fs_may_delete(fs, id, newparent, newname);
	if (r == -ENOENT && !(flags & RENAME_EXCHANGE))
		r = fs_permission(fs, id, newparent, FS_MAY_WRITE | FS_MAY_EXEC);
	if (r < 0)
		return r;
	r = may_move(fs, id, parent, name, newparent);
	if (!r && (flags & RENAME_EXCHANGE))
		r = may_move(fs, id, newparent, newname, parent);
	return r;
}

int fs_may_setattr(struct fs *fs, const struct fs_ident *id, uint64_t ino, struct stat *attr,
		   int to_set, bool with_fh)
{
	bool root = id->uid == 0, owner;
	struct meta_inode mi;
	int r = get_inode(fs, ino, &mi);

	if (r < 0)
		return r;
	owner = root || id->uid == mi.uid;
	if (to_set & FS_SET_UID) {
		/* only root gives a file away; the owner may "chown" to itself */
		if (!root && !(id->uid == mi.uid && attr->st_uid == mi.uid))
			return -EPERM;
	}
	if (to_set & FS_SET_GID) {
		/* the owner may choose one of its own groups */
		if (!root && !(id->uid == mi.uid &&
			       (attr->st_gid == mi.gid || fs_ident_in_group(id, attr->st_gid))))
			return -EPERM;
	}
	if (to_set & FS_SET_MODE) {
		uint32_t old = mi.mode & 07777, want = attr->st_mode & 07777;
		gid_t gid = (to_set & FS_SET_GID) ? attr->st_gid : mi.gid;

		if (!owner) {
			/* the kernel's drop of privileges before a write by another
			 * (file_remove_privs): it only clears set-user/group-ID */
			if (!(old & (S_ISUID | S_ISGID)) || (want & ~old) ||
			    (old & ~want & ~(uint32_t)(S_ISUID | S_ISGID)))
				return -EPERM;
			r = check_mode(id, &mi, FS_MAY_WRITE);
			if (r < 0)
				return r;
		} else if (!root && !fs_ident_in_group(id, gid)) {
			attr->st_mode &= ~(mode_t)S_ISGID;
		}
	}
	if (!with_fh && (to_set & (FS_SET_ATIME | FS_SET_MTIME))) {
		bool explicit = ((to_set & FS_SET_ATIME) && !(to_set & FS_SET_ATIME_NOW)) ||
				((to_set & FS_SET_MTIME) && !(to_set & FS_SET_MTIME_NOW));

		if (!owner) {
			if (explicit)
				return -EPERM;
			r = check_mode(id, &mi, FS_MAY_WRITE);
			if (r < 0)
				return r;
		}
	}
	if (!with_fh && (to_set & FS_SET_SIZE)) {
		r = check_mode(id, &mi, FS_MAY_WRITE);
		if (r < 0)
			return r;
	}
	return 0;
}

int fs_may_xattr(struct fs *fs, const struct fs_ident *id, uint64_t ino, const char *name,
		 bool write)
{
	struct meta_inode mi;
	int r;

	if (strncmp(name, USER_XATTR, sizeof(USER_XATTR) - 1) != 0)
		return 0;
	r = get_inode(fs, ino, &mi);
	if (r < 0)
		return r;
	if (!S_ISREG(mi.mode) && !S_ISDIR(mi.mode))
		return write ? -EPERM : -ENODATA;
	if (write && S_ISDIR(mi.mode) && (mi.mode & S_ISVTX) && id->uid != 0 &&
	    id->uid != mi.uid)
		return -EPERM;
	return check_mode(id, &mi, write ? FS_MAY_WRITE : FS_MAY_READ);
}
