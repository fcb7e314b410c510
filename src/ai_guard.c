/*-------------------------------------------------------------------------
 *
 * ai_guard.c
 *		Module entry point: refuses to load unless preloaded, defines the
 *		ai_guard.* GUCs and installs the hooks of the other files.
 *
 * ai_guard keeps shared state and hooks that must exist before any backend
 * reads governed data, so the library has to come from
 * shared_preload_libraries; loading it any other way is an error, which also
 * makes CREATE EXTENSION fail cleanly on a server without the preload.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/guc.h"

#include "ai_guard.h"
#include "digest.h"
#include "crypto_sql.h"
#include "masking_sql.h"
#include "provenance.h"
#include "audit_hook.h"
#include "lineage.h"

PG_MODULE_MAGIC;

/*---- GUC variables ----*/

char	   *ai_guard_purpose = NULL;

void		_PG_init(void);

/*
 * A purpose names why data is read: a class, optionally followed by a colon
 * and a free-form detail, as in "training:churn-v3".  The class is an
 * identifier-like word so that grants and consent lists can match it.
 */
static bool
check_purpose(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;
	const char *colon;
	size_t		class_len;
	size_t		i;

	if (p == NULL || *p == '\0')
		return true;			/* unset */

	colon = strchr(p, ':');
	class_len = colon ? (size_t) (colon - p) : strlen(p);
	if (class_len == 0 || class_len > NAMEDATALEN - 1)
	{
		GUC_check_errdetail("The purpose class before \":\" must be 1 to %d characters long.",
							NAMEDATALEN - 1);
		return false;
	}
	for (i = 0; i < class_len; i++)
	{
		char		c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
		{
			GUC_check_errdetail("The purpose class may contain only lower-case letters, digits, \"_\" and \"-\".");
			GUC_check_errhint("Write the purpose as class:detail, for example \"training:churn-v3\".");
			return false;
		}
	}
	if (strlen(p) > 1024)
	{
		GUC_check_errdetail("A purpose may be at most 1024 bytes long.");
		return false;
	}
	/* it is written to audit records and logs: no control characters */
	for (; *p; p++)
	{
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
		{
			GUC_check_errdetail("A purpose may not contain control characters.");
			return false;
		}
	}
	return true;
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ai_guard must be loaded via \"shared_preload_libraries\""),
				 errhint("Add ai_guard to \"shared_preload_libraries\" in postgresql.conf and restart the server.")));

	DefineCustomStringVariable("ai_guard.purpose",
							   "Declared purpose of this session's reads of governed data.",
							   "Written as class:detail, for example \"training:churn-v3\".",
							   &ai_guard_purpose,
							   "",
							   PGC_USERSET,
							   0,
							   check_purpose,
							   NULL,
							   NULL);

	ai_guard_crypto_init();
	ai_guard_masking_init();
	ai_guard_provenance_init();
	ai_guard_audit_init();
	ai_guard_lineage_init();

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("ai_guard");
#else
	EmitWarningsOnPlaceholders("ai_guard");
#endif
}

/*
 * Switches to owner for SQL on the extension's tables. The search_path is
 * pinned to "pg_catalog, pg_temp": an operator or function that a caller
 * created in a schema of its own path would otherwise resolve ahead of
 * pg_catalog's (for argument types pg_catalog has no exact match for) and
 * run with the owner's rights. Restricted-operation mode keeps the owner's
 * session state out of reach as well. Pair with ai_guard_restore_caller(),
 * also on error (PG_FINALLY).
 */
void
ai_guard_become_owner(Oid owner, AgOwnerContext *ctx)
{
	GetUserIdAndSecContext(&ctx->save_userid, &ctx->save_sec_context);
	SetUserIdAndSecContext(owner, ctx->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ctx->save_nestlevel = ai_guard_pin_search_path();
}

/*
 * Sets search_path to "pg_catalog, pg_temp" in a new GUC nesting level and
 * returns the level, for AtEOXact_GUC(true, level) (an error unwinds it).
 */
int
ai_guard_pin_search_path(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

void
ai_guard_restore_caller(AgOwnerContext *ctx)
{
	AtEOXact_GUC(true, ctx->save_nestlevel);
	SetUserIdAndSecContext(ctx->save_userid, ctx->save_sec_context);
}

/* SQL function: ai_guard.version() */
PG_FUNCTION_INFO_V1(ai_guard_version);
Datum
ai_guard_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(AI_GUARD_VERSION));
}

/*
 * Argument checks shared by the SQL functions that take a role and a purpose
 * (grant_purpose, revoke_purpose, set_budget, drop_budget).
 */

/* A purpose argument: a class, or a class, ":" and a detail. */
char *
ai_guard_purpose_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *purpose;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("purpose must not be NULL")));
	purpose = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (ag_purpose_class_len(purpose, strlen(purpose)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid purpose"),
				 errdetail("A purpose is a class of 1 to 63 lower-case letters, digits, \"_\" or \"-\", optionally followed by \":\" and a detail, at most 1024 bytes without control characters."),
				 errhint("For example \"training\" or \"training:churn-v3\".")));
	return purpose;
}

/* A regrole argument, as the name Datum the catalogs store. */
Datum
ai_guard_role_name_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *name;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be NULL")));
	name = GetUserNameFromId(PG_GETARG_OID(argno), true);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", PG_GETARG_OID(argno))));
	return DirectFunctionCall1(namein, CStringGetDatum(name));
}

/* The owner of a relation (of the extension, for its own tables). */
Oid
ai_guard_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* schema.name of a relation, quoted as needed; its OID if it is gone */
char *
ai_guard_qualified_name(Oid relid)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *name = get_rel_name(relid);

	if (nsp == NULL || name == NULL)
		return psprintf("%u", relid);
	return quote_qualified_identifier(nsp, name);
}

/*
 * Runs sql with arguments as owner (the extension's owner, so that callers
 * need no rights on its tables), search_path pinned; returns SPI_processed.
 */
uint64
ai_guard_exec_as_owner(Oid owner, const char *sql, int nargs, Oid *types,
					   Datum *values, const char *nulls)
{
	AgOwnerContext octx;
	volatile uint64 processed = 0;

	ai_guard_become_owner(owner, &octx);
	PG_TRY();
	{
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
		if (rc < 0)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
		processed = SPI_processed;
		SPI_finish();
	}
	PG_FINALLY();
	{
		ai_guard_restore_caller(&octx);
	}
	PG_END_TRY();
	return processed;
}
