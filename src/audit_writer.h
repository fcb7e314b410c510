/*-------------------------------------------------------------------------
 *
 * audit_writer.h
 *		The audit writer: a shared-memory queue per database drained by a
 *		background worker that writes pull records with group commit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_AUDIT_WRITER_H
#define AI_GUARD_AUDIT_WRITER_H

#include "lib/stringinfo.h"

/* message types */
#define AG_MSG_START	1		/* insert a pull record (started or refused) */
#define AG_MSG_FINISH	2		/* update a pull record's outcome */
#define AG_MSG_SYNC		3		/* nothing: waiting for it flushes the queue */
#define AG_MSG_REFUSE_LATE	4	/* writer-internal: mark a started record refused */
#define AG_MSG_MEMBERS	5		/* insert a pull_members row (row ids of a pull) */
#define AG_MSG_RELATION	6		/* insert a pull_relations row */
#define AG_MSG_GOVERNANCE	7	/* insert a governance_log row (governance_log.c) */

/* fields of AG_MSG_START, in order (all text, NULL allowed) */
#define AG_START_NFIELDS	28
/* fields of AG_MSG_FINISH: pull_id, status, ended_at, rows, bytes, digest, detail,
 * rows_read (JSON) */
#define AG_FINISH_NFIELDS	8
/* AG_MSG_MEMBERS: pull_id, relation, segment, row_count, first, last, row_ids (binary) */
#define AG_MEMBERS_NFIELDS	7
/* AG_MSG_RELATION: pull_id, relation, membership, reason, row_count, batches */
#define AG_RELATION_NFIELDS	6
/* AG_MSG_GOVERNANCE: changed_at, session_role, current_role, backend_pid, xid,
 * catalog, operation, object, before, after, reason, query */
#define AG_GOVERNANCE_NFIELDS	12

/* ai_guard.audit_failure */
typedef enum AgAuditFailure
{
	AG_AUDIT_FAILURE_REFUSE,
	AG_AUDIT_FAILURE_WARN
}			AgAuditFailure;

extern int	ai_guard_audit_failure;

/* true in the audit writer process: its writes pass the protect trigger */
extern bool ai_guard_am_audit_writer;

typedef struct AgAuditMsg
{
	StringInfoData buf;
	int			type;
	int			nfields;
}			AgAuditMsg;

extern void ai_guard_audit_writer_init(void);

extern void ai_guard_audit_msg_init(AgAuditMsg *msg, int type);
extern void ai_guard_audit_msg_add(AgAuditMsg *msg, const char *value);
extern void ai_guard_audit_msg_add_int64(AgAuditMsg *msg, int64 value);
extern void ai_guard_audit_msg_add_bytes(AgAuditMsg *msg, const char *data, int32 len);

/*
 * Queues a message for this database's writer.  With wait, sleeps until the
 * writer has committed it (synchronous commit) and returns the pull id of an
 * AG_MSG_START in *pull_id.  Returns false, with a reason in *why, if the
 * record could not be written within ai_guard.audit_timeout.
 */
extern bool ai_guard_audit_submit(AgAuditMsg *msg, bool wait, int64 *pull_id,
								  const char **why);

/*
 * Queues a message without waiting for its commit; with wait_for_room,
 * waits (up to ai_guard.audit_timeout) while the queue is full.
 */
extern bool ai_guard_audit_enqueue(AgAuditMsg *msg, bool wait_for_room,
								   const char **why);

/* the largest message the queue takes */
#define AG_AUDIT_MAX_MSG_BYTES	(256 * 1024)

#endif							/* AI_GUARD_AUDIT_WRITER_H */
