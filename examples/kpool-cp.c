// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kpool-cp: copy a file through the pool's arena.
 *
 *   kpool-cp SOURCE DEST        (DEST may be a directory)
 *
 * The file moves in 1 MiB chunks through 8 arena slots: a READ fills a
 * slot, a WRITE empties it, and as soon as a slot is empty the next READ
 * goes in, so reads and writes of different chunks are in flight at once.
 * Each chunk's READ and WRITE are one chain (KPOOL_SQE_LINK): the WRITE
 * starts when the READ has filled the slot, with no round trip through
 * this program (a module without chains gets the WRITE after the READ's
 * CQE instead).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "libkpool.h"

#define CHUNK	(1u << 20)
#define SLOTS	8

enum { TAG_READ = 1, TAG_WRITE = 2 };
#define TAG(kind, chunk)	(((__u64)(kind) << 56) | (chunk))

struct copy {
	struct kpool_ring *ring;
	int in, out;
	__u64 size, nchunks;
	__u64 next_read;		/* next chunk to read */
	__u64 written;			/* chunks fully written */
	unsigned char busy[SLOTS];	/* the slot holds a chunk */
	int chains;			/* the module has KPOOL_FEAT_LINK */
};

static __u32 chunk_len(const struct copy *c, __u64 chunk)
{
	__u64 left = c->size - chunk * CHUNK;

	return left < CHUNK ? (__u32)left : CHUNK;
}

static void queue_write(struct copy *c, __u64 k)
{
	struct kpool_sqe *sqe = kpool_get_sqe(c->ring);

	kpool_prep_write(sqe, c->out, (k % SLOTS) * CHUNK, chunk_len(c, k),
			 k * CHUNK);
	kpool_sqe_set_data(sqe, TAG(TAG_WRITE, k));
}

static void queue_reads(struct copy *c)
{
	struct kpool_sqe *sqe;

	/*
	 * Chunk k lives in slot k % SLOTS: wait until that slot's previous
	 * chunk is written, however the writes completed out of order.
	 */
	while (c->next_read < c->nchunks && !c->busy[c->next_read % SLOTS] &&
	       kpool_sq_space_left(c->ring) >= 2) {
		__u64 k = c->next_read++;

		sqe = kpool_get_sqe(c->ring);
		kpool_prep_read(sqe, c->in, (k % SLOTS) * CHUNK, chunk_len(c, k),
				k * CHUNK);
		kpool_sqe_set_data(sqe, TAG(TAG_READ, k));
		c->busy[k % SLOTS] = 1;
		if (c->chains) {
			/* A short READ breaks the chain: the WRITE is cancelled. */
			kpool_sqe_set_link(sqe);
			queue_write(c, k);
		}
	}
}

/* A READ or WRITE came back: 0, a negative errno, or 1 (short). */
static int handle(struct copy *c, const struct kpool_cqe *cqe)
{
	int kind = cqe->user_data >> 56;
	__u64 k = cqe->user_data & ((1ull << 56) - 1);

	if (cqe->res < 0)
		return cqe->res;
	if ((__u32)cqe->res != chunk_len(c, k))
		return 1;
	if (kind == TAG_WRITE) {
		c->written++;
		c->busy[k % SLOTS] = 0;
		return 0;
	}
	/*
	 * The chunk is in its slot: write it out from there (its chain's
	 * WRITE is on its way already).  The SQ holds two SQEs per slot.
	 */
	if (!c->chains)
		queue_write(c, k);
	return 0;
}

static int copy_data(struct copy *c)
{
	int ret = 0;

	while (!ret && c->written < c->nchunks) {
		struct kpool_cqe *cqe;

		queue_reads(c);
		ret = kpool_submit_and_wait(c->ring, 1);
		if (ret < 0)
			return ret;
		ret = 0;
		while (!ret && !kpool_peek_cqe(c->ring, &cqe)) {
			ret = handle(c, cqe);
			kpool_cqe_seen(c->ring, cqe);
		}
	}
	return ret;
}

static void fail(const char *what, const char *name, int err)
{
	fprintf(stderr, "kpool-cp: %s '%s': %s\n", what, name, strerror(err));
}

int main(int argc, char **argv)
{
	struct kpool_ring_params p = { .arena_size = (__u64)SLOTS * CHUNK };
	struct copy c = { .in = -1, .out = -1 };
	char target[PATH_MAX];
	struct kpool_ring ring;
	struct stat st, dst;
	const char *src, *dest;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: kpool-cp SOURCE DEST\n");
		return 1;
	}
	src = argv[1];
	dest = argv[2];
	if (!stat(dest, &dst) && S_ISDIR(dst.st_mode)) {
		char *copy = strdup(src);

		snprintf(target, sizeof(target), "%s/%s", dest, basename(copy));
		free(copy);
		dest = target;
	}

	c.in = open(src, O_RDONLY | O_CLOEXEC);
	if (c.in < 0 || fstat(c.in, &st)) {
		fail("cannot stat", src, errno);
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kpool-cp: -r not specified; omitting directory '%s'\n", src);
		return 1;
	}
	c.out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		     st.st_mode & 0777);
	if (c.out < 0) {
		fail("cannot create regular file", dest, errno);
		return 1;
	}

	ret = kpool_ring_open(&ring, 2 * SLOTS, &p);
	if (ret) {
		fprintf(stderr, "kpool-cp: cannot set up a kpool pool: %s (is kpool.ko loaded?)\n",
			strerror(-ret));
		return 1;
	}
	c.ring = &ring;
	c.chains = !!(ring.features & KPOOL_FEAT_LINK);
	c.size = st.st_size;
	c.nchunks = (c.size + CHUNK - 1) / CHUNK;
	ret = copy_data(&c);
	kpool_ring_close(&ring);
	if (ret) {
		fail("error copying", src,
		     ret == 1 ? EIO : -ret);	/* 1: the source changed */
		return 1;
	}
	if (close(c.out)) {
		fail("error writing", dest, errno);
		return 1;
	}
	close(c.in);
	return 0;
}
