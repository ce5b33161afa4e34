// SPDX-License-Identifier: GPL-2.0
/*
 * The reader of a pool's fdinfo text (see fdinfo.h).  The module prints
 * one "key:\tvalue" per line, after the VFS's own lines (pos, flags,
 * mnt_id, ino), and per op an "op:", a "wait_hist:" and a "run_hist:"
 * line whose first word is the op's name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fdinfo.h"

const char *const kps_field_name[KPS_NR_FIELDS] = {
	[KPS_CAPACITY]		= "capacity",
	[KPS_MAX_WAITING]	= "max_waiting",
	[KPS_RUNNING]		= "running",
	[KPS_WAITING]		= "waiting",
	[KPS_ON_WORKERS]	= "on_workers",
	[KPS_READY_FOR_OWNER]	= "ready_for_owner",
	[KPS_WORKER_THREADS]	= "worker_threads",
	[KPS_PARKED_WORKERS]	= "parked_workers",
	[KPS_BLOCKED_WORKERS]	= "blocked_workers",
	[KPS_SQ_HEAD]		= "sq_head",
	[KPS_SQ_TAIL]		= "sq_tail",
	[KPS_CQ_HEAD]		= "cq_head",
	[KPS_CQ_TAIL]		= "cq_tail",
	[KPS_SUBMITTED]		= "submitted",
	[KPS_STARTED]		= "started",
	[KPS_COMPLETED]		= "completed",
	[KPS_FAILED]		= "failed",
	[KPS_CANCELLED]		= "cancelled",
	[KPS_TIMED_OUT]		= "timed_out",
	[KPS_REJECTED]		= "rejected",
	[KPS_STUCK_NOW]		= "stuck_now",
	[KPS_STUCK_TOTAL]	= "stuck_total",
};

const char *const kps_op_field_name[KPS_NR_OP_FIELDS] = {
	[KPS_OP_SUBMITTED]	= "submitted",
	[KPS_OP_STARTED]	= "started",
	[KPS_OP_COMPLETED]	= "completed",
	[KPS_OP_FAILED]		= "failed",
	[KPS_OP_CANCELLED]	= "cancelled",
	[KPS_OP_TIMED_OUT]	= "timed_out",
	[KPS_OP_REJECTED]	= "rejected",
	[KPS_OP_RUNNING]	= "running",
	[KPS_OP_WAITING]	= "waiting",
	[KPS_OP_STUCK]		= "stuck",
};

#define KPS_SEP	" \t"

/*
 * A whole word as an unsigned decimal (@base 10) or hexadecimal with 0x
 * (@base 16).  strtoull alone would take "-1", " 1" and "1x".
 */
static int parse_u64(const char *s, int base, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (base == 16) {
		if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
			return -1;
		s += 2;
	}
	if (!((*s >= '0' && *s <= '9') ||
	      (base == 16 && ((*s >= 'a' && *s <= 'f') ||
			      (*s >= 'A' && *s <= 'F')))))
		return -1;
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

/* Copy a name; a longer one than we keep is refused, not cut. */
static int copy_name(char *dst, const char *src)
{
	size_t len = strlen(src);

	if (!len || len > KPS_NAME_MAX)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* The index of the op called @name, or nr_ops. */
static unsigned int op_index(const struct kps_pool *pool, const char *name)
{
	unsigned int i;

	for (i = 0; i < pool->nr_ops; i++)
		if (!strcmp(pool->ops[i].name, name))
			break;
	return i;
}

const struct kps_op *kps_find_op(const struct kps_pool *pool,
				 const char *name)
{
	unsigned int i = op_index(pool, name);

	return i < pool->nr_ops ? &pool->ops[i] : NULL;
}

/*
 * The op called @name, added if new: its op: and histogram lines may come
 * in any order.  NULL when out of memory.
 */
static struct kps_op *get_op(struct kps_pool *pool, const char *name)
{
	unsigned int i = op_index(pool, name);
	struct kps_op *op;

	if (i < pool->nr_ops)
		return &pool->ops[i];
	if (pool->nr_ops == pool->ops_alloc) {
		unsigned int n = pool->ops_alloc ? 2 * pool->ops_alloc : 8;
		struct kps_op *ops = realloc(pool->ops, n * sizeof(*ops));

		if (!ops)
			return NULL;
		pool->ops = ops;
		pool->ops_alloc = n;
	}
	op = &pool->ops[pool->nr_ops++];
	memset(op, 0, sizeof(*op));
	strcpy(op->name, name);
	return op;
}

/* "op:\tNAME key=value ...": unknown keys and bad values are skipped. */
static int parse_op_line(struct kps_pool *pool, char *val)
{
	char *save, *word = strtok_r(val, KPS_SEP, &save);
	char name[KPS_NAME_MAX + 1];
	struct kps_op *op;

	if (!word || copy_name(name, word))
		return 0;
	op = get_op(pool, name);
	if (!op)
		return -ENOMEM;
	while ((word = strtok_r(NULL, KPS_SEP, &save))) {
		char *eq = strchr(word, '=');
		uint64_t v;
		int f;

		if (!eq)
			continue;
		*eq = 0;
		for (f = 0; f < KPS_NR_OP_FIELDS; f++) {
			if (strcmp(word, kps_op_field_name[f]))
				continue;
			if (!parse_u64(eq + 1, 10, &v)) {
				op->v[f] = v;
				op->set |= 1u << f;
			}
			break;
		}
	}
	return 0;
}

/*
 * "wait_hist:\tNAME n0 n1 ...": KPOOL_HIST_BUCKETS counts.  Fewer are
 * taken as they are (the rest 0); more (a module with finer or longer
 * buckets than this header) are added into the last bucket, which holds
 * "everything longer" anyway, so no sample is lost.  A line with a word
 * that is not a number is ignored whole.
 */
static int parse_hist_line(struct kps_pool *pool, char *val, int run)
{
	char *save, *word = strtok_r(val, KPS_SEP, &save);
	uint64_t hist[KPOOL_HIST_BUCKETS] = { 0 };
	char name[KPS_NAME_MAX + 1];
	struct kps_op *op;
	unsigned int i = 0;

	if (!word || copy_name(name, word))
		return 0;
	while ((word = strtok_r(NULL, KPS_SEP, &save))) {
		unsigned int b = i < KPOOL_HIST_BUCKETS ? i :
				 KPOOL_HIST_BUCKETS - 1;
		uint64_t v;

		if (parse_u64(word, 10, &v))
			return 0;
		hist[b] = hist[b] + v < v ? UINT64_MAX : hist[b] + v;
		i++;
	}
	op = get_op(pool, name);
	if (!op)
		return -ENOMEM;
	if (run) {
		memcpy(op->run_hist, hist, sizeof(hist));
		op->has_run_hist = 1;
	} else {
		memcpy(op->wait_hist, hist, sizeof(hist));
		op->has_wait_hist = 1;
	}
	return 0;
}

/* "none", or "op=NAME user_data=0xHEX age_ms=N" (op= is required). */
static void parse_task_line(struct kps_task *t, char *val)
{
	char *save, *word = strtok_r(val, KPS_SEP, &save);

	memset(t, 0, sizeof(*t));
	if (word && !strcmp(word, "none")) {
		t->state = KPS_TASK_NONE;
		return;
	}
	for (; word; word = strtok_r(NULL, KPS_SEP, &save)) {
		if (!strncmp(word, "op=", 3)) {
			if (!copy_name(t->op, word + 3))
				t->state = KPS_TASK_SOME;
		} else if (!strncmp(word, "user_data=", 10)) {
			parse_u64(word + 10, 16, &t->user_data);
		} else if (!strncmp(word, "age_ms=", 7)) {
			parse_u64(word + 7, 10, &t->age_ms);
		}
	}
}

int kps_parse_fdinfo(struct kps_pool *pool, char *text)
{
	int has_id = 0, not_set_up = 0, ret = 0;
	char *line, *next;

	memset(pool, 0, sizeof(*pool));
	for (line = text; line && *line && !ret; line = next) {
		char *colon, *val, *end;
		uint64_t v;
		int f;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		val = colon + 1 + strspn(colon + 1, KPS_SEP);
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t' ||
				     end[-1] == '\r'))
			*--end = 0;

		if (!strcmp(line, "id")) {
			if (!parse_u64(val, 10, &pool->id))
				has_id = 1;
		} else if (!strcmp(line, "setup")) {
			not_set_up = !strcmp(val, "no");
		} else if (!strcmp(line, "op")) {
			ret = parse_op_line(pool, val);
		} else if (!strcmp(line, "wait_hist")) {
			ret = parse_hist_line(pool, val, 0);
		} else if (!strcmp(line, "run_hist")) {
			ret = parse_hist_line(pool, val, 1);
		} else if (!strcmp(line, "oldest_waiting")) {
			parse_task_line(&pool->oldest_waiting, val);
		} else if (!strcmp(line, "oldest_running")) {
			parse_task_line(&pool->oldest_running, val);
		} else {
			for (f = 0; f < KPS_NR_FIELDS; f++) {
				if (strcmp(line, kps_field_name[f]))
					continue;
				if (!parse_u64(val, 10, &v)) {
					pool->v[f] = v;
					pool->set |= 1u << f;
				}
				break;
			}
		}
	}
	if (ret)
		return ret;
	if (has_id)
		return KPS_POOL;
	return not_set_up ? KPS_NOT_SET_UP : -ENOENT;
}

void kps_pool_release(struct kps_pool *pool)
{
	free(pool->ops);
	pool->ops = NULL;
	pool->nr_ops = pool->ops_alloc = 0;
}

uint64_t kps_hist_count(const uint64_t *hist)
{
	uint64_t total = 0;
	unsigned int i;

	for (i = 0; i < KPOOL_HIST_BUCKETS; i++)
		total = total + hist[i] < total ? UINT64_MAX : total + hist[i];
	return total;
}

int kps_hist_quantile(const uint64_t *hist, unsigned int permille,
		      uint64_t *ns)
{
	uint64_t total = kps_hist_count(hist), target, cum = 0;
	unsigned int i;

	if (!total)
		return KPS_Q_EMPTY;
	/*
	 * The rank of the quantile, ceil(total * permille / 1000), computed
	 * without overflowing: total = a * 1000 + b.
	 */
	target = total / 1000 * permille +
		 ((total % 1000) * permille + 999) / 1000;
	if (!target)
		target = 1;
	for (i = 0; i < KPOOL_HIST_BUCKETS - 1; i++) {
		cum = cum + hist[i] < cum ? UINT64_MAX : cum + hist[i];
		if (cum >= target) {
			*ns = 2ull << i;
			return KPS_Q_BELOW;
		}
	}
	*ns = 1ull << (KPOOL_HIST_BUCKETS - 1);
	return KPS_Q_AT_LEAST;
}
