// SPDX-License-Identifier: GPL-2.0
/*
 * A task observes exactly its submitter's context, or is refused when it
 * is submitted: a pool gives a program no reach beyond what it has itself.
 *
 *  1. file ops run in the submitting process: its namespaces, its rlimits;
 *  2. a task runs only on CPUs the submitter may run on;
 *  3. a high-priority task runs at nice -20 only for a submitter that
 *     could raise its own priority that far;
 *  4. one pool's backlog does not delay another pool's task;
 *  5. close() waits only for its own pool, and yields to SIGKILL;
 *  6. deadlines, however many and however far, expire without stalling
 *     a CPU;
 *  7. no uninitialised kernel byte reaches the arena;
 *  8. a drained pool takes no SQE at all;
 *  9. STATS counts as rejected only what was refused;
 * 10. a CANCEL answered 0 means the task's CQE is -ECANCELED.
 *
 * Whatever changes a process (uid, namespaces, rlimits, affinity) is done
 * in a forked child, which reports through its exit status, a message
 * (KP_CHECK) and a shared struct child_report.  Guests run under TCG:
 * bounds are generous, and measured numbers are logged.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define PROMPT		(10000 * KP_MS)	/* generous: guests run under TCG */
#define BURN_LONG	(3000 * KP_MS)	/* long enough to be seen running */

/* ---- shared helpers ---- */

/* What a child hands back besides its exit status (shared memory). */
struct child_report {
	int res;		/* the CQE res of the task it ran */
	int found;		/* it saw a worker running its task */
	pid_t pid;		/* that worker */
	long nice;		/* that worker's nice; LONG_MIN: unknown */
	uint64_t ns;		/* a time it measured */
	char text[80];		/* a worker's comm, a hostname, data */
};

/* In a child: a precondition is missing; say which, and exit. */
static void __attribute__((noreturn, format(printf, 1, 2)))
child_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "# child skips: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(KP_CHILD_SKIP);
}

/*
 * Run @fn(@arg, report) in a forked child; *@out gets its report.
 * Returns the child's exit status (0 when every KP_CHECK held, or
 * KP_CHILD_SKIP), -1 if it did not exit normally.
 */
static int in_child(void (*fn)(void *, struct child_report *), void *arg,
		    struct child_report *out)
{
	struct child_report *shared;
	int status = -1;
	pid_t pid;

	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return -1;
	memset(shared, 0, sizeof(*shared));
	shared->nice = LONG_MIN;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		fn(arg, shared);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	*out = *shared;
	munmap(shared, sizeof(*shared));
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* In a test: judge a child's exit status (its message is on stderr). */
#define ASSERT_CHILD_OK(status) do {					\
	int __st = (status);						\
									\
	if (__st == KP_CHILD_SKIP)					\
		SKIP(return, "a precondition is missing in the child");	\
	ASSERT_EQ(0, __st);						\
} while (0)

/* The CPUs this process may run on, in order; how many (at most @max). */
static int allowed_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int cpu, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n;
}

static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Wait for @n CQEs (each within PROMPT), copied out in order: 0 or -errno. */
#define reap(r, out, n)		kp_reap_n(r, out, n, PROMPT)

/* Submit the one SQE the caller queued and return its CQE. */
#define run1(r)			kp_run1(r, PROMPT)

/* The CQE with @data among @n, or NULL. */
static const struct kpool_cqe *cqe_of(const struct kpool_cqe *c,
				      unsigned int n, __u64 data)
{
	while (n--)
		if (c[n].user_data == data)
			return &c[n];
	return NULL;
}

static __u64 completed(struct kpool_ring *r)
{
	struct kpool_counters c;

	memset(&c, 0, sizeof(c));
	kpool_read_stats(r, &c, NULL, 0);
	return c.completed;
}

/* Fields of /proc/<pid>/stat after the comm: field 3 is the state. */
static int proc_stat_tail(pid_t pid, char *buf, size_t len)
{
	char path[64], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');		/* the comm may hold anything */
	if (!p || p[1] != ' ')
		return -1;
	memmove(buf, p + 2, strlen(p + 2) + 1);
	return 0;
}

/* The nice value of @pid (field 19 of its stat), or LONG_MIN. */
static long nice_of(pid_t pid)
{
	char buf[1024];
	long nice;

	if (proc_stat_tail(pid, buf, sizeof(buf)) ||
	    sscanf(buf, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %ld",
		   &nice) != 1)
		return LONG_MIN;
	return nice;
}

/* The state letter of @pid (R, S, D, ...), or '?'. */
static char state_of(pid_t pid)
{
	char buf[1024];

	return proc_stat_tail(pid, buf, sizeof(buf)) ? '?' : buf[0];
}

/* The workqueue a worker's comm names (after the '+'), or "". */
static const char *wq_of(const char *comm)
{
	const char *plus = strchr(comm, '+');

	return plus ? plus + 1 : "";
}

/* A high-priority worker: "kworker/<cpu>:<n>H+<workqueue>". */
static int is_high_worker(const char *comm)
{
	const char *plus = strchr(comm, '+');

	return plus && plus > comm && plus[-1] == 'H';
}

/*
 * Wait (at most 8 s) until no worker runs an item of a kpool workqueue:
 * a task left running by an earlier test would be taken for ours.
 */
static int kpool_workers_idle(void)
{
	uint64_t end = kp_now_ns() + 8000 * KP_MS;
	char comm[64];

	while (kp_find_running_worker("kpool*", comm, sizeof(comm), NULL)) {
		if (kp_now_ns() > end)
			return 0;
		usleep(20000);
	}
	return 1;
}

/* ---- 1. file ops run in the submitter's own context ---- */

#define HOSTNAME_FILE	"/proc/sys/kernel/hostname"

/* In a child: a UTS namespace of its own, its hostname @name. */
static void own_uts_namespace(const char *name)
{
	if (unshare(CLONE_NEWUTS))
		child_skip("unshare(CLONE_NEWUTS): %s", strerror(errno));
	KP_CHECK(sethostname(name, strlen(name)) == 0);
}

static void uts_read_child(void *arg, struct child_report *out)
{
	struct kpool_ring_params p = { .arena_size = 4096 };
	struct kpool_ring r;
	int fd;

	(void)arg;
	own_uts_namespace("kpool-ns");
	fd = open(HOSTNAME_FILE, O_RDONLY);
	KP_CHECK(fd >= 0);
	KP_CHECK(kpool_ring_open(&r, 8, &p) == 0);
	kpool_prep_read(kpool_get_sqe(&r), fd, 0, sizeof(out->text) - 1, 0);
	out->res = run1(&r).res;
	memcpy(out->text, r.arena, sizeof(out->text) - 1);
	kpool_ring_close(&r);
	close(fd);
}

TEST(uts_read_sees_own_namespace)
{
	struct child_report rep;

	KP_REQUIRE_MODULE();
	ASSERT_CHILD_OK(in_child(uts_read_child, NULL, &rep));
	rep.text[strcspn(rep.text, "\n")] = 0;
	TH_LOG("READ of %s in the child's namespace: %d, \"%s\"",
	       HOSTNAME_FILE, rep.res, rep.text);
	ASSERT_EQ(9, rep.res);
	ASSERT_STREQ("kpool-ns", rep.text);
}

static void uts_write_child(void *arg, struct child_report *out)
{
	struct kpool_ring_params p = { .arena_size = 4096 };
	struct kpool_ring r;
	int fd;

	(void)arg;
	own_uts_namespace("kpool-ns");
	fd = open(HOSTNAME_FILE, O_WRONLY);
	KP_CHECK(fd >= 0);
	KP_CHECK(kpool_ring_open(&r, 8, &p) == 0);
	memcpy(r.arena, "kpool-w\n", 8);
	kpool_prep_write(kpool_get_sqe(&r), fd, 0, 8, 0);
	out->res = run1(&r).res;
	KP_CHECK(gethostname(out->text, sizeof(out->text) - 1) == 0);
	kpool_ring_close(&r);
	close(fd);
}

TEST(uts_write_stays_in_namespace)
{
	char before[HOST_NAME_MAX + 1] = "", after[HOST_NAME_MAX + 1] = "";
	struct child_report rep;
	int status;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, gethostname(before, sizeof(before) - 1));
	status = in_child(uts_write_child, NULL, &rep);
	ASSERT_EQ(0, gethostname(after, sizeof(after) - 1));
	if (strcmp(before, after))	/* put it back before judging */
		sethostname(before, strlen(before));
	ASSERT_CHILD_OK(status);
	TH_LOG("WRITE: %d; the child's hostname \"%s\"; ours \"%s\", then \"%s\"",
	       rep.res, rep.text, before, after);
	EXPECT_LT(0, rep.res);
	EXPECT_STREQ("kpool-w", rep.text);
	EXPECT_STREQ(before, after);
}

#define FSIZE_LIMIT	(1u << 20)
#define FSIZE_LEN	(64u << 10)
#define FSIZE_AT	(2u << 20)

static void fsize_child(void *arg, struct child_report *out)
{
	struct rlimit lim = {
		.rlim_cur = FSIZE_LIMIT, .rlim_max = FSIZE_LIMIT,
	};
	struct kpool_ring_params p = { .arena_size = FSIZE_LEN };
	struct kpool_ring r;
	char path[64];
	int fd;

	(void)arg;
	signal(SIGXFSZ, SIG_IGN);
	snprintf(path, sizeof(path), "/tmp/kpool-fsize-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	KP_CHECK(fd >= 0);
	unlink(path);
	KP_CHECK(kpool_ring_open(&r, 8, &p) == 0);
	KP_CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	/* What the process itself gets for the same write: */
	if (pwrite(fd, r.arena, FSIZE_LEN, FSIZE_AT) != -1 || errno != EFBIG)
		child_skip("pwrite past RLIMIT_FSIZE did not fail with EFBIG");
	kpool_prep_write(kpool_get_sqe(&r), fd, 0, FSIZE_LEN, FSIZE_AT);
	out->res = run1(&r).res;
	kpool_ring_close(&r);
	close(fd);
}

TEST(write_obeys_rlimit_fsize)
{
	struct child_report rep;

	KP_REQUIRE_MODULE();
	ASSERT_CHILD_OK(in_child(fsize_child, NULL, &rep));
	TH_LOG("WRITE of %u bytes at %u, RLIMIT_FSIZE %u: %d",
	       FSIZE_LEN, FSIZE_AT, FSIZE_LIMIT, rep.res);
	ASSERT_EQ(-EFBIG, rep.res);
}

/* ---- 2. a task runs only where its submitter may run ---- */

struct named_cpu {
	int pin;		/* the child's only allowed CPU */
	int cpu;		/* the CPU its NOP names */
};

static void named_cpu_child(void *arg, struct child_report *out)
{
	const struct named_cpu *nc = arg;
	struct kpool_ring r;

	KP_CHECK(pin_to(nc->pin) == 0);
	KP_CHECK(kpool_ring_open(&r, 8, NULL) == 0);
	kpool_sqe_set_cpu(q_nop(&r, 1), nc->cpu);
	out->res = run1(&r).res;
	kpool_ring_close(&r);
}

TEST(named_cpu_outside_affinity_is_refused)
{
	struct child_report rep;
	struct named_cpu nc;
	int cpus[2];

	KP_REQUIRE_MODULE();
	if (allowed_cpus(cpus, 2) < 2)
		SKIP(return, "needs 2 CPUs");
	nc.pin = cpus[0];
	nc.cpu = cpus[1];
	ASSERT_CHILD_OK(in_child(named_cpu_child, &nc, &rep));
	TH_LOG("pinned to CPU %d, a NOP for CPU %d: %d", nc.pin, nc.cpu,
	       rep.res);
	ASSERT_EQ(-EINVAL, rep.res);
}

TEST(named_cpu_inside_affinity_runs)
{
	struct child_report rep;
	struct named_cpu nc;
	int cpus[1];

	KP_REQUIRE_MODULE();
	ASSERT_EQ(1, allowed_cpus(cpus, 1));
	nc.pin = nc.cpu = cpus[0];
	ASSERT_CHILD_OK(in_child(named_cpu_child, &nc, &rep));
	TH_LOG("pinned to CPU %d, a NOP for CPU %d: %d", nc.pin, nc.cpu,
	       rep.res);
	ASSERT_EQ(0, rep.res);
}

/* A child submits a long BURN and looks for the worker running it. */
struct burn_probe {
	int pin;		/* pin the child to this CPU first; -1: no */
	int nobody;		/* become nobody (RLIMIT_NICE 0) first */
	__u8 prio;
	int unbound;
};

static void burn_probe_child(void *arg, struct child_report *out)
{
	const struct burn_probe *b = arg;
	struct rlimit no_nice = { 0, 0 };
	struct kpool_cqe cqes[2];
	struct kpool_sqe *sqe;
	struct kpool_ring r;
	uint64_t end;

	if (b->pin >= 0)
		KP_CHECK(pin_to(b->pin) == 0);
	if (b->nobody) {
		KP_CHECK(setrlimit(RLIMIT_NICE, &no_nice) == 0);
		kp_become_nobody();
	}
	KP_CHECK(kpool_ring_open(&r, 8, NULL) == 0);
	sqe = q_burn(&r, BURN_LONG, 1);
	kpool_sqe_set_prio(sqe, b->prio);
	if (b->unbound)
		kpool_sqe_set_unbound(sqe);
	KP_CHECK(kpool_submit(&r) == 1);
	/* Any kpool workqueue: the test judges which one it was. */
	end = kp_now_ns() + BURN_LONG / 2;
	while (!out->found && kp_now_ns() < end) {
		out->found = kp_find_running_worker("kpool*", out->text,
						    sizeof(out->text),
						    &out->pid);
		if (!out->found)
			usleep(5000);
	}
	if (out->found)
		out->nice = nice_of(out->pid);
	q_cancel(&r, 1, 2);
	KP_CHECK(kpool_submit(&r) == 1);
	KP_CHECK(reap(&r, cqes, 2) == 0);
	KP_CHECK(cqe_of(cqes, 2, 1));
	out->res = cqe_of(cqes, 2, 1)->res;
	kpool_ring_close(&r);
}

/* A child pinned to the last allowed CPU: its BURN's worker is there. */
static void burn_stays_on_pinned_cpu(struct __test_metadata *_metadata,
				     int unbound)
{
	struct burn_probe b = { .unbound = unbound };
	struct child_report rep;
	int cpus[CPU_SETSIZE], n;
	char prefix[32];

	KP_REQUIRE_MODULE();
	n = allowed_cpus(cpus, CPU_SETSIZE);
	if (n < 2)
		SKIP(return, "needs 2 CPUs: on one, no affinity is narrower");
	if (!kpool_workers_idle())
		SKIP(return, "a kpool worker is still busy with an earlier task");
	b.pin = cpus[n - 1];
	ASSERT_CHILD_OK(in_child(burn_probe_child, &b, &rep));
	ASSERT_TRUE(rep.found) {
		TH_LOG("no worker was seen running the BURN");
	}
	TH_LOG("pinned to CPU %d, the %s BURN ran on %s", b.pin,
	       unbound ? "unbound" : "default", rep.text);
	snprintf(prefix, sizeof(prefix), "kworker/%d:", b.pin);
	ASSERT_EQ(0, strncmp(rep.text, prefix, strlen(prefix)));
}

TEST(unbound_stays_in_affinity)
{
	burn_stays_on_pinned_cpu(_metadata, 1);
}

TEST(default_placement_stays_in_affinity)
{
	burn_stays_on_pinned_cpu(_metadata, 0);
}

/* ---- 3. nice -20 only for who could take it ---- */

/* The device opened up to everyone for the test, as unpriv_test does. */
FIXTURE(nobody) {
	mode_t mode;
	int up;
};

FIXTURE_SETUP(nobody)
{
	struct stat st;

	self->up = 0;
	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, stat(KPOOL_DEV, &st));
	self->mode = st.st_mode & 07777;
	ASSERT_EQ(0, chmod(KPOOL_DEV, 0666));
	self->up = 1;
}

FIXTURE_TEARDOWN(nobody)
{
	if (self->up)
		chmod(KPOOL_DEV, self->mode);
}

TEST_F(nobody, unprivileged_high_runs_at_normal_nice)
{
	struct burn_probe b = {
		.pin = -1, .nobody = 1, .prio = KPOOL_PRIO_HIGH,
	};
	struct child_report rep;

	if (!kpool_workers_idle())
		SKIP(return, "a kpool worker is still busy with an earlier task");
	ASSERT_CHILD_OK(in_child(burn_probe_child, &b, &rep));
	ASSERT_TRUE(rep.found) {
		TH_LOG("no worker was seen running the BURN");
	}
	TH_LOG("nobody's high-priority BURN ran on %s, nice %ld", rep.text,
	       rep.nice);
	EXPECT_STREQ("kpool_long", wq_of(rep.text));
	EXPECT_FALSE(is_high_worker(rep.text));
	EXPECT_LE(0, rep.nice);
}

TEST(privileged_high_runs_high)
{
	struct burn_probe b = { .pin = -1, .prio = KPOOL_PRIO_HIGH };
	struct child_report rep;

	KP_REQUIRE_MODULE();
	if (!kpool_workers_idle())
		SKIP(return, "a kpool worker is still busy with an earlier task");
	ASSERT_CHILD_OK(in_child(burn_probe_child, &b, &rep));
	ASSERT_TRUE(rep.found) {
		TH_LOG("no worker was seen running the BURN");
	}
	TH_LOG("root's high-priority BURN ran on %s, nice %ld", rep.text,
	       rep.nice);
	EXPECT_STREQ("kpool_long_hi", wq_of(rep.text));
	EXPECT_TRUE(is_high_worker(rep.text));
}

/* ---- 1b. how file tasks reach their process's threads ---- */

/*
 * A pool with one slot, held by a TIMEOUT of @hold_ms, a READ of a small
 * file waiting behind it, and a 1-page arena.  When the TIMEOUT fires the
 * READ starts, in no thread: it waits for an ENTER of this process.
 */
FIXTURE(owner) {
	struct kpool_ring ring;
	char path[64];
	int file;
	int up;
};

FIXTURE_SETUP(owner)
{
	struct kpool_ring_params p = { .capacity = 1, .arena_size = 4096 };

	self->up = 0;
	KP_REQUIRE_MODULE();
	snprintf(self->path, sizeof(self->path), "/tmp/kpool-owner-%d",
		 (int)getpid());
	self->file = open(self->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->file);
	ASSERT_EQ(5, pwrite(self->file, "owner", 5, 0));
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 8, &p));
	self->up = 1;
}

FIXTURE_TEARDOWN(owner)
{
	if (self->up)
		kpool_ring_close(&self->ring);
	close(self->file);
	unlink(self->path);
}

/* TIMEOUT (data 1) of 50 ms holding the slot, READ (data 2) behind it. */
static void queue_read_behind_timeout(FIXTURE_DATA(owner) *self)
{
	struct kpool_sqe *sqe;

	q_timeout(&self->ring, 50 * KP_MS, 1);
	sqe = kpool_get_sqe(&self->ring);
	kpool_prep_read(sqe, self->file, 0, 5, 0);
	kpool_sqe_set_data(sqe, 2);
}

/* Wait (without entering the module) until the READ is ready. */
static int wait_for_owner_work(struct kpool_ring *r)
{
	for (int i = 0; i < 400; i++) {
		if (kpool_ring_needs_enter(r))
			return 1;
		usleep(5000);
	}
	return 0;
}

TEST_F(owner, module_reports_owner_context)
{
	EXPECT_TRUE(self->ring.features & KPOOL_FEAT_OWNER_CONTEXT);
}

TEST_F(owner, ready_file_task_waits_for_an_enter_of_its_process)
{
	struct kpool_cqe cqes[2];
	struct pollfd pfd = { .fd = self->ring.fd, .events = POLLIN };

	queue_read_behind_timeout(self);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_for_owner_work(&self->ring));
	/* Readable for the TIMEOUT's CQE and the waiting READ alike. */
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	usleep(100 * 1000);
	/* Only the TIMEOUT completed: no thread of ours entered since. */
	EXPECT_EQ(1, kpool_cq_ready(&self->ring));
	ASSERT_EQ(0, kpool_enter(self->ring.fd, 0, 0, 0, 0, NULL));
	EXPECT_FALSE(kpool_ring_needs_enter(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, cqes, 2));
	EXPECT_EQ(5, cqe_of(cqes, 2, 2)->res);
}

TEST_F(owner, waiting_enter_runs_tasks_that_become_ready)
{
	struct kpool_cqe cqes[2];

	queue_read_behind_timeout(self);
	/* One call: submits both, then waits; the READ runs in it. */
	ASSERT_EQ(2, kpool_submit_and_wait(&self->ring, 2));
	ASSERT_EQ(0, reap(&self->ring, cqes, 2));
	EXPECT_EQ(5, cqe_of(cqes, 2, 2)->res);
}

TEST_F(owner, ready_file_task_can_be_cancelled)
{
	struct kpool_cqe cqes[3];

	queue_read_behind_timeout(self);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_for_owner_work(&self->ring));
	/* The CANCEL's own ENTER would run the READ after taking the CANCEL. */
	q_cancel(&self->ring, 2, 3);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, cqes, 3));
	EXPECT_EQ(0, cqe_of(cqes, 3, 3)->res);
	EXPECT_EQ(-ECANCELED, cqe_of(cqes, 3, 2)->res);
}

TEST_F(owner, cancelled_ready_task_leaves_the_counts_whole)
{
	struct kpool_counters c;
	struct kpool_cqe cqes[3];

	queue_read_behind_timeout(self);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_for_owner_work(&self->ring));
	q_cancel(&self->ring, 2, 3);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, cqes, 3));
	memset(&c, 0, sizeof(c));
	kpool_read_stats(&self->ring, &c, NULL, 0);
	/* submitted = completed + running + waiting, with nothing left */
	EXPECT_TRUE(c.submitted == c.completed && !c.running && !c.waiting);
}

TEST_F(owner, other_process_never_runs_them)
{
	struct kpool_cqe cqes[2];
	int status;
	pid_t pid;

	queue_read_behind_timeout(self);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_for_owner_work(&self->ring));
	/* A child shares the pool; its ENTERs do not run our READ. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		kpool_enter(self->ring.fd, 0, 0, 0, 0, NULL);
		_exit(kpool_ring_needs_enter(&self->ring) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, kpool_enter(self->ring.fd, 0, 0, 0, 0, NULL));
	ASSERT_EQ(0, reap(&self->ring, cqes, 2));
	EXPECT_EQ(5, cqe_of(cqes, 2, 2)->res);
}

TEST_F(owner, exited_process_tasks_are_cancelled)
{
	struct kpool_cqe cqes[2];
	int status;
	pid_t pid;

	/* A child submits and exits: its READ has no thread left. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		queue_read_behind_timeout(self);
		_exit(kpool_submit(&self->ring) == 2 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* The parent's ring did not see the child's SQ tail move. */
	self->ring.sq.sqe_tail = *self->ring.sq.ktail;
	ASSERT_TRUE(wait_for_owner_work(&self->ring));
	ASSERT_EQ(0, kpool_enter(self->ring.fd, 0, 0, 0, 0, NULL));
	ASSERT_EQ(0, reap(&self->ring, cqes, 2));
	EXPECT_EQ(-ECANCELED, cqe_of(cqes, 2, 2)->res);
}

/* ---- 4, 5. one pool's backlog is its own ---- */

TEST(max_workers_bounds_one_pool)
{
	struct kpool_ring_params p = { .capacity = 32 };
	unsigned int workers = kp_param("max_workers"), i;
	struct kpool_counters c;
	struct kpool_ring r;

	KP_REQUIRE_MODULE();
	ASSERT_LT(0, workers);
	if (workers >= 32)
		SKIP(return, "max_workers %u is not below 32", workers);
	ASSERT_EQ(0, kpool_ring_open(&r, 64, &p));
	for (i = 0; i < 32; i++)
		q_burn(&r, 2000 * KP_MS, i);
	ASSERT_EQ(32, kpool_submit(&r));
	memset(&c, 0, sizeof(c));
	kpool_read_stats(&r, &c, NULL, 0);
	kpool_prep_cancel_all(kpool_get_sqe(&r));
	kpool_submit(&r);
	kpool_ring_close(&r);
	TH_LOG("32 BURNs, capacity 32, max_workers %u: %llu running, %llu waiting",
	       workers, (unsigned long long)c.running,
	       (unsigned long long)c.waiting);
	EXPECT_EQ(workers, c.running);
}


#define BACKLOG_TASKS	1500
#define BACKLOG_ARENA	(1u << 20)

/*
 * Pool A: 1500 CRC32C of its whole 1 MiB arena, up to 1024 at a time (the
 * default max_capacity): more than a workqueue keeps active per CPU.
 */
FIXTURE(backlog) {
	struct kpool_ring a;
	int up;
};

FIXTURE_SETUP(backlog)
{
	struct kpool_ring_params p = {
		.capacity = 1024, .arena_size = BACKLOG_ARENA,
	};
	unsigned int i;

	self->up = 0;
	KP_REQUIRE_MODULE();
	/* cq_entries 4096, and so max_waiting 4096: all of it is taken */
	ASSERT_EQ(0, kpool_ring_open(&self->a, 2048, &p));
	self->up = 1;
	memset(self->a.arena, 0x5a, BACKLOG_ARENA);
	for (i = 0; i < BACKLOG_TASKS; i++) {
		struct kpool_sqe *sqe = kpool_get_sqe(&self->a);

		kpool_prep_crc32c(sqe, 0, BACKLOG_ARENA, 0);
		kpool_sqe_set_data(sqe, i);
	}
	ASSERT_EQ(BACKLOG_TASKS, kpool_submit(&self->a));
}

FIXTURE_TEARDOWN(backlog)
{
	if (!self->up)
		return;
	kpool_prep_cancel_all(kpool_get_sqe(&self->a));
	kpool_submit(&self->a);
	kpool_ring_close(&self->a);
}

static void one_crc_child(void *arg, struct child_report *out)
{
	struct kpool_ring_params p = { .arena_size = 4096 };
	struct kpool_ring r;
	uint64_t t0;

	(void)arg;
	KP_CHECK(kpool_ring_open(&r, 8, &p) == 0);
	kpool_prep_crc32c(kpool_get_sqe(&r), 0, 1, 0);
	t0 = kp_now_ns();
	out->res = run1(&r).res;
	out->ns = kp_now_ns() - t0;
	kpool_ring_close(&r);
}

TEST_F(backlog, does_not_delay_another_pool)
{
	struct child_report rep;
	__u64 done;
	int status;

	/* Pool B, in another process: one 1-byte CRC32C. */
	status = in_child(one_crc_child, NULL, &rep);
	done = completed(&self->a);
	ASSERT_CHILD_OK(status);
	TH_LOG("pool B's 1-byte CRC32C took %.1f ms; pool A had %llu of %u done (max_workers %lu)",
	       rep.ns / 1e6, (unsigned long long)done, BACKLOG_TASKS,
	       kp_param("max_workers"));
	if (done >= BACKLOG_TASKS)
		SKIP(return, "machine too fast to show it: the backlog ended first");
	EXPECT_EQ(0, rep.res);
	ASSERT_GT(2000 * KP_MS, rep.ns);
}

TEST_F(backlog, close_waits_only_for_own_tasks)
{
	struct kpool_ring_params p = { .capacity = 1 };
	struct kpool_ring b;
	uint64_t t0, took;
	__u64 done;

	ASSERT_EQ(0, kpool_ring_open(&b, 8, &p));
	q_burn(&b, 100 * KP_MS, 1);
	q_nop(&b, 2);			/* waits for the BURN's slot */
	ASSERT_EQ(2, kpool_submit(&b));
	t0 = kp_now_ns();
	kpool_ring_close(&b);
	took = kp_now_ns() - t0;
	done = completed(&self->a);
	TH_LOG("closing pool B took %.1f ms; pool A had %llu of %u done",
	       took / 1e6, (unsigned long long)done, BACKLOG_TASKS);
	if (done >= BACKLOG_TASKS)
		SKIP(return, "machine too fast to show it: the backlog ended first");
	ASSERT_GT(2000 * KP_MS, took);
}

#define STUCK_BURN	(5000 * KP_MS)

TEST(sigkill_ends_close_promptly)
{
	uint64_t t0, took;
	int ready[2], status;
	char c, state;
	pid_t pid;

	KP_REQUIRE_MODULE();
	if (kp_param("burn_max_ms") * KP_MS < STUCK_BURN)
		SKIP(return, "burn_max_ms is below 5000");
	ASSERT_EQ(0, pipe(ready));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_ring r;

		close(ready[0]);
		KP_CHECK(kpool_ring_open(&r, 8, NULL) == 0);
		q_burn(&r, STUCK_BURN, 1)->op_flags =
			KPOOL_BURN_UNINTERRUPTIBLE;
		KP_CHECK(kpool_submit(&r) == 1);
		KP_CHECK(write(ready[1], "r", 1) == 1);
		/* Unmaps, closes: the release waits for the BURN. */
		kpool_ring_close(&r);
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	usleep(300000);
	state = state_of(pid);
	t0 = kp_now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	took = kp_now_ns() - t0;
	TH_LOG("in close() the child was in state %c; SIGKILL ended it in %.1f ms",
	       state, took / 1e6);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_GT(1000 * KP_MS, took);
}

TEST(exit_does_not_wait_for_running_tasks)
{
	uint64_t t0, took;
	int status;
	pid_t pid;

	KP_REQUIRE_MODULE();
	if (kp_param("burn_max_ms") * KP_MS < STUCK_BURN)
		SKIP(return, "burn_max_ms is below 5000");
	fflush(NULL);
	t0 = kp_now_ns();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_ring r;

		KP_CHECK(kpool_ring_open(&r, 8, NULL) == 0);
		q_burn(&r, STUCK_BURN, 1)->op_flags =
			KPOOL_BURN_UNINTERRUPTIBLE;
		KP_CHECK(kpool_submit(&r) == 1);
		/* Exits with the pool open: exit releases it. */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	took = kp_now_ns() - t0;
	TH_LOG("a child with an uninterruptible 5 s BURN running exited in %.1f ms",
	       took / 1e6);
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_GT(1000 * KP_MS, took);
}

/* A SIGKILL while own file tasks wait to be run ends the ENTER. */
TEST(sigkill_ends_an_enter_with_file_tasks_ready)
{
	const size_t size = 64u << 20;
	int status, fd, ready[2];
	uint64_t t0, took;
	char path[64], c;
	pid_t pid;

	KP_REQUIRE_MODULE();
	if (kp_param("max_arena_mb") < 64)
		SKIP(return, "max_arena_mb is below 64");
	snprintf(path, sizeof(path), "/tmp/kpool-kill-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	ASSERT_EQ(0, pipe(ready));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kpool_ring_params p = { .capacity = 4,
					       .arena_size = size };
		struct kpool_ring r;

		KP_CHECK(kpool_ring_open(&r, 8, &p) == 0);
		/* Four 64 MiB READs, all READY at once; this ENTER runs them. */
		for (int i = 0; i < 4; i++)
			kpool_prep_read(kpool_get_sqe(&r), fd, 0, size, 0);
		KP_CHECK(write(ready[1], "r", 1) == 1);
		kpool_submit_and_wait(&r, 4);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	close(ready[1]);
	/* Into the first READ: the other three wait READY behind it. */
	usleep(30000);
	t0 = kp_now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	took = kp_now_ns() - t0;
	close(fd);
	unlink(path);
	TH_LOG("SIGKILL ended the child in %.1f ms (%s)", took / 1e6,
	       WIFSIGNALED(status) ? "killed" : "it had finished");
	ASSERT_GT(2000 * KP_MS, took);
}

/* ---- 6. deadlines expire without stalling a CPU ---- */

#define STORM_POOLS	16
#define STORM_WAITING	625		/* per pool: 10,000 in all */
#define STORM_DEADLINE	(300 * KP_MS)

/*
 * Which context ran kpool's timer callbacks: the kernel's own trace of
 * hrtimer expiries (event timer:hrtimer_expire_entry), whose flags column
 * marks hard-interrupt context with 'h' (or 'H').  Measuring the stall a
 * CPU sees from user space was tried first: under TCG, with vCPUs that
 * the host deschedules, its noise (up to 36 ms with 4 vCPUs) was as large
 * as the stall it was meant to catch (23-27 ms with 10,000 tasks).
 */
/* Count kpool's timer expiries in the trace: all, and in hard irqs. */
static void count_kpool_expiries(unsigned long *all, unsigned long *hard)
{
	FILE *f = fopen(KP_TRACEFS "/trace", "r");
	char line[512];

	*all = *hard = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *cpu = strstr(line, "] "), *flags;

		if (!strstr(line, "hrtimer_expire_entry") ||
		    !strstr(line, "function=kpool_") || !cpu)
			continue;
		flags = cpu + 2;	/* e.g. "d.h1." */
		(*all)++;
		if (memchr(flags, 'h', 5) || memchr(flags, 'H', 5))
			(*hard)++;
	}
	fclose(f);
}

TEST(deadline_storm_runs_nothing_in_hard_irq)
{
	static struct kpool_ring rings[STORM_POOLS];
	struct kpool_ring_params p = { .capacity = 1 };
	unsigned int etime = 0, other = 0, holders = 0, bad_submit = 0;
	unsigned long all, hard;
	uint64_t end;
	int i, j;

	KP_REQUIRE_MODULE();
	if (!kp_tracefs_event_ready("timer/hrtimer_expire_entry"))
		SKIP(return, "no tracefs with timer events");
	/*
	 * Each pool's only slot is held for 1 s by a TIMEOUT, and 625 NOPs
	 * wait behind it, all with the same deadline.
	 */
	for (i = 0; i < STORM_POOLS; i++) {
		ASSERT_EQ(0, kpool_ring_open(&rings[i], 1024, &p));
		q_timeout(&rings[i], 1000 * KP_MS, 0);
		for (j = 1; j <= STORM_WAITING; j++)
			kpool_sqe_set_deadline(q_nop(&rings[i], j),
					       STORM_DEADLINE);
	}
	ASSERT_EQ(0, kp_tracefs_write("tracing_on", "0"));
	ASSERT_EQ(0, kp_tracefs_write("trace", ""));
	ASSERT_EQ(0, kp_tracefs_write("buffer_size_kb", "8192"));
	ASSERT_EQ(0, kp_tracefs_write("events/timer/hrtimer_expire_entry/enable",
				   "1"));
	ASSERT_EQ(0, kp_tracefs_write("tracing_on", "1"));

	for (i = 0; i < STORM_POOLS; i++)
		bad_submit += kpool_submit(&rings[i]) != STORM_WAITING + 1;
	end = kp_now_ns() + 20000 * KP_MS;
	for (i = 0; i < STORM_POOLS; i++) {
		for (j = 0; j < STORM_WAITING + 1 && kp_now_ns() < end;) {
			struct kpool_cqe *cqe;

			if (kpool_wait_cqe_timeout(&rings[i], &cqe,
						   100 * KP_MS))
				continue;
			if (!cqe->user_data)
				holders += cqe->res == 0;
			else if (cqe->res == -ETIME)
				etime++;
			else
				other++;
			kpool_cqe_seen(&rings[i], cqe);
			j++;
		}
	}

	kp_tracefs_write("tracing_on", "0");
	count_kpool_expiries(&all, &hard);
	kp_tracefs_write("events/timer/hrtimer_expire_entry/enable", "0");
	kp_tracefs_write("trace", "");
	kp_tracefs_write("buffer_size_kb", "1408");
	for (i = 0; i < STORM_POOLS; i++)
		kpool_ring_close(&rings[i]);
	TH_LOG("%u of %u waiting NOPs timed out (%u other results, %u of %u holders ran); kpool timer expiries traced: %lu, in hard-interrupt context: %lu",
	       etime, STORM_POOLS * STORM_WAITING, other, holders, STORM_POOLS,
	       all, hard);
	ASSERT_EQ(0, bad_submit);
	ASSERT_EQ(STORM_POOLS * STORM_WAITING, etime);
	/* The trace worked: the TIMEOUTs' and the deadlines' timers fired. */
	ASSERT_LT(0, all);
	EXPECT_EQ(0, hard);
}

TEST(deadline_near_ktime_max_is_clamped)
{
	struct kpool_ring_params p = { .capacity = 1 };
	struct kpool_cqe cqes[3];
	struct kpool_ring r;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&r, 8, &p));
	q_timeout(&r, 100 * KP_MS, 1);		/* holds the only slot */
	kpool_sqe_set_deadline(q_nop(&r, 2), INT64_MAX - 1);
	kpool_sqe_set_deadline(q_nop(&r, 3), INT64_MAX);
	ASSERT_EQ(3, kpool_submit(&r));
	ASSERT_EQ(0, reap(&r, cqes, 3));
	kpool_ring_close(&r);
	TH_LOG("in order: %llu (%d), %llu (%d), %llu (%d)",
	       (unsigned long long)cqes[0].user_data, cqes[0].res,
	       (unsigned long long)cqes[1].user_data, cqes[1].res,
	       (unsigned long long)cqes[2].user_data, cqes[2].res);
	EXPECT_EQ(0, cqe_of(cqes, 3, 1)->res);
	EXPECT_EQ(0, cqe_of(cqes, 3, 2)->res);
	EXPECT_EQ(0, cqe_of(cqes, 3, 3)->res);
}

/* ---- 7. no uninitialised kernel byte reaches the arena ---- */

#define CTX_OFF		4096
/* ctx.state as the kernel lays it out: u32 state[8], u64 count, u8 buf[64] */
#define STATE_BUF	40

TEST(sha256_init_only_leaks_nothing)
{
	struct kpool_ring_params p = { .arena_size = 8192 };
	int cpus[CPU_SETSIZE], ncpu, round, stale = 0, first = -1;
	struct kpool_sha256_ctx *ctx;
	struct kpool_ring r;
	size_t i;

	KP_REQUIRE_MODULE();
	ncpu = allowed_cpus(cpus, CPU_SETSIZE);
	ASSERT_LT(0, ncpu);
	ASSERT_EQ(0, kpool_ring_open(&r, 8, &p));
	ctx = (struct kpool_sha256_ctx *)((char *)r.arena + CTX_OFF);
	memcpy(r.arena, "abc", 3);
	/* A few times on each CPU: what a worker's stack held varies. */
	for (round = 0; round < 4 * ncpu && round < 32; round++) {
		struct kpool_sqe *sqe = kpool_get_sqe(&r);

		memset(ctx, 0xa5, sizeof(*ctx));
		kpool_prep_sha256(sqe, 0, 3, CTX_OFF, KPOOL_SHA256_INIT);
		kpool_sqe_set_cpu(sqe, cpus[round % ncpu]);
		ASSERT_EQ(0, run1(&r).res);
		/* Past the hash words, the count and our 3 bytes: 0 or ours. */
		for (i = STATE_BUF + 3; i < sizeof(ctx->state); i++) {
			if (!ctx->state[i] || ctx->state[i] == 0xa5)
				continue;
			if (first < 0)
				first = i;
			stale++;
		}
	}
	kpool_ring_close(&r);
	TH_LOG("%d rounds: %d bytes of ctx.state neither 0 nor 0xa5, the first at state[%d]",
	       round, stale, first);
	ASSERT_EQ(0, stale);
}

/* ---- 8. a drained pool takes nothing ---- */

struct offer {
	int ret;			/* ENTER's */
	unsigned int submitted;		/* ENTER's */
	unsigned int cqes;		/* in the CQ afterwards */
	unsigned int left;		/* in the SQ afterwards */
};

/* Drain an empty pool, then offer it one SQE like @tmpl. */
static void offer_to_drained(struct __test_metadata *_metadata,
			     const struct kpool_sqe *tmpl, struct offer *o)
{
	struct kpool_ring r;

	ASSERT_EQ(0, kpool_ring_open(&r, 8, NULL));
	ASSERT_EQ(0, kpool_drain(&r));
	*kpool_get_sqe(&r) = *tmpl;
	kpool_store_release(r.sq.ktail, r.sq.sqe_tail);
	o->ret = kpool_enter(r.fd, 1, 0, 0, 0, &o->submitted);
	/* CANCEL and invalid SQEs are answered inside ENTER, if taken. */
	o->cqes = kpool_cq_ready(&r);
	o->left = r.sq.sqe_tail - kpool_load_acquire(r.sq.khead);
	kpool_ring_close(&r);
}

/* What is offered to a drained pool: a CANCEL, or an SQE with no op. */
FIXTURE(drained) {
	int unused;
};

FIXTURE_VARIANT(drained) {
	struct kpool_sqe sqe;
};

FIXTURE_VARIANT_ADD(drained, cancel) {
	.sqe = { .op = KPOOL_OP_CANCEL, .addr = 1, .user_data = 99 },
};
FIXTURE_VARIANT_ADD(drained, invalid_sqe) {
	.sqe = { .op = 200, .user_data = 99 },
};

FIXTURE_SETUP(drained)
{
	KP_REQUIRE_MODULE();
}

FIXTURE_TEARDOWN(drained)
{
}

TEST_F(drained, pool_takes_nothing)
{
	struct kpool_sqe sqe = variant->sqe;
	struct offer o;

	offer_to_drained(_metadata, &sqe, &o);
	TH_LOG("ENTER of op %u: %d, took %u; %u CQEs, %u left in the SQ",
	       sqe.op, o.ret, o.submitted, o.cqes, o.left);
	ASSERT_EQ(-ESHUTDOWN, o.ret);
	ASSERT_EQ(0, o.submitted);
	ASSERT_EQ(0, o.cqes);
	ASSERT_EQ(1, o.left);
}

/* ---- 9. rejected counts only what was refused ---- */

TEST(blocking_pool_counts_no_rejection_for_a_wait)
{
	struct kpool_ring_params p = {
		.flags = KPOOL_SETUP_BLOCKING, .capacity = 1, .max_waiting = 1,
	};
	struct kpool_counters total;
	struct kpool_cqe cqes[3];
	struct kpool_ring r;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&r, 16, &p));
	q_burn(&r, 100 * KP_MS, 1);		/* runs */
	q_nop(&r, 2);				/* waits */
	q_nop(&r, 3);			/* waits for room, then is taken */
	ASSERT_EQ(3, kpool_submit(&r));
	ASSERT_EQ(0, reap(&r, cqes, 3));
	ASSERT_EQ(0, kpool_read_stats(&r, &total, NULL, 0));
	kpool_ring_close(&r);
	TH_LOG("submitted %llu, rejected %llu",
	       (unsigned long long)total.submitted,
	       (unsigned long long)total.rejected);
	ASSERT_EQ(0, total.rejected);
}

/* ---- 10. a CANCEL answered 0 means -ECANCELED ---- */

FIXTURE(cancel) {
	struct kpool_ring ring;
	int up;
	int fd;
	char path[64];
	pthread_mutex_t sq_lock;	/* one SQ producer at a time */
};

FIXTURE_VARIANT(cancel) {
	__u8 op;
	__u32 len;
};

/* Both long enough to be processed in several chunks. */
FIXTURE_VARIANT_ADD(cancel, copy) { .op = KPOOL_OP_COPY, .len = 1u << 20 };
FIXTURE_VARIANT_ADD(cancel, read) { .op = KPOOL_OP_READ, .len = 4u << 20 };

#define CANCEL_ARENA	(8u << 20)	/* COPY: from 0 to 4 MiB */

FIXTURE_SETUP(cancel)
{
	struct kpool_ring_params p = { .arena_size = CANCEL_ARENA };
	unsigned char *buf;

	self->fd = -1;
	self->path[0] = 0;
	pthread_mutex_init(&self->sq_lock, NULL);
	KP_RING_OPEN(8, &p);
	if (variant->op != KPOOL_OP_READ)
		return;
	snprintf(self->path, sizeof(self->path), "/tmp/kpool-cancel-%d",
		 (int)getpid());
	self->fd = open(self->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd);
	buf = malloc(variant->len);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x3c, variant->len);
	ASSERT_EQ(variant->len, pwrite(self->fd, buf, variant->len, 0));
	free(buf);
}

FIXTURE_TEARDOWN(cancel)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0])
		unlink(self->path);
	KP_RING_CLOSE();
	pthread_mutex_destroy(&self->sq_lock);
}

/* One SQE submitted by one thread, with an ENTER of its own. */
struct sub {
	struct kpool_ring *ring;
	pthread_mutex_t *lock;
	struct kpool_sqe sqe;
	int published;			/* the SQE is in the SQ */
	uint64_t published_ns;
	int ret;			/* its ENTER's */
	unsigned int submitted;
};

/*
 * The lock covers taking a slot, filling it and publishing the tail, but
 * not the ENTER, which may run a READ to its end.  Every ENTER takes one
 * SQE, the oldest published: which thread's ENTER takes (and so runs)
 * which SQE may vary, but each ENTER follows a publish of its own, so
 * none finds the SQ empty.
 */
static int submit_one(struct sub *s)
{
	struct kpool_sqe *slot;

	pthread_mutex_lock(s->lock);
	slot = kpool_get_sqe(s->ring);
	if (slot) {
		*slot = s->sqe;
		kpool_store_release(s->ring->sq.ktail, s->ring->sq.sqe_tail);
	}
	pthread_mutex_unlock(s->lock);
	if (!slot)
		return -ENOSPC;
	s->published_ns = kp_now_ns();
	__atomic_store_n(&s->published, 1, __ATOMIC_RELEASE);
	return kpool_enter(s->ring->fd, 1, 0, 0, 0, &s->submitted);
}

static void *submitter(void *arg)
{
	struct sub *s = arg;

	s->ret = submit_one(s);
	return NULL;
}

struct round {
	int task_res;
	int cancel_res;
	uint64_t task_ns;		/* from its submission to its CQE */
};

/*
 * One round: the task (user_data @data) from a thread of its own, then,
 * @delay_ns after it is in the SQ, a CANCEL of it (user_data @data + 1)
 * from this one; no CANCEL if @delay_ns < 0.  0, or the line that failed.
 */
static int cancel_round(FIXTURE_DATA(cancel) *self,
			const FIXTURE_VARIANT(cancel) *v, __u64 data,
			int64_t delay_ns, struct round *out)
{
	struct sub task = { .ring = &self->ring, .lock = &self->sq_lock };
	struct sub cancel = { .ring = &self->ring, .lock = &self->sq_lock };
	unsigned int i, n = delay_ns < 0 ? 1 : 2;
	struct kpool_cqe cqes[2];
	pthread_t t;

	if (v->op == KPOOL_OP_COPY)
		kpool_prep_copy(&task.sqe, CANCEL_ARENA / 2, 0, v->len);
	else
		kpool_prep_read(&task.sqe, self->fd, 0, v->len, 0);
	task.sqe.user_data = data;
	if (pthread_create(&t, NULL, submitter, &task))
		return __LINE__;
	while (!__atomic_load_n(&task.published, __ATOMIC_ACQUIRE))
		sched_yield();
	if (n == 2) {
		while (kp_now_ns() < task.published_ns + delay_ns)
			sched_yield();
		kpool_prep_cancel(&cancel.sqe, data);
		cancel.sqe.user_data = data + 1;
		cancel.ret = submit_one(&cancel);
	}
	pthread_join(t, NULL);
	if (task.ret || task.submitted != 1)
		return __LINE__;
	if (n == 2 && (cancel.ret || cancel.submitted != 1))
		return __LINE__;
	if (reap(&self->ring, cqes, n))
		return __LINE__;
	out->task_ns = kp_now_ns() - task.published_ns;
	out->cancel_res = 1;
	for (i = 0; i < n; i++) {
		if (cqes[i].user_data == data)
			out->task_res = cqes[i].res;
		else
			out->cancel_res = cqes[i].res;
	}
	return 0;
}

TEST_F_TIMEOUT(cancel, answer_zero_means_ecanceled, 90)
{
	unsigned int i, rounds = 0, zero = 0, enoent = 0, ealready = 0;
	unsigned int bad = 0, other = 0;
	uint64_t alone = 0, end;
	int bad_res = 0;
	struct round rd;

	/* How long the task takes when nobody cancels it: the best of 3. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, cancel_round(self, variant, 10 + 2 * i, -1, &rd));
		ASSERT_EQ((int)variant->len, rd.task_res);
		if (!alone || rd.task_ns < alone)
			alone = rd.task_ns;
	}
	/* Cancel after 0 .. 1.15 times that, in 24 steps, with some jitter. */
	end = kp_now_ns() + 20000 * KP_MS;
	for (i = 0; i < 200 && kp_now_ns() < end; i++) {
		int64_t delay = alone * (i % 24) / 20 + (i * 7919) % 50000;

		ASSERT_EQ(0, cancel_round(self, variant, 1000 + 2 * i, delay,
					  &rd));
		rounds++;
		switch (rd.cancel_res) {
		case -ENOENT:
			enoent++;
			break;
		case -EALREADY:
			ealready++;
			break;
		case 0:
			zero++;
			if (rd.task_res != -ECANCELED && !bad++)
				bad_res = rd.task_res;
			break;
		default:
			other++;
		}
	}
	TH_LOG("%u rounds, the task alone %.2f ms; CANCEL answered -ENOENT %u, -EALREADY %u, other %u, 0 %u times, of which %u left the task a result other than -ECANCELED (the first: %d)",
	       rounds, alone / 1e6, enoent, ealready, other, zero, bad,
	       bad_res);
	ASSERT_EQ(0, other);		/* the CANCEL itself was wrong */
	if (!zero)
		SKIP(return, "no CANCEL caught the task running");
	ASSERT_EQ(0, bad);
}

TEST_HARNESS_MAIN
