// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libkpool pool layer: many submitting threads over one kpool ring.
 *
 * The ring has one producer index, so submitters must agree on slots and
 * on the order the tail moves.  They do it without a lock:
 *
 *   admit    an atomic count of tasks in flight (CAS) against the limit,
 *            capacity + queue_size.  Once admitted a task is sure of an
 *            SQ slot, a CQ slot and a record: all are sized for the
 *            highest limit, and none outlives its place in the count.
 *   reserve  fetch_add on sq_reserve gives the task its SQ index.
 *   write    the SQE, then ready[index] = index + 1 (release).
 *   publish  whoever wins the `entering` flag moves the shared tail over
 *            every ready slot in order and makes the ENTER ioctl for all
 *            of them; the others return at once.  After dropping the flag
 *            the winner looks once more for a ready slot, and a loser sets
 *            its slot ready before trying the flag (both seq_cst), so a
 *            ready slot is never left unpublished.
 *
 * Under contention one ENTER carries the tasks of many threads.  Because
 * admission keeps the module below its own bounds, ENTER refuses nothing
 * but for lack of memory or a signal, which the publisher retries.
 *
 * Completion: a completion thread (or kpool_pool_process()) copies ready
 * CQEs out under a mutex (the completion side only), then for each task
 * frees its record, leaves the in-flight count (making room), and only
 * then runs the callback, counted in cb_running so drain sees it.
 *
 * Closing: `closed` is set (seq_cst), and a submitter checks it after it
 * is admitted (seq_cst); so either the closer's later reads of inflight
 * see the task, or the submitter sees closed and backs out.
 *
 * The program's own functions (KPOOL_OP_CALL) are tasks like the others,
 * with the function and its argument in the SQE's addr and off.  The
 * first one starts the worker threads, which park in KPOOL_IOC_WORK; the
 * module gives each task to one of them, which runs it and reports its
 * result in its next WORK call, and the CQE comes back as any other.  A
 * parked worker leaves when the module's pool drains (ESHUTDOWN), so
 * shutdown, once the pool is quiet for good, lets no control task be
 * staged any more, waits until those staged have completed (a draining
 * pool refuses every SQE, and the publisher must never see a refusal),
 * drains the module's pool and joins the workers.
 *
 * The leak check (KPOOL_LEAK_CHECK): each pool has a census record in a
 * process-wide list, which outlives the pool while futures of it are
 * unreleased ("unreleased futures stay valid until released").  Its
 * reference count is the pool's (until destroy) plus one per unreleased
 * future: one relaxed add per future submitted and one per release, and
 * nothing per task.  At exit a destructor reads the environment and, if
 * asked, reports what the list still holds.
 *
 * Handles (liburcu, urcu-bp flavour: a library cannot ask its callers to
 * register their threads).  Every live pool is in kp_handles, a lock-free
 * RCU hash table keyed by the pointer value.  A public call never
 * dereferences its pool argument before finding it there: kp_get() looks
 * it up inside an RCU read-side section and, still inside it, counts the
 * call in pool->calls[] (a word per thread, of 16); kp_put() uncounts it
 * when the call returns.  So the read-side section is a few loads long
 * and never spans a syscall that may wait, a callback or a sleep: calls
 * that block (a submit waiting for room, drain, wait_idle, a future
 * wait) block holding a count, not the read lock.  Destroy takes the pool out of the table
 * first (later calls get -EBADF), shuts it down (which wakes every
 * blocked call: they fail or return), waits a grace period (after which
 * no call that found the pool is still about to count itself), then for
 * the counts to drain, and only then frees it.  The census's pointer to
 * its pool is RCU-read too (future waits reach their event-loop pool
 * through it), and so is the eventfd (kp_signal_eventfd()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <urcu-bp.h>
#include <urcu/rculfhash.h>
#include "kpool_pool.h"

/*
 * ThreadSanitizer does not see liburcu's grace periods (its code is not
 * instrumented, and its barriers are inline assembly).  Where the library
 * relies on one for more than memory it frees (a file descriptor the
 * program may close once a call returns), a read-side section ends with
 * kp_tsan_release() and the updater follows synchronize with
 * kp_tsan_acquire() on the same address, one no atomic touches (an
 * atomic store there would overwrite what the readers released): the
 * order RCU guarantees, told to TSan.  Nothing in other builds.
 */
#if defined(__SANITIZE_THREAD__)
#define KP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KP_TSAN 1
#endif
#endif
#ifdef KP_TSAN
#include <sanitizer/tsan_interface.h>
#define kp_tsan_release(p)	__tsan_release((void *)(p))
#define kp_tsan_acquire(p)	__tsan_acquire((void *)(p))
#else
#define kp_tsan_release(p)	do { } while (0)
#define kp_tsan_acquire(p)	do { } while (0)
#endif

#define KP_CTRL_SLOTS	16		/* cancels in flight at once */
#define KP_REAP_BATCH	64		/* CQEs copied out per lock */
#define KP_MAX_THREADS	64		/* completion threads */
#define KP_NIL		0U		/* free-stack end (indices are +1) */

enum kp_kind { KP_CALLBACK, KP_FUTURE, KP_CONTROL };

/* The worker threads' life (kpool_pool.wstate). */
enum kp_wstate { KP_W_NONE, KP_W_STARTED, KP_W_DISMISSED };

/* One worker thread's place: free, running, or retired and not joined. */
enum kp_wslot { KP_WS_FREE, KP_WS_LIVE, KP_WS_GONE };

struct kp_worker {
	struct kpool_pool *pool;
	pthread_t thread;
	enum kp_wslot state;		/* under workers_lock */
};

/* Parked workers above the minimum leave after this long by default. */
#define KP_IDLE_TIMEOUT_NS	(5 * 1000000000ULL)

/* One task in flight: found again by the index in its user_data. */
struct kp_task {
	uint32_t next;			/* free stack: next index + 1 (atomic) */
	uint32_t gen;			/* bumped per use: stale ids miss */
	uint32_t armed;			/* set (release) once filled in */
	enum kp_kind kind;
	uint8_t op;			/* KPOOL_OP_*: the leak report names it */
	kpool_callback_t fn;
	void *arg;
	struct kpool_future *future;
};

struct kpool_future {
	uint32_t ready;			/* futex word: 0 pending, 1 ready */
	uint32_t refs;			/* the program's and the task's */
	struct kpool_result result;
	uint64_t id;
	struct kpool_pool *loop;	/* event-loop pool: the wait reaps; only
					 * compared: see kp_loop_get() */
	struct kp_census *census;	/* its pool's: counts it until released */
};

#define KP_CACHELINE 64
#define kp_aligned __attribute__((aligned(KP_CACHELINE)))

/*
 * A pool's entry in the process's list of pools, for the leak report.
 * Futures of every thread count in refs: it has a cache line of its own.
 * L: under kp_census_lock.
 */
struct kp_aligned kp_census {
	struct kp_census *prev, *next;	/* L */
	struct kpool_pool *pool;	/* L, RCU: NULL once destroy begins */
	uint64_t serial;		/* pools created before it, + 1 */
	pid_t pid;			/* its creator: a fork's child skips it */
	int fd;
	int pool_ref;			/* L: the pool's reference is in refs */
	uint32_t refs;			/* atomic: the pool's, one per future */
};

/*
 * Public calls in progress on a pool, counted per thread in one of
 * KP_CALL_SHARDS words on cache lines of their own, so that threads
 * calling at once do not pass a line between them twice a call.
 * KP_DYING is added to each once destroy waits for them.
 */
#define KP_CALL_SHARDS	16
#define KP_DYING	0x80000000U

struct kp_aligned kp_calls {
	uint32_t n;
};

struct kpool_pool {
	struct kpool_ring ring;
	struct kpool_pool_opts opts;
	unsigned int entries;		/* SQ = CQ = records */
	uint32_t *ready;		/* per SQ slot: index + 1 once written */
	struct kp_task *tasks;
	struct kp_census *census;	/* set at create, then read-only */
	struct cds_lfht_node handle;	/* in kp_handles, create to destroy */

	struct kp_calls calls[KP_CALL_SHARDS];	/* kp_get(): see there */

	/* Submission side, written by every submitter. */
	kp_aligned uint32_t inflight;	/* tasks admitted, not yet completed */
	kp_aligned uint32_t ctrl_inflight;
	kp_aligned uint32_t sq_reserve;	/* next SQ index to hand out */
	kp_aligned uint64_t free_top;	/* free stack: gen << 32 | index + 1 */
	kp_aligned uint32_t entering;	/* a publisher is at work */
	uint32_t sq_published;		/* owned by the publisher */
	uint64_t enters;

	/* Read on every submit; written when settings change or room waits. */
	kp_aligned uint32_t limit;	/* capacity + queue_size */
	uint32_t queue_size;		/* create's, or the last tune_queue */
	uint32_t closed;
	uint32_t room_seq;		/* futex: bumped when room is made */
	uint32_t room_waiters;

	/* Completion side. */
	kp_aligned pthread_mutex_t cq_lock;
	uint32_t cb_running;		/* callbacks being run */
	uint32_t quiet_seq;		/* futex: see kp_quiet_check() */
	uint32_t idle_waiters;		/* in kpool_pool_wait_idle() */
	uint64_t completed;
	uint64_t full, closed_count, waited;
	int eventfd;			/* RCU: see kp_signal_eventfd() */
#ifdef KP_TSAN
	uint64_t eventfd_gp;		/* kp_tsan_*(): apart from eventfd */
#endif
	int stop_efd;
	int stop;
	unsigned int nr_threads;
	pthread_t threads[KP_MAX_THREADS];

	/*
	 * Worker threads for the program's functions (KPOOL_FEAT_CALL).
	 * W: under workers_lock; W+: written under it, read without.
	 */
	pthread_mutex_t workers_lock;	/* starts, retires and dismisses them */
	uint32_t wstate;		/* W+ enum kp_wstate */
	uint32_t wstop;			/* workers: leave at the next call */
	uint32_t ctrl_gate;		/* no control tasks: see shutdown */
	uint32_t wmin, wmax;		/* W+ kpool_pool_set_worker_limits() */
	uint64_t widle_ns;		/* W+ 0: parked workers stay */
	uint32_t wlive;			/* W+ started and not retired */
	uint32_t wparked;		/* atomic: parked, or starting up */
	uint64_t wstarted, wexpired;	/* W */
	struct kp_worker workers[KPOOL_POOL_WORKERS];
	pthread_mutex_t close_lock;	/* one shutdown at a time */
	pthread_mutex_t tune_lock;	/* limit = the capacity + queue_size */
	int shut;			/* under close_lock: shut down, quiet */
};

/* The pool whose callback this thread is running, if any. */
static __thread struct kpool_pool *kp_in_callback;

/*
 * The pool whose slot the running callback still holds: the slot of its
 * task, kept from the completion until the callback returns, so that the
 * callback's first submit takes it whatever other threads wait for room.
 */
static __thread struct kpool_pool *kp_slot_held;

/* The function a worker thread is running, if any. */
struct kp_running {
	struct kpool_pool *pool;
	uint32_t slot;			/* its word in the cq_ring */
	uint64_t deadline;		/* CLOCK_MONOTONIC ns; 0: none */
};
static __thread const struct kp_running *kp_current_fn;

/* Is this thread running a callback or a function of @pool? */
static int kp_inside(const struct kpool_pool *pool)
{
	return kp_in_callback == pool ||
	       (kp_current_fn && kp_current_fn->pool == pool);
}

/* ---- small helpers ---- */

#define kp_load(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define kp_load_sc(p)	__atomic_load_n(p, __ATOMIC_SEQ_CST)
#define kp_store(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)
#define kp_add(p, v)	__atomic_add_fetch(p, v, __ATOMIC_SEQ_CST)
#define kp_count(p)	__atomic_add_fetch(p, 1, __ATOMIC_RELAXED)

static uint64_t kp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* An absolute deadline for @timeout_ns from now (UINT64_MAX: none). */
static uint64_t kp_deadline(uint64_t timeout_ns)
{
	uint64_t now = kp_now();

	if (timeout_ns == KPOOL_WAIT_FOREVER || timeout_ns > UINT64_MAX - now)
		return UINT64_MAX;
	return now + timeout_ns;
}

/*
 * Sleep while *@word == @val, until @deadline (CLOCK_MONOTONIC ns).
 * Returns -ETIME past the deadline, else 0 (woken, or the word moved).
 */
static int kp_futex_wait(uint32_t *word, uint32_t val, uint64_t deadline)
{
	struct timespec ts, *tsp = NULL;

	if (deadline != UINT64_MAX) {
		if (kp_now() >= deadline)
			return -ETIME;
		ts.tv_sec = (time_t)(deadline / 1000000000ULL);
		ts.tv_nsec = (long)(deadline % 1000000000ULL);
		tsp = &ts;
	}
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
		    val, tsp, NULL, FUTEX_BITSET_MATCH_ANY) < 0 &&
	    errno == ETIMEDOUT)
		return -ETIME;
	return 0;
}

static void kp_futex_wake(uint32_t *word, unsigned int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
		n > INT_MAX ? INT_MAX : (int)n, NULL, NULL, 0);
}

static unsigned int kp_roundup_pow2(unsigned int v)
{
	unsigned int p = 1;

	while (p < v && p < (1U << 30))
		p <<= 1;
	return p;
}

/* ---- handles: the registry of live pools ---- */

/*
 * kp_handles: every live pool, by its address.  Made by the first create
 * and kept for the life of the process (no call may meet a table being
 * freed).  A fixed number of buckets, no resizing: resizing would start a
 * liburcu worker thread in every program, for a table that holds a few
 * pools; past KP_HANDLE_BUCKETS pools, chains grow by one per bucket
 * per KP_HANDLE_BUCKETS pools more.
 */
#define KP_HANDLE_BUCKETS	1024

static struct cds_lfht *kp_handles;		/* set once, then read-only */
static pthread_mutex_t kp_handles_lock = PTHREAD_MUTEX_INITIALIZER;

/* The table, made at the first call: NULL if it cannot be (ENOMEM). */
static struct cds_lfht *kp_handles_table(void)
{
	struct cds_lfht *ht = kp_load(&kp_handles);

	if (ht)
		return ht;
	pthread_mutex_lock(&kp_handles_lock);
	ht = kp_handles;
	if (!ht) {
		ht = cds_lfht_new_flavor(KP_HANDLE_BUCKETS, KP_HANDLE_BUCKETS,
					 KP_HANDLE_BUCKETS, 0, &urcu_bp_flavor,
					 NULL);
		/*
		 * A fork while another thread is inside a read-side section
		 * would leave the child a reader that never ends, and every
		 * grace period there would wait for it: liburcu-bp prunes the
		 * child's registry if told about forks.
		 */
		if (ht && pthread_atfork(urcu_bp_before_fork,
					 urcu_bp_after_fork_parent,
					 urcu_bp_after_fork_child)) {
			cds_lfht_destroy(ht, NULL);
			ht = NULL;
		}
		if (ht)
			kp_store(&kp_handles, ht);
	}
	pthread_mutex_unlock(&kp_handles_lock);
	return ht;
}

/* Mix the bits of an address: the table splits its chains by the hash. */
static unsigned long kp_handle_hash(const void *handle)
{
	uint64_t h = (uintptr_t)handle;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (unsigned long)h;
}

/* The node is @key's: compares addresses, reads nothing. */
static int kp_handle_match(struct cds_lfht_node *node, const void *key)
{
	return (const void *)caa_container_of(node, struct kpool_pool,
					      handle) == key;
}

/* In a read-side section: the live pool at @handle, or NULL. */
static struct kpool_pool *kp_lookup(const struct kpool_pool *handle)
{
	struct cds_lfht *ht = kp_load(&kp_handles);
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;

	if (!ht)
		return NULL;	/* no pool was ever created */
	cds_lfht_lookup(ht, kp_handle_hash(handle), kp_handle_match, handle,
			&iter);
	node = cds_lfht_iter_get_node(&iter);
	return node ? caa_container_of(node, struct kpool_pool, handle) : NULL;
}

/* This thread's word of every pool's calls[]: given round robin. */
static __thread uint32_t kp_shard;		/* index + 1; 0: none yet */
static uint32_t kp_shards_given;

static uint32_t *kp_calls_word(struct kpool_pool *pool)
{
	uint32_t s = kp_shard;

	if (!s) {
		s = __atomic_fetch_add(&kp_shards_given, 1, __ATOMIC_RELAXED) %
		    KP_CALL_SHARDS + 1;
		kp_shard = s;
	}
	return &pool->calls[s - 1].n;
}

/*
 * Count a call on @pool, found in a read-side section that is still
 * open: destroy's grace period then sees the count (see kp_wait_calls()).
 * Relaxed: the count is only ever waited on after a grace period, and
 * kp_put()'s release orders the call's accesses before the free.  The
 * call's kp_put() is made by the same thread, on the same word.
 */
static void kp_hold(struct kpool_pool *pool)
{
	__atomic_add_fetch(kp_calls_word(pool), 1, __ATOMIC_RELAXED);
}

/*
 * The start of every public call on a pool: the live pool at @handle,
 * held until kp_put(); NULL (the call fails with -EBADF) if @handle is
 * not a live pool: destroyed, being destroyed, or never created.
 * Nothing at @handle is read before the table says it is a pool.
 */
static struct kpool_pool *kp_get(const struct kpool_pool *handle)
{
	struct kpool_pool *pool;

	urcu_bp_read_lock();
	pool = kp_lookup(handle);
	if (pool)
		kp_hold(pool);
	urcu_bp_read_unlock();
	return pool;
}

/*
 * The end of a call: the last one out while destroy waits wakes it.  The
 * wake may come after destroy has seen the count and freed the pool: a
 * private futex wake only names the address, and a spurious wake of
 * whatever waits there later is harmless (every wait here loops).
 */
static void kp_put(struct kpool_pool *pool)
{
	uint32_t *word = kp_calls_word(pool);

	if (__atomic_sub_fetch(word, 1, __ATOMIC_RELEASE) == KP_DYING)
		kp_futex_wake(word, 1);
}

/*
 * A public call on @handle: @expr runs with `pool` the live pool, held,
 * and gives the call's result; -EBADF if @handle is no live pool.
 */
#define KP_CALL(handle, expr) ({					\
	struct kpool_pool *pool = kp_get(handle);			\
	int kp_ret_ = -EBADF;						\
									\
	if (pool) {							\
		kp_ret_ = (expr);					\
		kp_put(pool);						\
	}								\
	kp_ret_;							\
})

/* A created pool becomes reachable through its handle: 0 or -ENOMEM. */
static int kp_publish_handle(struct kpool_pool *pool)
{
	struct cds_lfht *ht = kp_handles_table();

	if (!ht)
		return -ENOMEM;
	cds_lfht_node_init(&pool->handle);
	urcu_bp_read_lock();
	cds_lfht_add(ht, kp_handle_hash(pool), &pool->handle);
	urcu_bp_read_unlock();
	return 0;
}

/*
 * Destroy's first step: take @handle out of the table, so that calls from
 * now on fail with -EBADF.  The live pool, or NULL if @handle was none,
 * or another destroy took it first.
 */
static struct kpool_pool *kp_unpublish(struct kpool_pool *handle)
{
	struct kpool_pool *pool;

	urcu_bp_read_lock();
	pool = kp_lookup(handle);
	if (pool && cds_lfht_del(kp_handles, &pool->handle))
		pool = NULL;	/* a racing destroy removed it */
	urcu_bp_read_unlock();
	return pool;
}

/*
 * Destroy's last wait, @pool out of the table and shut down: after a
 * grace period no call can still be between finding it and counting
 * itself, so the counts only go down.  The calls left were woken by the
 * shutdown (or never blocked): wait until they return, word by word.
 */
static void kp_wait_calls(struct kpool_pool *pool)
{
	uint32_t *word, calls;
	unsigned int i;

	urcu_bp_synchronize_rcu();
	for (i = 0; i < KP_CALL_SHARDS; i++) {
		word = &pool->calls[i].n;
		calls = __atomic_add_fetch(word, KP_DYING, __ATOMIC_ACQ_REL);
		while (calls != KP_DYING) {
			kp_futex_wait(word, calls, UINT64_MAX);
			calls = kp_load(word);
		}
	}
}

/* ---- task records: a lock-free stack, tagged against ABA ---- */

static struct kp_task *kp_task_get(struct kpool_pool *pool, uint32_t *index)
{
	uint64_t old = kp_load(&pool->free_top), new;
	uint32_t top, next;

	do {
		top = (uint32_t)old;
		if (top == KP_NIL)
			return NULL;	/* admission makes this unreachable */
		next = __atomic_load_n(&pool->tasks[top - 1].next,
				       __ATOMIC_RELAXED);
		new = ((old >> 32) + 1) << 32 | next;
	} while (!__atomic_compare_exchange_n(&pool->free_top, &old, new, 1,
					      __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	*index = top - 1;
	return &pool->tasks[top - 1];
}

static void kp_task_put(struct kpool_pool *pool, uint32_t index)
{
	uint64_t old = __atomic_load_n(&pool->free_top, __ATOMIC_RELAXED), new;

	do {
		__atomic_store_n(&pool->tasks[index].next, (uint32_t)old,
				 __ATOMIC_RELAXED);
		new = ((old >> 32) + 1) << 32 | (index + 1);
	} while (!__atomic_compare_exchange_n(&pool->free_top, &old, new, 1,
					      __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

static uint64_t kp_task_id(const struct kp_task *t, uint32_t index)
{
	return (uint64_t)t->gen << 32 | index;
}

/* ---- admission ---- */

/* Take one unit of @count below @limit; 0 or -EAGAIN. */
static int kp_try_admit(uint32_t *count, uint32_t limit)
{
	uint32_t cur = __atomic_load_n(count, __ATOMIC_RELAXED);

	do {
		if (cur >= limit)
			return -EAGAIN;
	} while (!__atomic_compare_exchange_n(count, &cur, cur + 1, 1,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return 0;
}

/* @n slots were freed: wake as many blocked submitters, if any wait. */
static void kp_room_made(struct kpool_pool *pool, unsigned int n)
{
	if (kp_load_sc(&pool->room_waiters)) {
		kp_add(&pool->room_seq, 1);
		kp_futex_wake(&pool->room_seq, n);
	}
}

static void kp_publish(struct kpool_pool *pool);
static int kp_start_workers(struct kpool_pool *pool);
static void kp_quiet_check(struct kpool_pool *pool);

/*
 * Admit one task: at once if there is room, else, in a pool that may wait
 * (blocking, and not from its own callback or function), wait for room at
 * most @timeout_ns (KPOOL_WAIT_FOREVER: no limit; 0: no wait at all).
 * 0, or -EAGAIN (full, no wait allowed), -ETIME (still full when the time
 * passed), -ESHUTDOWN (closed before or while waiting: kp_close() wakes
 * every waiter).  A signal does not end the wait: kp_futex_wait() says 0
 * after EINTR and the loop waits again, to the same deadline.
 */
static int kp_admit_timed(struct kpool_pool *pool, uint64_t timeout_ns)
{
	int may_wait = timeout_ns &&
		       !(pool->opts.flags & KPOOL_POOL_NONBLOCKING) &&
		       !kp_inside(pool);
	uint64_t deadline = UINT64_MAX;
	int err, waited = 0, expired = 0, closed;
	uint32_t seq;

	if (kp_slot_held == pool) {
		/* The slot of the task whose callback this is: inflight has it. */
		kp_slot_held = NULL;
		if (!kp_load_sc(&pool->closed))
			return 0;
		kp_slot_held = pool;	/* freed when the callback returns */
		kp_count(&pool->closed_count);
		return -ESHUTDOWN;
	}
	for (;;) {
		err = kp_try_admit(&pool->inflight, kp_load(&pool->limit));
		if (!err)
			break;
		if (!may_wait || kp_load_sc(&pool->closed))
			break;
		if (expired) {		/* and a last look found no room */
			err = -ETIME;
			break;
		}
		/* The clock is read only by a submit that has to wait. */
		if (!waited && timeout_ns != KPOOL_WAIT_FOREVER)
			deadline = kp_deadline(timeout_ns);
		/* Announce, then look again, so a wake cannot slip between. */
		kp_add(&pool->room_waiters, 1);
		seq = kp_load_sc(&pool->room_seq);
		if (kp_load_sc(&pool->inflight) >= kp_load(&pool->limit) &&
		    !kp_load_sc(&pool->closed)) {
			/* A batch's staged tasks must run to make room. */
			kp_publish(pool);
			expired = kp_futex_wait(&pool->room_seq, seq,
						deadline) == -ETIME;
		}
		kp_add(&pool->room_waiters, -1);
		waited = 1;
	}
	if (waited)
		kp_count(&pool->waited);
	if (err) {
		closed = kp_load_sc(&pool->closed);
		kp_count(closed ? &pool->closed_count : &pool->full);
		return closed ? -ESHUTDOWN : err;
	}
	if (kp_load_sc(&pool->closed)) {
		kp_add(&pool->inflight, -1);
		kp_room_made(pool, 1);
		/* A drain or an idle wait may have seen it: tell them. */
		kp_quiet_check(pool);
		kp_count(&pool->closed_count);
		return -ESHUTDOWN;
	}
	return 0;
}

static int kp_admit(struct kpool_pool *pool)
{
	return kp_admit_timed(pool, KPOOL_WAIT_FOREVER);
}

/* ---- publishing ---- */

static void kp_enter_all(struct kpool_pool *pool)
{
	struct kpool_ring *ring = &pool->ring;
	unsigned int submitted;
	uint32_t pending;
	int ret;

	for (;;) {
		pending = pool->sq_published - kp_load(ring->sq.khead);
		if (!pending)
			return;
		ret = kpool_enter(ring->fd, pending, 0, 0, 0, &submitted);
		__atomic_add_fetch(&pool->enters, 1, __ATOMIC_RELAXED);
		/*
		 * Admission keeps the module's bounds, so only a signal or
		 * a lack of memory leaves SQEs behind: try again.
		 */
		if (ret && ret != -EINTR && ret != -ENOMEM && ret != -EAGAIN)
			abort();	/* the ring contract is broken */
		if (ret)
			sched_yield();
	}
}

static int kp_publish_ready(struct kpool_pool *pool)
{
	uint32_t tail = pool->sq_published, mask = pool->entries - 1;

	while (kp_load(&pool->ready[tail & mask]) == tail + 1)
		tail++;
	if (tail == pool->sq_published)
		return 0;
	__atomic_store_n(&pool->sq_published, tail, __ATOMIC_RELAXED);
	/* The SQEs were written before ready[] said so: release them. */
	kpool_store_release(pool->ring.sq.ktail, tail);
	return 1;
}

static void kp_publish(struct kpool_pool *pool)
{
	uint32_t mask = pool->entries - 1, published;

	do {
		if (__atomic_exchange_n(&pool->entering, 1, __ATOMIC_SEQ_CST))
			return;		/* the publisher will take ours */
		while (kp_publish_ready(pool))
			kp_enter_all(pool);
		__atomic_store_n(&pool->entering, 0, __ATOMIC_SEQ_CST);
		published = __atomic_load_n(&pool->sq_published,
					    __ATOMIC_RELAXED);
	} while (kp_load_sc(&pool->ready[published & mask]) == published + 1);
}

/* Put an admitted task's SQE into the ring, ready to be published. */
static void kp_stage(struct kpool_pool *pool, const struct kpool_sqe *sqe,
		     uint64_t user_data)
{
	uint32_t idx = __atomic_fetch_add(&pool->sq_reserve, 1,
					  __ATOMIC_RELAXED);
	uint32_t *ready = &pool->ready[idx & (pool->entries - 1)];
	struct kpool_sqe *slot = &pool->ring.sq.sqes[idx & (pool->entries - 1)];

	/*
	 * The slot's last lap was written and taken before this task was
	 * admitted; the acquire orders our write after that one's for
	 * checkers that cannot see through the module (TSan).
	 */
	if (kp_load(ready) != idx + 1 - pool->entries)
		abort();
	*slot = *sqe;
	slot->user_data = user_data;
	__atomic_store_n(ready, idx + 1, __ATOMIC_SEQ_CST);
}

/* Put an admitted task into the ring and see it submitted. */
static void kp_queue(struct kpool_pool *pool, const struct kpool_sqe *sqe,
		     uint64_t user_data)
{
	kp_stage(pool, sqe, user_data);
	kp_publish(pool);
}

/* Fill a record for an admitted task and stage its SQE. */
static void kp_stage_task(struct kpool_pool *pool, const struct kpool_sqe *sqe,
			  enum kp_kind kind, kpool_callback_t fn, void *arg,
			  struct kpool_future *future, uint64_t *id)
{
	struct kpool_sqe copy;
	struct kp_task *t;
	uint32_t index;
	uint64_t uid;

	t = kp_task_get(pool, &index);
	if (!t)
		abort();	/* admission guarantees a record */
	t->gen++;
	uid = kp_task_id(t, index);
	t->kind = kind;
	t->op = sqe->op;
	t->fn = fn;
	t->arg = arg;
	t->future = future;
	if (future)
		future->id = uid;
	if (id)
		*id = uid;
	/* The last touch of the record: its completion may follow at once. */
	kp_store(&t->armed, 1);
	copy = *sqe;
	if (copy.prio < pool->opts.default_prio)
		copy.prio = pool->opts.default_prio;
	kp_stage(pool, &copy, uid);
}

/*
 * What a task may not be: a CANCEL (kpool_pool_cancel() is the way), or
 * a link of a chain (KPOOL_SQE_LINK): the pool's submitters share one
 * ring, so the next SQE could be another thread's, and one ENTER may take
 * a chain in parts.  Chains are the ring API's.
 */
static bool kp_sqe_submittable(const struct kpool_sqe *sqe)
{
	return sqe->op != KPOOL_OP_CANCEL && !(sqe->flags & KPOOL_SQE_LINK);
}

/* Submit one task; wait for room at most @timeout_ns (kp_admit_timed()). */
static int kp_submit_timed(struct kpool_pool *pool, const struct kpool_sqe *sqe,
			   enum kp_kind kind, kpool_callback_t fn, void *arg,
			   struct kpool_future *future, uint64_t *id,
			   uint64_t timeout_ns)
{
	int err;

	if (!kp_sqe_submittable(sqe))
		return -EINVAL;
	if (sqe->op == KPOOL_OP_CALL) {
		err = kp_start_workers(pool);
		if (err)
			return err;
	}
	err = kp_admit_timed(pool, timeout_ns);
	if (err)
		return err;
	kp_stage_task(pool, sqe, kind, fn, arg, future, id);
	kp_publish(pool);
	return 0;
}

static int kp_submit(struct kpool_pool *pool, const struct kpool_sqe *sqe,
		     enum kp_kind kind, kpool_callback_t fn, void *arg,
		     struct kpool_future *future, uint64_t *id)
{
	return kp_submit_timed(pool, sqe, kind, fn, arg, future, id,
			       KPOOL_WAIT_FOREVER);
}

int kpool_pool_submit(struct kpool_pool *handle, const struct kpool_sqe *sqe,
		      kpool_callback_t fn, void *arg, uint64_t *id)
{
	return KP_CALL(handle, kp_submit(pool, sqe, KP_CALLBACK, fn, arg,
					 NULL, id));
}

int kpool_pool_submit_timeout(struct kpool_pool *handle,
			      const struct kpool_sqe *sqe, kpool_callback_t fn,
			      void *arg, uint64_t timeout_ns, uint64_t *id)
{
	return KP_CALL(handle, kp_submit_timed(pool, sqe, KP_CALLBACK, fn, arg,
					       NULL, id, timeout_ns));
}

static int kp_submit_batch(struct kpool_pool *pool,
			   const struct kpool_sqe *sqes, unsigned int n,
			   kpool_callback_t fn, void *const *args,
			   uint64_t *ids)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < n; i++) {
		if (!kp_sqe_submittable(&sqes[i])) {
			err = -EINVAL;
			break;
		}
		if (sqes[i].op == KPOOL_OP_CALL) {
			err = kp_start_workers(pool);
			if (err)
				break;
		}
		err = kp_admit(pool);	/* publishes ours before it waits */
		if (err)
			break;
		kp_stage_task(pool, &sqes[i], KP_CALLBACK, fn,
			      args ? args[i] : NULL, NULL, ids ? &ids[i] : NULL);
	}
	if (i)
		kp_publish(pool);
	return i ? (int)i : err;
}

int kpool_pool_submit_batch(struct kpool_pool *handle,
			    const struct kpool_sqe *sqes, unsigned int n,
			    kpool_callback_t fn, void *const *args,
			    uint64_t *ids)
{
	return KP_CALL(handle, kp_submit_batch(pool, sqes, n, fn, args, ids));
}

static void kp_census_put(struct kp_census *c);

static int kp_submit_future(struct kpool_pool *pool,
			    const struct kpool_sqe *sqe,
			    struct kpool_future **futurep)
{
	struct kpool_future *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->refs = 2;
	if (pool->opts.flags & KPOOL_POOL_EVENT_LOOP)
		f->loop = pool;
	f->census = pool->census;
	/*
	 * Counted before the task exists: a destroy racing this call drops
	 * the pool's own census reference only after the call has returned
	 * (kp_census_drop_pool()), so the census is there to count in.
	 */
	kp_count(&f->census->refs);
	err = kp_submit(pool, sqe, KP_FUTURE, NULL, NULL, f, NULL);
	if (err) {
		kp_census_put(f->census);
		free(f);
		return err;
	}
	*futurep = f;
	return 0;
}

int kpool_pool_submit_future(struct kpool_pool *handle,
			     const struct kpool_sqe *sqe,
			     struct kpool_future **futurep)
{
	return KP_CALL(handle, kp_submit_future(pool, sqe, futurep));
}

static int kp_submit_control(struct kpool_pool *pool, uint64_t target,
			     uint32_t op_flags)
{
	struct kpool_sqe sqe;
	struct kp_task *t;
	uint32_t index;
	uint64_t uid;

	/*
	 * A closed pool (drain, shutdown) still takes cancels: "drain with a
	 * timeout, then cancel the rest" is how a program gives up waiting.
	 * Only shutdown's drain of the module's pool ends them (ctrl_gate).
	 */
	if (kp_try_admit(&pool->ctrl_inflight, KP_CTRL_SLOTS))
		return -EAGAIN;
	/* Shutdown is about to drain the module's pool: see there. */
	if (kp_load_sc(&pool->ctrl_gate)) {
		kp_add(&pool->ctrl_inflight, -1);
		kp_quiet_check(pool);
		return -ESHUTDOWN;
	}
	t = kp_task_get(pool, &index);
	if (!t)
		abort();
	t->gen++;
	t->kind = KP_CONTROL;
	t->op = KPOOL_OP_CANCEL;
	uid = kp_task_id(t, index);
	kp_store(&t->armed, 1);
	memset(&sqe, 0, sizeof(sqe));
	sqe.op = KPOOL_OP_CANCEL;
	sqe.addr = target;
	sqe.op_flags = op_flags;
	kp_queue(pool, &sqe, uid);
	return 0;
}

int kpool_pool_cancel(struct kpool_pool *handle, uint64_t id)
{
	return KP_CALL(handle, kp_submit_control(pool, id, 0));
}

int kpool_pool_cancel_all(struct kpool_pool *handle)
{
	return KP_CALL(handle, kp_submit_control(pool, 0, KPOOL_CANCEL_ALL));
}

/* ---- the census: the process's pools and futures, for the leak check ---- */

static pthread_mutex_t kp_census_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kp_census *kp_census_head;	/* L */
static uint64_t kp_census_serial;		/* L */

static struct kp_census *kp_census_new(void)
{
	struct kp_census *c = aligned_alloc(KP_CACHELINE, sizeof(*c));

	if (c) {
		memset(c, 0, sizeof(*c));
		c->refs = 1;
		c->pool_ref = 1;
		c->pid = getpid();
	}
	return c;
}

/* A created pool enters the list. */
static void kp_census_add(struct kp_census *c, struct kpool_pool *pool)
{
	c->pool = pool;
	c->fd = pool->ring.fd;
	pthread_mutex_lock(&kp_census_lock);
	c->serial = ++kp_census_serial;
	c->next = kp_census_head;
	if (c->next)
		c->next->prev = c;
	kp_census_head = c;
	pthread_mutex_unlock(&kp_census_lock);
}

static void kp_census_unlink_locked(struct kp_census *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		kp_census_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* Drop a future's reference: the last one frees @c. */
static void kp_census_put(struct kp_census *c)
{
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&kp_census_lock);
	kp_census_unlink_locked(c);
	pthread_mutex_unlock(&kp_census_lock);
	free(c);
}

/*
 * Destroy's end, the pool about to be freed: drop its reference, under
 * the lock, so that the report never counts it as a future.
 */
static void kp_census_drop_pool(struct kp_census *c)
{
	int last;

	pthread_mutex_lock(&kp_census_lock);
	c->pool_ref = 0;
	last = !__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	if (last)
		kp_census_unlink_locked(c);
	pthread_mutex_unlock(&kp_census_lock);
	if (last)
		free(c);
}

/*
 * Destroy begins: the report no longer looks at the pool itself, and
 * future waits no longer reach it (kp_loop_get()).  The pool's reference
 * is dropped when it is freed: calls still in progress may count futures.
 */
static void kp_census_retire(struct kp_census *c)
{
	pthread_mutex_lock(&kp_census_lock);
	__atomic_store_n(&c->pool, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&kp_census_lock);
}

/* ---- waking threads that wait on more than one thing ---- */

/*
 * kpool_future_wait_any() over futures of pools with completion threads
 * sleeps on one process-wide futex, bumped whenever any future becomes
 * ready while such a waiter exists (one load per future otherwise).
 *
 * A thread that must poll() pool fds (event-loop pools: drain, wait_idle
 * and the future waits) cannot sleep on a futex, and the fd shows only
 * CQEs; but a function's future, or a function without a callback, is
 * completed by its worker without a CQE, and a future of a pool with
 * completion threads makes no fd of ours readable.  So such a thread
 * polls an eventfd of its own too, listed here while it waits: every
 * future readied and every quiet check of an event-loop pool writes each
 * listed eventfd.  Nobody listed, it costs one load.
 */
struct kp_poller {
	struct kp_poller *prev, *next;	/* under kp_pollers_lock */
	int efd;			/* -1: none could be made */
};

static pthread_mutex_t kp_pollers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kp_poller *kp_pollers;		/* under kp_pollers_lock */
static uint32_t kp_nr_pollers;			/* atomic: listed */
static uint32_t kp_any_seq;			/* futex: futures readied */
static uint32_t kp_any_waiters;			/* asleep on kp_any_seq */

/* Without an eventfd, a poller looks again this often (ms). */
#define KP_POLL_SLICE_MS	10

/*
 * List @p with a new eventfd, before its last look at what it waits for
 * (seq_cst: an event after that look sees it listed).  If no eventfd can
 * be made it stays unlisted, and kp_poll_until() polls in slices.
 */
static void kp_poller_add(struct kp_poller *p)
{
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0)
		return;
	pthread_mutex_lock(&kp_pollers_lock);
	p->prev = NULL;
	p->next = kp_pollers;
	if (p->next)
		p->next->prev = p;
	kp_pollers = p;
	kp_add(&kp_nr_pollers, 1);
	pthread_mutex_unlock(&kp_pollers_lock);
}

static void kp_poller_del(struct kp_poller *p)
{
	if (p->efd < 0)
		return;
	pthread_mutex_lock(&kp_pollers_lock);
	if (p->prev)
		p->prev->next = p->next;
	else
		kp_pollers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	kp_add(&kp_nr_pollers, -1);
	pthread_mutex_unlock(&kp_pollers_lock);
	close(p->efd);
	p->efd = -1;
}

/* Something a poller may wait for happened (seq_cst before this). */
static void kp_poke_pollers(void)
{
	const struct kp_poller *p;
	uint64_t one = 1;

	if (!kp_load_sc(&kp_nr_pollers))
		return;
	pthread_mutex_lock(&kp_pollers_lock);
	for (p = kp_pollers; p; p = p->next)
		if (write(p->efd, &one, sizeof(one)) < 0) {
			/* A full eventfd is already readable. */
		}
	pthread_mutex_unlock(&kp_pollers_lock);
}

/*
 * poll() @pfd[0 .. @n - 1], whose last entry is the caller's eventfd (or
 * -1), until @deadline or an event; then reset the eventfd, so that the
 * caller looks again before it polls again.  -ETIME past the deadline,
 * else 0 (an event, a signal, or a slice without an eventfd).
 */
static int kp_poll_until(struct pollfd *pfd, unsigned int n, uint64_t deadline)
{
	struct pollfd *efd = &pfd[n - 1];
	uint64_t now, left, val;
	int ms = -1;

	if (deadline != UINT64_MAX) {
		now = kp_now();
		if (now >= deadline)
			return -ETIME;
		left = (deadline - now + 999999) / 1000000;
		ms = left > INT_MAX ? INT_MAX : (int)left;
	}
	if (efd->fd < 0 && (ms < 0 || ms > KP_POLL_SLICE_MS))
		ms = KP_POLL_SLICE_MS;
	if (poll(pfd, n, ms) > 0 && efd->fd >= 0 && (efd->revents & POLLIN) &&
	    read(efd->fd, &val, sizeof(val)) < 0) {
		/* Only we read it: nothing to do. */
	}
	return 0;
}

/* A future just became ready (seq_cst): wake whoever waits on many. */
static void kp_any_ready(void)
{
	if (kp_load_sc(&kp_any_waiters)) {
		kp_add(&kp_any_seq, 1);
		kp_futex_wake(&kp_any_seq, UINT_MAX);
	}
	kp_poke_pollers();
}

/* ---- futures ---- */

static void kp_future_put(struct kpool_future *f)
{
	if (!__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		free(f);
}

static int kp_serve_and_reap(struct kpool_pool *pool, unsigned int max);

/*
 * The event-loop pool of @f, held as a call holds it (kp_put() when
 * done); NULL if @f's pool has completion threads, or is being destroyed
 * (its destroy completes @f).  Reached through the census, which lives as
 * long as @f, and whose pointer destroy clears before its grace period:
 * so never a pool freed, nor a later pool at the same address.
 */
static struct kpool_pool *kp_loop_get(const struct kpool_future *f)
{
	struct kpool_pool *pool;

	if (!f->loop)
		return NULL;
	urcu_bp_read_lock();
	pool = __atomic_load_n(&f->census->pool, __ATOMIC_ACQUIRE);
	if (pool)
		kp_hold(pool);
	urcu_bp_read_unlock();
	return pool;
}

/* The index of the first of @futures that is ready, else @n. */
static unsigned int kp_first_ready(struct kpool_future *const *futures,
				   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (kp_load_sc(&futures[i]->ready))
			break;
	return i;
}

/*
 * Run the completions of the event-loop pools of @futures not yet ready
 * (nobody else reaps them); how many such futures there are.  A pool
 * being destroyed is reaped by its destroy, which completes the future.
 */
static unsigned int kp_reap_loops(struct kpool_future *const *futures,
				  unsigned int n)
{
	struct kpool_pool *loop, *last = NULL;
	unsigned int i, loops = 0;

	for (i = 0; i < n; i++) {
		if (!futures[i]->loop || kp_load(&futures[i]->ready))
			continue;
		loops++;
		if (futures[i]->loop == last)	/* one pool: reap it once */
			continue;
		last = futures[i]->loop;
		loop = kp_loop_get(futures[i]);
		if (loop) {
			kp_serve_and_reap(loop, 0);
			kp_put(loop);
		}
	}
	return loops;
}

/* Event-loop pools polled at once without an allocation. */
#define KP_ANY_STACK	8

/*
 * Wait until one of @futures is ready, until @deadline (0: look once),
 * running the completions of their event-loop pools meanwhile; its index
 * goes to *@index.  With no event-loop future among them, sleep on
 * kp_any_seq; else poll the pools' fds and an eventfd of our own (see
 * kp_poller).  The set of pools to poll stays the same while we wait:
 * none of the futures becomes ready without the wait ending.
 * 0, -ETIME, or -ENOMEM (over KP_ANY_STACK event-loop futures to poll).
 */
static int kp_wait_any(struct kpool_future *const *futures, unsigned int n,
		       uint64_t deadline, unsigned int *index)
{
	struct pollfd stack[KP_ANY_STACK + 1], *pfd = NULL;
	struct kpool_pool *held_stack[KP_ANY_STACK], **held = NULL;
	struct kp_poller poller = { .efd = -1 };
	struct kpool_pool *last = NULL, *loop;
	unsigned int i, nfd = 0;
	int err, counted = 0;
	uint32_t seq;

	for (;;) {
		i = kp_reap_loops(futures, n);
		seq = kp_load_sc(&kp_any_seq);
		*index = kp_first_ready(futures, n);
		if (*index < n) {
			err = 0;
			break;
		}
		if (!i && !counted) {
			/* Announce, then look again: see kp_any_ready(). */
			kp_add(&kp_any_waiters, 1);
			counted = 1;
			continue;
		}
		if (!i) {
			/* No event-loop future to reap: sleep until one. */
			err = kp_futex_wait(&kp_any_seq, seq, deadline);
			if (err)
				break;
			continue;
		}
		if (pfd) {
			err = kp_poll_until(pfd, nfd + 1, deadline);
			if (err)
				break;
			continue;
		}
		if (deadline != UINT64_MAX && kp_now() >= deadline) {
			err = -ETIME;
			break;
		}
		/*
		 * The first time we must sleep: list the fds to poll, holding
		 * their pools until we return (a destroy meanwhile completes
		 * our futures first, then waits for us).  A pool being
		 * destroyed is not polled: its destroy pokes us.
		 */
		if (i <= KP_ANY_STACK) {
			pfd = stack;
			held = held_stack;
		} else {
			pfd = calloc(i + 1, sizeof(*pfd));
			held = calloc(i, sizeof(*held));
			if (!pfd || !held) {
				free(pfd);
				free(held);
				pfd = NULL;
				held = NULL;
				err = -ENOMEM;
				break;
			}
		}
		for (i = 0; i < n; i++) {
			if (!futures[i]->loop || futures[i]->loop == last ||
			    kp_load(&futures[i]->ready))
				continue;
			last = futures[i]->loop;
			loop = kp_loop_get(futures[i]);
			if (!loop)
				continue;
			held[nfd] = loop;
			pfd[nfd++] = (struct pollfd){
				.fd = loop->ring.fd, .events = POLLIN,
			};
		}
		kp_poller_add(&poller);
		pfd[nfd] = (struct pollfd){
			.fd = poller.efd, .events = POLLIN,
		};
		/* Look again before sleeping: pokes reach us from now on. */
	}
	if (counted)
		kp_add(&kp_any_waiters, -1);
	kp_poller_del(&poller);
	for (i = 0; i < nfd; i++)
		kp_put(held[i]);
	if (pfd != stack) {
		free(pfd);
		free(held);
	}
	return err;
}

int kpool_future_wait(struct kpool_future *f, uint64_t timeout_ns,
		      struct kpool_result *result)
{
	uint64_t deadline = kp_deadline(timeout_ns);
	unsigned int index;

	if (!kp_load(&f->ready) && f->loop &&
	    kp_wait_any(&f, 1, timeout_ns ? deadline : 0, &index))
		return -ETIME;
	while (!kp_load(&f->ready)) {
		if (timeout_ns == 0 || kp_futex_wait(&f->ready, 0, deadline))
			return -ETIME;
	}
	if (result)
		*result = f->result;
	return 0;
}

int kpool_future_wait_any(struct kpool_future *const *futures, unsigned int n,
			  uint64_t timeout_ns, unsigned int *index)
{
	unsigned int i, first;
	int err;

	if (!futures || !n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!futures[i])
			return -EINVAL;
	first = kp_first_ready(futures, n);
	if (first == n) {
		err = kp_wait_any(futures, n,
				  timeout_ns ? kp_deadline(timeout_ns) : 0,
				  &first);
		if (err)
			return err;
	}
	if (index)
		*index = first;
	return 0;
}

uint64_t kpool_future_id(const struct kpool_future *f)
{
	return f->id;
}

void kpool_future_release(struct kpool_future *f)
{
	struct kp_census *census;

	if (!f)
		return;
	census = f->census;	/* the task may free f as soon as we let go */
	kp_future_put(f);
	kp_census_put(census);
}

/* ---- completion ---- */

static int kp_quiet(const struct kpool_pool *pool);

/*
 * A task or a control task left the counts: wake drain and shutdown (a
 * closed pool: they wait for more than quiet), and idle waiters once the
 * pool is quiet.  Whoever makes the pool quiet calls this after, so the
 * last one sees it quiet.  Waiters on an event-loop pool poll its fd,
 * which a completion without a CQE (a worker's) does not make readable:
 * their eventfds are written too.
 */
static void kp_quiet_check(struct kpool_pool *pool)
{
	if (kp_load_sc(&pool->closed) ||
	    (kp_load_sc(&pool->idle_waiters) && kp_quiet(pool))) {
		kp_add(&pool->quiet_seq, 1);
		kp_futex_wake(&pool->quiet_seq, UINT_MAX);
		if (pool->opts.flags & KPOOL_POOL_EVENT_LOOP)
			kp_poke_pollers();
	}
}

/* A completed task, copied out of its record. */
struct kp_done {
	enum kp_kind kind;
	kpool_callback_t fn;
	void *arg;
	struct kpool_future *future;
	struct kpool_result result;
};

/* Copy a CQE's task out of its record and free the record. */
static void kp_take(struct kpool_pool *pool, const struct kpool_cqe *cqe,
		    struct kp_done *d)
{
	uint32_t index = (uint32_t)cqe->user_data;
	struct kp_task *t;

	/* The acquire pairs with the submitter's: see kp_submit(). */
	if (index >= pool->entries ||
	    !kp_load(&pool->tasks[index].armed) ||
	    (uint32_t)(cqe->user_data >> 32) != pool->tasks[index].gen)
		abort();	/* a CQE the library did not ask for */
	t = &pool->tasks[index];
	d->kind = t->kind;
	d->fn = t->fn;
	d->arg = t->arg;
	d->future = t->future;
	d->result = (struct kpool_result){ .res = cqe->res, .aux = cqe->aux };
	t->armed = 0;
	kp_task_put(pool, index);
}

/* Does this completion run a callback (which keeps the task's slot)? */
static int kp_has_callback(const struct kp_done *d)
{
	return d->kind == KP_CALLBACK && d->fn;
}

static void kp_deliver(struct kpool_pool *pool, const struct kp_done *d)
{
	struct kpool_pool *outer = kp_in_callback, *outer_held = kp_slot_held;
	struct kpool_future *f = d->future;

	if (d->kind == KP_FUTURE) {
		f->result = d->result;
		/* seq_cst: a waiter on many announces itself, then looks. */
		__atomic_store_n(&f->ready, 1, __ATOMIC_SEQ_CST);
		kp_futex_wake(&f->ready, UINT_MAX);
		kp_any_ready();
		kp_future_put(f);
	} else if (kp_has_callback(d)) {
		kp_in_callback = pool;
		kp_slot_held = pool;
		d->fn(d->arg, d->result);
		kp_in_callback = outer;
		if (kp_slot_held == pool) {	/* it submitted nothing */
			kp_add(&pool->inflight, -1);
			kp_room_made(pool, 1);
		}
		kp_slot_held = outer_held;
	}
}

/*
 * Complete a batch: free every record first, and the slots of tasks
 * without a callback (one atomic for the batch, and one wake for blocked
 * submitters), then deliver.  A task with a callback keeps its slot for
 * the callback (see kp_slot_held), which frees it when it returns unless
 * it submitted into it: so "a callback can always resubmit into the slot
 * it leaves" holds even while other threads wait for room.  Callbacks are
 * counted in cb_running before they leave inflight, so drain never sees a
 * gap.
 */
static void kp_complete(struct kpool_pool *pool, const struct kpool_cqe *cqes,
			unsigned int n)
{
	struct kp_done done[KP_REAP_BATCH];
	unsigned int i, tasks = 0, held = 0;

	for (i = 0; i < n; i++) {
		kp_take(pool, &cqes[i], &done[i]);
		tasks += done[i].kind != KP_CONTROL;
		held += kp_has_callback(&done[i]);
	}
	if (!n)
		return;
	if (n > tasks)
		kp_add(&pool->ctrl_inflight, -(int)(n - tasks));
	if (tasks) {
		kp_add(&pool->cb_running, tasks);
		if (tasks > held) {
			kp_add(&pool->inflight, -(int)(tasks - held));
			kp_room_made(pool, tasks - held);
		}
		for (i = 0; i < n; i++)
			if (done[i].kind != KP_CONTROL)
				kp_deliver(pool, &done[i]);
		__atomic_add_fetch(&pool->completed, tasks, __ATOMIC_RELAXED);
		kp_add(&pool->cb_running, -tasks);
	}
	/* Shutdown also waits for control tasks to leave ctrl_inflight. */
	kp_quiet_check(pool);
}

/* Copy out and complete up to @max ready CQEs (0: all); how many. */
static int kp_reap(struct kpool_pool *pool, unsigned int max)
{
	struct kpool_cqe batch[KP_REAP_BATCH];
	unsigned int n, total = 0;
	struct kpool_cqe *cqe;

	do {
		n = 0;
		pthread_mutex_lock(&pool->cq_lock);
		while (n < KP_REAP_BATCH && (!max || total + n < max) &&
		       !kpool_peek_cqe(&pool->ring, &cqe)) {
			batch[n++] = *cqe;
			kpool_cqe_seen(&pool->ring, cqe);
		}
		pthread_mutex_unlock(&pool->cq_lock);
		kp_complete(pool, batch, n);
		total += n;
	} while (n == KP_REAP_BATCH && (!max || total < max));
	return (int)total;
}

static void kp_signal_eventfd(struct kpool_pool *pool);

/*
 * Does the worker that ran the task of record @t complete it itself (a
 * quiet report)?  A future, or nothing to run: yes.  A callback: only
 * where the program allowed callbacks on workers (they may then run at
 * once on several), and never in event-loop mode, where callbacks run in
 * kpool_pool_process().  The record's kind is fixed while it is in flight.
 */
static int kp_worker_completes(const struct kpool_pool *pool,
			       const struct kp_task *t)
{
	uint32_t flags = pool->opts.flags;

	/* A module older than the quiet report: every report posts a CQE. */
	if (!(pool->ring.features & KPOOL_FEAT_WORK_QUIET))
		return 0;
	if (t->kind == KP_FUTURE || !t->fn)
		return 1;
	return (flags & KPOOL_POOL_WORKER_CALLBACKS) &&
	       !(flags & KPOOL_POOL_EVENT_LOOP);
}

/*
 * A worker's quiet report (KPOOL_WORK_QUIET): the module completed the
 * task without a CQE and gave its result back; complete it here, as if
 * its CQE had been reaped, in the worker's thread.
 */
static void kp_complete_quiet(struct kpool_pool *pool, uint64_t user_data,
			      int32_t res)
{
	struct kpool_cqe cqe = { .user_data = user_data, .res = res };

	kp_complete(pool, &cqe, 1);
	kp_signal_eventfd(pool);
}

/*
 * The pool's fd is readable when CQEs are ready, or when file tasks wait
 * for a thread of this process to enter the module (they run in the
 * program's own threads: the module's security model).  Run those, then
 * reap.
 */
static int kp_serve_and_reap(struct kpool_pool *pool, unsigned int max)
{
	if (kpool_ring_needs_enter(&pool->ring))
		kpool_enter(pool->ring.fd, 0, 0, 0, 0, NULL);
	return kp_reap(pool, max);
}

/*
 * Signal the program's eventfd, if it set one.  The fd is RCU data:
 * read and written to inside a read-side section, and
 * kpool_pool_set_eventfd() waits a grace period after replacing it, so
 * once that returns no write to the old one is under way.  The completion
 * threads and the workers (quiet completions) signal without a lock: none
 * sleeps on another's write() (the kernel orders the writes anyway).
 */
static void kp_signal_eventfd(struct kpool_pool *pool)
{
	uint64_t one = 1;
	int fd;

	if (__atomic_load_n(&pool->eventfd, __ATOMIC_RELAXED) < 0)
		return;
	urcu_bp_read_lock();
	fd = kp_load(&pool->eventfd);	/* pairs with kp_set_eventfd()'s */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* A full eventfd (2^64 - 2) is already signalled. */
	}
	kp_tsan_release(&pool->eventfd_gp);
	urcu_bp_read_unlock();
}

static void *kp_completion_thread(void *arg)
{
	struct kpool_pool *pool = arg;
	struct pollfd pfd[2] = {
		{ .fd = pool->ring.fd, .events = POLLIN },
		{ .fd = pool->stop_efd, .events = POLLIN },
	};

	for (;;) {
		if (kp_serve_and_reap(pool, 0)) {
			kp_signal_eventfd(pool);
			continue;
		}
		if (kp_load(&pool->stop))
			return NULL;
		poll(pfd, 2, -1);
	}
}

static int kp_process(struct kpool_pool *pool, unsigned int max)
{
	if (!(pool->opts.flags & KPOOL_POOL_EVENT_LOOP))
		return -EINVAL;
	return kp_serve_and_reap(pool, max);
}

int kpool_pool_process(struct kpool_pool *handle, unsigned int max)
{
	return KP_CALL(handle, kp_process(pool, max));
}

/* ---- closing ---- */

static int kp_quiet(const struct kpool_pool *pool)
{
	/* inflight first: a task leaves it only after entering cb_running. */
	return !kp_load_sc(&pool->inflight) && !kp_load_sc(&pool->cb_running);
}

static void kp_close(struct kpool_pool *pool)
{
	if (__atomic_exchange_n(&pool->closed, 1, __ATOMIC_SEQ_CST))
		return;
	/* Blocked submitters must see it. */
	kp_add(&pool->room_seq, 1);
	kp_futex_wake(&pool->room_seq, UINT_MAX);
}

static int kp_no_control(const struct kpool_pool *pool)
{
	return !kp_load_sc(&pool->ctrl_inflight);
}

/*
 * Wait until @done(pool), which completions of a closed pool make true
 * (or, with idle_waiters counted, those that make the pool quiet),
 * reaping them ourselves in event-loop mode: there the pool's fd and an
 * eventfd of ours (see kp_poller) are polled, listed the first time we
 * must sleep.
 */
static int kp_wait_until(struct kpool_pool *pool,
			 int (*done)(const struct kpool_pool *),
			 uint64_t deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = pool->ring.fd, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	struct kp_poller poller = { .efd = -1 };
	int loop = pool->opts.flags & KPOOL_POOL_EVENT_LOOP;
	int err, polling = 0;
	uint32_t seq;

	for (;;) {
		seq = kp_load_sc(&pool->quiet_seq);
		if (done(pool)) {
			err = 0;
			break;
		}
		if (!loop) {
			err = kp_futex_wait(&pool->quiet_seq, seq, deadline);
			if (err)
				break;
			continue;
		}
		if (kp_serve_and_reap(pool, 0))
			continue;
		if (!polling) {
			if (deadline != UINT64_MAX && kp_now() >= deadline) {
				err = -ETIME;
				break;
			}
			kp_poller_add(&poller);
			pfd[1].fd = poller.efd;
			polling = 1;
			continue;	/* look again: pokes reach us now */
		}
		err = kp_poll_until(pfd, 2, deadline);
		if (err)
			break;
	}
	kp_poller_del(&poller);
	return err;
}

static int kp_wait_quiet(struct kpool_pool *pool, uint64_t deadline)
{
	return kp_wait_until(pool, kp_quiet, deadline);
}

static void kp_dismiss_workers(struct kpool_pool *pool);

static int kp_drain(struct kpool_pool *pool, uint64_t timeout_ns)
{
	if (kp_inside(pool))
		return -EDEADLK;
	kp_close(pool);
	return kp_wait_quiet(pool, kp_deadline(timeout_ns));
}

int kpool_pool_drain(struct kpool_pool *handle, uint64_t timeout_ns)
{
	return KP_CALL(handle, kp_drain(pool, timeout_ns));
}

/*
 * Drain's wait without its close: WaitGroup.Wait().  Counted in
 * idle_waiters, so that kp_quiet_check() wakes us (and pokes pollers)
 * when the pool turns quiet, open or not.
 */
static int kp_wait_idle(struct kpool_pool *pool, uint64_t timeout_ns)
{
	int err;

	if (kp_inside(pool))
		return -EDEADLK;
	if (kp_quiet(pool))
		return 0;
	kp_add(&pool->idle_waiters, 1);
	err = kp_wait_quiet(pool, timeout_ns ? kp_deadline(timeout_ns) : 0);
	kp_add(&pool->idle_waiters, -1);
	return err;
}

int kpool_pool_wait_idle(struct kpool_pool *handle, uint64_t timeout_ns)
{
	return KP_CALL(handle, kp_wait_idle(pool, timeout_ns));
}

static int kp_shutdown(struct kpool_pool *pool)
{
	int err;

	if (kp_inside(pool))
		return -EDEADLK;
	pthread_mutex_lock(&pool->close_lock);
	if (!pool->shut) {
		kp_close(pool);
		/*
		 * Racing submitters may still add a task or two: cancel until
		 * quiet.  Quiet and closed, the pool stays quiet for good.
		 */
		do {
			/* EAGAIN: cancels are in flight; waiting reaps them. */
			kp_submit_control(pool, 0, KPOOL_CANCEL_ALL);
			err = kp_wait_quiet(pool, kp_deadline(10 * 1000000ULL));
		} while (err);
		/*
		 * No control task from now on (they get -ESHUTDOWN), and none
		 * left in flight: the workers' dismissal drains the module's
		 * pool, which refuses every SQE, and the publisher must never
		 * meet a refusal.
		 */
		__atomic_store_n(&pool->ctrl_gate, 1, __ATOMIC_SEQ_CST);
		kp_wait_until(pool, kp_no_control, UINT64_MAX);
		kp_dismiss_workers(pool);
		pool->shut = 1;
	}
	pthread_mutex_unlock(&pool->close_lock);
	return 0;
}

int kpool_pool_shutdown(struct kpool_pool *handle)
{
	return KP_CALL(handle, kp_shutdown(pool));
}

/* ---- the program's own functions ---- */

/* Fill @sqe for @fn(@arg): 0 or -EINVAL. */
static int kp_fn_sqe(struct kpool_sqe *sqe, kpool_fn_t fn, void *arg,
		     const struct kpool_fn_opts *opts)
{
	memset(sqe, 0, sizeof(*sqe));
	if (!fn || (opts && opts->prio > KPOOL_PRIO_HIGH))
		return -EINVAL;
	kpool_prep_call(sqe, (__u64)(uintptr_t)fn, (__u64)(uintptr_t)arg);
	if (opts) {
		sqe->prio = opts->prio;
		sqe->deadline_ns = opts->deadline_ns;
	}
	return 0;
}

static int kp_submit_fn(struct kpool_pool *pool, kpool_fn_t fn, void *arg,
			const struct kpool_fn_opts *opts, uint64_t *id)
{
	struct kpool_sqe sqe;
	int err;

	if (!(pool->ring.features & KPOOL_FEAT_CALL))
		return -EOPNOTSUPP;
	err = kp_fn_sqe(&sqe, fn, arg, opts);
	if (err)
		return err;
	return kp_submit(pool, &sqe, KP_CALLBACK, opts ? opts->done : NULL,
			 opts ? opts->done_arg : NULL, NULL, id);
}

int kpool_pool_submit_fn(struct kpool_pool *handle, kpool_fn_t fn, void *arg,
			 const struct kpool_fn_opts *opts, uint64_t *id)
{
	return KP_CALL(handle, kp_submit_fn(pool, fn, arg, opts, id));
}

static int kp_submit_fn_timeout(struct kpool_pool *pool, kpool_fn_t fn,
				void *arg, const struct kpool_fn_opts *opts,
				uint64_t timeout_ns, uint64_t *id)
{
	struct kpool_sqe sqe;
	int err;

	if (!(pool->ring.features & KPOOL_FEAT_CALL))
		return -EOPNOTSUPP;
	err = kp_fn_sqe(&sqe, fn, arg, opts);
	if (err)
		return err;
	return kp_submit_timed(pool, &sqe, KP_CALLBACK,
			       opts ? opts->done : NULL,
			       opts ? opts->done_arg : NULL, NULL, id,
			       timeout_ns);
}

int kpool_pool_submit_fn_timeout(struct kpool_pool *handle, kpool_fn_t fn,
				 void *arg, const struct kpool_fn_opts *opts,
				 uint64_t timeout_ns, uint64_t *id)
{
	return KP_CALL(handle, kp_submit_fn_timeout(pool, fn, arg, opts,
						    timeout_ns, id));
}

static int kp_submit_fn_future(struct kpool_pool *pool, kpool_fn_t fn,
			       void *arg, const struct kpool_fn_opts *opts,
			       struct kpool_future **futurep)
{
	struct kpool_sqe sqe;
	int err;

	if (!(pool->ring.features & KPOOL_FEAT_CALL))
		return -EOPNOTSUPP;
	if (opts && opts->done)
		return -EINVAL;
	err = kp_fn_sqe(&sqe, fn, arg, opts);
	if (err)
		return err;
	return kp_submit_future(pool, &sqe, futurep);
}

int kpool_pool_submit_fn_future(struct kpool_pool *handle, kpool_fn_t fn,
				void *arg, const struct kpool_fn_opts *opts,
				struct kpool_future **futurep)
{
	return KP_CALL(handle, kp_submit_fn_future(pool, fn, arg, opts,
						   futurep));
}

static int kp_submit_fn_batch(struct kpool_pool *pool, const kpool_fn_t *fns,
			      void *const *args, unsigned int n,
			      const struct kpool_fn_opts *opts, uint64_t *ids)
{
	kpool_callback_t done = opts ? opts->done : NULL;
	void *done_arg = opts ? opts->done_arg : NULL;
	struct kpool_sqe sqe;
	unsigned int i;
	int err = 0;

	if (n && !(pool->ring.features & KPOOL_FEAT_CALL))
		return -EOPNOTSUPP;
	for (i = 0; i < n; i++) {
		err = kp_fn_sqe(&sqe, fns[i], args ? args[i] : NULL, opts);
		if (!err)
			err = kp_start_workers(pool);	/* once: then a load */
		if (!err)	/* publishes ours before it waits */
			err = kp_admit(pool);
		if (err)
			break;
		kp_stage_task(pool, &sqe, KP_CALLBACK, done, done_arg, NULL,
			      ids ? &ids[i] : NULL);
	}
	if (i)
		kp_publish(pool);
	return i ? (int)i : err;
}

int kpool_pool_submit_fn_batch(struct kpool_pool *handle, const kpool_fn_t *fns,
			       void *const *args, unsigned int n,
			       const struct kpool_fn_opts *opts, uint64_t *ids)
{
	return KP_CALL(handle, kp_submit_fn_batch(pool, fns, args, n, opts,
						  ids));
}

int kpool_task_cancelled(void)
{
	const struct kp_running *run = kp_current_fn;

	if (!run)
		return 0;
	if (kpool_worker_cancelled(&run->pool->ring, run->slot))
		return -ECANCELED;
	if (run->deadline && kp_now() >= run->deadline)
		return -ETIME;
	return 0;
}

static int kp_worker_completes(const struct kpool_pool *pool,
			       const struct kp_task *t);

/*
 * Run the task the module gave this worker; its result.  *@quiet: may
 * its report be quiet (kp_worker_completes()), read from the record
 * before the record is handed on.
 */
static int32_t kp_run(struct kpool_pool *pool, const struct kpool_work *w,
		      uint32_t *quiet)
{
	struct kp_running run = {
		.pool = pool, .slot = w->slot, .deadline = w->deadline_ns,
	};
	kpool_fn_t fn = (kpool_fn_t)(uintptr_t)w->fn;
	uint32_t index = (uint32_t)w->user_data;
	struct kp_task *t;
	int res;

	/*
	 * The record lives until the task's CQE is reaped, after our report.
	 * The acquire pairs with the submitter's release (see kp_take()): the
	 * module orders the two, but checkers cannot see through it (TSan).
	 */
	if (index >= pool->entries || !kp_load(&pool->tasks[index].armed) ||
	    (uint32_t)(w->user_data >> 32) != pool->tasks[index].gen)
		abort();	/* a task the library did not submit */
	t = &pool->tasks[index];
	*quiet = kp_worker_completes(pool, t) ? KPOOL_WORK_QUIET : 0;
	if (!fn)
		return -EINVAL;	/* kpool_pool_submit() of kpool_prep_call(0) */
	kp_current_fn = &run;
	res = fn((void *)(uintptr_t)w->arg);
	kp_current_fn = NULL;
	/* And what the function wrote, to whoever reaps the task. */
	kp_store(&t->armed, 1);
	return res;
}

static int kp_spawn_locked(struct kpool_pool *pool);

/*
 * A function was just taken by a worker, or submitted: if no worker is
 * left parked (or starting up) to take the next one, start one, up to
 * max_workers.  Go's runtime does the same when a goroutine blocks in a
 * syscall: the next runnable one should not wait for a thread.  So a pool
 * of capacity N whose functions never sleep settles at N + 1 threads,
 * and one whose functions sleep grows by one thread per sleeper.
 */
static void kp_grow(struct kpool_pool *pool)
{
	if (kp_load(&pool->wparked) ||
	    kp_load(&pool->wlive) >= kp_load(&pool->wmax))
		return;
	pthread_mutex_lock(&pool->workers_lock);
	if (pool->wstate == KP_W_STARTED && !kp_load(&pool->wparked) &&
	    pool->wlive < pool->wmax)
		kp_spawn_locked(pool);	/* a failure: the next take retries */
	pthread_mutex_unlock(&pool->workers_lock);
}

/*
 * May this worker leave: above max_workers (lowered meanwhile), or, after
 * @idle (a park that timed out), above min_workers?  If so it is retired
 * (joined by a later spawn or by shutdown) and must leave.
 */
static int kp_retire(struct kpool_pool *pool, struct kp_worker *self,
		     int idle)
{
	int leave;

	pthread_mutex_lock(&pool->workers_lock);
	leave = pool->wstate == KP_W_STARTED &&
		(pool->wlive > pool->wmax || (idle && pool->wlive > pool->wmin));
	if (leave) {
		self->state = KP_WS_GONE;
		kp_store(&pool->wlive, pool->wlive - 1);
		pool->wexpired++;
	}
	pthread_mutex_unlock(&pool->workers_lock);
	return leave;
}

/*
 * A worker thread: park in WORK, run the task given, report its result
 * in the next WORK; leave when the module's pool drains (ESHUTDOWN), when
 * the pool dismisses its workers, or when retired.  It is counted parked
 * from its start (kp_spawn_locked()) until WORK gives it a task.
 */
static void *kp_worker_thread(void *arg)
{
	struct kp_worker *self = arg;
	struct kpool_pool *pool = self->pool;
	uint64_t token = 0, held = 0, reported = 0;
	uint32_t quiet = 0;
	struct kpool_work w;
	int32_t res = 0;
	int err, leave, parked = 1;

	for (;;) {
		memset(&w, 0, sizeof(w));
		reported = 0;
		if (token) {
			w.flags = KPOOL_WORK_DONE | quiet;
			w.token = token;
			w.res = res;
			reported = quiet ? held : 0;
			token = 0;	/* taken, whatever the call returns */
		}
		leave = kp_load(&pool->wstop) ||
			(kp_load(&pool->wlive) > kp_load(&pool->wmax) &&
			 kp_retire(pool, self, 0));
		if (leave) {
			w.flags |= KPOOL_WORK_LEAVE;
			if (parked)
				kp_add(&pool->wparked, -1);
			if (!kpool_work(&pool->ring, &w) && reported)
				kp_complete_quiet(pool, reported, w.done_res);
			return NULL;
		}
		if (!reported && kp_load(&pool->widle_ns) &&
		    kp_load(&pool->wlive) > kp_load(&pool->wmin)) {
			w.flags |= KPOOL_WORK_TIMEOUT;
			w.timeout_ns = kp_load(&pool->widle_ns);
		}
		if (!parked)
			kp_add(&pool->wparked, 1);
		err = kpool_work(&pool->ring, &w);
		/*
		 * A quiet report the module took: the task is done, and its
		 * completion (callback or future) is ours to run, now, before
		 * the next function or the next park.  One it refused (a
		 * close took the task) has its CQE.
		 */
		if (reported && !err)
			kp_complete_quiet(pool, reported, w.done_res);
		parked = !(!err && w.token);
		if (!parked) {
			kp_add(&pool->wparked, -1);
			kp_grow(pool);
			held = w.user_data;
			res = kp_run(pool, &w, &quiet);
			token = w.token;
		} else if (err == -ETIME) {
			if (kp_retire(pool, self, 1))
				break;
		} else if (err == -ENOMEM) {
			usleep(1000);
		} else if (err && err != -EINTR) {
			/* ESHUTDOWN; or EBUSY, every worker slot taken */
			break;
		}
	}
	kp_add(&pool->wparked, -1);
	memset(&w, 0, sizeof(w));
	w.flags = KPOOL_WORK_LEAVE;
	kpool_work(&pool->ring, &w);
	return NULL;
}

/*
 * Start one worker thread in a free place (joining a retired one's if
 * need be): 0 or pthread_create()'s error.  It gets a mask of every
 * signal but those of faults, which go to the faulting thread alone and
 * kill it if blocked.
 */
static int kp_spawn_locked(struct kpool_pool *pool)
{
	static const int faults[] = {
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
	};
	struct kp_worker *slot = NULL;
	sigset_t set, old;
	unsigned int i;
	int err;

	for (i = 0; i < KPOOL_POOL_WORKERS && !slot; i++)
		if (pool->workers[i].state == KP_WS_FREE)
			slot = &pool->workers[i];
	for (i = 0; i < KPOOL_POOL_WORKERS && !slot; i++)
		if (pool->workers[i].state == KP_WS_GONE) {
			slot = &pool->workers[i];
			pthread_join(slot->thread, NULL);	/* it is leaving */
			slot->state = KP_WS_FREE;
		}
	if (!slot)
		return -EAGAIN;
	slot->pool = pool;
	sigfillset(&set);
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&set, faults[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	kp_add(&pool->wparked, 1);
	err = -pthread_create(&slot->thread, NULL, kp_worker_thread, slot);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		kp_add(&pool->wparked, -1);
		return err;
	}
	slot->state = KP_WS_LIVE;
	kp_store(&pool->wlive, pool->wlive + 1);
	pool->wstarted++;
	return 0;
}

/* Start workers up to @n (and one at least): 0 if any runs. */
static int kp_spawn_upto_locked(struct kpool_pool *pool, unsigned int n)
{
	int err = 0;

	kp_store(&pool->wstate, KP_W_STARTED);
	while (!err && (pool->wlive < n || !pool->wlive))
		err = kp_spawn_locked(pool);
	return pool->wlive ? 0 : err;
}

/*
 * Make sure a worker will take a function about to be submitted: the
 * first one starts min_workers threads (one at least), later ones start
 * another if none is parked.  0 (also when the pool is closed: the
 * submit will say so), else -EOPNOTSUPP or pthread_create()'s error when
 * no worker runs at all.
 */
static int kp_start_workers(struct kpool_pool *pool)
{
	int err = 0;

	if (kp_load(&pool->wstate) == KP_W_STARTED) {
		kp_grow(pool);
		return 0;
	}
	if (!(pool->ring.features & KPOOL_FEAT_CALL))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&pool->workers_lock);
	if (pool->wstate == KP_W_NONE && !kp_load_sc(&pool->closed))
		err = kp_spawn_upto_locked(pool, pool->wmin);
	pthread_mutex_unlock(&pool->workers_lock);
	return err;
}

static int kp_set_workers(struct kpool_pool *pool, unsigned int n)
{
	int err = 0;

	if (!(pool->ring.features & KPOOL_FEAT_CALL))
		return -EOPNOTSUPP;
	if (!n || n > KPOOL_POOL_WORKERS)
		return -EINVAL;
	pthread_mutex_lock(&pool->workers_lock);
	if (pool->wstate == KP_W_DISMISSED || kp_load_sc(&pool->closed)) {
		err = -ESHUTDOWN;
	} else if (pool->wstate == KP_W_STARTED) {
		err = -EBUSY;
	} else {
		kp_store(&pool->wmin, n);
		kp_store(&pool->wmax, n);
		kp_store(&pool->widle_ns, 0);
	}
	pthread_mutex_unlock(&pool->workers_lock);
	return err;
}

int kpool_pool_set_workers(struct kpool_pool *handle, unsigned int n)
{
	return KP_CALL(handle, kp_set_workers(pool, n));
}

static int kp_set_worker_limits(struct kpool_pool *pool,
				unsigned int min_workers,
				unsigned int max_workers,
				uint64_t idle_timeout_ns)
{
	int err = 0;

	if (!(pool->ring.features & KPOOL_FEAT_CALL))
		return -EOPNOTSUPP;
	if (!max_workers || max_workers > KPOOL_POOL_WORKERS ||
	    min_workers > max_workers)
		return -EINVAL;
	pthread_mutex_lock(&pool->workers_lock);
	if (pool->wstate == KP_W_DISMISSED || kp_load_sc(&pool->closed)) {
		err = -ESHUTDOWN;
		goto out;
	}
	kp_store(&pool->wmin, min_workers);
	kp_store(&pool->wmax, max_workers);
	kp_store(&pool->widle_ns, idle_timeout_ns);
	if (min_workers > pool->wlive)
		err = kp_spawn_upto_locked(pool, min_workers);
out:
	pthread_mutex_unlock(&pool->workers_lock);
	return err;
}

int kpool_pool_set_worker_limits(struct kpool_pool *handle,
				 unsigned int min_workers,
				 unsigned int max_workers,
				 uint64_t idle_timeout_ns)
{
	return KP_CALL(handle, kp_set_worker_limits(pool, min_workers,
						    max_workers,
						    idle_timeout_ns));
}

static int kp_worker_stats(struct kpool_pool *pool,
			   struct kpool_pool_worker_stats *ws)
{
	struct kpool_worker_counts c = { 0 };
	int err = 0;

	memset(ws, 0, sizeof(*ws));
	if (pool->ring.features & KPOOL_FEAT_CALL)
		err = kpool_get_worker_counts(&pool->ring, &c);
	if (err)
		return err;
	ws->workers = c.workers;
	ws->parked = c.parked;
	ws->blocked = c.blocked;
	ws->runnable = c.busy - c.blocked;
	pthread_mutex_lock(&pool->workers_lock);
	ws->min_workers = pool->wmin;
	ws->max_workers = pool->wmax;
	ws->idle_timeout_ns = pool->widle_ns;
	ws->started = pool->wstarted;
	ws->expired = pool->wexpired;
	pthread_mutex_unlock(&pool->workers_lock);
	return 0;
}

int kpool_pool_worker_stats(struct kpool_pool *handle,
			    struct kpool_pool_worker_stats *ws)
{
	return KP_CALL(handle, kp_worker_stats(pool, ws));
}

/*
 * Shutdown, the pool closed and quiet for good and no control task in
 * flight or to come: the workers leave.  They are parked (or about to
 * be), and a parked worker leaves when the module's pool drains.  Not
 * under workers_lock: a callback may be starting the
 * workers, and the completion thread it runs on must reap for us.  Once
 * the state is DISMISSED nobody starts or retires a worker, so the places
 * can be read without the lock.
 */
static void kp_dismiss_workers(struct kpool_pool *pool)
{
	unsigned int i;
	uint32_t state;
	int err;

	pthread_mutex_lock(&pool->workers_lock);
	state = pool->wstate;
	kp_store(&pool->wstate, KP_W_DISMISSED);
	pthread_mutex_unlock(&pool->workers_lock);
	if (state != KP_W_STARTED)
		return;		/* the module's pool does not drain */

	kp_store(&pool->wstop, 1);
	do {
		err = kpool_drain(&pool->ring);	/* quiet: returns at once */
	} while (err == -EINTR);
	if (err)
		abort();	/* the ring contract is broken */
	for (i = 0; i < KPOOL_POOL_WORKERS; i++) {
		if (pool->workers[i].state != KP_WS_FREE)
			pthread_join(pool->workers[i].thread, NULL);
		pool->workers[i].state = KP_WS_FREE;
	}
	kp_store(&pool->wlive, 0);
}

/* ---- setup and teardown ---- */

static unsigned int kp_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (unsigned int)n;
}

void kpool_pool_opts_default(struct kpool_pool_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->capacity = kp_online_cpus();
	o->max_capacity = 0;		/* the capacity, whatever it is set to */
	o->queue_size = 4 * o->capacity;
	o->completion_threads = 1;
	o->default_prio = KPOOL_PRIO_NORMAL;
}

static void kp_free(struct kpool_pool *pool)
{
	if (pool->ring.fd >= 0)
		kpool_ring_exit(&pool->ring);
	if (pool->stop_efd >= 0)
		close(pool->stop_efd);
	pthread_mutex_destroy(&pool->cq_lock);
	pthread_mutex_destroy(&pool->workers_lock);
	pthread_mutex_destroy(&pool->close_lock);
	pthread_mutex_destroy(&pool->tune_lock);
	free(pool->ready);
	free(pool->tasks);
	free(pool);
}

static int kp_start_threads(struct kpool_pool *pool)
{
	unsigned int i;

	if (pool->opts.flags & KPOOL_POOL_EVENT_LOOP)
		return 0;
	pool->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (pool->stop_efd < 0)
		return -errno;
	for (i = 0; i < pool->opts.completion_threads; i++) {
		int err = pthread_create(&pool->threads[i], NULL,
					 kp_completion_thread, pool);
		if (err)
			return -err;
		pool->nr_threads++;
	}
	return 0;
}

static void kp_stop_threads(struct kpool_pool *pool)
{
	uint64_t one = 1;
	unsigned int i;

	if (!pool->nr_threads)
		return;
	kp_store(&pool->stop, 1);
	if (write(pool->stop_efd, &one, sizeof(one)) < 0)
		abort();
	for (i = 0; i < pool->nr_threads; i++)
		pthread_join(pool->threads[i], NULL);
	pool->nr_threads = 0;
}

static int kp_check_opts(const struct kpool_pool_opts *o)
{
	if (!o->capacity || o->max_capacity < o->capacity)
		return -EINVAL;
	if (o->flags & ~(KPOOL_POOL_NONBLOCKING | KPOOL_POOL_EVENT_LOOP |
			 KPOOL_POOL_WORKER_CALLBACKS))
		return -EINVAL;
	if (o->default_prio > KPOOL_PRIO_HIGH)
		return -EINVAL;
	if (!(o->flags & KPOOL_POOL_EVENT_LOOP) &&
	    (!o->completion_threads || o->completion_threads > KP_MAX_THREADS))
		return -EINVAL;
	/* The module bounds the rings far below this; it only stops overflow. */
	if (o->max_capacity > (1U << 20) || o->queue_size > (1U << 20))
		return -EINVAL;
	return 0;
}

int kpool_pool_create(struct kpool_pool **poolp,
		      const struct kpool_pool_opts *opts)
{
	struct kpool_ring_params params;
	struct kpool_pool *pool;
	unsigned int i;
	int err;

	/* Its hot counters sit on their own cache lines: calloc() is not enough. */
	pool = aligned_alloc(KP_CACHELINE, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	memset(pool, 0, sizeof(*pool));
	pool->ring.fd = -1;
	pool->stop_efd = -1;
	pool->eventfd = -1;
	pthread_mutex_init(&pool->cq_lock, NULL);
	pthread_mutex_init(&pool->workers_lock, NULL);
	pthread_mutex_init(&pool->close_lock, NULL);
	pthread_mutex_init(&pool->tune_lock, NULL);
	pool->wmax = KPOOL_POOL_WORKERS;
	pool->widle_ns = KP_IDLE_TIMEOUT_NS;
	pool->census = kp_census_new();
	err = -ENOMEM;
	if (!pool->census)
		goto fail;
	if (opts)
		pool->opts = *opts;
	else
		kpool_pool_opts_default(&pool->opts);
	if (pool->opts.flags & KPOOL_POOL_EVENT_LOOP)
		pool->opts.flags |= KPOOL_POOL_NONBLOCKING;
	if (!pool->opts.max_capacity)
		pool->opts.max_capacity = pool->opts.capacity;
	err = kp_check_opts(&pool->opts);
	if (err)
		goto fail;

	pool->entries = kp_roundup_pow2(pool->opts.max_capacity +
					pool->opts.queue_size + KP_CTRL_SLOTS);
	pool->limit = pool->opts.capacity + pool->opts.queue_size;
	pool->queue_size = pool->opts.queue_size;

	/* The module checks the sizes before we allocate for them. */
	memset(&params, 0, sizeof(params));
	params.cq_entries = pool->entries;
	params.capacity = pool->opts.capacity;
	params.arena_size = pool->opts.arena_size;
	err = kpool_ring_open(&pool->ring, pool->entries, &params);
	if (err) {
		pool->ring.fd = -1;
		goto fail;
	}
	pool->sq_reserve = pool->sq_published = *pool->ring.sq.ktail;

	pool->ready = malloc(pool->entries * sizeof(*pool->ready));
	pool->tasks = calloc(pool->entries, sizeof(*pool->tasks));
	err = -ENOMEM;
	if (!pool->ready || !pool->tasks)
		goto fail;
	for (i = 0; i < pool->entries; i++) {
		uint32_t idx = pool->sq_reserve + i;

		/* "Written" for the lap before the first: never idx + 1. */
		pool->ready[idx & (pool->entries - 1)] = idx + 1 - pool->entries;
		kp_task_put(pool, pool->entries - 1 - i);
	}
	err = kp_start_threads(pool);
	if (err) {
		kp_close(pool);
		kp_stop_threads(pool);
		goto fail;
	}
	err = kp_publish_handle(pool);
	if (err) {
		kp_close(pool);
		kp_stop_threads(pool);
		goto fail;
	}
	kp_census_add(pool->census, pool);
	*poolp = pool;
	return 0;
fail:
	free(pool->census);	/* never listed */
	kp_free(pool);
	return err;
}

/*
 * Out of the table first: calls from then on fail with -EBADF, and a
 * racing destroy of the same handle does nothing.  The shutdown wakes the
 * calls in progress; kp_wait_calls() waits until they have returned.
 */
void kpool_pool_destroy(struct kpool_pool *handle)
{
	struct kpool_pool *pool;

	if (!handle)
		return;
	pool = kp_unpublish(handle);
	if (!pool)
		return;
	kp_census_retire(pool->census);
	kp_shutdown(pool);
	kp_stop_threads(pool);
	kp_wait_calls(pool);
	kp_census_drop_pool(pool->census);
	kp_free(pool);
}

/* ---- settings and numbers ---- */

static int kp_tune(struct kpool_pool *pool, unsigned int capacity,
		   unsigned int *prev)
{
	unsigned int old;
	int err;

	if (kp_load_sc(&pool->closed))
		return -ESHUTDOWN;
	if (!capacity || capacity > pool->opts.max_capacity)
		return -EINVAL;
	pthread_mutex_lock(&pool->tune_lock);
	err = kpool_tune(&pool->ring, capacity, &old);
	if (!err)
		kp_store(&pool->limit, capacity + kp_load(&pool->queue_size));
	pthread_mutex_unlock(&pool->tune_lock);
	if (err)
		return err;
	kp_add(&pool->room_seq, 1);
	kp_futex_wake(&pool->room_seq, UINT_MAX);
	if (prev)
		*prev = old;
	return 0;
}

int kpool_pool_tune(struct kpool_pool *handle, unsigned int capacity,
		    unsigned int *prev)
{
	return KP_CALL(handle, kp_tune(pool, capacity, prev));
}

/*
 * The queue is the library's own bound (the module's is the CQ, which the
 * rings size for max_capacity + the queue at create + control slots,
 * rounded up to a power of two): it may grow into that room.
 */
static int kp_tune_queue(struct kpool_pool *pool, unsigned int queue_size,
			 unsigned int *prev)
{
	unsigned int room = pool->entries - KP_CTRL_SLOTS -
			    pool->opts.max_capacity;
	unsigned int capacity, old;
	int err;

	if (kp_load_sc(&pool->closed))
		return -ESHUTDOWN;
	if (queue_size > room)
		return -EINVAL;
	pthread_mutex_lock(&pool->tune_lock);
	err = kpool_get_capacity(&pool->ring, &capacity, NULL);
	if (!err) {
		old = kp_load(&pool->queue_size);
		kp_store(&pool->queue_size, queue_size);
		kp_store(&pool->limit, capacity + queue_size);
	}
	pthread_mutex_unlock(&pool->tune_lock);
	if (err)
		return err;
	/* A larger queue is room for blocked submitters. */
	kp_add(&pool->room_seq, 1);
	kp_futex_wake(&pool->room_seq, UINT_MAX);
	if (prev)
		*prev = old;
	return 0;
}

int kpool_pool_tune_queue(struct kpool_pool *handle, unsigned int queue_size,
			  unsigned int *prev)
{
	return KP_CALL(handle, kp_tune_queue(pool, queue_size, prev));
}

static int kp_counts(struct kpool_pool *pool, struct kpool_pool_counts *c)
{
	struct kpool_counters k;
	unsigned int capacity;
	int err;

	err = kpool_read_stats(&pool->ring, &k, NULL, 0);
	if (!err)
		err = kpool_get_capacity(&pool->ring, &capacity, NULL);
	if (err)
		return err;
	memset(c, 0, sizeof(*c));
	c->capacity = capacity;
	c->running = (unsigned int)k.running;
	c->waiting = (unsigned int)k.waiting;
	c->free = capacity > c->running ? capacity - c->running : 0;
	c->inflight = kp_load(&pool->inflight) + kp_load(&pool->cb_running);
	return 0;
}

int kpool_pool_counts(struct kpool_pool *handle, struct kpool_pool_counts *c)
{
	return KP_CALL(handle, kp_counts(pool, c));
}

static int kp_stats(struct kpool_pool *pool, struct kpool_counters *kernel,
		    struct kpool_pool_lib_stats *lib)
{
	if (kernel) {
		int err = kpool_read_stats(&pool->ring, kernel, NULL, 0);

		if (err)
			return err;
	}
	if (lib) {
		memset(lib, 0, sizeof(*lib));
		lib->completed = kp_load(&pool->completed);
		/* Every task admitted is completed or still counted. */
		lib->submitted = lib->completed + kp_load(&pool->inflight) +
				 kp_load(&pool->cb_running);
		lib->full = kp_load(&pool->full);
		lib->closed = kp_load(&pool->closed_count);
		lib->waited = kp_load(&pool->waited);
		lib->enters = kp_load(&pool->enters);
	}
	return 0;
}

int kpool_pool_stats(struct kpool_pool *handle, struct kpool_counters *kernel,
		     struct kpool_pool_lib_stats *lib)
{
	return KP_CALL(handle, kp_stats(pool, kernel, lib));
}

static int kp_op_stats(struct kpool_pool *pool, struct kpool_counters *ops,
		       unsigned int nr_ops)
{
	struct kpool_stats st;
	unsigned int n;

	if (!nr_ops)
		return 0;
	if (!ops)
		return -EINVAL;
	/* kpool_read_stats() does not say how many ops the module counts. */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.nr_ops = nr_ops;
	st.ops_ptr = (__u64)(uintptr_t)ops;
	if (ioctl(pool->ring.fd, KPOOL_IOC_STATS, &st) < 0)
		return -errno;
	n = st.nr_ops < nr_ops ? st.nr_ops : nr_ops;
	/* Ops an older module lacks never ran: zero, not stale memory. */
	memset(ops + n, 0, (size_t)(nr_ops - n) * sizeof(*ops));
	return (int)n;
}

int kpool_pool_op_stats(struct kpool_pool *handle, struct kpool_counters *ops,
			unsigned int nr_ops)
{
	return KP_CALL(handle, kp_op_stats(pool, ops, nr_ops));
}

int kpool_pool_fd(const struct kpool_pool *handle)
{
	return KP_CALL(handle, pool->ring.fd);
}

/* The grace period: see kp_signal_eventfd(). */
static int kp_set_eventfd(struct kpool_pool *pool, int efd)
{
	if (pool->opts.flags & KPOOL_POOL_EVENT_LOOP)
		return -EINVAL;
	/* Release: the fd was made before; rcu_assign_pointer()'s order. */
	kp_store(&pool->eventfd, efd < 0 ? -1 : efd);
	urcu_bp_synchronize_rcu();
	kp_tsan_acquire(&pool->eventfd_gp);
	return 0;
}

int kpool_pool_set_eventfd(struct kpool_pool *handle, int efd)
{
	return KP_CALL(handle, kp_set_eventfd(pool, efd));
}

void *kpool_pool_arena(const struct kpool_pool *handle, size_t *size)
{
	struct kpool_pool *pool = kp_get(handle);
	void *arena = NULL;

	if (size)
		*size = 0;
	if (!pool)
		return NULL;
	if (size)
		*size = pool->ring.arena_size;
	arena = pool->ring.arena;
	kp_put(pool);
	return arena;
}

/* ---- the leak check ---- */

static const char *const kp_op_names[KPOOL_OP_LAST] = {
	[KPOOL_OP_NOP] = "nop",		[KPOOL_OP_TIMEOUT] = "timeout",
	[KPOOL_OP_CANCEL] = "cancel",	[KPOOL_OP_BURN] = "burn",
	[KPOOL_OP_READ] = "read",	[KPOOL_OP_WRITE] = "write",
	[KPOOL_OP_FSYNC] = "fsync",	[KPOOL_OP_COPY] = "copy",
	[KPOOL_OP_CRC32C] = "crc32c",	[KPOOL_OP_SHA256] = "sha256",
	[KPOOL_OP_CALL] = "call",
};

/*
 * A task the program submitted whose CQE is not reaped yet: its record is
 * armed.  Cancels the library made itself are not the program's.
 */
static int kp_task_leaked(const struct kp_task *t)
{
	return kp_load(&t->armed) &&
	       __atomic_load_n(&t->kind, __ATOMIC_RELAXED) != KP_CONTROL;
}

static void kp_report_tasks(const struct kp_census *c)
{
	const struct kpool_pool *pool = c->pool;
	const struct kp_task *t;
	const char *how, *name;
	char number[4];
	uint32_t i;
	uint8_t op;

	for (i = 0; i < pool->entries; i++) {
		t = &pool->tasks[i];
		if (!kp_task_leaked(t))
			continue;
		op = __atomic_load_n(&t->op, __ATOMIC_RELAXED);
		name = op < KPOOL_OP_LAST ? kp_op_names[op] : NULL;
		if (!name) {	/* an op newer than this library */
			snprintf(number, sizeof(number), "%u", op);
			name = number;
		}
		how = t->kind == KP_FUTURE ? "future" :
		      t->fn ? "callback" : "no callback";
		fprintf(stderr,
			"kpool leak: pool #%llu fd %d: task 0x%016llx op %s, %s, still in flight\n",
			(unsigned long long)c->serial, c->fd,
			(unsigned long long)kp_task_id(t, i), name, how);
	}
}

static void kp_report(const struct kp_census *c)
{
	const struct kpool_pool *pool = c->pool;
	uint32_t futures = kp_load(&c->refs) - (uint32_t)c->pool_ref;
	unsigned int i, tasks = 0;

	if (pool) {
		for (i = 0; i < pool->entries; i++)
			tasks += kp_task_leaked(&pool->tasks[i]);
		fprintf(stderr,
			"kpool leak: pool #%llu fd %d never destroyed: capacity %u, %u task%s in flight\n",
			(unsigned long long)c->serial, c->fd,
			kp_load(&pool->limit) - kp_load(&pool->queue_size),
			tasks,
			tasks == 1 ? "" : "s");
		kp_report_tasks(c);
	}
	if (futures)
		fprintf(stderr,
			"kpool leak: pool #%llu fd %d%s: %u future%s never released\n",
			(unsigned long long)c->serial, c->fd,
			pool ? "" : " (destroyed)", futures,
			futures == 1 ? "" : "s");
}

/*
 * At exit, with KPOOL_LEAK_CHECK set (and not "0"): one line on stderr
 * per pool never destroyed, per task of it still in flight, and per pool
 * (destroyed or not) with futures never released; nothing if all was
 * given back.  The variable is read here, once, so a program may set it
 * as late as just before exit.  Only pools this process created count:
 * a forked child does not report its parent's.
 */
static void __attribute__((destructor)) kp_leak_report(void)
{
	const char *want = getenv("KPOOL_LEAK_CHECK");
	const struct kp_census *c, *last = NULL;
	pid_t self = getpid();

	if (!want || !*want || !strcmp(want, "0"))
		return;
	pthread_mutex_lock(&kp_census_lock);
	/* Oldest first: the list is newest first. */
	for (c = kp_census_head; c; c = c->next)
		last = c;
	for (c = last; c; c = c->prev)
		if (c->pid == self)
			kp_report(c);
	pthread_mutex_unlock(&kp_census_lock);
}
