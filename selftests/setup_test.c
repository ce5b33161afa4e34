// SPDX-License-Identifier: GPL-2.0
/*
 * The device and its SETUP and PROBE ioctls: what a fresh pool reports,
 * and every way SETUP refuses its argument.
 */
#include <poll.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

TEST(open_and_close)
{
	int fd;

	KP_REQUIRE_MODULE();
	fd = kp_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
}

FIXTURE(setup) {
	int fd;
	struct kpool_setup p;
	unsigned int max;
};

FIXTURE_SETUP(setup)
{
	self->fd = -1;
	KP_REQUIRE_MODULE();
	self->fd = kp_open();
	ASSERT_LE(0, self->fd);
	kp_setup_init(&self->p, 8, 0);
	self->max = kp_param("max_entries");
	ASSERT_NE(0, self->max);
}

FIXTURE_TEARDOWN(setup)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(setup, reports_sizes_features_and_regions)
{
	long page = sysconf(_SC_PAGESIZE);

	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
	EXPECT_EQ(8, self->p.sq_entries);
	EXPECT_EQ(16, self->p.cq_entries);
	EXPECT_TRUE(self->p.features & KPOOL_FEAT_NODROP);
	EXPECT_TRUE(self->p.features & KPOOL_FEAT_INLINE_DATA);
	EXPECT_EQ(KPOOL_OFF_SQ_RING, self->p.sq_ring.offset);
	EXPECT_EQ(KPOOL_OFF_SQES, self->p.sqes.offset);
	EXPECT_EQ(KPOOL_OFF_CQ_RING, self->p.cq_ring.offset);
	EXPECT_EQ(0, self->p.sqes.size % page);
	EXPECT_LE(8 * sizeof(struct kpool_sqe), self->p.sqes.size);
	EXPECT_LE(self->p.off.cqes + 16 * sizeof(struct kpool_cqe),
		  self->p.cq_ring.size);
	EXPECT_NE(self->p.off.sq_tail, self->p.off.cq_head);
	EXPECT_EQ(8, self->p.capacity);		/* the SQ's size */
	EXPECT_EQ(16, self->p.max_waiting);
}

TEST_F(setup, capacity_and_queue_bound_taken_as_given)
{
	self->p.capacity = 3;
	self->p.max_waiting = 5;
	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
	EXPECT_EQ(3, self->p.capacity);
	EXPECT_EQ(5, self->p.max_waiting);
}

TEST_F(setup, capacity_above_max_rejected)
{
	self->p.capacity = kp_param("max_capacity") + 1;
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, max_waiting_above_cq_rejected)
{
	self->p.max_waiting = 17;	/* cq_entries is 16 */
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, largest_rings_accepted)
{
	kp_setup_init(&self->p, self->max, 2 * self->max);
	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, cq_equal_to_sq_accepted)
{
	kp_setup_init(&self->p, 8, 8);
	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, second_setup_busy)
{
	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
	kp_setup_init(&self->p, 8, 0);
	ASSERT_EQ(-EBUSY, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, size_below_first_version_rejected)
{
	self->p.size = sizeof(self->p) - sizeof(__u64);
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, larger_struct_with_zero_tail_accepted)
{
	struct { struct kpool_setup p; __u64 newer[4]; } big;

	memset(&big, 0, sizeof(big));
	big.p = self->p;
	big.p.size = sizeof(big);
	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &big));
}

TEST_F(setup, larger_struct_with_nonzero_tail_rejected)
{
	struct { struct kpool_setup p; __u64 newer[4]; } big;

	memset(&big, 0, sizeof(big));
	big.p = self->p;
	big.p.size = sizeof(big);
	big.newer[3] = 1;
	ASSERT_EQ(-E2BIG, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &big));
}

TEST_F(setup, size_beyond_a_page_rejected)
{
	static char buf[3 * 4096];

	memcpy(buf, &self->p, sizeof(self->p));
	((struct kpool_setup *)buf)->size = sizeof(buf);
	ASSERT_EQ(-E2BIG, kp_ioctl(self->fd, KPOOL_IOC_SETUP, buf));
}

TEST_F(setup, unknown_flags_rejected)
{
	self->p.flags = 0x80000000u;
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, nonzero_resv0_rejected)
{
	self->p.resv0 = 1;
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, nonzero_resv_rejected)
{
	self->p.resv[2] = 1;
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

TEST_F(setup, unreadable_argument_faults)
{
	ASSERT_EQ(-EFAULT, kp_ioctl(self->fd, KPOOL_IOC_SETUP, (void *)8));
}

TEST_F(setup, enter_before_setup_is_bad_state)
{
	struct kpool_enter e;

	kp_enter_init(&e);
	ASSERT_EQ(-EBADFD, kp_ioctl(self->fd, KPOOL_IOC_ENTER, &e));
}

TEST_F(setup, mmap_before_setup_is_bad_state)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd,
		       KPOOL_OFF_SQ_RING);

	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EBADFD, errno);
}

TEST_F(setup, poll_before_setup_reports_error)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_TRUE(pfd.revents & POLLERR);
}

TEST_F(setup, unknown_ioctl_not_a_tty)
{
	ASSERT_EQ(-ENOTTY, kp_ioctl(self->fd, _IO(KPOOL_IOC_MAGIC, 0x7f),
				    &self->p));
}

TEST_F(setup, known_number_with_other_encoding_not_a_tty)
{
	/* Only the exact command is accepted, not its number in disguise. */
	ASSERT_EQ(-ENOTTY, kp_ioctl(self->fd,
				    _IOWR(KPOOL_IOC_MAGIC, KPOOL_CMD_SETUP,
					  struct kpool_setup), &self->p));
}

/* Each way the ring sizes can be wrong, alone. */
FIXTURE(bad_entries) {
	int fd;
	unsigned int max;
};

FIXTURE_VARIANT(bad_entries) {
	/* sizes in units of max_entries when scaled, else absolute */
	__u32 sq, cq;
	int sq_times_max, cq_times_max;
};

FIXTURE_VARIANT_ADD(bad_entries, zero_sq) { .sq = 0, .cq = 0 };
FIXTURE_VARIANT_ADD(bad_entries, sq_not_power_of_two) { .sq = 3, .cq = 0 };
FIXTURE_VARIANT_ADD(bad_entries, cq_not_power_of_two) { .sq = 8, .cq = 24 };
FIXTURE_VARIANT_ADD(bad_entries, cq_smaller_than_sq) { .sq = 16, .cq = 8 };
FIXTURE_VARIANT_ADD(bad_entries, sq_above_max) { .sq_times_max = 2 };
FIXTURE_VARIANT_ADD(bad_entries, cq_above_twice_max) {
	.sq = 8, .cq_times_max = 4
};
FIXTURE_VARIANT_ADD(bad_entries, sq_huge) { .sq = 0x80000000u };

FIXTURE_SETUP(bad_entries)
{
	self->fd = -1;
	KP_REQUIRE_MODULE();
	self->fd = kp_open();
	ASSERT_LE(0, self->fd);
	self->max = kp_param("max_entries");
	ASSERT_NE(0, self->max);
}

FIXTURE_TEARDOWN(bad_entries)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(bad_entries, rejected)
{
	struct kpool_setup p;
	__u32 sq = variant->sq_times_max ? variant->sq_times_max * self->max
					 : variant->sq;
	__u32 cq = variant->cq_times_max ? variant->cq_times_max * self->max
					 : variant->cq;

	kp_setup_init(&p, sq, cq);
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &p));
}

/* PROBE works before SETUP and lists every op this header knows. */
FIXTURE(probe) {
	int fd;
	struct kpool_probe p;
	struct kpool_probe_op ops[KPOOL_OP_LAST + 4];
};

FIXTURE_SETUP(probe)
{
	self->fd = -1;
	KP_REQUIRE_MODULE();
	self->fd = kp_open();
	ASSERT_LE(0, self->fd);
	memset(&self->p, 0, sizeof(self->p));
	memset(self->ops, 0xff, sizeof(self->ops));
	self->p.size = sizeof(self->p);
	self->p.ops_len = KPOOL_OP_LAST + 4;
	self->p.ops_ptr = (uintptr_t)self->ops;
}

FIXTURE_TEARDOWN(probe)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(probe, lists_every_op)
{
	static const char *const names[KPOOL_OP_LAST] = {
		[KPOOL_OP_NOP] = "nop",
		[KPOOL_OP_TIMEOUT] = "timeout",
		[KPOOL_OP_CANCEL] = "cancel",
		[KPOOL_OP_BURN] = "burn",
		[KPOOL_OP_READ] = "read",
		[KPOOL_OP_WRITE] = "write",
		[KPOOL_OP_FSYNC] = "fsync",
		[KPOOL_OP_COPY] = "copy",
		[KPOOL_OP_CRC32C] = "crc32c",
		[KPOOL_OP_SHA256] = "sha256",
		[KPOOL_OP_CALL] = "call",
	};
	int op;

	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_PROBE, &self->p));
	ASSERT_EQ(KPOOL_OP_LAST, self->p.last_op);
	for (op = 0; op < KPOOL_OP_LAST; op++) {
		EXPECT_EQ(op, self->ops[op].op);
		EXPECT_TRUE(self->ops[op].flags & KPOOL_PROBE_OP_SUPPORTED);
		EXPECT_STREQ(names[op], self->ops[op].name);
	}
	/* Entries past last_op are the caller's and stay untouched. */
	EXPECT_EQ(0xff, self->ops[KPOOL_OP_LAST].op);
}

TEST_F(probe, zero_length_writes_no_entry)
{
	self->p.ops_len = 0;
	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_PROBE, &self->p));
	ASSERT_EQ(0xff, self->ops[0].op);
}

TEST_F(probe, unknown_flags_rejected)
{
	self->p.flags = 1;
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_PROBE, &self->p));
}

TEST_F(probe, nonzero_resv_rejected)
{
	self->p.resv[1] = 1;
	ASSERT_EQ(-EINVAL, kp_ioctl(self->fd, KPOOL_IOC_PROBE, &self->p));
}

TEST_F(probe, unwritable_ops_array_faults)
{
	self->p.ops_ptr = 8;
	ASSERT_EQ(-EFAULT, kp_ioctl(self->fd, KPOOL_IOC_PROBE, &self->p));
}

TEST_HARNESS_MAIN
