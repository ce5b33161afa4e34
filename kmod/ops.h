/* SPDX-License-Identifier: GPL-2.0 */
/* The prep, issue and cancel of each op family, for the table in ops.c. */
#ifndef KPOOL_OPS_H
#define KPOOL_OPS_H

#include "kpool.h"

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
