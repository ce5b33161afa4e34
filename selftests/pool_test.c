// SPDX-License-Identifier: GPL-2.0
/*
 * The pool: capacity (and tuning it), the bounded waiting queue in its
 * fail-fast and blocking modes, priorities, placement, deadlines,
 * cancellation, drain, and stats.  BURN gives tasks that really run.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define BURN(ms)	((ms) * KP_MS)
#define PROMPT		(5000 * KP_MS)	/* generous: guests run under TCG */

FIXTURE(pool) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(pool)
{
	self->up = 0;
	KP_REQUIRE_MODULE();
}

FIXTURE_TEARDOWN(pool)
{
	if (self->up)
		kpool_ring_close(&self->ring);
}

/* Open the fixture's pool with these settings. */
#define POOL_OPEN(entries, cap, waiting, setup_flags) do {		\
	struct kpool_ring_params __p = {				\
		.capacity = (cap), .max_waiting = (waiting),		\
		.flags = (setup_flags),					\
	};								\
	ASSERT_EQ(0, kpool_ring_open(&self->ring, (entries), &__p));	\
	self->up = 1;							\
} while (0)

/* Wait for @n CQEs (each within PROMPT) and copy them out in order. */
#define reap_n(r, out, n)	kp_reap_n(r, out, n, PROMPT)

/* The CQE with @data among @n, or NULL. */
static const struct kpool_cqe *find(const struct kpool_cqe *c, unsigned int n,
				    __u64 data)
{
	while (n--)
		if (c[n].user_data == data)
			return &c[n];
	return NULL;
}

static struct kpool_counters counters(struct kpool_ring *r)
{
	struct kpool_counters c;

	memset(&c, 0xff, sizeof(c));
	kpool_read_stats(r, &c, NULL, 0);
	return c;
}

/* Publish queued SQEs without submitting; returns how many await. */
static unsigned int publish(struct kpool_ring *r)
{
	kpool_store_release(r->sq.ktail, r->sq.sqe_tail);
	return r->sq.sqe_tail - kpool_load_acquire(r->sq.khead);
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

	self->up = 0;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 64, &p));
	self->up = 1;
}

FIXTURE_TEARDOWN(capacity)
{
	if (self->up)
		kpool_ring_close(&self->ring);
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
	self->up = 0;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 8, NULL));
	self->up = 1;
}

FIXTURE_TEARDOWN(bad_tune)
{
	if (self->up)
		kpool_ring_close(&self->ring);
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
	self->up = 0;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 8, NULL));
	self->up = 1;
}

FIXTURE_TEARDOWN(placement)
{
	if (self->up)
		kpool_ring_close(&self->ring);
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

/* ---- deadlines ---- */

TEST_F(pool, deadline_expires_while_waiting)
{
	struct kpool_cqe cqes[2];

	POOL_OPEN(16, 1, 0, 0);
	q_burn(&self->ring, BURN(500), 1);
	kpool_sqe_set_deadline(q_nop(&self->ring, 2), 50 * KP_MS);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	/* At its deadline, not when the slot frees: before the BURN. */
	EXPECT_EQ(2, cqes[0].user_data);
	EXPECT_EQ(-ETIME, cqes[0].res);
	EXPECT_EQ(0, cqes[1].res);
}

TEST_F(pool, deadline_stops_a_running_burn)
{
	struct kpool_cqe cqe;
	uint64_t t0 = kp_now_ns();

	POOL_OPEN(8, 0, 0, 0);
	kpool_sqe_set_deadline(q_burn(&self->ring, BURN(5000), 1), 100 * KP_MS);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	EXPECT_EQ(-ETIME, cqe.res);
	EXPECT_GT(2000 * KP_MS, kp_now_ns() - t0);
}

TEST_F(pool, deadline_stops_a_running_timeout)
{
	struct kpool_sqe *sqe;
	struct kpool_cqe cqe;

	POOL_OPEN(8, 0, 0, 0);
	sqe = q_timeout(&self->ring, 5000 * KP_MS, 1);
	kpool_sqe_set_deadline(sqe, 50 * KP_MS);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	ASSERT_EQ(-ETIME, cqe.res);
}

TEST_F(pool, far_deadline_changes_nothing)
{
	struct kpool_cqe cqes[2];
	struct kpool_sqe *sqe;

	POOL_OPEN(8, 0, 0, 0);
	kpool_sqe_set_deadline(q_nop(&self->ring, 1), 10000 * KP_MS);
	sqe = q_timeout(&self->ring, 10 * KP_MS, 2);
	kpool_sqe_set_deadline(sqe, 10000 * KP_MS);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(0, cqes[0].res);
	EXPECT_EQ(0, cqes[1].res);
}

/* ---- cancellation ---- */

TEST_F(pool, cancel_of_a_waiting_task)
{
	struct kpool_cqe cqes[3];

	POOL_OPEN(16, 1, 0, 0);
	q_burn(&self->ring, BURN(300), 1);
	q_nop(&self->ring, 2);
	q_cancel(&self->ring, 2, 99);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 3));
	EXPECT_EQ(0, find(cqes, 3, 99)->res);
	EXPECT_EQ(-ECANCELED, find(cqes, 3, 2)->res);
	EXPECT_EQ(1, cqes[2].user_data);	/* the BURN was not disturbed */
	EXPECT_EQ(0, cqes[2].res);
}

TEST_F(pool, cancel_of_a_running_burn)
{
	struct kpool_cqe cqes[2];
	uint64_t t0 = kp_now_ns();

	POOL_OPEN(16, 0, 0, 0);
	q_burn(&self->ring, BURN(5000), 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	usleep(20000);
	q_cancel(&self->ring, 1, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(0, find(cqes, 2, 99)->res);
	EXPECT_EQ(-ECANCELED, find(cqes, 2, 1)->res);
	EXPECT_GT(2000 * KP_MS, kp_now_ns() - t0);
}

TEST_F(pool, cancel_of_a_running_timeout)
{
	struct kpool_cqe cqes[2];

	POOL_OPEN(16, 0, 0, 0);
	q_timeout(&self->ring, 5000 * KP_MS, 1);
	q_cancel(&self->ring, 1, 99);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(0, find(cqes, 2, 99)->res);
	EXPECT_EQ(-ECANCELED, find(cqes, 2, 1)->res);
}

TEST_F(pool, cancel_of_an_unknown_task)
{
	struct kpool_cqe cqe;

	POOL_OPEN(16, 0, 0, 0);
	q_cancel(&self->ring, 12345, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	ASSERT_EQ(-ENOENT, cqe.res);
}

TEST_F(pool, cancel_of_a_finished_task)
{
	struct kpool_cqe cqe;

	POOL_OPEN(16, 0, 0, 0);
	q_nop(&self->ring, 5);
	ASSERT_EQ(1, kpool_submit_and_wait(&self->ring, 1));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	q_cancel(&self->ring, 5, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, &cqe, 1));
	ASSERT_EQ(-ENOENT, cqe.res);
}

TEST_F(pool, cancel_of_an_uninterruptible_running_task)
{
	struct kpool_cqe cqes[2];

	POOL_OPEN(16, 0, 0, 0);
	q_burn(&self->ring, BURN(200), 1)->op_flags = KPOOL_BURN_UNINTERRUPTIBLE;
	ASSERT_EQ(1, kpool_submit(&self->ring));
	usleep(20000);
	q_cancel(&self->ring, 1, 99);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 2));
	EXPECT_EQ(-EALREADY, find(cqes, 2, 99)->res);
	EXPECT_EQ(0, find(cqes, 2, 1)->res);
}

TEST_F(pool, cancel_all)
{
	struct kpool_cqe cqes[8];
	unsigned int i, bad = 0;
	struct kpool_sqe *all;

	POOL_OPEN(16, 1, 0, 0);

	q_burn(&self->ring, BURN(5000), 0);
	for (i = 1; i <= 5; i++)
		q_nop(&self->ring, i);
	q_timeout(&self->ring, 5000 * KP_MS, 6);
	all = kpool_get_sqe(&self->ring);
	kpool_prep_cancel_all(all);
	kpool_sqe_set_data(all, 99);
	ASSERT_EQ(8, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 8));
	EXPECT_EQ(7, find(cqes, 8, 99)->res);
	for (i = 0; i <= 6; i++)
		bad += find(cqes, 8, i)->res != -ECANCELED;
	EXPECT_EQ(0, bad);
}

/* ---- close and exit ---- */

static void fill_hundreds(struct kpool_ring *r)
{
	q_burn(r, BURN(5000), 0);
	for (int i = 1; i <= 400; i++)
		q_nop(r, i);
}

TEST_F(pool, close_with_hundreds_waiting_is_prompt)
{
	uint64_t t0;

	POOL_OPEN(512, 1, 0, 0);
	fill_hundreds(&self->ring);
	ASSERT_EQ(401, kpool_submit(&self->ring));
	t0 = kp_now_ns();
	kpool_ring_close(&self->ring);
	self->up = 0;
	ASSERT_GT(PROMPT, kp_now_ns() - t0);
}

TEST_F(pool, exit_with_hundreds_waiting_is_prompt)
{
	uint64_t t0 = kp_now_ns();
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_ring_params p = { .capacity = 1 };
		struct kpool_ring r;

		if (kpool_ring_open(&r, 512, &p))
			_exit(2);
		fill_hundreds(&r);
		_exit(kpool_submit(&r) == 401 ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_GT(PROMPT, kp_now_ns() - t0);
}

/* ---- drain ---- */

TEST_F(pool, drain_waits_for_every_task)
{
	POOL_OPEN(16, 2, 0, 0);
	for (int i = 0; i < 6; i++)
		q_burn(&self->ring, BURN(50), i);
	ASSERT_EQ(6, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_drain(&self->ring));
	ASSERT_EQ(6, kpool_cq_ready(&self->ring));
}

TEST_F(pool, drain_times_out_then_completes)
{
	POOL_OPEN(16, 0, 0, 0);
	q_burn(&self->ring, BURN(500), 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(-ETIME, kpool_drain_timeout(&self->ring, 50 * KP_MS));
	ASSERT_EQ(0, kpool_drain(&self->ring));
}

TEST_F(pool, drained_pool_takes_no_work)
{
	POOL_OPEN(16, 0, 0, 0);
	ASSERT_EQ(0, kpool_drain(&self->ring));
	q_nop(&self->ring, 1);
	ASSERT_EQ(-ESHUTDOWN, kpool_submit(&self->ring));
}

TEST_F(pool, drain_releases_a_blocked_submitter)
{
	unsigned int submitted = 0;
	pid_t pid;
	int status;

	POOL_OPEN(16, 1, 1, KPOOL_SETUP_BLOCKING);
	for (int i = 0; i < 3; i++)
		q_burn(&self->ring, BURN(300), i);
	ASSERT_EQ(3, publish(&self->ring));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		usleep(50000);
		_exit(kpool_drain(&self->ring) ? 1 : 0);
	}
	/* Blocks on the third until the drain starts, then gives up. */
	ASSERT_EQ(0, kpool_enter(self->ring.fd, 3, 0, 0, 0, &submitted));
	ASSERT_EQ(2, submitted);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Each way DRAIN refuses its argument. */
FIXTURE(bad_drain) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(bad_drain) {
	struct kpool_drain d;
};

FIXTURE_VARIANT_ADD(bad_drain, unknown_flags) { .d = { .flags = 2 } };
FIXTURE_VARIANT_ADD(bad_drain, timeout_without_flag) { .d = { .timeout_ns = 1 } };
FIXTURE_VARIANT_ADD(bad_drain, nonzero_resv0) { .d = { .resv0 = 1 } };
FIXTURE_VARIANT_ADD(bad_drain, nonzero_resv) { .d = { .resv = { 1 } } };

FIXTURE_SETUP(bad_drain)
{
	self->up = 0;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 8, NULL));
	self->up = 1;
}

FIXTURE_TEARDOWN(bad_drain)
{
	if (self->up)
		kpool_ring_close(&self->ring);
}

TEST_F(bad_drain, rejected)
{
	struct kpool_drain d = variant->d;

	d.size = sizeof(d);
	ASSERT_EQ(-EINVAL, kp_ioctl(self->ring.fd, KPOOL_IOC_DRAIN, &d));
}

/* ---- stats ---- */

static __u64 hist_sum(const __u64 *h)
{
	__u64 sum = 0;

	for (int i = 0; i < KPOOL_HIST_BUCKETS; i++)
		sum += h[i];
	return sum;
}

TEST_F(pool, stats_count_by_op_and_result)
{
	struct kpool_counters total, ops[KPOOL_OP_LAST];
	struct kpool_cqe cqes[7];
	int i;

	POOL_OPEN(16, 0, 0, 0);
	for (i = 0; i < 3; i++)
		q_nop(&self->ring, i);
	for (i = 0; i < 2; i++)
		q_timeout(&self->ring, KP_MS, 10 + i);
	kpool_get_sqe(&self->ring)->op = 200;		/* invalid */
	q_cancel(&self->ring, 777, 99);			/* -ENOENT */
	ASSERT_EQ(7, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap_n(&self->ring, cqes, 7));
	ASSERT_EQ(0, kpool_read_stats(&self->ring, &total, ops, KPOOL_OP_LAST));
	EXPECT_EQ(6, total.submitted);
	EXPECT_EQ(6, total.completed);
	EXPECT_EQ(1, total.rejected);
	EXPECT_EQ(1, total.failed);
	EXPECT_EQ(0, total.running + total.waiting);
	EXPECT_EQ(3, ops[KPOOL_OP_NOP].submitted);
	EXPECT_EQ(2, ops[KPOOL_OP_TIMEOUT].completed);
	EXPECT_EQ(1, ops[KPOOL_OP_CANCEL].failed);
	EXPECT_EQ(total.started, hist_sum(total.wait_hist));
	EXPECT_EQ(total.completed, hist_sum(total.run_hist));
}

/* Each way STATS refuses its argument. */
TEST_F(pool, stats_reject_bad_arguments)
{
	struct kpool_stats st;

	POOL_OPEN(8, 0, 0, 0);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.flags = 1;
	EXPECT_EQ(-EINVAL, kp_ioctl(self->ring.fd, KPOOL_IOC_STATS, &st));
	st.flags = 0;
	st.resv1 = 1;
	EXPECT_EQ(-EINVAL, kp_ioctl(self->ring.fd, KPOOL_IOC_STATS, &st));
	st.resv1 = 0;
	st.total_ptr = 8;
	EXPECT_EQ(-EFAULT, kp_ioctl(self->ring.fd, KPOOL_IOC_STATS, &st));
}

TEST(pool_ioctls_before_setup_are_bad_state)
{
	struct kpool_stats st = { .size = sizeof(st) };
	struct kpool_drain d = { .size = sizeof(d) };
	struct kpool_tune t = { .size = sizeof(t), .capacity = 1 };
	int fd;

	KP_REQUIRE_MODULE();
	fd = kp_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, kp_ioctl(fd, KPOOL_IOC_STATS, &st));
	EXPECT_EQ(-EBADFD, kp_ioctl(fd, KPOOL_IOC_DRAIN, &d));
	EXPECT_EQ(-EBADFD, kp_ioctl(fd, KPOOL_IOC_TUNE, &t));
	close(fd);
}

static void stress_queue_one(struct kpool_ring *r, unsigned int i)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	switch (i % 8) {
	case 0:
		kpool_prep_timeout(sqe, (i % 3) * 200000);
		break;
	case 1:
		kpool_prep_burn(sqe, 30000);
		break;
	case 2:
		kpool_prep_cancel(sqe, i - 3);
		break;
	case 3:
		kpool_prep_nop(sqe);
		kpool_sqe_set_deadline(sqe, 100000);
		break;
	case 4:
		kpool_prep_nop(sqe);
		kpool_sqe_set_prio(sqe, KPOOL_PRIO_HIGH);
		break;
	default:
		kpool_prep_nop(sqe);
	}
	kpool_sqe_set_data(sqe, i);
}

struct stats_reader {
	struct kp_stress *s;
	unsigned long reads;
	unsigned long broken;
};

static void *stress_reader(void *arg)
{
	struct stats_reader *rd = arg;
	struct kpool_counters c;

	while (!__atomic_load_n(&rd->s->stop, __ATOMIC_ACQUIRE)) {
		if (kpool_read_stats(&rd->s->ring, &c, NULL, 0)) {
			rd->broken++;
			continue;
		}
		rd->reads++;
		if (c.submitted != c.completed + c.running + c.waiting ||
		    c.running > 2 || c.waiting > 16)
			rd->broken++;
	}
	return NULL;
}

FIXTURE(stress) {
	struct kp_stress s;
};

FIXTURE_SETUP(stress)
{
	struct kpool_ring_params p = { .capacity = 2, .max_waiting = 16 };

	memset(&self->s, 0, sizeof(self->s));
	KP_REQUIRE_MODULE();
	self->s.seen = calloc(KP_STRESS_MAX, 1);
	ASSERT_NE(NULL, self->s.seen);
	self->s.ns = 5000 * KP_MS;
	self->s.queue = stress_queue_one;
	ASSERT_EQ(0, kpool_ring_open(&self->s.ring, 64, &p));
}

FIXTURE_TEARDOWN(stress)
{
	if (self->s.seen) {
		kpool_ring_close(&self->s.ring);
		free(self->s.seen);
	}
}

/*
 * The invariant under load: one thread submits a mix of ops (some with
 * deadlines, some cancels), one reaps, one reads STATS without pause.
 */
TEST_F_TIMEOUT(stress, stats_invariant_holds_under_load, 90)
{
	struct stats_reader rd = { .s = &self->s };
	struct kp_stress *s = &self->s;
	pthread_t t[3];

	ASSERT_EQ(0, pthread_create(&t[0], NULL, kp_stress_reaper, s));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, stress_reader, &rd));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, kp_stress_submitter, s));
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%u tasks, %lu stats reads", s->reaped, rd.reads);
	EXPECT_LT(0, rd.reads);
	EXPECT_EQ(0, rd.broken);
	EXPECT_EQ(s->taken, s->reaped);
	EXPECT_EQ(0, s->bad);
}

TEST_HARNESS_MAIN
