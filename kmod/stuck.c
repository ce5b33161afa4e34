// SPDX-License-Identifier: GPL-2.0
/*
 * The stuck-task watchdog.  A task in flight (waiting or running) for
 * longer than the stuck_ms module parameter is stuck: the watchdog marks
 * it once, counts it (the pool's stuck_now until it completes, and the
 * stuck counter of STATS, total and per op, for good), and logs one
 * rate-limited line naming the pool's opener, the op, the user_data and
 * the age.  Never a WARN: a stuck task is the program's business (a
 * TIMEOUT of an hour is not a bug), and panic_on_warn machines must not
 * die of one.
 *
 * The watchdog is a deferrable delayed work item (it never wakes an idle
 * CPU for itself) that runs while pools exist, every quarter of stuck_ms
 * (between 10 ms and 1 s).  It walks the registry;
 * in each pool it holds sched_lock only over the stuck tasks and the
 * first one that is not: a pool's task list is in submission order (one
 * submitter at a time, one clock read per ENTER), so the oldest come
 * first and the walk stops at the first young one.
 */
#include <linux/moduleparam.h>
#include <linux/ratelimit.h>
#include <linux/workqueue.h>
#include "kpool.h"

unsigned int kpool_stuck_ms = 30000;
module_param_named(stuck_ms, kpool_stuck_ms, uint, 0644);
MODULE_PARM_DESC(stuck_ms,
		 "A task in flight longer than this many ms is counted and logged as stuck (0: never)");

/* Tasks named in the log per pool per pass, at most. */
#define KPOOL_STUCK_LOG		4

static void kpool_stuck_work_fn(struct work_struct *work);
static DECLARE_DEFERRABLE_WORK(kpool_stuck_work, kpool_stuck_work_fn);

struct kpool_stuck_note {
	const char	*op;
	u64		user_data;
	u64		age_ms;
	bool		running;
};

static unsigned long kpool_stuck_period(void)
{
	unsigned int ms = READ_ONCE(kpool_stuck_ms);

	return msecs_to_jiffies(ms ? clamp(ms / 4, 10U, 1000U) : 1000U);
}

static void kpool_stuck_scan_pool(struct kpool_pool *pool, void *arg)
{
	u64 threshold = *(u64 *)arg, now = ktime_get_ns();
	struct kpool_stuck_note note[KPOOL_STUCK_LOG];
	struct kpool_task *task;
	unsigned int n = 0, i;
	unsigned long flags;

	if (!kpool_pool_ready(pool))
		return;
	spin_lock_irqsave(&pool->sched_lock, flags);
	list_for_each_entry(task, &pool->tasks, pool_node) {
		if (now - task->submit_ns < threshold)
			break;		/* the rest are younger */
		if (task->stuck)
			continue;
		task->stuck = true;
		pool->stuck_now++;
		pool->stats.total.stuck++;
		pool->stats.op[task->op].stuck++;
		if (n < KPOOL_STUCK_LOG)
			note[n++] = (struct kpool_stuck_note){
				.op = task->def->name,
				.user_data = task->user_data,
				.age_ms = div_u64(now - task->submit_ns,
						  NSEC_PER_MSEC),
				.running = task->state != KPOOL_TASK_WAITING,
			};
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);

	for (i = 0; i < n; i++)
		pr_warn_ratelimited("kpool: pool %llu of pid %d (%s, uid %u): %s task user_data 0x%llx submitted %llu ms ago, still %s (stuck_ms %u)\n",
				    pool->id, pool->opener_pid,
				    pool->opener_comm,
				    from_kuid_munged(&init_user_ns, pool->owner),
				    note[i].op, note[i].user_data,
				    note[i].age_ms,
				    note[i].running ? "running" : "waiting",
				    (unsigned int)div_u64(threshold,
							  NSEC_PER_MSEC));
}

static void kpool_stuck_count(struct kpool_pool *pool, void *arg)
{
	(*(unsigned int *)arg)++;
}

static void kpool_stuck_work_fn(struct work_struct *work)
{
	u64 threshold = (u64)READ_ONCE(kpool_stuck_ms) * NSEC_PER_MSEC;
	unsigned int pools = 0;

	if (threshold)
		kpool_registry_walk(kpool_stuck_scan_pool, &threshold);
	kpool_registry_walk(kpool_stuck_count, &pools);
	/* Idle when no pool exists; the next open starts it again. */
	if (pools)
		queue_delayed_work(system_wq, &kpool_stuck_work,
				   kpool_stuck_period());
}

/* A pool was opened: make sure the watchdog runs. */
void kpool_stuck_start(void)
{
	queue_delayed_work(system_wq, &kpool_stuck_work, kpool_stuck_period());
}

/* The module goes: no pool is left, so it does not re-arm. */
void kpool_stuck_exit(void)
{
	cancel_delayed_work_sync(&kpool_stuck_work);
}
