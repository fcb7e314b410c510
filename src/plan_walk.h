/*-------------------------------------------------------------------------
 *
 * plan_walk.h
 *		Visiting every node of a finished plan, and the expressions each
 *		node evaluates.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_PLAN_WALK_H
#define AI_GUARD_PLAN_WALK_H

#include "nodes/plannodes.h"

typedef bool (*AgPlanVisitor) (Plan *plan, void *context);

/*
 * Calls visit for every plan node of the statement, the plans of its
 * SubPlans and CTEs included; stops and returns true as soon as visit does.
 */
extern bool ai_guard_plan_walk(PlannedStmt *stmt, AgPlanVisitor visit,
							   void *context);

/* The expressions a plan node evaluates (not those of its children). */
extern List *ai_guard_plan_exprs(Plan *plan);

#endif							/* AI_GUARD_PLAN_WALK_H */
