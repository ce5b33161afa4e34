// SPDX-License-Identifier: GPL-2.0
/* NOP: a task that does nothing, so its cost is the pool's own. */
#include "ops.h"

/* It reads no field (its table row says so): nothing is left to check. */
int kpool_nop_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	return 0;
}

int kpool_nop_issue(struct kpool_task *task)
{
	return 0;
}
