/*-------------------------------------------------------------------------
 *
 * canonical.h
 *		The canonical fields of each audit record, as SQL array expressions;
 *		the chain hashes them (ag_record_hash with an empty prev).
 *
 * They equal ai_guard._pull_fields(), _members_fields(), _relation_fields(),
 * _governance_fields() and _epoch_fields(), written out here so that the
 * audit writer (which MACs the hash) and ai-guard verify-chain (which
 * recomputes it) never call a function of the extension that a superuser
 * could replace.  Each expects its table under a fixed alias (p, m, r, g,
 * e) and pg_catalog first on the search path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AG_CANONICAL_H
#define AG_CANONICAL_H

#define AG_UTC_TIME(col) \
	"pg_catalog.to_char(pg_catalog.timezone('UTC', " col "), 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"

/* ai_guard.pulls AS p: 32 fields, and rows_read (0.2 on) only when set */
#define AG_PULL_FIELDS_V01 \
	"ARRAY[p.pull_id::text, p.status, p.kind, " \
	AG_UTC_TIME("p.started_at") ", " AG_UTC_TIME("p.ended_at") ", " \
	"p.session_role::text, p.\"current_role\"::text, p.client_addr::text, " \
	"p.application_name, p.backend_pid::text, p.database::text, p.purpose, " \
	"p.query, p.client_query, p.query_id::text, p.nesting_level::text, " \
	"p.param_count::text, p.param_types::text, p.relations::text, " \
	"p.columns_returned::text, p.columns_filtered::text, p.columns_pii::text, " \
	"p.columns_encrypted::text, p.masks::text, p.target, p.rows::text, " \
	"p.bytes::text, p.digest, p.snapshot_xmin::text, p.snapshot_xmax::text, " \
	"p.snapshot_xip::text, p.detail]"
#define AG_PULL_FIELDS \
	"(" AG_PULL_FIELDS_V01 " || CASE WHEN p.rows_read IS NULL THEN '{}'::text[] " \
	"ELSE ARRAY[p.rows_read::text] END)"
#define AG_PULL_MAX_FIELDS 33

/* ai_guard.pull_members AS m */
#define AG_MEMBERS_FIELDS \
	"ARRAY[m.pull_id::text, m.relation, m.segment::text, m.row_count::text, " \
	"m.first_row_id::text, m.last_row_id::text, " \
	"pg_catalog.encode(pg_catalog.sha256(m.row_ids), 'hex')]"

/* ai_guard.pull_relations AS r */
#define AG_RELATION_FIELDS \
	"ARRAY[r.pull_id::text, r.relation, r.membership, r.reason, " \
	"r.row_count::text, r.batches::text]"

/* ai_guard.governance_log AS g */
#define AG_GOVERNANCE_FIELDS \
	"ARRAY[g.change_id::text, " AG_UTC_TIME("g.changed_at") ", " \
	"g.session_role::text, g.\"current_role\"::text, g.backend_pid::text, g.xid::text, " \
	"g.catalog, g.operation, g.object, g.before::text, g.after::text, g.reason, g.query]"
#define AG_GOVERNANCE_MAX_FIELDS 13

/* ai_guard.audit_epochs AS e */
#define AG_EPOCH_FIELDS \
	"ARRAY[e.epoch::text, e.database_id, e.key_id, e.public_key, e.previous_key_id, " \
	"e.previous_verified::text, e.unkeyed_before::text, e.reason, " \
	AG_UTC_TIME("e.started_at") ", e.started_seq::text]"

#endif							/* AG_CANONICAL_H */
