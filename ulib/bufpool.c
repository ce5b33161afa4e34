// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libkpool buffer pool: size classes over one region, per-thread caches.
 *
 * The region is cut into 64 KiB chunks as classes need them; a chunk
 * holds buffers of one class (a class above 64 KiB takes whole runs of
 * chunks, one buffer each), and chunk_class[] says which, so a put finds
 * its class from the pointer alone and refuses pointers that are not the
 * start of a carved buffer.
 *
 * Per class: a thread's cache in front of a shared free list (an array
 * under the class's mutex).  A get takes from the cache; an empty cache
 * takes half a cache's worth from the free list, else up to as many from
 * another thread's cache, else carves one new buffer; a full cache gives
 * half back.  So the lock is taken once per cache_size / 2 buffers at
 * most, and a thread that gets and puts in balance never takes it.
 *
 * Taking from other threads' caches is what lets a buffer be put back on
 * any thread: a thread that only puts (a completion thread) fills its
 * cache and never empties it, and if no other thread could reach it, up
 * to cache_size buffers per class would sit there for the thread's life
 * while gets failed.  So a cache is a work-stealing deque (Chase and Lev;
 * the memory orders of Le et al., PPoPP 2013): its thread pushes and pops
 * at the bottom without a lock, at the cost of one atomic exchange per
 * pop, and a thief takes from the top with a compare-and-swap, losing
 * only a race for the last buffer to the thread popping it.  Thieves hold
 * the class's mutex, as does every move between a cache and the free
 * list, so a thief never misses a buffer that is on its way between them.
 *
 * Counters live in the thread's cache, written only by that thread
 * (relaxed atomics, so a reader may sum them any time).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "kpool_bufpool.h"

#define KB_CHUNK_SHIFT	16
#define KB_CHUNK	(1UL << KB_CHUNK_SHIFT)
#define KB_MAX_CLASSES	32
#define KB_UNUSED	0x00		/* chunk_class[]: not carved */
#define KB_TAIL		0x80		/* ... a later chunk of a large buffer */

/*
 * One class of a thread's cache: buffers at [top, bottom) of a ring.  Only
 * the thread moves bottom; thieves move top.  Signed, so that bottom - 1
 * of an empty deque compares below top.
 */
struct kb_class_cache {
	int64_t top;
	int64_t bottom;
	void **bufs;			/* ring_mask + 1 slots */
};

struct kb_counters {
	uint64_t hits, misses, failed, puts, bad_puts;
};

struct kb_cache {
	struct kb_cache *next;		/* in bp->caches */
	struct kpool_bufpool *bp;
	struct kb_counters c;
	struct kb_class_cache cls[KB_MAX_CLASSES];
};

struct kb_class {
	pthread_mutex_t lock;
	void **free;			/* the shared free list */
	size_t nr_free, cap_free;
	char *carve, *carve_end;	/* the chunk being carved */
};

struct kpool_bufpool {
	char *base;
	size_t nr_chunks;
	size_t next_chunk;		/* under lock */
	unsigned int min_shift, nr_classes, cache_size;
	unsigned int ring_mask;		/* cache_size rounded up to 2^n, - 1 */
	int check;
	uint8_t *chunk_class;		/* class + 1, KB_TAIL | class, or 0 */
	uint64_t *out;			/* CHECK: a bit per min_size unit */
	pthread_key_t key;
	pthread_mutex_t lock;		/* chunks and adding to the caches */
	struct kb_cache *caches;	/* thieves walk it without the lock */
	struct kb_counters orphan;	/* bad puts seen before a cache */
	struct kb_class cls[KB_MAX_CLASSES];
};

#define kb_inc(p)	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, \
					 __ATOMIC_RELAXED)

static size_t kb_class_size(const struct kpool_bufpool *bp, unsigned int c)
{
	return (size_t)1 << (bp->min_shift + c);
}

static int kb_class_of_size(const struct kpool_bufpool *bp, size_t size)
{
	unsigned int c;

	for (c = 0; c < bp->nr_classes; c++)
		if (size <= kb_class_size(bp, c))
			return (int)c;
	return -1;
}

/* Give back what a thread's cache holds, and leave its counters be. */
static void kb_flush(struct kpool_bufpool *bp, struct kb_cache *cache,
		     unsigned int keep);

static void kb_thread_exit(void *arg)
{
	struct kb_cache *cache = arg;

	kb_flush(cache->bp, cache, 0);
}

static struct kb_cache *kb_cache_new(struct kpool_bufpool *bp)
{
	struct kb_cache *cache = calloc(1, sizeof(*cache));
	void **slots;
	unsigned int c;

	slots = calloc((size_t)bp->nr_classes * (bp->ring_mask + 1),
		       sizeof(void *));
	if (!cache || !slots) {
		free(cache);
		free(slots);
		return NULL;
	}
	cache->bp = bp;
	for (c = 0; c < bp->nr_classes; c++)
		cache->cls[c].bufs = slots + (size_t)c * (bp->ring_mask + 1);
	pthread_mutex_lock(&bp->lock);
	cache->next = bp->caches;
	/* A thief that finds the cache finds it whole.  Never unlinked. */
	__atomic_store_n(&bp->caches, cache, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&bp->lock);
	pthread_setspecific(bp->key, cache);
	return cache;
}

static struct kb_cache *kb_cache(struct kpool_bufpool *bp)
{
	struct kb_cache *cache = pthread_getspecific(bp->key);

	return cache ? cache : kb_cache_new(bp);
}

/* Carve one new buffer of class @c; under the class lock. */
static void *kb_carve(struct kpool_bufpool *bp, unsigned int c)
{
	struct kb_class *k = &bp->cls[c];
	size_t size = kb_class_size(bp, c), units, i;
	void *buf;

	if (k->carve + size > k->carve_end || !k->carve) {
		units = size > KB_CHUNK ? size >> KB_CHUNK_SHIFT : 1;
		pthread_mutex_lock(&bp->lock);
		if (bp->next_chunk + units > bp->nr_chunks) {
			pthread_mutex_unlock(&bp->lock);
			return NULL;
		}
		i = bp->next_chunk;
		bp->next_chunk += units;
		/* Readers of chunk_class[] only see carved buffers' chunks. */
		__atomic_store_n(&bp->chunk_class[i], (uint8_t)(c + 1),
				 __ATOMIC_RELEASE);
		while (--units)
			__atomic_store_n(&bp->chunk_class[i + units],
					 (uint8_t)(KB_TAIL | c),
					 __ATOMIC_RELEASE);
		pthread_mutex_unlock(&bp->lock);
		k->carve = bp->base + (i << KB_CHUNK_SHIFT);
		k->carve_end = k->carve + (size > KB_CHUNK ? size : KB_CHUNK);
	}
	buf = k->carve;
	k->carve += size;
	return buf;
}

/* How many buffers @cc holds; exact only to its own thread. */
static int64_t kb_count(const struct kb_class_cache *cc)
{
	return __atomic_load_n(&cc->bottom, __ATOMIC_RELAXED) -
	       __atomic_load_n(&cc->top, __ATOMIC_ACQUIRE);
}

/* The cache's own thread: add @buf at the bottom; the caller made room. */
static void kb_push(const struct kpool_bufpool *bp, struct kb_class_cache *cc,
		    void *buf)
{
	int64_t b = __atomic_load_n(&cc->bottom, __ATOMIC_RELAXED);

	__atomic_store_n(&cc->bufs[b & bp->ring_mask], buf, __ATOMIC_RELAXED);
	/* A thief that sees the new bottom sees the slot and the buffer. */
	__atomic_store_n(&cc->bottom, b + 1, __ATOMIC_RELEASE);
}

/* The cache's own thread: take the newest buffer, or NULL if none. */
static void *kb_pop(const struct kpool_bufpool *bp, struct kb_class_cache *cc)
{
	int64_t b = __atomic_load_n(&cc->bottom, __ATOMIC_RELAXED) - 1;
	int64_t t;
	void *buf;

	/*
	 * Claim slot b, then read top; kb_steal_one() reads top, then
	 * bottom, all seq_cst.  So a thief that missed this store read top
	 * before this load did: it aims at or below the t seen here, and
	 * can only win slot b if t == b, where the compare-and-swap on top
	 * below settles who has it.
	 */
	__atomic_store_n(&cc->bottom, b, __ATOMIC_SEQ_CST);
	t = __atomic_load_n(&cc->top, __ATOMIC_SEQ_CST);
	if (t > b) {
		__atomic_store_n(&cc->bottom, b + 1, __ATOMIC_RELEASE);
		return NULL;
	}
	buf = __atomic_load_n(&cc->bufs[b & bp->ring_mask], __ATOMIC_RELAXED);
	if (t == b) {
		if (!__atomic_compare_exchange_n(&cc->top, &t, t + 1, 0,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_RELAXED))
			buf = NULL;
		__atomic_store_n(&cc->bottom, b + 1, __ATOMIC_RELEASE);
	}
	return buf;
}

/*
 * A thief, under the class lock: take the oldest buffer of another
 * thread's @cc, or NULL if none.  A failed compare-and-swap means the
 * owner took the last one, so the next round finds the deque empty.
 */
static void *kb_steal_one(const struct kpool_bufpool *bp,
			  struct kb_class_cache *cc)
{
	int64_t t, b;
	void *buf;

	do {
		t = __atomic_load_n(&cc->top, __ATOMIC_SEQ_CST);
		b = __atomic_load_n(&cc->bottom, __ATOMIC_SEQ_CST);
		if (t >= b)
			return NULL;
		/* The owner cannot reuse this slot while top is still t. */
		buf = __atomic_load_n(&cc->bufs[t & bp->ring_mask],
				      __ATOMIC_RELAXED);
	} while (!__atomic_compare_exchange_n(&cc->top, &t, t + 1, 0,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return buf;
}

/*
 * Under the class lock: up to @want buffers of class @c from the first
 * other thread's cache that has any, half of what it holds (rounded up)
 * so that a thread that gets too keeps some.  The first is returned, the
 * rest go to @thief's cache, which is empty.
 */
static void *kb_steal(struct kpool_bufpool *bp, struct kb_cache *thief,
		      unsigned int c, unsigned int want)
{
	struct kb_cache *victim;
	void *first = NULL, *buf;
	int64_t take;

	for (victim = __atomic_load_n(&bp->caches, __ATOMIC_ACQUIRE);
	     victim && !first; victim = victim->next) {
		if (victim == thief)
			continue;
		take = (kb_count(&victim->cls[c]) + 1) / 2;
		if (take > want)
			take = want;
		for (; take > 0; take--) {
			buf = kb_steal_one(bp, &victim->cls[c]);
			if (!buf)
				break;
			if (first)
				kb_push(bp, &thief->cls[c], buf);
			else
				first = buf;
		}
	}
	return first;
}

/*
 * A get that found its cache empty: a buffer from the free list, else
 * from another thread's cache, else a new one (*@reused 0); NULL if the
 * region is used up.  Up to half a cache more goes into the cache.
 */
static void *kb_refill(struct kpool_bufpool *bp, struct kb_cache *cache,
		       unsigned int c, int *reused)
{
	struct kb_class_cache *cc = &cache->cls[c];
	struct kb_class *k = &bp->cls[c];
	unsigned int want = bp->cache_size / 2 ? bp->cache_size / 2 : 1;
	void *buf;

	*reused = 1;
	pthread_mutex_lock(&k->lock);
	if (k->nr_free) {
		buf = k->free[--k->nr_free];
		while (--want && k->nr_free)
			kb_push(bp, cc, k->free[--k->nr_free]);
	} else {
		/* Before carving: a chunk, once carved, is this class's. */
		buf = kb_steal(bp, cache, c, want);
		if (!buf) {
			*reused = 0;
			buf = kb_carve(bp, c);
		}
	}
	pthread_mutex_unlock(&k->lock);
	return buf;
}

/* The CHECK bit of @buf: set it (@out 1) or clear it; the old value. */
static int kb_mark(struct kpool_bufpool *bp, const void *buf, int out)
{
	size_t unit = (size_t)((const char *)buf - bp->base) >> bp->min_shift;
	uint64_t bit = 1ULL << (unit % 64), old;

	if (out)
		old = __atomic_fetch_or(&bp->out[unit / 64], bit,
					__ATOMIC_RELAXED);
	else
		old = __atomic_fetch_and(&bp->out[unit / 64], ~bit,
					 __ATOMIC_RELAXED);
	return !!(old & bit);
}

void *kpool_buf_get(struct kpool_bufpool *bp, size_t size)
{
	int c = size ? kb_class_of_size(bp, size) : -1;
	struct kb_cache *cache;
	int reused = 1;
	void *buf;

	if (c < 0)
		return NULL;
	cache = kb_cache(bp);
	if (!cache)
		return NULL;
	buf = kb_pop(bp, &cache->cls[c]);
	if (!buf)
		buf = kb_refill(bp, cache, (unsigned int)c, &reused);
	if (reused) {
		kb_inc(&cache->c.hits);
	} else {
		kb_inc(&cache->c.misses);
		if (!buf) {
			kb_inc(&cache->c.failed);
			return NULL;
		}
	}
	if (bp->check)
		kb_mark(bp, buf, 1);
	return buf;
}

/* @buf's class, or -1 if it is not the start of a carved buffer. */
static int kb_class_of_buf(const struct kpool_bufpool *bp, const void *buf)
{
	const char *p = buf;
	size_t off, chunk;
	uint8_t tag;
	unsigned int c;

	if (p < bp->base || p >= bp->base + (bp->nr_chunks << KB_CHUNK_SHIFT))
		return -1;
	off = (size_t)(p - bp->base);
	chunk = off >> KB_CHUNK_SHIFT;
	tag = __atomic_load_n(&bp->chunk_class[chunk], __ATOMIC_ACQUIRE);
	if (tag == KB_UNUSED || (tag & KB_TAIL))
		return -1;
	c = tag - 1U;
	/* Small buffers sit at multiples of their size; large, at a chunk. */
	if (off & ((kb_class_size(bp, c) < KB_CHUNK ? kb_class_size(bp, c) :
						     KB_CHUNK) - 1))
		return -1;
	return (int)c;
}

size_t kpool_buf_size(const struct kpool_bufpool *bp, const void *buf)
{
	int c = kb_class_of_buf(bp, buf);

	return c < 0 ? 0 : kb_class_size(bp, (unsigned int)c);
}

/* Under the class lock: room for @more on the free list, or -ENOMEM. */
static int kb_free_reserve(struct kb_class *k, size_t more)
{
	size_t cap = k->cap_free ? k->cap_free : 256;
	void **f;

	if (k->nr_free + more <= k->cap_free)
		return 0;
	while (cap < k->nr_free + more)
		cap *= 2;
	f = realloc(k->free, cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	k->free = f;
	k->cap_free = cap;
	return 0;
}

/* The cache's own thread: move all but @keep of @cc to the free list. */
static void kb_give_back(struct kpool_bufpool *bp, struct kb_class_cache *cc,
			 unsigned int c, unsigned int keep)
{
	struct kb_class *k = &bp->cls[c];
	int64_t n = kb_count(cc);
	void *buf;

	if (n <= keep)
		return;
	pthread_mutex_lock(&k->lock);
	/* A thief may have come first; now none can, so @n holds still. */
	n = kb_count(cc);
	/* If the list cannot grow, keep them: a full cache is no error. */
	if (n > keep && !kb_free_reserve(k, (size_t)(n - keep)))
		for (; n > keep && (buf = kb_pop(bp, cc)); n--)
			k->free[k->nr_free++] = buf;
	pthread_mutex_unlock(&k->lock);
}

static void kb_flush(struct kpool_bufpool *bp, struct kb_cache *cache,
		     unsigned int keep)
{
	unsigned int c;

	for (c = 0; c < bp->nr_classes; c++)
		kb_give_back(bp, &cache->cls[c], c, keep);
}

int kpool_buf_put(struct kpool_bufpool *bp, void *buf)
{
	int c = kb_class_of_buf(bp, buf);
	struct kb_cache *cache = kb_cache(bp);
	struct kb_counters *cnt = cache ? &cache->c : NULL;
	struct kb_class_cache *cc;

	if (c < 0 || (bp->check && !kb_mark(bp, buf, 0))) {
		if (cnt) {
			kb_inc(&cnt->bad_puts);
		} else {
			pthread_mutex_lock(&bp->lock);
			bp->orphan.bad_puts++;
			pthread_mutex_unlock(&bp->lock);
		}
		return c < 0 ? -EINVAL : -EALREADY;
	}
	if (!cache) {
		/* No memory for a cache: straight to the free list. */
		struct kb_class *k = &bp->cls[c];
		int err;

		pthread_mutex_lock(&k->lock);
		err = kb_free_reserve(k, 1);
		if (!err)
			k->free[k->nr_free++] = buf;
		pthread_mutex_unlock(&k->lock);
		if (err)
			return err;	/* kept by no one, as below */
		pthread_mutex_lock(&bp->lock);
		bp->orphan.puts++;
		pthread_mutex_unlock(&bp->lock);
		return 0;
	}
	cc = &cache->cls[c];
	if (kb_count(cc) >= bp->cache_size)
		kb_give_back(bp, cc, (unsigned int)c, bp->cache_size / 2);
	if (kb_count(cc) >= bp->cache_size)
		return -ENOMEM;	/* kept by no one: the free list cannot grow */
	kb_push(bp, cc, buf);
	kb_inc(&cnt->puts);
	return 0;
}

void kpool_bufpool_stats(struct kpool_bufpool *bp,
			 struct kpool_bufpool_stats *st)
{
	struct kb_cache *cache;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&bp->lock);
	st->puts = bp->orphan.puts;
	st->bad_puts = bp->orphan.bad_puts;
	for (cache = bp->caches; cache; cache = cache->next) {
		st->hits += __atomic_load_n(&cache->c.hits, __ATOMIC_RELAXED);
		st->misses += __atomic_load_n(&cache->c.misses, __ATOMIC_RELAXED);
		st->failed += __atomic_load_n(&cache->c.failed, __ATOMIC_RELAXED);
		st->puts += __atomic_load_n(&cache->c.puts, __ATOMIC_RELAXED);
		st->bad_puts += __atomic_load_n(&cache->c.bad_puts,
						__ATOMIC_RELAXED);
	}
	st->carved_bytes = (uint64_t)bp->next_chunk << KB_CHUNK_SHIFT;
	pthread_mutex_unlock(&bp->lock);
	if (st->hits + st->misses)
		st->reuse_ratio = (double)st->hits / (double)(st->hits + st->misses);
}

void *kpool_bufpool_base(const struct kpool_bufpool *bp)
{
	return bp->base;
}

static int kb_is_pow2(size_t v)
{
	return v && !(v & (v - 1));
}

int kpool_bufpool_create(struct kpool_bufpool **bpp, void *base, size_t size,
			 const struct kpool_bufpool_opts *opts)
{
	size_t min = opts && opts->min_size ? opts->min_size : 64;
	size_t max = opts && opts->max_size ? opts->max_size : 1UL << 20;
	unsigned int flags = opts ? opts->flags : 0;
	struct kpool_bufpool *bp;
	unsigned int c;
	int err;

	if (!base || !kb_is_pow2(min) || !kb_is_pow2(max) || min < 64 ||
	    max < min || flags & ~KPOOL_BUFPOOL_CHECK)
		return -EINVAL;
	bp = calloc(1, sizeof(*bp));
	if (!bp)
		return -ENOMEM;
	bp->base = base;
	bp->nr_chunks = size >> KB_CHUNK_SHIFT;
	while (((size_t)1 << bp->min_shift) < min)
		bp->min_shift++;
	bp->nr_classes = 1;
	while (kb_class_size(bp, bp->nr_classes - 1) < max)
		bp->nr_classes++;
	bp->cache_size = opts && opts->cache_size ? opts->cache_size : 32;
#ifdef KPOOL_DEBUG
	flags |= KPOOL_BUFPOOL_CHECK;
#endif
	bp->check = !!(flags & KPOOL_BUFPOOL_CHECK);
	err = -EINVAL;
	if (bp->nr_classes > KB_MAX_CLASSES || !bp->nr_chunks ||
	    bp->cache_size > 4096)
		goto fail;
	while (bp->ring_mask + 1 < bp->cache_size)
		bp->ring_mask = 2 * bp->ring_mask + 1;
	err = -ENOMEM;
	bp->chunk_class = calloc(bp->nr_chunks, 1);
	if (!bp->chunk_class)
		goto fail;
	if (bp->check) {
		size_t units = (bp->nr_chunks << KB_CHUNK_SHIFT) >> bp->min_shift;

		bp->out = calloc((units + 63) / 64, sizeof(uint64_t));
		if (!bp->out)
			goto fail;
	}
	err = -pthread_key_create(&bp->key, kb_thread_exit);
	if (err)
		goto fail;
	pthread_mutex_init(&bp->lock, NULL);
	for (c = 0; c < bp->nr_classes; c++)
		pthread_mutex_init(&bp->cls[c].lock, NULL);
	*bpp = bp;
	return 0;
fail:
	free(bp->chunk_class);
	free(bp->out);
	free(bp);
	return err;
}

void kpool_bufpool_destroy(struct kpool_bufpool *bp)
{
	struct kb_cache *cache, *next;
	unsigned int c;

	if (!bp)
		return;
	pthread_key_delete(bp->key);
	for (cache = bp->caches; cache; cache = next) {
		next = cache->next;
		free(cache->cls[0].bufs);
		free(cache);
	}
	for (c = 0; c < bp->nr_classes; c++) {
		pthread_mutex_destroy(&bp->cls[c].lock);
		free(bp->cls[c].free);
	}
	pthread_mutex_destroy(&bp->lock);
	free(bp->chunk_class);
	free(bp->out);
	free(bp);
}
