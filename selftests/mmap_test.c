// SPDX-License-Identifier: GPL-2.0
/*
 * mmap of the three regions: each maps at its reported size and no more,
 * unknown offsets are refused, the module-written region stays read-only
 * (even through mprotect), and fresh regions hold no stale data.
 */
#include "kselftest_harness.h"
#include "kpool_util.h"

FIXTURE(mmap) {
	int fd;
	struct kpool_setup p;
};

FIXTURE_VARIANT(mmap) {
	int region;	/* 0 sq_ring, 1 sqes, 2 cq_ring */
	int writable;
};

FIXTURE_VARIANT_ADD(mmap, sq_ring) { .region = 0, .writable = 1 };
FIXTURE_VARIANT_ADD(mmap, sqes) { .region = 1, .writable = 1 };
FIXTURE_VARIANT_ADD(mmap, cq_ring) { .region = 2, .writable = 0 };

static const struct kpool_region *region_of(const struct kpool_setup *p,
					    int which)
{
	return which == 0 ? &p->sq_ring : which == 1 ? &p->sqes : &p->cq_ring;
}

FIXTURE_SETUP(mmap)
{
	self->fd = -1;
	KP_REQUIRE_MODULE();
	self->fd = kp_open();
	ASSERT_LE(0, self->fd);
	kp_setup_init(&self->p, 64, 0);
	ASSERT_EQ(0, kp_ioctl(self->fd, KPOOL_IOC_SETUP, &self->p));
}

FIXTURE_TEARDOWN(mmap)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(mmap, maps_at_reported_size)
{
	const struct kpool_region *r = region_of(&self->p, variant->region);
	int prot = variant->writable ? PROT_READ | PROT_WRITE : PROT_READ;
	void *m = mmap(NULL, r->size, prot, MAP_SHARED, self->fd, r->offset);

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, munmap(m, r->size));
}

TEST_F(mmap, fresh_region_is_zero)
{
	const struct kpool_region *r = region_of(&self->p, variant->region);
	unsigned char *m = mmap(NULL, r->size, PROT_READ, MAP_SHARED,
				self->fd, r->offset);
	size_t i, nonzero = 0;

	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < r->size; i++)
		nonzero += m[i] != 0;
	munmap(m, r->size);
	ASSERT_EQ(0, nonzero);
}

TEST_F(mmap, larger_than_region_rejected)
{
	const struct kpool_region *r = region_of(&self->p, variant->region);
	void *m = mmap(NULL, r->size + 4096, PROT_READ, MAP_SHARED, self->fd,
		       r->offset);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mmap, offset_inside_region_rejected)
{
	const struct kpool_region *r = region_of(&self->p, variant->region);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd,
		       r->offset + 4096);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mmap, write_mapping_only_where_program_writes)
{
	const struct kpool_region *r = region_of(&self->p, variant->region);
	void *m = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, r->offset);

	if (variant->writable) {
		ASSERT_NE(MAP_FAILED, m);
		munmap(m, r->size);
	} else {
		ASSERT_EQ(MAP_FAILED, m);
		ASSERT_EQ(EPERM, errno);
	}
}

TEST_F(mmap, mprotect_cannot_add_write_to_read_only)
{
	const struct kpool_region *r = region_of(&self->p, variant->region);
	void *m = mmap(NULL, r->size, PROT_READ, MAP_SHARED, self->fd,
		       r->offset);
	int ret;

	ASSERT_NE(MAP_FAILED, m);
	ret = mprotect(m, r->size, PROT_READ | PROT_WRITE);
	munmap(m, r->size);
	if (variant->writable) {
		ASSERT_EQ(0, ret);
	} else {
		ASSERT_EQ(-1, ret);
	}
}

TEST_F(mmap, unknown_offset_rejected)
{
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd,
		       0x70000000);

	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(mmap, mapping_outlives_close)
{
	/* A mapping holds the pool: the rings stay valid after close(). */
	const struct kpool_region *r = region_of(&self->p, variant->region);
	volatile unsigned char *m = mmap(NULL, r->size, PROT_READ, MAP_SHARED,
					 self->fd, r->offset);

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, m[r->size - 1]);
	munmap((void *)m, r->size);
}

TEST_HARNESS_MAIN
