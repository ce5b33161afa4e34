// SPDX-License-Identifier: GPL-2.0
/*
 * The pool's scheduler: capacity, the bounded waiting queue, priorities,
 * deadlines of waiting tasks, cancellation, tuning and draining.
 *
 * All of it is under pool->sched_lock (irq-safe: completions come from
 * timers too).  A task the pool took is RUNNING (it holds one of the
 * capacity slots) or WAITING (on waitq[prio], in submission order) until
 * it completes.  Whoever moves a task out of WAITING (the kick that starts
 * it, its deadline timer, a cancel), or stops its timer (a cancel), owns
 * it; everyone else leaves it alone.  Completing (CQE and counters) is
 * one step under the lock; freeing comes after, outside it.
 *
 * Tasks start in kpool_sched_kick(), a loop, never by recursion: a task
 * that completes at once inside the loop is finished there and the loop
 * goes on, so a long queue cannot grow the stack.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include "kpool.h"

void kpool_sched_init(struct kpool_pool *pool)
{
	int prio;

	spin_lock_init(&pool->sched_lock);
	INIT_LIST_HEAD(&pool->tasks);
	for (prio = 0; prio < KPOOL_NR_PRIO; prio++)
		INIT_LIST_HEAD(&pool->waitq[prio]);
	init_waitqueue_head(&pool->room_wait);
	init_waitqueue_head(&pool->idle_wait);
}

/* Room for one more task: a free slot, or a free place in the queue. */
static bool kpool_sched_has_room(struct kpool_pool *pool)
{
	return READ_ONCE(pool->running) < READ_ONCE(pool->capacity) ||
		READ_ONCE(pool->waiting) < READ_ONCE(pool->max_waiting);
}

/* Wake whoever waits for what the last change may have given. */
static void kpool_sched_wake(struct kpool_pool *pool)
{
	if (wq_has_sleeper(&pool->room_wait) && kpool_sched_has_room(pool))
		wake_up_all(&pool->room_wait);
	if (wq_has_sleeper(&pool->idle_wait) &&
	    !READ_ONCE(pool->running) && !READ_ONCE(pool->waiting))
		wake_up_all(&pool->idle_wait);
}

/*
 * The task completes: post its CQE and account for it, in one step under
 * sched_lock, whatever state it left (waiting, running, or a control op
 * that never entered the scheduler).  So STATS never sees a task in no
 * bucket, never disagrees with the CQ, and a drainer that sees the pool
 * empty sees every CQE.  Its memory is freed later, outside the lock
 * (kpool_task_release()).
 */
static void kpool_sched_complete_locked(struct kpool_pool *pool,
					struct kpool_task *task, s32 res)
{
	lockdep_assert_held(&pool->sched_lock);
	kpool_cq_post(pool, task->user_data, res, task->aux);
	if (task->state == KPOOL_TASK_NEW)
		kpool_stats_submitted(pool, task);
	kpool_stats_done(pool, task, res, ktime_get_ns());
	if (task->state == KPOOL_TASK_RUNNING) {
		WRITE_ONCE(pool->running, pool->running - 1);
	} else if (task->state == KPOOL_TASK_WAITING) {
		list_del_init(&task->sched_node);
		WRITE_ONCE(pool->waiting, pool->waiting - 1);
	}
	list_del_init(&task->pool_node);
	task->state = KPOOL_TASK_DONE;
}

/* A waiting task takes a slot. */
static void kpool_sched_start_locked(struct kpool_pool *pool,
				     struct kpool_task *task, u64 now)
{
	lockdep_assert_held(&pool->sched_lock);
	list_del_init(&task->sched_node);
	WRITE_ONCE(pool->waiting, pool->waiting - 1);
	kpool_stats_waiting(pool, task, -1);
	task->state = KPOOL_TASK_RUNNING;
	task->start_ns = now;
	WRITE_ONCE(pool->running, pool->running + 1);
	kpool_stats_started(pool, task);
}

/* A waiting task reached its deadline: it completes without running. */
static enum hrtimer_restart kpool_deadline_fired(struct hrtimer *timer)
{
	struct kpool_task *task = container_of(timer, struct kpool_task,
					       deadline_timer);
	struct kpool_pool *pool = task->pool;
	unsigned long flags;
	bool owner;

	spin_lock_irqsave(&pool->sched_lock, flags);
	owner = task->state == KPOOL_TASK_WAITING;
	if (owner) {
		/* We are the timer: the release must not wait for us. */
		task->deadline_armed = false;
		kpool_sched_complete_locked(pool, task, -ETIME);
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	if (owner) {
		kpool_sched_wake(pool);
		kpool_task_release(task);
	}
	return HRTIMER_NORESTART;
}

static void kpool_deadline_arm_locked(struct kpool_task *task)
{
	kpool_hrtimer_setup(&task->deadline_timer, kpool_deadline_fired);
	task->deadline_armed = true;
	hrtimer_start(&task->deadline_timer, ns_to_ktime(task->deadline),
		      HRTIMER_MODE_ABS);
}

/*
 * Give a prepped task to the scheduler: start it if a slot is free and
 * nothing waits ahead of it, else queue it if the queue has room.
 * Returns 0, or -EAGAIN (full) or -ESHUTDOWN (draining) with the task
 * untouched.
 */
int kpool_sched_accept(struct kpool_pool *pool, struct kpool_task *task)
{
	unsigned long flags;
	bool start;
	int ret;

	if (task->deadline)	/* relative until now: submit_ns is from alloc */
		task->deadline += task->submit_ns;

	spin_lock_irqsave(&pool->sched_lock, flags);
	if (pool->draining) {
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		return -ESHUTDOWN;
	}
	start = pool->running < pool->capacity && !pool->waiting;
	if (!start && pool->waiting >= pool->max_waiting) {
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		return -EAGAIN;
	}
	list_add_tail(&task->pool_node, &pool->tasks);
	kpool_stats_submitted(pool, task);
	if (start) {
		task->state = KPOOL_TASK_RUNNING;
		task->start_ns = task->submit_ns;
		WRITE_ONCE(pool->running, pool->running + 1);
		kpool_stats_started(pool, task);
	} else {
		task->state = KPOOL_TASK_WAITING;
		list_add_tail(&task->sched_node, &pool->waitq[task->prio]);
		WRITE_ONCE(pool->waiting, pool->waiting + 1);
		kpool_stats_waiting(pool, task, 1);
		if (task->deadline)
			kpool_deadline_arm_locked(task);
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	if (start) {
		ret = kpool_task_run(task);
		if (ret != -EIOCBQUEUED) {
			kpool_task_finish(task, ret);
			kpool_sched_kick(pool);
		}
	}
	return 0;
}

/* The next waiting task, highest priority first, or NULL. */
static struct kpool_task *kpool_sched_next_locked(struct kpool_pool *pool)
{
	int prio;

	for (prio = KPOOL_NR_PRIO - 1; prio >= 0; prio--) {
		struct kpool_task *task;

		task = list_first_entry_or_null(&pool->waitq[prio],
						struct kpool_task, sched_node);
		if (task)
			return task;
	}
	return NULL;
}

/* Start waiting tasks while slots are free. */
void kpool_sched_kick(struct kpool_pool *pool)
{
	for (;;) {
		struct kpool_task *task = NULL;
		unsigned long flags;
		bool expired = false;
		int ret;

		spin_lock_irqsave(&pool->sched_lock, flags);
		if (pool->running < pool->capacity)
			task = kpool_sched_next_locked(pool);
		if (task) {
			/* The clock only when a task starts: most kicks find none. */
			u64 now = ktime_get_ns();

			expired = task->deadline && now >= task->deadline;
			if (expired)
				kpool_sched_complete_locked(pool, task, -ETIME);
			else
				kpool_sched_start_locked(pool, task, now);
		}
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		if (!task)
			return;

		/* A deadline timer already firing finds the task gone. */
		if (task->deadline_armed &&
		    hrtimer_try_to_cancel(&task->deadline_timer) >= 0)
			task->deadline_armed = false;
		kpool_sched_wake(pool);

		if (expired) {
			kpool_task_release(task);
			continue;
		}
		ret = kpool_task_run(task);
		if (ret != -EIOCBQUEUED)
			kpool_task_finish(task, ret);
	}
}

/* The task completed with @res: its CQE, its accounting, then wakeups. */
void kpool_sched_complete(struct kpool_task *task, s32 res)
{
	struct kpool_pool *pool = task->pool;
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	kpool_sched_complete_locked(pool, task, res);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	kpool_sched_wake(pool);
}

/* An SQE refused as invalid: its CQE says why; it never was a task. */
void kpool_sched_reject(struct kpool_pool *pool, u64 user_data,
			unsigned int op, s32 res)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	kpool_cq_post(pool, user_data, res, 0);
	kpool_stats_rejected(pool, op);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
}

/*
 * Arm @timer of a running task unless a cancel came first.  Under
 * sched_lock, so a cancel either finds the timer armed (and stops it) or
 * leaves cancel_requested for us to see.  False: cancelled, not armed.
 */
bool kpool_task_arm_timer(struct kpool_task *task, struct hrtimer *timer,
			  ktime_t expires)
{
	struct kpool_pool *pool = task->pool;
	unsigned long flags;
	bool armed = false;

	spin_lock_irqsave(&pool->sched_lock, flags);
	if (!task->cancel_requested) {
		hrtimer_start(timer, expires, HRTIMER_MODE_ABS);
		armed = true;
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	return armed;
}

/* A non-blocking pool refused an SQE for lack of room: count it. */
void kpool_sched_note_full(struct kpool_pool *pool, unsigned int op)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	kpool_stats_rejected(pool, op);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
}

/* The cancel hook of an op that polls kpool_task_should_stop(). */
int kpool_task_cancel_cooperative(struct kpool_task *task)
{
	WRITE_ONCE(task->cancel_requested, true);
	return 0;
}

/* A running cooperative task polls this between steps. */
bool kpool_task_should_stop(struct kpool_task *task, int *res)
{
	if (READ_ONCE(task->cancel_requested)) {
		*res = -ECANCELED;
		return true;
	}
	if (task->deadline && ktime_get_ns() >= task->deadline) {
		*res = -ETIME;
		return true;
	}
	return false;
}

/*
 * Cancel one task, under sched_lock.  A task it stops is completed with
 * -ECANCELED here and put on @done to be released after the lock.
 * Returns 0 (cancelled, or will stop), or -EALREADY (running and not
 * interruptible, or already completing).
 */
static int kpool_task_cancel_locked(struct kpool_pool *pool,
				    struct kpool_task *task,
				    struct list_head *done)
{
	int ret;

	switch (task->state) {
	case KPOOL_TASK_WAITING:
		break;
	case KPOOL_TASK_RUNNING:
		if (!task->def->cancel)
			return -EALREADY;
		ret = task->def->cancel(task);
		if (ret != KPOOL_CANCEL_STOPPED)
			return ret;
		break;
	default:
		return -EALREADY;
	}
	kpool_sched_complete_locked(pool, task, -ECANCELED);
	list_add_tail(&task->sched_node, done);
	return 0;
}

/*
 * Cancel the first task whose user_data matches, or with @all every task.
 * Returns 0, -ENOENT or -EALREADY for one task; how many for @all.
 */
int kpool_sched_cancel(struct kpool_pool *pool, u64 user_data, bool all)
{
	struct kpool_task *task, *next;
	unsigned long flags;
	LIST_HEAD(done);
	int ret = -ENOENT, count = 0;

	spin_lock_irqsave(&pool->sched_lock, flags);
	list_for_each_entry_safe(task, next, &pool->tasks, pool_node) {
		if (!all && task->user_data != user_data)
			continue;
		ret = kpool_task_cancel_locked(pool, task, &done);
		if (!all)
			break;
		if (!ret)
			count++;
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	list_for_each_entry_safe(task, next, &done, sched_node) {
		list_del_init(&task->sched_node);
		kpool_task_release(task);
	}
	/* Cancelled running tasks freed slots; waiting ones freed room. */
	kpool_sched_wake(pool);
	kpool_sched_kick(pool);
	return all ? count : ret;
}

/* A blocking pool's submitter waits here for room; 0, -ETIME, -EINTR. */
int kpool_sched_wait_room(struct kpool_pool *pool, ktime_t end)
{
	return kpool_wait_event_until(pool->room_wait,
				      kpool_sched_has_room(pool) ||
				      READ_ONCE(pool->draining), end);
}

int kpool_sched_tune(struct kpool_pool *pool, u32 capacity, u32 *prev)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	*prev = pool->capacity;
	WRITE_ONCE(pool->capacity, capacity);
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	kpool_sched_kick(pool);
	kpool_sched_wake(pool);
	return 0;
}

/* Stop taking work, then wait until every task taken has completed. */
int kpool_sched_drain(struct kpool_pool *pool, ktime_t end)
{
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&pool->sched_lock, flags);
	WRITE_ONCE(pool->draining, true);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	/* Blocked submitters must see draining and give up. */
	wake_up_all(&pool->room_wait);

	ret = kpool_wait_event_until(pool->idle_wait,
				     !READ_ONCE(pool->running) &&
				     !READ_ONCE(pool->waiting), end);
	/* Pairs with kpool_sched_complete(): every CQE is posted by now. */
	spin_lock_irqsave(&pool->sched_lock, flags);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	return ret;
}
