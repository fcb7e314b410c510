/*-------------------------------------------------------------------------
 *
 * provenance.h
 *		Row-level provenance tags of tracked tables (provenance.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_PROVENANCE_H
#define AI_GUARD_PROVENANCE_H

/* GUCs and hooks of the provenance area; called from _PG_init */
extern void ai_guard_provenance_init(void);

/* Does relid carry provenance columns (is it tracked)? */
extern bool ai_guard_relation_is_tracked(Oid relid);

/* GUC variables */
extern bool ai_guard_require_ingest_context;

#endif							/* AI_GUARD_PROVENANCE_H */
