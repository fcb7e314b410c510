-- governance follows the data (derived.c) and changes of governance are
-- chain entries (governance_log.c)
SET client_min_messages = warning;
CREATE ROLE regress_gov_reader LOGIN;
CREATE ROLE regress_gov_ds LOGIN;
CREATE SCHEMA regress_gov;
CREATE SCHEMA regress_gov_masked;
GRANT USAGE, CREATE ON SCHEMA regress_gov TO regress_gov_reader;
GRANT USAGE ON SCHEMA regress_gov TO regress_gov_ds;
CREATE TABLE regress_gov.src (id int, email text, city text, born date);
INSERT INTO regress_gov.src
  SELECT g, 'u' || g || '@example.com', 'city' || g, date '1990-01-01' + g
    FROM generate_series(1, 10) g;
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.src.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.src.city IS 'internal';
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.src.email IS 'pii:email mask=mask_email()';
SELECT ai_guard.govern('regress_gov.src');
SELECT ai_guard.grant_purpose('regress_gov_reader', 'training');
SELECT ai_guard.grant_purpose('regress_gov_ds', 'training');
SELECT ai_guard.grant_masked_access('regress_gov_ds');
GRANT SELECT ON regress_gov.src TO regress_gov_reader;
SELECT max(change_id) AS first_change FROM ai_guard.governance_log \gset

-- 1. copies made by a reader are governed, and their columns labelled
SET SESSION AUTHORIZATION regress_gov_reader;
SET ai_guard.purpose = 'training:copies';
CREATE TABLE regress_gov.ctas AS
  SELECT id, email, city, upper(city) AS ucity, id + 1 AS id1,
         lower(email) AS lemail, born
    FROM regress_gov.src;
SELECT * INTO regress_gov.sel_into FROM regress_gov.src WHERE id < 5;
CREATE TABLE regress_gov.ins (a int, b text);
INSERT INTO regress_gov.ins SELECT id, city FROM regress_gov.src;
CREATE MATERIALIZED VIEW regress_gov.mv AS SELECT id, city FROM regress_gov.src;
CREATE TEMP TABLE temp_copy AS SELECT * FROM regress_gov.src;
RESET ai_guard.purpose;
-- reading a copy needs a purpose like the original
SELECT count(*) FROM regress_gov.ctas;
SELECT count(*) FROM regress_gov.mv;
-- a temporary copy stays in this session and is not governed
SELECT count(*) FROM temp_copy;
-- a second write of PII into a column labelled public makes it PII
SET ai_guard.purpose = 'training:copies';
INSERT INTO regress_gov.ins SELECT id, email FROM regress_gov.src;
REFRESH MATERIALIZED VIEW regress_gov.mv;
RESET ai_guard.purpose;
-- the copy, granted to a data scientist, is refused to them
GRANT SELECT ON regress_gov.ctas TO regress_gov_ds;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_gov_ds;
SET ai_guard.purpose = 'training:ds';
SELECT email FROM regress_gov.ctas LIMIT 1;
SELECT lemail FROM regress_gov.ctas LIMIT 1;
SELECT sum(id), count(DISTINCT city) FROM regress_gov.ctas;
RESET SESSION AUTHORIZATION;

SELECT rel, reason, added_by FROM ai_guard.governed_relations
 WHERE rel::text LIKE 'regress_gov.%' ORDER BY rel::text, reason;
SELECT rel, pull_id IS NOT NULL AS has_pull, sources, derived_by
  FROM ai_guard.derived_relations WHERE rel::text LIKE 'regress_gov.%'
 ORDER BY rel::text, pull_id;
SELECT s.objoid::regclass AS rel, a.attname, s.label
  FROM pg_seclabel s
  JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard' AND s.objoid::regclass::text LIKE 'regress_gov.%'
   AND s.objoid::regclass::text <> 'regress_gov.src'
 ORDER BY s.objoid::regclass::text, a.attnum;

-- 2. UPDATE and MERGE of an ungoverned table from governed rows
CREATE TABLE regress_gov.upd (id int, note text);
INSERT INTO regress_gov.upd SELECT g, 'n' FROM generate_series(1, 3) g;
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.upd.note IS 'public';
CREATE TABLE regress_gov.mrg (id int, note text);
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.mrg.note IS 'public';
SELECT ai_guard.grant_purpose(current_user::regrole, 'training');
SET ai_guard.purpose = 'training:owner';
UPDATE regress_gov.upd u SET note = s.email FROM regress_gov.src s WHERE s.id = u.id;
MERGE INTO regress_gov.mrg m USING regress_gov.src s ON m.id = s.id
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.email);
RESET ai_guard.purpose;
SELECT s.objoid::regclass AS rel, a.attname, s.label
  FROM pg_seclabel s
  JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard' AND s.objoid::regclass::text IN ('regress_gov.upd', 'regress_gov.mrg')
 ORDER BY s.objoid::regclass::text, a.attnum;
SELECT rel, reason FROM ai_guard.governed_relations
 WHERE rel::text IN ('regress_gov.upd', 'regress_gov.mrg') ORDER BY rel::text;

-- 3. tracked rows keep their provenance, or are not copied
CREATE TABLE regress_gov.tracked (id int, v text);
SELECT ai_guard.track('regress_gov.tracked') IS NOT NULL AS tracked;
SELECT ai_guard.begin_ingest('regress-src', 'MIT', '{training}') IS NOT NULL AS began;
INSERT INTO regress_gov.tracked SELECT g, 'v' || g FROM generate_series(1, 4) g;
SELECT ai_guard.end_ingest();
SET ai_guard.purpose = 'training:owner';
CREATE TABLE regress_gov.untracked (id int, v text);
INSERT INTO regress_gov.untracked SELECT id, v FROM regress_gov.tracked;
CREATE MATERIALIZED VIEW regress_gov.tracked_mv AS SELECT id, v FROM regress_gov.tracked;
-- CREATE TABLE AS tracks the copy with a derived batch
CREATE TABLE regress_gov.tracked_copy AS SELECT id, v FROM regress_gov.tracked;
SELECT count(*) FROM regress_gov.tracked_copy WHERE ai_guard_batch IS NOT NULL;
-- so does INSERT into a tracked table
CREATE TABLE regress_gov.tracked_target (id int, v text);
SELECT ai_guard.track('regress_gov.tracked_target') IS NOT NULL AS tracked;
INSERT INTO regress_gov.tracked_target SELECT id, v FROM regress_gov.tracked;
-- and a temporary table is fine
CREATE TEMP TABLE tracked_tmp AS SELECT id, v FROM regress_gov.tracked;
INSERT INTO tracked_tmp SELECT id, v FROM regress_gov.tracked;
RESET ai_guard.purpose;

-- 4. a partition or child leaving a governed parent stays governed
CREATE TABLE regress_gov.parted (id int, email text) PARTITION BY RANGE (id);
CREATE TABLE regress_gov.part1 PARTITION OF regress_gov.parted FOR VALUES FROM (0) TO (100);
CREATE TABLE regress_gov.part2 PARTITION OF regress_gov.parted FOR VALUES FROM (100) TO (200);
SELECT ai_guard.govern('regress_gov.parted');
ALTER TABLE regress_gov.parted DETACH PARTITION regress_gov.part2;
CREATE TABLE regress_gov.parent (id int);
CREATE TABLE regress_gov.child () INHERITS (regress_gov.parent);
SELECT ai_guard.govern('regress_gov.parent');
ALTER TABLE regress_gov.child NO INHERIT regress_gov.parent;
SELECT rel, reason FROM ai_guard.governed_relations
 WHERE rel::text IN ('regress_gov.part1', 'regress_gov.part2', 'regress_gov.child')
 ORDER BY rel::text;
SELECT count(*) FROM regress_gov.part2;

-- 5. masked views are defined by ai_guard only
SELECT ai_guard.create_masked_view('regress_gov.src', 'regress_gov_masked');
CREATE OR REPLACE VIEW regress_gov_masked.src AS SELECT id, email, city FROM regress_gov.src;
ALTER VIEW regress_gov_masked.src SET (security_barrier = false);
ALTER VIEW regress_gov_masked.src RENAME COLUMN email TO e;
CREATE RULE r AS ON UPDATE TO regress_gov_masked.src DO INSTEAD NOTHING;
DROP VIEW regress_gov_masked.src;
-- renaming the view is allowed (it is followed by OID) and recorded
ALTER VIEW regress_gov_masked.src RENAME TO src_masked;
SET SESSION AUTHORIZATION regress_gov_ds;
SET ai_guard.purpose = 'training:ds';
SELECT email FROM regress_gov_masked.src_masked ORDER BY id LIMIT 1;
RESET SESSION AUTHORIZATION;

-- 6. releasing a copy needs a superuser and a reason
SET SESSION AUTHORIZATION regress_gov_reader;
SELECT ai_guard.declassify('regress_gov.sel_into', 'mine now');
RESET SESSION AUTHORIZATION;
SELECT ai_guard.declassify('regress_gov.sel_into', '');
SELECT ai_guard.declassify('regress_gov.sel_into', 'anonymized export, reviewed');
SELECT ai_guard.declassify('regress_gov.sel_into', 'again');
SELECT count(*) FROM regress_gov.sel_into;

-- 7. ungovern, settings, DDL and rolled-back changes are all on the record
SELECT ai_guard.ungovern('regress_gov.src');
BEGIN;
SELECT ai_guard.ungovern('regress_gov.src', 'a change that is rolled back');
ROLLBACK;
SET ai_guard.require_purpose = off;
RESET ai_guard.require_purpose;
ALTER TABLE regress_gov.ctas RENAME TO ctas2;
CREATE SCHEMA regress_gov2;
ALTER TABLE regress_gov.ctas2 SET SCHEMA regress_gov2;
ALTER TABLE regress_gov.src DISABLE ROW LEVEL SECURITY;
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.src.city IS 'public';
SELECT ai_guard.revoke_purpose('regress_gov_reader', 'training');
-- (times and pull ids vary; a rebuilt view's old OID is left out)
SELECT session_role, catalog, operation, object,
       CASE jsonb_typeof(before) WHEN 'object'
            THEN before - '{added_at,granted_at,tracked_at}'::text[] ELSE before END AS before,
       CASE jsonb_typeof(after) WHEN 'object'
            THEN after - '{added_at,granted_at,tracked_at}'::text[] ELSE after END AS after,
       regexp_replace(reason, '[0-9]+', 'N') AS reason, outcome
  FROM ai_guard.governance_changes
 WHERE change_id > :first_change AND object !~ '^[0-9]+$'
 ORDER BY change_id;
SELECT intact, problem FROM ai_guard.verify_audit();

-- 8. a rewritten or deleted governance record breaks the chain
SELECT max(change_id) AS tampered FROM ai_guard.governance_log \gset
CREATE TEMP TABLE saved_change AS
  SELECT * FROM ai_guard.governance_log WHERE change_id = :tampered;
ALTER TABLE ai_guard.governance_log DISABLE TRIGGER protect;
UPDATE ai_guard.governance_log SET reason = 'nothing to see' WHERE change_id = :tampered;
SELECT intact, problem = 'governance change ' || :tampered || ' was altered' AS altered
  FROM ai_guard.verify_audit();
DELETE FROM ai_guard.governance_log WHERE change_id = :tampered;
SELECT intact, problem = 'governance change ' || :tampered || ' was deleted' AS deleted
  FROM ai_guard.verify_audit();
INSERT INTO ai_guard.governance_log SELECT * FROM saved_change;
ALTER TABLE ai_guard.governance_log ENABLE ALWAYS TRIGGER protect;
SELECT intact FROM ai_guard.verify_audit();

-- 9. consent and quarantine hold through any view
CREATE ROLE regress_gov_viewer LOGIN;
SELECT ai_guard.grant_purpose('regress_gov_viewer', 'training');
SELECT ai_guard.begin_ingest('regress-research', 'MIT', '{research}') IS NOT NULL AS began;
INSERT INTO regress_gov.tracked SELECT g, 'r' || g FROM generate_series(11, 13) g;
SELECT ai_guard.end_ingest();
CREATE VIEW regress_gov.by_owner AS SELECT id, v FROM regress_gov.tracked;
CREATE VIEW regress_gov.by_owner_invoker WITH (security_invoker = on)
  AS SELECT id, v FROM regress_gov.tracked;
GRANT USAGE ON SCHEMA regress_gov TO regress_gov_viewer;
GRANT SELECT ON regress_gov.tracked, regress_gov.by_owner, regress_gov.by_owner_invoker
  TO regress_gov_viewer;
SET SESSION AUTHORIZATION regress_gov_viewer;
SET ai_guard.purpose = 'training:views';
-- the table itself: only rows consented for training
SELECT count(*) FROM regress_gov.tracked;
-- a view that runs as the owner would skip the consent rule: refused
SELECT count(*) FROM regress_gov.by_owner;
-- a security_invoker view checks the reader: the same rows as the table
SELECT count(*) FROM regress_gov.by_owner_invoker;
RESET SESSION AUTHORIZATION;
-- the owner (not filtered) loses nothing through its own view
SET ai_guard.purpose = 'training:owner';
SELECT count(*) FROM regress_gov.by_owner;
RESET ai_guard.purpose;
SELECT detail FROM ai_guard.pulls WHERE detail LIKE '%skips its consent rule%' ORDER BY pull_id;

DROP SCHEMA regress_gov CASCADE;
DROP SCHEMA regress_gov2 CASCADE;
DROP SCHEMA regress_gov_masked CASCADE;
SELECT ai_guard.revoke_masked_access('regress_gov_ds');
SELECT ai_guard.revoke_purpose('regress_gov_ds', 'training');
SELECT ai_guard.revoke_purpose(current_user::regrole, 'training');
SELECT ai_guard.revoke_purpose('regress_gov_viewer', 'training');
DROP OWNED BY regress_gov_reader, regress_gov_ds, regress_gov_viewer;
DROP ROLE regress_gov_viewer;
DROP ROLE regress_gov_reader;
DROP ROLE regress_gov_ds;
