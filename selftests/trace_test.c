// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints (events/kpool/ in tracefs) mark each task's life and
 * each pool's: a known sequence of tasks gives the known events, in order,
 * naming the pool by the id its fdinfo shows.
 */
#include "kselftest_harness.h"
#include "kpool_util.h"

#define MS	1000000ull

/* The pool's id, from its fdinfo; 0 if not found. */
static unsigned long long pool_id(int fd)
{
	unsigned long long id = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "id: %llu", &id) == 1)
			break;
	fclose(f);
	return id;
}

/*
 * The kpool events of pool @id in the trace, one per line, as "event:
 * fields" without the timing fields, into @out.  An op with no name
 * prints as its number in hex.
 */
static void kpool_events(unsigned long long id, char *out, size_t len)
{
	char line[512], want[48];
	size_t used = 0;
	FILE *f = fopen(KP_TRACEFS "/trace", "r");

	out[0] = 0;
	if (!f)
		return;
	/* Every event has "pool=N " with more fields after it. */
	snprintf(want, sizeof(want), "pool=%llu ", id);
	while (fgets(line, sizeof(line), f) && used < len) {
		char *ev = strstr(line, " kpool_"), *cut;

		if (!ev || !strstr(ev, want))
			continue;
		cut = strstr(ev, " wait_ns=");
		if (cut)
			strcpy(cut, "\n");
		used += snprintf(out + used, len - used, "%s", ev + 1);
	}
	fclose(f);
}

/* Does @text hold each of @steps, in this order? */
static int in_order(const char *text, const char *const *steps, int n)
{
	for (int i = 0; i < n; i++) {
		text = strstr(text, steps[i]);
		if (!text)
			return 0;
		text += strlen(steps[i]);
	}
	return 1;
}

FIXTURE(trace) {
	struct kpool_ring ring;
	unsigned long long id;
	char events[16384];
	int up;
};

FIXTURE_SETUP(trace)
{
	struct kpool_ring_params p = { .capacity = 1 };

	self->up = 0;
	KP_REQUIRE_MODULE();
	if (!kp_tracefs_event_ready("kpool/kpool_task_submit"))
		SKIP(return, "no tracefs, or no kpool events");
	ASSERT_EQ(0, kp_tracefs_write("tracing_on", "0"));
	ASSERT_EQ(0, kp_tracefs_write("trace", ""));
	ASSERT_EQ(0, kp_tracefs_write("events/kpool/enable", "1"));
	ASSERT_EQ(0, kp_tracefs_write("tracing_on", "1"));
	ASSERT_EQ(0, kpool_ring_open(&self->ring, 16, &p));
	self->id = pool_id(self->ring.fd);
	ASSERT_LT(0, self->id);
	self->up = 1;
}

FIXTURE_TEARDOWN(trace)
{
	if (self->up)
		kpool_ring_close(&self->ring);
	kp_tracefs_write("tracing_on", "0");
	kp_tracefs_write("events/kpool/enable", "0");
	kp_tracefs_write("trace", "");
}

/* A BURN holds the slot, a NOP waits, an SQE with no op is refused. */
static void known_sequence(FIXTURE_DATA(trace) *self)
{
	struct kpool_sqe *bad;

	q_burn(&self->ring, 50 * MS, 1);
	q_nop(&self->ring, 2);
	bad = q_nop(&self->ring, 3);
	bad->op = 200;
	kpool_submit_and_wait(&self->ring, 3);
	kpool_drain(&self->ring);
}

TEST_F(trace, a_task_life_in_order)
{
	const char *steps[] = {
		"kpool_task_submit: pool=%s op=burn user_data=0x1",
		"kpool_task_start: pool=%s op=burn user_data=0x1",
		"kpool_task_submit: pool=%s op=nop user_data=0x2",
		"kpool_task_complete: pool=%s op=burn user_data=0x1 res=0",
		"kpool_task_start: pool=%s op=nop user_data=0x2",
		"kpool_task_complete: pool=%s op=nop user_data=0x2 res=0",
	};
	char expect[6][128], id[24];
	const char *p[6];

	known_sequence(self);
	kpool_events(self->id, self->events, sizeof(self->events));
	TH_LOG("%s", self->events);
	snprintf(id, sizeof(id), "%llu", self->id);
	for (int i = 0; i < 6; i++) {
		snprintf(expect[i], sizeof(expect[i]), steps[i], id);
		p[i] = expect[i];
	}
	EXPECT_TRUE(in_order(self->events, p, 6));
}

TEST_F(trace, a_refused_sqe_is_a_reject)
{
	char want[96];

	known_sequence(self);
	kpool_events(self->id, self->events, sizeof(self->events));
	snprintf(want, sizeof(want), "kpool_task_reject: pool=%llu op=0xc8 user_data=0x3 res=-22",
		 self->id);
	EXPECT_NE(NULL, strstr(self->events, want));
}

TEST_F(trace, pool_life_in_order)
{
	char c[64], d[64], x[64];
	const char *p[3] = { c, d, x };

	known_sequence(self);
	kpool_ring_close(&self->ring);
	self->up = 0;
	kpool_events(self->id, self->events, sizeof(self->events));
	snprintf(c, sizeof(c), "kpool_pool_create: pool=%llu capacity=1", self->id);
	snprintf(d, sizeof(d), "kpool_pool_drained: pool=%llu capacity=1", self->id);
	snprintf(x, sizeof(x), "kpool_pool_close: pool=%llu capacity=1", self->id);
	EXPECT_TRUE(in_order(self->events, p, 3));
}

TEST_HARNESS_MAIN
