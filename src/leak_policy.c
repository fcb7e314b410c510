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
 * in functions that send values elsewhere (pg_notify) stay allowed: what
 * they see is counted in the pull's rows_read; those that keep them beyond
 * the statement for a later one to copy anywhere (set_config, lo_from_bytea,
 * lo_put, lowrite) are not: copies must stay governed.  Functions
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
#include "access/relation.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "parser/parsetree.h"
#include "commands/trigger.h"
#include "utils/reltrigger.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "ai_guard.h"
#include "digest.h"
#include "leak_policy.h"
#include "plan_walk.h"

#define AG_SCHEMA "ai_guard"

/*---- GUC variables ----*/

bool		ai_guard_refuse_untrusted = true;

typedef struct PolicyContext
{
	PlannedStmt *stmt;
	Oid			ext;			/* ai_guard's pg_extension OID */
	Oid			found;			/* the first untrusted function */
	Bitmapset  *once;			/* InitPlan results that carry no column value */
}			PolicyContext;

/*
 * What a function does, as a hex SHA-256: its language, body, library
 * symbol, security and settings, and for an aggregate the same of its
 * support functions.  Trust is given to this, not to the OID: CREATE OR
 * REPLACE FUNCTION with another body withdraws it.  Names, not OIDs, so
 * that a restored function keeps its fingerprint.
 */
static void
fingerprint_add(StringInfo buf, Oid fnoid, int depth)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		isnull;
	Datum		d;
	const char *fields[5];
	char		prokind;
	int			i;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fnoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fnoid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	prokind = proc->prokind;
	fields[0] = get_language_name(proc->prolang, false);
	d = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
	fields[1] = isnull ? "" : TextDatumGetCString(d);
	d = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);
	fields[2] = isnull ? "" : TextDatumGetCString(d);
	d = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proconfig, &isnull);
	fields[3] = isnull ? "" : DatumGetCString(DirectFunctionCall1(array_out, d));
	fields[4] = psprintf("%c%c%c%c", prokind, proc->prosecdef ? 's' : 'i',
						 proc->proisstrict ? 's' : 'c', proc->provolatile);
	ReleaseSysCache(tup);
	/* length-framed, so that no two definitions frame alike */
	for (i = 0; i < 5; i++)
		appendStringInfo(buf, "%zu:%s;", strlen(fields[i]), fields[i]);

	/* an aggregate is what its support functions do */
	if (prokind == PROKIND_AGGREGATE && depth == 0)
	{
		HeapTuple	agg = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(fnoid));

		if (HeapTupleIsValid(agg))
		{
			Form_pg_aggregate a = (Form_pg_aggregate) GETSTRUCT(agg);
			Oid			support[8] = {a->aggtransfn, a->aggfinalfn, a->aggcombinefn,
				a->aggserialfn, a->aggdeserialfn, a->aggmtransfn, a->aggminvtransfn,
			a->aggmfinalfn};

			ReleaseSysCache(agg);
			for (i = 0; i < 8; i++)
				if (OidIsValid(support[i]))
					fingerprint_add(buf, support[i], depth + 1);
		}
	}
}

static char *
function_fingerprint(Oid fnoid)
{
	StringInfoData buf;
	char	   *hex = palloc(AG_SHA256_HEX_LEN + 1);

	initStringInfo(&buf);
	fingerprint_add(&buf, fnoid, 0);
	if (!ag_sha256_hex(buf.data, buf.len, hex))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not compute a function's fingerprint")));
	return hex;
}

/*
 * Is fnoid listed in ai_guard.trusted_functions, with the definition it
 * has now?
 */
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
		bool		isnull,
					fpnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);
		Datum		fp = heap_getattr(tup, 5, RelationGetDescr(rel), &fpnull);

		if (isnull || fpnull || DatumGetObjectId(d) != fnoid)
			continue;
		trusted = strcmp(TextDatumGetCString(fp), function_fingerprint(fnoid)) == 0;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return trusted;
}

/*
 * ai_guard's own functions (masking in masked views, consent in policies)
 * are in most governed plans: their membership is remembered, to spare a
 * pg_depend look-up per call per statement.  Keyed by the extension's OID
 * too, so a dropped and re-created extension starts afresh.
 */
typedef struct OwnFunction
{
	Oid			fnoid;
	Oid			ext;
}			OwnFunction;

static HTAB *own_functions = NULL;

static bool
belongs_to_ai_guard(Oid fnoid, Oid ext)
{
	OwnFunction *entry;
	bool		found;

	if (own_functions == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(OwnFunction);
		own_functions = hash_create("ai_guard own functions", 64, &ctl,
									HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(own_functions, &fnoid, HASH_FIND, &found);
	if (found && entry->ext == ext)
		return true;
	if (getExtensionOfObject(ProcedureRelationId, fnoid) != ext)
		return false;
	entry = hash_search(own_functions, &fnoid, HASH_ENTER, &found);
	entry->ext = ext;
	return true;
}

static bool
untrusted(Oid fnoid, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;
	HeapTuple	tup;
	bool		leakproof;

	/*
	 * Built-ins that keep what they see beyond the statement, where a later
	 * statement can write it anywhere: a setting, a large object
	 */
	if (fnoid == F_SET_CONFIG || fnoid == F_LO_FROM_BYTEA || fnoid == F_LO_PUT ||
		fnoid == F_LOWRITE)
	{
		if (function_trusted(fnoid))
			return false;
		pc->found = fnoid;
		return true;
	}
	if (fnoid < FirstNormalObjectId)
		return false;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fnoid));
	if (!HeapTupleIsValid(tup))
	{
		pc->found = fnoid;		/* fail closed */
		return true;
	}
	leakproof = ((Form_pg_proc) GETSTRUCT(tup))->proleakproof;
	ReleaseSysCache(tup);
	if (leakproof)
		return false;
	if (OidIsValid(pc->ext) && belongs_to_ai_guard(fnoid, pc->ext))
		return false;
	if (function_trusted(fnoid))
		return false;
	pc->found = fnoid;
	return true;
}

/*
 * Does an expression carry values of rows: a Var, a correlated SubPlan, a
 * parameter passed down per row (a nested loop's, a correlated subquery's),
 * the result of an uncorrelated subquery (an InitPlan) computed from column
 * values ("(SELECT string_agg(email, ',') FROM t)")?  Only an InitPlan
 * result computed from no column at all ("is((SELECT count(*) FROM t), 3)")
 * is like a constant.
 */
static bool
has_values(Node *node, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) ||
		IsA(node, CoerceToDomainValue) || IsA(node, CaseTestExpr))
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
		Plan	   *sub = (Plan *) list_nth(pc->stmt->subplans, sp->plan_id - 1);
		ListCell   *param = list_head(sp->setParam);
		ListCell   *tl;
		PolicyContext values_only = {NULL, InvalidOid, InvalidOid, NULL};

		/* the subquery's output columns set its params, in order */
		foreach(tl, sub->targetlist)
		{
			TargetEntry *tle = (TargetEntry *) lfirst(tl);

			if (tle->resjunk || param == NULL)
				continue;
			if (!has_values((Node *) tle->expr, &values_only))
				pc->once = bms_add_member(pc->once, lfirst_int(param));
			param = lnext(sp->setParam, param);
		}
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

/*
 * Does a value of this type pass through a domain's CHECK when it is built:
 * the type itself, or the elements of an array, the attributes of a
 * composite, the subtype of a range (array_in, record_in and
 * json_populate_record check them)?
 */
static bool
check_type(Oid typid, PolicyContext *pc, int depth)
{
	char		typtype;
	Oid			inner;

	if (typid < FirstNormalObjectId || depth > 8)
		return false;
	check_stack_depth();
	typtype = get_typtype(typid);
	if (typtype == TYPTYPE_DOMAIN)
		return check_domain(typid, pc) ||
			check_type(getBaseType(typid), pc, depth + 1);
	if (OidIsValid(inner = get_element_type(typid)))
		return check_type(inner, pc, depth + 1);
	if (typtype == TYPTYPE_RANGE)
		return check_type(get_range_subtype(typid), pc, depth + 1);
	if (typtype == TYPTYPE_MULTIRANGE)
		return check_type(get_multirange_range(typid), pc, depth + 1);
	if (typtype == TYPTYPE_COMPOSITE)
	{
		Oid			relid = get_typ_typrelid(typid);
		Relation	rel = relation_open(relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);
		bool		found = false;
		int			i;

		for (i = 0; i < desc->natts && !found; i++)
			if (!TupleDescAttr(desc, i)->attisdropped)
				found = check_type(TupleDescAttr(desc, i)->atttypid, pc, depth + 1);
		relation_close(rel, AccessShareLock);
		return found;
	}
	return false;
}

static bool
check_expr(Node *node, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;

	if (node == NULL)
		return false;

	/*
	 * A value built into a type with a domain in it runs the domain's CHECK:
	 * a cast to the domain, and also an array or record input, an array
	 * coercion, json_populate_record() and the like, whose result type
	 * holds it.
	 */
	if (IsA(node, CoerceToDomain) &&
		has_values((Node *) ((CoerceToDomain *) node)->arg, pc) &&
		check_domain(((CoerceToDomain *) node)->resulttype, pc))
		return true;
	if ((IsA(node, FuncExpr) || IsA(node, OpExpr) || IsA(node, CoerceViaIO) ||
		 IsA(node, ArrayCoerceExpr) || IsA(node, Aggref) || IsA(node, WindowFunc)) &&
		exprType(node) >= FirstNormalObjectId &&
		has_values(node, pc) && check_type(exprType(node), pc, 0))
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

/*
 * A trigger on a relation the statement writes sees every row written:
 * governed values, when they come from a governed read.  Its function is
 * applied to them like any other (ai_guard's stamping trigger is ai_guard's;
 * PostgreSQL's own foreign-key triggers are internal).
 */
static bool
check_triggers(Oid relid, PolicyContext *pc)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TriggerDesc *td = rel->trigdesc;
	bool		found = false;
	int			i;

	for (i = 0; td != NULL && i < td->numtriggers && !found; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (t->tgisinternal || t->tgenabled == TRIGGER_DISABLED)
			continue;
		found = untrusted(t->tgfoid, pc);
	}
	relation_close(rel, AccessShareLock);
	return found;
}

static bool
check_plan(Plan *plan, void *context)
{
	PolicyContext *pc = (PolicyContext *) context;

	if (IsA(plan, ModifyTable))
	{
		ListCell   *lc;

		foreach(lc, ((ModifyTable *) plan)->resultRelations)
			if (check_triggers(rt_fetch(lfirst_int(lc), pc->stmt->rtable)->relid, pc))
				return true;
	}
	return check_expr((Node *) ai_guard_plan_exprs(plan), context);
}

Oid
ai_guard_untrusted_function(PlannedStmt *stmt)
{
	PolicyContext pc;

	pc.stmt = stmt;
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
	Oid			types[4] = {OIDOID, NAMEOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	values[0] = ObjectIdGetDatum(function_arg(fcinfo));
	values[3] = CStringGetTextDatum(function_fingerprint(DatumGetObjectId(values[0])));
	values[1] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	if (PG_ARGISNULL(1))
	{
		values[2] = (Datum) 0;
		nulls[2] = 'n';
	}
	else
		values[2] = PG_GETARG_DATUM(1);
	(void) trust_sql("INSERT INTO ai_guard.trusted_functions (fn, trusted_by, reason, fingerprint)"
					 " VALUES ($1::pg_catalog.regprocedure, $2, $3, $4)"
					 " ON CONFLICT (fn) DO UPDATE SET trusted_by = EXCLUDED.trusted_by,"
					 " trusted_at = pg_catalog.now(), reason = EXCLUDED.reason,"
					 " fingerprint = EXCLUDED.fingerprint",
					 4, types, values, nulls);
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
