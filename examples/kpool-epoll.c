// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kpool-epoll: a single-threaded event loop driving a pool.  The pool
 * runs in event-loop mode: no threads of its own; its fd is readable when
 * completions wait, and kpool_pool_process() runs their callbacks here.
 * The loop also watches a timer, as a real program watches sockets.
 *
 * It keeps TASKS timeouts of 1..20 ms going through a pool of 8, topping
 * up whenever room frees, and reports progress every 50 ms.
 *
 *   kpool-epoll [TASKS]       (default 200)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include "kpool_pool.h"

static unsigned int done, failed;

static void task_done(void *arg, struct kpool_result r)
{
	(void)arg;
	done++;			/* one thread: no atomics needed */
	if (r.res)
		failed++;
}

/* Submit until the pool is full (-EAGAIN) or nothing is left to do. */
static void top_up(struct kpool_pool *pool, unsigned int *submitted,
		   unsigned int total)
{
	while (*submitted < total) {
		struct kpool_sqe sqe = { 0 };

		kpool_prep_timeout(&sqe, (1 + *submitted % 20) * 1000000ULL);
		if (kpool_pool_submit(pool, &sqe, task_done, NULL, NULL))
			return;
		(*submitted)++;
	}
}

int main(int argc, char **argv)
{
	unsigned int total = argc > 1 ? (unsigned int)atoi(argv[1]) : 200;
	struct itimerspec tick = { .it_interval.tv_nsec = 50000000,
				   .it_value.tv_nsec = 50000000 };
	struct epoll_event ev, events[2];
	struct kpool_pool_opts opts;
	struct kpool_pool *pool;
	unsigned int submitted = 0, wakeups = 0;
	int ep, tfd, n, i, err;

	kpool_pool_opts_default(&opts);
	opts.capacity = opts.max_capacity = 8;
	opts.queue_size = 24;
	opts.flags = KPOOL_POOL_EVENT_LOOP;
	err = kpool_pool_create(&pool, &opts);
	if (err) {
		fprintf(stderr, "kpool-epoll: no pool: error %d (module loaded?)\n", err);
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	timerfd_settime(tfd, 0, &tick, NULL);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = kpool_pool_fd(pool) };
	epoll_ctl(ep, EPOLL_CTL_ADD, kpool_pool_fd(pool), &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = tfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

	top_up(pool, &submitted, total);
	while (done < total) {
		n = epoll_wait(ep, events, 2, -1);
		for (i = 0; i < n; i++) {
			if (events[i].data.fd == tfd) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) > 0)
					printf("%u of %u done\n", done, total);
				continue;
			}
			wakeups++;
			kpool_pool_process(pool, 0);	/* callbacks run here */
			top_up(pool, &submitted, total);
		}
	}
	printf("all %u done, %u failed, %u wakeups\n", done, failed, wakeups);
	close(tfd);
	close(ep);
	kpool_pool_destroy(pool);
	return failed != 0;
}
