
/*---------------------------------------------------------------------------
 * Provenance: row-level tags, ingest batches, consent and quarantine
 * (src/provenance.c, docs/provenance.md)
 *
 * A tracked table carries six extra columns, stamped by a C trigger:
 *   ai_guard_row_id      bigint       stable row id (ai_guard.row_id_seq)
 *   ai_guard_batch       bigint       the ingest batch (ai_guard.batches)
 *   ai_guard_ingested_at timestamptz  when the row was written
 *   ai_guard_digest      bytea        SHA-256 of the row's data columns
 *   ai_guard_updated_by  text         who last updated the row (NULL if never)
 *   ai_guard_updated_at  timestamptz  when
 * Source, license, consent and the ingesting role live once per batch.
 *---------------------------------------------------------------------------
 */

CREATE SEQUENCE @extschema@.row_id_seq CACHE 100;
CREATE SEQUENCE @extschema@.batch_id_seq;
CREATE SEQUENCE @extschema@.quarantine_id_seq;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.row_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.quarantine_id_seq', '');

/* the purpose classes a data subject can consent to */
CREATE TABLE @extschema@.consent_classes (
	class       pg_catalog.text PRIMARY KEY
	            CHECK (class ~ '^[a-z0-9_-]{1,63}$'),
	description pg_catalog.text NOT NULL
);
INSERT INTO @extschema@.consent_classes VALUES
	('training', 'training machine-learning models'),
	('evaluation', 'evaluating and testing models'),
	('analytics', 'aggregate reporting and analytics'),
	('research', 'research not aimed at a product');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent_classes',
	$$WHERE class NOT IN ('training', 'evaluation', 'analytics', 'research')$$);
GRANT SELECT ON @extschema@.consent_classes TO PUBLIC;
COMMENT ON TABLE @extschema@.consent_classes IS
'purpose classes that consent lists and ai_guard.purpose name';

CREATE TABLE @extschema@.batches (
	batch_id     pg_catalog.int8 PRIMARY KEY,
	kind         pg_catalog.text NOT NULL
	             CHECK (kind IN ('ingest', 'backfill', 'implicit', 'derived')),
	source       pg_catalog.text NOT NULL,
	license      pg_catalog.text NOT NULL,
	consent      pg_catalog.text[] NOT NULL,
	ingested_by  pg_catalog.text NOT NULL,
	started_at   pg_catalog.timestamptz NOT NULL,
	ended_at     pg_catalog.timestamptz,
	row_count    pg_catalog.int8 NOT NULL DEFAULT 0,
	derived_from pg_catalog.int8[]
);
CREATE INDEX ON @extschema@.batches (source);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.batches', '');
REVOKE ALL ON @extschema@.batches FROM PUBLIC;
COMMENT ON TABLE @extschema@.batches IS
'ingest batches: where rows of tracked tables came from, under which license and consent, who wrote them and how many';

/* which batches wrote rows into which relation (for derived tags) */
CREATE TABLE @extschema@.relation_batches (
	rel      pg_catalog.regclass NOT NULL,
	batch_id pg_catalog.int8 NOT NULL,
	PRIMARY KEY (rel, batch_id)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.relation_batches', '');
REVOKE ALL ON @extschema@.relation_batches FROM PUBLIC;
COMMENT ON TABLE @extschema@.relation_batches IS
'batches that have written rows into each tracked relation';

CREATE TABLE @extschema@.tracked_relations (
	rel             pg_catalog.regclass PRIMARY KEY,
	root            pg_catalog.regclass NOT NULL,
	row_id_column   pg_catalog.name NOT NULL DEFAULT 'ai_guard_row_id',
	batch_column    pg_catalog.name NOT NULL DEFAULT 'ai_guard_batch',
	digest_column   pg_catalog.name NOT NULL DEFAULT 'ai_guard_digest',
	rls_was_enabled pg_catalog.bool NOT NULL,
	tracked_by      pg_catalog.text NOT NULL,
	tracked_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tracked_relations', '');
GRANT SELECT ON @extschema@.tracked_relations TO PUBLIC;
COMMENT ON TABLE @extschema@.tracked_relations IS
'tracked tables (a partitioned or inheritance tree has one row per member, all with the same root) and the columns holding their tags';

CREATE TABLE @extschema@.quarantines (
	quarantine_id pg_catalog.int8 PRIMARY KEY,
	source        pg_catalog.text,
	batch_id      pg_catalog.int8,
	reason        pg_catalog.text NOT NULL,
	created_by    pg_catalog.text NOT NULL,
	created_at    pg_catalog.timestamptz NOT NULL,
	released_by   pg_catalog.text,
	released_at   pg_catalog.timestamptz,
	release_note  pg_catalog.text,
	CHECK ((source IS NULL) <> (batch_id IS NULL))
);
CREATE INDEX ON @extschema@.quarantines (batch_id) WHERE released_at IS NULL;
CREATE INDEX ON @extschema@.quarantines (source) WHERE released_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.quarantines', '');
REVOKE ALL ON @extschema@.quarantines FROM PUBLIC;
COMMENT ON TABLE @extschema@.quarantines IS
'quarantines of sources and batches: rows of a quarantined batch are hidden from governed reads until released';

/* roles allowed to write provenance columns directly (replays, migrations) */
CREATE TABLE @extschema@.tag_writers (
	role       pg_catalog.regrole PRIMARY KEY,
	granted_by pg_catalog.text NOT NULL,
	granted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tag_writers', '');
REVOKE ALL ON @extschema@.tag_writers FROM PUBLIC;
COMMENT ON TABLE @extschema@.tag_writers IS
'roles whose explicit values for the provenance columns are kept instead of overwritten';

CREATE TYPE @extschema@.row_tags AS (
	row_id      pg_catalog.int8,
	source      pg_catalog.text,
	license     pg_catalog.text,
	consent     pg_catalog.text[],
	batch_id    pg_catalog.int8,
	ingested_at pg_catalog.timestamptz,
	digest      pg_catalog.bytea,
	ingested_by pg_catalog.text,
	updated_by  pg_catalog.text,
	updated_at  pg_catalog.timestamptz
);
COMMENT ON TYPE @extschema@.row_tags IS 'the provenance tags of one row';

GRANT USAGE ON SEQUENCE @extschema@.row_id_seq TO PUBLIC;

/*---- functions ----*/

CREATE FUNCTION @extschema@.track(rel pg_catalog.regclass)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_track'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.track(pg_catalog.regclass) IS
'makes a table (with its partitions or inheritance children) tracked: adds the provenance columns, backfills existing rows with source ''unknown'', installs the stamping trigger and the consent policy; returns the backfill batch id';

CREATE FUNCTION @extschema@.untrack(rel pg_catalog.regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_untrack'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.untrack(pg_catalog.regclass) IS
'stops tracking a table: drops the provenance columns, trigger and policies (refused while it holds quarantined rows)';

CREATE FUNCTION @extschema@.begin_ingest(source pg_catalog.text,
	license pg_catalog.text, consent pg_catalog.text[])
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_begin_ingest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.begin_ingest(pg_catalog.text, pg_catalog.text, pg_catalog.text[]) IS
'opens this session''s ingest context: rows written into tracked tables until end_ingest() belong to the returned batch';

CREATE FUNCTION @extschema@.end_ingest()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_end_ingest'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.end_ingest() IS
'closes this session''s ingest context; returns the batch''s row count';

CREATE FUNCTION @extschema@.current_batch()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_current_batch'
LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.current_batch() IS
'the batch id of this session''s open ingest context, or NULL';

CREATE FUNCTION @extschema@._stamp()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_stamp'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@._stamp() IS
'BEFORE INSERT OR UPDATE row trigger of tracked tables: writes the provenance columns';

CREATE FUNCTION @extschema@._count()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ai_guard_count'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@._count() IS
'AFTER INSERT statement trigger of tracked tables: adds the rows just written to their batches'' row counts';

CREATE FUNCTION @extschema@.row_digest(pg_catalog.record)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'ai_guard_row_digest'
LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_digest(pg_catalog.record) IS
'SHA-256 content digest of a row''s data columns in ai_guard''s canonical form (provenance columns excluded)';

CREATE FUNCTION @extschema@.tags(pg_catalog.record)
RETURNS @extschema@.row_tags
AS 'MODULE_PATHNAME', 'ai_guard_tags'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION @extschema@.tags(pg_catalog.record) IS
'the provenance tags of a row of a tracked table, as in SELECT (ai_guard.tags(t)).source FROM t';

CREATE FUNCTION @extschema@.row_visible(batch_id pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'ai_guard_row_visible'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_visible(pg_catalog.int8) IS
'the consent policy of tracked tables: true if the batch''s consent includes the class of ai_guard.purpose and the batch is not quarantined';

CREATE FUNCTION @extschema@.verify_rows(rel pg_catalog.regclass,
	OUT rel pg_catalog.regclass, OUT row_id pg_catalog.int8,
	OUT row_ctid pg_catalog.tid, OUT stored_digest pg_catalog.bytea,
	OUT actual_digest pg_catalog.bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ai_guard_verify_rows'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.verify_rows(pg_catalog.regclass) IS
'rows of a tracked table (and its partitions or children) whose content no longer matches their digest';

CREATE FUNCTION @extschema@.quarantine(source pg_catalog.text, reason pg_catalog.text)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_quarantine_source'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.quarantine(pg_catalog.text, pg_catalog.text) IS
'hides every row from this source (present and future batches) from governed reads; returns the quarantine id';

CREATE FUNCTION @extschema@.quarantine_batch(batch_id pg_catalog.int8, reason pg_catalog.text)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'ai_guard_quarantine_batch'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.quarantine_batch(pg_catalog.int8, pg_catalog.text) IS
'hides the rows of one batch (and of batches derived from it) from governed reads; returns the quarantine id';

CREATE FUNCTION @extschema@.release(quarantine_id pg_catalog.int8,
	note pg_catalog.text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_release'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.release(pg_catalog.int8, pg_catalog.text) IS
'ends a quarantine: its rows are visible to governed reads again';

CREATE FUNCTION @extschema@.grant_tag_write(role pg_catalog.regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_grant_tag_write'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.grant_tag_write(pg_catalog.regrole) IS
'lets a role write the provenance columns directly (replays, migrations); superuser only';

CREATE FUNCTION @extschema@.revoke_tag_write(role pg_catalog.regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'ai_guard_revoke_tag_write'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.revoke_tag_write(pg_catalog.regrole) IS
'withdraws grant_tag_write; superuser only';

REVOKE ALL ON FUNCTION @extschema@.quarantine(pg_catalog.text, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.quarantine_batch(pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.release(pg_catalog.int8, pg_catalog.text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.grant_tag_write(pg_catalog.regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.revoke_tag_write(pg_catalog.regrole) FROM PUBLIC;

/* compliance reads the batch and quarantine catalogs through these views */
CREATE VIEW @extschema@.batch_summary AS
SELECT b.batch_id, b.kind, b.source, b.license, b.consent, b.ingested_by,
       b.started_at, b.ended_at, b.row_count, b.derived_from,
       EXISTS (SELECT 1 FROM @extschema@.quarantines q
                WHERE q.released_at IS NULL
                  AND (q.batch_id = b.batch_id OR q.source = b.source
                       OR q.batch_id = ANY (b.derived_from))) AS quarantined
  FROM @extschema@.batches b;
REVOKE ALL ON @extschema@.batch_summary FROM PUBLIC;
COMMENT ON VIEW @extschema@.batch_summary IS
'batches with their current quarantine state';

/*
 * Dropping a tracked table removes its catalog rows: a dangling regclass in a
 * dumped extension table would make pg_restore fail.
 */
CREATE FUNCTION @extschema@._provenance_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	dropped pg_catalog.oid[];
BEGIN
	SELECT pg_catalog.array_agg(d.objid) INTO dropped
	  FROM pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid OPERATOR(pg_catalog.=) 0;
	IF dropped IS NULL THEN
		RETURN;
	END IF;
	DELETE FROM @extschema@.relation_batches
	 WHERE rel::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
	DELETE FROM @extschema@.governed_relations
	 WHERE reason OPERATOR(pg_catalog.=) 'track'
	   AND rel::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
	DELETE FROM @extschema@.tracked_relations
	 WHERE rel::pg_catalog.oid OPERATOR(pg_catalog.=) ANY (dropped);
END
$$;
REVOKE ALL ON FUNCTION @extschema@._provenance_sql_drop() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._provenance_sql_drop() IS
'sql_drop event trigger: forgets tracked tables that are dropped';
CREATE EVENT TRIGGER ai_guard_provenance_sql_drop ON sql_drop
	EXECUTE FUNCTION @extschema@._provenance_sql_drop();
