/*
 * Row membership (src/lineage.c): which rows of tracked relations each pull
 * delivered, written by the audit writer next to the pull's record, and the
 * impact queries that read it.
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
