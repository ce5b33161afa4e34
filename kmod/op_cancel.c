// SPDX-License-Identifier: GPL-2.0
/*
 * CANCEL: cancels the task whose user_data is addr, or with
 * KPOOL_CANCEL_ALL every task of the pool.  A control op: it runs at once
 * inside ENTER (sched.c does the work), takes no slot, and so accepts no
 * priority, deadline or placement (the common prep refuses them).
 */
#include "ops.h"

struct kpool_cancel {
	u64	target;
	bool	all;
};

int kpool_cancel_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_cancel *c = kpool_task_data(task, struct kpool_cancel);

	c->all = sqe->op_flags & KPOOL_CANCEL_ALL;
	if (c->all && sqe->addr)
		return -EINVAL;
	c->target = sqe->addr;
	return 0;
}

int kpool_cancel_issue(struct kpool_task *task)
{
	struct kpool_cancel *c = kpool_task_data(task, struct kpool_cancel);

	return kpool_sched_cancel(task->pool, c->target, c->all);
}
