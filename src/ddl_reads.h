/*-------------------------------------------------------------------------
 *
 * ddl_reads.h
 *		Utility statements that evaluate expressions over every row.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_DDL_READS_H
#define AI_GUARD_DDL_READS_H

#include "nodes/parsenodes.h"

/*
 * The relation whose rows a utility statement runs expressions over (an
 * expression or partial index, a CHECK or EXCLUDE constraint validated, a
 * column type changed, a generated column or a default computed for every
 * row, expression indexes rebuilt), or InvalidOid.
 */
extern Oid	ai_guard_ddl_reads(Node *stmt);

/* The rows of a relation (all its partitions), dead ones included. */
extern int64 ai_guard_relation_rows(Oid relid);

#endif							/* AI_GUARD_DDL_READS_H */
