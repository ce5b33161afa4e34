/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of a task's life and a pool's, under events/kpool/ in
 * tracefs.  Every event names its pool by the id that fdinfo shows.  A
 * task's end is one event, kpool_task_complete, whatever ended it: its
 * res says how (-ECANCELED cancelled, -ETIME its deadline passed).  An SQE
 * refused (invalid, or left in a full non-blocking pool) is
 * kpool_task_reject.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kpool

#if !defined(_KPOOL_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KPOOL_TRACE_H

#include <linux/tracepoint.h>
#include "kpool.h"

#define kpool_show_op(op)						\
	__print_symbolic(op,						\
			 { KPOOL_OP_NOP, "nop" },			\
			 { KPOOL_OP_TIMEOUT, "timeout" },		\
			 { KPOOL_OP_CANCEL, "cancel" },			\
			 { KPOOL_OP_BURN, "burn" },			\
			 { KPOOL_OP_READ, "read" },			\
			 { KPOOL_OP_WRITE, "write" },			\
			 { KPOOL_OP_FSYNC, "fsync" },			\
			 { KPOOL_OP_COPY, "copy" },			\
			 { KPOOL_OP_CRC32C, "crc32c" },			\
			 { KPOOL_OP_SHA256, "sha256" })

DECLARE_EVENT_CLASS(kpool_task_class,
		    TP_PROTO(const struct kpool_task *task),
		    TP_ARGS(task),
		    TP_STRUCT__entry(__field(u64, pool)
				     __field(u64, user_data)
				     __field(u8, op)
				     __field(u8, prio)),
		    TP_fast_assign(__entry->pool = task->pool->id;
				   __entry->user_data = task->user_data;
				   __entry->op = task->op;
				   __entry->prio = task->prio;),
		    TP_printk("pool=%llu op=%s user_data=0x%llx prio=%u",
			      __entry->pool, kpool_show_op(__entry->op),
			      __entry->user_data, __entry->prio)
);

/* Taken by the pool (it starts, or waits). */
DEFINE_EVENT(kpool_task_class, kpool_task_submit,
	     TP_PROTO(const struct kpool_task *task),
	     TP_ARGS(task)
);

/* Took a capacity slot. */
DEFINE_EVENT(kpool_task_class, kpool_task_start,
	     TP_PROTO(const struct kpool_task *task),
	     TP_ARGS(task)
);

/* Completed, with @res, at @now (ns). */
TRACE_EVENT(kpool_task_complete,
	    TP_PROTO(const struct kpool_task *task, s32 res, u64 now),
	    TP_ARGS(task, res, now),
	    TP_STRUCT__entry(__field(u64, pool)
			     __field(u64, user_data)
			     __field(u64, wait_ns)
			     __field(u64, run_ns)
			     __field(s32, res)
			     __field(u8, op)),
	    TP_fast_assign(__entry->pool = task->pool->id;
			   __entry->user_data = task->user_data;
			   __entry->wait_ns = task->start_ns - task->submit_ns;
			   __entry->run_ns = now - task->start_ns;
			   __entry->res = res;
			   __entry->op = task->op;),
	    TP_printk("pool=%llu op=%s user_data=0x%llx res=%d wait_ns=%llu run_ns=%llu",
		      __entry->pool, kpool_show_op(__entry->op),
		      __entry->user_data, __entry->res, __entry->wait_ns,
		      __entry->run_ns)
);

/* An SQE refused: invalid (its CQE says why), or -EAGAIN, pool full. */
TRACE_EVENT(kpool_task_reject,
	    TP_PROTO(u64 pool, unsigned int op, u64 user_data, s32 res),
	    TP_ARGS(pool, op, user_data, res),
	    TP_STRUCT__entry(__field(u64, pool)
			     __field(u64, user_data)
			     __field(s32, res)
			     __field(u32, op)),
	    TP_fast_assign(__entry->pool = pool;
			   __entry->user_data = user_data;
			   __entry->res = res;
			   __entry->op = op;),
	    TP_printk("pool=%llu op=%s user_data=0x%llx res=%d",
		      __entry->pool, kpool_show_op(__entry->op),
		      __entry->user_data, __entry->res)
);

DECLARE_EVENT_CLASS(kpool_pool_class,
		    TP_PROTO(u64 pool, u32 capacity),
		    TP_ARGS(pool, capacity),
		    TP_STRUCT__entry(__field(u64, pool)
				     __field(u32, capacity)),
		    TP_fast_assign(__entry->pool = pool;
				   __entry->capacity = capacity;),
		    TP_printk("pool=%llu capacity=%u", __entry->pool,
			      __entry->capacity)
);

/* SETUP made it a pool. */
DEFINE_EVENT(kpool_pool_class, kpool_pool_create,
	     TP_PROTO(u64 pool, u32 capacity),
	     TP_ARGS(pool, capacity)
);

/* DRAIN found it empty. */
DEFINE_EVENT(kpool_pool_class, kpool_pool_drained,
	     TP_PROTO(u64 pool, u32 capacity),
	     TP_ARGS(pool, capacity)
);

/* Its file was released. */
DEFINE_EVENT(kpool_pool_class, kpool_pool_close,
	     TP_PROTO(u64 pool, u32 capacity),
	     TP_ARGS(pool, capacity)
);

#endif /* _KPOOL_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE kpool_trace
#include <trace/define_trace.h>
