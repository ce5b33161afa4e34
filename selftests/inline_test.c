// SPDX-License-Identifier: GPL-2.0
/*
 * Inline execution (KPOOL_FEAT_INLINE): an op that cannot block (NOP)
 * runs inside the ENTER that submits it when it can start at once, holding
 * its capacity slot while it runs; one that has to wait, or asks for a
 * worker (KPOOL_SQE_ASYNC, a placement), runs on a kernel worker.  Where a
 * task ran is read from the kernel's own trace of queued work items
 * (workqueue:workqueue_queue_work), which names the workqueue.  The NOPs
 * one ENTER takes in a row run as a batch, with their CQEs in order.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "kpool_util.h"

#define MS	1000000ull
#define QUEUE_WORK "events/workqueue/workqueue_queue_work/enable"

static int trace_start(void)
{
	return kp_tracefs_write("tracing_on", "0") ||
		kp_tracefs_write("trace", "") ||
		kp_tracefs_write(QUEUE_WORK, "1") ||
		kp_tracefs_write("tracing_on", "1");
}

/* Stop tracing; how many work items went to a kpool workqueue. */
static int trace_kpool_work(void)
{
	char line[512];
	int n = 0;
	FILE *f;

	kp_tracefs_write("tracing_on", "0");
	f = fopen(KP_TRACEFS "/trace", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			n += strstr(line, "workqueue_queue_work") &&
			     strstr(line, "workqueue=kpool") != NULL;
		fclose(f);
	}
	kp_tracefs_write(QUEUE_WORK, "0");
	kp_tracefs_write("trace", "");
	return n;
}

FIXTURE(inline_nop) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(inline_nop)
{
	struct kpool_ring_params p = { .capacity = 1 };

	KP_RING_OPEN(64, &p);
}

FIXTURE_TEARDOWN(inline_nop)
{
	KP_RING_CLOSE();
}

static struct kpool_counters totals(struct kpool_ring *r)
{
	struct kpool_counters c;

	memset(&c, 0, sizeof(c));
	kpool_read_stats(r, &c, NULL, 0);
	return c;
}

TEST_F(inline_nop, module_reports_inline_execution)
{
	EXPECT_TRUE(self->ring.features & KPOOL_FEAT_INLINE);
}

TEST_F(inline_nop, cqes_are_in_before_enter_returns)
{
	ASSERT_EQ(32, kp_queue_nops(&self->ring, 32, 1));
	ASSERT_EQ(32, kpool_submit(&self->ring));
	/* No wait: the ENTER that took them ran them. */
	EXPECT_EQ(32, kpool_cq_ready(&self->ring));
}

TEST_F(inline_nop, each_holds_the_slot_while_it_runs)
{
	struct kpool_counters c;

	ASSERT_EQ(32, kp_queue_nops(&self->ring, 32, 1));
	ASSERT_EQ(32, kpool_submit(&self->ring));
	c = totals(&self->ring);
	/* Capacity 1: one at a time, and none had to wait for the slot. */
	EXPECT_TRUE(c.started == 32 && c.peak_running == 1 &&
		    c.peak_waiting == 0);
}

TEST_F(inline_nop, cancel_of_a_finished_one_finds_nothing)
{
	struct kpool_cqe *cqe;
	int res = 1;

	q_nop(&self->ring, 1);
	q_cancel(&self->ring, 1, 2);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	while (!kpool_peek_cqe(&self->ring, &cqe)) {
		if (cqe->user_data == 2)
			res = cqe->res;
		kpool_cqe_seen(&self->ring, cqe);
	}
	EXPECT_EQ(-ENOENT, res);
}

TEST_F(inline_nop, async_flag_on_cancel_is_refused)
{
	struct kpool_cqe *cqe;
	struct kpool_sqe *sqe = q_cancel(&self->ring, 1, 2);

	kpool_sqe_set_async(sqe);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_peek_cqe(&self->ring, &cqe));
	EXPECT_EQ(-EINVAL, cqe->res);
}

TEST_F(inline_nop, unknown_sqe_flag_is_refused)
{
	struct kpool_cqe *cqe;
	struct kpool_sqe *sqe = q_nop(&self->ring, 1);

	sqe->flags = 0x80;
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kpool_peek_cqe(&self->ring, &cqe));
	EXPECT_EQ(-EINVAL, cqe->res);
}

/*
 * ENTER runs the inline tasks it takes in a row as one batch (one lock
 * hold, one CQ tail store): in submission order, with any other SQE
 * answered in its place, and those that cannot start at once queued as
 * any task is.  Capacity 1, two waiting places.
 */
FIXTURE(inline_batch) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_SETUP(inline_batch)
{
	struct kpool_ring_params p = { .capacity = 1, .max_waiting = 2 };

	KP_RING_OPEN(64, &p);
}

FIXTURE_TEARDOWN(inline_batch)
{
	KP_RING_CLOSE();
}

/* How many CQEs, in order, do not say (user_data @i, result @res(i)). */
static unsigned int out_of_place(struct kpool_ring *r, unsigned int n,
				 int bad_index)
{
	struct kpool_cqe *cqe;
	unsigned int i, wrong = 0;

	for (i = 0; i < n; i++) {
		if (kpool_peek_cqe(r, &cqe))
			return wrong + n - i;
		wrong += cqe->user_data != i ||
			 cqe->res != ((int)i == bad_index ? -EINVAL : 0);
		kpool_cqe_seen(r, cqe);
	}
	return wrong + !kpool_peek_cqe(r, &cqe);
}

TEST_F(inline_batch, cqes_come_in_submission_order_across_batches)
{
	/* More than one batch of KPOOL_INLINE_BATCH (32). */
	ASSERT_EQ(40, kp_queue_nops(&self->ring, 40, 0));
	ASSERT_EQ(40, kpool_submit(&self->ring));
	EXPECT_EQ(0, out_of_place(&self->ring, 40, -1));
}

TEST_F(inline_batch, an_invalid_sqe_between_nops_is_answered_in_its_place)
{
	struct kpool_sqe *bad;

	ASSERT_EQ(3, kp_queue_nops(&self->ring, 3, 0));
	bad = q_nop(&self->ring, 3);
	bad->resv0 = 1;				/* -EINVAL */
	ASSERT_EQ(3, kp_queue_nops(&self->ring, 3, 4));
	ASSERT_EQ(7, kpool_submit(&self->ring));
	EXPECT_EQ(0, out_of_place(&self->ring, 7, 3));
}

TEST_F(inline_batch, behind_a_held_slot_nops_queue_and_the_rest_stay)
{
	unsigned int sq_left;

	q_burn(&self->ring, 50 * MS, 100);
	ASSERT_EQ(8, kp_queue_nops(&self->ring, 8, 0));
	/* The BURN holds the slot: two NOPs queue, six stay in the SQ. */
	ASSERT_EQ(3, kpool_submit(&self->ring));
	sq_left = *self->ring.sq.ktail - *self->ring.sq.khead;
	EXPECT_EQ(6, sq_left);
}

/* Where NOPs run, by variant: the work items queued for them. */
FIXTURE(where) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(where) {
	int async;		/* KPOOL_SQE_ASYNC */
	int named_cpu;		/* KPOOL_SQE_CPU, the current CPU */
	int behind_burn;	/* wait behind a BURN holding the one slot */
	unsigned int capacity;	/* 0: one slot, each NOP starts alone */
	unsigned int crc_len;	/* CRC32C of this many bytes, not NOP */
	int work_items;		/* work items queued for the 8 NOPs */
	int work_items_max;	/* 0: exactly work_items */
};

FIXTURE_VARIANT_ADD(where, inline) { .work_items = 0 };
FIXTURE_VARIANT_ADD(where, async) { .async = 1, .work_items = 8 };
FIXTURE_VARIANT_ADD(where, named_cpu) { .named_cpu = 1, .work_items = 8 };
FIXTURE_VARIANT_ADD(where, waiting) { .behind_burn = 1, .work_items = 8 };
/*
 * NOPs started together on one CPU go as one batch (a second work item
 * only if the first ran past its time budget, say a descheduled vCPU).
 */
FIXTURE_VARIANT_ADD(where, async_batch) {
	.async = 1, .capacity = 8, .work_items = 1, .work_items_max = 2
};
FIXTURE_VARIANT_ADD(where, named_cpu_batch) {
	.named_cpu = 1, .capacity = 8, .work_items = 1, .work_items_max = 2
};

/*
 * CRC32C runs inline up to a page; a longer one goes to a worker, each
 * its own work item (a LONG op: they run side by side).
 */
FIXTURE_VARIANT_ADD(where, crc32c_of_a_page) {
	.crc_len = 4096, .capacity = 8, .work_items = 0
};
FIXTURE_VARIANT_ADD(where, crc32c_above_a_page) {
	.crc_len = 4097, .capacity = 8, .work_items = 8
};

FIXTURE_SETUP(where)
{
	struct kpool_ring_params p = {
		.capacity = variant->capacity ? variant->capacity : 1,
		.arena_size = variant->crc_len ? 8 * 8192 : 0,
	};

	self->up = 0;
	KP_REQUIRE_MODULE();
	if (!kp_tracefs_event_ready("workqueue/workqueue_queue_work"))
		SKIP(return, "no tracefs with workqueue events");
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 64, &p));
	self->up = 1;
}

FIXTURE_TEARDOWN(where)
{
	if (self->up)
		kpool_ring_close(&self->ring);
}

TEST_F(where, nops_run)
{
	struct kpool_cqe *cqe;
	unsigned int i, n = 8 + variant->behind_burn, ok = 0;
	cpu_set_t one;
	int items;

	/* On one CPU: where a task runs is the CPU it is submitted from. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	ASSERT_EQ(0, trace_start());
	if (variant->behind_burn)
		q_burn(&self->ring, 50 * MS, 100);
	for (i = 0; i < 8; i++) {
		struct kpool_sqe *sqe = q_nop(&self->ring, i);

		if (variant->crc_len)
			kpool_prep_crc32c(sqe, i * 8192, variant->crc_len, 0);

		if (variant->async)
			kpool_sqe_set_async(sqe);
		if (variant->named_cpu)
			kpool_sqe_set_cpu(sqe, sched_getcpu());
	}
	ASSERT_EQ((int)n, kpool_submit_and_wait(&self->ring, n));
	items = trace_kpool_work() - variant->behind_burn;
	while (!kpool_peek_cqe(&self->ring, &cqe)) {
		ok += cqe->res == 0;
		kpool_cqe_seen(&self->ring, cqe);
	}
	ASSERT_EQ(n, ok);
	TH_LOG("8 %s: %d work items queued",
	       variant->crc_len ? "CRC32Cs" : "NOPs", items);
	EXPECT_GE(items, variant->work_items);
	EXPECT_LE(items, variant->work_items_max ? variant->work_items_max :
		  variant->work_items);
}

TEST_HARNESS_MAIN
