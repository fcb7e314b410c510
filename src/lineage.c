/*-------------------------------------------------------------------------
 *
 * lineage.c
 *		Row membership: which rows of tracked relations each pull delivered.
 *
 * A pull's rows are traced by the planner hook: for a SELECT that reads
 * tracked relations, each tracked scan's row id and batch columns are added
 * to the output as junk columns, carried up through views and plain
 * subqueries (a security-barrier masked view included), joins, ORDER BY and
 * LIMIT; under aggregation they become array_agg() of the rows that fed each
 * group.  So only rows that reach the client are counted, exactly, by the
 * audit's DestReceiver wrapper (audit_hook.c), which strips the junk columns
 * itself before the client sees the row.
 *
 * A tracked relation read in a shape that cannot be traced that way (a set
 * operation, DISTINCT, a window function, a CTE, a sublink, an aggregating
 * subquery, COPY of a table, a write) is recorded with membership "unknown"
 * and the reason, never guessed.
 *
 * Junk columns are named "ai_guard:<kind>:<root oid>"; same-named junk
 * columns a query brings itself (ORDER BY a column so named) are renamed
 * first, so a query cannot forge membership.
 *
 * At the end of a pull the ids go to the audit writer as sets of up to 2^20
 * consecutive ids (src/core/rowset.h), into ai_guard.pull_members, with one
 * ai_guard.pull_relations row per relation; both are hash-chained.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "ai_guard.h"
#include "audit_writer.h"
#include "lineage.h"
#include "label.h"
#include "rowset.h"

#define AG_SCHEMA "ai_guard"
#define JUNK_PREFIX "ai_guard:"

bool		ai_guard_lineage_internal_read = false;

/* ai_guard.row_membership: record which rows pulls delivered */
static bool row_membership = true;

static planner_hook_type prev_planner = NULL;

/*------------------------------------------------------------------------
 * The tracked relations (ai_guard.tracked_relations), cached per backend
 *------------------------------------------------------------------------
 */

typedef struct TrackedRel
{
	Oid			relid;
	Oid			root;
	NameData	rowcol;
	NameData	batchcol;
} TrackedRel;

static bool tracked_valid = false;
static uint64 tracked_invals = 0;	/* invalidations seen, to spot one mid-load */
static Oid	tracked_catalog = InvalidOid;
static Oid	governed_catalog = InvalidOid;
static TrackedRel *tracked = NULL;	/* sorted by relid */
static int	n_tracked = 0;
static bool members_missing = false;	/* extension not updated to 0.2 yet */

static void
tracked_relcache_cb(Datum arg, Oid relid)
{
	/* without the catalog (no extension yet), any change may be its creation */
	if (!OidIsValid(relid) || !OidIsValid(tracked_catalog) ||
		relid == tracked_catalog || relid == governed_catalog)
	{
		tracked_valid = false;
		tracked_invals++;
	}
}

static int
tracked_cmp(const void *a, const void *b)
{
	Oid			x = ((const TrackedRel *) a)->relid;
	Oid			y = ((const TrackedRel *) b)->relid;

	return (x > y) - (x < y);
}

static void
load_tracked(void)
{
	Oid			nsp;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	TrackedRel *buf;
	int			n = 0;
	int			cap = 16;
	uint64		invals = tracked_invals;

	/*
	 * The cache becomes valid only once loaded: an error on the way (a
	 * cancel, a timeout) leaves it invalid, so the next read loads it again
	 * instead of believing nothing is tracked.
	 */
	tracked_valid = false;
	n_tracked = 0;
	members_missing = false;
	nsp = get_namespace_oid(AG_SCHEMA, true);
	tracked_catalog = OidIsValid(nsp) ? get_relname_relid("tracked_relations", nsp) : InvalidOid;
	governed_catalog = OidIsValid(nsp) ? get_relname_relid("governed_relations", nsp) : InvalidOid;
	/* an extension not yet updated to 0.2 has no membership tables */
	if (!OidIsValid(tracked_catalog))
	{
		tracked_valid = true;
		return;
	}
	if (!OidIsValid(get_relname_relid("pull_members", nsp)))
	{
		members_missing = true;
		tracked_valid = true;
		return;
	}
	rel = try_relation_open(tracked_catalog, AccessShareLock);
	if (rel == NULL)
		return;
	buf = MemoryContextAlloc(TopMemoryContext, cap * sizeof(TrackedRel));
	snap = RegisterSnapshot(GetCatalogSnapshot(tracked_catalog));
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		n1,
					n2,
					n3,
					n4;
		Datum		relid = heap_getattr(tup, 1, desc, &n1);
		Datum		root = heap_getattr(tup, 2, desc, &n2);
		Datum		rowcol = heap_getattr(tup, 3, desc, &n3);
		Datum		batchcol = heap_getattr(tup, 4, desc, &n4);

		if (n1 || n2 || n3 || n4)
			continue;
		if (n == cap)
		{
			cap *= 2;
			buf = repalloc(buf, cap * sizeof(TrackedRel));
		}
		buf[n].relid = DatumGetObjectId(relid);
		buf[n].root = DatumGetObjectId(root);
		namestrcpy(&buf[n].rowcol, NameStr(*DatumGetName(rowcol)));
		namestrcpy(&buf[n].batchcol, NameStr(*DatumGetName(batchcol)));
		n++;
	}
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);

	qsort(buf, n, sizeof(TrackedRel), tracked_cmp);
	if (tracked)
		pfree(tracked);
	tracked = buf;
	n_tracked = n;
	/* an invalidation during the load means it may already be stale */
	tracked_valid = (invals == tracked_invals);
}

static const TrackedRel *
lookup_tracked(Oid relid)
{
	TrackedRel	key;

	if (n_tracked == 0)
		return NULL;
	key.relid = relid;
	return bsearch(&key, tracked, n_tracked, sizeof(TrackedRel), tracked_cmp);
}

/* Should membership be traced in this process at all? */
static bool
membership_active(void)
{
	if (ai_guard_am_audit_writer || ai_guard_lineage_internal_read ||
		IsParallelWorker() || !IsNormalProcessingMode() || !IsTransactionState())
		return false;
	/* until ALTER EXTENSION ... UPDATE creates the membership tables */
	if (tracked_valid && members_missing)
	{
		Oid			nsp = get_namespace_oid(AG_SCHEMA, true);

		if (OidIsValid(nsp) && OidIsValid(get_relname_relid("pull_members", nsp)))
			tracked_valid = false;
	}
	if (!tracked_valid)
		load_tracked();
	return n_tracked > 0;
}

/* Should the planner carry row ids for this query? */
static bool
tracing_active(void)
{
	return row_membership && membership_active();
}

/*------------------------------------------------------------------------
 * Planner: carrying row ids to the output
 *------------------------------------------------------------------------
 */

/* a tracked relation a query reads, and how many of its reads were traced */
typedef struct RootCount
{
	Oid			root;
	int			refs;
	int			traced;
} RootCount;

typedef struct TraceState
{
	RootCount  *roots;
	int			nroots;
	int			cap;
} TraceState;

/* one traced read: expressions for its row id and batch at a query level */
typedef struct Member
{
	Oid			root;
	Expr	   *row_id;
	Expr	   *batch;
} Member;

static RootCount *
root_count(TraceState *st, Oid root)
{
	int			i;

	for (i = 0; i < st->nroots; i++)
		if (st->roots[i].root == root)
			return &st->roots[i];
	if (st->nroots == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 4;
		st->roots = st->roots ? repalloc(st->roots, st->cap * sizeof(RootCount)) :
			palloc(st->cap * sizeof(RootCount));
	}
	st->roots[st->nroots].root = root;
	st->roots[st->nroots].refs = 0;
	st->roots[st->nroots].traced = 0;
	return &st->roots[st->nroots++];
}

/* Counts every read of a tracked relation anywhere in the query. */
static bool
count_refs_walker(Node *node, TraceState *st)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
		{
			const TrackedRel *t = lookup_tracked(rte->relid);

			if (t)
				root_count(st, t->root)->refs++;
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, count_refs_walker, st,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, count_refs_walker, st);
}

/* Can rows of a subquery be followed to its output one to one? */
static bool
row_preserving(Query *q)
{
	return q->commandType == CMD_SELECT && q->setOperations == NULL &&
		q->distinctClause == NIL && !q->hasWindowFuncs && !q->hasAggs &&
		q->groupClause == NIL && q->groupingSets == NIL &&
		q->havingQual == NULL;
}

static Var *
int8_var(int varno, AttrNumber attno)
{
	return makeVar(varno, attno, INT8OID, -1, InvalidOid, 0);
}

static List *trace_jointree(Query *q, Node *jt, TraceState *st);

/*
 * Adds expr to the output of a subquery RTE as a junk column (so neither
 * "*" nor a whole-row reference shows it); returns its column number.  The
 * planner sizes a subquery's columns by its column names: they are extended
 * to cover the new column.
 */
static AttrNumber
add_subquery_output(RangeTblEntry *rte, Expr *expr)
{
	Query	   *sub = rte->subquery;
	AttrNumber	resno = list_length(sub->targetList) + 1;

	sub->targetList = lappend(sub->targetList,
							  makeTargetEntry(expr, resno, pstrdup("ai_guard_member"), true));
	while (list_length(rte->eref->colnames) < resno)
		rte->eref->colnames = lappend(rte->eref->colnames,
									  makeString(pstrdup("ai_guard_member")));
	return resno;
}

static List *
trace_rte(Query *q, int rtindex, TraceState *st)
{
	RangeTblEntry *rte = rt_fetch(rtindex, q->rtable);
	List	   *result = NIL;

	if (rte->rtekind == RTE_RELATION)
	{
		const TrackedRel *t = lookup_tracked(rte->relid);
		AttrNumber	rowatt;
		AttrNumber	batchatt;
		Member	   *m;

		if (t == NULL)
			return NIL;
		rowatt = get_attnum(rte->relid, NameStr(t->rowcol));
		batchatt = get_attnum(rte->relid, NameStr(t->batchcol));
		if (rowatt <= 0 || batchatt <= 0 ||
			get_atttype(rte->relid, rowatt) != INT8OID ||
			get_atttype(rte->relid, batchatt) != INT8OID)
			return NIL;
		m = palloc(sizeof(Member));
		m->root = t->root;
		m->row_id = (Expr *) int8_var(rtindex, rowatt);
		m->batch = (Expr *) int8_var(rtindex, batchatt);
		root_count(st, t->root)->traced++;
		return list_make1(m);
	}
	if (rte->rtekind == RTE_SUBQUERY && rte->subquery && row_preserving(rte->subquery))
	{
		Query	   *sub = rte->subquery;
		List	   *inner = trace_jointree(sub, (Node *) sub->jointree, st);
		ListCell   *lc;

		foreach(lc, inner)
		{
			Member	   *im = lfirst(lc);
			Member	   *m = palloc(sizeof(Member));

			m->root = im->root;
			m->row_id = (Expr *) int8_var(rtindex, add_subquery_output(rte, im->row_id));
			m->batch = (Expr *) int8_var(rtindex, add_subquery_output(rte, im->batch));
			result = lappend(result, m);
		}
	}
	return result;
}

static List *
trace_jointree(Query *q, Node *jt, TraceState *st)
{
	List	   *result = NIL;
	ListCell   *lc;

	if (jt == NULL)
		return NIL;
	if (IsA(jt, RangeTblRef))
		return trace_rte(q, ((RangeTblRef *) jt)->rtindex, st);
	if (IsA(jt, FromExpr))
	{
		foreach(lc, ((FromExpr *) jt)->fromlist)
			result = list_concat(result, trace_jointree(q, lfirst(lc), st));
		return result;
	}
	if (IsA(jt, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jt;

		result = trace_jointree(q, j->larg, st);
		return list_concat(result, trace_jointree(q, j->rarg, st));
	}
	return NIL;
}

/* array_agg(arg) over int8 */
static Expr *
make_array_agg(Expr *arg)
{
	Aggref	   *a = makeNode(Aggref);

	a->aggfnoid = F_ARRAY_AGG_ANYNONARRAY;
	a->aggtype = INT8ARRAYOID;
	a->aggcollid = InvalidOid;
	a->inputcollid = InvalidOid;
	a->aggtranstype = InvalidOid;
	a->aggargtypes = list_make1_oid(INT8OID);
	a->aggdirectargs = NIL;
	a->args = list_make1(makeTargetEntry(arg, 1, NULL, false));
	a->aggorder = NIL;
	a->aggdistinct = NIL;
	a->aggfilter = NULL;
	a->aggstar = false;
	a->aggvariadic = false;
	a->aggkind = AGGKIND_NORMAL;
	a->agglevelsup = 0;
	a->aggsplit = AGGSPLIT_SIMPLE;
	a->aggno = -1;
	a->aggtransno = -1;
	a->location = -1;
	return (Expr *) a;
}

static void
add_junk(Query *q, Expr *expr, const char *kind, Oid root)
{
	AttrNumber	resno = list_length(q->targetList) + 1;

	q->targetList = lappend(q->targetList,
							makeTargetEntry(expr, resno,
											psprintf(JUNK_PREFIX "%s:%u", kind, root),
											true));
}

/*
 * Adds the membership junk columns to a SELECT that reads tracked
 * relations.
 */
static void
add_membership(Query *q)
{
	TraceState	st = {0};
	List	   *members = NIL;
	bool		aggregating;
	ListCell   *lc;
	int			i;

	(void) query_tree_walker(q, count_refs_walker, &st, QTW_EXAMINE_RTES_BEFORE);
	if (st.nroots == 0)
		return;

	/* a query's own junk columns cannot pose as membership */
	foreach(lc, q->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk && tle->resname &&
			strncmp(tle->resname, JUNK_PREFIX, strlen(JUNK_PREFIX)) == 0)
			tle->resname = pstrdup("?column?");
	}

	if (q->setOperations == NULL && q->distinctClause == NIL && !q->hasWindowFuncs)
		members = trace_jointree(q, (Node *) q->jointree, &st);
	aggregating = q->hasAggs || q->groupClause != NIL || q->groupingSets != NIL ||
		q->havingQual != NULL;
	foreach(lc, members)
	{
		Member	   *m = lfirst(lc);

		if (aggregating)
		{
			add_junk(q, make_array_agg(m->row_id), "rows", m->root);
			add_junk(q, make_array_agg(m->batch), "batches", m->root);
		}
		else
		{
			add_junk(q, m->row_id, "row", m->root);
			add_junk(q, m->batch, "batch", m->root);
		}
	}
	if (aggregating && members != NIL)
		q->hasAggs = true;
	for (i = 0; i < st.nroots; i++)
		if (st.roots[i].traced < st.roots[i].refs)
			add_junk(q, (Expr *) makeNullConst(INT8OID, -1, InvalidOid),
					 "unknown", st.roots[i].root);
}

static PlannedStmt *
lineage_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	if (parse->commandType == CMD_SELECT && parse->utilityStmt == NULL &&
		tracing_active())
		add_membership(parse);
	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*------------------------------------------------------------------------
 * Executor: collecting the ids of delivered rows
 *------------------------------------------------------------------------
 */

typedef enum ColKind
{
	COL_ROW,
	COL_BATCH,
	COL_ROWS,
	COL_BATCHES
} ColKind;

typedef struct RelMembers
{
	Oid			root;
	char	   *name;
	bool		known;
	const char *reason;
	ag_rowset_builder ids;
	int64	   *batches;		/* sorted, distinct */
	int			nbatches;
	int			capbatches;
} RelMembers;

typedef struct MemberCol
{
	AttrNumber	attno;
	ColKind		kind;
	RelMembers *rel;
} MemberCol;

struct AgMembers
{
	MemoryContext cxt;
	RelMembers *rels;
	int			nrels;
	MemberCol  *cols;
	int			ncols;
};

#define REASON_SHAPE "the query reads it through a set operation, DISTINCT, a window function, a CTE, a sublink or an aggregating subquery"
#define REASON_WRITE "the statement is a write: the rows it reads or returns are not traced"
#define REASON_COPY "COPY of a table reads it without a plan; COPY (SELECT ...) TO records exact membership"
#define REASON_OFF "ai_guard.row_membership was off"

static void *
members_realloc(void *ctx, void *ptr, size_t size)
{
	if (ptr == NULL)
		return MemoryContextAllocExtended((MemoryContext) ctx, size,
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	return repalloc_huge(ptr, size);
}

static void
members_free(void *ctx, void *ptr)
{
	pfree(ptr);
}

static RelMembers *
members_rel(AgMembers *m, Oid root)
{
	int			i;
	RelMembers *r;
	ag_rowset_alloc mem = {members_realloc, members_free, NULL};

	for (i = 0; i < m->nrels; i++)
		if (m->rels[i].root == root)
			return &m->rels[i];
	m->rels = m->rels ? repalloc(m->rels, (m->nrels + 1) * sizeof(RelMembers)) :
		palloc(sizeof(RelMembers));
	/* columns point into rels: none are made before all rels exist */
	r = &m->rels[m->nrels++];
	memset(r, 0, sizeof(RelMembers));
	r->root = root;
	r->name = ai_guard_qualified_name(root);
	r->known = true;
	mem.ctx = m->cxt;
	ag_rowset_builder_init(&r->ids, &mem);
	return r;
}

static bool
parse_junk_name(const char *name, ColKind *kind, bool *unknown, Oid *root)
{
	const char *p;
	char	   *end;
	unsigned long v;

	if (name == NULL || strncmp(name, JUNK_PREFIX, strlen(JUNK_PREFIX)) != 0)
		return false;
	p = name + strlen(JUNK_PREFIX);
	*unknown = false;
	if (strncmp(p, "row:", 4) == 0)
		*kind = COL_ROW, p += 4;
	else if (strncmp(p, "batch:", 6) == 0)
		*kind = COL_BATCH, p += 6;
	else if (strncmp(p, "rows:", 5) == 0)
		*kind = COL_ROWS, p += 5;
	else if (strncmp(p, "batches:", 8) == 0)
		*kind = COL_BATCHES, p += 8;
	else if (strncmp(p, "unknown:", 8) == 0)
		*unknown = true, p += 8;
	else
		return false;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || end == p || v > PG_UINT32_MAX)
		return false;
	*root = (Oid) v;
	return true;
}

AgMembers *
ai_guard_members_begin(PlannedStmt *ps, MemoryContext cxt)
{
	AgMembers  *m;
	MemoryContext old;
	ListCell   *lc;
	int			rti = 0;
	int			i;

	if (!membership_active())
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	m = palloc0(sizeof(AgMembers));
	m->cxt = cxt;

	/* every tracked relation the plan reads */
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		const TrackedRel *t;

		rti++;
		if (rte->rtekind != RTE_RELATION)
			continue;
		if (ps->commandType != CMD_SELECT && list_member_int(ps->resultRelations, rti))
			continue;
		t = lookup_tracked(rte->relid);
		if (t)
			(void) members_rel(m, t->root);
	}
	if (m->nrels == 0)
	{
		MemoryContextSwitchTo(old);
		pfree(m);
		return NULL;
	}
	if (ps->commandType != CMD_SELECT || ps->planTree == NULL || !row_membership)
	{
		for (i = 0; i < m->nrels; i++)
		{
			m->rels[i].known = false;
			m->rels[i].reason = row_membership ? REASON_WRITE : REASON_OFF;
		}
		MemoryContextSwitchTo(old);
		return m;
	}

	/* the junk columns the planner hook added, for relations already listed */
	m->cols = palloc(sizeof(MemberCol) * Max(list_length(ps->planTree->targetlist), 1));
	foreach(lc, ps->planTree->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		ColKind		kind = COL_ROW;
		bool		unknown;
		Oid			root;
		RelMembers *r = NULL;

		if (!tle->resjunk || !parse_junk_name(tle->resname, &kind, &unknown, &root))
			continue;
		for (i = 0; i < m->nrels; i++)
			if (m->rels[i].root == root)
				r = &m->rels[i];
		if (r == NULL)
			continue;
		if (unknown)
		{
			r->known = false;
			r->reason = REASON_SHAPE;
			continue;
		}
		m->cols[m->ncols].attno = tle->resno;
		m->cols[m->ncols].kind = kind;
		m->cols[m->ncols].rel = r;
		m->ncols++;
	}
	/* a relation read but not traced at all */
	for (i = 0; i < m->nrels; i++)
	{
		bool		traced = false;
		int			c;

		for (c = 0; c < m->ncols; c++)
			if (m->cols[c].rel == &m->rels[i])
				traced = true;
		if (!traced && m->rels[i].known)
		{
			m->rels[i].known = false;
			m->rels[i].reason = REASON_SHAPE;
		}
	}
	MemoryContextSwitchTo(old);
	return m;
}

AgMembers *
ai_guard_members_for_copy(Oid relid, MemoryContext cxt)
{
	const TrackedRel *t;
	AgMembers  *m;
	RelMembers *r;
	MemoryContext old;

	if (!membership_active() || (t = lookup_tracked(relid)) == NULL)
		return NULL;
	old = MemoryContextSwitchTo(cxt);
	m = palloc0(sizeof(AgMembers));
	m->cxt = cxt;
	r = members_rel(m, t->root);
	r->known = false;
	r->reason = REASON_COPY;
	MemoryContextSwitchTo(old);
	return m;
}

bool
ai_guard_members_collects(AgMembers *m)
{
	return m != NULL && m->ncols > 0;
}

static void
add_batch(RelMembers *r, int64 batch)
{
	int			lo = 0,
				hi = r->nbatches;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (r->batches[mid] < batch)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->nbatches && r->batches[lo] == batch)
		return;
	if (r->nbatches == r->capbatches)
	{
		r->capbatches = r->capbatches ? r->capbatches * 2 : 8;
		r->batches = r->batches ? repalloc(r->batches, r->capbatches * sizeof(int64)) :
			palloc(r->capbatches * sizeof(int64));
	}
	memmove(r->batches + lo + 1, r->batches + lo, (r->nbatches - lo) * sizeof(int64));
	r->batches[lo] = batch;
	r->nbatches++;
}

static void
add_value(MemberCol *c, Datum d)
{
	int64		v = DatumGetInt64(d);

	if (c->kind == COL_ROW || c->kind == COL_ROWS)
	{
		/* row ids come from a sequence; anything else is not a row of ours */
		if (v > 0)
			ag_rowset_builder_add(&c->rel->ids, (uint64) v);
	}
	else
		add_batch(c->rel, v);
}

void
ai_guard_members_add(AgMembers *m, TupleTableSlot *slot)
{
	int			i;
	MemoryContext old = MemoryContextSwitchTo(m->cxt);

	for (i = 0; i < m->ncols; i++)
	{
		MemberCol  *c = &m->cols[i];
		bool		isnull;
		Datum		d = slot_getattr(slot, c->attno, &isnull);

		if (isnull)
			continue;			/* the null side of an outer join */
		if (c->kind == COL_ROWS || c->kind == COL_BATCHES)
		{
			ArrayType  *a = DatumGetArrayTypeP(d);
			ArrayIterator it = array_create_iterator(a, 0, NULL);
			Datum		e;
			bool		enull;

			while (array_iterate(it, &e, &enull))
				if (!enull)
					add_value(c, e);
			array_free_iterator(it);
			if ((Pointer) a != DatumGetPointer(d))
				pfree(a);
		}
		else
			add_value(c, d);
	}
	MemoryContextSwitchTo(old);
}

void
ai_guard_members_reset(AgMembers *m)
{
	int			i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nrels; i++)
	{
		ag_rowset_builder_reset(&m->rels[i].ids);
		m->rels[i].nbatches = 0;
	}
}

static char *
int8_array_literal(const int64 *v, int n)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	for (i = 0; i < n; i++)
		appendStringInfo(&s, "%s" INT64_FORMAT, i ? "," : "", v[i]);
	appendStringInfoChar(&s, '}');
	return s.data;
}

static bool
queue(AgAuditMsg *msg, bool wait, int64 pull_id)
{
	const char *why;

	if (ai_guard_audit_enqueue(msg, wait, &why))
		return true;
	ereport(WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("could not record the row membership of pull " INT64_FORMAT, pull_id),
			 errdetail("%s.", why)));
	return false;
}

void
ai_guard_members_send(AgMembers *m, int64 pull_id, bool wait)
{
	int			i;
	MemoryContext old;

	if (m == NULL || pull_id == 0)
		return;
	old = MemoryContextSwitchTo(m->cxt);
	for (i = 0; i < m->nrels; i++)
	{
		RelMembers *r = &m->rels[i];
		AgAuditMsg	msg;
		uint64		total = 0;
		uint64		segment;
		const uint64 *ids;
		size_t		n;
		bool		known = r->known && !r->ids.failed;

		if (known)
		{
			ag_rowset_builder_finish(&r->ids);
			while (ag_rowset_builder_next_segment(&r->ids, &segment, &ids, &n))
			{
				size_t		len = ag_rowset_encode(ids, n, NULL);
				uint8	   *buf = palloc(len);

				(void) ag_rowset_encode(ids, n, buf);
				ai_guard_audit_msg_init(&msg, AG_MSG_MEMBERS);
				ai_guard_audit_msg_add_int64(&msg, pull_id);
				ai_guard_audit_msg_add(&msg, r->name);
				ai_guard_audit_msg_add_int64(&msg, (int64) segment);
				ai_guard_audit_msg_add_int64(&msg, (int64) n);
				ai_guard_audit_msg_add_int64(&msg, (int64) ids[0]);
				ai_guard_audit_msg_add_int64(&msg, (int64) ids[n - 1]);
				ai_guard_audit_msg_add_bytes(&msg, (const char *) buf, len);
				pfree(buf);
				if (!queue(&msg, wait, pull_id))
				{
					known = false;
					break;
				}
				total += n;
			}
			if (r->ids.failed)
				known = false;
		}
		ai_guard_audit_msg_init(&msg, AG_MSG_RELATION);
		ai_guard_audit_msg_add_int64(&msg, pull_id);
		ai_guard_audit_msg_add(&msg, r->name);
		ai_guard_audit_msg_add(&msg, known ? "exact" : "unknown");
		ai_guard_audit_msg_add(&msg, known ? NULL :
							   r->reason ? r->reason : "the row ids could not all be recorded");
		if (known)
			ai_guard_audit_msg_add_int64(&msg, (int64) total);
		else
			ai_guard_audit_msg_add(&msg, NULL);
		ai_guard_audit_msg_add(&msg, r->nbatches > 0 || known ?
							   int8_array_literal(r->batches, r->nbatches) : NULL);
		(void) queue(&msg, wait, pull_id);
		ag_rowset_builder_free(&r->ids);
	}
	MemoryContextSwitchTo(old);
}

/*------------------------------------------------------------------------
 * SQL functions
 *------------------------------------------------------------------------
 */

/* ai_guard.rowset_ids(bytea): the ids of an encoded set */
PG_FUNCTION_INFO_V1(ai_guard_rowset_ids);
Datum
ai_guard_rowset_ids(PG_FUNCTION_ARGS)
{
	FuncCallContext *fctx;
	ag_rowset_iter *it;
	uint64		id;
	int			r;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		bytea	   *data;

		fctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		data = PG_GETARG_BYTEA_P_COPY(0);
		it = palloc(sizeof(ag_rowset_iter));
		if (!ag_rowset_iter_init(it, (const uint8 *) VARDATA(data),
								 VARSIZE(data) - VARHDRSZ))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid row id set")));
		fctx->user_fctx = it;
		MemoryContextSwitchTo(old);
	}
	fctx = SRF_PERCALL_SETUP();
	it = fctx->user_fctx;
	r = ag_rowset_next(it, &id);
	if (r < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid row id set")));
	if (r == 0)
		SRF_RETURN_DONE(fctx);
	if (id > (uint64) PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("row id set holds an id out of range")));
	SRF_RETURN_NEXT(fctx, Int64GetDatum((int64) id));
}

/* ai_guard.rowset_count_in(bytea, int8[]): how many of the ids the set holds */
PG_FUNCTION_INFO_V1(ai_guard_rowset_count_in);
Datum
ai_guard_rowset_count_in(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i,
				k = 0;
	uint64	   *q;
	bool		sorted = true;
	int64		found;

	if (ARR_ELEMTYPE(a) != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row ids must be a bigint array")));
	deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	q = palloc(sizeof(uint64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		int64		v;

		if (nulls[i])
			continue;
		v = DatumGetInt64(elems[i]);
		if (v <= 0)
			continue;			/* no row has such an id */
		if (k > 0 && (uint64) v <= q[k - 1])
			sorted = false;
		q[k++] = (uint64) v;
	}
	if (!sorted)
		k = (int) ag_rowset_sort_unique(q, k);
	found = ag_rowset_count_in((const uint8 *) VARDATA_ANY(data),
							   VARSIZE_ANY_EXHDR(data), q, k);
	if (found < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid row id set")));
	PG_RETURN_INT64(found);
}

/*
 * ai_guard._subject_rows(value): for each tracked table with a column
 * labelled as the data-subject key, the row ids whose key equals value.
 * The tables are read as the extension's owner, for the row ids only (no
 * row leaves, so it is not a pull); the caller must be allowed to read the
 * audit's membership, which is what the answer is combined with.
 */
PG_FUNCTION_INFO_V1(ai_guard_subject_rows);
Datum
ai_guard_subject_rows(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			nsp = get_namespace_oid(AG_SCHEMA, false);
	Oid			members = get_relname_relid("pull_members", nsp);
	Oid			owner;
	AgOwnerContext oc;
	List	   *rels = NIL;
	List	   *cols = NIL;
	ListCell   *lr,
			   *lcol;
	MemoryContext outer = CurrentMemoryContext;

	if (!OidIsValid(members) ||
		pg_class_aclcheck(members, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to look up a data subject's rows"),
				 errdetail("Looking up a data subject needs SELECT on ai_guard.pull_members, as a compliance role has.")));
	InitMaterializedSRF(fcinfo, 0);
	owner = ai_guard_relation_owner(members);	/* the extension's owner */
	if (!tracked_valid)
		load_tracked();

	ai_guard_become_owner(owner, &oc);
	ai_guard_lineage_internal_read = true;
	PG_TRY();
	{
		uint64		k;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT l.objoid, a.attname::pg_catalog.text, l.label"
						"  FROM pg_catalog.pg_seclabel l"
						"  JOIN pg_catalog.pg_attribute a"
						"    ON a.attrelid OPERATOR(pg_catalog.=) l.objoid"
						"   AND a.attnum OPERATOR(pg_catalog.=) l.objsubid"
						" WHERE l.provider OPERATOR(pg_catalog.=) 'ai_guard'"
						"   AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
						"   AND l.objsubid OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
						" ORDER BY 1, 2", true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the column labels");
		for (k = 0; k < SPI_processed; k++)
		{
			bool		isnull;
			Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[k],
															   SPI_tuptable->tupdesc, 1, &isnull));
			char	   *label = SPI_getvalue(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 3);
			const TrackedRel *t = lookup_tracked(relid);
			ag_label	l;
			const char *err;

			/* the key of a partitioned table is labelled on its root */
			if (t == NULL || t->root != relid || label == NULL ||
				!ag_label_parse(label, strlen(label), &l, &err) || !l.subject)
				continue;
			rels = lappend(rels, (void *) t);
			cols = lappend(cols, SPI_getvalue(SPI_tuptable->vals[k],
											  SPI_tuptable->tupdesc, 2));
		}
		forboth(lr, rels, lcol, cols)
		{
			const TrackedRel *t = lfirst(lr);
			char	   *sql;
			Oid			argtypes[1] = {TEXTOID};
			Datum		args[1];
			bool		isnull;
			Datum		ids;

			/*
			 * The key's text through its type's output function, never a
			 * cast: a cast may be the table owner's function, and this runs
			 * as the extension's owner.
			 */
			sql = psprintf("SELECT pg_catalog.array_agg(%s ORDER BY %s) FROM %s"
						   " WHERE %s IS NOT NULL"
						   " AND pg_catalog.format('%%s', %s) OPERATOR(pg_catalog.=) $1",
						   quote_identifier(NameStr(t->rowcol)),
						   quote_identifier(NameStr(t->rowcol)),
						   ai_guard_qualified_name(t->relid),
						   quote_identifier((char *) lfirst(lcol)),
						   quote_identifier((char *) lfirst(lcol)));
			args[0] = PointerGetDatum(value);
			if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not look up a data subject's rows");
			ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
			{
				Datum		values[2];
				bool		nulls[2] = {false, false};
				MemoryContext old = MemoryContextSwitchTo(outer);

				values[0] = ObjectIdGetDatum(t->relid);
				values[1] = PointerGetDatum(DatumGetArrayTypePCopy(ids));
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
				MemoryContextSwitchTo(old);
			}
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_lineage_internal_read = false;
		ai_guard_restore_caller(&oc);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/*------------------------------------------------------------------------
 * Initialization
 *------------------------------------------------------------------------
 */

void
ai_guard_lineage_init(void)
{
	DefineCustomBoolVariable("ai_guard.row_membership",
							 "Records which rows of tracked relations each pull delivered.",
							 "Off, pulls of tracked relations record their membership as unknown.",
							 &row_membership,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	prev_planner = planner_hook;
	planner_hook = lineage_planner;
	CacheRegisterRelcacheCallback(tracked_relcache_cb, (Datum) 0);
}
