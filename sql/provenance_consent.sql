-- provenance: tamper detection, consent filtering per purpose class, quarantine
CREATE SCHEMA regress_provc;
CREATE TABLE regress_provc.people (id int PRIMARY KEY, name text, born date, score float8);
SELECT ai_guard.track('regress_provc.people') AS unknown_batch \gset

SELECT ai_guard.begin_ingest('crm', 'proprietary', '{training,analytics}') AS crm \gset
INSERT INTO regress_provc.people
SELECT g, 'crm-' || g, date '1980-01-01' + g, g / 10.0 FROM generate_series(1, 4) g;
SELECT ai_guard.end_ingest();
SELECT ai_guard.begin_ingest('web', 'CC-BY-4.0', '{evaluation}') AS web \gset
INSERT INTO regress_provc.people
SELECT g, 'web-' || g, NULL, g FROM generate_series(5, 7) g;
SELECT ai_guard.end_ingest();
INSERT INTO regress_provc.people VALUES (8, 'no-context', NULL, NULL);

-- nothing tampered yet
SELECT count(*) FROM ai_guard.verify_rows('regress_provc.people');

-- changes made while the trigger is bypassed are found
SET session_replication_role = replica;
UPDATE regress_provc.people SET name = 'changed under replica' WHERE id = 2;
INSERT INTO regress_provc.people VALUES (9, 'inserted under replica', NULL, NULL);
RESET session_replication_role;
ALTER TABLE regress_provc.people DISABLE TRIGGER zz_ai_guard_stamp;
UPDATE regress_provc.people SET score = 99 WHERE id = 6;
ALTER TABLE regress_provc.people ENABLE TRIGGER zz_ai_guard_stamp;
SELECT v.rel, p.id, v.stored_digest IS NULL AS unstamped,
       v.actual_digest = ai_guard.row_digest(p) AS actual_is_current
  FROM ai_guard.verify_rows('regress_provc.people') v
  JOIN regress_provc.people p ON p.ctid = v.row_ctid
 ORDER BY p.id;
-- an ordinary update re-stamps the row
UPDATE regress_provc.people SET score = 6 WHERE id = 6;
SELECT count(*) FROM ai_guard.verify_rows('regress_provc.people');
DELETE FROM regress_provc.people WHERE id IN (2, 9);
SELECT count(*) FROM ai_guard.verify_rows('regress_provc.people');

-- verify_rows needs SELECT on the table, and a tracked table
CREATE ROLE regress_provc_reader;
-- tracked tables are governed: reads need a declared, granted purpose
SELECT ai_guard.grant_purpose('regress_provc_reader', c)
  FROM unnest(ARRAY['training', 'analytics', 'evaluation', 'research', 'marketing']) AS c;
GRANT USAGE ON SCHEMA regress_provc TO regress_provc_reader;
SET ROLE regress_provc_reader;
SELECT * FROM ai_guard.verify_rows('regress_provc.people');
RESET ROLE;
CREATE TABLE regress_provc.plain (id int);
SELECT * FROM ai_guard.verify_rows('regress_provc.plain');

-- consent: readers see only rows whose consent includes their purpose class
GRANT SELECT, UPDATE, DELETE ON regress_provc.people TO regress_provc_reader;
SET ROLE regress_provc_reader;
SELECT id FROM regress_provc.people ORDER BY id;          -- no purpose: refused
SET ai_guard.purpose = 'training:model-a';
SELECT id, (ai_guard.tags(p)).source FROM regress_provc.people p ORDER BY id;
SET ai_guard.purpose = 'analytics';
SELECT count(*) FROM regress_provc.people;
SET ai_guard.purpose = 'evaluation:holdout';
SELECT id FROM regress_provc.people ORDER BY id;
SET ai_guard.purpose = 'research';
SELECT count(*) FROM regress_provc.people;
-- a purpose class that consent cannot name is an error, not an empty result
SET ai_guard.purpose = 'marketing:campaign-7';
SELECT count(*) FROM regress_provc.people;
SET ai_guard.purpose = 'research';
-- hidden rows cannot be changed either
DELETE FROM regress_provc.people WHERE id = 1;
SET ai_guard.purpose = 'training';
-- the filter holds inside a prepared statement re-executed under another purpose
PREPARE regress_provc_q AS SELECT count(*) FROM regress_provc.people;
EXECUTE regress_provc_q;
SET ai_guard.purpose = 'research';
EXECUTE regress_provc_q;
DEALLOCATE regress_provc_q;
-- the policy function also runs in parallel workers
SET ai_guard.purpose = 'evaluation';
SET force_parallel_mode = on;
SELECT count(*) FROM regress_provc.people;
RESET force_parallel_mode;
RESET ai_guard.purpose;
RESET ROLE;
-- the owner and superusers are not filtered
SELECT count(*) FROM regress_provc.people;

-- quarantine a source: hidden at once, recorded why
SET ROLE regress_provc_reader;
SELECT ai_guard.quarantine('crm', 'reader cannot quarantine');
RESET ROLE;
SELECT ai_guard.quarantine('crm', 'label poisoning reported by QA') AS q1 \gset
SELECT source, batch_id, reason, created_by, released_at IS NULL AS active
  FROM ai_guard.quarantines WHERE quarantine_id = :q1;
SELECT batch_id = :crm AS crm, quarantined FROM ai_guard.batch_summary
 WHERE batch_id IN (:crm, :web) ORDER BY batch_id;
SET ROLE regress_provc_reader;
SET ai_guard.purpose = 'training';
SELECT count(*) FROM regress_provc.people;
RESET ROLE;
-- a batch of a quarantined source ingested later is hidden as well
SELECT ai_guard.begin_ingest('crm', 'proprietary', '{training}') AS crm2 \gset
INSERT INTO regress_provc.people VALUES (10, 'crm-late', NULL, NULL);
SELECT ai_guard.end_ingest();
SET ROLE regress_provc_reader;
SELECT count(*) FROM regress_provc.people;
RESET ROLE;

-- quarantine one batch
SELECT ai_guard.quarantine_batch(:web, 'duplicate upload') AS q2 \gset
SET ROLE regress_provc_reader;
SET ai_guard.purpose = 'evaluation';
SELECT count(*) FROM regress_provc.people;
RESET ROLE;

-- bad input
SELECT ai_guard.quarantine('crm', 'again');
\set VERBOSITY sqlstate
SELECT ai_guard.quarantine_batch(:web, 'again');
\set VERBOSITY default
SELECT ai_guard.quarantine_batch(-1, 'no such batch');
SELECT ai_guard.quarantine_batch(NULL, 'null');
SELECT ai_guard.quarantine(NULL, 'x');
SELECT ai_guard.quarantine('', 'x');
SELECT ai_guard.quarantine('crm', NULL);
SELECT ai_guard.quarantine('crm', '');
SELECT ai_guard.release(-1);
SELECT ai_guard.release(NULL);

-- a table holding quarantined rows cannot be untracked
SELECT ai_guard.untrack('regress_provc.people');

-- release: visible again
SELECT ai_guard.release(:q1, 'false alarm');
\set VERBOSITY sqlstate
SELECT ai_guard.release(:q1);
\set VERBOSITY default
SELECT released_by, release_note FROM ai_guard.quarantines WHERE quarantine_id = :q1;
SET ROLE regress_provc_reader;
SET ai_guard.purpose = 'training';
SELECT id FROM regress_provc.people ORDER BY id;
SET ai_guard.purpose = 'evaluation';
SELECT count(*) FROM regress_provc.people;
RESET ROLE;
SELECT ai_guard.release(:q2);
SET ROLE regress_provc_reader;
SELECT count(*) FROM regress_provc.people;
RESET ai_guard.purpose;
RESET ROLE;

-- a table with its own row-level security keeps it; ours is added restrictively
CREATE TABLE regress_provc.own (id int, owner_name text);
ALTER TABLE regress_provc.own ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON regress_provc.own USING (owner_name = current_user);
GRANT SELECT ON regress_provc.own TO regress_provc_reader;
SELECT ai_guard.begin_ingest('crm2', 'MIT', '{training}') IS NOT NULL;
INSERT INTO regress_provc.own VALUES (1, 'regress_provc_reader'), (2, 'someone_else');
SELECT ai_guard.track('regress_provc.own') IS NOT NULL;
SELECT ai_guard.end_ingest();
SET ROLE regress_provc_reader;
SET ai_guard.purpose = 'training';
SELECT count(*) FROM regress_provc.own;    -- backfilled rows are 'unknown': no consent
RESET ROLE;
SELECT ai_guard.begin_ingest('crm2', 'MIT', '{training}') IS NOT NULL;
INSERT INTO regress_provc.own VALUES (3, 'regress_provc_reader'), (4, 'someone_else');
SELECT ai_guard.end_ingest();
SET ROLE regress_provc_reader;
SELECT id FROM regress_provc.own;
RESET ai_guard.purpose;
RESET ROLE;
SELECT ai_guard.untrack('regress_provc.own');
SELECT relrowsecurity, (SELECT count(*) FROM pg_policy WHERE polrelid = c.oid) AS policies
  FROM pg_class c WHERE oid = 'regress_provc.own'::regclass;

DROP SCHEMA regress_provc CASCADE;
SELECT count(*) FROM (SELECT ai_guard.revoke_purpose('regress_provc_reader', c)
  FROM unnest(ARRAY['training', 'analytics', 'evaluation', 'research', 'marketing']) AS c) AS r;
DROP ROLE regress_provc_reader;
