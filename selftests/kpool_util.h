/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the kpool selftests. */
#ifndef KPOOL_SELFTEST_UTIL_H
#define KPOOL_SELFTEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/types.h>

#include "libkpool.h"

#define KPOOL_DEV "/dev/" KPOOL_DEVICE_NAME

static inline int kp_dev_present(void)
{
	return access(KPOOL_DEV, F_OK) == 0;
}

/* In a test or fixture setup: skip unless the module is loaded. */
#define KP_REQUIRE_MODULE()						\
	do {								\
		if (!kp_dev_present())					\
			SKIP(return, "kpool module not loaded");	\
	} while (0)

/*
 * The usual ring fixture.  The FIXTURE must have the fields
 *
 *	struct kpool_ring ring;
 *	int up;			(1 while ring is open)
 *
 * In its FIXTURE_SETUP, KP_RING_OPEN(entries, params) skips unless the
 * module is loaded, then opens self->ring with kpool_ring_open(&self->ring,
 * entries, params) (params: a struct kpool_ring_params *, or NULL),
 * asserting that it succeeds, and sets self->up.  Its FIXTURE_TEARDOWN
 * calls KP_RING_CLOSE(), which closes the ring if self->up says it is open.
 */
#define KP_RING_OPEN(entries, params)					\
	do {								\
		self->up = 0;						\
		KP_REQUIRE_MODULE();					\
		/* unparenthesized: a failure names the call as written */ \
		ASSERT_EQ(0, kpool_ring_open(&self->ring, entries, params)); \
		self->up = 1;						\
	} while (0)

#define KP_RING_CLOSE()							\
	do {								\
		if (self->up)						\
			kpool_ring_close(&self->ring);			\
	} while (0)

static inline int kp_open(void)
{
	return open(KPOOL_DEV, O_RDWR | O_CLOEXEC);
}

/* An ioctl's result as 0 or -errno. */
static inline int kp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline void kp_setup_init(struct kpool_setup *p, __u32 sq, __u32 cq)
{
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	p->sq_entries = sq;
	p->cq_entries = cq;
}

static inline void kp_enter_init(struct kpool_enter *e)
{
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
}

/* A module parameter, or 0 if it cannot be read. */
static inline unsigned long kp_param(const char *name)
{
	char path[128];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/kpool/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static inline uint64_t kp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#define KP_MS	1000000ull

/* Bitwise CRC32C (Castagnoli, reflected 0x82F63B78), continued from seed. */
static inline uint32_t kp_crc32c_ref(uint32_t seed, const unsigned char *p,
				     size_t len)
{
	uint32_t crc = ~seed;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & -(crc & 1));
	}
	return ~crc;
}

/* Queue one SQE with @data as its user_data; the SQ must have room. */
static inline struct kpool_sqe *q_burn(struct kpool_ring *r, __u64 ns,
				       __u64 data)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	kpool_prep_burn(sqe, ns);
	kpool_sqe_set_data(sqe, data);
	return sqe;
}

static inline struct kpool_sqe *q_nop(struct kpool_ring *r, __u64 data)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	kpool_prep_nop(sqe);
	kpool_sqe_set_data(sqe, data);
	return sqe;
}

static inline struct kpool_sqe *q_timeout(struct kpool_ring *r, __u64 ns,
					  __u64 data)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	kpool_prep_timeout(sqe, ns);
	kpool_sqe_set_data(sqe, data);
	return sqe;
}

static inline struct kpool_sqe *q_cancel(struct kpool_ring *r, __u64 target,
					 __u64 data)
{
	struct kpool_sqe *sqe = kpool_get_sqe(r);

	kpool_prep_cancel(sqe, target);
	kpool_sqe_set_data(sqe, data);
	return sqe;
}

/*
 * Where a task really runs: while a worker runs a work item, its comm
 * reads "kworker/<cpu>:<n>[H]+<workqueue>" ("kworker/u<n>:<m>+..." when
 * unbound; H marks a high-priority worker).  Finds a worker running an
 * item of workqueue @wq (exactly that name; or, if @wq ends with '*', any
 * name starting with what comes before it): 1 and its comm (and pid, if
 * @pid is set), else 0.
 */
static inline int kp_find_running_worker(const char *wq, char *comm,
					 size_t len, pid_t *pid)
{
	size_t wq_len = strlen(wq);
	int prefix = wq_len && wq[wq_len - 1] == '*';
	char path[300];
	struct dirent *d;
	int found = 0;
	DIR *proc;

	if (prefix)
		wq_len--;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (d = readdir(proc))) {
		const char *name;
		FILE *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, len, f)) {
			comm[strcspn(comm, "\n")] = 0;
			name = strchr(comm, '+');
			/* the workqueue's name is everything after the '+' */
			found = !strncmp(comm, "kworker/", 8) && name &&
				!strncmp(name + 1, wq, wq_len) &&
				(prefix || !name[1 + wq_len]);
			if (found && pid)
				*pid = atoi(d->d_name);
		}
		fclose(f);
	}
	closedir(proc);
	return found;
}

/*
 * Tests that change what a process is (uid, namespaces, rlimits,
 * affinity) do it in a forked child.  The child reports the first broken
 * expectation on stderr and exits 1 (KP_CHECK), or exits KP_CHILD_SKIP
 * when a precondition is missing; the parent judges the exit status.
 */
#define KP_NOBODY	65534
#define KP_CHILD_SKIP	4

#define KP_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: in child %d (uid %d): %s\n",	\
			__FILE__, __LINE__, (int)getpid(),		\
			(int)geteuid(), #cond);				\
		_exit(1);						\
	}								\
} while (0)

/* In a child: drop every privilege, to uid/gid nobody. */
static inline void kp_become_nobody(void)
{
	KP_CHECK(setgroups(0, NULL) == 0);
	KP_CHECK(setgid(KP_NOBODY) == 0);
	KP_CHECK(setuid(KP_NOBODY) == 0);
	KP_CHECK(geteuid() == KP_NOBODY);
}

/* Wait for @n CQEs (each within @timeout_ns), copied out in order: 0 or -errno. */
static inline int kp_reap_n(struct kpool_ring *r, struct kpool_cqe *out,
			    unsigned int n, uint64_t timeout_ns)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kpool_cqe *cqe;
		int ret = kpool_wait_cqe_timeout(r, &cqe, timeout_ns);

		if (ret)
			return ret;
		out[i] = *cqe;
		kpool_cqe_seen(r, cqe);
	}
	return 0;
}

/* Submit the one SQE the caller queued; its CQE (res -9999 if none came). */
static inline struct kpool_cqe kp_run1(struct kpool_ring *r,
				       uint64_t timeout_ns)
{
	struct kpool_cqe out = { .res = -9999 }, *cqe;

	if (kpool_submit(r) == 1 && !kpool_wait_cqe_timeout(r, &cqe, timeout_ns)) {
		out = *cqe;
		kpool_cqe_seen(r, cqe);
	}
	return out;
}

/*
 * The kernel's trace (tracefs), for tests that ask the kernel where or in
 * which context something ran.
 */
#define KP_TRACEFS	"/sys/kernel/tracing"

static inline int kp_tracefs_write(const char *file, const char *val)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), KP_TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* Is tracefs there (mounted here if need be) with event @event ("sys/name")? */
static inline int kp_tracefs_event_ready(const char *event)
{
	char path[160];

	snprintf(path, sizeof(path), KP_TRACEFS "/events/%s/enable", event);
	if (access(path, F_OK))
		mount("nodev", KP_TRACEFS, "tracefs", 0, NULL);
	return !access(path, W_OK);
}


/* The fdinfo of @fd, NUL-terminated, into @buf: 0 or -errno. */
static inline int kp_read_fdinfo(int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY);
	if (f < 0)
		return -errno;
	n = read(f, buf, len - 1);
	close(f);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* The number after "@key:\t" in the fdinfo of @fd, or -1. */
static inline long kp_fdinfo_value(int fd, const char *key)
{
	char pat[64], buf[8192], *at;

	if (kp_read_fdinfo(fd, buf, sizeof(buf)))
		return -1;
	snprintf(pat, sizeof(pat), "\n%s:\t", key);
	at = strstr(buf, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}
/* Queue @n NOPs with user_data base, base+1, ...; returns how many fit. */
static inline unsigned int kp_queue_nops(struct kpool_ring *ring,
					 unsigned int n, __u64 base)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kpool_sqe *sqe = kpool_get_sqe(ring);

		if (!sqe)
			break;
		kpool_prep_nop(sqe);
		kpool_sqe_set_data(sqe, base + i);
	}
	return i;
}

/* Copy out and consume every ready CQE (at most @max); returns the count. */
static inline unsigned int kp_reap(struct kpool_ring *ring,
				   struct kpool_cqe *out, unsigned int max)
{
	struct kpool_cqe *cqe;
	unsigned int n = 0;

	while (n < max && !kpool_peek_cqe(ring, &cqe)) {
		out[n++] = *cqe;
		kpool_cqe_seen(ring, cqe);
	}
	return n;
}

/*
 * A stress run: one thread queues and submits tasks for @ns nanoseconds
 * (queue() puts task i in the SQ, with user_data i), another reaps, and
 * every SQE taken must come back exactly once.
 */
#define KP_STRESS_MAX	(1u << 22)

struct kp_stress {
	struct kpool_ring ring;
	uint64_t ns;
	void (*queue)(struct kpool_ring *r, unsigned int i);
	int want_zero_res;	/* every res must be 0 (NOPs) */
	int stop;
	unsigned int taken;
	unsigned int reaped;
	unsigned int bad;	/* unknown, repeated, or (want_zero_res) failed */
	unsigned char *seen;
};

static inline void *kp_stress_submitter(void *arg)
{
	struct kp_stress *s = arg;
	uint64_t end = kp_now_ns() + s->ns;
	unsigned int queued = 0;

	while (kp_now_ns() < end && queued < KP_STRESS_MAX - 64) {
		for (int n = 0; n < 16 && kpool_sq_space_left(&s->ring); n++)
			s->queue(&s->ring, queued++);
		if (kpool_submit(&s->ring) < 0)
			sched_yield();	/* full: the reaper catches up */
	}
	/* Push out whatever is still published but not taken. */
	while (kpool_load_acquire(s->ring.sq.khead) != queued)
		if (kpool_submit(&s->ring) < 0)
			sched_yield();
	s->taken = queued;
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

static inline void *kp_stress_reaper(void *arg)
{
	struct kp_stress *s = arg;
	struct kpool_cqe *cqe;

	for (;;) {
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) &&
		    s->reaped == s->taken)
			return NULL;
		if (kpool_wait_cqe_timeout(&s->ring, &cqe, 10 * KP_MS))
			continue;
		if (cqe->user_data >= KP_STRESS_MAX ||
		    s->seen[cqe->user_data]++ ||
		    (s->want_zero_res && cqe->res))
			s->bad++;
		s->reaped++;
		kpool_cqe_seen(&s->ring, cqe);
	}
}

#endif /* KPOOL_SELFTEST_UTIL_H */
