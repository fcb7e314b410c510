/*-------------------------------------------------------------------------
 *
 * governance_log.c
 *		Every change to governance is an entry of the audit hash chain.
 *
 * Without this, the owner of a table could ungovern() it, read it with no
 * purpose and no record, and govern() it again, leaving no trace.  So each
 * change of what is governed and how is written to ai_guard.governance_log
 * by the audit writer, as an entry of the same hash chain as the pull
 * records (verify_audit() checks both), and committed before the change
 * goes on.  The sources:
 *	- a row trigger on each of ai_guard's governance tables (governed
 *	  relations, purposes, masked access and views, keys and key grants,
 *	  encrypted and tracked relations, quarantines, tag writers, trusted
 *	  functions, budgets): what changed, before and after;
 *	- the security label provider (masking_sql.c): labels of governed
 *	  relations;
 *	- the utility hook: settings that loosen enforcement, and DDL that
 *	  renames, moves or re-parents a governed relation or changes its row
 *	  security.
 * The record is written first, by another transaction; the change commits
 * or aborts with the caller's, whose id the record keeps: the
 * governance_changes view shows the outcome from the commit log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "ai_guard.h"
#include "audit_hook.h"
#include "audit_writer.h"
#include "governance_log.h"

#define AG_SCHEMA "ai_guard"

static char *reason = NULL;		/* in TopMemoryContext */

void
ai_guard_govlog_set_reason(const char *r)
{
	if (reason)
		pfree(reason);
	reason = r ? MemoryContextStrdup(TopMemoryContext, r) : NULL;
}

char *
ai_guard_json_string(const char *s)
{
	StringInfoData buf;

	if (s == NULL)
		return NULL;
	initStringInfo(&buf);
	escape_json(&buf, s);
	return buf.data;
}

/*
 * Is there a governance log the audit writer can see?  Not before the
 * extension is updated to 0.3, and not in the transaction that creates it
 * (the writer's transaction cannot see it yet; nothing was governed before).
 */
static bool
log_exists(void)
{
	Oid			nsp = get_namespace_oid(AG_SCHEMA, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("governance_log", nsp) : InvalidOid;
	HeapTuple	tup;
	bool		visible;

	if (!OidIsValid(relid))
		return false;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return false;
	visible = !TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
	ReleaseSysCache(tup);
	return visible;
}

void
ai_guard_govlog_record(const char *catalog, const char *operation,
					   const char *object, const char *before,
					   const char *after)
{
	AgAuditMsg	msg;
	const char *why;
	int64		change_id;
	const char *restore;

	/*
	 * Not recorded: the extension's own install and update scripts, a
	 * superuser's restore of a dump (its records come with it), a standby
	 * (which changes nothing), a database whose extension predates the log.
	 */
	restore = GetConfigOption("ai_guard.audit_restore", true, false);
	if (creating_extension || ai_guard_am_audit_writer || RecoveryInProgress() ||
		(restore && strcmp(restore, "on") == 0 && superuser()) || !log_exists())
		return;

	ai_guard_audit_msg_init(&msg, AG_MSG_GOVERNANCE);
	ai_guard_audit_msg_add_int64(&msg, GetCurrentTimestamp());
	ai_guard_audit_msg_add(&msg, GetUserNameFromId(GetSessionUserId(), false));
	ai_guard_audit_msg_add(&msg, GetUserNameFromId(GetUserId(), false));
	ai_guard_audit_msg_add_int64(&msg, MyProcPid);
	ai_guard_audit_msg_add_int64(&msg,
								 (int64) U64FromFullTransactionId(GetTopFullTransactionId()));
	ai_guard_audit_msg_add(&msg, catalog);
	ai_guard_audit_msg_add(&msg, operation);
	ai_guard_audit_msg_add(&msg, object);
	ai_guard_audit_msg_add(&msg, before);
	ai_guard_audit_msg_add(&msg, after);
	ai_guard_audit_msg_add(&msg, reason);
	ai_guard_audit_msg_add(&msg, ai_guard_clip_query(debug_query_string));
	if (ai_guard_audit_submit(&msg, true, &change_id, &why))
		return;
	if (ai_guard_audit_failure == AG_AUDIT_FAILURE_REFUSE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not record a change of governance (%s %s)", catalog, operation),
				 errdetail("%s.", why),
				 errhint("Changes of governance are refused while their audit record cannot be written (ai_guard.audit_failure = refuse).")));
	ereport(WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("changing governance (%s %s) without a committed audit record",
					catalog, operation),
			 errdetail("%s.", why)));
}

/*---- the trigger on ai_guard's governance tables ----*/

/* A row as a JSON object of text values; key material (bytea) left out */
static char *
row_json(HeapTuple tup, TupleDesc desc)
{
	StringInfoData buf;
	int			i;
	bool		first = true;

	if (tup == NULL)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		d;

		if (a->attisdropped || a->atttypid == BYTEAOID)
			continue;
		d = heap_getattr(tup, i + 1, desc, &isnull);
		if (!first)
			appendStringInfoString(&buf, ", ");
		first = false;
		escape_json(&buf, NameStr(a->attname));
		appendStringInfoString(&buf, ": ");
		if (isnull)
			appendStringInfoString(&buf, "null");
		else
		{
			Oid			out;
			bool		varlena;

			getTypeOutputInfo(a->atttypid, &out, &varlena);
			escape_json(&buf, OidOutputFunctionCall(out, d));
		}
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The first column's value, as text: which relation, role, key ... */
static char *
row_object(HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, 1, desc, &isnull);
	Oid			out;
	bool		varlena;

	if (isnull)
		return NULL;
	getTypeOutputInfo(TupleDescAttr(desc, 0)->atttypid, &out, &varlena);
	return OidOutputFunctionCall(out, d);
}

/* SQL function: ai_guard._governance_changed() (trigger) */
PG_FUNCTION_INFO_V1(ai_guard_governance_changed);
Datum
ai_guard_governance_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	before = NULL;
	HeapTuple	after = NULL;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ai_guard._governance_changed() must be called as an AFTER ROW trigger")));
	desc = RelationGetDescr(td->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		op = "insert";
		after = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		op = "update";
		before = td->tg_trigtuple;
		after = td->tg_newtuple;
	}
	else
	{
		op = "delete";
		before = td->tg_trigtuple;
	}
	ai_guard_govlog_record(RelationGetRelationName(td->tg_relation), op,
						   row_object(after ? after : before, desc),
						   row_json(before, desc), row_json(after, desc));
	return PointerGetDatum(NULL);
}

/*---- utility statements ----*/

/* settings whose change loosens (or tightens) enforcement */
static const char *const enforcement_settings[] = {
	"ai_guard.require_purpose",
	"ai_guard.audit_failure",
	"ai_guard.row_membership",
	"ai_guard.refuse_untrusted_functions",
	"ai_guard.audit_unkeyed_entries",
	NULL
};

static bool
is_enforcement_setting(const char *name)
{
	int			i;

	if (name == NULL)
		return false;
	for (i = 0; enforcement_settings[i]; i++)
		if (pg_strcasecmp(name, enforcement_settings[i]) == 0)
			return true;
	return false;
}

static void
record_setting(VariableSetStmt *set, const char *operation, const char *object)
{
	char	   *value;
	const char *current;
	int			i;

	if (set == NULL)
		return;
	if (set->kind == VAR_RESET_ALL)
	{
		/* each of them that RESET ALL would change */
		for (i = 0; enforcement_settings[i]; i++)
		{
			current = GetConfigOption(enforcement_settings[i], true, false);
			if (current)
				ai_guard_govlog_record("setting", operation,
									   psprintf("%s%s%s", enforcement_settings[i],
												object ? " for " : "", object ? object : ""),
									   ai_guard_json_string(current),
									   ai_guard_json_string("DEFAULT"));
		}
		return;
	}
	if (!is_enforcement_setting(set->name))
		return;
	value = (set->kind == VAR_SET_VALUE) ? ExtractSetVariableArgs(set) : NULL;
	current = GetConfigOption(set->name, true, false);
	ai_guard_govlog_record("setting", operation,
						   psprintf("%s%s%s", set->name, object ? " for " : "",
									object ? object : ""),
						   ai_guard_json_string(current),
						   ai_guard_json_string(value ? value : "DEFAULT"));
}

static const char *
subcommand_name(AlterTableType t)
{
	switch (t)
	{
		case AT_AddInherit:
			return "inherit";
		case AT_DropInherit:
			return "no inherit";
		case AT_AttachPartition:
			return "attach partition";
		case AT_DetachPartition:
		case AT_DetachPartitionFinalize:
			return "detach partition";
		case AT_EnableRowSecurity:
			return "enable row level security";
		case AT_DisableRowSecurity:
			return "disable row level security";
		case AT_ForceRowSecurity:
			return "force row level security";
		case AT_NoForceRowSecurity:
			return "no force row level security";
		case AT_DisableTrig:
		case AT_DisableTrigAll:
		case AT_DisableTrigUser:
			return "disable trigger";
		case AT_EnableTrig:
		case AT_EnableAlwaysTrig:
		case AT_EnableReplicaTrig:
		case AT_EnableTrigAll:
		case AT_EnableTrigUser:
			return "enable trigger";
		case AT_EnableRule:
		case AT_EnableAlwaysRule:
		case AT_EnableReplicaRule:
			return "enable rule";
		case AT_DisableRule:
			return "disable rule";
		case AT_ChangeOwner:
			return "owner to";
		default:
			return NULL;
	}
}

static char *
relation_name(RangeVar *rv)
{
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);

	return OidIsValid(relid) ? ai_guard_qualified_name(relid) : NULL;
}

bool
ai_guard_govlog_may_record(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_VariableSetStmt:
			return ((VariableSetStmt *) stmt)->kind == VAR_RESET_ALL ||
				is_enforcement_setting(((VariableSetStmt *) stmt)->name);
		case T_AlterSystemStmt:
		case T_AlterRoleSetStmt:
		case T_AlterDatabaseSetStmt:
		case T_RenameStmt:
		case T_AlterObjectSchemaStmt:
		case T_AlterTableStmt:
		case T_CreatePolicyStmt:
		case T_AlterPolicyStmt:
		case T_RuleStmt:
		case T_DropStmt:
		case T_ViewStmt:
		case T_CreateTrigStmt:
		case T_ReassignOwnedStmt:
			return true;
		case T_DiscardStmt:
			return ((DiscardStmt *) stmt)->target == DISCARD_ALL;
		default:
			return false;
	}
}

void
ai_guard_govlog_utility(Node *stmt, bool (*governed) (Oid relid))
{
	Oid			relid;

	switch (nodeTag(stmt))
	{
		case T_VariableSetStmt:
			record_setting((VariableSetStmt *) stmt, "set", NULL);
			return;
		case T_AlterSystemStmt:
			record_setting(((AlterSystemStmt *) stmt)->setstmt, "alter system", NULL);
			return;
		case T_DiscardStmt:
			{
				/* DISCARD ALL resets every setting, as RESET ALL does */
				VariableSetStmt reset = {.type = T_VariableSetStmt, .kind = VAR_RESET_ALL};

				record_setting(&reset, "discard all", NULL);
				return;
			}
		case T_ReassignOwnedStmt:
			{
				ReassignOwnedStmt *s = (ReassignOwnedStmt *) stmt;
				StringInfoData roles;
				ListCell   *lc;

				/* a superuser's statement: recorded whatever it owns */
				initStringInfo(&roles);
				foreach(lc, s->roles)
					appendStringInfo(&roles, "%s%s", roles.len ? ", " : "",
									 get_rolespec_name(lfirst(lc)));
				ai_guard_govlog_record("ddl", "reassign owned", roles.data, NULL,
									   ai_guard_json_string(get_rolespec_name(s->newrole)));
				return;
			}
		case T_CreateTrigStmt:
			{
				CreateTrigStmt *s = (CreateTrigStmt *) stmt;

				relid = RangeVarGetRelid(s->relation, NoLock, true);
				if (OidIsValid(relid) && governed(relid))
					ai_guard_govlog_record("ddl", s->replace ? "create or replace trigger" :
										   "create trigger", ai_guard_qualified_name(relid),
										   NULL, ai_guard_json_string(s->trigname));
				return;
			}
		case T_AlterRoleSetStmt:
			{
				AlterRoleSetStmt *s = (AlterRoleSetStmt *) stmt;

				record_setting(s->setstmt, "alter role set",
							   s->role ? get_rolespec_name(s->role) : "all roles");
				return;
			}
		case T_AlterDatabaseSetStmt:
			record_setting(((AlterDatabaseSetStmt *) stmt)->setstmt, "alter database set",
						   ((AlterDatabaseSetStmt *) stmt)->dbname);
			return;
		case T_RenameStmt:
			{
				RenameStmt *s = (RenameStmt *) stmt;

				if (s->relation == NULL)
					return;
				relid = RangeVarGetRelid(s->relation, NoLock, true);
				if (!OidIsValid(relid) || !governed(relid))
					return;
				ai_guard_govlog_record("ddl", s->renameType == OBJECT_COLUMN ?
									   "rename column" : "rename",
									   ai_guard_qualified_name(relid),
									   ai_guard_json_string(s->subname),
									   ai_guard_json_string(s->newname));
				return;
			}
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *s = (AlterObjectSchemaStmt *) stmt;

				if (s->relation == NULL)
					return;
				relid = RangeVarGetRelid(s->relation, NoLock, true);
				if (!OidIsValid(relid) || !governed(relid))
					return;
				ai_guard_govlog_record("ddl", "set schema", ai_guard_qualified_name(relid),
									   NULL, ai_guard_json_string(s->newschema));
				return;
			}
		case T_AlterTableStmt:
			{
				AlterTableStmt *s = (AlterTableStmt *) stmt;
				ListCell   *lc;

				relid = RangeVarGetRelid(s->relation, NoLock, true);
				if (!OidIsValid(relid))
					return;
				foreach(lc, s->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
					const char *op = subcommand_name(cmd->subtype);
					Oid			other = InvalidOid;

					if (op == NULL)
						continue;
					if (cmd->subtype == AT_ChangeOwner)
					{
						if (governed(relid))
							ai_guard_govlog_record("ddl", op, ai_guard_qualified_name(relid),
												   ai_guard_json_string(GetUserNameFromId(ai_guard_relation_owner(relid), false)),
												   ai_guard_json_string(get_rolespec_name(cmd->newowner)));
						continue;
					}
					if (cmd->subtype == AT_AddInherit || cmd->subtype == AT_DropInherit)
						other = RangeVarGetRelid((RangeVar *) cmd->def, NoLock, true);
					else if (cmd->subtype == AT_AttachPartition ||
							 cmd->subtype == AT_DetachPartition ||
							 cmd->subtype == AT_DetachPartitionFinalize)
						other = RangeVarGetRelid(((PartitionCmd *) cmd->def)->name, NoLock, true);
					if (!governed(relid) && !(OidIsValid(other) && governed(other)))
						continue;
					ai_guard_govlog_record("ddl", op, ai_guard_qualified_name(relid), NULL,
										   OidIsValid(other) ?
										   ai_guard_json_string(ai_guard_qualified_name(other)) :
										   NULL);
				}
				return;
			}
		case T_CreatePolicyStmt:
			{
				CreatePolicyStmt *s = (CreatePolicyStmt *) stmt;
				char	   *rel = relation_name(s->table);

				relid = RangeVarGetRelid(s->table, NoLock, true);
				if (rel && governed(relid))
					ai_guard_govlog_record("ddl", "create policy", rel, NULL,
										   ai_guard_json_string(s->policy_name));
				return;
			}
		case T_RuleStmt:
			{
				RuleStmt   *s = (RuleStmt *) stmt;
				char	   *rel = relation_name(s->relation);

				relid = RangeVarGetRelid(s->relation, NoLock, true);
				if (rel && governed(relid))
					ai_guard_govlog_record("ddl", s->replace ? "create or replace rule" : "create rule",
										   rel, NULL, ai_guard_json_string(s->rulename));
				return;
			}
		case T_DropStmt:
			{
				DropStmt   *s = (DropStmt *) stmt;
				ListCell   *lc;
				const char *op;

				if (s->removeType == OBJECT_POLICY)
					op = "drop policy";
				else if (s->removeType == OBJECT_RULE)
					op = "drop rule";
				else if (s->removeType == OBJECT_TRIGGER)
					op = "drop trigger";
				else
					return;
				foreach(lc, s->objects)
				{
					List	   *names = (List *) lfirst(lc);

					if (list_length(names) < 2)
						continue;
					relid = RangeVarGetRelid(makeRangeVarFromNameList(list_truncate(list_copy(names),
																	   list_length(names) - 1)),
											 NoLock, true);
					if (OidIsValid(relid) && governed(relid))
						ai_guard_govlog_record("ddl", op, ai_guard_qualified_name(relid), NULL,
											   ai_guard_json_string(strVal(llast(names))));
				}
				return;
			}
		case T_AlterPolicyStmt:
			{
				AlterPolicyStmt *s = (AlterPolicyStmt *) stmt;
				char	   *rel = relation_name(s->table);

				relid = RangeVarGetRelid(s->table, NoLock, true);
				if (rel && governed(relid))
					ai_guard_govlog_record("ddl", "alter policy", rel, NULL,
										   ai_guard_json_string(s->policy_name));
				return;
			}
		default:
			return;
	}
}
