/*-------------------------------------------------------------------------
 *
 * derived.h
 *		Governance follows the data: relations written from governed rows
 *		become governed, and their columns carry the source labels.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_DERIVED_H
#define AI_GUARD_DERIVED_H

#include "nodes/plannodes.h"

typedef Oid (*AgGoverningFn) (Oid relid, char relkind);

/*
 * May target become governed as a copy?  Persistent relations outside
 * ai_guard's schema and the system catalogs; temporary copies live only in
 * the session that made them and cannot be granted to anyone.
 */
extern bool ai_guard_derivable(Oid target);

/*
 * Refuses a statement that would copy tracked rows (rows with provenance
 * and consent) into a persistent relation that does not keep them: an
 * untracked table, or a materialized view.
 */
extern void ai_guard_check_tracked_copy(PlannedStmt *ps, Oid target,
										const char *target_name, bool matview);

/*
 * target was written by ps from governed rows (pull pull_id, 0 if none was
 * recorded): each column written takes the label its value comes with
 * (docs/governance.md), recorded in the governance log.  into: the plan's
 * output columns are the target's columns in order (CREATE TABLE AS,
 * materialized views); otherwise the ModifyTable node writing target says
 * which columns.
 */
extern void ai_guard_derive_labels(Oid target, PlannedStmt *ps, bool into,
								   int64 pull_id, AgGoverningFn governing);

/*
 * target, written from governed rows by pull pull_id (sources: the governed
 * relations read, qualified names), becomes governed with reason 'derived'
 * and the derivation is recorded in ai_guard.derived_relations.
 */
extern void ai_guard_derive_govern(Oid target, int64 pull_id, List *sources);

/*
 * child leaves its governed parent (DETACH PARTITION, NO INHERIT): it
 * becomes governed with reason 'derived' before it leaves.
 */
extern void ai_guard_derive_detached(Oid child, Oid parent);

#endif							/* AI_GUARD_DERIVED_H */
