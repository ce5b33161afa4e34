// SPDX-License-Identifier: GPL-2.0
/*
 * TIMEOUT: completes after a delay.  An hrtimer does the waiting, so the
 * task holds no worker.  Armed tasks sit on the pool's timeouts list;
 * whoever takes a task off that list (the timer, or cancel at close) is
 * the one that completes it.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include "ops.h"

struct kpool_timeout {
	struct hrtimer		timer;
	struct list_head	node;
	struct kpool_task	*task;
	u64			delay_ns;
};

int kpool_timeout_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_timeout *t = kpool_task_data(task, struct kpool_timeout);

	if (sqe->fd || sqe->addr || sqe->len || sqe->op_flags)
		return -EINVAL;
	if (sqe->off > KTIME_MAX)
		return -EINVAL;
	t->task = task;
	t->delay_ns = sqe->off;
	return 0;
}

/* Take @t off the armed list; true if the caller now owns its completion. */
static bool kpool_timeout_claim(struct kpool_pool *pool, struct kpool_timeout *t)
{
	unsigned long flags;
	bool owner;

	spin_lock_irqsave(&pool->timeout_lock, flags);
	owner = !list_empty(&t->node);
	list_del_init(&t->node);
	spin_unlock_irqrestore(&pool->timeout_lock, flags);
	return owner;
}

static enum hrtimer_restart kpool_timeout_fired(struct hrtimer *timer)
{
	struct kpool_timeout *t = container_of(timer, struct kpool_timeout, timer);

	if (kpool_timeout_claim(t->task->pool, t))
		kpool_task_complete(t->task, 0);
	return HRTIMER_NORESTART;
}

int kpool_timeout_issue(struct kpool_task *task)
{
	struct kpool_timeout *t = kpool_task_data(task, struct kpool_timeout);
	struct kpool_pool *pool = task->pool;

#ifdef KPOOL_HAVE_HRTIMER_SETUP
	hrtimer_setup(&t->timer, kpool_timeout_fired, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
#else
	hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	t->timer.function = kpool_timeout_fired;
#endif
	/* Listed before armed: the timer may fire as soon as it is started. */
	spin_lock_irq(&pool->timeout_lock);
	list_add_tail(&t->node, &pool->timeouts);
	hrtimer_start(&t->timer, ns_to_ktime(t->delay_ns), HRTIMER_MODE_REL);
	spin_unlock_irq(&pool->timeout_lock);
	return -EIOCBQUEUED;
}

void kpool_timeout_cancel_all(struct kpool_pool *pool)
{
	struct kpool_timeout *t;

	for (;;) {
		spin_lock_irq(&pool->timeout_lock);
		t = list_first_entry_or_null(&pool->timeouts,
					     struct kpool_timeout, node);
		if (t)
			list_del_init(&t->node);
		spin_unlock_irq(&pool->timeout_lock);
		if (!t)
			return;
		/* A timer callback running now finds t unlisted and backs off. */
		hrtimer_cancel(&t->timer);
		kpool_task_complete(t->task, -ECANCELED);
	}
}
