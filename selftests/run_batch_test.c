// SPDX-License-Identifier: GPL-2.0
/*
 * Run batches: the short tasks one ENTER (or one completion's kick)
 * starts for the same CPU's workqueue are handed over as one work item,
 * which runs them in order, completes them together and yields the CPU
 * after a budget (kmod/submit.c); LONG ops (BURN, CRC32C above a page)
 * go one work item each, as before, and are here beside them.  Whatever
 * the path: every task gives exactly one CQE, close and drain wait for
 * all of it, cancel reaches a task still waiting in a batch, and a long
 * flood leaves no "hogged CPU" line in the kernel log (the guest's log
 * judge).  Where the tasks went is inline_test's (work items counted by
 * trace).
 */
#include <pthread.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define PROMPT		(5000 * KP_MS)	/* generous: guests run under TCG */
#define ENTRIES		256
#define ROUND		64		/* tasks per ENTER */
#define CRC_LEN		(64 * 1024)
#define ARENA		(ROUND * CRC_LEN)

FIXTURE(batch) {
	struct kpool_ring ring;
	int up;
	unsigned char seen[16 * ROUND];
};

FIXTURE_VARIANT(batch) {
	__u8 op;		/* KPOOL_OP_NOP (with KPOOL_SQE_ASYNC), BURN, CRC32C */
	unsigned int capacity;	/* below ROUND: the rest start from kicks */
};

FIXTURE_VARIANT_ADD(batch, async_nop) { .op = KPOOL_OP_NOP, .capacity = ROUND };
FIXTURE_VARIANT_ADD(batch, async_nop_capacity_4) {
	.op = KPOOL_OP_NOP, .capacity = 4
};
FIXTURE_VARIANT_ADD(batch, burn) { .op = KPOOL_OP_BURN, .capacity = ROUND };
FIXTURE_VARIANT_ADD(batch, crc32c) { .op = KPOOL_OP_CRC32C, .capacity = ROUND };
FIXTURE_VARIANT_ADD(batch, crc32c_capacity_4) {
	.op = KPOOL_OP_CRC32C, .capacity = 4
};

FIXTURE_SETUP(batch)
{
	struct kpool_ring_params p = {
		.capacity = variant->capacity, .arena_size = ARENA,
		.cq_entries = 2 * ENTRIES,
	};

	memset(self->seen, 0, sizeof(self->seen));
	KP_RING_OPEN(ENTRIES, &p);
	memset(self->ring.arena, 0x5a, ARENA);
}

FIXTURE_TEARDOWN(batch)
{
	KP_RING_CLOSE();
}

/* Queue @n tasks of the variant's op, user_data from @base. */
static unsigned int queue_tasks(struct kpool_ring *r, __u8 op, unsigned int n,
				__u64 base, __u64 burn_ns)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kpool_sqe *sqe = kpool_get_sqe(r);

		if (!sqe)
			break;
		if (op == KPOOL_OP_NOP) {
			kpool_prep_nop(sqe);
			kpool_sqe_set_async(sqe);
		} else if (op == KPOOL_OP_BURN) {
			kpool_prep_burn(sqe, burn_ns);
		} else {
			kpool_prep_crc32c(sqe, (__u64)(i % ROUND) * CRC_LEN,
					  CRC_LEN, 0);
		}
		kpool_sqe_set_data(sqe, base + i);
	}
	return i;
}

/* Reap @n CQEs; each user_data below @limit must come once.  0 or -errno. */
static int reap_once(struct kpool_ring *r, unsigned char *seen,
		     unsigned int limit, unsigned int n, int *bad_res)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kpool_cqe *cqe;
		int ret = kpool_wait_cqe_timeout(r, &cqe, PROMPT);

		if (ret)
			return -ret;
		if (cqe->user_data >= limit || seen[cqe->user_data]++)
			return -EEXIST;
		if (cqe->res < 0 && cqe->res != -ECANCELED)
			*bad_res = cqe->res;
		kpool_cqe_seen(r, cqe);
	}
	return 0;
}

TEST_F(batch, every_task_completes_once)
{
	unsigned int round, total = 4 * ROUND;
	int bad_res = 0;

	for (round = 0; round < 4; round++) {
		ASSERT_EQ(ROUND, queue_tasks(&self->ring, variant->op, ROUND,
					     round * ROUND, KP_MS / 10));
		ASSERT_EQ(ROUND, kpool_submit(&self->ring));
	}
	ASSERT_EQ(0, reap_once(&self->ring, self->seen, total, total, &bad_res));
	ASSERT_EQ(0, bad_res);
}

TEST_F(batch, drain_waits_for_the_whole_batch)
{
	unsigned int ready;

	ASSERT_EQ(ROUND, queue_tasks(&self->ring, variant->op, ROUND, 0,
				     KP_MS));
	ASSERT_EQ(ROUND, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_drain_timeout(&self->ring, PROMPT));
	ready = *self->ring.cq.ktail - *self->ring.cq.khead;
	ASSERT_EQ(ROUND, ready);
}

TEST_F(batch, cancel_all_leaves_one_cqe_per_task)
{
	struct kpool_sqe *sqe;
	int bad_res = 0;

	/* Long BURNs: most still wait in their batch when the cancel comes. */
	ASSERT_EQ(ROUND, queue_tasks(&self->ring, variant->op, ROUND, 0,
				     20 * KP_MS));
	ASSERT_EQ(ROUND, kpool_submit(&self->ring));
	sqe = kpool_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	kpool_prep_cancel_all(sqe);
	kpool_sqe_set_data(sqe, ROUND);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_once(&self->ring, self->seen, ROUND + 1, ROUND + 1,
			       &bad_res));
	ASSERT_EQ(0, bad_res);
}

TEST_F(batch, close_with_a_batch_in_flight_is_prompt)
{
	uint64_t t0;

	ASSERT_EQ(ROUND, queue_tasks(&self->ring, variant->op, ROUND, 0,
				     5 * KP_MS));
	ASSERT_EQ(ROUND, kpool_submit(&self->ring));
	t0 = kp_now_ns();
	kpool_ring_close(&self->ring);
	self->up = 0;
	ASSERT_LT(kp_now_ns() - t0, PROMPT);
}

/*
 * A flood: 16 rounds of 64 tasks in flight at once, each ENTER one batch.
 * The budget splits long batches; the log judge fails the run on a
 * "hogged CPU" line.
 */
TEST_F_TIMEOUT(batch, a_flood_completes, 120)
{
	unsigned int round, total = 16 * ROUND;
	int bad_res = 0;

	for (round = 0; round < 16; round++) {
		ASSERT_EQ(ROUND, queue_tasks(&self->ring, variant->op, ROUND,
					     round * ROUND, KP_MS / 10));
		ASSERT_EQ(ROUND, kpool_submit(&self->ring));
		if (round % 2)
			ASSERT_EQ(0, reap_once(&self->ring, self->seen, total,
					       2 * ROUND, &bad_res));
	}
	ASSERT_EQ(0, bad_res);
}

/*
 * LONG ops are not batched: four 300 ms BURNs from one ENTER on one CPU
 * run side by side (BURN spins on the wall clock), all done in about 300
 * ms, where one after the other would take 1200.
 */
TEST(long_ops_run_side_by_side)
{
	struct kpool_ring_params p = { .capacity = 4 };
	struct kpool_ring ring;
	struct kpool_cqe out[4];
	unsigned int i;
	uint64_t t0;

	KP_REQUIRE_MODULE();
	if (kp_param("burn_max_ms") < 300 || kp_param("max_workers") < 4)
		SKIP(return, "burn_max_ms below 300 or max_workers below 4");
	ASSERT_EQ(0, kpool_ring_open(&ring, 8, &p));
	for (i = 0; i < 4; i++)
		q_burn(&ring, 300 * KP_MS, i);
	t0 = kp_now_ns();
	ASSERT_EQ(4, kpool_submit(&ring));
	ASSERT_EQ(0, kp_reap_n(&ring, out, 4, PROMPT));
	kpool_ring_close(&ring);
	ASSERT_LT(kp_now_ns() - t0, 900 * KP_MS);
}

TEST_HARNESS_MAIN
