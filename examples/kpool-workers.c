// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kpool-workers: the program's own functions on a pool of capacity 4.
 *
 *   1. submit 20 functions: the even ones block (5 in read() on a pipe,
 *      5 in nanosleep()), the odd ones compute 100 ms of CPU time;
 *   2. every 100 ms, read the pool's fdinfo: while a function sleeps, the
 *      module lends its slot to the next task, so 4 stay runnable;
 *   3. meanwhile a high-priority task overtakes, a deadline expires, a
 *      waiting task and a running one are cancelled;
 *   4. write the pipe readers their bytes, drain, print every task and
 *      the pool's counters.
 *
 * Build: make examples; run with the module loaded: build/examples/kpool-workers
 * Exits 0 when every check holds (or the module has no KPOOL_FEAT_CALL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "kpool_pool.h"

#define CAPACITY	4
#define NR_FNS		20	/* the even ones block, the odd ones compute */
#define COMPUTE_MS	100	/* of CPU time, per computing function */
#define SLEEP_MS	200
#define URGENT_MS	50
#define TICK_MS		100	/* the timeline's step */
#define RELEASE_MS	500	/* when the pipe readers get their bytes */
#define MAX_TICKS	15

enum kind { PIPE, SLEEP, COMPUTE, SPIN };

/* One task: what its function does, and what it and its callback saw. */
struct task {
	char name[12];
	const char *what;
	enum kind kind;
	unsigned int ms;
	uint64_t id;
	uint32_t runs;		/* times the function ran */
	uint64_t start, end;	/* ns since the program started; 0: never */
	uint32_t callbacks;
	int res;		/* the result the callback got */
};

/* The 20, then these four, in order of submission. */
enum { LATE = NR_FNS, CANCELLED, SPINNER, URGENT, NR_TASKS };

static struct task tasks[NR_TASKS];
static const struct task extras[] = {
	{ .name = "late", .what = "deadline 1 ms", .kind = COMPUTE, .ms = 10 },
	{ .name = "cancelled", .what = "cancelled waiting", .kind = COMPUTE, .ms = 10 },
	{ .name = "spin", .what = "runs until cancelled", .kind = SPIN },
	{ .name = "urgent", .what = "KPOOL_PRIO_HIGH, 50 ms", .kind = COMPUTE,
	  .ms = URGENT_MS },
};
static uint64_t t0;
static int pipefd[2];

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t since_start(void)
{
	return now_ns(CLOCK_MONOTONIC) - t0;
}

/* Burn @ms of this thread's CPU time, or until the task is cancelled. */
static int compute(unsigned int ms)
{
	uint64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ms * 1000000ull;
	volatile uint32_t x = 1;
	int i, err;

	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end) {
		for (i = 0; i < 10000; i++)
			x = x * 1664525u + 1013904223u;
		err = kpool_task_cancelled();	/* -ECANCELED, -ETIME or 0 */
		if (err)
			return err;
	}
	return 0;
}

/* Compute until kpool_task_cancelled() says so (at most 5 s). */
static int spin(void)
{
	uint64_t end = since_start() + 5000000000ull;
	int err;

	while (!(err = compute(1)) && since_start() < end)
		;
	return err;
}

/* The function every task runs (a kpool_fn_t): its result is the task's. */
static int work(void *arg)
{
	struct task *t = arg;
	struct timespec ts = { SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L };
	int ret = 0;
	char c;

	__atomic_add_fetch(&t->runs, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&t->start, since_start(), __ATOMIC_RELEASE);
	switch (t->kind) {
	case PIPE:	/* sleeps in the kernel: the module lends the slot */
		if (read(pipefd[0], &c, 1) != 1)
			ret = -EIO;
		break;
	case SLEEP:
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		break;
	case COMPUTE:
		ret = compute(t->ms);
		break;
	case SPIN:
		ret = spin();
		break;
	}
	__atomic_store_n(&t->end, since_start(), __ATOMIC_RELEASE);
	return ret;
}

/* Runs on the pool's completion thread, once per task. */
static void record(void *arg, struct kpool_result r)
{
	struct task *t = arg;

	t->res = r.res;
	__atomic_add_fetch(&t->callbacks, 1, __ATOMIC_RELEASE);
}

static int submit(struct kpool_pool *pool, struct task *t, uint8_t prio,
		  uint64_t deadline_ns)
{
	struct kpool_fn_opts o = {
		.prio = prio, .deadline_ns = deadline_ns,
		.done = record, .done_arg = t,
	};

	return kpool_pool_submit_fn(pool, work, t, &o, &t->id);
}

/* What /proc/self/fdinfo says about the pool now. */
struct sample {
	long running, waiting, threads, blocked;
};

static long field(const char *buf, const char *name)
{
	size_t len = strlen(name);
	const char *p = buf;

	while (p) {	/* "name:\tvalue", one a line */
		if (!strncmp(p, name, len) && p[len] == ':')
			return strtol(p + len + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static int read_fdinfo(int fd, struct sample *s)
{
	char path[64], buf[4096];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY);
	if (f < 0)
		return -errno;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	s->running = field(buf, "running");
	s->waiting = field(buf, "waiting");
	s->threads = field(buf, "worker_threads");
	s->blocked = field(buf, "blocked_workers");
	return s->running < 0 || s->blocked < 0 ? -ENODATA : 0;
}

static void sleep_until_ms(unsigned int ms)
{
	uint64_t at = t0 + ms * 1000000ull;
	struct timespec ts = { (time_t)(at / 1000000000ull),
			       (long)(at % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static unsigned int ms_of(uint64_t ns)
{
	return (unsigned int)((ns + 500000) / 1000000);
}

static const char *result_str(int res)
{
	static char buf[16];

	switch (res) {
	case -ETIME:		return "-ETIME";
	case -ECANCELED:	return "-ECANCELED";
	case -EOWNERDEAD:	return "-EOWNERDEAD";
	}
	snprintf(buf, sizeof(buf), "%d", res);
	return buf;
}

/* The p-th quantile of a kernel histogram, as its bucket's upper bound. */
static double quantile_ms(const __u64 *hist, double p)
{
	uint64_t total = 0, sum = 0;
	int i;

	for (i = 0; i < KPOOL_HIST_BUCKETS; i++)
		total += hist[i];
	for (i = 0; i < KPOOL_HIST_BUCKETS; i++) {
		sum += hist[i];
		if (total && sum >= p * total)
			break;
	}
	return (double)(2ull << i) / 1e6;	/* bucket i: [2^i, 2^(i+1)) ns */
}

static int failures;

static void check(int ok, const char *what, const char *name)
{
	if (!ok) {
		printf("FAILED: %s%s%s\n", name ? name : "", name ? ": " : "", what);
		failures++;
	}
}

int main(void)
{
	struct kpool_pool_opts opts;
	struct kpool_pool_lib_stats lib;
	struct kpool_counters k;
	struct kpool_pool *pool;
	struct sample s = { 0 };
	unsigned int i, tick, lent = 0, samples = 0, max_blocked = 0;
	long urgent_waiting = -1;
	uint64_t urgent_at = 0;
	int err, released = 0, cancelled_spin = 0;

	t0 = now_ns(CLOCK_MONOTONIC);
	if (pipe(pipefd)) {
		perror("kpool-workers: pipe");
		return 1;
	}
	kpool_pool_opts_default(&opts);
	opts.capacity = opts.max_capacity = CAPACITY;
	opts.queue_size = 32;
	err = kpool_pool_create(&pool, &opts);
	if (err) {
		fprintf(stderr, "kpool-workers: no pool: %s (is kpool.ko loaded?)\n",
			strerror(-err));
		return 1;
	}

	for (i = 0; i < NR_TASKS; i++) {
		struct task *t = &tasks[i];

		if (i >= NR_FNS) {
			*t = extras[i - NR_FNS];
		} else if (i % 2) {
			t->kind = COMPUTE;
			t->ms = COMPUTE_MS;
			t->what = "100 ms of CPU";
			snprintf(t->name, sizeof(t->name), "cpu-%u", i);
		} else {
			t->kind = i % 4 ? SLEEP : PIPE;
			t->what = i % 4 ? "nanosleep 200 ms" : "read() on a pipe";
			snprintf(t->name, sizeof(t->name), "%s-%u",
				 i % 4 ? "sleep" : "read", i);
		}
	}

	/* 1. The 20, then the deadline and the cancel, all while it is full. */
	for (i = 0; i < URGENT; i++) {
		err = submit(pool, &tasks[i], KPOOL_PRIO_NORMAL,
			     i == LATE ? 1000000 : 0);
		if (err == -EOPNOTSUPP) {
			printf("kpool-workers: this module has no KPOOL_FEAT_CALL (user functions)\n");
			kpool_pool_destroy(pool);
			return 0;
		}
		if (err) {
			printf("FAILED: submit of %s: %s\n", tasks[i].name,
			       strerror(-err));
			failures++;
			break;
		}
		if (i == CANCELLED) {
			err = kpool_pool_cancel(pool, tasks[i].id);
			check(!err, "kpool_pool_cancel() failed", "cancelled");
		}
	}

	printf("kpool-workers: %u functions, a pool of capacity %u (queue 32, default workers)\n"
	       "  even ones block: 5 in read() on a pipe, 5 in nanosleep(%u ms)\n"
	       "  odd ones compute: %u ms of CPU time each\n"
	       "  then \"late\" (deadline 1 ms), \"cancelled\" (at once), \"spin\" (until cancelled)\n\n",
	       NR_FNS, CAPACITY, SLEEP_MS, COMPUTE_MS);

	/* 2. The timeline, with the other events at their ticks. */
	for (tick = 1; !failures && tick <= MAX_TICKS; tick++) {
		sleep_until_ms(tick * TICK_MS);
		err = read_fdinfo(kpool_pool_fd(pool), &s);
		if (err) {
			printf("FAILED: reading the pool's fdinfo: %s\n", strerror(-err));
			failures++;
			break;
		}
		if (tick == 1)
			printf("fdinfo every %u ms (%ld worker_threads;"
			       " runnable = running - blocked_workers):\n",
			       TICK_MS, s.threads);
		printf("t=%5u ms  running %2ld  blocked %2ld  runnable %ld  waiting %2ld\n",
		       tick * TICK_MS, s.running, s.blocked, s.running - s.blocked,
		       s.waiting);
		samples++;
		lent += s.blocked > 0 && s.running > CAPACITY;
		if ((unsigned int)s.blocked > max_blocked)
			max_blocked = (unsigned int)s.blocked;

		if (tick == 1) {	/* 3. a task that overtakes the queue */
			urgent_waiting = s.waiting;
			urgent_at = since_start();
			err = submit(pool, &tasks[URGENT], KPOOL_PRIO_HIGH, 0);
			check(!err, "submit failed", "urgent");
			printf("            + \"urgent\" with KPOOL_PRIO_HIGH, %ld tasks waiting\n",
			       s.waiting);
		}
		if (!released && tick * TICK_MS >= RELEASE_MS) {
			released = write(pipefd[1], "12345", 5) == 5;
			printf("            + write 5 bytes: the pipe readers wake\n");
		}
		if (!cancelled_spin && __atomic_load_n(&tasks[SPINNER].start,
						       __ATOMIC_ACQUIRE)) {
			cancelled_spin = 1;
			err = kpool_pool_cancel(pool, tasks[SPINNER].id);
			check(!err, "kpool_pool_cancel() failed", "spin");
			printf("            + cancel \"spin\", running since %u ms\n",
			       ms_of(tasks[SPINNER].start));
		}
		if (released && !s.running && !s.waiting)
			break;
	}

	/* 4. Whatever is left, then drain. */
	if (!released && write(pipefd[1], "12345", 5) != 5)
		perror("kpool-workers: write");
	if (!cancelled_spin && tasks[SPINNER].id)
		kpool_pool_cancel(pool, tasks[SPINNER].id);
	err = kpool_pool_drain(pool, KPOOL_WAIT_FOREVER);
	check(!err, "kpool_pool_drain() failed", NULL);
	printf("drained at %u ms\n\n", ms_of(since_start()));

	printf("task        kind                      start     end  result\n");
	for (i = 0; i < NR_TASKS; i++) {
		struct task *t = &tasks[i];
		char start[16] = "-", end[16] = "-";

		if (t->runs) {
			snprintf(start, sizeof(start), "%u", ms_of(t->start));
			snprintf(end, sizeof(end), "%u", ms_of(t->end));
		}
		printf("%-11s %-22s %8s %7s  %s\n", t->name, t->what, start, end,
		       result_str(t->res));
	}
	printf("\n");

	/* The checks: each function ran once, or got its error. */
	for (i = 0; i < NR_TASKS; i++) {
		struct task *t = &tasks[i];

		check(t->callbacks == 1, "its callback did not run once", t->name);
		if (i == LATE)
			check(t->res == -ETIME && !t->runs,
			      "expected -ETIME, never run", t->name);
		else if (i == CANCELLED)
			check(t->res == -ECANCELED && !t->runs,
			      "expected -ECANCELED, never run", t->name);
		else if (i == SPINNER)
			check(t->res == -ECANCELED && t->runs <= 1,
			      "expected -ECANCELED", t->name);
		else
			check(t->res == 0 && t->runs == 1,
			      "expected one run and result 0", t->name);
	}
	if (tasks[URGENT].runs) {
		unsigned int overtaken = 0;

		for (i = 0; i < URGENT; i++)
			overtaken += tasks[i].runs &&
				     tasks[i].start > tasks[URGENT].start;
		printf("\"urgent\" (submitted at %u ms) started at %u ms,"
		       " ahead of %u tasks submitted before it\n",
		       ms_of(urgent_at), ms_of(tasks[URGENT].start), overtaken);
		if (urgent_waiting >= 2)
			check(overtaken > 0, "overtook no waiting task", "urgent");
	}

	err = kpool_pool_stats(pool, &k, &lib);
	check(!err, "kpool_pool_stats() failed", NULL);
	if (!err) {
		printf("kernel counters (%u tasks + the 2 CANCEL ops): submitted %llu, started %llu,\n"
		       "  completed %llu, cancelled %llu, timed_out %llu, peak running %llu (capacity %u)\n",
		       NR_TASKS, (unsigned long long)k.submitted,
		       (unsigned long long)k.started, (unsigned long long)k.completed,
		       (unsigned long long)k.cancelled, (unsigned long long)k.timed_out,
		       (unsigned long long)k.peak_running, CAPACITY);
		printf("  wait p50 < %.0f ms, p90 < %.0f ms; run p50 < %.0f ms, p90 < %.0f ms"
		       " (2^n ns buckets)\n",
		       quantile_ms(k.wait_hist, 0.5), quantile_ms(k.wait_hist, 0.9),
		       quantile_ms(k.run_hist, 0.5), quantile_ms(k.run_hist, 0.9));
		printf("library: submitted %llu, completed %llu, %llu ENTER ioctls\n",
		       (unsigned long long)lib.submitted,
		       (unsigned long long)lib.completed,
		       (unsigned long long)lib.enters);
		check(k.completed == k.submitted && k.timed_out == 1 &&
		      k.cancelled == 2, "kernel counters do not add up", NULL);
		check(lib.submitted == NR_TASKS && lib.completed == NR_TASKS,
		      "library counters do not add up", NULL);
		check(k.peak_running > CAPACITY,
		      "no slot was lent: running never went above capacity", NULL);
	}
	kpool_pool_destroy(pool);
	close(pipefd[0]);
	close(pipefd[1]);
	if (failures) {
		printf("kpool-workers: %d checks failed\n", failures);
		return 1;
	}
	printf("ok: every task ran once or got its error; slots lent in %u of %u samples"
	       " (up to %u blocked)\n", lent, samples, max_blocked);
	return 0;
}
