// SPDX-License-Identifier: GPL-2.0
/*
 * The buffer pool over plain memory: it needs no module, so it runs on
 * the host too (plain, and built with ASan+UBSan and with TSan).  Size
 * classes, reuse and its counters, running out, foreign pointers, double
 * puts, many threads getting and putting with no buffer handed out twice
 * at once, and buffers put back by a thread that stays alive (a
 * completion thread) reaching the thread that gets them.
 */
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include "kselftest_harness.h"
#include "kpool_bufpool.h"

/* A library built with -DKPOOL_DEBUG (make DEBUG=1) checks every pool. */
#ifdef KPOOL_DEBUG
#define LIB_ALWAYS_CHECKS	1
#else
#define LIB_ALWAYS_CHECKS	0
#endif

#define REGION	(4UL << 20)
#define CHUNK	(64UL << 10)

FIXTURE(bufpool) {
	void *region;
	struct kpool_bufpool *bp;
};

FIXTURE_VARIANT(bufpool) {
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(bufpool, plain) { .flags = 0 };
FIXTURE_VARIANT_ADD(bufpool, checked) { .flags = KPOOL_BUFPOOL_CHECK };

FIXTURE_SETUP(bufpool)
{
	struct kpool_bufpool_opts o = { .flags = variant->flags };

	self->region = aligned_alloc(CHUNK, REGION);
	ASSERT_NE(NULL, self->region);
	ASSERT_EQ(0, kpool_bufpool_create(&self->bp, self->region, REGION, &o));
}

FIXTURE_TEARDOWN(bufpool)
{
	kpool_bufpool_destroy(self->bp);
	free(self->region);
}

TEST_F(bufpool, buffer_fits_its_class_and_lies_in_the_region)
{
	static const size_t sizes[] = { 1, 64, 65, 4000, 4096, 65537, 1 << 20 };
	int bad = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *b = kpool_buf_get(self->bp, sizes[i]);
		size_t cls = b ? kpool_buf_size(self->bp, b) : 0;

		if (!b || cls < sizes[i] || (cls & (cls - 1)) ||
		    b < (char *)self->region ||
		    b + cls > (char *)self->region + REGION ||
		    kpool_buf_offset(self->bp, b) != (uint64_t)(b - (char *)self->region))
			bad++;
		else
			memset(b, 0xa5, sizes[i]);
	}
	EXPECT_EQ(0, bad);
}

TEST_F(bufpool, size_out_of_range_gets_null)
{
	EXPECT_EQ(NULL, kpool_buf_get(self->bp, (1 << 20) + 1));
}

TEST_F(bufpool, zero_size_gets_null)
{
	EXPECT_EQ(NULL, kpool_buf_get(self->bp, 0));
}

TEST_F(bufpool, put_buffer_is_reused_as_a_hit)
{
	struct kpool_bufpool_stats st;
	void *a = kpool_buf_get(self->bp, 512), *b;

	ASSERT_EQ(0, kpool_buf_put(self->bp, a));
	b = kpool_buf_get(self->bp, 500);
	kpool_bufpool_stats(self->bp, &st);
	ASSERT_EQ(a, b);
	EXPECT_EQ(1, st.hits);
}

TEST_F(bufpool, counters_add_up_to_the_reuse_ratio)
{
	struct kpool_bufpool_stats st;
	void *bufs[10];
	int i, round;

	for (round = 0; round < 4; round++) {
		for (i = 0; i < 10; i++)
			bufs[i] = kpool_buf_get(self->bp, 1024);
		for (i = 0; i < 10; i++)
			kpool_buf_put(self->bp, bufs[i]);
	}
	kpool_bufpool_stats(self->bp, &st);
	/* 10 carved in round one; 30 reused after; 40 puts. */
	ASSERT_EQ(10, st.misses);
	ASSERT_EQ(30, st.hits);
	ASSERT_EQ(40, st.puts);
	EXPECT_TRUE(st.reuse_ratio > 0.74 && st.reuse_ratio < 0.76);
}

TEST_F(bufpool, used_up_region_gets_null_and_counts_it)
{
	struct kpool_bufpool_stats st;
	unsigned int got = 0;

	while (kpool_buf_get(self->bp, 1 << 20))
		got++;
	kpool_bufpool_stats(self->bp, &st);
	ASSERT_EQ(REGION >> 20, got);
	EXPECT_EQ(1, st.failed);
}

TEST_F(bufpool, pointer_outside_region_is_refused)
{
	char local;

	EXPECT_EQ(-EINVAL, kpool_buf_put(self->bp, &local));
}

TEST_F(bufpool, pointer_inside_a_buffer_is_refused)
{
	char *b = kpool_buf_get(self->bp, 256);

	EXPECT_EQ(-EINVAL, kpool_buf_put(self->bp, b + 64));
}

TEST_F(bufpool, pointer_into_uncarved_region_is_refused)
{
	EXPECT_EQ(-EINVAL,
		  kpool_buf_put(self->bp, (char *)self->region + REGION - CHUNK));
}

TEST_F(bufpool, pointer_into_a_large_buffers_tail_is_refused)
{
	char *b = kpool_buf_get(self->bp, 256 << 10);

	EXPECT_EQ(-EINVAL, kpool_buf_put(self->bp, b + CHUNK));
}

TEST_F(bufpool, refused_put_is_counted)
{
	struct kpool_bufpool_stats st;
	char local;

	kpool_buf_put(self->bp, &local);
	kpool_bufpool_stats(self->bp, &st);
	EXPECT_EQ(1, st.bad_puts);
}

TEST_F(bufpool, double_put_is_detected_when_checking)
{
	void *b = kpool_buf_get(self->bp, 128);

	if (!(variant->flags & KPOOL_BUFPOOL_CHECK) && !LIB_ALWAYS_CHECKS)
		SKIP(return, "needs KPOOL_BUFPOOL_CHECK or make DEBUG=1");
	ASSERT_EQ(0, kpool_buf_put(self->bp, b));
	EXPECT_EQ(-EALREADY, kpool_buf_put(self->bp, b));
}

TEST(bad_options_are_refused)
{
	static char region[1 << 17] __attribute__((aligned(1 << 16)));
	struct kpool_bufpool_opts bad[] = {
		{ .min_size = 32 }, { .min_size = 100 },
		{ .max_size = 3000 }, { .min_size = 4096, .max_size = 1024 },
		{ .flags = 0x80 }, { .cache_size = 100000 },
	};
	struct kpool_bufpool *bp;
	int refused = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused += kpool_bufpool_create(&bp, region, sizeof(region),
						&bad[i]) == -EINVAL;
	EXPECT_EQ(sizeof(bad) / sizeof(bad[0]), refused);
}

TEST(region_smaller_than_a_chunk_is_refused)
{
	static char region[4096];
	struct kpool_bufpool *bp;

	EXPECT_EQ(-EINVAL, kpool_bufpool_create(&bp, region, sizeof(region), NULL));
}

/*
 * Stress: threads get buffers of random classes, claim each in an owner
 * table (a buffer handed out twice at once fails the claim), hand half of
 * them to a neighbour to put back, and put the rest themselves.
 */
#define STRESS_THREADS	8
#define STRESS_ROUNDS	20000
#define STRESS_HELD	16
#define UNIT		64

struct stress {
	struct kpool_bufpool *bp;
	char *region;
	uint32_t *owner;		/* per 64-byte unit: thread + 1, or 0 */
	void *handoff[STRESS_THREADS][STRESS_HELD];
	int bad;
};

struct stress_arg {
	struct stress *s;
	unsigned int id;
};

static uint32_t *owner_of(struct stress *s, void *b)
{
	return &s->owner[((char *)b - s->region) / UNIT];
}

static void *stress_thread(void *p)
{
	struct stress_arg *a = p;
	struct stress *s = a->s;
	unsigned int seed = a->id * 7919 + 1, r, i;
	void *held[STRESS_HELD];

	for (r = 0; r < STRESS_ROUNDS; r++) {
		unsigned int n = 0;

		for (i = 0; i < STRESS_HELD; i++) {
			size_t size = (size_t)64 << (rand_r(&seed) % 8);
			void *b = kpool_buf_get(s->bp, size);
			uint32_t zero = 0;

			if (!b)
				continue;
			if (!__atomic_compare_exchange_n(owner_of(s, b), &zero,
							 a->id + 1, 0,
							 __ATOMIC_ACQ_REL,
							 __ATOMIC_RELAXED))
				__atomic_add_fetch(&s->bad, 1, __ATOMIC_RELAXED);
			memset(b, (int)a->id, size);	/* ASan/TSan see it */
			held[n++] = b;
		}
		for (i = 0; i < n; i++) {
			void *b = held[i];
			void *prev;

			__atomic_store_n(owner_of(s, b), 0, __ATOMIC_RELEASE);
			if (i & 1) {
				/* Swap with the neighbour's slot; put theirs. */
				prev = __atomic_exchange_n(
					&s->handoff[(a->id + 1) % STRESS_THREADS][i],
					b, __ATOMIC_ACQ_REL);
				b = prev;
			}
			if (b && kpool_buf_put(s->bp, b))
				__atomic_add_fetch(&s->bad, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

TEST(many_threads_never_share_a_buffer)
{
	struct kpool_bufpool_opts o = { .flags = KPOOL_BUFPOOL_CHECK,
					.cache_size = 8 };
	struct stress_arg args[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	struct kpool_bufpool_stats st;
	struct stress *s = calloc(1, sizeof(*s));
	struct timespec t0, t1;
	double ns;
	unsigned int i, j;

	ASSERT_NE(NULL, s);
	s->region = aligned_alloc(CHUNK, REGION);
	s->owner = calloc(REGION / UNIT, sizeof(uint32_t));
	ASSERT_EQ(0, kpool_bufpool_create(&s->bp, s->region, REGION, &o));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < STRESS_THREADS; i++) {
		args[i] = (struct stress_arg){ .s = s, .id = i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, stress_thread, &args[i]));
	}
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < STRESS_THREADS; i++)
		for (j = 0; j < STRESS_HELD; j++)
			if (s->handoff[i][j] && kpool_buf_put(s->bp, s->handoff[i][j]))
				s->bad++;
	kpool_bufpool_stats(s->bp, &st);
	TH_LOG("hits %llu misses %llu puts %llu reuse %.3f carved %llu KiB",
	       (unsigned long long)st.hits, (unsigned long long)st.misses,
	       (unsigned long long)st.puts, st.reuse_ratio,
	       (unsigned long long)st.carved_bytes >> 10);
	/* Wall time, with the memsets and the owner table: to compare runs. */
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	     (double)(t1.tv_nsec - t0.tv_nsec);
	TH_LOG("%.1f ns per get or put",
	       ns / (double)(st.hits + st.misses + st.puts));
	kpool_bufpool_destroy(s->bp);
	free(s->owner);
	free(s->region);
	EXPECT_EQ(0, s->bad);
	free(s);
}

/* Take every 1 KiB buffer of a 64 KiB pool, and put them all back. */
static void *take_all_and_put_back(void *arg)
{
	struct kpool_bufpool *bp = arg;
	void *b[64];
	int i;

	for (i = 0; i < 64; i++)
		b[i] = kpool_buf_get(bp, 1024);
	for (i = 0; i < 64; i++)
		kpool_buf_put(bp, b[i]);
	return NULL;
}

TEST(thread_exit_gives_its_cache_back)
{
	struct kpool_bufpool_opts o = { .cache_size = 64 };
	struct kpool_bufpool_stats st;
	struct kpool_bufpool *bp;
	void *region = aligned_alloc(CHUNK, CHUNK);
	pthread_t t;
	int i;

	ASSERT_EQ(0, kpool_bufpool_create(&bp, region, CHUNK, &o));
	/* The thread's cache holds all 64 when it exits... */
	ASSERT_EQ(0, pthread_create(&t, NULL, take_all_and_put_back, bp));
	pthread_join(t, NULL);
	/* ...and its exit hands them on, so this thread can have them all. */
	for (i = 0; i < 64; i++)
		kpool_buf_get(bp, 1024);
	kpool_bufpool_stats(bp, &st);
	kpool_bufpool_destroy(bp);
	free(region);
	EXPECT_EQ(0, st.failed);
}

/*
 * A thread that only puts buffers back, as a completion thread does, and
 * stays alive between batches, so its cache stays alive too.
 */
struct putter {
	struct kpool_bufpool *bp;
	pthread_t thread;
	sem_t go, done;
	void **bufs;			/* the batch to put back */
	unsigned int nr;
	int quit;
};

static void *putter_thread(void *arg)
{
	struct putter *p = arg;
	unsigned int i;

	for (;;) {
		sem_wait(&p->go);
		if (p->quit)
			return NULL;
		for (i = 0; i < p->nr; i++)
			kpool_buf_put(p->bp, p->bufs[i]);
		sem_post(&p->done);
	}
}

static int putter_start(struct putter *p, struct kpool_bufpool *bp)
{
	*p = (struct putter){ .bp = bp };
	sem_init(&p->go, 0, 0);
	sem_init(&p->done, 0, 0);
	return pthread_create(&p->thread, NULL, putter_thread, p);
}

/* Have the putter put @nr buffers back, and wait until it has. */
static void putter_put(struct putter *p, void **bufs, unsigned int nr)
{
	p->bufs = bufs;
	p->nr = nr;
	sem_post(&p->go);
	sem_wait(&p->done);
}

static void putter_stop(struct putter *p)
{
	p->quit = 1;
	sem_post(&p->go);
	pthread_join(p->thread, NULL);
	sem_destroy(&p->go);
	sem_destroy(&p->done);
}

TEST(buffers_put_by_a_live_thread_can_be_got_by_another)
{
	struct kpool_bufpool *bp;
	struct putter p;
	void *region = aligned_alloc(CHUNK, CHUNK), *bufs[64];
	unsigned int got = 0, i;

	ASSERT_EQ(0, kpool_bufpool_create(&bp, region, CHUNK, NULL));
	ASSERT_EQ(0, putter_start(&p, bp));
	/* Every 1 KiB buffer of the region, got here, put there. */
	for (i = 0; i < 64; i++) {
		bufs[i] = kpool_buf_get(bp, 1024);
		ASSERT_NE(NULL, bufs[i]);
	}
	putter_put(&p, bufs, 64);
	/* All 64 are free, up to a cache's worth in the live putter's. */
	for (i = 0; i < 64; i++)
		got += kpool_buf_get(bp, 1024) != NULL;
	putter_stop(&p);
	kpool_bufpool_destroy(bp);
	free(region);
	EXPECT_EQ(64, got);
}

/* A region of eight 1 MiB buffers, in flight between two threads. */
#define BIG		(1UL << 20)
#define BIG_BUFS	8
#define BIG_ROUNDS	50

TEST(eight_1mib_buffers_cycle_through_a_completion_thread)
{
	struct kpool_bufpool *bp;
	struct putter p;
	void *region = aligned_alloc(CHUNK, BIG_BUFS * BIG), *bufs[BIG_BUFS];
	unsigned int failed = 0, round, i, n;

	ASSERT_EQ(0, kpool_bufpool_create(&bp, region, BIG_BUFS * BIG, NULL));
	ASSERT_EQ(0, putter_start(&p, bp));
	for (round = 0; round < BIG_ROUNDS; round++) {
		for (i = n = 0; i < BIG_BUFS; i++) {
			bufs[n] = kpool_buf_get(bp, BIG);
			if (bufs[n])
				n++;
			else
				failed++;
		}
		putter_put(&p, bufs, n);
	}
	putter_stop(&p);
	kpool_bufpool_destroy(bp);
	free(region);
	EXPECT_EQ(0, failed);
}

TEST_HARNESS_MAIN
