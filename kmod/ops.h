/* SPDX-License-Identifier: GPL-2.0 */
/* The prep and issue of each op family, for the op table in ops.c. */
#ifndef KPOOL_OPS_H
#define KPOOL_OPS_H

#include "kpool.h"

/* op_nop.c */
int kpool_nop_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_nop_issue(struct kpool_task *task);

/* op_timeout.c */
int kpool_timeout_prep(struct kpool_task *task, const struct kpool_sqe *sqe);
int kpool_timeout_issue(struct kpool_task *task);
void kpool_timeout_cancel_all(struct kpool_pool *pool);

#endif /* KPOOL_OPS_H */
