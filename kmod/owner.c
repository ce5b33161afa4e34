// SPDX-License-Identifier: GPL-2.0
/*
 * Tasks that run in their owner's threads (KPOOL_OPF_OWNER: the file ops).
 *
 * What a read or write of a file does can depend on who does it: procfs,
 * sysfs and cgroupfs files look at the caller's namespaces, a write obeys
 * the caller's RLIMIT_FSIZE, page cache is charged to the caller's memory
 * cgroup, and the CPU time belongs to the caller's cgroup and priority.
 * A kernel worker has none of the submitter's context but its
 * credentials, so these tasks never run on one.  They run in a thread of
 * the process that submitted them, inside that process's own calls into
 * the module:
 *
 *  - a task that starts (takes a capacity slot) goes on pool->owner_ready
 *    in state READY in the same hold of sched_lock, whoever started it (an
 *    ENTER, a kernel worker whose task completed, a timer, a cancel): so a
 *    close that cancels everything always finds it there;
 *  - every ENTER of a thread of that process runs the ready tasks of its
 *    process before it returns, and while it waits (for CQEs, for room in
 *    a blocking pool, in DRAIN, parked in WORK as a worker thread) it runs
 *    those that become ready;
 *  - so the ENTER that submits a file task runs it, unless another thread
 *    of the process, waiting in the module, takes it first.  A program
 *    gets file tasks running in parallel by having threads wait in ENTER,
 *    as the pool API's completion threads do.
 *
 * Nothing else runs them: a task that becomes ready while no thread of its
 * process is in the module waits for the next ENTER of that process.
 * Known limit: a pool shared by two processes, blocking, full: while one
 * process's submitter holds submit_lock waiting for room, the other's
 * submitting ENTER runs its own ready tasks before it waits for that lock
 * (kpool_sq_submit()), but not those that become ready while it waits there.
 * That wait ends when the holder's does: at its timeout or a signal.  The
 * cq_ring's flags say so (KPOOL_RING_OWNER_WORK) and poll() reports the
 * pool readable, so an event loop knows to call ENTER.  A task whose
 * process has exited is cancelled by the next look at the list; closing
 * the pool cancels the rest.
 *
 * A READY task holds its slot (it counts as running) and can be cancelled
 * like a waiting one.  Once a thread takes it, it is RUNNING, and stops at
 * the op's own cancel points.
 */
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include "kpool.h"
#include "ops.h"

/* Is current a thread of the process that owns @task? */
static bool kpool_owner_is_current(const struct kpool_task *task)
{
	return task->owner == task_tgid(current);
}

/* Keep the cq_ring's KPOOL_RING_OWNER_WORK flag true to the list. */
void kpool_owner_set_ring_flag_locked(struct kpool_ctx *pool)
{
	u32 flags = pool->owner_ready_count ? KPOOL_RING_OWNER_WORK : 0;

	lockdep_assert_held(&pool->sched_lock);
	if (READ_ONCE(pool->kring->flags) != flags)
		WRITE_ONCE(pool->kring->flags, flags);
}

/* An owner task that just took its slot waits for a thread of its process. */
void kpool_owner_ready_locked(struct kpool_ctx *pool, struct kpool_task *task)
{
	lockdep_assert_held(&pool->sched_lock);
	task->state = KPOOL_TASK_READY;
	list_add_tail(&task->sched_node, &pool->owner_ready);
	WRITE_ONCE(pool->owner_ready_count, pool->owner_ready_count + 1);
	kpool_owner_set_ring_flag_locked(pool);
}

/*
 * After the lock: wake every thread waiting in the module on this pool.
 * One of them may be of the owner's process (and poll()ers learn that an
 * ENTER is due).  Never touches the task: it may be gone already.
 */
void kpool_owner_notify(struct kpool_ctx *pool)
{
	/* Pairs with the barrier in prepare_to_wait() of each waiter. */
	if (wq_has_sleeper(&pool->cq_wait))
		wake_up(&pool->cq_wait);
	if (wq_has_sleeper(&pool->room_wait))
		wake_up_all(&pool->room_wait);
	if (wq_has_sleeper(&pool->idle_wait))
		wake_up_all(&pool->idle_wait);
	kpool_workers_wake(pool);
}

/*
 * Does a ready task of current's process wait?  Cheap when none wait.
 * Not for a thread with a fatal signal: it runs none (kpool_owner_serve()),
 * so its waits must end, not loop back to serve.
 */
bool kpool_owner_has_mine(struct kpool_ctx *pool)
{
	struct kpool_task *task;
	unsigned long flags;
	bool mine = false;

	if (!READ_ONCE(pool->owner_ready_count) ||
	    fatal_signal_pending(current))
		return false;
	spin_lock_irqsave(&pool->sched_lock, flags);
	list_for_each_entry(task, &pool->owner_ready, sched_node) {
		if (kpool_owner_is_current(task)) {
			mine = true;
			break;
		}
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	return mine;
}

/*
 * Take the first ready task of current's process off the list (it is
 * RUNNING then); move tasks whose process has exited to @orphans.
 */
static struct kpool_task *kpool_owner_take(struct kpool_ctx *pool,
					   struct list_head *orphans)
{
	struct kpool_task *task, *next, *mine = NULL;
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	list_for_each_entry_safe(task, next, &pool->owner_ready, sched_node) {
		if (!mine && kpool_owner_is_current(task)) {
			mine = task;
		} else if (!pid_has_task(task->owner, PIDTYPE_TGID)) {
			list_move_tail(&task->sched_node, orphans);
			task->state = KPOOL_TASK_RUNNING;
		} else {
			continue;
		}
		WRITE_ONCE(pool->owner_ready_count, pool->owner_ready_count - 1);
	}
	if (mine) {
		list_del_init(&mine->sched_node);
		mine->state = KPOOL_TASK_RUNNING;
	}
	kpool_owner_set_ring_flag_locked(pool);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	return mine;
}

/*
 * Run one ready task of current's process; false if there was none.  The
 * task that completes may start the next.
 */
bool kpool_owner_serve_one(struct kpool_ctx *pool)
{
	struct kpool_task *task, *orphan, *next;
	LIST_HEAD(orphans);
	int ret;

	if (!READ_ONCE(pool->owner_ready_count) || fatal_signal_pending(current))
		return false;
	task = kpool_owner_take(pool, &orphans);
	list_for_each_entry_safe(orphan, next, &orphans, sched_node) {
		list_del_init(&orphan->sched_node);
		kpool_task_done(orphan, -ECANCELED);
	}
	if (!task)
		return false;
	ret = task->def->issue(task);
	if (ret != -EIOCBQUEUED)
		kpool_task_done(task, ret);
	return true;
}

/*
 * Run the ready tasks of current's process, until none is left or a fatal
 * signal comes (what is left then waits for another thread, or for the
 * close that cancels it).
 */
void kpool_owner_serve(struct kpool_ctx *pool)
{
	while (kpool_owner_serve_one(pool))
		;
}
