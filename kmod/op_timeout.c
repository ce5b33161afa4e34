// SPDX-License-Identifier: GPL-2.0
/*
 * TIMEOUT: completes after a delay.  An hrtimer does the waiting, so the
 * task holds no worker (it does hold a capacity slot).  The timer expires
 * at the delay or at the task's deadline, whichever is first.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include "ops.h"

struct kpool_timeout {
	struct hrtimer		timer;
	struct kpool_task	*task;
	u64			delay_ns;
	bool			by_deadline;	/* expires at the deadline */
};

static enum hrtimer_restart kpool_timeout_fired(struct hrtimer *timer)
{
	struct kpool_timeout *t = container_of(timer, struct kpool_timeout, timer);

	kpool_task_done(t->task, t->by_deadline ? -ETIME : 0);
	return HRTIMER_NORESTART;
}

int kpool_timeout_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_timeout *t = kpool_task_data(task, struct kpool_timeout);

	if (sqe->off > KTIME_MAX)
		return -EINVAL;
	t->task = task;
	t->delay_ns = sqe->off;
	/* Set up now: a cancel may look at the timer before it is armed. */
	kpool_hrtimer_setup(&t->timer, kpool_timeout_fired);
	return 0;
}

int kpool_timeout_issue(struct kpool_task *task)
{
	struct kpool_timeout *t = kpool_task_data(task, struct kpool_timeout);
	u64 end = min_t(u64, ktime_get_ns() + t->delay_ns, KTIME_MAX);

	t->by_deadline = task->deadline && task->deadline < end;
	if (t->by_deadline)
		end = task->deadline;
	if (!kpool_task_arm_timer(task, &t->timer, ns_to_ktime(end)))
		return -ECANCELED;
	return -EIOCBQUEUED;
}

int kpool_timeout_cancel(struct kpool_task *task)
{
	struct kpool_timeout *t = kpool_task_data(task, struct kpool_timeout);

	/*
	 * Under sched_lock, like kpool_task_arm_timer(): a timer not armed
	 * yet sees the request.  Only a 0 answer sets it, since it turns the
	 * task's result into -ECANCELED.
	 */
	switch (hrtimer_try_to_cancel(&t->timer)) {
	case 1:
		return KPOOL_CANCEL_STOPPED;	/* it will never fire */
	case 0:
		WRITE_ONCE(task->cancel_requested, true);
		return 0;	/* not armed yet: issue sees the request */
	default:
		return -EALREADY;	/* firing now */
	}
}
