/*-------------------------------------------------------------------------
 *
 * governance_log.h
 *		Every change to governance is an entry of the audit hash chain.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_GOVERNANCE_LOG_H
#define AI_GUARD_GOVERNANCE_LOG_H

#include "nodes/parsenodes.h"

/*
 * Records one change of governance in ai_guard.governance_log and the audit
 * chain, committed by the audit writer before this returns (the change
 * itself commits or aborts with the caller's transaction, whose id the
 * record keeps).  catalog: what kind of thing changed (a table of ai_guard,
 * 'security label', 'setting', 'ddl'); operation; object: which one;
 * before/after: JSON text or NULL.  Fails closed: raises an error if the
 * record cannot be written (ai_guard.audit_failure = warn: a warning).
 */
extern void ai_guard_govlog_record(const char *catalog, const char *operation,
								   const char *object, const char *before,
								   const char *after);

/*
 * The reason given to the SQL function making the changes recorded next
 * (ungovern, declassify); NULL clears it.
 */
extern void ai_guard_govlog_set_reason(const char *reason);

/*
 * Records the utility statements that change governance without touching
 * ai_guard's tables: settings that loosen enforcement, and DDL that moves,
 * renames or re-parents a governed relation or changes its row security.
 * Called before the statement runs (its transaction decides the outcome).
 */
extern void ai_guard_govlog_utility(Node *stmt, bool (*governed) (Oid relid));

/*
 * Could the statement change governance (or a masked view)?  A cheap test
 * on its kind and, for SET, the setting's name, so that other statements
 * do not even look at the governed set (which may be locked).
 */
extern bool ai_guard_govlog_may_record(Node *stmt);

/* A JSON string literal of s (for before/after values) */
extern char *ai_guard_json_string(const char *s);

#endif							/* AI_GUARD_GOVERNANCE_LOG_H */
