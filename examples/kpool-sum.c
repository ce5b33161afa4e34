// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * kpool-sum: SHA-256 (or CRC32C) checksums of files, printed like
 * sha256sum prints them.
 *
 *   kpool-sum [--crc32c] [FILE]...      (no FILE, or -: standard input,
 *                                        if it is a regular file)
 *
 * Each file is read in 1 MiB chunks by READ tasks, up to 8 in flight at
 * once, into slots of the pool's arena.  Each chunk is hashed as soon as
 * it and every chunk before it are in: a hash is a chain (the SHA256
 * context, or the CRC32C seed, carries from one chunk to the next), but
 * the reads run ahead of it in parallel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "libkpool.h"

#define CHUNK		(1u << 20)
#define SLOTS		8
#define CTX_OFF		((__u64)SLOTS * CHUNK)
#define ARENA_SIZE	(CTX_OFF + 4096)

enum { TAG_READ = 1, TAG_HASH = 2 };
#define TAG(kind, chunk)	(((__u64)(kind) << 56) | (chunk))

static int use_crc32c;

struct sum {
	struct kpool_ring *ring;
	int fd;
	__u64 size, nchunks;
	__u64 next_read, next_hash;	/* next chunk to read, to hash */
	int hashing;			/* a hash task is in flight */
	__u64 ready[SLOTS];		/* chunk + 1 whose data is in the slot */
	__u32 crc;
};

static __u32 chunk_len(const struct sum *s, __u64 chunk)
{
	__u64 left = s->size - chunk * CHUNK;

	return left < CHUNK ? (__u32)left : CHUNK;
}

static void queue_tasks(struct sum *s)
{
	struct kpool_sqe *sqe;

	/* Reads ahead, into slots the hash has finished with. */
	while (s->next_read < s->nchunks && s->next_read - s->next_hash < SLOTS &&
	       (sqe = kpool_get_sqe(s->ring))) {
		__u64 c = s->next_read++;

		kpool_prep_read(sqe, s->fd, (c % SLOTS) * CHUNK, chunk_len(s, c),
				c * CHUNK);
		kpool_sqe_set_data(sqe, TAG(TAG_READ, c));
	}
	/* The next link of the hash chain, once its chunk is in (an empty
	 * file is one SHA256 of nothing). */
	if (!s->hashing && (s->next_hash < s->nchunks || !s->nchunks) &&
	    (!s->nchunks || s->ready[s->next_hash % SLOTS] == s->next_hash + 1) &&
	    (sqe = kpool_get_sqe(s->ring))) {
		__u64 c = s->next_hash;
		__u32 len = s->nchunks ? chunk_len(s, c) : 0;
		__u64 off = s->nchunks ? (c % SLOTS) * CHUNK : 0;

		if (use_crc32c) {
			kpool_prep_crc32c(sqe, off, len, s->crc);
		} else {
			__u32 flags = (c == 0 ? KPOOL_SHA256_INIT : 0) |
				(c + 1 >= s->nchunks ? KPOOL_SHA256_FINAL : 0);

			kpool_prep_sha256(sqe, off, len, CTX_OFF, flags);
		}
		kpool_sqe_set_data(sqe, TAG(TAG_HASH, c));
		s->hashing = 1;
	}
}

/* Returns 0, a negative errno, or 1: the file changed while read. */
static int handle(struct sum *s, const struct kpool_cqe *cqe)
{
	int kind = cqe->user_data >> 56;
	__u64 c = cqe->user_data & ((1ull << 56) - 1);

	if (cqe->res < 0)
		return cqe->res;
	if (kind == TAG_READ) {
		if ((__u32)cqe->res != chunk_len(s, c))
			return 1;
		s->ready[c % SLOTS] = c + 1;
		return 0;
	}
	if (use_crc32c)
		s->crc = cqe->aux;
	s->hashing = 0;
	s->next_hash++;
	return 0;
}

static void print_name(const char *name)
{
	for (; *name; name++) {
		if (*name == '\n')
			fputs("\\n", stdout);
		else if (*name == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*name);
	}
}

static int sum_file(struct kpool_ring *ring, const char *name)
{
	struct sum s = { .ring = ring };
	int ret = 0, opened = strcmp(name, "-") != 0;
	struct stat st;
	off_t end;

	s.fd = opened ? open(name, O_RDONLY | O_CLOEXEC) : 0;
	if (s.fd < 0 || fstat(s.fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		ret = 2;	/* kpool reads only files and block devices */
		goto out;
	}
	end = lseek(s.fd, 0, SEEK_END);
	if (end < 0) {
		ret = -errno;
		goto out;
	}
	s.size = end;
	s.nchunks = (s.size + CHUNK - 1) / CHUNK;
	if (!s.nchunks && use_crc32c)
		s.next_hash = 1;	/* the CRC32C of nothing is 0 */

	while (!ret && s.next_hash < (s.nchunks ? s.nchunks : 1)) {
		struct kpool_cqe *cqe;

		queue_tasks(&s);
		ret = kpool_submit_and_wait(ring, 1);
		if (ret < 0)
			break;
		ret = 0;
		while (!ret && !kpool_peek_cqe(ring, &cqe)) {
			ret = handle(&s, cqe);
			kpool_cqe_seen(ring, cqe);
		}
	}
out:
	if (opened && s.fd >= 0)
		close(s.fd);
	if (ret) {
		fprintf(stderr, "kpool-sum: %s: %s\n", name,
			ret == 1 ? "file changed as we read it" :
			ret == 2 ? "not a regular file or block device" :
			strerror(-ret));
		return 1;
	}
	if (strchr(name, '\n') || strchr(name, '\\'))
		putchar('\\');
	if (use_crc32c) {
		printf("%08x", s.crc);
	} else {
		const struct kpool_sha256_ctx *ctx =
			(const void *)((char *)ring->arena + CTX_OFF);

		for (int i = 0; i < 32; i++)
			printf("%02x", ctx->digest[i]);
	}
	printf("  ");
	print_name(name);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	struct kpool_ring_params p = { .arena_size = ARENA_SIZE };
	struct kpool_ring ring;
	int i = 1, status = 0, ret;

	if (i < argc && !strcmp(argv[i], "--crc32c")) {
		use_crc32c = 1;
		i++;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	ret = kpool_ring_open(&ring, 32, &p);
	if (ret) {
		fprintf(stderr, "kpool-sum: cannot set up a kpool pool: %s (is kpool.ko loaded?)\n",
			strerror(-ret));
		return 1;
	}
	if (i == argc)
		status |= sum_file(&ring, "-");
	for (; i < argc; i++) {
		/* A failed file may leave tasks in flight: closing the pool
		 * cancels them; go on with a fresh one. */
		if (sum_file(&ring, argv[i])) {
			status = 1;
			kpool_ring_close(&ring);
			if (kpool_ring_open(&ring, 32, &p))
				return 1;
		}
	}
	kpool_ring_close(&ring);
	return status;
}
