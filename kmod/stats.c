// SPDX-License-Identifier: GPL-2.0
/*
 * Pool counters and latency histograms.  Every update happens under
 * pool->sched_lock together with the scheduler change it describes, and
 * STATS copies them under the same lock, so a reader always sees one
 * instant: submitted = completed + running + waiting.
 */
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "kpool.h"

static unsigned int kpool_hist_bucket(u64 ns)
{
	return ns ? min_t(unsigned int, ilog2(ns), KPOOL_HIST_BUCKETS - 1) : 0;
}

void kpool_stats_submitted(struct kpool_pool *pool, struct kpool_task *task)
{
	lockdep_assert_held(&pool->sched_lock);
	pool->stats.total.submitted++;
	pool->stats.op[task->op].submitted++;
}

void kpool_stats_waiting(struct kpool_pool *pool, struct kpool_task *task,
			 int delta)
{
	struct kpool_counters *c[2] = {
		&pool->stats.total, &pool->stats.op[task->op]
	};
	int i;

	lockdep_assert_held(&pool->sched_lock);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i]->waiting += delta;
		c[i]->peak_waiting = max(c[i]->peak_waiting, c[i]->waiting);
	}
}

void kpool_stats_started(struct kpool_pool *pool, struct kpool_task *task)
{
	struct kpool_counters *c[2] = {
		&pool->stats.total, &pool->stats.op[task->op]
	};
	unsigned int b = kpool_hist_bucket(task->start_ns - task->submit_ns);
	int i;

	lockdep_assert_held(&pool->sched_lock);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i]->started++;
		c[i]->running++;
		c[i]->peak_running = max(c[i]->peak_running, c[i]->running);
		c[i]->wait_hist[b]++;
	}
}

/*
 * The task completed with @res, leaving the state it is still in: a
 * RUNNING task gives back its slot and adds its run time, a WAITING one
 * (cancelled, or past its deadline) leaves the queue without running, a
 * control op (NEW) ran without a slot.
 */
void kpool_stats_done(struct kpool_pool *pool, struct kpool_task *task,
		      s32 res, u64 now)
{
	struct kpool_counters *c[2] = {
		&pool->stats.total, &pool->stats.op[task->op]
	};
	/* A READY task holds its slot: it counts as running (owner.c). */
	bool held_slot = task->state == KPOOL_TASK_RUNNING ||
			 task->state == KPOOL_TASK_READY;
	bool ran = held_slot || task->state == KPOOL_TASK_NEW;
	unsigned int run_b = kpool_hist_bucket(now - task->start_ns);
	unsigned int wait_b = kpool_hist_bucket(task->start_ns - task->submit_ns);
	int i;

	lockdep_assert_held(&pool->sched_lock);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i]->completed++;
		if (res == -ECANCELED)
			c[i]->cancelled++;
		else if (res == -ETIME)
			c[i]->timed_out++;
		else if (res < 0)
			c[i]->failed++;
		if (held_slot)
			c[i]->running--;
		if (task->state == KPOOL_TASK_WAITING)
			c[i]->waiting--;
		if (task->state == KPOOL_TASK_NEW) {
			c[i]->started++;
			c[i]->wait_hist[wait_b]++;
		}
		if (ran)
			c[i]->run_hist[run_b]++;
	}
}

void kpool_stats_rejected(struct kpool_pool *pool, unsigned int op)
{
	lockdep_assert_held(&pool->sched_lock);
	pool->stats.total.rejected++;
	if (op < KPOOL_OP_LAST)
		pool->stats.op[op].rejected++;
}

int kpool_stats_read(struct kpool_pool *pool, struct kpool_stats *st)
{
	u32 n = min_t(u32, st->nr_ops, KPOOL_OP_LAST);
	struct kpool_pool_stats *snap;
	unsigned long flags;
	int ret = 0;

	snap = kmalloc(sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	spin_lock_irqsave(&pool->sched_lock, flags);
	memcpy(snap, &pool->stats, sizeof(*snap));
	st->capacity = pool->capacity;
	st->max_waiting = pool->max_waiting;
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	if (st->total_ptr &&
	    copy_to_user(u64_to_user_ptr(st->total_ptr), &snap->total,
			 sizeof(snap->total)))
		ret = -EFAULT;
	if (!ret && n &&
	    copy_to_user(u64_to_user_ptr(st->ops_ptr), snap->op,
			 array_size(n, sizeof(snap->op[0]))))
		ret = -EFAULT;
	st->nr_ops = KPOOL_OP_LAST;
	kfree(snap);
	return ret;
}
