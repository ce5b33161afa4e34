// SPDX-License-Identifier: GPL-2.0
/*
 * TIMEOUT: completes after its delay and never before, shorter delays
 * first, with res 0.
 */
#include "kselftest_harness.h"
#include "kpool_util.h"

FIXTURE(timeout) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(timeout)
{
	KP_RING_OPEN(64, NULL);
}

FIXTURE_TEARDOWN(timeout)
{
	KP_RING_CLOSE();
}

static void queue_timeout(struct kpool_ring *ring, __u64 ns, __u64 data)
{
	struct kpool_sqe *sqe = kpool_get_sqe(ring);

	kpool_prep_timeout(sqe, ns);
	kpool_sqe_set_data(sqe, data);
}

TEST_F(timeout, does_not_complete_early)
{
	struct kpool_cqe *cqe;
	uint64_t t0 = kp_now_ns();

	queue_timeout(&self->ring, 200 * KP_MS, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* Half way through, there must be nothing to reap. */
	ASSERT_EQ(-ETIME, kpool_wait_cqe_timeout(&self->ring, &cqe,
						 100 * KP_MS));
	ASSERT_EQ(0, kpool_wait_cqe(&self->ring, &cqe));
	ASSERT_LE(200 * KP_MS, kp_now_ns() - t0);
}

TEST_F(timeout, completes_with_zero)
{
	struct kpool_cqe *cqe;

	queue_timeout(&self->ring, 1 * KP_MS, 5);
	ASSERT_EQ(1, kpool_submit_and_wait(&self->ring, 1));
	ASSERT_EQ(0, kpool_peek_cqe(&self->ring, &cqe));
	EXPECT_EQ(5, cqe->user_data);
	EXPECT_EQ(0, cqe->res);
}

TEST_F(timeout, zero_delay_completes)
{
	struct kpool_cqe *cqe;

	queue_timeout(&self->ring, 0, 9);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_wait_cqe_timeout(&self->ring, &cqe, 5000 * KP_MS));
	ASSERT_EQ(0, cqe->res);
}

TEST_F(timeout, shorter_delays_complete_first)
{
	static const __u64 delays_ms[] = { 160, 40, 120, 80, 200 };
	const unsigned int n = sizeof(delays_ms) / sizeof(delays_ms[0]);
	struct kpool_cqe cqes[8];
	uint64_t t0 = kp_now_ns(), late = 0;
	unsigned int i, got = 0;

	for (i = 0; i < n; i++)
		queue_timeout(&self->ring, delays_ms[i] * KP_MS, delays_ms[i]);
	ASSERT_EQ((int)n, kpool_submit(&self->ring));
	while (got < n) {
		struct kpool_cqe *cqe;

		ASSERT_EQ(0, kpool_wait_cqe(&self->ring, &cqe));
		/* Reaped after its delay, counted from before the submit. */
		if (kp_now_ns() - t0 < cqe->user_data * KP_MS)
			late++;
		cqes[got++] = *cqe;
		kpool_cqe_seen(&self->ring, cqe);
	}
	EXPECT_EQ(0, late);
	for (i = 1; i < n; i++)
		EXPECT_LT(cqes[i - 1].user_data, cqes[i].user_data);
}

TEST_F(timeout, many_equal_delays_all_complete)
{
	struct kpool_cqe cqes[64];
	unsigned int i, bad = 0;

	for (i = 0; i < 64; i++)
		queue_timeout(&self->ring, 10 * KP_MS, i);
	ASSERT_EQ(64, kpool_submit_and_wait(&self->ring, 64));
	ASSERT_EQ(64, kp_reap(&self->ring, cqes, 64));
	for (i = 0; i < 64; i++)
		bad += cqes[i].res != 0;
	ASSERT_EQ(0, bad);
}

TEST_HARNESS_MAIN
