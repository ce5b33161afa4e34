// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kpool-crc: the pool API in one page.  Prints the CRC32C of each 64 KiB
 * block of a file, computed in the kernel by a pool of workers:
 *
 *   1. a pool (4 tasks at once) with an arena, and a buffer pool over it;
 *   2. READ every block into its own arena buffer, each with a future;
 *   3. as each read lands, CRC32C the buffer, with a callback to print;
 *   4. drain, print the pool's numbers, destroy.
 *
 *   kpool-crc FILE        (its first 64 blocks: 4 MiB)
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include "kpool_pool.h"
#include "kpool_bufpool.h"

#define BLOCK		(64 << 10)
#define MAX_BLOCKS	64

struct block {
	unsigned int nr;
	void *buf;
};

/* Runs on the pool's completion thread when a block's CRC32C is done. */
static void print_crc(void *arg, struct kpool_result r)
{
	struct block *b = arg;

	if (r.res < 0)
		printf("block %2u: error %d\n", b->nr, r.res);
	else
		printf("block %2u: crc32c %08x\n", b->nr, r.aux);
}

int main(int argc, char **argv)
{
	struct kpool_pool_opts opts;
	struct kpool_future *reads[MAX_BLOCKS];
	struct block blocks[MAX_BLOCKS];
	struct kpool_pool_lib_stats lib;
	struct kpool_bufpool_stats bst;
	struct kpool_bufpool *bp;
	struct kpool_pool *pool;
	unsigned int i, n, nr_blocks;
	struct stat st;
	size_t arena_size;
	void *arena;
	int fd, err;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st)) {
		fprintf(stderr, "usage: kpool-crc FILE\n");
		return 2;
	}
	nr_blocks = (unsigned int)((st.st_size + BLOCK - 1) / BLOCK);
	if (nr_blocks > MAX_BLOCKS)
		nr_blocks = MAX_BLOCKS;
	kpool_pool_opts_default(&opts);
	opts.capacity = opts.max_capacity = 4;
	opts.queue_size = 2 * MAX_BLOCKS;
	opts.arena_size = MAX_BLOCKS * BLOCK;
	err = kpool_pool_create(&pool, &opts);
	if (err) {
		fprintf(stderr, "kpool-crc: no pool: error %d (module loaded?)\n", err);
		return 1;
	}
	arena = kpool_pool_arena(pool, &arena_size);
	kpool_bufpool_create(&bp, arena, arena_size, NULL);

	/* 2. One READ per block, straight into an arena buffer. */
	for (n = 0; n < nr_blocks; n++) {
		struct kpool_sqe sqe = { 0 };

		blocks[n] = (struct block){ .nr = n, .buf = kpool_buf_get(bp, BLOCK) };
		kpool_prep_read(&sqe, fd, kpool_buf_offset(bp, blocks[n].buf),
				BLOCK, (uint64_t)n * BLOCK);
		if (kpool_pool_submit_future(pool, &sqe, &reads[n]))
			break;
	}

	/* 3. CRC32C what each READ brought in. */
	for (i = 0; i < n; i++) {
		struct kpool_sqe sqe = { 0 };
		struct kpool_result r;

		kpool_future_wait(reads[i], KPOOL_WAIT_FOREVER, &r);
		kpool_future_release(reads[i]);
		if (r.res > 0) {
			kpool_prep_crc32c(&sqe, kpool_buf_offset(bp, blocks[i].buf),
					  (uint32_t)r.res, 0);
			kpool_pool_submit(pool, &sqe, print_crc, &blocks[i], NULL);
		}
	}

	/* 4. Wait for every callback, then the numbers. */
	kpool_pool_drain(pool, KPOOL_WAIT_FOREVER);
	kpool_pool_stats(pool, NULL, &lib);
	for (i = 0; i < n; i++)
		kpool_buf_put(bp, blocks[i].buf);
	kpool_bufpool_stats(bp, &bst);
	printf("%llu tasks, %llu submitting syscalls; %llu buffers carved\n",
	       (unsigned long long)lib.completed,
	       (unsigned long long)lib.enters, (unsigned long long)bst.misses);
	kpool_bufpool_destroy(bp);
	kpool_pool_destroy(pool);
	close(fd);
	return 0;
}
