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
 * (between 10 ms and 1 s).  It walks the registry; in each pool it holds
 * sched_lock only over the stuck tasks and the first one that is not: a
 * pool's task list is in submission order (one submitter at a time, one
 * clock read per ENTER), so the oldest come first and the walk stops at
 * the first young one.  Tasks already stuck are walked again each pass
 * (at most the pool's tasks in flight, which the CQ bounds).  At most
 * KPOOL_STUCK_LOG tasks are named per pass, after the walk, unlocked.
 */
#include <linux/moduleparam.h>
#include <linux/ratelimit.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include "kpool.h"
#include "ops.h"

unsigned int kpool_stuck_ms = 30000;
module_param_named(stuck_ms, kpool_stuck_ms, uint, 0644);
MODULE_PARM_DESC(stuck_ms,
		 "A task in flight longer than this many ms is counted and logged as stuck (0: never)");

/* Tasks named in the log per pass, at most. */
#define KPOOL_STUCK_LOG		8

static void kpool_stuck_work_fn(struct work_struct *work);
static DECLARE_DEFERRABLE_WORK(kpool_stuck_work, kpool_stuck_work_fn);

/* A task to name in the log, copied so the log is written unlocked. */
struct kpool_stuck_note {
	u64		pool_id;
	pid_t		opener_pid;
	uid_t		uid;
	char		comm[TASK_COMM_LEN];
	const char	*op;		/* the op table's: static */
	u64		user_data;
	u64		age_ms;
	bool		running;
};

/* One pass: the threshold, and what it found to log. */
struct kpool_stuck_pass {
	u64		threshold;	/* ns */
	unsigned int	pools;
	unsigned int	nr_notes;
	struct kpool_stuck_note note[KPOOL_STUCK_LOG];
};

static unsigned long kpool_stuck_period(void)
{
	unsigned int ms = READ_ONCE(kpool_stuck_ms);

	return msecs_to_jiffies(ms ? clamp(ms / 4, 10U, 1000U) : 1000U);
}

static void kpool_stuck_note(struct kpool_stuck_pass *pass,
			     const struct kpool_ctx *pool,
			     const struct kpool_task *task, u64 now)
{
	struct kpool_stuck_note *n;

	if (pass->nr_notes == KPOOL_STUCK_LOG)
		return;
	n = &pass->note[pass->nr_notes++];
	n->pool_id = pool->id;
	n->opener_pid = pool->opener_pid;
	n->uid = from_kuid_munged(&init_user_ns, pool->owner);
	strscpy(n->comm, pool->opener_comm, sizeof(n->comm));
	n->op = task->def->name;
	n->user_data = task->user_data;
	n->age_ms = div_u64(now - task->submit_ns, NSEC_PER_MSEC);
	n->running = task->state != KPOOL_TASK_WAITING;
}

/*
 * Mark the pool's tasks past the threshold.  The clock is read under the
 * lock: a task taken after a reading made before it would look older
 * than time itself.
 */
static void kpool_stuck_scan_pool(struct kpool_ctx *pool, void *arg)
{
	struct kpool_stuck_pass *pass = arg;
	struct kpool_task *task;
	unsigned long flags;
	u64 now;

	pass->pools++;
	if (!pass->threshold || !kpool_pool_ready(pool))
		return;
	spin_lock_irqsave(&pool->sched_lock, flags);
	now = ktime_get_ns();
	list_for_each_entry(task, &pool->tasks, pool_node) {
		if (task->submit_ns + pass->threshold > now)
			break;		/* the rest are younger */
		if (task->stuck)
			continue;
		task->stuck = true;
		pool->stuck_now++;
		pool->stats.total.stuck++;
		pool->stats.op[task->op].stuck++;
		kpool_stuck_note(pass, pool, task, now);
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);
}

/* The work item never runs twice at once: one pass buffer serves all. */
static struct kpool_stuck_pass kpool_stuck_pass;

static void kpool_stuck_work_fn(struct work_struct *work)
{
	struct kpool_stuck_pass *pass = &kpool_stuck_pass;
	unsigned int i;

	memset(pass, 0, sizeof(*pass));
	pass->threshold = (u64)READ_ONCE(kpool_stuck_ms) * NSEC_PER_MSEC;
	kpool_registry_walk(kpool_stuck_scan_pool, pass);
	/* Not under the registry's lock: a slow console stalls no open. */
	for (i = 0; i < pass->nr_notes; i++) {
		const struct kpool_stuck_note *n = &pass->note[i];

		pr_warn_ratelimited("kpool: pool %llu of pid %d (%s, uid %u): %s task user_data 0x%llx submitted %llu ms ago, still %s (stuck_ms %u)\n",
				    n->pool_id, n->opener_pid, n->comm, n->uid,
				    n->op, n->user_data, n->age_ms,
				    n->running ? "running" : "waiting",
				    (unsigned int)div_u64(pass->threshold,
							  NSEC_PER_MSEC));
	}
	/* Idle when no pool exists; an open restarts it. */
	if (pass->pools)
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
