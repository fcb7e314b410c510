/*-------------------------------------------------------------------------
 *
 * masking_sql.c
 *		PII masking, free-text detection and redaction, classification by
 *		security labels, and masked views for data scientists.
 *
 * The byte-level work is done by src/core (mask.c, pii.c, label.c); this
 * file is the PostgreSQL glue:
 *
 *	- the masking functions (mask_email, ..., generalize, noise),
 *	- detect_pii / redact_pii,
 *	- the "ai_guard" security label provider, which accepts only the strict
 *	  grammar of label.h on table columns,
 *	- scan_table / apply_classification,
 *	- create_masked_view and its upkeep: an event trigger on
 *	  ddl_command_start/end regenerates a masked view when its base table's
 *	  columns or labels change, and one on sql_drop forgets dropped views,
 *	- grant_masked_access / revoke_masked_access.
 *
 * Bookkeeping tables (masked_views, masked_access, governed_relations,
 * masking_secret) are closed to PUBLIC; the C code writes them as the
 * extension's owner after checking the caller's rights itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/seclabel.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "ai_guard.h"
#include "commands/policy.h"
#include "audit_hook.h"
#include "stats_policy.h"
#include "label.h"
#include "mask.h"
#include "masking_sql.h"
#include "masked_reads.h"
#include "governance_log.h"
#include "pii.h"

#define PROVIDER "ai_guard"
#define NOISE_KEY_LEN 32
#define MAX_SAMPLE_ROWS 100000

/*---- per-backend state ----*/

/* the noise MAC, keyed once from ai_guard.masking_secret */
static ag_noise_ctx *noise_ctx = NULL;

/* base tables whose masked views must be rebuilt at ddl_command_end */
static List *pending_relids = NIL;

/* true while this file regenerates views: its own DDL is not tracked */
static bool in_regeneration = false;

static void label_hook(const ObjectAddress *object, const char *seclabel);
static void masking_xact_callback(XactEvent event, void *arg);

void
ai_guard_masking_init(void)
{
	register_label_provider(PROVIDER, label_hook);
	RegisterXactCallback(masking_xact_callback, NULL);
}

static void
masking_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending_relids = NIL;	/* its memory was the transaction's */
			in_regeneration = false;
			break;
		default:
			break;
	}
}

/*---- helpers ----*/

static bool
db_is_utf8(void)
{
	return GetDatabaseEncoding() == PG_UTF8;
}

static text *
text_from_buf(const char *buf, size_t len)
{
	return cstring_to_text_with_len(buf, (int) len);
}

/*
 * A text of up to len + extra bytes whose data the caller writes in place
 * (no second copy), refusing sizes PostgreSQL cannot hold.
 */
static text *
out_text(size_t len, size_t extra)
{
	if (len > MaxAllocSize - VARHDRSZ - extra - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("masked value would be too long")));
	return (text *) palloc(VARHDRSZ + len + extra);
}

static Datum
finish_text(text *t, size_t n)
{
	SET_VARSIZE(t, VARHDRSZ + n);
	PG_RETURN_TEXT_P(t);
}

/* The ai_guard extension's OID, schema and owner. */
static void
extension_info(Oid *ext_oid, Oid *schema, Oid *owner)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("ai_guard"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"ai_guard\" is not installed in this database")));
	if (ext_oid)
		*ext_oid = ((Form_pg_extension) GETSTRUCT(tup))->oid;
	if (schema)
		*schema = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	if (owner)
		*owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static const char *
ext_schema_quoted(void)
{
	Oid			schema;

	extension_info(NULL, &schema, NULL);
	return quote_identifier(get_namespace_name(schema));
}

/*
 * SQL this file runs as another role (the extension's owner, a view's owner)
 * goes through ai_guard_become_owner(): search_path pinned to pg_catalog, so
 * a caller's search_path cannot slip its own "=" into it.
 */

/* Runs sql (with optional parameters) through SPI; errors are raised. */
static int
spi_exec(const char *sql, int nargs, Oid *types, Datum *values, bool read_only)
{
	int			rc;

	if (nargs > 0)
		rc = SPI_execute_with_args(sql, nargs, types, values, NULL, read_only, 0);
	else
		rc = SPI_execute(sql, read_only, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	return rc;
}

/*
 * Runs sql as the extension's owner, in its own SPI connection.  Used only
 * for the bookkeeping tables; sql is built from constants and parameters.
 */
static void
exec_as_owner(const char *sql, int nargs, Oid *types, Datum *values)
{
	Oid			owner;
	AgOwnerContext s;

	extension_info(NULL, NULL, &owner);
	ai_guard_become_owner(owner, &s);
	PG_TRY();
	{
		SPI_connect();
		spi_exec(sql, nargs, types, values, false);
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&s);
	}
	PG_END_TRY();
}

/*---- masking functions ----*/

/* SQL function: ai_guard.mask_email(text) */
PG_FUNCTION_INFO_V1(ai_guard_mask_email);
Datum
ai_guard_mask_email(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	text	   *out = out_text(len, 8);

	return finish_text(out, ag_mask_email(VARDATA_ANY(in), len, db_is_utf8(),
										  VARDATA(out)));
}

/* SQL function: ai_guard.mask_phone(text, integer) */
PG_FUNCTION_INFO_V1(ai_guard_mask_phone);
Datum
ai_guard_mask_phone(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int32		keep = PG_GETARG_INT32(1);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	text	   *out;

	if (keep < 0 || keep > 15)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mask_phone keeps 0 to 15 digits")));
	out = out_text(len, 0);
	return finish_text(out, ag_mask_phone(VARDATA_ANY(in), len, keep,
										  VARDATA(out)));
}

/* SQL function: ai_guard.mask_card(text) */
PG_FUNCTION_INFO_V1(ai_guard_mask_card);
Datum
ai_guard_mask_card(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	text	   *out = out_text(len, 0);

	return finish_text(out, ag_mask_card(VARDATA_ANY(in), len, VARDATA(out)));
}

/* SQL function: ai_guard.mask_iban(text) */
PG_FUNCTION_INFO_V1(ai_guard_mask_iban);
Datum
ai_guard_mask_iban(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	text	   *out = out_text(len, 0);

	return finish_text(out, ag_mask_iban(VARDATA_ANY(in), len, VARDATA(out)));
}

/* SQL function: ai_guard.partial(text, integer, text, integer) */
PG_FUNCTION_INFO_V1(ai_guard_partial);
Datum
ai_guard_partial(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int32		prefix = PG_GETARG_INT32(1);
	text	   *pad = PG_GETARG_TEXT_PP(2);
	int32		suffix = PG_GETARG_INT32(3);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	size_t		padlen = VARSIZE_ANY_EXHDR(pad);
	text	   *out;

	if (prefix < 0 || suffix < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partial cannot keep a negative number of characters")));
	if (!db_is_utf8() && pg_database_encoding_max_length() > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("partial requires a UTF8 or single-byte database encoding")));
	out = out_text(len, padlen);
	return finish_text(out, ag_mask_partial(VARDATA_ANY(in), len, db_is_utf8(),
											prefix, VARDATA_ANY(pad), padlen,
											suffix, VARDATA(out)));
}

typedef enum gen_unit
{
	GEN_YEAR,
	GEN_MONTH,
	GEN_DECADE
} gen_unit;

/* 'year', 'month' or 'decade', else an error that names only the unit */
static gen_unit
checked_unit(text *unit)
{
	const char *u = VARDATA_ANY(unit);
	size_t		n = VARSIZE_ANY_EXHDR(unit);

	if (n == 4 && memcmp(u, "year", 4) == 0)
		return GEN_YEAR;
	if (n == 5 && memcmp(u, "month", 5) == 0)
		return GEN_MONTH;
	if (n == 6 && memcmp(u, "decade", 6) == 0)
		return GEN_DECADE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("generalize unit must be \"year\", \"month\" or \"decade\"")));
	return GEN_YEAR;			/* keep the compiler quiet */
}

static Datum
unit_text(gen_unit unit)
{
	return CStringGetTextDatum(unit == GEN_YEAR ? "year" :
							   unit == GEN_MONTH ? "month" : "decade");
}

/* SQL function: ai_guard.generalize(date, text) */
PG_FUNCTION_INFO_V1(ai_guard_generalize_date);
Datum
ai_guard_generalize_date(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	gen_unit	unit = checked_unit(PG_GETARG_TEXT_PP(1));
	int			y,
				m,
				day;

	if (DATE_NOT_FINITE(d))
		PG_RETURN_DATEADT(d);
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	if (unit != GEN_MONTH)
		m = 1;
	if (unit == GEN_DECADE)
	{
		/* as date_trunc: years 1 BC and before count down (y <= 0 here) */
		if (y > 0)
			y = (y / 10) * 10;
		else
			y = -((8 - (y - 1)) / 10) * 10;
	}
	PG_RETURN_DATEADT(date2j(y, m, 1) - POSTGRES_EPOCH_JDATE);
}

/* SQL function: ai_guard.generalize(timestamp, text) */
PG_FUNCTION_INFO_V1(ai_guard_generalize_ts);
Datum
ai_guard_generalize_ts(PG_FUNCTION_ARGS)
{
	Timestamp	t = PG_GETARG_TIMESTAMP(0);
	gen_unit	unit = checked_unit(PG_GETARG_TEXT_PP(1));

	return DirectFunctionCall2(timestamp_trunc, unit_text(unit),
							   TimestampGetDatum(t));
}

/* SQL function: ai_guard.generalize(timestamptz, text) */
PG_FUNCTION_INFO_V1(ai_guard_generalize_tstz);
Datum
ai_guard_generalize_tstz(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	gen_unit	unit = checked_unit(PG_GETARG_TEXT_PP(1));

	return DirectFunctionCall2(timestamptz_trunc, unit_text(unit),
							   TimestampTzGetDatum(t));
}

/* SQL function: ai_guard.generalize(numeric, numeric) */
PG_FUNCTION_INFO_V1(ai_guard_generalize_numeric);
Datum
ai_guard_generalize_numeric(PG_FUNCTION_ARGS)
{
	Datum		value = PG_GETARG_DATUM(0);
	Datum		width = PG_GETARG_DATUM(1);
	Datum		zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	Datum		q;

	if (numeric_is_nan(PG_GETARG_NUMERIC(1)) ||
		numeric_is_inf(PG_GETARG_NUMERIC(1)) ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, width, zero)) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("generalize bucket width must be a positive finite number")));
	if (numeric_is_nan(PG_GETARG_NUMERIC(0)) ||
		numeric_is_inf(PG_GETARG_NUMERIC(0)))
		PG_RETURN_DATUM(value);
	q = DirectFunctionCall2(numeric_div, value, width);
	q = DirectFunctionCall1(numeric_floor, q);
	PG_RETURN_DATUM(DirectFunctionCall2(numeric_mul, q, width));
}

/*
 * The noise key: 32 random bytes in ai_guard.masking_secret, a table closed
 * to every ordinary role.  It is read here directly, without the executor's
 * permission checks, which is what lets a data scientist's query use the key
 * without being able to SELECT it.
 */
static void
load_noise_key(void)
{
	Oid			schema;
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;
	uint8		noise_key[NOISE_KEY_LEN];

	if (noise_ctx != NULL)
		return;
	extension_info(NULL, &schema, NULL);
	relid = get_relname_relid("masking_secret", schema);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ai_guard masking secret is missing")));
	rel = table_open(relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(d);

			if (VARSIZE_ANY_EXHDR(b) == NOISE_KEY_LEN)
			{
				memcpy(noise_key, VARDATA_ANY(b), NOISE_KEY_LEN);
				found = true;
			}
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ai_guard masking secret is missing")));
	noise_ctx = ag_noise_ctx_new(noise_key, NOISE_KEY_LEN);
	explicit_bzero(noise_key, sizeof(noise_key));
	if (noise_ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not set up the noise MAC")));
}

/* SQL function: ai_guard.noise(double precision, double precision) */
PG_FUNCTION_INFO_V1(ai_guard_noise);
Datum
ai_guard_noise(PG_FUNCTION_ARGS)
{
	float8		value = PG_GETARG_FLOAT8(0);
	float8		ratio = PG_GETARG_FLOAT8(1);
	const char *purpose = ai_guard_purpose ? ai_guard_purpose : "";
	const char *colon = strchr(purpose, ':');
	size_t		class_len = colon ? (size_t) (colon - purpose) : strlen(purpose);
	float8		result;

	if (!(ratio > 0 && ratio <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("noise ratio must be greater than 0 and at most 1")));
	load_noise_key();
	/* keyed by the purpose class: the same for every detail of a purpose */
	if (!ag_noise_with(noise_ctx, purpose, class_len, value, ratio, &result))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute noise")));
	PG_RETURN_FLOAT8(result);
}

/* SQL function: ai_guard._new_masking_secret(): 32 random bytes */
PG_FUNCTION_INFO_V1(ai_guard_new_masking_secret);
Datum
ai_guard_new_masking_secret(PG_FUNCTION_ARGS)
{
	bytea	   *b = palloc(VARHDRSZ + NOISE_KEY_LEN);

	SET_VARSIZE(b, VARHDRSZ + NOISE_KEY_LEN);
	if (!pg_strong_random(VARDATA(b), NOISE_KEY_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
	PG_RETURN_BYTEA_P(b);
}

/*---- detect_pii, redact_pii ----*/

typedef struct collect_state
{
	ag_pii_finding *items;
	size_t		n;
	size_t		cap;
} collect_state;

static bool
collect_cb(const ag_pii_finding *f, void *arg)
{
	collect_state *st = (collect_state *) arg;

	if (st->n == st->cap)
	{
		st->cap = st->cap ? st->cap * 2 : 16;
		st->items = st->items ? repalloc_huge(st->items, st->cap * sizeof(*f))
			: palloc(st->cap * sizeof(*f));
	}
	st->items[st->n++] = *f;
	return true;
}

/* SQL function: ai_guard.detect_pii(text) */
PG_FUNCTION_INFO_V1(ai_guard_detect_pii);
Datum
ai_guard_detect_pii(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *in = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(in);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	collect_state st = {NULL, 0, 0};
	size_t		k;
	size_t		byte_pos = 0;
	int64		char_pos = 0;

	InitMaterializedSRF(fcinfo, 0);
	ag_pii_scan(s, len, collect_cb, &st);
	for (k = 0; k < st.n; k++)
	{
		ag_pii_finding *f = &st.items[k];
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		int64		flen;

		/* positions in characters, 1-based, like SQL's substr() */
		char_pos += pg_mbstrlen_with_len(s + byte_pos, (int) (f->start - byte_pos));
		byte_pos = f->start;
		flen = pg_mbstrlen_with_len(s + f->start, (int) f->len);
		values[0] = CStringGetTextDatum(ag_pii_kind_name(f->kind));
		values[1] = Int32GetDatum((int32) (char_pos + 1));
		values[2] = Int32GetDatum((int32) flen);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

typedef struct redact_state
{
	StringInfoData buf;
	const char *s;
	size_t		done;
} redact_state;

static bool
redact_cb(const ag_pii_finding *f, void *arg)
{
	redact_state *st = (redact_state *) arg;

	appendBinaryStringInfo(&st->buf, st->s + st->done, (int) (f->start - st->done));
	appendStringInfoString(&st->buf, ag_pii_kind_tag(f->kind));
	st->done = f->start + f->len;
	return true;
}

/* SQL function: ai_guard.redact_pii(text) */
PG_FUNCTION_INFO_V1(ai_guard_redact_pii);
Datum
ai_guard_redact_pii(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	redact_state st;

	st.s = VARDATA_ANY(in);
	st.done = 0;
	initStringInfo(&st.buf);
	ag_pii_scan(st.s, len, redact_cb, &st);
	if (st.done == 0)
		PG_RETURN_TEXT_P(in);	/* nothing found: the value as it is */
	appendBinaryStringInfo(&st.buf, st.s + st.done, (int) (len - st.done));
	PG_RETURN_TEXT_P(text_from_buf(st.buf.data, st.buf.len));
}

/*---- security label provider ----*/

static void
add_pending(Oid relid)
{
	MemoryContext old;

	if (in_regeneration || list_member_oid(pending_relids, relid))
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	pending_relids = lappend_oid(pending_relids, relid);
	MemoryContextSwitchTo(old);
}

static void
label_hook(const ObjectAddress *object, const char *seclabel)
{
	ag_label	l;
	const char *err = NULL;
	char		relkind;

	if (object->classId != RelationRelationId || object->objectSubId <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ai_guard security labels apply only to table columns")));
	relkind = get_rel_relkind(object->objectId);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_FOREIGN_TABLE && relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ai_guard security labels apply only to table columns")));
	if (seclabel != NULL &&
		!ag_label_parse(seclabel, strlen(seclabel), &l, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ai_guard security label"),
				 errdetail("%s", err),
				 errhint("Write a label as public, internal or pii:<kind>, optionally followed by \" mask=<function>(<literal arguments>)\".")));
	/* a change of classification of a governed relation is on the record */
	if (ai_guard_is_governed(object->objectId))
	{
		char	   *old = GetSecurityLabel(object, PROVIDER);
		char	   *att = get_attname(object->objectId, object->objectSubId, false);

		ai_guard_govlog_record("security label", seclabel ? "set" : "remove",
							   psprintf("%s.%s", ai_guard_qualified_name(object->objectId),
										quote_identifier(att)),
							   ai_guard_json_string(old), ai_guard_json_string(seclabel));
	}
	/* the masked views of the table follow at the end of the command */
	add_pending(object->objectId);
}

/*---- masked view definitions ----*/

/* e.g. "pii:email" for a column's label, NULL if it has none */
static char *
column_label(Oid relid, AttrNumber attnum)
{
	ObjectAddress addr;

	ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
	return GetSecurityLabel(&addr, PROVIDER);
}

static bool
label_kind_is(const char *label, const ag_label *l, const char *kind)
{
	return l->kind_len == strlen(kind) &&
		memcmp(label + l->kind_start, kind, l->kind_len) == 0;
}

/*
 * The select-list expression for one column, or NULL to leave it out.
 * col is the quoted column reference, type the column's type.
 */
static char *
column_expression(const char *label, const char *col, Oid type,
				  const char *typname, const char *ext)
{
	ag_label	l;
	const char *err;
	StringInfoData e;
	bool		is_text = (type == TEXTOID);
	char	   *coltext = is_text ? pstrdup(col) : psprintf("CAST(%s AS pg_catalog.text)", col);
	int			k;

	if (label == NULL)
		return NULL;			/* privacy by default */
	label = ai_guard_effective_label(label, type);
	if (!ag_label_parse(label, strlen(label), &l, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ai_guard security label on a column"),
				 errdetail("%s", err)));
	initStringInfo(&e);
	if (l.fn != AG_FN_NONE)
	{
		bool		text_arg = (l.fn != AG_FN_GENERALIZE && l.fn != AG_FN_NOISE);

		appendStringInfo(&e, "%s.%s(%s", ext, ag_label_fn_name(l.fn),
						 text_arg ? coltext : col);
		for (k = 0; k < l.nargs; k++)
		{
			ag_label_arg *a = &l.args[k];

			if (a->is_string)
			{
				char	   *buf = palloc(a->len + 1);

				ag_label_unquote(label, a, buf);
				appendStringInfo(&e, ", CAST(%s AS pg_catalog.text)",
								 quote_literal_cstr(buf));
			}
			else
				appendStringInfo(&e, ", %s%.*s%s",
								 label[a->start] == '-' ? "(" : "",
								 (int) a->len, label + a->start,
								 label[a->start] == '-' ? ")" : "");
		}
		appendStringInfoChar(&e, ')');
		return e.data;
	}
	if (ag_label_shown_as_stored(&l))
		return pstrdup(col);	/* public, internal: as stored */

	/* PII without a rule and without a default for its kind */
	appendStringInfo(&e, "CAST(NULL AS %s)", typname);
	return e.data;
}

char *
ai_guard_effective_label(const char *label, Oid type)
{
	ag_label	l;
	const char *err;
	const char *rule = NULL;

	if (label == NULL || !ag_label_parse(label, strlen(label), &l, &err) ||
		l.fn != AG_FN_NONE || l.cls != AG_CLASS_PII)
		return (char *) label;
	if (label_kind_is(label, &l, "email"))
		rule = "mask_email()";
	else if (label_kind_is(label, &l, "phone"))
		rule = "mask_phone()";
	else if (label_kind_is(label, &l, "card"))
		rule = "mask_card()";
	else if (label_kind_is(label, &l, "iban"))
		rule = "mask_iban()";
	else if (label_kind_is(label, &l, "ssn"))
		rule = "partial(0, 'XXX-XX-', 4)";
	else if (label_kind_is(label, &l, "free_text"))
		rule = "redact_pii()";
	else if (label_kind_is(label, &l, "birth_date") &&
			 (type == DATEOID || type == TIMESTAMPOID || type == TIMESTAMPTZOID))
		rule = "generalize('year')";
	return rule ? psprintf("%s mask=%s", label, rule) : (char *) label;
}

/*
 * CREATE VIEW statement for the masked view schema.name of base relid.
 * Built with search_path = pg_catalog, pg_temp so every type name that is
 * not in pg_catalog comes out schema-qualified.
 */
static char *
masked_view_sql(Oid relid, const char *schema, const char *name)
{
	Relation	rel;
	TupleDesc	desc;
	StringInfoData sql;
	const char *ext = ext_schema_quoted();
	bool		first = true;
	int			i;
	int			save_nest = ai_guard_pin_search_path();

	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE VIEW %s WITH (security_barrier) AS SELECT ",
					 quote_qualified_identifier(schema, name));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		char	   *col;
		char	   *expr;

		if (att->attisdropped)
			continue;
		col = psprintf("t.%s", quote_identifier(NameStr(att->attname)));
		expr = column_expression(column_label(relid, att->attnum), col,
								 att->atttypid,
								 format_type_with_typemod(att->atttypid,
														  att->atttypmod),
								 ext);
		if (expr == NULL)
			continue;
		appendStringInfo(&sql, "%s%s AS %s", first ? "" : ", ", expr,
						 quote_identifier(NameStr(att->attname)));
		first = false;
	}
	appendStringInfo(&sql, " FROM %s t",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)));

	/*
	 * The view reads as its owner, whom row-level security does not filter:
	 * a tracked table's consent and quarantine rule (its policy) is part of
	 * the view instead, evaluated for the reader's own purpose.
	 */
	if (OidIsValid(get_relation_policy_oid(relid, "ai_guard_consent", true)))
		appendStringInfo(&sql, " WHERE %s.row_visible(t.ai_guard_batch)", ext);
	relation_close(rel, AccessShareLock);
	AtEOXact_GUC(true, save_nest);
	return sql.data;
}

/* Roles recorded by grant_masked_access. */
static List *
masked_access_roles(void)
{
	Oid			owner;
	AgOwnerContext s;
	List	   *roles = NIL;
	MemoryContext outer = CurrentMemoryContext;

	extension_info(NULL, NULL, &owner);
	ai_guard_become_owner(owner, &s);
	PG_TRY();
	{
		uint64		k;

		SPI_connect();
		spi_exec("SELECT role::pg_catalog.oid FROM ai_guard.masked_access",
				 0, NULL, NULL, false);
		for (k = 0; k < SPI_processed; k++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[k],
										  SPI_tuptable->tupdesc, 1, &isnull);
			MemoryContext old = MemoryContextSwitchTo(outer);

			roles = lappend_oid(roles, DatumGetObjectId(d));
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&s);
	}
	PG_END_TRY();
	return roles;
}

/*
 * (Re)creates the masked view schema.name of base as role owner: drops the
 * old one if it exists, creates the new one, grants SELECT to the masked
 * access roles, and records it in masked_views and governed_relations.
 * Returns the view's OID.
 */
static Oid
build_masked_view(Oid base, const char *schema, const char *name, Oid owner,
				  Oid old_view)
{
	char	   *sql = masked_view_sql(base, schema, name);
	List	   *roles = masked_access_roles();
	AgOwnerContext s;
	Oid			view;
	Oid			nsp = get_namespace_oid(schema, false);
	ListCell   *lc;
	bool		save_regen = in_regeneration;

	in_regeneration = true;
	ai_guard_become_owner(owner, &s);
	PG_TRY();
	{
		SPI_connect();
		if (OidIsValid(old_view) && get_rel_name(old_view) != NULL)
			spi_exec(psprintf("DROP VIEW %s",
							  quote_qualified_identifier(get_namespace_name(get_rel_namespace(old_view)),
														 get_rel_name(old_view))),
					 0, NULL, NULL, false);
		spi_exec(sql, 0, NULL, NULL, false);
		foreach(lc, roles)
		{
			char	   *role = GetUserNameFromId(lfirst_oid(lc), true);

			if (role != NULL)
				spi_exec(psprintf("GRANT SELECT ON %s TO %s",
								  quote_qualified_identifier(schema, name),
								  quote_identifier(role)),
						 0, NULL, NULL, false);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&s);
		in_regeneration = save_regen;
	}
	PG_END_TRY();

	view = get_relname_relid(name, nsp);
	if (!OidIsValid(view))
		elog(ERROR, "masked view was not created");

	/* bookkeeping, as the extension's owner */
	{
		Oid			types[5] = {OIDOID, OIDOID, OIDOID, NAMEOID, NAMEOID};
		Datum		values[5];

		values[0] = ObjectIdGetDatum(old_view);
		values[1] = ObjectIdGetDatum(view);
		values[2] = ObjectIdGetDatum(base);
		/* name parameters are NAMEDATALEN bytes: build them with namein */
		values[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
		values[4] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(owner, false)));
		exec_as_owner("DELETE FROM ai_guard.masked_views WHERE view::pg_catalog.oid = $1",
					  1, types, values);
		exec_as_owner("DELETE FROM ai_guard.governed_relations "
					  "WHERE rel::pg_catalog.oid = $1 AND reason = 'masked_view'",
					  1, types, values);
		exec_as_owner("INSERT INTO ai_guard.masked_views (view, base, created_by) "
					  "VALUES ($2::pg_catalog.regclass, $3::pg_catalog.regclass, $5)",
					  5, types, values);
		exec_as_owner("INSERT INTO ai_guard.governed_relations (rel, reason, added_by) "
					  "VALUES ($2::pg_catalog.regclass, 'masked_view', $4) "
					  "ON CONFLICT DO NOTHING",
					  5, types, values);
	}
	/* data-scientist roles need the schema of the view */
	foreach(lc, roles)
	{
		char	   *role = GetUserNameFromId(lfirst_oid(lc), true);

		if (role != NULL)
			exec_as_owner(psprintf("GRANT USAGE ON SCHEMA %s TO %s",
								   quote_identifier(schema), quote_identifier(role)),
						  0, NULL, NULL);
	}
	return view;
}

/* The masked views (OIDs) of base, from ai_guard.masked_views. */
static List *
masked_views_of(Oid base)
{
	Oid			owner;
	AgOwnerContext s;
	List	   *views = NIL;
	MemoryContext outer = CurrentMemoryContext;
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	values[0] = ObjectIdGetDatum(base);
	extension_info(NULL, NULL, &owner);
	ai_guard_become_owner(owner, &s);
	PG_TRY();
	{
		uint64		k;

		SPI_connect();
		spi_exec("SELECT view::pg_catalog.oid FROM ai_guard.masked_views "
				 "WHERE base::pg_catalog.oid = $1 ORDER BY 1",
				 1, types, values, false);
		for (k = 0; k < SPI_processed; k++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[k],
										  SPI_tuptable->tupdesc, 1, &isnull);
			MemoryContext old = MemoryContextSwitchTo(outer);

			views = lappend_oid(views, DatumGetObjectId(d));
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&s);
	}
	PG_END_TRY();
	return views;
}

static void regenerate_masked_views(Oid base);

/* After track() or untrack(): the views take up or drop the consent rule */
void
ai_guard_refresh_masked_views(Oid base)
{
	if (!in_regeneration)
		regenerate_masked_views(base);
}

/* Rebuilds every masked view of base (after a label or column change). */
static void
regenerate_masked_views(Oid base)
{
	List	   *views = masked_views_of(base);
	ListCell   *lc;

	foreach(lc, views)
	{
		Oid			view = lfirst_oid(lc);
		char	   *name = get_rel_name(view);
		char	   *schema;
		HeapTuple	tup;
		Oid			owner;

		if (name == NULL)
			continue;			/* gone: sql_drop forgets it */
		schema = get_namespace_name(get_rel_namespace(view));
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(view));
		if (!HeapTupleIsValid(tup))
			continue;
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
		build_masked_view(base, schema, name, owner, view);
	}
}

/* SQL function: ai_guard.create_masked_view(regclass, name) */
PG_FUNCTION_INFO_V1(ai_guard_create_masked_view);
Datum
ai_guard_create_masked_view(PG_FUNCTION_ARGS)
{
	Oid			base = PG_GETARG_OID(0);
	char	   *schema = NameStr(*PG_GETARG_NAME(1));
	char	   *name;
	char		relkind;
	Oid			nsp;
	Oid			existing;
	List	   *views;

	name = get_rel_name(base);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", base)));
	relkind = get_rel_relkind(base);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_FOREIGN_TABLE && relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", name)));
	if (!pg_class_ownercheck(base, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", name)));
	nsp = get_namespace_oid(schema, false);
	if (nsp == get_rel_namespace(base))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a masked view must be in a schema other than its table's")));

	/* an existing masked view of this table is rebuilt in place */
	existing = get_relname_relid(name, nsp);
	views = masked_views_of(base);
	if (OidIsValid(existing) && !list_member_oid(views, existing))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s.%s\" already exists and is not a masked view of \"%s\"",
						schema, name, name)));
	PG_RETURN_OID(build_masked_view(base, schema, name, GetUserId(),
									existing));
}

/*---- event triggers ----*/

static bool
alter_drops_columns(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_DropColumn ||
			cmd->subtype == AT_AlterColumnType)
			return true;
	}
	return false;
}

static bool
alter_changes_columns(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_AddColumn || cmd->subtype == AT_DropColumn ||
			cmd->subtype == AT_AlterColumnType)
			return true;
	}
	return false;
}

/*
 * Views that would block the command (DROP COLUMN, ALTER COLUMN TYPE of a
 * column they read) are dropped here and rebuilt at ddl_command_end; the
 * registry keeps them, under their old OID, in between.
 */
static void
drop_masked_views_for_alter(Oid base)
{
	List	   *views = masked_views_of(base);
	ListCell   *lc;

	foreach(lc, views)
	{
		Oid			view = lfirst_oid(lc);
		char	   *name = get_rel_name(view);
		HeapTuple	tup;
		Oid			owner;
		AgOwnerContext s;
		bool		save_regen = in_regeneration;
		Oid			types[4] = {OIDOID, NAMEOID, NAMEOID, NAMEOID};
		Datum		values[4];

		if (name == NULL)
			continue;
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(view));
		if (!HeapTupleIsValid(tup))
			continue;
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);

		/* remember where it was and whose it was */
		values[0] = ObjectIdGetDatum(view);
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(get_rel_namespace(view))));
		values[2] = DirectFunctionCall1(namein, CStringGetDatum(name));
		values[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(owner, false)));
		exec_as_owner("UPDATE ai_guard.masked_views SET dropped_schema = $2, "
					  "dropped_name = $3, dropped_owner = $4 "
					  "WHERE view::pg_catalog.oid = $1",
					  4, types, values);

		in_regeneration = true;
		ai_guard_become_owner(owner, &s);
		PG_TRY();
		{
			SPI_connect();
			spi_exec(psprintf("DROP VIEW %s",
							  quote_qualified_identifier((char *) DatumGetCString(values[1]),
														 name)),
					 0, NULL, NULL, false);
			SPI_finish();
		}
		PG_FINALLY();
		{
			ai_guard_restore_caller(&s);
			in_regeneration = save_regen;
		}
		PG_END_TRY();
	}
}

/* Rebuilds views dropped by drop_masked_views_for_alter. */
static void
rebuild_dropped_views(Oid base)
{
	Oid			owner_ext;
	AgOwnerContext s;
	List	   *rows = NIL;
	MemoryContext outer = CurrentMemoryContext;
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	ListCell   *lc;

	values[0] = ObjectIdGetDatum(base);
	extension_info(NULL, NULL, &owner_ext);
	ai_guard_become_owner(owner_ext, &s);
	PG_TRY();
	{
		uint64		k;

		SPI_connect();
		spi_exec("SELECT view::pg_catalog.oid, dropped_schema::pg_catalog.text, "
				 "dropped_name::pg_catalog.text, dropped_owner::pg_catalog.text "
				 "FROM ai_guard.masked_views "
				 "WHERE base::pg_catalog.oid = $1 AND dropped_name IS NOT NULL",
				 1, types, values, false);
		for (k = 0; k < SPI_processed; k++)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);
			char	  **row = palloc(4 * sizeof(char *));
			int			c;

			for (c = 0; c < 4; c++)
				row[c] = SPI_getvalue(SPI_tuptable->vals[k],
									  SPI_tuptable->tupdesc, c + 1);
			rows = lappend(rows, row);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&s);
	}
	PG_END_TRY();

	foreach(lc, rows)
	{
		char	  **row = (char **) lfirst(lc);
		Oid			old_view = (Oid) strtoul(row[0], NULL, 10);
		Oid			owner = get_role_oid(row[3], false);

		build_masked_view(base, row[1], row[2], owner, old_view);
	}
}

static Oid
rangevar_relid(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/* SQL function: ai_guard._masking_ddl_start() (event trigger) */
PG_FUNCTION_INFO_V1(ai_guard_masking_ddl_start);
Datum
ai_guard_masking_ddl_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
	if (in_regeneration)
		PG_RETURN_VOID();
	trig = (EventTriggerData *) fcinfo->context;
	parsetree = trig->parsetree;

	if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
		Oid			relid;

		if (!alter_changes_columns(stmt))
			PG_RETURN_VOID();
		relid = rangevar_relid(stmt->relation);
		if (!OidIsValid(relid))
			PG_RETURN_VOID();
		/* PostgreSQL checks ownership later; do nothing for others at all */
		if (!pg_class_ownercheck(relid, GetUserId()))
			PG_RETURN_VOID();
		if (alter_drops_columns(stmt))
			drop_masked_views_for_alter(relid);
		add_pending(relid);
	}
	else if (IsA(parsetree, RenameStmt))
	{
		RenameStmt *stmt = (RenameStmt *) parsetree;
		Oid			relid;

		if (stmt->renameType != OBJECT_COLUMN)
			PG_RETURN_VOID();
		relid = rangevar_relid(stmt->relation);
		if (OidIsValid(relid))
			add_pending(relid);
	}
	PG_RETURN_VOID();
}

/* SQL function: ai_guard._masking_ddl_end() (event trigger) */
PG_FUNCTION_INFO_V1(ai_guard_masking_ddl_end);
Datum
ai_guard_masking_ddl_end(PG_FUNCTION_ARGS)
{
	List	   *todo;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
	if (in_regeneration || pending_relids == NIL)
		PG_RETURN_VOID();
	todo = list_copy(pending_relids);
	pending_relids = NIL;
	foreach(lc, todo)
	{
		Oid			base = lfirst_oid(lc);

		if (get_rel_name(base) == NULL)
			continue;
		/* a label changed: statistics of non-public columns go */
		if (ai_guard_is_governed(base))
			ai_guard_strip_statistics(base, true);
		rebuild_dropped_views(base);
		regenerate_masked_views(base);
	}
	PG_RETURN_VOID();
}

/* SQL function: ai_guard._masking_sql_drop() (event trigger) */
PG_FUNCTION_INFO_V1(ai_guard_masking_sql_drop);
Datum
ai_guard_masking_sql_drop(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
	if (in_regeneration)
		PG_RETURN_VOID();

	/*
	 * Dropped masked views, and masked views whose base table went, leave the
	 * registry and governed_relations.  The dropped OIDs are read first, as
	 * the current user (pg_event_trigger_dropped_objects is per command).
	 */
	{
		List	   *oids = NIL;
		ListCell   *lc;
		MemoryContext outer = CurrentMemoryContext;
		uint64		k;
		int			nest = ai_guard_pin_search_path();

		SPI_connect();
		spi_exec("SELECT objid FROM pg_catalog.pg_event_trigger_dropped_objects() "
				 "WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
				 "AND objsubid = 0",
				 0, NULL, NULL, false);
		for (k = 0; k < SPI_processed; k++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[k],
										  SPI_tuptable->tupdesc, 1, &isnull);
			MemoryContext old = MemoryContextSwitchTo(outer);

			oids = lappend_oid(oids, DatumGetObjectId(d));
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
		AtEOXact_GUC(true, nest);

		if (oids != NIL)
		{
			Datum	   *elems = palloc(list_length(oids) * sizeof(Datum));
			Oid			types[1] = {OIDARRAYOID};
			Datum		values[1];
			int			k2 = 0;

			foreach(lc, oids)
				elems[k2++] = ObjectIdGetDatum(lfirst_oid(lc));
			values[0] = PointerGetDatum(construct_array(elems, k2, OIDOID,
														sizeof(Oid), true,
														TYPALIGN_INT));
			exec_as_owner("DELETE FROM ai_guard.governed_relations g "
						  "USING ai_guard.masked_views m "
						  "WHERE g.reason = 'masked_view' AND g.rel = m.view "
						  "AND (m.view::pg_catalog.oid = ANY ($1) "
						  "OR m.base::pg_catalog.oid = ANY ($1))",
						  1, types, values);
			exec_as_owner("DELETE FROM ai_guard.masked_views "
						  "WHERE (view::pg_catalog.oid = ANY ($1) AND dropped_name IS NULL) "
						  "OR base::pg_catalog.oid = ANY ($1)",
						  1, types, values);
		}
	}
	PG_RETURN_VOID();
}

/*---- grant_masked_access, revoke_masked_access ----*/

static void
require_superuser(const char *fn)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", fn),
				 errdetail("Only superusers may grant or revoke masked access.")));
}

/* (view, base) pairs of every masked view, as "schema.name" strings */
static List *
all_masked_views(void)
{
	Oid			owner;
	AgOwnerContext s;
	List	   *rows = NIL;
	MemoryContext outer = CurrentMemoryContext;

	extension_info(NULL, NULL, &owner);
	ai_guard_become_owner(owner, &s);
	PG_TRY();
	{
		uint64		k;

		SPI_connect();
		spi_exec("SELECT view::pg_catalog.oid, base::pg_catalog.oid "
				 "FROM ai_guard.masked_views WHERE dropped_name IS NULL",
				 0, NULL, NULL, false);
		for (k = 0; k < SPI_processed; k++)
		{
			bool		isnull;
			MemoryContext old = MemoryContextSwitchTo(outer);
			Oid		   *pair = palloc(2 * sizeof(Oid));

			pair[0] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[k],
													 SPI_tuptable->tupdesc, 1, &isnull));
			pair[1] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[k],
													 SPI_tuptable->tupdesc, 2, &isnull));
			rows = lappend(rows, pair);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&s);
	}
	PG_END_TRY();
	return rows;
}

static char *
qualified_rel(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* SQL function: ai_guard.grant_masked_access(regrole) */
PG_FUNCTION_INFO_V1(ai_guard_grant_masked_access);
Datum
ai_guard_grant_masked_access(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);
	char	   *rolname;
	List	   *views;
	ListCell   *lc;
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	require_superuser("grant_masked_access");
	rolname = GetUserNameFromId(role, false);
	if (superuser_arg(role))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot restrict superuser \"%s\" to masked views", rolname)));
	values[0] = ObjectIdGetDatum(role);
	exec_as_owner("INSERT INTO ai_guard.masked_access (role) "
				  "VALUES ($1::pg_catalog.regrole) ON CONFLICT DO NOTHING",
				  1, types, values);

	views = all_masked_views();
	SPI_connect();
	foreach(lc, views)
	{
		Oid		   *pair = (Oid *) lfirst(lc);

		if (get_rel_name(pair[0]) == NULL || get_rel_name(pair[1]) == NULL)
			continue;
		spi_exec(psprintf("GRANT USAGE ON SCHEMA %s TO %s",
						  quote_identifier(get_namespace_name(get_rel_namespace(pair[0]))),
						  quote_identifier(rolname)), 0, NULL, NULL, false);
		spi_exec(psprintf("GRANT SELECT ON %s TO %s", qualified_rel(pair[0]),
						  quote_identifier(rolname)), 0, NULL, NULL, false);
		/* nothing of the base table: its direct grants go */
		spi_exec(psprintf("REVOKE ALL ON %s FROM %s", qualified_rel(pair[1]),
						  quote_identifier(rolname)), 0, NULL, NULL, false);
	}
	SPI_finish();

	/* and it must not reach a base table some other way */
	foreach(lc, views)
	{
		Oid		   *pair = (Oid *) lfirst(lc);

		if (get_rel_name(pair[1]) == NULL)
			continue;
		if (pg_class_aclcheck(pair[1], role, ACL_SELECT) == ACLCHECK_OK ||
			pg_attribute_aclcheck_all(pair[1], role, ACL_SELECT, ACLMASK_ANY) == ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_GRANT_OPERATION),
					 errmsg("role \"%s\" can still read table %s", rolname,
							qualified_rel(pair[1])),
					 errdetail("The privilege comes from PUBLIC or from a role \"%s\" is a member of.",
							   rolname),
					 errhint("Revoke that privilege, then grant masked access again.")));
	}
	PG_RETURN_VOID();
}

/* SQL function: ai_guard.revoke_masked_access(regrole) */
PG_FUNCTION_INFO_V1(ai_guard_revoke_masked_access);
Datum
ai_guard_revoke_masked_access(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);
	char	   *rolname;
	List	   *views;
	ListCell   *lc;
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	require_superuser("revoke_masked_access");
	rolname = GetUserNameFromId(role, false);
	values[0] = ObjectIdGetDatum(role);
	exec_as_owner("DELETE FROM ai_guard.masked_access "
				  "WHERE role::pg_catalog.oid = $1", 1, types, values);
	views = all_masked_views();
	SPI_connect();
	foreach(lc, views)
	{
		Oid		   *pair = (Oid *) lfirst(lc);

		if (get_rel_name(pair[0]) == NULL)
			continue;
		spi_exec(psprintf("REVOKE ALL ON %s FROM %s", qualified_rel(pair[0]),
						  quote_identifier(rolname)), 0, NULL, NULL, false);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*---- scan_table, apply_classification ----*/

typedef struct column_scan
{
	char	   *name;
	AttrNumber	attnum;
	int64		nonnull;
	int64		whole[AG_PII_NKINDS];	/* values that are one finding */
	int64		contains;		/* values with at least one finding */
	int64		total_len;
	const char *label;			/* the suggestion, or NULL */
	const char *basis;
	double		ratio;
} column_scan;

typedef struct whole_state
{
	int			n;
	ag_pii_finding first;
} whole_state;

static bool
whole_cb(const ag_pii_finding *f, void *arg)
{
	whole_state *st = (whole_state *) arg;

	if (st->n++ == 0)
		st->first = *f;
	return st->n < 2;
}

/* What a column's name suggests: "email", "name", ...; NULL if nothing. */
static const char *
kind_from_name(const char *colname)
{
	static const struct
	{
		const char *token;
		const char *kind;
	}			tokens[] = {
		{"email", "email"}, {"mail", "email"}, {"emailaddress", "email"},
		{"phone", "phone"}, {"mobile", "phone"}, {"tel", "phone"},
		{"telephone", "phone"}, {"fax", "phone"}, {"cell", "phone"},
		{"card", "card"}, {"cc", "card"}, {"pan", "card"}, {"creditcard", "card"},
		{"iban", "iban"}, {"ssn", "ssn"},
		{"name", "name"}, {"firstname", "name"}, {"lastname", "name"},
		{"fullname", "name"}, {"surname", "name"},
		{"street", "address"}, {"address", "address"}, {"addr", "address"},
		{"city", "address"}, {"zip", "address"}, {"postcode", "address"},
		{"postal", "address"},
		{"birth", "birth_date"}, {"dob", "birth_date"},
		{"birthday", "birth_date"}, {"birthdate", "birth_date"},
		{"ip", "ip"},
		{"body", "free_text"}, {"comment", "free_text"},
		{"comments", "free_text"}, {"note", "free_text"}, {"notes", "free_text"},
		{"message", "free_text"}, {"description", "free_text"},
		{"subject", "free_text"},
	};
	char	   *lower = asc_tolower(colname, strlen(colname));
	char	   *tok;
	char	   *save = NULL;
	int			k;

	for (tok = strtok_r(lower, "_ -.", &save); tok != NULL;
		 tok = strtok_r(NULL, "_ -.", &save))
	{
		for (k = 0; k < (int) lengthof(tokens); k++)
			if (strcmp(tok, tokens[k].token) == 0)
				return tokens[k].kind;
	}
	return NULL;
}

/* Samples up to sample_rows rows of relid and suggests a label per column. */
static List *
scan_columns(Oid relid, int32 sample_rows)
{
	Relation	rel;
	TupleDesc	desc;
	List	   *cols = NIL;
	StringInfoData sql;
	ListCell   *lc;
	int			i;
	uint64		r;
	MemoryContext outer = CurrentMemoryContext;
	char	   *relname;

	if (sample_rows < 1 || sample_rows > MAX_SAMPLE_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_rows must be between 1 and %d", MAX_SAMPLE_ROWS)));
	relname = get_rel_name(relid);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		column_scan *c;

		if (att->attisdropped)
			continue;
		c = palloc0(sizeof(column_scan));
		c->name = pstrdup(NameStr(att->attname));
		c->attnum = att->attnum;
		appendStringInfo(&sql, "%sCAST(t.%s AS pg_catalog.text)",
						 cols == NIL ? "" : ", ",
						 quote_identifier(c->name));
		cols = lappend(cols, c);
	}
	appendStringInfo(&sql, " FROM %s t LIMIT %d", qualified_rel(relid),
					 sample_rows);
	relation_close(rel, AccessShareLock);
	if (cols == NIL)
		return NIL;

	/* as the caller: reading the sample needs SELECT on the table */
	SPI_connect();
	spi_exec(sql.data, 0, NULL, NULL, false);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];

		i = 0;
		foreach(lc, cols)
		{
			column_scan *c = (column_scan *) lfirst(lc);
			bool		isnull;
			Datum		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, ++i, &isnull);
			text	   *t;
			const char *s;
			size_t		len,
						b,
						e;
			whole_state ws = {0};

			if (isnull)
				continue;
			t = DatumGetTextPP(d);
			s = VARDATA_ANY(t);
			len = VARSIZE_ANY_EXHDR(t);
			c->nonnull++;
			c->total_len += len;
			for (b = 0; b < len && s[b] == ' '; b++);
			for (e = len; e > b && s[e - 1] == ' '; e--);
			ag_pii_scan(s + b, e - b, whole_cb, &ws);
			if (ws.n == 1 && ws.first.start == 0 && ws.first.len == e - b)
				c->whole[ws.first.kind]++;
			if (ws.n > 0)
				c->contains++;
		}
	}
	SPI_finish();

	foreach(lc, cols)
	{
		column_scan *c = (column_scan *) lfirst(lc);
		const char *by_name = kind_from_name(c->name);
		int			best = 0;
		int			k;
		double		best_ratio;
		double		contains_ratio;
		double		avg_len;
		MemoryContext old = MemoryContextSwitchTo(outer);

		for (k = 1; k < AG_PII_NKINDS; k++)
			if (c->whole[k] > c->whole[best])
				best = k;
		best_ratio = c->nonnull ? (double) c->whole[best] / c->nonnull : 0;
		contains_ratio = c->nonnull ? (double) c->contains / c->nonnull : 0;
		avg_len = c->nonnull ? (double) c->total_len / c->nonnull : 0;

		if (best_ratio >= 0.5)
		{
			const char *kind = ag_pii_kind_class((ag_pii_kind) best);

			c->label = psprintf("pii:%s", kind);
			c->basis = (by_name && strcmp(by_name, kind) == 0) ?
				"name and content" : "content";
			c->ratio = best_ratio;
		}
		else if (contains_ratio >= 0.05 && avg_len >= 24 &&
				 (by_name == NULL || strcmp(by_name, "free_text") == 0))
		{
			c->label = "pii:free_text";
			c->basis = by_name ? "name and content" : "content";
			c->ratio = contains_ratio;
		}
		else if (by_name != NULL)
		{
			c->label = psprintf("pii:%s", by_name);
			c->basis = "name";
			c->ratio = best_ratio;
		}
		MemoryContextSwitchTo(old);
	}
	return cols;
}

/* SQL function: ai_guard.scan_table(regclass, integer) */
PG_FUNCTION_INFO_V1(ai_guard_scan_table);
Datum
ai_guard_scan_table(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *cols;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	cols = scan_columns(PG_GETARG_OID(0), PG_GETARG_INT32(1));
	foreach(lc, cols)
	{
		column_scan *c = (column_scan *) lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = DirectFunctionCall1(namein, CStringGetDatum(c->name));
		if (c->label)
		{
			values[1] = CStringGetTextDatum(c->label);
			values[2] = CStringGetTextDatum(c->basis);
		}
		else
			nulls[1] = nulls[2] = true;
		values[3] = Float8GetDatum(round(c->ratio * 1000.0) / 1000.0);
		values[4] = Int64GetDatum(c->nonnull);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* SQL function: ai_guard.apply_classification(regclass, integer) */
PG_FUNCTION_INFO_V1(ai_guard_apply_classification);
Datum
ai_guard_apply_classification(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	List	   *cols;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid))));
	cols = scan_columns(relid, PG_GETARG_INT32(1));
	foreach(lc, cols)
	{
		column_scan *c = (column_scan *) lfirst(lc);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		/* labels already set, by hand or earlier, are kept */
		if (c->label == NULL || column_label(relid, c->attnum) != NULL)
			continue;
		SPI_connect();
		spi_exec(psprintf("SECURITY LABEL FOR ai_guard ON COLUMN %s.%s IS %s",
						  qualified_rel(relid), quote_identifier(c->name),
						  quote_literal_cstr(c->label)),
				 0, NULL, NULL, false);
		SPI_finish();
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(c->name));
		values[1] = CStringGetTextDatum(c->label);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*---- masked views are defined by ai_guard only ----*/

/* The masked view a hand-written statement would change, or InvalidOid */
static Oid
statement_masked_view(Node *stmt)
{
	RangeVar   *rv = NULL;

	switch (nodeTag(stmt))
	{
		case T_ViewStmt:
			if (((ViewStmt *) stmt)->replace)
				rv = ((ViewStmt *) stmt)->view;
			break;
		case T_AlterTableStmt:
			rv = ((AlterTableStmt *) stmt)->relation;
			break;
		case T_RuleStmt:
			rv = ((RuleStmt *) stmt)->relation;
			break;
		case T_CreateTrigStmt:
			rv = ((CreateTrigStmt *) stmt)->relation;
			break;
		case T_RenameStmt:
			if (((RenameStmt *) stmt)->renameType == OBJECT_COLUMN)
				rv = ((RenameStmt *) stmt)->relation;
			break;
		case T_DropStmt:
			{
				DropStmt   *d = (DropStmt *) stmt;
				ListCell   *lc;

				if (d->removeType != OBJECT_VIEW)
					return InvalidOid;
				foreach(lc, d->objects)
				{
					Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)),
														 NoLock, true);

					if (OidIsValid(relid) && ai_guard_is_masked_view(relid))
						return relid;
				}
				return InvalidOid;
			}
		default:
			return InvalidOid;
	}
	if (rv == NULL)
		return InvalidOid;
	{
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);

		return (OidIsValid(relid) && ai_guard_is_masked_view(relid)) ? relid : InvalidOid;
	}
}

/* true while drop_masked_view() drops one (the sql_drop trigger forgets it) */
static bool dropping_masked_view = false;

void
ai_guard_masked_view_guard(Node *stmt)
{
	Oid			view;

	if (in_regeneration || dropping_masked_view)
		return;
	view = statement_masked_view(stmt);
	if (!OidIsValid(view))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("masked view %s is defined by ai_guard and cannot be changed by hand",
					ai_guard_qualified_name(view)),
			 errdetail("A masked view follows the security labels of its table; a definition written by hand could show raw values under a masked name."),
			 errhint("Change the labels (SECURITY LABEL FOR ai_guard), rebuild it with ai_guard.create_masked_view(), or remove it with ai_guard.drop_masked_view().")));
}

/* SQL function: ai_guard.drop_masked_view(regclass) */
PG_FUNCTION_INFO_V1(ai_guard_drop_masked_view);
Datum
ai_guard_drop_masked_view(PG_FUNCTION_ARGS)
{
	Oid			view = PG_GETARG_OID(0);
	Oid			owner;
	AgOwnerContext s;
	bool		save_dropping = dropping_masked_view;
	char	   *name = get_rel_name(view);

	if (name == NULL || !ai_guard_is_masked_view(view))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation with OID %u is not a masked view", view)));
	if (!pg_class_ownercheck(view, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_VIEW, name);
	owner = ai_guard_relation_owner(view);
	dropping_masked_view = true;
	ai_guard_become_owner(owner, &s);
	PG_TRY();
	{
		SPI_connect();
		spi_exec(psprintf("DROP VIEW %s", ai_guard_qualified_name(view)), 0, NULL, NULL, false);
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&s);
		dropping_masked_view = save_dropping;
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}
