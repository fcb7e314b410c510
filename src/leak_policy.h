/*-------------------------------------------------------------------------
 *
 * leak_policy.h
 *		Which functions may see the values of a governed read.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_LEAK_POLICY_H
#define AI_GUARD_LEAK_POLICY_H

#include "nodes/plannodes.h"

/* GUC ai_guard.untrusted_functions: refuse (true, the default) or allow */
extern bool ai_guard_refuse_untrusted;

/*
 * The first function in the plan that is applied to column values and is
 * neither built in, nor ai_guard's, nor LEAKPROOF, nor trusted with
 * ai_guard.trust_function(); InvalidOid if there is none.
 */
extern Oid	ai_guard_untrusted_function(PlannedStmt *stmt);

/* Defines the GUC. */
extern void ai_guard_leak_policy_init(void);

#endif							/* AI_GUARD_LEAK_POLICY_H */
