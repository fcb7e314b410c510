/*-------------------------------------------------------------------------
 *
 * derived.c
 *		Governance follows the data: relations written from governed rows
 *		become governed, and their columns carry the source labels.
 *
 * A copy of governed data (CREATE TABLE AS, SELECT INTO, a materialized
 * view and its refresh, INSERT/UPDATE/MERGE into an ungoverned table, a
 * partition detached from a governed table) is governed itself, with
 * reason 'derived', and ai_guard.derived_relations says from which pull
 * and which relations.  Its reads then need a purpose and are recorded,
 * and roles with masked access read its private columns only through a
 * masked view (masked_reads.c).
 *
 * Labels travel with the values.  Each column written is traced through
 * the finished plan to the columns it is computed from:
 *	- a plain copy of a column (a cast that keeps the bytes included) takes
 *	  that column's label as it is, mask and all;
 *	- an expression whose inputs are all shown as stored (public, or
 *	  internal without a mask) is 'internal' if any input is, else
 *	  'public';
 *	- anything else (an expression over PII, masked or unlabelled columns,
 *	  a constant, an aggregate of nothing, a UNION, a function scan) gets
 *	  no label: private, left out of masked views (privacy by default).
 * A column that already has a label keeps it unless the new value is more
 * private: a public column written from PII takes the PII label (or loses
 * its label), and the relation's masked views are rebuilt.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/rel.h"

#include "ai_guard.h"
#include "provenance.h"
#include "derived.h"
#include "governance_log.h"
#include "label.h"
#include "masking_sql.h"
#include "plan_walk.h"
#include "stats_policy.h"

#define AG_SCHEMA "ai_guard"

bool
ai_guard_derivable(Oid target)
{
	Oid			nsp = get_rel_namespace(target);
	char	   *nspname = OidIsValid(nsp) ? get_namespace_name(nsp) : NULL;

	return nspname != NULL &&
		strcmp(nspname, AG_SCHEMA) != 0 && !IsCatalogNamespace(nsp) &&
		strcmp(nspname, "information_schema") != 0;
}

static bool
is_temp(Oid relid)
{
	return get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

bool
ai_guard_plan_reads_tracked(PlannedStmt *ps, List *tracked_copies)
{
	ListCell   *lc;
	int			rti = 0;

	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind == RTE_RELATION && !list_member_int(ps->resultRelations, rti) &&
			(ai_guard_relation_is_tracked(rte->relid) || list_member_oid(tracked_copies, rte->relid)))
			return true;
	}
	return false;
}

void
ai_guard_refuse_untracked_copy(Oid target, const char *target_name, const char *source)
{
	if (OidIsValid(target))
	{
		if (!ai_guard_derivable(target) || is_temp(target) || ai_guard_relation_is_tracked(target))
			return;
		target_name = ai_guard_qualified_name(target);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("rows of tracked relation %s cannot be copied into untracked relation %s",
					source, target_name),
			 errdetail("The copy would lose the provenance and consent of the rows, so consent would no longer filter them."),
			 errhint("Track the target first with ai_guard.track('%s'), or copy into a temporary table.",
					 target_name)));
}

void
ai_guard_check_tracked_copy(PlannedStmt *ps, Oid target, const char *target_name,
							bool matview, List *tracked_copies)
{
	ListCell   *lc;
	int			rti = 0;

	/* (a materialized view being created does not exist yet) */
	if (OidIsValid(target) &&
		(!ai_guard_derivable(target) || is_temp(target) ||
		 (!matview && ai_guard_relation_is_tracked(target))))
		return;
	if (!OidIsValid(target) && !matview)
		return;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind != RTE_RELATION || list_member_int(ps->resultRelations, rti) ||
			!(ai_guard_relation_is_tracked(rte->relid) || list_member_oid(tracked_copies, rte->relid)))
			continue;
		if (matview)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("materialized view %s cannot hold rows of tracked relation %s",
							target_name ? target_name : ai_guard_qualified_name(target),
							ai_guard_qualified_name(rte->relid)),
					 errdetail("A materialized view cannot keep the provenance and consent of tracked rows, so consent would no longer filter them."),
					 errhint("Use CREATE TABLE ... AS, which tracks the copy with a derived batch, or a view.")));
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rows of tracked relation %s cannot be copied into untracked relation %s",
						ai_guard_qualified_name(rte->relid),
						ai_guard_qualified_name(target)),
				 errdetail("The copy would lose the provenance and consent of the rows, so consent would no longer filter them."),
				 errhint("Track the target first with ai_guard.track('%s'), or copy into a temporary table.",
						 ai_guard_qualified_name(target))));
	}
}

/*---- labels ----*/

typedef struct LabelTrace
{
	PlannedStmt *ps;
	AgGoverningFn governing;
	bool		governed_any;	/* the plan reads a governed relation */
	bool		touched;		/* the value traced so far may hold governed data */
	bool		target_governed;	/* the target was governed already */
}			LabelTrace;

/*
 * The value comes from somewhere not followed (a UNION, a CTE, a function
 * of columns, a subquery): it may hold governed data if the plan reads any
 */
static char *
untraced(LabelTrace *t)
{
	if (t->governed_any)
		t->touched = true;
	return NULL;
}

/*
 * Does expr read something its Vars do not show: a subquery (SubPlan), or
 * the result of one run beforehand (an initplan's PARAM_EXEC Param)?
 */
static bool
reads_subquery(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) ||
		(IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC))
		return true;
	return expression_tree_walker(node, reads_subquery, context);
}

static char *label_of_expr(LabelTrace *t, Plan *plan, Node *expr, int depth);

/* The ai_guard label of a table column (on its governed relation) */
static char *
column_label(LabelTrace *t, Oid relid, AttrNumber attnum)
{
	Oid			gov = t->governing(relid, get_rel_relkind(relid));
	ObjectAddress addr;

	if (OidIsValid(gov))
		t->touched = true;
	if (attnum <= 0)
		return NULL;
	if (OidIsValid(gov) && gov != relid)
	{
		char	   *name = get_attname(relid, attnum, true);

		if (name == NULL)
			return NULL;
		attnum = get_attnum(gov, name);
		relid = gov;
		if (attnum == InvalidAttrNumber)
			return NULL;
	}
	ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
	return GetSecurityLabel(&addr, "ai_guard");
}

/* The label of the value a Var of plan's expressions stands for */
static char *
label_of_var(LabelTrace *t, Plan *plan, Var *v, int depth)
{
	Plan	   *child = NULL;
	List	   *tlist = NIL;
	TargetEntry *tle;

	if (depth > 64)
		return untraced(t);
	if (v->varno == OUTER_VAR)
		child = plan->lefttree;
	else if (v->varno == INNER_VAR)
		child = plan->righttree;
	else if (v->varno == INDEX_VAR)
	{
		if (!IsA(plan, IndexOnlyScan))
			return untraced(t);
		tle = get_tle_by_resno(((IndexOnlyScan *) plan)->indextlist, v->varattno);
		if (tle == NULL || !IsA(tle->expr, Var) || ((Var *) tle->expr)->varno == INDEX_VAR)
			return untraced(t);
		return label_of_var(t, plan, (Var *) tle->expr, depth + 1);
	}
	else
	{
		RangeTblEntry *rte;

		if (v->varno < 1 || v->varno > list_length(t->ps->rtable))
			return untraced(t);
		rte = rt_fetch(v->varno, t->ps->rtable);
		if (rte->rtekind == RTE_RELATION)
			return column_label(t, rte->relid, v->varattno);
		if (rte->rtekind == RTE_SUBQUERY && IsA(plan, SubqueryScan))
		{
			child = ((SubqueryScan *) plan)->subplan;
			tlist = child->targetlist;
		}
		else if ((rte->rtekind == RTE_FUNCTION || rte->rtekind == RTE_VALUES) &&
				 pull_var_clause((Node *) (rte->rtekind == RTE_FUNCTION ?
										   (Node *) rte->functions :
										   (Node *) rte->values_lists), 0) == NIL &&
				 !reads_subquery((Node *) (rte->rtekind == RTE_FUNCTION ?
										   (Node *) rte->functions :
										   (Node *) rte->values_lists), NULL))
			return NULL;		/* made of constants (generate_series(1, n)) */
		else
			return untraced(t);
	}
	if (child == NULL)
		return untraced(t);		/* Append and the like: not followed */
	if (tlist == NIL)
		tlist = child->targetlist;
	tle = get_tle_by_resno(tlist, v->varattno);
	if (tle == NULL)
		return untraced(t);
	return label_of_expr(t, child, (Node *) tle->expr, depth + 1);
}


/* expr without the casts around it */
static Node *
strip_casts(Node *expr)
{
	for (;;)
	{
		if (expr && IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (expr && IsA(expr, CoerceViaIO))
			expr = (Node *) ((CoerceViaIO *) expr)->arg;
		else if (expr && IsA(expr, FuncExpr) &&
				 ((FuncExpr *) expr)->funcformat != COERCE_EXPLICIT_CALL &&
				 list_length(((FuncExpr *) expr)->args) >= 1)
			expr = linitial(((FuncExpr *) expr)->args);
		else
			return expr;
	}
}

/* Does argument arg of a call hold the literal a of label? */
static bool
const_matches(Node *arg, const char *label, const ag_label_arg *a)
{
	Const	   *c;
	Oid			out;
	bool		varlena;
	char	   *text;
	char	   *want;

	arg = strip_casts(arg);
	if (arg == NULL || !IsA(arg, Const) || ((Const *) arg)->constisnull)
		return false;
	c = (Const *) arg;
	getTypeOutputInfo(c->consttype, &out, &varlena);
	text = OidOutputFunctionCall(out, c->constvalue);
	want = palloc(a->len + 1);
	if (a->is_string)
		want[ag_label_unquote(label, a, want)] = '\0';
	else
	{
		memcpy(want, label + a->start, a->len);
		want[a->len] = '\0';
	}
	return strcmp(text, want) == 0;
}

/* Is arg, argument argno of funcid, the default the function declares? */
static bool
is_default_argument(Oid funcid, int argno, Node *arg)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	bool		isnull;
	Datum		d;
	List	   *defaults;
	int			first;
	bool		result = false;

	if (!HeapTupleIsValid(tup))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	first = proc->pronargs - proc->pronargdefaults;
	d = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proargdefaults, &isnull);
	if (!isnull && argno >= first && argno < proc->pronargs)
	{
		defaults = castNode(List, stringToNode(TextDatumGetCString(d)));
		result = equal(strip_casts(arg), strip_casts(list_nth(defaults, argno - first)));
	}
	ReleaseSysCache(tup);
	return result;
}

/*
 * A masked value: expr applies to a column exactly the mask its label asks
 * for (the masked view's expression for it), so a copy of a masked view
 * keeps masked columns readable to masked roles ('internal': shown as
 * stored, the value is masked already).  NULL if it is anything else.
 */
static char *
label_of_masked(LabelTrace *t, Plan *plan, FuncExpr *f, int depth)
{
	char	   *fname = get_func_name(f->funcid);
	Oid			fnsp = get_func_namespace(f->funcid);
	Node	   *arg;
	char	   *label;
	ag_label	l;
	const char *err;
	ListCell   *lc;
	int			k = 0;

	if (fname == NULL || list_length(f->args) < 1 || !OidIsValid(fnsp) ||
		strcmp(get_namespace_name(fnsp), AG_SCHEMA) != 0)
		return NULL;
	arg = strip_casts(linitial(f->args));
	if (arg == NULL || !IsA(arg, Var))
		return NULL;
	/* (a PII label without a rule: its kind's default mask) */
	label = ai_guard_effective_label(label_of_var(t, plan, (Var *) arg, depth),
									 ((Var *) arg)->vartype);
	if (label == NULL || !ag_label_parse(label, strlen(label), &l, &err) ||
		l.fn == AG_FN_NONE || strcmp(fname, ag_label_fn_name(l.fn)) != 0 ||
		list_length(f->args) < l.nargs + 1)
		return NULL;
	for_each_from(lc, f->args, 1)
	{
		/* the label's arguments, then the function's own defaults */
		if (k < l.nargs ? !const_matches(lfirst(lc), label, &l.args[k]) :
			!is_default_argument(f->funcid, foreach_current_index(lc), lfirst(lc)))
			return NULL;
		k++;
	}
	return pstrdup("internal");
}

/* The label of a value that expr computes in plan (see the file header) */
static char *
label_of_expr(LabelTrace *t, Plan *plan, Node *expr, int depth)
{
	List	   *vars;
	ListCell   *lc;
	bool		internal = false;

	while (expr && IsA(expr, RelabelType))
		expr = (Node *) ((RelabelType *) expr)->arg;
	if (expr == NULL)
		return NULL;
	if (reads_subquery(expr, NULL))
		return untraced(t);		/* what a subquery read is not followed */
	if (IsA(expr, Var))
		return label_of_var(t, plan, (Var *) expr, depth);
	if (IsA(expr, FuncExpr))
	{
		char	   *masked = label_of_masked(t, plan, (FuncExpr *) expr, depth);

		if (masked)
			return masked;
	}

	vars = pull_var_clause(expr, PVC_RECURSE_AGGREGATES | PVC_RECURSE_WINDOWFUNCS |
						   PVC_RECURSE_PLACEHOLDERS);
	if (vars == NIL)
		return NULL;
	foreach(lc, vars)
	{
		char	   *label = label_of_var(t, plan, lfirst_node(Var, lc), depth);
		ag_label	l;
		const char *err;

		if (label == NULL || !ag_label_parse(label, strlen(label), &l, &err) ||
			!ag_label_shown_as_stored(&l))
			return NULL;
		if (l.cls == AG_CLASS_INTERNAL)
			internal = true;
	}
	return pstrdup(internal ? "internal" : "public");
}

static bool
label_shown_as_stored(const char *label)
{
	ag_label	l;
	const char *err;

	return label != NULL && ag_label_parse(label, strlen(label), &l, &err) &&
		ag_label_shown_as_stored(&l);
}

/*
 * Gives column attnum of target the label of the value written into it
 * (NULL: private; may_hold_governed: the value may hold governed data).
 * Returns true if the label changed.
 */
static bool
relabel_column(Oid target, AttrNumber attnum, StringInfo changes,
			   bool may_hold_governed, bool target_governed, const char *label)
{
	ObjectAddress addr;
	char	   *old;

	if (attnum <= 0 || get_attname(target, attnum, true) == NULL)
		return false;
	ObjectAddressSubSet(addr, RelationRelationId, target, attnum);
	old = GetSecurityLabel(&addr, "ai_guard");
	if (old == NULL)
	{
		/*
		 * An unlabelled column of a governed relation is private already
		 * (its owner has not classified it); a copy's takes its value's
		 */
		if (label == NULL || target_governed)
			return false;
	}
	else if (!label_shown_as_stored(old) || label_shown_as_stored(label) ||
			 (label != NULL && strcmp(old, label) == 0))
		return false;			/* the old label is as private or more */
	else if (label == NULL && !may_hold_governed)
		return false;			/* new values from no governed data (ingest) */
	SetSecurityLabel(&addr, "ai_guard", label);
	CommandCounterIncrement();	/* another action may write the column too */
	appendStringInfo(changes, "%s%s: %s", changes->len > 1 ? ", " : "",
					 ai_guard_json_string(get_attname(target, attnum, false)),
					 label ? ai_guard_json_string(label) : "null");
	return true;
}

/* The ModifyTable node that writes target */
typedef struct FindWriter
{
	PlannedStmt *ps;
	Oid			target;
	ModifyTable *mt;
	int			index;			/* of target in its resultRelations */
}			FindWriter;

static bool
find_writer(Plan *plan, void *context)
{
	FindWriter *f = (FindWriter *) context;
	ListCell   *lc;
	int			i = 0;

	if (!IsA(plan, ModifyTable))
		return false;
	/* a partitioned table is written through its partitions: the first */
	if (((ModifyTable *) plan)->rootRelation > 0 &&
		rt_fetch(((ModifyTable *) plan)->rootRelation, f->ps->rtable)->relid == f->target &&
		((ModifyTable *) plan)->resultRelations != NIL)
	{
		f->mt = (ModifyTable *) plan;
		f->index = 0;
		return true;
	}
	foreach(lc, ((ModifyTable *) plan)->resultRelations)
	{
		if (rt_fetch(lfirst_int(lc), f->ps->rtable)->relid == f->target)
		{
			f->mt = (ModifyTable *) plan;
			f->index = i;
			return true;
		}
		i++;
	}
	return false;
}

/* Does the plan read or write a governed relation? */
static bool
reads_governed(PlannedStmt *ps, AgGoverningFn governing)
{
	ListCell   *lc;

	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && OidIsValid(governing(rte->relid, rte->relkind)))
			return true;
	}
	return false;
}

/*
 * Labels column attnum of target from the value expr computes in plan; a
 * value that cannot be traced makes a labelled column private only if it
 * may hold governed data (not for new values: an ingest, a constant).
 */
static bool
relabel_traced(LabelTrace *t, Oid target, AttrNumber attnum, StringInfo changes,
			   Plan *plan, Node *expr)
{
	char	   *label;

	t->touched = false;
	label = label_of_expr(t, plan, expr, 0);
	return relabel_column(target, attnum, changes, t->touched, t->target_governed, label);
}

/* Labels the columns of target from the values the plan writes into them */
static bool
label_columns(Oid target, PlannedStmt *ps, bool into, AgGoverningFn governing,
			  StringInfo changes)
{
	LabelTrace	t = {ps, governing, reads_governed(ps, governing), false,
	OidIsValid(governing(target, get_rel_relkind(target)))};
	FindWriter	f = {ps, target, NULL, 0};
	bool		changed = false;
	ListCell   *lc;
	AttrNumber	attnum = 0;

	if (into)
	{
		foreach(lc, ps->planTree->targetlist)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (tle->resjunk)
				continue;
			changed |= relabel_traced(&t, target, ++attnum, changes, ps->planTree,
									  (Node *) tle->expr);
		}
		return changed;
	}
	if (!ai_guard_plan_walk(ps, find_writer, &f) || f.mt->plan.lefttree == NULL)
		return false;

	if (f.mt->operation == CMD_INSERT)
	{
		/* the subplan computes the new row, column by column */
		foreach(lc, f.mt->plan.lefttree->targetlist)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (!tle->resjunk)
				changed |= relabel_traced(&t, target, tle->resno, changes,
										  f.mt->plan.lefttree, (Node *) tle->expr);
		}
	}
	else if (f.mt->operation == CMD_UPDATE)
	{
		/*
		 * The subplan computes the new values of the columns updated,
		 * numbered as in the result relation (a partition's own numbers)
		 */
		List	   *colnos = list_nth(f.mt->updateColnosLists, f.index);
		ListCell   *lcn = list_head(colnos);
		Oid			resrel = rt_fetch(list_nth_int(f.mt->resultRelations, f.index),
									  ps->rtable)->relid;

		foreach(lc, f.mt->plan.lefttree->targetlist)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);
			AttrNumber	att;

			if (tle->resjunk || lcn == NULL)
				continue;
			att = lfirst_int(lcn);
			if (resrel != target)
				att = get_attnum(target, get_attname(resrel, att, false));
			changed |= relabel_traced(&t, target, att, changes, f.mt->plan.lefttree,
									  (Node *) tle->expr);
			lcn = lnext(colnos, lcn);
		}
	}
	else if (f.mt->operation == CMD_MERGE)
	{
		/* the actions' expressions read the join below as INNER_VAR */
		Plan		join = {0};

		join.lefttree = f.mt->plan.lefttree;
		join.righttree = f.mt->plan.lefttree;
		foreach(lc, list_nth(f.mt->mergeActionLists, f.index))
		{
			MergeAction *action = lfirst_node(MergeAction, lc);
			ListCell   *lt;

			foreach(lt, action->targetList)
			{
				TargetEntry *tle = lfirst_node(TargetEntry, lt);

				if (!tle->resjunk)
					changed |= relabel_traced(&t, target, tle->resno, changes, &join,
											  (Node *) tle->expr);
			}
		}
	}
	return changed;
}

/*
 * The labels of target changed (changes: a JSON object of column: label):
 * one governance record with reason, and its masked views and statistics
 * follow
 */
static void
labels_changed(Oid target, StringInfo changes, const char *reason)
{
	ai_guard_govlog_set_reason(reason);
	PG_TRY();
	{
		ai_guard_govlog_record("security label", "derive",
							   ai_guard_qualified_name(target), NULL, changes->data);
	}
	PG_FINALLY();
	{
		ai_guard_govlog_set_reason(NULL);
	}
	PG_END_TRY();
	ai_guard_refresh_masked_views(target);
	ai_guard_strip_statistics(target, true);
}

/*---- governing the copy ----*/

/* an extension not yet updated to 0.3 has no derived copies */
static bool
schema_has_derivations(void)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("derived_relations", nsp));
}

static Oid
catalog_owner(void)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, false);
	Oid			gr = get_relname_relid("governed_relations", nsp);

	if (!OidIsValid(gr))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"ai_guard\" is not installed in this database")));
	return ai_guard_relation_owner(gr);
}

/* governed_relations gets (target, 'derived'), derived_relations the why */
static void
record_derivation(Oid target, int64 pull_id, List *sources)
{
	Oid			types[4] = {OIDOID, INT8OID, TEXTARRAYOID, NAMEOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	Datum	   *elems;
	int			n = 0;
	ListCell   *lc;

	elems = palloc(sizeof(Datum) * Max(list_length(sources), 1));
	foreach(lc, sources)
		elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	values[0] = ObjectIdGetDatum(target);
	values[1] = Int64GetDatum(pull_id);
	if (pull_id == 0)
		nulls[1] = 'n';
	values[2] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	ai_guard_exec_as_owner(catalog_owner(),
						   "INSERT INTO ai_guard.governed_relations (rel, reason, added_by)"
						   " VALUES ($1::pg_catalog.regclass, 'derived', $4)"
						   " ON CONFLICT (rel, reason) DO NOTHING",
						   4, types, values, nulls);
	ai_guard_exec_as_owner(catalog_owner(),
						   "INSERT INTO ai_guard.derived_relations"
						   " (rel, pull_id, sources, derived_by)"
						   " VALUES ($1::pg_catalog.regclass, $2, $3, $4)",
						   4, types, values, nulls);
}

void
ai_guard_derive_labels(Oid target, PlannedStmt *ps, bool into, int64 pull_id,
					   AgGoverningFn governing)
{
	StringInfoData changes;

	if (!OidIsValid(target) || !ai_guard_derivable(target) || !schema_has_derivations())
		return;
	initStringInfo(&changes);
	appendStringInfoChar(&changes, '{');
	if (!label_columns(target, ps, into, governing, &changes))
		return;
	appendStringInfoChar(&changes, '}');

	labels_changed(target, &changes,
				   pull_id ? psprintf("written by pull " INT64_FORMAT, pull_id) :
				   "written from governed data");
}

void
ai_guard_derive_untraced(Oid target, int64 pull_id)
{
	Relation	rel;
	TupleDesc	desc;
	StringInfoData changes;
	int			i;

	if (!ai_guard_derivable(target) || !schema_has_derivations())
		return;
	initStringInfo(&changes);
	appendStringInfoChar(&changes, '{');
	rel = relation_open(target, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped)
			(void) relabel_column(target, a->attnum, &changes, true, false, NULL);
	}
	relation_close(rel, AccessShareLock);
	appendStringInfoChar(&changes, '}');
	if (changes.len > 2)
		labels_changed(target, &changes,
					   psprintf("written by code that read pull " INT64_FORMAT, pull_id));
}

void
ai_guard_derive_govern(Oid target, int64 pull_id, List *sources)
{
	if (OidIsValid(target) && get_rel_name(target) != NULL &&
		ai_guard_derivable(target) && !is_temp(target) && schema_has_derivations())
		record_derivation(target, pull_id, sources);
}

void
ai_guard_derive_detached(Oid child, Oid parent)
{
	Relation	rel;
	TupleDesc	desc;
	StringInfoData changes;
	int			i;

	if (!ai_guard_derivable(child) || is_temp(child) || !schema_has_derivations())
		return;
	record_derivation(child, 0, list_make1(ai_guard_qualified_name(parent)));

	/*
	 * While attached, its rows were classified by the parent's labels (its
	 * own were not read); leaving, it takes them, and loses any other.
	 */
	initStringInfo(&changes);
	appendStringInfoChar(&changes, '{');
	rel = relation_open(child, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		AttrNumber	patt;
		ObjectAddress paddr;
		ObjectAddress caddr;
		char	   *plabel = NULL;
		char	   *clabel;

		if (a->attisdropped)
			continue;
		patt = get_attnum(parent, NameStr(a->attname));
		if (patt != InvalidAttrNumber)
		{
			ObjectAddressSubSet(paddr, RelationRelationId, parent, patt);
			plabel = GetSecurityLabel(&paddr, "ai_guard");
		}
		ObjectAddressSubSet(caddr, RelationRelationId, child, a->attnum);
		clabel = GetSecurityLabel(&caddr, "ai_guard");
		if ((plabel == NULL) == (clabel == NULL) &&
			(plabel == NULL || strcmp(plabel, clabel) == 0))
			continue;
		SetSecurityLabel(&caddr, "ai_guard", plabel);
		CommandCounterIncrement();
		appendStringInfo(&changes, "%s%s: %s", changes.len > 1 ? ", " : "",
						 ai_guard_json_string(NameStr(a->attname)),
						 plabel ? ai_guard_json_string(plabel) : "null");
	}
	relation_close(rel, AccessShareLock);
	appendStringInfoChar(&changes, '}');
	if (changes.len > 2)
		labels_changed(child, &changes,
					   psprintf("leaves %s", ai_guard_qualified_name(parent)));
}

/* SQL function: ai_guard.declassify(regclass, text) */
PG_FUNCTION_INFO_V1(ai_guard_declassify);
Datum
ai_guard_declassify(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *reason;
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	volatile uint64 n = 0;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to declassify"),
				 errhint("Only a superuser (the platform team) may release a copy of governed data from governance.")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	relid = PG_GETARG_OID(0);
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	reason = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (reason == NULL || *reason == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("declassifying %s needs a reason", ai_guard_qualified_name(relid)),
				 errhint("Say why the copy may leave governance, for example 'anonymized export, reviewed by privacy team'.")));

	values[0] = ObjectIdGetDatum(relid);
	ai_guard_govlog_set_reason(reason);
	PG_TRY();
	{
		n = ai_guard_exec_as_owner(catalog_owner(),
								   "DELETE FROM ai_guard.governed_relations"
								   " WHERE rel = $1::pg_catalog.regclass AND reason = 'derived'",
								   1, types, values, NULL);
	}
	PG_FINALLY();
	{
		ai_guard_govlog_set_reason(NULL);
	}
	PG_END_TRY();
	PG_RETURN_BOOL(n > 0);
}
