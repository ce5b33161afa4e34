// SPDX-License-Identifier: GPL-2.0
/*
 * NOP round trips at batch 1, 32 and a whole ring, and the CQ-full rule:
 * when the CQ has no room the pool stops taking work, and every SQE that
 * was published still yields exactly one CQE once the program reaps.
 */
#include "kselftest_harness.h"
#include "kpool_util.h"

#define TOTAL_TASKS	2048

FIXTURE(nop) {
	struct kpool_ring ring;
	int up;
	unsigned char seen[TOTAL_TASKS];
};

FIXTURE_VARIANT(nop) {
	unsigned int entries;
	unsigned int batch;
};

FIXTURE_VARIANT_ADD(nop, batch_1) { .entries = 8, .batch = 1 };
FIXTURE_VARIANT_ADD(nop, batch_32) { .entries = 32, .batch = 32 };
FIXTURE_VARIANT_ADD(nop, whole_ring) { .entries = 256, .batch = 256 };

FIXTURE_SETUP(nop)
{
	KP_RING_OPEN(variant->entries, NULL);
	memset(self->seen, 0, sizeof(self->seen));
}

FIXTURE_TEARDOWN(nop)
{
	KP_RING_CLOSE();
}

TEST_F(nop, every_task_completes_once_with_zero)
{
	static struct kpool_cqe cqes[256];
	unsigned int done = 0, bad = 0, i, n;

	while (done < TOTAL_TASKS) {
		ASSERT_EQ(variant->batch,
			  kp_queue_nops(&self->ring, variant->batch, done));
		ASSERT_EQ((int)variant->batch,
			  kpool_submit_and_wait(&self->ring, variant->batch));
		n = kp_reap(&self->ring, cqes, variant->batch);
		ASSERT_EQ(variant->batch, n);
		for (i = 0; i < n; i++) {
			__u64 id = cqes[i].user_data;

			if (cqes[i].res || id < done || id >= done + n ||
			    self->seen[id]++)
				bad++;
		}
		done += n;
	}
	ASSERT_EQ(0, bad);
}

FIXTURE(cq_full) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(cq_full)
{
	struct kpool_ring_params params = { .cq_entries = 8 };

	KP_RING_OPEN(8, &params);
}

FIXTURE_TEARDOWN(cq_full)
{
	KP_RING_CLOSE();
}

TEST_F(cq_full, full_cq_takes_no_more_work)
{
	ASSERT_EQ(8, kp_queue_nops(&self->ring, 8, 0));
	ASSERT_EQ(8, kpool_submit_and_wait(&self->ring, 8));
	ASSERT_EQ(1, kp_queue_nops(&self->ring, 1, 8));
	ASSERT_EQ(-EBUSY, kpool_submit(&self->ring));
}

TEST_F(cq_full, waiting_caller_reaps_a_full_cq)
{
	/* With GETEVENTS, a full CQ is not an error: the caller will reap. */
	ASSERT_EQ(8, kp_queue_nops(&self->ring, 8, 0));
	ASSERT_EQ(8, kpool_submit_and_wait(&self->ring, 8));
	ASSERT_EQ(1, kp_queue_nops(&self->ring, 1, 8));
	ASSERT_EQ(0, kpool_submit_and_wait(&self->ring, 1));
}

TEST_F(cq_full, refused_sqes_run_after_reaping)
{
	struct kpool_cqe cqes[8];

	kp_queue_nops(&self->ring, 8, 0);
	kpool_submit_and_wait(&self->ring, 8);
	kp_queue_nops(&self->ring, 3, 8);
	ASSERT_EQ(-EBUSY, kpool_submit(&self->ring));
	ASSERT_EQ(8, kp_reap(&self->ring, cqes, 8));
	ASSERT_EQ(3, kpool_submit_and_wait(&self->ring, 3));
}

TEST_F(cq_full, nothing_lost_while_the_cq_keeps_filling)
{
	enum { TASKS = 4000 };
	static unsigned char seen[TASKS];
	struct kpool_cqe cqes[3], *cqe;
	unsigned int queued = 0, reaped = 0, bad = 0, i, n;
	int ret;

	memset(seen, 0, sizeof(seen));
	while (reaped < TASKS) {
		/* Offer up to 8 but reap at most 3 a round: the CQ fills. */
		n = TASKS - queued;
		queued += kp_queue_nops(&self->ring, n < 8 ? n : 8, queued);
		ret = kpool_submit(&self->ring);
		ASSERT_TRUE(ret >= 0 || ret == -EBUSY);
		if (kpool_load_acquire(self->ring.sq.khead) > reaped)
			ASSERT_EQ(0, kpool_wait_cqe_timeout(&self->ring, &cqe,
							    5000 * KP_MS));
		n = kp_reap(&self->ring, cqes, 3);
		for (i = 0; i < n; i++)
			bad += cqes[i].res != 0 || seen[cqes[i].user_data]++;
		reaped += n;
	}
	ASSERT_EQ(0, bad);
}

TEST_HARNESS_MAIN
