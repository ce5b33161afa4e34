// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/* libkpool ring layer: setup, mapping, submission and waiting. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "libkpool.h"

static void *kpool_map(int fd, const struct kpool_region *r, int prot)
{
	void *p = mmap(NULL, r->size, prot, MAP_SHARED | MAP_POPULATE, fd,
		       (off_t)r->offset);

	return p == MAP_FAILED ? NULL : p;
}

static void kpool_unmap_all(struct kpool_ring *ring)
{
	if (ring->map_sq_ring)
		munmap(ring->map_sq_ring, ring->size_sq_ring);
	if (ring->map_sqes)
		munmap(ring->map_sqes, ring->size_sqes);
	if (ring->map_cq_ring)
		munmap(ring->map_cq_ring, ring->size_cq_ring);
	if (ring->arena)
		munmap(ring->arena, ring->arena_size);
	ring->map_sq_ring = ring->map_sqes = ring->map_cq_ring = NULL;
	ring->arena = NULL;
}

int kpool_ring_init(struct kpool_ring *ring, int fd, unsigned int entries,
		    const struct kpool_ring_params *params)
{
	struct kpool_setup p;
	char *sq_ring, *cq_ring;

	memset(ring, 0, sizeof(*ring));
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.sq_entries = entries;
	if (params) {
		p.cq_entries = params->cq_entries;
		p.flags = params->flags;
		p.capacity = params->capacity;
		p.max_waiting = params->max_waiting;
		p.arena_size = params->arena_size;
	}
	if (ioctl(fd, KPOOL_IOC_SETUP, &p) < 0)
		return -errno;

	ring->fd = fd;
	ring->features = p.features;
	ring->capacity = p.capacity;
	ring->max_waiting = p.max_waiting;
	ring->size_sq_ring = p.sq_ring.size;
	ring->size_sqes = p.sqes.size;
	ring->size_cq_ring = p.cq_ring.size;
	ring->map_sq_ring = kpool_map(fd, &p.sq_ring, PROT_READ | PROT_WRITE);
	ring->map_sqes = kpool_map(fd, &p.sqes, PROT_READ | PROT_WRITE);
	ring->map_cq_ring = kpool_map(fd, &p.cq_ring, PROT_READ);
	ring->arena_size = p.arena.size;
	if (ring->arena_size)
		ring->arena = kpool_map(fd, &p.arena, PROT_READ | PROT_WRITE);
	if (!ring->map_sq_ring || !ring->map_sqes || !ring->map_cq_ring ||
	    (ring->arena_size && !ring->arena)) {
		int err = -errno;

		kpool_unmap_all(ring);
		return err;
	}

	sq_ring = ring->map_sq_ring;
	cq_ring = ring->map_cq_ring;
	ring->sq.ktail = (__u32 *)(sq_ring + p.off.sq_tail);
	ring->sq.khead = (const __u32 *)(cq_ring + p.off.sq_head);
	ring->sq.sqes = ring->map_sqes;
	ring->sq.entries = p.sq_entries;
	ring->sq.mask = p.sq_entries - 1;
	ring->sq.sqe_tail = *ring->sq.ktail;

	ring->cq.khead = (__u32 *)(sq_ring + p.off.cq_head);
	ring->cq.ktail = (const __u32 *)(cq_ring + p.off.cq_tail);
	ring->cq.cqes = (struct kpool_cqe *)(cq_ring + p.off.cqes);
	ring->cq.entries = p.cq_entries;
	ring->cq.mask = p.cq_entries - 1;
	ring->kflags = p.features & KPOOL_FEAT_OWNER_CONTEXT ?
		(const __u32 *)(cq_ring + p.off.flags) : NULL;
	ring->kworkers = p.features & KPOOL_FEAT_CALL ?
		(const __u32 *)(cq_ring + p.off.workers) : NULL;
	return 0;
}

int kpool_ring_open(struct kpool_ring *ring, unsigned int entries,
		    const struct kpool_ring_params *params)
{
	int fd = open("/dev/" KPOOL_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = kpool_ring_init(ring, fd, entries, params);
	if (ret) {
		close(fd);
		return ret;
	}
	ring->owns_fd = 1;
	return 0;
}

void kpool_ring_exit(struct kpool_ring *ring)
{
	kpool_unmap_all(ring);
	if (ring->owns_fd)
		close(ring->fd);
	ring->fd = -1;
	ring->owns_fd = 0;
}

int kpool_enter(int fd, unsigned int to_submit, unsigned int min_complete,
		unsigned int flags, uint64_t timeout_ns, unsigned int *submitted)
{
	struct kpool_enter e;
	int ret;

	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.flags = flags;
	e.to_submit = to_submit;
	e.min_complete = min_complete;
	e.timeout_ns = timeout_ns;
	ret = ioctl(fd, KPOOL_IOC_ENTER, &e) < 0 ? -errno : 0;
	if (submitted)
		*submitted = e.submitted;
	return ret;
}

/* Publish the SQEs handed out so far; returns how many await the module. */
static unsigned int kpool_flush_sq(struct kpool_ring *ring)
{
	struct kpool_sq *sq = &ring->sq;

	/* The SQEs are written before the module can see the new tail. */
	kpool_store_release(sq->ktail, sq->sqe_tail);
	return sq->sqe_tail - kpool_load_acquire(sq->khead);
}

static int kpool_submit_wait(struct kpool_ring *ring, unsigned int wait_nr,
			     unsigned int flags, uint64_t timeout_ns)
{
	unsigned int pending = kpool_flush_sq(ring), submitted = 0;
	int ret;

	if (!pending && !(flags & KPOOL_ENTER_GETEVENTS))
		return 0;
	ret = kpool_enter(ring->fd, pending, wait_nr, flags, timeout_ns,
			  &submitted);
	return ret ? ret : (int)submitted;
}

int kpool_submit(struct kpool_ring *ring)
{
	return kpool_submit_wait(ring, 0, 0, 0);
}

int kpool_submit_and_wait(struct kpool_ring *ring, unsigned int wait_nr)
{
	return kpool_submit_wait(ring, wait_nr, KPOOL_ENTER_GETEVENTS, 0);
}

/*
 * Waiting never submits: the consumer side must not touch the producer's
 * state, so one thread can reap while another submits.
 */
static int kpool_wait_one(struct kpool_ring *ring, struct kpool_cqe **cqe_ptr,
			  unsigned int flags, uint64_t timeout_ns)
{
	int ret;

	for (;;) {
		if (!kpool_peek_cqe(ring, cqe_ptr))
			return 0;
		ret = kpool_enter(ring->fd, 0, 1, flags, timeout_ns, NULL);
		if (ret < 0)
			return ret;
	}
}

int kpool_wait_cqe(struct kpool_ring *ring, struct kpool_cqe **cqe_ptr)
{
	return kpool_wait_one(ring, cqe_ptr, KPOOL_ENTER_GETEVENTS, 0);
}

int kpool_wait_cqe_timeout(struct kpool_ring *ring,
			   struct kpool_cqe **cqe_ptr, uint64_t timeout_ns)
{
	return kpool_wait_one(ring, cqe_ptr,
			      KPOOL_ENTER_GETEVENTS | KPOOL_ENTER_TIMEOUT,
			      timeout_ns);
}

int kpool_probe_ops(int fd, struct kpool_probe_op *ops, unsigned int ops_len,
		    unsigned int *last_op)
{
	struct kpool_probe p;

	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.ops_len = ops_len;
	p.ops_ptr = (__u64)(uintptr_t)ops;
	if (ioctl(fd, KPOOL_IOC_PROBE, &p) < 0)
		return -errno;
	if (last_op)
		*last_op = p.last_op;
	return 0;
}

/* One STATS call: counters where @total/@ops say, settings into *@st. */
static int kpool_stats_ioctl(const struct kpool_ring *ring,
			     struct kpool_stats *st,
			     struct kpool_counters *total,
			     struct kpool_counters *ops, unsigned int nr_ops)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->total_ptr = (__u64)(uintptr_t)total;
	st->ops_ptr = (__u64)(uintptr_t)ops;
	st->nr_ops = ops ? nr_ops : 0;
	return ioctl(ring->fd, KPOOL_IOC_STATS, st) < 0 ? -errno : 0;
}

int kpool_get_capacity(const struct kpool_ring *ring, unsigned int *capacity,
		       unsigned int *max_waiting)
{
	struct kpool_stats st;
	int err = kpool_stats_ioctl(ring, &st, NULL, NULL, 0);

	if (err)
		return err;
	if (capacity)
		*capacity = st.capacity;
	if (max_waiting)
		*max_waiting = st.max_waiting;
	return 0;
}

int kpool_get_worker_counts(const struct kpool_ring *ring,
			    struct kpool_worker_counts *counts)
{
	struct kpool_stats st;
	int err = kpool_stats_ioctl(ring, &st, NULL, NULL, 0);

	if (err)
		return err;
	counts->workers = st.workers;
	counts->parked = st.workers_parked;
	counts->busy = st.workers_busy;
	counts->blocked = st.workers_blocked;
	return 0;
}

int kpool_tune(struct kpool_ring *ring, unsigned int capacity,
	       unsigned int *prev)
{
	struct kpool_tune t;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.capacity = capacity;
	if (ioctl(ring->fd, KPOOL_IOC_TUNE, &t) < 0)
		return -errno;
	if (prev)
		*prev = t.prev_capacity;
	return 0;
}

int kpool_tune_max_waiting(struct kpool_ring *ring, unsigned int max_waiting,
			   unsigned int *prev)
{
	struct kpool_tune t;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.flags = KPOOL_TUNE_MAX_WAITING;
	t.max_waiting = max_waiting;
	if (ioctl(ring->fd, KPOOL_IOC_TUNE, &t) < 0)
		return -errno;
	if (prev)
		*prev = t.prev_max_waiting;
	return 0;
}

static int kpool_drain_flags(struct kpool_ring *ring, __u32 flags,
			     uint64_t timeout_ns)
{
	struct kpool_drain d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.flags = flags;
	d.timeout_ns = timeout_ns;
	return ioctl(ring->fd, KPOOL_IOC_DRAIN, &d) < 0 ? -errno : 0;
}

int kpool_drain(struct kpool_ring *ring)
{
	return kpool_drain_flags(ring, 0, 0);
}

int kpool_drain_timeout(struct kpool_ring *ring, uint64_t timeout_ns)
{
	return kpool_drain_flags(ring, KPOOL_DRAIN_TIMEOUT, timeout_ns);
}

int kpool_work(struct kpool_ring *ring, struct kpool_work *w)
{
	w->size = sizeof(*w);
	return ioctl(ring->fd, KPOOL_IOC_WORK, w) < 0 ? -errno : 0;
}

int kpool_read_stats(struct kpool_ring *ring, struct kpool_counters *total,
		     struct kpool_counters *ops, unsigned int nr_ops)
{
	struct kpool_stats st;

	return kpool_stats_ioctl(ring, &st, total, ops, nr_ops);
}

uint64_t kpool_hist_percentile(const __u64 hist[KPOOL_HIST_BUCKETS],
			       double q)
{
	uint64_t total = 0, seen = 0, rank;
	double want;
	unsigned int i;

	for (i = 0; i < KPOOL_HIST_BUCKETS; i++)
		total += hist[i];
	if (!total)
		return 0;
	if (!(q > 0))		/* NaN too */
		q = 0;
	else if (q > 1)
		q = 1;
	/*
	 * The nearest rank, ceil(q x total), without libm; the double may
	 * round above total for huge counts, which the bound catches.
	 */
	want = q * (double)total;
	rank = want >= (double)total ? total : (uint64_t)want;
	if ((double)rank < want)
		rank++;
	if (!rank)
		rank = 1;	/* q 0: the shortest time */
	for (i = 0; i < KPOOL_HIST_BUCKETS - 1; i++) {
		seen += hist[i];
		if (seen >= rank)
			return (uint64_t)2 << i;
	}
	return UINT64_MAX;	/* the last bucket: unbounded */
}
