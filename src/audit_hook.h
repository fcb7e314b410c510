/*-------------------------------------------------------------------------
 *
 * audit_hook.h
 *		Executor and utility hooks of the training-pull audit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_AUDIT_HOOK_H
#define AI_GUARD_AUDIT_HOOK_H

/* GUC ai_guard.require_purpose */
extern bool ai_guard_require_purpose;

/*
 * Is purpose (or its class) granted to role, directly or by membership?
 * Answers are kept for the rest of the transaction.
 */
extern bool ai_guard_purpose_granted(Oid roleid, const char *purpose);

/* Is relid governed (itself, or as a partition of a governed table)? */
extern bool ai_guard_is_governed(Oid relid);

/* Query text as records keep it: the first AG_MAX_QUERY_TEXT bytes, "..." if cut */
extern char *ai_guard_clip_query(const char *s);

/* Defines the audit GUCs, installs the hooks and the audit writer. */
extern void ai_guard_audit_init(void);

#endif							/* AI_GUARD_AUDIT_HOOK_H */
