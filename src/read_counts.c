/*-------------------------------------------------------------------------
 *
 * read_counts.c
 *		The rows a governed read examined, per governed relation.
 *
 * The rows a statement delivers can be far fewer than the rows whose values
 * it exposed: a function in a WHERE clause, an aggregate or a trigger sees
 * every row the scan produced, and can raise them in notices, send them with
 * pg_notify() or write them elsewhere, while the statement returns one row.
 * So every pull also records, per governed relation, the rows its scans
 * examined: the rows they returned plus the rows their own quals removed
 * (a qual sees a row before it is removed).
 *
 * The counts come from the executor's own instrumentation, switched on only
 * for the scans of governed relations (a counter per row, no timing); where
 * parallel workers run part of the plan, for every node, so that the
 * workers' counts come back to the leader.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "executor/instrument.h"
#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "ai_guard.h"
#include "read_counts.h"

typedef struct AgScanWatch
{
	PlanState  *ps;
	int			rel;			/* index into AgReadCounts.relations */
	bool		conflicts;		/* ON CONFLICT DO UPDATE: the rows it met */
}			AgScanWatch;

struct AgReadCounts
{
	int			nrelations;
	char	  **relations;		/* qualified names */
	int64	   *rows;			/* per relation, as last taken */
	int			nscans;
	AgScanWatch *scans;
	PlanState  *top;			/* NULL once the executor is gone */
	bool		parallel;
	bool		rechecks;		/* EvalPlanQual may re-run part of the plan */
	AgGoverningFn governing;
	MemoryContext cxt;
};

typedef struct WatchContext
{
	EState	   *estate;
	AgGoverningFn governing;
	AgReadCounts *rc;
	MemoryContext cxt;
}			WatchContext;

/*
 * Parallel workers, and EvalPlanQual's re-checks (a row updated by another
 * transaction is re-checked against its new version by a private copy of
 * the plan, subqueries and all), run nodes this process cannot watch one
 * by one: there every node counts.
 */
static bool
has_rechecks(PlannedStmt *stmt)
{
	return stmt->commandType != CMD_SELECT || stmt->hasModifyingCTE ||
		stmt->rowMarks != NIL;
}

void
ai_guard_read_counts_prepare(QueryDesc *qd)
{
	if (qd->plannedstmt->parallelModeNeeded || has_rechecks(qd->plannedstmt))
		qd->instrument_options |= INSTRUMENT_ROWS;
}

/* The range table index a node scans rows of a table from, or 0 */
static Index
scan_relid(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_ForeignScan:
		case T_CustomScan:
			return ((Scan *) plan)->scanrelid;
		default:
			return 0;
	}
}

static int
relation_index(AgReadCounts *rc, const char *name, MemoryContext cxt)
{
	int			i;

	for (i = 0; i < rc->nrelations; i++)
		if (strcmp(rc->relations[i], name) == 0)
			return i;
	if (rc->nrelations == 0)
	{
		rc->relations = MemoryContextAlloc(cxt, sizeof(char *));
		rc->rows = MemoryContextAllocZero(cxt, sizeof(int64));
	}
	else
	{
		rc->relations = repalloc(rc->relations, sizeof(char *) * (rc->nrelations + 1));
		rc->rows = repalloc(rc->rows, sizeof(int64) * (rc->nrelations + 1));
	}
	rc->relations[rc->nrelations] = MemoryContextStrdup(cxt, name);
	rc->rows[rc->nrelations] = 0;
	return rc->nrelations++;
}

static bool
watch_scans(PlanState *ps, void *context)
{
	WatchContext *wc = (WatchContext *) context;
	Index		scanrelid = 0;

	bool		conflicts = false;

	if (ps == NULL)
		return false;
	switch (nodeTag(ps->plan))
	{
		case T_ModifyTable:
			/* the existing row of a conflict is read without a scan node */
			if (((ModifyTable *) ps->plan)->onConflictAction == ONCONFLICT_UPDATE &&
				((ModifyTable *) ps->plan)->resultRelations != NIL)
			{
				scanrelid = linitial_int(((ModifyTable *) ps->plan)->resultRelations);
				conflicts = true;
			}
			break;
		default:
			scanrelid = scan_relid(ps->plan);
			break;
	}
	if (scanrelid > 0)
	{
		RangeTblEntry *rte = exec_rt_fetch(scanrelid, wc->estate);
		Oid			gov = rte->rtekind == RTE_RELATION ?
			wc->governing(rte->relid, rte->relkind) : InvalidOid;

		if (OidIsValid(gov))
		{
			AgReadCounts *rc = wc->rc;
			int			rel = relation_index(rc, ai_guard_qualified_name(gov), wc->cxt);

			/* the node has not run yet: ExecProcNodeFirst sees this */
			if (ps->instrument == NULL)
				ps->instrument = InstrAlloc(1, INSTRUMENT_ROWS, false);
			if (rc->nscans == 0)
				rc->scans = MemoryContextAlloc(wc->cxt, sizeof(AgScanWatch));
			else
				rc->scans = repalloc(rc->scans, sizeof(AgScanWatch) * (rc->nscans + 1));
			rc->scans[rc->nscans].ps = ps;
			rc->scans[rc->nscans].rel = rel;
			rc->scans[rc->nscans].conflicts = conflicts;
			rc->nscans++;
		}
	}
	return planstate_tree_walker(ps, watch_scans, context);
}

AgReadCounts *
ai_guard_read_counts_begin(QueryDesc *qd, AgGoverningFn governing,
						   MemoryContext cxt)
{
	WatchContext wc;
	MemoryContext old;

	if (qd->planstate == NULL || qd->estate == NULL)
		return NULL;
	wc.estate = qd->estate;
	wc.governing = governing;
	wc.cxt = cxt;
	wc.rc = MemoryContextAllocZero(cxt, sizeof(AgReadCounts));
	/* instrumentation lives as long as the executor state */
	old = MemoryContextSwitchTo(qd->estate->es_query_cxt);
	(void) watch_scans(qd->planstate, &wc);
	MemoryContextSwitchTo(old);
	if (wc.rc->nscans == 0 && !has_rechecks(qd->plannedstmt))
		return NULL;
	wc.rc->top = qd->planstate;
	wc.rc->parallel = qd->plannedstmt->parallelModeNeeded;
	wc.rc->rechecks = has_rechecks(qd->plannedstmt);
	wc.rc->governing = governing;
	wc.rc->cxt = cxt;
	return wc.rc;
}

typedef struct RecheckWalk
{
	AgReadCounts *rc;
	EState	   *estate;			/* the re-check's own */
	bool		failed;
}			RecheckWalk;

/* Adds what the governed scans of a re-check's plan copy examined. */
static bool
count_recheck_scans(PlanState *ps, void *context)
{
	RecheckWalk *w = (RecheckWalk *) context;

	if (ps == NULL)
		return false;
	if (ps->instrument != NULL && scan_relid(ps->plan) > 0)
	{
		RangeTblEntry *rte = exec_rt_fetch(scan_relid(ps->plan), w->estate);
		Oid			gov = rte->rtekind == RTE_RELATION ?
			w->rc->governing(rte->relid, rte->relkind) : InvalidOid;

		if (OidIsValid(gov))
		{
			Instrumentation *in = ps->instrument;
			int			rel = relation_index(w->rc, ai_guard_qualified_name(gov), w->rc->cxt);

			w->rc->rows[rel] += (int64) (in->ntuples + in->tuplecount +
										 in->nfiltered1 + in->nfiltered2) + (w->failed ? 1 : 0);
		}
	}
	return planstate_tree_walker(ps, count_recheck_scans, context);
}

/* Finds the EvalPlanQual re-checks that ran, and counts their scans. */
static bool
find_rechecks(PlanState *ps, void *context)
{
	RecheckWalk *w = (RecheckWalk *) context;
	EPQState   *epq = NULL;

	if (ps == NULL)
		return false;
	if (IsA(ps, ModifyTableState))
		epq = &((ModifyTableState *) ps)->mt_epqstate;
	else if (IsA(ps, LockRowsState))
		epq = &((LockRowsState *) ps)->lr_epqstate;
	if (epq != NULL && epq->recheckplanstate != NULL && epq->recheckestate != NULL)
	{
		RecheckWalk inner = {w->rc, epq->recheckestate, w->failed};

		(void) count_recheck_scans(epq->recheckplanstate, &inner);
	}
	return planstate_tree_walker(ps, find_rechecks, context);
}

void
ai_guard_read_counts_take(AgReadCounts *rc, bool final, bool failed)
{
	int			i;

	if (rc == NULL || rc->top == NULL)
		return;

	/*
	 * Parallel workers report their counts when the Gather node shuts down,
	 * which otherwise happens only inside ExecutorEnd.
	 */
	if (final && rc->parallel)
		ExecShutdownNode(rc->top);
	for (i = 0; i < rc->nrelations; i++)
		rc->rows[i] = 0;
	for (i = 0; i < rc->nscans; i++)
	{
		Instrumentation *in = rc->scans[i].ps->instrument;

		if (in == NULL)
			continue;
		if (rc->scans[i].conflicts)
			rc->rows[rc->scans[i].rel] += (int64) in->ntuples2;
		else
			rc->rows[rc->scans[i].rel] += (int64) (in->ntuples + in->tuplecount +
												   in->nfiltered1 + in->nfiltered2);

		/*
		 * An error inside a scan node (a cast or a function in its quals or
		 * its projection) stops it before it counts the row it was on, and
		 * that row's values may be in the error message.
		 */
		if (failed)
			rc->rows[rc->scans[i].rel]++;
	}
	if (rc->rechecks)
	{
		RecheckWalk w = {rc, NULL, failed};

		(void) find_rechecks(rc->top, &w);
	}
	if (final)
		rc->top = NULL;
}

AgReadCounts *
ai_guard_read_counts_single(const char *relation, MemoryContext cxt)
{
	AgReadCounts *rc = MemoryContextAllocZero(cxt, sizeof(AgReadCounts));

	(void) relation_index(rc, relation, cxt);
	return rc;
}

void
ai_guard_read_counts_set(AgReadCounts *rc, int64 rows)
{
	if (rc != NULL && rc->nrelations == 1 && rc->nscans == 0)
		rc->rows[0] = rows;
}

void
ai_guard_read_counts_at_least(AgReadCounts *rc, int64 rows)
{
	if (rc != NULL && rc->nrelations == 1 && rc->nscans == 0 && rc->rows[0] < rows)
		rc->rows[0] = rows;
}

char *
ai_guard_read_counts_json(AgReadCounts *rc)
{
	StringInfoData buf;
	int			i;

	if (rc == NULL)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < rc->nrelations; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, rc->relations[i]);
		appendStringInfo(&buf, ": " INT64_FORMAT, rc->rows[i]);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
