// SPDX-License-Identifier: GPL-2.0
/*
 * The arena and the data ops: READ, WRITE, FSYNC, COPY, CRC32C, SHA256,
 * each checked against an independent reference (nettle's SHA-256, a
 * bitwise CRC32C, memmove, byte compares), every way an SQE of theirs is
 * refused, and files that change under a task.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <fcntl.h>
#include <nettle/sha2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define ARENA		(8u << 20)
#define FILE_SIZE	((3u << 20) + 123)
#define PROMPT		(10000 * KP_MS)

static void fill(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	while (len--) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*buf++ = x;
	}
}

static void sha256_ref(const void *p, size_t len, uint8_t out[32])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, len, p);
	sha256_digest(&c, 32, out);
}

FIXTURE(data) {
	struct kpool_ring ring;
	int up;
	char path[64];
	int fd;
	unsigned char *file;	/* what the file holds */
	unsigned char *scratch;
};

/*
 * A ring with an arena and a FILE_SIZE file of known bytes (@seed), for
 * this fixture and those that embed it.  0, or the line that failed.
 */
static int data_open(struct _test_data_data *d, unsigned int entries,
		     const char *name, uint32_t seed)
{
	struct kpool_ring_params p = { .arena_size = ARENA };

	d->file = malloc(FILE_SIZE);
	if (!d->file || kpool_ring_open(&d->ring, entries, &p))
		return __LINE__;
	d->up = 1;
	snprintf(d->path, sizeof(d->path), "/tmp/kpool-%s-%d", name, getpid());
	d->fd = open(d->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (d->fd < 0)
		return __LINE__;
	fill(d->file, FILE_SIZE, seed);
	if (pwrite(d->fd, d->file, FILE_SIZE, 0) != FILE_SIZE)
		return __LINE__;
	return 0;
}

static void data_close(struct _test_data_data *d)
{
	if (d->fd >= 0)
		close(d->fd);
	unlink(d->path);
	if (d->up)
		kpool_ring_close(&d->ring);
	free(d->file);
	free(d->scratch);
}

FIXTURE_SETUP(data)
{
	memset(self, 0, sizeof(*self));
	self->fd = -1;
	KP_REQUIRE_MODULE();
	self->scratch = malloc(ARENA);
	ASSERT_NE(NULL, self->scratch);
	ASSERT_EQ(0, data_open(self, 64, "data", 7));
}

FIXTURE_TEARDOWN(data)
{
	data_close(self);
}

/* Submit the SQE set up by the caller and return its CQE. */
#define run1(r)		kp_run1(r, PROMPT)

#define ARENA_AT(self, off)	((unsigned char *)(self)->ring.arena + (off))

/* ---- the arena ---- */

TEST_F(data, arena_is_reported_mapped_and_zero)
{
	size_t i, nonzero = 0;

	ASSERT_EQ(ARENA, self->ring.arena_size);
	for (i = 0; i < ARENA; i++)
		nonzero += ARENA_AT(self, 0)[i] != 0;
	ASSERT_EQ(0, nonzero);
}

TEST(arena_size_rounds_up_to_pages)
{
	struct kpool_setup p;
	int fd;

	KP_REQUIRE_MODULE();
	fd = kp_open();
	ASSERT_LE(0, fd);
	kp_setup_init(&p, 8, 0);
	p.arena_size = 5000;
	ASSERT_EQ(0, kp_ioctl(fd, KPOOL_IOC_SETUP, &p));
	EXPECT_EQ(8192, p.arena_size);
	EXPECT_EQ(KPOOL_OFF_ARENA, p.arena.offset);
	EXPECT_EQ(8192, p.arena.size);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd,
				   KPOOL_OFF_ARENA));
	close(fd);
}

TEST(arena_above_max_rejected)
{
	struct kpool_setup p;
	int fd;

	KP_REQUIRE_MODULE();
	fd = kp_open();
	ASSERT_LE(0, fd);
	kp_setup_init(&p, 8, 0);
	p.arena_size = ((__u64)kp_param("max_arena_mb") << 20) + 1;
	ASSERT_EQ(-EINVAL, kp_ioctl(fd, KPOOL_IOC_SETUP, &p));
	close(fd);
}

TEST(no_arena_means_no_data_range)
{
	struct kpool_ring r;
	struct kpool_cqe cqe;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&r, 8, NULL));
	kpool_prep_crc32c(kpool_get_sqe(&r), 0, 1, 0);
	cqe = run1(&r);
	kpool_ring_close(&r);
	ASSERT_EQ(-EINVAL, cqe.res);
}

/* ---- READ, WRITE, FSYNC ---- */

FIXTURE(read_range) {
	struct _test_data_data d;
};

FIXTURE_VARIANT(read_range) {
	__u64 off;
	__u32 len;
};

FIXTURE_VARIANT_ADD(read_range, first_page) { .off = 0, .len = 4096 };
FIXTURE_VARIANT_ADD(read_range, one_byte) { .off = 100, .len = 1 };
FIXTURE_VARIANT_ADD(read_range, unaligned) { .off = 4095, .len = 8193 };
FIXTURE_VARIANT_ADD(read_range, whole_file) { .off = 0, .len = FILE_SIZE };

FIXTURE_SETUP(read_range)
{
	memset(&self->d, 0, sizeof(self->d));
	self->d.fd = -1;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, data_open(&self->d, 8, "rr", 3));
}

FIXTURE_TEARDOWN(read_range)
{
	data_close(&self->d);
}

TEST_F(read_range, bytes_match_the_file)
{
	struct _test_data_data *d = &self->d;
	struct kpool_cqe cqe;

	kpool_prep_read(kpool_get_sqe(&d->ring), d->fd, 64, variant->len,
			variant->off);
	cqe = run1(&d->ring);
	ASSERT_EQ((int)variant->len, cqe.res);
	ASSERT_EQ(0, memcmp((char *)d->ring.arena + 64, d->file + variant->off,
			    variant->len));
}

TEST_F(data, read_short_at_end_of_file)
{
	kpool_prep_read(kpool_get_sqe(&self->ring), self->fd, 0, 8192,
			FILE_SIZE - 100);
	ASSERT_EQ(100, run1(&self->ring).res);
}

TEST_F(data, read_past_end_of_file_is_empty)
{
	kpool_prep_read(kpool_get_sqe(&self->ring), self->fd, 0, 8192,
			FILE_SIZE + 5);
	ASSERT_EQ(0, run1(&self->ring).res);
}

TEST_F(data, write_lands_in_the_file)
{
	const __u32 len = (2u << 20) + 7;

	fill(ARENA_AT(self, 3), len, 11);
	kpool_prep_write(kpool_get_sqe(&self->ring), self->fd, 3, len, 5);
	ASSERT_EQ((int)len, run1(&self->ring).res);
	ASSERT_EQ(len, pread(self->fd, self->scratch, len, 5));
	ASSERT_EQ(0, memcmp(self->scratch, ARENA_AT(self, 3), len));
}

TEST_F(data, fsync_and_fdatasync_succeed)
{
	kpool_prep_fsync(kpool_get_sqe(&self->ring), self->fd, 0);
	EXPECT_EQ(0, run1(&self->ring).res);
	kpool_prep_fsync(kpool_get_sqe(&self->ring), self->fd,
			 KPOOL_FSYNC_DATASYNC);
	EXPECT_EQ(0, run1(&self->ring).res);
}

TEST_F(data, fsync_of_a_read_only_fd_succeeds)
{
	int ro = open(self->path, O_RDONLY);

	ASSERT_LE(0, ro);
	kpool_prep_fsync(kpool_get_sqe(&self->ring), ro, 0);
	EXPECT_EQ(0, run1(&self->ring).res);
	close(ro);
}

/* ---- COPY ---- */

FIXTURE(copy) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(copy) {
	__u64 src, dst;
	__u32 len;
};

FIXTURE_VARIANT_ADD(copy, disjoint) { .src = 0, .dst = 1 << 20, .len = 300000 };
FIXTURE_VARIANT_ADD(copy, overlap_dst_above) { .src = 10, .dst = 4000, .len = 200000 };
FIXTURE_VARIANT_ADD(copy, overlap_dst_below) { .src = 4000, .dst = 10, .len = 200000 };
FIXTURE_VARIANT_ADD(copy, long_overlap_by_one) {
	.src = 0, .dst = 1, .len = (3u << 20) + 17
};
FIXTURE_VARIANT_ADD(copy, onto_itself) { .src = 99, .dst = 99, .len = 70000 };

FIXTURE_SETUP(copy)
{
	struct kpool_ring_params p = { .arena_size = ARENA };

	KP_RING_OPEN(8, &p);
}

FIXTURE_TEARDOWN(copy)
{
	KP_RING_CLOSE();
}

TEST_F(copy, behaves_like_memmove)
{
	unsigned char *want = malloc(ARENA);
	unsigned char *arena = self->ring.arena;
	int same;

	ASSERT_NE(NULL, want);
	fill(arena, ARENA, 5);
	memcpy(want, arena, ARENA);
	memmove(want + variant->dst, want + variant->src, variant->len);
	kpool_prep_copy(kpool_get_sqe(&self->ring), variant->dst, variant->src,
			variant->len);
	ASSERT_EQ((int)variant->len, run1(&self->ring).res);
	same = !memcmp(want, arena, ARENA);
	free(want);
	ASSERT_TRUE(same);
}

/* ---- CRC32C and SHA256 ---- */

TEST_F(data, crc32c_of_the_check_string)
{
	struct kpool_cqe cqe;

	memcpy(ARENA_AT(self, 0), "123456789", 9);
	kpool_prep_crc32c(kpool_get_sqe(&self->ring), 0, 9, 0);
	cqe = run1(&self->ring);
	ASSERT_EQ(0, cqe.res);
	ASSERT_EQ(0xE3069283u, cqe.aux);
}

TEST_F(data, crc32c_matches_the_reference)
{
	const __u32 len = (1u << 20) + 3;
	struct kpool_cqe cqe;

	fill(ARENA_AT(self, 1), len, 9);
	kpool_prep_crc32c(kpool_get_sqe(&self->ring), 1, len, 0);
	cqe = run1(&self->ring);
	ASSERT_EQ(0, cqe.res);
	ASSERT_EQ(kp_crc32c_ref(0, ARENA_AT(self, 1), len), cqe.aux);
}

TEST_F(data, crc32c_continued_equals_whole)
{
	struct kpool_cqe first, second;

	fill(ARENA_AT(self, 0), 100000, 4);
	kpool_prep_crc32c(kpool_get_sqe(&self->ring), 0, 33333, 0);
	first = run1(&self->ring);
	kpool_prep_crc32c(kpool_get_sqe(&self->ring), 33333, 66667, first.aux);
	second = run1(&self->ring);
	ASSERT_EQ(kp_crc32c_ref(0, ARENA_AT(self, 0), 100000), second.aux);
}

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

#define CTX_AT	(ARENA - 4096)

static struct kpool_sha256_ctx *ctx_of(struct _test_data_data *self)
{
	return (struct kpool_sha256_ctx *)ARENA_AT(self, CTX_AT);
}

TEST_F(data, sha256_of_abc)
{
	char got[65];

	memcpy(ARENA_AT(self, 0), "abc", 3);
	kpool_prep_sha256(kpool_get_sqe(&self->ring), 0, 3, CTX_AT,
			  KPOOL_SHA256_INIT | KPOOL_SHA256_FINAL);
	ASSERT_EQ(0, run1(&self->ring).res);
	hex(ctx_of(self)->digest, got);
	ASSERT_STREQ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		     got);
}

TEST_F(data, sha256_of_nothing)
{
	char got[65];

	kpool_prep_sha256(kpool_get_sqe(&self->ring), 0, 0, CTX_AT,
			  KPOOL_SHA256_INIT | KPOOL_SHA256_FINAL);
	ASSERT_EQ(0, run1(&self->ring).res);
	hex(ctx_of(self)->digest, got);
	ASSERT_STREQ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		     got);
}

TEST_F(data, sha256_matches_the_reference)
{
	const __u32 len = (3u << 20) + 1;
	uint8_t want[32];

	fill(ARENA_AT(self, 0), len, 8);
	sha256_ref(ARENA_AT(self, 0), len, want);
	kpool_prep_sha256(kpool_get_sqe(&self->ring), 0, len, CTX_AT,
			  KPOOL_SHA256_INIT | KPOOL_SHA256_FINAL);
	ASSERT_EQ(0, run1(&self->ring).res);
	ASSERT_EQ(0, memcmp(want, ctx_of(self)->digest, 32));
}

TEST_F(data, sha256_streamed_equals_one_shot)
{
	static const __u32 parts[] = { 1000, 64, 77777 };
	uint8_t want[32];
	__u64 at = 0;

	fill(ARENA_AT(self, 0), 1000 + 64 + 77777, 6);
	sha256_ref(ARENA_AT(self, 0), 1000 + 64 + 77777, want);
	for (int i = 0; i < 3; i++) {
		__u32 flags = (i == 0 ? KPOOL_SHA256_INIT : 0) |
			      (i == 2 ? KPOOL_SHA256_FINAL : 0);

		kpool_prep_sha256(kpool_get_sqe(&self->ring), at, parts[i],
				  CTX_AT, flags);
		ASSERT_EQ(0, run1(&self->ring).res);
		at += parts[i];
	}
	ASSERT_EQ(0, memcmp(want, ctx_of(self)->digest, 32));
}

/* ---- every way a data SQE is refused ---- */

enum fd_kind {
	FD_NONE, FD_FILE_RW, FD_FILE_RO, FD_FILE_WO, FD_BAD, FD_CLOSED,
	FD_DIR, FD_PIPE, FD_SOCKET, FD_CHARDEV, FD_DIRECT,
};

FIXTURE(bad_data) {
	struct _test_data_data d;
	int fd;
};

FIXTURE_VARIANT(bad_data) {
	struct kpool_sqe sqe;
	enum fd_kind fd;
	int want;
};

#define RD(...) { .op = KPOOL_OP_READ, .len = 4096, __VA_ARGS__ }
#define WR(...) { .op = KPOOL_OP_WRITE, .len = 4096, __VA_ARGS__ }
FIXTURE_VARIANT_ADD(bad_data, read_fd_minus_one) { .sqe = RD(), .fd = FD_BAD, .want = -EBADF };
FIXTURE_VARIANT_ADD(bad_data, read_closed_fd) { .sqe = RD(), .fd = FD_CLOSED, .want = -EBADF };
FIXTURE_VARIANT_ADD(bad_data, read_directory) { .sqe = RD(), .fd = FD_DIR, .want = -EISDIR };
FIXTURE_VARIANT_ADD(bad_data, read_pipe) { .sqe = RD(), .fd = FD_PIPE, .want = -ESPIPE };
FIXTURE_VARIANT_ADD(bad_data, read_socket) { .sqe = RD(), .fd = FD_SOCKET, .want = -ESPIPE };
FIXTURE_VARIANT_ADD(bad_data, read_char_device) { .sqe = RD(), .fd = FD_CHARDEV, .want = -EINVAL };
FIXTURE_VARIANT_ADD(bad_data, read_o_direct_file) { .sqe = RD(), .fd = FD_DIRECT, .want = -EINVAL };
FIXTURE_VARIANT_ADD(bad_data, read_write_only_fd) { .sqe = RD(), .fd = FD_FILE_WO, .want = -EBADF };
FIXTURE_VARIANT_ADD(bad_data, write_read_only_fd) { .sqe = WR(), .fd = FD_FILE_RO, .want = -EBADF };
FIXTURE_VARIANT_ADD(bad_data, read_past_arena) {
	.sqe = RD(.addr = ARENA - 100), .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, read_wrapping_range) {
	.sqe = RD(.addr = ~0ull - 10), .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, read_zero_length) {
	.sqe = { .op = KPOOL_OP_READ }, .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, read_offset_beyond_file_size_type) {
	.sqe = RD(.off = 1ull << 63), .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, read_op_flags) {
	.sqe = RD(.op_flags = 1), .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, fsync_with_a_range) {
	.sqe = { .op = KPOOL_OP_FSYNC, .len = 1 }, .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, fsync_unknown_flags) {
	.sqe = { .op = KPOOL_OP_FSYNC, .op_flags = 2 }, .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, fsync_pipe) {
	.sqe = { .op = KPOOL_OP_FSYNC }, .fd = FD_PIPE, .want = -ESPIPE
};
FIXTURE_VARIANT_ADD(bad_data, copy_destination_past_arena) {
	.sqe = { .op = KPOOL_OP_COPY, .len = 10, .off = ARENA - 5 }, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, copy_source_wrapping) {
	.sqe = { .op = KPOOL_OP_COPY, .len = 10, .addr = ~0ull }, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, copy_with_fd) {
	.sqe = { .op = KPOOL_OP_COPY, .len = 10 }, .fd = FD_FILE_RW, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, copy_zero_length) {
	.sqe = { .op = KPOOL_OP_COPY }, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, crc32c_seed_beyond_32_bits) {
	.sqe = { .op = KPOOL_OP_CRC32C, .len = 1, .off = 1ull << 32 }, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, crc32c_zero_length) {
	.sqe = { .op = KPOOL_OP_CRC32C }, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, sha256_unaligned_context) {
	.sqe = { .op = KPOOL_OP_SHA256, .len = 1, .off = 4 }, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, sha256_context_past_arena) {
	.sqe = { .op = KPOOL_OP_SHA256, .len = 1, .off = ARENA - 8 }, .want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, sha256_unknown_flags) {
	.sqe = { .op = KPOOL_OP_SHA256, .len = 1, .off = 4096, .op_flags = 4 },
	.want = -EINVAL
};
FIXTURE_VARIANT_ADD(bad_data, sha256_empty_range_not_at_zero) {
	.sqe = { .op = KPOOL_OP_SHA256, .addr = 8, .off = 4096 }, .want = -EINVAL
};

FIXTURE_SETUP(bad_data)
{
	struct _test_data_data *d = &self->d;
	int pipefd[2];

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	self->fd = -1;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, data_open(d, 8, "bad", 1));
	switch (variant->fd) {
	case FD_NONE:
		self->fd = 0;
		return;
	case FD_FILE_RW:
		self->fd = dup(d->fd);
		break;
	case FD_FILE_RO:
		self->fd = open(d->path, O_RDONLY);
		break;
	case FD_FILE_WO:
		self->fd = open(d->path, O_WRONLY);
		break;
	case FD_BAD:
		self->fd = -1;
		return;
	case FD_CLOSED:
		self->fd = dup(d->fd);
		close(self->fd);
		return;
	case FD_DIR:
		self->fd = open("/tmp", O_RDONLY | O_DIRECTORY);
		break;
	case FD_PIPE:
		ASSERT_EQ(0, pipe(pipefd));
		close(pipefd[1]);
		self->fd = pipefd[0];
		break;
	case FD_SOCKET:
		self->fd = socket(AF_UNIX, SOCK_STREAM, 0);
		break;
	case FD_CHARDEV:
		self->fd = open("/dev/null", O_RDWR);
		break;
	case FD_DIRECT:
		self->fd = open(d->path, O_RDWR | O_DIRECT);
		if (self->fd < 0 && errno == EINVAL)
			SKIP(return, "this filesystem has no O_DIRECT");
		break;
	}
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bad_data)
{
	if (self->fd > 0 && variant->fd != FD_CLOSED)
		close(self->fd);
	data_close(&self->d);
}

TEST_F(bad_data, refused_with_its_errno)
{
	struct kpool_sqe *sqe = kpool_get_sqe(&self->d.ring);
	struct kpool_cqe cqe;

	*sqe = variant->sqe;
	sqe->fd = variant->fd == FD_NONE ? 0 : self->fd;
	cqe = run1(&self->d.ring);
	ASSERT_EQ(variant->want, cqe.res);
}

/* ---- files and tasks over time ---- */

static void queue_burn(struct kpool_ring *r, __u64 ms)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	kpool_prep_burn(sqe, ms * KP_MS);
	kpool_sqe_set_data(sqe, 1);
}

TEST(fd_closed_while_the_read_waits)
{
	struct kpool_ring_params p = { .arena_size = ARENA, .capacity = 1 };
	static unsigned char want[FILE_SIZE];
	char path[64];
	struct kpool_cqe cqes[2];
	struct kpool_ring r;
	int fd;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&r, 8, &p));
	snprintf(path, sizeof(path), "/tmp/kpool-close-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	fill(want, FILE_SIZE, 2);
	ASSERT_EQ(FILE_SIZE, pwrite(fd, want, FILE_SIZE, 0));
	queue_burn(&r, 200);			/* holds the only slot */
	kpool_prep_read(kpool_get_sqe(&r), fd, 0, FILE_SIZE, 0);
	ASSERT_EQ(2, kpool_submit(&r));
	close(fd);				/* the task holds its own ref */
	unlink(path);
	ASSERT_EQ(2, kpool_submit_and_wait(&r, 2) >= 0 ? 2 : -1);
	ASSERT_EQ(2, kp_reap(&r, cqes, 2));
	EXPECT_EQ(FILE_SIZE, cqes[1].res);
	EXPECT_EQ(0, memcmp(r.arena, want, FILE_SIZE));
	kpool_ring_close(&r);
}

TEST(file_truncated_before_the_read_runs)
{
	struct kpool_ring_params p = { .arena_size = ARENA, .capacity = 1 };
	static unsigned char buf[FILE_SIZE];
	struct kpool_cqe cqes[2];
	struct kpool_ring r;
	char path[64];
	int fd;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&r, 8, &p));
	snprintf(path, sizeof(path), "/tmp/kpool-trunc-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(FILE_SIZE, pwrite(fd, buf, FILE_SIZE, 0));
	queue_burn(&r, 200);
	kpool_prep_read(kpool_get_sqe(&r), fd, 0, FILE_SIZE, 0);
	ASSERT_EQ(2, kpool_submit(&r));
	ASSERT_EQ(0, ftruncate(fd, 1 << 20));
	ASSERT_LE(0, kpool_submit_and_wait(&r, 2));
	ASSERT_EQ(2, kp_reap(&r, cqes, 2));
	EXPECT_EQ(1 << 20, cqes[1].res);	/* short: what was left */
	close(fd);
	unlink(path);
	kpool_ring_close(&r);
}

#define BIG	(64u << 20)

FIXTURE(long_op) {
	struct kpool_ring ring;
	int up;
};

FIXTURE_VARIANT(long_op) {
	__u8 op;
};

FIXTURE_VARIANT_ADD(long_op, crc32c) { .op = KPOOL_OP_CRC32C };
FIXTURE_VARIANT_ADD(long_op, sha256) { .op = KPOOL_OP_SHA256 };

FIXTURE_SETUP(long_op)
{
	struct kpool_ring_params p = { .arena_size = BIG + 4096 };

	KP_RING_OPEN(8, &p);
}

FIXTURE_TEARDOWN(long_op)
{
	KP_RING_CLOSE();
}

static struct kpool_sqe *queue_long(struct kpool_ring *r, __u8 op)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	if (op == KPOOL_OP_CRC32C)
		kpool_prep_crc32c(sqe, 0, BIG, 0);
	else
		kpool_prep_sha256(sqe, 0, BIG, BIG,
				  KPOOL_SHA256_INIT | KPOOL_SHA256_FINAL);
	kpool_sqe_set_data(sqe, 1);
	return sqe;
}

TEST_F(long_op, deadline_stops_it_between_chunks)
{
	kpool_sqe_set_deadline(queue_long(&self->ring, variant->op), 2 * KP_MS);
	ASSERT_EQ(-ETIME, run1(&self->ring).res);
}

TEST_F(long_op, cancel_stops_it_between_chunks)
{
	struct kpool_cqe cqes[2];
	struct kpool_sqe *sqe;

	queue_long(&self->ring, variant->op);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	sqe = kpool_get_sqe(&self->ring);
	kpool_prep_cancel(sqe, 1);
	kpool_sqe_set_data(sqe, 99);
	ASSERT_EQ(1, kpool_submit_and_wait(&self->ring, 2));
	ASSERT_EQ(2, kp_reap(&self->ring, cqes, 2));
	EXPECT_EQ(-ECANCELED, cqes[0].user_data == 1 ? cqes[0].res : cqes[1].res);
}

TEST(many_pools_read_one_file)
{
	struct kpool_ring_params p = { .arena_size = FILE_SIZE };
	static unsigned char want[FILE_SIZE];
	struct kpool_ring r[4];
	unsigned int i, c, bad = 0;
	char path[64];
	int fd;

	KP_REQUIRE_MODULE();
	snprintf(path, sizeof(path), "/tmp/kpool-many-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	fill(want, FILE_SIZE, 12);
	ASSERT_EQ(FILE_SIZE, pwrite(fd, want, FILE_SIZE, 0));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, kpool_ring_open(&r[i], 8, &p));
		for (c = 0; c < 4; c++) {
			__u64 at = (__u64)c << 20;
			__u32 len = c < 3 ? 1u << 20 : FILE_SIZE - (3u << 20);

			kpool_prep_read(kpool_get_sqe(&r[i]), fd, at, len, at);
		}
		ASSERT_EQ(4, kpool_submit(&r[i]));
	}
	for (i = 0; i < 4; i++) {
		struct kpool_cqe cqes[4];

		ASSERT_LE(0, kpool_submit_and_wait(&r[i], 4));
		ASSERT_EQ(4, kp_reap(&r[i], cqes, 4));
		for (c = 0; c < 4; c++)
			bad += cqes[c].res <= 0;
		bad += memcmp(r[i].arena, want, FILE_SIZE) != 0;
		kpool_ring_close(&r[i]);
	}
	close(fd);
	unlink(path);
	ASSERT_EQ(0, bad);
}

TEST_HARNESS_MAIN
