-- roles with masked access read governed columns only through masked views,
-- whatever is granted (src/masked_reads.c)
SET client_min_messages = warning;
CREATE ROLE regress_mr_ds LOGIN;
CREATE ROLE regress_mr_other;
GRANT regress_mr_other TO regress_mr_ds;
CREATE ROLE regress_mr_member LOGIN IN ROLE regress_mr_ds;
CREATE SCHEMA regress_mr;
CREATE SCHEMA regress_mr_masked;
GRANT USAGE ON SCHEMA regress_mr TO PUBLIC;
CREATE TABLE regress_mr.cust (id int, email text, note text);
INSERT INTO regress_mr.cust SELECT g, 'u' || g || '@example.com', 'note ' || g
  FROM generate_series(1, 5) g;
SECURITY LABEL FOR ai_guard ON COLUMN regress_mr.cust.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_mr.cust.email IS 'pii:email mask=mask_email()';
SELECT ai_guard.govern('regress_mr.cust');
SELECT ai_guard.create_masked_view('regress_mr.cust', 'regress_mr_masked');
SELECT ai_guard.grant_masked_access('regress_mr_ds');
SELECT ai_guard.grant_purpose('regress_mr_ds', 'training');
SELECT ai_guard.grant_purpose('regress_mr_other', 'training');
-- grants that would undo masking if only privileges counted
GRANT SELECT ON regress_mr.cust TO regress_mr_ds, regress_mr_other;
CREATE VIEW regress_mr.by_hand AS SELECT id, email FROM regress_mr.cust;
CREATE VIEW regress_mr.over_masked AS SELECT * FROM regress_mr_masked.cust;
GRANT SELECT ON regress_mr.by_hand, regress_mr.over_masked TO regress_mr_ds;
CREATE FUNCTION regress_mr.definer_emails() RETURNS SETOF text
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT email FROM regress_mr.cust $$;
GRANT EXECUTE ON FUNCTION regress_mr.definer_emails() TO regress_mr_ds;

-- a table whose masked view reads none of its private columns
CREATE TABLE regress_mr.u (id int, name text, notes text);
INSERT INTO regress_mr.u VALUES (1, 'Alice Smith', 'u secret 1');
SECURITY LABEL FOR ai_guard ON COLUMN regress_mr.u.id IS 'public';
SECURITY LABEL FOR ai_guard ON COLUMN regress_mr.u.name IS 'pii:name';
SELECT ai_guard.govern('regress_mr.u');
SELECT ai_guard.create_masked_view('regress_mr.u', 'regress_mr_masked');
GRANT SELECT ON regress_mr.u TO regress_mr_ds;
-- a constraint error of a write shows the whole existing row
ALTER TABLE regress_mr.cust ADD CONSTRAINT small_id CHECK (id < 1000);
GRANT UPDATE ON regress_mr.cust TO regress_mr_ds;
-- a governed partition read through its ungoverned parent
CREATE TABLE regress_mr.ev (id int, email text) PARTITION BY LIST (id);
CREATE TABLE regress_mr.ev1 PARTITION OF regress_mr.ev FOR VALUES IN (1);
INSERT INTO regress_mr.ev VALUES (1, 'ev@example.com');
SECURITY LABEL FOR ai_guard ON COLUMN regress_mr.ev1.id IS 'public';
SELECT ai_guard.govern('regress_mr.ev1');
GRANT SELECT ON regress_mr.ev TO regress_mr_ds;

SET SESSION AUTHORIZATION regress_mr_ds;
SET ai_guard.purpose = 'training:regress';
-- the governed path works
SELECT count(*), min(email) FROM regress_mr_masked.cust;
SELECT min(email) FROM regress_mr.over_masked;
-- columns labelled public may be read from the table itself
SELECT sum(id) FROM regress_mr.cust;
COPY regress_mr.cust (id) TO STDOUT;
-- everything else is refused
SELECT email FROM regress_mr.cust LIMIT 1;
SELECT note FROM regress_mr.cust LIMIT 1;
SELECT id FROM regress_mr.cust WHERE email LIKE 'u1%';
SELECT c FROM regress_mr.cust c LIMIT 1;
SELECT email FROM regress_mr.by_hand LIMIT 1;
SELECT h.email FROM regress_mr.by_hand h, regress_mr_masked.cust m LIMIT 1;
SELECT m.email FROM regress_mr_masked.cust m
 WHERE EXISTS (SELECT 1 FROM regress_mr.cust c WHERE c.email = 'u1@example.com');
COPY regress_mr.cust TO STDOUT;
COPY (SELECT email FROM regress_mr.cust) TO STDOUT;
SELECT * FROM regress_mr.definer_emails() LIMIT 1;
UPDATE regress_mr.cust SET id = 5000 WHERE id = 1;
SELECT email FROM regress_mr.ev;
SELECT count(*) FROM regress_mr.ev;
-- the masked view beside a raw read does not cover it
SELECT u.name, u.notes FROM regress_mr.u u WHERE EXISTS (SELECT FROM regress_mr_masked.u);
-- a copy of the masked view keeps its masked values readable
CREATE TEMP TABLE my_copy AS SELECT id, email FROM regress_mr_masked.cust;
SELECT email FROM my_copy ORDER BY id LIMIT 1;
SET ROLE regress_mr_other;
SELECT email FROM regress_mr.cust LIMIT 1;
RESET ROLE;
RESET SESSION AUTHORIZATION;
-- a member of a masked-access role is masked too
SET SESSION AUTHORIZATION regress_mr_member;
SET ai_guard.purpose = 'training:regress';
SELECT email FROM regress_mr.cust LIMIT 1;
RESET SESSION AUTHORIZATION;
-- the refusals are recorded
SELECT ai_guard.audit_flush();
SELECT session_role, detail FROM ai_guard.pulls
 WHERE status = 'refused' AND detail LIKE '%masked access%'
   AND session_role::text LIKE 'regress_mr%' ORDER BY pull_id;
-- without masked access the grants apply as usual
SELECT ai_guard.revoke_masked_access('regress_mr_ds');
GRANT SELECT ON regress_mr.cust TO regress_mr_ds;
SET SESSION AUTHORIZATION regress_mr_ds;
SET ai_guard.purpose = 'training:regress';
SELECT email FROM regress_mr.cust ORDER BY id LIMIT 1;
RESET SESSION AUTHORIZATION;

DROP SCHEMA regress_mr CASCADE;
DROP SCHEMA regress_mr_masked CASCADE;
DROP ROLE regress_mr_member;
DROP OWNED BY regress_mr_ds, regress_mr_other;
DROP ROLE regress_mr_ds;
DROP ROLE regress_mr_other;
