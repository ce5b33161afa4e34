/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an op author works with: the row of the op table (struct
 * kpool_op_def, its KPOOL_OPF_* and KPOOL_USES_*), the helpers an op may
 * call, and each op family's prep, issue and cancel for the table in
 * ops.c.
 *
 * Adding an op: its number in uapi/linux/kpool.h, a file op_NAME.c with
 * its prep and issue (declared below), one row in ops.c, one line in
 * Kbuild, a prep helper in ulib/include/libkpool.h (and its man3 page),
 * and a sample row in selftests/kpool_op_samples.h.
 */
#ifndef KPOOL_OPS_H
#define KPOOL_OPS_H

#include <linux/sizes.h>
#include "kpool.h"

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
	 * Submitter's context, may sleep.  By then the fields outside the
	 * row's uses are 0 and op_flags holds only the row's bits: it checks
	 * the values of its own fields.  Returns 0, or a negative errno that
	 * becomes the CQE's res.
	 */
	int (*prep)(struct kpool_task *task, const struct kpool_sqe *sqe);
	/*
	 * Runs the task and returns its result, or -EIOCBQUEUED when the op
	 * will call kpool_task_done() itself later.
	 */
	int (*issue)(struct kpool_task *task);
	/*
	 * Stop a running task, under sched_lock, without sleeping.  Returns
	 * KPOOL_CANCEL_STOPPED if it stopped it and the caller must complete
	 * it, 0 if the task will complete itself soon, or -EALREADY.  Ops
	 * without it cannot be stopped once running.  STOPPED only from an
	 * op whose task is not on a kernel worker (ISSUE_INLINE, USER): a
	 * worker's task may still wait in its run batch (task.c), which
	 * completes it.
	 */
	int (*cancel)(struct kpool_task *task);
	/*
	 * Drop what a successful prep took (file and cred references), when
	 * the task is freed, whatever happened to it.  Any context.
	 */
	void (*cleanup)(struct kpool_task *task);
	unsigned int flags;		/* KPOOL_OPF_* */
	/*
	 * The SQE fields the op reads (KPOOL_USES_*) and the op_flags it
	 * knows: kpool_task_prep() refuses any other field that is not 0,
	 * and any other op_flags bit, before the op's prep runs.
	 */
	unsigned int uses;
	u32 op_flags;
	/*
	 * A KPOOL_OPF_INLINE op that reads len runs inline only up to this
	 * many bytes (0: any; NOP has no len); a longer task goes to a
	 * kernel worker.
	 */
	u32 inline_len_max;
};

/*
 * COPY and CRC32C run inline up to 4 KiB (KPOOL_FEAT_INLINE_DATA): about
 * 0.3 us of work natively (a page's CRC32C with the crc32 instruction, or
 * its memmove), against some 2.5 us for a hand-off to a worker in the test
 * guests (docs/performance.md), and short enough to run, 32 in a batch,
 * with sched_lock held and interrupts off.
 */
#define KPOOL_DATA_INLINE_MAX	SZ_4K

#define KPOOL_USES_FD		BIT(0)
#define KPOOL_USES_OFF		BIT(1)
#define KPOOL_USES_ADDR		BIT(2)
#define KPOOL_USES_LEN		BIT(3)
#define KPOOL_USES_ALL		(KPOOL_USES_FD | KPOOL_USES_OFF | \
				 KPOOL_USES_ADDR | KPOOL_USES_LEN)

#define KPOOL_CANCEL_STOPPED	1

/*
 * KPOOL_OPF_ISSUE_INLINE: issue() only arms something (a timer) and never
 *	blocks: call it where the task starts instead of on a worker.
 * KPOOL_OPF_CONTROL: acts on the pool itself (CANCEL): runs at once in
 *	ENTER, never waits, takes no capacity slot.
 * KPOOL_OPF_LONG: runs long on a CPU: use a CPU-intensive workqueue so it
 *	never holds back the other work of its CPU.
 * KPOOL_OPF_OWNER: what it does depends on who does it (a file's read or
 *	write may look at the caller's namespaces, limits, cgroups): it runs
 *	only in a thread of the submitting process (owner.c), never on a
 *	kernel worker.
 *
 * KPOOL_OPF_INLINE: never blocks and is short (NOP, and COPY and CRC32C
 *	up to inline_len_max): when it can start in the ENTER that submits
 *	it, it runs there, in the submitter's own context, with no hand-off
 *	(KPOOL_FEAT_INLINE); its issue() is then called under sched_lock
 *	with interrupts off, so it must not sleep (nor cond_resched()).
 *	Started later, or with KPOOL_SQE_ASYNC or a placement, it runs on a
 *	kernel worker.
 *
 * KPOOL_OPF_USER: the program's own code (CALL): starts only when a
 *	worker thread of the submitting process is parked in KPOOL_IOC_WORK,
 *	and is given to it (worker.c); the op has no issue().  Its cancel
 *	only tells the function.
 *
 * Every other op runs on a kernel worker, and must give the same result
 * whoever runs it: arithmetic on the arena.
 *
 * KPOOL_OPF_LINK_FULL: in a chain, the op succeeded only if its result is
 *	the SQE's len (a short READ or WRITE breaks the chain).
 */
#define KPOOL_OPF_ISSUE_INLINE	BIT(0)
#define KPOOL_OPF_CONTROL	BIT(1)
#define KPOOL_OPF_LONG		BIT(2)
#define KPOOL_OPF_OWNER		BIT(3)
#define KPOOL_OPF_INLINE	BIT(4)
#define KPOOL_OPF_USER		BIT(5)
#define KPOOL_OPF_LINK_FULL	BIT(6)

/*
 * What an op may call.  kpool_task_done(): an op whose issue() returned
 * -EIOCBQUEUED completes its task (from its timer or its own context).
 * kpool_task_should_stop(): a long issue() asks between steps whether a
 * cancel or the deadline came (and with which result).
 * kpool_task_cancel_cooperative(): the cancel of such an op.
 * kpool_task_arm_timer(): arm a running task's timer unless a cancel
 * came first.  kpool_arena_range(): the kernel address of an arena range
 * an SQE names, or NULL if it is outside the arena.
 */
s32 kpool_task_done(struct kpool_task *task, s32 res);
bool kpool_task_should_stop(struct kpool_task *task, int *res);
int kpool_task_cancel_cooperative(struct kpool_task *task);
bool kpool_task_arm_timer(struct kpool_task *task, struct hrtimer *timer,
			  ktime_t expires);
void *kpool_arena_range(struct kpool_ctx *pool, u64 addr, u64 len,
			bool allow_empty);

/* op_nop.c */
int kpool_nop_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_nop_issue(struct kpool_task *task);

/* op_timeout.c */
int kpool_timeout_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_timeout_issue(struct kpool_task *task);
int kpool_timeout_cancel(struct kpool_task *task);

/* op_cancel.c */
int kpool_cancel_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_cancel_issue(struct kpool_task *task);

/* op_burn.c */
int kpool_burn_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_burn_issue(struct kpool_task *task);
int kpool_burn_cancel(struct kpool_task *task);

/* op_rw.c */
int kpool_read_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_read_issue(struct kpool_task *task);
int kpool_write_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_write_issue(struct kpool_task *task);
int kpool_fsync_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_fsync_issue(struct kpool_task *task);
void kpool_file_cleanup(struct kpool_task *task);

/* op_data.c */
int kpool_copy_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_copy_issue(struct kpool_task *task);
int kpool_crc32c_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_crc32c_issue(struct kpool_task *task);
int kpool_sha256_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_sha256_issue(struct kpool_task *task);

/* worker.c */
int kpool_call_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_call_cancel(struct kpool_task *task);

#endif /* KPOOL_OPS_H */
