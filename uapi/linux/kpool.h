/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kpool: a kernel-backed task pool.
 *
 * Each open() of /dev/kpool is one pool.  KPOOL_IOC_SETUP sizes its rings
 * and the pool, and reports where to mmap the rings; the program writes
 * task descriptors (SQEs) into the submission ring, KPOOL_IOC_ENTER
 * submits them (and can wait), the pool runs at most capacity tasks at
 * once (the rest wait, by priority, up to max_waiting) and writes one
 * completion (CQE) per task into the completion ring.  TUNE, DRAIN and
 * STATS manage a running pool.
 *
 * Where tasks run (KPOOL_FEAT_OWNER_CONTEXT): a task observes exactly its
 * submitter's context (credentials, namespaces, cgroups, resource limits,
 * CPU affinity, scheduling-priority ceiling) or is refused at submission:
 *  - READ, WRITE and FSYNC run in a thread of the submitting process,
 *    inside that process's own KPOOL_IOC_ENTER calls: the ENTER that
 *    submits them runs them before it returns, and an ENTER (or DRAIN)
 *    that waits runs those that become startable meanwhile.  A program
 *    runs file tasks in parallel by having threads wait in ENTER.  While
 *    such tasks wait for an ENTER of their process, the cq_ring's flags
 *    word has KPOOL_RING_OWNER_WORK set and poll() reports the pool
 *    readable.
 *  - CALL (a function of the program) runs in one of the program's own
 *    worker threads, parked in KPOOL_IOC_WORK (KPOOL_FEAT_CALL).
 *  - TIMEOUT is a timer; CANCEL runs in ENTER.
 *  - NOP runs inline in the submitting ENTER when it can (KPOOL_FEAT_INLINE),
 *    and so do COPY and CRC32C of at most 4096 bytes
 *    (KPOOL_FEAT_INLINE_DATA).
 *  - BURN, COPY, CRC32C and SHA256 (and the tasks above that cannot run
 *    inline) are arithmetic on the arena, whose result does not depend on
 *    who computes it: they run on kernel workers, on a CPU the submitter
 *    may use, at most max_workers (module parameter) of one pool at a
 *    time.
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
 *  - arena, read-write: the data tasks read and write (arena_size bytes,
 *    zeroed at SETUP; absent when arena_size is 0).
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
	KPOOL_OP_CANCEL = 2,	/* cancels the task whose user_data is addr */
	KPOOL_OP_BURN = 3,	/* spins a CPU for off ns (tests, benchmarks) */
	KPOOL_OP_READ = 4,	/* pread(fd) into the arena */
	KPOOL_OP_WRITE = 5,	/* pwrite(fd) from the arena */
	KPOOL_OP_FSYNC = 6,	/* fsync/fdatasync(fd) */
	KPOOL_OP_COPY = 7,	/* memmove within the arena */
	KPOOL_OP_CRC32C = 8,	/* CRC32C of an arena range, into the CQE */
	KPOOL_OP_SHA256 = 9,	/* SHA-256 of arena ranges, into the arena */
	KPOOL_OP_CALL = 10,	/* a function of the program, run by its worker */

	KPOOL_OP_LAST		/* not an op: how many this header knows */
};

/* Priorities (kpool_sqe.prio). */
#define KPOOL_PRIO_NORMAL	0
#define KPOOL_PRIO_HIGH		1

/*
 * Submission queue entry, 64 bytes.  Fields an op does not use must be
 * zero; the CQE of an SQE that breaks this carries -EINVAL.
 *
 * Fields every task may use:
 *   prio         KPOOL_PRIO_NORMAL or KPOOL_PRIO_HIGH.  A waiting high
 *                task starts before any waiting normal one.  It runs on a
 *                high-priority (nice -20) worker only if the submitter
 *                could set nice -20 itself (CAP_SYS_NICE, or RLIMIT_NICE
 *                of at least 40); else on a normal one.
 *   deadline_ns  0, or how long after submission the task may start.  A
 *                task still waiting then completes with -ETIME without
 *                running; a running TIMEOUT or BURN, or a data op between
 *                two chunks, stops with -ETIME.
 *   flags        KPOOL_SQE_CPU: run on CPU cpu (an online CPU the
 *                submitter's affinity and cpuset allow, else -EINVAL);
 *                KPOOL_SQE_UNBOUND: run on any CPU the submitter may use
 *                (an unbound worker if it may use all).  Not both.  By
 *                default a task runs on the CPU it was submitted from.
 *                Placement concerns ops run by a kernel worker; file ops
 *                run in the submitter's threads, TIMEOUT is a timer and
 *                CANCEL runs in ENTER.
 *                KPOOL_SQE_ASYNC: run on a kernel worker even if the op
 *                could run inline (KPOOL_FEAT_INLINE); a placement flag
 *                implies it.
 *                KPOOL_SQE_LINK: chain the next SQE of this ENTER to this
 *                one (KPOOL_FEAT_LINK): see "Chains" below.
 *
 * NOP:     nothing else.  Runs inline (KPOOL_FEAT_INLINE).
 * TIMEOUT: off = delay in nanoseconds (at most 2^63 - 1); completes with 0
 *          once the delay has passed, never earlier.  A timer waits, not a
 *          worker, but the task holds a capacity slot while it waits.
 * CANCEL:  addr = user_data of the task to cancel; with op_flags
 *          KPOOL_CANCEL_ALL (and addr 0) every task of the pool.  Runs at
 *          once in ENTER: takes no capacity slot, never waits, and takes
 *          no prio, deadline or placement.  Its res: 0 the task was
 *          cancelled or will stop, and its CQE will say -ECANCELED
 *          (even if it was in its last step); -ENOENT no such task
 *          (never was, or already complete), -EALREADY it is running
 *          and cannot be interrupted (it completes as it would have);
 *          with KPOOL_CANCEL_ALL, how many were cancelled.
 * Data ops name arena ranges: [addr, addr + len) must lie inside the
 * arena (SETUP's arena_size), len > 0 unless said otherwise; a range that
 * does not (past the end, wrapping, empty) gives -EINVAL.  Long ranges are
 * processed in chunks, checking cancel and deadline between them.
 *
 * READ:    pread(fd, arena + addr, len, off).  res: bytes read (short at
 *          end of file), or -errno.
 * WRITE:   pwrite(fd, arena + addr, len, off).  res: bytes written.
 *          For both, fd is resolved when ENTER takes the SQE, in the
 *          submitter's context: the task holds its own reference to the
 *          file (closing fd afterwards changes nothing) and runs with the
 *          submitter's credentials, in a thread of its process (see
 *          "Where tasks run"), so its limits apply: a WRITE past
 *          RLIMIT_FSIZE gives -EFBIG (and SIGXFSZ, as pwrite does).
 *          Only regular files and block devices:
 *          -EBADF bad or closed fd, or not open for reading (READ) or
 *          writing (WRITE); -EISDIR a directory; -ESPIPE a pipe, FIFO or
 *          socket; -EINVAL any other kind of file, or an O_DIRECT file.
 * FSYNC:   fsync(fd), or fdatasync(fd) with op_flags KPOOL_FSYNC_DATASYNC;
 *          the same fd rules (any access mode).  res: 0 or -errno.
 * COPY:    copies len bytes from arena offset addr to arena offset off.
 *          Overlapping ranges behave like memmove.  res: len.  Up to 4096
 *          bytes it runs inline (KPOOL_FEAT_INLINE_DATA).
 * CRC32C:  the CRC32C (Castagnoli) of the range; off = the CRC32C of the
 *          data before it, to continue a checksum (0 to start; below
 *          2^32).  res: 0; the checksum is in the CQE's aux.  Up to
 *          4096 bytes it runs inline (KPOOL_FEAT_INLINE_DATA).
 * SHA256:  hashes the range into the struct kpool_sha256_ctx at arena
 *          offset off (8-byte aligned): op_flags KPOOL_SHA256_INIT starts
 *          a new hash, else the context's hash continues;
 *          KPOOL_SHA256_FINAL then writes the digest into ctx.digest.
 *          len may be 0 (then addr must be 0).  res: 0.
 * BURN:    off = how long to spin a CPU, in ns, at most the burn_max_ms
 *          module parameter.  For tests and benchmarks.  Stops early with
 *          -ECANCELED or -ETIME; with op_flags KPOOL_BURN_UNINTERRUPTIBLE
 *          CANCEL cannot stop it (-EALREADY).  Runs on a CPU-intensive
 *          workqueue, so it never holds back other work of its CPU.
 * CALL:    addr and off are the program's (by convention a function and
 *          its argument): the module only hands them to a worker thread
 *          of the submitting process parked in KPOOL_IOC_WORK, which runs
 *          the function in user space and reports its result (see
 *          KPOOL_IOC_WORK).  fd, len and op_flags must be 0.  The task
 *          starts only when such a worker is parked, so a slot is never
 *          held by a call that no thread can run.  While its worker
 *          thread sleeps in the kernel (a syscall that waits, a page
 *          fault), the call does not count against capacity: another
 *          task may start in its slot, so capacity bounds the tasks that
 *          can run, not the threads that exist.  res: what the worker
 *          reported; -EOWNERDEAD its worker thread exited while it ran;
 *          -ECANCELED the pool closed while it ran.  Cancel and deadline
 *          of a running CALL only tell the function (the cq_ring's
 *          worker word, and the deadline WORK reports): it ends when it
 *          returns, and a cancelled call then completes with -ECANCELED
 *          unless it returned an error.
 *
 * A deadline too far to represent is clamped to the farthest one (it then
 * never expires).
 *
 * Chains (KPOOL_SQE_LINK, as io_uring's IOSQE_IO_LINK): an SQE with
 * KPOOL_SQE_LINK and the SQEs after it form a chain, which ends at the
 * first SQE without the flag, or at the last of the to_submit SQEs the
 * ENTER was asked to take.  A chain the CQ has no room for stays whole in
 * the ring (ENTER takes the SQEs before it, or fails with EBUSY).  Each
 * task of a chain starts only after the one before it succeeded: its
 * result is >= 0 and, for READ and WRITE, the whole len was transferred.
 * When one fails (or is cancelled, or its deadline passes), every later
 * task of the chain completes with -ECANCELED without running.  ENTER
 * takes a chain whole or not at all: an invalid SQE in it completes with
 * its error and every other task of the chain with -ECANCELED, and a full
 * pool leaves the whole chain in the ring.  Only the first task of a
 * chain needs room in the pool; the others wait outside the queue bound
 * (each still holds its CQ slot) and join the queue when their turn
 * comes, so a chain may be longer than capacity + max_waiting.  Every
 * task keeps its own priority, deadline (counted from submission) and
 * CQE; a task's deadline is checked when its turn comes (it completes
 * with -ETIME then if it has passed).  CANCEL of a task of a chain that
 * has not started completes it and the rest of its chain with -ECANCELED
 * at once.  CANCEL can be neither in a chain nor carry the flag
 * (-EINVAL).
 */
#define KPOOL_SQE_CPU		0x01
#define KPOOL_SQE_UNBOUND	0x02
#define KPOOL_SQE_ASYNC		0x04
#define KPOOL_SQE_LINK		0x08

#define KPOOL_CANCEL_ALL		0x00000001U
#define KPOOL_BURN_UNINTERRUPTIBLE	0x00000001U
#define KPOOL_FSYNC_DATASYNC		0x00000001U
#define KPOOL_SHA256_INIT		0x00000001U
#define KPOOL_SHA256_FINAL		0x00000002U

/* A SHA-256 computation in the arena (see KPOOL_OP_SHA256). */
struct kpool_sha256_ctx {
	__u8	digest[32];	/* written by KPOOL_SHA256_FINAL */
	__u8	state[128];	/* the running hash: opaque, keep it as is */
};

struct kpool_sqe {
	__u8	op;		/* enum kpool_op */
	__u8	flags;		/* KPOOL_SQE_* */
	__u8	prio;		/* KPOOL_PRIO_* */
	__u8	resv0;
	__s32	fd;		/* file the op works on (none yet: 0) */
	__u64	off;		/* op-specific, see above */
	__u64	addr;		/* op-specific, see above */
	__u32	len;		/* op-specific (none yet: 0) */
	__u32	op_flags;	/* per-op flags */
	__u64	user_data;	/* copied to the CQE untouched */
	__u64	deadline_ns;	/* 0: none */
	__u32	cpu;		/* with KPOOL_SQE_CPU */
	__u32	resv1;
	__u64	resv2;
};

/*
 * Completion queue entry, 16 bytes.  res is the op's result: >= 0 on
 * success, a negative errno on failure; aux is a second result some ops
 * give (CRC32C: the checksum), else 0.  Errors every op may give:
 *   -EINVAL     the SQE had an unknown op, unknown flags, a nonzero
 *               reserved or unused field, or an out-of-range value
 *   -ENOMEM     the module could not allocate what the op needed
 *   -ECANCELED  the task was cancelled (by CANCEL, or the pool closed)
 *   -ETIME      the task's deadline passed (before or while it ran)
 */
struct kpool_cqe {
	__u64	user_data;
	__s32	res;
	__u32	aux;
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
	__u32	flags;		/* in cq_ring: KPOOL_RING_*, read-only */
	__u32	workers;	/* in cq_ring: __u32[KPOOL_POOL_WORKERS] */
	__u32	resv0;
};

/*
 * cq_ring flags.  KPOOL_RING_OWNER_WORK: tasks of the pool wait for a
 * thread of their process to call KPOOL_IOC_ENTER (any arguments; to_submit
 * 0 and no GETEVENTS is enough).  Only a hint to event loops: it can be
 * stale by the time it is read, and it concerns tasks of every process
 * that shares the pool.
 */
#define KPOOL_RING_OWNER_WORK	0x00000001U

/*
 * Worker words (KPOOL_FEAT_CALL): the cq_ring holds one __u32 per worker
 * slot (kpool_work.slot), at off.workers.  The module clears a worker's
 * word when it gives it a task, and sets KPOOL_WORKER_CANCEL in it when
 * that task is cancelled while it runs: a long function polls it (with a
 * load-acquire) to stop early.  A pool has at most KPOOL_POOL_WORKERS
 * worker threads at a time.
 */
#define KPOOL_POOL_WORKERS	64
#define KPOOL_WORKER_CANCEL	0x00000001U

/*
 * Features (kpool_setup.features): what this module guarantees.
 *
 * KPOOL_FEAT_NODROP: a task is accepted only while the CQ has a free slot
 * for it counting every task still in flight, so completions are never
 * dropped and never overflow; ENTER takes fewer SQEs when the CQ is full.
 *
 * KPOOL_FEAT_OWNER_CONTEXT: every task runs in its submitter's context as
 * the header's top comment describes ("Where tasks run"), and the ring
 * offsets report the cq_ring's flags word.
 *
 * KPOOL_FEAT_INLINE: an op that cannot block and is short (NOP) runs
 * inline in the ENTER that submits it, when it can start at once (a slot
 * free and nothing waiting ahead of it): its CQE is in the CQ before
 * ENTER returns, and it held its capacity slot while it ran.  A task that
 * has to wait, or carries KPOOL_SQE_ASYNC or a placement, runs on a kernel
 * worker instead.
 *
 * KPOOL_FEAT_CALL: KPOOL_OP_CALL and KPOOL_IOC_WORK exist: the pool runs
 * the program's own functions in the program's own threads.  (A kernel
 * built without CONFIG_PREEMPT_NOTIFIERS lacks them: the module must see
 * a worker thread exit to complete its task.)
 *
 * KPOOL_FEAT_WORK_QUIET: KPOOL_WORK_QUIET exists (a worker completes the
 * task it reports itself: no CQE).  Always with KPOOL_FEAT_CALL.
 *
 * KPOOL_FEAT_LINK: KPOOL_SQE_LINK exists (chains: see above).
 *
 * KPOOL_FEAT_INLINE_DATA: COPY and CRC32C of at most 4096 bytes run inline
 * as KPOOL_FEAT_INLINE says NOP does (a longer one on a kernel worker).
 */
#define KPOOL_FEAT_NODROP		0x00000001U
#define KPOOL_FEAT_OWNER_CONTEXT	0x00000002U
#define KPOOL_FEAT_INLINE		0x00000004U
#define KPOOL_FEAT_CALL			0x00000008U
#define KPOOL_FEAT_WORK_QUIET		0x00000010U
#define KPOOL_FEAT_LINK			0x00000020U
#define KPOOL_FEAT_INLINE_DATA		0x00000040U

/*
 * KPOOL_IOC_SETUP: size the rings and the pool of a freshly opened file
 * (once per open file; a second call fails with EBUSY).
 *
 * sq_entries:  power of two, 1 .. the max_entries module parameter.
 * cq_entries:  0 for 2 * sq_entries, else a power of two, at least
 *              sq_entries and at most 2 * max_entries.
 * capacity:    how many tasks may run at once: 0 for sq_entries (the
 *              ring is then the only bound), else 1 .. the max_capacity
 *              module parameter (0 is capped by it too).  KPOOL_IOC_TUNE
 *              changes it later.
 * max_waiting: how many more tasks may wait for a slot: 0 for cq_entries,
 *              else 1 .. cq_entries.
 * arena_size:  bytes of data memory for the data ops, rounded up to whole
 *              pages; 0 for none; at most the max_arena_mb module
 *              parameter.  The arena region reports where to map it.
 * All five are written back with the values in use.
 *
 * flags: KPOOL_SETUP_BLOCKING: when running and waiting tasks fill the
 * pool, ENTER sleeps until there is room (bounded by its timeout, and
 * interrupted by signals).  Without it ENTER stops at the first SQE it
 * cannot take and reports how many it took (EAGAIN if none).
 *
 * Errors: EINVAL (size, flags, resv, a value out of range or not a power
 * of two), E2BIG (unknown trailing bytes not zero), EBUSY (already set
 * up), ENOMEM, EFAULT.
 */
#define KPOOL_SETUP_BLOCKING	0x00000001U

struct kpool_setup {
	__u32	size;
	__u32	flags;			/* KPOOL_SETUP_* */
	__u32	sq_entries;		/* in/out */
	__u32	cq_entries;		/* in/out */
	__u32	features;		/* out: KPOOL_FEAT_* */
	__u32	capacity;		/* in/out */
	struct kpool_region sq_ring;	/* out */
	struct kpool_region sqes;	/* out */
	struct kpool_region cq_ring;	/* out */
	struct kpool_ring_offsets off;	/* out */
	__u32	max_waiting;		/* in/out */
	__u32	resv0;
	__u64	arena_size;		/* in/out */
	struct kpool_region arena;	/* out */
	__u64	resv[4];
};

/*
 * KPOOL_IOC_ENTER: submit and/or wait.
 *
 * Takes up to to_submit SQEs published by the program, fewer if fewer are
 * published, if the CQ has no room for them (see KPOOL_FEAT_NODROP), or if
 * the pool is full (see KPOOL_SETUP_BLOCKING).  SQEs not taken stay in the
 * SQ for a later call.  Every SQE taken yields exactly one CQE, even an
 * invalid one.  submitted (out) says how many were taken, and is written
 * even when the call fails after taking some.
 *
 * With KPOOL_ENTER_GETEVENTS, then waits until at least min_complete CQEs
 * are in the CQ (at most cq_entries).  KPOOL_ENTER_TIMEOUT bounds all the
 * waiting of the call (a blocked submit and the wait for CQEs) to
 * timeout_ns nanoseconds; without it timeout_ns must be 0.
 *
 * Returns 0, or:
 *   EBADFD    the pool is not set up
 *   EINVAL    size, flags, resv, min_complete > cq_entries, min_complete
 *             without KPOOL_ENTER_GETEVENTS, or the SQ tail is more than
 *             sq_entries ahead of the SQ head
 *   EBUSY     to_submit > 0 but the CQ had no room for any task (or for
 *             the whole chain first in the SQ), and KPOOL_ENTER_GETEVENTS
 *             was not given
 *   EAGAIN    the pool is full and not blocking, and no SQE was taken
 *   ESHUTDOWN to_submit > 0 and the pool is draining: it takes no SQE at
 *             all, not even a CANCEL or an invalid one
 *   ENOMEM    no SQE could be taken for lack of memory
 *   ETIME     the timeout passed
 *   EINTR     a signal interrupted the call
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

/*
 * KPOOL_IOC_TUNE: change the pool's capacity or its queue bound while it
 * runs.  flags 0 means KPOOL_TUNE_CAPACITY.
 * KPOOL_TUNE_CAPACITY: capacity, 1 .. max_capacity.  Raising it starts
 * waiting tasks at once; lowering it lets running tasks finish and starts
 * no more until fewer than capacity run.
 * KPOOL_TUNE_MAX_WAITING: max_waiting, 0 .. cq_entries (as in SETUP, but
 * 0 means none may wait).  Raising it lets blocked submitters in at once;
 * lowering it below the tasks waiting keeps them, and takes no more
 * until fewer wait.
 * prev_capacity and prev_max_waiting (out) are the values before the
 * call, whatever it changed.
 * Errors: EBADFD, EINVAL, E2BIG, EFAULT.
 */
#define KPOOL_TUNE_CAPACITY	0x00000001U
#define KPOOL_TUNE_MAX_WAITING	0x00000002U

struct kpool_tune {
	__u32	size;
	__u32	flags;			/* KPOOL_TUNE_*; 0: CAPACITY */
	__u32	capacity;		/* in, with KPOOL_TUNE_CAPACITY */
	__u32	prev_capacity;		/* out */
	__u32	max_waiting;		/* in, with KPOOL_TUNE_MAX_WAITING */
	__u32	prev_max_waiting;	/* out */
	__u64	resv1;
};

/*
 * KPOOL_IOC_DRAIN: stop taking work, and wait until every task the pool
 * took has completed (its CQE is in the CQ).  Draining is permanent: from
 * then on ENTER takes no SQEs (ESHUTDOWN) but still waits for CQEs (and
 * runs the file tasks of its process that became startable); a
 * drain that timed out may be called again to keep waiting.
 * With KPOOL_DRAIN_TIMEOUT waits at most timeout_ns (0 only checks);
 * without it timeout_ns must be 0 and the wait has no limit.
 * drained (out) is 1 when the pool is empty, else 0.
 * Returns 0 when drained, else ETIME (timed out) or EINTR (signal);
 * EBADFD, EINVAL, E2BIG, EFAULT.
 */
#define KPOOL_DRAIN_TIMEOUT	0x00000001U

struct kpool_drain {
	__u32	size;
	__u32	flags;			/* KPOOL_DRAIN_* */
	__u64	timeout_ns;
	__u32	drained;		/* out */
	__u32	resv0;
	__u64	resv[2];
};

/*
 * Counters of a pool, all of its tasks or those of one op.  One snapshot:
 * submitted = completed + running + waiting holds in every reply.
 *
 *   submitted  tasks the pool took (CANCEL included; invalid SQEs not)
 *   started    tasks that began to run
 *   completed  tasks that completed, with any result; of those:
 *   failed     ... with a negative res other than -ECANCELED or -ETIME
 *   cancelled  ... with -ECANCELED
 *   timed_out  ... with -ETIME
 *   rejected   SQEs refused: taken but invalid (their CQE says why), or
 *              left in the SQ by a non-blocking pool that was full
 *   running, waiting              now
 *   peak_running, peak_waiting    highest seen
 *   stuck      tasks that waited or ran longer than the module's stuck_ms
 *              parameter (each counted once, when the watchdog sees it)
 *   wait_hist  time from submission to start, in ns: bucket i counts
 *              times in [2^i, 2^(i+1)), bucket 0 also 0, the last bucket
 *              everything longer
 *   run_hist   time from start to completion, same buckets
 */
#define KPOOL_HIST_BUCKETS	40

struct kpool_counters {
	__u64	submitted;
	__u64	started;
	__u64	completed;
	__u64	failed;
	__u64	cancelled;
	__u64	timed_out;
	__u64	rejected;
	__u64	running;
	__u64	waiting;
	__u64	peak_running;
	__u64	peak_waiting;
	__u64	stuck;
	__u64	resv[4];
	__u64	wait_hist[KPOOL_HIST_BUCKETS];
	__u64	run_hist[KPOOL_HIST_BUCKETS];
};

/*
 * KPOOL_IOC_STATS: read the pool's counters, all from one instant.
 * total_ptr: a struct kpool_counters for the whole pool (0: not wanted).
 * ops_ptr:   nr_ops of them, indexed by op (0 with nr_ops 0: not wanted).
 * nr_ops (in/out): in, how many fit at ops_ptr; out, how many ops the
 * module counts (its KPOOL_OP_LAST); it fills min(in, out).
 * capacity, max_waiting (out): the pool's current settings.
 * workers* (out): the pool's worker threads (KPOOL_IOC_WORK) now: how
 * many, how many are parked waiting for a task, how many hold one, and
 * how many of those are asleep in the kernel (their slots lent out).
 * stuck_now (out): tasks in flight now that have passed stuck_ms.
 * Errors: EBADFD, EINVAL, E2BIG, EFAULT.
 */
struct kpool_stats {
	__u32	size;
	__u32	flags;			/* none defined yet: must be 0 */
	__u32	nr_ops;			/* in/out */
	__u32	capacity;		/* out */
	__u64	total_ptr;		/* in: struct kpool_counters */
	__u64	ops_ptr;		/* in: struct kpool_counters[nr_ops] */
	__u32	max_waiting;		/* out */
	__u32	workers;		/* out */
	__u32	workers_parked;		/* out */
	__u32	workers_busy;		/* out */
	__u32	workers_blocked;	/* out */
	__u32	stuck_now;		/* out */
	__u64	resv1;
};

/*
 * KPOOL_IOC_WORK: the calling thread works for the pool (KPOOL_FEAT_CALL).
 * Its first call makes it one of the pool's worker threads (at most
 * KPOOL_POOL_WORKERS at a time, else EBUSY).  Each call may first report
 * the result of the task the previous call gave it (KPOOL_WORK_DONE with
 * that task's token and res: the task completes with res), then parks
 * the thread until the module gives it the next CALL task of its own
 * process: the reply names it (token, user_data, fn = the SQE's addr,
 * arg = its off, deadline_ns on CLOCK_MONOTONIC or 0, slot = this
 * worker's word in the cq_ring).  The module decides which task starts
 * and when (capacity, priority, deadlines hold across every op); while
 * parked, the thread also runs its process's ready file tasks.
 *
 *  - KPOOL_WORK_DONE: report; token must be the one this thread holds
 *    (EINVAL otherwise: a task not given to it, or already reported).  A
 *    report the module accepted is taken whatever the rest of the call
 *    does.  Without DONE, a worker that holds a task is given the same
 *    task again (how to recover a reply lost to EFAULT).
 *  - KPOOL_WORK_LEAVE: after any report, stop being a worker and return
 *    0 at once.  A worker that holds a task must report it to leave
 *    (EBUSY).
 *  - KPOOL_WORK_TIMEOUT: park at most timeout_ns, then fail with ETIME.
 *  - KPOOL_WORK_QUIET (KPOOL_FEAT_WORK_QUIET; with DONE, not with
 *    TIMEOUT): the reported task completes without a CQE; the worker
 *    takes its result instead: done_res, the res it completed with
 *    (-ECANCELED if a CANCEL answered 0 for it).  Then the call does not
 *    park: it returns the next task if the completion's kick gave this
 *    worker one, else token 0.  How a worker runs the task's completion
 *    itself, with no other thread woken (before the next task's
 *    function: the next task holds its slot meanwhile).  A quiet
 *    completion is no CQE: ENTER's min_complete and poll() do not count
 *    it, and a reply lost to EFAULT loses done_res.
 *
 * Errors: EINVAL, EBUSY, ETIME, EINTR (a signal; the worker stays
 * registered), ESHUTDOWN (the pool is draining and nothing waits: no task
 * will come), EBADFD (no SETUP yet), EOPNOTSUPP (no KPOOL_FEAT_CALL).
 * After ETIME, EINTR and ESHUTDOWN the reply is written with token 0 (no
 * task; the other out fields mean nothing).  A worker thread that exits
 * holding a task completes it with -EOWNERDEAD.  A waiting CALL task of a
 * process that has exited is cancelled when the queue finds it at its
 * head.
 */
#define KPOOL_WORK_DONE		0x00000001U
#define KPOOL_WORK_LEAVE	0x00000002U
#define KPOOL_WORK_TIMEOUT	0x00000004U
#define KPOOL_WORK_QUIET	0x00000008U

struct kpool_work {
	__u32	size;
	__u32	flags;			/* KPOOL_WORK_* */
	__u64	token;			/* in with DONE; out: the task's (0: none) */
	__s32	res;			/* in with DONE: the task's result */
	__u32	slot;			/* out */
	__u64	timeout_ns;		/* with KPOOL_WORK_TIMEOUT */
	__u64	user_data;		/* out */
	__u64	fn;			/* out: the CALL's addr */
	__u64	arg;			/* out: the CALL's off */
	__u64	deadline_ns;		/* out: CLOCK_MONOTONIC ns, 0: none */
	__s32	done_res;		/* out, with QUIET: the reported task's */
	__u32	resv0;
	__u64	resv1;
};

#define KPOOL_IOC_MAGIC		0xBC
#define KPOOL_CMD_SETUP		0x00
#define KPOOL_CMD_ENTER		0x01
#define KPOOL_CMD_PROBE		0x02
#define KPOOL_CMD_TUNE		0x03
#define KPOOL_CMD_DRAIN		0x04
#define KPOOL_CMD_STATS		0x05
#define KPOOL_CMD_WORK		0x06

/* The struct size lives in the struct, not in the ioctl number. */
#define KPOOL_IOC_SETUP		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_SETUP)
#define KPOOL_IOC_ENTER		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_ENTER)
#define KPOOL_IOC_PROBE		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_PROBE)
#define KPOOL_IOC_TUNE		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_TUNE)
#define KPOOL_IOC_DRAIN		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_DRAIN)
#define KPOOL_IOC_STATS		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_STATS)
#define KPOOL_IOC_WORK		_IO(KPOOL_IOC_MAGIC, KPOOL_CMD_WORK)

/* mmap offsets of the regions (also reported by SETUP; use the reply) */
#define KPOOL_OFF_SQ_RING	0x00000000
#define KPOOL_OFF_SQES		0x10000000
#define KPOOL_OFF_CQ_RING	0x20000000
#define KPOOL_OFF_ARENA		0x30000000

#endif /* _UAPI_LINUX_KPOOL_H */
