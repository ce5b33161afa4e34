/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One sample SQE per op, which the module accepts: the fields it reads
 * (as the module's op table says), and values that work in a pool with a
 * KP_SAMPLE_ARENA-byte arena and a file of KP_SAMPLE_FILE bytes.  Used
 * by fields_test (each field the op does not read, set on the sample, is
 * refused) and fail_nth_test (one task of each op under injected
 * failures).  Adding an op: one row here, or the build fails.
 */
#ifndef KPOOL_OP_SAMPLES_H
#define KPOOL_OP_SAMPLES_H

#include <string.h>
#include <linux/kpool.h>

#define KP_SAMPLE_ARENA		(64 * 1024)
#define KP_SAMPLE_FILE		(64 * 1024)

/* The SQE fields an op reads. */
enum { KP_FD = 1, KP_OFF = 2, KP_ADDR = 4, KP_LEN = 8 };

struct kp_op_sample {
	unsigned int uses;		/* KP_FD ... */
	__u32 op_flags;			/* the sample's: all the op knows */
	__u32 unknown_op_flag;		/* a bit the op does not know */
	__u64 off, addr;
	__u32 len;
};

static const struct kp_op_sample kp_op_samples[] = {
	[KPOOL_OP_NOP]		= { 0, .unknown_op_flag = 1 },
	[KPOOL_OP_TIMEOUT]	= { KP_OFF, .unknown_op_flag = 1, .off = 1000 },
	[KPOOL_OP_CANCEL]	= { KP_ADDR, .unknown_op_flag = 2,
				    .addr = 12345 },	/* finds nothing */
	[KPOOL_OP_BURN]		= { KP_OFF, .unknown_op_flag = 2, .off = 1000 },
	[KPOOL_OP_READ]		= { KP_FD | KP_OFF | KP_ADDR | KP_LEN,
				    .unknown_op_flag = 1, .len = 8192 },
	[KPOOL_OP_WRITE]	= { KP_FD | KP_OFF | KP_ADDR | KP_LEN,
				    .unknown_op_flag = 1, .len = 8192 },
	[KPOOL_OP_FSYNC]	= { KP_FD, .unknown_op_flag = 2 },
	[KPOOL_OP_COPY]		= { KP_OFF | KP_ADDR | KP_LEN,
				    .unknown_op_flag = 1, .off = 4096,
				    .len = 4096 },
	[KPOOL_OP_CRC32C]	= { KP_OFF | KP_ADDR | KP_LEN,
				    .unknown_op_flag = 1, .len = 8192 },
	[KPOOL_OP_SHA256]	= { KP_OFF | KP_ADDR | KP_LEN,
				    .op_flags = KPOOL_SHA256_INIT |
						KPOOL_SHA256_FINAL,
				    .unknown_op_flag = 4, .off = 32768,
				    .len = 8192 },
	/* A function at "address" 1: it only has to be there to be taken. */
	[KPOOL_OP_CALL]		= { KP_OFF | KP_ADDR, .unknown_op_flag = 1,
				    .addr = 1 },
};

_Static_assert(sizeof(kp_op_samples) / sizeof(kp_op_samples[0]) ==
	       KPOOL_OP_LAST, "every op needs a sample row");

/* Fill @sqe with @op's sample; @fd is the file for the ops that read one. */
static inline void kp_prep_sample(struct kpool_sqe *sqe, unsigned int op,
				  int fd)
{
	const struct kp_op_sample *s = &kp_op_samples[op];

	memset(sqe, 0, sizeof(*sqe));
	sqe->op = op;
	sqe->fd = s->uses & KP_FD ? fd : 0;
	sqe->off = s->off;
	sqe->addr = s->addr;
	sqe->len = s->len;
	sqe->op_flags = s->op_flags;
}

#endif /* KPOOL_OP_SAMPLES_H */
