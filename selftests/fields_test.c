// SPDX-License-Identifier: GPL-2.0
/*
 * Every op refuses, with -EINVAL in its CQE, an SQE that sets a field the
 * op does not read (fd, off, addr, len) or an op_flags bit it does not
 * know: the module checks that once, from the op table's row, for every
 * op.  Each variant starts from a sample SQE of its op that the module
 * accepts, then sets one field at a time.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "kpool_util.h"
#include "kpool_op_samples.h"

#define WAIT_NS		(5000ull * 1000 * 1000)
#define SAMPLE_DATA	77

FIXTURE(fields) {
	struct kpool_ring ring;
	int file;
	int up;
};

FIXTURE_VARIANT(fields) {
	unsigned int op;
};

FIXTURE_VARIANT_ADD(fields, nop) { KPOOL_OP_NOP };
FIXTURE_VARIANT_ADD(fields, timeout) { KPOOL_OP_TIMEOUT };
FIXTURE_VARIANT_ADD(fields, cancel) { KPOOL_OP_CANCEL };
FIXTURE_VARIANT_ADD(fields, burn) { KPOOL_OP_BURN };
FIXTURE_VARIANT_ADD(fields, read) { KPOOL_OP_READ };
FIXTURE_VARIANT_ADD(fields, write) { KPOOL_OP_WRITE };
FIXTURE_VARIANT_ADD(fields, fsync) { KPOOL_OP_FSYNC };
FIXTURE_VARIANT_ADD(fields, copy) { KPOOL_OP_COPY };
FIXTURE_VARIANT_ADD(fields, crc32c) { KPOOL_OP_CRC32C };
FIXTURE_VARIANT_ADD(fields, sha256) { KPOOL_OP_SHA256 };
FIXTURE_VARIANT_ADD(fields, call) { KPOOL_OP_CALL };

FIXTURE_SETUP(fields)
{
	struct kpool_ring_params p = { .arena_size = KP_SAMPLE_ARENA };

	self->file = -1;
	KP_RING_OPEN(8, &p);
	if (variant->op == KPOOL_OP_CALL &&
	    !(self->ring.features & KPOOL_FEAT_CALL))
		SKIP(return, "no KPOOL_FEAT_CALL in this module");
	self->file = memfd_create("kpool-fields", 0);
	ASSERT_LE(0, self->file);
	ASSERT_EQ(0, ftruncate(self->file, KP_SAMPLE_FILE));
}

FIXTURE_TEARDOWN(fields)
{
	if (self->file >= 0)
		close(self->file);
	KP_RING_CLOSE();
}

/* The op's sample SQE, queued. */
static struct kpool_sqe *q_sample(struct kpool_ring *r, unsigned int op,
				  int file)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	if (!sqe)
		return NULL;		/* the ring is never full here */
	kp_prep_sample(sqe, op, file);
	sqe->user_data = SAMPLE_DATA;
	return sqe;
}

/* Submit what is queued; the result of the CQE that says @user_data. */
static int result_of(struct kpool_ring *r, __u64 user_data)
{
	struct kpool_cqe *cqe;
	int res = -9999;

	if (kpool_submit(r) < 1)
		return res;
	while (res == -9999 && !kpool_wait_cqe_timeout(r, &cqe, WAIT_NS)) {
		if (cqe->user_data == user_data)
			res = cqe->res;
		kpool_cqe_seen(r, cqe);
	}
	return res;
}

TEST_F(fields, the_sample_is_accepted)
{
	int res;

	ASSERT_NE(NULL, q_sample(&self->ring, variant->op, self->file));
	/* A function has no worker thread here: cancel it, once taken. */
	if (variant->op == KPOOL_OP_CALL)
		q_cancel(&self->ring, SAMPLE_DATA, SAMPLE_DATA + 1);
	res = result_of(&self->ring, SAMPLE_DATA);
	TH_LOG("op %u: sample completed with %d", variant->op, res);
	EXPECT_TRUE(res != -EINVAL && res != -9999);
}

TEST_F(fields, each_field_it_does_not_read_is_refused)
{
	static const struct { unsigned int field; const char *name; } all[] = {
		{ KP_FD, "fd" }, { KP_OFF, "off" }, { KP_ADDR, "addr" },
		{ KP_LEN, "len" }, { 0, "op_flags" },
	};
	const struct kp_op_sample *s = &kp_op_samples[variant->op];
	unsigned int i, tried = 0, wrong = 0;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct kpool_sqe *sqe;
		int res;

		if (all[i].field & s->uses)
			continue;
		sqe = q_sample(&self->ring, variant->op, self->file);
		ASSERT_NE(NULL, sqe);
		switch (all[i].field) {
		case KP_FD:
			sqe->fd = self->file;
			break;
		case KP_OFF:
			sqe->off = 8;
			break;
		case KP_ADDR:
			sqe->addr = 8;
			break;
		case KP_LEN:
			sqe->len = 8;
			break;
		default:
			sqe->op_flags |= s->unknown_op_flag;
		}
		res = result_of(&self->ring, SAMPLE_DATA);
		tried++;
		if (res != -EINVAL) {
			wrong++;
			TH_LOG("op %u with %s set: %d", variant->op, all[i].name,
			       res);
		}
	}
	ASSERT_LT(0, tried);
	EXPECT_EQ(0, wrong);
}

TEST_HARNESS_MAIN
