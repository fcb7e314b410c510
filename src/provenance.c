/*-------------------------------------------------------------------------
 *
 * provenance.c
 *		Row-level provenance of tracked tables: track()/untrack(), the
 *		session's ingest context, the C stamping trigger, derived tags,
 *		verify_rows(), the consent policy, quarantine and release.
 *
 * Storage.  A tracked table gets six nullable columns (ai_guard_row_id,
 * ai_guard_batch, ai_guard_ingested_at, ai_guard_digest,
 * ai_guard_updated_by, ai_guard_updated_at).  What is the same for a whole
 * batch of rows (source, license, consent, ingesting role) is stored once in
 * ai_guard.batches, so a row pays for 8+8+8+33 bytes and queries can join or
 * filter on plain columns.  COPY FROM without a column list keeps working:
 * the utility hook below supplies the list of data columns.
 *
 * Stamping.  A BEFORE INSERT OR UPDATE row trigger (ai_guard._stamp) writes
 * the columns; values that ordinary writers supply are overwritten.  The
 * batch of a row is, in this order: the derived batch of the statement when
 * it reads tracked tables (INSERT ... SELECT, CREATE TABLE AS), the
 * session's ingest context (begin_ingest), or an implicit per-session batch
 * with source 'unknown'.  An AFTER INSERT statement trigger (ai_guard._count)
 * adds the rows written to the batches' row counts.
 *
 * Derived data.  An ExecutorStart hook notes, for each INSERT statement, the
 * tracked relations its range table reads; the first row the statement
 * writes creates a 'derived' batch whose license is the union and whose
 * consent is the intersection of those of every batch that wrote into those
 * relations (ai_guard.relation_batches): statement level, conservative.
 *
 * Consent.  track() installs a restrictive row-level security policy calling
 * ai_guard.row_visible(ai_guard_batch), which caches the answer per batch for
 * the duration of one query: owners and superusers bypass it, every other
 * role sees only rows whose consent includes the class of ai_guard.purpose
 * and whose batch is not quarantined.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "ai_guard.h"
#include "masking_sql.h"
#include "provenance.h"
#include "rowdigest.h"

/*---- GUC variables ----*/

bool		ai_guard_require_ingest_context = false;

/*---- the provenance columns ----*/

enum
{
	TAG_ROW_ID,
	TAG_BATCH,
	TAG_INGESTED_AT,
	TAG_DIGEST,
	TAG_UPDATED_BY,
	TAG_UPDATED_AT,
	NTAGS
};

static const char *const tag_names[NTAGS] = {
	"ai_guard_row_id",
	"ai_guard_batch",
	"ai_guard_ingested_at",
	"ai_guard_digest",
	"ai_guard_updated_by",
	"ai_guard_updated_at",
};

static const Oid tag_types[NTAGS] = {
	INT8OID, INT8OID, TIMESTAMPTZOID, BYTEAOID, TEXTOID, TIMESTAMPTZOID
};

static const char *const tag_typenames[NTAGS] = {
	"bigint", "bigint", "timestamptz", "bytea", "text", "timestamptz"
};

#define MAX_TAG_TEXT 256
#define MAX_CONSENT_CLASSES 64

/*---- canonical row encoding of a tuple descriptor ----*/

typedef enum ColEncKind
{
	ENC_BYVAL,					/* integer-like by-value: big-endian bytes */
	ENC_VARLENA,				/* text-like: the detoasted bytes */
	ENC_FIXED,					/* fixed-length byte array (uuid) */
	ENC_SEND,					/* the type's binary send function */
	ENC_OUT						/* the type's text output function */
} ColEncKind;

typedef struct ColEnc
{
	int			attidx;			/* 0-based index into the tuple */
	ColEncKind	kind;
	int16		typlen;
	const char *name;
	size_t		name_len;
	FmgrInfo	func;			/* send or output function */
} ColEnc;

typedef struct RowCodec
{
	Oid			typid;			/* the row type it was built for */
	int			natts;
	int			ncols;
	ColEnc	   *cols;			/* data columns, in name order */
	AttrNumber	tag[NTAGS];		/* InvalidAttrNumber if absent */
} RowCodec;

/*---- per-backend state ----*/

/* the digest context, reused for every row (malloc'd, lives for the backend) */
static ag_rowdigest *digest_ctx = NULL;

/* the session's ingest context */
static int64 ingest_batch = 0;
static SubTransactionId ingest_batch_subid = InvalidSubTransactionId;

/* the implicit batch of this session for the current role */
static int64 implicit_batch = 0;
static Oid	implicit_batch_role = InvalidOid;
static SubTransactionId implicit_batch_subid = InvalidSubTransactionId;

/* rows stamped and not yet added to the batch counts */
typedef struct PendingCount
{
	Oid			relid;
	int64		batch;
	int64		rows;
} PendingCount;

static PendingCount *pending = NULL;
static int	npending = 0;
static int	maxpending = 0;

/* a running INSERT (or COPY FROM) statement and what it reads */
typedef struct StmtFrame
{
	QueryDesc  *qd;				/* NULL for COPY */
	SubTransactionId subid;
	int			nsources;
	Oid		   *sources;		/* tracked relations read by the statement */
	int64		derived_batch;	/* created at the first row, 0 before */
} StmtFrame;

static StmtFrame *frames = NULL;
static int	nframes = 0;
static int	maxframes = 0;

/* CREATE TABLE AS in progress: the tracked relations its query read */
static bool ctas_active = false;
/* true while untrack() takes a table's provenance apart (guard_tracked_ddl) */
static bool own_ddl = false;
static List *ctas_sources = NIL;	/* of Oid, in TopTransactionContext */
static bool ctas_seen = false;

/* prepared plans, kept for the backend */
static SPIPlanPtr visibility_plan = NULL;
static SPIPlanPtr batch_info_plan = NULL;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*---- small helpers ----*/

static Oid
ext_namespace(void)
{
	return get_namespace_oid("ai_guard", false);
}

/* the owner of the ai_guard schema, who owns the extension's catalogs */
static Oid
ext_owner(void)
{
	Oid			nsp = ext_namespace();
	HeapTuple	tp;
	Oid			owner;

	tp = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tp))->nspowner;
	ReleaseSysCache(tp);
	return owner;
}

/*
 * Runs SQL on the extension's catalogs as their owner (as a SECURITY DEFINER
 * function would), inside an SPI connection the caller holds.
 */
static int
spi_as_owner(const char *sql, int nargs, Oid *argtypes, Datum *values,
			 const char *nulls, bool read_only, long count)
{
	AgOwnerContext octx;
	int			ret = 0;

	ai_guard_become_owner(ext_owner(), &octx);
	PG_TRY();
	{
		if (nargs == 0)
			ret = SPI_execute(sql, read_only, count);
		else
			ret = SPI_execute_with_args(sql, nargs, argtypes, values, nulls,
										read_only, count);
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&octx);
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	return ret;
}

static int
spi_plan_as_owner(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	AgOwnerContext octx;
	int			ret = 0;

	ai_guard_become_owner(ext_owner(), &octx);
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, true, 1);
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&octx);
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	return ret;
}

static void
spi_exec(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

static int64
spi_int8(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

static char *
current_user_name(void)
{
	return GetUserNameFromId(GetUserId(), false);
}

/* the purpose class of ai_guard.purpose (before ':'), or "" if unset */
static void
purpose_class(char *out, size_t outlen)
{
	const char *p = ai_guard_purpose ? ai_guard_purpose : "";
	const char *colon = strchr(p, ':');
	size_t		n = colon ? (size_t) (colon - p) : strlen(p);

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*---- the canonical row encoding ----*/

static int
colenc_cmp(const void *a, const void *b)
{
	return strcmp(((const ColEnc *) a)->name, ((const ColEnc *) b)->name);
}

/*
 * Builds the encoding of rows of tupdesc in mcxt: the non-dropped,
 * non-generated columns that are not provenance columns, sorted by name.
 * With require_tags, a missing or mistyped provenance column is an error.
 */
static RowCodec *
build_codec(TupleDesc tupdesc, MemoryContext mcxt, bool require_tags,
			const char *relname)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	RowCodec   *codec = palloc0(sizeof(RowCodec));
	int			i;

	codec->typid = tupdesc->tdtypeid;
	codec->natts = tupdesc->natts;
	codec->cols = palloc0(sizeof(ColEnc) * Max(tupdesc->natts, 1));
	for (i = 0; i < NTAGS; i++)
		codec->tag[i] = InvalidAttrNumber;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *name = NameStr(att->attname);
		ColEnc	   *c;
		Oid			base;
		int			t;
		bool		is_tag = false;

		if (att->attisdropped)
			continue;
		for (t = 0; t < NTAGS; t++)
		{
			if (strcmp(name, tag_names[t]) == 0)
			{
				if (att->atttypid != tag_types[t])
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("column \"%s\" of relation \"%s\" must be of type %s",
									name, relname, tag_typenames[t])));
				codec->tag[t] = att->attnum;
				is_tag = true;
			}
		}
		if (is_tag || att->attgenerated != '\0')
			continue;

		c = &codec->cols[codec->ncols++];
		c->attidx = i;
		c->name = pstrdup(name);
		c->name_len = strlen(name);
		c->typlen = att->attlen;
		base = getBaseType(att->atttypid);
		switch (base)
		{
			case BOOLOID:
			case CHAROID:
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case FLOAT4OID:
			case FLOAT8OID:
			case DATEOID:
			case TIMEOID:
			case TIMESTAMPOID:
			case TIMESTAMPTZOID:
			case OIDOID:
				c->kind = att->attbyval ? ENC_BYVAL : ENC_FIXED;
				break;
			case TEXTOID:
			case VARCHAROID:
			case BPCHAROID:
			case BYTEAOID:
			case JSONOID:
				c->kind = ENC_VARLENA;
				break;
			case UUIDOID:
				c->kind = ENC_FIXED;
				break;
			default:
				{
					Oid			func;
					bool		isvarlena;
					int16		typlen;
					bool		typbyval;
					char		typalign;
					char		typdelim;
					Oid			typioparam;
					Oid			typsend;

					get_type_io_data(base, IOFunc_send, &typlen, &typbyval,
									 &typalign, &typdelim, &typioparam, &typsend);
					if (OidIsValid(typsend))
					{
						c->kind = ENC_SEND;
						func = typsend;
					}
					else
					{
						getTypeOutputInfo(att->atttypid, &func, &isvarlena);
						c->kind = ENC_OUT;
					}
					fmgr_info_cxt(func, &c->func, mcxt);
				}
				break;
		}
	}
	qsort(codec->cols, codec->ncols, sizeof(ColEnc), colenc_cmp);

	if (require_tags)
	{
		for (i = 0; i < NTAGS; i++)
			if (codec->tag[i] == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("relation \"%s\" has no column \"%s\"",
								relname, tag_names[i]),
						 errhint("Track the table with ai_guard.track().")));
	}
	MemoryContextSwitchTo(old);
	return codec;
}

static void
digest_check(ag_rowdigest_status st)
{
	if (st != AG_ROWDIGEST_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute row digest: %s",
						ag_rowdigest_strerror(st))));
}

/*
 * SHA-256 of the data columns of one row.  Allocations (detoasting, send
 * functions) go to the current memory context, which the caller resets.
 */
static void
compute_digest(RowCodec *codec, Datum *values, bool *isnull,
			   uint8 out[AG_ROWDIGEST_LEN])
{
	int			i;

	if (digest_ctx == NULL)
	{
		digest_ctx = ag_rowdigest_new();
		if (digest_ctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
	}
	digest_check(ag_rowdigest_begin(digest_ctx));
	for (i = 0; i < codec->ncols; i++)
	{
		ColEnc	   *c = &codec->cols[i];
		Datum		d = values[c->attidx];
		const void *p;
		size_t		len;
		uint8		buf[8];

		if (isnull[c->attidx])
			continue;
		switch (c->kind)
		{
			case ENC_BYVAL:
				{
					uint64		v;
					int			k;

					switch (c->typlen)
					{
						case 1:
							v = (uint8) DatumGetChar(d);
							break;
						case 2:
							v = (uint16) DatumGetInt16(d);
							break;
						case 4:
							v = (uint32) DatumGetInt32(d);
							break;
						default:
							v = (uint64) DatumGetInt64(d);
							break;
					}
					for (k = 0; k < c->typlen; k++)
						buf[k] = (uint8) (v >> (8 * (c->typlen - 1 - k)));
					p = buf;
					len = c->typlen;
				}
				break;
			case ENC_VARLENA:
				{
					struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));

					p = VARDATA_ANY(v);
					len = VARSIZE_ANY_EXHDR(v);
				}
				break;
			case ENC_FIXED:
				p = DatumGetPointer(d);
				len = c->typlen;
				break;
			case ENC_SEND:
				{
					bytea	   *b = SendFunctionCall(&c->func, d);

					p = VARDATA(b);
					len = VARSIZE(b) - VARHDRSZ;
				}
				break;
			case ENC_OUT:
			default:
				p = OutputFunctionCall(&c->func, d);
				len = strlen(p);
				break;
		}
		digest_check(ag_rowdigest_add(digest_ctx, c->name, c->name_len, p, len));
	}
	digest_check(ag_rowdigest_end(digest_ctx, out));
}

static bytea *
digest_bytea(const uint8 *d)
{
	bytea	   *b = palloc(VARHDRSZ + AG_ROWDIGEST_LEN);

	SET_VARSIZE(b, VARHDRSZ + AG_ROWDIGEST_LEN);
	memcpy(VARDATA(b), d, AG_ROWDIGEST_LEN);
	return b;
}

/*---- batches ----*/

static void
forget_batches_of(SubTransactionId subid, bool top)
{
	if (ingest_batch != 0 && ingest_batch_subid != InvalidSubTransactionId &&
		(top || ingest_batch_subid >= subid))
	{
		ingest_batch = 0;
		ingest_batch_subid = InvalidSubTransactionId;
	}
	if (implicit_batch != 0 && implicit_batch_subid != InvalidSubTransactionId &&
		(top || implicit_batch_subid >= subid))
	{
		implicit_batch = 0;
		implicit_batch_role = InvalidOid;
		implicit_batch_subid = InvalidSubTransactionId;
	}
}

/*
 * Inserts a batch as the extension owner; returns its id.  consent and
 * derived_from are array Datums (derived_from may be 0 for NULL).
 */
static int64
create_batch(const char *kind, const char *source, const char *license,
			 Datum consent, Datum derived_from)
{
	Oid			argtypes[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTOID, INT8ARRAYOID};
	Datum		values[6];
	char		nulls[7] = "      ";
	bool		isnull;
	int64		id;

	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(source);
	values[2] = CStringGetTextDatum(license);
	values[3] = consent;
	values[4] = CStringGetTextDatum(current_user_name());
	values[5] = derived_from;
	if (derived_from == (Datum) 0)
		nulls[5] = 'n';

	SPI_connect();
	spi_as_owner("INSERT INTO ai_guard.batches (batch_id, kind, source, license,"
				 " consent, ingested_by, started_at, derived_from)"
				 " VALUES (pg_catalog.nextval('ai_guard.batch_id_seq'), $1, $2, $3,"
				 " $4, $5, pg_catalog.statement_timestamp(), $6) RETURNING batch_id",
				 6, argtypes, values, nulls, false, 1);
	id = spi_int8(0, 1, &isnull);
	SPI_finish();
	return id;
}

static Datum
empty_text_array(void)
{
	return PointerGetDatum(construct_empty_array(TEXTOID));
}

/* the implicit batch of this session and role, created on first use */
static int64
get_implicit_batch(void)
{
	if (implicit_batch == 0 || implicit_batch_role != GetUserId())
	{
		implicit_batch = create_batch("implicit", "unknown", "unknown",
									  empty_text_array(), (Datum) 0);
		implicit_batch_role = GetUserId();
		implicit_batch_subid = GetCurrentSubTransactionId();
	}
	return implicit_batch;
}

/*
 * The derived batch of a statement reading the tracked relations in frame:
 * license = union of their batches' licenses (SPDX-style "A AND B"),
 * consent = intersection, derived_from = the batches and their own origins.
 */
static int64
create_derived_batch(StmtFrame *f)
{
	Datum	   *elems;
	ArrayType  *rels;
	Oid			argtypes[2] = {OIDARRAYOID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	int64		id;
	int			i;

	elems = palloc(sizeof(Datum) * f->nsources);
	for (i = 0; i < f->nsources; i++)
		elems[i] = ObjectIdGetDatum(f->sources[i]);
	rels = construct_array(elems, f->nsources, OIDOID, sizeof(Oid), true, TYPALIGN_INT);
	values[0] = PointerGetDatum(rels);
	values[1] = CStringGetTextDatum(current_user_name());

	SPI_connect();
	spi_as_owner("WITH inp AS ("
				 "  SELECT b.* FROM ai_guard.batches b"
				 "   WHERE b.batch_id IN (SELECT rb.batch_id FROM ai_guard.relation_batches rb"
				 "                         WHERE rb.rel OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.regclass[])))"
				 " INSERT INTO ai_guard.batches (batch_id, kind, source, license, consent,"
				 "   ingested_by, started_at, derived_from)"
				 " SELECT pg_catalog.nextval('ai_guard.batch_id_seq'), 'derived', 'derived',"
				 "  COALESCE((SELECT pg_catalog.string_agg(DISTINCT l, ' AND ' ORDER BY l)"
				 "              FROM inp, pg_catalog.unnest(pg_catalog.string_to_array(inp.license, ' AND ')) l),"
				 "           'unknown'),"
				 "  COALESCE((SELECT pg_catalog.array_agg(c ORDER BY c) FROM ("
				 "     SELECT c FROM inp, pg_catalog.unnest(inp.consent) c GROUP BY c"
				 "     HAVING pg_catalog.count(*) OPERATOR(pg_catalog.=) (SELECT pg_catalog.count(*) FROM inp)) s),"
				 "    '{}'::pg_catalog.text[]),"
				 "  $2, pg_catalog.statement_timestamp(),"
				 "  (SELECT pg_catalog.array_agg(DISTINCT x ORDER BY x) FROM ("
				 "     SELECT inp.batch_id AS x FROM inp"
				 "     UNION SELECT pg_catalog.unnest(inp.derived_from) FROM inp) s)"
				 " RETURNING batch_id",
				 2, argtypes, values, NULL, false, 1);
	id = spi_int8(0, 1, &isnull);
	SPI_finish();
	return id;
}

static void
pending_add(Oid relid, int64 batch, int64 rows)
{
	int			i;

	for (i = npending - 1; i >= 0; i--)
	{
		if (pending[i].relid == relid && pending[i].batch == batch)
		{
			pending[i].rows += rows;
			return;
		}
	}
	if (npending == maxpending)
	{
		int			newmax = maxpending ? maxpending * 2 : 8;

		if (pending == NULL)
			pending = MemoryContextAlloc(TopMemoryContext, sizeof(PendingCount) * newmax);
		else
			pending = repalloc(pending, sizeof(PendingCount) * newmax);
		maxpending = newmax;
	}
	pending[npending].relid = relid;
	pending[npending].batch = batch;
	pending[npending].rows = rows;
	npending++;
}

/* adds the pending row counts to the catalogs (inside an SPI connection) */
static void
pending_flush(void)
{
	while (npending > 0)
	{
		PendingCount pc = pending[npending - 1];
		Oid			argtypes[3] = {OIDOID, INT8OID, INT8OID};
		Datum		values[3];

		values[0] = ObjectIdGetDatum(pc.relid);
		values[1] = Int64GetDatum(pc.batch);
		values[2] = Int64GetDatum(pc.rows);
		spi_as_owner("WITH c AS (UPDATE ai_guard.batches"
					 "   SET row_count = row_count OPERATOR(pg_catalog.+) $3"
					 "   WHERE batch_id OPERATOR(pg_catalog.=) $2 RETURNING batch_id)"
					 " INSERT INTO ai_guard.relation_batches (rel, batch_id)"
					 " SELECT $1::pg_catalog.regclass, $2"
					 " ON CONFLICT DO NOTHING",
					 3, argtypes, values, NULL, false, 0);
		npending--;
	}
}

/*---- statement frames (derived data) ----*/

bool
ai_guard_relation_is_tracked(Oid relid)
{
	return get_attnum(relid, "ai_guard_batch") != InvalidAttrNumber &&
		get_attnum(relid, "ai_guard_digest") != InvalidAttrNumber;
}

/* the tracked relations read by a plan (not its result relations) */
static int
tracked_sources(PlannedStmt *ps, Oid **out)
{
	ListCell   *lc;
	int			rti = 0;
	int			n = 0;
	Oid		   *srcs = NULL;

	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind != RTE_RELATION ||
			(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE))
			continue;
		if (list_member_int(ps->resultRelations, rti))
			continue;
		if (!ai_guard_relation_is_tracked(rte->relid))
			continue;
		if (srcs == NULL)
			srcs = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * list_length(ps->rtable));
		srcs[n++] = rte->relid;
	}
	*out = srcs;
	return n;
}

static void
push_frame(QueryDesc *qd, int nsources, Oid *sources)
{
	if (nframes == maxframes)
	{
		int			newmax = maxframes ? maxframes * 2 : 8;

		if (frames == NULL)
			frames = MemoryContextAlloc(TopMemoryContext, sizeof(StmtFrame) * newmax);
		else
			frames = repalloc(frames, sizeof(StmtFrame) * newmax);
		maxframes = newmax;
	}
	frames[nframes].qd = qd;
	frames[nframes].subid = GetCurrentSubTransactionId();
	frames[nframes].nsources = nsources;
	frames[nframes].sources = sources;
	frames[nframes].derived_batch = 0;
	nframes++;
}

static void
pop_frame(void)
{
	if (nframes > 0)
	{
		nframes--;
		if (frames[nframes].sources)
			pfree(frames[nframes].sources);
	}
}

static void
prov_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	if (queryDesc->operation == CMD_INSERT)
	{
		Oid		   *srcs;
		int			n = tracked_sources(queryDesc->plannedstmt, &srcs);

		push_frame(queryDesc, n, srcs);
	}
	else if (ctas_active && !ctas_seen && queryDesc->operation == CMD_SELECT &&
			 queryDesc->dest != NULL && queryDesc->dest->mydest == DestIntoRel)
	{
		Oid		   *srcs;
		int			n = tracked_sources(queryDesc->plannedstmt, &srcs);
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
		int			i;

		ctas_seen = true;
		for (i = 0; i < n; i++)
			ctas_sources = lappend_oid(ctas_sources, srcs[i]);
		MemoryContextSwitchTo(old);
		if (srcs)
			pfree(srcs);
	}
}

static void
prov_ExecutorEnd(QueryDesc *queryDesc)
{
	if (nframes > 0 && frames[nframes - 1].qd == queryDesc)
		pop_frame();
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*---- tag writers ----*/

static Oid	writer_cache_role = InvalidOid;
static TimestampTz writer_cache_stmt = 0;
static bool writer_cache_value = false;

/* may the current role write provenance columns directly? (per statement) */
static bool
is_tag_writer(void)
{
	Oid			role = GetUserId();
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	bool		isnull;

	if (role == writer_cache_role && stmt == writer_cache_stmt)
		return writer_cache_value;

	values[0] = ObjectIdGetDatum(role);
	SPI_connect();
	spi_as_owner("SELECT EXISTS (SELECT 1 FROM ai_guard.tag_writers w"
				 " WHERE pg_catalog.pg_has_role($1, w.role::pg_catalog.oid, 'USAGE'))",
				 1, argtypes, values, NULL, true, 1);
	writer_cache_value = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	writer_cache_role = role;
	writer_cache_stmt = stmt;
	return writer_cache_value;
}

/*---- the stamping trigger ----*/

typedef struct StampState
{
	Oid			relid;
	int			natts;
	RowCodec   *codec;
	MemoryContext rowcxt;
	Oid			seqid;
	Datum	   *values;
	bool	   *nulls;
} StampState;

static StampState *
stamp_state(FunctionCallInfo fcinfo, Relation rel)
{
	StampState *st = (StampState *) fcinfo->flinfo->fn_extra;
	TupleDesc	tupdesc = RelationGetDescr(rel);

	if (st != NULL && st->relid == RelationGetRelid(rel) && st->natts == tupdesc->natts)
		return st;

	st = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(StampState));
	st->relid = RelationGetRelid(rel);
	st->natts = tupdesc->natts;
	st->codec = build_codec(tupdesc, fcinfo->flinfo->fn_mcxt, true,
							RelationGetRelationName(rel));
	st->rowcxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
									   "ai_guard stamp row",
									   ALLOCSET_DEFAULT_SIZES);
	st->seqid = get_relname_relid("row_id_seq", ext_namespace());
	if (!OidIsValid(st->seqid))
		elog(ERROR, "sequence ai_guard.row_id_seq does not exist");
	st->values = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Datum) * tupdesc->natts);
	st->nulls = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(bool) * tupdesc->natts);
	fcinfo->flinfo->fn_extra = st;
	return st;
}

/* the batch of a row inserted now by an ordinary writer */
static int64
resolve_batch(Relation rel)
{
	StmtFrame  *f = nframes > 0 ? &frames[nframes - 1] : NULL;

	if (ai_guard_require_ingest_context && ingest_batch == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no ingest context is open"),
				 errdetail("\"ai_guard.require_ingest_context\" is on and relation \"%s\" is tracked.",
						   RelationGetRelationName(rel)),
				 errhint("Call ai_guard.begin_ingest(source, license, consent) before writing.")));
	if (f != NULL && f->nsources > 0)
	{
		if (f->derived_batch == 0)
			f->derived_batch = create_derived_batch(f);
		return f->derived_batch;
	}
	if (ingest_batch != 0)
		return ingest_batch;
	return get_implicit_batch();
}

/* SQL function: ai_guard._stamp() (BEFORE INSERT OR UPDATE, FOR EACH ROW) */
PG_FUNCTION_INFO_V1(ai_guard_stamp);
Datum
ai_guard_stamp(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	StampState *st;
	RowCodec   *codec;
	HeapTuple	tuple;
	HeapTuple	result;
	MemoryContext callercxt;
	Datum		repl[NTAGS];
	bool		repl_null[NTAGS];
	int			cols[NTAGS];
	uint8		digest[AG_ROWDIGEST_LEN];
	bool		is_update;
	bool		writer = false;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard._stamp() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard._stamp() must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	rel = td->tg_relation;
	tupdesc = RelationGetDescr(rel);
	st = stamp_state(fcinfo, rel);
	codec = st->codec;
	is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
	tuple = is_update ? td->tg_newtuple : td->tg_trigtuple;

	callercxt = MemoryContextSwitchTo(st->rowcxt);
	MemoryContextReset(st->rowcxt);

	heap_deform_tuple(tuple, tupdesc, st->values, st->nulls);
	for (i = 0; i < NTAGS; i++)
	{
		cols[i] = codec->tag[i];
		repl[i] = st->values[codec->tag[i] - 1];
		repl_null[i] = st->nulls[codec->tag[i] - 1];
	}

	if (!is_update)
	{
		/* explicit tag values are kept only for granted roles */
		if (!repl_null[TAG_BATCH] && is_tag_writer())
			writer = true;

		if (writer)
		{
			if (repl_null[TAG_ROW_ID])
			{
				repl[TAG_ROW_ID] = Int64GetDatum(nextval_internal(st->seqid, false));
				repl_null[TAG_ROW_ID] = false;
			}
			if (repl_null[TAG_INGESTED_AT])
			{
				repl[TAG_INGESTED_AT] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
				repl_null[TAG_INGESTED_AT] = false;
			}
		}
		else
		{
			repl[TAG_BATCH] = Int64GetDatum(resolve_batch(rel));
			repl_null[TAG_BATCH] = false;
			repl[TAG_ROW_ID] = Int64GetDatum(nextval_internal(st->seqid, false));
			repl_null[TAG_ROW_ID] = false;
			repl[TAG_INGESTED_AT] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
			repl_null[TAG_INGESTED_AT] = false;
			repl_null[TAG_DIGEST] = true;
			repl_null[TAG_UPDATED_BY] = true;
			repl_null[TAG_UPDATED_AT] = true;
		}
		if (repl_null[TAG_DIGEST])
		{
			compute_digest(codec, st->values, st->nulls, digest);
			repl[TAG_DIGEST] = PointerGetDatum(digest_bytea(digest));
			repl_null[TAG_DIGEST] = false;
		}
		pending_add(RelationGetRelid(rel), DatumGetInt64(repl[TAG_BATCH]), 1);
	}
	else
	{
		HeapTuple	old = td->tg_trigtuple;
		int			t;

		/* ordinary writers cannot change the tags of a row */
		if (!is_tag_writer())
		{
			for (t = TAG_ROW_ID; t <= TAG_INGESTED_AT; t++)
				repl[t] = heap_getattr(old, codec->tag[t], tupdesc, &repl_null[t]);
		}
		compute_digest(codec, st->values, st->nulls, digest);
		repl[TAG_DIGEST] = PointerGetDatum(digest_bytea(digest));
		repl_null[TAG_DIGEST] = false;
		repl[TAG_UPDATED_BY] = CStringGetTextDatum(current_user_name());
		repl_null[TAG_UPDATED_BY] = false;
		repl[TAG_UPDATED_AT] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
		repl_null[TAG_UPDATED_AT] = false;
	}

	/* form the new tuple from the values deformed above (no second deform) */
	MemoryContextSwitchTo(callercxt);
	for (i = 0; i < NTAGS; i++)
	{
		st->values[cols[i] - 1] = repl[i];
		st->nulls[cols[i] - 1] = repl_null[i];
	}
	result = heap_form_tuple(tupdesc, st->values, st->nulls);
	result->t_data->t_ctid = tuple->t_data->t_ctid;
	result->t_self = tuple->t_self;
	result->t_tableOid = tuple->t_tableOid;
	return PointerGetDatum(result);
}

/* SQL function: ai_guard._count() (AFTER INSERT, FOR EACH STATEMENT) */
PG_FUNCTION_INFO_V1(ai_guard_count);
Datum
ai_guard_count(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard._count() was not called by the trigger manager")));
	if (npending > 0)
	{
		SPI_connect();
		pending_flush();
		SPI_finish();
	}
	return PointerGetDatum(NULL);
}

/*---- ingest context ----*/

/* validates a source or license argument */
static char *
tag_text_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;
	const char *p;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if (strlen(s) > MAX_TAG_TEXT)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long", what),
				 errdetail("The maximum length is %d bytes.", MAX_TAG_TEXT)));
	for (p = s; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not contain control characters", what)));
	return s;
}

static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* validates a consent array: known classes, no NULLs; sorted, distinct */
static Datum
consent_arg(FunctionCallInfo fcinfo, int argno)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	int			m = 0;
	char	  **classes;
	Datum	   *out;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("consent must not be null"),
				 errhint("Pass an empty array for data with no consent.")));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("consent must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	if (n > MAX_CONSENT_CLASSES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("consent lists at most %d purpose classes", MAX_CONSENT_CLASSES)));
	classes = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("consent must not contain null elements")));
		classes[i] = TextDatumGetCString(elems[i]);
	}

	/* every class must be a known purpose class */
	if (n > 0)
	{
		Oid			argtypes[1] = {TEXTARRAYOID};
		Datum		values[1];

		values[0] = PointerGetDatum(arr);
		SPI_connect();
		spi_as_owner("SELECT c FROM pg_catalog.unnest($1::pg_catalog.text[]) c"
					 " WHERE NOT EXISTS (SELECT 1 FROM ai_guard.consent_classes k"
					 "                    WHERE k.class OPERATOR(pg_catalog.=) c) LIMIT 1",
					 1, argtypes, values, NULL, true, 1);
		if (SPI_processed > 0)
		{
			char	   *bad = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown consent class \"%s\"", bad),
					 errhint("The known classes are listed in ai_guard.consent_classes.")));
		}
		SPI_finish();
	}

	qsort(classes, n, sizeof(char *), cstring_cmp);
	out = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(classes[i], classes[i - 1]) != 0)
			out[m++] = CStringGetTextDatum(classes[i]);
	return PointerGetDatum(construct_array(out, m, TEXTOID, -1, false, TYPALIGN_INT));
}

/* SQL function: ai_guard.begin_ingest(text, text, text[]) */
PG_FUNCTION_INFO_V1(ai_guard_begin_ingest);
Datum
ai_guard_begin_ingest(PG_FUNCTION_ARGS)
{
	char	   *source;
	char	   *license;
	Datum		consent;

	if (ingest_batch != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("an ingest context is already open in this session"),
				 errdetail("Batch %lld is open.", (long long) ingest_batch),
				 errhint("Call ai_guard.end_ingest() first.")));
	source = tag_text_arg(fcinfo, 0, "source");
	license = tag_text_arg(fcinfo, 1, "license");
	consent = consent_arg(fcinfo, 2);
	if (strcmp(source, "derived") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"derived\" is reserved for rows computed from tracked tables")));

	ingest_batch = create_batch("ingest", source, license, consent, (Datum) 0);
	ingest_batch_subid = GetCurrentSubTransactionId();
	PG_RETURN_INT64(ingest_batch);
}

/* SQL function: ai_guard.end_ingest() */
PG_FUNCTION_INFO_V1(ai_guard_end_ingest);
Datum
ai_guard_end_ingest(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	int64		rows = 0;

	if (ingest_batch == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no ingest context is open in this session"),
				 errhint("Call ai_guard.begin_ingest(source, license, consent) first.")));
	values[0] = Int64GetDatum(ingest_batch);
	SPI_connect();
	pending_flush();
	spi_as_owner("UPDATE ai_guard.batches SET ended_at = pg_catalog.statement_timestamp()"
				 " WHERE batch_id OPERATOR(pg_catalog.=) $1 RETURNING row_count",
				 1, argtypes, values, NULL, false, 0);
	if (SPI_processed > 0)
		rows = spi_int8(0, 1, &isnull);
	SPI_finish();
	ingest_batch = 0;
	ingest_batch_subid = InvalidSubTransactionId;
	PG_RETURN_INT64(rows);
}

/* SQL function: ai_guard.current_batch() */
PG_FUNCTION_INFO_V1(ai_guard_current_batch);
Datum
ai_guard_current_batch(PG_FUNCTION_ARGS)
{
	if (ingest_batch == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(ingest_batch);
}

/*---- track / untrack ----*/

static const char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static void
check_trackable(Oid relid, const char *action)
{
	char		relkind = get_rel_relkind(relid);
	const char *name = get_rel_name(relid);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	switch (relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
			break;
		case RELKIND_VIEW:
		case RELKIND_MATVIEW:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot %s \"%s\" because it is a view", action, name),
					 errhint("Track the tables the view reads.")));
			break;
		case RELKIND_FOREIGN_TABLE:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot %s \"%s\" because it is a foreign table", action, name),
					 errdetail("Rows of a foreign table are stored outside this database.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot %s \"%s\" because it is not a table", action, name)));
	}
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot %s temporary table \"%s\"", action, name)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind), name);
}

/* the root recorded for relid in tracked_relations, or InvalidOid */
static Oid
tracked_root(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	Oid			root = InvalidOid;
	bool		isnull;

	values[0] = ObjectIdGetDatum(relid);
	spi_as_owner("SELECT root::pg_catalog.oid FROM ai_guard.tracked_relations"
				 " WHERE rel OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
				 1, argtypes, values, NULL, true, 1);
	if (SPI_processed > 0)
		root = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
	return root;
}

/*
 * Makes relid (and its partitions or inheritance children) tracked.  Rows
 * already present are stamped with batch (a new 'unknown' backfill batch if
 * 0).  Runs inside the caller's SPI connection.
 */
static int64
track_relation(Oid relid, int64 batch)
{
	List	   *members;
	ListCell   *lc;
	StringInfoData sql;
	const char *qroot;
	Oid			argtypes[4] = {OIDOID, OIDOID, BOOLOID, TEXTOID};
	Datum		values[4];
	int64		total = 0;
	bool		has_tags = true;
	int			t;

	check_trackable(relid, "track");
	if (get_rel_relispartition(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot track partition \"%s\" on its own", get_rel_name(relid)),
				 errhint("Track its partitioned table: the partitions are tracked with it.")));

	members = find_all_inheritors(relid, AccessExclusiveLock, NULL);
	foreach(lc, members)
	{
		Oid			m = lfirst_oid(lc);
		Oid			root = tracked_root(m);

		check_trackable(m, "track");
		if (OidIsValid(root))
		{
			if (root == m)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("relation \"%s\" is already tracked", get_rel_name(m))));
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("relation \"%s\" is already tracked as part of \"%s\"",
							get_rel_name(m), get_rel_name(root))));
		}
	}

	/* a table copied from a tracked one (CREATE TABLE AS, LIKE) has them */
	for (t = 0; t < NTAGS; t++)
	{
		AttrNumber	a = get_attnum(relid, tag_names[t]);

		if (a == InvalidAttrNumber)
			has_tags = false;
		else if (get_atttype(relid, a) != tag_types[t])
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" already exists with another type",
							tag_names[t], get_rel_name(relid)),
					 errhint("ai_guard reserves the column names beginning with \"ai_guard_\".")));
	}
	if (!has_tags)
	{
		for (t = 0; t < NTAGS; t++)
			if (get_attnum(relid, tag_names[t]) != InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" of relation \"%s\" already exists",
								tag_names[t], get_rel_name(relid)),
						 errhint("ai_guard reserves the column names beginning with \"ai_guard_\".")));
	}

	if (batch == 0)
		batch = create_batch("backfill", "unknown", "unknown", empty_text_array(), (Datum) 0);

	qroot = qualified_name(relid);
	initStringInfo(&sql);
	if (!has_tags)
	{
		appendStringInfo(&sql, "ALTER TABLE %s", qroot);
		for (t = 0; t < NTAGS; t++)
			appendStringInfo(&sql, "%s ADD COLUMN %s %s", t ? "," : "",
							 tag_names[t], tag_typenames[t]);
		spi_exec(sql.data);
	}

	/* backfill, one storage-bearing member at a time (own column order) */
	foreach(lc, members)
	{
		Oid			m = lfirst_oid(lc);

		if (get_rel_relkind(m) != RELKIND_RELATION)
			continue;
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "UPDATE ONLY %s t SET ai_guard_row_id = pg_catalog.nextval('ai_guard.row_id_seq'),"
						 " ai_guard_batch = " INT64_FORMAT ","
						 " ai_guard_ingested_at = pg_catalog.statement_timestamp(),"
						 " ai_guard_digest = ai_guard.row_digest(t),"
						 " ai_guard_updated_by = NULL, ai_guard_updated_at = NULL",
						 qualified_name(m), batch);
		spi_exec(sql.data);
		if (SPI_processed > 0)
		{
			pending_add(m, batch, (int64) SPI_processed);
			total += SPI_processed;
		}
	}

	/* the stamping trigger: cloned to partitions, created on children */
	foreach(lc, members)
	{
		Oid			m = lfirst_oid(lc);

		if (m != relid && get_rel_relispartition(m))
			continue;
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "CREATE TRIGGER zz_ai_guard_stamp BEFORE INSERT OR UPDATE ON %s"
						 " FOR EACH ROW EXECUTE FUNCTION ai_guard._stamp()",
						 qualified_name(m));
		spi_exec(sql.data);
	}

	foreach(lc, members)
	{
		Oid			m = lfirst_oid(lc);
		const char *qm = qualified_name(m);
		bool		rls;
		HeapTuple	tp;

		tp = SearchSysCache1(RELOID, ObjectIdGetDatum(m));
		if (!HeapTupleIsValid(tp))
			elog(ERROR, "cache lookup failed for relation %u", m);
		rls = ((Form_pg_class) GETSTRUCT(tp))->relrowsecurity;
		ReleaseSysCache(tp);

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "CREATE TRIGGER zz_ai_guard_count AFTER INSERT ON %s"
						 " FOR EACH STATEMENT EXECUTE FUNCTION ai_guard._count();"
						 "CREATE POLICY ai_guard_consent ON %s AS RESTRICTIVE FOR ALL"
						 " USING (ai_guard.row_visible(ai_guard_batch)) WITH CHECK (true);",
						 qm, qm);
		if (!rls)
			appendStringInfo(&sql,
							 "CREATE POLICY ai_guard_allow ON %s AS PERMISSIVE FOR ALL"
							 " USING (true) WITH CHECK (true);"
							 "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;",
							 qm, qm);
		spi_exec(sql.data);

		values[0] = ObjectIdGetDatum(m);
		values[1] = ObjectIdGetDatum(relid);
		values[2] = BoolGetDatum(rls);
		values[3] = CStringGetTextDatum(current_user_name());
		spi_as_owner("INSERT INTO ai_guard.tracked_relations (rel, root, rls_was_enabled, tracked_by)"
					 " VALUES ($1::pg_catalog.regclass, $2::pg_catalog.regclass, $3, $4);"
					 "INSERT INTO ai_guard.governed_relations (rel, reason, added_by)"
					 " VALUES ($1::pg_catalog.regclass, 'track', $4) ON CONFLICT DO NOTHING",
					 4, argtypes, values, NULL, false, 0);
	}
	pending_flush();
	(void) total;
	return batch;
}

/* SQL function: ai_guard.track(regclass) */
PG_FUNCTION_INFO_V1(ai_guard_track);
Datum
ai_guard_track(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int64		batch;

	SPI_connect();
	batch = track_relation(relid, 0);
	SPI_finish();
	ai_guard_refresh_masked_views(relid);
	PG_RETURN_INT64(batch);
}

/* SQL function: ai_guard.untrack(regclass) */
PG_FUNCTION_INFO_V1(ai_guard_untrack);
Datum
ai_guard_untrack(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	Oid			root;
	StringInfoData sql;
	uint64		i;
	uint64		n;
	Oid		   *members;
	bool	   *rls_was;
	bool		isnull;
	int			t;

	check_trackable(relid, "untrack");
	SPI_connect();
	root = tracked_root(relid);
	if (!OidIsValid(root))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is not tracked", get_rel_name(relid))));
	if (root != relid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is tracked as part of \"%s\"",
						get_rel_name(relid), get_rel_name(root)),
				 errhint("Untrack \"%s\".", get_rel_name(root))));

	(void) find_all_inheritors(relid, AccessExclusiveLock, NULL);
	values[0] = ObjectIdGetDatum(relid);
	spi_as_owner("SELECT rel::pg_catalog.oid, rls_was_enabled FROM ai_guard.tracked_relations"
				 " WHERE root OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
				 1, argtypes, values, NULL, true, 0);
	n = SPI_processed;
	members = palloc(sizeof(Oid) * n);
	rls_was = palloc(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		members[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));
		rls_was[i] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
												SPI_tuptable->tupdesc, 2, &isnull));
	}

	/* quarantined rows must be dealt with first */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT 1 FROM %s t WHERE t.ai_guard_batch IN"
					 " (SELECT s.batch_id FROM ai_guard.batch_summary s WHERE s.quarantined) LIMIT 1",
					 qualified_name(relid));
	spi_as_owner(sql.data, 0, NULL, NULL, NULL, true, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot untrack \"%s\" because it holds quarantined rows",
						get_rel_name(relid)),
				 errhint("Release the quarantine or delete the quarantined rows first.")));

	own_ddl = true;
	PG_TRY();
	{
		for (i = 0; i < n; i++)
		{
			Oid			m = members[i];
			const char *qm;

			if (get_rel_name(m) == NULL)
				continue;
			qm = qualified_name(m);
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "DROP POLICY IF EXISTS ai_guard_consent ON %s;"
							 "DROP TRIGGER IF EXISTS zz_ai_guard_count ON %s;",
							 qm, qm);
			if (!rls_was[i])
				appendStringInfo(&sql,
								 "DROP POLICY IF EXISTS ai_guard_allow ON %s;"
								 "ALTER TABLE %s DISABLE ROW LEVEL SECURITY;",
								 qm, qm);
			if (m == relid || !get_rel_relispartition(m))
				appendStringInfo(&sql, "DROP TRIGGER IF EXISTS zz_ai_guard_stamp ON %s;", qm);
			spi_exec(sql.data);
		}
		resetStringInfo(&sql);
		appendStringInfo(&sql, "ALTER TABLE %s", qualified_name(relid));
		for (t = 0; t < NTAGS; t++)
			appendStringInfo(&sql, "%s DROP COLUMN IF EXISTS %s", t ? "," : "", tag_names[t]);
		spi_exec(sql.data);
	}
	PG_FINALLY();
	{
		own_ddl = false;
	}
	PG_END_TRY();

	spi_as_owner("DELETE FROM ai_guard.governed_relations g USING ai_guard.tracked_relations r"
				 " WHERE g.rel OPERATOR(pg_catalog.=) r.rel AND g.reason OPERATOR(pg_catalog.=) 'track'"
				 " AND r.root OPERATOR(pg_catalog.=) $1::pg_catalog.regclass;"
				 "DELETE FROM ai_guard.relation_batches b USING ai_guard.tracked_relations r"
				 " WHERE b.rel OPERATOR(pg_catalog.=) r.rel"
				 " AND r.root OPERATOR(pg_catalog.=) $1::pg_catalog.regclass;"
				 "DELETE FROM ai_guard.tracked_relations"
				 " WHERE root OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
				 1, argtypes, values, NULL, false, 0);
	SPI_finish();
	ai_guard_refresh_masked_views(relid);
	PG_RETURN_VOID();
}

/*---- reading tags ----*/

typedef struct BatchInfo
{
	int64		batch;
	bool		found;
	Datum		source;			/* text, in fn_mcxt */
	Datum		license;
	Datum		consent;
	Datum		ingested_by;
} BatchInfo;

/* source, license, consent, ingested_by of a batch, into mcxt */
static void
lookup_batch_info(int64 batch, BatchInfo *bi, MemoryContext mcxt)
{
	Datum		values[1];
	bool		isnull;
	int			i;

	bi->batch = batch;
	bi->found = false;
	SPI_connect();
	if (batch_info_plan == NULL)
	{
		Oid			argtypes[1] = {INT8OID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT source, license, consent, ingested_by FROM ai_guard.batches"
						   " WHERE batch_id OPERATOR(pg_catalog.=) $1", 1, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		batch_info_plan = plan;
	}
	values[0] = Int64GetDatum(batch);
	spi_plan_as_owner(batch_info_plan, values, NULL);
	if (SPI_processed > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(mcxt);
		Datum	   *dst[4] = {&bi->source, &bi->license, &bi->consent, &bi->ingested_by};

		for (i = 0; i < 4; i++)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										  i + 1, &isnull);

			*dst[i] = isnull ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
		}
		bi->found = true;
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
}

typedef struct TagsCache
{
	Oid			tuptype;
	int32		tuptypmod;
	AttrNumber	tag[NTAGS];
	BatchInfo	last;
	TupleDesc	resultdesc;
} TagsCache;

/* SQL function: ai_guard.tags(record) */
PG_FUNCTION_INFO_V1(ai_guard_tags);
Datum
ai_guard_tags(PG_FUNCTION_ARGS)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			tuptype = HeapTupleHeaderGetTypeId(th);
	int32		tuptypmod = HeapTupleHeaderGetTypMod(th);
	TagsCache  *tc = (TagsCache *) fcinfo->flinfo->fn_extra;
	HeapTupleData tmp;
	TupleDesc	rowdesc;
	Datum		tv[NTAGS];
	bool		tn[NTAGS];
	Datum		out[10];
	bool		outnull[10];
	int			t;

	if (tc == NULL || tc->tuptype != tuptype || tc->tuptypmod != tuptypmod)
	{
		TupleDesc	resultdesc;

		if (tc == NULL)
			tc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TagsCache));
		rowdesc = lookup_rowtype_tupdesc(tuptype, tuptypmod);
		for (t = 0; t < NTAGS; t++)
		{
			int			i;

			tc->tag[t] = InvalidAttrNumber;
			for (i = 0; i < rowdesc->natts; i++)
			{
				Form_pg_attribute att = TupleDescAttr(rowdesc, i);

				if (!att->attisdropped && strcmp(NameStr(att->attname), tag_names[t]) == 0 &&
					att->atttypid == tag_types[t])
					tc->tag[t] = att->attnum;
			}
			if (tc->tag[t] == InvalidAttrNumber)
			{
				ReleaseTupleDesc(rowdesc);
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("row is not from a tracked table"),
						 errdetail("The row has no column \"%s\".", tag_names[t]),
						 errhint("Pass a whole row of a tracked table, as in ai_guard.tags(t).")));
			}
		}
		ReleaseTupleDesc(rowdesc);
		if (get_call_result_type(fcinfo, NULL, &resultdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		{
			MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

			tc->resultdesc = BlessTupleDesc(CreateTupleDescCopy(resultdesc));
			MemoryContextSwitchTo(old);
		}
		tc->tuptype = tuptype;
		tc->tuptypmod = tuptypmod;
		tc->last.batch = -1;
		fcinfo->flinfo->fn_extra = tc;
	}

	rowdesc = lookup_rowtype_tupdesc(tuptype, tuptypmod);
	tmp.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tmp.t_self);
	tmp.t_tableOid = InvalidOid;
	tmp.t_data = th;
	for (t = 0; t < NTAGS; t++)
		tv[t] = heap_getattr(&tmp, tc->tag[t], rowdesc, &tn[t]);
	ReleaseTupleDesc(rowdesc);

	memset(outnull, true, sizeof(outnull));
	if (!tn[TAG_BATCH] && DatumGetInt64(tv[TAG_BATCH]) != tc->last.batch)
		lookup_batch_info(DatumGetInt64(tv[TAG_BATCH]), &tc->last,
						  fcinfo->flinfo->fn_mcxt);
	out[0] = tv[TAG_ROW_ID];
	outnull[0] = tn[TAG_ROW_ID];
	if (!tn[TAG_BATCH] && tc->last.found)
	{
		out[1] = tc->last.source;
		out[2] = tc->last.license;
		out[3] = tc->last.consent;
		out[7] = tc->last.ingested_by;
		outnull[1] = outnull[2] = outnull[3] = outnull[7] = false;
	}
	out[4] = tv[TAG_BATCH];
	outnull[4] = tn[TAG_BATCH];
	out[5] = tv[TAG_INGESTED_AT];
	outnull[5] = tn[TAG_INGESTED_AT];
	out[6] = tv[TAG_DIGEST];
	outnull[6] = tn[TAG_DIGEST];
	out[8] = tv[TAG_UPDATED_BY];
	outnull[8] = tn[TAG_UPDATED_BY];
	out[9] = tv[TAG_UPDATED_AT];
	outnull[9] = tn[TAG_UPDATED_AT];
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tc->resultdesc, out, outnull)));
}

/* SQL function: ai_guard.row_digest(record) */
PG_FUNCTION_INFO_V1(ai_guard_row_digest);
Datum
ai_guard_row_digest(PG_FUNCTION_ARGS)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			tuptype = HeapTupleHeaderGetTypeId(th);
	int32		tuptypmod = HeapTupleHeaderGetTypMod(th);
	TupleDesc	rowdesc;
	RowCodec   *codec;
	HeapTupleData tmp;
	Datum	   *values;
	bool	   *nulls;
	uint8		d[AG_ROWDIGEST_LEN];

	rowdesc = lookup_rowtype_tupdesc(tuptype, tuptypmod);
	codec = (RowCodec *) fcinfo->flinfo->fn_extra;
	if (codec == NULL || codec->typid != tuptype || codec->natts != rowdesc->natts ||
		tuptype == RECORDOID)
	{
		codec = build_codec(rowdesc, fcinfo->flinfo->fn_mcxt, false, "record");
		fcinfo->flinfo->fn_extra = codec;
	}
	tmp.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tmp.t_self);
	tmp.t_tableOid = InvalidOid;
	tmp.t_data = th;
	values = palloc(sizeof(Datum) * rowdesc->natts);
	nulls = palloc(sizeof(bool) * rowdesc->natts);
	heap_deform_tuple(&tmp, rowdesc, values, nulls);
	compute_digest(codec, values, nulls, d);
	ReleaseTupleDesc(rowdesc);
	PG_RETURN_BYTEA_P(digest_bytea(d));
}

/*---- consent policy ----*/

typedef struct VisEntry
{
	int64		batch;			/* hash key */
	bool		visible;
} VisEntry;

typedef struct VisCache
{
	char		pclass[NAMEDATALEN];
	int64		last_batch;
	bool		last_visible;
	HTAB	   *hash;
} VisCache;

/* a declared purpose class must be one that consent can name */
static void
check_purpose_class(const char *pclass)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		known;

	values[0] = CStringGetTextDatum(pclass);
	SPI_connect();
	spi_as_owner("SELECT 1 FROM ai_guard.consent_classes WHERE class OPERATOR(pg_catalog.=) $1",
				 1, argtypes, values, NULL, true, 1);
	known = SPI_processed > 0;
	SPI_finish();
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown purpose class \"%s\"", pclass),
				 errdetail("Reads of tracked tables are filtered by consent, which names the classes in ai_guard.consent_classes."),
				 errhint("Set \"ai_guard.purpose\" to class:detail with a known class, for example \"training:churn-v3\".")));
}

static bool
batch_visible(int64 batch, const char *pclass)
{
	Datum		values[2];
	bool		isnull;
	bool		visible = false;

	if (pclass[0] == '\0')
		return false;			/* no declared purpose: no consent applies */
	SPI_connect();
	if (visibility_plan == NULL)
	{
		Oid			argtypes[2] = {INT8OID, TEXTOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT $2 OPERATOR(pg_catalog.=) ANY (b.consent) AND NOT EXISTS ("
						   "  SELECT 1 FROM ai_guard.quarantines q WHERE q.released_at IS NULL"
						   "   AND (q.batch_id OPERATOR(pg_catalog.=) b.batch_id"
						   "        OR q.source OPERATOR(pg_catalog.=) b.source"
						   "        OR q.batch_id OPERATOR(pg_catalog.=) ANY (b.derived_from)"
						   "        OR q.source IN (SELECT p.source FROM ai_guard.batches p"
						   "                         WHERE p.batch_id OPERATOR(pg_catalog.=) ANY (b.derived_from))))"
						   " FROM ai_guard.batches b WHERE b.batch_id OPERATOR(pg_catalog.=) $1",
						   2, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		visibility_plan = plan;
	}
	values[0] = Int64GetDatum(batch);
	values[1] = CStringGetTextDatum(pclass);
	spi_plan_as_owner(visibility_plan, values, NULL);
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		visible = !isnull && DatumGetBool(d);
	}
	SPI_finish();
	return visible;
}

/* SQL function: ai_guard.row_visible(bigint) */
PG_FUNCTION_INFO_V1(ai_guard_row_visible);
Datum
ai_guard_row_visible(PG_FUNCTION_ARGS)
{
	VisCache   *vc = (VisCache *) fcinfo->flinfo->fn_extra;
	int64		batch;
	VisEntry   *e;
	bool		found;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);	/* unstamped rows: provenance unknown */
	batch = PG_GETARG_INT64(0);

	if (vc == NULL)
	{
		HASHCTL		ctl;

		vc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(VisCache));
		purpose_class(vc->pclass, sizeof(vc->pclass));
		if (vc->pclass[0] != '\0')
			check_purpose_class(vc->pclass);
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(VisEntry);
		ctl.hcxt = fcinfo->flinfo->fn_mcxt;
		vc->hash = hash_create("ai_guard batch visibility", 16, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		vc->last_batch = -1;
		fcinfo->flinfo->fn_extra = vc;
	}
	if (batch == vc->last_batch)
		PG_RETURN_BOOL(vc->last_visible);

	e = hash_search(vc->hash, &batch, HASH_FIND, NULL);
	if (e == NULL)
	{
		bool		visible = batch_visible(batch, vc->pclass);

		e = hash_search(vc->hash, &batch, HASH_ENTER, &found);
		e->visible = visible;
	}
	vc->last_batch = batch;
	vc->last_visible = e->visible;
	PG_RETURN_BOOL(e->visible);
}

/*---- integrity ----*/

static void
verify_one(Oid relid, Tuplestorestate *ts, TupleDesc outdesc)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext rowcxt;
	MemoryContext old;
	RowCodec   *codec;
	TableScanDesc scan;
	TupleTableSlot *slot;
	AttrNumber	a_row,
				a_dig;

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ai_guard verify row",
								   ALLOCSET_DEFAULT_SIZES);
	codec = build_codec(tupdesc, CurrentMemoryContext, true, RelationGetRelationName(rel));
	a_row = codec->tag[TAG_ROW_ID];
	a_dig = codec->tag[TAG_DIGEST];
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		uint8		d[AG_ROWDIGEST_LEN];
		bool		stored_null;
		Datum		stored;
		bool		ok;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(rowcxt);
		old = MemoryContextSwitchTo(rowcxt);
		slot_getallattrs(slot);
		compute_digest(codec, slot->tts_values, slot->tts_isnull, d);
		stored = slot->tts_values[a_dig - 1];
		stored_null = slot->tts_isnull[a_dig - 1];
		if (stored_null)
			ok = false;
		else
		{
			bytea	   *b = DatumGetByteaPP(stored);

			ok = VARSIZE_ANY_EXHDR(b) == AG_ROWDIGEST_LEN &&
				memcmp(VARDATA_ANY(b), d, AG_ROWDIGEST_LEN) == 0;
		}
		if (!ok)
		{
			Datum		out[5];
			bool		outnull[5] = {false, false, false, false, false};
			ItemPointer tid = palloc(sizeof(ItemPointerData));

			*tid = slot->tts_tid;
			out[0] = ObjectIdGetDatum(relid);
			out[1] = slot->tts_values[a_row - 1];
			outnull[1] = slot->tts_isnull[a_row - 1];
			out[2] = PointerGetDatum(tid);
			out[3] = stored;
			outnull[3] = stored_null;
			out[4] = PointerGetDatum(digest_bytea(d));
			tuplestore_putvalues(ts, outdesc, out, outnull);
		}
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(rowcxt);
	table_close(rel, AccessShareLock);
}

/* SQL function: ai_guard.verify_rows(regclass) */
PG_FUNCTION_INFO_V1(ai_guard_verify_rows);
Datum
ai_guard_verify_rows(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			root;
	List	   *members;
	ListCell   *lc;
	AclResult	acl;

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(get_rel_relkind(relid)), get_rel_name(relid));
	SPI_connect();
	root = tracked_root(relid);
	SPI_finish();
	if (!OidIsValid(root))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" is not tracked", get_rel_name(relid))));

	InitMaterializedSRF(fcinfo, 0);
	members = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, members)
	{
		Oid			m = lfirst_oid(lc);

		if (get_rel_relkind(m) == RELKIND_RELATION)
			verify_one(m, rsinfo->setResult, rsinfo->setDesc);
	}
	return (Datum) 0;
}

/*---- quarantine ----*/

static int64
insert_quarantine(const char *source, int64 batch, const char *reason)
{
	Oid			argtypes[4] = {TEXTOID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[5] = "    ";
	bool		isnull;
	int64		id;

	values[0] = source ? CStringGetTextDatum(source) : (Datum) 0;
	nulls[0] = source ? ' ' : 'n';
	values[1] = Int64GetDatum(batch);
	nulls[1] = source ? 'n' : ' ';
	values[2] = CStringGetTextDatum(reason);
	values[3] = CStringGetTextDatum(current_user_name());

	SPI_connect();
	spi_as_owner("SELECT 1 FROM ai_guard.quarantines WHERE released_at IS NULL"
				 " AND (source OPERATOR(pg_catalog.=) $1 OR batch_id OPERATOR(pg_catalog.=) $2)",
				 2, argtypes, values, nulls, true, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 source ? errmsg("source \"%s\" is already quarantined", source)
				 : errmsg("batch %lld is already quarantined", (long long) batch)));
	if (!source)
	{
		spi_as_owner("SELECT 1 FROM ai_guard.batches WHERE batch_id OPERATOR(pg_catalog.=) $2",
					 2, argtypes, values, nulls, true, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("batch %lld does not exist", (long long) batch)));
	}
	spi_as_owner("INSERT INTO ai_guard.quarantines (quarantine_id, source, batch_id, reason,"
				 " created_by, created_at)"
				 " VALUES (pg_catalog.nextval('ai_guard.quarantine_id_seq'), $1, $2, $3, $4,"
				 " pg_catalog.statement_timestamp()) RETURNING quarantine_id",
				 4, argtypes, values, nulls, false, 1);
	id = spi_int8(0, 1, &isnull);
	SPI_finish();
	return id;
}

/* SQL function: ai_guard.quarantine(text, text) */
PG_FUNCTION_INFO_V1(ai_guard_quarantine_source);
Datum
ai_guard_quarantine_source(PG_FUNCTION_ARGS)
{
	char	   *source = tag_text_arg(fcinfo, 0, "source");
	char	   *reason = tag_text_arg(fcinfo, 1, "reason");

	PG_RETURN_INT64(insert_quarantine(source, 0, reason));
}

/* SQL function: ai_guard.quarantine_batch(bigint, text) */
PG_FUNCTION_INFO_V1(ai_guard_quarantine_batch);
Datum
ai_guard_quarantine_batch(PG_FUNCTION_ARGS)
{
	char	   *reason;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("batch id must not be null")));
	reason = tag_text_arg(fcinfo, 1, "reason");
	PG_RETURN_INT64(insert_quarantine(NULL, PG_GETARG_INT64(0), reason));
}

/* SQL function: ai_guard.release(bigint, text) */
PG_FUNCTION_INFO_V1(ai_guard_release);
Datum
ai_guard_release(PG_FUNCTION_ARGS)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[4] = "   ";

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("quarantine id must not be null")));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = CStringGetTextDatum(current_user_name());
	if (PG_ARGISNULL(1))
		nulls[2] = 'n';
	else
		values[2] = PG_GETARG_DATUM(1);
	SPI_connect();
	spi_as_owner("UPDATE ai_guard.quarantines SET released_by = $2,"
				 " released_at = pg_catalog.statement_timestamp(), release_note = $3"
				 " WHERE quarantine_id OPERATOR(pg_catalog.=) $1 AND released_at IS NULL",
				 3, argtypes, values, nulls, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("quarantine %lld does not exist or was already released",
						(long long) PG_GETARG_INT64(0))));
	SPI_finish();
	PG_RETURN_VOID();
}

/*---- tag writers ----*/

static void
require_superuser(const char *fn)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", fn),
				 errdetail("Only superusers may grant or revoke writing provenance columns.")));
}

/* SQL function: ai_guard.grant_tag_write(regrole) */
PG_FUNCTION_INFO_V1(ai_guard_grant_tag_write);
Datum
ai_guard_grant_tag_write(PG_FUNCTION_ARGS)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		values[2];

	require_superuser("grant_tag_write");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = CStringGetTextDatum(current_user_name());
	SPI_connect();
	spi_as_owner("INSERT INTO ai_guard.tag_writers (role, granted_by)"
				 " VALUES ($1::pg_catalog.regrole, $2) ON CONFLICT DO NOTHING",
				 2, argtypes, values, NULL, false, 0);
	SPI_finish();
	writer_cache_role = InvalidOid;
	PG_RETURN_VOID();
}

/* SQL function: ai_guard.revoke_tag_write(regrole) */
PG_FUNCTION_INFO_V1(ai_guard_revoke_tag_write);
Datum
ai_guard_revoke_tag_write(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];

	require_superuser("revoke_tag_write");
	values[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	spi_as_owner("DELETE FROM ai_guard.tag_writers WHERE role OPERATOR(pg_catalog.=) $1::pg_catalog.regrole",
				 1, argtypes, values, NULL, false, 0);
	SPI_finish();
	writer_cache_role = InvalidOid;
	PG_RETURN_VOID();
}

/*---- utility hook: COPY FROM column list, CREATE TABLE AS ----*/

/* the data columns of a tracked relation, for COPY FROM without a list */
static List *
data_column_names(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *names = NIL;
	int			i;
	int			t;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		bool		is_tag = false;

		if (att->attisdropped || att->attgenerated != '\0')
			continue;
		for (t = 0; t < NTAGS; t++)
			if (strcmp(NameStr(att->attname), tag_names[t]) == 0)
				is_tag = true;
		if (!is_tag)
			names = lappend(names, makeString(pstrdup(NameStr(att->attname))));
	}
	table_close(rel, AccessShareLock);
	return names;
}

/*---- the provenance of a tracked table is not taken apart by hand ----*/

static bool
is_tag_column(const char *name)
{
	int			t;

	for (t = 0; name && t < NTAGS; t++)
		if (strcmp(name, tag_names[t]) == 0)
			return true;
	return false;
}

static bool
is_own_policy(const char *name)
{
	return name && (strcmp(name, "ai_guard_consent") == 0 ||
					strcmp(name, "ai_guard_allow") == 0);
}

static void
refuse_by_hand(Oid relid, const char *what)
{
	/* others are refused by PostgreSQL's own ownership check */
	if (!pg_class_ownercheck(relid, GetUserId()))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s of tracked relation %s", what, qualified_name(relid)),
			 errdetail("The provenance columns, the stamping trigger, the consent policy and row level security of a tracked table are maintained by ai_guard: without them consent would not filter its rows."),
			 errhint("ai_guard.untrack('%s') removes the provenance of a table.",
					 qualified_name(relid))));
}

static Oid
tracked_rangevar(RangeVar *rv)
{
	Oid			relid = rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;

	return (OidIsValid(relid) && ai_guard_relation_is_tracked(relid)) ? relid : InvalidOid;
}

/*
 * Refuses hand-written DDL that would switch the consent rule of a tracked
 * table off or take its provenance apart (each would be a change of
 * governance with no other trace): dropping or altering its policies,
 * disabling row level security, dropping, retyping or renaming the
 * provenance columns, dropping the stamping trigger.
 */
static void
guard_tracked_ddl(Node *parsetree)
{
	Oid			relid;

	if (own_ddl)
		return;
	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			{
				AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
				ListCell   *lc;

				/* attaching a tracked partition to an untracked table */
				foreach(lc, stmt->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
					Oid			part;

					if (cmd->subtype != AT_AttachPartition ||
						OidIsValid(tracked_rangevar(stmt->relation)))
						continue;
					part = tracked_rangevar(((PartitionCmd *) cmd->def)->name);
					if (OidIsValid(part))
						refuse_by_hand(part, "make an untracked table the parent");
				}
				relid = tracked_rangevar(stmt->relation);
				if (!OidIsValid(relid))
					return;
				foreach(lc, stmt->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

					if (cmd->subtype == AT_DisableRowSecurity)
						refuse_by_hand(relid, "disable row level security");
					/* a parent applies its own row security, not the child's */
					if (cmd->subtype == AT_AddInherit &&
						!OidIsValid(tracked_rangevar((RangeVar *) cmd->def)))
						refuse_by_hand(relid, "make an untracked table the parent");
					if ((cmd->subtype == AT_DropColumn || cmd->subtype == AT_AlterColumnType ||
						 cmd->subtype == AT_DropExpression) &&
						is_tag_column(cmd->name))
						refuse_by_hand(relid, psprintf("change column %s", cmd->name));
				}
				return;
			}
		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parsetree;

				relid = tracked_rangevar(stmt->relation);
				if (!OidIsValid(relid))
					return;
				if (stmt->renameType == OBJECT_COLUMN && is_tag_column(stmt->subname))
					refuse_by_hand(relid, psprintf("rename column %s", stmt->subname));
				if ((stmt->renameType == OBJECT_POLICY && is_own_policy(stmt->subname)) ||
					(stmt->renameType == OBJECT_TRIGGER && stmt->subname &&
					 strncmp(stmt->subname, "zz_ai_guard_", 12) == 0))
					refuse_by_hand(relid, psprintf("rename %s", stmt->subname));
				return;
			}
		case T_AlterPolicyStmt:
			{
				AlterPolicyStmt *stmt = (AlterPolicyStmt *) parsetree;

				relid = tracked_rangevar(stmt->table);
				if (OidIsValid(relid) && is_own_policy(stmt->policy_name))
					refuse_by_hand(relid, psprintf("alter policy %s", stmt->policy_name));
				return;
			}
		case T_DropStmt:
			{
				DropStmt   *stmt = (DropStmt *) parsetree;
				ListCell   *lc;

				if (stmt->removeType != OBJECT_POLICY && stmt->removeType != OBJECT_TRIGGER)
					return;
				foreach(lc, stmt->objects)
				{
					List	   *names = (List *) lfirst(lc);
					const char *name = strVal(llast(names));

					if (list_length(names) < 2)
						continue;
					relid = tracked_rangevar(makeRangeVarFromNameList(list_truncate(list_copy(names),
																	   list_length(names) - 1)));
					if (!OidIsValid(relid))
						continue;
					if ((stmt->removeType == OBJECT_POLICY && is_own_policy(name)) ||
						(stmt->removeType == OBJECT_TRIGGER && strncmp(name, "zz_ai_guard_", 12) == 0))
						refuse_by_hand(relid, psprintf("drop %s", name));
				}
				return;
			}
		default:
			return;
	}
}

static void
prov_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		is_copy_from = false;
	bool		is_ctas = false;
	int			saved_frames = nframes;

	guard_tracked_ddl(parsetree);
	if (IsA(parsetree, CopyStmt))
	{
		CopyStmt   *stmt = (CopyStmt *) parsetree;

		if (stmt->is_from && stmt->relation != NULL)
		{
			Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

			is_copy_from = true;
			if (stmt->attlist == NIL && OidIsValid(relid) && ai_guard_relation_is_tracked(relid))
			{
				if (readOnlyTree)
				{
					pstmt = copyObject(pstmt);
					readOnlyTree = false;
					stmt = (CopyStmt *) pstmt->utilityStmt;
				}
				stmt->attlist = data_column_names(relid);
			}
		}
	}
	else if (IsA(parsetree, CreateTableAsStmt) &&
			 ((CreateTableAsStmt *) parsetree)->objtype == OBJECT_TABLE &&
			 !ctas_active)
		is_ctas = true;

	if (is_copy_from)
		push_frame(NULL, 0, NULL);	/* COPY reads nothing: not derived */
	if (is_ctas)
	{
		ctas_active = true;
		ctas_seen = false;
		ctas_sources = NIL;
	}
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (is_copy_from)
		{
			while (nframes > saved_frames)
				pop_frame();
		}
		if (is_ctas)
			ctas_active = false;
	}
	PG_END_TRY();

	/* a table created from tracked tables is tracked, its rows derived */
	if (is_ctas && ctas_sources != NIL)
	{
		CreateTableAsStmt *stmt = (CreateTableAsStmt *) pstmt->utilityStmt;
		Oid			relid = RangeVarGetRelid(stmt->into->rel, NoLock, true);

		/* temporary tables are never tracked: their copies stay plain */
		if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_RELATION &&
			get_rel_persistence(relid) != RELPERSISTENCE_TEMP)
		{
			StmtFrame	f;
			ListCell   *lc;
			int			i = 0;
			int64		batch;

			f.qd = NULL;
			f.nsources = list_length(ctas_sources);
			f.sources = palloc(sizeof(Oid) * f.nsources);
			foreach(lc, ctas_sources)
				f.sources[i++] = lfirst_oid(lc);
			f.derived_batch = 0;
			batch = create_derived_batch(&f);
			SPI_connect();
			track_relation(relid, batch);
			SPI_finish();
		}
		ctas_sources = NIL;
	}
}

/*---- transaction callbacks ----*/

static void
prov_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			forget_batches_of(InvalidSubTransactionId, true);
			npending = 0;
			while (nframes > 0)
				pop_frame();
			ctas_active = false;
			ctas_sources = NIL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* the batches are committed: keep them across transactions */
			ingest_batch_subid = InvalidSubTransactionId;
			implicit_batch_subid = InvalidSubTransactionId;
			npending = 0;
			while (nframes > 0)
				pop_frame();
			ctas_sources = NIL;
			break;
		default:
			break;
	}
}

static void
prov_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			forget_batches_of(mySubid, false);
			while (nframes > 0 && frames[nframes - 1].subid >= mySubid)
				pop_frame();
			/* counts of the aborted statements' rows are void */
			npending = 0;
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			if (ingest_batch_subid == mySubid)
				ingest_batch_subid = parentSubid;
			if (implicit_batch_subid == mySubid)
				implicit_batch_subid = parentSubid;
			break;
		default:
			break;
	}
}

void
ai_guard_provenance_init(void)
{
	DefineCustomBoolVariable("ai_guard.require_ingest_context",
							 "Refuse writes into tracked tables without an open ingest context.",
							 "When on, INSERT and COPY into a tracked table fail unless the session called ai_guard.begin_ingest().",
							 &ai_guard_require_ingest_context,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = prov_ExecutorStart;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = prov_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = prov_ProcessUtility;

	RegisterXactCallback(prov_xact_callback, NULL);
	RegisterSubXactCallback(prov_subxact_callback, NULL);
}
