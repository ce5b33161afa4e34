// SPDX-License-Identifier: GPL-2.0
/*
 * The program's own worker threads, and the user functions they run
 * (KPOOL_OP_CALL, KPOOL_IOC_WORK).
 *
 * A thread of the program becomes a worker of a pool with its first
 * KPOOL_IOC_WORK: the module keeps a struct kpool_worker for it, in one of
 * the pool's KPOOL_POOL_WORKERS slots.  Each WORK call reports the task the
 * thread ran (it completes with the reported result), then parks the
 * thread on the pool's idle list.  The scheduler starts a CALL task only
 * when a parked worker of the task's own process is on that list, and
 * gives the task to that worker in the same hold of sched_lock
 * (kpool_worker_give_locked()): so capacity, priority order and deadlines
 * are the scheduler's, for user functions as for kernel ops, and a slot
 * is never held by a function no thread can run.  Parked workers are taken
 * last in, first out: the one whose cache is warm, and the others stay
 * parked.
 *
 * A task given to a worker is RUNNING in user space until the worker
 * reports it.  Only three things end it: the report (a WORK of that
 * thread), the death of the thread (-EOWNERDEAD), and the close of the
 * pool (-ECANCELED).  Whoever clears worker->task under sched_lock owns
 * the task and completes it; the others find nothing.  A cancel or a
 * deadline only tells the function (its worker word in the cq_ring, and
 * the deadline WORK reported).
 *
 * Blocked workers are replaced.  The same notifier sees a worker thread
 * that holds a task leave the CPU in a sleeping state (a syscall that
 * waits, a page fault, a futex): it counts the thread in
 * pool->call_blocked, which the scheduler takes off the running count, so
 * the slot goes to a waiting task (an irq_work, then kick_work, starts
 * it) and a pool of capacity N keeps N tasks runnable, not N threads
 * existing.  When the thread runs again it counts again, and nothing new
 * starts until the running count is back under capacity.  A preemption
 * is not a block: the thread is still runnable.  (A thread preempted
 * between setting a sleeping state and calling schedule() counts as
 * blocked until it runs again: a brief overcount.)
 *
 * Seeing a worker thread die: a preempt notifier on the thread (the
 * hook KVM uses) sees its last switch, in state TASK_DEAD.  That runs
 * under the runqueue lock with interrupts off, so it only marks the
 * worker dead and queues an irq_work, which queues a work item, which
 * completes the task and frees the worker.  The notifier cannot be freed
 * earlier: the scheduler walks the thread's list until that last switch,
 * and only the thread itself may unlink it (KPOOL_WORK_LEAVE).  So a
 * worker outlives its pool when the pool closes first (it is detached:
 * pool NULL), and outlives nothing else.  Each registered worker holds a
 * module reference.  The preempt-notifier static key is turned on when
 * the module loads and off when it goes: patching the scheduler's code at
 * every first and last worker would cost more than the empty check it
 * saves, and patching it while a busy program's threads run __schedule()
 * on other CPUs (the first worker parking) has crashed a TCG guest (an
 * int3 Oops in __schedule() at the patched jump, 7.3): at load time the
 * machine is quieter, and it happens once.
 *
 * Locking: pool->sched_lock guards the pool's worker lists and slots and
 * each attached worker's task, idle and pool fields; kpool_worker_lock
 * (a mutex) orders the two ways a worker can leave its pool when its
 * thread is gone, the pool's close (kpool_workers_detach()) and the dead
 * work: whoever comes second finds worker->pool NULL.  Order: the mutex,
 * then sched_lock.
 *
 * Fork: the child's threads are other workers (the notifier list is not
 * inherited), of another process: they are given only their process's
 * tasks.  Exec: other threads die (their tasks complete with
 * -EOWNERDEAD); the exec'ing thread keeps its worker until it dies or the
 * pool closes (close on exec).
 */
#include <linux/irq_work.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include "kpool.h"
#include "ops.h"

struct kpool_worker {
	struct preempt_notifier	notifier;	/* on the thread's own list */
	struct task_struct	*thread;	/* compared, never dereferenced */
	struct pid		*process;	/* its thread group */
	struct kpool_ctx	*pool;		/* NULL once detached */
	struct kpool_task	*task;		/* given, not reported: sched_lock */
	u64			token;		/* names task to its worker */
	u32			slot;		/* its word in kring->workers[] */
	bool			idle;		/* parked: on pool->idle_workers */
	bool			dead;		/* its thread made its last switch */
	bool			busy;		/* holds a task: WRITE_ONCE */
	bool			blocked;	/* counted in call_blocked: notifier */
	struct list_head	node;		/* pool->worker_list */
	struct list_head	idle_node;	/* pool->idle_workers */
	wait_queue_head_t	wait;		/* the parked thread */
	struct irq_work		dead_irq;
	struct work_struct	dead_work;
};

/* What a CALL task carries: the program's two words, and its worker. */
struct kpool_call {
	u64			fn;
	u64			arg;
	struct kpool_worker	*worker;	/* under sched_lock */
};

static DEFINE_MUTEX(kpool_worker_lock);

int kpool_call_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	struct kpool_call *call = kpool_task_data(task, struct kpool_call);

	call->fn = sqe->addr;
	call->arg = sqe->off;
	call->worker = NULL;
	return 0;
}

/* Under sched_lock: tell the running function; it ends when it returns. */
int kpool_call_cancel(struct kpool_task *task)
{
	struct kpool_call *call = kpool_task_data(task, struct kpool_call);

	lockdep_assert_held(&task->pool->sched_lock);
	WRITE_ONCE(task->cancel_requested, true);
	if (call->worker)
		WRITE_ONCE(task->pool->kring->workers[call->worker->slot],
			   KPOOL_WORKER_CANCEL);
	return 0;
}

/* A worker blocked with a task: start what waits for its slot. */
static void kpool_workers_kick_work(struct work_struct *work)
{
	kpool_sched_kick(container_of(work, struct kpool_ctx, kick_work));
}

static void kpool_workers_kick_irq(struct irq_work *irq)
{
	struct kpool_ctx *pool = container_of(irq, struct kpool_ctx, kick_irq);

	queue_work(system_highpri_wq, &pool->kick_work);
}

void kpool_workers_init(struct kpool_ctx *pool)
{
	INIT_LIST_HEAD(&pool->worker_list);
	INIT_LIST_HEAD(&pool->idle_workers);
	atomic_set(&pool->call_blocked, 0);
	init_irq_work(&pool->kick_irq, kpool_workers_kick_irq);
	INIT_WORK(&pool->kick_work, kpool_workers_kick_work);
}

/*
 * The pool is about to be freed, its workers detached: wait until no
 * notifier can still see it (they run with interrupts off: an RCU read
 * side), then for the kick they may have queued.
 */
void kpool_workers_stop(struct kpool_ctx *pool)
{
	if (!pool->had_workers)
		return;
	synchronize_rcu();
	irq_work_sync(&pool->kick_irq);
	cancel_work_sync(&pool->kick_work);
}

/* Running tasks whose worker thread sleeps: off the running count. */
u32 kpool_workers_blocked(struct kpool_ctx *pool)
{
	int blocked = atomic_read(&pool->call_blocked);

	return blocked <= 0 ? 0 : min_t(u32, blocked, pool->running);
}

/* The worker is parked: first in line for the next task of its process. */
static void kpool_worker_idle_locked(struct kpool_ctx *pool,
				     struct kpool_worker *worker)
{
	lockdep_assert_held(&pool->sched_lock);
	if (!worker->task && !worker->idle) {
		worker->idle = true;
		list_add(&worker->idle_node, &pool->idle_workers);
		WRITE_ONCE(pool->nr_idle_workers, pool->nr_idle_workers + 1);
	}
}

/* The worker is no longer parked (given a task, leaving, or woken). */
static void kpool_worker_busy_locked(struct kpool_ctx *pool,
				     struct kpool_worker *worker)
{
	lockdep_assert_held(&pool->sched_lock);
	if (worker->idle) {
		list_del_init(&worker->idle_node);
		worker->idle = false;
		WRITE_ONCE(pool->nr_idle_workers, pool->nr_idle_workers - 1);
	}
}

/* How many workers hold a task (at most KPOOL_POOL_WORKERS to look at). */
u32 kpool_workers_busy_locked(struct kpool_ctx *pool)
{
	struct kpool_worker *worker;
	u32 busy = 0;

	lockdep_assert_held(&pool->sched_lock);
	list_for_each_entry(worker, &pool->worker_list, node)
		busy += !!worker->task;
	return busy;
}

/* A parked worker of @process, the one parked last; NULL if none. */
static struct kpool_worker *kpool_worker_first_idle_locked(struct kpool_ctx *pool,
							   struct pid *process)
{
	struct kpool_worker *worker;

	lockdep_assert_held(&pool->sched_lock);
	list_for_each_entry(worker, &pool->idle_workers, idle_node)
		if (worker->process == process)
			return worker;
	return NULL;
}

/* May the CALL task @task start now: is a worker of its process parked? */
bool kpool_worker_available_locked(struct kpool_ctx *pool,
				   const struct kpool_task *task)
{
	return kpool_worker_first_idle_locked(pool, task->owner);
}

/*
 * The task just took its slot: give it to a parked worker of its process
 * (kpool_worker_available_locked() said there is one) and wake it.  The
 * wakeup is under the lock: the worker may run, report and leave as soon
 * as it drops.
 */
void kpool_worker_give_locked(struct kpool_ctx *pool, struct kpool_task *task)
{
	struct kpool_call *call = kpool_task_data(task, struct kpool_call);
	struct kpool_worker *worker = kpool_worker_first_idle_locked(pool,
								     task->owner);

	kpool_worker_busy_locked(pool, worker);
	worker->task = task;
	worker->token = ++pool->work_seq;
	call->worker = worker;
	/* Pairs with the acquire of the program's cancel poll. */
	smp_store_release(&pool->kring->workers[worker->slot], 0);
	wake_up(&worker->wait);
}

/* Take the worker's task off it: the caller owns and completes it. */
static struct kpool_task *kpool_worker_take_task_locked(struct kpool_worker *worker)
{
	struct kpool_task *task = worker->task;

	if (task) {
		kpool_task_data(task, struct kpool_call)->worker = NULL;
		worker->task = NULL;
		WRITE_ONCE(worker->busy, false);
	}
	return task;
}

/* The worker leaves its pool's lists and slot; returns a task it held. */
static struct kpool_task *kpool_worker_unlink_locked(struct kpool_ctx *pool,
						     struct kpool_worker *worker)
{
	kpool_worker_busy_locked(pool, worker);
	list_del_init(&worker->node);
	__clear_bit(worker->slot, pool->worker_slots);
	WRITE_ONCE(pool->nr_workers, pool->nr_workers - 1);
	return kpool_worker_take_task_locked(worker);
}

static void kpool_worker_free(struct kpool_worker *worker)
{
	put_pid(worker->process);
	kfree(worker);
	module_put(THIS_MODULE);
}

/* Process context, after the thread's last switch: it held what it held. */
static void kpool_worker_dead_work(struct work_struct *work)
{
	struct kpool_worker *worker = container_of(work, struct kpool_worker,
						   dead_work);
	struct kpool_task *task = NULL;
	struct kpool_ctx *pool;
	unsigned long flags;

	irq_work_sync(&worker->dead_irq);
	mutex_lock(&kpool_worker_lock);
	pool = worker->pool;
	if (pool) {
		spin_lock_irqsave(&pool->sched_lock, flags);
		task = kpool_worker_unlink_locked(pool, worker);
		WRITE_ONCE(worker->pool, NULL);
		spin_unlock_irqrestore(&pool->sched_lock, flags);
	}
	mutex_unlock(&kpool_worker_lock);
	/* Ours since it was unlinked; it pins the pool; done kicks its queue. */
	if (task)
		kpool_task_done(task, -EOWNERDEAD);
	kpool_worker_free(worker);
}

static void kpool_worker_dead_irq(struct irq_work *irq)
{
	struct kpool_worker *worker = container_of(irq, struct kpool_worker,
						   dead_irq);

	kpool_release_queue(&worker->dead_work);
}

/*
 * The notifiers run on the worker's own thread with preemption off
 * (sched_out also under the runqueue lock with interrupts off): atomics
 * and irq_work only.  worker->pool is read once; a pool stays until an
 * RCU grace period after its workers were detached (kpool_workers_stop()).
 * busy is set by the thread itself when it takes its task, so a thread
 * given a task on its way to sleep is not counted as blocked.
 */
static void kpool_worker_sched_in(struct preempt_notifier *notifier, int cpu)
{
	struct kpool_worker *worker = container_of(notifier, struct kpool_worker,
						   notifier);
	struct kpool_ctx *pool;

	if (!worker->blocked)
		return;
	worker->blocked = false;
	pool = READ_ONCE(worker->pool);
	if (pool)
		atomic_dec(&pool->call_blocked);
}

/*
 * The thread leaves the CPU.  Sleeping with a task: it no longer holds its
 * slot.  Dying (its last switch is in TASK_DEAD): after this the scheduler
 * never walks the notifier again, so the dead work may free it.
 */
static void kpool_worker_sched_out(struct preempt_notifier *notifier,
				   struct task_struct *next)
{
	struct kpool_worker *worker = container_of(notifier, struct kpool_worker,
						   notifier);
	unsigned int state = get_current_state();
	struct kpool_ctx *pool;

	if (state == TASK_DEAD) {
		WRITE_ONCE(worker->dead, true);
		irq_work_queue(&worker->dead_irq);
		return;
	}
	if (state == TASK_RUNNING || !READ_ONCE(worker->busy))
		return;
	pool = READ_ONCE(worker->pool);
	if (!pool)
		return;
	worker->blocked = true;
	atomic_inc(&pool->call_blocked);
	/*
	 * Pairs with the barrier after a task is queued (kpool_sched_accept()):
	 * either we see it waiting and kick, or its submitter sees us blocked
	 * and kicks.
	 */
	smp_mb__after_atomic();
	if (READ_ONCE(pool->waiting))
		irq_work_queue(&pool->kick_irq);
}

static struct preempt_ops kpool_worker_preempt_ops = {
	.sched_in	= kpool_worker_sched_in,
	.sched_out	= kpool_worker_sched_out,
};

/* current's worker in @pool, or NULL. */
static struct kpool_worker *kpool_worker_find_locked(struct kpool_ctx *pool)
{
	struct kpool_worker *worker;

	list_for_each_entry(worker, &pool->worker_list, node)
		if (worker->thread == current && !READ_ONCE(worker->dead))
			return worker;
	return NULL;
}

/*
 * Free current's workers whose pools have closed.  Each is still on
 * current's notifier list, which every context switch of current walks,
 * and only current may unlink it: so a thread that keeps working for
 * pools that come and go carries at most the pools closed since it last
 * registered, not all it ever had.
 */
static void kpool_worker_reap_detached(void)
{
	struct preempt_notifier *notifier;
	struct hlist_node *next;
	LIST_HEAD(gone);
	struct kpool_worker *worker, *wnext;

	mutex_lock(&kpool_worker_lock);
	preempt_disable();
	hlist_for_each_entry_safe(notifier, next, &current->preempt_notifiers,
				  link) {
		if (notifier->ops != &kpool_worker_preempt_ops)
			continue;
		worker = container_of(notifier, struct kpool_worker, notifier);
		if (worker->pool)
			continue;
		preempt_notifier_unregister(notifier);
		list_add_tail(&worker->node, &gone);
	}
	preempt_enable();
	mutex_unlock(&kpool_worker_lock);
	list_for_each_entry_safe(worker, wnext, &gone, node)
		kpool_worker_free(worker);
}

/* current becomes a worker of @pool; -EBUSY when every slot is taken. */
static int kpool_worker_register(struct kpool_ctx *pool,
				 struct kpool_worker **workerp)
{
	struct kpool_worker *worker;
	unsigned long flags;
	int slot;

	kpool_worker_reap_detached();
	worker = kzalloc(sizeof(*worker), GFP_KERNEL_ACCOUNT);
	if (!worker)
		return -ENOMEM;
	worker->thread = current;
	worker->process = get_pid(task_tgid(current));
	worker->pool = pool;
	INIT_LIST_HEAD(&worker->node);
	INIT_LIST_HEAD(&worker->idle_node);
	init_waitqueue_head(&worker->wait);
	init_irq_work(&worker->dead_irq, kpool_worker_dead_irq);
	INIT_WORK(&worker->dead_work, kpool_worker_dead_work);

	spin_lock_irqsave(&pool->sched_lock, flags);
	slot = find_first_zero_bit(pool->worker_slots, KPOOL_POOL_WORKERS);
	if (slot < KPOOL_POOL_WORKERS) {
		pool->had_workers = true;
		__set_bit(slot, pool->worker_slots);
		worker->slot = slot;
		list_add_tail(&worker->node, &pool->worker_list);
		WRITE_ONCE(pool->nr_workers, pool->nr_workers + 1);
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	if (slot >= KPOOL_POOL_WORKERS) {
		put_pid(worker->process);
		kfree(worker);
		return -EBUSY;
	}

	/* Our file is open, so the module is pinned: this cannot fail. */
	__module_get(THIS_MODULE);
	preempt_notifier_init(&worker->notifier, &kpool_worker_preempt_ops);
	/* The scheduler walks this list at our own switches: no preemption. */
	preempt_disable();
	preempt_notifier_register(&worker->notifier);
	preempt_enable();
	*workerp = worker;
	return 0;
}

/* current stops being a worker (KPOOL_WORK_LEAVE); it holds no task. */
static void kpool_worker_leave(struct kpool_ctx *pool,
			       struct kpool_worker *worker)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->sched_lock, flags);
	kpool_worker_unlink_locked(pool, worker);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	preempt_disable();
	preempt_notifier_unregister(&worker->notifier);
	preempt_enable();
	kpool_worker_free(worker);
}

/* Nothing will be given any more: the pool drains and nothing waits. */
static bool kpool_worker_no_more(struct kpool_ctx *pool)
{
	return READ_ONCE(pool->draining) && !READ_ONCE(pool->waiting) &&
		!READ_ONCE(pool->linked);
}

/*
 * Put the worker on the idle list or take it off; false (and nothing
 * done) if it was given a task meanwhile.
 */
static bool kpool_worker_set_idle(struct kpool_ctx *pool,
				  struct kpool_worker *worker, bool idle)
{
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&pool->sched_lock, flags);
	ok = !worker->task;
	if (ok && idle)
		kpool_worker_idle_locked(pool, worker);
	else if (ok)
		kpool_worker_busy_locked(pool, worker);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	return ok;
}

/*
 * Park current until a task is given to it, then describe the task in @w.
 * 0, or -ETIME, -EINTR, -ESHUTDOWN with no task.  A task given while the
 * wait was ending is taken all the same.  @kicked: the worker was parked
 * before a kick (its report's completion), which may have given it a task.
 * @no_wait (a quiet report): take a task given by then, else return 0 with
 * none, off the idle list, so its thread can run the completion.
 */
static int kpool_worker_park(struct kpool_ctx *pool,
			     struct kpool_worker *worker,
			     struct kpool_work *w, ktime_t end, bool kicked,
			     bool no_wait)
{
	struct kpool_task *task;
	struct kpool_call *call;
	unsigned long flags;
	int ret;

	if (!kicked) {
		spin_lock_irqsave(&pool->sched_lock, flags);
		kpool_worker_idle_locked(pool, worker);
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		/* A waiting CALL task may have waited for a worker. */
		kpool_sched_kick(pool);
	}

	/*
	 * Wait; meanwhile run the process's ready file tasks, one at a time
	 * and off the idle list, so a task given to this worker never waits
	 * behind them and no task is given to a worker that is busy.
	 */
	for (;;) {
		ret = 0;
		if (no_wait || READ_ONCE(worker->task) ||
		    kpool_worker_no_more(pool))
			break;
		if (kpool_owner_has_mine(pool)) {
			if (!kpool_worker_set_idle(pool, worker, false))
				break;		/* given a task meanwhile */
			kpool_owner_serve_one(pool);
			kpool_worker_set_idle(pool, worker, true);
			kpool_sched_kick(pool);
			continue;
		}
		ret = kpool_wait_event_until(worker->wait,
					     READ_ONCE(worker->task) ||
					     kpool_worker_no_more(pool) ||
					     kpool_owner_has_mine(pool), end);
		if (ret)
			break;
	}

	spin_lock_irqsave(&pool->sched_lock, flags);
	task = worker->task;
	if (!task) {
		kpool_worker_busy_locked(pool, worker);
		spin_unlock_irqrestore(&pool->sched_lock, flags);
		if (no_wait)
			return 0;	/* token 0: nothing given at once */
		return ret ? ret : -ESHUTDOWN;
	}
	/* Its own thread says it holds it: see the notifiers. */
	WRITE_ONCE(worker->busy, true);
	call = kpool_task_data(task, struct kpool_call);
	w->token = worker->token;
	w->user_data = task->user_data;
	w->fn = call->fn;
	w->arg = call->arg;
	w->deadline_ns = task->deadline;
	w->slot = worker->slot;
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	return 0;
}

/*
 * KPOOL_IOC_WORK, after ioctl.c checked flags and reserved fields.  A
 * worker that reports is parked before its task completes: the kick that
 * completion makes gives it the next waiting task at once, in this call,
 * with no sleep and no other thread woken (XNU's thread return).
 */
int kpool_worker_work(struct kpool_ctx *pool, struct kpool_work *w,
		      ktime_t end)
{
	bool leave = w->flags & KPOOL_WORK_LEAVE;
	bool quiet = w->flags & KPOOL_WORK_QUIET;
	struct kpool_worker *worker;
	struct kpool_task *task = NULL;
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&pool->sched_lock, flags);
	worker = kpool_worker_find_locked(pool);
	if (w->flags & KPOOL_WORK_DONE) {
		if (!worker || !worker->task || !w->token ||
		    w->token != worker->token)
			ret = -EINVAL;
		else
			task = kpool_worker_take_task_locked(worker);
	} else if (worker && worker->task && leave) {
		ret = -EBUSY;
	}
	if (task && !leave)
		kpool_worker_idle_locked(pool, worker);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	if (ret)
		return ret;

	w->token = 0;
	w->user_data = 0;
	w->fn = 0;
	w->arg = 0;
	w->deadline_ns = 0;
	w->done_res = 0;
	w->slot = worker ? worker->slot : 0;
	if (task) {
		/* Ours alone now: nobody else reads quiet before it ends. */
		task->quiet = quiet;
		w->done_res = kpool_task_done(task, w->res);
	}

	if (w->flags & KPOOL_WORK_LEAVE) {
		if (worker)
			kpool_worker_leave(pool, worker);
		return 0;
	}
	if (!worker) {
		ret = kpool_worker_register(pool, &worker);
		if (ret)
			return ret;
	}
	return kpool_worker_park(pool, worker, w, end, task, quiet);
}

/* Wake every parked worker: file tasks wait for them, or the pool drains. */
void kpool_workers_wake(struct kpool_ctx *pool)
{
	struct kpool_worker *worker;
	unsigned long flags;

	if (!READ_ONCE(pool->nr_workers))
		return;
	spin_lock_irqsave(&pool->sched_lock, flags);
	list_for_each_entry(worker, &pool->idle_workers, idle_node)
		wake_up(&worker->wait);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
}

/*
 * The pool closes (no WORK can be running: each holds the file): complete
 * what its workers hold with -ECANCELED and let the workers go; each is
 * freed when its thread dies or leaves.
 */
void kpool_workers_detach(struct kpool_ctx *pool)
{
	struct kpool_worker *worker, *next;
	struct kpool_task *task, *tnext;
	unsigned long flags;
	LIST_HEAD(held);

	mutex_lock(&kpool_worker_lock);
	spin_lock_irqsave(&pool->sched_lock, flags);
	list_for_each_entry_safe(worker, next, &pool->worker_list, node) {
		task = kpool_worker_unlink_locked(pool, worker);
		if (task)
			list_add_tail(&task->sched_node, &held);
		WRITE_ONCE(worker->pool, NULL);
	}
	spin_unlock_irqrestore(&pool->sched_lock, flags);
	mutex_unlock(&kpool_worker_lock);

	list_for_each_entry_safe(task, tnext, &held, sched_node) {
		list_del_init(&task->sched_node);
		kpool_task_finish(task, -ECANCELED);
	}
}

/* The module loads: worker threads will need preempt notifiers (above). */
void kpool_workers_setup(void)
{
	preempt_notifier_inc();
}

/* The module goes: no worker is left (each held a module reference). */
void kpool_workers_exit(void)
{
	preempt_notifier_dec();
}
