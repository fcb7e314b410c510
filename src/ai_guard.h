/*-------------------------------------------------------------------------
 *
 * ai_guard.h
 *		Declarations shared by the PostgreSQL glue files of ai_guard.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_H
#define AI_GUARD_H

/* GUC variables (ai_guard.c) */
extern char *ai_guard_purpose;

#endif							/* AI_GUARD_H */
