// SPDX-License-Identifier: GPL-2.0
/*
 * BURN: keeps a CPU busy for a given time, for tests and benchmarks: it
 * lets capacity, priorities, deadlines and cancellation be observed with
 * tasks that really run.  It checks for cancel and deadline between short
 * steps and runs on the CPU-intensive workqueue (KPOOL_OPF_LONG).
 */
#include <linux/ktime.h>
#include <linux/processor.h>
#include <linux/sched.h>
#include "ops.h"

/* How long BURN spins between checks for cancel and deadline. */
#define KPOOL_BURN_STEP_NS	(20 * NSEC_PER_USEC)

struct kpool_burn {
	u64	ns;
	bool	uninterruptible;
};

int kpool_burn_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_burn *b = kpool_task_data(task, struct kpool_burn);

	if (sqe->off > (u64)kpool_burn_max_ms * NSEC_PER_MSEC)
		return -EINVAL;
	b->ns = sqe->off;
	b->uninterruptible = sqe->op_flags & KPOOL_BURN_UNINTERRUPTIBLE;
	return 0;
}

int kpool_burn_issue(struct kpool_task *task)
{
	struct kpool_burn *b = kpool_task_data(task, struct kpool_burn);
	u64 now = ktime_get_ns(), end = now + b->ns;
	int res;

	while (now < end) {
		u64 step_end = min(end, now + KPOOL_BURN_STEP_NS);

		if (kpool_task_should_stop(task, &res))
			return res;
		while ((now = ktime_get_ns()) < step_end)
			cpu_relax();
		cond_resched();
	}
	return 0;
}

int kpool_burn_cancel(struct kpool_task *task)
{
	struct kpool_burn *b = kpool_task_data(task, struct kpool_burn);

	if (b->uninterruptible)
		return -EALREADY;
	return kpool_task_cancel_cooperative(task);
}
