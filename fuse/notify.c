/* notify.c - keeping the kernel caches of several sessions of one file
 * system coherent (close-to-open between mounts), so that attributes and
 * entries can be cached for long.
 *
 * Each session's kernel keeps its own dentries, attributes and page cache,
 * and learns of a change only when it makes it.  So every change one session
 * makes (the one-line calls in dir.c, file.c and xattr.c) is told to every
 * other session of the same struct fs before the request is answered: the
 * kernel drops the name (FUSE_NOTIFY_INVAL_ENTRY), the attributes and the
 * pages (FUSE_NOTIFY_INVAL_INODE) it cached.  Changes the daemon makes
 * behind every kernel's back (a tier move changes st_blocks) come through
 * the backend's change callback (fs_set_change_cb), installed here while a
 * session of the file system is registered, and go to every session; a
 * listener for another host's changes will feed the same callback.
 *
 * A registry per struct fs lists its live sessions, each with a notifier:
 * a queue and a thread that writes the notifications to a duplicate of the
 * session's /dev/fuse descriptor.  The kernel serves a notification in the
 * writing thread and may have to wait there: INVAL_ENTRY takes the
 * directory's inode lock, which that session's kernel holds while one of
 * its own requests on the directory is being served, and a page
 * invalidation waits for pages under I/O.  So no backend lock is ever held
 * while a notification is queued or waited for, and the worker that
 * changed something waits for its notifications to be written (the next
 * request on another session then finds its cache dropped) with two limits
 * that keep waits from closing a cycle:
 *   - it gives up on a cycle: two sessions creating in one directory at
 *     once each hold their kernel's directory lock while their workers
 *     wait, and each session's notifier is stuck writing to the other
 *     kernel behind that lock.  A wait looks every NOTIFY_SLICE_MS for a
 *     chain from its session back to itself: a waiting worker of session S
 *     has notifications queued at notifier T, T has been inside one write
 *     for NOTIFY_STUCK_MS, and a worker of T's session waits in turn, and
 *     so on until the chain comes back to a stuck notifier of the waiting
 *     session.  Such a cycle then costs about NOTIFY_STUCK_MS, and the
 *     notification is still written a moment later.  A session that merely
 *     has a worker waiting, or a notifier slow to be scheduled, is waited
 *     for (a fixed short wait for any session with a waiting worker left a
 *     rewrite and a rename unseen on a loaded host, 1 round in 300 of
 *     sessions.sh; not waiting at all, 2 rounds in 300).
 *   - it waits at most NOTIFY_WAIT_MS, for what no rule foresees (a
 *     session whose loop stopped while its kernel still holds a lock).
 * Data written through passthrough never reaches us: a handle opened for
 * writing while another session is live asks for FLUSH (file.c), and its
 * close tells the others then; every release of a writable handle does it
 * again, and no open keeps the page cache (FOPEN_KEEP_CACHE is never set).
 *
 * Locks: regs_lock (global) guards the list of registries and the
 * reference counts of registries and notifiers; setup (global) serializes
 * registering and unregistering, and is taken before a file system's
 * change_lock (fs_set_change_cb) and regs_lock.  struct reg's lock guards
 * its list, every queue of its notifiers, the waits (struct nwait, listed
 * in their session's notifier), the marks of the cycle search and the
 * start of each notifier's current write; it is taken under change_lock
 * (the backend callback) and never around a kernel write.  The notifier's
 * fd and thread are set before it is listed and immutable after.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/fuse_i.h"
#include "fuse/kernel_abi.h"

#define NOTIFY_WAIT_MS 2000      /* the longest a change waits for other sessions */
#define NOTIFY_SLICE_MS 5        /* how often a wait looks for a cycle */
#define NOTIFY_STUCK_MS 10       /* a write this old may be held up by a kernel lock */
#define NOTIFY_JOIN_MS 2000      /* ... and unmount for a notifier's last write */

/* One notification for one session, queued. */
struct nitem {
	struct nitem *next;
	struct fs_change c;           /* c.name points into name */
	struct nwait *w;              /* the change's wait, NULL: nobody waits */
	char name[];
};

/* A worker's wait for its notifications (on its stack; reg.lock). */
struct nwait {
	unsigned pending;
	struct nwait *next;           /* in the waiting session's list */
};

struct reg;

struct efsfs_notifier {
	struct reg *reg;              /* immutable */
	int fd;                       /* dup of the session's /dev/fuse fd; immutable */
	uint64_t root;                /* the session's root inode (view.c); immutable */
	char who[4200];               /* "NAME on MOUNTPOINT"; immutable */
	pthread_t tid;                /* immutable once started */
	/* reg.lock */
	struct efsfs_notifier *next;
	struct nitem *head, *tail;
	struct nitem *cur;            /* the one being written, off the queue */
	int64_t cur_since;            /* when its write began (mono_ms) */
	struct nwait *waits;          /* this session's workers' waits */
	unsigned mark;                /* the cycle search's visit mark */
	bool stop;
	bool warned;
	pthread_cond_t wake;
	atomic_bool writeback;        /* the session negotiated the writeback cache */
	atomic_bool detached;         /* left behind by efsfs_notify_end: the fs may be gone */
	/* regs_lock */
	unsigned refs;                /* the session and the thread */
};

/* The live sessions of one struct fs. */
struct reg {
	struct fs *fs;                /* immutable */
	struct reg *next;             /* regs_lock */
	unsigned refs;                /* regs_lock: notifiers not yet freed */
	atomic_uint n;                /* listed notifiers; written under lock */
	pthread_mutex_t lock;
	unsigned gen;                 /* lock: the last cycle search's mark */
	pthread_cond_t done;          /* a wait's notifications were written (CLOCK_MONOTONIC) */
	struct efsfs_notifier *list;  /* lock */
};

static atomic_uint test_delay_ms;  /* efsfs_session_test_notify_delay */
static pthread_mutex_t setup = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t regs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg *regs;          /* regs_lock */

/* The inode number session t's kernel knows ino by, and the backend's
 * number of the inode e's kernel calls ino: the same but for a session's
 * root (view.c), which its kernel calls FUSE_ROOT_ID. */
static uint64_t kernel_ino(const struct efsfs_notifier *t, uint64_t ino)
{
	/* (the file system's root in a session rooted elsewhere is not in its
	 * kernel: that notification only drops the session root's entry of
	 * the same name, which costs a lookup and nothing else) */
	return ino == t->root ? FUSE_ROOT_ID : ino;
}

/* Callers pass nodeids or inode numbers already mapped (efsfs_ino): the
 * two differ only at the root, and a mapped number is never
 * FUSE_ROOT_ID in a session rooted elsewhere (its root is confined). */
static uint64_t backend_ino(const struct efsfs_session *e, uint64_t ino)
{
	return ino == FUSE_ROOT_ID ? e->view.root : ino;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- writing to the kernel (the notifier's thread, no lock held) ------ */

/* 0, or -errno; -ENOENT (the kernel does not have it cached) is the
 * common answer and means nothing needed dropping. */
static int send_inval_inode(int fd, uint64_t ino, int64_t off, int64_t len)
{
	struct k_inval_inode_out o = { ino, off, len };
	struct k_out_header h = { sizeof(h) + sizeof(o), K_NOTIFY_INVAL_INODE, 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { &o, sizeof(o) } };

	return writev(fd, iov, 2) < 0 ? -errno : 0;
}

static int send_inval_entry(int fd, uint64_t parent, const char *name)
{
	size_t n = strlen(name);
	struct k_inval_entry_out o = { parent, (uint32_t)n, 0 };
	struct k_out_header h = { (uint32_t)(sizeof(h) + sizeof(o) + n + 1), K_NOTIFY_INVAL_ENTRY,
				  0 };
	struct iovec iov[3] = { { &h, sizeof(h) }, { &o, sizeof(o) }, { (void *)name, n + 1 } };

	return writev(fd, iov, 3) < 0 ? -errno : 0;
}

static void deliver(struct efsfs_notifier *t, const struct fs_change *c)
{
	char name[FS_NAME_MAX + 1];
	uint64_t parent;
	int r = 0;

	/* With the writeback cache the kernel keeps its own size and times of a
	 * regular file: it takes ours only for an inode it looks up anew, once
	 * the old one is dropped with its name (and closed). */
	for (unsigned nth = 0; c->ino && atomic_load(&t->writeback) && nth < FS_LINK_MAX &&
	     !atomic_load(&t->detached) &&
	     fs_file_name(t->reg->fs, c->ino, nth, &parent, name) == 0; nth++) {
		r = send_inval_entry(t->fd, kernel_ino(t, parent), name);
		if (r < 0 && r != -ENOENT)
			log_debug("%s: notification: %s", t->who, strerror(-r));
		r = 0;
	}
	if (c->what & FS_CHANGE_ENTRY) {
		r = send_inval_entry(t->fd, kernel_ino(t, c->parent), c->name);
		/* the directory's size, times and link count; INVAL_ENTRY drops
		 * them only when the kernel had the name */
		if (r == 0 || r == -ENOENT)
			r = send_inval_inode(t->fd, kernel_ino(t, c->parent), -1, 0);
	}
	if ((r == 0 || r == -ENOENT) && c->ino && (c->what & FS_CHANGE_DATA))
		r = send_inval_inode(t->fd, kernel_ino(t, c->ino), (int64_t)c->off, (int64_t)c->len);
	else if ((r == 0 || r == -ENOENT) && c->ino)
		r = send_inval_inode(t->fd, kernel_ino(t, c->ino), -1, 0);
	/* ENODEV, ENOTCONN: the session's kernel is gone (unmounted) */
	if (r < 0 && r != -ENOENT && r != -ENODEV && r != -ENOTCONN)
		log_debug("%s: notification: %s", t->who, strerror(-r));
}

static void release_wait(struct reg *g, struct nitem *it)
{
	if (it->w && --it->w->pending == 0)
		pthread_cond_broadcast(&g->done);
	it->w = NULL;
}

static void notifier_unref(struct efsfs_notifier *t);

static void *notifier_main(void *arg)
{
	struct efsfs_notifier *t = arg;
	struct reg *g = t->reg;
	bool delayed = false;

	pthread_mutex_lock(&g->lock);
	for (;;) {
		struct nitem *it = t->head;
		unsigned delay = atomic_load(&test_delay_ms);

		if (!it) {
			if (t->stop)
				break;
			pthread_cond_wait(&t->wake, &g->lock);
			continue;
		}
		if (delay && !delayed && !t->stop) {
			struct timespec ts = { delay / 1000, (long)(delay % 1000) * 1000000 };

			pthread_mutex_unlock(&g->lock);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&g->lock);
			delayed = true;
			continue;
		}
		delayed = false;
		t->head = it->next;
		if (!t->head)
			t->tail = NULL;
		if (!t->stop) {
			t->cur = it;
			t->cur_since = mono_ms();
			pthread_mutex_unlock(&g->lock);
			deliver(t, &it->c);
			pthread_mutex_lock(&g->lock);
			t->cur = NULL;
		}
		release_wait(g, it);
		free(it);
	}
	pthread_mutex_unlock(&g->lock);
	notifier_unref(t);
	return NULL;
}

/* ---- the registry ----------------------------------------------------- */

static void reg_unref(struct reg *g)
{
	struct reg **p;

	pthread_mutex_lock(&regs_lock);
	if (--g->refs > 0) {
		pthread_mutex_unlock(&regs_lock);
		return;
	}
	for (p = &regs; *p != g; p = &(*p)->next)
		;
	*p = g->next;
	pthread_mutex_unlock(&regs_lock);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->done);
	free(g);
}

static void notifier_unref(struct efsfs_notifier *t)
{
	struct reg *g = t->reg;
	bool last;

	pthread_mutex_lock(&regs_lock);
	last = --t->refs == 0;
	pthread_mutex_unlock(&regs_lock);
	if (!last)
		return;
	close(t->fd);
	pthread_cond_destroy(&t->wake);
	free(t);
	reg_unref(g);
}

/* The registry of fs with a reference for a new notifier. */
static struct reg *reg_get(struct fs *fs)
{
	pthread_condattr_t ca;
	struct reg *g;

	pthread_mutex_lock(&regs_lock);
	for (g = regs; g && g->fs != fs; g = g->next)
		;
	if (g) {
		g->refs++;
		pthread_mutex_unlock(&regs_lock);
		return g;
	}
	g = calloc(1, sizeof(*g));
	if (g) {
		g->fs = fs;
		g->refs = 1;
		atomic_init(&g->n, 0);
		pthread_mutex_init(&g->lock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&g->done, &ca);
		pthread_condattr_destroy(&ca);
		g->next = regs;
		regs = g;
	}
	pthread_mutex_unlock(&regs_lock);
	return g;
}

static void queue(struct efsfs_notifier *t, const struct fs_change *c, struct nwait *w)
{
	size_t n = (c->what & FS_CHANGE_ENTRY) && c->name ? strlen(c->name) + 1 : 0;
	struct nitem *it = malloc(sizeof(*it) + n);

	if (!it) {
		log_warn("%s: out of memory: a change made elsewhere may show late here", t->who);
		return;
	}
	it->next = NULL;
	it->c = *c;
	if (n) {
		memcpy(it->name, c->name, n);
		it->c.name = it->name;
	} else {
		it->c.what &= ~FS_CHANGE_ENTRY;
		it->c.name = NULL;
	}
	it->w = w;
	if (w)
		w->pending++;
	if (t->tail)
		t->tail->next = it;
	else
		t->head = it;
	t->tail = it;
}

/* Whether notifier t holds notifications of the wait w. */
static bool holds(const struct efsfs_notifier *t, const struct nwait *w)
{
	if (t->cur && t->cur->w == w)
		return true;
	for (const struct nitem *it = t->head; it; it = it->next)
		if (it->w == w)
			return true;
	return false;
}

/* Whether a chain of waits leads from session s back to session from, as
 * the top says: each link a wait of the session with notifications at a
 * notifier stuck in a write.  Sessions are marked once per search. */
static bool leads_back(struct reg *g, struct efsfs_notifier *s, const struct efsfs_notifier *from,
		       int64_t now)
{
	for (const struct nwait *w = s->waits; w; w = w->next)
		for (struct efsfs_notifier *t = g->list; t; t = t->next) {
			if (!t->cur || now - t->cur_since < NOTIFY_STUCK_MS || !holds(t, w))
				continue;
			if (t == from)
				return true;
			if (t->mark == g->gen)
				continue;
			t->mark = g->gen;
			if (leads_back(g, t, from, now))
				return true;
		}
	return false;
}

static bool in_cycle(struct reg *g, struct efsfs_notifier *from, int64_t now)
{
	g->gen++;
	from->mark = g->gen;
	return leads_back(g, from, from, now);
}

/* Queues the n changes cs for every session of g but from, and waits until
 * they are written, or a cycle or NOTIFY_WAIT_MS ends the wait (the top). */
static void broadcast(struct reg *g, struct efsfs_notifier *from, const struct fs_change *cs,
		      unsigned n, bool wait)
{
	struct nwait w = { 0 }, **p;
	struct timespec until;
	int64_t now, end, slice;
	bool cycle = false;

	pthread_mutex_lock(&g->lock);
	for (struct efsfs_notifier *t = g->list; t; t = t->next) {
		if (t == from || t->stop)
			continue;
		for (unsigned i = 0; i < n; i++)
			queue(t, &cs[i], wait ? &w : NULL);
		pthread_cond_signal(&t->wake);
	}
	if (w.pending > 0) {
		if (from) {
			w.next = from->waits;
			from->waits = &w;
		}
		now = mono_ms();
		end = now + NOTIFY_WAIT_MS;
		while (w.pending > 0 && now < end && !cycle) {
			slice = from && now + NOTIFY_SLICE_MS < end ? now + NOTIFY_SLICE_MS : end;
			until.tv_sec = slice / 1000;
			until.tv_nsec = (slice % 1000) * 1000000;
			while (w.pending > 0 &&
			       pthread_cond_timedwait(&g->done, &g->lock, &until) != ETIMEDOUT)
				;
			now = mono_ms();
			cycle = w.pending > 0 && from && in_cycle(g, from, now);
		}
		if (w.pending > 0) {
			/* written later, without us */
			for (struct efsfs_notifier *t = g->list; t; t = t->next) {
				for (struct nitem *it = t->head; it; it = it->next)
					if (it->w == &w)
						it->w = NULL;
				if (t->cur && t->cur->w == &w)
					t->cur->w = NULL;
			}
			if (from && !from->warned && !cycle)
				log_warn("%s: another mount of the file system took over %d ms to "
					 "take a change made here", from->who, NOTIFY_WAIT_MS);
			if (from && !cycle)
				from->warned = true;
		}
		if (from) {
			for (p = &from->waits; *p != &w; p = &(*p)->next)
				;
			*p = w.next;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

/* The backend's change callback: to every session, waiting only when the
 * caller holds no backend lock (FS_CHANGE_WAIT). */
static void on_change(struct fs *fs, const struct fs_change *c, void *arg)
{
	struct fs_change cc = *c;

	(void)fs;
	cc.what &= ~FS_CHANGE_WAIT;
	broadcast(arg, NULL, &cc, 1, c->what & FS_CHANGE_WAIT);
}

int efsfs_notify_start(struct efsfs_session *e)
{
	struct efsfs_notifier *t;
	sigset_t all, old;
	struct reg *g;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = fcntl(fuse_session_fd(e->se), F_DUPFD_CLOEXEC, 3);
	if (t->fd < 0) {
		r = -errno;
		free(t);
		return r;
	}
	snprintf(t->who, sizeof(t->who), "%s on %s", e->conf->name, e->mountpoint);
	t->root = e->view.root;
	pthread_cond_init(&t->wake, NULL);
	t->refs = 2;
	pthread_mutex_lock(&setup);
	g = reg_get(e->fs);
	if (!g) {
		pthread_mutex_unlock(&setup);
		close(t->fd);
		pthread_cond_destroy(&t->wake);
		free(t);
		return -ENOMEM;
	}
	t->reg = g;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&t->tid, NULL, notifier_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		pthread_mutex_unlock(&setup);
		t->refs = 1;
		notifier_unref(t);
		return r;
	}
	pthread_mutex_lock(&g->lock);
	t->next = g->list;
	g->list = t;
	atomic_fetch_add(&g->n, 1);
	pthread_mutex_unlock(&g->lock);
	if (atomic_load(&g->n) == 1)
		fs_set_change_cb(e->fs, on_change, g);
	pthread_mutex_unlock(&setup);
	e->nq = t;
	return 0;
}

void efsfs_notify_stop(struct efsfs_session *e)
{
	struct efsfs_notifier *t = e->nq, **p;
	struct reg *g;

	if (!t || t->stop)
		return;
	g = t->reg;
	pthread_mutex_lock(&setup);
	pthread_mutex_lock(&g->lock);
	for (p = &g->list; *p != t; p = &(*p)->next)
		;
	*p = t->next;
	t->stop = true;
	/* nobody waits for a session that is going away */
	for (struct nitem *it = t->head; it; it = it->next)
		release_wait(g, it);
	if (t->cur)
		release_wait(g, t->cur);
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&g->lock);
	if (atomic_fetch_sub(&g->n, 1) == 1)
		fs_set_change_cb(e->fs, NULL, NULL);
	pthread_mutex_unlock(&setup);
}

void efsfs_notify_end(struct efsfs_session *e)
{
	struct efsfs_notifier *t = e->nq;
	struct timespec until;

	if (!t)
		return;
	efsfs_notify_stop(e);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += NOTIFY_JOIN_MS / 1000;
	/* the thread drops its own reference as it ends, this drops the session's */
	if (pthread_timedjoin_np(t->tid, NULL, &until) != 0) {
		/* stuck in the kernel: it frees itself if that ever returns */
		log_warn("%s: a notification to the kernel did not return; left behind",
			 t->who);
		atomic_store(&t->detached, true);
		pthread_detach(t->tid);
	}
	notifier_unref(t);
	e->nq = NULL;
}

void efsfs_session_test_notify_delay(unsigned ms)
{
	atomic_store(&test_delay_ms, ms);
}

void efsfs_notify_init(struct efsfs_session *e)
{
	if (e->nq)
		atomic_store(&e->nq->writeback, e->writeback);
}

bool efsfs_notify_others(struct efsfs_session *e)
{
	return e->nq && atomic_load(&e->nq->reg->n) > 1;
}

static void tell(struct efsfs_session *e, const struct fs_change *cs, unsigned n, bool wait)
{
	if (efsfs_notify_others(e))
		broadcast(e->nq->reg, e->nq, cs, n, wait);
}

void efsfs_notify_name(struct efsfs_session *e, uint64_t parent, const char *name, uint64_t ino)
{
	struct fs_change c = { .what = FS_CHANGE_ENTRY, .ino = backend_ino(e, ino),
			       .parent = backend_ino(e, parent), .name = name };

	tell(e, &c, 1, true);
}

void efsfs_notify_rename(struct efsfs_session *e, uint64_t parent, const char *name,
			 uint64_t newparent, const char *newname, const uint64_t inos[2])
{
	struct fs_change c[2] = {
		{ .what = FS_CHANGE_ENTRY, .ino = backend_ino(e, inos[0]),
		  .parent = backend_ino(e, parent), .name = name },
		{ .what = FS_CHANGE_ENTRY, .ino = backend_ino(e, inos[1]),
		  .parent = backend_ino(e, newparent), .name = newname },
	};

	tell(e, c, 2, true);
}

void efsfs_notify_inode(struct efsfs_session *e, uint64_t ino, unsigned what, uint64_t off,
			uint64_t len)
{
	struct fs_change c = { .what = what & ~EFSFS_NOTIFY_NOWAIT, .ino = backend_ino(e, ino),
			       .off = off, .len = len };

	tell(e, &c, 1, !(what & EFSFS_NOTIFY_NOWAIT));
}

uint64_t efsfs_notify_victim(struct efsfs_session *e, uint64_t parent, const char *name)
{
	struct stat st;

	if (!efsfs_notify_others(e) || fs_lookup(e->fs, parent, name, &st) < 0)
		return 0;
	fs_forget(e->fs, st.st_ino, 1);
	return st.st_ino;
}
