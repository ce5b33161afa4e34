// SPDX-License-Identifier: GPL-2.0
/*
 * fail-nth sweeps, like iommufd_fail_nth: run a scenario with the Nth
 * kernel allocation of this task failing, for N = 1, 2, ... until a run
 * completes without the fault firing.  Every injected failure must come
 * back as a clean errno (an ioctl's, mmap's, or a CQE's) and leave a pool
 * that still closes; KASAN and kmemleak in the debug guest catch what
 * leaks or breaks.  Needs CONFIG_FAULT_INJECTION with failslab and
 * fail_page_alloc in debugfs (the debug kernel); skips elsewhere.
 */
#include <sys/syscall.h>
#include "kselftest_harness.h"
#include "kpool_util.h"
#include "kpool_op_samples.h"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static char nth_path[64];

/* Make GFP_KERNEL allocations injectable; false where this kernel can't. */
static bool fail_nth_ready(void)
{
	snprintf(nth_path, sizeof(nth_path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	if (access(nth_path, W_OK))
		return false;
	/* Quiet: a stack dump per injected failure drowns the log. */
	write_str("/sys/kernel/debug/failslab/verbose", "0");
	write_str("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	return !write_str("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") &&
	       !write_str("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N") &&
	       !write_str("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N") &&
	       !write_str("/sys/kernel/debug/fail_page_alloc/min-order", "0");
}

static void fail_nth_set(unsigned int nth)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", nth);
	write_str(nth_path, buf);
}

/* True if the fault set by fail_nth_set() fired. */
static bool fail_nth_fired(void)
{
	char buf[16] = "";
	int fd = open(nth_path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	write_str(nth_path, "0");
	return atoi(buf) == 0;
}

/* ---- scenarios: 0 on success, a negative errno on a clean failure ---- */

static char file_path[64];

static int open_pool(struct kpool_ring *r)
{
	struct kpool_ring_params p = { .arena_size = KP_SAMPLE_ARENA,
					 .capacity = 2 };

	return kpool_ring_open(r, 16, &p);
}

/* Run one task of the given kind; its CQE's res, or an ENTER error. */
static int one_task(struct kpool_ring *r, int kind, int fd)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);
	struct kpool_cqe *cqe;
	int ret;

	if (!sqe)
		return -ENOSPC;		/* the ring is empty here: never */
	kp_prep_sample(sqe, kind, fd);
	ret = kpool_submit_and_wait(r, 1);
	if (ret < 0)
		return ret;
	ret = kpool_peek_cqe(r, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	kpool_cqe_seen(r, cqe);
	return ret > 0 ? 0 : ret;	/* READ, WRITE, COPY: a byte count */
}

FIXTURE(fail_nth) {
	int ready;
	int fd;
};

FIXTURE_VARIANT(fail_nth) {
	int scenario;		/* < KPOOL_OP_LAST: one task of that op */
};

enum { SC_SETUP_ONLY = 100, SC_DRAIN_STATS, SC_CLOSE_IN_FLIGHT };

FIXTURE_VARIANT_ADD(fail_nth, setup_and_mmap) { .scenario = SC_SETUP_ONLY };
FIXTURE_VARIANT_ADD(fail_nth, nop) { .scenario = KPOOL_OP_NOP };
FIXTURE_VARIANT_ADD(fail_nth, timeout) { .scenario = KPOOL_OP_TIMEOUT };
FIXTURE_VARIANT_ADD(fail_nth, cancel) { .scenario = KPOOL_OP_CANCEL };
FIXTURE_VARIANT_ADD(fail_nth, burn) { .scenario = KPOOL_OP_BURN };
FIXTURE_VARIANT_ADD(fail_nth, read) { .scenario = KPOOL_OP_READ };
FIXTURE_VARIANT_ADD(fail_nth, write) { .scenario = KPOOL_OP_WRITE };
FIXTURE_VARIANT_ADD(fail_nth, fsync) { .scenario = KPOOL_OP_FSYNC };
FIXTURE_VARIANT_ADD(fail_nth, copy) { .scenario = KPOOL_OP_COPY };
FIXTURE_VARIANT_ADD(fail_nth, crc32c) { .scenario = KPOOL_OP_CRC32C };
FIXTURE_VARIANT_ADD(fail_nth, sha256) { .scenario = KPOOL_OP_SHA256 };
FIXTURE_VARIANT_ADD(fail_nth, drain_and_stats) { .scenario = SC_DRAIN_STATS };
FIXTURE_VARIANT_ADD(fail_nth, close_in_flight) { .scenario = SC_CLOSE_IN_FLIGHT };

FIXTURE_SETUP(fail_nth)
{
	KP_REQUIRE_MODULE();
	self->ready = fail_nth_ready();
	if (!self->ready)
		SKIP(return, "no fail-nth fault injection in this kernel");
	snprintf(file_path, sizeof(file_path), "/tmp/kpool-nth-%d", getpid());
	self->fd = open(file_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, KP_SAMPLE_FILE));
}

FIXTURE_TEARDOWN(fail_nth)
{
	if (self->ready) {
		close(self->fd);
		unlink(file_path);
	}
}

static int run_scenario(int scenario, int fd)
{
	struct kpool_counters c;
	struct kpool_ring r;
	int ret = open_pool(&r);

	if (ret)
		return ret;
	switch (scenario) {
	case SC_SETUP_ONLY:
		break;
	case SC_DRAIN_STATS:
		ret = one_task(&r, KPOOL_OP_NOP, fd);
		if (!ret)
			ret = kpool_read_stats(&r, &c, NULL, 0);
		if (!ret)
			ret = kpool_drain(&r);
		break;
	case SC_CLOSE_IN_FLIGHT:
		for (int i = 0; i < 8; i++)
			kpool_prep_timeout(kpool_get_sqe(&r), 10000000000ull);
		ret = kpool_submit(&r);
		ret = ret < 0 ? ret : 0;
		break;
	default:
		ret = one_task(&r, scenario, fd);
		break;
	}
	kpool_ring_close(&r);
	return ret;
}

TEST_F_TIMEOUT(fail_nth, every_injected_failure_is_clean, 300)
{
	unsigned int nth, fired = 0, unclean = 0;

	for (nth = 1; nth < 2000; nth++) {
		int ret;

		fail_nth_set(nth);
		ret = run_scenario(variant->scenario, self->fd);
		if (!fail_nth_fired()) {
			/* Nothing left to fail: the run must have succeeded. */
			ASSERT_EQ(0, ret < 0 && ret != -ENOENT ? ret : 0);
			break;
		}
		fired++;
		/* A clean failure is 0 (absorbed) or a negative errno. */
		if (ret > 0 || ret < -4095)
			unclean++;
	}
	TH_LOG("%u injection points", fired);
	ASSERT_LT(nth, 2000);
	ASSERT_EQ(0, unclean);
}

TEST_HARNESS_MAIN
