// SPDX-License-Identifier: GPL-2.0
/*
 * The pool ending tasks before they are done: deadlines (of waiting and
 * running tasks), cancellation (of waiting, running, unknown, finished and
 * uninterruptible tasks, and cancel-all), and close or exit with hundreds
 * of tasks waiting.  BURN gives tasks that really run.
 */
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_pool_fixture.h"

/* ---- deadlines ---- */

TEST_F(pool, deadline_expires_while_waiting)
{
	struct kpool_cqe cqes[2];

	POOL_OPEN(16, 1, 0, 0);
	q_burn(&self->ring, BURN(500), 1);
	kpool_sqe_set_deadline(q_nop(&self->ring, 2), 50 * KP_MS);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	/* At its deadline, not when the slot frees: before the BURN. */
	EXPECT_EQ(2, cqes[0].user_data);
	EXPECT_EQ(-ETIME, cqes[0].res);
	EXPECT_EQ(0, cqes[1].res);
}

TEST_F(pool, deadline_stops_a_running_burn)
{
	struct kpool_cqe cqe;
	uint64_t t0 = kp_now_ns();

	POOL_OPEN(8, 0, 0, 0);
	kpool_sqe_set_deadline(q_burn(&self->ring, BURN(5000), 1), 100 * KP_MS);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	EXPECT_EQ(-ETIME, cqe.res);
	EXPECT_GT(2000 * KP_MS, kp_now_ns() - t0);
}

TEST_F(pool, deadline_stops_a_running_timeout)
{
	struct kpool_sqe *sqe;
	struct kpool_cqe cqe;

	POOL_OPEN(8, 0, 0, 0);
	sqe = q_timeout(&self->ring, 5000 * KP_MS, 1);
	kpool_sqe_set_deadline(sqe, 50 * KP_MS);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	ASSERT_EQ(-ETIME, cqe.res);
}

TEST_F(pool, far_deadline_changes_nothing)
{
	struct kpool_cqe cqes[2];
	struct kpool_sqe *sqe;

	POOL_OPEN(8, 0, 0, 0);
	kpool_sqe_set_deadline(q_nop(&self->ring, 1), 10000 * KP_MS);
	sqe = q_timeout(&self->ring, 10 * KP_MS, 2);
	kpool_sqe_set_deadline(sqe, 10000 * KP_MS);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(0, cqes[0].res);
	EXPECT_EQ(0, cqes[1].res);
}

/* ---- cancellation ---- */

TEST_F(pool, cancel_of_a_waiting_task)
{
	struct kpool_cqe cqes[3];

	POOL_OPEN(16, 1, 0, 0);
	q_burn(&self->ring, BURN(300), 1);
	q_nop(&self->ring, 2);
	q_cancel(&self->ring, 2, 99);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 3));
	EXPECT_EQ(0, find(cqes, 3, 99)->res);
	EXPECT_EQ(-ECANCELED, find(cqes, 3, 2)->res);
	EXPECT_EQ(1, cqes[2].user_data);	/* the BURN was not disturbed */
	EXPECT_EQ(0, cqes[2].res);
}

TEST_F(pool, cancel_of_a_running_burn)
{
	struct kpool_cqe cqes[2];
	uint64_t t0 = kp_now_ns();

	POOL_OPEN(16, 0, 0, 0);
	q_burn(&self->ring, BURN(5000), 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	usleep(20000);
	q_cancel(&self->ring, 1, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(0, find(cqes, 2, 99)->res);
	EXPECT_EQ(-ECANCELED, find(cqes, 2, 1)->res);
	EXPECT_GT(2000 * KP_MS, kp_now_ns() - t0);
}

TEST_F(pool, cancel_of_a_running_timeout)
{
	struct kpool_cqe cqes[2];

	POOL_OPEN(16, 0, 0, 0);
	q_timeout(&self->ring, 5000 * KP_MS, 1);
	q_cancel(&self->ring, 1, 99);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(0, find(cqes, 2, 99)->res);
	EXPECT_EQ(-ECANCELED, find(cqes, 2, 1)->res);
}

TEST_F(pool, cancel_of_an_unknown_task)
{
	struct kpool_cqe cqe;

	POOL_OPEN(16, 0, 0, 0);
	q_cancel(&self->ring, 12345, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	ASSERT_EQ(-ENOENT, cqe.res);
}

TEST_F(pool, cancel_of_a_finished_task)
{
	struct kpool_cqe cqe;

	POOL_OPEN(16, 0, 0, 0);
	q_nop(&self->ring, 5);
	ASSERT_EQ(1, kpool_submit_and_wait(&self->ring, 1));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	q_cancel(&self->ring, 5, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	ASSERT_EQ(-ENOENT, cqe.res);
}

TEST_F(pool, cancel_of_an_uninterruptible_running_task)
{
	struct kpool_cqe cqes[2];

	POOL_OPEN(16, 0, 0, 0);
	q_burn(&self->ring, BURN(200), 1)->op_flags = KPOOL_BURN_UNINTERRUPTIBLE;
	ASSERT_EQ(1, kpool_submit(&self->ring));
	usleep(20000);
	q_cancel(&self->ring, 1, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(-EALREADY, find(cqes, 2, 99)->res);
	EXPECT_EQ(0, find(cqes, 2, 1)->res);
}

TEST_F(pool, cancel_all)
{
	struct kpool_cqe cqes[8];
	unsigned int i, bad = 0;
	struct kpool_sqe *all;

	POOL_OPEN(16, 1, 0, 0);

	q_burn(&self->ring, BURN(5000), 0);
	for (i = 1; i <= 5; i++)
		q_nop(&self->ring, i);
	q_timeout(&self->ring, 5000 * KP_MS, 6);
	all = kpool_get_sqe(&self->ring);
	kpool_prep_cancel_all(all);
	kpool_sqe_set_data(all, 99);
	ASSERT_EQ(8, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 8));
	EXPECT_EQ(7, find(cqes, 8, 99)->res);
	for (i = 0; i <= 6; i++)
		bad += find(cqes, 8, i)->res != -ECANCELED;
	EXPECT_EQ(0, bad);
}

/* ---- close and exit ---- */

static void fill_hundreds(struct kpool_ring *r)
{
	q_burn(r, BURN(5000), 0);
	for (int i = 1; i <= 400; i++)
		q_nop(r, i);
}

TEST_F(pool, close_with_hundreds_waiting_is_prompt)
{
	uint64_t t0;

	POOL_OPEN(512, 1, 0, 0);
	fill_hundreds(&self->ring);
	ASSERT_EQ(401, kpool_submit(&self->ring));
	t0 = kp_now_ns();
	kpool_ring_close(&self->ring);
	self->up = 0;
	ASSERT_GT(PROMPT, kp_now_ns() - t0);
}

TEST_F(pool, exit_with_hundreds_waiting_is_prompt)
{
	uint64_t t0 = kp_now_ns();
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_ring_params p = { .capacity = 1 };
		struct kpool_ring r;

		if (kpool_ring_open(&r, 512, &p))
			_exit(2);
		fill_hundreds(&r);
		_exit(kpool_submit(&r) == 401 ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_GT(PROMPT, kp_now_ns() - t0);
}

TEST_HARNESS_MAIN
