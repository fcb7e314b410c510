/*-------------------------------------------------------------------------
 *
 * ai_guard.h
 *		Declarations shared by the PostgreSQL glue files of ai_guard.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_H
#define AI_GUARD_H

#include "fmgr.h"

/* GUC variables (ai_guard.c) */
extern char *ai_guard_purpose;

/*
 * Running SQL as the owner of the extension's tables, as a SECURITY DEFINER
 * function would: with a search_path pinned to pg_catalog, so that no
 * function or operator of the caller's schemas runs with the owner's rights.
 */
typedef struct AgOwnerContext
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} AgOwnerContext;

extern int	ai_guard_pin_search_path(void);
extern void ai_guard_become_owner(Oid owner, AgOwnerContext *ctx);
extern void ai_guard_restore_caller(AgOwnerContext *ctx);

/* argument checks and look-ups shared by the SQL functions */
extern char *ai_guard_purpose_arg(FunctionCallInfo fcinfo, int argno);
extern Datum ai_guard_role_name_arg(FunctionCallInfo fcinfo, int argno);
extern Oid	ai_guard_relation_owner(Oid relid);
extern char *ai_guard_qualified_name(Oid relid);
extern uint64 ai_guard_exec_as_owner(Oid owner, const char *sql, int nargs,
									 Oid *types, Datum *values, const char *nulls);

#endif							/* AI_GUARD_H */
