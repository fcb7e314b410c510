/*-------------------------------------------------------------------------
 *
 * masked_reads.h
 *		Roles with masked access read governed columns only through masked
 *		views, whatever their grants say.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_MASKED_READS_H
#define AI_GUARD_MASKED_READS_H

#include "nodes/plannodes.h"

/* What a masked-access role tried to read raw */
typedef struct AgMaskedViolation
{
	Oid			role;			/* the role with masked access */
	Oid			relid;			/* the relation read */
	char	   *column;			/* "rel.col" of the first column read raw */
	Oid			masked_view;	/* a masked view of relid, or InvalidOid */
}			AgMaskedViolation;

/* Registers the invalidation of the cached masked-access roles */
extern void ai_guard_masked_reads_init(void);

/*
 * Does the current user or the session user have masked access (listed in
 * ai_guard.masked_access, or a member of a role that is)?  Returns that
 * role, or InvalidOid.
 */
extern Oid	ai_guard_masked_role(void);

/*
 * Checks a plan of a masked-access role: every read of a governed relation
 * column that masked views do not show as stored (PII, masked or unlabelled)
 * must come from the expansion of one of the relation's masked views.
 * governing maps a relation to the governed relation it belongs to.
 * Returns false and fills *v for the first read that does not.
 */
extern bool ai_guard_masked_plan_ok(PlannedStmt *ps, Oid role,
									Oid (*governing) (Oid relid, char relkind),
									AgMaskedViolation *v);

/* The same for COPY rel TO: the columns attnums (NIL: all) of relid */
extern bool ai_guard_masked_copy_ok(Oid relid, List *attnums, Oid role,
									Oid (*governing) (Oid relid, char relkind),
									AgMaskedViolation *v);

/*
 * A tracked relation that the plan reads through a view (not a masked view)
 * or a SECURITY DEFINER function whose owner its row-level security does
 * not filter, for another role:
 * consent and quarantine would not hold for the reader.  InvalidOid if none.
 */
extern Oid	ai_guard_view_consent_bypass(PlannedStmt *ps);

/* Is relid a masked view registered in ai_guard.masked_views? */
extern bool ai_guard_is_masked_view(Oid relid);

#endif							/* AI_GUARD_MASKED_READS_H */
