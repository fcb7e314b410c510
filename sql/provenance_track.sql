-- provenance: track(), the ingest context and stamping through every write path
CREATE SCHEMA regress_prov;
CREATE TABLE regress_prov.items (id int PRIMARY KEY, name text, price numeric, tags text[]);
INSERT INTO regress_prov.items VALUES (1, 'apple', 1.50, '{fruit}'), (2, 'pear', NULL, NULL);

-- tracking adds the columns, backfills with source 'unknown', governs reads
SELECT ai_guard.track('regress_prov.items') AS backfill_batch \gset
SELECT id, ai_guard_row_id IS NOT NULL AS has_row_id,
       ai_guard_batch = :backfill_batch AS backfill,
       octet_length(ai_guard_digest) AS digest_len
  FROM regress_prov.items ORDER BY id;
SELECT kind, source, license, consent, row_count
  FROM ai_guard.batches WHERE batch_id = :backfill_batch;
SELECT (ai_guard.tags(i)).source, (ai_guard.tags(i)).consent
  FROM regress_prov.items i ORDER BY id;
SELECT reason FROM ai_guard.governed_relations WHERE rel = 'regress_prov.items'::regclass;
SELECT rel, root, row_id_column, batch_column
  FROM ai_guard.tracked_relations WHERE rel = 'regress_prov.items'::regclass;
-- the digest is the documented function of the data columns
SELECT bool_and(ai_guard_digest = ai_guard.row_digest(i)) FROM regress_prov.items i;

-- bad input
SELECT ai_guard.track('regress_prov.items');
CREATE VIEW regress_prov.v AS SELECT id FROM regress_prov.items;
SELECT ai_guard.track('regress_prov.v');
CREATE FOREIGN DATA WRAPPER regress_prov_fdw;
CREATE SERVER regress_prov_srv FOREIGN DATA WRAPPER regress_prov_fdw;
CREATE FOREIGN TABLE regress_prov.ft (id int) SERVER regress_prov_srv;
SELECT ai_guard.track('regress_prov.ft');
CREATE TEMP TABLE regress_prov_tmp (id int);
SELECT ai_guard.track('regress_prov_tmp');
SELECT ai_guard.track(NULL);
SELECT ai_guard.untrack('regress_prov.v');
CREATE TABLE regress_prov.clash (id int, ai_guard_batch text);
SELECT ai_guard.track('regress_prov.clash');
SELECT ai_guard.begin_ingest(NULL, 'MIT', '{training}');
SELECT ai_guard.begin_ingest('', 'MIT', '{training}');
SELECT ai_guard.begin_ingest('crm', NULL, '{training}');
SELECT ai_guard.begin_ingest('crm', 'MIT', NULL);
SELECT ai_guard.begin_ingest('crm', 'MIT', '{training,NULL}');
SELECT ai_guard.begin_ingest('crm', 'MIT', '{training,marketing}');
SELECT ai_guard.begin_ingest('crm', 'MIT', '{{training}}');
SELECT ai_guard.begin_ingest(repeat('x', 300), 'MIT', '{training}');
SELECT ai_guard.begin_ingest(E'crm\n', 'MIT', '{training}');
SELECT ai_guard.begin_ingest('derived', 'MIT', '{training}');
SELECT ai_guard.end_ingest();
SELECT ai_guard.current_batch() IS NULL AS no_context;

-- one batch, every write path
SELECT ai_guard.begin_ingest('crm', 'CC-BY-4.0', '{training,analytics,training}') AS b \gset
SELECT ai_guard.current_batch() = :b AS context_open;
\set VERBOSITY terse
SELECT ai_guard.begin_ingest('other', 'MIT', '{}');
\set VERBOSITY default
INSERT INTO regress_prov.items VALUES (3, 'plum', 2, '{fruit}');
INSERT INTO regress_prov.items VALUES (4, 'fig', 3, NULL), (5, 'kiwi', 4, '{}');
COPY regress_prov.items FROM stdin;
6	lime	0.5	{citrus}
7	\N	\N	\N
\.
COPY regress_prov.items (id, name) FROM stdin;
8	date
\.
CREATE TABLE regress_prov.staging (id int, name text);
INSERT INTO regress_prov.staging VALUES (9, 'melon'), (10, 'grape');
INSERT INTO regress_prov.items (id, name) SELECT id, name FROM regress_prov.staging;
SELECT ai_guard.end_ingest() AS rows_in_batch;
SELECT kind, source, license, consent, row_count, ended_at IS NOT NULL AS ended
  FROM ai_guard.batches WHERE batch_id = :b;
SELECT id, ai_guard_batch = :b AS in_batch,
       ai_guard_digest = ai_guard.row_digest(i) AS digest_ok,
       ai_guard_ingested_at IS NOT NULL AS stamped
  FROM regress_prov.items i WHERE id >= 3 ORDER BY id;
SELECT count(DISTINCT ai_guard_row_id) = count(*) AS row_ids_unique FROM regress_prov.items;
SELECT rel FROM ai_guard.relation_batches WHERE batch_id = :b;

-- without a context: an implicit per-session batch with source 'unknown'
INSERT INTO regress_prov.items VALUES (11, 'cherry');
SELECT b.kind, b.source, b.consent FROM regress_prov.items i
  JOIN ai_guard.batches b ON b.batch_id = i.ai_guard_batch WHERE i.id = 11;

-- require_ingest_context refuses writes without a context
SET ai_guard.require_ingest_context = on;
INSERT INTO regress_prov.items VALUES (12, 'lemon');
COPY regress_prov.items FROM stdin;
12	lemon	1	\N
\.
RESET ai_guard.require_ingest_context;

-- forged tags are overwritten for ordinary writers
CREATE ROLE regress_prov_writer;
GRANT USAGE ON SCHEMA regress_prov TO regress_prov_writer;
GRANT SELECT, INSERT, UPDATE ON regress_prov.items TO regress_prov_writer;
SET ai_guard.require_ingest_context = on;
SET ROLE regress_prov_writer;
SELECT ai_guard.begin_ingest('web', 'MIT', '{evaluation}') AS wb \gset
INSERT INTO regress_prov.items (id, name, ai_guard_row_id, ai_guard_batch, ai_guard_digest,
                                ai_guard_ingested_at, ai_guard_updated_by)
VALUES (20, 'forged', 1, :backfill_batch, '\xdeadbeef', '2000-01-01', 'nobody');
RESET ROLE;
RESET ai_guard.require_ingest_context;
SELECT ai_guard_row_id <> 1 AS row_id_replaced, ai_guard_batch = :wb AS batch_replaced,
       ai_guard_digest = ai_guard.row_digest(i) AS digest_replaced,
       ai_guard_ingested_at > '2000-01-01' AS time_replaced,
       ai_guard_updated_by IS NULL AS updated_by_cleared
  FROM regress_prov.items i WHERE id = 20;
-- ordinary writers cannot grant themselves the right
SET ROLE regress_prov_writer;
SELECT ai_guard.grant_tag_write('regress_prov_writer');
RESET ROLE;
-- granted writers keep their values (replays, migrations)
SELECT ai_guard.grant_tag_write('regress_prov_writer');
SET ROLE regress_prov_writer;
INSERT INTO regress_prov.items (id, name, ai_guard_row_id, ai_guard_batch, ai_guard_ingested_at)
VALUES (21, 'replayed', 424242, :backfill_batch, '2001-02-03 00:00:00+00');
RESET ROLE;
SELECT ai_guard_row_id, ai_guard_batch = :backfill_batch AS batch_kept, ai_guard_ingested_at,
       ai_guard_digest = ai_guard.row_digest(i) AS digest_computed
  FROM regress_prov.items i WHERE id = 21;
SELECT ai_guard.revoke_tag_write('regress_prov_writer');
SET ROLE regress_prov_writer;
INSERT INTO regress_prov.items (id, name, ai_guard_row_id, ai_guard_batch)
VALUES (22, 'revoked', 434343, :backfill_batch);
SELECT ai_guard.end_ingest();
RESET ROLE;
SELECT ai_guard_row_id <> 434343 AS overwritten_again FROM regress_prov.items WHERE id = 22;

-- UPDATE recomputes the digest, records who and when, keeps the tags
SELECT ai_guard_row_id AS rid, ai_guard_batch AS rb FROM regress_prov.items WHERE id = 3 \gset
-- an UPDATE reads the rows it changes: without a declared purpose it is
-- refused, and with one the consent policy applies to it too
SELECT ai_guard.grant_purpose('regress_prov_writer', 'training');
SET ROLE regress_prov_writer;
UPDATE regress_prov.items SET name = 'PLUM' WHERE id = 3;
SET ai_guard.purpose = 'training:cleanup';
UPDATE regress_prov.items SET name = 'PLUM', ai_guard_row_id = 7, ai_guard_batch = 1 WHERE id = 3;
RESET ai_guard.purpose;
RESET ROLE;
SELECT ai_guard_row_id = :rid AS row_id_kept, ai_guard_batch = :rb AS batch_kept,
       ai_guard_digest = ai_guard.row_digest(i) AS digest_fresh,
       ai_guard_updated_by, ai_guard_updated_at IS NOT NULL AS updated_at_set
  FROM regress_prov.items i WHERE id = 3;
SELECT (ai_guard.tags(i)).updated_by FROM regress_prov.items i WHERE id = 3;

-- tags() of a row that is not from a tracked table
SELECT ai_guard.tags(s) FROM regress_prov.staging s LIMIT 1;
SELECT ai_guard.tags(NULL::record);

-- untrack removes everything it added
SELECT ai_guard.untrack('regress_prov.staging');
DROP VIEW regress_prov.v;
SELECT ai_guard.untrack('regress_prov.items');
SELECT count(*) FROM pg_attribute
 WHERE attrelid = 'regress_prov.items'::regclass AND attname LIKE 'ai\_guard\_%' AND NOT attisdropped;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'regress_prov.items'::regclass;
SELECT count(*) FROM pg_policy WHERE polrelid = 'regress_prov.items'::regclass;
SELECT relrowsecurity FROM pg_class WHERE oid = 'regress_prov.items'::regclass;
SELECT count(*) FROM ai_guard.governed_relations WHERE rel = 'regress_prov.items'::regclass;
SELECT count(*) FROM ai_guard.tracked_relations WHERE rel = 'regress_prov.items'::regclass;
SELECT ai_guard.untrack('regress_prov.items');
-- and the table can be tracked again
SELECT ai_guard.track('regress_prov.items') > 0 AS retracked;
SELECT ai_guard.untrack('regress_prov.items');

-- only the owner may track
CREATE TABLE regress_prov.notmine (id int);
SET ROLE regress_prov_writer;
SELECT ai_guard.track('regress_prov.notmine');
RESET ROLE;

-- attacks by an ordinary writer on a tracked table and the catalogs
SELECT ai_guard.track('regress_prov.notmine') IS NOT NULL AS tracked;
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_prov.notmine TO regress_prov_writer;
SET ROLE regress_prov_writer;
SELECT ai_guard._stamp();
ALTER TABLE regress_prov.notmine DISABLE TRIGGER zz_ai_guard_stamp;
ALTER TABLE regress_prov.notmine DISABLE ROW LEVEL SECURITY;
DROP POLICY ai_guard_consent ON regress_prov.notmine;
SELECT ai_guard.untrack('regress_prov.notmine');
SET session_replication_role = replica;
UPDATE ai_guard.batches SET consent = '{training}';
INSERT INTO ai_guard.quarantines VALUES (999, 'x', NULL, 'x', 'x', now());
DELETE FROM ai_guard.quarantines;
INSERT INTO ai_guard.tag_writers VALUES ('regress_prov_writer', 'me');
SELECT count(*) FROM ai_guard.batches;
SELECT ai_guard.release(1);
SELECT ai_guard.revoke_tag_write('postgres');
RESET ROLE;
SELECT ai_guard.untrack('regress_prov.notmine');

-- dropping a tracked table forgets it (no dangling regclass in dumped catalogs)
CREATE TABLE regress_prov.gone (id int);
SELECT ai_guard.track('regress_prov.gone') IS NOT NULL AS tracked;
SELECT ai_guard.begin_ingest('tmp', 'MIT', '{}') IS NOT NULL;
INSERT INTO regress_prov.gone VALUES (1);
SELECT ai_guard.end_ingest();
SELECT 'regress_prov.gone'::regclass::oid AS gone_oid \gset
DROP TABLE regress_prov.gone;
SELECT (SELECT count(*) FROM ai_guard.tracked_relations WHERE rel::oid = :gone_oid) AS tracked,
       (SELECT count(*) FROM ai_guard.governed_relations WHERE rel::oid = :gone_oid) AS governed,
       (SELECT count(*) FROM ai_guard.relation_batches WHERE rel::oid = :gone_oid) AS batches;

DROP SCHEMA regress_prov CASCADE;
DROP SERVER regress_prov_srv;
DROP FOREIGN DATA WRAPPER regress_prov_fdw;
SELECT ai_guard.revoke_purpose('regress_prov_writer', 'training');
DROP ROLE regress_prov_writer;
