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

/* Rebuilds the masked views of base (its consent rule changed). */
extern void ai_guard_refresh_masked_views(Oid base);

#endif							/* AI_GUARD_MASKING_SQL_H */
