-- provenance: derived data, partitioned tables, inheritance
CREATE SCHEMA regress_provd;
CREATE TABLE regress_provd.a (id int, v text);
CREATE TABLE regress_provd.b (id int, v text);
CREATE TABLE regress_provd.plain (id int, v text);
SELECT ai_guard.track('regress_provd.a') IS NOT NULL, ai_guard.track('regress_provd.b') IS NOT NULL;
SELECT ai_guard.begin_ingest('crm', 'CC-BY-4.0', '{training,analytics,evaluation}') AS ba \gset
INSERT INTO regress_provd.a SELECT g, 'a' || g FROM generate_series(1, 3) g;
SELECT ai_guard.end_ingest();
SELECT ai_guard.begin_ingest('partner', 'CC-BY-NC-4.0', '{analytics,training}') AS bb \gset
INSERT INTO regress_provd.b SELECT g, 'b' || g FROM generate_series(1, 3) g;
SELECT ai_guard.end_ingest();
INSERT INTO regress_provd.plain VALUES (1, 'p');

-- INSERT ... SELECT from tracked tables: source 'derived', union of licenses,
-- intersection of consents, even inside an ingest context
CREATE TABLE regress_provd.joined (id int, va text, vb text);
SELECT ai_guard.track('regress_provd.joined') IS NOT NULL;
SELECT ai_guard.begin_ingest('ignored', 'MIT', '{research}') IS NOT NULL;
INSERT INTO regress_provd.joined
SELECT a.id, a.v, b.v FROM regress_provd.a JOIN regress_provd.b USING (id);
SELECT ai_guard.end_ingest();
SELECT DISTINCT (ai_guard.tags(j)).source, (ai_guard.tags(j)).license, (ai_guard.tags(j)).consent
  FROM regress_provd.joined j;
SELECT b.kind, b.row_count, b.derived_from = ARRAY[:ba, :bb]::bigint[] AS from_both
  FROM regress_provd.joined j JOIN ai_guard.batches b ON b.batch_id = j.ai_guard_batch LIMIT 1;
SELECT count(*) = 3 AS one_derived_batch_per_statement FROM regress_provd.joined j
 WHERE ai_guard_batch = (SELECT max(ai_guard_batch) FROM regress_provd.joined);

-- reading an untracked table is not derivation
CREATE TABLE regress_provd.copy_of_plain (id int, v text);
SELECT ai_guard.track('regress_provd.copy_of_plain') IS NOT NULL;
SELECT ai_guard.begin_ingest('import', 'MIT', '{training}') IS NOT NULL;
INSERT INTO regress_provd.copy_of_plain SELECT * FROM regress_provd.plain;
SELECT ai_guard.end_ingest();
SELECT (ai_guard.tags(c)).source FROM regress_provd.copy_of_plain c;

-- a derived copy of a derived copy keeps the origins; a quarantine of an
-- origin hides the copies
CREATE TABLE regress_provd.second (id int, va text, vb text);
SELECT ai_guard.track('regress_provd.second') IS NOT NULL;
INSERT INTO regress_provd.second SELECT id, va, vb FROM regress_provd.joined;
SELECT (ai_guard.tags(s)).license, (ai_guard.tags(s)).consent,
       :ba = ANY (b.derived_from) AND :bb = ANY (b.derived_from) AS keeps_origins
  FROM regress_provd.second s JOIN ai_guard.batches b ON b.batch_id = s.ai_guard_batch LIMIT 1;
CREATE ROLE regress_provd_reader;
-- tracked tables are governed: reads need a declared, granted purpose
SELECT ai_guard.grant_purpose('regress_provd_reader', c)
  FROM unnest(ARRAY['training', 'analytics']) AS c;
GRANT USAGE ON SCHEMA regress_provd TO regress_provd_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA regress_provd TO regress_provd_reader;
SELECT ai_guard.quarantine_batch(:bb, 'partner data withdrawn') AS q \gset
SET ROLE regress_provd_reader;
SET ai_guard.purpose = 'analytics';
SELECT (SELECT count(*) FROM regress_provd.a) AS a, (SELECT count(*) FROM regress_provd.b) AS b,
       (SELECT count(*) FROM regress_provd.joined) AS joined,
       (SELECT count(*) FROM regress_provd.second) AS second;
RESET ROLE;
SELECT ai_guard.release(:q);
SET ROLE regress_provd_reader;
SELECT (SELECT count(*) FROM regress_provd.joined) AS joined;
RESET ai_guard.purpose;
RESET ROLE;

-- CREATE TABLE AS from a tracked table: the new table is tracked, derived
CREATE TABLE regress_provd.ctas AS SELECT id, v FROM regress_provd.a WHERE id < 3;
SELECT rel, root FROM ai_guard.tracked_relations WHERE rel = 'regress_provd.ctas'::regclass;
SELECT id, (ai_guard.tags(c)).source, (ai_guard.tags(c)).license, (ai_guard.tags(c)).consent,
       ai_guard_digest = ai_guard.row_digest(c) AS digest_ok
  FROM regress_provd.ctas c ORDER BY id;
-- SELECT * copies the tag columns along: they are re-stamped, not trusted
CREATE TABLE regress_provd.ctas_star AS SELECT * FROM regress_provd.b;
SELECT count(*) FILTER (WHERE c.ai_guard_row_id = b.ai_guard_row_id) AS same_row_ids,
       count(*) FILTER (WHERE (ai_guard.tags(c)).source = 'derived') AS derived
  FROM regress_provd.ctas_star c JOIN regress_provd.b b USING (id);
-- a temporary copy is allowed and stays untracked
CREATE TEMP TABLE regress_provd_tmp AS SELECT id, v FROM regress_provd.a;
SELECT count(*) FROM ai_guard.tracked_relations WHERE rel = 'regress_provd_tmp'::regclass;
DROP TABLE regress_provd_tmp;
-- from an untracked table: an ordinary, untracked table
CREATE TABLE regress_provd.ctas_plain AS SELECT * FROM regress_provd.plain;
SELECT count(*) FROM ai_guard.tracked_relations WHERE rel = 'regress_provd.ctas_plain'::regclass;

-- partitioned tables: every partition is tracked with its parent
CREATE TABLE regress_provd.events (id int, region text, payload text) PARTITION BY LIST (region);
CREATE TABLE regress_provd.events_eu PARTITION OF regress_provd.events FOR VALUES IN ('eu');
CREATE TABLE regress_provd.events_us PARTITION OF regress_provd.events FOR VALUES IN ('us');
INSERT INTO regress_provd.events VALUES (1, 'eu', 'old');
SELECT ai_guard.track('regress_provd.events_eu');
SELECT ai_guard.track('regress_provd.events') AS pb \gset
SELECT rel, root FROM ai_guard.tracked_relations
 WHERE root = 'regress_provd.events'::regclass ORDER BY rel::text;
SELECT ai_guard.track('regress_provd.events_us');
SELECT ai_guard.begin_ingest('sensors', 'MIT', '{training}') AS pi \gset
INSERT INTO regress_provd.events VALUES (2, 'eu', 'x'), (3, 'us', 'y');
COPY regress_provd.events FROM stdin;
4	us	z
\.
INSERT INTO regress_provd.events_us VALUES (5, 'us', 'direct');
SELECT ai_guard.end_ingest();
SELECT tableoid::regclass, id, ai_guard_batch = :pi AS in_batch, ai_guard_batch = :pb AS backfill,
       ai_guard_digest = ai_guard.row_digest(e) AS digest_ok
  FROM regress_provd.events e ORDER BY id;
SELECT rel FROM ai_guard.relation_batches WHERE batch_id = :pi ORDER BY rel::text;
SET session_replication_role = replica;
UPDATE regress_provd.events SET payload = 'tampered' WHERE id = 3;
RESET session_replication_role;
SELECT rel, row_id IS NOT NULL FROM ai_guard.verify_rows('regress_provd.events');
GRANT SELECT ON ALL TABLES IN SCHEMA regress_provd TO regress_provd_reader;
SET ROLE regress_provd_reader;
SET ai_guard.purpose = 'training';
SELECT id FROM regress_provd.events ORDER BY id;          -- through the parent
SELECT id FROM regress_provd.events_us ORDER BY id;       -- a partition directly
RESET ai_guard.purpose;
RESET ROLE;
SELECT ai_guard.untrack('regress_provd.events_us');
SELECT ai_guard.untrack('regress_provd.events');
SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relname LIKE 'events%' AND a.attname LIKE 'ai\_guard\_%' AND NOT a.attisdropped;
SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname LIKE 'events%';

-- inheritance: children are tracked with the parent
CREATE TABLE regress_provd.animal (id int, name text);
CREATE TABLE regress_provd.dog (breed text) INHERITS (regress_provd.animal);
INSERT INTO regress_provd.dog VALUES (1, 'rex', 'collie');
SELECT ai_guard.track('regress_provd.animal') AS ib \gset
SELECT ai_guard.begin_ingest('shelter', 'MIT', '{research}') AS ii \gset
INSERT INTO regress_provd.animal VALUES (2, 'cat');
INSERT INTO regress_provd.dog VALUES (3, 'fido', 'pug');
SELECT ai_guard.end_ingest();
SELECT tableoid::regclass, id, ai_guard_batch = :ii AS in_batch,
       ai_guard_digest IS NOT NULL AS stamped
  FROM regress_provd.animal ORDER BY id;
-- the child's digest covers its own columns too
SELECT ai_guard_digest = ai_guard.row_digest(d) FROM regress_provd.dog d ORDER BY id;
SELECT count(*) FROM ai_guard.verify_rows('regress_provd.animal');
SELECT ai_guard.untrack('regress_provd.animal');

DROP SCHEMA regress_provd CASCADE;
SELECT count(*) FROM (SELECT ai_guard.revoke_purpose('regress_provd_reader', c)
  FROM unnest(ARRAY['training', 'analytics']) AS c) AS r;
DROP ROLE regress_provd_reader;
