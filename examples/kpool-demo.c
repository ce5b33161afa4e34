// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kpool-demo: a tour of the ring API.
 *
 *   1. ask the module which ops it has;
 *   2. submit five timeouts in one call and watch them complete in order
 *      of their delays, not of submission;
 *   3. run 100000 empty tasks in batches of 32 and count the syscalls.
 *
 * Build: make examples; run with the module loaded: build/examples/kpool-demo
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "libkpool.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int list_ops(struct kpool_ring *ring)
{
	struct kpool_probe_op ops[KPOOL_OP_LAST];
	unsigned int last, i;
	int ret = kpool_probe_ops(ring->fd, ops, KPOOL_OP_LAST, &last);

	if (ret)
		return ret;
	printf("ops the module runs:");
	for (i = 0; i < last && i < KPOOL_OP_LAST; i++)
		if (ops[i].flags & KPOOL_PROBE_OP_SUPPORTED)
			printf(" %s", ops[i].name);
	printf("\n\n");
	return 0;
}

static int timeouts_in_order(struct kpool_ring *ring)
{
	static const unsigned int delays_ms[] = { 50, 10, 40, 20, 30 };
	const unsigned int n = sizeof(delays_ms) / sizeof(delays_ms[0]);
	uint64_t t0 = now_ns();
	unsigned int i;
	int ret;

	printf("submitting %u timeouts in one call, delays (ms):", n);
	for (i = 0; i < n; i++) {
		struct kpool_sqe *sqe = kpool_get_sqe(ring);

		kpool_prep_timeout(sqe, delays_ms[i] * 1000000ull);
		kpool_sqe_set_data(sqe, delays_ms[i]);
		printf(" %u", delays_ms[i]);
	}
	printf("\n");
	ret = kpool_submit(ring);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		struct kpool_cqe *cqe;

		ret = kpool_wait_cqe(ring, &cqe);
		if (ret)
			return ret;
		printf("  completed: timeout of %2llu ms, res %d, after %6.2f ms\n",
		       (unsigned long long)cqe->user_data, cqe->res,
		       (now_ns() - t0) / 1e6);
		kpool_cqe_seen(ring, cqe);
	}
	printf("\n");
	return 0;
}

static int nop_throughput(struct kpool_ring *ring)
{
	const unsigned int total = 100000, batch = 32;
	unsigned int done = 0, calls = 0, errors = 0;
	uint64_t t0 = now_ns(), dt;

	while (done < total) {
		unsigned int i, n = total - done < batch ? total - done : batch;
		struct kpool_cqe *cqe;
		int ret;

		for (i = 0; i < n; i++)
			kpool_prep_nop(kpool_get_sqe(ring));
		ret = kpool_submit_and_wait(ring, n);	/* one ioctl */
		calls++;
		if (ret < 0)
			return ret;
		for (i = 0; i < n && !kpool_peek_cqe(ring, &cqe); i++) {
			errors += cqe->res != 0;
			kpool_cqe_seen(ring, cqe);
		}
		done += n;
	}
	dt = now_ns() - t0;
	printf("%u empty tasks in batches of %u: %.1f ms, %.0f ns per task,\n"
	       "  %u ioctls (%.3f per task), %u errors\n",
	       total, batch, dt / 1e6, (double)dt / total, calls,
	       (double)calls / total, errors);
	return errors ? -1 : 0;
}

int main(void)
{
	struct kpool_ring ring;
	int ret = kpool_ring_open(&ring, 64, NULL);

	if (ret) {
		fprintf(stderr, "kpool-demo: cannot set up a pool: %s (is kpool.ko loaded?)\n",
			strerror(-ret));
		return 1;
	}
	ret = list_ops(&ring);
	if (!ret)
		ret = timeouts_in_order(&ring);
	if (!ret)
		ret = nop_throughput(&ring);
	kpool_ring_close(&ring);
	if (ret) {
		fprintf(stderr, "kpool-demo: failed: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
