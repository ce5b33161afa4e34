// SPDX-License-Identifier: GPL-2.0
/*
 * Chains (KPOOL_SQE_LINK, KPOOL_FEAT_LINK): each task of a chain starts
 * only after the one before it succeeded; a failure completes the rest
 * with -ECANCELED; one CQE per task; a chain is taken whole or not at all;
 * only its first task needs room in the pool.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define MS	KP_MS
#define ARENA	(64 * 1024)
#define BLOCK	4096
#define WAIT	(5000 * MS)

FIXTURE(chain) {
	struct kpool_ring ring;
	char path[64];
	int file;
	int up;
};

FIXTURE_VARIANT(chain) {
	__u32 capacity;
	__u32 flags;
};

FIXTURE_VARIANT_ADD(chain, capacity_1) { .capacity = 1 };
FIXTURE_VARIANT_ADD(chain, capacity_4) { .capacity = 4 };
FIXTURE_VARIANT_ADD(chain, capacity_4_blocking) {
	.capacity = 4, .flags = KPOOL_SETUP_BLOCKING,
};

FIXTURE_SETUP(chain)
{
	struct kpool_ring_params p = {
		.capacity = variant->capacity,
		.flags = variant->flags,
		.arena_size = ARENA,
	};

	self->file = -1;
	KP_RING_OPEN(64, &p);
	strcpy(self->path, "/tmp/kpool-chain-XXXXXX");
	self->file = mkstemp(self->path);
	ASSERT_LE(0, self->file);
}

FIXTURE_TEARDOWN(chain)
{
	if (self->file >= 0) {
		close(self->file);
		unlink(self->path);
	}
	KP_RING_CLOSE();
}

static struct kpool_sqe *linked(struct kpool_sqe *sqe)
{
	kpool_sqe_set_link(sqe);
	return sqe;
}

/* Reap @n CQEs; res[user_data] for user_data < 64, order[i] = user_data. */
static int reap(struct kpool_ring *r, unsigned int n, int *res, __u64 *order)
{
	struct kpool_cqe cqes[64];
	unsigned int i;

	if (n > 64 || kp_reap_n(r, cqes, n, WAIT))
		return -1;
	for (i = 0; i < n; i++) {
		if (cqes[i].user_data >= 64)
			return -1;
		res[cqes[i].user_data] = cqes[i].res;
		if (order)
			order[i] = cqes[i].user_data;
	}
	return 0;
}

static struct kpool_counters totals(struct kpool_ring *r)
{
	struct kpool_counters c;

	memset(&c, 0, sizeof(c));
	kpool_read_stats(r, &c, NULL, 0);
	return c;
}

TEST_F(chain, module_reports_links)
{
	EXPECT_TRUE(self->ring.features & KPOOL_FEAT_LINK);
}

TEST_F(chain, members_complete_in_chain_order)
{
	__u64 order[3];
	int res[64];

	/* Unchained, the NOPs would run inline before the timer fires. */
	linked(q_timeout(&self->ring, 20 * MS, 0));
	linked(q_nop(&self->ring, 1));
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 3, res, order));
	EXPECT_TRUE(order[0] == 0 && order[1] == 1 && order[2] == 2);
}

TEST_F(chain, member_starts_after_the_one_before_completes)
{
	struct kpool_cqe cqes[2];
	uint64_t t0 = kp_now_ns();

	linked(q_timeout(&self->ring, 30 * MS, 0));
	q_timeout(&self->ring, 10 * MS, 1);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 2, WAIT));
	EXPECT_GE(kp_now_ns() - t0, 40 * MS);
}

TEST_F(chain, failure_cancels_the_rest)
{
	int res[64];

	/* A running TIMEOUT whose deadline passes stops with -ETIME. */
	kpool_sqe_set_deadline(linked(q_timeout(&self->ring, 500 * MS, 0)),
			       5 * MS);
	linked(q_nop(&self->ring, 1));
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 3, res, NULL));
	EXPECT_TRUE(res[0] == -ETIME && res[1] == -ECANCELED &&
		    res[2] == -ECANCELED);
}

TEST_F(chain, cancelled_members_never_start)
{
	struct kpool_counters c;
	int res[64];

	kpool_sqe_set_deadline(linked(q_timeout(&self->ring, 500 * MS, 0)),
			       5 * MS);
	linked(q_nop(&self->ring, 1));
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 3, res, NULL));
	c = totals(&self->ring);
	/* Three tasks, each counted once; only the first ever started. */
	EXPECT_TRUE(c.submitted == 3 && c.completed == 3 && c.started == 1);
}

TEST_F(chain, read_crc32c_write_in_one_submit)
{
	unsigned char *arena = self->ring.arena, data[BLOCK], back[BLOCK];
	char out_path[] = "/tmp/kpool-chain-out-XXXXXX";
	struct kpool_cqe cqes[3];
	struct kpool_sqe *sqe;
	int out = mkstemp(out_path), i, ok = 0;
	__u32 crc = 0;

	ASSERT_LE(0, out);
	for (i = 0; i < BLOCK; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	ASSERT_EQ(BLOCK, pwrite(self->file, data, BLOCK, 0));
	memset(arena, 0, BLOCK);

	sqe = linked(kpool_get_sqe(&self->ring));
	kpool_prep_read(sqe, self->file, 0, BLOCK, 0);
	sqe = linked(kpool_get_sqe(&self->ring));
	kpool_prep_crc32c(sqe, 0, BLOCK, 0);
	sqe = kpool_get_sqe(&self->ring);
	kpool_prep_write(sqe, out, 0, BLOCK, 0);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 3, WAIT));
	/* In chain order: READ, CRC32C, WRITE. */
	ok = cqes[0].res == BLOCK && cqes[1].res == 0 && cqes[2].res == BLOCK;
	crc = cqes[1].aux;
	ASSERT_EQ(BLOCK, pread(out, back, BLOCK, 0));
	close(out);
	unlink(out_path);
	EXPECT_TRUE(ok && crc == kp_crc32c_ref(0, data, BLOCK) &&
		    !memcmp(back, data, BLOCK));
}

TEST_F(chain, short_read_breaks_the_chain)
{
	unsigned char data[100] = { 1 };
	struct kpool_sqe *sqe;
	int res[64];

	ASSERT_EQ(100, pwrite(self->file, data, 100, 0));
	sqe = linked(kpool_get_sqe(&self->ring));
	kpool_prep_read(sqe, self->file, 0, BLOCK, 0);
	kpool_sqe_set_data(sqe, 0);
	sqe = kpool_get_sqe(&self->ring);
	kpool_prep_crc32c(sqe, 0, BLOCK, 0);
	kpool_sqe_set_data(sqe, 1);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[0] == 100 && res[1] == -ECANCELED);
}

TEST_F(chain, invalid_member_fails_the_whole_chain)
{
	struct kpool_sqe *bad;
	int res[64];

	linked(q_nop(&self->ring, 0));
	bad = linked(q_nop(&self->ring, 1));
	bad->len = 1;			/* NOP takes no len */
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 3, res, NULL));
	EXPECT_TRUE(res[0] == -ECANCELED && res[1] == -EINVAL &&
		    res[2] == -ECANCELED);
}

TEST_F(chain, invalid_member_runs_nothing)
{
	struct kpool_sqe *bad;
	int res[64];

	linked(q_nop(&self->ring, 0));
	bad = linked(q_nop(&self->ring, 1));
	bad->op = 200;
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 3, res, NULL));
	EXPECT_EQ(0, totals(&self->ring).started);
}

TEST_F(chain, cancel_inside_a_chain_is_refused)
{
	int res[64];

	linked(q_nop(&self->ring, 0));
	q_cancel(&self->ring, 7, 1);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[0] == -ECANCELED && res[1] == -EINVAL);
}

TEST_F(chain, cancel_with_link_flag_is_refused)
{
	int res[64];

	linked(q_cancel(&self->ring, 7, 0));
	q_nop(&self->ring, 1);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[0] == -EINVAL && res[1] == -ECANCELED);
}

TEST_F(chain, cancel_of_a_member_cancels_it_and_the_rest_at_once)
{
	struct kpool_cqe cqes[3];
	int res[64] = { 0 };

	linked(q_timeout(&self->ring, 10000 * MS, 0));
	linked(q_nop(&self->ring, 1));
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	q_cancel(&self->ring, 1, 3);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* The CANCEL's CQE and its two victims', with the timer running. */
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 3, 1000 * MS));
	res[cqes[0].user_data] = cqes[0].res;
	res[cqes[1].user_data] = cqes[1].res;
	res[cqes[2].user_data] = cqes[2].res;
	q_cancel(&self->ring, 0, 4);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[3] == 0 && res[1] == -ECANCELED &&
		    res[2] == -ECANCELED && res[0] == -ECANCELED);
}

TEST_F(chain, cancel_all_counts_members)
{
	struct kpool_sqe *sqe;
	int res[64];

	linked(q_timeout(&self->ring, 10000 * MS, 0));
	linked(q_nop(&self->ring, 1));
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	sqe = kpool_get_sqe(&self->ring);
	kpool_prep_cancel_all(sqe);
	kpool_sqe_set_data(sqe, 3);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 4, res, NULL));
	EXPECT_TRUE(res[3] == 3 && res[0] == -ECANCELED &&
		    res[1] == -ECANCELED && res[2] == -ECANCELED);
}

TEST_F(chain, longer_than_capacity_and_queue)
{
	struct kpool_cqe cqes[48];
	unsigned int i, in_order = 0;

	ASSERT_EQ(0, kpool_tune_max_waiting(&self->ring, 1, NULL));
	for (i = 0; i < 48; i++) {
		struct kpool_sqe *sqe = q_nop(&self->ring, i);

		if (i < 47)
			linked(sqe);
	}
	ASSERT_EQ(48, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 48, WAIT));
	for (i = 0; i < 48; i++)
		in_order += cqes[i].user_data == i && cqes[i].res == 0;
	EXPECT_EQ(48, in_order);
}

TEST_F(chain, chain_ends_at_the_last_sqe_an_enter_takes)
{
	int res[64];

	kpool_sqe_set_deadline(linked(q_timeout(&self->ring, 500 * MS, 0)),
			       5 * MS);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* A new ENTER: this NOP is not chained to the failing timer. */
	q_nop(&self->ring, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[0] == -ETIME && res[1] == 0);
}

TEST_F(chain, member_deadline_counts_from_submission)
{
	int res[64];

	linked(q_timeout(&self->ring, 50 * MS, 0));
	kpool_sqe_set_deadline(q_nop(&self->ring, 1), 10 * MS);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[0] == 0 && res[1] == -ETIME);
}

TEST_F(chain, member_deadline_not_yet_passed_is_kept)
{
	int res[64];

	linked(q_timeout(&self->ring, 50 * MS, 0));
	kpool_sqe_set_deadline(q_nop(&self->ring, 1), 2000 * MS);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[0] == 0 && res[1] == 0);
}

/* Fill every slot with a TIMEOUT of @ns (user_data 40..): later tasks wait. */
static void fill_slots(struct kpool_ring *r, __u32 capacity, __u64 ns)
{
	__u32 i;

	for (i = 0; i < capacity; i++)
		q_timeout(r, ns, 40 + i);
}

TEST_F(chain, cancel_of_a_waiting_head_cancels_its_chain)
{
	int res[64] = { 0 };

	fill_slots(&self->ring, variant->capacity, 10000 * MS);
	linked(q_nop(&self->ring, 0));
	q_nop(&self->ring, 1);
	ASSERT_EQ(variant->capacity + 2, kpool_submit(&self->ring));
	q_cancel(&self->ring, 0, 2);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 3, res, NULL));
	EXPECT_TRUE(res[2] == 0 && res[0] == -ECANCELED &&
		    res[1] == -ECANCELED);
}

TEST_F(chain, cancel_of_a_running_head_cancels_its_chain)
{
	int res[64] = { 0 };

	linked(q_timeout(&self->ring, 10000 * MS, 0));
	q_nop(&self->ring, 1);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	q_cancel(&self->ring, 0, 2);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 3, res, NULL));
	EXPECT_TRUE(res[2] == 0 && res[0] == -ECANCELED &&
		    res[1] == -ECANCELED);
}

TEST_F(chain, expired_waiting_head_cancels_its_chain)
{
	int res[64] = { 0 };

	fill_slots(&self->ring, variant->capacity, 200 * MS);
	kpool_sqe_set_deadline(linked(q_nop(&self->ring, 0)), 10 * MS);
	q_nop(&self->ring, 1);
	ASSERT_EQ(variant->capacity + 2, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, 2, res, NULL));
	EXPECT_TRUE(res[0] == -ETIME && res[1] == -ECANCELED);
}

TEST_F(chain, drain_waits_for_every_member)
{
	linked(q_timeout(&self->ring, 20 * MS, 0));
	linked(q_timeout(&self->ring, 20 * MS, 1));
	q_nop(&self->ring, 2);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_drain_timeout(&self->ring, WAIT));
	EXPECT_EQ(3, kpool_cq_ready(&self->ring));
}

TEST_F(chain, close_with_a_chain_in_flight)
{
	int i;

	/* Teardown's close cancels them; the kernel log must stay clean. */
	for (i = 0; i < 8; i++) {
		struct kpool_sqe *sqe = q_timeout(&self->ring, 10000 * MS, i);

		if (i < 7)
			linked(sqe);
	}
	ASSERT_EQ(8, kpool_submit(&self->ring));
	EXPECT_EQ(1, totals(&self->ring).running);
}

/* A CQ without room for a whole chain: it waits in the ring, whole. */
FIXTURE(cq_room) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(cq_room)
{
	struct kpool_ring_params p = { .cq_entries = 8, .capacity = 8 };

	KP_RING_OPEN(8, &p);
}

FIXTURE_TEARDOWN(cq_room)
{
	KP_RING_CLOSE();
}

TEST_F(cq_room, chain_waits_whole_for_cq_room)
{
	struct kpool_cqe cqes[6];
	int i, first, later, res[64] = { 0 };

	for (i = 0; i < 6; i++)
		q_timeout(&self->ring, 100 * MS, 10 + i);
	ASSERT_EQ(6, kpool_submit(&self->ring));
	/* Two CQ slots left: the chain of three stays in the ring. */
	linked(q_nop(&self->ring, 0));
	linked(q_nop(&self->ring, 1));
	q_nop(&self->ring, 2);
	first = kpool_submit(&self->ring);
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 6, WAIT));
	later = kpool_submit(&self->ring);
	ASSERT_EQ(0, reap(&self->ring, 3, res, NULL));
	EXPECT_TRUE(first == -EBUSY && later == 3 && res[0] == 0 &&
		    res[1] == 0 && res[2] == 0);
}

/* A full pool: the chain stays in the ring whole, or waits whole. */
FIXTURE(full) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(full) {
	__u32 flags;
	int taken_at_first;	/* SQEs the first submit takes */
};

FIXTURE_VARIANT_ADD(full, nonblocking) { .taken_at_first = 2 };
FIXTURE_VARIANT_ADD(full, blocking) {
	.flags = KPOOL_SETUP_BLOCKING, .taken_at_first = 5,
};

FIXTURE_SETUP(full)
{
	struct kpool_ring_params p = {
		.capacity = 1, .max_waiting = 1, .flags = variant->flags,
	};

	KP_RING_OPEN(16, &p);
}

FIXTURE_TEARDOWN(full)
{
	KP_RING_CLOSE();
}

TEST_F(full, chain_is_taken_whole_or_not_at_all)
{
	q_timeout(&self->ring, 50 * MS, 0);
	q_timeout(&self->ring, 50 * MS, 1);
	linked(q_nop(&self->ring, 2));
	linked(q_nop(&self->ring, 3));
	q_nop(&self->ring, 4);
	EXPECT_EQ(variant->taken_at_first, kpool_submit(&self->ring));
}

TEST_HARNESS_MAIN
