// SPDX-License-Identifier: GPL-2.0
/*
 * The shared memory: allocation, mmap, the arena, and the completion side.
 *
 * Four regions, each its own set of pages so each can be mapped with its
 * own protection: the program's indices (read-write), the SQE array
 * (read-write), everything the module writes (read-only), and the arena
 * the data ops read and write (read-write).  None is reallocated while
 * the pool lives.
 *
 * Every page comes from alloc_page(GFP_KERNEL_ACCOUNT), so it is charged
 * to the memory cgroup of the process that set the pool up: memory.max
 * bounds an arena as it bounds the rest of that process.  The module
 * reaches a region through a vmap() of its pages, the program through
 * vm_insert_pages() of the same pages into its mapping.
 *
 * Lifetime: a mapping holds the file, so release, and kpool_rings_free()
 * with it, runs only after the last mapping is gone.  Pages inserted with
 * vm_insert_pages() take page references of their own anyway, as does
 * anyone who pins them through the mapping: kpool_rings_free() drops the
 * pool's reference, and a page goes back (uncharged) with the last one.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include "kpool.h"
#include "ops.h"

/* The ABI's entry sizes are part of the contract with every program. */
static_assert(sizeof(struct kpool_sqe) == 64);
static_assert(sizeof(struct kpool_cqe) == 16);

/*
 * The allocations of a region, for its page array and for its pages:
 * charged to the caller's memory cgroup.  __GFP_RETRY_MAYFAIL: a region
 * the cgroup (or the machine) has no room for fails SETUP with -ENOMEM;
 * without it, charging past memory.max would run the cgroup's OOM killer
 * on the program instead, and the page allocator the global one.  The
 * size is the program's choice, so no warning either.
 */
#define KPOOL_SHM_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* Pages between two checks for a fatal signal and a chance to resched. */
#define KPOOL_SHM_BATCH	256

/* Free what kpool_shm_alloc() got of @shm, however far it came. */
static void kpool_shm_free(struct kpool_shm *shm)
{
	unsigned int i;

	if (shm->addr)
		vunmap(shm->addr);
	for (i = 0; i < shm->nr_pages; i++) {
		__free_page(shm->pages[i]);
		if (!((i + 1) % KPOOL_SHM_BATCH))
			cond_resched();
	}
	kvfree(shm->pages);
	shm->addr = NULL;
	shm->pages = NULL;
	shm->nr_pages = 0;
}

/*
 * Fill @shm with @size bytes (page-aligned, not 0) of zeroed pages and map
 * them for the kernel.  On failure @shm holds what it got so far, for
 * kpool_shm_free().  An arena is up to 4 GiB (max_arena_mb), so the page
 * loop resches, and stops for a fatal signal: a task the OOM killer or
 * anyone else killed should not go on taking memory.  It returns -EINTR
 * then, to say it ran out of life rather than memory; the program never
 * sees it, as a fatal signal kills it before the ioctl returns.
 */
static int kpool_shm_alloc(struct kpool_shm *shm, size_t size)
{
	unsigned int i, n = size >> PAGE_SHIFT;

	shm->pages = kvmalloc_array(n, sizeof(*shm->pages), KPOOL_SHM_GFP);
	if (!shm->pages)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (i && !(i % KPOOL_SHM_BATCH)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
		shm->pages[i] = alloc_page(KPOOL_SHM_GFP | __GFP_ZERO);
		if (!shm->pages[i])
			return -ENOMEM;
		shm->nr_pages++;
	}
	shm->addr = vmap(shm->pages, n, VM_MAP, PAGE_KERNEL);
	return shm->addr ? 0 : -ENOMEM;
}

int kpool_rings_alloc(struct kpool_ctx *pool, u32 sq_entries, u32 cq_entries,
		      u64 arena_size)
{
	int ret;

	pool->user_size = PAGE_ALIGN(sizeof(*pool->user));
	pool->sqes_size = PAGE_ALIGN(array_size(sq_entries,
						sizeof(struct kpool_sqe)));
	pool->kring_size = PAGE_ALIGN(struct_size(pool->kring, cqes,
						  cq_entries));

	pool->arena_size = PAGE_ALIGN(arena_size);

	ret = kpool_shm_alloc(&pool->user_mem, pool->user_size);
	if (!ret)
		ret = kpool_shm_alloc(&pool->sqes_mem, pool->sqes_size);
	if (!ret)
		ret = kpool_shm_alloc(&pool->kring_mem, pool->kring_size);
	if (!ret && pool->arena_size)
		ret = kpool_shm_alloc(&pool->arena_mem, pool->arena_size);
	if (ret) {
		kpool_rings_free(pool);
		return ret;
	}
	pool->user = pool->user_mem.addr;
	pool->sqes = pool->sqes_mem.addr;
	pool->kring = pool->kring_mem.addr;
	pool->arena = pool->arena_mem.addr;

	pool->sq_entries = sq_entries;
	pool->sq_mask = sq_entries - 1;
	pool->cq_entries = cq_entries;
	pool->cq_mask = cq_entries - 1;
	return 0;
}

/*
 * Free the regions, also partly allocated ones; again is a no-op.  No
 * mapping is left (each holds the file), so no page is mapped any more.
 */
void kpool_rings_free(struct kpool_ctx *pool)
{
	kpool_shm_free(&pool->user_mem);
	kpool_shm_free(&pool->sqes_mem);
	kpool_shm_free(&pool->kring_mem);
	kpool_shm_free(&pool->arena_mem);
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
void *kpool_arena_range(struct kpool_ctx *pool, u64 addr, u64 len,
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

void kpool_rings_report(const struct kpool_ctx *pool, struct kpool_setup *p)
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
	p->off.flags = offsetof(struct kpool_kernel_ring, flags);
	p->off.workers = offsetof(struct kpool_kernel_ring, workers);
}

/*
 * vm_flags_set() came with vm_flags_clear(), in the same change: the one
 * probe, KPOOL_HAVE_VM_FLAGS_CLEAR, stands for both.
 */
static void kpool_vma_set_flags(struct vm_area_struct *vma, vm_flags_t flags)
{
#ifdef KPOOL_HAVE_VM_FLAGS_CLEAR
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
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

int kpool_rings_mmap(struct kpool_ctx *pool, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long nr = len >> PAGE_SHIFT;
	struct kpool_shm *shm;
	bool read_only = false;
	size_t size;

	/* The offset selects a region; the mapping starts at its page 0. */
	switch (vma->vm_pgoff) {
	case KPOOL_OFF_SQ_RING >> PAGE_SHIFT:
		shm = &pool->user_mem;
		size = pool->user_size;
		break;
	case KPOOL_OFF_SQES >> PAGE_SHIFT:
		shm = &pool->sqes_mem;
		size = pool->sqes_size;
		break;
	case KPOOL_OFF_CQ_RING >> PAGE_SHIFT:
		shm = &pool->kring_mem;
		size = pool->kring_size;
		read_only = true;
		break;
	case KPOOL_OFF_ARENA >> PAGE_SHIFT:
		shm = &pool->arena_mem;
		size = pool->arena_size;
		break;
	default:
		return -EINVAL;
	}

	if (!shm->addr || len > size || nr > shm->nr_pages)
		return -EINVAL;
	if (read_only) {
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		kpool_vma_deny_write(vma);
	}
	/*
	 * As remap_vmalloc_range() did: mremap() must not grow the mapping
	 * past the pages put in it, and core dumps leave the regions out.
	 * vm_insert_pages() sets VM_MIXEDMAP itself.  A mapping shorter than
	 * the region gets only the pages it covers.
	 */
	kpool_vma_set_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return vm_insert_pages(vma, vma->vm_start, shm->pages, &nr);
}

/* CQEs in the ring that the program has not consumed, per its cq_head. */
static u32 kpool_cq_in_ring(struct kpool_ctx *pool, u32 tail)
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
u32 kpool_cq_reserve(struct kpool_ctx *pool, u32 want)
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

void kpool_cq_unreserve(struct kpool_ctx *pool, u32 n)
{
	if (!n)
		return;
	spin_lock_irq(&pool->cq_lock);
	pool->cq_reserved -= n;
	spin_unlock_irq(&pool->cq_lock);
}

/*
 * Post @n CQEs into slots reserved by kpool_cq_reserve(): one lock hold,
 * one tail store and at most one wakeup for all of them (a batch of
 * inline completions, sched.c).  Any context.
 */
void kpool_cq_post_many(struct kpool_ctx *pool, const struct kpool_cqe *cqes,
			u32 n)
{
	unsigned long flags;
	u32 i;

	if (!n)
		return;
	spin_lock_irqsave(&pool->cq_lock, flags);
	for (i = 0; i < n; i++) {
		struct kpool_cqe *cqe =
			&pool->kring->cqes[(pool->cq_tail + i) & pool->cq_mask];

		WRITE_ONCE(cqe->user_data, cqes[i].user_data);
		WRITE_ONCE(cqe->res, cqes[i].res);
		WRITE_ONCE(cqe->aux, cqes[i].aux);
	}
	/* Waiters read cq_tail without the lock, in kpool_cq_count(). */
	WRITE_ONCE(pool->cq_tail, pool->cq_tail + n);
	pool->cq_reserved -= n;
	/* The CQEs are written before the program can see the new tail. */
	smp_store_release(&pool->kring->cq_tail, pool->cq_tail);
	spin_unlock_irqrestore(&pool->cq_lock, flags);

	if (wq_has_sleeper(&pool->cq_wait))
		wake_up(&pool->cq_wait);
}

/* Post one CQE into a slot reserved by kpool_cq_reserve().  Any context. */
void kpool_cq_post(struct kpool_ctx *pool, u64 user_data, s32 res, u32 aux)
{
	const struct kpool_cqe cqe = {
		.user_data = user_data, .res = res, .aux = aux,
	};

	kpool_cq_post_many(pool, &cqe, 1);
}

/* A reserved CQE that will not be posted (a quiet completion).  Any context. */
void kpool_cq_skip(struct kpool_ctx *pool)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->cq_lock, flags);
	pool->cq_reserved--;
	spin_unlock_irqrestore(&pool->cq_lock, flags);
}

/* How many CQEs wait for the program; a corrupt cq_head reads as many. */
u32 kpool_cq_count(struct kpool_ctx *pool)
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
	struct kpool_ctx *pool;
	u32 min_complete;
};

static int kpool_cq_wake(struct wait_queue_entry *wq, unsigned int mode,
			 int sync, void *key)
{
	struct kpool_cq_waiter *w = container_of(wq, struct kpool_cq_waiter, wq);

	/* Ready owner tasks may be the waiter's to run (owner.c). */
	if (kpool_cq_count(w->pool) < w->min_complete &&
	    !READ_ONCE(w->pool->owner_ready_count))
		return 0;
	return autoremove_wake_function(wq, mode, sync, key);
}

/*
 * Wait until @min_complete CQEs are ready: 0, -ETIME past @end, -EINTR.
 * Runs the ready tasks of the caller's process meanwhile (owner.c).
 */
int kpool_wait(struct kpool_ctx *pool, u32 min_complete, ktime_t end)
{
	struct kpool_cq_waiter w = { .pool = pool, .min_complete = min_complete };
	int ret = 0;

	/*
	 * Already there (inline tasks completed in this very ENTER): no trip
	 * through the wait queue's lock.  The loop below looks again, after
	 * it is on the queue, whenever this look says no.
	 */
	if (kpool_cq_count(pool) >= min_complete)
		return 0;
	init_waitqueue_func_entry(&w.wq, kpool_cq_wake);
	w.wq.private = current;
	/* Not on the queue yet: prepare_to_wait() adds it when it is empty. */
	INIT_LIST_HEAD(&w.wq.entry);
	for (;;) {
		/* Sets the state before the check: pairs with kpool_cq_post(). */
		prepare_to_wait(&pool->cq_wait, &w.wq, TASK_INTERRUPTIBLE);
		if (kpool_cq_count(pool) >= min_complete)
			break;
		if (kpool_owner_has_mine(pool)) {
			/* Off the queue: a task may sleep on other queues. */
			finish_wait(&pool->cq_wait, &w.wq);
			kpool_owner_serve(pool);
			continue;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (end == KTIME_MAX) {
			schedule();
		} else if (!schedule_hrtimeout(&end, HRTIMER_MODE_ABS)) {
			if (kpool_cq_count(pool) < min_complete)
				ret = -ETIME;
			break;
		}
	}
	finish_wait(&pool->cq_wait, &w.wq);
	return ret;
}
