/*-------------------------------------------------------------------------
 *
 * audit_hook.c
 *		The training-pull audit in the executor: governed-read detection,
 *		the purpose check, the durable "started" record, and a DestReceiver
 *		wrapper that counts and digests the rows as delivered.
 *
 * Every executor run, at any nesting level (functions, SECURITY DEFINER
 * functions, cursors, prepared statements), is checked against the set of
 * governed relations (ai_guard.governed_relations, cached per backend and
 * invalidated through the relcache).  A plan's range table keeps the views
 * it expanded (for permission checks) and the partitions it scans, so views
 * and partitions of governed relations are found without re-analysis.
 *
 * For a governed read, after ExecutorStart has checked permissions and
 * before any row is read:
 *   - the purpose (ai_guard.purpose) must be granted to the current role,
 *     else the refusal is recorded and the read fails;
 *   - the "started" record is committed by the audit writer (audit_writer.c)
 *     and this backend waits for it, else the read fails (fail closed).
 * While rows flow, the wrapper encodes each in COPY text format and feeds a
 * SHA-256; ExecutorEnd sends the completion (rows, bytes, digest), and a
 * transaction or subtransaction abort marks the pull failed.  COPY ... TO
 * STDOUT is digested from the CopyData messages themselves, so the digest is
 * exactly the bytes the client received.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "commands/dbcommands.h"
#include "commands/seclabel.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/queryjumble.h"
#include "utils/regproc.h"
#include "utils/rls.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

/*
 * libpq/libpq.h pulls in the GSSAPI headers when the server was built with
 * GSSAPI; where those headers are not installed, declare the one libpq
 * interface used here (PqCommMethods, unchanged from 14 to 17) ourselves.
 */
#if defined(ENABLE_GSS) && defined(__has_include)
#if !__has_include(<gssapi/gssapi.h>) && !__has_include(<gssapi.h>)
#define AG_OWN_PQCOMM
#endif
#endif
#ifdef AG_OWN_PQCOMM
typedef struct
{
	void		(*comm_reset) (void);
	int			(*flush) (void);
	int			(*flush_if_writable) (void);
	bool		(*is_send_pending) (void);
	int			(*putmessage) (char msgtype, const char *s, size_t len);
	void		(*putmessage_noblock) (char msgtype, const char *s, size_t len);
} PQcommMethods;
extern PGDLLIMPORT const PQcommMethods *PqCommMethods;
#else
#include "libpq/libpq.h"
#endif

#include "ai_guard.h"
#include "audit_hook.h"
#include "audit_writer.h"
#include "digest.h"
#include "budget.h"
#include "leak_policy.h"
#include "masked_reads.h"
#include "masking_sql.h"
#include "ddl_reads.h"
#include "derived.h"
#include "governance_log.h"
#include "lineage.h"
#include "plan_walk.h"
#include "read_counts.h"
#include "stats_policy.h"

#define AG_SCHEMA			"ai_guard"
#define AG_MAX_QUERY_TEXT	32768

/*---- GUC variables ----*/

bool		ai_guard_require_purpose = true;

/*---- hooks ----*/

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* executor/utility nesting depth, as pg_stat_statements counts it */
static int	nest_level = 0;

/*---- the per-backend cache of governed relations ----*/

static bool cache_valid = false;
static uint64 cache_invals = 0;	/* invalidations seen, to spot one mid-load */
static bool ext_present = false;
static Oid	gr_relid = InvalidOid;	/* ai_guard.governed_relations */
static Oid *governed = NULL;	/* sorted */
static int	n_governed = 0;
static bool governed_partitioned = false;	/* any partitioned table in it */
static bool governed_inherited = false; /* any table in it with children */

/*---- pulls in progress ----*/

typedef struct AgPull AgPull;

typedef struct AgDest
{
	DestReceiver pub;
	DestReceiver *inner;
	AgPull	   *pull;
	bool		digest;			/* count and digest the rows (else COPY does) */
	JunkFilter *junk;			/* removes row membership columns, if any */
	uint64		delivered;		/* rows passed on (for the row budget) */
	TupleDesc	tupdesc;
	int			natts;
	FmgrInfo   *out;
	StringInfoData line;
	StringInfoData esc;
	MemoryContext rowcxt;
}			AgDest;

struct AgPull
{
	AgPull	   *next;
	MemoryContext cxt;
	QueryDesc  *qd;				/* NULL for COPY rel TO */
	int64		pull_id;		/* 0 if the record could not be written */
	int			level;
	SubTransactionId subid;
	bool		by_protocol;	/* COPY TO STDOUT: digest the CopyData bytes */
	uint64		rows;
	uint64		bytes;
	ag_sha256  *sha;
	AgDest	   *dest;
	AgMembers  *members;		/* row membership, if tracked relations are read */
	int64		budget_left;	/* rows the row budget still allows, -1: none */
	char	   *budget_detail;
	const char *abort_status;	/* how an abort ends it, if not "failed" */
	char	   *abort_detail;
	char	   *purpose;		/* the purpose it was recorded under, or "" */
	bool		errored;		/* its executor failed: the next abort ends it */
	AgReadCounts *reads;		/* rows examined per governed relation */
	bool		writes_rows;	/* a write into another relation: rows written */
	bool		in_utility;		/* DDL still running (it may commit inside) */
	/* governance follows the data (derived.c) */
	Oid			write_target;	/* relation written from governed rows */
	bool		write_into;		/* it is CREATE TABLE AS / matview output */
	bool		govern_target;	/* an ungoverned target: it becomes governed */
	List	   *sources;		/* the governed relations read */
};

static AgPull *pulls = NULL;
static int64 last_pull_id = 0;
static bool exit_hook_registered = false;

/*
 * A backend that ends in the middle of a pull (FATAL: a terminated backend,
 * a client gone in the middle of a COPY) aborts its transaction on the way
 * out, after its executors are gone.  This runs first (registered after
 * PostgreSQL's own exit callback, so called before it), while they are
 * still there: the rows read so far go into the records.
 */
static void
pulls_at_exit(int code, Datum arg)
{
	AgPull	   *p;

	for (p = pulls; p; p = p->next)
		if (!p->errored)
			ai_guard_read_counts_take(p->reads, false, true);
}

/* the COPY ... TO STDOUT whose bytes are being digested, if any */
static AgPull *copy_pull = NULL;
static int	copy_level = -1;	/* nest level of the COPY statement */
static const PQcommMethods *saved_comm = NULL;
static PQcommMethods copy_comm;

/* target of the CREATE TABLE AS / matview being executed */
static char *pending_target = NULL;
static int	pending_target_level = -1;
static RangeVar *pending_into = NULL;	/* the relation CREATE ... AS makes */
static Oid	pending_refresh = InvalidOid;	/* the matview REFRESH fills */
static bool pending_matview = false;
/* the copy that CREATE TABLE AS / a matview made, to govern at its end */
static Oid	pending_derived = InvalidOid;
static int64 pending_derived_pull = 0;
static List *pending_derived_sources = NIL;
static bool pending_derived_tracked = false;

/* what detection found */
typedef struct AgReadInfo
{
	const char *kind;
	List	   *relations;		/* char *, qualified, distinct */
	List	   *returned;		/* char * rel.col */
	List	   *filtered;
	List	   *pii;
	List	   *encrypted;
	List	   *masks;
	bool		returned_known;
	char	   *target;
	bool		writes_rows;	/* governed rows written elsewhere: count them */
	Oid			write_target;	/* relation written from governed rows */
	bool		write_into;		/* by CREATE TABLE AS / matview (created later) */
	bool		govern_target;	/* it is not governed yet */
}			AgReadInfo;

static void finish_pull(AgPull *pull, const char *status, const char *detail);

/*------------------------------------------------------------------------
 * The governed set
 *------------------------------------------------------------------------
 */

static int
ag_oid_cmp(const void *a, const void *b)
{
	Oid			x = *(const Oid *) a;
	Oid			y = *(const Oid *) b;

	return (x > y) - (x < y);
}

/*
 * Temporary copies of governed data stay with the session that made them
 * and were read under a recorded pull; what is copied out of them into a
 * persistent relation is a governed copy like any other (its labels traced
 * through them), and those holding rows of tracked tables may not be
 * copied into untracked persistent ones.
 */
static List *session_copies = NIL;	/* in TopMemoryContext */
static List *session_tracked_copies = NIL;
static List *session_copy_sources = NIL;	/* the relations they came from */
static int64 session_copy_pull = 0; /* the latest pull that made one */

static inline bool
oid_governed(Oid relid)
{
	return n_governed > 0 &&
		bsearch(&relid, governed, n_governed, sizeof(Oid), ag_oid_cmp) != NULL;
}

/* Does the plan read a temporary copy (and one of tracked rows)? */
static bool
reads_session_copy(PlannedStmt *ps, bool *tracked)
{
	ListCell   *lc;
	bool		found = false;

	*tracked = false;
	if (session_copies == NIL)
		return false;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION || !list_member_oid(session_copies, rte->relid) ||
			list_member_int(ps->resultRelations, foreach_current_index(lc) + 1))
			continue;
		found = true;
		if (list_member_oid(session_tracked_copies, rte->relid))
			*tracked = true;
	}
	return found;
}

/*
 * Values read from governed relations by code running inside a statement
 * (a function, a DO block, a trigger) may be written elsewhere by that
 * same code, with no governed relation in the writing query: the
 * statement is tainted from its first nested governed read, and what it
 * writes after is a copy.
 */
static int64 taint_pull = 0;	/* the latest nested pull of the statement */
static List *taint_sources = NIL;	/* in TopMemoryContext */
static bool taint_tracked = false;	/* a tracked relation was among them */

static void
taint_reset(void)
{
	taint_pull = 0;
	list_free_deep(taint_sources);
	taint_sources = NIL;
	taint_tracked = false;
}

static void
governed_relcache_cb(Datum arg, Oid relid)
{
	/*
	 * A governed relation's own change may give it children (CREATE TABLE
	 * ... INHERITS sets relhassubclass): the flags are recomputed.
	 */
	if (!OidIsValid(relid) || relid == gr_relid || !ext_present ||
		oid_governed(relid))
	{
		cache_valid = false;
		cache_invals++;
	}
}

static void
load_governed(void)
{
	Oid			nsp;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	Oid		   *buf;
	int			n = 0;
	int			cap = 16;
	uint64		invals = cache_invals;

	/*
	 * The cache becomes valid only once loaded: an error on the way (a
	 * cancel, a lock or statement timeout, out of memory) leaves it invalid,
	 * so the next read loads it again instead of believing nothing is
	 * governed (fail closed).
	 */
	cache_valid = false;
	nsp = get_namespace_oid(AG_SCHEMA, true);
	gr_relid = OidIsValid(nsp) ? get_relname_relid("governed_relations", nsp) : InvalidOid;
	ext_present = OidIsValid(gr_relid);
	n_governed = 0;
	if (!ext_present)
	{
		cache_valid = (invals == cache_invals);
		return;
	}

	/* it may be dropped (DROP EXTENSION) while we wait for its lock */
	rel = try_relation_open(gr_relid, AccessShareLock);
	if (rel == NULL)
	{
		ext_present = false;
		return;
	}
	buf = MemoryContextAlloc(TopMemoryContext, cap * sizeof(Oid));
	snap = RegisterSnapshot(GetCatalogSnapshot(gr_relid));
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		if (isnull)
			continue;
		if (n == cap)
		{
			cap *= 2;
			buf = repalloc(buf, cap * sizeof(Oid));
		}
		buf[n++] = DatumGetObjectId(d);
	}
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);

	qsort(buf, n, sizeof(Oid), ag_oid_cmp);
	if (governed)
		pfree(governed);
	governed = buf;
	n_governed = n;
	governed_partitioned = false;
	governed_inherited = false;
	for (n = 0; n < n_governed; n++)
	{
		char		relkind = get_rel_relkind(governed[n]);

		/* ('\0': dropped, not yet forgotten by the sql_drop trigger) */
		if (relkind == RELKIND_PARTITIONED_TABLE)
			governed_partitioned = true;
		else if (relkind == RELKIND_RELATION && has_subclass(governed[n]))
			governed_inherited = true;
	}
	/* an invalidation during the load means it may already be stale */
	cache_valid = (invals == cache_invals);
}

/*
 * The governed ancestor of a table through plain inheritance (its rows are
 * rows of the parent too, read through it), or InvalidOid.
 */
static Oid
governing_parent(Oid relid, int depth)
{
	Relation	inh;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			result = InvalidOid;

	if (depth > 16 || !has_superclass(relid))
		return InvalidOid;
	inh = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (!OidIsValid(result) && (tup = systable_getnext(scan)) != NULL)
	{
		Oid			parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;

		result = oid_governed(parent) ? parent : governing_parent(parent, depth + 1);
	}
	systable_endscan(scan);
	table_close(inh, AccessShareLock);
	return result;
}

/*
 * The governed relation a scanned relation counts as: itself, or for a
 * partition or an inheritance child its nearest governed ancestor.
 * InvalidOid if none.
 */
static Oid
governing_relid(Oid relid, char relkind)
{
	List	   *ancestors;
	ListCell   *lc;
	Oid			result = InvalidOid;

	if (oid_governed(relid))
		return relid;
	/* only partitions and inheritance children of governed tables count */
	if (!governed_partitioned && !governed_inherited)
		return InvalidOid;
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_FOREIGN_TABLE)
		return InvalidOid;
	if (!get_rel_relispartition(relid))
		return governed_inherited ? governing_parent(relid, 0) : InvalidOid;
	ancestors = get_partition_ancestors(relid);
	foreach(lc, ancestors)
	{
		if (oid_governed(lfirst_oid(lc)))
		{
			result = lfirst_oid(lc);
			break;
		}
	}
	list_free(ancestors);
	return result;
}

bool
ai_guard_is_governed(Oid relid)
{
	if (!cache_valid)
		load_governed();
	return OidIsValid(governing_relid(relid, get_rel_relkind(relid)));
}

/* Does a parse-analyzed statement name a governed relation anywhere? */
static bool
names_governed_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		return rte->rtekind == RTE_RELATION &&
			OidIsValid(governing_relid(rte->relid, rte->relkind));
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, names_governed_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, names_governed_walker, context);
}

/* Should this process check its reads at all? */
static inline bool
audit_active(void)
{
	if (ai_guard_am_audit_writer || !IsNormalProcessingMode())
		return false;
	/* ai_guard reading row ids for an impact query: no row leaves */
	if (ai_guard_lineage_internal_read)
		return false;
	if (!IsTransactionState())
		return false;
	if (!cache_valid)
		load_governed();
	return n_governed > 0;
}

/*
 * The foreign-key query running now, if any.  PostgreSQL's own RI queries
 * (a key check, a cascaded delete or update) are not reads: nothing leaves.
 * They run in a security context of their own (InNoForceRLSOperation), but
 * so does every piece of user code they fire (a BEFORE trigger on the
 * referencing table, a user-defined equality operator), one executor level
 * deeper: only the outermost executor in that context is exempt.
 */
static QueryDesc *ri_query = NULL;
static int	ri_level = -1;
static SubTransactionId ri_subid = InvalidSubTransactionId;

static bool
ri_query_exempt(QueryDesc *qd)
{
	if (!InNoForceRLSOperation())
		return false;

	/*
	 * A key check only looks a key up.  A cascaded update or delete of a
	 * governed table reads its rows (a constraint it violates shows the
	 * whole row in the error): a read like any other.
	 */
	if (qd->plannedstmt->commandType != CMD_SELECT)
		return false;
	if (ri_query != NULL && nest_level > ri_level)
		return false;			/* user code the RI query runs */
	ri_query = qd;
	ri_level = nest_level;
	ri_subid = GetCurrentSubTransactionId();
	return true;
}

/*------------------------------------------------------------------------
 * Describing a read
 *------------------------------------------------------------------------
 */

static List *
add_distinct(List *list, char *s)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		if (strcmp((char *) lfirst(lc), s) == 0)
			return list;
	}
	return lappend(list, s);
}

static bool
list_has(List *list, const char *s)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		if (strcmp((char *) lfirst(lc), s) == 0)
			return true;
	}
	return false;
}

/* "rel.col" for column attname of governed relation govrel */
static char *
column_name(Oid govrel, const char *attname)
{
	return psprintf("%s.%s", ai_guard_qualified_name(govrel), quote_identifier(attname));
}

/*
 * Classification of a column from its ai_guard security label: PII if the
 * label starts with "pii"; a " mask=fn(...)" part names the mask.
 */
static void
classify_column(AgReadInfo *info, Oid govrel, const char *attname,
				const char *colname, List *encrypted_cols)
{
	AttrNumber	attnum = get_attnum(govrel, attname);
	ObjectAddress addr;
	char	   *label;

	if (list_has(encrypted_cols, colname))
		info->encrypted = add_distinct(info->encrypted, pstrdup(colname));
	if (attnum <= 0)
		return;
	ObjectAddressSubSet(addr, RelationRelationId, govrel, attnum);
	label = GetSecurityLabel(&addr, "ai_guard");
	if (label == NULL)
		return;
	if (strncmp(label, "pii", 3) == 0)
		info->pii = add_distinct(info->pii, pstrdup(colname));
	{
		char	   *m = strstr(label, " mask=");

		if (m != NULL && m[6] != '\0')
			info->masks = add_distinct(info->masks,
									   psprintf("%s=%s", colname, m + 6));
	}
}

/* Columns listed in ai_guard.encrypted_columns, if that table exists. */
static List *
load_encrypted_columns(void)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	TupleDesc	desc;
	int			relatt = 0,
				colatt = 0;
	int			i;
	List	   *result = NIL;

	if (!OidIsValid(nsp))
		return NIL;
	relid = get_relname_relid("encrypted_columns", nsp);
	if (!OidIsValid(relid))
		return NIL;
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped)
			continue;
		if (strcmp(NameStr(a->attname), "rel") == 0 && a->atttypid == REGCLASSOID)
			relatt = i + 1;
		else if (strcmp(NameStr(a->attname), "column_name") == 0 && a->atttypid == NAMEOID)
			colatt = i + 1;
	}
	if (relatt && colatt)
	{
		snap = RegisterSnapshot(GetCatalogSnapshot(relid));
		scan = table_beginscan(rel, snap, 0, NULL);
		while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			bool		n1,
						n2;
			Datum		r = heap_getattr(tup, relatt, desc, &n1);
			Datum		c = heap_getattr(tup, colatt, desc, &n2);

			if (n1 || n2 || !oid_governed(DatumGetObjectId(r)))
				continue;
			result = lappend(result,
							 column_name(DatumGetObjectId(r),
										 NameStr(*DatumGetName(c))));
		}
		table_endscan(scan);
		UnregisterSnapshot(snap);
	}
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * Follows an output column to the governed relations it comes from: the
 * parser records the relation and column of plain column references
 * (resorigtbl/resorigcol), and for a view the same is recorded in the view's
 * query.
 */
static void
trace_returned(AgReadInfo *info, Oid relid, AttrNumber attnum, int depth)
{
	char		relkind;
	Oid			gov;
	char	   *attname;

	if (!OidIsValid(relid) || attnum <= 0 || depth > 32)
		return;
	relkind = get_rel_relkind(relid);
	attname = get_attname(relid, attnum, true);
	if (attname == NULL)
		return;
	gov = governing_relid(relid, relkind);
	if (OidIsValid(gov))
		info->returned = add_distinct(info->returned, column_name(gov, attname));
	if (relkind == RELKIND_VIEW)
	{
		Relation	view = relation_open(relid, AccessShareLock);
		Query	   *vq = get_view_query(view);
		TargetEntry *tle = get_tle_by_resno(vq->targetList, attnum);

		if (tle != NULL && !tle->resjunk)
			trace_returned(info, tle->resorigtbl, tle->resorigcol, depth + 1);
		relation_close(view, AccessShareLock);
	}
}

/*
 * An exclusion constraint's violation shows the existing row's value: an
 * INSERT into a table with one reads it.
 */
static bool
has_exclusion_constraint(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	ListCell   *lc;
	bool		found = false;

	if (rel->rd_rel->relhasindex)
	{
		foreach(lc, RelationGetIndexList(rel))
		{
			HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));

			if (!HeapTupleIsValid(tup))
				continue;
			found = ((Form_pg_index) GETSTRUCT(tup))->indisexclusion;
			ReleaseSysCache(tup);
			if (found)
				break;
		}
	}
	relation_close(rel, AccessShareLock);
	return found;
}

/* What the ModifyTable nodes of a plan do with governed relations */
typedef struct AgWrites
{
	PlannedStmt *stmt;
	Bitmapset  *read_targets;	/* governed targets whose rows are read */
	Index		other_target;	/* first ungoverned target, or 0 */
	Index		governed_target;	/* first governed target, or 0 */
	Index		copy_target;	/* first governed target only inserted into */
}			AgWrites;

static bool
find_writes(Plan *plan, void *context)
{
	AgWrites   *w = (AgWrites *) context;
	ModifyTable *mt;
	ListCell   *lc;

	if (!IsA(plan, ModifyTable))
		return false;
	mt = (ModifyTable *) plan;
	foreach(lc, mt->resultRelations)
	{
		Index		rti = lfirst_int(lc);
		RangeTblEntry *rte = rt_fetch(rti, w->stmt->rtable);
		/* the table written: a partitioned table, not its partitions */
		Index		written = mt->rootRelation > 0 ? mt->rootRelation : rti;

		if (!OidIsValid(governing_relid(rte->relid, rte->relkind)))
		{
			if (w->other_target == 0)
				w->other_target = written;
			continue;
		}
		if (w->governed_target == 0)
			w->governed_target = written;
		if (mt->operation != CMD_INSERT ||
			mt->onConflictAction == ONCONFLICT_UPDATE ||
			has_exclusion_constraint(rte->relid))
			w->read_targets = bms_add_member(w->read_targets, rti);
		else if (w->copy_target == 0)
			w->copy_target = written;
	}
	return false;
}

/*
 * Which governed relations a plan reads, and how.  Returns NULL for a plan
 * that reads none (the common case, kept cheap).
 */
static AgReadInfo *
detect_read(QueryDesc *qd)
{
	PlannedStmt *ps = qd->plannedstmt;
	ListCell   *lc;
	int			rti = 0;
	bool		any = false;
	bool		source_governed = false;
	AgReadInfo *info;
	List	   *encrypted_cols;
	CommandDest mydest = qd->dest ? qd->dest->mydest : DestNone;
	AgWrites	writes = {ps, NULL, 0, 0, 0};

	if (ps->commandType == CMD_UTILITY)
		return NULL;

	/* fast pass: any governed relation at all? */
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind != RTE_RELATION)
			continue;
		if (OidIsValid(governing_relid(rte->relid, rte->relkind)))
		{
			any = true;
			if (!list_member_int(ps->resultRelations, rti))
				source_governed = true;
		}
	}
	if (!any)
		return NULL;
	if (ps->commandType != CMD_SELECT || ps->hasModifyingCTE)
		(void) ai_guard_plan_walk(ps, find_writes, &writes);

	info = palloc0(sizeof(AgReadInfo));
	if (ps->commandType == CMD_SELECT)
	{
		if (mydest == DestIntoRel || mydest == DestTransientRel)
		{
			info->kind = "derivation";
			if (pending_target && pending_target_level == nest_level - 1)
			{
				info->target = pstrdup(pending_target);
				info->write_target = pending_refresh;
				info->write_into = true;
				info->govern_target = true;
			}
		}
		else if (mydest == DestCopyOut)
			info->kind = "copy";
		else
			info->kind = "read";

		/* a data-modifying CTE that writes governed rows elsewhere */
		if (!info->write_into && source_governed)
		{
			if (writes.other_target > 0)
			{
				info->write_target = rt_fetch(writes.other_target, ps->rtable)->relid;
				info->govern_target = true;
			}
			else if (writes.governed_target > 0)
				info->write_target = rt_fetch(writes.governed_target, ps->rtable)->relid;
		}
	}
	else
	{
		/*
		 * INSERT/UPDATE/DELETE/MERGE.  A write reads the governed relations
		 * it selects from, and a governed target it updates, deletes or
		 * merges into (its conditions and expressions see every row they
		 * examine).  Only a plain INSERT into a governed relation that reads
		 * none and returns nothing is no read.  Governed rows that go into
		 * an ungoverned relation are a derivation of it.
		 */
		if (!source_governed && writes.read_targets == NULL && !ps->hasReturning)
			return NULL;
		if (writes.other_target > 0 &&
			(source_governed || writes.read_targets != NULL))
		{
			info->kind = "derivation";
			info->write_target = rt_fetch(writes.other_target, ps->rtable)->relid;
			info->target = ai_guard_qualified_name(info->write_target);
			info->writes_rows = !ps->hasReturning;
			info->govern_target = true;
		}
		else if (writes.copy_target > 0 &&
				 (source_governed || writes.read_targets != NULL))
		{
			/* governed rows copied into a governed relation: labels travel */
			info->kind = "derivation";
			info->write_target = rt_fetch(writes.copy_target, ps->rtable)->relid;
			info->target = ai_guard_qualified_name(info->write_target);
			info->writes_rows = !ps->hasReturning;
		}
		else
		{
			info->kind = "read";
			/* an UPDATE or MERGE may copy one column into another */
			if (writes.governed_target > 0)
				info->write_target = rt_fetch(writes.governed_target, ps->rtable)->relid;
		}
	}

	/* relations and the columns referenced */
	encrypted_cols = load_encrypted_columns();
	rti = 0;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Oid			gov;
		int			col;

		rti++;
		if (rte->rtekind != RTE_RELATION)
			continue;
		gov = governing_relid(rte->relid, rte->relkind);
		if (!OidIsValid(gov))
			continue;
		if (ps->commandType != CMD_SELECT && !ps->hasReturning &&
			list_member_int(ps->resultRelations, rti) &&
			!bms_is_member(rti, writes.read_targets))
			continue;			/* only written */
		info->relations = add_distinct(info->relations, ai_guard_qualified_name(gov));

		col = -1;
		while ((col = bms_next_member(rte->selectedCols, col)) >= 0)
		{
			AttrNumber	attnum = col + FirstLowInvalidHeapAttributeNumber;

			if (attnum == InvalidAttrNumber)
			{
				/* whole-row reference: every column */
				Relation	r = relation_open(rte->relid, AccessShareLock);
				int			i;

				for (i = 0; i < RelationGetDescr(r)->natts; i++)
				{
					Form_pg_attribute a = TupleDescAttr(RelationGetDescr(r), i);

					if (!a->attisdropped)
						info->filtered = add_distinct(info->filtered,
													  column_name(gov, NameStr(a->attname)));
				}
				relation_close(r, AccessShareLock);
			}
			else if (attnum > 0)
			{
				char	   *attname = get_attname(rte->relid, attnum, true);

				if (attname)
					info->filtered = add_distinct(info->filtered,
												  column_name(gov, attname));
			}
		}
	}

	/* output columns that are plain references to governed columns */
	if (ps->commandType == CMD_SELECT && ps->planTree != NULL)
	{
		info->returned_known = true;
		foreach(lc, ps->planTree->targetlist)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (!tle->resjunk)
				trace_returned(info, tle->resorigtbl, tle->resorigcol, 0);
		}
	}

	/* referenced = returned + filtered; classify them all */
	{
		List	   *only_filtered = NIL;

		foreach(lc, info->filtered)
		{
			char	   *c = lfirst(lc);

			if (!list_has(info->returned, c))
				only_filtered = lappend(only_filtered, c);
		}
		info->filtered = only_filtered;
	}
	rti = 0;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Oid			gov;
		int			col = -1;

		if (rte->rtekind != RTE_RELATION)
			continue;
		gov = governing_relid(rte->relid, rte->relkind);
		if (!OidIsValid(gov))
			continue;
		while ((col = bms_next_member(rte->selectedCols, col)) >= 0)
		{
			AttrNumber	attnum = col + FirstLowInvalidHeapAttributeNumber;
			char	   *attname;
			char	   *cname;

			if (attnum <= 0)
				continue;
			attname = get_attname(rte->relid, attnum, true);
			if (attname == NULL)
				continue;
			cname = column_name(gov, attname);
			classify_column(info, gov, attname, cname, encrypted_cols);
		}
	}
	return info;
}

/*------------------------------------------------------------------------
 * Purpose
 *------------------------------------------------------------------------
 */

/* Is purpose (or its class) granted to role, directly or by membership? */
static bool
purpose_granted(Oid roleid, const char *purpose)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	TupleDesc	desc;
	int			class_len = ag_purpose_class_len(purpose, strlen(purpose));
	TimestampTz now = GetCurrentTimestamp();
	bool		granted = false;

	if (class_len < 0 || !OidIsValid(nsp))
		return false;
	relid = get_relname_relid("purpose_grants", nsp);
	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	snap = RegisterSnapshot(GetCatalogSnapshot(relid));
	scan = table_beginscan(rel, snap, 0, NULL);
	while (!granted && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		n1,
					n2,
					n3;
		Datum		r = heap_getattr(tup, 1, desc, &n1);
		Datum		p = heap_getattr(tup, 2, desc, &n2);
		Datum		v = heap_getattr(tup, 3, desc, &n3);
		char	   *gp;
		Oid			grantee;

		if (n1 || n2)
			continue;
		if (!n3 && DatumGetTimestampTz(v) <= now)
			continue;
		gp = TextDatumGetCString(p);
		if (!(strcmp(gp, purpose) == 0 ||
			  (strlen(gp) == (size_t) class_len &&
			   strncmp(gp, purpose, class_len) == 0)))
			continue;
		grantee = get_role_oid(NameStr(*DatumGetName(r)), true);
		if (OidIsValid(grantee) && has_privs_of_role(roleid, grantee))
			granted = true;
	}
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return granted;
}

/* the last answer of ai_guard_purpose_granted, for this transaction */
static LocalTransactionId granted_lxid = InvalidLocalTransactionId;
static Oid	granted_role = InvalidOid;
static char granted_purpose[NAMEDATALEN * 4];
static bool granted_answer = false;

bool
ai_guard_purpose_granted(Oid roleid, const char *purpose)
{
	if (granted_lxid == MyProc->lxid && granted_role == roleid &&
		strcmp(granted_purpose, purpose) == 0)
		return granted_answer;
	granted_answer = purpose_granted(roleid, purpose);
	if (strlen(purpose) < sizeof(granted_purpose))
	{
		strlcpy(granted_purpose, purpose, sizeof(granted_purpose));
		granted_role = roleid;
		granted_lxid = MyProc->lxid;
	}
	else
		granted_lxid = InvalidLocalTransactionId;
	return granted_answer;
}

/*------------------------------------------------------------------------
 * Records
 *------------------------------------------------------------------------
 */

/* A text[] literal of the strings, every element double-quoted. */
static char *
text_array_literal(List *items)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	foreach(lc, items)
	{
		const char *p;

		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoChar(&buf, '"');
		for (p = (const char *) lfirst(lc); *p; p++)
		{
			if (*p == '"' || *p == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, *p);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static int64
full_xid(TransactionId xid, FullTransactionId next)
{
	uint32		epoch = EpochFromFullTransactionId(next);

	if (!TransactionIdIsNormal(xid))
		return (int64) xid;
	if (xid > XidFromFullTransactionId(next) && epoch > 0)
		epoch--;
	return (int64) (((uint64) epoch << 32) | xid);
}

char *
ai_guard_clip_query(const char *s)
{
	int			len;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (len <= AG_MAX_QUERY_TEXT)
		return pstrdup(s);
	len = pg_mbcliplen(s, len, AG_MAX_QUERY_TEXT);
	return psprintf("%.*s...", len, s);
}

static char *
client_address(void)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	d = inet_client_addr(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return DatumGetCString(DirectFunctionCall1(inet_out, d));
}

/* Builds the AG_MSG_START message of a read. */
static void
build_start(AgAuditMsg *msg, const char *status, AgReadInfo *info,
			const char *query, ParamListInfo params, Snapshot snap,
			int64 query_id, const char *detail)
{
	const char *purpose = (ai_guard_purpose && *ai_guard_purpose) ? ai_guard_purpose : NULL;
	List	   *ptypes = NIL;
	int			nparams = params ? params->numParams : 0;
	int			i;

	for (i = 0; i < nparams; i++)
	{
		ParamExternData workspace;
		ParamExternData *prm = &params->params[i];
		Oid			t;

		/*
		 * A dynamic parameter list (PL/pgSQL's) fills its entries only when
		 * fetched; ask for the type without evaluating anything.
		 */
		if (params->paramFetch != NULL)
			prm = params->paramFetch(params, i + 1, true, &workspace);
		t = prm ? prm->ptype : InvalidOid;
		ptypes = lappend(ptypes, OidIsValid(t) ?
						 format_type_extended(t, -1, FORMAT_TYPE_ALLOW_INVALID) :
						 "unknown");
	}

	ai_guard_audit_msg_init(msg, AG_MSG_START);
	ai_guard_audit_msg_add(msg, status);
	ai_guard_audit_msg_add(msg, info->kind);
	ai_guard_audit_msg_add_int64(msg, GetCurrentTimestamp());
	ai_guard_audit_msg_add(msg, GetUserNameFromId(GetSessionUserId(), false));
	ai_guard_audit_msg_add(msg, GetUserNameFromId(GetUserId(), false));
	ai_guard_audit_msg_add(msg, client_address());
	ai_guard_audit_msg_add(msg, application_name && *application_name ? application_name : NULL);
	ai_guard_audit_msg_add_int64(msg, MyProcPid);
	ai_guard_audit_msg_add(msg, get_database_name(MyDatabaseId));
	ai_guard_audit_msg_add(msg, purpose);
	ai_guard_audit_msg_add(msg, ai_guard_clip_query(query));
	if (nest_level > 0 && debug_query_string && query &&
		strcmp(debug_query_string, query) != 0)
		ai_guard_audit_msg_add(msg, ai_guard_clip_query(debug_query_string));
	else
		ai_guard_audit_msg_add(msg, NULL);
	if (query_id != 0)
		ai_guard_audit_msg_add_int64(msg, query_id);
	else
		ai_guard_audit_msg_add(msg, NULL);
	ai_guard_audit_msg_add_int64(msg, nest_level);
	ai_guard_audit_msg_add_int64(msg, nparams);
	ai_guard_audit_msg_add(msg, nparams > 0 ? text_array_literal(ptypes) : NULL);
	ai_guard_audit_msg_add(msg, text_array_literal(info->relations));
	ai_guard_audit_msg_add(msg, info->returned_known ? text_array_literal(info->returned) : NULL);
	ai_guard_audit_msg_add(msg, text_array_literal(info->filtered));
	ai_guard_audit_msg_add(msg, text_array_literal(info->pii));
	ai_guard_audit_msg_add(msg, text_array_literal(info->encrypted));
	ai_guard_audit_msg_add(msg, text_array_literal(info->masks));
	ai_guard_audit_msg_add(msg, info->target);
	if (snap != NULL && IsMVCCSnapshot(snap))
	{
		FullTransactionId next = ReadNextFullTransactionId();
		StringInfoData xip;
		uint32		j;

		ai_guard_audit_msg_add_int64(msg, full_xid(snap->xmin, next));
		ai_guard_audit_msg_add_int64(msg, full_xid(snap->xmax, next));
		initStringInfo(&xip);
		appendStringInfoChar(&xip, '{');
		for (j = 0; j < snap->xcnt; j++)
			appendStringInfo(&xip, "%s" INT64_FORMAT, j ? "," : "",
							 full_xid(snap->xip[j], next));
		appendStringInfoChar(&xip, '}');
		ai_guard_audit_msg_add(msg, xip.data);
	}
	else
	{
		ai_guard_audit_msg_add(msg, NULL);
		ai_guard_audit_msg_add(msg, NULL);
		ai_guard_audit_msg_add(msg, NULL);
	}
	ai_guard_audit_msg_add(msg, detail);
	/* a refusal ends when it starts */
	if (strcmp(status, "refused") == 0)
		ai_guard_audit_msg_add_int64(msg, GetCurrentTimestamp());
	else
		ai_guard_audit_msg_add(msg, NULL);
}

static char *
relations_text(AgReadInfo *info)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	foreach(lc, info->relations)
		appendStringInfo(&s, "%s%s", s.len ? ", " : "", (char *) lfirst(lc));
	return s.data;
}

/* Records a read refused before any row was read (a warning if it cannot). */
static void
record_refusal(AgReadInfo *info, const char *query, ParamListInfo params,
			   Snapshot snap, int64 query_id, const char *why_refused)
{
	AgAuditMsg	msg;
	int64		pull_id = 0;
	const char *why;

	build_start(&msg, "refused", info, query, params, snap, query_id, why_refused);
	if (!ai_guard_audit_submit(&msg, true, &pull_id, &why))
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not record the refused read"),
				 errdetail("%s.", why)));
	else
		last_pull_id = pull_id;
}

/*
 * A role with masked access reads governed columns only through masked
 * views (masked_reads.c): records the refusal and raises the error.
 */
static void
refuse_masked_read(AgReadInfo *info, const char *query, ParamListInfo params,
				   Snapshot snap, int64 query_id, AgMaskedViolation *v)
{
	char	   *role = GetUserNameFromId(v->role, false);

	record_refusal(info, query, params, snap, query_id,
				   psprintf("role %s has masked access: column %s read outside a masked view",
							role, v->column));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("role \"%s\" has masked access and may not read column %s",
					role, v->column),
			 errdetail("Roles given masked access read the PII, masked and unclassified columns of governed relations only through their masked views, whatever else is granted."),
			 OidIsValid(v->masked_view) ?
			 errhint("Read the masked view %s instead.",
					 ai_guard_qualified_name(v->masked_view)) :
			 errhint("The owner of %s can create a masked view with ai_guard.create_masked_view(), or label the column public.",
					 ai_guard_qualified_name(v->relid))));
}

/*
 * The purpose check and the durable "started" record of a governed read.
 * Raises an error (after recording the refusal) if the read may not go on.
 * Returns the new pull, registered in the list of pulls in progress.
 */
static AgPull *
begin_pull(AgReadInfo *info, QueryDesc *qd, const char *query,
		   ParamListInfo params, Snapshot snap, int64 query_id)
{
	AgAuditMsg	msg;
	const char *purpose = ai_guard_purpose;
	const char *why;
	int64		pull_id = 0;
	AgPull	   *pull;
	MemoryContext cxt;
	int64		budget_left = -1;
	char	   *budget_detail = NULL;

	/*
	 * A superuser could switch require_purpose off anyway, so refusing one
	 * protects nothing and would only break backups and maintenance: their
	 * reads are recorded, not refused. Both the session and the current user
	 * must be superusers, so that neither SET ROLE to an ordinary role nor a
	 * SECURITY DEFINER function owned by a superuser lifts the check.
	 */
	if (ai_guard_require_purpose &&
		!(superuser_arg(GetUserId()) && superuser_arg(GetSessionUserId())))
	{
		char	   *refusal = NULL;
		bool		no_purpose = (purpose == NULL || *purpose == '\0');

		if (no_purpose)
			refusal = "no purpose declared";
		else if (!purpose_granted(GetUserId(), purpose))
			refusal = psprintf("purpose not granted to role %s",
							   GetUserNameFromId(GetUserId(), false));
		if (refusal)
		{
			record_refusal(info, query, params, snap, query_id, refusal);
			if (no_purpose)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("reading governed relation %s requires a declared purpose",
								relations_text(info)),
						 errdetail("ai_guard.require_purpose is on and ai_guard.purpose is not set."),
						 errhint("Declare why you read the data, for example SET ai_guard.purpose = 'training:churn-v3', using a purpose granted to your role.")));
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("purpose \"%s\" is not granted to role \"%s\" for reading governed relation %s",
							purpose, GetUserNameFromId(GetUserId(), false),
							relations_text(info)),
					 errhint("An administrator can grant it with ai_guard.grant_purpose(role, purpose, valid_until); a grant of the class before \":\" covers every purpose of that class.")));
		}
	}

	/* masked-access roles read private columns only through masked views */
	if (qd != NULL)
	{
		Oid			masked = ai_guard_masked_role();
		AgMaskedViolation v;
		Oid			bypassed;

		if (OidIsValid(masked) &&
			!ai_guard_masked_plan_ok(qd->plannedstmt, masked, governing_relid, &v))
			refuse_masked_read(info, query, params, snap, query_id, &v);

		/* consent holds through views, not only for direct reads */
		bypassed = ai_guard_view_consent_bypass(qd->plannedstmt);
		if (OidIsValid(bypassed))
		{
			record_refusal(info, query, params, snap, query_id,
						   psprintf("tracked relation %s read as a role its consent rule does not filter",
									ai_guard_qualified_name(bypassed)));
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("tracked relation %s is read as a role its consent rule does not filter",
							ai_guard_qualified_name(bypassed)),
					 errdetail("A view or a SECURITY DEFINER function runs as its owner, whom row-level security does not filter, so rows without consent for the purpose, or quarantined rows, would be read."),
					 errhint("Make the view check its reader (ALTER VIEW ... SET (security_invoker = on)) or the function SECURITY INVOKER, or read the table's masked view.")));
		}
	}

	/*
	 * Untrusted code never sees governed values (leak_policy.c).  Superusers
	 * could turn the policy off, and may run what they like.
	 */
	if (ai_guard_refuse_untrusted && qd != NULL &&
		!(superuser_arg(GetUserId()) && superuser_arg(GetSessionUserId())))
	{
		Oid			fn = ai_guard_untrusted_function(qd->plannedstmt);

		if (OidIsValid(fn))
		{
			char	   *fname = format_procedure(fn);

			record_refusal(info, query, params, snap, query_id,
						   psprintf("untrusted function %s applied to governed values", fname));
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("function %s may not see the values of governed relation %s",
							fname, relations_text(info)),
					 errdetail("In a read of governed data, functions applied to column values must be built in, ai_guard's, LEAKPROOF or trusted: other code could send the values elsewhere."),
					 errhint("A platform administrator can trust the function with ai_guard.trust_function('%s'::regprocedure, reason).",
							 format_procedure_qualified(fn))));
		}
	}

	/* the row budget of the role for this purpose, if it has one */
	if (purpose != NULL && *purpose != '\0' &&
		!(superuser_arg(GetUserId()) && superuser_arg(GetSessionUserId())))
	{
		char	   *role = GetUserNameFromId(GetUserId(), false);

		budget_left = ai_guard_budget_left(role, purpose, &budget_detail);
		if (budget_left == 0)
		{
			record_refusal(info, query, params, snap, query_id,
						   psprintf("row budget exhausted: %s", budget_detail));
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("row budget of role \"%s\" for purpose \"%s\" is used up",
							role, purpose),
					 errdetail("The %s.", budget_detail),
					 errhint("An administrator can change the budget with ai_guard.set_budget(role, purpose, max_rows, per).")));
		}
	}

	build_start(&msg, "started", info, query, params, snap, query_id, NULL);
	if (!ai_guard_audit_submit(&msg, true, &pull_id, &why))
	{
		if (ai_guard_audit_failure == AG_AUDIT_FAILURE_REFUSE)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not record the read of governed relation %s",
							relations_text(info)),
					 errdetail("%s.", why),
					 errhint("Governed reads are refused while their audit record cannot be written (ai_guard.audit_failure = refuse).")));
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("reading governed relation %s without a committed audit record",
						relations_text(info)),
				 errdetail("%s.", why)));
		pull_id = 0;
	}
	else
		last_pull_id = pull_id;

	if (!exit_hook_registered)
	{
		before_shmem_exit(pulls_at_exit, (Datum) 0);
		exit_hook_registered = true;
	}
	cxt = AllocSetContextCreate(TopMemoryContext, "ai_guard pull",
								ALLOCSET_SMALL_SIZES);
	pull = MemoryContextAllocZero(cxt, sizeof(AgPull));
	pull->cxt = cxt;
	pull->qd = qd;
	pull->pull_id = pull_id;
	pull->level = nest_level;
	pull->subid = GetCurrentSubTransactionId();
	pull->budget_left = budget_left;
	pull->purpose = MemoryContextStrdup(cxt, purpose ? purpose : "");
	if (budget_detail)
		pull->budget_detail = MemoryContextStrdup(cxt, budget_detail);
	pull->sha = ag_sha256_new();
	if (pull->sha == NULL)
	{
		MemoryContextDelete(cxt);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialize SHA-256")));
	}
	pull->next = pulls;
	pulls = pull;
	return pull;
}

/* Sends the outcome of a pull and forgets it. */
static void
finish_pull(AgPull *pull, const char *status, const char *detail)
{
	AgPull	  **pp;
	char		hex[AG_SHA256_HEX_LEN + 1];
	bool		have_digest;

	if (pull == NULL)
		return;
	for (pp = &pulls; *pp; pp = &(*pp)->next)
	{
		if (*pp == pull)
		{
			*pp = pull->next;
			break;
		}
	}
	if (copy_pull == pull)
		copy_pull = NULL;
	have_digest = pull->sha != NULL && ag_sha256_final_hex(pull->sha, hex);
	ag_sha256_free(pull->sha);
	pull->sha = NULL;

	/* what left was read: a COPY of one relation read at least its rows */
	ai_guard_read_counts_at_least(pull->reads, (int64) pull->rows);
	if (pull->pull_id != 0)
	{
		AgAuditMsg	msg;
		const char *why;
		int64		dummy;
		MemoryContext old = MemoryContextSwitchTo(pull->cxt);

		/* membership first: the completion is the pull's last chain entry */
		ai_guard_members_send(pull->members, pull->pull_id,
							  strcmp(status, "completed") == 0);
		ai_guard_audit_msg_init(&msg, AG_MSG_FINISH);
		ai_guard_audit_msg_add_int64(&msg, pull->pull_id);
		ai_guard_audit_msg_add(&msg, status);
		ai_guard_audit_msg_add_int64(&msg, GetCurrentTimestamp());
		ai_guard_audit_msg_add_int64(&msg, (int64) pull->rows);
		ai_guard_audit_msg_add_int64(&msg, (int64) pull->bytes);
		ai_guard_audit_msg_add(&msg, have_digest ? hex : NULL);
		ai_guard_audit_msg_add(&msg, detail);
		ai_guard_audit_msg_add(&msg, ai_guard_read_counts_json(pull->reads));
		if (!ai_guard_audit_submit(&msg, false, &dummy, &why))
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not record the outcome of pull " INT64_FORMAT, pull->pull_id),
					 errdetail("%s.", why)));
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(pull->cxt);
}

static AgPull *
find_pull(QueryDesc *qd)
{
	AgPull	   *p;

	for (p = pulls; p; p = p->next)
		if (p->qd == qd)
			return p;
	return NULL;
}

/*------------------------------------------------------------------------
 * The DestReceiver wrapper: COPY text format, counted and digested
 *------------------------------------------------------------------------
 */

static void
agdest_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	AgDest	   *d = (AgDest *) self;

	if (d->tupdesc != typeinfo || d->out == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(d->pull->cxt);
		int			i;

		d->tupdesc = typeinfo;
		d->natts = typeinfo->natts;
		d->out = palloc0(sizeof(FmgrInfo) * Max(d->natts, 1));
		for (i = 0; i < d->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(typeinfo, i);
			Oid			func;
			bool		isvarlena;

			if (a->attisdropped)
				continue;
			getTypeOutputInfo(a->atttypid, &func, &isvarlena);
			fmgr_info(func, &d->out[i]);
		}
		MemoryContextSwitchTo(old);
	}
	d->inner->rStartup(d->inner, operation, typeinfo);
}

/* Stops a pull at the first row its row budget does not allow. */
static void
budget_exceeded(AgPull *pull, uint64 delivered)
{
	pull->abort_status = "refused";
	pull->abort_detail = MemoryContextStrdup(pull->cxt,
											 psprintf("row budget exceeded after " UINT64_FORMAT " rows: %s",
													  delivered, pull->budget_detail));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("pull stopped at the row budget after " UINT64_FORMAT " rows", delivered),
			 errdetail("The %s.", pull->budget_detail),
			 errhint("An administrator can change the budget with ai_guard.set_budget(role, purpose, max_rows, per).")));
}

static bool
agdest_receive(TupleTableSlot *slot, DestReceiver *self)
{
	AgDest	   *d = (AgDest *) self;
	AgPull	   *pull = d->pull;
	TupleTableSlot *raw = slot;
	MemoryContext old;
	int			i;
	bool		first = true;

	if (pull->budget_left >= 0 && d->delivered >= (uint64) pull->budget_left)
		budget_exceeded(pull, d->delivered);
	if (d->junk)
		slot = ExecFilterJunk(d->junk, raw);
	if (!d->inner->receiveSlot(slot, d->inner))
		return false;
	d->delivered++;
	if (d->junk && pull->members)
		ai_guard_members_add(pull->members, raw);
	if (!d->digest)
	{
		pull->rows++;			/* COPY's own count replaces it at the end */
		return true;
	}

	old = MemoryContextSwitchTo(d->rowcxt);
	slot_getallattrs(slot);
	resetStringInfo(&d->line);
	for (i = 0; i < d->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(d->tupdesc, i);

		if (a->attisdropped)
			continue;
		if (!first)
			appendStringInfoChar(&d->line, '\t');
		first = false;
		if (slot->tts_isnull[i])
			appendBinaryStringInfo(&d->line, AG_COPY_NULL, 2);
		else
		{
			char	   *s = OutputFunctionCall(&d->out[i], slot->tts_values[i]);
			size_t		len = strlen(s);

			enlargeStringInfo(&d->line, (int) (2 * len + 1));
			d->line.len += (int) ag_copy_escape(s, len, d->line.data + d->line.len);
			d->line.data[d->line.len] = '\0';
		}
	}
	appendStringInfoChar(&d->line, '\n');
	if (!ag_sha256_update(pull->sha, d->line.data, d->line.len))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not compute the digest of a governed read")));
	pull->rows++;
	pull->bytes += d->line.len;
	MemoryContextSwitchTo(old);
	MemoryContextReset(d->rowcxt);
	return true;
}

static void
agdest_shutdown(DestReceiver *self)
{
	AgDest	   *d = (AgDest *) self;

	d->inner->rShutdown(d->inner);
}

static void
agdest_destroy(DestReceiver *self)
{
	/* memory belongs to the pull */
}

static AgDest *
make_dest(AgPull *pull)
{
	AgDest	   *d = MemoryContextAllocZero(pull->cxt, sizeof(AgDest));
	MemoryContext old = MemoryContextSwitchTo(pull->cxt);

	d->pub.receiveSlot = agdest_receive;
	d->pub.rStartup = agdest_startup;
	d->pub.rShutdown = agdest_shutdown;
	d->pub.rDestroy = agdest_destroy;
	d->pub.mydest = DestNone;
	d->pull = pull;
	d->digest = true;
	initStringInfo(&d->line);
	d->rowcxt = AllocSetContextCreate(pull->cxt, "ai_guard row",
									  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(old);
	return d;
}

/*------------------------------------------------------------------------
 * COPY TO STDOUT: the bytes of the CopyData messages
 *------------------------------------------------------------------------
 */

static int
copy_putmessage(char msgtype, const char *s, size_t len)
{
	if (msgtype == 'd' && copy_pull != NULL)
	{
		if (!ag_sha256_update(copy_pull->sha, s, len))
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("could not compute the digest of a governed read")));
		copy_pull->bytes += len;
		/* one message per row: counted as sent, in case the COPY never ends */
		if (copy_pull->dest == NULL)
			copy_pull->rows++;
	}
	return saved_comm->putmessage(msgtype, s, len);
}

/*------------------------------------------------------------------------
 * Hooks
 *------------------------------------------------------------------------
 */

/*
 * Query ids for the audit records. Asking the core for them (EnableQueryId)
 * would jumble every statement, about 3% of the instructions of a simple
 * query; instead a statement that names a governed relation is jumbled here,
 * unless query ids are computed anyway (compute_query_id = on, or a module
 * such as pg_stat_statements asked for them).
 */
static void
ag_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (query->queryId == UINT64CONST(0) &&
		compute_query_id != COMPUTE_QUERY_ID_OFF &&
		query->commandType != CMD_UTILITY &&
		audit_active() &&
		query_tree_walker(query, names_governed_walker, NULL,
						  QTW_EXAMINE_RTES_BEFORE))
		(void) JumbleQuery(query, pstate->p_sourcetext);
}

/* The rows of pull are handed to code: the statement is tainted */
static void
taint_from(AgPull *pull, PlannedStmt *ps)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	ListCell   *lc;

	taint_pull = pull->pull_id;
	foreach(lc, pull->sources)
		if (!list_has(taint_sources, lfirst(lc)))
			taint_sources = lappend(taint_sources, pstrdup(lfirst(lc)));
	if (ai_guard_plan_reads_tracked(ps, session_tracked_copies))
		taint_tracked = true;
	MemoryContextSwitchTo(old);
}

/* Rows of a temporary copy are handed to code: the statement is tainted */
static void
taint_from_copy(bool tracked)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	ListCell   *lc;

	taint_pull = session_copy_pull ? session_copy_pull : -1;
	foreach(lc, session_copy_sources)
		if (!list_has(taint_sources, lfirst(lc)))
			taint_sources = lappend(taint_sources, pstrdup(lfirst(lc)));
	if (tracked)
		taint_tracked = true;
	MemoryContextSwitchTo(old);
}

/* target holds a copy of governed data: it is governed from now on */
static void
govern_copy(Oid target, int64 pull_id, List *sources, bool from_tracked)
{
	MemoryContext old;

	if (!OidIsValid(target) || get_rel_name(target) == NULL)
		return;
	if (get_rel_persistence(target) != RELPERSISTENCE_TEMP)
	{
		ai_guard_derive_govern(target, pull_id, sources);
		return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	session_copies = list_append_unique_oid(session_copies, target);
	if (from_tracked)
		session_tracked_copies = list_append_unique_oid(session_tracked_copies, target);
	{
		ListCell   *lc;

		foreach(lc, sources)
			if (!list_has(session_copy_sources, lfirst(lc)))
				session_copy_sources = lappend(session_copy_sources, pstrdup(lfirst(lc)));
	}
	if (pull_id != 0)
		session_copy_pull = pull_id;
	MemoryContextSwitchTo(old);
}

/*
 * A new table (CREATE TABLE AS, a materialized view) is governed when its
 * statement ends, after provenance.c has tracked it (its backfill is no
 * read of a governed relation).
 */
static void
defer_copy(Oid target, int64 pull_id, List *sources, bool from_tracked)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	ListCell   *lc;

	pending_derived = target;
	pending_derived_pull = pull_id;
	pending_derived_tracked = from_tracked;
	pending_derived_sources = NIL;
	foreach(lc, sources)
		pending_derived_sources = lappend(pending_derived_sources, pstrdup(lfirst(lc)));
	MemoryContextSwitchTo(old);
}

/* The relations a plan writes into (a partitioned table, not its parts) */
static bool
collect_written(Plan *plan, void *context)
{
	PlannedStmt *ps = ((void **) context)[0];
	List	  **out = ((void **) context)[1];
	ModifyTable *mt;
	ListCell   *lc;

	if (!IsA(plan, ModifyTable))
		return false;
	mt = (ModifyTable *) plan;
	if (mt->rootRelation > 0)
		*out = list_append_unique_oid(*out, rt_fetch(mt->rootRelation, ps->rtable)->relid);
	else
		foreach(lc, mt->resultRelations)
			*out = list_append_unique_oid(*out, rt_fetch(lfirst_int(lc), ps->rtable)->relid);
	return false;
}

static List *
written_relations(PlannedStmt *ps)
{
	List	   *out = NIL;
	void	   *context[2] = {ps, &out};

	if (ps->commandType != CMD_SELECT || ps->hasModifyingCTE)
		(void) ai_guard_plan_walk(ps, collect_written, context);
	return out;
}

/*
 * A statement that read no governed relation wrote values that came from
 * governed data: values of a temporary copy it read (traced: labels
 * travel through the copy's own), or values code passed on after reading
 * governed rows in the same statement (untraced: the columns become
 * private).  What it wrote into ungoverned relations is a copy, governed
 * from now on.
 */
static void
govern_writes(QueryDesc *qd, int64 pull_id, List *sources, bool tracked, bool traced)
{
	PlannedStmt *ps = qd->plannedstmt;
	ListCell   *lc;

	if (pull_id < 0)
		pull_id = 0;
	if (qd->dest && qd->dest->mydest == DestIntoRel && pending_into != NULL &&
		pending_target_level == nest_level - 1)
	{
		Oid			target = RangeVarGetRelid(pending_into, NoLock, true);

		if (traced)
			ai_guard_derive_labels(target, ps, true, pull_id, governing_relid);
		defer_copy(target, pull_id, sources, tracked);
	}
	foreach(lc, written_relations(ps))
	{
		Oid			target = lfirst_oid(lc);
		bool		governed_now = OidIsValid(governing_relid(target, get_rel_relkind(target)));

		if (!ai_guard_derivable(target))
			continue;
		if (traced)
			ai_guard_derive_labels(target, ps, false, pull_id, governing_relid);
		else if (!governed_now)
			ai_guard_derive_untraced(target, pull_id);
		if (!governed_now)
			govern_copy(target, pull_id, sources, tracked);
	}
}

static void
ag_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	AgReadInfo *info = NULL;

	if (nest_level == 0 && !IsParallelWorker())
		taint_reset();

	/*
	 * A parallel worker runs its share of the leader's plan at level 0: the
	 * leader recorded that read.  Any other governed read in a worker comes
	 * from a function the plan calls; a worker cannot record it, so it is
	 * refused.
	 */
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		!(IsParallelWorker() && nest_level == 0) &&
		audit_active() && !ri_query_exempt(queryDesc))
	{
		info = detect_read(queryDesc);
		if (info && IsParallelWorker())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("governed relation %s cannot be read in a parallel worker",
							relations_text(info)),
					 errdetail("A function running in a parallel worker read a governed relation; such a read cannot be recorded."),
					 errhint("Mark the function PARALLEL RESTRICTED or PARALLEL UNSAFE.")));
	}

	if (info)
	{
		/* tracked rows keep their provenance, or are not copied */
		if (info->write_into ? pending_matview : OidIsValid(info->write_target))
			ai_guard_check_tracked_copy(queryDesc->plannedstmt, info->write_target,
										info->target, info->write_into,
										session_tracked_copies);
		ai_guard_read_counts_prepare(queryDesc);
	}
	else if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
			 (taint_tracked || session_tracked_copies != NIL))
	{
		/*
		 * Values of tracked rows, passed on by code or through a temporary
		 * copy, keep their provenance too
		 */
		bool		tracked_copy;
		ListCell   *lc;
		const char *source = taint_tracked && taint_sources ? linitial(taint_sources) :
			"(a temporary copy)";

		(void) reads_session_copy(queryDesc->plannedstmt, &tracked_copy);
		if (taint_tracked || tracked_copy)
		{
			foreach(lc, written_relations(queryDesc->plannedstmt))
				ai_guard_refuse_untracked_copy(lfirst_oid(lc), NULL, source);
			/* (provenance.c tracks a new table made from tracked tables only) */
			if (queryDesc->dest && queryDesc->dest->mydest == DestIntoRel &&
				pending_into != NULL && pending_target_level == nest_level - 1 &&
				pending_into->relpersistence != RELPERSISTENCE_TEMP)
				ai_guard_refuse_untracked_copy(InvalidOid, pending_target, source);
		}
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (info)
	{
		AgPull	   *pull;

		pull = begin_pull(info, queryDesc, queryDesc->sourceText,
						  queryDesc->params, queryDesc->snapshot,
						  (int64) queryDesc->plannedstmt->queryId);

		pull->reads = ai_guard_read_counts_begin(queryDesc, governing_relid, pull->cxt);
		pull->writes_rows = info->writes_rows;
		pull->write_target = info->write_target;
		pull->write_into = info->write_into;
		pull->govern_target = info->govern_target;
		/* the governed relations read: the sources of what it writes */
		{
			ListCell   *lc;
			MemoryContext old = MemoryContextSwitchTo(pull->cxt);

			foreach(lc, info->relations)
				pull->sources = lappend(pull->sources, pstrdup(lfirst(lc)));
			MemoryContextSwitchTo(old);
		}
		pull->members = ai_guard_members_begin(queryDesc->plannedstmt, pull->cxt);
		if (strcmp(info->kind, "copy") == 0 && copy_level == nest_level - 1 &&
			saved_comm != NULL)
		{
			pull->by_protocol = true;
			copy_pull = pull;
			/*
			 * COPY digests its own bytes; the wrapper only collects row ids
			 * and keeps the row budget
			 */
			if (ai_guard_members_collects(pull->members) || pull->budget_left >= 0)
			{
				pull->dest = make_dest(pull);
				pull->dest->digest = false;
			}
		}
		else
			pull->dest = make_dest(pull);
	}
}

static void
ag_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	AgPull	   *pull = pulls ? find_pull(queryDesc) : NULL;
	DestReceiver *orig = queryDesc->dest;
	EState	   *estate = queryDesc->estate;
	JunkFilter *junk = estate ? estate->es_junkFilter : NULL;

	/*
	 * Rows fetched later from a cursor are read under the purpose its record
	 * names, or not at all.
	 */
	if (pull && strcmp(pull->purpose, ai_guard_purpose ? ai_guard_purpose : "") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("ai_guard.purpose changed while a governed read was open"),
				 errdetail("The read of pull " INT64_FORMAT " was recorded under purpose \"%s\"; the session's purpose is now \"%s\".",
						   pull->pull_id, pull->purpose,
						   ai_guard_purpose ? ai_guard_purpose : ""),
				 errhint("Close the cursor, then declare it again under the new purpose.")));

	/*
	 * CREATE TABLE ... AS EXECUTE: the prepared statement's portal learns
	 * only now that its rows go into a new table
	 */
	if (pull && orig->mydest == DestIntoRel && !pull->write_into &&
		pending_into != NULL && pending_target_level == nest_level - 1)
	{
		pull->write_into = true;
		pull->govern_target = true;
	}

	/* rows handed to code (a function, a DO block, a trigger) taint it */
	if (nest_level > 0 &&
		(orig->mydest == DestSPI || orig->mydest == DestSQLFunction ||
		 orig->mydest == DestTuplestore))
	{
		bool		tracked;

		if (pull)
			taint_from(pull, queryDesc->plannedstmt);
		else if (reads_session_copy(queryDesc->plannedstmt, &tracked))
			taint_from_copy(tracked);
	}

	if (pull && pull->dest)
	{
		/*
		 * A holdable cursor is materialized at commit by rewinding and
		 * running it to the end into a tuplestore: every row of it counts as
		 * delivered, the ones fetched before included, once.
		 */
		if (orig->mydest == DestTuplestore && pull->rows > 0 &&
			ActivePortal != NULL && ActivePortal->queryDesc == queryDesc &&
			ActivePortal->holdStore != NULL)
		{
			ag_sha256  *fresh = ag_sha256_new();

			if (fresh == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("could not initialize SHA-256")));
			ag_sha256_free(pull->sha);
			pull->sha = fresh;
			pull->rows = 0;
			pull->bytes = 0;
			pull->dest->delivered = 0;
			ai_guard_members_reset(pull->members);
		}

		/*
		 * The row membership columns must reach the wrapper: it removes them
		 * itself, after reading the row ids, instead of the executor.
		 */
		if (ai_guard_members_collects(pull->members) && junk != NULL)
		{
			pull->dest->junk = junk;
			estate->es_junkFilter = NULL;
		}
		else
			pull->dest->junk = NULL;
		pull->dest->inner = orig;
		pull->dest->pub.mydest = orig->mydest;
		queryDesc->dest = &pull->dest->pub;
	}
	nest_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_CATCH();
	{
		nest_level--;
		queryDesc->dest = orig;
		if (estate)
			estate->es_junkFilter = junk;
		if (pull)
			ai_guard_read_counts_take(pull->reads, false, true);

		/*
		 * An executor that failed never runs again, and its portal may never
		 * reach ExecutorEnd (a failed cursor is dropped without it): the
		 * abort that follows ends the pull, whatever (sub)transaction it was
		 * started in.
		 */
		if (pull)
			pull->errored = true;
		PG_RE_THROW();
	}
	PG_END_TRY();
	nest_level--;
	queryDesc->dest = orig;
	if (estate)
		estate->es_junkFilter = junk;
	if (pull)
		ai_guard_read_counts_take(pull->reads, false, false);
}

static void
ag_ExecutorFinish(QueryDesc *queryDesc)
{
	AgPull	   *pull = pulls ? find_pull(queryDesc) : NULL;

	nest_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		nest_level--;
		/* data-modifying CTEs run to their end here */
		if (pull)
		{
			ai_guard_read_counts_take(pull->reads, false, true);
			pull->errored = true;
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	nest_level--;
}

static void
ag_ExecutorEnd(QueryDesc *queryDesc)
{
	AgPull	   *pull = pulls ? find_pull(queryDesc) : NULL;

	if (queryDesc == ri_query)
		ri_query = NULL;
	if (pull)
	{
		ai_guard_read_counts_take(pull->reads, true, false);
		if (pull->writes_rows && queryDesc->estate)
		{
			/*
			 * INSERT ... SELECT and the like deliver nothing: what left the
			 * governed relations is the rows written (not digested: they are
			 * not sent in any format).
			 */
			pull->rows = queryDesc->estate->es_processed;
			pull->bytes = 0;
			ag_sha256_free(pull->sha);
			pull->sha = NULL;
		}
		/* the copy is governed, its columns labelled (derived.c) */
		if (pull->write_into && !OidIsValid(pull->write_target) && pending_into != NULL)
			pull->write_target = RangeVarGetRelid(pending_into, NoLock, true);
		if (OidIsValid(pull->write_target) && queryDesc->estate)
		{
			bool		from_tracked = ai_guard_plan_reads_tracked(queryDesc->plannedstmt,
																   session_tracked_copies);

			ai_guard_derive_labels(pull->write_target, queryDesc->plannedstmt,
								   pull->write_into, pull->pull_id, governing_relid);
			if (!pull->govern_target)
				;
			else if (!pull->write_into)
				govern_copy(pull->write_target, pull->pull_id, pull->sources, from_tracked);
			else
				defer_copy(pull->write_target, pull->pull_id, pull->sources, from_tracked);
		}
		if (pull->by_protocol)
			pull->qd = NULL;	/* the COPY statement finishes it */
		else
		{
			pull->qd = NULL;
			finish_pull(pull, "completed", NULL);
		}
	}
	else if (queryDesc->estate != NULL &&
			 (session_copies != NIL || taint_pull != 0))
	{
		bool		tracked;

		if (reads_session_copy(queryDesc->plannedstmt, &tracked))
			govern_writes(queryDesc, session_copy_pull, session_copy_sources,
						  tracked || taint_tracked, true);
		else if (taint_pull != 0)
			govern_writes(queryDesc, taint_pull, taint_sources, taint_tracked, false);
	}
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* COPY rel TO: the table is read without the executor */
static AgPull *
begin_copy_rel(CopyStmt *stmt, const char *queryString, QueryEnvironment *env)
{
	Oid			relid;
	Oid			gov;
	AgReadInfo *info;
	List	   *encrypted_cols;
	Relation	rel;
	TupleDesc	desc;
	int			i;

	relid = RangeVarGetRelid(stmt->relation, AccessShareLock, true);
	if (!OidIsValid(relid))
		return NULL;
	gov = governing_relid(relid, get_rel_relkind(relid));
	if (!OidIsValid(gov))
		return NULL;
	/*
	 * Under row-level security COPY reads through a query (COPY (SELECT ...)
	 * TO), which the executor hooks record; one record, not two.
	 */
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return NULL;

	info = palloc0(sizeof(AgReadInfo));
	info->kind = "copy";
	info->returned_known = true;
	info->relations = list_make1(ai_guard_qualified_name(gov));
	encrypted_cols = load_encrypted_columns();
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		char	   *name;
		ListCell   *lc;
		bool		listed = (stmt->attlist == NIL);

		if (a->attisdropped || a->attgenerated)
			continue;
		foreach(lc, stmt->attlist)
		{
			if (strcmp(strVal(lfirst(lc)), NameStr(a->attname)) == 0)
				listed = true;
		}
		if (!listed)
			continue;
		name = column_name(gov, NameStr(a->attname));
		info->returned = lappend(info->returned, name);
		classify_column(info, gov, NameStr(a->attname), name, encrypted_cols);
	}
	table_close(rel, AccessShareLock);
	{
		Oid			masked = ai_guard_masked_role();
		AgMaskedViolation v;
		List	   *attnums = NIL;
		ListCell   *lc;

		foreach(lc, stmt->attlist)
		{
			AttrNumber	att = get_attnum(relid, strVal(lfirst(lc)));

			if (att != InvalidAttrNumber)
				attnums = lappend_int(attnums, att);
		}
		if (OidIsValid(masked) &&
			!ai_guard_masked_copy_ok(relid, attnums, masked, governing_relid, &v))
			refuse_masked_read(info, queryString, NULL, GetActiveSnapshot(), 0, &v);
	}
	{
		AgPull	   *pull = begin_pull(info, NULL, queryString, NULL,
									  GetActiveSnapshot(), 0);

		pull->members = ai_guard_members_for_copy(relid, pull->cxt);
		pull->reads = ai_guard_read_counts_single(linitial(info->relations), pull->cxt);
		return pull;
	}
}

/* DDL that evaluates expressions over every row of relid (ddl_reads.c) */
static AgPull *
begin_ddl_pull(Oid gov, const char *queryString)
{
	AgReadInfo *info = palloc0(sizeof(AgReadInfo));
	AgPull	   *pull;

	info->kind = "read";
	info->relations = list_make1(ai_guard_qualified_name(gov));
	pull = begin_pull(info, NULL, queryString, NULL,
					  ActiveSnapshotSet() ? GetActiveSnapshot() : NULL, 0);
	pull->reads = ai_guard_read_counts_single(linitial(info->relations), pull->cxt);
	pull->in_utility = true;
	return pull;
}


/*
 * ALTER TABLE ... DETACH PARTITION, or a child's NO INHERIT, of a governed
 * parent: the child is governed through the parent only, so it becomes
 * governed in its own right (a derived copy of the parent) first.
 */
static void
govern_leaving_child(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		Oid			child = InvalidOid;
		Oid			parent = InvalidOid;

		if (cmd->subtype == AT_DetachPartition && cmd->def != NULL)
		{
			parent = RangeVarGetRelid(stmt->relation, NoLock, true);
			child = RangeVarGetRelid(((PartitionCmd *) cmd->def)->name, NoLock, true);
		}
		else if (cmd->subtype == AT_DropInherit && cmd->def != NULL)
		{
			child = RangeVarGetRelid(stmt->relation, NoLock, true);
			parent = RangeVarGetRelid((RangeVar *) cmd->def, NoLock, true);
		}
		if (!OidIsValid(child) || !OidIsValid(parent) || oid_governed(child) ||
			!OidIsValid(governing_relid(parent, get_rel_relkind(parent))))
			continue;
		ai_guard_derive_detached(child, governing_relid(parent, get_rel_relkind(parent)));
	}
}

/* The governed relation whose statistics a DDL statement may have changed */
static Oid
stats_changed(Node *parsetree)
{
	RangeVar   *rv = NULL;
	Oid			relid;

	if (IsA(parsetree, AlterTableStmt))
		rv = ((AlterTableStmt *) parsetree)->relation;
	else if (IsA(parsetree, IndexStmt))
		rv = ((IndexStmt *) parsetree)->relation;
	else if (IsA(parsetree, CreateStmt) && ((CreateStmt *) parsetree)->partbound &&
			 ((CreateStmt *) parsetree)->inhRelations != NIL)
		rv = linitial(((CreateStmt *) parsetree)->inhRelations);
	if (rv == NULL)
		return InvalidOid;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return InvalidOid;
	return governing_relid(relid, get_rel_relkind(relid));
}

static void
ag_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		copy_out = false;
	AgPull	   *rel_pull = NULL;
	AgPull	   *volatile done_pull = NULL;
	const PQcommMethods *volatile prev_comm = NULL;
	int			prev_copy_level = copy_level;
	AgPull	   *prev_copy_pull = copy_pull;
	char	   *prev_target = pending_target;
	int			prev_target_level = pending_target_level;
	RangeVar   *prev_into = pending_into;
	Oid			prev_refresh = pending_refresh;
	bool		prev_matview = pending_matview;
	Oid			prev_derived = pending_derived;
	int64		prev_derived_pull = pending_derived_pull;
	List	   *prev_derived_sources = pending_derived_sources;
	bool		prev_derived_tracked = pending_derived_tracked;
	Oid			derived = InvalidOid;
	int64		derived_pull = 0;
	List	   *derived_sources = NIL;
	bool		derived_tracked = false;
	AgPull	   *ddl_pull = NULL;
	Oid			ddl_rel = InvalidOid;
	bool		governed_any = false;

	if (nest_level == 0)
		taint_reset();

	if (IsA(parsetree, CopyStmt) && !((CopyStmt *) parsetree)->is_from &&
		audit_active())
	{
		CopyStmt   *stmt = (CopyStmt *) parsetree;

		copy_out = true;
		if (stmt->relation)
			rel_pull = begin_copy_rel(stmt, queryString, queryEnv);
	}
	else if (IsA(parsetree, CreateTableAsStmt))
	{
		IntoClause *into = ((CreateTableAsStmt *) parsetree)->into;

		pending_target = into->rel->schemaname ?
			quote_qualified_identifier(into->rel->schemaname, into->rel->relname) :
			pstrdup(quote_identifier(into->rel->relname));
		pending_target_level = nest_level;
		pending_into = into->rel;
		pending_refresh = InvalidOid;
		pending_derived = InvalidOid;
		pending_matview = (((CreateTableAsStmt *) parsetree)->objtype == OBJECT_MATVIEW);
	}
	else if (IsA(parsetree, RefreshMatViewStmt))
	{
		RangeVar   *rv = ((RefreshMatViewStmt *) parsetree)->relation;
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);

		pending_target = OidIsValid(relid) ? ai_guard_qualified_name(relid) :
			pstrdup(quote_identifier(rv->relname));
		pending_target_level = nest_level;
		pending_into = NULL;
		pending_refresh = relid;
		pending_matview = true;
		pending_derived = InvalidOid;
	}

	if (ai_guard_govlog_may_record(parsetree) && audit_active())
	{
		/* only ai_guard defines masked views */
		ai_guard_masked_view_guard(parsetree);
		/* settings and DDL that change governance are on the record */
		ai_guard_govlog_utility(parsetree, ai_guard_is_governed);
	}

	if (!copy_out && (IsA(parsetree, AlterTableStmt) || IsA(parsetree, IndexStmt) ||
					  IsA(parsetree, ReindexStmt) || IsA(parsetree, ClusterStmt) ||
					  IsA(parsetree, VacuumStmt) || IsA(parsetree, CreateStatsStmt) ||
					  IsA(parsetree, CreateStmt)) &&
		audit_active())
	{
		governed_any = true;
		/* statistics of governed relations hold no raw values */
		ai_guard_stats_utility(parsetree, ai_guard_is_governed, governed, n_governed);
		/* DDL that runs expressions over every row is a read of them */
		ddl_rel = ai_guard_ddl_reads(parsetree);
		if (OidIsValid(ddl_rel) && ai_guard_is_governed(ddl_rel))
			ddl_pull = begin_ddl_pull(governing_relid(ddl_rel, get_rel_relkind(ddl_rel)),
									  queryString);
		/* a partition or child leaving a governed parent stays governed */
		if (IsA(parsetree, AlterTableStmt))
			govern_leaving_child((AlterTableStmt *) parsetree);
	}

	if (copy_out)
	{
		CopyStmt   *stmt = (CopyStmt *) parsetree;

		if (stmt->filename == NULL && !stmt->is_program && whereToSendOutput == DestRemote)
		{
			/* digest what the client receives */
			prev_comm = PqCommMethods;
			saved_comm = PqCommMethods;
			copy_comm = *PqCommMethods;
			copy_comm.putmessage = copy_putmessage;
			PqCommMethods = &copy_comm;
			copy_level = nest_level;
			if (rel_pull)
			{
				rel_pull->by_protocol = true;
				copy_pull = rel_pull;
			}
		}
		else
			copy_level = -1;
	}

	nest_level++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		if (copy_out)
			done_pull = rel_pull ? rel_pull : copy_pull;
	}
	PG_FINALLY();
	{
		nest_level--;
		if (prev_comm != NULL)
		{
			PqCommMethods = prev_comm;
			saved_comm = NULL;
		}
		copy_level = prev_copy_level;
		pending_target = prev_target;
		pending_target_level = prev_target_level;
		pending_into = prev_into;
		pending_refresh = prev_refresh;
		pending_matview = prev_matview;
		derived = pending_derived;
		derived_pull = pending_derived_pull;
		derived_sources = pending_derived_sources;
		derived_tracked = pending_derived_tracked;
		pending_derived = prev_derived;
		pending_derived_pull = prev_derived_pull;
		pending_derived_sources = prev_derived_sources;
		pending_derived_tracked = prev_derived_tracked;
	}
	PG_END_TRY();

	if (OidIsValid(derived) &&
		(IsA(parsetree, CreateTableAsStmt) || IsA(parsetree, RefreshMatViewStmt)))
		govern_copy(derived, derived_pull, derived_sources, derived_tracked);

	if (ddl_pull)
	{
		ai_guard_read_counts_set(ddl_pull->reads, ai_guard_relation_rows(ddl_rel));
		ag_sha256_free(ddl_pull->sha);
		ddl_pull->sha = NULL;
		finish_pull(ddl_pull, "completed", NULL);
	}
	if (governed_any)
	{
		Oid			changed = stats_changed(parsetree);

		if (OidIsValid(changed))
			ai_guard_strip_statistics(changed, false);
	}
	if (done_pull)
	{
		if (qc && qc->commandTag == CMDTAG_COPY)
			done_pull->rows = qc->nprocessed;
		if (done_pull == rel_pull)
			ai_guard_read_counts_set(done_pull->reads, (int64) done_pull->rows);
		if (!done_pull->by_protocol)
		{
			/* COPY rel TO a file: rows known, the bytes are not ours */
			ag_sha256_free(done_pull->sha);
			done_pull->sha = NULL;
		}
		finish_pull(done_pull, "completed", NULL);
	}
	copy_pull = prev_copy_pull;
}

/*------------------------------------------------------------------------
 * Transaction ends
 *------------------------------------------------------------------------
 */

static void
ag_xact_callback(XactEvent event, void *arg)
{
	/*
	 * Nesting state is restored by the hooks' PG_FINALLY blocks (a procedure
	 * may even roll back while they are on the stack); only the pulls of the
	 * transaction are ended here.
	 */
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		ri_query = NULL;
		while (pulls)
			finish_pull(pulls, pulls->abort_status ? pulls->abort_status : "failed",
						pulls->abort_detail ? pulls->abort_detail : "the transaction was aborted");
	}

	/*
	 * Holdable cursors have been materialized (and their pulls completed)
	 * by now; a pull still open belongs to a portal that was dropped without
	 * ExecutorEnd.  End it rather than leave it "started" and its QueryDesc
	 * pointer dangling.
	 */
	else if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		AgPull	   *p;
		AgPull	   *next;

		ri_query = NULL;
		/* DDL such as CREATE INDEX CONCURRENTLY commits on its way */
		for (p = pulls; p; p = next)
		{
			next = p->next;
			if (!p->in_utility)
				finish_pull(p, "failed", "the portal was closed without completing");
		}
	}
}

static void
ag_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	AgPull	   *p;
	AgPull	   *next;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		if (ri_query != NULL && ri_subid == mySubid)
			ri_query = NULL;
		for (p = pulls; p; p = next)
		{
			next = p->next;
			if (p->subid == mySubid || p->errored)
			{
				if (copy_pull == p)
					copy_pull = NULL;
				finish_pull(p, p->abort_status ? p->abort_status : "failed",
							p->abort_detail ? p->abort_detail : "the subtransaction was aborted");
			}
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		if (ri_query != NULL && ri_subid == mySubid)
			ri_subid = parentSubid;
		for (p = pulls; p; p = p->next)
			if (p->subid == mySubid)
				p->subid = parentSubid;
	}
}

/*------------------------------------------------------------------------
 * Initialization
 *------------------------------------------------------------------------
 */

void
ai_guard_audit_init(void)
{
	DefineCustomBoolVariable("ai_guard.require_purpose",
							 "Reads of governed relations need a declared, granted purpose.",
							 NULL,
							 &ai_guard_require_purpose,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	ai_guard_audit_writer_init();
	ai_guard_leak_policy_init();

	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = ag_post_parse_analyze;

	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ag_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = ag_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = ag_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ag_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ag_ProcessUtility;

	CacheRegisterRelcacheCallback(governed_relcache_cb, (Datum) 0);
	ai_guard_masked_reads_init();
	RegisterXactCallback(ag_xact_callback, NULL);
	RegisterSubXactCallback(ag_subxact_callback, NULL);
}

/*------------------------------------------------------------------------
 * SQL functions
 *------------------------------------------------------------------------
 */

/*
 * Runs sql with text arguments as the owner of ai_guard.governed_relations
 * (the extension's owner), so that callers need no rights on the tables.
 * Returns SPI_processed.
 */
static uint64
run_as_owner(const char *sql, int nargs, Oid *types, Datum *values,
			 const char *nulls)
{
	if (!cache_valid)
		load_governed();
	if (!OidIsValid(gr_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"ai_guard\" is not installed in this database")));
	return ai_guard_exec_as_owner(ai_guard_relation_owner(gr_relid), sql,
								  nargs, types, values, nulls);
}

static Oid
checked_relation(FunctionCallInfo fcinfo)
{
	Oid			relid;
	char		relkind;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be NULL")));
	relid = PG_GETARG_OID(0);
	relkind = get_rel_relkind(relid);
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind),
					   get_rel_name(relid));
	return relid;
}

/* SQL function: ai_guard.govern(regclass) */
PG_FUNCTION_INFO_V1(ai_guard_govern);
Datum
ai_guard_govern(PG_FUNCTION_ARGS)
{
	Oid			relid = checked_relation(fcinfo);
	char		relkind = get_rel_relkind(relid);
	Oid			types[2] = {OIDOID, NAMEOID};
	Datum		values[2];
	Oid			nsp = get_rel_namespace(relid);
	char	   *nspname = get_namespace_name(nsp);

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot govern \"%s\"", get_rel_name(relid)),
				 errdetail("Only tables, partitioned tables, views, materialized views and foreign tables can be governed.")));
	if (nspname && (strcmp(nspname, AG_SCHEMA) == 0 || isAnyTempNamespace(nsp) ||
					IsCatalogNamespace(nsp) || strcmp(nspname, "information_schema") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot govern \"%s\"", get_rel_name(relid)),
				 errdetail("Relations of ai_guard, of the system catalogs and temporary relations cannot be governed.")));

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	run_as_owner("INSERT INTO ai_guard.governed_relations (rel, reason, added_by)"
				 " VALUES ($1::pg_catalog.regclass, 'govern', $2)"
				 " ON CONFLICT (rel, reason) DO NOTHING",
				 2, types, values, NULL);
	PG_RETURN_VOID();
}

/* SQL function: ai_guard.ungovern(regclass, text) */
PG_FUNCTION_INFO_V1(ai_guard_ungovern);
Datum
ai_guard_ungovern(PG_FUNCTION_ARGS)
{
	Oid			relid = checked_relation(fcinfo);
	char	   *reason = (PG_NARGS() > 1 && !PG_ARGISNULL(1)) ?
		text_to_cstring(PG_GETARG_TEXT_PP(1)) : NULL;
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	Oid			ttypes[1] = {TEXTOID};
	Datum		tvalues[1];
	volatile uint64 n = 0;

	values[0] = ObjectIdGetDatum(relid);
	if (reason == NULL || *reason == '\0')
	{
		/* what was pulled stays accountable: lifting that needs a why */
		tvalues[0] = CStringGetTextDatum(ai_guard_qualified_name(relid));
		if (run_as_owner("SELECT 1 FROM ai_guard.pulls"
						 " WHERE relations OPERATOR(pg_catalog.@>) ARRAY[$1] LIMIT 1",
						 1, ttypes, tvalues, NULL) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ungoverning %s needs a reason", ai_guard_qualified_name(relid)),
					 errdetail("Its data has been pulled; the reason is kept in the governance log."),
					 errhint("Call ai_guard.ungovern('%s', 'why it is no longer governed').",
							 ai_guard_qualified_name(relid))));
	}
	ai_guard_govlog_set_reason(reason);
	PG_TRY();
	{
		n = run_as_owner("DELETE FROM ai_guard.governed_relations"
						 " WHERE rel = $1::pg_catalog.regclass AND reason = 'govern'",
						 1, types, values, NULL);
	}
	PG_FINALLY();
	{
		ai_guard_govlog_set_reason(NULL);
	}
	PG_END_TRY();
	PG_RETURN_BOOL(n > 0);
}

/* SQL function: ai_guard._governed_changed() (trigger) */
PG_FUNCTION_INFO_V1(ai_guard_governed_changed);
Datum
ai_guard_governed_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard._governed_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}

/* SQL function: ai_guard.grant_purpose(regrole, text, timestamptz) */
PG_FUNCTION_INFO_V1(ai_guard_grant_purpose);
Datum
ai_guard_grant_purpose(PG_FUNCTION_ARGS)
{
	Datum		role = ai_guard_role_name_arg(fcinfo, 0);
	const char *purpose = ai_guard_purpose_arg(fcinfo, 1);
	Oid			types[4] = {NAMEOID, TEXTOID, TIMESTAMPTZOID, NAMEOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (!PG_ARGISNULL(2) && PG_GETARG_TIMESTAMPTZ(2) <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("valid_until must be in the future")));
	values[0] = role;
	values[1] = CStringGetTextDatum(purpose);
	if (PG_ARGISNULL(2))
	{
		values[2] = (Datum) 0;
		nulls[2] = 'n';
	}
	else
		values[2] = PG_GETARG_DATUM(2);
	values[3] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	run_as_owner("INSERT INTO ai_guard.purpose_grants (role, purpose, valid_until, granted_by)"
				 " VALUES ($1, $2, $3, $4)"
				 " ON CONFLICT (role, purpose) DO UPDATE SET valid_until = EXCLUDED.valid_until,"
				 " granted_by = EXCLUDED.granted_by, granted_at = pg_catalog.now()",
				 4, types, values, nulls);
	PG_RETURN_VOID();
}

/* SQL function: ai_guard.revoke_purpose(regrole, text) */
PG_FUNCTION_INFO_V1(ai_guard_revoke_purpose);
Datum
ai_guard_revoke_purpose(PG_FUNCTION_ARGS)
{
	Datum		role = ai_guard_role_name_arg(fcinfo, 0);
	const char *purpose = ai_guard_purpose_arg(fcinfo, 1);
	Oid			types[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	uint64		n;

	values[0] = role;
	values[1] = CStringGetTextDatum(purpose);
	n = run_as_owner("DELETE FROM ai_guard.purpose_grants WHERE role = $1 AND purpose = $2",
					 2, types, values, NULL);
	PG_RETURN_BOOL(n > 0);
}

/* SQL function: ai_guard.last_pull_id() */
PG_FUNCTION_INFO_V1(ai_guard_last_pull_id);
Datum
ai_guard_last_pull_id(PG_FUNCTION_ARGS)
{
	if (last_pull_id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(last_pull_id);
}

/* SQL function: ai_guard.audit_flush() */
PG_FUNCTION_INFO_V1(ai_guard_audit_flush);
Datum
ai_guard_audit_flush(PG_FUNCTION_ARGS)
{
	AgAuditMsg	msg;
	const char *why;
	int64		dummy;

	ai_guard_audit_msg_init(&msg, AG_MSG_SYNC);
	if (!ai_guard_audit_submit(&msg, true, &dummy, &why))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not flush the audit queue"),
				 errdetail("%s.", why)));
	PG_RETURN_VOID();
}
