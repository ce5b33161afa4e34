// SPDX-License-Identifier: GPL-2.0
/*
 * Size versioning of every ioctl (iommufd's cmd_length test): each
 * argument struct starts with its own size.  Shorter than the module's
 * struct is EINVAL; longer with a zero tail acts exactly as the struct
 * alone (a newer program on an older module); longer with a nonzero tail
 * is E2BIG (the module cannot honour what it does not know); beyond a
 * page is E2BIG.  One variant per ioctl, each with arguments that work.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "kpool_util.h"

#define TAIL	8		/* bytes past the struct in the long cases */

/* Fill @buf with arguments that work for the ioctl; return its size. */
typedef size_t (*prep_fn)(void *buf);

static size_t prep_setup(void *buf)
{
	struct kpool_setup *p = buf;

	p->sq_entries = 8;
	return sizeof(*p);
}

static size_t prep_enter(void *buf)
{
	(void)buf;		/* submit nothing, wait for nothing */
	return sizeof(struct kpool_enter);
}

static size_t prep_probe(void *buf)
{
	(void)buf;		/* no ops array: only last_op */
	return sizeof(struct kpool_probe);
}

static size_t prep_tune(void *buf)
{
	struct kpool_tune *t = buf;

	t->capacity = 2;
	return sizeof(*t);
}

static size_t prep_drain(void *buf)
{
	(void)buf;		/* an empty pool drains at once */
	return sizeof(struct kpool_drain);
}

static size_t prep_stats(void *buf)
{
	(void)buf;		/* nothing wanted but the settings */
	return sizeof(struct kpool_stats);
}

static size_t prep_work(void *buf)
{
	struct kpool_work *w = buf;

	w->flags = KPOOL_WORK_TIMEOUT;	/* timeout 0: ETIME at once */
	return sizeof(*w);
}

FIXTURE(cmd_length) {
	int fd[2];
	unsigned char buf[2][4096 + 2 * TAIL];
};

FIXTURE_VARIANT(cmd_length) {
	unsigned long cmd;
	prep_fn prep;
	int set_up;		/* the pools need SETUP first */
};

FIXTURE_VARIANT_ADD(cmd_length, setup) {
	.cmd = KPOOL_IOC_SETUP, .prep = prep_setup,
};
FIXTURE_VARIANT_ADD(cmd_length, enter) {
	.cmd = KPOOL_IOC_ENTER, .prep = prep_enter, .set_up = 1,
};
FIXTURE_VARIANT_ADD(cmd_length, probe) {
	.cmd = KPOOL_IOC_PROBE, .prep = prep_probe,
};
FIXTURE_VARIANT_ADD(cmd_length, tune) {
	.cmd = KPOOL_IOC_TUNE, .prep = prep_tune, .set_up = 1,
};
FIXTURE_VARIANT_ADD(cmd_length, drain) {
	.cmd = KPOOL_IOC_DRAIN, .prep = prep_drain, .set_up = 1,
};
FIXTURE_VARIANT_ADD(cmd_length, stats) {
	.cmd = KPOOL_IOC_STATS, .prep = prep_stats, .set_up = 1,
};
FIXTURE_VARIANT_ADD(cmd_length, work) {
	.cmd = KPOOL_IOC_WORK, .prep = prep_work, .set_up = 1,
};

FIXTURE_SETUP(cmd_length)
{
	int i;

	self->fd[0] = self->fd[1] = -1;
	KP_REQUIRE_MODULE();
	for (i = 0; i < 2; i++) {
		struct kpool_setup p;

		self->fd[i] = kp_open();
		ASSERT_LE(0, self->fd[i]);
		if (!variant->set_up)
			continue;
		kp_setup_init(&p, 8, 0);
		p.capacity = 1;
		ASSERT_EQ(0, kp_ioctl(self->fd[i], KPOOL_IOC_SETUP, &p));
	}
	memset(self->buf, 0, sizeof(self->buf));
}

FIXTURE_TEARDOWN(cmd_length)
{
	if (self->fd[0] >= 0)
		close(self->fd[0]);
	if (self->fd[1] >= 0)
		close(self->fd[1]);
}

/* The ioctl on pool @i with its arguments and @size in the size field. */
static int call(FIXTURE_DATA(cmd_length) *self,
		const FIXTURE_VARIANT(cmd_length) *variant, int i, size_t size)
{
	memcpy(self->buf[i], &(__u32){ (__u32)size }, sizeof(__u32));
	return kp_ioctl(self->fd[i], variant->cmd, self->buf[i]);
}

TEST_F(cmd_length, zero_size_is_einval)
{
	variant->prep(self->buf[0]);
	EXPECT_EQ(-EINVAL, call(self, variant, 0, 0));
}

TEST_F(cmd_length, one_byte_short_is_einval)
{
	size_t size = variant->prep(self->buf[0]);

	EXPECT_EQ(-EINVAL, call(self, variant, 0, size - 1));
}

TEST_F(cmd_length, longer_with_a_zero_tail_acts_as_exact)
{
	size_t size = variant->prep(self->buf[0]);
	int exact, longer;

	variant->prep(self->buf[1]);
	exact = call(self, variant, 0, size);
	longer = call(self, variant, 1, size + TAIL);
	/* Both reach the op, which answers both the same way. */
	EXPECT_TRUE(exact == longer && exact != -EINVAL && exact != -E2BIG);
}

TEST_F(cmd_length, longer_with_a_nonzero_tail_is_e2big)
{
	size_t size = variant->prep(self->buf[0]);

	self->buf[0][size + TAIL - 1] = 1;
	EXPECT_EQ(-E2BIG, call(self, variant, 0, size + TAIL));
}

TEST_F(cmd_length, beyond_a_page_is_e2big)
{
	variant->prep(self->buf[0]);
	EXPECT_EQ(-E2BIG, call(self, variant, 0, 4096 + 1));
}

TEST_HARNESS_MAIN
