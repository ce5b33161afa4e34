// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * submitters: why the pool API submits without a lock.  N threads each
 * submit M empty tasks (NOPs) with a callback, two ways:
 *
 *   pool    kpool_pool_submit(): lock-free admission and slot reservation,
 *           one publisher at a time making one ENTER for every ready slot
 *   mutex   the obvious alternative: the ring API behind one mutex, an
 *           ENTER per task, a reaper thread running the callbacks
 *
 * and prints, per way and thread count, one CSV line:
 *   way,threads,tasks,ns_per_task,tasks_per_s,enters_per_task,cpu_ns_per_task
 *
 *   submitters [--tasks M] [--threads 1,2,4,8] [--rounds R]
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include "kpool_pool.h"
#include "bench.h"

static unsigned int tasks_per_thread = 20000;

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
		1000000000ULL +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
		1000ULL;
}

static uint64_t callbacks;

static void count(void *arg, struct kpool_result r)
{
	(void)arg;
	(void)r;
	__atomic_add_fetch(&callbacks, 1, __ATOMIC_RELAXED);
}

/* ---- the pool API ---- */

static void *pool_thread(void *arg)
{
	struct kpool_pool *pool = arg;
	struct kpool_sqe sqe = { 0 };
	unsigned int i;

	kpool_prep_nop(&sqe);
	for (i = 0; i < tasks_per_thread; i++)
		if (kpool_pool_submit(pool, &sqe, count, NULL, NULL))
			abort();
	return NULL;
}

static uint64_t run_pool(unsigned int threads)
{
	struct kpool_pool_opts o;
	struct kpool_pool_lib_stats lib;
	struct kpool_pool *pool;
	pthread_t th[64];
	unsigned int i;

	kpool_pool_opts_default(&o);
	o.capacity = o.max_capacity = 64;
	o.queue_size = 448;
	if (kpool_pool_create(&pool, &o))
		abort();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, pool_thread, pool);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	kpool_pool_drain(pool, KPOOL_WAIT_FOREVER);
	kpool_pool_stats(pool, NULL, &lib);
	kpool_pool_destroy(pool);
	return lib.enters;
}

/* ---- the ring API behind one mutex ---- */

struct locked {
	struct kpool_ring ring;
	pthread_mutex_t lock;
	uint64_t enters;
	uint64_t total;
};

static void *locked_thread(void *arg)
{
	struct locked *l = arg;
	unsigned int i;

	for (i = 0; i < tasks_per_thread; i++) {
		struct kpool_sqe *sqe;

		pthread_mutex_lock(&l->lock);
		while (!(sqe = kpool_get_sqe(&l->ring))) {
			pthread_mutex_unlock(&l->lock);
			sched_yield();
			pthread_mutex_lock(&l->lock);
		}
		kpool_prep_nop(sqe);
		kpool_sqe_set_data(sqe, (uintptr_t)count);
		while (kpool_submit(&l->ring) < 0) {	/* CQ full: reaper */
			l->enters++;
			sched_yield();
		}
		l->enters++;
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

static void *locked_reaper(void *arg)
{
	struct locked *l = arg;
	uint64_t seen = 0;
	struct kpool_cqe *cqe;

	while (seen < l->total) {
		if (kpool_wait_cqe_timeout(&l->ring, &cqe, 10000000ULL))
			continue;
		((kpool_callback_t)(uintptr_t)cqe->user_data)(NULL,
			(struct kpool_result){ .res = cqe->res });
		kpool_cqe_seen(&l->ring, cqe);
		seen++;
	}
	return NULL;
}

static uint64_t run_mutex(unsigned int threads)
{
	struct kpool_ring_params p = { .capacity = 64 };
	struct locked l = { .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[64], reaper;
	unsigned int i;

	if (kpool_ring_open(&l.ring, 512, &p))
		abort();
	l.total = (uint64_t)threads * tasks_per_thread;
	pthread_create(&reaper, NULL, locked_reaper, &l);
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, locked_thread, &l);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	pthread_join(reaper, NULL);
	kpool_ring_close(&l.ring);
	return l.enters;
}

int main(int argc, char **argv)
{
	unsigned int thread_counts[8] = { 1, 2, 4, 8 }, nr_counts = 4;
	unsigned int rounds = 3, t, w, r;
	static const char *const ways[] = { "pool", "mutex" };

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--tasks")) {
			tasks_per_thread = (unsigned int)atoi(argv[i + 1]);
		} else if (!strcmp(argv[i], "--rounds")) {
			rounds = (unsigned int)atoi(argv[i + 1]);
		} else if (!strcmp(argv[i], "--threads")) {
			char *s = argv[i + 1];

			for (nr_counts = 0; nr_counts < 8 && *s; nr_counts++) {
				thread_counts[nr_counts] = (unsigned int)strtoul(s, &s, 10);
				if (*s == ',')
					s++;
			}
		}
	}
	if (!rounds || rounds > 15)
		rounds = 3;
	printf("way,threads,tasks,ns_per_task,tasks_per_s,enters_per_task,cpu_ns_per_task\n");
	for (t = 0; t < nr_counts; t++) {
		uint64_t total = (uint64_t)thread_counts[t] * tasks_per_thread;
		uint64_t ns[2][16], cpu[2][16], enters[2][16];

		/* The ways take turns each round, so drift hits both alike. */
		for (r = 0; r < rounds; r++) {
			for (w = 0; w < 2; w++) {
				uint64_t t0 = bench_now(), c0 = cpu_ns();

				callbacks = 0;
				enters[w][r] = w ? run_mutex(thread_counts[t]) :
						   run_pool(thread_counts[t]);
				ns[w][r] = bench_now() - t0;
				cpu[w][r] = cpu_ns() - c0;
				if (callbacks != total)
					abort();
			}
		}
		for (w = 0; w < 2; w++) {
			qsort(ns[w], rounds, sizeof(uint64_t), bench_cmp_u64);
			qsort(cpu[w], rounds, sizeof(uint64_t), bench_cmp_u64);
			qsort(enters[w], rounds, sizeof(uint64_t), bench_cmp_u64);
			printf("%s,%u,%llu,%.0f,%.0f,%.3f,%.0f\n", ways[w],
			       thread_counts[t], (unsigned long long)total,
			       (double)ns[w][rounds / 2] / (double)total,
			       (double)total * 1e9 / (double)ns[w][rounds / 2],
			       (double)enters[w][rounds / 2] / (double)total,
			       (double)cpu[w][rounds / 2] / (double)total);
			fflush(stdout);
		}
	}
	return 0;
}
