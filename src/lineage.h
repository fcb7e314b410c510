/*-------------------------------------------------------------------------
 *
 * lineage.h
 *		Row membership of pulls: which rows of tracked relations a pull
 *		delivered (planner hook, collector, records), and the SQL functions
 *		that answer impact questions from it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_LINEAGE_H
#define AI_GUARD_LINEAGE_H

#include "executor/tuptable.h"
#include "nodes/plannodes.h"

typedef struct AgMembers AgMembers;

extern void ai_guard_lineage_init(void);

/* true while ai_guard reads a tracked table for itself (not a pull) */
extern bool ai_guard_lineage_internal_read;

/*
 * The membership collector of a plan that reads tracked relations (NULL if
 * it reads none), allocated in cxt.  Relations the plan reads in a form
 * membership cannot follow are recorded as unknown.
 */
extern AgMembers *ai_guard_members_begin(PlannedStmt *ps, MemoryContext cxt);

/* The same for COPY rel TO, which reads relid without a plan. */
extern AgMembers *ai_guard_members_for_copy(Oid relid, MemoryContext cxt);

/* Whether the plan's output carries row ids to collect (junk columns). */
extern bool ai_guard_members_collects(AgMembers *m);

/* Collects the row ids of one delivered row (the slot before junk removal). */
extern void ai_guard_members_add(AgMembers *m, TupleTableSlot *slot);

/* Forgets what was collected (a holdable cursor is re-read from the start). */
extern void ai_guard_members_reset(AgMembers *m);

/*
 * Queues the membership records of pull_id for the audit writer, before the
 * pull's completion.  With wait, waits for room in the queue (never in an
 * abort).  Warns, never fails, if a record cannot be queued.
 */
extern void ai_guard_members_send(AgMembers *m, int64 pull_id, bool wait);

#endif							/* AI_GUARD_LINEAGE_H */
