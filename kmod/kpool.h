/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpool internals: the pool, the task, the op table.
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
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu-refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/kpool.h>

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
	struct kpool_cqe cqes[] ____cacheline_aligned_in_smp;
};

struct kpool_pool {
	/* One per accepted task still in flight, plus one for the file. */
	struct percpu_ref	refs;
	struct completion	refs_done;

	/* Set once by SETUP (under setup_lock); read with acquire. */
	struct mutex		setup_lock;
	bool			ready;

	/* Shared memory, from vmalloc_user(): zeroed, page-aligned. */
	struct kpool_user_indices *user;
	struct kpool_sqe	*sqes;
	struct kpool_kernel_ring *kring;
	size_t			user_size;
	size_t			sqes_size;
	size_t			kring_size;

	/* Submission side: one submitter at a time. */
	struct mutex		submit_lock;
	u32			sq_head;	/* the module's own copy */
	u32			sq_entries;
	u32			sq_mask;

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

	/* Armed TIMEOUT tasks (op_timeout.c), cancelled at close. */
	spinlock_t		timeout_lock;
	struct list_head	timeouts;
};

/* Room for an op's private state inside its task; see kpool_task_data(). */
#define KPOOL_TASK_DATA_SIZE	128

struct kpool_task {
	struct work_struct	work;
	struct kpool_pool	*pool;
	const struct kpool_op_def *def;
	u64			user_data;
	unsigned long		data[KPOOL_TASK_DATA_SIZE / sizeof(unsigned long)];
};

/* The op's private state of a task; fails to build if it does not fit. */
#define kpool_task_data(task, type) ({					\
	BUILD_BUG_ON(sizeof(type) > sizeof((task)->data));		\
	(type *)(task)->data;						\
})

/*
 * One row of the op table (ops.c).  An op is a prep, which validates the
 * module's copy of the SQE and fills the task's data, and an issue, which
 * runs the task.
 */
struct kpool_op_def {
	const char *name;
	/*
	 * Submitter's context, may sleep.  Fields the op does not use must be
	 * zero.  Returns 0, or a negative errno that becomes the CQE's res.
	 */
	int (*prep)(struct kpool_task *task, const struct kpool_sqe *sqe);
	/*
	 * Runs the task and returns its result, or -EIOCBQUEUED when the op
	 * will call kpool_task_complete() itself later.
	 */
	int (*issue)(struct kpool_task *task);
	/* At close: complete every task of this op still armed. */
	void (*cancel_all)(struct kpool_pool *pool);
	unsigned int flags;
};

/*
 * issue() only arms something (a timer) and never blocks: call it from
 * the submitter rather than spending a worker on it.
 */
#define KPOOL_OPF_ISSUE_INLINE	BIT(0)

/* ops.c */
const struct kpool_op_def *kpool_op_lookup(unsigned int op);
void kpool_ops_cancel_all(struct kpool_pool *pool);
int kpool_ops_probe(struct kpool_probe *probe);
int kpool_ops_init(void);

/* ring.c */
int kpool_rings_alloc(struct kpool_pool *pool, u32 sq_entries, u32 cq_entries);
void kpool_rings_free(struct kpool_pool *pool);
void kpool_rings_report(const struct kpool_pool *pool, struct kpool_setup *p);
int kpool_rings_mmap(struct kpool_pool *pool, struct vm_area_struct *vma);
u32 kpool_cq_reserve(struct kpool_pool *pool, u32 want);
void kpool_cq_unreserve(struct kpool_pool *pool, u32 n);
void kpool_cq_post(struct kpool_pool *pool, u64 user_data, s32 res);
u32 kpool_cq_ready(struct kpool_pool *pool);

/* submit.c */
int kpool_submit(struct kpool_pool *pool, u32 to_submit, u32 *submitted);
int kpool_wait(struct kpool_pool *pool, u32 min_complete, bool timed,
	       u64 timeout_ns);
void kpool_task_complete(struct kpool_task *task, s32 res);
int kpool_tasks_init(void);
void kpool_tasks_exit(void);

/* ioctl.c */
long kpool_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* main.c */
extern unsigned int kpool_max_entries;

static inline bool kpool_pool_ready(struct kpool_pool *pool)
{
	/* Pairs with the store-release at the end of SETUP. */
	return smp_load_acquire(&pool->ready);
}

#endif /* KPOOL_INTERNAL_H */
