-- ai_guard 0.2 -> 0.3 upgrade: changes to the objects that 0.2 created
--
-- The Makefile builds ai_guard--0.2--0.3.sql from this file followed by
-- every fragment of src/sql that 0.2 did not have (the names 0.2 had are
-- listed in src/sql/upgrade/0.2.fragments). So:
--   - a NEW fragment (src/sql/NN_*.sql) needs nothing here;
--   - a CHANGE to a fragment listed in 0.2.fragments needs its statement
--     here too (CREATE OR REPLACE FUNCTION, ALTER TABLE ... ADD COLUMN at the
--     end of the table, new GRANT/REVOKE/COMMENT, pg_extension_config_dump
--     of a new table ...), written so that the result equals a fresh install;
--   - test/scripts/upgrade_path.sh (in the test command) installs 0.1,
--     updates it through 0.2 to 0.3 and compares every object of the
--     extension, with its definition, with a fresh install.
-- See docs/UPGRADING.md.

\echo Use "ALTER EXTENSION ai_guard UPDATE TO '0.3'" to load this file. \quit

/* (first: the sql_drop trigger below needs derived_relations, made later) */
/* 40_audit.sql: the chain is keyed (65_audit_keys.sql defines verify_audit()
   and audit_head() anew: their results have more columns) */
ALTER TABLE @extschema@.audit_log ADD COLUMN mac pg_catalog.text;
ALTER TABLE @extschema@.audit_state ADD COLUMN database_id pg_catalog.text NOT NULL
	DEFAULT (pg_catalog.gen_random_uuid())::pg_catalog.text;
COMMENT ON TABLE @extschema@.audit_state IS
'the head of the audit chain: the last sequence number and hash, and the audit identity of the database (kept by pg_dump; the chain keys are derived from it)';
DROP FUNCTION @extschema@.verify_audit();
DROP FUNCTION @extschema@.audit_head();


/* 40_audit.sql: ungovern() takes a reason (needed once the data was pulled) */
DROP FUNCTION @extschema@.ungovern(pg_catalog.regclass);
CREATE FUNCTION @extschema@.ungovern(rel pg_catalog.regclass,
	reason pg_catalog.text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ai_guard_ungovern'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.ungovern(pg_catalog.regclass, pg_catalog.text) IS
'removes the govern() mark of a relation (other reasons such as tracking stay); a relation whose data was pulled needs a reason, recorded in the governance log; returns false if it had none';
COMMENT ON TABLE @extschema@.audit_log IS
'hash chain over every write of ai_guard.pulls, their row membership, the governance log and the key epochs, in order, each entry with a MAC under the chain key; checked by verify_audit() (pull_id is the change_id of a governance entry, the epoch of an epoch entry)';


/* 05_catalog.sql: copies of governed data are governed with reason 'derived' */
ALTER TABLE @extschema@.governed_relations
	DROP CONSTRAINT governed_relations_reason_check,
	ADD CONSTRAINT governed_relations_reason_check
		CHECK (reason IN ('govern', 'track', 'masked_view', 'derived'));
COMMENT ON TABLE @extschema@.governed_relations IS
'relations whose reads ai_guard governs, and why';

/* 40_audit.sql: a dropped relation leaves derived_relations too */
CREATE OR REPLACE FUNCTION @extschema@._on_sql_drop()
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

/* 20_masking.sql: masked views are changed by ai_guard only; this drops one */
CREATE FUNCTION @extschema@.drop_masked_view(view pg_catalog.regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_drop_masked_view'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.drop_masked_view(pg_catalog.regclass) IS
'drops a masked view (its owner); masked views cannot be dropped, replaced or altered by hand';
