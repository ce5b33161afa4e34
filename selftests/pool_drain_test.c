// SPDX-License-Identifier: GPL-2.0
/*
 * The pool's drain and stats: DRAIN waits for every task, times out, shuts
 * the pool to new work and releases a blocked submitter; DRAIN and STATS
 * refuse bad arguments; the pool ioctls before SETUP; STATS counts by op
 * and result, and its invariant holds under load.  BURN gives tasks that
 * really run.
 */
#include <pthread.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_pool_fixture.h"

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
	KP_RING_OPEN(8, NULL);
}

FIXTURE_TEARDOWN(bad_drain)
{
	KP_RING_CLOSE();
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
