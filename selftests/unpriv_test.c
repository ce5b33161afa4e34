// SPDX-License-Identifier: GPL-2.0
/*
 * What a user without privileges can do with access to the device: run
 * tasks, and nothing more.  Fresh pools hold no stale data, the fields
 * the module owns cannot be written, no task reaches outside its pool,
 * and the documented limits hold (entries, arena, pools per user).
 *
 * Each test forks a child that drops to nobody (uid/gid 65534); the
 * device node is opened up to 0666 for the test only.
 */
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

/* Run @fn as nobody in a child; its exit status (0: every KP_CHECK held). */
static int as_nobody(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		kp_become_nobody();
		fn();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(nobody) {
	int up;
};

FIXTURE_SETUP(nobody)
{
	self->up = 0;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, chmod(KPOOL_DEV, 0666));
	self->up = 1;
}

FIXTURE_TEARDOWN(nobody)
{
	if (self->up)
		chmod(KPOOL_DEV, 0600);
}

#define ARENA	(1 << 20)

static void runs_tasks(void)
{
	struct kpool_ring_params p = { .arena_size = ARENA };
	struct kpool_ring r;
	struct kpool_cqe *cqe;

	KP_CHECK(kpool_ring_open(&r, 8, &p) == 0);
	memcpy(r.arena, "123456789", 9);
	kpool_prep_nop(kpool_get_sqe(&r));
	kpool_prep_crc32c(kpool_get_sqe(&r), 0, 9, 0);
	KP_CHECK(kpool_submit_and_wait(&r, 2) == 2);
	KP_CHECK(kpool_peek_cqe(&r, &cqe) == 0 && cqe->res == 0);
	kpool_cqe_seen(&r, cqe);
	KP_CHECK(kpool_peek_cqe(&r, &cqe) == 0 && cqe->aux == 0xE3069283u);
	kpool_ring_close(&r);
}

TEST_F(nobody, runs_tasks)
{
	ASSERT_EQ(0, as_nobody(runs_tasks));
}

static int all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len--)
		if (*c++)
			return 0;
	return 1;
}

static void fresh_pool_is_clean(void)
{
	struct kpool_ring_params p = { .arena_size = ARENA };
	struct kpool_counters total, ops[KPOOL_OP_LAST];
	struct kpool_probe_op probe[KPOOL_OP_LAST];
	struct kpool_ring r;
	unsigned int i;

	KP_CHECK(kpool_ring_open(&r, 64, &p) == 0);
	KP_CHECK(all_zero(r.arena, r.arena_size));
	KP_CHECK(all_zero(r.map_sqes, r.size_sqes));
	KP_CHECK(all_zero(r.map_sq_ring, r.size_sq_ring));
	KP_CHECK(all_zero(r.map_cq_ring, r.size_cq_ring));
	memset(&total, 0xa5, sizeof(total));
	memset(ops, 0xa5, sizeof(ops));
	KP_CHECK(kpool_read_stats(&r, &total, ops, KPOOL_OP_LAST) == 0);
	KP_CHECK(all_zero(&total, sizeof(total)));
	KP_CHECK(all_zero(ops, sizeof(ops)));
	memset(probe, 0xa5, sizeof(probe));
	KP_CHECK(kpool_probe_ops(r.fd, probe, KPOOL_OP_LAST, NULL) == 0);
	for (i = 0; i < KPOOL_OP_LAST; i++) {
		KP_CHECK(all_zero(probe[i].resv0, sizeof(probe[i].resv0)));
		/* the name is NUL-padded, not left with old bytes */
		KP_CHECK(all_zero(probe[i].name + strlen(probe[i].name) + 1,
				  sizeof(probe[i].name) -
				  strlen(probe[i].name) - 1));
	}
	kpool_ring_close(&r);
}

TEST_F(nobody, fresh_pool_holds_no_stale_data)
{
	struct kpool_ring_params p = { .arena_size = ARENA };
	struct kpool_ring r;

	/* Root dirties a pool of the same shape first, and frees it. */
	ASSERT_EQ(0, kpool_ring_open(&r, 64, &p));
	memset(r.arena, 0xa5, ARENA);
	for (int i = 0; i < 64; i++) {
		kpool_prep_copy(kpool_get_sqe(&r), 4096, 0, 4096);
		r.sq.sqes[i].user_data = ~0ull;
	}
	ASSERT_EQ(64, kpool_submit_and_wait(&r, 64));
	kpool_ring_close(&r);

	ASSERT_EQ(0, as_nobody(fresh_pool_is_clean));
}

static void cannot_write_module_fields(void)
{
	struct kpool_ring r;

	KP_CHECK(kpool_ring_open(&r, 8, NULL) == 0);
	KP_CHECK(mmap(NULL, r.size_cq_ring, PROT_READ | PROT_WRITE, MAP_SHARED,
		   r.fd, KPOOL_OFF_CQ_RING) == MAP_FAILED && errno == EPERM);
	KP_CHECK(mprotect(r.map_cq_ring, r.size_cq_ring,
		       PROT_READ | PROT_WRITE) == -1);
	kpool_ring_close(&r);
}

TEST_F(nobody, cannot_write_what_the_module_owns)
{
	ASSERT_EQ(0, as_nobody(cannot_write_module_fields));
}

static void stays_inside_its_pool(void)
{
	struct kpool_ring_params p = { .arena_size = 4096 };
	char path[64];
	struct kpool_ring r;
	struct kpool_cqe *cqe;
	int fd;

	snprintf(path, sizeof(path), "/tmp/kpool-nobody-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	KP_CHECK(fd >= 0 && ftruncate(fd, 8192) == 0);
	unlink(path);
	KP_CHECK(kpool_ring_open(&r, 8, &p) == 0);
	kpool_prep_read(kpool_get_sqe(&r), fd, 4000, 4096, 0);
	kpool_prep_copy(kpool_get_sqe(&r), 0, 1ull << 40, 16);
	kpool_prep_sha256(kpool_get_sqe(&r), 0, 16, 4096 - 8, 3);
	KP_CHECK(kpool_submit_and_wait(&r, 3) == 3);
	for (int i = 0; i < 3; i++) {
		KP_CHECK(kpool_peek_cqe(&r, &cqe) == 0 && cqe->res == -EINVAL);
		kpool_cqe_seen(&r, cqe);
	}
	/* A garbage SQ tail takes nothing. */
	kpool_store_release(r.sq.ktail, *r.sq.ktail + 1000);
	KP_CHECK(kpool_enter(r.fd, 1, 0, 0, 0, NULL) == -EINVAL);
	kpool_ring_close(&r);
	close(fd);
}

TEST_F(nobody, cannot_reach_outside_its_pool)
{
	ASSERT_EQ(0, as_nobody(stays_inside_its_pool));
}

static void size_limits_hold(void)
{
	unsigned long max_entries = kp_param("max_entries");
	unsigned long max_arena = kp_param("max_arena_mb");
	struct kpool_ring_params p = { .arena_size = (max_arena << 20) + 1 };
	struct kpool_ring r;

	KP_CHECK(max_entries && max_arena);
	KP_CHECK(kpool_ring_open(&r, 2 * max_entries, NULL) == -EINVAL);
	KP_CHECK(kpool_ring_open(&r, 8, &p) == -EINVAL);
}

TEST_F(nobody, entries_and_arena_limits_hold)
{
	ASSERT_EQ(0, as_nobody(size_limits_hold));
}

static void pools_per_user_limit_holds(void)
{
	unsigned long max = kp_param("max_pools_per_user");
	int fds[512], i, extra;

	KP_CHECK(max > 0 && max < 512);
	for (i = 0; i < (int)max; i++)
		KP_CHECK((fds[i] = kp_open()) >= 0);
	extra = kp_open();
	KP_CHECK(extra < 0 && errno == EMFILE);
	close(fds[0]);				/* one back, one more allowed */
	KP_CHECK((fds[0] = kp_open()) >= 0);
	for (i = 0; i < (int)max; i++)
		close(fds[i]);
}

TEST_F(nobody, pools_per_user_limit_holds)
{
	ASSERT_EQ(0, as_nobody(pools_per_user_limit_holds));
}

TEST_F(nobody, root_is_not_held_to_the_pool_limit)
{
	unsigned long max = kp_param("max_pools_per_user");
	int fds[512], i, opened = 0;

	ASSERT_LT(max, 511);
	for (i = 0; i <= (int)max; i++) {
		fds[i] = kp_open();
		opened += fds[i] >= 0;
	}
	for (i = 0; i <= (int)max; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	ASSERT_EQ(max + 1, opened);
}

TEST_HARNESS_MAIN
