/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The benchmark driver: every contender of a workload measured in one run,
 * interleaved over rounds, with one or more submitting threads.
 *
 * A contender is a table row: setup() gives a thread its own instance (a
 * ring, a loop, a thread pool), run() does n tasks keeping `depth` in
 * flight and stores each task's round-trip latency, teardown() frees it.
 * For each thread count, every round runs each contender once, in table
 * order, so slow drift of the guest hits all of them alike; the CSV line
 * per contender gives the median over rounds and the spread (min, max).
 *
 *   ns_per_task   wall time / tasks (all threads), median over rounds
 *   p50, p99      round-trip latency of single tasks, medians over rounds
 *   cpu_ns        busy time of all CPUs / tasks (see bench_cpu_busy_ns):
 *                 it counts kernel workers too, which getrusage would miss
 *
 * Syscalls per task are counted outside: the guest script runs each
 * contender alone under strace -f -c (see tools/bench.sh).
 */
#ifndef KPOOL_BENCH_H
#define KPOOL_BENCH_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bench_thread {
	void *priv;			/* the contender's instance */
	unsigned int depth;		/* tasks in flight (or batch size) */
	unsigned int id;		/* thread number */
	uint64_t *lat;			/* round-trip ns of task i */
};

struct contender {
	const char *name;
	unsigned int depth;
	int (*setup)(struct bench_thread *t);
	int (*run)(struct bench_thread *t, unsigned int n);
	void (*teardown)(struct bench_thread *t);
};

static inline uint64_t bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define BENCH_DIE(...) do { fprintf(stderr, __VA_ARGS__); exit(1); } while (0)

/*
 * Busy time of every CPU so far, in ns: the time tasks other than the idle
 * task ran (rq_cpu_time in /proc/schedstat, counted at each context
 * switch, so kernel workers are in it); else /proc/stat's busy ticks.
 */
static inline uint64_t bench_cpu_busy_ns(void)
{
	unsigned long long v[9] = { 0 }, sum = 0;
	FILE *f = fopen("/proc/schedstat", "r");
	long hz = sysconf(_SC_CLK_TCK);
	char line[512];
	int cpus = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(strchr(line, ' '), "%llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) == 7) {
			sum += v[6];
			cpus++;
		}
	}
	if (f)
		fclose(f);
	if (cpus)
		return sum;
	f = fopen("/proc/stat", "r");
	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			 &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7)
		BENCH_DIE("bench: cannot read /proc/schedstat or /proc/stat\n");
	fclose(f);
	return (v[0] + v[1] + v[2] + v[5] + v[6]) * (1000000000ULL / (uint64_t)hz);
}

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static inline uint64_t bench_pct(uint64_t *v, size_t n, unsigned int pct)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_u64);
	return v[(n - 1) * pct / 100];
}

struct bench_job {
	const struct contender *c;
	struct bench_thread t;
	unsigned int n;
	pthread_barrier_t *start;
	int err;
};

static void *bench_job_main(void *arg)
{
	struct bench_job *j = arg;

	pthread_barrier_wait(j->start);
	j->err = j->c->run(&j->t, j->n);
	return NULL;
}

struct bench_sample {
	uint64_t ns, p50, p99, cpu;
};

/* One measurement: @threads instances of @c, @n tasks each. */
static inline struct bench_sample bench_once(const struct contender *c,
					     unsigned int threads,
					     unsigned int n)
{
	struct bench_job jobs[8];
	pthread_t th[8];
	pthread_barrier_t start;
	struct bench_sample s;
	uint64_t t0, c0, *all;
	unsigned int i;

	pthread_barrier_init(&start, NULL, threads + 1);
	for (i = 0; i < threads; i++) {
		jobs[i] = (struct bench_job){ .c = c, .n = n, .start = &start };
		jobs[i].t.depth = c->depth;
		jobs[i].t.id = i;
		jobs[i].t.lat = calloc(n ? n : 1, sizeof(uint64_t));
		if (!jobs[i].t.lat || c->setup(&jobs[i].t))
			BENCH_DIE("bench: %s: setup failed\n", c->name);
		pthread_create(&th[i], NULL, bench_job_main, &jobs[i]);
	}
	c0 = bench_cpu_busy_ns();
	t0 = bench_now();
	pthread_barrier_wait(&start);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	s.ns = bench_now() - t0;
	s.cpu = bench_cpu_busy_ns() - c0;
	all = calloc((size_t)threads * (n ? n : 1), sizeof(uint64_t));
	for (i = 0; i < threads; i++) {
		if (jobs[i].err)
			BENCH_DIE("bench: %s: run failed: %d\n", c->name, jobs[i].err);
		memcpy(all + (size_t)i * n, jobs[i].t.lat, n * sizeof(uint64_t));
		c->teardown(&jobs[i].t);
		free(jobs[i].t.lat);
	}
	s.p50 = bench_pct(all, (size_t)threads * n, 50);
	s.p99 = bench_pct(all, (size_t)threads * n, 99);
	free(all);
	pthread_barrier_destroy(&start);
	return s;
}

/*
 *   PROG [--tasks N] [--rounds R] [--threads 1,2] [--only NAME] [--list]
 * --list prints the contenders' names and exits.  Otherwise prints "workload,contender,threads,depth,tasks,ns_per_task,ns_min,ns_max,
 * tasks_per_s,p50_ns,p99_ns,cpu_ns_per_task" per contender and thread count.
 */
static inline int bench_main(int argc, char **argv, const char *workload,
			     const struct contender *table, unsigned int nr)
{
	unsigned int tasks = 5000, rounds = 5, threads[4] = { 1, 2 }, nt = 2;
	const char *only = NULL;
	unsigned int t, r, i;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--list")) {
			for (i = 0; i < nr; i++)
				printf("%s\n", table[i].name);
			return 0;
		}
	}
	for (a = 1; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--tasks"))
			tasks = (unsigned int)atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--rounds"))
			rounds = (unsigned int)atoi(argv[a + 1]);
		else if (!strcmp(argv[a], "--only"))
			only = argv[a + 1];
		else if (!strcmp(argv[a], "--threads")) {
			char *p = argv[a + 1];

			for (nt = 0; nt < 4 && *p; nt++) {
				threads[nt] = (unsigned int)strtoul(p, &p, 10);
				if (*p == ',')
					p++;
			}
		}
	}
	if (!rounds || rounds > 31)
		rounds = 5;
	for (t = 0; t < nt; t++)
		if (!threads[t] || threads[t] > 8)
			BENCH_DIE("bench: 1 to 8 threads\n");

	printf("workload,contender,threads,depth,tasks,ns_per_task,ns_min,ns_max,tasks_per_s,p50_ns,p99_ns,cpu_ns_per_task\n");
	for (t = 0; t < nt; t++) {
		struct bench_sample (*s)[32] = calloc(nr, sizeof(*s));

		for (r = 0; r < rounds; r++)
			for (i = 0; i < nr; i++)
				if (!only || !strcmp(only, table[i].name))
					s[i][r] = bench_once(&table[i], threads[t], tasks);
		for (i = 0; i < nr; i++) {
			uint64_t ns[32], p50[32], p99[32], cpu[32];
			double total = (double)threads[t] * tasks;

			if (only && strcmp(only, table[i].name))
				continue;
			for (r = 0; r < rounds; r++) {
				ns[r] = s[i][r].ns;
				p50[r] = s[i][r].p50;
				p99[r] = s[i][r].p99;
				cpu[r] = s[i][r].cpu;
			}
			qsort(ns, rounds, sizeof(uint64_t), bench_cmp_u64);
			if (!total)
				continue;
			printf("%s,%s,%u,%u,%u,%.0f,%.0f,%.0f,%.0f,%llu,%llu,%.0f\n",
			       workload, table[i].name, threads[t], table[i].depth,
			       tasks, ns[rounds / 2] / total, ns[0] / total,
			       ns[rounds - 1] / total, total * 1e9 / ns[rounds / 2],
			       (unsigned long long)bench_pct(p50, rounds, 50),
			       (unsigned long long)bench_pct(p99, rounds, 50),
			       (double)bench_pct(cpu, rounds, 50) / total);
			fflush(stdout);
		}
		free(s);
	}
	return 0;
}

#endif /* KPOOL_BENCH_H */
