/*-------------------------------------------------------------------------
 *
 * read_counts.h
 *		The rows a governed read examined, per governed relation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_READ_COUNTS_H
#define AI_GUARD_READ_COUNTS_H

#include "executor/execdesc.h"

typedef struct AgReadCounts AgReadCounts;

/* The governed relation a scanned relation counts as, or InvalidOid. */
typedef Oid (*AgGoverningFn) (Oid relid, char relkind);

/*
 * Before ExecutorStart: ask for row counts from every plan node where the
 * executor cannot be watched from this process (parallel workers).
 */
extern void ai_guard_read_counts_prepare(QueryDesc *qd);

/*
 * After ExecutorStart: watches every scan of a governed relation in the
 * plan.  Allocated in cxt; NULL if the plan scans none.
 */
extern AgReadCounts *ai_guard_read_counts_begin(QueryDesc *qd,
												AgGoverningFn governing,
												MemoryContext cxt);

/*
 * Takes the counts as they stand (cheap, cannot fail: safe in PG_CATCH).
 * final: the executor is done; collect what parallel workers counted.
 * failed: the executor stopped on an error; each scan counts the row it may
 * have been on.
 */
extern void ai_guard_read_counts_take(AgReadCounts *rc, bool final, bool failed);

/* The count of one relation read without a plan (COPY rel TO), and its rows */
extern AgReadCounts *ai_guard_read_counts_single(const char *relation,
												 MemoryContext cxt);
extern void ai_guard_read_counts_set(AgReadCounts *rc, int64 rows);
/* ... or raises it to rows, if lower (rows that left: at least as many read) */
extern void ai_guard_read_counts_at_least(AgReadCounts *rc, int64 rows);

/* {"relation": rows, ...}, or NULL if nothing is known. */
extern char *ai_guard_read_counts_json(AgReadCounts *rc);

#endif							/* AI_GUARD_READ_COUNTS_H */
