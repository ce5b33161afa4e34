// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * bench-nop: the cost of an empty task, kpool against what a program
 * would use instead.
 *
 *   kpool-bN       the ring API: N NOPs, one ENTER submits and waits
 *                  (kpool-b1 is the one-ioctl-per-task baseline); they run
 *                  inline in that ENTER (KPOOL_FEAT_INLINE)
 *   kpool-async-b32  the same with KPOOL_SQE_ASYNC: each NOP is handed to
 *                  a kernel worker and back, like uring-async-b32
 *   kpool-ctl-b32  not a contender but a stage of kpool-b32: 32 CANCELs of
 *                  no task, which run inline in ENTER; kpool-b32 minus
 *                  this is the cost of handing a task to a worker and back
 *   kpool-pool     the pool API: callbacks, 32 in flight, one submit each
 *   kpool-pool-b32 the pool API: kpool_pool_submit_batch() of 32, wait
 *   kpool-fn-32    the pool API running the program's own (empty)
 *                  function: kpool_pool_submit_fn(), 32 in flight, on the
 *                  pool's worker threads (capacity: the CPU count), each
 *                  callback on the worker that ran its function
 *                  (KPOOL_POOL_WORKER_CALLBACKS)
 *   kpool-fn-b32   the same with kpool_pool_submit_fn_batch() of 32
 *   pthread-32     an empty function on a hand-written pthread pool (one
 *                  mutex, two condition variables, a thread per CPU)
 *   uring-inline-bN  io_uring NOPs through liburing, completed inline
 *   uring-async-b32  the same with IOSQE_ASYNC: run by io-wq workers
 *   libuv-32       uv_queue_work() with empty work, 32 in flight
 *   glib-32        a GThreadPool with an empty function, 32 in flight
 *
 * The last five all run an empty function of the program: the
 * user-function comparison (issue 13's first target).
 */
#include <semaphore.h>
#include <glib.h>
#include <uv.h>
#include "kpool_pool.h"
#include "ptpool.h"
#include "rings.h"

/* ---- kpool, the ring API ---- */

static int kpool_ring_setup(struct bench_thread *t)
{
	return bench_kpool_open(t, 128, 0);
}

static void kpool_prep_nop_task(struct bench_thread *t, struct kpool_sqe *sqe,
				unsigned int i, unsigned int slot)
{
	(void)t, (void)i, (void)slot;
	kpool_prep_nop(sqe);
}

static void kpool_prep_async_nop(struct bench_thread *t, struct kpool_sqe *sqe,
				 unsigned int i, unsigned int slot)
{
	kpool_prep_nop_task(t, sqe, i, slot);
	kpool_sqe_set_async(sqe);
}

/* A CANCEL of no task: a control op, run inline in ENTER. */
static void kpool_prep_cancel_nothing(struct bench_thread *t,
				      struct kpool_sqe *sqe, unsigned int i,
				      unsigned int slot)
{
	(void)t, (void)i, (void)slot;
	kpool_prep_cancel(sqe, UINT64_MAX);
}

static int kpool_res_zero(struct bench_thread *t, const struct kpool_cqe *cqe,
			  unsigned int i, unsigned int slot)
{
	(void)t, (void)i, (void)slot;
	return cqe->res != 0;
}

static int kpool_res_enoent(struct bench_thread *t, const struct kpool_cqe *cqe,
			    unsigned int i, unsigned int slot)
{
	(void)t, (void)i, (void)slot;
	return cqe->res != -ENOENT;
}

static int kpool_ring_run(struct bench_thread *t, unsigned int n)
{
	return bench_kpool_batches(t, n, kpool_prep_nop_task, kpool_res_zero);
}

static int kpool_async_run(struct bench_thread *t, unsigned int n)
{
	return bench_kpool_batches(t, n, kpool_prep_async_nop, kpool_res_zero);
}

static int kpool_ctl_run(struct bench_thread *t, unsigned int n)
{
	return bench_kpool_batches(t, n, kpool_prep_cancel_nothing,
				   kpool_res_enoent);
}

/* ---- kpool, the pool API ---- */

struct pool_inst {
	struct kpool_pool *pool;
	uint64_t *submitted_at;
	uint64_t *lat;
	unsigned int done, target;	/* sem_post when done reaches target */
	sem_t all_done;
};

struct pool_task {
	struct pool_inst *p;
	unsigned int i;
};

static void pool_cb(void *arg, struct kpool_result r)
{
	struct pool_task *task = arg;
	struct pool_inst *p = task->p;

	(void)r;
	p->lat[task->i] = bench_now() - p->submitted_at[task->i];
	/* Workers may run callbacks at once (KPOOL_POOL_WORKER_CALLBACKS). */
	if (__atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL) ==
	    __atomic_load_n(&p->target, __ATOMIC_ACQUIRE))
		sem_post(&p->all_done);
}

static int kpool_pool_setup(struct bench_thread *t)
{
	struct pool_inst *p = calloc(1, sizeof(*p));
	struct kpool_pool_opts o;

	t->priv = p;
	kpool_pool_opts_default(&o);
	o.capacity = o.max_capacity = t->depth;
	o.queue_size = 0;
	sem_init(&p->all_done, 0, 0);
	return !p || kpool_pool_create(&p->pool, &o);
}

static int kpool_pool_run(struct bench_thread *t, unsigned int n)
{
	struct pool_inst *p = t->priv;
	struct pool_task *tasks = calloc(n ? n : 1, sizeof(*tasks));
	struct kpool_sqe sqe = { 0 };
	unsigned int i;

	p->submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	p->lat = t->lat;
	p->done = 0;
	__atomic_store_n(&p->target, n, __ATOMIC_RELEASE);
	kpool_prep_nop(&sqe);
	for (i = 0; i < n; i++) {
		tasks[i] = (struct pool_task){ .p = p, .i = i };
		p->submitted_at[i] = bench_now();
		if (kpool_pool_submit(p->pool, &sqe, pool_cb, &tasks[i], NULL))
			return -1;
	}
	if (n)
		sem_wait(&p->all_done);
	free(tasks);
	free(p->submitted_at);
	return 0;
}

static int kpool_pool_batch_run(struct bench_thread *t, unsigned int n)
{
	struct pool_inst *p = t->priv;
	struct pool_task *tasks = calloc(n ? n : 1, sizeof(*tasks));
	struct kpool_sqe sqes[128] = { 0 };
	void *args[128];
	unsigned int done = 0, i;

	p->submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	p->lat = t->lat;
	p->done = 0;
	for (i = 0; i < t->depth; i++)
		kpool_prep_nop(&sqes[i]);
	while (done < n) {
		unsigned int batch = n - done < t->depth ? n - done : t->depth;
		uint64_t t0 = bench_now();

		for (i = 0; i < batch; i++) {
			tasks[done + i] = (struct pool_task){ .p = p, .i = done + i };
			p->submitted_at[done + i] = t0;
			args[i] = &tasks[done + i];
		}
		__atomic_store_n(&p->target, done + batch, __ATOMIC_RELEASE);
		if (kpool_pool_submit_batch(p->pool, sqes, batch, pool_cb, args,
					    NULL) != (int)batch)
			return -1;
		sem_wait(&p->all_done);
		done += batch;
	}
	free(tasks);
	free(p->submitted_at);
	return 0;
}

static void kpool_pool_teardown(struct bench_thread *t)
{
	struct pool_inst *p = t->priv;

	kpool_pool_destroy(p->pool);
	sem_destroy(&p->all_done);
	free(p);
}

/* ---- kpool, the program's own functions ---- */

static int empty_fn(void *arg)
{
	(void)arg;
	return 0;
}

static int kpool_fn_setup(struct bench_thread *t)
{
	struct pool_inst *p = calloc(1, sizeof(*p));
	struct kpool_pool_opts o;

	t->priv = p;
	if (!p)
		return 1;
	kpool_pool_opts_default(&o);
	/* A blocking pool that holds depth tasks: submit waits beyond. */
	o.queue_size = t->depth > o.capacity ? t->depth - o.capacity : 0;
	/* As the thread pools do: the callback where the function ran. */
	o.flags = KPOOL_POOL_WORKER_CALLBACKS;
	sem_init(&p->all_done, 0, 0);
	return kpool_pool_create(&p->pool, &o);
}

static int kpool_fn_run(struct bench_thread *t, unsigned int n)
{
	struct pool_inst *p = t->priv;
	struct pool_task *tasks = calloc(n ? n : 1, sizeof(*tasks));
	struct kpool_fn_opts fo = { .done = pool_cb };
	unsigned int i;

	p->submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	p->lat = t->lat;
	p->done = 0;
	__atomic_store_n(&p->target, n, __ATOMIC_RELEASE);
	/* The pool holds depth: each submit past that waits for a completion. */
	for (i = 0; i < n; i++) {
		tasks[i] = (struct pool_task){ .p = p, .i = i };
		p->submitted_at[i] = bench_now();
		fo.done_arg = &tasks[i];
		if (kpool_pool_submit_fn(p->pool, empty_fn, NULL, &fo, NULL))
			return -1;
	}
	if (n)
		sem_wait(&p->all_done);
	free(tasks);
	free(p->submitted_at);
	return 0;
}

/* A batch's tasks share one callback argument: count them. */
static void batch_cb(void *arg, struct kpool_result r)
{
	struct pool_inst *p = arg;

	(void)r;
	if (__atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL) ==
	    __atomic_load_n(&p->target, __ATOMIC_ACQUIRE))
		sem_post(&p->all_done);
}

/* Batches of depth; each task's latency is its batch's round trip. */
static int kpool_fn_batch_run(struct bench_thread *t, unsigned int n)
{
	struct pool_inst *p = t->priv;
	struct kpool_fn_opts fo = { .done = batch_cb, .done_arg = p };
	kpool_fn_t fns[128];
	unsigned int done = 0, i;

	p->done = 0;
	for (i = 0; i < t->depth; i++)
		fns[i] = empty_fn;
	while (done < n) {
		unsigned int batch = n - done < t->depth ? n - done : t->depth;
		uint64_t t0 = bench_now();

		__atomic_store_n(&p->target, done + batch, __ATOMIC_RELEASE);
		if (kpool_pool_submit_fn_batch(p->pool, fns, NULL, batch, &fo,
					       NULL) != (int)batch)
			return -1;
		sem_wait(&p->all_done);
		t0 = bench_now() - t0;
		for (i = 0; i < batch; i++)
			t->lat[done + i] = t0;
		done += batch;
	}
	return 0;
}

/* ---- a hand-written pthread pool ---- */

struct pt_inst {
	struct ptpool pool;
	uint64_t *submitted_at;
	unsigned int *index;
};

static void pt_empty(void *arg)
{
	(void)arg;
}

static int pthread_setup(struct bench_thread *t)
{
	struct pt_inst *pt = calloc(1, sizeof(*pt));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	t->priv = pt;
	return !pt || ptpool_start(&pt->pool, cpus < 1 ? 1 : (unsigned int)cpus);
}

static int pthread_run(struct bench_thread *t, unsigned int n)
{
	struct pt_inst *pt = t->priv;
	uint64_t *submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	unsigned int *index = calloc(n ? n : 1, sizeof(unsigned int));
	unsigned int next = 0, done = 0;

	while (done < n) {
		unsigned int *job;

		while (next < n && next - done < t->depth) {
			index[next] = next;
			submitted_at[next] = bench_now();
			ptpool_submit(&pt->pool, pt_empty, &index[next]);
			next++;
		}
		job = ptpool_wait_one(&pt->pool);
		t->lat[*job] = bench_now() - submitted_at[*job];
		done++;
	}
	free(submitted_at);
	free(index);
	return 0;
}

static void pthread_teardown(struct bench_thread *t)
{
	struct pt_inst *pt = t->priv;

	ptpool_stop(&pt->pool);
	free(pt);
}

/* ---- io_uring ---- */

static int uring_setup(struct bench_thread *t)
{
	return bench_uring_open(t, 128);
}

static void uring_prep_nop(struct bench_thread *t, struct io_uring_sqe *sqe,
			   unsigned int i, unsigned int slot)
{
	(void)t, (void)i, (void)slot;
	io_uring_prep_nop(sqe);
}

static void uring_prep_async_nop(struct bench_thread *t,
				 struct io_uring_sqe *sqe, unsigned int i,
				 unsigned int slot)
{
	uring_prep_nop(t, sqe, i, slot);
	sqe->flags |= IOSQE_ASYNC;
}

static int uring_res_zero(struct bench_thread *t, const struct io_uring_cqe *cqe,
			  unsigned int i, unsigned int slot)
{
	(void)t, (void)i, (void)slot;
	return cqe->res != 0;
}

static int uring_inline_run(struct bench_thread *t, unsigned int n)
{
	return bench_uring_batches(t, n, uring_prep_nop, uring_res_zero);
}

static int uring_async_run(struct bench_thread *t, unsigned int n)
{
	return bench_uring_batches(t, n, uring_prep_async_nop, uring_res_zero);
}

/* ---- libuv ---- */

struct uv_inst {
	uv_loop_t loop;
	uv_work_t *reqs;
	uint64_t *submitted_at, *lat;
	unsigned int next, n;
};

static void uv_empty(uv_work_t *req)
{
	(void)req;
}

static void uv_after(uv_work_t *req, int status);

static void uv_queue_next(struct uv_inst *u)
{
	unsigned int i = u->next++;

	u->reqs[i].data = u;
	u->submitted_at[i] = bench_now();
	uv_queue_work(&u->loop, &u->reqs[i], uv_empty, uv_after);
}

static void uv_after(uv_work_t *req, int status)
{
	struct uv_inst *u = req->data;

	(void)status;
	u->lat[req - u->reqs] = bench_now() - u->submitted_at[req - u->reqs];
	if (u->next < u->n)
		uv_queue_next(u);
}

static int libuv_setup(struct bench_thread *t)
{
	struct uv_inst *u = calloc(1, sizeof(*u));

	t->priv = u;
	return !u || uv_loop_init(&u->loop);
}

static int libuv_run(struct bench_thread *t, unsigned int n)
{
	struct uv_inst *u = t->priv;
	unsigned int i;

	u->reqs = calloc(n ? n : 1, sizeof(*u->reqs));
	u->submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	u->lat = t->lat;
	u->n = n;
	u->next = 0;
	for (i = 0; i < t->depth && u->next < n; i++)
		uv_queue_next(u);
	uv_run(&u->loop, UV_RUN_DEFAULT);
	free(u->reqs);
	free(u->submitted_at);
	return u->next == n ? 0 : -1;
}

static void libuv_teardown(struct bench_thread *t)
{
	struct uv_inst *u = t->priv;

	uv_loop_close(&u->loop);
	free(u);
}

/* ---- GLib ---- */

struct glib_inst {
	GThreadPool *pool;
	GAsyncQueue *done;
};

static void glib_empty(gpointer data, gpointer user)
{
	g_async_queue_push(user, data);	/* hand the task back */
}

static int glib_setup(struct bench_thread *t)
{
	struct glib_inst *g = calloc(1, sizeof(*g));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	t->priv = g;
	if (!g)
		return 1;
	g->done = g_async_queue_new();
	g->pool = g_thread_pool_new(glib_empty, g->done, (gint)cpus, FALSE,
				    NULL);
	return !g->pool;
}

static int glib_run(struct bench_thread *t, unsigned int n)
{
	struct glib_inst *g = t->priv;
	uint64_t *submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	unsigned int next = 0, done = 0;

	while (done < n) {
		while (next < n && next - done < t->depth) {
			submitted_at[next] = bench_now();
			/* +1: GLib refuses NULL data. */
			g_thread_pool_push(g->pool, GUINT_TO_POINTER(next + 1), NULL);
			next++;
		}
		unsigned int i = GPOINTER_TO_UINT(g_async_queue_pop(g->done)) - 1;

		t->lat[i] = bench_now() - submitted_at[i];
		done++;
	}
	free(submitted_at);
	return 0;
}

static void glib_teardown(struct bench_thread *t)
{
	struct glib_inst *g = t->priv;

	g_thread_pool_free(g->pool, FALSE, TRUE);
	g_async_queue_unref(g->done);
	free(g);
}

#define KPOOL_RING(d) { "kpool-b" #d, d, kpool_ring_setup, kpool_ring_run, \
			bench_kpool_close }

static const struct contender contenders[] = {
	KPOOL_RING(1), KPOOL_RING(8), KPOOL_RING(32), KPOOL_RING(128),
	{ "kpool-async-b32", 32, kpool_ring_setup, kpool_async_run,
	  bench_kpool_close },
	{ "kpool-ctl-b32", 32, kpool_ring_setup, kpool_ctl_run, bench_kpool_close },
	{ "kpool-pool", 32, kpool_pool_setup, kpool_pool_run, kpool_pool_teardown },
	{ "kpool-pool-b32", 32, kpool_pool_setup, kpool_pool_batch_run,
	  kpool_pool_teardown },
	{ "uring-inline-b1", 1, uring_setup, uring_inline_run, bench_uring_close },
	{ "uring-inline-b32", 32, uring_setup, uring_inline_run, bench_uring_close },
	{ "uring-async-b32", 32, uring_setup, uring_async_run, bench_uring_close },
	{ "kpool-fn-32", 32, kpool_fn_setup, kpool_fn_run, kpool_pool_teardown },
	{ "kpool-fn-b32", 32, kpool_fn_setup, kpool_fn_batch_run,
	  kpool_pool_teardown },
	{ "pthread-32", 32, pthread_setup, pthread_run, pthread_teardown },
	{ "libuv-32", 32, libuv_setup, libuv_run, libuv_teardown },
	{ "glib-32", 32, glib_setup, glib_run, glib_teardown },
};

int main(int argc, char **argv)
{
	return bench_main(argc, argv, "nop", contenders,
			  sizeof(contenders) / sizeof(contenders[0]));
}
