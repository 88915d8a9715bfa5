/* uring.c - FUSE over io_uring (Linux 6.14 and later): the kernel hands
 * requests to ring entries the daemon registered, and takes each reply
 * together with the wait for the next request in one io_uring_enter(2),
 * instead of a read(2) and a writev(2) on /dev/fuse per request.
 *
 * libfuse 3.14 (Debian 12) predates it, so it is done around libfuse as
 * passthrough is (passthrough.c has the session's I/O hooks):
 *   - the INIT request says whether the kernel offers FUSE_OVER_IO_URING
 *     (a flags2 bit, only while /sys/module/fuse/parameters/enable_uring
 *     is Y); op_init asks efsfs_uring_negotiate, which says yes when the
 *     config's fuse_uring is auto or on, and the writev hook then adds the
 *     flag to the INIT reply;
 *   - once that reply is written (the kernel has then set up the
 *     connection), efsfs_uring_start starts the ring threads: a few per
 *     queue, one queue per possible CPU as the kernel wants (it serves a
 *     request on the queue of the CPU that made it), each thread with its
 *     own io_uring and one ring entry (a header and a payload of max_write
 *     bytes), registered with
 *     FUSE_IO_URING_CMD_REGISTER.  When every queue has an entry the
 *     kernel sends its requests there; until then, and for good if a
 *     registration fails, they stay on /dev/fuse;
 *   - a completed entry is a request: the thread lays it out as /dev/fuse
 *     would give it (header, op header, arguments, contiguous just before
 *     the payload it arrived in, so nothing of the payload is copied) and
 *     hands it to libfuse's dispatcher, fuse_session_process_buf, in the
 *     same thread.  The reply libfuse then writes comes back through the
 *     writev (or splice) hook: efsfs_uring_reply sees that this thread
 *     serves a ring request of that unique and copies the reply into the
 *     entry; passthrough's patches (the open reply's backing id) are made
 *     before, as for /dev/fuse.  When the dispatcher returns, the thread
 *     commits with FUSE_IO_URING_CMD_COMMIT_AND_FETCH and waits for the
 *     next request in the same io_uring_enter.
 * The reply overwrites the payload that held the request's arguments, as
 * in libfuse's own io_uring code: a handler must not read its arguments
 * after replying (none of ours does).
 *
 * The /dev/fuse loop (loop.c) keeps running: the kernel still sends it
 * INIT, FORGET, BATCH_FORGET and INTERRUPT (fs/fuse/dev_uring.c's queue
 * ops route only ordinary requests to the ring), and every request while
 * the ring is not ready.  Notifications we send (unique 0) go to
 * /dev/fuse; the kernel's answer to a retrieve (NOTIFY_REPLY) may come from
 * a ring entry, and libfuse answers it with nothing: the entry is
 * committed all the same (serve).
 * One entry per thread, and several threads per queue, so that a request
 * that waits (a cold read from S3, an fsync) holds up only its thread: the
 * kernel gives the next request to another free entry of the queue.  The
 * threads are not pinned to their queue's CPU (libfuse pins them): on a
 * busy 2-core VM a pinned thread waited for its CPU while the other was
 * free, and creates ran 1.6 times slower than unpinned (README).  After a
 * commit the thread spins for fuse_spin_us on its completion queue before
 * it sleeps, as loop.c does on /dev/fuse.
 *
 * Ending: efsfs_uring_stop (after the loop ended: unmounted, or the session
 * stopped) wakes every thread through an eventfd each ring polls, joins
 * them and closes the rings; requests the kernel still has for the ring
 * then wait for the unmount, which ends them, as requests sent to /dev/fuse
 * after the loop ended do.  At an unmount or a kill -9 the kernel ends the
 * entries itself (their completions carry -ENOTCONN).
 *
 * Locking: struct efsfs_uring's counts (nreg, nfail, nexited, qreg) and
 * error text are written and read under lock; warned is atomic, and so is
 * the session's uring_served; the rest is set
 * by efsfs_uring_start before the threads start and immutable afterwards.
 * A struct ring_thread is its own thread's, but for tid (written by
 * efsfs_uring_start before the thread is listed as started, read by stop).
 * cur, the entry whose request this thread is serving, is thread-local.
 */
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/fuse_i.h"
#include "fuse/kernel_abi.h"

#define ENABLE_URING_PARAM "/sys/module/fuse/parameters/enable_uring"
/* threads (each with one entry) per queue; fewer if max_threads is lower */
#define URING_THREADS_PER_QUEUE 4
/* room before the payload for the headers of a request laid out as
 * /dev/fuse gives it; a page keeps the payload page-aligned */
#define URING_LEAD 4096
#define URING_STOP_TAG ((void *)1)

struct efsfs_uring;

struct ring_thread {
	struct efsfs_uring *u;
	unsigned qid;
	pthread_t tid;
	bool started;
	struct io_uring ring;
	bool ring_up;
	struct k_uring_req_header *hdr;     /* mmap'd page */
	char *area;                         /* mmap'd: URING_LEAD + payload_sz */
	char *payload;                      /* area + URING_LEAD */
	struct iovec iov[2];                /* header and payload, for REGISTER */
	uint64_t unique;                    /* request being served */
	bool replied;                       /* its reply is in the entry */
	unsigned misses;                    /* spins in a row that found no request */
};

struct efsfs_uring {
	struct efsfs_session *e;
	char who[4200];             /* "NAME on MOUNTPOINT" */
	int devfd;
	int evfd;                   /* written once by efsfs_uring_stop */
	size_t payload_sz;
	unsigned spin_us;           /* the config's fuse_spin_us */
	unsigned nqueues, nthreads;
	pthread_mutex_t lock;
	unsigned nreg, nfail, nexited;
	char why[256];              /* the first registration failure */
	unsigned *qreg;             /* entries registered per queue */
	atomic_bool warned;
	struct ring_thread t[];
};

static __thread struct ring_thread *cur;

/* Reads the fuse module's enable_uring: 1 Y, 0 N, -errno when it is not
 * there (a kernel without CONFIG_FUSE_IO_URING). */
static int param_enabled(void)
{
	char c = 0;
	FILE *f = fopen(ENABLE_URING_PARAM, "re");
	int r;

	if (!f)
		return -errno;
	r = fread(&c, 1, 1, f) == 1 ? (c == 'Y' || c == '1') : -EIO;
	fclose(f);
	return r;
}

void efsfs_uring_prepare(struct efsfs_session *e)
{
	const char *name = e->conf->name;
	FILE *f;
	int r;

	if (e->conf->fuse_uring != CONF_URING_ON)
		return;
	r = param_enabled();
	if (r == 1)
		return;
	if (r < 0) {
		log_warn("%s on %s: fuse_uring = on, but this kernel has no FUSE over io_uring "
			 "(%s: %s)", name, e->mountpoint, ENABLE_URING_PARAM, strerror(-r));
		return;
	}
	if (geteuid() != 0) {
		log_warn("%s on %s: fuse_uring = on, but %s is N and only root may set it",
			 name, e->mountpoint, ENABLE_URING_PARAM);
		return;
	}
	f = fopen(ENABLE_URING_PARAM, "we");
	if (!f || fputs("Y\n", f) == EOF || fclose(f) != 0) {
		r = errno;
		if (f)
			fclose(f);
		log_warn("%s on %s: fuse_uring = on: cannot enable FUSE over io_uring in %s: %s",
			 name, e->mountpoint, ENABLE_URING_PARAM, strerror(r));
		return;
	}
	log_info("%s on %s: fuse_uring = on: enabled FUSE over io_uring in the kernel (%s = Y)",
		 name, e->mountpoint, ENABLE_URING_PARAM);
}

bool efsfs_uring_negotiate(struct efsfs_session *e)
{
	if (e->conf->fuse_uring == CONF_URING_OFF)
		return false;
	if (!e->pt.hooked) {
		log_warn("%s on %s: FUSE over io_uring needs the session's I/O hooks, which are "
			 "not in; requests stay on /dev/fuse", e->conf->name, e->mountpoint);
		return false;
	}
	if (!atomic_load(&e->pt.init_seen) || !e->pt.uring_offered) {
		if (e->conf->fuse_uring == CONF_URING_ON)
			log_warn("%s on %s: the kernel offers no FUSE over io_uring (%s is not Y); "
				 "requests stay on /dev/fuse", e->conf->name, e->mountpoint,
				 ENABLE_URING_PARAM);
		else
			log_info("%s on %s: the kernel offers no FUSE over io_uring (%s is not Y); "
				 "requests stay on /dev/fuse", e->conf->name, e->mountpoint,
				 ENABLE_URING_PARAM);
		return false;
	}
	atomic_store(&e->pt.patch_uring, true);
	return true;
}

/* The number of possible CPUs, as the kernel counts its queues
 * (num_possible_cpus): the last number of /sys/devices/system/cpu/possible
 * plus one. */
static unsigned possible_cpus(void)
{
	char line[256];
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	long n = -1;

	if (f) {
		if (fgets(line, sizeof(line), f)) {
			char *p = line + strcspn(line, "\n");

			while (p > line && p[-1] >= '0' && p[-1] <= '9')
				p--;
			n = strtol(p, NULL, 10);
		}
		fclose(f);
	}
	if (n < 0) {
		n = sysconf(_SC_NPROCESSORS_CONF) - 1;
		if (n < 0)
			n = 0;
	}
	return (unsigned)n + 1;
}

/* Notes a thread's registration (r: 0 or -errno, why: its cause) and, when
 * it was the last, logs the outcome once. */
static void registered(struct efsfs_uring *u, unsigned qid, int r, const char *why)
{
	unsigned done, empty = 0;

	pthread_mutex_lock(&u->lock);
	if (r == 0) {
		u->nreg++;
		u->qreg[qid]++;
	} else {
		if (u->nfail++ == 0)
			snprintf(u->why, sizeof(u->why), "%s: %s", why, strerror(-r));
	}
	done = u->nreg + u->nfail;
	for (unsigned q = 0; q < u->nqueues; q++)
		empty += u->qreg[q] == 0;
	/* the kernel uses the ring once every queue has an entry */
	if (done == u->nthreads && u->nfail == 0)
		log_info("%s: serving FUSE over io_uring: %u queues, %u entries of %zu KiB",
			 u->who, u->nqueues, u->nreg, u->payload_sz >> 10);
	else if (done == u->nthreads && empty == 0)
		log_warn("%s: serving FUSE over io_uring with %u of %u ring entries (%s)",
			 u->who, u->nreg, u->nthreads, u->why);
	else if (done == u->nthreads)
		log_warn("%s: FUSE over io_uring: %u of %u ring entries failed to register "
			 "(%s); requests stay on /dev/fuse", u->who, u->nfail, u->nthreads, u->why);
	pthread_mutex_unlock(&u->lock);
}

/* Fills an SQE128 slot with a FUSE ring command for t's entry.  The
 * command (struct k_uring_cmd_req) lies in the slot's second half, past
 * the 64 bytes struct io_uring_sqe declares. */
static void sqe_cmd(struct io_uring_sqe *sqe, struct ring_thread *t, uint32_t op,
		    uint64_t commit_id)
{
	struct k_uring_cmd_req c = { .commit_id = commit_id, .qid = (uint16_t)t->qid };
	unsigned char *slot = (unsigned char *)sqe;
	size_t at = offsetof(struct io_uring_sqe, cmd);

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = t->u->devfd;
	sqe->cmd_op = op;
	if (op == K_URING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)t->iov;
		sqe->len = 2;
	}
	io_uring_sqe_set_data(sqe, t);
	memset(slot + sizeof(*sqe), 0, 128 - sizeof(*sqe));
	memcpy(slot + at, &c, sizeof(c));
}

/* Sets up t's ring and entry and registers it: 0, or -errno with *why set. */
static int ring_setup(struct ring_thread *t, const char **why)
{
	struct efsfs_uring *u = t->u;
	struct io_uring_params p = { .flags = IORING_SETUP_SQE128 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int r;

	*why = "allocating the entry";
	t->hdr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->hdr == MAP_FAILED) {
		t->hdr = NULL;
		return -errno;
	}
	t->area = mmap(NULL, URING_LEAD + u->payload_sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->area == MAP_FAILED) {
		t->area = NULL;
		return -errno;
	}
	t->payload = t->area + URING_LEAD;
	t->iov[0] = (struct iovec){ t->hdr, sizeof(*t->hdr) };
	t->iov[1] = (struct iovec){ t->payload, u->payload_sz };

	*why = "setting up an io_uring";
	r = io_uring_queue_init_params(4, &t->ring, &p);
	if (r < 0)
		return r;
	t->ring_up = true;
	sqe = io_uring_get_sqe(&t->ring);
	if (!sqe)
		return -EIO;
	sqe_cmd(sqe, t, K_URING_CMD_REGISTER, 0);
	sqe = io_uring_get_sqe(&t->ring);
	if (!sqe)
		return -EIO;
	io_uring_prep_poll_add(sqe, u->evfd, POLLIN);
	io_uring_sqe_set_data(sqe, URING_STOP_TAG);

	*why = "FUSE_IO_URING_CMD_REGISTER";
	r = io_uring_submit(&t->ring);
	if (r < 0)
		return r;
	/* a refused registration completes at once; a good one only when
	 * the first request comes */
	if (io_uring_peek_cqe(&t->ring, &cqe) == 0 && cqe->user_data == (uintptr_t)t &&
	    cqe->res < 0) {
		r = cqe->res;
		io_uring_cqe_seen(&t->ring, cqe);
		return r;
	}
	return 0;
}

/* Serves the request in t's entry and queues the commit.  The request is
 * laid out in front of its payload as /dev/fuse would give it. */
static void serve(struct ring_thread *t)
{
	struct efsfs_uring *u = t->u;
	struct efsfs_session *e = u->e;
	struct k_uring_ent_in_out ent;
	struct k_in_header h;
	struct k_out_header oh;
	struct io_uring_sqe *sqe;
	struct fuse_buf b = { .size = 0 };
	size_t oplen = 0;
	bool bad;

	memcpy(&ent, &t->hdr->ent, sizeof(ent));
	memcpy(&h, t->hdr->in_out, sizeof(h));
	/* in.len counts the header, the op header and the payload */
	bad = ent.payload_sz > u->payload_sz || h.len < sizeof(h) + ent.payload_sz ||
	      h.len - sizeof(h) - ent.payload_sz > K_URING_OP_IN_SZ;
	if (!bad) {
		char *start;

		oplen = h.len - sizeof(h) - ent.payload_sz;
		start = t->payload - oplen - sizeof(h);
		memcpy(start, &h, sizeof(h));
		memcpy(start + sizeof(h), t->hdr->op_in, oplen);
		b.mem = start;
		b.size = h.len;
		t->unique = h.unique;
		t->replied = false;
		cur = t;
		efsfs_pt_note_request(e, start, h.len);
		fuse_session_process_buf(e->se, &b);
		cur = NULL;
		atomic_fetch_add(&e->uring_served, 1);
	}
	if (bad || !t->replied) {
		/* a request we cannot read, or one the dispatcher did not
		 * answer (a NOTIFY_REPLY, 41, never is): the entry must be
		 * committed all the same */
		if ((bad || h.opcode != 41) && !atomic_exchange(&u->warned, true))
			log_warn("%s: io_uring: %s request (opcode %" PRIu32 ", length %" PRIu32
				 ", payload %" PRIu32 "); answered EIO", u->who,
				 bad ? "a malformed" : "no reply to a", h.opcode, h.len, ent.payload_sz);
		oh = (struct k_out_header){ .len = sizeof(oh), .error = -EIO, .unique = h.unique };
		memcpy(t->hdr->in_out, &oh, sizeof(oh));
		t->hdr->ent.payload_sz = 0;
	}
	/* the ring has room for 4 and holds at most this and the poll */
	sqe = io_uring_get_sqe(&t->ring);
	if (sqe)
		sqe_cmd(sqe, t, K_URING_CMD_COMMIT_AND_FETCH, ent.commit_id);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* After a commit, looks at the completion queue without sleeping for up
 * to spin_us, as loop.c polls /dev/fuse: the next request of a busy
 * application usually comes within that time, and is then taken without a
 * sleep and a wake-up.  (The kernel hands the request over as task work
 * of this thread, which interrupts the spin to run it.)  After 16 spins in
 * a row that found nothing only every 16th spins, until one finds a
 * request.  True when a completion is there. */
static bool spin_for_request(struct ring_thread *t)
{
	struct io_uring_cqe *cqe;
	uint64_t until;

	if (t->u->spin_us == 0)
		return false;
	if (t->misses >= 16 && t->misses++ % 16 != 0)
		return false;
	until = now_us() + t->u->spin_us;
	do {
		if (io_uring_peek_cqe(&t->ring, &cqe) == 0) {
			t->misses = 0;
			return true;
		}
	} while (now_us() < until);
	if (t->misses < 16)
		t->misses++;
	return false;
}

static void *ring_main(void *arg)
{
	struct ring_thread *t = arg;
	struct efsfs_uring *u = t->u;
	struct io_uring_cqe *cqe;
	const char *why = "";
	int r;

	r = ring_setup(t, &why);
	registered(u, t->qid, r, why);
	while (r == 0) {
		unsigned head, n = 0;
		bool stop = false, request = false;

		/* submits the commit of the last request, waits for the next */
		if (io_uring_sq_ready(&t->ring) > 0 && t->u->spin_us > 0) {
			r = io_uring_submit(&t->ring);
			if (r >= 0 && !spin_for_request(t))
				r = io_uring_submit_and_wait(&t->ring, 1);
		} else {
			r = io_uring_submit_and_wait(&t->ring, 1);
		}
		if (r == -EINTR) {
			r = 0;
			continue;
		}
		if (r < 0) {
			log_warn("%s: io_uring: waiting for requests: %s", u->who, strerror(-r));
			break;
		}
		r = 0;
		io_uring_for_each_cqe(&t->ring, head, cqe) {
			n++;
			if (io_uring_cqe_get_data(cqe) == URING_STOP_TAG) {
				stop = true;
			} else if (cqe->res == 0) {
				request = true;
			} else if (cqe->res == -EAGAIN || cqe->res == -EINTR) {
				r = cqe->res;   /* not expected from fuse: stop this entry */
			} else {
				/* -ENOTCONN, -ECONNABORTED: the connection ended */
				r = cqe->res;
			}
		}
		io_uring_cq_advance(&t->ring, n);
		if (stop)
			break;
		if (r < 0) {
			if (r != -ENOTCONN && r != -ECONNABORTED)
				log_warn("%s: io_uring: a ring entry failed: %s", u->who, strerror(-r));
			break;
		}
		if (request)
			serve(t);
	}
	pthread_mutex_lock(&u->lock);
	u->nexited++;
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static void ring_free(struct efsfs_uring *u)
{
	for (unsigned i = 0; i < u->nthreads; i++) {
		struct ring_thread *t = &u->t[i];

		if (t->ring_up)
			io_uring_queue_exit(&t->ring);
		if (t->area)
			munmap(t->area, URING_LEAD + u->payload_sz);
		if (t->hdr)
			munmap(t->hdr, 4096);
	}
	if (u->evfd >= 0)
		close(u->evfd);
	pthread_mutex_destroy(&u->lock);
	free(u->qreg);
	free(u);
}

void efsfs_uring_start(struct efsfs_session *e, size_t payload)
{
	struct efsfs_uring *u;
	unsigned nq = possible_cpus(), per = URING_THREADS_PER_QUEUE;

	if (e->max_threads / nq < per)
		per = e->max_threads / nq ? e->max_threads / nq : 1;
	u = calloc(1, sizeof(*u) + (size_t)nq * per * sizeof(u->t[0]));
	if (u)
		u->qreg = calloc(nq, sizeof(*u->qreg));
	if (!u || !u->qreg) {
		free(u);
		log_warn("%s on %s: FUSE over io_uring: out of memory; requests stay on /dev/fuse",
			 e->conf->name, e->mountpoint);
		return;
	}
	u->e = e;
	snprintf(u->who, sizeof(u->who), "%s on %s", e->conf->name, e->mountpoint);
	u->devfd = fuse_session_fd(e->se);
	u->payload_sz = payload;
	u->spin_us = (unsigned)e->conf->fuse_spin_us;
	u->nqueues = nq;
	u->nthreads = nq * per;
	pthread_mutex_init(&u->lock, NULL);
	u->evfd = eventfd(0, EFD_CLOEXEC);
	if (u->evfd < 0) {
		log_warn("%s: FUSE over io_uring: eventfd: %s; requests stay on /dev/fuse",
			 u->who, strerror(errno));
		ring_free(u);
		return;
	}
	for (unsigned i = 0; i < u->nthreads; i++) {
		struct ring_thread *t = &u->t[i];
		int r;

		t->u = u;
		t->qid = i % nq;
		r = pthread_create(&t->tid, NULL, ring_main, t);
		if (r != 0) {
			/* the threads not started count as failed registrations */
			for (unsigned j = i; j < u->nthreads; j++)
				registered(u, j % nq, -r, "starting a ring thread");
			break;
		}
		t->started = true;
	}
	atomic_store(&e->uring, u);
}

void efsfs_uring_stop(struct efsfs_session *e)
{
	struct efsfs_uring *u = atomic_exchange(&e->uring, NULL);
	uint64_t one = 1;

	if (!u)
		return;
	if (write(u->evfd, &one, sizeof(one)) != sizeof(one))
		log_warn("%s: io_uring: waking the ring threads: %s", u->who, strerror(errno));
	for (unsigned i = 0; i < u->nthreads; i++)
		if (u->t[i].started)
			pthread_join(u->t[i].tid, NULL);
	log_info("%s: FUSE over io_uring served %" PRIu64 " requests", u->who,
		 (uint64_t)atomic_load(&e->uring_served));
	ring_free(u);
}

bool efsfs_uring_reply(const struct iovec *iov, int count, ssize_t *ret_n)
{
	struct ring_thread *t = cur;
	struct k_out_header oh;
	size_t n = 0, total;

	if (!t || t->replied || iov[0].iov_len != sizeof(oh))
		return false;
	memcpy(&oh, iov[0].iov_base, sizeof(oh));
	if (oh.unique != t->unique)
		return false;   /* a notification (unique 0), for /dev/fuse */
	total = sizeof(oh);
	for (int i = 1; i < count; i++)
		total += iov[i].iov_len;
	if (total - sizeof(oh) > t->u->payload_sz) {
		oh.error = -EIO;
	} else {
		/* memmove: a reply may point into the request's arguments */
		for (int i = 1; i < count; i++) {
			memmove(t->payload + n, iov[i].iov_base, iov[i].iov_len);
			n += iov[i].iov_len;
		}
	}
	oh.len = (uint32_t)(sizeof(oh) + n);
	memcpy(t->hdr->in_out, &oh, sizeof(oh));
	t->hdr->ent.payload_sz = (uint32_t)n;
	t->replied = true;
	*ret_n = (ssize_t)total;
	return true;
}

/* Reads exactly len bytes from fd into buf: 0 or -errno. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

bool efsfs_uring_splice_reply(int fdin, size_t len, ssize_t *ret_n)
{
	struct ring_thread *t = cur;
	struct k_out_header oh;
	int r;

	if (!t || t->replied)
		return false;
	/* libfuse splices replies only, never notifications: this one is
	 * the reply to the request this thread serves */
	if (len < sizeof(oh) || len - sizeof(oh) > t->u->payload_sz) {
		errno = EINVAL;
		*ret_n = -1;
		return true;
	}
	r = read_full(fdin, &oh, sizeof(oh));
	if (r == 0)
		r = read_full(fdin, t->payload, len - sizeof(oh));
	if (r < 0) {
		errno = -r;
		*ret_n = -1;
		return true;
	}
	memcpy(t->hdr->in_out, &oh, sizeof(oh));
	t->hdr->ent.payload_sz = (uint32_t)(len - sizeof(oh));
	t->replied = true;
	*ret_n = (ssize_t)len;
	return true;
}

uint64_t efsfs_session_uring_requests(struct efsfs_session *s)
{
	return atomic_load(&s->uring_served);
}
