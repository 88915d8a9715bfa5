/* kernel_abi.h - the parts of the kernel's FUSE protocol that fuse/ reads
 * or writes itself, around libfuse: request and reply headers, the INIT
 * and open replies passthrough.c patches, the backing-file ioctls, and the
 * ring entry layout and commands of FUSE over io_uring (uring.c).  They are
 * the kernel's ABI (include/uapi/linux/fuse.h, protocol 7.42); Debian 12's
 * headers are too old to have the passthrough and io_uring ones, so all
 * are spelled out here, and checked against the kernel's sizes below.
 */
#ifndef EFSFS_KERNEL_ABI_H
#define EFSFS_KERNEL_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#define K_FUSE_SETATTR         4
#define K_FUSE_WRITE           16
#define K_FUSE_INIT            26
#define K_HANDLE_KILLPRIV_V2   (1u << 28)
#define K_INIT_EXT             (1u << 30)
#define K_WRITE_KILL_SUIDGID   (1u << 2)      /* fuse_write_in.write_flags */
#define K_FATTR_SIZE           (1u << 3)      /* fuse_setattr_in.valid */
#define K_FATTR_FH             (1u << 6)      /* fuse_setattr_in.valid */
#define K_FATTR_LOCKOWNER      (1u << 9)      /* fuse_setattr_in.valid */
#define K_FATTR_KILL_SUIDGID   (1u << 11)     /* fuse_setattr_in.valid */
#define K_PASSTHROUGH_FLAGS2   (1u << (37 - 32))     /* FUSE_PASSTHROUGH = 1 << 37 */
#define K_FOPEN_PASSTHROUGH    (1u << 7)
#define K_NOTIFY_INVAL_INODE   2              /* fuse_out_header.error of a notification */
#define K_NOTIFY_INVAL_ENTRY   3
#define K_OVER_IO_URING_FLAGS2 (1u << (41 - 32))     /* FUSE_OVER_IO_URING = 1 << 41 */

struct k_in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};

struct k_init_in {
	uint32_t major, minor, max_readahead, flags, flags2;
};

struct k_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct k_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
};

struct k_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

/* Notifications (notify.c): a k_out_header with unique 0 and error the
 * K_NOTIFY_* code, then one of these (an entry's name and a NUL after it). */
struct k_inval_inode_out {
	uint64_t ino;
	int64_t off;                  /* < 0: attributes only; else pages from here */
	int64_t len;                  /* <= 0: to the end */
};

struct k_inval_entry_out {
	uint64_t parent;
	uint32_t namelen;
	uint32_t flags;
};

struct k_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define K_DEV_IOC_BACKING_OPEN  _IOW(229, 1, struct k_backing_map)
#define K_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* FUSE over io_uring.  Each ring entry is two buffers the daemon registers:
 * a header (struct k_uring_req_header) and a payload of at least the
 * connection's max_write.  A request arrives as the fuse_in_header in
 * in_out, the opcode's own header (its first argument, empty for some) in
 * op_in, the rest of its arguments in the payload, and ent.payload_sz
 * saying how much of the payload that is; ent.commit_id names it in the
 * commit.  The reply is the fuse_out_header in in_out and all of its
 * arguments in the payload, ent.payload_sz their length. */
#define K_URING_IN_OUT_SZ 128
#define K_URING_OP_IN_SZ 128

struct k_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;
	uint32_t payload_sz;
	uint32_t padding;
	uint64_t reserved;
};

struct k_uring_req_header {
	char in_out[K_URING_IN_OUT_SZ];
	char op_in[K_URING_OP_IN_SZ];
	struct k_uring_ent_in_out ent;
};

/* sqe->cmd_op of an IORING_OP_URING_CMD on the /dev/fuse fd (a ring set up
 * with IORING_SETUP_SQE128); sqe->cmd holds struct k_uring_cmd_req.
 * REGISTER: sqe->addr points at two iovecs (header, payload), sqe->len 2;
 * its completion is the first request for the entry.  COMMIT_AND_FETCH:
 * commit_id of the request answered; its completion is the next one. */
#define K_URING_CMD_REGISTER           1
#define K_URING_CMD_COMMIT_AND_FETCH   2

struct k_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct k_uring_ent_in_out) == 32, "fuse_uring_ent_in_out");
_Static_assert(sizeof(struct k_uring_req_header) == 288, "fuse_uring_req_header");
_Static_assert(sizeof(struct k_uring_cmd_req) == 24, "fuse_uring_cmd_req");
_Static_assert(sizeof(struct k_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct k_out_header) == 16, "fuse_out_header");
_Static_assert(offsetof(struct k_init_out, max_stack_depth) == 36, "fuse_init_out");
_Static_assert(sizeof(struct k_open_out) == 16, "fuse_open_out");
_Static_assert(sizeof(struct k_inval_inode_out) == 24, "fuse_notify_inval_inode_out");
_Static_assert(sizeof(struct k_inval_entry_out) == 16, "fuse_notify_inval_entry_out");

#endif
