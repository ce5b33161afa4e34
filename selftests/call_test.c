// SPDX-License-Identifier: GPL-2.0
/*
 * CALL tasks and KPOOL_IOC_WORK (KPOOL_FEAT_CALL): the pool hands a
 * function of the program (the SQE's addr, with its argument off) to one
 * of the program's own threads parked in WORK, which runs it in user
 * space and reports its result.
 *
 *  1. the worker gets exactly what the SQE named, the CQE exactly what
 *     the worker reported;
 *  2. a CALL takes no slot until a worker of its own process is parked,
 *     and meanwhile waits like any task: STATS, cancel, deadline,
 *     priority; another process's workers never get it;
 *  3. WORK's own rules: tokens, LEAVE, timeouts, signals, 64 workers, and
 *     every way its argument is refused;
 *  4. cancel of a running call: the worker's word in the cq_ring, then
 *     the CQE;
 *  5. drain, a worker thread that exits, a pool closed and a process
 *     killed with calls in flight;
 *  6. capacity, and one CQE per call under a mix of everything;
 *  7. a call whose worker thread sleeps in the kernel lends its slot to a
 *     waiting task until the thread runs again; a preempted one does not;
 *     fdinfo counts worker threads and blocked ones.
 *
 * Worker threads never assert: they record what they saw and the test
 * judges it after joining them.  Every test ends its threads (LEAVE, or
 * a drain that ends parked workers with ESHUTDOWN).  Guests run under
 * TCG: bounds are generous, and measured numbers are logged.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define PROMPT		(10000 * KP_MS)	/* generous: guests run under TCG */
#define MAX_WORKERS	8
#define SQ_ENTRIES	64

/* ---- the ring, keeping SETUP's reply (off.workers) ---- */

static void *map_region(int fd, const struct kpool_region *r, int prot)
{
	void *m = mmap(NULL, r->size, prot, MAP_SHARED | MAP_POPULATE, fd,
		       (off_t)r->offset);

	return m == MAP_FAILED ? NULL : m;
}

/*
 * kpool_ring_open() with @capacity slots, done by hand: struct kpool_ring
 * does not keep where the worker words are, SETUP's reply *@p does.
 */
static int call_ring_open(struct kpool_ring *ring, struct kpool_setup *p,
			  __u32 capacity)
{
	char *sq_ring, *cq_ring;
	int fd, err;

	memset(ring, 0, sizeof(*ring));
	fd = kp_open();
	if (fd < 0)
		return -errno;
	kp_setup_init(p, SQ_ENTRIES, 0);
	p->capacity = capacity;
	err = kp_ioctl(fd, KPOOL_IOC_SETUP, p);
	if (err) {
		close(fd);
		return err;
	}
	ring->fd = fd;
	ring->owns_fd = 1;
	ring->features = p->features;
	ring->capacity = p->capacity;
	ring->max_waiting = p->max_waiting;
	ring->size_sq_ring = p->sq_ring.size;
	ring->size_sqes = p->sqes.size;
	ring->size_cq_ring = p->cq_ring.size;
	ring->map_sq_ring = map_region(fd, &p->sq_ring, PROT_READ | PROT_WRITE);
	ring->map_sqes = map_region(fd, &p->sqes, PROT_READ | PROT_WRITE);
	ring->map_cq_ring = map_region(fd, &p->cq_ring, PROT_READ);
	if (!ring->map_sq_ring || !ring->map_sqes || !ring->map_cq_ring) {
		err = -errno;
		kpool_ring_exit(ring);
		return err;
	}
	sq_ring = ring->map_sq_ring;
	cq_ring = ring->map_cq_ring;
	ring->sq.ktail = (__u32 *)(sq_ring + p->off.sq_tail);
	ring->sq.khead = (const __u32 *)(cq_ring + p->off.sq_head);
	ring->sq.sqes = ring->map_sqes;
	ring->sq.entries = p->sq_entries;
	ring->sq.mask = p->sq_entries - 1;
	ring->sq.sqe_tail = *ring->sq.ktail;
	ring->cq.khead = (__u32 *)(sq_ring + p->off.cq_head);
	ring->cq.ktail = (const __u32 *)(cq_ring + p->off.cq_tail);
	ring->cq.cqes = (struct kpool_cqe *)(cq_ring + p->off.cqes);
	ring->cq.entries = p->cq_entries;
	ring->cq.mask = p->cq_entries - 1;
	ring->kflags = p->features & KPOOL_FEAT_OWNER_CONTEXT ?
		(const __u32 *)(cq_ring + p->off.flags) : NULL;
	return 0;
}

/* Do the KPOOL_POOL_WORKERS worker words fit in the cq_ring region? */
static int worker_words_fit(const struct kpool_setup *p)
{
	return (__u64)p->off.workers + KPOOL_POOL_WORKERS * sizeof(__u32) <=
		p->cq_ring.size;
}

/* The worker word of @slot, read as the uapi says: a load-acquire. */
static __u32 worker_word(const struct kpool_ring *r,
			 const struct kpool_setup *p, __u32 slot)
{
	const __u32 *words = (const __u32 *)((const char *)r->map_cq_ring +
					     p->off.workers);

	return __atomic_load_n(&words[slot], __ATOMIC_ACQUIRE);
}

/*
 * In a fixture setup: the fixture's ring of @cap slots; skip when the
 * module lacks CALL.  The fixture has ring, p and up.
 */
#define CALL_RING_SETUP(self, cap) do {					\
	(self)->up = 0;							\
	KP_REQUIRE_MODULE();						\
	ASSERT_EQ(0, call_ring_open(&(self)->ring, &(self)->p, cap));	\
	if (!((self)->ring.features & KPOOL_FEAT_CALL)) {		\
		kpool_ring_close(&(self)->ring);			\
		SKIP(return, "the module lacks KPOOL_FEAT_CALL");	\
	}								\
	(self)->up = 1;							\
} while (0)

/* ---- SQEs and the WORK ioctl ---- */

/* A CALL: the module hands @fn and @arg to a worker untouched. */
static void prep_call(struct kpool_sqe *sqe, __u64 fn, __u64 arg)
{
	sqe->op = KPOOL_OP_CALL;
	sqe->addr = fn;
	sqe->off = arg;
}

static struct kpool_sqe *queue_call(struct kpool_ring *r, __u64 fn,
				    __u64 arg, __u64 data)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	prep_call(sqe, fn, arg);
	kpool_sqe_set_data(sqe, data);
	return sqe;
}

/* KPOOL_IOC_WORK: 0 or -errno. */
static int work(int fd, struct kpool_work *k)
{
	return ioctl(fd, KPOOL_IOC_WORK, k) < 0 ? -errno : 0;
}

static void work_init(struct kpool_work *k, __u32 flags, __u64 token,
		      int res)
{
	memset(k, 0, sizeof(*k));
	k->size = sizeof(*k);
	k->flags = flags;
	k->token = token;
	k->res = res;
}

/* Report @res for @token (if @token), then park at most @ns for a task. */
static int work_for(int fd, struct kpool_work *k, __u64 token, int res,
		    uint64_t ns)
{
	work_init(k, KPOOL_WORK_TIMEOUT | (token ? KPOOL_WORK_DONE : 0),
		  token, res);
	k->timeout_ns = ns;
	return work(fd, k);
}

/* Report @res for @token quietly: no CQE, and no park. */
static int work_quiet(int fd, struct kpool_work *k, __u64 token, int res)
{
	work_init(k, KPOOL_WORK_DONE | KPOOL_WORK_QUIET, token, res);
	return work(fd, k);
}

/* Report @res for @token (if @token), and stop being a worker. */
static int work_leave(int fd, __u64 token, int res)
{
	struct kpool_work k;

	work_init(&k, KPOOL_WORK_LEAVE | (token ? KPOOL_WORK_DONE : 0),
		  token, res);
	return work(fd, &k);
}

/* ---- worker threads ---- */

struct worker {
	pthread_t tid;
	int fd;
	int err;		/* how its last WORK failed: -errno */
	unsigned int ran;	/* calls it ran */
	unsigned int bad;	/* replies it could not use */
	int exit_now;		/* end the thread, holding the call */
	int started, joined;
};

/* What the functions the tests call share with the tests. */
static struct {
	int held, max_held;	/* calls being run now, and at most */
	int running, finished;	/* fn_slow began, ended */
	int holding, release;	/* fn_hold holds, may return */
	int block_pipe;		/* fn_block says it runs */
} g;

typedef int (*call_fn)(struct worker *w, const struct kpool_work *k);

/*
 * Counts how many calls are being run at once.  Each computes for 20 ms
 * rather than sleeps: a call whose thread sleeps lends its slot out.
 */
static int fn_count(struct worker *w, const struct kpool_work *k)
{
	int n = __atomic_add_fetch(&g.held, 1, __ATOMIC_SEQ_CST);
	int m = __atomic_load_n(&g.max_held, __ATOMIC_SEQ_CST);
	uint64_t end;

	(void)w;
	while (n > m && !__atomic_compare_exchange_n(&g.max_held, &m, n, 0,
						     __ATOMIC_SEQ_CST,
						     __ATOMIC_SEQ_CST))
		;
	end = kp_now_ns() + 20 * KP_MS;
	while (kp_now_ns() < end)
		;
	__atomic_sub_fetch(&g.held, 1, __ATOMIC_SEQ_CST);
	return (int)k->arg;
}

/* Runs for 300 ms. */
static int fn_slow(struct worker *w, const struct kpool_work *k)
{
	(void)w;
	__atomic_store_n(&g.running, 1, __ATOMIC_RELEASE);
	usleep(300 * 1000);
	__atomic_store_n(&g.finished, 1, __ATOMIC_RELEASE);
	return (int)k->arg;
}

#define HOLD_MAX	(20000 * KP_MS)

/* Holds its call until the test releases it (at most HOLD_MAX). */
static int fn_hold(struct worker *w, const struct kpool_work *k)
{
	uint64_t end = kp_now_ns() + HOLD_MAX;

	(void)w;
	(void)k;
	__atomic_store_n(&g.holding, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&g.release, __ATOMIC_ACQUIRE) &&
	       kp_now_ns() < end)
		usleep(1000);
	return 0;
}

/* Ends its thread without reporting. */
static int fn_exit(struct worker *w, const struct kpool_work *k)
{
	(void)k;
	w->exit_now = 1;
	return 0;
}

/* Says it runs, then never returns. */
static int fn_block(struct worker *w, const struct kpool_work *k)
{
	(void)w;
	(void)k;
	if (write(g.block_pipe, "R", 1) != 1)
		return -EIO;
	for (;;)
		pause();
	return 0;
}

#define STRESS_CALLS	2000

static unsigned int stress_runs[STRESS_CALLS];

/* Counts the runs of each user_data. */
static int fn_stress(struct worker *w, const struct kpool_work *k)
{
	(void)w;
	if (k->user_data < STRESS_CALLS)
		__atomic_add_fetch(&stress_runs[k->user_data], 1,
				   __ATOMIC_RELAXED);
	return (int)k->arg;
}

/*
 * What the functions of the blocked tests share with them: a call that
 * sleeps in read(), calls that spin on the CPU, one that returns at once.
 */
#define SPINNERS	2

static struct {
	int pipe[2];		/* fn_read reads pipe[0] */
	int reading;		/* fn_read is about to read */
	int read_back;		/* its read() returned */
	int spinning[SPINNERS];	/* spinner i spins... */
	int stop[SPINNERS];	/* ...until told this */
	pid_t tid[SPINNERS];	/* on this thread */
	int hogs_stop;		/* hog threads may end */
} bl;

/*
 * Spins as spinner @i until told to stop (at most HOLD_MAX), making no
 * syscall: it never sleeps, it can only be preempted.  (It looks at the
 * clock once in a million turns: the vDSO, or at worst a clock_gettime()
 * that does not sleep either.)
 */
static void spin(unsigned int i)
{
	uint64_t end = kp_now_ns() + HOLD_MAX;
	unsigned long n = 0;

	bl.tid[i] = (pid_t)syscall(SYS_gettid);
	__atomic_store_n(&bl.spinning[i], 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&bl.stop[i], __ATOMIC_ACQUIRE))
		if (!(++n & 0xfffff) && kp_now_ns() > end)
			break;
}

/* Spins as spinner arg; returns arg. */
static int fn_spin(struct worker *w, const struct kpool_work *k)
{
	(void)w;
	if (k->arg >= SPINNERS)
		return -EINVAL;
	spin((unsigned int)k->arg);
	return (int)k->arg;
}

/*
 * Sleeps in read() on bl.pipe until a byte (or EOF) comes; then, if arg
 * is 1 + i, spins as spinner i.  Returns what read() returned.
 */
static int fn_read(struct worker *w, const struct kpool_work *k)
{
	ssize_t n;
	char c;

	(void)w;
	if (k->arg > SPINNERS)
		return -EINVAL;
	__atomic_store_n(&bl.reading, 1, __ATOMIC_RELEASE);
	n = read(bl.pipe[0], &c, 1);
	if (n < 0)
		n = -errno;
	__atomic_store_n(&bl.read_back, 1, __ATOMIC_RELEASE);
	if (k->arg)
		spin((unsigned int)k->arg - 1);
	return (int)n;
}

/* Returns arg at once. */
static int fn_quick(struct worker *w, const struct kpool_work *k)
{
	(void)w;
	return (int)k->arg;
}

/* A worker calls only functions it knows: fn may be anything. */
static call_fn known_fn(__u64 fn)
{
	static const call_fn known[] = {
		fn_count, fn_slow, fn_hold, fn_exit, fn_block, fn_stress,
		fn_spin, fn_read, fn_quick,
	};
	unsigned int i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if ((uintptr_t)known[i] == fn)
			return known[i];
	return NULL;
}

/* Park, run what comes, report it with the next park; until WORK fails. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct kpool_work k;
	__u64 held = 0;
	int res = 0, ret;
	call_fn fn;

	for (;;) {
		work_init(&k, held ? KPOOL_WORK_DONE : 0, held, res);
		ret = work(w->fd, &k);
		held = 0;
		if (ret) {
			__atomic_store_n(&w->err, ret, __ATOMIC_RELEASE);
			return NULL;
		}
		if (!k.token) {		/* success without a task */
			w->bad++;
			continue;
		}
		held = k.token;
		fn = known_fn(k.fn);
		if (!fn) {
			w->bad++;
			res = -EINVAL;
			continue;
		}
		w->ran++;
		res = fn(w, &k);
		if (w->exit_now)
			return NULL;
	}
}

/* Wait (at most @secs) for a worker's thread to end: 0, or -1. */
static int join_worker(struct worker *w, int secs)
{
	struct timespec ts;

	if (!w->started || w->joined)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	if (pthread_timedjoin_np(w->tid, NULL, &ts))
		return -1;
	w->joined = 1;
	return 0;
}

/* Wait (at most @ns) until *@flag is set: 1, or 0. */
static int wait_flag(int *flag, uint64_t ns)
{
	uint64_t end = kp_now_ns() + ns;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (kp_now_ns() > end)
			return 0;
		usleep(1000);
	}
	return 1;
}

/* The res of the CQE with @data among @n, or -9999. */
static int res_of(const struct kpool_cqe *c, unsigned int n, __u64 data)
{
	while (n--)
		if (c[n].user_data == data)
			return c[n].res;
	return -9999;
}

static struct kpool_counters totals(struct kpool_ring *r)
{
	struct kpool_counters c;

	memset(&c, 0, sizeof(c));
	kpool_read_stats(r, &c, NULL, 0);
	return c;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGALRM (no SA_RESTART) in @ms: a call parked by mistake ends EINTR. */
static int alarm_in(unsigned int ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 },
	};

	if (sigaction(SIGALRM, &sa, NULL))
		return -1;
	return setitimer(ITIMER_REAL, &it, NULL);
}

/* ---- a pool of 2 slots; the test's thread or worker threads work ---- */

FIXTURE(call) {
	struct kpool_ring ring;
	struct kpool_setup p;
	struct worker w[MAX_WORKERS];
	int nw;
	int up;
};

FIXTURE_SETUP(call)
{
	self->nw = 0;
	CALL_RING_SETUP(self, 2);
}

/* @n more worker threads of the pool @fd in @ws (*@nw of them so far). */
static int workers_start(struct worker *ws, int *nw, int fd, int n)
{
	while (n-- > 0) {
		struct worker *w = &ws[*nw];

		if (*nw == MAX_WORKERS)
			return -1;
		memset(w, 0, sizeof(*w));
		w->fd = fd;
		if (pthread_create(&w->tid, NULL, worker_main, w))
			return -1;
		w->started = 1;
		(*nw)++;
	}
	return 0;
}

/*
 * End the worker threads: a drain (of @ring, if @up) ends the parked ones
 * with ESHUTDOWN (after they ran what waits).  Returns how many did not
 * end.
 */
static int workers_stop(struct worker *ws, int nw, struct kpool_ring *ring,
			int up)
{
	int i, live = 0, left = 0;

	for (i = 0; i < nw; i++)
		live += !ws[i].joined;
	if (!live)
		return 0;
	if (up)
		kpool_drain_timeout(ring, PROMPT);
	for (i = 0; i < nw; i++)
		left += join_worker(&ws[i], 10) != 0;
	return left;
}

static int start_workers(FIXTURE_DATA(call) *self, int n)
{
	return workers_start(self->w, &self->nw, self->ring.fd, n);
}

static int stop_workers(FIXTURE_DATA(call) *self)
{
	return workers_stop(self->w, self->nw, &self->ring, self->up);
}

FIXTURE_TEARDOWN(call)
{
	stop_workers(self);
	if (self->up)
		kpool_ring_close(&self->ring);
}

/* 1. what goes in comes out */

TEST_F(call, worker_gets_what_the_sqe_named)
{
	struct kpool_work k;

	queue_call(&self->ring, 0xfedcba9876543210ull, 0x0123456789abcdefull,
		   0xdeadbeef00000001ull);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	EXPECT_NE(0, k.token);
	EXPECT_EQ(0xfedcba9876543210ull, k.fn);
	EXPECT_EQ(0x0123456789abcdefull, k.arg);
	EXPECT_EQ(0xdeadbeef00000001ull, k.user_data);
	EXPECT_EQ(0, k.deadline_ns);
	EXPECT_GT(KPOOL_POOL_WORKERS, k.slot);
	EXPECT_EQ(0, work_leave(self->ring.fd, k.token, 0));
}

TEST_F(call, cqe_carries_the_reported_result)
{
	struct kpool_work k;
	struct kpool_cqe cqe;

	queue_call(&self->ring, 1, 0, 7);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	ASSERT_EQ(0, work_leave(self->ring.fd, k.token, 4242));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(7, cqe.user_data);
	EXPECT_EQ(4242, cqe.res);
}

/* 1b. a quiet report: the worker takes the result, no CQE */

TEST_F(call, setup_reports_the_quiet_report)
{
	EXPECT_EQ(KPOOL_FEAT_WORK_QUIET,
		  self->ring.features & KPOOL_FEAT_WORK_QUIET);
}

TEST_F(call, quiet_report_returns_the_result_and_posts_no_cqe)
{
	struct kpool_counters total;
	struct kpool_work k;
	struct kpool_cqe cqe;
	int ret, reaped;

	queue_call(&self->ring, 1, 0, 7);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	ret = work_quiet(self->ring.fd, &k, k.token, 4242);
	reaped = kp_reap_n(&self->ring, &cqe, 1, 100 * KP_MS);
	total = totals(&self->ring);
	TH_LOG("ret %d, done_res %d, token %llu, reap %d, completed %llu",
	       ret, k.done_res, (unsigned long long)k.token, reaped,
	       (unsigned long long)total.completed);
	EXPECT_TRUE(ret == 0 && k.done_res == 4242 && k.token == 0 &&
		    reaped == -ETIME && total.completed == 1);
}

TEST_F(call, quiet_report_of_a_cancelled_call_says_ecanceled)
{
	struct kpool_work k;
	struct kpool_cqe cqe;

	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	q_cancel(&self->ring, 1, 2);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	ASSERT_EQ(0, cqe.res);		/* the CANCEL answered 0 */
	ASSERT_EQ(0, work_quiet(self->ring.fd, &k, k.token, 0));
	EXPECT_EQ(-ECANCELED, k.done_res);
}

TEST_F(call, quiet_report_takes_the_next_call_at_once)
{
	struct kpool_work k;

	queue_call(&self->ring, 1, 0, 1);
	queue_call(&self->ring, 1, 0, 2);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	ASSERT_EQ(1, k.user_data);
	ASSERT_EQ(0, work_quiet(self->ring.fd, &k, k.token, 0));
	EXPECT_TRUE(k.token != 0 && k.user_data == 2);
	work_leave(self->ring.fd, k.token, 0);
}

/*
 * The next task (which may reuse the reported one's memory) posts its
 * CQE: quiet is the reported task's alone.  Meaningful on a kernel that
 * does not zero allocations (init_on_alloc=0, as make check boots).
 */
TEST_F(call, task_after_a_quiet_report_posts_its_cqe)
{
	struct kpool_work k;
	struct kpool_cqe cqe = { .res = -9999 };
	int i, reaped = 0;

	for (i = 0; i < 8; i++) {
		queue_call(&self->ring, 1, 0, 1);
		ASSERT_EQ(1, kpool_submit(&self->ring));
		ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
		ASSERT_EQ(0, work_quiet(self->ring.fd, &k, k.token, 0));
		q_nop(&self->ring, 100 + i);
		ASSERT_EQ(1, kpool_submit(&self->ring));
		reaped += !kp_reap_n(&self->ring, &cqe, 1, 500 * KP_MS) &&
			  cqe.user_data == 100u + i;
	}
	EXPECT_EQ(8, reaped);
}

TEST_F(call, quiet_report_with_nothing_to_give_does_not_park)
{
	struct kpool_worker_counts c = { .parked = 99 };
	struct kpool_work k;
	int ret;

	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	ret = work_quiet(self->ring.fd, &k, k.token, 0);
	ASSERT_EQ(0, kpool_get_worker_counts(&self->ring, &c));
	TH_LOG("ret %d, token %llu, workers %u, parked %u", ret,
	       (unsigned long long)k.token, c.workers, c.parked);
	EXPECT_TRUE(ret == 0 && k.token == 0 && c.workers == 1 &&
		    c.parked == 0);
}

TEST_F(call, worker_gets_the_deadline_as_monotonic_time)
{
	const uint64_t d = 30000 * KP_MS, slack = 5 * KP_MS;
	struct kpool_sqe *sqe;
	struct kpool_work k;
	uint64_t t0, t1;

	sqe = queue_call(&self->ring, 1, 0, 1);
	kpool_sqe_set_deadline(sqe, d);
	t0 = kp_now_ns();
	ASSERT_EQ(1, kpool_submit(&self->ring));
	t1 = kp_now_ns();
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	EXPECT_EQ(0, work_leave(self->ring.fd, k.token, 0));
	TH_LOG("submitted in [%llu, %llu] ns with a deadline of %llu ns: the worker was told %llu",
	       (unsigned long long)t0, (unsigned long long)t1,
	       (unsigned long long)d, (unsigned long long)k.deadline_ns);
	EXPECT_LE(t0 + d - slack, k.deadline_ns);
	EXPECT_GE(t1 + d + slack, k.deadline_ns);
}

/* 2. waiting for a worker */

TEST_F(call, takes_no_slot_until_a_worker_parks)
{
	struct kpool_counters c;
	struct kpool_work k;
	int i;

	for (i = 0; i < 3; i++)
		queue_call(&self->ring, 1, 0, i);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	usleep(50 * 1000);
	c = totals(&self->ring);
	EXPECT_EQ(0, c.started);
	EXPECT_EQ(0, c.running);
	EXPECT_EQ(3, c.waiting);
	/* One worker parks: one call starts, the others wait with a slot free. */
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	c = totals(&self->ring);
	EXPECT_EQ(1, c.running);
	EXPECT_EQ(2, c.waiting);
	EXPECT_EQ(0, work_leave(self->ring.fd, k.token, 0));
}

TEST_F(call, cancel_of_a_waiting_call_never_runs_it)
{
	struct kpool_cqe cqes[2];
	struct kpool_work k;

	queue_call(&self->ring, 1, 0, 1);
	q_cancel(&self->ring, 1, 2);
	ASSERT_EQ(2, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 2, PROMPT));
	EXPECT_EQ(0, res_of(cqes, 2, 2));
	EXPECT_EQ(-ECANCELED, res_of(cqes, 2, 1));
	/* Nothing is left to give. */
	EXPECT_EQ(-ETIME, work_for(self->ring.fd, &k, 0, 0, 100 * KP_MS));
}

TEST_F(call, deadline_passes_while_no_worker_parks)
{
	struct kpool_cqe cqe;
	struct kpool_work k;

	kpool_sqe_set_deadline(queue_call(&self->ring, 1, 0, 1), 20 * KP_MS);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(-ETIME, cqe.res);
	EXPECT_EQ(-ETIME, work_for(self->ring.fd, &k, 0, 0, 50 * KP_MS));
}

TEST_F(call, high_priority_call_is_given_first)
{
	struct kpool_work k;
	__u64 first;

	queue_call(&self->ring, 1, 0, 1);
	queue_call(&self->ring, 1, 0, 2);
	kpool_sqe_set_prio(queue_call(&self->ring, 1, 0, 3), KPOOL_PRIO_HIGH);
	ASSERT_EQ(3, kpool_submit(&self->ring));
	/* All three wait; the first worker to park gets... */
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	first = k.user_data;
	ASSERT_EQ(0, work_for(self->ring.fd, &k, k.token, 0, PROMPT));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, k.token, 0, PROMPT));
	EXPECT_EQ(0, work_leave(self->ring.fd, k.token, 0));
	EXPECT_EQ(3, first);
}

TEST_F(call, other_process_never_gets_our_calls)
{
	struct kpool_work k;
	int status;
	pid_t pid;

	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* A child shares the pool: it may work for it, not run our call. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ret = work_for(self->ring.fd, &k, 0, 0, 200 * KP_MS);

		_exit(ret == -ETIME ? 0 : ret == 0 ? 2 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("the child's WORK %s", WEXITSTATUS(status) == 2 ?
		       "got our call" : "failed otherwise");
	}
	/* The call still waited for us. */
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	EXPECT_EQ(1, k.user_data);
	EXPECT_EQ(0, work_leave(self->ring.fd, k.token, 0));
}

TEST_F(call, orphaned_call_is_cancelled_at_the_head)
{
	struct kpool_sqe *sqe;
	struct kpool_cqe cqe[2];
	int status;
	pid_t pid;

	/* A child shares the pool, queues a call, and exits: no worker of
	 * its process will ever park. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		queue_call(&self->ring, 1, 0, 0xc411);
		_exit(kpool_submit(&self->ring) == 1 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	/* The child moved the shared SQ tail: take up from there. */
	self->ring.sq.sqe_tail = *self->ring.sq.ktail;
	sqe = kpool_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	kpool_prep_nop(sqe);
	kpool_sqe_set_data(sqe, 0x4e0f);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* The NOP does not wait behind the orphan for ever. */
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqe, 2, PROMPT));
	EXPECT_EQ(-ECANCELED, res_of(cqe, 2, 0xc411));
	EXPECT_EQ(0, res_of(cqe, 2, 0x4e0f));
}

static long module_refs(void)
{
	FILE *f = fopen("/sys/module/kpool/refcnt", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

TEST_F(call, detached_worker_freed_when_its_thread_registers_again)
{
	struct kpool_ring other;
	struct kpool_setup op;
	struct kpool_work k;
	long before;

	ASSERT_EQ(0, call_ring_open(&other, &op, 2));
	before = module_refs();
	ASSERT_LE(0, before);
	/* This thread works for the fixture's pool, which then closes: the
	 * worker is detached, and still holds its module reference. */
	ASSERT_EQ(-ETIME, work_for(self->ring.fd, &k, 0, 0, KP_MS));
	kpool_ring_close(&self->ring);
	self->up = 0;
	ASSERT_EQ(before, module_refs());
	/* Working for another pool frees it; leaving that one frees the new. */
	ASSERT_EQ(-ETIME, work_for(other.fd, &k, 0, 0, KP_MS));
	ASSERT_EQ(0, work_leave(other.fd, 0, 0));
	EXPECT_EQ(before - 1, module_refs());
	kpool_ring_close(&other);
}

/* 3. WORK's rules */

TEST_F(call, wrong_token_completes_nothing)
{
	struct kpool_work k, bad;
	struct kpool_cqe cqe;

	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	EXPECT_EQ(-EINVAL, work_for(self->ring.fd, &bad, k.token + 1, 5,
				    KP_MS));
	usleep(20 * 1000);
	EXPECT_EQ(0, kpool_cq_ready(&self->ring));
	/* The right token still completes it. */
	ASSERT_EQ(0, work_leave(self->ring.fd, k.token, 5));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(5, cqe.res);
}

TEST_F(call, report_stands_though_the_park_times_out)
{
	struct kpool_work k;
	struct kpool_cqe cqe;

	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	ASSERT_EQ(-ETIME, work_for(self->ring.fd, &k, k.token, 9,
				   10 * KP_MS));
	EXPECT_EQ(0, k.token);		/* no new task */
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(9, cqe.res);
}

TEST_F(call, second_report_of_a_token_is_refused)
{
	struct kpool_work k;
	struct kpool_cqe cqe;
	__u64 token;

	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	token = k.token;
	ASSERT_EQ(-ETIME, work_for(self->ring.fd, &k, token, 9, KP_MS));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(-EINVAL, work_for(self->ring.fd, &k, token, 10, KP_MS));
	usleep(20 * 1000);
	EXPECT_EQ(0, kpool_cq_ready(&self->ring));
}

TEST_F(call, leave_while_holding_a_call_is_busy)
{
	struct kpool_work k;
	struct kpool_cqe cqe;

	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	EXPECT_EQ(-EBUSY, work_leave(self->ring.fd, 0, 0));
	/* Reporting in the same call lets it leave. */
	ASSERT_EQ(0, work_leave(self->ring.fd, k.token, 3));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(3, cqe.res);
}

TEST_F(call, park_times_out)
{
	struct kpool_work k;
	uint64_t t0 = kp_now_ns();

	ASSERT_EQ(-ETIME, work_for(self->ring.fd, &k, 0, 0, 20 * KP_MS));
	ASSERT_LE(20 * KP_MS, kp_now_ns() - t0);
}

TEST_F(call, signal_interrupts_the_park)
{
	struct kpool_work k;

	ASSERT_EQ(0, alarm_in(20));
	work_init(&k, 0, 0, 0);
	ASSERT_EQ(-EINTR, work(self->ring.fd, &k));
}

/* 64 threads register (a timed-out WORK leaves them workers), then leave. */
struct registrant {
	pthread_t tid;
	int fd;
	int first;		/* its WORK: -ETIME, a worker now */
	int leave;		/* its LEAVE */
	int go;			/* the test lets it leave */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cond = PTHREAD_COND_INITIALIZER;
static int reg_count;

static void *registrant_main(void *arg)
{
	struct registrant *r = arg;
	struct kpool_work k;

	r->first = work_for(r->fd, &k, 0, 0, KP_MS);
	pthread_mutex_lock(&reg_lock);
	reg_count++;
	pthread_cond_broadcast(&reg_cond);
	while (!r->go)
		pthread_cond_wait(&reg_cond, &reg_lock);
	pthread_mutex_unlock(&reg_lock);
	r->leave = work_leave(r->fd, 0, 0);
	return NULL;
}

static void let_go(struct registrant *r, int n)
{
	pthread_mutex_lock(&reg_lock);
	while (n--)
		r[n].go = 1;
	pthread_cond_broadcast(&reg_cond);
	pthread_mutex_unlock(&reg_lock);
}

TEST_F_TIMEOUT(call, at_most_64_workers_at_once, 60)
{
	struct registrant r[KPOOL_POOL_WORKERS];
	int i, n = 0, registered, left = 0, busy, after_leave;
	uint64_t end = kp_now_ns() + PROMPT;
	struct kpool_work k;
	pthread_attr_t attr;

	memset(r, 0, sizeof(r));
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, 64 << 10));
	for (i = 0; i < KPOOL_POOL_WORKERS; i++, n++) {
		r[i].fd = self->ring.fd;
		if (pthread_create(&r[i].tid, &attr, registrant_main, &r[i]))
			break;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&reg_lock);
	while (reg_count < n && kp_now_ns() < end) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&reg_cond, &reg_lock, &ts);
	}
	registered = reg_count;
	pthread_mutex_unlock(&reg_lock);
	/* The 65th is refused; once one leaves, there is room again. */
	busy = work_for(self->ring.fd, &k, 0, 0, KP_MS);
	let_go(r, 1);
	if (n)
		pthread_join(r[0].tid, NULL);
	after_leave = work_for(self->ring.fd, &k, 0, 0, KP_MS);
	work_leave(self->ring.fd, 0, 0);
	let_go(r, n);
	for (i = 1; i < n; i++)
		pthread_join(r[i].tid, NULL);
	for (i = 0; i < n; i++)
		left += r[i].first != -ETIME || r[i].leave != 0;
	ASSERT_EQ(KPOOL_POOL_WORKERS, n);
	ASSERT_EQ(KPOOL_POOL_WORKERS, registered);
	EXPECT_EQ(0, left);
	EXPECT_EQ(-EBUSY, busy);
	EXPECT_EQ(0, r[0].leave);
	EXPECT_EQ(-ETIME, after_leave);
}

/* 4. cancel of a running call: the word is fresh for the next one */

TEST_F(call, worker_word_cleared_for_the_next_call)
{
	struct kpool_work k;
	struct kpool_cqe cqe;

	ASSERT_TRUE(worker_words_fit(&self->p));
	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	ASSERT_GT(KPOOL_POOL_WORKERS, k.slot);
	q_cancel(&self->ring, 1, 2);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	ASSERT_EQ(0, cqe.res);
	ASSERT_TRUE(worker_word(&self->ring, &self->p, k.slot) &
		    KPOOL_WORKER_CANCEL);
	/* The next call finds the word clear. */
	queue_call(&self->ring, 1, 0, 3);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, k.token, 0, PROMPT));
	ASSERT_EQ(3, k.user_data);
	ASSERT_GT(KPOOL_POOL_WORKERS, k.slot);
	EXPECT_EQ(0, worker_word(&self->ring, &self->p, k.slot));
	EXPECT_EQ(0, work_leave(self->ring.fd, k.token, 0));
}

/* 5. drain, exit, close */

TEST_F(call, drain_waits_until_running_calls_are_reported)
{
	struct kpool_cqe *cqe;

	ASSERT_EQ(0, start_workers(self, 1));
	queue_call(&self->ring, (uintptr_t)fn_slow, 55, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&g.running, PROMPT));
	ASSERT_EQ(0, kpool_drain_timeout(&self->ring, PROMPT));
	EXPECT_TRUE(__atomic_load_n(&g.finished, __ATOMIC_ACQUIRE));
	ASSERT_EQ(1, kpool_cq_ready(&self->ring));
	ASSERT_EQ(0, kpool_peek_cqe(&self->ring, &cqe));
	EXPECT_EQ(55, cqe->res);
}

TEST_F(call, drain_ends_parked_workers_with_eshutdown)
{
	ASSERT_EQ(0, start_workers(self, 1));
	usleep(50 * 1000);	/* let it park (if not, WORK fails at once) */
	ASSERT_EQ(0, kpool_drain_timeout(&self->ring, PROMPT));
	ASSERT_EQ(0, join_worker(&self->w[0], 10));
	EXPECT_EQ(-ESHUTDOWN, self->w[0].err);
	EXPECT_EQ(0, self->w[0].ran);
}

TEST_F(call, exiting_worker_leaves_its_call_eownerdead)
{
	struct kpool_cqe cqe;

	ASSERT_EQ(0, start_workers(self, 1));
	queue_call(&self->ring, (uintptr_t)fn_exit, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, 5000 * KP_MS));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(-EOWNERDEAD, cqe.res);
}

#define CLOSE_PROMPT	(5000 * KP_MS)

TEST_F_TIMEOUT(call, close_with_a_held_call_returns_promptly, 60)
{
	uint64_t t0, took;

	ASSERT_EQ(0, start_workers(self, 1));
	queue_call(&self->ring, (uintptr_t)fn_hold, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&g.holding, PROMPT));
	/* The worker is in user space, holding the call. */
	t0 = kp_now_ns();
	kpool_ring_close(&self->ring);
	self->up = 0;
	took = kp_now_ns() - t0;
	__atomic_store_n(&g.release, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, join_worker(&self->w[0], 10));
	TH_LOG("close took %.1f ms; the worker's report then failed with %d",
	       took / 1e6, self->w[0].err);
	ASSERT_GT(CLOSE_PROMPT, took);
}

/* 6. capacity, and one CQE per call */

TEST_F(call, capacity_bounds_the_calls_given_out)
{
	struct kpool_cqe cqes[8];
	int i, wrong = 0;

	ASSERT_EQ(2, self->ring.capacity);
	ASSERT_EQ(0, start_workers(self, 4));
	for (i = 0; i < 8; i++)
		queue_call(&self->ring, (uintptr_t)fn_count, 100 + i, i);
	ASSERT_EQ(8, kpool_submit(&self->ring));
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 8, PROMPT));
	for (i = 0; i < 8; i++)
		wrong += res_of(cqes, 8, i) != 100 + i;
	TH_LOG("capacity 2, 4 workers, 8 calls: at most %d run at once",
	       g.max_held);
	EXPECT_EQ(0, wrong);
	EXPECT_GE(2, g.max_held);
}

#define CANCEL_DATA	(1ull << 32)

/* What the stress saw, per call and per CANCEL. */
static struct {
	unsigned char cqes[STRESS_CALLS];
	int res[STRESS_CALLS];
	unsigned int target[STRESS_CALLS];	/* of CANCEL i */
	unsigned char cancel_cqes[STRESS_CALLS];
	int cancel_res[STRESS_CALLS];
	unsigned int cancels, reaped, stray;
} st;

static int stress_result(unsigned int i)
{
	return (int)(i * 7 + 1);
}

static void stress_account(const struct kpool_cqe *cqe)
{
	st.reaped++;
	if (cqe->user_data >= CANCEL_DATA) {
		__u64 c = cqe->user_data - CANCEL_DATA;

		if (c >= st.cancels || st.cancel_cqes[c]++)
			st.stray++;
		else
			st.cancel_res[c] = cqe->res;
	} else if (cqe->user_data >= STRESS_CALLS ||
		   st.cqes[cqe->user_data]++) {
		st.stray++;
	} else {
		st.res[cqe->user_data] = cqe->res;
	}
}

TEST_F_TIMEOUT(call, every_call_yields_one_cqe, 120)
{
	unsigned int seed = 1, queued = 0, i, c;
	unsigned int ran = 0, expired = 0, cancelled = 0, bad = 0;
	uint64_t t0 = kp_now_ns(), end = t0 + 60000 * KP_MS;
	struct kpool_cqe *cqe;

	ASSERT_EQ(0, kpool_tune(&self->ring, 4, NULL));
	ASSERT_EQ(0, start_workers(self, 4));
	while (queued < STRESS_CALLS || st.reaped < STRESS_CALLS + st.cancels) {
		unsigned int got = 0;

		while (queued < STRESS_CALLS &&
		       kpool_sq_space_left(&self->ring) >= 2) {
			unsigned int r = rand_r(&seed);
			struct kpool_sqe *sqe;

			sqe = queue_call(&self->ring, (uintptr_t)fn_stress,
					 stress_result(queued), queued);
			kpool_sqe_set_prio(sqe, r & 1);
			if ((r >> 1) % 16 == 0)
				kpool_sqe_set_deadline(sqe, 100 * 1000);
			if ((r >> 5) % 16 == 0 && queued >= 8) {
				st.target[st.cancels] = queued - (r >> 9) % 8;
				q_cancel(&self->ring, st.target[st.cancels],
					 CANCEL_DATA + st.cancels);
				st.cancels++;
			}
			queued++;
		}
		kpool_submit(&self->ring);	/* a full pool or CQ: later */
		while (!kpool_peek_cqe(&self->ring, &cqe)) {
			stress_account(cqe);
			kpool_cqe_seen(&self->ring, cqe);
			got++;
		}
		if (!got)
			kpool_wait_cqe_timeout(&self->ring, &cqe, 10 * KP_MS);
		if (kp_now_ns() > end)
			break;
	}
	ASSERT_EQ(0, stop_workers(self));
	for (i = 0; i < STRESS_CALLS; i++) {
		int res = st.res[i];

		if (st.cqes[i] != 1 || stress_runs[i] > 1)
			bad++;
		else if (res == -ETIME)		/* expired waiting: never given */
			stress_runs[i] ? bad++ : expired++;
		else if (res == -ECANCELED)	/* waiting, or while it ran */
			cancelled++;
		else if (res != stress_result(i) || stress_runs[i] != 1)
			bad++;
		else
			ran++;
	}
	for (c = 0; c < st.cancels; c++)
		bad += st.cancel_cqes[c] != 1 ||
		       (!st.cancel_res[c] &&
			st.res[st.target[c]] != -ECANCELED);
	TH_LOG("%u calls in %.0f ms: %u ran, %u expired, %u cancelled; %u CANCELs; %u CQEs, %u stray, %u broken",
	       queued, (kp_now_ns() - t0) / 1e6, ran, expired, cancelled,
	       st.cancels, st.reaped, st.stray, bad);
	ASSERT_EQ(STRESS_CALLS, queued);
	ASSERT_EQ(STRESS_CALLS + st.cancels, st.reaped);
	ASSERT_EQ(0, st.stray);
	ASSERT_EQ(0, bad);
}

/* ---- 4. cancel of a running call, by what its worker reports ---- */

FIXTURE(cancel_running) {
	struct kpool_ring ring;
	struct kpool_setup p;
	int up;
};

FIXTURE_VARIANT(cancel_running) {
	int report;		/* what the worker reports */
	int want;		/* the call's CQE */
};

FIXTURE_VARIANT_ADD(cancel_running, reported_success_reads_ecanceled) {
	.report = 7, .want = -ECANCELED,
};
FIXTURE_VARIANT_ADD(cancel_running, reported_zero_reads_ecanceled) {
	.report = 0, .want = -ECANCELED,
};
FIXTURE_VARIANT_ADD(cancel_running, reported_error_stands) {
	.report = -EIO, .want = -EIO,
};

FIXTURE_SETUP(cancel_running)
{
	CALL_RING_SETUP(self, 2);
}

FIXTURE_TEARDOWN(cancel_running)
{
	if (self->up)
		kpool_ring_close(&self->ring);
}

TEST_F(cancel_running, told_through_the_worker_word)
{
	struct kpool_work k;
	struct kpool_cqe cqe;

	ASSERT_TRUE(worker_words_fit(&self->p));
	queue_call(&self->ring, 1, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_EQ(0, work_for(self->ring.fd, &k, 0, 0, PROMPT));
	ASSERT_GT(KPOOL_POOL_WORKERS, k.slot);
	EXPECT_EQ(0, worker_word(&self->ring, &self->p, k.slot));
	q_cancel(&self->ring, 1, 2);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* CANCEL answers at once; the call goes on until reported. */
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	ASSERT_EQ(2, cqe.user_data);
	ASSERT_EQ(0, cqe.res);
	EXPECT_TRUE(worker_word(&self->ring, &self->p, k.slot) &
		    KPOOL_WORKER_CANCEL);
	ASSERT_EQ(0, work_leave(self->ring.fd, k.token, variant->report));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(variant->want, cqe.res);
}

/* ---- CALL SQEs the module must refuse: each answered by its CQE ---- */

FIXTURE(bad_call) {
	struct kpool_ring ring;
	struct kpool_setup p;
	int up;
};

FIXTURE_VARIANT(bad_call) {
	struct kpool_sqe sqe;
};

#define BAD_CALL(field, value) {					\
	.sqe = { .op = KPOOL_OP_CALL, .addr = 0x1000, .off = 1,	\
		 .field = value }					\
}
FIXTURE_VARIANT_ADD(bad_call, with_fd) BAD_CALL(fd, 1);
FIXTURE_VARIANT_ADD(bad_call, with_len) BAD_CALL(len, 1);
FIXTURE_VARIANT_ADD(bad_call, with_op_flags) BAD_CALL(op_flags, 1);

FIXTURE_SETUP(bad_call)
{
	CALL_RING_SETUP(self, 2);
}

FIXTURE_TEARDOWN(bad_call)
{
	if (self->up)
		kpool_ring_close(&self->ring);
}

TEST_F(bad_call, completes_with_einval)
{
	struct kpool_sqe *sqe = kpool_get_sqe(&self->ring);
	struct kpool_cqe cqe;

	*sqe = variant->sqe;
	sqe->user_data = 0xbad5eull;
	ASSERT_EQ(1, kpool_submit(&self->ring));
	/* No worker needed: it never waits for one. */
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(0xbad5eull, cqe.user_data);
	EXPECT_EQ(-EINVAL, cqe.res);
}

/* ---- WORK arguments the module must refuse, each alone ---- */

FIXTURE(bad_work) {
	struct kpool_ring ring;
	struct kpool_setup p;
	int up;
};

FIXTURE_VARIANT(bad_work) {
	__u32 flags;
	__u64 token;
	__u64 timeout_ns;
	__u64 resv0, resv1;
	int short_by;		/* size this many bytes below the struct's */
	int tail;		/* 8 more bytes: 1 zero, 2 nonzero */
	int want;
};

/* Each has a timeout if it can: one wrongly taken ends with ETIME. */
#define TMO		KPOOL_WORK_TIMEOUT
FIXTURE_VARIANT_ADD(bad_work, unknown_flags) {
	.flags = TMO | 0x80000000u, .timeout_ns = KP_MS, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, nonzero_resv0) {
	.flags = TMO, .timeout_ns = KP_MS, .resv0 = 1, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, nonzero_resv1) {
	.flags = TMO, .timeout_ns = KP_MS, .resv1 = 1, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, timeout_value_without_timeout_flag) {
	.timeout_ns = KP_MS, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, size_below_first_version) {
	.flags = TMO, .timeout_ns = KP_MS, .short_by = 8, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, larger_struct_with_nonzero_tail) {
	.flags = TMO, .timeout_ns = KP_MS, .tail = 2, .want = -E2BIG,
};
FIXTURE_VARIANT_ADD(bad_work, larger_struct_with_zero_tail_accepted) {
	.flags = TMO, .timeout_ns = KP_MS, .tail = 1, .want = -ETIME,
};
FIXTURE_VARIANT_ADD(bad_work, done_with_token_zero) {
	.flags = KPOOL_WORK_DONE | TMO, .timeout_ns = KP_MS, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, quiet_without_done) {
	.flags = KPOOL_WORK_QUIET, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, quiet_with_timeout) {
	.flags = KPOOL_WORK_DONE | KPOOL_WORK_QUIET | TMO,
	.timeout_ns = KP_MS, .token = 1, .want = -EINVAL,
};
FIXTURE_VARIANT_ADD(bad_work, done_with_token_never_given) {
	.flags = KPOOL_WORK_DONE | TMO, .timeout_ns = KP_MS, .token = 0x5eed,
	.want = -EINVAL,
};

FIXTURE_SETUP(bad_work)
{
	CALL_RING_SETUP(self, 2);
}

FIXTURE_TEARDOWN(bad_work)
{
	if (self->up)
		kpool_ring_close(&self->ring);
}

TEST_F(bad_work, refused)
{
	struct { struct kpool_work k; __u64 newer; } big;
	int ret;

	memset(&big, 0, sizeof(big));
	big.k.size = sizeof(big.k) - variant->short_by;
	big.k.flags = variant->flags;
	big.k.token = variant->token;
	big.k.timeout_ns = variant->timeout_ns;
	big.k.resv0 = variant->resv0;
	big.k.resv1 = variant->resv1;
	if (variant->tail) {
		big.k.size = sizeof(big);
		big.newer = variant->tail == 2;
	}
	/* One without a timeout, wrongly parked, ends with EINTR. */
	ASSERT_EQ(0, alarm_in(2000));
	ret = work(self->ring.fd, &big.k);
	alarm_in(0);
	ASSERT_EQ(variant->want, ret);
}

TEST(work_before_setup_is_bad_state)
{
	struct kpool_ring r;
	struct kpool_work k;
	__u32 features;
	int fd;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, kpool_ring_open(&r, 8, NULL));
	features = r.features;
	kpool_ring_close(&r);
	if (!(features & KPOOL_FEAT_CALL))
		SKIP(return, "the module lacks KPOOL_FEAT_CALL");
	fd = kp_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, work_for(fd, &k, 0, 0, KP_MS));
	close(fd);
}

/* ---- 5. a process killed with workers parked and one call running ---- */

static void __attribute__((noreturn)) killed_child(int report)
{
	static struct worker w[3];
	struct kpool_ring_params p = { .capacity = 2 };
	struct kpool_ring r;
	int i;

	g.block_pipe = report;
	if (kpool_ring_open(&r, 8, &p))
		_exit(2);
	if (!(r.features & KPOOL_FEAT_CALL)) {
		if (write(report, "S", 1) != 1)
			_exit(3);
		_exit(KP_CHILD_SKIP);
	}
	for (i = 0; i < 3; i++) {
		w[i].fd = r.fd;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]))
			_exit(3);
	}
	queue_call(&r, (uintptr_t)fn_block, 0, 1);
	if (kpool_submit(&r) != 1)
		_exit(3);
	for (;;)
		pause();
}

TEST(killed_process_with_workers_is_reaped)
{
	struct pollfd pfd;
	int pipefd[2], status, ready;
	uint64_t t0, took;
	char c = 0;
	pid_t pid;

	KP_REQUIRE_MODULE();
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[0]);
		killed_child(pipefd[1]);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	ready = poll(&pfd, 1, PROMPT / KP_MS) == 1 &&
		read(pipefd[0], &c, 1) == 1;
	close(pipefd[0]);
	if (ready && c == 'S') {
		waitpid(pid, &status, 0);
		SKIP(return, "the module lacks KPOOL_FEAT_CALL");
	}
	/* A worker runs the call; the other two are parked (or parking). */
	t0 = kp_now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	took = kp_now_ns() - t0;
	TH_LOG("the child %s; SIGKILL ended it in %.1f ms",
	       ready && c == 'R' ? "ran its call" : "never ran its call",
	       took / 1e6);
	ASSERT_TRUE(ready && c == 'R');
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_GT(PROMPT, took);
}

/* ---- 7. capacity 1, three parked workers: a sleeping call lends its slot ---- */

#define BLOCKED_WORKERS	3
#define MAX_HOGS	8
#define WINDOW_US	(300 * 1000)	/* long enough to see a wrong start */
#define FDINFO_PROMPT	(2000 * KP_MS)	/* fdinfo counts change asynchronously */

static void set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

/* The number after "@key:\t" in the fdinfo of @fd, or -1. */
/* Poll (at most @ns) until fdinfo shows @want for @key: the last value seen. */
static long fdinfo_wait(int fd, const char *key, long want, uint64_t ns)
{
	uint64_t end = kp_now_ns() + ns;
	long v;

	while ((v = kp_fdinfo_value(fd, key)) != want && kp_now_ns() < end)
		usleep(5 * 1000);
	return v;
}

/* A thread's context switches: voluntary (it slept), or not (preempted). */
static void ctxt_switches(pid_t tid, long *vol, long *invol)
{
	char path[64], line[128];
	FILE *f;

	*vol = *invol = -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", vol) != 1)
			sscanf(line, "nonvoluntary_ctxt_switches: %ld", invol);
	fclose(f);
}

/* Not a worker: takes a CPU until bl.hogs_stop (at most HOLD_MAX). */
static void *hog_main(void *arg)
{
	uint64_t end = kp_now_ns() + HOLD_MAX;

	(void)arg;
	while (!__atomic_load_n(&bl.hogs_stop, __ATOMIC_ACQUIRE) &&
	       kp_now_ns() < end)
		;
	return NULL;
}

FIXTURE(blocked) {
	struct kpool_ring ring;
	struct kpool_setup p;
	struct worker w[MAX_WORKERS];
	pthread_t hog[MAX_HOGS];
	int nw, nhogs;
	int up;
};

FIXTURE_SETUP(blocked)
{
	memset(&bl, 0, sizeof(bl));
	bl.pipe[0] = bl.pipe[1] = -1;
	self->nw = 0;
	self->nhogs = 0;
	CALL_RING_SETUP(self, 1);
	ASSERT_EQ(1, self->ring.capacity);
	ASSERT_EQ(0, pipe(bl.pipe));
	ASSERT_EQ(0, workers_start(self->w, &self->nw, self->ring.fd,
				   BLOCKED_WORKERS));
	/* Each registers in its first WORK, which then parks it. */
	ASSERT_EQ(BLOCKED_WORKERS, fdinfo_wait(self->ring.fd, "worker_threads",
					       BLOCKED_WORKERS, PROMPT));
}

/* Whatever a test left running returns, then every worker goes home. */
FIXTURE_TEARDOWN(blocked)
{
	int i;

	set_flag(&bl.hogs_stop);
	for (i = 0; i < self->nhogs; i++)
		pthread_join(self->hog[i], NULL);
	for (i = 0; i < SPINNERS; i++)
		set_flag(&bl.stop[i]);
	if (bl.pipe[1] >= 0)
		close(bl.pipe[1]);	/* a read() still sleeping gets EOF */
	workers_stop(self->w, self->nw, &self->ring, self->up);
	if (self->up)
		kpool_ring_close(&self->ring);
	if (bl.pipe[0] >= 0)
		close(bl.pipe[0]);
}

TEST_F(blocked, a_blocked_call_lends_its_slot)
{
	struct kpool_cqe cqe = { .res = -9999 };
	uint64_t t0, took;
	int ret, a_back;

	queue_call(&self->ring, (uintptr_t)fn_read, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&bl.reading, PROMPT));
	/* A holds the only slot, asleep in read(): B starts in it. */
	queue_call(&self->ring, (uintptr_t)fn_quick, 22, 2);
	t0 = kp_now_ns();
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ret = kp_reap_n(&self->ring, &cqe, 1, 5000 * KP_MS);
	took = kp_now_ns() - t0;
	a_back = __atomic_load_n(&bl.read_back, __ATOMIC_ACQUIRE);
	TH_LOG("capacity 1, A asleep in read(): B's CQE %s after %.1f ms",
	       ret ? "had not come" : "came", took / 1e6);
	ASSERT_EQ(0, ret);
	ASSERT_FALSE(a_back);
	ASSERT_EQ(2, cqe.user_data);
	EXPECT_EQ(22, cqe.res);
	/* A wakes and completes. */
	ASSERT_EQ(1, write(bl.pipe[1], "x", 1));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(1, cqe.res);
}

TEST_F(blocked, a_preempted_call_keeps_its_slot)
{
	long vol0, inv0, vol1, inv1, cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct kpool_cqe cqes[2];
	struct kpool_counters c;
	int i, hogs;

	queue_call(&self->ring, (uintptr_t)fn_spin, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&bl.spinning[0], PROMPT));
	/* A spinner per CPU besides A: A is preempted, it never sleeps. */
	for (i = 0; i < cpus && i < MAX_HOGS; i++) {
		ASSERT_EQ(0, pthread_create(&self->hog[i], NULL, hog_main,
					    NULL));
		self->nhogs++;
	}
	ctxt_switches(bl.tid[0], &vol0, &inv0);
	queue_call(&self->ring, (uintptr_t)fn_quick, 22, 2);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	usleep(WINDOW_US);
	c = totals(&self->ring);
	ctxt_switches(bl.tid[0], &vol1, &inv1);
	set_flag(&bl.hogs_stop);
	hogs = self->nhogs;
	for (i = 0; i < hogs; i++)
		pthread_join(self->hog[i], NULL);
	self->nhogs = 0;
	TH_LOG("capacity 1, A spinning beside %d hogs for %d ms: preempted %ld times, slept %ld times; B %s",
	       hogs, WINDOW_US / 1000, inv1 - inv0, vol1 - vol0,
	       c.waiting ? "waited" : "was given");
	EXPECT_EQ(1, c.waiting);
	/* A returns: B runs. */
	set_flag(&bl.stop[0]);
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 2, PROMPT));
	EXPECT_EQ(22, res_of(cqes, 2, 2));
}

TEST_F(blocked, no_new_call_while_over_capacity)
{
	struct kpool_counters both, one;
	struct kpool_cqe cqes[3];

	/* A sleeps in read(), then spins as spinner 0 ... */
	queue_call(&self->ring, (uintptr_t)fn_read, 1, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&bl.reading, PROMPT));
	/* ... B starts in the slot A lent, and spins as spinner 1 ... */
	queue_call(&self->ring, (uintptr_t)fn_spin, 1, 2);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&bl.spinning[1], PROMPT));
	/* ... A wakes: two calls run in a pool of one.  C must wait. */
	ASSERT_EQ(1, write(bl.pipe[1], "x", 1));
	ASSERT_TRUE(wait_flag(&bl.spinning[0], PROMPT));
	queue_call(&self->ring, (uintptr_t)fn_quick, 33, 3);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	usleep(WINDOW_US);
	both = totals(&self->ring);
	/* B returns: A alone still fills the pool. */
	set_flag(&bl.stop[1]);
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes, 1, PROMPT));
	ASSERT_EQ(2, cqes[0].user_data);
	usleep(WINDOW_US);
	one = totals(&self->ring);
	/* A returns: C runs. */
	set_flag(&bl.stop[0]);
	ASSERT_EQ(0, kp_reap_n(&self->ring, cqes + 1, 2, PROMPT));
	TH_LOG("capacity 1: with A and B running %llu waited, with A alone %llu waited",
	       (unsigned long long)both.waiting,
	       (unsigned long long)one.waiting);
	EXPECT_EQ(1, both.waiting);
	EXPECT_EQ(1, one.waiting);
	EXPECT_EQ(1, res_of(cqes, 3, 1));
	EXPECT_EQ(33, res_of(cqes, 3, 3));
}

TEST_F(blocked, fdinfo_counts_blocked_workers)
{
	long parked, threads, asleep, after;
	struct kpool_cqe cqe;

	/* Parked workers sleep too, but hold no call. */
	parked = kp_fdinfo_value(self->ring.fd, "blocked_workers");
	queue_call(&self->ring, (uintptr_t)fn_read, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&bl.reading, PROMPT));
	asleep = fdinfo_wait(self->ring.fd, "blocked_workers", 1,
			     FDINFO_PROMPT);
	threads = kp_fdinfo_value(self->ring.fd, "worker_threads");
	ASSERT_EQ(1, write(bl.pipe[1], "x", 1));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	after = fdinfo_wait(self->ring.fd, "blocked_workers", 0,
			    FDINFO_PROMPT);
	TH_LOG("blocked_workers: %ld parked, %ld with A asleep, %ld after; worker_threads: %ld",
	       parked, asleep, after, threads);
	EXPECT_EQ(0, parked);
	EXPECT_EQ(1, asleep);
	EXPECT_EQ(BLOCKED_WORKERS, threads);
	EXPECT_EQ(0, after);
}

/* STATS counts the same workers from one instant. */
TEST_F(blocked, stats_count_parked_busy_and_blocked_workers)
{
	struct kpool_stats st;
	struct kpool_cqe cqe;
	int ret;

	queue_call(&self->ring, (uintptr_t)fn_read, 0, 1);
	ASSERT_EQ(1, kpool_submit(&self->ring));
	ASSERT_TRUE(wait_flag(&bl.reading, PROMPT));
	ASSERT_EQ(1, fdinfo_wait(self->ring.fd, "blocked_workers", 1,
				 FDINFO_PROMPT));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ret = kp_ioctl(self->ring.fd, KPOOL_IOC_STATS, &st);
	ASSERT_EQ(1, write(bl.pipe[1], "x", 1));
	ASSERT_EQ(0, kp_reap_n(&self->ring, &cqe, 1, PROMPT));
	TH_LOG("workers %u, parked %u, busy %u, blocked %u", st.workers,
	       st.workers_parked, st.workers_busy, st.workers_blocked);
	ASSERT_EQ(0, ret);
	EXPECT_TRUE(st.workers == BLOCKED_WORKERS &&
		    st.workers_parked == BLOCKED_WORKERS - 1 &&
		    st.workers_busy == 1 && st.workers_blocked == 1);
}

TEST_HARNESS_MAIN
