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
 * Per class: a thread's cache (an array only its thread touches) in front
 * of a shared free list (an array under the class's mutex).  A get takes
 * from the cache; an empty cache takes half a cache's worth from the free
 * list, or carves one new buffer; a full cache gives half back.  So the
 * lock is taken once per cache_size / 2 buffers at most, and a thread
 * that gets and puts in balance never takes it.
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

struct kb_class_cache {
	unsigned int n;
	void **bufs;			/* cache_size slots */
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
	int check;
	uint8_t *chunk_class;		/* class + 1, KB_TAIL | class, or 0 */
	uint64_t *out;			/* CHECK: a bit per min_size unit */
	pthread_key_t key;
	pthread_mutex_t lock;		/* chunks and the caches list */
	struct kb_cache *caches;
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

	slots = calloc((size_t)bp->nr_classes * bp->cache_size,
		       sizeof(void *));
	if (!cache || !slots) {
		free(cache);
		free(slots);
		return NULL;
	}
	cache->bp = bp;
	for (c = 0; c < bp->nr_classes; c++)
		cache->cls[c].bufs = slots + (size_t)c * bp->cache_size;
	pthread_mutex_lock(&bp->lock);
	cache->next = bp->caches;
	bp->caches = cache;
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

/* Refill an empty cache from the free list, or carve: 1 if a hit. */
static int kb_refill(struct kpool_bufpool *bp, struct kb_cache *cache,
		     unsigned int c)
{
	struct kb_class_cache *cc = &cache->cls[c];
	struct kb_class *k = &bp->cls[c];
	unsigned int want = bp->cache_size / 2 ? bp->cache_size / 2 : 1;
	void *buf;

	pthread_mutex_lock(&k->lock);
	while (cc->n < want && k->nr_free)
		cc->bufs[cc->n++] = k->free[--k->nr_free];
	if (cc->n) {
		pthread_mutex_unlock(&k->lock);
		return 1;
	}
	buf = kb_carve(bp, c);
	pthread_mutex_unlock(&k->lock);
	if (buf)
		cc->bufs[cc->n++] = buf;
	return 0;
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
	struct kb_class_cache *cc;
	void *buf;

	if (c < 0)
		return NULL;
	cache = kb_cache(bp);
	if (!cache)
		return NULL;
	cc = &cache->cls[c];
	if (cc->n || kb_refill(bp, cache, (unsigned int)c)) {
		kb_inc(&cache->c.hits);
	} else {
		kb_inc(&cache->c.misses);
		if (!cc->n) {
			kb_inc(&cache->c.failed);
			return NULL;
		}
	}
	buf = cc->bufs[--cc->n];
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

static void kb_give_back(struct kpool_bufpool *bp, struct kb_class_cache *cc,
			 unsigned int c, unsigned int keep)
{
	struct kb_class *k = &bp->cls[c];

	if (cc->n <= keep)
		return;
	pthread_mutex_lock(&k->lock);
	if (k->nr_free + cc->n > k->cap_free) {
		size_t cap = k->cap_free ? 2 * k->cap_free : 256;
		void **f;

		while (cap < k->nr_free + cc->n)
			cap *= 2;
		f = realloc(k->free, cap * sizeof(*f));
		if (!f) {
			/* Keep them in the cache: a full cache is no error. */
			pthread_mutex_unlock(&k->lock);
			return;
		}
		k->free = f;
		k->cap_free = cap;
	}
	while (cc->n > keep)
		k->free[k->nr_free++] = cc->bufs[--cc->n];
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
		struct kb_class_cache one = { .n = 1, .bufs = &buf };

		kb_give_back(bp, &one, (unsigned int)c, 0);
		pthread_mutex_lock(&bp->lock);
		bp->orphan.puts++;
		pthread_mutex_unlock(&bp->lock);
		return 0;
	}
	cc = &cache->cls[c];
	if (cc->n == bp->cache_size)
		kb_give_back(bp, cc, (unsigned int)c, bp->cache_size / 2);
	if (cc->n == bp->cache_size)
		return -ENOMEM;	/* kept by no one: the free list cannot grow */
	cc->bufs[cc->n++] = buf;
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
