// SPDX-License-Identifier: GPL-2.0
/*
 * libkpool's pool handles against kpool_pool_destroy() (the handle
 * registry, docs/library.md "Where liburcu is used and where not"): every
 * kind of call on a destroyed pool fails with -EBADF and touches nothing;
 * a destroy racing eight threads that keep calling the API gives them
 * only errors, wakes those blocked in the pool, and still completes each
 * task it accepted once; two destroys at once free the pool once; a
 * future wait on an event-loop pool ends when the pool is destroyed; and
 * an eventfd replaced by kpool_pool_set_eventfd() is never written once
 * the call has returned (the RCU-read eventfd).
 *
 * Built three ways like libpool_test: plain, with ASan+UBSan and with
 * TSan.  A call that read the freed pool would be an ASan report (the
 * test aborts), a missed order between a call and the free a TSan report.
 * Only the calls on memory that never held a pool run without the module.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "kpool_util.h"
#include "kpool_pool_util.h"

#define RACERS		8

static int nothing_fn(void *arg)
{
	(void)arg;
	return 0;
}

static void nothing_cb(void *arg, struct kpool_result r)
{
	(void)arg;
	(void)r;
}

/* ---- memory that never held a pool ---- */

/* A page that faults on any access: a call that read it would crash. */
static struct kpool_pool *no_access_page(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

TEST(call_on_memory_that_never_held_a_pool_is_ebadf)
{
	struct kpool_pool *page = no_access_page();
	struct kpool_pool_lib_stats lib;

	ASSERT_NE(NULL, page);
	EXPECT_EQ(-EBADF, kpool_pool_stats(page, NULL, &lib));
	munmap(page, 4096);
}

TEST(destroy_of_memory_that_never_held_a_pool_does_nothing)
{
	struct kpool_pool *page = no_access_page();

	ASSERT_NE(NULL, page);
	kpool_pool_destroy(page);
	EXPECT_EQ(-EBADF, kpool_pool_fd(page));
	munmap(page, 4096);
}

/* ---- every kind of call after destroy ---- */

/* A pool created and destroyed: self->pool is its stale handle. */
FIXTURE(destroyed) {
	struct kpool_pool *pool;
};

FIXTURE_SETUP(destroyed)
{
	struct kpool_pool_opts o = opts(2, 4, 0);

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&self->pool, &o));
	kpool_pool_destroy(self->pool);
}

FIXTURE_TEARDOWN(destroyed)
{
}

TEST_F(destroyed, submit_is_ebadf)
{
	struct kpool_sqe sqe = nop_sqe();

	EXPECT_EQ(-EBADF, kpool_pool_submit(self->pool, &sqe, NULL, NULL,
					    NULL));
}

TEST_F(destroyed, submit_timeout_is_ebadf)
{
	struct kpool_sqe sqe = nop_sqe();

	EXPECT_EQ(-EBADF, kpool_pool_submit_timeout(self->pool, &sqe, NULL,
						    NULL, 0, NULL));
}

TEST_F(destroyed, submit_batch_is_ebadf)
{
	struct kpool_sqe sqes[2] = { nop_sqe(), nop_sqe() };

	EXPECT_EQ(-EBADF, kpool_pool_submit_batch(self->pool, sqes, 2, NULL,
						  NULL, NULL));
}

TEST_F(destroyed, submit_future_is_ebadf_and_gives_no_future)
{
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_future *f = NULL;

	EXPECT_TRUE(kpool_pool_submit_future(self->pool, &sqe, &f) == -EBADF &&
		    !f);
}

TEST_F(destroyed, submit_fn_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_submit_fn(self->pool, nothing_fn, NULL,
					       NULL, NULL));
}

TEST_F(destroyed, submit_fn_timeout_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_submit_fn_timeout(self->pool, nothing_fn,
						       NULL, NULL, 0, NULL));
}

TEST_F(destroyed, submit_fn_future_is_ebadf)
{
	struct kpool_future *f = NULL;

	EXPECT_EQ(-EBADF, kpool_pool_submit_fn_future(self->pool, nothing_fn,
						      NULL, NULL, &f));
}

TEST_F(destroyed, submit_fn_batch_is_ebadf)
{
	kpool_fn_t fns[2] = { nothing_fn, nothing_fn };

	EXPECT_EQ(-EBADF, kpool_pool_submit_fn_batch(self->pool, fns, NULL, 2,
						     NULL, NULL));
}

TEST_F(destroyed, cancel_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_cancel(self->pool, 0));
}

TEST_F(destroyed, cancel_all_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_cancel_all(self->pool));
}

TEST_F(destroyed, tune_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_tune(self->pool, 1, NULL));
}

TEST_F(destroyed, tune_queue_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_tune_queue(self->pool, 1, NULL));
}

TEST_F(destroyed, counts_is_ebadf)
{
	struct kpool_pool_counts c;

	EXPECT_EQ(-EBADF, kpool_pool_counts(self->pool, &c));
}

TEST_F(destroyed, stats_is_ebadf)
{
	struct kpool_counters k;
	struct kpool_pool_lib_stats lib;

	EXPECT_EQ(-EBADF, kpool_pool_stats(self->pool, &k, &lib));
}

TEST_F(destroyed, op_stats_is_ebadf)
{
	struct kpool_counters ops[KPOOL_OP_LAST];

	EXPECT_EQ(-EBADF, kpool_pool_op_stats(self->pool, ops, KPOOL_OP_LAST));
}

TEST_F(destroyed, worker_stats_is_ebadf)
{
	struct kpool_pool_worker_stats ws;

	EXPECT_EQ(-EBADF, kpool_pool_worker_stats(self->pool, &ws));
}

TEST_F(destroyed, set_workers_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_set_workers(self->pool, 2));
}

TEST_F(destroyed, set_worker_limits_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_set_worker_limits(self->pool, 0, 2, 0));
}

TEST_F(destroyed, wait_idle_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_wait_idle(self->pool, FOREVER));
}

TEST_F(destroyed, drain_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_drain(self->pool, FOREVER));
}

TEST_F(destroyed, shutdown_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_shutdown(self->pool));
}

TEST_F(destroyed, process_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_process(self->pool, 0));
}

TEST_F(destroyed, set_eventfd_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_set_eventfd(self->pool, -1));
}

TEST_F(destroyed, fd_is_ebadf)
{
	EXPECT_EQ(-EBADF, kpool_pool_fd(self->pool));
}

TEST_F(destroyed, arena_is_null_with_size_0)
{
	size_t size = 1;

	EXPECT_TRUE(!kpool_pool_arena(self->pool, &size) && size == 0);
}

TEST_F(destroyed, destroy_again_does_nothing)
{
	kpool_pool_destroy(self->pool);
	EXPECT_EQ(-EBADF, kpool_pool_fd(self->pool));
}

/* ---- destroy racing eight callers ---- */

struct race {
	struct kpool_pool *pool;
	int loop;			/* event-loop pool: process() too */
	int functions;			/* submit functions too */
	int efd;
	uint32_t accepted;		/* tasks with a callback, submitted */
	uint32_t callbacks;
	uint32_t ebadf;			/* threads that ended on -EBADF */
	uint32_t calls;
	int unexpected;			/* the first error nothing explains */
	uint32_t unexpected_op;
};

static void race_cb(void *arg, struct kpool_result r)
{
	struct race *x = arg;

	(void)r;
	__atomic_add_fetch(&x->callbacks, 1, __ATOMIC_RELAXED);
}

/*
 * Errors a call may give while its pool is busy, closed or destroyed:
 * EBADF (destroyed), ESHUTDOWN (closed), EAGAIN (full, or cancels all in
 * flight), ETIME (a wait for idle that looked once).
 */
static int race_err_ok(int err)
{
	return err >= 0 || err == -EBADF || err == -ESHUTDOWN ||
	       err == -EAGAIN || err == -ETIME;
}

/* One call of the mix; its result. */
static int race_call(struct race *x, uint32_t i)
{
	struct kpool_fn_opts fo = { .done = race_cb, .done_arg = x };
	struct kpool_sqe sqe = nop_sqe(), sqes[4];
	struct kpool_pool_worker_stats ws;
	struct kpool_counters ops[KPOOL_OP_LAST];
	struct kpool_pool_lib_stats lib;
	struct kpool_pool_counts c;
	struct kpool_future *f;
	struct kpool_result r;
	uint64_t id = 0;
	int err, k;

	switch (i % 16) {
	case 0:
	case 1:
	case 2:
		err = kpool_pool_submit(x->pool, &sqe, race_cb, x, &id);
		if (!err)
			__atomic_add_fetch(&x->accepted, 1, __ATOMIC_RELAXED);
		return err;
	case 3:
		for (k = 0; k < 4; k++)
			sqes[k] = nop_sqe();
		err = kpool_pool_submit_batch(x->pool, sqes, 4, race_cb,
					      (void *const[4]){ x, x, x, x },
					      NULL);
		if (err > 0)
			__atomic_add_fetch(&x->accepted, err,
					   __ATOMIC_RELAXED);
		return err;
	case 4:
		err = kpool_pool_submit_future(x->pool, &sqe, &f);
		if (err)
			return err;
		kpool_future_wait(f, FOREVER, &r);	/* the pool may go */
		kpool_future_release(f);
		return 0;
	case 5:
		sqe = timeout_sqe(50 * KP_MS);
		err = kpool_pool_submit(x->pool, &sqe, race_cb, x, &id);
		if (err)
			return err;
		__atomic_add_fetch(&x->accepted, 1, __ATOMIC_RELAXED);
		return kpool_pool_cancel(x->pool, id);
	case 6:
		return kpool_pool_counts(x->pool, &c);
	case 7:
		return kpool_pool_stats(x->pool, NULL, &lib);
	case 8:
		return kpool_pool_op_stats(x->pool, ops, KPOOL_OP_LAST);
	case 9:
		return kpool_pool_tune(x->pool, 1 + i % 2, NULL);
	case 10:
		return kpool_pool_wait_idle(x->pool, 0);
	case 11:
		return kpool_pool_fd(x->pool);
	case 12:
		if (x->loop)
			return kpool_pool_process(x->pool, 0);
		if (i % 256 == 12)	/* a grace period each: not often */
			return kpool_pool_set_eventfd(x->pool,
						      i % 512 == 12 ?
						      x->efd : -1);
		return kpool_pool_tune_queue(x->pool, 8, NULL);
	case 13:
		if (!x->functions)
			return kpool_pool_worker_stats(x->pool, &ws);
		err = kpool_pool_submit_fn(x->pool, nothing_fn, NULL, &fo,
					   NULL);
		if (!err)
			__atomic_add_fetch(&x->accepted, 1, __ATOMIC_RELAXED);
		return err;
	case 14:
		kpool_pool_arena(x->pool, NULL);
		return kpool_pool_submit_timeout(x->pool, &sqe, NULL, NULL,
						 KP_MS, NULL);
	default:
		if (i % 64 == 15)
			return kpool_pool_cancel_all(x->pool);
		return kpool_pool_counts(x->pool, &c);
	}
}

/* Call until a call says -EBADF (the pool is gone), or something odd. */
static void *racer(void *arg)
{
	struct race *x = arg;
	uint32_t i;
	int err;

	for (i = 0;; i++) {
		err = race_call(x, i);
		__atomic_add_fetch(&x->calls, 1, __ATOMIC_RELAXED);
		if (err == -EBADF) {
			__atomic_add_fetch(&x->ebadf, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		if (!race_err_ok(err)) {
			__atomic_store_n(&x->unexpected_op, i % 16,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&x->unexpected, err, __ATOMIC_RELAXED);
			return NULL;
		}
	}
}

FIXTURE(racers) {
	struct race x;
	pthread_t th[RACERS];
};

FIXTURE_VARIANT(racers) {
	unsigned int flags;
	int functions;
};

FIXTURE_VARIANT_ADD(racers, blocking) { .flags = 0 };
FIXTURE_VARIANT_ADD(racers, nonblocking) { .flags = KPOOL_POOL_NONBLOCKING };
FIXTURE_VARIANT_ADD(racers, event_loop) { .flags = KPOOL_POOL_EVENT_LOOP };
FIXTURE_VARIANT_ADD(racers, functions) { .flags = 0, .functions = 1 };

FIXTURE_SETUP(racers)
{
	struct kpool_pool_opts o = opts(2, 8, variant->flags);
	int i;

	memset(&self->x, 0, sizeof(self->x));
	self->x.efd = -1;
	if (variant->functions) {
		KP_REQUIRE_MODULE();
		if (!kp_has_call())
			SKIP(return, "the module has no KPOOL_FEAT_CALL");
	} else {
		KP_REQUIRE_MODULE();
	}
	self->x.loop = !!(variant->flags & KPOOL_POOL_EVENT_LOOP);
	self->x.functions = variant->functions;
	self->x.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->x.efd);
	ASSERT_EQ(0, kpool_pool_create(&self->x.pool, &o));
	for (i = 0; i < RACERS; i++)
		ASSERT_EQ(0, pthread_create(&self->th[i], NULL, racer,
					    &self->x));
	usleep(100 * 1000);		/* let them get going */
	kpool_pool_destroy(self->x.pool);
	for (i = 0; i < RACERS; i++)
		pthread_join(self->th[i], NULL);
	TH_LOG("%u calls, %u tasks accepted", self->x.calls,
	       self->x.accepted);
}

FIXTURE_TEARDOWN(racers)
{
	if (self->x.efd >= 0)
		close(self->x.efd);
}

TEST_F(racers, destroy_gives_the_eight_callers_only_errors_they_expect)
{
	if (self->x.unexpected)
		TH_LOG("call %u of the mix returned %d",
		       self->x.unexpected_op, self->x.unexpected);
	EXPECT_TRUE(self->x.ebadf == RACERS && !self->x.unexpected);
}

TEST_F(racers, destroy_completes_each_task_it_accepted_once)
{
	EXPECT_EQ(self->x.accepted, self->x.callbacks);
}

/* ---- destroy wakes the calls blocked in the pool ---- */

struct blocked {
	struct kpool_pool *pool;
	int kind;			/* 0: submit, 1: wait_idle */
	int err;
};

static void *block_in_pool(void *arg)
{
	struct blocked *b = arg;
	struct kpool_sqe sqe = timeout_sqe(5000 * KP_MS);

	if (b->kind)
		b->err = kpool_pool_wait_idle(b->pool, FOREVER);
	else
		b->err = kpool_pool_submit(b->pool, &sqe, nothing_cb, NULL,
					   NULL);
	return NULL;
}

TEST(destroy_wakes_submitters_and_idle_waiters_blocked_in_the_pool)
{
	struct kpool_pool_opts o = opts(1, 0, 0);
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);
	struct blocked b[RACERS];
	pthread_t th[RACERS];
	struct kpool_pool *pool;
	uint64_t t0;
	int i, odd = 0;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_submit(pool, &slow, nothing_cb, NULL, NULL));
	for (i = 0; i < RACERS; i++) {
		b[i] = (struct blocked){ .pool = pool, .kind = i & 1 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, block_in_pool,
					    &b[i]));
	}
	usleep(100 * 1000);		/* all asleep in the pool */
	t0 = kp_now_ns();
	kpool_pool_destroy(pool);
	for (i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		/* A submit fails, closed or gone; an idle wait sees it idle. */
		odd += b[i].kind ? b[i].err != 0 && b[i].err != -EBADF :
				   b[i].err != -ESHUTDOWN && b[i].err != -EBADF;
	}
	TH_LOG("destroy and joins took %llu ms",
	       (unsigned long long)((kp_now_ns() - t0) / KP_MS));
	EXPECT_EQ(0, odd);
}

/* ---- a future wait on an event-loop pool that is destroyed ---- */

struct waiter {
	struct kpool_future *f;
	struct kpool_result r;
	int err;
};

static void *wait_future(void *arg)
{
	struct waiter *w = arg;

	w->err = kpool_future_wait(w->f, FOREVER, &w->r);
	return NULL;
}

TEST(future_wait_on_an_event_loop_pool_ends_when_the_pool_is_destroyed)
{
	struct kpool_pool_opts o = opts(1, 4, KPOOL_POOL_EVENT_LOOP);
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);
	struct waiter w = { .r.res = 1 };
	struct kpool_pool *pool;
	pthread_t th;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_submit_future(pool, &slow, &w.f));
	ASSERT_EQ(0, pthread_create(&th, NULL, wait_future, &w));
	usleep(100 * 1000);		/* asleep in poll() on the pool's fd */
	kpool_pool_destroy(pool);
	pthread_join(th, NULL);
	kpool_future_release(w.f);
	EXPECT_TRUE(w.err == 0 && w.r.res == -ECANCELED);
}

TEST(future_of_a_destroyed_pool_still_gives_its_result)
{
	struct kpool_pool_opts o = opts(2, 4, 0);
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_result r = { .res = 1 };
	struct kpool_future *f;
	struct kpool_pool *pool;
	int err;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_submit_future(pool, &sqe, &f));
	kpool_pool_destroy(pool);
	err = kpool_future_wait(f, 0, &r);
	kpool_future_release(f);
	/* Done (0), or cancelled by the destroy if it had not run yet. */
	EXPECT_TRUE(err == 0 && (r.res == 0 || r.res == -ECANCELED));
}

/* ---- two destroys at once ---- */

struct destroyer {
	struct kpool_pool *pool;
	pthread_barrier_t *start;
};

static void *destroy_it(void *arg)
{
	struct destroyer *d = arg;

	pthread_barrier_wait(d->start);
	kpool_pool_destroy(d->pool);
	return NULL;
}

TEST(two_destroys_of_one_pool_at_once_free_it_once)
{
	struct kpool_pool_opts o = opts(2, 4, 0);
	pthread_barrier_t start;
	struct destroyer d;
	pthread_t th[2];
	int i;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&d.pool, &o));
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, 2));
	d.start = &start;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, destroy_it, &d));
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	/* A double free is an ASan report; a lost pool a leak report. */
	EXPECT_EQ(-EBADF, kpool_pool_fd(d.pool));
}

/* ---- the eventfd, swapped while completions signal it ---- */

struct hammer {
	struct kpool_pool *pool;
	uint32_t stop;
};

static void *hammer_nops(void *arg)
{
	struct hammer *h = arg;
	struct kpool_sqe sqe = nop_sqe();

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED))
		if (kpool_pool_submit(h->pool, &sqe, nothing_cb, NULL, NULL) ==
		    -EAGAIN)
			sched_yield();
	return NULL;
}

/*
 * After each detach the eventfd is closed and its number made a pipe's
 * write end: a write the library still made to the old eventfd would land
 * in the pipe (and, under TSan, race the close).
 */
TEST(replaced_eventfd_is_never_written_after_set_eventfd_returns)
{
	struct kpool_pool_opts o = opts(4, 16, KPOOL_POOL_NONBLOCKING);
	struct hammer h = { 0 };
	pthread_t th;
	int i, efd, p[2], stray = 0;
	char buf[64];

	KP_REQUIRE_MODULE();
	o.completion_threads = 4;
	ASSERT_EQ(0, kpool_pool_create(&h.pool, &o));
	ASSERT_EQ(0, pthread_create(&th, NULL, hammer_nops, &h));
	for (i = 0; i < 100; i++) {	/* a grace period may sleep 10 ms */
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, efd);
		ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
		ASSERT_EQ(0, kpool_pool_set_eventfd(h.pool, efd));
		usleep(200);
		ASSERT_EQ(0, kpool_pool_set_eventfd(h.pool, -1));
		close(efd);		/* TSan: a write racing this is a report */
		ASSERT_EQ(efd, dup2(p[1], efd));
		usleep(200);
		stray += read(p[0], buf, sizeof(buf)) > 0;
		close(efd);
		close(p[0]);
		close(p[1]);
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	kpool_pool_destroy(h.pool);
	EXPECT_EQ(0, stray);
}

TEST_HARNESS_MAIN
