// SPDX-License-Identifier: GPL-2.0
/*
 * The pool's scheduler: capacity, the bounded waiting queue, priorities,
 * deadlines of waiting tasks, cancellation, tuning and draining.
 *
 * All of it is under pool->sched_lock (irq-safe: completions come from
 * timers too).  A task the pool took is RUNNING (it holds one of the
 * capacity slots), READY (holds a slot and waits for a thread of its
 * process: owner.c) or WAITING (on waitq[prio], in submission order) until
 * it completes.  Whoever moves a task out of WAITING or READY (the kick
 * that starts it, the deadline work, a cancel, the thread that takes it),
 * or stops its timer (a cancel), owns it; everyone else leaves it alone.
 * Completing (CQE and counters) is one step under the lock; freeing comes
 * after, outside it.
 *
 * A task that runs on a kernel worker also needs one of the pool's
 * max_workers worker places, so that one pool cannot fill the shared
 * workqueues ahead of everyone else's work.  Without one it waits, even
 * with a slot free.
 *
 * Deadlines of waiting tasks are watched by one timer per pool, set to
 * the earliest; it fires in softirq context and hands the expiry to a work
 * item, which completes the expired tasks in bounded batches.
 *
 * Tasks start in kpool_sched_kick(), a loop, never by recursion: a task
 * that completes at once inside the loop is finished there and the loop
 * goes on, so a long queue cannot grow the stack.
 *
 * Chains (KPOOL_SQE_LINK): the tasks of a chain after its first are
 * LINKED, reachable only through link_next from the task before them (not
 * on pool->tasks, so walks of that list never meet a task a completion
 * may free).  When a task completes, in the same hold of sched_lock, the
 * next task of its chain joins the queue (success) or completes with
 * -ECANCELED together with the rest (failure), and stays linked so that
 * kpool_task_release() frees it; so a drainer never sees an empty pool
 * while a chain has tasks to come.  Every caller of a completion kicks
 * afterwards, which starts the task that joined.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include "kpool.h"
#include "ops.h"
#include "kpool_trace.h"

/* Most expired tasks the deadline work completes per lock hold. */
#define KPOOL_EXPIRE_BATCH	64

static enum hrtimer_restart kpool_deadline_fired(struct hrtimer *timer);
static void kpool_expire_work(struct work_struct *work);
static void kpool_deadline_arm_locked(struct kpool_ctx *pool, u64 deadline);

void kpool_sched_init(struct kpool_ctx *pool)
{
	int prio;

	spin_lock_init(&pool->sched_lock);
	INIT_LIST_HEAD(&pool->tasks);
	INIT_LIST_HEAD(&pool->owner_ready);
	for (prio = 0; prio < KPOOL_NR_PRIO; prio++)
		INIT_LIST_HEAD(&pool->waitq[prio]);
	init_waitqueue_head(&pool->room_wait);
	init_waitqueue_head(&pool->idle_wait);
	kpool_hrtimer_setup(&pool->deadline_timer, kpool_deadline_fired);
	INIT_WORK(&pool->expire_work, kpool_expire_work);
	pool->deadline_next = KTIME_MAX;
	kpool_workers_init(pool);
}

/* Once no task is left: nothing may touch the pool afterwards. */
void kpool_sched_stop_timers(struct kpool_ctx *pool)
{
	/* The work may arm the timer, and the timer queue the work. */
	cancel_work_sync(&pool->expire_work);
	hrtimer_cancel(&pool->deadline_timer);
	cancel_work_sync(&pool->expire_work);
}

/* Does the task run on a kernel worker (and need a worker place)? */
bool kpool_task_needs_worker(const struct kpool_task *task)
{
	return !task->run_inline &&
		!(task->def->flags & (KPOOL_OPF_ISSUE_INLINE | KPOOL_OPF_CONTROL |
				      KPOOL_OPF_OWNER | KPOOL_OPF_USER));
}

/*
 * Is a slot free?  A user function whose worker thread sleeps lends its
 * slot out until it runs again (worker.c).
 */
static bool kpool_sched_slot_free_locked(struct kpool_ctx *pool)
{
	return pool->running - kpool_workers_blocked(pool) < pool->capacity;
}

/*
 * May @task take a slot now (nothing waiting ahead of it considered)?  A
 * task for a kernel worker needs a worker place, a user function a parked
 * worker thread of its process.
 */
static bool kpool_sched_can_start_locked(struct kpool_ctx *pool,
					 const struct kpool_task *task)
{
	if (!kpool_sched_slot_free_locked(pool))
		return false;
	if (task->def->flags & KPOOL_OPF_USER)
		return kpool_worker_available_locked(pool, task);
	return !kpool_task_needs_worker(task) ||
		pool->workers < READ_ONCE(kpool_max_workers);
}

/*
 * Does the task leave the starter's hands when it starts?  A file task is
 * READY for its process's threads (and they must be told), a user
 * function given to a worker thread, which is woken already.
 */
static bool kpool_task_handed_off(const struct kpool_task *task, bool *notify)
{
	*notify = task->def->flags & KPOOL_OPF_OWNER;
	return task->def->flags & (KPOOL_OPF_OWNER | KPOOL_OPF_USER);
}

/*
 * Room for one more task: a free place in the queue.  While every worker
 * place is taken, the free slots count as places too: tasks held back only
 * for a worker place sit in them, so the pool still takes capacity +
 * max_waiting tasks, as its settings promise.
 */
static bool kpool_sched_has_room(struct kpool_ctx *pool)
{
	u32 running = READ_ONCE(pool->running);
	u32 capacity = READ_ONCE(pool->capacity);
	u32 held_back = 0;

	if (running < capacity &&
	    READ_ONCE(pool->workers) >= READ_ONCE(kpool_max_workers))
		held_back = capacity - running;
	return READ_ONCE(pool->waiting) <
		READ_ONCE(pool->max_waiting) + held_back;
}

/* Wake whoever waits for what the last change may have given. */
static void kpool_sched_wake(struct kpool_ctx *pool)
{
	if (wq_has_sleeper(&pool->room_wait) && kpool_sched_has_room(pool))
		wake_up_all(&pool->room_wait);
	if (wq_has_sleeper(&pool->idle_wait) &&
	    !READ_ONCE(pool->running) && !READ_ONCE(pool->waiting))
		wake_up_all(&pool->idle_wait);
	/* Parked worker threads go home once nothing can come. */
	if (READ_ONCE(pool->draining) && !READ_ONCE(pool->waiting) &&
	    !READ_ONCE(pool->linked))
		kpool_workers_wake(pool);
}

/* Queue a task that may not start yet: it waits for a slot. */
static void kpool_sched_queue_locked(struct kpool_ctx *pool,
				     struct kpool_task *task)
{
	task->state = KPOOL_TASK_WAITING;
	list_add_tail(&task->sched_node, &pool->waitq[task->prio]);
	WRITE_ONCE(pool->waiting, pool->waiting + 1);
	kpool_stats_waiting(pool, task, 1);
	if (task->deadline)
		kpool_deadline_arm_locked(pool, task->deadline);
}

/* A completion's accounting, all of it but the CQE: see below. */
static void kpool_sched_account_locked(struct kpool_ctx *pool,
				       struct kpool_task *task, s32 res,
				       u64 now)
{
	if (task->state == KPOOL_TASK_NEW || task->state == KPOOL_TASK_LINKED) {
		trace_kpool_task_submit(task);
		kpool_stats_submitted(pool, task);
	}
	trace_kpool_task_complete(task, res, now);
	kpool_stats_done(pool, task, res, now);
	switch (task->state) {
	case KPOOL_TASK_READY:
		list_del_init(&task->sched_node);
		WRITE_ONCE(pool->owner_ready_count, pool->owner_ready_count - 1);
		kpool_owner_set_ring_flag_locked(pool);
		fallthrough;
	case KPOOL_TASK_RUNNING:
		WRITE_ONCE(pool->running, pool->running - 1);
		break;
	case KPOOL_TASK_WAITING:
		list_del_init(&task->sched_node);
		WRITE_ONCE(pool->waiting, pool->waiting - 1);
		break;
	case KPOOL_TASK_LINKED:
		WRITE_ONCE(pool->linked, pool->linked - 1);
		break;
	}
	if (task->on_worker) {
		task->on_worker = false;
		pool->workers--;
	}
	if (task->stuck)
		pool->stuck_now--;
	list_del_init(&task->pool_node);
	task->state = KPOOL_TASK_DONE;
}

/*
 * Post the task's CQE and account for it, in one step under sched_lock,
 * whatever state it left (waiting, running, linked, or a control op that
 * never entered the scheduler).  So STATS never sees a task in no bucket,
 * never disagrees with the CQ, and a drainer that sees the pool empty
 * sees every CQE.  Its memory is freed later, outside the lock
 * (kpool_task_release()).  A quiet task (its worker takes the result,
 * worker.c) gives back its CQ slot instead.  Returns the result it
 * completed with.
 */
static s32 kpool_sched_post_locked(struct kpool_ctx *pool,
				   struct kpool_task *task, s32 res, u64 now)
{
	lockdep_assert_held(&pool->sched_lock);
	/* A CANCEL that answered 0 promised -ECANCELED: keep the promise. */
	if (task->cancel_requested && res >= 0)
		res = -ECANCELED;
	if (task->quiet)
		kpool_cq_skip(pool);
	else
		kpool_cq_post(pool, task->user_data, res, task->aux);
	kpool_sched_account_locked(pool, task, res, now);
	return res;
}

/*
 * Cancel the tasks of a chain after @prev: they complete with -ECANCELED
 * now and never start.  The first of them goes on @done (if given; else
 * it stays linked behind @prev) and takes the rest along when it is
 * released.  Returns how many.
 */
static int kpool_chain_cancel_locked(struct kpool_ctx *pool,
				     struct kpool_task *prev,
				     struct list_head *done, u64 now)
{
	struct kpool_task *first = prev->link_next, *task;
	int n = 0;

	for (task = first; task; task = task->link_next, n++)
		kpool_sched_post_locked(pool, task, -ECANCELED, now);
	if (first && done) {
		prev->link_next = NULL;
		first->link_prev = NULL;
		list_add_tail(&first->sched_node, done);
	}
	return n;
}

/*
 * pool->tasks is in submission order (the stuck watchdog and fdinfo's
 * oldest task rely on it): a task of a chain joins it where its
 * submission time puts it, usually near the tail.
 */
static void kpool_sched_add_in_order_locked(struct kpool_ctx *pool,
					    struct kpool_task *task)
{
	struct kpool_task *pos;

	list_for_each_entry_reverse(pos, &pool->tasks, pool_node)
		if (pos->submit_ns <= task->submit_ns)
			break;
	list_add(&task->pool_node, &pos->pool_node);
}

/*
 * @task completed with @res: the next task of its chain joins the queue if
 * it succeeded, else the rest of the chain is cancelled.
 */
static void kpool_chain_advance_locked(struct kpool_ctx *pool,
				       struct kpool_task *task, s32 res,
				       u64 now)
{
	struct kpool_task *next = task->link_next;

	if (res < 0 || ((task->def->flags & KPOOL_OPF_LINK_FULL) &&
			res != task->len)) {
		kpool_chain_cancel_locked(pool, task, NULL, now);
		return;
	}
	task->link_next = NULL;
	next->link_prev = NULL;
	WRITE_ONCE(pool->linked, pool->linked - 1);
	kpool_sched_add_in_order_locked(pool, next);
	trace_kpool_task_submit(next);
	kpool_stats_submitted(pool, next);
	kpool_sched_queue_locked(pool, next);
}

/* The task completes: its CQE, its accounting, the rest of its chain. */
static s32 kpool_sched_complete_at_locked(struct kpool_ctx *pool,
					  struct kpool_task *task, s32 res,
					  u64 now)
{
	res = kpool_sched_post_locked(pool, task, res, now);
	if (task->link_next)
		kpool_chain_advance_locked(pool, task, res, now);
	return res;
}

static s32 kpool_sched_complete_locked(struct kpool_ctx *pool,
				       struct kpool_task *task, s32 res)
{
	return kpool_sched_complete_at_locked(pool, task, res, ktime_get_ns());
}

/* The task takes a slot (and a worker place if it needs one). */
static void kpool_sched_take_slot_locked(struct kpool_ctx *pool,
					 struct kpool_task *task, u64 now)
{
	task->state = KPOOL_TASK_RUNNING;
	task->start_ns = now;
	trace_kpool_task_start(task);
	WRITE_ONCE(pool->running, pool->running + 1);
	if (kpool_task_needs_worker(task)) {
		task->on_worker = true;
		pool->workers++;
	}
	kpool_stats_started(pool, task);
	if (task->def->flags & KPOOL_OPF_OWNER)
		kpool_owner_ready_locked(pool, task);
	else if (task->def->flags & KPOOL_OPF_USER)
		kpool_worker_give_locked(pool, task);
}

/* A waiting task takes a slot. */
static void kpool_sched_start_locked(struct kpool_ctx *pool,
				     struct kpool_task *task, u64 now)
{
	lockdep_assert_held(&pool->sched_lock);
	list_del_init(&task->sched_node);
	WRITE_ONCE(pool->waiting, pool->waiting - 1);
	kpool_stats_waiting(pool, task, -1);
	kpool_sched_take_slot_locked(pool, task, now);
}

/* Softirq: the earliest deadline came; the work item does the rest. */
static enum hrtimer_restart kpool_deadline_fired(struct hrtimer *timer)
{
	struct kpool_ctx *pool = container_of(timer, struct kpool_ctx,
					       deadline_timer);

	queue_work(system_wq, &pool->expire_work);
	return HRTIMER_NORESTART;
}

/* Make the pool's timer fire by @deadline. */
static void kpool_deadline_arm_locked(struct kpool_ctx *pool, u64 deadline)
{
	lockdep_assert_held(&pool->sched_lock);
	if (deadline >= pool->deadline_next)
		return;
	pool->deadline_next = deadline;
	hrtimer_start(&pool->deadline_timer, ns_to_ktime(deadline),
		      KPOOL_HRTIMER_MODE);
}

/*
 * Move up to KPOOL_EXPIRE_BATCH expired waiting tasks to @done, completed
 * with -ETIME.  Returns true if more may be expired; else the timer is set
 * to the earliest deadline left.
 */
static bool kpool_expire_batch_locked(struct kpool_ctx *pool,
				      struct list_head *done)
{
	u64 now = ktime_get_ns(), next = KTIME_MAX;
	unsigned int n = 0;
	int prio;

	for (prio = 0; prio < KPOOL_NR_PRIO; prio++) {
		struct kpool_task *task, *tmp, *member;

		list_for_each_entry_safe(task, tmp, &pool->waitq[prio],
					 sched_node) {
			if (!task->deadline)
				continue;
			if (task->deadline > now) {
				next = min(next, task->deadline);
				continue;
			}
			if (n >= KPOOL_EXPIRE_BATCH)
				return true;
			/* Its chain's other tasks complete with it. */
			for (member = task; member; member = member->link_next)
				n++;
			kpool_sched_complete_locked(pool, task, -ETIME);
			list_add_tail(&task->sched_node, done);
		}
	}
	pool->deadline_next = KTIME_MAX;
	if (next != KTIME_MAX)
		kpool_deadline_arm_locked(pool, next);
	return false;
}

static void kpool_expire_work(struct work_struct *work)
{
	struct kpool_ctx *pool = container_of(work, struct kpool_ctx,
					       expire_work);
	bool more;

	do {
		struct kpool_task *task, *next;
		unsigned long flags;
		LIST_HEAD(done);

		spin_lock_irqsave(&pool->sched_lock, flags);
		more = kpool_expire_batch_locked(pool, &done);
		spin_unlock_irqrestore(&pool->sched_lock, flags);

		list_for_each_entry_safe(task, next, &done, sched_node) {
			list_del_init(&task->sched_node);
			kpool_task_release(task);
		}
		kpool_sched_wake(pool);
		cond_resched();
	} while (more);
	/* Expired heads may have held back startable tasks. */
	kpool_sched_kick(pool);
}

/*
 * An inline op (KPOOL_OPF_INLINE) that can start in the submitter's ENTER
 * starts, runs and completes in one hold of sched_lock, with no clock read
 * of its own (it runs briefly, a page of data at most, so its run time
 * counts as 0 and its CQE carries its submission time).  No one else ever sees it: not on
 * pool->tasks, no cancel can have asked it to stop, and the slot it holds
 * while it runs is taken and given back inside this hold, so running
 * never shows it (the counters do: kpool_stats_inline()).  It needs no
 * worker place and is no file or user task.  Its CQE goes into @cqe, for
 * the caller to post.
 */
static void kpool_sched_run_one_inline_locked(struct kpool_ctx *pool,
					      struct kpool_task *task,
					      struct kpool_cqe *cqe)
{
	lockdep_assert_held(&pool->sched_lock);
	trace_kpool_task_submit(task);
	task->state = KPOOL_TASK_RUNNING;
	task->start_ns = task->submit_ns;
	trace_kpool_task_start(task);
	cqe->user_data = task->user_data;
	cqe->res = task->def->issue(task);
	cqe->aux = task->aux;
	trace_kpool_task_complete(task, cqe->res, task->submit_ns);
	kpool_stats_inline(pool, task, cqe->res);
	task->state = KPOOL_TASK_DONE;
}

/*
 * After inline tasks ran, outside sched_lock: wake who waits for what
 * they gave back, and start what another submitter queued meanwhile.
 */
static void kpool_sched_after_inline(struct kpool_ctx *pool, bool kick)
{
	kpool_sched_wake(pool);
	if (kick)
		kpool_sched_kick(pool);
}

/*
 * ENTER's batch of inline tasks, taken one after the other from the SQ
 * (io_uring's inline issue with batched completion): those that can start
 * now run in one hold of sched_lock, in order, and their CQEs are posted
 * together (one tail store, one wakeup).  The first that cannot start (a
 * task waits ahead of it, no slot is free, the pool drains) stops the
 * batch: it and those after it are the caller's.  The tasks are lone (no
 * chain).  Returns how many ran; the caller releases them.
 */
u32 kpool_sched_run_inline(struct kpool_ctx *pool,
			   struct kpool_inline_batch *batch)
{
	u32 n = min_t(u32, batch->n, KPOOL_INLINE_BATCH);
	unsigned long flags;
	bool kick;
	u32 ran;

	spin_lock_irqsave(&pool->sched_lock, flags);
	for (ran = 0; ran < n; ran++) {
		if (pool->draining || pool->waiting ||
		    !kpool_sched_can_start_locked(pool, batch->tasks[ran]))
			break;
		kpool_sched_run_one_inline_locked(pool, batch->tasks[ran],
						  &batch->cqes[ran]);
	}
	/* Under sched_lock, as every post: STATS never sees them apart. */
	kpool_cq_post_many(pool, batch->cqes, ran);
	kick = pool->waiting;
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	if (ran)
		kpool_sched_after_inline(pool, kick);
	return ran;
}

/* The next waiting task, highest priority first, or NULL. */
static struct kpool_task *kpool_sched_next_locked(struct kpool_ctx *pool)
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

/*
 * Give a prepped task to the scheduler: start it if a slot is free and
 * nothing waits ahead of it, else queue it if the queue has room.  The
 * rest of its chain, if any, hangs off it LINKED.  Returns 0, or -EAGAIN
 * (full) or -ESHUTDOWN (draining) with the tasks for the caller to free
 * (their deadlines made absolute).
 */
int kpool_sched_accept(struct kpool_ctx *pool, struct kpool_task *task,
		       struct kpool_run_batch *rb)
{
	bool start, handed = false, notify = false, recheck = false;
	struct kpool_task *member;
	unsigned long flags;
	u32 followers = 0;
	int ret;

	/*
	 * Deadlines are relative until now (submit_ns is from alloc); far
	 * ones clamped.  One walk of the chain also counts what hangs off it.
	 */
	for (member = task; member; member = member->link_next) {
		if (member->deadline)
			member->deadline = min_t(u64, member->deadline,
						 KTIME_MAX - member->submit_ns) +
					   member->submit_ns;
		followers += member != task;
	}

	spin_lock_irqsave(&pool->sched_lock, flags);
	if (pool->draining) {
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		return -ESHUTDOWN;
	}
	start = !pool->waiting && kpool_sched_can_start_locked(pool, task);
	if (!start && !kpool_sched_has_room(pool)) {
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		return -EAGAIN;
	}
	WRITE_ONCE(pool->linked, pool->linked + followers);
	if (start && task->run_inline) {
		struct kpool_cqe cqe;
		bool kick;

		kpool_sched_run_one_inline_locked(pool, task, &cqe);
		kpool_cq_post_many(pool, &cqe, 1);
		/* A chain's head: the rest goes on after its CQE. */
		if (task->link_next)
			kpool_chain_advance_locked(pool, task, cqe.res,
						   task->submit_ns);
		kick = pool->waiting;
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		kpool_sched_after_inline(pool, kick);
		kpool_task_release(task);
		return 0;
	}
	list_add_tail(&task->pool_node, &pool->tasks);
	trace_kpool_task_submit(task);
	kpool_stats_submitted(pool, task);
	if (start) {
		kpool_sched_take_slot_locked(pool, task, task->submit_ns);
		/* READY or given now: may be gone as soon as the lock drops. */
		handed = kpool_task_handed_off(task, &notify);
	} else {
		kpool_sched_queue_locked(pool, task);
		/* See below: a pool where user functions come and go. */
		recheck = pool->had_workers ||
			  kpool_sched_next_locked(pool)->def->flags & KPOOL_OPF_USER;
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	if (recheck) {
		/*
		 * A worker that blocked just now may have missed this task
		 * (pairs with smp_mb__after_atomic() in the workers' sched_out:
		 * one of us sees the other), and a waiting user function of a
		 * process that has exited may be holding the queue: look again.
		 */
		smp_mb();
		kpool_sched_kick(pool);
	}
	if (notify)
		kpool_owner_notify(pool);
	if (!handed && start) {
		ret = kpool_task_run(task, rb);
		if (ret != -EIOCBQUEUED) {
			kpool_task_finish(task, ret);
			kpool_sched_kick(pool);
		}
	}
	return 0;
}

/*
 * A user function whose process has exited: no worker of it will ever
 * park, and it would hold the queue behind it (a pool shared after fork
 * or SCM_RIGHTS).  Cancelled where the queue finds it stuck.
 */
static bool kpool_task_orphaned(const struct kpool_task *task)
{
	return (task->def->flags & KPOOL_OPF_USER) &&
		!pid_has_task(task->owner, PIDTYPE_TGID);
}

/* Start waiting tasks while slots are free. */
void kpool_sched_kick(struct kpool_ctx *pool)
{
	struct kpool_run_batch rb = {};

	for (;;) {
		struct kpool_task *task = NULL;
		unsigned long flags;
		bool handed = false, notify = false, orphan = false;
		int ret;

		spin_lock_irqsave(&pool->sched_lock, flags);
		if (kpool_sched_slot_free_locked(pool))
			task = kpool_sched_next_locked(pool);
		/* Not in its ENTER any more: an inline op goes to a worker. */
		if (task)
			task->run_inline = false;
		/* In order: the first in line waits for a worker place. */
		if (task && !kpool_sched_can_start_locked(pool, task)) {
			orphan = kpool_task_orphaned(task);
			if (orphan)
				kpool_sched_complete_locked(pool, task,
							    -ECANCELED);
			else
				task = NULL;
		}
		if (orphan) {
			spin_unlock_irqrestore(&pool->sched_lock, flags);
			kpool_sched_wake(pool);
			kpool_task_release(task);
			continue;
		}
		if (task) {
			/* The clock only when a task starts: most kicks find none. */
			u64 now = ktime_get_ns();

			if (task->deadline && now >= task->deadline) {
				/*
				 * Expiring is the deadline work's job, in
				 * batches, in process context (a kick may run
				 * in a timer's softirq); it kicks again.
				 */
				queue_work(system_wq, &pool->expire_work);
				task = NULL;
			} else {
				kpool_sched_start_locked(pool, task, now);
				/* READY or given: may be gone once unlocked. */
				handed = kpool_task_handed_off(task, &notify);
			}
		}
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		if (!task) {
			kpool_run_batch_flush(&rb);
			return;
		}

		kpool_sched_wake(pool);
		if (notify)
			kpool_owner_notify(pool);
		if (handed)
			continue;
		ret = kpool_task_run(task, &rb);
		if (ret != -EIOCBQUEUED)
			kpool_task_finish(task, ret);
	}
}

/*
 * The task completed with @res: its CQE, its accounting, then wakeups.
 * Returns the result it completed with (a cancel may have changed it).
 */
s32 kpool_sched_complete(struct kpool_task *task, s32 res)
{
	struct kpool_ctx *pool = task->pool;
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	res = kpool_sched_complete_locked(pool, task, res);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	kpool_sched_wake(pool);
	return res;
}

/*
 * Tasks a kernel worker ran, completed together: one hold of sched_lock,
 * one clock read and one wakeup for them all (io_uring's
 * __io_submit_flush_completions), then each freed.  The caller holds a
 * ref on the pool and kicks it after.
 */
void kpool_sched_complete_batch(struct kpool_ctx *pool,
				struct kpool_task **tasks, const s32 *res,
				unsigned int n)
{
	unsigned long flags;
	unsigned int i;
	u64 now;

	spin_lock_irqsave(&pool->sched_lock, flags);
	now = ktime_get_ns();
	for (i = 0; i < n; i++)
		kpool_sched_complete_at_locked(pool, tasks[i], res[i], now);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	kpool_sched_wake(pool);
	for (i = 0; i < n; i++)
		kpool_task_release(tasks[i]);
}

/* An SQE refused as invalid: its CQE says why; it never was a task. */
void kpool_sched_reject(struct kpool_ctx *pool, u64 user_data,
			unsigned int op, s32 res)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	kpool_cq_post(pool, user_data, res, 0);
	trace_kpool_task_reject(pool->id, op, user_data, res);
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
	struct kpool_ctx *pool = task->pool;
	unsigned long flags;
	bool armed = false;

	spin_lock_irqsave(&pool->sched_lock, flags);
	if (!task->cancel_requested) {
		hrtimer_start(timer, expires, KPOOL_HRTIMER_MODE);
		armed = true;
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	return armed;
}

/* A full non-blocking pool refused an SQE: count it. */
void kpool_sched_note_full(struct kpool_ctx *pool, unsigned int op,
			   u64 user_data)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	trace_kpool_task_reject(pool->id, op, user_data, -EAGAIN);
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
static int kpool_task_cancel_locked(struct kpool_ctx *pool,
				    struct kpool_task *task,
				    struct list_head *done)
{
	int ret;

	switch (task->state) {
	case KPOOL_TASK_WAITING:
	case KPOOL_TASK_READY:
		break;
	case KPOOL_TASK_RUNNING:
		if (!task->def->cancel)
			return -EALREADY;
		ret = task->def->cancel(task);
		/*
		 * A kernel worker's task may still wait in its run batch,
		 * which will complete it: its op may only ask it to stop
		 * (ops.h).  Completing it here would free it under the batch.
		 */
		if (WARN_ON_ONCE(ret == KPOOL_CANCEL_STOPPED && task->on_worker))
			return 0;
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
 * Returns 0, -ENOENT or -EALREADY for one task; how many for @all.  The
 * tasks of a chain that have not started are found behind the task before
 * them, and cancelling one cancels the rest of its chain with it.
 */
int kpool_sched_cancel(struct kpool_ctx *pool, u64 user_data, bool all)
{
	struct kpool_task *task, *next, *member;
	unsigned long flags;
	LIST_HEAD(done);
	int ret = -ENOENT, count = 0;
	u64 now = ktime_get_ns();

	spin_lock_irqsave(&pool->sched_lock, flags);
	list_for_each_entry_safe(task, next, &pool->tasks, pool_node) {
		if (all) {
			count += kpool_chain_cancel_locked(pool, task, &done,
							   now);
			if (!kpool_task_cancel_locked(pool, task, &done))
				count++;
			continue;
		}
		if (task->user_data == user_data) {
			ret = kpool_task_cancel_locked(pool, task, &done);
			break;
		}
		for (member = task->link_next; member;
		     member = member->link_next)
			if (member->user_data == user_data)
				break;
		if (member) {
			kpool_chain_cancel_locked(pool, member->link_prev,
						  &done, now);
			ret = 0;
			break;
		}
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

/*
 * A blocking pool's submitter waits here for room; 0, -ETIME, -EINTR.
 * It runs its own process's ready tasks meanwhile: they may be what holds
 * the slots.
 */
int kpool_sched_wait_room(struct kpool_ctx *pool, ktime_t end)
{
	return kpool_wait_serving(pool, pool->room_wait,
				  kpool_sched_has_room(pool) ||
				  READ_ONCE(pool->draining), end);
}

/*
 * Change the capacity (@capacity, 0: keep) and the queue bound
 * (*@max_waiting, NULL: keep); the old values go to *@prev_capacity and
 * *@prev_max_waiting.  Then start what now may, and wake blocked
 * submitters to look again.
 */
void kpool_sched_tune(struct kpool_ctx *pool, u32 capacity,
		      const u32 *max_waiting, u32 *prev_capacity,
		      u32 *prev_max_waiting)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	*prev_capacity = pool->capacity;
	*prev_max_waiting = pool->max_waiting;
	if (capacity)
		WRITE_ONCE(pool->capacity, capacity);
	if (max_waiting)
		WRITE_ONCE(pool->max_waiting, *max_waiting);
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	kpool_sched_kick(pool);
	kpool_sched_wake(pool);
}

/* Stop taking work, then wait until every task taken has completed. */
int kpool_sched_drain(struct kpool_ctx *pool, ktime_t end)
{
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&pool->sched_lock, flags);
	WRITE_ONCE(pool->draining, true);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	/* Blocked submitters must see draining and give up. */
	wake_up_all(&pool->room_wait);
	kpool_workers_wake(pool);
	/* Anything stuck at the head of the queue (an orphan) goes now. */
	kpool_sched_kick(pool);

	ret = kpool_wait_serving(pool, pool->idle_wait,
				 !READ_ONCE(pool->running) &&
				 !READ_ONCE(pool->waiting), end);
	/* Pairs with kpool_sched_complete(): every CQE is posted by now. */
	spin_lock_irqsave(&pool->sched_lock, flags);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	if (!ret)
		trace_kpool_pool_drained(pool->id, READ_ONCE(pool->capacity));
	return ret;
}
