// SPDX-License-Identifier: GPL-2.0
/*
 * Pool counters and latency histograms.  Every update happens under
 * pool->sched_lock together with the scheduler change it describes, and
 * STATS copies them under the same lock, so a reader always sees one
 * instant: submitted = completed + running + waiting.
 */
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "kpool.h"
#include "ops.h"

static unsigned int kpool_hist_bucket(u64 ns)
{
	return ns ? min_t(unsigned int, ilog2(ns), KPOOL_HIST_BUCKETS - 1) : 0;
}

/* A completion with @res: completed, and how it ended. */
static void kpool_stats_result(struct kpool_counters *c, s32 res)
{
	c->completed++;
	if (res == -ECANCELED)
		c->cancelled++;
	else if (res == -ETIME)
		c->timed_out++;
	else if (res < 0)
		c->failed++;
}

void kpool_stats_submitted(struct kpool_ctx *pool, struct kpool_task *task)
{
	lockdep_assert_held(&pool->sched_lock);
	pool->stats.total.submitted++;
	pool->stats.op[task->op].submitted++;
}

void kpool_stats_waiting(struct kpool_ctx *pool, struct kpool_task *task,
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

void kpool_stats_started(struct kpool_ctx *pool, struct kpool_task *task)
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
void kpool_stats_done(struct kpool_ctx *pool, struct kpool_task *task,
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
		kpool_stats_result(c[i], res);
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

/*
 * An inline task (sched.c) was submitted, started, ran for no measurable
 * time and completed, all in one hold of sched_lock: what the three calls
 * above would count, in one pass (it held a slot only inside that hold,
 * so running itself never changed where anyone could see it).
 */
void kpool_stats_inline(struct kpool_ctx *pool, struct kpool_task *task,
			s32 res)
{
	struct kpool_counters *c[2] = {
		&pool->stats.total, &pool->stats.op[task->op]
	};
	int i;

	lockdep_assert_held(&pool->sched_lock);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		c[i]->submitted++;
		c[i]->started++;
		kpool_stats_result(c[i], res);
		c[i]->peak_running = max(c[i]->peak_running, c[i]->running + 1);
		c[i]->wait_hist[0]++;
		c[i]->run_hist[0]++;
	}
}

void kpool_stats_rejected(struct kpool_ctx *pool, unsigned int op)
{
	lockdep_assert_held(&pool->sched_lock);
	pool->stats.total.rejected++;
	if (op < KPOOL_OP_LAST)
		pool->stats.op[op].rejected++;
}

int kpool_stats_read(struct kpool_ctx *pool, struct kpool_stats *st)
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
	st->workers = pool->nr_workers;
	st->workers_parked = pool->nr_idle_workers;
	st->workers_busy = kpool_workers_busy_locked(pool);
	st->workers_blocked = kpool_workers_blocked(pool);
	st->stuck_now = pool->stuck_now;
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

/* How far fdinfo looks into the task list for the oldest running task. */
#define KPOOL_FDINFO_SCAN	64

struct kpool_task_glance {
	const char	*op;		/* NULL: none */
	u64		user_data;
	u64		since;		/* submission, ns */
};

static void kpool_glance(struct kpool_task_glance *g,
			 const struct kpool_task *task)
{
	g->op = task->def->name;
	g->user_data = task->user_data;
	g->since = task->submit_ns;
}

static void kpool_glance_show(struct seq_file *m, const char *what,
			      const struct kpool_task_glance *g, u64 now)
{
	if (!g->op) {
		seq_printf(m, "%s:\tnone\n", what);
		return;
	}
	seq_printf(m, "%s:\top=%s user_data=0x%llx age_ms=%llu\n", what, g->op,
		   g->user_data, div_u64(now - g->since, NSEC_PER_MSEC));
}

static void kpool_hist_show(struct seq_file *m, const char *what,
			    const char *op, const u64 *hist)
{
	unsigned int i;

	seq_printf(m, "%s:\t%s", what, op);
	for (i = 0; i < KPOOL_HIST_BUCKETS; i++)
		seq_printf(m, " %llu", hist[i]);
	seq_putc(m, '\n');
}

/*
 * Each op the pool has seen: its counters on an "op:" line, then its two
 * histograms (kpoolstat's percentiles come from these).
 */
static void kpool_ops_show(struct seq_file *m, const struct kpool_counters *ops)
{
	unsigned int i;

	for (i = 0; i < KPOOL_OP_LAST; i++) {
		const struct kpool_counters *c = &ops[i];
		const struct kpool_op_def *def = kpool_op_lookup(i);
		const char *name;

		/* An op this module lacks can only count rejections. */
		if (!def || (!c->submitted && !c->rejected))
			continue;
		name = def->name;
		seq_printf(m, "op:\t%s submitted=%llu started=%llu completed=%llu failed=%llu cancelled=%llu timed_out=%llu rejected=%llu running=%llu waiting=%llu stuck=%llu\n",
			   name, c->submitted, c->started, c->completed,
			   c->failed, c->cancelled, c->timed_out, c->rejected,
			   c->running, c->waiting, c->stuck);
		kpool_hist_show(m, "wait_hist", name, c->wait_hist);
		kpool_hist_show(m, "run_hist", name, c->run_hist);
	}
}

/*
 * /proc/PID/fdinfo/FD of a pool (io_uring's model): settings, counts, the
 * ring indices, the main counters, and the oldest waiting and running
 * task.  One short hold of sched_lock; the running task is looked for
 * among the first KPOOL_FDINFO_SCAN tasks only (they are in submission
 * order, so the oldest is near the front).
 */
void kpool_stats_show_fdinfo(struct kpool_ctx *pool, struct seq_file *m)
{
	struct kpool_task_glance oldest_wait = { }, oldest_run = { };
	u32 capacity, max_waiting, running, waiting, workers, ready;
	u32 threads, parked, blocked;
	u64 submitted, started, completed, failed, cancelled, timed_out;
	u64 rejected, stuck_total, now;
	struct kpool_counters *ops;
	const struct kpool_task *task;
	unsigned int scanned = 0;
	unsigned long flags;
	u32 stuck_now;
	int prio;

	if (!kpool_pool_ready(pool)) {
		seq_puts(m, "setup:\tno\n");
		return;
	}
	/* Per-op lines need a copy of every op's counters: skipped if none. */
	ops = kmalloc(sizeof(pool->stats.op), GFP_KERNEL);
	spin_lock_irqsave(&pool->sched_lock, flags);
	if (ops)
		memcpy(ops, pool->stats.op, sizeof(pool->stats.op));
	stuck_now = pool->stuck_now;
	stuck_total = pool->stats.total.stuck;
	capacity = pool->capacity;
	max_waiting = pool->max_waiting;
	running = pool->running;
	waiting = pool->waiting;
	workers = pool->workers;
	ready = pool->owner_ready_count;
	threads = pool->nr_workers;
	parked = pool->nr_idle_workers;
	blocked = kpool_workers_blocked(pool);
	submitted = pool->stats.total.submitted;
	started = pool->stats.total.started;
	completed = pool->stats.total.completed;
	failed = pool->stats.total.failed;
	cancelled = pool->stats.total.cancelled;
	timed_out = pool->stats.total.timed_out;
	rejected = pool->stats.total.rejected;
	for (prio = 0; prio < KPOOL_NR_PRIO; prio++) {
		task = list_first_entry_or_null(&pool->waitq[prio],
						struct kpool_task, sched_node);
		if (task && (!oldest_wait.op || task->submit_ns < oldest_wait.since))
			kpool_glance(&oldest_wait, task);
	}
	list_for_each_entry(task, &pool->tasks, pool_node) {
		if (++scanned > KPOOL_FDINFO_SCAN)
			break;
		if (task->state == KPOOL_TASK_RUNNING ||
		    task->state == KPOOL_TASK_READY) {
			kpool_glance(&oldest_run, task);
			break;
		}
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	/* After the copy: every age it shows is then >= 0. */
	now = ktime_get_ns();

	seq_printf(m, "id:\t%llu\n", pool->id);
	seq_printf(m, "capacity:\t%u\nmax_waiting:\t%u\n", capacity,
		   max_waiting);
	seq_printf(m, "running:\t%u\nwaiting:\t%u\n", running, waiting);
	seq_printf(m, "on_workers:\t%u\nready_for_owner:\t%u\n", workers,
		   ready);
	seq_printf(m, "worker_threads:\t%u\nparked_workers:\t%u\n", threads,
		   parked);
	seq_printf(m, "blocked_workers:\t%u\n", blocked);
	seq_printf(m, "sq_head:\t%u\nsq_tail:\t%u\n",
		   READ_ONCE(pool->kring->sq_head),
		   READ_ONCE(pool->user->sq_tail));
	seq_printf(m, "cq_head:\t%u\ncq_tail:\t%u\n",
		   READ_ONCE(pool->user->cq_head),
		   READ_ONCE(pool->kring->cq_tail));
	seq_printf(m, "submitted:\t%llu\nstarted:\t%llu\ncompleted:\t%llu\n",
		   submitted, started, completed);
	seq_printf(m, "failed:\t%llu\ncancelled:\t%llu\ntimed_out:\t%llu\nrejected:\t%llu\n",
		   failed, cancelled, timed_out, rejected);
	seq_printf(m, "stuck_now:\t%u\nstuck_total:\t%llu\n", stuck_now,
		   stuck_total);
	kpool_glance_show(m, "oldest_waiting", &oldest_wait, now);
	kpool_glance_show(m, "oldest_running", &oldest_run, now);
	if (ops)
		kpool_ops_show(m, ops);
	kfree(ops);
}
