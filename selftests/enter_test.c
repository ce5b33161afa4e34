// SPDX-License-Identifier: GPL-2.0
/*
 * ENTER: every way its argument is refused, SQEs the module must refuse
 * (each yields one CQE with -EINVAL, never an ioctl error), ring indices
 * the program corrupted, waiting with a timeout or a signal, and poll().
 */
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

FIXTURE(enter) {
	struct kpool_ring ring;
	struct kpool_enter e;
	int up;
};

FIXTURE_SETUP(enter)
{
	KP_RING_OPEN(8, NULL);
	kp_enter_init(&self->e);
}

FIXTURE_TEARDOWN(enter)
{
	KP_RING_CLOSE();
}

static int enter(struct _test_data_enter *self)
{
	return kp_ioctl(self->ring.fd, KPOOL_IOC_ENTER, &self->e);
}

TEST_F(enter, empty_call_succeeds)
{
	ASSERT_EQ(0, enter(self));
	ASSERT_EQ(0, self->e.submitted);
}

TEST_F(enter, unknown_flags_rejected)
{
	self->e.flags = 0x100;
	ASSERT_EQ(-EINVAL, enter(self));
}

TEST_F(enter, nonzero_resv0_rejected)
{
	self->e.resv0 = 1;
	ASSERT_EQ(-EINVAL, enter(self));
}

TEST_F(enter, nonzero_resv_rejected)
{
	self->e.resv[0] = 1;
	ASSERT_EQ(-EINVAL, enter(self));
}

TEST_F(enter, size_below_first_version_rejected)
{
	self->e.size = 8;
	ASSERT_EQ(-EINVAL, enter(self));
}

TEST_F(enter, timeout_value_without_timeout_flag_rejected)
{
	self->e.flags = KPOOL_ENTER_GETEVENTS;
	self->e.timeout_ns = 1;
	ASSERT_EQ(-EINVAL, enter(self));
}

TEST_F(enter, min_complete_without_getevents_rejected)
{
	self->e.min_complete = 1;
	ASSERT_EQ(-EINVAL, enter(self));
}

TEST_F(enter, min_complete_above_cq_size_rejected)
{
	self->e.flags = KPOOL_ENTER_GETEVENTS;
	self->e.min_complete = self->ring.cq.entries + 1;
	ASSERT_EQ(-EINVAL, enter(self));
}

TEST_F(enter, takes_only_published_sqes)
{
	kp_queue_nops(&self->ring, 2, 0);
	kpool_store_release(self->ring.sq.ktail, self->ring.sq.sqe_tail);
	self->e.to_submit = 8;
	ASSERT_EQ(0, enter(self));
	ASSERT_EQ(2, self->e.submitted);
}

TEST_F(enter, sq_tail_beyond_ring_rejected)
{
	__u32 head = kpool_load_acquire(self->ring.sq.khead);

	kpool_store_release(self->ring.sq.ktail, head + 9);
	self->e.to_submit = 1;
	ASSERT_EQ(-EINVAL, enter(self));
	/* Nothing was taken from the corrupt ring. */
	ASSERT_EQ(head, kpool_load_acquire(self->ring.sq.khead));
}

TEST_F(enter, cq_head_moved_past_tail_takes_no_work)
{
	/* A cq_head the module cannot trust reads as a full CQ. */
	kpool_store_release(self->ring.cq.khead, 1000);
	kp_queue_nops(&self->ring, 1, 0);
	ASSERT_EQ(-EBUSY, kpool_submit(&self->ring));
}

TEST_F(enter, wait_times_out)
{
	uint64_t t0 = kp_now_ns();

	self->e.flags = KPOOL_ENTER_GETEVENTS | KPOOL_ENTER_TIMEOUT;
	self->e.min_complete = 1;
	self->e.timeout_ns = 20 * KP_MS;
	ASSERT_EQ(-ETIME, enter(self));
	ASSERT_LE(20 * KP_MS, kp_now_ns() - t0);
}

TEST_F(enter, zero_timeout_polls)
{
	self->e.flags = KPOOL_ENTER_GETEVENTS | KPOOL_ENTER_TIMEOUT;
	self->e.min_complete = 1;
	ASSERT_EQ(-ETIME, enter(self));
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(enter, wait_interrupted_by_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 20000 } };

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	self->e.flags = KPOOL_ENTER_GETEVENTS;
	self->e.min_complete = 1;
	ASSERT_EQ(-EINTR, enter(self));
}

TEST_F(enter, poll_reports_ready_cqes_only)
{
	struct pollfd pfd = { .fd = self->ring.fd, .events = POLLIN };
	struct kpool_cqe cqe;

	ASSERT_EQ(0, poll(&pfd, 1, 0));
	kp_queue_nops(&self->ring, 1, 7);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ(1, kp_reap(&self->ring, &cqe, 1));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
}

/* SQEs the module must refuse: each alone, each answered by its CQE. */
FIXTURE(bad_sqe) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(bad_sqe) {
	struct kpool_sqe sqe;
};

#define BAD_NOP(field, value) { .sqe = { .op = KPOOL_OP_NOP, .field = value } }
FIXTURE_VARIANT_ADD(bad_sqe, op_beyond_last) { .sqe = { .op = KPOOL_OP_LAST } };
FIXTURE_VARIANT_ADD(bad_sqe, op_255) { .sqe = { .op = 255 } };
FIXTURE_VARIANT_ADD(bad_sqe, unknown_flags) BAD_NOP(flags, 0x80);
FIXTURE_VARIANT_ADD(bad_sqe, nonzero_resv0) BAD_NOP(resv0, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nonzero_resv1) BAD_NOP(resv1, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nonzero_resv2) BAD_NOP(resv2, 1);
FIXTURE_VARIANT_ADD(bad_sqe, prio_beyond_high) BAD_NOP(prio, 2);
FIXTURE_VARIANT_ADD(bad_sqe, deadline_beyond_ktime) BAD_NOP(deadline_ns, 1ull << 63);
FIXTURE_VARIANT_ADD(bad_sqe, cpu_without_cpu_flag) BAD_NOP(cpu, 1);
FIXTURE_VARIANT_ADD(bad_sqe, cpu_not_present) {
	.sqe = { .op = KPOOL_OP_NOP, .flags = KPOOL_SQE_CPU, .cpu = 100000 }
};
FIXTURE_VARIANT_ADD(bad_sqe, cpu_and_unbound) {
	.sqe = { .op = KPOOL_OP_NOP, .flags = KPOOL_SQE_CPU | KPOOL_SQE_UNBOUND }
};
FIXTURE_VARIANT_ADD(bad_sqe, nop_with_fd) BAD_NOP(fd, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_with_off) BAD_NOP(off, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_with_addr) BAD_NOP(addr, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_with_len) BAD_NOP(len, 1);
FIXTURE_VARIANT_ADD(bad_sqe, nop_with_op_flags) BAD_NOP(op_flags, 1);
FIXTURE_VARIANT_ADD(bad_sqe, timeout_with_addr) {
	.sqe = { .op = KPOOL_OP_TIMEOUT, .addr = 1 }
};
FIXTURE_VARIANT_ADD(bad_sqe, timeout_beyond_ktime) {
	.sqe = { .op = KPOOL_OP_TIMEOUT, .off = 1ull << 63 }
};
FIXTURE_VARIANT_ADD(bad_sqe, cancel_all_with_target) {
	.sqe = { .op = KPOOL_OP_CANCEL, .op_flags = KPOOL_CANCEL_ALL, .addr = 1 }
};
FIXTURE_VARIANT_ADD(bad_sqe, cancel_unknown_op_flags) {
	.sqe = { .op = KPOOL_OP_CANCEL, .op_flags = 2 }
};
FIXTURE_VARIANT_ADD(bad_sqe, cancel_with_prio) {
	.sqe = { .op = KPOOL_OP_CANCEL, .prio = KPOOL_PRIO_HIGH }
};
FIXTURE_VARIANT_ADD(bad_sqe, cancel_with_deadline) {
	.sqe = { .op = KPOOL_OP_CANCEL, .deadline_ns = 1000 }
};
FIXTURE_VARIANT_ADD(bad_sqe, cancel_with_placement) {
	.sqe = { .op = KPOOL_OP_CANCEL, .flags = KPOOL_SQE_UNBOUND }
};
FIXTURE_VARIANT_ADD(bad_sqe, burn_beyond_burn_max) {
	.sqe = { .op = KPOOL_OP_BURN, .off = 1ull << 62 }
};
FIXTURE_VARIANT_ADD(bad_sqe, burn_unknown_op_flags) {
	.sqe = { .op = KPOOL_OP_BURN, .op_flags = 2 }
};

FIXTURE_SETUP(bad_sqe)
{
	KP_RING_OPEN(8, NULL);
}

FIXTURE_TEARDOWN(bad_sqe)
{
	KP_RING_CLOSE();
}

TEST_F(bad_sqe, completes_with_einval)
{
	struct kpool_sqe *sqe = kpool_get_sqe(&self->ring);
	struct kpool_cqe *cqe;

	*sqe = variant->sqe;
	sqe->user_data = 0xbad5eull;
	ASSERT_EQ(1, kpool_submit_and_wait(&self->ring, 1));
	ASSERT_EQ(0, kpool_peek_cqe(&self->ring, &cqe));
	EXPECT_EQ(0xbad5eull, cqe->user_data);
	EXPECT_EQ(-EINVAL, cqe->res);
	kpool_cqe_seen(&self->ring, cqe);
}

TEST_HARNESS_MAIN
