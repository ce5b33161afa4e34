// SPDX-License-Identifier: GPL-2.0
/*
 * kpoolstat - show the kpool pools of this machine, live or once
 *
 * SYNOPSIS
 *	kpoolstat [-d SECONDS] [-n COUNT] [-p PID] [-i ID] [--once]
 *		  [--json | --prometheus] [--fdinfo FILE]...
 *
 * DESCRIPTION
 *	Finds every pool by scanning /proc/[0-9]*\/fd for links to
 *	/dev/kpool and reading each one's /proc/PID/fdinfo/FD, and refreshes
 *	like top every -d SECONDS (default 1): the screen is cleared when
 *	standard output is a terminal, else each snapshot follows the last
 *	after a blank line.  A pool open in several processes or under
 *	several fds (dup, fork) is shown once, under the first process the
 *	scan finds; a file opened but not set up yet has no pool to show
 *	and is skipped.  Processes that come and go during the scan, and
 *	those whose fds the caller may not read, are skipped silently: a
 *	user sees the pools of its own processes, root sees all.
 *
 *	With -p PID or -i ID, only those pools (the pools PID has open; the
 *	pool with that id), each in detail: per op its counts, completions
 *	per second, and the 50th, 90th and 99th percentile of its wait (from
 *	submission to start) and run (from start to completion) times.
 *
 * PERCENTILES
 *	The module keeps, per op, histograms whose bucket i counts times in
 *	[2^i, 2^(i+1)) ns.  A percentile is the upper bound of the bucket in
 *	which the cumulative count reaches it: the true value is below it,
 *	and at least half of it.  The last bucket is open-ended; a
 *	percentile that falls in it is shown as ">" its lower bound
 *	(2^39 ns, about 550 s).
 *
 * OPTIONS
 *	-d, --delay SECONDS  refresh interval (default 1, at least 0.01)
 *	-n, --count COUNT    stop after COUNT snapshots (default: never)
 *	-p, --pid PID        only the pools process PID has open, in detail
 *	-i, --id ID          only the pool with this id, in detail
 *	--once               one snapshot, then exit.  Rates (completions
 *			     per second) need two samples: they are shown as
 *			     "-" (null in JSON), unless -d is given too, in
 *			     which case kpoolstat samples twice, -d apart,
 *			     and reports the second sample with its rates
 *	--json               one JSON document per snapshot, on one line
 *	--prometheus         the Prometheus text exposition format (for
 *			     node_exporter's textfile collector, with
 *			     --once); snapshots are separated by a blank line
 *	--fdinfo FILE        for testing: read FILE as the fdinfo of a pool
 *			     of pid 0 (fd: its position among the --fdinfo
 *			     options, comm: its base name) instead of
 *			     scanning /proc; may be repeated; FILE is read
 *			     again at each refresh
 *	-h, --help           this text
 *
 * EXIT STATUS
 *	0, also when no pool is visible (an empty table, {"pools":[]}, or
 *	only the HELP and TYPE lines); 1 on bad usage (one line on stderr),
 *	when /proc or an --fdinfo FILE cannot be read, or on a write error.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdinfo.h"

#define KPOOL_DEV_PATH	"/dev/" KPOOL_DEVICE_NAME

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* An fdinfo larger than this is not a pool's: stop reading (--fdinfo). */
#define MAX_FDINFO	(16u << 20)

/* comm is at most TASK_COMM_LEN - 1 bytes; --fdinfo names are cut so. */
#define COMM_MAX	15

enum mode { MODE_TEXT, MODE_JSON, MODE_PROM };

static struct {
	enum mode mode;
	int once;
	double delay;
	int delay_given;
	unsigned long count;		/* snapshots to print; 0: no end */
	long pid;			/* -1: every process */
	uint64_t id;
	int id_given;
	char **files;			/* --fdinfo */
	int nr_files;
} opt = { .delay = 1.0, .pid = -1 };

/* One scan: the pools found, sorted by id, each id once. */
struct snap {
	struct kps_pool *pools;
	size_t nr;
	size_t alloc;
	uint64_t ns;			/* CLOCK_MONOTONIC at the scan */
	time_t wall;
};

static const char usage_text[] =
"Usage: kpoolstat [-d SECONDS] [-n COUNT] [-p PID] [-i ID] [--once]\n"
"                 [--json | --prometheus] [--fdinfo FILE]...\n"
"Show the kpool pools of this machine, refreshed like top.\n"
"\n"
"  -d, --delay SECONDS  refresh interval (default 1)\n"
"  -n, --count COUNT    stop after COUNT snapshots\n"
"  -p, --pid PID        only the pools process PID has open, in detail\n"
"  -i, --id ID          only the pool with this id, in detail\n"
"      --once           one snapshot, then exit; rates (per second) only\n"
"                       if -d is given too: then two samples, -d apart\n"
"      --json           JSON, one document per snapshot\n"
"      --prometheus     Prometheus text format (node_exporter textfile)\n"
"      --fdinfo FILE    for testing: read FILE as a pool's fdinfo (pid 0)\n"
"                       instead of scanning /proc; may be repeated\n"
"  -h, --help           this help\n"
"\n"
"Pools are found through /proc/PID/fd and /proc/PID/fdinfo: a user sees\n"
"the pools of its own processes, root sees all.  A pool shared by several\n"
"fds or processes is shown once; files not set up yet are not shown.\n"
"\n"
"Percentiles (p50, p90, p99 of wait and run time, per op) come from the\n"
"module's power-of-two histograms: each is the upper bound of the bucket\n"
"[2^i, 2^(i+1)) ns in which the cumulative count reaches it, so the true\n"
"value is below it and at least half of it.  In the open-ended last bucket\n"
"it is its lower bound, shown as \">550s\".\n"
"\n"
"Exit status: 0, also when no pool is visible; 1 on bad usage.\n";

static void die(const char *fmt, const char *arg)
{
	fputs("kpoolstat: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* An unsigned decimal, whole, at most @max; -1 if not. */
static int parse_ulong(const char *s, unsigned long long max,
		       unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || *v > max ? -1 : 0;
}

/*
 * A whole file, NUL-terminated: fdinfo has no size in stat and may exceed
 * a page (one op line and two histograms per op), so read until EOF.
 * NULL with errno set on failure.
 */
static char *read_whole(const char *path)
{
	size_t len = 0, alloc = 4096;
	char *buf = malloc(alloc), *nbuf;
	int fd = -1, err;
	ssize_t n;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	for (;;) {
		if (alloc - len < 2) {
			if (alloc >= MAX_FDINFO) {
				errno = EFBIG;
				goto fail;
			}
			nbuf = realloc(buf, 2 * alloc);
			if (!nbuf)
				goto fail;
			buf = nbuf;
			alloc *= 2;
		}
		n = read(fd, buf + len, alloc - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = 0;
	return buf;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = err;
	return NULL;
}

static int add_pool(struct snap *s, const struct kps_pool *p)
{
	if (s->nr == s->alloc) {
		size_t n = s->alloc ? 2 * s->alloc : 16;
		struct kps_pool *pools = realloc(s->pools, n * sizeof(*pools));

		if (!pools)
			return -ENOMEM;
		s->pools = pools;
		s->alloc = n;
	}
	s->pools[s->nr] = *p;
	s->pools[s->nr].seq = s->nr;
	s->nr++;
	return 0;
}

static void snap_release(struct snap *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		kps_pool_release(&s->pools[i]);
	free(s->pools);
	memset(s, 0, sizeof(*s));
}

static void out_of_memory(void)
{
	die("%s", strerror(ENOMEM));
}

/* Parse @text; keep the pool if it is one and -i lets it through. */
static int take_pool(char *text, struct kps_pool *p)
{
	int ret = kps_parse_fdinfo(p, text);

	if (ret == -ENOMEM)
		out_of_memory();
	if (ret != KPS_POOL || (opt.id_given && p->id != opt.id)) {
		kps_pool_release(p);
		return 0;
	}
	return 1;
}

/* comm and the real uid of @pid; -1 if it is gone or not readable. */
static int read_owner(int pid, char *comm, size_t len, unsigned int *uid)
{
	char path[64], *text, *at;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	text = read_whole(path);
	if (!text)
		return -1;
	at = strstr(text, "\nUid:");
	if (!at || sscanf(at + 5, "%u", uid) != 1) {
		free(text);
		return -1;
	}
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	text = read_whole(path);
	if (!text)
		return -1;
	text[strcspn(text, "\n")] = 0;
	snprintf(comm, len, "%s", text);
	free(text);
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The pools process @pid has open.  Whatever fails is skipped. */
static void scan_pid(struct snap *s, int pid)
{
	static const char dev[] = KPOOL_DEV_PATH;
	char path[96], link[sizeof(dev) + 1], comm[64];
	unsigned int uid = 0;
	int have_owner = 0;
	struct dirent *d;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	fds = opendir(path);
	if (!fds)
		return;		/* gone, or another user's (EACCES) */
	while ((d = readdir(fds))) {
		unsigned long long fd;
		struct kps_pool p;
		ssize_t n;
		char *text;

		if (parse_ulong(d->d_name, INT_MAX, &fd))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, (int)fd);
		n = readlink(path, link, sizeof(link));
		if (n != (ssize_t)strlen(dev) || memcmp(link, dev, n))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid,
			 (int)fd);
		text = read_whole(path);
		if (!text)
			continue;	/* closed meanwhile, or not ours */
		if (!take_pool(text, &p)) {
			free(text);
			continue;
		}
		free(text);
		/* Read once per process, and only if it has a pool. */
		if (!have_owner &&
		    read_owner(pid, comm, sizeof(comm), &uid) == 0)
			have_owner = 1;
		if (!have_owner) {
			kps_pool_release(&p);
			break;		/* the process is gone */
		}
		p.pid = pid;
		p.fd = (int)fd;
		p.uid = uid;
		snprintf(p.comm, sizeof(p.comm), "%s", comm);
		if (add_pool(s, &p))
			out_of_memory();
	}
	closedir(fds);
}

/* --fdinfo: each FILE a pool of pid 0, fd its position, comm its name. */
static void scan_files(struct snap *s)
{
	int i;

	for (i = 0; i < opt.nr_files; i++) {
		const char *base = strrchr(opt.files[i], '/');
		struct kps_pool p;
		char *text;

		text = read_whole(opt.files[i]);
		if (!text) {
			fprintf(stderr, "kpoolstat: %s: %s\n", opt.files[i],
				strerror(errno));
			exit(1);
		}
		if (!take_pool(text, &p)) {
			free(text);
			continue;
		}
		free(text);
		if (opt.pid > 0) {
			kps_pool_release(&p);
			continue;
		}
		base = base ? base + 1 : opt.files[i];
		snprintf(p.comm, COMM_MAX + 1, "%s", base);
		p.fd = i;
		if (add_pool(s, &p))
			out_of_memory();
	}
}

static int by_id_then_seq(const void *a, const void *b)
{
	const struct kps_pool *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_id(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key;
	const struct kps_pool *p = elem;

	return id < p->id ? -1 : id > p->id;
}

static void scan(struct snap *s)
{
	size_t i, j;

	memset(s, 0, sizeof(*s));
	s->ns = now_ns();
	s->wall = time(NULL);
	if (opt.nr_files) {
		scan_files(s);
	} else if (opt.pid >= 0) {
		scan_pid(s, (int)opt.pid);
	} else {
		DIR *proc = opendir("/proc");
		struct dirent *d;

		if (!proc)
			die("cannot read /proc: %s", strerror(errno));
		while ((d = readdir(proc)))
			if (all_digits(d->d_name))
				scan_pid(s, atoi(d->d_name));
		closedir(proc);
	}
	/* One entry per pool id: the first fd the scan found. */
	if (s->nr)	/* pools is NULL then, which qsort may not take */
		qsort(s->pools, s->nr, sizeof(*s->pools), by_id_then_seq);
	for (i = j = 0; i < s->nr; i++) {
		if (j && s->pools[j - 1].id == s->pools[i].id)
			kps_pool_release(&s->pools[i]);
		else
			s->pools[j++] = s->pools[i];
	}
	s->nr = j;
}

/* Completions per second since @prev, for pools and ops seen in both. */
static void set_rates(struct snap *cur, const struct snap *prev)
{
	double dt = (double)(cur->ns - prev->ns) / 1e9;
	size_t i;

	if (dt <= 0 || !prev->nr)	/* bsearch may not take a NULL */
		return;
	for (i = 0; i < cur->nr; i++) {
		struct kps_pool *p = &cur->pools[i];
		const struct kps_pool *q;
		unsigned int k;

		q = bsearch(&p->id, prev->pools, prev->nr, sizeof(*q), by_id);
		if (!q)
			continue;
		/* A counter that went back is another pool (module reload). */
		if (kps_has(p, KPS_COMPLETED) && kps_has(q, KPS_COMPLETED) &&
		    p->v[KPS_COMPLETED] >= q->v[KPS_COMPLETED]) {
			p->rate = (double)(p->v[KPS_COMPLETED] -
					   q->v[KPS_COMPLETED]) / dt;
			p->has_rate = 1;
		}
		for (k = 0; k < p->nr_ops; k++) {
			struct kps_op *o = &p->ops[k];
			const struct kps_op *po = kps_find_op(q, o->name);

			if (!po || !kps_op_has(o, KPS_OP_COMPLETED) ||
			    !kps_op_has(po, KPS_OP_COMPLETED) ||
			    o->v[KPS_OP_COMPLETED] < po->v[KPS_OP_COMPLETED])
				continue;
			o->rate = (double)(o->v[KPS_OP_COMPLETED] -
					   po->v[KPS_OP_COMPLETED]) / dt;
			o->has_rate = 1;
		}
	}
}

/* ---- strings: comm is any 15 bytes, possibly a cut UTF-8 sequence ---- */

/* The length of the valid UTF-8 sequence at @s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

/* For the terminal: control characters and broken UTF-8 become '?'. */
static void text_safe(char *dst, size_t len, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, n;

	while (*s && o + 1 < len) {
		n = utf8_len(s);
		if (!n || *s < 0x20 || *s == 0x7f) {
			dst[o++] = '?';
			s++;
			continue;
		}
		if (o + n >= len)
			break;
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	dst[o] = 0;
}

/* Columns a string takes: one per character, not per byte. */
static int columns(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void put_right(const char *s, int width)
{
	printf("%*s%s", width > columns(s) ? width - columns(s) : 0, "", s);
}

static void put_left(const char *s, int width)
{
	printf("%s%*s", s, width > columns(s) ? width - columns(s) : 0, "");
}

static void json_str(const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n;

	putchar('"');
	while (*s) {
		if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
		} else if (*s == '\n') {
			fputs("\\n", stdout), s++;
		} else if (*s == '\t') {
			fputs("\\t", stdout), s++;
		} else if (*s < 0x20) {
			printf("\\u%04x", *s++);
		} else if (utf8_len(s)) {
			n = utf8_len(s);
			fwrite(s, 1, n, stdout);
			s += n;
		} else {
			fputs("\\ufffd", stdout);
			s++;
		}
	}
	putchar('"');
}

/* A Prometheus label value: \\, \" and \n escaped, valid UTF-8. */
static void prom_str(const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n;

	while (*s) {
		if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
		} else if (*s == '\n') {
			fputs("\\n", stdout), s++;
		} else if (utf8_len(s)) {
			n = utf8_len(s);
			fwrite(s, 1, n, stdout);
			s += n;
		} else {
			fputs("\xef\xbf\xbd", stdout);	/* U+FFFD */
			s++;
		}
	}
}

/* ---- numbers ---- */

static void fmt_u64(char *buf, size_t len, const uint64_t *v, int set)
{
	if (set)
		snprintf(buf, len, "%" PRIu64, *v);
	else
		snprintf(buf, len, "-");
}

static void fmt_rate(char *buf, size_t len, int has, double rate)
{
	if (!has)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, rate < 1000 ? "%.1f" : "%.0f", rate);
}

/* A duration with three significant digits and a unit: ns, µs, ms, s. */
static void fmt_dur(char *buf, size_t len, uint64_t ns)
{
	static const struct {
		double div;
		const char *unit;
	} units[] = {
		{ 1e9, "s" }, { 1e6, "ms" }, { 1e3, "\xc2\xb5s" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		double x = (double)ns / units[i].div;

		if (x < 1)
			continue;
		snprintf(buf, len, x < 10 ? "%.2f%s" : x < 100 ? "%.1f%s" :
			 "%.0f%s", x, units[i].unit);
		return;
	}
	snprintf(buf, len, "%" PRIu64 "ns", ns);
}

static void fmt_quantile(char *buf, size_t len, const uint64_t *hist,
			 int has_hist, unsigned int permille)
{
	char d[32];
	uint64_t ns;
	int q = has_hist ? kps_hist_quantile(hist, permille, &ns) :
		KPS_Q_EMPTY;

	if (q == KPS_Q_EMPTY) {
		snprintf(buf, len, "-");
		return;
	}
	fmt_dur(d, sizeof(d), ns);
	snprintf(buf, len, "%s%s", q == KPS_Q_AT_LEAST ? ">" : "", d);
}

/* ---- text ---- */

static void text_header(const struct snap *s, const char *what)
{
	char when[32];
	struct tm tm;

	if (!localtime_r(&s->wall, &tm) ||
	    !strftime(when, sizeof(when), "%H:%M:%S", &tm))
		snprintf(when, sizeof(when), "?");
	printf("kpoolstat  %s  %zu %s%s", when, s->nr, what,
	       s->nr == 1 ? "" : "s");
	if (!opt.once)
		printf("  (every %gs)", opt.delay);
	else if (opt.delay_given)
		printf("  (rates over %gs)", opt.delay);
	putchar('\n');
}

static void text_overview(const struct snap *s)
{
	static const int w[] = { 7, 8, 16, 6, 5, 5, 5, 6, 9, 8, 8, 8 };
	static const char *const head[] = {
		"ID", "PID", "COMM", "UID", "CAP", "RUN", "WAIT", "STUCK",
		"DONE/s", "FAILED", "CANCEL", "TIMEOUT",
	};
	static const enum kps_field cols[] = {
		KPS_CAPACITY, KPS_RUNNING, KPS_WAITING, KPS_STUCK_NOW,
	};
	static const enum kps_field tail[] = {
		KPS_FAILED, KPS_CANCELLED, KPS_TIMED_OUT,
	};
	char buf[64];
	unsigned int c;
	size_t i;

	text_header(s, "pool");
	for (c = 0; c < ARRAY_SIZE(head); c++) {
		if (c == 2) {
			putchar(' ');
			put_left(head[c], w[c]);
		} else {
			put_right(head[c], w[c]);
		}
	}
	putchar('\n');
	for (i = 0; i < s->nr; i++) {
		const struct kps_pool *p = &s->pools[i];

		snprintf(buf, sizeof(buf), "%" PRIu64, p->id);
		put_right(buf, w[0]);
		snprintf(buf, sizeof(buf), "%d", p->pid);
		put_right(buf, w[1]);
		putchar(' ');
		text_safe(buf, sizeof(buf), p->comm);
		put_left(buf, w[2]);
		snprintf(buf, sizeof(buf), "%u", p->uid);
		put_right(buf, w[3]);
		for (c = 0; c < ARRAY_SIZE(cols); c++) {
			fmt_u64(buf, sizeof(buf), &p->v[cols[c]],
				kps_has(p, cols[c]));
			put_right(buf, w[4 + c]);
		}
		fmt_rate(buf, sizeof(buf), p->has_rate, p->rate);
		put_right(buf, w[8]);
		for (c = 0; c < ARRAY_SIZE(tail); c++) {
			fmt_u64(buf, sizeof(buf), &p->v[tail[c]],
				kps_has(p, tail[c]));
			put_right(buf, w[9 + c]);
		}
		putchar('\n');
	}
}

/* "name value" pairs of the pool's lines, "-" for a line not printed. */
static void text_fields(const struct kps_pool *p, const char *indent,
			const enum kps_field *f, const char *const *label,
			unsigned int n)
{
	char buf[32];
	unsigned int i;

	fputs(indent, stdout);
	for (i = 0; i < n; i++) {
		fmt_u64(buf, sizeof(buf), &p->v[f[i]], kps_has(p, f[i]));
		printf("%s%s %s", i ? "  " : "", label[i], buf);
		if (f[i] == KPS_COMPLETED && p->has_rate)
			printf(" (%.1f/s)", p->rate);
	}
	putchar('\n');
}

static void text_task(const char *what, const struct kps_task *t)
{
	if (t->state == KPS_TASK_ABSENT)
		return;
	printf("  oldest %s: ", what);
	if (t->state == KPS_TASK_NONE)
		puts("none");
	else
		printf("%s user_data=0x%" PRIx64 " for %" PRIu64 " ms\n",
		       t->op, t->user_data, t->age_ms);
}

static void text_pool_detail(const struct kps_pool *p)
{
	static const enum kps_field now[] = {
		KPS_CAPACITY, KPS_MAX_WAITING, KPS_RUNNING, KPS_WAITING,
		KPS_STUCK_NOW, KPS_STUCK_TOTAL,
	};
	static const char *const now_label[] = {
		"capacity", "max_waiting", "running", "waiting", "stuck",
		"stuck_total",
	};
	static const enum kps_field total[] = {
		KPS_SUBMITTED, KPS_STARTED, KPS_COMPLETED, KPS_FAILED,
		KPS_CANCELLED, KPS_TIMED_OUT, KPS_REJECTED,
	};
	static const enum kps_field workers[] = {
		KPS_WORKER_THREADS, KPS_PARKED_WORKERS, KPS_BLOCKED_WORKERS,
		KPS_ON_WORKERS, KPS_READY_FOR_OWNER,
	};
	static const char *const workers_label[] = {
		"worker_threads", "parked", "blocked", "on_kernel_workers",
		"ready_for_owner",
	};
	static const int w[] = { 9, 9, 9, 9, 8, 7, 7, 7, 7, 6, 6, 6 };
	static const char *const head[] = {
		"SUBMIT", "START", "DONE", "DONE/s", "FAIL", "CANCEL",
		"TMOUT", "REJECT", "RUN", "WAIT", "STUCK",
	};
	static const enum kps_op_field cols[] = {
		KPS_OP_SUBMITTED, KPS_OP_STARTED, KPS_OP_COMPLETED,
		KPS_NR_OP_FIELDS,	/* stands for the DONE/s column */
		KPS_OP_FAILED, KPS_OP_CANCELLED, KPS_OP_TIMED_OUT,
		KPS_OP_REJECTED, KPS_OP_RUNNING, KPS_OP_WAITING, KPS_OP_STUCK,
	};
	static const unsigned int pm[] = { 500, 900, 990 };
	char buf[64];
	unsigned int i, c;

	text_safe(buf, sizeof(buf), p->comm);
	printf("\npool %" PRIu64 "  pid %d (%s)  fd %d  uid %u\n", p->id,
	       p->pid, buf, p->fd, p->uid);
	text_fields(p, "  ", now, now_label, 6);
	text_fields(p, "  ", total, kps_field_name + KPS_SUBMITTED, 7);
	text_fields(p, "  ", workers, workers_label, 5);
	text_task("waiting", &p->oldest_waiting);
	text_task("running", &p->oldest_running);
	if (!p->nr_ops)
		return;

	putchar('\n');
	put_left("  OP", 12);
	for (c = 0; c < ARRAY_SIZE(head); c++)
		put_right(head[c], w[c]);
	putchar('\n');
	for (i = 0; i < p->nr_ops; i++) {
		const struct kps_op *o = &p->ops[i];

		printf("  ");
		put_left(o->name, 10);
		for (c = 0; c < ARRAY_SIZE(cols); c++) {
			if (cols[c] == KPS_NR_OP_FIELDS)
				fmt_rate(buf, sizeof(buf), o->has_rate,
					 o->rate);
			else
				fmt_u64(buf, sizeof(buf), &o->v[cols[c]],
					kps_op_has(o, cols[c]));
			put_right(buf, w[c]);
		}
		putchar('\n');
	}

	putchar('\n');
	put_left("  OP", 12);
	put_right("WAIT p50", 10);
	put_right("p90", 9);
	put_right("p99", 9);
	put_right("RUN p50", 11);
	put_right("p90", 9);
	put_right("p99", 9);
	putchar('\n');
	for (i = 0; i < p->nr_ops; i++) {
		const struct kps_op *o = &p->ops[i];

		printf("  ");
		put_left(o->name, 10);
		for (c = 0; c < 6; c++) {
			int run = c >= 3;

			fmt_quantile(buf, sizeof(buf),
				     run ? o->run_hist : o->wait_hist,
				     run ? o->has_run_hist : o->has_wait_hist,
				     pm[c % 3]);
			put_right(buf, c == 0 ? 10 : c == 3 ? 11 : 9);
		}
		putchar('\n');
	}
}

static void print_text(const struct snap *s)
{
	size_t i;

	if (opt.pid < 0 && !opt.id_given) {
		text_overview(s);
		return;
	}
	text_header(s, "pool");
	for (i = 0; i < s->nr; i++)
		text_pool_detail(&s->pools[i]);
}

/* ---- JSON ---- */

static void json_u64(const char *key, const uint64_t *v, int set)
{
	printf(",\"%s\":", key);
	if (set)
		printf("%" PRIu64, *v);
	else
		fputs("null", stdout);
}

static void json_rate(int has, double rate)
{
	fputs(",\"completed_per_sec\":", stdout);
	if (has)
		printf("%.3f", rate);
	else
		fputs("null", stdout);
}

static void json_task(const char *key, const struct kps_task *t)
{
	printf(",\"%s\":", key);
	if (t->state != KPS_TASK_SOME) {
		fputs("null", stdout);
		return;
	}
	fputs("{\"op\":", stdout);
	json_str(t->op);
	/* a string: user_data is often a pointer, beyond a double's 2^53 */
	printf(",\"user_data\":\"0x%" PRIx64 "\",\"age_ms\":%" PRIu64 "}",
	       t->user_data, t->age_ms);
}

static void json_quantile(const char *key, const uint64_t *hist,
			  int has_hist, unsigned int permille)
{
	uint64_t ns;

	printf(",\"%s\":", key);
	if (has_hist && kps_hist_quantile(hist, permille, &ns) != KPS_Q_EMPTY)
		printf("%" PRIu64, ns);
	else
		fputs("null", stdout);
}

static void json_op(const struct kps_op *o, int first)
{
	static const char *const q[] = { "p50", "p90", "p99" };
	static const unsigned int pm[] = { 500, 900, 990 };
	char key[32];
	unsigned int f;

	if (!first)
		putchar(',');
	json_str(o->name);
	putchar(':');
	/* json_u64() writes a comma before each key: open with one key */
	printf("{\"%s\":", kps_op_field_name[0]);
	if (kps_op_has(o, 0))
		printf("%" PRIu64, o->v[0]);
	else
		fputs("null", stdout);
	for (f = 1; f < KPS_NR_OP_FIELDS; f++)
		json_u64(kps_op_field_name[f], &o->v[f], kps_op_has(o, f));
	json_rate(o->has_rate, o->rate);
	for (f = 0; f < 3; f++) {
		snprintf(key, sizeof(key), "wait_%s_ns", q[f]);
		json_quantile(key, o->wait_hist, o->has_wait_hist, pm[f]);
	}
	for (f = 0; f < 3; f++) {
		snprintf(key, sizeof(key), "run_%s_ns", q[f]);
		json_quantile(key, o->run_hist, o->has_run_hist, pm[f]);
	}
	putchar('}');
}

static void json_pool(const struct kps_pool *p)
{
	static const enum kps_field order[] = {
		KPS_CAPACITY, KPS_MAX_WAITING, KPS_RUNNING, KPS_WAITING,
		KPS_STUCK_NOW, KPS_STUCK_TOTAL, KPS_SUBMITTED, KPS_STARTED,
		KPS_COMPLETED, KPS_FAILED, KPS_CANCELLED, KPS_TIMED_OUT,
		KPS_REJECTED, KPS_WORKER_THREADS, KPS_PARKED_WORKERS,
		KPS_BLOCKED_WORKERS, KPS_ON_WORKERS, KPS_READY_FOR_OWNER,
	};
	unsigned int i;

	printf("{\"id\":%" PRIu64 ",\"pid\":%d,\"fd\":%d,\"comm\":", p->id,
	       p->pid, p->fd);
	json_str(p->comm);
	printf(",\"uid\":%u", p->uid);
	for (i = 0; i < ARRAY_SIZE(order); i++)
		json_u64(kps_field_name[order[i]], &p->v[order[i]],
			 kps_has(p, order[i]));
	json_rate(p->has_rate, p->rate);
	json_task("oldest_waiting", &p->oldest_waiting);
	json_task("oldest_running", &p->oldest_running);
	fputs(",\"ops\":{", stdout);
	for (i = 0; i < p->nr_ops; i++)
		json_op(&p->ops[i], i == 0);
	fputs("}}", stdout);
}

static void print_json(const struct snap *s)
{
	size_t i;

	fputs("{\"pools\":[", stdout);
	for (i = 0; i < s->nr; i++) {
		if (i)
			putchar(',');
		json_pool(&s->pools[i]);
	}
	fputs("]}\n", stdout);
}

/* ---- Prometheus ---- */

static void prom_family(const char *name, const char *type,
			const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* {id="..",pid="..",comm=".."[,op=".."][,NAME=".."]} */
static void prom_labels(const struct kps_pool *p, const char *op,
			const char *name, const char *val)
{
	printf("{id=\"%" PRIu64 "\",pid=\"%d\",comm=\"", p->id, p->pid);
	prom_str(p->comm);
	putchar('"');
	if (op) {
		fputs(",op=\"", stdout);
		prom_str(op);
		putchar('"');
	}
	if (name) {
		printf(",%s=\"", name);
		prom_str(val);
		putchar('"');
	}
	putchar('}');
}

static void prom_gauge(const struct snap *s, const char *name,
		       const char *type, const char *help, enum kps_field f)
{
	size_t i;

	prom_family(name, type, help);
	for (i = 0; i < s->nr; i++) {
		const struct kps_pool *p = &s->pools[i];

		if (!kps_has(p, f))
			continue;
		fputs(name, stdout);
		prom_labels(p, NULL, NULL, NULL);
		printf(" %" PRIu64 "\n", p->v[f]);
	}
}

/* Seconds, exactly: 2^k ns has at most nine decimals. */
static void fmt_seconds(char *buf, size_t len, uint64_t ns)
{
	size_t n;

	snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u,
		 ns % 1000000000u);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = 0;
	if (buf[n - 1] == '.')
		buf[--n] = 0;
}

/*
 * The module keeps no sum of times, only the histogram: _sum is estimated
 * with each sample at the middle of its bucket (1.5 * 2^i ns; 1 ns for
 * bucket 0, the lower bound for the open last one), within a factor of
 * 1.5.  It is printed rather than left out because node_exporter's
 * textfile collector turns a missing _sum into 0, which would make
 * rate(_sum) / rate(_count) read as 0 s.
 */
static double hist_sum_estimate(const uint64_t *hist)
{
	double sum = 0;
	unsigned int i;

	for (i = 0; i < KPOOL_HIST_BUCKETS; i++) {
		double mid = i == 0 ? 1 :
			     i == KPOOL_HIST_BUCKETS - 1 ? (double)(1ull << i) :
			     1.5 * (double)(1ull << i);

		sum += (double)hist[i] * mid;
	}
	return sum / 1e9;
}

static void prom_hist(const struct snap *s, const char *name, int run,
		      const char *help)
{
	char metric[64], le[32];
	size_t i;

	prom_family(name, "histogram", help);
	for (i = 0; i < s->nr; i++) {
		const struct kps_pool *p = &s->pools[i];
		unsigned int k, b;

		for (k = 0; k < p->nr_ops; k++) {
			const struct kps_op *o = &p->ops[k];
			const uint64_t *h = run ? o->run_hist : o->wait_hist;
			uint64_t cum = 0;

			if (!(run ? o->has_run_hist : o->has_wait_hist))
				continue;
			snprintf(metric, sizeof(metric), "%s_bucket", name);
			/* bucket b ends at 2^(b+1) ns; the last has no end */
			for (b = 0; b < KPOOL_HIST_BUCKETS - 1; b++) {
				cum = cum + h[b] < cum ? UINT64_MAX :
				      cum + h[b];
				fmt_seconds(le, sizeof(le), 2ull << b);
				fputs(metric, stdout);
				prom_labels(p, o->name, "le", le);
				printf(" %" PRIu64 "\n", cum);
			}
			fputs(metric, stdout);
			prom_labels(p, o->name, "le", "+Inf");
			printf(" %" PRIu64 "\n", kps_hist_count(h));
			printf("%s_sum", name);
			prom_labels(p, o->name, NULL, NULL);
			printf(" %.9g\n", hist_sum_estimate(h));
			printf("%s_count", name);
			prom_labels(p, o->name, NULL, NULL);
			printf(" %" PRIu64 "\n", kps_hist_count(h));
		}
	}
}

static void print_prom(const struct snap *s)
{
	static const enum kps_op_field results[] = {
		KPS_OP_COMPLETED, KPS_OP_FAILED, KPS_OP_CANCELLED,
		KPS_OP_TIMED_OUT, KPS_OP_REJECTED,
	};
	size_t i;
	unsigned int k, r;

	prom_gauge(s, "kpool_pool_capacity", "gauge",
		   "Tasks the pool may run at once.", KPS_CAPACITY);
	prom_gauge(s, "kpool_pool_max_waiting", "gauge",
		   "Tasks that may wait for a slot.", KPS_MAX_WAITING);
	prom_gauge(s, "kpool_tasks_running", "gauge",
		   "Tasks running now.", KPS_RUNNING);
	prom_gauge(s, "kpool_tasks_waiting", "gauge",
		   "Tasks waiting for a slot now.", KPS_WAITING);
	prom_gauge(s, "kpool_tasks_stuck", "gauge",
		   "Tasks the module reports stuck now.", KPS_STUCK_NOW);
	prom_gauge(s, "kpool_stuck_tasks_total", "counter",
		   "Tasks the module found stuck, since the pool was set up.",
		   KPS_STUCK_TOTAL);

	prom_family("kpool_tasks_submitted_total", "counter",
		    "Tasks the pool took, per op.");
	for (i = 0; i < s->nr; i++) {
		const struct kps_pool *p = &s->pools[i];

		for (k = 0; k < p->nr_ops; k++) {
			const struct kps_op *o = &p->ops[k];

			if (!kps_op_has(o, KPS_OP_SUBMITTED))
				continue;
			fputs("kpool_tasks_submitted_total", stdout);
			prom_labels(p, o->name, NULL, NULL);
			printf(" %" PRIu64 "\n", o->v[KPS_OP_SUBMITTED]);
		}
	}
	prom_family("kpool_tasks_total", "counter",
		    "Tasks per op and result: completed counts every result, "
		    "failed, cancelled and timed_out are among them; rejected "
		    "SQEs are not.");
	for (i = 0; i < s->nr; i++) {
		const struct kps_pool *p = &s->pools[i];

		for (k = 0; k < p->nr_ops; k++) {
			const struct kps_op *o = &p->ops[k];

			for (r = 0; r < ARRAY_SIZE(results);
			     r++) {
				if (!kps_op_has(o, results[r]))
					continue;
				fputs("kpool_tasks_total", stdout);
				prom_labels(p, o->name, "result",
					    kps_op_field_name[results[r]]);
				printf(" %" PRIu64 "\n", o->v[results[r]]);
			}
		}
	}
	prom_hist(s, "kpool_task_wait_seconds", 0,
		  "Time from submission to start, per op (_sum estimated "
		  "from bucket midpoints).");
	prom_hist(s, "kpool_task_run_seconds", 1,
		  "Time from start to completion, per op (_sum estimated "
		  "from bucket midpoints).");
}

/* ---- main ---- */

enum {
	OPT_ONCE = 256,
	OPT_JSON,
	OPT_PROM,
	OPT_FDINFO,
};

static const struct option long_opts[] = {
	{ "delay", required_argument, NULL, 'd' },
	{ "count", required_argument, NULL, 'n' },
	{ "pid", required_argument, NULL, 'p' },
	{ "id", required_argument, NULL, 'i' },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "prometheus", no_argument, NULL, OPT_PROM },
	{ "fdinfo", required_argument, NULL, OPT_FDINFO },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse_args(int argc, char **argv)
{
	unsigned long long v;
	char *end;
	int c;

	opterr = 0;	/* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":d:n:p:i:h", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			errno = 0;
			opt.delay = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !isfinite(opt.delay) || opt.delay < 0.01 ||
			    opt.delay > 86400)
				die("bad interval '%s' (0.01 to 86400 s)",
				    optarg);
			opt.delay_given = 1;
			break;
		case 'n':
			if (parse_ulong(optarg, ULONG_MAX, &v) || !v)
				die("bad count '%s'", optarg);
			opt.count = v;
			break;
		case 'p':
			if (parse_ulong(optarg, INT_MAX, &v))
				die("bad pid '%s'", optarg);
			opt.pid = (long)v;
			break;
		case 'i':
			if (parse_ulong(optarg, UINT64_MAX, &v))
				die("bad pool id '%s'", optarg);
			opt.id = v;
			opt.id_given = 1;
			break;
		case OPT_ONCE:
			opt.once = 1;
			break;
		case OPT_JSON:
		case OPT_PROM:
			if (opt.mode != MODE_TEXT)
				die("%s", "--json or --prometheus, not both");
			opt.mode = c == OPT_JSON ? MODE_JSON : MODE_PROM;
			break;
		case OPT_FDINFO:
			opt.files = realloc(opt.files, (opt.nr_files + 1) *
					    sizeof(*opt.files));
			if (!opt.files)
				out_of_memory();
			opt.files[opt.nr_files++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			die("option '%s' needs a value (see --help)",
			    argv[optind - 1]);
			break;
		default:
			if (optopt >= OPT_ONCE)	/* --once=X */
				die("option '%s' takes no value (see --help)",
				    argv[optind - 1]);
			if (optopt > ' ' && optopt < 127) {
				char o[3] = { '-', (char)optopt, 0 };

				die("unknown option '%s' (see --help)", o);
			}
			die("unknown option '%s' (see --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (opt.once)
		opt.count = 1;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = ns / 1000000000ull,
		.tv_nsec = ns % 1000000000ull,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static void print_snap(const struct snap *s, int first, int tty)
{
	switch (opt.mode) {
	case MODE_TEXT:
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (!first)
			putchar('\n');
		print_text(s);
		break;
	case MODE_JSON:
		print_json(s);
		break;
	case MODE_PROM:
		if (!first)
			putchar('\n');
		print_prom(s);
		break;
	}
	if (fflush(stdout) || ferror(stdout))
		die("write error: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct snap prev = { 0 }, cur;
	uint64_t step, next;
	unsigned long n;
	int have_prev = 0;
	int tty;

	parse_args(argc, argv);
	/* Clearing the screen suits a live view, not a single snapshot. */
	tty = isatty(STDOUT_FILENO) && opt.count != 1;
	step = (uint64_t)(opt.delay * 1e9);
	next = now_ns();

	/* --once -d: a first sample only to compute rates from. */
	if (opt.once && opt.delay_given) {
		scan(&prev);
		have_prev = 1;
		next += step;
		sleep_until(next);
	}
	for (n = 1; ; n++) {
		scan(&cur);
		if (have_prev)
			set_rates(&cur, &prev);
		print_snap(&cur, n == 1, tty);
		if (have_prev)
			snap_release(&prev);
		prev = cur;
		have_prev = 1;
		if (n == opt.count)
			break;
		/* fixed ticks; after a stall, start again from now */
		next += step;
		if (next < now_ns())
			next = now_ns();
		sleep_until(next);
	}
	snap_release(&prev);
	free(opt.files);
	return 0;
}
