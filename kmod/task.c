// SPDX-License-Identifier: GPL-2.0
/*
 * A task's life: allocated (from the pool's cache), prepped from the
 * module's copy of its SQE, run (inline, in a thread of its owner, or on
 * a kernel worker, alone or in a run batch), completed (one CQE), and
 * released (back to the cache).  Taking SQEs from the ring is submit.c's;
 * queueing and starting, sched.c's.
 *
 * Its states (enum kpool_task_state; changed only under sched_lock once
 * the task is given to the scheduler) and who moves it out of each:
 *
 *   state      meaning                          moved by, to
 *   NEW        taken by ENTER, prepped          kpool_sched_accept(): RUNNING
 *                                               (or DONE if it ran
 *                                               inline), WAITING, or
 *                                               freed (pool full)
 *   LINKED     in a chain behind a task not     the predecessor's
 *              yet done (sched.c)               completion: WAITING, or
 *                                               DONE (-ECANCELED)
 *   WAITING    in the pool's queue, no slot     kpool_sched_kick(): RUNNING;
 *                                               expiry (-ETIME), CANCEL,
 *                                               close: DONE
 *   RUNNING    holds a slot: on a kernel        its issue() or its timer,
 *              worker (maybe still in its run   through kpool_task_done()
 *              batch), armed (TIMEOUT), or      or the run batch: DONE;
 *              given to a worker thread (CALL)  CANCEL only asks it to
 *                                               stop (ops.h)
 *   READY      a file task with a slot, on      a thread of its owner
 *              owner_ready (owner.c)            (owner.c): RUNNING
 *   DONE       its CQE posted                   kpool_task_release()
 *
 * Where a started task runs (the security model, docs/pool.md): TIMEOUT
 * arms a timer where it starts; file ops run in a thread of the submitting
 * process (owner.c); user functions in the program's own worker threads
 * (worker.c); everything else is arithmetic on the arena and runs inline
 * in ENTER when short, else on a kernel worker, on a CPU the submitter
 * may use, at nice -20 only for a high-priority task of a submitter that
 * could set nice -20 itself.
 */
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/hrtimer.h>
#include <linux/kasan.h>
#include <linux/ktime.h>
#include <linux/llist.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include "kpool.h"
#include "ops.h"

static struct kmem_cache *kpool_task_cache;

/* Workqueues by priority and by kind of work. */
enum kpool_wq_kind {
	KPOOL_WQ_PERCPU,	/* short work, on the submitting (or named) CPU */
	KPOOL_WQ_LONG,		/* long CPU work: outside concurrency management */
	KPOOL_WQ_UNBOUND,	/* KPOOL_SQE_UNBOUND: any CPU */
	KPOOL_NR_WQ_KINDS,
};

static struct workqueue_struct *kpool_wqs[KPOOL_NR_PRIO][KPOOL_NR_WQ_KINDS];

#ifdef KPOOL_HAVE_WQ_PERCPU
#define KPOOL_WQ_BOUND	WQ_PERCPU
#else
#define KPOOL_WQ_BOUND	0	/* bound per-CPU is the default here */
#endif

static const struct {
	const char *name;
	unsigned int flags;
} kpool_wq_kinds[KPOOL_NR_WQ_KINDS] = {
	[KPOOL_WQ_PERCPU]	= { "kpool", KPOOL_WQ_BOUND },
	[KPOOL_WQ_LONG]		= { "kpool_long", KPOOL_WQ_BOUND | WQ_CPU_INTENSIVE },
	[KPOOL_WQ_UNBOUND]	= { "kpool_unbound", WQ_UNBOUND },
};

/*
 * Where a task that runs on a kernel worker may run: a CPU the submitter
 * may use (its affinity, which includes its cpuset).  A named CPU must be
 * one of them.  By default, the CPU it submits from.  Unbound: anywhere if
 * the submitter may run anywhere, else one of its CPUs, in turn.
 */
static int kpool_task_place(struct kpool_task *task,
			    const struct kpool_sqe *sqe)
{
	const struct cpumask *allowed = current->cpus_ptr;

	if (sqe->flags & KPOOL_SQE_CPU) {
		if (sqe->cpu >= nr_cpu_ids || !cpu_online(sqe->cpu) ||
		    !cpumask_test_cpu(sqe->cpu, allowed))
			return -EINVAL;
		task->cpu = sqe->cpu;
	} else if (sqe->cpu) {
		return -EINVAL;
	} else if (!(sqe->flags & KPOOL_SQE_UNBOUND)) {
		task->cpu = raw_smp_processor_id();
	} else if (cpumask_subset(cpu_online_mask, allowed)) {
		task->unbound = true;
	} else {
		task->cpu = cpumask_any_and_distribute(allowed, cpu_online_mask);
		if (task->cpu >= nr_cpu_ids)
			return -EINVAL;
	}
	return 0;
}

/*
 * A high-priority task runs on a nice -20 worker only for a submitter
 * that could set nice -20 itself (setpriority(2)'s rule); for everyone it
 * goes ahead of normal tasks in the queue.
 */
static bool kpool_may_raise_priority(void)
{
	return ns_capable_noaudit(&init_user_ns, CAP_SYS_NICE) ||
		rlimit(RLIMIT_NICE) >= 40;	/* nice_to_rlimit(-20) */
}

/*
 * Does the SQE set a field its op does not read (the row's uses), or an
 * op_flags bit the op does not know?  Checked once, here, for every op.
 */
static bool kpool_sqe_has_unused(const struct kpool_op_def *def,
				 const struct kpool_sqe *sqe)
{
	return (sqe->fd && !(def->uses & KPOOL_USES_FD)) ||
		(sqe->off && !(def->uses & KPOOL_USES_OFF)) ||
		(sqe->addr && !(def->uses & KPOOL_USES_ADDR)) ||
		(sqe->len && !(def->uses & KPOOL_USES_LEN)) ||
		(sqe->op_flags & ~def->op_flags);
}

/* Checks common to every op, then the op's own prep. */
int kpool_task_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	const u8 placement = KPOOL_SQE_CPU | KPOOL_SQE_UNBOUND;
	const u8 known = placement | KPOOL_SQE_ASYNC | KPOOL_SQE_LINK;
	int ret;

	task->op = sqe->op;
	task->def = kpool_op_lookup(sqe->op);
	if (!task->def)
		return -EINVAL;
	if (sqe->resv0 || sqe->resv1 || sqe->resv2)
		return -EINVAL;
	if (kpool_sqe_has_unused(task->def, sqe))
		return -EINVAL;
	if ((sqe->flags & ~known) || (sqe->flags & placement) == placement)
		return -EINVAL;
	/*
	 * A control op runs at once in ENTER and takes no slot: no
	 * priority, deadline, placement, worker or chain.
	 */
	if ((task->def->flags & KPOOL_OPF_CONTROL) &&
	    (sqe->flags || sqe->prio || sqe->deadline_ns))
		return -EINVAL;
	if (sqe->prio >= KPOOL_NR_PRIO || sqe->deadline_ns > KTIME_MAX)
		return -EINVAL;
	ret = kpool_task_place(task, sqe);
	if (ret)
		return ret;

	task->prio = sqe->prio;
	task->high_worker = sqe->prio == KPOOL_PRIO_HIGH &&
			    kpool_may_raise_priority();
	task->sqe_flags = sqe->flags;
	task->run_inline = (task->def->flags & KPOOL_OPF_INLINE) &&
			   !(sqe->flags & (placement | KPOOL_SQE_ASYNC)) &&
			   (!task->def->inline_len_max ||
			    sqe->len <= task->def->inline_len_max);
	task->deadline = sqe->deadline_ns;	/* made absolute at accept */
	task->len = sqe->len;
	ret = task->def->prep(task, sqe);
	task->prepped = !ret;
	if (!ret && (task->def->flags & (KPOOL_OPF_OWNER | KPOOL_OPF_USER)))
		task->owner = get_pid(task_tgid(current));
	return ret;
}

/*
 * KASAN sees a cached task as freed, so a stale pointer to one is still
 * caught (io_uring's alloc_cache does the same).  A kernel with KASAN
 * but without the mempool hooks (before 6.8) does not cache at all.
 */
#if defined(CONFIG_KASAN) && !defined(KPOOL_HAVE_KASAN_MEMPOOL)
#define KPOOL_TASK_CACHE	0
#else
#define KPOOL_TASK_CACHE	1
#endif

static bool kpool_task_poison(struct kpool_task *task)
{
#ifdef KPOOL_HAVE_KASAN_MEMPOOL
	return kasan_mempool_poison_object(task);
#else
	return true;
#endif
}

static void kpool_task_unpoison(struct kpool_task *task)
{
#ifdef KPOOL_HAVE_KASAN_MEMPOOL
	kasan_mempool_unpoison_object(task, sizeof(*task));
#endif
}

/*
 * May the task's memory go back to the cache, for the next ENTER to reuse
 * at once?  Not a task with a timer of its own (TIMEOUT): it is released
 * from that timer's callback, and the timer counts as running until the
 * callback has returned, so it must not be set up again before.
 */
static bool kpool_task_cacheable(const struct kpool_task *task)
{
	return KPOOL_TASK_CACHE &&
		!(task->prepped && task->def->flags & KPOOL_OPF_ISSUE_INLINE);
}

/*
 * A new task, submitted at @now (one clock read serves a whole batch):
 * from the pool's task cache if it has one, else from the slab.  Under
 * submit_lock, the cache's one consumer.
 */
struct kpool_task *kpool_task_alloc(struct kpool_ctx *pool, u64 now)
{
	struct llist_node *node = pool->task_cache;
	struct kpool_task *task;

	if (!node)
		node = llist_del_all(&pool->task_free);
	if (node) {
		pool->task_cache = node->next;
		task = llist_entry(node, struct kpool_task, cache_node);
		kpool_task_unpoison(task);
	} else {
		task = kmem_cache_alloc(kpool_task_cache, GFP_KERNEL);
		if (!task)
			return NULL;
	}
	task->pool = pool;
	task->op = 0;
	task->state = KPOOL_TASK_NEW;
	task->cancel_requested = false;
	task->prepped = false;
	task->high_worker = false;
	task->unbound = false;
	task->on_worker = false;
	task->run_inline = false;
	task->stuck = false;
	task->quiet = false;
	task->owner = NULL;
	task->aux = 0;
	task->len = 0;
	task->deadline = 0;
	task->link_next = NULL;
	task->link_prev = NULL;
	task->submit_ns = now;
	task->start_ns = task->submit_ns;
	INIT_LIST_HEAD(&task->pool_node);
	INIT_LIST_HEAD(&task->sched_node);
	percpu_ref_get(&pool->refs);
	return task;
}

/*
 * Free a task: what its prep took, its pool ref; its memory goes back to
 * the pool's task cache (or the slab).  After its CQE, or for tasks that
 * never were (invalid, refused by a full pool, or left by an inline batch
 * that could not run them): no CQE.  The tasks still linked behind it go
 * too: they completed with it (the rest of a failed chain, sched.c) or
 * never were (a refused chain).  Any context.
 */
void kpool_task_release(struct kpool_task *task)
{
	while (task) {
		struct kpool_task *next = task->link_next;
		struct kpool_ctx *pool = task->pool;
		bool cache = kpool_task_cacheable(task);

		if (task->prepped && task->def->cleanup)
			task->def->cleanup(task);
		put_pid(task->owner);
		/* Before the ref: the pool's free, after the last, sees it. */
		if (cache && kpool_task_poison(task))
			llist_add(&task->cache_node, &pool->task_free);
		else if (!cache)
			kmem_cache_free(kpool_task_cache, task);
		percpu_ref_put(&pool->refs);
		task = next;
	}
}

/* The pool goes: so do the tasks its cache holds.  No task is left. */
void kpool_tasks_free_cache(struct kpool_ctx *pool)
{
	struct llist_node *lists[] = {
		pool->task_cache, llist_del_all(&pool->task_free),
	};
	struct kpool_task *task, *tmp;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		llist_for_each_entry_safe(task, tmp, lists[i], cache_node) {
			kpool_task_unpoison(task);
			kmem_cache_free(kpool_task_cache, task);
		}
	}
	pool->task_cache = NULL;
}

/* An invalid SQE: its CQE says why. */
void kpool_task_reject(struct kpool_task *task, s32 res)
{
	kpool_sched_reject(task->pool, task->user_data, task->op, res);
	kpool_task_release(task);
}

/* Complete a task and free it.  Starts nothing; see kpool_task_done(). */
s32 kpool_task_finish(struct kpool_task *task, s32 res)
{
	res = kpool_sched_complete(task, res);
	kpool_task_release(task);
	return res;
}

/*
 * Completion from the task's own context (its worker or its timer):
 * finish it, then start what waited for its slot.  Returns the result it
 * completed with.
 */
s32 kpool_task_done(struct kpool_task *task, s32 res)
{
	struct kpool_ctx *pool = task->pool;

	percpu_ref_get(&pool->refs);	/* the task's own ref goes below */
	res = kpool_task_finish(task, res);
	kpool_sched_kick(pool);
	percpu_ref_put(&pool->refs);
	return res;
}

/* The kind of workqueue a started task runs on. */
static enum kpool_wq_kind kpool_task_wq_kind(const struct kpool_task *task)
{
	if (task->unbound)
		return KPOOL_WQ_UNBOUND;
	if (task->def->flags & KPOOL_OPF_LONG ||
	    task->sqe_flags & KPOOL_SQE_UNBOUND)
		return KPOOL_WQ_LONG;
	return KPOOL_WQ_PERCPU;
}

static struct workqueue_struct *kpool_task_wq(const struct kpool_task *task)
{
	return kpool_wqs[task->high_worker][kpool_task_wq_kind(task)];
}

static void kpool_task_queue(struct kpool_task *task,
			     struct workqueue_struct *wq, work_func_t fn)
{
	INIT_WORK(&task->work, fn);
	if (task->unbound)
		queue_work(wq, &task->work);
	else
		queue_work_on(task->cpu, wq, &task->work);
}

static void kpool_task_work(struct work_struct *work)
{
	struct kpool_task *task = container_of(work, struct kpool_task, work);
	int ret = task->def->issue(task);

	if (ret != -EIOCBQUEUED)
		kpool_task_done(task, ret);
}

/*
 * How long one work item runs tasks of its batch before it queues the
 * rest behind whatever else waits for the CPU's workers: other pools'
 * batches get their turn, and the workqueue watchdog never sees a hog.
 */
#define KPOOL_RUN_BUDGET_NS	NSEC_PER_MSEC
/* Tasks completed together. */
#define KPOOL_RUN_DONE_BATCH	16

struct kpool_run_done {
	struct kpool_task	*tasks[KPOOL_RUN_DONE_BATCH];
	s32			res[KPOOL_RUN_DONE_BATCH];
	unsigned int		n;
};

static void kpool_run_done_flush(struct kpool_ctx *pool,
				 struct kpool_run_done *done)
{
	if (!done->n)
		return;
	kpool_sched_complete_batch(pool, done->tasks, done->res, done->n);
	done->n = 0;
	kpool_sched_kick(pool);
}

/*
 * A batch's work item: run its tasks in order, complete them in groups,
 * and after KPOOL_RUN_BUDGET_NS hand the rest to a work item of their
 * own.  Its tasks are short (the CPU's own workqueue, never a LONG op).
 * No task of the batch can be freed under us: a running task completes
 * only here (its op's cancel asks it to stop; ops.h).
 */
static void kpool_run_batch_work(struct work_struct *work)
{
	struct kpool_task *task = container_of(work, struct kpool_task, work);
	struct workqueue_struct *wq = kpool_task_wq(task);
	struct kpool_ctx *pool = task->pool;
	u64 until = ktime_get_ns() + KPOOL_RUN_BUDGET_NS;
	struct kpool_run_done done;

	done.n = 0;
	percpu_ref_get(&pool->refs);	/* the tasks' own refs go below */
	while (task) {
		struct kpool_task *next = task->run_next;
		int ret = task->def->issue(task);

		if (ret != -EIOCBQUEUED) {
			done.tasks[done.n] = task;
			done.res[done.n++] = ret;
			if (done.n == KPOOL_RUN_DONE_BATCH)
				kpool_run_done_flush(pool, &done);
		}
		task = next;
		if (task && ktime_get_ns() >= until) {
			kpool_task_queue(task, wq, kpool_run_batch_work);
			break;
		}
	}
	kpool_run_done_flush(pool, &done);
	percpu_ref_put(&pool->refs);
}

/* Queue the batch as one work item (its first task's). */
void kpool_run_batch_flush(struct kpool_run_batch *rb)
{
	if (!rb->head)
		return;
	kpool_task_queue(rb->head, rb->wq, rb->n > 1 ? kpool_run_batch_work :
			 kpool_task_work);
	memset(rb, 0, sizeof(*rb));
}

/*
 * Run a started task: inline ops here, the rest on a worker.  (File ops
 * are READY from the moment they start, and run in a thread of their
 * process: owner.c.)  A short task for a CPU's own workqueue joins @rb,
 * if given, to be queued with the tasks started beside it when the caller
 * flushes it.  The others are queued alone: a LONG op on the CPU-intensive
 * workqueue, where each work item has a kworker of its own and long tasks
 * run side by side, not one after the other; an unbound one (any CPU: a
 * batch would keep it on one).  Returns -EIOCBQUEUED, or the result of an
 * inline op that completed at once (the caller then finishes the task).
 */
int kpool_task_run(struct kpool_task *task, struct kpool_run_batch *rb)
{
	struct workqueue_struct *wq;

	if (task->def->flags & KPOOL_OPF_ISSUE_INLINE)
		return task->def->issue(task);

	wq = kpool_task_wq(task);
	if (!rb || kpool_task_wq_kind(task) != KPOOL_WQ_PERCPU) {
		kpool_task_queue(task, wq, kpool_task_work);
		return -EIOCBQUEUED;
	}
	if (rb->head && (rb->wq != wq || rb->cpu != task->cpu))
		kpool_run_batch_flush(rb);
	task->run_next = NULL;
	if (rb->head) {
		rb->tail->run_next = task;
	} else {
		rb->head = task;
		rb->wq = wq;
		rb->cpu = task->cpu;
	}
	rb->tail = task;
	rb->n++;
	return -EIOCBQUEUED;
}

static void kpool_wqs_destroy(void)
{
	int prio, kind;

	for (prio = 0; prio < KPOOL_NR_PRIO; prio++)
		for (kind = 0; kind < KPOOL_NR_WQ_KINDS; kind++)
			if (kpool_wqs[prio][kind])
				destroy_workqueue(kpool_wqs[prio][kind]);
}

int kpool_tasks_init(void)
{
	int prio, kind;

	kpool_task_cache = KMEM_CACHE(kpool_task, SLAB_ACCOUNT);
	if (!kpool_task_cache)
		return -ENOMEM;
	for (prio = 0; prio < KPOOL_NR_PRIO; prio++) {
		for (kind = 0; kind < KPOOL_NR_WQ_KINDS; kind++) {
			bool high = prio == KPOOL_PRIO_HIGH;

			/*
			 * As many active items as a workqueue takes: each
			 * pool is bounded by max_workers, and an item held
			 * inactive would wait behind other pools' in FIFO.
			 */
			kpool_wqs[prio][kind] =
				alloc_workqueue("%s%s",
						kpool_wq_kinds[kind].flags |
						(high ? WQ_HIGHPRI : 0),
						WQ_MAX_ACTIVE,
						kpool_wq_kinds[kind].name,
						high ? "_hi" : "");
			if (!kpool_wqs[prio][kind]) {
				kpool_tasks_exit();
				return -ENOMEM;
			}
		}
	}
	return 0;
}

void kpool_tasks_exit(void)
{
	kpool_wqs_destroy();
	kmem_cache_destroy(kpool_task_cache);
}
