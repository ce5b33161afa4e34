/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpoolstat's reader of a pool's /proc/PID/fdinfo/FD text, kept apart from
 * the tool's scanning and printing so that it can be exercised on sample
 * files (kpoolstat --fdinfo FILE) on a machine without the module.
 *
 * The reader is lenient on purpose: the module and the tool are upgraded
 * separately, so a key it does not know is skipped, a line an older module
 * does not print is remembered as absent (shown as "-" or null, never as a
 * made-up 0), and a malformed value is treated as absent too.
 */
#ifndef KPOOLSTAT_FDINFO_H
#define KPOOLSTAT_FDINFO_H

#include <stdint.h>
#include <linux/kpool.h>

/* The pool-wide numeric lines, by their fdinfo key (kps_field_name). */
enum kps_field {
	KPS_CAPACITY,
	KPS_MAX_WAITING,
	KPS_RUNNING,
	KPS_WAITING,
	KPS_ON_WORKERS,
	KPS_READY_FOR_OWNER,
	KPS_WORKER_THREADS,
	KPS_PARKED_WORKERS,
	KPS_BLOCKED_WORKERS,
	KPS_SQ_HEAD,
	KPS_SQ_TAIL,
	KPS_CQ_HEAD,
	KPS_CQ_TAIL,
	KPS_SUBMITTED,
	KPS_STARTED,
	KPS_COMPLETED,
	KPS_FAILED,
	KPS_CANCELLED,
	KPS_TIMED_OUT,
	KPS_REJECTED,
	KPS_STUCK_NOW,
	KPS_STUCK_TOTAL,
	KPS_NR_FIELDS
};

/* The key=value counters of an "op:" line (kps_op_field_name). */
enum kps_op_field {
	KPS_OP_SUBMITTED,
	KPS_OP_STARTED,
	KPS_OP_COMPLETED,
	KPS_OP_FAILED,
	KPS_OP_CANCELLED,
	KPS_OP_TIMED_OUT,
	KPS_OP_REJECTED,
	KPS_OP_RUNNING,
	KPS_OP_WAITING,
	KPS_OP_STUCK,
	KPS_NR_OP_FIELDS
};

extern const char *const kps_field_name[KPS_NR_FIELDS];
extern const char *const kps_op_field_name[KPS_NR_OP_FIELDS];

/* The module's op names fit struct kpool_probe_op's name[24]. */
#define KPS_NAME_MAX	31

struct kps_op {
	char name[KPS_NAME_MAX + 1];
	uint64_t v[KPS_NR_OP_FIELDS];
	uint32_t set;			/* bit f: v[f] was read */
	int has_wait_hist;
	int has_run_hist;
	uint64_t wait_hist[KPOOL_HIST_BUCKETS];
	uint64_t run_hist[KPOOL_HIST_BUCKETS];
	/* Filled by the tool, not the reader: completions per second. */
	int has_rate;
	double rate;
};

/* An "oldest_waiting:" or "oldest_running:" line. */
enum kps_task_state {
	KPS_TASK_ABSENT,		/* no such line (an older module) */
	KPS_TASK_NONE,			/* "none" */
	KPS_TASK_SOME,
};

struct kps_task {
	enum kps_task_state state;
	char op[KPS_NAME_MAX + 1];
	uint64_t user_data;
	uint64_t age_ms;
};

struct kps_pool {
	uint64_t id;
	uint64_t v[KPS_NR_FIELDS];
	uint32_t set;			/* bit f: v[f] was read */
	struct kps_task oldest_waiting;
	struct kps_task oldest_running;
	struct kps_op *ops;		/* in the order fdinfo names them */
	unsigned int nr_ops;
	unsigned int ops_alloc;
	/* Filled by the tool: where the pool was found, and its rate. */
	int pid;
	int fd;
	unsigned int uid;
	char comm[64];
	unsigned long seq;		/* scan order, to keep the first fd */
	int has_rate;
	double rate;
};

/* What kps_parse_fdinfo() found. */
#define KPS_POOL		0	/* a set-up pool: *pool is filled */
#define KPS_NOT_SET_UP		1	/* "setup: no": nothing to show */

/*
 * Parse the fdinfo text of a /dev/kpool file into *pool (zeroed first).
 * Splits @text into lines in place.  Returns KPS_POOL, KPS_NOT_SET_UP,
 * -ENOENT (no "id:" line: not a kpool fdinfo) or -ENOMEM.  On any result
 * the caller calls kps_pool_release().
 */
int kps_parse_fdinfo(struct kps_pool *pool, char *text);
void kps_pool_release(struct kps_pool *pool);

/* The op called @name, or NULL. */
const struct kps_op *kps_find_op(const struct kps_pool *pool,
				 const char *name);

static inline int kps_has(const struct kps_pool *pool, enum kps_field f)
{
	return !!(pool->set & (1u << f));
}

static inline int kps_op_has(const struct kps_op *op, enum kps_op_field f)
{
	return !!(op->set & (1u << f));
}

/*
 * A percentile of a histogram: the upper bound, in ns, of the bucket in
 * which the cumulative count reaches @permille/1000 of all samples (the
 * true value lies below it, and at or above half of it).  The last bucket
 * has no upper bound: then *ns is its lower bound, 2^(BUCKETS-1) ns, and
 * the result is KPS_Q_AT_LEAST.  KPS_Q_EMPTY: no samples.
 */
#define KPS_Q_EMPTY		0
#define KPS_Q_BELOW		1
#define KPS_Q_AT_LEAST		2

int kps_hist_quantile(const uint64_t *hist, unsigned int permille,
		      uint64_t *ns);

/* The number of samples in a histogram (saturating). */
uint64_t kps_hist_count(const uint64_t *hist);

#endif /* KPOOLSTAT_FDINFO_H */
