/*-------------------------------------------------------------------------
 *
 * leak_policy.c
 *		Which functions may see the values of a governed read.
 *
 * A statement that returns one row can still send every value it reads
 * elsewhere: a function in its WHERE clause that raises a notice, writes to
 * a table or calls pg_notify() for each row.  The audit records the rows
 * such a statement examined (read_counts.c); this policy keeps code the
 * platform team has not vetted from seeing governed values at all.
 *
 * A function applied to column values of a statement that reads a governed
 * relation must be built in (an OID below FirstNormalObjectId), belong to
 * ai_guard, be LEAKPROOF (only a superuser can say so), or be trusted with
 * ai_guard.trust_function(), which records who trusted it and when.  Built-
 * in functions that send values elsewhere (pg_notify, lo_from_bytea) stay
 * allowed: what they see is counted in the pull's rows_read.  Functions
 * reached through a domain's CHECK constraint count as applied too.
 *
 * The check looks at the finished plan: views are expanded, SQL functions
 * that could be inlined are (their bodies are checked, not their names),
 * and what is checked is what will run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "ai_guard.h"
#include "leak_policy.h"
#include "plan_walk.h"

#define AG_SCHEMA "ai_guard"

/*---- GUC variables ----*/

bool		ai_guard_refuse_untrusted = true;

typedef struct PolicyContext
{
	Oid			ext;			/* ai_guard's pg_extension OID */
	Oid			found;			/* the first untrusted function */
	Bitmapset  *once;			/* params set once per run, by InitPlans */
}			PolicyContext;

/* Is fnoid listed in ai_guard.trusted_functions? */
static bool
function_trusted(Oid fnoid)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("trusted_functions", nsp) : InvalidOid;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	bool		trusted = false;

	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	snap = RegisterSnapshot(GetCatalogSnapshot(relid));
	scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
	while (!trusted && (tup = systable_getnext(scan)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		trusted = !isnull && DatumGetObjectId(d) == fnoid;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return trusted;
}

static bool
untrusted(Oid fnoid, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;
	HeapTuple	tup;
	bool		leakproof;

	if (fnoid < FirstNormalObjectId)
		return false;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fnoid));
	if (!HeapTupleIsValid(tup))
		return true;			/* fail closed */
	leakproof = ((Form_pg_proc) GETSTRUCT(tup))->proleakproof;
	ReleaseSysCache(tup);
	if (leakproof)
		return false;
	if (OidIsValid(pc->ext) &&
		getExtensionOfObject(ProcedureRelationId, fnoid) == pc->ext)
		return false;
	if (function_trusted(fnoid))
		return false;
	pc->found = fnoid;
	return true;
}

/*
 * Does an expression carry values of rows: a Var, a correlated SubPlan, a
 * parameter passed down per row (a nested loop's, a correlated subquery's)?
 * The result of an uncorrelated subquery (an InitPlan: "is((SELECT count(*)
 * FROM t), 3)") is one value per statement, like a constant; what it
 * examined is counted in rows_read.
 */
static bool
has_values(Node *node, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) ||
		IsA(node, CoerceToDomainValue))
		return true;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC &&
		!bms_is_member(((Param *) node)->paramid, pc->once))
		return true;
	return expression_tree_walker(node, has_values, context);
}

static bool
collect_initplan_params(Plan *plan, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;
	ListCell   *lc;

	foreach(lc, plan->initPlan)
	{
		SubPlan    *sp = (SubPlan *) lfirst(lc);
		ListCell   *pc2;

		foreach(pc2, sp->setParam)
			pc->once = bms_add_member(pc->once, lfirst_int(pc2));
	}
	return false;
}

static bool check_expr(Node *node, void *context);

/* A domain's CHECK constraints run on the value cast to it. */
static bool
check_domain(Oid typid, PolicyContext *pc)
{
	DomainConstraintRef *ref;
	ListCell   *lc;

	if (typid < FirstNormalObjectId || !DomainHasConstraints(typid))
		return false;
	/* it registers a reset callback in the context: not on the stack */
	ref = palloc(sizeof(DomainConstraintRef));
	InitDomainConstraintRef(typid, ref, CurrentMemoryContext, false);
	foreach(lc, ref->constraints)
	{
		DomainConstraintState *c = (DomainConstraintState *) lfirst(lc);

		if (c->constrainttype == DOM_CONSTRAINT_CHECK &&
			check_expr((Node *) c->check_expr, pc))
			return true;
	}
	return false;
}

static bool
check_expr(Node *node, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;

	if (node == NULL)
		return false;
	if (IsA(node, CoerceToDomain) &&
		has_values((Node *) ((CoerceToDomain *) node)->arg, pc) &&
		check_domain(((CoerceToDomain *) node)->resulttype, pc))
		return true;
	if (check_functions_in_node(node, untrusted, pc))
	{
		/* only a call that sees values matters */
		if (has_values(node, pc))
			return true;
		pc->found = InvalidOid;
	}
	return expression_tree_walker(node, check_expr, context);
}

static bool
check_plan(Plan *plan, void *context)
{
	return check_expr((Node *) ai_guard_plan_exprs(plan), context);
}

Oid
ai_guard_untrusted_function(PlannedStmt *stmt)
{
	PolicyContext pc;

	pc.ext = get_extension_oid("ai_guard", true);
	pc.found = InvalidOid;
	pc.once = NULL;
	(void) ai_guard_plan_walk(stmt, collect_initplan_params, &pc);
	if (ai_guard_plan_walk(stmt, check_plan, &pc))
		return pc.found;
	return InvalidOid;
}

/*------------------------------------------------------------------------
 * SQL functions
 *------------------------------------------------------------------------
 */

static uint64
trust_sql(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, false);
	Oid			relid = get_relname_relid("trusted_functions", nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("ai_guard.trusted_functions does not exist"),
				 errhint("Update the extension with ALTER EXTENSION ai_guard UPDATE.")));
	return ai_guard_exec_as_owner(ai_guard_relation_owner(relid), sql,
								  nargs, types, values, nulls);
}

static Oid
function_arg(FunctionCallInfo fcinfo)
{
	Oid			fnoid;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("function must not be NULL")));
	fnoid = PG_GETARG_OID(0);
	if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(fnoid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function with OID %u does not exist", fnoid)));
	return fnoid;
}

/* SQL function: ai_guard.trust_function(regprocedure, text) */
PG_FUNCTION_INFO_V1(ai_guard_trust_function);
Datum
ai_guard_trust_function(PG_FUNCTION_ARGS)
{
	Oid			types[3] = {OIDOID, NAMEOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	values[0] = ObjectIdGetDatum(function_arg(fcinfo));
	values[1] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	if (PG_ARGISNULL(1))
	{
		values[2] = (Datum) 0;
		nulls[2] = 'n';
	}
	else
		values[2] = PG_GETARG_DATUM(1);
	(void) trust_sql("INSERT INTO ai_guard.trusted_functions (fn, trusted_by, reason)"
					 " VALUES ($1::pg_catalog.regprocedure, $2, $3)"
					 " ON CONFLICT (fn) DO UPDATE SET trusted_by = EXCLUDED.trusted_by,"
					 " trusted_at = pg_catalog.now(), reason = EXCLUDED.reason",
					 3, types, values, nulls);
	PG_RETURN_VOID();
}

/* SQL function: ai_guard.distrust_function(regprocedure) */
PG_FUNCTION_INFO_V1(ai_guard_distrust_function);
Datum
ai_guard_distrust_function(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	values[0] = ObjectIdGetDatum(function_arg(fcinfo));
	PG_RETURN_BOOL(trust_sql("DELETE FROM ai_guard.trusted_functions"
							 " WHERE fn = $1::pg_catalog.regprocedure",
							 1, types, values, NULL) > 0);
}

void
ai_guard_leak_policy_init(void)
{
	DefineCustomBoolVariable("ai_guard.refuse_untrusted_functions",
							 "Refuses governed reads that apply untrusted functions to column values.",
							 "A function is trusted if it is built in, belongs to ai_guard, is LEAKPROOF, or was trusted with ai_guard.trust_function().",
							 &ai_guard_refuse_untrusted,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}
