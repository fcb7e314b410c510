
/*
 * ---- governance follows the data (derived.c) ----
 */

/*
 * Copies of governed data: every relation written from governed rows (CREATE
 * TABLE AS, SELECT INTO, materialized views, INSERT/UPDATE/MERGE into an
 * ungoverned table, a partition or child that left a governed parent) is
 * governed with reason 'derived'; this says from what.
 */
CREATE TABLE @extschema@.derived_relations (
	rel         pg_catalog.regclass NOT NULL,
	pull_id     pg_catalog.int8,
	sources     pg_catalog.text[] NOT NULL,
	derived_by  pg_catalog.name NOT NULL,
	derived_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX ON @extschema@.derived_relations (rel);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.derived_relations', '');
REVOKE ALL ON @extschema@.derived_relations FROM PUBLIC;
COMMENT ON TABLE @extschema@.derived_relations IS
'relations written from governed data, with the pull that wrote them (NULL for a detached partition) and the governed relations it read';

CREATE FUNCTION @extschema@.declassify(rel pg_catalog.regclass, reason pg_catalog.text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ai_guard_declassify'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.declassify(pg_catalog.regclass, pg_catalog.text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.declassify(pg_catalog.regclass, pg_catalog.text) IS
'releases a copy of governed data from governance (an anonymized export, say): removes its ''derived'' mark, recorded with the reason as a governance change (superuser); returns false if it had none';

/*
 * ---- every change to governance is on the record (governance_log.c) ----
 */

CREATE SEQUENCE @extschema@.governance_log_change_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.governance_log_change_id_seq', '');
REVOKE ALL ON SEQUENCE @extschema@.governance_log_change_id_seq FROM PUBLIC;

CREATE TABLE @extschema@.governance_log (
	change_id       pg_catalog.int8 PRIMARY KEY
	                DEFAULT pg_catalog.nextval('@extschema@.governance_log_change_id_seq'),
	changed_at      pg_catalog.timestamptz NOT NULL,
	session_role    pg_catalog.name NOT NULL,
	"current_role"  pg_catalog.name NOT NULL,
	backend_pid     pg_catalog.int4 NOT NULL,
	xid             pg_catalog.xid8,
	catalog         pg_catalog.text NOT NULL,
	operation       pg_catalog.text NOT NULL,
	object          pg_catalog.text,
	before          pg_catalog.jsonb,
	after           pg_catalog.jsonb,
	reason          pg_catalog.text,
	query           pg_catalog.text
);
CREATE INDEX ON @extschema@.governance_log (changed_at);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.governance_log', '');
REVOKE ALL ON @extschema@.governance_log FROM PUBLIC;
COMMENT ON TABLE @extschema@.governance_log IS
'one record per change of governance, written by the ai_guard audit writer as an entry of the audit hash chain before the change goes on; xid is the transaction that made the change';

CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.governance_log
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.governance_log
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
ALTER TABLE @extschema@.governance_log ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.governance_log ENABLE ALWAYS TRIGGER protect_truncate;

-- the canonical form of a governance record, as the chain hashes it
CREATE FUNCTION @extschema@._governance_fields(g @extschema@.governance_log)
RETURNS pg_catalog.text[]
LANGUAGE sql STABLE
AS $$
SELECT ARRAY[
	g.change_id::text,
	pg_catalog.to_char(pg_catalog.timezone('UTC', g.changed_at), 'YYYY-MM-DD"T"HH24:MI:SS.US'),
	g.session_role::text, g."current_role"::text, g.backend_pid::text, g.xid::text,
	g.catalog, g.operation, g.object, g.before::text, g.after::text, g.reason, g.query]
$$;
REVOKE ALL ON FUNCTION @extschema@._governance_fields(@extschema@.governance_log) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._governance_fields(@extschema@.governance_log) IS
'internal: the canonical fields of a governance record that the chain hashes';

-- the change each record describes, with its outcome from the commit log
CREATE VIEW @extschema@.governance_changes AS
SELECT g.change_id, g.changed_at, g.session_role, g."current_role", g.catalog,
       g.operation, g.object, g.before, g.after, g.reason,
       CASE WHEN g.xid IS NULL THEN 'applied'
            ELSE COALESCE(pg_catalog.pg_xact_status(g.xid), 'unknown') END AS outcome,
       g.query
  FROM @extschema@.governance_log g;
REVOKE ALL ON @extschema@.governance_changes FROM PUBLIC;
COMMENT ON VIEW @extschema@.governance_changes IS
'every change of governance (what, who, when, before and after, why) and whether its transaction committed';

CREATE FUNCTION @extschema@._governance_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_governance_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._governance_changed() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._governance_changed() IS
'internal: trigger that records each change of a governance table in the governance log';

DO $$
DECLARE
	t pg_catalog.text;
BEGIN
	FOREACH t IN ARRAY ARRAY['governed_relations', 'purpose_grants', 'masked_access',
	                         'masked_views', 'key_versions', 'key_grants',
	                         'encrypted_columns', 'tracked_relations', 'quarantines',
	                         'tag_writers', 'trusted_functions', 'budgets',
	                         'models', 'model_pulls'] LOOP
		EXECUTE pg_catalog.format('CREATE TRIGGER governance_log AFTER INSERT OR UPDATE OR DELETE'
		                          ' ON @extschema@.%I FOR EACH ROW'
		                          ' EXECUTE FUNCTION @extschema@._governance_changed()', t);
		EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ALWAYS TRIGGER governance_log', t);
	END LOOP;
END;
$$;

/*
 * Where a copy came from: the chain of derivations back to relations that
 * are no copies (depth 1 = the copy's own sources), for lineage to walk
 * from a model's pulls through copies to the original tables and batches.
 */
CREATE FUNCTION @extschema@.copy_origins(rel pg_catalog.regclass,
	OUT depth pg_catalog.int4, OUT copy pg_catalog.text, OUT pull_id pg_catalog.int8,
	OUT source pg_catalog.text, OUT source_is_copy pg_catalog.bool,
	OUT derived_by pg_catalog.name, OUT derived_at pg_catalog.timestamptz)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH RECURSIVE walk(depth, copy, pull_id, source, derived_by, derived_at, path) AS (
	SELECT 1, d.rel::text, d.pull_id, s.src, d.derived_by, d.derived_at, ARRAY[d.rel::text]
	  FROM @extschema@.derived_relations d, unnest(d.sources) AS s(src)
	 WHERE d.rel OPERATOR(pg_catalog.=) $1
	   AND s.src OPERATOR(pg_catalog.<>) d.rel::text
	UNION ALL
	SELECT w.depth + 1, d.rel::text, d.pull_id, s.src, d.derived_by, d.derived_at,
	       w.path || d.rel::text
	  FROM walk w
	  JOIN @extschema@.derived_relations d ON d.rel::text OPERATOR(pg_catalog.=) w.source
	 CROSS JOIN LATERAL unnest(d.sources) AS s(src)
	 WHERE s.src OPERATOR(pg_catalog.<>) d.rel::text
	   AND NOT d.rel::text OPERATOR(pg_catalog.=) ANY (w.path)
	   AND w.depth OPERATOR(pg_catalog.<) 32
)
SELECT w.depth, w.copy, w.pull_id, w.source,
       EXISTS (SELECT 1 FROM @extschema@.derived_relations d
                WHERE d.rel::text OPERATOR(pg_catalog.=) w.source),
       w.derived_by, w.derived_at
  FROM walk w
 ORDER BY w.depth, w.copy, w.source, w.pull_id
$$;
REVOKE ALL ON FUNCTION @extschema@.copy_origins(pg_catalog.regclass) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.copy_origins(pg_catalog.regclass) IS
'the derivations a copy of governed data came from, back to relations that are no copies: depth, copy, the pull that wrote it, a source relation and whether that is a copy too';

-- every change of masked_access resets the per-backend caches (masked_reads.c)
CREATE TRIGGER masked_access_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.masked_access
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._governed_changed();
ALTER TABLE @extschema@.masked_access ENABLE ALWAYS TRIGGER masked_access_changed;
