/* passthrough.c - FUSE passthrough (Linux 6.9 and later): the kernel reads
 * and writes a file opened this way straight from its backing file in
 * DATA_DIR/data, so its data never crosses /dev/fuse.
 *
 * libfuse 3.14 (Debian 12) predates passthrough, so the session's I/O goes
 * through our own hooks (fuse_session_custom_io on the fd that
 * fuse_session_mount opened) and the protocol is patched on its way:
 *   - io_read sees the kernel's INIT request and whether it offers
 *     FUSE_PASSTHROUGH (a flags2 bit);
 *   - op_init (session.c) then asks for passthrough instead of the
 *     writeback cache (the kernel refuses both together), and io_writev
 *     adds FUSE_PASSTHROUGH and a stack depth of 1 to the INIT reply;
 *   - opening a file, file.c registers its backing fd with the kernel
 *     (FUSE_DEV_IOC_BACKING_OPEN, through fs_file_passthrough) and
 *     io_writev sets FOPEN_PASSTHROUGH and the backing id in that open or
 *     create reply, which libfuse writes from the same thread.
 * The kernel's structures and numbers this takes are in kernel_abi.h
 * (Debian 12's headers are too old to have them).  The same hooks serve
 * FUSE over io_uring (uring.c), installed for it even without passthrough:
 * io_read notes whether INIT offers it, io_writev asks for it in the INIT
 * reply and starts the ring once the kernel has that reply, and the reply
 * to a request that came from a ring entry goes into the entry
 * (efsfs_uring_reply, efsfs_uring_splice_reply) instead of /dev/fuse.
 *
 * All of it is per session (struct efsfs_pt in the session, which libfuse
 * hands our I/O hooks as their userdata): backing ids belong to one kernel
 * connection, so each session registers its own.  Only what concerns the
 * request a worker thread is serving is thread-local (libfuse's workers
 * process each request in the thread that read it): the backing id of the
 * open reply being sent, the kill flags of the request read.
 *
 * With passthrough we also take FUSE_HANDLE_KILLPRIV_V2: the kernel then
 * stops asking for security.capability before every write (a GETXATTR
 * round trip each) and leaves dropping set-user-ID, set-group-ID and file
 * capabilities to us: io_read notes the kill flag of each WRITE and
 * SETATTR (efsfs_pt_kill_suidgid), which libfuse 3.14 does not pass on, and
 * file.c and dir.c act on it.  That is why request data is read, not
 * spliced, in this mode (reads and writes of passthrough files do not come
 * here at all).
 *
 * A passthrough write never reaches us, but the kernel still asks before
 * it: its backing-file write path calls file_remove_privs() on our inode
 * (under the inode lock that chmod and chown take too), which for a file
 * whose cached mode has set-user-ID or a group-executable set-group-ID and
 * a writer without CAP_FSETID, or that has security.capability, sends a
 * SETATTR with no attribute to set: handle_killpriv_v2 strips the kill bits
 * and leaves the dropping to us.  io_read notes such an empty SETATTR
 * (efsfs_pt_remove_privs) and dir.c drops the privileges before replying,
 * so the write lands on a file without them, as on ext4.  The same
 * request comes before a write on the daemon path.
 *
 * Registering backing files needs CAP_SYS_ADMIN: a mount by another user
 * keeps the writeback cache and the daemon path.  The kernel does every
 * read and write of a backing file with the credentials of the thread that
 * registered it, so pt_attach registers it as a nobody: a file system user
 * ID other than 0 and no CAP_SYS_RESOURCE, the two things that let a
 * writer into the blocks ext4 reserves for root.  A user's passthrough
 * writes then stop where the daemon path's do (which keeps to what statvfs
 * says is available to users), root's reserve stays for root, and the
 * daemon, as root, can still commit metadata on a disk the user filled.
 * It costs nothing per write: ext4 checks its reserve on every allocation
 * anyway, only against the credentials we give it.  Which files may use
 * passthrough, and what that means for sizes, times and the tiering, is
 * backend/fs_passthrough.c's business (fs_file_passthrough).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/fuse_i.h"
#include "fuse/kernel_abi.h"

/* The backing id for the open/create reply this thread is sending. */
static __thread int reply_backing_id;
/* The request this thread read asks us to drop privileges.  libfuse's
 * workers process each request in the thread that read it. */
static __thread bool req_kill_suidgid;
/* The SETATTR being served sets nothing: file_remove_privs() before a write. */
static __thread bool req_remove_privs;

void efsfs_pt_note_request(struct efsfs_session *e, const void *buf, size_t n)
{
	struct efsfs_pt *pt = &e->pt;
	struct k_in_header h;
	struct k_init_in in;
	uint32_t v;

	req_kill_suidgid = false;
	req_remove_privs = false;
	/* we look at most at the first 24 bytes after the header (write_flags
	 * ends there; fuse_init_in's flags2 and fuse_setattr_in's valid before) */
	if (n < sizeof(h) + 24)
		return;
	memcpy(&h, buf, sizeof(h));
	if (h.opcode == K_FUSE_INIT && !atomic_load(&pt->init_seen)) {
		memcpy(&in, (const char *)buf + sizeof(h), sizeof(in));
		pt->init_unique = h.unique;
		pt->offered = (in.flags & K_INIT_EXT) && (in.flags2 & K_PASSTHROUGH_FLAGS2);
		pt->uring_offered = (in.flags & K_INIT_EXT) && (in.flags2 & K_OVER_IO_URING_FLAGS2);
		atomic_store(&pt->init_seen, true);
	} else if (h.opcode == K_FUSE_WRITE && atomic_load(&pt->killpriv)) {
		/* fuse_write_in: fh, offset, size, write_flags */
		memcpy(&v, (const char *)buf + sizeof(h) + 20, sizeof(v));
		req_kill_suidgid = (v & K_WRITE_KILL_SUIDGID) != 0;
	} else if (h.opcode == K_FUSE_SETATTR && atomic_load(&pt->killpriv)) {
		/* fuse_setattr_in: valid first */
		memcpy(&v, (const char *)buf + sizeof(h), sizeof(v));
		req_kill_suidgid = (v & K_FATTR_KILL_SUIDGID) != 0;
		req_remove_privs = (v & ~(K_FATTR_FH | K_FATTR_LOCKOWNER)) == 0;
	}
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);

	efsfs_pt_note_request(userdata, buf, n > 0 ? (size_t)n : 0);
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct efsfs_session *e = userdata;
	struct efsfs_pt *pt = &e->pt;
	bool init_reply = false;
	size_t payload = 0;
	ssize_t n;

	if (count >= 2 && iov[0].iov_len == sizeof(struct k_out_header)) {
		const struct k_out_header *oh = iov[0].iov_base;
		struct iovec *last = &iov[count - 1];

		if (oh->error == 0 && oh->unique == pt->init_unique &&
		    (atomic_load(&pt->patch_init) || atomic_load(&pt->patch_uring)) &&
		    iov[1].iov_len >= offsetof(struct k_init_out, max_stack_depth) + 4) {
			struct k_init_out *o = iov[1].iov_base;

			init_reply = true;
			if (atomic_exchange(&pt->patch_init, false)) {
				o->flags |= K_INIT_EXT | K_HANDLE_KILLPRIV_V2;
				o->flags2 |= K_PASSTHROUGH_FLAGS2;
				o->max_stack_depth = 1;     /* backing files on a plain file system */
				atomic_store(&pt->killpriv, true);   /* for good, even if attach fails */
				atomic_store(&pt->on, true);
			}
			if (atomic_load(&pt->patch_uring)) {
				o->flags |= K_INIT_EXT;
				o->flags2 |= K_OVER_IO_URING_FLAGS2;
				/* a ring entry's payload must hold the biggest request */
				payload = (size_t)o->max_pages * (size_t)sysconf(_SC_PAGESIZE);
				if (payload < o->max_write)
					payload = o->max_write;
				if (payload < 8192)
					payload = 8192;
			}
		} else if (oh->error == 0 && reply_backing_id > 0 &&
			   last->iov_len >= sizeof(struct k_open_out)) {
			/* fuse_reply_open and fuse_reply_create end with fuse_open_out */
			struct k_open_out o;
			char *at = (char *)last->iov_base + last->iov_len - sizeof(o);

			memcpy(&o, at, sizeof(o));
			o.open_flags |= K_FOPEN_PASSTHROUGH;
			o.backing_id = reply_backing_id;
			memcpy(at, &o, sizeof(o));
		}
	}
	/* the reply to a request from a ring entry goes into that entry */
	if (count >= 1 && efsfs_uring_reply(iov, count, &n))
		return n;
	n = writev(fd, iov, count);
	/* the kernel has taken the INIT reply: the ring may be registered */
	if (init_reply && n >= 0 && atomic_exchange(&pt->patch_uring, false))
		efsfs_uring_start(e, payload);
	return n;
}

static ssize_t io_splice_receive(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
				 unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

static ssize_t io_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
			      unsigned int flags, void *userdata)
{
	ssize_t n;

	(void)userdata;
	/* a reply libfuse spliced into the pipe, to a ring entry's request */
	if (efsfs_uring_splice_reply(fdin, len, &n))
		return n;
	return splice(fdin, offin, fdout, offout, len, flags);
}

/* The file system user and group the kernel writes backing files as. */
#define PT_WRITER_ID 65534

/* A worker thread's capability sets: full, and as setfsuid to
 * PT_WRITER_ID leaves them less CAP_SYS_RESOURCE in the effective set.
 * Read at the thread's first registration (the daemon's capabilities do
 * not change once it serves), so later ones make no capget. */
static __thread struct pt_caps {
	bool known;
	struct __user_cap_data_struct full[2], low[2];
} pt_caps;

/* FUSE_DEV_IOC_BACKING_OPEN from this thread with a file system user and
 * group ID of PT_WRITER_ID and without CAP_SYS_RESOURCE in the effective
 * set (the kernel keeps the credentials of the registering thread for the
 * backing file's I/O); everything is put back before returning.  Both
 * calls act on this thread alone.  The backing id, or -errno. */
static int backing_open_unprivileged(struct efsfs_session *se, struct k_backing_map *map)
{
	struct efsfs_pt *pt = &se->pt;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct pt_caps *c = &pt_caps;
	int uid, gid, id = 0, e = 0;

	if (!c->known && syscall(SYS_capget, &hdr, c->full) < 0)
		return -errno;
	gid = setfsgid(PT_WRITER_ID);
	uid = setfsuid(PT_WRITER_ID);      /* drops the file system capabilities too */
	if (!c->known) {
		if (syscall(SYS_capget, &hdr, c->low) < 0) {
			e = errno;
			goto restore;
		}
		c->low[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective &= ~CAP_TO_MASK(CAP_SYS_RESOURCE);
		c->known = true;
	}
	if (syscall(SYS_capset, &hdr, c->low) < 0)
		e = errno;
	else if (setfsuid((uid_t)-1) != PT_WRITER_ID)    /* -1 only asks */
		e = EPERM;
	if (e) {
		/* registering as root would let users' writes into root's
		 * reserve: keep files on the daemon path instead */
		if (!atomic_exchange(&pt->warned, true))
			log_warn("%s on %s: passthrough: cannot register backing files as an "
				 "unprivileged writer (%s); files stay on the daemon path",
				 se->conf->name, se->mountpoint, strerror(e));
		goto restore;
	}
	id = ioctl(pt->devfd, K_DEV_IOC_BACKING_OPEN, map);
	if (id <= 0)
		e = id < 0 ? errno : EINVAL;
restore:
	setfsuid((uid_t)uid);
	setfsgid((gid_t)gid);
	if (syscall(SYS_capset, &hdr, c->full) < 0 && !atomic_exchange(&pt->warned, true))
		log_warn("%s on %s: passthrough: restoring this thread's capabilities: %s",
			 se->conf->name, se->mountpoint, strerror(errno));
	return e ? -e : id;
}

static int pt_attach(int fd, void *arg)
{
	struct efsfs_session *se = arg;
	struct efsfs_pt *pt = &se->pt;
	struct k_backing_map map = { .fd = fd };
	int id, e;

	if (!atomic_load(&pt->on))
		return -EOPNOTSUPP;
	id = backing_open_unprivileged(se, &map);
	if (id > 0)
		return id;
	e = -id;
	if (e != EMFILE && e != ENFILE && e != ENOMEM && e != EINTR) {
		/* the kernel will not take our backing files: stop asking */
		atomic_store(&pt->on, false);
		if (!atomic_exchange(&pt->warned, true))
			log_warn("%s on %s: passthrough: the kernel refused a backing file (%s); "
				 "files stay on the daemon path", se->conf->name, se->mountpoint,
				 strerror(e));
	}
	return -e;
}

static void pt_detach(int id, void *arg)
{
	struct efsfs_session *se = arg;
	struct efsfs_pt *pt = &se->pt;
	uint32_t u = (uint32_t)id;

	if (ioctl(pt->devfd, K_DEV_IOC_BACKING_CLOSE, &u) < 0)
		log_warn("%s on %s: passthrough: closing backing id %d: %s", se->conf->name,
			 se->mountpoint, id, strerror(errno));
}

void efsfs_pt_init(struct efsfs_session *e)
{
	memset(&e->pt, 0, sizeof(e->pt));
	e->pt.devfd = -1;
	e->pt.ops.attach = pt_attach;
	e->pt.ops.detach = pt_detach;
	e->pt.ops.arg = e;
}

int efsfs_pt_install(struct efsfs_session *e)
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
		.splice_receive = io_splice_receive,
		.splice_send = io_splice_send,
	};
	int r;

	bool pt_wanted = e->conf->passthrough;

	if (pt_wanted && geteuid() != 0) {
		log_debug("passthrough needs root (CAP_SYS_ADMIN); using the writeback cache");
		pt_wanted = false;
	}
	/* FUSE over io_uring needs the hooks too (its replies go to the ring) */
	if (!pt_wanted && e->conf->fuse_uring == CONF_URING_OFF)
		return 0;
	e->pt.devfd = fuse_session_fd(e->se);
	r = fuse_session_custom_io(e->se, &io, e->pt.devfd);
	if (r < 0) {
		log_warn("%s on %s: passthrough: cannot hook the FUSE session: %s", e->conf->name,
			 e->mountpoint, strerror(-r));
		e->pt.devfd = -1;
		return r;
	}
	e->pt.hooked = true;
	return 0;
}

bool efsfs_pt_negotiate(struct efsfs_session *e)
{
	if (!e->pt.hooked || !e->conf->passthrough || geteuid() != 0)
		return false;
	if (!atomic_load(&e->pt.init_seen) || !e->pt.offered) {
		log_info("%s: the kernel offers no FUSE passthrough; using the writeback cache",
			 e->conf->name);
		return false;
	}
	atomic_store(&e->pt.patch_init, true);
	return true;
}

bool efsfs_pt_kill_suidgid(void)
{
	return req_kill_suidgid;
}

bool efsfs_pt_remove_privs(void)
{
	return req_remove_privs;
}

void efsfs_pt_reply_begin(int backing_id)
{
	reply_backing_id = backing_id;
}

void efsfs_pt_reply_end(void)
{
	reply_backing_id = 0;
}
