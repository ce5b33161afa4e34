/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the kpool selftests. */
#ifndef KPOOL_SELFTEST_UTIL_H
#define KPOOL_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "libkpool.h"

#define KPOOL_DEV "/dev/" KPOOL_DEVICE_NAME

static inline int kp_dev_present(void)
{
	return access(KPOOL_DEV, F_OK) == 0;
}

/* In a test or fixture setup: skip unless the module is loaded. */
#define KP_REQUIRE_MODULE()						\
	do {								\
		if (!kp_dev_present())					\
			SKIP(return, "kpool module not loaded");	\
	} while (0)

static inline int kp_open(void)
{
	return open(KPOOL_DEV, O_RDWR | O_CLOEXEC);
}

/* An ioctl's result as 0 or -errno. */
static inline int kp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline void kp_setup_init(struct kpool_setup *p, __u32 sq, __u32 cq)
{
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	p->sq_entries = sq;
	p->cq_entries = cq;
}

static inline void kp_enter_init(struct kpool_enter *e)
{
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
}

/* A module parameter, or 0 if it cannot be read. */
static inline unsigned long kp_param(const char *name)
{
	char path[128];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/kpool/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static inline uint64_t kp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#define KP_MS	1000000ull

/* Queue @n NOPs with user_data base, base+1, ...; returns how many fit. */
static inline unsigned int kp_queue_nops(struct kpool_ring *ring,
					 unsigned int n, __u64 base)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kpool_sqe *sqe = kpool_get_sqe(ring);

		if (!sqe)
			break;
		kpool_prep_nop(sqe);
		kpool_sqe_set_data(sqe, base + i);
	}
	return i;
}

/* Copy out and consume every ready CQE (at most @max); returns the count. */
static inline unsigned int kp_reap(struct kpool_ring *ring,
				   struct kpool_cqe *out, unsigned int max)
{
	struct kpool_cqe *cqe;
	unsigned int n = 0;

	while (n < max && !kpool_peek_cqe(ring, &cqe)) {
		out[n++] = *cqe;
		kpool_cqe_seen(ring, cqe);
	}
	return n;
}

#endif /* KPOOL_SELFTEST_UTIL_H */
