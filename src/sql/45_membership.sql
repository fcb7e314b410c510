/*
 * Row membership (src/lineage.c): which rows of tracked relations each pull
 * delivered, written by the audit writer next to the pull's record and
 * hash-chained with it; read by the impact queries (55_impact.sql).
 */

/*---- membership catalog ----*/

-- one row per pull and tracked relation it read
CREATE TABLE @extschema@.pull_relations (
	pull_id     pg_catalog.int8 NOT NULL,
	relation    pg_catalog.text NOT NULL,
	membership  pg_catalog.text NOT NULL
	            CHECK (membership IN ('exact', 'unknown')),
	reason      pg_catalog.text,
	row_count   pg_catalog.int8,
	batches     pg_catalog.int8[],
	PRIMARY KEY (pull_id, relation)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pull_relations', '');
REVOKE ALL ON @extschema@.pull_relations FROM PUBLIC;
COMMENT ON TABLE @extschema@.pull_relations IS
'tracked relations each pull read: whether its rows are known exactly (else why not), how many distinct rows, and the ingest batches they came from';

-- the row ids themselves, in segments of 2^20 ids (src/core/rowset.h encoding)
CREATE TABLE @extschema@.pull_members (
	pull_id      pg_catalog.int8 NOT NULL,
	relation     pg_catalog.text NOT NULL,
	segment      pg_catalog.int8 NOT NULL,
	row_count    pg_catalog.int8 NOT NULL,
	first_row_id pg_catalog.int8 NOT NULL,
	last_row_id  pg_catalog.int8 NOT NULL,
	row_ids      pg_catalog.bytea NOT NULL,
	PRIMARY KEY (pull_id, relation, segment)
);
CREATE INDEX ON @extschema@.pull_members (relation, first_row_id);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.pull_members', '');
REVOKE ALL ON @extschema@.pull_members FROM PUBLIC;
COMMENT ON TABLE @extschema@.pull_members IS
'row ids of tracked relations delivered by each pull, as compact sets of up to 2^20 consecutive ids (segment = row id >> 20)';

-- like the pull records, written only by the audit writer
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pull_relations
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pull_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.pull_members
	FOR EACH ROW EXECUTE FUNCTION @extschema@._audit_protect();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON @extschema@.pull_members
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._audit_protect();
ALTER TABLE @extschema@.pull_relations ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pull_relations ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE @extschema@.pull_members ENABLE ALWAYS TRIGGER protect;
ALTER TABLE @extschema@.pull_members ENABLE ALWAYS TRIGGER protect_truncate;

-- the canonical forms the chain hashes (events 'members' and 'relation')
CREATE FUNCTION @extschema@._members_fields(m @extschema@.pull_members)
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE
AS $$
SELECT ARRAY[m.pull_id::text, m.relation, m.segment::text, m.row_count::text,
	m.first_row_id::text, m.last_row_id::text,
	pg_catalog.encode(pg_catalog.sha256(m.row_ids), 'hex')]
$$;
REVOKE ALL ON FUNCTION @extschema@._members_fields(@extschema@.pull_members) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._members_fields(@extschema@.pull_members) IS
'internal: the canonical fields of a row-membership segment that the chain hashes';

CREATE FUNCTION @extschema@._relation_fields(r @extschema@.pull_relations)
RETURNS pg_catalog.text[]
LANGUAGE sql IMMUTABLE
AS $$
SELECT ARRAY[r.pull_id::text, r.relation, r.membership, r.reason,
	r.row_count::text, r.batches::text]
$$;
REVOKE ALL ON FUNCTION @extschema@._relation_fields(@extschema@.pull_relations) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._relation_fields(@extschema@.pull_relations) IS
'internal: the canonical fields of a pull''s relation record that the chain hashes';

-- a change of the tracked set resets the planner's per-backend cache
CREATE TRIGGER tracked_relations_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.tracked_relations
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._governed_changed();
ALTER TABLE @extschema@.tracked_relations ENABLE ALWAYS TRIGGER tracked_relations_changed;

/*---- reading row id sets ----*/

CREATE FUNCTION @extschema@.rowset_ids(row_ids pg_catalog.bytea)
RETURNS SETOF pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_rowset_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rowset_ids(pg_catalog.bytea) IS
'the row ids of an encoded set (ai_guard.pull_members.row_ids), ascending';

CREATE FUNCTION @extschema@.rowset_count_in(row_ids pg_catalog.bytea, ids pg_catalog.int8[])
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_rowset_count_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rowset_count_in(pg_catalog.bytea, pg_catalog.int8[]) IS
'how many of the given row ids an encoded set holds (without expanding it)';

CREATE FUNCTION @extschema@.pull_row_ids(pull_id pg_catalog.int8, rel pg_catalog.regclass)
RETURNS SETOF pg_catalog.int8
LANGUAGE sql STABLE
AS $$
	SELECT @extschema@.rowset_ids(m.row_ids)
	  FROM @extschema@.pull_members m
	  JOIN @extschema@.tracked_relations t ON t.rel OPERATOR(pg_catalog.=) $2
	  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.root
	  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	 WHERE m.pull_id OPERATOR(pg_catalog.=) $1
	   AND m.relation OPERATOR(pg_catalog.=) pg_catalog.format('%I.%I', n.nspname, c.relname)
	 ORDER BY m.segment
$$;
COMMENT ON FUNCTION @extschema@.pull_row_ids(pg_catalog.int8, pg_catalog.regclass) IS
'the row ids of a tracked relation that a pull delivered (needs SELECT on ai_guard.pull_members)';
