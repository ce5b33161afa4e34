// SPDX-License-Identifier: GPL-2.0
/*
 * The pool's scheduling: capacity (and tuning it), the bounded waiting
 * queue (and tuning its bound) in its fail-fast and blocking modes, a
 * signal interrupting a blocked submit, priorities, and placement (named
 * CPUs, unbound, the worker a task runs on).  BURN gives tasks that really
 * run.
 */
#include <signal.h>
#include <sys/time.h>
#include "kselftest_harness.h"
#include "kpool_pool_fixture.h"

/* The pool's total counters (all bits set if STATS fails). */
static struct kpool_counters counters(struct kpool_ring *r)
{
	struct kpool_counters c;

	memset(&c, 0xff, sizeof(c));
	kpool_read_stats(r, &c, NULL, 0);
	return c;
}

/* ---- capacity ---- */

FIXTURE(capacity) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(capacity) {
	unsigned int cap;
};

FIXTURE_VARIANT_ADD(capacity, one) { .cap = 1 };
FIXTURE_VARIANT_ADD(capacity, two) { .cap = 2 };
FIXTURE_VARIANT_ADD(capacity, three) { .cap = 3 };

FIXTURE_SETUP(capacity)
{
	struct kpool_ring_params p = { .capacity = variant->cap };

	KP_RING_OPEN(64, &p);
}

FIXTURE_TEARDOWN(capacity)
{
	KP_RING_CLOSE();
}

TEST_F(capacity, never_exceeded)
{
	unsigned int i, n = 4 * variant->cap, over = 0;
	struct kpool_cqe cqes[16];
	struct kpool_counters c;

	for (i = 0; i < n; i++)
		q_burn(&self->ring, BURN(20), i);
	ASSERT_EQ((int)n, kpool_submit(&self->ring));
	/* Sample while they run; the peak covers what sampling misses. */
	for (i = 0; i < 20; i++) {
		c = counters(&self->ring);
		over += c.running > variant->cap;
		usleep(2000);
	}
	ASSERT_EQ(0, reap_n(&self->ring, cqes, n));
	c = counters(&self->ring);
	EXPECT_EQ(0, over);
	EXPECT_EQ(variant->cap, c.peak_running);
}

/* ---- tuning ---- */

TEST_F(pool, raising_capacity_starts_waiting_tasks_at_once)
{
	struct kpool_counters c;
	unsigned int prev = 0;

	POOL_OPEN(16, 1, 0, 0);
	for (int i = 0; i < 4; i++)
		q_burn(&self->ring, BURN(5000), i);
	ASSERT_EQ(4, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_tune(&self->ring, 4, &prev));
	c = counters(&self->ring);
	EXPECT_EQ(1, prev);
	EXPECT_EQ(4, c.running);
	EXPECT_EQ(0, c.waiting);
}

TEST_F(pool, lowering_capacity_lets_running_tasks_finish)
{
	struct kpool_cqe cqes[2];
	struct kpool_counters c;

	POOL_OPEN(16, 2, 0, 0);
	for (int i = 0; i < 4; i++)
		q_burn(&self->ring, BURN(400), i);
	ASSERT_EQ(4, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_tune(&self->ring, 1, NULL));
	/* Both running tasks finish normally; then only one more starts. */
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(0, cqes[0].res);
	EXPECT_EQ(0, cqes[1].res);
	for (int i = 0; i < 100; i++) {	/* the start follows the CQE */
		c = counters(&self->ring);
		if (c.started == 3)
			break;
		usleep(10000);
	}
	EXPECT_EQ(1, c.running);
	EXPECT_EQ(1, c.waiting);
}

/* Each way TUNE refuses its argument. */
FIXTURE(bad_tune) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(bad_tune) {
	struct kpool_tune t;
	int above_max;
	int above_cq;
};

FIXTURE_VARIANT_ADD(bad_tune, zero_capacity) { .t = { .capacity = 0 } };
FIXTURE_VARIANT_ADD(bad_tune, above_max_capacity) { .above_max = 1 };
FIXTURE_VARIANT_ADD(bad_tune, unknown_flags) { .t = { .capacity = 1, .flags = 4 } };
FIXTURE_VARIANT_ADD(bad_tune, nonzero_resv) {
	.t = { .capacity = 1, .resv1 = 1 }
};
FIXTURE_VARIANT_ADD(bad_tune, max_waiting_above_the_cq) {
	.t = { .flags = KPOOL_TUNE_MAX_WAITING }, .above_cq = 1,
};
FIXTURE_VARIANT_ADD(bad_tune, max_waiting_without_its_flag) {
	.t = { .flags = KPOOL_TUNE_CAPACITY, .capacity = 1, .max_waiting = 3 },
};
FIXTURE_VARIANT_ADD(bad_tune, capacity_without_its_flag) {
	.t = { .flags = KPOOL_TUNE_MAX_WAITING, .capacity = 1 },
};

FIXTURE_SETUP(bad_tune)
{
	KP_RING_OPEN(8, NULL);
}

FIXTURE_TEARDOWN(bad_tune)
{
	KP_RING_CLOSE();
}

TEST_F(bad_tune, rejected)
{
	struct kpool_tune t = variant->t;

	t.size = sizeof(t);
	if (variant->above_max)
		t.capacity = kp_param("max_capacity") + 1;
	if (variant->above_cq)
		t.max_waiting = self->ring.cq.entries + 1;
	ASSERT_EQ(-EINVAL, kp_ioctl(self->ring.fd, KPOOL_IOC_TUNE, &t));
}

/* ---- the waiting queue ---- */

/* TUNE of the queue bound alone: @max_waiting; the old bound, or -errno. */
static int tune_max_waiting(struct kpool_ring *r, __u32 max_waiting,
			    __u32 *prev_capacity)
{
	struct kpool_tune t = {
		.size = sizeof(t), .flags = KPOOL_TUNE_MAX_WAITING,
		.max_waiting = max_waiting,
	};
	int ret = kp_ioctl(r->fd, KPOOL_IOC_TUNE, &t);

	if (prev_capacity)
		*prev_capacity = t.prev_capacity;
	return ret ? ret : (int)t.prev_max_waiting;
}

TEST_F(pool, raising_max_waiting_takes_more_at_once)
{
	struct kpool_counters c;

	POOL_OPEN(16, 1, 1, 0);
	for (int i = 0; i < 3; i++)
		q_burn(&self->ring, BURN(5000), i);
	ASSERT_EQ(2, kpool_submit(&self->ring));	/* one runs, one waits */
	ASSERT_EQ(1, tune_max_waiting(&self->ring, 2, NULL));
	ASSERT_EQ(1, kpool_submit(&self->ring));	/* the third, left in the SQ */
	c = counters(&self->ring);
	EXPECT_TRUE(c.running == 1 && c.waiting == 2);
}

TEST_F(pool, lowering_max_waiting_keeps_those_waiting_and_takes_no_more)
{
	struct kpool_counters c;
	__u32 prev_capacity = 0;
	int refused;

	POOL_OPEN(16, 1, 3, 0);
	for (int i = 0; i < 4; i++)
		q_burn(&self->ring, BURN(5000), i);
	ASSERT_EQ(4, kpool_submit(&self->ring));	/* one runs, three wait */
	ASSERT_EQ(3, tune_max_waiting(&self->ring, 1, &prev_capacity));
	q_nop(&self->ring, 9);
	refused = kpool_submit(&self->ring);
	c = counters(&self->ring);
	EXPECT_TRUE(refused == -EAGAIN && c.waiting == 3 &&
		    prev_capacity == 1);
}

TEST_F(pool, tune_of_max_waiting_keeps_the_capacity)
{
	__u32 capacity = 0;

	POOL_OPEN(16, 2, 3, 0);
	ASSERT_EQ(3, tune_max_waiting(&self->ring, 5, NULL));
	ASSERT_EQ(0, kpool_get_capacity(&self->ring, &capacity, NULL));
	EXPECT_EQ(2, capacity);
}

TEST_F(pool, fail_fast_takes_up_to_the_exact_bound)
{
	struct kpool_counters c;

	POOL_OPEN(16, 1, 2, 0);
	for (int i = 0; i < 4; i++)
		q_burn(&self->ring, BURN(5000), i);
	/* One runs, two wait, the fourth is refused and stays in the SQ. */
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(-EAGAIN, kpool_submit(&self->ring));
	c = counters(&self->ring);
	EXPECT_EQ(1, c.running);
	EXPECT_EQ(2, c.waiting);
	EXPECT_LE(1, c.rejected);
}

TEST_F(pool, blocking_submit_waits_at_the_exact_bound)
{
	unsigned int submitted = 0;

	POOL_OPEN(16, 1, 1, KPOOL_SETUP_BLOCKING);
	for (int i = 0; i < 3; i++)
		q_burn(&self->ring, BURN(300), i);
	ASSERT_EQ(3, publish(&self->ring));
	/* Two fit; the third blocks, here until the call's timeout. */
	ASSERT_EQ(-ETIME, kpool_enter(self->ring.fd, 3, 0, KPOOL_ENTER_TIMEOUT,
				      50 * KP_MS, &submitted));
	ASSERT_EQ(2, submitted);
	/* Without a timeout it blocks until the first task leaves. */
	ASSERT_EQ(0, kpool_enter(self->ring.fd, 1, 0, 0, 0, &submitted));
	ASSERT_EQ(1, submitted);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(pool, signal_interrupts_blocked_submit_and_loses_nothing)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 50000 } };
	unsigned int submitted = 0, bad = 0;
	struct kpool_cqe cqes[3];

	POOL_OPEN(16, 1, 1, KPOOL_SETUP_BLOCKING);
	for (int i = 0; i < 3; i++)
		q_burn(&self->ring, BURN(200), i);
	ASSERT_EQ(3, publish(&self->ring));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_EQ(-EINTR, kpool_enter(self->ring.fd, 3, 0, 0, 0, &submitted));
	ASSERT_EQ(2, submitted);
	/* The untaken SQE is still in the ring: submit it again. */
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 3));
	for (int i = 0; i < 3; i++)
		bad += cqes[i].res != 0 || !find(cqes, 3, i);
	ASSERT_EQ(0, bad);
}

/* ---- priorities and placement ---- */

TEST_F(pool, waiting_high_priority_tasks_start_first)
{
	static const __u64 want[] = { 100, 11, 12, 13, 1, 2, 3 };
	struct kpool_cqe cqes[7];
	unsigned int i;

	POOL_OPEN(16, 1, 0, 0);
	q_burn(&self->ring, BURN(100), 100);	/* holds the only slot */
	for (i = 1; i <= 3; i++) {
		q_nop(&self->ring, i);
		kpool_sqe_set_prio(q_nop(&self->ring, 10 + i), KPOOL_PRIO_HIGH);
	}
	ASSERT_EQ(7, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 7));
	for (i = 0; i < 7; i++)
		EXPECT_EQ(want[i], cqes[i].user_data);
}

TEST_F(pool, tasks_run_on_each_named_cpu)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), cpu, bad = 0;
	struct kpool_cqe cqes[64];

	POOL_OPEN(64, 0, 0, 0);
	for (cpu = 0; cpu < cpus && cpu < 32; cpu++) {
		kpool_sqe_set_cpu(q_nop(&self->ring, cpu), cpu);
		kpool_sqe_set_cpu(q_burn(&self->ring, 1000, 100 + cpu), cpu);
	}
	ASSERT_EQ((int)(2 * cpu), kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2 * cpu));
	while (cpu--)
		bad += cqes[cpu].res != 0;
	ASSERT_EQ(0, bad);
}

TEST_F(pool, unbound_and_high_priority_tasks_run)
{
	struct kpool_cqe cqes[4];

	struct kpool_sqe *both;

	POOL_OPEN(16, 0, 0, 0);
	kpool_sqe_set_unbound(q_nop(&self->ring, 1));
	kpool_sqe_set_unbound(q_burn(&self->ring, 1000, 2));
	kpool_sqe_set_prio(q_nop(&self->ring, 3), KPOOL_PRIO_HIGH);
	both = q_nop(&self->ring, 4);
	kpool_sqe_set_unbound(both);
	kpool_sqe_set_prio(both, KPOOL_PRIO_HIGH);
	ASSERT_EQ(4, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 4));
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(0, cqes[i].res);
}

FIXTURE(placement) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(placement) {
	const char *wq;		/* the workqueue the BURN must run on */
	__u8 prio;
	int unbound;
	int last_cpu;		/* name the last online CPU */
	const char *worker;	/* how the worker's name must start */
};

FIXTURE_VARIANT_ADD(placement, normal) {
	.wq = "kpool_long", .worker = "kworker/"
};
FIXTURE_VARIANT_ADD(placement, high_priority) {
	.wq = "kpool_long_hi", .prio = KPOOL_PRIO_HIGH, .worker = "kworker/"
};
FIXTURE_VARIANT_ADD(placement, unbound) {
	.wq = "kpool_unbound", .unbound = 1, .worker = "kworker/u"
};
FIXTURE_VARIANT_ADD(placement, named_cpu) {
	.wq = "kpool_long", .last_cpu = 1, .worker = NULL
};

FIXTURE_SETUP(placement)
{
	KP_RING_OPEN(8, NULL);
}

FIXTURE_TEARDOWN(placement)
{
	KP_RING_CLOSE();
}

TEST_F(placement, burn_runs_on_the_right_worker)
{
	long cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	struct kpool_sqe *sqe = q_burn(&self->ring, BURN(3000), 1);
	char comm[64] = "", prefix[32];
	int found = 0;

	kpool_sqe_set_prio(sqe, variant->prio);
	if (variant->unbound)
		kpool_sqe_set_unbound(sqe);
	if (variant->last_cpu)
		kpool_sqe_set_cpu(sqe, cpu);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	for (int i = 0; i < 200 && !found; i++) {
		found = kp_find_running_worker(variant->wq, comm,
					       sizeof(comm), NULL);
		if (!found)
			usleep(5000);
	}
	q_cancel(&self->ring, 1, 99);
	kpool_submit(&self->ring);
	ASSERT_TRUE(found);
	TH_LOG("ran on %s", comm);
	if (variant->last_cpu)
		snprintf(prefix, sizeof(prefix), "kworker/%ld:", cpu);
	else
		snprintf(prefix, sizeof(prefix), "%s", variant->worker);
	EXPECT_EQ(0, strncmp(comm, prefix, strlen(prefix)));
	/* H before the '+' marks a high-priority worker */
	EXPECT_EQ(variant->prio == KPOOL_PRIO_HIGH, strchr(comm, '+')[-1] == 'H');
}

TEST_HARNESS_MAIN
