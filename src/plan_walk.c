/*-------------------------------------------------------------------------
 *
 * plan_walk.c
 *		Visiting every node of a finished plan, and the expressions each
 *		node evaluates.
 *
 * The audit looks at plans, not queries: a plan has the views expanded, the
 * functions inlined and the partitions chosen, so what it shows is what
 * will run.  PostgreSQL has a walker for expressions and one for executor
 * states, not one for plans; this is it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/nodes.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"

#include "plan_walk.h"

static bool walk_plan(Plan *plan, AgPlanVisitor visit, void *context);

static bool
walk_plans(List *plans, AgPlanVisitor visit, void *context)
{
	ListCell   *lc;

	foreach(lc, plans)
		if (walk_plan((Plan *) lfirst(lc), visit, context))
			return true;
	return false;
}

static bool
walk_plan(Plan *plan, AgPlanVisitor visit, void *context)
{
	if (plan == NULL)
		return false;
	check_stack_depth();
	if (visit(plan, context))
		return true;
	if (walk_plan(plan->lefttree, visit, context) ||
		walk_plan(plan->righttree, visit, context))
		return true;
	switch (nodeTag(plan))
	{
		case T_Append:
			return walk_plans(((Append *) plan)->appendplans, visit, context);
		case T_MergeAppend:
			return walk_plans(((MergeAppend *) plan)->mergeplans, visit, context);
		case T_BitmapAnd:
			return walk_plans(((BitmapAnd *) plan)->bitmapplans, visit, context);
		case T_BitmapOr:
			return walk_plans(((BitmapOr *) plan)->bitmapplans, visit, context);
		case T_SubqueryScan:
			return walk_plan(((SubqueryScan *) plan)->subplan, visit, context);
		case T_CustomScan:
			return walk_plans(((CustomScan *) plan)->custom_plans, visit, context);
		default:
			return false;
	}
}

bool
ai_guard_plan_walk(PlannedStmt *stmt, AgPlanVisitor visit, void *context)
{
	return walk_plan(stmt->planTree, visit, context) ||
		walk_plans(stmt->subplans, visit, context);
}

List *
ai_guard_plan_exprs(Plan *plan)
{
	List	   *exprs = list_make2(plan->targetlist, plan->qual);

	switch (nodeTag(plan))
	{
		case T_Result:
			exprs = lappend(exprs, ((Result *) plan)->resconstantqual);
			break;
		case T_ModifyTable:
			{
				ModifyTable *mt = (ModifyTable *) plan;

				exprs = lappend(exprs, mt->withCheckOptionLists);
				exprs = lappend(exprs, mt->returningLists);
				exprs = lappend(exprs, mt->onConflictSet);
				exprs = lappend(exprs, mt->onConflictWhere);
				exprs = lappend(exprs, mt->mergeActionLists);
			}
			break;
		case T_IndexScan:
			exprs = lappend(exprs, ((IndexScan *) plan)->indexqualorig);
			exprs = lappend(exprs, ((IndexScan *) plan)->indexorderbyorig);
			break;
		case T_IndexOnlyScan:
			exprs = lappend(exprs, ((IndexOnlyScan *) plan)->recheckqual);
			exprs = lappend(exprs, ((IndexOnlyScan *) plan)->indexorderby);
			break;
		case T_BitmapIndexScan:
			exprs = lappend(exprs, ((BitmapIndexScan *) plan)->indexqualorig);
			break;
		case T_BitmapHeapScan:
			exprs = lappend(exprs, ((BitmapHeapScan *) plan)->bitmapqualorig);
			break;
		case T_TidScan:
			exprs = lappend(exprs, ((TidScan *) plan)->tidquals);
			break;
		case T_TidRangeScan:
			exprs = lappend(exprs, ((TidRangeScan *) plan)->tidrangequals);
			break;
		case T_FunctionScan:
			exprs = lappend(exprs, ((FunctionScan *) plan)->functions);
			break;
		case T_ValuesScan:
			exprs = lappend(exprs, ((ValuesScan *) plan)->values_lists);
			break;
		case T_TableFuncScan:
			exprs = lappend(exprs, ((TableFuncScan *) plan)->tablefunc);
			break;
		case T_ForeignScan:
			exprs = lappend(exprs, ((ForeignScan *) plan)->fdw_exprs);
			exprs = lappend(exprs, ((ForeignScan *) plan)->fdw_recheck_quals);
			break;
		case T_CustomScan:
			exprs = lappend(exprs, ((CustomScan *) plan)->custom_exprs);
			break;
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			exprs = lappend(exprs, ((Join *) plan)->joinqual);
			if (IsA(plan, MergeJoin))
				exprs = lappend(exprs, ((MergeJoin *) plan)->mergeclauses);
			if (IsA(plan, HashJoin))
			{
				exprs = lappend(exprs, ((HashJoin *) plan)->hashclauses);
				exprs = lappend(exprs, ((HashJoin *) plan)->hashkeys);
			}
			break;
		case T_Hash:
			exprs = lappend(exprs, ((Hash *) plan)->hashkeys);
			break;
		case T_Memoize:
			exprs = lappend(exprs, ((Memoize *) plan)->param_exprs);
			break;
		case T_WindowAgg:
			exprs = lappend(exprs, ((WindowAgg *) plan)->startOffset);
			exprs = lappend(exprs, ((WindowAgg *) plan)->endOffset);
			exprs = lappend(exprs, ((WindowAgg *) plan)->runCondition);
			break;
		case T_Limit:
			exprs = lappend(exprs, ((Limit *) plan)->limitOffset);
			exprs = lappend(exprs, ((Limit *) plan)->limitCount);
			break;
		default:
			break;
	}
	return exprs;
}
