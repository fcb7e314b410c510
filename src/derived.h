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
 * May target become governed as a copy?  Relations outside ai_guard's
 * schema and the system catalogs (temporary ones are governed for their
 * session only: audit_hook.c).
 */
extern bool ai_guard_derivable(Oid target);

/*
 * Refuses a statement that would copy tracked rows (rows with provenance
 * and consent) into a persistent relation that does not keep them: an
 * untracked table, or a materialized view.  tracked_copies: temporary
 * copies of tracked rows, which count as tracked sources.
 */
extern void ai_guard_check_tracked_copy(PlannedStmt *ps, Oid target,
										const char *target_name, bool matview,
										List *tracked_copies);

/* Does the plan read a tracked relation (or one of tracked_copies)? */
extern bool ai_guard_plan_reads_tracked(PlannedStmt *ps, List *tracked_copies);

/*
 * The same refusal for values of tracked rows that code passed on, or for
 * a new table (target InvalidOid, named target_name) made from temporary
 * copies of tracked rows; source: a relation they came from.
 */
extern void ai_guard_refuse_untracked_copy(Oid target, const char *target_name,
										   const char *source);

/*
 * target was written by code from values it may have read in pull
 * pull_id: they cannot be traced, so its columns become private (labels
 * shown as stored are removed), recorded in the governance log.
 */
extern void ai_guard_derive_untraced(Oid target, int64 pull_id);

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
 * becomes governed with reason 'derived' before it leaves, and its columns
 * take the labels of parent (the governed relation whose labels classified
 * its rows), losing any others.
 */
extern void ai_guard_derive_detached(Oid child, Oid parent);

#endif							/* AI_GUARD_DERIVED_H */
