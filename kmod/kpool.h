/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpool internals: the pool (struct kpool_ctx), the task, the op table.
 *
 * Memory-ordering contract (the uapi header states the user side):
 *
 *  SQ: the program writes SQEs, then store-releases sq_tail.  The module
 *      load-acquires sq_tail (pairs with that release), copies each SQE
 *      field once into kernel memory, then store-releases sq_head so the
 *      program may reuse those slots.
 *  CQ: the module writes a CQE, then store-releases cq_tail.  The program
 *      load-acquires cq_tail, reads the CQE, then store-releases cq_head.
 *      The module load-acquires cq_head before it counts a slot as free,
 *      so the program's reads of a CQE finish before the slot is reused.
 *  Wakeups: the poster publishes cq_tail, then wq_has_sleeper() (a full
 *      barrier) before looking at the waitqueue; waiters go through
 *      prepare_to_wait()/poll_wait() plus a full barrier before testing
 *      the CQ, so no wakeup is lost.
 *
 * The module never trusts an index or entry the program can write: it
 * keeps its own sq_head and cq_tail, reads sq_tail and cq_head once per
 * use and bounds them, and validates only its own copy of each SQE.
 */
#ifndef KPOOL_INTERNAL_H
#define KPOOL_INTERNAL_H

#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/percpu-refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/kpool.h>

struct seq_file;

/* Hard ceiling of the max_entries module parameter. */
#define KPOOL_ENTRIES_CEILING	32768U

/* Indices the program owns: the sq_ring region, mapped read-write. */
struct kpool_user_indices {
	u32 sq_tail ____cacheline_aligned_in_smp;
	u32 cq_head ____cacheline_aligned_in_smp;
};

/* What the module writes: the cq_ring region, mapped read-only. */
struct kpool_kernel_ring {
	u32 sq_head ____cacheline_aligned_in_smp;
	u32 cq_tail ____cacheline_aligned_in_smp;
	u32 flags;		/* KPOOL_RING_*, under sched_lock */
	u32 workers[KPOOL_POOL_WORKERS] ____cacheline_aligned_in_smp;
	struct kpool_cqe cqes[] ____cacheline_aligned_in_smp;
};

/*
 * One shared-memory region (ring.c): pages charged to the memory cgroup
 * of the process that set the pool up, mapped into the kernel with vmap()
 * and into the program with vm_insert_pages().
 */
struct kpool_shm {
	void			*addr;		/* the kernel's view: vmap() */
	struct page		**pages;
	unsigned int		nr_pages;
};

/*
 * Inline tasks ENTER took one after the other, not yet run (submit.c):
 * they run together, their CQEs posted at once (kpool_sched_run_inline()).
 * In the pool, under submit_lock, rather than on ENTER's stack, which the
 * kernel may zero on every call (CONFIG_INIT_STACK_ALL_ZERO).
 */
#define KPOOL_INLINE_BATCH	32
/*
 * ...or at every multiple of this many while another thread sleeps waiting
 * for CQEs (a pool API completion thread), so that it starts on them while
 * the ENTER goes on.  Posting only every 32 made the pool API's batches up
 * to 20% slower than one CQE at a time; this keeps them as fast, and the
 * ring API's batches of 32 as fast as at 32 (docs/performance.md).
 */
#define KPOOL_INLINE_BATCH_SHARED 8

struct kpool_inline_batch {
	struct kpool_task	*tasks[KPOOL_INLINE_BATCH];
	struct kpool_cqe	cqes[KPOOL_INLINE_BATCH];
	u32			n;
	/*
	 * SQEs before this one (the module's sq_head numbering) are taken
	 * one at a time: they went back to the ring from a batch that
	 * could not run them inline, and the scheduler queues or refuses
	 * them as it would any task.
	 */
	u32			alone_until;
};

/* The queues and settings of one pool's scheduler (sched.c). */
#define KPOOL_NR_PRIO		2

/* Counters of a pool, in the uapi layout; updated under sched_lock. */
struct kpool_pool_stats {
	struct kpool_counters total;
	struct kpool_counters op[KPOOL_OP_LAST];
};

/*
 * The pool behind one open /dev/kpool file.  (Named for what it is to the
 * module, a context: libkpool's struct kpool_pool is the program's pool
 * API object, a different thing.)
 */
struct kpool_ctx {
	u64			id;		/* fdinfo and tracepoints */
	kuid_t			owner;		/* charged in users.c */

	/*
	 * The machine-wide view (registry.c): every pool from open to free is
	 * on its list, under kpool_pools_lock, with who opened it.
	 */
	struct list_head	registry_node;
	pid_t			opener_pid;	/* in the initial namespace */
	char			opener_comm[TASK_COMM_LEN];

	/* One per accepted task still in flight, plus one for the file. */
	struct percpu_ref	refs;
	struct completion	refs_done;

	/* Set once by SETUP (under setup_lock); read with acquire. */
	struct mutex		setup_lock;
	bool			ready;

	/*
	 * Shared memory, zeroed and page-aligned: the kernel addresses of the
	 * four regions, and the pages behind each (ring.c).
	 */
	struct kpool_user_indices *user;
	struct kpool_sqe	*sqes;
	struct kpool_kernel_ring *kring;
	void			*arena;
	size_t			arena_size;
	size_t			user_size;
	size_t			sqes_size;
	size_t			kring_size;
	struct kpool_shm	user_mem, sqes_mem, kring_mem, arena_mem;

	/* Submission side: one submitter at a time. */
	struct mutex		submit_lock;
	u32			sq_head;	/* the module's own copy */
	u32			sq_entries;
	u32			sq_mask;
	/*
	 * The chain the last ENTER was failing (an invalid member) went on
	 * past the SQEs the CQ had room for: the next ENTER fails the rest.
	 */
	bool			sq_chain_failing;
	/*
	 * The task cache (as io_uring's request cache): a released task goes
	 * on task_free, from any context; ENTER, under submit_lock, takes
	 * that whole list into task_cache and allocates from there before
	 * it asks the slab.  It holds at most as many tasks as the pool had
	 * alive at once (its peak: a task outlives its CQ slot only until
	 * it is freed, e.g. a cancelled chain), charged to whoever
	 * allocated them first; it does not shrink, and goes with the pool.
	 */
	struct llist_head	task_free;
	struct llist_node	*task_cache;
	struct kpool_inline_batch inline_batch;

	/*
	 * Completion side.  Irq-safe: timers post completions from hardirq
	 * context.  cq_reserved counts accepted tasks whose CQE is not yet
	 * posted: each holds one CQ slot, so a CQE always has room.
	 */
	spinlock_t		cq_lock;
	u32			cq_tail;	/* the module's own copy */
	u32			cq_reserved;
	u32			cq_entries;
	u32			cq_mask;
	wait_queue_head_t	cq_wait;	/* ENTER waiters and poll() */

	/*
	 * The scheduler (sched.c).  Irq-safe for the same reason.  Every
	 * task the pool took is on tasks until it completes; waiting ones
	 * are also on waitq[prio], and started tasks that wait for a thread
	 * of their process are on owner_ready (owner.c).
	 */
	spinlock_t		sched_lock;
	u32			capacity;
	u32			max_waiting;
	u32			running;	/* holding a slot, READY included */
	u32			waiting;
	u32			linked;		/* LINKED: behind a task in a chain */
	u32			workers;	/* on kernel workers: max_workers */
	u32			owner_ready_count;
	struct list_head	owner_ready;
	bool			blocking;	/* KPOOL_SETUP_BLOCKING */
	bool			draining;
	struct list_head	tasks;
	struct list_head	waitq[KPOOL_NR_PRIO];
	wait_queue_head_t	room_wait;	/* blocked submitters */
	wait_queue_head_t	idle_wait;	/* DRAIN */
	struct kpool_pool_stats	stats;
	u32			stuck_now;	/* tasks marked stuck, in flight */

	/*
	 * The program's worker threads (worker.c), under sched_lock: every
	 * registered one on worker_list in a slot of worker_slots, the parked
	 * ones also on idle_workers, most recently parked first.
	 */
	struct list_head	worker_list;
	struct list_head	idle_workers;
	DECLARE_BITMAP(worker_slots, KPOOL_POOL_WORKERS);
	u32			nr_workers;
	u32			nr_idle_workers;
	u64			work_seq;	/* the last token given */
	bool			had_workers;	/* free waits for notifiers */
	/* Given tasks whose thread sleeps (notifiers), and the kick it asks. */
	atomic_t		call_blocked;
	struct irq_work		kick_irq;
	struct work_struct	kick_work;

	/*
	 * Deadlines of waiting tasks: one timer per pool, at the earliest
	 * deadline (deadline_next, under sched_lock; KTIME_MAX: unarmed).  It
	 * fires in softirq context and only queues expire_work, which
	 * completes the expired tasks in batches, in process context.
	 */
	struct hrtimer		deadline_timer;
	struct work_struct	expire_work;
	u64			deadline_next;

	/* A close interrupted by a fatal signal finishes here (main.c). */
	struct work_struct	release_work;
};

/* Where a task is in its life; changed only under sched_lock. */
enum kpool_task_state {
	KPOOL_TASK_NEW,		/* taken, not yet given to the scheduler */
	KPOOL_TASK_WAITING,	/* on waitq, holds no slot */
	KPOOL_TASK_RUNNING,	/* holds a capacity slot */
	KPOOL_TASK_READY,	/* holds a slot, on owner_ready: see owner.c */
	KPOOL_TASK_DONE,	/* completed: its CQE is posted */
	KPOOL_TASK_LINKED,	/* in a chain, behind a task not yet done */
};

/* Room for an op's private state inside its task; see kpool_task_data(). */
#define KPOOL_TASK_DATA_SIZE	128

struct kpool_task {
	struct work_struct	work;
	struct kpool_ctx	*pool;
	const struct kpool_op_def *def;
	u64			user_data;
	u8			op;
	u8			prio;
	u8			sqe_flags;	/* KPOOL_SQE_* */
	u8			state;		/* enum kpool_task_state */
	bool			cancel_requested; /* see kpool_task_should_stop() */
	bool			prepped;	/* prep succeeded: cleanup due */
	bool			high_worker;	/* may run at nice -20 */
	bool			unbound;	/* any CPU: the submitter had all */
	bool			on_worker;	/* counted in pool->workers */
	bool			run_inline;	/* KPOOL_OPF_INLINE, if it starts in ENTER */
	bool			stuck;		/* past stuck_ms: counted, logged */
	bool			quiet;		/* no CQE: its worker took the result */
	u32			cpu;		/* the CPU its kernel worker uses */
	u32			aux;		/* the CQE's aux */
	u32			len;		/* the SQE's len */
	u64			submit_ns;
	u64			start_ns;
	u64			deadline;	/* ktime ns; 0: none */
	struct list_head	pool_node;	/* pool->tasks */
	struct list_head	sched_node;	/* waitq[], owner_ready, or local */
	struct pid		*owner;		/* KPOOL_OPF_OWNER: its process */
	/*
	 * Chains (KPOOL_SQE_LINK): the next task of the chain, LINKED until
	 * this one is done (sched.c), and the one before it while this one
	 * is LINKED.  Under sched_lock once the chain is accepted.
	 */
	struct kpool_task	*link_next;
	struct kpool_task	*link_prev;
	struct llist_node	cache_node;	/* pool->task_free */
	/* The next task of its run batch; the owner of the batch only. */
	struct kpool_task	*run_next;
	unsigned long		data[KPOOL_TASK_DATA_SIZE / sizeof(unsigned long)];
};

/*
 * Short tasks one ENTER (or one kick) starts for the same CPU's
 * workqueue, handed over as one work item: the first task's work runs
 * them all, in order (task.c).  Built by one thread, on its stack;
 * kpool_run_batch_flush() queues it.
 */
struct kpool_run_batch {
	struct kpool_task		*head;
	struct kpool_task		*tail;
	struct workqueue_struct		*wq;
	u32				cpu;
	u32				n;
};

/* ops.c */
const struct kpool_op_def *kpool_op_lookup(unsigned int op);
int kpool_ops_probe(struct kpool_probe *probe);
int kpool_ops_init(void);

/* ring.c */
int kpool_rings_alloc(struct kpool_ctx *pool, u32 sq_entries, u32 cq_entries,
		      u64 arena_size);
void kpool_rings_free(struct kpool_ctx *pool);
void kpool_rings_report(const struct kpool_ctx *pool, struct kpool_setup *p);
int kpool_rings_mmap(struct kpool_ctx *pool, struct vm_area_struct *vma);
u32 kpool_cq_reserve(struct kpool_ctx *pool, u32 want);
void kpool_cq_unreserve(struct kpool_ctx *pool, u32 n);
void kpool_cq_post(struct kpool_ctx *pool, u64 user_data, s32 res, u32 aux);
void kpool_cq_post_many(struct kpool_ctx *pool, const struct kpool_cqe *cqes,
			u32 n);
void kpool_cq_skip(struct kpool_ctx *pool);
u32 kpool_cq_count(struct kpool_ctx *pool);
int kpool_wait(struct kpool_ctx *pool, u32 min_complete, ktime_t end);

/* sched.c */
void kpool_sched_init(struct kpool_ctx *pool);
int kpool_sched_accept(struct kpool_ctx *pool, struct kpool_task *task,
		       struct kpool_run_batch *rb);
void kpool_sched_kick(struct kpool_ctx *pool);
u32 kpool_sched_run_inline(struct kpool_ctx *pool,
			   struct kpool_inline_batch *batch);
s32 kpool_sched_complete(struct kpool_task *task, s32 res);
void kpool_sched_complete_batch(struct kpool_ctx *pool,
				struct kpool_task **tasks, const s32 *res,
				unsigned int n);
void kpool_sched_reject(struct kpool_ctx *pool, u64 user_data,
			unsigned int op, s32 res);
void kpool_sched_note_full(struct kpool_ctx *pool, unsigned int op,
			   u64 user_data);
int kpool_sched_wait_room(struct kpool_ctx *pool, ktime_t end);
int kpool_sched_cancel(struct kpool_ctx *pool, u64 user_data, bool all);
void kpool_sched_tune(struct kpool_ctx *pool, u32 capacity,
		      const u32 *max_waiting, u32 *prev_capacity,
		      u32 *prev_max_waiting);
int kpool_sched_drain(struct kpool_ctx *pool, ktime_t end);
void kpool_sched_stop_timers(struct kpool_ctx *pool);
bool kpool_task_needs_worker(const struct kpool_task *task);

/* owner.c */
void kpool_owner_ready_locked(struct kpool_ctx *pool, struct kpool_task *task);
void kpool_owner_notify(struct kpool_ctx *pool);
bool kpool_owner_has_mine(struct kpool_ctx *pool);
void kpool_owner_serve(struct kpool_ctx *pool);
bool kpool_owner_serve_one(struct kpool_ctx *pool);
void kpool_owner_set_ring_flag_locked(struct kpool_ctx *pool);

/* worker.c, or nothing without preempt notifiers (KPOOL_FEAT_CALL) */
#ifdef CONFIG_PREEMPT_NOTIFIERS
#define KPOOL_HAVE_CALL	1
void kpool_workers_init(struct kpool_ctx *pool);
bool kpool_worker_available_locked(struct kpool_ctx *pool,
				   const struct kpool_task *task);
void kpool_worker_give_locked(struct kpool_ctx *pool, struct kpool_task *task);
int kpool_worker_work(struct kpool_ctx *pool, struct kpool_work *w,
		      ktime_t end);
void kpool_workers_wake(struct kpool_ctx *pool);
void kpool_workers_detach(struct kpool_ctx *pool);
void kpool_workers_setup(void);
void kpool_workers_exit(void);
void kpool_workers_stop(struct kpool_ctx *pool);
u32 kpool_workers_blocked(struct kpool_ctx *pool);
u32 kpool_workers_busy_locked(struct kpool_ctx *pool);
#else
#define KPOOL_HAVE_CALL	0
static inline void kpool_workers_init(struct kpool_ctx *pool) { }
static inline bool kpool_worker_available_locked(struct kpool_ctx *pool,
						 const struct kpool_task *task)
{
	return false;
}

static inline void kpool_worker_give_locked(struct kpool_ctx *pool,
					    struct kpool_task *task) { }
static inline int kpool_worker_work(struct kpool_ctx *pool,
				    struct kpool_work *w, ktime_t end)
{
	return -EOPNOTSUPP;
}

static inline void kpool_workers_wake(struct kpool_ctx *pool) { }
static inline void kpool_workers_detach(struct kpool_ctx *pool) { }
static inline void kpool_workers_setup(void) { }
static inline void kpool_workers_exit(void) { }
static inline void kpool_workers_stop(struct kpool_ctx *pool) { }
static inline u32 kpool_workers_blocked(struct kpool_ctx *pool)
{
	return 0;
}

static inline u32 kpool_workers_busy_locked(struct kpool_ctx *pool)
{
	return 0;
}
#endif

/* registry.c */
void kpool_registry_add(struct kpool_ctx *pool);
void kpool_registry_del(struct kpool_ctx *pool);
void kpool_registry_walk(void (*fn)(struct kpool_ctx *pool, void *arg),
			 void *arg);
void kpool_registry_init(void);
void kpool_registry_exit(void);

/* stuck.c */
void kpool_stuck_start(void);
void kpool_stuck_exit(void);

/* stats.c */
void kpool_stats_submitted(struct kpool_ctx *pool, struct kpool_task *task);
void kpool_stats_started(struct kpool_ctx *pool, struct kpool_task *task);
void kpool_stats_waiting(struct kpool_ctx *pool, struct kpool_task *task,
			 int delta);
void kpool_stats_done(struct kpool_ctx *pool, struct kpool_task *task,
		      s32 res, u64 now);
void kpool_stats_inline(struct kpool_ctx *pool, struct kpool_task *task,
			s32 res);
void kpool_stats_rejected(struct kpool_ctx *pool, unsigned int op);
int kpool_stats_read(struct kpool_ctx *pool, struct kpool_stats *st);
void kpool_stats_show_fdinfo(struct kpool_ctx *pool, struct seq_file *m);

/* submit.c */
int kpool_sq_submit(struct kpool_ctx *pool, u32 to_submit, ktime_t end,
		    u32 *submitted);

/* task.c */
struct kpool_task *kpool_task_alloc(struct kpool_ctx *pool, u64 now);
int kpool_task_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
void kpool_task_reject(struct kpool_task *task, s32 res);
int kpool_task_run(struct kpool_task *task, struct kpool_run_batch *rb);
void kpool_run_batch_flush(struct kpool_run_batch *rb);
s32 kpool_task_finish(struct kpool_task *task, s32 res);
void kpool_task_release(struct kpool_task *task);
void kpool_tasks_free_cache(struct kpool_ctx *pool);
int kpool_tasks_init(void);
void kpool_tasks_exit(void);

/* users.c */
int kpool_user_charge(struct kpool_ctx *pool);
void kpool_user_uncharge(struct kpool_ctx *pool);

/* ioctl.c */
long kpool_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* main.c */
void kpool_release_queue(struct work_struct *work);
extern unsigned int kpool_max_entries;
extern unsigned int kpool_max_capacity;
extern unsigned int kpool_burn_max_ms;
extern unsigned int kpool_max_arena_mb;
extern unsigned int kpool_max_pools_per_user;
extern unsigned int kpool_max_workers;
extern unsigned int kpool_stuck_ms;

/*
 * Wait interruptibly for @cond until the absolute time @end (KTIME_MAX: no
 * limit).  0, -ETIME, or -EINTR: never -ERESTARTSYS, since a restarted
 * ENTER would report submitted = 0 for SQEs this call already took.
 */
#define kpool_wait_event_until(wq, cond, end) ({			\
	ktime_t __end = (end);						\
	ktime_t __left = __end == KTIME_MAX ? KTIME_MAX :		\
		max_t(ktime_t, ktime_sub(__end, ktime_get()), 0);	\
	long __ret = wait_event_interruptible_hrtimeout(wq, cond, __left); \
	__ret == -ERESTARTSYS ? -EINTR : (int)__ret;			\
})

/*
 * The same, for a thread of a process that may own tasks of @pool: while
 * it waits it runs those of its process's tasks that become ready (a
 * thread waiting on its own pool must not wait for itself).
 */
#define kpool_wait_serving(pool, wq, cond, end) ({			\
	struct kpool_ctx *__pool = (pool);				\
	bool __mine;							\
	int __sret;							\
	do {								\
		kpool_owner_serve(__pool);				\
		__mine = false;						\
		__sret = kpool_wait_event_until(wq,			\
			(__mine = kpool_owner_has_mine(__pool)) || (cond), \
			end);						\
	} while (!__sret && __mine);					\
	__sret;								\
})

/*
 * An absolute CLOCK_MONOTONIC hrtimer that fires in softirq context, never
 * in hard interrupt context (start it with KPOOL_HRTIMER_MODE), on kernels
 * with or without hrtimer_setup().
 */
#define KPOOL_HRTIMER_MODE	HRTIMER_MODE_ABS_SOFT

static inline void kpool_hrtimer_setup(struct hrtimer *timer,
				       enum hrtimer_restart (*fn)(struct hrtimer *))
{
#ifdef KPOOL_HAVE_HRTIMER_SETUP
	hrtimer_setup(timer, fn, CLOCK_MONOTONIC, KPOOL_HRTIMER_MODE);
#else
	hrtimer_init(timer, CLOCK_MONOTONIC, KPOOL_HRTIMER_MODE);
	timer->function = fn;
#endif
}

static inline bool kpool_pool_ready(struct kpool_ctx *pool)
{
	/* Pairs with the store-release at the end of SETUP. */
	return smp_load_acquire(&pool->ready);
}

#endif /* KPOOL_INTERNAL_H */
