/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kpool: a kernel-backed task pool.
 *
 * Each open() of /dev/kpool is one pool.  KPOOL_IOC_SETUP sizes its rings
 * and reports where to mmap them; the program writes task descriptors
 * (SQEs) into the submission ring, KPOOL_IOC_ENTER submits them (and can
 * wait), the module runs each task on a workqueue worker and writes one
 * completion (CQE) per task into the completion ring.
 *
 * Conventions of every ioctl argument struct:
 *  - the first field is __u32 size: the size of the struct as the caller
 *    knows it.  A smaller size than the first version's fails with EINVAL;
 *    a larger one is accepted only if every byte the module does not know
 *    is zero (else E2BIG).  Replies are written up to min(size, known).
 *  - unknown flags and nonzero reserved ("resv") fields fail with EINVAL.
 *  - fields marked "out" are written by the module and ignored on input.
 *
 * Ring protocol (both rings): indices are free-running __u32 counters, the
 * slot of index i is (i & mask), and entries is a power of two.  The
 * producer writes the entry, then publishes the new tail with a
 * store-release; the consumer reads the tail with a load-acquire, reads
 * the entries, then frees them with a store-release of the head; the
 * producer reads the head with a load-acquire before reusing a slot.
 *
 * Memory regions (offsets and sizes come from the SETUP reply; never
 * hard-code them):
 *  - sq_ring, read-write: the two indices the program owns, sq_tail and
 *    cq_head.
 *  - sqes, read-write: sq_entries struct kpool_sqe.
 *  - cq_ring, read-only: everything the module writes: sq_head, cq_tail and
 *    the cq_entries struct kpool_cqe.  Mapping it writable fails (EPERM).
 */
#ifndef _UAPI_LINUX_KPOOL_H
#define _UAPI_LINUX_KPOOL_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define KPOOL_DEVICE_NAME	"kpool"

/* Operations.  KPOOL_IOC_PROBE tells which ones the running module has. */
enum kpool_op {
	KPOOL_OP_NOP = 0,	/* nothing: measures the pool's own cost */
	KPOOL_OP_TIMEOUT = 1,	/* completes with 0 after off nanoseconds */

	KPOOL_OP_LAST		/* not an op: how many this header knows */
};

/*
 * Submission queue entry, 64 bytes.  Fields an op does not use must be
 * zero; the CQE of an SQE that breaks this carries -EINVAL.
 *
 * NOP:     every field but op and user_data is zero.
 * TIMEOUT: off = delay in nanoseconds (at most 2^62); the task completes
 *          with res = 0 once the delay has passed, never earlier.  It is
 *          run by a timer and holds no worker while it waits.  Closing the
 *          pool completes it with -ECANCELED.
 */
struct kpool_sqe {
	__u8	op;		/* enum kpool_op */
	__u8	flags;		/* none defined yet: must be 0 */
	__u16	resv0;
	__s32	fd;		/* file the op works on (none yet: 0) */
	__u64	off;		/* op-specific, see above */
	__u64	addr;		/* op-specific (none yet: 0) */
	__u32	len;		/* op-specific (none yet: 0) */
	__u32	op_flags;	/* per-op flags (none yet: 0) */
	__u64	user_data;	/* copied to the CQE untouched */
	__u64	resv1[3];
};

/*
 * Completion queue entry, 16 bytes.  res is the op's result: >= 0 on
 * success, a negative errno on failure:
 *   -EINVAL     the SQE had an unknown op, unknown flags, a nonzero
 *               reserved or unused field, or an out-of-range value
 *   -ENOMEM     the module could not allocate what the op needed
 *   -ECANCELED  the task was cancelled (the pool was closed)
 */
struct kpool_cqe {
	__u64	user_data;
	__s32	res;
	__u32	flags;		/* none defined yet: 0 */
};

/* An mmap region: pass offset to mmap() and map at most size bytes. */
struct kpool_region {
	__u64	offset;
	__u64	size;
};

/* Byte offsets of the ring fields inside their regions (all __u32). */
struct kpool_ring_offsets {
	__u32	sq_tail;	/* in sq_ring, written by the program */
	__u32	cq_head;	/* in sq_ring, written by the program */
	__u32	sq_head;	/* in cq_ring, written by the module */
	__u32	cq_tail;	/* in cq_ring, written by the module */
	__u32	cqes;		/* in cq_ring: the struct kpool_cqe array */
	__u32	resv[3];
};

/*
 * Features (kpool_setup.features): what this module guarantees.
 *
 * KPOOL_FEAT_NODROP: a task is accepted only while the CQ has a free slot
 * for it counting every task still in flight, so completions are never
 * dropped and never overflow; ENTER takes fewer SQEs when the CQ is full.
 */
#define KPOOL_FEAT_NODROP	0x00000001U

/*
 * KPOOL_IOC_SETUP: size the rings of a freshly opened pool (once per open
 * file; a second call fails with EBUSY).
 *
 * sq_entries: power of two, 1 .. the max_entries module parameter.
 * cq_entries: 0 for 2 * sq_entries, else a power of two, at least
 *             sq_entries and at most 2 * max_entries.
 * Both are written back with the sizes in use.
 *
 * Errors: EINVAL (size, flags, resv, entries out of range or not a power
 * of two), E2BIG (unknown trailing bytes not zero), EBUSY (already set
 * up), ENOMEM, EFAULT.
 */
struct kpool_setup {
	__u32	size;
	__u32	flags;			/* none defined yet: must be 0 */
	__u32	sq_entries;		/* in/out */
	__u32	cq_entries;		/* in/out */
	__u32	features;		/* out: KPOOL_FEAT_* */
	__u32	resv0;
	struct kpool_region sq_ring;	/* out */
	struct kpool_region sqes;	/* out */
	struct kpool_region cq_ring;	/* out */
	struct kpool_ring_offsets off;	/* out */
	__u64	resv[4];
};

/*
 * KPOOL_IOC_ENTER: submit and/or wait.
 *
 * Takes up to to_submit SQEs published by the program (fewer if fewer are
 * published, or if the CQ has no room for them, see KPOOL_FEAT_NODROP).
 * Every SQE taken yields exactly one CQE, even an invalid one.  submitted
 * (out) says how many were taken, and is written even when the wait below
 * fails.
 *
 * With KPOOL_ENTER_GETEVENTS, then waits until at least min_complete CQEs
 * are in the CQ (at most cq_entries).  With KPOOL_ENTER_TIMEOUT too, waits
 * at most timeout_ns nanoseconds (else timeout_ns must be 0).
 *
 * Returns 0, or:
 *   EBADFD  the pool is not set up
 *   EINVAL  size, flags, resv, min_complete > cq_entries, or the SQ tail
 *           is more than sq_entries ahead of the SQ head
 *   EBUSY   to_submit > 0 but the CQ had no room for any task, and
 *           KPOOL_ENTER_GETEVENTS was not given
 *   ENOMEM  no SQE could be taken for lack of memory
 *   ETIME   the wait timed out
 *   EINTR   the wait was interrupted by a signal
 */
#define KPOOL_ENTER_GETEVENTS	0x00000001U
#define KPOOL_ENTER_TIMEOUT	0x00000002U

struct kpool_enter {
	__u32	size;
	__u32	flags;
	__u32	to_submit;
	__u32	min_complete;
	__u64	timeout_ns;
	__u32	submitted;		/* out */
	__u32	resv0;
	__u64	resv[2];
};

/*
 * KPOOL_IOC_PROBE: which ops this module has.  Works before SETUP.
 *
 * In: ops_len, the number of struct kpool_probe_op at ops_ptr (may be 0).
 * Out: last_op, how many op numbers the module knows (its KPOOL_OP_LAST);
 * the first min(ops_len, last_op) entries of ops_ptr are filled in.
 * Errors: EINVAL (size, flags, resv), E2BIG, EFAULT.
 */
#define KPOOL_PROBE_OP_SUPPORTED	0x00000001U

struct kpool_probe_op {
	__u8	op;
	__u8	resv0[3];
	__u32	flags;			/* KPOOL_PROBE_OP_* */
	char	name[24];		/* NUL-terminated, e.g. "nop" */
};

struct kpool_probe {
	__u32	size;
	__u32	flags;			/* none defined yet: must be 0 */
	__u32	ops_len;		/* in */
	__u32	last_op;		/* out */
	__u64	ops_ptr;		/* in: struct kpool_probe_op[ops_len] */
	__u64	resv[2];
};

#define KPOOL_IOC_MAGIC		0xBC
#define KPOOL_CMD_SETUP		0x00
#define KPOOL_CMD_ENTER		0x01
#define KPOOL_CMD_PROBE		0x02

/* The struct size lives in the struct, not in the ioctl number. */
#define KPOOL_IOC_SETUP		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_SETUP)
#define KPOOL_IOC_ENTER		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_ENTER)
#define KPOOL_IOC_PROBE		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_PROBE)

/* mmap offsets of the regions (also reported by SETUP; use the reply) */
#define KPOOL_OFF_SQ_RING	0x00000000
#define KPOOL_OFF_SQES		0x10000000
#define KPOOL_OFF_CQ_RING	0x20000000

#endif /* _UAPI_LINUX_KPOOL_H */
