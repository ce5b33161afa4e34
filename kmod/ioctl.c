// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch.  Every argument struct starts with __u32 size; one table
 * row per ioctl gives the struct the module knows and the smallest size it
 * accepts (the end of its first version), so structs can grow.
 */
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/uaccess.h>
#include "kpool.h"
#include "kpool_trace.h"

struct kpool_ucmd {
	struct kpool_ctx *pool;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* Copy the reply back, never more than the caller said it has room for. */
static int kpool_ucmd_respond(struct kpool_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

static bool kpool_all_zero(const u64 *words, size_t n)
{
	while (n--)
		if (*words++)
			return false;
	return true;
}

static int kpool_ioc_setup(struct kpool_ucmd *ucmd)
{
	struct kpool_setup *p = ucmd->cmd;
	struct kpool_ctx *pool = ucmd->pool;
	u32 sq = p->sq_entries;
	u32 cq = p->cq_entries ? p->cq_entries : 2 * sq;
	u32 capacity = p->capacity ? p->capacity :
		min(sq, kpool_max_capacity);
	u32 max_waiting = p->max_waiting ? p->max_waiting : cq;
	int ret;

	if ((p->flags & ~KPOOL_SETUP_BLOCKING) || p->resv0 ||
	    !kpool_all_zero(p->resv, ARRAY_SIZE(p->resv)))
		return -EINVAL;
	if (!sq || sq > kpool_max_entries || !is_power_of_2(sq))
		return -EINVAL;
	if (cq < sq || cq > 2 * kpool_max_entries || !is_power_of_2(cq))
		return -EINVAL;
	if (capacity > kpool_max_capacity || max_waiting > cq)
		return -EINVAL;
	if (p->arena_size > (u64)kpool_max_arena_mb << 20)
		return -EINVAL;

	mutex_lock(&pool->setup_lock);
	if (pool->ready) {
		ret = -EBUSY;
		goto out;
	}
	ret = kpool_rings_alloc(pool, sq, cq, p->arena_size);
	if (ret)
		goto out;

	pool->capacity = capacity;
	pool->max_waiting = max_waiting;
	pool->blocking = p->flags & KPOOL_SETUP_BLOCKING;
	p->capacity = capacity;
	p->max_waiting = max_waiting;
	p->features = KPOOL_FEAT_NODROP | KPOOL_FEAT_OWNER_CONTEXT |
		      KPOOL_FEAT_INLINE | KPOOL_FEAT_LINK |
		      KPOOL_FEAT_INLINE_DATA;
	if (KPOOL_HAVE_CALL)
		p->features |= KPOOL_FEAT_CALL | KPOOL_FEAT_WORK_QUIET;
	kpool_rings_report(pool, p);
	ret = kpool_ucmd_respond(ucmd, sizeof(*p));
	if (ret) {
		kpool_rings_free(pool);
		goto out;
	}
	/* Pairs with kpool_pool_ready(): the rings are complete before. */
	smp_store_release(&pool->ready, true);
	trace_kpool_pool_create(pool->id, pool->capacity);
out:
	mutex_unlock(&pool->setup_lock);
	return ret;
}

/* The absolute end of a call's waiting: KTIME_MAX for none. */
static ktime_t kpool_deadline_of(bool timed, u64 timeout_ns)
{
	if (!timed)
		return KTIME_MAX;
	return ktime_add_ns(ktime_get(), min_t(u64, timeout_ns, KTIME_MAX / 2));
}

static int kpool_ioc_enter(struct kpool_ucmd *ucmd)
{
	const u32 known = KPOOL_ENTER_GETEVENTS | KPOOL_ENTER_TIMEOUT;
	struct kpool_enter *e = ucmd->cmd;
	struct kpool_ctx *pool = ucmd->pool;
	bool wait = e->flags & KPOOL_ENTER_GETEVENTS;
	bool timed = e->flags & KPOOL_ENTER_TIMEOUT;
	ktime_t end;
	int ret = 0, err;

	if (!kpool_pool_ready(pool))
		return -EBADFD;
	if ((e->flags & ~known) || e->resv0 ||
	    !kpool_all_zero(e->resv, ARRAY_SIZE(e->resv)))
		return -EINVAL;
	if ((!timed && e->timeout_ns) || (!wait && e->min_complete))
		return -EINVAL;
	if (e->min_complete > pool->cq_entries)
		return -EINVAL;

	end = kpool_deadline_of(timed, e->timeout_ns);
	e->submitted = 0;
	if (e->to_submit) {
		ret = kpool_sq_submit(pool, e->to_submit, end, &e->submitted);
		/* A full CQ is no error for a caller that waits to reap it. */
		if (ret == -EBUSY && wait)
			ret = 0;
	}
	/* File tasks of this process run here, in its own context (owner.c). */
	kpool_owner_serve(pool);
	if (!ret && wait)
		ret = kpool_wait(pool, e->min_complete, end);

	err = kpool_ucmd_respond(ucmd, sizeof(*e));
	return ret ? ret : err;
}

static int kpool_ioc_tune(struct kpool_ucmd *ucmd)
{
	const u32 known = KPOOL_TUNE_CAPACITY | KPOOL_TUNE_MAX_WAITING;
	struct kpool_tune *t = ucmd->cmd;
	struct kpool_ctx *pool = ucmd->pool;
	u32 flags = t->flags ? t->flags : KPOOL_TUNE_CAPACITY;
	bool cap = flags & KPOOL_TUNE_CAPACITY;
	bool waiting = flags & KPOOL_TUNE_MAX_WAITING;

	if (!kpool_pool_ready(pool))
		return -EBADFD;
	if ((flags & ~known) || t->resv1)
		return -EINVAL;
	/* A field the call does not change must be 0, as unused ones are. */
	if (cap ? !t->capacity || t->capacity > kpool_max_capacity :
		  t->capacity)
		return -EINVAL;
	if (waiting ? t->max_waiting > pool->cq_entries : t->max_waiting)
		return -EINVAL;
	kpool_sched_tune(pool, cap ? t->capacity : 0,
			 waiting ? &t->max_waiting : NULL,
			 &t->prev_capacity, &t->prev_max_waiting);
	return kpool_ucmd_respond(ucmd, sizeof(*t));
}

static int kpool_ioc_drain(struct kpool_ucmd *ucmd)
{
	struct kpool_drain *d = ucmd->cmd;
	struct kpool_ctx *pool = ucmd->pool;
	bool timed = d->flags & KPOOL_DRAIN_TIMEOUT;
	int ret, err;

	if (!kpool_pool_ready(pool))
		return -EBADFD;
	if ((d->flags & ~KPOOL_DRAIN_TIMEOUT) || d->resv0 ||
	    !kpool_all_zero(d->resv, ARRAY_SIZE(d->resv)))
		return -EINVAL;
	if (!timed && d->timeout_ns)
		return -EINVAL;
	ret = kpool_sched_drain(pool, kpool_deadline_of(timed, d->timeout_ns));
	d->drained = !ret;
	err = kpool_ucmd_respond(ucmd, sizeof(*d));
	return ret ? ret : err;
}

static int kpool_ioc_stats(struct kpool_ucmd *ucmd)
{
	struct kpool_stats *st = ucmd->cmd;
	struct kpool_ctx *pool = ucmd->pool;
	int ret;

	if (!kpool_pool_ready(pool))
		return -EBADFD;
	if (st->flags || st->resv1)
		return -EINVAL;
	ret = kpool_stats_read(pool, st);
	if (ret)
		return ret;
	return kpool_ucmd_respond(ucmd, sizeof(*st));
}

static int kpool_ioc_work(struct kpool_ucmd *ucmd)
{
	const u32 known = KPOOL_WORK_DONE | KPOOL_WORK_LEAVE |
			  KPOOL_WORK_TIMEOUT | KPOOL_WORK_QUIET;
	struct kpool_work *w = ucmd->cmd;
	struct kpool_ctx *pool = ucmd->pool;
	bool timed = w->flags & KPOOL_WORK_TIMEOUT;
	int ret, err;

	if (!KPOOL_HAVE_CALL)
		return -EOPNOTSUPP;
	if (!kpool_pool_ready(pool))
		return -EBADFD;
	if ((w->flags & ~known) || w->resv0 || w->resv1)
		return -EINVAL;
	if (!timed && w->timeout_ns)
		return -EINVAL;
	/* A quiet report does not park: it has nothing to time. */
	if ((w->flags & KPOOL_WORK_QUIET) &&
	    (!(w->flags & KPOOL_WORK_DONE) || timed))
		return -EINVAL;
	ret = kpool_worker_work(pool, w, kpool_deadline_of(timed, w->timeout_ns));
	if (ret == -EINVAL || ret == -EBUSY)
		return ret;
	/* Even after a failed wait: the caller learns its report went. */
	err = kpool_ucmd_respond(ucmd, sizeof(*w));
	return ret ? ret : err;
}

static int kpool_ioc_probe(struct kpool_ucmd *ucmd)
{
	struct kpool_probe *p = ucmd->cmd;
	int ret;

	if (p->flags || !kpool_all_zero(p->resv, ARRAY_SIZE(p->resv)))
		return -EINVAL;
	ret = kpool_ops_probe(p);
	if (ret)
		return ret;
	return kpool_ucmd_respond(ucmd, sizeof(*p));
}

union kpool_ucmd_buffer {
	struct kpool_setup setup;
	struct kpool_enter enter;
	struct kpool_probe probe;
	struct kpool_tune tune;
	struct kpool_drain drain;
	struct kpool_stats stats;
	struct kpool_work work;
};

struct kpool_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct kpool_ucmd *ucmd);
};

#define KPOOL_IOCTL_OP(_ioctl, _fn, _struct, _last)			\
	{								\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union kpool_ucmd_buffer) < \
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.execute = _fn,						\
	}

static const struct kpool_ioctl_op kpool_ioctl_ops[] = {
	KPOOL_IOCTL_OP(KPOOL_IOC_SETUP, kpool_ioc_setup, struct kpool_setup, resv),
	KPOOL_IOCTL_OP(KPOOL_IOC_ENTER, kpool_ioc_enter, struct kpool_enter, resv),
	KPOOL_IOCTL_OP(KPOOL_IOC_PROBE, kpool_ioc_probe, struct kpool_probe, resv),
	KPOOL_IOCTL_OP(KPOOL_IOC_TUNE, kpool_ioc_tune, struct kpool_tune, resv1),
	KPOOL_IOCTL_OP(KPOOL_IOC_DRAIN, kpool_ioc_drain, struct kpool_drain, resv),
	KPOOL_IOCTL_OP(KPOOL_IOC_STATS, kpool_ioc_stats, struct kpool_stats, resv1),
	KPOOL_IOCTL_OP(KPOOL_IOC_WORK, kpool_ioc_work, struct kpool_work, resv1),
};

/* A handful of rows: a scan costs no more than an index, and is simpler. */
static const struct kpool_ioctl_op *kpool_ioctl_find(unsigned int cmd)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kpool_ioctl_ops); i++)
		if (kpool_ioctl_ops[i].ioctl_num == cmd)
			return &kpool_ioctl_ops[i];
	return NULL;
}

long kpool_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	const struct kpool_ioctl_op *op;
	union kpool_ucmd_buffer buf;
	struct kpool_ucmd ucmd = {
		.pool = file->private_data,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	int ret;

	op = kpool_ioctl_find(cmd);
	if (!op)
		return -ENOTTY;

	/* Handlers use this size, never the copy of it inside buf. */
	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	if (ucmd.user_size > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	return op->execute(&ucmd);
}
