/*-------------------------------------------------------------------------
 *
 * masking_sql.h
 *		Masking, detection, classification and masked views: set-up entry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_MASKING_SQL_H
#define AI_GUARD_MASKING_SQL_H

#include "nodes/nodes.h"

/* Registers the "ai_guard" security label provider; called from _PG_init. */
extern void ai_guard_masking_init(void);

/* Rebuilds the masked views of base (its consent rule changed). */
extern void ai_guard_refresh_masked_views(Oid base);

/*
 * Refuses a hand-written statement that would change a masked view
 * (CREATE OR REPLACE VIEW, ALTER VIEW, CREATE RULE or TRIGGER on it,
 * renaming its columns, DROP VIEW): only ai_guard defines masked views.
 */
extern void ai_guard_masked_view_guard(Node *stmt);

#endif							/* AI_GUARD_MASKING_SQL_H */
