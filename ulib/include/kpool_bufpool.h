/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * libkpool: the buffer pool, in the manner of Go's sync.Pool.  It hands
 * out buffers of a memory region (a pool's data arena, or any memory) in
 * power-of-two size classes, and takes them back, without a syscall and,
 * on the fast path, without a lock: each thread keeps a small cache per
 * class in front of a shared free list per class.
 *
 *	void *arena = kpool_pool_arena(pool, &size);
 *	struct kpool_bufpool *bp;
 *
 *	kpool_bufpool_create(&bp, arena, size, NULL);
 *	void *buf = kpool_buf_get(bp, 4096);
 *	kpool_prep_read(&sqe, fd, kpool_buf_offset(bp, buf), 4096, pos);
 *	...
 *	kpool_buf_put(bp, buf);
 *
 * A buffer's contents are not cleared between uses.  Every call is
 * thread-safe; a buffer may be put back by another thread than the one
 * that got it, a thread that only puts (a completion thread) included: a
 * get that finds its own cache and the free list empty takes buffers from
 * other threads' caches before it carves new ones.
 *
 * Sizing the region: no cache keeps a buffer out of reach, so a get fails
 * only when every buffer carved for its class is out and no 64 KiB chunk
 * is left to carve.  A chunk stays with the class that carved it, so the
 * region must hold, for each class, the most buffers of it out at once,
 * rounded up to whole chunks; the caches need nothing on top.
 */
#ifndef KPOOL_BUFPOOL_H
#define KPOOL_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kpool_bufpool;

/*
 * Check every put: a buffer put twice fails with -EALREADY.  Always on
 * when the library is built with -DKPOOL_DEBUG (make DEBUG=1).  Costs one
 * bit per min_size bytes of the region and an atomic per get and put.
 */
#define KPOOL_BUFPOOL_CHECK	0x00000001U

struct kpool_bufpool_opts {
	size_t min_size;	/* smallest class: power of two >= 64; 0: 64 */
	size_t max_size;	/* largest class: power of two; 0: 1 MiB */
	unsigned int cache_size; /* buffers per class per thread; 0: 32 */
	unsigned int flags;	/* KPOOL_BUFPOOL_* */
};

/*
 * A buffer pool over @size bytes at @base (64 KiB aligned is best: the
 * region is carved in 64 KiB chunks, and a partial chunk at the end is
 * not used).  @opts may be NULL.  Errors: EINVAL (@size below 64 KiB,
 * cache_size above 4096, sizes not powers of two or more than 32
 * classes, unknown flags), ENOMEM, EAGAIN (no more thread-local keys).
 */
int kpool_bufpool_create(struct kpool_bufpool **bpp, void *base, size_t size,
			 const struct kpool_bufpool_opts *opts);

/*
 * Free the pool's own memory (not the region).  No thread may use @bp
 * once this starts; buffers still out are simply forgotten.
 */
void kpool_bufpool_destroy(struct kpool_bufpool *bp);

/*
 * A buffer of at least @size bytes (1 .. max_size), aligned to its class
 * size up to 64 KiB; NULL if @size is out of range or the region is used
 * up.  A reused buffer is a hit, a freshly carved one a miss.
 */
void *kpool_buf_get(struct kpool_bufpool *bp, size_t size);

/*
 * Give @buf back.  Errors: EINVAL (@buf is not a buffer of this pool:
 * outside the region, or not the start of a buffer), EALREADY (already
 * put back; detected with KPOOL_BUFPOOL_CHECK or a debug build), ENOMEM
 * (no memory to keep it: the buffer is lost to the pool).
 */
int kpool_buf_put(struct kpool_bufpool *bp, void *buf);

/* The size of @buf's class (what it may hold), or 0 if it is foreign. */
size_t kpool_buf_size(const struct kpool_bufpool *bp, const void *buf);

/* The region's start, as given to kpool_bufpool_create(). */
void *kpool_bufpool_base(const struct kpool_bufpool *bp);

/* @buf's offset in the region: the arena offset the data ops take. */
static inline uint64_t kpool_buf_offset(const struct kpool_bufpool *bp,
					const void *buf)
{
	return (uint64_t)((const char *)buf -
			  (const char *)kpool_bufpool_base(bp));
}

struct kpool_bufpool_stats {
	uint64_t hits;		/* gets served by a reused buffer */
	uint64_t misses;	/* gets that carved a new one, or failed */
	uint64_t failed;	/* ... of which failed: region used up */
	uint64_t puts;		/* buffers put back */
	uint64_t bad_puts;	/* puts refused: EINVAL or EALREADY */
	uint64_t carved_bytes;	/* region handed to classes so far */
	double reuse_ratio;	/* hits / (hits + misses), 0 if none */
};

/* The counters, summed over every thread that used the pool. */
void kpool_bufpool_stats(struct kpool_bufpool *bp,
			 struct kpool_bufpool_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* KPOOL_BUFPOOL_H */
