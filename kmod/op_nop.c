// SPDX-License-Identifier: GPL-2.0
/* NOP: a task that does nothing, so its cost is the pool's own. */
#include "ops.h"

int kpool_nop_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	if (sqe->fd || sqe->off || sqe->addr || sqe->len || sqe->op_flags)
		return -EINVAL;
	return 0;
}

int kpool_nop_issue(struct kpool_task *task)
{
	return 0;
}
