// SPDX-License-Identifier: GPL-2.0
/*
 * kpoolstat, as a script runs it: for a pool in a known state (one BURN
 * running, NOPs waiting behind capacity 1), --once --json and
 * --prometheus must report what KPOOL_IOC_STATS reports; a pool shared
 * by two fds is one pool; a process without a set-up pool gets an empty
 * list and exit status 0; a bad option exits 1.  The tool is looked up
 * next to this binary (build/tools/kpoolstat), else on PATH.
 */
#include <libgen.h>
#include <limits.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "kpool_util.h"

#define NOPS		3
#define BURN_MS		5000		/* outlives every check below */
#define OUT_MAX		(1 << 20)

static void tool_path(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		snprintf(out, len, "%s/../tools/kpoolstat", dirname(self));
		if (!access(out, X_OK))
			return;
	}
	snprintf(out, len, "kpoolstat");
}

/* Run "kpoolstat ARGS"; all its stdout into *out (malloc'ed); its status. */
static int run_tool(const char *args, char **out)
{
	char tool[PATH_MAX], cmd[PATH_MAX + 256];
	size_t len = 0, n;
	int status;
	FILE *p;

	tool_path(tool, sizeof(tool));
	snprintf(cmd, sizeof(cmd), "%s %s", tool, args);
	*out = calloc(1, OUT_MAX);
	p = popen(cmd, "r");
	if (!p || !*out)
		return -1;
	while (len < OUT_MAX - 1 &&
	       (n = fread(*out + len, 1, OUT_MAX - 1 - len, p)) > 0)
		len += n;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Just enough JSON to find a member: json_get() returns where the value
 * of @key starts, among the members of the object at @obj itself (not of
 * nested objects), or NULL.
 */
static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* Past the end of the value at @p, or NULL if it is cut short. */
static const char *json_skip(const char *p)
{
	int depth = 0, in_str = 0;

	if (*p != '"' && *p != '{' && *p != '[') {
		while (*p && !strchr(",}] \n", *p))
			p++;
		return p;
	}
	for (; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_str = 0;
			if (!in_str && !depth)
				return p + 1;
			continue;
		}
		if (*p == '"')
			in_str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
	}
	return NULL;
}

static const char *json_get(const char *obj, const char *key)
{
	size_t klen = strlen(key);
	const char *p, *k;

	if (!obj || *obj != '{')
		return NULL;
	for (p = json_ws(obj + 1); *p == '"'; ) {
		k = p + 1;		/* our keys have no escapes */
		p = json_skip(p);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p != ':')
			return NULL;
		p = json_ws(p + 1);
		if (!strncmp(k, key, klen) && k[klen] == '"')
			return p;
		p = json_skip(p);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p != ',')
			return NULL;
		p = json_ws(p + 1);
	}
	return NULL;
}

/* A number member, or -1 (absent, null, not a number). */
static long long json_int(const char *obj, const char *key)
{
	const char *v = json_get(obj, key);

	return v && *v >= '0' && *v <= '9' ? strtoll(v, NULL, 10) : -1;
}

/* The first element of the array at @arr, the one after @el; or NULL. */
static const char *json_first(const char *arr)
{
	const char *p;

	if (!arr || *arr != '[')
		return NULL;
	p = json_ws(arr + 1);
	return *p == ']' ? NULL : p;
}

static const char *json_next(const char *el)
{
	const char *p = json_skip(el);

	if (!p)
		return NULL;
	p = json_ws(p);
	return *p == ',' ? json_ws(p + 1) : NULL;
}

static const char *json_pools(const char *doc)
{
	return json_first(json_get(json_ws(doc), "pools"));
}

/* The element of "pools" whose "id" is @id, or NULL. */
static const char *json_pool(const char *doc, unsigned long long id)
{
	const char *el;

	for (el = json_pools(doc); el; el = json_next(el))
		if (json_int(el, "id") == (long long)id)
			return el;
	return NULL;
}

FIXTURE(stat) {
	struct kpool_ring ring;
	unsigned long long id;
	int up;
};

/*
 * A BURN runs and NOPS NOPs wait behind capacity 1: nothing moves until
 * the BURN ends, BURN_MS later, so STATS and the tool see one state.
 */
FIXTURE_SETUP(stat)
{
	struct kpool_ring_params p = { .capacity = 1 };
	struct kpool_counters total;
	uint64_t end;
	int i;

	KP_RING_OPEN(16, &p);
	q_burn(&self->ring, BURN_MS * KP_MS, 1);
	for (i = 0; i < NOPS; i++)
		q_nop(&self->ring, 2 + i);
	ASSERT_EQ(1 + NOPS, kpool_submit(&self->ring));
	/* the BURN may take a moment to reach a worker */
	end = kp_now_ns() + 2000 * KP_MS;
	for (;;) {
		ASSERT_EQ(0, kpool_read_stats(&self->ring, &total, NULL, 0));
		if ((total.running == 1 && total.waiting == NOPS) ||
		    kp_now_ns() > end)
			break;
		usleep(1000);
	}
	ASSERT_TRUE(total.running == 1 && total.waiting == NOPS);
	self->id = kp_fdinfo_value(self->ring.fd, "id");
	ASSERT_LT(0, (long long)self->id);
}

FIXTURE_TEARDOWN(stat)
{
	KP_RING_CLOSE();
}

/* One JSON member against one STATS value; logs a mismatch. */
static int differs(struct __test_metadata *_metadata, const char *obj,
		   const char *what, const char *key, unsigned long long want)
{
	long long got = json_int(obj, key);

	if (got == (long long)want)
		return 0;
	TH_LOG("%s %s: kpoolstat says %lld, STATS %llu", what, key, got, want);
	return 1;
}

TEST_F(stat, json_agrees_with_stats)
{
	struct kpool_counters total, ops[KPOOL_OP_LAST];
	struct kpool_probe_op names[KPOOL_OP_LAST];
	unsigned int cap, max_waiting, last, i;
	char args[64], *out;
	const char *pool, *op_obj;
	int bad = 0;

	ASSERT_EQ(0, kpool_read_stats(&self->ring, &total, ops, KPOOL_OP_LAST));
	ASSERT_EQ(0, kpool_get_capacity(&self->ring, &cap, &max_waiting));
	ASSERT_EQ(0, kpool_probe_ops(self->ring.fd, names, KPOOL_OP_LAST,
				     &last));
	snprintf(args, sizeof(args), "--once --json -p %d", getpid());
	ASSERT_EQ(0, run_tool(args, &out));
	pool = json_pool(out, self->id);
	ASSERT_NE(NULL, pool) {
		TH_LOG("no pool %llu in: %s", self->id, out);
	}
	bad += differs(_metadata, pool, "pool", "capacity", cap);
	bad += differs(_metadata, pool, "pool", "running", total.running);
	bad += differs(_metadata, pool, "pool", "waiting", total.waiting);
	bad += differs(_metadata, pool, "pool", "submitted", total.submitted);
	bad += differs(_metadata, pool, "pool", "completed", total.completed);
	/*
	 * Per op used, by the name PROBE gives it (the name fdinfo prints):
	 * PROBE's entry i describes op i.
	 */
	for (i = 0; i < KPOOL_OP_LAST && i < last; i++) {
		if (!ops[i].submitted)
			continue;
		op_obj = json_get(json_get(pool, "ops"), names[i].name);
		bad += differs(_metadata, op_obj, names[i].name, "submitted",
			       ops[i].submitted);
	}
	free(out);
	EXPECT_EQ(0, bad);
}

TEST_F(stat, prometheus_reports_the_running_tasks)
{
	struct kpool_counters total;
	char args[64], want[128], *out, *line;
	long long got = -1;

	ASSERT_EQ(0, kpool_read_stats(&self->ring, &total, NULL, 0));
	snprintf(args, sizeof(args), "--once --prometheus -p %d", getpid());
	ASSERT_EQ(0, run_tool(args, &out));
	snprintf(want, sizeof(want),
		 "\nkpool_tasks_running{id=\"%llu\",pid=\"%d\",", self->id,
		 getpid());
	line = strstr(out, want);
	if (line)
		line = strstr(line + 1, "} ");
	if (line)
		got = strtoll(line + 2, NULL, 10);
	free(out);
	EXPECT_EQ((long long)total.running, got);
}

/* A dup'ed fd is the same pool: shown once. */
TEST_F(stat, shows_a_shared_pool_once)
{
	char args[64], *out;
	const char *el;
	int fd = dup(self->ring.fd), n = 0;

	ASSERT_LE(0, fd);
	snprintf(args, sizeof(args), "--once --json -p %d", getpid());
	ASSERT_EQ(0, run_tool(args, &out));
	close(fd);
	for (el = json_pools(out); el; el = json_next(el))
		n += json_int(el, "id") == (long long)self->id;
	free(out);
	EXPECT_EQ(1, n);
}

TEST_F(stat, text_shows_the_pool_in_detail)
{
	char args[64], want[96], *out;
	int found;

	snprintf(args, sizeof(args), "--once -p %d", getpid());
	ASSERT_EQ(0, run_tool(args, &out));
	snprintf(want, sizeof(want), "\npool %llu  pid %d ", self->id,
		 getpid());
	found = strstr(out, want) != NULL;
	if (!found)
		TH_LOG("no \"%s\" in:\n%s", want + 1, out);
	free(out);
	EXPECT_TRUE(found);
}

/* Needs no module: with no pool at all the list is empty, not an error. */
TEST(json_without_a_pool_is_an_empty_list)
{
	char args[64], *out;

	snprintf(args, sizeof(args), "--once --json -p %d", getpid());
	ASSERT_EQ(0, run_tool(args, &out));
	EXPECT_STREQ("{\"pools\":[]}\n", out);
	free(out);
}

/* A file opened but not set up has no pool yet: not listed. */
TEST(pool_not_set_up_is_not_listed)
{
	char args[64], *out;
	int fd;

	KP_REQUIRE_MODULE();
	fd = kp_open();
	ASSERT_LE(0, fd);
	snprintf(args, sizeof(args), "--once --json -p %d", getpid());
	ASSERT_EQ(0, run_tool(args, &out));
	close(fd);
	EXPECT_STREQ("{\"pools\":[]}\n", out);
	free(out);
}

TEST(bad_option_exits_1)
{
	char *out;

	EXPECT_EQ(1, run_tool("--no-such-option 2>/dev/null", &out));
	free(out);
}

TEST_HARNESS_MAIN
