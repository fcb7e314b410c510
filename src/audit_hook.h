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

/* Defines the audit GUCs, installs the hooks and the audit writer. */
extern void ai_guard_audit_init(void);

#endif							/* AI_GUARD_AUDIT_HOOK_H */
