// SPDX-License-Identifier: GPL-2.0
/*
 * Pool lifetime: close, exit and kill with tasks in flight, fork (the
 * child shares the pool, like a thread would), two pools side by side,
 * and one thread submitting while another reaps.
 *
 * After fork() parent and child hold the same open file, so the same
 * pool: either may submit and reap through the inherited mappings, and
 * they must coordinate as two threads would.  struct kpool_ring is
 * per-process state: only one process should use a given copy of it.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define LONG_DELAY	(30000 * KP_MS)
#define PROMPT		(10000 * KP_MS)	/* generous: guests run under TCG */

static void queue_timeouts(struct kpool_ring *ring, unsigned int n, __u64 ns)
{
	while (n--)
		kpool_prep_timeout(kpool_get_sqe(ring), ns);
}

FIXTURE(lifecycle) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(lifecycle)
{
	KP_RING_OPEN(256, NULL);
}

FIXTURE_TEARDOWN(lifecycle)
{
	KP_RING_CLOSE();
}

TEST_F(lifecycle, close_cancels_armed_timeouts_promptly)
{
	uint64_t t0;

	queue_timeouts(&self->ring, 64, LONG_DELAY);
	ASSERT_EQ(64, kpool_submit(&self->ring));
	t0 = kp_now_ns();
	kpool_ring_close(&self->ring);
	self->up = 0;
	ASSERT_GT(PROMPT, kp_now_ns() - t0);
}

TEST_F(lifecycle, close_with_nops_in_flight_then_pool_works)
{
	struct kpool_ring again;
	struct kpool_cqe *cqe;

	kp_queue_nops(&self->ring, 256, 0);
	ASSERT_EQ(256, kpool_submit(&self->ring));
	kpool_ring_close(&self->ring);
	self->up = 0;

	ASSERT_EQ(0, kpool_ring_open(&again, 8, NULL));
	kp_queue_nops(&again, 1, 1);
	ASSERT_EQ(1, kpool_submit_and_wait(&again, 1));
	ASSERT_EQ(0, kpool_peek_cqe(&again, &cqe));
	kpool_ring_close(&again);
}

static pid_t child_with_work_in_flight(int wait_forever)
{
	pid_t pid = fork();
	struct kpool_ring ring;

	if (pid)
		return pid;
	if (kpool_ring_open(&ring, 128, NULL))
		_exit(2);
	queue_timeouts(&ring, 32, LONG_DELAY);
	kp_queue_nops(&ring, 64, 0);
	if (kpool_submit(&ring) != 96)
		_exit(3);
	if (wait_forever)
		kpool_enter(ring.fd, 0, 128, KPOOL_ENTER_GETEVENTS, 0, NULL);
	_exit(0);	/* no close, no munmap: exit does it */
}

TEST_F(lifecycle, exit_with_tasks_in_flight)
{
	uint64_t t0 = kp_now_ns();
	int status;
	pid_t pid = child_with_work_in_flight(0);

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_GT(PROMPT, kp_now_ns() - t0);
}

TEST_F(lifecycle, kill_while_waiting_with_tasks_in_flight)
{
	int status;
	pid_t pid = child_with_work_in_flight(1);
	uint64_t t0;

	usleep(100000);
	t0 = kp_now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_GT(PROMPT, kp_now_ns() - t0);
}

TEST_F(lifecycle, fork_child_uses_inherited_pool)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_cqe *cqe;

		kp_queue_nops(&self->ring, 1, 0xc41d);
		if (kpool_submit_and_wait(&self->ring, 1) != 1 ||
		    kpool_peek_cqe(&self->ring, &cqe) ||
		    cqe->user_data != 0xc41d || cqe->res)
			_exit(1);
		kpool_cqe_seen(&self->ring, cqe);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent sees the child's work in the shared rings. */
	ASSERT_EQ(1, kpool_load_acquire(self->ring.cq.ktail));
}

TEST_F(lifecycle, pool_outlives_parent_close_in_child)
{
	int pipefd[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_cqe *cqe;

		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 0)	/* parent closed */
			_exit(2);
		kp_queue_nops(&self->ring, 1, 1);
		if (kpool_submit_and_wait(&self->ring, 1) != 1 ||
		    kpool_peek_cqe(&self->ring, &cqe) || cqe->res)
			_exit(1);
		_exit(0);
	}
	close(pipefd[0]);
	kpool_ring_close(&self->ring);
	self->up = 0;
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(two_pools_are_independent)
{
	struct kpool_ring a, b;
	struct kpool_cqe ca[8], cb[8];
	unsigned int i, na, nb, stray = 0;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&a, 8, NULL));
	ASSERT_EQ(0, kpool_ring_open(&b, 8, NULL));
	kp_queue_nops(&a, 4, 100);
	kp_queue_nops(&b, 4, 200);
	ASSERT_EQ(4, kpool_submit_and_wait(&a, 4));
	ASSERT_EQ(4, kpool_submit_and_wait(&b, 4));
	na = kp_reap(&a, ca, 8);
	nb = kp_reap(&b, cb, 8);
	for (i = 0; i < na; i++)
		stray += ca[i].user_data < 100 || ca[i].user_data >= 104;
	for (i = 0; i < nb; i++)
		stray += cb[i].user_data < 200 || cb[i].user_data >= 204;
	kpool_ring_close(&a);
	kpool_ring_close(&b);
	ASSERT_EQ(4, na);
	ASSERT_EQ(4, nb);
	ASSERT_EQ(0, stray);
}

/* One thread submits NOPs for a few seconds while another reaps them. */
static void queue_nop(struct kpool_ring *r, unsigned int i)
{
	kp_queue_nops(r, 1, i);
}

FIXTURE(stress) {
	struct kp_stress s;
};

FIXTURE_SETUP(stress)
{
	memset(&self->s, 0, sizeof(self->s));
	KP_REQUIRE_MODULE();
	self->s.seen = calloc(KP_STRESS_MAX, 1);
	ASSERT_NE(NULL, self->s.seen);
	self->s.ns = 3000 * KP_MS;
	self->s.queue = queue_nop;
	self->s.want_zero_res = 1;
	ASSERT_EQ(0, kpool_ring_open(&self->s.ring, 64, NULL));
}

FIXTURE_TEARDOWN(stress)
{
	if (self->s.seen) {
		kpool_ring_close(&self->s.ring);
		free(self->s.seen);
	}
}

TEST_F_TIMEOUT(stress, two_threads_submit_and_reap, 60)
{
	struct kp_stress *s = &self->s;
	pthread_t sub, rea;

	ASSERT_EQ(0, pthread_create(&rea, NULL, kp_stress_reaper, s));
	ASSERT_EQ(0, pthread_create(&sub, NULL, kp_stress_submitter, s));
	pthread_join(sub, NULL);
	pthread_join(rea, NULL);
	TH_LOG("%u tasks submitted and reaped", s->reaped);
	ASSERT_LT(0, s->taken);
	ASSERT_EQ(s->taken, s->reaped);
	ASSERT_EQ(0, s->bad);
}

TEST_HARNESS_MAIN
