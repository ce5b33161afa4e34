/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the pool API's selftests (libpool_test, libgroup_test,
 * libdestroy_test): SQEs by value, options, and the CALL feature check.
 * After kselftest_harness.h and kpool_util.h.
 */
#ifndef KPOOL_SELFTEST_POOL_UTIL_H
#define KPOOL_SELFTEST_POOL_UTIL_H

#include "kpool_pool.h"

#define FOREVER		KPOOL_WAIT_FOREVER

static inline struct kpool_sqe nop_sqe(void)
{
	struct kpool_sqe sqe = { 0 };

	kpool_prep_nop(&sqe);
	return sqe;
}

static inline struct kpool_sqe timeout_sqe(uint64_t ns)
{
	struct kpool_sqe sqe = { 0 };

	kpool_prep_timeout(&sqe, ns);
	return sqe;
}

/* A pool of @capacity (also its max_capacity) and @queue_size. */
static inline struct kpool_pool_opts opts(unsigned int capacity,
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

/* Does the module run the program's functions (KPOOL_FEAT_CALL)? */
static inline int kp_has_call(void)
{
	struct kpool_ring ring;
	int has;

	if (kpool_ring_open(&ring, 1, NULL))
		return 0;
	has = !!(ring.features & KPOOL_FEAT_CALL);
	kpool_ring_exit(&ring);
	return has;
}

/* In a test or fixture setup: skip unless the module runs functions. */
#define KP_REQUIRE_CALL()						\
	do {								\
		KP_REQUIRE_MODULE();					\
		if (!kp_has_call())					\
			SKIP(return, "the module has no KPOOL_FEAT_CALL"); \
	} while (0)

#endif /* KPOOL_SELFTEST_POOL_UTIL_H */
