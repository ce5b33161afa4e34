// SPDX-License-Identifier: GPL-2.0
/*
 * The machine-wide view (debugfs kpool/pools and kpool/tasks) and the
 * stuck-task watchdog (the stuck_ms module parameter):
 *   - a known pool is listed with its owner, settings and counts, and its
 *     tasks in the order that matters: stuck, running, then waiting in
 *     the order they will start (priority first);
 *   - the files are root's: nobody cannot open them;
 *   - reading them while four threads open and close pools is safe (KASAN
 *     in check-debug judges it);
 *   - a task older than stuck_ms is counted (STATS stuck_now and stuck),
 *     listed as stuck, logged once, and leaves stuck_now when it ends.
 */
#include <pthread.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define VIEW_DIR	"/sys/kernel/debug/kpool"
#define STUCK_PARAM	"/sys/module/kpool/parameters/stuck_ms"

/* Read a whole text file into @buf: its length, or -errno. */
static ssize_t read_text(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (total + 1 < (ssize_t)len &&
	       (n = read(fd, buf + total, len - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* Is debugfs mounted where the view lives?  Then the view must be there. */
static int debugfs_mounted(void)
{
	struct statfs fs;

	return !statfs("/sys/kernel/debug", &fs) && fs.f_type == DEBUGFS_MAGIC;
}

#define KP_REQUIRE_VIEW() do {						\
	KP_REQUIRE_MODULE();						\
	if (!debugfs_mounted())						\
		SKIP(return, "debugfs is not mounted");			\
} while (0)

/* This pool's block in kpool/tasks (from its header line on), or NULL. */
static char *pool_block(char *text, long id)
{
	char head[64];
	char *p, *next;

	snprintf(head, sizeof(head), "pool %ld pid %d ", id, (int)getpid());
	p = strstr(text, head);
	if (!p)
		return NULL;
	/* The block ends where the next pool begins. */
	next = strstr(p + 1, "\npool ");
	if (next)
		next[1] = '\0';
	return p;
}

FIXTURE(view) {
	struct kpool_ring ring;
	char text[65536];
	long id;
	int up;
};

FIXTURE_SETUP(view)
{
	struct kpool_ring_params p = { .capacity = 1 };

	self->up = 0;
	KP_REQUIRE_VIEW();
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 16, &p));
	self->up = 1;
	self->id = kp_fdinfo_value(self->ring.fd, "id");
	ASSERT_LT(0, self->id);
	/* One BURN runs; a NOP then a HIGH NOP wait behind it. */
	q_burn(&self->ring, 3000 * KP_MS, 7);
	q_nop(&self->ring, 8);
	kpool_sqe_set_prio(q_nop(&self->ring, 9), KPOOL_PRIO_HIGH);
	ASSERT_EQ(3, kpool_submit(&self->ring));
}

FIXTURE_TEARDOWN(view)
{
	if (self->up)
		kpool_ring_close(&self->ring);
}

TEST_F(view, pools_lists_the_pool_with_owner_and_counts)
{
	char want[256];
	char *block;

	ASSERT_LT(0, read_text(VIEW_DIR "/pools", self->text,
			       sizeof(self->text)));
	block = pool_block(self->text, self->id);
	ASSERT_NE(NULL, block);
	TH_LOG("%s", block);
	snprintf(want, sizeof(want), " uid %u capacity 1 max_waiting ",
		 (unsigned int)getuid());
	EXPECT_TRUE(strstr(block, want) &&
		    strstr(block, " running 1 waiting 2 stuck_now 0 submitted 3 completed 0 "));
}

TEST_F(view, tasks_lists_running_then_waiting_in_start_order)
{
	char *block, *burn, *high, *normal;

	ASSERT_LT(0, read_text(VIEW_DIR "/tasks", self->text,
			       sizeof(self->text)));
	block = pool_block(self->text, self->id);
	ASSERT_NE(NULL, block);
	TH_LOG("%s", block);
	burn = strstr(block, "  task op=burn state=running ");
	high = strstr(block, "  task op=nop state=waiting prio=1 where=- ");
	normal = strstr(block, "  task op=nop state=waiting prio=0 where=- ");
	EXPECT_TRUE(burn && high && normal && burn < high && high < normal &&
		    strstr(high, "user_data=0x9\n"));
}

TEST(nobody_cannot_read_the_view)
{
	int status;
	pid_t pid;

	KP_REQUIRE_VIEW();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		kp_become_nobody();
		KP_CHECK(open(VIEW_DIR "/pools", O_RDONLY) < 0);
		KP_CHECK(errno == EACCES);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
}

/* Pools come and go while the view is read. */
struct churn {
	uint32_t stop;
	uint32_t pools;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	struct kpool_ring_params p = { .capacity = 2 };
	struct kpool_ring ring;
	unsigned int i;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		if (kpool_ring_open(&ring, 16, &p))
			continue;
		for (i = 0; i < 4; i++)
			q_burn(&ring, (i + 1) * 100000, i);
		kpool_submit(&ring);
		kpool_ring_close(&ring);	/* tasks may still run */
		__atomic_add_fetch(&c->pools, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(reading_while_pools_open_and_close_is_safe)
{
	static char text[1 << 18];
	struct churn c = { 0 };
	pthread_t th[4];
	unsigned int reads = 0, failed = 0, i;
	uint64_t end;

	KP_REQUIRE_VIEW();
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, churn_main, &c));
	end = kp_now_ns() + 5000 * KP_MS;
	while (kp_now_ns() < end) {
		failed += read_text(VIEW_DIR "/tasks", text, sizeof(text)) < 0;
		failed += read_text(VIEW_DIR "/pools", text, sizeof(text)) < 0;
		reads += 2;
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	TH_LOG("%u reads while %u pools opened and closed", reads, c.pools);
	EXPECT_TRUE(failed == 0 && c.pools > 0);
}

/*
 * The watchdog, at a lowered threshold: a TIMEOUT that outlives it.
 * The marker (user_data) is unique per run, so the log line is ours.
 */
#define STUCK_MS	"200"

FIXTURE(stuck) {
	struct kpool_ring ring;
	char saved[32];
	char text[65536];
	__u64 marker;
	long id;
	int up;
};

static struct kpool_stats stats_of(struct kpool_ring *r,
				   struct kpool_counters *total)
{
	struct kpool_stats st;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.total_ptr = (__u64)(uintptr_t)total;
	if (kp_ioctl(r->fd, KPOOL_IOC_STATS, &st))
		memset(&st, 0, sizeof(st));
	return st;
}

FIXTURE_SETUP(stuck)
{
	struct kpool_ring_params p = { .capacity = 1 };
	struct kpool_counters total;
	uint64_t end;

	self->up = 0;
	self->saved[0] = '\0';
	KP_REQUIRE_MODULE();
	ASSERT_LT(0, read_text(STUCK_PARAM, self->saved, sizeof(self->saved)));
	ASSERT_EQ(0, write_text(STUCK_PARAM, STUCK_MS));
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 16, &p));
	self->up = 1;
	self->id = kp_fdinfo_value(self->ring.fd, "id");
	self->marker = 0x5700000000ull | ((__u64)getpid() << 8);
	q_timeout(&self->ring, 20000 * KP_MS, self->marker);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* The watchdog runs every 50 ms at this threshold. */
	end = kp_now_ns() + 5000 * KP_MS;
	while (!stats_of(&self->ring, &total).stuck_now && kp_now_ns() < end)
		usleep(10000);
}

FIXTURE_TEARDOWN(stuck)
{
	if (self->up)
		kpool_ring_close(&self->ring);
	if (self->saved[0])
		write_text(STUCK_PARAM, self->saved);
}

TEST_F(stuck, counted_now_and_in_total)
{
	struct kpool_counters total;
	struct kpool_stats st = stats_of(&self->ring, &total);

	TH_LOG("stuck_now %u, stuck %llu", st.stuck_now,
	       (unsigned long long)total.stuck);
	EXPECT_TRUE(st.stuck_now == 1 && total.stuck == 1);
}

TEST_F(stuck, listed_as_stuck_in_the_view)
{
	char want[64];
	char *block;

	if (!debugfs_mounted())
		SKIP(return, "debugfs is not mounted");
	ASSERT_LT(0, read_text(VIEW_DIR "/tasks", self->text,
			       sizeof(self->text)));
	block = pool_block(self->text, self->id);
	ASSERT_NE(NULL, block);
	TH_LOG("%s", block);
	snprintf(want, sizeof(want), "user_data=0x%llx stuck\n",
		 (unsigned long long)self->marker);
	EXPECT_NE(NULL, strstr(block, want));
}

TEST_F(stuck, logged_once)
{
	char want[64], line[1024];
	int fd, lines = 0;
	ssize_t n;

	/* Give the watchdog a few more passes to log it again, if it would. */
	usleep(300 * 1000);
	snprintf(want, sizeof(want), "timeout task user_data 0x%llx ",
		 (unsigned long long)self->marker);
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (;;) {
		n = read(fd, line, sizeof(line) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		line[n] = '\0';
		if (strstr(line, want)) {
			TH_LOG("%s", line);
			lines++;
		}
	}
	close(fd);
	EXPECT_EQ(1, lines);
}

TEST_F(stuck, leaves_stuck_now_when_it_ends)
{
	struct kpool_counters total;
	struct kpool_cqe cqe;
	struct kpool_stats st;

	q_cancel(&self->ring, self->marker, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, 2000 * KP_MS));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, 2000 * KP_MS));
	st = stats_of(&self->ring, &total);
	TH_LOG("after it ended: stuck_now %u, stuck %llu", st.stuck_now,
	       (unsigned long long)total.stuck);
	EXPECT_TRUE(st.stuck_now == 0 && total.stuck == 1);
}

TEST_HARNESS_MAIN
