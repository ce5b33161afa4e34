// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * bench-mixed: half the tasks compute, half block, on pools that may run
 * two at once (capacity, or threads, = 2 for every contender).
 *
 * Task i burns 200 us of its thread's CPU time if i is even, and sleeps
 * 2 ms in nanosleep() if it is odd; all n are submitted at once and the
 * run ends when the last completes.  A fixed pool of two threads spends
 * most of its time with both threads asleep: the blocked half holds the
 * CPUs' places.  kpool lends a sleeping function's slot to the next task
 * (docs/workers.md), so the pool keeps two tasks runnable, not two
 * threads existing.  Compare ns_per_task (the whole run / n) and
 * cpu_ns_per_task against ns_per_task x CPUs: how busy the CPUs were.
 *
 *   kpool-fn   kpool_pool_submit_fn(), capacity 2, the library's default
 *              worker threads
 *   pthread    a hand-written pthread pool with 2 threads
 *   libuv      uv_queue_work() with UV_THREADPOOL_SIZE=2
 *   glib       a GThreadPool of at most 2 threads
 */
#include <errno.h>
#include <semaphore.h>
#include <glib.h>
#include <uv.h>
#include "kpool_pool.h"
#include "bench.h"
#include "ptpool.h"

#define MIXED_CAPACITY	2
#define MIXED_DEPTH	1024	/* every task in flight: --tasks at most this */
#define BURN_NS		200000
#define SLEEP_NS	2000000

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The task: compute or block, by the parity of its index. */
static void mixed_work(unsigned int i)
{
	if (i % 2 == 0) {
		uint64_t end = thread_cpu_ns() + BURN_NS;

		while (thread_cpu_ns() < end)
			;
	} else {
		struct timespec ts = { 0, SLEEP_NS };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
}

/* What every contender keeps per run: start times and latencies. */
struct mixed_run {
	uint64_t *submitted_at;
	uint64_t *lat;
	unsigned int *index;
	unsigned int n, done;
	sem_t all_done;
};

static void mixed_begin(struct mixed_run *m, struct bench_thread *t,
			unsigned int n)
{
	unsigned int i;

	m->submitted_at = calloc(n ? n : 1, sizeof(uint64_t));
	m->index = calloc(n ? n : 1, sizeof(unsigned int));
	for (i = 0; i < n; i++)
		m->index[i] = i;
	m->lat = t->lat;
	m->n = n;
	m->done = 0;
}

static void mixed_end(struct mixed_run *m)
{
	free(m->submitted_at);
	free(m->index);
}

/* ---- kpool ---- */

struct kp_inst {
	struct kpool_pool *pool;
	struct mixed_run m;
};

static int kp_fn(void *arg)
{
	mixed_work(*(unsigned int *)arg);
	return 0;
}

/* The run in progress (one at a time): its callbacks get an index. */
static struct kp_inst *kp_current;

static void kp_done_counted(void *arg, struct kpool_result r)
{
	struct kp_inst *k = kp_current;
	unsigned int i = *(unsigned int *)arg;

	(void)r;
	k->m.lat[i] = bench_now() - k->m.submitted_at[i];
	/* Workers may run callbacks at once (KPOOL_POOL_WORKER_CALLBACKS). */
	if (__atomic_add_fetch(&k->m.done, 1, __ATOMIC_ACQ_REL) == k->m.n)
		sem_post(&k->m.all_done);
}

static int kp_setup(struct bench_thread *t)
{
	struct kp_inst *k = calloc(1, sizeof(*k));
	struct kpool_pool_opts o;

	t->priv = k;
	if (!k)
		return 1;
	kpool_pool_opts_default(&o);
	o.capacity = o.max_capacity = MIXED_CAPACITY;
	o.queue_size = MIXED_DEPTH;
	o.flags = KPOOL_POOL_WORKER_CALLBACKS;
	sem_init(&k->m.all_done, 0, 0);
	return kpool_pool_create(&k->pool, &o);
}

static int kp_run(struct bench_thread *t, unsigned int n)
{
	struct kp_inst *k = t->priv;
	struct kpool_fn_opts fo = { .done = kp_done_counted };
	unsigned int i;

	mixed_begin(&k->m, t, n);
	kp_current = k;
	for (i = 0; i < n; i++) {
		k->m.submitted_at[i] = bench_now();
		fo.done_arg = &k->m.index[i];
		if (kpool_pool_submit_fn(k->pool, kp_fn, &k->m.index[i], &fo,
					 NULL))
			return -1;
	}
	if (n)
		sem_wait(&k->m.all_done);
	mixed_end(&k->m);
	return 0;
}

static void kp_teardown(struct bench_thread *t)
{
	struct kp_inst *k = t->priv;

	kpool_pool_destroy(k->pool);
	sem_destroy(&k->m.all_done);
	free(k);
}

/* ---- a hand-written pthread pool ---- */

struct pt_inst {
	struct ptpool pool;
	struct mixed_run m;
};

static void pt_fn(void *arg)
{
	mixed_work(*(unsigned int *)arg);
}

static int pt_setup(struct bench_thread *t)
{
	struct pt_inst *pt = calloc(1, sizeof(*pt));

	t->priv = pt;
	return !pt || ptpool_start(&pt->pool, MIXED_CAPACITY);
}

static int pt_run(struct bench_thread *t, unsigned int n)
{
	struct pt_inst *pt = t->priv;
	unsigned int i;

	mixed_begin(&pt->m, t, n);
	for (i = 0; i < n; i++) {
		pt->m.submitted_at[i] = bench_now();
		ptpool_submit(&pt->pool, pt_fn, &pt->m.index[i]);
	}
	for (i = 0; i < n; i++) {
		unsigned int *job = ptpool_wait_one(&pt->pool);

		t->lat[*job] = bench_now() - pt->m.submitted_at[*job];
	}
	mixed_end(&pt->m);
	return 0;
}

static void pt_teardown(struct bench_thread *t)
{
	struct pt_inst *pt = t->priv;

	ptpool_stop(&pt->pool);
	free(pt);
}

/* ---- libuv ---- */

struct uv_inst {
	uv_loop_t loop;
	uv_work_t *reqs;
	struct mixed_run m;
};

static void uv_fn(uv_work_t *req)
{
	struct uv_inst *u = req->data;

	mixed_work((unsigned int)(req - u->reqs));
}

static void uv_after(uv_work_t *req, int status)
{
	struct uv_inst *u = req->data;
	unsigned int i = (unsigned int)(req - u->reqs);

	(void)status;
	u->m.lat[i] = bench_now() - u->m.submitted_at[i];
	u->m.done++;
}

static int uv_setup(struct bench_thread *t)
{
	struct uv_inst *u = calloc(1, sizeof(*u));

	t->priv = u;
	return !u || uv_loop_init(&u->loop);
}

static int uv_run_mixed(struct bench_thread *t, unsigned int n)
{
	struct uv_inst *u = t->priv;
	unsigned int i;

	mixed_begin(&u->m, t, n);
	u->reqs = calloc(n ? n : 1, sizeof(*u->reqs));
	for (i = 0; i < n; i++) {
		u->reqs[i].data = u;
		u->m.submitted_at[i] = bench_now();
		uv_queue_work(&u->loop, &u->reqs[i], uv_fn, uv_after);
	}
	uv_run(&u->loop, UV_RUN_DEFAULT);
	free(u->reqs);
	mixed_end(&u->m);
	return u->m.done == n ? 0 : -1;
}

static void uv_teardown(struct bench_thread *t)
{
	struct uv_inst *u = t->priv;

	uv_loop_close(&u->loop);
	free(u);
}

/* ---- GLib ---- */

struct glib_inst {
	GThreadPool *pool;
	GAsyncQueue *done;
	struct mixed_run m;
};

static void glib_fn(gpointer data, gpointer user)
{
	mixed_work(GPOINTER_TO_UINT(data) - 1);
	g_async_queue_push(user, data);
}

static int glib_setup(struct bench_thread *t)
{
	struct glib_inst *g = calloc(1, sizeof(*g));

	t->priv = g;
	if (!g)
		return 1;
	g->done = g_async_queue_new();
	g->pool = g_thread_pool_new(glib_fn, g->done, MIXED_CAPACITY, FALSE,
				    NULL);
	return !g->pool;
}

static int glib_run(struct bench_thread *t, unsigned int n)
{
	struct glib_inst *g = t->priv;
	unsigned int i;

	mixed_begin(&g->m, t, n);
	for (i = 0; i < n; i++) {
		g->m.submitted_at[i] = bench_now();
		/* +1: GLib refuses NULL data. */
		g_thread_pool_push(g->pool, GUINT_TO_POINTER(i + 1), NULL);
	}
	for (i = 0; i < n; i++) {
		unsigned int j = GPOINTER_TO_UINT(g_async_queue_pop(g->done)) - 1;

		t->lat[j] = bench_now() - g->m.submitted_at[j];
	}
	mixed_end(&g->m);
	return 0;
}

static void glib_teardown(struct bench_thread *t)
{
	struct glib_inst *g = t->priv;

	g_thread_pool_free(g->pool, FALSE, TRUE);
	g_async_queue_unref(g->done);
	free(g);
}

static const struct contender contenders[] = {
	{ "kpool-fn", MIXED_DEPTH, kp_setup, kp_run, kp_teardown },
	{ "pthread", MIXED_DEPTH, pt_setup, pt_run, pt_teardown },
	{ "libuv", MIXED_DEPTH, uv_setup, uv_run_mixed, uv_teardown },
	{ "glib", MIXED_DEPTH, glib_setup, glib_run, glib_teardown },
};

int main(int argc, char **argv)
{
	/* Before libuv's pool starts: two threads, like everyone here. */
	setenv("UV_THREADPOOL_SIZE", "2", 1);
	return bench_main(argc, argv, "mixed", contenders,
			  sizeof(contenders) / sizeof(contenders[0]));
}
