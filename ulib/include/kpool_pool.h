/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * libkpool: the pool layer.  A task pool in the manner of Go's ants and
 * pond, run by the kpool module, safe to use from any number of threads.
 *
 *	static void done(void *arg, struct kpool_result r) { ... r.res ... }
 *
 *	struct kpool_pool *pool;
 *	struct kpool_sqe sqe = { 0 };
 *
 *	kpool_pool_create(&pool, NULL);		(defaults: CPUs, blocking)
 *	kpool_prep_nop(&sqe);			(any prep helper of libkpool.h)
 *	kpool_pool_submit(pool, &sqe, done, arg, NULL);
 *	...
 *	kpool_pool_destroy(pool);		(waits for every callback)
 *
 * Each task submitted successfully is completed exactly once: its callback
 * runs once, or its future becomes ready once, with the task's result,
 * which may be an error (-ECANCELED, -ETIME, ...).  A submit that fails
 * leaves no task behind.  Every call returns 0 (or a count) or a negative
 * errno; errno itself is not used.
 *
 * Threads.  Every call may be made from any thread at the same time,
 * kpool_pool_destroy() included (see "Handles").  Callbacks run on the
 * pool's completion threads, or, in event-loop mode, in
 * kpool_pool_process().
 * The program's own functions (kpool_pool_submit_fn()) run on the pool's
 * worker threads, in every mode; a function's future is readied by the
 * worker that ran it, right after it returns, with no other thread woken,
 * and so is its callback with KPOOL_POOL_WORKER_CALLBACKS.
 *
 * The rule for callbacks.  A callback may submit, cancel and read stats.
 * The task's own slot stays its callback's until the callback returns:
 * the callback's first submit takes it, whatever other threads wait for
 * room, so a callback can always resubmit into the slot it leaves
 * (capacity 1 included); unused, it is freed on return.  But a
 * submit from a callback never waits for room, even in a blocking pool:
 * room is made by the completion threads, and the callback is holding
 * one, so waiting could wait forever.  It fails with -EAGAIN instead.  A
 * callback must not wait on a future, drain, or destroy its own pool.
 *
 * Closing.  kpool_pool_shutdown() closes a pool while other threads still
 * use it: every submit from then on fails with -ESHUTDOWN (Go's
 * ErrPoolClosed), and the tasks already taken complete.
 * kpool_pool_destroy() may race any call too (see "Handles").
 *
 * Handles.  A struct kpool_pool * is checked before it is used: each call
 * looks the pointer up in the process's registry of live pools (liburcu's
 * RCU hash table, urcu-bp flavour: no thread has to register) and never
 * reads the memory it points to unless it is a live pool.  So a call on a
 * pool that is destroyed, being destroyed, or never was one fails with
 * -EBADF (kpool_pool_arena(): NULL), and kpool_pool_destroy() of such a
 * handle does nothing.  A call that began before the destroy runs on: the
 * destroy wakes it if it waits (submits fail with -ESHUTDOWN, idle waits
 * and drains return), then waits for it to return before it frees the
 * pool.  One limit: a later kpool_pool_create() may be given the same
 * address, and a stale handle then reaches the new pool.  The check costs
 * each call 190 (static linking) to 300 (libkpool.so) instructions, 12 to
 * 31 ns where measured (docs/library.md, "Where liburcu is used and where
 * not").  Futures are not checked: a future must not be used once
 * released, as with free().
 */
#ifndef KPOOL_POOL_H
#define KPOOL_POOL_H

#include <stddef.h>
#include <stdint.h>
#include "libkpool.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kpool_pool;
struct kpool_future;

/* What a task returned: its CQE's res (>= 0, or -errno) and aux. */
struct kpool_result {
	int32_t res;
	uint32_t aux;
};

typedef void (*kpool_callback_t)(void *arg, struct kpool_result result);

/* Submits that find the pool full fail with -EAGAIN instead of waiting. */
#define KPOOL_POOL_NONBLOCKING	0x00000001U
/*
 * No completion threads: the program polls kpool_pool_fd() (readable when
 * completions are ready) and calls kpool_pool_process(), which runs the
 * callbacks in its own thread.  Submits never wait for room (they could
 * only wait on the program itself): the pool is non-blocking.
 */
#define KPOOL_POOL_EVENT_LOOP	0x00000002U
/*
 * A function's callback runs on the worker thread that ran the function,
 * right after it returns, instead of on a completion thread: one thread
 * hop and one wakeup less per function, but callbacks of functions may
 * then run at the same time on several workers (with one completion
 * thread they never do).  Ignored in event-loop mode.
 */
#define KPOOL_POOL_WORKER_CALLBACKS	0x00000004U

struct kpool_pool_opts {
	unsigned int capacity;		/* tasks running at once, >= 1 */
	unsigned int max_capacity;	/* highest kpool_pool_tune(); 0: capacity */
	unsigned int queue_size;	/* tasks waiting for a slot, may be 0 */
	unsigned int flags;		/* KPOOL_POOL_* */
	unsigned int completion_threads; /* ignored with EVENT_LOOP */
	uint8_t default_prio;		/* KPOOL_PRIO_*, see submit */
	size_t arena_size;		/* data memory for the data ops */
};

/*
 * The defaults: capacity the number of online CPUs (at most 1024),
 * max_capacity 0 (whatever capacity is then set to), queue_size 4 x the
 * default capacity, blocking submits, one
 * completion thread, normal priority, no arena.
 */
void kpool_pool_opts_default(struct kpool_pool_opts *opts);

/*
 * Open /dev/kpool and start a pool with @opts (NULL: the defaults).
 * capacity + max_capacity + queue_size decide the ring sizes, which the
 * module bounds (its max_entries and max_capacity parameters).
 * Errors: EINVAL (an option out of range: completion_threads must be 1 to
 * 64 unless KPOOL_POOL_EVENT_LOOP), ENOMEM, EAGAIN (a thread could not be
 * started), and open()'s and the SETUP ioctl's (ENOENT: the module is not
 * loaded; EACCES: not allowed to open /dev/kpool).
 */
int kpool_pool_create(struct kpool_pool **poolp,
		      const struct kpool_pool_opts *opts);

/*
 * Submit one task described by @sqe (filled with a kpool_prep_* helper;
 * the library owns user_data, so its value is ignored).  @sqe is copied:
 * it may be reused at once.  The task runs with priority
 * max(sqe->prio, default_prio).  When it completes, @fn(@arg, result)
 * runs on a completion thread; @fn may be NULL.  *@id (if @id is set)
 * gets the task's id for kpool_pool_cancel().
 *
 * A full pool (capacity running and queue_size waiting) makes the submit
 * wait for room, or fail with -EAGAIN if the pool is non-blocking or the
 * caller is a callback.
 * Errors: EAGAIN (full; or, for the first kpool_prep_call() SQE, no thread
 * could be started for it), ESHUTDOWN (the pool is closed), EINVAL (a
 * CANCEL sqe: use kpool_pool_cancel(); or KPOOL_SQE_LINK: chains are the
 * ring API's, since the pool's submitters share one ring), EOPNOTSUPP (a
 * kpool_prep_call() SQE and a module without KPOOL_FEAT_CALL), ENOMEM.  A
 * task the module refuses (bad op, bad fd, ...) is submitted: its
 * callback reports the error.
 */
int kpool_pool_submit(struct kpool_pool *pool, const struct kpool_sqe *sqe,
		      kpool_callback_t fn, void *arg, uint64_t *id);

/*
 * As kpool_pool_submit(), but a full blocking pool makes it wait for room
 * at most @timeout_ns (ants' blocking pool with a limit, pond's
 * TrySubmit for 0):
 *   KPOOL_WAIT_FOREVER  wait as long as it takes: kpool_pool_submit()
 *   0                   never wait: a full pool fails with -EAGAIN at once
 *   otherwise           -ETIME if the pool is still full when the time has
 *                       passed (room made by then lets the task in)
 * Where kpool_pool_submit() would not wait (KPOOL_POOL_NONBLOCKING,
 * event-loop mode, a callback or function of the pool) this does not
 * either, whatever @timeout_ns: -EAGAIN when full.  A pool closed while
 * the submit waits wakes it: -ESHUTDOWN, at once.  Signals do not end the
 * wait: a handler runs, and the wait goes on to the same deadline (so
 * does kpool_pool_submit()'s, forever).  The clock is read only when the
 * submit has to wait.  A submit that waited counts in the library's
 * waited, one that failed full (-EAGAIN or -ETIME) in its full.
 * Errors: EAGAIN, ETIME, and kpool_pool_submit()'s.
 */
int kpool_pool_submit_timeout(struct kpool_pool *pool,
			      const struct kpool_sqe *sqe, kpool_callback_t fn,
			      void *arg, uint64_t timeout_ns, uint64_t *id);

/*
 * Submit @n tasks at once, in order, with one ioctl where the pool has
 * room: task i is @sqes[i], and its callback gets @args[i] (@args may be
 * NULL), its id goes to @ids[i] (@ids may be NULL).  Stops at the first
 * task that cannot be taken (a full pool that may not wait, a closed
 * pool, a CANCEL or KPOOL_SQE_LINK sqe); a blocking pool publishes the tasks it has taken,
 * then waits for room.  Returns how many were taken (1 .. n), or with
 * none taken the reason (-EAGAIN, -ESHUTDOWN, -EINVAL); 0 for n == 0.
 */
int kpool_pool_submit_batch(struct kpool_pool *pool,
			    const struct kpool_sqe *sqes, unsigned int n,
			    kpool_callback_t fn, void *const *args,
			    uint64_t *ids);

/*
 * As kpool_pool_submit(), but the result goes to a future, *@futurep,
 * which the program waits on and must release with kpool_future_release().
 */
int kpool_pool_submit_future(struct kpool_pool *pool,
			     const struct kpool_sqe *sqe,
			     struct kpool_future **futurep);

/*
 * Wait until the task of @future has completed, forever (@timeout_ns
 * KPOOL_WAIT_FOREVER) or at most @timeout_ns (0 only checks); then
 * *@result (if set) gets its result.  May be called again, from any
 * thread, until the future is released.  In event-loop mode the wait
 * runs the pool's completions itself (their callbacks included), as
 * kpool_pool_process() does, so a single-threaded program can wait.
 * Errors: ETIME (not completed in time).
 */
#define KPOOL_WAIT_FOREVER	UINT64_MAX
int kpool_future_wait(struct kpool_future *future, uint64_t timeout_ns,
		      struct kpool_result *result);

/*
 * Wait until one of @futures[0 .. @n - 1] has completed, forever
 * (KPOOL_WAIT_FOREVER) or at most @timeout_ns (0 only checks); then
 * *@index (if set) gets its index: the lowest among those found ready.
 * Nothing is consumed: each future stays waitable (kpool_future_wait()
 * then gives its result) until released.  The futures may come from
 * different pools, in any mode: the completions of their event-loop
 * pools run here, as in kpool_future_wait(); a pool destroyed during
 * the wait completes its futures, which ends the wait.  Any thread, with
 * kpool_future_wait()'s rule: not from a callback or function of a
 * future's pool.  While a wait sleeps, every future readied in the
 * process wakes it to look (one futex wake per future; none while nobody
 * waits).  Signals do not end the wait.
 * Errors: EINVAL (@futures NULL, @n 0, or a NULL entry), ETIME (none
 * completed in time), ENOMEM (no memory for the list of fds to poll,
 * needed with more than 8 futures of event-loop pools).
 */
int kpool_future_wait_any(struct kpool_future *const *futures, unsigned int n,
			  uint64_t timeout_ns, unsigned int *index);

/* The task id of @future, for kpool_pool_cancel(). */
uint64_t kpool_future_id(const struct kpool_future *future);

/*
 * Give @future back.  A future released before its task completed is
 * freed when the task completes.
 */
void kpool_future_release(struct kpool_future *future);

/* ---- the program's own functions (KPOOL_FEAT_CALL) ---- */

/*
 * A function for the pool to run: what it returns is its task's result
 * (>= 0, or a negative errno, by the convention of every task).
 */
typedef int (*kpool_fn_t)(void *arg);

struct kpool_fn_opts {
	uint8_t prio;			/* KPOOL_PRIO_*; default_prio at least */
	uint64_t deadline_ns;		/* must start within it; 0: none */
	kpool_callback_t done;		/* run with the result; may be NULL */
	void *done_arg;
};

/*
 * Run @fn(@arg) as a task of the pool, in one of the pool's worker
 * threads.  It is a task like any other: capacity, queue_size, blocking
 * or not, priority, ids, cancel, drain, shutdown and the module's counters
 * (op KPOOL_OP_CALL) all apply.  @opts may be NULL: default priority, no
 * deadline, no callback.  When the task completes, opts->done(
 * opts->done_arg, result) runs like any callback, on a completion thread
 * (or in kpool_pool_process()); with KPOOL_POOL_WORKER_CALLBACKS, on the
 * worker thread that ran @fn, right after it, unless the task ended
 * without its worker (cancelled while waiting, past its deadline, its
 * thread gone).
 * result.res is what @fn returned, or:
 *   -ECANCELED   cancelled while waiting; or cancelled while it ran, and
 *                @fn returned >= 0
 *   -ETIME       its deadline passed before it started (it never ran)
 *   -EOWNERDEAD  its worker thread exited inside @fn
 * and result.aux is 0.  A running function is never interrupted: cancel
 * and the deadline only show in kpool_task_cancelled(), which a long
 * function polls.  *@id (if @id is set) gets the task's id.
 *
 * Capacity counts the functions that can run: while a function's thread
 * sleeps in the kernel (a syscall that waits, a page fault, a lock), the
 * module lends its slot to the next waiting task, so a pool of capacity
 * N keeps N functions runnable, not N in progress.  Only as many
 * functions as there are worker threads are in progress at once, and a
 * waiting function at the head of the queue with no parked worker holds
 * back the tasks behind it until one parks.
 *
 * Worker threads.  The first submit of a function starts the pool's
 * worker threads: min_workers of them (one at least; see
 * kpool_pool_set_worker_limits()).  From then on, whenever a worker takes
 * a function (or one is submitted) and no other worker is parked, one
 * more is started, up to max_workers (default KPOOL_POOL_WORKERS, 64):
 * so functions that never sleep keep capacity + 1 threads, and each
 * function asleep in the kernel adds one, whose slot it runs.  A worker
 * above min_workers that stays parked for idle_timeout (default 5 s)
 * leaves.  They run with every signal blocked but those a
 * fault raises (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), so
 * they take none of the program's (and a function's write to a broken
 * pipe fails with EPIPE without SIGPIPE), and the rest end in
 * kpool_pool_shutdown() (or destroy).  Each inherits the CPU affinity and
 * scheduling policy of the thread that starts it: a submitter, another
 * worker, or the caller of kpool_pool_set_worker_limits().  kpool_pool_submit() of an SQE
 * made with kpool_prep_call(sqe, (uintptr_t)fn, (uintptr_t)arg) is the
 * same task.
 *
 * The rules for functions are the callbacks': a function may submit,
 * cancel, tune and read stats, but a submit from a function never waits
 * for room (-EAGAIN when full: room is made by tasks that complete, and
 * functions waiting for it would not),
 * drain and shutdown of its own pool fail with -EDEADLK, and it must not
 * wait on a future of its pool nor destroy it.  It must return: not end
 * its thread (pthread_exit()) nor longjmp() out.
 *
 * Any thread may call this, as kpool_pool_submit().  Errors: EOPNOTSUPP
 * (the module lacks KPOOL_FEAT_CALL), EINVAL (@fn NULL, prio above
 * KPOOL_PRIO_HIGH), the first call's pthread_create() errors if no worker
 * thread could be started (EAGAIN), and kpool_pool_submit()'s.
 */
int kpool_pool_submit_fn(struct kpool_pool *pool, kpool_fn_t fn, void *arg,
			 const struct kpool_fn_opts *opts, uint64_t *id);

/*
 * As kpool_pool_submit_fn(), waiting for room at most @timeout_ns, as
 * kpool_pool_submit_timeout() does (0: never; KPOOL_WAIT_FOREVER: as
 * long as it takes).  Errors: EAGAIN, ETIME, and kpool_pool_submit_fn()'s.
 */
int kpool_pool_submit_fn_timeout(struct kpool_pool *pool, kpool_fn_t fn,
				 void *arg, const struct kpool_fn_opts *opts,
				 uint64_t timeout_ns, uint64_t *id);

/*
 * As kpool_pool_submit_fn(), but the result goes to a future, as with
 * kpool_pool_submit_future(); @opts (may be NULL) gives prio and
 * deadline_ns, and its done must be NULL (else EINVAL).
 */
int kpool_pool_submit_fn_future(struct kpool_pool *pool, kpool_fn_t fn,
				void *arg, const struct kpool_fn_opts *opts,
				struct kpool_future **futurep);

/*
 * Submit @n functions at once, as kpool_pool_submit_batch() does: task i
 * runs @fns[i](@args[i]) (@args may be NULL: every argument NULL), its id
 * goes to @ids[i] (@ids may be NULL); @opts (may be NULL) applies to every
 * task, and every task's callback gets the same opts->done_arg (a
 * function that needs its own result seen stores it in its argument).
 * Stops at the first task that cannot be taken (a full pool that may not
 * wait, a closed pool, @fns[i] NULL).  Returns how many were taken (1 ..
 * n), or with none taken the reason; 0 for n == 0.
 */
int kpool_pool_submit_fn_batch(struct kpool_pool *pool, const kpool_fn_t *fns,
			       void *const *args, unsigned int n,
			       const struct kpool_fn_opts *opts, uint64_t *ids);

/*
 * A fixed set of @n worker threads (1 .. KPOOL_POOL_WORKERS), all started
 * by the first submit of a function, none started later, none leaving
 * before shutdown: kpool_pool_set_worker_limits(@n, @n, 0), but only
 * before the workers start.  Any thread.  Errors: EINVAL, EBUSY (the
 * workers are started), ESHUTDOWN, EOPNOTSUPP (no KPOOL_FEAT_CALL).
 */
int kpool_pool_set_workers(struct kpool_pool *pool, unsigned int n);

/*
 * How many worker threads the pool keeps: @min_workers started now and
 * kept (pre-warmed; 0 is allowed: the first function starts one), more
 * started as functions need them up to @max_workers (1 ..
 * KPOOL_POOL_WORKERS), and a worker above @min_workers that stays parked
 * for @idle_timeout_ns leaves (0: never).  The defaults are 0, 64 and 5 s.
 * May be called at any time: a worker above a lowered maximum leaves once
 * it finishes its function or its idle timeout passes.  The runnable
 * target (how many functions run and are not asleep) is the pool's
 * capacity (kpool_pool_tune()).  Any thread.  Errors: EINVAL (max 0 or
 * above 64, min above max), ESHUTDOWN, EOPNOTSUPP (no KPOOL_FEAT_CALL),
 * and pthread_create()'s (EAGAIN) when no worker could be started.
 */
int kpool_pool_set_worker_limits(struct kpool_pool *pool,
				 unsigned int min_workers,
				 unsigned int max_workers,
				 uint64_t idle_timeout_ns);

/* The worker threads now (the module's counts) and since create. */
struct kpool_pool_worker_stats {
	unsigned int workers;	/* threads working for the pool */
	unsigned int parked;	/* of them, waiting for a function */
	unsigned int runnable;	/* of them, running a function, not asleep */
	unsigned int blocked;	/* of them, running one, asleep in the kernel */
	unsigned int min_workers, max_workers;
	uint64_t idle_timeout_ns;
	uint64_t started;	/* threads started */
	uint64_t expired;	/* threads that left before shutdown */
};

/*
 * Read them.  All zero but the limits if the module lacks
 * KPOOL_FEAT_CALL.  Any thread.  Errors: the STATS ioctl's.
 */
int kpool_pool_worker_stats(struct kpool_pool *pool,
			    struct kpool_pool_worker_stats *ws);

/*
 * Inside a function a pool runs: -ECANCELED once its task was cancelled
 * (kpool_pool_cancel(), kpool_pool_cancel_all(), shutdown), -ETIME once
 * its deadline (opts.deadline_ns after submission) has passed, else 0;
 * 0 outside such a function.  Cheap (a load of the worker's word in the
 * shared ring, and clock_gettime() if the task has a deadline): a long
 * function polls it and, to stop early, returns what it said, which the
 * task then completes with.
 */
int kpool_task_cancelled(void);

/*
 * Cancel the task @id (from submit or kpool_future_id()).  Asynchronous:
 * a task still waiting completes with -ECANCELED; a running TIMEOUT,
 * BURN, READ, WRITE, COPY, CRC32C or SHA256 stops with -ECANCELED (the
 * data ops between chunks); a running function is told
 * (kpool_task_cancelled()); a running NOP or FSYNC and completed tasks
 * are not affected.  A closed pool still takes cancels (drain with a timeout,
 * then cancel the rest), until shutdown ends its tasks.  Errors:
 * ESHUTDOWN (after shutdown), EAGAIN (too many cancels at once).
 */
int kpool_pool_cancel(struct kpool_pool *pool, uint64_t id);

/* Cancel every task of the pool the same way. */
int kpool_pool_cancel_all(struct kpool_pool *pool);

/*
 * Change how many tasks may run at once, live: 1 .. max_capacity.  The
 * waiting-queue bound stays as it is (kpool_pool_tune_queue()).  *@prev
 * (if set) gets the old capacity.  Errors: EINVAL, ESHUTDOWN.
 */
int kpool_pool_tune(struct kpool_pool *pool, unsigned int capacity,
		    unsigned int *prev);

/*
 * Change how many tasks may wait for a slot, live (ants'
 * TuneMaxBlockingTasks): 0 .. the room the pool's rings have, which is at
 * least the queue_size it was created with (the rings hold max_capacity +
 * queue_size + 16, rounded up to a power of two).  A larger queue lets
 * blocked submitters in at once; a smaller one keeps the tasks already
 * waiting and takes no more until fewer wait.  *@prev (if set) gets the
 * old size.  Any thread, callbacks included.  Errors: EINVAL, ESHUTDOWN.
 */
int kpool_pool_tune_queue(struct kpool_pool *pool, unsigned int queue_size,
			  unsigned int *prev);

struct kpool_pool_counts {
	unsigned int capacity;	/* tasks that may run at once */
	unsigned int running;	/* running now (the module's count) */
	unsigned int waiting;	/* waiting for a slot (the module's count) */
	unsigned int free;	/* capacity - running, or 0 */
	unsigned int inflight;	/* submitted, callback not yet returned */
};

/* The pool's counts, running and waiting from one instant. */
int kpool_pool_counts(struct kpool_pool *pool, struct kpool_pool_counts *c);

/* The library's own counters; each is a count since create. */
struct kpool_pool_lib_stats {
	uint64_t submitted;	/* tasks submitted successfully */
	uint64_t completed;	/* callbacks run and futures readied */
	uint64_t full;		/* submits refused full: EAGAIN, ETIME */
	uint64_t closed;	/* submits that failed with ESHUTDOWN */
	uint64_t waited;	/* submits that waited for room */
	uint64_t enters;	/* submitting ENTER ioctls made */
};

/*
 * The module's counters (@kernel, total over all ops; may be NULL; see
 * struct kpool_counters) and the library's (@lib; may be NULL).
 */
int kpool_pool_stats(struct kpool_pool *pool, struct kpool_counters *kernel,
		     struct kpool_pool_lib_stats *lib);

/*
 * The module's counters per op, all from one instant: @ops[op] for op
 * (KPOOL_OP_*) 0 .. @nr_ops - 1, so a struct kpool_counters
 * ops[KPOOL_OP_LAST] takes them all.  Returns how many were filled with
 * the module's counters: min(@nr_ops, the ops the module counts); the
 * rest, ops an older module lacks, are zeroed (they never ran).  0 for
 * @nr_ops 0.  Tasks the library made itself (its cancels, op CANCEL)
 * count too.  With kpool_hist_percentile() (libkpool.h) the histograms
 * give each op's latencies:
 *
 *	struct kpool_counters ops[KPOOL_OP_LAST];
 *
 *	if (kpool_pool_op_stats(pool, ops, KPOOL_OP_LAST) > KPOOL_OP_CALL)
 *		p99 = kpool_hist_percentile(ops[KPOOL_OP_CALL].run_hist, 0.99);
 *
 * Any thread, callbacks and functions included.  Errors: EINVAL (@ops
 * NULL with @nr_ops > 0), and the STATS ioctl's (EFAULT).
 */
int kpool_pool_op_stats(struct kpool_pool *pool, struct kpool_counters *ops,
			unsigned int nr_ops);

/*
 * Wait until the pool is idle: no task in flight and no callback running
 * (Go's WaitGroup.Wait()), forever (KPOOL_WAIT_FOREVER) or at most
 * @timeout_ns (0 only checks).  It returns 0 at an instant when every
 * task taken until then, before the call or during it, has completed,
 * its callback has returned and its future is ready; so under a steady
 * stream of submits from other threads it may never see one (ETIME).
 * The pool stays open, unlike with drain.  In event-loop mode it runs
 * the completions itself, as drain does.  Signals do not end the wait.
 * Any thread but a callback or function of the pool.  Errors: ETIME,
 * EDEADLK (called from a callback or a function of the pool).
 */
int kpool_pool_wait_idle(struct kpool_pool *pool, uint64_t timeout_ns);

/*
 * Stop taking tasks (submits fail with -ESHUTDOWN) and wait until every
 * task taken has completed and its callback has returned, forever
 * (KPOOL_WAIT_FOREVER) or at most @timeout_ns.  Permanent; may be called
 * again after ETIME to keep waiting.  In event-loop mode it runs the
 * callbacks itself.  The worker threads stay until shutdown.
 * Errors: ETIME, EDEADLK (called from a callback or a function of the
 * pool).
 */
int kpool_pool_drain(struct kpool_pool *pool, uint64_t timeout_ns);

/*
 * Close the pool: submits fail with -ESHUTDOWN from now on, tasks still
 * waiting are cancelled (-ECANCELED), and so are running ones that a
 * cancel stops (see kpool_pool_cancel()); the others finish (a running
 * function is told, and must return); returns when every callback has
 * run and the worker threads, if any, have ended.  Safe while other
 * threads submit; idempotent.
 * Errors: EDEADLK (called from a callback or a function of the pool).
 */
int kpool_pool_shutdown(struct kpool_pool *pool);

/*
 * Shut the pool down and free it: the module's pool, the completion and
 * worker threads, the memory.  Calls from other threads may race it:
 * those that begin once it has begun fail with -EBADF; those already in
 * progress are woken as by kpool_pool_shutdown(), and the memory is freed
 * once they have returned (and after an RCU grace period, so it must not
 * be called inside a read-side section of the program's own urcu-bp).
 * Several destroys of one pool at once free it once; a destroy of a
 * handle that is no live pool does nothing.  Not from a callback or
 * function of the pool: it would wait for itself.  Unreleased futures
 * stay valid until released.
 *
 * The leak check.  With the environment variable KPOOL_LEAK_CHECK set to
 * anything but "" or "0" when the process exits (exit() or a return from
 * main(); _exit() and fatal signals skip it), the library writes to
 * stderr one line per pool of this process never destroyed, per task of
 * such a pool still in flight, and per pool (destroyed or not) with
 * futures never released; nothing if everything was given back.  The
 * lines begin "kpool leak: " (docs/library.md has the format).  It costs
 * nothing per task, and one atomic add per future submitted and released,
 * whether the variable is set or not.
 */
void kpool_pool_destroy(struct kpool_pool *pool);

/* The pool's file: poll it for POLLIN in event-loop mode.  EBADF: no pool. */
int kpool_pool_fd(const struct kpool_pool *pool);

/*
 * Event-loop mode: run the callbacks of up to @max ready completions (0:
 * all ready) in the calling thread; returns how many.  Never blocks.
 * In a pool with completion threads: -EINVAL.
 */
int kpool_pool_process(struct kpool_pool *pool, unsigned int max);

/*
 * Signal @efd (an eventfd, -1 to detach) with a write of 1 each time a
 * completion thread finishes a batch of completions: for programs that
 * poll for futures.  Once a call to detach or replace it returns, the old
 * eventfd is not written again (it may be closed): the call waits an RCU
 * grace period for writes under way, about a microsecond.
 * Errors: EINVAL (event-loop mode: poll the pool fd).
 */
int kpool_pool_set_eventfd(struct kpool_pool *pool, int efd);

/* The data arena (NULL if none, or no live pool) and its size (0 then). */
void *kpool_pool_arena(const struct kpool_pool *pool, size_t *size);

/* ---- task groups ---- */

/*
 * A task group (Go's errgroup, pond's groups): tasks of one pool that the
 * program waits for together, with the first error among them.
 *
 *	struct kpool_group_opts go = { .flags = KPOOL_GROUP_CANCEL_ON_ERROR };
 *	struct kpool_group *g;
 *	struct kpool_result r;
 *
 *	kpool_group_create(&g, pool, &go);
 *	for (i = 0; i < n; i++)
 *		kpool_group_submit_fn(g, work, &jobs[i], NULL);	(index i)
 *	err = kpool_group_wait(g, KPOOL_WAIT_FOREVER);	(0, or the first error)
 *	kpool_group_result(g, 3, &r);			(task 3's result)
 *	kpool_group_destroy(g);
 *
 * A group is made of the pool's calls: each task is an ordinary task of
 * the pool (capacity, queue, blocking or not, priorities and the pool's
 * errors apply unchanged), submitted with a callback of the group's, which
 * records the task's result, then runs the program's own callback (if
 * given) with its argument, as the pool would, and only then counts the
 * task as completed.  So once a wait returns, every callback of the
 * group's tasks has returned.
 *
 * Indexes.  A submit that succeeds returns its task's index in the group
 * (a batch gives its tasks consecutive indexes and says the first): the
 * group's tasks are numbered 0, 1, 2, ... as their submits finish (each
 * takes the next numbers once the pool has taken its tasks), so from one
 * thread in the order of the calls, with no gaps (a submit that fails
 * takes none).  kpool_group_result() reads a task's result by its index
 * until the group is destroyed; so a group keeps a record (under 100
 * bytes) per task until then, and is meant for one piece of work, not
 * for a program's lifetime.
 *
 * The first error is the result of the first task whose completion the
 * group saw with res < 0 (-ECANCELED and -ETIME included).  It stays: every
 * later wait returns it.  A refused submit is the caller's error, not the
 * group's: it records nothing.
 *
 * Submitting and waiting.  Submits may be made at any time, from any
 * thread, the group's own tasks and callbacks included, also while another
 * thread waits.  A wait returns at an instant when no task of the group
 * is in flight and no submit into it is in progress.  So the tasks a
 * callback or function of the group submits into it before returning
 * (fan-out) are always waited for with it; a task another thread submits
 * during a wait is waited for only if its submit began before that
 * instant (as Go asks of Add: submit before the wait, or from the group's
 * tasks).  A group stays usable after a wait: more submits, more waits.
 *
 * Closing.  When the pool is drained or shut down, the group's tasks
 * complete as the pool's do (shutdown: -ECANCELED, or what they returned),
 * so the group's waits return, and later submits fail with the pool's
 * -ESHUTDOWN.  A group must not outlive its pool's use: after
 * kpool_pool_destroy() only kpool_group_result(), kpool_group_counts() and
 * kpool_group_destroy() may be called on it.
 */
struct kpool_group;

/*
 * On the group's first error, cancel its other tasks in flight (as
 * kpool_pool_cancel() does: a waiting task completes with -ECANCELED, a
 * running TIMEOUT, BURN or data op stops with it, a running function is
 * told by kpool_task_cancelled()) and refuse later submits with
 * -ECANCELED (Go's errgroup.WithContext).
 */
#define KPOOL_GROUP_CANCEL_ON_ERROR	0x00000001U
/* deadline_ns is a CLOCK_MONOTONIC time, not a time from create. */
#define KPOOL_GROUP_DEADLINE_ABS	0x00000002U

struct kpool_group_opts {
	unsigned int flags;		/* KPOOL_GROUP_* */
	uint64_t deadline_ns;		/* the group's deadline; 0: none */
};

/*
 * A new, empty group of tasks of @pool.  @opts may be NULL: no flags, no
 * deadline.  The deadline is opts->deadline_ns after this call, or at that
 * CLOCK_MONOTONIC time with KPOOL_GROUP_DEADLINE_ABS (one too far to
 * represent never comes).  Each task submitted then gets the deadline
 * min(its own, the time left until the group's): a task still waiting at
 * the group's deadline completes with -ETIME without running, a running
 * TIMEOUT, BURN or data op stops with -ETIME, a running function sees
 * -ETIME from kpool_task_cancelled(); submits after it fail with -ETIME.
 * A wait does not end at the deadline: it ends when the tasks have.
 * Errors: EINVAL (@groupp or @pool NULL, unknown flags,
 * KPOOL_GROUP_DEADLINE_ABS with deadline_ns 0), ENOMEM.
 */
int kpool_group_create(struct kpool_group **groupp, struct kpool_pool *pool,
		       const struct kpool_group_opts *opts);

/*
 * Submit one task of the pool into the group, as kpool_pool_submit()
 * would (@sqe filled by a kpool_prep_* helper, copied, its deadline_ns
 * bounded by the group's): when it completes, its result is recorded and
 * @done(@done_arg, result) runs, if @done is set.  Returns the task's
 * index (>= 0).  kpool_prep_call() SQEs run functions, as with
 * kpool_pool_submit().
 * Errors: EINVAL (@group or @sqe NULL, a CANCEL or KPOOL_SQE_LINK sqe),
 * ECANCELED (the group
 * is cancelled), ETIME (the group's deadline has passed), EOVERFLOW
 * (INT_MAX tasks), ENOMEM, and kpool_pool_submit()'s (EAGAIN, ESHUTDOWN).
 */
int kpool_group_submit(struct kpool_group *group, const struct kpool_sqe *sqe,
		       kpool_callback_t done, void *done_arg);

/*
 * Submit @n tasks into the group with one kpool_pool_submit_batch(): task
 * i is @sqes[i], its callback @done gets @args[i] (@args may be NULL).
 * Returns how many were taken (1 .. n; it stops where the pool's batch
 * stops), and *@first (if set) gets the index of the first: task i has
 * index *@first + i.  0 for n == 0.  Errors with none taken: EINVAL
 * (@group NULL, @sqes NULL with n > 0), and kpool_group_submit()'s.
 */
int kpool_group_submit_batch(struct kpool_group *group,
			     const struct kpool_sqe *sqes, unsigned int n,
			     kpool_callback_t done, void *const *args,
			     unsigned int *first);

/*
 * Run @fn(@arg) as a task of the group, as kpool_pool_submit_fn() would:
 * @opts (may be NULL) gives prio, deadline_ns (bounded by the group's)
 * and the program's own callback done(done_arg, result), which runs after
 * the group has recorded the result.  Returns the task's index (>= 0).
 * Errors: EINVAL (@group or @fn NULL), kpool_group_submit()'s and
 * kpool_pool_submit_fn()'s (EOPNOTSUPP, ...).
 */
int kpool_group_submit_fn(struct kpool_group *group, kpool_fn_t fn, void *arg,
			  const struct kpool_fn_opts *opts);

/*
 * Wait until no task of the group is in flight (see "Submitting and
 * waiting"), forever (KPOOL_WAIT_FOREVER) or at most @timeout_ns (0 only
 * checks).  Returns 0 if no task failed, else the group's first error;
 * -ETIMEDOUT if tasks were still in flight when the time passed (not
 * -ETIME, which is what a task past its deadline returns): the tasks go
 * on, and a later wait may still succeed.  Any number of threads may wait
 * at once, any number of times.  In event-loop mode the wait runs the
 * pool's completions itself (kpool_pool_process()), polling the pool's
 * fd, so a single-threaded program can wait.  With more tasks to cancel
 * than the pool takes cancels at once, the wait also sends the rest.
 * Signals do not end the wait.  Not from a callback or function of the
 * group's pool: it could wait for itself.
 * Errors: EINVAL (@group NULL), ETIMEDOUT, and the first error.
 */
int kpool_group_wait(struct kpool_group *group, uint64_t timeout_ns);

/*
 * The result of the group's task @index, into *@result, once it has
 * completed (its callback may still be running).  Any thread.
 * Errors: EINVAL (@group or @result NULL), ENOENT (no task has that index
 * yet), EINPROGRESS (the task has not completed).
 */
int kpool_group_result(struct kpool_group *group, unsigned int index,
		       struct kpool_result *result);

/*
 * Cancel the group: every task of it in flight is cancelled as with
 * KPOOL_GROUP_CANCEL_ON_ERROR, and later submits fail with -ECANCELED.
 * Asynchronous, as kpool_pool_cancel() is: wait for the tasks to end.  A
 * pool takes 16 cancels at once; the group sends the rest as earlier ones
 * complete, from its tasks' completions and from kpool_group_wait().
 * Idempotent.  Any thread, callbacks and functions included.
 * Errors: EINVAL (@group NULL).
 */
int kpool_group_cancel(struct kpool_group *group);

struct kpool_group_counts {
	unsigned int submitted;	/* tasks taken: indexes 0 .. submitted - 1 */
	unsigned int completed;	/* of them, with their result recorded */
	unsigned int failed;	/* of them, with res < 0 */
	int first_error;	/* the first error, 0: none */
	int first_failed;	/* its task's index; -1: none (or its submit
				 * has not returned yet) */
	int cancelled;		/* 1: cancelled (an error, or kpool_group_cancel()) */
};

/*
 * The group's counts, from one instant.  completed and failed may count a
 * task whose submit has not returned yet (it completed first), so
 * completed may briefly exceed submitted.  Any thread.
 * Errors: EINVAL (@group or @c NULL).
 */
int kpool_group_counts(struct kpool_group *group,
		       struct kpool_group_counts *c);

/*
 * Free the group and its results.  Refused with -EBUSY while a task of
 * the group is in flight or a submit into it is in progress: nothing is
 * freed, wait (or cancel, then wait) and destroy again; so a callback or
 * function of the group cannot destroy it.  Once it returns 0 the handle
 * is gone, and no other thread may touch it, as with free().  NULL: 0.
 * The pool is not touched: groups may be destroyed before or after it.
 */
int kpool_group_destroy(struct kpool_group *group);

#ifdef __cplusplus
}
#endif

#endif /* KPOOL_POOL_H */
