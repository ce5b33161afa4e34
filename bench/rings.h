/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The ring contenders' one loop, for kpool and for io_uring: n tasks in
 * batches of t->depth, each batch submitted and waited for with one
 * syscall, each CQE timed from its batch's submission.  A workload gives
 * prep (fill task i, the batch's slot-th) and check (judge task i's CQE,
 * 0 if right), and may keep per-thread data in the instance's `data`.
 */
#ifndef KPOOL_BENCH_RINGS_H
#define KPOOL_BENCH_RINGS_H

#include <liburing.h>
#include "libkpool.h"
#include "bench.h"

struct bench_kpool {
	struct kpool_ring ring;
	void *data;
};

struct bench_uring {
	struct io_uring ring;
	void *data;
};

static inline int bench_kpool_open(struct bench_thread *t, unsigned int entries,
				   uint64_t arena_size)
{
	struct kpool_ring_params p = { .arena_size = arena_size };
	struct bench_kpool *k = calloc(1, sizeof(*k));

	t->priv = k;
	return !k || kpool_ring_open(&k->ring, entries, &p);
}

static inline void bench_kpool_close(struct bench_thread *t)
{
	struct bench_kpool *k = t->priv;

	kpool_ring_close(&k->ring);
	free(k->data);
	free(k);
}

static inline int bench_kpool_batches(struct bench_thread *t, unsigned int n,
	void (*prep)(struct bench_thread *, struct kpool_sqe *, unsigned int, unsigned int),
	int (*check)(struct bench_thread *, const struct kpool_cqe *, unsigned int, unsigned int))
{
	struct kpool_ring *ring = &((struct bench_kpool *)t->priv)->ring;
	unsigned int done = 0, i;

	while (done < n) {
		unsigned int batch = n - done < t->depth ? n - done : t->depth;
		struct kpool_cqe *cqe;
		uint64_t t0 = bench_now();

		for (i = 0; i < batch; i++) {
			struct kpool_sqe *sqe = kpool_get_sqe(ring);

			prep(t, sqe, done + i, i);
			kpool_sqe_set_data(sqe, done + i);
		}
		if (kpool_submit_and_wait(ring, batch) != (int)batch)
			return -1;
		for (i = 0; i < batch; i++) {
			unsigned int task;

			if (kpool_peek_cqe(ring, &cqe))
				return -1;
			task = (unsigned int)cqe->user_data;
			if (task - done >= batch || check(t, cqe, task, task - done))
				return -1;
			t->lat[task] = bench_now() - t0;
			kpool_cqe_seen(ring, cqe);
		}
		done += batch;
	}
	return 0;
}

static inline int bench_uring_open(struct bench_thread *t, unsigned int entries)
{
	struct bench_uring *u = calloc(1, sizeof(*u));

	t->priv = u;
	return !u || io_uring_queue_init(entries, &u->ring, 0);
}

static inline void bench_uring_close(struct bench_thread *t)
{
	struct bench_uring *u = t->priv;

	io_uring_queue_exit(&u->ring);
	free(u->data);
	free(u);
}

static inline int bench_uring_batches(struct bench_thread *t, unsigned int n,
	void (*prep)(struct bench_thread *, struct io_uring_sqe *, unsigned int, unsigned int),
	int (*check)(struct bench_thread *, const struct io_uring_cqe *, unsigned int, unsigned int))
{
	struct io_uring *ring = &((struct bench_uring *)t->priv)->ring;
	unsigned int done = 0, i;

	while (done < n) {
		unsigned int batch = n - done < t->depth ? n - done : t->depth;
		struct io_uring_cqe *cqe;
		uint64_t t0 = bench_now();

		for (i = 0; i < batch; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

			prep(t, sqe, done + i, i);
			io_uring_sqe_set_data64(sqe, done + i);
		}
		if (io_uring_submit_and_wait(ring, batch) != (int)batch)
			return -1;
		for (i = 0; i < batch; i++) {
			unsigned int task;

			if (io_uring_peek_cqe(ring, &cqe))
				return -1;
			task = (unsigned int)cqe->user_data;
			if (task - done >= batch || check(t, cqe, task, task - done))
				return -1;
			t->lat[task] = bench_now() - t0;
			io_uring_cqe_seen(ring, cqe);
		}
		done += batch;
	}
	return 0;
}

#endif /* KPOOL_BENCH_RINGS_H */
