// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libkpool task groups: Go's errgroup over the pool API, and nothing but
 * its public calls.
 *
 * Each task of a group is an ordinary task of the pool whose callback is
 * kg_task_done() with the task's record as its argument.  The record holds
 * the program's own callback, the pool's id for cancel, and the result.
 *
 * Counting.  `pending` counts the group's tasks in flight plus the submits
 * into it in progress (each holds one for itself until it has published
 * its tasks' indexes), so a wait never returns between a task's completion
 * and its submit's return, and destroy never frees a group a submitter
 * still touches.  Every rise is made under the lock; every fall but one to
 * zero is a lone compare-and-swap, and the fall to zero is made under the
 * lock, with the broadcast: so a waiter that saw pending != 0 under the
 * lock cannot miss the wake, and a completion that ends the group's work
 * touches nothing of it after unlocking.  A submit takes the lock twice
 * (room, then indexes); a completion only if its task failed or may be
 * the last.
 *
 * Indexes are given out under the lock after the pool took the tasks,
 * from room in the table reserved before, so a failed submit leaves no
 * gap and an accepted one never meets a failed allocation.
 *
 * Cancel (on the first error, or kpool_group_cancel()).  `cancelled` is set
 * under the lock; the sweep then walks the table from where it stopped and
 * cancels each task not yet completed.  A submit that publishes indexes
 * after the flag was set (it checks under the same lock) sweeps too, so a
 * task taken while the group was being cancelled is not missed.  The pool
 * takes 16 cancels at once (EAGAIN beyond), and they complete on the
 * completion threads, maybe the very one running the sweep: so a sweep
 * never waits for room; it stops and marks itself stalled, and the next
 * completion of the group, or a waiter (which rechecks every millisecond
 * while stalled), goes on.  Only one thread sweeps at a time (sweep_lock,
 * tried, never waited for: the sweeper may be a completion thread); a
 * request that finds it taken is counted, and the sweeper looks again
 * after it unlocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "kpool_pool.h"

#define KG_TABLE_MIN	16		/* first size of the index table */
#define KG_BATCH_STACK	16		/* batches up to this need no malloc */
#define KG_RETRY_NS	1000000ULL	/* a stalled sweep is retried this often */
#define KG_POLL_NS	10000000ULL	/* event loop: completions others reap */

#define KG_FLAGS	(KPOOL_GROUP_CANCEL_ON_ERROR | KPOOL_GROUP_DEADLINE_ABS)

/* One task of a group.  L: under the group's lock. */
struct kg_task {
	struct kpool_group *group;
	kpool_callback_t done;		/* the program's callback, or NULL */
	void *done_arg;
	uint64_t id;			/* L: the pool's id, once published */
	int index;			/* L: -1 until published */
	uint32_t completed;		/* atomic: result is set (release) */
	struct kpool_result result;
};

/* L: under lock.  S: under sweep_lock. */
struct kpool_group {
	struct kpool_pool *pool;
	unsigned int flags;
	uint64_t deadline;		/* CLOCK_MONOTONIC ns; 0: none */

	pthread_mutex_t lock;
	pthread_cond_t idle;		/* pending fell to 0 */
	struct kg_task **tasks;		/* L: by index */
	unsigned int nr_tasks;		/* L: indexes given out */
	unsigned int reserved;		/* L: table room held by submits */
	unsigned int table_size;	/* L */
	int first_error;		/* L */
	struct kg_task *first_failed;	/* L */
	int cancelled;			/* L */
	uint32_t pending;		/* atomic; rises under L: see above */
	uint32_t completed, failed;	/* atomic */

	pthread_mutex_t sweep_lock;
	unsigned int swept;		/* S: tasks[0 .. swept) are dealt with */
	uint32_t sweep_requests;	/* atomic */
	uint32_t sweep_stalled;		/* atomic: the pool refused a cancel */
};

static uint64_t kg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* @a + @b, or UINT64_MAX where it would wrap. */
static uint64_t kg_add_clamped(uint64_t a, uint64_t b)
{
	return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* ---- counting ---- */

/*
 * @n of the group's pending units ended.  Not the last: one atomic, and
 * the group is not touched after it.  Maybe the last: under the lock, so
 * that the waiters' check and the wake cannot cross.
 */
static void kg_finish(struct kpool_group *g, uint32_t n)
{
	uint32_t cur = __atomic_load_n(&g->pending, __ATOMIC_RELAXED);

	while (cur > n)
		if (__atomic_compare_exchange_n(&g->pending, &cur, cur - n, 1,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	pthread_mutex_lock(&g->lock);
	if (!__atomic_sub_fetch(&g->pending, n, __ATOMIC_ACQ_REL))
		pthread_cond_broadcast(&g->idle);
	pthread_mutex_unlock(&g->lock);
}

/* ---- cancel ---- */

/* Cancel the tasks past the cursor; stop, stalled, where the pool is full. */
static void kg_sweep_locked(struct kpool_group *g)
{
	struct kg_task *t;
	uint64_t id;

	__atomic_store_n(&g->sweep_stalled, 0, __ATOMIC_SEQ_CST);
	for (;;) {
		pthread_mutex_lock(&g->lock);
		if (g->swept == g->nr_tasks) {
			pthread_mutex_unlock(&g->lock);
			return;
		}
		t = g->tasks[g->swept];
		id = t->id;
		pthread_mutex_unlock(&g->lock);
		/*
		 * A completed task needs nothing (and its id, whose record
		 * the pool may have reused, would cancel nothing anyway).
		 * ESHUTDOWN: shutdown ends every task itself.
		 */
		if (!__atomic_load_n(&t->completed, __ATOMIC_ACQUIRE) &&
		    kpool_pool_cancel(g->pool, id) == -EAGAIN) {
			__atomic_store_n(&g->sweep_stalled, 1,
					 __ATOMIC_SEQ_CST);
			return;
		}
		g->swept++;
	}
}

static void kg_sweep(struct kpool_group *g)
{
	uint32_t seen;

	__atomic_add_fetch(&g->sweep_requests, 1, __ATOMIC_SEQ_CST);
	do {
		if (pthread_mutex_trylock(&g->sweep_lock))
			return;		/* the sweeper sees our request */
		seen = __atomic_load_n(&g->sweep_requests, __ATOMIC_SEQ_CST);
		kg_sweep_locked(g);
		pthread_mutex_unlock(&g->sweep_lock);
	} while (__atomic_load_n(&g->sweep_requests, __ATOMIC_SEQ_CST) != seen);
}

/* The pool's callback of every task of a group. */
static void kg_task_done(void *arg, struct kpool_result result)
{
	struct kg_task *t = arg;
	struct kpool_group *g = t->group;
	int sweep = 0;

	t->result = result;
	__atomic_store_n(&t->completed, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g->completed, 1, __ATOMIC_RELAXED);
	if (result.res < 0) {
		__atomic_add_fetch(&g->failed, 1, __ATOMIC_RELAXED);
		pthread_mutex_lock(&g->lock);
		if (!g->first_error) {
			g->first_error = result.res;
			g->first_failed = t;
			if ((g->flags & KPOOL_GROUP_CANCEL_ON_ERROR) &&
			    !g->cancelled)
				sweep = g->cancelled = 1;
		}
		pthread_mutex_unlock(&g->lock);
	}
	/* A completion may have freed room for the cancels still to send. */
	if (sweep || __atomic_load_n(&g->sweep_stalled, __ATOMIC_SEQ_CST))
		kg_sweep(g);
	if (t->done)
		t->done(t->done_arg, result);
	kg_finish(g, 1);	/* the last touch of the group */
}

/* ---- submitting ---- */

/*
 * The time left until the group's deadline (UINT64_MAX: it has none), or
 * -ETIME once it has passed.  Read once per submit: the tasks of a batch
 * share it.
 */
static int kg_time_left(const struct kpool_group *g, uint64_t *left)
{
	uint64_t now;

	*left = UINT64_MAX;
	if (!g->deadline)
		return 0;
	now = kg_now();
	if (now >= g->deadline)
		return -ETIME;
	*left = g->deadline - now;
	return 0;
}

/* A task's deadline: its own (0: none), or the group's if that is sooner. */
static uint64_t kg_task_deadline(uint64_t own, uint64_t left)
{
	if (left != UINT64_MAX && (!own || own > left))
		return left;
	return own;
}

static struct kg_task *kg_task_new(struct kpool_group *g,
				   kpool_callback_t done, void *done_arg)
{
	struct kg_task *t = calloc(1, sizeof(*t));

	if (t) {
		t->group = g;
		t->done = done;
		t->done_arg = done_arg;
		t->index = -1;
	}
	return t;
}

/* Under the lock: a table with room for @need indexes. */
static int kg_grow(struct kpool_group *g, unsigned int need)
{
	unsigned int size = g->table_size ? g->table_size : KG_TABLE_MIN;
	struct kg_task **tasks;

	if (need <= g->table_size)
		return 0;
	while (size < need)
		size = size > UINT_MAX / 2 ? need : size * 2;
	tasks = realloc(g->tasks, (size_t)size * sizeof(*tasks));
	if (!tasks)
		return -ENOMEM;
	g->tasks = tasks;
	g->table_size = size;
	return 0;
}

/*
 * Before @n tasks go to the pool: a group not cancelled, room in the table
 * for their indexes, and pending raised by n, plus one for this submit.
 */
static int kg_reserve(struct kpool_group *g, unsigned int n)
{
	int err;

	pthread_mutex_lock(&g->lock);
	if (g->cancelled)
		err = -ECANCELED;
	else if (n > (unsigned int)INT_MAX - g->nr_tasks - g->reserved)
		err = -EOVERFLOW;
	else
		err = kg_grow(g, g->nr_tasks + g->reserved + n);
	if (!err) {
		g->reserved += n;
		__atomic_add_fetch(&g->pending, n + 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&g->lock);
	return err;
}

/*
 * After the pool took the first @taken of the @n tasks reserved (with ids
 * @ids): give them consecutive indexes, free the others, cancel the taken
 * if the group was cancelled meanwhile, and end this submit's count.
 * Returns the first index (below INT_MAX: see kg_reserve()).
 */
static unsigned int kg_publish(struct kpool_group *g, void *const *tasks,
			       const uint64_t *ids, unsigned int n,
			       unsigned int taken)
{
	unsigned int i, first;
	struct kg_task *t;
	int sweep;

	pthread_mutex_lock(&g->lock);
	first = g->nr_tasks;
	for (i = 0; i < taken; i++) {
		t = tasks[i];
		t->id = ids[i];
		t->index = (int)(first + i);
		g->tasks[first + i] = t;
	}
	g->nr_tasks += taken;
	g->reserved -= n;
	sweep = taken && g->cancelled;
	pthread_mutex_unlock(&g->lock);
	for (i = taken; i < n; i++)
		free(tasks[i]);		/* never given to the pool */
	if (sweep)
		kg_sweep(g);
	kg_finish(g, n - taken + 1);
	return first;
}

int kpool_group_submit_batch(struct kpool_group *g,
			     const struct kpool_sqe *sqes, unsigned int n,
			     kpool_callback_t done, void *const *args,
			     unsigned int *first)
{
	struct kpool_sqe sqe_stack[KG_BATCH_STACK], *copies = sqe_stack;
	void *task_stack[KG_BATCH_STACK], **tasks = task_stack;
	uint64_t id_stack[KG_BATCH_STACK], *ids = id_stack;
	void *scratch = NULL;
	unsigned int i, made = 0;
	unsigned int index;
	uint64_t left;
	int ret;

	if (!g || (n && !sqes))
		return -EINVAL;
	if (!n)
		return 0;
	if (n > KG_BATCH_STACK) {
		/* One block: n SQEs, then n ids, then n records. */
		scratch = malloc((size_t)n * (sizeof(*copies) + sizeof(*ids) +
					      sizeof(*tasks)));
		if (!scratch)
			return -ENOMEM;
		copies = scratch;
		ids = (uint64_t *)(copies + n);
		tasks = (void **)(ids + n);
	}
	ret = kg_time_left(g, &left);
	if (ret)
		goto out;
	for (i = 0; i < n; i++) {
		copies[i] = sqes[i];
		copies[i].deadline_ns = kg_task_deadline(sqes[i].deadline_ns,
							 left);
	}
	ret = -ENOMEM;
	for (made = 0; made < n; made++) {
		tasks[made] = kg_task_new(g, done, args ? args[made] : NULL);
		if (!tasks[made])
			goto out;
	}
	ret = kg_reserve(g, n);
	if (ret)
		goto out;
	/* The records stand in for the program's arguments. */
	ret = kpool_pool_submit_batch(g->pool, copies, n, kg_task_done, tasks,
				      ids);
	index = kg_publish(g, tasks, ids, n, ret > 0 ? (unsigned int)ret : 0);
	made = 0;		/* the records are the group's, or freed */
	if (ret > 0 && first)
		*first = index;
out:
	for (i = 0; i < made; i++)
		free(tasks[i]);
	free(scratch);
	return ret;
}

int kpool_group_submit(struct kpool_group *g, const struct kpool_sqe *sqe,
		       kpool_callback_t done, void *done_arg)
{
	unsigned int index;
	int ret;

	if (!g || !sqe)
		return -EINVAL;
	ret = kpool_group_submit_batch(g, sqe, 1, done, &done_arg, &index);
	return ret < 0 ? ret : (int)index;
}

int kpool_group_submit_fn(struct kpool_group *g, kpool_fn_t fn, void *arg,
			  const struct kpool_fn_opts *opts)
{
	struct kpool_fn_opts o = { 0 };
	uint64_t id = 0, left;
	void *t;
	unsigned int index;
	int err;

	if (!g || !fn)
		return -EINVAL;
	if (opts)
		o = *opts;
	err = kg_time_left(g, &left);
	if (err)
		return err;
	o.deadline_ns = kg_task_deadline(o.deadline_ns, left);
	t = kg_task_new(g, o.done, o.done_arg);
	if (!t)
		return -ENOMEM;
	err = kg_reserve(g, 1);
	if (err) {
		free(t);
		return err;
	}
	o.done = kg_task_done;
	o.done_arg = t;
	err = kpool_pool_submit_fn(g->pool, fn, arg, &o, &id);
	index = kg_publish(g, &t, &id, 1, !err);
	return err ? err : (int)index;
}

/* ---- waiting, results, the rest ---- */

/* Sleep until @fd is readable or @ns have passed. */
static void kg_poll(int fd, uint64_t ns)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	poll(&pfd, 1, (int)((ns + 999999) / 1000000));
}

int kpool_group_wait(struct kpool_group *g, uint64_t timeout_ns)
{
	uint64_t deadline, now, until;
	struct timespec ts;
	int loop, err;

	if (!g)
		return -EINVAL;
	deadline = timeout_ns == KPOOL_WAIT_FOREVER ? UINT64_MAX :
		   kg_add_clamped(kg_now(), timeout_ns);
	for (;;) {
		/*
		 * An event-loop pool's completions run only where someone
		 * processes them: here.  A pool with completion threads
		 * refuses (EINVAL) at once, doing nothing.
		 */
		loop = kpool_pool_process(g->pool, 0) >= 0;
		if (__atomic_load_n(&g->sweep_stalled, __ATOMIC_SEQ_CST))
			kg_sweep(g);
		pthread_mutex_lock(&g->lock);
		if (!__atomic_load_n(&g->pending, __ATOMIC_ACQUIRE)) {
			err = g->first_error;
			pthread_mutex_unlock(&g->lock);
			return err;
		}
		now = kg_now();
		if (now >= deadline) {
			pthread_mutex_unlock(&g->lock);
			return -ETIMEDOUT;
		}
		until = deadline;
		/* Completions reaped by another thread wake no poll: look. */
		if (loop && until - now > KG_POLL_NS)
			until = now + KG_POLL_NS;
		if (__atomic_load_n(&g->sweep_stalled, __ATOMIC_SEQ_CST) &&
		    until - now > KG_RETRY_NS)
			until = now + KG_RETRY_NS;
		if (loop) {
			pthread_mutex_unlock(&g->lock);
			kg_poll(kpool_pool_fd(g->pool), until - now);
			continue;
		}
		if (until == UINT64_MAX) {
			pthread_cond_wait(&g->idle, &g->lock);
		} else {
			ts.tv_sec = (time_t)(until / 1000000000ULL);
			ts.tv_nsec = (long)(until % 1000000000ULL);
			pthread_cond_timedwait(&g->idle, &g->lock, &ts);
		}
		pthread_mutex_unlock(&g->lock);
	}
}

int kpool_group_result(struct kpool_group *g, unsigned int index,
		       struct kpool_result *result)
{
	struct kg_task *t = NULL;

	if (!g || !result)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	if (index < g->nr_tasks)
		t = g->tasks[index];
	pthread_mutex_unlock(&g->lock);
	if (!t)
		return -ENOENT;
	if (!__atomic_load_n(&t->completed, __ATOMIC_ACQUIRE))
		return -EINPROGRESS;
	*result = t->result;
	return 0;
}

int kpool_group_cancel(struct kpool_group *g)
{
	if (!g)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	g->cancelled = 1;
	pthread_mutex_unlock(&g->lock);
	kg_sweep(g);
	return 0;
}

int kpool_group_counts(struct kpool_group *g, struct kpool_group_counts *c)
{
	if (!g || !c)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	c->submitted = g->nr_tasks;
	c->completed = __atomic_load_n(&g->completed, __ATOMIC_RELAXED);
	c->failed = __atomic_load_n(&g->failed, __ATOMIC_RELAXED);
	c->first_error = g->first_error;
	c->first_failed = g->first_failed ? g->first_failed->index : -1;
	c->cancelled = g->cancelled;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

int kpool_group_create(struct kpool_group **groupp, struct kpool_pool *pool,
		       const struct kpool_group_opts *opts)
{
	struct kpool_group_opts o = { 0 };
	pthread_condattr_t attr;
	struct kpool_group *g;

	if (!groupp || !pool)
		return -EINVAL;
	if (opts)
		o = *opts;
	if ((o.flags & ~KG_FLAGS) ||
	    ((o.flags & KPOOL_GROUP_DEADLINE_ABS) && !o.deadline_ns))
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->pool = pool;
	g->flags = o.flags;
	if (o.flags & KPOOL_GROUP_DEADLINE_ABS)
		g->deadline = o.deadline_ns;
	else if (o.deadline_ns)
		g->deadline = kg_add_clamped(kg_now(), o.deadline_ns);
	if (g->deadline == UINT64_MAX)
		g->deadline = 0;	/* too far to represent: never comes */
	/* Waits time out on CLOCK_MONOTONIC, as every pool wait does. */
	if (pthread_condattr_init(&attr)) {
		free(g);
		return -ENOMEM;
	}
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&g->idle, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->sweep_lock, NULL);
	*groupp = g;
	return 0;
}

int kpool_group_destroy(struct kpool_group *g)
{
	unsigned int i;
	int busy;

	if (!g)
		return 0;
	pthread_mutex_lock(&g->lock);
	busy = __atomic_load_n(&g->pending, __ATOMIC_ACQUIRE) != 0;
	pthread_mutex_unlock(&g->lock);
	if (busy)
		return -EBUSY;
	for (i = 0; i < g->nr_tasks; i++)
		free(g->tasks[i]);
	free(g->tasks);
	pthread_mutex_destroy(&g->sweep_lock);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->idle);
	free(g);
	return 0;
}
