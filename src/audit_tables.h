/*-------------------------------------------------------------------------
 *
 * audit_tables.h
 *		The audit writer runs no code but ai_guard's and PostgreSQL's
 *		(audit_tables.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_AUDIT_TABLES_H
#define AI_GUARD_AUDIT_TABLES_H

/*
 * Locks the audit tables for the writer's batch and raises an error if
 * code other than ai_guard's or PostgreSQL's is attached to any of them.
 */
extern void ai_guard_check_audit_tables(void);

#endif							/* AI_GUARD_AUDIT_TABLES_H */
