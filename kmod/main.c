// SPDX-License-Identifier: GPL-2.0
/*
 * kpool: a kernel-backed task pool.  /dev/kpool is a misc device; each
 * open file is one pool.  This file holds the module parameters, the
 * device and the pool's lifetime: open, mmap, poll, release.
 */
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include "kpool.h"

#define CREATE_TRACE_POINTS
#include "kpool_trace.h"

unsigned int kpool_max_entries = 4096;
module_param_named(max_entries, kpool_max_entries, uint, 0444);
MODULE_PARM_DESC(max_entries,
		 "Largest SQ a pool may have (power of two, at most 32768; the CQ may be twice as large)");

unsigned int kpool_max_capacity = 1024;
module_param_named(max_capacity, kpool_max_capacity, uint, 0444);
MODULE_PARM_DESC(max_capacity,
		 "Most tasks one pool may run at once (1..65536)");

unsigned int kpool_burn_max_ms = 10000;
module_param_named(burn_max_ms, kpool_burn_max_ms, uint, 0444);
MODULE_PARM_DESC(burn_max_ms,
		 "Longest BURN task, in ms (at most 600000)");

unsigned int kpool_max_arena_mb = 256;
module_param_named(max_arena_mb, kpool_max_arena_mb, uint, 0444);
MODULE_PARM_DESC(max_arena_mb,
		 "Largest data arena of one pool, in MiB (at most 4096)");

unsigned int kpool_max_pools_per_user = 64;
module_param_named(max_pools_per_user, kpool_max_pools_per_user, uint, 0444);
MODULE_PARM_DESC(max_pools_per_user,
		 "Most pools one user may hold open (CAP_SYS_RESOURCE: no limit)");

unsigned int kpool_max_workers = 8;
module_param_named(max_workers, kpool_max_workers, uint, 0444);
MODULE_PARM_DESC(max_workers,
		 "Most tasks of one pool on kernel workers at once; the rest wait in the pool (1..512)");

#define KPOOL_CAPACITY_CEILING	65536U
#define KPOOL_WORKERS_CEILING	512U
#define KPOOL_ARENA_MB_CEILING	4096U
#define KPOOL_BURN_MS_CEILING	600000U

static void kpool_pool_refs_release(struct percpu_ref *ref)
{
	struct kpool_ctx *pool = container_of(ref, struct kpool_ctx, refs);

	complete(&pool->refs_done);
}

/* Pool ids, for fdinfo and the tracepoints: never reused. */
static atomic64_t kpool_next_id = ATOMIC64_INIT(0);

static int kpool_open(struct inode *inode, struct file *file)
{
	struct kpool_ctx *pool;
	int ret;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL_ACCOUNT);
	if (!pool)
		return -ENOMEM;
	pool->id = atomic64_inc_return(&kpool_next_id);
	ret = kpool_user_charge(pool);
	if (ret) {
		kfree(pool);
		return ret;
	}
	ret = percpu_ref_init(&pool->refs, kpool_pool_refs_release, 0,
			      GFP_KERNEL_ACCOUNT);
	if (ret) {
		kpool_user_uncharge(pool);
		kfree(pool);
		return ret;
	}
	init_completion(&pool->refs_done);
	mutex_init(&pool->setup_lock);
	mutex_init(&pool->submit_lock);
	spin_lock_init(&pool->cq_lock);
	init_waitqueue_head(&pool->cq_wait);
	kpool_sched_init(pool);
	kpool_registry_add(pool);
	kpool_stuck_start();

	file->private_data = pool;
	return nonseekable_open(inode, file);
}

/* A close that a fatal signal interrupted finishes on this workqueue. */
static struct workqueue_struct *kpool_release_wq;

/*
 * Work that must finish before the module goes (a close in the background,
 * a dead worker thread's cleanup): exit destroys this queue first.
 */
void kpool_release_queue(struct work_struct *work)
{
	queue_work(kpool_release_wq, work);
}

/* Every task is gone: free the pool. */
static void kpool_pool_free(struct kpool_ctx *pool)
{
	kpool_registry_del(pool);
	kpool_workers_stop(pool);
	kpool_sched_stop_timers(pool);
	kpool_tasks_free_cache(pool);
	percpu_ref_exit(&pool->refs);
	kpool_rings_free(pool);
	mutex_destroy(&pool->submit_lock);
	mutex_destroy(&pool->setup_lock);
	kpool_user_uncharge(pool);
	kfree(pool);
}

static void kpool_release_work(struct work_struct *work)
{
	struct kpool_ctx *pool = container_of(work, struct kpool_ctx,
					       release_work);

	wait_for_completion(&pool->refs_done);
	kpool_pool_free(pool);
}

/*
 * Runs once the last file reference is gone, which includes every mmap:
 * no ENTER can be running, so no file task runs and none will be taken
 * (a file task is READY from the moment it starts, under sched_lock, so
 * the cancel below finds it).  Cancel everything: waiting and ready tasks
 * complete with -ECANCELED, running ones are stopped where their op
 * allows and otherwise finish; each holds a ref, so wait for them (only
 * this pool's own tasks on kernel workers), then free.  A process that
 * is exiting, or a kernel thread, does not wait, and a fatal signal ends
 * the wait of a close:
 * the rest finishes in the background, and the module cannot unload
 * before it has.
 */
static int kpool_release(struct inode *inode, struct file *file)
{
	struct kpool_ctx *pool = file->private_data;

	trace_kpool_pool_close(pool->id, READ_ONCE(pool->capacity));
	kpool_workers_detach(pool);
	kpool_sched_cancel(pool, 0, true);
	percpu_ref_kill(&pool->refs);
	/*
	 * An exiting process's SIGKILL is already dequeued, and a kernel
	 * thread (delayed fput) never gets one: neither waits.
	 */
	if ((current->flags & (PF_EXITING | PF_KTHREAD)) ||
	    wait_for_completion_killable(&pool->refs_done)) {
		INIT_WORK(&pool->release_work, kpool_release_work);
		kpool_release_queue(&pool->release_work);
		return 0;
	}
	kpool_pool_free(pool);
	return 0;
}

static int kpool_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kpool_ctx *pool = file->private_data;

	if (!kpool_pool_ready(pool))
		return -EBADFD;
	return kpool_rings_mmap(pool, vma);
}

static __poll_t kpool_poll(struct file *file, poll_table *wait)
{
	struct kpool_ctx *pool = file->private_data;

	if (!kpool_pool_ready(pool))
		return EPOLLERR;
	poll_wait(file, &pool->cq_wait, wait);
	/* Pairs with wq_has_sleeper() in kpool_cq_post(), kpool_owner_notify(). */
	smp_mb();
	/* Readable too when tasks wait for an ENTER of their process. */
	return kpool_cq_count(pool) || READ_ONCE(pool->owner_ready_count) ?
		EPOLLIN | EPOLLRDNORM : 0;
}

static void kpool_show_fdinfo(struct seq_file *m, struct file *file)
{
	kpool_stats_show_fdinfo(file->private_data, m);
}

static const struct file_operations kpool_fops = {
	.owner		= THIS_MODULE,
	.open		= kpool_open,
	.release	= kpool_release,
	.mmap		= kpool_mmap,
	.poll		= kpool_poll,
	.show_fdinfo	= kpool_show_fdinfo,
	.unlocked_ioctl	= kpool_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice kpool_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= KPOOL_DEVICE_NAME,
	.fops	= &kpool_fops,
};

static int __init kpool_init(void)
{
	int ret;

	if (!kpool_max_entries || kpool_max_entries > KPOOL_ENTRIES_CEILING ||
	    !is_power_of_2(kpool_max_entries)) {
		pr_err("kpool: max_entries must be a power of two in 1..%u\n",
		       KPOOL_ENTRIES_CEILING);
		return -EINVAL;
	}
	if (!kpool_max_capacity || kpool_max_capacity > KPOOL_CAPACITY_CEILING ||
	    kpool_burn_max_ms > KPOOL_BURN_MS_CEILING ||
	    kpool_max_arena_mb > KPOOL_ARENA_MB_CEILING ||
	    !kpool_max_workers || kpool_max_workers > KPOOL_WORKERS_CEILING) {
		pr_err("kpool: max_capacity must be in 1..%u, burn_max_ms at most %u, max_arena_mb at most %u, max_workers in 1..%u\n",
		       KPOOL_CAPACITY_CEILING, KPOOL_BURN_MS_CEILING,
		       KPOOL_ARENA_MB_CEILING, KPOOL_WORKERS_CEILING);
		return -EINVAL;
	}
	ret = kpool_ops_init();
	if (ret)
		return ret;
	kpool_release_wq = alloc_workqueue("kpool_release", WQ_UNBOUND, 0);
	if (!kpool_release_wq)
		return -ENOMEM;
	ret = kpool_tasks_init();
	if (ret)
		goto err_release_wq;
	kpool_registry_init();
	kpool_workers_setup();
	ret = misc_register(&kpool_miscdev);
	if (ret)
		goto err_registry;
	return 0;

err_registry:
	kpool_workers_exit();
	kpool_registry_exit();
	kpool_tasks_exit();
err_release_wq:
	destroy_workqueue(kpool_release_wq);
	return ret;
}

static void __exit kpool_exit(void)
{
	misc_deregister(&kpool_miscdev);
	/* First: closes finishing in the background wait for task workers. */
	destroy_workqueue(kpool_release_wq);
	kpool_tasks_exit();
	kpool_workers_exit();
	/* No pool is left: the watchdog does not re-arm. */
	kpool_stuck_exit();
	kpool_registry_exit();
	/* A pool's last ref may drop in an RCU callback running our code. */
	rcu_barrier();
}

module_init(kpool_init);
module_exit(kpool_exit);

MODULE_DESCRIPTION("kpool: a kernel-backed task pool");
MODULE_AUTHOR("The kpool developers");
MODULE_LICENSE("GPL");
