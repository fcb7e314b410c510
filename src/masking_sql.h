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
#include "postgres_ext.h"

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

/*
 * A PII label without a mask rule, with the default mask of its kind
 * written out ("pii:email" -> "pii:email mask=mask_email()"), for a column
 * of type; any other label as it is.  What masked views apply.
 */
extern char *ai_guard_effective_label(const char *label, Oid type);

#endif							/* AI_GUARD_MASKING_SQL_H */
