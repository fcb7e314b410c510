/*
 * The training-pull audit (src/audit_hook.c, src/audit_writer.c): one record
 * per governed read, written by a background worker in its own transaction
 * and flushed before the first governed row reaches the client, hash-chained.
 */



/*---- purposes ----*/

CREATE TABLE @extschema@.purpose_grants (
	role        pg_catalog.name NOT NULL,
	purpose     pg_catalog.text NOT NULL,
	valid_until pg_catalog.timestamptz,
	granted_by  pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	granted_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (role, purpose)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.purpose_grants', '');
REVOKE ALL ON @extschema@.purpose_grants FROM PUBLIC;
COMMENT ON TABLE @extschema@.purpose_grants IS
'purposes (a class such as training, or a full purpose such as training:churn-v3) granted to roles for reading governed data';

CREATE FUNCTION @extschema@.grant_purpose(role pg_catalog.regrole,
	purpose pg_catalog.text,
	valid_until pg_catalog.timestamptz DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_grant_purpose'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.grant_purpose(pg_catalog.regrole, pg_catalog.text, pg_catalog.timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_purpose(pg_catalog.regrole, pg_catalog.text, pg_catalog.timestamptz) IS
'allows a role (and its members) to read governed data for a purpose class or a full purpose, until valid_until (NULL: no end)';

CREATE FUNCTION @extschema@.revoke_purpose(role pg_catalog.regrole,
	purpose pg_catalog.text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ai_guard_revoke_purpose'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.revoke_purpose(pg_catalog.regrole, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.revoke_purpose(pg_catalog.regrole, pg_catalog.text) IS
'withdraws a purpose grant; returns false if there was none';

/*---- governing relations ----*/

CREATE FUNCTION @extschema@.govern(rel pg_catalog.regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_govern'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.govern(pg_catalog.regclass) IS
'marks a table, partitioned table, view, materialized view or foreign table governed: its reads need a purpose and are audited (owner or superuser)';

CREATE FUNCTION @extschema@.ungovern(rel pg_catalog.regclass,
	reason pg_catalog.text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ai_guard_ungovern'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ungovern(pg_catalog.regclass, pg_catalog.text) IS
'removes the govern() mark of a relation (other reasons such as tracking stay); a relation whose data was pulled needs a reason, recorded in the governance log; returns false if it had none';

-- every change of governed_relations resets the per-backend caches
CREATE FUNCTION @extschema@._governed_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_governed_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._governed_changed() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._governed_changed() IS
'internal: trigger that invalidates the cached set of governed relations in every backend';

CREATE TRIGGER governed_relations_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.governed_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._governed_changed();
ALTER TABLE @extschema@.governed_relations ENABLE ALWAYS TRIGGER governed_relations_changed;

-- a relation that becomes governed keeps no raw values in its statistics
CREATE FUNCTION @extschema@._governed_added()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_governed_added'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._governed_added() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._governed_added() IS
'internal: trigger that removes the value statistics of the non-public columns of a relation that becomes governed';

CREATE TRIGGER governed_relations_added
	AFTER INSERT OR UPDATE ON @extschema@.governed_relations
	FOR EACH ROW EXECUTE FUNCTION @extschema@._governed_added();
ALTER TABLE @extschema@.governed_relations ENABLE ALWAYS TRIGGER governed_relations_added;

-- dropped relations leave the list, so that no dangling oid breaks a dump
CREATE FUNCTION @extschema@._on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.governed_relations g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid = 0
	   AND g.rel::pg_catalog.oid = d.objid;
	DELETE FROM @extschema@.derived_relations g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid = 0
	   AND g.rel::pg_catalog.oid = d.objid;
END;
$$;
REVOKE ALL ON FUNCTION @extschema@._on_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._on_sql_drop() IS
'internal: event trigger that forgets governed relations when they are dropped';

CREATE EVENT TRIGGER ai_guard_sql_drop ON sql_drop
	EXECUTE FUNCTION @extschema@._on_sql_drop();

/*---- the audit records ----*/

CREATE SEQUENCE @extschema@.pulls_pull_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pulls_pull_id_seq', '');
REVOKE ALL ON SEQUENCE @extschema@.pulls_pull_id_seq FROM PUBLIC;

CREATE TABLE @extschema@.pulls (
	pull_id           pg_catalog.int8 PRIMARY KEY
	                  DEFAULT pg_catalog.nextval('@extschema@.pulls_pull_id_seq'),
	status            pg_catalog.text NOT NULL
	                  CHECK (status IN ('started', 'completed', 'failed', 'refused')),
	kind              pg_catalog.text NOT NULL
	                  CHECK (kind IN ('read', 'copy', 'derivation')),
	started_at        pg_catalog.timestamptz NOT NULL,
	ended_at          pg_catalog.timestamptz,
	session_role      pg_catalog.name NOT NULL,
	"current_role"    pg_catalog.name NOT NULL,
	client_addr       pg_catalog.inet,
	application_name  pg_catalog.text,
	backend_pid       pg_catalog.int4 NOT NULL,
	database          pg_catalog.name NOT NULL,
	purpose           pg_catalog.text,
	query             pg_catalog.text,
	client_query      pg_catalog.text,
	query_id          pg_catalog.int8,
	nesting_level     pg_catalog.int4 NOT NULL,
	param_count       pg_catalog.int4 NOT NULL,
	param_types       pg_catalog.text[],
	relations         pg_catalog.text[] NOT NULL,
	columns_returned  pg_catalog.text[],
	columns_filtered  pg_catalog.text[],
	columns_pii       pg_catalog.text[],
	columns_encrypted pg_catalog.text[],
	masks             pg_catalog.text[],
	target            pg_catalog.text,
	rows              pg_catalog.int8,
	bytes             pg_catalog.int8,
	digest            pg_catalog.text,
	snapshot_xmin     pg_catalog.int8,
	snapshot_xmax     pg_catalog.int8,
	snapshot_xip      pg_catalog.int8[],
	detail            pg_catalog.text,
	prev_hash         pg_catalog.text,
	record_hash       pg_catalog.text,
	rows_read         pg_catalog.jsonb
);
CREATE INDEX ON @extschema@.pulls (started_at);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pulls', '');
REVOKE ALL ON @extschema@.pulls FROM PUBLIC;
COMMENT ON TABLE @extschema@.pulls IS
'one record per governed read (the training-pull audit); written only by the ai_guard audit writer';
COMMENT ON COLUMN @extschema@.pulls.rows_read IS
'rows the statement examined per governed relation (a JSON object): rows its scans returned plus rows their conditions removed, at least the rows delivered';

-- the chain: one entry per write of a pull record, each hashing the previous
CREATE TABLE @extschema@.audit_log (
	seq          pg_catalog.int8 PRIMARY KEY,
	pull_id      pg_catalog.int8 NOT NULL,
	event        pg_catalog.text NOT NULL,
	content_hash pg_catalog.text NOT NULL,
	prev_hash    pg_catalog.text NOT NULL,
	record_hash  pg_catalog.text NOT NULL,
	mac          pg_catalog.text
);
CREATE INDEX ON @extschema@.audit_log (pull_id, seq);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log', '');
REVOKE ALL ON @extschema@.audit_log FROM PUBLIC;
COMMENT ON TABLE @extschema@.audit_log IS
'hash chain over every write of ai_guard.pulls, their row membership, the governance log and the key epochs, in order, each entry with a MAC under the chain key; checked by verify_audit() (pull_id is the change_id of a governance entry, the epoch of an epoch entry)';

CREATE TABLE @extschema@.audit_state (
	singleton  pg_catalog.bool PRIMARY KEY DEFAULT true CHECK (singleton),
	seq        pg_catalog.int8 NOT NULL,
	head       pg_catalog.text NOT NULL,
	updated_at pg_catalog.timestamptz NOT NULL,
	database_id pg_catalog.text NOT NULL
	           DEFAULT (pg_catalog.gen_random_uuid())::pg_catalog.text
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_state', '');
REVOKE ALL ON @extschema@.audit_state FROM PUBLIC;
COMMENT ON TABLE @extschema@.audit_state IS
'the head of the audit chain: the last sequence number and hash, and the audit identity of the database (kept by pg_dump; the chain keys are derived from it)';

-- nobody but the writer changes the audit tables, not even their owner
CREATE FUNCTION @extschema@._audit_protect()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_audit_protect'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._audit_protect() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._audit_protect() IS
'internal: trigger that refuses every change of the audit tables not made by the ai_guard audit writer';

CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pulls
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pulls
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.audit_log
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.audit_state
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.audit_state
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
ALTER TABLE @extschema@.pulls ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pulls ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.audit_log ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE @extschema@.audit_state ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.audit_state ENABLE ALWAYS TRIGGER protect_truncate;

CREATE FUNCTION @extschema@._record_hash(prev pg_catalog.text, fields pg_catalog.text[])
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'ai_guard_record_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._record_hash(pg_catalog.text, pg_catalog.text[]) IS
'internal: the chain hash of a record, SHA-256 over the previous hash and the length-framed fields (hex)';

-- the canonical form of a pull record: every column but the chain columns,
-- formatted independently of session settings
CREATE FUNCTION @extschema@._pull_fields(p @extschema@.pulls)
RETURNS pg_catalog.text[]
LANGUAGE sql STABLE
AS $$
SELECT ARRAY[
	p.pull_id::text, p.status, p.kind,
	pg_catalog.to_char(pg_catalog.timezone('UTC', p.started_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	pg_catalog.to_char(pg_catalog.timezone('UTC', p.ended_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	p.session_role::text, p."current_role"::text, p.client_addr::text,
	p.application_name, p.backend_pid::text, p.database::text, p.purpose,
	p.query, p.client_query, p.query_id::text, p.nesting_level::text,
	p.param_count::text, p.param_types::text, p.relations::text,
	p.columns_returned::text, p.columns_filtered::text, p.columns_pii::text,
	p.columns_encrypted::text, p.masks::text, p.target, p.rows::text,
	p.bytes::text, p.digest, p.snapshot_xmin::text, p.snapshot_xmax::text,
	p.snapshot_xip::text, p.detail]
	-- fields added later are hashed only when set: older records keep their hash
	|| CASE WHEN p.rows_read IS NULL THEN '{}'::pg_catalog.text[]
	        ELSE ARRAY[p.rows_read::text] END
$$;
REVOKE ALL ON FUNCTION @extschema@._pull_fields(@extschema@.pulls) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._pull_fields(@extschema@.pulls) IS
'internal: the canonical fields of a pull record that the chain hashes';

-- records left "started": a pull still running, or one cut off (its backend
-- is gone: a crash, a kill) that will never be completed
CREATE FUNCTION @extschema@.unfinished_pulls(
	OUT pull_id pg_catalog.int8, OUT started_at pg_catalog.timestamptz,
	OUT session_role pg_catalog.name, OUT "current_role" pg_catalog.name,
	OUT backend_pid pg_catalog.int4, OUT purpose pg_catalog.text,
	OUT relations pg_catalog.text[], OUT state pg_catalog.text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT p.pull_id, p.started_at, p.session_role, p."current_role", p.backend_pid,
       p.purpose, p.relations,
       CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(p.backend_pid) a
                          WHERE a.backend_start <= p.started_at)
            THEN 'in progress' ELSE 'cut off' END
  FROM @extschema@.pulls p
 WHERE p.status = 'started'
 ORDER BY p.pull_id
$$;
REVOKE ALL ON FUNCTION @extschema@.unfinished_pulls() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.unfinished_pulls() IS
'pull records still "started": in progress (their backend still runs) or cut off (their backend is gone, so they will never complete)';

CREATE FUNCTION @extschema@.last_pull_id()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_last_pull_id'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.last_pull_id() IS
'the id of the latest governed read of this session (NULL if none)';

/*
 * One pull record, for the role that made the pull (its session role) or a
 * role that may read every record: how a data scientist's client fetches
 * the record of its own pull for a manifest without seeing anyone else's.
 */
CREATE FUNCTION @extschema@.pull(pull_id pg_catalog.int8)
RETURNS SETOF @extschema@.pulls
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.* FROM @extschema@.pulls p
	 WHERE p.pull_id OPERATOR(pg_catalog.=) $1
	   AND (p.session_role OPERATOR(pg_catalog.=) SESSION_USER
	        OR pg_catalog.has_table_privilege(SESSION_USER,
	                                          '@extschema@.pulls', 'SELECT'))
$$;
COMMENT ON FUNCTION @extschema@.pull(pg_catalog.int8) IS
'the record of one pull, if the caller made it or may read every record';

/*---- compliance views ----*/

CREATE VIEW @extschema@.pii_access AS
SELECT pg_catalog.date_trunc('day', p.started_at) AS day,
       p.session_role, p."current_role", p.purpose, c.col AS pii_column,
       pg_catalog.count(*) AS pulls,
       pg_catalog.sum(p.rows) AS rows,
       pg_catalog.min(p.started_at) AS first_at,
       pg_catalog.max(p.started_at) AS last_at
  FROM @extschema@.pulls p
 CROSS JOIN LATERAL pg_catalog.unnest(p.columns_pii) AS c(col)
 WHERE p.status IN ('started', 'completed', 'failed')
 GROUP BY 1, 2, 3, 4, 5;
REVOKE ALL ON @extschema@.pii_access FROM PUBLIC;
COMMENT ON VIEW @extschema@.pii_access IS
'reads of PII columns by day, role and purpose';

CREATE VIEW @extschema@.pulls_by_purpose AS
SELECT p.purpose, p.kind,
       pg_catalog.count(*) AS pulls,
       pg_catalog.count(*) FILTER (WHERE p.status = 'completed') AS completed,
       pg_catalog.count(*) FILTER (WHERE p.status = 'failed') AS failed,
       pg_catalog.count(*) FILTER (WHERE p.status = 'refused') AS refused,
       pg_catalog.sum(p.rows) AS rows,
       pg_catalog.sum(p.bytes) AS bytes,
       pg_catalog.count(DISTINCT p.session_role) AS roles,
       pg_catalog.min(p.started_at) AS first_at,
       pg_catalog.max(p.started_at) AS last_at
  FROM @extschema@.pulls p
 GROUP BY 1, 2;
REVOKE ALL ON @extschema@.pulls_by_purpose FROM PUBLIC;
COMMENT ON VIEW @extschema@.pulls_by_purpose IS
'governed reads per purpose and kind: counts by outcome, rows and bytes';

CREATE VIEW @extschema@.refused_reads AS
SELECT p.pull_id, p.started_at, p.session_role, p."current_role", p.client_addr,
       p.application_name, p.purpose, p.relations, p.query, p.detail
  FROM @extschema@.pulls p
 WHERE p.status = 'refused';
REVOKE ALL ON @extschema@.refused_reads FROM PUBLIC;
COMMENT ON VIEW @extschema@.refused_reads IS
'governed reads that ai_guard refused (no purpose, purpose not granted, audit unavailable)';

CREATE FUNCTION @extschema@.audit_flush()
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_audit_flush'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.audit_flush() IS
'waits until every audit record queued so far in this database, completions included, is committed';
