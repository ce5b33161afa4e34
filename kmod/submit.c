// SPDX-License-Identifier: GPL-2.0
/*
 * ENTER's submission side: taking SQEs from the ring.
 *
 * ENTER takes SQEs in order.  For each it copies the SQE into kernel
 * memory and preps the copy (task.c).  An invalid SQE is answered at once
 * with an error CQE; a control op (CANCEL) runs at once; any other task
 * goes to the scheduler (sched.c), which starts it or queues it.  When the
 * pool is full the SQE is left in the ring, untaken.  Every task taken
 * posts one CQE: through kpool_task_finish(), or, for the inline tasks
 * ENTER runs in a batch, kpool_sched_run_inline().  The kernel-worker
 * tasks it starts go out as run batches when it ends (task.c).
 *
 * Tasks of a chain (KPOOL_SQE_LINK) are collected until the chain ends
 * and then given to the scheduler together, the first one accepted like
 * any task with the rest hanging off it; so a chain is taken whole or, if
 * the pool is full, left whole in the ring.
 */
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include "kpool.h"
#include "ops.h"

/* Read each field of the shared SQE exactly once. */
static void kpool_sqe_copy(struct kpool_sqe *dst, const struct kpool_sqe *src)
{
	dst->op = READ_ONCE(src->op);
	dst->flags = READ_ONCE(src->flags);
	dst->prio = READ_ONCE(src->prio);
	dst->resv0 = READ_ONCE(src->resv0);
	dst->fd = READ_ONCE(src->fd);
	dst->off = READ_ONCE(src->off);
	dst->addr = READ_ONCE(src->addr);
	dst->len = READ_ONCE(src->len);
	dst->op_flags = READ_ONCE(src->op_flags);
	dst->user_data = READ_ONCE(src->user_data);
	dst->deadline_ns = READ_ONCE(src->deadline_ns);
	dst->cpu = READ_ONCE(src->cpu);
	dst->resv1 = READ_ONCE(src->resv1);
	dst->resv2 = READ_ONCE(src->resv2);
}

/* The chain ENTER is collecting (a lone task is a chain of one). */
struct kpool_chain {
	struct kpool_task	*head;
	struct kpool_task	*tail;
	u32			len;	/* its SQEs, taken so far */
};

static void kpool_chain_add(struct kpool_chain *chain, struct kpool_task *task)
{
	if (chain->head) {
		task->state = KPOOL_TASK_LINKED;
		task->link_prev = chain->tail;
		chain->tail->link_next = task;
	} else {
		chain->head = task;
	}
	chain->tail = task;
	chain->len++;
}

/*
 * A chain with an invalid SQE: the tasks collected before it complete with
 * -ECANCELED (they never were tasks of the pool: counted as refused).
 */
static void kpool_chain_fail(struct kpool_chain *chain)
{
	struct kpool_task *task;

	for (task = chain->head; task; task = task->link_next)
		kpool_sched_reject(task->pool, task->user_data, task->op,
				   -ECANCELED);
	kpool_task_release(chain->head);
	memset(chain, 0, sizeof(*chain));
}

/*
 * Give a collected chain to the scheduler.  Refused (a full or draining
 * pool), its SQEs go back to the ring untaken and its tasks are freed.
 */
static int kpool_chain_accept(struct kpool_ctx *pool,
			      struct kpool_chain *chain,
			      struct kpool_run_batch *rb, u32 *done,
			      u64 *refused_user_data, u8 *refused_op)
{
	int err = kpool_sched_accept(pool, chain->head, rb);

	if (err) {
		pool->sq_head -= chain->len;
		*done -= chain->len;
		*refused_user_data = chain->head->user_data;
		*refused_op = chain->head->op;
		kpool_task_release(chain->head);
	}
	memset(chain, 0, sizeof(*chain));
	return err;
}

/* May the task just taken (at sq_head - 1) join the batch? */
static bool kpool_inline_batchable(struct kpool_ctx *pool,
				   const struct kpool_inline_batch *batch,
				   const struct kpool_chain *chain,
				   const struct kpool_task *task)
{
	return task->run_inline && !chain->head &&
		!(task->sqe_flags & KPOOL_SQE_LINK) &&
		(s32)(pool->sq_head - 1 - batch->alone_until) >= 0;
}

/*
 * Run the batch.  The tasks that could not start inline, and those after
 * them, go back to the ring untaken (their SQEs are taken again, one at a
 * time), as do the @extra SQEs taken after the batch.  Returns how many
 * went back.
 */
static u32 kpool_inline_flush(struct kpool_ctx *pool,
			      struct kpool_inline_batch *batch, u32 *done,
			      u32 extra)
{
	u32 ran, back, i;

	if (!batch->n)
		return 0;
	ran = kpool_sched_run_inline(pool, batch);
	for (i = 0; i < batch->n; i++)
		kpool_task_release(batch->tasks[i]);
	back = batch->n - ran;
	batch->n = 0;
	if (!back)
		return 0;
	back += extra;
	pool->sq_head -= back;
	*done -= back;
	batch->alone_until = pool->sq_head + back;
	return back;
}

/*
 * Take up to @to_submit published SQEs.  Each taken SQE holds a CQ slot
 * reserved beforehand, so its CQE can always be posted.  In a blocking
 * pool, waits (until @end) for room; else stops at a full pool.
 */
int kpool_sq_submit(struct kpool_ctx *pool, u32 to_submit, ktime_t end,
		    u32 *submitted)
{
	struct kpool_inline_batch *batch = &pool->inline_batch;
	struct kpool_run_batch run = {};
	struct kpool_chain chain = {};
	u32 avail, want, room, done = 0;
	bool chain_failed = false;	/* the rest of it gets -ECANCELED */
	u64 refused_user_data = 0;
	struct kpool_sqe sqe;
	u8 refused_op = 0;
	int ret = 0;
	u64 now;

	*submitted = 0;
	if (!mutex_trylock(&pool->submit_lock)) {
		/*
		 * Another submitter, maybe of another process sharing the
		 * pool, waiting for room that our ready file tasks hold:
		 * run them first (owner.c).  Uncontended, SQEs are taken
		 * first, so a CANCEL can still reach a ready task.
		 */
		kpool_owner_serve(pool);
		if (mutex_lock_interruptible(&pool->submit_lock))
			return -EINTR;
	}
	/* A drained pool takes nothing, not even a CANCEL or a bad SQE. */
	if (READ_ONCE(pool->draining)) {
		ret = -ESHUTDOWN;
		goto out;
	}

	/* Pairs with the program's store-release of sq_tail. */
	avail = smp_load_acquire(&pool->user->sq_tail) - pool->sq_head;
	if (avail > pool->sq_entries) {
		ret = -EINVAL;
		goto out;
	}
	want = min(to_submit, avail);
	if (!want)
		goto out;
	room = kpool_cq_reserve(pool, want);
	if (!room) {
		ret = -EBUSY;
		goto out;
	}

	chain_failed = pool->sq_chain_failing;
	pool->sq_chain_failing = false;
	batch->n = 0;
	batch->alone_until = pool->sq_head;
	now = ktime_get_ns();
	while (done < room || batch->n) {
		struct kpool_task *task;
		bool links;
		int err;

		/* The last SQE taken was inline: run the batch first. */
		if (done == room) {
			kpool_inline_flush(pool, batch, &done, 0);
			continue;
		}
		task = kpool_task_alloc(pool, now);
		if (!task) {
			ret = -ENOMEM;
			break;
		}
		/* Re-read on every attempt: a retried SQE is taken afresh. */
		kpool_sqe_copy(&sqe, &pool->sqes[pool->sq_head & pool->sq_mask]);
		task->user_data = sqe.user_data;
		links = sqe.flags & KPOOL_SQE_LINK;
		pool->sq_head++;
		done++;
		if (chain_failed) {
			task->op = sqe.op;
			chain_failed = links;
			kpool_task_reject(task, -ECANCELED);
			/* Past the CQ's room, the next ENTER goes on with it. */
			if (links && done == room && room < want)
				pool->sq_chain_failing = true;
			continue;
		}
		err = kpool_task_prep(task, &sqe);
		/* A control op runs at once: it cannot wait in a chain. */
		if (!err && chain.head && task->def->flags & KPOOL_OPF_CONTROL)
			err = -EINVAL;
		if (!err && kpool_inline_batchable(pool, batch, &chain, task)) {
			batch->tasks[batch->n++] = task;
			if (batch->n == KPOOL_INLINE_BATCH ||
			    (!(batch->n % KPOOL_INLINE_BATCH_SHARED) &&
			     wq_has_sleeper(&pool->cq_wait)))
				kpool_inline_flush(pool, batch, &done, 0);
			continue;
		}
		/* Any other SQE waits for the batch before it to run. */
		if (kpool_inline_flush(pool, batch, &done, 1)) {
			kpool_task_release(task);	/* taken again */
			continue;
		}
		if (err) {
			kpool_task_reject(task, err);
			if (chain.head)
				kpool_chain_fail(&chain);
			chain_failed = links;
			if (links && done == room && room < want)
				pool->sq_chain_failing = true;
			continue;
		}
		if (task->def->flags & KPOOL_OPF_CONTROL) {
			kpool_task_finish(task, task->def->issue(task));
			continue;
		}
		kpool_chain_add(&chain, task);
		/*
		 * A chain ends at an SQE without the flag, or at the last SQE
		 * the caller asked this ENTER to take (as io_uring's does at
		 * the end of a submit).  One the CQ's room cuts short waits in
		 * the ring, whole, for room (below).
		 */
		if (links && done < room)
			continue;
		if (links && room < want)
			break;
		err = kpool_chain_accept(pool, &chain, &run, &done,
					 &refused_user_data, &refused_op);
		if (!err)
			continue;
		if (err == -EAGAIN && pool->blocking) {
			/* The room comes from those started: let them run. */
			kpool_run_batch_flush(&run);
			err = kpool_sched_wait_room(pool, end);
			now = ktime_get_ns();
			if (!err)
				continue;
		} else if (err == -EAGAIN) {
			kpool_sched_note_full(pool, refused_op,
					      refused_user_data);
		}
		ret = err;
		break;
	}
	/*
	 * Stopped by an allocation: what the batch cannot run goes back
	 * (if that is all, ENTER says ENOMEM where a full pool would say
	 * EAGAIN: both ask the program to try again).
	 */
	kpool_inline_flush(pool, batch, &done, 0);
	kpool_run_batch_flush(&run);
	/* A chain cut short by the CQ's room or an allocation goes back whole. */
	if (chain.head) {
		pool->sq_head -= chain.len;
		done -= chain.len;
		kpool_task_release(chain.head);
		if (!done && !ret)
			ret = -EBUSY;
	}
	kpool_cq_unreserve(pool, room - done);

	/* The SQEs are copied: the program may reuse their slots. */
	smp_store_release(&pool->kring->sq_head, pool->sq_head);
	*submitted = done;
	/* Running out of room or memory is no error once some were taken. */
	if (done && (ret == -EAGAIN || ret == -ESHUTDOWN || ret == -ENOMEM))
		ret = 0;
out:
	mutex_unlock(&pool->submit_lock);
	return ret;
}
