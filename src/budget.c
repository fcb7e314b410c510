/*-------------------------------------------------------------------------
 *
 * budget.c
 *		Row budgets: how many governed rows a role may pull for a purpose per
 *		interval (ai_guard.budgets, set with ai_guard.set_budget()).
 *
 * The audit asks ai_guard_budget_left() before a pull starts: a role whose
 * budget is used up is refused (and the refusal recorded); otherwise the
 * pull may deliver at most the rows left, and is stopped, recorded as
 * refused, at the first row beyond.  The audit writer sends every budget
 * refusal on the notification channel ai_guard_alerts.
 *
 * Consumption is the rows of the role's finished pulls (ai_guard.pulls) in
 * the interval (one more for a failed pull, the value its error may quote:
 * ai_guard._pull_charge), for the budget's purpose or any purpose of its
 * class.  Pulls still running are not counted, so concurrent pulls of one role can
 * overrun a budget by what they deliver together.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ai_guard.h"
#include "audit_writer.h"
#include "budget.h"
#include "digest.h"

#define AG_SCHEMA "ai_guard"

/* Does a budget for bpurpose (a class or a full purpose) cover purpose? */
static bool
budget_covers(const char *bpurpose, const char *purpose)
{
	int			class_len = ag_purpose_class_len(purpose, strlen(purpose));

	return strcmp(bpurpose, purpose) == 0 ||
		(class_len > 0 && strlen(bpurpose) == (size_t) class_len &&
		 strncmp(bpurpose, purpose, class_len) == 0);
}

int64
ai_guard_budget_left(const char *role, const char *purpose, char **detail)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	TupleDesc	desc;
	bool		any = false;
	int64		left = -1;
	AgOwnerContext oc;
	MemoryContext outer = CurrentMemoryContext;

	*detail = NULL;
	if (purpose == NULL || *purpose == '\0' || !OidIsValid(nsp))
		return -1;
	relid = get_relname_relid("budgets", nsp);
	if (!OidIsValid(relid))
		return -1;

	/* the common case, no budget for this role: one scan of a small table */
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	snap = RegisterSnapshot(GetCatalogSnapshot(relid));
	scan = table_beginscan(rel, snap, 0, NULL);
	while (!any && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		n1,
					n2;
		Datum		r = heap_getattr(tup, 1, desc, &n1);
		Datum		p = heap_getattr(tup, 2, desc, &n2);

		if (!n1 && !n2 && strcmp(NameStr(*DatumGetName(r)), role) == 0 &&
			budget_covers(TextDatumGetCString(p), purpose))
			any = true;
	}
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	if (!any)
		return -1;

	/* this session's last pulls count: wait until their records are written */
	{
		AgAuditMsg	msg;
		const char *why;
		int64		dummy;

		ai_guard_audit_msg_init(&msg, AG_MSG_SYNC);
		if (!ai_guard_audit_submit(&msg, true, &dummy, &why))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not check the row budget of role \"%s\"", role),
					 errdetail("%s.", why)));
	}

	/* the least left under every budget that applies */
	ai_guard_become_owner(ai_guard_relation_owner(relid), &oc);
	PG_TRY();
	{
		Oid			types[2] = {NAMEOID, TEXTOID};
		Datum		values[2];
		uint64		k;

		values[0] = DirectFunctionCall1(namein, CStringGetDatum(role));
		values[1] = CStringGetTextDatum(purpose);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args(
								  "SELECT b.purpose, b.max_rows, b.per::pg_catalog.text,"
								  "  COALESCE((SELECT pg_catalog.sum(ai_guard._pull_charge(p)) FROM ai_guard.pulls p"
								  "   WHERE p.\"current_role\" OPERATOR(pg_catalog.=) b.role"
								  "     AND p.started_at OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) b.per)"
								  "     AND (p.purpose OPERATOR(pg_catalog.=) b.purpose OR"
								  "          pg_catalog.split_part(p.purpose, ':', 1) OPERATOR(pg_catalog.=) b.purpose)),"
								  "   0)::pg_catalog.int8"
								  "  FROM ai_guard.budgets b"
								  " WHERE b.role OPERATOR(pg_catalog.=) $1",
								  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the row budgets");
		for (k = 0; k < SPI_processed; k++)
		{
			HeapTuple	row = SPI_tuptable->vals[k];
			TupleDesc	rd = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *bpurpose = SPI_getvalue(row, rd, 1);
			int64		max_rows = DatumGetInt64(SPI_getbinval(row, rd, 2, &isnull));
			char	   *per = SPI_getvalue(row, rd, 3);
			int64		used = DatumGetInt64(SPI_getbinval(row, rd, 4, &isnull));
			int64		l = Max(max_rows - used, 0);

			if (bpurpose == NULL || !budget_covers(bpurpose, purpose))
				continue;
			if (left < 0 || l < left)
			{
				MemoryContext old = MemoryContextSwitchTo(outer);

				left = l;
				*detail = psprintf("role %s may pull " INT64_FORMAT " rows per %s for purpose %s and has pulled " INT64_FORMAT,
								   role, max_rows, per, bpurpose, used);
				MemoryContextSwitchTo(old);
			}
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&oc);
	}
	PG_END_TRY();
	return left;
}

/*------------------------------------------------------------------------
 * SQL functions
 *------------------------------------------------------------------------
 */

static uint64
budget_sql(const char *sql, int nargs, Oid *types, Datum *values)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, false);
	Oid			relid = get_relname_relid("budgets", nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("ai_guard.budgets does not exist")));
	return ai_guard_exec_as_owner(ai_guard_relation_owner(relid), sql,
								  nargs, types, values, NULL);
}

/* SQL function: ai_guard.set_budget(regrole, text, int8, interval) */
PG_FUNCTION_INFO_V1(ai_guard_set_budget);
Datum
ai_guard_set_budget(PG_FUNCTION_ARGS)
{
	Datum		role = ai_guard_role_name_arg(fcinfo, 0);
	char	   *purpose = ai_guard_purpose_arg(fcinfo, 1);
	Interval   *per;
	Oid			types[5] = {NAMEOID, TEXTOID, INT8OID, INTERVALOID, NAMEOID};
	Datum		values[5];

	if (PG_ARGISNULL(2) || PG_GETARG_INT64(2) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be zero or more")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the budget's interval must not be NULL")));
	per = PG_GETARG_INTERVAL_P(3);
	if (per->time <= 0 && per->day <= 0 && per->month <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the budget's interval must be positive")));
	if (per->time < 0 || per->day < 0 || per->month < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the budget's interval must not have negative parts")));
	values[0] = role;
	values[1] = CStringGetTextDatum(purpose);
	values[2] = PG_GETARG_DATUM(2);
	values[3] = PointerGetDatum(per);
	values[4] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	(void) budget_sql("INSERT INTO ai_guard.budgets (role, purpose, max_rows, per, set_by)"
					  " VALUES ($1, $2, $3, $4, $5)"
					  " ON CONFLICT (role, purpose) DO UPDATE"
					  " SET max_rows = EXCLUDED.max_rows, per = EXCLUDED.per,"
					  "     set_by = EXCLUDED.set_by, set_at = pg_catalog.now()",
					  5, types, values);
	PG_RETURN_VOID();
}

/* SQL function: ai_guard.drop_budget(regrole, text) */
PG_FUNCTION_INFO_V1(ai_guard_drop_budget);
Datum
ai_guard_drop_budget(PG_FUNCTION_ARGS)
{
	Datum		role = ai_guard_role_name_arg(fcinfo, 0);
	char	   *purpose = ai_guard_purpose_arg(fcinfo, 1);
	Oid			types[2] = {NAMEOID, TEXTOID};
	Datum		values[2];

	values[0] = role;
	values[1] = CStringGetTextDatum(purpose);
	PG_RETURN_BOOL(budget_sql("DELETE FROM ai_guard.budgets"
							  " WHERE role = $1 AND purpose = $2",
							  2, types, values) > 0);
}
