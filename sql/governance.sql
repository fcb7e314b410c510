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
-- a temporary copy stays with this session (what is copied out of it is
-- governed, below)
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

-- a copy of a copy: copy_origins() walks back to the original
SET SESSION AUTHORIZATION regress_gov_reader;
SET ai_guard.purpose = 'training:copies';
CREATE TABLE regress_gov.copy2 AS SELECT id, city FROM regress_gov.ctas WHERE id <= 3;
RESET ai_guard.purpose;
RESET SESSION AUTHORIZATION;
SELECT depth, copy, pull_id IS NOT NULL AS has_pull, source, source_is_copy, derived_by
  FROM ai_guard.copy_origins('regress_gov.copy2');
SELECT count(*) FROM ai_guard.copy_origins('regress_gov.src');

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
 WHERE change_id > :first_change AND object !~ '^[0-9]+$' AND object NOT LIKE 'pg_temp%'
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
SELECT detail FROM ai_guard.pulls WHERE detail LIKE '%consent rule does not filter%' ORDER BY pull_id;

-- 10. escapes an independent attacker found (each fixed)
SET ai_guard.purpose = 'training:owner';
SELECT ai_guard.grant_purpose(current_user::regrole, 'training');
-- a value a subquery read is private: its label is not traced
CREATE TABLE regress_gov.sub AS
  SELECT s1.id, (SELECT s2.email FROM regress_gov.src s2 WHERE s2.id = s1.id) AS e,
         s1.city || (SELECT max(email) FROM regress_gov.src) AS e2
    FROM regress_gov.src s1;
SELECT a.attname, s.label FROM pg_attribute a
  LEFT JOIN pg_seclabel s ON s.objoid = a.attrelid AND s.objsubid = a.attnum AND s.provider = 'ai_guard'
 WHERE a.attrelid = 'regress_gov.sub'::regclass AND a.attnum > 0 ORDER BY a.attnum;
-- a copy of a masked view: exactly the label's mask (its kind's default
-- included) is a masked value, readable as stored; a weaker mask is not
CREATE TABLE regress_gov.dflt (id int, phone text, born date);
INSERT INTO regress_gov.dflt VALUES (1, '+49 30 1234567', '1990-05-05');
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.dflt.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.dflt.phone IS 'pii:phone';
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.dflt.born IS 'pii:birth_date';
SELECT ai_guard.govern('regress_gov.dflt');
SELECT ai_guard.create_masked_view('regress_gov.dflt', 'regress_gov_masked');
CREATE TABLE regress_gov.dflt_copy AS SELECT * FROM regress_gov_masked.dflt;
CREATE TABLE regress_gov.dflt_weak AS
  SELECT ai_guard.mask_phone(phone, 15) AS phone, ai_guard.generalize(born, 'month') AS born
    FROM regress_gov.dflt;
SELECT s.objoid::regclass AS rel, a.attname, s.label
  FROM pg_seclabel s
  JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard'
   AND s.objoid::regclass::text IN ('regress_gov.dflt_copy', 'regress_gov.dflt_weak')
 ORDER BY s.objoid::regclass::text, a.attnum;
-- a data-modifying CTE under a SELECT, and CREATE TABLE AS EXECUTE, make copies
CREATE TABLE regress_gov.cte_target (id int, e text);
WITH w AS (INSERT INTO regress_gov.cte_target SELECT id, email FROM regress_gov.src RETURNING 1)
SELECT count(*) FROM w;
PREPARE regress_gov_q AS SELECT id, email FROM regress_gov.src;
CREATE TABLE regress_gov.from_execute AS EXECUTE regress_gov_q;
DEALLOCATE regress_gov_q;
-- UPDATE ... FROM into a partitioned table governs and labels the table
CREATE TABLE regress_gov.pt (id int, e text) PARTITION BY LIST (id);
CREATE TABLE regress_gov.pt1 PARTITION OF regress_gov.pt FOR VALUES IN (1);
CREATE TABLE regress_gov.pt2 PARTITION OF regress_gov.pt FOR VALUES IN (2);
INSERT INTO regress_gov.pt VALUES (1, 'a'), (2, 'b');
UPDATE regress_gov.pt SET e = s.email FROM regress_gov.src s WHERE s.id = pt.id;
-- a partition that leaves takes its parent's labels, not its own
SECURITY LABEL FOR ai_guard ON COLUMN regress_gov.pt2.e IS 'public';
ALTER TABLE regress_gov.pt DETACH PARTITION regress_gov.pt2;
-- two MERGE actions writing one column
CREATE TABLE regress_gov.mm (id int, e text);
MERGE INTO regress_gov.mm m USING regress_gov.src s ON s.id = m.id
  WHEN NOT MATCHED AND s.id = 1 THEN INSERT VALUES (s.id, s.email)
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.city);
-- values passed on by code: a DO block, a function, a temporary table
CREATE TABLE regress_gov.by_code (id int, e text);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT id, email FROM regress_gov.src LOOP
    INSERT INTO regress_gov.by_code VALUES (r.id, r.email);
  END LOOP; END $$;
CREATE FUNCTION regress_gov.emails() RETURNS TABLE (id int, e text) LANGUAGE plpgsql
  AS $$ BEGIN RETURN QUERY SELECT s.id, s.email FROM regress_gov.src s; END $$;
CREATE TABLE regress_gov.from_function AS SELECT * FROM regress_gov.emails();
CREATE TEMP TABLE via_temp AS SELECT id, email FROM regress_gov.src;
CREATE TABLE regress_gov.from_temp AS SELECT * FROM via_temp;
SELECT rel, reason FROM ai_guard.governed_relations
 WHERE rel::text IN ('regress_gov.sub', 'regress_gov.cte_target', 'regress_gov.from_execute',
                     'regress_gov.pt', 'regress_gov.pt2', 'regress_gov.mm', 'regress_gov.by_code',
                     'regress_gov.from_function', 'regress_gov.from_temp')
 ORDER BY rel::text;
SELECT s.objoid::regclass AS rel, a.attname, s.label
  FROM pg_seclabel s
  JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
 WHERE s.provider = 'ai_guard'
   AND s.objoid::regclass::text IN ('regress_gov.cte_target', 'regress_gov.from_execute',
                                    'regress_gov.pt', 'regress_gov.pt2', 'regress_gov.mm',
                                    'regress_gov.from_temp')
 ORDER BY s.objoid::regclass::text, a.attnum;
-- values of tracked rows passed on by code keep their provenance too
CREATE TABLE regress_gov.tracked_by_code (id int, v text);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT id, v FROM regress_gov.tracked LOOP
    INSERT INTO regress_gov.tracked_by_code VALUES (r.id, r.v);
  END LOOP; END $$;
CREATE TEMP TABLE tracked_tmp2 AS SELECT id, v FROM regress_gov.tracked;
DO $$ BEGIN CREATE TABLE regress_gov.tracked_via_temp AS SELECT * FROM tracked_tmp2;
  EXCEPTION WHEN feature_not_supported THEN RAISE WARNING 'copy of a temporary copy refused: %', SQLSTATE; END $$;
DO $$ BEGIN INSERT INTO regress_gov.untracked SELECT * FROM tracked_tmp2;
  EXCEPTION WHEN feature_not_supported THEN RAISE WARNING 'copy of a temporary copy refused: %', SQLSTATE; END $$;
RESET ai_guard.purpose;
-- the consent machinery of a tracked table is not taken apart by hand
DROP POLICY ai_guard_consent ON regress_gov.tracked;
ALTER POLICY ai_guard_consent ON regress_gov.tracked USING (true);
ALTER TABLE regress_gov.tracked DISABLE ROW LEVEL SECURITY;
ALTER TABLE regress_gov.tracked DROP COLUMN ai_guard_digest;
ALTER TABLE regress_gov.tracked RENAME COLUMN ai_guard_batch TO b;
DROP TRIGGER zz_ai_guard_stamp ON regress_gov.tracked;
-- nor skipped by a SECURITY DEFINER function of its (non-superuser) owner
CREATE ROLE regress_gov_tabowner;
GRANT USAGE, CREATE ON SCHEMA regress_gov TO regress_gov_tabowner;
ALTER TABLE regress_gov.tracked OWNER TO regress_gov_tabowner;
SET ROLE regress_gov_tabowner;
CREATE FUNCTION regress_gov.all_tracked() RETURNS bigint LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog AS $$ SELECT count(*) FROM regress_gov.tracked $$;
GRANT EXECUTE ON FUNCTION regress_gov.all_tracked() TO regress_gov_viewer;
RESET ROLE;
SELECT ai_guard.grant_purpose('regress_gov_tabowner', 'training');
SET SESSION AUTHORIZATION regress_gov_viewer;
SET ai_guard.purpose = 'training:views';
SELECT regress_gov.all_tracked();
RESET SESSION AUTHORIZATION;
ALTER TABLE regress_gov.tracked OWNER TO CURRENT_USER;
DROP FUNCTION regress_gov.all_tracked();
SELECT ai_guard.revoke_purpose('regress_gov_tabowner', 'training');
REVOKE USAGE, CREATE ON SCHEMA regress_gov FROM regress_gov_tabowner;
DROP ROLE regress_gov_tabowner;
-- a tracked table cannot get a parent whose row security is not its own
CREATE TABLE regress_gov.tracked_parent (id int, v text);
ALTER TABLE regress_gov.tracked INHERIT regress_gov.tracked_parent;
-- owner changes, rules, triggers, DISCARD ALL are on the record
CREATE ROLE regress_gov_owner2;
ALTER TABLE regress_gov.src OWNER TO regress_gov_owner2;
REASSIGN OWNED BY regress_gov_owner2 TO CURRENT_USER;
CREATE RULE regress_gov_rule AS ON INSERT TO regress_gov.src DO ALSO NOTHING;
DROP RULE regress_gov_rule ON regress_gov.src;
CREATE FUNCTION regress_gov.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER regress_gov_trg BEFORE INSERT ON regress_gov.src
  FOR EACH ROW EXECUTE FUNCTION regress_gov.noop();
SET ai_guard.refuse_untrusted_functions = off;
DISCARD ALL;
SET client_min_messages = warning;
SELECT catalog, operation, object, before, after FROM ai_guard.governance_changes
 WHERE (catalog = 'ddl' AND operation IN ('owner to', 'reassign owned', 'create rule',
                                          'drop rule', 'create trigger'))
    OR (catalog = 'setting' AND object = 'ai_guard.refuse_untrusted_functions')
 ORDER BY change_id;
DROP ROLE regress_gov_owner2;

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
