// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kpool-busy: a pool to watch.  Holds one pool in a known state for a
 * while, so that kpoolstat, fdinfo and the debugfs view have something to
 * show (docs/observability.md uses it):
 *
 *   - capacity 2; one TIMEOUT that outlives every threshold (a "stuck"
 *     task), one function that sleeps in read() on a pipe (blocked, its
 *     slot lent), and a steady trickle of NOPs and 64 KiB CRC32Cs;
 *   - a HIGH-priority NOP and two normal ones waiting behind a full pool
 *     once a second, to show the queue;
 *   - at the end, its numbers; with --leak, it leaves the pool undestroyed
 *     and a future unreleased, for KPOOL_LEAK_CHECK=1 to name.
 *
 *   kpool-busy [--seconds N] [--leak]     (default 5 seconds)
 *
 * Prints "pool fd F pid P" first, so a script knows where to look.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kpool_pool.h"

#define MS		1000000ULL
#define CRC_LEN		(64 << 10)

static int pipefd[2] = { -1, -1 };

/* A function that sleeps in the kernel until main() writes a byte. */
static int sleeper(void *arg)
{
	char c;

	(void)arg;
	return read(pipefd[0], &c, 1) == 1 ? 0 : -EIO;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct kpool_pool_opts opts;
	struct kpool_sqe sqe;
	struct kpool_counters total;
	struct kpool_future *stuck;
	struct kpool_pool *pool;
	unsigned int seconds = 5, i;
	int leak = 0, err;
	uint64_t end;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--leak"))
			leak = 1;
		else if (!strcmp(argv[i], "--seconds") && i + 1 < (unsigned int)argc)
			seconds = (unsigned int)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: kpool-busy [--seconds N] [--leak]\n");
			return 2;
		}
	}
	if (pipe(pipefd))
		return 1;
	kpool_pool_opts_default(&opts);
	opts.capacity = 2;
	opts.queue_size = 64;
	opts.flags = KPOOL_POOL_NONBLOCKING;	/* a full pool: just skip */
	opts.arena_size = CRC_LEN;
	err = kpool_pool_create(&pool, &opts);
	if (err) {
		fprintf(stderr, "kpool-busy: create: %s\n", strerror(-err));
		return 1;
	}
	printf("pool fd %d pid %d\n", kpool_pool_fd(pool), (int)getpid());
	fflush(stdout);

	/* The stuck one: a TIMEOUT far longer than the run. */
	memset(&sqe, 0, sizeof(sqe));
	kpool_prep_timeout(&sqe, 3600 * 1000 * MS);
	if (kpool_pool_submit_future(pool, &sqe, &stuck))
		return 1;
	/* The blocked one, if the module runs functions. */
	kpool_pool_submit_fn(pool, sleeper, NULL, NULL, NULL);

	end = now_ns() + seconds * 1000 * MS;
	for (i = 0; now_ns() < end; i++) {
		memset(&sqe, 0, sizeof(sqe));
		if (i % 4 == 3)
			kpool_prep_crc32c(&sqe, 0, CRC_LEN, 0);
		else
			kpool_prep_nop(&sqe);
		kpool_pool_submit(pool, &sqe, NULL, NULL, NULL);
		if (i % 100 == 99) {
			/* A burst that waits: a HIGH one overtakes two. */
			memset(&sqe, 0, sizeof(sqe));
			kpool_prep_burn(&sqe, 300 * MS);
			kpool_pool_submit(pool, &sqe, NULL, NULL, NULL);
			kpool_pool_submit(pool, &sqe, NULL, NULL, NULL);
			kpool_prep_nop(&sqe);
			kpool_pool_submit(pool, &sqe, NULL, NULL, NULL);
			kpool_pool_submit(pool, &sqe, NULL, NULL, NULL);
			kpool_sqe_set_prio(&sqe, KPOOL_PRIO_HIGH);
			kpool_pool_submit(pool, &sqe, NULL, NULL, NULL);
		}
		usleep(10000);
	}

	if (write(pipefd[1], "x", 1) != 1)
		return 1;
	if (!kpool_pool_stats(pool, &total, NULL))
		printf("submitted %llu, completed %llu, stuck %llu\n",
		       (unsigned long long)total.submitted,
		       (unsigned long long)total.completed,
		       (unsigned long long)total.stuck);
	if (leak)
		return 0;	/* KPOOL_LEAK_CHECK=1 names what is left */
	kpool_pool_cancel_all(pool);
	kpool_pool_destroy(pool);
	kpool_future_release(stuck);
	return 0;
}
