/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the pool selftests (pool_sched_test, pool_cancel_test,
 * pool_drain_test) share: the "pool" fixture, a ring each test opens with
 * the settings it needs (POOL_OPEN), BURN and PROMPT, and helpers for CQEs
 * and the SQ.
 */
#ifndef KPOOL_SELFTEST_POOL_FIXTURE_H
#define KPOOL_SELFTEST_POOL_FIXTURE_H

#include "kselftest_harness.h"
#include "kpool_util.h"

#define BURN(ms)	((ms) * KP_MS)
#define PROMPT		(5000 * KP_MS)	/* generous: guests run under TCG */

/* A ring each test opens itself, with POOL_OPEN(). */
FIXTURE(pool) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(pool)
{
	self->up = 0;
	KP_REQUIRE_MODULE();
}

FIXTURE_TEARDOWN(pool)
{
	KP_RING_CLOSE();
}

/* Open the fixture's pool with these settings. */
#define POOL_OPEN(entries, cap, waiting, setup_flags) do {		\
	struct kpool_ring_params __p = {				\
		.capacity = (cap), .max_waiting = (waiting),		\
		.flags = (setup_flags),					\
	};								\
	ASSERT_EQ(0, kpool_ring_open(&self->ring, (entries), &__p));	\
	self->up = 1;							\
} while (0)

/* Wait for @n CQEs (each within PROMPT) and copy them out in order. */
#define reap_n(r, out, n)	kp_reap_n(r, out, n, PROMPT)

/* The CQE with @data among @n, or NULL. */
static inline const struct kpool_cqe *find(const struct kpool_cqe *c,
					   unsigned int n, __u64 data)
{
	while (n--)
		if (c[n].user_data == data)
			return &c[n];
	return NULL;
}

/* Publish queued SQEs without submitting; returns how many await. */
static inline unsigned int publish(struct kpool_ring *r)
{
	kpool_store_release(r->sq.ktail, r->sq.sqe_tail);
	return r->sq.sqe_tail - kpool_load_acquire(r->sq.khead);
}

#endif /* KPOOL_SELFTEST_POOL_FIXTURE_H */
