/* loop.c - the request loop: worker threads that read requests from
 * /dev/fuse and answer them, one reader at a time, with a short spin.
 *
 * libfuse's multi-threaded loop puts every idle worker to sleep in read(2)
 * on /dev/fuse, so each request wakes a sleeping thread, and each thread
 * sleeps again right after its reply.  For an application doing one
 * operation after another (untar, a build, `cp -r`) that is two context
 * switches per request on the daemon's side, and on a virtual machine a
 * context switch costs about as much as the request itself.
 *
 * Here idle workers wait on a condition variable instead, and only one of
 * them, the reader, waits for the kernel.  Before it sleeps in read(2) the
 * reader polls /dev/fuse for up to spin_us microseconds: the next request
 * of a busy application usually arrives within that time and is taken
 * without a sleep or a wake-up.  The reader then gives its place to a
 * waiting worker only when the request may take long (data I/O, fsync,
 * truncate, anything that may wait for S3 or a flush of the disk); for a
 * quick one (lookup, getattr, create, rename, release...) it answers and
 * takes the reader's place back itself, so a stream of quick requests is
 * served by one thread without waking another.  A quick request that waits
 * anyway (behind a lock, say) delays the requests queued behind it by that
 * wait, never for another request.  But an open or a release takes the
 * file's I/O lock, which a read or write holds while it fetches a cold
 * chunk from S3: so while a slow request is being served, or the lifecycle
 * fetches a chunk (the may_wait callback, fs_fetching), every request is
 * handed on, as libfuse does.
 *
 * One thread serving a stream of quick requests one at a time is right for
 * one application; for several at once (parallel creates, a parallel
 * `find`) it makes the daemon one thread.  So the reader also hands its
 * place on with a quick request when another request is already queued
 * behind it (a poll(2) that does not wait finds /dev/fuse readable): the
 * next worker reads that one while this one serves its own.  And a worker
 * that has answered its request while another holds the reader's place
 * reads the next one itself, as an extra reader, when one is already
 * queued, rather than sleep until the place is free and be woken for it:
 * with four processes creating files at once that took the daemon from 13-15
 * futex calls per file to 10.  But once as many workers serve quick
 * requests as there are CPUs, the reader hands on no more: another worker
 * would only share the CPUs, and wake-ups and lock hand-overs were what the
 * daemon spent its time on (the same creates: 10 futex calls per file to
 * 3, 350 to 240 µs of daemon CPU per file); the queued request waits for
 * the first worker to come back.  Read-only metadata requests then run at
 * once on the metadata engine's read connections (backend/meta.h,
 * meta_read).
 *
 * spin_us = 0 (the config's fuse_spin_us) gives libfuse's behaviour: no
 * poll, the place handed on at every request.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/fuse_i.h"
#include "fuse/kernel_abi.h"

/* One run of the loop, on efsfs_loop_run's stack.  se, fd, spin_us,
 * max_threads, ncpu, may_wait, arg and wake are set before the first worker
 * starts and immutable afterwards, who too; misses is the reader's own (written
 * and read only by the worker holding the reader's place); nquick is an
 * atomic, changed by each worker around a quick request; every other
 * field is written and read under lock. */
struct loop {
	struct fuse_session *se;
	int fd;
	unsigned spin_us;
	unsigned max_threads;
	bool (*may_wait)(void *arg);   /* true: no request counts as quick now */
	void *arg;
	const char *who;            /* "NAME on MOUNTPOINT", for messages */
	pthread_mutex_t lock;
	pthread_cond_t turn;        /* idle workers wait here for the reader's place */
	sem_t *wake;                /* posted when a worker saw the end of the session,
				     * or by efsfs_session_stop */
	bool reading;               /* a worker holds the reader's place */
	bool stop;
	unsigned misses;            /* polls in a row that found no request */
	unsigned nthreads, nwaiting;
	unsigned nslow;             /* slow requests being served */
	atomic_uint nquick;         /* quick requests being served: atomic */
	unsigned ncpu;              /* CPUs online at the start: immutable */
	int error;                  /* first error that ended the loop, negative */
	struct worker *workers;
};

/* A worker thread: l and tid are set under l->lock before it is listed,
 * immutable afterwards; done and next are written and read under l->lock. */
struct worker {
	struct loop *l;
	pthread_t tid;
	bool done;                  /* left its loop; may be joined */
	struct worker *next;
};

/* Whether a request is served by the reader itself (see the top).  Slow
 * are those that may wait for S3 (data I/O of cold chunks), for the disk
 * to flush (fsync, fallocate, truncate), for another process (a lock), or
 * move much data; the metadata operations, which SQLite and the local
 * disk's cache answer, are quick.  Opcodes from include/uapi/linux/fuse.h;
 * one we do not know is slow. */
static bool quick_request(const struct fuse_buf *b)
{
	const struct k_in_header *h = b->mem;
	uint32_t valid;

	if ((b->flags & FUSE_BUF_IS_FD) || b->size < sizeof(*h))
		return false;   /* a big WRITE, left in the pipe */
	switch (h->opcode) {
	case K_FUSE_SETATTR:
		if (b->size < sizeof(*h) + sizeof(valid))
			return false;
		memcpy(&valid, (const char *)b->mem + sizeof(*h), sizeof(valid));
		return !(valid & K_FATTR_SIZE);
	case 1:         /* LOOKUP */
	case 2:         /* FORGET */
	case 3:         /* GETATTR */
	case 5:         /* READLINK */
	case 6:         /* SYMLINK */
	case 8:         /* MKNOD */
	case 9:         /* MKDIR */
	case 10:        /* UNLINK */
	case 11:        /* RMDIR */
	case 12:        /* RENAME */
	case 13:        /* LINK */
	case 14:        /* OPEN */
	case 17:        /* STATFS */
	case 18:        /* RELEASE */
	case 21:        /* SETXATTR */
	case 22:        /* GETXATTR */
	case 23:        /* LISTXATTR */
	case 24:        /* REMOVEXATTR */
	case 25:        /* FLUSH */
	case 27:        /* OPENDIR */
	case 28:        /* READDIR */
	case 29:        /* RELEASEDIR */
	case 34:        /* ACCESS */
	case 35:        /* CREATE */
	case 36:        /* INTERRUPT */
	case 42:        /* BATCH_FORGET */
	case 44:        /* READDIRPLUS */
	case 45:        /* RENAME2 */
		return true;
	default:        /* READ, WRITE, FSYNC, FSYNCDIR, FALLOCATE, LSEEK, locks... */
		return false;
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Poll /dev/fuse without sleeping for up to spin_us; true when a request
 * is waiting.  After 16 polls in a row that found nothing (requests come
 * slower than spin_us apart) only every 16th wait polls, until one finds a
 * request: the CPU spent on polling stays small when it does not pay.
 * Called by the reader only, so misses needs no lock of its own. */
static bool spin_for_request(struct loop *l)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };
	uint64_t until;

	if (l->spin_us == 0)
		return false;
	if (l->misses >= 16 && l->misses++ % 16 != 0)
		return false;
	until = now_us() + l->spin_us;
	do {
		if (poll(&p, 1, 0) != 0) {
			/* a request, or an error read(2) will report */
			l->misses = 0;
			return true;
		}
	} while (now_us() < until);
	if (l->misses < 16)
		l->misses++;
	return false;
}

/* Whether another request waits on /dev/fuse now (a poll that does not
 * wait); for the reader, right after it took one. */
static bool more_queued(struct loop *l)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };

	return l->max_threads > 1 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static void *worker_main(void *arg);

static void free_buf(void *arg)
{
	struct fuse_buf *b = arg;

	free(b->mem);
	b->mem = NULL;
}

/* Called with l->lock held. */
static void start_worker(struct loop *l)
{
	struct worker *w;
	int r;

	if (l->stop)
		return;         /* efsfs_loop_run may be joining the list already */
	w = calloc(1, sizeof(*w));

	if (!w) {
		log_warn("%s: request loop: out of memory for a worker thread", l->who);
		return;
	}
	w->l = l;
	r = pthread_create(&w->tid, NULL, worker_main, w);
	if (r != 0) {
		log_warn("%s: request loop: cannot start a worker thread: %s", l->who,
			 strerror(r));
		free(w);
		return;
	}
	w->next = l->workers;
	l->workers = w;
	l->nthreads++;
}

/* The reader saw the end of the session: it gives up its place and stops
 * everyone in one go, so that no other worker reads again. */
static void finish(struct loop *l, int error)
{
	pthread_mutex_lock(&l->lock);
	if (error < 0 && l->error == 0)
		l->error = error;
	l->reading = false;
	l->stop = true;
	pthread_cond_broadcast(&l->turn);
	pthread_mutex_unlock(&l->lock);
	sem_post(l->wake);
}

/* Reads the next request into *fbuf, cancellable only while it waits for
 * the kernel (see efsfs_loop_run); libfuse's result. */
static int receive(struct loop *l, struct fuse_buf *fbuf)
{
	int r;

	pthread_cleanup_push(free_buf, fbuf);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	r = fuse_session_receive_buf(l->se, fbuf);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_pop(0);
	return r;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct loop *l = w->l;
	struct fuse_buf fbuf = { .mem = NULL };
	bool quick, hand_on, place;    /* place: this worker holds the reader's place */
	int r;

	/* cancellable only while waiting for the kernel (see efsfs_loop_run) */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	for (;;) {
		place = true;
		pthread_mutex_lock(&l->lock);
		if (l->reading && !l->stop && l->spin_us > 0 && atomic_load(&l->nquick) > 0) {
			/* Another worker holds the reader's place, others
			 * serve quick requests, and a request is already
			 * waiting: read it as an extra reader rather than
			 * sleep until the place is free.  With several
			 * applications at once that saves a sleep and a
			 * wake-up per request; if the reader takes it first,
			 * this worker waits in read(2) as libfuse's workers
			 * do.  With one application (no other quick request
			 * being served) that race would be the usual case. */
			pthread_mutex_unlock(&l->lock);
			place = !more_queued(l);
			pthread_mutex_lock(&l->lock);
		}
		if (place) {
			/* After a quick request the reader's place is usually
			 * still free: take it back without waking anyone. */
			while (l->reading && !l->stop) {
				l->nwaiting++;
				pthread_cond_wait(&l->turn, &l->lock);
				l->nwaiting--;
			}
			if (l->stop)
				break;
			l->reading = true;
		} else if (l->stop) {
			break;
		}
		pthread_mutex_unlock(&l->lock);

		if (place)
			spin_for_request(l);
		r = receive(l, &fbuf);

		if (r == -EINTR || r == -EAGAIN) {
			pthread_mutex_lock(&l->lock);
			if (place)
				l->reading = false;
			pthread_mutex_unlock(&l->lock);
			continue;
		}
		if (r <= 0 || fuse_session_exited(l->se)) {
			/* 0: unmounted (libfuse has marked the session exited) */
			if (r < 0)
				log_err("%s: request loop: reading /dev/fuse: %s", l->who,
					strerror(-r));
			finish(l, r < 0 ? r : 0);
			pthread_mutex_lock(&l->lock);
			break;
		}
		quick = l->spin_us > 0 && quick_request(&fbuf) &&
			!(l->may_wait && l->may_wait(l->arg));
		/* another request queued behind a quick one: let another
		 * worker take it while this one serves its own */
		hand_on = place && quick && more_queued(l);
		pthread_mutex_lock(&l->lock);
		if (place)
			l->reading = false;
		/* a quick request may still wait for a lock a slow one holds:
		 * while one runs, nothing holds up the others */
		if (l->nslow > 0)
			quick = false;
		if (!quick)
			l->nslow++;
		/* a quick request queued behind this one waits for the next
		 * worker to come back when as many are serving quick ones as
		 * there are CPUs: waking another would only share them */
		if (hand_on && atomic_load(&l->nquick) >= l->ncpu)
			hand_on = false;
		if (quick)
			atomic_fetch_add(&l->nquick, 1);
		if (place && (!quick || hand_on)) {
			if (l->nwaiting > 0)
				pthread_cond_signal(&l->turn);
			else if (l->nthreads < l->max_threads)
				start_worker(l);
		}
		pthread_mutex_unlock(&l->lock);

		fuse_session_process_buf(l->se, &fbuf);
		if (quick)
			atomic_fetch_sub(&l->nquick, 1);
		if (!quick) {
			pthread_mutex_lock(&l->lock);
			l->nslow--;
			pthread_mutex_unlock(&l->lock);
		}
	}
	/* here with l->lock held */
	w->done = true;
	pthread_mutex_unlock(&l->lock);
	free(fbuf.mem);
	return NULL;
}

int efsfs_loop_run(struct fuse_session *se, const char *who, sem_t *wake, unsigned spin_us,
		   unsigned max_threads, bool (*may_wait)(void *arg), void *arg)
{
	struct loop l;
	struct worker *w;
	sigset_t all, old;
	long ncpu;
	int r;

	memset(&l, 0, sizeof(l));
	l.se = se;
	l.who = who;
	l.wake = wake;
	l.fd = fuse_session_fd(se);
	l.spin_us = spin_us;
	l.may_wait = may_wait;
	l.arg = arg;
	l.max_threads = max_threads ? max_threads : 1;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	l.ncpu = ncpu > 0 ? (unsigned)ncpu : 1;
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.turn, NULL);

	/* Workers take no signals: SIGINT/SIGTERM/SIGHUP reach this thread,
	 * whose sem_wait they interrupt (libfuse's handlers mark the session
	 * exited). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&l.lock);
	start_worker(&l);
	if (l.max_threads > 1)
		start_worker(&l);
	r = l.nthreads ? 0 : -EAGAIN;
	pthread_mutex_unlock(&l.lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/* A signal normally interrupts sem_wait here; the timeout covers one
	 * that lands just before it, or in another thread. */
	while (r == 0 && !fuse_session_exited(se)) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (sem_timedwait(wake, &until) == 0)
			break;
	}
	/* Wake everyone: waiting workers see stop; the reader, asleep in
	 * read(2) or poll(2) with cancellation enabled only there, is
	 * cancelled; workers busy with a request finish it first. */
	pthread_mutex_lock(&l.lock);
	l.stop = true;
	pthread_cond_broadcast(&l.turn);
	for (w = l.workers; w; w = w->next)
		if (!w->done)
			pthread_cancel(w->tid);
	/* with stop set no worker starts another, so the list only shrinks */
	while ((w = l.workers)) {
		l.workers = w->next;
		pthread_mutex_unlock(&l.lock);
		pthread_join(w->tid, NULL);
		free(w);
		pthread_mutex_lock(&l.lock);
	}
	pthread_mutex_unlock(&l.lock);
	if (r == 0)
		r = l.error;
	pthread_cond_destroy(&l.turn);
	pthread_mutex_destroy(&l.lock);
	return r;
}
