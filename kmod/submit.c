// SPDX-License-Identifier: GPL-2.0
/*
 * Submission and completion of tasks, and waiting for completions.
 *
 * ENTER takes SQEs from the ring in order.  For each it copies the SQE
 * into kernel memory, preps the copy, and either posts an error CQE at
 * once or issues the task: inline for ops that only arm a timer, else on
 * the module's per-CPU workqueue (on the submitting CPU).  Every task that
 * was taken ends in kpool_task_complete(), which posts its one CQE.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include "kpool.h"

static struct kmem_cache *kpool_task_cache;
static struct workqueue_struct *kpool_wq;

#ifdef KPOOL_HAVE_WQ_PERCPU
#define KPOOL_WQ_FLAGS	WQ_PERCPU
#else
#define KPOOL_WQ_FLAGS	0	/* bound per-CPU is the default here */
#endif

/* Read each field of the shared SQE exactly once. */
static void kpool_sqe_copy(struct kpool_sqe *dst, const struct kpool_sqe *src)
{
	int i;

	dst->op = READ_ONCE(src->op);
	dst->flags = READ_ONCE(src->flags);
	dst->resv0 = READ_ONCE(src->resv0);
	dst->fd = READ_ONCE(src->fd);
	dst->off = READ_ONCE(src->off);
	dst->addr = READ_ONCE(src->addr);
	dst->len = READ_ONCE(src->len);
	dst->op_flags = READ_ONCE(src->op_flags);
	dst->user_data = READ_ONCE(src->user_data);
	for (i = 0; i < ARRAY_SIZE(src->resv1); i++)
		dst->resv1[i] = READ_ONCE(src->resv1[i]);
}

/* Checks common to every op, then the op's own prep. */
static int kpool_task_prep(struct kpool_task *task, const struct kpool_sqe *sqe)
{
	int i;

	task->def = kpool_op_lookup(sqe->op);
	if (!task->def)
		return -EINVAL;
	if (sqe->flags || sqe->resv0)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(sqe->resv1); i++)
		if (sqe->resv1[i])
			return -EINVAL;
	return task->def->prep(task, sqe);
}

void kpool_task_complete(struct kpool_task *task, s32 res)
{
	struct kpool_pool *pool = task->pool;

	kpool_cq_post(pool, task->user_data, res);
	kmem_cache_free(kpool_task_cache, task);
	percpu_ref_put(&pool->refs);
}

static void kpool_task_issue(struct kpool_task *task)
{
	int ret = task->def->issue(task);

	if (ret != -EIOCBQUEUED)
		kpool_task_complete(task, ret);
}

static void kpool_task_work(struct work_struct *work)
{
	kpool_task_issue(container_of(work, struct kpool_task, work));
}

static void kpool_task_start(struct kpool_task *task)
{
	if (task->def->flags & KPOOL_OPF_ISSUE_INLINE) {
		kpool_task_issue(task);
		return;
	}
	INIT_WORK(&task->work, kpool_task_work);
	queue_work(kpool_wq, &task->work);
}

/*
 * Take up to @to_submit published SQEs.  Each taken SQE holds a CQ slot
 * reserved beforehand, so its CQE can always be posted.
 */
int kpool_submit(struct kpool_pool *pool, u32 to_submit, u32 *submitted)
{
	struct kpool_sqe sqe;
	u32 avail, want, room, done;
	int ret = 0;

	*submitted = 0;
	mutex_lock(&pool->submit_lock);

	/* Pairs with the program's store-release of sq_tail. */
	avail = smp_load_acquire(&pool->user->sq_tail) - pool->sq_head;
	if (avail > pool->sq_entries) {
		ret = -EINVAL;
		goto out;
	}
	want = min(to_submit, avail);
	if (!want)
		goto out;
	room = kpool_cq_reserve(pool, want);
	if (!room) {
		ret = -EBUSY;
		goto out;
	}

	for (done = 0; done < room; done++) {
		struct kpool_task *task;
		int err;

		task = kmem_cache_alloc(kpool_task_cache, GFP_KERNEL);
		if (!task)
			break;
		kpool_sqe_copy(&sqe, &pool->sqes[pool->sq_head & pool->sq_mask]);
		pool->sq_head++;

		percpu_ref_get(&pool->refs);
		task->pool = pool;
		task->user_data = sqe.user_data;
		err = kpool_task_prep(task, &sqe);
		if (err)
			kpool_task_complete(task, err);
		else
			kpool_task_start(task);
	}
	kpool_cq_unreserve(pool, room - done);
	if (!done)
		ret = -ENOMEM;

	/* The SQEs are copied: the program may reuse their slots. */
	smp_store_release(&pool->kring->sq_head, pool->sq_head);
	*submitted = done;
out:
	mutex_unlock(&pool->submit_lock);
	return ret;
}

int kpool_wait(struct kpool_pool *pool, u32 min_complete, bool timed,
	       u64 timeout_ns)
{
	ktime_t timeout = ns_to_ktime(min_t(u64, timeout_ns, KTIME_MAX));
	int ret;

	if (timed)
		ret = wait_event_interruptible_hrtimeout(pool->cq_wait,
							 kpool_cq_ready(pool) >= min_complete,
							 timeout);
	else
		ret = wait_event_interruptible(pool->cq_wait,
					       kpool_cq_ready(pool) >= min_complete);

	/*
	 * Not -ERESTARTSYS: a restarted ENTER would report submitted = 0 for
	 * SQEs this call already took.
	 */
	return ret == -ERESTARTSYS ? -EINTR : ret;
}

int kpool_tasks_init(void)
{
	kpool_task_cache = KMEM_CACHE(kpool_task, SLAB_ACCOUNT);
	if (!kpool_task_cache)
		return -ENOMEM;
	kpool_wq = alloc_workqueue("kpool", KPOOL_WQ_FLAGS, 0);
	if (!kpool_wq) {
		kmem_cache_destroy(kpool_task_cache);
		return -ENOMEM;
	}
	return 0;
}

void kpool_tasks_exit(void)
{
	destroy_workqueue(kpool_wq);
	kmem_cache_destroy(kpool_task_cache);
}
