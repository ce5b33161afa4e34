// SPDX-License-Identifier: GPL-2.0
/*
 * Data ops on the arena: COPY, CRC32C and SHA256, with the kernel's own
 * crc32c (lib/crc32.c) and sha256 (lib/crypto).  Ranges are processed in
 * chunks; between chunks the task yields the CPU and checks cancel and
 * deadline.  Arithmetic whose result does not depend on who computes it:
 * COPY and CRC32C of at most a page run inline in the submitter's ENTER
 * when they can start at once (KPOOL_OPF_INLINE, one chunk, no yield);
 * the rest run on the CPU-intensive workqueue (KPOOL_OPF_LONG).
 */
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include "compat.h"
#include "ops.h"

#define KPOOL_DATA_CHUNK	SZ_64K

struct kpool_data {
	void	*src;
	void	*dst;		/* COPY's destination, SHA256's context */
	u32	len;
	u32	seed;		/* CRC32C */
	u32	flags;		/* SHA256 */
};

/* The kernel's hash state must fit the uapi context. */
static_assert(sizeof(struct kpool_sha256) <=
	      sizeof_field(struct kpool_sha256_ctx, state));

int kpool_copy_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_data *d = kpool_task_data(task, struct kpool_data);

	d->src = kpool_arena_range(task->pool, sqe->addr, sqe->len, false);
	d->dst = kpool_arena_range(task->pool, sqe->off, sqe->len, false);
	if (!d->src || !d->dst)
		return -EINVAL;
	d->len = sqe->len;
	return 0;
}

/* memmove in chunks: forwards when the destination is below, else back. */
int kpool_copy_issue(struct kpool_task *task)
{
	struct kpool_data *d = kpool_task_data(task, struct kpool_data);
	bool forwards = d->dst <= d->src;
	u32 done = 0;
	int res;

	while (done < d->len) {
		u32 chunk = min_t(u32, d->len - done, KPOOL_DATA_CHUNK);
		u32 at = forwards ? done : d->len - done - chunk;

		if (kpool_task_should_stop(task, &res))
			return res;
		memmove(d->dst + at, d->src + at, chunk);
		done += chunk;
		if (done < d->len)	/* one chunk: maybe inline, no sleep */
			cond_resched();
	}
	return d->len;
}

int kpool_crc32c_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_data *d = kpool_task_data(task, struct kpool_data);

	if (sqe->off > U32_MAX)
		return -EINVAL;
	d->src = kpool_arena_range(task->pool, sqe->addr, sqe->len, false);
	if (!d->src)
		return -EINVAL;
	d->len = sqe->len;
	d->seed = sqe->off;
	return 0;
}

/* Standard CRC32C (init and final xor ~0), continued from d->seed. */
int kpool_crc32c_issue(struct kpool_task *task)
{
	struct kpool_data *d = kpool_task_data(task, struct kpool_data);
	u32 crc = ~d->seed, done = 0;
	int res;

	while (done < d->len) {
		u32 chunk = min_t(u32, d->len - done, KPOOL_DATA_CHUNK);

		if (kpool_task_should_stop(task, &res))
			return res;
		crc = kpool_crc32c(crc, d->src + done, chunk);
		done += chunk;
		if (done < d->len)	/* one chunk: maybe inline, no sleep */
			cond_resched();
	}
	task->aux = ~crc;
	return 0;
}

int kpool_sha256_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_data *d = kpool_task_data(task, struct kpool_data);

	if (!IS_ALIGNED(sqe->off, 8))
		return -EINVAL;
	d->dst = kpool_arena_range(task->pool, sqe->off,
				   sizeof(struct kpool_sha256_ctx), false);
	d->src = kpool_arena_range(task->pool, sqe->addr, sqe->len, true);
	if (!d->src || !d->dst)
		return -EINVAL;
	d->len = sqe->len;
	d->flags = sqe->op_flags;
	return 0;
}

int kpool_sha256_issue(struct kpool_task *task)
{
	struct kpool_data *d = kpool_task_data(task, struct kpool_data);
	struct kpool_sha256_ctx *ctx = d->dst;
	struct kpool_sha256 st;
	u8 digest[SHA256_DIGEST_SIZE];
	u32 done = 0;
	int res = 0;

	/*
	 * The program can write the context: work on a private copy.  Zeroed
	 * first: sha256_init() leaves the block buffer as it found it, and
	 * the whole struct goes to the arena below.
	 */
	memset(&st, 0, sizeof(st));
	if (d->flags & KPOOL_SHA256_INIT)
		sha256_init(&st.ctx);
	else
		memcpy(&st, ctx->state, sizeof(st));
	while (done < d->len) {
		u32 chunk = min_t(u32, d->len - done, KPOOL_DATA_CHUNK);

		if (kpool_task_should_stop(task, &res))
			goto out;
		sha256_update(&st.ctx, d->src + done, chunk);
		done += chunk;
		cond_resched();
	}
	if (d->flags & KPOOL_SHA256_FINAL) {
		sha256_final(&st.ctx, digest);
		memcpy(ctx->digest, digest, sizeof(digest));
	} else {
		memcpy(ctx->state, &st, sizeof(st));
	}
out:
	memzero_explicit(&st, sizeof(st));
	return res;
}
