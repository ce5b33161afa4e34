// SPDX-License-Identifier: GPL-2.0
/*
 * A pool shows itself in /proc/PID/fdinfo/FD: its settings, counts, ring
 * indices, main counters, stuck tasks, its oldest waiting and running
 * task, and each op's counters and histograms.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define MS	1000000ull

FIXTURE(fdinfo) {
	struct kpool_ring ring;
	char text[16384];
	int up;
};

FIXTURE_SETUP(fdinfo)
{
	struct kpool_ring_params p = { .capacity = 1 };

	KP_RING_OPEN(16, &p);
}

FIXTURE_TEARDOWN(fdinfo)
{
	KP_RING_CLOSE();
}

TEST_F(fdinfo, shows_settings_and_counts)
{
	q_burn(&self->ring, 3000 * MS, 7);
	q_nop(&self->ring, 8);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_read_fdinfo(self->ring.fd, self->text, sizeof(self->text)));
	TH_LOG("%s", self->text);
	EXPECT_TRUE(strstr(self->text, "capacity:\t1\n") &&
		    strstr(self->text, "running:\t1\n") &&
		    strstr(self->text, "waiting:\t1\n") &&
		    strstr(self->text, "submitted:\t2\n") &&
		    strstr(self->text, "sq_tail:\t2\n"));
}

TEST_F(fdinfo, names_the_oldest_tasks)
{
	q_burn(&self->ring, 3000 * MS, 7);
	q_nop(&self->ring, 8);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_read_fdinfo(self->ring.fd, self->text, sizeof(self->text)));
	EXPECT_TRUE(strstr(self->text, "oldest_running:\top=burn user_data=0x7 ") &&
		    strstr(self->text, "oldest_waiting:\top=nop user_data=0x8 "));
}

TEST_F(fdinfo, idle_pool_has_no_oldest_task)
{
	ASSERT_EQ(0, kp_read_fdinfo(self->ring.fd, self->text, sizeof(self->text)));
	EXPECT_TRUE(strstr(self->text, "oldest_running:\tnone\n") &&
		    strstr(self->text, "oldest_waiting:\tnone\n"));
}

/* Each op used has its counters and histograms, as STATS has them. */
TEST_F(fdinfo, per_op_lines_agree_with_stats)
{
	struct kpool_counters ops[KPOOL_OP_LAST];
	char want_burn[256], want_nop[256];

	q_burn(&self->ring, 3000 * MS, 7);
	q_nop(&self->ring, 8);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_read_fdinfo(self->ring.fd, self->text, sizeof(self->text)));
	ASSERT_EQ(0, kpool_read_stats(&self->ring, NULL, ops, KPOOL_OP_LAST));
	snprintf(want_burn, sizeof(want_burn),
		 "op:\tburn submitted=%llu started=%llu completed=%llu ",
		 (unsigned long long)ops[KPOOL_OP_BURN].submitted,
		 (unsigned long long)ops[KPOOL_OP_BURN].started,
		 (unsigned long long)ops[KPOOL_OP_BURN].completed);
	snprintf(want_nop, sizeof(want_nop),
		 "op:\tnop submitted=%llu started=%llu completed=%llu ",
		 (unsigned long long)ops[KPOOL_OP_NOP].submitted,
		 (unsigned long long)ops[KPOOL_OP_NOP].started,
		 (unsigned long long)ops[KPOOL_OP_NOP].completed);
	TH_LOG("%s", self->text);
	EXPECT_TRUE(strstr(self->text, want_burn) &&
		    strstr(self->text, want_nop) &&
		    strstr(self->text, "\nwait_hist:\tburn ") &&
		    strstr(self->text, "\nrun_hist:\tnop ") &&
		    !strstr(self->text, "op:\tcrc32c"));
}

TEST_F(fdinfo, counts_no_stuck_task_in_a_young_pool)
{
	q_burn(&self->ring, 3000 * MS, 7);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_read_fdinfo(self->ring.fd, self->text, sizeof(self->text)));
	EXPECT_TRUE(strstr(self->text, "stuck_now:\t0\n") &&
		    strstr(self->text, "stuck_total:\t0\n"));
}

TEST(pool_not_set_up_says_so)
{
	char text[256];
	int fd;

	KP_REQUIRE_MODULE();
	fd = kp_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kp_read_fdinfo(fd, text, sizeof(text)));
	close(fd);
	EXPECT_NE(NULL, strstr(text, "setup:\tno\n"));
}

TEST(unprivileged_user_reads_own_pool)
{
	int status;
	pid_t pid;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, chmod(KPOOL_DEV, 0666));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_ring r;
		char text[4096];

		kp_become_nobody();
		KP_CHECK(kpool_ring_open(&r, 8, NULL) == 0);
		KP_CHECK(kp_read_fdinfo(r.fd, text, sizeof(text)) == 0);
		KP_CHECK(strstr(text, "capacity:\t") != NULL);
		kpool_ring_close(&r);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	chmod(KPOOL_DEV, 0600);
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
