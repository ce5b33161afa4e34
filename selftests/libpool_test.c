// SPDX-License-Identifier: GPL-2.0
/*
 * libkpool's pool API over the module: many submitting threads with every
 * callback run exactly once and results right; futures and their
 * timeouts; cancel; tune; counts and stats; drain with a timeout;
 * shutdown racing submitters; the callback rules (submit from a callback
 * at capacity 1, cancel from a callback, no drain from a callback); event-
 * loop mode under epoll; the eventfd; and every option it refuses.
 *
 * Built three ways: plain, with ASan+UBSan and with TSan (make check runs
 * all three; the sanitizer builds with fewer stress tasks).  The
 * environment variable KPOOL_STRESS_TASKS overrides the tasks per stress
 * thread (make check-debug: KASAN makes each task far slower).
 */
#include <pthread.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "kselftest_harness.h"
#include "kpool_util.h"
#include "kpool_pool.h"

#ifndef STRESS_TASKS_PER_THREAD
#define STRESS_TASKS_PER_THREAD	100000
#endif
#define STRESS_THREADS		8
#define CRC_EVERY		8	/* every 8th task is a CRC32C */
#define CRC_LEN			64
#define CRC_SLOTS		256
#define FOREVER			KPOOL_WAIT_FOREVER

static struct kpool_sqe nop_sqe(void)
{
	struct kpool_sqe sqe = { 0 };

	kpool_prep_nop(&sqe);
	return sqe;
}

static struct kpool_sqe timeout_sqe(uint64_t ns)
{
	struct kpool_sqe sqe = { 0 };

	kpool_prep_timeout(&sqe, ns);
	return sqe;
}

static struct kpool_pool_opts opts(unsigned int capacity,
				   unsigned int queue_size,
				   unsigned int flags)
{
	struct kpool_pool_opts o;

	kpool_pool_opts_default(&o);
	o.capacity = o.max_capacity = capacity;
	o.queue_size = queue_size;
	o.flags = flags;
	return o;
}

/* A callback that counts its calls and keeps the last result. */
struct counter {
	uint32_t calls;
	struct kpool_result last;
};

static void count_cb(void *arg, struct kpool_result r)
{
	struct counter *c = arg;

	__atomic_store_n(&c->last.res, r.res, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->calls, 1, __ATOMIC_RELEASE);
}

/* Submit @n five-second TIMEOUTs counted by @c (may be NULL): how many. */
static int submit_slow(struct kpool_pool *pool, int n, struct counter *c)
{
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);
	int i;

	for (i = 0; i < n; i++)
		if (kpool_pool_submit(pool, &slow, c ? count_cb : NULL, c, NULL))
			break;
	return i;
}

/* ---- many submitters ---- */

static unsigned int stress_per_thread(void)
{
	const char *env = getenv("KPOOL_STRESS_TASKS");
	unsigned long n = env ? strtoul(env, NULL, 10) : 0;

	return n ? (unsigned int)n : STRESS_TASKS_PER_THREAD;
}

struct stress {
	struct kpool_pool *pool;
	unsigned char *arena;
	uint32_t crc[CRC_SLOTS];
	uint32_t *calls;		/* per task */
	uint32_t wrong;			/* results that were not right */
	uint32_t refused;		/* submits that failed */
};

struct stress_task {
	struct stress *s;
	uint32_t index;
};

static void stress_cb(void *arg, struct kpool_result r)
{
	struct stress_task *t = arg;
	struct stress *s = t->s;
	int right = t->index % CRC_EVERY ?
		r.res == 0 :
		r.res == 0 && r.aux == s->crc[t->index / CRC_EVERY % CRC_SLOTS];

	if (!right)
		__atomic_add_fetch(&s->wrong, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->calls[t->index], 1, __ATOMIC_RELAXED);
}

struct submitter {
	struct stress *s;
	struct stress_task *tasks;
	unsigned int first, count;
};

static void *stress_submitter(void *arg)
{
	struct submitter *sub = arg;
	unsigned int i;

	for (i = 0; i < sub->count; i++) {
		struct stress_task *t = &sub->tasks[i];
		struct kpool_sqe sqe = { 0 };

		t->s = sub->s;
		t->index = sub->first + i;
		if (t->index % CRC_EVERY)
			kpool_prep_nop(&sqe);
		else
			kpool_prep_crc32c(&sqe, t->index / CRC_EVERY % CRC_SLOTS *
					  CRC_LEN, CRC_LEN, 0);
		if (kpool_pool_submit(sub->s->pool, &sqe, stress_cb, t, NULL))
			__atomic_add_fetch(&sub->s->refused, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

FIXTURE(many) {
	struct stress s;
	struct stress_task *tasks;
	unsigned int per_thread, total;
};

FIXTURE_VARIANT(many) {
	unsigned int completion_threads;
};

FIXTURE_VARIANT_ADD(many, one_completion_thread) { .completion_threads = 1 };
FIXTURE_VARIANT_ADD(many, four_completion_threads) { .completion_threads = 4 };

FIXTURE_SETUP(many)
{
	struct kpool_pool_opts o = opts(64, 512, 0);
	size_t size;
	int i;

	memset(&self->s, 0, sizeof(self->s));
	self->tasks = NULL;
	KP_REQUIRE_MODULE();
	o.completion_threads = variant->completion_threads;
	o.arena_size = CRC_SLOTS * CRC_LEN;
	ASSERT_EQ(0, kpool_pool_create(&self->s.pool, &o));
	self->s.arena = kpool_pool_arena(self->s.pool, &size);
	ASSERT_NE(NULL, self->s.arena);
	for (i = 0; i < CRC_SLOTS * CRC_LEN; i++)
		self->s.arena[i] = (unsigned char)(i * 131 + 7);
	for (i = 0; i < CRC_SLOTS; i++)
		self->s.crc[i] = kp_crc32c_ref(0, self->s.arena + i * CRC_LEN,
					       CRC_LEN);
	self->per_thread = stress_per_thread();
	self->total = STRESS_THREADS * self->per_thread;
	self->s.calls = calloc(self->total, sizeof(uint32_t));
	self->tasks = calloc(self->total, sizeof(*self->tasks));
	ASSERT_NE(NULL, self->s.calls);
	ASSERT_NE(NULL, self->tasks);
}

FIXTURE_TEARDOWN(many)
{
	kpool_pool_destroy(self->s.pool);
	free(self->s.calls);
	free(self->tasks);
}

TEST_F_TIMEOUT(many, every_callback_runs_once_with_the_right_result, 600)
{
	struct submitter subs[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	struct kpool_pool_lib_stats lib;
	unsigned int i, not_once = 0;
	uint64_t t0 = kp_now_ns(), ns;

	for (i = 0; i < STRESS_THREADS; i++) {
		subs[i] = (struct submitter){
			.s = &self->s,
			.tasks = self->tasks + i * self->per_thread,
			.first = i * self->per_thread,
			.count = self->per_thread,
		};
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stress_submitter,
					    &subs[i]));
	}
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(0, kpool_pool_drain(self->s.pool, FOREVER));
	ns = kp_now_ns() - t0;
	for (i = 0; i < self->total; i++)
		not_once += self->s.calls[i] != 1;
	kpool_pool_stats(self->s.pool, NULL, &lib);
	TH_LOG("%u tasks from %u threads in %llu ms; %llu ENTERs (%.3f per task), %llu waited",
	       self->total, STRESS_THREADS, (unsigned long long)ns / 1000000,
	       (unsigned long long)lib.enters,
	       (double)lib.enters / self->total, (unsigned long long)lib.waited);
	ASSERT_EQ(0, self->s.refused);
	ASSERT_EQ(0, self->s.wrong);
	EXPECT_EQ(0, not_once);
}

/* ---- one pool, one behaviour per test ---- */

FIXTURE(pool) {
	struct kpool_pool *pool;
};

FIXTURE_SETUP(pool)
{
	struct kpool_pool_opts o = opts(2, 4, 0);

	self->pool = NULL;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&self->pool, &o));
}

FIXTURE_TEARDOWN(pool)
{
	kpool_pool_destroy(self->pool);
}

static void wait_calls(struct counter *c, uint32_t n)
{
	while (__atomic_load_n(&c->calls, __ATOMIC_ACQUIRE) < n)
		usleep(1000);
}

TEST_F(pool, callback_gets_the_tasks_result)
{
	struct kpool_sqe sqe = { 0 };
	struct counter c = { 0 };

	kpool_prep_crc32c(&sqe, 0, 1, 0);	/* no arena: -EINVAL */
	ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, count_cb, &c, NULL));
	wait_calls(&c, 1);
	EXPECT_EQ(-EINVAL, c.last.res);
}

TEST_F(pool, future_wait_returns_the_result)
{
	struct kpool_sqe sqe = timeout_sqe(KP_MS);
	struct kpool_future *f;
	struct kpool_result r = { .res = 1 };

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &sqe, &f));
	ASSERT_EQ(0, kpool_future_wait(f, FOREVER, &r));
	kpool_future_release(f);
	EXPECT_EQ(0, r.res);
}

TEST_F(pool, future_wait_times_out_before_the_task_ends)
{
	struct kpool_sqe sqe = timeout_sqe(2000 * KP_MS);
	struct kpool_future *f;
	int ret;

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &sqe, &f));
	ret = kpool_future_wait(f, 20 * KP_MS, NULL);
	kpool_pool_cancel(self->pool, kpool_future_id(f));
	kpool_future_release(f);
	EXPECT_EQ(-ETIME, ret);
}

TEST_F(pool, future_released_early_is_freed_by_its_task)
{
	struct kpool_sqe sqe = timeout_sqe(20 * KP_MS);
	struct kpool_future *f;

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &sqe, &f));
	kpool_future_release(f);	/* ASan reports a leak or a reuse */
	EXPECT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
}

TEST_F(pool, cancel_ends_a_waiting_task_with_ecanceled)
{
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);
	struct kpool_future *f;
	struct kpool_result r;

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &slow, &f));
	ASSERT_EQ(0, kpool_pool_cancel(self->pool, kpool_future_id(f)));
	ASSERT_EQ(0, kpool_future_wait(f, FOREVER, &r));
	kpool_future_release(f);
	EXPECT_EQ(-ECANCELED, r.res);
}

TEST_F(pool, cancel_all_ends_every_task)
{
	struct counter c = { 0 };

	ASSERT_EQ(6, submit_slow(self->pool, 6, &c));
	ASSERT_EQ(0, kpool_pool_cancel_all(self->pool));
	EXPECT_EQ(0, kpool_pool_drain(self->pool, 2000 * KP_MS));
}

TEST_F(pool, cancel_sqe_is_refused_by_submit)
{
	struct kpool_sqe sqe = { 0 };

	kpool_prep_cancel_all(&sqe);
	EXPECT_EQ(-EINVAL, kpool_pool_submit(self->pool, &sqe, NULL, NULL,
					     NULL));
}

TEST_F(pool, stale_id_cancels_nothing)
{
	struct kpool_sqe quick = nop_sqe(), slow = timeout_sqe(200 * KP_MS);
	struct kpool_future *done, *later;
	struct kpool_result r;

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &quick, &done));
	ASSERT_EQ(0, kpool_future_wait(done, FOREVER, NULL));
	/* The record is reused with a new generation: the old id misses. */
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &slow, &later));
	ASSERT_EQ(0, kpool_pool_cancel(self->pool, kpool_future_id(done)));
	ASSERT_EQ(0, kpool_future_wait(later, FOREVER, &r));
	kpool_future_release(done);
	kpool_future_release(later);
	EXPECT_EQ(0, r.res);
}

TEST_F(pool, tune_changes_capacity_and_reports_the_old)
{
	struct kpool_pool_counts c;
	unsigned int prev = 0;

	ASSERT_EQ(0, kpool_pool_tune(self->pool, 1, &prev));
	ASSERT_EQ(2, prev);
	ASSERT_EQ(0, kpool_pool_counts(self->pool, &c));
	EXPECT_EQ(1, c.capacity);
}

TEST_F(pool, tune_to_zero_is_refused)
{
	EXPECT_EQ(-EINVAL, kpool_pool_tune(self->pool, 0, NULL));
}

TEST_F(pool, tune_above_max_capacity_is_refused)
{
	EXPECT_EQ(-EINVAL, kpool_pool_tune(self->pool, 3, NULL));
}

TEST_F(pool, counts_show_running_and_waiting)
{
	struct kpool_pool_counts c;

	ASSERT_EQ(5, submit_slow(self->pool, 5, NULL));
	ASSERT_EQ(0, kpool_pool_counts(self->pool, &c));
	kpool_pool_cancel_all(self->pool);
	EXPECT_TRUE(c.running == 2 && c.waiting == 3 && c.free == 0 &&
		    c.inflight == 5 && c.capacity == 2);
}

TEST_F(pool, stats_count_completed_tasks)
{
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_pool_lib_stats lib;
	struct kpool_counters k;
	int i;

	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, NULL, NULL,
					       NULL));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	ASSERT_EQ(0, kpool_pool_stats(self->pool, &k, &lib));
	EXPECT_TRUE(lib.submitted == 100 && lib.completed == 100 &&
		    k.completed == 100 && lib.enters >= 1 && lib.enters <= 100);
}

TEST_F(pool, full_blocking_pool_makes_submit_wait)
{
	struct kpool_sqe slow = timeout_sqe(100 * KP_MS);
	struct kpool_pool_lib_stats lib;
	int i;

	/* 2 run, 4 wait: the 7th submit waits for the first to end. */
	for (i = 0; i < 7; i++)
		ASSERT_EQ(0, kpool_pool_submit(self->pool, &slow, NULL, NULL,
					       NULL));
	kpool_pool_stats(self->pool, NULL, &lib);
	EXPECT_EQ(1, lib.waited);
}

TEST_F(pool, drain_times_out_while_a_task_runs)
{
	struct kpool_sqe slow = timeout_sqe(500 * KP_MS);

	ASSERT_EQ(0, kpool_pool_submit(self->pool, &slow, NULL, NULL, NULL));
	EXPECT_EQ(-ETIME, kpool_pool_drain(self->pool, 20 * KP_MS));
}

TEST_F(pool, drain_again_after_a_timeout_finishes)
{
	struct kpool_sqe slow = timeout_sqe(100 * KP_MS);
	struct counter c = { 0 };

	ASSERT_EQ(0, kpool_pool_submit(self->pool, &slow, count_cb, &c, NULL));
	ASSERT_EQ(-ETIME, kpool_pool_drain(self->pool, 0));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	EXPECT_EQ(1, c.calls);
}

TEST_F(pool, submit_after_drain_is_shutdown)
{
	struct kpool_sqe sqe = nop_sqe();

	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	EXPECT_EQ(-ESHUTDOWN, kpool_pool_submit(self->pool, &sqe, NULL, NULL,
						NULL));
}

TEST_F(pool, submit_after_shutdown_is_shutdown)
{
	struct kpool_sqe sqe = nop_sqe();

	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	EXPECT_EQ(-ESHUTDOWN, kpool_pool_submit(self->pool, &sqe, NULL, NULL,
						NULL));
}

TEST_F(pool, shutdown_cancels_waiting_tasks)
{
	struct counter c = { 0 };

	ASSERT_EQ(6, submit_slow(self->pool, 6, &c));
	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	EXPECT_TRUE(c.calls == 6 && c.last.res == -ECANCELED);
}

TEST_F(pool, tune_after_shutdown_is_shutdown)
{
	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	EXPECT_EQ(-ESHUTDOWN, kpool_pool_tune(self->pool, 1, NULL));
}

TEST_F(pool, process_needs_event_loop_mode)
{
	EXPECT_EQ(-EINVAL, kpool_pool_process(self->pool, 0));
}

/* An eventfd attached to a threaded pool is signalled by completions. */
TEST_F(pool, eventfd_is_signalled_after_completions)
{
	struct kpool_sqe sqe = nop_sqe();
	int efd = eventfd(0, EFD_CLOEXEC);
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	struct kpool_future *f;
	int ready;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, kpool_pool_set_eventfd(self->pool, efd));
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &sqe, &f));
	ready = poll(&pfd, 1, 5000);
	kpool_future_wait(f, FOREVER, NULL);
	kpool_future_release(f);
	kpool_pool_set_eventfd(self->pool, -1);
	close(efd);
	EXPECT_EQ(1, ready);
}

/* ---- batches ---- */

TEST_F(pool, batch_runs_each_callback_once_with_its_own_arg)
{
	struct kpool_sqe sqes[6];
	struct counter c[6] = { 0 };
	void *args[6];
	int i, not_once = 0;

	for (i = 0; i < 6; i++) {
		sqes[i] = nop_sqe();
		args[i] = &c[i];
	}
	ASSERT_EQ(6, kpool_pool_submit_batch(self->pool, sqes, 6, count_cb,
					     args, NULL));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	for (i = 0; i < 6; i++)
		not_once += c[i].calls != 1;
	EXPECT_EQ(0, not_once);
}

TEST_F(pool, batch_is_submitted_with_one_ioctl)
{
	struct kpool_sqe sqes[6];
	struct kpool_pool_lib_stats lib;
	int i;

	for (i = 0; i < 6; i++)
		sqes[i] = nop_sqe();
	ASSERT_EQ(6, kpool_pool_submit_batch(self->pool, sqes, 6, NULL, NULL,
					     NULL));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	kpool_pool_stats(self->pool, NULL, &lib);
	EXPECT_EQ(1, lib.enters);
}

TEST_F(pool, batch_larger_than_the_pool_waits_and_takes_all)
{
	struct kpool_sqe sqes[20];
	struct counter c = { 0 };
	void *args[20];
	int i;

	/* 2 run, 4 wait: the batch must publish what it has, then wait. */
	for (i = 0; i < 20; i++) {
		sqes[i] = timeout_sqe(KP_MS);
		args[i] = &c;
	}
	ASSERT_EQ(20, kpool_pool_submit_batch(self->pool, sqes, 20, count_cb,
					      args, NULL));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	EXPECT_EQ(20, c.calls);
}

TEST_F(pool, batch_stops_before_a_cancel_sqe)
{
	struct kpool_sqe sqes[3] = { nop_sqe(), nop_sqe(), nop_sqe() };

	kpool_prep_cancel_all(&sqes[1]);
	EXPECT_EQ(1, kpool_pool_submit_batch(self->pool, sqes, 3, NULL, NULL,
					     NULL));
}

TEST_F(pool, batch_of_nothing_submits_nothing)
{
	EXPECT_EQ(0, kpool_pool_submit_batch(self->pool, NULL, 0, NULL, NULL,
					     NULL));
}

TEST_F(pool, batch_after_shutdown_is_shutdown)
{
	struct kpool_sqe sqe = nop_sqe();

	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	EXPECT_EQ(-ESHUTDOWN, kpool_pool_submit_batch(self->pool, &sqe, 1,
						      NULL, NULL, NULL));
}

TEST(batch_in_a_full_nonblocking_pool_takes_what_fits)
{
	struct kpool_pool_opts o = opts(1, 1, KPOOL_POOL_NONBLOCKING);
	struct kpool_sqe sqes[4];
	struct kpool_pool *pool;
	int i, taken;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	for (i = 0; i < 4; i++)
		sqes[i] = timeout_sqe(5000 * KP_MS);
	taken = kpool_pool_submit_batch(pool, sqes, 4, NULL, NULL, NULL);
	kpool_pool_destroy(pool);
	EXPECT_EQ(2, taken);
}

/* ---- the callback rules ---- */

struct chain {
	struct kpool_pool *pool;
	uint32_t left;			/* resubmits still to make */
	uint32_t done;
	int first_err, second_err;
};

static void chain_cb(void *arg, struct kpool_result r)
{
	struct chain *c = arg;
	struct kpool_sqe sqe = nop_sqe();

	(void)r;
	if (c->left) {
		c->left--;
		/* The slot this task held is free: this submit gets it. */
		c->first_err = kpool_pool_submit(c->pool, &sqe, chain_cb, c,
						 NULL);
		if (c->first_err)
			__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
		return;
	}
	/* Pool full (the task above holds the only slot): no waiting. */
	c->first_err = kpool_pool_submit(c->pool, &sqe, NULL, NULL, NULL);
	c->second_err = kpool_pool_submit(c->pool, &sqe, NULL, NULL, NULL);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
}

FIXTURE(single) {
	struct kpool_pool *pool;
};

FIXTURE_SETUP(single)
{
	struct kpool_pool_opts o = opts(1, 0, 0);	/* blocking */

	self->pool = NULL;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&self->pool, &o));
}

FIXTURE_TEARDOWN(single)
{
	kpool_pool_destroy(self->pool);
}

TEST_F(single, callback_resubmits_into_its_own_slot)
{
	struct chain c = { .pool = self->pool, .left = 100 };
	struct kpool_sqe sqe = nop_sqe();

	ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, chain_cb, &c, NULL));
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE))
		usleep(1000);
	EXPECT_EQ(0, c.first_err);
}

TEST_F(single, callback_submit_to_a_full_pool_fails_instead_of_waiting)
{
	struct chain c = { .pool = self->pool, .left = 0 };
	struct kpool_sqe sqe = nop_sqe();

	ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, chain_cb, &c, NULL));
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(0, c.first_err);
	EXPECT_EQ(-EAGAIN, c.second_err);
}

struct canceller {
	struct kpool_pool *pool;
	uint64_t victim;
	int err;
};

static void cancel_cb(void *arg, struct kpool_result r)
{
	struct canceller *c = arg;

	(void)r;
	c->err = kpool_pool_cancel(c->pool, c->victim);
}

TEST(callback_cancels_another_task)
{
	struct kpool_pool_opts o = opts(1, 4, 0);
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS), quick = nop_sqe();
	struct canceller c = { 0 };
	struct kpool_future *victim;
	struct kpool_result r;

	KP_REQUIRE_MODULE();
	o.capacity = o.max_capacity = 2;
	ASSERT_EQ(0, kpool_pool_create(&c.pool, &o));
	ASSERT_EQ(0, kpool_pool_submit_future(c.pool, &slow, &victim));
	c.victim = kpool_future_id(victim);
	ASSERT_EQ(0, kpool_pool_submit(c.pool, &quick, cancel_cb, &c, NULL));
	ASSERT_EQ(0, kpool_future_wait(victim, FOREVER, &r));
	kpool_future_release(victim);
	kpool_pool_destroy(c.pool);
	ASSERT_EQ(0, c.err);
	EXPECT_EQ(-ECANCELED, r.res);
}

struct self_drain {
	struct kpool_pool *pool;
	int drain_err, shutdown_err;
};

static void self_drain_cb(void *arg, struct kpool_result r)
{
	struct self_drain *d = arg;

	(void)r;
	d->drain_err = kpool_pool_drain(d->pool, FOREVER);
	d->shutdown_err = kpool_pool_shutdown(d->pool);
}

TEST_F(pool, drain_and_shutdown_from_a_callback_are_refused)
{
	struct self_drain d = { .pool = self->pool };
	struct kpool_sqe sqe = nop_sqe();

	ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, self_drain_cb, &d,
				       NULL));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	EXPECT_TRUE(d.drain_err == -EDEADLK && d.shutdown_err == -EDEADLK);
}

/* ---- full pools and closing races ---- */

TEST(full_nonblocking_pool_refuses_with_eagain)
{
	struct kpool_pool_opts o = opts(1, 1, KPOOL_POOL_NONBLOCKING);
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);
	struct kpool_pool *pool;
	int third;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_submit(pool, &slow, NULL, NULL, NULL));
	ASSERT_EQ(0, kpool_pool_submit(pool, &slow, NULL, NULL, NULL));
	third = kpool_pool_submit(pool, &slow, NULL, NULL, NULL);
	kpool_pool_destroy(pool);	/* cancels the two */
	EXPECT_EQ(-EAGAIN, third);
}

struct racer {
	struct kpool_pool *pool;
	uint32_t accepted;
	uint32_t calls;
	int other_err;
};

static void racer_cb(void *arg, struct kpool_result r)
{
	struct racer *x = arg;

	(void)r;
	__atomic_add_fetch(&x->calls, 1, __ATOMIC_RELAXED);
}

static void *racer_thread(void *arg)
{
	struct racer *x = arg;
	struct kpool_sqe sqe = timeout_sqe(KP_MS);

	for (;;) {
		int err = kpool_pool_submit(x->pool, &sqe, racer_cb, x, NULL);

		if (err == -ESHUTDOWN)
			return NULL;
		if (!err)
			__atomic_add_fetch(&x->accepted, 1, __ATOMIC_RELAXED);
		else if (err != -EAGAIN)
			__atomic_store_n(&x->other_err, err, __ATOMIC_RELAXED);
	}
}

FIXTURE(race) {
	struct racer x;
	pthread_t th[4];
};

FIXTURE_VARIANT(race) {
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(race, blocking) { .flags = 0 };
FIXTURE_VARIANT_ADD(race, nonblocking) { .flags = KPOOL_POOL_NONBLOCKING };

FIXTURE_SETUP(race)
{
	struct kpool_pool_opts o = opts(2, 8, variant->flags);

	memset(&self->x, 0, sizeof(self->x));
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&self->x.pool, &o));
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F(race, shutdown_racing_submitters_completes_each_accepted_task_once)
{
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&self->th[i], NULL, racer_thread,
					    &self->x));
	usleep(100 * 1000);
	ASSERT_EQ(0, kpool_pool_shutdown(self->x.pool));
	for (i = 0; i < 4; i++)
		pthread_join(self->th[i], NULL);
	kpool_pool_destroy(self->x.pool);
	TH_LOG("%u tasks accepted before the shutdown", self->x.accepted);
	ASSERT_EQ(0, self->x.other_err);
	EXPECT_EQ(self->x.accepted, self->x.calls);
}

/* ---- event-loop mode ---- */

TEST(event_loop_runs_callbacks_under_epoll)
{
	struct kpool_pool_opts o = opts(4, 60, KPOOL_POOL_EVENT_LOOP);
	struct kpool_sqe sqe = nop_sqe();
	struct epoll_event ev = { .events = EPOLLIN };
	struct counter c = { 0 };
	struct kpool_pool *pool;
	unsigned int submitted = 0;
	int ep;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, kpool_pool_fd(pool), &ev));
	while (c.calls < 1000) {
		while (submitted < 1000 &&
		       !kpool_pool_submit(pool, &sqe, count_cb, &c, NULL))
			submitted++;
		if (epoll_wait(ep, &ev, 1, 5000) != 1)
			break;
		kpool_pool_process(pool, 0);
	}
	close(ep);
	kpool_pool_destroy(pool);
	EXPECT_EQ(1000, c.calls);
}

TEST(event_loop_drain_runs_the_callbacks)
{
	struct kpool_pool_opts o = opts(2, 2, KPOOL_POOL_EVENT_LOOP);
	struct kpool_sqe sqe = timeout_sqe(10 * KP_MS);
	struct counter c = { 0 };
	struct kpool_pool *pool;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_submit(pool, &sqe, count_cb, &c, NULL));
	ASSERT_EQ(0, kpool_pool_drain(pool, FOREVER));
	kpool_pool_destroy(pool);
	EXPECT_EQ(1, c.calls);
}

TEST(event_loop_pool_has_no_eventfd)
{
	struct kpool_pool_opts o = opts(1, 1, KPOOL_POOL_EVENT_LOOP);
	struct kpool_pool *pool;
	int err;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	err = kpool_pool_set_eventfd(pool, 0);
	kpool_pool_destroy(pool);
	EXPECT_EQ(-EINVAL, err);
}

TEST(default_options_make_a_working_pool)
{
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_pool *pool;
	struct kpool_future *f;
	struct kpool_result r = { .res = 1 };

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, NULL));
	ASSERT_EQ(0, kpool_pool_submit_future(pool, &sqe, &f));
	kpool_future_wait(f, FOREVER, &r);
	kpool_future_release(f);
	kpool_pool_destroy(pool);
	EXPECT_EQ(0, r.res);
}

/* ---- options refused ---- */

FIXTURE(bad_opts) {
};

FIXTURE_VARIANT(bad_opts) {
	struct kpool_pool_opts o;
};

FIXTURE_VARIANT_ADD(bad_opts, zero_capacity) {
	.o = { .capacity = 0, .max_capacity = 1, .completion_threads = 1 } };
FIXTURE_VARIANT_ADD(bad_opts, max_below_capacity) {
	.o = { .capacity = 2, .max_capacity = 1, .completion_threads = 1 } };
FIXTURE_VARIANT_ADD(bad_opts, unknown_flag) {
	.o = { .capacity = 1, .max_capacity = 1, .completion_threads = 1,
	       .flags = 0x100 } };
FIXTURE_VARIANT_ADD(bad_opts, unknown_priority) {
	.o = { .capacity = 1, .max_capacity = 1, .completion_threads = 1,
	       .default_prio = 7 } };
FIXTURE_VARIANT_ADD(bad_opts, no_completion_thread) {
	.o = { .capacity = 1, .max_capacity = 1, .completion_threads = 0 } };
FIXTURE_VARIANT_ADD(bad_opts, too_many_completion_threads) {
	.o = { .capacity = 1, .max_capacity = 1, .completion_threads = 65 } };
FIXTURE_VARIANT_ADD(bad_opts, rings_beyond_the_module) {
	.o = { .capacity = 1, .max_capacity = 1, .completion_threads = 1,
	       .queue_size = 1 << 20 } };

FIXTURE_SETUP(bad_opts)
{
	KP_REQUIRE_MODULE();
}

FIXTURE_TEARDOWN(bad_opts)
{
}

TEST_F(bad_opts, create_is_refused_with_einval)
{
	struct kpool_pool *pool = NULL;

	EXPECT_EQ(-EINVAL, kpool_pool_create(&pool, &variant->o));
}

TEST(create_without_the_module_fails_cleanly)
{
	struct kpool_pool *pool;

	if (kp_dev_present())
		SKIP(return, "the module is loaded");
	EXPECT_EQ(-ENOENT, kpool_pool_create(&pool, NULL));
}

TEST_HARNESS_MAIN
