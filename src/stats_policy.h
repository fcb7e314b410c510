/*-------------------------------------------------------------------------
 *
 * stats_policy.h
 *		Planner statistics of governed relations hold no raw values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_STATS_POLICY_H
#define AI_GUARD_STATS_POLICY_H

#include "nodes/parsenodes.h"

/*
 * Removes the statistics of every column of relid that masked views do not
 * show as stored (PII, masked, unlabelled), of its partitions, expression
 * indexes and extended statistics over them, and stops ANALYZE from
 * collecting them again.  relabelled: labels changed, so columns now shown
 * as stored get the default statistics target back.
 */
extern void ai_guard_strip_statistics(Oid relid, bool relabelled);

/* Is the column labelled public or internal, without a mask (shown as stored)? */
extern bool ai_guard_column_shown_raw(Oid relid, AttrNumber attnum);

/*
 * Refuses a utility statement that would collect value statistics of a
 * governed relation's non-public columns (ALTER ... SET STATISTICS, CREATE
 * STATISTICS); strips them before VACUUM and ANALYZE.  governed says
 * whether a relation is governed; all_governed lists them (for an ANALYZE of
 * the whole database).
 */
extern void ai_guard_stats_utility(Node *stmt, bool (*governed) (Oid relid),
								   const Oid *all_governed, int n_governed);

#endif							/* AI_GUARD_STATS_POLICY_H */
