// SPDX-License-Identifier: GPL-2.0
/*
 * The machine-wide view: every live pool, for the administrator.
 *
 * Every pool is on kpool_pools from open to free, under kpool_pools_lock,
 * with the pid and comm of the thread that opened it.  debugfs shows the
 * list as kpool/pools (one line per pool) and kpool/tasks (each pool, then
 * its tasks in flight, at most KPOOL_VIEW_TASKS of them: see
 * kpool_view_tasks_locked() for the order),
 * both readable by root only (0400; debugfs itself is root's).
 *
 * Safe against pools closing while read: a reader holds kpool_pools_lock
 * from the seq_file's start to its stop, and a pool leaves the list (in
 * kpool_pool_free(), under the same lock) before anything of it is freed.
 * A pool's sched_lock is held only to copy that pool's numbers and tasks
 * into the reader's buffer, so a submitter waits at most that long; the
 * printing happens after it is dropped.
 *
 * The stuck-task watchdog (stuck.c) walks the same list.
 */
#include <linux/debugfs.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "kpool.h"
#include "ops.h"

/* The longest per-pool task listing in kpool/tasks. */
#define KPOOL_VIEW_TASKS	64

static LIST_HEAD(kpool_pools);
static DEFINE_MUTEX(kpool_pools_lock);
static struct dentry *kpool_debugfs_dir;

void kpool_registry_add(struct kpool_ctx *pool)
{
	pool->opener_pid = task_tgid_nr(current);
	get_task_comm(pool->opener_comm, current);
	mutex_lock(&kpool_pools_lock);
	list_add_tail(&pool->registry_node, &kpool_pools);
	mutex_unlock(&kpool_pools_lock);
}

void kpool_registry_del(struct kpool_ctx *pool)
{
	mutex_lock(&kpool_pools_lock);
	list_del(&pool->registry_node);
	mutex_unlock(&kpool_pools_lock);
}

/* Call @fn on every live pool, in open order, with the registry locked. */
void kpool_registry_walk(void (*fn)(struct kpool_ctx *pool, void *arg),
			 void *arg)
{
	struct kpool_ctx *pool;

	mutex_lock(&kpool_pools_lock);
	list_for_each_entry(pool, &kpool_pools, registry_node)
		fn(pool, arg);
	mutex_unlock(&kpool_pools_lock);
}

/* One task as the view shows it, copied under sched_lock. */
struct kpool_task_view {
	const char	*op;
	u64		user_data;
	u64		since;		/* submission, ns */
	u32		cpu;
	u8		state;
	u8		prio;
	bool		stuck;
	bool		on_worker;
	bool		unbound;
	bool		user;		/* runs in a thread of the program */
};

/* One pool, copied under sched_lock. */
struct kpool_pool_view {
	bool		setup;
	u32		capacity, max_waiting, running, waiting, stuck_now;
	u64		submitted, completed, failed, cancelled, timed_out;
	u64		rejected, stuck;
	unsigned int	nr_tasks;	/* in tasks[] */
	unsigned int	more;		/* in flight beyond them */
	struct kpool_task_view tasks[KPOOL_VIEW_TASKS];
};

static void kpool_view_task(struct kpool_task_view *v,
			    const struct kpool_task *task)
{
	v->op = task->def->name;
	v->user_data = task->user_data;
	v->since = task->submit_ns;
	v->cpu = task->cpu;
	v->state = task->state;
	v->prio = task->prio;
	v->stuck = task->stuck;
	v->on_worker = task->on_worker;
	v->unbound = task->unbound;
	v->user = task->def->flags & KPOOL_OPF_USER;
}

static void kpool_view_add(struct kpool_pool_view *v,
			   const struct kpool_task *task)
{
	if (v->nr_tasks < KPOOL_VIEW_TASKS)
		kpool_view_task(&v->tasks[v->nr_tasks++], task);
}

/*
 * The tasks in flight, in the order that matters to someone looking for
 * trouble: the stuck ones (oldest first), then the running ones (oldest
 * first), then the waiting ones in the order they will start (priority,
 * then submission).  Each pass stops once the listing is full; the
 * stuck ones are a prefix of the task list (the watchdog marks by age,
 * and the list is in submission order).
 */
static void kpool_view_tasks_locked(struct kpool_pool_view *v,
				    struct kpool_ctx *pool)
{
	const struct kpool_task *task;
	unsigned int running = 0, in_flight;
	int prio;

	list_for_each_entry(task, &pool->tasks, pool_node) {
		if (!task->stuck || v->nr_tasks == KPOOL_VIEW_TASKS)
			break;
		kpool_view_add(v, task);
	}
	list_for_each_entry(task, &pool->tasks, pool_node) {
		if (v->nr_tasks == KPOOL_VIEW_TASKS || running == pool->running)
			break;
		if (task->state != KPOOL_TASK_RUNNING &&
		    task->state != KPOOL_TASK_READY)
			continue;
		running++;
		if (!task->stuck)
			kpool_view_add(v, task);
	}
	for (prio = KPOOL_NR_PRIO - 1; prio >= 0; prio--) {
		list_for_each_entry(task, &pool->waitq[prio], sched_node) {
			if (v->nr_tasks == KPOOL_VIEW_TASKS)
				break;
			if (!task->stuck)
				kpool_view_add(v, task);
		}
	}
	in_flight = pool->running + pool->waiting;
	v->more = in_flight > v->nr_tasks ? in_flight - v->nr_tasks : 0;
}

static void kpool_view_pool(struct kpool_pool_view *v, struct kpool_ctx *pool,
			    bool with_tasks)
{
	const struct kpool_counters *total = &pool->stats.total;
	unsigned long flags;

	memset(v, 0, offsetof(struct kpool_pool_view, tasks));
	v->setup = kpool_pool_ready(pool);
	if (!v->setup)
		return;
	spin_lock_irqsave(&pool->sched_lock, flags);
	v->capacity = pool->capacity;
	v->max_waiting = pool->max_waiting;
	v->running = pool->running;
	v->waiting = pool->waiting;
	v->stuck_now = pool->stuck_now;
	v->submitted = total->submitted;
	v->completed = total->completed;
	v->failed = total->failed;
	v->cancelled = total->cancelled;
	v->timed_out = total->timed_out;
	v->rejected = total->rejected;
	v->stuck = total->stuck;
	if (with_tasks)
		kpool_view_tasks_locked(v, pool);
	spin_unlock_irqrestore(&pool->sched_lock, flags);
}

static const char *const kpool_state_names[] = {
	[KPOOL_TASK_NEW]	= "new",
	[KPOOL_TASK_WAITING]	= "waiting",
	[KPOOL_TASK_RUNNING]	= "running",
	[KPOOL_TASK_READY]	= "ready",
	[KPOOL_TASK_DONE]	= "done",
	[KPOOL_TASK_LINKED]	= "linked",
};

/* Where a task runs: a kernel worker's CPU, the program's thread, ... */
static void kpool_show_where(struct seq_file *m,
			     const struct kpool_task_view *t)
{
	if (t->state == KPOOL_TASK_WAITING)
		seq_puts(m, "-");
	else if (t->user)
		seq_puts(m, "thread");
	else if (t->state == KPOOL_TASK_READY)
		seq_puts(m, "owner");
	else if (t->on_worker && t->unbound)
		seq_puts(m, "unbound");
	else if (t->on_worker)
		seq_printf(m, "cpu%u", t->cpu);
	else
		seq_puts(m, "timer");	/* running, on no worker: a TIMEOUT */
}

static void kpool_show_pool(struct seq_file *m, struct kpool_ctx *pool,
			    const struct kpool_pool_view *v)
{
	seq_printf(m, "pool %llu pid %d comm %s uid %u", pool->id,
		   pool->opener_pid, pool->opener_comm,
		   from_kuid_munged(&init_user_ns, pool->owner));
	if (!v->setup) {
		seq_puts(m, " setup no\n");
		return;
	}
	seq_printf(m, " capacity %u max_waiting %u running %u waiting %u stuck_now %u",
		   v->capacity, v->max_waiting, v->running, v->waiting,
		   v->stuck_now);
	seq_printf(m, " submitted %llu completed %llu failed %llu cancelled %llu timed_out %llu rejected %llu stuck %llu\n",
		   v->submitted, v->completed, v->failed, v->cancelled,
		   v->timed_out, v->rejected, v->stuck);
}

static void kpool_show_tasks(struct seq_file *m,
			     const struct kpool_pool_view *v)
{
	u64 now = ktime_get_ns();
	unsigned int i;

	for (i = 0; i < v->nr_tasks; i++) {
		const struct kpool_task_view *t = &v->tasks[i];

		seq_printf(m, "  task op=%s state=%s prio=%u where=", t->op,
			   kpool_state_names[t->state], t->prio);
		kpool_show_where(m, t);
		seq_printf(m, " age_ms=%llu user_data=0x%llx%s\n",
			   div_u64(now - t->since, NSEC_PER_MSEC), t->user_data,
			   t->stuck ? " stuck" : "");
	}
	if (v->more)
		seq_printf(m, "  ... %u more\n", v->more);
}

/*
 * Both files iterate the registry with it locked from start to stop; the
 * view buffer is the seq_file's private data.
 */
static void *kpool_view_start(struct seq_file *m, loff_t *pos)
{
	mutex_lock(&kpool_pools_lock);
	return seq_list_start(&kpool_pools, *pos);
}

static void *kpool_view_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &kpool_pools, pos);
}

static void kpool_view_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&kpool_pools_lock);
}

static int kpool_pools_show(struct seq_file *m, void *v)
{
	struct kpool_ctx *pool = list_entry(v, struct kpool_ctx,
					     registry_node);
	struct kpool_pool_view *view = m->private;

	kpool_view_pool(view, pool, false);
	kpool_show_pool(m, pool, view);
	return 0;
}

static int kpool_tasks_show(struct seq_file *m, void *v)
{
	struct kpool_ctx *pool = list_entry(v, struct kpool_ctx,
					     registry_node);
	struct kpool_pool_view *view = m->private;

	kpool_view_pool(view, pool, true);
	kpool_show_pool(m, pool, view);
	kpool_show_tasks(m, view);
	return 0;
}

static const struct seq_operations kpool_pools_sops = {
	.start	= kpool_view_start,
	.next	= kpool_view_next,
	.stop	= kpool_view_stop,
	.show	= kpool_pools_show,
};

static const struct seq_operations kpool_tasks_sops = {
	.start	= kpool_view_start,
	.next	= kpool_view_next,
	.stop	= kpool_view_stop,
	.show	= kpool_tasks_show,
};

static int kpool_pools_open(struct inode *inode, struct file *file)
{
	return seq_open_private(file, &kpool_pools_sops,
				sizeof(struct kpool_pool_view));
}

static int kpool_tasks_open(struct inode *inode, struct file *file)
{
	return seq_open_private(file, &kpool_tasks_sops,
				sizeof(struct kpool_pool_view));
}

static const struct file_operations kpool_pools_fops = {
	.owner		= THIS_MODULE,
	.open		= kpool_pools_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release_private,
};

static const struct file_operations kpool_tasks_fops = {
	.owner		= THIS_MODULE,
	.open		= kpool_tasks_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= seq_release_private,
};

/*
 * Without debugfs (or if it fails) the module works without the view:
 * the debugfs calls then return error pointers, which they accept back.
 */
void kpool_registry_init(void)
{
	kpool_debugfs_dir = debugfs_create_dir("kpool", NULL);
	debugfs_create_file("pools", 0400, kpool_debugfs_dir, NULL,
			    &kpool_pools_fops);
	debugfs_create_file("tasks", 0400, kpool_debugfs_dir, NULL,
			    &kpool_tasks_fops);
}

void kpool_registry_exit(void)
{
	debugfs_remove_recursive(kpool_debugfs_dir);
}
