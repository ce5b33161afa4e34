// SPDX-License-Identifier: GPL-2.0
/*
 * The op table.  Adding an op: give it a number in uapi/linux/kpool.h, put
 * its prep and issue in a file of its own (op_<family>.c, declared in
 * ops.h, one line in Kbuild), add one row here, naming the SQE fields the
 * op reads and the op_flags it knows (the common prep in task.c refuses
 * the rest, so the op's prep checks only the values of its own fields), a
 * kpool_prep_*() helper in libkpool.h, and a sample row in
 * selftests/kpool_op_samples.h (the build fails without one).
 * kpool_ops_init() checks every row when the module loads.
 */
#include <linux/nospec.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "kpool.h"
#include "ops.h"

static const struct kpool_op_def kpool_op_defs[KPOOL_OP_LAST] = {
	[KPOOL_OP_NOP] = {
		.name		= "nop",
		.prep		= kpool_nop_prep,
		.issue		= kpool_nop_issue,
		.flags		= KPOOL_OPF_INLINE,
	},
	[KPOOL_OP_TIMEOUT] = {
		.name		= "timeout",
		.prep		= kpool_timeout_prep,
		.issue		= kpool_timeout_issue,
		.cancel		= kpool_timeout_cancel,
		.flags		= KPOOL_OPF_ISSUE_INLINE,
		.uses		= KPOOL_USES_OFF,
	},
	[KPOOL_OP_CANCEL] = {
		.name		= "cancel",
		.prep		= kpool_cancel_prep,
		.issue		= kpool_cancel_issue,
		.flags		= KPOOL_OPF_CONTROL,
		.uses		= KPOOL_USES_ADDR,
		.op_flags	= KPOOL_CANCEL_ALL,
	},
	[KPOOL_OP_BURN] = {
		.name		= "burn",
		.prep		= kpool_burn_prep,
		.issue		= kpool_burn_issue,
		.cancel		= kpool_burn_cancel,
		.flags		= KPOOL_OPF_LONG,
		.uses		= KPOOL_USES_OFF,
		.op_flags	= KPOOL_BURN_UNINTERRUPTIBLE,
	},
	[KPOOL_OP_READ] = {
		.name		= "read",
		.prep		= kpool_read_prep,
		.issue		= kpool_read_issue,
		.cancel		= kpool_task_cancel_cooperative,
		.cleanup	= kpool_file_cleanup,
		.flags		= KPOOL_OPF_OWNER | KPOOL_OPF_LINK_FULL,
		.uses		= KPOOL_USES_FD | KPOOL_USES_OFF | KPOOL_USES_ADDR |
				  KPOOL_USES_LEN,
	},
	[KPOOL_OP_WRITE] = {
		.name		= "write",
		.prep		= kpool_write_prep,
		.issue		= kpool_write_issue,
		.cancel		= kpool_task_cancel_cooperative,
		.cleanup	= kpool_file_cleanup,
		.flags		= KPOOL_OPF_OWNER | KPOOL_OPF_LINK_FULL,
		.uses		= KPOOL_USES_FD | KPOOL_USES_OFF | KPOOL_USES_ADDR |
				  KPOOL_USES_LEN,
	},
	[KPOOL_OP_FSYNC] = {
		.name		= "fsync",
		.prep		= kpool_fsync_prep,
		.issue		= kpool_fsync_issue,
		.cleanup	= kpool_file_cleanup,
		.flags		= KPOOL_OPF_OWNER,
		.uses		= KPOOL_USES_FD,
		.op_flags	= KPOOL_FSYNC_DATASYNC,
	},
	[KPOOL_OP_COPY] = {
		.name		= "copy",
		.prep		= kpool_copy_prep,
		.issue		= kpool_copy_issue,
		.cancel		= kpool_task_cancel_cooperative,
		.flags		= KPOOL_OPF_LONG | KPOOL_OPF_INLINE,
		.uses		= KPOOL_USES_OFF | KPOOL_USES_ADDR | KPOOL_USES_LEN,
		.inline_len_max	= KPOOL_DATA_INLINE_MAX,
	},
	[KPOOL_OP_CRC32C] = {
		.name		= "crc32c",
		.prep		= kpool_crc32c_prep,
		.issue		= kpool_crc32c_issue,
		.cancel		= kpool_task_cancel_cooperative,
		.flags		= KPOOL_OPF_LONG | KPOOL_OPF_INLINE,
		.uses		= KPOOL_USES_OFF | KPOOL_USES_ADDR | KPOOL_USES_LEN,
		.inline_len_max	= KPOOL_DATA_INLINE_MAX,
	},
	[KPOOL_OP_SHA256] = {
		.name		= "sha256",
		.prep		= kpool_sha256_prep,
		.issue		= kpool_sha256_issue,
		.cancel		= kpool_task_cancel_cooperative,
		.flags		= KPOOL_OPF_LONG,
		.uses		= KPOOL_USES_OFF | KPOOL_USES_ADDR | KPOOL_USES_LEN,
		.op_flags	= KPOOL_SHA256_INIT | KPOOL_SHA256_FINAL,
	},
#if KPOOL_HAVE_CALL
	[KPOOL_OP_CALL] = {
		.name		= "call",
		.prep		= kpool_call_prep,
		.cancel		= kpool_call_cancel,
		.flags		= KPOOL_OPF_USER,
		.uses		= KPOOL_USES_OFF | KPOOL_USES_ADDR,
	},
#endif
};

/* A row without prep is a number the uapi reserves but this module lacks. */
static bool kpool_op_supported(const struct kpool_op_def *def)
{
	return def->prep;
}

const struct kpool_op_def *kpool_op_lookup(unsigned int op)
{
	const struct kpool_op_def *def;

	if (op >= ARRAY_SIZE(kpool_op_defs))
		return NULL;
	def = &kpool_op_defs[array_index_nospec(op, ARRAY_SIZE(kpool_op_defs))];
	return kpool_op_supported(def) ? def : NULL;
}

int kpool_ops_probe(struct kpool_probe *probe)
{
	struct kpool_probe_op __user *uops = u64_to_user_ptr(probe->ops_ptr);
	u32 n = min_t(u32, probe->ops_len, ARRAY_SIZE(kpool_op_defs));
	u32 i;

	for (i = 0; i < n; i++) {
		const struct kpool_op_def *def = &kpool_op_defs[i];
		struct kpool_probe_op op = { .op = i };

		if (kpool_op_supported(def)) {
			op.flags = KPOOL_PROBE_OP_SUPPORTED;
			strscpy(op.name, def->name, sizeof(op.name));
		}
		if (copy_to_user(&uops[i], &op, sizeof(op)))
			return -EFAULT;
	}
	probe->last_op = ARRAY_SIZE(kpool_op_defs);
	return 0;
}

int kpool_ops_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kpool_op_defs); i++) {
		const struct kpool_op_def *def = &kpool_op_defs[i];
		/* A user function has no issue(): a worker runs it. */
		bool user = def->flags & KPOOL_OPF_USER;

		if (!kpool_op_supported(def))
			continue;
		if (!def->name || !def->issue != user ||
		    (def->uses & ~KPOOL_USES_ALL) ||
		    strlen(def->name) >= sizeof_field(struct kpool_probe_op, name) ||
		    ((def->flags & KPOOL_OPF_CONTROL) &&
		     (def->flags & ~KPOOL_OPF_CONTROL || def->cancel)) ||
		    ((def->flags & KPOOL_OPF_OWNER) &&
		     (def->flags & ~(KPOOL_OPF_OWNER | KPOOL_OPF_LINK_FULL))) ||
		    ((def->flags & KPOOL_OPF_USER) &&
		     (def->flags & ~KPOOL_OPF_USER || !def->cancel)) ||
		    ((def->flags & KPOOL_OPF_INLINE) &&
		     (def->flags & ~(KPOOL_OPF_INLINE | KPOOL_OPF_LONG))) ||
		    (def->inline_len_max &&
		     (!(def->flags & KPOOL_OPF_INLINE) ||
		      !(def->uses & KPOOL_USES_LEN)))) {
			pr_err("kpool: op %d has an incomplete table row\n", i);
			return -EINVAL;
		}
	}
	return 0;
}
