/*-------------------------------------------------------------------------
 *
 * stats_policy.c
 *		Planner statistics of governed relations hold no raw values.
 *
 * ANALYZE keeps the most common values and histogram bounds of each column
 * in pg_statistic, and pg_stats shows them to any role with SELECT on the
 * column: raw e-mail addresses and card numbers, with no purpose and no
 * record, and EXPLAIN's row estimates become an oracle for them.  So a
 * column of a governed relation keeps statistics only if masked views show
 * it as stored (labelled public or internal, without a mask); PII, masked
 * and unlabelled columns keep none (attstattarget = 0, the setting ALTER
 * TABLE ... SET STATISTICS 0 makes): privacy by default, as in masked views.
 *
 * The price is planner knowledge of those columns: no null fraction, no
 * number of distinct values, so equality and grouping on them are
 * estimated with the planner's defaults (docs/audit.md gives the figures).
 * Unique indexes still tell the planner a lookup finds one row.
 *
 * Applied when a relation becomes governed (a trigger on
 * governed_relations), when a column of a governed relation is labelled,
 * and before every ANALYZE of one; a statement that would collect such
 * statistics again (SET STATISTICS, CREATE STATISTICS) is refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/heap.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_statistic_ext.h"
#include "commands/defrem.h"
#include "commands/seclabel.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ai_guard.h"
#include "label.h"
#include "stats_policy.h"

bool
ai_guard_column_shown_raw(Oid relid, AttrNumber attnum)
{
	ObjectAddress addr;
	char	   *label;
	ag_label	l;
	const char *err;

	ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
	label = GetSecurityLabel(&addr, "ai_guard");
	return label != NULL && ag_label_parse(label, strlen(label), &l, &err) &&
		ag_label_shown_as_stored(&l);
}

/*
 * Sets a column's statistics target; only_stripped: only if it is 0 (as
 * stripping left it), so that a target the owner chose is kept.
 */
static void
set_stattarget(Oid relid, AttrNumber attnum, int target, bool only_stripped)
{
	Relation	attrel = table_open(AttributeRelationId, RowExclusiveLock);
	HeapTuple	tup = SearchSysCacheCopy2(ATTNUM, ObjectIdGetDatum(relid),
										  Int16GetDatum(attnum));

	if (HeapTupleIsValid(tup))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

		if (only_stripped ? att->attstattarget == 0 : att->attstattarget != target)
		{
			att->attstattarget = target;
			CatalogTupleUpdate(attrel, &tup->t_self, tup);
		}
		heap_freetuple(tup);
	}
	table_close(attrel, RowExclusiveLock);
}

/* attstattarget = 0 and no pg_statistic rows for one column */
static void
strip_column(Oid relid, AttrNumber attnum)
{
	set_stattarget(relid, attnum, 0, false);
	RemoveStatistics(relid, attnum);
}

/* The columns (by number in rel) that keep no statistics */
static Bitmapset *
private_columns(Relation rel, Oid labelled_relid)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Bitmapset  *cols = NULL;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		AttrNumber	labelled = a->attnum;

		if (a->attisdropped)
			continue;
		/* a partition's columns carry the labels of its root's */
		if (labelled_relid != RelationGetRelid(rel))
			labelled = get_attnum(labelled_relid, NameStr(a->attname));
		if (labelled == InvalidAttrNumber ||
			!ai_guard_column_shown_raw(labelled_relid, labelled))
			cols = bms_add_member(cols, a->attnum);
	}
	return cols;
}

static void
strip_relation(Oid relid, Oid labelled_relid, bool relabelled)
{
	Relation	rel = try_relation_open(relid, ShareUpdateExclusiveLock);
	Bitmapset  *cols;
	int			col = -1;
	ListCell   *lc;
	int			i;

	if (rel == NULL)
		return;
	cols = private_columns(rel, labelled_relid);
	while ((col = bms_next_member(cols, col)) >= 0)
		strip_column(relid, (AttrNumber) col);
	/* a column labelled to be shown as stored gets its statistics back */
	if (relabelled)
		for (i = 1; i <= RelationGetDescr(rel)->natts; i++)
			if (!bms_is_member(i, cols) && !TupleDescAttr(RelationGetDescr(rel), i - 1)->attisdropped)
				set_stattarget(relid, (AttrNumber) i, -1, true);

	/* expression indexes over those columns keep statistics of their own */
	foreach(lc, RelationGetIndexList(rel))
	{
		Oid			indexoid = lfirst_oid(lc);
		Relation	index = index_open(indexoid, AccessShareLock);
		List	   *exprs = RelationGetIndexExpressions(index);
		ListCell   *ec = list_head(exprs);
		int			i;

		for (i = 0; i < index->rd_index->indnatts && ec != NULL; i++)
		{
			Bitmapset  *used = NULL;
			Node	   *expr;
			int			k = -1;
			bool		private = false;

			if (index->rd_index->indkey.values[i] != 0)
				continue;
			expr = (Node *) lfirst(ec);
			ec = lnext(exprs, ec);
			pull_varattnos(expr, 1, &used);
			while ((k = bms_next_member(used, k)) >= 0)
			{
				AttrNumber	a = k + FirstLowInvalidHeapAttributeNumber;

				if (a <= 0 || bms_is_member(a, cols))
					private = true;
			}
			if (private)
				strip_column(indexoid, (AttrNumber) (i + 1));
		}
		index_close(index, AccessShareLock);
	}

	/* extended statistics: most common values of column combinations */
	foreach(lc, RelationGetStatExtList(rel))
	{
		Oid			statoid = lfirst_oid(lc);
		Relation	extrel = table_open(StatisticExtRelationId, RowExclusiveLock);
		HeapTuple	tup = SearchSysCacheCopy1(STATEXTOID, ObjectIdGetDatum(statoid));
		Form_pg_statistic_ext st;
		bool		private;
		int			i;

		if (!HeapTupleIsValid(tup))
		{
			table_close(extrel, RowExclusiveLock);
			continue;
		}
		st = (Form_pg_statistic_ext) GETSTRUCT(tup);
		private = !heap_attisnull(tup, Anum_pg_statistic_ext_stxexprs, NULL);
		for (i = 0; i < st->stxkeys.dim1; i++)
			if (bms_is_member(st->stxkeys.values[i], cols))
				private = true;
		if (private)
		{
			if (st->stxstattarget != 0)
			{
				st->stxstattarget = 0;
				CatalogTupleUpdate(extrel, &tup->t_self, tup);
			}
			RemoveStatisticsDataById(statoid, false);
			RemoveStatisticsDataById(statoid, true);
		}
		heap_freetuple(tup);
		table_close(extrel, RowExclusiveLock);
	}
	relation_close(rel, NoLock);
	CommandCounterIncrement();
}

void
ai_guard_strip_statistics(Oid relid, bool relabelled)
{
	char		relkind = get_rel_relkind(relid);
	ListCell   *lc;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_MATVIEW && relkind != RELKIND_FOREIGN_TABLE)
		return;
	strip_relation(relid, relid, relabelled);
	/* partitions and inheritance children hold its rows too */
	if (relkind == RELKIND_PARTITIONED_TABLE || has_subclass(relid))
	{
		foreach(lc, find_all_inheritors(relid, ShareUpdateExclusiveLock, NULL))
			if (lfirst_oid(lc) != relid)
				strip_relation(lfirst_oid(lc), relid, relabelled);
	}
}

static void
refuse(Oid relid, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s of governed relation \"%s\" would hold raw values", what,
					get_rel_name(relid)),
			 errdetail("Statistics show a column's most common values to every reader (pg_stats, pg_stats_ext); only columns labelled public or internal, without a mask, keep them."),
			 errhint("Label the column public if its values may be shown, for example SECURITY LABEL FOR ai_guard ON COLUMN t.c IS 'public'.")));
}

void
ai_guard_stats_utility(Node *stmt, bool (*governed) (Oid relid),
					   const Oid *all_governed, int n_governed)
{
	if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *at = (AlterTableStmt *) stmt;
		Oid			relid = RangeVarGetRelid(at->relation, NoLock, true);
		ListCell   *lc;

		if (!OidIsValid(relid))
			return;
		foreach(lc, at->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
			Oid			tableid = relid;
			AttrNumber	attnum;

			if (cmd->subtype != AT_SetStatistics || cmd->def == NULL ||
				intVal(cmd->def) == 0)
				continue;
			/* an index column: its table decides */
			if (get_rel_relkind(relid) == RELKIND_INDEX ||
				get_rel_relkind(relid) == RELKIND_PARTITIONED_INDEX)
			{
				tableid = IndexGetRelation(relid, true);
				if (OidIsValid(tableid) && governed(tableid))
					refuse(tableid, "statistics of an index");
				continue;
			}
			if (!governed(relid))
				continue;
			attnum = cmd->name ? get_attnum(relid, cmd->name) : cmd->num;
			if (attnum > 0 && !ai_guard_column_shown_raw(relid, attnum))
				refuse(relid, psprintf("statistics of column \"%s\"",
									   cmd->name ? cmd->name : get_attname(relid, attnum, false)));
		}
	}
	else if (IsA(stmt, CreateStatsStmt))
	{
		CreateStatsStmt *cs = (CreateStatsStmt *) stmt;
		Oid			relid;
		ListCell   *lc;

		if (list_length(cs->relations) != 1 || !IsA(linitial(cs->relations), RangeVar))
			return;
		relid = RangeVarGetRelid((RangeVar *) linitial(cs->relations), NoLock, true);
		if (!OidIsValid(relid) || !governed(relid))
			return;
		foreach(lc, cs->exprs)
		{
			StatsElem  *e = (StatsElem *) lfirst(lc);
			AttrNumber	attnum = e->name ? get_attnum(relid, e->name) : InvalidAttrNumber;

			if (e->expr != NULL ||
				(attnum > 0 && !ai_guard_column_shown_raw(relid, attnum)))
				refuse(relid, "extended statistics");
		}
	}
	else if (IsA(stmt, VacuumStmt))
	{
		VacuumStmt *vs = (VacuumStmt *) stmt;
		ListCell   *lc;
		int			i;

		if (vs->rels == NIL)
		{
			for (i = 0; i < n_governed; i++)
				if (pg_class_ownercheck(all_governed[i], GetUserId()))
					ai_guard_strip_statistics(all_governed[i], false);
		}
		foreach(lc, vs->rels)
		{
			VacuumRelation *vr = (VacuumRelation *) lfirst(lc);
			Oid			relid = vr->relation ?
				RangeVarGetRelid(vr->relation, NoLock, true) : InvalidOid;

			if (OidIsValid(relid) && governed(relid) &&
				pg_class_ownercheck(relid, GetUserId()))
				ai_guard_strip_statistics(relid, false);
		}
	}
}

/* SQL function: ai_guard._governed_added() (trigger) */
PG_FUNCTION_INFO_V1(ai_guard_governed_added);
Datum
ai_guard_governed_added(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		rel;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard._governed_added() must be called as a row trigger")));
	rel = heap_getattr(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple,
					   1, RelationGetDescr(td->tg_relation), &isnull);
	if (!isnull)
		ai_guard_strip_statistics(DatumGetObjectId(rel), false);
	return PointerGetDatum(NULL);
}
