// SPDX-License-Identifier: GPL-2.0
/*
 * The shared memory: allocation, mmap, the arena, and the completion side.
 *
 * Four regions, each its own vmalloc_user() area so each can be mapped
 * with its own protection: the program's indices (read-write), the SQE
 * array (read-write), everything the module writes (read-only), and the
 * arena the data ops read and write (read-write).  None is reallocated
 * while the pool lives.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include "kpool.h"

/* The ABI's entry sizes are part of the contract with every program. */
static_assert(sizeof(struct kpool_sqe) == 64);
static_assert(sizeof(struct kpool_cqe) == 16);

int kpool_rings_alloc(struct kpool_pool *pool, u32 sq_entries, u32 cq_entries,
		      u64 arena_size)
{
	pool->user_size = PAGE_ALIGN(sizeof(*pool->user));
	pool->sqes_size = PAGE_ALIGN(array_size(sq_entries,
						sizeof(struct kpool_sqe)));
	pool->kring_size = PAGE_ALIGN(struct_size(pool->kring, cqes,
						  cq_entries));

	pool->arena_size = PAGE_ALIGN(arena_size);

	pool->user = vmalloc_user(pool->user_size);
	pool->sqes = vmalloc_user(pool->sqes_size);
	pool->kring = vmalloc_user(pool->kring_size);
	if (pool->arena_size)
		pool->arena = vmalloc_user(pool->arena_size);
	if (!pool->user || !pool->sqes || !pool->kring ||
	    (pool->arena_size && !pool->arena)) {
		kpool_rings_free(pool);
		return -ENOMEM;
	}

	pool->sq_entries = sq_entries;
	pool->sq_mask = sq_entries - 1;
	pool->cq_entries = cq_entries;
	pool->cq_mask = cq_entries - 1;
	return 0;
}

void kpool_rings_free(struct kpool_pool *pool)
{
	vfree(pool->user);
	vfree(pool->sqes);
	vfree(pool->kring);
	vfree(pool->arena);
	pool->user = NULL;
	pool->sqes = NULL;
	pool->kring = NULL;
	pool->arena = NULL;
	pool->arena_size = 0;
}

/*
 * The kernel address of arena range [addr, addr + len), or NULL if it is
 * not wholly inside the arena (overflow-safe).  Empty ranges are refused
 * unless @allow_empty, and then only at addr 0.
 */
void *kpool_arena_range(struct kpool_pool *pool, u64 addr, u64 len,
			bool allow_empty)
{
	u64 end;

	if (!len)
		return allow_empty && !addr ? pool->arena : NULL;
	/* Results are byte counts in a CQE's s32 res. */
	if (len > INT_MAX)
		return NULL;
	if (check_add_overflow(addr, len, &end) || end > pool->arena_size)
		return NULL;
	return pool->arena + addr;
}

void kpool_rings_report(const struct kpool_pool *pool, struct kpool_setup *p)
{
	p->sq_entries = pool->sq_entries;
	p->cq_entries = pool->cq_entries;
	p->sq_ring.offset = KPOOL_OFF_SQ_RING;
	p->sq_ring.size = pool->user_size;
	p->sqes.offset = KPOOL_OFF_SQES;
	p->sqes.size = pool->sqes_size;
	p->cq_ring.offset = KPOOL_OFF_CQ_RING;
	p->cq_ring.size = pool->kring_size;
	p->arena_size = pool->arena_size;
	p->arena.offset = pool->arena ? KPOOL_OFF_ARENA : 0;
	p->arena.size = pool->arena_size;

	memset(&p->off, 0, sizeof(p->off));
	p->off.sq_tail = offsetof(struct kpool_user_indices, sq_tail);
	p->off.cq_head = offsetof(struct kpool_user_indices, cq_head);
	p->off.sq_head = offsetof(struct kpool_kernel_ring, sq_head);
	p->off.cq_tail = offsetof(struct kpool_kernel_ring, cq_tail);
	p->off.cqes = offsetof(struct kpool_kernel_ring, cqes);
}

static void kpool_vma_deny_write(struct vm_area_struct *vma)
{
	/* Without this, mprotect() could make the mapping writable again. */
#ifdef KPOOL_HAVE_VM_FLAGS_CLEAR
	vm_flags_clear(vma, VM_MAYWRITE);
#else
	vma->vm_flags &= ~VM_MAYWRITE;
#endif
}

int kpool_rings_mmap(struct kpool_pool *pool, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	bool read_only = false;
	size_t size;
	void *mem;

	switch (vma->vm_pgoff) {
	case KPOOL_OFF_SQ_RING >> PAGE_SHIFT:
		mem = pool->user;
		size = pool->user_size;
		break;
	case KPOOL_OFF_SQES >> PAGE_SHIFT:
		mem = pool->sqes;
		size = pool->sqes_size;
		break;
	case KPOOL_OFF_CQ_RING >> PAGE_SHIFT:
		mem = pool->kring;
		size = pool->kring_size;
		read_only = true;
		break;
	case KPOOL_OFF_ARENA >> PAGE_SHIFT:
		mem = pool->arena;
		size = pool->arena_size;
		break;
	default:
		return -EINVAL;
	}

	if (!mem || len > size)
		return -EINVAL;
	if (read_only) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		kpool_vma_deny_write(vma);
	}
	return remap_vmalloc_range(vma, mem, 0);
}

/* CQEs in the ring that the program has not consumed, per its cq_head. */
static u32 kpool_cq_in_ring(struct kpool_pool *pool, u32 tail)
{
	/* Pairs with the program's store-release of cq_head. */
	return tail - smp_load_acquire(&pool->user->cq_head);
}

/*
 * Reserve CQ slots for up to @want new tasks; returns how many it got.  A
 * cq_head the program moved backwards or past the tail reads as a full
 * ring: the module then takes no work, and never writes a slot it did not
 * reserve.
 */
u32 kpool_cq_reserve(struct kpool_pool *pool, u32 want)
{
	u64 used;
	u32 got;

	spin_lock_irq(&pool->cq_lock);
	used = (u64)kpool_cq_in_ring(pool, pool->cq_tail) + pool->cq_reserved;
	got = used >= pool->cq_entries ? 0 :
		min_t(u64, want, pool->cq_entries - used);
	pool->cq_reserved += got;
	spin_unlock_irq(&pool->cq_lock);
	return got;
}

void kpool_cq_unreserve(struct kpool_pool *pool, u32 n)
{
	if (!n)
		return;
	spin_lock_irq(&pool->cq_lock);
	pool->cq_reserved -= n;
	spin_unlock_irq(&pool->cq_lock);
}

/* Post one CQE into a slot reserved by kpool_cq_reserve().  Any context. */
void kpool_cq_post(struct kpool_pool *pool, u64 user_data, s32 res, u32 aux)
{
	struct kpool_cqe *cqe;
	unsigned long flags;

	spin_lock_irqsave(&pool->cq_lock, flags);
	cqe = &pool->kring->cqes[pool->cq_tail & pool->cq_mask];
	WRITE_ONCE(cqe->user_data, user_data);
	WRITE_ONCE(cqe->res, res);
	WRITE_ONCE(cqe->aux, aux);
	/* Waiters read cq_tail without the lock, in kpool_cq_ready(). */
	WRITE_ONCE(pool->cq_tail, pool->cq_tail + 1);
	pool->cq_reserved--;
	/* The CQE is written before the program can see the new tail. */
	smp_store_release(&pool->kring->cq_tail, pool->cq_tail);
	spin_unlock_irqrestore(&pool->cq_lock, flags);

	if (wq_has_sleeper(&pool->cq_wait))
		wake_up(&pool->cq_wait);
}

/* How many CQEs wait for the program; a corrupt cq_head reads as many. */
u32 kpool_cq_ready(struct kpool_pool *pool)
{
	return kpool_cq_in_ring(pool, READ_ONCE(pool->cq_tail));
}

/*
 * An ENTER waiting for min_complete CQEs.  Every CQE post calls the wake
 * functions of cq_wait; this one wakes its task only once enough CQEs
 * are in the CQ, so a batch of 32 costs one wakeup, not 32.  poll()ers
 * sit on the same queue with the default wake function: any CQE wakes
 * them.
 */
struct kpool_cq_waiter {
	struct wait_queue_entry wq;
	struct kpool_pool *pool;
	u32 min_complete;
};

static int kpool_cq_wake(struct wait_queue_entry *wq, unsigned int mode,
			 int sync, void *key)
{
	struct kpool_cq_waiter *w = container_of(wq, struct kpool_cq_waiter, wq);

	if (kpool_cq_ready(w->pool) < w->min_complete)
		return 0;
	return autoremove_wake_function(wq, mode, sync, key);
}

/* Wait until @min_complete CQEs are ready: 0, -ETIME past @end, -EINTR. */
int kpool_wait(struct kpool_pool *pool, u32 min_complete, ktime_t end)
{
	struct kpool_cq_waiter w = { .pool = pool, .min_complete = min_complete };
	int ret = 0;

	init_waitqueue_func_entry(&w.wq, kpool_cq_wake);
	w.wq.private = current;
	/* Not on the queue yet: prepare_to_wait() adds it when it is empty. */
	INIT_LIST_HEAD(&w.wq.entry);
	for (;;) {
		/* Sets the state before the check: pairs with kpool_cq_post(). */
		prepare_to_wait(&pool->cq_wait, &w.wq, TASK_INTERRUPTIBLE);
		if (kpool_cq_ready(pool) >= min_complete)
			break;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (end == KTIME_MAX) {
			schedule();
		} else if (!schedule_hrtimeout(&end, HRTIMER_MODE_ABS)) {
			if (kpool_cq_ready(pool) < min_complete)
				ret = -ETIME;
			break;
		}
	}
	finish_wait(&pool->cq_wait, &w.wq);
	return ret;
}
