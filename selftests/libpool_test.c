// SPDX-License-Identifier: GPL-2.0
/*
 * libkpool's pool API over the module: many submitting threads with every
 * callback run exactly once and results right; futures and their
 * timeouts; cancel; tune; counts and stats; drain with a timeout;
 * shutdown racing submitters; the callback rules (submit from a callback
 * at capacity 1, cancel from a callback, no drain from a callback); event-
 * loop mode under epoll; the eventfd; the program's own functions run by
 * the pool's worker threads (KPOOL_FEAT_CALL: once each, results,
 * capacity, cancel and deadline seen from inside, closing with functions
 * running or workers idle); per-op counters; the leak report at exit
 * (KPOOL_LEAK_CHECK); and every option it refuses.  The percentile of a
 * histogram (kpool_hist_percentile()) is a pure function: its tests run
 * without the module.
 *
 * Built three ways: plain, with ASan+UBSan and with TSan (make check runs
 * all three; the sanitizer builds with fewer stress tasks).  The
 * environment variable KPOOL_STRESS_TASKS overrides the tasks per stress
 * thread (make check-debug: KASAN makes each task far slower), and
 * KPOOL_STRESS_SECONDS, if set, stops the submitters after that long: a
 * slower machine checks fewer tasks instead of timing out.
 */
#include <math.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"
#include "kpool_pool_util.h"

#ifndef STRESS_TASKS_PER_THREAD
#define STRESS_TASKS_PER_THREAD	100000
#endif
#define STRESS_THREADS		8
#define CRC_EVERY		8	/* every 8th task is a CRC32C */
#define CRC_LEN			64
#define CRC_SLOTS		256

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

/* When the submitters stop, however many they have submitted; 0: never. */
static uint64_t stress_stop_ns(void)
{
	const char *env = getenv("KPOOL_STRESS_SECONDS");
	unsigned long s = env ? strtoul(env, NULL, 10) : 0;

	return s ? kp_now_ns() + s * 1000000000ull : 0;
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
	uint64_t stop_ns;		/* 0: submit all count */
	unsigned int submitted;		/* out */
};

static void *stress_submitter(void *arg)
{
	struct submitter *sub = arg;
	unsigned int i;

	for (i = 0; i < sub->count; i++) {
		struct stress_task *t = &sub->tasks[i];
		struct kpool_sqe sqe = { 0 };

		if (sub->stop_ns && i % 256 == 0 && kp_now_ns() >= sub->stop_ns)
			break;

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
	sub->submitted = i;
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
	unsigned int i, not_once = 0, total = 0;
	uint64_t t0 = kp_now_ns(), ns, stop = stress_stop_ns();

	for (i = 0; i < STRESS_THREADS; i++) {
		subs[i] = (struct submitter){
			.s = &self->s,
			.tasks = self->tasks + i * self->per_thread,
			.first = i * self->per_thread,
			.count = self->per_thread,
			.stop_ns = stop,
		};
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stress_submitter,
					    &subs[i]));
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_join(th[i], NULL);
		total += subs[i].submitted;
	}
	ASSERT_EQ(0, kpool_pool_drain(self->s.pool, FOREVER));
	ns = kp_now_ns() - t0;
	/* Each task submitted ran its callback once; the rest never. */
	for (i = 0; i < self->total; i++)
		not_once += self->s.calls[i] !=
			(i % self->per_thread < subs[i / self->per_thread].submitted);
	kpool_pool_stats(self->s.pool, NULL, &lib);
	TH_LOG("%u tasks from %u threads in %llu ms; %llu ENTERs (%.3f per task), %llu waited",
	       total, STRESS_THREADS, (unsigned long long)ns / 1000000,
	       (unsigned long long)lib.enters,
	       (double)lib.enters / (total ? total : 1),
	       (unsigned long long)lib.waited);
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

TEST_F(pool, link_flag_is_refused_by_submit)
{
	struct kpool_sqe sqe = nop_sqe();

	kpool_sqe_set_link(&sqe);
	EXPECT_EQ(-EINVAL, kpool_pool_submit(self->pool, &sqe, NULL, NULL,
					     NULL));
}

TEST_F(pool, batch_stops_before_a_link_flag)
{
	struct kpool_sqe sqes[3] = { nop_sqe(), nop_sqe(), nop_sqe() };

	kpool_sqe_set_link(&sqes[1]);
	EXPECT_EQ(1, kpool_pool_submit_batch(self->pool, sqes, 3, NULL, NULL,
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

/* Ten NOPs and a one-millisecond TIMEOUT, run to completion. */
static int run_nops_and_a_timeout(struct kpool_pool *pool)
{
	struct kpool_sqe nop = nop_sqe(), slow = timeout_sqe(KP_MS);
	int i;

	for (i = 0; i < 10; i++)
		if (kpool_pool_submit(pool, &nop, NULL, NULL, NULL))
			return -1;
	if (kpool_pool_submit(pool, &slow, NULL, NULL, NULL))
		return -1;
	return kpool_pool_drain(pool, FOREVER);
}

TEST_F(pool, op_stats_count_each_op_apart)
{
	struct kpool_counters ops[KPOOL_OP_LAST];
	int n;

	ASSERT_EQ(0, run_nops_and_a_timeout(self->pool));
	n = kpool_pool_op_stats(self->pool, ops, KPOOL_OP_LAST);
	EXPECT_TRUE(n == KPOOL_OP_LAST && ops[KPOOL_OP_NOP].completed == 10 &&
		    ops[KPOOL_OP_TIMEOUT].completed == 1 &&
		    ops[KPOOL_OP_BURN].submitted == 0);
}

TEST_F(pool, op_stats_past_the_modules_ops_are_zeroed)
{
	struct kpool_counters ops[KPOOL_OP_LAST + 2];
	int n;

	memset(ops, 0xff, sizeof(ops));
	n = kpool_pool_op_stats(self->pool, ops, KPOOL_OP_LAST + 2);
	EXPECT_TRUE(n == KPOOL_OP_LAST && ops[KPOOL_OP_LAST].submitted == 0 &&
		    ops[KPOOL_OP_LAST + 1].run_hist[KPOOL_HIST_BUCKETS - 1] == 0);
}

TEST_F(pool, op_stats_fill_no_more_than_asked)
{
	struct kpool_counters ops[2];
	int n;

	ASSERT_EQ(0, run_nops_and_a_timeout(self->pool));
	memset(ops, 0xff, sizeof(ops));
	n = kpool_pool_op_stats(self->pool, ops, 1);
	EXPECT_TRUE(n == 1 && ops[KPOOL_OP_NOP].completed == 10 &&
		    ops[1].submitted == UINT64_MAX);
}

TEST_F(pool, op_stats_of_no_ops_is_0)
{
	EXPECT_EQ(0, kpool_pool_op_stats(self->pool, NULL, 0));
}

TEST_F(pool, op_stats_without_an_array_is_einval)
{
	EXPECT_EQ(-EINVAL, kpool_pool_op_stats(self->pool, NULL, 1));
}

TEST_F(pool, op_stats_percentile_bounds_a_timeouts_run_time)
{
	struct kpool_counters ops[KPOOL_OP_LAST];
	uint64_t shortest;

	ASSERT_EQ(0, run_nops_and_a_timeout(self->pool));
	ASSERT_EQ(KPOOL_OP_LAST,
		  kpool_pool_op_stats(self->pool, ops, KPOOL_OP_LAST));
	/* It ran at least its delay: its bucket's bound is above that. */
	shortest = kpool_hist_percentile(ops[KPOOL_OP_TIMEOUT].run_hist, 0);
	EXPECT_TRUE(shortest > KP_MS && shortest != UINT64_MAX);
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

/* What a cancel stops, shutdown stops: a running TIMEOUT included. */
TEST_F(pool, shutdown_stops_a_running_timeout)
{
	struct kpool_sqe slow = timeout_sqe(10000 * KP_MS);
	struct kpool_result r = { .res = 1 };
	struct kpool_pool_counts counts;
	struct kpool_future *f;
	uint64_t end, t0;

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &slow, &f));
	end = kp_now_ns() + 2000 * KP_MS;
	do {
		ASSERT_EQ(0, kpool_pool_counts(self->pool, &counts));
	} while (!counts.running && kp_now_ns() < end);
	ASSERT_EQ(1, counts.running);
	t0 = kp_now_ns();
	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	kpool_future_wait(f, 0, &r);
	kpool_future_release(f);
	TH_LOG("shutdown took %llu ms, the TIMEOUT ended with %d",
	       (unsigned long long)(kp_now_ns() - t0) / KP_MS, r.res);
	EXPECT_EQ(-ECANCELED, r.res);
}

/* A thread blocked in submit until room is made. */
struct blocked_submit {
	struct kpool_pool *pool;
	int err;
	uint32_t done;
};

static void *blocked_submit_main(void *arg)
{
	struct blocked_submit *b = arg;
	struct kpool_sqe sqe = nop_sqe();

	b->err = kpool_pool_submit(b->pool, &sqe, NULL, NULL, NULL);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(tune_queue_up_lets_a_blocked_submitter_in)
{
	struct kpool_pool_opts o = opts(1, 0, 0);	/* blocking, no queue */
	struct blocked_submit b = { 0 };
	unsigned int prev = 99;
	struct kpool_pool *pool;
	pthread_t th;
	uint64_t end;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	b.pool = pool;
	ASSERT_EQ(1, submit_slow(pool, 1, NULL));	/* holds the slot */
	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_submit_main, &b));
	usleep(100 * 1000);
	ASSERT_EQ(0, __atomic_load_n(&b.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, kpool_pool_tune_queue(pool, 1, &prev));
	end = kp_now_ns() + 2000 * KP_MS;
	while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE) &&
	       kp_now_ns() < end)
		usleep(1000);
	kpool_pool_shutdown(pool);	/* ends a submit still blocked */
	pthread_join(th, NULL);
	kpool_pool_destroy(pool);
	EXPECT_TRUE(prev == 0 && b.err == 0);
}

TEST(tune_queue_down_refuses_new_tasks_and_keeps_the_waiting)
{
	struct kpool_pool_opts o = opts(1, 2, KPOOL_POOL_NONBLOCKING);
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_pool_counts c;
	struct kpool_pool *pool;
	int refused;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(3, submit_slow(pool, 3, NULL));	/* one runs, two wait */
	ASSERT_EQ(0, kpool_pool_tune_queue(pool, 0, NULL));
	refused = kpool_pool_submit(pool, &sqe, NULL, NULL, NULL);
	ASSERT_EQ(0, kpool_pool_counts(pool, &c));
	kpool_pool_destroy(pool);
	EXPECT_TRUE(refused == -EAGAIN && c.waiting == 2);
}

TEST(tune_queue_beyond_the_rings_is_refused)
{
	struct kpool_pool_opts o = opts(2, 4, 0);
	struct kpool_pool *pool;
	int err;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	err = kpool_pool_tune_queue(pool, 1u << 20, NULL);
	kpool_pool_destroy(pool);
	EXPECT_EQ(-EINVAL, err);
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

/* A chain that keeps going while another thread waits for room. */
struct contested {
	struct kpool_pool *pool;
	uint32_t left;			/* rounds of the chain still to run */
	uint32_t refused;		/* resubmits from the callback refused */
	uint32_t chain_idle;		/* the chain broke or ended */
	uint32_t stop;			/* the rival stops submitting */
};

static void contested_cb(void *arg, struct kpool_result r)
{
	struct contested *c = arg;
	struct kpool_sqe sqe = nop_sqe();

	(void)r;
	if (!__atomic_load_n(&c->left, __ATOMIC_ACQUIRE) ||
	    !__atomic_sub_fetch(&c->left, 1, __ATOMIC_ACQ_REL)) {
		__atomic_store_n(&c->chain_idle, 1, __ATOMIC_RELEASE);
		return;
	}
	if (kpool_pool_submit(c->pool, &sqe, contested_cb, c, NULL)) {
		__atomic_add_fetch(&c->refused, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&c->chain_idle, 1, __ATOMIC_RELEASE);
	}
}

/* The rival: a thread blocked in submit whenever the slot is taken. */
static void *rival_main(void *arg)
{
	struct contested *c = arg;
	struct kpool_sqe sqe = nop_sqe();

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE))
		if (kpool_pool_submit(c->pool, &sqe, NULL, NULL, NULL))
			break;
	return NULL;
}

#define CONTESTED_ROUNDS	5000

TEST_F_TIMEOUT(single, callback_keeps_its_slot_against_a_blocked_submitter,
	       300)
{
	struct contested c = { .pool = self->pool, .left = CONTESTED_ROUNDS };
	struct kpool_sqe sqe = nop_sqe();
	pthread_t rival;

	ASSERT_EQ(0, pthread_create(&rival, NULL, rival_main, &c));
	/* Start the chain; restart it (from here) whenever it breaks. */
	while (__atomic_load_n(&c.left, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&c.chain_idle, 0, __ATOMIC_RELEASE);
		ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, contested_cb,
					       &c, NULL));
		while (!__atomic_load_n(&c.chain_idle, __ATOMIC_ACQUIRE))
			usleep(1000);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(rival, NULL);
	TH_LOG("%u of %d resubmits from the callback refused", c.refused,
	       CONTESTED_ROUNDS);
	EXPECT_EQ(0, c.refused);
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
	int functions;			/* functions, and cancel every other */
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

static int racer_fn(void *arg)
{
	(void)arg;
	usleep(100);
	return 0;
}

static void *racer_thread(void *arg)
{
	struct racer *x = arg;
	struct kpool_sqe sqe = timeout_sqe(KP_MS);
	struct kpool_fn_opts o = { .done = racer_cb, .done_arg = x };
	uint64_t id;

	for (;;) {
		int err = x->functions ?
			kpool_pool_submit_fn(x->pool, racer_fn, NULL, &o, &id) :
			kpool_pool_submit(x->pool, &sqe, racer_cb, x, &id);

		if (err == -ESHUTDOWN)
			return NULL;
		if (!err &&
		    __atomic_add_fetch(&x->accepted, 1, __ATOMIC_RELAXED) & 1 &&
		    x->functions)
			kpool_pool_cancel(x->pool, id);	/* may race shutdown */
		else if (err && err != -EAGAIN)
			__atomic_store_n(&x->other_err, err, __ATOMIC_RELAXED);
	}
}

FIXTURE(race) {
	struct racer x;
	pthread_t th[4];
};

FIXTURE_VARIANT(race) {
	unsigned int flags;
	int functions;
};

FIXTURE_VARIANT_ADD(race, blocking) { .flags = 0 };
FIXTURE_VARIANT_ADD(race, nonblocking) { .flags = KPOOL_POOL_NONBLOCKING };
FIXTURE_VARIANT_ADD(race, blocking_functions) { .functions = 1 };
FIXTURE_VARIANT_ADD(race, nonblocking_functions) {
	.flags = KPOOL_POOL_NONBLOCKING, .functions = 1 };

FIXTURE_SETUP(race)
{
	struct kpool_pool_opts o = opts(2, 8, variant->flags);

	memset(&self->x, 0, sizeof(self->x));
	self->x.functions = variant->functions;
	if (variant->functions)
		KP_REQUIRE_CALL();
	else
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

TEST(capacity_alone_sets_the_tune_ceiling_too)
{
	struct kpool_pool_opts o;
	struct kpool_pool *pool = NULL;
	int err;

	KP_REQUIRE_MODULE();
	kpool_pool_opts_default(&o);
	o.capacity = 64;	/* more than the guest's CPUs */
	err = kpool_pool_create(&pool, &o);
	kpool_pool_destroy(pool);
	EXPECT_EQ(0, err);
}

TEST(cancel_all_after_a_timed_out_drain_ends_the_rest)
{
	struct kpool_pool_opts o = opts(1, 4, 0);
	struct kpool_sqe slow = timeout_sqe(10000 * KP_MS);
	struct kpool_result r[2] = { { .res = 1 }, { .res = 1 } };
	struct kpool_future *f[2];
	struct kpool_pool *pool;
	int i, drained;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	for (i = 0; i < 2; i++)		/* one runs, one waits */
		ASSERT_EQ(0, kpool_pool_submit_future(pool, &slow, &f[i]));
	ASSERT_EQ(-ETIME, kpool_pool_drain(pool, 50 * KP_MS));
	ASSERT_EQ(0, kpool_pool_cancel_all(pool));
	drained = kpool_pool_drain(pool, 5000 * KP_MS);
	for (i = 0; i < 2; i++) {
		kpool_future_wait(f[i], 0, &r[i]);
		kpool_future_release(f[i]);
	}
	kpool_pool_destroy(pool);
	EXPECT_TRUE(drained == 0 && r[0].res == -ECANCELED &&
		    r[1].res == -ECANCELED);
}

TEST(future_wait_in_event_loop_mode_runs_the_completions)
{
	struct kpool_pool_opts o = opts(2, 4, KPOOL_POOL_EVENT_LOOP);
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_result r = { .res = 1 };
	struct kpool_future *f;
	struct kpool_pool *pool;
	int err;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_submit_future(pool, &sqe, &f));
	/* No kpool_pool_process() here: the wait must reap for itself. */
	err = kpool_future_wait(f, 2000 * KP_MS, &r);
	kpool_future_release(f);
	kpool_pool_destroy(pool);
	EXPECT_TRUE(err == 0 && r.res == 0);
}

/* ---- the program's own functions (KPOOL_FEAT_CALL) ---- */

#define SPIN_MAX	(10000 * KP_MS)	/* a spinning function's bound */

/* One function's task: what it is to do, what it saw, what came back. */
struct fnrec {
	int ret;		/* what the function returns */
	int spin;		/* first spin until kpool_task_cancelled() */
	int return_saw;		/* then return what it said instead of ret */
	uint32_t runs;
	uint32_t started;
	int saw;		/* what kpool_task_cancelled() said last */
	uint32_t callbacks;
	int res;		/* the result its callback got */
};

static int rec_fn(void *arg)
{
	struct fnrec *f = arg;
	uint64_t end;
	int c = 0;

	__atomic_add_fetch(&f->runs, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&f->started, 1, __ATOMIC_RELEASE);
	if (!f->spin)
		return f->ret;
	end = kp_now_ns() + SPIN_MAX;
	while (!(c = kpool_task_cancelled()) && kp_now_ns() < end)
		usleep(100);
	f->saw = c;
	return f->return_saw ? c : f->ret;
}

static void rec_done(void *arg, struct kpool_result r)
{
	struct fnrec *f = arg;

	f->res = r.res;
	__atomic_add_fetch(&f->callbacks, 1, __ATOMIC_RELEASE);
}

/* Wait (at most SPIN_MAX) until @n functions of @f have started. */
static int wait_started(struct fnrec *f, int n)
{
	uint64_t end = kp_now_ns() + SPIN_MAX;
	int i;

	for (i = 0; i < n; i++) {
		while (!__atomic_load_n(&f[i].started, __ATOMIC_ACQUIRE)) {
			if (kp_now_ns() > end)
				return 0;
			usleep(1000);
		}
	}
	return 1;
}

/* Threads of this process now. */
static int nr_threads(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

FIXTURE(fn) {
	struct kpool_pool *pool;
};

FIXTURE_SETUP(fn)
{
	struct kpool_pool_opts o = opts(2, 4, 0);

	self->pool = NULL;
	KP_REQUIRE_CALL();
	ASSERT_EQ(0, kpool_pool_create(&self->pool, &o));
}

FIXTURE_TEARDOWN(fn)
{
	kpool_pool_destroy(self->pool);
}

TEST_F(fn, each_function_runs_once_and_its_callback_gets_what_it_returned)
{
	struct fnrec f[64] = { 0 };
	int i, wrong = 0;

	for (i = 0; i < 64; i++) {
		struct kpool_fn_opts o = { .done = rec_done,
					   .done_arg = &f[i] };

		f[i].ret = i % 7 ? i : -EIO;
		/* 2 run, 4 wait: most of these submits wait for room. */
		ASSERT_EQ(0, kpool_pool_submit_fn(self->pool, rec_fn, &f[i], &o,
						  NULL));
	}
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	for (i = 0; i < 64; i++)
		wrong += f[i].runs != 1 || f[i].callbacks != 1 ||
			 f[i].res != f[i].ret;
	EXPECT_EQ(0, wrong);
}

/*
 * Eight threads submit functions with random priorities, deadlines and
 * cancels for a few seconds: every submitted function's callback runs
 * exactly once, every function runs at most once, and what the callback
 * gets fits what happened (what it returned, or -ECANCELED / -ETIME for
 * one cancelled or expired, before or while it ran).
 */
#define FNSTRESS_SECONDS	5

struct fnstress {
	struct kpool_pool *pool;
	uint32_t *runs, *calls;
	int32_t *res;
	uint32_t refused, wrong;
};

struct fnstress_task {
	struct fnstress *s;
	uint32_t index;
};

struct fnstress_thread {
	struct fnstress *s;
	struct fnstress_task *tasks;
	unsigned int first, max, submitted;
	uint64_t end;
};

static int fnstress_fn(void *arg)
{
	struct fnstress_task *t = arg;
	int c;

	__atomic_add_fetch(&t->s->runs[t->index], 1, __ATOMIC_RELAXED);
	/* A few look at kpool_task_cancelled() and stop as it says. */
	if (t->index % 4 == 0 && (c = kpool_task_cancelled()))
		return c;
	return (int)(t->index % 1000);
}

static void fnstress_done(void *arg, struct kpool_result r)
{
	struct fnstress_task *t = arg;

	__atomic_store_n(&t->s->res[t->index], r.res, __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->s->calls[t->index], 1, __ATOMIC_RELEASE);
}

static void *fnstress_submitter(void *arg)
{
	struct fnstress_thread *th = arg;
	uint32_t x = th->first * 2654435761u + 1;
	unsigned int i;

	for (i = 0; i < th->max && kp_now_ns() < th->end; i++) {
		struct fnstress_task *t = &th->tasks[i];
		struct kpool_fn_opts o = { .done = fnstress_done, .done_arg = t };
		uint64_t id;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		t->s = th->s;
		t->index = th->first + i;
		o.prio = x % 4 == 0 ? KPOOL_PRIO_HIGH : KPOOL_PRIO_NORMAL;
		o.deadline_ns = x % 8 == 1 ? 200000 : 0;
		if (kpool_pool_submit_fn(th->s->pool, fnstress_fn, t, &o, &id)) {
			__atomic_add_fetch(&th->s->refused, 1, __ATOMIC_RELAXED);
			break;
		}
		th->submitted++;
		if (x % 16 == 2)
			kpool_pool_cancel(th->s->pool, id);
	}
	return NULL;
}

TEST_F_TIMEOUT(fn, eight_threads_every_function_once_every_callback_once, 600)
{
	unsigned int per = stress_per_thread() / 50 + 16, total, i;
	unsigned int ran = 0, expired = 0, cancelled = 0, bad_calls = 0;
	struct fnstress_thread th[STRESS_THREADS];
	pthread_t tid[STRESS_THREADS];
	struct fnstress_task *tasks;
	struct fnstress s = { .pool = self->pool };
	uint64_t end = kp_now_ns() + FNSTRESS_SECONDS * 1000 * KP_MS;

	total = STRESS_THREADS * per;
	s.runs = calloc(total, sizeof(*s.runs));
	s.calls = calloc(total, sizeof(*s.calls));
	s.res = calloc(total, sizeof(*s.res));
	tasks = calloc(total, sizeof(*tasks));
	ASSERT_TRUE(s.runs && s.calls && s.res && tasks);
	for (i = 0; i < STRESS_THREADS; i++) {
		th[i] = (struct fnstress_thread){ .s = &s, .tasks = tasks + i * per,
						  .first = i * per, .max = per,
						  .end = end };
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, fnstress_submitter,
					    &th[i]));
	}
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(tid[i], NULL);
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	for (i = 0; i < total; i++) {
		unsigned int t = i / per, k = i % per;
		uint32_t calls = __atomic_load_n(&s.calls[i], __ATOMIC_ACQUIRE);
		uint32_t runs = __atomic_load_n(&s.runs[i], __ATOMIC_RELAXED);
		int32_t res = __atomic_load_n(&s.res[i], __ATOMIC_RELAXED);

		if (k >= th[t].submitted) {
			bad_calls += calls || runs;	/* never submitted */
			continue;
		}
		if (calls != 1 || runs > 1) {
			bad_calls++;
			continue;
		}
		if (res == -ETIME && !runs)
			expired++;
		else if (res == -ECANCELED || res == -ETIME)
			cancelled++;
		else if (runs && res == (int32_t)(i % 1000))
			ran++;
		else
			__atomic_add_fetch(&s.wrong, 1, __ATOMIC_RELAXED);
	}
	TH_LOG("%u functions from %u threads: %u ran, %u expired waiting, %u cancelled",
	       ran + expired + cancelled + s.wrong, STRESS_THREADS, ran, expired,
	       cancelled);
	EXPECT_EQ(0, s.refused);
	EXPECT_EQ(0, bad_calls);
	EXPECT_EQ(0, s.wrong);
	free(s.runs);
	free(s.calls);
	free(s.res);
	free(tasks);
}

TEST_F(fn, future_gets_what_the_function_returned)
{
	struct fnrec ok = { .ret = 42 }, bad = { .ret = -EIO };
	struct kpool_result r1 = { 0 }, r2 = { 0 };
	struct kpool_future *f1, *f2;

	ASSERT_EQ(0, kpool_pool_submit_fn_future(self->pool, rec_fn, &ok, NULL,
						 &f1));
	ASSERT_EQ(0, kpool_pool_submit_fn_future(self->pool, rec_fn, &bad, NULL,
						 &f2));
	ASSERT_EQ(0, kpool_future_wait(f1, FOREVER, &r1));
	ASSERT_EQ(0, kpool_future_wait(f2, FOREVER, &r2));
	kpool_future_release(f1);
	kpool_future_release(f2);
	EXPECT_TRUE(r1.res == 42 && r2.res == -EIO && ok.runs == 1 &&
		    bad.runs == 1);
}

struct gauge {
	uint32_t now, peak, runs;
};

/*
 * Counts the functions in progress at once.  It spins: a function that
 * sleeps lends its slot out, and then more than capacity are in progress.
 */
static int gauge_fn(void *arg)
{
	struct gauge *g = arg;
	uint32_t n = __atomic_add_fetch(&g->now, 1, __ATOMIC_SEQ_CST);
	uint32_t peak = __atomic_load_n(&g->peak, __ATOMIC_RELAXED);
	uint64_t end = kp_now_ns() + 2 * KP_MS;

	while (n > peak &&
	       !__atomic_compare_exchange_n(&g->peak, &peak, n, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	while (kp_now_ns() < end)
		;
	__atomic_sub_fetch(&g->now, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&g->runs, 1, __ATOMIC_RELAXED);
	return 0;
}

static void ignore_cb(void *arg, struct kpool_result r)
{
	(void)arg;
	(void)r;
}

static const struct kpool_fn_opts ignore_result = { .done = ignore_cb };

TEST_F(fn, capacity_bounds_the_functions_running_at_once)
{
	struct kpool_pool_worker_stats ws = { 0 };
	struct gauge g = { 0 };
	uint64_t end;
	int i;

#ifdef __SANITIZE_THREAD__
	/*
	 * TSan's runtime can sleep on its own locks inside the function, and
	 * a function that sleeps lends its slot (docs/workers.md): the bound
	 * holds for what runs, which only the plain and ASan builds see.
	 */
	SKIP(return, "a TSan build's functions may sleep in the runtime");
#endif
	/*
	 * More workers than slots: the module's capacity is the bound.  All
	 * of them started now and parked before the first function: a thread
	 * being created maps its stack under the mmap lock, and a function
	 * that faults on its own fresh stack meanwhile sleeps on that lock,
	 * lending its slot (seen once on 4 vCPUs: 3 of 40 at once).
	 */
	ASSERT_EQ(0, kpool_pool_set_worker_limits(self->pool, 8, 8, 0));
	end = kp_now_ns() + 5000 * KP_MS;
	while (!kpool_pool_worker_stats(self->pool, &ws) && ws.parked < 8 &&
	       kp_now_ns() < end)
		usleep(2000);
	ASSERT_EQ(8, ws.parked);
	/*
	 * With a callback (run on a completion thread) a worker goes from
	 * its report straight into the next function; a callback-less task
	 * it would complete itself first, in the next task's slot, where a
	 * page fault would lend the slot out (docs/workers.md).
	 */
	for (i = 0; i < 40; i++)
		ASSERT_EQ(0, kpool_pool_submit_fn(self->pool, gauge_fn, &g,
						  &ignore_result, NULL));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	TH_LOG("at most %u of 40 functions ran at once, capacity 2, 8 workers",
	       g.peak);
	EXPECT_TRUE(g.runs == 40 && g.peak >= 1 && g.peak <= 2);
}

TEST_F(fn, cancel_of_a_running_function_tells_it_and_ends_with_ecanceled)
{
	struct fnrec f = { .spin = 1 };
	struct kpool_future *fut;
	struct kpool_result r = { 0 };

	ASSERT_EQ(0, kpool_pool_submit_fn_future(self->pool, rec_fn, &f, NULL,
						 &fut));
	ASSERT_TRUE(wait_started(&f, 1));
	ASSERT_EQ(0, kpool_pool_cancel(self->pool, kpool_future_id(fut)));
	ASSERT_EQ(0, kpool_future_wait(fut, FOREVER, &r));
	kpool_future_release(fut);
	/* It saw the cancel and returned 0: the task says -ECANCELED. */
	EXPECT_TRUE(f.saw == -ECANCELED && r.res == -ECANCELED);
}

TEST_F(fn, passed_deadline_shows_in_task_cancelled)
{
	struct kpool_fn_opts o = { .deadline_ns = 200 * KP_MS };
	struct fnrec f = { .spin = 1, .return_saw = 1 };
	struct kpool_future *fut;
	struct kpool_result r = { 0 };

	ASSERT_EQ(0, kpool_pool_submit_fn_future(self->pool, rec_fn, &f, &o,
						 &fut));
	ASSERT_EQ(0, kpool_future_wait(fut, FOREVER, &r));
	kpool_future_release(fut);
	ASSERT_EQ(-ETIME, r.res);
	if (!f.runs)
		SKIP(return, "the function did not start within 200 ms");
	EXPECT_EQ(-ETIME, f.saw);
}

TEST(task_cancelled_outside_a_function_is_0)
{
	EXPECT_EQ(0, kpool_task_cancelled());
}

TEST_F(fn, batch_runs_each_function_once_with_its_own_arg)
{
	struct fnrec f[6] = { 0 };
	kpool_fn_t fns[6];
	void *args[6];
	struct counter c = { 0 };
	struct kpool_fn_opts o = { .done = count_cb, .done_arg = &c };
	uint64_t ids[6];
	int i, not_once = 0;

	for (i = 0; i < 6; i++) {
		fns[i] = rec_fn;
		args[i] = &f[i];
	}
	ASSERT_EQ(6, kpool_pool_submit_fn_batch(self->pool, fns, args, 6, &o,
						ids));
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	for (i = 0; i < 6; i++)
		not_once += f[i].runs != 1;
	EXPECT_TRUE(not_once == 0 && c.calls == 6);
}

TEST_F(fn, submit_of_a_call_sqe_runs_the_function)
{
	struct fnrec f = { .ret = 7 };
	struct kpool_sqe sqe = { 0 };
	struct kpool_future *fut;
	struct kpool_result r = { 0 };
	kpool_fn_t fp = rec_fn;

	kpool_prep_call(&sqe, (uintptr_t)fp, (uintptr_t)&f);
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &sqe, &fut));
	ASSERT_EQ(0, kpool_future_wait(fut, FOREVER, &r));
	kpool_future_release(fut);
	EXPECT_EQ(7, r.res);
}

struct inner {
	struct kpool_pool *pool;
	int submit_err, drain_err, shutdown_err;
};

static int inner_fn(void *arg)
{
	struct inner *in = arg;
	static struct fnrec f;		/* outlives us, were it submitted */

	/* Capacity 1, no queue: this function holds the only slot. */
	in->submit_err = kpool_pool_submit_fn(in->pool, rec_fn, &f, NULL, NULL);
	in->drain_err = kpool_pool_drain(in->pool, FOREVER);
	in->shutdown_err = kpool_pool_shutdown(in->pool);
	return 0;
}

TEST_F(single, function_submit_never_waits_and_drain_is_refused)
{
	struct inner in = { .pool = self->pool };
	struct kpool_future *fut;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, kpool_pool_submit_fn_future(self->pool, inner_fn, &in,
						 NULL, &fut));
	ASSERT_EQ(0, kpool_future_wait(fut, FOREVER, NULL));
	kpool_future_release(fut);
	EXPECT_TRUE(in.submit_err == -EAGAIN && in.drain_err == -EDEADLK &&
		    in.shutdown_err == -EDEADLK);
}

struct fn_submitter {
	struct kpool_pool *pool;
	struct fnrec *f;
	unsigned int count;
	uint32_t refused;
};

static void *fn_submitter_thread(void *arg)
{
	struct fn_submitter *sub = arg;
	unsigned int i;

	for (i = 0; i < sub->count; i++) {
		struct kpool_fn_opts o = { .done = rec_done,
					   .done_arg = &sub->f[i] };

		sub->f[i].ret = (int)i;
		if (kpool_pool_submit_fn(sub->pool, rec_fn, &sub->f[i], &o,
					 NULL))
			sub->refused++;
	}
	return NULL;
}

TEST_F_TIMEOUT(fn, functions_from_many_threads_run_once_each, 600)
{
	unsigned int per = stress_per_thread() / 10, i, j, wrong = 0;
	struct fn_submitter subs[4];
	pthread_t th[4];
	struct fnrec *f = calloc(4 * per, sizeof(*f));
	uint64_t t0 = kp_now_ns();

	ASSERT_NE(NULL, f);
	for (i = 0; i < 4; i++) {
		subs[i] = (struct fn_submitter){
			.pool = self->pool, .f = f + i * per, .count = per,
		};
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fn_submitter_thread,
					    &subs[i]));
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	TH_LOG("%u functions from 4 threads in %llu ms", 4 * per,
	       (unsigned long long)(kp_now_ns() - t0) / 1000000);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, subs[i].refused);
		for (j = 0; j < per; j++)
			wrong += subs[i].f[j].runs != 1 ||
				 subs[i].f[j].callbacks != 1 ||
				 subs[i].f[j].res != (int)j;
	}
	free(f);
	EXPECT_EQ(0, wrong);
}

TEST_F(fn, submit_after_shutdown_is_shutdown)
{
	struct fnrec f = { 0 };

	ASSERT_EQ(0, kpool_pool_submit_fn(self->pool, rec_fn, &f, NULL, NULL));
	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	EXPECT_EQ(-ESHUTDOWN, kpool_pool_submit_fn(self->pool, rec_fn, &f,
						   NULL, NULL));
}

TEST_F(fn, bad_arguments_are_refused)
{
	struct kpool_fn_opts bad_prio = { .prio = 2 };
	struct kpool_fn_opts cb = { .done = rec_done };
	struct kpool_future *fut = NULL;
	struct fnrec f = { 0 };
	int null_fn, prio, future_cb, zero, many, late;

	null_fn = kpool_pool_submit_fn(self->pool, NULL, NULL, NULL, NULL);
	prio = kpool_pool_submit_fn(self->pool, rec_fn, &f, &bad_prio, NULL);
	future_cb = kpool_pool_submit_fn_future(self->pool, rec_fn, &f, &cb,
						&fut);
	zero = kpool_pool_set_workers(self->pool, 0);
	many = kpool_pool_set_workers(self->pool, KPOOL_POOL_WORKERS + 1);
	ASSERT_EQ(0, kpool_pool_submit_fn(self->pool, rec_fn, &f, NULL, NULL));
	late = kpool_pool_set_workers(self->pool, 4);
	/* f lives in this frame: the function must have run before it ends. */
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	EXPECT_TRUE(null_fn == -EINVAL && prio == -EINVAL &&
		    future_cb == -EINVAL && zero == -EINVAL &&
		    many == -EINVAL && late == -EBUSY);
}

TEST(destroy_with_functions_in_flight_cancels_them)
{
	struct kpool_pool_opts o = opts(2, 8, 0);
	struct fnrec f[6] = { 0 };
	struct kpool_pool *pool;
	int i, not_cancelled = 0;
	uint64_t t0;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	for (i = 0; i < 6; i++) {
		struct kpool_fn_opts fo = { .done = rec_done,
					    .done_arg = &f[i] };

		f[i].spin = 1;
		ASSERT_EQ(0, kpool_pool_submit_fn(pool, rec_fn, &f[i], &fo,
						  NULL));
	}
	ASSERT_TRUE(wait_started(f, 2));	/* two run, four wait */
	t0 = kp_now_ns();
	kpool_pool_destroy(pool);
	TH_LOG("destroy took %llu ms",
	       (unsigned long long)(kp_now_ns() - t0) / 1000000);
	for (i = 0; i < 6; i++)
		not_cancelled += f[i].callbacks != 1 || f[i].res != -ECANCELED;
	EXPECT_EQ(0, not_cancelled);
	EXPECT_GT(SPIN_MAX, kp_now_ns() - t0);
}

TEST(destroy_with_idle_workers_ends_their_threads)
{
	struct kpool_pool_opts o = opts(2, 4, 0);
	struct fnrec f = { 0 };
	struct kpool_fn_opts fo = { .done = rec_done, .done_arg = &f };
	struct kpool_pool *pool;
	int before, after;
	uint64_t end;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_set_workers(pool, 4));
	ASSERT_EQ(0, kpool_pool_submit_fn(pool, rec_fn, &f, &fo, NULL));
	while (!__atomic_load_n(&f.callbacks, __ATOMIC_ACQUIRE))
		usleep(1000);
	before = nr_threads();		/* 4 workers + 1 completion thread */
	kpool_pool_destroy(pool);
	/* A joined thread may linger in /proc for a moment. */
	end = kp_now_ns() + 2000 * KP_MS;
	while ((after = nr_threads()) > before - 5 && kp_now_ns() < end)
		usleep(1000);
	EXPECT_GE(before - 5, after);
}

TEST(function_in_a_full_nonblocking_pool_refuses_with_eagain)
{
	struct kpool_pool_opts o = opts(1, 1, KPOOL_POOL_NONBLOCKING);
	struct fnrec f[3] = { { .spin = 1 }, { .spin = 1 }, { .spin = 1 } };
	struct kpool_pool *pool;
	int third;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_pool_submit_fn(pool, rec_fn, &f[0], NULL, NULL));
	ASSERT_EQ(0, kpool_pool_submit_fn(pool, rec_fn, &f[1], NULL, NULL));
	third = kpool_pool_submit_fn(pool, rec_fn, &f[2], NULL, NULL);
	kpool_pool_destroy(pool);	/* cancels the two */
	EXPECT_EQ(-EAGAIN, third);
}

TEST(event_loop_runs_functions_on_workers_and_callbacks_in_process)
{
	struct kpool_pool_opts o = opts(2, 8, KPOOL_POOL_EVENT_LOOP);
	struct fnrec f = { .ret = 5 };
	struct kpool_fn_opts fo = { .done = rec_done, .done_arg = &f };
	struct pollfd pfd;
	struct kpool_pool *pool;
	uint64_t end;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	pfd = (struct pollfd){ .fd = kpool_pool_fd(pool), .events = POLLIN };
	ASSERT_EQ(0, kpool_pool_submit_fn(pool, rec_fn, &f, &fo, NULL));
	end = kp_now_ns() + 5000 * KP_MS;
	while (!f.callbacks && kp_now_ns() < end) {
		poll(&pfd, 1, 100);
		kpool_pool_process(pool, 0);
	}
	kpool_pool_destroy(pool);
	EXPECT_TRUE(f.runs == 1 && f.callbacks == 1 && f.res == 5);
}

/* Where a function's callback runs: which thread, against the function's. */
struct where {
	pid_t fn_tid, cb_tid;
	uint32_t done;
};

static int where_fn(void *arg)
{
	struct where *w = arg;

	w->fn_tid = (pid_t)syscall(SYS_gettid);
	return 0;
}

static void where_cb(void *arg, struct kpool_result r)
{
	struct where *w = arg;

	(void)r;
	w->cb_tid = (pid_t)syscall(SYS_gettid);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
}

static struct where callback_thread(unsigned int flags)
{
	struct kpool_pool_opts o = opts(2, 8, flags);
	struct where w = { 0 };
	struct kpool_fn_opts fo = { .done = where_cb, .done_arg = &w };
	struct kpool_pool *pool;

	if (kpool_pool_create(&pool, &o))
		return w;
	if (!kpool_pool_submit_fn(pool, where_fn, &w, &fo, NULL))
		kpool_pool_drain(pool, FOREVER);
	kpool_pool_destroy(pool);
	return w;
}

FIXTURE(callback_place) {
	int unused;
};

FIXTURE_VARIANT(callback_place) {
	unsigned int flags;
	int on_worker;
};

FIXTURE_VARIANT_ADD(callback_place, completion_thread_by_default) {
	.flags = 0, .on_worker = 0,
};
FIXTURE_VARIANT_ADD(callback_place, worker_with_worker_callbacks) {
	.flags = KPOOL_POOL_WORKER_CALLBACKS, .on_worker = 1,
};

FIXTURE_SETUP(callback_place)
{
	KP_REQUIRE_CALL();
}

FIXTURE_TEARDOWN(callback_place)
{
}

TEST_F(callback_place, callback_runs_where_the_pool_says)
{
	struct where w = callback_thread(variant->flags);

	TH_LOG("function on thread %d, callback on %d", (int)w.fn_tid,
	       (int)w.cb_tid);
	ASSERT_TRUE(w.done && w.fn_tid && w.cb_tid);
	EXPECT_EQ(variant->on_worker, w.fn_tid == w.cb_tid);
}

TEST(function_without_the_call_feature_is_eopnotsupp)
{
	struct kpool_pool *pool;
	struct fnrec f = { 0 };
	int err;

	KP_REQUIRE_MODULE();
	if (kp_has_call())
		SKIP(return, "the module has KPOOL_FEAT_CALL");
	ASSERT_EQ(0, kpool_pool_create(&pool, NULL));
	err = kpool_pool_submit_fn(pool, rec_fn, &f, NULL, NULL);
	kpool_pool_destroy(pool);
	EXPECT_EQ(-EOPNOTSUPP, err);
}

/* ---- timed submits, waiting for idle, waiting on many futures ---- */

TEST_F(pool, timed_submit_with_room_is_taken_even_with_no_time)
{
	struct kpool_sqe sqe = nop_sqe();
	struct counter c = { 0 };

	ASSERT_EQ(0, kpool_pool_submit_timeout(self->pool, &sqe, count_cb, &c,
					       0, NULL));
	wait_calls(&c, 1);
	EXPECT_EQ(0, c.last.res);
}

TEST_F(pool, timed_submit_of_0_to_a_full_pool_is_eagain_at_once)
{
	struct kpool_sqe sqe = nop_sqe();
	uint64_t t0, ns;
	int err;

	ASSERT_EQ(6, submit_slow(self->pool, 6, NULL));	/* 2 run, 4 wait */
	t0 = kp_now_ns();
	err = kpool_pool_submit_timeout(self->pool, &sqe, NULL, NULL, 0, NULL);
	ns = kp_now_ns() - t0;
	TH_LOG("refused after %llu us", (unsigned long long)ns / 1000);
	/* At once: nowhere near the 5 s the slot holders take. */
	EXPECT_TRUE(err == -EAGAIN && ns < 1000 * KP_MS);
}

TEST_F(pool, timed_submit_to_a_full_pool_is_etime_when_the_time_passes)
{
	struct kpool_sqe sqe = nop_sqe();
	uint64_t t0, ns;
	int err;

	ASSERT_EQ(6, submit_slow(self->pool, 6, NULL));
	t0 = kp_now_ns();
	err = kpool_pool_submit_timeout(self->pool, &sqe, NULL, NULL,
					50 * KP_MS, NULL);
	ns = kp_now_ns() - t0;
	TH_LOG("refused after %llu ms", (unsigned long long)ns / KP_MS);
	EXPECT_TRUE(err == -ETIME && ns >= 50 * KP_MS);
}

TEST_F(pool, room_made_during_a_timed_submit_lets_it_in)
{
	struct kpool_sqe quick = timeout_sqe(500 * KP_MS), sqe = nop_sqe();
	struct kpool_pool_lib_stats lib;
	int err;

	/* Full; the 500 ms task ends long before the 5 s ones, and the 4 s. */
	ASSERT_EQ(0, kpool_pool_submit(self->pool, &quick, NULL, NULL, NULL));
	ASSERT_EQ(5, submit_slow(self->pool, 5, NULL));
	err = kpool_pool_submit_timeout(self->pool, &sqe, NULL, NULL,
					4000 * KP_MS, NULL);
	ASSERT_EQ(0, kpool_pool_stats(self->pool, NULL, &lib));
	EXPECT_TRUE(err == 0 && lib.waited == 1);
}

/* A thread in a timed submit, and when it returned. */
struct timed_submit {
	struct kpool_pool *pool;
	uint64_t timeout_ns;
	int err;
	uint64_t returned;		/* kp_now_ns() */
};

static void *timed_submit_main(void *arg)
{
	struct timed_submit *t = arg;
	struct kpool_sqe sqe = nop_sqe();

	t->err = kpool_pool_submit_timeout(t->pool, &sqe, NULL, NULL,
					   t->timeout_ns, NULL);
	t->returned = kp_now_ns();
	return NULL;
}

TEST_F(pool, close_wakes_a_timed_submit_with_eshutdown)
{
	struct timed_submit t = { .pool = self->pool,
				  .timeout_ns = 10000 * KP_MS };
	uint64_t closed;
	pthread_t th;
	int drained;

	ASSERT_EQ(6, submit_slow(self->pool, 6, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, timed_submit_main, &t));
	usleep(100 * 1000);		/* let it start waiting */
	/* Drain closes and cancels nothing: the pool stays full for 5 s. */
	closed = kp_now_ns();
	drained = kpool_pool_drain(self->pool, 0);
	pthread_join(th, NULL);
	TH_LOG("returned %lld ms after the close",
	       (long long)(t.returned - closed) / (long long)KP_MS);
	EXPECT_TRUE(drained == -ETIME && t.err == -ESHUTDOWN &&
		    t.returned - closed < 2000 * KP_MS);
}

TEST_F(pool, timed_submit_of_a_cancel_sqe_is_einval)
{
	struct kpool_sqe sqe = { 0 };

	kpool_prep_cancel_all(&sqe);
	EXPECT_EQ(-EINVAL, kpool_pool_submit_timeout(self->pool, &sqe, NULL,
						     NULL, FOREVER, NULL));
}

TEST(timed_submit_to_a_full_nonblocking_pool_never_waits)
{
	struct kpool_pool_opts o = opts(1, 1, KPOOL_POOL_NONBLOCKING);
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_pool *pool;
	uint64_t t0, ns;
	int err;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(2, submit_slow(pool, 2, NULL));
	t0 = kp_now_ns();
	err = kpool_pool_submit_timeout(pool, &sqe, NULL, NULL, 2000 * KP_MS,
					NULL);
	ns = kp_now_ns() - t0;
	kpool_pool_destroy(pool);	/* cancels the two */
	EXPECT_TRUE(err == -EAGAIN && ns < 1000 * KP_MS);
}

TEST_F(fn, timed_submit_runs_the_function)
{
	struct fnrec f = { .ret = 7 };
	struct kpool_fn_opts fo = { .done = rec_done, .done_arg = &f };

	ASSERT_EQ(0, kpool_pool_submit_fn_timeout(self->pool, rec_fn, &f, &fo,
						  0, NULL));
	/* f lives in this frame: the function must have run before it ends. */
	ASSERT_EQ(0, kpool_pool_drain(self->pool, FOREVER));
	EXPECT_TRUE(f.runs == 1 && f.callbacks == 1 && f.res == 7);
}

TEST_F(fn, timed_submit_of_a_function_to_a_full_pool_times_out)
{
	struct fnrec f = { 0 };
	int err;

	ASSERT_EQ(6, submit_slow(self->pool, 6, NULL));
	err = kpool_pool_submit_fn_timeout(self->pool, rec_fn, &f, NULL,
					   50 * KP_MS, NULL);
	EXPECT_EQ(-ETIME, err);
}

TEST_F(fn, timed_submit_of_a_function_refuses_bad_arguments)
{
	struct kpool_fn_opts bad_prio = { .prio = 9 };
	struct fnrec f = { 0 };
	int null_fn, prio;

	null_fn = kpool_pool_submit_fn_timeout(self->pool, NULL, NULL, NULL,
					       FOREVER, NULL);
	prio = kpool_pool_submit_fn_timeout(self->pool, rec_fn, &f, &bad_prio,
					    FOREVER, NULL);
	EXPECT_TRUE(null_fn == -EINVAL && prio == -EINVAL);
}

/* A callback that takes its time, then counts. */
static void slow_count_cb(void *arg, struct kpool_result r)
{
	usleep(20 * 1000);
	count_cb(arg, r);
}

TEST_F(pool, wait_idle_returns_once_every_callback_has_run)
{
	struct kpool_sqe sqe = timeout_sqe(10 * KP_MS);
	struct counter c = { 0 };
	int i, err;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, slow_count_cb,
					       &c, NULL));
	err = kpool_pool_wait_idle(self->pool, FOREVER);
	EXPECT_TRUE(err == 0 &&
		    __atomic_load_n(&c.calls, __ATOMIC_ACQUIRE) == 5);
}

TEST_F(pool, wait_idle_times_out_while_a_long_timeout_runs)
{
	uint64_t t0, ns;
	int err;

	ASSERT_EQ(1, submit_slow(self->pool, 1, NULL));
	t0 = kp_now_ns();
	err = kpool_pool_wait_idle(self->pool, 50 * KP_MS);
	ns = kp_now_ns() - t0;
	EXPECT_TRUE(err == -ETIME && ns >= 50 * KP_MS);
}

TEST_F(pool, pool_takes_tasks_after_wait_idle)
{
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_result r = { .res = 1 };
	struct kpool_future *f;
	int idle, err;

	ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, NULL, NULL, NULL));
	idle = kpool_pool_wait_idle(self->pool, FOREVER);
	err = kpool_pool_submit_future(self->pool, &sqe, &f);
	if (!err) {
		kpool_future_wait(f, FOREVER, &r);
		kpool_future_release(f);
	}
	EXPECT_TRUE(idle == 0 && err == 0 && r.res == 0);
}

struct idle_inside {
	struct kpool_pool *pool;
	int err;
};

static void idle_cb(void *arg, struct kpool_result r)
{
	struct idle_inside *x = arg;

	(void)r;
	/* Bounded: were it to wait, it would wait for itself. */
	x->err = kpool_pool_wait_idle(x->pool, 1000 * KP_MS);
}

TEST_F(pool, wait_idle_from_a_callback_is_edeadlk)
{
	struct idle_inside x = { .pool = self->pool, .err = 1 };
	struct kpool_sqe sqe = nop_sqe();

	ASSERT_EQ(0, kpool_pool_submit(self->pool, &sqe, idle_cb, &x, NULL));
	ASSERT_EQ(0, kpool_pool_wait_idle(self->pool, FOREVER));
	EXPECT_EQ(-EDEADLK, x.err);
}

static int idle_fn(void *arg)
{
	return kpool_pool_wait_idle(arg, 1000 * KP_MS);
}

TEST_F(fn, wait_idle_from_a_function_is_edeadlk)
{
	struct kpool_result r = { .res = 1 };
	struct kpool_future *fut;

	ASSERT_EQ(0, kpool_pool_submit_fn_future(self->pool, idle_fn,
						 self->pool, NULL, &fut));
	kpool_future_wait(fut, FOREVER, &r);
	kpool_future_release(fut);
	EXPECT_EQ(-EDEADLK, r.res);
}

TEST(event_loop_wait_idle_runs_the_completions)
{
	struct kpool_pool_opts o = opts(2, 4, KPOOL_POOL_EVENT_LOOP);
	struct kpool_sqe sqe = timeout_sqe(10 * KP_MS);
	struct counter c = { 0 };
	struct kpool_pool *pool;
	uint32_t calls;
	int i, err;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, kpool_pool_submit(pool, &sqe, count_cb, &c, NULL));
	/* No kpool_pool_process() here: the wait must reap for itself. */
	err = kpool_pool_wait_idle(pool, 5000 * KP_MS);
	calls = c.calls;
	kpool_pool_destroy(pool);
	EXPECT_TRUE(err == 0 && calls == 3);
}

/*
 * In event-loop mode a function without a callback is completed by its
 * worker, with no CQE: the pool's fd never shows it.  @drain: drain
 * instead of waiting for idle.  0 if the wait saw the function done.
 */
static int event_loop_wait_for_a_quiet_function(int drain)
{
	struct kpool_pool_opts o = opts(2, 4, KPOOL_POOL_EVENT_LOOP);
	struct fnrec f = { .ret = 1 };
	struct kpool_pool *pool;
	int err;

	err = kpool_pool_create(&pool, &o);
	if (err)
		return err;
	err = kpool_pool_submit_fn(pool, rec_fn, &f, NULL, NULL);
	if (!err)
		err = drain ? kpool_pool_drain(pool, 5000 * KP_MS) :
			      kpool_pool_wait_idle(pool, 5000 * KP_MS);
	kpool_pool_destroy(pool);	/* f's function has returned */
	return err ? err : f.runs == 1 ? 0 : -EPROTO;
}

TEST(event_loop_wait_idle_sees_a_function_its_worker_completed)
{
	KP_REQUIRE_CALL();
	EXPECT_EQ(0, event_loop_wait_for_a_quiet_function(0));
}

TEST(event_loop_drain_sees_a_function_its_worker_completed)
{
	KP_REQUIRE_CALL();
	EXPECT_EQ(0, event_loop_wait_for_a_quiet_function(1));
}

TEST(wait_any_of_no_futures_or_a_null_one_is_einval)
{
	struct kpool_future *none[1] = { NULL };
	int empty, null_entry, null_array;
	unsigned int index;

	empty = kpool_future_wait_any(none, 0, 0, &index);
	null_entry = kpool_future_wait_any(none, 1, 0, &index);
	null_array = kpool_future_wait_any(NULL, 1, 0, &index);
	EXPECT_TRUE(empty == -EINVAL && null_entry == -EINVAL &&
		    null_array == -EINVAL);
}

/* Release @n futures; their tasks, if still in flight, free them. */
static void release_all(struct kpool_future **f, int n)
{
	int i;

	for (i = 0; i < n; i++)
		kpool_future_release(f[i]);
}

TEST_F(pool, wait_any_gives_the_index_of_the_first_to_complete)
{
	struct kpool_sqe slow = timeout_sqe(2000 * KP_MS);
	struct kpool_sqe quick = timeout_sqe(10 * KP_MS);
	struct kpool_future *f[3];
	unsigned int index = 99;
	int err;

	/* Capacity 2: f[0] and f[1] run, f[2] waits. */
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &slow, &f[0]));
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &quick, &f[1]));
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &slow, &f[2]));
	err = kpool_future_wait_any(f, 3, 1500 * KP_MS, &index);
	kpool_pool_cancel_all(self->pool);
	release_all(f, 3);
	EXPECT_TRUE(err == 0 && index == 1);
}

TEST_F(pool, wait_any_of_ready_futures_gives_the_lowest_index)
{
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_future *f[2];
	unsigned int index = 99;
	int err;

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &sqe, &f[0]));
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &sqe, &f[1]));
	ASSERT_EQ(0, kpool_future_wait(f[1], FOREVER, NULL));
	ASSERT_EQ(0, kpool_future_wait(f[0], FOREVER, NULL));
	err = kpool_future_wait_any(f, 2, 0, &index);
	release_all(f, 2);
	EXPECT_TRUE(err == 0 && index == 0);
}

TEST_F(pool, wait_any_times_out_when_none_completes)
{
	struct kpool_sqe slow = timeout_sqe(2000 * KP_MS);
	struct kpool_future *f[2];
	unsigned int index = 99;
	uint64_t t0, ns;
	int err;

	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &slow, &f[0]));
	ASSERT_EQ(0, kpool_pool_submit_future(self->pool, &slow, &f[1]));
	t0 = kp_now_ns();
	err = kpool_future_wait_any(f, 2, 20 * KP_MS, &index);
	ns = kp_now_ns() - t0;
	kpool_pool_cancel_all(self->pool);
	release_all(f, 2);
	EXPECT_TRUE(err == -ETIME && ns >= 20 * KP_MS && index == 99);
}

/*
 * f[0] a 2 s TIMEOUT in @fixture_pool (with @first_own, in a pool of its
 * own with @first_flags), f[1] a 10 ms one in a second pool with
 * @second_flags: the index wait_any gives (in at most 1.5 s), or its
 * error.
 */
static int wait_any_across_pools(struct kpool_pool *fixture_pool,
				 int first_own, unsigned int first_flags,
				 unsigned int second_flags)
{
	struct kpool_pool_opts o1 = opts(1, 1, first_flags);
	struct kpool_pool_opts o2 = opts(1, 1, second_flags);
	struct kpool_sqe slow = timeout_sqe(2000 * KP_MS);
	struct kpool_sqe quick = timeout_sqe(10 * KP_MS);
	struct kpool_pool *first = fixture_pool, *second = NULL;
	struct kpool_future *f[2] = { NULL, NULL };
	unsigned int index = 99;
	int err;

	if (first_own)
		err = kpool_pool_create(&first, &o1);
	else
		err = 0;
	if (!err)
		err = kpool_pool_create(&second, &o2);
	if (!err)
		err = kpool_pool_submit_future(first, &slow, &f[0]);
	if (!err)
		err = kpool_pool_submit_future(second, &quick, &f[1]);
	if (!err)
		err = kpool_future_wait_any(f, 2, 1500 * KP_MS, &index);
	if (f[0])
		kpool_pool_cancel_all(first);
	kpool_future_release(f[0]);
	kpool_future_release(f[1]);
	kpool_pool_destroy(second);
	if (first_own)
		kpool_pool_destroy(first);
	return err ? err : (int)index;
}

TEST_F(pool, wait_any_takes_futures_of_two_pools)
{
	EXPECT_EQ(1, wait_any_across_pools(self->pool, 0, 0, 0));
}

TEST_F(pool, wait_any_runs_an_event_loop_pools_completions)
{
	EXPECT_EQ(1, wait_any_across_pools(self->pool, 0, 0,
					   KPOOL_POOL_EVENT_LOOP));
}

TEST_F(pool, wait_any_polling_an_event_loop_pool_sees_another_pools_future)
{
	/* Polling the event-loop pool's fd alone would miss f[1]. */
	EXPECT_EQ(1, wait_any_across_pools(self->pool, 1,
					   KPOOL_POOL_EVENT_LOOP, 0));
}

/* ---- the worker threads' life: min, growth, max, idle expiry ---- */

/* A function that sleeps in read() on a pipe until the test writes. */
struct sleeper {
	int fds[2];
	int started;
	int done;
};

static int sleep_fn(void *arg)
{
	struct sleeper *s = arg;
	char c;
	int ok;

	__atomic_add_fetch(&s->started, 1, __ATOMIC_RELEASE);
	ok = read(s->fds[0], &c, 1) == 1;
	__atomic_add_fetch(&s->done, 1, __ATOMIC_RELEASE);
	return ok ? 0 : -EIO;
}

/* Poll the worker stats (at most SPIN_MAX) until @until says yes. */
static int wait_workers(struct kpool_pool *pool,
			int (*until)(const struct kpool_pool_worker_stats *,
				     unsigned int),
			unsigned int n, struct kpool_pool_worker_stats *ws)
{
	uint64_t end = kp_now_ns() + SPIN_MAX;

	do {
		if (kpool_pool_worker_stats(pool, ws))
			return 0;
		if (until(ws, n))
			return 1;
		usleep(2000);
	} while (kp_now_ns() < end);
	return 0;
}

static int parked_is(const struct kpool_pool_worker_stats *ws, unsigned int n)
{
	return ws->workers == n && ws->parked == n;
}

static int blocked_is(const struct kpool_pool_worker_stats *ws, unsigned int n)
{
	return ws->blocked == n;
}

static int workers_are(const struct kpool_pool_worker_stats *ws,
		       unsigned int n)
{
	return ws->workers == n;
}

FIXTURE(lifecycle) {
	struct kpool_pool *pool;
	struct sleeper s;
};

FIXTURE_SETUP(lifecycle)
{
	struct kpool_pool_opts o = opts(2, 16, 0);

	self->pool = NULL;
	self->s.fds[0] = self->s.fds[1] = -1;
	KP_REQUIRE_CALL();
	ASSERT_EQ(0, pipe(self->s.fds));
	ASSERT_EQ(0, kpool_pool_create(&self->pool, &o));
}

FIXTURE_TEARDOWN(lifecycle)
{
	/* Wake every sleeper first: shutdown waits for running functions. */
	if (self->s.fds[1] >= 0)
		close(self->s.fds[1]);
	kpool_pool_destroy(self->pool);
	if (self->s.fds[0] >= 0)
		close(self->s.fds[0]);
}

/* Submit @n sleepers and wait until they all run; 1 if they do. */
static int run_sleepers(struct kpool_pool *pool, struct sleeper *s, int n)
{
	uint64_t end = kp_now_ns() + SPIN_MAX;
	int i;

	for (i = 0; i < n; i++)
		if (kpool_pool_submit_fn(pool, sleep_fn, s, NULL, NULL))
			return 0;
	while (__atomic_load_n(&s->started, __ATOMIC_ACQUIRE) < n) {
		if (kp_now_ns() > end)
			return 0;
		usleep(1000);
	}
	return 1;
}

/* Let @n sleepers return and wait until they have. */
static void wake_sleepers(struct sleeper *s, int n)
{
	char buf[KPOOL_POOL_WORKERS] = { 0 };
	int before = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
	uint64_t end = kp_now_ns() + SPIN_MAX;

	if (write(s->fds[1], buf, n) != n)
		return;
	while (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) < before + n &&
	       kp_now_ns() < end)
		usleep(1000);
}

TEST_F(lifecycle, min_workers_start_at_once_and_park)
{
	struct kpool_pool_worker_stats ws;

	ASSERT_EQ(0, kpool_pool_set_worker_limits(self->pool, 3, 8, 0));
	/* No function submitted: the three are pre-warmed. */
	EXPECT_TRUE(wait_workers(self->pool, parked_is, 3, &ws));
	TH_LOG("workers %u, parked %u, started %llu", ws.workers, ws.parked,
	       (unsigned long long)ws.started);
}

TEST_F(lifecycle, sleeping_functions_add_workers_beyond_capacity)
{
	struct kpool_pool_worker_stats ws;

	ASSERT_EQ(0, kpool_pool_set_worker_limits(self->pool, 0, 16, 0));
	/* Capacity 2: six sleepers all run only if workers were added. */
	EXPECT_TRUE(run_sleepers(self->pool, &self->s, 6));
	kpool_pool_worker_stats(self->pool, &ws);
	TH_LOG("%d of 6 sleepers run; workers %u, started %llu",
	       __atomic_load_n(&self->s.started, __ATOMIC_ACQUIRE), ws.workers,
	       (unsigned long long)ws.started);
	wake_sleepers(&self->s, 6);
}

TEST_F(lifecycle, max_workers_bounds_the_threads)
{
	struct kpool_pool_worker_stats ws;
	int i, started;

	ASSERT_EQ(0, kpool_pool_set_worker_limits(self->pool, 0, 3, 0));
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, kpool_pool_submit_fn(self->pool, sleep_fn,
						  &self->s, NULL, NULL));
	ASSERT_TRUE(wait_workers(self->pool, blocked_is, 3, &ws));
	usleep(200 * 1000);	/* time for a fourth worker, were one started */
	kpool_pool_worker_stats(self->pool, &ws);
	started = __atomic_load_n(&self->s.started, __ATOMIC_ACQUIRE);
	TH_LOG("workers %u, blocked %u, sleepers started %d", ws.workers,
	       ws.blocked, started);
	EXPECT_TRUE(ws.workers == 3 && started == 3);
	wake_sleepers(&self->s, 6);
}

TEST_F(lifecycle, sleeping_workers_count_as_blocked_not_runnable)
{
	struct kpool_pool_worker_stats ws;

	ASSERT_TRUE(run_sleepers(self->pool, &self->s, 2));
	EXPECT_TRUE(wait_workers(self->pool, blocked_is, 2, &ws) &&
		    ws.runnable == 0);
	TH_LOG("workers %u, parked %u, runnable %u, blocked %u", ws.workers,
	       ws.parked, ws.runnable, ws.blocked);
	wake_sleepers(&self->s, 2);
}

TEST_F(lifecycle, idle_workers_leave_down_to_min)
{
	struct kpool_pool_worker_stats ws;

	ASSERT_EQ(0, kpool_pool_set_worker_limits(self->pool, 1, 8,
						  100 * KP_MS));
	ASSERT_TRUE(run_sleepers(self->pool, &self->s, 5));
	wake_sleepers(&self->s, 5);
	/* Six or more workers now (five sleepers and a spare), one kept. */
	EXPECT_TRUE(wait_workers(self->pool, workers_are, 1, &ws));
	TH_LOG("workers %u, started %llu, expired %llu", ws.workers,
	       (unsigned long long)ws.started,
	       (unsigned long long)ws.expired);
}

TEST_F(lifecycle, without_idle_timeout_workers_stay)
{
	struct kpool_pool_worker_stats ws;

	ASSERT_EQ(0, kpool_pool_set_worker_limits(self->pool, 0, 8, 0));
	ASSERT_TRUE(run_sleepers(self->pool, &self->s, 4));
	wake_sleepers(&self->s, 4);
	usleep(300 * 1000);
	kpool_pool_worker_stats(self->pool, &ws);
	TH_LOG("workers %u, started %llu", ws.workers,
	       (unsigned long long)ws.started);
	EXPECT_TRUE(ws.expired == 0 && ws.workers == ws.started);
}

TEST_F(lifecycle, bad_limits_are_refused)
{
	int zero_max, above, min_over_max;

	zero_max = kpool_pool_set_worker_limits(self->pool, 0, 0, 0);
	above = kpool_pool_set_worker_limits(self->pool, 0,
					     KPOOL_POOL_WORKERS + 1, 0);
	min_over_max = kpool_pool_set_worker_limits(self->pool, 3, 2, 0);
	EXPECT_TRUE(zero_max == -EINVAL && above == -EINVAL &&
		    min_over_max == -EINVAL);
}

TEST_F(lifecycle, limits_after_shutdown_are_shutdown)
{
	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	EXPECT_EQ(-ESHUTDOWN,
		  kpool_pool_set_worker_limits(self->pool, 1, 2, 0));
}

/* ---- percentiles of a histogram: a pure function, no module ---- */

#define HIST_LAST	(KPOOL_HIST_BUCKETS - 1)

TEST(hist_percentile_of_an_empty_histogram_is_0)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { 0 };

	EXPECT_EQ(0, kpool_hist_percentile(h, 0.5));
}

TEST(hist_percentile_of_one_bucket_is_its_upper_bound_for_every_q)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [5] = 7 };

	EXPECT_TRUE(kpool_hist_percentile(h, 0) == 64 &&
		    kpool_hist_percentile(h, 0.5) == 64 &&
		    kpool_hist_percentile(h, 1) == 64);
}

TEST(hist_percentile_of_bucket_0_is_2)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [0] = 3 };

	EXPECT_EQ(2, kpool_hist_percentile(h, 0.5));
}

TEST(hist_percentile_0_is_the_shortest_bucket_not_an_empty_one)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [3] = 1, [10] = 5 };

	EXPECT_EQ(16, kpool_hist_percentile(h, 0));
}

TEST(hist_percentile_1_is_the_longest_bucket)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [3] = 5, [10] = 1 };

	EXPECT_EQ(2048, kpool_hist_percentile(h, 1));
}

TEST(hist_median_of_two_equal_buckets_is_the_lower)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [3] = 2, [10] = 2 };

	EXPECT_EQ(16, kpool_hist_percentile(h, 0.5));
}

TEST(hist_median_past_the_lower_bucket_is_the_upper)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [3] = 1, [10] = 3 };

	EXPECT_EQ(2048, kpool_hist_percentile(h, 0.5));
}

TEST(hist_percentile_in_the_last_bucket_is_unbounded)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [0] = 1, [HIST_LAST] = 1 };

	EXPECT_TRUE(kpool_hist_percentile(h, 1) == UINT64_MAX &&
		    kpool_hist_percentile(h, 0.5) == 2);
}

TEST(hist_q_out_of_range_is_clamped)
{
	__u64 h[KPOOL_HIST_BUCKETS] = { [3] = 1, [10] = 1 };

	EXPECT_TRUE(kpool_hist_percentile(h, -1) == 16 &&
		    kpool_hist_percentile(h, NAN) == 16 &&
		    kpool_hist_percentile(h, 2) == 2048);
}

/* ---- the leak report at exit (KPOOL_LEAK_CHECK) ---- */

#define LEAK_OUT	4096

/*
 * What the child leaves behind, in statics: LeakSanitizer (ASan builds)
 * runs at exit too, and must find them reachable.
 */
static struct kpool_pool *leak_pool;
static struct kpool_future *leak_futures[2];

/*
 * Run @body in a child whose stderr is a pipe, then set KPOOL_LEAK_CHECK
 * to @check (NULL: unset) and leave with exit(), which runs the report
 * (the harness's own test children leave with _exit()): the variable is
 * read at exit, so setting it last is enough.  *@out gets what the child
 * wrote to stderr.  Returns its exit code, which is @body's (an fd, or 0),
 * or -1 if @body failed or the child did not exit.
 */
static int leak_child(const char *check, int (*body)(void), char *out)
{
	char scrap[256];
	size_t got = 0;
	int fds[2], status, code;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		code = body();
		if (check)
			setenv("KPOOL_LEAK_CHECK", check, 1);
		else
			unsetenv("KPOOL_LEAK_CHECK");
		exit(code < 0 ? 255 : code);
	}
	close(fds[1]);
	/* Read to the end, so the child never blocks on a full pipe. */
	while ((n = read(fds[0], got < LEAK_OUT - 1 ? out + got : scrap,
			 got < LEAK_OUT - 1 ? LEAK_OUT - 1 - got :
					      sizeof(scrap))) > 0)
		if (got < LEAK_OUT - 1)
			got += n;
	out[got] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

/*
 * A pool of capacity 1 left with two five-second TIMEOUTs, one running
 * with a future, one waiting without a callback: the pool's fd.
 */
static int leave_a_pool_with_tasks_and_a_future(void)
{
	struct kpool_pool_opts o = opts(1, 1, 0);
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);

	if (kpool_pool_create(&leak_pool, &o) ||
	    kpool_pool_submit_future(leak_pool, &slow, &leak_futures[0]) ||
	    kpool_pool_submit(leak_pool, &slow, NULL, NULL, NULL))
		return -1;
	return kpool_pool_fd(leak_pool);
}

/* Create, submit, wait, release, destroy: nothing left. */
static int give_everything_back(void)
{
	struct kpool_pool_opts o = opts(1, 0, 0);
	struct kpool_sqe nop = nop_sqe();
	struct kpool_future *f = NULL;
	struct kpool_pool *pool;
	int err;

	if (kpool_pool_create(&pool, &o))
		return -1;
	err = kpool_pool_submit_future(pool, &nop, &f);
	if (!err)
		err = kpool_future_wait(f, FOREVER, NULL);
	kpool_future_release(f);
	kpool_pool_destroy(pool);
	return err ? -1 : 0;
}

/* Two futures of a pool, both outliving it; @keep of them unreleased. */
static int futures_outlive_their_pool(int keep)
{
	struct kpool_pool_opts o = opts(1, 1, 0);
	struct kpool_sqe nop = nop_sqe();
	struct kpool_pool *pool;
	int fd, i;

	if (kpool_pool_create(&pool, &o))
		return -1;
	fd = kpool_pool_fd(pool);
	for (i = 0; i < 2; i++)
		if (kpool_pool_submit_future(pool, &nop, &leak_futures[i]) ||
		    kpool_future_wait(leak_futures[i], FOREVER, NULL))
			return -1;
	kpool_pool_destroy(pool);
	for (i = keep; i < 2; i++)
		kpool_future_release(leak_futures[i]);
	return fd;
}

static int release_every_future_after_destroy(void)
{
	return futures_outlive_their_pool(0) < 0 ? -1 : 0;
}

static int keep_one_future_after_destroy(void)
{
	return futures_outlive_their_pool(1);
}

TEST(leak_check_names_the_pool_its_tasks_and_its_future)
{
	char out[LEAK_OUT], pool_line[128];
	int fd;

	KP_REQUIRE_MODULE();
	fd = leak_child("1", leave_a_pool_with_tasks_and_a_future, out);
	ASSERT_LE(0, fd) TH_LOG("the child failed; it wrote: %s", out);
	snprintf(pool_line, sizeof(pool_line),
		 "kpool leak: pool #1 fd %d never destroyed: capacity 1, 2 tasks in flight\n",
		 fd);
	EXPECT_TRUE(strstr(out, pool_line) &&
		    strstr(out, " op timeout, future, still in flight\n") &&
		    strstr(out, " op timeout, no callback, still in flight\n") &&
		    strstr(out, ": 1 future never released\n"))
		TH_LOG("the report was:\n%s", out);
}

TEST(leak_check_of_a_clean_program_prints_nothing)
{
	char out[LEAK_OUT];

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, leak_child("1", give_everything_back, out));
	EXPECT_STREQ("", out);
}

TEST(leak_check_counts_futures_released_after_their_pool_is_gone)
{
	char out[LEAK_OUT];

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, leak_child("1", release_every_future_after_destroy, out));
	EXPECT_STREQ("", out);
}

TEST(leak_check_reports_a_future_that_outlives_its_pool)
{
	char out[LEAK_OUT], expected[128];
	int fd;

	KP_REQUIRE_MODULE();
	fd = leak_child("1", keep_one_future_after_destroy, out);
	ASSERT_LE(0, fd) TH_LOG("the child failed; it wrote: %s", out);
	snprintf(expected, sizeof(expected),
		 "kpool leak: pool #1 fd %d (destroyed): 1 future never released\n",
		 fd);
	EXPECT_STREQ(expected, out);
}

TEST(leak_check_is_silent_without_the_variable)
{
	char out[LEAK_OUT];

	KP_REQUIRE_MODULE();
	ASSERT_LE(0, leak_child(NULL, leave_a_pool_with_tasks_and_a_future,
				out));
	EXPECT_STREQ("", out);
}

TEST(leak_check_of_0_is_off)
{
	char out[LEAK_OUT];

	KP_REQUIRE_MODULE();
	ASSERT_LE(0, leak_child("0", leave_a_pool_with_tasks_and_a_future,
				out));
	EXPECT_STREQ("", out);
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
