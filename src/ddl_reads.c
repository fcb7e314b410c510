/*-------------------------------------------------------------------------
 *
 * ddl_reads.c
 *		Utility statements that evaluate expressions over every row.
 *
 * A table's owner can read every value of it without a query: CREATE INDEX
 * on an expression calls that expression for each row, and so do a partial
 * index's predicate, a CHECK or EXCLUDE constraint being validated, ALTER
 * COLUMN ... TYPE (its USING expression or cast), a generated column, and a
 * non-constant default of a new column.  REINDEX, CLUSTER and VACUUM FULL
 * rebuild the expression and partial indexes, calling their functions
 * again.  If any of those functions is the owner's own, the values can go
 * anywhere.  The audit treats such a statement on a governed relation as a
 * read of all its rows (audit_hook.c): purpose-checked and recorded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "ddl_reads.h"

static Oid
relation_of(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/* Does the relation have an index on an expression or with a predicate? */
static bool
has_expression_index(Oid relid)
{
	Relation	rel = try_relation_open(relid, AccessShareLock);
	ListCell   *lc;
	bool		found = false;

	if (rel == NULL)
		return false;
	if (rel->rd_rel->relhasindex)
	{
		foreach(lc, RelationGetIndexList(rel))
		{
			Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

			found = !heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) ||
				!heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
			index_close(index, AccessShareLock);
			if (found)
				break;
		}
	}
	relation_close(rel, AccessShareLock);
	return found;
}

/* Is a new column's value computed for every row? */
static bool
column_computed(ColumnDef *def)
{
	ListCell   *lc;

	if (def->generated || (def->raw_default && !IsA(def->raw_default, A_Const)))
		return true;
	foreach(lc, def->constraints)
	{
		Constraint *c = (Constraint *) lfirst(lc);

		if (c->contype == CONSTR_GENERATED || c->contype == CONSTR_CHECK ||
			(c->contype == CONSTR_DEFAULT && c->raw_expr && !IsA(c->raw_expr, A_Const)))
			return true;
	}
	return false;
}

static bool
alter_reads(AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_AddConstraint:
			{
				Constraint *c = (Constraint *) cmd->def;

				return (c->contype == CONSTR_CHECK && !c->skip_validation) ||
					c->contype == CONSTR_EXCLUSION;
			}
		case AT_ValidateConstraint:
		case AT_AlterColumnType:
			return true;
		case AT_AddColumn:
			return column_computed((ColumnDef *) cmd->def);
		default:
			return false;
	}
}

Oid
ai_guard_ddl_reads(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			{
				IndexStmt  *is = (IndexStmt *) stmt;
				ListCell   *lc;
				bool		exprs = is->whereClause != NULL;

				foreach(lc, is->indexParams)
					if (((IndexElem *) lfirst(lc))->expr != NULL)
						exprs = true;
				foreach(lc, is->indexIncludingParams)
					if (((IndexElem *) lfirst(lc))->expr != NULL)
						exprs = true;
				return exprs ? relation_of(is->relation) : InvalidOid;
			}
		case T_AlterTableStmt:
			{
				AlterTableStmt *at = (AlterTableStmt *) stmt;
				ListCell   *lc;

				if (at->objtype != OBJECT_TABLE && at->objtype != OBJECT_MATVIEW &&
					at->objtype != OBJECT_FOREIGN_TABLE)
					return InvalidOid;
				foreach(lc, at->cmds)
					if (alter_reads((AlterTableCmd *) lfirst(lc)))
						return relation_of(at->relation);
				return InvalidOid;
			}
		case T_ReindexStmt:
			{
				ReindexStmt *rs = (ReindexStmt *) stmt;
				Oid			relid = relation_of(rs->relation);

				if (rs->kind == REINDEX_OBJECT_INDEX && OidIsValid(relid))
					relid = IndexGetRelation(relid, true);
				return OidIsValid(relid) && has_expression_index(relid) ? relid : InvalidOid;
			}
		case T_ClusterStmt:
			{
				Oid			relid = relation_of(((ClusterStmt *) stmt)->relation);

				return OidIsValid(relid) && has_expression_index(relid) ? relid : InvalidOid;
			}
		case T_VacuumStmt:
			{
				VacuumStmt *vs = (VacuumStmt *) stmt;
				ListCell   *lc;
				bool		full = false;

				foreach(lc, vs->options)
					if (strcmp(((DefElem *) lfirst(lc))->defname, "full") == 0 &&
						defGetBoolean((DefElem *) lfirst(lc)))
						full = true;
				if (!full || !vs->is_vacuumcmd)
					return InvalidOid;
				foreach(lc, vs->rels)
				{
					VacuumRelation *vr = (VacuumRelation *) lfirst(lc);
					Oid			relid = relation_of(vr->relation);

					if (OidIsValid(relid) && has_expression_index(relid))
						return relid;
				}
				return InvalidOid;
			}
		default:
			return InvalidOid;
	}
}

int64
ai_guard_relation_rows(Oid relid)
{
	List	   *rels = find_all_inheritors(relid, AccessShareLock, NULL);
	ListCell   *lc;
	int64		rows = 0;

	foreach(lc, rels)
	{
		Relation	rel = table_open(lfirst_oid(lc), AccessShareLock);
		TableScanDesc scan;
		TupleTableSlot *slot;

		if (rel->rd_rel->relkind == RELKIND_RELATION ||
			rel->rd_rel->relkind == RELKIND_MATVIEW)
		{
			slot = table_slot_create(rel, NULL);
			scan = table_beginscan(rel, SnapshotAny, 0, NULL);
			while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
				rows++;
			table_endscan(scan);
			ExecDropSingleTupleTableSlot(slot);
		}
		table_close(rel, AccessShareLock);
	}
	return rows;
}
