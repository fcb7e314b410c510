/*-------------------------------------------------------------------------
 *
 * masking_sql.h
 *		Masking, detection, classification and masked views: set-up entry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_MASKING_SQL_H
#define AI_GUARD_MASKING_SQL_H

/* Registers the "ai_guard" security label provider; called from _PG_init. */
extern void ai_guard_masking_init(void);

#endif							/* AI_GUARD_MASKING_SQL_H */
