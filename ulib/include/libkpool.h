/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * libkpool: the ring layer, a thin liburing-like API over /dev/kpool.
 *
 *	struct kpool_ring ring;
 *	struct kpool_cqe *cqe;
 *
 *	kpool_ring_open(&ring, 64, NULL);
 *	kpool_prep_nop(kpool_get_sqe(&ring));
 *	kpool_submit_and_wait(&ring, 1);
 *	kpool_peek_cqe(&ring, &cqe);
 *	... cqe->res, cqe->user_data ...
 *	kpool_cqe_seen(&ring, cqe);
 *	kpool_ring_close(&ring);
 *
 * Every call returns 0 (or a count) on success and a negative errno on
 * failure; errno itself is not used.  A ring is not thread-safe: one
 * thread may produce SQEs and another consume CQEs at the same time, but
 * two producers (or two consumers) need a lock of their own.
 *
 * Memory ordering follows the uapi header: the shared indices are read
 * with __atomic load-acquire and written with __atomic store-release
 * (GCC/Clang builtins on the plain __u32 fields the kernel shares).
 */
#ifndef LIBKPOOL_H
#define LIBKPOOL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/kpool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kpool_sq {
	__u32 *ktail;			/* shared: the program's SQ tail */
	const __u32 *khead;		/* shared: the module's SQ head */
	struct kpool_sqe *sqes;
	__u32 sqe_tail;			/* local: SQEs handed out by get_sqe */
	__u32 mask;
	__u32 entries;
};

struct kpool_cq {
	__u32 *khead;			/* shared: the program's CQ head */
	const __u32 *ktail;		/* shared: the module's CQ tail */
	struct kpool_cqe *cqes;		/* read-only to the program */
	__u32 mask;
	__u32 entries;
};

struct kpool_ring {
	struct kpool_sq sq;
	struct kpool_cq cq;
	int fd;
	__u32 features;			/* KPOOL_FEAT_* from SETUP */
	__u32 capacity;			/* from SETUP */
	__u32 max_waiting;		/* from SETUP */
	void *map_sq_ring;
	void *map_sqes;
	void *map_cq_ring;
	size_t size_sq_ring;
	size_t size_sqes;
	size_t size_cq_ring;
	void *arena;			/* the data arena, mapped; or NULL */
	size_t arena_size;
	int owns_fd;
	const __u32 *kflags;		/* shared: KPOOL_RING_*; or NULL */
	const __u32 *kworkers;		/* shared: KPOOL_WORKER_* per slot,
					 * KPOOL_POOL_WORKERS of them; or NULL
					 * (no KPOOL_FEAT_CALL) */
};

struct kpool_ring_params {
	__u32 cq_entries;		/* 0: twice the SQ */
	__u32 flags;			/* KPOOL_SETUP_* */
	__u32 capacity;			/* 0: the SQ size */
	__u32 max_waiting;		/* 0: cq_entries */
	__u64 arena_size;		/* bytes of data memory; 0: none */
};

/*
 * Set up the pool of an open /dev/kpool file @fd with @entries SQ slots
 * (a power of two) and map its rings.  @params may be NULL.  The ring does
 * not own @fd: kpool_ring_exit() leaves it open.
 * Errors: the SETUP ioctl's (EINVAL, E2BIG, EBUSY, ENOMEM), mmap's.
 */
int kpool_ring_init(struct kpool_ring *ring, int fd, unsigned int entries,
		    const struct kpool_ring_params *params);

/* Open /dev/kpool and kpool_ring_init() it; the ring owns the fd. */
int kpool_ring_open(struct kpool_ring *ring, unsigned int entries,
		    const struct kpool_ring_params *params);

/* Unmap the rings; close the fd if the ring opened it. */
void kpool_ring_exit(struct kpool_ring *ring);
static inline void kpool_ring_close(struct kpool_ring *ring)
{
	kpool_ring_exit(ring);
}

/*
 * Publish the SQEs taken with kpool_get_sqe() and submit them; returns how
 * many the module took (>= 0), or a negative errno (EBUSY: the CQ has no
 * room; reap CQEs first).
 */
int kpool_submit(struct kpool_ring *ring);

/* Submit, then wait until at least @wait_nr CQEs are ready. */
int kpool_submit_and_wait(struct kpool_ring *ring, unsigned int wait_nr);

/*
 * Wait for a CQE (forever, or at most @timeout_ns); on success *cqe_ptr
 * points at it and stays valid until kpool_cqe_seen().
 * Errors: ETIME (timed out), EINTR (signal).
 */
int kpool_wait_cqe(struct kpool_ring *ring, struct kpool_cqe **cqe_ptr);
int kpool_wait_cqe_timeout(struct kpool_ring *ring,
			   struct kpool_cqe **cqe_ptr, uint64_t timeout_ns);

/* The raw ENTER ioctl; returns 0 or a negative errno, *submitted if set. */
int kpool_enter(int fd, unsigned int to_submit, unsigned int min_complete,
		unsigned int flags, uint64_t timeout_ns, unsigned int *submitted);

/* Which ops the running module has (PROBE); @ops may be NULL. */
int kpool_probe_ops(int fd, struct kpool_probe_op *ops, unsigned int ops_len,
		    unsigned int *last_op);

/* The pool's settings as SETUP (or a later TUNE) left them. */
int kpool_get_capacity(const struct kpool_ring *ring, unsigned int *capacity,
		       unsigned int *max_waiting);

/*
 * Change how many tasks may run at once (TUNE); *prev (if set) gets the
 * old value.  Errors: EINVAL (0 or above max_capacity).
 */
int kpool_tune(struct kpool_ring *ring, unsigned int capacity,
	       unsigned int *prev);

/*
 * Change how many tasks may wait for a slot (TUNE, KPOOL_TUNE_MAX_WAITING):
 * 0 .. the CQ's entries; *prev (if set) gets the old bound.  Tasks
 * already waiting stay when it is lowered.  Errors: EINVAL.
 */
int kpool_tune_max_waiting(struct kpool_ring *ring, unsigned int max_waiting,
			   unsigned int *prev);

/*
 * Stop taking work and wait until every task taken has completed (DRAIN),
 * forever or at most @timeout_ns.  0 when drained; ETIME, EINTR.
 */
int kpool_drain(struct kpool_ring *ring);
int kpool_drain_timeout(struct kpool_ring *ring, uint64_t timeout_ns);

/*
 * Read the pool's counters (STATS), all from one instant: @total (may be
 * NULL) and up to @nr_ops per-op counters into @ops (may be NULL).
 */
int kpool_read_stats(struct kpool_ring *ring, struct kpool_counters *total,
		     struct kpool_counters *ops, unsigned int nr_ops);

/*
 * The @q-quantile (@q in [0, 1]: 0.5 the median, 0.99 the 99th
 * percentile) of a latency histogram of struct kpool_counters (wait_hist
 * or run_hist), in ns: the upper bound of the bucket that holds the
 * ceil(@q x total)-th shortest time (the first, for @q 0).  Bucket i
 * holds times in [2^i, 2^(i+1)) ns, so the answer is 2^(i+1): an upper
 * bound, at most twice the true quantile (factor-of-2 resolution).  The
 * last bucket has no upper bound (every time from 2^39 ns, about 9
 * minutes, on): UINT64_MAX.  0 for an empty histogram.  @q below 0 (or
 * NaN) counts as 0, above 1 as 1.  Pure: no syscall, any thread.
 *
 *	kpool_read_stats(ring, &c, NULL, 0);
 *	p99 = kpool_hist_percentile(c.run_hist, 0.99);
 */
uint64_t kpool_hist_percentile(const __u64 hist[KPOOL_HIST_BUCKETS],
			       double q);

/*
 * Work for the pool as one of its worker threads (KPOOL_IOC_WORK,
 * KPOOL_FEAT_CALL): report the previous task if @w says so, then park
 * until the module gives this thread a CALL task of its process, which
 * @w then describes (token, user_data, fn, arg, deadline_ns, slot).
 * Zero *@w once, then set flags (KPOOL_WORK_*), token and res (with
 * KPOOL_WORK_DONE) and timeout_ns (with KPOOL_WORK_TIMEOUT) before each
 * call; the library sets size.
 *
 *	struct kpool_work w = { 0 };
 *
 *	while (!kpool_work(ring, &w)) {
 *		w.res = my_call(w.fn, w.arg);	(the task's result)
 *		w.flags = KPOOL_WORK_DONE;	(w.token names the task)
 *	}
 *
 * The first call makes the thread a worker; KPOOL_WORK_LEAVE (after any
 * report) unregisters it.  A report is taken whatever else the call
 * returns, so after an error clear KPOOL_WORK_DONE before calling again.
 * Unlike the rest of the ring layer, any number of threads may call this
 * at once on one ring: each calling thread is its own worker.
 * Errors: EINTR (a signal; no task given), ETIME (KPOOL_WORK_TIMEOUT
 * passed), ESHUTDOWN (the pool drains and no task waits: leave), EBUSY
 * (KPOOL_POOL_WORKERS workers already, or LEAVE while holding a task),
 * EINVAL (a bad token or flags), EOPNOTSUPP (no KPOOL_FEAT_CALL).
 */
int kpool_work(struct kpool_ring *ring, struct kpool_work *w);

/* The pool's worker threads now, all from one instant (STATS). */
struct kpool_worker_counts {
	unsigned int workers;	/* registered with kpool_work() */
	unsigned int parked;	/* of them, waiting for a task */
	unsigned int busy;	/* of them, holding a task */
	unsigned int blocked;	/* of the busy ones, asleep in the kernel */
};

/* Errors: EBADFD (no SETUP yet). */
int kpool_get_worker_counts(const struct kpool_ring *ring,
			    struct kpool_worker_counts *counts);

/* ---- inline helpers: the hot path makes no call into the library ---- */

static inline __u32 kpool_load_acquire(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void kpool_store_release(__u32 *p, __u32 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* SQ slots free for kpool_get_sqe(). */
static inline unsigned int kpool_sq_space_left(const struct kpool_ring *ring)
{
	return ring->sq.entries -
		(ring->sq.sqe_tail - kpool_load_acquire(ring->sq.khead));
}

/* The next free SQE, zeroed, or NULL if the SQ is full. */
static inline struct kpool_sqe *kpool_get_sqe(struct kpool_ring *ring)
{
	struct kpool_sq *sq = &ring->sq;
	struct kpool_sqe *sqe;

	if (!kpool_sq_space_left(ring))
		return NULL;
	sqe = &sq->sqes[sq->sqe_tail & sq->mask];
	sq->sqe_tail++;
	memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

static inline void kpool_sqe_set_data(struct kpool_sqe *sqe, __u64 data)
{
	sqe->user_data = data;
}

static inline void kpool_prep_nop(struct kpool_sqe *sqe)
{
	sqe->op = KPOOL_OP_NOP;
}

/* Completes with res 0 after @delay_ns nanoseconds, never earlier. */
static inline void kpool_prep_timeout(struct kpool_sqe *sqe, __u64 delay_ns)
{
	sqe->op = KPOOL_OP_TIMEOUT;
	sqe->off = delay_ns;
}

/* The common shape of an SQE: what most prep helpers fill in. */
static inline void kpool_prep_rw(struct kpool_sqe *sqe, __u8 op, int fd,
				 __u64 addr, __u32 len, __u64 off)
{
	sqe->op = op;
	sqe->fd = fd;
	sqe->addr = addr;
	sqe->len = len;
	sqe->off = off;
}

/* Read @len bytes of @fd at @offset into the arena at @arena_off. */
static inline void kpool_prep_read(struct kpool_sqe *sqe, int fd,
				   __u64 arena_off, __u32 len, __u64 offset)
{
	kpool_prep_rw(sqe, KPOOL_OP_READ, fd, arena_off, len, offset);
}

/* Write @len bytes from the arena at @arena_off to @fd at @offset. */
static inline void kpool_prep_write(struct kpool_sqe *sqe, int fd,
				    __u64 arena_off, __u32 len, __u64 offset)
{
	kpool_prep_rw(sqe, KPOOL_OP_WRITE, fd, arena_off, len, offset);
}

/* fsync(fd), or fdatasync(fd) with @flags KPOOL_FSYNC_DATASYNC. */
static inline void kpool_prep_fsync(struct kpool_sqe *sqe, int fd,
				    __u32 flags)
{
	sqe->op = KPOOL_OP_FSYNC;
	sqe->fd = fd;
	sqe->op_flags = flags;
}

/* memmove(arena + @dst, arena + @src, @len). */
static inline void kpool_prep_copy(struct kpool_sqe *sqe, __u64 dst,
				   __u64 src, __u32 len)
{
	kpool_prep_rw(sqe, KPOOL_OP_COPY, 0, src, len, dst);
}

/* CRC32C of an arena range, continuing from @seed (0 to start): CQE aux. */
static inline void kpool_prep_crc32c(struct kpool_sqe *sqe, __u64 arena_off,
				     __u32 len, __u32 seed)
{
	kpool_prep_rw(sqe, KPOOL_OP_CRC32C, 0, arena_off, len, seed);
}

/*
 * SHA-256 of an arena range into the struct kpool_sha256_ctx at @ctx_off;
 * @flags: KPOOL_SHA256_INIT to start, KPOOL_SHA256_FINAL to finish.
 */
static inline void kpool_prep_sha256(struct kpool_sqe *sqe, __u64 arena_off,
				     __u32 len, __u64 ctx_off, __u32 flags)
{
	kpool_prep_rw(sqe, KPOOL_OP_SHA256, 0, arena_off, len, ctx_off);
	sqe->op_flags = flags;
}

/* Cancel the task whose user_data is @target. */
static inline void kpool_prep_cancel(struct kpool_sqe *sqe, __u64 target)
{
	sqe->op = KPOOL_OP_CANCEL;
	sqe->addr = target;
}

/* Cancel every task of the pool; res is how many. */
static inline void kpool_prep_cancel_all(struct kpool_sqe *sqe)
{
	sqe->op = KPOOL_OP_CANCEL;
	sqe->op_flags = KPOOL_CANCEL_ALL;
}

/* Keep a CPU busy for @ns nanoseconds (tests and benchmarks). */
static inline void kpool_prep_burn(struct kpool_sqe *sqe, __u64 ns)
{
	sqe->op = KPOOL_OP_BURN;
	sqe->off = ns;
}

/*
 * Run a function of the program (KPOOL_FEAT_CALL): a worker thread parked
 * in kpool_work() receives @fn and @arg and runs it; res is what the
 * worker reports.  With the pool layer (<kpool_pool.h>) @fn must be a
 * kpool_fn_t and @arg its argument, both cast to integers.
 */
static inline void kpool_prep_call(struct kpool_sqe *sqe, __u64 fn, __u64 arg)
{
	sqe->op = KPOOL_OP_CALL;
	sqe->addr = fn;
	sqe->off = arg;
}

/* KPOOL_PRIO_NORMAL or KPOOL_PRIO_HIGH. */
static inline void kpool_sqe_set_prio(struct kpool_sqe *sqe, __u8 prio)
{
	sqe->prio = prio;
}

/* The task must start within @ns of submission, else -ETIME. */
static inline void kpool_sqe_set_deadline(struct kpool_sqe *sqe, __u64 ns)
{
	sqe->deadline_ns = ns;
}

/*
 * Run the task on a kernel worker even if it could run inline in the
 * submitting call (KPOOL_FEAT_INLINE): io_uring's IOSQE_ASYNC.
 */
static inline void kpool_sqe_set_async(struct kpool_sqe *sqe)
{
	sqe->flags |= KPOOL_SQE_ASYNC;
}

/*
 * Chain the next SQE to this one (KPOOL_FEAT_LINK): it starts only after
 * this task succeeds, else completes with -ECANCELED (io_uring's
 * IOSQE_IO_LINK).  Submit a chain in one kpool_submit() call: a chain
 * ends at the last SQE a call takes.
 */
static inline void kpool_sqe_set_link(struct kpool_sqe *sqe)
{
	sqe->flags |= KPOOL_SQE_LINK;
}

/* Run the task on CPU @cpu (one the caller may run on). */
static inline void kpool_sqe_set_cpu(struct kpool_sqe *sqe, __u32 cpu)
{
	sqe->flags |= KPOOL_SQE_CPU;
	sqe->cpu = cpu;
}

/* Run the task on any CPU the caller may use (long or blocking work). */
static inline void kpool_sqe_set_unbound(struct kpool_sqe *sqe)
{
	sqe->flags |= KPOOL_SQE_UNBOUND;
}

/*
 * Do file tasks of the pool wait for a thread of their process to enter
 * the module (KPOOL_RING_OWNER_WORK)?  Then kpool_enter(fd, 0, 0, 0, 0,
 * NULL) runs them.  An event loop checks this when the pool's fd is readable.
 */
static inline int kpool_ring_needs_enter(const struct kpool_ring *ring)
{
	return ring->kflags &&
		(__atomic_load_n(ring->kflags, __ATOMIC_RELAXED) &
		 KPOOL_RING_OWNER_WORK);
}

/*
 * Was the task the worker in @slot (kpool_work.slot) runs cancelled while
 * it ran (KPOOL_WORKER_CANCEL)?  A long function polls this to stop
 * early.  Meaningful only while that worker holds a task: the module
 * clears the word when it gives the worker its next one.  0 without
 * KPOOL_FEAT_CALL.
 */
static inline int kpool_worker_cancelled(const struct kpool_ring *ring,
					 unsigned int slot)
{
	return ring->kworkers && slot < KPOOL_POOL_WORKERS &&
		(kpool_load_acquire(&ring->kworkers[slot]) &
		 KPOOL_WORKER_CANCEL);
}

/* CQEs ready to be read. */
static inline unsigned int kpool_cq_ready(const struct kpool_ring *ring)
{
	return kpool_load_acquire(ring->cq.ktail) - *ring->cq.khead;
}

/* The next CQE if one is ready: 0, else -EAGAIN. */
static inline int kpool_peek_cqe(struct kpool_ring *ring,
				 struct kpool_cqe **cqe_ptr)
{
	struct kpool_cq *cq = &ring->cq;
	__u32 head = *cq->khead;

	if (kpool_load_acquire(cq->ktail) == head)
		return -EAGAIN;
	*cqe_ptr = &cq->cqes[head & cq->mask];
	return 0;
}

/* Hand @n CQEs back to the module. */
static inline void kpool_cq_advance(struct kpool_ring *ring, unsigned int n)
{
	kpool_store_release(ring->cq.khead, *ring->cq.khead + n);
}

static inline void kpool_cqe_seen(struct kpool_ring *ring,
				  struct kpool_cqe *cqe)
{
	(void)cqe;
	kpool_cq_advance(ring, 1);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBKPOOL_H */
