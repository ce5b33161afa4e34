// SPDX-License-Identifier: GPL-2.0
/*
 * libkpool's task groups (kpool_group_*) over the module: every task
 * completes with its own result, kernel ops and the program's functions
 * alike, and a wait sees them all; indexes without gaps; the first error,
 * with and without cancel-on-error (more tasks to cancel than the pool
 * takes cancels at once included); the group's deadline bounding each
 * task's; wait timeouts; eight submitting threads; a callback submitting
 * into its own group; shutdown racing a wait; destroy refused while
 * tasks are in flight; event-loop pools; and every argument refused.
 *
 * Built plain, with ASan+UBSan and with TSan (the library compiled in).
 */
#include <pthread.h>
#include "kselftest_harness.h"
#include "kpool_util.h"
#include "kpool_pool_util.h"

#define SPIN_MAX	(10000 * KP_MS)	/* a waiting function's bound */
#define THREADS		8
#define PER_THREAD	500
#define MANY		40		/* more than the pool's 16 cancels */

/* A task that fails when it runs: a CRC32C of a pool without an arena. */
static struct kpool_sqe failing_sqe(void)
{
	struct kpool_sqe sqe = { 0 };

	kpool_prep_crc32c(&sqe, 0, 1, 0);	/* -EINVAL */
	return sqe;
}

/* The number the function returns is its argument. */
static int return_arg_fn(void *arg)
{
	return (int)(intptr_t)arg;
}

/* Wait to be cancelled (or for SPIN_MAX), then return what it said, or 0. */
static int until_stopped_fn(void *arg)
{
	uint64_t end = kp_now_ns() + SPIN_MAX;
	int c;

	(void)arg;
	while (!(c = kpool_task_cancelled()) && kp_now_ns() < end)
		usleep(1000);
	return c;
}

/* Wait to be cancelled (or for SPIN_MAX), then return 0 all the same. */
static int until_cancelled_fn(void *arg)
{
	(void)until_stopped_fn(arg);
	return 0;
}

static int eio_fn(void *arg)
{
	(void)arg;
	return -EIO;
}

static void count_cb(void *arg, struct kpool_result r)
{
	(void)r;
	__atomic_add_fetch((uint32_t *)arg, 1, __ATOMIC_RELEASE);
}

/* How many of the tasks @first .. @first + @n - 1 did not end with @res. */
static int not_ending_with(struct kpool_group *g, unsigned int first,
			   unsigned int n, int res)
{
	struct kpool_result r;
	unsigned int i;
	int wrong = 0;

	for (i = first; i < first + n; i++)
		wrong += kpool_group_result(g, i, &r) || r.res != res;
	return wrong;
}

FIXTURE(group) {
	struct kpool_pool *pool;
	struct kpool_group *group;
};

FIXTURE_SETUP(group)
{
	struct kpool_pool_opts o = opts(8, 64, 0);

	self->pool = NULL;
	self->group = NULL;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&self->pool, &o));
}

/* Shutdown ends every task, so the group is idle and can go. */
FIXTURE_TEARDOWN(group)
{
	if (self->pool)
		kpool_pool_shutdown(self->pool);
	kpool_group_destroy(self->group);
	kpool_pool_destroy(self->pool);
}

static int make_group(struct kpool_group **g, struct kpool_pool *pool,
		      unsigned int flags, uint64_t deadline_ns)
{
	struct kpool_group_opts go = { .flags = flags,
				       .deadline_ns = deadline_ns };

	return kpool_group_create(g, pool, &go);
}

/* ---- everything succeeds ---- */

TEST_F(group, nops_all_succeed_and_the_wait_returns_0)
{
	struct kpool_sqe sqe = nop_sqe();
	int i, err;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	for (i = 0; i < 20; i++)
		ASSERT_EQ(i, kpool_group_submit(self->group, &sqe, NULL, NULL));
	err = kpool_group_wait(self->group, FOREVER);
	EXPECT_TRUE(err == 0 && !not_ending_with(self->group, 0, 20, 0));
}

TEST_F(group, functions_all_succeed_each_with_its_own_result)
{
	struct kpool_result r;
	int i, wrong = 0;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(i, kpool_group_submit_fn(self->group, return_arg_fn,
						   (void *)(intptr_t)(3 * i),
						   NULL));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	for (i = 0; i < 16; i++)
		wrong += kpool_group_result(self->group, i, &r) ||
			 r.res != 3 * i;
	EXPECT_EQ(0, wrong);
}

TEST_F(group, a_refused_submit_leaves_no_gap_in_the_indexes)
{
	struct kpool_sqe nop = nop_sqe(), cancel = { 0 };
	int first, refused, second;

	kpool_prep_cancel_all(&cancel);
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	first = kpool_group_submit(self->group, &nop, NULL, NULL);
	refused = kpool_group_submit(self->group, &cancel, NULL, NULL);
	second = kpool_group_submit(self->group, &nop, NULL, NULL);
	EXPECT_TRUE(first == 0 && refused == -EINVAL && second == 1);
}

TEST_F(group, batches_take_consecutive_indexes)
{
	struct kpool_sqe sqes[4] = { nop_sqe(), nop_sqe(), nop_sqe(),
				     nop_sqe() };
	unsigned int a = 99, b = 99;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(4, kpool_group_submit_batch(self->group, sqes, 4, NULL,
					      NULL, &a));
	ASSERT_EQ(4, kpool_group_submit_batch(self->group, sqes, 4, NULL,
					      NULL, &b));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	EXPECT_TRUE(a == 0 && b == 4 && !not_ending_with(self->group, 0, 8, 0));
}

TEST_F(group, a_large_batch_takes_every_task)
{
	struct kpool_sqe sqes[MANY];
	uint32_t calls[MANY] = { 0 };
	void *args[MANY];
	int i, wrong = 0;

	for (i = 0; i < MANY; i++) {
		sqes[i] = nop_sqe();
		args[i] = &calls[i];
	}
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(MANY, kpool_group_submit_batch(self->group, sqes, MANY,
						 count_cb, args, NULL));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	for (i = 0; i < MANY; i++)
		wrong += calls[i] != 1;
	EXPECT_EQ(0, wrong);
}

/* The program's callback, slow on purpose: the wait must outlast it. */
static void slow_count_cb(void *arg, struct kpool_result r)
{
	usleep(2000);
	count_cb(arg, r);
}

TEST_F(group, every_callback_has_returned_when_the_wait_returns)
{
	struct kpool_sqe sqe = timeout_sqe(KP_MS);
	uint32_t calls = 0;
	int i;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	for (i = 0; i < 10; i++)
		ASSERT_LE(0, kpool_group_submit(self->group, &sqe,
						slow_count_cb, &calls));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	EXPECT_EQ(10, __atomic_load_n(&calls, __ATOMIC_ACQUIRE));
}

TEST_F(group, a_functions_own_callback_runs_too)
{
	uint32_t calls = 0;
	struct kpool_fn_opts fo = { .done = count_cb, .done_arg = &calls };
	int i;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	for (i = 0; i < 6; i++)
		ASSERT_LE(0, kpool_group_submit_fn(self->group, return_arg_fn,
						   NULL, &fo));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	EXPECT_EQ(6, __atomic_load_n(&calls, __ATOMIC_ACQUIRE));
}

/* A task whose callback submits the next, @left more times. */
struct chain {
	struct kpool_group *group;
	uint32_t left;
	int err;
};

static void chain_cb(void *arg, struct kpool_result r)
{
	struct chain *c = arg;
	struct kpool_sqe sqe = nop_sqe();
	int ret;

	(void)r;
	if (!c->left)
		return;
	c->left--;
	ret = kpool_group_submit(c->group, &sqe, chain_cb, c);
	if (ret < 0)
		c->err = ret;
}

TEST_F(group, tasks_a_callback_submits_into_its_group_are_waited_for)
{
	struct chain c = { .left = 9 };
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_group_counts counts;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	c.group = self->group;
	ASSERT_EQ(0, kpool_group_submit(self->group, &sqe, chain_cb, &c));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	ASSERT_EQ(0, kpool_group_counts(self->group, &counts));
	EXPECT_TRUE(c.err == 0 && counts.submitted == 10 &&
		    counts.completed == 10) {
		TH_LOG("err %d, left %u, submitted %u, completed %u",
		       c.err, c.left, counts.submitted, counts.completed);
	}
}

/* ---- results ---- */

TEST_F(group, result_of_a_task_in_flight_is_einprogress)
{
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);
	struct kpool_result r;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &slow, NULL, NULL));
	EXPECT_EQ(-EINPROGRESS, kpool_group_result(self->group, 0, &r));
}

TEST_F(group, result_of_an_index_not_given_out_is_enoent)
{
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_result r;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &sqe, NULL, NULL));
	EXPECT_EQ(-ENOENT, kpool_group_result(self->group, 1, &r));
}

/* ---- errors ---- */

TEST_F(group, first_error_cancels_the_other_functions)
{
	int i, err;

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, make_group(&self->group, self->pool,
				KPOOL_GROUP_CANCEL_ON_ERROR, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(i, kpool_group_submit_fn(self->group,
						   until_cancelled_fn, NULL,
						   NULL));
	ASSERT_EQ(3, kpool_group_submit_fn(self->group, eio_fn, NULL, NULL));
	err = kpool_group_wait(self->group, 20000 * KP_MS);
	EXPECT_TRUE(err == -EIO &&
		    !not_ending_with(self->group, 0, 3, -ECANCELED));
}

TEST_F(group, first_error_cancels_the_running_timeouts)
{
	struct kpool_sqe slow = timeout_sqe(10000 * KP_MS), bad = failing_sqe();
	int i, err;

	ASSERT_EQ(0, make_group(&self->group, self->pool,
				KPOOL_GROUP_CANCEL_ON_ERROR, 0));
	for (i = 0; i < 4; i++)	/* capacity 8: they run */
		ASSERT_EQ(i, kpool_group_submit(self->group, &slow, NULL,
						NULL));
	ASSERT_EQ(4, kpool_group_submit(self->group, &bad, NULL, NULL));
	err = kpool_group_wait(self->group, 5000 * KP_MS);
	EXPECT_TRUE(err == -EINVAL &&
		    !not_ending_with(self->group, 0, 4, -ECANCELED));
}

/*
 * A TIMEOUT whose deadline ends it with -ETIME once the rest are in, then
 * MANY ten-second TIMEOUTs, 8 running and the rest waiting: its callback
 * cancels them on the one completion thread, which also reaps the cancels.
 */
static int submit_failing_later_and_many(struct kpool_group *g)
{
	struct kpool_sqe first = timeout_sqe(10000 * KP_MS), many[MANY];
	int i;

	kpool_sqe_set_deadline(&first, 1000 * KP_MS);
	if (kpool_group_submit(g, &first, NULL, NULL) != 0)
		return -1;
	for (i = 0; i < MANY; i++)
		many[i] = timeout_sqe(10000 * KP_MS);
	return kpool_group_submit_batch(g, many, MANY, NULL, NULL, NULL);
}

TEST_F(group, first_error_cancels_more_tasks_than_the_pool_cancels_at_once)
{
	int err;

	ASSERT_EQ(0, make_group(&self->group, self->pool,
				KPOOL_GROUP_CANCEL_ON_ERROR, 0));
	ASSERT_EQ(MANY, submit_failing_later_and_many(self->group));
	err = kpool_group_wait(self->group, 8000 * KP_MS);
	EXPECT_TRUE(err == -ETIME &&
		    !not_ending_with(self->group, 1, MANY, -ECANCELED));
}

TEST_F(group, cancels_beyond_the_pools_go_on_without_a_waiter)
{
	struct kpool_group_counts c = { 0 };
	uint64_t end;

	ASSERT_EQ(0, make_group(&self->group, self->pool,
				KPOOL_GROUP_CANCEL_ON_ERROR, 0));
	ASSERT_EQ(MANY, submit_failing_later_and_many(self->group));
	end = kp_now_ns() + 8000 * KP_MS;
	do {
		usleep(10 * 1000);
		ASSERT_EQ(0, kpool_group_counts(self->group, &c));
	} while (c.completed < MANY + 1 && kp_now_ns() < end);
	EXPECT_EQ(MANY + 1, c.completed);
}

TEST_F(group, without_cancel_on_error_the_rest_finish)
{
	struct kpool_sqe quick = timeout_sqe(50 * KP_MS), bad = failing_sqe();
	int i, err;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &bad, NULL, NULL));
	for (i = 1; i <= 3; i++)
		ASSERT_EQ(i, kpool_group_submit(self->group, &quick, NULL,
						NULL));
	err = kpool_group_wait(self->group, FOREVER);
	EXPECT_TRUE(err == -EINVAL && !not_ending_with(self->group, 1, 3, 0));
}

TEST_F(group, counts_name_the_first_failed_task)
{
	struct kpool_sqe nop = nop_sqe(), bad = failing_sqe();
	struct kpool_group_counts c;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &nop, NULL, NULL));
	ASSERT_EQ(1, kpool_group_submit(self->group, &bad, NULL, NULL));
	ASSERT_EQ(-EINVAL, kpool_group_wait(self->group, FOREVER));
	ASSERT_EQ(0, kpool_group_counts(self->group, &c));
	EXPECT_TRUE(c.submitted == 2 && c.completed == 2 && c.failed == 1 &&
		    c.first_error == -EINVAL && c.first_failed == 1 &&
		    !c.cancelled);
}

TEST_F(group, submit_after_the_first_error_is_ecanceled)
{
	struct kpool_sqe nop = nop_sqe(), bad = failing_sqe();

	ASSERT_EQ(0, make_group(&self->group, self->pool,
				KPOOL_GROUP_CANCEL_ON_ERROR, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &bad, NULL, NULL));
	ASSERT_EQ(-EINVAL, kpool_group_wait(self->group, FOREVER));
	EXPECT_EQ(-ECANCELED, kpool_group_submit(self->group, &nop, NULL,
						 NULL));
}

TEST_F(group, the_first_error_stays_for_every_later_wait)
{
	struct kpool_sqe nop = nop_sqe(), bad = failing_sqe();
	int again;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &bad, NULL, NULL));
	ASSERT_EQ(-EINVAL, kpool_group_wait(self->group, FOREVER));
	ASSERT_EQ(1, kpool_group_submit(self->group, &nop, NULL, NULL));
	again = kpool_group_wait(self->group, FOREVER);
	EXPECT_EQ(-EINVAL, again);
}

/* ---- cancel ---- */

TEST_F(group, cancel_ends_every_task_in_flight)
{
	struct kpool_sqe slow = timeout_sqe(10000 * KP_MS);
	int i, err;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	for (i = 0; i < 12; i++)	/* 8 run, 4 wait */
		ASSERT_EQ(i, kpool_group_submit(self->group, &slow, NULL,
						NULL));
	ASSERT_EQ(0, kpool_group_cancel(self->group));
	err = kpool_group_wait(self->group, 5000 * KP_MS);
	EXPECT_TRUE(err == -ECANCELED &&
		    !not_ending_with(self->group, 0, 12, -ECANCELED));
}

TEST_F(group, submit_after_cancel_is_ecanceled)
{
	struct kpool_sqe nop = nop_sqe();

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_cancel(self->group));
	EXPECT_EQ(-ECANCELED, kpool_group_submit(self->group, &nop, NULL,
						 NULL));
}

/* ---- deadlines ---- */

/* Capacity 1, held for five seconds by a task outside the group. */
static void block_the_pool(struct __test_metadata *_metadata,
			   struct kpool_pool *pool)
{
	struct kpool_sqe blocker = timeout_sqe(5000 * KP_MS);

	ASSERT_EQ(0, kpool_pool_tune(pool, 1, NULL));
	ASSERT_EQ(0, kpool_pool_submit(pool, &blocker, NULL, NULL, NULL));
}

TEST_F(group, group_deadline_expires_waiting_tasks)
{
	struct kpool_sqe nop = nop_sqe();
	int i, err;

	block_the_pool(_metadata, self->pool);
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 100 * KP_MS));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(i, kpool_group_submit(self->group, &nop, NULL, NULL));
	err = kpool_group_wait(self->group, 3000 * KP_MS);
	EXPECT_TRUE(err == -ETIME &&
		    !not_ending_with(self->group, 0, 3, -ETIME));
}

TEST_F(group, a_tasks_own_sooner_deadline_is_kept)
{
	struct kpool_sqe nop = nop_sqe();
	int err;

	block_the_pool(_metadata, self->pool);
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0,
				10000 * KP_MS));
	kpool_sqe_set_deadline(&nop, 50 * KP_MS);
	ASSERT_EQ(0, kpool_group_submit(self->group, &nop, NULL, NULL));
	err = kpool_group_wait(self->group, 3000 * KP_MS);
	EXPECT_EQ(-ETIME, err);
}

TEST_F(group, a_running_function_sees_the_group_deadline)
{
	struct kpool_result r = { .res = 1 };

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 100 * KP_MS));
	ASSERT_EQ(0, kpool_group_submit_fn(self->group, until_stopped_fn,
					   NULL, NULL));
	ASSERT_EQ(-ETIME, kpool_group_wait(self->group, 20000 * KP_MS));
	ASSERT_EQ(0, kpool_group_result(self->group, 0, &r));
	EXPECT_EQ(-ETIME, r.res);
}

TEST_F(group, submit_after_the_group_deadline_is_etime)
{
	struct kpool_sqe nop = nop_sqe();
	int sqe_err, fn_err;

	ASSERT_EQ(0, make_group(&self->group, self->pool,
				KPOOL_GROUP_DEADLINE_ABS, kp_now_ns()));
	sqe_err = kpool_group_submit(self->group, &nop, NULL, NULL);
	fn_err = kpool_group_submit_fn(self->group, return_arg_fn, NULL,
				       NULL);
	EXPECT_TRUE(sqe_err == -ETIME && fn_err == -ETIME);
}

/* ---- waiting ---- */

TEST_F(group, wait_times_out_then_a_later_wait_succeeds)
{
	struct kpool_sqe sqe = timeout_sqe(300 * KP_MS);

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &sqe, NULL, NULL));
	ASSERT_EQ(-ETIMEDOUT, kpool_group_wait(self->group, 10 * KP_MS));
	EXPECT_EQ(0, kpool_group_wait(self->group, FOREVER));
}

TEST_F(group, wait_of_an_empty_group_returns_0_at_once)
{
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	EXPECT_EQ(0, kpool_group_wait(self->group, 0));
}

struct submitter {
	struct kpool_group *group;
	int indexes[PER_THREAD];
	int refused;
};

static void *submitter_main(void *arg)
{
	struct submitter *s = arg;
	struct kpool_sqe sqe = nop_sqe();
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		s->indexes[i] = kpool_group_submit(s->group, &sqe, NULL, NULL);
		s->refused += s->indexes[i] < 0;
	}
	return NULL;
}

TEST_F(group, eight_threads_submit_into_one_group)
{
	static struct submitter subs[THREADS];
	unsigned char seen[THREADS * PER_THREAD] = { 0 };
	pthread_t th[THREADS];
	int i, j, bad = 0, err;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	for (i = 0; i < THREADS; i++) {
		memset(&subs[i], 0, sizeof(subs[i]));
		subs[i].group = self->group;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, submitter_main,
					    &subs[i]));
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	err = kpool_group_wait(self->group, FOREVER);
	/* Every index once, every result 0, nothing more. */
	for (i = 0; i < THREADS; i++)
		for (j = 0; j < PER_THREAD; j++) {
			int idx = subs[i].indexes[j];

			bad += idx < 0 || idx >= THREADS * PER_THREAD ||
			       seen[idx]++;
		}
	bad += not_ending_with(self->group, 0, THREADS * PER_THREAD, 0);
	EXPECT_TRUE(err == 0 && bad == 0);
}

/* ---- closing ---- */

struct waiter {
	struct kpool_group *group;
	int err;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->err = kpool_group_wait(w->group, FOREVER);
	return NULL;
}

/* A pool shut down after @delay_us while another thread waits: its result. */
static int shutdown_during_a_wait(unsigned int delay_us)
{
	struct kpool_pool_opts o = opts(2, 8, 0);
	struct kpool_sqe slow = timeout_sqe(10000 * KP_MS);
	struct waiter w = { .err = 1 };
	struct kpool_pool *pool;
	pthread_t th;
	int i;

	if (kpool_pool_create(&pool, &o))
		return 2;
	if (kpool_group_create(&w.group, pool, NULL))
		return 3;
	for (i = 0; i < 4; i++)		/* 2 run, 2 wait */
		if (kpool_group_submit(w.group, &slow, NULL, NULL) != i)
			return 4;
	if (pthread_create(&th, NULL, waiter_main, &w))
		return 5;
	usleep(delay_us);
	kpool_pool_shutdown(pool);
	pthread_join(th, NULL);
	kpool_group_destroy(w.group);
	kpool_pool_destroy(pool);
	return w.err;
}

TEST(shutdown_racing_a_wait_ends_it_with_ecanceled)
{
	int round, wrong = 0;

	KP_REQUIRE_MODULE();
	for (round = 0; round < 8; round++) {
		int err = shutdown_during_a_wait(round * 3000);

		if (err != -ECANCELED) {
			TH_LOG("round %d: the wait returned %d", round, err);
			wrong++;
		}
	}
	EXPECT_EQ(0, wrong);
}

TEST_F(group, submit_after_shutdown_is_eshutdown)
{
	struct kpool_sqe nop = nop_sqe();

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_pool_shutdown(self->pool));
	EXPECT_EQ(-ESHUTDOWN, kpool_group_submit(self->group, &nop, NULL,
						 NULL));
}

TEST_F(group, destroy_with_tasks_in_flight_is_ebusy)
{
	struct kpool_sqe slow = timeout_sqe(5000 * KP_MS);

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &slow, NULL, NULL));
	EXPECT_EQ(-EBUSY, kpool_group_destroy(self->group));
}

struct self_destroy {
	struct kpool_group *group;
	int err;
};

static void self_destroy_cb(void *arg, struct kpool_result r)
{
	struct self_destroy *d = arg;

	(void)r;
	d->err = kpool_group_destroy(d->group);
}

TEST_F(group, a_callback_of_the_group_cannot_destroy_it)
{
	struct self_destroy d = { .err = 1 };
	struct kpool_sqe nop = nop_sqe();

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	d.group = self->group;
	ASSERT_EQ(0, kpool_group_submit(self->group, &nop, self_destroy_cb,
					&d));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	EXPECT_EQ(-EBUSY, d.err);
}

TEST_F(group, destroy_after_the_wait_frees_the_group)
{
	struct kpool_sqe nop = nop_sqe();

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit(self->group, &nop, NULL, NULL));
	ASSERT_EQ(0, kpool_group_wait(self->group, FOREVER));
	ASSERT_EQ(0, kpool_group_destroy(self->group));
	self->group = NULL;	/* ASan reports a leak if it was not freed */
}

/* ---- event-loop pools ---- */

TEST(event_loop_wait_runs_the_completions_itself)
{
	struct kpool_pool_opts o = opts(4, 16, KPOOL_POOL_EVENT_LOOP);
	struct kpool_sqe sqe = timeout_sqe(KP_MS);
	struct kpool_group *g;
	struct kpool_pool *pool;
	uint32_t calls = 0;
	int i, err;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_pool_create(&pool, &o));
	ASSERT_EQ(0, kpool_group_create(&g, pool, NULL));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(i, kpool_group_submit(g, &sqe, count_cb, &calls));
	err = kpool_group_wait(g, 10000 * KP_MS);
	kpool_pool_destroy(pool);
	kpool_group_destroy(g);
	EXPECT_TRUE(err == 0 && calls == 10);
}

/* ---- what is refused ---- */

TEST_F(group, create_refuses_unknown_flags)
{
	struct kpool_group *g = NULL;

	EXPECT_EQ(-EINVAL, make_group(&g, self->pool, 0x80000000U, 0));
}

TEST_F(group, create_refuses_an_absolute_deadline_of_0)
{
	struct kpool_group *g = NULL;

	EXPECT_EQ(-EINVAL, make_group(&g, self->pool,
				      KPOOL_GROUP_DEADLINE_ABS, 0));
}

TEST_F(group, create_refuses_a_null_pool_or_handle)
{
	struct kpool_group *g = NULL;

	EXPECT_TRUE(kpool_group_create(&g, NULL, NULL) == -EINVAL &&
		    kpool_group_create(NULL, self->pool, NULL) == -EINVAL);
}

TEST(every_call_refuses_a_null_group)
{
	struct kpool_sqe sqe = nop_sqe();
	struct kpool_group_counts c;
	struct kpool_result r;

	EXPECT_TRUE(kpool_group_submit(NULL, &sqe, NULL, NULL) == -EINVAL &&
		    kpool_group_submit_batch(NULL, &sqe, 1, NULL, NULL,
					     NULL) == -EINVAL &&
		    kpool_group_submit_fn(NULL, return_arg_fn, NULL,
					  NULL) == -EINVAL &&
		    kpool_group_wait(NULL, 0) == -EINVAL &&
		    kpool_group_result(NULL, 0, &r) == -EINVAL &&
		    kpool_group_cancel(NULL) == -EINVAL &&
		    kpool_group_counts(NULL, &c) == -EINVAL &&
		    kpool_group_destroy(NULL) == 0);
}

TEST_F(group, submit_refuses_a_null_sqe)
{
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	EXPECT_EQ(-EINVAL, kpool_group_submit(self->group, NULL, NULL, NULL));
}

TEST_F(group, batch_refuses_null_sqes)
{
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	EXPECT_EQ(-EINVAL, kpool_group_submit_batch(self->group, NULL, 1,
						    NULL, NULL, NULL));
}

TEST_F(group, batch_of_nothing_submits_nothing)
{
	struct kpool_group_counts c;

	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	ASSERT_EQ(0, kpool_group_submit_batch(self->group, NULL, 0, NULL,
					      NULL, NULL));
	ASSERT_EQ(0, kpool_group_counts(self->group, &c));
	EXPECT_EQ(0, c.submitted);
}

TEST_F(group, submit_fn_refuses_a_null_function)
{
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	EXPECT_EQ(-EINVAL, kpool_group_submit_fn(self->group, NULL, NULL,
						 NULL));
}

TEST_F(group, submit_fn_refuses_a_priority_above_high)
{
	struct kpool_fn_opts fo = { .prio = KPOOL_PRIO_HIGH + 1 };

	KP_REQUIRE_CALL();
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	EXPECT_EQ(-EINVAL, kpool_group_submit_fn(self->group, return_arg_fn,
						 NULL, &fo));
}

TEST_F(group, result_and_counts_refuse_nowhere_to_write)
{
	ASSERT_EQ(0, make_group(&self->group, self->pool, 0, 0));
	EXPECT_TRUE(kpool_group_result(self->group, 0, NULL) == -EINVAL &&
		    kpool_group_counts(self->group, NULL) == -EINVAL);
}

TEST_HARNESS_MAIN
